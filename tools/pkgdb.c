// SPDX-License-Identifier: MIT
/*
 * dpkg database lookups: path -> package, package -> installed version.
 * Formats: deb-control(5) for the status file; info/<pkg>[:<arch>].list is
 * one absolute path per line.
 */
#include "pkgdb.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct pkgdb_slot {
	const char *path; /* NULL: empty */
	size_t pkg;
	bool shared; /* listed by more than one package */
};

/* The whole file, NUL-terminated, in a new buffer. */
static int read_all(const char *path, char **out)
{
	struct stat st;
	size_t len = 0;
	char *buf;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		ret = -errno;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* shrank while we read: take what there is */
		len += n;
	}
	buf[len] = '\0';
	*out = buf;
out:
	close(fd);
	return ret;
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

static struct pkgdb_slot *find_slot(struct pkgdb_slot *slot, size_t nslots,
				    const char *path)
{
	size_t i = hash_str(path) & (nslots - 1);

	while (slot[i].path && strcmp(slot[i].path, path))
		i = (i + 1) & (nslots - 1);
	return &slot[i];
}

static int insert(struct pkgdb *db, const char *path, size_t pkg)
{
	struct pkgdb_slot *s;

	if (2 * (db->nfiles + 1) > db->nslots) {
		size_t n = db->nslots ? 2 * db->nslots : 1 << 16;
		struct pkgdb_slot *ns = calloc(n, sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		for (size_t i = 0; i < db->nslots; i++)
			if (db->slot[i].path)
				*find_slot(ns, n, db->slot[i].path) =
				    db->slot[i];
		free(db->slot);
		db->slot = ns;
		db->nslots = n;
	}
	s = find_slot(db->slot, db->nslots, path);
	/* Directories are listed by every package with files in them: such
	 * a path belongs to none of them in particular. */
	if (s->path) {
		s->shared |= s->pkg != pkg;
		return 0;
	}
	s->path = path;
	s->pkg = pkg;
	db->nfiles++;
	return 0;
}

static void *grow(void *v, size_t *cap, size_t n, size_t size)
{
	size_t c = *cap ? 2 * *cap : 256;
	void *nv;

	if (n < *cap)
		return v;
	nv = realloc(v, c * size);
	if (nv)
		*cap = c;
	return nv;
}

/* Read one info/NAME.list: the package, then each path it lists. */
static int read_list(struct pkgdb *db, const char *dir, const char *fname)
{
	char path[PATH_MAX], *buf, *colon, *line, *next;
	size_t len = strlen(fname) - strlen(".list");
	struct pkgdb_pkg *p;
	char **b;
	int ret;

	if (snprintf(path, sizeof(path), "%s/%s", dir, fname) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	b = grow(db->bufs, &db->capbufs, db->nbufs, sizeof(*b));
	p = b ? grow(db->pkgs, &db->cappkgs, db->npkgs, sizeof(*p)) : NULL;
	if (b)
		db->bufs = b;
	if (!p)
		return -ENOMEM;
	db->pkgs = p;
	p = &db->pkgs[db->npkgs];
	memset(p, 0, sizeof(*p));
	p->name = strndup(fname, len);
	if (!p->name)
		return -ENOMEM;
	colon = strchr(p->name, ':');
	if (colon) {
		*colon = '\0';
		p->arch = colon + 1; /* points into name: freed with it */
	}
	db->npkgs++;
	ret = read_all(path, &buf);
	if (ret)
		return ret;
	db->bufs[db->nbufs++] = buf;
	for (line = buf; *line; line = next) {
		next = strchrnul(line, '\n');
		if (*next)
			*next++ = '\0';
		if (line[0] == '/') {
			ret = insert(db, line, db->npkgs - 1);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* One status stanza ended: give its version to the matching packages. */
static int set_version(struct pkgdb *db, const char *name, const char *arch,
		       const char *ver, bool installed)
{
	if (!name || !ver || !installed)
		return 0;
	for (size_t i = 0; i < db->npkgs; i++) {
		struct pkgdb_pkg *p = &db->pkgs[i];

		if (strcmp(p->name, name) || p->version)
			continue;
		if (p->arch && arch && strcmp(p->arch, arch))
			continue;
		p->version = strdup(ver);
		if (!p->version)
			return -ENOMEM;
	}
	return 0;
}

static int read_status(struct pkgdb *db, const char *admindir)
{
	char path[PATH_MAX], *buf, *line, *next, *eof;
	const char *name = NULL, *arch = NULL, *ver = NULL;
	bool installed = false;
	int ret;

	snprintf(path, sizeof(path), "%s/status", admindir);
	ret = read_all(path, &buf);
	if (ret)
		return ret == -ENOENT ? 0 : ret;
	eof = buf + strlen(buf);
	for (line = buf; !ret; line = next) {
		bool end = line == eof;

		next = strchrnul(line, '\n');
		if (*next)
			*next++ = '\0';
		if (end || !line[0]) {
			ret = set_version(db, name, arch, ver, installed);
			name = arch = ver = NULL;
			installed = false;
			if (end)
				break;
		} else if (!strncmp(line, "Package: ", 9)) {
			name = line + 9;
		} else if (!strncmp(line, "Architecture: ", 14)) {
			arch = line + 14;
		} else if (!strncmp(line, "Version: ", 9)) {
			ver = line + 9;
		} else if (!strncmp(line, "Status: ", 8)) {
			size_t l = strlen(line);

			installed =
			    l >= 10 && !strcmp(line + l - 10, " installed");
		}
	}
	free(buf);
	return ret;
}

int pkgdb_open(struct pkgdb *db, const char *admindir)
{
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int ret = 0;

	memset(db, 0, sizeof(*db));
	if (snprintf(dir, sizeof(dir), "%s/info", admindir) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	d = opendir(dir);
	if (!d)
		return -errno;
	while (!ret && (de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (l > 5 && !strcmp(de->d_name + l - 5, ".list"))
			ret = read_list(db, dir, de->d_name);
	}
	closedir(d);
	if (!ret)
		ret = read_status(db, admindir);
	if (ret)
		pkgdb_close(db);
	return ret;
}

void pkgdb_close(struct pkgdb *db)
{
	for (size_t i = 0; i < db->nbufs; i++)
		free(db->bufs[i]);
	for (size_t i = 0; i < db->npkgs; i++) {
		free(db->pkgs[i].name);
		free(db->pkgs[i].version);
	}
	free(db->bufs);
	free(db->pkgs);
	free(db->slot);
	memset(db, 0, sizeof(*db));
}

static const struct pkgdb_pkg *lookup1(const struct pkgdb *db, const char *path)
{
	const struct pkgdb_slot *s;

	if (!db->nslots)
		return NULL;
	s = find_slot(db->slot, db->nslots, path);
	return s->path && !s->shared ? &db->pkgs[s->pkg] : NULL;
}

const struct pkgdb_pkg *pkgdb_lookup(const struct pkgdb *db, const char *path)
{
	/* The top-level directories that Debian 12 merged into /usr. */
	static const char *const merged[] = {
		"/bin/", "/sbin/", "/lib/", "/lib32/", "/lib64/", "/libx32/"
	};
	const struct pkgdb_pkg *p = lookup1(db, path);
	char alt[PATH_MAX];

	for (size_t i = 0; !p && i < sizeof(merged) / sizeof(*merged); i++) {
		size_t l = strlen(merged[i]);

		if (!strncmp(path, "/usr", 4) &&
		    !strncmp(path + 4, merged[i], l))
			p = lookup1(db, path + 4);
		else if (!strncmp(path, merged[i], l) &&
			 snprintf(alt, sizeof(alt), "/usr%s", path) <
			     (int)sizeof(alt))
			p = lookup1(db, alt);
	}
	return p;
}
