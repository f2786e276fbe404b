// SPDX-License-Identifier: MIT
/*
 * Command-line options: parsing, checking, the help text, and the network
 * plan (--net, -p, --mac).  Bad input gets one line and STATUS_USAGE.
 */
#include "options.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vm.h"

void options_usage(FILE *f)
{
	fprintf(f,
		"usage: minivmm --kernel FILE [options] [--app APP] [-- COMMAND ARGS...]\n"
		"\n"
		"Boot a Linux kernel (bzImage or PVH vmlinux) in a KVM microVM and run one\n"
		"application; minivmm exits with the application's exit status.\n"
		"\n"
		"  -k, --kernel FILE     bzImage (Linux boot protocol) or ELF vmlinux (PVH entry)\n"
		"  -a, --app APP         the application: an app image (erofs, squashfs or ext4,\n"
		"                        see minivmm-image), a directory (its root), a newc\n"
		"                        cpio archive, or a single executable; without it the\n"
		"                        kernel runs alone (test guests, custom initrds)\n"
		"  -- COMMAND ARGS...    what to run in a directory or cpio app; for a single\n"
		"                        executable, the arguments it gets\n"
		"  -d, --disk FILE[,ro]  a raw disk image as a virtio-blk device (repeatable;\n"
		"                        /dev/vda is the app image when --app is one)\n"
		"  -n, --net user[,hostfwd=tcp:HOSTPORT-:GUESTPORT]...\n"
		"                        user-mode networking (libslirp, no privileges);\n"
		"                        the guest is 10.0.2.15/24, gateway 10.0.2.2, DNS 10.0.2.3\n"
		"      --net tap=NAME[,ip=A.B.C.D/N][,gw=A.B.C.D][,dns=A.B.C.D]\n"
		"                        a tap device (created if missing; needs CAP_NET_ADMIN)\n"
		"  -p, --publish HOST:GUEST  forward host TCP port HOST (on 127.0.0.1) to the\n"
		"                        guest's port GUEST (implies --net user; repeatable)\n"
		"      --mac MAC         the guest's MAC (default: derived from --app, stable)\n"
		"  -e, --env K=V         environment for the app (repeatable)\n"
		"  -w, --workdir DIR     working directory of the app (default /)\n"
		"  -c, --cpus N          vCPUs (1-%d, default 1)\n"
		"  -m, --memory SIZE     guest RAM, in MiB or with K/M/G suffix (default 256M)\n"
		"      --cmdline ARGS    appended to the kernel command line minivmm composes\n"
		"      --initrd FILE     use this initrd instead of generating one\n"
		"      --write-initrd FILE  write the initramfs --app would boot to FILE\n"
		"                        and exit (to inspect it or boot it elsewhere)\n"
		"      --timeout SEC     end the VM after SEC seconds (exit status 124)\n"
		"      --pvm-quirks MODE auto|on|off: work around PVM's emulator (default auto)\n"
		"      --stats           print exit counters and timings on exit\n"
		"      --trace-testport  print test-port writes (test guests)\n"
		"  -v, --verbose         show the kernel's boot log\n"
		"  -q, --quiet           no minivmm notes on stderr\n"
		"  -h, --help            this text\n"
		"      --version         print the version\n"
		"\n"
		"Exit status: the app's; 128+N if it died of signal N; 124 on --timeout;\n"
		"125 when minivmm, the guest or init failed (a message says which).\n"
		"On a terminal, Ctrl-A x ends the VM.\n",
		VM_MAX_CPUS);
}

int vmm_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("minivmm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return STATUS_USAGE;
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned int shift = 20; /* plain numbers are MiB */

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case '\0': break;
	default: return -EINVAL;
	}
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	if (*end || v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

static int parse_uint(const char *s, unsigned int max, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v > max)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

enum {
	OPT_CMDLINE = 256,
	OPT_INITRD,
	OPT_TIMEOUT,
	OPT_PVM_QUIRKS,
	OPT_STATS,
	OPT_TRACE_TESTPORT,
	OPT_VERSION,
	OPT_WRITE_INITRD,
	OPT_MAC,
};

int options_parse(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "app", required_argument, NULL, 'a' },
		{ "env", required_argument, NULL, 'e' },
		{ "disk", required_argument, NULL, 'd' },
		{ "net", required_argument, NULL, 'n' },
		{ "publish", required_argument, NULL, 'p' },
		{ "mac", required_argument, NULL, OPT_MAC },
		{ "workdir", required_argument, NULL, 'w' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "memory", required_argument, NULL, 'm' },
		{ "cmdline", required_argument, NULL, OPT_CMDLINE },
		{ "initrd", required_argument, NULL, OPT_INITRD },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "pvm-quirks", required_argument, NULL, OPT_PVM_QUIRKS },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "trace-testport", no_argument, NULL, OPT_TRACE_TESTPORT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "write-initrd", required_argument, NULL, OPT_WRITE_INITRD },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->mem = DEFAULT_MEM;
	o->cpus = 1;
	o->pvm_quirks = -1;
	o->env = calloc(argc + 1, sizeof(char *));
	o->disks = calloc(argc + 1, sizeof(char *));
	if (!o->env || !o->disks)
		return vmm_fail("out of memory");
	opterr = 0;
	/* "+": stop at the first non-option; "--" starts the app's argv. */
	while ((c = getopt_long(argc, argv, "+:k:a:d:n:p:e:w:c:m:vqh", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'k': o->kernel = optarg; break;
		case 'a': o->app = optarg; break;
		case 'e':
			if (!strchr(optarg, '='))
				return vmm_fail("--env '%s': expected KEY=VALUE", optarg);
			o->env[o->nenv++] = optarg;
			break;
		case 'w': o->workdir = optarg; break;
		case 'n': o->net = optarg; break;
		case OPT_MAC: o->mac = optarg; break;
		case 'p': {
			unsigned int h, g;
			char extra;
			size_t len = o->hostfwd ? strlen(o->hostfwd) : 0;
			char *n;

			if (sscanf(optarg, "%u:%u%c", &h, &g, &extra) != 2 ||
			    !h || !g || h > 65535 || g > 65535)
				return vmm_fail("--publish '%s': expected HOSTPORT:GUESTPORT, ports 1-65535",
					    optarg);
			n = realloc(o->hostfwd, len + 48);
			if (!n)
				return vmm_fail("out of memory");
			snprintf(n + len, 48, ",hostfwd=tcp:%u-:%u", h, g);
			o->hostfwd = n;
			break;
		}
		case 'd':
			if (o->ndisks >= VM_MAX_VIRTIO - 1)
				return vmm_fail("--disk: at most %d disks", VM_MAX_VIRTIO - 1);
			o->disks[o->ndisks++] = optarg;
			break;
		case 'c':
			if (parse_uint(optarg, VM_MAX_CPUS, &o->cpus) || !o->cpus)
				return vmm_fail("--cpus '%s': expected a number from 1 to %d",
					    optarg, VM_MAX_CPUS);
			break;
		case 'm':
			if (parse_size(optarg, &o->mem))
				return vmm_fail("--memory '%s': expected a size such as 256, 256M or 1G",
					    optarg);
			break;
		case OPT_CMDLINE: o->cmdline = optarg; break;
		case OPT_INITRD: o->initrd = optarg; break;
		case OPT_WRITE_INITRD: o->write_initrd = optarg; break;
		case OPT_TIMEOUT:
			if (parse_uint(optarg, 86400 * 365, &o->timeout_s) ||
			    !o->timeout_s)
				return vmm_fail("--timeout '%s': expected seconds > 0",
					    optarg);
			break;
		case OPT_PVM_QUIRKS:
			if (!strcmp(optarg, "auto"))
				o->pvm_quirks = -1;
			else if (!strcmp(optarg, "on"))
				o->pvm_quirks = 1;
			else if (!strcmp(optarg, "off"))
				o->pvm_quirks = 0;
			else
				return vmm_fail("--pvm-quirks '%s': expected auto, on or off",
					    optarg);
			break;
		case OPT_STATS: o->stats = true; break;
		case OPT_TRACE_TESTPORT: o->trace_testport = true; break;
		case 'v': o->verbose = true; break;
		case 'q': o->quiet = true; break;
		case 'h': options_usage(stdout); exit(0);
		case OPT_VERSION: printf("minivmm %s\n", MINIVMM_VERSION); exit(0);
		case ':':
			return vmm_fail("option '%s' needs a value (see --help)",
				    argv[optind - 1]);
		default:
			return vmm_fail("unknown option '%s' (see --help)",
				    argv[optind - 1]);
		}
	}
	if (optind < argc) {
		/* getopt consumed "--" if it was there; anything else is stray. */
		if (strcmp(argv[optind - 1], "--"))
			return vmm_fail("unexpected argument '%s' (the app's command goes after --)",
				    argv[optind]);
		o->app_argv = &argv[optind];
	}
	if (o->write_initrd && !o->app)
		return vmm_fail("--write-initrd needs --app");
	if (!o->kernel && !o->write_initrd)
		return vmm_fail("no kernel given: use --kernel FILE (see --help)");
	if (o->app && o->initrd)
		return vmm_fail("--app and --initrd exclude each other");
	if (o->app_argv && !o->app)
		return vmm_fail("a command after -- needs --app");
	if (o->hostfwd && o->net && strncmp(o->net, "user", 4))
		return vmm_fail("--publish needs user-mode networking (--net user)");
	return 0;
}

int read_file(const char *what, const char *path, uint8_t **data,
		     size_t *size)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint8_t *buf;
	size_t got = 0;

	if (fd < 0)
		return vmm_fail("%s '%s': %s", what, path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return vmm_fail("%s '%s': not a regular file", what, path);
	}
	buf = malloc(st.st_size ? st.st_size : 1);
	if (!buf) {
		close(fd);
		return vmm_fail("%s '%s': out of memory", what, path);
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			close(fd);
			return vmm_fail("%s '%s': read error", what, path);
		}
		got += n;
	}
	close(fd);
	*data = buf;
	*size = got;
	return 0;
}

static int parse_ip(const char *s, uint32_t *ip, unsigned int *prefix)
{
	unsigned int a, b, c, d, p = 32;
	char tail = 0;
	int n = prefix ? sscanf(s, "%u.%u.%u.%u/%u%c", &a, &b, &c, &d, &p, &tail) :
			 sscanf(s, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail);

	if (n != (prefix ? 5 : 4) || a > 255 || b > 255 || c > 255 ||
	    d > 255 || p > 32)
		return -EINVAL;
	*ip = a << 24 | b << 16 | c << 8 | d;
	if (prefix)
		*prefix = p;
	return 0;
}

/* FNV-1a of the app's (or kernel's) path: the same VM gets the same MAC. */
static void default_mac(const struct options *o, uint8_t mac[6])
{
	const char *key = o->app ? o->app : o->kernel;
	char *real = key ? realpath(key, NULL) : NULL;
	uint32_t h = 2166136261U;

	for (const char *p = real ? real : (key ? key : ""); *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619U;
	free(real);
	/* 52:54:00 is the prefix QEMU and friends use for guest NICs. */
	mac[0] = 0x52;
	mac[1] = 0x54;
	mac[2] = 0x00;
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)h;
}

int net_plan_make(const struct options *o, struct net_plan *p)
{
	const char *net = o->net;

	memset(p, 0, sizeof(*p));
	if (!net && o->hostfwd)
		net = "user";
	if (!net || !strcmp(net, "none"))
		return 0;
	if (o->mac) {
		unsigned int m[6];
		char extra;

		if (sscanf(o->mac, "%x:%x:%x:%x:%x:%x%c", &m[0], &m[1], &m[2],
			   &m[3], &m[4], &m[5], &extra) != 6 || (m[0] & 1))
			return vmm_fail("--mac '%s': expected a unicast MAC such as 52:54:00:12:34:56",
				    o->mac);
		for (int i = 0; i < 6; i++) {
			if (m[i] > 255)
				return vmm_fail("--mac '%s': bytes are 00 to ff", o->mac);
			p->launch.mac[i] = (uint8_t)m[i];
		}
	} else {
		default_mac(o, p->launch.mac);
	}
	if (!strncmp(net, "user", 4) && (net[4] == '\0' || net[4] == ',')) {
		p->kind = NET_USER;
		snprintf(p->user_spec, sizeof(p->user_spec), "%s%s", net + 4,
			 o->hostfwd ? o->hostfwd : "");
		p->launch.ip = USER_GUEST;
		p->launch.prefix = 24;
		p->launch.gateway = USER_GATEWAY;
		p->launch.dns = USER_DNS;
		p->configure = true;
		return 0;
	}
	if (!strncmp(net, "tap=", 4)) {
		char *copy = strdup(net + 4), *save = NULL, *tok;
		int ret = 0;

		if (!copy)
			return vmm_fail("out of memory");
		p->kind = NET_TAP;
		tok = strtok_r(copy, ",", &save);
		snprintf(p->tap, sizeof(p->tap), "%s", tok ? tok : "");
		while (!ret && (tok = strtok_r(NULL, ",", &save))) {
			if (!strncmp(tok, "ip=", 3)) {
				ret = parse_ip(tok + 3, &p->launch.ip,
					       &p->launch.prefix);
				p->configure = true;
			} else if (!strncmp(tok, "gw=", 3)) {
				ret = parse_ip(tok + 3, &p->launch.gateway, NULL);
			} else if (!strncmp(tok, "dns=", 4)) {
				ret = parse_ip(tok + 4, &p->launch.dns, NULL);
			} else {
				ret = -EINVAL;
			}
			if (ret)
				vmm_fail("--net '%s': bad option '%s' (ip=A.B.C.D/N, gw=A.B.C.D, dns=A.B.C.D)",
				     net, tok);
		}
		free(copy);
		if (!ret && !p->tap[0])
			ret = vmm_fail("--net '%s': no interface name after tap=", net);
		return ret ? STATUS_USAGE : 0;
	}
	return vmm_fail("--net '%s': expected user[,hostfwd=...], tap=NAME[,...] or none",
		    net);
}
