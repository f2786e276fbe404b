// SPDX-License-Identifier: MIT
/*
 * bench-net's guest driver: both split virtqueues as a guest sees them in
 * RAM, the loop that polls them while busy and sleeps on the device's
 * interrupt when idle, and one benchmark run's connection from handshake
 * to reset.  The frames themselves are bench_net_tcp.c's.
 */
#include <errno.h>
#include <linux/if_arp.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bench_net.h"

/* Guest-physical layout: each queue's rings (descriptors, avail at +4 KiB,
 * used at +8 KiB), then its buffers. */
#define RING_GPA(q) (0x10000ULL + 0x4000ULL * (q))
#define BUF_GPA(q) (0x100000ULL + 0x100000ULL * (q)) /* BUF_SIZE per slot */
#define BUF_SIZE 2048

/* ---- the rings, as a guest driver sees them ---- */

static void drv_queue_init(struct driver *d, unsigned int qi, int kick_fd)
{
	struct drv_queue *q = &d->q[qi];

	q->desc = (struct vring_desc *)(d->ram + RING_GPA(qi));
	q->avail = (struct vring_avail *)(d->ram + RING_GPA(qi) + 0x1000);
	q->used = (struct vring_used *)(d->ram + RING_GPA(qi) + 0x2000);
	q->kick_fd = kick_fd;
}

static uint16_t *used_event(struct drv_queue *q)
{
	return &q->avail->ring[QSIZE];
}

static uint16_t *avail_event(struct drv_queue *q)
{
	return (uint16_t *)&q->used->ring[QSIZE];
}

static void drv_post(struct drv_queue *q, uint16_t id)
{
	q->avail->ring[q->avail_idx % QSIZE] = id;
	q->avail_idx++;
}

/* Make what was posted visible and kick if the device asked for it. */
static void drv_publish(struct driver *d, unsigned int qi)
{
	struct drv_queue *q = &d->q[qi];
	uint16_t old = q->published, new = q->avail_idx;
	uint64_t one = 1;
	bool kick;

	if (old == new)
		return;
	__atomic_store_n(&q->avail->idx, new, __ATOMIC_RELEASE);
	q->published = new;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (d->event_idx)
		kick = vring_need_event(
			__atomic_load_n(avail_event(q), __ATOMIC_RELAXED), new,
			old);
	else
		kick = !(__atomic_load_n(&q->used->flags, __ATOMIC_RELAXED) &
			 VRING_USED_F_NO_NOTIFY);
	if (kick) {
		d->kicks++;
		if (write(q->kick_fd, &one, sizeof(one)) < 0)
			d->bad_frames++;
	}
}

/* Interrupts for @qi on (after the next used buffer) or off. */
static void drv_irq(struct driver *d, unsigned int qi, bool on)
{
	struct drv_queue *q = &d->q[qi];

	if (d->event_idx)
		__atomic_store_n(used_event(q),
				 (uint16_t)(q->last_used + (on ? 0 : 0x8000)),
				 __ATOMIC_RELAXED);
	else
		q->avail->flags = on ? 0 : VRING_AVAIL_F_NO_INTERRUPT;
}

static bool drv_has_used(struct drv_queue *q)
{
	return __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE) != q->last_used;
}

uint8_t *tx_buf(struct driver *d, uint16_t slot)
{
	return d->ram + BUF_GPA(TXQ) + (uint64_t)slot * BUF_SIZE;
}

static unsigned int drv_tx_reap(struct driver *d)
{
	struct drv_queue *q = &d->q[TXQ];
	uint16_t u = __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE);
	unsigned int n = 0;

	while (q->last_used != u) {
		uint32_t id = q->used->ring[q->last_used % QSIZE].id;

		q->last_used++;
		n++;
		if (id < QSIZE && d->tx_nfree < QSIZE)
			d->tx_free[d->tx_nfree++] = (uint16_t)id;
		else
			d->bad_frames++;
	}
	return n;
}

/* A free transmit buffer, or -1 when all are with the device. */
int drv_tx_slot(struct driver *d)
{
	if (!d->tx_nfree)
		drv_tx_reap(d);
	return d->tx_nfree ? d->tx_free[--d->tx_nfree] : -1;
}

/* Queue @slot's frame of @len bytes (virtio header included). */
void drv_tx_queue(struct driver *d, uint16_t slot, size_t len)
{
	struct drv_queue *q = &d->q[TXQ];

	q->desc[slot] = (struct vring_desc){
		.addr = BUF_GPA(TXQ) + (uint64_t)slot * BUF_SIZE,
		.len = (uint32_t)len,
	};
	drv_post(q, slot);
}

/* ---- the driver loop ---- */

/* Handle every used receive buffer and give it back.  Returns how many. */
static unsigned int drv_rx_reap(struct driver *d)
{
	struct drv_queue *q = &d->q[RXQ];
	uint16_t u = __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE);
	unsigned int n = 0;

	while (q->last_used != u) {
		struct vring_used_elem e = q->used->ring[q->last_used % QSIZE];

		q->last_used++;
		n++;
		if (e.id >= QSIZE || e.len < VNET_HDR || e.len > BUF_SIZE) {
			d->bad_frames++;
			continue;
		}
		drv_rx_frame(d,
			     d->ram + BUF_GPA(RXQ) + (uint64_t)e.id * BUF_SIZE +
				     VNET_HDR,
			     e.len - VNET_HDR);
		drv_post(q, (uint16_t)e.id);
	}
	return n;
}

/*
 * Nothing to do: ask for interrupts, look once more (the device may have
 * used a buffer before it could see the request), then sleep until one
 * comes or @ms pass.  Transmit completions only matter when we are out of
 * buffers.
 */
static void drv_sleep(struct driver *d, int ms)
{
	struct pollfd pfd = { .fd = d->irq_fd, .events = POLLIN };
	bool want_tx = d->tx_nfree < QSIZE / 4;
	uint64_t v;

	drv_irq(d, RXQ, true);
	if (want_tx)
		drv_irq(d, TXQ, true);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!drv_has_used(&d->q[RXQ]) &&
	    !(want_tx && drv_has_used(&d->q[TXQ]))) {
		d->sleeps++;
		if (poll(&pfd, 1, ms) > 0 &&
		    read(d->irq_fd, &v, sizeof(v)) == sizeof(v))
			d->wakeups++;
	}
	drv_irq(d, RXQ, false);
	drv_irq(d, TXQ, false);
}

/* One pass over both queues.  Returns whether anything happened. */
static bool drv_step(struct driver *d)
{
	unsigned int n = drv_rx_reap(d) + drv_tx_reap(d);

	n += drv_send_data(d);
	if (d->ack_due)
		drv_send_ack(d);
	drv_publish(d, RXQ);
	drv_publish(d, TXQ);
	return n != 0;
}

enum phase { PH_ARP, PH_CONNECT, PH_BULK };

static bool drv_phase_done(struct driver *d, enum phase ph)
{
	switch (ph) {
	case PH_ARP:
		return d->peer_known;
	case PH_CONNECT:
		return d->state != TCP_SYN_SENT;
	case PH_BULK:
		return d->state != TCP_ESTABLISHED ||
		       (d->received >= d->to_send &&
			d->snd_una == d->iss + 1 + d->to_send);
	}
	return true;
}

/*
 * Run @ph to its end: poll while busy, sleep on the interrupt when idle
 * (first ACKing a lone segment, as a delayed ACK would).  @resend redoes
 * the phase's request each second.  -ETIMEDOUT after STALL_S without
 * progress.
 */
static int drv_run_phase(struct driver *d, enum phase ph,
			 void (*resend)(struct driver *), struct run_result *r)
{
	double last = now_s(), last_resend = last;

	while (!drv_phase_done(d, ph)) {
		uint64_t before = d->received;

		if (drv_step(d)) {
			last = now_s();
			if (r && d->received >= d->to_send &&
			    before < d->to_send) {
				r->h2g_t1 = last;
				r->h2g_cpu1 = clock_s(d->b->loop_clock);
				r->h2g_frames1 = dev_frames(d->b);
			}
			continue;
		}
		if (d->unacked) {
			drv_send_ack(d);
			drv_publish(d, TXQ);
			continue;
		}
		drv_sleep(d, 10);
		if (now_s() - last > STALL_S)
			return -ETIMEDOUT;
		if (resend && now_s() - last_resend > 1.0) {
			resend(d);
			drv_publish(d, TXQ);
			last_resend = now_s();
		}
	}
	return 0;
}

static void resend_arp(struct driver *d)
{
	drv_send_arp(d, ARPOP_REQUEST, NULL, d->peer_ip);
}

static void resend_syn(struct driver *d)
{
	drv_send_seg(d, SEG_SYN, d->iss, 0, 0);
}

/* ---- set-up and one run ---- */

/* Driver initialisation (virtio 1.2 §3.1.1) and both queues' setup. */
int drv_init(struct bench *b)
{
	struct driver *d = &b->d;
	struct virtio_mmio *t = b->t;
	uint64_t f = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_NET_F_MAC) |
		     (1ULL << VIRTIO_NET_F_CSUM) |
		     (1ULL << VIRTIO_NET_F_GUEST_CSUM);
	uint32_t st = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	int kvm_irq_fd;

	if (b->o->event_idx)
		f |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
	d->b = b;
	d->event_idx = b->o->event_idx;
	d->ram = gm_ptr(&b->vm.mem, 0, VM_MEM);
	if (!d->ram)
		return -EINVAL;
	d->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->irq_fd < 0)
		return -errno;
	pthread_mutex_lock(&t->lock);
	/* The device interrupts the driver thread, not the idle vCPU. */
	kvm_irq_fd = t->irq_fd;
	t->irq_fd = d->irq_fd;
	virtio_mmio_reg_write(t, VIRTIO_MMIO_STATUS,
			      VIRTIO_CONFIG_S_ACKNOWLEDGE);
	virtio_mmio_reg_write(t, VIRTIO_MMIO_STATUS, st);
	virtio_mmio_reg_write(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	virtio_mmio_reg_write(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	virtio_mmio_reg_write(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	virtio_mmio_reg_write(t, VIRTIO_MMIO_DRIVER_FEATURES,
			      (uint32_t)(f >> 32));
	st |= VIRTIO_CONFIG_S_FEATURES_OK;
	virtio_mmio_reg_write(t, VIRTIO_MMIO_STATUS, st);
	for (unsigned int qi = 0; qi < 2; qi++) {
		virtio_mmio_reg_write(t, VIRTIO_MMIO_QUEUE_SEL, qi);
		virtio_mmio_reg_write(t, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
		virtio_mmio_reg_write(t, VIRTIO_MMIO_QUEUE_DESC_LOW,
				      (uint32_t)RING_GPA(qi));
		virtio_mmio_reg_write(t, VIRTIO_MMIO_QUEUE_AVAIL_LOW,
				      (uint32_t)(RING_GPA(qi) + 0x1000));
		virtio_mmio_reg_write(t, VIRTIO_MMIO_QUEUE_USED_LOW,
				      (uint32_t)(RING_GPA(qi) + 0x2000));
		virtio_mmio_reg_write(t, VIRTIO_MMIO_QUEUE_READY, 1);
		drv_queue_init(d, qi, t->kick_fd[qi]);
	}
	st |= VIRTIO_CONFIG_S_DRIVER_OK;
	virtio_mmio_reg_write(t, VIRTIO_MMIO_STATUS, st);
	if (virtio_mmio_reg_read(t, VIRTIO_MMIO_STATUS) != st) {
		fprintf(stderr, "bench-net: device refused the driver (status %#x)\n",
			virtio_mmio_reg_read(t, VIRTIO_MMIO_STATUS));
		pthread_mutex_unlock(&t->lock);
		close(kvm_irq_fd);
		return -EIO;
	}
	pthread_mutex_unlock(&t->lock);
	close(kvm_irq_fd); /* KVM keeps its own reference */

	/* Every receive buffer posted; transmit buffers all free. */
	for (uint16_t i = 0; i < QSIZE; i++) {
		d->q[RXQ].desc[i] = (struct vring_desc){
			.addr = BUF_GPA(RXQ) + (uint64_t)i * BUF_SIZE,
			.len = BUF_SIZE,
			.flags = VRING_DESC_F_WRITE,
		};
		drv_post(&d->q[RXQ], i);
		d->tx_free[d->tx_nfree++] = (uint16_t)(QSIZE - 1 - i);
	}
	drv_irq(d, RXQ, false);
	drv_irq(d, TXQ, false);
	drv_publish(d, RXQ);
	return 0;
}

/* ARP for the host end until it answers, asking again each second. */
int drv_find_peer(struct driver *d)
{
	resend_arp(d);
	drv_publish(d, TXQ);
	return drv_run_phase(d, PH_ARP, resend_arp, NULL);
}

/* One connection: handshake, N bytes each way, reset. */
int drv_connection(struct bench *b, unsigned int run)
{
	struct driver *d = &b->d;
	struct run_result *r = &b->res[run];
	double t;
	int ret;

	d->state = TCP_SYN_SENT;
	d->sport = (uint16_t)(40000 + run);
	d->dport = b->port;
	d->iss = 0x10000000U * (run + 1);
	d->snd_una = d->snd_nxt = d->iss;
	d->to_send = b->o->bytes;
	d->sent = d->received = 0;
	d->unacked = 0;
	resend_syn(d);
	drv_publish(d, TXQ);
	ret = drv_run_phase(d, PH_CONNECT, resend_syn, NULL);
	if (ret || d->state != TCP_ESTABLISHED) {
		fprintf(stderr, "bench-net: run %u: no connection to port %u (%s)\n",
			run + 1, b->port,
			ret ? strerror(-ret) : "reset by the peer");
		return ret ? ret : -ECONNREFUSED;
	}
	r->g2h_t0 = now_s();
	r->g2h_cpu0 = clock_s(b->loop_clock);
	r->g2h_frames0 = dev_frames(b);
	ret = drv_run_phase(d, PH_BULK, NULL, r);
	if (ret || d->state != TCP_ESTABLISHED) {
		fprintf(stderr,
			"bench-net: run %u: %s: sent %llu (acked %llu), received %llu of %llu bytes\n",
			run + 1, ret ? strerror(-ret) : "connection reset",
			(unsigned long long)d->sent,
			(unsigned long long)(d->snd_una - d->iss - 1),
			(unsigned long long)d->received,
			(unsigned long long)d->to_send);
		return ret ? ret : -ECONNRESET;
	}
	drv_send_seg(d, SEG_RST, d->snd_nxt, 0, 0);
	drv_publish(d, TXQ);
	d->state = TCP_CLOSED;
	/* Keep serving the queues until the host has closed its end. */
	for (t = now_s(); !atomic_load(&r->host_done) && now_s() - t < STALL_S;)
		if (!drv_step(d))
			drv_sleep(d, 10);
	if (!atomic_load(&r->host_done) || r->host_err) {
		fprintf(stderr, "bench-net: run %u: host side: %s\n", run + 1,
			r->host_err ? strerror(-r->host_err) :
				      "did not finish");
		return -EIO;
	}
	if (d->data_errors) {
		fprintf(stderr, "bench-net: run %u: the guest received %llu corrupt segments\n",
			run + 1, (unsigned long long)d->data_errors);
		return -EBADMSG;
	}
	return 0;
}
