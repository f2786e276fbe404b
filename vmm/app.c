// SPDX-License-Identifier: MIT
/*
 * From --app to the guest's initramfs.
 */
#include "app.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <minivmm/guest_abi.h>

#include "launch.h"

/* The guest init, embedded by the build (guest/init, see meson.build). */
extern const uint8_t minivmm_init_start[];
extern const uint8_t minivmm_init_end[];

static size_t argv_count(char *const *argv)
{
	size_t n = 0;

	while (argv && argv[n])
		n++;
	return n;
}

/* What --app names, from its type and first bytes. */
int app_probe(const char *path, enum app_kind *kind,
		     const char **fstype)
{
	uint8_t head[2048] = { 0 };
	uint32_t erofs_magic;
	uint16_t ext_magic;
	struct stat st;
	ssize_t n;
	int fd;

	if (stat(path, &st) < 0)
		return vmm_fail("app '%s': %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		*kind = APP_DIR;
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return vmm_fail("app '%s': not a directory or a regular file", path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vmm_fail("app '%s': %s", path, strerror(errno));
	n = pread(fd, head, sizeof(head), 0);
	close(fd);
	if (n < 0)
		return vmm_fail("app '%s': %s", path, strerror(errno));
	memcpy(&erofs_magic, head + 1024, 4);
	memcpy(&ext_magic, head + 1024 + 56, 2);
	if (n >= 6 && !memcmp(head, "070701", 6)) {
		*kind = APP_CPIO;
	} else if (n >= 4 && !memcmp(head, "\177ELF", 4)) {
		*kind = APP_EXEC;
	} else if (n >= 1028 && erofs_magic == 0xe0f5e1e2) {
		*kind = APP_IMAGE;
		*fstype = "erofs";
	} else if (n >= 4 && !memcmp(head, "hsqs", 4)) {
		*kind = APP_IMAGE;
		*fstype = "squashfs";
	} else if (n >= 1082 && ext_magic == 0xef53) {
		*kind = APP_IMAGE;
		*fstype = "ext4";
	} else {
		return vmm_fail("app '%s': not a directory, an app image (erofs, squashfs, ext4), a newc cpio archive or an ELF executable",
			    path);
	}
	return 0;
}

/*
 * The initramfs for --app: /init, /minivmm/launch.dtb and, unless the app
 * is an image on its own disk, the app's files under /app.
 */
int app_build_initramfs(const struct options *o, enum app_kind kind,
			   const char *fstype, const struct net_plan *net,
			   struct cpio *c)
{
	size_t init_size = (size_t)(minivmm_init_end - minivmm_init_start);
	char **exec_argv = NULL;
	char exe_name[256];
	struct launch l = { 0 };
	uint8_t *data = NULL;
	size_t size = 0;
	void *dtb;
	size_t dtb_size;
	int ret;

	cpio_init(c);
	ret = cpio_add(c, "init", S_IFREG | 0755, minivmm_init_start, init_size);
	ret = ret ?: cpio_add_dir(c, "minivmm", 0755);
	if (ret)
		return vmm_fail("initramfs: %s", strerror(-ret));
	if ((kind == APP_CPIO || kind == APP_EXEC) &&
	    read_file("app", o->app, &data, &size))
		return STATUS_USAGE;

	l.argv = o->app_argv;
	switch (kind) {
	case APP_DIR:
		ret = cpio_add_host_tree(c, "app", o->app);
		if (ret)
			return vmm_fail("app '%s': %s", o->app,
				    c->err[0] ? c->err : strerror(-ret));
		break;
	case APP_CPIO:
		ret = cpio_add_archive(c, "app", data, size);
		free(data);
		if (ret)
			return vmm_fail("app '%s': not a valid newc cpio archive: %s",
				    o->app, c->err);
		break;
	case APP_EXEC: {
		/* A single executable: /app/NAME, run as /NAME. */
		char *copy = strdup(o->app);
		char name[300];

		snprintf(exe_name, sizeof(exe_name), "/%s",
			 copy ? basename(copy) : "app");
		free(copy);
		snprintf(name, sizeof(name), "app%s", exe_name);
		ret = cpio_add_dir(c, "app", 0755);
		ret = ret ?: cpio_add(c, name, S_IFREG | 0755, data, size);
		free(data);
		if (ret)
			return vmm_fail("initramfs: %s", strerror(-ret));
		/* The executable is the command; after -- come its args. */
		exec_argv = calloc(argv_count(o->app_argv) + 2, sizeof(char *));
		if (!exec_argv)
			return vmm_fail("out of memory");
		exec_argv[0] = exe_name;
		for (size_t i = 0; o->app_argv && o->app_argv[i]; i++)
			exec_argv[i + 1] = o->app_argv[i];
		l.argv = exec_argv;
		break;
	}
	case APP_IMAGE:
		/* The first virtio disk; its manifest supplies the command. */
		l.root_disk = "/dev/vda";
		l.root_fstype = fstype;
		break;
	}
	if (!l.argv && kind != APP_IMAGE)
		return vmm_fail("app '%s': no command to run: add '-- COMMAND ARGS...'",
			    o->app);
	l.env = o->env;
	l.cwd = o->workdir;
	if (net->configure)
		l.net = &net->launch;
	ret = launch_build(&l, &dtb, &dtb_size);
	free(exec_argv);
	if (ret)
		return vmm_fail("launch description: %s", strerror(-ret));
	ret = cpio_add(c, MINIVMM_LAUNCH_PATH + 1, S_IFREG | 0644, dtb,
		       dtb_size);
	free(dtb);
	ret = ret ?: cpio_finish(c);
	if (ret)
		return vmm_fail("initramfs: %s", strerror(-ret));
	return 0;
}

int app_write_initrd(const char *path, struct cpio *c)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (!f)
		return vmm_fail("--write-initrd '%s': %s", path, strerror(errno));
	ok = fwrite(c->buf, 1, c->len, f) == c->len;
	ok = (fclose(f) == 0) && ok;
	cpio_free(c);
	if (!ok)
		return vmm_fail("--write-initrd '%s': write failed", path);
	return 0;
}
