// SPDX-License-Identifier: MIT
/*
 * The vCPU thread: KVM_RUN, then dispatch the exit.  Port I/O and MMIO go to
 * the buses; anything that means the guest is broken ends the VM with a
 * message naming the exit, RIP and the instruction bytes there.
 */
#include "vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <minivmm/guest_abi.h>

#include "boot.h"
#include "vm.h"

#define CPUID_MAX_ENTRIES 256
#define CPUID_1_ECX_HYPERVISOR (1U << 31)
#define X86_CR0_PE 0x1ULL
#define X86_CR0_ET 0x10ULL
#define X86_CR0_PG 0x80000000ULL
#define X86_CR4_PAE 0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL
#define OPCODE_INT3 0xcc
#define OPCODE_FWAIT 0x9b
#define VECTOR_BP 3

static void vcpu_kick_handler(int sig)
{
	(void)sig;
}

void vcpu_init_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = vcpu_kick_handler;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: KVM_RUN must come back with EINTR. */
	sigaction(SIGUSR1, &sa, NULL);
}

static int vcpu_set_cpuid(struct vm *vm, struct vcpu *vcpu)
{
	struct kvm_cpuid2 *cpuid;
	size_t sz = sizeof(*cpuid) +
		    CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
	int ret = 0;

	cpuid = calloc(1, sz);
	if (!cpuid)
		return -ENOMEM;
	cpuid->nent = CPUID_MAX_ENTRIES;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) {
		ret = -errno;
		fprintf(stderr, "minivmm: KVM_GET_SUPPORTED_CPUID: %s\n",
			strerror(errno));
		goto out;
	}
	for (unsigned int i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		switch (e->function) {
		case 1:
			/* Initial APIC ID in EBX[31:24]; say we are a guest. */
			e->ebx = (e->ebx & 0x00ffffff) | (vcpu->id << 24);
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			break;
		case 0xb:
		case 0x1f:
			e->edx = vcpu->id; /* x2APIC ID */
			break;
		default:
			break;
		}
	}
	if (ioctl(vcpu->fd, KVM_SET_CPUID2, cpuid) < 0) {
		ret = -errno;
		fprintf(stderr, "minivmm: KVM_SET_CPUID2 on vCPU %u: %s\n",
			vcpu->id, strerror(errno));
	}
out:
	free(cpuid);
	return ret;
}

int vcpu_create(struct vm *vm, struct vcpu *vcpu, unsigned int id)
{
	void *run;

	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (vcpu->fd < 0) {
		fprintf(stderr, "minivmm: KVM_CREATE_VCPU %u: %s\n", id,
			strerror(errno));
		return -errno;
	}
	run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   vcpu->fd, 0);
	if (run == MAP_FAILED) {
		fprintf(stderr, "minivmm: mmap kvm_run of vCPU %u: %s\n", id,
			strerror(errno));
		return -errno;
	}
	vcpu->run = run;
	return vcpu_set_cpuid(vm, vcpu);
}

static void seg_flat(struct kvm_segment *s, uint16_t sel, uint8_t type,
		     bool code64)
{
	*s = (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = sel,
		.type = type,
		.present = 1,
		.dpl = 0,
		.db = code64 ? 0 : 1,
		.s = 1,
		.l = code64 ? 1 : 0,
		.g = 1,
	};
}

int vcpu_set_boot_state(struct vcpu *vcpu, const struct boot_entry *entry)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_segment code, data;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	/* Type 0xb: execute/read, accessed; 0x3: read/write, accessed. */
	if (entry->mode == BOOT_MODE_LONG64) {
		seg_flat(&code, BOOT_CS, 0xb, true);
		sregs.cr3 = BOOT_PML4_ADDR;
		sregs.cr4 = X86_CR4_PAE;
		sregs.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_PG;
		sregs.efer = EFER_LME | EFER_LMA;
	} else {
		seg_flat(&code, 0x20, 0xb, false);
		sregs.cr0 = X86_CR0_PE | X86_CR0_ET;
		sregs.cr3 = 0;
		sregs.cr4 = 0;
		sregs.efer = 0;
	}
	seg_flat(&data, BOOT_DS, 0x3, false);
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.gdt.base = BOOT_GDT_ADDR;
	sregs.gdt.limit = 5 * 8 - 1;
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2; /* bit 1 is always set */
	regs.rip = entry->rip;
	if (entry->mode == BOOT_MODE_LONG64)
		regs.rsi = entry->arg;
	else
		regs.rbx = entry->arg;
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

/* Guest-physical address of the instruction at RIP, for diagnostics. */
static int vcpu_rip_gpa(struct vcpu *vcpu, const struct kvm_regs *regs,
			const struct kvm_sregs *sregs, uint64_t *gpa)
{
	struct kvm_translation tr = { .linear_address = 0 };
	uint64_t linear = sregs->cs.base + regs->rip;

	if (!(sregs->cr0 & X86_CR0_PG)) {
		*gpa = linear & 0xffffffffULL;
		return 0;
	}
	tr.linear_address = linear;
	if (ioctl(vcpu->fd, KVM_TRANSLATE, &tr) == 0 && tr.valid) {
		*gpa = tr.physical_address;
		return 0;
	}
	if (sregs->efer & EFER_LMA)
		return gm_translate(&vcpu->vm->mem, sregs->cr3, linear, gpa);
	return -EFAULT;
}

/*
 * Read up to @len instruction bytes at RIP (stopping at a page end, since
 * the next page may map elsewhere).  Returns the number of bytes read.
 */
static size_t vcpu_code_bytes(struct vcpu *vcpu, const struct kvm_regs *regs,
			      const struct kvm_sregs *sregs, uint8_t *buf,
			      size_t len)
{
	uint64_t gpa;
	size_t n;

	if (vcpu_rip_gpa(vcpu, regs, sregs, &gpa))
		return 0;
	n = 4096 - (gpa & 0xfff);
	if (n > len)
		n = len;
	if (gm_read(&vcpu->vm->mem, gpa, buf, n))
		return 0;
	return n;
}

static const char *exit_name(uint32_t reason)
{
	switch (reason) {
	case KVM_EXIT_SHUTDOWN:
		return "KVM_EXIT_SHUTDOWN (triple fault)";
	case KVM_EXIT_INTERNAL_ERROR:
		return "KVM_EXIT_INTERNAL_ERROR";
	case KVM_EXIT_FAIL_ENTRY:
		return "KVM_EXIT_FAIL_ENTRY";
	case KVM_EXIT_HLT:
		return "KVM_EXIT_HLT";
	default:
		return "unexpected exit";
	}
}

/* One line that says what happened, where, and what code was there. */
static void vcpu_report_fatal(struct vcpu *vcpu, const char *detail)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	uint8_t code[16];
	size_t n = 0;
	char hex[3 * sizeof(code) + 1] = "";

	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0) {
		fprintf(stderr, "minivmm: vCPU %u: %s (registers unreadable)\n",
			vcpu->id, detail);
		return;
	}
	n = vcpu_code_bytes(vcpu, &regs, &sregs, code, sizeof(code));
	for (size_t i = 0; i < n; i++)
		snprintf(hex + 3 * i, 4, "%02x ", code[i]);
	if (n)
		hex[3 * n - 1] = '\0';
	fprintf(stderr,
		"minivmm: vCPU %u: %s at RIP %#llx (CS %#x, CR0 %#llx, CR3 %#llx, EFER %#llx); code: %s\n",
		vcpu->id, detail, (unsigned long long)regs.rip, sregs.cs.selector,
		(unsigned long long)sregs.cr0, (unsigned long long)sregs.cr3,
		(unsigned long long)sregs.efer, n ? hex : "(unreadable)");
}

/*
 * PVM's instruction emulator lacks FWAIT and INT3 (MACHINE-FACTS.md).  FWAIT
 * with no pending x87 exception does nothing, so we step over it; INT3 is
 * delivered as the #BP trap it would have raised.  Returns true when the
 * exit was handled and the vCPU may go on.
 */
static bool vcpu_pvm_quirk(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	uint8_t op;

	if (!vm->pvm_quirks ||
	    vcpu->run->internal.suberror != KVM_INTERNAL_ERROR_EMULATION)
		return false;
	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return false;
	if (vcpu_code_bytes(vcpu, &regs, &sregs, &op, 1) != 1)
		return false;
	if (op == OPCODE_FWAIT) {
		regs.rip++;
		if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
			return false;
		atomic_fetch_add(&vm->stats.pvm_fwait_skipped, 1);
		return true;
	}
	if (op == OPCODE_INT3) {
		struct kvm_vcpu_events ev;

		if (ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
			return false;
		/* A trap: the saved RIP is the next instruction. */
		regs.rip++;
		if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
			return false;
		ev.exception.injected = 1;
		ev.exception.nr = VECTOR_BP;
		ev.exception.has_error_code = 0;
		ev.flags = 0;
		if (ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
			return false;
		atomic_fetch_add(&vm->stats.pvm_int3_injected, 1);
		return true;
	}
	return false;
}

static void vcpu_handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;

	/* REP INS/OUTS arrive as count > 1 elements, back to back. */
	for (uint32_t i = 0; i < run->io.count; i++) {
		bus_access(&vcpu->vm->pio, run->io.port, data, run->io.size,
			   is_write);
		data += run->io.size;
	}
}

static void vcpu_guest_error(struct vcpu *vcpu, const char *what)
{
	vcpu_report_fatal(vcpu, what);
	vm_request_end(vcpu->vm, VM_END_GUEST_ERROR, MINIVMM_STATUS_INIT_FAILED);
}

/* Returns false when the vCPU must stop running. */
static bool vcpu_handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct vm *vm = vcpu->vm;
	char what[128];

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		atomic_fetch_add_explicit(&vm->stats.exits_io, 1,
					  memory_order_relaxed);
		vcpu_handle_io(vcpu);
		return true;
	case KVM_EXIT_MMIO:
		atomic_fetch_add_explicit(&vm->stats.exits_mmio, 1,
					  memory_order_relaxed);
		if (run->mmio.len <= sizeof(run->mmio.data))
			bus_access(&vm->mmio, run->mmio.phys_addr,
				   run->mmio.data, run->mmio.len,
				   run->mmio.is_write);
		return true;
	case KVM_EXIT_INTR:
		atomic_fetch_add_explicit(&vm->stats.exits_intr, 1,
					  memory_order_relaxed);
		return true;
	case KVM_EXIT_SYSTEM_EVENT:
		/* PSCI-style events; on x86 a reset or shutdown request. */
		vm_request_end(vm, VM_END_RESET, 0);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		if (vcpu_pvm_quirk(vcpu))
			return true;
		snprintf(what, sizeof(what),
			 "KVM_EXIT_INTERNAL_ERROR suberror %u%s",
			 run->internal.suberror,
			 run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
				 " (instruction emulation failed)" : "");
		vcpu_guest_error(vcpu, what);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(what, sizeof(what),
			 "KVM_EXIT_FAIL_ENTRY hardware reason %#llx",
			 (unsigned long long)run->fail_entry
				 .hardware_entry_failure_reason);
		vcpu_guest_error(vcpu, what);
		return false;
	case KVM_EXIT_SHUTDOWN:
	case KVM_EXIT_HLT:
		vcpu_guest_error(vcpu, exit_name(run->exit_reason));
		return false;
	default:
		atomic_fetch_add_explicit(&vm->stats.exits_other, 1,
					  memory_order_relaxed);
		snprintf(what, sizeof(what), "unhandled KVM exit reason %u",
			 run->exit_reason);
		vcpu_guest_error(vcpu, what);
		return false;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	sigset_t set;

	/* The kick signal must reach this thread; everything else not. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	if (vcpu->id == 0) {
		struct timespec ts;

		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
		vm->stats.first_run_cpu_ns =
			(uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
		vm->stats.first_run_wall_ns = vm_now_ns() - vm->stats.start_ns;
	}
	while (atomic_load(&vm->end) == VM_END_NONE) {
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			fprintf(stderr, "minivmm: KVM_RUN on vCPU %u: %s\n",
				vcpu->id, strerror(errno));
			vm_request_end(vm, VM_END_HOST_ERROR,
				       MINIVMM_STATUS_INIT_FAILED);
			break;
		}
		if (!vcpu_handle_exit(vcpu))
			break;
	}
	return NULL;
}

int vcpu_start(struct vcpu *vcpu)
{
	int ret = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);

	if (ret) {
		fprintf(stderr, "minivmm: vCPU %u thread: %s\n", vcpu->id,
			strerror(ret));
		return -ret;
	}
	vcpu->started = true;
	return 0;
}

void vcpu_stop(struct vcpu *vcpu)
{
	if (!vcpu->started)
		return;
	/*
	 * immediate_exit covers the window between the loop's check and the
	 * next KVM_RUN; the signal covers a vCPU already inside KVM_RUN.
	 */
	vcpu->run->immediate_exit = 1;
	pthread_kill(vcpu->thread, SIGUSR1);
	pthread_join(vcpu->thread, NULL);
	vcpu->started = false;
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu->run)
		munmap(vcpu->run, vcpu->vm->run_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->run = NULL;
	vcpu->fd = -1;
}
