/* SPDX-License-Identifier: MIT */
/*
 * A reader for glibc's /etc/ld.so.cache ("glibc-ld.so.cache1.1", alone or
 * after an old "ld.so-1.7.0" table), the third place the dynamic loader
 * looks for a DT_NEEDED name, after DT_RPATH and DT_RUNPATH.
 */
#ifndef MINIVMM_TOOLS_LDCACHE_H
#define MINIVMM_TOOLS_LDCACHE_H

#include <stddef.h>
#include <stdint.h>

#define LDCACHE_PATH "/etc/ld.so.cache"

struct ldcache {
	const unsigned char *map; /* the whole file, read-only */
	size_t size;
	size_t base; /* new-format header offset; strings count from it */
	uint32_t nlibs;
};

/*
 * Map and check the cache at @path.  Returns 0, -ENOENT (no cache: not an
 * error for the caller, the loader then goes on to the default directories)
 * or -EINVAL when the file is not a cache this reader understands.
 */
int ldcache_open(struct ldcache *c, const char *path);
void ldcache_close(struct ldcache *c);

/*
 * The cache's paths for the soname @name, in the cache's order, one per call:
 * start with *@iter = 0; NULL when there are no more.  Only baseline entries
 * (no hwcaps subdirectory) of ELF libc6 type are returned; the caller checks
 * the class and machine of each candidate, as the loader does.
 */
const char *ldcache_next(const struct ldcache *c, const char *name,
			 size_t *iter);

#endif
