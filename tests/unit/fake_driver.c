// SPDX-License-Identifier: MIT
/*
 * The fake virtio driver shared by the device tests (see fake_driver.h).
 * Failures are criterion assertions: a broken set-up fails the test that
 * asked for it.
 */
#include "fake_driver.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#define AVAIL_OFF 0x1000ULL
#define USED_OFF 0x2000ULL
#define RINGS_LEN 0x3000ULL

void fdrv_vm_create(struct fake_driver *d, uint64_t mem_size)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	/* No KVM is a failure, unless the build said to skip (-Dskip_kvm). */
	if (fd < 0) {
		const char *skip = getenv("MINIVMM_SKIP_KVM");

		if (skip && !strcmp(skip, "1"))
			cr_skip_test("no KVM: /dev/kvm: %s", strerror(errno));
		cr_assert_fail("/dev/kvm: %s (configure with -Dskip_kvm=true to "
			 "skip the tests that need it)", strerror(errno));
	}
	close(fd);
	cr_assert_eq(vm_create(&d->vm, mem_size, 1), 0);
	d->vm_made = true;
}

void fdrv_vm_destroy(struct fake_driver *d)
{
	if (d->vm_made)
		vm_destroy(&d->vm);
	d->vm_made = false;
}

void fdrv_bind(struct fake_driver *d, uint64_t features, unsigned int nq,
	       unsigned int qsize)
{
	cr_assert_gt(d->vm.nr_virtio, 0);
	cr_assert_leq(nq, FDRV_MAX_QUEUES);
	d->t = d->vm.virtio[d->vm.nr_virtio - 1];
	d->features = features;
	d->nq = nq;
	d->qsize = qsize;
}

static uint64_t ring_gpa(unsigned int q)
{
	return FDRV_RING_GPA + FDRV_RING_STRIDE * q;
}

void *fdrv_gpa(struct fake_driver *d, uint64_t gpa, uint64_t len)
{
	void *p = gm_ptr(&d->vm.mem, gpa, len);

	cr_assert_not_null(p, "gpa %#llx", (unsigned long long)gpa);
	return p;
}

struct vring_desc *fdrv_desc(struct fake_driver *d, unsigned int q,
			     unsigned int i)
{
	struct vring_desc *table = fdrv_gpa(d, ring_gpa(q), 16ULL * d->qsize);

	return table + i;
}

struct vring_avail *fdrv_avail(struct fake_driver *d, unsigned int q)
{
	return fdrv_gpa(d, ring_gpa(q) + AVAIL_OFF, 6 + 2ULL * d->qsize);
}

struct vring_used *fdrv_used(struct fake_driver *d, unsigned int q)
{
	return fdrv_gpa(d, ring_gpa(q) + USED_OFF, 6 + 8ULL * d->qsize);
}

uint32_t fdrv_reg_read(struct fake_driver *d, uint64_t off)
{
	uint32_t v;

	pthread_mutex_lock(&d->t->lock);
	v = virtio_mmio_reg_read(d->t, off);
	pthread_mutex_unlock(&d->t->lock);
	return v;
}

void fdrv_reg_write(struct fake_driver *d, uint64_t off, uint32_t val)
{
	pthread_mutex_lock(&d->t->lock);
	virtio_mmio_reg_write(d->t, off, val);
	pthread_mutex_unlock(&d->t->lock);
}

/* QueueSel, then its size, ring addresses and QueueReady (§4.2.3.2). */
static void queue_setup(struct fake_driver *d, unsigned int q)
{
	uint64_t r = ring_gpa(q);

	fdrv_reg_write(d, VIRTIO_MMIO_QUEUE_SEL, q);
	cr_assert_geq(fdrv_reg_read(d, VIRTIO_MMIO_QUEUE_NUM_MAX), d->qsize);
	fdrv_reg_write(d, VIRTIO_MMIO_QUEUE_NUM, d->qsize);
	fdrv_reg_write(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)r);
	fdrv_reg_write(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	fdrv_reg_write(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW,
		       (uint32_t)(r + AVAIL_OFF));
	fdrv_reg_write(d, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
	fdrv_reg_write(d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)(r + USED_OFF));
	fdrv_reg_write(d, VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
	fdrv_reg_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
	cr_assert_eq(fdrv_reg_read(d, VIRTIO_MMIO_QUEUE_READY), 1);
}

void fdrv_init(struct fake_driver *d)
{
	uint32_t st = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	for (unsigned int q = 0; q < d->nq; q++) {
		memset(fdrv_gpa(d, ring_gpa(q), RINGS_LEN), 0, RINGS_LEN);
		d->q[q].avail_idx = d->q[q].used_seen = 0;
	}
	fdrv_reg_write(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	fdrv_reg_write(d, VIRTIO_MMIO_STATUS, st);
	fdrv_reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	fdrv_reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)d->features);
	fdrv_reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	fdrv_reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES,
		       (uint32_t)(d->features >> 32));
	st |= VIRTIO_CONFIG_S_FEATURES_OK;
	fdrv_reg_write(d, VIRTIO_MMIO_STATUS, st);
	/* The device clears FEATURES_OK if it refuses what we accepted. */
	cr_assert_eq(fdrv_reg_read(d, VIRTIO_MMIO_STATUS), st);
	for (unsigned int q = 0; q < d->nq; q++)
		queue_setup(d, q);
	st |= VIRTIO_CONFIG_S_DRIVER_OK;
	fdrv_reg_write(d, VIRTIO_MMIO_STATUS, st);
	cr_assert_eq(fdrv_reg_read(d, VIRTIO_MMIO_STATUS), st);
}

void fdrv_set_desc(struct fake_driver *d, unsigned int q, unsigned int i,
		   uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	*fdrv_desc(d, q, i) = (struct vring_desc){
		.addr = addr, .len = len, .flags = flags, .next = next
	};
}

void fdrv_set_avail_idx(struct fake_driver *d, unsigned int q, uint16_t idx)
{
	d->q[q].avail_idx = idx;
	/* Release: the ring entries before the index (§2.7.13). */
	__atomic_store_n(&fdrv_avail(d, q)->idx, idx, __ATOMIC_RELEASE);
}

void fdrv_publish(struct fake_driver *d, unsigned int q, uint16_t head)
{
	struct fake_queue *fq = &d->q[q];

	fdrv_avail(d, q)->ring[fq->avail_idx % d->qsize] = head;
	fdrv_set_avail_idx(d, q, (uint16_t)(fq->avail_idx + 1));
}

uint16_t fdrv_used_idx(struct fake_driver *d, unsigned int q)
{
	return __atomic_load_n(&fdrv_used(d, q)->idx, __ATOMIC_ACQUIRE);
}

struct vring_used_elem fdrv_next_used(struct fake_driver *d, unsigned int q)
{
	struct fake_queue *fq = &d->q[q];

	cr_assert_neq(fdrv_used_idx(d, q), fq->used_seen,
		      "queue %u: nothing used", q);
	return fdrv_used(d, q)->ring[fq->used_seen++ % d->qsize];
}

void fdrv_expect_used(struct fake_driver *d, unsigned int q, uint16_t id,
		      uint32_t len)
{
	struct vring_used_elem e = fdrv_next_used(d, q);

	cr_assert_eq(e.id, id, "queue %u: used id %u, want %u", q, e.id, id);
	cr_assert_eq(e.len, len, "queue %u: used len %u, want %u", q, e.len,
		     len);
}

void fdrv_expect_nothing_used(struct fake_driver *d, unsigned int q)
{
	cr_assert_eq(fdrv_used_idx(d, q), d->q[q].used_seen,
		     "queue %u: used idx %u", q, fdrv_used_idx(d, q));
}
