// SPDX-License-Identifier: MIT
/*
 * App image manifest: written with libfdt's sequential-write API, read back
 * with its checked read-only API.
 */
#include "manifest.h"

#include <errno.h>
#include <libfdt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <minivmm/guest_abi.h>

/* A DT string list: each string with its NUL, back to back. */
static int prop_strlist(void *fdt, const char *name, char *const *list)
{
	size_t len = 0, off = 0;
	char *buf;
	int ret;

	for (size_t i = 0; list[i]; i++)
		len += strlen(list[i]) + 1;
	if (len > INT32_MAX)
		return -FDT_ERR_BADVALUE;
	buf = malloc(len ? len : 1);
	if (!buf)
		return -FDT_ERR_NOSPACE;
	for (size_t i = 0; list[i]; i++) {
		size_t l = strlen(list[i]) + 1;

		memcpy(buf + off, list[i], l);
		off += l;
	}
	ret = fdt_property(fdt, name, buf, (int)len);
	free(buf);
	return ret;
}

static int manifest_write(void *fdt, int cap, const struct manifest *m)
{
	uint32_t user[2] = { cpu_to_fdt32(m->uid), cpu_to_fdt32(m->gid) };
	char *const def_writable[] = { "/tmp", NULL };
	char *const *writable =
	    m->writable && m->writable[0] ? m->writable : def_writable;
	int ret;

	/* Each step runs only if all before it worked: the first error is
	 * the one that counts (NOSPACE tells the caller to grow). */
	ret = fdt_create(fdt, cap);
	if (!ret)
		ret = fdt_finish_reservemap(fdt);
	if (!ret)
		ret = fdt_begin_node(fdt, "");
	if (!ret)
		ret = fdt_property_string(fdt, "compatible",
					  MINIVMM_MANIFEST_COMPAT);
	if (!ret)
		ret = fdt_begin_node(fdt, "app");
	if (!ret)
		ret = prop_strlist(fdt, "argv", m->argv);
	if (!ret && m->env && m->env[0])
		ret = prop_strlist(fdt, "env", m->env);
	if (!ret)
		ret = fdt_property_string(fdt, "cwd", m->cwd ? m->cwd : "/");
	if (!ret)
		ret = fdt_property(fdt, "user", user, sizeof(user));
	if (!ret)
		ret = prop_strlist(fdt, "writable", writable);
	if (!ret)
		ret = fdt_end_node(fdt);
	if (!ret)
		ret = fdt_end_node(fdt);
	if (!ret)
		ret = fdt_finish(fdt);
	return ret;
}

int manifest_build(const struct manifest *m, void **blob, size_t *size)
{
	int cap = 4096, ret;

	if (!m->argv || !m->argv[0])
		return -EINVAL;
	/* Grow until it fits; NOSPACE is the only failure we expect. */
	for (int tries = 0; tries < 16; tries++, cap *= 2) {
		void *fdt = malloc(cap);

		if (!fdt)
			return -ENOMEM;
		ret = manifest_write(fdt, cap, m);
		if (!ret) {
			*blob = fdt;
			*size = fdt_totalsize(fdt);
			return 0;
		}
		free(fdt);
		if (ret != -FDT_ERR_NOSPACE)
			return -EINVAL;
	}
	return -ENOMEM;
}

/* Print a string-list property, "  name: s1 s2 ..." (NULs become spaces). */
static int print_strlist(const void *fdt, int node, const char *name, FILE *out,
			 const char *dflt)
{
	int len, n = fdt_stringlist_count(fdt, node, name);

	if (n == -FDT_ERR_NOTFOUND) {
		fprintf(out, "  %-9s %s\n", name, dflt);
		return 0;
	}
	if (n < 0)
		return -EINVAL;
	fprintf(out, "  %-9s", name);
	for (int i = 0; i < n; i++) {
		const char *s = fdt_stringlist_get(fdt, node, name, i, &len);

		if (!s)
			return -EINVAL;
		fprintf(out, " \"%s\"", s);
	}
	fputc('\n', out);
	return 0;
}

int manifest_print(const void *blob, size_t size, FILE *out, const char **why)
{
	const uint32_t *user;
	const char *cwd;
	int app, len;

	*why = "not a flattened device tree";
	if (size < FDT_V17_SIZE || fdt_check_full(blob, size))
		return -EINVAL;
	*why = "compatible is not \"" MINIVMM_MANIFEST_COMPAT "\"";
	if (fdt_node_check_compatible(blob, 0, MINIVMM_MANIFEST_COMPAT))
		return -EINVAL;
	*why = "no /app node";
	app = fdt_path_offset(blob, "/app");
	if (app < 0)
		return -EINVAL;
	*why = "app/argv missing or not a string list";
	if (fdt_stringlist_count(blob, app, "argv") <= 0 ||
	    print_strlist(blob, app, "argv", out, ""))
		return -EINVAL;
	*why = "app/env is not a string list";
	if (print_strlist(blob, app, "env", out, "(none)"))
		return -EINVAL;
	*why = "app/cwd is not a string";
	cwd = fdt_getprop(blob, app, "cwd", &len);
	if (cwd && (len < 1 || cwd[len - 1]))
		return -EINVAL;
	fprintf(out, "  %-9s \"%s\"\n", "cwd", cwd ? cwd : "/");
	*why = "app/user is not <uid gid>";
	user = fdt_getprop(blob, app, "user", &len);
	if (user && len != 8)
		return -EINVAL;
	fprintf(out, "  %-9s %u:%u\n", "user", user ? fdt32_to_cpu(user[0]) : 0,
		user ? fdt32_to_cpu(user[1]) : 0);
	*why = "app/writable is not a string list";
	if (print_strlist(blob, app, "writable", out, "(none)"))
		return -EINVAL;
	*why = NULL;
	return 0;
}
