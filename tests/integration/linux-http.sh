#!/usr/bin/env bash
# An HTTP server (busybox httpd) in the Linux guest, reached from the host
# through --net user and -p: a real client on the host fetches a page.  The
# guest init reports the guest's memory every 5 s (minivmm.meminfo=5).
#   linux-http.sh MINIVMM KERNEL
set -u
minivmm=$1 kernel=$2
app=$(mktemp -d)
log=$(mktemp)
trap 'kill "$vmm" 2>/dev/null; rm -rf "$app" "$log"' EXIT
mkdir -p "$app/bin" "$app/www" "$app/etc"
cp /bin/busybox "$app/bin/busybox"
echo "hello from a minivmm guest" >"$app/www/index.html"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$minivmm" --stats --timeout 600 --kernel "$kernel" --app "$app" -p "$port:80" \
	--cmdline minivmm.meminfo=5 -- \
	/bin/busybox httpd -f -p 80 -h /www >"$log" 2>&1 &
vmm=$!
start=$(date +%s)
body=
while [ $(( $(date +%s) - start )) -lt 540 ] && kill -0 "$vmm" 2>/dev/null; do
	body=$(curl -s -m 5 "http://127.0.0.1:$port/") && [ -n "$body" ] && break
	sleep 1
done
echo "host: curl http://127.0.0.1:$port/ after $(( $(date +%s) - start )) s: '$body'"
# The first memory report comes 5 s after the app started: wait for it.
for _ in $(seq 30); do
	grep -q '^minivmm-init: meminfo' "$log" && break
	sleep 1
done
kill -TERM "$vmm"
wait "$vmm"
status=$?
cat "$log"
echo "minivmm exit status after SIGTERM: $status"
[ "$body" = "hello from a minivmm guest" ] && [ "$status" = 143 ]
