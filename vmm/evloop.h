/* SPDX-License-Identifier: MIT */
/*
 * The event loop: one io_uring for all device I/O and host events (stdin,
 * stop requests, timeouts).  It runs on the main thread after the vCPUs have
 * started.  Each in-flight operation is a struct ev_op whose address is the
 * SQE's user_data and whose first field is the completion callback.
 */
#ifndef MINIVMM_EVLOOP_H
#define MINIVMM_EVLOOP_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>

struct ev_op;
typedef void (*ev_cb)(struct ev_op *op, int res, uint32_t cqe_flags);

struct ev_op {
	ev_cb cb; /* first field: the CQE's user_data points here */
	void *opaque;
	bool armed;
	struct __kernel_timespec ts; /* for evloop_timeout() */
};

/* Work to run once after the current batch of completions (§STYLE: one
 * interrupt per batch). */
struct ev_defer {
	void (*fn)(struct ev_defer *d);
	struct ev_defer *next;
	bool queued;
};

struct evloop {
	struct io_uring ring;
	struct ev_defer *deferred;
	unsigned int inflight;
	unsigned int cap; /* completion queue entries: cap on inflight */
	bool done;
};

int evloop_init(struct evloop *loop, unsigned int entries);
void evloop_destroy(struct evloop *loop);

/*
 * Queue a one-shot poll of @fd for @events (POLLIN...).  The callback gets
 * the poll result mask or -errno.  Returns 0 or -EBUSY when the ring is full.
 */
int evloop_poll(struct evloop *loop, struct ev_op *op, int fd,
		unsigned int events);

/* Queue a one-shot relative timeout of @ms milliseconds. */
int evloop_timeout(struct evloop *loop, struct ev_op *op, uint64_t ms);

/* A free submission entry charged to @op, or NULL when the ring is full. */
struct io_uring_sqe *evloop_sqe(struct evloop *loop, struct ev_op *op);

/* Run @d once after the completions being handled now (idempotent). */
void evloop_defer(struct evloop *loop, struct ev_defer *d);

/* Run until evloop_stop(); returns 0 or -errno on a ring failure. */
int evloop_run(struct evloop *loop);
void evloop_stop(struct evloop *loop);

#endif
