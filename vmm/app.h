/* SPDX-License-Identifier: MIT */
/*
 * The app: what --app names, and the initramfs minivmm builds around it
 * (the embedded init, the launch description, the app's files).
 */
#ifndef MINIVMM_APP_H
#define MINIVMM_APP_H

#include "initramfs.h"
#include "options.h"

enum app_kind {
	APP_DIR, /* a directory: the app's root */
	APP_CPIO, /* a newc archive: the app's root */
	APP_EXEC, /* one ELF executable */
	APP_IMAGE, /* a filesystem image: a read-only disk, /dev/vda */
};

/* Decide what @path is from its type and first bytes; 0 or STATUS_USAGE. */
int app_probe(const char *path, enum app_kind *kind, const char **fstype);

/*
 * Build the initramfs for --app into @c: /init, /minivmm/launch.dtb and,
 * unless the app is an image on its own disk, the app's files under /app.
 * Returns 0 or STATUS_USAGE after one line on stderr.
 */
int app_build_initramfs(const struct options *o, enum app_kind kind,
			const char *fstype, const struct net_plan *net,
			struct cpio *c);

/* --write-initrd: save @c to @path (and free it); 0 or STATUS_USAGE. */
int app_write_initrd(const char *path, struct cpio *c);

#endif
