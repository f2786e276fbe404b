/* SPDX-License-Identifier: MIT */
/*
 * struct vm: everything one virtual machine owns: the KVM fds, guest memory,
 * the two buses, the vCPUs, the event loop and the devices.  There is no
 * global VM state; every function takes the vm it works on.
 */
#ifndef MINIVMM_VM_H
#define MINIVMM_VM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "evloop.h"
#include "mem.h"

#define VM_MAX_CPUS 8
#define VM_MAX_VIRTIO 16

struct vcpu;
struct serial;
struct exitdev;
struct i8042;
struct rtc;
struct virtio_mmio;

/* Why the VM ended; the first stop request wins. */
enum vm_end {
	VM_END_NONE,
	VM_END_EXIT_DEVICE, /* guest wrote its status to the exit device */
	VM_END_RESET, /* i8042 reset (reboot=k): a clean power-off */
	VM_END_GUEST_ERROR, /* triple fault, emulation failure, entry fail */
	VM_END_HOST_ERROR, /* a KVM call failed */
	VM_END_TIMEOUT, /* --timeout expired */
	VM_END_SIGNAL, /* SIGINT/SIGTERM/SIGHUP or Ctrl-A x */
};

/* Counters shown by --stats.  Written by vCPU threads with relaxed atomics. */
struct vm_stats {
	atomic_uint_fast64_t exits_io, exits_mmio, exits_hlt, exits_intr,
		exits_other;
	atomic_uint_fast64_t pvm_fwait_skipped, pvm_int3_injected;
	uint64_t start_ns; /* vm_now_ns() when main() started */
	uint64_t first_run_wall_ns; /* main() start to first KVM_RUN */
	uint64_t first_run_cpu_ns; /* process CPU time at first KVM_RUN */
};

struct vm {
	int kvm_fd;
	int vm_fd;
	int run_size; /* mmap size of struct kvm_run */
	bool pvm; /* /dev/kvm is PVM: software virtualization */
	bool pvm_quirks; /* step over FWAIT, inject #BP for INT3 */
	bool trace_testport;

	struct guest_mem mem;
	struct bus pio;
	struct bus mmio;

	struct vcpu *vcpus;
	unsigned int ncpus;

	struct evloop loop;
	int stop_fd; /* eventfd: a vCPU or signal asks the loop to stop */

	struct serial *serial;
	struct exitdev *exitdev;
	struct i8042 *i8042;
	struct rtc *rtc;
	struct virtio_mmio *virtio[VM_MAX_VIRTIO];
	unsigned int nr_virtio;
	char virtio_cmdline[VM_MAX_VIRTIO * 48]; /* virtio_mmio.device=... */

	atomic_int end; /* enum vm_end; set once */
	int end_status; /* minivmm's exit status, valid once end is set */

	struct vm_stats stats;
};

/*
 * Open /dev/kvm, create the VM with its irqchip and PIT, and map @mem_size
 * bytes of RAM.  On failure prints one line naming what failed and returns
 * -errno.
 */
int vm_create(struct vm *vm, uint64_t mem_size, unsigned int ncpus);

/* Create the standard devices (UART, i8042, RTC, exit device). */
int vm_add_devices(struct vm *vm, int in_fd, int out_fd);

/* Level-triggered interrupt line through KVM_IRQ_LINE. */
void vm_set_irq(struct vm *vm, unsigned int gsi, int level);

/*
 * Ask the VM to end with @status.  The first request wins; later ones are
 * ignored.  Safe from any thread: an atomic and a write(2) to an eventfd.
 */
void vm_request_end(struct vm *vm, enum vm_end why, int status);

/* Stop and join the vCPU threads, free everything.  Safe on a partial vm. */
void vm_destroy(struct vm *vm);

/* True when /dev/kvm is PVM (no hardware virtualization on this host). */
bool vm_host_is_pvm(void);

/* A monotonic clock in nanoseconds. */
uint64_t vm_now_ns(void);

#endif
