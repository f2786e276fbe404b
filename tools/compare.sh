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
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if ((${#missing[@]})); then
	log "installing: ${missing[*]}"
	# The applications are installed for their files only: keep their
	# services from starting on this host (invoke-rc.d's policy hook).
	policy=/usr/sbin/policy-rc.d
	made_policy=0
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		made_policy=1
	fi
	export DEBIAN_FRONTEND=noninteractive
	status=0
	{ apt-get update -q && apt-get install -y -q --no-install-recommends \
		"${missing[@]}"; } >&2 || status=$?
	((made_policy)) && rm -f "$policy"
	((status == 0)) || { log "apt-get failed (status $status)"; exit "$status"; }
fi

exec "$top/tools/minivmm-compare" "$@"
