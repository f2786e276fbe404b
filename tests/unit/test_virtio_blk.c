// SPDX-License-Identifier: MIT
/*
 * virtio-blk end to end, without a guest: a real KVM VM (the transport
 * needs its fd for the ioeventfd and irqfd) with a disk on a temporary file.
 * The test plays the driver: it negotiates through the register model,
 * writes descriptor chains into guest memory, kicks through the kick
 * eventfd (what KVM's ioeventfd does on a QueueNotify write) and waits for
 * the used ring, while the VM's event loop runs on a thread of its own.
 * Skipped when /dev/kvm cannot be opened.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "devices/virtio_blk.h"
#include "devices/virtio_mmio.h"
#include "fake_driver.h"
#include "vmm/vm.h"

#define MEM_SIZE (16ULL << 20)
#define QSIZE 16
#define REQQ 0 /* the request queue, virtio 1.2 §5.2.2 */
/* Rings from FDRV_RING_GPA (fake_driver.h), an indirect table after them. */
#define TABLE_GPA (FDRV_RING_GPA + 0x3000)
#define HDR_GPA 0x20000ULL /* slot s: header at +0x100*s, status at +0x80 */
#define DATA_GPA 0x100000ULL /* slot s: 64 KiB at +0x10000*s */
#define DATA_LEN 0x10000ULL
#define DISK_SECTORS 2048ULL /* 1 MiB */
#define SECTOR 512ULL
#define NEEDS_RESET 0x40

struct blk_env {
	struct fake_driver drv;
	struct vblk *b;
	char path[64];
	pthread_t loop_thread;
	bool running;
	struct ev_op stop_op;
	unsigned int extra_ops; /* if set: ring cap, beyond the loop's polls */
};

static struct blk_env env;
static struct fake_driver *const drv = &env.drv;

static uint8_t pattern(uint64_t off)
{
	return (uint8_t)((off >> 9) * 7 + (off & 0xff) + 1);
}

static void *loop_main(void *arg)
{
	(void)arg;
	evloop_run(&drv->vm.loop);
	return NULL;
}

static void on_stop(struct ev_op *op, int res, uint32_t flags)
{
	(void)res;
	(void)flags;
	evloop_stop(op->opaque);
}

static void blk_setup(bool read_only)
{
	/* The driver takes FLUSH and indirect chains. */
	uint64_t f = (1ULL << VIRTIO_F_VERSION_1) |
		     (1ULL << VIRTIO_RING_F_EVENT_IDX) |
		     (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |
		     (1ULL << VIRTIO_BLK_F_FLUSH);
	uint8_t *buf;
	char err[256];
	int fd;

	fdrv_vm_create(drv, MEM_SIZE);
	snprintf(env.path, sizeof(env.path), "/tmp/minivmm-tblk-XXXXXX");
	fd = mkstemp(env.path);
	cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
	buf = malloc(DISK_SECTORS * SECTOR);
	cr_assert_not_null(buf);
	for (uint64_t i = 0; i < DISK_SECTORS * SECTOR; i++)
		buf[i] = pattern(i);
	cr_assert_eq(write(fd, buf, DISK_SECTORS * SECTOR),
		     (ssize_t)(DISK_SECTORS * SECTOR));
	free(buf);
	close(fd);

	cr_assert_eq(vblk_attach(&drv->vm, env.path, read_only, &env.b, err,
				 sizeof(err)),
		     0, "%s", err);
	fdrv_bind(drv, f, 1, QSIZE);
	fdrv_init(drv);

	/* As run_vm() does: the stop eventfd ends the loop. */
	env.stop_op = (struct ev_op){ .cb = on_stop, .opaque = &drv->vm.loop };
	cr_assert_eq(evloop_poll(&drv->vm.loop, &env.stop_op, drv->vm.stop_fd,
				 POLLIN),
		     0);
	vblk_start(env.b);
	/* For back-pressure: a lower cap (in a VM, the CQ size), set before
	 * the loop thread first reads it. */
	if (env.extra_ops)
		drv->vm.loop.cap = drv->vm.loop.inflight + env.extra_ops;
	cr_assert_eq(pthread_create(&env.loop_thread, NULL, loop_main, NULL),
		     0);
	env.running = true;
}

static void blk_teardown(void)
{
	uint64_t one = 1;

	if (env.running) {
		cr_assert_eq(write(drv->vm.stop_fd, &one, sizeof(one)), 8);
		pthread_join(env.loop_thread, NULL);
	}
	fdrv_vm_destroy(drv);
	vblk_destroy(env.b);
	if (env.path[0])
		unlink(env.path);
	memset(&env, 0, sizeof(env));
}

TestSuite(blk, .fini = blk_teardown, .timeout = 30);

/* ---- the driver side ---- */

static uint8_t *status_of(unsigned int slot)
{
	return fdrv_gpa(drv, HDR_GPA + 0x100 * slot + 0x80, 1);
}

static uint8_t *data_of(unsigned int slot)
{
	return fdrv_gpa(drv, DATA_GPA + DATA_LEN * slot, DATA_LEN);
}

static void set_desc(unsigned int i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	fdrv_set_desc(drv, REQQ, i, addr, len, flags, next);
}

/* The header of slot @slot's request. */
static void set_hdr(unsigned int slot, uint32_t type, uint64_t sector)
{
	struct virtio_blk_outhdr h = { .type = type, .sector = sector };

	memcpy(fdrv_gpa(drv, HDR_GPA + 0x100 * slot, sizeof(h)), &h, sizeof(h));
	*status_of(slot) = 0xff;
}

static void kick(void)
{
	uint64_t one = 1;

	cr_assert_eq(write(drv->t->kick_fd[REQQ], &one, sizeof(one)), 8);
}

/*
 * A request in slot @slot (descriptors 3*slot..3*slot+2): header, @len
 * bytes of data (device-writable for IN and GET_ID), status byte.
 */
static uint16_t make_req(unsigned int slot, uint32_t type, uint64_t sector,
			 uint32_t len)
{
	uint16_t d = (uint16_t)(3 * slot);
	bool in = type != VIRTIO_BLK_T_OUT;

	set_hdr(slot, type, sector);
	if (!len) {
		set_desc(d, HDR_GPA + 0x100 * slot, 16, VRING_DESC_F_NEXT,
			 d + 2);
	} else {
		set_desc(d, HDR_GPA + 0x100 * slot, 16, VRING_DESC_F_NEXT,
			 d + 1);
		set_desc(d + 1, DATA_GPA + 0x10000 * slot, len,
			 VRING_DESC_F_NEXT | (in ? VRING_DESC_F_WRITE : 0),
			 d + 2);
	}
	set_desc(d + 2, HDR_GPA + 0x100 * slot + 0x80, 1, VRING_DESC_F_WRITE,
		 0);
	return d;
}

static uint64_t now_ms(void)
{
	return vm_now_ns() / 1000000;
}

/* Wait until @n more used elements are there; fail after 5 s. */
static void wait_used(unsigned int n)
{
	uint16_t want = (uint16_t)(drv->q[REQQ].used_seen + n);
	uint64_t end = now_ms() + 5000;

	while (fdrv_used_idx(drv, REQQ) != want) {
		cr_assert_lt(now_ms(), end, "used idx %u, want %u",
			     fdrv_used_idx(drv, REQQ), want);
		usleep(100);
	}
}

/* Publish @head, kick, wait, and check the used element. */
static void run_one(uint16_t head, uint32_t want_len)
{
	fdrv_publish(drv, REQQ, head);
	kick();
	wait_used(1);
	fdrv_expect_used(drv, REQQ, head, want_len);
}

static void check_pattern(const uint8_t *p, uint64_t off, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++)
		cr_assert_eq(p[i], pattern(off + i), "byte %llu",
			     (unsigned long long)i);
}

/* Reads of @len bytes, slot s < @n at sector @stride * s, one kick: each
 * must complete once, in any order, with the file's data. */
static void run_reads(unsigned int n, uint64_t stride, uint32_t len)
{
	bool seen[QSIZE / 3] = { false };

	cr_assert_leq(n, QSIZE / 3);
	for (unsigned int s = 0; s < n; s++)
		fdrv_publish(drv, REQQ,
			     make_req(s, VIRTIO_BLK_T_IN, stride * s, len));
	kick();
	wait_used(n);
	for (unsigned int i = 0; i < n; i++) {
		struct vring_used_elem e = fdrv_next_used(drv, REQQ);

		cr_assert_eq(e.id % 3, 0);
		cr_assert_lt(e.id / 3, n);
		cr_assert_not(seen[e.id / 3]);
		seen[e.id / 3] = true;
		cr_assert_eq(e.len, len + 1);
	}
	for (unsigned int s = 0; s < n; s++) {
		cr_assert_eq(*status_of(s), VIRTIO_BLK_S_OK);
		check_pattern(data_of(s), stride * s * SECTOR, len);
	}
}

/* ---- requests ---- */

Test(blk, read_pattern)
{
	blk_setup(false);
	memset(data_of(0), 0, 4096);
	run_one(make_req(0, VIRTIO_BLK_T_IN, 3, 4096), 4097);
	cr_assert_eq(*status_of(0), VIRTIO_BLK_S_OK);
	check_pattern(data_of(0), 3 * SECTOR, 4096);
	cr_assert_eq(vblk_stats(env.b)->reads, 1);
	cr_assert_eq(vblk_stats(env.b)->bytes_read, 4096);
}

Test(blk, read_last_sector)
{
	blk_setup(false);
	run_one(make_req(0, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, 512), 513);
	cr_assert_eq(*status_of(0), VIRTIO_BLK_S_OK);
	check_pattern(data_of(0), (DISK_SECTORS - 1) * SECTOR, 512);
}

Test(blk, write_then_read_back)
{
	uint8_t file[1024];
	int fd;

	blk_setup(false);
	for (unsigned int i = 0; i < 1024; i++)
		data_of(1)[i] = (uint8_t)(0xa5 ^ i);
	run_one(make_req(1, VIRTIO_BLK_T_OUT, 10, 1024), 1);
	cr_assert_eq(*status_of(1), VIRTIO_BLK_S_OK);
	memset(data_of(2), 0, 2048);
	run_one(make_req(2, VIRTIO_BLK_T_IN, 9, 2048), 2049);
	cr_assert_eq(*status_of(2), VIRTIO_BLK_S_OK);
	/* Sector 9 untouched, 10 and 11 written, 12 untouched. */
	check_pattern(data_of(2), 9 * SECTOR, 512);
	cr_assert_arr_eq(data_of(2) + 512, data_of(1), 1024);
	check_pattern(data_of(2) + 1536, 12 * SECTOR, 512);
	/* And it reached the file. */
	fd = open(env.path, O_RDONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, file, sizeof(file), 10 * SECTOR), 1024);
	close(fd);
	cr_assert_arr_eq(file, data_of(1), 1024);
	cr_assert_eq(vblk_stats(env.b)->writes, 1);
	cr_assert_eq(vblk_stats(env.b)->bytes_written, 1024);
}

Test(blk, header_and_data_in_one_descriptor)
{
	/* A write whose data follows the header in the same buffer. */
	uint8_t *hdr;
	struct virtio_blk_outhdr h = { .type = VIRTIO_BLK_T_OUT, .sector = 20 };

	blk_setup(false);
	hdr = fdrv_gpa(drv, DATA_GPA, 16 + 512);
	memcpy(hdr, &h, sizeof(h));
	memset(hdr + 16, 0x3c, 512);
	*status_of(0) = 0xff;
	set_desc(0, DATA_GPA, 16 + 512, VRING_DESC_F_NEXT, 1);
	set_desc(1, HDR_GPA + 0x80, 1, VRING_DESC_F_WRITE, 0);
	run_one(0, 1);
	cr_assert_eq(*status_of(0), VIRTIO_BLK_S_OK);
	/* Read it back with data and status in one writable buffer. */
	set_hdr(1, VIRTIO_BLK_T_IN, 20);
	set_desc(3, HDR_GPA + 0x100, 16, VRING_DESC_F_NEXT, 4);
	set_desc(4, DATA_GPA + 0x10000, 512 + 1, VRING_DESC_F_WRITE, 0);
	run_one(3, 513);
	cr_assert_eq(data_of(1)[512], VIRTIO_BLK_S_OK);
	for (unsigned int i = 0; i < 512; i++)
		cr_assert_eq(data_of(1)[i], 0x3c);
}

Test(blk, indirect_read)
{
	struct vring_desc *table;

	blk_setup(false);
	table = fdrv_gpa(drv, TABLE_GPA, 4 * 16);
	set_hdr(0, VIRTIO_BLK_T_IN, 100);
	table[0] = (struct vring_desc){ HDR_GPA, 16, VRING_DESC_F_NEXT, 1 };
	table[1] = (struct vring_desc){ DATA_GPA, 512,
					VRING_DESC_F_NEXT | VRING_DESC_F_WRITE,
					2 };
	table[2] = (struct vring_desc){ DATA_GPA + 0x1000, 512,
					VRING_DESC_F_NEXT | VRING_DESC_F_WRITE,
					3 };
	table[3] = (struct vring_desc){ HDR_GPA + 0x80, 1, VRING_DESC_F_WRITE,
					0 };
	set_desc(5, TABLE_GPA, 4 * 16, VRING_DESC_F_INDIRECT, 0);
	run_one(5, 1025);
	cr_assert_eq(*status_of(0), VIRTIO_BLK_S_OK);
	check_pattern(data_of(0), 100 * SECTOR, 512);
	check_pattern(data_of(0) + 0x1000, 101 * SECTOR, 512);
}

Test(blk, many_in_flight)
{
	blk_setup(false);
	run_reads(5, 64, 8192);
}

Test(blk, flush)
{
	blk_setup(false);
	run_one(make_req(0, VIRTIO_BLK_T_FLUSH, 0, 0), 1);
	cr_assert_eq(*status_of(0), VIRTIO_BLK_S_OK);
	cr_assert_eq(vblk_stats(env.b)->flushes, 1);
}

Test(blk, get_id)
{
	const char *base;
	size_t n;

	blk_setup(false);
	base = strrchr(env.path, '/') + 1;
	n = strlen(base) < VIRTIO_BLK_ID_BYTES ? strlen(base) :
						 VIRTIO_BLK_ID_BYTES;
	memset(data_of(0), 0xee, 64);
	run_one(make_req(0, VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES),
		VIRTIO_BLK_ID_BYTES + 1);
	cr_assert_eq(*status_of(0), VIRTIO_BLK_S_OK);
	cr_assert_arr_eq(data_of(0), base, n);
	/* Never more than the driver's buffer. */
	cr_assert_eq(data_of(0)[VIRTIO_BLK_ID_BYTES], 0xee);
	/* A smaller buffer gets a truncated id. */
	memset(data_of(0), 0xee, 64);
	run_one(make_req(0, VIRTIO_BLK_T_GET_ID, 0, 4), 5);
	cr_assert_eq(*status_of(0), VIRTIO_BLK_S_OK);
	cr_assert_arr_eq(data_of(0), base, 4);
	cr_assert_eq(data_of(0)[4], 0xee);
}

Test(blk, read_only_refuses_writes)
{
	blk_setup(true);
	memset(data_of(0), 0, 512);
	run_one(make_req(0, VIRTIO_BLK_T_OUT, 0, 512), 1);
	cr_assert_eq(*status_of(0), VIRTIO_BLK_S_IOERR);
	/* Reads still work, and the file is unchanged. */
	run_one(make_req(1, VIRTIO_BLK_T_IN, 0, 512), 513);
	cr_assert_eq(*status_of(1), VIRTIO_BLK_S_OK);
	check_pattern(data_of(1), 0, 512);
	cr_assert_eq(vblk_stats(env.b)->ioerr, 1);
}

Test(blk, out_of_range_sectors)
{
	blk_setup(false);
	/* Starts inside, ends past the end. */
	run_one(make_req(0, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, 1024), 1);
	cr_assert_eq(*status_of(0), VIRTIO_BLK_S_IOERR);
	run_one(make_req(0, VIRTIO_BLK_T_IN, DISK_SECTORS, 512), 1);
	cr_assert_eq(*status_of(0), VIRTIO_BLK_S_IOERR);
	/* sector * 512 overflows 64 bits. */
	run_one(make_req(0, VIRTIO_BLK_T_OUT, 1ULL << 60, 512), 1);
	cr_assert_eq(*status_of(0), VIRTIO_BLK_S_IOERR);
	run_one(make_req(0, VIRTIO_BLK_T_IN, UINT64_MAX, 512), 1);
	cr_assert_eq(*status_of(0), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(vblk_stats(env.b)->ioerr, 4);
}

Test(blk, partial_sector_is_refused)
{
	blk_setup(false);
	run_one(make_req(0, VIRTIO_BLK_T_IN, 0, 100), 1);
	cr_assert_eq(*status_of(0), VIRTIO_BLK_S_IOERR);
}

Test(blk, short_header_is_refused)
{
	blk_setup(false);
	set_hdr(0, VIRTIO_BLK_T_IN, 0);
	set_desc(0, HDR_GPA, 8, VRING_DESC_F_NEXT, 1);
	set_desc(1, HDR_GPA + 0x80, 1, VRING_DESC_F_WRITE, 0);
	run_one(0, 1);
	cr_assert_eq(*status_of(0), VIRTIO_BLK_S_IOERR);
}

Test(blk, unsupported_type)
{
	blk_setup(false);
	run_one(make_req(0, 99, 0, 512), 1);
	cr_assert_eq(*status_of(0), VIRTIO_BLK_S_UNSUPP);
	run_one(make_req(0, VIRTIO_BLK_T_DISCARD, 0, 512), 1);
	cr_assert_eq(*status_of(0), VIRTIO_BLK_S_UNSUPP);
	cr_assert_eq(vblk_stats(env.b)->unsupp, 2);
}

Test(blk, bad_chain_reports_through_its_tail)
{
	blk_setup(false);
	/* Data buffer whose end overflows; the status byte is fine. */
	make_req(0, VIRTIO_BLK_T_IN, 0, 512);
	fdrv_desc(drv, REQQ, 1)->addr = 0xfffffffffffff000ULL;
	fdrv_desc(drv, REQQ, 1)->len = 0x2000;
	run_one(0, 1);
	cr_assert_eq(*status_of(0), VIRTIO_BLK_S_IOERR);
	/* A loop: the status descriptor points at itself. */
	make_req(1, VIRTIO_BLK_T_IN, 0, 512);
	fdrv_desc(drv, REQQ, 5)->flags |= VRING_DESC_F_NEXT;
	fdrv_desc(drv, REQQ, 5)->next = 5;
	run_one(3, 1);
	cr_assert_eq(*status_of(1), VIRTIO_BLK_S_IOERR);
	/* A head out of range: nowhere to write, but still completed. */
	run_one(QSIZE + 3, 0);
	cr_assert_eq(vblk_stats(env.b)->ioerr, 3);
	/* The device goes on working. */
	run_one(make_req(2, VIRTIO_BLK_T_IN, 0, 512), 513);
	cr_assert_eq(*status_of(2), VIRTIO_BLK_S_OK);
}

Test(blk, data_past_ram_is_refused)
{
	blk_setup(false);
	make_req(0, VIRTIO_BLK_T_IN, 0, 4096);
	fdrv_desc(drv, REQQ, 1)->addr = MEM_SIZE - 2048;
	run_one(0, 1);
	cr_assert_eq(*status_of(0), VIRTIO_BLK_S_IOERR);
	/* Writes from outside RAM likewise. */
	make_req(1, VIRTIO_BLK_T_OUT, 0, 4096);
	fdrv_desc(drv, REQQ, 4)->addr = MEM_SIZE;
	run_one(3, 1);
	cr_assert_eq(*status_of(1), VIRTIO_BLK_S_IOERR);
}

Test(blk, reused_head_in_flight)
{
	blk_setup(false);
	/*
	 * The same head twice in one batch: the first is in flight when the
	 * second is popped, so the second is refused at once and the first
	 * still completes normally.
	 */
	memset(data_of(0), 0, 4096);
	make_req(0, VIRTIO_BLK_T_IN, 8, 4096);
	fdrv_publish(drv, REQQ, 0);
	fdrv_publish(drv, REQQ, 0);
	kick();
	wait_used(2);
	/* The refused one, completed first. */
	fdrv_expect_used(drv, REQQ, 0, 1);
	fdrv_expect_used(drv, REQQ, 0, 4097);
	cr_assert_eq(*status_of(0), VIRTIO_BLK_S_OK);
	check_pattern(data_of(0), 8 * SECTOR, 4096);
	cr_assert_eq(vblk_stats(env.b)->ioerr, 1);
	cr_assert_eq(vblk_stats(env.b)->reads, 1);
	/* Once completed, the head may be used again. */
	run_one(make_req(0, VIRTIO_BLK_T_IN, 16, 512), 513);
	check_pattern(data_of(0), 16 * SECTOR, 512);
}

static uint32_t wait_status_bit(uint32_t bit)
{
	uint64_t end = now_ms() + 5000;
	uint32_t st;

	while (!((st = fdrv_reg_read(drv, VIRTIO_MMIO_STATUS)) & bit)) {
		cr_assert_lt(now_ms(), end, "status %#x", st);
		usleep(100);
	}
	return st;
}

Test(blk, avail_index_running_ahead_needs_reset)
{
	blk_setup(false);
	make_req(0, VIRTIO_BLK_T_IN, 0, 512);
	fdrv_set_avail_idx(drv, REQQ, QSIZE + 1);
	kick();
	wait_status_bit(NEEDS_RESET);
	cr_assert(fdrv_reg_read(drv, VIRTIO_MMIO_INTERRUPT_STATUS) &
		  VIRTIO_MMIO_INT_CONFIG);
	fdrv_expect_nothing_used(drv, REQQ);
	/* A reset and a fresh start bring the device back. */
	fdrv_reg_write(drv, VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(fdrv_reg_read(drv, VIRTIO_MMIO_STATUS), 0);
	fdrv_init(drv);
	run_one(make_req(0, VIRTIO_BLK_T_IN, 1, 512), 513);
	cr_assert_eq(*status_of(0), VIRTIO_BLK_S_OK);
	check_pattern(data_of(0), SECTOR, 512);
}

Test(blk, kick_before_driver_ok_is_ignored)
{
	blk_setup(false);
	fdrv_reg_write(drv, VIRTIO_MMIO_STATUS, 0);
	make_req(0, VIRTIO_BLK_T_IN, 0, 512);
	kick();
	usleep(20000);
	cr_assert_eq(vblk_stats(env.b)->reads, 0);
	fdrv_init(drv);
	run_one(make_req(0, VIRTIO_BLK_T_IN, 0, 512), 513);
	cr_assert_eq(*status_of(0), VIRTIO_BLK_S_OK);
}

Test(blk, readable_status_descriptor)
{
	blk_setup(false);
	/* No writable final descriptor: nowhere for a status, still used. */
	make_req(0, VIRTIO_BLK_T_IN, 0, 512);
	fdrv_desc(drv, REQQ, 2)->flags = 0;
	run_one(0, 0);
	cr_assert_eq(*status_of(0), 0xff);
	cr_assert_eq(vblk_stats(env.b)->ioerr, 1);
}

Test(blk, file_shrunk_under_the_device)
{
	blk_setup(false);
	/*
	 * The capacity was fixed at attach time; a read that now straddles
	 * the end of the file is short, resubmitted, hits EOF: IOERR.
	 */
	cr_assert_eq(truncate(env.path, DISK_SECTORS * SECTOR / 2), 0);
	run_one(make_req(0, VIRTIO_BLK_T_IN, DISK_SECTORS / 2 - 4, 4096), 1);
	cr_assert_eq(*status_of(0), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(vblk_stats(env.b)->resubmits, 1);
	/* What is still there reads fine. */
	run_one(make_req(1, VIRTIO_BLK_T_IN, DISK_SECTORS / 2 - 8, 4096), 4097);
	cr_assert_eq(*status_of(1), VIRTIO_BLK_S_OK);
	check_pattern(data_of(1), (DISK_SECTORS / 2 - 8) * SECTOR, 4096);
}

Test(blk, backpressure_counts_each_request_once)
{
	/*
	 * The cap is the loop's two polls (stop, kick) plus two: once the
	 * kick's poll has completed and been armed again, two reads start
	 * and the third is given back to the ring, popped and parsed again
	 * when one completes.  It must still count as one read.
	 */
	env.extra_ops = 2;
	blk_setup(false);
	run_reads(3, 8, 4096);
	cr_assert_eq(vblk_stats(env.b)->backpressure, 1);
	cr_assert_eq(vblk_stats(env.b)->reads, 3);
	cr_assert_eq(vblk_stats(env.b)->bytes_read, 3 * 4096);
}

Test(blk, kicks_seen_after_backpressure)
{
	/*
	 * Same cap as above: the kick's handler fills the ring with reads.
	 * The kick poll must still be armed afterwards, or the guest's next
	 * kick is never seen and its request waits for ever.
	 */
	env.extra_ops = 2;
	blk_setup(false);
	run_reads(3, 8, 4096);
	cr_assert_eq(vblk_stats(env.b)->backpressure, 1);
	run_one(make_req(3, VIRTIO_BLK_T_IN, 40, 4096), 4097);
	cr_assert_eq(*status_of(3), VIRTIO_BLK_S_OK);
	check_pattern(data_of(3), 40 * SECTOR, 4096);
	cr_assert_eq(vblk_stats(env.b)->reads, 4);
}
