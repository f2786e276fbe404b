/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk (virtio 1.2 §5.2) over a raw image file, with every read,
 * write and flush done through the VM's io_uring event loop.
 */
#ifndef MINIVMM_VIRTIO_BLK_H
#define MINIVMM_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct vblk;

/* Counters shown by --stats. */
struct vblk_stats {
	uint64_t reads, writes, flushes, get_ids; /* once each, when started */
	uint64_t bytes_read, bytes_written;
	uint64_t ioerr, unsupp; /* requests completed with an error status */
	uint64_t resubmits; /* short reads/writes and -EAGAIN */
	uint64_t backpressure; /* pops undone because the ring was full */
};

/*
 * Open @path and attach a virtio-blk device for it to @vm.  @read_only
 * offers VIRTIO_BLK_F_RO and refuses writes with IOERR.  A size that is not
 * a multiple of 512 is refused.  On error, *err holds one line.  Call after
 * vm_create(), before the vCPUs start.
 */
int vblk_attach(struct vm *vm, const char *path, bool read_only,
		struct vblk **out, char *err, unsigned long errlen);

/* Start polling the device's queue; call once the event loop exists. */
void vblk_start(struct vblk *b);

const struct vblk_stats *vblk_stats(const struct vblk *b);
const char *vblk_path(const struct vblk *b);

void vblk_destroy(struct vblk *b);

#endif
