/* SPDX-License-Identifier: MIT */
/*
 * The contract between minivmm and the software it boots: the guest init,
 * the test guests and anyone writing their own guest.  Nothing here depends on
 * the host; the header is included by freestanding guest code too.
 */
#ifndef MINIVMM_GUEST_ABI_H
#define MINIVMM_GUEST_ABI_H

/*
 * Exit device.  A 32-bit write ends the VM; minivmm exits with (value & 0xff).
 * It answers on an I/O port (for ring-0 test guests) and on an MMIO page (for
 * Linux user space, which reaches it through /dev/mem without needing ioperm).
 * Reading either returns MINIVMM_EXIT_MAGIC, so a guest can check it is there.
 */
#define MINIVMM_EXIT_PORT 0x00f4
#define MINIVMM_EXIT_MMIO 0xfe000000ULL
#define MINIVMM_EXIT_MMIO_SIZE 0x1000
#define MINIVMM_EXIT_MAGIC 0x4d564d4d /* "MMVM" little endian */

/*
 * Test port.  Test guests report a checked value with a 32-bit write here;
 * minivmm prints "testport: 0x%08x" on stderr when run with --trace-testport.
 * Not used by Linux guests.
 */
#define MINIVMM_TEST_PORT 0x00f0

/*
 * Guest-physical memory map.  RAM starts at 0 and runs up to the 32-bit MMIO
 * hole; whatever does not fit below the hole continues at 4 GiB.
 */
#define MINIVMM_MMIO_HOLE_START 0xc0000000ULL
#define MINIVMM_MMIO_HOLE_END 0x100000000ULL
/* virtio-mmio devices: one 4 KiB window each from here, IRQs from 5 up. */
#define MINIVMM_VIRTIO_MMIO_BASE 0xd0000000ULL
#define MINIVMM_VIRTIO_MMIO_STRIDE 0x1000ULL
#define MINIVMM_VIRTIO_IRQ_BASE 5

/*
 * Launch description: a flattened device tree placed in the initramfs at
 * MINIVMM_LAUNCH_PATH.  Layout (all strings NUL terminated, lists as DT
 * string lists):
 *
 *   / {
 *       compatible = "minivmm,launch-v1";
 *       app {
 *           argv = "prog", "arg1", ...;     required, argv[0] is the path run
 *           env = "K=V", ...;               optional
 *           cwd = "/";                      optional, default "/"
 *           root = "/app";                  directory init chroots into
 *       };
 *       exit-device {
 *           reg = <hi lo>;                  64-bit MMIO address (2 cells)
 *           io-port = <port>;
 *       };
 *   };
 */
#define MINIVMM_LAUNCH_PATH "/minivmm/launch.dtb"
#define MINIVMM_LAUNCH_COMPAT "minivmm,launch-v1"
/*
 * App image manifest: a flattened device tree stored inside an app image
 * (an erofs filesystem) at MINIVMM_MANIFEST_PATH, written by minivmm-image:
 *
 *   / {
 *       compatible = "minivmm,app-v1";
 *       app {
 *           argv = "/usr/bin/prog", "arg1";   required
 *           env = "K=V", ...;                  optional
 *           cwd = "/";                         optional, default "/"
 *           user = <uid gid>;                  optional, default <0 0>
 *           writable = "/tmp", "/var/lib/x";   optional: tmpfs over each
 *       };
 *   };
 *
 * The launch description then names the disk instead of a directory:
 *       app { root-disk = "/dev/vda"; root-fstype = "erofs"; ... }
 * and its argv, when present, overrides the manifest's (the words after
 * `--` on minivmm's command line); its env entries are added after the
 * manifest's.
 */
#define MINIVMM_MANIFEST_PATH "/.minivmm/manifest.dtb"

/*
 * Network: when the VM has a virtio-net device, the launch description
 * carries a node that init applies to eth0 before starting the app (lo is
 * always brought up):
 *
 *   / { net {
 *       mac = [52 54 00 12 34 56];   6 bytes, the device's MAC
 *       address = "10.0.2.15/24";    IPv4 address and prefix length
 *       gateway = "10.0.2.2";        optional: the default route
 *       dns = "10.0.2.3";            optional: written to resolv.conf
 *   }; };
 *
 * resolv.conf: init writes /minivmm/resolv.conf in the initramfs and, when
 * the app's root has an /etc/resolv.conf (the image builder adds an empty
 * one), bind-mounts it there.
 */
#define MINIVMM_MANIFEST_COMPAT "minivmm,app-v1"

/* Where the app's files live inside the initramfs (first app form). */
#define MINIVMM_APP_ROOT "/app"

/*
 * Exit status conventions, like `docker run`: the app's exit code; 128+N when
 * it was killed by signal N; these when init itself could not run it.
 */
#define MINIVMM_STATUS_INIT_FAILED 125 /* init error before exec   */
#define MINIVMM_STATUS_NOT_EXEC 126 /* argv[0] not executable   */
#define MINIVMM_STATUS_NOT_FOUND 127 /* argv[0] does not exist   */

#endif
