#!/usr/bin/env bash
# The main demo: set everything up, build an app image of a real Debian
# program (sqlite3 running a SQL script: the program, the libraries it
# really loads, the script, a manifest; no operating system), boot it in a
# microVM with the stripped guest kernel, show its output, and return its
# exit status as minivmm's.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
kout=$("$top/tools/setup.sh" build)
vmlinux=$(sed -n 's/^vmlinux=//p' <<<"$kout")

work=$(mktemp -d /var/tmp/minivmm-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
# Not under /tmp: the guest mounts a fresh tmpfs there.
cat >"$work/report.sql" <<'SQL'
CREATE TABLE image(app TEXT, kind TEXT, files INTEGER);
INSERT INTO image VALUES ('sqlite3', 'app image', 17), ('sqlite3', 'machine image', 9000);
SELECT 'Hello from an app image: sqlite ' || sqlite_version() || ' in a minivmm microVM';
SELECT kind, files FROM image ORDER BY files;
SQL

echo "demo: building the app image of /usr/bin/sqlite3" >&2
"$top/build/tools/minivmm-image" build -o "$work/sqlite.img" --add "$work/report.sql" -- \
	/usr/bin/sqlite3 -batch -init "$work/report.sql" :memory: .quit >&2
"$top/build/tools/minivmm-image" inspect "$work/sqlite.img" >&2

echo "demo: build/minivmm --kernel $vmlinux --app $work/sqlite.img" >&2
if [[ -d /sys/module/kvm_pvm ]]; then
	echo "demo: /dev/kvm here is PVM (software virtualization): expect about a minute to the app" >&2
fi
set +e
start=$(date +%s.%N)
"$top/build/minivmm" --kernel "$vmlinux" --app "$work/sqlite.img"
status=$?
end=$(date +%s.%N)
set -e
printf 'demo: minivmm exited with status %d, %.1f s wall\n' "$status" "$(echo "$end - $start" | bc)" >&2
exit "$status"
