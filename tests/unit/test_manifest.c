// SPDX-License-Identifier: MIT
/*
 * Unit tests for the guest init's app image manifest parser, and for the
 * merge of a launch description with a manifest into what init runs.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <libfdt.h>

#include "minivmm/guest_abi.h"
#include "launch_parse.h"

#define BLOB_SIZE 4096

/* A property value; val NULL leaves the property out. */
struct prop {
	const char *val;
	int len;
};

/* sizeof, not strlen: string lists are literals with embedded NULs. */
#define PROP(s) ((struct prop){(s), sizeof(s)})
#define NONE ((struct prop){0})

/* What to put in a test manifest. */
struct spec {
	const char *compat;
	bool no_app;
	struct prop argv, env, cwd, user, writable;
};

/* <1000 100> as big-endian cells. */
static const char user_1000_100[] = {0, 0, 0x03, (char)0xe8, 0, 0, 0, 100};

static struct spec spec_good(void)
{
	return (struct spec){
	    .compat = MINIVMM_MANIFEST_COMPAT,
	    .argv = PROP("/usr/bin/prog\0--serve"),
	    .env = PROP("PATH=/usr/bin\0HOME=/home/app"),
	    .cwd = PROP("/srv"),
	    .user = {user_1000_100, sizeof(user_1000_100)},
	    .writable = PROP("/tmp\0/var/lib/x"),
	};
}

static void prop_add(void *fdt, const char *name, struct prop p)
{
	if (p.val)
		cr_assert_eq(fdt_property(fdt, name, p.val, p.len), 0);
}

/* Build @s into @buf; returns the blob's size. */
static size_t blob_build(void *buf, const struct spec *s)
{
	cr_assert_eq(fdt_create(buf, BLOB_SIZE), 0);
	cr_assert_eq(fdt_finish_reservemap(buf), 0);
	cr_assert_eq(fdt_begin_node(buf, ""), 0);
	if (s->compat)
		cr_assert_eq(fdt_property_string(buf, "compatible", s->compat),
			     0);
	if (!s->no_app) {
		cr_assert_eq(fdt_begin_node(buf, "app"), 0);
		prop_add(buf, "argv", s->argv);
		prop_add(buf, "env", s->env);
		prop_add(buf, "cwd", s->cwd);
		prop_add(buf, "user", s->user);
		prop_add(buf, "writable", s->writable);
		cr_assert_eq(fdt_end_node(buf), 0);
	}
	cr_assert_eq(fdt_end_node(buf), 0);
	cr_assert_eq(fdt_finish(buf), 0);
	return fdt_totalsize(buf);
}

/* Parse @s; a failure must leave no lists behind and say why. */
static int parse_spec(const struct spec *s, struct manifest *m)
{
	uint64_t buf[BLOB_SIZE / 8];
	size_t size = blob_build(buf, s);
	int err = manifest_parse(buf, size, m);

	if (err) {
		cr_assert_eq(err, -EINVAL);
		cr_assert_null(m->argv);
		cr_assert_null(m->env);
		cr_assert_null(m->writable);
		cr_assert_neq(m->err[0], '\0');
	}
	return err;
}

/* Parsing @s fails, and the reason mentions @what. */
static void expect_refused(const struct spec *s, const char *what)
{
	struct manifest m;

	cr_assert_eq(parse_spec(s, &m), -EINVAL);
	cr_assert(strstr(m.err, what), "'%s' lacks '%s'", m.err, what);
}

Test(manifest, good_manifest_gives_every_field)
{
	struct spec s = spec_good();
	struct manifest m;

	cr_assert_eq(parse_spec(&s, &m), 0, "%s", m.err);
	cr_assert_str_eq(m.argv[0], "/usr/bin/prog");
	cr_assert_str_eq(m.argv[1], "--serve");
	cr_assert_null(m.argv[2]);
	cr_assert_str_eq(m.env[0], "PATH=/usr/bin");
	cr_assert_str_eq(m.env[1], "HOME=/home/app");
	cr_assert_null(m.env[2]);
	cr_assert_str_eq(m.cwd, "/srv");
	cr_assert_eq(m.uid, 1000);
	cr_assert_eq(m.gid, 100);
	cr_assert_str_eq(m.writable[0], "/tmp");
	cr_assert_str_eq(m.writable[1], "/var/lib/x");
	cr_assert_null(m.writable[2]);
	cr_assert_str_eq(m.err, "");
	manifest_free(&m);
	manifest_free(&m);
}

Test(manifest, defaults_for_optional_fields)
{
	struct spec s = spec_good();
	struct manifest m;

	s.env = s.cwd = s.user = s.writable = NONE;
	cr_assert_eq(parse_spec(&s, &m), 0, "%s", m.err);
	cr_assert_null(m.env[0]);
	cr_assert_null(m.writable[0]);
	cr_assert_str_eq(m.cwd, "/");
	cr_assert_eq(m.uid, 0);
	cr_assert_eq(m.gid, 0);
	manifest_free(&m);
}

Test(manifest, argv_is_required)
{
	struct spec s = spec_good();

	s.argv = NONE;
	expect_refused(&s, "argv: missing");
	s.argv = (struct prop){"", 0};
	expect_refused(&s, "argv: empty");
	s.argv = PROP("\0x");
	expect_refused(&s, "argv[0] is empty");
	s.argv = (struct prop){"/bin/sh", 7};
	expect_refused(&s, "argv");
}

Test(manifest, user_cell_count_wrong)
{
	static const char cells[12] = {0};
	struct spec s = spec_good();

	s.user = (struct prop){cells, 4};
	expect_refused(&s, "user: 4 bytes, want 8");
	s.user = (struct prop){cells, 12};
	expect_refused(&s, "user: 12 bytes, want 8");
	s.user = (struct prop){cells, 0};
	expect_refused(&s, "user");
}

Test(manifest, user_minus_one_refused)
{
	static const char uid_m1[8] = {-1, -1, -1, -1, 0, 0, 0, 0};
	static const char gid_m1[8] = {0, 0, 0, 0, -1, -1, -1, -1};
	struct spec s = spec_good();

	s.user = (struct prop){uid_m1, sizeof(uid_m1)};
	expect_refused(&s, "user");
	s.user = (struct prop){gid_m1, sizeof(gid_m1)};
	expect_refused(&s, "user");
}

Test(manifest, writable_must_be_canonical_absolute)
{
	static const struct prop bad[] = {
	    PROP("tmp"), PROP("/"), PROP("/tmp/"), PROP("/a//b"),
	    PROP("/a/./b"), PROP("/a/.."), PROP("/../etc"), PROP("/tmp\0"),
	    PROP(""), PROP("/tmp\0var"),
	};
	struct spec s = spec_good();
	struct manifest m;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s.writable = bad[i];
		expect_refused(&s, "writable");
	}
	s.writable = (struct prop){"/tmp", 4};
	expect_refused(&s, "writable: not NUL terminated");
	/* Dots inside a name are only names. */
	s.writable = PROP("/a/.b\0/..c\0/d...");
	cr_assert_eq(parse_spec(&s, &m), 0, "%s", m.err);
	manifest_free(&m);
}

Test(manifest, writable_nested_or_twice_refused)
{
	struct spec s = spec_good();
	struct manifest m;

	s.writable = PROP("/var\0/var/lib");
	expect_refused(&s, "lies inside");
	s.writable = PROP("/var/lib/x\0/tmp\0/var");
	expect_refused(&s, "'/var/lib/x' lies inside '/var'");
	/* "/var-x" sorts between "/var" and "/var/lib" in plain strcmp. */
	s.writable = PROP("/var/lib\0/var-x\0/var");
	expect_refused(&s, "'/var/lib' lies inside '/var'");
	s.writable = PROP("/tmp\0/run\0/tmp");
	expect_refused(&s, "'/tmp' listed twice");
	/* Shared prefixes that are not whole components are fine. */
	s.writable = PROP("/var\0/var-x\0/variable\0/va\0/var.d");
	cr_assert_eq(parse_spec(&s, &m), 0, "%s", m.err);
	cr_assert_str_eq(m.writable[0], "/var", "listed order kept");
	cr_assert_str_eq(m.writable[4], "/var.d");
	manifest_free(&m);
}

Test(manifest, bad_env_and_cwd_refused)
{
	struct spec s = spec_good();

	s.env = PROP("A=1\0JUNK");
	expect_refused(&s, "env");
	s = spec_good();
	s.env = PROP("=x");
	expect_refused(&s, "env");
	s = spec_good();
	s.cwd = PROP("srv");
	expect_refused(&s, "cwd");
	s = spec_good();
	s.cwd = PROP("/a\0/b");
	expect_refused(&s, "cwd");
}

Test(manifest, wrong_compatible_refused)
{
	struct spec s = spec_good();

	s.compat = MINIVMM_LAUNCH_COMPAT;
	expect_refused(&s, "compatible");
	s.compat = "minivmm,app-v2";
	expect_refused(&s, "compatible");
	s.compat = NULL;
	expect_refused(&s, "compatible");
	s = spec_good();
	s.no_app = true;
	expect_refused(&s, "/app");
}

Test(manifest, truncated_and_broken_blobs_refused)
{
	uint64_t buf[BLOB_SIZE / 8];
	struct spec s = spec_good();
	size_t size = blob_build(buf, &s), cut;
	struct manifest m;

	cr_assert_eq(manifest_parse(NULL, 0, &m), -EINVAL);
	cr_assert_eq(manifest_parse(buf, 0, &m), -EINVAL);
	for (cut = 1; cut < size; cut++) {
		cr_assert_eq(manifest_parse(buf, cut, &m), -EINVAL, "%zu", cut);
		cr_assert_null(m.argv);
	}
	cr_assert(strstr(m.err, "truncated"), "%s", m.err);
	cr_assert_eq(manifest_parse((char *)buf + 4, size, &m), -EINVAL);
	cr_assert(strstr(m.err, "aligned"), "%s", m.err);
	cr_assert_eq(manifest_parse(buf, size, &m), 0, "%s", m.err);
	manifest_free(&m);
	((unsigned char *)buf)[0] ^= 0xff;
	cr_assert_eq(manifest_parse(buf, size, &m), -EINVAL);
	cr_assert(strstr(m.err, "header"), "%s", m.err);
}

/* Every single-byte corruption is either parsed or refused, never a crash. */
Test(manifest, corrupted_bytes_never_crash)
{
	static const unsigned char flips[] = {0x01, 0x80, 0xff};
	uint64_t good[BLOB_SIZE / 8], buf[BLOB_SIZE / 8];
	struct spec s = spec_good();
	size_t size = blob_build(good, &s), off, f, i;
	struct manifest m;
	int err;

	for (off = 0; off < size; off++) {
		for (f = 0; f < sizeof(flips); f++) {
			memcpy(buf, good, size);
			((unsigned char *)buf)[off] ^= flips[f];
			err = manifest_parse(buf, size, &m);
			cr_assert(err == 0 || err == -EINVAL);
			if (!err) {
				cr_assert_neq(m.argv[0][0], '\0');
				cr_assert_eq(m.cwd[0], '/');
				for (i = 0; m.writable[i]; i++)
					cr_assert_eq(m.writable[i][0], '/');
			}
			manifest_free(&m);
		}
	}
}

/* The merge, on hand-made structs: the parsers are tested above. */

#define LIST(...) ((const char *[]){__VA_ARGS__, NULL})
#define EMPTY ((const char *[]){NULL})

static struct manifest manifest_of(const char **argv, const char **env,
				   const char *cwd)
{
	return (struct manifest){
	    .argv = argv, .env = env, .cwd = cwd, .uid = 1000, .gid = 100};
}

static void assert_list(const char **got, const char **want)
{
	size_t i;

	for (i = 0; want[i]; i++) {
		cr_assert_not_null(got[i], "entry %zu missing", i);
		cr_assert_str_eq(got[i], want[i], "entry %zu", i);
	}
	cr_assert_null(got[i], "extra entry %zu: %s", i, got[i]);
}

Test(merge, launch_argv_replaces_the_manifests)
{
	struct manifest m = manifest_of(LIST("/bin/server", "--port", "80"),
					EMPTY, "/");
	struct launch l = {.argv = LIST("/bin/sh"), .env = EMPTY, .cwd = "/"};
	struct app a;

	cr_assert_eq(app_merge(&l, &m, &a), 0);
	assert_list(a.argv, LIST("/bin/sh"));
	app_free(&a);
	l.argv = EMPTY;
	cr_assert_eq(app_merge(&l, &m, &a), 0);
	assert_list(a.argv, LIST("/bin/server", "--port", "80"));
	cr_assert(a.set_user);
	cr_assert_eq(a.uid, 1000);
	cr_assert_eq(a.gid, 100);
	app_free(&a);
	app_free(&a);
}

Test(merge, env_appended_last_wins)
{
	struct manifest m = manifest_of(
	    LIST("/p"), LIST("A=1", "PATH=/bin", "AB=x", "B=2", "A=manifest"),
	    "/");
	struct launch l = {.argv = EMPTY,
			   .env = LIST("C=3", "A=9", "PATH=", "A=10", "AB=y"),
			   .cwd = "/"};
	struct app a;

	cr_assert_eq(app_merge(&l, &m, &a), 0);
	/* Each name once, where it first appeared, with its last value. */
	assert_list(a.env, LIST("A=10", "PATH=", "AB=y", "B=2", "C=3"));
	app_free(&a);

	l.env = EMPTY;
	cr_assert_eq(app_merge(&l, &m, &a), 0);
	assert_list(a.env, LIST("A=manifest", "PATH=/bin", "AB=x", "B=2"));
	app_free(&a);

	m.env = EMPTY;
	cr_assert_eq(app_merge(&l, &m, &a), 0);
	cr_assert_null(a.env[0]);
	app_free(&a);
}

Test(merge, env_merge_scales)
{
	enum { N = 20000 };
	const char **menv = calloc(N + 1, sizeof(*menv));
	const char **lenv = calloc(N + 1, sizeof(*lenv));
	char *names = malloc((size_t)N * 2 * 16);
	struct launch l = {.argv = EMPTY, .env = lenv, .cwd = "/"};
	struct manifest m;
	struct app a;
	size_t i;

	cr_assert(menv && lenv && names);
	for (i = 0; i < N; i++) {
		/* The launch sets every other name again. */
		snprintf(names + i * 16, 16, "V%zu=m", i);
		snprintf(names + (N + i) * 16, 16, "V%zu=l", i * 2);
		menv[i] = names + i * 16;
		lenv[i] = names + (N + i) * 16;
	}
	m = manifest_of(LIST("/p"), menv, "/");
	cr_assert_eq(app_merge(&l, &m, &a), 0);
	for (i = 0; i < N; i++) {
		char want[16];

		snprintf(want, sizeof(want), "V%zu=%c", i, i % 2 ? 'm' : 'l');
		cr_assert_str_eq(a.env[i], want);
	}
	/* Then the launch's names the manifest lacks, in order. */
	for (i = N / 2; i < N; i++) {
		char want[16];

		snprintf(want, sizeof(want), "V%zu=l", i * 2);
		cr_assert_str_eq(a.env[N + i - N / 2], want);
	}
	cr_assert_null(a.env[N + N / 2]);
	app_free(&a);
	free(menv);
	free(lenv);
	free(names);
}

Test(merge, cwd_overridden_only_when_given)
{
	struct manifest m = manifest_of(LIST("/p"), EMPTY, "/srv");
	struct launch l = {.argv = EMPTY, .env = EMPTY, .cwd = "/"};
	struct app a;

	cr_assert_eq(app_merge(&l, &m, &a), 0);
	cr_assert_str_eq(a.cwd, "/srv");
	app_free(&a);
	l.has_cwd = true;
	cr_assert_eq(app_merge(&l, &m, &a), 0);
	cr_assert_str_eq(a.cwd, "/");
	app_free(&a);
}

Test(merge, directory_form_uses_the_launch_as_is)
{
	const char **env = LIST("A=1", "A=2");
	struct launch l = {.argv = LIST("prog"), .env = env, .cwd = "/w"};
	struct app a;

	cr_assert_eq(app_merge(&l, NULL, &a), 0);
	assert_list(a.argv, LIST("prog"));
	cr_assert_eq(a.env, env, "env passed through untouched");
	cr_assert_str_eq(a.cwd, "/w");
	cr_assert_not(a.set_user);
	app_free(&a);
	l.argv = EMPTY;
	cr_assert_eq(app_merge(&l, NULL, &a), -EINVAL);
	app_free(&a);
}

/* The real thing: parse both blobs, then merge. */
Test(merge, parsed_launch_and_manifest)
{
	uint64_t mbuf[BLOB_SIZE / 8], lbuf[BLOB_SIZE / 8];
	struct spec s = spec_good();
	struct manifest m;
	struct launch l;
	struct app a;

	cr_assert_eq(manifest_parse(mbuf, blob_build(mbuf, &s), &m), 0, "%s",
		     m.err);
	cr_assert_eq(fdt_create(lbuf, BLOB_SIZE), 0);
	cr_assert_eq(fdt_finish_reservemap(lbuf), 0);
	cr_assert_eq(fdt_begin_node(lbuf, ""), 0);
	cr_assert_eq(
	    fdt_property_string(lbuf, "compatible", MINIVMM_LAUNCH_COMPAT), 0);
	cr_assert_eq(fdt_begin_node(lbuf, "app"), 0);
	cr_assert_eq(fdt_property_string(lbuf, "root-disk", "/dev/vda"), 0);
	cr_assert_eq(fdt_property(lbuf, "env", "HOME=/root\0X=1",
				  sizeof("HOME=/root\0X=1")),
		     0);
	cr_assert_eq(fdt_end_node(lbuf), 0);
	cr_assert_eq(fdt_end_node(lbuf), 0);
	cr_assert_eq(fdt_finish(lbuf), 0);
	cr_assert_eq(launch_parse(lbuf, fdt_totalsize(lbuf), &l), 0, "%s",
		     l.err);

	cr_assert_eq(app_merge(&l, &m, &a), 0);
	assert_list(a.argv, LIST("/usr/bin/prog", "--serve"));
	assert_list(a.env, LIST("PATH=/usr/bin", "HOME=/root", "X=1"));
	cr_assert_str_eq(a.cwd, "/srv");
	cr_assert_eq(a.uid, 1000);
	app_free(&a);
	launch_free(&l);
	manifest_free(&m);
}
