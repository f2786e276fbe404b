// SPDX-License-Identifier: MIT
/*
 * Launch description and app manifest parsers: turn the flattened device
 * trees minivmm puts in the initramfs, and minivmm-image puts in an app image,
 * into the argv, env, cwd, root, user and writable directories of the app and
 * the place of the exit device (net.c decodes the net node); then merge the
 * two.  Layouts in include/minivmm/guest_abi.h.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

#include "minivmm/guest_abi.h"
#include "launch_parse.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* File systems an app image may use; root-fstype is one of these. */
static const char *const app_fstypes[] = {"erofs", "ext4", "squashfs"};

/* Flags of dt_get_list(). */
#define DT_LIST_REQUIRED 0x1 /* absent is an error */
#define DT_LIST_NONEMPTY 0x2 /* present but empty is an error */

/* Both structs keep their reason in a LAUNCH_ERR_LEN buffer. */
static int dt_err(char *err, int ret, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int dt_err(char *err, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, LAUNCH_ERR_LEN, fmt, ap);
	va_end(ap);
	return ret;
}

/*
 * Everything a lookup relies on: the header, the size, and a full walk of the
 * structure block, so that later lookups cannot run off it.
 */
static int dt_check_blob(char *err, const void *blob, size_t size,
			 const char *compat)
{
	int ret;

	/* fdt_check_header() reads a whole v17 header: it must be there. */
	if (!blob || size < sizeof(struct fdt_header))
		return dt_err(err, -EINVAL, "too short (%zu bytes)", size);
	if ((uintptr_t)blob % 8)
		return dt_err(err, -EINVAL, "not 8-byte aligned");
	ret = fdt_check_header(blob);
	if (ret)
		return dt_err(err, -EINVAL, "bad header: %s",
			      fdt_strerror(ret));
	if (fdt_totalsize(blob) > size || size > INT_MAX)
		return dt_err(err, -EINVAL,
			      "truncated (header says %u bytes, have %zu)",
			      fdt_totalsize(blob), size);
	ret = fdt_check_full(blob, fdt_totalsize(blob));
	if (ret)
		return dt_err(err, -EINVAL, "malformed: %s", fdt_strerror(ret));
	if (fdt_node_check_compatible(blob, 0, compat))
		return dt_err(err, -EINVAL, "not compatible with \"%s\"",
			      compat);
	return 0;
}

/*
 * A fixed-size property of node @where, copied out (it may be unaligned).
 * An absent one is an error when @required, else leaves @out alone.
 */
static int dt_get_cells(char *err, const void *fdt, int node, const char *where,
			const char *name, bool required, void *out, int size)
{
	const void *p;
	int len;

	p = fdt_getprop(fdt, node, name, &len);
	if (!p && len == -FDT_ERR_NOTFOUND && !required)
		return 0;
	if (!p)
		return dt_err(err, -EINVAL, "%s/%s: %s", where, name,
			      fdt_strerror(len));
	if (len != size)
		return dt_err(err, -EINVAL, "%s/%s: %d bytes, want %d", where,
			      name, len, size);
	memcpy(out, p, size);
	return 0;
}

/* A string list property of node @where, as a NULL-terminated array. */
static int dt_get_list(char *err, const void *fdt, int node, const char *where,
		       const char *name, unsigned int flags, const char ***out)
{
	const char **list;
	int count, i, len;

	count = fdt_stringlist_count(fdt, node, name);
	if (count == -FDT_ERR_NOTFOUND && !(flags & DT_LIST_REQUIRED))
		count = 0;
	else if (count == -FDT_ERR_NOTFOUND)
		return dt_err(err, -EINVAL, "%s/%s: missing", where, name);
	else if (count == -FDT_ERR_BADVALUE)
		return dt_err(err, -EINVAL, "%s/%s: not NUL terminated", where,
			      name);
	else if (count < 0)
		return dt_err(err, -EINVAL, "%s/%s: %s", where, name,
			      fdt_strerror(count));
	else if (count == 0 && (flags & DT_LIST_NONEMPTY))
		return dt_err(err, -EINVAL, "%s/%s: empty", where, name);

	list = calloc((size_t)count + 1, sizeof(*list));
	if (!list)
		return dt_err(err, -ENOMEM, "%s/%s: out of memory", where,
			      name);
	for (i = 0; i < count; i++) {
		list[i] = fdt_stringlist_get(fdt, node, name, i, &len);
		if (!list[i]) {
			free(list);
			return dt_err(err, -EINVAL, "%s/%s[%d]: %s", where,
				      name, i, fdt_strerror(len));
		}
	}
	*out = list;
	return 0;
}

/* A single string property of node @where; absent leaves @out alone. */
static int dt_get_string(char *err, const void *fdt, int node,
			 const char *where, const char *name, const char **out)
{
	const char *s;
	int len;

	s = fdt_getprop(fdt, node, name, &len);
	if (!s && len == -FDT_ERR_NOTFOUND)
		return 0;
	if (!s)
		return dt_err(err, -EINVAL, "%s/%s: %s", where, name,
			      fdt_strerror(len));
	/* One NUL, at the end: a string list also passes s[len - 1]. */
	if (len < 1 || strnlen(s, len) != (size_t)len - 1)
		return dt_err(err, -EINVAL,
			      "%s/%s: not one NUL-terminated string", where,
			      name);
	*out = s;
	return 0;
}

/* As dt_get_string(), for an absolute path. */
static int dt_get_path(char *err, const void *fdt, int node, const char *where,
		       const char *name, const char **out)
{
	const char *s = NULL;
	int ret;

	ret = dt_get_string(err, fdt, node, where, name, &s);
	if (ret || !s)
		return ret;
	if (s[0] != '/')
		return dt_err(err, -EINVAL, "%s/%s: '%s' is not absolute",
			      where, name, s);
	*out = s;
	return 0;
}

/* argv[0] is the program: an empty one cannot be run. */
static int dt_check_argv(char *err, const char *where, const char **argv)
{
	if (argv[0] && !argv[0][0])
		return dt_err(err, -EINVAL, "%s/argv: argv[0] is empty", where);
	return 0;
}

static int dt_check_env(char *err, const char *where, const char **env)
{
	int i;

	for (i = 0; env[i]; i++) {
		if (!strchr(env[i], '=') || env[i][0] == '=')
			return dt_err(err, -EINVAL,
				      "%s/env: '%s' is not NAME=value", where,
				      env[i]);
	}
	return 0;
}

/*
 * The exit-device node may be absent (the guest_abi.h defaults apply); when
 * present it must describe the device fully.  The values are only stored
 * once all of them are known good.
 */
static int launch_get_exit(struct launch *l, const void *fdt)
{
	static const char where[] = "/exit-device";
	fdt64_t addr_be;
	fdt32_t port_be;
	uint64_t addr;
	uint32_t port;
	int node, err;

	node = fdt_path_offset(fdt, where);
	if (node == -FDT_ERR_NOTFOUND)
		return 0;
	if (node < 0)
		return dt_err(l->err, -EINVAL, "%s: %s", where,
			      fdt_strerror(node));

	/* The ABI fixes reg at two cells, whatever #address-cells says. */
	err = dt_get_cells(l->err, fdt, node, where, "reg", true, &addr_be,
			   sizeof(addr_be));
	if (!err)
		err = dt_get_cells(l->err, fdt, node, where, "io-port", true,
				   &port_be, sizeof(port_be));
	if (err)
		return err;
	addr = fdt64_to_cpu(addr_be);
	port = fdt32_to_cpu(port_be);

	/* Mapped from /dev/mem: a whole page, at an offset off_t holds. */
	if (addr % MINIVMM_EXIT_MMIO_SIZE ||
	    addr > (uint64_t)INT64_MAX - MINIVMM_EXIT_MMIO_SIZE)
		return dt_err(l->err, -EINVAL, "%s/reg: bad address 0x%llx",
			      where, (unsigned long long)addr);
	if (port > UINT16_MAX)
		return dt_err(l->err, -EINVAL, "%s/io-port: bad port 0x%x",
			      where, port);
	l->exit_addr = addr;
	l->exit_port = (uint16_t)port;
	return 0;
}

/* root-disk and root-fstype: the app image form, when root-disk is there. */
static int launch_get_disk(struct launch *l, const void *fdt, int node)
{
	const char *fstype = NULL;
	size_t i;
	int err;

	err =
	    dt_get_path(l->err, fdt, node, "/app", "root-disk", &l->root_disk);
	if (!err)
		err = dt_get_string(l->err, fdt, node, "/app", "root-fstype",
				    &fstype);
	if (err)
		return err;
	if (!l->root_disk) {
		/* Likely a mistake worth a word rather than silence. */
		if (fstype)
			return dt_err(
			    l->err, -EINVAL,
			    "/app/root-fstype: given without root-disk");
		return 0;
	}
	/* Mounting over the initramfs root would hide init's own mounts. */
	if (!strcmp(l->root, "/"))
		return dt_err(l->err, -EINVAL,
			      "/app/root: '/' cannot hold the app disk");
	if (!fstype)
		fstype = app_fstypes[0];
	for (i = 0; i < ARRAY_SIZE(app_fstypes); i++) {
		if (!strcmp(fstype, app_fstypes[i])) {
			l->root_fstype = app_fstypes[i];
			return 0;
		}
	}
	return dt_err(l->err, -EINVAL,
		      "/app/root-fstype: '%s' is not erofs, ext4 or squashfs",
		      fstype);
}

int launch_parse(const void *blob, size_t size, struct launch *l)
{
	unsigned int argv_flags;
	int node, err;

	memset(l, 0, sizeof(*l));
	l->root = MINIVMM_APP_ROOT;
	l->exit_addr = MINIVMM_EXIT_MMIO;
	l->exit_port = MINIVMM_EXIT_PORT;

	err = dt_check_blob(l->err, blob, size, MINIVMM_LAUNCH_COMPAT);
	if (err)
		goto fail;
	/* First, so that later errors can still be reported where asked. */
	err = launch_get_exit(l, blob);
	if (err)
		goto fail;

	node = fdt_path_offset(blob, "/app");
	if (node < 0) {
		err = dt_err(l->err, -EINVAL, "/app: %s", fdt_strerror(node));
		goto fail;
	}
	err = dt_get_path(l->err, blob, node, "/app", "root", &l->root);
	if (!err)
		err = launch_get_disk(l, blob, node);
	if (err)
		goto fail;
	/* An app image brings its own argv: the launch's is then optional. */
	argv_flags = DT_LIST_NONEMPTY | (l->root_disk ? 0 : DT_LIST_REQUIRED);
	err = dt_get_list(l->err, blob, node, "/app", "argv", argv_flags,
			  &l->argv);
	if (!err)
		err =
		    dt_get_list(l->err, blob, node, "/app", "env", 0, &l->env);
	if (!err)
		err = dt_get_path(l->err, blob, node, "/app", "cwd", &l->cwd);
	if (!err)
		err = dt_check_argv(l->err, "/app", l->argv);
	if (!err)
		err = dt_check_env(l->err, "/app", l->env);
	if (!err)
		err = net_parse(blob, &l->net, l->err, sizeof(l->err));
	if (err)
		goto fail;
	l->has_cwd = l->cwd != NULL;
	if (!l->cwd)
		l->cwd = "/";
	return 0;

fail:
	launch_free(l);
	l->root_disk = NULL;
	l->root_fstype = NULL;
	memset(&l->net, 0, sizeof(l->net));
	return err;
}

void launch_free(struct launch *l)
{
	free(l->argv);
	free(l->env);
	l->argv = NULL;
	l->env = NULL;
}

/* Absolute, not "/", and no empty, "." or ".." component. */
static bool path_is_canonical(const char *p)
{
	size_t len;

	if (p[0] != '/' || !p[1])
		return false;
	for (p++;; p += len + 1) {
		len = strcspn(p, "/");
		if (len == 0 || (len == 1 && p[0] == '.') ||
		    (len == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (!p[len])
			return true;
	}
}

/*
 * Path order with '/' below every other byte but NUL, so that each path is
 * directly followed by the paths below it: "/a", "/a/b", "/a-b".  The byte
 * mapping stays one to one, so only equal strings compare equal.
 */
static int path_key(unsigned char c)
{
	if (c == '/')
		return 1;
	return c && c < '/' ? c + 1 : c;
}

static int path_cmp(const void *a, const void *b)
{
	const unsigned char *x = *(const unsigned char *const *)a;
	const unsigned char *y = *(const unsigned char *const *)b;

	for (; *x && *x == *y; x++, y++)
		;
	return path_key(*x) - path_key(*y);
}

/*
 * Each writable path is canonical, and none lies inside another: a tmpfs
 * over the outer one would hide the inner one.  Sorted, any such pair shows
 * up as two neighbours, so this is O(n log n) however long the list.
 */
static int manifest_check_writable(struct manifest *m)
{
	const char **sorted;
	size_t n, i, len;
	int err = 0;

	for (n = 0; m->writable[n]; n++) {
		if (!path_is_canonical(m->writable[n]))
			return dt_err(m->err, -EINVAL,
				      "/app/writable: '%s' is not a canonical "
				      "absolute path other than '/'",
				      m->writable[n]);
	}
	if (n < 2)
		return 0;
	sorted = malloc(n * sizeof(*sorted));
	if (!sorted)
		return dt_err(m->err, -ENOMEM, "/app/writable: out of memory");
	memcpy(sorted, m->writable, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), path_cmp);
	for (i = 1; !err && i < n; i++) {
		len = strlen(sorted[i - 1]);
		if (!strcmp(sorted[i - 1], sorted[i]))
			err = dt_err(m->err, -EINVAL,
				     "/app/writable: '%s' listed twice",
				     sorted[i]);
		else if (!strncmp(sorted[i - 1], sorted[i], len) &&
			 sorted[i][len] == '/')
			err = dt_err(m->err, -EINVAL,
				     "/app/writable: '%s' lies inside '%s'",
				     sorted[i], sorted[i - 1]);
	}
	free(sorted);
	return err;
}

/* user = <uid gid>: two cells; -1 is not an id (setuid() refuses it). */
static int manifest_get_user(struct manifest *m, const void *fdt, int node)
{
	fdt32_t ids[2] = {0, 0};
	int err;

	err = dt_get_cells(m->err, fdt, node, "/app", "user", false, ids,
			   sizeof(ids));
	if (err)
		return err;
	m->uid = fdt32_to_cpu(ids[0]);
	m->gid = fdt32_to_cpu(ids[1]);
	if (m->uid == UINT32_MAX || m->gid == UINT32_MAX)
		return dt_err(m->err, -EINVAL,
			      "/app/user: <%u %u> is not valid", m->uid,
			      m->gid);
	return 0;
}

int manifest_parse(const void *blob, size_t size, struct manifest *m)
{
	int node, err;

	memset(m, 0, sizeof(*m));
	m->cwd = "/";

	err = dt_check_blob(m->err, blob, size, MINIVMM_MANIFEST_COMPAT);
	if (err)
		goto fail;
	node = fdt_path_offset(blob, "/app");
	if (node < 0) {
		err = dt_err(m->err, -EINVAL, "/app: %s", fdt_strerror(node));
		goto fail;
	}
	err = dt_get_list(m->err, blob, node, "/app", "argv",
			  DT_LIST_REQUIRED | DT_LIST_NONEMPTY, &m->argv);
	if (!err)
		err =
		    dt_get_list(m->err, blob, node, "/app", "env", 0, &m->env);
	if (!err)
		err = dt_get_list(m->err, blob, node, "/app", "writable", 0,
				  &m->writable);
	if (!err)
		err = dt_get_path(m->err, blob, node, "/app", "cwd", &m->cwd);
	if (!err)
		err = manifest_get_user(m, blob, node);
	if (!err)
		err = dt_check_argv(m->err, "/app", m->argv);
	if (!err)
		err = dt_check_env(m->err, "/app", m->env);
	if (!err)
		err = manifest_check_writable(m);
	if (err)
		goto fail;
	return 0;

fail:
	manifest_free(m);
	return err;
}

void manifest_free(struct manifest *m)
{
	free(m->argv);
	free(m->env);
	free(m->writable);
	m->argv = NULL;
	m->env = NULL;
	m->writable = NULL;
}

/* An env entry and its place in the concatenated list. */
struct env_slot {
	const char *s;
	size_t pos;
};

/* Compare the names, the bytes before '=' (every entry has one). */
static int env_name_cmp(const char *x, const char *y)
{
	size_t nx = strcspn(x, "="), ny = strcspn(y, "=");
	int c = memcmp(x, y, nx < ny ? nx : ny);

	if (c)
		return c;
	return (nx > ny) - (nx < ny);
}

/* By name, then by place. */
static int env_slot_cmp(const void *a, const void *b)
{
	const struct env_slot *x = a, *y = b;
	int c = env_name_cmp(x->s, y->s);

	if (c)
		return c;
	return (x->pos > y->pos) - (x->pos < y->pos);
}

/*
 * @first then @second, each name once: the last value, at the first place.
 * Sorting by name groups the duplicates, so this stays O(n log n).
 */
static int env_merge(const char **first, const char **second, const char ***out)
{
	struct env_slot *slots;
	const char **env;
	size_t n1, n2, n, i, g, k;

	for (n1 = 0; first[n1]; n1++)
		;
	for (n2 = 0; second[n2]; n2++)
		;
	n = n1 + n2;
	slots = calloc(n ? n : 1, sizeof(*slots));
	env = calloc(n + 1, sizeof(*env));
	if (!slots || !env) {
		free(slots);
		free(env);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		slots[i].pos = i;
		slots[i].s = i < n1 ? first[i] : second[i - n1];
	}
	qsort(slots, n, sizeof(*slots), env_slot_cmp);
	for (g = 0; g < n; g = k) {
		for (k = g + 1; k < n && !env_name_cmp(slots[k].s, slots[g].s);
		     k++)
			;
		env[slots[g].pos] = slots[k - 1].s;
	}
	/* Close up the places of the values that lost. */
	for (i = 0, k = 0; i < n; i++) {
		if (env[i])
			env[k++] = env[i];
	}
	env[k] = NULL;
	free(slots);
	*out = env;
	return 0;
}

int app_merge(const struct launch *l, const struct manifest *m, struct app *a)
{
	int err;

	memset(a, 0, sizeof(*a));
	if (!m) {
		/* The directory form: the launch description as it stands. */
		if (!l->argv || !l->argv[0])
			return -EINVAL;
		a->argv = l->argv;
		a->env = l->env;
		a->cwd = l->cwd;
		return 0;
	}
	a->argv = l->argv && l->argv[0] ? l->argv : m->argv;
	if (!a->argv || !a->argv[0])
		return -EINVAL;
	err = env_merge(m->env, l->env, &a->env_owned);
	if (err)
		return err;
	a->env = a->env_owned;
	a->cwd = l->has_cwd ? l->cwd : m->cwd;
	a->uid = m->uid;
	a->gid = m->gid;
	a->set_user = true;
	return 0;
}

void app_free(struct app *a)
{
	free(a->env_owned);
	a->env_owned = NULL;
	a->env = NULL;
}
