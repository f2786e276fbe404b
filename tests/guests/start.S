/* SPDX-License-Identifier: MIT */
/*
 * Entry points of the test guest.  One image, two ways in:
 *  - pvh_start32 (PVH, 32-bit protected mode, EBX = hvm_start_info): builds
 *    identity page tables for 4 GiB, enters long mode, calls guest_main(1, ebx);
 *  - startup_64 at image offset 0x200 (Linux boot protocol 64-bit entry,
 *    RSI = boot_params): calls guest_main(0, rsi).
 * Also the real-mode trampoline that application processors run after SIPI.
 */
#define PTE_P_RW 0x3
#define PTE_LARGE 0x83

	.section .head, "awx"
	.code32
	.globl pvh_start32
pvh_start32:
	cli
	mov	%ebx, %esi
	lgdt	gdt_desc
	/* pd[0..2047] = i * 2 MiB | P | RW | PS (four directories, 4 GiB) */
	mov	$pd, %edi
	mov	$PTE_LARGE, %eax
	xor	%edx, %edx
	mov	$2048, %ecx
1:	mov	%eax, (%edi)
	mov	%edx, 4(%edi)
	add	$0x200000, %eax
	adc	$0, %edx
	add	$8, %edi
	loop	1b
	movl	$(pdpt + PTE_P_RW), pml4
	movl	$(pd + PTE_P_RW), pdpt
	movl	$(pd + 0x1000 + PTE_P_RW), pdpt + 8
	movl	$(pd + 0x2000 + PTE_P_RW), pdpt + 16
	movl	$(pd + 0x3000 + PTE_P_RW), pdpt + 24
	mov	$pml4, %eax
	mov	%eax, %cr3
	mov	%cr4, %eax
	or	$0x20, %eax		/* PAE */
	mov	%eax, %cr4
	mov	$0xc0000080, %ecx	/* EFER */
	rdmsr
	or	$0x100, %eax		/* LME */
	wrmsr
	mov	%cr0, %eax
	or	$0x80000001, %eax	/* PG | PE */
	mov	%eax, %cr0
	ljmp	$0x08, $pvh_long

	.code64
pvh_long:
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$1, %edi
	jmp	common64

	.balign 8
gdt:
	.quad	0
	.quad	0x00af9b000000ffff	/* 0x08: 64-bit code */
	.quad	0x00cf93000000ffff	/* 0x10: data */
gdt_desc:
	.word	gdt_desc - gdt - 1
	.long	gdt

	.org	0x200
	.globl	startup_64
startup_64:
	cli
	xor	%edi, %edi
common64:
	lea	stack_top(%rip), %rsp
	call	guest_main
2:	hlt
	jmp	2b

/* #BP handler for the INT3 test: count and return after the INT3. */
	.code64
	.globl	bp_handler
bp_handler:
	lock incl	bp_count(%rip)
	iretq

/* Application-processor trampoline: copied below 1 MiB by the SMP test. */
	.code16
	.globl	ap_tramp_start, ap_tramp_end
ap_tramp_start:
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	lock incw	0x5000
3:	hlt
	jmp	3b
ap_tramp_end:

	.section .note.Xen, "a"
	.balign	4
	.long	4		/* name size */
	.long	4		/* desc size */
	.long	18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz	"Xen"
	.long	pvh_start32

	.bss
	.globl	bp_count
	.balign	4
bp_count:	.skip	4
	.balign	4096
pml4:	.skip	4096
pdpt:	.skip	4096
pd:	.skip	4 * 4096
stack:	.skip	16384
stack_top:
	.section .note.GNU-stack, "", @progbits
