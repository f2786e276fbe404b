/* SPDX-License-Identifier: MIT */
/*
 * The set of host paths that go into an app image.  Each entry is staged at
 * the same absolute path inside the image.  Entries are kept so that the
 * parent directory of every entry is a real directory on the host: a path
 * reached through symlinks is recorded as the symlinks themselves plus the
 * object they lead to, so that the image resolves the same names the host
 * does (/lib64/ld-linux-x86-64.so.2 on a merged-/usr system becomes the
 * symlinks /lib64 and /usr/lib64/ld-linux-x86-64.so.2 and the regular file
 * /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2).
 */
#ifndef MINIVMM_TOOLS_FILESET_H
#define MINIVMM_TOOLS_FILESET_H

#include <stddef.h>
#include <sys/types.h>

enum fs_type {
	FS_FILE,
	FS_SYMLINK,
	FS_DIR,
};

struct fs_entry {
	char *path; /* absolute, normalised, parent canonical */
	char *target; /* FS_SYMLINK: the link text, unchanged */
	enum fs_type type;
	mode_t mode; /* permission bits of FS_FILE and FS_DIR */
};

struct fileset {
	struct fs_entry *v;
	size_t n, cap;
	size_t *slot; /* open addressing: index + 1, 0 = empty */
	size_t nslots;
};

/* An empty set; fileset_free() releases what the set allocated. */
void fileset_init(struct fileset *fs);
void fileset_free(struct fileset *fs);

/* The entry for exactly @path, or NULL. */
const struct fs_entry *fileset_find(const struct fileset *fs, const char *path);

/*
 * Add @path (absolute) with every symlink met on the way to it, the last
 * component included.  On success the canonical path of the object it names
 * is written to @real (PATH_MAX bytes) when @real is not NULL.  A path that
 * ends in a directory records the directory; fifos, sockets and devices are
 * refused with -EINVAL.  Returns 0 or -errno (-ENOENT, -ELOOP, -ENOTDIR...).
 */
int fileset_add_path(struct fileset *fs, const char *path, char *real);

/*
 * Add one entry as is, without looking at the host (directories the image
 * needs, e.g. mountpoints).  Adding an existing path is not an error.
 */
int fileset_add_raw(struct fileset *fs, const char *path, enum fs_type type,
		    const char *target, mode_t mode);

/* Sort the entries by path (parents before children); invalidates lookups
 * until the next add, which rebuilds the index. */
void fileset_sort(struct fileset *fs);

/* Number of entries of @type. */
size_t fileset_count(const struct fileset *fs, enum fs_type type);

/*
 * Lexically normalise @in into @out (PATH_MAX bytes): make it absolute
 * against @base when relative (@base NULL means "/"), fold "//", "." and
 * "..".  Symlinks are not looked at.  Returns 0 or -ENAMETOOLONG/-EINVAL.
 */
int path_normalise(const char *base, const char *in, char *out);

#endif
