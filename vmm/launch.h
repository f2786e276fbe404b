/* SPDX-License-Identifier: MIT */
/*
 * The launch description: what guest init should run and how, as a flattened
 * device tree (format in include/minivmm/guest_abi.h).  `dtc -I dtb -O dts`
 * shows it.
 */
#ifndef MINIVMM_LAUNCH_H
#define MINIVMM_LAUNCH_H

#include <stddef.h>
#include <stdint.h>

/* eth0's settings for init (guest_abi.h, "Network"). */
struct launch_net {
	uint8_t mac[6];
	uint32_t ip; /* host byte order */
	unsigned int prefix; /* 0..32 */
	uint32_t gateway, dns; /* 0: none */
};

struct launch {
	char *const *argv; /* NULL-terminated, at least one element */
	char *const *env; /* NULL-terminated, may be empty */
	const char *cwd; /* NULL: "/" */
	const char *root; /* NULL: MINIVMM_APP_ROOT */
	const char *root_disk; /* NULL: the app is in the initramfs */
	const char *root_fstype; /* with root_disk */
	const struct launch_net *net; /* NULL: no network device */
};

/*
 * Build the blob into a malloc'd buffer.  Returns 0 and sets *blob and *size, or
 * -errno (-EINVAL when argv is empty and there is no root disk, whose
 * manifest then supplies it).
 */
int launch_build(const struct launch *l, void **blob, size_t *size);

#endif
