// SPDX-License-Identifier: MIT
/*
 * What goes into an app image, gathered into one fileset.
 */
#include "imgcollect.h"

#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROG "minivmm-image"
/* The kernel follows at most this many #! interpreters (fs/exec.c). */
#define MAX_SCRIPT_DEPTH 4
/* binfmt_script reads the #! line from this many bytes (BINPRM_BUF_SIZE). */
#define SHEBANG_MAX 256

void collect_init(struct collect *c, const char *path_env)
{
	memset(c, 0, sizeof(*c));
	fileset_init(&c->fs);
	elfdeps_init(&c->deps, &c->fs);
	c->path_env = path_env;
}

void collect_free(struct collect *c)
{
	elfdeps_free(&c->deps);
	fileset_free(&c->fs);
}

/* "#!INTERP [ARG]" from the start of @path: 0, -ENOEXEC, or -errno. */
static int read_shebang(const char *path, char *interp, char *arg)
{
	char buf[SHEBANG_MAX + 1], *p, *end;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, SHEBANG_MAX);
	close(fd);
	if (n < 2 || buf[0] != '#' || buf[1] != '!')
		return -ENOEXEC;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	p = buf + 2 + strspn(buf + 2, " \t");
	end = p + strcspn(p, " \t");
	if (p == end)
		return -ENOEXEC;
	snprintf(interp, PATH_MAX, "%.*s", (int)(end - p), p);
	p = end + strspn(end, " \t");
	/* Like the kernel: the rest of the line is one argument. */
	for (end = p + strlen(p);
	     end > p && (end[-1] == ' ' || end[-1] == '\t');)
		*--end = '\0';
	snprintf(arg, PATH_MAX, "%s", p);
	return 0;
}

int collect_plain(struct collect *c, const char *path)
{
	int ret = fileset_add_path(&c->fs, path, NULL);

	if (ret)
		snprintf(c->err, sizeof(c->err), "%s: %s", path,
			 ret == -EINVAL ? "not a regular file, directory or "
					  "symlink"
					: strerror(-ret));
	return ret;
}

/*
 * Add @path: an ELF file with its closure, a script with its interpreter
 * (and, for "#!/usr/bin/env NAME", NAME from the image's PATH), anything
 * else as a plain file unless @must_exec.
 */
static int add_any(struct collect *c, const char *path, bool must_exec,
		   int depth)
{
	char interp[PATH_MAX], arg[PATH_MAX], found[PATH_MAX];
	const char *base;
	int ret;

	ret = elfdeps_add(&c->deps, path);
	if (ret != -ENOEXEC) {
		if (ret)
			snprintf(c->err, sizeof(c->err), "%s", c->deps.err);
		return ret;
	}
	ret = read_shebang(path, interp, arg);
	if (ret == -ENOEXEC && !must_exec)
		return collect_plain(c, path);
	if (ret) {
		snprintf(c->err, sizeof(c->err), "%s: %s", path,
			 ret == -ENOEXEC ? "not an ELF executable or a script"
					 : strerror(-ret));
		return ret;
	}
	ret = collect_plain(c, path);
	if (ret)
		return ret;
	if (depth >= MAX_SCRIPT_DEPTH || interp[0] != '/') {
		snprintf(c->err, sizeof(c->err), "%s: interpreter %s: %s", path,
			 interp,
			 interp[0] != '/' ? "not an absolute path"
					  : "too many levels of #!");
		return -ENOEXEC;
	}
	ret = add_any(c, interp, true, depth + 1);
	if (ret) {
		char why[sizeof(c->err)];

		memcpy(why, c->err, sizeof(why));
		/* snprintf() ends the string even when it has to cut it. */
		if (snprintf(c->err, sizeof(c->err), "%s: interpreter %s", path,
			     why) >= (int)sizeof(c->err))
			c->err[sizeof(c->err) - 2] = '.';
		return ret;
	}
	base = strrchr(interp, '/') + 1;
	if (strcmp(base, "env") || !arg[0] || arg[0] == '-' || strchr(arg, '/'))
		return 0;
	/* env looks NAME up in the app's PATH: look in the same places. */
	for (const char *p = c->path_env; *p;) {
		size_t n = strcspn(p, ":");

		if (n &&
		    snprintf(found, sizeof(found), "%.*s/%s", (int)n, p, arg) <
			(int)sizeof(found) &&
		    !access(found, X_OK))
			return add_any(c, found, true, depth + 1);
		p += n + (p[n] == ':');
	}
	snprintf(c->err, sizeof(c->err), "%s: %s (for #!%s): not found in %s",
		 path, arg, interp, c->path_env);
	return -ENOENT;
}

int collect_dir(struct collect *c, const char *dir)
{
	char path[PATH_MAX], cwd[PATH_MAX];
	char *const roots[] = { path, NULL };
	FTSENT *e;
	FTS *fts;
	int ret = 0;

	if (!getcwd(cwd, sizeof(cwd)) || path_normalise(cwd, dir, path)) {
		snprintf(c->err, sizeof(c->err), "%s: bad path", dir);
		return -EINVAL;
	}
	fts = fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR, NULL);
	while (fts && !ret && (e = fts_read(fts))) {
		switch (e->fts_info) {
		case FTS_D:
			ret = collect_plain(c, e->fts_path);
			break;
		case FTS_F:
			if (add_any(c, e->fts_path, false, 0)) {
				fprintf(stderr,
					PROG ": warning: %s; added "
					     "without its dependencies\n",
					c->err);
				ret = collect_plain(c, e->fts_path);
			}
			break;
		case FTS_SL:
		case FTS_SLNONE:
			if (collect_plain(c, e->fts_path))
				fprintf(stderr, PROG ": warning: %s; skipped\n",
					c->err);
			break;
		case FTS_DNR:
		case FTS_ERR:
		case FTS_NS:
			ret = -e->fts_errno;
			snprintf(c->err, sizeof(c->err), "%s: %s", e->fts_path,
				 strerror(e->fts_errno));
			break;
		case FTS_DP:
			break;
		default:
			fprintf(stderr,
				PROG ": warning: %s: not a file, "
				     "directory or symlink; skipped\n",
				e->fts_path);
		}
	}
	if (!fts) {
		ret = -errno;
		snprintf(c->err, sizeof(c->err), "%s: %s", path,
			 strerror(errno));
	} else {
		fts_close(fts);
	}
	return ret;
}

/*
 * A tmpfs mountpoint or the working directory (@d is normalised): the
 * host's directory when there is one, with the symlinks on the way.  Else
 * an empty directory, created below the canonical path of its nearest
 * existing ancestor, so that the image resolves @d through the same
 * symlinks the host would (a /var/run -> /run link, say).
 */
int collect_app_dir(struct collect *c, const char *d)
{
	char anc[PATH_MAX], real[PATH_MAX], full[2 * PATH_MAX];
	struct stat st;
	size_t len;
	int ret = 0;

	if (!stat(d, &st) && !S_ISDIR(st.st_mode)) {
		snprintf(c->err, sizeof(c->err), "%s: not a directory", d);
		return -ENOTDIR;
	}
	if (!stat(d, &st))
		return collect_plain(c, d);
	snprintf(anc, sizeof(anc), "%s", d);
	do {
		*strrchr(anc, '/') = '\0';
	} while (anc[0] && (stat(anc, &st) || !S_ISDIR(st.st_mode)));
	len = strlen(anc);
	if (len)
		ret = fileset_add_path(&c->fs, anc, real);
	else
		strcpy(real, "/");
	if (!ret && snprintf(full, sizeof(full), "%s%s",
			     strcmp(real, "/") ? real : "", d + len) >= PATH_MAX)
		ret = -ENAMETOOLONG;
	if (!ret)
		ret = fileset_add_raw(&c->fs, full, FS_DIR, NULL, 0755);
	if (ret)
		snprintf(c->err, sizeof(c->err), "%s: %s", d, strerror(-ret));
	return ret;
}

int collect_path(struct collect *c, const char *path, bool must_exec)
{
	return add_any(c, path, must_exec, 0);
}

static bool trace_skipped(const char *p)
{
	static const char *const skip[] = { "/proc", "/sys", "/dev", "/tmp",
					    "/run" };

	for (size_t i = 0; i < sizeof(skip) / sizeof(*skip); i++) {
		size_t l = strlen(skip[i]);

		if (!strncmp(p, skip[i], l) && (!p[l] || p[l] == '/'))
			return true;
	}
	return false;
}

int collect_traced(struct collect *c, const struct fileset *traced, FILE *log,
		   size_t *added)
{
	int ret = 0;

	*added = 0;
	for (size_t i = 0; i < traced->n && !ret; i++) {
		const char *p = traced->v[i].path;
		size_t before = c->fs.n;
		struct stat st;

		/* Only what is still a regular file: not directories the
		 * program listed, nor files it created and removed. */
		if (trace_skipped(p) || stat(p, &st) || !S_ISREG(st.st_mode))
			continue;
		if (add_any(c, p, false, 0)) {
			fprintf(stderr,
				PROG ": warning: trace: %s; added "
				     "without its dependencies\n",
				c->err);
			ret = collect_plain(c, p);
		}
		if (c->fs.n > before) {
			fprintf(log, "trace: + %s\n", p);
			*added += c->fs.n - before;
		}
	}
	return ret;
}
