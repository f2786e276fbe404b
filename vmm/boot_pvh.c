// SPDX-License-Identifier: MIT
/*
 * PVH entry of an ELF vmlinux: load the PT_LOAD segments at their physical
 * addresses and enter the address in the Xen PHYS32_ENTRY note in 32-bit
 * flat protected mode, paging off, with EBX = the hvm_start_info address.
 * No decompressor runs: this is what makes a kernel usable on PVM.
 */
#include "boot.h"
#include "pvh.h"

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static const Elf64_Phdr *elf_phdr(const uint8_t *elf, size_t size,
				  unsigned int i)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)elf;
	uint64_t off;

	if (eh->e_phentsize != sizeof(Elf64_Phdr) || i >= eh->e_phnum)
		return NULL;
	off = eh->e_phoff + (uint64_t)i * sizeof(Elf64_Phdr);
	if (off < eh->e_phoff || off > size || size - off < sizeof(Elf64_Phdr))
		return NULL;
	return (const Elf64_Phdr *)(elf + off);
}

int boot_pvh_find_entry(const uint8_t *elf, size_t size, uint32_t *entry)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)elf;

	if (size < sizeof(*eh))
		return -ENOENT;
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = elf_phdr(elf, size, i);
		uint64_t off, end;

		if (!ph)
			return -ENOENT;
		if (ph->p_type != PT_NOTE)
			continue;
		if (__builtin_add_overflow(ph->p_offset, ph->p_filesz, &end) ||
		    end > size)
			continue;
		/* Each note: namesz, descsz, type, name, desc; 4-aligned. */
		for (off = ph->p_offset; end - off >= sizeof(Elf64_Nhdr);) {
			const Elf64_Nhdr *nh = (const Elf64_Nhdr *)(elf + off);
			uint64_t name = off + sizeof(*nh);
			uint64_t desc = name + ((nh->n_namesz + 3ULL) & ~3ULL);
			uint64_t next = desc + ((nh->n_descsz + 3ULL) & ~3ULL);

			if (next > end)
				break;
			if (nh->n_type == XEN_ELFNOTE_PHYS32_ENTRY &&
			    nh->n_namesz == 4 && !memcmp(elf + name, "Xen", 4) &&
			    nh->n_descsz >= 4) {
				memcpy(entry, elf + desc, 4);
				return 0;
			}
			off = next;
		}
	}
	return -ENOENT;
}

int boot_pvh_load(const struct guest_mem *gm, struct boot_request *req,
		  struct boot_entry *entry)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)req->kernel;
	struct boot_mem_range mm[BOOT_MAX_RANGES];
	struct hvm_memmap_table_entry *me;
	struct hvm_start_info *si;
	struct hvm_modlist_entry *mod;
	uint64_t kend = 0;
	uint32_t entry32;
	unsigned int n;
	int ret;

	if (boot_pvh_find_entry(req->kernel, req->kernel_size, &entry32)) {
		snprintf(req->err, sizeof(req->err), "no PVH entry note");
		return -EINVAL;
	}
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = elf_phdr(req->kernel, req->kernel_size, i);
		uint64_t fend, mend;
		uint8_t *dst;

		if (!ph) {
			snprintf(req->err, sizeof(req->err),
				 "bad ELF program header table");
			return -EINVAL;
		}
		if (ph->p_type != PT_LOAD)
			continue;
		if (ph->p_filesz > ph->p_memsz ||
		    __builtin_add_overflow(ph->p_offset, ph->p_filesz, &fend) ||
		    fend > req->kernel_size ||
		    __builtin_add_overflow(ph->p_paddr, ph->p_memsz, &mend)) {
			snprintf(req->err, sizeof(req->err),
				 "ELF segment %u lies outside the file", i);
			return -EINVAL;
		}
		dst = gm_ptr(gm, ph->p_paddr, ph->p_memsz);
		if (!dst || ph->p_paddr < BOOT_HIGH_START) {
			snprintf(req->err, sizeof(req->err),
				 "ELF segment %u [%#llx, %#llx) is not in guest RAM above 1 MiB",
				 i, (unsigned long long)ph->p_paddr,
				 (unsigned long long)mend);
			return -ENOMEM;
		}
		memcpy(dst, req->kernel + ph->p_offset, ph->p_filesz);
		memset(dst + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
		if (mend > kend)
			kend = mend;
	}

	si = gm_ptr(gm, BOOT_PVH_INFO_ADDR, 4096);
	if (!si)
		return -EFAULT;
	memset(si, 0, 4096);
	si->magic = HVM_START_MAGIC;
	si->version = 1;
	ret = boot_write_cmdline(gm, req->cmdline, BOOT_CMDLINE_MAX);
	if (ret) {
		snprintf(req->err, sizeof(req->err),
			 "command line longer than %d bytes", BOOT_CMDLINE_MAX);
		return ret;
	}
	si->cmdline_paddr = BOOT_CMDLINE_ADDR;

	if (req->initrd) {
		uint64_t gpa;

		/* PVH has no initrd_addr_max; stay below 4 GiB anyway. */
		ret = boot_place_initrd(gm, req->initrd_size, kend, 0, &gpa);
		if (ret) {
			snprintf(req->err, sizeof(req->err),
				 "initrd (%zu bytes) does not fit above the kernel",
				 req->initrd_size);
			return ret;
		}
		gm_write(gm, gpa, req->initrd, req->initrd_size);
		mod = (void *)((uint8_t *)si + PVH_MODLIST_OFF);
		mod->paddr = gpa;
		mod->size = req->initrd_size;
		si->nr_modules = 1;
		si->modlist_paddr = BOOT_PVH_INFO_ADDR + PVH_MODLIST_OFF;
	}

	n = boot_memmap(gm, mm, BOOT_MAX_RANGES);
	me = (void *)((uint8_t *)si + PVH_MEMMAP_OFF);
	for (unsigned int i = 0; i < n; i++)
		me[i] = (struct hvm_memmap_table_entry){ mm[i].addr,
							 mm[i].size,
							 mm[i].type, 0 };
	si->memmap_paddr = BOOT_PVH_INFO_ADDR + PVH_MEMMAP_OFF;
	si->memmap_entries = n;

	if (boot_write_gdt(gm))
		return -EFAULT;
	entry->mode = BOOT_MODE_PROT32;
	entry->rip = entry32;
	entry->arg = BOOT_PVH_INFO_ADDR;
	return 0;
}
