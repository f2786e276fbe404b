// SPDX-License-Identifier: MIT
/*
 * `minivmm-image inspect`: what is in an app image and where it came from.
 * The image is unpacked with `fsck.erofs --extract` (no root, no mount),
 * which also checks every file's encoding on the way.
 */
#include "imginspect.h"

#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <minivmm/guest_abi.h>

#include "imgstage.h"
#include "manifest.h"
#include "pkgdb.h"

/* A manifest is a few hundred bytes; refuse to slurp anything silly. */
#define MANIFEST_MAX (1 << 20)

struct img_file {
	char *path; /* absolute, as inside the image */
	char *target; /* symlink text, or NULL */
	uint64_t size;
};

struct img_list {
	struct img_file *v;
	size_t n, cap;
};

static void list_free(struct img_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].path);
		free(l->v[i].target);
	}
	free(l->v);
}

static int cmp_file(const void *a, const void *b)
{
	const struct img_file *x = a, *y = b;

	return strcmp(x->path, y->path);
}

/* Every regular file and symlink under @root, paths relative to it. */
static int list_tree(const char *root, struct img_list *l)
{
	char *const roots[] = { (char *)root, NULL };
	size_t rlen = strlen(root);
	FTSENT *e;
	FTS *fts;
	int ret = 0;

	fts = fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR, NULL);
	if (!fts)
		return -errno;
	while (!ret && (e = fts_read(fts))) {
		struct img_file *f;
		char link[PATH_MAX];
		ssize_t n = 0;

		if (e->fts_info == FTS_DNR || e->fts_info == FTS_ERR ||
		    e->fts_info == FTS_NS) {
			ret = -(e->fts_errno ? e->fts_errno : EIO);
			break;
		}
		if (e->fts_info != FTS_F && e->fts_info != FTS_SL &&
		    e->fts_info != FTS_SLNONE)
			continue;
		if (e->fts_info != FTS_F) {
			n = readlink(e->fts_accpath, link, sizeof(link) - 1);
			if (n < 0) {
				ret = -errno;
				break;
			}
			link[n] = '\0';
		}
		if (l->n == l->cap) {
			size_t cap = l->cap ? 2 * l->cap : 64;

			f = realloc(l->v, cap * sizeof(*f));
			if (!f) {
				ret = -ENOMEM;
				break;
			}
			l->v = f;
			l->cap = cap;
		}
		f = &l->v[l->n];
		f->path = strdup(e->fts_path + rlen);
		f->target = e->fts_info != FTS_F ? strdup(link) : NULL;
		f->size = e->fts_info == FTS_F ? (uint64_t)e->fts_statp->st_size
					       : (uint64_t)n;
		if (!f->path || (e->fts_info != FTS_F && !f->target)) {
			free(f->path);
			free(f->target);
			ret = -ENOMEM;
			break;
		}
		l->n++;
	}
	fts_close(fts);
	if (!ret && l->n)
		qsort(l->v, l->n, sizeof(*l->v), cmp_file);
	return ret;
}

static void print_files(const struct img_list *l, const struct pkgdb *db,
			FILE *out)
{
	uint64_t total = 0;
	size_t nlinks = 0;

	fprintf(out, "%10s  %-40s  %s\n", "SIZE", "PACKAGE", "PATH");
	for (size_t i = 0; i < l->n; i++) {
		const struct img_file *f = &l->v[i];
		const struct pkgdb_pkg *p =
		    db ? pkgdb_lookup(db, f->path) : NULL;
		char pkg[128];

		if (!strcmp(f->path, MINIVMM_MANIFEST_PATH))
			snprintf(pkg, sizeof(pkg), "(manifest)");
		else if (p)
			snprintf(pkg, sizeof(pkg), "%s %s", p->name,
				 p->version ? p->version : "(version unknown)");
		else
			snprintf(pkg, sizeof(pkg), "(no package)");
		fprintf(out, "%10llu  %-40s  %s%s%s\n",
			(unsigned long long)f->size, pkg, f->path,
			f->target ? " -> " : "", f->target ? f->target : "");
		total += f->size;
		nlinks += f->target != NULL;
	}
	fprintf(out,
		"total: %llu bytes in %zu files (%zu regular, %zu symlinks)\n",
		(unsigned long long)total, l->n, l->n - nlinks, nlinks);
}

static int print_manifest(const char *root, FILE *out, char *err, size_t errlen)
{
	char path[PATH_MAX];
	const char *why;
	struct stat st;
	void *blob;
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s%s", root, MINIVMM_MANIFEST_PATH);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", MINIVMM_MANIFEST_PATH,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > MANIFEST_MAX) {
		close(fd);
		snprintf(err, errlen, "%s: not a manifest (too large)",
			 MINIVMM_MANIFEST_PATH);
		return -EINVAL;
	}
	blob = malloc(st.st_size ? st.st_size : 1);
	if (!blob) {
		close(fd);
		return -ENOMEM;
	}
	if (read(fd, blob, st.st_size) != st.st_size)
		ret = -EIO;
	close(fd);
	if (!ret) {
		fprintf(out, "manifest %s:\n", MINIVMM_MANIFEST_PATH);
		ret = manifest_print(blob, st.st_size, out, &why);
		if (ret)
			snprintf(err, errlen, "%s: %s", MINIVMM_MANIFEST_PATH,
				 why);
	} else {
		snprintf(err, errlen, "%s: short read", MINIVMM_MANIFEST_PATH);
	}
	free(blob);
	return ret;
}

/* Unpack @img into the new directory @dir with fsck.erofs. */
static int extract(const char *img, const char *dir, char *err, size_t errlen)
{
	char fsck[PATH_MAX], opt[PATH_MAX + 16], help[8192], out[8192];
	char *help_argv[] = { fsck, "--help", NULL };
	char *argv[] = { fsck, opt, (char *)img, NULL };
	int st;

	if (find_in_path("fsck.erofs", fsck)) {
		snprintf(err, errlen,
			 "fsck.erofs: not found in PATH (install erofs-utils)");
		return -ENOENT;
	}
	/* --extract came with erofs-utils 1.5. */
	if (run_wait(help_argv, 1, help, sizeof(help)) < 0 ||
	    !strstr(help, "--extract")) {
		snprintf(err, errlen,
			 "%s: no --extract (erofs-utils >= 1.5 "
			 "needed)",
			 fsck);
		return -ENOTSUP;
	}
	snprintf(opt, sizeof(opt), "--extract=%s", dir);
	st = run_wait(argv, 1, out, sizeof(out));
	if (st) {
		snprintf(err, errlen,
			 "%s: not a valid erofs image (fsck.erofs: "
			 "%s)",
			 img, st < 0 ? strerror(-st) : tool_message(out));
		return -EINVAL;
	}
	return 0;
}

int image_inspect(const char *img, FILE *out, char *err, size_t errlen)
{
	struct img_list list = { 0 };
	char dir[PATH_MAX];
	const char *tmp = getenv("TMPDIR");
	struct pkgdb db;
	struct stat st;
	bool have_db;
	int ret;

	if (stat(img, &st)) {
		snprintf(err, errlen, "%s: %s", img, strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		snprintf(err, errlen, "%s: not a file or block device", img);
		return -EINVAL;
	}
	snprintf(dir, sizeof(dir), "%s/minivmm-inspect.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -errno;
	}
	ret = extract(img, dir, err, errlen);
	if (!ret) {
		ret = list_tree(dir, &list);
		if (ret)
			snprintf(err, errlen, "reading %s: %s", dir,
				 strerror(-ret));
	}
	if (!ret) {
		have_db = !pkgdb_open(&db, PKGDB_ADMINDIR);
		fprintf(out, "%s: %llu bytes, erofs\n", img,
			(unsigned long long)st.st_size);
		print_files(&list, have_db ? &db : NULL, out);
		if (have_db)
			pkgdb_close(&db);
		ret = print_manifest(dir, out, err, errlen);
	}
	list_free(&list);
	stage_remove(dir);
	return ret;
}
