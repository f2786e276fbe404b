/* SPDX-License-Identifier: MIT */
/*
 * The virtio-net tests' fixture: a VM with a virtio-net device whose
 * backend is a fake, the fake driver (fake_driver.h) bound to it, and the
 * frames and transmit chains both test executables build.  The test is the
 * driver and the backend's far side: the fake records what the device
 * sends, refuses on demand, and the test injects frames through the
 * backend's rx ops.
 */
#ifndef MINIVMM_TESTS_VNET_FIXTURE_H
#define MINIVMM_TESTS_VNET_FIXTURE_H

#include <linux/virtio_net.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/net_backend.h"
#include "devices/virtio_net.h"
#include "fake_driver.h"

#define MEM_SIZE (16ULL << 20)
#define QSIZE 8
#define RXQ 0
#define TXQ 1
#define HDR_LEN 12 /* struct virtio_net_hdr_v1 */
#define MAX_FRAME 65550 /* the device's limit */
#define NEEDS_RESET 0x40

/*
 * Rings as fake_driver.h lays them out; descriptor i of queue q's buffer
 * in its own page at buf_gpa(q, i); one large buffer at BIG_GPA.
 */
#define BUF_GPA 0x100000ULL
#define BIG_GPA 0x400000ULL

#define FAKE_FRAMES 4

struct fake_net {
	struct net_backend be;
	int send_ret; /* what send() answers; 0 records the frame */
	unsigned int send_calls;
	unsigned int nframes; /* frames recorded (accepted) */
	size_t len[FAKE_FRAMES];
	unsigned int rx_ready_calls, start_calls, destroy_calls;
};

/* Recorded frames, indexed by nframes % FAKE_FRAMES. */
extern uint8_t fake_frames[FAKE_FRAMES][MAX_FRAME + 16];

struct net_env {
	struct fake_driver drv;
	struct vnet *n;
	struct fake_net fake;
};

/* The test's one environment (criterion runs each test in a process). */
extern struct net_env env;

extern const uint8_t test_mac[6];
extern const struct virtio_net_hdr_v1 plain_hdr;

/* Attach the device with the fake backend, up to DRIVER_OK; skips without
 * KVM.  net_teardown() is the suite's .fini. */
void net_setup(void);
void net_teardown(void);

const struct vnet_stats *stats(void);

/* The guest-physical address of queue @q's descriptor @d's buffer page. */
uint64_t buf_gpa(unsigned int q, unsigned int d);

/* What the kick callback does on the loop thread, done here. */
void notify(unsigned int q);

/* A frame from the backend's far side, as the backend would deliver it. */
int inject(const void *frame, size_t len);

/* An Ethernet frame to us, with a payload pattern keyed by @seed. */
void make_frame(uint8_t *f, size_t len, unsigned int seed);

/*
 * Put header @h and frame @f on the tx queue as a chain of readable
 * descriptors from @d on, segment k of @seg[k] bytes in descriptor d+k's
 * page.  Returns the head.
 */
uint16_t tx_chain(uint16_t d, const struct virtio_net_hdr_v1 *h,
		  const uint8_t *f, size_t len, const uint32_t *seg,
		  unsigned int nseg);

/* Header and frame as two descriptors split @first bytes in. */
uint16_t tx_two(uint16_t d, const struct virtio_net_hdr_v1 *h, const uint8_t *f,
		size_t len, uint32_t first);

/* tx_two(), published and notified: the device must complete it. */
void tx_one(uint16_t d, const struct virtio_net_hdr_v1 *h, const uint8_t *f,
	    size_t len, uint32_t first);

/* The backend's @i-th accepted frame must be @f. */
void expect_sent(unsigned int i, const uint8_t *f, size_t len);

#endif
