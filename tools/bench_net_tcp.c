// SPDX-License-Identifier: MIT
/*
 * bench-net's guest network stack: just enough ARP, IPv4 and TCP for a
 * bulk client over one connection (see bench_net.c).  Frames go out
 * through the driver's transmit buffers (bench_net_driver.c) and come in
 * through drv_rx_frame().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_arp.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <string.h>

#include "bench_net.h"

#define IP_HDR sizeof(struct iphdr)
#define TCP_HDR sizeof(struct tcphdr)
#define HDRS (ETH_HLEN + IP_HDR + TCP_HDR) /* 54 */
#define IP_DONT_FRAGMENT 0x4000
#define TCPOPT_MSS_KIND 2

static const uint8_t broadcast[ETH_ALEN] = { 0xff, 0xff, 0xff,
					     0xff, 0xff, 0xff };

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

/* ---- ARP ---- */

struct arp_ipv4 {
	struct arphdr h;
	uint8_t sha[ETH_ALEN], sip[4], tha[ETH_ALEN], tip[4];
} __attribute__((packed));

int drv_send_arp(struct driver *d, uint16_t op, const uint8_t *tha,
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


static bool seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

/*
 * One segment of @plen bytes of our stream (from stream offset @off), with
 * the TCP checksum left to the device (VIRTIO_NET_HDR_F_NEEDS_CSUM: the
 * field holds the pseudo-header sum).  Returns 0 or -EAGAIN (no buffer).
 */
int drv_send_seg(struct driver *d, unsigned int flags, uint32_t seq,
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

void drv_send_ack(struct driver *d)
{
	drv_send_seg(d, SEG_ACK, d->snd_nxt, 0, 0);
}

/* Whatever the peer's window and our buffers allow.  Returns segments sent. */
unsigned int drv_send_data(struct driver *d)
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

void drv_rx_frame(struct driver *d, const uint8_t *f, size_t len)
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
