/* SPDX-License-Identifier: MIT */
/*
 * The app image manifest (include/minivmm/guest_abi.h, "App image
 * manifest"): a flattened device tree at MINIVMM_MANIFEST_PATH in the image
 * that says how to run the app.
 */
#ifndef MINIVMM_TOOLS_MANIFEST_H
#define MINIVMM_TOOLS_MANIFEST_H

#include <stddef.h>
#include <stdio.h>

struct manifest {
	char *const *argv; /* NULL-terminated, argv[0] absolute; required */
	char *const *env; /* NULL-terminated "K=V", may be NULL */
	const char *cwd; /* NULL means "/" */
	unsigned int uid, gid;
	char *const *writable; /* NULL-terminated absolute paths, may be NULL */
};

/*
 * Write @m as a DTB into a new buffer (*@blob, *@size; free() it).
 * Returns 0, -EINVAL when argv is empty, or -ENOMEM.
 */
int manifest_build(const struct manifest *m, void **blob, size_t *size);

/*
 * Check that @blob (of @size bytes, as read from an image) is a manifest and
 * print its fields to @out, one per line, indented by two spaces.  Every
 * offset and length in the blob is checked by libfdt before use.  Returns 0
 * or -EINVAL with a reason in @why.
 */
int manifest_print(const void *blob, size_t size, FILE *out, const char **why);

#endif
