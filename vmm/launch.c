// SPDX-License-Identifier: MIT
/*
 * Launch description writer, with libfdt's sequential-write API.
 */
#include "launch.h"

#include <errno.h>
#include <libfdt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <minivmm/guest_abi.h>

/* A DT string list: the strings back to back, each with its NUL. */
static int prop_strlist(void *fdt, const char *name, char *const *list)
{
	size_t len = 0, off = 0;
	char *buf;
	int ret;

	for (size_t i = 0; list && list[i]; i++)
		len += strlen(list[i]) + 1;
	buf = malloc(len ? len : 1);
	if (!buf)
		return -FDT_ERR_NOSPACE;
	for (size_t i = 0; list && list[i]; i++) {
		size_t l = strlen(list[i]) + 1;

		memcpy(buf + off, list[i], l);
		off += l;
	}
	ret = fdt_property(fdt, name, buf, (int)len);
	free(buf);
	return ret;
}

static void ip_str(uint32_t ip, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff,
		 (ip >> 8) & 0xff, ip & 0xff);
}

static int launch_write_net(void *fdt, const struct launch_net *n)
{
	char ip[16], addr[24];
	int err = 0;

	ip_str(n->ip, ip, sizeof(ip));
	snprintf(addr, sizeof(addr), "%s/%u", ip, n->prefix);
	err |= fdt_begin_node(fdt, "net");
	err |= fdt_property(fdt, "mac", n->mac, 6);
	err |= fdt_property_string(fdt, "address", addr);
	if (n->gateway) {
		ip_str(n->gateway, ip, sizeof(ip));
		err |= fdt_property_string(fdt, "gateway", ip);
	}
	if (n->dns) {
		ip_str(n->dns, ip, sizeof(ip));
		err |= fdt_property_string(fdt, "dns", ip);
	}
	err |= fdt_end_node(fdt);
	return err;
}

static int launch_write(void *fdt, int cap, const struct launch *l)
{
	uint32_t reg[2] = { cpu_to_fdt32((uint32_t)(MINIVMM_EXIT_MMIO >> 32)),
			    cpu_to_fdt32((uint32_t)MINIVMM_EXIT_MMIO) };
	int err = 0;

	err |= fdt_create(fdt, cap);
	err |= fdt_finish_reservemap(fdt);
	err |= fdt_begin_node(fdt, "");
	err |= fdt_property_string(fdt, "compatible", MINIVMM_LAUNCH_COMPAT);
	/* reg of exit-device: a 64-bit address, no size. */
	err |= fdt_property_u32(fdt, "#address-cells", 2);
	err |= fdt_property_u32(fdt, "#size-cells", 0);
	err |= fdt_begin_node(fdt, "app");
	if (l->argv && l->argv[0])
		err |= prop_strlist(fdt, "argv", l->argv);
	if (l->root_disk) {
		err |= fdt_property_string(fdt, "root-disk", l->root_disk);
		err |= fdt_property_string(fdt, "root-fstype",
					   l->root_fstype ? l->root_fstype :
							    "erofs");
	}
	if (l->env && l->env[0])
		err |= prop_strlist(fdt, "env", l->env);
	/* No cwd: init uses the manifest's, or "/". */
	if (l->cwd)
		err |= fdt_property_string(fdt, "cwd", l->cwd);
	err |= fdt_property_string(fdt, "root",
				   l->root ? l->root : MINIVMM_APP_ROOT);
	err |= fdt_end_node(fdt);
	if (l->net)
		err |= launch_write_net(fdt, l->net);
	err |= fdt_begin_node(fdt, "exit-device");
	err |= fdt_property(fdt, "reg", reg, sizeof(reg));
	err |= fdt_property_u32(fdt, "io-port", MINIVMM_EXIT_PORT);
	err |= fdt_end_node(fdt);
	err |= fdt_end_node(fdt);
	err |= fdt_finish(fdt);
	return err;
}

int launch_build(const struct launch *l, void **blob, size_t *size)
{
	int cap = 4096;

	if ((!l->argv || !l->argv[0]) && !l->root_disk)
		return -EINVAL;
	/* Grow until it fits; any error other than NOSPACE is a bug. */
	for (int tries = 0; tries < 12; tries++, cap *= 2) {
		void *fdt = malloc(cap);

		if (!fdt)
			return -ENOMEM;
		if (launch_write(fdt, cap, l) == 0) {
			*blob = fdt;
			*size = fdt_totalsize(fdt);
			return 0;
		}
		free(fdt);
	}
	return -E2BIG;
}
