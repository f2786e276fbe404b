/* SPDX-License-Identifier: MIT */
/*
 * The small platform devices every minivmm VM has.  Each attach function
 * registers the device on the VM's buses; call after vm_create(), before the
 * vCPUs start.  The device lives as long as the vm (vm_destroy frees it).
 */
#ifndef MINIVMM_LEGACY_H
#define MINIVMM_LEGACY_H

#include <stdbool.h>
#include <stdint.h>

struct vm;

/* i8042 keyboard controller: just enough for the reset command (reboot=k). */
int i8042_attach(struct vm *vm);

/* CMOS RTC at 0x70/0x71, with the host's UTC time; read-only clock. */
int rtc_attach(struct vm *vm);
/* Register value for @index at host time @t (exposed for unit tests). */
uint8_t rtc_register(uint8_t index, long long t);

/*
 * Exit device (guest_abi.h): port MINIVMM_EXIT_PORT and the MMIO page at
 * MINIVMM_EXIT_MMIO, plus the test port MINIVMM_TEST_PORT.
 */
int exitport_attach(struct vm *vm);

/* Free what the attach functions allocated. */
void legacy_detach(struct vm *vm);

#endif
