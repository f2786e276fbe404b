// SPDX-License-Identifier: MIT
/*
 * virtio-mmio version 2 register file (virtio 1.2 §4.2.2).  Register
 * accesses come from vCPU threads; queue work runs on the event loop.  One
 * lock per device serialises the two.
 */
#include "virtio_mmio.h"

#include <errno.h>
#include <linux/kvm.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <minivmm/guest_abi.h>

#include "../vmm/vm.h"

#define VIRTIO_MMIO_VERSION_MODERN 2
#define VIRTIO_MMIO_CONFIG 0x100
#define VIRTIO_STATUS_NEEDS_RESET 0x40

/*
 * The device-status sequence (§3.1.1) as a table: the bits each bit needs
 * to be set already (or at the same time).  Bits are only ever added; a
 * write of 0 is a reset; FAILED may come at any time; NEEDS_RESET is the
 * device's to set, never the driver's.
 */
static const struct {
	uint32_t bit, needs;
} status_order[] = {
	{ VIRTIO_CONFIG_S_ACKNOWLEDGE, 0 },
	{ VIRTIO_CONFIG_S_DRIVER, VIRTIO_CONFIG_S_ACKNOWLEDGE },
	{ VIRTIO_CONFIG_S_FEATURES_OK,
	  VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER },
	{ VIRTIO_CONFIG_S_DRIVER_OK, VIRTIO_CONFIG_S_ACKNOWLEDGE |
					     VIRTIO_CONFIG_S_DRIVER |
					     VIRTIO_CONFIG_S_FEATURES_OK },
	{ VIRTIO_CONFIG_S_FAILED, 0 },
};

bool virtio_status_valid(uint32_t from, uint32_t to)
{
	uint32_t known = 0, added = to & ~from;

	if (to == 0)
		return true;
	if (from & ~to & ~VIRTIO_STATUS_NEEDS_RESET)
		return false; /* clearing bits without a reset */
	for (size_t i = 0; i < sizeof(status_order) / sizeof(status_order[0]);
	     i++) {
		known |= status_order[i].bit;
		if ((added & status_order[i].bit) &&
		    (to & status_order[i].needs) != status_order[i].needs)
			return false;
	}
	return !(added & ~known);
}

static struct virtqueue *cur_vq(struct virtio_mmio *t)
{
	return t->queue_sel < t->ops->num_queues ? &t->vq[t->queue_sel] : NULL;
}

static void virtio_reset(struct virtio_mmio *t)
{
	if (t->ops->reset)
		t->ops->reset(t->dev);
	for (unsigned int i = 0; i < t->ops->num_queues; i++)
		vq_reset(&t->vq[i]);
	t->status = 0;
	t->driver_features = 0;
	t->device_features_sel = t->driver_features_sel = 0;
	t->queue_sel = 0;
	t->interrupt_status = 0;
}

static void virtio_set_status(struct virtio_mmio *t, uint32_t val)
{
	uint32_t added = val & ~t->status;

	if (!virtio_status_valid(t->status, val)) {
		t->bad_accesses++;
		return;
	}
	if (val == 0) {
		virtio_reset(t);
		return;
	}
	if (added & VIRTIO_CONFIG_S_FEATURES_OK) {
		/* Modern only, and nothing we did not offer (§2.2, §6.1). */
		if (!(t->driver_features & (1ULL << VIRTIO_F_VERSION_1)) ||
		    (t->driver_features & ~t->device_features)) {
			/* DRIVER_OK in the same write needs FEATURES_OK too. */
			val &= ~(VIRTIO_CONFIG_S_FEATURES_OK |
				 VIRTIO_CONFIG_S_DRIVER_OK);
			added = val & ~t->status;
		}
	}
	if (added & VIRTIO_CONFIG_S_DRIVER_OK) {
		bool event_idx = t->driver_features &
				 (1ULL << VIRTIO_RING_F_EVENT_IDX);

		for (unsigned int i = 0; i < t->ops->num_queues; i++)
			t->vq[i].event_idx = event_idx;
		if (t->ops->activate && t->ops->activate(t->dev)) {
			val |= VIRTIO_STATUS_NEEDS_RESET;
			t->interrupt_status |= VIRTIO_MMIO_INT_CONFIG;
		}
	}
	t->status = val | (t->status & VIRTIO_STATUS_NEEDS_RESET);
}

/* Queue registers may change only while the queue and device are stopped. */
static bool queue_writable(struct virtio_mmio *t, struct virtqueue *vq)
{
	return vq && !vq->ready && !(t->status & VIRTIO_CONFIG_S_DRIVER_OK);
}

uint32_t virtio_mmio_reg_read(struct virtio_mmio *t, uint64_t off)
{
	struct virtqueue *vq = cur_vq(t);

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return 0x74726976; /* "virt" */
	case VIRTIO_MMIO_VERSION:
		return VIRTIO_MMIO_VERSION_MODERN;
	case VIRTIO_MMIO_DEVICE_ID:
		return t->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (t->device_features_sel > 1)
			return 0;
		return (uint32_t)(t->device_features >>
				  (32 * t->device_features_sel));
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return vq ? vq->max_size : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return vq ? vq->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return t->interrupt_status;
	case VIRTIO_MMIO_STATUS:
		return t->status;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return t->config_generation;
	default:
		t->bad_accesses++;
		return 0;
	}
}

static void set_half(uint64_t *v, bool high, uint32_t val)
{
	if (high)
		*v = (*v & 0xffffffffULL) | ((uint64_t)val << 32);
	else
		*v = (*v & ~0xffffffffULL) | val;
}

void virtio_mmio_reg_write(struct virtio_mmio *t, uint64_t off, uint32_t val)
{
	struct virtqueue *vq = cur_vq(t);
	uint64_t one = 1;

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		t->device_features_sel = val;
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		/* Features are fixed once FEATURES_OK is set (§3.1.1). */
		if (t->driver_features_sel > 1 ||
		    (t->status & VIRTIO_CONFIG_S_FEATURES_OK))
			break;
		set_half(&t->driver_features, t->driver_features_sel, val);
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		t->driver_features_sel = val;
		return;
	case VIRTIO_MMIO_QUEUE_SEL:
		/* Range-checked on use: cur_vq() is NULL when out of range. */
		t->queue_sel = val;
		return;
	case VIRTIO_MMIO_QUEUE_NUM:
		if (!queue_writable(t, vq) || val > vq->max_size)
			break;
		vq->size = (uint16_t)val;
		return;
	case VIRTIO_MMIO_QUEUE_READY:
		if (!vq || (t->status & VIRTIO_CONFIG_S_DRIVER_OK))
			break;
		if (val == 0) {
			vq->ready = false;
			return;
		}
		if (vq->ready)
			return;
		if (vq_enable(vq)) {
			/* Bad size or ring addresses: the driver must reset. */
			t->status |= VIRTIO_STATUS_NEEDS_RESET;
			break;
		}
		return;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/*
		 * Normally KVM's ioeventfd catches this write; if one arrives
		 * here, forward it the same way so the loop does the work.
		 */
		if (val < t->ops->num_queues && t->kick_fd[val] >= 0 &&
		    write(t->kick_fd[val], &one, sizeof(one)) < 0)
			t->bad_accesses++;
		return;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		t->interrupt_status &= ~val;
		return;
	case VIRTIO_MMIO_STATUS:
		virtio_set_status(t, val);
		return;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		if (!queue_writable(t, vq))
			break;
		set_half(&vq->desc_gpa, off == VIRTIO_MMIO_QUEUE_DESC_HIGH, val);
		return;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		if (!queue_writable(t, vq))
			break;
		set_half(&vq->avail_gpa, off == VIRTIO_MMIO_QUEUE_AVAIL_HIGH,
			 val);
		return;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		if (!queue_writable(t, vq))
			break;
		set_half(&vq->used_gpa, off == VIRTIO_MMIO_QUEUE_USED_HIGH, val);
		return;
	default:
		break;
	}
	t->bad_accesses++;
}

static void virtio_mmio_read(void *opaque, uint64_t off, void *data,
			     unsigned int len)
{
	struct virtio_mmio *t = opaque;
	uint32_t v;

	memset(data, 0, len);
	pthread_mutex_lock(&t->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		uint64_t c = off - VIRTIO_MMIO_CONFIG;

		if (c < t->config_size && len <= t->config_size - c)
			memcpy(data, t->config + c, len);
		else
			t->bad_accesses++;
	} else if (len == 4 && !(off & 3)) {
		v = virtio_mmio_reg_read(t, off);
		memcpy(data, &v, 4);
	} else {
		t->bad_accesses++; /* registers are 32-bit only (§4.2.2) */
	}
	pthread_mutex_unlock(&t->lock);
}

static void virtio_mmio_write(void *opaque, uint64_t off, const void *data,
			      unsigned int len)
{
	struct virtio_mmio *t = opaque;
	uint32_t v;

	pthread_mutex_lock(&t->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		uint64_t c = off - VIRTIO_MMIO_CONFIG;

		if (t->ops->config_write && c < t->config_size &&
		    len <= t->config_size - c)
			t->ops->config_write(t->dev, c, data, len);
		else
			t->bad_accesses++;
	} else if (len == 4 && !(off & 3)) {
		memcpy(&v, data, 4);
		virtio_mmio_reg_write(t, off, v);
	} else {
		t->bad_accesses++;
	}
	pthread_mutex_unlock(&t->lock);
}

static const struct bus_ops virtio_mmio_ops = {
	.read = virtio_mmio_read,
	.write = virtio_mmio_write,
};

void virtio_mmio_needs_reset(struct virtio_mmio *t)
{
	uint64_t one = 1;

	t->status |= VIRTIO_STATUS_NEEDS_RESET;
	t->interrupt_status |= VIRTIO_MMIO_INT_CONFIG;
	if (write(t->irq_fd, &one, sizeof(one)) < 0)
		t->bad_accesses++;
}

void virtio_mmio_signal(struct virtio_mmio *t, unsigned int queue)
{
	uint64_t one = 1;

	if (queue >= t->ops->num_queues || !vq_should_notify(&t->vq[queue]))
		return;
	t->interrupt_status |= VIRTIO_MMIO_INT_VRING;
	if (write(t->irq_fd, &one, sizeof(one)) < 0)
		t->bad_accesses++;
}

static void virtio_kick_cb(struct ev_op *op, int res, uint32_t flags)
{
	struct virtio_mmio *t = op->opaque;
	unsigned int q = (unsigned int)(op - t->kick_op);
	bool kicked;

	(void)flags;
	kicked = res >= 0 && read(t->kick_fd[q], &t->kick_buf[q], 8) == 8;
	/*
	 * Re-arm before notifying: this completion has just freed its ring
	 * slot, and the device's handler may fill every free slot with I/O.
	 * Armed afterwards, the poll would find the ring full and the
	 * guest's later kicks would never be seen.  A kick that lands
	 * between the read above and the poll completes the poll at once.
	 */
	if (evloop_poll(&t->vm->loop, op, t->kick_fd[q], POLLIN))
		fprintf(stderr, "minivmm: %s: queue %u: kick poll not re-armed "
			"(event loop full): later kicks are lost\n",
			t->ops->name, q);
	if (kicked) {
		pthread_mutex_lock(&t->lock);
		if ((t->status & VIRTIO_CONFIG_S_DRIVER_OK) && t->vq[q].ready)
			t->ops->notify(t->dev, q);
		pthread_mutex_unlock(&t->lock);
	}
}

void virtio_mmio_start(struct virtio_mmio *t)
{
	for (unsigned int q = 0; q < t->ops->num_queues; q++)
		evloop_poll(&t->vm->loop, &t->kick_op[q], t->kick_fd[q], POLLIN);
}

int virtio_mmio_attach(struct vm *vm, const struct virtio_dev_ops *ops,
		       void *dev, uint64_t features, const void *config,
		       uint32_t config_size, struct virtio_mmio **out)
{
	struct virtio_mmio *t;
	unsigned int n = vm->nr_virtio;
	struct kvm_irqfd irqfd = { 0 };
	size_t len;
	int ret;

	if (n >= VM_MAX_VIRTIO || ops->num_queues > VIRTIO_MAX_QUEUES)
		return -ENOSPC;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	/*
	 * Recursive: a backend may answer a transmitted frame at once (slirp
	 * replies to ARP inside slirp_input), re-entering the device's
	 * receive path while its transmit path holds the lock.
	 */
	{
		pthread_mutexattr_t attr;

		pthread_mutexattr_init(&attr);
		pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
		pthread_mutex_init(&t->lock, &attr);
		pthread_mutexattr_destroy(&attr);
	}
	t->vm = vm;
	t->ops = ops;
	t->dev = dev;
	t->base = MINIVMM_VIRTIO_MMIO_BASE + n * MINIVMM_VIRTIO_MMIO_STRIDE;
	t->irq = MINIVMM_VIRTIO_IRQ_BASE + n;
	t->device_features = features | (1ULL << VIRTIO_F_VERSION_1);
	t->config = config;
	t->config_size = config_size;
	t->irq_fd = -1;
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		t->kick_fd[q] = -1;
	for (unsigned int q = 0; q < ops->num_queues; q++) {
		struct kvm_ioeventfd ioe = {
			.datamatch = q,
			.addr = t->base + VIRTIO_MMIO_QUEUE_NOTIFY,
			.len = 4,
			.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
		};

		vq_init(&t->vq[q], &vm->mem, ops->queue_max);
		t->kick_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (t->kick_fd[q] < 0)
			goto fail_errno;
		ioe.fd = t->kick_fd[q];
		/* No ioeventfd is not fatal: the register write forwards. */
		ioctl(vm->vm_fd, KVM_IOEVENTFD, &ioe);
		t->kick_op[q] = (struct ev_op){ .cb = virtio_kick_cb,
						.opaque = t };
	}
	t->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->irq_fd < 0)
		goto fail_errno;
	irqfd.fd = (uint32_t)t->irq_fd;
	irqfd.gsi = t->irq;
	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0)
		goto fail_errno;
	ret = bus_register(&vm->mmio, t->base, MINIVMM_VIRTIO_MMIO_STRIDE,
			   &virtio_mmio_ops, t, ops->name);
	if (ret)
		goto fail;
	len = strlen(vm->virtio_cmdline);
	snprintf(vm->virtio_cmdline + len, sizeof(vm->virtio_cmdline) - len,
		 "%svirtio_mmio.device=4K@%#llx:%u", len ? " " : "",
		 (unsigned long long)t->base, t->irq);
	vm->virtio[vm->nr_virtio++] = t;
	*out = t;
	return 0;

fail_errno:
	ret = -errno;
fail:
	virtio_mmio_destroy(t);
	return ret;
}

void virtio_mmio_destroy(struct virtio_mmio *t)
{
	if (!t)
		return;
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		if (t->kick_fd[q] >= 0)
			close(t->kick_fd[q]);
	if (t->irq_fd >= 0)
		close(t->irq_fd);
	pthread_mutex_destroy(&t->lock);
	free(t);
}
