// SPDX-License-Identifier: MIT
/*
 * Launch description parser: turns the flattened device tree minivmm puts in
 * the initramfs into the argv, env, cwd and root of the app, and the place of
 * the exit device.  Layout in include/minivmm/guest_abi.h.
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

static int launch_err(struct launch *l, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int launch_err(struct launch *l, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->err, sizeof(l->err), fmt, ap);
	va_end(ap);
	return err;
}

/* A fixed-size property of /exit-device, copied out (it may be unaligned). */
static int launch_get_cells(struct launch *l, const void *fdt, int node,
			    const char *name, void *out, int size)
{
	const void *p;
	int len;

	p = fdt_getprop(fdt, node, name, &len);
	if (!p)
		return launch_err(l, -EINVAL, "/exit-device/%s: %s", name,
				  fdt_strerror(len));
	if (len != size)
		return launch_err(l, -EINVAL,
				  "/exit-device/%s: %d bytes, want %d", name,
				  len, size);
	memcpy(out, p, size);
	return 0;
}

/*
 * The exit-device node may be absent (the guest_abi.h defaults apply); when
 * present it must describe the device fully.  The values are only stored
 * once all of them are known good.
 */
static int launch_get_exit(struct launch *l, const void *fdt)
{
	fdt64_t addr_be;
	fdt32_t port_be;
	uint64_t addr;
	uint32_t port;
	int node, err;

	node = fdt_path_offset(fdt, "/exit-device");
	if (node == -FDT_ERR_NOTFOUND)
		return 0;
	if (node < 0)
		return launch_err(l, -EINVAL, "/exit-device: %s",
				  fdt_strerror(node));

	/* The ABI fixes reg at two cells, whatever #address-cells says. */
	err = launch_get_cells(l, fdt, node, "reg", &addr_be, sizeof(addr_be));
	if (!err)
		err = launch_get_cells(l, fdt, node, "io-port", &port_be,
				       sizeof(port_be));
	if (err)
		return err;
	addr = fdt64_to_cpu(addr_be);
	port = fdt32_to_cpu(port_be);

	/* Mapped from /dev/mem: a whole page, at an offset off_t holds. */
	if (addr % MINIVMM_EXIT_MMIO_SIZE ||
	    addr > (uint64_t)INT64_MAX - MINIVMM_EXIT_MMIO_SIZE)
		return launch_err(l, -EINVAL,
				  "/exit-device/reg: bad address 0x%llx",
				  (unsigned long long)addr);
	if (port > UINT16_MAX)
		return launch_err(l, -EINVAL,
				  "/exit-device/io-port: bad port 0x%x", port);
	l->exit_addr = addr;
	l->exit_port = (uint16_t)port;
	return 0;
}

/* A string list property of /app, as a NULL-terminated array. */
static int launch_get_list(struct launch *l, const void *fdt, int node,
			   const char *name, bool required, const char ***out)
{
	const char **list;
	int count, i, len;

	count = fdt_stringlist_count(fdt, node, name);
	if (count == -FDT_ERR_NOTFOUND && !required)
		count = 0;
	else if (count == -FDT_ERR_NOTFOUND)
		return launch_err(l, -EINVAL, "/app/%s: missing", name);
	else if (count == -FDT_ERR_BADVALUE)
		return launch_err(l, -EINVAL, "/app/%s: not NUL terminated",
				  name);
	else if (count < 0)
		return launch_err(l, -EINVAL, "/app/%s: %s", name,
				  fdt_strerror(count));
	if (required && count == 0)
		return launch_err(l, -EINVAL, "/app/%s: empty", name);

	list = calloc((size_t)count + 1, sizeof(*list));
	if (!list)
		return launch_err(l, -ENOMEM, "/app/%s: out of memory", name);
	for (i = 0; i < count; i++) {
		list[i] = fdt_stringlist_get(fdt, node, name, i, &len);
		if (!list[i]) {
			free(list);
			return launch_err(l, -EINVAL, "/app/%s[%d]: %s", name,
					  i, fdt_strerror(len));
		}
	}
	*out = list;
	return 0;
}

/* A single absolute path property of /app; absent keeps the default. */
static int launch_get_path(struct launch *l, const void *fdt, int node,
			   const char *name, const char **out)
{
	const char *s;
	int len;

	s = fdt_getprop(fdt, node, name, &len);
	if (!s && len == -FDT_ERR_NOTFOUND)
		return 0;
	if (!s)
		return launch_err(l, -EINVAL, "/app/%s: %s", name,
				  fdt_strerror(len));
	/* One NUL, at the end: a string list also passes s[len - 1]. */
	if (len < 1 || strnlen(s, len) != (size_t)len - 1)
		return launch_err(
		    l, -EINVAL, "/app/%s: not one NUL-terminated string", name);
	if (s[0] != '/')
		return launch_err(l, -EINVAL, "/app/%s: '%s' is not absolute",
				  name, s);
	*out = s;
	return 0;
}

static int launch_check_blob(struct launch *l, const void *blob, size_t size)
{
	int err;

	/* fdt_check_header() reads a whole v17 header: it must be there. */
	if (!blob || size < sizeof(struct fdt_header))
		return launch_err(l, -EINVAL, "too short (%zu bytes)", size);
	if ((uintptr_t)blob % 8)
		return launch_err(l, -EINVAL, "not 8-byte aligned");
	err = fdt_check_header(blob);
	if (err)
		return launch_err(l, -EINVAL, "bad header: %s",
				  fdt_strerror(err));
	if (fdt_totalsize(blob) > size || size > INT_MAX)
		return launch_err(l, -EINVAL,
				  "truncated (header says %u bytes, have %zu)",
				  fdt_totalsize(blob), size);
	/* Walks every tag, so later lookups cannot run off the structure. */
	err = fdt_check_full(blob, fdt_totalsize(blob));
	if (err)
		return launch_err(l, -EINVAL, "malformed: %s",
				  fdt_strerror(err));
	if (fdt_node_check_compatible(blob, 0, MINIVMM_LAUNCH_COMPAT))
		return launch_err(l, -EINVAL, "not compatible with \"%s\"",
				  MINIVMM_LAUNCH_COMPAT);
	return 0;
}

int launch_parse(const void *blob, size_t size, struct launch *l)
{
	int node, err, i;

	memset(l, 0, sizeof(*l));
	l->cwd = "/";
	l->root = MINIVMM_APP_ROOT;
	l->exit_addr = MINIVMM_EXIT_MMIO;
	l->exit_port = MINIVMM_EXIT_PORT;

	err = launch_check_blob(l, blob, size);
	if (err)
		return err;
	/* First, so that later errors can still be reported where asked. */
	err = launch_get_exit(l, blob);
	if (err)
		return err;

	node = fdt_path_offset(blob, "/app");
	if (node < 0)
		return launch_err(l, -EINVAL, "/app: %s", fdt_strerror(node));
	err = launch_get_list(l, blob, node, "argv", true, &l->argv);
	if (!err)
		err = launch_get_list(l, blob, node, "env", false, &l->env);
	if (!err)
		err = launch_get_path(l, blob, node, "cwd", &l->cwd);
	if (!err)
		err = launch_get_path(l, blob, node, "root", &l->root);
	if (err)
		goto fail;

	if (!l->argv[0][0]) {
		err = launch_err(l, -EINVAL, "/app/argv: argv[0] is empty");
		goto fail;
	}
	for (i = 0; l->env[i]; i++) {
		if (!strchr(l->env[i], '=') || l->env[i][0] == '=') {
			err = launch_err(l, -EINVAL,
					 "/app/env: '%s' is not NAME=value",
					 l->env[i]);
			goto fail;
		}
	}
	return 0;

fail:
	launch_free(l);
	return err;
}

void launch_free(struct launch *l)
{
	free(l->argv);
	free(l->env);
	l->argv = NULL;
	l->env = NULL;
}
