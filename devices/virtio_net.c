// SPDX-License-Identifier: MIT
/*
 * virtio-net device model.  Transmit: the driver's kick pops every chain on
 * the transmit queue, strips the 12-byte virtio_net_hdr, completes a partial
 * checksum if the driver asked for one and hands the frame to the backend.
 * Receive: the backend delivers a frame, which goes into the next receive
 * buffer behind a header saying its checksum is valid.  With no receive
 * buffer the frame is dropped and counted: never a stall of the VMM.
 */
#include "virtio_net.h"

#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>

#include "../vmm/vm.h"
#include "virtio_mmio.h"

#define VNET_RXQ 0
#define VNET_TXQ 1
#define VNET_QUEUE_MAX 256
#define VNET_HDR_LEN sizeof(struct virtio_net_hdr_v1)
#define VNET_MAX_FRAME 65550 /* 64 KiB IP packet plus Ethernet header */

struct vnet {
	struct vm *vm;
	struct virtio_mmio *t;
	struct net_backend *be;
	struct virtio_net_config cfg;
	struct vnet_stats stats;
	bool tx_blocked; /* backend said -EAGAIN; resume on tx_ready */
	bool rx_waiting; /* a frame was dropped for want of buffers */
	bool signal_rx, signal_tx;
	struct ev_defer after_batch;
	uint8_t frame[VNET_MAX_FRAME];
};

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (; len > 1; len -= 2, p += 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (len)
		sum += (uint32_t)(p[0] << 8);
	return sum;
}

int vnet_fill_csum(uint8_t *frame, size_t len, uint16_t start,
		   uint16_t offset)
{
	uint32_t sum;
	uint16_t res;

	if (start >= len || (size_t)start + offset + 2 > len)
		return -EINVAL;
	/*
	 * The driver has put the pseudo-header sum in the checksum field;
	 * summing over it completes the checksum (§5.1.6.2).
	 */
	sum = csum_add(0, frame + start, len - start);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	res = (uint16_t)~sum;
	/*
	 * A computed 0 goes out as 0xffff, its ones'-complement twin: in UDP
	 * a 0 means "no checksum" (RFC 768), and is invalid over IPv6.
	 */
	if (!res)
		res = 0xffff;
	frame[start + offset] = (uint8_t)(res >> 8);
	frame[start + offset + 1] = (uint8_t)res;
	return 0;
}

static void vnet_after_batch(struct ev_defer *d)
{
	struct vnet *n = (struct vnet *)((uint8_t *)d -
					 offsetof(struct vnet, after_batch));

	pthread_mutex_lock(&n->t->lock);
	if (n->signal_rx)
		virtio_mmio_signal(n->t, VNET_RXQ);
	if (n->signal_tx)
		virtio_mmio_signal(n->t, VNET_TXQ);
	n->signal_rx = n->signal_tx = false;
	pthread_mutex_unlock(&n->t->lock);
}

static void vnet_push(struct vnet *n, unsigned int q, uint16_t head,
		      uint32_t len)
{
	vq_push(&n->t->vq[q], head, len);
	if (q == VNET_RXQ)
		n->signal_rx = true;
	else
		n->signal_tx = true;
	evloop_defer(&n->vm->loop, &n->after_batch);
}

/* One transmit chain: returns false to stop (backend busy, chain kept). */
static bool vnet_tx_one(struct vnet *n, const struct vq_chain *c)
{
	struct virtio_net_hdr_v1 hdr;
	struct iovec iov;
	size_t len;
	int ret;

	/* A transmit chain is for the device to read: no writable part. */
	if (c->bad || c->n_in || c->out_len < VNET_HDR_LEN ||
	    c->out_len - VNET_HDR_LEN > VNET_MAX_FRAME) {
		n->stats.tx_bad++;
		vnet_push(n, VNET_TXQ, c->head, 0);
		return true;
	}
	vq_copy_from(c, 0, &hdr, sizeof(hdr));
	len = vq_copy_from(c, VNET_HDR_LEN, n->frame, c->out_len - VNET_HDR_LEN);
	/* We offered no segmentation offload: a GSO frame is malformed. */
	if (hdr.gso_type != VIRTIO_NET_HDR_GSO_NONE || len < 14 ||
	    ((hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	     vnet_fill_csum(n->frame, len, hdr.csum_start, hdr.csum_offset))) {
		n->stats.tx_bad++;
		vnet_push(n, VNET_TXQ, c->head, 0);
		return true;
	}
	if (hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		n->stats.csum_filled++;
	iov = (struct iovec){ .iov_base = n->frame, .iov_len = len };
	ret = n->be->ops->send(n->be, &iov, 1);
	if (ret == -EAGAIN) {
		n->tx_blocked = true;
		return false;
	}
	if (ret) {
		n->stats.tx_backend_errors++;
		n->be->tx_dropped++;
	} else {
		n->stats.tx_frames++;
		n->stats.tx_bytes += len;
		n->be->tx_frames++;
	}
	vnet_push(n, VNET_TXQ, c->head, 0);
	return true;
}

static void vnet_tx(struct vnet *n)
{
	struct virtqueue *vq = &n->t->vq[VNET_TXQ];
	static __thread struct vq_chain c;

	while (!n->tx_blocked) {
		int ret = vq_pop(vq, &c);

		if (ret < 0) {
			virtio_mmio_needs_reset(n->t);
			return;
		}
		if (ret == 0) {
			if (vq_enable_notify(vq))
				continue;
			return;
		}
		if (!vnet_tx_one(n, &c)) {
			vq_unpop(vq);
			return;
		}
	}
}

static void vnet_tx_ready(void *dev)
{
	struct vnet *n = dev;

	pthread_mutex_lock(&n->t->lock);
	n->tx_blocked = false;
	if (n->t->status & VIRTIO_CONFIG_S_DRIVER_OK)
		vnet_tx(n);
	pthread_mutex_unlock(&n->t->lock);
}

/* A frame from the backend.  Loop thread; takes the transport lock. */
static int vnet_receive(void *dev, const void *frame, size_t len)
{
	struct vnet *n = dev;
	struct virtqueue *vq = &n->t->vq[VNET_RXQ];
	static __thread struct vq_chain c;
	struct virtio_net_hdr_v1 hdr = {
		/* Our frames come from slirp or the host kernel: checked. */
		.flags = VIRTIO_NET_HDR_F_DATA_VALID,
		.gso_type = VIRTIO_NET_HDR_GSO_NONE,
		.num_buffers = 1,
	};
	int ret = -ENOBUFS;

	pthread_mutex_lock(&n->t->lock);
	if (!(n->t->status & VIRTIO_CONFIG_S_DRIVER_OK) || !vq->ready)
		goto drop;
	for (;;) {
		int r = vq_pop(vq, &c);

		if (r < 0) {
			virtio_mmio_needs_reset(n->t);
			goto drop;
		}
		if (r == 0) {
			/* Ask for a kick when buffers come; retry once. */
			if (vq_enable_notify(vq))
				continue;
			goto drop;
		}
		if (c.bad || c.n_out) {
			/* Receive buffers are device-writable only. */
			vnet_push(n, VNET_RXQ, c.head, 0);
			continue;
		}
		break;
	}
	if (c.in_len < VNET_HDR_LEN + len) {
		/* Too small for this frame; keep the buffer for the next. */
		vq_unpop(vq);
		n->stats.rx_too_big++;
		ret = -EMSGSIZE;
		goto out;
	}
	vq_copy_to(&c, 0, &hdr, sizeof(hdr));
	vq_copy_to(&c, VNET_HDR_LEN, frame, len);
	vnet_push(n, VNET_RXQ, c.head, (uint32_t)(VNET_HDR_LEN + len));
	n->stats.rx_frames++;
	n->stats.rx_bytes += len;
	n->be->rx_frames++;
	ret = 0;
	goto out;
drop:
	n->stats.rx_no_buffer++;
	n->be->rx_dropped++;
	n->rx_waiting = true;
out:
	pthread_mutex_unlock(&n->t->lock);
	return ret;
}

static const struct net_rx_ops vnet_rx_ops = {
	.receive = vnet_receive,
};

static void vnet_notify(void *dev, unsigned int queue)
{
	struct vnet *n = dev;

	if (queue == VNET_TXQ) {
		vnet_tx(n);
	} else if (n->rx_waiting) {
		/* Buffers are back: the backend may deliver again. */
		n->rx_waiting = false;
		if (n->be->ops->rx_ready)
			n->be->ops->rx_ready(n->be);
	}
}

static void vnet_reset(void *dev)
{
	struct vnet *n = dev;

	n->tx_blocked = false;
	n->signal_rx = n->signal_tx = false;
}

static const struct virtio_dev_ops vnet_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.num_queues = 2,
	.queue_max = VNET_QUEUE_MAX,
	.notify = vnet_notify,
	.reset = vnet_reset,
};

int vnet_attach(struct vm *vm, const uint8_t mac[6], struct net_backend *be,
		struct vnet **out)
{
	uint64_t features = (1ULL << VIRTIO_NET_F_MAC) |
			    (1ULL << VIRTIO_NET_F_STATUS) |
			    (1ULL << VIRTIO_NET_F_CSUM) |
			    (1ULL << VIRTIO_NET_F_GUEST_CSUM) |
			    (1ULL << VIRTIO_RING_F_EVENT_IDX) |
			    (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	struct vnet *n = calloc(1, sizeof(*n));
	int ret;

	if (!n)
		return -ENOMEM;
	n->vm = vm;
	n->be = be;
	be->rx = &vnet_rx_ops;
	be->rx_dev = n;
	be->tx_ready = vnet_tx_ready;
	memcpy(n->cfg.mac, mac, 6);
	n->cfg.status = VIRTIO_NET_S_LINK_UP;
	n->cfg.max_virtqueue_pairs = 1;
	n->after_batch.fn = vnet_after_batch;
	ret = virtio_mmio_attach(vm, &vnet_ops, n, features, &n->cfg,
				 sizeof(n->cfg), &n->t);
	if (ret) {
		free(n);
		return ret;
	}
	*out = n;
	return 0;
}

int vnet_start(struct vnet *n)
{
	/* The transport's queue polls are started with the others. */
	return n->be->ops->start ? n->be->ops->start(n->be) : 0;
}

const struct vnet_stats *vnet_stats(const struct vnet *n)
{
	return &n->stats;
}

const struct net_backend *vnet_backend(const struct vnet *n)
{
	return n->be;
}

void vnet_destroy(struct vnet *n)
{
	if (!n)
		return;
	if (n->be && n->be->ops->destroy)
		n->be->ops->destroy(n->be);
	free(n);
}
