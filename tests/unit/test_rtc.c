// SPDX-License-Identifier: MIT
/*
 * Unit tests for the CMOS RTC (devices/rtc_cmos.c): register values for known
 * times, and the index/data port pair on a bus.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "devices/legacy.h"
#include "vmm/vm.h"

/* MC146818 register indexes. */
#define RTC_SECONDS 0x00
#define RTC_MINUTES 0x02
#define RTC_HOURS 0x04
#define RTC_WEEKDAY 0x06
#define RTC_DAY 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b
#define RTC_REG_C 0x0c
#define RTC_REG_D 0x0d
#define RTC_CENTURY 0x32

#define REG_A_UIP 0x80
#define REG_B_24H 0x02
#define REG_B_BINARY 0x04 /* DM: set for binary, clear for BCD */
#define REG_B_SET 0x80
#define REG_D_VRT 0x80

/* 2026-11-23 12:34:56 UTC, a Monday. */
#define T_2026 1795437296LL

static bool is_bcd(uint8_t v)
{
	return (v & 0x0f) <= 9 && (v >> 4) <= 9;
}

Test(rtc, known_time_in_bcd)
{
	cr_assert_eq(rtc_register(RTC_SECONDS, T_2026), 0x56);
	cr_assert_eq(rtc_register(RTC_MINUTES, T_2026), 0x34);
	cr_assert_eq(rtc_register(RTC_HOURS, T_2026), 0x12);
	cr_assert_eq(rtc_register(RTC_WEEKDAY, T_2026), 0x02, "Sunday is 1");
	cr_assert_eq(rtc_register(RTC_DAY, T_2026), 0x23);
	cr_assert_eq(rtc_register(RTC_MONTH, T_2026), 0x11);
	cr_assert_eq(rtc_register(RTC_YEAR, T_2026), 0x26);
	cr_assert_eq(rtc_register(RTC_CENTURY, T_2026), 0x20);
}

Test(rtc, the_constant_matches_the_calendar)
{
	struct tm tm = { .tm_year = 2026 - 1900,
			 .tm_mon = 10,
			 .tm_mday = 23,
			 .tm_hour = 12,
			 .tm_min = 34,
			 .tm_sec = 56 };

	cr_assert_eq((long long)timegm(&tm), T_2026);
	cr_assert_eq(tm.tm_wday, 1);
}

Test(rtc, status_registers)
{
	cr_assert_eq(rtc_register(RTC_REG_A, T_2026) & REG_A_UIP, 0,
		     "an update in progress would stall Linux");
	cr_assert(rtc_register(RTC_REG_B, T_2026) & REG_B_24H);
	cr_assert_not(rtc_register(RTC_REG_B, T_2026) & REG_B_BINARY);
	cr_assert_not(rtc_register(RTC_REG_B, T_2026) & REG_B_SET);
	cr_assert(rtc_register(RTC_REG_D, T_2026) & REG_D_VRT);
	cr_assert_eq(rtc_register(RTC_REG_C, T_2026), 0, "no interrupts");
}

Test(rtc, century_and_year_edges)
{
	/* 1999-12-31 23:59:59, a Friday. */
	cr_assert_eq(rtc_register(RTC_YEAR, 946684799), 0x99);
	cr_assert_eq(rtc_register(RTC_CENTURY, 946684799), 0x19);
	cr_assert_eq(rtc_register(RTC_HOURS, 946684799), 0x23);
	cr_assert_eq(rtc_register(RTC_WEEKDAY, 946684799), 0x06);
	/* One second later. */
	cr_assert_eq(rtc_register(RTC_YEAR, 946684800), 0x00);
	cr_assert_eq(rtc_register(RTC_CENTURY, 946684800), 0x20);
	cr_assert_eq(rtc_register(RTC_MONTH, 946684800), 0x01);
	cr_assert_eq(rtc_register(RTC_DAY, 946684800), 0x01);
	cr_assert_eq(rtc_register(RTC_HOURS, 946684800), 0x00);
	/* The epoch, and a second before it. */
	cr_assert_eq(rtc_register(RTC_YEAR, 0), 0x70);
	cr_assert_eq(rtc_register(RTC_YEAR, -1), 0x69);
	cr_assert_eq(rtc_register(RTC_SECONDS, -1), 0x59);
}

Test(rtc, every_register_is_bcd_all_year)
{
	const uint8_t regs[] = { RTC_SECONDS, RTC_MINUTES, RTC_HOURS,
				 RTC_WEEKDAY, RTC_DAY,	   RTC_MONTH,
				 RTC_YEAR,    RTC_CENTURY };

	/* Every 7 hours 13 minutes through 2026. */
	for (long long t = 1767225600LL; t < 1798761600LL; t += 26000) {
		for (size_t i = 0; i < sizeof(regs); i++)
			cr_assert(is_bcd(rtc_register(regs[i], t)),
				  "reg %#x at %lld: %#x", regs[i], t,
				  rtc_register(regs[i], t));
	}
}

Test(rtc, unknown_indexes_read_zero)
{
	for (unsigned int idx = 0; idx < 256; idx++) {
		switch (idx) {
		case RTC_SECONDS:
		case RTC_MINUTES:
		case RTC_HOURS:
		case RTC_WEEKDAY:
		case RTC_DAY:
		case RTC_MONTH:
		case RTC_YEAR:
		case RTC_REG_A:
		case RTC_REG_B:
		case RTC_REG_D:
		case RTC_CENTURY:
			break;
		default:
			cr_assert_eq(rtc_register((uint8_t)idx, T_2026), 0,
				     "index %#x", idx);
		}
	}
}

/* ---- through the ports, as the guest sees it ---- */

static uint8_t port_read(struct vm *vm, uint64_t port)
{
	uint8_t v = 0xaa;

	cr_assert(bus_access(&vm->pio, port, &v, 1, false));
	return v;
}

static void port_write(struct vm *vm, uint64_t port, uint8_t v)
{
	cr_assert(bus_access(&vm->pio, port, &v, 1, true));
}

Test(rtc, index_and_data_ports)
{
	static struct vm vm;

	bus_init(&vm.pio, "pio");
	cr_assert_eq(rtc_attach(&vm), 0);
	cr_assert_not_null(vm.rtc);

	port_write(&vm, 0x70, RTC_REG_D);
	cr_assert_eq(port_read(&vm, 0x71), REG_D_VRT);
	/* Bit 7 of the index is the NMI mask, not part of the index. */
	port_write(&vm, 0x70, 0x80 | RTC_REG_B);
	cr_assert_eq(port_read(&vm, 0x71), rtc_register(RTC_REG_B, 0));
	port_write(&vm, 0x70, RTC_CENTURY);
	cr_assert(port_read(&vm, 0x71) >= 0x20);
	port_write(&vm, 0x70, RTC_YEAR);
	cr_assert(is_bcd(port_read(&vm, 0x71)));

	/* The clock is not settable; the index port reads as zero. */
	port_write(&vm, 0x70, RTC_REG_D);
	port_write(&vm, 0x71, 0x00);
	cr_assert_eq(port_read(&vm, 0x71), REG_D_VRT);
	cr_assert_eq(port_read(&vm, 0x70), 0);
	/* A second RTC on the same ports is refused. */
	cr_assert_lt(rtc_attach(&vm), 0);

	legacy_detach(&vm);
	cr_assert_null(vm.rtc);
	legacy_detach(&vm);
	bus_destroy(&vm.pio);
}
