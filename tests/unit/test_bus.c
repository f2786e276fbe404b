// SPDX-License-Identifier: MIT
/*
 * Unit tests for the device buses (vmm/bus.c): registration refuses
 * overlapping, empty and wrapping regions; lookups and dispatch only hit a
 * region that holds the whole access; misses are counted and read as ones.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "vmm/bus.h"

/* What a fake device saw last. */
struct fake_dev {
	int reads, writes;
	uint64_t off;
	unsigned int len;
	uint8_t wdata[8];
	uint8_t rval; /* byte a read returns */
};

static void fake_read(void *opaque, uint64_t off, void *data,
		      unsigned int len)
{
	struct fake_dev *d = opaque;

	d->reads++;
	d->off = off;
	d->len = len;
	memset(data, d->rval, len);
}

static void fake_write(void *opaque, uint64_t off, const void *data,
		       unsigned int len)
{
	struct fake_dev *d = opaque;

	d->writes++;
	d->off = off;
	d->len = len;
	memcpy(d->wdata, data, len);
}

static const struct bus_ops fake_ops = { .read = fake_read,
					 .write = fake_write };
static const struct bus_ops no_ops = { 0 };

static struct bus bus;

static void bus_setup(void)
{
	bus_init(&bus, "test");
}

static void bus_teardown(void)
{
	bus_destroy(&bus);
}

TestSuite(bus, .init = bus_setup, .fini = bus_teardown);

static int reg(uint64_t base, uint64_t len)
{
	return bus_register(&bus, base, len, &fake_ops, NULL, "r");
}

Test(bus, init_is_empty)
{
	cr_assert_str_eq(bus.name, "test");
	cr_assert_eq(bus.nr, 0);
	cr_assert_eq(bus.unhandled, 0);
	cr_assert_null(bus_find(&bus, 0, 1));
}

Test(bus, overlap_refused_in_every_arrangement)
{
	cr_assert_eq(reg(0x100, 0x10), 0);

	cr_assert_eq(reg(0x100, 0x10), -EEXIST, "same region");
	cr_assert_eq(reg(0x100, 1), -EEXIST, "same base, shorter");
	cr_assert_eq(reg(0x100, 0x100), -EEXIST, "same base, longer");
	cr_assert_eq(reg(0x104, 4), -EEXIST, "inside");
	cr_assert_eq(reg(0x10f, 1), -EEXIST, "last byte");
	cr_assert_eq(reg(0xf0, 0x30), -EEXIST, "spanning");
	cr_assert_eq(reg(0xf8, 9), -EEXIST, "over the start");
	cr_assert_eq(reg(0x10f, 0x10), -EEXIST, "over the end");
	cr_assert_eq(reg(0, UINT64_MAX), -EEXIST, "everything");
	cr_assert_eq(bus.nr, 1);

	/* Touching edges are allowed, on both sides. */
	cr_assert_eq(reg(0xf0, 0x10), 0);
	cr_assert_eq(reg(0x110, 0x10), 0);
	cr_assert_eq(bus.nr, 3);

	/* Spanning two neighbours, and the gap-filling cases. */
	cr_assert_eq(reg(0xff, 0x12), -EEXIST);
	cr_assert_eq(reg(0xe0, 0x11), -EEXIST);
	cr_assert_eq(reg(0xe0, 0x10), 0);
	cr_assert_eq(reg(0x11f, 2), -EEXIST);
	cr_assert_eq(bus.nr, 4);
}

Test(bus, regions_at_the_top_of_the_address_space)
{
	cr_assert_eq(reg(UINT64_MAX, 1), 0);
	cr_assert_eq(reg(UINT64_MAX - 1, 1), 0);
	cr_assert_eq(reg(UINT64_MAX - 3, 4), -EEXIST);
	cr_assert_eq(reg(0, UINT64_MAX - 1), 0); /* [0, 2^64 - 2) */
	cr_assert_eq(reg(0x1000, 1), -EEXIST);
	cr_assert_eq(bus.nr, 3);
	cr_assert_eq(bus_find(&bus, UINT64_MAX, 1)->base, UINT64_MAX);
	cr_assert_eq(bus_find(&bus, UINT64_MAX - 2, 1)->base, 0);
	cr_assert_null(bus_find(&bus, UINT64_MAX - 1, 2));
	cr_assert_null(bus_find(&bus, UINT64_MAX, 2));
}

Test(bus, empty_and_wrapping_ranges_refused)
{
	cr_assert_eq(reg(0x100, 0), -EINVAL);
	cr_assert_eq(reg(0, 0), -EINVAL);
	cr_assert_eq(reg(UINT64_MAX, 0), -EINVAL);
	cr_assert_eq(reg(UINT64_MAX, 2), -EINVAL);
	cr_assert_eq(reg(2, UINT64_MAX), -EINVAL);
	cr_assert_eq(reg(UINT64_MAX, UINT64_MAX), -EINVAL);
	cr_assert_eq(bus.nr, 0);
	/* [1, 2^64) ends exactly at the top: it does not wrap. */
	cr_assert_eq(reg(1, UINT64_MAX), 0);
	cr_assert_eq(bus.nr, 1);
}

Test(bus, lookup_at_first_and_last_byte)
{
	const struct bus_region *r;

	cr_assert_eq(reg(0x3f8, 8), 0);
	r = bus_find(&bus, 0x3f8, 1);
	cr_assert_not_null(r);
	cr_assert_eq(r->base, 0x3f8);
	cr_assert_eq(r->len, 8);
	cr_assert_eq(bus_find(&bus, 0x3ff, 1), r);
	cr_assert_eq(bus_find(&bus, 0x3f8, 8), r);
	cr_assert_eq(bus_find(&bus, 0x3fc, 4), r);
	cr_assert_null(bus_find(&bus, 0x3f7, 1));
	cr_assert_null(bus_find(&bus, 0x400, 1));
	cr_assert_null(bus_find(&bus, 0x3f7, 2), "straddles the start");
	cr_assert_null(bus_find(&bus, 0x3fe, 4), "straddles the end");
	cr_assert_null(bus_find(&bus, 0x3f8, 0), "empty access");
	cr_assert_null(bus_find(&bus, UINT64_MAX, 8), "wrapping access");
}

Test(bus, access_dispatches_with_offset)
{
	struct fake_dev d = { .rval = 0x5a };
	uint32_t v = 0x12345678;
	uint8_t rd[8];

	cr_assert_eq(bus_register(&bus, 0x1000, 0x100, &fake_ops, &d, "d"), 0);
	cr_assert(bus_access(&bus, 0x1010, &v, 4, true));
	cr_assert_eq(d.writes, 1);
	cr_assert_eq(d.off, 0x10);
	cr_assert_eq(d.len, 4);
	cr_assert_arr_eq(d.wdata, &v, 4);

	memset(rd, 0, sizeof(rd));
	cr_assert(bus_access(&bus, 0x10ff, rd, 1, false));
	cr_assert_eq(d.reads, 1);
	cr_assert_eq(d.off, 0xff);
	cr_assert_eq(rd[0], 0x5a);
	cr_assert_eq(rd[1], 0);
	cr_assert_eq(bus.unhandled, 0);
}

Test(bus, access_straddling_the_end_is_not_dispatched)
{
	struct fake_dev d = { .rval = 0x5a };
	uint8_t rd[8];
	uint64_t w = 0x1122334455667788ULL;

	cr_assert_eq(bus_register(&bus, 0x1000, 0x100, &fake_ops, &d, "d"), 0);
	memset(rd, 0, sizeof(rd));
	cr_assert_not(bus_access(&bus, 0x10fe, rd, 4, false));
	cr_assert_not(bus_access(&bus, 0x10fc, &w, 8, true));
	cr_assert_not(bus_access(&bus, 0xfff, &w, 2, true));
	cr_assert_eq(d.reads, 0);
	cr_assert_eq(d.writes, 0);
	cr_assert_eq(bus.unhandled, 3);
	/* The read of a miss gives ones, only for the access's width. */
	for (int i = 0; i < 4; i++)
		cr_assert_eq(rd[i], 0xff);
	for (int i = 4; i < 8; i++)
		cr_assert_eq(rd[i], 0);
	cr_assert_eq(w, 0x1122334455667788ULL, "a write is not changed");
}

Test(bus, unhandled_accesses_are_counted)
{
	uint8_t rd[8];
	uint16_t w = 0xbeef;

	memset(rd, 0, sizeof(rd));
	cr_assert_not(bus_access(&bus, 0x80, rd, 2, false));
	cr_assert_eq(bus.unhandled, 1);
	cr_assert_eq(rd[0], 0xff);
	cr_assert_eq(rd[1], 0xff);
	cr_assert_eq(rd[2], 0);
	cr_assert_not(bus_access(&bus, 0x80, &w, 2, true));
	cr_assert_eq(bus.unhandled, 2);
	cr_assert_not(bus_access(&bus, UINT64_MAX, rd, 8, false));
	cr_assert_eq(bus.unhandled, 3);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(rd[i], 0xff);
}

Test(bus, region_without_handlers)
{
	uint8_t rd[4] = { 0 };
	uint32_t w = 1;

	cr_assert_eq(bus_register(&bus, 0x60, 4, &no_ops, NULL, "none"), 0);
	cr_assert(bus_access(&bus, 0x60, rd, 4, false));
	for (int i = 0; i < 4; i++)
		cr_assert_eq(rd[i], 0xff);
	cr_assert(bus_access(&bus, 0x60, &w, 4, true));
	cr_assert_eq(bus.unhandled, 0);
}

/* A fixed-seed shuffle, so a failure reproduces. */
static uint32_t rng_state = 12345;

static uint32_t rng(void)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return rng_state >> 8;
}

#define MANY 300

Test(bus, many_regions_in_random_order_stay_sorted)
{
	static struct fake_dev devs[MANY];
	unsigned int order[MANY];

	for (unsigned int i = 0; i < MANY; i++)
		order[i] = i;
	for (unsigned int i = MANY - 1; i > 0; i--) {
		unsigned int j = rng() % (i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	/* Region i: [i * 0x20, i * 0x20 + 0x10 + i % 16), gaps between. */
	for (unsigned int k = 0; k < MANY; k++) {
		unsigned int i = order[k];

		cr_assert_eq(bus_register(&bus, i * 0x20ULL, 0x10 + i % 16,
					  &fake_ops, &devs[i], "many"),
			     0);
		/* Re-adding any region already there fails. */
		cr_assert_eq(bus_register(&bus, i * 0x20ULL + 1, 1, &fake_ops,
					  NULL, "dup"),
			     -EEXIST);
	}
	cr_assert_eq(bus.nr, MANY);
	for (unsigned int i = 1; i < MANY; i++)
		cr_assert_lt(bus.regions[i - 1].base + bus.regions[i - 1].len,
			     bus.regions[i].base + 1);
	for (unsigned int i = 0; i < MANY; i++) {
		uint64_t base = i * 0x20ULL, len = 0x10 + i % 16;
		const struct bus_region *r;

		r = bus_find(&bus, base, 1);
		cr_assert_not_null(r, "region %u", i);
		cr_assert_eq(r->opaque, &devs[i]);
		cr_assert_eq(bus_find(&bus, base + len - 1, 1), r);
		cr_assert_null(bus_find(&bus, base + len, 1));
		cr_assert_null(bus_find(&bus, base + 0x1f, 1));
		cr_assert_null(bus_find(&bus, base + len - 1, 2));
	}
	cr_assert_null(bus_find(&bus, MANY * 0x20ULL, 1));
}

Test(bus, destroy_twice_is_harmless)
{
	cr_assert_eq(reg(0, 1), 0);
	bus_destroy(&bus);
	cr_assert_eq(bus.nr, 0);
	cr_assert_null(bus_find(&bus, 0, 1));
	bus_destroy(&bus);
}
