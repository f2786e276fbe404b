# SPDX-License-Identifier: MIT
"""The applications minivmm-compare knows: how each kind of image of each is
built and how the runner tells that it is ready."""

import os

COMPARE_DIR = os.path.dirname(os.path.abspath(__file__))
STAGE = "/srv/minivmm-compare"  # host files the app images take as they are

# Every machine image also reports the guest's own view of its memory on the
# console once it is up (multi-user.target reached).
MEMINFO_FILES = [
    os.path.join(COMPARE_DIR, "machine", "compare-meminfo") +
    ":/usr/local/sbin/compare-meminfo",
    os.path.join(COMPARE_DIR, "machine", "compare-meminfo.service") +
    ":/etc/systemd/system/compare-meminfo.service",
]

# One entry per application: how each image kind is built and how readiness
# is checked.  The machine image gets the Debian package and its own service;
# the app image gets the same program with the same effective settings.
# One entry per application: how each image kind is built and how readiness
# is checked.  The machine image gets the Debian package and its own service;
# the app image gets the same program with the same effective settings.
APPS = {
    "redis": {
        "what": "key-value server (redis-server 7)",
        "host_packages": ["redis-server"],
        "port": 6379,
        "probe": "redis",
        "machine": {
            "packages": ["redis-server"],
            "enable": ["redis-server.service"],
            # Reachable from the host through the VMM's port forward.
            "run": ["sed -i -e 's/^bind .*/bind 0.0.0.0/' "
                    "-e 's/^protected-mode yes/protected-mode no/' "
                    "/etc/redis/redis.conf"],
            "files": [],
        },
        "app": {
            "opts": ["--add", "/etc/redis/redis.conf",
                     "--writable", "/var/lib/redis",
                     "--writable", "/var/log/redis",
                     "--writable", "/run/redis", "--writable", "/tmp"],
            "argv": ["/usr/bin/redis-server", "/etc/redis/redis.conf",
                     "--bind", "0.0.0.0", "--protected-mode", "no",
                     "--daemonize", "no", "--supervised", "no"],
        },
    },
    "nginx": {
        "what": "web server (nginx 1.22, Debian's default site)",
        "host_packages": ["nginx"],
        "port": 80,
        "probe": "http",
        "needle": b"Welcome to nginx!",
        "machine": {
            "packages": ["nginx"],
            "enable": ["nginx.service"],
            "run": [],
            "files": [],
        },
        "app": {
            # The trace finds what the configuration pulls in at run time
            # (mime.types, the user database, ...).
            "opts": ["--trace", "--add-dir", "/etc/nginx",
                     "--add-dir", "/var/www/html",
                     "--writable", "/var/log/nginx",
                     "--writable", "/var/lib/nginx",
                     "--writable", "/run", "--writable", "/tmp"],
            "argv": ["/usr/sbin/nginx", "-g", "daemon off;"],
        },
    },
    "sqlite3": {
        "what": "batch job (sqlite3 3.40 running an SQL script)",
        "host_packages": ["sqlite3"],
        "port": None,
        "probe": "line",
        "ready_re": r".*COMPARE-READY sqlite3 (\d+) (\d+).*",
        "stage": {"apps/sqlite3/batch.sql": "sqlite3/batch.sql"},
        "machine": {
            "packages": ["sqlite3"],
            "enable": ["compare-batch.service"],
            "run": [],
            "files": [
                os.path.join(COMPARE_DIR, "apps/sqlite3/batch.sql") +
                ":" + STAGE + "/sqlite3/batch.sql",
                os.path.join(COMPARE_DIR, "apps/sqlite3/compare-batch.service") +
                ":/etc/systemd/system/compare-batch.service",
            ],
        },
        "app": {
            "opts": ["--add", STAGE + "/sqlite3/batch.sql"],
            # After the script, sqlite3 waits for commands on the console,
            # which keeps the VM up for the memory measurements.
            "argv": ["/usr/bin/sqlite3", "-init", STAGE + "/sqlite3/batch.sql",
                     ":memory:"],
        },
    },
}
