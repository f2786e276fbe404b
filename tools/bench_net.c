// SPDX-License-Identifier: MIT
/*
 * bench-net: virtio-net's data path through its slirp and tap backends,
 * with no guest kernel.
 *
 * A real VM (vm_create: 16 MiB, one vCPU that never runs) gets a virtio-net
 * device (vnet_attach) with a slirp or tap backend, and its event loop runs
 * on a thread of its own as in minivmm.  A second thread plays the guest:
 * it sets the device up through the virtio-mmio register model, keeps the
 * receive queue stocked and speaks just enough ARP, IPv4 and TCP to move a
 * bulk stream each way over one connection (a client with a fixed 64 KiB
 * window, no window scaling, no retransmission, one ACK per batch of
 * received segments as GRO gives a Linux guest, PSH where Linux puts it,
 * checksums left to the device as a Linux guest does).  A third
 * thread is the host's end: a TCP server that reads the guest's stream,
 * checks every byte, then writes its own, which the driver checks.
 *
 * slirp: the server listens on 127.0.0.1 and the guest (10.0.2.15) reaches
 * it as 10.0.2.2, through slirp's NAT.  tap: the benchmark moves into a
 * network namespace of its own (unshare, so root), creates a tap there with
 * the host end at 10.1.0.1/24, and the guest is 10.1.0.2.
 *
 * The driver polls its rings while there is work and sleeps when there is
 * none, woken by the device's interrupt: the transport's irqfd is swapped
 * for an eventfd the driver waits on, so KVM's interrupt injection is not
 * measured (the device's eventfd writes are).  Not measured either: vCPU
 * exits, the guest's interrupt handling and its own network stack, which
 * under PVM are what bound a real guest (tools/bench_net_guest.sh).
 *
 *   bench-net [-b user|tap|both] [-s MIB] [-r RUNS] [-n]
 * -n: do not negotiate VIRTIO_RING_F_EVENT_IDX.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "devices/net_backend.h"
#include "devices/virtio_mmio.h"
#include "devices/virtio_net.h"
#include "vmm/vm.h"

#define VM_MEM (16ULL << 20)
#define QSIZE 256
#define RXQ 0
#define TXQ 1
/* Guest-physical layout: each queue's rings (descriptors, avail at +4 KiB,
 * used at +8 KiB), then its buffers. */
#define RING_GPA(q) (0x10000ULL + 0x4000ULL * (q))
#define BUF_GPA(q) (0x100000ULL + 0x100000ULL * (q)) /* BUF_SIZE per slot */
#define BUF_SIZE 2048
#define VNET_HDR sizeof(struct virtio_net_hdr_v1)
#define IP_HDR sizeof(struct iphdr)
#define TCP_HDR sizeof(struct tcphdr)
#define HDRS (ETH_HLEN + IP_HDR + TCP_HDR) /* 54 */
#define OUR_MSS 1460
#define OUR_WINDOW 65535
#define APP_CHUNK 65536 /* the guest "application" writes this much at once */
#define IP_DONT_FRAGMENT 0x4000
#define TCPOPT_MSS_KIND 2
#define PATTERN_PERIOD 251 /* byte at stream offset o is o % 251 */
#define MAX_RUNS 16
#define STALL_S 5.0

/* The tap's private network (slirp's addresses come from net_slirp). */
#define TAP_HOST 0x0a010001U /* 10.1.0.1 */
#define TAP_GUEST 0x0a010002U /* 10.1.0.2 */
#define TAP_MASK 0xffffff00U
#define TAP_NAME "bnettap0"

static const uint8_t guest_mac[ETH_ALEN] = { 0x52, 0x54, 0x00,
					     0x12, 0x34, 0x56 };
static const uint8_t broadcast[ETH_ALEN] = { 0xff, 0xff, 0xff,
					     0xff, 0xff, 0xff };
static uint8_t pattern[PATTERN_PERIOD + APP_CHUNK];

struct opts {
	uint64_t bytes; /* each way, each run */
	unsigned int runs;
	bool user, tap;
	bool event_idx;
};

/* One run's figures, taken by whichever thread sees each edge. */
struct run_result {
	double g2h_t0, g2h_t1, h2g_t0, h2g_t1; /* CLOCK_MONOTONIC s */
	double g2h_cpu0, g2h_cpu1, h2g_cpu0, h2g_cpu1; /* loop thread CPU s */
	uint64_t g2h_frames0, g2h_frames1, h2g_frames0, h2g_frames1;
	atomic_bool host_done;
	int host_err;
};

struct bench;

/* The driver's view of one split virtqueue. */
struct drv_queue {
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx, published, last_used;
	int kick_fd;
};

enum tcp_state { TCP_CLOSED, TCP_SYN_SENT, TCP_ESTABLISHED, TCP_RESET };

struct driver {
	struct bench *b;
	uint8_t *ram;
	struct drv_queue q[2];
	int irq_fd; /* the device's interrupts, swapped in for KVM's irqfd */
	bool event_idx;
	uint16_t tx_free[QSIZE];
	unsigned int tx_nfree;

	uint8_t peer_mac[6];
	bool peer_known;
	uint32_t ip, peer_ip; /* host byte order */
	uint16_t ip_id;

	enum tcp_state state;
	uint16_t sport, dport;
	uint32_t iss, snd_una, snd_nxt, snd_wnd, rcv_nxt;
	uint32_t max_wnd; /* the largest window the peer offered */
	uint32_t pushed; /* sequence number after the last PSH */
	uint16_t mss;
	uint64_t to_send, sent, received;
	unsigned int unacked; /* in-order segments received, not yet ACKed */
	bool ack_due;

	uint64_t kicks, sleeps, wakeups, ooo, bad_frames, data_errors;
};

struct bench {
	const struct opts *o;
	struct vm vm;
	struct vnet *net;
	struct virtio_mmio *t;
	struct ev_op stop_op;
	pthread_t loop_thread, host_thread;
	clockid_t loop_clock;
	bool tap;
	uint32_t host_addr; /* where the server listens, host byte order */
	uint16_t port;
	int lfd;
	struct driver d;
	struct run_result res[MAX_RUNS];
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t dev_frames(struct bench *b)
{
	const struct vnet_stats *st = vnet_stats(b->net);

	return __atomic_load_n(&st->tx_frames, __ATOMIC_RELAXED) +
	       __atomic_load_n(&st->rx_frames, __ATOMIC_RELAXED);
}

/* ---- checksums (RFC 1071) ---- */

static uint32_t sum_be16(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;

	for (; len > 1; len -= 2, p += 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (len)
		sum += (uint32_t)(p[0] << 8);
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* ---- the rings, as a guest driver sees them ---- */

static void drv_queue_init(struct driver *d, unsigned int qi, int kick_fd)
{
	struct drv_queue *q = &d->q[qi];

	q->desc = (struct vring_desc *)(d->ram + RING_GPA(qi));
	q->avail = (struct vring_avail *)(d->ram + RING_GPA(qi) + 0x1000);
	q->used = (struct vring_used *)(d->ram + RING_GPA(qi) + 0x2000);
	q->kick_fd = kick_fd;
}

static uint16_t *used_event(struct drv_queue *q)
{
	return &q->avail->ring[QSIZE];
}

static uint16_t *avail_event(struct drv_queue *q)
{
	return (uint16_t *)&q->used->ring[QSIZE];
}

static void drv_post(struct drv_queue *q, uint16_t id)
{
	q->avail->ring[q->avail_idx % QSIZE] = id;
	q->avail_idx++;
}

/* Make what was posted visible and kick if the device asked for it. */
static void drv_publish(struct driver *d, unsigned int qi)
{
	struct drv_queue *q = &d->q[qi];
	uint16_t old = q->published, new = q->avail_idx;
	uint64_t one = 1;
	bool kick;

	if (old == new)
		return;
	__atomic_store_n(&q->avail->idx, new, __ATOMIC_RELEASE);
	q->published = new;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (d->event_idx)
		kick = vring_need_event(
			__atomic_load_n(avail_event(q), __ATOMIC_RELAXED), new,
			old);
	else
		kick = !(__atomic_load_n(&q->used->flags, __ATOMIC_RELAXED) &
			 VRING_USED_F_NO_NOTIFY);
	if (kick) {
		d->kicks++;
		if (write(q->kick_fd, &one, sizeof(one)) < 0)
			d->bad_frames++;
	}
}

/* Interrupts for @qi on (after the next used buffer) or off. */
static void drv_irq(struct driver *d, unsigned int qi, bool on)
{
	struct drv_queue *q = &d->q[qi];

	if (d->event_idx)
		__atomic_store_n(used_event(q),
				 (uint16_t)(q->last_used + (on ? 0 : 0x8000)),
				 __ATOMIC_RELAXED);
	else
		q->avail->flags = on ? 0 : VRING_AVAIL_F_NO_INTERRUPT;
}

static bool drv_has_used(struct drv_queue *q)
{
	return __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE) != q->last_used;
}

static uint8_t *tx_buf(struct driver *d, uint16_t slot)
{
	return d->ram + BUF_GPA(TXQ) + (uint64_t)slot * BUF_SIZE;
}

static unsigned int drv_tx_reap(struct driver *d)
{
	struct drv_queue *q = &d->q[TXQ];
	uint16_t u = __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE);
	unsigned int n = 0;

	while (q->last_used != u) {
		uint32_t id = q->used->ring[q->last_used % QSIZE].id;

		q->last_used++;
		n++;
		if (id < QSIZE && d->tx_nfree < QSIZE)
			d->tx_free[d->tx_nfree++] = (uint16_t)id;
		else
			d->bad_frames++;
	}
	return n;
}

/* A free transmit buffer, or -1 when all are with the device. */
static int drv_tx_slot(struct driver *d)
{
	if (!d->tx_nfree)
		drv_tx_reap(d);
	return d->tx_nfree ? d->tx_free[--d->tx_nfree] : -1;
}

/* Queue @slot's frame of @len bytes (virtio header included). */
static void drv_tx_queue(struct driver *d, uint16_t slot, size_t len)
{
	struct drv_queue *q = &d->q[TXQ];

	q->desc[slot] = (struct vring_desc){
		.addr = BUF_GPA(TXQ) + (uint64_t)slot * BUF_SIZE,
		.len = (uint32_t)len,
	};
	drv_post(q, slot);
}

/* ---- ARP ---- */

struct arp_ipv4 {
	struct arphdr h;
	uint8_t sha[ETH_ALEN], sip[4], tha[ETH_ALEN], tip[4];
} __attribute__((packed));

static int drv_send_arp(struct driver *d, uint16_t op, const uint8_t *tha,
			uint32_t tip)
{
	struct virtio_net_hdr_v1 vh = { .gso_type = VIRTIO_NET_HDR_GSO_NONE };
	struct ethhdr eth = { .h_proto = htons(ETH_P_ARP) };
	struct arp_ipv4 a = {
		.h = { .ar_hrd = htons(ARPHRD_ETHER),
		       .ar_pro = htons(ETH_P_IP),
		       .ar_hln = ETH_ALEN,
		       .ar_pln = 4,
		       .ar_op = htons(op) },
	};
	uint32_t sip = htonl(d->ip);
	int slot = drv_tx_slot(d);
	uint8_t *p;

	if (slot < 0)
		return -EAGAIN;
	tip = htonl(tip);
	memcpy(eth.h_dest, op == ARPOP_REQUEST ? broadcast : tha, ETH_ALEN);
	memcpy(eth.h_source, guest_mac, ETH_ALEN);
	memcpy(a.sha, guest_mac, ETH_ALEN);
	memcpy(a.sip, &sip, 4);
	if (op == ARPOP_REPLY)
		memcpy(a.tha, tha, ETH_ALEN);
	memcpy(a.tip, &tip, 4);
	p = tx_buf(d, (uint16_t)slot);
	memcpy(p, &vh, VNET_HDR);
	memcpy(p + VNET_HDR, &eth, ETH_HLEN);
	memcpy(p + VNET_HDR + ETH_HLEN, &a, sizeof(a));
	/* Padded to the Ethernet minimum (ETH_ZLEN), as a NIC would. */
	memset(p + VNET_HDR + ETH_HLEN + sizeof(a), 0,
	       ETH_ZLEN - ETH_HLEN - sizeof(a));
	drv_tx_queue(d, (uint16_t)slot, VNET_HDR + ETH_ZLEN);
	return 0;
}

static void drv_rx_arp(struct driver *d, const uint8_t *p, size_t len)
{
	struct arp_ipv4 a;
	uint32_t sip, tip;

	if (len < sizeof(a))
		return;
	memcpy(&a, p, sizeof(a));
	if (a.h.ar_hrd != htons(ARPHRD_ETHER) || a.h.ar_pro != htons(ETH_P_IP))
		return;
	memcpy(&sip, a.sip, 4);
	memcpy(&tip, a.tip, 4);
	if (ntohl(sip) == d->peer_ip) {
		memcpy(d->peer_mac, a.sha, ETH_ALEN);
		d->peer_known = true;
	}
	if (a.h.ar_op == htons(ARPOP_REQUEST) && ntohl(tip) == d->ip)
		drv_send_arp(d, ARPOP_REPLY, a.sha, ntohl(sip));
}

/* ---- TCP, the least a bulk client needs ---- */

enum { SEG_SYN = 1, SEG_ACK = 2, SEG_PSH = 4, SEG_RST = 8 };

static bool seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

/*
 * One segment of @plen bytes of our stream (from stream offset @off), with
 * the TCP checksum left to the device (VIRTIO_NET_HDR_F_NEEDS_CSUM: the
 * field holds the pseudo-header sum).  Returns 0 or -EAGAIN (no buffer).
 */
static int drv_send_seg(struct driver *d, unsigned int flags, uint32_t seq,
			uint64_t off, size_t plen)
{
	size_t optlen = (flags & SEG_SYN) ? 4 : 0;
	size_t tcplen = TCP_HDR + optlen + plen;
	struct virtio_net_hdr_v1 vh = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = VIRTIO_NET_HDR_GSO_NONE,
		.csum_start = ETH_HLEN + IP_HDR,
		.csum_offset = offsetof(struct tcphdr, check),
	};
	struct ethhdr eth = { .h_proto = htons(ETH_P_IP) };
	struct iphdr ip = {
		.ihl = 5,
		.version = 4,
		.tot_len = htons((uint16_t)(IP_HDR + tcplen)),
		.id = htons(d->ip_id++),
		.frag_off = htons(IP_DONT_FRAGMENT),
		.ttl = 64,
		.protocol = IPPROTO_TCP,
		.saddr = htonl(d->ip),
		.daddr = htonl(d->peer_ip),
	};
	struct tcphdr th = {
		.source = htons(d->sport),
		.dest = htons(d->dport),
		.seq = htonl(seq),
		.doff = (uint16_t)((TCP_HDR + optlen) / 4),
		.window = htons(OUR_WINDOW),
	};
	int slot = drv_tx_slot(d);
	uint32_t pseudo;
	uint8_t *p;

	if (slot < 0)
		return -EAGAIN;
	memcpy(eth.h_dest, d->peer_mac, ETH_ALEN);
	memcpy(eth.h_source, guest_mac, ETH_ALEN);
	ip.check = htons((uint16_t)~fold(sum_be16(&ip, IP_HDR, 0)));
	th.syn = !!(flags & SEG_SYN);
	th.rst = !!(flags & SEG_RST);
	th.psh = !!(flags & SEG_PSH);
	if (flags & SEG_ACK) {
		th.ack = 1;
		th.ack_seq = htonl(d->rcv_nxt);
		d->unacked = 0;
		d->ack_due = false;
	}
	pseudo = sum_be16(&ip.saddr, 8, IPPROTO_TCP + (uint32_t)tcplen);
	th.check = htons(fold(pseudo));
	p = tx_buf(d, (uint16_t)slot);
	memcpy(p, &vh, VNET_HDR);
	p += VNET_HDR;
	memcpy(p, &eth, ETH_HLEN);
	memcpy(p + ETH_HLEN, &ip, IP_HDR);
	memcpy(p + ETH_HLEN + IP_HDR, &th, TCP_HDR);
	p += HDRS;
	if (optlen) {
		p[0] = TCPOPT_MSS_KIND;
		p[1] = 4;
		p[2] = OUR_MSS >> 8;
		p[3] = OUR_MSS & 0xff;
		p += optlen;
	}
	/* The guest's copy from its application's buffer. */
	memcpy(p, pattern + off % PATTERN_PERIOD, plen);
	drv_tx_queue(d, (uint16_t)slot, VNET_HDR + HDRS + optlen + plen);
	return 0;
}

static void drv_send_ack(struct driver *d)
{
	drv_send_seg(d, SEG_ACK, d->snd_nxt, 0, 0);
}

/* Whatever the peer's window and our buffers allow.  Returns segments sent. */
static unsigned int drv_send_data(struct driver *d)
{
	unsigned int n = 0;

	while (d->state == TCP_ESTABLISHED && d->sent < d->to_send) {
		uint32_t inflight = d->snd_nxt - d->snd_una;
		uint64_t left = d->to_send - d->sent;
		size_t len = left < d->mss ? (size_t)left : d->mss;
		unsigned int flags = SEG_ACK;

		if (inflight + len > d->snd_wnd)
			break;
		/*
		 * PSH where Linux sets it: at the end of each application
		 * write, and once more than half the largest window seen
		 * has gone out since the last PSH (tcp_sendmsg's forced
		 * push).  It matters: slirp ACKs a PSH segment at once and
		 * others only on its delayed-ACK timer.
		 */
		if ((d->sent + len) % APP_CHUNK < len || len == left ||
		    d->snd_nxt + len - d->pushed > d->max_wnd / 2)
			flags |= SEG_PSH;
		if (drv_send_seg(d, flags, d->snd_nxt, d->sent, len))
			break;
		if (flags & SEG_PSH)
			d->pushed = d->snd_nxt + (uint32_t)len;
		d->snd_nxt += (uint32_t)len;
		d->sent += len;
		n++;
	}
	return n;
}

static void drv_rx_tcp(struct driver *d, const uint8_t *p, size_t len)
{
	struct tcphdr th;
	uint32_t seq, ack;
	size_t hl, plen;

	if (len < TCP_HDR)
		return;
	memcpy(&th, p, TCP_HDR);
	hl = th.doff * 4u;
	if (hl < TCP_HDR || hl > len || ntohs(th.source) != d->dport ||
	    ntohs(th.dest) != d->sport)
		return;
	seq = ntohl(th.seq);
	ack = ntohl(th.ack_seq);
	plen = len - hl;
	if (th.rst) {
		d->state = TCP_RESET;
		return;
	}
	if (d->state == TCP_SYN_SENT) {
		if (!th.syn || !th.ack || ack != d->iss + 1)
			return;
		d->mss = OUR_MSS;
		for (size_t i = TCP_HDR; i + 1 < hl;) {
			uint8_t kind = p[i], olen = p[i + 1];

			if (kind == 0)
				break;
			if (kind == 1) {
				i++;
				continue;
			}
			if (olen < 2 || i + olen > hl)
				break;
			if (kind == TCPOPT_MSS_KIND && olen == 4 &&
			    (p[i + 2] << 8 | p[i + 3]) < d->mss)
				d->mss = (uint16_t)(p[i + 2] << 8 | p[i + 3]);
			i += olen;
		}
		d->rcv_nxt = seq + 1;
		d->snd_una = d->snd_nxt = d->pushed = ack;
		d->snd_wnd = d->max_wnd = ntohs(th.window);
		d->state = TCP_ESTABLISHED;
		d->ack_due = true;
		return;
	}
	if (d->state != TCP_ESTABLISHED)
		return;
	if (th.ack && !seq_lt(d->snd_nxt, ack) && !seq_lt(ack, d->snd_una)) {
		d->snd_una = ack;
		d->snd_wnd = ntohs(th.window);
		if (d->snd_wnd > d->max_wnd)
			d->max_wnd = d->snd_wnd;
	}
	if (plen) {
		if (seq != d->rcv_nxt) {
			/* Out of order or a resend: answer with a dup ACK. */
			d->ooo++;
			d->ack_due = true;
			return;
		}
		if (memcmp(p + hl, pattern + d->received % PATTERN_PERIOD,
			   plen))
			d->data_errors++;
		d->rcv_nxt += (uint32_t)plen;
		d->received += plen;
		/* ACKed after the batch (or before sleeping, if alone). */
		if (++d->unacked >= 2)
			d->ack_due = true;
	}
	if (th.fin && seq + plen == d->rcv_nxt) {
		d->rcv_nxt++;
		d->ack_due = true;
	}
}

static void drv_rx_frame(struct driver *d, const uint8_t *f, size_t len)
{
	struct ethhdr eth;
	struct iphdr ip;
	size_t ihl, tot;

	if (len < ETH_HLEN)
		return;
	memcpy(&eth, f, ETH_HLEN);
	f += ETH_HLEN;
	len -= ETH_HLEN;
	if (eth.h_proto == htons(ETH_P_ARP)) {
		drv_rx_arp(d, f, len);
		return;
	}
	if (eth.h_proto != htons(ETH_P_IP) || len < IP_HDR)
		return; /* IPv6 router advertisements and the like */
	memcpy(&ip, f, IP_HDR);
	ihl = ip.ihl * 4u;
	tot = ntohs(ip.tot_len);
	if (ip.version != 4 || ihl < IP_HDR || tot < ihl || tot > len ||
	    (ntohs(ip.frag_off) & 0x3fff) || ip.protocol != IPPROTO_TCP ||
	    ntohl(ip.daddr) != d->ip || ntohl(ip.saddr) != d->peer_ip)
		return;
	drv_rx_tcp(d, f + ihl, tot - ihl);
}

/* Handle every used receive buffer and give it back.  Returns how many. */
static unsigned int drv_rx_reap(struct driver *d)
{
	struct drv_queue *q = &d->q[RXQ];
	uint16_t u = __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE);
	unsigned int n = 0;

	while (q->last_used != u) {
		struct vring_used_elem e = q->used->ring[q->last_used % QSIZE];

		q->last_used++;
		n++;
		if (e.id >= QSIZE || e.len < VNET_HDR || e.len > BUF_SIZE) {
			d->bad_frames++;
			continue;
		}
		drv_rx_frame(d,
			     d->ram + BUF_GPA(RXQ) + (uint64_t)e.id * BUF_SIZE +
				     VNET_HDR,
			     e.len - VNET_HDR);
		drv_post(q, (uint16_t)e.id);
	}
	return n;
}

/*
 * Nothing to do: ask for interrupts, look once more (the device may have
 * used a buffer before it could see the request), then sleep until one
 * comes or @ms pass.  Transmit completions only matter when we are out of
 * buffers.
 */
static void drv_sleep(struct driver *d, int ms)
{
	struct pollfd pfd = { .fd = d->irq_fd, .events = POLLIN };
	bool want_tx = d->tx_nfree < QSIZE / 4;
	uint64_t v;

	drv_irq(d, RXQ, true);
	if (want_tx)
		drv_irq(d, TXQ, true);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!drv_has_used(&d->q[RXQ]) &&
	    !(want_tx && drv_has_used(&d->q[TXQ]))) {
		d->sleeps++;
		if (poll(&pfd, 1, ms) > 0 &&
		    read(d->irq_fd, &v, sizeof(v)) == sizeof(v))
			d->wakeups++;
	}
	drv_irq(d, RXQ, false);
	drv_irq(d, TXQ, false);
}

/* One pass over both queues.  Returns whether anything happened. */
static bool drv_step(struct driver *d)
{
	unsigned int n = drv_rx_reap(d) + drv_tx_reap(d);

	n += drv_send_data(d);
	if (d->ack_due)
		drv_send_ack(d);
	drv_publish(d, RXQ);
	drv_publish(d, TXQ);
	return n != 0;
}

enum phase { PH_ARP, PH_CONNECT, PH_BULK };

static bool drv_phase_done(struct driver *d, enum phase ph)
{
	switch (ph) {
	case PH_ARP:
		return d->peer_known;
	case PH_CONNECT:
		return d->state != TCP_SYN_SENT;
	case PH_BULK:
		return d->state != TCP_ESTABLISHED ||
		       (d->received >= d->to_send &&
			d->snd_una == d->iss + 1 + d->to_send);
	}
	return true;
}

/*
 * Run @ph to its end: poll while busy, sleep on the interrupt when idle
 * (first ACKing a lone segment, as a delayed ACK would).  @resend redoes
 * the phase's request each second.  -ETIMEDOUT after STALL_S without
 * progress.
 */
static int drv_run_phase(struct driver *d, enum phase ph,
			 void (*resend)(struct driver *), struct run_result *r)
{
	double last = now_s(), last_resend = last;

	while (!drv_phase_done(d, ph)) {
		uint64_t before = d->received;

		if (drv_step(d)) {
			last = now_s();
			if (r && d->received >= d->to_send &&
			    before < d->to_send) {
				r->h2g_t1 = last;
				r->h2g_cpu1 = clock_s(d->b->loop_clock);
				r->h2g_frames1 = dev_frames(d->b);
			}
			continue;
		}
		if (d->unacked) {
			drv_send_ack(d);
			drv_publish(d, TXQ);
			continue;
		}
		drv_sleep(d, 10);
		if (now_s() - last > STALL_S)
			return -ETIMEDOUT;
		if (resend && now_s() - last_resend > 1.0) {
			resend(d);
			drv_publish(d, TXQ);
			last_resend = now_s();
		}
	}
	return 0;
}

static void resend_arp(struct driver *d)
{
	drv_send_arp(d, ARPOP_REQUEST, NULL, d->peer_ip);
}

static void resend_syn(struct driver *d)
{
	drv_send_seg(d, SEG_SYN, d->iss, 0, 0);
}

/* Driver initialisation (virtio 1.2 §3.1.1) and both queues' setup. */
static int drv_init(struct bench *b)
{
	struct driver *d = &b->d;
	struct virtio_mmio *t = b->t;
	uint64_t f = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_NET_F_MAC) |
		     (1ULL << VIRTIO_NET_F_CSUM) |
		     (1ULL << VIRTIO_NET_F_GUEST_CSUM);
	uint32_t st = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	int kvm_irq_fd;

	if (b->o->event_idx)
		f |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
	d->b = b;
	d->event_idx = b->o->event_idx;
	d->ram = gm_ptr(&b->vm.mem, 0, VM_MEM);
	if (!d->ram)
		return -EINVAL;
	d->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->irq_fd < 0)
		return -errno;
	pthread_mutex_lock(&t->lock);
	/* The device interrupts the driver thread, not the idle vCPU. */
	kvm_irq_fd = t->irq_fd;
	t->irq_fd = d->irq_fd;
	virtio_mmio_reg_write(t, VIRTIO_MMIO_STATUS,
			      VIRTIO_CONFIG_S_ACKNOWLEDGE);
	virtio_mmio_reg_write(t, VIRTIO_MMIO_STATUS, st);
	virtio_mmio_reg_write(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	virtio_mmio_reg_write(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	virtio_mmio_reg_write(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	virtio_mmio_reg_write(t, VIRTIO_MMIO_DRIVER_FEATURES,
			      (uint32_t)(f >> 32));
	st |= VIRTIO_CONFIG_S_FEATURES_OK;
	virtio_mmio_reg_write(t, VIRTIO_MMIO_STATUS, st);
	for (unsigned int qi = 0; qi < 2; qi++) {
		virtio_mmio_reg_write(t, VIRTIO_MMIO_QUEUE_SEL, qi);
		virtio_mmio_reg_write(t, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
		virtio_mmio_reg_write(t, VIRTIO_MMIO_QUEUE_DESC_LOW,
				      (uint32_t)RING_GPA(qi));
		virtio_mmio_reg_write(t, VIRTIO_MMIO_QUEUE_AVAIL_LOW,
				      (uint32_t)(RING_GPA(qi) + 0x1000));
		virtio_mmio_reg_write(t, VIRTIO_MMIO_QUEUE_USED_LOW,
				      (uint32_t)(RING_GPA(qi) + 0x2000));
		virtio_mmio_reg_write(t, VIRTIO_MMIO_QUEUE_READY, 1);
		drv_queue_init(d, qi, t->kick_fd[qi]);
	}
	st |= VIRTIO_CONFIG_S_DRIVER_OK;
	virtio_mmio_reg_write(t, VIRTIO_MMIO_STATUS, st);
	if (virtio_mmio_reg_read(t, VIRTIO_MMIO_STATUS) != st) {
		fprintf(stderr, "bench-net: device refused the driver (status %#x)\n",
			virtio_mmio_reg_read(t, VIRTIO_MMIO_STATUS));
		pthread_mutex_unlock(&t->lock);
		close(kvm_irq_fd);
		return -EIO;
	}
	pthread_mutex_unlock(&t->lock);
	close(kvm_irq_fd); /* KVM keeps its own reference */

	/* Every receive buffer posted; transmit buffers all free. */
	for (uint16_t i = 0; i < QSIZE; i++) {
		d->q[RXQ].desc[i] = (struct vring_desc){
			.addr = BUF_GPA(RXQ) + (uint64_t)i * BUF_SIZE,
			.len = BUF_SIZE,
			.flags = VRING_DESC_F_WRITE,
		};
		drv_post(&d->q[RXQ], i);
		d->tx_free[d->tx_nfree++] = (uint16_t)(QSIZE - 1 - i);
	}
	drv_irq(d, RXQ, false);
	drv_irq(d, TXQ, false);
	drv_publish(d, RXQ);
	return 0;
}

/* ---- the host's end: a TCP server on its own thread ---- */

static int host_recv_all(struct bench *b, int fd, struct run_result *r)
{
	static uint8_t buf[APP_CHUNK];
	uint64_t got = 0;

	while (got < b->o->bytes) {
		size_t want = b->o->bytes - got < sizeof(buf) ?
				      (size_t)(b->o->bytes - got) :
				      sizeof(buf);
		ssize_t n = recv(fd, buf, want, 0);

		if (n <= 0)
			return n ? -errno : -ECONNRESET;
		if (memcmp(buf, pattern + got % PATTERN_PERIOD, (size_t)n))
			return -EBADMSG;
		got += (uint64_t)n;
	}
	r->g2h_t1 = now_s();
	r->g2h_cpu1 = clock_s(b->loop_clock);
	r->g2h_frames1 = dev_frames(b);
	return 0;
}

static int host_send_all(struct bench *b, int fd, struct run_result *r)
{
	uint64_t sent = 0;

	r->h2g_t0 = now_s();
	r->h2g_cpu0 = clock_s(b->loop_clock);
	r->h2g_frames0 = dev_frames(b);
	while (sent < b->o->bytes) {
		size_t want = b->o->bytes - sent < APP_CHUNK ?
				      (size_t)(b->o->bytes - sent) :
				      APP_CHUNK;
		ssize_t n = send(fd, pattern + sent % PATTERN_PERIOD, want,
				 MSG_NOSIGNAL);

		if (n <= 0)
			return n ? -errno : -EIO;
		sent += (uint64_t)n;
	}
	return 0;
}

static void *host_main(void *arg)
{
	struct bench *b = arg;
	struct timeval tv = { .tv_sec = 10 };

	pthread_setname_np(pthread_self(), "bench-host");
	for (unsigned int run = 0; run < b->o->runs; run++) {
		struct run_result *r = &b->res[run];
		struct pollfd pfd = { .fd = b->lfd, .events = POLLIN };
		char c;
		int fd, ret;

		if (poll(&pfd, 1, 10000) != 1) {
			r->host_err = -ETIMEDOUT;
			atomic_store(&r->host_done, true);
			return NULL;
		}
		fd = accept4(b->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			r->host_err = -errno;
			atomic_store(&r->host_done, true);
			return NULL;
		}
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		ret = host_recv_all(b, fd, r);
		if (!ret)
			ret = host_send_all(b, fd, r);
		/* The guest resets the connection once it has everything. */
		if (!ret)
			(void)!recv(fd, &c, 1, 0);
		close(fd);
		r->host_err = ret;
		atomic_store(&r->host_done, true);
	}
	return NULL;
}

static int host_listen(struct bench *b)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(b->host_addr) };
	socklen_t len = sizeof(sa);
	int one = 1;

	b->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (b->lfd < 0)
		return -errno;
	setsockopt(b->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(b->lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(b->lfd, 4) ||
	    getsockname(b->lfd, (struct sockaddr *)&sa, &len))
		return -errno;
	b->port = ntohs(sa.sin_port);
	return 0;
}

/* ---- tap: a network namespace of our own ---- */

static int if_ioctl(int s, unsigned long req, const char *name,
		    struct ifreq *ifr)
{
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
	return ioctl(s, req, ifr);
}

/* Bring @name up, with @addr/@mask when @addr is not 0. */
static int if_up(const char *name, uint32_t addr, uint32_t mask)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	int ret = 0;

	if (s < 0)
		return -errno;
	if (addr) {
		memset(&ifr, 0, sizeof(ifr));
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(addr);
		if (if_ioctl(s, SIOCSIFADDR, name, &ifr))
			ret = -errno;
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(mask);
		if (!ret && if_ioctl(s, SIOCSIFNETMASK, name, &ifr))
			ret = -errno;
	}
	memset(&ifr, 0, sizeof(ifr));
	if (!ret && if_ioctl(s, SIOCGIFFLAGS, name, &ifr))
		ret = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!ret && if_ioctl(s, SIOCSIFFLAGS, name, &ifr))
		ret = -errno;
	close(s);
	return ret;
}

/* ---- one backend: VM, device, threads, runs ---- */

static void on_stop(struct ev_op *op, int res, uint32_t flags)
{
	(void)res;
	(void)flags;
	evloop_stop(op->opaque);
}

static void *loop_main(void *arg)
{
	struct bench *b = arg;

	pthread_setname_np(pthread_self(), "bench-evloop");
	evloop_run(&b->vm.loop);
	return NULL;
}

/* One connection: handshake, N bytes each way, reset. */
static int drv_connection(struct bench *b, unsigned int run)
{
	struct driver *d = &b->d;
	struct run_result *r = &b->res[run];
	double t;
	int ret;

	d->state = TCP_SYN_SENT;
	d->sport = (uint16_t)(40000 + run);
	d->dport = b->port;
	d->iss = 0x10000000U * (run + 1);
	d->snd_una = d->snd_nxt = d->iss;
	d->to_send = b->o->bytes;
	d->sent = d->received = 0;
	d->unacked = 0;
	resend_syn(d);
	drv_publish(d, TXQ);
	ret = drv_run_phase(d, PH_CONNECT, resend_syn, NULL);
	if (ret || d->state != TCP_ESTABLISHED) {
		fprintf(stderr, "bench-net: run %u: no connection to port %u (%s)\n",
			run + 1, b->port,
			ret ? strerror(-ret) : "reset by the peer");
		return ret ? ret : -ECONNREFUSED;
	}
	r->g2h_t0 = now_s();
	r->g2h_cpu0 = clock_s(b->loop_clock);
	r->g2h_frames0 = dev_frames(b);
	ret = drv_run_phase(d, PH_BULK, NULL, r);
	if (ret || d->state != TCP_ESTABLISHED) {
		fprintf(stderr,
			"bench-net: run %u: %s: sent %llu (acked %llu), received %llu of %llu bytes\n",
			run + 1, ret ? strerror(-ret) : "connection reset",
			(unsigned long long)d->sent,
			(unsigned long long)(d->snd_una - d->iss - 1),
			(unsigned long long)d->received,
			(unsigned long long)d->to_send);
		return ret ? ret : -ECONNRESET;
	}
	drv_send_seg(d, SEG_RST, d->snd_nxt, 0, 0);
	drv_publish(d, TXQ);
	d->state = TCP_CLOSED;
	/* Keep serving the queues until the host has closed its end. */
	for (t = now_s(); !atomic_load(&r->host_done) && now_s() - t < STALL_S;)
		if (!drv_step(d))
			drv_sleep(d, 10);
	if (!atomic_load(&r->host_done) || r->host_err) {
		fprintf(stderr, "bench-net: run %u: host side: %s\n", run + 1,
			r->host_err ? strerror(-r->host_err) :
				      "did not finish");
		return -EIO;
	}
	if (d->data_errors) {
		fprintf(stderr, "bench-net: run %u: the guest received %llu corrupt segments\n",
			run + 1, (unsigned long long)d->data_errors);
		return -EBADMSG;
	}
	return 0;
}

static int bench_backend(const struct opts *o, bool tap, struct bench *b)
{
	struct net_backend *be = NULL;
	struct net_config cfg = { 0 };
	char err[320];
	uint64_t one = 1;
	int ret;

	memset(b, 0, sizeof(*b));
	b->o = o;
	b->tap = tap;
	b->lfd = -1;
	b->d.irq_fd = -1;
	if (tap && unshare(CLONE_NEWNET)) {
		fprintf(stderr, "bench-net: tap: a network namespace of our own: %s (run as root)\n",
			strerror(errno));
		return -errno;
	}
	ret = vm_create(&b->vm, VM_MEM, 1);
	if (ret)
		return ret;
	if (tap) {
		ret = net_tap_create(&b->vm, TAP_NAME, &be, err, sizeof(err));
		if (!ret) {
			ret = if_up("lo", 0, 0);
			if (!ret)
				ret = if_up(TAP_NAME, TAP_HOST, TAP_MASK);
			if (ret) {
				snprintf(err, sizeof(err),
					 "tap %s: bringing it up: %s",
					 TAP_NAME, strerror(-ret));
				be->ops->destroy(be);
			}
		}
		b->host_addr = TAP_HOST;
		b->d.ip = TAP_GUEST;
		b->d.peer_ip = TAP_HOST;
	} else {
		ret = net_slirp_create(&b->vm, "", &cfg, &be, err, sizeof(err));
		b->host_addr = INADDR_LOOPBACK;
		b->d.ip = cfg.ip;
		b->d.peer_ip = cfg.gateway;
	}
	if (ret) {
		fprintf(stderr, "bench-net: %s\n", err);
		goto out;
	}
	ret = vnet_attach(&b->vm, guest_mac, be, &b->net);
	if (ret) {
		be->ops->destroy(be);
		fprintf(stderr, "bench-net: virtio-net: %s\n", strerror(-ret));
		goto out;
	}
	b->t = b->vm.virtio[b->vm.nr_virtio - 1];
	ret = host_listen(b);
	if (ret) {
		fprintf(stderr, "bench-net: listen: %s\n", strerror(-ret));
		goto out;
	}
	ret = drv_init(b);
	if (ret)
		goto out;
	b->stop_op = (struct ev_op){ .cb = on_stop, .opaque = &b->vm.loop };
	evloop_poll(&b->vm.loop, &b->stop_op, b->vm.stop_fd, POLLIN);
	virtio_mmio_start(b->t);
	ret = vnet_start(b->net);
	if (ret)
		goto out;
	ret = -pthread_create(&b->loop_thread, NULL, loop_main, b);
	if (ret)
		goto out;
	pthread_getcpuclockid(b->loop_thread, &b->loop_clock);
	ret = -pthread_create(&b->host_thread, NULL, host_main, b);
	if (ret) {
		b->host_thread = 0;
		goto stop;
	}

	resend_arp(&b->d);
	drv_publish(&b->d, TXQ);
	ret = drv_run_phase(&b->d, PH_ARP, resend_arp, NULL);
	if (ret) {
		fprintf(stderr, "bench-net: no ARP answer from the host side\n");
		goto stop;
	}
	for (unsigned int run = 0; run < o->runs && !ret; run++)
		ret = drv_connection(b, run);
stop:
	if (write(b->vm.stop_fd, &one, sizeof(one)) < 0)
		perror("bench-net: stop");
	pthread_join(b->loop_thread, NULL);
	if (b->host_thread) {
		if (ret)
			shutdown(b->lfd, SHUT_RDWR);
		pthread_join(b->host_thread, NULL);
	}
out:
	if (b->lfd >= 0)
		close(b->lfd);
	return ret;
}

static void bench_free(struct bench *b)
{
	vm_destroy(&b->vm);
	vnet_destroy(b->net);
	b->net = NULL;
}

/* ---- reporting ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void report(const struct opts *o, struct bench *b, const char *name,
		   char *notes, size_t size)
{
	const struct vnet_stats *st = vnet_stats(b->net);
	static const char *const dirs[2] = { "guest→host", "host→guest" };
	size_t len = strlen(notes);

	for (int dir = 0; dir < 2; dir++) {
		double mbs[MAX_RUNS], cpu[MAX_RUNS], us[MAX_RUNS];
		double bound[MAX_RUNS];
		double lo = 1e300, hi = 0;

		for (unsigned int i = 0; i < o->runs; i++) {
			const struct run_result *r = &b->res[i];
			double secs = dir ? r->h2g_t1 - r->h2g_t0 :
					    r->g2h_t1 - r->g2h_t0;
			double c = dir ? r->h2g_cpu1 - r->h2g_cpu0 :
					 r->g2h_cpu1 - r->g2h_cpu0;
			uint64_t fr = dir ? r->h2g_frames1 - r->h2g_frames0 :
					    r->g2h_frames1 - r->g2h_frames0;

			mbs[i] = (double)o->bytes / secs / 1e6;
			cpu[i] = 100.0 * c / secs;
			us[i] = fr ? c * 1e6 / (double)fr : 0;
			bound[i] = (double)o->bytes / c / 1e6;
			lo = mbs[i] < lo ? mbs[i] : lo;
			hi = mbs[i] > hi ? mbs[i] : hi;
		}
		printf("| %s | %s | %.0f | %.0f–%.0f | %.0f%% | %.2f | %.0f |\n",
		       name, dirs[dir], median(mbs, o->runs), lo, hi,
		       median(cpu, o->runs), median(us, o->runs),
		       median(bound, o->runs));
	}
	fflush(stdout);
	snprintf(notes + len, size - len,
		 "%s: peer MSS %u, largest window %u; device: tx %llu frames, rx %llu frames, rx no buffer %llu, tx bad %llu, backend errors %llu; driver: %llu kicks, %llu sleeps, %llu interrupts, %llu out-of-order segments\n",
		 name, b->d.mss, b->d.max_wnd,
		 (unsigned long long)st->tx_frames,
		 (unsigned long long)st->rx_frames,
		 (unsigned long long)st->rx_no_buffer,
		 (unsigned long long)st->tx_bad,
		 (unsigned long long)st->tx_backend_errors,
		 (unsigned long long)b->d.kicks,
		 (unsigned long long)b->d.sleeps,
		 (unsigned long long)b->d.wakeups,
		 (unsigned long long)b->d.ooo);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench-net [-b user|tap|both] [-s MIB] [-r RUNS] [-n]\n"
		"  -b  backend(s): user (libslirp, default), tap (needs root), both\n"
		"  -s  MiB each way per run (default 32)\n"
		"  -r  runs, each a new TCP connection (default 5, at most %d)\n"
		"  -n  do not negotiate EVENT_IDX\n",
		MAX_RUNS);
}

int main(int argc, char **argv)
{
	struct opts o = { .bytes = 32ULL << 20,
			  .runs = 5,
			  .user = true,
			  .event_idx = true };
	struct bench *b;
	char notes[1024] = "";
	int c, status = 0;

	while ((c = getopt(argc, argv, "b:s:r:nh")) != -1) {
		switch (c) {
		case 'b':
			o.user = !strcmp(optarg, "user") ||
				 !strcmp(optarg, "both");
			o.tap = !strcmp(optarg, "tap") ||
				!strcmp(optarg, "both");
			if (!o.user && !o.tap) {
				usage();
				return 2;
			}
			break;
		case 's':
			o.bytes = strtoull(optarg, NULL, 0) << 20;
			break;
		case 'r':
			o.runs = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'n':
			o.event_idx = false;
			break;
		default:
			usage();
			return c == 'h' ? 0 : 2;
		}
	}
	if (o.runs < 1 || o.runs > MAX_RUNS || !o.bytes ||
	    o.bytes > (1ULL << 31)) {
		usage();
		return 2;
	}
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i % PATTERN_PERIOD);
	b = calloc(1, sizeof(*b));
	if (!b)
		return 1;

	printf("virtio-net data path, no guest kernel: a host thread plays the guest driver (ARP, IPv4, a minimal TCP client: MSS %u, fixed %u-byte window, no window scaling, one ACK per receive batch, checksums offloaded to the device)\n",
	       OUR_MSS, OUR_WINDOW);
	printf("each run: one TCP connection, %llu MiB guest→host then %llu MiB host→guest, every byte checked; %u runs, median (min–max)\n",
	       (unsigned long long)(o.bytes >> 20),
	       (unsigned long long)(o.bytes >> 20), o.runs);
	printf("queues: 2 × %u entries, 2 KiB buffers, EVENT_IDX %s; the driver sleeps on the device's interrupt eventfd when idle (KVM's irqfd injection not measured)\n",
	       QSIZE, o.event_idx ? "on" : "off");
	printf("user: host server on 127.0.0.1 (the guest dials 10.0.2.2); tap: a private network namespace, host end 10.1.0.1/24\n");
	printf("loop CPU: minivmm's event-loop thread (device + backend); loop-bound ceiling = bytes / loop CPU time\n\n");
	printf("| backend | direction | MB/s | range | loop CPU | loop CPU µs/frame | loop-bound ceiling MB/s |\n");
	printf("|---|---|---:|---:|---:|---:|---:|\n");
	fflush(stdout);
	if (o.user) {
		if (bench_backend(&o, false, b))
			status = 1;
		else
			report(&o, b, "user (slirp)", notes, sizeof(notes));
		bench_free(b);
	}
	if (o.tap) {
		if (bench_backend(&o, true, b))
			status = 1;
		else
			report(&o, b, "tap", notes, sizeof(notes));
		bench_free(b);
	}
	printf("\n%s", notes);
	free(b);
	return status;
}
