/* SPDX-License-Identifier: MIT */
/*
 * ELF dependency closure: the files the dynamic loader will open to start a
 * program, found by the rules ld.so follows (PT_INTERP, then DT_NEEDED
 * breadth first, searched in DT_RPATH, DT_RUNPATH, /etc/ld.so.cache and the
 * default directories), without running anything.
 */
#ifndef MINIVMM_TOOLS_ELFDEPS_H
#define MINIVMM_TOOLS_ELFDEPS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "fileset.h"
#include "ldcache.h"

/* What the loader needs to know about one ELF file. */
struct elf_info {
	int ei_class; /* ELFCLASS32 or ELFCLASS64 */
	int machine; /* EM_* */
	int type; /* ET_EXEC, ET_DYN... */
	char *interp; /* PT_INTERP, or NULL */
	char *soname; /* DT_SONAME, or NULL */
	char *rpath; /* DT_RPATH, or NULL */
	char *runpath; /* DT_RUNPATH, or NULL */
	char **needed; /* DT_NEEDED, in order */
	size_t nneeded;
	bool nodeflib; /* DF_1_NODEFLIB: no cache, no default dirs */
};

/*
 * Read the ELF header, program headers and dynamic section of @path.
 * Returns 0, -ENOEXEC when the file is not ELF at all, -EINVAL when it is
 * ELF but truncated or malformed (headers, segments or strings outside the
 * file), or another -errno from open().  Nothing is allocated on error.
 */
int elf_info_read(const char *path, struct elf_info *info);
void elf_info_free(struct elf_info *info);

/* One object of the closure. */
struct elf_obj {
	char *name; /* the DT_NEEDED name it was loaded for, or NULL */
	char *path; /* the path the loader opens */
	char *real; /* canonical path, the identity of the object */
	char *origin; /* what $ORIGIN expands to for its RPATH/RUNPATH */
	struct elf_info info;
	long parent; /* index of the object that needed it, -1 for a root */
	long root; /* index of the root whose class and machine it matches */
};

struct elfdeps {
	struct fileset *fs; /* where found files are added */
	struct elf_obj *obj;
	size_t nobj, cap;
	struct ldcache cache;
	int cache_state; /* 0 not opened yet, 1 open, -errno unusable */
	const char *cache_path; /* LDCACHE_PATH unless a test changes it */
	char err[2 * PATH_MAX]; /* why the last call failed, one line */
};

/* Start a closure that adds its files to @fs (which the caller owns). */
void elfdeps_init(struct elfdeps *d, struct fileset *fs);
void elfdeps_free(struct elfdeps *d);

/*
 * Add the ELF file @path (absolute) and everything it needs to the fileset.
 * Each object is processed once, however many times it is added or needed.
 * Returns 0, -ENOEXEC when @path is not ELF (nothing added: the caller may
 * treat it as a script or a plain file), or another -errno with d->err set:
 * "libfoo.so.1 (needed by /usr/bin/x): not found" and the like.
 */
int elfdeps_add(struct elfdeps *d, const char *path);

/*
 * Expand the dynamic string tokens of one RPATH/RUNPATH element: $ORIGIN,
 * $LIB, $PLATFORM and their ${...} forms (a bare token must end the element
 * or be followed by '/').  Anything else is copied as is.  Returns 0,
 * -EINVAL when @in uses $ORIGIN and @origin is NULL, or -ENAMETOOLONG when
 * the result does not fit @len bytes.
 */
int elfdeps_expand(const char *in, const char *origin, const char *lib,
		   const char *platform, char *out, size_t len);

/*
 * The directories of the loader for @machine/@ei_class, in search order,
 * NULL-terminated, and the values of $LIB and $PLATFORM for it.
 */
const char *const *elfdeps_default_dirs(int machine, int ei_class);
const char *elfdeps_lib(int machine, int ei_class);
const char *elfdeps_platform(int machine, int ei_class);

#endif
