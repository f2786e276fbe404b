// SPDX-License-Identifier: MIT
/*
 * Unit tests for the checked guest-memory helper (vmm/mem.c).  Guest RAM is
 * two caller-owned buffers, [0, 1 MiB) and [4 GiB, 4 GiB + 64 KiB), with a
 * gap between them, so every test can ask for ranges that overflow, straddle
 * a region end or fall in the gap.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "vmm/mem.h"

#define LOW_SIZE 0x100000ULL
#define HIGH_GPA 0x100000000ULL
#define HIGH_SIZE 0x10000ULL

static struct guest_mem gm;
static uint8_t *low, *high;

static void two_regions(void)
{
	memset(&gm, 0, sizeof(gm));
	low = malloc(LOW_SIZE);
	high = malloc(HIGH_SIZE);
	cr_assert(low && high);
	memset(low, 0x11, LOW_SIZE);
	memset(high, 0x22, HIGH_SIZE);
	cr_assert_eq(gm_add_region(&gm, 0, LOW_SIZE, low), 0);
	cr_assert_eq(gm_add_region(&gm, HIGH_GPA, HIGH_SIZE, high), 0);
}

static void free_regions(void)
{
	free(low);
	free(high);
}

TestSuite(mem, .init = two_regions, .fini = free_regions);

Test(mem, layout_is_recorded)
{
	cr_assert_eq(gm.nr, 2);
	cr_assert_eq(gm.ram_size, LOW_SIZE + HIGH_SIZE);
	cr_assert_eq(gm_low_end(&gm), LOW_SIZE);
}

Test(mem, in_range_pointers)
{
	cr_assert_eq(gm_ptr(&gm, 0, 1), low);
	cr_assert_eq(gm_ptr(&gm, 0, LOW_SIZE), low);
	cr_assert_eq(gm_ptr(&gm, 0x1234, 16), low + 0x1234);
	cr_assert_eq(gm_ptr(&gm, LOW_SIZE - 1, 1), low + LOW_SIZE - 1);
	cr_assert_eq(gm_ptr(&gm, LOW_SIZE - 8, 8), low + LOW_SIZE - 8);
	cr_assert_eq(gm_ptr(&gm, HIGH_GPA, HIGH_SIZE), high);
	cr_assert_eq(gm_ptr(&gm, HIGH_GPA + 0x100, 16), high + 0x100);
	cr_assert_eq(gm_ptr(&gm, HIGH_GPA + HIGH_SIZE - 1, 1),
		     high + HIGH_SIZE - 1);
}

Test(mem, overflowing_ranges_are_refused)
{
	cr_assert_null(gm_ptr(&gm, UINT64_MAX, 2));
	cr_assert_null(gm_ptr(&gm, UINT64_MAX, 1));
	cr_assert_null(gm_ptr(&gm, UINT64_MAX, UINT64_MAX));
	cr_assert_null(gm_ptr(&gm, 0, UINT64_MAX));
	cr_assert_null(gm_ptr(&gm, 1, UINT64_MAX));
	cr_assert_null(gm_ptr(&gm, 0x1000, UINT64_MAX - 0x800));
	cr_assert_null(gm_ptr(&gm, HIGH_GPA, UINT64_MAX));
	cr_assert_null(gm_ptr(&gm, HIGH_GPA + 8, (uint64_t)0 - 8));
}

Test(mem, ranges_straddling_a_region_end_are_refused)
{
	cr_assert_null(gm_ptr(&gm, LOW_SIZE - 1, 2));
	cr_assert_null(gm_ptr(&gm, 0, LOW_SIZE + 1));
	cr_assert_null(gm_ptr(&gm, LOW_SIZE / 2, LOW_SIZE / 2 + 1));
	cr_assert_null(gm_ptr(&gm, HIGH_GPA - 1, 2));
	cr_assert_null(gm_ptr(&gm, HIGH_GPA + HIGH_SIZE - 8, 16));
	cr_assert_null(gm_ptr(&gm, HIGH_GPA, HIGH_SIZE + 1));
	/* One range covering both regions and the gap between them. */
	cr_assert_null(gm_ptr(&gm, 0, HIGH_GPA + HIGH_SIZE));
}

Test(mem, ranges_in_the_gap_or_beyond_are_refused)
{
	cr_assert_null(gm_ptr(&gm, LOW_SIZE, 1));
	cr_assert_null(gm_ptr(&gm, 0x80000000, 4096));
	cr_assert_null(gm_ptr(&gm, HIGH_GPA - 1, 1));
	cr_assert_null(gm_ptr(&gm, HIGH_GPA + HIGH_SIZE, 1));
	cr_assert_null(gm_ptr(&gm, 0x8000000000000000ULL, 8));
}

Test(mem, len_zero_behaves_like_one)
{
	cr_assert_eq(gm_ptr(&gm, 0, 0), gm_ptr(&gm, 0, 1));
	cr_assert_eq(gm_ptr(&gm, 0x4321, 0), low + 0x4321);
	cr_assert_eq(gm_ptr(&gm, LOW_SIZE - 1, 0), low + LOW_SIZE - 1);
	cr_assert_null(gm_ptr(&gm, LOW_SIZE, 0));
	cr_assert_null(gm_ptr(&gm, HIGH_GPA + HIGH_SIZE, 0));
	cr_assert_null(gm_ptr(&gm, UINT64_MAX, 0));
}

Test(mem, read_and_write_round_trip)
{
	const uint8_t src[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t dst[8] = { 0 };

	cr_assert_eq(gm_write(&gm, 0x2000, src, sizeof(src)), 0);
	cr_assert_arr_eq(low + 0x2000, src, sizeof(src));
	cr_assert_eq(gm_read(&gm, 0x2000, dst, sizeof(dst)), 0);
	cr_assert_arr_eq(dst, src, sizeof(src));

	cr_assert_eq(gm_write(&gm, HIGH_GPA + HIGH_SIZE - 8, src, 8), 0);
	cr_assert_arr_eq(high + HIGH_SIZE - 8, src, sizeof(src));
}

Test(mem, failed_read_and_write_touch_nothing)
{
	const uint8_t src[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t dst[8];

	/* Straddling the end of the low region: no partial write. */
	cr_assert_eq(gm_write(&gm, LOW_SIZE - 4, src, sizeof(src)), -EFAULT);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(low[LOW_SIZE - 4 + i], 0x11);
	cr_assert_eq(gm_write(&gm, HIGH_GPA - 4, src, sizeof(src)), -EFAULT);
	cr_assert_eq(high[0], 0x22);
	cr_assert_eq(gm_write(&gm, UINT64_MAX - 3, src, sizeof(src)),
		     -EFAULT);

	memset(dst, 0xee, sizeof(dst));
	cr_assert_eq(gm_read(&gm, LOW_SIZE + 0x1000, dst, sizeof(dst)),
		     -EFAULT);
	cr_assert_eq(gm_read(&gm, HIGH_GPA + HIGH_SIZE - 4, dst, sizeof(dst)),
		     -EFAULT);
	cr_assert_eq(gm_read(&gm, UINT64_MAX, dst, sizeof(dst)), -EFAULT);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(dst[i], 0xee);
}

Test(mem, bad_regions_are_refused)
{
	uint8_t buf[64];

	/* Overlapping the high region, starting inside it. */
	cr_assert_eq(gm_add_region(&gm, HIGH_GPA + HIGH_SIZE - 1, 16, buf),
		     -EINVAL);
	/* Unsorted: below a region already there (in the gap, too). */
	cr_assert_eq(gm_add_region(&gm, LOW_SIZE, 16, buf), -EINVAL);
	cr_assert_eq(gm_add_region(&gm, 0, 16, buf), -EINVAL);
	/* Empty and wrapping regions. */
	cr_assert_eq(gm_add_region(&gm, HIGH_GPA + HIGH_SIZE, 0, buf),
		     -EINVAL);
	cr_assert_eq(gm_add_region(&gm, UINT64_MAX - 15, 32, buf), -EINVAL);
	cr_assert_eq(gm.nr, 2);
	cr_assert_eq(gm.ram_size, LOW_SIZE + HIGH_SIZE);

	/* Touching the previous region is fine, up to GM_MAX_REGIONS. */
	uint64_t gpa = HIGH_GPA + HIGH_SIZE;

	while (gm.nr < GM_MAX_REGIONS) {
		cr_assert_eq(gm_add_region(&gm, gpa, 16, buf), 0);
		gpa += 16;
	}
	cr_assert_eq(gm_add_region(&gm, gpa, 16, buf), -EINVAL);
	cr_assert_eq(gm.nr, GM_MAX_REGIONS);
	cr_assert_eq(gm_ptr(&gm, HIGH_GPA + HIGH_SIZE + 4, 4), buf + 4);
	/* Two touching regions are still two: no range may span them. */
	cr_assert_null(gm_ptr(&gm, HIGH_GPA + HIGH_SIZE + 8, 16));
}

Test(mem, overlap_refused_in_an_empty_layout)
{
	struct guest_mem g = { 0 };
	uint8_t buf[64];

	cr_assert_eq(gm_low_end(&g), 0);
	cr_assert_null(gm_ptr(&g, 0, 1));
	cr_assert_eq(gm_add_region(&g, 0x1000, 0x1000, buf), 0);
	cr_assert_eq(gm_add_region(&g, 0x1000, 0x1000, buf), -EINVAL);
	cr_assert_eq(gm_add_region(&g, 0x1fff, 0x10, buf), -EINVAL);
	cr_assert_eq(gm_add_region(&g, 0x800, 0x1000, buf), -EINVAL);
	cr_assert_eq(gm.nr, 2);
	cr_assert_eq(g.nr, 1);
}

/* ---- page-table walks ---- */

#define PTE_P 0x1ULL
#define PTE_RW 0x2ULL
#define PTE_PS 0x80ULL
#define PTE_NX (1ULL << 63)

#define PML4 0x1000ULL
#define PDPT 0x2000ULL
#define PD 0x3000ULL
#define PT 0x4000ULL

static void set_pte(uint64_t table, unsigned int idx, uint64_t val)
{
	cr_assert_eq(gm_write(&gm, table + idx * 8ULL, &val, sizeof(val)), 0);
}

static uint64_t va(unsigned int l4, unsigned int l3, unsigned int l2,
		   unsigned int l1, uint64_t off)
{
	return ((uint64_t)l4 << 39) | ((uint64_t)l3 << 30) |
	       ((uint64_t)l2 << 21) | ((uint64_t)l1 << 12) | off;
}

/* PML4[1] -> PDPT; PDPT[2] -> PD; PD[3] -> PT; PT[4] -> 0x55000. */
static void build_tables(void)
{
	memset(low, 0, 0x10000);
	set_pte(PML4, 1, PDPT | PTE_P | PTE_RW);
	set_pte(PDPT, 2, PD | PTE_P | PTE_RW);
	set_pte(PD, 3, PT | PTE_P | PTE_RW);
	set_pte(PT, 4, 0x55000 | PTE_P | PTE_RW);
	/* Flag and NX bits are not part of the address. */
	set_pte(PT, 5, 0x66000 | PTE_P | PTE_NX | 0x60);
	/* A 2 MiB page and a 1 GiB page. */
	set_pte(PD, 5, 0x400000 | PTE_P | PTE_PS);
	set_pte(PDPT, 3, 0x40000000 | PTE_P | PTE_PS);
}

Test(mem, translate_4k_2m_and_1g_pages)
{
	uint64_t gpa = 0;

	build_tables();
	cr_assert_eq(gm_translate(&gm, PML4, va(1, 2, 3, 4, 0x123), &gpa), 0);
	cr_assert_eq(gpa, 0x55123);
	cr_assert_eq(gm_translate(&gm, PML4, va(1, 2, 3, 5, 0xfff), &gpa), 0);
	cr_assert_eq(gpa, 0x66fff);
	cr_assert_eq(gm_translate(&gm, PML4, va(1, 2, 5, 0x12, 0x345), &gpa),
		     0);
	cr_assert_eq(gpa, 0x412345);
	cr_assert_eq(gm_translate(&gm, PML4, va(1, 3, 0x9, 0x1a, 0x567), &gpa),
		     0);
	cr_assert_eq(gpa, 0x40000000 | (0x9 << 21) | (0x1a << 12) | 0x567);
	/* CR3's low flag bits (PWT, PCD) are ignored. */
	cr_assert_eq(gm_translate(&gm, PML4 | 0x18, va(1, 2, 3, 4, 0), &gpa),
		     0);
	cr_assert_eq(gpa, 0x55000);
	/* The sign-extended upper half only uses bits 47..0. */
	cr_assert_eq(gm_translate(&gm, PML4,
				  0xffff000000000000ULL | va(1, 2, 3, 4, 8),
				  &gpa),
		     0);
	cr_assert_eq(gpa, 0x55008);
}

Test(mem, translate_non_present_entries_fault)
{
	uint64_t gpa = 0xabcdef;

	build_tables();
	cr_assert_eq(gm_translate(&gm, PML4, va(0, 2, 3, 4, 0), &gpa),
		     -EFAULT);
	cr_assert_eq(gm_translate(&gm, PML4, va(1, 0, 3, 4, 0), &gpa),
		     -EFAULT);
	cr_assert_eq(gm_translate(&gm, PML4, va(1, 2, 6, 4, 0), &gpa),
		     -EFAULT);
	cr_assert_eq(gm_translate(&gm, PML4, va(1, 2, 3, 6, 0), &gpa),
		     -EFAULT);
	/* Present bit clear, address bits set: still not present. */
	set_pte(PT, 7, 0x77000 | PTE_RW);
	cr_assert_eq(gm_translate(&gm, PML4, va(1, 2, 3, 7, 0), &gpa),
		     -EFAULT);
	cr_assert_eq(gpa, 0xabcdef);
}

Test(mem, translate_tables_outside_ram_fault)
{
	uint64_t gpa = 0xabcdef;

	build_tables();
	/* A page directory entry pointing at a table in the gap. */
	set_pte(PD, 7, 0x80000000ULL | PTE_P);
	cr_assert_eq(gm_translate(&gm, PML4, va(1, 2, 7, 0, 0), &gpa),
		     -EFAULT);
	/* The last entry of a table at the top of physical space. */
	set_pte(PD, 8, 0x000ffffffffff000ULL | PTE_P);
	cr_assert_eq(gm_translate(&gm, PML4, va(1, 2, 8, 511, 0), &gpa),
		     -EFAULT);
	/* CR3 itself outside RAM. */
	cr_assert_eq(gm_translate(&gm, 0x200000, 0, &gpa), -EFAULT);
	cr_assert_eq(gm_translate(&gm, UINT64_MAX, UINT64_MAX, &gpa), -EFAULT);
	cr_assert_eq(gpa, 0xabcdef);
}

Test(mem, translate_through_the_high_region)
{
	uint64_t gpa = 0;
	uint64_t pte = 0x99000 | PTE_P;

	build_tables();
	/* The page table for PD[9] lives at 4 GiB. */
	set_pte(PD, 9, HIGH_GPA | PTE_P);
	memcpy(high + 3 * 8, &pte, sizeof(pte));
	cr_assert_eq(gm_translate(&gm, PML4, va(1, 2, 9, 3, 0x10), &gpa), 0);
	cr_assert_eq(gpa, 0x99010);
}

/* ---- gm_init: real anonymous mappings ---- */

Test(mem, init_refuses_empty_and_unaligned_sizes)
{
	struct guest_mem g;

	memset(&g, 0x5a, sizeof(g));
	cr_assert_eq(gm_init(&g, 0), -EINVAL);
	cr_assert_eq(g.nr, 0);
	cr_assert_eq(gm_init(&g, 4097), -EINVAL);
	cr_assert_eq(gm_init(&g, 0x100000 + 1), -EINVAL);
	cr_assert_eq(gm_init(&g, 0xfff), -EINVAL);
	cr_assert_eq(g.nr, 0);
	cr_assert_eq(g.ram_size, 0);
	/* Destroying a failed layout is harmless. */
	gm_destroy(&g);
}

Test(mem, init_small_guest)
{
	struct guest_mem g;
	uint8_t *p;

	cr_assert_eq(gm_init(&g, 64 << 20), 0);
	cr_assert_eq(g.nr, 1);
	cr_assert_eq(g.ram_size, 64 << 20);
	cr_assert_eq(gm_low_end(&g), 64 << 20);
	p = gm_ptr(&g, (64 << 20) - 4096, 4096);
	cr_assert_not_null(p);
	p[4095] = 1; /* writable */
	cr_assert_null(gm_ptr(&g, 64 << 20, 1));
	gm_destroy(&g);
	cr_assert_eq(g.nr, 0);
	gm_destroy(&g);
}

Test(mem, init_large_guest_splits_at_the_mmio_hole)
{
	const uint64_t size = 0xc0000000ULL + (16 << 20);
	struct guest_mem g;
	uint8_t *a, *b;

	/* MAP_NORESERVE: only touched pages cost memory. */
	cr_assert_eq(gm_init(&g, size), 0);
	cr_assert_eq(g.nr, 2);
	cr_assert_eq(g.r[0].gpa, 0);
	cr_assert_eq(g.r[0].size, 0xc0000000ULL);
	cr_assert_eq(g.r[1].gpa, 0x100000000ULL);
	cr_assert_eq(g.r[1].size, 16 << 20);
	cr_assert_eq(gm_low_end(&g), 0xc0000000ULL);
	cr_assert_null(gm_ptr(&g, 0xc0000000ULL, 1));
	cr_assert_null(gm_ptr(&g, 0xfffffff0ULL, 32));
	a = gm_ptr(&g, 0xbffffff0ULL, 16);
	b = gm_ptr(&g, 0x100000000ULL, 16);
	cr_assert(a && b);
	a[15] = 0xaa;
	b[0] = 0xbb;
	cr_assert_null(gm_ptr(&g, 0x100000000ULL + (16 << 20), 1));
	gm_destroy(&g);
}
