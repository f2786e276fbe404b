// SPDX-License-Identifier: MIT
/*
 * The Linux x86 boot protocol (Documentation/arch/x86/boot.rst), 64-bit entry:
 * the protected-mode kernel is loaded at 1 MiB and entered at its start +
 * 0x200 in long mode with RSI pointing at the zero page.  We never run the
 * real-mode setup code, so the loader fills in what it would have.
 */
#include "boot.h"

#include <asm/bootparam.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define SETUP_HDR_OFF 0x1f1
#define BOOT_PROTO_MIN 0x20c /* 2.12: xloadflags, XLF_KERNEL_64 */
#define LOADER_TYPE_UNDEFINED 0xff
#define ENTRY64_OFFSET 0x200

int boot_linux_load(const struct guest_mem *gm, struct boot_request *req,
		    struct boot_entry *entry)
{
	struct boot_params *bp;
	struct setup_header hdr;
	struct boot_mem_range mm[BOOT_MAX_RANGES];
	size_t setup_size, pm_size, hdr_len;
	uint64_t kend, initrd_gpa = 0;
	unsigned int n;
	int ret;

	if (req->kernel_size < SETUP_HDR_OFF + sizeof(hdr)) {
		snprintf(req->err, sizeof(req->err), "bzImage too short");
		return -EINVAL;
	}
	memcpy(&hdr, req->kernel + SETUP_HDR_OFF, sizeof(hdr));
	if (hdr.version < BOOT_PROTO_MIN || !(hdr.xloadflags & XLF_KERNEL_64)) {
		snprintf(req->err, sizeof(req->err),
			 "boot protocol %u.%02u without a 64-bit entry (need 2.12 and XLF_KERNEL_64)",
			 hdr.version >> 8, hdr.version & 0xff);
		return -EINVAL;
	}
	setup_size = ((size_t)(hdr.setup_sects ? hdr.setup_sects : 4) + 1) * 512;
	if (setup_size >= req->kernel_size) {
		snprintf(req->err, sizeof(req->err),
			 "setup_sects %u runs past the end of the file",
			 hdr.setup_sects);
		return -EINVAL;
	}
	pm_size = req->kernel_size - setup_size;
	kend = BOOT_HIGH_START + pm_size;
	if (gm_write(gm, BOOT_HIGH_START, req->kernel + setup_size, pm_size)) {
		snprintf(req->err, sizeof(req->err),
			 "kernel (%zu bytes) does not fit in guest RAM", pm_size);
		return -ENOMEM;
	}

	bp = gm_ptr(gm, BOOT_ZERO_PAGE_ADDR, sizeof(*bp));
	if (!bp)
		return -EFAULT;
	memset(bp, 0, sizeof(*bp));
	/*
	 * Copy the setup header as the file has it: its length is given by the
	 * byte at 0x201 (the jump's offset) + 0x202 - 0x1f1.
	 */
	hdr_len = 0x202 + req->kernel[0x201] - SETUP_HDR_OFF;
	if (hdr_len > sizeof(bp->hdr))
		hdr_len = sizeof(bp->hdr);
	memcpy(&bp->hdr, req->kernel + SETUP_HDR_OFF, hdr_len);
	bp->hdr.type_of_loader = LOADER_TYPE_UNDEFINED;
	bp->hdr.loadflags |= CAN_USE_HEAP | LOADED_HIGH | KEEP_SEGMENTS;
	bp->hdr.heap_end_ptr = 0xfe00;
	bp->hdr.cmd_line_ptr = BOOT_CMDLINE_ADDR;
	bp->hdr.vid_mode = 0xffff; /* "normal" */

	/* cmdline_size excludes the NUL; add 1 in size_t so ~0 cannot wrap. */
	ret = boot_write_cmdline(gm, req->cmdline,
				 hdr.cmdline_size ?
					 (size_t)hdr.cmdline_size + 1 :
					 BOOT_CMDLINE_MAX);
	if (ret) {
		snprintf(req->err, sizeof(req->err),
			 "command line longer than the kernel's %u bytes",
			 hdr.cmdline_size);
		return ret;
	}

	if (req->initrd) {
		ret = boot_place_initrd(gm, req->initrd_size, kend,
					(uint64_t)hdr.initrd_addr_max + 1,
					&initrd_gpa);
		if (ret) {
			snprintf(req->err, sizeof(req->err),
				 "initrd (%zu bytes) does not fit below %#x",
				 req->initrd_size, hdr.initrd_addr_max);
			return ret;
		}
		gm_write(gm, initrd_gpa, req->initrd, req->initrd_size);
		bp->hdr.ramdisk_image = (uint32_t)initrd_gpa;
		bp->hdr.ramdisk_size = (uint32_t)req->initrd_size;
	}

	n = boot_memmap(gm, mm, BOOT_MAX_RANGES);
	for (unsigned int i = 0; i < n; i++) {
		bp->e820_table[i].addr = mm[i].addr;
		bp->e820_table[i].size = mm[i].size;
		bp->e820_table[i].type = mm[i].type;
	}
	bp->e820_entries = (uint8_t)n;

	if (boot_write_gdt(gm) || boot_write_page_tables(gm))
		return -EFAULT;
	entry->mode = BOOT_MODE_LONG64;
	entry->rip = BOOT_HIGH_START + ENTRY64_OFFSET;
	entry->arg = BOOT_ZERO_PAGE_ADDR;
	return 0;
}
