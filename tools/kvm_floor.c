// SPDX-License-Identifier: MIT
/*
 * kvm-floor: what the host's KVM itself charges for the VM set-up and
 * tear-down every VMM with an in-kernel irqchip does, with no VMM around it:
 * KVM_CREATE_VM, KVM_CREATE_IRQCHIP, KVM_CREATE_PIT2, one memory slot, one
 * vCPU, one KVM_RUN of a guest that writes to a port, then close.  The
 * medians are the floor under any VMM's stub-guest time on this host.
 *   kvm-floor [RUNS] [--no-irqchip | --irqchip-first]
 * --no-irqchip leaves out the irqchip and PIT, to show what they cost;
 * --irqchip-first creates them before the memory slot (minivmm's old order,
 * about 7 ms slower here).
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MEM_SIZE (16u << 20)
#define STEPS 5

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int make_irqchip(int vm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

	if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0 ||
	    ioctl(vm, KVM_CREATE_PIT2, &pit) < 0)
		return -1;
	return 0;
}

static int one_run(int kvm, int run_size, bool irqchip, bool irqchip_first,
		   double *t)
{
	/* Real mode at 0x1000: out %al, $0xf4 ; hlt */
	static const uint8_t code[] = { 0xe6, 0xf4, 0xf4 };
	struct kvm_userspace_memory_region slot = { 0 };
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = 0x1000, .rflags = 2 };
	struct kvm_run *run;
	double t0 = now_ms();
	int vm, vcpu;
	uint8_t *mem;

	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0 || (irqchip && irqchip_first && make_irqchip(vm)))
		return -1;
	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		return -1;
	memcpy(mem + 0x1000, code, sizeof(code));
	slot.memory_size = MEM_SIZE;
	slot.userspace_addr = (uintptr_t)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
		return -1;
	t[0] = now_ms() - t0;
	if (irqchip && !irqchip_first && make_irqchip(vm))
		return -1;
	t[1] = now_ms() - t0;
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (vcpu < 0 || run == MAP_FAILED || ioctl(vcpu, KVM_GET_SREGS, &sregs))
		return -1;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) || ioctl(vcpu, KVM_SET_REGS, &regs))
		return -1;
	t[2] = now_ms() - t0;
	if (ioctl(vcpu, KVM_RUN, 0) < 0 || run->exit_reason != KVM_EXIT_IO)
		return -1;
	t[3] = now_ms() - t0;
	munmap(run, run_size);
	close(vcpu);
	close(vm);
	munmap(mem, MEM_SIZE);
	t[4] = now_ms() - t0;
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const names[STEPS] = {
		"create VM + memory slot", "+ irqchip + PIT", "+ vCPU",
		"+ KVM_RUN to the port write", "+ close (VM teardown)"
	};
	int runs = argc > 1 ? atoi(argv[1]) : 30;
	bool irqchip = !(argc > 2 && !strcmp(argv[2], "--no-irqchip"));
	bool irqchip_first = argc > 2 && !strcmp(argv[2], "--irqchip-first");
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int run_size;
	double *t;

	if (kvm < 0 || runs < 1) {
		fprintf(stderr, "kvm-floor: cannot open /dev/kvm or bad RUNS\n");
		return 1;
	}
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	t = calloc((size_t)runs * STEPS, sizeof(*t));
	if (!t)
		return 1;
	for (int i = 0; i < runs; i++) {
		double r[STEPS];

		if (one_run(kvm, run_size, irqchip, irqchip_first, r)) {
			perror("kvm-floor: KVM call failed");
			return 1;
		}
		for (int s = 0; s < STEPS; s++)
			t[s * runs + i] = r[s];
	}
	printf("kvm-floor: %d runs%s, cumulative ms since KVM_CREATE_VM (median, p90)\n",
	       runs, !irqchip ? " without irqchip and PIT" :
	       irqchip_first ? " (irqchip before the memory slot: its step counts both)" : "");
	for (int s = 0; s < STEPS; s++) {
		double *col = t + s * runs;

		qsort(col, runs, sizeof(*col), cmp);
		printf("  %-30s %8.3f %8.3f\n", names[s], col[runs / 2],
		       col[(runs * 9) / 10 < runs ? (runs * 9) / 10 : runs - 1]);
	}
	free(t);
	return 0;
}
