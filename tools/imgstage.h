/* SPDX-License-Identifier: MIT */
/*
 * Turning a fileset into an app image: a staging tree in a temporary
 * directory, then mkfs.erofs over it, then padding to whole sectors.
 */
#ifndef MINIVMM_TOOLS_IMGSTAGE_H
#define MINIVMM_TOOLS_IMGSTAGE_H

#include <stddef.h>
#include <stdint.h>

#include "fileset.h"

/* virtio-blk addresses the disk in 512-byte sectors (virtio 1.2 §5.2.6). */
#define IMAGE_SECTOR 512

/*
 * Recreate @fs (sorted with fileset_sort()) under the directory @root:
 * regular files copied with their permission bits, symlinks recreated with
 * the same text, directories created with their modes (missing parents get
 * 0755).  Nothing is ever created through a symlink in the tree.
 * Returns 0 or -errno with @err set to "path: why".
 */
int stage_tree(const struct fileset *fs, const char *root, char *err,
	       size_t errlen);

/* Write @len bytes of @data to @root + @path, mode 0644, creating its
 * parents.  Returns 0 or -errno with @err set. */
int stage_write(const char *root, const char *path, const void *data,
		size_t len, char *err, size_t errlen);

/* Remove @dir and everything below it; symlinks are removed, not followed,
 * and other filesystems are not entered.  Returns 0 or -errno. */
int stage_remove(const char *dir);

/*
 * Find @name in $PATH (or the usual directories when PATH is unset);
 * @out gets PATH_MAX bytes.  Returns 0 or -ENOENT.
 */
int find_in_path(const char *name, char *out);

/*
 * Which LZ4 compressor @mkfs (a mkfs.erofs) offers, as its -z argument:
 * "lz4hc", "lz4", or NULL when it has neither (build uncompressed).
 */
const char *erofs_compressor(const char *mkfs);

/*
 * Run @mkfs over @root to write @img (compressed with @compressor unless it
 * is NULL; every file owned by root).  Returns 0 or a negative errno, with
 * @err set; mkfs.erofs's own messages go to stderr.
 */
int erofs_mkfs(const char *mkfs, const char *compressor, const char *img,
	       const char *root, char *err, size_t errlen);

/* The last line of a tool's captured output, cleaned of erofs-utils'
 * terminal codes and level prefix; points into @out, which it edits. */
const char *tool_message(char *out);

/* Grow @img to a multiple of IMAGE_SECTOR bytes; *@size gets its size. */
int image_pad(const char *img, uint64_t *size);

/*
 * Run @argv, with no signals blocked, and wait for it.  Its stdout (and
 * stderr too when @cap is not NULL) go to @cap (up to @caplen - 1 bytes,
 * NUL-terminated; the rest is read and dropped) or to /dev/null when @cap is
 * NULL and @quiet is set.
 * Returns its exit status (128 + N when killed by signal N) or -errno when
 * it could not be started.
 */
int run_wait(char *const argv[], int quiet, char *cap, size_t caplen);

#endif
