// SPDX-License-Identifier: MIT
/*
 * Unit tests for the 16550A register model (devices/serial8250.c), with
 * fake host ops that record transmitted bytes and the interrupt line.
 */
#include <linux/serial_reg.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "devices/serial8250.h"

struct fake_host {
	uint8_t tx[256];
	unsigned int ntx;
	int irq; /* current line level */
	unsigned int irq_changes;
};

static void fake_tx(void *opaque, uint8_t byte)
{
	struct fake_host *h = opaque;

	if (h->ntx < sizeof(h->tx))
		h->tx[h->ntx] = byte;
	h->ntx++;
}

static void fake_irq(void *opaque, int level)
{
	struct fake_host *h = opaque;

	h->irq = level;
	h->irq_changes++;
}

static const struct serial_host_ops fake_ops = { .tx = fake_tx,
						 .set_irq = fake_irq };

static struct fake_host host;
static struct serial *s;

static void uart_setup(void)
{
	memset(&host, 0, sizeof(host));
	s = serial_new(&fake_ops, &host);
	cr_assert_not_null(s);
}

static void uart_teardown(void)
{
	serial_free(s);
}

TestSuite(serial, .init = uart_setup, .fini = uart_teardown);

static uint8_t iir_id(void)
{
	return serial_read(s, UART_IIR) & 0x0f;
}

Test(serial, reset_state)
{
	cr_assert_eq(serial_read(s, UART_LSR), UART_LSR_TEMT | UART_LSR_THRE);
	cr_assert_eq(serial_read(s, UART_IIR), UART_IIR_NO_INT);
	cr_assert_eq(serial_read(s, UART_IER), 0);
	cr_assert_eq(serial_read(s, UART_MSR),
		     UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
	cr_assert_eq(serial_rx_room(s), SERIAL_RX_FIFO);
	cr_assert_eq(host.irq, 0);
	cr_assert_eq(host.irq_changes, 0);
}

Test(serial, thr_write_transmits)
{
	const char *msg = "hello\n";

	for (const char *p = msg; *p; p++)
		serial_write(s, UART_TX, (uint8_t)*p);
	cr_assert_eq(host.ntx, strlen(msg));
	cr_assert_arr_eq(host.tx, msg, strlen(msg));
	/* Transmission is instant: THR is empty again at once. */
	cr_assert(serial_read(s, UART_LSR) & UART_LSR_THRE);
	/* No interrupt while IER is clear. */
	cr_assert_eq(host.irq, 0);
	cr_assert_eq(host.irq_changes, 0);
}

Test(serial, thri_raises_and_iir_read_acknowledges)
{
	serial_write(s, UART_IER, UART_IER_THRI);
	cr_assert_eq(host.irq, 1, "enabling THRI with THR empty raises it");
	cr_assert_eq(serial_read(s, UART_IER), UART_IER_THRI);
	cr_assert_eq(iir_id(), UART_IIR_THRI);
	cr_assert_eq(host.irq, 0, "reading IIR acknowledged it");
	cr_assert_eq(iir_id(), UART_IIR_NO_INT);

	/* Each transmitted byte empties THR again. */
	serial_write(s, UART_TX, 'a');
	cr_assert_eq(host.irq, 1);
	cr_assert_eq(iir_id(), UART_IIR_THRI);
	cr_assert_eq(host.irq, 0);

	/* Disabling THRI lowers the line without an IIR read. */
	serial_write(s, UART_TX, 'b');
	cr_assert_eq(host.irq, 1);
	serial_write(s, UART_IER, 0);
	cr_assert_eq(host.irq, 0);
	cr_assert_eq(host.ntx, 2);
}

Test(serial, ier_keeps_only_its_four_bits)
{
	serial_write(s, UART_IER, 0xff);
	cr_assert_eq(serial_read(s, UART_IER), 0x0f);
}

Test(serial, receive_fills_the_fifo)
{
	uint8_t in[100], more = 'z';

	for (unsigned int i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i + 1);
	serial_write(s, UART_IER, UART_IER_RDI);
	cr_assert_eq(host.irq, 0);
	cr_assert_eq(serial_receive(s, in, 0), 0);
	cr_assert_not(serial_read(s, UART_LSR) & UART_LSR_DR);

	cr_assert_eq(serial_receive(s, in, sizeof(in)), SERIAL_RX_FIFO);
	cr_assert_eq(serial_rx_room(s), 0);
	cr_assert_eq(serial_receive(s, &more, 1), 0, "FIFO full");
	cr_assert(serial_read(s, UART_LSR) & UART_LSR_DR);
	cr_assert_eq(host.irq, 1);
	cr_assert_eq(iir_id(), UART_IIR_RDI);
	cr_assert_eq(host.irq, 1, "RDI stays until the data is read");

	for (unsigned int i = 0; i < SERIAL_RX_FIFO; i++) {
		cr_assert(serial_read(s, UART_LSR) & UART_LSR_DR);
		cr_assert_eq(serial_read(s, UART_RX), in[i], "byte %u", i);
	}
	cr_assert_not(serial_read(s, UART_LSR) & UART_LSR_DR);
	cr_assert_eq(iir_id(), UART_IIR_NO_INT);
	cr_assert_eq(host.irq, 0);
	/* Reading an empty RBR is harmless. */
	cr_assert_eq(serial_read(s, UART_RX), 0);
	cr_assert_eq(serial_rx_room(s), SERIAL_RX_FIFO);
}

Test(serial, receive_wraps_around_the_fifo)
{
	uint8_t in[SERIAL_RX_FIFO * 2];
	unsigned int next = 0;

	for (unsigned int i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(0x80 + i);
	cr_assert_eq(serial_receive(s, in, 40), 40);
	for (; next < 30; next++)
		cr_assert_eq(serial_read(s, UART_RX), in[next]);
	cr_assert_eq(serial_rx_room(s), SERIAL_RX_FIFO - 10);
	cr_assert_eq(serial_receive(s, in + 40, 80), SERIAL_RX_FIFO - 10);
	for (; next < 40 + SERIAL_RX_FIFO - 10; next++)
		cr_assert_eq(serial_read(s, UART_RX), in[next], "byte %u",
			     next);
	cr_assert_not(serial_read(s, UART_LSR) & UART_LSR_DR);
}

Test(serial, rdi_has_priority_over_thri)
{
	const uint8_t b = 'q';

	serial_write(s, UART_IER, UART_IER_RDI | UART_IER_THRI);
	serial_receive(s, &b, 1);
	cr_assert_eq(iir_id(), UART_IIR_RDI);
	cr_assert_eq(serial_read(s, UART_RX), 'q');
	cr_assert_eq(iir_id(), UART_IIR_THRI);
	cr_assert_eq(iir_id(), UART_IIR_NO_INT);
	cr_assert_eq(host.irq, 0);
}

Test(serial, dlab_switches_offsets_0_and_1_to_the_divisor)
{
	const uint8_t b = 'r';

	serial_write(s, UART_IER, UART_IER_RDI);
	serial_receive(s, &b, 1);
	serial_write(s, UART_LCR, UART_LCR_DLAB | UART_LCR_WLEN8);
	cr_assert_eq(serial_read(s, UART_DLL), 12, "9600 baud at reset");
	serial_write(s, UART_DLL, 0x01);
	serial_write(s, UART_DLM, 0x02);
	cr_assert_eq(serial_read(s, UART_DLL), 0x01);
	cr_assert_eq(serial_read(s, UART_DLM), 0x02);
	cr_assert_eq(host.ntx, 0, "divisor writes are not transmitted");
	cr_assert(serial_read(s, UART_LSR) & UART_LSR_DR,
		  "divisor reads do not consume data");

	serial_write(s, UART_LCR, UART_LCR_WLEN8);
	cr_assert_eq(serial_read(s, UART_LCR), UART_LCR_WLEN8);
	cr_assert_eq(serial_read(s, UART_IER), UART_IER_RDI,
		     "IER unchanged by the DLM write");
	cr_assert_eq(serial_read(s, UART_RX), 'r');
	serial_write(s, UART_TX, 'x');
	cr_assert_eq(host.ntx, 1);
	cr_assert_eq(host.tx[0], 'x');

	/* And the divisor survives. */
	serial_write(s, UART_LCR, UART_LCR_DLAB);
	cr_assert_eq(serial_read(s, UART_DLL), 0x01);
	cr_assert_eq(serial_read(s, UART_DLM), 0x02);
}

Test(serial, loopback_returns_what_is_sent)
{
	serial_write(s, UART_MCR, UART_MCR_LOOP);
	serial_write(s, UART_TX, 'A');
	serial_write(s, UART_TX, 'B');
	cr_assert_eq(host.ntx, 0, "nothing reaches the host in loopback");
	cr_assert(serial_read(s, UART_LSR) & UART_LSR_DR);
	cr_assert_eq(serial_read(s, UART_RX), 'A');
	cr_assert_eq(serial_read(s, UART_RX), 'B');
	cr_assert_not(serial_read(s, UART_LSR) & UART_LSR_DR);

	serial_write(s, UART_MCR, 0);
	serial_write(s, UART_TX, 'C');
	cr_assert_eq(host.ntx, 1);
	cr_assert_eq(host.tx[0], 'C');
}

Test(serial, loopback_msr_mirrors_mcr)
{
	serial_write(s, UART_MCR, UART_MCR_LOOP);
	cr_assert_eq(serial_read(s, UART_MSR), 0);
	serial_write(s, UART_MCR, UART_MCR_LOOP | UART_MCR_DTR);
	cr_assert_eq(serial_read(s, UART_MSR), UART_MSR_DSR);
	serial_write(s, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS);
	cr_assert_eq(serial_read(s, UART_MSR), UART_MSR_CTS);
	serial_write(s, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT1);
	cr_assert_eq(serial_read(s, UART_MSR), UART_MSR_RI);
	serial_write(s, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2);
	cr_assert_eq(serial_read(s, UART_MSR), UART_MSR_DCD);
	serial_write(s, UART_MCR, 0xff);
	cr_assert_eq(serial_read(s, UART_MCR), 0x1f);
	cr_assert_eq(serial_read(s, UART_MSR),
		     UART_MSR_DCD | UART_MSR_RI | UART_MSR_DSR | UART_MSR_CTS);
	/* Out of loopback the modem lines are back. */
	serial_write(s, UART_MCR, 0);
	cr_assert_eq(serial_read(s, UART_MSR),
		     UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
}

Test(serial, loopback_overrun_sets_oe)
{
	serial_write(s, UART_IER, UART_IER_RLSI);
	serial_write(s, UART_MCR, UART_MCR_LOOP);
	for (unsigned int i = 0; i < SERIAL_RX_FIFO; i++)
		serial_write(s, UART_TX, (uint8_t)i);
	cr_assert_eq(host.irq, 0);
	serial_write(s, UART_TX, 0xee); /* one too many */
	cr_assert_eq(host.irq, 1);
	cr_assert_eq(iir_id(), UART_IIR_RLSI);
	cr_assert(serial_read(s, UART_LSR) & UART_LSR_OE);
	cr_assert_not(serial_read(s, UART_LSR) & UART_LSR_OE,
		      "OE clears when LSR is read");
	cr_assert_eq(host.irq, 0);
	for (unsigned int i = 0; i < SERIAL_RX_FIFO; i++)
		cr_assert_eq(serial_read(s, UART_RX), (uint8_t)i);
}

Test(serial, scratch_register)
{
	serial_write(s, UART_SCR, 0x5a);
	cr_assert_eq(serial_read(s, UART_SCR), 0x5a);
	serial_write(s, UART_SCR, 0xa5);
	cr_assert_eq(serial_read(s, UART_SCR), 0xa5);
	cr_assert_eq(host.ntx, 0);
}

Test(serial, read_only_registers_ignore_writes)
{
	serial_write(s, UART_LSR, 0);
	serial_write(s, UART_MSR, 0);
	cr_assert_eq(serial_read(s, UART_LSR), UART_LSR_TEMT | UART_LSR_THRE);
	cr_assert_eq(serial_read(s, UART_MSR),
		     UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
}

Test(serial, unknown_offsets_are_harmless)
{
	const unsigned int offs[] = { 8, 9, 0x100, 0x3f8, 0x7fffffff,
				      0xffffffff };

	serial_write(s, UART_SCR, 0x77);
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		serial_write(s, offs[i], 0xff);
		cr_assert_eq(serial_read(s, offs[i]), 0);
	}
	cr_assert_eq(serial_read(s, UART_SCR), 0x77);
	cr_assert_eq(serial_read(s, UART_IER), 0);
	cr_assert_eq(serial_read(s, UART_LCR), 0);
	cr_assert_eq(host.ntx, 0);
	cr_assert_eq(host.irq_changes, 0);
}

Test(serial, fcr_clears_the_receiver)
{
	const uint8_t *in = (const uint8_t *)"0123456789";

	serial_write(s, UART_IER, UART_IER_RDI);
	cr_assert_eq(serial_receive(s, in, 10), 10);
	cr_assert_eq(host.irq, 1);
	serial_write(s, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);
	cr_assert_not(serial_read(s, UART_LSR) & UART_LSR_DR);
	cr_assert_eq(serial_rx_room(s), SERIAL_RX_FIFO);
	cr_assert_eq(host.irq, 0);
	cr_assert_eq(serial_read(s, UART_RX), 0);
	/* With FIFOs enabled IIR says so in its top bits. */
	cr_assert_eq(serial_read(s, UART_IIR), 0xc0 | UART_IIR_NO_INT);
	/* The FIFO still works afterwards, in order. */
	cr_assert_eq(serial_receive(s, in + 3, 2), 2);
	cr_assert_eq(serial_read(s, UART_RX), '3');
	cr_assert_eq(serial_read(s, UART_RX), '4');
	serial_write(s, UART_FCR, 0);
	cr_assert_eq(serial_read(s, UART_IIR), UART_IIR_NO_INT);
}

Test(serial, model_without_host_ops)
{
	struct serial *bare = serial_new(NULL, NULL);
	const uint8_t b = 1;

	cr_assert_not_null(bare);
	serial_write(bare, UART_IER, 0x0f);
	serial_write(bare, UART_TX, 'x');
	serial_receive(bare, &b, 1);
	cr_assert_eq(serial_read(bare, UART_IIR) & 0x0f, UART_IIR_RDI);
	serial_write(bare, UART_MCR, UART_MCR_LOOP);
	serial_write(bare, UART_TX, 'y');
	serial_free(bare);
	serial_free(NULL);
}
