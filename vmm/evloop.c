// SPDX-License-Identifier: MIT
/*
 * io_uring event loop.  Submissions are batched: callbacks queue SQEs and the
 * loop submits them all with the wait for the next completion.
 */
#include "evloop.h"

#include <errno.h>
#include <poll.h>
#include <string.h>

int evloop_init(struct evloop *loop, unsigned int entries)
{
	struct io_uring_params p;
	int ret;

	memset(loop, 0, sizeof(*loop));
	memset(&p, 0, sizeof(p));
	ret = io_uring_queue_init_params(entries, &loop->ring, &p);
	if (ret < 0)
		return ret;
	loop->cap = p.cq_entries;
	return 0;
}

void evloop_destroy(struct evloop *loop)
{
	io_uring_queue_exit(&loop->ring);
}

struct io_uring_sqe *evloop_sqe(struct evloop *loop, struct ev_op *op)
{
	struct io_uring_sqe *sqe;

	/* Back-pressure: never more in flight than the CQ can hold. */
	if (loop->inflight >= loop->cap)
		return NULL;
	sqe = io_uring_get_sqe(&loop->ring);
	if (!sqe) {
		io_uring_submit(&loop->ring);
		sqe = io_uring_get_sqe(&loop->ring);
		if (!sqe)
			return NULL;
	}
	io_uring_sqe_set_data(sqe, op);
	loop->inflight++;
	op->armed = true;
	return sqe;
}

int evloop_poll(struct evloop *loop, struct ev_op *op, int fd,
		unsigned int events)
{
	struct io_uring_sqe *sqe = evloop_sqe(loop, op);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_poll_add(sqe, fd, events);
	return 0;
}

int evloop_timeout(struct evloop *loop, struct ev_op *op, uint64_t ms)
{
	struct io_uring_sqe *sqe = evloop_sqe(loop, op);

	if (!sqe)
		return -EBUSY;
	op->ts.tv_sec = ms / 1000;
	op->ts.tv_nsec = (ms % 1000) * 1000000;
	io_uring_prep_timeout(sqe, &op->ts, 0, 0);
	return 0;
}

void evloop_defer(struct evloop *loop, struct ev_defer *d)
{
	if (d->queued)
		return;
	d->queued = true;
	d->next = loop->deferred;
	loop->deferred = d;
}

static void evloop_run_deferred(struct evloop *loop)
{
	while (loop->deferred) {
		struct ev_defer *d = loop->deferred;

		loop->deferred = d->next;
		d->queued = false;
		d->fn(d);
	}
}

void evloop_stop(struct evloop *loop)
{
	loop->done = true;
}

int evloop_run(struct evloop *loop)
{
	while (!loop->done) {
		struct io_uring_cqe *cqe;
		unsigned int head, seen = 0;
		int ret;

		ret = io_uring_submit_and_wait(&loop->ring, 1);
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN)
			return ret;
		io_uring_for_each_cqe(&loop->ring, head, cqe) {
			struct ev_op *op = io_uring_cqe_get_data(cqe);

			seen++;
			if (!op)
				continue;
			if (!(cqe->flags & IORING_CQE_F_MORE)) {
				loop->inflight--;
				op->armed = false;
			}
			op->cb(op, cqe->res, cqe->flags);
		}
		io_uring_cq_advance(&loop->ring, seen);
		evloop_run_deferred(loop);
	}
	return 0;
}
