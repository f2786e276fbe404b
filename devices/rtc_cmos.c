// SPDX-License-Identifier: MIT
/*
 * MC146818 CMOS RTC, read-only.  Linux reads the wall clock from it at boot
 * (when no kvmclock wall clock is offered) and spins while the "update in
 * progress" bit is set, so an absent RTC (reads of 0xff) would hang it.
 * Index port 0x70, data port 0x71; time in BCD, 24-hour mode, UTC.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../vmm/vm.h"
#include "legacy.h"

#define RTC_INDEX 0x70
#define RTC_NMI_MASK 0x80

struct rtc {
	pthread_mutex_t lock;
	uint8_t index;
};

static uint8_t bcd(int v)
{
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

uint8_t rtc_register(uint8_t index, long long t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm))
		memset(&tm, 0, sizeof(tm)); /* unrepresentable: 1900-01-00 */
	switch (index) {
	case 0x00:
		return bcd(tm.tm_sec);
	case 0x02:
		return bcd(tm.tm_min);
	case 0x04:
		return bcd(tm.tm_hour);
	case 0x06:
		return bcd(tm.tm_wday + 1);
	case 0x07:
		return bcd(tm.tm_mday);
	case 0x08:
		return bcd(tm.tm_mon + 1);
	case 0x09:
		return bcd(tm.tm_year % 100);
	case 0x32:
		return bcd((1900 + tm.tm_year) / 100); /* century */
	case 0x0a:
		return 0x26; /* UIP clear, 32.768 kHz, 1024 Hz rate */
	case 0x0b:
		return 0x02; /* 24-hour, BCD, no interrupts */
	case 0x0d:
		return 0x80; /* valid RAM and time */
	default:
		return 0;
	}
}

static void rtc_read(void *opaque, uint64_t off, void *data, unsigned int len)
{
	struct rtc *rtc = opaque;
	uint8_t idx;

	memset(data, 0, len);
	if (off != 1)
		return;
	pthread_mutex_lock(&rtc->lock);
	idx = rtc->index;
	pthread_mutex_unlock(&rtc->lock);
	((uint8_t *)data)[0] = rtc_register(idx, (long long)time(NULL));
}

static void rtc_write(void *opaque, uint64_t off, const void *data,
		      unsigned int len)
{
	struct rtc *rtc = opaque;

	(void)len;
	if (off != 0)
		return; /* the clock is not settable */
	pthread_mutex_lock(&rtc->lock);
	rtc->index = ((const uint8_t *)data)[0] & ~RTC_NMI_MASK;
	pthread_mutex_unlock(&rtc->lock);
}

static const struct bus_ops rtc_ops = {
	.read = rtc_read,
	.write = rtc_write,
};

int rtc_attach(struct vm *vm)
{
	struct rtc *rtc = calloc(1, sizeof(*rtc));
	int ret;

	if (!rtc)
		return -ENOMEM;
	pthread_mutex_init(&rtc->lock, NULL);
	ret = bus_register(&vm->pio, RTC_INDEX, 2, &rtc_ops, rtc, "rtc");
	if (ret) {
		free(rtc);
		return ret;
	}
	vm->rtc = rtc;
	return 0;
}

void legacy_detach(struct vm *vm)
{
	if (vm->rtc) {
		pthread_mutex_destroy(&vm->rtc->lock);
		free(vm->rtc);
		vm->rtc = NULL;
	}
}
