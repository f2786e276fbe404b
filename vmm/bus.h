/* SPDX-License-Identifier: MIT */
/*
 * An address space of device regions: one for port I/O, one for MMIO.
 * Regions are registered before the vCPUs start and never change afterwards,
 * so lookups from vCPU threads need no lock.
 */
#ifndef MINIVMM_BUS_H
#define MINIVMM_BUS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct bus_ops {
	/* @off is relative to the region base; @len is 1, 2, 4 or 8. */
	void (*read)(void *opaque, uint64_t off, void *data, unsigned int len);
	void (*write)(void *opaque, uint64_t off, const void *data,
		      unsigned int len);
};

struct bus_region {
	uint64_t base;
	uint64_t len;
	const struct bus_ops *ops;
	void *opaque;
	const char *name;
};

struct bus {
	const char *name; /* "pio" or "mmio", for messages */
	struct bus_region *regions; /* sorted by base, never overlapping */
	unsigned int nr, cap;
	atomic_uint_fast64_t unhandled; /* accesses that hit no region */
};

void bus_init(struct bus *bus, const char *name);
void bus_destroy(struct bus *bus);

/*
 * Add [base, base + len).  Returns 0, -EINVAL for an empty or wrapping range,
 * -EEXIST when it overlaps a region already there, -ENOMEM.
 */
int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 const struct bus_ops *ops, void *opaque, const char *name);

/* The region holding all of [addr, addr + len), or NULL. */
const struct bus_region *bus_find(const struct bus *bus, uint64_t addr,
				  unsigned int len);

/*
 * Dispatch one access.  An access that hits no region is counted; a read of
 * one returns all ones.  Returns true when a region handled it.
 */
bool bus_access(struct bus *bus, uint64_t addr, void *data, unsigned int len,
		bool is_write);

#endif
