/* SPDX-License-Identifier: MIT */
/*
 * The benchmark stub: a PVH kernel whose first instructions write 0 to the
 * exit port.  Start, one port write, exit: what a VMM costs with nothing else.
 */
	.section .head, "awx"
	.code32
	.globl	pvh_start32
pvh_start32:
	xor	%eax, %eax
	out	%eax, $0xf4
1:	hlt
	jmp	1b

	.section .note.Xen, "a"
	.balign	4
	.long	4
	.long	4
	.long	18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz	"Xen"
	.long	pvh_start32
	.section .note.GNU-stack, "", @progbits
