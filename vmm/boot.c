// SPDX-License-Identifier: MIT
/*
 * What both boot protocols share: recognising the kernel file, the memory
 * map, the GDT, the identity page tables and the command line.
 */
#include "boot.h"

#include <asm/bootparam.h>
#include <asm/e820.h>
#include <elf.h>
#include <errno.h>
#include <string.h>

#include <minivmm/guest_abi.h>

/* The setup header sits at 0x1f1 in the file, as in the zero page. */
#define SETUP_HDR_OFF 0x1f1
#define BZ_MAGIC_OFF 0x202 /* "HdrS" */
#define BZ_MAGIC 0x53726448

enum kernel_kind kernel_probe(const uint8_t *data, size_t size,
			      const char **why)
{
	const char *dummy;
	uint32_t magic;
	uint32_t entry;

	if (!why)
		why = &dummy;
	if (size >= 4 && !memcmp(data, ELFMAG, SELFMAG)) {
		const Elf64_Ehdr *eh = (const Elf64_Ehdr *)data;

		if (size < sizeof(*eh) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
		    eh->e_machine != EM_X86_64) {
			*why = "an ELF file, but not x86-64 ELF64";
			return KERNEL_UNKNOWN;
		}
		if (boot_pvh_find_entry(data, size, &entry)) {
			*why = "an ELF file without a PVH entry note (build the kernel with CONFIG_PVH)";
			return KERNEL_UNKNOWN;
		}
		return KERNEL_PVH_ELF;
	}
	if (size >= BZ_MAGIC_OFF + 4) {
		memcpy(&magic, data + BZ_MAGIC_OFF, 4);
		if (magic == BZ_MAGIC)
			return KERNEL_BZIMAGE;
	}
	*why = "not a bzImage (no HdrS magic) and not an ELF vmlinux";
	return KERNEL_UNKNOWN;
}

const char *kernel_kind_name(enum kernel_kind kind)
{
	switch (kind) {
	case KERNEL_BZIMAGE:
		return "bzImage (Linux boot protocol, 64-bit entry)";
	case KERNEL_PVH_ELF:
		return "ELF vmlinux (PVH entry)";
	default:
		return "unknown";
	}
}

unsigned int boot_memmap(const struct guest_mem *gm,
			 struct boot_mem_range *out, unsigned int max)
{
	uint64_t low_end = gm_low_end(gm);
	unsigned int n = 0;

#define ADD(a, s, t)                                                   \
	do {                                                           \
		if (n < max)                                           \
			out[n++] = (struct boot_mem_range){ a, s, t }; \
	} while (0)

	/*
	 * PC layout: base memory, a reserved EBDA tail and BIOS area (where the
	 * MP table is), then RAM from 1 MiB.  Guests smaller than 1 MiB are
	 * not supported (main.c refuses them).
	 */
	ADD(0, BOOT_EBDA_START, E820_RAM);
	ADD(BOOT_EBDA_START, 0xa0000 - BOOT_EBDA_START, E820_RESERVED);
	ADD(BOOT_BIOS_START, BOOT_HIGH_START - BOOT_BIOS_START, E820_RESERVED);
	if (low_end > BOOT_HIGH_START)
		ADD(BOOT_HIGH_START, low_end - BOOT_HIGH_START, E820_RAM);
	for (unsigned int i = 1; i < gm->nr; i++)
		ADD(gm->r[i].gpa, gm->r[i].size, E820_RAM);
#undef ADD
	return n;
}

int boot_place_initrd(const struct guest_mem *gm, uint64_t size,
		      uint64_t floor, uint64_t limit, uint64_t *gpa)
{
	uint64_t top = gm_low_end(gm), addr;

	if (limit && limit < top)
		top = limit;
	if (size > top)
		return -ENOMEM;
	addr = (top - size) & ~0xfffULL;
	if (addr < floor || !gm_ptr(gm, addr, size))
		return -ENOMEM;
	*gpa = addr;
	return 0;
}

/*
 * Flat descriptors: base 0, limit 4 GiB, present, DPL 0.
 * 0x08: unused, 0x10: code (64-bit when L set, else 32-bit), 0x18: data.
 */
#define GDT_CODE64 0x00af9b000000ffffULL
#define GDT_CODE32 0x00cf9b000000ffffULL
#define GDT_DATA 0x00cf93000000ffffULL

int boot_write_gdt(const struct guest_mem *gm)
{
	/* Slot 4 (0x20) holds a 32-bit code segment for PVH entries. */
	uint64_t gdt[5] = { 0, 0, GDT_CODE64, GDT_DATA, GDT_CODE32 };

	return gm_write(gm, BOOT_GDT_ADDR, gdt, sizeof(gdt));
}

#define PTE_P 0x1ULL
#define PTE_RW 0x2ULL
#define PTE_PS 0x80ULL

int boot_write_page_tables(const struct guest_mem *gm)
{
	uint64_t *pml4 = gm_ptr(gm, BOOT_PML4_ADDR, 4096);
	uint64_t *pdpt = gm_ptr(gm, BOOT_PDPT_ADDR, 4096);
	uint64_t *pd = gm_ptr(gm, BOOT_PD_ADDR, 4 * 4096);

	if (!pml4 || !pdpt || !pd)
		return -EFAULT;
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = BOOT_PDPT_ADDR | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD_ADDR + i * 4096) | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_PS;
	return 0;
}

int boot_write_cmdline(const struct guest_mem *gm, const char *cmdline,
		       size_t max)
{
	size_t len = strlen(cmdline) + 1;

	if (len > max || len > BOOT_CMDLINE_MAX)
		return -E2BIG;
	return gm_write(gm, BOOT_CMDLINE_ADDR, cmdline, len);
}
