// SPDX-License-Identifier: MIT
/*
 * Staging tree, mkfs.erofs, padding.  The staging tree is built with
 * *at() calls from a directory fd, one component at a time with
 * O_NOFOLLOW: a symlink staged for the image (which may well point at an
 * absolute host path such as /lib/x86_64-linux-gnu/...) is never followed
 * while the tree is being written.
 */
#include "imgstage.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define COPY_CHUNK (1 << 20)

/*
 * The directory that holds @path under @rootfd, its missing parents created
 * 0755; *@leaf points at the last component of @path.  Returns an fd or
 * -errno (-ELOOP/-ENOTDIR: a parent is a symlink or a file in the tree).
 */
static int open_parent(int rootfd, const char *path, const char **leaf)
{
	char comp[NAME_MAX + 1];
	int fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	for (const char *p = path;;) {
		const char *next;
		size_t n;
		int nfd;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		next = p + n + strspn(p + n, "/");
		if (!*next) {
			*leaf = p;
			if (n && n <= NAME_MAX)
				return fd;
			close(fd);
			return n ? -ENAMETOOLONG : -EINVAL;
		}
		if (n > NAME_MAX) {
			close(fd);
			return -ENAMETOOLONG;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		if (mkdirat(fd, comp, 0755) && errno != EEXIST) {
			nfd = -errno;
		} else {
			nfd = openat(fd, comp,
				     O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					 O_CLOEXEC);
			if (nfd < 0)
				nfd = -errno;
		}
		close(fd);
		if (nfd < 0)
			return nfd;
		fd = nfd;
		p = next;
	}
}

static int copy_fd(int in, int out)
{
	char *buf = NULL;
	ssize_t n;
	int ret = 0;

	/* In-kernel copy first (reflinks on filesystems that have them). */
	while ((n = copy_file_range(in, NULL, out, NULL, COPY_CHUNK, 0)) > 0)
		;
	if (!n)
		return 0;
	if (errno != EXDEV && errno != EINVAL && errno != ENOSYS &&
	    errno != EOPNOTSUPP)
		return -errno;
	buf = malloc(COPY_CHUNK);
	if (!buf)
		return -ENOMEM;
	while ((n = read(in, buf, COPY_CHUNK)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			break;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, n - off);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				ret = -errno;
				goto out;
			}
			off += w;
		}
	}
out:
	free(buf);
	return ret;
}

static int stage_file(int dfd, const char *leaf, const struct fs_entry *e)
{
	int in, out, ret;

	in = open(e->path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out =
	    openat(dfd, leaf,
		   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		ret = -errno;
		close(in);
		return ret;
	}
	ret = copy_fd(in, out);
	if (!ret && fchmod(out, e->mode))
		ret = -errno;
	close(in);
	if (close(out) && !ret)
		ret = -errno;
	return ret;
}

static int stage_entry(int rootfd, const struct fs_entry *e)
{
	const char *leaf;
	struct stat st;
	int dfd, ret = 0;

	dfd = open_parent(rootfd, e->path, &leaf);
	if (dfd < 0)
		return dfd;
	switch (e->type) {
	case FS_DIR:
		/* Owner-writable while we fill it; the mode is set last. */
		if (mkdirat(dfd, leaf, 0700) &&
		    (errno != EEXIST ||
		     fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) ||
		     !S_ISDIR(st.st_mode)))
			ret = errno == EEXIST ? -ENOTDIR : -errno;
		break;
	case FS_SYMLINK:
		if (symlinkat(e->target, dfd, leaf))
			ret = -errno;
		break;
	case FS_FILE:
		ret = stage_file(dfd, leaf, e);
		break;
	}
	close(dfd);
	return ret;
}

int stage_tree(const struct fileset *fs, const char *root, char *err,
	       size_t errlen)
{
	int rootfd, ret = 0;
	size_t i;

	rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		snprintf(err, errlen, "%s: %s", root, strerror(errno));
		return -errno;
	}
	for (i = 0; i < fs->n && !ret; i++)
		ret = stage_entry(rootfd, &fs->v[i]);
	if (ret) {
		snprintf(err, errlen, "staging %s: %s", fs->v[i - 1].path,
			 strerror(-ret));
		goto out;
	}
	/* Directory modes, children first so a read-only parent is fine. */
	for (i = fs->n; i-- > 0 && !ret;) {
		const struct fs_entry *e = &fs->v[i];
		const char *leaf;
		int dfd;

		if (e->type != FS_DIR)
			continue;
		dfd = open_parent(rootfd, e->path, &leaf);
		if (dfd < 0) {
			ret = dfd;
		} else {
			if (fchmodat(dfd, leaf, e->mode, 0))
				ret = -errno;
			close(dfd);
		}
		if (ret)
			snprintf(err, errlen, "staging %s: %s", e->path,
				 strerror(-ret));
	}
out:
	close(rootfd);
	return ret;
}

int stage_write(const char *root, const char *path, const void *data,
		size_t len, char *err, size_t errlen)
{
	const char *leaf;
	int rootfd, dfd, fd, ret = 0;

	rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		ret = -errno;
		goto msg;
	}
	dfd = open_parent(rootfd, path, &leaf);
	close(rootfd);
	if (dfd < 0) {
		ret = dfd;
		goto msg;
	}
	fd =
	    openat(dfd, leaf,
		   O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		ret = -errno;
	close(dfd);
	if (ret)
		goto msg;
	if (write(fd, data, len) != (ssize_t)len)
		ret = errno ? -errno : -EIO;
	if (close(fd) && !ret)
		ret = -errno;
msg:
	if (ret)
		snprintf(err, errlen, "staging %s: %s", path, strerror(-ret));
	return ret;
}

/* nftw() callbacks: make every directory enterable, then remove all. */
static int unlock_one(const char *path, const struct stat *st, int type,
		      struct FTW *ftw)
{
	(void)ftw;
	if (type == FTW_D || type == FTW_DNR)
		chmod(path, (st->st_mode & 07777) | 0700);
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int type,
		      struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path) && errno != ENOENT ? -1 : 0;
}

int stage_remove(const char *dir)
{
	nftw(dir, unlock_one, 16, FTW_PHYS | FTW_MOUNT);
	if (nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT))
		return errno ? -errno : -EIO;
	return 0;
}

int find_in_path(const char *name, char *out)
{
	const char *path = getenv("PATH");

	if (!path || !*path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
		       "/sbin:/bin";
	for (const char *p = path; *p;) {
		size_t n = strcspn(p, ":");

		if (n &&
		    snprintf(out, PATH_MAX, "%.*s/%s", (int)n, p, name) <
			PATH_MAX &&
		    !access(out, X_OK))
			return 0;
		p += n;
		if (*p)
			p++;
	}
	return -ENOENT;
}

int run_wait(char *const argv[], int quiet, char *cap, size_t caplen)
{
	int pfd[2] = { -1, -1 }, st;
	size_t got = 0;
	pid_t pid;

	if (cap && pipe2(pfd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		st = -errno;
		if (cap) {
			close(pfd[0]);
			close(pfd[1]);
		}
		return st;
	}
	if (!pid) {
		int fd = cap ? pfd[1] : open("/dev/null", O_WRONLY);
		sigset_t none;

		/* The builder blocks SIGINT and friends; the tools it runs
		 * must not inherit that. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);

		if (cap || quiet) {
			if (fd < 0 || dup2(fd, 1) < 0)
				_exit(127);
			if (cap && dup2(fd, 2) < 0)
				_exit(127);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	if (cap) {
		char sink[4096];
		ssize_t n;

		close(pfd[1]);
		for (;;) {
			char *to = got + 1 < caplen ? cap + got : sink;
			size_t room =
			    got + 1 < caplen ? caplen - 1 - got : sizeof(sink);

			n = read(pfd[0], to, room);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			if (to != sink)
				got += n;
		}
		close(pfd[0]);
		cap[got] = '\0';
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

const char *erofs_compressor(const char *mkfs)
{
	char *argv[] = { (char *)mkfs, "--help", NULL };
	char out[8192];
	const char *line;

	/* "Available compressors are: lz4hc, lz4" (erofs-utils 1.5). */
	if (run_wait(argv, 1, out, sizeof(out)) < 0)
		return NULL;
	line = strstr(out, "compressors are:");
	if (!line)
		return NULL;
	line += strlen("compressors are:");
	out[line - out + strcspn(line, "\n")] = '\0';
	if (strstr(line, "lz4hc"))
		return "lz4hc";
	if (strstr(line, "lz4"))
		return "lz4";
	return NULL;
}

const char *tool_message(char *out)
{
	char *end = out + strlen(out), *p;

	/* The last line, without erofs-utils' "\033[K" erase codes and its
	 * "<E> " level prefix. */
	while (end > out &&
	       (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		*--end = '\0';
	for (p = end; p > out && p[-1] != '\n' && p[-1] != '\r'; p--)
		;
	while ((end = strstr(p, "\033[K")))
		memmove(end, end + 3, strlen(end + 3) + 1);
	if (!strncmp(p, "<E> ", 4))
		p += 4;
	return *p ? p : "no message";
}

int erofs_mkfs(const char *mkfs, const char *compressor, const char *img,
	       const char *root, char *err, size_t errlen)
{
	char zopt[32], out[8192];
	char *argv[8];
	int n = 0, st;

	argv[n++] = (char *)mkfs;
	if (compressor) {
		snprintf(zopt, sizeof(zopt), "-z%s", compressor);
		argv[n++] = zopt;
	}
	/* The guest sees root-owned files whoever built the image. */
	argv[n++] = "--all-root";
	argv[n++] = (char *)img;
	argv[n++] = (char *)root;
	argv[n] = NULL;
	/* Its progress lines are noise; its last line says why it failed. */
	st = run_wait(argv, 1, out, sizeof(out));
	if (st < 0)
		snprintf(err, errlen, "%s: %s", mkfs, strerror(-st));
	else if (st)
		snprintf(err, errlen, "mkfs.erofs %s: %s (status %d)", img,
			 tool_message(out), st);
	return st < 0 ? st : st ? -EIO : 0;
}

int image_pad(const char *img, uint64_t *size)
{
	struct stat st;
	int fd, ret = 0;

	fd = open(img, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		ret = -errno;
	} else {
		uint64_t sz = st.st_size;

		sz = (sz + IMAGE_SECTOR - 1) / IMAGE_SECTOR * IMAGE_SECTOR;
		if (sz != (uint64_t)st.st_size && ftruncate(fd, sz))
			ret = -errno;
		*size = sz;
	}
	if (close(fd) && !ret)
		ret = -errno;
	return ret;
}
