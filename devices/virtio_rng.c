// SPDX-License-Identifier: MIT
/*
 * virtio-rng (virtio 1.2 §5.4): every writable buffer the driver offers is
 * filled from getrandom(), so the guest's entropy pool is ready at boot
 * instead of after minutes of waiting for timer jitter under emulation.
 */
#include <errno.h>
#include <linux/virtio_ids.h>
#include <stdlib.h>
#include <sys/random.h>

#include "../vmm/vm.h"
#include "virtio_mmio.h"
#include "virtio_rng.h"

struct vrng {
	struct virtio_mmio *t;
	uint64_t bytes, bad;
};

static void rng_notify(void *dev, unsigned int queue)
{
	struct vrng *r = dev;
	struct virtqueue *vq = &r->t->vq[0];
	static __thread struct vq_chain c;
	bool pushed = false;
	int ret;

	(void)queue;
	while ((ret = vq_pop(vq, &c)) != 0) {
		uint32_t done = 0;

		if (ret < 0) {
			virtio_mmio_needs_reset(r->t);
			break;
		}
		if (c.bad || c.n_out) {
			r->bad++;
		} else {
			for (unsigned int i = 0; i < c.n_in; i++) {
				struct iovec *v = &c.iov[i];
				ssize_t n = getrandom(v->iov_base, v->iov_len, 0);

				if (n > 0)
					done += (uint32_t)n;
				if (n < (ssize_t)v->iov_len)
					break;
			}
			r->bytes += done;
		}
		vq_push(vq, c.head, done);
		pushed = true;
	}
	if (pushed)
		virtio_mmio_signal(r->t, 0);
}

static const struct virtio_dev_ops rng_ops = {
	.name = "virtio-rng",
	.device_id = VIRTIO_ID_RNG,
	.num_queues = 1,
	.queue_max = 64,
	.notify = rng_notify,
};

int vrng_attach(struct vm *vm, struct vrng **out)
{
	struct vrng *r = calloc(1, sizeof(*r));
	int ret;

	if (!r)
		return -ENOMEM;
	ret = virtio_mmio_attach(vm, &rng_ops, r, 0, NULL, 0, &r->t);
	if (ret) {
		free(r);
		return ret;
	}
	*out = r;
	return 0;
}

uint64_t vrng_bytes(const struct vrng *r)
{
	return r->bytes;
}

void vrng_destroy(struct vrng *r)
{
	free(r);
}
