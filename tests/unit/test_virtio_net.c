// SPDX-License-Identifier: MIT
/*
 * virtio-net against a fake backend, on a real KVM VM (the transport wants
 * the VM fd for its ioeventfds and irqfd).  The test is the driver: it
 * negotiates through the register model, lays out both rings and their
 * buffers in guest memory, and notifies the device the way the event loop
 * would (the device's notify op under the transport lock).  It is also the
 * backend's far side: it records what the device sends, refuses on demand,
 * and injects frames through the backend's rx ops.  One test takes the real
 * path instead: kick eventfds polled by the event loop.
 * Skipped when /dev/kvm cannot be opened.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "devices/virtio_mmio.h"
#include "devices/virtio_net.h"
#include "vmm/vm.h"

#define MEM_SIZE (16ULL << 20)
#define QSIZE 8
#define RXQ 0
#define TXQ 1
#define HDR_LEN 12 /* struct virtio_net_hdr_v1 */
#define MAX_FRAME 65550 /* the device's limit */
#define NEEDS_RESET 0x40
#define CONFIG_OFF 0x100 /* device config space in the MMIO window */

/*
 * Queue q's rings at RING_GPA + q * 0x10000 (descriptors, then avail at
 * +0x1000, used at +0x2000); descriptor i's buffer in its own page at
 * BUF_GPA + q * 0x10000 + i * 0x1000; one large buffer at BIG_GPA.
 */
#define RING_GPA 0x10000ULL
#define BUF_GPA 0x100000ULL
#define BIG_GPA 0x400000ULL

static const uint8_t test_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

/* ---- the fake backend ---- */

#define FAKE_FRAMES 4

struct fake_net {
	struct net_backend be;
	int send_ret; /* what send() answers; 0 records the frame */
	unsigned int send_calls;
	unsigned int nframes; /* frames recorded (accepted) */
	size_t len[FAKE_FRAMES];
	unsigned int rx_ready_calls, start_calls, destroy_calls;
};

/* Recorded frames, indexed by nframes % FAKE_FRAMES. */
static uint8_t fake_frames[FAKE_FRAMES][MAX_FRAME + 16];

static struct fake_net *fake_of(struct net_backend *be)
{
	return (struct fake_net *)be;
}

static int fake_send(struct net_backend *be, const struct iovec *iov,
		     int iovcnt)
{
	struct fake_net *f = fake_of(be);
	uint8_t *dst = fake_frames[f->nframes % FAKE_FRAMES];
	size_t len = 0;

	f->send_calls++;
	if (f->send_ret)
		return f->send_ret;
	for (int i = 0; i < iovcnt; i++) {
		/* Never more than the device promised to send. */
		cr_assert_leq(len + iov[i].iov_len, (size_t)MAX_FRAME);
		memcpy(dst + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	f->len[f->nframes % FAKE_FRAMES] = len;
	f->nframes++;
	return 0;
}

static void fake_rx_ready(struct net_backend *be)
{
	fake_of(be)->rx_ready_calls++;
}

static int fake_start(struct net_backend *be)
{
	fake_of(be)->start_calls++;
	return 0;
}

static void fake_destroy(struct net_backend *be)
{
	fake_of(be)->destroy_calls++;
}

static const struct net_backend_ops fake_ops = {
	.name = "fake",
	.send = fake_send,
	.rx_ready = fake_rx_ready,
	.start = fake_start,
	.destroy = fake_destroy,
};

/* ---- the environment ---- */

struct net_env {
	struct vm vm;
	bool vm_made;
	struct vnet *n;
	struct virtio_mmio *t;
	struct fake_net fake;
	uint16_t avail_idx[2]; /* the driver's next avail index per queue */
	uint16_t used_seen[2]; /* used elements the test has looked at */
};

static struct net_env env;

static void *gpa(uint64_t a, uint64_t len)
{
	void *p = gm_ptr(&env.vm.mem, a, len);

	cr_assert_not_null(p, "gpa %#llx", (unsigned long long)a);
	return p;
}

static uint64_t ring_gpa(unsigned int q)
{
	return RING_GPA + 0x10000ULL * q;
}

static uint64_t buf_gpa(unsigned int q, unsigned int d)
{
	return BUF_GPA + 0x10000ULL * q + 0x1000ULL * d;
}

static struct vring_desc *desc(unsigned int q, unsigned int i)
{
	return (struct vring_desc *)gpa(ring_gpa(q), 16 * QSIZE) + i;
}

static struct vring_avail *avail(unsigned int q)
{
	return gpa(ring_gpa(q) + 0x1000, 6 + 2 * QSIZE);
}

static struct vring_used *used(unsigned int q)
{
	return gpa(ring_gpa(q) + 0x2000, 6 + 8 * QSIZE);
}

static uint32_t reg_read(uint64_t off)
{
	uint32_t v;

	pthread_mutex_lock(&env.t->lock);
	v = virtio_mmio_reg_read(env.t, off);
	pthread_mutex_unlock(&env.t->lock);
	return v;
}

static void reg_write(uint64_t off, uint32_t val)
{
	pthread_mutex_lock(&env.t->lock);
	virtio_mmio_reg_write(env.t, off, val);
	pthread_mutex_unlock(&env.t->lock);
}

/* Driver initialisation (§3.1.1): both queues, QSIZE entries each. */
static void driver_init(void)
{
	uint64_t f = (1ULL << VIRTIO_F_VERSION_1) |
		     (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_CSUM) |
		     (1ULL << VIRTIO_NET_F_GUEST_CSUM);
	uint32_t st = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	for (unsigned int q = 0; q < 2; q++) {
		memset(gpa(ring_gpa(q), 0x3000), 0, 0x3000);
		env.avail_idx[q] = env.used_seen[q] = 0;
	}
	reg_write(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	reg_write(VIRTIO_MMIO_STATUS, st);
	reg_write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	reg_write(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	reg_write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	reg_write(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
	st |= VIRTIO_CONFIG_S_FEATURES_OK;
	reg_write(VIRTIO_MMIO_STATUS, st);
	cr_assert_eq(reg_read(VIRTIO_MMIO_STATUS), st);
	for (unsigned int q = 0; q < 2; q++) {
		uint64_t r = ring_gpa(q);

		reg_write(VIRTIO_MMIO_QUEUE_SEL, q);
		cr_assert_geq(reg_read(VIRTIO_MMIO_QUEUE_NUM_MAX), QSIZE);
		reg_write(VIRTIO_MMIO_QUEUE_NUM, QSIZE);
		reg_write(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)r);
		reg_write(VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
		reg_write(VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)(r + 0x1000));
		reg_write(VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
		reg_write(VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)(r + 0x2000));
		reg_write(VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
		reg_write(VIRTIO_MMIO_QUEUE_READY, 1);
		cr_assert_eq(reg_read(VIRTIO_MMIO_QUEUE_READY), 1);
	}
	st |= VIRTIO_CONFIG_S_DRIVER_OK;
	reg_write(VIRTIO_MMIO_STATUS, st);
	cr_assert_eq(reg_read(VIRTIO_MMIO_STATUS), st);
}

static void net_setup(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		cr_skip_test("no KVM: /dev/kvm: %s", strerror(errno));
	close(fd);

	cr_assert_eq(vm_create(&env.vm, MEM_SIZE, 1), 0);
	env.vm_made = true;
	env.fake.be = (struct net_backend){ .ops = &fake_ops, .vm = &env.vm };
	cr_assert_eq(vnet_attach(&env.vm, test_mac, &env.fake.be, &env.n), 0);
	cr_assert_eq(vnet_backend(env.n), &env.fake.be);
	env.t = env.vm.virtio[env.vm.nr_virtio - 1];
	driver_init();
}

static void net_teardown(void)
{
	if (env.vm_made)
		vm_destroy(&env.vm);
	if (env.n) {
		vnet_destroy(env.n);
		cr_assert_eq(env.fake.destroy_calls, 1);
	}
	memset(&env, 0, sizeof(env));
}

TestSuite(vnet, .fini = net_teardown, .timeout = 30);

/* ---- the driver side ---- */

static const struct vnet_stats *stats(void)
{
	return vnet_stats(env.n);
}

static void set_desc(unsigned int q, unsigned int i, uint64_t addr,
		     uint32_t len, uint16_t flags, uint16_t next)
{
	*desc(q, i) = (struct vring_desc){
		.addr = addr, .len = len, .flags = flags, .next = next
	};
}

static void publish(unsigned int q, uint16_t head)
{
	avail(q)->ring[env.avail_idx[q] % QSIZE] = head;
	env.avail_idx[q]++;
	__atomic_store_n(&avail(q)->idx, env.avail_idx[q], __ATOMIC_RELEASE);
}

/* What the kick callback does on the loop thread, done here. */
static void notify(unsigned int q)
{
	pthread_mutex_lock(&env.t->lock);
	env.t->ops->notify(env.t->dev, q);
	pthread_mutex_unlock(&env.t->lock);
}

static uint16_t used_idx(unsigned int q)
{
	return __atomic_load_n(&used(q)->idx, __ATOMIC_ACQUIRE);
}

/* The next used element of @q, which must be there. */
static struct vring_used_elem next_used(unsigned int q)
{
	cr_assert_neq(used_idx(q), env.used_seen[q], "queue %u: nothing used",
		      q);
	return used(q)->ring[env.used_seen[q]++ % QSIZE];
}

static void expect_used(unsigned int q, uint16_t id, uint32_t len)
{
	struct vring_used_elem e = next_used(q);

	cr_assert_eq(e.id, id, "queue %u: used id %u, want %u", q, e.id, id);
	cr_assert_eq(e.len, len, "queue %u: used len %u, want %u", q, e.len,
		     len);
}

static void expect_nothing_used(unsigned int q)
{
	cr_assert_eq(used_idx(q), env.used_seen[q], "queue %u: used idx %u",
		     q, used_idx(q));
}

static int inject(const void *frame, size_t len)
{
	return env.fake.be.rx->receive(env.fake.be.rx_dev, frame, len);
}

/* ---- frames ---- */

/* An Ethernet frame to us, with a payload pattern keyed by @seed. */
static void make_frame(uint8_t *f, size_t len, unsigned int seed)
{
	static const uint8_t src[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };

	cr_assert_geq(len, 14);
	memcpy(f, test_mac, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x88; /* a local experimental EtherType: 0x88b5 */
	f[13] = 0xb5;
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)(i * 13 + seed * 101 + 7);
}

/*
 * The reference sum: bytes as big-endian 16-bit words (an odd last byte
 * padded with zero), added into 64 bits, folded only at the end.
 */
static uint16_t ref_sum(const uint8_t *p, size_t len, uint64_t sum)
{
	for (size_t i = 0; i < len; i++)
		sum += (i & 1) ? p[i] : (uint64_t)p[i] << 8;
	while (sum > 0xffff)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* A complemented checksum; zero goes out as 0xffff (RFC 768). */
static uint16_t ref_final(uint16_t sum)
{
	uint16_t c = (uint16_t)~sum;

	return c ? c : 0xffff;
}

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

#define UDP_START 34 /* Ethernet 14 + IPv4 20 */
#define UDP_CSUM_OFF 6 /* offsetof(struct udphdr, check) */

/* The IPv4 pseudo-header's sum for the UDP datagram in @f. */
static uint16_t udp4_pseudo_sum(const uint8_t *f)
{
	uint8_t ph[12];

	memcpy(ph, f + 26, 8); /* source and destination addresses */
	ph[8] = 0;
	ph[9] = 17;
	memcpy(ph + 10, f + UDP_START + 4, 2); /* UDP length */
	return ref_sum(ph, sizeof(ph), 0);
}

/*
 * A UDP/IPv4 frame with @plen payload bytes from @payload (or a pattern),
 * its checksum field holding the pseudo-header sum as a driver leaves it
 * for VIRTIO_NET_HDR_F_NEEDS_CSUM.  Returns the frame length.
 */
static size_t make_udp4(uint8_t *f, const uint8_t *payload, size_t plen)
{
	size_t len = UDP_START + 8 + plen;

	make_frame(f, 14, 0);
	f[12] = 0x08;
	f[13] = 0x00;
	memset(f + 14, 0, 20);
	f[14] = 0x45;
	put_be16(f + 16, (uint16_t)(20 + 8 + plen));
	f[22] = 64; /* TTL */
	f[23] = 17; /* UDP */
	memcpy(f + 26, (const uint8_t[]){ 10, 0, 2, 15 }, 4);
	memcpy(f + 30, (const uint8_t[]){ 192, 168, 7, 250 }, 4);
	put_be16(f + 24, ref_final(ref_sum(f + 14, 20, 0)));
	put_be16(f + UDP_START, 40000);
	put_be16(f + UDP_START + 2, 53);
	put_be16(f + UDP_START + 4, (uint16_t)(8 + plen));
	for (size_t i = 0; i < plen; i++)
		f[UDP_START + 8 + i] = payload ? payload[i] :
						 (uint8_t)(i * 29 + 3);
	put_be16(f + UDP_START + UDP_CSUM_OFF, udp4_pseudo_sum(f));
	return len;
}

/* The UDP checksum @f should carry, computed from scratch. */
static uint16_t udp4_ref_csum(const uint8_t *f, size_t len)
{
	uint8_t seg[MAX_FRAME];
	size_t n = len - UDP_START;

	memcpy(seg, f + UDP_START, n);
	put_be16(seg + UDP_CSUM_OFF, 0);
	return ref_final(ref_sum(seg, n, udp4_pseudo_sum(f)));
}

/* What a receiver checks: pseudo-header plus datagram sum to all ones. */
static bool udp4_verifies(const uint8_t *f, size_t len)
{
	return ref_sum(f + UDP_START, len - UDP_START, udp4_pseudo_sum(f)) ==
	       0xffff;
}

/* ---- tx chains ---- */

/*
 * Put header @h and frame @f on the tx queue as a chain of readable
 * descriptors from @d on, segment k of @seg[k] bytes in descriptor d+k's
 * page.  Returns the head.
 */
static uint16_t tx_chain(uint16_t d, const struct virtio_net_hdr_v1 *h,
			 const uint8_t *f, size_t len, const uint32_t *seg,
			 unsigned int nseg)
{
	static uint8_t all[HDR_LEN + MAX_FRAME];
	size_t off = 0;

	cr_assert_leq(len, sizeof(all) - HDR_LEN);
	memcpy(all, h, HDR_LEN);
	memcpy(all + HDR_LEN, f, len);
	for (unsigned int k = 0; k < nseg; k++) {
		uint64_t a = buf_gpa(TXQ, d + k);

		cr_assert_leq(seg[k], 0x1000);
		memcpy(gpa(a, seg[k]), all + off, seg[k]);
		off += seg[k];
		set_desc(TXQ, d + k, a, seg[k],
			 k + 1 < nseg ? VRING_DESC_F_NEXT : 0,
			 (uint16_t)(d + k + 1));
	}
	cr_assert_eq(off, HDR_LEN + len, "segments do not cover the frame");
	return d;
}

/* Header and frame as two descriptors split @first bytes in. */
static uint16_t tx_two(uint16_t d, const struct virtio_net_hdr_v1 *h,
		       const uint8_t *f, size_t len, uint32_t first)
{
	uint32_t seg[2] = { first, (uint32_t)(HDR_LEN + len - first) };

	return tx_chain(d, h, f, len, seg, 2);
}

static void expect_sent(unsigned int i, const uint8_t *f, size_t len)
{
	cr_assert_gt(env.fake.nframes, i);
	cr_assert_eq(env.fake.len[i % FAKE_FRAMES], len, "frame %u: %zu bytes",
		     i, env.fake.len[i % FAKE_FRAMES]);
	cr_assert_arr_eq(fake_frames[i % FAKE_FRAMES], f, len);
}

static const struct virtio_net_hdr_v1 plain_hdr = {
	.gso_type = VIRTIO_NET_HDR_GSO_NONE,
};

/* ---- rx chains ---- */

/*
 * Post a receive buffer: writable descriptors from @d on, segment k of
 * @seg[k] bytes in descriptor d+k's page, filled with 0xee.
 */
static uint16_t rx_post(uint16_t d, const uint32_t *seg, unsigned int nseg)
{
	for (unsigned int k = 0; k < nseg; k++) {
		uint64_t a = buf_gpa(RXQ, d + k);

		memset(gpa(a, 0x1000), 0xee, 0x1000);
		set_desc(RXQ, d + k, a, seg[k],
			 VRING_DESC_F_WRITE |
				 (k + 1 < nseg ? VRING_DESC_F_NEXT : 0),
			 (uint16_t)(d + k + 1));
	}
	publish(RXQ, d);
	return d;
}

static uint16_t rx_post_one(uint16_t d, uint32_t len)
{
	return rx_post(d, &len, 1);
}

/* Gather @len bytes of the buffer posted by rx_post(@d, @seg, @nseg). */
static void rx_gather(uint16_t d, const uint32_t *seg, unsigned int nseg,
		      uint8_t *out, size_t len)
{
	size_t off = 0;

	for (unsigned int k = 0; k < nseg && off < len; k++) {
		size_t n = seg[k] < len - off ? seg[k] : len - off;

		memcpy(out + off, gpa(buf_gpa(RXQ, d + k), n), n);
		off += n;
	}
	cr_assert_eq(off, len);
}

/* Check a received header: checksum valid, one buffer, nothing else. */
static void expect_rx_hdr(const uint8_t *p)
{
	struct virtio_net_hdr_v1 h;

	memcpy(&h, p, sizeof(h));
	cr_assert_eq(h.flags, VIRTIO_NET_HDR_F_DATA_VALID);
	cr_assert_eq(h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	cr_assert_eq(h.hdr_len, 0);
	cr_assert_eq(h.gso_size, 0);
	cr_assert_eq(h.csum_start, 0);
	cr_assert_eq(h.csum_offset, 0);
	cr_assert_eq(h.num_buffers, 1);
}

/* ==== vnet_fill_csum() ==== */

Test(csum, udp4_with_pseudo_header)
{
	static uint8_t f[2048];

	/* Even and odd payloads, from empty to a full Ethernet frame. */
	for (size_t plen = 0; plen <= 1472; plen += (plen < 40 ? 1 : 97)) {
		size_t len = make_udp4(f, NULL, plen);
		uint16_t want = udp4_ref_csum(f, len);

		cr_assert_eq(vnet_fill_csum(f, len, UDP_START, UDP_CSUM_OFF),
			     0);
		cr_assert_eq(get_be16(f + UDP_START + UDP_CSUM_OFF), want,
			     "payload %zu: %#x, want %#x", plen,
			     get_be16(f + UDP_START + UDP_CSUM_OFF), want);
		cr_assert(udp4_verifies(f, len), "payload %zu", plen);
	}
}

Test(csum, udp4_zero_goes_out_as_all_ones)
{
	uint8_t f[64], payload[2] = { 0, 0 };
	size_t len = make_udp4(f, payload, 2);
	uint16_t s, w;

	/*
	 * Choose the payload word that makes the datagram's sum all ones,
	 * so its complement is 0: in UDP that means "no checksum" (and is
	 * invalid over IPv6), so it must be sent as 0xffff (RFC 768).
	 */
	put_be16(f + UDP_START + UDP_CSUM_OFF, 0);
	s = ref_sum(f + UDP_START, len - UDP_START, udp4_pseudo_sum(f));
	w = (uint16_t)(0xffff - s);
	put_be16(f + UDP_START + 8, w);
	cr_assert_eq(ref_sum(f + UDP_START, len - UDP_START,
			     udp4_pseudo_sum(f)),
		     0xffff);
	put_be16(f + UDP_START + UDP_CSUM_OFF, udp4_pseudo_sum(f));
	cr_assert_eq(vnet_fill_csum(f, len, UDP_START, UDP_CSUM_OFF), 0);
	cr_assert_eq(get_be16(f + UDP_START + UDP_CSUM_OFF), 0xffff);
	cr_assert(udp4_verifies(f, len));
}

Test(csum, known_answers_with_odd_lengths)
{
	/* One byte after the field: 0x1200 -> ~ = 0xedff. */
	uint8_t a[3] = { 0, 0, 0x12 };
	/* Carries: 0xffff + 0xffff + 0x0100 = 0x200fe -> 0x0100 -> 0xfeff. */
	uint8_t b[7] = { 0, 0, 0xff, 0xff, 0xff, 0xff, 0x01 };
	/* Start 1, field at start + 2: words 0xaa00 0x0000 0x1100 (padded). */
	uint8_t c[6] = { 0x77, 0xaa, 0x00, 0x00, 0x00, 0x11 };

	cr_assert_eq(vnet_fill_csum(a, sizeof(a), 0, 0), 0);
	cr_assert_eq(get_be16(a), 0xedff);
	cr_assert_eq(a[2], 0x12);
	cr_assert_eq(vnet_fill_csum(b, sizeof(b), 0, 0), 0);
	cr_assert_eq(get_be16(b), 0xfeff);
	cr_assert_eq(vnet_fill_csum(c, sizeof(c), 1, 2), 0);
	cr_assert_eq(get_be16(c + 3), (uint16_t)~(0xaa00 + 0x1100));
	cr_assert_eq(c[0], 0x77);
}

Test(csum, matches_reference_for_every_small_shape)
{
	uint8_t f[67], g[67];

	/* Every length, start and even offset in a 67-byte frame. */
	for (size_t len = 2; len <= sizeof(f); len++) {
		for (size_t start = 0; start + 2 <= len; start++) {
			for (size_t off = 0; start + off + 2 <= len; off += 2) {
				uint16_t want;

				for (size_t i = 0; i < len; i++)
					f[i] = (uint8_t)(i * 37 + len * 11 +
							 start);
				memcpy(g, f, len);
				want = ref_final(
					ref_sum(f + start, len - start, 0));
				cr_assert_eq(vnet_fill_csum(f, len,
							    (uint16_t)start,
							    (uint16_t)off),
					     0);
				cr_assert_eq(get_be16(f + start + off), want,
					     "len %zu start %zu off %zu", len,
					     start, off);
				/* Nothing else touched. */
				put_be16(f + start + off,
					 get_be16(g + start + off));
				cr_assert_arr_eq(f, g, len);
				/* A zeroed field then verifies. */
				put_be16(f + start + off, 0);
				vnet_fill_csum(f, len, (uint16_t)start,
					       (uint16_t)off);
				cr_assert_eq(ref_sum(f + start, len - start, 0),
					     0xffff);
			}
		}
	}
}

Test(csum, offsets_outside_the_frame)
{
	uint8_t f[100], g[100];

	for (size_t i = 0; i < sizeof(f); i++)
		f[i] = (uint8_t)i;
	memcpy(g, f, sizeof(f));
	/* The start at or past the end. */
	cr_assert_eq(vnet_fill_csum(f, 100, 100, 0), -EINVAL);
	cr_assert_eq(vnet_fill_csum(f, 100, 101, 0), -EINVAL);
	cr_assert_eq(vnet_fill_csum(f, 100, 0xffff, 0xffff), -EINVAL);
	/* The field's second byte one past the end. */
	cr_assert_eq(vnet_fill_csum(f, 100, 99, 0), -EINVAL);
	cr_assert_eq(vnet_fill_csum(f, 100, 90, 9), -EINVAL);
	cr_assert_eq(vnet_fill_csum(f, 100, 0, 99), -EINVAL);
	/* Offsets whose sum would wrap 16 bits. */
	cr_assert_eq(vnet_fill_csum(f, 100, 10, 0xfffe), -EINVAL);
	cr_assert_eq(vnet_fill_csum(f, 100, 0, 0xffff), -EINVAL);
	cr_assert_eq(vnet_fill_csum(f, 0, 0, 0), -EINVAL);
	cr_assert_eq(vnet_fill_csum(f, 1, 0, 0), -EINVAL);
	cr_assert_arr_eq(f, g, sizeof(f));
	/* The last two bytes are still a valid place. */
	cr_assert_eq(vnet_fill_csum(f, 100, 90, 8), 0);
	cr_assert_eq(vnet_fill_csum(f, 100, 0, 98), 0);
}

/* ==== transmit ==== */

Test(vnet, tx_plain_frames_reach_the_backend)
{
	uint8_t f[1000];

	net_setup();
	/* Header and the first 20 bytes, then the rest. */
	make_frame(f, 60, 1);
	tx_two(0, &plain_hdr, f, 60, HDR_LEN + 20);
	publish(TXQ, 0);
	notify(TXQ);
	expect_used(TXQ, 0, 0);
	cr_assert_eq(env.fake.nframes, 1);
	expect_sent(0, f, 60);
	/* The header itself split 6 + 6 + frame. */
	make_frame(f, sizeof(f), 2);
	tx_two(2, &plain_hdr, f, sizeof(f), 6);
	{
		uint32_t seg[3] = { 6, 6, sizeof(f) };

		tx_chain(4, &plain_hdr, f, sizeof(f), seg, 3);
	}
	publish(TXQ, 2);
	publish(TXQ, 4);
	notify(TXQ);
	expect_used(TXQ, 2, 0);
	expect_used(TXQ, 4, 0);
	expect_nothing_used(TXQ);
	expect_sent(1, f, sizeof(f));
	expect_sent(2, f, sizeof(f));
	cr_assert_eq(stats()->tx_frames, 3);
	cr_assert_eq(stats()->tx_bytes, 60 + 2 * sizeof(f));
	cr_assert_eq(stats()->tx_bad, 0);
	cr_assert_eq(stats()->csum_filled, 0);
	cr_assert_eq(env.fake.be.tx_frames, 3);
	/* Nothing came back on the receive side. */
	expect_nothing_used(RXQ);
}

Test(vnet, tx_needs_csum_is_filled)
{
	uint8_t f[400], want[400];
	struct virtio_net_hdr_v1 h = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = VIRTIO_NET_HDR_GSO_NONE,
		.csum_start = UDP_START,
		.csum_offset = UDP_CSUM_OFF,
	};
	size_t len = make_udp4(f, NULL, 301); /* odd */

	net_setup();
	memcpy(want, f, len);
	put_be16(want + UDP_START + UDP_CSUM_OFF, udp4_ref_csum(f, len));
	tx_two(0, &h, f, len, HDR_LEN + 40);
	publish(TXQ, 0);
	notify(TXQ);
	expect_used(TXQ, 0, 0);
	expect_sent(0, want, len);
	cr_assert(udp4_verifies(fake_frames[0], len));
	cr_assert_eq(stats()->csum_filled, 1);
	cr_assert_eq(stats()->tx_frames, 1);
	/* Without the flag the field goes out as the driver left it. */
	tx_two(2, &plain_hdr, f, len, HDR_LEN);
	publish(TXQ, 2);
	notify(TXQ);
	expect_used(TXQ, 2, 0);
	expect_sent(1, f, len);
	cr_assert_eq(stats()->csum_filled, 1);
}

Test(vnet, tx_needs_csum_outside_the_frame_is_bad)
{
	uint8_t f[60];
	struct virtio_net_hdr_v1 h = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = VIRTIO_NET_HDR_GSO_NONE,
		.csum_start = 40,
		.csum_offset = 19, /* field at 59..60: one byte past */
	};

	net_setup();
	make_frame(f, sizeof(f), 3);
	tx_two(0, &h, f, sizeof(f), HDR_LEN);
	publish(TXQ, 0);
	h.csum_start = 60;
	h.csum_offset = 0;
	tx_two(2, &h, f, sizeof(f), HDR_LEN);
	publish(TXQ, 2);
	notify(TXQ);
	expect_used(TXQ, 0, 0);
	expect_used(TXQ, 2, 0);
	cr_assert_eq(env.fake.send_calls, 0);
	cr_assert_eq(stats()->tx_bad, 2);
	cr_assert_eq(stats()->csum_filled, 0);
	cr_assert_eq(stats()->tx_frames, 0);
}

Test(vnet, tx_gso_frame_is_dropped_and_completed)
{
	uint8_t f[1514];
	struct virtio_net_hdr_v1 h = {
		.gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		.hdr_len = 54,
		.gso_size = 1448,
	};

	net_setup();
	make_frame(f, sizeof(f), 4);
	tx_two(0, &h, f, sizeof(f), HDR_LEN);
	publish(TXQ, 0);
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	tx_two(2, &h, f, sizeof(f), HDR_LEN);
	publish(TXQ, 2);
	notify(TXQ);
	expect_used(TXQ, 0, 0);
	expect_used(TXQ, 2, 0);
	cr_assert_eq(env.fake.send_calls, 0);
	cr_assert_eq(stats()->tx_bad, 2);
	cr_assert_eq(stats()->tx_frames, 0);
	/* The queue goes on. */
	tx_two(4, &plain_hdr, f, 100, HDR_LEN + 14);
	publish(TXQ, 4);
	notify(TXQ);
	expect_used(TXQ, 4, 0);
	expect_sent(0, f, 100);
}

Test(vnet, tx_short_header_or_frame_is_dropped)
{
	uint8_t f[14];

	net_setup();
	/* Ten bytes: not even a header. */
	memset(gpa(buf_gpa(TXQ, 0), 16), 0, 16);
	set_desc(TXQ, 0, buf_gpa(TXQ, 0), 10, 0, 0);
	publish(TXQ, 0);
	/* Six and five bytes over two descriptors: still short. */
	set_desc(TXQ, 1, buf_gpa(TXQ, 1), 6, VRING_DESC_F_NEXT, 2);
	set_desc(TXQ, 2, buf_gpa(TXQ, 2), 5, 0, 0);
	publish(TXQ, 1);
	/* A header and nothing after it. */
	set_desc(TXQ, 3, buf_gpa(TXQ, 3), HDR_LEN, 0, 0);
	publish(TXQ, 3);
	/* A header and 13 bytes: less than an Ethernet header. */
	make_frame(f, sizeof(f), 5);
	tx_two(4, &plain_hdr, f, 13, HDR_LEN);
	publish(TXQ, 4);
	notify(TXQ);
	expect_used(TXQ, 0, 0);
	expect_used(TXQ, 1, 0);
	expect_used(TXQ, 3, 0);
	expect_used(TXQ, 4, 0);
	expect_nothing_used(TXQ);
	cr_assert_eq(env.fake.send_calls, 0);
	cr_assert_eq(stats()->tx_bad, 4);
	/* Exactly an Ethernet header is a frame. */
	tx_two(6, &plain_hdr, f, 14, HDR_LEN);
	publish(TXQ, 6);
	notify(TXQ);
	expect_used(TXQ, 6, 0);
	expect_sent(0, f, 14);
}

Test(vnet, tx_writable_descriptor_is_bad)
{
	uint8_t f[100];

	net_setup();
	make_frame(f, sizeof(f), 6);
	/* A good frame followed by a buffer for the device to write. */
	tx_two(0, &plain_hdr, f, sizeof(f), HDR_LEN);
	desc(TXQ, 1)->flags |= VRING_DESC_F_NEXT;
	desc(TXQ, 1)->next = 2;
	set_desc(TXQ, 2, buf_gpa(TXQ, 2), 64, VRING_DESC_F_WRITE, 0);
	publish(TXQ, 0);
	/* Writable first, then the frame (out of order, §2.7.4.2). */
	set_desc(TXQ, 3, buf_gpa(TXQ, 3), 64,
		 VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 4);
	tx_two(4, &plain_hdr, f, sizeof(f), HDR_LEN);
	publish(TXQ, 3);
	/* Only a writable buffer. */
	set_desc(TXQ, 6, buf_gpa(TXQ, 6), 200, VRING_DESC_F_WRITE, 0);
	publish(TXQ, 6);
	notify(TXQ);
	expect_used(TXQ, 0, 0);
	expect_used(TXQ, 3, 0);
	expect_used(TXQ, 6, 0);
	cr_assert_eq(env.fake.send_calls, 0);
	cr_assert_eq(stats()->tx_bad, 3);
	cr_assert_eq(stats()->tx_frames, 0);
}

Test(vnet, tx_broken_chains_are_completed)
{
	uint8_t f[100];

	net_setup();
	make_frame(f, sizeof(f), 7);
	/* A loop: 0 -> 1 -> 0. */
	tx_two(0, &plain_hdr, f, sizeof(f), HDR_LEN);
	desc(TXQ, 1)->flags |= VRING_DESC_F_NEXT;
	desc(TXQ, 1)->next = 0;
	publish(TXQ, 0);
	/* A descriptor pointing at itself. */
	set_desc(TXQ, 2, buf_gpa(TXQ, 2), 64, VRING_DESC_F_NEXT, 2);
	publish(TXQ, 2);
	/* Next index out of range. */
	set_desc(TXQ, 3, buf_gpa(TXQ, 3), 64, VRING_DESC_F_NEXT, QSIZE);
	publish(TXQ, 3);
	/* A buffer leaving RAM, and one whose end wraps 64 bits. */
	set_desc(TXQ, 4, MEM_SIZE - 32, 200, 0, 0);
	publish(TXQ, 4);
	set_desc(TXQ, 5, 0xfffffffffffff000ULL, 0x2000, 0, 0);
	publish(TXQ, 5);
	/* A head out of range. */
	publish(TXQ, QSIZE + 1);
	notify(TXQ);
	expect_used(TXQ, 0, 0);
	expect_used(TXQ, 2, 0);
	expect_used(TXQ, 3, 0);
	expect_used(TXQ, 4, 0);
	expect_used(TXQ, 5, 0);
	expect_used(TXQ, QSIZE + 1, 0);
	expect_nothing_used(TXQ);
	cr_assert_eq(env.fake.send_calls, 0);
	cr_assert_eq(stats()->tx_bad, 6);
	/* The device still works. */
	tx_two(6, &plain_hdr, f, sizeof(f), HDR_LEN + 50);
	publish(TXQ, 6);
	notify(TXQ);
	expect_used(TXQ, 6, 0);
	expect_sent(0, f, sizeof(f));
	cr_assert_eq(reg_read(VIRTIO_MMIO_STATUS) & NEEDS_RESET, 0);
}

Test(vnet, tx_frame_size_limit)
{
	static uint8_t big[HDR_LEN + MAX_FRAME + 1];

	net_setup();
	memcpy(big, &plain_hdr, HDR_LEN);
	make_frame(big + HDR_LEN, MAX_FRAME + 1, 8);
	memcpy(gpa(BIG_GPA, sizeof(big)), big, sizeof(big));
	/* One byte over the limit, in one descriptor. */
	set_desc(TXQ, 0, BIG_GPA, HDR_LEN + MAX_FRAME + 1, 0, 0);
	publish(TXQ, 0);
	/* The same over two. */
	set_desc(TXQ, 1, BIG_GPA, 0x8000, VRING_DESC_F_NEXT, 2);
	set_desc(TXQ, 2, BIG_GPA + 0x8000, HDR_LEN + MAX_FRAME + 1 - 0x8000,
		 0, 0);
	publish(TXQ, 1);
	notify(TXQ);
	expect_used(TXQ, 0, 0);
	expect_used(TXQ, 1, 0);
	cr_assert_eq(env.fake.send_calls, 0);
	cr_assert_eq(stats()->tx_bad, 2);
	/* Exactly the limit goes through. */
	set_desc(TXQ, 3, BIG_GPA, HDR_LEN + MAX_FRAME, 0, 0);
	publish(TXQ, 3);
	notify(TXQ);
	expect_used(TXQ, 3, 0);
	expect_sent(0, big + HDR_LEN, MAX_FRAME);
	cr_assert_eq(stats()->tx_bytes, MAX_FRAME);
}

Test(vnet, tx_eagain_keeps_the_chain_until_tx_ready)
{
	uint8_t f[200], g[300];

	net_setup();
	make_frame(f, sizeof(f), 9);
	make_frame(g, sizeof(g), 10);
	env.fake.send_ret = -EAGAIN;
	tx_two(0, &plain_hdr, f, sizeof(f), HDR_LEN);
	publish(TXQ, 0);
	notify(TXQ);
	/* Not completed, not counted. */
	expect_nothing_used(TXQ);
	cr_assert_eq(env.fake.send_calls, 1);
	cr_assert_eq(stats()->tx_frames, 0);
	cr_assert_eq(stats()->tx_backend_errors, 0);
	cr_assert_eq(stats()->tx_bad, 0);
	/* Another frame and kick meanwhile: the device waits, in order. */
	tx_two(2, &plain_hdr, g, sizeof(g), HDR_LEN + 1);
	publish(TXQ, 2);
	notify(TXQ);
	expect_nothing_used(TXQ);
	cr_assert_eq(env.fake.send_calls, 1);
	/* The backend can take frames again. */
	env.fake.send_ret = 0;
	env.fake.be.tx_ready(env.fake.be.rx_dev);
	expect_used(TXQ, 0, 0);
	expect_used(TXQ, 2, 0);
	expect_nothing_used(TXQ);
	cr_assert_eq(env.fake.nframes, 2);
	expect_sent(0, f, sizeof(f));
	expect_sent(1, g, sizeof(g));
	cr_assert_eq(stats()->tx_frames, 2);
	cr_assert_eq(stats()->tx_bytes, sizeof(f) + sizeof(g));
	/* A spurious tx_ready with nothing queued is harmless. */
	env.fake.be.tx_ready(env.fake.be.rx_dev);
	cr_assert_eq(env.fake.send_calls, 3);
}

Test(vnet, tx_backend_error_is_counted_and_completed)
{
	uint8_t f[80];

	net_setup();
	make_frame(f, sizeof(f), 11);
	env.fake.send_ret = -EIO;
	tx_two(0, &plain_hdr, f, sizeof(f), HDR_LEN);
	publish(TXQ, 0);
	notify(TXQ);
	expect_used(TXQ, 0, 0);
	cr_assert_eq(stats()->tx_backend_errors, 1);
	cr_assert_eq(env.fake.be.tx_dropped, 1);
	cr_assert_eq(stats()->tx_frames, 0);
	cr_assert_eq(stats()->tx_bad, 0);
	/* The next one goes through. */
	env.fake.send_ret = 0;
	tx_two(2, &plain_hdr, f, sizeof(f), HDR_LEN);
	publish(TXQ, 2);
	notify(TXQ);
	expect_used(TXQ, 2, 0);
	expect_sent(0, f, sizeof(f));
	cr_assert_eq(stats()->tx_frames, 1);
	cr_assert_eq(stats()->tx_backend_errors, 1);
}

/* ==== receive ==== */

Test(vnet, rx_without_buffers_is_dropped_until_the_guest_posts)
{
	uint8_t f[64], buf[HDR_LEN + 64];

	net_setup();
	make_frame(f, sizeof(f), 12);
	cr_assert_eq(inject(f, sizeof(f)), -ENOBUFS);
	cr_assert_eq(inject(f, sizeof(f)), -ENOBUFS);
	cr_assert_eq(stats()->rx_no_buffer, 2);
	cr_assert_eq(env.fake.be.rx_dropped, 2);
	cr_assert_eq(env.fake.rx_ready_calls, 0);
	expect_nothing_used(RXQ);
	/* A kick on the transmit queue is not news for the backend. */
	notify(TXQ);
	cr_assert_eq(env.fake.rx_ready_calls, 0);
	/* Buffers posted and the receive queue kicked: tell the backend. */
	rx_post_one(0, 2048);
	notify(RXQ);
	cr_assert_eq(env.fake.rx_ready_calls, 1);
	/* Once is enough. */
	notify(RXQ);
	cr_assert_eq(env.fake.rx_ready_calls, 1);
	cr_assert_eq(inject(f, sizeof(f)), 0);
	expect_used(RXQ, 0, HDR_LEN + sizeof(f));
	rx_gather(0, (uint32_t[]){ 2048 }, 1, buf, sizeof(buf));
	expect_rx_hdr(buf);
	cr_assert_arr_eq(buf + HDR_LEN, f, sizeof(f));
	cr_assert_eq(stats()->rx_frames, 1);
}

Test(vnet, rx_frame_into_a_buffer)
{
	uint8_t f[1514], buf[HDR_LEN + 1514 + 1];

	net_setup();
	make_frame(f, sizeof(f), 13);
	rx_post_one(3, 4096);
	cr_assert_eq(inject(f, 100), 0);
	expect_used(RXQ, 3, HDR_LEN + 100);
	rx_gather(3, (uint32_t[]){ 4096 }, 1, buf, HDR_LEN + 101);
	expect_rx_hdr(buf);
	cr_assert_arr_eq(buf + HDR_LEN, f, 100);
	cr_assert_eq(buf[HDR_LEN + 100], 0xee, "wrote past the frame");
	/* A full-sized frame into a buffer that fits it exactly. */
	rx_post_one(5, HDR_LEN + sizeof(f));
	cr_assert_eq(inject(f, sizeof(f)), 0);
	expect_used(RXQ, 5, HDR_LEN + sizeof(f));
	rx_gather(5, (uint32_t[]){ HDR_LEN + sizeof(f) }, 1, buf,
		  HDR_LEN + sizeof(f));
	expect_rx_hdr(buf);
	cr_assert_arr_eq(buf + HDR_LEN, f, sizeof(f));
	cr_assert_eq(stats()->rx_frames, 2);
	cr_assert_eq(stats()->rx_bytes, 100 + sizeof(f));
	cr_assert_eq(env.fake.be.rx_frames, 2);
	cr_assert_eq(stats()->rx_no_buffer, 0);
	expect_nothing_used(TXQ);
}

Test(vnet, rx_frame_across_descriptors)
{
	uint8_t f[1000], buf[HDR_LEN + 1000], *tail;
	const uint32_t hdr_split[2] = { 8, 2000 }; /* header straddles */
	const uint32_t hdr_alone[2] = { HDR_LEN, 1500 };
	const uint32_t many[4] = { 5, 300, 7, 1000 };

	net_setup();
	make_frame(f, sizeof(f), 14);
	rx_post(0, hdr_split, 2);
	rx_post(2, hdr_alone, 2);
	rx_post(4, many, 4);
	for (unsigned int i = 0; i < 3; i++) {
		f[20] = (uint8_t)i;
		cr_assert_eq(inject(f, sizeof(f)), 0);
	}
	expect_used(RXQ, 0, HDR_LEN + sizeof(f));
	expect_used(RXQ, 2, HDR_LEN + sizeof(f));
	expect_used(RXQ, 4, HDR_LEN + sizeof(f));
	rx_gather(0, hdr_split, 2, buf, sizeof(buf));
	expect_rx_hdr(buf);
	f[20] = 0;
	cr_assert_arr_eq(buf + HDR_LEN, f, sizeof(f));
	rx_gather(2, hdr_alone, 2, buf, sizeof(buf));
	expect_rx_hdr(buf);
	f[20] = 1;
	cr_assert_arr_eq(buf + HDR_LEN, f, sizeof(f));
	rx_gather(4, many, 4, buf, sizeof(buf));
	expect_rx_hdr(buf);
	f[20] = 2;
	cr_assert_arr_eq(buf + HDR_LEN, f, sizeof(f));
	/* The second descriptor's page past what was written is untouched. */
	tail = gpa(buf_gpa(RXQ, 1), 2000);
	cr_assert_eq(tail[sizeof(f) + HDR_LEN - 8], 0xee);
}

Test(vnet, rx_buffer_too_small_is_kept)
{
	uint8_t f[200], buf[HDR_LEN + 200];

	net_setup();
	make_frame(f, sizeof(f), 15);
	rx_post_one(1, HDR_LEN + 60);
	cr_assert_eq(inject(f, 100), -EMSGSIZE);
	cr_assert_eq(inject(f, 61), -EMSGSIZE);
	cr_assert_eq(stats()->rx_too_big, 2);
	cr_assert_eq(stats()->rx_no_buffer, 0);
	expect_nothing_used(RXQ);
	cr_assert_eq(((uint8_t *)gpa(buf_gpa(RXQ, 1), 1))[0], 0xee);
	/* The next frame that fits takes the same buffer. */
	cr_assert_eq(inject(f, 60), 0);
	expect_used(RXQ, 1, HDR_LEN + 60);
	rx_gather(1, (uint32_t[]){ HDR_LEN + 60 }, 1, buf, HDR_LEN + 60);
	expect_rx_hdr(buf);
	cr_assert_arr_eq(buf + HDR_LEN, f, 60);
	cr_assert_eq(stats()->rx_frames, 1);
	/* Now nothing is left. */
	cr_assert_eq(inject(f, 60), -ENOBUFS);
}

Test(vnet, rx_readable_or_broken_buffers_are_skipped)
{
	uint8_t f[90], buf[HDR_LEN + 90];

	net_setup();
	make_frame(f, sizeof(f), 16);
	/* A device-readable buffer on the receive queue. */
	set_desc(RXQ, 0, buf_gpa(RXQ, 0), 2048, 0, 0);
	memset(gpa(buf_gpa(RXQ, 0), 2048), 0xee, 2048);
	publish(RXQ, 0);
	/* Readable, then writable. */
	set_desc(RXQ, 1, buf_gpa(RXQ, 1), 64, VRING_DESC_F_NEXT, 2);
	set_desc(RXQ, 2, buf_gpa(RXQ, 2), 2048, VRING_DESC_F_WRITE, 0);
	memset(gpa(buf_gpa(RXQ, 2), 2048), 0xee, 2048);
	publish(RXQ, 1);
	/* A writable loop. */
	set_desc(RXQ, 3, buf_gpa(RXQ, 3), 2048,
		 VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 3);
	publish(RXQ, 3);
	/* A head out of range. */
	publish(RXQ, 200);
	/* And a good one. */
	rx_post_one(5, 2048);
	cr_assert_eq(inject(f, sizeof(f)), 0);
	expect_used(RXQ, 0, 0);
	expect_used(RXQ, 1, 0);
	expect_used(RXQ, 3, 0);
	expect_used(RXQ, 200, 0);
	expect_used(RXQ, 5, HDR_LEN + sizeof(f));
	expect_nothing_used(RXQ);
	rx_gather(5, (uint32_t[]){ 2048 }, 1, buf, sizeof(buf));
	expect_rx_hdr(buf);
	cr_assert_arr_eq(buf + HDR_LEN, f, sizeof(f));
	/* Nothing written into the skipped buffers. */
	cr_assert_eq(((uint8_t *)gpa(buf_gpa(RXQ, 0), 1))[0], 0xee);
	cr_assert_eq(((uint8_t *)gpa(buf_gpa(RXQ, 2), 1))[0], 0xee);
	cr_assert_eq(stats()->rx_frames, 1);
	cr_assert_eq(reg_read(VIRTIO_MMIO_STATUS) & NEEDS_RESET, 0);
}

Test(vnet, rx_only_bad_buffers_is_no_buffer)
{
	uint8_t f[60];

	net_setup();
	make_frame(f, sizeof(f), 17);
	set_desc(RXQ, 0, buf_gpa(RXQ, 0), 2048, 0, 0);
	publish(RXQ, 0);
	cr_assert_eq(inject(f, sizeof(f)), -ENOBUFS);
	expect_used(RXQ, 0, 0);
	cr_assert_eq(stats()->rx_no_buffer, 1);
	/* The kick that brings buffers wakes the backend. */
	rx_post_one(1, 2048);
	notify(RXQ);
	cr_assert_eq(env.fake.rx_ready_calls, 1);
	cr_assert_eq(inject(f, sizeof(f)), 0);
	expect_used(RXQ, 1, HDR_LEN + sizeof(f));
}

static void expect_needs_reset(void)
{
	cr_assert(reg_read(VIRTIO_MMIO_STATUS) & NEEDS_RESET);
	cr_assert(reg_read(VIRTIO_MMIO_INTERRUPT_STATUS) &
		  VIRTIO_MMIO_INT_CONFIG);
}

Test(vnet, rx_avail_index_running_ahead_needs_reset)
{
	uint8_t f[60];

	net_setup();
	make_frame(f, sizeof(f), 18);
	rx_post_one(0, 2048);
	env.avail_idx[RXQ] = QSIZE + 1;
	__atomic_store_n(&avail(RXQ)->idx, env.avail_idx[RXQ],
			 __ATOMIC_RELEASE);
	cr_assert_neq(inject(f, sizeof(f)), 0);
	expect_needs_reset();
	expect_nothing_used(RXQ);
	/* Still broken, still no crash, for frames and kicks alike. */
	cr_assert_neq(inject(f, sizeof(f)), 0);
	notify(RXQ);
	expect_nothing_used(RXQ);
	/* Transmit is unaffected. */
	tx_two(0, &plain_hdr, f, sizeof(f), HDR_LEN);
	publish(TXQ, 0);
	notify(TXQ);
	expect_used(TXQ, 0, 0);
	expect_sent(0, f, sizeof(f));
	/* A reset and a fresh start bring receive back. */
	reg_write(VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(reg_read(VIRTIO_MMIO_STATUS), 0);
	cr_assert_eq(inject(f, sizeof(f)), -ENOBUFS);
	driver_init();
	rx_post_one(0, 2048);
	cr_assert_eq(inject(f, sizeof(f)), 0);
	expect_used(RXQ, 0, HDR_LEN + sizeof(f));
}

Test(vnet, tx_avail_index_running_ahead_needs_reset)
{
	uint8_t f[60];

	net_setup();
	make_frame(f, sizeof(f), 19);
	tx_two(0, &plain_hdr, f, sizeof(f), HDR_LEN);
	avail(TXQ)->ring[0] = 0;
	env.avail_idx[TXQ] = 0x8000;
	__atomic_store_n(&avail(TXQ)->idx, env.avail_idx[TXQ],
			 __ATOMIC_RELEASE);
	notify(TXQ);
	expect_needs_reset();
	expect_nothing_used(TXQ);
	cr_assert_eq(env.fake.send_calls, 0);
	notify(TXQ);
	env.fake.be.tx_ready(env.fake.be.rx_dev);
	expect_nothing_used(TXQ);
	reg_write(VIRTIO_MMIO_STATUS, 0);
	driver_init();
	tx_two(0, &plain_hdr, f, sizeof(f), HDR_LEN);
	publish(TXQ, 0);
	notify(TXQ);
	expect_used(TXQ, 0, 0);
	expect_sent(0, f, sizeof(f));
}

Test(vnet, reset_forgets_a_blocked_transmit)
{
	uint8_t f[60];

	net_setup();
	make_frame(f, sizeof(f), 20);
	env.fake.send_ret = -EAGAIN;
	tx_two(0, &plain_hdr, f, sizeof(f), HDR_LEN);
	publish(TXQ, 0);
	notify(TXQ);
	expect_nothing_used(TXQ);
	/* The driver resets instead of waiting; the backend recovers. */
	reg_write(VIRTIO_MMIO_STATUS, 0);
	env.fake.send_ret = 0;
	env.fake.be.tx_ready(env.fake.be.rx_dev);
	cr_assert_eq(env.fake.nframes, 0, "sent on a reset device");
	driver_init();
	tx_two(2, &plain_hdr, f, sizeof(f), HDR_LEN);
	publish(TXQ, 2);
	notify(TXQ);
	expect_used(TXQ, 2, 0);
	cr_assert_eq(env.fake.nframes, 1);
}

/* ==== config space and registers, through the MMIO bus ==== */

static uint64_t mmio_read(uint64_t off, unsigned int len)
{
	uint64_t v = 0;

	cr_assert(bus_access(&env.vm.mmio, env.t->base + off, &v, len, false));
	return v;
}

Test(vnet, config_space_through_the_bus)
{
	const uint64_t cfg_size = sizeof(struct virtio_net_config);
	uint64_t feat, bad;
	uint32_t mac_lo;
	uint8_t junk[4] = { 1, 2, 3, 4 };

	net_setup();
	cr_assert_eq(mmio_read(VIRTIO_MMIO_MAGIC_VALUE, 4), 0x74726976);
	cr_assert_eq(mmio_read(VIRTIO_MMIO_DEVICE_ID, 4), VIRTIO_ID_NET);
	reg_write(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	feat = mmio_read(VIRTIO_MMIO_DEVICE_FEATURES, 4);
	reg_write(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	feat |= mmio_read(VIRTIO_MMIO_DEVICE_FEATURES, 4) << 32;
	cr_assert(feat & (1ULL << VIRTIO_F_VERSION_1));
	cr_assert(feat & (1ULL << VIRTIO_NET_F_MAC));
	cr_assert(feat & (1ULL << VIRTIO_NET_F_STATUS));
	cr_assert(feat & (1ULL << VIRTIO_NET_F_CSUM));
	cr_assert(feat & (1ULL << VIRTIO_NET_F_GUEST_CSUM));
	/* No segmentation offload is offered (so GSO frames are bad). */
	cr_assert_not(feat & (1ULL << VIRTIO_NET_F_HOST_TSO4));
	cr_assert_not(feat & (1ULL << VIRTIO_NET_F_GUEST_TSO4));
	cr_assert_not(feat & (1ULL << VIRTIO_NET_F_MRG_RXBUF));

	for (unsigned int i = 0; i < 6; i++)
		cr_assert_eq(mmio_read(CONFIG_OFF + i, 1), test_mac[i],
			     "mac[%u]", i);
	mac_lo = (uint32_t)mmio_read(CONFIG_OFF, 4);
	cr_assert_eq(mac_lo, (uint32_t)test_mac[0] |
				     (uint32_t)test_mac[1] << 8 |
				     (uint32_t)test_mac[2] << 16 |
				     (uint32_t)test_mac[3] << 24);
	cr_assert_eq(mmio_read(CONFIG_OFF +
				       offsetof(struct virtio_net_config,
						status),
			       2),
		     VIRTIO_NET_S_LINK_UP);
	cr_assert_eq(mmio_read(CONFIG_OFF +
				       offsetof(struct virtio_net_config,
						max_virtqueue_pairs),
			       2),
		     1);
	/* Past the config space: zeros, counted as misuse. */
	bad = env.t->bad_accesses;
	cr_assert_eq(mmio_read(CONFIG_OFF + cfg_size, 4), 0);
	cr_assert_eq(mmio_read(CONFIG_OFF + cfg_size - 2, 4), 0);
	cr_assert_eq(env.t->bad_accesses, bad + 2);
	/* The config space is read-only: a write changes nothing. */
	cr_assert(bus_access(&env.vm.mmio, env.t->base + CONFIG_OFF, junk, 4,
			     true));
	for (unsigned int i = 0; i < 6; i++)
		cr_assert_eq(mmio_read(CONFIG_OFF + i, 1), test_mac[i]);
}

/* ==== the real notification path ==== */

static void on_timeout(struct ev_op *op, int res, uint32_t flags)
{
	(void)res;
	(void)flags;
	evloop_stop(op->opaque);
}

/*
 * Run the VM's event loop on this thread for a moment: long enough for a
 * kick eventfd that is already readable to be polled and handled.
 */
static void run_loop_briefly(void)
{
	struct ev_op stop = { .cb = on_timeout, .opaque = &env.vm.loop };

	env.vm.loop.done = false;
	cr_assert_eq(evloop_timeout(&env.vm.loop, &stop, 50), 0);
	cr_assert_eq(evloop_run(&env.vm.loop), 0);
}

static void mmio_write32(uint64_t off, uint32_t v)
{
	cr_assert(bus_access(&env.vm.mmio, env.t->base + off, &v, 4, true));
}

Test(vnet, kicks_through_eventfds_and_the_event_loop)
{
	uint8_t f[300];
	uint64_t one = 1;

	net_setup();
	virtio_mmio_start(env.t);
	cr_assert_eq(vnet_start(env.n), 0);
	cr_assert_eq(env.fake.start_calls, 1);
	make_frame(f, sizeof(f), 21);

	/* Transmit: what KVM's ioeventfd does on a QueueNotify write. */
	tx_two(0, &plain_hdr, f, sizeof(f), HDR_LEN + 100);
	publish(TXQ, 0);
	cr_assert_eq(write(env.t->kick_fd[TXQ], &one, sizeof(one)), 8);
	run_loop_briefly();
	expect_used(TXQ, 0, 0);
	expect_sent(0, f, sizeof(f));
	/* One interrupt for the batch, after it. */
	cr_assert(reg_read(VIRTIO_MMIO_INTERRUPT_STATUS) &
		  VIRTIO_MMIO_INT_VRING);
	mmio_write32(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	cr_assert_eq(reg_read(VIRTIO_MMIO_INTERRUPT_STATUS), 0);

	/* Receive: no buffer, then a QueueNotify register write. */
	cr_assert_eq(inject(f, sizeof(f)), -ENOBUFS);
	rx_post_one(0, 2048);
	mmio_write32(VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
	run_loop_briefly();
	cr_assert_eq(env.fake.rx_ready_calls, 1);
	cr_assert_eq(inject(f, sizeof(f)), 0);
	run_loop_briefly(); /* the batch's interrupt */
	expect_used(RXQ, 0, HDR_LEN + sizeof(f));
	cr_assert(reg_read(VIRTIO_MMIO_INTERRUPT_STATUS) &
		  VIRTIO_MMIO_INT_VRING);
}
