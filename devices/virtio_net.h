/* SPDX-License-Identifier: MIT */
/*
 * virtio-net (virtio 1.2 §5.1): one receive and one transmit queue, the MAC
 * and link status in config space, checksum offload both ways.  Frames go
 * to and come from a struct net_backend (slirp or tap).
 */
#ifndef MINIVMM_VIRTIO_NET_H
#define MINIVMM_VIRTIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net_backend.h"

struct vm;
struct vnet;

struct vnet_stats {
	uint64_t tx_frames, tx_bytes, rx_frames, rx_bytes;
	uint64_t tx_bad; /* malformed chains, headers or frames: dropped */
	uint64_t tx_backend_errors; /* the backend refused the frame */
	uint64_t rx_no_buffer; /* the guest had no receive buffer: dropped */
	uint64_t rx_too_big; /* frame larger than the guest's buffer */
	uint64_t csum_filled; /* checksums computed for the guest */
};

/*
 * Attach a virtio-net device with @mac to @vm, using @be (which the device
 * then owns).  Call after vm_create(), before the vCPUs start.
 */
int vnet_attach(struct vm *vm, const uint8_t mac[6], struct net_backend *be,
		struct vnet **out);

/* Start the backend; once the event loop exists. */
int vnet_start(struct vnet *n);

const struct vnet_stats *vnet_stats(const struct vnet *n);
const struct net_backend *vnet_backend(const struct vnet *n);
void vnet_destroy(struct vnet *n);

/*
 * Fill in the checksum the driver asked for (VIRTIO_NET_HDR_F_NEEDS_CSUM):
 * the ones'-complement sum from @start to the end of @frame, stored at
 * @start + @offset.  Returns 0 or -EINVAL when the offsets leave the frame.
 * Exposed for unit tests.
 */
int vnet_fill_csum(uint8_t *frame, size_t len, uint16_t start,
		   uint16_t offset);

#endif
