#!/usr/bin/env bash
# TCP throughput of a real Linux guest, both ways, through minivmm's slirp
# and tap backends and through QEMU's slirp (-netdev user) with the same
# kernel, init and app.  See docs/benchmarks.md, "Networking".
#
#   tools/bench_net_guest.sh [-s MIB] [-r RUNS] [-b "user tap qemu"] [-t SEC]
#
# -s  MiB each way (default 8)     -r  boots per backend (default 1)
# -b  backends, any of user tap qemu (default all; tap needs root)
# -t  time limit of one boot, in seconds (default 600)
# Environment: MINIVMM (default build/minivmm), MINIVMM_KERNEL (default
# /var/cache/minivmm/kernel/pvm/vmlinux), QEMU (qemu-system-x86_64).
#
# The guest app (tests/integration/apps/netbench.c, built here with
# gcc -static) dials the host's server, sends MIB MiB, then receives MIB
# MiB.  The server (Python, on the host) times both directions with the
# host's clock: guest→host from the first byte it reads to the last,
# host→guest from its first send to the one-byte answer the app sends
# once it has every byte.  Boot time is not included.  Both ends check
# every byte.
#
# Prints one line per boot ("RESULT backend=... g2h_MBps=... h2g_MBps=...")
# after notes on stderr (the app's lines, minivmm's --stats, the CPU time of
# the VMM's busiest threads, the host's TCP retransmissions for tap), and a
# table of medians at the end.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
minivmm=${MINIVMM:-$top/build/minivmm}
kernel=${MINIVMM_KERNEL:-/var/cache/minivmm/kernel/pvm/vmlinux}
qemu=${QEMU:-qemu-system-x86_64}
mib=8 runs=1 backends="user tap qemu" limit=600
mac=52:54:00:12:34:56
clearcpuid=popcnt,smap,smep,xsave,xsaves,xsaveopt,cx16,avx,avx2,fsgsbase,pcid,invpcid,rdrand,rdseed,umip,pku

while getopts "s:r:b:t:h" opt; do
	case $opt in
	s) mib=$OPTARG ;;
	r) runs=$OPTARG ;;
	b) backends=$OPTARG ;;
	t) limit=$OPTARG ;;
	*) sed -n '2,25p' "$0"; exit 2 ;;
	esac
done

die() { echo "bench_net_guest: $*" >&2; exit 1; }
[[ -x $minivmm ]] || die "$minivmm: not built (ninja -C build)"
[[ -r $kernel ]] || die "kernel '$kernel' missing (tools/setup.sh builds it; or set MINIVMM_KERNEL)"

tmp=$(mktemp -d)
ns=
cleanup() {
	[[ -n $ns ]] && ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/app"
gcc -static -O2 -o "$tmp/app/netbench" "$top/tests/integration/apps/netbench.c" ||
	die "cannot build the guest app (gcc -static)"
bytes=$((mib << 20))

# The host's end: server.py ADDR PORTFILE BYTES LIMIT.  Listens on ADDR (a
# free port, written to PORTFILE), serves one connection, prints one RESULT
# line.
cat >"$tmp/server.py" <<'EOF'
import os, socket, sys, time
addr, portfile, total, limit = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
PERIOD, CHUNK = 251, 65536
pat = memoryview(bytes(i % PERIOD for i in range(PERIOD + CHUNK)))
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((addr, 0))
ls.listen(1)
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % ls.getsockname()[1])
os.rename(portfile + ".tmp", portfile)
ls.settimeout(limit)
try:
    c, peer = ls.accept()
except socket.timeout:
    print("server: no connection within %.0f s" % limit, flush=True)
    sys.exit(1)
c.settimeout(120)
buf = bytearray(CHUNK)
got, first, t0 = 0, 0, None
while got < total:
    n = c.recv_into(buf, min(CHUNK, total - got))
    if n == 0:
        print("server: guest closed after %d bytes" % got, flush=True)
        sys.exit(1)
    if t0 is None:
        # The clock starts at the first byte; that read is not counted.
        t0, first = time.monotonic(), n
    o = got % PERIOD
    if buf[:n] != pat[o:o + n]:
        print("server: corrupt data near offset %d" % got, flush=True)
        sys.exit(1)
    got += n
t1 = time.monotonic()
t2 = time.monotonic()
sent = 0
while sent < total:
    n = min(CHUNK, total - sent)
    o = sent % PERIOD
    c.sendall(pat[o:o + n])
    sent += n
if c.recv(1) != b"k":
    print("server: no answer from the guest after sending", flush=True)
    sys.exit(1)
t3 = time.monotonic()
c.close()
g2h = (total - first) / (t1 - t0) / 1e6 if t1 > t0 else float("nan")
print("RESULT g2h_MBps=%.4f h2g_MBps=%.4f g2h_s=%.2f h2g_s=%.2f" %
      (g2h, total / (t3 - t2) / 1e6, t1 - t0, t3 - t2), flush=True)
EOF

# threads.py PID OUT: each second until PID ends, OUT gets the CPU time of
# each of its threads ("NAME[ (main)] SECONDS s", busiest first).
cat >"$tmp/threads.py" <<'EOF'
import os, sys, time
pid, out = int(sys.argv[1]), sys.argv[2]
hz = os.sysconf("SC_CLK_TCK")
while True:
    rows = []
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        break
    for tid in tids:
        try:
            st = open("/proc/%d/task/%s/stat" % (pid, tid)).read()
        except OSError:
            continue
        f = st[st.rindex(")") + 2:].split()
        rows.append((int(tid), st[st.index("(") + 1:st.rindex(")")],
                     (int(f[11]) + int(f[12])) / hz))
    if not rows:
        break
    with open(out + ".tmp", "w") as o:
        for tid, comm, cpu in sorted(rows, key=lambda r: -r[2]):
            o.write("%s%s %.1f s\n" % (comm, " (main)" if tid == pid else "", cpu))
    os.rename(out + ".tmp", out)
    time.sleep(1)
EOF

wait_port() { # PORTFILE: the server's port once it listens
	for _ in $(seq 100); do
		[[ -s $1 ]] && { cat "$1"; return 0; }
		sleep 0.1
	done
	die "the host server did not start"
}

# One boot: BACKEND RUN.  Appends "RESULT backend=..." to $tmp/results.
one() {
	local be=$1 run=$2 addr=127.0.0.1 dial=10.0.2.2 in_ns=() port srv st=0
	local log=$tmp/$be-$run.log pf=$tmp/port-$be-$run
	if [[ $be == tap ]]; then
		ns=minivmm-bench-$$
		ip netns add "$ns"
		ip netns exec "$ns" ip link set lo up
		ip netns exec "$ns" ip tuntap add dev mvbench0 mode tap
		ip netns exec "$ns" ip addr add 10.1.0.1/24 dev mvbench0
		ip netns exec "$ns" ip link set mvbench0 up
		in_ns=(ip netns exec "$ns")
		addr=10.1.0.1 dial=10.1.0.1
	fi
	"${in_ns[@]}" python3 "$tmp/server.py" "$addr" "$pf" "$bytes" "$limit" \
		>"$tmp/server.out" 2>&1 &
	srv=$!
	port=$(wait_port "$pf")
	local start=$SECONDS vm child='' sampler=''
	rm -f "$tmp/threads"
	case $be in
	user | tap)
		local net=user
		[[ $be == tap ]] && net=tap=mvbench0,ip=10.1.0.2/24,gw=10.1.0.1
		timeout -k 5 $((limit + 10)) "${in_ns[@]}" "$minivmm" --stats \
			--timeout "$limit" --kernel "$kernel" --app "$tmp/app" \
			--net "$net" --mac "$mac" -- /netbench "$dial" "$port" "$mib" \
			>"$log" 2>&1 &
		vm=$!
		;;
	qemu)
		"$minivmm" --app "$tmp/app" --net user --mac "$mac" \
			--write-initrd "$tmp/initrd.cpio" -- /netbench "$dial" "$port" "$mib"
		timeout -k 5 "$limit" "$qemu" -M microvm,x-option-roms=off,acpi=off,rtc=off \
			-accel kvm -cpu host,-arch-capabilities -m 256 -nodefaults \
			-no-user-config -nographic -serial stdio -no-reboot \
			-name netbench,debug-threads=on \
			-kernel "$kernel" -initrd "$tmp/initrd.cpio" \
			-netdev user,id=n0 -device virtio-net-device,netdev=n0,mac=$mac \
			-append "console=ttyS0 reboot=k panic=-1 quiet clearcpuid=$clearcpuid" \
			</dev/null >"$log" 2>&1 &
		vm=$!
		;;
	esac
	for _ in $(seq 50); do
		child=$(pgrep -P "$vm" | head -n 1 || true)
		[[ -n $child ]] && break
		sleep 0.1
	done
	if [[ -n $child ]]; then
		python3 "$tmp/threads.py" "$child" "$tmp/threads" &
		sampler=$!
	fi
	if [[ $be == qemu ]]; then
		# QEMU has no exit device: init prints the app's status and
		# reboots, and here QEMU does not end after that ("reboot:
		# Restarting system" is the last line it prints; seen on PVM).
		# So the status line ends the VM.
		while kill -0 "$vm" 2>/dev/null && ! grep -q 'exit device unavailable' "$log"; do
			sleep 1
		done
		sleep 1
		kill "$vm" 2>/dev/null || true
		wait "$vm" 2>/dev/null || true
		st=$(sed -n 's/.*exit device unavailable.*; status \([0-9]*\).*/\1/p' "$log" | tr -d '\r')
		st=${st:-"none (no status line)"}
	else
		wait "$vm" || st=$?
	fi
	[[ -n $sampler ]] && { wait "$sampler" || true; }
	local wall=$((SECONDS - start))
	kill "$srv" 2>/dev/null || true
	wait "$srv" 2>/dev/null || true
	local hosttcp=
	if [[ -n $ns ]]; then
		# The namespace is new, so its counters are this boot's.
		hosttcp=$(ip netns exec "$ns" nstat -az TcpRetransSegs TcpExtTCPTimeouts |
			awk '/^Tcp/ { printf "%s%s %s", sep, $1, $2; sep = ", " }')
		ip netns del "$ns"
		ns=
	fi
	local res
	res=$(grep '^RESULT' "$tmp/server.out" || true)
	echo "--- $be run $run: exit status $st, ${wall} s wall from start to end of the VM" >&2
	grep -E 'netbench|minivmm stats: (net|exits)|minivmm:|status' "$log" | tr -d '\r' | sed 's/^/    /' >&2 || true
	[[ -n $hosttcp ]] && echo "    host TCP (tap namespace): $hosttcp" >&2
	[[ -s $tmp/threads ]] && echo "    CPU time of the VMM's busiest threads: $(head -n 4 "$tmp/threads" | paste -sd, | sed 's/,/, /g')" >&2
	if [[ -z $res ]]; then
		sed 's/^/    server: /' "$tmp/server.out" >&2
		tail -n 20 "$log" | tr -d '\r' | sed 's/^/    vm: /' >&2
		echo "RESULT backend=$be run=$run FAILED" | tee -a "$tmp/results"
		return 0
	fi
	echo "RESULT backend=$be run=$run ${res#RESULT } wall_s=$wall" | tee -a "$tmp/results"
}

echo "guest TCP throughput: $mib MiB each way per boot, $runs boot(s) per backend; kernel $kernel"
echo "minivmm $minivmm; $($qemu --version | head -n 1)"
echo "host: $(nproc) CPUs, $(uname -r); /dev/kvm: $([[ -d /sys/module/kvm_pvm ]] && echo PVM || echo hardware KVM)"
chosen=()
for be in $backends; do
	case $be in
	user | qemu) chosen+=("$be") ;;
	tap) if [[ $(id -u) == 0 ]]; then chosen+=(tap); else echo "tap: skipped (needs root)"; fi ;;
	*) die "unknown backend '$be' (user, tap, qemu)" ;;
	esac
done
# Backends take turns, so that a change in the machine's load hits all.
for ((r = 1; r <= runs; r++)); do
	for be in "${chosen[@]}"; do
		one "$be" "$r"
	done
done

python3 - "$tmp/results" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    f = dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
    if "g2h_MBps" in f:
        rows.setdefault(f["backend"], []).append((float(f["g2h_MBps"]), float(f["h2g_MBps"])))
names = {"user": "minivmm, --net user (libslirp)", "tap": "minivmm, --net tap",
         "qemu": "QEMU microvm, -netdev user (libslirp)"}
print("\n| backend | boots | guest→host MB/s median (min–max) | host→guest MB/s median (min–max) |")
print("|---|---:|---:|---:|")
for be, v in rows.items():
    g = [x[0] for x in v]; h = [x[1] for x in v]
    print("| %s | %d | %.3f (%.3f–%.3f) | %.3f (%.3f–%.3f) |" % (
        names.get(be, be), len(v), statistics.median(g), min(g), max(g),
        statistics.median(h), min(h), max(h)))
EOF
