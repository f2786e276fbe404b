#!/usr/bin/env bash
# Machine image against app image, from a fresh Debian 12 machine (as root):
# set minivmm up (tools/setup.sh), install what the comparison needs
# (debootstrap for the machine images, the applications themselves, whose
# host files the app images are built from, gnuplot for the plots, QEMU for
# the software-emulation fallback), then run tools/minivmm-compare with the
# arguments given.
#   bash tools/compare.sh --quick          redis only, one run (< 30 min here)
#   bash tools/compare.sh                  redis, nginx and sqlite3, 3 runs
# Results (JSON, markdown, SVG/PNG plots) go to build/compare; see
# docs/comparison.md.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

log() { printf 'compare: %s\n' "$*" >&2; }

[[ $(id -u) == 0 ]] || { log "needs root (debootstrap, chroot, KSM)"; exit 1; }
"$top/tools/setup.sh" build >/dev/null

pkgs=(debootstrap e2fsprogs gnuplot-nox qemu-system-x86 util-linux
	redis-server nginx sqlite3)
# The applications are installed for their files only (the app images are
# built from them): their services are not started on this host.
"$top/tools/apt-ensure.sh" --no-start "${pkgs[@]}"

exec "$top/tools/minivmm-compare" "$@"
