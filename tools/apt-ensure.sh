#!/usr/bin/env bash
# Install the Debian packages named that are not installed yet (as root; a
# non-root caller only gets the list of what is missing).  Used by
# tools/setup.sh, tools/compare.sh and guest/build-kernel.sh.
#   tools/apt-ensure.sh [--no-start] PKG...
# --no-start: packages installed for their files only; their services are
# kept from starting (invoke-rc.d's policy hook) while apt-get runs.
set -euo pipefail
log() { printf 'apt-ensure: %s\n' "$*" >&2; }

no_start=0
if [[ ${1:-} == --no-start ]]; then
	no_start=1
	shift
fi
missing=()
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
((${#missing[@]})) || exit 0
[[ $(id -u) == 0 ]] || { log "missing packages (run as root to install them): ${missing[*]}"; exit 1; }
log "installing: ${missing[*]}"

policy=/usr/sbin/policy-rc.d
made_policy=0
if ((no_start)) && [[ ! -e $policy ]]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	made_policy=1
fi
export DEBIAN_FRONTEND=noninteractive
install() { apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; }
status=0
# Without package lists (a fresh machine) the first try fails: update, retry.
install || { apt-get update -q >&2 && install; } || status=$?
((made_policy)) && rm -f "$policy"
((status == 0)) || { log "apt-get install ${missing[*]} failed (status $status)"; exit "$status"; }
