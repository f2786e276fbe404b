// SPDX-License-Identifier: MIT
/*
 * Device buses.  The vCPU loop hands every port-I/O and MMIO exit to
 * bus_access(); a binary search over the sorted regions finds the device.
 */
#include "bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
}

void bus_destroy(struct bus *bus)
{
	free(bus->regions);
	bus->regions = NULL;
	bus->nr = bus->cap = 0;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 const struct bus_ops *ops, void *opaque, const char *name)
{
	uint64_t last;
	unsigned int pos;

	if (len == 0 || __builtin_add_overflow(base, len - 1, &last))
		return -EINVAL;
	/* First region that starts after base: the new one goes before it. */
	for (pos = 0; pos < bus->nr && bus->regions[pos].base <= base; pos++)
		;
	if (pos > 0) {
		const struct bus_region *prev = &bus->regions[pos - 1];

		if (base - prev->base < prev->len)
			return -EEXIST;
	}
	if (pos < bus->nr && bus->regions[pos].base <= last)
		return -EEXIST;
	if (bus->nr == bus->cap) {
		unsigned int cap = bus->cap ? bus->cap * 2 : 8;
		struct bus_region *r =
			realloc(bus->regions, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		bus->regions = r;
		bus->cap = cap;
	}
	memmove(&bus->regions[pos + 1], &bus->regions[pos],
		(bus->nr - pos) * sizeof(bus->regions[0]));
	bus->regions[pos] = (struct bus_region){ base, len, ops, opaque, name };
	bus->nr++;
	return 0;
}

const struct bus_region *bus_find(const struct bus *bus, uint64_t addr,
				  unsigned int len)
{
	unsigned int lo = 0, hi = bus->nr;
	uint64_t last;

	if (len == 0 || __builtin_add_overflow(addr, (uint64_t)len - 1, &last))
		return NULL;
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		const struct bus_region *r = &bus->regions[mid];

		if (addr < r->base) {
			hi = mid;
		} else if (addr - r->base >= r->len) {
			lo = mid + 1;
		} else {
			/* addr is inside; the whole access must be too. */
			return last - r->base < r->len ? r : NULL;
		}
	}
	return NULL;
}

bool bus_access(struct bus *bus, uint64_t addr, void *data, unsigned int len,
		bool is_write)
{
	const struct bus_region *r = bus_find(bus, addr, len);

	if (!r) {
		atomic_fetch_add_explicit(&bus->unhandled, 1,
					  memory_order_relaxed);
		if (!is_write)
			memset(data, 0xff, len);
		return false;
	}
	if (is_write) {
		if (r->ops->write)
			r->ops->write(r->opaque, addr - r->base, data, len);
	} else if (r->ops->read) {
		r->ops->read(r->opaque, addr - r->base, data, len);
	} else {
		memset(data, 0xff, len);
	}
	return true;
}
