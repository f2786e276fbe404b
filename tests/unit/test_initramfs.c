// SPDX-License-Identifier: MIT
/*
 * Unit tests for the newc cpio writer and reader (vmm/initramfs.c).  What the
 * writer produces is parsed back here by an independent strict reader; what
 * the reader is given includes broken archives, placed right before an
 * unmapped page so that any read past the end crashes the test.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "vmm/initramfs.h"

#define HDR_LEN 110
#define TRAILER "TRAILER!!!"
#define MAX_ENTRIES 32

/* Header fields, in order (buffer-format.rst). */
enum { F_INO, F_MODE, F_UID, F_GID, F_NLINK, F_MTIME, F_FILESIZE, F_MAJ,
       F_MIN, F_RMAJ, F_RMIN, F_NAMESIZE, F_CHECK, F_COUNT };

struct entry {
	char name[PATH_MAX];
	uint32_t f[F_COUNT];
	const uint8_t *data;
};

struct archive {
	struct entry e[MAX_ENTRIES];
	unsigned int n; /* without the trailer */
};

static uint32_t hex_field(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 0; i < 8; i++) {
		/* The writer uses upper-case hex. */
		cr_assert((p[i] >= '0' && p[i] <= '9') ||
				  (p[i] >= 'A' && p[i] <= 'F'),
			  "bad hex digit %#x", p[i]);
		v = v * 16 + (p[i] <= '9' ? p[i] - '0' : p[i] - 'A' + 10);
	}
	return v;
}

static void assert_zero(const uint8_t *p, size_t len, const char *what)
{
	for (size_t i = 0; i < len; i++)
		cr_assert_eq(p[i], 0, "%s: padding byte %zu", what, i);
}

/* Strict newc parse of a whole archive, which must end with the trailer. */
static void parse(const uint8_t *buf, size_t len, struct archive *a)
{
	size_t off = 0;

	a->n = 0;
	cr_assert_eq(len % 4, 0, "archive length %zu", len);
	for (;;) {
		struct entry e;
		size_t name_off, data_off, end;

		cr_assert_geq(len - off, HDR_LEN, "truncated at %zu", off);
		cr_assert_arr_eq(buf + off, "070701", 6, "magic at %zu", off);
		for (int i = 0; i < F_COUNT; i++)
			e.f[i] = hex_field(buf + off + 6 + 8 * i);
		cr_assert_geq(e.f[F_NAMESIZE], 1);
		cr_assert_leq(e.f[F_NAMESIZE], PATH_MAX);
		name_off = off + HDR_LEN;
		cr_assert_leq(name_off + e.f[F_NAMESIZE], len);
		cr_assert_eq(buf[name_off + e.f[F_NAMESIZE] - 1], '\0');
		cr_assert_eq(strlen((const char *)buf + name_off),
			     e.f[F_NAMESIZE] - 1, "NUL inside the name");
		memcpy(e.name, buf + name_off, e.f[F_NAMESIZE]);
		data_off = (name_off + e.f[F_NAMESIZE] + 3) & ~(size_t)3;
		assert_zero(buf + name_off + e.f[F_NAMESIZE],
			    data_off - name_off - e.f[F_NAMESIZE], e.name);
		cr_assert_leq(data_off + e.f[F_FILESIZE], len, "%s", e.name);
		e.data = buf + data_off;
		end = (data_off + e.f[F_FILESIZE] + 3) & ~(size_t)3;
		assert_zero(buf + data_off + e.f[F_FILESIZE],
			    end - data_off - e.f[F_FILESIZE], e.name);
		cr_assert_eq(e.f[F_UID], 0);
		cr_assert_eq(e.f[F_GID], 0);
		cr_assert_eq(e.f[F_CHECK], 0);
		off = end;
		if (!strcmp(e.name, TRAILER)) {
			cr_assert_eq(off, len, "data after the trailer");
			return;
		}
		cr_assert_lt(a->n, MAX_ENTRIES);
		a->e[a->n++] = e;
	}
}

static const struct entry *find(const struct archive *a, const char *name)
{
	for (unsigned int i = 0; i < a->n; i++)
		if (!strcmp(a->e[i].name, name))
			return &a->e[i];
	return NULL;
}

static const struct entry *must_find(const struct archive *a,
				     const char *name)
{
	const struct entry *e = find(a, name);

	cr_assert_not_null(e, "no entry '%s'", name);
	return e;
}

static void check_file(const struct archive *a, const char *name,
		       uint32_t mode, const char *data)
{
	const struct entry *e = must_find(a, name);

	cr_assert_eq(e->f[F_MODE], mode, "%s: mode %o", name, e->f[F_MODE]);
	cr_assert_eq(e->f[F_FILESIZE], strlen(data), "%s", name);
	cr_assert_arr_eq(e->data, data, strlen(data), "%s", name);
}

static struct cpio c;
static struct archive arc;

static void cpio_setup(void)
{
	cpio_init(&c);
}

static void cpio_teardown(void)
{
	cpio_free(&c);
}

TestSuite(cpio, .init = cpio_setup, .fini = cpio_teardown);

Test(cpio, writer_makes_valid_newc)
{
	const char *names[] = { "a", "ab", "abc", "abcd", "abcde" };
	const char *datas[] = { "1", "22", "333", "4444", "55555" };

	cr_assert_eq(cpio_add(&c, "init", S_IFREG | 0755, "#!/bin/sh\n", 10),
		     0);
	cr_assert_eq(cpio_add_dir(&c, "dev", 0755), 0);
	cr_assert_eq(cpio_add_dir(&c, "tmp", S_IFREG | 01777), 0);
	cr_assert_eq(cpio_add(&c, "empty", S_IFREG | 0644, NULL, 0), 0);
	/* Every name and data length modulo 4. */
	for (int i = 0; i < 5; i++)
		cr_assert_eq(cpio_add(&c, names[i], S_IFREG | 0600, datas[i],
				      strlen(datas[i])),
			     0);
	cr_assert_eq(cpio_finish(&c), 0);

	parse(c.buf, c.len, &arc);
	cr_assert_eq(arc.n, 9);
	check_file(&arc, "init", S_IFREG | 0755, "#!/bin/sh\n");
	check_file(&arc, "empty", S_IFREG | 0644, "");
	for (int i = 0; i < 5; i++)
		check_file(&arc, names[i], S_IFREG | 0600, datas[i]);
	cr_assert_eq(must_find(&arc, "dev")->f[F_MODE], S_IFDIR | 0755);
	cr_assert_eq(must_find(&arc, "dev")->f[F_NLINK], 2);
	/* cpio_add_dir() makes a directory whatever the type bits said. */
	cr_assert_eq(must_find(&arc, "tmp")->f[F_MODE], S_IFDIR | 01777);
	cr_assert_eq(must_find(&arc, "init")->f[F_NLINK], 1);
	/* Inode numbers are distinct (the kernel links equal ones). */
	for (unsigned int i = 1; i < arc.n; i++)
		cr_assert_gt(arc.e[i].f[F_INO], arc.e[i - 1].f[F_INO]);
}

Test(cpio, empty_archive_is_just_the_trailer)
{
	cr_assert_eq(cpio_finish(&c), 0);
	parse(c.buf, c.len, &arc);
	cr_assert_eq(arc.n, 0);
}

Test(cpio, writer_refuses_oversized_entries)
{
	static char longname[PATH_MAX + 1];
	const char byte = 'x';

	cr_assert_eq(cpio_add(&c, "big", S_IFREG | 0644, &byte,
			      (size_t)UINT32_MAX + 1),
		     -EFBIG);
	memset(longname, 'n', PATH_MAX);
	cr_assert_eq(cpio_add(&c, longname, S_IFREG | 0644, NULL, 0), -EFBIG);
	cr_assert_eq(c.len, 0);
	/* PATH_MAX bytes with the NUL is the largest name. */
	longname[PATH_MAX - 1] = '\0';
	cr_assert_eq(cpio_add(&c, longname, S_IFREG | 0644, NULL, 0), 0);
	cr_assert_eq(cpio_finish(&c), 0);
	parse(c.buf, c.len, &arc);
	cr_assert_eq(arc.n, 1);
}

Test(cpio, growth_keeps_earlier_entries)
{
	static uint8_t blob[200000];
	char name[32];

	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)(i * 31);
	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		cr_assert_eq(cpio_add(&c, name, S_IFREG | 0644, blob,
				      sizeof(blob) - i),
			     0);
	}
	cr_assert_eq(cpio_finish(&c), 0);
	parse(c.buf, c.len, &arc);
	cr_assert_eq(arc.n, 8);
	for (unsigned int i = 0; i < 8; i++) {
		cr_assert_eq(arc.e[i].f[F_FILESIZE], sizeof(blob) - i);
		cr_assert_arr_eq(arc.e[i].data, blob, sizeof(blob) - i);
	}
}

/* ---- re-rooting an archive ---- */

/* Build an archive with the writer; the caller frees src. */
static void build_source(struct cpio *src)
{
	cpio_init(src);
	cr_assert_eq(cpio_add_dir(src, ".", 0755), 0);
	cr_assert_eq(cpio_add_dir(src, "./bin", 0755), 0);
	cr_assert_eq(cpio_add(src, "./bin/sh", S_IFREG | 0755, "ELF!", 4), 0);
	cr_assert_eq(cpio_add(src, "/etc/x", S_IFREG | 0600, "xyz", 3), 0);
	cr_assert_eq(cpio_add(src, "plain", S_IFREG | 0644, "p", 1), 0);
	cr_assert_eq(cpio_add(src, "//abs", S_IFREG | 0644, "a", 1), 0);
	cr_assert_eq(cpio_add(src, "././dd", S_IFREG | 0644, "d", 1), 0);
	cr_assert_eq(cpio_add(src, "lnk", S_IFLNK | 0777, "bin/sh", 6), 0);
	cr_assert_eq(cpio_finish(src), 0);
}

Test(cpio, archive_is_rerooted)
{
	struct cpio src;

	build_source(&src);
	cr_assert_eq(cpio_add_archive(&c, "app", src.buf, src.len), 0, "%s",
		     c.err);
	cr_assert_eq(cpio_finish(&c), 0);
	parse(c.buf, c.len, &arc);

	cr_assert_eq(arc.n, 8);
	cr_assert_eq(must_find(&arc, "app")->f[F_MODE], S_IFDIR | 0755);
	cr_assert_eq(must_find(&arc, "app/bin")->f[F_MODE], S_IFDIR | 0755);
	check_file(&arc, "app/bin/sh", S_IFREG | 0755, "ELF!");
	check_file(&arc, "app/etc/x", S_IFREG | 0600, "xyz");
	check_file(&arc, "app/plain", S_IFREG | 0644, "p");
	check_file(&arc, "app/abs", S_IFREG | 0644, "a");
	check_file(&arc, "app/dd", S_IFREG | 0644, "d");
	check_file(&arc, "app/lnk", S_IFLNK | 0777, "bin/sh");
	/* The source's trailer was not copied: parse() saw exactly one. */
	cr_assert_null(find(&arc, "app/" TRAILER));
	cpio_free(&src);
}

Test(cpio, concatenated_archives_with_zero_padding)
{
	struct cpio a, b;
	uint8_t *cat;
	size_t len;

	build_source(&a);
	cpio_init(&b);
	cr_assert_eq(cpio_add(&b, "more", S_IFREG | 0644, "m", 1), 0);
	cr_assert_eq(cpio_finish(&b), 0);
	len = a.len + 512 + b.len;
	cat = calloc(1, len);
	cr_assert_not_null(cat);
	memcpy(cat, a.buf, a.len);
	memcpy(cat + a.len + 512, b.buf, b.len);

	cr_assert_eq(cpio_add_archive(&c, "app", cat, len), 0, "%s", c.err);
	cr_assert_eq(cpio_finish(&c), 0);
	parse(c.buf, c.len, &arc);
	cr_assert_eq(arc.n, 9);
	check_file(&arc, "app/more", S_IFREG | 0644, "m");

	/* Nothing but zeros, or nothing at all, adds nothing. */
	cpio_free(&c);
	cpio_init(&c);
	cr_assert_eq(cpio_add_archive(&c, "app", cat + a.len, 512), 0);
	cr_assert_eq(cpio_add_archive(&c, "app", cat, 0), 0);
	cr_assert_eq(c.len, 0);
	free(cat);
	cpio_free(&a);
	cpio_free(&b);
}

/* ---- hostile archives ---- */

/* A copy of @data that ends right before a PROT_NONE page. */
struct guarded {
	uint8_t *map;
	size_t maplen;
	uint8_t *data;
};

static struct guarded guard(const void *data, size_t size)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t span = (size + pg - 1) / pg * pg;
	struct guarded g;

	if (span == 0)
		span = pg;
	g.maplen = span + pg;
	g.map = mmap(NULL, g.maplen, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(g.map, MAP_FAILED);
	cr_assert_eq(mprotect(g.map + span, pg, PROT_NONE), 0);
	g.data = g.map + span - size;
	memcpy(g.data, data, size);
	return g;
}

static void unguard(struct guarded *g)
{
	munmap(g->map, g->maplen);
}

/* One entry "file" with 8 bytes of data, and the trailer. */
static size_t one_entry(uint8_t *buf, size_t cap)
{
	struct cpio one;
	size_t len;

	cpio_init(&one);
	cr_assert_eq(cpio_add(&one, "file", S_IFREG | 0644, "abcdefgh", 8), 0);
	cr_assert_eq(cpio_finish(&one), 0);
	cr_assert_leq(one.len, cap);
	memcpy(buf, one.buf, one.len);
	len = one.len;
	cpio_free(&one);
	return len;
}

static void set_field(uint8_t *hdr, int field, const char *val8)
{
	memcpy(hdr + 6 + 8 * field, val8, 8);
}

/* @buf (@size bytes) must be refused with -EINVAL, adding nothing. */
static void refused(const uint8_t *buf, size_t size, const char *what)
{
	struct guarded g = guard(buf, size);
	struct cpio out;

	cpio_init(&out);
	cr_assert_eq(cpio_add_archive(&out, "app", g.data, size), -EINVAL,
		     "%s", what);
	cr_assert_neq(out.err[0], '\0', "%s: no message", what);
	cr_assert_eq(out.len, 0, "%s: an entry was added", what);
	cpio_free(&out);
	unguard(&g);
}

Test(cpio, hostile_truncated_header)
{
	uint8_t buf[512];
	size_t len = one_entry(buf, sizeof(buf));

	cr_assert_gt(len, HDR_LEN);
	refused(buf, 50, "truncated header");
	refused(buf, 6, "magic only");
	refused(buf, HDR_LEN - 1, "one byte short");
	refused(buf, HDR_LEN, "header without a name");
	refused(buf, HDR_LEN + 3, "name cut short");
}

Test(cpio, hostile_bad_magic)
{
	uint8_t buf[512];
	size_t len = one_entry(buf, sizeof(buf));

	buf[5] = '7'; /* "070707": the old portable format */
	refused(buf, len, "070707");
	memcpy(buf, "GARBAGE", 7);
	refused(buf, len, "garbage");
}

Test(cpio, hostile_non_hex_fields)
{
	const char bad[] = { 'G', 'g', ' ', 'x', '-', '\0', 0xff };
	uint8_t buf[512];
	size_t len = one_entry(buf, sizeof(buf));

	for (int field = 0; field < F_COUNT; field++) {
		for (size_t i = 0; i < sizeof(bad); i++) {
			uint8_t copy[512];
			char what[64];

			memcpy(copy, buf, len);
			copy[6 + 8 * field + 7] = (uint8_t)bad[i];
			snprintf(what, sizeof(what), "field %d char %#x", field,
				 (uint8_t)bad[i]);
			refused(copy, len, what);
		}
	}
}

Test(cpio, lower_case_hex_is_accepted)
{
	uint8_t buf[512];
	size_t len = one_entry(buf, sizeof(buf));
	struct guarded g;

	set_field(buf, F_MODE, "000081a4"); /* S_IFREG | 0644 */
	g = guard(buf, len);
	cr_assert_eq(cpio_add_archive(&c, "app", g.data, len), 0, "%s", c.err);
	unguard(&g);
	cr_assert_eq(cpio_finish(&c), 0);
	parse(c.buf, c.len, &arc);
	check_file(&arc, "app/file", S_IFREG | 0644, "abcdefgh");
}

Test(cpio, hostile_name_sizes)
{
	uint8_t buf[512];
	size_t len = one_entry(buf, sizeof(buf));
	uint8_t copy[512];

	memcpy(copy, buf, len);
	set_field(copy, F_NAMESIZE, "00000000");
	refused(copy, len, "namesize 0");
	set_field(copy, F_NAMESIZE, "00001000");
	refused(copy, len, "namesize past the end");
	set_field(copy, F_NAMESIZE, "FFFFFFFF");
	refused(copy, len, "namesize 4G");
	set_field(copy, F_NAMESIZE, "80000000");
	refused(copy, len, "namesize 2G");
}

Test(cpio, hostile_file_sizes)
{
	uint8_t buf[512];
	size_t len = one_entry(buf, sizeof(buf));
	uint8_t copy[512];

	memcpy(copy, buf, len);
	set_field(copy, F_FILESIZE, "00000100");
	refused(copy, len, "filesize past the end");
	set_field(copy, F_FILESIZE, "FFFFFFFF");
	refused(copy, len, "filesize 4G");
	set_field(copy, F_FILESIZE, "FFFFFFF0");
	refused(copy, len, "filesize 4G - 16");
	/* Data cut short in a one-entry archive without a trailer. */
	refused(buf, HDR_LEN + 8 + 4, "data cut short");
}

Test(cpio, hostile_unterminated_name)
{
	uint8_t buf[512];
	size_t len = one_entry(buf, sizeof(buf));

	/* "file" has namesize 5: its NUL is at 110 + 4. */
	cr_assert_eq(buf[HDR_LEN + 4], '\0');
	buf[HDR_LEN + 4] = 'x';
	refused(buf, len, "name without its NUL");
}

/* Three entries and the trailer, for the exhaustive tests below. */
static size_t three_entries(uint8_t *buf, size_t cap)
{
	struct cpio src;
	size_t len;

	cpio_init(&src);
	cr_assert_eq(cpio_add_dir(&src, ".", 0755), 0);
	cr_assert_eq(cpio_add(&src, "./bin/tool", S_IFREG | 0755, "0123456",
			      7),
		     0);
	cr_assert_eq(cpio_add(&src, "lib/x.so", S_IFREG | 0644, "lib", 3), 0);
	cr_assert_eq(cpio_finish(&src), 0);
	cr_assert_leq(src.len, cap);
	memcpy(buf, src.buf, src.len);
	len = src.len;
	cpio_free(&src);
	return len;
}

static int add_guarded(const uint8_t *buf, size_t len, char *err,
		       size_t errlen)
{
	struct guarded g = guard(buf, len);
	struct cpio out;
	int ret;

	cpio_init(&out);
	ret = cpio_add_archive(&out, "app", g.data, len);
	snprintf(err, errlen, "%s", out.err);
	cpio_free(&out);
	unguard(&g);
	return ret;
}

Test(cpio, every_truncation_is_safe)
{
	uint8_t buf[1024];
	size_t len = three_entries(buf, sizeof(buf));
	char err[256];

	for (size_t cut = 0; cut < len; cut++) {
		int ret = add_guarded(buf, cut, err, sizeof(err));

		cr_assert(ret == 0 || ret == -EINVAL, "cut %zu: %d", cut, ret);
		if (ret)
			cr_assert_neq(err[0], '\0', "cut %zu: no message", cut);
	}
}

Test(cpio, every_corrupted_byte_is_safe)
{
	const uint8_t vals[] = { 0x00, '0', '7', 'F', 'g', '/', 0xff };
	uint8_t buf[1024], copy[1024];
	size_t len = three_entries(buf, sizeof(buf));
	char err[256];

	for (size_t pos = 0; pos < len; pos++) {
		for (size_t v = 0; v < sizeof(vals); v++) {
			int ret;

			memcpy(copy, buf, len);
			copy[pos] = vals[v];
			ret = add_guarded(copy, len, err, sizeof(err));
			cr_assert(ret == 0 || ret == -EINVAL ||
					  ret == -ENAMETOOLONG,
				  "byte %zu = %#x: %d", pos, vals[v], ret);
		}
	}
}

/* ---- host trees ---- */

static char tmpdir[64];

static void path_in(char *out, size_t cap, const char *rel)
{
	cr_assert_lt((size_t)snprintf(out, cap, "%s/%s", tmpdir, rel), cap);
}

static void write_file(const char *rel, const char *data, mode_t mode)
{
	char p[PATH_MAX];
	FILE *f;

	path_in(p, sizeof(p), rel);
	f = fopen(p, "w");
	cr_assert_not_null(f, "%s", p);
	cr_assert_eq(fwrite(data, 1, strlen(data), f), strlen(data));
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(chmod(p, mode), 0);
}

static void tree_setup(void)
{
	char p[PATH_MAX];

	cpio_init(&c);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/minivmm-cpio-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	write_file("hello", "hi\n", 0640);
	write_file("empty", "", 0600);
	path_in(p, sizeof(p), "sub");
	cr_assert_eq(mkdir(p, 0700), 0);
	cr_assert_eq(chmod(p, 0750), 0);
	write_file("sub/f", "nested", 0755);
	path_in(p, sizeof(p), "link");
	cr_assert_eq(symlink("hello", p), 0);
	path_in(p, sizeof(p), "pipe");
	cr_assert_eq(mkfifo(p, 0600), 0);
}

static void tree_teardown(void)
{
	const char *rel[] = { "pipe", "link", "sub/f", "empty", "hello" };
	char p[PATH_MAX];

	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		path_in(p, sizeof(p), rel[i]);
		unlink(p);
	}
	path_in(p, sizeof(p), "sub");
	rmdir(p);
	rmdir(tmpdir);
	cpio_free(&c);
}

Test(cpio, host_tree, .init = tree_setup, .fini = tree_teardown)
{
	cr_assert_eq(cpio_add_host_tree(&c, "app", tmpdir), 0, "%s", c.err);
	cr_assert_eq(cpio_finish(&c), 0);
	parse(c.buf, c.len, &arc);

	cr_assert_eq(arc.n, 6, "app, hello, empty, sub, sub/f, link");
	cr_assert_eq(must_find(&arc, "app")->f[F_MODE] & S_IFMT, S_IFDIR);
	check_file(&arc, "app/hello", S_IFREG | 0640, "hi\n");
	check_file(&arc, "app/empty", S_IFREG | 0600, "");
	cr_assert_eq(must_find(&arc, "app/sub")->f[F_MODE], S_IFDIR | 0750);
	check_file(&arc, "app/sub/f", S_IFREG | 0755, "nested");
	cr_assert_eq(must_find(&arc, "app/link")->f[F_MODE] & S_IFMT,
		     S_IFLNK);
	check_file(&arc, "app/link", must_find(&arc, "app/link")->f[F_MODE],
		   "hello");
	cr_assert_null(find(&arc, "app/pipe"), "fifos are left out");
	/* A directory comes before what is in it. */
	cr_assert_lt(must_find(&arc, "app/sub"), must_find(&arc, "app/sub/f"));
}

Test(cpio, host_tree_missing, .init = tree_setup, .fini = tree_teardown)
{
	char p[PATH_MAX];

	path_in(p, sizeof(p), "nope");
	cr_assert_eq(cpio_add_host_tree(&c, "app", p), -ENOENT);
	cr_assert(strstr(c.err, "nope"), "%s", c.err);
	c.err[0] = '\0';
	cr_assert_eq(cpio_add_host_file(&c, "x", p), -ENOENT);
	cr_assert(strstr(c.err, "nope"), "%s", c.err);
	cr_assert_eq(c.len, 0);
}

/* An entry whose name climbs out of the app's root could replace /init. */
Test(cpio, archive_entries_may_not_escape_the_root)
{
	static const char *const bad[] = { "../init", "bin/../../init", "..",
					   "./a/../../b" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cpio src;

		cpio_init(&src);
		cr_assert_eq(cpio_add(&src, bad[i], S_IFREG | 0644, "x", 1), 0);
		cr_assert_eq(cpio_finish(&src), 0);
		cr_expect_eq(cpio_add_archive(&c, "app", src.buf, src.len),
			     -EINVAL, "'%s' was accepted", bad[i]);
		cr_expect_neq(c.err[0], '\0');
		cpio_free(&src);
	}
	/* A name that merely contains dots is fine. */
	{
		struct cpio src;

		cpio_init(&src);
		cr_assert_eq(cpio_add(&src, "a..b/..c", S_IFREG | 0644, "x", 1), 0);
		cr_assert_eq(cpio_finish(&src), 0);
		cr_expect_eq(cpio_add_archive(&c, "app", src.buf, src.len), 0,
			     "%s", c.err);
		cpio_free(&src);
	}
}
