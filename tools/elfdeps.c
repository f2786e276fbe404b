// SPDX-License-Identifier: MIT
/*
 * ELF dependency closure, following the dynamic loader's rules: see
 * ld.so(8), "Dynamic string tokens" and the search order for DT_NEEDED.
 * ELF reading goes through libelf; every offset and size taken from the file
 * is checked against the file's size before it is used.
 */
#include "elfdeps.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- reading one ELF file ---- */

static bool in_file(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

/* File offset of virtual address @va, the way the loader maps PT_LOADs. */
static int va_to_off(Elf *elf, size_t phnum, uint64_t va, uint64_t *off,
		     uint64_t *avail)
{
	GElf_Phdr ph;

	for (size_t i = 0; i < phnum; i++) {
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (va >= ph.p_vaddr && va - ph.p_vaddr < ph.p_filesz) {
			*off = ph.p_offset + (va - ph.p_vaddr);
			*avail = ph.p_filesz - (va - ph.p_vaddr);
			return 0;
		}
	}
	return -EINVAL;
}

/* A copy of the string at @off in a string table of @size bytes. */
static int dup_str(const Elf_Data *str, uint64_t off, char **out)
{
	const char *base = str->d_buf;

	if (off >= str->d_size || !memchr(base + off, '\0', str->d_size - off))
		return -EINVAL;
	*out = strdup(base + off);
	return *out ? 0 : -ENOMEM;
}

/* DT_NEEDED, DT_SONAME, DT_RPATH, DT_RUNPATH and DT_FLAGS_1 from PT_DYNAMIC. */
static int read_dynamic(Elf *elf, size_t phnum, const GElf_Phdr *dyn,
			struct elf_info *info)
{
	size_t entsz = gelf_fsize(elf, ELF_T_DYN, 1, EV_CURRENT);
	uint64_t strtab = 0, strsz = 0, off, avail;
	Elf_Data *dd, *str;
	size_t n, k = 0;
	GElf_Dyn d;
	int ret = 0;

	if (!entsz)
		return -EINVAL;
	dd = elf_getdata_rawchunk(elf, dyn->p_offset, dyn->p_filesz, ELF_T_DYN);
	if (!dd)
		return -EINVAL;
	n = dyn->p_filesz / entsz;
	for (size_t i = 0; i < n && gelf_getdyn(dd, (int)i, &d); i++) {
		if (d.d_tag == DT_NULL)
			break;
		if (d.d_tag == DT_STRTAB)
			strtab = d.d_un.d_ptr;
		else if (d.d_tag == DT_STRSZ)
			strsz = d.d_un.d_val;
		else if (d.d_tag == DT_NEEDED)
			info->nneeded++;
		else if (d.d_tag == DT_FLAGS_1)
			info->nodeflib = d.d_un.d_val & DF_1_NODEFLIB;
	}
	if (!strtab || !strsz)
		return info->nneeded ? -EINVAL : 0;
	if (va_to_off(elf, phnum, strtab, &off, &avail) || strsz > avail)
		return -EINVAL;
	str = elf_getdata_rawchunk(elf, off, strsz, ELF_T_BYTE);
	if (!str)
		return -EINVAL;
	info->needed = calloc(info->nneeded + 1, sizeof(*info->needed));
	if (!info->needed)
		return -ENOMEM;
	for (size_t i = 0; i < n && !ret && gelf_getdyn(dd, (int)i, &d); i++) {
		if (d.d_tag == DT_NULL)
			break;
		if (d.d_tag == DT_NEEDED && k < info->nneeded)
			ret = dup_str(str, d.d_un.d_val, &info->needed[k++]);
		else if (d.d_tag == DT_SONAME && !info->soname)
			ret = dup_str(str, d.d_un.d_val, &info->soname);
		else if (d.d_tag == DT_RPATH && !info->rpath)
			ret = dup_str(str, d.d_un.d_val, &info->rpath);
		else if (d.d_tag == DT_RUNPATH && !info->runpath)
			ret = dup_str(str, d.d_un.d_val, &info->runpath);
	}
	info->nneeded = k;
	return ret;
}

static int read_elf(int fd, uint64_t size, struct elf_info *info)
{
	GElf_Phdr ph, dyn = { .p_type = PT_NULL };
	size_t phnum, phent;
	GElf_Ehdr eh;
	Elf *elf;
	int ret = -EINVAL;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf)
		return -EINVAL;
	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh) ||
	    elf_getphdrnum(elf, &phnum))
		goto out;
	info->ei_class = gelf_getclass(elf);
	info->machine = eh.e_machine;
	info->type = eh.e_type;
	phent = gelf_fsize(elf, ELF_T_PHDR, 1, EV_CURRENT);
	/* The header table and every segment we read must lie in the file. */
	if (phnum && (eh.e_phentsize != phent ||
		      !in_file(eh.e_phoff, (uint64_t)phnum * phent, size)))
		goto out;
	for (size_t i = 0; i < phnum; i++) {
		if (!gelf_getphdr(elf, (int)i, &ph))
			goto out;
		if (ph.p_type != PT_LOAD && ph.p_type != PT_INTERP &&
		    ph.p_type != PT_DYNAMIC)
			continue;
		if (!in_file(ph.p_offset, ph.p_filesz, size))
			goto out;
		if (ph.p_type == PT_DYNAMIC)
			dyn = ph;
		if (ph.p_type == PT_INTERP && !info->interp) {
			Elf_Data *d = elf_getdata_rawchunk(
			    elf, ph.p_offset, ph.p_filesz, ELF_T_BYTE);

			if (!d || !d->d_size ||
			    !memchr(d->d_buf, '\0', d->d_size))
				goto out;
			info->interp = strdup(d->d_buf);
			if (!info->interp) {
				ret = -ENOMEM;
				goto out;
			}
		}
	}
	ret =
	    dyn.p_type == PT_DYNAMIC ? read_dynamic(elf, phnum, &dyn, info) : 0;
out:
	elf_end(elf);
	return ret;
}

int elf_info_read(const char *path, struct elf_info *info)
{
	unsigned char ident[EI_NIDENT];
	struct stat st;
	ssize_t n;
	int fd, ret;

	memset(info, 0, sizeof(*info));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		ret = -errno;
		goto out;
	}
	ret = -ENOEXEC;
	if (!S_ISREG(st.st_mode))
		goto out;
	n = pread(fd, ident, sizeof(ident), 0);
	if (n < SELFMAG || memcmp(ident, ELFMAG, SELFMAG))
		goto out;
	ret = -EINVAL;
	if (n < EI_NIDENT ||
	    (ident[EI_CLASS] != ELFCLASS32 && ident[EI_CLASS] != ELFCLASS64))
		goto out;
	ret = read_elf(fd, st.st_size, info);
	if (ret)
		elf_info_free(info);
out:
	close(fd);
	return ret;
}

void elf_info_free(struct elf_info *info)
{
	for (size_t i = 0; info->needed && i < info->nneeded; i++)
		free(info->needed[i]);
	free(info->needed);
	free(info->interp);
	free(info->soname);
	free(info->rpath);
	free(info->runpath);
	memset(info, 0, sizeof(*info));
}

/* ---- the loader's conventions per architecture (Debian multiarch) ---- */

/* Debian's multiarch directories first, then the classic ones. */
static const char *const dirs_x86_64[] = {
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/lib",
	"/usr/lib", NULL
};
static const char *const dirs_i386[] = { "/lib/i386-linux-gnu",
					 "/usr/lib/i386-linux-gnu", "/lib",
					 "/usr/lib", NULL };
static const char *const dirs_aarch64[] = {
	"/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib64",
	"/lib", "/usr/lib", NULL
};
static const char *const dirs_other64[] = { "/lib64", "/usr/lib64", "/lib",
					    "/usr/lib", NULL };
static const char *const dirs_other32[] = { "/lib", "/usr/lib", NULL };

static const struct abi {
	int machine, ei_class;
	const char *lib, *platform;
	const char *const *dirs;
} abis[] = {
	{ EM_X86_64, ELFCLASS64, "lib/x86_64-linux-gnu", "x86_64",
	  dirs_x86_64 },
	{ EM_386, ELFCLASS32, "lib/i386-linux-gnu", "i686", dirs_i386 },
	{ EM_AARCH64, ELFCLASS64, "lib/aarch64-linux-gnu", "aarch64",
	  dirs_aarch64 },
};

static const struct abi *abi_of(int machine, int ei_class)
{
	for (size_t i = 0; i < sizeof(abis) / sizeof(abis[0]); i++)
		if (abis[i].machine == machine && abis[i].ei_class == ei_class)
			return &abis[i];
	return NULL;
}

const char *const *elfdeps_default_dirs(int machine, int ei_class)
{
	const struct abi *a = abi_of(machine, ei_class);

	if (a)
		return a->dirs;
	return ei_class == ELFCLASS64 ? dirs_other64 : dirs_other32;
}

const char *elfdeps_lib(int machine, int ei_class)
{
	const struct abi *a = abi_of(machine, ei_class);

	if (a)
		return a->lib;
	return ei_class == ELFCLASS64 ? "lib64" : "lib";
}

const char *elfdeps_platform(int machine, int ei_class)
{
	const struct abi *a = abi_of(machine, ei_class);

	return a ? a->platform : "";
}

int elfdeps_expand(const char *in, const char *origin, const char *lib,
		   const char *platform, char *out, size_t len)
{
	const char *names[] = { "ORIGIN", "LIB", "PLATFORM" };
	const char *vals[] = { origin, lib, platform };
	size_t o = 0;

	for (const char *p = in; *p;) {
		const char *val = p;
		size_t vlen = 1, skip = 1;

		for (size_t t = 0; *p == '$' && t < 3; t++) {
			size_t n = strlen(names[t]);
			size_t s = 0;

			if (p[1] == '{' && !strncmp(p + 2, names[t], n) &&
			    p[2 + n] == '}')
				s = n + 3;
			else if (!strncmp(p + 1, names[t], n) &&
				 (p[1 + n] == '\0' || p[1 + n] == '/'))
				s = n + 1;
			if (!s)
				continue;
			if (!vals[t])
				return -EINVAL;
			val = vals[t];
			vlen = strlen(val);
			skip = s;
			break;
		}
		if (o + vlen >= len)
			return -ENAMETOOLONG;
		memcpy(out + o, val, vlen);
		o += vlen;
		p += skip;
	}
	if (o >= len)
		return -ENAMETOOLONG;
	out[o] = '\0';
	return 0;
}

/* ---- the closure ---- */

void elfdeps_init(struct elfdeps *d, struct fileset *fs)
{
	memset(d, 0, sizeof(*d));
	d->fs = fs;
	d->cache_path = LDCACHE_PATH;
}

void elfdeps_free(struct elfdeps *d)
{
	for (size_t i = 0; i < d->nobj; i++) {
		free(d->obj[i].name);
		free(d->obj[i].path);
		free(d->obj[i].real);
		free(d->obj[i].origin);
		elf_info_free(&d->obj[i].info);
	}
	free(d->obj);
	if (d->cache_state == 1)
		ldcache_close(&d->cache);
	d->obj = NULL;
	d->nobj = d->cap = 0;
}

static long find_by_name(const struct elfdeps *d, const char *name)
{
	for (size_t i = 0; i < d->nobj; i++) {
		const struct elf_obj *o = &d->obj[i];

		if ((o->name && !strcmp(o->name, name)) ||
		    (o->info.soname && !strcmp(o->info.soname, name)))
			return (long)i;
	}
	return -1;
}

static long find_by_real(const struct elfdeps *d, const char *real)
{
	for (size_t i = 0; i < d->nobj; i++)
		if (!strcmp(d->obj[i].real, real))
			return (long)i;
	return -1;
}

/*
 * Record an object found at @path (already known to be a matching ELF
 * described by @info, which is taken over).  Its files go into the fileset
 * with the symlinks on the way; an object already present under another
 * name or path is not processed twice.
 */
static int obj_add(struct elfdeps *d, const char *name, const char *path,
		   struct elf_info *info, long parent, long root)
{
	char real[PATH_MAX], dir[PATH_MAX];
	struct elf_obj *o;
	int ret;

	ret = fileset_add_path(d->fs, path, real);
	if (ret) {
		snprintf(d->err, sizeof(d->err), "%s: %s", path,
			 strerror(-ret));
		goto drop;
	}
	if (find_by_real(d, real) >= 0)
		goto drop;
	/* $ORIGIN is the directory of the name the object was opened by. */
	ret = path_normalise(NULL, path, dir) ? -ENAMETOOLONG : 0;
	if (ret)
		goto drop;
	*strrchr(dir, '/') = '\0';
	if (d->nobj == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 16;

		o = realloc(d->obj, cap * sizeof(*o));
		ret = -ENOMEM;
		if (!o)
			goto drop;
		d->obj = o;
		d->cap = cap;
	}
	o = &d->obj[d->nobj];
	memset(o, 0, sizeof(*o));
	o->name = name ? strdup(name) : NULL;
	o->path = strdup(path);
	o->real = strdup(real);
	o->origin = strdup(dir[0] ? dir : "/");
	if ((name && !o->name) || !o->path || !o->real || !o->origin) {
		free(o->name);
		free(o->path);
		free(o->real);
		free(o->origin);
		ret = -ENOMEM;
		goto drop;
	}
	o->info = *info;
	o->parent = parent;
	o->root = root < 0 ? (long)d->nobj : root;
	d->nobj++;
	return 0;
drop:
	elf_info_free(info);
	return ret;
}

/* Is @cand a library the loader would take for an object of @root? */
static int try_cand(const struct elfdeps *d, long root, const char *cand,
		    struct elf_info *info)
{
	const struct elf_info *r = &d->obj[root].info;

	if (access(cand, F_OK) || elf_info_read(cand, info))
		return -ENOENT;
	if (info->ei_class == r->ei_class && info->machine == r->machine)
		return 0;
	elf_info_free(info); /* wrong class or machine: keep looking */
	return -ENOENT;
}

/* Search the RPATH/RUNPATH @list of object @who for @name. */
static int search_list(const struct elfdeps *d, long who, const char *list,
		       const char *name, long root, char *found,
		       struct elf_info *info)
{
	const struct elf_info *r = &d->obj[root].info;
	const char *lib = elfdeps_lib(r->machine, r->ei_class);
	const char *plat = elfdeps_platform(r->machine, r->ei_class);
	char elem[PATH_MAX], dir[PATH_MAX], cand[PATH_MAX];

	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ":;");

		if (n && n < sizeof(elem)) {
			memcpy(elem, p, n);
			elem[n] = '\0';
			if (!elfdeps_expand(elem, d->obj[who].origin, lib, plat,
					    dir, sizeof(dir)) &&
			    snprintf(cand, sizeof(cand), "%s/%s", dir, name) <
				(int)sizeof(cand) &&
			    !path_normalise(NULL, cand, found) &&
			    !try_cand(d, root, found, info))
				return 0;
		}
		p += n;
		if (*p)
			p++;
	}
	return -ENOENT;
}

static int search_cache(struct elfdeps *d, const char *name, long root,
			char *found, struct elf_info *info)
{
	const char *p;
	size_t it = 0;

	if (!d->cache_state)
		d->cache_state = ldcache_open(&d->cache, d->cache_path) ?: 1;
	if (d->cache_state != 1)
		return -ENOENT;
	while ((p = ldcache_next(&d->cache, name, &it)))
		if (strlen(p) < PATH_MAX && !try_cand(d, root, p, info)) {
			strcpy(found, p);
			return 0;
		}
	return -ENOENT;
}

/* Find DT_NEEDED @name of object @i, in ld.so's order, and add it. */
static int resolve(struct elfdeps *d, long i, const char *name)
{
	const struct elf_obj *o = &d->obj[i];
	const struct elf_info *r = &d->obj[o->root].info;
	long root = o->root;
	char found[PATH_MAX], tmp[PATH_MAX];
	const char *const *dir;
	struct elf_info info;
	int ret = -ENOENT;

	if (find_by_name(d, name) >= 0)
		return 0;
	if (strchr(name, '/')) {
		/* A path: used as is, after token expansion. */
		if (!elfdeps_expand(name, o->origin,
				    elfdeps_lib(r->machine, r->ei_class),
				    elfdeps_platform(r->machine, r->ei_class),
				    tmp, sizeof(tmp)) &&
		    !path_normalise(NULL, tmp, found))
			ret = try_cand(d, root, found, &info);
		goto done;
	}
	/* DT_RPATH of the object and of its loaders, unless it has RUNPATH. */
	for (long j = i; !o->info.runpath && j >= 0 && ret;
	     j = d->obj[j].parent)
		if (!d->obj[j].info.runpath && d->obj[j].info.rpath)
			ret = search_list(d, j, d->obj[j].info.rpath, name,
					  root, found, &info);
	/* (LD_LIBRARY_PATH would come here: the guest has none of ours.) */
	if (ret && o->info.runpath)
		ret = search_list(d, i, o->info.runpath, name, root, found,
				  &info);
	if (ret && !o->info.nodeflib)
		ret = search_cache(d, name, root, found, &info);
	dir = elfdeps_default_dirs(r->machine, r->ei_class);
	for (; ret && !o->info.nodeflib && *dir; dir++)
		if (snprintf(tmp, sizeof(tmp), "%s/%s", *dir, name) <
		    (int)sizeof(tmp)) {
			strcpy(found, tmp);
			ret = try_cand(d, root, found, &info);
		}
done:
	if (ret) {
		snprintf(d->err, sizeof(d->err),
			 "%s (needed by %s): not found in its RPATH/RUNPATH, "
			 "%s or the default directories",
			 name, o->path, d->cache_path);
		return -ENOENT;
	}
	return obj_add(d, name, found, &info, i, root);
}

int elfdeps_add(struct elfdeps *d, const char *path)
{
	char real[PATH_MAX], ipath[PATH_MAX];
	struct elf_info info, iinfo;
	long root;
	int ret;

	ret = elf_info_read(path, &info);
	if (ret == -ENOEXEC)
		return ret;
	if (ret) {
		snprintf(d->err, sizeof(d->err), "%s: %s", path,
			 ret == -EINVAL ? "truncated or malformed ELF file"
					: strerror(-ret));
		return ret;
	}
	if (!realpath(path, real)) {
		elf_info_free(&info);
		ret = -errno;
		snprintf(d->err, sizeof(d->err), "%s: %s", path,
			 strerror(errno));
		return ret;
	}
	if (find_by_real(d, real) >= 0) {
		elf_info_free(&info);
		return 0;
	}
	root = (long)d->nobj;
	ret = obj_add(d, NULL, path, &info, -1, -1);
	if (ret)
		return ret;
	/* For the program itself ld.so takes $ORIGIN from /proc/self/exe,
	 * symlinks resolved. */
	*strrchr(real, '/') = '\0';
	free(d->obj[root].origin);
	d->obj[root].origin = strdup(real[0] ? real : "/");
	if (!d->obj[root].origin)
		return -ENOMEM;
	/* The program's loader comes from PT_INTERP; the kernel opens it. */
	if (d->obj[root].info.interp) {
		snprintf(ipath, sizeof(ipath), "%s", d->obj[root].info.interp);
		ret = elf_info_read(ipath, &iinfo);
		if (ret) {
			snprintf(d->err, sizeof(d->err),
				 "%s: interpreter %s: %s", path, ipath,
				 ret == -EINVAL || ret == -ENOEXEC
				     ? "not a valid ELF file"
				     : strerror(-ret));
			return ret;
		}
		ret = obj_add(d, NULL, ipath, &iinfo, root, root);
		if (ret)
			return ret;
	}
	/* Breadth first, as the loader does: objects appended as found. */
	for (size_t i = root; i < d->nobj; i++)
		for (size_t k = 0; k < d->obj[i].info.nneeded; k++) {
			ret = resolve(d, (long)i, d->obj[i].info.needed[k]);
			if (ret)
				return ret;
		}
	return 0;
}
