#!/usr/bin/env bash
# The test guest's network checks (ARP, ICMP echo, UDP to a host listener)
# through minivmm's virtio-net.
#   net-test.sh user MINIVMM KERNEL   libslirp; the listener is on 127.0.0.1
#   net-test.sh tap MINIVMM KERNEL    a tap device in a network namespace of
#                                     the test's own; the listener is on the
#                                     tap's host address (needs root)
set -eu
mode=$1 minivmm=$2 kernel=$3
here=$(cd "$(dirname "$0")" && pwd)
ipnum() { local IFS=.; set -- $1; echo $(( ($1 << 24) | ($2 << 16) | ($3 << 8) | $4 )); }
# The listener's line goes to a file, shown after the VM ends: printed while
# the guest writes to the same stdout it could land inside a guest line.
heard=$(mktemp)
port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo_server() { # ADDR PORT: answer one datagram with "pong:" + payload
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(120)
data, peer = s.recvfrom(2048)
s.sendto(b"pong:" + data, peer)
print("host listener: got %r from %s:%d" % (data, peer[0], peer[1]), flush=True)
' "$1" "$2"
}

if [ "$mode" = user ]; then
	trap 'rm -f "$heard"' EXIT
	echo_server 127.0.0.1 "$port" >"$heard" &
	server=$!
	sleep 0.3
	status=0
	"$minivmm" -q --stats --timeout 60 --kernel "$kernel" --net user \
		--cmdline "test=net net_ip=$(ipnum 10.0.2.15) net_peer=$(ipnum 10.0.2.2) udp_port=$port" ||
		status=$?
	wait "$server" || true
	cat "$heard"
	exit "$status"
fi

# tap: everything inside a namespace of our own, removed on exit.
[ "$(id -u)" = 0 ] || { echo "FAIL: the tap test needs root"; exit 1; }
ns=minivmm-test-$$
ip netns add "$ns"
trap 'ip netns del "$ns" 2>/dev/null || true; rm -f "$heard"' EXIT
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" ip tuntap add dev mvtap0 mode tap
ip netns exec "$ns" ip addr add 10.1.0.1/24 dev mvtap0
ip netns exec "$ns" ip link set mvtap0 up
ip netns exec "$ns" bash -c "$(declare -f echo_server); echo_server 10.1.0.1 $port" >"$heard" &
server=$!
sleep 0.3
status=0
ip netns exec "$ns" "$minivmm" -q --stats --timeout 60 --kernel "$kernel" \
	--net tap=mvtap0 \
	--cmdline "test=net net_ip=$(ipnum 10.1.0.2) net_peer=$(ipnum 10.1.0.1) udp_port=$port" ||
	status=$?
wait "$server" || true
cat "$heard"
exit "$status"
