/* SPDX-License-Identifier: MIT */
/*
 * Parsers for the guest init: the launch description minivmm puts in the
 * initramfs, and the manifest of an app image (see include/minivmm/guest_abi.h
 * for both layouts), plus the merge of the two into what init runs.  Every
 * blob is checked as if it were hostile, so a malformed one is an error, never
 * a crash.
 */
#ifndef MINIVMM_GUEST_LAUNCH_PARSE_H
#define MINIVMM_GUEST_LAUNCH_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net.h"

#define LAUNCH_ERR_LEN 128

struct launch {
	/*
	 * NULL-terminated lists; the strings point into the blob.  argv has
	 * at least one entry, argv[0] non-empty, except in the app image form
	 * (root_disk set), where it may be empty: the manifest's then applies.
	 */
	const char **argv;
	const char **env; /* empty list when the DT has no env */
	const char *cwd; /* absolute, default "/" */
	bool has_cwd; /* cwd was given: it overrides the manifest's */
	const char *root; /* absolute, default MINIVMM_APP_ROOT */
	/* App image form: the block device mounted on root; else NULL. */
	const char *root_disk; /* absolute */
	const char *root_fstype; /* erofs, ext4 or squashfs, or NULL */
	uint64_t exit_addr; /* exit device MMIO page, page aligned */
	uint16_t exit_port; /* exit device I/O port */
	struct net_config net; /* net.present false without a net node */
	char err[LAUNCH_ERR_LEN]; /* why parsing failed, "" on success */
};

/*
 * launch_parse - check and decode a launch description.
 * @blob: the flattened device tree, 8-byte aligned
 * @size: bytes available at @blob (the tree may be shorter, never longer)
 * @l: filled in; the blob must outlive it
 *
 * Returns 0 or -EINVAL (l->err says why) or -ENOMEM.  On failure argv and
 * env are NULL, net is all zero, and exit_addr/exit_port still hold the best
 * known exit device: the blob's when its exit-device node was valid, else the
 * guest_abi.h defaults, so the caller can still report the failure.
 * Call launch_free() once done, whatever the result.
 */
int launch_parse(const void *blob, size_t size, struct launch *l);

/* launch_free - release what launch_parse() allocated; safe to call twice. */
void launch_free(struct launch *l);

/* An app image's manifest (MINIVMM_MANIFEST_PATH inside the image). */
struct manifest {
	/* NULL-terminated lists; the strings point into the blob. */
	const char **argv; /* at least one entry, argv[0] non-empty */
	const char **env; /* NAME=value entries, possibly none */
	const char *cwd; /* absolute, default "/" */
	uint32_t uid, gid; /* default 0 0; never (uint32_t)-1 */
	/*
	 * Directories that get a tmpfs: absolute, canonical (no "." or ".."
	 * component, no empty one, no trailing slash), not "/", none inside
	 * another or listed twice.
	 */
	const char **writable;
	char err[LAUNCH_ERR_LEN]; /* why parsing failed, "" on success */
};

/*
 * manifest_parse - check and decode an app image manifest.
 * @blob, @size: as for launch_parse()
 * @m: filled in; the blob must outlive it
 *
 * Returns 0 or -EINVAL (m->err says why) or -ENOMEM; on failure the lists are
 * NULL.  Call manifest_free() once done, whatever the result.
 */
int manifest_parse(const void *blob, size_t size, struct manifest *m);

/* manifest_free - release what manifest_parse() allocated; safe twice. */
void manifest_free(struct manifest *m);

/* What init runs: the launch description, merged with the manifest if any. */
struct app {
	const char **argv; /* NULL-terminated, argv[0] non-empty */
	const char **env; /* NULL-terminated; from a merge, each name once */
	const char *cwd;
	uint32_t uid, gid;
	bool set_user; /* switch to uid/gid before exec (app image form) */
	const char **env_owned; /* private: what app_free() releases */
};

/*
 * app_merge - decide the app's argv, env, cwd and user.
 * @l: a launch description from a successful launch_parse()
 * @m: the image's manifest from a successful manifest_parse(), or NULL in
 *     the directory form, where @l alone is used as is
 * @a: filled in; points into @l and @m, which must outlive it
 *
 * With a manifest: @l's argv, when not empty, replaces the manifest's whole
 * argv; env is the manifest's followed by @l's, and where a name appears more
 * than once the last value wins, kept at the place the name first appeared;
 * @l's cwd replaces the manifest's only when @l gave one; the user is the
 * manifest's.  Returns 0, -EINVAL (no argv at all) or -ENOMEM.
 * Call app_free() once done, whatever the result.
 */
int app_merge(const struct launch *l, const struct manifest *m, struct app *a);

/* app_free - release what app_merge() allocated; safe to call twice. */
void app_free(struct app *a);

#endif
