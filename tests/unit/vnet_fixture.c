// SPDX-License-Identifier: MIT
/*
 * The virtio-net tests' fixture (see vnet_fixture.h): the fake backend, the
 * set-up, and the frames and transmit chains both executables build.
 */
#include "vnet_fixture.h"

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <pthread.h>
#include <string.h>

#include <criterion/criterion.h>

struct net_env env;
static struct fake_driver *const drv = &env.drv;

const uint8_t test_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

const struct virtio_net_hdr_v1 plain_hdr = {
	.gso_type = VIRTIO_NET_HDR_GSO_NONE,
};

/* ---- the fake backend ---- */

uint8_t fake_frames[FAKE_FRAMES][MAX_FRAME + 16];

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

void net_setup(void)
{
	uint64_t f = (1ULL << VIRTIO_F_VERSION_1) |
		     (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_CSUM) |
		     (1ULL << VIRTIO_NET_F_GUEST_CSUM);

	fdrv_vm_create(drv, MEM_SIZE);
	env.fake.be = (struct net_backend){ .ops = &fake_ops, .vm = &drv->vm };
	cr_assert_eq(vnet_attach(&drv->vm, test_mac, &env.fake.be, &env.n), 0);
	cr_assert_eq(vnet_backend(env.n), &env.fake.be);
	/* Both queues, QSIZE entries each. */
	fdrv_bind(drv, f, 2, QSIZE);
	fdrv_init(drv);
}

void net_teardown(void)
{
	fdrv_vm_destroy(drv);
	if (env.n) {
		vnet_destroy(env.n);
		cr_assert_eq(env.fake.destroy_calls, 1);
	}
	memset(&env, 0, sizeof(env));
}

/* ---- the driver side ---- */

const struct vnet_stats *stats(void)
{
	return vnet_stats(env.n);
}

uint64_t buf_gpa(unsigned int q, unsigned int d)
{
	return BUF_GPA + 0x10000ULL * q + 0x1000ULL * d;
}

void notify(unsigned int q)
{
	pthread_mutex_lock(&drv->t->lock);
	drv->t->ops->notify(drv->t->dev, q);
	pthread_mutex_unlock(&drv->t->lock);
}

int inject(const void *frame, size_t len)
{
	return env.fake.be.rx->receive(env.fake.be.rx_dev, frame, len);
}

/* ---- frames and transmit chains ---- */

void make_frame(uint8_t *f, size_t len, unsigned int seed)
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

uint16_t tx_chain(uint16_t d, const struct virtio_net_hdr_v1 *h,
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
		memcpy(fdrv_gpa(drv, a, seg[k]), all + off, seg[k]);
		off += seg[k];
		fdrv_set_desc(drv, TXQ, d + k, a, seg[k],
			      k + 1 < nseg ? VRING_DESC_F_NEXT : 0,
			      (uint16_t)(d + k + 1));
	}
	cr_assert_eq(off, HDR_LEN + len, "segments do not cover the frame");
	return d;
}

uint16_t tx_two(uint16_t d, const struct virtio_net_hdr_v1 *h, const uint8_t *f,
		size_t len, uint32_t first)
{
	uint32_t seg[2] = { first, (uint32_t)(HDR_LEN + len - first) };

	return tx_chain(d, h, f, len, seg, 2);
}

void expect_sent(unsigned int i, const uint8_t *f, size_t len)
{
	cr_assert_gt(env.fake.nframes, i);
	cr_assert_eq(env.fake.len[i % FAKE_FRAMES], len, "frame %u: %zu bytes",
		     i, env.fake.len[i % FAKE_FRAMES]);
	cr_assert_arr_eq(fake_frames[i % FAKE_FRAMES], f, len);
}

void tx_one(uint16_t d, const struct virtio_net_hdr_v1 *h, const uint8_t *f,
	    size_t len, uint32_t first)
{
	tx_two(d, h, f, len, first);
	fdrv_publish(drv, TXQ, d);
	notify(TXQ);
	fdrv_expect_used(drv, TXQ, d, 0);
}
