// SPDX-License-Identifier: MIT
/*
 * Intel MultiProcessor Specification 1.4 tables.  Without ACPI, this is how
 * Linux learns how many CPUs there are, where the local APICs and the I/O
 * APIC live, and how the 16 ISA interrupts reach the I/O APIC.  The floating
 * pointer goes at the start of the BIOS area, which Linux scans.
 */
#include "boot.h"

#include <errno.h>
#include <string.h>

#define MP_LAPIC_ADDR 0xfee00000U
#define MP_IOAPIC_ADDR 0xfec00000U
#define MP_APIC_VERSION 0x14
#define MP_IOAPIC_VERSION 0x11
#define MP_SPEC_REV 4

enum { MP_PROC = 0, MP_BUS = 1, MP_IOAPIC = 2, MP_INTSRC = 3, MP_LINTSRC = 4 };
enum { MP_IRQ_INT = 0, MP_IRQ_NMI = 1, MP_IRQ_EXTINT = 3 };

struct mpf {
	char sig[4];
	uint32_t physptr;
	uint8_t length; /* 16-byte units */
	uint8_t rev;
	uint8_t checksum;
	uint8_t feature[5];
} __attribute__((packed));

struct mpc_header {
	char sig[4];
	uint16_t length;
	uint8_t rev;
	uint8_t checksum;
	char oem[8];
	char product[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t count;
	uint32_t lapic;
	uint32_t reserved;
} __attribute__((packed));

struct mpc_cpu {
	uint8_t type, apicid, apicver, flags;
	uint32_t signature, features;
	uint32_t reserved[2];
} __attribute__((packed));

struct mpc_bus {
	uint8_t type, busid;
	char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type, apicid, apicver, flags;
	uint32_t addr;
} __attribute__((packed));

struct mpc_irq {
	uint8_t type, irqtype;
	uint16_t irqflag;
	uint8_t srcbus, srcirq, dstapic, dstirq;
} __attribute__((packed));

_Static_assert(sizeof(struct mpf) == 16, "mpf");
_Static_assert(sizeof(struct mpc_header) == 44, "mpc header");
_Static_assert(sizeof(struct mpc_cpu) == 20, "mpc cpu");
_Static_assert(sizeof(struct mpc_irq) == 8, "mpc irq");

static uint8_t mp_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return (uint8_t)-sum;
}

int mptable_write(const struct guest_mem *gm, unsigned int ncpus)
{
	const uint64_t base = BOOT_BIOS_START;
	uint8_t *p, *cur;
	struct mpf *mpf;
	struct mpc_header *hdr;
	uint8_t ioapic_id = (uint8_t)ncpus;
	uint16_t count = 0;
	size_t size;

	if (ncpus == 0 || ncpus > 254)
		return -EINVAL;
	/*
	 * Everything written below: with 254 CPUs that is more than a page, so
	 * the whole size is checked against RAM, not a fixed 4 KiB.
	 */
	size = sizeof(*mpf) + sizeof(*hdr) + ncpus * sizeof(struct mpc_cpu) +
	       sizeof(struct mpc_bus) + sizeof(struct mpc_ioapic) +
	       (16 + 2) * sizeof(struct mpc_irq);
	p = gm_ptr(gm, base, size);
	if (!p)
		return -EINVAL;
	memset(p, 0, size);
	mpf = (struct mpf *)p;
	hdr = (struct mpc_header *)(p + sizeof(*mpf));
	cur = (uint8_t *)(hdr + 1);

	for (unsigned int i = 0; i < ncpus; i++) {
		struct mpc_cpu c = {
			.type = MP_PROC,
			.apicid = (uint8_t)i,
			.apicver = MP_APIC_VERSION,
			.flags = 1 | (i == 0 ? 2 : 0), /* enabled, BSP */
			.signature = 0x600, /* family 6 */
			.features = 0x201, /* FPU, APIC */
		};
		memcpy(cur, &c, sizeof(c));
		cur += sizeof(c);
		count++;
	}
	struct mpc_bus bus = { .type = MP_BUS, .busid = 0 };

	memcpy(bus.bustype, "ISA   ", 6);
	memcpy(cur, &bus, sizeof(bus));
	cur += sizeof(bus);
	count++;

	struct mpc_ioapic io = { MP_IOAPIC, ioapic_id, MP_IOAPIC_VERSION, 1,
				 MP_IOAPIC_ADDR };
	memcpy(cur, &io, sizeof(io));
	cur += sizeof(io);
	count++;

	/* ISA IRQ n -> I/O APIC pin n, conforming polarity and trigger. */
	for (uint8_t irq = 0; irq < 16; irq++) {
		struct mpc_irq e = { MP_INTSRC, MP_IRQ_INT, 0, 0, irq,
				     ioapic_id, irq };
		memcpy(cur, &e, sizeof(e));
		cur += sizeof(e);
		count++;
	}
	/* LINT0: ExtINT (the PIC), LINT1: NMI, on every local APIC. */
	struct mpc_irq l0 = { MP_LINTSRC, MP_IRQ_EXTINT, 0, 0, 0, 0xff, 0 };
	struct mpc_irq l1 = { MP_LINTSRC, MP_IRQ_NMI, 0, 0, 0, 0xff, 1 };

	memcpy(cur, &l0, sizeof(l0));
	cur += sizeof(l0);
	memcpy(cur, &l1, sizeof(l1));
	cur += sizeof(l1);
	count += 2;

	memcpy(hdr->sig, "PCMP", 4);
	hdr->length = (uint16_t)(cur - (uint8_t *)hdr);
	hdr->rev = MP_SPEC_REV;
	memcpy(hdr->oem, "MINIVMM ", 8);
	memcpy(hdr->product, "MICROVM     ", 12);
	hdr->count = count;
	hdr->lapic = MP_LAPIC_ADDR;
	hdr->checksum = mp_checksum(hdr, hdr->length);

	memcpy(mpf->sig, "_MP_", 4);
	mpf->physptr = (uint32_t)(base + sizeof(*mpf));
	mpf->length = 1;
	mpf->rev = MP_SPEC_REV;
	mpf->checksum = mp_checksum(mpf, sizeof(*mpf));
	return 0;
}
