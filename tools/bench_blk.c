// SPDX-License-Identifier: MIT
/*
 * bench-blk: the virtio-blk data path against raw io_uring on the same file.
 *
 * Raw: one thread, liburing, a fixed number of readv requests in flight,
 * one submit per batch of completions.  minivmm: a real VM (vm_create) with
 * a virtio-blk disk (vblk_attach) and its event loop on one thread; a second
 * thread plays the guest driver: it keeps the same number of requests in
 * guest memory, kicks through the kick eventfd (what KVM's ioeventfd does
 * for a QueueNotify write) and reaps the used ring by polling.  There is no
 * guest: vCPU exits, interrupt delivery and the guest's own driver are not
 * measured; the device's irqfd writes are (KVM injects into an idle VM).
 *
 * Both use buffered I/O on a file that was read once beforehand, so the
 * figures are for a warm page cache: they measure per-request overhead and
 * copies, not a disk.
 *
 *   bench-blk [-f FILE] [-s MIB] [-t SECONDS] [-r RUNS] [-w rand4k|seq1m]
 *             [-n] [-q]
 * -n: do not negotiate VIRTIO_RING_F_EVENT_IDX; -q: the driver asks for no
 * interrupts at all (a polling guest), to see what the irqfd writes cost.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio_blk.h"
#include "devices/virtio_mmio.h"
#include "vmm/vm.h"

#define DEFAULT_FILE "/var/tmp/minivmm-bench-blk.img"
#define VM_MEM (64ULL << 20)
#define QSIZE 256
#define DESC_GPA 0x10000ULL
#define AVAIL_GPA 0x11000ULL
#define USED_GPA 0x12000ULL
#define HDR_GPA 0x20000ULL /* slot s: header at +32*s, status at +16 */
#define DATA_GPA 0x100000ULL /* slot s: block-size buffer at +bs*s */
#define MAX_QD 64

struct workload {
	const char *name;
	const char *desc;
	uint32_t bs;
	unsigned int qd;
	bool random;
};

static const struct workload workloads[] = {
	{ "rand4k", "4 KiB random reads, QD 32", 4096, 32, true },
	{ "seq1m", "1 MiB sequential reads, QD 4", 1 << 20, 4, false },
};

struct result {
	double secs;
	uint64_t ops, bytes, errors;
	double cpu_us; /* CPU time of the thread doing the I/O */
	uint64_t kicks, reaps; /* minivmm driver: kicks, non-empty polls */
	uint64_t vcsw, ivcsw; /* minivmm loop thread: context switches */
};

struct opts {
	const char *file;
	uint64_t size;
	double secs;
	unsigned int runs;
	const char *only;
	bool event_idx;
	bool no_irq; /* the driver asks for no interrupts (a polling guest) */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Offsets: random aligned blocks, or a sequential sweep that wraps. */
struct offgen {
	uint64_t state, next, blocks;
	uint32_t bs;
	bool random;
};

static uint64_t off_next(struct offgen *g)
{
	uint64_t b;

	if (g->random) {
		g->state ^= g->state << 13;
		g->state ^= g->state >> 7;
		g->state ^= g->state << 17;
		b = g->state % g->blocks;
	} else {
		b = g->next++ % g->blocks;
	}
	return b * g->bs;
}

static void off_init(struct offgen *g, const struct workload *w,
		     uint64_t size, unsigned int run)
{
	*g = (struct offgen){ .state = 0x9e3779b97f4a7c15ULL + run,
			      .blocks = size / w->bs,
			      .bs = w->bs,
			      .random = w->random };
}

/* ---- the file: created once, non-zero, then read to warm the cache ---- */

static int prepare_file(const char *path, uint64_t size)
{
	const size_t chunk = 1 << 20;
	struct stat st;
	uint8_t *buf = malloc(chunk);
	int fd;

	if (!buf)
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "bench-blk: %s: %s\n", path, strerror(errno));
		free(buf);
		return -1;
	}
	if (fstat(fd, &st) == 0 && (uint64_t)st.st_size != size) {
		fprintf(stderr, "bench-blk: writing %llu MiB to %s\n",
			(unsigned long long)(size >> 20), path);
		if (ftruncate(fd, 0) < 0)
			goto fail;
		for (uint64_t off = 0; off < size; off += chunk) {
			for (size_t i = 0; i < chunk; i += 8) {
				uint64_t v = (off + i) | 0x0101010101010101ULL;

				memcpy(buf + i, &v, 8);
			}
			if (pwrite(fd, buf, chunk, (off_t)off) !=
			    (ssize_t)chunk)
				goto fail;
		}
		fsync(fd);
	}
	/* Warm the page cache: both paths read from memory. */
	for (uint64_t off = 0; off < size; off += chunk)
		if (pread(fd, buf, chunk, (off_t)off) != (ssize_t)chunk)
			goto fail;
	close(fd);
	free(buf);
	return 0;
fail:
	fprintf(stderr, "bench-blk: %s: %s\n", path, strerror(errno));
	close(fd);
	free(buf);
	return -1;
}

/* ---- raw io_uring ---- */

static int run_raw(const struct opts *o, const struct workload *w,
		   unsigned int run, struct result *r)
{
	struct io_uring ring;
	struct iovec iov[MAX_QD];
	struct offgen g;
	uint8_t *bufs;
	unsigned int inflight = 0;
	double t0, deadline, c0;
	bool stopping = false;
	int fd, ret;

	memset(r, 0, sizeof(*r));
	fd = open(o->file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	bufs = aligned_alloc(4096, (size_t)w->bs * w->qd);
	ret = io_uring_queue_init(2 * w->qd, &ring, 0);
	if (!bufs || ret < 0) {
		close(fd);
		free(bufs);
		return ret < 0 ? ret : -ENOMEM;
	}
	memset(bufs, 0, (size_t)w->bs * w->qd);
	off_init(&g, w, o->size, run);
	c0 = cpu_s(CLOCK_THREAD_CPUTIME_ID);
	t0 = now_s();
	deadline = t0 + o->secs;
	for (unsigned int s = 0; s < w->qd; s++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		iov[s] = (struct iovec){ bufs + (size_t)s * w->bs, w->bs };
		io_uring_prep_readv(sqe, fd, &iov[s], 1, off_next(&g));
		io_uring_sqe_set_data64(sqe, s);
		inflight++;
	}
	while (inflight) {
		struct io_uring_cqe *cqe;
		unsigned int head, seen = 0;

		ret = io_uring_submit_and_wait(&ring, 1);
		if (ret < 0 && ret != -EINTR)
			break;
		if (!stopping && now_s() >= deadline) {
			stopping = true;
			r->secs = now_s() - t0;
			r->cpu_us = (cpu_s(CLOCK_THREAD_CPUTIME_ID) - c0) * 1e6;
		}
		io_uring_for_each_cqe(&ring, head, cqe) {
			unsigned int s = (unsigned int)cqe->user_data;
			struct io_uring_sqe *sqe;

			seen++;
			inflight--;
			if (stopping)
				continue;
			if (cqe->res != (int)w->bs) {
				r->errors++;
			} else {
				r->ops++;
				r->bytes += w->bs;
			}
			sqe = io_uring_get_sqe(&ring);
			io_uring_prep_readv(sqe, fd, &iov[s], 1, off_next(&g));
			io_uring_sqe_set_data64(sqe, s);
			inflight++;
		}
		io_uring_cq_advance(&ring, seen);
	}
	io_uring_queue_exit(&ring);
	close(fd);
	free(bufs);
	return ret < 0 && ret != -EINTR ? ret : 0;
}

/* ---- minivmm: a VM, its event loop, and a driver thread ---- */

struct vmm_bench {
	struct vm vm;
	struct vblk *blk;
	struct virtio_mmio *t;
	struct ev_op stop_op;
	const struct opts *o;
	const struct workload *w;
	unsigned int run;
	uint8_t *ram; /* guest-physical 0 */
	struct result *r;
	pthread_t loop_thread;
	atomic_int loop_tid;
};

static void on_stop(struct ev_op *op, int res, uint32_t flags)
{
	(void)res;
	(void)flags;
	evloop_stop(op->opaque);
}

static void *loop_main(void *arg)
{
	struct vmm_bench *vb = arg;

	atomic_store(&vb->loop_tid, gettid());
	pthread_setname_np(pthread_self(), "bench-evloop");
	evloop_run(&vb->vm.loop);
	return NULL;
}

/* A thread's voluntary and involuntary context switches so far. */
static void ctxt_switches(int tid, uint64_t *vol, uint64_t *invol)
{
	char path[64], line[128];
	FILE *f;

	*vol = *invol = 0;
	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;

		if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1)
			*vol = v;
		else if (sscanf(line, "nonvoluntary_ctxt_switches: %llu",
				&v) == 1)
			*invol = v;
	}
	fclose(f);
}

static void reg_write(struct vmm_bench *vb, uint64_t off, uint32_t val)
{
	pthread_mutex_lock(&vb->t->lock);
	virtio_mmio_reg_write(vb->t, off, val);
	pthread_mutex_unlock(&vb->t->lock);
}

static uint32_t reg_read(struct vmm_bench *vb, uint64_t off)
{
	uint32_t v;

	pthread_mutex_lock(&vb->t->lock);
	v = virtio_mmio_reg_read(vb->t, off);
	pthread_mutex_unlock(&vb->t->lock);
	return v;
}

/* Driver initialisation (§3.1.1): one queue of QSIZE entries. */
static int driver_init(struct vmm_bench *vb)
{
	uint64_t f = 1ULL << VIRTIO_F_VERSION_1;
	uint32_t st = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	if (vb->o->event_idx)
		f |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
	reg_write(vb, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	reg_write(vb, VIRTIO_MMIO_STATUS, st);
	reg_write(vb, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	reg_write(vb, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	reg_write(vb, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	reg_write(vb, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
	st |= VIRTIO_CONFIG_S_FEATURES_OK;
	reg_write(vb, VIRTIO_MMIO_STATUS, st);
	reg_write(vb, VIRTIO_MMIO_QUEUE_SEL, 0);
	reg_write(vb, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	reg_write(vb, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)DESC_GPA);
	reg_write(vb, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)AVAIL_GPA);
	reg_write(vb, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)USED_GPA);
	reg_write(vb, VIRTIO_MMIO_QUEUE_READY, 1);
	st |= VIRTIO_CONFIG_S_DRIVER_OK;
	reg_write(vb, VIRTIO_MMIO_STATUS, st);
	if (reg_read(vb, VIRTIO_MMIO_STATUS) != st) {
		fprintf(stderr, "bench-blk: device refused the driver (%#x)\n",
			reg_read(vb, VIRTIO_MMIO_STATUS));
		return -EIO;
	}
	return 0;
}

static struct vring_desc *g_desc(struct vmm_bench *vb)
{
	return (struct vring_desc *)(vb->ram + DESC_GPA);
}

static struct vring_avail *g_avail(struct vmm_bench *vb)
{
	return (struct vring_avail *)(vb->ram + AVAIL_GPA);
}

static struct vring_used *g_used(struct vmm_bench *vb)
{
	return (struct vring_used *)(vb->ram + USED_GPA);
}

/* The fixed chain of slot @s: header, data (device-writable), status. */
static void driver_slot(struct vmm_bench *vb, unsigned int s)
{
	struct vring_desc *d = g_desc(vb) + 3 * s;
	uint64_t hdr = HDR_GPA + 32ULL * s;

	d[0] = (struct vring_desc){ hdr, 16, VRING_DESC_F_NEXT,
				    (uint16_t)(3 * s + 1) };
	d[1] = (struct vring_desc){ DATA_GPA + (uint64_t)vb->w->bs * s,
				    vb->w->bs,
				    VRING_DESC_F_NEXT | VRING_DESC_F_WRITE,
				    (uint16_t)(3 * s + 2) };
	d[2] = (struct vring_desc){ hdr + 16, 1, VRING_DESC_F_WRITE, 0 };
}

static void driver_queue(struct vmm_bench *vb, unsigned int s,
			 uint64_t offset, uint16_t *avail_idx)
{
	struct virtio_blk_outhdr *h =
		(struct virtio_blk_outhdr *)(vb->ram + HDR_GPA + 32ULL * s);

	h->type = VIRTIO_BLK_T_IN;
	h->ioprio = 0;
	h->sector = offset / 512;
	vb->ram[HDR_GPA + 32ULL * s + 16] = 0xff;
	g_avail(vb)->ring[*avail_idx % QSIZE] = (uint16_t)(3 * s);
	(*avail_idx)++;
}

static void driver_kick(struct vmm_bench *vb)
{
	uint64_t one = 1;

	if (!vb->r->secs)
		vb->r->kicks++;
	if (write(vb->t->kick_fd[0], &one, sizeof(one)) < 0)
		perror("bench-blk: kick");
}

/*
 * Publish what was queued since @old and kick if the device asked for it
 * (avail_event with EVENT_IDX, VRING_USED_F_NO_NOTIFY without).
 */
static void driver_publish(struct vmm_bench *vb, uint16_t old, uint16_t new)
{
	bool kick;

	__atomic_store_n(&g_avail(vb)->idx, new, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vb->o->event_idx) {
		uint16_t ev = __atomic_load_n(
			(uint16_t *)&g_used(vb)->ring[QSIZE], __ATOMIC_RELAXED);

		kick = vring_need_event(ev, new, old);
	} else {
		kick = !(__atomic_load_n(&g_used(vb)->flags, __ATOMIC_RELAXED) &
			 VRING_USED_F_NO_NOTIFY);
	}
	if (kick)
		driver_kick(vb);
}

/*
 * The guest driver: keeps qd requests in flight, reaps by polling the used
 * ring, re-queues each completed slot with a new offset, publishes and
 * kicks once per batch.  With EVENT_IDX it asks for an interrupt on the
 * next completion (used_event), as a driver that re-enables callbacks after
 * each batch does, so the device pays for the irqfd writes it would make.
 */
static int driver_run(struct vmm_bench *vb)
{
	const struct workload *w = vb->w;
	struct result *r = vb->r;
	uint16_t avail_idx = 0, last_used = 0;
	uint16_t *used_event = &g_avail(vb)->ring[QSIZE];
	unsigned int inflight = 0;
	struct offgen g;
	double t0, deadline, c0;
	bool stopping = false;
	unsigned int spins = 0;
	clockid_t loop_clock;

	uint64_t vcsw0, ivcsw0;
	int tid;

	pthread_getcpuclockid(vb->loop_thread, &loop_clock);
	while (!(tid = atomic_load(&vb->loop_tid)))
		sched_yield();
	off_init(&g, w, vb->o->size, vb->run);
	for (unsigned int s = 0; s < w->qd; s++)
		driver_slot(vb, s);
	ctxt_switches(tid, &vcsw0, &ivcsw0);
	c0 = cpu_s(loop_clock);
	t0 = now_s();
	deadline = t0 + vb->o->secs;
	for (unsigned int s = 0; s < w->qd; s++) {
		driver_queue(vb, s, off_next(&g), &avail_idx);
		inflight++;
	}
	/* used_event half the index space away never comes (§2.7.10). */
	__atomic_store_n(used_event, vb->o->no_irq ? 0x8000 : 0,
			 __ATOMIC_RELAXED);
	if (vb->o->no_irq && !vb->o->event_idx)
		g_avail(vb)->flags = VRING_AVAIL_F_NO_INTERRUPT;
	driver_publish(vb, 0, avail_idx);
	while (inflight) {
		uint16_t u =
			__atomic_load_n(&g_used(vb)->idx, __ATOMIC_ACQUIRE);
		uint16_t old_avail = avail_idx;

		if (u == last_used) {
			__builtin_ia32_pause();
			/* Check the clock now and then while idle. */
			if (++spins < 4096)
				continue;
			spins = 0;
		}
		if (!stopping && now_s() >= deadline) {
			stopping = true;
			r->secs = now_s() - t0;
			r->cpu_us = (cpu_s(loop_clock) - c0) * 1e6;
			ctxt_switches(tid, &r->vcsw, &r->ivcsw);
			r->vcsw -= vcsw0;
			r->ivcsw -= ivcsw0;
		}
		if (stopping && now_s() > deadline + 10) {
			fprintf(stderr, "bench-blk: %u requests never completed\n",
				inflight);
			r->errors += inflight;
			return -ETIMEDOUT;
		}
		if (last_used != u && !stopping)
			r->reaps++;
		while (last_used != u) {
			struct vring_used_elem e =
				g_used(vb)->ring[last_used % QSIZE];
			unsigned int s = e.id / 3;
			uint8_t status;

			last_used++;
			inflight--;
			if (s >= w->qd || e.id % 3) {
				r->errors++;
				continue;
			}
			if (stopping)
				continue;
			status = vb->ram[HDR_GPA + 32ULL * s + 16];
			if (status != VIRTIO_BLK_S_OK || e.len != w->bs + 1) {
				r->errors++;
			} else {
				r->ops++;
				r->bytes += w->bs;
			}
			driver_queue(vb, s, off_next(&g), &avail_idx);
			inflight++;
		}
		if (vb->o->event_idx)
			__atomic_store_n(used_event,
					 (uint16_t)(last_used +
						    (vb->o->no_irq ? 0x8000 : 0)),
					 __ATOMIC_RELAXED);
		if (avail_idx != old_avail)
			driver_publish(vb, old_avail, avail_idx);
	}
	return 0;
}

static int run_vmm(const struct opts *o, const struct workload *w,
		   unsigned int run, struct result *r)
{
	struct vmm_bench *vb = calloc(1, sizeof(*vb));
	char err[320];
	uint64_t one = 1;
	int ret;

	if (!vb)
		return -ENOMEM;
	memset(r, 0, sizeof(*r));
	vb->o = o;
	vb->w = w;
	vb->run = run;
	vb->r = r;
	ret = vm_create(&vb->vm, VM_MEM, 1);
	if (ret)
		goto out;
	ret = vblk_attach(&vb->vm, o->file, true, &vb->blk, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "bench-blk: %s\n", err);
		goto out;
	}
	vb->t = vb->vm.virtio[vb->vm.nr_virtio - 1];
	vb->ram = gm_ptr(&vb->vm.mem, 0, VM_MEM);
	if (!vb->ram ||
	    DATA_GPA + (uint64_t)w->bs * w->qd > VM_MEM || 3 * w->qd > QSIZE) {
		ret = -EINVAL;
		goto out;
	}
	ret = driver_init(vb);
	if (ret)
		goto out;
	vb->stop_op = (struct ev_op){ .cb = on_stop, .opaque = &vb->vm.loop };
	evloop_poll(&vb->vm.loop, &vb->stop_op, vb->vm.stop_fd, POLLIN);
	vblk_start(vb->blk);
	ret = -pthread_create(&vb->loop_thread, NULL, loop_main, vb);
	if (ret)
		goto out;
	driver_run(vb);
	if (write(vb->vm.stop_fd, &one, sizeof(one)) < 0)
		perror("bench-blk: stop");
	pthread_join(vb->loop_thread, NULL);
	{
		const struct vblk_stats *st = vblk_stats(vb->blk);

		r->errors += st->ioerr + st->unsupp;
	}
out:
	vm_destroy(&vb->vm);
	vblk_destroy(vb->blk);
	free(vb);
	return ret;
}

/* ---- reporting ---- */

static int cmp_ops(const void *a, const void *b)
{
	const struct result *x = a, *y = b;
	double rx = x->ops / x->secs, ry = y->ops / y->secs;

	return (rx > ry) - (rx < ry);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench-blk [-f FILE] [-s MIB] [-t SECONDS] [-r RUNS] [-w rand4k|seq1m] [-n] [-q]\n"
		"  -n  do not negotiate EVENT_IDX\n"
		"  -q  the driver asks for no interrupts (a polling guest)\n");
}

int main(int argc, char **argv)
{
	struct opts o = { .file = DEFAULT_FILE,
			  .size = 1ULL << 30,
			  .secs = 3,
			  .runs = 3,
			  .event_idx = true };
	struct result raw[16], vmm[16];
	char notes[1024] = "";
	size_t nlen = 0;
	int c;

	while ((c = getopt(argc, argv, "f:s:t:r:w:nqh")) != -1) {
		switch (c) {
		case 'f':
			o.file = optarg;
			break;
		case 's':
			o.size = strtoull(optarg, NULL, 0) << 20;
			break;
		case 't':
			o.secs = strtod(optarg, NULL);
			break;
		case 'r':
			o.runs = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'w':
			o.only = optarg;
			break;
		case 'n':
			o.event_idx = false;
			break;
		case 'q':
			o.no_irq = true;
			break;
		default:
			usage();
			return c == 'h' ? 0 : 2;
		}
	}
	if (o.runs < 1 || o.runs > 16 || o.secs <= 0 || o.size < (8ULL << 20)) {
		usage();
		return 2;
	}
	if (prepare_file(o.file, o.size))
		return 1;

	printf("file: %s, %llu MiB, buffered I/O on a warm page cache\n",
	       o.file, (unsigned long long)(o.size >> 20));
	printf("each run %.1f s; median of %u runs (by IOPS); raw and minivmm runs alternate\n",
	       o.secs, o.runs);
	printf("minivmm: virtio-blk, queue size %u, EVENT_IDX %s, interrupts %s; driver is a host thread polling the used ring (no guest)\n",
	       QSIZE, o.event_idx ? "on" : "off",
	       o.no_irq ? "suppressed by the driver" :
			  "requested after each batch (irqfd into an idle VM)");
	printf("CPU: of the raw thread / of minivmm's event-loop thread, per request\n\n");
	printf("| workload | path | IOPS | MB/s | CPU µs/req | minivmm / raw |\n");
	printf("|---|---|---:|---:|---:|---:|\n");
	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++) {
		const struct workload *w = &workloads[i];
		struct result *mr, *mv;
		double riops, viops;

		if (o.only && strcmp(o.only, w->name))
			continue;
		for (unsigned int run = 0; run < o.runs; run++) {
			int ret = run_raw(&o, w, run, &raw[run]);

			if (!ret)
				ret = run_vmm(&o, w, run, &vmm[run]);
			if (ret) {
				fprintf(stderr, "bench-blk: %s: %s\n", w->name,
					strerror(-ret));
				return 1;
			}
			if (raw[run].errors || vmm[run].errors) {
				fprintf(stderr,
					"bench-blk: %s: %llu raw, %llu minivmm request errors\n",
					w->name,
					(unsigned long long)raw[run].errors,
					(unsigned long long)vmm[run].errors);
				return 1;
			}
		}
		qsort(raw, o.runs, sizeof(raw[0]), cmp_ops);
		qsort(vmm, o.runs, sizeof(vmm[0]), cmp_ops);
		mr = &raw[o.runs / 2];
		mv = &vmm[o.runs / 2];
		riops = mr->ops / mr->secs;
		viops = mv->ops / mv->secs;
		printf("| %s | raw io_uring | %.0f | %.0f | %.2f | |\n", w->desc,
		       riops, mr->bytes / mr->secs / 1e6, mr->cpu_us / mr->ops);
		printf("| %s | minivmm virtio-blk | %.0f | %.0f | %.2f | %.0f%% |\n",
		       w->desc, viops, mv->bytes / mv->secs / 1e6,
		       mv->cpu_us / mv->ops, 100.0 * viops / riops);
		fflush(stdout);
		nlen += (size_t)snprintf(notes + nlen, sizeof(notes) - nlen,
					 "%s: minivmm: %.3f kicks and %.3f + %.3f loop-thread context switches (voluntary + not) per request, %.1f requests per driver poll\n",
					 w->name, (double)mv->kicks / mv->ops,
					 (double)mv->vcsw / mv->ops,
					 (double)mv->ivcsw / mv->ops,
					 (double)mv->ops / mv->reaps);
		if (nlen >= sizeof(notes))
			nlen = sizeof(notes) - 1;
	}
	printf("\n%s", notes);
	return 0;
}
