// SPDX-License-Identifier: MIT
/*
 * libslirp user-mode networking, driven by the VM's io_uring event loop on
 * its one thread.
 *
 * slirp wants a poll(2) loop: slirp_pollfds_fill() names the sockets it
 * cares about and how long it may sleep, slirp_pollfds_poll() handles what
 * became ready (and runs its TCP timers).  Here one "cycle" does it all
 * without sleeping: fill, poll(2) with a zero timeout for the real revents,
 * slirp_pollfds_poll(), then fill again for what to wait on next.  The
 * waiting is io_uring's: every fd of that second fill gets a one-shot poll,
 * and one absolute timeout covers both the fill's sleep limit and slirp's
 * own timers (see timeout_arm).  Any completion queues a cycle after the
 * batch (evloop_defer), so a burst of ready sockets costs one cycle.  So
 * does a frame from the guest (slirp_input may open sockets, arm timers or
 * queue frames waiting for ARP): every way into slirp is followed by a
 * cycle, and only the cycle arms the timeout.  The polls themselves, and
 * dropping them when slirp closes a socket, are net_slirp_watch.c's.
 */
#include "net_slirp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libslirp.h>
#include <linux/if_ether.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../vmm/vm.h"
#include "net_backend.h"
#include "net_slirp_watch.h"

/* The guest network, as in QEMU's -netdev user defaults. */

/* The largest frame slirp_input() is given: a 64 KiB IP packet. */
#define USER_FRAME_MAX (ETH_HLEN + 65536)
#define NEVER INT64_MAX
#define NS_PER_MS 1000000LL

/* A timer slirp asked for (timer_new_opaque); 4.7 uses one, for IPv6 RAs. */
struct ns_timer {
	struct ns_timer *next;
	SlirpTimerId id;
	void *cb_opaque;
	int64_t deadline; /* CLOCK_MONOTONIC ns, NEVER when idle */
};

struct net_slirp {
	struct net_backend be; /* first: the device holds &be */
	Slirp *slirp;
	struct evloop *loop;
	struct ev_defer cycle;
	bool dying; /* slirp_cleanup() running: the ring may be gone */

	/* The fill in progress: slirp's indexes point into pfd. */
	struct pollfd *pfd;
	unsigned int npfd, pfd_cap;
	struct ns_watchset watches; /* what the last fill asked for */

	struct ns_timer *timers;
	int64_t fill_deadline; /* when the last fill wants a new cycle */
	struct ev_op tmo_op; /* the absolute timeout */
	int64_t tmo_deadline; /* what tmo_op waits for, while armed */
	struct __kernel_timespec upd_ts; /* for IORING_TIMEOUT_UPDATE */
	struct ev_op aux_op; /* timeout update: result unused */

	uint64_t guest_errors;
	uint8_t frame[USER_FRAME_MAX]; /* a gathered multi-iovec frame */
};

static int64_t ns_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- the poll cycle ---- */

static short ns_to_poll(int ev)
{
	return (short)(((ev & SLIRP_POLL_IN) ? POLLIN : 0) |
		       ((ev & SLIRP_POLL_OUT) ? POLLOUT : 0) |
		       ((ev & SLIRP_POLL_PRI) ? POLLPRI : 0) |
		       ((ev & SLIRP_POLL_ERR) ? POLLERR : 0) |
		       ((ev & SLIRP_POLL_HUP) ? POLLHUP : 0));
}

static int ns_from_poll(short rev)
{
	/* POLLNVAL: an fd slirp no longer has; let it see an error. */
	return ((rev & POLLIN) ? SLIRP_POLL_IN : 0) |
	       ((rev & POLLOUT) ? SLIRP_POLL_OUT : 0) |
	       ((rev & POLLPRI) ? SLIRP_POLL_PRI : 0) |
	       ((rev & (POLLERR | POLLNVAL)) ? SLIRP_POLL_ERR : 0) |
	       ((rev & POLLHUP) ? SLIRP_POLL_HUP : 0);
}

static int ns_add_poll(int fd, int events, void *opaque)
{
	struct net_slirp *ns = opaque;

	if (ns->npfd == ns->pfd_cap) {
		unsigned int cap = ns->pfd_cap ? 2 * ns->pfd_cap : 16;
		struct pollfd *p = realloc(ns->pfd, cap * sizeof(*p));

		if (!p)
			return -1; /* slirp then skips this socket */
		ns->pfd = p;
		ns->pfd_cap = cap;
	}
	ns->pfd[ns->npfd] = (struct pollfd){ .fd = fd,
					     .events = ns_to_poll(events) };
	return (int)ns->npfd++;
}

static int ns_get_revents(int idx, void *opaque)
{
	struct net_slirp *ns = opaque;

	if (idx < 0 || (unsigned int)idx >= ns->npfd)
		return 0;
	return ns_from_poll(ns->pfd[idx].revents);
}

static void ns_to_timespec(struct __kernel_timespec *ts, int64_t t)
{
	ts->tv_sec = t / 1000000000LL;
	ts->tv_nsec = t % 1000000000LL;
}

/* One absolute CLOCK_MONOTONIC timeout for the earliest of the fill's
 * deadline and slirp's timers; moved earlier in place when needed.  A
 * deadline that moved later just costs one early, empty cycle. */
static void timeout_arm(struct net_slirp *ns)
{
	int64_t when = ns->fill_deadline;
	struct io_uring_sqe *sqe;

	for (struct ns_timer *t = ns->timers; t; t = t->next)
		if (t->deadline < when)
			when = t->deadline;
	if (when == NEVER)
		return;
	if (!ns->tmo_op.armed) {
		sqe = evloop_sqe(ns->loop, &ns->tmo_op);
		if (!sqe)
			return; /* ring full: completions will cycle */
		ns_to_timespec(&ns->tmo_op.ts, when);
		io_uring_prep_timeout(sqe, &ns->tmo_op.ts, 0,
				      IORING_TIMEOUT_ABS);
		ns->tmo_deadline = when;
	} else if (when < ns->tmo_deadline) {
		/*
		 * The kernel reads upd_ts at submission, so updates queued in
		 * one batch all see the latest, and earliest, deadline.
		 */
		sqe = evloop_sqe(ns->loop, &ns->aux_op);
		if (!sqe)
			return;
		ns_to_timespec(&ns->upd_ts, when);
		io_uring_prep_timeout_update(sqe, &ns->upd_ts,
					     (uint64_t)(uintptr_t)&ns->tmo_op,
					     IORING_TIMEOUT_ABS);
		ns->tmo_deadline = when;
	}
}

static void timeout_done(struct ev_op *op, int res, uint32_t flags)
{
	struct net_slirp *ns = op->opaque;

	(void)res;
	(void)flags;
	evloop_defer(ns->loop, &ns->cycle);
}

static void aux_done(struct ev_op *op, int res, uint32_t flags)
{
	/* -ENOENT: the timeout had completed; its CQE handles it. */
	(void)op;
	(void)res;
	(void)flags;
}

static void timers_run(struct net_slirp *ns)
{
	int64_t now = ns_now();
	struct ns_timer *t;
	/* A handler may re-arm, free or add timers: rescan after each; the
	 * bound keeps a timer re-armed in the past from spinning. */
	int budget = 16;

	do {
		for (t = ns->timers; t; t = t->next)
			if (t->deadline <= now)
				break;
		if (!t)
			return;
		t->deadline = NEVER;
		slirp_handle_timer(ns->slirp, t->id, t->cb_opaque);
	} while (--budget);
}

static void ns_cycle(struct net_slirp *ns)
{
	uint32_t timeout = UINT32_MAX;
	int error = 0;

	timers_run(ns);
	ns->npfd = 0;
	slirp_pollfds_fill(ns->slirp, &timeout, ns_add_poll, ns);
	if (ns->npfd && poll(ns->pfd, ns->npfd, 0) < 0)
		error = 1;
	slirp_pollfds_poll(ns->slirp, error, ns_get_revents, ns);

	timeout = UINT32_MAX;
	ns->npfd = 0;
	slirp_pollfds_fill(ns->slirp, &timeout, ns_add_poll, ns);
	ns_watchset_sync(&ns->watches, ns->pfd, ns->npfd);
	ns->fill_deadline = timeout == UINT32_MAX ?
				    NEVER :
				    ns_now() + (int64_t)timeout * NS_PER_MS;
	timeout_arm(ns);
}

static void ns_cycle_deferred(struct ev_defer *d)
{
	ns_cycle((struct net_slirp *)((uint8_t *)d -
				      offsetof(struct net_slirp, cycle)));
}

/* ---- callbacks from slirp ---- */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct net_slirp *ns = opaque;

	/*
	 * The device counts the frame, or the drop when the guest has no
	 * buffer (-ENOBUFS): slirp cannot hold frames back, TCP resends.
	 * This may run inside ops->send (ARP and ping replies, ACKs).
	 */
	if (ns->be.rx)
		ns->be.rx->receive(ns->be.rx_dev, buf, len);
	return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	struct net_slirp *ns = opaque;

	if (ns->guest_errors++ == 0)
		fprintf(stderr, "minivmm: slirp: guest error: %s (further ones not shown)\n",
			msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
	(void)opaque;
	return ns_now();
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque,
				 void *opaque)
{
	struct net_slirp *ns = opaque;
	struct ns_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->id = id;
	t->cb_opaque = cb_opaque;
	t->deadline = NEVER;
	t->next = ns->timers;
	ns->timers = t;
	return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
	struct net_slirp *ns = opaque;

	for (struct ns_timer **pp = &ns->timers; *pp; pp = &(*pp)->next) {
		if (*pp == timer) {
			*pp = ((struct ns_timer *)timer)->next;
			free(timer);
			return;
		}
	}
}

/* @expire_ms is absolute, on the clock_get_ns() clock.  The cycle that
 * follows every call into slirp arms the timeout. */
static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	struct ns_timer *t = timer;

	(void)opaque;
	if (t)
		t->deadline = expire_ms > NEVER / NS_PER_MS ?
				      NEVER :
				      expire_ms * NS_PER_MS;
}

static void cb_register_poll_fd(int fd, void *opaque)
{
	(void)fd;
	(void)opaque;
}

/* slirp is about to close @fd: drop its poll (and so its file reference)
 * and free the number for reuse. */
static void cb_unregister_poll_fd(int fd, void *opaque)
{
	struct net_slirp *ns = opaque;

	ns_watchset_forget(&ns->watches, fd, ns->dying);
}

static void cb_notify(void *opaque)
{
	struct net_slirp *ns = opaque;

	if (!ns->dying)
		evloop_defer(ns->loop, &ns->cycle);
}

static const SlirpCb ns_callbacks = {
	.send_packet = cb_send_packet,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock_get_ns,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_register_poll_fd,
	.unregister_poll_fd = cb_unregister_poll_fd,
	.notify = cb_notify,
	.timer_new_opaque = cb_timer_new_opaque,
};

/* ---- the backend ---- */

static int ns_send(struct net_backend *be, const struct iovec *iov,
		   int iovcnt)
{
	struct net_slirp *ns = (struct net_slirp *)be;
	const uint8_t *frame = ns->frame;
	size_t len = 0;

	for (int i = 0; i < iovcnt; i++)
		if (__builtin_add_overflow(len, iov[i].iov_len, &len) ||
		    len > USER_FRAME_MAX)
			return -EMSGSIZE;
	if (iovcnt == 1) {
		frame = iov[0].iov_base; /* the usual case: no copy */
	} else {
		size_t off = 0;

		for (int i = 0; i < iovcnt; i++) {
			memcpy(ns->frame + off, iov[i].iov_base,
			       iov[i].iov_len);
			off += iov[i].iov_len;
		}
	}
	slirp_input(ns->slirp, frame, (int)len);
	evloop_defer(ns->loop, &ns->cycle);
	return 0;
}

static void ns_rx_ready(struct net_backend *be)
{
	/* Nothing waits: frames the guest had no room for were dropped. */
	(void)be;
}

static int ns_start(struct net_backend *be)
{
	ns_cycle((struct net_slirp *)be);
	return 0;
}

/* After the event loop has stopped for good: nothing is reaped after. */
static void ns_destroy(struct net_backend *be)
{
	struct net_slirp *ns = (struct net_slirp *)be;

	ns->dying = true;
	if (ns->slirp)
		slirp_cleanup(ns->slirp);
	ns_watchset_destroy(&ns->watches);
	while (ns->timers) {
		struct ns_timer *t = ns->timers;

		ns->timers = t->next;
		free(t);
	}
	free(ns->pfd);
	free(ns);
}

static const struct net_backend_ops ns_ops = {
	.name = "slirp",
	.send = ns_send,
	.rx_ready = ns_rx_ready,
	.start = ns_start,
	.destroy = ns_destroy,
};

int net_slirp_create(struct vm *vm, const char *spec, struct net_config *cfg,
		     struct net_backend **out, char *err, size_t errlen)
{
	struct net_hostfwd fwd[NET_SLIRP_MAX_HOSTFWD];
	/* IPv6 as QEMU sets it up: fec0::/64, the host at ::2, DNS at ::3. */
	SlirpConfig sc = {
		.version = 4,
		.restricted = 0,
		.in_enabled = true,
		.vnetwork.s_addr = htonl(USER_NETWORK),
		.vnetmask.s_addr = htonl(USER_NETMASK),
		.vhost.s_addr = htonl(USER_GATEWAY),
		.vdhcp_start.s_addr = htonl(USER_GUEST),
		.vnameserver.s_addr = htonl(USER_DNS),
		.in6_enabled = true,
		.vprefix_addr6.s6_addr = { 0xfe, 0xc0 },
		.vprefix_len = 64,
		.vhost6.s6_addr = { 0xfe, 0xc0, [15] = 2 },
		.vnameserver6.s6_addr = { 0xfe, 0xc0, [15] = 3 },
	};
	struct net_slirp *ns;
	int nfwd;

	nfwd = net_slirp_parse_hostfwd(spec, fwd, NET_SLIRP_MAX_HOSTFWD, err,
				       errlen);
	if (nfwd < 0)
		return nfwd;
	ns = calloc(1, sizeof(*ns));
	if (!ns) {
		snprintf(err, errlen, "slirp: out of memory");
		return -ENOMEM;
	}
	ns->be.ops = &ns_ops;
	ns->be.vm = vm;
	ns->loop = &vm->loop;
	ns->cycle.fn = ns_cycle_deferred;
	ns_watchset_init(&ns->watches, ns->loop, &ns->cycle);
	ns->tmo_op = (struct ev_op){ .cb = timeout_done, .opaque = ns };
	ns->aux_op = (struct ev_op){ .cb = aux_done, .opaque = ns };
	ns->fill_deadline = NEVER;
	ns->tmo_deadline = NEVER;
	ns->slirp = slirp_new(&sc, &ns_callbacks, ns);
	if (!ns->slirp) {
		snprintf(err, errlen, "slirp: cannot create the network stack");
		free(ns);
		return -ENOMEM;
	}
	for (int i = 0; i < nfwd; i++) {
		const struct net_hostfwd *f = &fwd[i];
		char addr[INET_ADDRSTRLEN];
		int e;

		errno = 0;
		if (!slirp_add_hostfwd(ns->slirp, f->udp, f->host_addr,
				       f->host_port, f->guest_addr,
				       f->guest_port))
			continue;
		e = errno ? errno : EADDRINUSE;
		inet_ntop(AF_INET, &f->host_addr, addr, sizeof(addr));
		snprintf(err, errlen, "hostfwd %s: cannot listen on %s:%u: %s",
			 f->text, addr, f->host_port, strerror(e));
		ns_destroy(&ns->be);
		return -e;
	}
	cfg->ip = USER_GUEST;
	cfg->netmask = USER_NETMASK;
	cfg->gateway = USER_GATEWAY;
	cfg->dns = USER_DNS;
	*out = &ns->be;
	return 0;
}
