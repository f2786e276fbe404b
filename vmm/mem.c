// SPDX-License-Identifier: MIT
/*
 * Guest memory.  Everything the guest controls that names a guest-physical
 * address reaches host memory through gm_ptr(), which checks for overflow and
 * for ranges outside RAM.
 */
#include "mem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include <minivmm/guest_abi.h>

int gm_add_region(struct guest_mem *gm, uint64_t gpa, uint64_t size,
		  void *host)
{
	uint64_t end;

	if (gm->nr >= GM_MAX_REGIONS || size == 0)
		return -EINVAL;
	if (__builtin_add_overflow(gpa, size, &end))
		return -EINVAL;
	if (gm->nr) {
		const struct gm_region *prev = &gm->r[gm->nr - 1];

		if (gpa < prev->gpa + prev->size)
			return -EINVAL;
	}
	gm->r[gm->nr++] = (struct gm_region){ gpa, size, host };
	gm->ram_size += size;
	return 0;
}

int gm_init(struct guest_mem *gm, uint64_t ram_size)
{
	uint64_t low = ram_size, high = 0;
	void *p;
	int ret;

	memset(gm, 0, sizeof(*gm));
	if (ram_size == 0 || (ram_size & 0xfff))
		return -EINVAL;
	if (low > MINIVMM_MMIO_HOLE_START) {
		low = MINIVMM_MMIO_HOLE_START;
		high = ram_size - low;
	}
	/*
	 * MAP_NORESERVE: guest RAM is touched lazily, and what the guest never
	 * touches never costs host memory (the memory-density comparisons rely
	 * on this).
	 */
	p = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	madvise(p, ram_size, MADV_MERGEABLE);
	ret = gm_add_region(gm, 0, low, p);
	if (!ret && high)
		ret = gm_add_region(gm, MINIVMM_MMIO_HOLE_END, high,
				    (uint8_t *)p + low);
	if (ret) {
		munmap(p, ram_size);
		memset(gm, 0, sizeof(*gm));
	}
	return ret;
}

void gm_destroy(struct guest_mem *gm)
{
	/* gm_init() maps all regions as one block starting at region 0. */
	if (gm->nr)
		munmap(gm->r[0].host, gm->ram_size);
	memset(gm, 0, sizeof(*gm));
}

void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	uint64_t last;

	if (len == 0)
		len = 1;
	if (__builtin_add_overflow(gpa, len - 1, &last))
		return NULL;
	for (unsigned int i = 0; i < gm->nr; i++) {
		const struct gm_region *r = &gm->r[i];

		if (gpa >= r->gpa && last - r->gpa < r->size &&
		    gpa - r->gpa < r->size)
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, size_t len)
{
	const void *p = gm_ptr(gm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src,
	     size_t len)
{
	void *p = gm_ptr(gm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

uint64_t gm_low_end(const struct guest_mem *gm)
{
	return gm->nr ? gm->r[0].gpa + gm->r[0].size : 0;
}

#define PTE_PRESENT 0x1ULL
#define PTE_LARGE 0x80ULL
#define PTE_ADDR 0x000ffffffffff000ULL

int gm_translate(const struct guest_mem *gm, uint64_t cr3, uint64_t gva,
		 uint64_t *gpa)
{
	uint64_t table = cr3 & PTE_ADDR;

	/* Levels 4..1; shifts 39, 30, 21, 12. */
	for (int shift = 39; shift >= 12; shift -= 9) {
		uint64_t idx = (gva >> shift) & 0x1ff, pte;

		if (gm_read(gm, table + idx * 8, &pte, sizeof(pte)))
			return -EFAULT;
		if (!(pte & PTE_PRESENT))
			return -EFAULT;
		if (shift == 12 || ((shift == 21 || shift == 30) &&
				    (pte & PTE_LARGE))) {
			uint64_t mask = (1ULL << shift) - 1;

			*gpa = ((pte & PTE_ADDR) & ~mask) | (gva & mask);
			return 0;
		}
		table = pte & PTE_ADDR;
	}
	return -EFAULT;
}
