// SPDX-License-Identifier: MIT
/*
 * i8042 keyboard controller, reduced to what a guest without a keyboard
 * touches: the status register (nothing to read, ready for commands) and the
 * 0xfe "pulse reset line" command, which Linux sends for reboot=k.  A reset
 * ends the VM with status 0: a microVM does not reboot, it stops.
 */
#include <errno.h>
#include <string.h>

#include "../vmm/vm.h"
#include "legacy.h"

#define I8042_DATA 0x60
#define I8042_CMD 0x64
#define I8042_CMD_RESET 0xfe
/* Status: no output, input buffer empty, system flag set. */
#define I8042_STATUS_SYS 0x04

static void i8042_read(void *opaque, uint64_t off, void *data,
		       unsigned int len)
{
	(void)opaque;
	memset(data, 0, len);
	if (off == I8042_CMD - I8042_DATA)
		((uint8_t *)data)[0] = I8042_STATUS_SYS;
}

static void i8042_write(void *opaque, uint64_t off, const void *data,
			unsigned int len)
{
	struct vm *vm = opaque;

	(void)len;
	if (off == I8042_CMD - I8042_DATA &&
	    ((const uint8_t *)data)[0] == I8042_CMD_RESET)
		vm_request_end(vm, VM_END_RESET, 0);
}

static const struct bus_ops i8042_ops = {
	.read = i8042_read,
	.write = i8042_write,
};

int i8042_attach(struct vm *vm)
{
	/*
	 * 0x60..0x64 as one region; port 0x61 (port B) inside it is handled by
	 * KVM's in-kernel PIT and never reaches us.
	 */
	return bus_register(&vm->pio, I8042_DATA, I8042_CMD - I8042_DATA + 1,
			    &i8042_ops, vm, "i8042");
}
