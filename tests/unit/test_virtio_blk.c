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
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "devices/virtio_blk.h"
#include "devices/virtio_mmio.h"
#include "vmm/vm.h"

#define MEM_SIZE (16ULL << 20)
#define QSIZE 16
#define DESC_GPA 0x10000ULL
#define AVAIL_GPA 0x11000ULL
#define USED_GPA 0x12000ULL
#define TABLE_GPA 0x13000ULL
#define HDR_GPA 0x20000ULL /* slot s: header at +0x100*s, status at +0x80 */
#define DATA_GPA 0x100000ULL /* slot s: 64 KiB at +0x10000*s */
#define DISK_SECTORS 2048ULL /* 1 MiB */
#define SECTOR 512ULL
#define NEEDS_RESET 0x40

struct blk_env {
	struct vm vm;
	bool vm_made;
	struct vblk *b;
	struct virtio_mmio *t;
	char path[64];
	pthread_t loop_thread;
	bool running;
	struct ev_op stop_op;
	uint16_t avail_idx; /* the driver's next avail index */
	uint16_t used_seen; /* used elements the test has looked at */
};

static struct blk_env env;

static uint8_t pattern(uint64_t off)
{
	return (uint8_t)((off >> 9) * 7 + (off & 0xff) + 1);
}

static void *loop_main(void *arg)
{
	(void)arg;
	evloop_run(&env.vm.loop);
	return NULL;
}

static void on_stop(struct ev_op *op, int res, uint32_t flags)
{
	(void)res;
	(void)flags;
	evloop_stop(op->opaque);
}

static void *gpa(uint64_t a)
{
	void *p = gm_ptr(&env.vm.mem, a, 1);

	cr_assert_not_null(p);
	return p;
}

static struct vring_desc *desc(unsigned int i)
{
	return (struct vring_desc *)gpa(DESC_GPA) + i;
}

static struct vring_avail *avail(void)
{
	return gpa(AVAIL_GPA);
}

static struct vring_used *used(void)
{
	return gpa(USED_GPA);
}

static uint32_t reg_read(uint64_t off)
{
	uint32_t v;

	pthread_mutex_lock(&env.t->lock);
	v = virtio_mmio_reg_read(env.t, off);
	pthread_mutex_unlock(&env.t->lock);
	return v;
}

static void reg_write(uint64_t off, uint32_t val)
{
	pthread_mutex_lock(&env.t->lock);
	virtio_mmio_reg_write(env.t, off, val);
	pthread_mutex_unlock(&env.t->lock);
}

/* Driver initialisation (§3.1.1) with one queue of QSIZE entries. */
static void driver_init(void)
{
	uint64_t f = (1ULL << VIRTIO_F_VERSION_1) |
		     (1ULL << VIRTIO_RING_F_EVENT_IDX) |
		     (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |
		     (1ULL << VIRTIO_BLK_F_FLUSH);
	uint32_t st = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	memset(gpa(DESC_GPA), 0, 0x4000);
	env.avail_idx = env.used_seen = 0;
	reg_write(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	reg_write(VIRTIO_MMIO_STATUS, st);
	reg_write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	reg_write(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	reg_write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	reg_write(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
	st |= VIRTIO_CONFIG_S_FEATURES_OK;
	reg_write(VIRTIO_MMIO_STATUS, st);
	cr_assert_eq(reg_read(VIRTIO_MMIO_STATUS), st);
	reg_write(VIRTIO_MMIO_QUEUE_SEL, 0);
	cr_assert_geq(reg_read(VIRTIO_MMIO_QUEUE_NUM_MAX), QSIZE);
	reg_write(VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	reg_write(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)DESC_GPA);
	reg_write(VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	reg_write(VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)AVAIL_GPA);
	reg_write(VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
	reg_write(VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)USED_GPA);
	reg_write(VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
	reg_write(VIRTIO_MMIO_QUEUE_READY, 1);
	cr_assert_eq(reg_read(VIRTIO_MMIO_QUEUE_READY), 1);
	st |= VIRTIO_CONFIG_S_DRIVER_OK;
	reg_write(VIRTIO_MMIO_STATUS, st);
	cr_assert_eq(reg_read(VIRTIO_MMIO_STATUS), st);
}

static void blk_setup(bool read_only)
{
	uint8_t *buf;
	char err[256];
	int fd;

	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		cr_skip_test("no KVM: /dev/kvm: %s", strerror(errno));
	close(fd);

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

	cr_assert_eq(vm_create(&env.vm, MEM_SIZE, 1), 0);
	env.vm_made = true;
	cr_assert_eq(vblk_attach(&env.vm, env.path, read_only, &env.b, err,
				 sizeof(err)),
		     0, "%s", err);
	env.t = env.vm.virtio[env.vm.nr_virtio - 1];
	driver_init();

	/* As run_vm() does: the stop eventfd ends the loop. */
	env.stop_op = (struct ev_op){ .cb = on_stop, .opaque = &env.vm.loop };
	cr_assert_eq(evloop_poll(&env.vm.loop, &env.stop_op, env.vm.stop_fd,
				 POLLIN),
		     0);
	vblk_start(env.b);
	cr_assert_eq(pthread_create(&env.loop_thread, NULL, loop_main, NULL),
		     0);
	env.running = true;
}

static void blk_teardown(void)
{
	uint64_t one = 1;

	if (env.running) {
		cr_assert_eq(write(env.vm.stop_fd, &one, sizeof(one)), 8);
		pthread_join(env.loop_thread, NULL);
	}
	if (env.vm_made)
		vm_destroy(&env.vm);
	vblk_destroy(env.b);
	if (env.path[0])
		unlink(env.path);
	memset(&env, 0, sizeof(env));
}

TestSuite(blk, .fini = blk_teardown, .timeout = 30);

/* ---- the driver side ---- */

static uint8_t *status_of(unsigned int slot)
{
	return gpa(HDR_GPA + 0x100 * slot + 0x80);
}

static uint8_t *data_of(unsigned int slot)
{
	return gpa(DATA_GPA + 0x10000 * slot);
}

static void set_desc(unsigned int i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	*desc(i) = (struct vring_desc){
		.addr = addr, .len = len, .flags = flags, .next = next
	};
}

/* The header of slot @slot's request. */
static void set_hdr(unsigned int slot, uint32_t type, uint64_t sector)
{
	struct virtio_blk_outhdr h = { .type = type, .sector = sector };

	memcpy(gpa(HDR_GPA + 0x100 * slot), &h, sizeof(h));
	*status_of(slot) = 0xff;
}

static void publish(uint16_t head)
{
	avail()->ring[env.avail_idx % QSIZE] = head;
	env.avail_idx++;
	__atomic_store_n(&avail()->idx, env.avail_idx, __ATOMIC_RELEASE);
}

static void kick(void)
{
	uint64_t one = 1;

	cr_assert_eq(write(env.t->kick_fd[0], &one, sizeof(one)), 8);
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
	uint16_t want = (uint16_t)(env.used_seen + n);
	uint64_t end = now_ms() + 5000;

	while (__atomic_load_n(&used()->idx, __ATOMIC_ACQUIRE) != want) {
		cr_assert_lt(now_ms(), end, "used idx %u, want %u",
			     used()->idx, want);
		usleep(100);
	}
}

/* The next used element, in order. */
static struct vring_used_elem next_used(void)
{
	return used()->ring[env.used_seen++ % QSIZE];
}

/* Publish @head, kick, wait, and check the used element. */
static void run_one(uint16_t head, uint32_t want_len)
{
	struct vring_used_elem e;

	publish(head);
	kick();
	wait_used(1);
	e = next_used();
	cr_assert_eq(e.id, head);
	cr_assert_eq(e.len, want_len);
}

static void check_pattern(const uint8_t *p, uint64_t off, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++)
		cr_assert_eq(p[i], pattern(off + i), "byte %llu",
			     (unsigned long long)i);
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
	hdr = gpa(DATA_GPA);
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
	table = gpa(TABLE_GPA);
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
	bool seen[8] = { false };

	blk_setup(false);
	for (unsigned int s = 0; s < 5; s++)
		publish(make_req(s, VIRTIO_BLK_T_IN, 64 * s, 8192));
	kick();
	wait_used(5);
	for (unsigned int i = 0; i < 5; i++) {
		struct vring_used_elem e = next_used();

		cr_assert_eq(e.id % 3, 0);
		cr_assert_lt(e.id / 3, 5);
		cr_assert_not(seen[e.id / 3]);
		seen[e.id / 3] = true;
		cr_assert_eq(e.len, 8193);
	}
	for (unsigned int s = 0; s < 5; s++) {
		cr_assert_eq(*status_of(s), VIRTIO_BLK_S_OK);
		check_pattern(data_of(s), 64 * s * SECTOR, 8192);
	}
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
	desc(1)->addr = 0xfffffffffffff000ULL;
	desc(1)->len = 0x2000;
	run_one(0, 1);
	cr_assert_eq(*status_of(0), VIRTIO_BLK_S_IOERR);
	/* A loop: the status descriptor points at itself. */
	make_req(1, VIRTIO_BLK_T_IN, 0, 512);
	desc(5)->flags |= VRING_DESC_F_NEXT;
	desc(5)->next = 5;
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
	desc(1)->addr = MEM_SIZE - 2048;
	run_one(0, 1);
	cr_assert_eq(*status_of(0), VIRTIO_BLK_S_IOERR);
	/* Writes from outside RAM likewise. */
	make_req(1, VIRTIO_BLK_T_OUT, 0, 4096);
	desc(4)->addr = MEM_SIZE;
	run_one(3, 1);
	cr_assert_eq(*status_of(1), VIRTIO_BLK_S_IOERR);
}

Test(blk, reused_head_in_flight)
{
	struct vring_used_elem e;

	blk_setup(false);
	/*
	 * The same head twice in one batch: the first is in flight when the
	 * second is popped, so the second is refused at once and the first
	 * still completes normally.
	 */
	memset(data_of(0), 0, 4096);
	make_req(0, VIRTIO_BLK_T_IN, 8, 4096);
	publish(0);
	publish(0);
	kick();
	wait_used(2);
	e = next_used();
	cr_assert_eq(e.id, 0);
	cr_assert_eq(e.len, 1); /* the refused one, completed first */
	e = next_used();
	cr_assert_eq(e.id, 0);
	cr_assert_eq(e.len, 4097);
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

	while (!((st = reg_read(VIRTIO_MMIO_STATUS)) & bit)) {
		cr_assert_lt(now_ms(), end, "status %#x", st);
		usleep(100);
	}
	return st;
}

Test(blk, avail_index_running_ahead_needs_reset)
{
	blk_setup(false);
	make_req(0, VIRTIO_BLK_T_IN, 0, 512);
	env.avail_idx = QSIZE + 1;
	__atomic_store_n(&avail()->idx, env.avail_idx, __ATOMIC_RELEASE);
	kick();
	wait_status_bit(NEEDS_RESET);
	cr_assert(reg_read(VIRTIO_MMIO_INTERRUPT_STATUS) &
		  VIRTIO_MMIO_INT_CONFIG);
	cr_assert_eq(used()->idx, 0);
	/* A reset and a fresh start bring the device back. */
	reg_write(VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(reg_read(VIRTIO_MMIO_STATUS), 0);
	driver_init();
	run_one(make_req(0, VIRTIO_BLK_T_IN, 1, 512), 513);
	cr_assert_eq(*status_of(0), VIRTIO_BLK_S_OK);
	check_pattern(data_of(0), SECTOR, 512);
}

Test(blk, kick_before_driver_ok_is_ignored)
{
	blk_setup(false);
	reg_write(VIRTIO_MMIO_STATUS, 0);
	make_req(0, VIRTIO_BLK_T_IN, 0, 512);
	kick();
	usleep(20000);
	cr_assert_eq(vblk_stats(env.b)->reads, 0);
	driver_init();
	run_one(make_req(0, VIRTIO_BLK_T_IN, 0, 512), 513);
	cr_assert_eq(*status_of(0), VIRTIO_BLK_S_OK);
}

Test(blk, readable_status_descriptor)
{
	blk_setup(false);
	/* No writable final descriptor: nowhere for a status, still used. */
	make_req(0, VIRTIO_BLK_T_IN, 0, 512);
	desc(2)->flags = 0;
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
