// SPDX-License-Identifier: MIT
/*
 * virtio-net's receive path, resets, config space and the real
 * notification path, on a real KVM VM with a fake backend
 * (vnet_fixture.h).  The test is the driver: it posts receive buffers and
 * notifies the device the way the event loop would (the device's notify op
 * under the transport lock); as the backend's far side it injects frames
 * through the backend's rx ops.  One test takes the real path instead: kick
 * eventfds polled by the event loop.
 * Skipped when /dev/kvm cannot be opened.
 */
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "vnet_fixture.h"

#define CONFIG_OFF 0x100 /* device config space in the MMIO window */

static struct fake_driver *const drv = &env.drv;

TestSuite(vnet, .fini = net_teardown, .timeout = 30);

/* ---- rx chains ---- */

/*
 * Post a receive buffer: writable descriptors from @d on, segment k of
 * @seg[k] bytes in descriptor d+k's page, filled with 0xee.
 */
static uint16_t rx_post(uint16_t d, const uint32_t *seg, unsigned int nseg)
{
	for (unsigned int k = 0; k < nseg; k++) {
		uint64_t a = buf_gpa(RXQ, d + k);

		memset(fdrv_gpa(drv, a, 0x1000), 0xee, 0x1000);
		fdrv_set_desc(drv, RXQ, d + k, a, seg[k],
			      VRING_DESC_F_WRITE |
				  (k + 1 < nseg ? VRING_DESC_F_NEXT : 0),
			      (uint16_t)(d + k + 1));
	}
	fdrv_publish(drv, RXQ, d);
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

		memcpy(out + off, fdrv_gpa(drv, buf_gpa(RXQ, d + k), n), n);
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
	fdrv_expect_nothing_used(drv, RXQ);
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
	fdrv_expect_used(drv, RXQ, 0, HDR_LEN + sizeof(f));
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
	fdrv_expect_used(drv, RXQ, 3, HDR_LEN + 100);
	rx_gather(3, (uint32_t[]){ 4096 }, 1, buf, HDR_LEN + 101);
	expect_rx_hdr(buf);
	cr_assert_arr_eq(buf + HDR_LEN, f, 100);
	cr_assert_eq(buf[HDR_LEN + 100], 0xee, "wrote past the frame");
	/* A full-sized frame into a buffer that fits it exactly. */
	rx_post_one(5, HDR_LEN + sizeof(f));
	cr_assert_eq(inject(f, sizeof(f)), 0);
	fdrv_expect_used(drv, RXQ, 5, HDR_LEN + sizeof(f));
	rx_gather(5, (uint32_t[]){ HDR_LEN + sizeof(f) }, 1, buf,
		  HDR_LEN + sizeof(f));
	expect_rx_hdr(buf);
	cr_assert_arr_eq(buf + HDR_LEN, f, sizeof(f));
	cr_assert_eq(stats()->rx_frames, 2);
	cr_assert_eq(stats()->rx_bytes, 100 + sizeof(f));
	cr_assert_eq(env.fake.be.rx_frames, 2);
	cr_assert_eq(stats()->rx_no_buffer, 0);
	fdrv_expect_nothing_used(drv, TXQ);
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
	fdrv_expect_used(drv, RXQ, 0, HDR_LEN + sizeof(f));
	fdrv_expect_used(drv, RXQ, 2, HDR_LEN + sizeof(f));
	fdrv_expect_used(drv, RXQ, 4, HDR_LEN + sizeof(f));
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
	tail = fdrv_gpa(drv, buf_gpa(RXQ, 1), 2000);
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
	fdrv_expect_nothing_used(drv, RXQ);
	cr_assert_eq(((uint8_t *)fdrv_gpa(drv, buf_gpa(RXQ, 1), 1))[0], 0xee);
	/* The next frame that fits takes the same buffer. */
	cr_assert_eq(inject(f, 60), 0);
	fdrv_expect_used(drv, RXQ, 1, HDR_LEN + 60);
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
	fdrv_set_desc(drv, RXQ, 0, buf_gpa(RXQ, 0), 2048, 0, 0);
	memset(fdrv_gpa(drv, buf_gpa(RXQ, 0), 2048), 0xee, 2048);
	fdrv_publish(drv, RXQ, 0);
	/* Readable, then writable. */
	fdrv_set_desc(drv, RXQ, 1, buf_gpa(RXQ, 1), 64, VRING_DESC_F_NEXT, 2);
	fdrv_set_desc(drv, RXQ, 2, buf_gpa(RXQ, 2), 2048, VRING_DESC_F_WRITE,
		      0);
	memset(fdrv_gpa(drv, buf_gpa(RXQ, 2), 2048), 0xee, 2048);
	fdrv_publish(drv, RXQ, 1);
	/* A writable loop. */
	fdrv_set_desc(drv, RXQ, 3, buf_gpa(RXQ, 3), 2048,
		      VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 3);
	fdrv_publish(drv, RXQ, 3);
	/* A head out of range. */
	fdrv_publish(drv, RXQ, 200);
	/* And a good one. */
	rx_post_one(5, 2048);
	cr_assert_eq(inject(f, sizeof(f)), 0);
	fdrv_expect_used(drv, RXQ, 0, 0);
	fdrv_expect_used(drv, RXQ, 1, 0);
	fdrv_expect_used(drv, RXQ, 3, 0);
	fdrv_expect_used(drv, RXQ, 200, 0);
	fdrv_expect_used(drv, RXQ, 5, HDR_LEN + sizeof(f));
	fdrv_expect_nothing_used(drv, RXQ);
	rx_gather(5, (uint32_t[]){ 2048 }, 1, buf, sizeof(buf));
	expect_rx_hdr(buf);
	cr_assert_arr_eq(buf + HDR_LEN, f, sizeof(f));
	/* Nothing written into the skipped buffers. */
	cr_assert_eq(((uint8_t *)fdrv_gpa(drv, buf_gpa(RXQ, 0), 1))[0], 0xee);
	cr_assert_eq(((uint8_t *)fdrv_gpa(drv, buf_gpa(RXQ, 2), 1))[0], 0xee);
	cr_assert_eq(stats()->rx_frames, 1);
	cr_assert_eq(fdrv_reg_read(drv, VIRTIO_MMIO_STATUS) & NEEDS_RESET, 0);
}

Test(vnet, rx_only_bad_buffers_is_no_buffer)
{
	uint8_t f[60];

	net_setup();
	make_frame(f, sizeof(f), 17);
	fdrv_set_desc(drv, RXQ, 0, buf_gpa(RXQ, 0), 2048, 0, 0);
	fdrv_publish(drv, RXQ, 0);
	cr_assert_eq(inject(f, sizeof(f)), -ENOBUFS);
	fdrv_expect_used(drv, RXQ, 0, 0);
	cr_assert_eq(stats()->rx_no_buffer, 1);
	/* The kick that brings buffers wakes the backend. */
	rx_post_one(1, 2048);
	notify(RXQ);
	cr_assert_eq(env.fake.rx_ready_calls, 1);
	cr_assert_eq(inject(f, sizeof(f)), 0);
	fdrv_expect_used(drv, RXQ, 1, HDR_LEN + sizeof(f));
}

static void expect_needs_reset(void)
{
	cr_assert(fdrv_reg_read(drv, VIRTIO_MMIO_STATUS) & NEEDS_RESET);
	cr_assert(fdrv_reg_read(drv, VIRTIO_MMIO_INTERRUPT_STATUS) &
		  VIRTIO_MMIO_INT_CONFIG);
}

Test(vnet, rx_avail_index_running_ahead_needs_reset)
{
	uint8_t f[60];

	net_setup();
	make_frame(f, sizeof(f), 18);
	rx_post_one(0, 2048);
	fdrv_set_avail_idx(drv, RXQ, QSIZE + 1);
	cr_assert_neq(inject(f, sizeof(f)), 0);
	expect_needs_reset();
	fdrv_expect_nothing_used(drv, RXQ);
	/* Still broken, still no crash, for frames and kicks alike. */
	cr_assert_neq(inject(f, sizeof(f)), 0);
	notify(RXQ);
	fdrv_expect_nothing_used(drv, RXQ);
	/* Transmit is unaffected. */
	tx_one(0, &plain_hdr, f, sizeof(f), HDR_LEN);
	expect_sent(0, f, sizeof(f));
	/* A reset and a fresh start bring receive back. */
	fdrv_reg_write(drv, VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(fdrv_reg_read(drv, VIRTIO_MMIO_STATUS), 0);
	cr_assert_eq(inject(f, sizeof(f)), -ENOBUFS);
	fdrv_init(drv);
	rx_post_one(0, 2048);
	cr_assert_eq(inject(f, sizeof(f)), 0);
	fdrv_expect_used(drv, RXQ, 0, HDR_LEN + sizeof(f));
}

Test(vnet, tx_avail_index_running_ahead_needs_reset)
{
	uint8_t f[60];

	net_setup();
	make_frame(f, sizeof(f), 19);
	tx_two(0, &plain_hdr, f, sizeof(f), HDR_LEN);
	fdrv_avail(drv, TXQ)->ring[0] = 0;
	fdrv_set_avail_idx(drv, TXQ, 0x8000);
	notify(TXQ);
	expect_needs_reset();
	fdrv_expect_nothing_used(drv, TXQ);
	cr_assert_eq(env.fake.send_calls, 0);
	notify(TXQ);
	env.fake.be.tx_ready(env.fake.be.rx_dev);
	fdrv_expect_nothing_used(drv, TXQ);
	fdrv_reg_write(drv, VIRTIO_MMIO_STATUS, 0);
	fdrv_init(drv);
	tx_one(0, &plain_hdr, f, sizeof(f), HDR_LEN);
	expect_sent(0, f, sizeof(f));
}

Test(vnet, reset_forgets_a_blocked_transmit)
{
	uint8_t f[60];

	net_setup();
	make_frame(f, sizeof(f), 20);
	env.fake.send_ret = -EAGAIN;
	tx_two(0, &plain_hdr, f, sizeof(f), HDR_LEN);
	fdrv_publish(drv, TXQ, 0);
	notify(TXQ);
	fdrv_expect_nothing_used(drv, TXQ);
	/* The driver resets instead of waiting; the backend recovers. */
	fdrv_reg_write(drv, VIRTIO_MMIO_STATUS, 0);
	env.fake.send_ret = 0;
	env.fake.be.tx_ready(env.fake.be.rx_dev);
	cr_assert_eq(env.fake.nframes, 0, "sent on a reset device");
	fdrv_init(drv);
	tx_one(2, &plain_hdr, f, sizeof(f), HDR_LEN);
	cr_assert_eq(env.fake.nframes, 1);
}

/* ==== config space and registers, through the MMIO bus ==== */

static uint64_t mmio_read(uint64_t off, unsigned int len)
{
	uint64_t v = 0;

	cr_assert(
	    bus_access(&drv->vm.mmio, drv->t->base + off, &v, len, false));
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
	fdrv_reg_write(drv, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	feat = mmio_read(VIRTIO_MMIO_DEVICE_FEATURES, 4);
	fdrv_reg_write(drv, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
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
	bad = drv->t->bad_accesses;
	cr_assert_eq(mmio_read(CONFIG_OFF + cfg_size, 4), 0);
	cr_assert_eq(mmio_read(CONFIG_OFF + cfg_size - 2, 4), 0);
	cr_assert_eq(drv->t->bad_accesses, bad + 2);
	/* The config space is read-only: a write changes nothing. */
	cr_assert(bus_access(&drv->vm.mmio, drv->t->base + CONFIG_OFF, junk, 4,
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
	struct ev_op stop = { .cb = on_timeout, .opaque = &drv->vm.loop };

	drv->vm.loop.done = false;
	cr_assert_eq(evloop_timeout(&drv->vm.loop, &stop, 50), 0);
	cr_assert_eq(evloop_run(&drv->vm.loop), 0);
}

static void mmio_write32(uint64_t off, uint32_t v)
{
	cr_assert(bus_access(&drv->vm.mmio, drv->t->base + off, &v, 4, true));
}

Test(vnet, kicks_through_eventfds_and_the_event_loop)
{
	uint8_t f[300];
	uint64_t one = 1;

	net_setup();
	virtio_mmio_start(drv->t);
	cr_assert_eq(vnet_start(env.n), 0);
	cr_assert_eq(env.fake.start_calls, 1);
	make_frame(f, sizeof(f), 21);

	/* Transmit: what KVM's ioeventfd does on a QueueNotify write. */
	tx_two(0, &plain_hdr, f, sizeof(f), HDR_LEN + 100);
	fdrv_publish(drv, TXQ, 0);
	cr_assert_eq(write(drv->t->kick_fd[TXQ], &one, sizeof(one)), 8);
	run_loop_briefly();
	fdrv_expect_used(drv, TXQ, 0, 0);
	expect_sent(0, f, sizeof(f));
	/* One interrupt for the batch, after it. */
	cr_assert(fdrv_reg_read(drv, VIRTIO_MMIO_INTERRUPT_STATUS) &
		  VIRTIO_MMIO_INT_VRING);
	mmio_write32(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	cr_assert_eq(fdrv_reg_read(drv, VIRTIO_MMIO_INTERRUPT_STATUS), 0);

	/* Receive: no buffer, then a QueueNotify register write. */
	cr_assert_eq(inject(f, sizeof(f)), -ENOBUFS);
	rx_post_one(0, 2048);
	mmio_write32(VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
	run_loop_briefly();
	cr_assert_eq(env.fake.rx_ready_calls, 1);
	cr_assert_eq(inject(f, sizeof(f)), 0);
	run_loop_briefly(); /* the batch's interrupt */
	fdrv_expect_used(drv, RXQ, 0, HDR_LEN + sizeof(f));
	cr_assert(fdrv_reg_read(drv, VIRTIO_MMIO_INTERRUPT_STATUS) &
		  VIRTIO_MMIO_INT_VRING);
}
