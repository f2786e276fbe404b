// SPDX-License-Identifier: MIT
/*
 * 16550A UART model.  Registers (offset, DLAB=0): 0 RBR/THR, 1 IER, 2 IIR/FCR,
 * 3 LCR, 4 MCR, 5 LSR, 6 MSR, 7 SCR; with LCR.DLAB set, 0/1 are the divisor.
 * Transmission is instant, so THR is always empty; interrupts follow the
 * 16550 priority order and drive a level-triggered line.
 */
#include "serial8250.h"

#include <errno.h>
#include <linux/serial_reg.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../vmm/vm.h"

struct serial {
	pthread_mutex_t lock;
	const struct serial_host_ops *ops;
	void *opaque;

	uint8_t ier, lcr, mcr, lsr, msr, scr, fcr, dll, dlm;
	bool thri_pending; /* THR-empty interrupt not yet acknowledged */
	int irq_level;

	uint8_t rx[SERIAL_RX_FIFO];
	unsigned int rx_head, rx_count;

	/* Host side (serial_attach); unused by the bare register model. */
	struct vm *vm;
	int in_fd, out_fd;
	bool escape; /* Ctrl-A seen */
	struct ev_op in_op;
};

struct serial *serial_new(const struct serial_host_ops *ops, void *opaque)
{
	struct serial *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	s->ops = ops;
	s->opaque = opaque;
	s->lsr = UART_LSR_TEMT | UART_LSR_THRE;
	/* Carrier, DSR, CTS up: a terminal is connected. */
	s->msr = UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
	s->dll = 12; /* 9600 baud */
	s->in_fd = s->out_fd = -1;
	return s;
}

void serial_free(struct serial *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* The highest-priority pending interrupt, as IIR reports it. */
static uint8_t serial_iir_id(const struct serial *s)
{
	if ((s->ier & UART_IER_RLSI) && (s->lsr & UART_LSR_OE))
		return UART_IIR_RLSI;
	if ((s->ier & UART_IER_RDI) && s->rx_count)
		return UART_IIR_RDI;
	if ((s->ier & UART_IER_THRI) && s->thri_pending)
		return UART_IIR_THRI;
	if ((s->ier & UART_IER_MSI) && (s->msr & UART_MSR_ANY_DELTA))
		return UART_IIR_MSI;
	return UART_IIR_NO_INT;
}

static void serial_update_irq(struct serial *s)
{
	int level = serial_iir_id(s) != UART_IIR_NO_INT;

	if (level != s->irq_level) {
		s->irq_level = level;
		if (s->ops && s->ops->set_irq)
			s->ops->set_irq(s->opaque, level);
	}
}

static void serial_tx(struct serial *s, uint8_t byte)
{
	if (s->mcr & UART_MCR_LOOP) {
		/* Loopback: what is sent comes straight back. */
		if (s->rx_count < SERIAL_RX_FIFO) {
			s->rx[(s->rx_head + s->rx_count) % SERIAL_RX_FIFO] = byte;
			s->rx_count++;
			s->lsr |= UART_LSR_DR;
		} else {
			s->lsr |= UART_LSR_OE;
		}
	} else if (s->ops && s->ops->tx) {
		s->ops->tx(s->opaque, byte);
	}
	s->thri_pending = true;
}

uint8_t serial_read(struct serial *s, unsigned int off)
{
	uint8_t val = 0;

	pthread_mutex_lock(&s->lock);
	switch (off) {
	case UART_RX:
		if (s->lcr & UART_LCR_DLAB) {
			val = s->dll;
			break;
		}
		if (s->rx_count) {
			val = s->rx[s->rx_head];
			s->rx_head = (s->rx_head + 1) % SERIAL_RX_FIFO;
			s->rx_count--;
		}
		if (!s->rx_count)
			s->lsr &= ~UART_LSR_DR;
		break;
	case UART_IER:
		val = (s->lcr & UART_LCR_DLAB) ? s->dlm : s->ier;
		break;
	case UART_IIR:
		val = serial_iir_id(s);
		/* Reading IIR while it shows THRI acknowledges it. */
		if (val == UART_IIR_THRI)
			s->thri_pending = false;
		if (s->fcr & UART_FCR_ENABLE_FIFO)
			val |= 0xc0;
		break;
	case UART_LCR:
		val = s->lcr;
		break;
	case UART_MCR:
		val = s->mcr;
		break;
	case UART_LSR:
		val = s->lsr;
		s->lsr &= ~UART_LSR_OE; /* error bits clear on read */
		break;
	case UART_MSR:
		if (s->mcr & UART_MCR_LOOP) {
			/* Loopback wires MCR outputs to MSR inputs. */
			val = ((s->mcr & UART_MCR_DTR) ? UART_MSR_DSR : 0) |
			      ((s->mcr & UART_MCR_RTS) ? UART_MSR_CTS : 0) |
			      ((s->mcr & UART_MCR_OUT1) ? UART_MSR_RI : 0) |
			      ((s->mcr & UART_MCR_OUT2) ? UART_MSR_DCD : 0);
		} else {
			val = s->msr;
			s->msr &= ~UART_MSR_ANY_DELTA;
		}
		break;
	case UART_SCR:
		val = s->scr;
		break;
	default:
		break;
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return val;
}

void serial_write(struct serial *s, unsigned int off, uint8_t val)
{
	pthread_mutex_lock(&s->lock);
	switch (off) {
	case UART_TX:
		if (s->lcr & UART_LCR_DLAB)
			s->dll = val;
		else
			serial_tx(s, val);
		break;
	case UART_IER:
		if (s->lcr & UART_LCR_DLAB) {
			s->dlm = val;
			break;
		}
		/* Enabling THRI with THR empty raises it at once. */
		if (!(s->ier & UART_IER_THRI) && (val & UART_IER_THRI))
			s->thri_pending = true;
		s->ier = val & 0x0f;
		break;
	case UART_FCR:
		s->fcr = val & (UART_FCR_ENABLE_FIFO | 0xc0);
		if (val & UART_FCR_CLEAR_RCVR) {
			s->rx_count = 0;
			s->lsr &= ~UART_LSR_DR;
		}
		break;
	case UART_LCR:
		s->lcr = val;
		break;
	case UART_MCR:
		s->mcr = val & 0x1f;
		break;
	case UART_SCR:
		s->scr = val;
		break;
	default: /* LSR and MSR are read-only */
		break;
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

unsigned int serial_receive(struct serial *s, const uint8_t *buf,
			    unsigned int len)
{
	unsigned int n = 0;

	pthread_mutex_lock(&s->lock);
	while (n < len && s->rx_count < SERIAL_RX_FIFO) {
		s->rx[(s->rx_head + s->rx_count) % SERIAL_RX_FIFO] = buf[n++];
		s->rx_count++;
	}
	if (s->rx_count)
		s->lsr |= UART_LSR_DR;
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

unsigned int serial_rx_room(struct serial *s)
{
	unsigned int room;

	pthread_mutex_lock(&s->lock);
	room = SERIAL_RX_FIFO - s->rx_count;
	pthread_mutex_unlock(&s->lock);
	return room;
}

/* ---- host side: bus registration, output fd, input through the loop ---- */

static void serial_host_tx(void *opaque, uint8_t byte)
{
	struct serial *s = opaque;

	/* Output errors (a closed pipe) must not stop the guest. */
	while (write(s->out_fd, &byte, 1) < 0 && errno == EINTR)
		;
}

static void serial_host_irq(void *opaque, int level)
{
	struct serial *s = opaque;

	vm_set_irq(s->vm, SERIAL_COM1_IRQ, level);
}

static void serial_in_cb(struct ev_op *op, int res, uint32_t flags);

static void serial_arm_input(struct serial *s)
{
	if (s->in_fd >= 0 && !s->in_op.armed)
		evloop_poll(&s->vm->loop, &s->in_op, s->in_fd, POLLIN);
}

static const struct serial_host_ops serial_host = {
	.tx = serial_host_tx,
	.set_irq = serial_host_irq,
};

static void serial_bus_read(void *opaque, uint64_t off, void *data,
			    unsigned int len)
{
	memset(data, 0, len);
	((uint8_t *)data)[0] = serial_read(opaque, (unsigned int)off);
}

static void serial_bus_write(void *opaque, uint64_t off, const void *data,
			     unsigned int len)
{
	(void)len;
	serial_write(opaque, (unsigned int)off, ((const uint8_t *)data)[0]);
}

static const struct bus_ops serial_bus_ops = {
	.read = serial_bus_read,
	.write = serial_bus_write,
};

/* Ctrl-A x ends the VM (as in QEMU); Ctrl-A Ctrl-A sends one Ctrl-A. */
#define SERIAL_ESCAPE 0x01

static unsigned int serial_filter_escape(struct serial *s, uint8_t *buf,
					 unsigned int len)
{
	unsigned int out = 0;

	for (unsigned int i = 0; i < len; i++) {
		if (s->escape) {
			s->escape = false;
			if (buf[i] == 'x') {
				vm_request_end(s->vm, VM_END_SIGNAL, 130);
				return out;
			}
			buf[out++] = buf[i];
		} else if (buf[i] == SERIAL_ESCAPE) {
			s->escape = true;
		} else {
			buf[out++] = buf[i];
		}
	}
	return out;
}

static void serial_in_cb(struct ev_op *op, int res, uint32_t flags)
{
	struct serial *s = op->opaque;
	uint8_t buf[SERIAL_RX_FIFO];
	unsigned int room, n;
	ssize_t got;

	(void)flags;
	/* -ETIME: the retry timer below fired. */
	if (res < 0 && res != -ETIME)
		return;
	if (res > 0 && (res & (POLLERR | POLLNVAL)))
		return; /* input gone: stop polling it */
	room = serial_rx_room(s);
	if (room == 0) {
		/* The guest has not drained the FIFO yet: look again soon. */
		s->in_op.cb = serial_in_cb;
		evloop_timeout(&s->vm->loop, &s->in_op, 10);
		return;
	}
	got = read(s->in_fd, buf, room);
	if (got <= 0) {
		if (got < 0 && errno == EAGAIN)
			serial_arm_input(s);
		return; /* EOF: no more input */
	}
	n = serial_filter_escape(s, buf, (unsigned int)got);
	serial_receive(s, buf, n);
	serial_arm_input(s);
}

int serial_attach(struct vm *vm, int in_fd, int out_fd)
{
	struct serial *s = serial_new(&serial_host, NULL);
	int ret;

	if (!s)
		return -ENOMEM;
	s->opaque = s;
	s->vm = vm;
	s->in_fd = in_fd;
	s->out_fd = out_fd;
	s->in_op.cb = serial_in_cb;
	s->in_op.opaque = s;
	ret = bus_register(&vm->pio, SERIAL_COM1_BASE, 8, &serial_bus_ops, s,
			   "serial8250");
	if (ret) {
		serial_free(s);
		return ret;
	}
	vm->serial = s;
	return 0;
}

int serial_start_input(struct vm *vm)
{
	if (vm->serial)
		serial_arm_input(vm->serial);
	return 0;
}

void serial_detach(struct vm *vm)
{
	serial_free(vm->serial);
	vm->serial = NULL;
}
