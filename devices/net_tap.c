// SPDX-License-Identifier: MIT
/*
 * tap backend: frames to and from a Linux tap interface (/dev/net/tun,
 * IFF_TAP | IFF_NO_PI).  Reads go through the event loop's io_uring; when the
 * guest has no receive buffer, reading stops and the frames wait in the tap
 * queue (back-pressure) until the guest posts buffers again.  Writes are
 * non-blocking writev() calls; a full tap queue answers -EAGAIN and the
 * device retries once the fd is writable.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../vmm/vm.h"
#include "net_backend.h"

#define TAP_FRAME_MAX 65550

struct net_tap {
	struct net_backend be; /* first: the device holds &be */
	int fd;
	char ifname[IFNAMSIZ];
	bool rx_stopped; /* the guest had no buffer: reading paused */
	struct ev_op read_op, write_op;
	uint8_t buf[TAP_FRAME_MAX];
};

static void tap_arm_read(struct net_tap *t)
{
	struct io_uring_sqe *sqe;

	if (t->read_op.armed || t->rx_stopped)
		return;
	sqe = evloop_sqe(&t->be.vm->loop, &t->read_op);
	if (sqe)
		io_uring_prep_read(sqe, t->fd, t->buf, sizeof(t->buf), 0);
}

static void tap_read_done(struct ev_op *op, int res, uint32_t flags)
{
	struct net_tap *t = op->opaque;
	int ret;

	(void)flags;
	if (res == -EAGAIN || res == -EINTR) {
		tap_arm_read(t);
		return;
	}
	if (res <= 0)
		return; /* the interface went away: stop reading */
	ret = t->be.rx->receive(t->be.rx_dev, t->buf, (size_t)res);
	if (ret == -ENOBUFS) {
		/* This frame is lost; the next ones wait in the tap queue. */
		t->rx_stopped = true;
		return;
	}
	tap_arm_read(t);
}

static void tap_writable(struct ev_op *op, int res, uint32_t flags)
{
	struct net_tap *t = op->opaque;

	(void)res;
	(void)flags;
	if (t->be.tx_ready)
		t->be.tx_ready(t->be.rx_dev);
}

static int tap_send(struct net_backend *be, const struct iovec *iov,
		    int iovcnt)
{
	struct net_tap *t = (struct net_tap *)be;
	ssize_t n = writev(t->fd, iov, iovcnt);

	if (n >= 0)
		return 0;
	if (errno == EAGAIN) {
		if (!t->write_op.armed)
			evloop_poll(&be->vm->loop, &t->write_op, t->fd, POLLOUT);
		return -EAGAIN;
	}
	return -errno;
}

static void tap_rx_ready(struct net_backend *be)
{
	struct net_tap *t = (struct net_tap *)be;

	t->rx_stopped = false;
	tap_arm_read(t);
}

static int tap_start(struct net_backend *be)
{
	tap_arm_read((struct net_tap *)be);
	return 0;
}

static void tap_destroy(struct net_backend *be)
{
	struct net_tap *t = (struct net_tap *)be;

	close(t->fd);
	free(t);
}

static const struct net_backend_ops tap_ops = {
	.name = "tap",
	.send = tap_send,
	.rx_ready = tap_rx_ready,
	.start = tap_start,
	.destroy = tap_destroy,
};

int net_tap_create(struct vm *vm, const char *ifname, struct net_backend **out,
		   char *err, size_t errlen)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	struct net_tap *t;

	if (!ifname[0] || strlen(ifname) >= IFNAMSIZ) {
		snprintf(err, errlen, "tap '%s': interface names have 1 to %d characters",
			 ifname, IFNAMSIZ - 1);
		return -EINVAL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0) {
		snprintf(err, errlen, "tap '%s': /dev/net/tun: %s", ifname,
			 strerror(errno));
		free(t);
		return -errno;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;

		snprintf(err, errlen,
			 "tap '%s': TUNSETIFF: %s (create it with 'ip tuntap add dev %s mode tap', or run as root)",
			 ifname, strerror(e), ifname);
		close(t->fd);
		free(t);
		return -e;
	}
	snprintf(t->ifname, sizeof(t->ifname), "%s", ifr.ifr_name);
	t->be.ops = &tap_ops;
	t->be.vm = vm;
	t->read_op = (struct ev_op){ .cb = tap_read_done, .opaque = t };
	t->write_op = (struct ev_op){ .cb = tap_writable, .opaque = t };
	*out = &t->be;
	return 0;
}
