/* SPDX-License-Identifier: MIT */
/* What the test guest's parts share. */
#ifndef MINIVMM_TEST_GUEST_H
#define MINIVMM_TEST_GUEST_H

#include <stdint.h>

void puts_serial(const char *s);
/* Print "ok NAME" or "FAIL NAME got VALUE"; failures are counted. */
void check(int ok, const char *name, uint64_t got);

/* tests/guests/blk.c: drive the virtio-blk device at the first slot. */
void test_blk(int expect_ro);

#endif
