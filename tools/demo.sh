#!/usr/bin/env bash
# The main demo: set everything up, then boot the guest kernel in a microVM
# whose only job is one app (Debian's busybox-static running a small script),
# show its output, and return its exit status as minivmm's.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
kout=$("$top/tools/setup.sh" build)
vmlinux=$(sed -n 's/^vmlinux=//p' <<<"$kout")

app=$(mktemp -d)
trap 'rm -rf "$app"' EXIT
mkdir -p "$app/bin"
cp /bin/busybox "$app/bin/busybox"

echo "demo: minivmm --kernel $vmlinux --app $app -- /bin/busybox sh -c '...'" >&2
if [[ -d /sys/module/kvm_pvm ]]; then
	echo "demo: /dev/kvm here is PVM (software virtualization): expect 1-2 minutes to the app" >&2
fi
set +e
start=$(date +%s.%N)
"$top/build/minivmm" --kernel "$vmlinux" -m 256 --app "$app" -- \
	/bin/busybox sh -c 'echo "Hello from an app image: $(/bin/busybox uname -sr) on $(/bin/busybox nproc) vCPU"; read up idle < /proc/uptime; echo "guest uptime: $up s"; exit 3'
status=$?
end=$(date +%s.%N)
set -e
printf 'demo: minivmm exited with status %d (the app exits 3 on purpose), %.1f s wall\n' \
	"$status" "$(echo "$end - $start" | bc)" >&2
[[ $status == 3 ]]
