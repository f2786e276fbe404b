// SPDX-License-Identifier: MIT
/*
 * Unit tests for the split virtqueue (devices/virtqueue.c) against a fake
 * guest memory: 1 MiB of malloc'd RAM at guest-physical 0.  The test plays a
 * hostile driver: rings that do not fit, avail indexes that run ahead,
 * descriptor loops, indexes out of range, buffers that overflow or leave
 * RAM, broken indirect tables, over-long chains and reused heads.
 */
#include <errno.h>
#include <linux/virtio_ring.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "devices/virtqueue.h"
#include "vmm/mem.h"

#define RAM_SIZE 0x100000ULL
#define QSIZE 16
#define QMAX 256
#define DESC_GPA 0x1000ULL
#define AVAIL_GPA 0x2000ULL
#define USED_GPA 0x3000ULL
#define TABLE_GPA 0x4000ULL /* indirect tables */
#define DATA_GPA 0x10000ULL

static struct guest_mem gm;
static uint8_t *ram;
static struct virtqueue vq;
static struct vq_chain chain;

static void ram_setup(void)
{
	memset(&gm, 0, sizeof(gm));
	ram = calloc(1, RAM_SIZE);
	cr_assert_not_null(ram);
	cr_assert_eq(gm_add_region(&gm, 0, RAM_SIZE, ram), 0);
	vq_init(&vq, &gm, QMAX);
	memset(&chain, 0, sizeof(chain));
}

static void ram_teardown(void)
{
	free(ram);
}

TestSuite(vq, .init = ram_setup, .fini = ram_teardown);

static struct vring_desc *desc_at(uint64_t gpa, unsigned int i)
{
	return (struct vring_desc *)(ram + gpa) + i;
}

static void set_desc(uint64_t table, unsigned int i, uint64_t addr,
		     uint32_t len, uint16_t flags, uint16_t next)
{
	*desc_at(table, i) = (struct vring_desc){
		.addr = addr, .len = len, .flags = flags, .next = next
	};
}

/* The rings where the queue was last configured. */
static struct vring_avail *avail(void)
{
	return (struct vring_avail *)(ram + vq.avail_gpa);
}

static struct vring_used *used(void)
{
	return (struct vring_used *)(ram + vq.used_gpa);
}

/* Configure and enable a queue of @size entries at @desc, @av, @us. */
static void enable_at(uint16_t size, uint64_t desc, uint64_t av, uint64_t us)
{
	vq.size = size;
	vq.desc_gpa = desc;
	vq.avail_gpa = av;
	vq.used_gpa = us;
	cr_assert_eq(vq_enable(&vq), 0);
	cr_assert(vq.ready);
}

static void enable(uint16_t size)
{
	enable_at(size, DESC_GPA, AVAIL_GPA, USED_GPA);
}

/* Put @head on the avail ring and publish it, as a driver does. */
static void publish(uint16_t head)
{
	struct vring_avail *a = avail();

	a->ring[a->idx % vq.size] = head;
	__atomic_store_n(&a->idx, (uint16_t)(a->idx + 1), __ATOMIC_RELEASE);
}

static uint8_t *host(uint64_t gpa)
{
	return ram + gpa;
}

/* The usual request shape: 16-byte header, 512-byte data, status byte. */
static void three_desc_chain(uint16_t head)
{
	set_desc(DESC_GPA, head, DATA_GPA, 16, VRING_DESC_F_NEXT, head + 1);
	set_desc(DESC_GPA, head + 1, DATA_GPA + 0x1000, 512,
		 VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, head + 2);
	set_desc(DESC_GPA, head + 2, DATA_GPA + 0x2000, 1,
		 VRING_DESC_F_WRITE, 0);
}

static int pop(void)
{
	return vq_pop(&vq, &chain);
}

/* ---- vq_enable: the driver's configuration ---- */

static int try_enable(uint16_t size, uint64_t desc, uint64_t av, uint64_t us)
{
	int ret;

	vq.size = size;
	vq.desc_gpa = desc;
	vq.avail_gpa = av;
	vq.used_gpa = us;
	ret = vq_enable(&vq);
	/* Refused: the queue is disabled, whatever it was before. */
	if (ret)
		cr_assert_not(vq.ready);
	return ret;
}

Test(vq, enable_accepts_a_good_queue)
{
	cr_assert_eq(try_enable(QSIZE, DESC_GPA, AVAIL_GPA, USED_GPA), 0);
	cr_assert_eq((void *)vq.desc, (void *)host(DESC_GPA));
	cr_assert_eq((void *)vq.avail, (void *)host(AVAIL_GPA));
	cr_assert_eq((void *)vq.used, (void *)host(USED_GPA));
	cr_assert_eq(try_enable(1, DESC_GPA, AVAIL_GPA, USED_GPA), 0);
	cr_assert_eq(try_enable(QMAX, DESC_GPA, 0x8000, 0x9000), 0);
}

Test(vq, enable_refuses_bad_sizes)
{
	cr_assert_eq(try_enable(0, DESC_GPA, AVAIL_GPA, USED_GPA), -EINVAL);
	cr_assert_eq(try_enable(3, DESC_GPA, AVAIL_GPA, USED_GPA), -EINVAL);
	cr_assert_eq(try_enable(48, DESC_GPA, AVAIL_GPA, USED_GPA), -EINVAL);
	cr_assert_eq(try_enable(QMAX * 2, DESC_GPA, AVAIL_GPA, USED_GPA),
		     -EINVAL);
	cr_assert_eq(try_enable(0xffff, DESC_GPA, AVAIL_GPA, USED_GPA),
		     -EINVAL);
}

Test(vq, enable_refuses_misaligned_rings)
{
	/* §2.7: descriptor table 16, avail ring 2, used ring 4. */
	cr_assert_eq(try_enable(QSIZE, DESC_GPA + 8, AVAIL_GPA, USED_GPA),
		     -EINVAL);
	cr_assert_eq(try_enable(QSIZE, DESC_GPA + 1, AVAIL_GPA, USED_GPA),
		     -EINVAL);
	cr_assert_eq(try_enable(QSIZE, DESC_GPA, AVAIL_GPA + 1, USED_GPA),
		     -EINVAL);
	cr_assert_eq(try_enable(QSIZE, DESC_GPA, AVAIL_GPA, USED_GPA + 2),
		     -EINVAL);
	/* The minimum alignments themselves are fine. */
	cr_assert_eq(try_enable(QSIZE, DESC_GPA + 16, AVAIL_GPA + 2,
				USED_GPA + 4),
		     0);
}

Test(vq, enable_refuses_rings_leaving_ram)
{
	/* Sizes for 16 entries: desc 256, avail 38, used 134 bytes. */
	cr_assert_eq(try_enable(QSIZE, RAM_SIZE - 256 + 16, AVAIL_GPA,
				USED_GPA),
		     -EINVAL);
	cr_assert_eq(try_enable(QSIZE, DESC_GPA, RAM_SIZE - 36, USED_GPA),
		     -EINVAL);
	cr_assert_eq(try_enable(QSIZE, DESC_GPA, AVAIL_GPA, RAM_SIZE - 132),
		     -EINVAL);
	/* Ending exactly at the end of RAM is fine (the event fields too). */
	cr_assert_eq(try_enable(QSIZE, RAM_SIZE - 256, RAM_SIZE - 0x1000 - 38,
				RAM_SIZE - 0x2000 - 136),
		     0);
	cr_assert_eq(try_enable(QSIZE, DESC_GPA, RAM_SIZE - 38, USED_GPA), 0);
	cr_assert_eq(try_enable(QSIZE, DESC_GPA, AVAIL_GPA, RAM_SIZE - 136), 0);
	/* Wholly outside RAM. */
	cr_assert_eq(try_enable(QSIZE, RAM_SIZE, AVAIL_GPA, USED_GPA), -EINVAL);
	cr_assert_eq(try_enable(QSIZE, DESC_GPA, 0x100000000ULL, USED_GPA),
		     -EINVAL);
}

Test(vq, enable_refuses_rings_that_wrap)
{
	cr_assert_eq(try_enable(QSIZE, 0xfffffffffffffff0ULL, AVAIL_GPA,
				USED_GPA),
		     -EINVAL);
	cr_assert_eq(try_enable(QSIZE, DESC_GPA, 0xfffffffffffffffeULL,
				USED_GPA),
		     -EINVAL);
	cr_assert_eq(try_enable(QSIZE, DESC_GPA, AVAIL_GPA,
				0xfffffffffffffffcULL),
		     -EINVAL);
}

/* ---- vq_pop: chains ---- */

Test(vq, pop_on_a_disabled_queue_is_empty)
{
	cr_assert_eq(pop(), 0);
}

Test(vq, pop_simple_chain)
{
	enable(QSIZE);
	three_desc_chain(0);
	publish(0);
	cr_assert_eq(pop(), 1);
	cr_assert_not(chain.bad);
	cr_assert_eq(chain.head, 0);
	cr_assert_eq(chain.n_out, 1);
	cr_assert_eq(chain.n_in, 2);
	cr_assert_eq(chain.out_len, 16);
	cr_assert_eq(chain.in_len, 513);
	cr_assert_eq(chain.iov[0].iov_base, host(DATA_GPA));
	cr_assert_eq(chain.iov[0].iov_len, 16);
	cr_assert_eq(chain.iov[1].iov_base, host(DATA_GPA + 0x1000));
	cr_assert_eq(chain.iov[1].iov_len, 512);
	cr_assert_eq(chain.iov[2].iov_base, host(DATA_GPA + 0x2000));
	cr_assert_eq(chain.iov[2].iov_len, 1);
	cr_assert_eq(chain.tail.iov_base, host(DATA_GPA + 0x2000));
	cr_assert_eq(chain.tail.iov_len, 1);
	cr_assert_eq(vq.bad_chains, 0);
	/* Consumed: the ring is empty again. */
	cr_assert_eq(pop(), 0);
}

Test(vq, pop_several_in_order_and_across_index_wrap)
{
	enable(QSIZE);
	three_desc_chain(0);
	three_desc_chain(3);
	three_desc_chain(6);
	/* Free-running 16-bit indexes: start just below the wrap. */
	vq.last_avail = 0xfffe;
	avail()->idx = 0xfffe;
	publish(6);
	publish(0);
	publish(3);
	cr_assert_eq(avail()->idx, 1);
	cr_assert_eq(pop(), 1);
	cr_assert_eq(chain.head, 6);
	cr_assert_eq(pop(), 1);
	cr_assert_eq(chain.head, 0);
	cr_assert_eq(pop(), 1);
	cr_assert_eq(chain.head, 3);
	cr_assert_not(chain.bad);
	cr_assert_eq(pop(), 0);
}

Test(vq, avail_index_too_far_ahead_breaks_the_queue)
{
	enable(QSIZE);
	three_desc_chain(0);
	avail()->idx = QSIZE + 1;
	cr_assert_eq(pop(), -EIO);
	cr_assert(vq.broken);
	/* A broken queue is left alone until reset. */
	cr_assert_eq(pop(), 0);
	/* Exactly a ring's worth is allowed. */
	enable(QSIZE);
	avail()->idx = QSIZE;
	cr_assert_eq(pop(), 1);
	cr_assert_not(vq.broken);
}

Test(vq, head_out_of_range_is_returned_bad)
{
	enable(QSIZE);
	publish(QSIZE);
	cr_assert_eq(pop(), 1);
	cr_assert(chain.bad);
	cr_assert_eq(chain.head, QSIZE);
	cr_assert_null(chain.tail.iov_base);
	cr_assert_eq(chain.n_out + chain.n_in, 0);
	cr_assert_eq(vq.bad_chains, 1);
	publish(0xffff);
	cr_assert_eq(pop(), 1);
	cr_assert(chain.bad);
	cr_assert_eq(vq.bad_chains, 2);
}

Test(vq, descriptor_loop_terminates_bad)
{
	enable(QSIZE);
	/* 0 -> 1 -> 2 -> 0 ... */
	set_desc(DESC_GPA, 0, DATA_GPA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(DESC_GPA, 1, DATA_GPA, 16, VRING_DESC_F_NEXT, 2);
	set_desc(DESC_GPA, 2, DATA_GPA, 16, VRING_DESC_F_NEXT, 0);
	publish(0);
	cr_assert_eq(pop(), 1);
	cr_assert(chain.bad);
	/* A descriptor pointing at itself. */
	set_desc(DESC_GPA, 5, DATA_GPA, 1,
		 VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 5);
	publish(5);
	cr_assert_eq(pop(), 1);
	cr_assert(chain.bad);
	cr_assert_eq(vq.bad_chains, 2);
}

Test(vq, chain_as_long_as_the_queue_is_fine)
{
	enable(QSIZE);
	for (unsigned int i = 0; i < QSIZE; i++)
		set_desc(DESC_GPA, i, DATA_GPA + i, 1,
			 i + 1 < QSIZE ? VRING_DESC_F_NEXT : 0, i + 1);
	publish(0);
	cr_assert_eq(pop(), 1);
	cr_assert_not(chain.bad);
	cr_assert_eq(chain.n_out, QSIZE);
	cr_assert_eq(chain.out_len, QSIZE);
}

Test(vq, next_out_of_range_is_bad)
{
	enable(QSIZE);
	set_desc(DESC_GPA, 0, DATA_GPA, 16, VRING_DESC_F_NEXT, QSIZE);
	publish(0);
	cr_assert_eq(pop(), 1);
	cr_assert(chain.bad);
	set_desc(DESC_GPA, 0, DATA_GPA, 16, VRING_DESC_F_NEXT, 0xffff);
	publish(0);
	cr_assert_eq(pop(), 1);
	cr_assert(chain.bad);
}

Test(vq, buffer_whose_end_overflows_is_bad)
{
	enable(QSIZE);
	set_desc(DESC_GPA, 0, DATA_GPA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(DESC_GPA, 1, 0xfffffffffffff000ULL, 0x2000,
		 VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	set_desc(DESC_GPA, 2, DATA_GPA + 0x2000, 1, VRING_DESC_F_WRITE, 0);
	publish(0);
	cr_assert_eq(pop(), 1);
	cr_assert(chain.bad);
	/* Nothing outside RAM was mapped. */
	cr_assert_eq(chain.n_in, 0);
}

Test(vq, buffer_leaving_ram_is_bad)
{
	enable(QSIZE);
	set_desc(DESC_GPA, 0, RAM_SIZE - 0x100, 0x200, 0, 0);
	publish(0);
	cr_assert_eq(pop(), 1);
	cr_assert(chain.bad);
	cr_assert_eq(chain.n_out, 0);
	/* Ending exactly at the end of RAM is fine. */
	set_desc(DESC_GPA, 0, RAM_SIZE - 0x200, 0x200, 0, 0);
	publish(0);
	cr_assert_eq(pop(), 1);
	cr_assert_not(chain.bad);
	cr_assert_eq(chain.iov[0].iov_base, host(RAM_SIZE - 0x200));
}

Test(vq, readable_after_writable_is_bad)
{
	enable(QSIZE);
	set_desc(DESC_GPA, 0, DATA_GPA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(DESC_GPA, 1, DATA_GPA + 0x1000, 512,
		 VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	set_desc(DESC_GPA, 2, DATA_GPA + 0x2000, 64, VRING_DESC_F_NEXT, 3);
	set_desc(DESC_GPA, 3, DATA_GPA + 0x3000, 1, VRING_DESC_F_WRITE, 0);
	publish(0);
	cr_assert_eq(pop(), 1);
	cr_assert(chain.bad);
	/* The walk went on to the end: the status byte is still found. */
	cr_assert_eq(chain.tail.iov_base, host(DATA_GPA + 0x3000));
	cr_assert_eq(chain.tail.iov_len, 1);
}

Test(vq, zero_length_descriptors_are_skipped)
{
	enable(QSIZE);
	set_desc(DESC_GPA, 0, DATA_GPA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(DESC_GPA, 1, 0xfffffffffffff000ULL, 0, VRING_DESC_F_NEXT, 2);
	set_desc(DESC_GPA, 2, DATA_GPA + 0x2000, 1, VRING_DESC_F_WRITE, 0);
	publish(0);
	cr_assert_eq(pop(), 1);
	cr_assert_not(chain.bad);
	cr_assert_eq(chain.n_out, 1);
	cr_assert_eq(chain.n_in, 1);
}

/* ---- the tail: where a device reports an error ---- */

Test(vq, tail_is_the_final_writable_descriptor_of_a_bad_chain)
{
	enable(QSIZE);
	/* A bad middle buffer (outside RAM), then a good status byte. */
	set_desc(DESC_GPA, 0, DATA_GPA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(DESC_GPA, 1, RAM_SIZE + 0x1000, 512,
		 VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	set_desc(DESC_GPA, 2, DATA_GPA + 0x2000, 4, VRING_DESC_F_WRITE, 0);
	publish(0);
	cr_assert_eq(pop(), 1);
	cr_assert(chain.bad);
	cr_assert_eq(chain.tail.iov_base, host(DATA_GPA + 0x2000));
	cr_assert_eq(chain.tail.iov_len, 4);
}

Test(vq, tail_is_null_when_outside_ram_or_readable)
{
	enable(QSIZE);
	set_desc(DESC_GPA, 0, DATA_GPA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(DESC_GPA, 1, RAM_SIZE, 1, VRING_DESC_F_WRITE, 0);
	publish(0);
	cr_assert_eq(pop(), 1);
	cr_assert(chain.bad);
	cr_assert_null(chain.tail.iov_base);
	cr_assert_eq(chain.tail.iov_len, 0);
	/* A good chain whose last descriptor is device-readable. */
	set_desc(DESC_GPA, 1, DATA_GPA + 0x100, 16, 0, 0);
	publish(0);
	cr_assert_eq(pop(), 1);
	cr_assert_not(chain.bad);
	cr_assert_null(chain.tail.iov_base);
	/* A zero-length final writable descriptor has nowhere to write. */
	set_desc(DESC_GPA, 0, DATA_GPA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(DESC_GPA, 1, DATA_GPA + 0x100, 0, VRING_DESC_F_WRITE, 0);
	publish(0);
	cr_assert_eq(pop(), 1);
	cr_assert_null(chain.tail.iov_base);
}

/* ---- indirect tables (§2.7.5.3) ---- */

Test(vq, indirect_table)
{
	enable(QSIZE);
	set_desc(TABLE_GPA, 0, DATA_GPA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(TABLE_GPA, 1, DATA_GPA + 0x1000, 4096,
		 VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	set_desc(TABLE_GPA, 2, DATA_GPA + 0x3000, 1, VRING_DESC_F_WRITE, 0);
	set_desc(DESC_GPA, 7, TABLE_GPA, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	publish(7);
	cr_assert_eq(pop(), 1);
	cr_assert_not(chain.bad);
	cr_assert_eq(chain.head, 7);
	cr_assert_eq(chain.n_out, 1);
	cr_assert_eq(chain.n_in, 2);
	cr_assert_eq(chain.out_len, 16);
	cr_assert_eq(chain.in_len, 4097);
	cr_assert_eq(chain.iov[1].iov_base, host(DATA_GPA + 0x1000));
	cr_assert_eq(chain.tail.iov_base, host(DATA_GPA + 0x3000));
}

Test(vq, indirect_table_order_follows_next)
{
	enable(QSIZE);
	/* The table is walked by next, not in memory order. */
	set_desc(TABLE_GPA, 0, DATA_GPA, 16, VRING_DESC_F_NEXT, 2);
	set_desc(TABLE_GPA, 1, DATA_GPA + 0x3000, 1, VRING_DESC_F_WRITE, 0);
	set_desc(TABLE_GPA, 2, DATA_GPA + 0x1000, 512,
		 VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	set_desc(DESC_GPA, 0, TABLE_GPA, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	publish(0);
	cr_assert_eq(pop(), 1);
	cr_assert_not(chain.bad);
	cr_assert_eq(chain.in_len, 513);
	cr_assert_eq(chain.tail.iov_base, host(DATA_GPA + 0x3000));
}

Test(vq, nested_indirect_is_bad)
{
	enable(QSIZE);
	set_desc(TABLE_GPA, 0, DATA_GPA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(TABLE_GPA, 1, TABLE_GPA + 0x100, 32, VRING_DESC_F_INDIRECT, 0);
	set_desc(TABLE_GPA + 0x100, 0, DATA_GPA, 16, 0, 0);
	set_desc(DESC_GPA, 0, TABLE_GPA, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	publish(0);
	cr_assert_eq(pop(), 1);
	cr_assert(chain.bad);
}

Test(vq, indirect_with_next_is_bad)
{
	enable(QSIZE);
	set_desc(TABLE_GPA, 0, DATA_GPA + 0x3000, 1, VRING_DESC_F_WRITE, 0);
	set_desc(DESC_GPA, 0, TABLE_GPA, 16,
		 VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	set_desc(DESC_GPA, 1, DATA_GPA + 0x3000, 1, VRING_DESC_F_WRITE, 0);
	publish(0);
	cr_assert_eq(pop(), 1);
	cr_assert(chain.bad);
	/* Nor may an indirect descriptor follow direct ones. */
	set_desc(DESC_GPA, 0, DATA_GPA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(DESC_GPA, 1, TABLE_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	publish(0);
	cr_assert_eq(pop(), 1);
	cr_assert(chain.bad);
	cr_assert_eq(vq.bad_chains, 2);
}

Test(vq, indirect_table_length_must_be_whole_descriptors)
{
	enable(QSIZE);
	set_desc(TABLE_GPA, 0, DATA_GPA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(TABLE_GPA, 1, DATA_GPA + 0x3000, 1, VRING_DESC_F_WRITE, 0);
	set_desc(DESC_GPA, 0, TABLE_GPA, 24, VRING_DESC_F_INDIRECT, 0);
	publish(0);
	cr_assert_eq(pop(), 1);
	cr_assert(chain.bad);
	set_desc(DESC_GPA, 0, TABLE_GPA, 0, VRING_DESC_F_INDIRECT, 0);
	publish(0);
	cr_assert_eq(pop(), 1);
	cr_assert(chain.bad);
}

Test(vq, indirect_table_outside_ram_is_bad)
{
	enable(QSIZE);
	set_desc(DESC_GPA, 0, RAM_SIZE - 16, 32, VRING_DESC_F_INDIRECT, 0);
	publish(0);
	cr_assert_eq(pop(), 1);
	cr_assert(chain.bad);
	set_desc(DESC_GPA, 0, 0xfffffffffffffff0ULL, 32, VRING_DESC_F_INDIRECT,
		 0);
	publish(0);
	cr_assert_eq(pop(), 1);
	cr_assert(chain.bad);
	cr_assert_eq(chain.n_out + chain.n_in, 0);
}

Test(vq, indirect_table_loop_and_range_are_bad)
{
	enable(QSIZE);
	set_desc(TABLE_GPA, 0, DATA_GPA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(TABLE_GPA, 1, DATA_GPA, 16, VRING_DESC_F_NEXT, 0);
	set_desc(DESC_GPA, 0, TABLE_GPA, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	publish(0);
	cr_assert_eq(pop(), 1);
	cr_assert(chain.bad);
	/* next beyond the table (but inside the queue size). */
	set_desc(TABLE_GPA, 1, DATA_GPA, 16, VRING_DESC_F_NEXT, 2);
	set_desc(TABLE_GPA, 2, DATA_GPA + 0x3000, 1, VRING_DESC_F_WRITE, 0);
	publish(0);
	cr_assert_eq(pop(), 1);
	cr_assert(chain.bad);
	/* A bad buffer inside the table. */
	set_desc(TABLE_GPA, 1, 0xfffffffffffff000ULL, 0x2000,
		 VRING_DESC_F_WRITE, 0);
	publish(0);
	cr_assert_eq(pop(), 1);
	cr_assert(chain.bad);
	cr_assert_eq(vq.bad_chains, 3);
}

/* ---- segment limit ---- */

#define BIG_DESC_GPA 0x20000ULL /* room for 512 descriptors and rings */

static void long_direct_chain(unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		set_desc(BIG_DESC_GPA, i, DATA_GPA + 8 * i, 8,
			 (i + 1 < n ? VRING_DESC_F_NEXT : 0) |
				 (i + 1 < n ? 0 : VRING_DESC_F_WRITE),
			 i + 1);
}

Test(vq, chain_longer_than_max_segs_is_bad)
{
	vq_init(&vq, &gm, 1024);
	/* 512 entries: 8 KiB of descriptors, more than VQ_MAX_SEGS. */
	enable_at(512, BIG_DESC_GPA, BIG_DESC_GPA + 0x4000,
		  BIG_DESC_GPA + 0x6000);
	long_direct_chain(VQ_MAX_SEGS);
	publish(0);
	cr_assert_eq(pop(), 1);
	cr_assert_not(chain.bad);
	cr_assert_eq(chain.n_out + chain.n_in, VQ_MAX_SEGS);
	long_direct_chain(VQ_MAX_SEGS + 1);
	publish(0);
	cr_assert_eq(pop(), 1);
	cr_assert(chain.bad);
	/* Walked to the end anyway: the final writable descriptor is known. */
	cr_assert_eq(chain.tail.iov_base, host(DATA_GPA + 8 * VQ_MAX_SEGS));
}

Test(vq, indirect_table_longer_than_max_segs_is_bad)
{
	enable(QSIZE);
	for (unsigned int i = 0; i <= VQ_MAX_SEGS; i++)
		set_desc(TABLE_GPA, i, DATA_GPA, 8,
			 i < VQ_MAX_SEGS ? VRING_DESC_F_NEXT : 0, i + 1);
	set_desc(DESC_GPA, 0, TABLE_GPA, (VQ_MAX_SEGS + 1) * 16,
		 VRING_DESC_F_INDIRECT, 0);
	publish(0);
	cr_assert_eq(pop(), 1);
	cr_assert(chain.bad);
	cr_assert_leq(chain.n_out, VQ_MAX_SEGS);
}

/* ---- used ring and notifications ---- */

Test(vq, push_writes_the_used_ring)
{
	enable(QSIZE);
	vq_push(&vq, 5, 513);
	cr_assert_eq(used()->idx, 1);
	cr_assert_eq(used()->ring[0].id, 5);
	cr_assert_eq(used()->ring[0].len, 513);
	for (unsigned int i = 1; i <= QSIZE; i++)
		vq_push(&vq, (uint16_t)i, i);
	cr_assert_eq(used()->idx, QSIZE + 1);
	/* Slot 0 was reused by the 17th element. */
	cr_assert_eq(used()->ring[0].id, QSIZE);
	cr_assert_eq(used()->ring[1].id, 1);
}

Test(vq, push_on_a_disabled_queue_does_nothing)
{
	vq_push(&vq, 0, 1);
	cr_assert_eq(vq.used_idx, 0);
}

Test(vq, notify_honours_no_interrupt_without_event_idx)
{
	enable(QSIZE);
	vq_push(&vq, 0, 1);
	cr_assert(vq_should_notify(&vq));
	avail()->flags = VRING_AVAIL_F_NO_INTERRUPT;
	vq_push(&vq, 1, 1);
	cr_assert_not(vq_should_notify(&vq));
	avail()->flags = 0;
	cr_assert(vq_should_notify(&vq));
}

Test(vq, notify_honours_used_event_with_event_idx)
{
	uint16_t *used_event;

	enable(QSIZE);
	vq.event_idx = true;
	used_event = &avail()->ring[QSIZE];
	/* The flag means nothing with EVENT_IDX. */
	avail()->flags = VRING_AVAIL_F_NO_INTERRUPT;
	*used_event = 0;
	vq_push(&vq, 0, 1); /* used idx 1 */
	cr_assert(vq_should_notify(&vq)); /* first time: always */
	vq_push(&vq, 1, 1); /* used idx 2; driver wanted one at 0 -> 1 */
	cr_assert_not(vq_should_notify(&vq));
	*used_event = 2; /* interrupt me when entry 2 is used */
	vq_push(&vq, 2, 1); /* used idx 3 */
	cr_assert(vq_should_notify(&vq));
	/* Batch: the event index falls inside what was pushed since. */
	*used_event = 4;
	vq_push(&vq, 3, 1);
	vq_push(&vq, 4, 1);
	vq_push(&vq, 5, 1); /* used idx 6, last signalled at 3 */
	cr_assert(vq_should_notify(&vq));
	/* Beyond what was pushed: no interrupt yet. */
	*used_event = 10;
	vq_push(&vq, 6, 1);
	cr_assert_not(vq_should_notify(&vq));
}

Test(vq, enable_notify_writes_avail_event)
{
	uint16_t *avail_event;

	enable(QSIZE);
	avail_event = (uint16_t *)&used()->ring[QSIZE];
	/* Without EVENT_IDX nothing is written. */
	*avail_event = 0x5555;
	cr_assert_not(vq_enable_notify(&vq));
	cr_assert_eq(*avail_event, 0x5555);

	vq.event_idx = true;
	three_desc_chain(0);
	publish(0);
	publish(0);
	cr_assert_eq(pop(), 1);
	/* One still available: pop again. */
	cr_assert(vq_enable_notify(&vq));
	cr_assert_eq(*avail_event, 1);
	cr_assert_eq(pop(), 1);
	cr_assert_not(vq_enable_notify(&vq));
	cr_assert_eq(*avail_event, 2);
}

Test(vq, unpop_gives_the_chain_back)
{
	enable(QSIZE);
	three_desc_chain(0);
	three_desc_chain(3);
	publish(3);
	publish(0);
	cr_assert_eq(pop(), 1);
	cr_assert_eq(chain.head, 3);
	vq_unpop(&vq);
	cr_assert_eq(pop(), 1);
	cr_assert_eq(chain.head, 3);
	cr_assert_eq(pop(), 1);
	cr_assert_eq(chain.head, 0);
	cr_assert_eq(pop(), 0);
}

Test(vq, reused_head_pops_twice)
{
	/* The queue does not track heads: the device must (test_virtio_blk). */
	enable(QSIZE);
	three_desc_chain(0);
	publish(0);
	publish(0);
	cr_assert_eq(pop(), 1);
	cr_assert_eq(chain.head, 0);
	cr_assert_not(chain.bad);
	cr_assert_eq(pop(), 1);
	cr_assert_eq(chain.head, 0);
	cr_assert_not(chain.bad);
	cr_assert_eq(pop(), 0);
}

Test(vq, reset_clears_everything)
{
	enable(QSIZE);
	three_desc_chain(0);
	publish(0);
	cr_assert_eq(pop(), 1);
	vq_push(&vq, 0, 1);
	vq_reset(&vq);
	cr_assert_not(vq.ready);
	cr_assert_eq(vq.size, 0);
	cr_assert_eq(vq.desc_gpa, 0);
	cr_assert_eq(vq.last_avail, 0);
	cr_assert_eq(vq.used_idx, 0);
	cr_assert_eq(vq.max_size, QMAX);
	cr_assert_eq(vq.mem, &gm);
	cr_assert_eq(pop(), 0);
}

/* ---- copies ---- */

Test(vq, copy_across_segments)
{
	uint8_t out[24];

	enable(QSIZE);
	memcpy(host(DATA_GPA), "0123456789", 10);
	memcpy(host(DATA_GPA + 0x100), "abcdefghij", 10);
	set_desc(DESC_GPA, 0, DATA_GPA, 10, VRING_DESC_F_NEXT, 1);
	set_desc(DESC_GPA, 1, DATA_GPA + 0x100, 10, VRING_DESC_F_NEXT, 2);
	set_desc(DESC_GPA, 2, DATA_GPA + 0x200, 3,
		 VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 3);
	set_desc(DESC_GPA, 3, DATA_GPA + 0x300, 5, VRING_DESC_F_WRITE, 0);
	publish(0);
	cr_assert_eq(pop(), 1);
	memset(out, 0, sizeof(out));
	cr_assert_eq(vq_copy_from(&chain, 8, out, sizeof(out)), 12);
	cr_assert_arr_eq(out, "89abcdefghij", 12);
	cr_assert_eq(vq_copy_from(&chain, 20, out, 4), 0);
	cr_assert_eq(vq_copy_to(&chain, 1, "ABCDEFGHIJ", 10), 7);
	cr_assert_arr_eq(host(DATA_GPA + 0x201), "AB", 2);
	cr_assert_arr_eq(host(DATA_GPA + 0x300), "CDEFG", 5);
	/* The readable part was not written. */
	cr_assert_arr_eq(host(DATA_GPA), "0123456789", 10);
}
