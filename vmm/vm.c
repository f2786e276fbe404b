// SPDX-License-Identifier: MIT
/*
 * The VM object: /dev/kvm, the VM fd, its memory slots, the in-kernel
 * interrupt controllers and PIT, and the end-of-VM bookkeeping.
 */
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "../devices/virtio_mmio.h"
#include "vcpu.h"

/* Below the MMIO hole, out of RAM's way; VMX needs them, others ignore. */
#define KVM_TSS_ADDR 0xfffbd000ULL
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ULL

uint64_t vm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

bool vm_host_is_pvm(void)
{
	if (access("/sys/module/kvm_pvm", F_OK) == 0)
		return true;
	return false;
}

static int vm_fail(const char *what, int err)
{
	fprintf(stderr, "minivmm: %s: %s\n", what, strerror(err));
	return -err;
}

int vm_create(struct vm *vm, uint64_t mem_size, unsigned int ncpus)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = vm->stop_fd = -1;
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return vm_fail("/dev/kvm", errno);
	ret = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (ret != KVM_API_VERSION) {
		fprintf(stderr, "minivmm: /dev/kvm: API version %d, need %d\n",
			ret, KVM_API_VERSION);
		return -EINVAL;
	}
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size < (int)sizeof(struct kvm_run))
		return vm_fail("KVM_GET_VCPU_MMAP_SIZE", errno ? errno : EINVAL);
	vm->pvm = vm_host_is_pvm();

	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return vm_fail("KVM_CREATE_VM", errno);
	/*
	 * VMX wants these two pages for real-mode emulation; other
	 * implementations (SVM, PVM) may refuse them, which is harmless.
	 */
	ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR);
	{
		uint64_t idmap = KVM_IDENTITY_MAP_ADDR;

		ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap);
	}
	/*
	 * Memory before the irqchip: once an irqchip exists, adding a memory
	 * slot waits for an SRCU grace period, which costs about 7 ms on the
	 * PVM build machines against 0.4 ms now (tools/kvm_floor.c, and
	 * docs/benchmarks.md).
	 */
	ret = gm_init(&vm->mem, mem_size);
	if (ret)
		return vm_fail("guest RAM mmap", -ret);
	for (unsigned int i = 0; i < vm->mem.nr; i++) {
		struct kvm_userspace_memory_region slot = {
			.slot = i,
			.guest_phys_addr = vm->mem.r[i].gpa,
			.memory_size = vm->mem.r[i].size,
			.userspace_addr = (uintptr_t)vm->mem.r[i].host,
		};

		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
			return vm_fail("KVM_SET_USER_MEMORY_REGION", errno);
	}

	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return vm_fail("KVM_CREATE_IRQCHIP", errno);
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return vm_fail("KVM_CREATE_PIT2", errno);

	vm->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_fd < 0)
		return vm_fail("eventfd", errno);
	ret = evloop_init(&vm->loop, 256);
	if (ret)
		return vm_fail("io_uring_queue_init", -ret);

	vm->vcpus = calloc(ncpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return vm_fail("vCPU array", ENOMEM);
	for (unsigned int i = 0; i < ncpus; i++) {
		vm->vcpus[i].fd = -1;
		ret = vcpu_create(vm, &vm->vcpus[i], i);
		if (ret)
			return ret;
		vm->ncpus++;
	}
	return 0;
}

void vm_set_irq(struct vm *vm, unsigned int gsi, int level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = level };

	ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq);
}

void vm_request_end(struct vm *vm, enum vm_end why, int status)
{
	int none = VM_END_NONE;
	uint64_t one = 1;

	if (!atomic_compare_exchange_strong(&vm->end, &none, (int)why))
		return;
	vm->end_status = status;
	if (write(vm->stop_fd, &one, sizeof(one)) < 0) {
		/* The counter cannot overflow after one write; nothing to do. */
	}
}

void vm_destroy(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->ncpus; i++)
		vcpu_stop(&vm->vcpus[i]);
	for (unsigned int i = 0; i < vm->ncpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	vm->vcpus = NULL;
	vm->ncpus = 0;
	if (vm->loop.cap)
		evloop_destroy(&vm->loop);
	for (unsigned int i = 0; i < vm->nr_virtio; i++)
		virtio_mmio_destroy(vm->virtio[i]);
	vm->nr_virtio = 0;
	if (vm->stop_fd >= 0)
		close(vm->stop_fd);
	gm_destroy(&vm->mem);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = vm->stop_fd = -1;
}
