#!/usr/bin/env python3
"""Benchmark: what a VMM costs with nothing to do.

Boots the stub guest (tests/guests/stub.S: start, one port write, exit)
repeatedly and reports wall time and peak RSS per run, and minivmm's own
wall and CPU time up to its first KVM_RUN.  Where QEMU is installed, the same
stub runs under QEMU microvm with KVM for comparison (kvmtool is not in
Debian 12; its figure from MACHINE-FACTS.md is printed as a reference).

  tools/bench_stub.py [--runs N] [--build DIR] [--no-qemu] [--json FILE]

Peak RSS comes from GNU time (/usr/bin/time -f %M).
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time


def run_once(cmd):
    """Run cmd; return (wall seconds, exit status, stderr)."""
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    return wall, p.returncode, p.stderr.decode(errors="replace")


def peak_rss_kib(cmd):
    """Peak RSS of cmd as GNU time reports it.  (A child's ru_maxrss as seen
    from Python would include the Python process it was forked from.)"""
    p = subprocess.run(["/usr/bin/time", "-f", "RSS %M"] + cmd, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    m = re.findall(r"^RSS (\d+)$", p.stderr.decode(errors="replace"), re.M)
    return int(m[-1]) if m else float("nan")


def pct(xs, q):
    xs = sorted(xs)
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def measure(name, cmd, runs, want_status, stats_re=None):
    walls, rss, first_wall, first_cpu = [], [], [], []
    for i in range(runs + 2):
        wall, status, err = run_once(cmd)
        if status != want_status:
            sys.exit(f"bench: {name}: exit status {status}, expected {want_status}\n{err}")
        if i < 2:
            continue  # warm-up: page cache, first-time module paths
        walls.append(wall * 1000)
        rss.append(peak_rss_kib(cmd) / 1024)
        if stats_re:
            m = stats_re.search(err)
            if m:
                first_wall.append(float(m.group(1)))
                first_cpu.append(float(m.group(2)))
    r = {
        "name": name, "runs": runs, "command": cmd,
        "wall_ms_median": statistics.median(walls),
        "wall_ms_p10": pct(walls, 0.1), "wall_ms_p90": pct(walls, 0.9),
        "peak_rss_mib_median": statistics.median(rss),
    }
    if first_wall:
        r["first_kvm_run_wall_ms_median"] = statistics.median(first_wall)
        r["first_kvm_run_cpu_ms_median"] = statistics.median(first_cpu)
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "build"))
    ap.add_argument("--no-qemu", action="store_true")
    ap.add_argument("--json")
    a = ap.parse_args()
    minivmm = os.path.join(a.build, "minivmm")
    stub = os.path.join(a.build, "tests", "stub-guest.elf")
    for f in (minivmm, stub):
        if not os.path.exists(f):
            sys.exit(f"bench: {f} is missing: run tools/setup.sh first")
    stats_re = re.compile(r"first KVM_RUN after ([0-9.]+) ms wall, ([0-9.]+) ms CPU")
    results = [measure("minivmm", [minivmm, "-q", "--stats", "-m", "16", "--kernel", stub],
                       a.runs, 0, stats_re)]
    qemu = shutil.which("qemu-system-x86_64")
    if qemu and not a.no_qemu:
        results.append(measure("qemu microvm", [
            qemu, "-M", "microvm,x-option-roms=off,rtc=off", "-accel", "kvm",
            "-cpu", "host,-arch-capabilities", "-m", "16", "-smp", "1",
            "-nodefaults", "-no-user-config", "-display", "none", "-serial", "none",
            "-kernel", stub, "-device", "isa-debug-exit,iobase=0xf4,iosize=4"],
            a.runs, 1))
    host = os.uname()
    pvm = os.path.isdir("/sys/module/kvm_pvm")
    print(f"stub-guest benchmark on {host.nodename} ({host.release}), "
          f"/dev/kvm: {'PVM (software)' if pvm else 'hardware'}, {a.runs} runs after 2 warm-up runs\n")
    print("| VMM | wall median (ms) | p10-p90 (ms) | peak RSS (MiB) | to first KVM_RUN wall / CPU (ms) |")
    print("|---|---|---|---|---|")
    for r in results:
        first = ""
        if "first_kvm_run_wall_ms_median" in r:
            first = f"{r['first_kvm_run_wall_ms_median']:.2f} / {r['first_kvm_run_cpu_ms_median']:.2f}"
        print(f"| {r['name']} | {r['wall_ms_median']:.2f} | {r['wall_ms_p10']:.2f}-{r['wall_ms_p90']:.2f} "
              f"| {r['peak_rss_mib_median']:.1f} | {first} |")
    print("| kvmtool (MACHINE-FACTS.md, not rerun) | 23.8 | | 2.1 | |")
    floor = os.path.join(a.build, "tools", "kvm-floor")
    if os.path.exists(floor):
        print("\nWhat KVM itself charges on this host (tools/kvm_floor.c, no VMM around it):")
        print(subprocess.run([floor, "30"], capture_output=True, text=True).stdout)
    m = results[0]["wall_ms_median"]
    print(f"\nminivmm vs goals: {m:.2f} ms against kvmtool/5 = {23.8 / 5:.2f} ms", end="")
    if len(results) > 1:
        q = results[1]["wall_ms_median"]
        print(f", QEMU measured here/10 = {q / 10:.2f} ms", end="")
    print()
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
