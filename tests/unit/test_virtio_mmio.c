// SPDX-License-Identifier: MIT
/*
 * Unit tests for the virtio-mmio register model (devices/virtio_mmio.c),
 * without KVM: the transport is built by hand around a fake device that
 * counts its notify/activate/reset calls, over a fake guest memory, and
 * driven through virtio_mmio_reg_read()/virtio_mmio_reg_write() as a
 * (sometimes hostile) driver would.
 */
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "devices/virtio_mmio.h"
#include "vmm/mem.h"

#define RAM_SIZE 0x100000ULL
#define NQUEUES 2
#define QMAX 16
#define FAKE_DEVICE_ID 42
#define FAKE_FEATURE 3 /* a device feature bit we offer */
#define NEEDS_RESET 0x40 /* VIRTIO_CONFIG_S_NEEDS_RESET */

#define S_ACK VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRV VIRTIO_CONFIG_S_DRIVER
#define S_FOK VIRTIO_CONFIG_S_FEATURES_OK
#define S_DOK VIRTIO_CONFIG_S_DRIVER_OK
#define S_FAIL VIRTIO_CONFIG_S_FAILED

struct fake_dev {
	unsigned int notifies, activates, resets;
	int activate_ret;
};

static void fake_notify(void *dev, unsigned int queue)
{
	(void)queue;
	((struct fake_dev *)dev)->notifies++;
}

static int fake_activate(void *dev)
{
	struct fake_dev *d = dev;

	d->activates++;
	return d->activate_ret;
}

static void fake_reset(void *dev)
{
	((struct fake_dev *)dev)->resets++;
}

static const struct virtio_dev_ops fake_ops = {
	.name = "fake",
	.device_id = FAKE_DEVICE_ID,
	.num_queues = NQUEUES,
	.queue_max = QMAX,
	.notify = fake_notify,
	.activate = fake_activate,
	.reset = fake_reset,
};

static struct guest_mem gm;
static uint8_t *ram;
static struct fake_dev fdev;
static struct virtio_mmio *t;

static void transport_setup(void)
{
	memset(&gm, 0, sizeof(gm));
	memset(&fdev, 0, sizeof(fdev));
	ram = calloc(1, RAM_SIZE);
	cr_assert_not_null(ram);
	cr_assert_eq(gm_add_region(&gm, 0, RAM_SIZE, ram), 0);
	t = calloc(1, sizeof(*t));
	cr_assert_not_null(t);
	pthread_mutex_init(&t->lock, NULL);
	t->ops = &fake_ops;
	t->dev = &fdev;
	t->device_features = (1ULL << VIRTIO_F_VERSION_1) |
			     (1ULL << VIRTIO_RING_F_EVENT_IDX) |
			     (1ULL << FAKE_FEATURE);
	t->irq_fd = -1;
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		t->kick_fd[q] = -1;
	for (unsigned int q = 0; q < NQUEUES; q++)
		vq_init(&t->vq[q], &gm, QMAX);
}

static void transport_teardown(void)
{
	/* virtio_mmio_destroy() closes the fds and frees the transport. */
	virtio_mmio_destroy(t);
	free(ram);
}

TestSuite(mmio, .init = transport_setup, .fini = transport_teardown);

static uint32_t rd(uint64_t off)
{
	return virtio_mmio_reg_read(t, off);
}

static void wr(uint64_t off, uint32_t val)
{
	virtio_mmio_reg_write(t, off, val);
}

static void set_features(uint64_t f)
{
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
}

/* ACKNOWLEDGE, DRIVER, features, FEATURES_OK: the usual start. */
static void negotiate(uint64_t f)
{
	wr(VIRTIO_MMIO_STATUS, S_ACK);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	set_features(f);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK);
}

/* A valid 16-entry queue @q at the given spot in the fake RAM. */
static void setup_queue(unsigned int q, uint64_t base)
{
	wr(VIRTIO_MMIO_QUEUE_SEL, q);
	wr(VIRTIO_MMIO_QUEUE_NUM, QMAX);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)base);
	wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(base >> 32));
	wr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)(base + 0x1000));
	wr(VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
	wr(VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)(base + 0x2000));
	wr(VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
}

#define V1 (1ULL << VIRTIO_F_VERSION_1)

/* ---- identification ---- */

Test(mmio, identification_registers)
{
	cr_assert_eq(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976); /* "virt" */
	cr_assert_eq(rd(VIRTIO_MMIO_VERSION), 2);
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_ID), FAKE_DEVICE_ID);
	cr_assert_eq(rd(VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);
	cr_assert_eq(t->bad_accesses, 0);
}

Test(mmio, device_features_by_word)
{
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES),
		     (1u << VIRTIO_RING_F_EVENT_IDX) | (1u << FAKE_FEATURE));
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES),
		     1u << (VIRTIO_F_VERSION_1 - 32));
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), 0);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0xffffffff);
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), 0);
}

Test(mmio, unknown_registers_are_counted)
{
	cr_assert_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), 0);
	cr_assert_eq(t->bad_accesses, 0);
	cr_assert_eq(rd(0x0f0), 0);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_NOTIFY), 0); /* write-only */
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_PFN), 0); /* legacy only */
	wr(VIRTIO_MMIO_MAGIC_VALUE, 1); /* read-only */
	wr(VIRTIO_MMIO_GUEST_PAGE_SIZE, 4096); /* legacy only */
	wr(0x0f0, 1);
	cr_assert_eq(t->bad_accesses, 6);
	cr_assert_eq(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
}

/* ---- the status transition table (§3.1.1, §2.1) ---- */

/* Each step of the sequence and the bits it needs before it. */
static const uint32_t seq[] = { S_ACK, S_DRV, S_FOK, S_DOK };

Test(mmio, status_order_is_enforced)
{
	/* Every prefix of the sequence plus any later bit is refused. */
	for (unsigned int have = 0; have < 4; have++) {
		uint32_t from = 0;

		for (unsigned int i = 0; i < have; i++)
			from |= seq[i];
		for (unsigned int skip = have + 1; skip < 4; skip++)
			cr_assert_not(virtio_status_valid(from,
							  from | seq[skip]),
				      "%#x -> %#x", from, from | seq[skip]);
		/* The next step is fine, alone or with the ones after it. */
		cr_assert(virtio_status_valid(from, from | seq[have]));
		if (have + 1 < 4)
			cr_assert(virtio_status_valid(
				from, from | seq[have] | seq[have + 1]));
	}
	/* Straight to DRIVER_OK with everything in one write is allowed. */
	cr_assert(virtio_status_valid(0, S_ACK | S_DRV | S_FOK | S_DOK));
	cr_assert_not(virtio_status_valid(0, S_DOK));
	cr_assert_not(virtio_status_valid(S_ACK, S_ACK | S_DRV | S_DOK));
}

Test(mmio, status_failed_anytime_reset_always)
{
	uint32_t states[] = { 0,
			      S_ACK,
			      S_ACK | S_DRV,
			      S_ACK | S_DRV | S_FOK,
			      S_ACK | S_DRV | S_FOK | S_DOK,
			      S_ACK | S_DRV | NEEDS_RESET,
			      S_ACK | S_FAIL };

	for (unsigned int i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		cr_assert(virtio_status_valid(states[i], states[i] | S_FAIL));
		cr_assert(virtio_status_valid(states[i], 0));
		/* Writing the same value again changes nothing: fine. */
		if (!(states[i] & NEEDS_RESET))
			cr_assert(virtio_status_valid(states[i], states[i]));
	}
}

Test(mmio, status_bits_cannot_be_cleared)
{
	cr_assert_not(virtio_status_valid(S_ACK | S_DRV, S_ACK));
	cr_assert_not(virtio_status_valid(S_ACK | S_DRV, S_DRV));
	cr_assert_not(virtio_status_valid(S_ACK | S_DRV | S_FOK | S_DOK,
					  S_ACK | S_DRV | S_FOK));
	cr_assert_not(virtio_status_valid(S_ACK | S_FAIL, S_ACK));
	/* NEEDS_RESET is the device's: the driver need not echo it. */
	cr_assert(virtio_status_valid(S_ACK | NEEDS_RESET, S_ACK | S_DRV));
}

Test(mmio, status_unknown_bits_are_refused)
{
	/* NEEDS_RESET may not be set by the driver, nor 0x10, 0x20. */
	cr_assert_not(virtio_status_valid(0, NEEDS_RESET));
	cr_assert_not(virtio_status_valid(S_ACK, S_ACK | NEEDS_RESET));
	cr_assert_not(virtio_status_valid(0, 0x10));
	cr_assert_not(virtio_status_valid(S_ACK, S_ACK | 0x20));
	cr_assert_not(virtio_status_valid(0, 0x100));
}

Test(mmio, status_register_applies_the_table)
{
	wr(VIRTIO_MMIO_STATUS, S_DRV);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);
	cr_assert_eq(t->bad_accesses, 1);
	wr(VIRTIO_MMIO_STATUS, S_ACK);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV);
	wr(VIRTIO_MMIO_STATUS, S_ACK); /* clearing DRIVER */
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_DOK); /* skipping FOK */
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV);
	cr_assert_eq(t->bad_accesses, 3);
	cr_assert_eq(fdev.activates, 0);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FAIL);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FAIL);
}

/* ---- feature negotiation ---- */

Test(mmio, features_ok_needs_version_1)
{
	negotiate(1ULL << FAKE_FEATURE);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV);
	/* The driver may try again with VERSION_1. */
	set_features(V1 | (1ULL << FAKE_FEATURE));
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK);
	cr_assert(virtio_has_feature(t, FAKE_FEATURE));
	cr_assert(virtio_has_feature(t, VIRTIO_F_VERSION_1));
}

Test(mmio, features_ok_refuses_what_was_not_offered)
{
	negotiate(V1 | (1ULL << 5));
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV);
	negotiate(V1 | (1ULL << 40));
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV);
}

Test(mmio, bad_features_with_driver_ok_in_one_write)
{
	/*
	 * FEATURES_OK and DRIVER_OK together, with a feature set that is
	 * refused: FEATURES_OK is dropped, so DRIVER_OK must be too, and the
	 * device must not be activated.
	 */
	wr(VIRTIO_MMIO_STATUS, S_ACK);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	set_features(1ULL << FAKE_FEATURE); /* no VERSION_1 */
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS) & (S_FOK | S_DOK), 0);
	cr_assert_eq(fdev.activates, 0);
}

Test(mmio, driver_features_frozen_after_features_ok)
{
	negotiate(V1);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 1u << FAKE_FEATURE);
	cr_assert_eq(t->bad_accesses, 1);
	cr_assert_not(virtio_has_feature(t, FAKE_FEATURE));
	cr_assert_eq(t->driver_features, V1);
}

Test(mmio, driver_features_select_out_of_range)
{
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 2);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 0xffffffff);
	cr_assert_eq(t->driver_features, 0);
	cr_assert_eq(t->bad_accesses, 1);
}

/* ---- queue registers ---- */

Test(mmio, queue_select_out_of_range)
{
	uint64_t bad;

	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), QMAX);
	wr(VIRTIO_MMIO_QUEUE_SEL, NQUEUES - 1);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), QMAX);
	for (uint32_t sel = NQUEUES; sel <= VIRTIO_MAX_QUEUES + 1; sel++) {
		wr(VIRTIO_MMIO_QUEUE_SEL, sel);
		cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
		cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	}
	wr(VIRTIO_MMIO_QUEUE_SEL, 0xffffffff);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	bad = t->bad_accesses;
	wr(VIRTIO_MMIO_QUEUE_NUM, 8);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000);
	wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	wr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, 0x2000);
	wr(VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
	wr(VIRTIO_MMIO_QUEUE_USED_LOW, 0x3000);
	wr(VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	cr_assert_eq(t->bad_accesses, bad + 8);
	/* Nothing reached any queue, in range or beyond. */
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		cr_assert_eq(t->vq[q].size, 0);
		cr_assert_eq(t->vq[q].desc_gpa, 0);
		cr_assert_not(t->vq[q].ready);
	}
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS) & NEEDS_RESET, 0);
}

Test(mmio, queue_num_above_max_is_refused)
{
	wr(VIRTIO_MMIO_QUEUE_SEL, 1);
	wr(VIRTIO_MMIO_QUEUE_NUM, QMAX + 1);
	cr_assert_eq(t->vq[1].size, 0);
	cr_assert_eq(t->bad_accesses, 1);
	wr(VIRTIO_MMIO_QUEUE_NUM, 0x10010); /* would truncate to 16 */
	cr_assert_eq(t->vq[1].size, 0);
	wr(VIRTIO_MMIO_QUEUE_NUM, QMAX);
	cr_assert_eq(t->vq[1].size, QMAX);
	cr_assert_eq(t->bad_accesses, 2);
}

Test(mmio, queue_addresses_both_halves)
{
	wr(VIRTIO_MMIO_QUEUE_SEL, 1);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x89abcdef);
	wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, 0x01234567);
	wr(VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0x11);
	wr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, 0x22);
	wr(VIRTIO_MMIO_QUEUE_USED_LOW, 0x33);
	cr_assert_eq(t->vq[1].desc_gpa, 0x0123456789abcdefULL);
	cr_assert_eq(t->vq[1].avail_gpa, 0x0000001100000022ULL);
	cr_assert_eq(t->vq[1].used_gpa, 0x33);
	cr_assert_eq(t->vq[0].desc_gpa, 0);
}

Test(mmio, queue_ready_with_good_rings)
{
	negotiate(V1);
	setup_queue(0, 0x10000);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 1);
	cr_assert(t->vq[0].ready);
	cr_assert_eq((void *)t->vq[0].desc, (void *)(ram + 0x10000));
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS) & NEEDS_RESET, 0);
	/* Queue registers are frozen while the queue is ready. */
	wr(VIRTIO_MMIO_QUEUE_NUM, 8);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x20000);
	cr_assert_eq(t->vq[0].size, QMAX);
	cr_assert_eq(t->vq[0].desc_gpa, 0x10000);
	/* ... until the driver takes it back before DRIVER_OK. */
	wr(VIRTIO_MMIO_QUEUE_READY, 0);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	wr(VIRTIO_MMIO_QUEUE_NUM, 8);
	cr_assert_eq(t->vq[0].size, 8);
}

Test(mmio, queue_ready_with_bad_rings_needs_reset)
{
	negotiate(V1);
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(VIRTIO_MMIO_QUEUE_NUM, QMAX);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x10008); /* misaligned */
	wr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, 0x11000);
	wr(VIRTIO_MMIO_QUEUE_USED_LOW, 0x12000);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	cr_assert_not(t->vq[0].ready);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS),
		     S_ACK | S_DRV | S_FOK | NEEDS_RESET);
	/* Outside RAM, on the other queue. */
	transport_teardown();
	transport_setup();
	negotiate(V1);
	wr(VIRTIO_MMIO_QUEUE_SEL, 1);
	wr(VIRTIO_MMIO_QUEUE_NUM, QMAX);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0);
	wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, 1); /* 4 GiB */
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	cr_assert_not(t->vq[1].ready);
	cr_assert(rd(VIRTIO_MMIO_STATUS) & NEEDS_RESET);
	/* Size never written (0). */
	transport_teardown();
	transport_setup();
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	cr_assert_not(t->vq[0].ready);
	cr_assert(rd(VIRTIO_MMIO_STATUS) & NEEDS_RESET);
}

Test(mmio, needs_reset_survives_status_writes)
{
	negotiate(V1);
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(VIRTIO_MMIO_QUEUE_READY, 1); /* size 0: refused */
	cr_assert(rd(VIRTIO_MMIO_STATUS) & NEEDS_RESET);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_FAIL);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS),
		     S_ACK | S_DRV | S_FOK | S_FAIL | NEEDS_RESET);
	wr(VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);
}

Test(mmio, queue_registers_frozen_after_driver_ok)
{
	uint64_t bad;

	negotiate(V1);
	setup_queue(0, 0x10000);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK | S_DOK);
	bad = t->bad_accesses;
	/* Queue 1 was never set up; it may not be now either. */
	wr(VIRTIO_MMIO_QUEUE_SEL, 1);
	wr(VIRTIO_MMIO_QUEUE_NUM, 8);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x30000);
	wr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, 0x31000);
	wr(VIRTIO_MMIO_QUEUE_USED_LOW, 0x32000);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	cr_assert_not(t->vq[1].ready);
	cr_assert_eq(t->vq[1].size, 0);
	cr_assert_eq(t->vq[1].desc_gpa, 0);
	/* Nor may queue 0 be stopped or moved. */
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(VIRTIO_MMIO_QUEUE_READY, 0);
	wr(VIRTIO_MMIO_QUEUE_USED_HIGH, 1);
	cr_assert(t->vq[0].ready);
	cr_assert_eq(t->vq[0].used_gpa, 0x12000);
	cr_assert_eq(t->bad_accesses, bad + 7);
}

Test(mmio, activate_once_at_driver_ok)
{
	negotiate(V1 | (1ULL << VIRTIO_RING_F_EVENT_IDX));
	setup_queue(0, 0x10000);
	setup_queue(1, 0x20000);
	cr_assert_eq(fdev.activates, 0);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	cr_assert_eq(fdev.activates, 1);
	/* EVENT_IDX was negotiated: every queue uses it. */
	cr_assert(t->vq[0].event_idx);
	cr_assert(t->vq[1].event_idx);
	/* The same status again, or FAILED on top, activates nothing. */
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK | S_FAIL);
	cr_assert_eq(fdev.activates, 1);
}

Test(mmio, event_idx_off_when_not_negotiated)
{
	negotiate(V1);
	setup_queue(0, 0x10000);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	cr_assert_not(t->vq[0].event_idx);
}

Test(mmio, activate_failure_needs_reset)
{
	fdev.activate_ret = -22;
	negotiate(V1);
	setup_queue(0, 0x10000);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	cr_assert(rd(VIRTIO_MMIO_STATUS) & NEEDS_RESET);
	cr_assert(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
}

Test(mmio, reset_clears_the_device)
{
	negotiate(V1 | (1ULL << FAKE_FEATURE));
	setup_queue(0, 0x10000);
	setup_queue(1, 0x20000);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	t->interrupt_status = VIRTIO_MMIO_INT_VRING;
	wr(VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(fdev.resets, 1);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	cr_assert_eq(t->driver_features, 0);
	cr_assert_eq(t->queue_sel, 0);
	for (unsigned int q = 0; q < NQUEUES; q++) {
		cr_assert_not(t->vq[q].ready);
		cr_assert_eq(t->vq[q].size, 0);
		cr_assert_eq(t->vq[q].desc_gpa, 0);
		cr_assert_eq(t->vq[q].avail_gpa, 0);
		cr_assert_eq(t->vq[q].used_gpa, 0);
		cr_assert_eq(t->vq[q].max_size, QMAX);
	}
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	/* And the device can be brought up again. */
	negotiate(V1);
	setup_queue(0, 0x30000);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	cr_assert_eq(fdev.activates, 2);
	cr_assert(t->vq[0].ready);
}

Test(mmio, reset_from_needs_reset)
{
	negotiate(V1);
	wr(VIRTIO_MMIO_QUEUE_READY, 1); /* size 0: NEEDS_RESET */
	cr_assert(rd(VIRTIO_MMIO_STATUS) & NEEDS_RESET);
	wr(VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);
	cr_assert_eq(fdev.resets, 1);
}

Test(mmio, interrupt_ack_clears_bits)
{
	t->interrupt_status = VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG;
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 3);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, 0);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, 0xffffffff);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
}

/* ---- notifications and interrupts through real eventfds ---- */

static uint64_t drain(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

Test(mmio, queue_notify_forwards_to_the_kick_eventfd)
{
	for (unsigned int q = 0; q < NQUEUES; q++) {
		t->kick_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		cr_assert_geq(t->kick_fd[q], 0);
	}
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	cr_assert_eq(drain(t->kick_fd[1]), 2);
	cr_assert_eq(drain(t->kick_fd[0]), 0);
	/* Beyond the device's queues: ignored, nothing written anywhere. */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, NQUEUES);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffff);
	cr_assert_eq(drain(t->kick_fd[0]), 0);
	cr_assert_eq(drain(t->kick_fd[1]), 0);
	/* The transport never calls notify itself: the event loop does. */
	cr_assert_eq(fdev.notifies, 0);
}

Test(mmio, signal_honours_the_ring)
{
	struct vring_avail *avail = (struct vring_avail *)(ram + 0x11000);

	t->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	cr_assert_geq(t->irq_fd, 0);
	negotiate(V1);
	setup_queue(0, 0x10000);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	vq_push(&t->vq[0], 0, 1);
	virtio_mmio_signal(t, 0);
	cr_assert_eq(drain(t->irq_fd), 1);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	/* The driver asked for no interrupts. */
	avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	vq_push(&t->vq[0], 1, 1);
	virtio_mmio_signal(t, 0);
	cr_assert_eq(drain(t->irq_fd), 0);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	/* Out of range queue: nothing. */
	avail->flags = 0;
	virtio_mmio_signal(t, NQUEUES);
	virtio_mmio_signal(t, 1000);
	cr_assert_eq(drain(t->irq_fd), 0);
}

Test(mmio, needs_reset_interrupts_the_driver)
{
	t->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	cr_assert_geq(t->irq_fd, 0);
	negotiate(V1);
	virtio_mmio_needs_reset(t);
	cr_assert(rd(VIRTIO_MMIO_STATUS) & NEEDS_RESET);
	cr_assert(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	cr_assert_eq(drain(t->irq_fd), 1);
}
