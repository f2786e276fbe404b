// SPDX-License-Identifier: MIT
/*
 * Test-guest virtio-blk driver: just enough of a driver (polling, one split
 * queue of 8) to check minivmm's virtio-mmio transport and virtio-blk model
 * from inside a VM: feature negotiation, reads of a known pattern, write,
 * flush, read back, GET_ID, out-of-range and unsupported requests, a
 * read-only disk, and hostile chains (a loop, an index out of range) that
 * must come back with an error status instead of hanging or crashing.
 */
#include <stddef.h>
#include <stdint.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include <minivmm/guest_abi.h>

#include "guest.h"

#define QSZ 8
#define RING_BASE 0x200000UL /* 2 MiB: desc, +4K avail, +8K used */
#define BUF_BASE 0x210000UL /* request headers, data, status bytes */
#define SECTOR 512

static volatile uint32_t *regs(uint64_t off)
{
	return (volatile uint32_t *)(uintptr_t)(MINIVMM_VIRTIO_MMIO_BASE + off);
}

static struct vring_desc *desc = (struct vring_desc *)RING_BASE;
static struct vring_avail *avail = (struct vring_avail *)(RING_BASE + 0x1000);
static struct vring_used *used = (struct vring_used *)(RING_BASE + 0x2000);
static uint16_t avail_idx, used_seen;

static uint8_t pattern(uint64_t sector, unsigned int i)
{
	return (uint8_t)(sector * 7 + 3 + i);
}

/* Publish chain @head, kick, and wait (bounded) for its completion. */
static int submit_wait(uint16_t head, uint32_t *len)
{
	avail->ring[avail_idx % QSZ] = head;
	__atomic_store_n(&avail->idx, ++avail_idx, __ATOMIC_RELEASE);
	*regs(VIRTIO_MMIO_QUEUE_NOTIFY) = 0;
	for (unsigned long spin = 0; spin < 200000000UL; spin++) {
		if (__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE) != used_seen) {
			struct vring_used_elem *e = &used->ring[used_seen % QSZ];

			used_seen++;
			*len = e->len;
			/* Acknowledge the interrupt the device raised. */
			*regs(VIRTIO_MMIO_INTERRUPT_ACK) =
				*regs(VIRTIO_MMIO_INTERRUPT_STATUS);
			return e->id;
		}
		__asm__ volatile("pause");
	}
	return -1;
}

/* A three-descriptor request: header, data (optional), status. */
static uint8_t request(uint32_t type, uint64_t sector, void *data,
		       uint32_t len, int device_writes, uint32_t *used_len)
{
	struct virtio_blk_outhdr *hdr = (void *)BUF_BASE;
	volatile uint8_t *status = (uint8_t *)(BUF_BASE + 64);
	uint16_t d = 0;
	int id;

	hdr->type = type;
	hdr->ioprio = 0;
	hdr->sector = sector;
	*status = 0xee;
	desc[0] = (struct vring_desc){ (uintptr_t)hdr, sizeof(*hdr),
				       VRING_DESC_F_NEXT, 1 };
	if (len) {
		desc[1] = (struct vring_desc){
			(uintptr_t)data, len,
			VRING_DESC_F_NEXT | (device_writes ? VRING_DESC_F_WRITE : 0),
			2 };
		d = 2;
	} else {
		desc[0].next = 2;
		d = 2;
	}
	desc[d] = (struct vring_desc){ (uintptr_t)status, 1, VRING_DESC_F_WRITE,
				       0 };
	id = submit_wait(0, used_len);
	if (id != 0)
		return 0xfe; /* no completion (or a wrong id) */
	return *status;
}

static int setup(int expect_ro)
{
	uint32_t f0, f1;

	if (*regs(VIRTIO_MMIO_MAGIC_VALUE) != 0x74726976 ||
	    *regs(VIRTIO_MMIO_VERSION) != 2 || *regs(VIRTIO_MMIO_DEVICE_ID) != 2)
		return -1;
	*regs(VIRTIO_MMIO_STATUS) = 0;
	*regs(VIRTIO_MMIO_STATUS) = VIRTIO_CONFIG_S_ACKNOWLEDGE;
	/* Skipping DRIVER: the device must refuse FEATURES_OK now. */
	*regs(VIRTIO_MMIO_STATUS) =
		VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_FEATURES_OK;
	check(*regs(VIRTIO_MMIO_STATUS) == VIRTIO_CONFIG_S_ACKNOWLEDGE,
	      "status sequence enforced", *regs(VIRTIO_MMIO_STATUS));
	*regs(VIRTIO_MMIO_STATUS) =
		VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	*regs(VIRTIO_MMIO_DEVICE_FEATURES_SEL) = 0;
	f0 = *regs(VIRTIO_MMIO_DEVICE_FEATURES);
	*regs(VIRTIO_MMIO_DEVICE_FEATURES_SEL) = 1;
	f1 = *regs(VIRTIO_MMIO_DEVICE_FEATURES);
	check(f1 & (1u << (VIRTIO_F_VERSION_1 - 32)), "device offers VERSION_1", f1);
	check(!!(f0 & (1u << VIRTIO_BLK_F_RO)) == !!expect_ro,
	      "VIRTIO_BLK_F_RO as configured", f0);
	/* Accept VERSION_1 and FLUSH only: no EVENT_IDX, no indirect. */
	*regs(VIRTIO_MMIO_DRIVER_FEATURES_SEL) = 0;
	*regs(VIRTIO_MMIO_DRIVER_FEATURES) = f0 & (1u << VIRTIO_BLK_F_FLUSH);
	*regs(VIRTIO_MMIO_DRIVER_FEATURES_SEL) = 1;
	*regs(VIRTIO_MMIO_DRIVER_FEATURES) = 1u << (VIRTIO_F_VERSION_1 - 32);
	*regs(VIRTIO_MMIO_STATUS) = VIRTIO_CONFIG_S_ACKNOWLEDGE |
				    VIRTIO_CONFIG_S_DRIVER |
				    VIRTIO_CONFIG_S_FEATURES_OK;
	check(*regs(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK,
	      "FEATURES_OK accepted", *regs(VIRTIO_MMIO_STATUS));
	*regs(VIRTIO_MMIO_QUEUE_SEL) = 7; /* no such queue */
	check(*regs(VIRTIO_MMIO_QUEUE_NUM_MAX) == 0, "QueueSel out of range reads 0",
	      *regs(VIRTIO_MMIO_QUEUE_NUM_MAX));
	*regs(VIRTIO_MMIO_QUEUE_SEL) = 0;
	check(*regs(VIRTIO_MMIO_QUEUE_NUM_MAX) >= QSZ, "QueueNumMax >= 8",
	      *regs(VIRTIO_MMIO_QUEUE_NUM_MAX));
	*regs(VIRTIO_MMIO_QUEUE_NUM) = QSZ;
	*regs(VIRTIO_MMIO_QUEUE_DESC_LOW) = (uint32_t)(uintptr_t)desc;
	*regs(VIRTIO_MMIO_QUEUE_DESC_HIGH) = 0;
	*regs(VIRTIO_MMIO_QUEUE_AVAIL_LOW) = (uint32_t)(uintptr_t)avail;
	*regs(VIRTIO_MMIO_QUEUE_AVAIL_HIGH) = 0;
	*regs(VIRTIO_MMIO_QUEUE_USED_LOW) = (uint32_t)(uintptr_t)used;
	*regs(VIRTIO_MMIO_QUEUE_USED_HIGH) = 0;
	*regs(VIRTIO_MMIO_QUEUE_READY) = 1;
	*regs(VIRTIO_MMIO_STATUS) =
		VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;
	/* Queue registers are frozen after DRIVER_OK. */
	*regs(VIRTIO_MMIO_QUEUE_NUM) = 2;
	*regs(VIRTIO_MMIO_QUEUE_READY) = 0;
	check(*regs(VIRTIO_MMIO_QUEUE_READY) == 1,
	      "queue registers read-only after DRIVER_OK", 0);
	return 0;
}

void test_blk(int expect_ro)
{
	uint8_t *buf = (uint8_t *)(BUF_BASE + 0x1000);
	uint64_t capacity;
	uint32_t len;
	uint8_t st;
	int ok;

	if (setup(expect_ro)) {
		check(0, "virtio-blk device at MINIVMM_VIRTIO_MMIO_BASE", 0);
		return;
	}
	capacity = *(volatile uint64_t *)(uintptr_t)(MINIVMM_VIRTIO_MMIO_BASE + 0x100);
	check(capacity == 128, "capacity 128 sectors (64 KiB image)", capacity);

	/* Read sectors 2..9 (4 KiB) and check the pattern the host wrote. */
	st = request(VIRTIO_BLK_T_IN, 2, buf, 4096, 1, &len);
	ok = st == VIRTIO_BLK_S_OK && len == 4097;
	for (unsigned int i = 0; ok && i < 4096; i++)
		ok = buf[i] == pattern(2 + i / SECTOR, i % SECTOR);
	check(ok, "read 4 KiB: pattern and used length", st);

	/* Write sector 1, flush, read it back. */
	for (unsigned int i = 0; i < SECTOR; i++)
		buf[i] = (uint8_t)(0xa5 ^ i);
	st = request(VIRTIO_BLK_T_OUT, 1, buf, SECTOR, 0, &len);
	if (expect_ro) {
		check(st == VIRTIO_BLK_S_IOERR, "read-only disk refuses a write", st);
	} else {
		check(st == VIRTIO_BLK_S_OK, "write sector 1", st);
		st = request(VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0, &len);
		check(st == VIRTIO_BLK_S_OK, "flush", st);
		for (unsigned int i = 0; i < SECTOR; i++)
			buf[i] = 0;
		st = request(VIRTIO_BLK_T_IN, 1, buf, SECTOR, 1, &len);
		ok = st == VIRTIO_BLK_S_OK;
		for (unsigned int i = 0; ok && i < SECTOR; i++)
			ok = buf[i] == (uint8_t)(0xa5 ^ i);
		check(ok, "read back what was written", st);
	}
	st = request(VIRTIO_BLK_T_GET_ID, 0, buf, 20, 1, &len);
	check(st == VIRTIO_BLK_S_OK && buf[0] == 'b' && buf[1] == 'l' &&
		      buf[2] == 'k',
	      "GET_ID gives the image's name", buf[0]);
	st = request(VIRTIO_BLK_T_IN, capacity, buf, SECTOR, 1, &len);
	check(st == VIRTIO_BLK_S_IOERR, "read past the end: IOERR", st);
	st = request(VIRTIO_BLK_T_IN, 0, buf, 100, 1, &len);
	check(st == VIRTIO_BLK_S_IOERR, "length not a multiple of 512: IOERR", st);
	st = request(99, 0, buf, SECTOR, 1, &len);
	check(st == VIRTIO_BLK_S_UNSUPP, "unknown request type: UNSUPP", st);

	/* Hostile chains: each must complete with IOERR, not hang. */
	volatile uint8_t *status = (uint8_t *)(BUF_BASE + 64);

	*status = 0xee;
	desc[0] = (struct vring_desc){ BUF_BASE, 16, VRING_DESC_F_NEXT, 1 };
	desc[1] = (struct vring_desc){ (uintptr_t)status, 1,
				       VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1 };
	check(submit_wait(0, &len) == 0 && *status == VIRTIO_BLK_S_IOERR,
	      "descriptor loop: IOERR", *status);
	*status = 0xee;
	desc[1].next = 200; /* beyond the queue */
	check(submit_wait(0, &len) == 0 && *status == VIRTIO_BLK_S_IOERR,
	      "descriptor index out of range: IOERR", *status);
	*status = 0xee;
	desc[1] = (struct vring_desc){ 0xfff00000ULL, 4096, VRING_DESC_F_WRITE |
				       VRING_DESC_F_NEXT, 2 };
	desc[2] = (struct vring_desc){ (uintptr_t)status, 1, VRING_DESC_F_WRITE, 0 };
	check(submit_wait(0, &len) == 0 && *status == VIRTIO_BLK_S_IOERR,
	      "buffer outside guest RAM: IOERR", *status);
	/* The device still works after all that. */
	st = request(VIRTIO_BLK_T_IN, 3, buf, SECTOR, 1, &len);
	check(st == VIRTIO_BLK_S_OK && buf[0] == pattern(3, 0),
	      "device still serves reads", st);
}
