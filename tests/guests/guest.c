// SPDX-License-Identifier: MIT
/*
 * The test guest: a freestanding 64-bit program that checks, from inside
 * the VM, what minivmm promises (boot structures, memory map, command line,
 * device dispatch, SMP start-up) and reports through the serial port and the
 * exit device.  Which test runs is chosen on the command line: test=NAME.
 * Each check prints "ok NAME" or "FAIL NAME ..."; the exit status is the
 * number of failed checks, or status=N for test=exit.
 */
#include <stddef.h>
#include <stdint.h>

#include <minivmm/guest_abi.h>

#include "../../vmm/pvh.h"
#include "guest.h"

#define COM1 0x3f8
#define E820_RAM 1
#define BP_E820_ENTRIES 0x1e8
#define BP_E820_TABLE 0x2d0
#define BP_HDR_MAGIC 0x202
#define BP_LOADER_TYPE 0x210
#define BP_RAMDISK_IMAGE 0x218
#define BP_RAMDISK_SIZE 0x21c
#define BP_CMDLINE_PTR 0x228
#define LAPIC_BASE 0xfee00000UL
#define AP_COUNTER 0x5000
#define AP_TRAMP 0x8000

extern const char ap_tramp_start[], ap_tramp_end[];
extern void bp_handler(void);
extern volatile uint32_t bp_count;

static unsigned int failures;

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t mmio_read32(uintptr_t addr)
{
	return *(volatile uint32_t *)addr;
}

static inline void mmio_write32(uintptr_t addr, uint32_t v)
{
	*(volatile uint32_t *)addr = v;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static void putc_serial(char c)
{
	/* Wait for THR empty, as a real driver would (minivmm: always). */
	while (!(inb(COM1 + 5) & 0x20))
		;
	outb(COM1, (uint8_t)c);
}

void puts_serial(const char *s)
{
	while (*s) {
		if (*s == '\n')
			putc_serial('\r');
		putc_serial(*s++);
	}
}

static void put_hex(uint64_t v)
{
	char buf[19];
	int i = 18;

	buf[i] = '\0';
	do {
		buf[--i] = "0123456789abcdef"[v & 0xf];
		v >>= 4;
	} while (v && i > 2);
	buf[--i] = 'x';
	buf[--i] = '0';
	puts_serial(&buf[i]);
}

void check(int ok, const char *name, uint64_t got)
{
	puts_serial(ok ? "ok " : "FAIL ");
	puts_serial(name);
	if (!ok) {
		puts_serial(" got ");
		put_hex(got);
		failures++;
	}
	puts_serial("\n");
}

static __attribute__((noreturn)) void guest_exit(uint32_t status)
{
	outl(MINIVMM_EXIT_PORT, status);
	for (;;)
		__asm__ volatile("cli; hlt");
}

static size_t str_len(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

/* Value of "key=" on the command line, or NULL; *len gets its length. */
static const char *cmdline_get(const char *cmdline, const char *key,
			       size_t *len)
{
	size_t klen = str_len(key);

	for (const char *p = cmdline; p && *p;) {
		while (*p == ' ')
			p++;
		const char *w = p;

		while (*p && *p != ' ')
			p++;
		size_t wlen = (size_t)(p - w);

		if (wlen > klen && w[klen] == '=') {
			size_t i = 0;

			while (i < klen && w[i] == key[i])
				i++;
			if (i == klen) {
				*len = wlen - klen - 1;
				return w + klen + 1;
			}
		}
	}
	return NULL;
}

static uint64_t cmdline_num(const char *cmdline, const char *key,
			    uint64_t dflt)
{
	size_t len;
	const char *v = cmdline_get(cmdline, key, &len);
	uint64_t n = 0;

	if (!v || !len)
		return dflt;
	for (size_t i = 0; i < len && v[i] >= '0' && v[i] <= '9'; i++)
		n = n * 10 + (uint64_t)(v[i] - '0');
	return n;
}

static int cmdline_is(const char *cmdline, const char *key, const char *val)
{
	size_t len, vlen = str_len(val);
	const char *v = cmdline_get(cmdline, key, &len);

	if (!v || len != vlen)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (v[i] != val[i])
			return 0;
	return 1;
}

static int has_word(const char *cmdline, const char *word)
{
	size_t wl = str_len(word);

	for (const char *p = cmdline; *p; p++) {
		size_t i = 0;

		while (i < wl && p[i] == word[i])
			i++;
		if (i == wl && (p == cmdline || p[-1] == ' ') &&
		    (p[wl] == ' ' || p[wl] == '\0'))
			return 1;
	}
	return 0;
}

struct memmap {
	uint64_t ram_total; /* bytes of type RAM */
	uint64_t high_end; /* end of the RAM range that starts at 1 MiB */
	unsigned int n;
	int ram_at_0;
};

static void memmap_add(struct memmap *m, uint64_t addr, uint64_t size,
		       uint32_t type)
{
	m->n++;
	if (type != E820_RAM)
		return;
	m->ram_total += size;
	if (addr == 0)
		m->ram_at_0 = 1;
	if (addr == 0x100000)
		m->high_end = addr + size;
}

static void check_memmap(const struct memmap *m, const char *cmdline)
{
	uint64_t mib = cmdline_num(cmdline, "expect_mem_mib", 0);

	check(m->n >= 3, "memmap has base, reserved and high ranges", m->n);
	check(m->ram_at_0, "memmap: RAM at 0", 0);
	if (mib)
		check(m->high_end == mib << 20,
		      "memmap: RAM from 1 MiB ends at expect_mem_mib",
		      m->high_end);
}

static void check_initrd(const char *cmdline, uint64_t addr, uint64_t size)
{
	uint64_t want = cmdline_num(cmdline, "expect_initrd_size", 0);

	if (!want)
		return;
	check(size == want, "initrd size", size);
	check(addr && !(addr & 0xfff), "initrd page aligned", addr);
	if (addr) {
		const char *p = (const char *)addr;
		const char magic[] = "MINIVMM-INITRD";
		int same = 1;

		for (size_t i = 0; i < sizeof(magic) - 1; i++)
			same &= p[i] == magic[i];
		check(same, "initrd content", *(const uint64_t *)p);
	}
}

static const char *linux_checks(const uint8_t *bp)
{
	const uint32_t *magic = (const uint32_t *)(bp + BP_HDR_MAGIC);
	const char *cmdline =
		(const char *)(uintptr_t)*(const uint32_t *)(bp + BP_CMDLINE_PTR);
	struct memmap m = { 0 };

	puts_serial("boot: linux boot protocol\n");
	check(*magic == 0x53726448, "zero page has HdrS", *magic);
	check(bp[BP_LOADER_TYPE] == 0xff, "type_of_loader 0xff",
	      bp[BP_LOADER_TYPE]);
	for (unsigned int i = 0; i < bp[BP_E820_ENTRIES]; i++) {
		const uint8_t *e = bp + BP_E820_TABLE + 20 * i;

		memmap_add(&m, *(const uint64_t *)e, *(const uint64_t *)(e + 8),
			   *(const uint32_t *)(e + 16));
	}
	check_memmap(&m, cmdline);
	check_initrd(cmdline, *(const uint32_t *)(bp + BP_RAMDISK_IMAGE),
		     *(const uint32_t *)(bp + BP_RAMDISK_SIZE));
	return cmdline;
}

static const char *pvh_checks(const struct hvm_start_info *si)
{
	const char *cmdline = (const char *)(uintptr_t)si->cmdline_paddr;
	const struct hvm_memmap_table_entry *me =
		(const void *)(uintptr_t)si->memmap_paddr;
	struct memmap m = { 0 };

	puts_serial("boot: pvh\n");
	check(si->magic == HVM_START_MAGIC, "hvm_start_info magic", si->magic);
	check(si->version >= 1, "hvm_start_info version >= 1", si->version);
	check(si->rsdp_paddr == 0, "no ACPI RSDP", si->rsdp_paddr);
	for (unsigned int i = 0; i < si->memmap_entries; i++)
		memmap_add(&m, me[i].addr, me[i].size, me[i].type);
	check_memmap(&m, cmdline);
	if (si->nr_modules) {
		const struct hvm_modlist_entry *mod =
			(const void *)(uintptr_t)si->modlist_paddr;

		check_initrd(cmdline, mod->paddr, mod->size);
	} else {
		check_initrd(cmdline, 0, 0);
	}
	return cmdline;
}

static void check_mptable(const char *cmdline)
{
	const uint8_t *mpf = (const uint8_t *)0xf0000;
	uint64_t want = cmdline_num(cmdline, "expect_cpus", 1);
	uint8_t sum = 0;
	unsigned int cpus = 0;

	check(mpf[0] == '_' && mpf[1] == 'M' && mpf[2] == 'P' && mpf[3] == '_',
	      "MP floating pointer at 0xf0000", mpf[0]);
	for (int i = 0; i < 16; i++)
		sum += mpf[i];
	check(sum == 0, "MP floating pointer checksum", sum);
	const uint8_t *hdr = (const uint8_t *)(uintptr_t)*(const uint32_t *)(mpf + 4);
	uint16_t len = *(const uint16_t *)(hdr + 4);
	uint16_t count = *(const uint16_t *)(hdr + 34);

	sum = 0;
	for (unsigned int i = 0; i < len; i++)
		sum += hdr[i];
	check(sum == 0, "MP config table checksum", sum);
	const uint8_t *e = hdr + 44;

	for (unsigned int i = 0; i < count; i++) {
		if (e[0] == 0) {
			cpus++;
			e += 20;
		} else {
			e += 8;
		}
	}
	check(cpus == want, "MP table lists expect_cpus processors", cpus);
}

static void test_dispatch(void)
{
	check(inb(0x2f8) == 0xff, "unknown port reads 0xff", inb(0x2f8));
	outb(0x2f8, 0x55); /* counted, ignored */
	check(mmio_read32(0xd8000000UL) == 0xffffffff,
	      "unknown MMIO reads all ones", mmio_read32(0xd8000000UL));
	check(inl(MINIVMM_EXIT_PORT) == MINIVMM_EXIT_MAGIC,
	      "exit port reads magic", inl(MINIVMM_EXIT_PORT));
	check(mmio_read32(MINIVMM_EXIT_MMIO) == MINIVMM_EXIT_MAGIC,
	      "exit MMIO reads magic", mmio_read32(MINIVMM_EXIT_MMIO));
	outb(0x70, 0x0a);
	check(inb(0x71) == 0x26, "RTC register A: no update in progress",
	      inb(0x71));
	outb(COM1 + 7, 0x5a);
	check(inb(COM1 + 7) == 0x5a, "UART scratch register", inb(COM1 + 7));
	/* Loopback: a byte sent comes back in RBR (and not on the console). */
	outb(COM1 + 4, 0x10);
	outb(COM1, 0xa5);
	uint8_t lsr = inb(COM1 + 5), rbr = inb(COM1);

	outb(COM1 + 4, 0x00);
	check((lsr & 1) && rbr == 0xa5, "UART loopback", rbr);
	outl(MINIVMM_TEST_PORT, 0x1234abcd);
}

static void test_smp(const char *cmdline)
{
	uint64_t want = cmdline_num(cmdline, "expect_cpus", 1);
	volatile uint16_t *counter = (volatile uint16_t *)AP_COUNTER;
	uint8_t *tramp = (uint8_t *)AP_TRAMP;
	uint64_t start;

	*counter = 0;
	for (const char *p = ap_tramp_start; p < ap_tramp_end; p++)
		*tramp++ = (uint8_t)*p;
	/* INIT, then SIPI with vector 0x08 (CS 0x0800), to all but self. */
	mmio_write32(LAPIC_BASE + 0x300, 0x000c4500);
	mmio_write32(LAPIC_BASE + 0x300, 0x000c4600 | (AP_TRAMP >> 12));
	start = rdtsc();
	while (*counter < want - 1 && rdtsc() - start < 20000000000ULL)
		__asm__ volatile("pause");
	check(*counter == want - 1, "every AP ran the trampoline", *counter);
}

/*
 * INT3 and FWAIT: instructions PVM's emulator lacks in guest kernel mode.
 * minivmm's PVM quirks deliver the #BP and step over the FWAIT; with
 * hardware KVM they simply run.
 */
static void test_quirks(void)
{
	static struct {
		uint16_t off0, sel;
		uint8_t ist, attr;
		uint16_t off1;
		uint32_t off2, zero;
	} __attribute__((packed, aligned(16))) idt[4];
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (uintptr_t)idt };
	uintptr_t h = (uintptr_t)bp_handler;
	uint16_t cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	idt[3].off0 = (uint16_t)h;
	idt[3].sel = cs;
	idt[3].attr = 0x8e; /* present, DPL 0, 64-bit interrupt gate */
	idt[3].off1 = (uint16_t)(h >> 16);
	idt[3].off2 = (uint32_t)(h >> 32);
	__asm__ volatile("lidt %0" : : "m"(idtr));
	__asm__ volatile("fwait");
	/* Reaching this line is the check: a failed FWAIT ends the VM. */
	puts_serial("passed FWAIT\n");
	__asm__ volatile("int3" ::: "memory");
	check(bp_count == 1, "INT3 delivered #BP once and returned", bp_count);
}

void guest_main(int pvh, void *info)
{
	const char *cmdline;

	puts_serial("minivmm test guest\n");
	cmdline = pvh ? pvh_checks(info) : linux_checks(info);
	check(cmdline && has_word(cmdline, "console=ttyS0"),
	      "command line from minivmm", 0);
	if (cmdline_is(cmdline, "test", "exit")) {
		puts_serial("exiting with status=\n");
		guest_exit((uint32_t)cmdline_num(cmdline, "status", 0));
	}
	check_mptable(cmdline);
	if (cmdline_is(cmdline, "test", "dispatch"))
		test_dispatch();
	if (cmdline_is(cmdline, "test", "blk"))
		test_blk((int)cmdline_num(cmdline, "blk_ro", 0));
	if (cmdline_is(cmdline, "test", "net"))
		test_net((uint32_t)cmdline_num(cmdline, "net_ip", 0x0a00020f),
			 (uint32_t)cmdline_num(cmdline, "net_peer", 0x0a000202),
			 (uint16_t)cmdline_num(cmdline, "udp_port", 5555));
	if (cmdline_is(cmdline, "test", "quirks"))
		test_quirks();
	if (cmdline_is(cmdline, "test", "smp"))
		test_smp(cmdline);
	if (cmdline_is(cmdline, "test", "hang")) {
		puts_serial("spinning until minivmm's --timeout\n");
		for (;;)
			__asm__ volatile("pause");
	}
	if (cmdline_is(cmdline, "test", "crash")) {
		puts_serial("crashing on purpose\n");
		__asm__ volatile("lidt %0; ud2" : : "m"(*(const uint64_t[2]){ 0, 0 }));
	}
	puts_serial(failures ? "RESULT FAIL\n" : "RESULT PASS\n");
	guest_exit(failures);
}
