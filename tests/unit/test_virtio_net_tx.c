// SPDX-License-Identifier: MIT
/*
 * virtio-net's transmit path and checksum offload.  vnet_fill_csum() is
 * checked alone against a reference sum; the transmit tests run the device
 * on a real KVM VM with a fake backend (vnet_fixture.h): the test posts
 * chains on the transmit queue, notifies the device the way the event loop
 * would, and looks at what reached the backend.
 * The device tests are skipped when /dev/kvm cannot be opened.
 */
#include <errno.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "vnet_fixture.h"

static struct fake_driver *const drv = &env.drv;

TestSuite(vnet, .fini = net_teardown, .timeout = 30);

/* ---- reference checksums ---- */

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

/* A plain frame in descriptors @d and @d+1, the chain going on to @next. */
static void tx_two_then(uint16_t d, const uint8_t *f, size_t len, uint16_t next)
{
	tx_two(d, &plain_hdr, f, len, HDR_LEN);
	fdrv_desc(drv, TXQ, d + 1)->flags |= VRING_DESC_F_NEXT;
	fdrv_desc(drv, TXQ, d + 1)->next = next;
}

/*
 * Frame @f under header @a (descriptors 0, 1) and under @b (2, 3), both
 * refused: completed, counted as bad, nothing sent.
 */
static void tx_expect_both_bad(const struct virtio_net_hdr_v1 *a,
			       const struct virtio_net_hdr_v1 *b,
			       const uint8_t *f, size_t len)
{
	tx_two(0, a, f, len, HDR_LEN);
	fdrv_publish(drv, TXQ, 0);
	tx_two(2, b, f, len, HDR_LEN);
	fdrv_publish(drv, TXQ, 2);
	notify(TXQ);
	fdrv_expect_used(drv, TXQ, 0, 0);
	fdrv_expect_used(drv, TXQ, 2, 0);
	cr_assert_eq(env.fake.send_calls, 0);
	cr_assert_eq(stats()->tx_bad, 2);
	cr_assert_eq(stats()->tx_frames, 0);
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
	tx_one(0, &plain_hdr, f, 60, HDR_LEN + 20);
	cr_assert_eq(env.fake.nframes, 1);
	expect_sent(0, f, 60);
	/* The header itself split 6 + 6 + frame. */
	make_frame(f, sizeof(f), 2);
	tx_two(2, &plain_hdr, f, sizeof(f), 6);
	{
		uint32_t seg[3] = { 6, 6, sizeof(f) };

		tx_chain(4, &plain_hdr, f, sizeof(f), seg, 3);
	}
	fdrv_publish(drv, TXQ, 2);
	fdrv_publish(drv, TXQ, 4);
	notify(TXQ);
	fdrv_expect_used(drv, TXQ, 2, 0);
	fdrv_expect_used(drv, TXQ, 4, 0);
	fdrv_expect_nothing_used(drv, TXQ);
	expect_sent(1, f, sizeof(f));
	expect_sent(2, f, sizeof(f));
	cr_assert_eq(stats()->tx_frames, 3);
	cr_assert_eq(stats()->tx_bytes, 60 + 2 * sizeof(f));
	cr_assert_eq(stats()->tx_bad, 0);
	cr_assert_eq(stats()->csum_filled, 0);
	cr_assert_eq(env.fake.be.tx_frames, 3);
	/* Nothing came back on the receive side. */
	fdrv_expect_nothing_used(drv, RXQ);
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
	tx_one(0, &h, f, len, HDR_LEN + 40);
	expect_sent(0, want, len);
	cr_assert(udp4_verifies(fake_frames[0], len));
	cr_assert_eq(stats()->csum_filled, 1);
	cr_assert_eq(stats()->tx_frames, 1);
	/* Without the flag the field goes out as the driver left it. */
	tx_one(2, &plain_hdr, f, len, HDR_LEN);
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
	struct virtio_net_hdr_v1 h2 = h;

	net_setup();
	make_frame(f, sizeof(f), 3);
	h2.csum_start = 60;
	h2.csum_offset = 0;
	tx_expect_both_bad(&h, &h2, f, sizeof(f));
	cr_assert_eq(stats()->csum_filled, 0);
}

Test(vnet, tx_gso_frame_is_dropped_and_completed)
{
	uint8_t f[1514];
	struct virtio_net_hdr_v1 h = {
		.gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		.hdr_len = 54,
		.gso_size = 1448,
	};
	struct virtio_net_hdr_v1 h2 = h;

	net_setup();
	make_frame(f, sizeof(f), 4);
	h2.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	tx_expect_both_bad(&h, &h2, f, sizeof(f));
	/* The queue goes on. */
	tx_one(4, &plain_hdr, f, 100, HDR_LEN + 14);
	expect_sent(0, f, 100);
}

Test(vnet, tx_short_header_or_frame_is_dropped)
{
	uint8_t f[14];

	net_setup();
	/* Ten bytes: not even a header. */
	memset(fdrv_gpa(drv, buf_gpa(TXQ, 0), 16), 0, 16);
	fdrv_set_desc(drv, TXQ, 0, buf_gpa(TXQ, 0), 10, 0, 0);
	fdrv_publish(drv, TXQ, 0);
	/* Six and five bytes over two descriptors: still short. */
	fdrv_set_desc(drv, TXQ, 1, buf_gpa(TXQ, 1), 6, VRING_DESC_F_NEXT, 2);
	fdrv_set_desc(drv, TXQ, 2, buf_gpa(TXQ, 2), 5, 0, 0);
	fdrv_publish(drv, TXQ, 1);
	/* A header and nothing after it. */
	fdrv_set_desc(drv, TXQ, 3, buf_gpa(TXQ, 3), HDR_LEN, 0, 0);
	fdrv_publish(drv, TXQ, 3);
	/* A header and 13 bytes: less than an Ethernet header. */
	make_frame(f, sizeof(f), 5);
	tx_two(4, &plain_hdr, f, 13, HDR_LEN);
	fdrv_publish(drv, TXQ, 4);
	notify(TXQ);
	fdrv_expect_used(drv, TXQ, 0, 0);
	fdrv_expect_used(drv, TXQ, 1, 0);
	fdrv_expect_used(drv, TXQ, 3, 0);
	fdrv_expect_used(drv, TXQ, 4, 0);
	fdrv_expect_nothing_used(drv, TXQ);
	cr_assert_eq(env.fake.send_calls, 0);
	cr_assert_eq(stats()->tx_bad, 4);
	/* Exactly an Ethernet header is a frame. */
	tx_one(6, &plain_hdr, f, 14, HDR_LEN);
	expect_sent(0, f, 14);
}

Test(vnet, tx_writable_descriptor_is_bad)
{
	uint8_t f[100];

	net_setup();
	make_frame(f, sizeof(f), 6);
	/* A good frame followed by a buffer for the device to write. */
	tx_two_then(0, f, sizeof(f), 2);
	fdrv_set_desc(drv, TXQ, 2, buf_gpa(TXQ, 2), 64, VRING_DESC_F_WRITE, 0);
	fdrv_publish(drv, TXQ, 0);
	/* Writable first, then the frame (out of order, §2.7.4.2). */
	fdrv_set_desc(drv, TXQ, 3, buf_gpa(TXQ, 3), 64,
		      VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 4);
	tx_two(4, &plain_hdr, f, sizeof(f), HDR_LEN);
	fdrv_publish(drv, TXQ, 3);
	/* Only a writable buffer. */
	fdrv_set_desc(drv, TXQ, 6, buf_gpa(TXQ, 6), 200, VRING_DESC_F_WRITE, 0);
	fdrv_publish(drv, TXQ, 6);
	notify(TXQ);
	fdrv_expect_used(drv, TXQ, 0, 0);
	fdrv_expect_used(drv, TXQ, 3, 0);
	fdrv_expect_used(drv, TXQ, 6, 0);
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
	tx_two_then(0, f, sizeof(f), 0);
	fdrv_publish(drv, TXQ, 0);
	/* A descriptor pointing at itself. */
	fdrv_set_desc(drv, TXQ, 2, buf_gpa(TXQ, 2), 64, VRING_DESC_F_NEXT, 2);
	fdrv_publish(drv, TXQ, 2);
	/* Next index out of range. */
	fdrv_set_desc(drv, TXQ, 3, buf_gpa(TXQ, 3), 64, VRING_DESC_F_NEXT,
		      QSIZE);
	fdrv_publish(drv, TXQ, 3);
	/* A buffer leaving RAM, and one whose end wraps 64 bits. */
	fdrv_set_desc(drv, TXQ, 4, MEM_SIZE - 32, 200, 0, 0);
	fdrv_publish(drv, TXQ, 4);
	fdrv_set_desc(drv, TXQ, 5, 0xfffffffffffff000ULL, 0x2000, 0, 0);
	fdrv_publish(drv, TXQ, 5);
	/* A head out of range. */
	fdrv_publish(drv, TXQ, QSIZE + 1);
	notify(TXQ);
	fdrv_expect_used(drv, TXQ, 0, 0);
	fdrv_expect_used(drv, TXQ, 2, 0);
	fdrv_expect_used(drv, TXQ, 3, 0);
	fdrv_expect_used(drv, TXQ, 4, 0);
	fdrv_expect_used(drv, TXQ, 5, 0);
	fdrv_expect_used(drv, TXQ, QSIZE + 1, 0);
	fdrv_expect_nothing_used(drv, TXQ);
	cr_assert_eq(env.fake.send_calls, 0);
	cr_assert_eq(stats()->tx_bad, 6);
	/* The device still works. */
	tx_one(6, &plain_hdr, f, sizeof(f), HDR_LEN + 50);
	expect_sent(0, f, sizeof(f));
	cr_assert_eq(fdrv_reg_read(drv, VIRTIO_MMIO_STATUS) & NEEDS_RESET, 0);
}

Test(vnet, tx_frame_size_limit)
{
	static uint8_t big[HDR_LEN + MAX_FRAME + 1];

	net_setup();
	memcpy(big, &plain_hdr, HDR_LEN);
	make_frame(big + HDR_LEN, MAX_FRAME + 1, 8);
	memcpy(fdrv_gpa(drv, BIG_GPA, sizeof(big)), big, sizeof(big));
	/* One byte over the limit, in one descriptor. */
	fdrv_set_desc(drv, TXQ, 0, BIG_GPA, HDR_LEN + MAX_FRAME + 1, 0, 0);
	fdrv_publish(drv, TXQ, 0);
	/* The same over two. */
	fdrv_set_desc(drv, TXQ, 1, BIG_GPA, 0x8000, VRING_DESC_F_NEXT, 2);
	fdrv_set_desc(drv, TXQ, 2, BIG_GPA + 0x8000,
		      HDR_LEN + MAX_FRAME + 1 - 0x8000, 0, 0);
	fdrv_publish(drv, TXQ, 1);
	notify(TXQ);
	fdrv_expect_used(drv, TXQ, 0, 0);
	fdrv_expect_used(drv, TXQ, 1, 0);
	cr_assert_eq(env.fake.send_calls, 0);
	cr_assert_eq(stats()->tx_bad, 2);
	/* Exactly the limit goes through. */
	fdrv_set_desc(drv, TXQ, 3, BIG_GPA, HDR_LEN + MAX_FRAME, 0, 0);
	fdrv_publish(drv, TXQ, 3);
	notify(TXQ);
	fdrv_expect_used(drv, TXQ, 3, 0);
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
	fdrv_publish(drv, TXQ, 0);
	notify(TXQ);
	/* Not completed, not counted. */
	fdrv_expect_nothing_used(drv, TXQ);
	cr_assert_eq(env.fake.send_calls, 1);
	cr_assert_eq(stats()->tx_frames, 0);
	cr_assert_eq(stats()->tx_backend_errors, 0);
	cr_assert_eq(stats()->tx_bad, 0);
	/* Another frame and kick meanwhile: the device waits, in order. */
	tx_two(2, &plain_hdr, g, sizeof(g), HDR_LEN + 1);
	fdrv_publish(drv, TXQ, 2);
	notify(TXQ);
	fdrv_expect_nothing_used(drv, TXQ);
	cr_assert_eq(env.fake.send_calls, 1);
	/* The backend can take frames again. */
	env.fake.send_ret = 0;
	env.fake.be.tx_ready(env.fake.be.rx_dev);
	fdrv_expect_used(drv, TXQ, 0, 0);
	fdrv_expect_used(drv, TXQ, 2, 0);
	fdrv_expect_nothing_used(drv, TXQ);
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
	tx_one(0, &plain_hdr, f, sizeof(f), HDR_LEN);
	cr_assert_eq(stats()->tx_backend_errors, 1);
	cr_assert_eq(env.fake.be.tx_dropped, 1);
	cr_assert_eq(stats()->tx_frames, 0);
	cr_assert_eq(stats()->tx_bad, 0);
	/* The next one goes through. */
	env.fake.send_ret = 0;
	tx_one(2, &plain_hdr, f, sizeof(f), HDR_LEN);
	expect_sent(0, f, sizeof(f));
	cr_assert_eq(stats()->tx_frames, 1);
	cr_assert_eq(stats()->tx_backend_errors, 1);
}
