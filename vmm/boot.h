/* SPDX-License-Identifier: MIT */
/*
 * Getting a kernel from a file to its first instruction.  Two protocols:
 * the Linux x86 boot protocol for a bzImage (entered at its 64-bit entry
 * point, with page tables and a GDT made here) and the PVH entry of an ELF
 * vmlinux (entered in 32-bit protected mode with an hvm_start_info).
 */
#ifndef MINIVMM_BOOT_H
#define MINIVMM_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "mem.h"

/* Fixed places in low guest memory (docs/booting.md has the picture). */
#define BOOT_GDT_ADDR 0x500ULL
#define BOOT_PVH_INFO_ADDR 0x6000ULL /* hvm_start_info + modlist + memmap */
#define BOOT_ZERO_PAGE_ADDR 0x7000ULL /* struct boot_params */
#define BOOT_PML4_ADDR 0x9000ULL
#define BOOT_PDPT_ADDR 0xa000ULL
#define BOOT_PD_ADDR 0xb000ULL /* four pages: 4 GiB of 2 MiB pages */
#define BOOT_CMDLINE_ADDR 0x20000ULL
#define BOOT_CMDLINE_MAX 4096
#define BOOT_EBDA_START 0x9fc00ULL
#define BOOT_BIOS_START 0xf0000ULL /* MP table lives here */
#define BOOT_HIGH_START 0x100000ULL /* where the kernel is loaded */

/* GDT selectors (the Linux boot protocol's __BOOT_CS/__BOOT_DS). */
#define BOOT_CS 0x10
#define BOOT_DS 0x18

enum kernel_kind {
	KERNEL_UNKNOWN,
	KERNEL_BZIMAGE,
	KERNEL_PVH_ELF,
};

enum boot_mode {
	BOOT_MODE_LONG64, /* Linux boot protocol: 64-bit, paging on, RSI */
	BOOT_MODE_PROT32, /* PVH: 32-bit flat protected mode, EBX */
};

struct boot_entry {
	enum boot_mode mode;
	uint64_t rip;
	uint64_t arg; /* RSI (zero page) or RBX (hvm_start_info) */
};

/* One line of the firmware memory map (e820 types). */
struct boot_mem_range {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};
#define BOOT_MAX_RANGES 8

/*
 * Decide what @data is.  Returns the kind; for KERNEL_UNKNOWN, @why (if not
 * NULL) says why in a few words.
 */
enum kernel_kind kernel_probe(const uint8_t *data, size_t size,
			      const char **why);
const char *kernel_kind_name(enum kernel_kind kind);

/* The memory map minivmm reports, derived from the RAM layout. */
unsigned int boot_memmap(const struct guest_mem *gm,
			 struct boot_mem_range *out, unsigned int max);

/*
 * Where an initrd of @size bytes goes: the highest page-aligned address
 * whose end is at or below min(@limit, end of low RAM) and above @floor.
 * Returns 0 or -ENOMEM.
 */
int boot_place_initrd(const struct guest_mem *gm, uint64_t size,
		      uint64_t floor, uint64_t limit, uint64_t *gpa);

/* Write the GDT with flat 64-bit and 32-bit code and data descriptors. */
int boot_write_gdt(const struct guest_mem *gm);

/* Identity-map the first 4 GiB with 2 MiB pages at BOOT_PML4_ADDR. */
int boot_write_page_tables(const struct guest_mem *gm);

/* Copy the command line to BOOT_CMDLINE_ADDR; -E2BIG when >= @max bytes. */
int boot_write_cmdline(const struct guest_mem *gm, const char *cmdline,
		       size_t max);

struct boot_request {
	const uint8_t *kernel;
	size_t kernel_size;
	const char *cmdline;
	const uint8_t *initrd; /* may be NULL */
	size_t initrd_size;
	char err[160]; /* one line when a loader fails */
};

/* Linux boot protocol (boot_linux.c).  Returns 0 or -errno with req->err. */
int boot_linux_load(const struct guest_mem *gm, struct boot_request *req,
		    struct boot_entry *entry);

/* PVH ELF entry (boot_pvh.c).  Returns 0 or -errno with req->err. */
int boot_pvh_load(const struct guest_mem *gm, struct boot_request *req,
		  struct boot_entry *entry);

/* Find the PVH entry note; returns 0 and the 32-bit entry or -ENOENT. */
int boot_pvh_find_entry(const uint8_t *elf, size_t size, uint32_t *entry);

/* MP table (mptable.c) for @ncpus processors at BOOT_BIOS_START. */
int mptable_write(const struct guest_mem *gm, unsigned int ncpus);

#endif
