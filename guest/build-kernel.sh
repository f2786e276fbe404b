#!/usr/bin/env bash
# Build minivmm's guest kernel from Debian's linux-source-6.1 tarball.
#
# usage: guest/build-kernel.sh [normal|pvm|auto]      (default: auto)
#
#   normal  tinyconfig + guest/kernel.config
#   pvm     the same plus guest/pvm.patch, for hosts whose /dev/kvm is PVM
#           (software virtualization, see guest/README.md)
#   auto    pvm if the kvm_pvm module is loaded or the CPU has no vmx/svm
#
# The build tree lives outside the repository, keyed by a hash of its inputs:
#   ${MINIVMM_CACHE:-/var/cache/minivmm}/kernel/<variant>-<key>/
# and the results are published under a stable path:
#   ${MINIVMM_CACHE:-/var/cache/minivmm}/kernel/<variant>/{vmlinux,bzImage}
# stdout gets exactly two lines, vmlinux=PATH and bzImage=PATH; progress goes
# to stderr and make's output to build.log in the build tree.
#
# Environment: MINIVMM_CACHE (cache root), MINIVMM_KERNEL_TARBALL (source
# tarball, default /usr/src/linux-source-6.1.tar.xz), MINIVMM_JOBS (make -j).
set -euo pipefail

# Bump when the build steps below change in a way that changes the output.
RECIPE=1

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fragment=$here/kernel.config
patchfile=$here/pvm.patch
tarball=${MINIVMM_KERNEL_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
cache=${MINIVMM_CACHE:-/var/cache/minivmm}
jobs=${MINIVMM_JOBS:-$(nproc)}
start=$SECONDS

log() { printf 'build-kernel: %s\n' "$*" >&2; }
die() { printf 'build-kernel: error: %s\n' "$*" >&2; exit 1; }

# ---- variant -------------------------------------------------------------
variant=${1:-auto}
case $variant in
normal | pvm) why="requested" ;;
auto)
	if [[ -d /sys/module/kvm_pvm ]]; then
		variant=pvm why="auto: kvm_pvm module loaded"
	elif ! grep -qE '^flags[[:space:]]*:.*[[:space:]](vmx|svm)([[:space:]]|$)' /proc/cpuinfo; then
		variant=pvm why="auto: no vmx/svm in /proc/cpuinfo"
	else
		variant=normal why="auto: hardware virtualization present"
	fi
	;;
-h | --help)
	sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit 0
	;;
*) die "unknown variant '$variant' (expected normal, pvm or auto)" ;;
esac
[[ $# -le 1 ]] || die "too many arguments"
log "variant $variant ($why)"

# ---- packages ------------------------------------------------------------
pkgs=(build-essential flex bison bc libelf-dev libssl-dev cpio xz-utils lz4 patch)
[[ $tarball == /usr/src/linux-source-6.1.tar.xz ]] && pkgs+=(linux-source-6.1)
if command -v dpkg-query >/dev/null; then
	"$(dirname "${BASH_SOURCE[0]}")/../tools/apt-ensure.sh" "${pkgs[@]}" ||
		die "could not install the packages the kernel build needs"
fi
[[ -r $tarball ]] || die "kernel source tarball not found: $tarball"
[[ -r $fragment ]] || die "missing input: $fragment"
[[ $variant != pvm || -r $patchfile ]] || die "missing input: $patchfile"

# ---- cache key: everything that decides the output -------------------------
key_inputs() {
	echo "recipe $RECIPE variant $variant"
	echo "fragment $(sha256sum <"$fragment" | cut -d' ' -f1)"
	if [[ $variant == pvm ]]; then
		echo "patch $(sha256sum <"$patchfile" | cut -d' ' -f1)"
	fi
	echo "tarball $(basename "$tarball") $(stat -Lc '%s %Y' "$tarball")"
	echo "package $(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || echo none)"
	echo "compiler $(gcc --version | head -n1)"
}
key=$(key_inputs | sha256sum | cut -c1-12)
kdir=$cache/kernel
tree=$kdir/$variant-$key
src=$tree/linux
buildlog=$tree/build.log
pub=$kdir/$variant

mkdir -p "$kdir" 2>/dev/null ||
	die "cannot create $kdir (run as root or set MINIVMM_CACHE to a writable directory)"
# One build per variant at a time.
exec 9>"$kdir/.$variant.lock"
flock 9
log "build tree $tree"

# Run a build step with its output in build.log; show the log's tail on failure.
logged() {
	local what=$1
	shift
	echo "=== $what: $*" >>"$buildlog"
	if ! "$@" >>"$buildlog" 2>&1; then
		log "$what failed; last lines of $buildlog:"
		tail -n 40 "$buildlog" >&2
		exit 1
	fi
}

# Check every line of the fragment against the final .config.
verify_config() {
	local cfg=$1 line sym want have bad=()
	while IFS= read -r line; do
		if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
			sym=${BASH_REMATCH[1]} want=${BASH_REMATCH[2]}
			grep -qxF "$line" "$cfg" && continue
		elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
			sym=${BASH_REMATCH[1]} want=n
			grep -q "^$sym=" "$cfg" || continue
		else
			continue
		fi
		have=$(grep -E "^$sym=|^# $sym is not set" "$cfg" || true)
		bad+=("$sym: wanted $want, got ${have:-nothing (dependencies not met)}")
	done <"$fragment"
	if ((${#bad[@]})); then
		log "the final .config does not have these options of $fragment:"
		printf '  %s\n' "${bad[@]}" >&2
		die "fix guest/kernel.config (usually: also set the parent/dependency options)"
	fi
}

# ---- build (skipped when this key was built already) -----------------------
if [[ -f $tree/.built && -f $src/vmlinux && -f $src/arch/x86/boot/bzImage ]]; then
	log "inputs unchanged (key $key): reusing the built kernel, make skipped"
	touch "$tree/.built" # marks it as recently used for the pruning below
else
	mkdir -p "$tree"
	: >"$buildlog"
	if [[ ! -d $src ]]; then
		log "extracting $tarball"
		rm -rf "$src.tmp"
		mkdir -p "$src.tmp"
		logged extract tar -xf "$tarball" -C "$src.tmp" --strip-components=1
		if [[ $variant == pvm ]]; then
			log "applying $patchfile"
			logged patch patch -p1 --forward --batch -d "$src.tmp" -i "$patchfile"
		fi
		mv "$src.tmp" "$src"
	fi
	log "configuring: tinyconfig + $(basename "$fragment") + olddefconfig"
	logged tinyconfig make -C "$src" ARCH=x86_64 tinyconfig
	cat "$fragment" >>"$src/.config"
	logged olddefconfig make -C "$src" ARCH=x86_64 olddefconfig
	log "verifying $(grep -cE '^(CONFIG_|# CONFIG_.* is not set$)' "$fragment") options in .config"
	verify_config "$src/.config"
	log "make -j$jobs ARCH=x86_64 vmlinux bzImage (log: $buildlog)"
	t0=$SECONDS
	logged make make -C "$src" -j"$jobs" ARCH=x86_64 vmlinux bzImage
	log "make finished in $((SECONDS - t0)) s"
	touch "$tree/.built"
fi

# ---- checks --------------------------------------------------------------
# PVH entry: Xen ELF note XEN_ELFNOTE_PHYS32_ENTRY (type 0x12).
notes=$(readelf -n "$src/vmlinux")
if ! grep -qE 'Xen.*(PHYS32_ENTRY|0x00000012)' <<<"$notes"; then
	die "$src/vmlinux has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY); is CONFIG_PVH set?"
fi
log "vmlinux has the PVH entry note"

# ---- publish -------------------------------------------------------------
publish() { # src dst: copy unless identical, replace atomically
	cmp -s "$1" "$2" && return 0
	cp "$1" "$2.tmp.$$"
	mv -f "$2.tmp.$$" "$2"
}
mkdir -p "$pub"
publish "$src/vmlinux" "$pub/vmlinux"
publish "$src/arch/x86/boot/bzImage" "$pub/bzImage"
publish "$src/System.map" "$pub/System.map"
publish "$src/.config" "$pub/config"
echo "$key" >"$pub/key.tmp.$$" && mv -f "$pub/key.tmp.$$" "$pub/key"
ln -sfn "$variant-$key" "$kdir/$variant-current"
log "published in $pub"

# Keep the two most recently used trees of this variant, drop older ones.
mapfile -t trees < <(
	find "$kdir" -mindepth 2 -maxdepth 2 -path "$kdir/$variant-*/.built" -printf '%T@ %h\n' |
		sort -rn | cut -d' ' -f2- | grep -E "/$variant-[0-9a-f]{12}\$" || true
)
for d in "${trees[@]:2}"; do
	log "removing old build tree $d"
	rm -rf "$d"
done

log "done in $((SECONDS - start)) s"
echo "vmlinux=$pub/vmlinux"
echo "bzImage=$pub/bzImage"
