// SPDX-License-Identifier: MIT
/*
 * minivmm: options, building the guest's boot material, starting the vCPUs,
 * running the event loop and turning the way the VM ended into an exit
 * status, like `docker run`.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <minivmm/guest_abi.h>

#include "../devices/legacy.h"
#include "../devices/serial8250.h"
#include "../devices/virtio_blk.h"
#include "../devices/virtio_mmio.h"
#include "../devices/virtio_net.h"
#include "../devices/virtio_rng.h"
#include "boot.h"
#include "initramfs.h"
#include "launch.h"
#include "vcpu.h"
#include "vm.h"

#define MINIVMM_VERSION "0.1"
#define DEFAULT_MEM (256ULL << 20)
#define MIN_MEM (2ULL << 20)
#define STATUS_USAGE 125 /* minivmm itself failed, as docker run's 125 */
#define STATUS_TIMEOUT 124 /* as timeout(1) */

/* The guest init, embedded by the build (guest/init, see meson.build). */
extern const uint8_t minivmm_init_start[];
extern const uint8_t minivmm_init_end[];

/*
 * Under PVM the guest sees the host's CPUID, and the emulator lacks these
 * features' instructions; the kernel's own switch turns them off
 * (MACHINE-FACTS.md, "How far an ordinary Linux guest gets").  6.1 no longer
 * knows noxsave/nosmap/nosmep: clearcpuid covers them.
 */
static const char pvm_cmdline[] =
	"clearcpuid=popcnt,smap,smep,xsave,xsaves,xsaveopt,cx16,avx,avx2,"
	"fsgsbase,pcid,invpcid,rdrand,rdseed,umip,pku";

struct options {
	const char *kernel;
	const char *app;
	const char *initrd;
	const char *cmdline;
	const char *workdir;
	const char *write_initrd;
	char **env;
	unsigned int nenv;
	char **app_argv; /* after "--" */
	char **disks; /* --disk FILE[,ro] */
	unsigned int ndisks;
	const char *net; /* --net SPEC */
	char *hostfwd; /* -p forwards, as ",hostfwd=tcp:H-:G..." */
	const char *mac;
	uint64_t mem;
	unsigned int cpus;
	unsigned int timeout_s;
	int pvm_quirks; /* -1 auto */
	bool verbose, quiet, stats, trace_testport;
};

static void usage(FILE *f)
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

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
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

static int parse_options(int argc, char **argv, struct options *o)
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
		return fail("out of memory");
	opterr = 0;
	/* "+": stop at the first non-option; "--" starts the app's argv. */
	while ((c = getopt_long(argc, argv, "+:k:a:d:n:p:e:w:c:m:vqh", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'k': o->kernel = optarg; break;
		case 'a': o->app = optarg; break;
		case 'e':
			if (!strchr(optarg, '='))
				return fail("--env '%s': expected KEY=VALUE", optarg);
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
				return fail("--publish '%s': expected HOSTPORT:GUESTPORT, ports 1-65535",
					    optarg);
			n = realloc(o->hostfwd, len + 48);
			if (!n)
				return fail("out of memory");
			snprintf(n + len, 48, ",hostfwd=tcp:%u-:%u", h, g);
			o->hostfwd = n;
			break;
		}
		case 'd':
			if (o->ndisks >= VM_MAX_VIRTIO - 1)
				return fail("--disk: at most %d disks", VM_MAX_VIRTIO - 1);
			o->disks[o->ndisks++] = optarg;
			break;
		case 'c':
			if (parse_uint(optarg, VM_MAX_CPUS, &o->cpus) || !o->cpus)
				return fail("--cpus '%s': expected a number from 1 to %d",
					    optarg, VM_MAX_CPUS);
			break;
		case 'm':
			if (parse_size(optarg, &o->mem))
				return fail("--memory '%s': expected a size such as 256, 256M or 1G",
					    optarg);
			break;
		case OPT_CMDLINE: o->cmdline = optarg; break;
		case OPT_INITRD: o->initrd = optarg; break;
		case OPT_WRITE_INITRD: o->write_initrd = optarg; break;
		case OPT_TIMEOUT:
			if (parse_uint(optarg, 86400 * 365, &o->timeout_s) ||
			    !o->timeout_s)
				return fail("--timeout '%s': expected seconds > 0",
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
				return fail("--pvm-quirks '%s': expected auto, on or off",
					    optarg);
			break;
		case OPT_STATS: o->stats = true; break;
		case OPT_TRACE_TESTPORT: o->trace_testport = true; break;
		case 'v': o->verbose = true; break;
		case 'q': o->quiet = true; break;
		case 'h': usage(stdout); exit(0);
		case OPT_VERSION: printf("minivmm %s\n", MINIVMM_VERSION); exit(0);
		case ':':
			return fail("option '%s' needs a value (see --help)",
				    argv[optind - 1]);
		default:
			return fail("unknown option '%s' (see --help)",
				    argv[optind - 1]);
		}
	}
	if (optind < argc) {
		/* getopt consumed "--" if it was there; anything else is stray. */
		if (strcmp(argv[optind - 1], "--"))
			return fail("unexpected argument '%s' (the app's command goes after --)",
				    argv[optind]);
		o->app_argv = &argv[optind];
	}
	if (o->write_initrd && !o->app)
		return fail("--write-initrd needs --app");
	if (!o->kernel && !o->write_initrd)
		return fail("no kernel given: use --kernel FILE (see --help)");
	if (o->app && o->initrd)
		return fail("--app and --initrd exclude each other");
	if (o->app_argv && !o->app)
		return fail("a command after -- needs --app");
	if (o->hostfwd && o->net && strncmp(o->net, "user", 4))
		return fail("--publish needs user-mode networking (--net user)");
	return 0;
}

static int read_file(const char *what, const char *path, uint8_t **data,
		     size_t *size)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint8_t *buf;
	size_t got = 0;

	if (fd < 0)
		return fail("%s '%s': %s", what, path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail("%s '%s': not a regular file", what, path);
	}
	buf = malloc(st.st_size ? st.st_size : 1);
	if (!buf) {
		close(fd);
		return fail("%s '%s': out of memory", what, path);
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			close(fd);
			return fail("%s '%s': read error", what, path);
		}
		got += n;
	}
	close(fd);
	*data = buf;
	*size = got;
	return 0;
}

static size_t argv_count(char *const *argv)
{
	size_t n = 0;

	while (argv && argv[n])
		n++;
	return n;
}

/* ---- networking: what --net, -p and --mac ask for ---- */

enum net_kind { NET_NONE, NET_USER, NET_TAP };

struct net_plan {
	enum net_kind kind;
	char user_spec[1024]; /* after "user": ",hostfwd=..." */
	char tap[32];
	struct launch_net launch;
	bool configure; /* give init a net node */
};

#define SLIRP_GUEST_IP 0x0a00020fU /* 10.0.2.15 */
#define SLIRP_GATEWAY 0x0a000202U /* 10.0.2.2 */
#define SLIRP_DNS 0x0a000203U /* 10.0.2.3 */

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

static int plan_net(const struct options *o, struct net_plan *p)
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
			return fail("--mac '%s': expected a unicast MAC such as 52:54:00:12:34:56",
				    o->mac);
		for (int i = 0; i < 6; i++) {
			if (m[i] > 255)
				return fail("--mac '%s': bytes are 00 to ff", o->mac);
			p->launch.mac[i] = (uint8_t)m[i];
		}
	} else {
		default_mac(o, p->launch.mac);
	}
	if (!strncmp(net, "user", 4) && (net[4] == '\0' || net[4] == ',')) {
		p->kind = NET_USER;
		snprintf(p->user_spec, sizeof(p->user_spec), "%s%s", net + 4,
			 o->hostfwd ? o->hostfwd : "");
		p->launch.ip = SLIRP_GUEST_IP;
		p->launch.prefix = 24;
		p->launch.gateway = SLIRP_GATEWAY;
		p->launch.dns = SLIRP_DNS;
		p->configure = true;
		return 0;
	}
	if (!strncmp(net, "tap=", 4)) {
		char *copy = strdup(net + 4), *save = NULL, *tok;
		int ret = 0;

		if (!copy)
			return fail("out of memory");
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
				fail("--net '%s': bad option '%s' (ip=A.B.C.D/N, gw=A.B.C.D, dns=A.B.C.D)",
				     net, tok);
		}
		free(copy);
		if (!ret && !p->tap[0])
			ret = fail("--net '%s': no interface name after tap=", net);
		return ret ? STATUS_USAGE : 0;
	}
	return fail("--net '%s': expected user[,hostfwd=...], tap=NAME[,...] or none",
		    net);
}

static int attach_net(struct vm *vm, const struct net_plan *p,
		      struct vnet **out)
{
	struct net_backend *be = NULL;
	struct net_config cfg;
	char err[256] = "";
	int ret;

	if (p->kind == NET_USER)
		ret = net_slirp_create(vm, p->user_spec, &cfg, &be, err,
				       sizeof(err));
	else
		ret = net_tap_create(vm, p->tap, &be, err, sizeof(err));
	if (ret)
		return fail("%s", err[0] ? err : strerror(-ret));
	ret = vnet_attach(vm, p->launch.mac, be, out);
	if (ret) {
		be->ops->destroy(be);
		return fail("virtio-net: %s", strerror(-ret));
	}
	return 0;
}

enum app_kind {
	APP_DIR, /* a directory: the app's root */
	APP_CPIO, /* a newc archive: the app's root */
	APP_EXEC, /* one ELF executable */
	APP_IMAGE, /* a filesystem image: a read-only disk, /dev/vda */
};

/* What --app names, from its type and first bytes. */
static int probe_app(const char *path, enum app_kind *kind,
		     const char **fstype)
{
	uint8_t head[2048] = { 0 };
	uint32_t erofs_magic;
	uint16_t ext_magic;
	struct stat st;
	ssize_t n;
	int fd;

	if (stat(path, &st) < 0)
		return fail("app '%s': %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		*kind = APP_DIR;
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return fail("app '%s': not a directory or a regular file", path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("app '%s': %s", path, strerror(errno));
	n = pread(fd, head, sizeof(head), 0);
	close(fd);
	if (n < 0)
		return fail("app '%s': %s", path, strerror(errno));
	memcpy(&erofs_magic, head + 1024, 4);
	memcpy(&ext_magic, head + 1024 + 56, 2);
	if (n >= 6 && !memcmp(head, "070701", 6)) {
		*kind = APP_CPIO;
	} else if (n >= 4 && !memcmp(head, "\177ELF", 4)) {
		*kind = APP_EXEC;
	} else if (n >= 1028 && erofs_magic == 0xe0f5e1e2) {
		*kind = APP_IMAGE;
		*fstype = "erofs";
	} else if (n >= 4 && !memcmp(head, "hsqs", 4)) {
		*kind = APP_IMAGE;
		*fstype = "squashfs";
	} else if (n >= 1082 && ext_magic == 0xef53) {
		*kind = APP_IMAGE;
		*fstype = "ext4";
	} else {
		return fail("app '%s': not a directory, an app image (erofs, squashfs, ext4), a newc cpio archive or an ELF executable",
			    path);
	}
	return 0;
}

/*
 * The initramfs for --app: /init, /minivmm/launch.dtb and, unless the app
 * is an image on its own disk, the app's files under /app.
 */
static int build_initramfs(const struct options *o, enum app_kind kind,
			   const char *fstype, const struct net_plan *net,
			   struct cpio *c)
{
	size_t init_size = (size_t)(minivmm_init_end - minivmm_init_start);
	char **exec_argv = NULL;
	char exe_name[256];
	struct launch l = { 0 };
	uint8_t *data = NULL;
	size_t size = 0;
	void *dtb;
	size_t dtb_size;
	int ret;

	cpio_init(c);
	ret = cpio_add(c, "init", S_IFREG | 0755, minivmm_init_start, init_size);
	ret = ret ?: cpio_add_dir(c, "minivmm", 0755);
	if (ret)
		return fail("initramfs: %s", strerror(-ret));
	if ((kind == APP_CPIO || kind == APP_EXEC) &&
	    read_file("app", o->app, &data, &size))
		return STATUS_USAGE;

	l.argv = o->app_argv;
	switch (kind) {
	case APP_DIR:
		ret = cpio_add_host_tree(c, "app", o->app);
		if (ret)
			return fail("app '%s': %s", o->app,
				    c->err[0] ? c->err : strerror(-ret));
		break;
	case APP_CPIO:
		ret = cpio_add_archive(c, "app", data, size);
		free(data);
		if (ret)
			return fail("app '%s': not a valid newc cpio archive: %s",
				    o->app, c->err);
		break;
	case APP_EXEC: {
		/* A single executable: /app/NAME, run as /NAME. */
		char *copy = strdup(o->app);
		char name[300];

		snprintf(exe_name, sizeof(exe_name), "/%s",
			 copy ? basename(copy) : "app");
		free(copy);
		snprintf(name, sizeof(name), "app%s", exe_name);
		ret = cpio_add_dir(c, "app", 0755);
		ret = ret ?: cpio_add(c, name, S_IFREG | 0755, data, size);
		free(data);
		if (ret)
			return fail("initramfs: %s", strerror(-ret));
		/* The executable is the command; after -- come its args. */
		exec_argv = calloc(argv_count(o->app_argv) + 2, sizeof(char *));
		if (!exec_argv)
			return fail("out of memory");
		exec_argv[0] = exe_name;
		for (size_t i = 0; o->app_argv && o->app_argv[i]; i++)
			exec_argv[i + 1] = o->app_argv[i];
		l.argv = exec_argv;
		break;
	}
	case APP_IMAGE:
		/* The first virtio disk; its manifest supplies the command. */
		l.root_disk = "/dev/vda";
		l.root_fstype = fstype;
		break;
	}
	if (!l.argv && kind != APP_IMAGE)
		return fail("app '%s': no command to run: add '-- COMMAND ARGS...'",
			    o->app);
	l.env = o->env;
	l.cwd = o->workdir;
	if (net->configure)
		l.net = &net->launch;
	ret = launch_build(&l, &dtb, &dtb_size);
	free(exec_argv);
	if (ret)
		return fail("launch description: %s", strerror(-ret));
	ret = cpio_add(c, MINIVMM_LAUNCH_PATH + 1, S_IFREG | 0644, dtb,
		       dtb_size);
	free(dtb);
	ret = ret ?: cpio_finish(c);
	if (ret)
		return fail("initramfs: %s", strerror(-ret));
	return 0;
}

static int write_initrd(const char *path, struct cpio *c)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (!f)
		return fail("--write-initrd '%s': %s", path, strerror(errno));
	ok = fwrite(c->buf, 1, c->len, f) == c->len;
	ok = (fclose(f) == 0) && ok;
	cpio_free(c);
	if (!ok)
		return fail("--write-initrd '%s': write failed", path);
	return 0;
}

static int compose_cmdline(const struct options *o, const struct vm *vm,
			   char **out)
{
	bool pvm = vm->pvm;
	const char *base = "console=ttyS0 reboot=k panic=-1 io_delay=none "
			   "8250.nr_uarts=1";

	/* The user's words come last, so they override ours. */
	if (asprintf(out, "%s%s%s%s%s%s%s%s", base, o->verbose ? "" : " quiet",
		     pvm ? " " : "", pvm ? pvm_cmdline : "",
		     vm->nr_virtio ? " " : "", vm->virtio_cmdline,
		     o->cmdline ? " " : "", o->cmdline ? o->cmdline : "") < 0)
		return -ENOMEM;
	return 0;
}

/* ---- the terminal: raw while the guest owns it, restored on every exit ---- */

struct term {
	bool raw;
	struct termios saved;
};

static void term_raw(struct term *t)
{
	struct termios raw;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &t->saved) < 0)
		return;
	raw = t->saved;
	cfmakeraw(&raw);
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
		t->raw = true;
}

static void term_restore(struct term *t)
{
	if (t->raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &t->saved);
	t->raw = false;
}

/* ---- event-loop handlers for the VM's own events ---- */

struct run_ctx {
	struct vm *vm;
	int sig_fd;
	struct ev_op stop_op, sig_op, timeout_op;
};

static void on_stop(struct ev_op *op, int res, uint32_t flags)
{
	struct run_ctx *rc = op->opaque;

	(void)res;
	(void)flags;
	evloop_stop(&rc->vm->loop);
}

static void on_signal(struct ev_op *op, int res, uint32_t flags)
{
	struct run_ctx *rc = op->opaque;
	struct signalfd_siginfo si;

	(void)flags;
	if (res < 0 || read(rc->sig_fd, &si, sizeof(si)) != sizeof(si)) {
		evloop_poll(&rc->vm->loop, &rc->sig_op, rc->sig_fd, POLLIN);
		return;
	}
	vm_request_end(rc->vm, VM_END_SIGNAL, 128 + (int)si.ssi_signo);
}

static void on_timeout(struct ev_op *op, int res, uint32_t flags)
{
	struct run_ctx *rc = op->opaque;

	(void)res;
	(void)flags;
	vm_request_end(rc->vm, VM_END_TIMEOUT, STATUS_TIMEOUT);
}

static void print_stats(const struct vm *vm)
{
	fprintf(stderr,
		"minivmm stats: first KVM_RUN after %.3f ms wall, %.3f ms CPU\n"
		"minivmm stats: exits: io %llu, mmio %llu, intr %llu, other %llu\n"
		"minivmm stats: unhandled: pio %llu, mmio %llu\n"
		"minivmm stats: pvm quirks: fwait skipped %llu, int3 injected %llu\n",
		vm->stats.first_run_wall_ns / 1e6, vm->stats.first_run_cpu_ns / 1e6,
		(unsigned long long)vm->stats.exits_io,
		(unsigned long long)vm->stats.exits_mmio,
		(unsigned long long)vm->stats.exits_intr,
		(unsigned long long)vm->stats.exits_other,
		(unsigned long long)vm->pio.unhandled,
		(unsigned long long)vm->mmio.unhandled,
		(unsigned long long)vm->stats.pvm_fwait_skipped,
		(unsigned long long)vm->stats.pvm_int3_injected);
}

static void print_disk_stats(const struct vblk *b)
{
	const struct vblk_stats *st = vblk_stats(b);

	fprintf(stderr,
		"minivmm stats: disk %s: reads %llu (%llu bytes), writes %llu (%llu bytes), flushes %llu, ids %llu, ioerr %llu, unsupp %llu, resubmits %llu, backpressure %llu\n",
		vblk_path(b), (unsigned long long)st->reads,
		(unsigned long long)st->bytes_read,
		(unsigned long long)st->writes,
		(unsigned long long)st->bytes_written,
		(unsigned long long)st->flushes, (unsigned long long)st->get_ids,
		(unsigned long long)st->ioerr, (unsigned long long)st->unsupp,
		(unsigned long long)st->resubmits,
		(unsigned long long)st->backpressure);
}

static void print_net_stats(const struct vnet *n)
{
	const struct vnet_stats *st = vnet_stats(n);

	fprintf(stderr,
		"minivmm stats: net (%s): tx %llu frames %llu bytes, rx %llu frames %llu bytes, tx bad %llu, tx backend errors %llu, rx no buffer %llu, rx too big %llu, checksums filled %llu\n",
		vnet_backend(n)->ops->name, (unsigned long long)st->tx_frames,
		(unsigned long long)st->tx_bytes,
		(unsigned long long)st->rx_frames,
		(unsigned long long)st->rx_bytes,
		(unsigned long long)st->tx_bad,
		(unsigned long long)st->tx_backend_errors,
		(unsigned long long)st->rx_no_buffer,
		(unsigned long long)st->rx_too_big,
		(unsigned long long)st->csum_filled);
}

static int load_kernel(struct vm *vm, const struct options *o,
		       const char *cmdline, const uint8_t *initrd,
		       size_t initrd_size, struct boot_entry *entry)
{
	struct boot_request req = { 0 };
	enum kernel_kind kind;
	const char *why = NULL;
	uint8_t *data;
	size_t size;
	int ret;

	if (read_file("kernel", o->kernel, &data, &size))
		return STATUS_USAGE;
	kind = kernel_probe(data, size, &why);
	if (kind == KERNEL_UNKNOWN) {
		free(data);
		return fail("kernel '%s': %s", o->kernel, why);
	}
	if (!o->quiet)
		fprintf(stderr, "minivmm: kernel '%s': %s\n", o->kernel,
			kernel_kind_name(kind));
	if (!o->quiet && kind == KERNEL_BZIMAGE && vm->pvm)
		fprintf(stderr,
			"minivmm: note: /dev/kvm is PVM; a bzImage's decompressor runs emulated and slowly here, the PVH vmlinux boots much faster\n");
	req.kernel = data;
	req.kernel_size = size;
	req.cmdline = cmdline;
	req.initrd = initrd;
	req.initrd_size = initrd_size;
	ret = kind == KERNEL_BZIMAGE ? boot_linux_load(&vm->mem, &req, entry) :
				       boot_pvh_load(&vm->mem, &req, entry);
	free(data);
	if (ret)
		return fail("kernel '%s': %s", o->kernel, req.err);
	if (mptable_write(&vm->mem, vm->ncpus))
		return fail("MP table: does not fit in guest RAM");
	return 0;
}

static int run_vm(struct vm *vm, const struct options *o, struct vnet *vnet)
{
	struct run_ctx rc = { .vm = vm, .sig_fd = -1 };
	struct term term = { 0 };
	sigset_t sigs;
	int ret = 0;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	rc.sig_fd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (rc.sig_fd < 0)
		return fail("signalfd: %s", strerror(errno));
	rc.stop_op = (struct ev_op){ .cb = on_stop, .opaque = &rc };
	rc.sig_op = (struct ev_op){ .cb = on_signal, .opaque = &rc };
	rc.timeout_op = (struct ev_op){ .cb = on_timeout, .opaque = &rc };
	evloop_poll(&vm->loop, &rc.stop_op, vm->stop_fd, POLLIN);
	evloop_poll(&vm->loop, &rc.sig_op, rc.sig_fd, POLLIN);
	if (o->timeout_s)
		evloop_timeout(&vm->loop, &rc.timeout_op,
			       (uint64_t)o->timeout_s * 1000);
	serial_start_input(vm);
	for (unsigned int i = 0; i < vm->nr_virtio; i++)
		virtio_mmio_start(vm->virtio[i]);
	if (vnet && vnet_start(vnet))
		vm_request_end(vm, VM_END_HOST_ERROR, STATUS_USAGE);

	term_raw(&term);
	for (unsigned int i = 0; i < vm->ncpus && !ret; i++)
		ret = vcpu_start(&vm->vcpus[i]);
	if (ret)
		vm_request_end(vm, VM_END_HOST_ERROR, STATUS_USAGE);
	ret = evloop_run(&vm->loop);
	if (ret)
		vm_request_end(vm, VM_END_HOST_ERROR, STATUS_USAGE);
	for (unsigned int i = 0; i < vm->ncpus; i++)
		vcpu_stop(&vm->vcpus[i]);
	term_restore(&term);
	close(rc.sig_fd);
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	struct vm vm;
	struct cpio initramfs = { 0 };
	struct boot_entry entry;
	uint8_t *initrd = NULL;
	size_t initrd_size = 0;
	char *cmdline = NULL;
	uint64_t host_ram;
	uint64_t start_ns = vm_now_ns();
	enum app_kind app_kind = APP_DIR;
	const char *app_fstype = NULL;
	struct vblk *disks[VM_MAX_VIRTIO];
	unsigned int ndisks = 0;
	struct net_plan net_plan;
	struct vnet *vnet = NULL;
	struct vrng *vrng = NULL;
	char err[320];
	sigset_t block;
	int status;

	status = parse_options(argc, argv, &o);
	if (status)
		return status;
	host_ram = (uint64_t)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE);
	if (o.mem < MIN_MEM)
		return fail("--memory: %llu KiB is too small (at least %llu MiB)",
			    (unsigned long long)(o.mem >> 10),
			    (unsigned long long)(MIN_MEM >> 20));
	if (o.mem > host_ram)
		return fail("--memory: %llu MiB is more than this host's %llu MiB of RAM",
			    (unsigned long long)(o.mem >> 20),
			    (unsigned long long)(host_ram >> 20));
	o.mem &= ~0xfffULL;
	if (o.kernel && access(o.kernel, R_OK) < 0)
		return fail("kernel '%s': %s", o.kernel, strerror(errno));
	if (plan_net(&o, &net_plan))
		return STATUS_USAGE;
	if (o.app && (probe_app(o.app, &app_kind, &app_fstype) ||
		      build_initramfs(&o, app_kind, app_fstype, &net_plan,
				      &initramfs)))
		return STATUS_USAGE;
	if (o.write_initrd)
		return write_initrd(o.write_initrd, &initramfs);
	if (o.app) {
		initrd = initramfs.buf;
		initrd_size = initramfs.len;
	} else if (o.initrd && read_file("initrd", o.initrd, &initrd,
					 &initrd_size)) {
		return STATUS_USAGE;
	}

	/*
	 * Signals for the whole VM are read from a signalfd by the loop; block
	 * them before any thread starts so every thread inherits the mask.
	 */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, NULL);
	vcpu_init_signals();
	signal(SIGPIPE, SIG_IGN);

	if (vm_create(&vm, o.mem, o.cpus)) {
		vm_destroy(&vm);
		return STATUS_USAGE;
	}
	vm.stats.start_ns = start_ns;
	vm.trace_testport = o.trace_testport;
	vm.pvm_quirks = o.pvm_quirks < 0 ? vm.pvm : o.pvm_quirks;
	/* The app image first, so that it is /dev/vda. */
	if (o.app && app_kind == APP_IMAGE &&
	    vblk_attach(&vm, o.app, true, &disks[ndisks++], err, sizeof(err))) {
		ndisks--;
		status = fail("app %s", err + strlen("disk "));
		goto out;
	}
	for (unsigned int i = 0; i < o.ndisks; i++) {
		char *path = o.disks[i], *comma = strrchr(path, ',');
		bool ro = comma && !strcmp(comma, ",ro");

		if (ro)
			*comma = '\0';
		if (vblk_attach(&vm, path, ro, &disks[ndisks], err,
				sizeof(err))) {
			status = fail("%s", err);
			goto out;
		}
		ndisks++;
	}
	if (net_plan.kind != NET_NONE) {
		status = attach_net(&vm, &net_plan, &vnet);
		if (status)
			goto out;
	}
	/* Entropy for Linux guests (test guests do without the device). */
	if (o.app && vrng_attach(&vm, &vrng)) {
		status = fail("virtio-rng: %s", strerror(ENOSPC));
		goto out;
	}
	if (compose_cmdline(&o, &vm, &cmdline)) {
		status = fail("out of memory");
		goto out;
	}
	status = load_kernel(&vm, &o, cmdline, initrd, initrd_size, &entry);
	if (status)
		goto out;
	if (serial_attach(&vm, STDIN_FILENO, STDOUT_FILENO) ||
	    i8042_attach(&vm) || rtc_attach(&vm) || exitport_attach(&vm)) {
		status = fail("device setup failed");
		goto out;
	}
	if (vcpu_set_boot_state(&vm.vcpus[0], &entry)) {
		status = fail("setting boot registers: %s", strerror(errno));
		goto out;
	}
	run_vm(&vm, &o, vnet);
	status = vm.end_status;
	switch ((enum vm_end)vm.end) {
	case VM_END_TIMEOUT:
		fprintf(stderr, "minivmm: timeout: the VM ran for %u s\n",
			o.timeout_s);
		break;
	case VM_END_NONE:
		status = STATUS_USAGE;
		break;
	default:
		break;
	}
	if (o.stats) {
		print_stats(&vm);
		for (unsigned int i = 0; i < ndisks; i++)
			print_disk_stats(disks[i]);
		if (vnet)
			print_net_stats(vnet);
		if (vrng)
			fprintf(stderr, "minivmm stats: rng: %llu bytes\n",
				(unsigned long long)vrng_bytes(vrng));
	}
out:
	vm_destroy(&vm);
	for (unsigned int i = 0; i < ndisks; i++)
		vblk_destroy(disks[i]);
	vnet_destroy(vnet);
	vrng_destroy(vrng);
	serial_detach(&vm);
	legacy_detach(&vm);
	cpio_free(&initramfs);
	if (!o.app)
		free(initrd);
	free(cmdline);
	free(o.env);
	free(o.disks);
	free(o.hostfwd);
	return status;
}
