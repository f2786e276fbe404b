/* SPDX-License-Identifier: MIT */
/*
 * Listing an app image: every regular file and symlink with its size and
 * the Debian package (and version) it came from, the totals, and the
 * decoded manifest.
 */
#ifndef MINIVMM_TOOLS_IMGINSPECT_H
#define MINIVMM_TOOLS_IMGINSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/*
 * Unpack @img into a temporary directory with fsck.erofs (removed again
 * before returning), print the listing to @out.  Returns 0 or -errno with
 * @err set to one line "what: why".
 */
int image_inspect(const char *img, FILE *out, char *err, size_t errlen);

#endif
