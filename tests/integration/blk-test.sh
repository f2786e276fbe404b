#!/usr/bin/env bash
# Make a 64 KiB disk whose sector s holds bytes (s*7 + 3 + i) & 0xff, and let
# the test guest drive it through minivmm's virtio-blk.
#   blk-test.sh MINIVMM KERNEL rw|ro
set -eu
minivmm=$1 kernel=$2 mode=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
img=$dir/blk-test.img
python3 -c "
import sys
with open(sys.argv[1], 'wb') as f:
    for s in range(128):
        f.write(bytes(((s * 7 + 3 + i) & 0xff) for i in range(512)))
" "$img"
before=$(sha256sum <"$img")
if [ "$mode" = ro ]; then
	"$minivmm" -q --stats --kernel "$kernel" --disk "$img,ro" --cmdline "test=blk blk_ro=1"
	status=$?
	[ "$before" = "$(sha256sum <"$img")" ] || { echo "FAIL: read-only image changed"; exit 1; }
	echo "ok read-only image unchanged on the host"
else
	"$minivmm" -q --stats --kernel "$kernel" --disk "$img" --cmdline "test=blk"
	status=$?
	# The guest wrote 0xa5 ^ i into sector 1: check it on the host too.
	python3 -c "
import sys
d = open(sys.argv[1], 'rb').read()
ok = all(d[512 + i] == (0xa5 ^ i) & 0xff for i in range(512))
print('ok host sees the guest write' if ok else 'FAIL host does not see the guest write')
" "$img"
fi
exit "$status"
