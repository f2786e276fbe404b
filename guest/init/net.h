/* SPDX-License-Identifier: MIT */
/*
 * The guest init's network: the launch description's net node (layout in
 * include/minivmm/guest_abi.h, "Network"), and what init does with it: lo,
 * the interface with the node's MAC, the default route and resolv.conf.
 * Nothing here prints: failures come back as a negative errno and one line
 * in the caller's @err buffer, and the caller decides how loud to be.
 */
#ifndef MINIVMM_GUEST_NET_H
#define MINIVMM_GUEST_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/if_ether.h>
#include <netinet/in.h>

/* Enough for any of this file's messages. */
#define NET_ERR_LEN 128

/* Where init writes the nameserver, in the initramfs (outside the app). */
#define NET_RESOLV_PATH "/minivmm/resolv.conf"

struct net_config {
	bool present; /* the launch description has a net node */
	uint8_t mac[ETH_ALEN]; /* unicast, not all zero */
	struct in_addr addr; /* network byte order, as all three */
	unsigned int prefix; /* 0..32 */
	bool has_gateway;
	struct in_addr gateway;
	bool has_dns;
	struct in_addr dns;
};

/*
 * net_parse - decode the /net node of a launch description.
 * @fdt: a blob whose header and structure block are already checked (by
 *       launch_parse(), which calls this)
 * @nc: filled in; all zero (present false) when there is no net node
 * @err, @errlen: where to say why, on failure
 *
 * Every value is checked: mac is exactly ETH_ALEN bytes; address is
 * "A.B.C.D/N" with N from 0 to 32; gateway and dns are "A.B.C.D"; each
 * dotted quad has four decimal fields of 0..255 without leading zeros and is
 * not 0.0.0.0.  Returns 0 or -EINVAL, leaving @nc all zero on failure.
 */
int net_parse(const void *fdt, struct net_config *nc, char *err, size_t errlen);

/*
 * net_lo_up - give lo 127.0.0.1/8 and bring it up.
 * Needs nothing mounted.  Returns 0 or a negative errno (@err says why).
 */
int net_lo_up(char *err, size_t errlen);

/*
 * net_eth_up - configure the interface whose MAC is @nc->mac.
 * @nc: a present net node from net_parse()
 * @wait_ms: how long to wait for the interface to appear (its driver may
 *           still be probing when init starts)
 * @ifname: receives the interface's name, IF_NAMESIZE bytes
 * @waited_ms: receives how long it took to appear
 *
 * Sets the address and netmask, brings the interface up and, when @nc has a
 * gateway, adds the default route through it.  Returns 0 or a negative
 * errno (@err says why, naming the interface and the step).
 */
int net_eth_up(const struct net_config *nc, int wait_ms, char *ifname,
	       long *waited_ms, char *err, size_t errlen);

/*
 * net_resolv - hand @nc's nameserver to the app.
 * @nc: a present net node with a dns address
 * @root: the app's root directory, with the app image (if any) mounted
 * @create: make an empty etc/resolv.conf when the root has an etc directory
 *          but no such file (only for a root in the writable initramfs)
 *
 * Writes NET_RESOLV_PATH, then bind-mounts it over the root's
 * etc/resolv.conf when that is a regular file; paths are resolved as the
 * chrooted app will resolve them, so symlinks cannot point outside @root.
 * Call after the app's root is ready, before the app is started.  Returns 1
 * when bound, 0 when the root has no etc/resolv.conf to bind over, or a
 * negative errno (@err says why).
 */
int net_resolv(const struct net_config *nc, const char *root, bool create,
	       char *err, size_t errlen);

#endif
