/*
 * virtq.c: split virtqueue, driver and device sides (virtio 1.2 §2.7).
 *
 * The driver keeps its own copy of every chain (links, length, cookie) in
 * private memory and never reads back the descriptor table, which the
 * device could have scribbled on; only the used ring is read from shared
 * memory, and every value from it is range-checked before use.  The device
 * side does the same for what the driver wrote.  Allocation happens only
 * in the create functions.
 */
#include "virtio/virtq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NONE 0xFFFFu

/* Ring field access: little-endian, atomics where the other side races. */
static uint16_t load16(const uint16_t *p)
{
	return virtio_cpu_le16(__atomic_load_n(p, __ATOMIC_RELAXED));
}

static uint16_t load16_acquire(const uint16_t *p)
{
	return virtio_cpu_le16(__atomic_load_n(p, __ATOMIC_ACQUIRE));
}

static void store16(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, virtio_cpu_le16(v), __ATOMIC_RELAXED);
}

static void store16_release(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, virtio_cpu_le16(v), __ATOMIC_RELEASE);
}

static void full_fence(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static bool is_pow2(unsigned v)
{
	return v && !(v & (v - 1));
}

static bool aligned(const void *p, uintptr_t a)
{
	return ((uintptr_t)p & (a - 1)) == 0;
}

/* §2.7.6 / §2.7.8: the event fields sit just past each ring */
static uint16_t *used_event_field(struct virtq_avail *avail, unsigned size)
{
	return &avail->ring[size];
}

static uint16_t *avail_event_field(struct virtq_used *used, unsigned size)
{
	return (uint16_t *)(void *)&used->ring[size];
}

/* ---- driver side ---- */

struct virtq_slot {
	void *cookie;	   /* set on a chain's head while outstanding */
	uint64_t writable; /* head: device-writable bytes of the chain */
	uint16_t next;	   /* chain link, or free-list link */
	uint16_t ndesc;	   /* head: ring descriptors the chain holds */
	uint16_t table;	   /* head: indirect table index, or NONE */
};

struct virtq {
	unsigned size;
	bool event_idx;
	bool broken;
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	uint16_t free_head;
	unsigned num_free;
	unsigned outstanding; /* chains added and not yet used */
	uint16_t avail_idx;   /* our copy; avail->idx after publish */
	uint16_t kicked_idx;  /* avail_idx at the last kick decision */
	uint16_t last_used;
	uint16_t avail_flags;
	struct virtq_desc *ind;
	uint64_t ind_addr;
	unsigned ind_tables, ind_len, ind_threshold;
	unsigned ind_nfree;
	uint16_t *ind_free; /* stack of free table indices */
	struct virtq_slot slots[];
};

int virtq_create(const struct virtq_config *c, struct virtq **out)
{
	struct virtq *vq;
	size_t bytes;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!c || !is_pow2(c->size) || c->size > VIRTQ_MAX_SIZE || !c->desc ||
	    !c->avail || !c->used || !aligned(c->desc, VIRTQ_DESC_ALIGN) ||
	    !aligned(c->avail, VIRTQ_AVAIL_ALIGN) ||
	    !aligned(c->used, VIRTQ_USED_ALIGN))
		return -EINVAL;
	if (c->indirect &&
	    (!c->indirect_tables || c->indirect_tables > 65535 ||
	     c->indirect_len < 2 || c->indirect_len > VIRTQ_MAX_SIZE ||
	     !aligned(c->indirect, VIRTQ_DESC_ALIGN) ||
	     c->indirect_addr % VIRTQ_DESC_ALIGN))
		return -EINVAL;

	bytes = sizeof(*vq) + c->size * sizeof(vq->slots[0]);
	if (c->indirect)
		bytes += c->indirect_tables * sizeof(uint16_t);
	vq = calloc(1, bytes);
	if (!vq)
		return -ENOMEM;
	vq->size = c->size;
	vq->event_idx = c->event_idx;
	vq->desc = c->desc;
	vq->avail = c->avail;
	vq->used = c->used;
	memset(vq->desc, 0, VIRTQ_DESC_BYTES(c->size));
	memset(vq->avail, 0, VIRTQ_AVAIL_BYTES(c->size));
	memset(vq->used, 0, VIRTQ_USED_BYTES(c->size));
	for (unsigned i = 0; i < c->size; i++) {
		vq->slots[i].next = (uint16_t)(i + 1 < c->size ? i + 1 : NONE);
		vq->slots[i].table = NONE;
	}
	vq->free_head = 0;
	vq->num_free = c->size;
	if (c->indirect) {
		vq->ind = c->indirect;
		vq->ind_addr = c->indirect_addr;
		vq->ind_tables = c->indirect_tables;
		vq->ind_len = c->indirect_len;
		vq->ind_threshold = c->indirect_threshold;
		vq->ind_free = (uint16_t *)(void *)(vq->slots + c->size);
		for (unsigned i = 0; i < c->indirect_tables; i++)
			vq->ind_free[i] = (uint16_t)(c->indirect_tables - 1 -
						     i);
		vq->ind_nfree = c->indirect_tables;
		memset(vq->ind, 0,
		       (size_t)c->indirect_tables * c->indirect_len *
			       sizeof(struct virtq_desc));
	}
	*out = vq;
	return 0;
}

void virtq_destroy(struct virtq *vq)
{
	free(vq);
}

unsigned virtq_size(const struct virtq *vq)
{
	return vq->size;
}

unsigned virtq_num_free(const struct virtq *vq)
{
	return vq->num_free;
}

bool virtq_is_broken(const struct virtq *vq)
{
	return vq->broken;
}

static void fill_desc(struct virtq_desc *d, const struct virtq_buf *b,
		      uint16_t flags, uint16_t next)
{
	d->addr = virtio_cpu_le64(b->addr);
	d->len = virtio_cpu_le32(b->len);
	d->flags = virtio_cpu_le16(flags);
	d->next = virtio_cpu_le16(next);
}

int virtq_add(struct virtq *vq, const struct virtq_buf *bufs, unsigned n,
	      void *cookie)
{
	uint64_t total = 0, writable = 0;
	bool seen_write = false, indirect;
	uint16_t head, cur, prev = NONE;
	unsigned slot;

	if (vq->broken)
		return -EIO;
	if (!bufs || !n || !cookie)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		/* §2.7.4.2: readable elements before writable ones */
		if (seen_write && !bufs[i].write)
			return -EINVAL;
		seen_write = bufs[i].write;
		total += bufs[i].len;
		if (bufs[i].write)
			writable += bufs[i].len;
	}
	/* §2.7.5: a chain must not be longer than 2^32 bytes in total */
	if (total > (uint64_t)1 << 32)
		return -EINVAL;
	/*
	 * §2.7.5.3.1: no chain longer than the queue size, indirect ones
	 * included (DPDK's vhost rejects a larger table).
	 */
	if (n > vq->size)
		return -EINVAL;
	indirect = vq->ind_nfree && n >= 2 && n <= vq->ind_len &&
		   (n > vq->ind_threshold || n > vq->num_free);
	if (vq->num_free < (indirect ? 1 : n))
		return -ENOSPC;

	head = vq->free_head;
	if (indirect) {
		uint16_t t = vq->ind_free[--vq->ind_nfree];
		struct virtq_desc *tab = vq->ind + (size_t)t * vq->ind_len;
		struct virtq_buf ref;

		/* §2.7.5.3.1: indirect entries chain by index in the table */
		for (unsigned i = 0; i < n; i++)
			fill_desc(&tab[i], &bufs[i],
				  (uint16_t)((bufs[i].write ?
						      VIRTQ_DESC_F_WRITE :
						      0) |
					     (i + 1 < n ? VIRTQ_DESC_F_NEXT :
							  0)),
				  (uint16_t)(i + 1 < n ? i + 1 : 0));
		ref.addr = vq->ind_addr + (uint64_t)t * vq->ind_len *
						  sizeof(struct virtq_desc);
		ref.len = (uint32_t)(n * sizeof(struct virtq_desc));
		ref.write = false;
		/* §2.7.5.3.1: INDIRECT alone, never with NEXT or WRITE */
		fill_desc(&vq->desc[head], &ref, VIRTQ_DESC_F_INDIRECT, 0);
		vq->free_head = vq->slots[head].next;
		vq->slots[head].next = NONE;
		vq->slots[head].ndesc = 1;
		vq->slots[head].table = t;
		vq->num_free--;
	} else {
		cur = head;
		for (unsigned i = 0; i < n; i++) {
			uint16_t nxt = vq->slots[cur].next;

			fill_desc(&vq->desc[cur], &bufs[i],
				  (uint16_t)((bufs[i].write ?
						      VIRTQ_DESC_F_WRITE :
						      0) |
					     (i + 1 < n ? VIRTQ_DESC_F_NEXT :
							  0)),
				  i + 1 < n ? nxt : 0);
			prev = cur;
			cur = nxt;
		}
		vq->free_head = cur;
		vq->slots[prev].next = NONE;
		vq->slots[head].ndesc = (uint16_t)n; /* n <= size <= 32768 */
		vq->slots[head].table = NONE;
		vq->num_free -= n;
	}
	vq->slots[head].cookie = cookie;
	vq->slots[head].writable = writable;
	vq->outstanding++;

	slot = vq->avail_idx & (vq->size - 1);
	store16(&vq->avail->ring[slot], head);
	vq->avail_idx++;
	return head;
}

void virtq_publish(struct virtq *vq)
{
	/* §2.7.13.2: ring entry and descriptors before the index */
	store16_release(&vq->avail->idx, vq->avail_idx);
}

bool virtq_kick_prepare(struct virtq *vq)
{
	uint16_t old = vq->kicked_idx, now = vq->avail_idx;

	vq->kicked_idx = now;
	if (old == now)
		return false;
	/* §2.7.13.3.1: the index store before reading the suppression */
	full_fence();
	if (vq->event_idx)
		return virtq_need_event(load16(avail_event_field(vq->used,
								 vq->size)),
					now, old);
	return !(load16(&vq->used->flags) & VIRTQ_USED_F_NO_NOTIFY);
}

bool virtq_has_used(const struct virtq *vq)
{
	return load16_acquire(&vq->used->idx) != vq->last_used;
}

/* Returns chain HEAD's descriptors (and table) to the free lists. */
static void free_chain(struct virtq *vq, uint16_t head)
{
	struct virtq_slot *s = &vq->slots[head];
	unsigned ndesc = s->ndesc;
	uint16_t last = head;

	for (unsigned i = 1; i < ndesc; i++)
		last = vq->slots[last].next;
	vq->slots[last].next = vq->free_head;
	vq->free_head = head;
	vq->num_free += ndesc;
	if (s->table != NONE)
		vq->ind_free[vq->ind_nfree++] = s->table;
	s->table = NONE;
	s->cookie = NULL;
	s->writable = 0;
	vq->outstanding--;
}

int virtq_get_used(struct virtq *vq, void **cookie, uint32_t *len)
{
	const struct virtq_used_elem *e;
	uint16_t idx, pending;
	uint32_t id, ulen;

	if (cookie)
		*cookie = NULL;
	if (len)
		*len = 0;
	if (vq->broken)
		return -EIO;
	idx = load16_acquire(&vq->used->idx);
	pending = (uint16_t)(idx - vq->last_used);
	if (!pending)
		return 0;
	/* the device cannot have used more chains than we gave it */
	if (pending > vq->outstanding)
		goto corrupt;
	e = &vq->used->ring[vq->last_used & (vq->size - 1)];
	id = virtio_cpu_le32(__atomic_load_n(&e->id, __ATOMIC_RELAXED));
	ulen = virtio_cpu_le32(__atomic_load_n(&e->len, __ATOMIC_RELAXED));
	if (id >= vq->size || !vq->slots[id].cookie)
		goto corrupt;
	/* §2.7.8: len counts bytes written into device-writable buffers */
	if (ulen > vq->slots[id].writable)
		goto corrupt;
	if (cookie)
		*cookie = vq->slots[id].cookie;
	if (len)
		*len = ulen;
	free_chain(vq, (uint16_t)id);
	vq->last_used++;
	/*
	 * With interrupts enabled, move used_event along so the device
	 * interrupts for the next chain (§2.7.10), unless disabled.  The
	 * fence orders that store before the next used->idx load: without
	 * it the device can miss the new used_event while we miss its new
	 * idx, and nobody wakes up (Linux: virtio_store_mb()).
	 */
	if (vq->event_idx && !(vq->avail_flags & VIRTQ_AVAIL_F_NO_INTERRUPT)) {
		store16(used_event_field(vq->avail, vq->size), vq->last_used);
		full_fence();
	}
	return 1;
corrupt:
	vq->broken = true;
	return -EIO;
}

void virtq_disable_interrupts(struct virtq *vq)
{
	vq->avail_flags |= VIRTQ_AVAIL_F_NO_INTERRUPT;
	if (vq->event_idx)
		/* an index the device has already passed: no interrupt */
		store16(used_event_field(vq->avail, vq->size),
			(uint16_t)(vq->last_used - 1));
	else
		store16(&vq->avail->flags, vq->avail_flags);
}

bool virtq_enable_interrupts(struct virtq *vq)
{
	vq->avail_flags &= (uint16_t)~VIRTQ_AVAIL_F_NO_INTERRUPT;
	if (vq->event_idx)
		store16(used_event_field(vq->avail, vq->size), vq->last_used);
	else
		store16(&vq->avail->flags, vq->avail_flags);
	/* §2.7.13.4: publish the request before re-checking the ring */
	full_fence();
	return virtq_has_used(vq);
}

int virtq_detach_unused(struct virtq *vq, void **cookie)
{
	if (cookie)
		*cookie = NULL;
	for (unsigned i = 0; i < vq->size; i++) {
		if (vq->slots[i].cookie) {
			if (cookie)
				*cookie = vq->slots[i].cookie;
			free_chain(vq, (uint16_t)i);
			return 1;
		}
	}
	return 0;
}

/* ---- device side ---- */

struct virtq_device {
	unsigned size;
	bool event_idx;
	bool notify_enabled;
	const struct virtq_desc *desc;
	const struct virtq_avail *avail;
	struct virtq_used *used;
	virtq_map_fn map;
	void *map_ctx;
	uint16_t last_avail;
	uint16_t used_idx;    /* our copy; used->idx after flush */
	uint16_t flushed_idx; /* used->idx at the last flush */
};

int virtq_device_create(const struct virtq_device_config *c,
			struct virtq_device **out)
{
	struct virtq_device *d;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!c || !is_pow2(c->size) || c->size > VIRTQ_MAX_SIZE || !c->desc ||
	    !c->avail || !c->used || !aligned(c->desc, VIRTQ_DESC_ALIGN) ||
	    !aligned(c->avail, VIRTQ_AVAIL_ALIGN) ||
	    !aligned(c->used, VIRTQ_USED_ALIGN))
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->size = c->size;
	d->event_idx = c->event_idx;
	d->notify_enabled = true;
	d->desc = c->desc;
	d->avail = c->avail;
	d->used = c->used;
	d->map = c->map;
	d->map_ctx = c->map_ctx;
	*out = d;
	return 0;
}

void virtq_device_destroy(struct virtq_device *dev)
{
	free(dev);
}

/* Reads a descriptor from shared memory once (the driver may race). */
static struct virtq_desc read_desc(const struct virtq_desc *p)
{
	struct virtq_desc d;

	memcpy(&d, p, sizeof(d));
	d.addr = virtio_cpu_le64(d.addr);
	d.len = virtio_cpu_le32(d.len);
	d.flags = virtio_cpu_le16(d.flags);
	d.next = virtio_cpu_le16(d.next);
	return d;
}

/*
 * Walks a chain in TABLE (COUNT entries) from FIRST.  Bounded by COUNT
 * steps, so a loop is an error rather than a hang (§2.7.5.2).  With IND
 * (the ring's own table) a descriptor with INDIRECT ends the walk: it is
 * stored in *IND and 1 is returned; without it INDIRECT is an error.
 */
static int walk(const struct virtq_desc *table, unsigned count, unsigned first,
		struct virtq_buf *bufs, unsigned max, unsigned *n,
		bool *seen_write, struct virtq_desc *ind)
{
	unsigned i = first, steps = 0;

	for (;;) {
		struct virtq_desc d;

		if (i >= count || ++steps > count)
			return -EIO;
		d = read_desc(&table[i]);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			/* §2.7.5.3.1: one table per descriptor, no nesting */
			if (!ind)
				return -EIO;
			*ind = d;
			return 1;
		}
		if (*n >= max)
			return -EIO;
		if (*seen_write && !(d.flags & VIRTQ_DESC_F_WRITE))
			return -EIO;
		*seen_write = d.flags & VIRTQ_DESC_F_WRITE;
		bufs[*n].addr = d.addr;
		bufs[*n].len = d.len;
		bufs[*n].write = *seen_write;
		(*n)++;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		i = d.next;
	}
}

int virtq_device_pop(struct virtq_device *dev, uint16_t *head,
		     struct virtq_buf *bufs, unsigned max, unsigned *n)
{
	uint16_t idx, h;
	struct virtq_desc d;
	bool seen_write = false;
	int rc;

	*n = 0;
	idx = load16_acquire(&dev->avail->idx);
	if (idx == dev->last_avail)
		return 0;
	if ((uint16_t)(idx - dev->last_avail) > dev->size)
		return -EIO;
	h = load16(&dev->avail->ring[dev->last_avail & (dev->size - 1)]);
	if (h >= dev->size)
		return -EIO;
	/*
	 * §2.7.5.3.2: zero or more direct descriptors, then at most one
	 * INDIRECT one, whose WRITE flag is ignored.
	 */
	rc = walk(dev->desc, dev->size, h, bufs, max, n, &seen_write, &d);
	if (rc == 1) {
		const struct virtq_desc *tab;

		/* §2.7.5.3.1: no NEXT with INDIRECT; a whole table */
		if ((d.flags & VIRTQ_DESC_F_NEXT) || !d.len ||
		    d.len % sizeof(struct virtq_desc) || !dev->map)
			return -EIO;
		tab = dev->map(dev->map_ctx, d.addr, d.len);
		if (!tab)
			return -EIO;
		rc = walk(tab, d.len / sizeof(struct virtq_desc), 0, bufs, max,
			  n, &seen_write, NULL);
	}
	if (rc)
		return rc;
	dev->last_avail++;
	*head = h;
	/*
	 * §2.7.10: ask to be told about the next chain; the fence orders
	 * the store before the next avail->idx load (see virtq_get_used()).
	 */
	if (dev->event_idx && dev->notify_enabled) {
		store16(avail_event_field(dev->used, dev->size),
			dev->last_avail);
		full_fence();
	}
	return 1;
}

void virtq_device_push(struct virtq_device *dev, uint16_t head, uint32_t len)
{
	struct virtq_used_elem *e =
		&dev->used->ring[dev->used_idx & (dev->size - 1)];

	__atomic_store_n(&e->id, virtio_cpu_le32(head), __ATOMIC_RELAXED);
	__atomic_store_n(&e->len, virtio_cpu_le32(len), __ATOMIC_RELAXED);
	dev->used_idx++;
}

bool virtq_device_flush(struct virtq_device *dev)
{
	uint16_t old = dev->flushed_idx, now = dev->used_idx;

	store16_release(&dev->used->idx, now);
	dev->flushed_idx = now;
	if (old == now)
		return false;
	full_fence();
	if (dev->event_idx)
		return virtq_need_event(load16(&dev->avail->ring[dev->size]),
					now, old);
	return !(load16(&dev->avail->flags) & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

void virtq_device_disable_notify(struct virtq_device *dev)
{
	dev->notify_enabled = false;
	if (!dev->event_idx)
		store16(&dev->used->flags, VIRTQ_USED_F_NO_NOTIFY);
}

bool virtq_device_enable_notify(struct virtq_device *dev)
{
	dev->notify_enabled = true;
	if (dev->event_idx)
		store16(avail_event_field(dev->used, dev->size),
			dev->last_avail);
	else
		store16(&dev->used->flags, 0);
	full_fence();
	return load16_acquire(&dev->avail->idx) != dev->last_avail;
}
