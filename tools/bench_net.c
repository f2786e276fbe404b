// SPDX-License-Identifier: MIT
/*
 * bench-net: virtio-net's data path through its slirp and tap backends,
 * with no guest kernel.
 *
 * A real VM (vm_create: 16 MiB, one vCPU that never runs) gets a virtio-net
 * device (vnet_attach) with a slirp or tap backend, and its event loop runs
 * on a thread of its own as in minivmm.  A second thread plays the guest:
 * it sets the device up through the virtio-mmio register model, keeps the
 * receive queue stocked and speaks just enough ARP, IPv4 and TCP to move a
 * bulk stream each way over one connection (a client with a fixed 64 KiB
 * window, no window scaling, no retransmission, one ACK per batch of
 * received segments as GRO gives a Linux guest, PSH where Linux puts it,
 * checksums left to the device as a Linux guest does).  A third
 * thread is the host's end: a TCP server that reads the guest's stream,
 * checks every byte, then writes its own, which the driver checks.
 *
 * slirp: the server listens on 127.0.0.1 and the guest (10.0.2.15) reaches
 * it as 10.0.2.2, through slirp's NAT.  tap: the benchmark moves into a
 * network namespace of its own (unshare, so root), creates a tap there with
 * the host end at 10.1.0.1/24, and the guest is 10.1.0.2.
 *
 * The driver polls its rings while there is work and sleeps when there is
 * none, woken by the device's interrupt: the transport's irqfd is swapped
 * for an eventfd the driver waits on, so KVM's interrupt injection is not
 * measured (the device's eventfd writes are).  Not measured either: vCPU
 * exits, the guest's interrupt handling and its own network stack, which
 * under PVM are what bound a real guest (tools/bench_net_guest.sh).
 *
 *   bench-net [-b user|tap|both] [-s MIB] [-r RUNS] [-n]
 * -n: do not negotiate VIRTIO_RING_F_EVENT_IDX.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_net.h"
#include "devices/net_backend.h"

/* The tap's private network (slirp's addresses come from net_slirp). */
#define TAP_HOST 0x0a010001U /* 10.1.0.1 */
#define TAP_GUEST 0x0a010002U /* 10.1.0.2 */
#define TAP_MASK 0xffffff00U
#define TAP_NAME "bnettap0"

const uint8_t guest_mac[ETH_ALEN] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
uint8_t pattern[PATTERN_PERIOD + APP_CHUNK];

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t dev_frames(struct bench *b)
{
	const struct vnet_stats *st = vnet_stats(b->net);

	return __atomic_load_n(&st->tx_frames, __ATOMIC_RELAXED) +
	       __atomic_load_n(&st->rx_frames, __ATOMIC_RELAXED);
}

/* ---- the host's end: a TCP server on its own thread ---- */

static int host_recv_all(struct bench *b, int fd, struct run_result *r)
{
	static uint8_t buf[APP_CHUNK];
	uint64_t got = 0;

	while (got < b->o->bytes) {
		size_t want = b->o->bytes - got < sizeof(buf) ?
				      (size_t)(b->o->bytes - got) :
				      sizeof(buf);
		ssize_t n = recv(fd, buf, want, 0);

		if (n <= 0)
			return n ? -errno : -ECONNRESET;
		if (memcmp(buf, pattern + got % PATTERN_PERIOD, (size_t)n))
			return -EBADMSG;
		got += (uint64_t)n;
	}
	r->g2h_t1 = now_s();
	r->g2h_cpu1 = clock_s(b->loop_clock);
	r->g2h_frames1 = dev_frames(b);
	return 0;
}

static int host_send_all(struct bench *b, int fd, struct run_result *r)
{
	uint64_t sent = 0;

	r->h2g_t0 = now_s();
	r->h2g_cpu0 = clock_s(b->loop_clock);
	r->h2g_frames0 = dev_frames(b);
	while (sent < b->o->bytes) {
		size_t want = b->o->bytes - sent < APP_CHUNK ?
				      (size_t)(b->o->bytes - sent) :
				      APP_CHUNK;
		ssize_t n = send(fd, pattern + sent % PATTERN_PERIOD, want,
				 MSG_NOSIGNAL);

		if (n <= 0)
			return n ? -errno : -EIO;
		sent += (uint64_t)n;
	}
	return 0;
}

static void *host_main(void *arg)
{
	struct bench *b = arg;
	struct timeval tv = { .tv_sec = 10 };

	pthread_setname_np(pthread_self(), "bench-host");
	for (unsigned int run = 0; run < b->o->runs; run++) {
		struct run_result *r = &b->res[run];
		struct pollfd pfd = { .fd = b->lfd, .events = POLLIN };
		char c;
		int fd, ret;

		if (poll(&pfd, 1, 10000) != 1) {
			r->host_err = -ETIMEDOUT;
			atomic_store(&r->host_done, true);
			return NULL;
		}
		fd = accept4(b->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			r->host_err = -errno;
			atomic_store(&r->host_done, true);
			return NULL;
		}
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		ret = host_recv_all(b, fd, r);
		if (!ret)
			ret = host_send_all(b, fd, r);
		/* The guest resets the connection once it has everything. */
		if (!ret)
			(void)!recv(fd, &c, 1, 0);
		close(fd);
		r->host_err = ret;
		atomic_store(&r->host_done, true);
	}
	return NULL;
}

static int host_listen(struct bench *b)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(b->host_addr) };
	socklen_t len = sizeof(sa);
	int one = 1;

	b->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (b->lfd < 0)
		return -errno;
	setsockopt(b->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(b->lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(b->lfd, 4) ||
	    getsockname(b->lfd, (struct sockaddr *)&sa, &len))
		return -errno;
	b->port = ntohs(sa.sin_port);
	return 0;
}

/* ---- tap: a network namespace of our own ---- */

static int if_ioctl(int s, unsigned long req, const char *name,
		    struct ifreq *ifr)
{
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
	return ioctl(s, req, ifr);
}

/* Bring @name up, with @addr/@mask when @addr is not 0. */
static int if_up(const char *name, uint32_t addr, uint32_t mask)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	int ret = 0;

	if (s < 0)
		return -errno;
	if (addr) {
		memset(&ifr, 0, sizeof(ifr));
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(addr);
		if (if_ioctl(s, SIOCSIFADDR, name, &ifr))
			ret = -errno;
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(mask);
		if (!ret && if_ioctl(s, SIOCSIFNETMASK, name, &ifr))
			ret = -errno;
	}
	memset(&ifr, 0, sizeof(ifr));
	if (!ret && if_ioctl(s, SIOCGIFFLAGS, name, &ifr))
		ret = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!ret && if_ioctl(s, SIOCSIFFLAGS, name, &ifr))
		ret = -errno;
	close(s);
	return ret;
}

/* ---- one backend: VM, device, threads, runs ---- */

static void on_stop(struct ev_op *op, int res, uint32_t flags)
{
	(void)res;
	(void)flags;
	evloop_stop(op->opaque);
}

static void *loop_main(void *arg)
{
	struct bench *b = arg;

	pthread_setname_np(pthread_self(), "bench-evloop");
	evloop_run(&b->vm.loop);
	return NULL;
}

static int bench_backend(const struct opts *o, bool tap, struct bench *b)
{
	struct net_backend *be = NULL;
	struct net_config cfg = { 0 };
	char err[320];
	uint64_t one = 1;
	int ret;

	memset(b, 0, sizeof(*b));
	b->o = o;
	b->tap = tap;
	b->lfd = -1;
	b->d.irq_fd = -1;
	if (tap && unshare(CLONE_NEWNET)) {
		fprintf(stderr, "bench-net: tap: a network namespace of our own: %s (run as root)\n",
			strerror(errno));
		return -errno;
	}
	ret = vm_create(&b->vm, VM_MEM, 1);
	if (ret)
		return ret;
	if (tap) {
		ret = net_tap_create(&b->vm, TAP_NAME, &be, err, sizeof(err));
		if (!ret) {
			ret = if_up("lo", 0, 0);
			if (!ret)
				ret = if_up(TAP_NAME, TAP_HOST, TAP_MASK);
			if (ret) {
				snprintf(err, sizeof(err),
					 "tap %s: bringing it up: %s",
					 TAP_NAME, strerror(-ret));
				be->ops->destroy(be);
			}
		}
		b->host_addr = TAP_HOST;
		b->d.ip = TAP_GUEST;
		b->d.peer_ip = TAP_HOST;
	} else {
		ret = net_slirp_create(&b->vm, "", &cfg, &be, err, sizeof(err));
		b->host_addr = INADDR_LOOPBACK;
		b->d.ip = cfg.ip;
		b->d.peer_ip = cfg.gateway;
	}
	if (ret) {
		fprintf(stderr, "bench-net: %s\n", err);
		goto out;
	}
	ret = vnet_attach(&b->vm, guest_mac, be, &b->net);
	if (ret) {
		be->ops->destroy(be);
		fprintf(stderr, "bench-net: virtio-net: %s\n", strerror(-ret));
		goto out;
	}
	b->t = b->vm.virtio[b->vm.nr_virtio - 1];
	ret = host_listen(b);
	if (ret) {
		fprintf(stderr, "bench-net: listen: %s\n", strerror(-ret));
		goto out;
	}
	ret = drv_init(b);
	if (ret)
		goto out;
	b->stop_op = (struct ev_op){ .cb = on_stop, .opaque = &b->vm.loop };
	evloop_poll(&b->vm.loop, &b->stop_op, b->vm.stop_fd, POLLIN);
	virtio_mmio_start(b->t);
	ret = vnet_start(b->net);
	if (ret)
		goto out;
	ret = -pthread_create(&b->loop_thread, NULL, loop_main, b);
	if (ret)
		goto out;
	pthread_getcpuclockid(b->loop_thread, &b->loop_clock);
	ret = -pthread_create(&b->host_thread, NULL, host_main, b);
	if (ret) {
		b->host_thread = 0;
		goto stop;
	}

	ret = drv_find_peer(&b->d);
	if (ret) {
		fprintf(stderr, "bench-net: no ARP answer from the host side\n");
		goto stop;
	}
	for (unsigned int run = 0; run < o->runs && !ret; run++)
		ret = drv_connection(b, run);
stop:
	if (write(b->vm.stop_fd, &one, sizeof(one)) < 0)
		perror("bench-net: stop");
	pthread_join(b->loop_thread, NULL);
	if (b->host_thread) {
		if (ret)
			shutdown(b->lfd, SHUT_RDWR);
		pthread_join(b->host_thread, NULL);
	}
out:
	if (b->lfd >= 0)
		close(b->lfd);
	return ret;
}

static void bench_free(struct bench *b)
{
	vm_destroy(&b->vm);
	vnet_destroy(b->net);
	b->net = NULL;
}

/* ---- reporting ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void report(const struct opts *o, struct bench *b, const char *name,
		   char *notes, size_t size)
{
	const struct vnet_stats *st = vnet_stats(b->net);
	static const char *const dirs[2] = { "guest→host", "host→guest" };
	size_t len = strlen(notes);

	for (int dir = 0; dir < 2; dir++) {
		double mbs[MAX_RUNS], cpu[MAX_RUNS], us[MAX_RUNS];
		double bound[MAX_RUNS];
		double lo = 1e300, hi = 0;

		for (unsigned int i = 0; i < o->runs; i++) {
			const struct run_result *r = &b->res[i];
			double secs = dir ? r->h2g_t1 - r->h2g_t0 :
					    r->g2h_t1 - r->g2h_t0;
			double c = dir ? r->h2g_cpu1 - r->h2g_cpu0 :
					 r->g2h_cpu1 - r->g2h_cpu0;
			uint64_t fr = dir ? r->h2g_frames1 - r->h2g_frames0 :
					    r->g2h_frames1 - r->g2h_frames0;

			mbs[i] = (double)o->bytes / secs / 1e6;
			cpu[i] = 100.0 * c / secs;
			us[i] = fr ? c * 1e6 / (double)fr : 0;
			bound[i] = (double)o->bytes / c / 1e6;
			lo = mbs[i] < lo ? mbs[i] : lo;
			hi = mbs[i] > hi ? mbs[i] : hi;
		}
		printf("| %s | %s | %.0f | %.0f–%.0f | %.0f%% | %.2f | %.0f |\n",
		       name, dirs[dir], median(mbs, o->runs), lo, hi,
		       median(cpu, o->runs), median(us, o->runs),
		       median(bound, o->runs));
	}
	fflush(stdout);
	snprintf(notes + len, size - len,
		 "%s: peer MSS %u, largest window %u; device: tx %llu frames, rx %llu frames, rx no buffer %llu, tx bad %llu, backend errors %llu; driver: %llu kicks, %llu sleeps, %llu interrupts, %llu out-of-order segments\n",
		 name, b->d.mss, b->d.max_wnd,
		 (unsigned long long)st->tx_frames,
		 (unsigned long long)st->rx_frames,
		 (unsigned long long)st->rx_no_buffer,
		 (unsigned long long)st->tx_bad,
		 (unsigned long long)st->tx_backend_errors,
		 (unsigned long long)b->d.kicks,
		 (unsigned long long)b->d.sleeps,
		 (unsigned long long)b->d.wakeups,
		 (unsigned long long)b->d.ooo);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench-net [-b user|tap|both] [-s MIB] [-r RUNS] [-n]\n"
		"  -b  backend(s): user (libslirp, default), tap (needs root), both\n"
		"  -s  MiB each way per run (default 32)\n"
		"  -r  runs, each a new TCP connection (default 5, at most %d)\n"
		"  -n  do not negotiate EVENT_IDX\n",
		MAX_RUNS);
}

int main(int argc, char **argv)
{
	struct opts o = { .bytes = 32ULL << 20,
			  .runs = 5,
			  .user = true,
			  .event_idx = true };
	struct bench *b;
	char notes[1024] = "";
	int c, status = 0;

	while ((c = getopt(argc, argv, "b:s:r:nh")) != -1) {
		switch (c) {
		case 'b':
			o.user = !strcmp(optarg, "user") ||
				 !strcmp(optarg, "both");
			o.tap = !strcmp(optarg, "tap") ||
				!strcmp(optarg, "both");
			if (!o.user && !o.tap) {
				usage();
				return 2;
			}
			break;
		case 's':
			o.bytes = strtoull(optarg, NULL, 0) << 20;
			break;
		case 'r':
			o.runs = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'n':
			o.event_idx = false;
			break;
		default:
			usage();
			return c == 'h' ? 0 : 2;
		}
	}
	if (o.runs < 1 || o.runs > MAX_RUNS || !o.bytes ||
	    o.bytes > (1ULL << 31)) {
		usage();
		return 2;
	}
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i % PATTERN_PERIOD);
	b = calloc(1, sizeof(*b));
	if (!b)
		return 1;

	printf("virtio-net data path, no guest kernel: a host thread plays the guest driver (ARP, IPv4, a minimal TCP client: MSS %u, fixed %u-byte window, no window scaling, one ACK per receive batch, checksums offloaded to the device)\n",
	       OUR_MSS, OUR_WINDOW);
	printf("each run: one TCP connection, %llu MiB guest→host then %llu MiB host→guest, every byte checked; %u runs, median (min–max)\n",
	       (unsigned long long)(o.bytes >> 20),
	       (unsigned long long)(o.bytes >> 20), o.runs);
	printf("queues: 2 × %u entries, 2 KiB buffers, EVENT_IDX %s; the driver sleeps on the device's interrupt eventfd when idle (KVM's irqfd injection not measured)\n",
	       QSIZE, o.event_idx ? "on" : "off");
	printf("user: host server on 127.0.0.1 (the guest dials 10.0.2.2); tap: a private network namespace, host end 10.1.0.1/24\n");
	printf("loop CPU: minivmm's event-loop thread (device + backend); loop-bound ceiling = bytes / loop CPU time\n\n");
	printf("| backend | direction | MB/s | range | loop CPU | loop CPU µs/frame | loop-bound ceiling MB/s |\n");
	printf("|---|---|---:|---:|---:|---:|---:|\n");
	fflush(stdout);
	if (o.user) {
		if (bench_backend(&o, false, b))
			status = 1;
		else
			report(&o, b, "user (slirp)", notes, sizeof(notes));
		bench_free(b);
	}
	if (o.tap) {
		if (bench_backend(&o, true, b))
			status = 1;
		else
			report(&o, b, "tap", notes, sizeof(notes));
		bench_free(b);
	}
	printf("\n%s", notes);
	free(b);
	return status;
}
