// SPDX-License-Identifier: MIT
/*
 * The app's root for the guest init: an app image on its disk (mounted
 * read-only, its manifest read, tmpfs over its writable paths) or the
 * directory in the initramfs.  Paths inside the image are resolved inside
 * it (openat2 RESOLVE_IN_ROOT), so the image cannot point a mount outside.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "minivmm/guest_abi.h"
#include "init.h"

/*
 * Open @path inside the app image as the app will see it once chrooted:
 * "..", absolute symlinks and the like stay under @rootfd, so an image cannot
 * make init read or mount over anything outside it.  Returns an fd or -errno.
 */
static int init_open_in(int rootfd, const char *path, uint64_t flags)
{
	struct open_how how = {
	    .flags = flags | O_CLOEXEC,
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

/*
 * Mount @type on @path of the app image (@root, open on @rootfd).  When
 * @optional, a path the image lacks is skipped: a read-only image cannot be
 * given new mount points.
 */
static int init_mount_in(const struct init *in, int rootfd, const char *root,
			 const char *path, const char *type,
			 unsigned long flags, const char *data, bool optional)
{
	char target[64];
	int fd, err = 0;

	fd = init_open_in(rootfd, path, O_PATH | O_DIRECTORY);
	if (fd == -ENOENT && optional) {
		init_log(in, "no %s%s in the image: %s not mounted", root, path,
			 type);
		return 0;
	}
	if (fd < 0) {
		init_say("mount %s on %s%s: %s", type, root, path,
			 strerror(-fd));
		return fd;
	}
	/* The kernel follows the fd's magic link to where it resolved. */
	snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
	if (mount(type, target, type, flags, data) < 0) {
		err = -errno;
		init_say("mount %s on %s%s: %s", type, root, path,
			 strerror(-err));
	} else {
		init_log(in, "mounted %s on %s%s", type, root, path);
	}
	close(fd);
	return err;
}

/* virtio-blk probes during boot, but its node may come a little later. */
static int init_wait_disk(const struct init *in, const char *dev)
{
	const struct timespec step = {0, INIT_POLL_MS * 1000000L};
	struct timespec start, now;
	struct stat st;
	long ms;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (now.tv_sec - start.tv_sec) * 1000 +
		     (now.tv_nsec - start.tv_nsec) / 1000000;
		if (!stat(dev, &st))
			break;
		if (errno != ENOENT) {
			err = -errno;
			init_say("app disk %s: %s", dev, strerror(-err));
			return err;
		}
		if (ms >= INIT_DISK_WAIT_MS) {
			init_say("app disk %s did not appear", dev);
			return -ENOENT;
		}
		nanosleep(&step, NULL);
	}
	if (!S_ISBLK(st.st_mode)) {
		init_say("app disk %s: not a block device", dev);
		return -ENOTBLK;
	}
	init_log(in, "app disk %s there after %ld ms", dev, ms);
	return 0;
}

/* Read and check the image's manifest into in->manifest. */
static int init_read_manifest(struct init *in, int rootfd)
{
	const char *path = MINIVMM_MANIFEST_PATH;
	size_t size = 0;
	void *blob = NULL;
	int fd, err;

	fd = init_open_in(rootfd, path, O_RDONLY);
	/* The blob is never freed: the manifest's strings point into it. */
	err = fd < 0 ? fd : init_read_fd(fd, &blob, &size);
	if (err) {
		init_say("app image manifest %s: %s", path, strerror(-err));
		return err;
	}
	err = manifest_parse(blob, size, &in->manifest);
	if (err)
		init_say("app image manifest %s: %s", path, in->manifest.err);
	return err;
}

/*
 * The app image form: mount the disk read-only on the root, read its
 * manifest, then give it its writable directories and basic file systems.
 */
int init_image_prepare(struct init *in)
{
	const struct launch *l = &in->launch;
	const struct manifest *m = &in->manifest;
	const struct init_mount *im;
	char tmpfs_opts[64], path[16];
	int rootfd, err;
	size_t i;

	err = init_wait_disk(in, l->root_disk);
	if (err)
		return err;
	if (mkdir(l->root, 0755) < 0 && errno != EEXIST) {
		err = -errno;
		init_say("mkdir %s: %s", l->root, strerror(-err));
		return err;
	}
	if (mount(l->root_disk, l->root, l->root_fstype, MS_RDONLY, NULL) < 0) {
		err = -errno;
		init_say("mount %s (%s) on %s: %s", l->root_disk,
			 l->root_fstype, l->root, strerror(-err));
		return err;
	}
	init_log(in, "mounted %s (%s) on %s", l->root_disk, l->root_fstype,
		 l->root);
	rootfd = open(l->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		err = -errno;
		init_say("%s: %s", l->root, strerror(-err));
		return err;
	}

	err = init_read_manifest(in, rootfd);
	for (i = 0; !err && m->writable[i]; i++) {
		/* /tmp is everyone's; other places belong to the app's user. */
		if (!strcmp(m->writable[i], "/tmp"))
			snprintf(tmpfs_opts, sizeof(tmpfs_opts), "mode=1777");
		else
			snprintf(tmpfs_opts, sizeof(tmpfs_opts),
				 "mode=0755,uid=%u,gid=%u", m->uid, m->gid);
		err =
		    init_mount_in(in, rootfd, l->root, m->writable[i], "tmpfs",
				  MS_NOSUID | MS_NODEV, tmpfs_opts, false);
	}
	for (i = 0; !err && i < INIT_IMAGE_MOUNTS; i++) {
		im = &init_mounts[i];
		snprintf(path, sizeof(path), "/%s", im->dir);
		err = init_mount_in(in, rootfd, l->root, path, im->type,
				    im->flags, im->data, true);
	}
	close(rootfd);
	return err;
}

/* The directory form: the app's files are already in the initramfs. */
int init_dir_prepare(const struct init *in)
{
	const struct launch *l = &in->launch;
	struct stat st;
	int err = 0;
	size_t i;

	if (stat(l->root, &st) < 0)
		err = -errno;
	else if (!S_ISDIR(st.st_mode))
		err = -ENOTDIR;
	if (err) {
		init_say("app root %s: %s", l->root, strerror(-err));
		return err;
	}
	/* With root "/" the mounts above already serve the app. */
	for (i = 0; !err && strcmp(l->root, "/") && i < ARRAY_SIZE(init_mounts);
	     i++)
		err = init_mount(in, l->root, &init_mounts[i]);
	return err;
}

