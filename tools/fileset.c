// SPDX-License-Identifier: MIT
/*
 * The set of host paths that go into an app image, with the symlinks met on
 * the way to each one.
 */
#include "fileset.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The kernel gives up after 40 links in one lookup; so do we. */
#define FS_MAX_SYMLINKS 40

void fileset_init(struct fileset *fs)
{
	memset(fs, 0, sizeof(*fs));
}

void fileset_free(struct fileset *fs)
{
	for (size_t i = 0; i < fs->n; i++) {
		free(fs->v[i].path);
		free(fs->v[i].target);
	}
	free(fs->v);
	free(fs->slot);
	memset(fs, 0, sizeof(*fs));
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

static size_t *find_slot(const struct fileset *fs, const char *path)
{
	size_t mask = fs->nslots - 1;
	size_t i = hash_str(path) & mask;

	for (;; i = (i + 1) & mask) {
		size_t s = fs->slot[i];

		if (!s || !strcmp(fs->v[s - 1].path, path))
			return &fs->slot[i];
	}
}

/* Rebuild the index with room for twice the entries (load <= 1/2). */
static int reindex(struct fileset *fs, size_t want)
{
	size_t n = 64;

	while (n < 2 * want)
		n *= 2;
	free(fs->slot);
	fs->slot = calloc(n, sizeof(*fs->slot));
	if (!fs->slot) {
		fs->nslots = 0;
		return -ENOMEM;
	}
	fs->nslots = n;
	for (size_t i = 0; i < fs->n; i++)
		*find_slot(fs, fs->v[i].path) = i + 1;
	return 0;
}

const struct fs_entry *fileset_find(const struct fileset *fs, const char *path)
{
	size_t s;

	if (!fs->nslots)
		return NULL;
	s = *find_slot(fs, path);
	return s ? &fs->v[s - 1] : NULL;
}

int fileset_add_raw(struct fileset *fs, const char *path, enum fs_type type,
		    const char *target, mode_t mode)
{
	struct fs_entry *e;
	int ret;

	if (2 * (fs->n + 1) > fs->nslots) {
		ret = reindex(fs, fs->n + 1);
		if (ret)
			return ret;
	}
	if (*find_slot(fs, path))
		return 0;
	if (fs->n == fs->cap) {
		size_t cap = fs->cap ? 2 * fs->cap : 64;

		e = realloc(fs->v, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		fs->v = e;
		fs->cap = cap;
	}
	e = &fs->v[fs->n];
	memset(e, 0, sizeof(*e));
	e->path = strdup(path);
	e->target = target ? strdup(target) : NULL;
	if (!e->path || (target && !e->target)) {
		free(e->path);
		free(e->target);
		return -ENOMEM;
	}
	e->type = type;
	e->mode = mode & 07777;
	*find_slot(fs, path) = ++fs->n;
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct fs_entry *x = a, *y = b;

	return strcmp(x->path, y->path);
}

void fileset_sort(struct fileset *fs)
{
	if (fs->n)
		qsort(fs->v, fs->n, sizeof(*fs->v), cmp_entry);
	/* Only fails on ENOMEM; lookups then miss, adds retry the index. */
	if (reindex(fs, fs->n))
		fs->nslots = 0;
}

size_t fileset_count(const struct fileset *fs, enum fs_type type)
{
	size_t n = 0;

	for (size_t i = 0; i < fs->n; i++)
		n += fs->v[i].type == type;
	return n;
}

int path_normalise(const char *base, const char *in, char *out)
{
	char tmp[PATH_MAX];
	size_t len = 0;
	const char *p;

	if (!in || !*in)
		return -EINVAL;
	if (in[0] != '/' && base) {
		if (snprintf(tmp, sizeof(tmp), "%s/%s", base, in) >=
		    (int)sizeof(tmp))
			return -ENAMETOOLONG;
		in = tmp;
	}
	for (p = in; *p;) {
		size_t n;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (!n)
			break;
		if (n == 1 && p[0] == '.') {
			p += n;
			continue;
		}
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (len && out[len - 1] != '/')
				len--;
			if (len)
				len--; /* the '/' before the dropped name */
			p += n;
			continue;
		}
		if (len + 1 + n + 1 > PATH_MAX)
			return -ENAMETOOLONG;
		out[len++] = '/';
		memcpy(out + len, p, n);
		len += n;
		p += n;
	}
	if (!len)
		out[len++] = '/';
	out[len] = '\0';
	return 0;
}

/*
 * Walk @path one component at a time the way the kernel's lookup does,
 * keeping @done canonical.  A symlink is recorded and its text replaces it in
 * what is left to walk.
 */
int fileset_add_path(struct fileset *fs, const char *path, char *real)
{
	char done[PATH_MAX] = "", todo[2 * PATH_MAX], link[PATH_MAX];
	size_t dlen = 0, pos = 0;
	int links = 0, ret;
	struct stat st;

	if (path[0] != '/')
		return -EINVAL;
	if (strlen(path) >= sizeof(todo))
		return -ENAMETOOLONG;
	strcpy(todo, path);
	for (;;) {
		size_t n;
		bool last;

		while (todo[pos] == '/')
			pos++;
		n = strcspn(todo + pos, "/");
		if (!n)
			break; /* trailing slash or the root itself */
		last = !todo[pos + n + strspn(todo + pos + n, "/")];
		if (n == 1 && todo[pos] == '.') {
			pos += n;
			continue;
		}
		if (n == 2 && todo[pos] == '.' && todo[pos + 1] == '.') {
			while (dlen && done[dlen - 1] != '/')
				dlen--;
			if (dlen)
				dlen--;
			done[dlen] = '\0';
			pos += n;
			continue;
		}
		if (dlen + 1 + n + 1 > sizeof(done))
			return -ENAMETOOLONG;
		done[dlen] = '/';
		memcpy(done + dlen + 1, todo + pos, n);
		done[dlen + 1 + n] = '\0';
		pos += n;
		if (lstat(done, &st))
			return -errno;
		if (S_ISLNK(st.st_mode)) {
			ssize_t l = readlink(done, link, sizeof(link) - 1);
			size_t rest = strlen(todo + pos);

			if (l < 0)
				return -errno;
			link[l] = '\0';
			if (++links > FS_MAX_SYMLINKS)
				return -ELOOP;
			ret = fileset_add_raw(fs, done, FS_SYMLINK, link, 0);
			if (ret)
				return ret;
			if ((size_t)l + rest + 1 > sizeof(todo))
				return -ENAMETOOLONG;
			/* todo = link text + what was left after the link. */
			memmove(todo + l, todo + pos, rest + 1);
			memcpy(todo, link, l);
			pos = 0;
			if (link[0] == '/')
				dlen = 0;
			done[dlen] = '\0';
			continue;
		}
		dlen += 1 + n;
		if (S_ISDIR(st.st_mode)) {
			if (last) {
				ret = fileset_add_raw(fs, done, FS_DIR, NULL,
						      st.st_mode);
				if (ret)
					return ret;
			}
			continue;
		}
		if (!last)
			return -ENOTDIR;
		if (!S_ISREG(st.st_mode))
			return -EINVAL;
		ret = fileset_add_raw(fs, done, FS_FILE, NULL, st.st_mode);
		if (ret)
			return ret;
		break;
	}
	if (real)
		strcpy(real, dlen ? done : "/");
	return 0;
}
