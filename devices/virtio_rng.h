/* SPDX-License-Identifier: MIT */
/* virtio-rng fed from the host's getrandom(). */
#ifndef MINIVMM_VIRTIO_RNG_H
#define MINIVMM_VIRTIO_RNG_H

#include <stdint.h>

struct vm;
struct vrng;

/* Attach to @vm; call after vm_create(), before the vCPUs start. */
int vrng_attach(struct vm *vm, struct vrng **out);
uint64_t vrng_bytes(const struct vrng *r);
void vrng_destroy(struct vrng *r);

#endif
