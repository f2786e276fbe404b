/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM: anonymous mappings registered with KVM as memory slots, and the
 * one checked path from a guest-physical address to host memory.
 */
#ifndef MINIVMM_MEM_H
#define MINIVMM_MEM_H

#include <stddef.h>
#include <stdint.h>

#define GM_MAX_REGIONS 4

struct gm_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
};

struct guest_mem {
	struct gm_region r[GM_MAX_REGIONS];
	unsigned int nr;
	uint64_t ram_size; /* sum of region sizes */
};

/*
 * Lay out @ram_size bytes of RAM below the 32-bit MMIO hole and, for what
 * does not fit, from 4 GiB up, and map it.  Returns 0 or -errno.
 */
int gm_init(struct guest_mem *gm, uint64_t ram_size);

/*
 * Describe regions over caller-owned host buffers (used by unit tests and
 * gm_init).  Regions must be sorted and must not overlap.
 */
int gm_add_region(struct guest_mem *gm, uint64_t gpa, uint64_t size,
		  void *host);

void gm_destroy(struct guest_mem *gm);

/*
 * The only way from a guest-physical range to host memory: returns a host
 * pointer to [gpa, gpa + len) or NULL when the range overflows, leaves RAM or
 * straddles two regions.  len == 0 is treated as len == 1.
 */
void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/* Copy helpers on top of gm_ptr(); return 0 or -EFAULT. */
int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, size_t len);
int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src,
	     size_t len);

/* Highest RAM address below the MMIO hole (end of the low region). */
uint64_t gm_low_end(const struct guest_mem *gm);

/*
 * Walk the guest's 4-level x86-64 page tables rooted at @cr3 to translate a
 * virtual address.  Returns 0 and sets *gpa, or -EFAULT.  Used only for
 * diagnostics (showing the instruction bytes at a crash).
 */
int gm_translate(const struct guest_mem *gm, uint64_t cr3, uint64_t gva,
		 uint64_t *gpa);

#endif
