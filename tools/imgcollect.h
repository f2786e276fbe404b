/* SPDX-License-Identifier: MIT */
/*
 * Collecting what goes into an app image: a program with its ELF closure or
 * its script interpreters, extra files and directories, and what a traced
 * run used.  Everything lands in one fileset.
 */
#ifndef MINIVMM_TOOLS_IMGCOLLECT_H
#define MINIVMM_TOOLS_IMGCOLLECT_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

#include "elfdeps.h"
#include "fileset.h"

struct collect {
	struct fileset fs;
	struct elfdeps deps; /* points at fs: a collect is never moved */
	const char *path_env; /* the app's PATH, for "#!/usr/bin/env NAME" */
	char err[3 * PATH_MAX]; /* why the last call failed, "what: why" */
};

/* Start empty; @path_env (":"-separated, kept by reference) is where
 * "#!/usr/bin/env NAME" scripts find NAME. */
void collect_init(struct collect *c, const char *path_env);
void collect_free(struct collect *c);

/*
 * Add @path (absolute): an ELF file with its closure; a script with its
 * interpreter chain (at most 4 levels, like the kernel) and, for
 * "#!/usr/bin/env NAME", NAME; otherwise a plain file, or -ENOEXEC
 * ("not an ELF executable or a script") when @must_exec.
 * Returns 0 or -errno with c->err set.
 */
int collect_path(struct collect *c, const char *path, bool must_exec);

/* Add @path alone (with the symlinks on the way), whatever it is. */
int collect_plain(struct collect *c, const char *path);

/*
 * Add everything under @dir: directories, files (ELF ones with their
 * closure when it can be found; a warning otherwise) and symlinks.
 * Fifos, sockets and devices are skipped with a warning on stderr.
 */
int collect_dir(struct collect *c, const char *dir);

/*
 * Add the regular files among @traced (a trace_result's paths), except
 * under /proc, /sys, /dev, /tmp and /run, each with its closure; print
 * "trace: + PATH" to @log for each that brought something new.  *@added
 * gets the number of new fileset entries.
 */
int collect_traced(struct collect *c, const struct fileset *traced, FILE *log,
		   size_t *added);

/*
 * A directory the app needs to exist (tmpfs mountpoint, working directory;
 * normalised, absolute): the host's when there is one, else an empty 0755
 * one reached through the same symlinks as on the host.  -ENOTDIR when the
 * host has something else there.
 */
int collect_app_dir(struct collect *c, const char *dir);

#endif
