// SPDX-License-Identifier: MIT
/*
 * minivmm-image's ELF dependency closure: the loader's search rules on the
 * host's own programs and on small ELF files written here by hand, token
 * expansion, the ld.so.cache reader, and files that are not ELF or lie
 * about their size.
 */
#include <criterion/criterion.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/elfdeps.h"
#include "tools/fileset.h"
#include "tools/ldcache.h"

/* ---- helpers ---- */

static char tmp[64]; /* "/tmp/test_elfdeps.XXXXXX" */

static void mk_tmp(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/test_elfdeps.XXXXXX");
	cr_assert_not_null(mkdtemp(tmp));
}

static int rm_one(const char *p, const struct stat *st, int t, struct FTW *f)
{
	(void)st;
	(void)t;
	(void)f;
	return remove(p);
}

static void rm_tmp(void)
{
	nftw(tmp, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void tpath(char *out, const char *rel)
{
	snprintf(out, PATH_MAX, "%s/%s", tmp, rel);
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);

	cr_assert_geq(fd, 0, "%s", path);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* The first @len bytes of @src, copied to @dst. */
static void write_prefix(const char *src, const char *dst, size_t len)
{
	char buf[4096];
	int fd = open(src, O_RDONLY);

	cr_assert_geq(fd, 0);
	cr_assert_leq(len, sizeof(buf));
	cr_assert_eq(read(fd, buf, len), (ssize_t)len);
	close(fd);
	write_file(dst, buf, len);
}

struct synth {
	const char *needed[4];
	const char *soname, *rpath, *runpath;
	uint16_t machine; /* 0: EM_X86_64 */
	uint64_t phoff; /* 0: right after the header */
	uint64_t dyn_off_add; /* pushed past the end of the file when set */
};

#define SYN_VADDR 0x400000

/*
 * A minimal 64-bit little-endian ET_DYN: one PT_LOAD over the whole file
 * and a PT_DYNAMIC whose strings follow the program headers.
 */
static void write_elf(const char *path, const struct synth *s)
{
	unsigned char buf[2048] = { 0 };
	Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
	Elf64_Phdr *ph = (Elf64_Phdr *)(buf + sizeof(*eh));
	size_t str = sizeof(*eh) + 2 * sizeof(*ph), slen = 1, dyn, n = 0;
	Elf64_Dyn d[12];

#define ADD_STR(v)                                                             \
	({                                                                     \
		size_t o_ = slen;                                              \
		strcpy((char *)buf + str + slen, (v));                         \
		slen += strlen(v) + 1;                                         \
		o_;                                                            \
	})
	for (int i = 0; i < 4 && s->needed[i]; i++)
		d[n++] = (Elf64_Dyn){ DT_NEEDED, { ADD_STR(s->needed[i]) } };
	if (s->soname)
		d[n++] = (Elf64_Dyn){ DT_SONAME, { ADD_STR(s->soname) } };
	if (s->rpath)
		d[n++] = (Elf64_Dyn){ DT_RPATH, { ADD_STR(s->rpath) } };
	if (s->runpath)
		d[n++] = (Elf64_Dyn){ DT_RUNPATH, { ADD_STR(s->runpath) } };
	d[n++] = (Elf64_Dyn){ DT_STRTAB, { SYN_VADDR + str } };
	d[n++] = (Elf64_Dyn){ DT_STRSZ, { slen } };
	d[n++] = (Elf64_Dyn){ DT_NULL, { 0 } };
	dyn = (str + slen + 7) & ~7UL;
	memcpy(buf + dyn, d, n * sizeof(*d));

	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_DYN;
	eh->e_machine = s->machine ? s->machine : EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_phoff = s->phoff ? s->phoff : sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 2;
	ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD,
			      .p_flags = PF_R,
			      .p_offset = 0,
			      .p_vaddr = SYN_VADDR,
			      .p_filesz = dyn + n * sizeof(*d),
			      .p_memsz = dyn + n * sizeof(*d),
			      .p_align = 0x1000 };
	ph[1] = (Elf64_Phdr){ .p_type = PT_DYNAMIC,
			      .p_flags = PF_R,
			      .p_offset = dyn + s->dyn_off_add,
			      .p_vaddr = SYN_VADDR + dyn,
			      .p_filesz = n * sizeof(*d),
			      .p_memsz = n * sizeof(*d),
			      .p_align = 8 };
	write_file(path, buf, dyn + n * sizeof(*d));
#undef ADD_STR
}

static bool has_entry(const struct fileset *fs, const char *path,
		      enum fs_type type)
{
	const struct fs_entry *e = fileset_find(fs, path);

	return e && e->type == type;
}

/* ---- the host's own programs ---- */

Test(elfdeps, ls_closure_has_interp_and_libc)
{
	const char *ls = access("/bin/ls", X_OK) ? "/usr/bin/ls" : "/bin/ls";
	char interp[PATH_MAX], libc[PATH_MAX] = "";
	struct fileset fs;
	struct elfdeps d;
	bool saw_interp = false;
	size_t n;

	fileset_init(&fs);
	elfdeps_init(&d, &fs);
	cr_assert_eq(elfdeps_add(&d, ls), 0, "%s", d.err);
	cr_assert_not_null(realpath("/lib64/ld-linux-x86-64.so.2", interp));
	for (size_t i = 0; i < d.nobj; i++) {
		saw_interp |=
		    !strcmp(d.obj[i].path, "/lib64/ld-linux-x86-64.so.2");
		if (d.obj[i].name && !strcmp(d.obj[i].name, "libc.so.6"))
			strcpy(libc, d.obj[i].real);
	}
	cr_expect(saw_interp, "PT_INTERP not followed");
	cr_expect(has_entry(&fs, interp, FS_FILE), "%s missing", interp);
	cr_assert(libc[0], "libc.so.6 not in the closure");
	cr_expect(has_entry(&fs, libc, FS_FILE), "%s missing", libc);
	/* Adding it again changes nothing. */
	n = fs.n;
	cr_expect_eq(elfdeps_add(&d, ls), 0);
	cr_expect_eq(fs.n, n);
	elfdeps_free(&d);
	fileset_free(&fs);
}

Test(elfdeps, ldcache_finds_libc)
{
	struct ldcache c;
	const char *p;
	size_t it = 0;

	cr_assert_eq(ldcache_open(&c, LDCACHE_PATH), 0);
	p = ldcache_next(&c, "libc.so.6", &it);
	cr_assert_not_null(p);
	cr_expect_str_eq(strrchr(p, '/'), "/libc.so.6");
	cr_expect_eq(access(p, R_OK), 0, "%s", p);
	it = 0;
	cr_expect_null(ldcache_next(&c, "libno-such-thing.so.42", &it));
	ldcache_close(&c);
}

/* ---- token expansion ---- */

Test(elfdeps, expand_origin_lib_platform)
{
	/* A synthetic RUNPATH, element by element as the loader splits it. */
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "$ORIGIN/../lib", "/opt/app/bin/../lib" },
		{ "${ORIGIN}/plugins", "/opt/app/bin/plugins" },
		{ "$ORIGIN", "/opt/app/bin" },
		{ "/usr/$LIB/app", "/usr/lib/x86_64-linux-gnu/app" },
		{ "/opt/${PLATFORM}/lib", "/opt/x86_64/lib" },
		{ "$ORIGINAL/x", "$ORIGINAL/x" }, /* not a token */
		{ "/a/$FOO", "/a/$FOO" },
		{ "${ORIGIN", "${ORIGIN" },
		{ "/plain/dir", "/plain/dir" },
	};
	char out[PATH_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		cr_assert_eq(
		    elfdeps_expand(cases[i].in, "/opt/app/bin",
				   elfdeps_lib(EM_X86_64, ELFCLASS64),
				   elfdeps_platform(EM_X86_64, ELFCLASS64), out,
				   sizeof(out)),
		    0, "%s", cases[i].in);
		cr_expect_str_eq(out, cases[i].out);
	}
	cr_expect_eq(
	    elfdeps_expand("$ORIGIN/x", NULL, "lib", "x", out, sizeof(out)),
	    -EINVAL);
	cr_expect_eq(
	    elfdeps_expand("$ORIGIN/abcdef", "/long/origin", "l", "p", out, 12),
	    -ENAMETOOLONG);
}

/* ---- search rules on hand-made files ---- */

Test(elfdeps, runpath_origin_and_symlinks, .init = mk_tmp, .fini = rm_tmp)
{
	char p[PATH_MAX], q[PATH_MAX];
	struct fileset fs;
	struct elfdeps d;

	tpath(p, "app");
	mkdir(p, 0755);
	tpath(p, "app/bin");
	mkdir(p, 0755);
	tpath(p, "app/lib");
	mkdir(p, 0755);
	tpath(p, "app/wrong");
	mkdir(p, 0755);
	/* The first RUNPATH directory has the name for the wrong machine:
	 * the loader skips it and so must we. */
	tpath(p, "app/wrong/libfake.so.1");
	write_elf(p, &(struct synth){ .soname = "libfake.so.1",
				      .machine = EM_AARCH64 });
	tpath(p, "app/lib/libfake.so.1.0");
	write_elf(p, &(struct synth){ .soname = "libfake.so.1" });
	tpath(p, "app/lib/libfake.so.1");
	cr_assert_eq(symlink("libfake.so.1.0", p), 0);
	tpath(p, "app/bin/prog");
	write_elf(p, &(struct synth){
			 .needed = { "libfake.so.1" },
			 .runpath = "$ORIGIN/../wrong:${ORIGIN}/../lib" });

	fileset_init(&fs);
	elfdeps_init(&d, &fs);
	cr_assert_eq(elfdeps_add(&d, p), 0, "%s", d.err);
	cr_expect_eq(d.nobj, 2);
	tpath(q, "app/lib/libfake.so.1");
	cr_expect(has_entry(&fs, q, FS_SYMLINK), "symlink not kept");
	cr_expect_str_eq(fileset_find(&fs, q)->target, "libfake.so.1.0");
	tpath(q, "app/lib/libfake.so.1.0");
	cr_expect(has_entry(&fs, q, FS_FILE), "symlink target not kept");
	tpath(q, "app/wrong/libfake.so.1");
	cr_expect_null(fileset_find(&fs, q), "wrong machine taken");
	elfdeps_free(&d);
	fileset_free(&fs);
}

Test(elfdeps, missing_library_is_named, .init = mk_tmp, .fini = rm_tmp)
{
	char p[PATH_MAX];
	struct fileset fs;
	struct elfdeps d;

	tpath(p, "prog");
	write_elf(p, &(struct synth){ .needed = { "libmissing.so.9" },
				      .rpath = "$ORIGIN" });
	fileset_init(&fs);
	elfdeps_init(&d, &fs);
	cr_assert_eq(elfdeps_add(&d, p), -ENOENT);
	cr_expect_not_null(strstr(d.err, "libmissing.so.9"), "%s", d.err);
	cr_expect_not_null(strstr(d.err, p), "%s", d.err);
	elfdeps_free(&d);
	fileset_free(&fs);
}

Test(elfdeps, symlinked_directories_recorded, .init = mk_tmp, .fini = rm_tmp)
{
	char p[PATH_MAX], real[PATH_MAX];
	struct fileset fs;

	tpath(p, "real");
	mkdir(p, 0755);
	tpath(p, "real/f");
	write_file(p, "x", 1);
	tpath(p, "alias");
	cr_assert_eq(symlink("real", p), 0);
	fileset_init(&fs);
	tpath(p, "alias/./f");
	cr_assert_eq(fileset_add_path(&fs, p, real), 0);
	tpath(p, "real/f");
	cr_expect_str_eq(real, p);
	cr_expect(has_entry(&fs, p, FS_FILE));
	tpath(p, "alias");
	cr_expect(has_entry(&fs, p, FS_SYMLINK));
	tpath(p, "nothing");
	cr_expect_eq(fileset_add_path(&fs, p, NULL), -ENOENT);
	fileset_free(&fs);
}

/* ---- files that are not what they claim ---- */

Test(elfdeps, non_elf_refused, .init = mk_tmp, .fini = rm_tmp)
{
	char p[PATH_MAX];
	struct elf_info info;
	struct fileset fs;
	struct elfdeps d;

	tpath(p, "text");
	write_file(p, "#!/bin/sh\necho hi\n", 18);
	cr_expect_eq(elf_info_read(p, &info), -ENOEXEC);
	tpath(p, "empty");
	write_file(p, "", 0);
	cr_expect_eq(elf_info_read(p, &info), -ENOEXEC);
	cr_expect_eq(elf_info_read(tmp, &info), -ENOEXEC); /* a directory */
	fileset_init(&fs);
	elfdeps_init(&d, &fs);
	tpath(p, "text");
	cr_expect_eq(elfdeps_add(&d, p), -ENOEXEC);
	cr_expect_eq(fs.n, 0, "a refused file was added");
	elfdeps_free(&d);
	fileset_free(&fs);
}

Test(elfdeps, truncated_elf_refused, .init = mk_tmp, .fini = rm_tmp)
{
	const char *ls = access("/bin/ls", R_OK) ? "/usr/bin/ls" : "/bin/ls";
	char p[PATH_MAX];
	struct elf_info info;
	Elf64_Ehdr eh;
	int fd;
	struct fileset fs;
	struct elfdeps d;

	tpath(p, "ls40");
	write_prefix(ls, p, 40);
	cr_expect_eq(elf_info_read(p, &info), -EINVAL);
	/* Header and program headers, but none of the segments. */
	tpath(p, "ls-headers");
	write_prefix(ls, p, sizeof(eh));
	fd = open(p, O_RDONLY);
	cr_assert_eq(read(fd, &eh, sizeof(eh)), (ssize_t)sizeof(eh));
	close(fd);
	write_prefix(ls, p, eh.e_phoff + (size_t)eh.e_phnum * eh.e_phentsize);
	cr_expect_eq(elf_info_read(p, &info), -EINVAL);
	fileset_init(&fs);
	elfdeps_init(&d, &fs);
	tpath(p, "ls40");
	cr_expect_eq(elfdeps_add(&d, p), -EINVAL);
	cr_expect_not_null(strstr(d.err, "malformed"), "%s", d.err);
	elfdeps_free(&d);
	fileset_free(&fs);
}

Test(elfdeps, program_headers_past_end_refused, .init = mk_tmp, .fini = rm_tmp)
{
	char p[PATH_MAX];
	struct elf_info info;

	tpath(p, "phoff");
	write_elf(
	    p, &(struct synth){ .needed = { "libc.so.6" }, .phoff = 1 << 20 });
	cr_expect_eq(elf_info_read(p, &info), -EINVAL);
	tpath(p, "phoff-wrap");
	write_elf(p, &(struct synth){ .phoff = UINT64_MAX - 8 });
	cr_expect_eq(elf_info_read(p, &info), -EINVAL);
	tpath(p, "dynamic");
	write_elf(p, &(struct synth){ .needed = { "libc.so.6" },
				      .dyn_off_add = 1 << 20 });
	cr_expect_eq(elf_info_read(p, &info), -EINVAL);
	/* The same file, honest, is fine. */
	tpath(p, "good");
	write_elf(p, &(struct synth){ .needed = { "libc.so.6" } });
	cr_assert_eq(elf_info_read(p, &info), 0);
	cr_expect_eq(info.nneeded, 1);
	cr_expect_str_eq(info.needed[0], "libc.so.6");
	elf_info_free(&info);
}

/* ---- ld.so.cache reader on hand-made caches ---- */

static void put32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

Test(elfdeps, ldcache_synthetic, .init = mk_tmp, .fini = rm_tmp)
{
	unsigned char c[256] = "glibc-ld.so.cache1.1";
	const char strs[] = "libx.so.1\0/hw/libx.so.1\0/base/libx.so.1";
	uint32_t s0 = 48 + 3 * 24;
	char p[PATH_MAX];
	struct ldcache lc;
	size_t it = 0;
	uint64_t hw = 1ULL << 62;

	put32(c + 20, 3); /* nlibs */
	c[28] = 2; /* little endian */
	/* 0: a glibc-hwcaps variant; 1: baseline; 2: key out of the file */
	put32(c + 48, 0x0303);
	put32(c + 52, s0);
	put32(c + 56, s0 + 10);
	memcpy(c + 64, &hw, 8);
	put32(c + 72, 0x0303);
	put32(c + 76, s0);
	put32(c + 80, s0 + 24);
	put32(c + 96, 0x0303);
	put32(c + 100, 100000);
	put32(c + 104, s0 + 24);
	memcpy(c + s0, strs, sizeof(strs));
	tpath(p, "ld.so.cache");
	write_file(p, c, s0 + sizeof(strs));
	cr_assert_eq(ldcache_open(&lc, p), 0);
	cr_expect_str_eq(ldcache_next(&lc, "libx.so.1", &it),
			 "/base/libx.so.1");
	cr_expect_null(ldcache_next(&lc, "libx.so.1", &it));
	ldcache_close(&lc);

	/* More entries than the file holds. */
	put32(c + 20, 1000);
	write_file(p, c, s0 + sizeof(strs));
	cr_expect_eq(ldcache_open(&lc, p), -EINVAL);
	/* Cut inside the header, and not a cache at all. */
	write_file(p, c, 30);
	cr_expect_eq(ldcache_open(&lc, p), -EINVAL);
	write_file(p, "hello", 5);
	cr_expect_eq(ldcache_open(&lc, p), -EINVAL);
	tpath(p, "none");
	cr_expect_eq(ldcache_open(&lc, p), -ENOENT);
}
