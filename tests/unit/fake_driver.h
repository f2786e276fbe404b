/* SPDX-License-Identifier: MIT */
/*
 * A fake virtio driver for device tests on a real KVM VM (the transport
 * wants the VM fd for its ioeventfds and irqfd) with no guest code: the
 * test negotiates through the virtio-mmio register model, lays out split
 * rings in guest memory and posts descriptor chains, as a guest's driver
 * would (virtio 1.2 §3.1.1, §2.7).
 *
 * Guest memory layout: queue q's descriptor table at FDRV_RING_GPA +
 * q * FDRV_RING_STRIDE, its avail ring 0x1000 after it and its used ring
 * 0x2000 after it.  The rest of RAM is the test's for buffers.
 */
#ifndef MINIVMM_TESTS_FAKE_DRIVER_H
#define MINIVMM_TESTS_FAKE_DRIVER_H

#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio_mmio.h"
#include "vmm/vm.h"

#define FDRV_RING_GPA 0x10000ULL
#define FDRV_RING_STRIDE 0x10000ULL
#define FDRV_MAX_QUEUES 2

struct fake_queue {
	uint16_t avail_idx; /* the driver's next avail index */
	uint16_t used_seen; /* used elements the test has looked at */
};

struct fake_driver {
	struct vm vm;
	bool vm_made;
	struct virtio_mmio *t; /* the transport of the device under test */
	uint64_t features; /* what fdrv_init() accepts */
	unsigned int nq, qsize;
	struct fake_queue q[FDRV_MAX_QUEUES];
};

/*
 * Create a one-vCPU VM with @mem_size bytes of RAM.  Without /dev/kvm the
 * test fails, or is skipped when MINIVMM_SKIP_KVM=1 (-Dskip_kvm=true).
 * Call first, from the test.
 */
void fdrv_vm_create(struct fake_driver *d, uint64_t mem_size);

/* Destroy the VM, if fdrv_vm_create() made one. */
void fdrv_vm_destroy(struct fake_driver *d);

/*
 * Drive the device attached last: @nq queues of @qsize entries, accepting
 * @features.  Call after the device's attach, before fdrv_init().
 */
void fdrv_bind(struct fake_driver *d, uint64_t features, unsigned int nq,
	       unsigned int qsize);

/*
 * Driver initialisation (§3.1.1) up to DRIVER_OK: empty rings, every queue
 * set up and ready.  Also after a reset, to start again.
 */
void fdrv_init(struct fake_driver *d);

/* Host view of @len bytes of guest memory at @gpa (asserts it is RAM). */
void *fdrv_gpa(struct fake_driver *d, uint64_t gpa, uint64_t len);

struct vring_desc *fdrv_desc(struct fake_driver *d, unsigned int q,
			     unsigned int i);
struct vring_avail *fdrv_avail(struct fake_driver *d, unsigned int q);
struct vring_used *fdrv_used(struct fake_driver *d, unsigned int q);

/* Register accesses under the transport lock, as a vCPU's would be. */
uint32_t fdrv_reg_read(struct fake_driver *d, uint64_t off);
void fdrv_reg_write(struct fake_driver *d, uint64_t off, uint32_t val);

void fdrv_set_desc(struct fake_driver *d, unsigned int q, unsigned int i,
		   uint64_t addr, uint32_t len, uint16_t flags, uint16_t next);

/* Make @head available on @q (no notification). */
void fdrv_publish(struct fake_driver *d, unsigned int q, uint16_t head);

/* Store @idx as @q's avail index as it is: a hostile driver's. */
void fdrv_set_avail_idx(struct fake_driver *d, unsigned int q, uint16_t idx);

uint16_t fdrv_used_idx(struct fake_driver *d, unsigned int q);

/* The next used element of @q, which must be there. */
struct vring_used_elem fdrv_next_used(struct fake_driver *d, unsigned int q);

/* The next used element of @q must be (@id, @len). */
void fdrv_expect_used(struct fake_driver *d, unsigned int q, uint16_t id,
		      uint32_t len);

/* Nothing more has been used on @q. */
void fdrv_expect_nothing_used(struct fake_driver *d, unsigned int q);

#endif
