#!/usr/bin/env bash
# The directory form of --app: a root holding Debian's static busybox.
#   busybox-app.sh MINIVMM KERNEL
set -eu
minivmm=$1 kernel=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/bin"
cp /bin/busybox "$dir/bin/busybox"
"$minivmm" --kernel "$kernel" --timeout 800 --app "$dir" -e GREETING=hi -w /bin -- \
	/bin/busybox sh -c 'echo "$GREETING from busybox in $(pwd)"; exit 3'
