/* SPDX-License-Identifier: MIT */
/*
 * The libslirp backend's option parser, apart so the unit tests can reach
 * it.  The backend itself is net_slirp_create() in net_backend.h.
 */
#ifndef MINIVMM_NET_SLIRP_H
#define MINIVMM_NET_SLIRP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_SLIRP_MAX_HOSTFWD 16

/* The user-mode network slirp plays, in host byte order. */
#define USER_NETWORK 0x0a000200U /* 10.0.2.0/24 */
#define USER_NETMASK 0xffffff00U
#define USER_GATEWAY 0x0a000202U /* 10.0.2.2: gateway, the host's loopback */
#define USER_DNS 0x0a000203U /* 10.0.2.3 */
#define USER_GUEST 0x0a00020fU /* 10.0.2.15: first DHCP lease */
#define USER_HOSTFWD_ADDR 0x7f000001U /* 127.0.0.1 */

/* One host port forwarded to the guest, as slirp_add_hostfwd() takes it. */
struct net_hostfwd {
	bool udp;
	struct in_addr host_addr; /* default 127.0.0.1 */
	struct in_addr guest_addr; /* default 10.0.2.15 */
	uint16_t host_port, guest_port; /* 1-65535 */
	char text[64]; /* as the user wrote it, for messages */
};

/*
 * Parse what follows "user" in --net: "" or a comma-separated list of
 * "hostfwd=[tcp|udp]:[HOSTADDR:]HOSTPORT-[GUESTADDR]:GUESTPORT" (QEMU's
 * syntax; the protocol defaults to tcp, HOSTADDR to 127.0.0.1, not QEMU's
 * any address, so a forward is not reachable from other machines unless
 * asked for, and GUESTADDR to 10.0.2.15).  Fills at most @max entries of
 * @fwd and returns how many, or -EINVAL with one line in @err.
 */
int net_slirp_parse_hostfwd(const char *spec, struct net_hostfwd *fwd,
			    size_t max, char *err, size_t errlen);

#endif
