// SPDX-License-Identifier: MIT
/*
 * minivmm guest init: PID 1 of the microVM.
 *
 * Mounts the basic file systems, reads the launch description, runs the app
 * chrooted in its root, reaps every process, then hands the app's status to
 * minivmm through the exit device (include/minivmm/guest_abi.h).  Quiet unless
 * the kernel command line holds "minivmm.debug".
 *
 * The app comes in one of two forms.  A directory in the initramfs: its root
 * gets the basic file systems too.  Or an app image on a block device (the
 * launch names root-disk): init mounts it read-only on the root, reads the
 * image's manifest, puts a tmpfs over each writable directory and the basic
 * file systems where the image has directories for them, and runs the app as
 * the manifest's user.
 *
 * lo is always brought up; with a net node in the launch description, so is
 * the interface it names, and its nameserver goes to the app's resolv.conf.
 *
 * PID 1 must never return: the kernel panics when it does.  Every path ends in
 * init_finish(), which writes the exit device, or reboots, or pauses forever.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <linux/openat2.h>
#include <net/if.h>

#include "minivmm/guest_abi.h"
#include "launch_parse.h"
#include "net.h"

#include "init.h"

/* devtmpfs first: until /dev is there, there may be no console. */
const struct init_mount init_mounts[] = {
    {"dev", "devtmpfs", MS_NOSUID, "mode=0755"},
    {"proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
    {"sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
    {"tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"},
};

static void init_vsay(const char *fmt, va_list ap)
{
	char line[512];

	/* One line, one write: the app may be printing at the same time. */
	strcpy(line, "minivmm-init: ");
	vsnprintf(line + strlen(line), sizeof(line) - strlen(line) - 1, fmt,
		  ap);
	strcat(line, "\n");
	fputs(line, stderr);
}

void init_say(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
void init_say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	init_vsay(fmt, ap);
	va_end(ap);
}

/* Progress lines, only with minivmm.debug. */
void init_log(const struct init *in, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void init_log(const struct init *in, const char *fmt, ...)
{
	va_list ap;

	if (!in->debug)
		return;
	va_start(ap, fmt);
	init_vsay(fmt, ap);
	va_end(ap);
}

/* Mount @m under @root ("" for the initramfs root), creating the directory. */
int init_mount(const struct init *in, const char *root,
		      const struct init_mount *m)
{
	char dir[PATH_MAX];
	int n, err;

	n = snprintf(dir, sizeof(dir), "%s/%s", root, m->dir);
	if (n < 0 || (size_t)n >= sizeof(dir)) {
		init_say("mount %s in '%s': path too long", m->type, root);
		return -ENAMETOOLONG;
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		err = -errno;
		init_say("mkdir %s: %s", dir, strerror(-err));
		return err;
	}
	if (mount(m->type, dir, m->type, m->flags, m->data) < 0) {
		err = -errno;
		init_say("mount %s on %s: %s", m->type, dir, strerror(-err));
		return err;
	}
	init_log(in, "mounted %s on %s", m->type, dir);
	return 0;
}

/* Put the console on whichever of stdin, stdout and stderr are closed. */
static int init_console(void)
{
	int fd, con = -1;

	for (fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		/* The lowest free fd: may well be @fd itself. */
		if (con < 0)
			con = open(INIT_CONSOLE, O_RDWR | O_NOCTTY);
		if (con < 0)
			return -errno;
		if (con != fd && dup2(con, fd) < 0)
			return -errno;
	}
	if (con > STDERR_FILENO)
		close(con);
	return 0;
}

/*
 * Read what fits of a procfs file (which has no size to go by) into @buf,
 * NUL-terminated.  Returns false when there is nothing to read.
 */
bool init_read_proc(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return true;
}

/*
 * The kernel command line's words for init: "minivmm.debug" (progress
 * lines) and "minivmm.meminfo=N" (a memory report every N seconds).
 */
static void init_parse_cmdline(struct init *in)
{
	char buf[4096], *tok, *save, *end;
	unsigned long v;

	if (!init_read_proc(INIT_CMDLINE, buf, sizeof(buf)))
		return;
	for (tok = strtok_r(buf, " \t\n", &save); tok;
	     tok = strtok_r(NULL, " \t\n", &save)) {
		if (!strcmp(tok, INIT_DEBUG_FLAG)) {
			in->debug = true;
			continue;
		}
		if (strncmp(tok, INIT_MEMINFO_FLAG, strlen(INIT_MEMINFO_FLAG)))
			continue;
		errno = 0;
		v = strtoul(tok + strlen(INIT_MEMINFO_FLAG), &end, 10);
		if (errno || *end || v == 0 || v > INIT_MEMINFO_MAX_S)
			init_say("ignoring '%s': want 1 to %d seconds", tok,
				 INIT_MEMINFO_MAX_S);
		else
			in->meminfo_every = (unsigned int)v;
	}
}

/*
 * Read the whole regular file open on @fd into a malloc'd (so 8-byte
 * aligned) buffer; closes @fd.
 */
int init_read_fd(int fd, void **bufp, size_t *sizep)
{
	struct stat st;
	size_t done = 0;
	ssize_t n;
	char *buf;
	int err = 0;

	if (fstat(fd, &st) < 0)
		err = -errno;
	else if (!S_ISREG(st.st_mode))
		err = -EINVAL;
	else if (st.st_size > INIT_LAUNCH_MAX)
		err = -EFBIG;
	buf = err ? NULL : malloc((size_t)st.st_size + 1);
	if (!err && !buf)
		err = -ENOMEM;
	while (!err && done < (size_t)st.st_size) {
		n = read(fd, buf + done, (size_t)st.st_size - done);
		if (n < 0 && errno != EINTR)
			err = -errno;
		else if (n == 0)
			break;
		else if (n > 0)
			done += (size_t)n;
	}
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	*bufp = buf;
	*sizep = done;
	return 0;
}

int init_read_file(const char *path, void **bufp, size_t *sizep)
{
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return init_read_fd(fd, bufp, sizep);
}

/* lo always (quietly: few apps need it), then the launch's interface. */
static int init_net_up(const struct init *in)
{
	const struct net_config *nc = &in->launch.net;
	char err[NET_ERR_LEN], ifname[IF_NAMESIZE];
	long ms;
	int ret;

	if (net_lo_up(err, sizeof(err)))
		init_log(in, "%s", err);
	else
		init_log(in, "lo up");
	if (!nc->present)
		return 0;
	ret = net_eth_up(nc, INIT_NET_WAIT_MS, ifname, &ms, err, sizeof(err));
	if (ret) {
		init_say("%s", err);
		return ret;
	}
	init_log(in, "%s up after %ld ms: %s/%u%s%s", ifname, ms,
		 inet_ntoa(nc->addr), nc->prefix,
		 nc->has_gateway ? ", default route" : "",
		 nc->has_dns ? ", nameserver" : "");
	return 0;
}

/* After the app's root is ready: its resolv.conf, when it has a place. */
static int init_net_resolv(const struct init *in)
{
	const struct launch *l = &in->launch;
	char err[NET_ERR_LEN];
	int ret;

	if (!l->net.present || !l->net.has_dns)
		return 0;
	/* Only the initramfs is writable enough to add the file. */
	ret = net_resolv(&l->net, l->root, !l->root_disk, err, sizeof(err));
	if (ret < 0) {
		init_say("resolv.conf: %s", err);
		return ret;
	}
	init_log(in, "%s/etc/resolv.conf: %s", l->root,
		 ret ? "nameserver bound" : "none, nameserver not passed on");
	return 0;
}

/* execve() @a's argv, searching PATH when argv[0] has no slash, like execvp. */
static int init_exec(const struct app *a)
{
	/* execve() takes non-const strings but does not write them. */
	char *const *argv = (char *const *)a->argv;
	char *const *envp = (char *const *)a->env;
	const char *path = INIT_DEFAULT_PATH, *dir, *end;
	char file[PATH_MAX];
	bool denied = false;
	int i, n, len;

	if (strchr(argv[0], '/')) {
		execve(argv[0], argv, envp);
		return -errno;
	}
	for (i = 0; envp[i]; i++) {
		if (!strncmp(envp[i], "PATH=", 5)) {
			path = envp[i] + 5;
			break;
		}
	}
	for (dir = path;; dir = end + 1) {
		end = strchrnul(dir, ':');
		len = (int)(end - dir);
		/* An empty entry is the current directory. */
		n = snprintf(file, sizeof(file), "%.*s/%s", len ? len : 1,
			     len ? dir : ".", argv[0]);
		if (n > 0 && (size_t)n < sizeof(file)) {
			execve(file, argv, envp);
			if (errno == EACCES)
				denied = true;
			else if (errno != ENOENT && errno != ENOTDIR)
				return -errno;
		}
		if (!*end)
			break;
	}
	return denied ? -EACCES : -ENOENT;
}

/* Drop to the app's user: groups and gid first, while still allowed. */
static int init_set_user(const struct app *a)
{
	int err;

	if (setgroups(0, NULL) < 0) {
		err = -errno;
		init_say("setgroups: %s", strerror(-err));
		return err;
	}
	if (setgid(a->gid) < 0) {
		err = -errno;
		init_say("setgid %u: %s", a->gid, strerror(-err));
		return err;
	}
	if (setuid(a->uid) < 0) {
		err = -errno;
		init_say("setuid %u: %s", a->uid, strerror(-err));
		return err;
	}
	return 0;
}

static _Noreturn void init_child(const struct app *a, const char *root)
{
	int err;

	/* Its own session, so that the app is not in PID 1's process group. */
	setsid();
	if (chroot(root) < 0) {
		init_say("chroot %s: %s", root, strerror(errno));
		_exit(MINIVMM_STATUS_INIT_FAILED);
	}
	if (chdir(a->cwd) < 0) {
		init_say("chdir %s: %s", a->cwd, strerror(errno));
		_exit(MINIVMM_STATUS_INIT_FAILED);
	}
	if (a->set_user && init_set_user(a))
		_exit(MINIVMM_STATUS_INIT_FAILED);
	err = init_exec(a);
	init_say("cannot run '%s': %s", a->argv[0], strerror(-err));
	_exit(err == -ENOENT ? MINIVMM_STATUS_NOT_FOUND
			     : MINIVMM_STATUS_NOT_EXEC);
}

/* Reap children until the app ends; returns its status, docker style. */
static int init_wait(const struct init *in, pid_t app)
{
	pid_t pid;
	int ws;

	for (;;) {
		pid = waitpid(-1, &ws, 0);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0) {
			init_say("waitpid: %s", strerror(errno));
			return MINIVMM_STATUS_INIT_FAILED;
		}
		if (pid != app) {
			init_log(in, "reaped %d", (int)pid);
			continue;
		}
		if (WIFEXITED(ws))
			return WEXITSTATUS(ws);
		if (WIFSIGNALED(ws))
			return 128 + WTERMSIG(ws);
	}
}

/* Reap for up to @ms; true once no child is left. */
static bool init_reap_for(int ms)
{
	const struct timespec step = {0, INIT_POLL_MS * 1000000L};
	pid_t pid;
	int waited;

	for (waited = 0;; waited += INIT_POLL_MS) {
		do
			pid = waitpid(-1, NULL, WNOHANG);
		while (pid > 0 || (pid < 0 && errno == EINTR));
		if (pid < 0 && errno == ECHILD)
			return true;
		if (waited >= ms)
			return false;
		nanosleep(&step, NULL);
	}
}

/*
 * Stop what the app left behind.  Every process left is a descendant of
 * PID 1, so "no child left" means no process left.
 */
static void init_stop_all(const struct init *in)
{
	kill(-1, SIGTERM);
	if (!init_reap_for(INIT_GRACE_MS)) {
		init_log(in, "killing what ignored SIGTERM");
		kill(-1, SIGKILL);
		init_reap_for(INIT_GRACE_MS);
	}
	sync();
}

/* Write @status to the exit device; returns only when that did not work. */
static int init_exit_device(uint64_t addr, uint32_t status)
{
	volatile uint32_t *reg;
	void *page;
	int fd, err;

	fd = open("/dev/mem", O_RDWR | O_SYNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	page = mmap(NULL, MINIVMM_EXIT_MMIO_SIZE, PROT_READ | PROT_WRITE,
		    MAP_SHARED, fd, (off_t)addr);
	err = page == MAP_FAILED ? -errno : 0;
	close(fd);
	if (err)
		return err;
	reg = page;
	if (*reg == MINIVMM_EXIT_MAGIC) {
		*reg = status;
		/* Still running: whatever is there did not end the VM. */
	}
	munmap(page, MINIVMM_EXIT_MMIO_SIZE);
	return -ENODEV;
}

static _Noreturn void init_finish(const struct init *in, int status)
{
	uint64_t addr = in->launch.exit_addr;
	int err;

	init_log(in, "status %d, stopping", status);
	init_stop_all(in);
	err = init_exit_device(addr, (uint32_t)status);
	init_say("exit device unavailable at 0x%" PRIx64 ": %s; status %d",
		 addr, strerror(-err), status);
	/* minivmm runs the kernel with reboot=k and sees the i8042 reset. */
	reboot(RB_AUTOBOOT);
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

/* Everything up to the app's end; returns the status to report. */
static int init_run(struct init *in)
{
	const struct launch *l = &in->launch;
	const struct app *a = &in->app;
	size_t i, size = 0;
	void *blob = NULL;
	pid_t pid;
	int err;

	err = init_mount(in, "", &init_mounts[0]);
	if (!err) {
		err = init_console();
		if (err)
			init_say("%s: %s", INIT_CONSOLE, strerror(-err));
	}
	for (i = 1; !err && i < ARRAY_SIZE(init_mounts); i++)
		err = init_mount(in, "", &init_mounts[i]);
	if (err)
		return MINIVMM_STATUS_INIT_FAILED;
	init_parse_cmdline(in);

	/* The blob is never freed: l's strings point into it. */
	err = init_read_file(MINIVMM_LAUNCH_PATH, &blob, &size);
	if (err) {
		init_say("%s: %s", MINIVMM_LAUNCH_PATH, strerror(-err));
		return MINIVMM_STATUS_INIT_FAILED;
	}
	err = launch_parse(blob, size, &in->launch);
	if (err) {
		init_say("%s: %s", MINIVMM_LAUNCH_PATH, l->err);
		return MINIVMM_STATUS_INIT_FAILED;
	}

	if (init_net_up(in))
		return MINIVMM_STATUS_INIT_FAILED;
	if (l->root_disk)
		err = init_image_prepare(in);
	else
		err = init_dir_prepare(in);
	if (!err)
		err = init_net_resolv(in);
	if (err)
		return MINIVMM_STATUS_INIT_FAILED;
	err = app_merge(l, l->root_disk ? &in->manifest : NULL, &in->app);
	if (err) {
		init_say("app: %s", strerror(-err));
		return MINIVMM_STATUS_INIT_FAILED;
	}

	init_log(in, "running '%s' in %s, cwd %s, user %u:%u", a->argv[0],
		 l->root, a->cwd, a->uid, a->gid);
	pid = fork();
	if (pid < 0) {
		init_say("fork: %s", strerror(errno));
		return MINIVMM_STATUS_INIT_FAILED;
	}
	if (pid == 0)
		init_child(a, l->root);
	if (in->meminfo_every)
		init_meminfo_start(in->meminfo_every);
	return init_wait(in, pid);
}

int main(void)
{
	struct init in = {
	    .launch.exit_addr = MINIVMM_EXIT_MMIO,
	    .launch.exit_port = MINIVMM_EXIT_PORT,
	};

	/* Anywhere else, kill(-1) and reboot() would hit the wrong machine. */
	if (getpid() != 1) {
		init_say("must run as PID 1");
		return MINIVMM_STATUS_INIT_FAILED;
	}
	init_finish(&in, init_run(&in));
}
