/* SPDX-License-Identifier: MIT */
/*
 * virtio over MMIO, version 2 (virtio 1.2 §4.2), modern devices only.  The
 * transport owns the register file, the device-status sequence, feature
 * negotiation, the queues' configuration, notifications (ioeventfd) and
 * interrupts (irqfd).  It knows nothing of what a device does: a device is
 * a struct virtio_dev_ops and its state.
 */
#ifndef MINIVMM_VIRTIO_MMIO_H
#define MINIVMM_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../vmm/evloop.h"
#include "virtqueue.h"

#define VIRTIO_MAX_QUEUES 4
#define VIRTIO_MMIO_VENDOR 0x4d564d4d /* "MMVM" */

struct vm;
struct virtio_mmio;

struct virtio_dev_ops {
	const char *name;
	uint32_t device_id; /* VIRTIO_ID_* */
	unsigned int num_queues;
	uint16_t queue_max;
	/* Called with the transport lock held, on the event-loop thread. */
	void (*notify)(void *dev, unsigned int queue);
	/* DRIVER_OK: the queues are configured.  vCPU thread, lock held. */
	int (*activate)(void *dev);
	/* Device reset: forget in-flight work.  vCPU thread, lock held. */
	void (*reset)(void *dev);
	/* Config space writes (optional; reads come from the config buffer). */
	void (*config_write)(void *dev, uint64_t off, const void *data,
			     unsigned int len);
};

struct virtio_mmio {
	struct vm *vm;
	const struct virtio_dev_ops *ops;
	void *dev;
	uint64_t base;
	unsigned int irq;
	pthread_mutex_t lock;

	uint64_t device_features; /* VIRTIO_F_VERSION_1 always included */
	uint64_t driver_features;
	uint32_t device_features_sel, driver_features_sel;
	uint32_t queue_sel;
	uint32_t status;
	uint32_t interrupt_status;
	uint32_t config_generation;
	const uint8_t *config; /* device's config space, little endian */
	uint32_t config_size;

	struct virtqueue vq[VIRTIO_MAX_QUEUES];
	int kick_fd[VIRTIO_MAX_QUEUES];
	struct ev_op kick_op[VIRTIO_MAX_QUEUES];
	uint64_t kick_buf[VIRTIO_MAX_QUEUES];
	int irq_fd;

	uint64_t bad_accesses; /* register misuse by the driver */
};

/*
 * Create the transport for @dev at the next free virtio-mmio slot of @vm
 * (MINIVMM_VIRTIO_MMIO_BASE + n * STRIDE, IRQ MINIVMM_VIRTIO_IRQ_BASE + n),
 * register its MMIO region, ioeventfds and irqfd, and add its
 * virtio_mmio.device= argument to vm->virtio_cmdline.  Call after
 * vm_create(), before the vCPUs start.
 */
int virtio_mmio_attach(struct vm *vm, const struct virtio_dev_ops *ops,
		       void *dev, uint64_t features, const void *config,
		       uint32_t config_size, struct virtio_mmio **out);

/* Start polling the kick eventfds; call once the event loop exists. */
void virtio_mmio_start(struct virtio_mmio *vm);

/*
 * Interrupt the driver for used buffers on @queue if the ring asks for it.
 * Call with the lock held, after a batch of vq_push().
 */
void virtio_mmio_signal(struct virtio_mmio *t, unsigned int queue);

/*
 * The driver broke the device's rules beyond repair (§2.1.2): set
 * DEVICE_NEEDS_RESET and send a configuration-change interrupt.  Lock held.
 */
void virtio_mmio_needs_reset(struct virtio_mmio *t);

/* Whether the driver accepted @bit. */
static inline bool virtio_has_feature(const struct virtio_mmio *t,
				      unsigned int bit)
{
	return t->driver_features & (1ULL << bit);
}

void virtio_mmio_destroy(struct virtio_mmio *t);

/* The register model without fds, for unit tests (no vm, no KVM). */
uint32_t virtio_mmio_reg_read(struct virtio_mmio *t, uint64_t off);
void virtio_mmio_reg_write(struct virtio_mmio *t, uint64_t off, uint32_t val);
/* Whether status @to may follow @from (the transition table). */
bool virtio_status_valid(uint32_t from, uint32_t to);

#endif
