// SPDX-License-Identifier: MIT
/*
 * minivmm's paravirtual ports (include/minivmm/guest_abi.h):
 * - the exit device, on an I/O port and an MMIO page: a 32-bit write ends
 *   the VM with (value & 0xff) as minivmm's exit status; a read returns
 *   MINIVMM_EXIT_MAGIC so a guest can probe for it;
 * - the test port: test guests report values there, printed on stderr when
 *   --trace-testport is given.
 */
#include <stdio.h>
#include <string.h>

#include <minivmm/guest_abi.h>

#include "../vmm/vm.h"
#include "legacy.h"

static uint32_t le32(const void *data, unsigned int len)
{
	uint32_t v = 0;

	memcpy(&v, data, len < 4 ? len : 4);
	return v;
}

static void exit_read(void *opaque, uint64_t off, void *data,
		      unsigned int len)
{
	uint32_t magic = MINIVMM_EXIT_MAGIC;

	(void)opaque;
	memset(data, 0, len);
	if (off == 0)
		memcpy(data, &magic, len < 4 ? len : 4);
}

static void exit_write(void *opaque, uint64_t off, const void *data,
		       unsigned int len)
{
	struct vm *vm = opaque;

	if (off != 0)
		return;
	vm_request_end(vm, VM_END_EXIT_DEVICE, (int)(le32(data, len) & 0xff));
}

static const struct bus_ops exit_ops = {
	.read = exit_read,
	.write = exit_write,
};

static void test_write(void *opaque, uint64_t off, const void *data,
		       unsigned int len)
{
	struct vm *vm = opaque;

	(void)off;
	if (vm->trace_testport)
		fprintf(stderr, "testport: 0x%08x\n", le32(data, len));
}

static const struct bus_ops test_ops = {
	.write = test_write,
};

int exitport_attach(struct vm *vm)
{
	int ret;

	ret = bus_register(&vm->pio, MINIVMM_EXIT_PORT, 4, &exit_ops, vm,
			   "exit-port");
	if (!ret)
		ret = bus_register(&vm->mmio, MINIVMM_EXIT_MMIO,
				   MINIVMM_EXIT_MMIO_SIZE, &exit_ops, vm,
				   "exit-mmio");
	if (!ret)
		ret = bus_register(&vm->pio, MINIVMM_TEST_PORT, 4, &test_ops, vm,
				   "test-port");
	return ret;
}
