// SPDX-License-Identifier: MIT
/*
 * minivmm: create the VM, attach the devices, load the kernel, start the
 * vCPUs, run the event loop, and turn the way the VM ended into an exit
 * status, like `docker run`.  Options live in options.c, the app and its
 * initramfs in app.c.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include "../devices/legacy.h"
#include "../devices/serial8250.h"
#include "../devices/virtio_blk.h"
#include "../devices/virtio_mmio.h"
#include "../devices/virtio_net.h"
#include "../devices/virtio_rng.h"
#include "app.h"
#include "boot.h"
#include "options.h"
#include "vcpu.h"
#include "vm.h"

/* The guest init, embedded by the build (guest/init, see meson.build). */
extern const uint8_t minivmm_init_start[];
extern const uint8_t minivmm_init_end[];

/*
 * Under PVM the guest sees the host's CPUID, and the emulator lacks these
 * features' instructions; the kernel's own switch turns them off
 * (MACHINE-FACTS.md, "How far an ordinary Linux guest gets").  6.1 no longer
 * knows noxsave/nosmap/nosmep: clearcpuid covers them.
 */
static const char pvm_cmdline[] =
	"clearcpuid=popcnt,smap,smep,xsave,xsaves,xsaveopt,cx16,avx,avx2,"
	"fsgsbase,pcid,invpcid,rdrand,rdseed,umip,pku";

static int attach_net(struct vm *vm, const struct net_plan *p,
		      struct vnet **out)
{
	struct net_backend *be = NULL;
	struct net_config cfg;
	char err[256] = "";
	int ret;

	if (p->kind == NET_USER)
		ret = net_slirp_create(vm, p->user_spec, &cfg, &be, err,
				       sizeof(err));
	else
		ret = net_tap_create(vm, p->tap, &be, err, sizeof(err));
	if (ret)
		return vmm_fail("%s", err[0] ? err : strerror(-ret));
	ret = vnet_attach(vm, p->launch.mac, be, out);
	if (ret) {
		be->ops->destroy(be);
		return vmm_fail("virtio-net: %s", strerror(-ret));
	}
	return 0;
}

static int compose_cmdline(const struct options *o, const struct vm *vm,
			   char **out)
{
	bool pvm = vm->pvm;
	const char *base = "console=ttyS0 reboot=k panic=-1 io_delay=none "
			   "8250.nr_uarts=1";

	/* The user's words come last, so they override ours. */
	if (asprintf(out, "%s%s%s%s%s%s%s%s", base, o->verbose ? "" : " quiet",
		     pvm ? " " : "", pvm ? pvm_cmdline : "",
		     vm->nr_virtio ? " " : "", vm->virtio_cmdline,
		     o->cmdline ? " " : "", o->cmdline ? o->cmdline : "") < 0)
		return -ENOMEM;
	return 0;
}

/* ---- the terminal: raw while the guest owns it, restored on every exit ---- */

struct term {
	bool raw;
	struct termios saved;
};

static void term_raw(struct term *t)
{
	struct termios raw;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &t->saved) < 0)
		return;
	raw = t->saved;
	cfmakeraw(&raw);
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
		t->raw = true;
}

static void term_restore(struct term *t)
{
	if (t->raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &t->saved);
	t->raw = false;
}

/* ---- event-loop handlers for the VM's own events ---- */

struct run_ctx {
	struct vm *vm;
	int sig_fd;
	struct ev_op stop_op, sig_op, timeout_op;
};

static void on_stop(struct ev_op *op, int res, uint32_t flags)
{
	struct run_ctx *rc = op->opaque;

	(void)res;
	(void)flags;
	evloop_stop(&rc->vm->loop);
}

static void on_signal(struct ev_op *op, int res, uint32_t flags)
{
	struct run_ctx *rc = op->opaque;
	struct signalfd_siginfo si;

	(void)flags;
	if (res < 0 || read(rc->sig_fd, &si, sizeof(si)) != sizeof(si)) {
		evloop_poll(&rc->vm->loop, &rc->sig_op, rc->sig_fd, POLLIN);
		return;
	}
	vm_request_end(rc->vm, VM_END_SIGNAL, 128 + (int)si.ssi_signo);
}

static void on_timeout(struct ev_op *op, int res, uint32_t flags)
{
	struct run_ctx *rc = op->opaque;

	(void)res;
	(void)flags;
	vm_request_end(rc->vm, VM_END_TIMEOUT, STATUS_TIMEOUT);
}

static void print_stats(const struct vm *vm)
{
	fprintf(stderr,
		"minivmm stats: first KVM_RUN after %.3f ms wall, %.3f ms CPU\n"
		"minivmm stats: exits: io %llu, mmio %llu, intr %llu, other %llu\n"
		"minivmm stats: unhandled: pio %llu, mmio %llu\n"
		"minivmm stats: pvm quirks: fwait skipped %llu, int3 injected %llu\n",
		vm->stats.first_run_wall_ns / 1e6, vm->stats.first_run_cpu_ns / 1e6,
		(unsigned long long)vm->stats.exits_io,
		(unsigned long long)vm->stats.exits_mmio,
		(unsigned long long)vm->stats.exits_intr,
		(unsigned long long)vm->stats.exits_other,
		(unsigned long long)vm->pio.unhandled,
		(unsigned long long)vm->mmio.unhandled,
		(unsigned long long)vm->stats.pvm_fwait_skipped,
		(unsigned long long)vm->stats.pvm_int3_injected);
}

static void print_disk_stats(const struct vblk *b)
{
	const struct vblk_stats *st = vblk_stats(b);

	fprintf(stderr,
		"minivmm stats: disk %s: reads %llu (%llu bytes), writes %llu (%llu bytes), flushes %llu, ids %llu, ioerr %llu, unsupp %llu, resubmits %llu, backpressure %llu\n",
		vblk_path(b), (unsigned long long)st->reads,
		(unsigned long long)st->bytes_read,
		(unsigned long long)st->writes,
		(unsigned long long)st->bytes_written,
		(unsigned long long)st->flushes, (unsigned long long)st->get_ids,
		(unsigned long long)st->ioerr, (unsigned long long)st->unsupp,
		(unsigned long long)st->resubmits,
		(unsigned long long)st->backpressure);
}

static void print_net_stats(const struct vnet *n)
{
	const struct vnet_stats *st = vnet_stats(n);

	fprintf(stderr,
		"minivmm stats: net (%s): tx %llu frames %llu bytes, rx %llu frames %llu bytes, tx bad %llu, tx backend errors %llu, rx no buffer %llu, rx too big %llu, checksums filled %llu\n",
		vnet_backend(n)->ops->name, (unsigned long long)st->tx_frames,
		(unsigned long long)st->tx_bytes,
		(unsigned long long)st->rx_frames,
		(unsigned long long)st->rx_bytes,
		(unsigned long long)st->tx_bad,
		(unsigned long long)st->tx_backend_errors,
		(unsigned long long)st->rx_no_buffer,
		(unsigned long long)st->rx_too_big,
		(unsigned long long)st->csum_filled);
}

static int load_kernel(struct vm *vm, const struct options *o,
		       const char *cmdline, const uint8_t *initrd,
		       size_t initrd_size, struct boot_entry *entry)
{
	struct boot_request req = { 0 };
	enum kernel_kind kind;
	const char *why = NULL;
	uint8_t *data;
	size_t size;
	int ret;

	if (read_file("kernel", o->kernel, &data, &size))
		return STATUS_USAGE;
	kind = kernel_probe(data, size, &why);
	if (kind == KERNEL_UNKNOWN) {
		free(data);
		return vmm_fail("kernel '%s': %s", o->kernel, why);
	}
	if (!o->quiet)
		fprintf(stderr, "minivmm: kernel '%s': %s\n", o->kernel,
			kernel_kind_name(kind));
	if (!o->quiet && kind == KERNEL_BZIMAGE && vm->pvm)
		fprintf(stderr,
			"minivmm: note: /dev/kvm is PVM; a bzImage's decompressor runs emulated and slowly here, the PVH vmlinux boots much faster\n");
	req.kernel = data;
	req.kernel_size = size;
	req.cmdline = cmdline;
	req.initrd = initrd;
	req.initrd_size = initrd_size;
	ret = kind == KERNEL_BZIMAGE ? boot_linux_load(&vm->mem, &req, entry) :
				       boot_pvh_load(&vm->mem, &req, entry);
	free(data);
	if (ret)
		return vmm_fail("kernel '%s': %s", o->kernel, req.err);
	if (mptable_write(&vm->mem, vm->ncpus))
		return vmm_fail("MP table: does not fit in guest RAM");
	return 0;
}

static int run_vm(struct vm *vm, const struct options *o, struct vnet *vnet)
{
	struct run_ctx rc = { .vm = vm, .sig_fd = -1 };
	struct term term = { 0 };
	sigset_t sigs;
	int ret = 0;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	rc.sig_fd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (rc.sig_fd < 0)
		return vmm_fail("signalfd: %s", strerror(errno));
	rc.stop_op = (struct ev_op){ .cb = on_stop, .opaque = &rc };
	rc.sig_op = (struct ev_op){ .cb = on_signal, .opaque = &rc };
	rc.timeout_op = (struct ev_op){ .cb = on_timeout, .opaque = &rc };
	evloop_poll(&vm->loop, &rc.stop_op, vm->stop_fd, POLLIN);
	evloop_poll(&vm->loop, &rc.sig_op, rc.sig_fd, POLLIN);
	if (o->timeout_s)
		evloop_timeout(&vm->loop, &rc.timeout_op,
			       (uint64_t)o->timeout_s * 1000);
	serial_start_input(vm);
	for (unsigned int i = 0; i < vm->nr_virtio; i++)
		virtio_mmio_start(vm->virtio[i]);
	if (vnet && vnet_start(vnet))
		vm_request_end(vm, VM_END_HOST_ERROR, STATUS_USAGE);

	term_raw(&term);
	for (unsigned int i = 0; i < vm->ncpus && !ret; i++)
		ret = vcpu_start(&vm->vcpus[i]);
	if (ret)
		vm_request_end(vm, VM_END_HOST_ERROR, STATUS_USAGE);
	ret = evloop_run(&vm->loop);
	if (ret)
		vm_request_end(vm, VM_END_HOST_ERROR, STATUS_USAGE);
	for (unsigned int i = 0; i < vm->ncpus; i++)
		vcpu_stop(&vm->vcpus[i]);
	term_restore(&term);
	close(rc.sig_fd);
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	struct vm vm;
	struct cpio initramfs = { 0 };
	struct boot_entry entry;
	uint8_t *initrd = NULL;
	size_t initrd_size = 0;
	char *cmdline = NULL;
	uint64_t host_ram;
	uint64_t start_ns = vm_now_ns();
	enum app_kind app_kind = APP_DIR;
	const char *app_fstype = NULL;
	struct vblk *disks[VM_MAX_VIRTIO];
	unsigned int ndisks = 0;
	struct net_plan net_plan;
	struct vnet *vnet = NULL;
	struct vrng *vrng = NULL;
	char err[320];
	sigset_t block;
	int status;

	status = options_parse(argc, argv, &o);
	if (status)
		return status;
	host_ram = (uint64_t)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE);
	if (o.mem < MIN_MEM)
		return vmm_fail("--memory: %llu KiB is too small (at least %llu MiB)",
			    (unsigned long long)(o.mem >> 10),
			    (unsigned long long)(MIN_MEM >> 20));
	if (o.mem > host_ram)
		return vmm_fail("--memory: %llu MiB is more than this host's %llu MiB of RAM",
			    (unsigned long long)(o.mem >> 20),
			    (unsigned long long)(host_ram >> 20));
	o.mem &= ~0xfffULL;
	if (o.kernel && access(o.kernel, R_OK) < 0)
		return vmm_fail("kernel '%s': %s", o.kernel, strerror(errno));
	if (net_plan_make(&o, &net_plan))
		return STATUS_USAGE;
	if (o.app && (app_probe(o.app, &app_kind, &app_fstype) ||
		      app_build_initramfs(&o, app_kind, app_fstype, &net_plan,
				      &initramfs)))
		return STATUS_USAGE;
	if (o.write_initrd)
		return app_write_initrd(o.write_initrd, &initramfs);
	if (o.app) {
		initrd = initramfs.buf;
		initrd_size = initramfs.len;
	} else if (o.initrd && read_file("initrd", o.initrd, &initrd,
					 &initrd_size)) {
		return STATUS_USAGE;
	}

	/*
	 * Signals for the whole VM are read from a signalfd by the loop; block
	 * them before any thread starts so every thread inherits the mask.
	 */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, NULL);
	vcpu_init_signals();
	signal(SIGPIPE, SIG_IGN);

	if (vm_create(&vm, o.mem, o.cpus)) {
		vm_destroy(&vm);
		return STATUS_USAGE;
	}
	vm.stats.start_ns = start_ns;
	vm.trace_testport = o.trace_testport;
	vm.pvm_quirks = o.pvm_quirks < 0 ? vm.pvm : o.pvm_quirks;
	/* The app image first, so that it is /dev/vda. */
	if (o.app && app_kind == APP_IMAGE &&
	    vblk_attach(&vm, o.app, true, &disks[ndisks++], err, sizeof(err))) {
		ndisks--;
		status = vmm_fail("app %s", err + strlen("disk "));
		goto out;
	}
	for (unsigned int i = 0; i < o.ndisks; i++) {
		char *path = o.disks[i], *comma = strrchr(path, ',');
		bool ro = comma && !strcmp(comma, ",ro");

		if (ro)
			*comma = '\0';
		if (vblk_attach(&vm, path, ro, &disks[ndisks], err,
				sizeof(err))) {
			status = vmm_fail("%s", err);
			goto out;
		}
		ndisks++;
	}
	if (net_plan.kind != NET_NONE) {
		status = attach_net(&vm, &net_plan, &vnet);
		if (status)
			goto out;
	}
	/* Entropy for Linux guests (test guests do without the device). */
	if (o.app && vrng_attach(&vm, &vrng)) {
		status = vmm_fail("virtio-rng: %s", strerror(ENOSPC));
		goto out;
	}
	if (compose_cmdline(&o, &vm, &cmdline)) {
		status = vmm_fail("out of memory");
		goto out;
	}
	status = load_kernel(&vm, &o, cmdline, initrd, initrd_size, &entry);
	if (status)
		goto out;
	if (serial_attach(&vm, STDIN_FILENO, STDOUT_FILENO) ||
	    i8042_attach(&vm) || rtc_attach(&vm) || exitport_attach(&vm)) {
		status = vmm_fail("device setup failed");
		goto out;
	}
	if (vcpu_set_boot_state(&vm.vcpus[0], &entry)) {
		status = vmm_fail("setting boot registers: %s", strerror(errno));
		goto out;
	}
	run_vm(&vm, &o, vnet);
	status = vm.end_status;
	switch ((enum vm_end)vm.end) {
	case VM_END_TIMEOUT:
		fprintf(stderr, "minivmm: timeout: the VM ran for %u s\n",
			o.timeout_s);
		break;
	case VM_END_NONE:
		status = STATUS_USAGE;
		break;
	default:
		break;
	}
	if (o.stats) {
		print_stats(&vm);
		for (unsigned int i = 0; i < ndisks; i++)
			print_disk_stats(disks[i]);
		if (vnet)
			print_net_stats(vnet);
		if (vrng)
			fprintf(stderr, "minivmm stats: rng: %llu bytes\n",
				(unsigned long long)vrng_bytes(vrng));
	}
out:
	vm_destroy(&vm);
	for (unsigned int i = 0; i < ndisks; i++)
		vblk_destroy(disks[i]);
	vnet_destroy(vnet);
	vrng_destroy(vrng);
	serial_detach(&vm);
	legacy_detach(&vm);
	cpio_free(&initramfs);
	if (!o.app)
		free(initrd);
	free(cmdline);
	free(o.env);
	free(o.disks);
	free(o.hostfwd);
	return status;
}
