// SPDX-License-Identifier: MIT
/*
 * A small ptrace(2) tracer that records successful opens, stats and execs.
 *
 * Every tracee is resumed with PTRACE_SYSCALL; PTRACE_GET_SYSCALL_INFO tells
 * a syscall-entry stop from a syscall-exit stop, so no per-thread toggling
 * can go wrong after an exec or a signal.  Paths are read from the tracee's
 * memory at the exit stop of a successful call (execve: at entry, since a
 * successful exec replaces that memory) and made absolute with the tracee's
 * cwd or the directory fd, both read from /proc.
 */
#include "imgtrace.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#define TRACE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define TRACE_ARCH AUDIT_ARCH_AARCH64
#else
#error "imgtrace: syscall numbers only known for x86_64 and aarch64"
#endif

/* Ptrace options: see ptrace(2), PTRACE_SETOPTIONS. */
#define TRACE_OPTS                                                             \
	(PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |    \
	 PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL)

/* A poll period, so that a lost SIGCHLD can only delay us. */
#define TRACE_POLL_NS 100000000L

struct tracee {
	pid_t tid;
	bool fresh; /* announced by a fork/clone event, first stop not seen */
	bool in_call; /* between the entry and exit stops of a syscall */
	uint64_t nr, args[6];
	char *exec_path; /* execve()'s path, from the entry stop */
};

struct tracer {
	struct tracee *t;
	size_t n, cap;
	struct trace_result *res;
	pid_t root;
	bool exec_seen;
};

static struct tracee *tracee_find(struct tracer *tr, pid_t tid)
{
	for (size_t i = 0; i < tr->n; i++)
		if (tr->t[i].tid == tid)
			return &tr->t[i];
	return NULL;
}

static struct tracee *tracee_add(struct tracer *tr, pid_t tid, bool fresh)
{
	struct tracee *t;

	if (tr->n == tr->cap) {
		size_t cap = tr->cap ? 2 * tr->cap : 16;

		t = realloc(tr->t, cap * sizeof(*t));
		if (!t)
			return NULL;
		tr->t = t;
		tr->cap = cap;
	}
	t = &tr->t[tr->n++];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->fresh = fresh;
	return t;
}

static void tracee_del(struct tracer *tr, pid_t tid)
{
	struct tracee *t = tracee_find(tr, tid);

	if (!t)
		return;
	free(t->exec_path);
	*t = tr->t[--tr->n];
}

/* A NUL-terminated string from the tracee, at most @len bytes with the NUL. */
static int peek_str(pid_t tid, uint64_t addr, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		/* Never cross a page: the next one may not be mapped. */
		size_t chunk = 4096 - ((addr + got) & 4095);
		struct iovec local, remote;
		ssize_t n;

		if (chunk > len - got)
			chunk = len - got;
		local = (struct iovec){ buf + got, chunk };
		remote =
		    (struct iovec){ (void *)(uintptr_t)(addr + got), chunk };
		n = process_vm_readv(tid, &local, 1, &remote, 1, 0);
		if (n <= 0) {
			/* Fall back to one word at a time. */
			long w;

			errno = 0;
			w = ptrace(PTRACE_PEEKDATA, tid,
				   (void *)(uintptr_t)(addr + got), NULL);
			if (errno)
				return -errno;
			n = len - got < sizeof(w) ? len - got : sizeof(w);
			memcpy(buf + got, &w, n);
		}
		if (memchr(buf + got, '\0', n))
			return 0;
		got += n;
	}
	return -ENAMETOOLONG;
}

/* @path as the tracee meant it: relative to its cwd or to @dirfd. */
static int resolve_at(pid_t tid, int dirfd, const char *path, char *out)
{
	char proc[64], base[PATH_MAX];
	ssize_t n;

	if (path[0] == '/')
		return path_normalise(NULL, path, out);
	if (dirfd == AT_FDCWD)
		snprintf(proc, sizeof(proc), "/proc/%d/cwd", tid);
	else
		snprintf(proc, sizeof(proc), "/proc/%d/fd/%d", tid, dirfd);
	n = readlink(proc, base, sizeof(base) - 1);
	if (n <= 0 || base[0] != '/')
		return -ENOENT; /* gone, or not a directory on a path */
	base[n] = '\0';
	return path_normalise(base, path, out);
}

static int record(struct tracer *tr, pid_t tid, int dirfd, uint64_t addr,
		  char **dup)
{
	char path[PATH_MAX], abs[PATH_MAX];

	if (peek_str(tid, addr, path, sizeof(path)) || !path[0] ||
	    resolve_at(tid, dirfd, path, abs))
		return 0; /* unreadable: nothing to record, not an error */
	if (dup) {
		*dup = strdup(abs);
		return *dup ? 0 : -ENOMEM;
	}
	return fileset_add_raw(&tr->res->paths, abs, FS_FILE, NULL, 0);
}

static int on_syscall(struct tracer *tr, struct tracee *t)
{
	struct __ptrace_syscall_info si = { 0 };

	if (ptrace(PTRACE_GET_SYSCALL_INFO, t->tid, sizeof(si), &si) <= 0 ||
	    si.arch != TRACE_ARCH)
		return 0;
	if (si.op == PTRACE_SYSCALL_INFO_ENTRY) {
		t->in_call = true;
		t->nr = si.entry.nr;
		memcpy(t->args, si.entry.args, sizeof(t->args));
		free(t->exec_path);
		t->exec_path = NULL;
		if (t->nr == SYS_execve)
			return record(tr, t->tid, AT_FDCWD, t->args[0],
				      &t->exec_path);
		if (t->nr == SYS_execveat)
			return record(tr, t->tid, (int)t->args[0], t->args[1],
				      &t->exec_path);
		return 0;
	}
	if (si.op != PTRACE_SYSCALL_INFO_EXIT || !t->in_call)
		return 0;
	t->in_call = false;
	if (si.exit.is_error || si.exit.rval < 0)
		return 0;
	switch (t->nr) {
#ifdef SYS_open
	case SYS_open:
		tr->res->nopen++;
		return record(tr, t->tid, AT_FDCWD, t->args[0], NULL);
#endif
	case SYS_openat:
	case SYS_openat2:
		tr->res->nopen++;
		return record(tr, t->tid, (int)t->args[0], t->args[1], NULL);
		/*
		 * Files a program only looks at count too: Python finds its
		 * standard library by stat()ing os.py, and an import checks
		 * that the .py exists before it opens the cached .pyc. (fstat()
		 * and AT_EMPTY_PATH calls have an empty path: record() skips
		 * them.)
		 */
#ifdef SYS_stat
	case SYS_stat:
	case SYS_lstat:
	case SYS_access:
		tr->res->nstat++;
		return record(tr, t->tid, AT_FDCWD, t->args[0], NULL);
#endif
	case SYS_newfstatat:
	case SYS_statx:
	case SYS_faccessat:
	case SYS_faccessat2:
		tr->res->nstat++;
		return record(tr, t->tid, (int)t->args[0], t->args[1], NULL);
	}
	return 0;
}

/* PTRACE_EVENT_EXEC: the exec succeeded, possibly in another thread. */
static int on_exec(struct tracer *tr, struct tracee *t)
{
	unsigned long former = 0;
	struct tracee *f;
	char *path;
	int ret;

	tr->exec_seen = true;
	ptrace(PTRACE_GETEVENTMSG, t->tid, NULL, &former);
	f = (pid_t)former != t->tid ? tracee_find(tr, (pid_t)former) : NULL;
	if (f) {
		/* A thread other than the leader ran execve(); it now has
		 * the leader's id and its own id is gone. */
		path = f->exec_path;
		f->exec_path = NULL;
		tracee_del(tr, (pid_t)former);
		t = tracee_find(tr, t->tid);
		free(t->exec_path);
		t->exec_path = path;
	}
	t->in_call = false;
	if (!t->exec_path)
		return 0;
	tr->res->nexec++;
	ret = fileset_add_raw(&tr->res->paths, t->exec_path, FS_FILE, NULL, 0);
	free(t->exec_path);
	t->exec_path = NULL;
	return ret;
}

/* One waitpid() report.  Returns 0 or -ENOMEM. */
static int on_stop(struct tracer *tr, pid_t tid, int st)
{
	int sig = WSTOPSIG(st), event = (unsigned int)st >> 16, ret = 0;
	struct tracee *t;
	siginfo_t si;

	if (WIFEXITED(st) || WIFSIGNALED(st)) {
		if (tid == tr->root)
			tr->res->status = st;
		tracee_del(tr, tid);
		return 0;
	}
	if (!WIFSTOPPED(st))
		return 0;
	t = tracee_find(tr, tid);
	if (!t) {
		/* A new child whose first stop came before its parent's
		 * fork event: that stop is the SIGSTOP of auto-attach. */
		if (!tracee_add(tr, tid, false))
			return -ENOMEM;
		if (sig == SIGSTOP)
			sig = 0;
	} else if (t->fresh && sig == SIGSTOP && !event) {
		t->fresh = false;
		sig = 0;
	} else if (sig == (SIGTRAP | 0x80)) {
		ret = on_syscall(tr, t);
		sig = 0;
	} else if (sig == SIGTRAP && event) {
		unsigned long child = 0;

		if (event == PTRACE_EVENT_EXEC) {
			ret = on_exec(tr, t);
		} else if (!ptrace(PTRACE_GETEVENTMSG, tid, NULL, &child) &&
			   !tracee_find(tr, (pid_t)child) &&
			   !tracee_add(tr, (pid_t)child, true)) {
			ret = -ENOMEM;
		}
		sig = 0;
	} else if (ptrace(PTRACE_GETSIGINFO, tid, NULL, &si) < 0) {
		sig = 0; /* group-stop: let it go on rather than stop */
	}
	/* Otherwise a signal for the program: deliver it.  ESRCH (it was
	 * killed meanwhile) is fine: its exit is reported next. */
	ptrace(PTRACE_SYSCALL, tid, NULL, (void *)(long)sig);
	return ret;
}

static void kill_all(struct tracer *tr)
{
	kill(-tr->root, SIGKILL);
	for (size_t i = 0; i < tr->n; i++)
		kill(tr->t[i].tid, SIGKILL); /* those that left the group */
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void child(char *const argv[], char *const envp[], const char *cwd)
{
	int fd = open("/dev/null", O_RDWR);
	sigset_t none;

	/* Whatever the builder blocks, the program starts with no mask. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setpgid(0, 0);
	if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(127);
	if (cwd && chdir(cwd))
		_exit(127);
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
		_exit(127);
	raise(SIGSTOP); /* so the tracer can set its options first */
	execve(argv[0], argv, envp);
	_exit(127);
}

/*
 * SIGINT, SIGTERM or SIGHUP waiting for us: the caller blocked them so that
 * it can clean up; the program is killed rather than waited for.
 */
static bool stop_pending(void)
{
	sigset_t p;

	return !sigpending(&p) &&
	       (sigismember(&p, SIGINT) == 1 || sigismember(&p, SIGTERM) == 1 ||
		sigismember(&p, SIGHUP) == 1);
}

static int trace_loop(struct tracer *tr, unsigned int timeout_s,
		      const sigset_t *chld)
{
	int64_t deadline = now_ns() + (int64_t)timeout_s * 1000000000;
	int ret = 0, st;

	for (;;) {
		pid_t tid = waitpid(-1, &st, __WALL | WNOHANG);
		struct timespec ts = { 0, TRACE_POLL_NS };

		if (tid < 0 && errno == EINTR)
			continue;
		if (tid < 0)
			return errno == ECHILD ? ret : -errno;
		if (tid > 0) {
			if (!ret)
				ret = on_stop(tr, tid, st);
			if (ret)
				kill_all(tr);
			continue;
		}
		if (tr->res->timed_out || tr->res->interrupted) {
			/* Already killed: only reaping is left. */
		} else if (stop_pending()) {
			tr->res->interrupted = true;
			kill_all(tr);
		} else if (now_ns() >= deadline) {
			tr->res->timed_out = true;
			kill_all(tr);
		}
		sigtimedwait(chld, NULL, &ts);
	}
}

int trace_run(char *const argv[], char *const envp[], const char *cwd,
	      unsigned int timeout_s, struct trace_result *res, char *err,
	      size_t errlen)
{
	struct tracer tr = { .res = res };
	sigset_t chld, old;
	int st, ret;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	fileset_init(&res->paths);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old);
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		snprintf(err, errlen, "trace: fork: %s", strerror(errno));
		goto out;
	}
	if (!pid)
		child(argv, envp, cwd);
	tr.root = pid;
	errno = 0;
	if (waitpid(pid, &st, __WALL) != pid || !WIFSTOPPED(st) ||
	    ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)(long)TRACE_OPTS)) {
		ret = errno ? -errno : -ECHILD;
		snprintf(err, errlen, "trace: %s: cannot trace it: %s", argv[0],
			 strerror(-ret));
		kill(pid, SIGKILL);
		waitpid(pid, &st, __WALL);
		goto out;
	}
	if (!tracee_add(&tr, pid, false)) {
		ret = -ENOMEM;
		kill(pid, SIGKILL);
	} else {
		ptrace(PTRACE_SYSCALL, pid, NULL, NULL);
		ret = 0;
	}
	ret = trace_loop(&tr, timeout_s, &chld) ?: ret;
	if (ret)
		snprintf(err, errlen, "trace: %s: %s", argv[0], strerror(-ret));
	else if (!tr.exec_seen) {
		ret = -ENOEXEC;
		snprintf(err, errlen, "trace: %s: could not be run", argv[0]);
	}
out:
	for (size_t i = 0; i < tr.n; i++)
		free(tr.t[i].exec_path);
	free(tr.t);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (ret)
		trace_result_free(res);
	return ret;
}

void trace_result_free(struct trace_result *res)
{
	fileset_free(&res->paths);
}
