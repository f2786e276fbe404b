// SPDX-License-Identifier: MIT
/*
 * /etc/ld.so.cache reader.  The layout is glibc's (sysdeps/generic/
 * dl-cache.h); all numbers are host-endian.
 */
#include "ldcache.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define OLD_MAGIC "ld.so-1.7.0"
#define NEW_MAGIC "glibc-ld.so.cache1.1"

/* Sizes of glibc's structures, spelt out: the file is the contract. */
#define OLD_HDR_SIZE 16 /* magic[11], pad, uint32 nlibs */
#define OLD_ENT_SIZE 12 /* int32 flags, uint32 key, uint32 value */
#define NEW_HDR_SIZE 48 /* magic[17] version[3] nlibs len_strings flags... */
#define NEW_ENT_SIZE 24 /* int32 flags, key, value, osversion, u64 hwcap */

#define FLAG_TYPE_MASK 0x00ff
#define FLAG_ELF_LIBC6 0x0003
#define ENDIAN_LITTLE 2
#define ENDIAN_BIG 3

static uint32_t rd32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t rd64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Where the new-format header starts, or -EINVAL. */
static long find_new_header(const unsigned char *m, size_t size)
{
	uint64_t off;

	if (size >= NEW_HDR_SIZE && !memcmp(m, NEW_MAGIC, strlen(NEW_MAGIC)))
		return 0;
	if (size < OLD_HDR_SIZE || memcmp(m, OLD_MAGIC, strlen(OLD_MAGIC)))
		return -EINVAL;
	/* Old table first; the new one follows it, 8-byte aligned. */
	off = OLD_HDR_SIZE + (uint64_t)rd32(m + 12) * OLD_ENT_SIZE;
	off = (off + 7) & ~7ULL;
	if (off > size || size - off < NEW_HDR_SIZE ||
	    memcmp(m + off, NEW_MAGIC, strlen(NEW_MAGIC)))
		return -EINVAL;
	return (long)off;
}

int ldcache_open(struct ldcache *c, const char *path)
{
	int native = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ENDIAN_LITTLE
							       : ENDIAN_BIG;
	struct stat st;
	void *map;
	long base;
	int fd;

	memset(c, 0, sizeof(*c));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || st.st_size <= 0) {
		close(fd);
		return -EINVAL;
	}
	map = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return -errno;
	c->map = map;
	c->size = st.st_size;
	base = find_new_header(c->map, c->size);
	if (base < 0)
		goto bad;
	c->base = base;
	/* flags byte after nlibs and len_strings: 0 means "not recorded". */
	if (c->map[base + 28] && c->map[base + 28] != native)
		goto bad;
	c->nlibs = rd32(c->map + base + 20);
	if ((c->size - base - NEW_HDR_SIZE) / NEW_ENT_SIZE < c->nlibs)
		goto bad;
	return 0;
bad:
	ldcache_close(c);
	return -EINVAL;
}

void ldcache_close(struct ldcache *c)
{
	if (c->map)
		munmap((void *)c->map, c->size);
	memset(c, 0, sizeof(*c));
}

/* The NUL-terminated string at @off from the header, or NULL if it leaves
 * the file. */
static const char *cache_str(const struct ldcache *c, uint32_t off)
{
	size_t at = c->base + (size_t)off;

	if (at >= c->size || !memchr(c->map + at, '\0', c->size - at))
		return NULL;
	return (const char *)c->map + at;
}

const char *ldcache_next(const struct ldcache *c, const char *name,
			 size_t *iter)
{
	for (; c->map && *iter < c->nlibs; (*iter)++) {
		const unsigned char *e =
		    c->map + c->base + NEW_HDR_SIZE + *iter * NEW_ENT_SIZE;
		const char *key, *val;

		if ((rd32(e) & FLAG_TYPE_MASK) != FLAG_ELF_LIBC6)
			continue;
		/* Non-zero hwcap: a glibc-hwcaps/ or legacy hwcap variant. */
		if (rd64(e + 16))
			continue;
		key = cache_str(c, rd32(e + 4));
		val = cache_str(c, rd32(e + 8));
		if (!key || !val || strcmp(key, name) || val[0] != '/')
			continue;
		(*iter)++;
		return val;
	}
	return NULL;
}
