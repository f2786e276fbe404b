// SPDX-License-Identifier: MIT
/*
 * Unit tests for the libslirp backend (devices/net_slirp.c): the hostfwd
 * option parser, and the backend on a real event loop without KVM.  For
 * the latter the test builds a struct vm with only its event loop, plays
 * the guest (hand-made Ethernet frames with real checksums, through
 * ops->send) and the virtio-net device (a fake rx->receive that records
 * frames), and runs the loop on this thread with evloop_run() until the
 * frame it waits for has arrived.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/ethernet.h>
#include <net/if_arp.h>
#include <netinet/if_ether.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "devices/net_backend.h"
#include "devices/net_slirp.h"
#include "vmm/vm.h"

#define GUEST_IP 0x0a00020fU /* 10.0.2.15 */
#define GW_IP 0x0a000202U /* 10.0.2.2 */
#define LOCALHOST 0x7f000001U
#define ETH_LEN 14
#define IP_LEN 20
#define FRAME_CAP 2048
#define MAX_FRAMES 64

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

/* ---- the hostfwd parser ---- */

static int parse(const char *spec, struct net_hostfwd *f, char *err)
{
	err[0] = '\0';
	return net_slirp_parse_hostfwd(spec, f, NET_SLIRP_MAX_HOSTFWD, err,
				       256);
}

static void expect_fwd(const struct net_hostfwd *f, bool udp, uint32_t haddr,
		       uint16_t hport, uint32_t gaddr, uint16_t gport)
{
	cr_expect_eq(f->udp, udp);
	cr_expect_eq(ntohl(f->host_addr.s_addr), haddr, "host addr %08x",
		     ntohl(f->host_addr.s_addr));
	cr_expect_eq(f->host_port, hport);
	cr_expect_eq(ntohl(f->guest_addr.s_addr), gaddr);
	cr_expect_eq(f->guest_port, gport);
}

Test(hostfwd, empty_spec)
{
	struct net_hostfwd f[NET_SLIRP_MAX_HOSTFWD];
	char err[256];

	cr_assert_eq(parse("", f, err), 0);
	cr_assert_eq(parse(",", f, err), 0);
}

Test(hostfwd, good_forms)
{
	struct net_hostfwd f[NET_SLIRP_MAX_HOSTFWD];
	char err[256];

	cr_assert_eq(parse(",hostfwd=tcp:8080-:80", f, err), 1, "%s", err);
	expect_fwd(&f[0], false, LOCALHOST, 8080, GUEST_IP, 80);
	cr_expect_str_eq(f[0].text, "tcp:8080-:80");

	cr_assert_eq(parse(",hostfwd=udp:127.0.0.2:5353-10.0.2.16:53,hostfwd=tcp::2222-:22",
			   f, err),
		     2, "%s", err);
	expect_fwd(&f[0], true, 0x7f000002U, 5353, 0x0a000210U, 53);
	expect_fwd(&f[1], false, LOCALHOST, 2222, GUEST_IP, 22);

	/* QEMU's empty protocol is tcp; 0.0.0.0 when asked for. */
	cr_assert_eq(parse(",hostfwd=:0.0.0.0:65535-:1", f, err), 1, "%s",
		     err);
	expect_fwd(&f[0], false, 0, 65535, GUEST_IP, 1);

	/* No leading comma, no colon before the guest port. */
	cr_assert_eq(parse("hostfwd=tcp:8080-80", f, err), 1, "%s", err);
	expect_fwd(&f[0], false, LOCALHOST, 8080, GUEST_IP, 80);
}

static void expect_bad(const char *spec, const char *msg)
{
	struct net_hostfwd f[NET_SLIRP_MAX_HOSTFWD];
	char err[256];

	cr_expect_eq(parse(spec, f, err), -EINVAL, "'%s' accepted", spec);
	cr_expect(strstr(err, msg) != NULL, "'%s': got '%s', want '%s'",
		  spec, err, msg);
	cr_expect(!strchr(err, '\n'), "'%s': two lines", spec);
}

Test(hostfwd, bad_forms)
{
	expect_bad(",hostfwd=tcp:-:80", "hostfwd tcp:-:80: missing host port");
	expect_bad(",hostfwd=tcp:8080-:", "missing guest port");
	expect_bad(",hostfwd=tcp:8080-", "missing guest port");
	expect_bad(",hostfwd=tcp:8080", "expected [tcp|udp]:");
	expect_bad(",hostfwd=8080-80", "expected [tcp|udp]:");
	expect_bad(",hostfwd=tcp:0-:80", "host port 0 out of range (1-65535)");
	expect_bad(",hostfwd=tcp:8080-:0", "guest port 0 out of range");
	expect_bad(",hostfwd=tcp:70000-:80", "host port 70000 out of range");
	expect_bad(",hostfwd=tcp:1-:99999999999999999999999", "out of range");
	expect_bad(",hostfwd=tcp:80a-:80", "bad host port '80a'");
	expect_bad(",hostfwd=tcp:+80-:80", "bad host port");
	expect_bad(",hostfwd=tcp:8080-:-80", "bad guest port");
	expect_bad(",hostfwd=sctp:1-:2", "unknown protocol 'sctp'");
	expect_bad(",hostfwd=tcp:1.2.3:80-:80", "bad host address '1.2.3'");
	expect_bad(",hostfwd=tcp:localhost:80-:80", "bad host address");
	expect_bad(",hostfwd=tcp:80-10.0.3.1:80",
		   "guest address 10.0.3.1 is not in 10.0.2.0/24");
	expect_bad(",hostfwd=tcp:80-10.0.2.2:80", "gateway, DNS or broadcast");
	expect_bad(",hostfwd=tcp:80-10.0.2.255:80", "gateway, DNS or broadcast");
	expect_bad(",foo=bar", "unknown option 'foo=bar'");
	expect_bad(",hostfwd", "unknown option 'hostfwd'");
	expect_bad("!!!", "unknown option '!!!'");
	expect_bad(",hostfwd=tcp:1-:1,hostfwd=tcp:2-:2,hostfwd=tcp:3-:3,"
		   "hostfwd=tcp:4-:4,hostfwd=tcp:5-:5,hostfwd=tcp:6-:6,"
		   "hostfwd=tcp:7-:7,hostfwd=tcp:8-:8,hostfwd=tcp:9-:9,"
		   "hostfwd=tcp:10-:10,hostfwd=tcp:11-:11,hostfwd=tcp:12-:12,"
		   "hostfwd=tcp:13-:13,hostfwd=tcp:14-:14,hostfwd=tcp:15-:15,"
		   "hostfwd=tcp:16-:16,hostfwd=tcp:17-:17",
		   "more than 16 port forwards");
	expect_bad(",hostfwd=tcp:1111111111111111111111111111111111111111111111111111111111111111-:1",
		   "too long");
}

/* ---- frames ---- */

struct frame {
	size_t len;
	/* Data at +2: the IP header lands 4-byte aligned. */
	uint8_t raw[2 + FRAME_CAP] __attribute__((aligned(8)));
};

#define FDATA(f) ((f)->raw + 2)

static uint32_t sum16(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* TCP/UDP checksum with the IPv4 pseudo-header; addresses host order. */
static uint16_t l4_sum(uint32_t src, uint32_t dst, uint8_t proto,
		       const void *l4, size_t len)
{
	uint32_t sum = (src >> 16) + (src & 0xffff) + (dst >> 16) +
		       (dst & 0xffff) + proto + (uint32_t)len;

	return fold(sum16(l4, len, sum));
}

static void eth_header(uint8_t *f, const uint8_t *dst, uint16_t type)
{
	struct ether_header *eh = (struct ether_header *)f;

	memcpy(eh->ether_dhost, dst, 6);
	memcpy(eh->ether_shost, guest_mac, 6);
	eh->ether_type = htons(type);
}

static size_t arp_request(struct frame *fr, uint32_t target)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct ether_arp *a = (struct ether_arp *)(FDATA(fr) + ETH_LEN);
	uint32_t sip = htonl(GUEST_IP), tip = htonl(target);

	memset(fr, 0, sizeof(*fr));
	eth_header(FDATA(fr), bcast, ETHERTYPE_ARP);
	a->arp_hrd = htons(ARPHRD_ETHER);
	a->arp_pro = htons(ETHERTYPE_IP);
	a->arp_hln = 6;
	a->arp_pln = 4;
	a->arp_op = htons(ARPOP_REQUEST);
	memcpy(a->arp_sha, guest_mac, 6);
	memcpy(a->arp_spa, &sip, 4);
	memcpy(a->arp_tpa, &tip, 4);
	fr->len = ETH_LEN + sizeof(*a);
	return fr->len;
}

/* The gateway's MAC, from its ARP reply. */
static uint8_t gw_mac[6];

/* An IPv4 frame from the guest to @dst around @l4 (checksum filled). */
static void ip_frame(struct frame *fr, uint8_t proto, uint32_t dst,
		     const void *l4, size_t l4len)
{
	struct iphdr *ip = (struct iphdr *)(FDATA(fr) + ETH_LEN);

	memset(fr, 0, sizeof(*fr));
	eth_header(FDATA(fr), gw_mac, ETHERTYPE_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons((uint16_t)(IP_LEN + l4len));
	ip->id = htons(0x1234);
	ip->frag_off = htons(IP_DF);
	ip->ttl = 64;
	ip->protocol = proto;
	ip->saddr = htonl(GUEST_IP);
	ip->daddr = htonl(dst);
	ip->check = htons(fold(sum16(ip, IP_LEN, 0)));
	memcpy((uint8_t *)ip + IP_LEN, l4, l4len);
	fr->len = ETH_LEN + IP_LEN + l4len;
}

static void icmp_echo(struct frame *fr, uint32_t dst, uint16_t id,
		      uint16_t seq, const char *payload)
{
	uint8_t l4[64] __attribute__((aligned(4))) = { 0 };
	struct icmphdr *ic = (struct icmphdr *)l4;
	size_t len = sizeof(*ic) + strlen(payload);

	ic->type = ICMP_ECHO;
	ic->un.echo.id = htons(id);
	ic->un.echo.sequence = htons(seq);
	memcpy(l4 + sizeof(*ic), payload, strlen(payload));
	ic->checksum = htons(fold(sum16(l4, len, 0)));
	ip_frame(fr, IPPROTO_ICMP, dst, l4, len);
}

static void udp_datagram(struct frame *fr, uint32_t dst, uint16_t sport,
			 uint16_t dport, const char *payload)
{
	uint8_t l4[128] __attribute__((aligned(4))) = { 0 };
	struct udphdr *u = (struct udphdr *)l4;
	size_t len = sizeof(*u) + strlen(payload);
	uint16_t sum;

	u->source = htons(sport);
	u->dest = htons(dport);
	u->len = htons((uint16_t)len);
	memcpy(l4 + sizeof(*u), payload, strlen(payload));
	sum = l4_sum(GUEST_IP, dst, IPPROTO_UDP, l4, len);
	u->check = htons(sum ? sum : 0xffff);
	ip_frame(fr, IPPROTO_UDP, dst, l4, len);
}

static void tcp_segment(struct frame *fr, uint32_t dst, uint16_t sport,
			uint16_t dport, uint32_t seq, uint32_t ack,
			uint8_t flags, uint16_t window, const char *data)
{
	uint8_t l4[128] __attribute__((aligned(4))) = { 0 };
	struct tcphdr *t = (struct tcphdr *)l4;
	size_t len = sizeof(*t) + strlen(data);

	t->source = htons(sport);
	t->dest = htons(dport);
	t->seq = htonl(seq);
	t->ack_seq = htonl(ack);
	t->doff = 5;
	t->th_flags = flags;
	t->window = htons(window);
	memcpy(l4 + sizeof(*t), data, strlen(data));
	t->check = htons(l4_sum(GUEST_IP, dst, IPPROTO_TCP, l4, len));
	ip_frame(fr, IPPROTO_TCP, dst, l4, len);
}

/* ---- the fake device and the loop ---- */

static struct {
	struct frame f[MAX_FRAMES];
	unsigned int n; /* frames received (those past MAX_FRAMES not kept) */
	int ret; /* what receive answers */
} rx;

static int fake_receive(void *dev, const void *frame, size_t len)
{
	(void)dev;
	if (rx.n < MAX_FRAMES && len <= FRAME_CAP) {
		rx.f[rx.n].len = len;
		memcpy(FDATA(&rx.f[rx.n]), frame, len);
	}
	rx.n++;
	return rx.ret;
}

static const struct net_rx_ops fake_rx_ops = { .receive = fake_receive };

static struct vm vm;
static struct net_backend *be;
static int echo_fd = -1; /* a host UDP socket that echoes datagrams */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void env_up(const char *spec)
{
	struct net_config cfg;
	char err[256] = "";
	int ret;

	memset(&vm, 0, sizeof(vm));
	memset(&rx, 0, sizeof(rx));
	memset(&cfg, 0xaa, sizeof(cfg));
	cr_assert_eq(evloop_init(&vm.loop, 64), 0);
	ret = net_slirp_create(&vm, spec, &cfg, &be, err, sizeof(err));
	cr_assert_eq(ret, 0, "net_slirp_create: %d %s", ret, err);
	cr_expect_eq(cfg.ip, GUEST_IP);
	cr_expect_eq(cfg.netmask, 0xffffff00U);
	cr_expect_eq(cfg.gateway, GW_IP);
	cr_expect_eq(cfg.dns, 0x0a000203U);
	cr_expect_eq(cfg.mac[0], 0xaa, "the MAC is the caller's");
	cr_expect_str_eq(be->ops->name, "slirp");
	be->rx = &fake_rx_ops;
	be->rx_dev = &rx;
	cr_assert_eq(be->ops->start(be), 0);
}

static void env_down(void)
{
	if (be) {
		be->ops->destroy(be);
		be = NULL;
		evloop_destroy(&vm.loop);
	}
	if (echo_fd >= 0)
		close(echo_fd);
	echo_fd = -1;
}

TestSuite(slirp, .fini = env_down);

typedef bool (*frame_match)(const uint8_t *f, size_t len);

static struct {
	frame_match match;
	unsigned int from;
	int found;
	int64_t deadline;
	struct ev_op tick;
	void (*first)(void); /* called once, from inside the loop */
} run;

/* Echo what waits on echo_fd; returns how many datagrams. */
static int echo_service(void)
{
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	char buf[512];
	ssize_t n;
	int count = 0;

	while ((n = recvfrom(echo_fd, buf, sizeof(buf), MSG_DONTWAIT,
			     (struct sockaddr *)&from, &fl)) > 0) {
		cr_assert_eq(sendto(echo_fd, buf, (size_t)n, 0,
				    (struct sockaddr *)&from, fl),
			     n);
		count++;
	}
	return count;
}

static void tick(struct ev_op *op, int res, uint32_t flags)
{
	(void)op;
	(void)res;
	(void)flags;
	if (run.first) {
		run.first();
		run.first = NULL;
	}
	for (unsigned int i = run.from; i < rx.n && i < MAX_FRAMES; i++) {
		if (run.match && run.match(FDATA(&rx.f[i]), rx.f[i].len)) {
			run.found = (int)i;
			evloop_stop(&vm.loop);
			return;
		}
	}
	if (now_ms() >= run.deadline) {
		evloop_stop(&vm.loop);
		return;
	}
	evloop_timeout(&vm.loop, &run.tick, 2);
}

/*
 * Run the loop until a frame received from index @from on matches, or
 * @ms pass (with @m NULL: just run for @ms).  Returns the frame's index
 * or -1.
 */
static int run_until(frame_match m, unsigned int from, int ms)
{
	run.match = m;
	run.from = from;
	run.found = -1;
	run.deadline = now_ms() + ms;
	run.tick = (struct ev_op){ .cb = tick };
	cr_assert_eq(evloop_timeout(&vm.loop, &run.tick, 0), 0);
	vm.loop.done = false;
	cr_assert_eq(evloop_run(&vm.loop), 0);
	vm.loop.done = false;
	return run.found;
}

static int send_frame(const struct frame *fr)
{
	struct iovec iov = { .iov_base = (void *)FDATA(fr),
			     .iov_len = fr->len };

	return be->ops->send(be, &iov, 1);
}

/* ---- matching what the guest receives ---- */

static const struct iphdr *ipv4_to_guest(const uint8_t *f, size_t len,
					 uint8_t proto)
{
	const struct ether_header *eh = (const struct ether_header *)f;
	const struct iphdr *ip = (const struct iphdr *)(f + ETH_LEN);

	if (len < ETH_LEN + IP_LEN || ntohs(eh->ether_type) != ETHERTYPE_IP ||
	    memcmp(eh->ether_dhost, guest_mac, 6) || ip->version != 4 ||
	    ip->ihl != 5 || ip->protocol != proto ||
	    ntohl(ip->daddr) != GUEST_IP ||
	    ntohs(ip->tot_len) > len - ETH_LEN)
		return NULL;
	cr_expect_eq(fold(sum16(ip, IP_LEN, 0)), 0, "bad IP header checksum");
	return ip;
}

static bool is_arp_reply(const uint8_t *f, size_t len)
{
	const struct ether_header *eh = (const struct ether_header *)f;
	const struct ether_arp *a = (const struct ether_arp *)(f + ETH_LEN);
	uint32_t sip = htonl(GW_IP), tip = htonl(GUEST_IP);

	if (len < ETH_LEN + sizeof(*a) ||
	    ntohs(eh->ether_type) != ETHERTYPE_ARP ||
	    ntohs(a->arp_op) != ARPOP_REPLY || memcmp(a->arp_spa, &sip, 4) ||
	    memcmp(a->arp_tpa, &tip, 4) || memcmp(a->arp_tha, guest_mac, 6) ||
	    memcmp(eh->ether_dhost, guest_mac, 6))
		return false;
	memcpy(gw_mac, a->arp_sha, 6);
	return true;
}

static bool is_echo_reply(const uint8_t *f, size_t len)
{
	const struct iphdr *ip = ipv4_to_guest(f, len, IPPROTO_ICMP);
	const struct icmphdr *ic;
	size_t l4len;

	if (!ip || ntohl(ip->saddr) != GW_IP)
		return false;
	ic = (const struct icmphdr *)((const uint8_t *)ip + IP_LEN);
	l4len = ntohs(ip->tot_len) - IP_LEN;
	if (ic->type != ICMP_ECHOREPLY || ntohs(ic->un.echo.id) != 0x4242 ||
	    ntohs(ic->un.echo.sequence) != 7)
		return false;
	cr_expect_eq(fold(sum16(ic, l4len, 0)), 0, "bad ICMP checksum");
	cr_expect_eq(l4len, sizeof(*ic) + 4);
	cr_expect(!memcmp((const uint8_t *)ic + sizeof(*ic), "ping", 4));
	return true;
}

static uint16_t udp_port; /* the host echo port */

static bool is_udp_echo(const uint8_t *f, size_t len)
{
	const struct iphdr *ip = ipv4_to_guest(f, len, IPPROTO_UDP);
	const struct udphdr *u;
	size_t l4len;

	if (!ip || ntohl(ip->saddr) != GW_IP)
		return false;
	u = (const struct udphdr *)((const uint8_t *)ip + IP_LEN);
	l4len = ntohs(ip->tot_len) - IP_LEN;
	if (ntohs(u->source) != udp_port || ntohs(u->dest) != 40000)
		return false;
	cr_expect_eq(ntohs(u->len), l4len);
	if (u->check)
		cr_expect_eq(l4_sum(GW_IP, GUEST_IP, IPPROTO_UDP, u, l4len), 0,
			     "bad UDP checksum");
	cr_expect_eq(l4len, sizeof(*u) + 11);
	cr_expect(!memcmp((const uint8_t *)u + sizeof(*u), "hello slirp", 11));
	return true;
}

static const struct tcphdr *tcp_to_guest(const uint8_t *f, size_t len)
{
	const struct iphdr *ip = ipv4_to_guest(f, len, IPPROTO_TCP);
	const struct tcphdr *t;
	size_t l4len;

	if (!ip)
		return NULL;
	t = (const struct tcphdr *)((const uint8_t *)ip + IP_LEN);
	l4len = ntohs(ip->tot_len) - IP_LEN;
	cr_expect_eq(l4_sum(ntohl(ip->saddr), GUEST_IP, IPPROTO_TCP, t, l4len),
		     0, "bad TCP checksum");
	return t;
}

/* A hostfwd connection: slirp connects to the guest's port 80. */
static bool is_syn_to_port80(const uint8_t *f, size_t len)
{
	const struct tcphdr *t = tcp_to_guest(f, len);

	return t && ntohs(t->dest) == 80 && t->syn && !t->ack;
}

static uint16_t tcp_port; /* a host listener the guest connects to */

static bool is_synack(const uint8_t *f, size_t len)
{
	const struct tcphdr *t = tcp_to_guest(f, len);

	return t && ntohs(t->source) == tcp_port && ntohs(t->dest) == 41000 &&
	       t->syn && t->ack && ntohl(t->ack_seq) == 1001;
}

/* slirp's ACK of the guest's 5 bytes of data. */
static bool is_data_ack(const uint8_t *f, size_t len)
{
	const struct tcphdr *t = tcp_to_guest(f, len);

	return t && ntohs(t->source) == tcp_port && ntohs(t->dest) == 41000 &&
	       !t->syn && t->ack && ntohl(t->ack_seq) == 1006;
}

/* ---- helpers on the host side ---- */

static int bound_socket(int type, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(LOCALHOST) };
	int s = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	cr_assert_geq(s, 0);
	cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0, "bind: %s",
		     strerror(errno));
	return s;
}

static uint16_t port_of(int s)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);

	cr_assert_eq(getsockname(s, (struct sockaddr *)&a, &al), 0);
	return ntohs(a.sin_port);
}

static uint16_t free_port(int type)
{
	int s = bound_socket(type, 0);
	uint16_t port = port_of(s);

	close(s);
	return port;
}

/* ARP for the gateway: slirp learns our MAC, we learn its. */
static void arp_gateway(void)
{
	struct frame fr;
	unsigned int from = rx.n;

	arp_request(&fr, GW_IP);
	cr_assert_eq(send_frame(&fr), 0);
	cr_assert_geq(run_until(is_arp_reply, from, 2000), 0,
		      "no ARP reply from 10.0.2.2");
	cr_assert_eq(gw_mac[0], 0x52);
}

/* ---- the backend on a live loop ---- */

Test(slirp, arp_ping_and_udp_echo)
{
	struct frame fr;
	unsigned int from;

	env_up("");
	arp_gateway();

	/* slirp answers pings to its own address itself. */
	from = rx.n;
	icmp_echo(&fr, GW_IP, 0x4242, 7, "ping");
	cr_assert_eq(send_frame(&fr), 0);
	cr_assert_geq(run_until(is_echo_reply, from, 2000), 0,
		      "no echo reply from 10.0.2.2");

	/*
	 * UDP to 10.0.2.2 reaches the host's loopback.  The echo is sent
	 * once slirp is idle, waiting on its socket: only the io_uring poll
	 * can notice it within 250 ms (slirp's own timeout is 500 ms or more).
	 */
	echo_fd = bound_socket(SOCK_DGRAM, 0);
	udp_port = port_of(echo_fd);
	from = rx.n;
	udp_datagram(&fr, GW_IP, 40000, udp_port, "hello slirp");
	cr_assert_eq(send_frame(&fr), 0);
	run_until(NULL, 0, 20);
	cr_assert_eq(echo_service(), 1, "the datagram did not reach the host");
	cr_assert_geq(run_until(is_udp_echo, from, 250), 0,
		      "no UDP echo through slirp");
}

Test(slirp, gathers_iovecs_and_refuses_huge_frames)
{
	static uint8_t big[70000];
	struct frame fr;
	struct iovec iov[3];
	size_t len;

	env_up("");
	len = arp_request(&fr, GW_IP);
	iov[0] = (struct iovec){ FDATA(&fr), 5 };
	iov[1] = (struct iovec){ FDATA(&fr) + 5, 0 };
	iov[2] = (struct iovec){ FDATA(&fr) + 5, len - 5 };
	cr_assert_eq(be->ops->send(be, iov, 3), 0);
	cr_assert_geq(run_until(is_arp_reply, 0, 2000), 0);

	/* 14 + 65536 bytes is the most: anything longer is refused. */
	iov[0] = (struct iovec){ big, ETH_LEN + 65536 };
	cr_expect_eq(be->ops->send(be, iov, 1), 0);
	iov[0].iov_len++;
	cr_expect_eq(be->ops->send(be, iov, 1), -EMSGSIZE);
	iov[0] = (struct iovec){ big, 40000 };
	iov[1] = (struct iovec){ big, 40000 };
	cr_expect_eq(be->ops->send(be, iov, 2), -EMSGSIZE);
	iov[1] = (struct iovec){ big, SIZE_MAX };
	cr_expect_eq(be->ops->send(be, iov, 2), -EMSGSIZE);
	/* Runts are slirp's to ignore. */
	cr_expect_eq(be->ops->send(be, iov, 0), 0);
}

Test(slirp, no_guest_buffer_is_not_an_error)
{
	struct frame fr;

	env_up("");
	rx.ret = -ENOBUFS;
	arp_request(&fr, GW_IP);
	cr_assert_eq(send_frame(&fr), 0);
	run_until(NULL, 0, 20);
	cr_expect_geq(rx.n, 1, "slirp should have tried to deliver");
	be->ops->rx_ready(be);
}

Test(slirp, hostfwd_accepts_and_connects_to_the_guest)
{
	char spec[96];
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(LOCALHOST) };
	unsigned int from;
	int c;

	a.sin_port = htons(free_port(SOCK_STREAM));
	snprintf(spec, sizeof(spec), ",hostfwd=tcp:127.0.0.1:%u-:80",
		 ntohs(a.sin_port));
	env_up(spec);
	/* One poll (the listening socket) and one timeout: nothing else. */
	cr_expect_eq(vm.loop.inflight, 2);
	arp_gateway();
	run_until(NULL, 0, 30);
	cr_expect_eq(vm.loop.inflight, 2, "polls leak or repeat");

	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(c, 0);
	cr_assert_eq(connect(c, (struct sockaddr *)&a, sizeof(a)), 0,
		     "connect to the forward: %s", strerror(errno));
	from = rx.n;
	cr_expect_geq(run_until(is_syn_to_port80, from, 3000), 0,
		      "slirp did not connect to the guest's port 80");
	close(c);
}

Test(slirp, hostfwd_port_in_use)
{
	struct net_backend *b = NULL;
	struct net_config cfg;
	char spec[64], err[256] = "", want[160];
	int l = bound_socket(SOCK_STREAM, 0);
	uint16_t port = port_of(l);
	int ret;

	cr_assert_eq(listen(l, 1), 0);
	memset(&vm, 0, sizeof(vm));
	cr_assert_eq(evloop_init(&vm.loop, 64), 0);
	snprintf(spec, sizeof(spec), ",hostfwd=tcp:%u-:80", port);
	ret = net_slirp_create(&vm, spec, &cfg, &b, err, sizeof(err));
	cr_expect_eq(ret, -EADDRINUSE, "%d %s", ret, err);
	snprintf(want, sizeof(want),
		 "hostfwd tcp:%u-:80: cannot listen on 127.0.0.1:%u: %s", port,
		 port, strerror(EADDRINUSE));
	cr_expect_str_eq(err, want);
	cr_expect_null(b);

	ret = net_slirp_create(&vm, ",hostfwd=tcp:0-:80", &cfg, &b, err,
			       sizeof(err));
	cr_expect_eq(ret, -EINVAL);
	cr_expect(strstr(err, "out of range") != NULL, "%s", err);
	evloop_destroy(&vm.loop);
	close(l);
}

/*
 * Deferred work runs newest first: queue ours, then send a frame (which
 * queues slirp's cycle), so the data frame goes in right after a cycle
 * has refreshed slirp's clock.
 */
static struct {
	struct ev_defer d;
	struct frame arp, data;
} later;

static void later_send(struct ev_defer *d)
{
	(void)d;
	cr_assert_eq(send_frame(&later.data), 0);
}

static void send_data_after_cycle(void)
{
	later.d = (struct ev_defer){ .fn = later_send };
	evloop_defer(&vm.loop, &later.d);
	cr_assert_eq(send_frame(&later.arp), 0);
}

/*
 * The guest connects to a host listener through 10.0.2.2 (a non-blocking
 * connect: slirp waits for POLLOUT), then resets the connection: slirp
 * closes its socket while that socket's poll is in flight, and the host
 * must see the connection end, which it would not if the poll kept the
 * file open.
 */
Test(slirp, guest_tcp_connect_and_reset)
{
	struct frame fr;
	const struct tcphdr *t;
	struct pollfd pfd;
	char byte, buf[16];
	int l, s, idx, baseline;
	uint32_t srv_seq;
	unsigned int from;
	int64_t t0;

	env_up("");
	arp_gateway();
	run_until(NULL, 0, 20);
	baseline = (int)vm.loop.inflight;
	l = bound_socket(SOCK_STREAM, 0);
	tcp_port = port_of(l);
	cr_assert_eq(listen(l, 4), 0);

	tcp_segment(&fr, GW_IP, 41000, tcp_port, 1000, 0, TH_SYN, 65535, "");
	cr_assert_eq(send_frame(&fr), 0);
	idx = run_until(is_synack, 0, 3000);
	cr_assert_geq(idx, 0, "no SYN-ACK from the host listener");
	t = (const struct tcphdr *)(FDATA(&rx.f[idx]) + ETH_LEN + IP_LEN);
	srv_seq = ntohl(t->seq);

	tcp_segment(&fr, GW_IP, 41000, tcp_port, 1001, srv_seq + 1, TH_ACK,
		    65535, "");
	cr_assert_eq(send_frame(&fr), 0);
	run_until(NULL, 0, 20);
	s = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	cr_assert_geq(s, 0, "accept: %s", strerror(errno));
	cr_expect_gt((int)vm.loop.inflight, baseline,
		     "slirp's socket should be polled");

	/*
	 * Data the guest sends with a changed window misses slirp's fast
	 * path, and slirp delays its ACK to its 2 ms fast timer.  Sent just
	 * after a cycle (see send_data_after_cycle), the ACK can only come
	 * from the loop's timeout moved from slirp's 500 ms slow tick to
	 * 2 ms: without that it would take about half a second.
	 */
	from = rx.n;
	tcp_segment(&fr, GW_IP, 41000, tcp_port, 1001, srv_seq + 1,
		    TH_ACK | TH_PUSH, 65000, "hello");
	later.data = fr;
	arp_request(&later.arp, GW_IP);
	t0 = now_ms();
	run.first = send_data_after_cycle;
	idx = run_until(is_data_ack, from, 2000);
	cr_assert_geq(idx, 0, "no ACK for the guest's data");
	cr_expect_lt(now_ms() - t0, 200, "the ACK took %lld ms",
		     (long long)(now_ms() - t0));
	cr_assert_eq(recv(s, buf, sizeof(buf), 0), 5);
	cr_expect(!memcmp(buf, "hello", 5));

	tcp_segment(&fr, GW_IP, 41000, tcp_port, 1006, srv_seq + 1, TH_RST,
		    65000, "");
	cr_assert_eq(send_frame(&fr), 0);
	run_until(NULL, 0, 50);
	pfd = (struct pollfd){ .fd = s, .events = POLLIN };
	cr_expect_eq(poll(&pfd, 1, 1000), 1, "the host never saw the close");
	cr_expect_leq(recv(s, &byte, 1, 0), 0);
	cr_expect_eq((int)vm.loop.inflight, baseline,
		     "the closed socket's poll is still in flight");
	close(s);
	close(l);
}
