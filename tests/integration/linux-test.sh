#!/usr/bin/env bash
# Boot the real guest kernel with an app; run by meson with the kernel chosen
# at setup (-Dkernel=PATH, set by tools/setup.sh).  Without a kernel the test
# is skipped (exit 77), and .ci/run refuses skipped integration tests.
#   linux-test.sh KERNEL COMMAND ARGS...   (COMMAND gets the kernel in its ARGS)
set -u
kernel=$1
shift
if [ -z "$kernel" ]; then
	echo "SKIP: no guest kernel configured (meson setup -Dkernel=PATH; tools/setup.sh does it)"
	exit 77
fi
if [ ! -r "$kernel" ]; then
	echo "FAIL: guest kernel '$kernel' is missing; run tools/setup.sh" >&2
	exit 1
fi
exec "$@"
