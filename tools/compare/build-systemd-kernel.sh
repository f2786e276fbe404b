#!/usr/bin/env bash
# Build the guest kernel that a systemd machine image needs: minivmm's own
# stripped kernel (guest/build-kernel.sh, same variant, same patch) plus the
# few options in tools/compare/systemd-kernel.config.  The comparison boots
# both image kinds with this one kernel, so that the kernel is not a
# difference between them.
#
# usage: tools/compare/build-systemd-kernel.sh [normal|pvm|auto]   (default auto)
#
# The base variant is built (or reused) first.  This build starts from a copy
# of its tree and is cached beside it, keyed by the base key and the fragment:
#   ${MINIVMM_CACHE:-/var/cache/minivmm}/kernel/systemd-<variant>-<key>/
# and published as .../kernel/systemd-<variant>/{vmlinux,config}.
# stdout gets one line, vmlinux=PATH; progress goes to stderr.
# Environment: MINIVMM_CACHE, MINIVMM_JOBS (make -j, default: the CPU count).
set -euo pipefail

RECIPE=1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
extra=$here/systemd-kernel.config
base_fragment=$top/guest/kernel.config
cache=${MINIVMM_CACHE:-/var/cache/minivmm}
jobs=${MINIVMM_JOBS:-$(nproc)}
start=$SECONDS

log() { printf 'build-systemd-kernel: %s\n' "$*" >&2; }
die() { printf 'build-systemd-kernel: error: %s\n' "$*" >&2; exit 1; }

variant=${1:-auto}
case $variant in
normal | pvm | auto) ;;
-h | --help) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
*) die "unknown variant '$variant' (expected normal, pvm or auto)" ;;
esac

log "base kernel: guest/build-kernel.sh $variant"
base_vmlinux=$("$top/guest/build-kernel.sh" "$variant" | sed -n 's/^vmlinux=//p')
[[ -r $base_vmlinux ]] || die "guest/build-kernel.sh gave no vmlinux"
pubdir=$(dirname "$base_vmlinux")
variant=$(basename "$pubdir")
kdir=$(dirname "$pubdir")
base_key=$(cat "$pubdir/key")
base_src=$kdir/$variant-$base_key/linux
[[ -d $base_src ]] || die "base build tree $base_src is missing"

key=$({
	echo "recipe $RECIPE base $variant-$base_key"
	sha256sum <"$extra" | cut -d' ' -f1
} | sha256sum | cut -c1-12)
tree=$kdir/systemd-$variant-$key
src=$tree/linux
buildlog=$tree/build.log
pub=$kdir/systemd-$variant
exec 9>"$kdir/.systemd-$variant.lock"
flock 9

# Same check as guest/build-kernel.sh: every line of a fragment must be in
# the final .config (olddefconfig drops options whose parents are off),
# except the symbols the fragment SKIP (if given) sets otherwise.
verify_config() {
	local cfg=$1 frag=$2 skip=${3:-/dev/null} line sym bad=()
	while IFS= read -r line; do
		if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=.*$ ]]; then
			sym=${BASH_REMATCH[1]}
			grep -q "^$sym=" "$skip" && continue
			grep -qxF "$line" "$cfg" || bad+=("$line")
		elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
			sym=${BASH_REMATCH[1]}
			grep -q "^$sym=" "$skip" && continue
			if grep -q "^$sym=" "$cfg"; then bad+=("$line"); fi
		fi
	done <"$frag"
	((${#bad[@]} == 0)) || die "not in the final .config: ${bad[*]}"
}

if [[ -f $tree/.built && -f $src/vmlinux ]]; then
	log "inputs unchanged (key $key): reusing $tree"
else
	mkdir -p "$tree"
	: >"$buildlog"
	if [[ ! -d $src ]]; then
		log "copying the base tree $base_src"
		rm -rf "$src.tmp"
		cp -a --reflink=auto "$base_src" "$src.tmp"
		mv "$src.tmp" "$src"
	fi
	log "configuring: tinyconfig + guest/kernel.config + $(basename "$extra")"
	{
		make -C "$src" ARCH=x86_64 tinyconfig
		cat "$base_fragment" "$extra" >>"$src/.config"
		make -C "$src" ARCH=x86_64 olddefconfig
	} >>"$buildlog" 2>&1 || { tail -n 30 "$buildlog" >&2; die "configuration failed"; }
	verify_config "$src/.config" "$base_fragment" "$extra"
	verify_config "$src/.config" "$extra"
	log "make -j$jobs ARCH=x86_64 vmlinux (log: $buildlog; several minutes)"
	make -C "$src" -j"$jobs" ARCH=x86_64 vmlinux >>"$buildlog" 2>&1 ||
		{ tail -n 30 "$buildlog" >&2; die "make failed"; }
	touch "$tree/.built"
fi
readelf -n "$src/vmlinux" | grep -qE 'Xen.*(PHYS32_ENTRY|0x00000012)' ||
	die "$src/vmlinux has no PVH entry note"
mkdir -p "$pub"
for f in vmlinux:vmlinux .config:config System.map:System.map; do
	cmp -s "$src/${f%%:*}" "$pub/${f#*:}" && continue
	cp "$src/${f%%:*}" "$pub/${f#*:}.tmp.$$"
	mv -f "$pub/${f#*:}.tmp.$$" "$pub/${f#*:}"
done
echo "$key" >"$pub/key"
log "done in $((SECONDS - start)) s"
echo "vmlinux=$pub/vmlinux"
