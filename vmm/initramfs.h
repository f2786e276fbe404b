/* SPDX-License-Identifier: MIT */
/*
 * A writer for the "newc" cpio format that Linux unpacks into its rootfs
 * (Documentation/driver-api/early-userspace/buffer-format.rst).  minivmm builds
 * the guest's initramfs in memory: init, the launch description, the app.
 */
#ifndef MINIVMM_INITRAMFS_H
#define MINIVMM_INITRAMFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cpio {
	uint8_t *buf;
	size_t len, cap;
	uint32_t next_ino;
	char err[256]; /* one line when a function fails */
};

void cpio_init(struct cpio *c);
void cpio_free(struct cpio *c);

/* Add one entry.  @name has no leading '/'.  Returns 0 or -errno. */
int cpio_add(struct cpio *c, const char *name, mode_t mode, const void *data,
	     size_t size);
int cpio_add_dir(struct cpio *c, const char *name, mode_t mode);

/* Add a host file (regular, symlink) under @name. */
int cpio_add_host_file(struct cpio *c, const char *name, const char *path);

/* Add a host directory tree under @prefix (e.g. "app"). */
int cpio_add_host_tree(struct cpio *c, const char *prefix, const char *dir);

/*
 * Copy the entries of a newc archive (@data, @size) under @prefix, checking
 * every header.  Hard-link bookkeeping is not kept (nlink 1).  Returns 0 or
 * -EINVAL with c->err saying what was wrong.
 */
int cpio_add_archive(struct cpio *c, const char *prefix, const uint8_t *data,
		     size_t size);

/* Append the TRAILER!!! entry; call once at the end. */
int cpio_finish(struct cpio *c);

#endif
