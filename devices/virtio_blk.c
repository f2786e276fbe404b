// SPDX-License-Identifier: MIT
/*
 * virtio-blk device model.  One request: the driver's kick wakes the event
 * loop (ioeventfd); blk_process() pops every available chain, parses it
 * (malformed requests are completed at once with IOERR or UNSUPP) and queues
 * readv/writev/fsync on the loop's ring; each completion writes the status
 * byte and the used element; after the batch, one interrupt if the driver
 * asked for one.
 */
#include "virtio_blk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../vmm/vm.h"
#include "virtio_mmio.h"

#define VBLK_QUEUE_MAX 256
#define VBLK_SECTOR 512ULL
#define VBLK_HDR_LEN 16

struct blk_req {
	struct ev_op op; /* first: the CQE's user_data */
	struct vblk *blk;
	bool busy;
	uint32_t gen; /* device generation it belongs to */
	uint16_t head;
	uint32_t type;
	uint8_t *status; /* the status byte, in guest memory */
	uint64_t offset; /* file offset of the next byte to transfer */
	uint64_t remaining; /* bytes still to transfer */
	uint32_t data_len;
	unsigned int niov, iov_first;
	struct iovec iov[VQ_MAX_SEGS];
};

struct vblk {
	struct vm *vm;
	struct virtio_mmio *t;
	char path[256];
	int fd;
	bool ro;
	uint64_t size; /* bytes */
	char id[VIRTIO_BLK_ID_BYTES];
	struct virtio_blk_config cfg;
	struct blk_req *reqs; /* indexed by chain head */
	uint32_t gen;
	bool blocked; /* ring full: resume after completions */
	bool need_signal;
	struct ev_defer after_batch;
	struct vblk_stats stats;
};

static void blk_process(struct vblk *b);

/* Complete a request: status byte, used element, interrupt after batch. */
static void blk_complete(struct vblk *b, uint16_t head, uint8_t *status,
			 uint8_t code, uint32_t written)
{
	if (status)
		*status = code;
	if (code == VIRTIO_BLK_S_IOERR)
		b->stats.ioerr++;
	else if (code == VIRTIO_BLK_S_UNSUPP)
		b->stats.unsupp++;
	vq_push(&b->t->vq[0], head, written);
	b->need_signal = true;
	evloop_defer(&b->vm->loop, &b->after_batch);
}

/*
 * The status byte: the last byte of the chain's final descriptor, when that
 * is writable and in RAM (for a bad chain too, so the error is reported).
 */
static uint8_t *chain_status(const struct vq_chain *c)
{
	if (!c->tail.iov_base)
		return NULL;
	return (uint8_t *)c->tail.iov_base + c->tail.iov_len - 1;
}

/*
 * The data buffers of a request: for IN, the writable part less the status
 * byte; for OUT, the readable part after the 16-byte header.
 */
static int chain_data(const struct vq_chain *c, bool in, struct blk_req *r)
{
	uint64_t skip = in ? 0 : VBLK_HDR_LEN;
	uint64_t want = in ? c->in_len - 1 : c->out_len - VBLK_HDR_LEN;
	unsigned int first = in ? c->n_out : 0;
	unsigned int end = in ? c->n_out + c->n_in : c->n_out;
	uint64_t got = 0;

	r->niov = 0;
	for (unsigned int i = first; i < end && got < want; i++) {
		struct iovec v = c->iov[i];

		if (skip >= v.iov_len) {
			skip -= v.iov_len;
			continue;
		}
		v.iov_base = (uint8_t *)v.iov_base + skip;
		v.iov_len -= skip;
		skip = 0;
		if (v.iov_len > want - got)
			v.iov_len = want - got;
		r->iov[r->niov++] = v;
		got += v.iov_len;
	}
	if (got != want || want > UINT32_MAX)
		return -EINVAL;
	r->data_len = (uint32_t)want;
	return 0;
}

static bool blk_submit(struct vblk *b, struct blk_req *r)
{
	struct io_uring_sqe *sqe = evloop_sqe(&b->vm->loop, &r->op);

	if (!sqe)
		return false;
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		io_uring_prep_readv(sqe, b->fd, r->iov + r->iov_first,
				    r->niov - r->iov_first, r->offset);
		break;
	case VIRTIO_BLK_T_OUT:
		io_uring_prep_writev(sqe, b->fd, r->iov + r->iov_first,
				     r->niov - r->iov_first, r->offset);
		break;
	default: /* VIRTIO_BLK_T_FLUSH */
		io_uring_prep_fsync(sqe, b->fd, IORING_FSYNC_DATASYNC);
		break;
	}
	return true;
}

/* Drop @n transferred bytes from the front of the request's iovecs. */
static void req_advance(struct blk_req *r, uint64_t n)
{
	r->offset += n;
	r->remaining -= n;
	while (n && r->iov_first < r->niov) {
		struct iovec *v = &r->iov[r->iov_first];

		if (n < v->iov_len) {
			v->iov_base = (uint8_t *)v->iov_base + n;
			v->iov_len -= n;
			return;
		}
		n -= v->iov_len;
		r->iov_first++;
	}
}

static void blk_io_done(struct ev_op *op, int res, uint32_t flags)
{
	struct blk_req *r = (struct blk_req *)op;
	struct vblk *b = r->blk;
	uint8_t code = VIRTIO_BLK_S_OK;

	(void)flags;
	pthread_mutex_lock(&b->t->lock);
	if (r->gen != b->gen) {
		/* The device was reset while this ran: forget it. */
		r->busy = false;
		goto out;
	}
	if (res == -EAGAIN || res == -EINTR ||
	    (res > 0 && r->type != VIRTIO_BLK_T_FLUSH &&
	     (uint64_t)res < r->remaining)) {
		/* Short transfer or try again: resubmit the rest. */
		if (res > 0)
			req_advance(r, (uint64_t)res);
		b->stats.resubmits++;
		if (blk_submit(b, r))
			goto out;
		code = VIRTIO_BLK_S_IOERR;
	} else if (res < 0 || (res == 0 && r->remaining)) {
		code = VIRTIO_BLK_S_IOERR; /* error, or EOF under the data */
	} else if (r->type == VIRTIO_BLK_T_IN) {
		b->stats.bytes_read += r->data_len;
	} else if (r->type == VIRTIO_BLK_T_OUT) {
		b->stats.bytes_written += r->data_len;
	}
	r->busy = false;
	blk_complete(b, r->head, r->status, code,
		     (code == VIRTIO_BLK_S_OK && r->type == VIRTIO_BLK_T_IN ?
			      r->data_len : 0) + 1);
	if (b->blocked) {
		b->blocked = false;
		blk_process(b);
	}
out:
	pthread_mutex_unlock(&b->t->lock);
}

/*
 * Count an accepted read, write or flush.  Only once it is started: a chain
 * given back under back-pressure is popped and parsed again later, and
 * counting it at parse time would count it twice.
 */
static void blk_count(struct vblk *b, uint32_t type)
{
	if (type == VIRTIO_BLK_T_IN)
		b->stats.reads++;
	else if (type == VIRTIO_BLK_T_OUT)
		b->stats.writes++;
	else
		b->stats.flushes++;
}

/* Parse one chain; returns false when the ring is full (chain given back). */
static bool blk_handle(struct vblk *b, const struct vq_chain *c)
{
	struct virtio_blk_outhdr hdr;
	uint8_t *status = chain_status(c);
	struct blk_req *r;
	uint64_t offset, end;

	if (c->bad || c->head >= VBLK_QUEUE_MAX || !status ||
	    c->out_len < VBLK_HDR_LEN) {
		blk_complete(b, c->head, status, VIRTIO_BLK_S_IOERR, status ? 1 : 0);
		return true;
	}
	r = &b->reqs[c->head];
	if (r->busy) {
		/* The driver reused a head still in flight: refuse this one. */
		blk_complete(b, c->head, status, VIRTIO_BLK_S_IOERR, 1);
		return true;
	}
	vq_copy_from(c, 0, &hdr, sizeof(hdr));
	r->type = hdr.type;
	r->head = c->head;
	r->status = status;
	r->iov_first = 0;
	switch (hdr.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (chain_data(c, hdr.type == VIRTIO_BLK_T_IN, r) ||
		    r->data_len % VBLK_SECTOR ||
		    __builtin_mul_overflow(hdr.sector, VBLK_SECTOR, &offset) ||
		    __builtin_add_overflow(offset, r->data_len, &end) ||
		    end > b->size ||
		    (hdr.type == VIRTIO_BLK_T_OUT && b->ro)) {
			blk_complete(b, c->head, status, VIRTIO_BLK_S_IOERR, 1);
			return true;
		}
		r->offset = offset;
		r->remaining = r->data_len;
		if (r->data_len == 0) {
			blk_count(b, r->type);
			blk_complete(b, c->head, status, VIRTIO_BLK_S_OK, 1);
			return true;
		}
		break;
	case VIRTIO_BLK_T_FLUSH:
		r->remaining = 0;
		r->data_len = 0;
		break;
	case VIRTIO_BLK_T_GET_ID: {
		size_t n = c->in_len - 1 < sizeof(b->id) ? c->in_len - 1 :
							   sizeof(b->id);

		b->stats.get_ids++;
		vq_copy_to(c, 0, b->id, n);
		blk_complete(b, c->head, status, VIRTIO_BLK_S_OK, (uint32_t)n + 1);
		return true;
	}
	default:
		blk_complete(b, c->head, status, VIRTIO_BLK_S_UNSUPP, 1);
		return true;
	}
	r->gen = b->gen;
	if (!blk_submit(b, r)) {
		b->stats.backpressure++;
		return false;
	}
	blk_count(b, r->type);
	r->busy = true;
	return true;
}

/* Pop and start everything available.  Transport lock held. */
static void blk_process(struct vblk *b)
{
	struct virtqueue *vq = &b->t->vq[0];
	static __thread struct vq_chain c;

	if (b->blocked)
		return;
	for (;;) {
		int ret = vq_pop(vq, &c);

		if (ret < 0) {
			/* The avail index is garbage: the driver must reset. */
			virtio_mmio_needs_reset(b->t);
			return;
		}
		if (ret == 0) {
			if (vq_enable_notify(vq))
				continue; /* more arrived while we looked */
			return;
		}
		if (!blk_handle(b, &c)) {
			vq_unpop(vq);
			b->blocked = true;
			return;
		}
	}
}

static void blk_after_batch(struct ev_defer *d)
{
	struct vblk *b = (struct vblk *)((uint8_t *)d -
					 offsetof(struct vblk, after_batch));

	pthread_mutex_lock(&b->t->lock);
	if (b->need_signal) {
		b->need_signal = false;
		virtio_mmio_signal(b->t, 0);
	}
	pthread_mutex_unlock(&b->t->lock);
}

static void blk_notify(void *dev, unsigned int queue)
{
	(void)queue;
	blk_process(dev);
}

static int blk_activate(void *dev)
{
	struct vblk *b = dev;

	b->blocked = false;
	return 0;
}

static void blk_reset(void *dev)
{
	struct vblk *b = dev;

	/* In-flight requests finish against the old generation, unseen. */
	b->gen++;
	b->blocked = false;
	b->need_signal = false;
}

static const struct virtio_dev_ops blk_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.num_queues = 1,
	.queue_max = VBLK_QUEUE_MAX,
	.notify = blk_notify,
	.activate = blk_activate,
	.reset = blk_reset,
};

int vblk_attach(struct vm *vm, const char *path, bool read_only,
		struct vblk **out, char *err, unsigned long errlen)
{
	uint64_t features = (1ULL << VIRTIO_BLK_F_SEG_MAX) |
			    (1ULL << VIRTIO_BLK_F_FLUSH) |
			    (1ULL << VIRTIO_RING_F_EVENT_IDX) |
			    (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	struct stat st;
	struct vblk *b;
	const char *base;
	int ret;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->vm = vm;
	b->ro = read_only;
	snprintf(b->path, sizeof(b->path), "%s", path);
	b->fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (b->fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "disk '%s': %s", path, strerror(errno));
		goto fail;
	}
	if (fstat(b->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		snprintf(err, errlen, "disk '%s': not a regular file", path);
		goto fail;
	}
	if (st.st_size % VBLK_SECTOR) {
		ret = -EINVAL;
		snprintf(err, errlen,
			 "disk '%s': size %lld is not a multiple of 512 bytes (pad it: truncate -s %%512 FILE)",
			 path, (long long)st.st_size);
		goto fail;
	}
	b->size = (uint64_t)st.st_size;
	b->reqs = calloc(VBLK_QUEUE_MAX, sizeof(*b->reqs));
	if (!b->reqs) {
		ret = -ENOMEM;
		goto fail;
	}
	for (unsigned int i = 0; i < VBLK_QUEUE_MAX; i++) {
		b->reqs[i].op.cb = blk_io_done;
		b->reqs[i].blk = b;
	}
	b->after_batch.fn = blk_after_batch;
	/* GET_ID: the file's base name, truncated to 20 bytes, no NUL needed. */
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	memcpy(b->id, base, strnlen(base, sizeof(b->id)));
	b->cfg.capacity = b->size / VBLK_SECTOR;
	b->cfg.seg_max = VQ_MAX_SEGS - 2; /* header and status take two */
	if (read_only)
		features |= 1ULL << VIRTIO_BLK_F_RO;
	ret = virtio_mmio_attach(vm, &blk_ops, b, features, &b->cfg,
				 sizeof(b->cfg), &b->t);
	if (ret) {
		snprintf(err, errlen, "disk '%s': virtio-mmio: %s", path,
			 strerror(-ret));
		goto fail;
	}
	*out = b;
	return 0;
fail:
	if (b->fd >= 0)
		close(b->fd);
	free(b->reqs);
	free(b);
	return ret;
}

void vblk_start(struct vblk *b)
{
	virtio_mmio_start(b->t);
}

const struct vblk_stats *vblk_stats(const struct vblk *b)
{
	return &b->stats;
}

const char *vblk_path(const struct vblk *b)
{
	return b->path;
}

void vblk_destroy(struct vblk *b)
{
	if (!b)
		return;
	close(b->fd);
	free(b->reqs);
	free(b);
}
