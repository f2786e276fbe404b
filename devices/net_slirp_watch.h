/* SPDX-License-Identifier: MIT */
/*
 * The libslirp backend's fd watches: one io_uring poll in flight for each
 * socket slirp wants watched, for the events it wants, and none for the
 * sockets it no longer names or has closed.  A poll that completes defers
 * the backend's poll cycle (net_slirp.c); the cycle's fill says, through
 * ns_watchset_sync(), what to watch next.
 */
#ifndef MINIVMM_NET_SLIRP_WATCH_H
#define MINIVMM_NET_SLIRP_WATCH_H

#include <poll.h>
#include <stdbool.h>

#include "../vmm/evloop.h"

struct ns_watch;

struct ns_watchset {
	struct evloop *loop;
	struct ev_defer *ready; /* deferred when a watched fd is ready */
	struct ev_op cancel_op; /* POLL_REMOVEs: their results are unused */
	struct ns_watch **watch; /* by fd number */
	unsigned int slots;
	struct ns_watch *zombies; /* closed fds whose poll is in flight */
	unsigned int gen; /* fill generation */
};

/* An empty set on @loop that defers @ready when a watched fd is ready. */
void ns_watchset_init(struct ns_watchset *ws, struct evloop *loop,
		      struct ev_defer *ready);

/*
 * After a fill of @npfd entries in @pfd: one poll in flight per fd named,
 * for the events named (an fd named twice gets both sets); none for the
 * fds not named.  Removals the ring had no room for are retried here.
 */
void ns_watchset_sync(struct ns_watchset *ws, const struct pollfd *pfd,
		      unsigned int npfd);

/*
 * slirp is about to close @fd: drop its poll (and so its file reference)
 * and free the number for reuse.  @dying: the ring may be gone, so free
 * the watch at once instead of waiting for its poll's completion.
 */
void ns_watchset_forget(struct ns_watchset *ws, int fd, bool dying);

/* Free every watch.  Only after the event loop has stopped for good. */
void ns_watchset_destroy(struct ns_watchset *ws);

#endif
