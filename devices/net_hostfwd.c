// SPDX-License-Identifier: MIT
/*
 * Parsing --net user's options: the hostfwd list (devices/net_slirp.h).
 */
#include "net_slirp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int __attribute__((format(printf, 4, 5)))
fwd_error(char *err, size_t errlen, const char *text, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "hostfwd %s: %s", text, msg);
	return -EINVAL;
}

static int parse_port(const char *s, const char *which, const char *text,
		      uint16_t *port, char *err, size_t errlen)
{
	unsigned long v = 0;

	if (!*s)
		return fwd_error(err, errlen, text, "missing %s port", which);
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return fwd_error(err, errlen, text, "bad %s port '%s'",
					 which, s);
		if (v <= 65535)
			v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v < 1 || v > 65535)
		return fwd_error(err, errlen, text,
				 "%s port %s out of range (1-65535)", which, s);
	*port = (uint16_t)v;
	return 0;
}

static int parse_addr(const char *s, const char *which, uint32_t dflt,
		      const char *text, struct in_addr *addr, char *err,
		      size_t errlen)
{
	if (!*s) {
		addr->s_addr = htonl(dflt);
		return 0;
	}
	if (inet_pton(AF_INET, s, addr) != 1)
		return fwd_error(err, errlen, text,
				 "bad %s address '%s' (expected A.B.C.D)",
				 which, s);
	return 0;
}

/* "[ADDR:]PORT" in place: @s becomes the address ("" when absent). */
static void split_addr_port(char *s, char **addr, char **port)
{
	char *colon = strrchr(s, ':');

	if (colon) {
		*colon = '\0';
		*addr = s;
		*port = colon + 1;
	} else {
		*addr = s + strlen(s);
		*port = s;
	}
}

/* [tcp|udp]:[HOSTADDR:]HOSTPORT-[GUESTADDR]:GUESTPORT */
static int parse_one(const char *val, struct net_hostfwd *f, char *err,
		     size_t errlen)
{
	char buf[sizeof(f->text)];
	char *host, *guest, *sep, *haddr, *hport, *gaddr, *gport;
	uint32_t g;

	memset(f, 0, sizeof(*f));
	if (strlen(val) >= sizeof(buf)) {
		snprintf(err, errlen, "hostfwd %.24s...: too long", val);
		return -EINVAL;
	}
	strcpy(buf, val);
	strcpy(f->text, val);
	sep = strchr(buf, ':');
	if (!sep || !strchr(sep, '-'))
		return fwd_error(err, errlen, val,
				 "expected [tcp|udp]:[HOSTADDR:]HOSTPORT-[GUESTADDR]:GUESTPORT");
	*sep = '\0';
	host = sep + 1;
	if (!strcmp(buf, "udp"))
		f->udp = true;
	else if (buf[0] && strcmp(buf, "tcp"))
		return fwd_error(err, errlen, val,
				 "unknown protocol '%s' (tcp or udp)", buf);
	sep = strchr(host, '-');
	*sep = '\0';
	guest = sep + 1;
	split_addr_port(host, &haddr, &hport);
	split_addr_port(guest, &gaddr, &gport);
	if (parse_addr(haddr, "host", USER_HOSTFWD_ADDR, val, &f->host_addr,
		       err, errlen) ||
	    parse_port(hport, "host", val, &f->host_port, err, errlen) ||
	    parse_addr(gaddr, "guest", USER_GUEST, val, &f->guest_addr, err,
		       errlen) ||
	    parse_port(gport, "guest", val, &f->guest_port, err, errlen))
		return -EINVAL;
	g = ntohl(f->guest_addr.s_addr);
	if ((g & USER_NETMASK) != USER_NETWORK)
		return fwd_error(err, errlen, val,
				 "guest address %s is not in 10.0.2.0/24",
				 gaddr);
	if (g == USER_NETWORK || g == USER_GATEWAY || g == USER_DNS ||
	    (g & ~USER_NETMASK) == 0xff)
		return fwd_error(err, errlen, val,
				 "guest address %s is the network, gateway, DNS or broadcast address",
				 gaddr);
	return 0;
}

int net_slirp_parse_hostfwd(const char *spec, struct net_hostfwd *fwd,
			    size_t max, char *err, size_t errlen)
{
	size_t n = 0;

	while (*spec) {
		const char *end = strchrnul(spec, ',');
		size_t len = (size_t)(end - spec);
		char opt[96];
		int ret;

		if (len >= sizeof(opt)) {
			snprintf(err, errlen, "--net user: option '%.32s...' is too long",
				 spec);
			return -EINVAL;
		}
		memcpy(opt, spec, len);
		opt[len] = '\0';
		spec = *end ? end + 1 : end;
		if (!len)
			continue;
		if (strncmp(opt, "hostfwd=", 8)) {
			snprintf(err, errlen,
				 "--net user: unknown option '%s' (expected hostfwd=PROTO:HOSTPORT-:GUESTPORT)",
				 opt);
			return -EINVAL;
		}
		if (n == max) {
			snprintf(err, errlen,
				 "--net user: more than %zu port forwards",
				 max);
			return -EINVAL;
		}
		ret = parse_one(opt + 8, &fwd[n], err, errlen);
		if (ret)
			return ret;
		n++;
	}
	return (int)n;
}

