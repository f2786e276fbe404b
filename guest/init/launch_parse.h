/* SPDX-License-Identifier: MIT */
/*
 * Launch description parser for the guest init.  The blob comes from
 * minivmm (see include/minivmm/guest_abi.h for its layout); it is checked as
 * if it were hostile, so a malformed one is an error, never a crash.
 */
#ifndef MINIVMM_GUEST_LAUNCH_PARSE_H
#define MINIVMM_GUEST_LAUNCH_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define LAUNCH_ERR_LEN 128

struct launch {
	/* NULL-terminated lists; the strings point into the blob. */
	const char **argv; /* at least one entry, argv[0] non-empty */
	const char **env; /* empty list when the DT has no env */
	const char *cwd; /* absolute, default "/" */
	const char *root; /* absolute, default MINIVMM_APP_ROOT */
	uint64_t exit_addr; /* exit device MMIO page, page aligned */
	uint16_t exit_port; /* exit device I/O port */
	char err[LAUNCH_ERR_LEN]; /* why parsing failed, "" on success */
};

/*
 * launch_parse - check and decode a launch description.
 * @blob: the flattened device tree, 8-byte aligned
 * @size: bytes available at @blob (the tree may be shorter, never longer)
 * @l: filled in; the blob must outlive it
 *
 * Returns 0 or -EINVAL (l->err says why) or -ENOMEM.  On failure argv and
 * env are NULL, and exit_addr/exit_port still hold the best known exit device:
 * the blob's when its exit-device node was valid, else the guest_abi.h
 * defaults, so the caller can still report the failure.
 * Call launch_free() once done, whatever the result.
 */
int launch_parse(const void *blob, size_t size, struct launch *l);

/* launch_free - release what launch_parse() allocated; safe to call twice. */
void launch_free(struct launch *l);

#endif
