#!/usr/bin/env bash
# Set up minivmm on a fresh Debian 12 machine (run as root): install the
# packages it needs, build it, and build the guest kernel variant that fits
# this host (cached outside the repository, see guest/README.md).
#   tools/setup.sh [BUILD_DIR]     (default: build)
# Prints the kernel it configured.  Extra meson options: MINIVMM_MESON_ARGS.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
builddir=${1:-build}
cd "$top"

log() { printf 'setup: %s\n' "$*" >&2; }

pkgs=(meson ninja-build pkg-config gcc libc6-dev binutils python3 bc
	liburing-dev libslirp-dev libglib2.0-dev libfdt-dev libcriterion-dev
	device-tree-compiler busybox-static cpio time hyperfine qemu-system-x86
	libelf-dev erofs-utils iproute2 curl sqlite3)
"$top/tools/apt-ensure.sh" "${pkgs[@]}"

log "building the guest kernel (first time: several minutes; cached afterwards)"
kout=$("$top/guest/build-kernel.sh" auto)
vmlinux=$(sed -n 's/^vmlinux=//p' <<<"$kout")
bzimage=$(sed -n 's/^bzImage=//p' <<<"$kout")
[[ -r $vmlinux ]] || { log "guest kernel build gave no vmlinux"; exit 1; }

# shellcheck disable=SC2086
if [[ -d $builddir/meson-info ]]; then
	meson configure "$builddir" -Dkernel="$vmlinux" ${MINIVMM_MESON_ARGS:-} >/dev/null
else
	meson setup "$builddir" -Dkernel="$vmlinux" ${MINIVMM_MESON_ARGS:-} >/dev/null
fi
log "building minivmm"
ninja -C "$builddir" >&2
log "ready: $builddir/minivmm, kernel $vmlinux"
echo "vmlinux=$vmlinux"
echo "bzImage=$bzimage"
