/* SPDX-License-Identifier: MIT */
/*
 * Which Debian package a file came from: dpkg's own database, read directly
 * (info/<package>.list for the files, status for the versions).
 */
#ifndef MINIVMM_TOOLS_PKGDB_H
#define MINIVMM_TOOLS_PKGDB_H

#include <stddef.h>

#define PKGDB_ADMINDIR "/var/lib/dpkg"

struct pkgdb_pkg {
	char *name; /* without ":arch" */
	char *arch; /* from the .list file name, or NULL */
	char *version; /* from the status file, or NULL */
};

struct pkgdb {
	char **bufs; /* the .list files as read; paths point into them */
	size_t nbufs, capbufs;
	struct pkgdb_pkg *pkgs;
	size_t npkgs, cappkgs;
	struct pkgdb_slot *slot; /* open addressing on the path */
	size_t nslots, nfiles;
};

/*
 * Read every info/ *.list under @admindir (normally PKGDB_ADMINDIR), once,
 * and the installed versions from its status file.  A missing status file
 * only means no versions.  Returns 0 or -errno (-ENOENT: no dpkg here).
 */
int pkgdb_open(struct pkgdb *db, const char *admindir);
void pkgdb_close(struct pkgdb *db);

/*
 * The package that installed @path, or NULL (also for paths several
 * packages list, i.e. shared directories).  Merged /usr is allowed for:
 * /usr/lib/x, /usr/bin/x... are also looked up as /lib/x, /bin/x..., and the
 * other way round, since dpkg lists the paths the .deb had.
 */
const struct pkgdb_pkg *pkgdb_lookup(const struct pkgdb *db, const char *path);

#endif
