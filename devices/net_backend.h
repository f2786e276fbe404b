/* SPDX-License-Identifier: MIT */
/*
 * The line between virtio-net and where its frames go.  A backend (libslirp
 * user-mode networking, a tap device) moves Ethernet frames and knows
 * nothing of virtqueues; the device knows nothing of sockets.  Both sides
 * run on the VM's event-loop thread.
 */
#ifndef MINIVMM_NET_BACKEND_H
#define MINIVMM_NET_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct vm;
struct net_backend;

/* Frames from the backend towards the guest. */
struct net_rx_ops {
	/*
	 * Deliver one Ethernet frame (no virtio header).  Returns 0, or
	 * -ENOBUFS when the guest has no receive buffer: the frame is dropped
	 * and counted by the device (the backend may stop reading until
	 * net_backend_rx_ready() is called).
	 */
	int (*receive)(void *dev, const void *frame, size_t len);
};

struct net_backend_ops {
	const char *name;
	/*
	 * Send one frame from the guest (no virtio header), gathered from
	 * @iov.  Returns 0, -EAGAIN when the backend cannot take it now (the
	 * device keeps the frame and retries after net_tx_ready), or another
	 * -errno when the frame is dropped (counted).
	 */
	int (*send)(struct net_backend *be, const struct iovec *iov, int iovcnt);
	/* The guest posted receive buffers again after a -ENOBUFS. */
	void (*rx_ready)(struct net_backend *be);
	/* Start polling; called once the event loop exists. */
	int (*start)(struct net_backend *be);
	void (*destroy)(struct net_backend *be);
};

struct net_backend {
	const struct net_backend_ops *ops;
	struct vm *vm;
	const struct net_rx_ops *rx;
	void *rx_dev;
	/* Called by the backend when a send that returned -EAGAIN may work. */
	void (*tx_ready)(void *dev);
	uint64_t rx_frames, tx_frames, rx_dropped, tx_dropped;
};

/* Guest network settings shared by the backends and the launch description. */
struct net_config {
	uint8_t mac[6];
	uint32_t ip, netmask, gateway, dns; /* host byte order; 0 = unset */
};

/*
 * libslirp user-mode networking (devices/net_slirp.c).  @spec is what
 * follows "user" in --net: "" or ",hostfwd=tcp:HOSTPORT-:GUESTPORT,...".
 * Fills @cfg with slirp's addresses (10.0.2.15/24, gateway 10.0.2.2,
 * DNS 10.0.2.3).  On error, @err holds one line.
 */
int net_slirp_create(struct vm *vm, const char *spec, struct net_config *cfg,
		     struct net_backend **out, char *err, size_t errlen);

/* A tap device (devices/net_tap.c), created or attached by name. */
int net_tap_create(struct vm *vm, const char *ifname, struct net_backend **out,
		   char *err, size_t errlen);

#endif
