// SPDX-License-Identifier: MIT
/*
 * Test-guest virtio-net driver and a tiny IPv4 stack: ARP for the peer,
 * an ICMP echo, and a UDP exchange with a listener on the host side.  With
 * --net user the peer is slirp's gateway 10.0.2.2 (UDP to it reaches the
 * host's 127.0.0.1); with a tap device it is the host end of the tap.
 */
#include <stddef.h>
#include <stdint.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include <minivmm/guest_abi.h>

#include "guest.h"

#define QSZ 8
#define RXQ 0
#define TXQ 1
#define RING(q) (0x300000UL + (q) * 0x8000UL) /* desc, +4K avail, +8K used */
#define RXBUF(i) (0x320000UL + (i) * 0x800UL) /* 2 KiB receive buffers */
#define TXBUF 0x330000UL
#define HDR 12 /* struct virtio_net_hdr_v1 */
#define ETH_ARP 0x0806
#define ETH_IP 0x0800

static volatile uint32_t *reg(uint64_t off)
{
	return (volatile uint32_t *)(uintptr_t)(MINIVMM_VIRTIO_MMIO_BASE + off);
}

struct q {
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx, used_seen;
};

static struct q qs[2];
static uint8_t my_mac[6], peer_mac[6];
static uint32_t my_ip, peer_ip;

static uint16_t be16(uint16_t v)
{
	return (uint16_t)(v << 8 | v >> 8);
}

static void put32be(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32be(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint16_t csum(const uint8_t *p, unsigned int len)
{
	uint32_t sum = 0;

	for (; len > 1; len -= 2, p += 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (len)
		sum += (uint32_t)(p[0] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void copy(void *d, const void *s, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		((uint8_t *)d)[i] = ((const uint8_t *)s)[i];
}

static void queue_setup(unsigned int i)
{
	struct q *q = &qs[i];

	q->desc = (void *)RING(i);
	q->avail = (void *)(RING(i) + 0x1000);
	q->used = (void *)(RING(i) + 0x2000);
	*reg(VIRTIO_MMIO_QUEUE_SEL) = i;
	*reg(VIRTIO_MMIO_QUEUE_NUM) = QSZ;
	*reg(VIRTIO_MMIO_QUEUE_DESC_LOW) = (uint32_t)(uintptr_t)q->desc;
	*reg(VIRTIO_MMIO_QUEUE_DESC_HIGH) = 0;
	*reg(VIRTIO_MMIO_QUEUE_AVAIL_LOW) = (uint32_t)(uintptr_t)q->avail;
	*reg(VIRTIO_MMIO_QUEUE_AVAIL_HIGH) = 0;
	*reg(VIRTIO_MMIO_QUEUE_USED_LOW) = (uint32_t)(uintptr_t)q->used;
	*reg(VIRTIO_MMIO_QUEUE_USED_HIGH) = 0;
	*reg(VIRTIO_MMIO_QUEUE_READY) = 1;
}

static void rx_post(uint16_t d)
{
	struct q *q = &qs[RXQ];

	q->desc[d] = (struct vring_desc){ RXBUF(d), 0x800, VRING_DESC_F_WRITE, 0 };
	q->avail->ring[q->avail_idx % QSZ] = d;
	__atomic_store_n(&q->avail->idx, ++q->avail_idx, __ATOMIC_RELEASE);
}

static int setup(void)
{
	if (*reg(VIRTIO_MMIO_MAGIC_VALUE) != 0x74726976 ||
	    *reg(VIRTIO_MMIO_DEVICE_ID) != 1)
		return -1;
	*reg(VIRTIO_MMIO_STATUS) = 0;
	*reg(VIRTIO_MMIO_STATUS) = VIRTIO_CONFIG_S_ACKNOWLEDGE;
	*reg(VIRTIO_MMIO_STATUS) =
		VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	*reg(VIRTIO_MMIO_DEVICE_FEATURES_SEL) = 0;
	check(*reg(VIRTIO_MMIO_DEVICE_FEATURES) & (1u << VIRTIO_NET_F_MAC),
	      "virtio-net offers a MAC", 0);
	*reg(VIRTIO_MMIO_DRIVER_FEATURES_SEL) = 0;
	*reg(VIRTIO_MMIO_DRIVER_FEATURES) =
		(1u << VIRTIO_NET_F_MAC) | (1u << VIRTIO_NET_F_STATUS);
	*reg(VIRTIO_MMIO_DRIVER_FEATURES_SEL) = 1;
	*reg(VIRTIO_MMIO_DRIVER_FEATURES) = 1u << (VIRTIO_F_VERSION_1 - 32);
	*reg(VIRTIO_MMIO_STATUS) = VIRTIO_CONFIG_S_ACKNOWLEDGE |
				   VIRTIO_CONFIG_S_DRIVER |
				   VIRTIO_CONFIG_S_FEATURES_OK;
	for (int i = 0; i < 6; i++)
		my_mac[i] = *(volatile uint8_t *)(uintptr_t)(MINIVMM_VIRTIO_MMIO_BASE +
							     0x100 + i);
	check((*(volatile uint16_t *)(uintptr_t)(MINIVMM_VIRTIO_MMIO_BASE + 0x106) &
	       VIRTIO_NET_S_LINK_UP) != 0, "link is up", 0);
	queue_setup(RXQ);
	queue_setup(TXQ);
	*reg(VIRTIO_MMIO_STATUS) =
		VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;
	for (uint16_t d = 0; d < QSZ; d++)
		rx_post(d);
	*reg(VIRTIO_MMIO_QUEUE_NOTIFY) = RXQ;
	return 0;
}

/* Send an Ethernet frame (payload after the 14-byte Ethernet header). */
static void tx(const uint8_t *dst, uint16_t type, const uint8_t *payload,
	       unsigned int len)
{
	struct q *q = &qs[TXQ];
	uint8_t *b = (uint8_t *)TXBUF;

	for (int i = 0; i < HDR; i++)
		b[i] = 0;
	copy(b + HDR, dst, 6);
	copy(b + HDR + 6, my_mac, 6);
	b[HDR + 12] = (uint8_t)(type >> 8);
	b[HDR + 13] = (uint8_t)type;
	copy(b + HDR + 14, payload, len);
	q->desc[0] = (struct vring_desc){ TXBUF, HDR + 14 + len, 0, 0 };
	q->avail->ring[q->avail_idx % QSZ] = 0;
	__atomic_store_n(&q->avail->idx, ++q->avail_idx, __ATOMIC_RELEASE);
	*reg(VIRTIO_MMIO_QUEUE_NOTIFY) = TXQ;
	/* Wait for the device to take it (the buffer is reused). */
	for (unsigned long spin = 0; spin < 100000000UL; spin++) {
		if (__atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE) !=
		    q->used_seen) {
			q->used_seen++;
			return;
		}
		__asm__ volatile("pause");
	}
}

/*
 * Wait for a frame that @match accepts; other frames are dropped.  Returns
 * the frame (Ethernet header first) or NULL after @cycles TSC cycles.
 */
static const uint8_t *rx_wait(int (*match)(const uint8_t *f, unsigned int len),
			      uint64_t cycles, unsigned int *flen)
{
	struct q *q = &qs[RXQ];
	static uint8_t frame[0x800];
	uint64_t start = guest_rdtsc();

	while (guest_rdtsc() - start < cycles) {
		if (__atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE) ==
		    q->used_seen) {
			__asm__ volatile("pause");
			continue;
		}
		struct vring_used_elem *e = &q->used->ring[q->used_seen % QSZ];
		uint16_t d = (uint16_t)e->id;
		unsigned int len = e->len > HDR ? e->len - HDR : 0;

		q->used_seen++;
		if (len > sizeof(frame))
			len = sizeof(frame);
		copy(frame, (const uint8_t *)RXBUF(d) + HDR, len);
		rx_post(d);
		*reg(VIRTIO_MMIO_QUEUE_NOTIFY) = RXQ;
		*reg(VIRTIO_MMIO_INTERRUPT_ACK) = *reg(VIRTIO_MMIO_INTERRUPT_STATUS);
		if (len >= 14 && match(frame, len)) {
			*flen = len;
			return frame;
		}
	}
	return NULL;
}

static int is_arp_reply(const uint8_t *f, unsigned int len)
{
	return len >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[21] == 2 &&
	       get32be(f + 28) == peer_ip;
}

static uint16_t icmp_id = 0x4d56;

static int is_echo_reply(const uint8_t *f, unsigned int len)
{
	return len >= 42 && f[12] == 0x08 && f[13] == 0x00 && f[23] == 1 &&
	       f[34] == 0 && (f[38] << 8 | f[39]) == icmp_id;
}

static uint16_t udp_port = 5555;

static int is_udp_reply(const uint8_t *f, unsigned int len)
{
	return len >= 42 && f[12] == 0x08 && f[13] == 0x00 && f[23] == 17 &&
	       (f[34] << 8 | f[35]) == udp_port;
}

static void ip_header(uint8_t *p, uint8_t proto, unsigned int payload)
{
	static uint16_t ident = 1;
	unsigned int total = 20 + payload;

	for (int i = 0; i < 20; i++)
		p[i] = 0;
	p[0] = 0x45;
	p[2] = (uint8_t)(total >> 8);
	p[3] = (uint8_t)total;
	p[4] = (uint8_t)(ident >> 8);
	p[5] = (uint8_t)ident++;
	p[8] = 64;
	p[9] = proto;
	put32be(p + 12, my_ip);
	put32be(p + 16, peer_ip);
	uint16_t c = csum(p, 20);

	p[10] = (uint8_t)(c >> 8);
	p[11] = (uint8_t)c;
}

void test_net(uint32_t ip, uint32_t peer, uint16_t port)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t pkt[128];
	const uint8_t *f;
	unsigned int len;

	my_ip = ip;
	peer_ip = peer;
	udp_port = port;
	if (setup()) {
		check(0, "virtio-net device at MINIVMM_VIRTIO_MMIO_BASE", 0);
		return;
	}
	/* ARP: who has the peer? */
	uint8_t arp[28] = { 0, 1, 8, 0, 6, 4, 0, 1 };

	copy(arp + 8, my_mac, 6);
	put32be(arp + 14, my_ip);
	put32be(arp + 24, peer_ip);
	tx(bcast, ETH_ARP, arp, sizeof(arp));
	f = rx_wait(is_arp_reply, 10000000000ULL, &len);
	check(f != NULL, "ARP reply from the peer", 0);
	if (!f)
		return;
	copy(peer_mac, f + 22, 6);

	/* ICMP echo. */
	ip_header(pkt, 1, 8 + 16);
	uint8_t *icmp = pkt + 20;

	for (int i = 0; i < 24; i++)
		icmp[i] = (uint8_t)(i < 8 ? 0 : 'a' + i);
	icmp[0] = 8;
	icmp[4] = (uint8_t)(icmp_id >> 8);
	icmp[5] = (uint8_t)icmp_id;
	icmp[7] = 1;
	uint16_t c = csum(icmp, 24);

	icmp[2] = (uint8_t)(c >> 8);
	icmp[3] = (uint8_t)c;
	tx(peer_mac, ETH_IP, pkt, 44);
	f = rx_wait(is_echo_reply, 10000000000ULL, &len);
	check(f != NULL, "ICMP echo reply from the peer", 0);

	/* UDP to a listener on the host, which answers "pong:" + payload. */
	static const char msg[] = "minivmm-udp-ping";
	unsigned int plen = sizeof(msg) - 1;

	ip_header(pkt, 17, 8 + plen);
	uint8_t *udp = pkt + 20;

	udp[0] = (uint8_t)(udp_port >> 8); /* source port = dest port */
	udp[1] = (uint8_t)udp_port;
	udp[2] = (uint8_t)(udp_port >> 8);
	udp[3] = (uint8_t)udp_port;
	udp[4] = 0;
	udp[5] = (uint8_t)(8 + plen);
	udp[6] = udp[7] = 0; /* no checksum (allowed for IPv4) */
	copy(udp + 8, msg, plen);
	tx(peer_mac, ETH_IP, pkt, 20 + 8 + plen);
	f = rx_wait(is_udp_reply, 10000000000ULL, &len);
	check(f && len >= 42 + 5 && f[42] == 'p' && f[43] == 'o' && f[44] == 'n' &&
		      f[45] == 'g' && f[46] == ':',
	      "UDP answer from the host listener", f ? len : 0);
	(void)be16;
}
