// SPDX-License-Identifier: MIT
/*
 * minivmm-image: build an app image (an erofs filesystem holding one program,
 * the files it needs and a manifest saying how to run it) and inspect one.
 * See docs/app-images.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <minivmm/guest_abi.h>

#include "elfdeps.h"
#include "fileset.h"
#include "imgcollect.h"
#include "imginspect.h"
#include "imgstage.h"
#include "imgtrace.h"
#include "manifest.h"

#define PROG "minivmm-image"
#define TRACE_TIMEOUT_S 30
#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"

struct build {
	const char *out;
	char **add, **add_dir, **writable, **env;
	size_t nadd, nadd_dir, nwritable, nenv;
	const char *workdir;
	unsigned int uid, gid;
	bool trace;
	const char *path_env; /* the app's PATH */
	char **argv; /* program and arguments; argv[0] is b->prog */
	char prog[PATH_MAX];
	char mkfs[PATH_MAX];
	bool mkfs_started; /* the output file is no longer what it was */
	sigset_t stop; /* SIGINT, SIGTERM, SIGHUP: blocked, checked often */
	struct collect col; /* the files, and col.err: why a step failed */
};

/* The usage text below says "30 s". */
_Static_assert(TRACE_TIMEOUT_S == 30, "update usage_text");

static const char usage_text[] =
	"usage: " PROG " build -o IMAGE [OPTION]... -- PROGRAM [ARG]...\n"
	"       " PROG " inspect IMAGE\n"
	"\n"
	"build writes an erofs image: PROGRAM, its ELF closure (PT_INTERP,\n"
	"DT_NEEDED found as ld.so would) and a manifest saying how to run it.\n"
	"  -o, --output IMAGE  the image (padded to 512-byte sectors)\n"
	"  --add PATH          also this file (with its closure if ELF)\n"
	"  --add-dir DIR       also everything under DIR\n"
	"  --trace             run PROGRAM ARGS once here under ptrace\n"
	"                      (stdin /dev/null, the app's environment,\n"
	"                      30 s at most) and add the files it opened\n"
	"                      or stat()ed and the programs it ran, except\n"
	"                      under /proc /sys /dev /tmp /run\n"
	"  --env K=V           the app's environment (after its PATH)\n"
	"  --workdir DIR       its working directory (default /)\n"
	"  --user UID:GID      who it runs as (default 0:0)\n"
	"  --writable DIR      a tmpfs over DIR in the guest (default /tmp)\n"
	"\n"
	"inspect lists each file with its size and Debian package, then\n"
	"the manifest.  Both need erofs-utils (mkfs.erofs, fsck.erofs).\n";

static int fail(const char *what, const char *why)
{
	fprintf(stderr, PROG ": %s: %s\n", what, why);
	return 1;
}

static bool interrupted(struct build *b)
{
	sigset_t pend;

	if (sigpending(&pend))
		return false;
	for (int s = 1; s < NSIG; s++)
		if (sigismember(&b->stop, s) == 1 &&
		    sigismember(&pend, s) == 1) {
			snprintf(b->col.err, sizeof(b->col.err),
				 "interrupted by %s", strsignal(s));
			return true;
		}
	return false;
}

static int do_trace(struct build *b)
{
	struct trace_result res;
	size_t added;
	struct stat st;
	int ret;

	printf("trace: running %s (at most %d s)\n", b->prog, TRACE_TIMEOUT_S);
	fflush(stdout);
	ret = trace_run(b->argv, b->env,
			b->workdir && !stat(b->workdir, &st) ? b->workdir : "/",
			TRACE_TIMEOUT_S, &res, b->col.err, sizeof(b->col.err));
	if (ret)
		return ret;
	ret = collect_traced(&b->col, &res.paths, stdout, &added);
	if (res.interrupted)
		printf("trace: interrupted; the program was killed\n");
	else if (res.timed_out)
		printf("trace: timed out after %d s; the program was killed\n",
		       TRACE_TIMEOUT_S);
	else if (WIFEXITED(res.status))
		printf("trace: exit status %d\n", WEXITSTATUS(res.status));
	else
		printf("trace: killed by %s\n",
		       strsignal(WTERMSIG(res.status)));
	printf("trace: %lu opens, %lu stats, %lu execs; added %zu files\n",
	       res.nopen, res.nstat, res.nexec, added);
	trace_result_free(&res);
	return ret;
}

/* A tmpfs over a --writable directory hides what the image has there. */
static void warn_hidden(const struct build *b, char *const *w)
{
	for (size_t i = 0; w[i]; i++) {
		size_t l = strlen(w[i]), n = 0;

		for (size_t k = 0; k < b->col.fs.n; k++) {
			const char *p = b->col.fs.v[k].path;

			n += !strncmp(p, w[i], l) && p[l] == '/' &&
			     b->col.fs.v[k].type != FS_DIR;
		}
		if (n)
			fprintf(stderr,
				PROG ": warning: %zu file(s) under %s, "
				     "which the guest covers with a tmpfs "
				     "(--writable)\n",
				n, w[i]);
	}
}

/* Directories the guest needs whatever the app: mountpoints for init. */
static int add_skeleton(struct build *b)
{
	static const struct {
		const char *path;
		mode_t mode;
	} dirs[] = { { "/proc", 0555 },
		     { "/sys", 0555 },
		     { "/dev", 0755 },
		     { "/tmp", 01777 },
		     { "/.minivmm", 0755 } };
	char *const def_writable[] = { "/tmp", NULL };
	char *const *w = b->nwritable ? b->writable : def_writable;
	int ret = 0;

	for (size_t i = 0; !ret && i < sizeof(dirs) / sizeof(*dirs); i++) {
		ret = fileset_add_raw(&b->col.fs, dirs[i].path, FS_DIR, NULL,
				      dirs[i].mode);
		if (ret)
			snprintf(b->col.err, sizeof(b->col.err), "%s: %s",
				 dirs[i].path, strerror(-ret));
	}
	warn_hidden(b, w);
	for (size_t i = 0; !ret && w[i]; i++)
		ret = collect_app_dir(&b->col, w[i]);
	if (!ret && b->workdir)
		ret = collect_app_dir(&b->col, b->workdir);
	return ret;
}

static int stage_and_mkfs(struct build *b, const char *stage)
{
	struct manifest m = { .argv = b->argv,
			      .env = b->env,
			      .cwd = b->workdir,
			      .uid = b->uid,
			      .gid = b->gid,
			      .writable = b->writable };
	size_t nfiles = fileset_count(&b->col.fs, FS_FILE) +
			fileset_count(&b->col.fs, FS_SYMLINK) + 1;
	const char *z;
	uint64_t size;
	size_t len;
	void *blob;
	int ret;

	fileset_sort(&b->col.fs);
	printf("staging: %zu files, %zu directories in %s\n", nfiles,
	       fileset_count(&b->col.fs, FS_DIR), stage);
	ret = stage_tree(&b->col.fs, stage, b->col.err, sizeof(b->col.err));
	if (ret)
		return ret;
	ret = manifest_build(&m, &blob, &len);
	if (ret) {
		snprintf(b->col.err, sizeof(b->col.err), "manifest: %s",
			 strerror(-ret));
		return ret;
	}
	ret = stage_write(stage, MINIVMM_MANIFEST_PATH, blob, len, b->col.err,
			  sizeof(b->col.err));
	free(blob);
	if (ret || interrupted(b))
		return ret ?: -EINTR;
	z = erofs_compressor(b->mkfs);
	printf("mkfs.erofs: %s\n",
	       z ? z : "uncompressed (this mkfs.erofs has no lz4)");
	fflush(stdout);
	b->mkfs_started = true;
	ret = erofs_mkfs(b->mkfs, z, b->out, stage, b->col.err,
			 sizeof(b->col.err));
	if (ret || interrupted(b))
		return ret ?: -EINTR;
	ret = image_pad(b->out, &size);
	if (ret) {
		snprintf(b->col.err, sizeof(b->col.err), "%s: %s", b->out,
			 strerror(-ret));
		return ret;
	}
	printf("wrote %s: %llu bytes, %zu files\n", b->out,
	       (unsigned long long)size, nfiles);
	return 0;
}

static int build_files(struct build *b)
{
	int ret;

	ret = collect_path(&b->col, b->prog, true);
	if (ret)
		return ret;
	printf("closure: %zu files\n",
	       fileset_count(&b->col.fs, FS_FILE) +
		   fileset_count(&b->col.fs, FS_SYMLINK));
	for (size_t i = 0; i < b->nadd; i++) {
		char path[PATH_MAX], cwd[PATH_MAX];
		struct stat st;

		if (!getcwd(cwd, sizeof(cwd)) ||
		    path_normalise(cwd, b->add[i], path)) {
			snprintf(b->col.err, sizeof(b->col.err), "%s: bad path",
				 b->add[i]);
			return -EINVAL;
		}
		if (stat(path, &st)) {
			snprintf(b->col.err, sizeof(b->col.err), "%s: %s", path,
				 strerror(errno));
			return -ENOENT;
		}
		if (S_ISDIR(st.st_mode)) {
			snprintf(b->col.err, sizeof(b->col.err),
				 "%s: is a directory (use --add-dir)", path);
			return -EISDIR;
		}
		ret = collect_path(&b->col, path, false);
		if (ret)
			return ret;
		printf("add %s\n", path);
	}
	for (size_t i = 0; i < b->nadd_dir && !ret; i++) {
		size_t before = b->col.fs.n;

		ret = collect_dir(&b->col, b->add_dir[i]);
		if (!ret)
			printf("add-dir %s: %zu new entries\n", b->add_dir[i],
			       b->col.fs.n - before);
	}
	if (!ret && b->trace && !interrupted(b))
		ret = do_trace(b);
	if (!ret && interrupted(b))
		ret = -EINTR;
	return ret ?: add_skeleton(b);
}

static int build(struct build *b)
{
	char stage[PATH_MAX];
	const char *tmp = getenv("TMPDIR");
	bool existed = !access(b->out, F_OK);
	sigset_t old;
	int fd, ret;

	if (find_in_path("mkfs.erofs", b->mkfs))
		return fail("mkfs.erofs",
			    "not found in PATH (install erofs-utils)");
	/* Find out now, not after the work, that we cannot write it. */
	fd = open(b->out, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail(b->out, strerror(errno));
	close(fd);
	sigemptyset(&b->stop);
	sigaddset(&b->stop, SIGINT);
	sigaddset(&b->stop, SIGTERM);
	sigaddset(&b->stop, SIGHUP);
	sigprocmask(SIG_BLOCK, &b->stop, &old);
	collect_init(&b->col, b->path_env);
	ret = build_files(b);
	if (!ret) {
		snprintf(stage, sizeof(stage), "%s/minivmm-image.XXXXXX",
			 tmp && *tmp ? tmp : "/tmp");
		/*
		 * mkdtemp() makes the directory 0700, and it becomes the
		 * image's root: an app that drops privileges (nginx's
		 * workers run as www-data) could then open nothing.
		 */
		if (!mkdtemp(stage) || chmod(stage, 0755) < 0) {
			ret = -errno;
			snprintf(b->col.err, sizeof(b->col.err), "%s: %s",
				 stage, strerror(errno));
		} else {
			ret = stage_and_mkfs(b, stage);
			stage_remove(stage);
		}
	}
	if (ret) {
		/* Never leave a half-written image (nor an empty one). */
		if (!existed || b->mkfs_started)
			unlink(b->out);
		fprintf(stderr, PROG ": %s\n",
			b->col.err[0] ? b->col.err : strerror(-ret));
	}
	collect_free(&b->col);
	fflush(stdout);
	/* A stop signal that came meanwhile takes effect now, after cleanup. */
	sigprocmask(SIG_SETMASK, &old, NULL);
	return ret ? 1 : 0;
}

static int parse_user(const char *s, unsigned int *uid, unsigned int *gid)
{
	char *end;
	unsigned long u, g;

	errno = 0;
	u = strtoul(s, &end, 10);
	if (errno || end == s || *end != ':' || u > UINT32_MAX - 1)
		return -EINVAL;
	s = end + 1;
	g = strtoul(s, &end, 10);
	if (errno || end == s || *end || g > UINT32_MAX - 1)
		return -EINVAL;
	*uid = u;
	*gid = g;
	return 0;
}

/*
 * --writable and --workdir as the guest init wants them: normalised absolute
 * paths (copies in @buf); writable ones neither "/" nor one inside another,
 * since a tmpfs over the outer one would hide the inner one.  Returns 0, or
 * 1 after printing why not.
 */
static int check_dirs(struct build *b, char (*buf)[PATH_MAX])
{
	char why[PATH_MAX + 32];

	for (size_t i = 0; i <= b->nwritable; i++) {
		const char *d = i < b->nwritable ? b->writable[i] : b->workdir;

		if (!d)
			continue;
		if (path_normalise(NULL, d, buf[i]))
			return fail(d, "path too long");
		if (i == b->nwritable) {
			b->workdir = buf[i];
			continue;
		}
		if (!strcmp(buf[i], "/"))
			return fail(d, "a tmpfs over / would hide the image");
		b->writable[i] = buf[i];
	}
	for (size_t i = 0; i < b->nwritable; i++)
		for (size_t j = 0; j < b->nwritable; j++) {
			const char *x = b->writable[i], *y = b->writable[j];
			size_t l = strlen(x);

			if (i == j || strncmp(x, y, l) || (y[l] && y[l] != '/'))
				continue;
			snprintf(why, sizeof(why), "%s --writable %s",
				 y[l] ? "inside" : "already", x);
			return fail(y, why);
		}
	return 0;
}

static int cmd_build(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "add", required_argument, NULL, 'a' },
		{ "add-dir", required_argument, NULL, 'd' },
		{ "trace", no_argument, NULL, 't' },
		{ "env", required_argument, NULL, 'e' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "user", required_argument, NULL, 'u' },
		{ "writable", required_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct build *b = calloc(1, sizeof(*b));
	char **lists = calloc(5 * ((size_t)argc + 2), sizeof(char *));
	char(*dirs)[PATH_MAX] = calloc((size_t)argc + 1, PATH_MAX);
	bool user_path = false;
	int c, ret = 1;

	if (!b || !lists || !dirs) {
		free(b);
		free(lists);
		free(dirs);
		return fail("build", strerror(ENOMEM));
	}
	b->add = lists;
	b->add_dir = b->add + argc + 2;
	b->writable = b->add_dir + argc + 2;
	b->env = b->writable + argc + 2;
	b->argv = b->env + argc + 2;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			b->out = optarg;
			break;
		case 'a':
			b->add[b->nadd++] = optarg;
			break;
		case 'd':
			b->add_dir[b->nadd_dir++] = optarg;
			break;
		case 't':
			b->trace = true;
			break;
		case 'e':
			if (!strchr(optarg, '=') || optarg[0] == '=') {
				fail(optarg, "--env wants KEY=VALUE");
				goto out;
			}
			user_path |= !strncmp(optarg, "PATH=", 5);
			b->env[1 + b->nenv++] = optarg;
			break;
		case 'w':
		case 'W':
			if (optarg[0] != '/') {
				fail(optarg, "not an absolute path");
				goto out;
			}
			if (c == 'w')
				b->workdir = optarg;
			else
				b->writable[b->nwritable++] = optarg;
			break;
		case 'u':
			if (parse_user(optarg, &b->uid, &b->gid)) {
				fail(optarg, "--user wants UID:GID (numbers)");
				goto out;
			}
			break;
		case 'h':
			fputs(usage_text, stdout);
			ret = 0;
			goto out;
		default:
			fail(argv[optind - 1],
			     "unknown option or missing argument (try --help)");
			goto out;
		}
	}
	if (!b->out) {
		fail("build", "no output image (-o IMAGE)");
		goto out;
	}
	if (optind >= argc) {
		fail("build", "no program to run (-- PROGRAM ARGS...)");
		goto out;
	}
	if (check_dirs(b, dirs))
		goto out;
	/* The environment: the default PATH unless --env sets one. */
	b->path_env = DEFAULT_PATH;
	if (!user_path)
		b->env[0] = "PATH=" DEFAULT_PATH;
	for (size_t i = 1; i <= b->nenv; i++)
		if (!strncmp(b->env[i], "PATH=", 5))
			b->path_env = b->env[i] + 5;
	if (user_path)
		b->env++;
	if (!strchr(argv[optind], '/')) {
		if (find_in_path(argv[optind], b->prog)) {
			fail(argv[optind], "not found in PATH");
			goto out;
		}
	} else {
		char cwd[PATH_MAX];

		if (!getcwd(cwd, sizeof(cwd)) ||
		    path_normalise(cwd, argv[optind], b->prog)) {
			fail(argv[optind], "bad path");
			goto out;
		}
	}
	if (access(b->prog, X_OK)) {
		fail(b->prog,
		     errno == EACCES ? "not executable" : strerror(errno));
		goto out;
	}
	b->argv[0] = b->prog;
	for (int i = optind + 1; i < argc; i++)
		b->argv[i - optind] = argv[i];
	ret = build(b);
out:
	free(dirs);
	free(lists);
	free(b);
	return ret;
}

int main(int argc, char **argv)
{
	char err[2 * PATH_MAX];

	if (argc < 2)
		return fail("no command", "try " PROG " --help");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "build"))
		return cmd_build(argc - 1, argv + 1);
	if (!strcmp(argv[1], "inspect")) {
		if (argc != 3)
			return fail("inspect", "usage: " PROG " inspect IMAGE");
		if (image_inspect(argv[2], stdout, err, sizeof(err)))
			return fail("inspect", err);
		return 0;
	}
	return fail(argv[1], "unknown command (try --help)");
}
