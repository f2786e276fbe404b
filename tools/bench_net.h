/* SPDX-License-Identifier: MIT */
/*
 * bench-net's parts (see bench_net.c for what it measures): the guest
 * driver's rings and loop (bench_net_driver.c), the guest's ARP and TCP
 * (bench_net_tcp.c), and the host's end, the backends and the report
 * (bench_net.c).  All three run against one struct bench.
 */
#ifndef MINIVMM_TOOLS_BENCH_NET_H
#define MINIVMM_TOOLS_BENCH_NET_H

#include <linux/if_ether.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "devices/virtio_mmio.h"
#include "devices/virtio_net.h"
#include "vmm/vm.h"

#define VM_MEM (16ULL << 20)
#define QSIZE 256
#define RXQ 0
#define TXQ 1
#define VNET_HDR sizeof(struct virtio_net_hdr_v1)
#define OUR_MSS 1460
#define OUR_WINDOW 65535
#define APP_CHUNK 65536 /* the guest "application" writes this much at once */
#define PATTERN_PERIOD 251 /* byte at stream offset o is o % 251 */
#define MAX_RUNS 16
#define STALL_S 5.0

/* The guest's MAC address and the stream both ends send and check. */
extern const uint8_t guest_mac[ETH_ALEN];
extern uint8_t pattern[PATTERN_PERIOD + APP_CHUNK];

struct opts {
	uint64_t bytes; /* each way, each run */
	unsigned int runs;
	bool user, tap;
	bool event_idx;
};

/* One run's figures, taken by whichever thread sees each edge. */
struct run_result {
	double g2h_t0, g2h_t1, h2g_t0, h2g_t1; /* CLOCK_MONOTONIC s */
	double g2h_cpu0, g2h_cpu1, h2g_cpu0, h2g_cpu1; /* loop thread CPU s */
	uint64_t g2h_frames0, g2h_frames1, h2g_frames0, h2g_frames1;
	atomic_bool host_done;
	int host_err;
};

struct bench;

/* The driver's view of one split virtqueue. */
struct drv_queue {
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx, published, last_used;
	int kick_fd;
};

enum tcp_state { TCP_CLOSED, TCP_SYN_SENT, TCP_ESTABLISHED, TCP_RESET };

struct driver {
	struct bench *b;
	uint8_t *ram;
	struct drv_queue q[2];
	int irq_fd; /* the device's interrupts, swapped in for KVM's irqfd */
	bool event_idx;
	uint16_t tx_free[QSIZE];
	unsigned int tx_nfree;

	uint8_t peer_mac[6];
	bool peer_known;
	uint32_t ip, peer_ip; /* host byte order */
	uint16_t ip_id;

	enum tcp_state state;
	uint16_t sport, dport;
	uint32_t iss, snd_una, snd_nxt, snd_wnd, rcv_nxt;
	uint32_t max_wnd; /* the largest window the peer offered */
	uint32_t pushed; /* sequence number after the last PSH */
	uint16_t mss;
	uint64_t to_send, sent, received;
	unsigned int unacked; /* in-order segments received, not yet ACKed */
	bool ack_due;

	uint64_t kicks, sleeps, wakeups, ooo, bad_frames, data_errors;
};

struct bench {
	const struct opts *o;
	struct vm vm;
	struct vnet *net;
	struct virtio_mmio *t;
	struct ev_op stop_op;
	pthread_t loop_thread, host_thread;
	clockid_t loop_clock;
	bool tap;
	uint32_t host_addr; /* where the server listens, host byte order */
	uint16_t port;
	int lfd;
	struct driver d;
	struct run_result res[MAX_RUNS];
};

enum { SEG_SYN = 1, SEG_ACK = 2, SEG_PSH = 4, SEG_RST = 8 };

/* ---- bench_net.c ---- */

double now_s(void);
double clock_s(clockid_t id);
/* Frames the device has moved either way so far. */
uint64_t dev_frames(struct bench *b);

/* ---- bench_net_driver.c: the rings and the driver loop ---- */

/*
 * Driver initialisation (virtio 1.2 §3.1.1), both queues set up, every
 * receive buffer posted.  Call after vnet_attach(), before the event loop
 * runs; the device then interrupts an eventfd of the driver's, not KVM.
 */
int drv_init(struct bench *b);

/* Learn the host end's MAC address (ARP).  Call once the loop runs. */
int drv_find_peer(struct driver *d);

/* Run @run: one connection, a handshake, N bytes each way, reset. */
int drv_connection(struct bench *b, unsigned int run);

/* A free transmit buffer, or -1 when all are with the device. */
int drv_tx_slot(struct driver *d);
uint8_t *tx_buf(struct driver *d, uint16_t slot);
/* Queue @slot's frame of @len bytes (virtio header included). */
void drv_tx_queue(struct driver *d, uint16_t slot, size_t len);

/* ---- bench_net_tcp.c: the guest's ARP and TCP ---- */

/* An ARP request (to broadcast) or reply.  0 or -EAGAIN (no buffer). */
int drv_send_arp(struct driver *d, uint16_t op, const uint8_t *tha,
		 uint32_t tip);
/* One segment with @flags (SEG_*).  0 or -EAGAIN (no buffer). */
int drv_send_seg(struct driver *d, unsigned int flags, uint32_t seq,
		 uint64_t off, size_t plen);
void drv_send_ack(struct driver *d);
/* Whatever the peer's window and our buffers allow.  Returns segments sent. */
unsigned int drv_send_data(struct driver *d);
/* A received Ethernet frame, virtio header stripped. */
void drv_rx_frame(struct driver *d, const uint8_t *f, size_t len);

#endif
