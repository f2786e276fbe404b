#!/usr/bin/env bash
# Boot the test guest with an initrd of known content and size; the guest
# checks where minivmm put it and what it holds.
set -eu
minivmm=$1 kernel=$2
f=$(mktemp)
trap 'rm -f "$f"' EXIT
{ printf 'MINIVMM-INITRD'; head -c 12345 /dev/zero; } >"$f"
size=$(stat -c %s "$f")
exec "$minivmm" -q --kernel "$kernel" -m 32 --initrd "$f" \
	--cmdline "expect_initrd_size=$size"
