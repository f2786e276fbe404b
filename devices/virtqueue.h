/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues (virtio 1.2 §2.7), device side.  Every value the guest
 * controls is checked here, once: ring addresses, sizes, indexes, descriptor
 * chains, indirect tables and lengths.  The queue knows nothing of the device
 * that uses it; it deals in chains of host buffers.
 */
#ifndef MINIVMM_VIRTQUEUE_H
#define MINIVMM_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

struct guest_mem;

/* The most segments one chain may have; longer chains are errors. */
#define VQ_MAX_SEGS 256

struct virtqueue {
	const struct guest_mem *mem;
	uint16_t max_size; /* QueueNumMax */
	uint16_t size; /* QueueNum, set by the driver */
	bool ready;
	bool event_idx; /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool broken; /* the driver broke the ring; stop using it */
	uint64_t desc_gpa, avail_gpa, used_gpa;

	uint16_t last_avail; /* next avail ring slot to consume */
	uint16_t used_idx; /* our copy of used->idx */
	uint16_t signalled_used; /* used_idx at the last interrupt */
	bool signalled_valid;

	/* Host pointers, valid once vq_enable() succeeded. */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;

	uint64_t bad_chains; /* completed with an error instead of processed */
};

struct vq_chain {
	uint16_t head;
	bool bad; /* the chain broke a rule; bufs holds what was valid */
	unsigned int n_out, n_in; /* device-readable first, then writable */
	/*
	 * The chain's final descriptor when it is writable and inside RAM,
	 * even if the chain is bad: where a device writes its error status.
	 */
	struct iovec tail;
	uint64_t out_len, in_len;
	struct iovec iov[VQ_MAX_SEGS]; /* out segments, then in segments */
};

/* Initial state for a queue of up to @max_size entries in @mem. */
void vq_init(struct virtqueue *vq, const struct guest_mem *mem,
	     uint16_t max_size);

/* Back to the reset state (addresses, size and indexes cleared). */
void vq_reset(struct virtqueue *vq);

/*
 * Check the driver's configuration and map the rings: size a power of two
 * and at most max_size, each ring aligned as the spec requires (§2.7) and
 * wholly inside guest RAM.  Returns 0 or -EINVAL (the queue stays disabled).
 */
int vq_enable(struct virtqueue *vq);

/*
 * Take the next available chain.  Returns 1 and fills @c, 0 when the ring is
 * empty, or -EIO when the driver's avail index ran more than the queue size
 * ahead (the queue is then marked broken; the device should ask for a reset).
 * A chain that breaks a rule is still returned, with c->bad set, so that the
 * device can complete it with an error status: never dropped.
 */
int vq_pop(struct virtqueue *vq, struct vq_chain *c);

/* Give back the last popped chain (back-pressure: no room to start it). */
void vq_unpop(struct virtqueue *vq);

/* Put @head on the used ring with @len bytes written. */
void vq_push(struct virtqueue *vq, uint16_t head, uint32_t len);

/*
 * Whether the driver wants an interrupt for what was pushed since the last
 * one (VRING_AVAIL_F_NO_INTERRUPT, or used_event with EVENT_IDX).
 */
bool vq_should_notify(struct virtqueue *vq);

/*
 * With EVENT_IDX: tell the driver to notify us on its next addition.
 * Returns true when more buffers arrived meanwhile (pop again).
 */
bool vq_enable_notify(struct virtqueue *vq);

/* Copy up to @len bytes out of the chain's readable part at @off. */
size_t vq_copy_from(const struct vq_chain *c, uint64_t off, void *dst,
		    size_t len);
/* Copy into the chain's writable part at @off; returns bytes copied. */
size_t vq_copy_to(const struct vq_chain *c, uint64_t off, const void *src,
		  size_t len);

#endif
