/* SPDX-License-Identifier: MIT */
/*
 * The PVH start structures (the x86 PVH boot ABI, as documented with Xen's
 * public headers, arch-x86/hvm/start_info.h).  Written here from the
 * documented layout; sizes are checked at compile time.
 */
#ifndef MINIVMM_PVH_H
#define MINIVMM_PVH_H

#include <stdint.h>

#define HVM_START_MAGIC 0x336ec578
#define XEN_ELFNOTE_PHYS32_ENTRY 18

struct hvm_start_info {
	uint32_t magic;
	uint32_t version; /* 1: memmap fields present */
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type; /* e820 types */
	uint32_t reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info size");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "modlist size");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "memmap size");

/* Offsets inside the BOOT_PVH_INFO_ADDR page. */
#define PVH_MODLIST_OFF 0x40
#define PVH_MEMMAP_OFF 0x80

#endif
