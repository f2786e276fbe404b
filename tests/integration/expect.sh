#!/usr/bin/env bash
# Run one command and check its exit status and output.
#   expect.sh [--kvm] [--status N] [--lines N] [--match REGEX]...
#             [--nomatch REGEX]... -- CMD ARGS...
# --lines N: the command prints exactly N lines (stdout and stderr together).
# --kvm: the command needs /dev/kvm.  Without it the test fails loudly,
# unless MINIVMM_SKIP_KVM=1, when it exits 77 (meson counts it as SKIP).
set -u
want_status=0
matches=()
nomatches=()
need_kvm=0
want_lines=
while [ $# -gt 0 ]; do
	case "$1" in
	--kvm) need_kvm=1; shift ;;
	--status) want_status=$2; shift 2 ;;
	--lines) want_lines=$2; shift 2 ;;
	--match) matches+=("$2"); shift 2 ;;
	--nomatch) nomatches+=("$2"); shift 2 ;;
	--) shift; break ;;
	*) echo "expect.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
if [ "$need_kvm" = 1 ] && ! [ -r /dev/kvm -a -w /dev/kvm ]; then
	if [ "${MINIVMM_SKIP_KVM:-0}" = 1 ]; then
		echo "SKIP: no usable /dev/kvm (MINIVMM_SKIP_KVM=1)"
		exit 77
	fi
	echo "FAIL: this test needs /dev/kvm, which is missing or not accessible; set MINIVMM_SKIP_KVM=1 to skip" >&2
	exit 1
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "+ $*"
start=$(date +%s.%N)
"$@" </dev/null >"$out" 2>&1
status=$?
end=$(date +%s.%N)
cat "$out"
printf 'exit status %d, wall %.3f s\n' "$status" "$(echo "$end - $start" | bc)"
fail=0
if [ "$status" = 77 ] && grep -q '^SKIP:' "$out"; then
	exit 77 # the command itself says it cannot run here
fi
if [ "$status" != "$want_status" ]; then
	echo "FAIL: exit status $status, expected $want_status"
	fail=1
fi
if [ -n "$want_lines" ] && [ "$(wc -l <"$out")" != "$want_lines" ]; then
	echo "FAIL: $(wc -l <"$out") lines of output, expected $want_lines"
	fail=1
fi
for re in "${matches[@]+"${matches[@]}"}"; do
	if ! grep -Eq -- "$re" "$out"; then
		echo "FAIL: output does not match /$re/"
		fail=1
	fi
done
for re in "${nomatches[@]+"${nomatches[@]}"}"; do
	if grep -Eq -- "$re" "$out"; then
		echo "FAIL: output matches /$re/"
		fail=1
	fi
done
exit $fail
