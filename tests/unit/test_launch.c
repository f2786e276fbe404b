// SPDX-License-Identifier: MIT
/*
 * Unit tests for the launch description writer (vmm/launch.c): every blob is
 * read back with libfdt and compared with what went in.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <libfdt.h>

#include "minivmm/guest_abi.h"
#include "vmm/launch.h"

/* Build @l, check the blob's header and return it; the caller frees it. */
static void *build(const struct launch *l, size_t *size)
{
	void *blob = NULL;

	cr_assert_eq(launch_build(l, &blob, size), 0);
	cr_assert_not_null(blob);
	cr_assert_eq(fdt_check_header(blob), 0);
	cr_assert_eq(fdt_totalsize(blob), *size);
	return blob;
}

static int node(const void *fdt, const char *path)
{
	int off = fdt_path_offset(fdt, path);

	cr_assert_geq(off, 0, "no node %s: %s", path, fdt_strerror(off));
	return off;
}

static const char *str_prop(const void *fdt, const char *path,
			    const char *name)
{
	int len = 0;
	const char *v = fdt_getprop(fdt, node(fdt, path), name, &len);

	cr_assert_not_null(v, "no %s in %s", name, path);
	cr_assert_gt(len, 0);
	cr_assert_eq(v[len - 1], '\0', "%s not terminated", name);
	cr_assert_eq(strlen(v), (size_t)len - 1, "%s is one string", name);
	return v;
}

/* The string list @name must hold exactly @want. */
static void check_list(const void *fdt, const char *name, char *const *want)
{
	int off = node(fdt, "/app"), count = 0;

	while (want[count])
		count++;
	cr_assert_eq(fdt_stringlist_count(fdt, off, name), count, "%s", name);
	for (int i = 0; i < count; i++) {
		const char *s = fdt_stringlist_get(fdt, off, name, i, NULL);

		cr_assert_not_null(s, "%s[%d]", name, i);
		cr_assert_str_eq(s, want[i], "%s[%d]", name, i);
	}
}

Test(launch, blob_reads_back)
{
	char *argv[] = { "/bin/prog", "-x", "", "last arg", NULL };
	char *env[] = { "A=1", "PATH=/usr/bin:/bin", NULL };
	struct launch l = { .argv = argv, .env = env };
	const fdt32_t *reg;
	size_t size;
	void *fdt = build(&l, &size);
	int len;

	cr_assert_str_eq(str_prop(fdt, "/", "compatible"),
			 MINIVMM_LAUNCH_COMPAT);
	check_list(fdt, "argv", argv);
	check_list(fdt, "env", env);
	/* No cwd given: none written (init then uses the manifest's or /). */
	cr_assert_null(fdt_getprop(fdt, fdt_path_offset(fdt, "/app"), "cwd",
				   NULL));
	cr_assert_str_eq(str_prop(fdt, "/app", "root"), MINIVMM_APP_ROOT);
	cr_assert_str_eq(str_prop(fdt, "/app", "root"), "/app");

	/* reg is one 64-bit address and no size, as the root declares. */
	cr_assert_eq(fdt_address_cells(fdt, 0), 2);
	cr_assert_eq(fdt_size_cells(fdt, 0), 0);
	reg = fdt_getprop(fdt, node(fdt, "/exit-device"), "reg", &len);
	cr_assert_not_null(reg);
	cr_assert_eq(len, 8, "two cells");
	cr_assert_eq(((uint64_t)fdt32_to_cpu(reg[0]) << 32) |
			     fdt32_to_cpu(reg[1]),
		     MINIVMM_EXIT_MMIO);
	reg = fdt_getprop(fdt, node(fdt, "/exit-device"), "io-port", &len);
	cr_assert_not_null(reg);
	cr_assert_eq(len, 4);
	cr_assert_eq(fdt32_to_cpu(reg[0]), MINIVMM_EXIT_PORT);
	free(fdt);
}

Test(launch, cwd_and_root_pass_through)
{
	char *argv[] = { "sh", NULL };
	struct launch l = { .argv = argv,
			    .cwd = "/srv/work dir",
			    .root = "/apps/two" };
	size_t size;
	void *fdt = build(&l, &size);

	cr_assert_str_eq(str_prop(fdt, "/app", "cwd"), "/srv/work dir");
	cr_assert_str_eq(str_prop(fdt, "/app", "root"), "/apps/two");
	free(fdt);
}

Test(launch, empty_env_leaves_the_property_out)
{
	char *argv[] = { "sh", NULL };
	char *env[] = { NULL };
	struct launch l = { .argv = argv, .env = NULL };
	size_t size;
	int len;
	void *fdt = build(&l, &size);

	cr_assert_null(fdt_getprop(fdt, node(fdt, "/app"), "env", &len));
	cr_assert_eq(len, -FDT_ERR_NOTFOUND);
	free(fdt);

	l.env = env;
	fdt = build(&l, &size);
	cr_assert_null(fdt_getprop(fdt, node(fdt, "/app"), "env", &len));
	free(fdt);
}

Test(launch, empty_argv_refused)
{
	char *none[] = { NULL };
	struct launch l = { .argv = NULL };
	void *blob = (void *)0x1;
	size_t size = 77;

	cr_assert_eq(launch_build(&l, &blob, &size), -EINVAL);
	l.argv = none;
	cr_assert_eq(launch_build(&l, &blob, &size), -EINVAL);
	cr_assert_eq(blob, (void *)0x1, "blob untouched");
	cr_assert_eq(size, 77, "size untouched");
}

/* @n distinct arguments of @arglen digits, NULL terminated. */
static char **argv_make(size_t n, size_t arglen)
{
	char **argv = calloc(n + 1, sizeof(*argv));

	cr_assert_not_null(argv);
	for (size_t i = 0; i < n; i++) {
		argv[i] = malloc(arglen + 1);
		cr_assert_not_null(argv[i]);
		snprintf(argv[i], arglen + 1, "%0*zu", (int)arglen, i);
	}
	return argv;
}

static void argv_free(char **argv)
{
	for (size_t i = 0; argv[i]; i++)
		free(argv[i]);
	free(argv);
}

Test(launch, long_argv_grows_the_buffer)
{
	char **argv = argv_make(3000, 20);
	struct launch l = { .argv = argv, .env = argv + 2990 };
	size_t size;
	void *fdt = build(&l, &size);

	cr_assert_gt(size, 3000 * 21, "every argument is in the blob");
	check_list(fdt, "argv", argv);
	check_list(fdt, "env", argv + 2990);
	free(fdt);
	argv_free(argv);
}

Test(launch, oversized_argv_refused, .timeout = 60)
{
	/* 10 MB of arguments: more than the largest buffer tried. */
	char **argv = argv_make(100000, 100);
	struct launch l = { .argv = argv };
	void *blob = (void *)0x1;
	size_t size = 77;

	cr_assert_eq(launch_build(&l, &blob, &size), -E2BIG);
	cr_assert_eq(blob, (void *)0x1);
	argv_free(argv);
}

Test(launch, long_single_strings)
{
	char *big = malloc(100000);
	char *argv[] = { big, NULL };
	struct launch l = { .argv = argv, .cwd = big, .root = big };
	size_t size;
	void *fdt;

	cr_assert_not_null(big);
	memset(big, 'z', 99999);
	big[99999] = '\0';
	fdt = build(&l, &size);
	cr_assert_str_eq(str_prop(fdt, "/app", "cwd"), big);
	cr_assert_str_eq(str_prop(fdt, "/app", "root"), big);
	check_list(fdt, "argv", argv);
	free(fdt);
	free(big);
}

/* An app image supplies its own argv; the launch names its disk. */
Test(launch, root_disk_without_argv)
{
	struct launch l = { .root_disk = "/dev/vda", .root_fstype = "erofs" };
	size_t size;
	void *fdt = build(&l, &size);

	cr_assert_str_eq(str_prop(fdt, "/app", "root-disk"), "/dev/vda");
	cr_assert_str_eq(str_prop(fdt, "/app", "root-fstype"), "erofs");
	cr_assert_null(fdt_getprop(fdt, fdt_path_offset(fdt, "/app"), "argv",
				   NULL));
	free(fdt);
}
