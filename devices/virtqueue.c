// SPDX-License-Identifier: MIT
/*
 * Split virtqueue, device side (virtio 1.2 §2.7).  The driver owns the
 * descriptor table and the available ring; the device owns the used ring.
 * Indexes are free-running 16-bit counters; ring slots are index % size.
 */
#include "virtqueue.h"

#include <errno.h>
#include <linux/virtio_ring.h>
#include <stddef.h>
#include <string.h>

#include "../vmm/mem.h"

void vq_init(struct virtqueue *vq, const struct guest_mem *mem,
	     uint16_t max_size)
{
	memset(vq, 0, sizeof(*vq));
	vq->mem = mem;
	vq->max_size = max_size;
}

void vq_reset(struct virtqueue *vq)
{
	vq_init(vq, vq->mem, vq->max_size);
}

int vq_enable(struct virtqueue *vq)
{
	uint64_t n = vq->size;

	/* Refused means disabled, even for a queue that was enabled before. */
	vq->ready = false;
	/* §2.7: power-of-two size; alignments 16, 2 and 4 (§2.7.2). */
	if (n == 0 || n > vq->max_size || (n & (n - 1)))
		return -EINVAL;
	if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) || (vq->used_gpa & 3))
		return -EINVAL;
	vq->desc = gm_ptr(vq->mem, vq->desc_gpa, 16 * n);
	/* flags, idx, ring[n], used_event */
	vq->avail = gm_ptr(vq->mem, vq->avail_gpa, 6 + 2 * n);
	/* flags, idx, ring[n] of {id, len}, avail_event */
	vq->used = gm_ptr(vq->mem, vq->used_gpa, 6 + 8 * n);
	if (!vq->desc || !vq->avail || !vq->used) {
		vq->desc = NULL;
		vq->avail = NULL;
		vq->used = NULL;
		return -EINVAL;
	}
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->signalled_valid = false;
	vq->broken = false;
	vq->ready = true;
	return 0;
}

static uint16_t vq_avail_idx(const struct virtqueue *vq)
{
	/* Read the index before the ring entries it covers (§2.7.13). */
	return __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);
}

/* Add one descriptor's buffer to the chain, checking everything. */
static int vq_add_buf(struct virtqueue *vq, struct vq_chain *c,
		      uint64_t addr, uint32_t len, bool writable)
{
	void *host;
	uint64_t *total;

	if (c->n_out + c->n_in >= VQ_MAX_SEGS)
		return -E2BIG;
	/* Readable buffers must all come before writable ones (§2.7.4.2). */
	if (!writable && c->n_in)
		return -EINVAL;
	if (len == 0)
		return 0; /* nothing to map; harmless */
	host = gm_ptr(vq->mem, addr, len);
	if (!host)
		return -EFAULT;
	total = writable ? &c->in_len : &c->out_len;
	if (__builtin_add_overflow(*total, (uint64_t)len, total))
		return -EOVERFLOW;
	c->iov[c->n_out + c->n_in] =
		(struct iovec){ .iov_base = host, .iov_len = len };
	if (writable)
		c->n_in++;
	else
		c->n_out++;
	return 0;
}

/* Remember the descriptor as the chain's tail if a device may write it. */
static void vq_note_tail(struct virtqueue *vq, struct vq_chain *c,
			 const struct vring_desc *d)
{
	void *host = NULL;

	if ((d->flags & VRING_DESC_F_WRITE) && d->len)
		host = gm_ptr(vq->mem, d->addr, d->len);
	c->tail = (struct iovec){ .iov_base = host,
				  .iov_len = host ? d->len : 0 };
}

/* Walk an indirect table (§2.7.5.3): no nesting, no NEXT beyond it. */
static int vq_walk_indirect(struct virtqueue *vq, struct vq_chain *c,
			    uint64_t addr, uint32_t len)
{
	const struct vring_desc *table;
	uint32_t n = len / sizeof(struct vring_desc), i = 0, steps = 0;

	/* No alignment rule for indirect tables; Linux's are 8-aligned. */
	if (len == 0 || len % sizeof(struct vring_desc) || n > VQ_MAX_SEGS)
		return -EINVAL;
	table = gm_ptr(vq->mem, addr, len);
	if (!table)
		return -EFAULT;
	for (;;) {
		struct vring_desc d;
		int ret;

		/* The driver may change the table under us: copy first. */
		memcpy(&d, &table[i], sizeof(d));
		vq_note_tail(vq, c, &d);
		if (d.flags & VRING_DESC_F_INDIRECT)
			return -EINVAL;
		ret = vq_add_buf(vq, c, d.addr, d.len,
				 d.flags & VRING_DESC_F_WRITE);
		if (ret)
			return ret;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		i = d.next;
		/* In range, and at most n steps: a cycle ends here. */
		if (i >= n || ++steps >= n)
			return -EINVAL;
	}
}

int vq_pop(struct virtqueue *vq, struct vq_chain *c)
{
	uint16_t avail_idx, head, i;
	unsigned int steps = 0;
	int ret = 0;

	if (!vq->ready || vq->broken)
		return 0;
	avail_idx = vq_avail_idx(vq);
	if (avail_idx == vq->last_avail)
		return 0;
	/* More than a ring's worth outstanding: the driver is broken. */
	if ((uint16_t)(avail_idx - vq->last_avail) > vq->size) {
		vq->broken = true;
		return -EIO;
	}
	head = __atomic_load_n(&vq->avail->ring[vq->last_avail % vq->size],
			       __ATOMIC_RELAXED);
	vq->last_avail++;

	c->head = head;
	c->bad = false;
	c->n_out = c->n_in = 0;
	c->out_len = c->in_len = 0;
	c->tail = (struct iovec){ 0 };
	if (head >= vq->size) {
		c->bad = true;
		vq->bad_chains++;
		return 1;
	}
	for (i = head;;) {
		struct vring_desc d;

		memcpy(&d, &vq->desc[i], sizeof(d));
		vq_note_tail(vq, c, &d);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			/* An indirect descriptor must be alone (§2.7.5.3.1). */
			if (steps || (d.flags & VRING_DESC_F_NEXT))
				ret = -EINVAL;
			else if (!ret)
				ret = vq_walk_indirect(vq, c, d.addr, d.len);
			break;
		}
		/*
		 * After a bad buffer, keep walking without collecting: the
		 * chain's tail is where the device reports the error.
		 */
		if (!ret)
			ret = vq_add_buf(vq, c, d.addr, d.len,
					 d.flags & VRING_DESC_F_WRITE);
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		i = d.next;
		/* Index in range, and at most size steps: cycles end here. */
		if (i >= vq->size || ++steps >= vq->size) {
			ret = -EINVAL;
			break;
		}
	}
	if (ret) {
		c->bad = true;
		vq->bad_chains++;
	}
	return 1;
}

void vq_unpop(struct virtqueue *vq)
{
	vq->last_avail--;
}

void vq_push(struct virtqueue *vq, uint16_t head, uint32_t len)
{
	struct vring_used_elem *e;

	if (!vq->ready)
		return;
	e = &vq->used->ring[vq->used_idx % vq->size];
	e->id = head;
	e->len = len;
	vq->used_idx++;
	/* The element must be visible before the index that covers it. */
	__atomic_store_n(&vq->used->idx, vq->used_idx, __ATOMIC_RELEASE);
}

bool vq_should_notify(struct virtqueue *vq)
{
	uint16_t old, new = vq->used_idx, event;
	bool valid;

	if (!vq->ready)
		return false;
	/* Order the used index store before reading the driver's wishes. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)
		return !(__atomic_load_n(&vq->avail->flags, __ATOMIC_RELAXED) &
			 VRING_AVAIL_F_NO_INTERRUPT);
	old = vq->signalled_used;
	valid = vq->signalled_valid;
	vq->signalled_used = new;
	vq->signalled_valid = true;
	/* used_event sits after the avail ring (§2.7.10). */
	event = __atomic_load_n(&vq->avail->ring[vq->size], __ATOMIC_RELAXED);
	return !valid || vring_need_event(event, new, old);
}

bool vq_enable_notify(struct virtqueue *vq)
{
	if (!vq->ready || !vq->event_idx)
		return false;
	/* avail_event sits after the used ring. */
	__atomic_store_n((uint16_t *)&vq->used->ring[vq->size], vq->last_avail,
			 __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return vq_avail_idx(vq) != vq->last_avail;
}

/* Copy between @buf and segments [first, end) of the chain, from @off. */
static size_t vq_copy(const struct vq_chain *c, unsigned int first,
		      unsigned int end, uint64_t off, void *buf, size_t len,
		      bool to_chain)
{
	size_t done = 0;

	for (unsigned int i = first; i < end && done < len; i++) {
		const struct iovec *v = &c->iov[i];
		uint8_t *seg;
		size_t n;

		if (off >= v->iov_len) {
			off -= v->iov_len;
			continue;
		}
		seg = (uint8_t *)v->iov_base + off;
		n = v->iov_len - off;
		if (n > len - done)
			n = len - done;
		if (to_chain)
			memcpy(seg, (uint8_t *)buf + done, n);
		else
			memcpy((uint8_t *)buf + done, seg, n);
		done += n;
		off = 0;
	}
	return done;
}

size_t vq_copy_from(const struct vq_chain *c, uint64_t off, void *dst,
		    size_t len)
{
	return vq_copy(c, 0, c->n_out, off, dst, len, false);
}

size_t vq_copy_to(const struct vq_chain *c, uint64_t off, const void *src,
		  size_t len)
{
	return vq_copy(c, c->n_out, c->n_out + c->n_in, off, (void *)src, len,
		       true);
}
