/* SPDX-License-Identifier: MIT */
/* What the test guest's parts share. */
#ifndef MINIVMM_TEST_GUEST_H
#define MINIVMM_TEST_GUEST_H

#include <stdint.h>

void puts_serial(const char *s);

static inline uint64_t guest_rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}
/* Print "ok NAME" or "FAIL NAME got VALUE"; failures are counted. */
void check(int ok, const char *name, uint64_t got);

/* tests/guests/blk.c: drive the virtio-blk device at the first slot. */
void test_blk(int expect_ro);

/* tests/guests/net.c: ARP, ICMP echo and UDP through the first device. */
void test_net(uint32_t ip, uint32_t peer, uint16_t udp_port);

#endif
