#!/usr/bin/env bash
# Set everything up and run all the tests: unit (criterion), command line,
# integration on /dev/kvm (test guests) and the real Linux guest.
#   tools/test.sh [meson test options]
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
MINIVMM_MESON_ARGS="${MINIVMM_MESON_ARGS:--Dwerror=true}" tools/setup.sh build >/dev/null
meson test -C build --print-errorlogs --num-processes 1 "$@"
