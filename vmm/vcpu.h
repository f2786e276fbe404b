/* SPDX-License-Identifier: MIT */
/*
 * vCPUs: one thread each, running KVM_RUN and dispatching exits to the buses.
 */
#ifndef MINIVMM_VCPU_H
#define MINIVMM_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>

struct vm;
struct boot_entry;

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
};

/*
 * Create vCPU @id with KVM_CREATE_VCPU, map its kvm_run and give it the
 * host-supported CPUID (with its own APIC ID).  Call after vm_create().
 */
int vcpu_create(struct vm *vm, struct vcpu *vcpu, unsigned int id);

/*
 * Load the boot CPU's registers for @entry (64-bit Linux boot protocol or
 * 32-bit PVH).  Call on vCPU 0 only, before vcpu_start(); the others wait
 * for INIT/SIPI from the guest in the in-kernel local APIC.
 */
int vcpu_set_boot_state(struct vcpu *vcpu, const struct boot_entry *entry);

/* Start the vCPU thread. */
int vcpu_start(struct vcpu *vcpu);

/*
 * Make the vCPU leave KVM_RUN and its thread end; then join it.
 * Call after vm_request_end().
 */
void vcpu_stop(struct vcpu *vcpu);

void vcpu_destroy(struct vcpu *vcpu);

/* Install the (empty) SIGUSR1 handler used to kick vCPUs out of KVM_RUN. */
void vcpu_init_signals(void);

#endif
