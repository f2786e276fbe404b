// SPDX-License-Identifier: MIT
/*
 * The libslirp backend's fd watches (see net_slirp_watch.h).
 *
 * A one-shot poll holds a reference to its file, so a socket slirp closed
 * would stay open (no FIN, the port still bound) while its poll waits.
 * slirp calls unregister_poll_fd() before each close: the poll is removed
 * there and its watch detached from the fd number, which a new socket may
 * reuse at once.
 */
#include "net_slirp_watch.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The io_uring poll of one fd slirp wants watched. */
struct ns_watch {
	struct ev_op op; /* first: the CQE's user_data */
	struct ns_watchset *ws;
	int fd; /* -1 once slirp closed it (a zombie until its CQE) */
	short events; /* what the poll in flight waits for */
	short want; /* what the last fill asked for; 0 if not in it */
	unsigned int gen; /* fill generation that last named the fd */
	bool removing; /* a POLL_REMOVE for op is queued */
	struct ns_watch *next_zombie;
};

static void cancel_done(struct ev_op *op, int res, uint32_t flags)
{
	/* -ENOENT: the poll had completed; its CQE handles it. */
	(void)op;
	(void)res;
	(void)flags;
}

void ns_watchset_init(struct ns_watchset *ws, struct evloop *loop,
		      struct ev_defer *ready)
{
	memset(ws, 0, sizeof(*ws));
	ws->loop = loop;
	ws->ready = ready;
	ws->cancel_op = (struct ev_op){ .cb = cancel_done, .opaque = ws };
}

/* Queue a POLL_REMOVE for @w's poll; retried by the next cycle if the
 * ring is full. */
static void watch_cancel(struct ns_watchset *ws, struct ns_watch *w)
{
	struct io_uring_sqe *sqe;

	if (w->removing || !w->op.armed)
		return;
	sqe = evloop_sqe(ws->loop, &ws->cancel_op);
	if (!sqe)
		return;
	io_uring_prep_poll_remove(sqe, (uint64_t)(uintptr_t)&w->op);
	w->removing = true;
}

/* Make @w's poll match what slirp wants of its fd. */
static void watch_update(struct ns_watchset *ws, struct ns_watch *w)
{
	if (w->op.armed) {
		/* A poll for other events (or for none): replace it once
		 * the removal completes. */
		if (w->events != w->want)
			watch_cancel(ws, w);
		return;
	}
	if (w->want &&
	    !evloop_poll(ws->loop, &w->op, w->fd, (unsigned short)w->want))
		w->events = w->want;
}

static void watch_free_zombie(struct ns_watchset *ws, struct ns_watch *w)
{
	struct ns_watch **pp = &ws->zombies;

	while (*pp && *pp != w)
		pp = &(*pp)->next_zombie;
	if (*pp)
		*pp = w->next_zombie;
	free(w);
}

static void watch_done(struct ev_op *op, int res, uint32_t flags)
{
	struct ns_watch *w = (struct ns_watch *)op;
	struct ns_watchset *ws = w->ws;

	(void)flags;
	w->removing = false;
	if (w->fd < 0) {
		watch_free_zombie(ws, w);
		return;
	}
	if (res == -ECANCELED) {
		/* We removed it: the fd left the set or wants other events. */
		watch_update(ws, w);
		return;
	}
	evloop_defer(ws->loop, ws->ready);
}

static struct ns_watch *watch_get(struct ns_watchset *ws, int fd)
{
	struct ns_watch *w;

	if (fd < 0)
		return NULL;
	if ((unsigned int)fd >= ws->slots) {
		unsigned int slots = ws->slots ? ws->slots : 64;
		struct ns_watch **p;

		while (slots <= (unsigned int)fd)
			slots *= 2;
		p = realloc(ws->watch, slots * sizeof(*p));
		if (!p)
			return NULL;
		memset(p + ws->slots, 0, (slots - ws->slots) * sizeof(*p));
		ws->watch = p;
		ws->slots = slots;
	}
	w = ws->watch[fd];
	if (!w) {
		w = calloc(1, sizeof(*w));
		if (!w)
			return NULL;
		w->op.cb = watch_done;
		w->ws = ws;
		w->fd = fd;
		ws->watch[fd] = w;
	}
	return w;
}

void ns_watchset_sync(struct ns_watchset *ws, const struct pollfd *pfd,
		      unsigned int npfd)
{
	unsigned int gen = ++ws->gen;

	for (unsigned int i = 0; i < npfd; i++) {
		struct ns_watch *w = watch_get(ws, pfd[i].fd);

		if (!w)
			continue; /* out of memory: the timeout still cycles */
		w->want = (short)(w->gen == gen ? w->want : 0) | pfd[i].events;
		w->gen = gen;
	}
	for (unsigned int fd = 0; fd < ws->slots; fd++) {
		struct ns_watch *w = ws->watch[fd];

		if (!w)
			continue;
		if (w->gen != gen)
			w->want = 0;
		watch_update(ws, w);
	}
	for (struct ns_watch *z = ws->zombies; z; z = z->next_zombie)
		watch_cancel(ws, z);
}

void ns_watchset_forget(struct ns_watchset *ws, int fd, bool dying)
{
	struct ns_watch *w;

	if (fd < 0 || (unsigned int)fd >= ws->slots || !ws->watch[fd])
		return;
	w = ws->watch[fd];
	ws->watch[fd] = NULL;
	w->fd = -1;
	w->want = 0;
	if (!w->op.armed || dying) {
		free(w);
		return;
	}
	w->next_zombie = ws->zombies;
	ws->zombies = w;
	watch_cancel(ws, w);
}

void ns_watchset_destroy(struct ns_watchset *ws)
{
	for (unsigned int fd = 0; fd < ws->slots; fd++)
		free(ws->watch[fd]);
	while (ws->zombies) {
		struct ns_watch *z = ws->zombies;

		ws->zombies = z->next_zombie;
		free(z);
	}
	free(ws->watch);
	ws->watch = NULL;
	ws->slots = 0;
}
