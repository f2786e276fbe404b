// SPDX-License-Identifier: MIT
/*
 * Unit tests for the boot code (vmm/boot.c, boot_linux.c, boot_pvh.c,
 * mptable.c): kernel files are synthetic bzImages and ELF images built here,
 * good ones and broken ones, loaded into a 64 MiB guest.  The guest's view is
 * checked through gm_ptr()/gm_translate(), as the guest would see it.
 */
#include <asm/bootparam.h>
#include <asm/e820.h>
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "vmm/boot.h"
#include "vmm/mem.h"
#include "vmm/pvh.h"

#define MiB (1ULL << 20)
#define GUEST_SIZE (64 * MiB)

static struct guest_mem gm;

static void guest_setup(void)
{
	cr_assert_eq(gm_init(&gm, GUEST_SIZE), 0);
}

static void guest_teardown(void)
{
	gm_destroy(&gm);
}

TestSuite(boot, .init = guest_setup, .fini = guest_teardown);

static void *guest(uint64_t gpa, uint64_t len)
{
	void *p = gm_ptr(&gm, gpa, len);

	cr_assert_not_null(p, "gpa %#llx len %#llx not in RAM",
			   (unsigned long long)gpa, (unsigned long long)len);
	return p;
}

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 7 + 3);
}

/* ---- synthetic bzImage ---- */

#define BZ_HDR_OFF 0x1f1
#define BZ_PM_SIZE 0x3000
#define BZ_SETUP_SIZE 1024 /* setup_sects 1, plus the boot sector */
#define BZ_INITRD_MAX 0x1ffffffU /* 32 MiB - 1 */

struct bz {
	uint8_t *buf;
	size_t size;
	struct setup_header *hdr; /* inside buf */
};

static struct bz bz_build(size_t pm_size)
{
	struct bz b;

	b.size = BZ_SETUP_SIZE + pm_size;
	b.buf = calloc(1, b.size);
	cr_assert_not_null(b.buf);
	b.hdr = (struct setup_header *)(b.buf + BZ_HDR_OFF);
	b.hdr->setup_sects = 1;
	b.hdr->boot_flag = 0xaa55;
	/* "jmp short" over the header: 0xeb, then the offset from 0x202. */
	b.buf[0x200] = 0xeb;
	b.buf[0x201] = 0x66;
	b.hdr->header = 0x53726448; /* "HdrS" */
	b.hdr->version = 0x20c;
	b.hdr->loadflags = LOADED_HIGH;
	b.hdr->initrd_addr_max = BZ_INITRD_MAX;
	b.hdr->xloadflags = XLF_KERNEL_64;
	b.hdr->cmdline_size = 255;
	for (size_t i = 0; i < pm_size; i++)
		b.buf[BZ_SETUP_SIZE + i] = pattern(i);
	return b;
}

static struct boot_request bz_request(const struct bz *b, const char *cmdline)
{
	return (struct boot_request){ .kernel = b->buf,
				      .kernel_size = b->size,
				      .cmdline = cmdline };
}

/* ---- synthetic ELF vmlinux ---- */

#define ELF_NOTE_OFF 0x100
#define ELF_LOAD_OFF 0x200
#define ELF_LOAD_FILESZ 0x100
#define ELF_LOAD_MEMSZ 0x2000
#define ELF_LOAD_PADDR 0x1000000ULL
#define ELF_SIZE (ELF_LOAD_OFF + ELF_LOAD_FILESZ)
#define PVH_ENTRY 0x1000040U

struct elf {
	uint8_t *buf;
	size_t size;
	Elf64_Ehdr *eh;
	Elf64_Phdr *note; /* NULL when built without */
	Elf64_Phdr *load;
	Elf64_Nhdr *xen; /* the PHYS32_ENTRY note */
};

static void *put_note(uint8_t *p, const char *name, uint32_t type,
		      const void *desc, uint32_t descsz)
{
	Elf64_Nhdr nh = { (uint32_t)strlen(name) + 1, descsz, type };
	uint32_t name_pad = (nh.n_namesz + 3) & ~3U;

	memcpy(p, &nh, sizeof(nh));
	memcpy(p + sizeof(nh), name, nh.n_namesz);
	memcpy(p + sizeof(nh) + name_pad, desc, descsz);
	return p + sizeof(nh) + name_pad + ((descsz + 3) & ~3U);
}

/*
 * Ehdr, a PT_NOTE with a GNU build-id note and then Xen's PHYS32_ENTRY note,
 * and a PT_LOAD of ELF_LOAD_FILESZ bytes at ELF_LOAD_PADDR.
 */
static struct elf elf_build(bool with_note, bool with_load)
{
	const uint8_t build_id[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	const uint32_t entry = PVH_ENTRY;
	struct elf e = { 0 };
	Elf64_Phdr *ph;
	uint8_t *end;

	e.size = ELF_SIZE;
	e.buf = calloc(1, 4096);
	cr_assert_not_null(e.buf);
	e.eh = (Elf64_Ehdr *)e.buf;
	memcpy(e.eh->e_ident, ELFMAG, SELFMAG);
	e.eh->e_ident[EI_CLASS] = ELFCLASS64;
	e.eh->e_ident[EI_DATA] = ELFDATA2LSB;
	e.eh->e_ident[EI_VERSION] = EV_CURRENT;
	e.eh->e_type = ET_EXEC;
	e.eh->e_machine = EM_X86_64;
	e.eh->e_version = EV_CURRENT;
	e.eh->e_entry = 0xffffffff81000000ULL;
	e.eh->e_phoff = sizeof(Elf64_Ehdr);
	e.eh->e_ehsize = sizeof(Elf64_Ehdr);
	e.eh->e_phentsize = sizeof(Elf64_Phdr);
	ph = (Elf64_Phdr *)(e.buf + e.eh->e_phoff);

	if (with_note) {
		e.note = &ph[e.eh->e_phnum++];
		end = put_note(e.buf + ELF_NOTE_OFF, "GNU", NT_GNU_BUILD_ID,
			       build_id, sizeof(build_id));
		e.xen = (Elf64_Nhdr *)end;
		end = put_note(end, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, &entry,
			       sizeof(entry));
		*e.note = (Elf64_Phdr){ .p_type = PT_NOTE,
					.p_offset = ELF_NOTE_OFF,
					.p_filesz = end - e.buf - ELF_NOTE_OFF,
					.p_align = 4 };
	}
	if (with_load) {
		e.load = &ph[e.eh->e_phnum++];
		*e.load = (Elf64_Phdr){ .p_type = PT_LOAD,
					.p_flags = PF_R | PF_X,
					.p_offset = ELF_LOAD_OFF,
					.p_vaddr = 0xffffffff81000000ULL,
					.p_paddr = ELF_LOAD_PADDR,
					.p_filesz = ELF_LOAD_FILESZ,
					.p_memsz = ELF_LOAD_MEMSZ,
					.p_align = 4096 };
		for (size_t i = 0; i < ELF_LOAD_FILESZ; i++)
			e.buf[ELF_LOAD_OFF + i] = pattern(i);
	}
	return e;
}

static struct boot_request elf_request(const struct elf *e,
				       const char *cmdline)
{
	return (struct boot_request){ .kernel = e->buf,
				      .kernel_size = e->size,
				      .cmdline = cmdline };
}

/* ---- kernel_probe ---- */

Test(boot, probe_bzimage)
{
	struct bz b = bz_build(BZ_PM_SIZE);
	uint8_t small[0x206] = { 0 };
	const char *why = NULL;

	cr_assert_eq(kernel_probe(b.buf, b.size, &why), KERNEL_BZIMAGE);
	/* Only the magic matters to the probe; just big enough for it. */
	memcpy(small + 0x202, "HdrS", 4);
	cr_assert_eq(kernel_probe(small, sizeof(small), NULL), KERNEL_BZIMAGE);
	cr_assert_eq(kernel_probe(small, sizeof(small) - 1, &why),
		     KERNEL_UNKNOWN);
	cr_assert_not_null(why);
	cr_assert_str_neq(kernel_kind_name(KERNEL_BZIMAGE), "unknown");
	free(b.buf);
}

Test(boot, probe_pvh_elf)
{
	struct elf e = elf_build(true, true);
	uint32_t entry = 0;

	cr_assert_eq(kernel_probe(e.buf, e.size, NULL), KERNEL_PVH_ELF);
	cr_assert_eq(boot_pvh_find_entry(e.buf, e.size, &entry), 0);
	cr_assert_eq(entry, PVH_ENTRY);
	free(e.buf);
}

Test(boot, probe_elf_without_the_note)
{
	struct elf e = elf_build(false, true);
	const char *why = NULL;
	uint32_t entry;

	cr_assert_eq(kernel_probe(e.buf, e.size, &why), KERNEL_UNKNOWN);
	cr_assert(why && strstr(why, "PVH"), "%s", why);
	cr_assert_eq(boot_pvh_find_entry(e.buf, e.size, &entry), -ENOENT);
	free(e.buf);
}

Test(boot, probe_other_elves)
{
	struct elf e = elf_build(true, true);
	const char *why = NULL;

	e.eh->e_ident[EI_CLASS] = ELFCLASS32;
	e.eh->e_machine = EM_386;
	cr_assert_eq(kernel_probe(e.buf, e.size, &why), KERNEL_UNKNOWN);
	cr_assert_not_null(why);
	e.eh->e_ident[EI_CLASS] = ELFCLASS64;
	e.eh->e_machine = EM_AARCH64;
	cr_assert_eq(kernel_probe(e.buf, e.size, NULL), KERNEL_UNKNOWN);
	e.eh->e_machine = EM_X86_64;
	/* Truncated before the end of the ELF header. */
	cr_assert_eq(kernel_probe(e.buf, sizeof(Elf64_Ehdr) - 1, NULL),
		     KERNEL_UNKNOWN);
	cr_assert_eq(kernel_probe(e.buf, 4, NULL), KERNEL_UNKNOWN);
	/* Truncated inside the notes. */
	cr_assert_eq(kernel_probe(e.buf, ELF_NOTE_OFF + 8, NULL),
		     KERNEL_UNKNOWN);
	free(e.buf);
}

Test(boot, probe_garbage_and_tiny_files)
{
	uint8_t *junk = malloc(8192);
	const char *why = NULL;

	cr_assert_not_null(junk);
	for (size_t i = 0; i < 8192; i++)
		junk[i] = pattern(i * 13);
	cr_assert_eq(kernel_probe(junk, 8192, &why), KERNEL_UNKNOWN);
	cr_assert_not_null(why);
	cr_assert_eq(kernel_probe(junk, 0, NULL), KERNEL_UNKNOWN);
	cr_assert_eq(kernel_probe(NULL, 0, NULL), KERNEL_UNKNOWN);
	cr_assert_eq(kernel_probe((const uint8_t *)"\x7f" "EL", 3, NULL),
		     KERNEL_UNKNOWN);
	cr_assert_eq(kernel_probe((const uint8_t *)"\x7f" "ELF", 4, NULL),
		     KERNEL_UNKNOWN);
	cr_assert_str_eq(kernel_kind_name(KERNEL_UNKNOWN), "unknown");
	cr_assert_str_eq(kernel_kind_name((enum kernel_kind)42), "unknown");
	free(junk);
}

Test(boot, probe_hostile_program_headers)
{
	struct elf e = elf_build(true, true);
	uint32_t entry;

	/* Many program headers, the table running off the file. */
	e.eh->e_phnum = 0xffff;
	cr_assert_eq(kernel_probe(e.buf, e.size, NULL), KERNEL_PVH_ELF,
		     "the note comes first");
	e.eh->e_phoff = UINT64_MAX - 8;
	cr_assert_eq(kernel_probe(e.buf, e.size, NULL), KERNEL_UNKNOWN);
	e.eh->e_phoff = e.size - 8;
	cr_assert_eq(kernel_probe(e.buf, e.size, NULL), KERNEL_UNKNOWN);
	e.eh->e_phoff = sizeof(Elf64_Ehdr);
	e.eh->e_phnum = 2;
	e.eh->e_phentsize = 0;
	cr_assert_eq(kernel_probe(e.buf, e.size, NULL), KERNEL_UNKNOWN);
	e.eh->e_phentsize = sizeof(Elf64_Phdr);

	/* A note segment past the end of the file, or wrapping. */
	e.note->p_filesz = e.size;
	cr_assert_eq(boot_pvh_find_entry(e.buf, e.size, &entry), -ENOENT);
	e.note->p_offset = UINT64_MAX - 4;
	e.note->p_filesz = 16;
	cr_assert_eq(boot_pvh_find_entry(e.buf, e.size, &entry), -ENOENT);
	free(e.buf);
}

Test(boot, probe_hostile_notes)
{
	struct elf e = elf_build(true, true);
	Elf64_Nhdr *gnu = (Elf64_Nhdr *)(e.buf + ELF_NOTE_OFF);
	uint32_t entry;

	/* Sizes that would run past the segment end the walk. */
	gnu->n_descsz = 0xffffffff;
	cr_assert_eq(boot_pvh_find_entry(e.buf, e.size, &entry), -ENOENT);
	gnu->n_descsz = 16;
	gnu->n_namesz = 0xfffffffd;
	cr_assert_eq(boot_pvh_find_entry(e.buf, e.size, &entry), -ENOENT);
	gnu->n_namesz = 4;
	cr_assert_eq(boot_pvh_find_entry(e.buf, e.size, &entry), 0);

	/* The entry note with a short descriptor, or the wrong owner. */
	e.xen->n_descsz = 2;
	cr_assert_eq(boot_pvh_find_entry(e.buf, e.size, &entry), -ENOENT);
	e.xen->n_descsz = 4;
	memcpy(e.xen + 1, "Xe", 3);
	cr_assert_eq(kernel_probe(e.buf, e.size, NULL), KERNEL_UNKNOWN);
	free(e.buf);
}

/* ---- memory map ---- */

Test(boot, memmap_small_guest)
{
	struct boot_mem_range mm[BOOT_MAX_RANGES];
	unsigned int n = boot_memmap(&gm, mm, BOOT_MAX_RANGES);

	cr_assert_eq(n, 4);
	cr_assert_eq(mm[0].addr, 0);
	cr_assert_eq(mm[0].size, BOOT_EBDA_START);
	cr_assert_eq(mm[0].type, E820_RAM);
	cr_assert_eq(mm[1].addr, BOOT_EBDA_START);
	cr_assert_eq(mm[1].addr + mm[1].size, 0xa0000);
	cr_assert_eq(mm[1].type, E820_RESERVED);
	cr_assert_eq(mm[2].addr, BOOT_BIOS_START);
	cr_assert_eq(mm[2].addr + mm[2].size, BOOT_HIGH_START);
	cr_assert_eq(mm[2].type, E820_RESERVED);
	cr_assert_eq(mm[3].addr, BOOT_HIGH_START);
	cr_assert_eq(mm[3].addr + mm[3].size, GUEST_SIZE);
	cr_assert_eq(mm[3].type, E820_RAM);
}

Test(boot, memmap_large_guest_splits_at_the_hole)
{
	/* boot_memmap() reads the layout only: no host memory needed. */
	struct guest_mem big = { 0 };
	struct boot_mem_range mm[BOOT_MAX_RANGES];
	unsigned int n;

	cr_assert_eq(gm_add_region(&big, 0, 0xc0000000ULL, NULL), 0);
	cr_assert_eq(gm_add_region(&big, 0x100000000ULL, 0x20000000ULL, NULL),
		     0);
	n = boot_memmap(&big, mm, BOOT_MAX_RANGES);
	cr_assert_eq(n, 5);
	cr_assert_eq(mm[3].addr, BOOT_HIGH_START);
	cr_assert_eq(mm[3].addr + mm[3].size, 0xc0000000ULL);
	cr_assert_eq(mm[3].type, E820_RAM);
	cr_assert_eq(mm[4].addr, 0x100000000ULL);
	cr_assert_eq(mm[4].size, 0x20000000ULL);
	cr_assert_eq(mm[4].type, E820_RAM);
	/* Sorted and disjoint. */
	for (unsigned int i = 1; i < n; i++)
		cr_assert_leq(mm[i - 1].addr + mm[i - 1].size, mm[i].addr);
}

Test(boot, memmap_one_mib_guest_and_short_output)
{
	struct guest_mem tiny = { 0 };
	struct boot_mem_range mm[BOOT_MAX_RANGES];

	cr_assert_eq(gm_add_region(&tiny, 0, BOOT_HIGH_START, NULL), 0);
	cr_assert_eq(boot_memmap(&tiny, mm, BOOT_MAX_RANGES), 3);

	/* A short output array is never overrun. */
	memset(mm, 0xee, sizeof(mm));
	cr_assert_eq(boot_memmap(&gm, mm, 2), 2);
	cr_assert_eq(mm[2].addr, 0xeeeeeeeeeeeeeeeeULL);
	cr_assert_eq(boot_memmap(&gm, mm, 0), 0);
}

/* ---- initrd placement ---- */

Test(boot, initrd_fits_at_the_top)
{
	uint64_t gpa = 0;

	cr_assert_eq(boot_place_initrd(&gm, 0x10000, 2 * MiB, 0, &gpa), 0);
	cr_assert_eq(gpa, GUEST_SIZE - 0x10000);
	/* An odd size still starts on a page and ends inside RAM. */
	cr_assert_eq(boot_place_initrd(&gm, 0x1234, 2 * MiB, 0, &gpa), 0);
	cr_assert_eq(gpa % 4096, 0);
	cr_assert_eq(gpa, GUEST_SIZE - 0x2000);
	cr_assert_leq(gpa + 0x1234, GUEST_SIZE);
}

Test(boot, initrd_too_big)
{
	uint64_t gpa = 0x1234;

	cr_assert_eq(boot_place_initrd(&gm, 128 * MiB, 0, 0, &gpa), -ENOMEM);
	cr_assert_eq(boot_place_initrd(&gm, GUEST_SIZE + 1, 0, 0, &gpa),
		     -ENOMEM);
	cr_assert_eq(boot_place_initrd(&gm, UINT64_MAX, 0, 0, &gpa), -ENOMEM);
	cr_assert_eq(boot_place_initrd(&gm, GUEST_SIZE, 1, 0, &gpa), -ENOMEM);
	cr_assert_eq(gpa, 0x1234, "not written on failure");
}

Test(boot, initrd_floor_respected)
{
	uint64_t gpa = 0;

	cr_assert_eq(boot_place_initrd(&gm, 63 * MiB, 2 * MiB, 0, &gpa),
		     -ENOMEM);
	cr_assert_eq(boot_place_initrd(&gm, 63 * MiB, 1 * MiB, 0, &gpa), 0);
	cr_assert_eq(gpa, 1 * MiB);
	cr_assert_eq(boot_place_initrd(&gm, 0x1000, GUEST_SIZE, 0, &gpa),
		     -ENOMEM);
	cr_assert_eq(boot_place_initrd(&gm, 0x1000, UINT64_MAX, 0, &gpa),
		     -ENOMEM);
}

Test(boot, initrd_limit_respected)
{
	uint64_t gpa = 0;

	cr_assert_eq(boot_place_initrd(&gm, 0x5000, 0, 32 * MiB, &gpa), 0);
	cr_assert_eq(gpa, 32 * MiB - 0x5000);
	/* An unaligned limit rounds the start down. */
	cr_assert_eq(boot_place_initrd(&gm, 0x1000, 0, 0x1000fff, &gpa), 0);
	cr_assert_eq(gpa, 0xfff000);
	cr_assert_leq(gpa + 0x1000, 0x1000fff);
	/* A limit above RAM changes nothing. */
	cr_assert_eq(boot_place_initrd(&gm, 0x1000, 0, 0x100000000ULL, &gpa),
		     0);
	cr_assert_eq(gpa, GUEST_SIZE - 0x1000);
	cr_assert_eq(boot_place_initrd(&gm, 0x1000, 0, UINT64_MAX, &gpa), 0);
	cr_assert_eq(gpa, GUEST_SIZE - 0x1000);
	/* A limit below the size. */
	cr_assert_eq(boot_place_initrd(&gm, 0x2000, 0, 0x1000, &gpa), -ENOMEM);
}

Test(boot, initrd_stays_below_the_mmio_hole)
{
	struct guest_mem big;
	uint64_t gpa = 0;

	/* Mapped with MAP_NORESERVE: costs only the pages touched. */
	cr_assert_eq(gm_init(&big, 0xc0000000ULL + 64 * MiB), 0);
	cr_assert_eq(boot_place_initrd(&big, 16 * MiB, 2 * MiB, 0, &gpa), 0);
	cr_assert_eq(gpa, 0xc0000000ULL - 16 * MiB);
	/* Too big for low RAM: the high region is never used. */
	cr_assert_eq(boot_place_initrd(&big, 0xc0000000ULL - MiB, 2 * MiB, 0,
				       &gpa),
		     -ENOMEM);
	gm_destroy(&big);
}

/* ---- GDT, page tables, command line ---- */

Test(boot, gdt_has_the_boot_selectors)
{
	uint64_t *gdt;

	cr_assert_eq(boot_write_gdt(&gm), 0);
	gdt = guest(BOOT_GDT_ADDR, 5 * 8);
	cr_assert_eq(gdt[0], 0);
	/* Present, code, long mode (L) for __BOOT_CS. */
	cr_assert(gdt[BOOT_CS / 8] & (1ULL << 47));
	cr_assert(gdt[BOOT_CS / 8] & (1ULL << 43));
	cr_assert(gdt[BOOT_CS / 8] & (1ULL << 53));
	/* Present, writable data for __BOOT_DS. */
	cr_assert(gdt[BOOT_DS / 8] & (1ULL << 47));
	cr_assert_not(gdt[BOOT_DS / 8] & (1ULL << 43));
	cr_assert(gdt[BOOT_DS / 8] & (1ULL << 41));
}

Test(boot, page_tables_identity_map_4g)
{
	const uint64_t addrs[] = { 0, 0x1234, 0x100200, 0x1fffff, 0x200000,
				   0x12345678, 0xbfffffff, 0xfee00000,
				   0xffffffff };
	uint64_t *pml4, *pdpt, *pd, gpa;

	memset(guest(BOOT_PML4_ADDR, 6 * 4096), 0xcc, 6 * 4096);
	cr_assert_eq(boot_write_page_tables(&gm), 0);
	pml4 = guest(BOOT_PML4_ADDR, 4096);
	pdpt = guest(BOOT_PDPT_ADDR, 4096);
	pd = guest(BOOT_PD_ADDR, 4 * 4096);
	cr_assert_eq(pml4[0] & ~0xfffULL, BOOT_PDPT_ADDR);
	cr_assert_eq(pml4[0] & 1, 1);
	for (int i = 1; i < 512; i++)
		cr_assert_eq(pml4[i], 0, "PML4[%d]", i);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(pdpt[i] & ~0xfffULL, BOOT_PD_ADDR + i * 4096);
		cr_assert_eq(pdpt[i] & 1, 1);
	}
	for (int i = 4; i < 512; i++)
		cr_assert_eq(pdpt[i], 0, "PDPT[%d]", i);
	for (uint64_t i = 0; i < 2048; i++) {
		cr_assert_eq(pd[i] & ~0xfffULL, i << 21, "PD[%llu]",
			     (unsigned long long)i);
		cr_assert_eq(pd[i] & 0x81, 0x81, "PD[%llu] P|PS",
			     (unsigned long long)i);
	}

	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		cr_assert_eq(gm_translate(&gm, BOOT_PML4_ADDR, addrs[i], &gpa),
			     0);
		cr_assert_eq(gpa, addrs[i]);
	}
	cr_assert_eq(gm_translate(&gm, BOOT_PML4_ADDR, 0x100000000ULL, &gpa),
		     -EFAULT);
	cr_assert_eq(gm_translate(&gm, BOOT_PML4_ADDR, 1ULL << 39, &gpa),
		     -EFAULT);
}

Test(boot, page_tables_need_ram)
{
	struct guest_mem small = { 0 };
	uint8_t *buf = malloc(0xc000);

	cr_assert_not_null(buf);
	memset(buf, 0xcc, 0xc000);
	/* RAM ends inside the page directories: nothing is written. */
	cr_assert_eq(gm_add_region(&small, 0, 0xc000, buf), 0);
	cr_assert_eq(boot_write_page_tables(&small), -EFAULT);
	for (size_t i = BOOT_PML4_ADDR; i < 0xc000; i++)
		cr_assert_eq(buf[i], 0xcc);
	free(buf);
}

Test(boot, cmdline_written_and_bounded)
{
	char *longline = malloc(BOOT_CMDLINE_MAX + 16);

	cr_assert_eq(boot_write_cmdline(&gm, "console=ttyS0", 256), 0);
	cr_assert_str_eq(guest(BOOT_CMDLINE_ADDR, 14), "console=ttyS0");
	cr_assert_eq(boot_write_cmdline(&gm, "", 1), 0);
	cr_assert_str_eq(guest(BOOT_CMDLINE_ADDR, 1), "");

	/* Exactly max bytes with the NUL fits; one more does not. */
	cr_assert_eq(boot_write_cmdline(&gm, "abcdefg", 8), 0);
	cr_assert_eq(boot_write_cmdline(&gm, "abcdefgh", 8), -E2BIG);
	cr_assert_eq(boot_write_cmdline(&gm, "a", 0), -E2BIG);

	/* BOOT_CMDLINE_MAX bounds even a generous max. */
	cr_assert_not_null(longline);
	memset(longline, 'x', BOOT_CMDLINE_MAX + 15);
	longline[BOOT_CMDLINE_MAX] = '\0';
	cr_assert_eq(boot_write_cmdline(&gm, longline, 2 * BOOT_CMDLINE_MAX),
		     -E2BIG);
	longline[BOOT_CMDLINE_MAX - 1] = '\0';
	cr_assert_eq(boot_write_cmdline(&gm, longline, 2 * BOOT_CMDLINE_MAX),
		     0);
	free(longline);
}

/* ---- Linux boot protocol ---- */

static void check_e820(const struct boot_params *bp)
{
	struct boot_mem_range mm[BOOT_MAX_RANGES];
	unsigned int n = boot_memmap(&gm, mm, BOOT_MAX_RANGES);

	cr_assert_eq(bp->e820_entries, n);
	for (unsigned int i = 0; i < n; i++) {
		cr_assert_eq(bp->e820_table[i].addr, mm[i].addr);
		cr_assert_eq(bp->e820_table[i].size, mm[i].size);
		cr_assert_eq(bp->e820_table[i].type, mm[i].type);
	}
}

Test(boot, linux_load_fills_the_zero_page)
{
	struct bz b = bz_build(BZ_PM_SIZE);
	const char *cmdline = "console=ttyS0 quiet";
	struct boot_request req = bz_request(&b, cmdline);
	struct boot_entry entry = { 0 };
	uint8_t initrd[0x5000];
	const struct boot_params *bp;
	uint64_t kend = BOOT_HIGH_START + BZ_PM_SIZE, gpa;

	for (size_t i = 0; i < sizeof(initrd); i++)
		initrd[i] = pattern(i + 99);
	req.initrd = initrd;
	req.initrd_size = sizeof(initrd);
	/* Stale data in the zero page must not survive. */
	memset(guest(BOOT_ZERO_PAGE_ADDR, 4096), 0xcc, 4096);

	cr_assert_eq(boot_linux_load(&gm, &req, &entry), 0, "%s", req.err);
	cr_assert_eq(entry.mode, BOOT_MODE_LONG64);
	cr_assert_eq(entry.rip, 0x100200);
	cr_assert_eq(entry.arg, BOOT_ZERO_PAGE_ADDR);

	/* The protected-mode kernel at 1 MiB. */
	cr_assert_arr_eq(guest(BOOT_HIGH_START, BZ_PM_SIZE),
			 b.buf + BZ_SETUP_SIZE, BZ_PM_SIZE);

	bp = guest(BOOT_ZERO_PAGE_ADDR, sizeof(*bp));
	cr_assert_eq(bp->hdr.header, 0x53726448);
	cr_assert_eq(bp->hdr.version, 0x20c);
	cr_assert_eq(bp->hdr.boot_flag, 0xaa55);
	cr_assert_eq(bp->hdr.type_of_loader, 0xff);
	cr_assert(bp->hdr.loadflags & LOADED_HIGH);
	cr_assert(bp->hdr.loadflags & CAN_USE_HEAP);
	cr_assert_eq(bp->hdr.cmd_line_ptr, BOOT_CMDLINE_ADDR);
	cr_assert_str_eq(guest(bp->hdr.cmd_line_ptr, strlen(cmdline) + 1),
			 cmdline);
	/* Everything outside the header starts zeroed. */
	cr_assert_eq(bp->screen_info.orig_video_lines, 0);
	cr_assert_eq(bp->ext_ramdisk_image, 0);
	cr_assert_eq(bp->ext_cmd_line_ptr, 0);
	check_e820(bp);

	/* The initrd: whole, page aligned, above the kernel, below the max. */
	gpa = bp->hdr.ramdisk_image;
	cr_assert_eq(bp->hdr.ramdisk_size, sizeof(initrd));
	cr_assert_eq(gpa % 4096, 0);
	cr_assert_geq(gpa, kend);
	cr_assert_leq(gpa + sizeof(initrd), (uint64_t)BZ_INITRD_MAX + 1);
	cr_assert_eq(gpa, BZ_INITRD_MAX + 1 - sizeof(initrd));
	cr_assert_arr_eq(guest(gpa, sizeof(initrd)), initrd, sizeof(initrd));

	/* Long-mode entry needs the GDT and the identity map. */
	cr_assert_eq(gm_translate(&gm, BOOT_PML4_ADDR, entry.rip, &gpa), 0);
	cr_assert_eq(gpa, entry.rip);
	cr_assert(((uint64_t *)guest(BOOT_GDT_ADDR, 32))[BOOT_CS / 8] &
		  (1ULL << 53));
	free(b.buf);
}

Test(boot, linux_load_without_initrd)
{
	struct bz b = bz_build(BZ_PM_SIZE);
	struct boot_request req = bz_request(&b, "");
	struct boot_entry entry;
	const struct boot_params *bp;

	cr_assert_eq(boot_linux_load(&gm, &req, &entry), 0, "%s", req.err);
	bp = guest(BOOT_ZERO_PAGE_ADDR, sizeof(*bp));
	cr_assert_eq(bp->hdr.ramdisk_image, 0);
	cr_assert_eq(bp->hdr.ramdisk_size, 0);
	cr_assert_str_eq(guest(BOOT_CMDLINE_ADDR, 1), "");
	free(b.buf);
}

Test(boot, linux_header_copy_is_bounded)
{
	struct bz b = bz_build(BZ_PM_SIZE);
	struct boot_request req = bz_request(&b, "x");
	struct boot_entry entry;
	const uint8_t *zp;
	size_t hdr_end = BZ_HDR_OFF + sizeof(struct setup_header);

	/* A jump offset claiming a header longer than struct setup_header. */
	b.buf[0x201] = 0xff;
	memset(b.buf + hdr_end, 0xcc, BZ_SETUP_SIZE - hdr_end);
	cr_assert_eq(boot_linux_load(&gm, &req, &entry), 0, "%s", req.err);
	zp = guest(BOOT_ZERO_PAGE_ADDR, 4096);
	for (size_t i = hdr_end; i < 0x290; i++)
		cr_assert_eq(zp[i], 0, "zero page byte %#zx", i);
	free(b.buf);
}

static void linux_load_fails(struct bz *b, const char *cmdline, int expect,
			     const char *what)
{
	struct boot_request req = bz_request(b, cmdline);
	struct boot_entry entry = { .rip = 0x1234 };

	cr_assert_eq(boot_linux_load(&gm, &req, &entry), expect, "%s: %s",
		     what, req.err);
	cr_assert_neq(req.err[0], '\0', "%s: no message", what);
	cr_assert_eq(entry.rip, 0x1234, "%s: entry set", what);
}

Test(boot, linux_old_protocol_refused)
{
	struct bz b = bz_build(BZ_PM_SIZE);

	b.hdr->version = 0x20b;
	linux_load_fails(&b, "", -EINVAL, "protocol 2.11");
	b.hdr->version = 0;
	linux_load_fails(&b, "", -EINVAL, "protocol 0");
	b.hdr->version = 0x20f;
	b.hdr->xloadflags = 0;
	linux_load_fails(&b, "", -EINVAL, "no XLF_KERNEL_64");
	b.hdr->xloadflags = 0xfffe;
	linux_load_fails(&b, "", -EINVAL, "other xloadflags only");
	free(b.buf);
}

Test(boot, linux_setup_sects_past_the_end_refused)
{
	struct bz b = bz_build(BZ_PM_SIZE);

	b.hdr->setup_sects = 255;
	linux_load_fails(&b, "", -EINVAL, "setup_sects 255");
	b.hdr->setup_sects = (BZ_SETUP_SIZE + BZ_PM_SIZE) / 512 - 1;
	linux_load_fails(&b, "", -EINVAL, "no protected-mode code");
	free(b.buf);

	/* setup_sects 0 means 4: a file of exactly 5 sectors has no kernel. */
	b = bz_build(5 * 512 - BZ_SETUP_SIZE);
	b.hdr->setup_sects = 0;
	linux_load_fails(&b, "", -EINVAL, "setup_sects 0");
	free(b.buf);
}

Test(boot, linux_short_files_refused)
{
	struct bz b = bz_build(BZ_PM_SIZE);

	for (size_t size = 0; size < BZ_HDR_OFF + sizeof(struct setup_header);
	     size += 61) {
		struct boot_request req = bz_request(&b, "");
		struct boot_entry entry;

		req.kernel_size = size;
		cr_assert_eq(boot_linux_load(&gm, &req, &entry), -EINVAL);
		cr_assert_neq(req.err[0], '\0');
	}
	free(b.buf);
}

Test(boot, linux_cmdline_longer_than_the_kernel_takes)
{
	struct bz b = bz_build(BZ_PM_SIZE);
	char line[300];

	b.hdr->cmdline_size = 16;
	linux_load_fails(&b, "console=ttyS0 loglevel=8", -E2BIG,
			 "cmdline_size 16");
	memset(line, 'a', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	b.hdr->cmdline_size = 255;
	linux_load_fails(&b, line, -E2BIG, "cmdline_size 255");
	free(b.buf);
}

Test(boot, linux_huge_cmdline_size_still_bounded)
{
	struct bz b = bz_build(BZ_PM_SIZE);
	struct boot_request req = bz_request(&b, "console=ttyS0");
	struct boot_entry entry;
	char *line = malloc(BOOT_CMDLINE_MAX + 1);

	/* "No limit" from the kernel: our own BOOT_CMDLINE_MAX applies. */
	b.hdr->cmdline_size = 0xffffffff;
	cr_assert_eq(boot_linux_load(&gm, &req, &entry), 0, "%s", req.err);
	cr_assert_str_eq(guest(BOOT_CMDLINE_ADDR, 14), "console=ttyS0");
	cr_assert_not_null(line);
	memset(line, 'b', BOOT_CMDLINE_MAX);
	line[BOOT_CMDLINE_MAX] = '\0';
	linux_load_fails(&b, line, -E2BIG, "4096-byte cmdline");
	free(line);
	free(b.buf);
}

Test(boot, linux_initrd_that_does_not_fit)
{
	struct bz b = bz_build(BZ_PM_SIZE);
	struct boot_request req = bz_request(&b, "");
	struct boot_entry entry;
	uint8_t *initrd = calloc(1, 40 * MiB);

	cr_assert_not_null(initrd);
	req.initrd = initrd;
	/* Above initrd_addr_max (32 MiB) though the guest has 64 MiB. */
	req.initrd_size = 33 * MiB;
	cr_assert_eq(boot_linux_load(&gm, &req, &entry), -ENOMEM);
	cr_assert_neq(req.err[0], '\0');
	/* Below the max, but it would overlap the kernel. */
	req.initrd_size = 32 * MiB - BOOT_HIGH_START;
	req.err[0] = '\0';
	cr_assert_eq(boot_linux_load(&gm, &req, &entry), -ENOMEM);
	cr_assert_neq(req.err[0], '\0');
	/* Just fits between the kernel and the max. */
	req.initrd_size = BZ_INITRD_MAX + 1 - (BOOT_HIGH_START + BZ_PM_SIZE);
	cr_assert_eq(boot_linux_load(&gm, &req, &entry), 0, "%s", req.err);
	free(initrd);
	free(b.buf);
}

Test(boot, linux_kernel_bigger_than_ram)
{
	struct guest_mem small = { 0 };
	uint8_t *ram = calloc(1, 2 * MiB);
	struct bz b = bz_build(MiB + MiB / 2);
	struct boot_request req = bz_request(&b, "");
	struct boot_entry entry;

	cr_assert_not_null(ram);
	cr_assert_eq(gm_add_region(&small, 0, 2 * MiB, ram), 0);
	cr_assert_eq(boot_linux_load(&small, &req, &entry), -ENOMEM);
	cr_assert_neq(req.err[0], '\0');
	free(b.buf);
	free(ram);
}

/* ---- PVH ---- */

static void check_pvh_memmap(const struct hvm_start_info *si)
{
	struct boot_mem_range mm[BOOT_MAX_RANGES];
	unsigned int n = boot_memmap(&gm, mm, BOOT_MAX_RANGES);
	const struct hvm_memmap_table_entry *me;

	cr_assert_eq(si->memmap_paddr, BOOT_PVH_INFO_ADDR + PVH_MEMMAP_OFF);
	cr_assert_eq(si->memmap_entries, n);
	me = guest(si->memmap_paddr, n * sizeof(*me));
	for (unsigned int i = 0; i < n; i++) {
		cr_assert_eq(me[i].addr, mm[i].addr);
		cr_assert_eq(me[i].size, mm[i].size);
		cr_assert_eq(me[i].type, mm[i].type);
		cr_assert_eq(me[i].reserved, 0);
	}
}

Test(boot, pvh_load_fills_start_info)
{
	struct elf e = elf_build(true, true);
	const char *cmdline = "console=hvc0 root=/dev/vda";
	struct boot_request req = elf_request(&e, cmdline);
	struct boot_entry entry = { 0 };
	uint8_t initrd[5000];
	const struct hvm_start_info *si;
	const struct hvm_modlist_entry *mod;
	const uint8_t *seg;
	uint64_t kend = ELF_LOAD_PADDR + ELF_LOAD_MEMSZ;

	for (size_t i = 0; i < sizeof(initrd); i++)
		initrd[i] = pattern(i + 5);
	req.initrd = initrd;
	req.initrd_size = sizeof(initrd);
	/* The bss must come out zeroed. */
	memset(guest(ELF_LOAD_PADDR, ELF_LOAD_MEMSZ), 0xaa, ELF_LOAD_MEMSZ);

	cr_assert_eq(boot_pvh_load(&gm, &req, &entry), 0, "%s", req.err);
	cr_assert_eq(entry.mode, BOOT_MODE_PROT32);
	cr_assert_eq(entry.rip, PVH_ENTRY);
	cr_assert_eq(entry.arg, BOOT_PVH_INFO_ADDR);

	seg = guest(ELF_LOAD_PADDR, ELF_LOAD_MEMSZ);
	cr_assert_arr_eq(seg, e.buf + ELF_LOAD_OFF, ELF_LOAD_FILESZ);
	for (size_t i = ELF_LOAD_FILESZ; i < ELF_LOAD_MEMSZ; i++)
		cr_assert_eq(seg[i], 0, "bss byte %#zx", i);

	si = guest(BOOT_PVH_INFO_ADDR, sizeof(*si));
	cr_assert_eq(si->magic, HVM_START_MAGIC);
	cr_assert_eq(si->version, 1);
	cr_assert_eq(si->cmdline_paddr, BOOT_CMDLINE_ADDR);
	cr_assert_str_eq(guest(si->cmdline_paddr, strlen(cmdline) + 1),
			 cmdline);
	cr_assert_eq(si->rsdp_paddr, 0);
	check_pvh_memmap(si);

	cr_assert_eq(si->nr_modules, 1);
	cr_assert_eq(si->modlist_paddr, BOOT_PVH_INFO_ADDR + PVH_MODLIST_OFF);
	mod = guest(si->modlist_paddr, sizeof(*mod));
	cr_assert_eq(mod->size, sizeof(initrd));
	cr_assert_eq(mod->paddr % 4096, 0);
	cr_assert_geq(mod->paddr, kend);
	cr_assert_leq(mod->paddr + mod->size, GUEST_SIZE);
	cr_assert_eq(mod->cmdline_paddr, 0);
	cr_assert_arr_eq(guest(mod->paddr, sizeof(initrd)), initrd,
			 sizeof(initrd));
	/* The start info, modlist and memmap do not overlap. */
	cr_assert_leq(sizeof(*si), PVH_MODLIST_OFF);
	cr_assert_leq(PVH_MODLIST_OFF + sizeof(*mod), PVH_MEMMAP_OFF);
	free(e.buf);
}

Test(boot, pvh_load_without_initrd)
{
	struct elf e = elf_build(true, true);
	struct boot_request req = elf_request(&e, "");
	struct boot_entry entry;
	const struct hvm_start_info *si;

	/* Stale start info from an earlier boot must not survive. */
	memset(guest(BOOT_PVH_INFO_ADDR, 4096), 0xcc, 4096);
	cr_assert_eq(boot_pvh_load(&gm, &req, &entry), 0, "%s", req.err);
	si = guest(BOOT_PVH_INFO_ADDR, sizeof(*si));
	cr_assert_eq(si->nr_modules, 0);
	cr_assert_eq(si->modlist_paddr, 0);
	cr_assert_eq(si->flags, 0);
	check_pvh_memmap(si);
	free(e.buf);
}

static void pvh_load_fails(struct elf *e, const char *what)
{
	struct boot_request req = elf_request(e, "");
	struct boot_entry entry = { .rip = 0x1234 };
	int ret = boot_pvh_load(&gm, &req, &entry);

	cr_assert(ret == -EINVAL || ret == -ENOMEM, "%s: %d", what, ret);
	cr_assert_neq(req.err[0], '\0', "%s: no message", what);
	cr_assert_eq(entry.rip, 0x1234, "%s: entry set", what);
}

Test(boot, pvh_segment_outside_the_file)
{
	struct elf e = elf_build(true, true);

	e.load->p_filesz = 0x1000;
	e.load->p_memsz = 0x1000;
	pvh_load_fails(&e, "filesz past the end");
	e.load->p_filesz = ELF_LOAD_FILESZ;
	e.load->p_offset = e.size - 1;
	pvh_load_fails(&e, "offset near the end");
	e.load->p_offset = UINT64_MAX - 4;
	pvh_load_fails(&e, "offset wraps");
	e.load->p_offset = ELF_LOAD_OFF;
	e.load->p_filesz = UINT64_MAX;
	e.load->p_memsz = UINT64_MAX;
	pvh_load_fails(&e, "filesz huge");
	free(e.buf);
}

Test(boot, pvh_segment_outside_ram)
{
	struct elf e = elf_build(true, true);
	uint8_t *zp = guest(BOOT_ZERO_PAGE_ADDR, 16);

	e.load->p_paddr = 128 * MiB;
	pvh_load_fails(&e, "above RAM");
	e.load->p_paddr = GUEST_SIZE - 0x1000;
	pvh_load_fails(&e, "straddles the end of RAM");
	e.load->p_paddr = UINT64_MAX - 0x10;
	pvh_load_fails(&e, "paddr + memsz wraps");
	e.load->p_paddr = ELF_LOAD_PADDR;
	e.load->p_memsz = UINT64_MAX - ELF_LOAD_PADDR + 1;
	pvh_load_fails(&e, "memsz wraps");
	e.load->p_memsz = ELF_LOAD_MEMSZ;

	/* Below 1 MiB it would overwrite the boot structures. */
	memset(zp, 0x5c, 16);
	e.load->p_paddr = BOOT_ZERO_PAGE_ADDR;
	pvh_load_fails(&e, "over the zero page");
	for (int i = 0; i < 16; i++)
		cr_assert_eq(zp[i], 0x5c);
	free(e.buf);
}

Test(boot, pvh_filesz_bigger_than_memsz)
{
	struct elf e = elf_build(true, true);

	e.load->p_memsz = ELF_LOAD_FILESZ - 1;
	pvh_load_fails(&e, "filesz > memsz");
	e.load->p_memsz = 0;
	pvh_load_fails(&e, "memsz 0");
	free(e.buf);
}

Test(boot, pvh_bad_headers)
{
	struct elf e = elf_build(true, true);

	e.eh->e_phnum = 0xffff;
	pvh_load_fails(&e, "program headers past the end");
	e.eh->e_phnum = 2;
	e.xen->n_type = 17;
	pvh_load_fails(&e, "no entry note");
	free(e.buf);

	e = elf_build(true, true);
	e.size = sizeof(Elf64_Ehdr) - 1;
	pvh_load_fails(&e, "shorter than the ELF header");
	e.size = 0;
	pvh_load_fails(&e, "empty");
	free(e.buf);
}

Test(boot, pvh_initrd_that_does_not_fit)
{
	struct elf e = elf_build(true, true);
	struct boot_request req = elf_request(&e, "");
	struct boot_entry entry;
	uint8_t *initrd = calloc(1, GUEST_SIZE);

	cr_assert_not_null(initrd);
	req.initrd = initrd;
	req.initrd_size = GUEST_SIZE - ELF_LOAD_PADDR;
	cr_assert_eq(boot_pvh_load(&gm, &req, &entry), -ENOMEM);
	cr_assert_neq(req.err[0], '\0');
	req.initrd_size = GUEST_SIZE - ELF_LOAD_PADDR - ELF_LOAD_MEMSZ;
	cr_assert_eq(boot_pvh_load(&gm, &req, &entry), 0, "%s", req.err);
	free(initrd);
	free(e.buf);
}

Test(boot, pvh_cmdline_too_long)
{
	struct elf e = elf_build(true, true);
	char *line = malloc(BOOT_CMDLINE_MAX + 1);
	struct boot_request req;
	struct boot_entry entry;

	cr_assert_not_null(line);
	memset(line, 'c', BOOT_CMDLINE_MAX);
	line[BOOT_CMDLINE_MAX] = '\0';
	req = elf_request(&e, line);
	cr_assert_eq(boot_pvh_load(&gm, &req, &entry), -E2BIG);
	cr_assert_neq(req.err[0], '\0');
	free(line);
	free(e.buf);
}

/* ---- MP table ---- */

static uint8_t sum8(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s += *p++;
	return s;
}

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Check the tables (MP spec 1.4 §4) and return the processor count. */
static unsigned int mptable_check(void)
{
	const uint8_t *mpf = guest(BOOT_BIOS_START, 16), *hdr, *e;
	unsigned int cpus = 0, bsps = 0, ioapics = 0;
	uint32_t physptr;
	uint16_t len, count;

	cr_assert_arr_eq(mpf, "_MP_", 4);
	cr_assert_eq(mpf[8], 1, "length in 16-byte units");
	cr_assert_eq(sum8(mpf, 16), 0, "floating pointer checksum");
	physptr = get32(mpf + 4);
	cr_assert_geq(physptr, BOOT_BIOS_START);
	cr_assert_lt(physptr, BOOT_HIGH_START);

	hdr = guest(physptr, 44);
	cr_assert_arr_eq(hdr, "PCMP", 4);
	len = get16(hdr + 4);
	count = get16(hdr + 34);
	cr_assert_lt(physptr + len, BOOT_HIGH_START);
	hdr = guest(physptr, len);
	cr_assert_eq(sum8(hdr, len), 0, "table checksum");
	cr_assert_eq(get32(hdr + 36), 0xfee00000, "local APIC address");

	e = hdr + 44;
	for (unsigned int i = 0; i < count; i++) {
		cr_assert_lt(e, hdr + len, "entry %u past the table", i);
		switch (e[0]) {
		case 0: /* processor */
			cr_assert_eq(e[1], cpus, "APIC IDs in order");
			cr_assert(e[3] & 1, "enabled");
			bsps += !!(e[3] & 2);
			cpus++;
			e += 20;
			break;
		case 2: /* I/O APIC */
			ioapics++;
			cr_assert_eq(get32(e + 4), 0xfec00000);
			e += 8;
			break;
		default:
			cr_assert_leq(e[0], 4, "entry type");
			e += 8;
			break;
		}
	}
	cr_assert_eq(e, hdr + len, "entries fill the table");
	cr_assert_eq(bsps, 1);
	cr_assert_eq(ioapics, 1);
	return cpus;
}

Test(boot, mptable_one_cpu)
{
	memset(guest(BOOT_BIOS_START, 4096), 0xcc, 4096);
	cr_assert_eq(mptable_write(&gm, 1), 0);
	cr_assert_eq(mptable_check(), 1);
}

Test(boot, mptable_eight_cpus)
{
	cr_assert_eq(mptable_write(&gm, 8), 0);
	cr_assert_eq(mptable_check(), 8);
}

Test(boot, mptable_cpu_count_limits)
{
	cr_assert_eq(mptable_write(&gm, 0), -EINVAL);
	cr_assert_eq(mptable_write(&gm, 255), -EINVAL);
	cr_assert_eq(mptable_write(&gm, UINT32_MAX), -EINVAL);
	cr_assert_eq(mptable_write(&gm, 254), 0);
	cr_assert_eq(mptable_check(), 254);
}

Test(boot, mptable_stays_inside_ram)
{
	/* RAM ends 4 KiB into the BIOS area; the host buffer goes on. */
	const size_t ram = BOOT_BIOS_START + 4096, extra = 8192;
	struct guest_mem small = { 0 };
	uint8_t *buf = malloc(ram + extra);

	cr_assert_not_null(buf);
	memset(buf, 0xcc, ram + extra);
	cr_assert_eq(gm_add_region(&small, 0, ram, buf), 0);
	cr_assert_eq(mptable_write(&small, 8), 0);
	/* 254 processor entries need more than the 4 KiB there is. */
	mptable_write(&small, 254);
	for (size_t i = ram; i < ram + extra; i++)
		cr_assert_eq(buf[i], 0xcc, "wrote past RAM at %#zx", i);
	free(buf);

	/* No RAM at the BIOS area at all. */
	memset(&small, 0, sizeof(small));
	buf = malloc(BOOT_BIOS_START);
	cr_assert_not_null(buf);
	cr_assert_eq(gm_add_region(&small, 0, BOOT_BIOS_START, buf), 0);
	cr_assert_eq(mptable_write(&small, 1), -EINVAL);
	free(buf);
}
