#!/usr/bin/env bash
# Cross-check the guest side without KVM: boot the same kernel with the same
# initramfs minivmm would generate (init + launch description + app) under
# QEMU's software emulator (TCG).  The exit device does not exist there, so
# init falls back to printing the status and rebooting (reboot=k).  no_timer_check:
# on a loaded host TCG can be too slow for the kernel's IO-APIC timer check.
#   tools/tcg-crosscheck.sh MINIVMM KERNEL APP [-- ARGS...]
set -euo pipefail
minivmm=$1 kernel=$2 app=$3
shift 3
command -v qemu-system-x86_64 >/dev/null || { echo "tcg-crosscheck: qemu-system-x86_64 missing (apt-get install qemu-system-x86)" >&2; exit 1; }
cpio=$(mktemp)
trap 'rm -f "$cpio"' EXIT
"$minivmm" --app "$app" --write-initrd "$cpio" "$@"
exec timeout 300 qemu-system-x86_64 -M microvm,x-option-roms=off -accel tcg -cpu max \
	-m 256 -nodefaults -no-user-config -nographic -serial stdio -no-reboot \
	-kernel "$kernel" -initrd "$cpio" -append "console=ttyS0 reboot=k panic=-1 quiet no_timer_check"
