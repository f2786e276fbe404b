// SPDX-License-Identifier: MIT
/*
 * The guest init's network: parse the launch description's net node, then
 * configure lo and the virtio-net interface with the classic socket ioctls
 * (no netlink needed), and pass the nameserver on through resolv.conf.
 * Layout of the node in include/minivmm/guest_abi.h, "Network".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <net/route.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <libfdt.h>
#include <linux/openat2.h>

#include "net.h"

#define NET_NODE "/net"
#define NET_POLL_MS 10 /* between looks for the interface */
#define NET_LO_ADDR 0x7f000001 /* 127.0.0.1 */
#define NET_LO_PREFIX 8
/* As the app sees it: relative to its root. */
#define NET_RESOLV_IN_ROOT "etc/resolv.conf"

static int net_err(char *err, size_t errlen, int ret, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int net_err(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

/*
 * A strict dotted quad: four decimal fields of 0..255, no leading zeros
 * (inet_aton() would take "010" as octal), no other forms.  Returns where
 * the quad ends, or NULL when @s does not start with one.
 */
static const char *net_scan_quad(const char *s, struct in_addr *out)
{
	uint32_t ip = 0;
	unsigned int v;
	int i, n;

	for (i = 0; i < 4; i++) {
		if (i && *s++ != '.')
			return NULL;
		/* Four digits are enough to see that a field is too long. */
		for (n = 0, v = 0; n < 4 && s[n] >= '0' && s[n] <= '9'; n++)
			v = v * 10 + (unsigned int)(s[n] - '0');
		if (n == 0 || n > 3 || v > 255 || (n > 1 && s[0] == '0'))
			return NULL;
		ip = ip << 8 | v;
		s += n;
	}
	out->s_addr = htonl(ip);
	return s;
}

/* "/N" with N from 0 to 32, in decimal without leading zeros, then the end. */
static bool net_scan_prefix(const char *s, unsigned int *prefix)
{
	unsigned int v = 0;
	int n;

	if (*s++ != '/')
		return false;
	for (n = 0; n < 3 && s[n] >= '0' && s[n] <= '9'; n++)
		v = v * 10 + (unsigned int)(s[n] - '0');
	if (n == 0 || n > 2 || s[n] || v > 32 || (n > 1 && s[0] == '0'))
		return false;
	*prefix = v;
	return true;
}

/*
 * The string property @name of the net node: one NUL-terminated string, or
 * absent (*out left NULL) unless @required.
 */
static int net_get_string(const void *fdt, int node, const char *name,
			  bool required, const char **out, char *err,
			  size_t errlen)
{
	const char *s;
	int len;

	s = fdt_getprop(fdt, node, name, &len);
	if (!s && len == -FDT_ERR_NOTFOUND && !required)
		return 0;
	if (!s && len == -FDT_ERR_NOTFOUND)
		return net_err(err, errlen, -EINVAL, NET_NODE "/%s: missing",
			       name);
	if (!s)
		return net_err(err, errlen, -EINVAL, NET_NODE "/%s: %s", name,
			       fdt_strerror(len));
	/* Exactly one NUL, at the end: not a list, not cut short. */
	if (len < 1 || strnlen(s, len) != (size_t)len - 1)
		return net_err(err, errlen, -EINVAL,
			       NET_NODE "/%s: not one NUL-terminated string",
			       name);
	*out = s;
	return 0;
}

/* gateway or dns: an optional "A.B.C.D". */
static int net_get_host(const void *fdt, int node, const char *name, bool *has,
			struct in_addr *out, char *err, size_t errlen)
{
	const char *s = NULL, *end;
	int ret;

	ret = net_get_string(fdt, node, name, false, &s, err, errlen);
	if (ret || !s)
		return ret;
	end = net_scan_quad(s, out);
	if (!end || *end)
		return net_err(err, errlen, -EINVAL,
			       NET_NODE "/%s: '%s' is not A.B.C.D", name, s);
	if (out->s_addr == htonl(INADDR_ANY))
		return net_err(err, errlen, -EINVAL,
			       NET_NODE "/%s: 0.0.0.0 is not an address", name);
	*has = true;
	return 0;
}

/* mac: exactly ETH_ALEN bytes of a unicast address a NIC can have. */
static int net_get_mac(const void *fdt, int node, uint8_t *mac, char *err,
		       size_t errlen)
{
	static const uint8_t zero[ETH_ALEN];
	const uint8_t *p;
	int len;

	p = fdt_getprop(fdt, node, "mac", &len);
	if (!p && len == -FDT_ERR_NOTFOUND)
		return net_err(err, errlen, -EINVAL, NET_NODE "/mac: missing");
	if (!p)
		return net_err(err, errlen, -EINVAL, NET_NODE "/mac: %s",
			       fdt_strerror(len));
	if (len != ETH_ALEN)
		return net_err(err, errlen, -EINVAL,
			       NET_NODE "/mac: %d bytes, want %d", len,
			       ETH_ALEN);
	/* Bit 0 of the first byte marks a group address (IEEE 802). */
	if ((p[0] & 1) || !memcmp(p, zero, ETH_ALEN))
		return net_err(err, errlen, -EINVAL,
			       NET_NODE "/mac: not a unicast address");
	memcpy(mac, p, ETH_ALEN);
	return 0;
}

int net_parse(const void *fdt, struct net_config *nc, char *err, size_t errlen)
{
	struct net_config c = {.present = true};
	const char *addr = NULL, *end;
	int node, ret;

	memset(nc, 0, sizeof(*nc));
	node = fdt_path_offset(fdt, NET_NODE);
	if (node == -FDT_ERR_NOTFOUND)
		return 0;
	if (node < 0)
		return net_err(err, errlen, -EINVAL, NET_NODE ": %s",
			       fdt_strerror(node));

	ret = net_get_mac(fdt, node, c.mac, err, errlen);
	if (!ret)
		ret = net_get_string(fdt, node, "address", true, &addr, err,
				     errlen);
	if (ret)
		return ret;
	end = net_scan_quad(addr, &c.addr);
	if (!end || !net_scan_prefix(end, &c.prefix))
		return net_err(err, errlen, -EINVAL,
			       NET_NODE "/address: '%s' is not A.B.C.D/N "
					"with N from 0 to 32",
			       addr);
	if (c.addr.s_addr == htonl(INADDR_ANY))
		return net_err(err, errlen, -EINVAL,
			       NET_NODE "/address: 0.0.0.0 is not an address");
	ret = net_get_host(fdt, node, "gateway", &c.has_gateway, &c.gateway,
			   err, errlen);
	if (!ret)
		ret = net_get_host(fdt, node, "dns", &c.has_dns, &c.dns, err,
				   errlen);
	if (ret)
		return ret;
	*nc = c;
	return 0;
}

static struct sockaddr net_sockaddr(struct in_addr a)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr = a};
	struct sockaddr sa;

	/* struct sockaddr is the ioctls' type; the bytes are sockaddr_in's. */
	memcpy(&sa, &sin, sizeof(sa));
	return sa;
}

static struct in_addr net_mask(unsigned int prefix)
{
	/* A shift by 32 is undefined: /0 is its own case. */
	return (struct in_addr){
	    .s_addr = prefix ? htonl(UINT32_MAX << (32 - prefix)) : 0};
}

/* Give @ifname @addr/@prefix and bring it up; @sock is any AF_INET socket. */
static int net_if_up(int sock, const char *ifname, struct in_addr addr,
		     unsigned int prefix, char *err, size_t errlen)
{
	char text[INET_ADDRSTRLEN];
	struct ifreq ifr = {0};
	int ret;

	inet_ntop(AF_INET, &addr, text, sizeof(text));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	/* The address first: it resets the netmask to the classful one. */
	ifr.ifr_addr = net_sockaddr(addr);
	if (ioctl(sock, SIOCSIFADDR, &ifr) < 0) {
		ret = -errno;
		return net_err(err, errlen, ret, "%s: set address %s: %s",
			       ifname, text, strerror(-ret));
	}
	ifr.ifr_netmask = net_sockaddr(net_mask(prefix));
	if (ioctl(sock, SIOCSIFNETMASK, &ifr) < 0) {
		ret = -errno;
		return net_err(err, errlen, ret, "%s: set netmask /%u: %s",
			       ifname, prefix, strerror(-ret));
	}
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0) {
		ret = -errno;
		return net_err(err, errlen, ret, "%s: get flags: %s", ifname,
			       strerror(-ret));
	}
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0) {
		ret = -errno;
		return net_err(err, errlen, ret, "%s: bring up: %s", ifname,
			       strerror(-ret));
	}
	return 0;
}

int net_lo_up(char *err, size_t errlen)
{
	int sock, ret;

	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0) {
		ret = -errno;
		return net_err(err, errlen, ret, "socket: %s", strerror(-ret));
	}
	ret = net_if_up(sock, "lo",
			(struct in_addr){.s_addr = htonl(NET_LO_ADDR)},
			NET_LO_PREFIX, err, errlen);
	close(sock);
	return ret;
}

/*
 * One look for an Ethernet interface with @mac: 1 with its name in @ifname,
 * 0 when there is none yet, or a negative errno.
 */
static int net_find_mac(int sock, const uint8_t *mac, char *ifname)
{
	struct if_nameindex *list, *it;
	struct ifreq ifr;
	int found = 0;

	list = if_nameindex();
	if (!list)
		return -errno;
	for (it = list; !found && it->if_index; it++) {
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", it->if_name);
		/* One that went away meanwhile is simply not the one. */
		if (ioctl(sock, SIOCGIFHWADDR, &ifr) < 0)
			continue;
		if (ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER &&
		    !memcmp(ifr.ifr_hwaddr.sa_data, mac, ETH_ALEN)) {
			snprintf(ifname, IF_NAMESIZE, "%s", it->if_name);
			found = 1;
		}
	}
	if_freenameindex(list);
	return found;
}

static long net_ms_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 +
	       (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* Wait up to @wait_ms for the interface with @mac to appear. */
static int net_wait_mac(int sock, const uint8_t *mac, int wait_ms, char *ifname,
			long *waited_ms, char *err, size_t errlen)
{
	const struct timespec step = {0, NET_POLL_MS * 1000000L};
	struct timespec start;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		*waited_ms = net_ms_since(&start);
		ret = net_find_mac(sock, mac, ifname);
		if (ret > 0)
			return 0;
		if (ret < 0)
			return net_err(err, errlen, ret, "list interfaces: %s",
				       strerror(-ret));
		if (*waited_ms >= wait_ms)
			break;
		nanosleep(&step, NULL);
	}
	return net_err(err, errlen, -ENODEV,
		       "no interface with MAC %02x:%02x:%02x:%02x:%02x:%02x "
		       "after %ld ms",
		       mac[0], mac[1], mac[2], mac[3], mac[4], mac[5],
		       *waited_ms);
}

/* The default route: 0.0.0.0/0 through @gw, on @ifname. */
static int net_add_default(int sock, char *ifname, struct in_addr gw, char *err,
			   size_t errlen)
{
	char text[INET_ADDRSTRLEN];
	struct rtentry rt = {0};
	int ret;

	rt.rt_dst = net_sockaddr((struct in_addr){.s_addr = INADDR_ANY});
	rt.rt_genmask = net_sockaddr(net_mask(0));
	rt.rt_gateway = net_sockaddr(gw);
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	rt.rt_dev = ifname;
	if (ioctl(sock, SIOCADDRT, &rt) < 0) {
		ret = -errno;
		inet_ntop(AF_INET, &gw, text, sizeof(text));
		return net_err(err, errlen, ret, "%s: default route via %s: %s",
			       ifname, text, strerror(-ret));
	}
	return 0;
}

int net_eth_up(const struct net_config *nc, int wait_ms, char *ifname,
	       long *waited_ms, char *err, size_t errlen)
{
	int sock, ret;

	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0) {
		ret = -errno;
		return net_err(err, errlen, ret, "socket: %s", strerror(-ret));
	}
	ret = net_wait_mac(sock, nc->mac, wait_ms, ifname, waited_ms, err,
			   errlen);
	if (!ret)
		ret =
		    net_if_up(sock, ifname, nc->addr, nc->prefix, err, errlen);
	if (!ret && nc->has_gateway)
		ret = net_add_default(sock, ifname, nc->gateway, err, errlen);
	close(sock);
	return ret;
}

/* Write all of @buf to a new @path; the initramfs holds the directory. */
static int net_write_file(const char *path, const char *buf, size_t len)
{
	ssize_t n;
	size_t done = 0;
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	while (!ret && done < len) {
		n = write(fd, buf + done, len - done);
		if (n < 0 && errno != EINTR)
			ret = -errno;
		else if (n == 0)
			ret = -EIO; /* no progress: do not spin */
		else if (n > 0)
			done += (size_t)n;
	}
	if (close(fd) < 0 && !ret)
		ret = -errno;
	return ret;
}

/*
 * Open @path under @rootfd as the chrooted app would: "..", absolute
 * symlinks and the like stay inside.  Returns an fd or a negative errno.
 */
static int net_open_in(int rootfd, const char *path, uint64_t flags,
		       uint64_t mode)
{
	struct open_how how = {
	    .flags = flags | O_CLOEXEC,
	    .mode = mode,
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

/*
 * Bind NET_RESOLV_PATH over etc/resolv.conf under @rootfd: 1 when done, 0
 * when there is no regular file there, or a negative errno.
 */
static int net_bind_resolv(int rootfd, const char *root, bool create, char *err,
			   size_t errlen)
{
	char target[64];
	struct stat st;
	int fd, ret;

	if (create) {
		/* O_EXCL: an existing file, or a symlink, is left as it is. */
		fd = net_open_in(rootfd, NET_RESOLV_IN_ROOT,
				 O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd >= 0)
			close(fd);
		else if (fd != -EEXIST && fd != -ENOENT && fd != -ENOTDIR)
			return net_err(err, errlen, fd, "create %s/%s: %s",
				       root, NET_RESOLV_IN_ROOT, strerror(-fd));
	}
	fd = net_open_in(rootfd, NET_RESOLV_IN_ROOT, O_PATH, 0);
	if (fd == -ENOENT || fd == -ENOTDIR)
		return 0;
	if (fd < 0)
		return net_err(err, errlen, fd, "%s/%s: %s", root,
			       NET_RESOLV_IN_ROOT, strerror(-fd));
	ret = 1;
	/* The kernel follows the fd's magic link to where it resolved. */
	snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		net_err(err, errlen, ret, "%s/%s: %s", root, NET_RESOLV_IN_ROOT,
			strerror(-ret));
	} else if (!S_ISREG(st.st_mode)) {
		ret = 0;
	} else if (mount(NET_RESOLV_PATH, target, NULL, MS_BIND, NULL) < 0) {
		ret = -errno;
		net_err(err, errlen, ret, "bind %s on %s/%s: %s",
			NET_RESOLV_PATH, root, NET_RESOLV_IN_ROOT,
			strerror(-ret));
	}
	close(fd);
	return ret;
}

int net_resolv(const struct net_config *nc, const char *root, bool create,
	       char *err, size_t errlen)
{
	char text[INET_ADDRSTRLEN], line[INET_ADDRSTRLEN + 16];
	int rootfd, ret;

	inet_ntop(AF_INET, &nc->dns, text, sizeof(text));
	snprintf(line, sizeof(line), "nameserver %s\n", text);
	ret = net_write_file(NET_RESOLV_PATH, line, strlen(line));
	if (ret)
		return net_err(err, errlen, ret, "write %s: %s",
			       NET_RESOLV_PATH, strerror(-ret));
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		ret = -errno;
		return net_err(err, errlen, ret, "%s: %s", root,
			       strerror(-ret));
	}
	ret = net_bind_resolv(rootfd, root, create, err, errlen);
	close(rootfd);
	return ret;
}
