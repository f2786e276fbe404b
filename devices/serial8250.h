/* SPDX-License-Identifier: MIT */
/*
 * A 16550A-compatible UART: the guest's ttyS0.  Transmitted bytes go to an
 * output fd at once; received bytes come from a host fd through the event
 * loop.  The register model is separate from the fds so it can be unit
 * tested on its own.
 */
#ifndef MINIVMM_SERIAL8250_H
#define MINIVMM_SERIAL8250_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define SERIAL_COM1_BASE 0x3f8
#define SERIAL_COM1_IRQ 4
#define SERIAL_RX_FIFO 64

struct serial;

/* What the register model needs from its surroundings. */
struct serial_host_ops {
	void (*tx)(void *opaque, uint8_t byte); /* guest wrote THR */
	void (*set_irq)(void *opaque, int level); /* line level changed */
};

/* Register model only (no fds, no bus).  Returns NULL on ENOMEM. */
struct serial *serial_new(const struct serial_host_ops *ops, void *opaque);
void serial_free(struct serial *s);

/* Register access at offset 0..7 (one byte).  Takes the UART lock. */
uint8_t serial_read(struct serial *s, unsigned int off);
void serial_write(struct serial *s, unsigned int off, uint8_t val);

/* Queue up to @len received bytes; returns how many fit. */
unsigned int serial_receive(struct serial *s, const uint8_t *buf,
			    unsigned int len);
unsigned int serial_rx_room(struct serial *s);

struct vm;

/*
 * Create COM1 for @vm: register it on the PIO bus, send output to @out_fd and
 * take input from @in_fd (-1 for none) through the event loop.  In raw-tty
 * mode Ctrl-A x ends the VM.  Call after vm_create(), before the vCPUs start.
 */
int serial_attach(struct vm *vm, int in_fd, int out_fd);

/* Start polling the input fd; call once the event loop exists. */
int serial_start_input(struct vm *vm);

void serial_detach(struct vm *vm);

#endif
