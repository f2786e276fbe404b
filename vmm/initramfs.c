// SPDX-License-Identifier: MIT
/*
 * newc cpio writer and reader.  Each entry is a 110-byte ASCII header
 * ("070701" and 13 eight-digit hex fields), the NUL-terminated name padded to
 * 4 bytes, then the data padded to 4 bytes.
 */
#include "initramfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NEWC_MAGIC "070701"
#define NEWC_HDR_LEN 110
#define NEWC_TRAILER "TRAILER!!!"

void cpio_init(struct cpio *c)
{
	memset(c, 0, sizeof(*c));
	c->next_ino = 1;
}

void cpio_free(struct cpio *c)
{
	free(c->buf);
	memset(c, 0, sizeof(*c));
}

static int cpio_reserve(struct cpio *c, size_t more)
{
	size_t need;

	if (__builtin_add_overflow(c->len, more, &need))
		return -ENOMEM;
	if (need <= c->cap)
		return 0;
	size_t cap = c->cap ? c->cap : 65536;
	while (cap < need)
		cap *= 2;
	uint8_t *b = realloc(c->buf, cap);
	if (!b)
		return -ENOMEM;
	c->buf = b;
	c->cap = cap;
	return 0;
}

static void cpio_pad4(struct cpio *c)
{
	while (c->len & 3)
		c->buf[c->len++] = 0;
}

int cpio_add(struct cpio *c, const char *name, mode_t mode, const void *data,
	     size_t size)
{
	size_t namelen = strlen(name) + 1;
	char hdr[NEWC_HDR_LEN + 1];
	int ret;

	if (size > UINT32_MAX || namelen > PATH_MAX)
		return -EFBIG;
	ret = cpio_reserve(c, NEWC_HDR_LEN + namelen + size + 8);
	if (ret)
		return ret;
	snprintf(hdr, sizeof(hdr),
		 "%s%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 NEWC_MAGIC, c->next_ino++, (unsigned int)mode, 0U, 0U,
		 S_ISDIR(mode) ? 2U : 1U, 0U, (unsigned int)size, 0U, 0U, 0U,
		 0U, (unsigned int)namelen, 0U);
	memcpy(c->buf + c->len, hdr, NEWC_HDR_LEN);
	c->len += NEWC_HDR_LEN;
	memcpy(c->buf + c->len, name, namelen);
	c->len += namelen;
	cpio_pad4(c);
	if (size)
		memcpy(c->buf + c->len, data, size);
	c->len += size;
	cpio_pad4(c);
	return 0;
}

int cpio_add_dir(struct cpio *c, const char *name, mode_t mode)
{
	return cpio_add(c, name, S_IFDIR | (mode & 07777), NULL, 0);
}

static int read_whole(const char *path, uint8_t **out, size_t *size)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	buf = malloc(st.st_size ? st.st_size : 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;

			free(buf);
			close(fd);
			return -e;
		}
		got += n;
	}
	close(fd);
	*out = buf;
	*size = got;
	return 0;
}

int cpio_add_host_file(struct cpio *c, const char *name, const char *path)
{
	struct stat st;
	uint8_t *data = NULL;
	size_t size = 0;
	int ret;

	if (lstat(path, &st) < 0) {
		snprintf(c->err, sizeof(c->err), "'%s': %s", path,
			 strerror(errno));
		return -errno;
	}
	if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlink(path, target, sizeof(target));

		if (n < 0 || n >= (ssize_t)sizeof(target))
			return -EINVAL;
		return cpio_add(c, name, st.st_mode, target, (size_t)n);
	}
	if (!S_ISREG(st.st_mode))
		return 0; /* devices, sockets, fifos: the guest makes its own */
	ret = read_whole(path, &data, &size);
	if (ret) {
		snprintf(c->err, sizeof(c->err), "'%s': %s", path,
			 strerror(-ret));
		return ret;
	}
	ret = cpio_add(c, name, st.st_mode, data, size);
	free(data);
	return ret;
}

int cpio_add_host_tree(struct cpio *c, const char *prefix, const char *dir)
{
	char path[PATH_MAX], name[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int ret = 0;

	if (stat(dir, &st) < 0) {
		snprintf(c->err, sizeof(c->err), "'%s': %s", dir,
			 strerror(errno));
		return -errno;
	}
	ret = cpio_add_dir(c, prefix, st.st_mode);
	if (ret)
		return ret;
	d = opendir(dir);
	if (!d) {
		snprintf(c->err, sizeof(c->err), "'%s': %s", dir,
			 strerror(errno));
		return -errno;
	}
	while (!ret && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
			    (int)sizeof(path) ||
		    snprintf(name, sizeof(name), "%s/%s", prefix, de->d_name) >=
			    (int)sizeof(name)) {
			ret = -ENAMETOOLONG;
			break;
		}
		if (lstat(path, &st) < 0) {
			ret = -errno;
			break;
		}
		if (S_ISDIR(st.st_mode))
			ret = cpio_add_host_tree(c, name, path);
		else
			ret = cpio_add_host_file(c, name, path);
	}
	closedir(d);
	return ret;
}

static int hex8(const uint8_t *p, uint32_t *out)
{
	uint32_t v = 0;

	for (int i = 0; i < 8; i++) {
		uint8_t ch = p[i];

		v <<= 4;
		if (ch >= '0' && ch <= '9')
			v |= ch - '0';
		else if (ch >= 'a' && ch <= 'f')
			v |= ch - 'a' + 10;
		else if (ch >= 'A' && ch <= 'F')
			v |= ch - 'A' + 10;
		else
			return -EINVAL;
	}
	*out = v;
	return 0;
}

/* Whether a relative name has a ".." component (it could replace /init). */
static bool name_escapes(const char *name)
{
	for (const char *p = name; *p;) {
		if (p[0] == '.' && p[1] == '.' && (p[2] == '/' || p[2] == '\0'))
			return true;
		p = strchr(p, '/');
		if (!p)
			break;
		p++;
	}
	return false;
}

int cpio_add_archive(struct cpio *c, const char *prefix, const uint8_t *data,
		     size_t size)
{
	size_t off = 0;

	while (off < size) {
		uint32_t f[13];
		size_t name_off, data_off, end;
		const char *name;
		char full[PATH_MAX];
		int ret;

		/* Zero padding between concatenated archives is allowed. */
		if (data[off] == 0) {
			off++;
			continue;
		}
		if (size - off < NEWC_HDR_LEN ||
		    memcmp(data + off, NEWC_MAGIC, 6)) {
			snprintf(c->err, sizeof(c->err),
				 "bad newc header at offset %zu", off);
			return -EINVAL;
		}
		for (int i = 0; i < 13; i++)
			if (hex8(data + off + 6 + 8 * i, &f[i])) {
				snprintf(c->err, sizeof(c->err),
					 "bad hex field at offset %zu", off);
				return -EINVAL;
			}
		/* f[6]: filesize, f[11]: namesize (with the NUL). */
		name_off = off + NEWC_HDR_LEN;
		if (f[11] == 0 || f[11] > PATH_MAX || size - name_off < f[11]) {
			snprintf(c->err, sizeof(c->err),
				 "bad name size at offset %zu", off);
			return -EINVAL;
		}
		name = (const char *)data + name_off;
		if (name[f[11] - 1] != '\0') {
			snprintf(c->err, sizeof(c->err),
				 "name not terminated at offset %zu", off);
			return -EINVAL;
		}
		data_off = (name_off + f[11] + 3) & ~(size_t)3;
		if (data_off > size || size - data_off < f[6]) {
			snprintf(c->err, sizeof(c->err),
				 "entry '%s' runs past the end", name);
			return -EINVAL;
		}
		end = (data_off + f[6] + 3) & ~(size_t)3;
		if (!strcmp(name, NEWC_TRAILER)) {
			off = end;
			continue;
		}
		while (name[0] == '/' || (name[0] == '.' && name[1] == '/'))
			name += name[0] == '/' ? 1 : 2;
		if (name_escapes(name)) {
			snprintf(c->err, sizeof(c->err),
				 "entry '%s' leaves the archive's root (..)", name);
			return -EINVAL;
		}
		if (!strcmp(name, ".") || !name[0])
			snprintf(full, sizeof(full), "%s", prefix);
		else if (snprintf(full, sizeof(full), "%s/%s", prefix, name) >=
			 (int)sizeof(full))
			return -ENAMETOOLONG;
		ret = cpio_add(c, full, f[1], data + data_off, f[6]);
		if (ret)
			return ret;
		off = end;
	}
	return 0;
}

int cpio_finish(struct cpio *c)
{
	return cpio_add(c, NEWC_TRAILER, 0, NULL, 0);
}
