/* SPDX-License-Identifier: MIT */
/*
 * What the guest init's parts share: its state, its mounts and its
 * messages.  init.c is PID 1's flow; image.c prepares the app's root.
 */
#ifndef MINIVMM_INIT_H
#define MINIVMM_INIT_H

#include <stdbool.h>
#include <stddef.h>

#include "launch_parse.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define INIT_CONSOLE "/dev/console"
#define INIT_CMDLINE "/proc/cmdline"
#define INIT_DEBUG_FLAG "minivmm.debug"
#define INIT_MEMINFO_FLAG "minivmm.meminfo=" /* seconds between reports */
#define INIT_MEMINFO_MAX_S 86400
#define INIT_DEFAULT_PATH "/bin:/usr/bin:/sbin:/usr/sbin"
#define INIT_LAUNCH_MAX (1 << 20) /* far above any real launch or manifest */
#define INIT_GRACE_MS 500 /* time given to processes after each signal */
#define INIT_POLL_MS 10
#define INIT_DISK_WAIT_MS 5000 /* for the app disk's node to show in /dev */
#define INIT_NET_WAIT_MS 5000 /* for virtio-net's interface to show */

struct init {
	bool debug;
	unsigned int meminfo_every; /* seconds; 0: no memory reports */
	struct launch launch;
	struct manifest manifest; /* app image form only */
	struct app app; /* what runs: launch and manifest merged */
};

struct init_mount {
	const char *dir;
	const char *type;
	unsigned long flags;
	const char *data;
};

extern const struct init_mount init_mounts[4];
/* An app image gets the first ones only: its /tmp is writable if it says. */
#define INIT_IMAGE_MOUNTS 3

/* "minivmm-init: ..." on the console: one line, one write. */
void init_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same, only with minivmm.debug on the kernel command line. */
void init_log(const struct init *in, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Mount @m under @root ("" for the initramfs root), creating the directory. */
int init_mount(const struct init *in, const char *root,
	       const struct init_mount *m);
/* Read the whole regular file open on @fd (closed after). */
int init_read_fd(int fd, void **bufp, size_t *sizep);
/* Read a whole regular file into a malloc'd buffer. */
int init_read_file(const char *path, void **bufp, size_t *sizep);

/* Read what fits of a procfs file into @buf (NUL-terminated); false when
 * there is nothing to read. */
bool init_read_proc(const char *path, char *buf, size_t size);

/* Fork a child that prints the guest's /proc/meminfo on the console every
 * @every seconds ("minivmm-init: meminfo MemTotal=... ..."), until killed.
 * Call after the app has started. */
void init_meminfo_start(unsigned int every);

/* image.c: the app's root, as an image on a disk or a directory. */
int init_image_prepare(struct init *in);
int init_dir_prepare(const struct init *in);

#endif
