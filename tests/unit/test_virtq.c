/*
 * test_virtq.c: the split virtqueue, driver side against device side.
 *
 * Covers the Aero reference suites (virtqueue_split_test.c, 18 cases,
 * and the stress test) with our stricter contract: a device that writes
 * a bad used element breaks the queue (-EIO, nothing reclaimed) instead
 * of being skipped, as Linux's BAD_RING does.  The randomized part runs
 * the driver against the device side for >= 100k chains in each of the
 * four EVENT_IDX x indirect configurations, starting near index 0xFFF0,
 * with out-of-order completion, and checks after every step that no
 * notification or interrupt was lost and the bookkeeping adds up.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness.h"
#include "virtio/virtq.h"

struct rings {
	unsigned size;
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	struct virtq_desc *pool;
	unsigned tables, tlen;
	struct virtq *vq;
	struct virtq_device *dev;
};

static const void *map_pool(void *ctx, uint64_t addr, uint32_t len)
{
	const struct rings *r = ctx;
	uint64_t base = (uintptr_t)r->pool;
	uint64_t size = (uint64_t)r->tables * r->tlen * sizeof(*r->pool);

	if (!r->pool || addr < base || addr - base > size ||
	    len > size - (addr - base))
		return NULL;
	return (const void *)(uintptr_t)addr;
}

static void *zalloc_aligned(size_t align, size_t size)
{
	size_t rounded = (size + align - 1) / align * align;
	void *p = aligned_alloc(align, rounded);

	assert(p);
	memset(p, 0xCC, rounded); /* create must clear it */
	return p;
}

static void rings_free(struct rings *r)
{
	virtq_destroy(r->vq);
	virtq_device_destroy(r->dev);
	free(r->desc);
	free(r->avail);
	free(r->used);
	free(r->pool);
	memset(r, 0, sizeof(*r));
}

static void rings_init(struct rings *r, unsigned size, bool event_idx,
		       unsigned tables, unsigned tlen, unsigned threshold)
{
	struct virtq_config c;
	struct virtq_device_config d;

	memset(r, 0, sizeof(*r));
	r->size = size;
	r->desc = zalloc_aligned(16, VIRTQ_DESC_BYTES(size));
	r->avail = zalloc_aligned(2, VIRTQ_AVAIL_BYTES(size));
	r->used = zalloc_aligned(4, VIRTQ_USED_BYTES(size));
	r->tables = tables;
	r->tlen = tlen;
	if (tables)
		r->pool = zalloc_aligned(16, (size_t)tables * tlen * 16);
	memset(&c, 0, sizeof(c));
	c.size = size;
	c.event_idx = event_idx;
	c.desc = r->desc;
	c.avail = r->avail;
	c.used = r->used;
	c.indirect = r->pool;
	c.indirect_addr = (uintptr_t)r->pool;
	c.indirect_tables = tables;
	c.indirect_len = tlen;
	c.indirect_threshold = threshold;
	CHECK_EQ_INT(0, virtq_create(&c, &r->vq));
	memset(&d, 0, sizeof(d));
	d.size = size;
	d.event_idx = event_idx;
	d.desc = r->desc;
	d.avail = r->avail;
	d.used = r->used;
	d.map = map_pool;
	d.map_ctx = r;
	CHECK_EQ_INT(0, virtq_device_create(&d, &r->dev));
}

static uint16_t le16_at(const uint16_t *p)
{
	return virtio_le16(p);
}

static uint16_t *used_event(struct rings *r)
{
	return &r->avail->ring[r->size];
}

static uint16_t *avail_event(struct rings *r)
{
	return (uint16_t *)(void *)&r->used->ring[r->size];
}

/* One buffer through both sides; returns the head used. */
static int round_trip(struct rings *r, uint32_t len)
{
	struct virtq_buf b = { 0x1000, 64, true }, got[4];
	uint16_t head;
	unsigned n;
	void *cookie;
	uint32_t ulen;
	int h = virtq_add(r->vq, &b, 1, r);

	if (h < 0)
		return h;
	virtq_publish(r->vq);
	virtq_kick_prepare(r->vq);
	if (virtq_device_pop(r->dev, &head, got, 4, &n) != 1)
		return -100;
	virtq_device_push(r->dev, head, len);
	virtq_device_flush(r->dev);
	if (virtq_get_used(r->vq, &cookie, &ulen) != 1 || cookie != r ||
	    ulen != len)
		return -101;
	return h;
}

/* ---- creation ---- */

static void test_create_validation(void)
{
	struct rings r;
	struct virtq_config c;
	struct virtq *vq = (struct virtq *)1;
	static const unsigned bad_sizes[] = { 0, 3, 6, 100, 65536, 65535 };

	rings_init(&r, 8, false, 0, 0, 0);
	c = (struct virtq_config){
		.size = 8, .desc = r.desc, .avail = r.avail, .used = r.used
	};
	for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		c.size = bad_sizes[i];
		CHECK_EQ_INT(-EINVAL, virtq_create(&c, &vq));
		CHECK(vq == NULL);
	}
	c.size = 8;
	c.desc = (struct virtq_desc *)(void *)((char *)r.desc + 8);
	CHECK_EQ_INT(-EINVAL, virtq_create(&c, &vq));
	c.desc = r.desc;
	c.avail = (struct virtq_avail *)(void *)((char *)r.avail + 1);
	CHECK_EQ_INT(-EINVAL, virtq_create(&c, &vq));
	c.avail = r.avail;
	c.used = (struct virtq_used *)(void *)((char *)r.used + 2);
	CHECK_EQ_INT(-EINVAL, virtq_create(&c, &vq));
	c.used = NULL;
	CHECK_EQ_INT(-EINVAL, virtq_create(&c, &vq));
	c.used = r.used;
	/* indirect pool shape */
	c.indirect = r.desc;
	c.indirect_addr = 0x1000;
	c.indirect_tables = 1;
	c.indirect_len = 1;
	CHECK_EQ_INT(-EINVAL, virtq_create(&c, &vq));
	c.indirect_len = 4;
	c.indirect_addr = 0x1008;
	CHECK_EQ_INT(-EINVAL, virtq_create(&c, &vq));
	c.indirect_addr = 0x1000;
	c.indirect_tables = 0;
	CHECK_EQ_INT(-EINVAL, virtq_create(&c, &vq));
	CHECK_EQ_INT(-EINVAL, virtq_create(NULL, &vq));
	CHECK_EQ_INT(-EINVAL, virtq_create(&c, NULL));
	/* the device side checks the same */
	{
		struct virtq_device_config d = {
			.size = 12,
			.desc = r.desc,
			.avail = r.avail,
			.used = r.used,
		};
		struct virtq_device *dev = (struct virtq_device *)1;

		CHECK_EQ_INT(-EINVAL, virtq_device_create(&d, &dev));
		CHECK(dev == NULL);
		d.size = 8;
		d.used = (struct virtq_used *)(void *)((char *)r.used + 2);
		CHECK_EQ_INT(-EINVAL, virtq_device_create(&d, &dev));
		CHECK_EQ_INT(-EINVAL, virtq_device_create(NULL, &dev));
		d.used = r.used;
		CHECK_EQ_INT(-EINVAL, virtq_device_create(&d, NULL));
	}
	rings_free(&r);
}

static void test_create_clears_rings(void)
{
	struct rings r;

	rings_init(&r, 8, true, 2, 4, 0);
	CHECK_EQ_UINT(0, le16_at(&r.avail->idx));
	CHECK_EQ_UINT(0, le16_at(&r.used->idx));
	CHECK_EQ_UINT(0, le16_at(used_event(&r)));
	CHECK_EQ_UINT(0, le16_at(avail_event(&r)));
	CHECK_EQ_UINT(0, r.desc[7].flags);
	CHECK_EQ_UINT(0, r.pool[7].addr);
	CHECK_EQ_UINT(8, virtq_num_free(r.vq));
	CHECK_EQ_UINT(8, virtq_size(r.vq));
	rings_free(&r);
}

/* ---- basic operation ---- */

/* Reference: direct 3-SG round trip, checked in shared memory. */
static void test_direct_round_trip(void)
{
	struct rings r;
	struct virtq_buf b[3] = {
		{ 0x10000, 16, false },
		{ 0x20000, 512, false },
		{ 0x30000, 1, true },
	};
	struct virtq_buf got[8];
	uint16_t head, d;
	unsigned n;
	void *cookie;
	uint32_t len;
	int h;

	rings_init(&r, 8, false, 0, 0, 0);
	h = virtq_add(r.vq, b, 3, &b);
	CHECK_EQ_INT(0, h);
	CHECK_EQ_UINT(5, virtq_num_free(r.vq));
	/* not visible before publish */
	CHECK_EQ_INT(0, virtq_device_pop(r.dev, &head, got, 8, &n));
	virtq_publish(r.vq);
	CHECK_EQ_UINT(1, le16_at(&r.avail->idx));
	CHECK_EQ_UINT(0, le16_at(&r.avail->ring[0]));
	d = (uint16_t)h;
	for (int i = 0; i < 3; i++) {
		CHECK_EQ_UINT(b[i].addr, virtio_le64(&r.desc[d].addr));
		CHECK_EQ_UINT(b[i].len, virtio_le32(&r.desc[d].len));
		CHECK_EQ_UINT((i < 2 ? VIRTQ_DESC_F_NEXT : 0) |
				      (i == 2 ? VIRTQ_DESC_F_WRITE : 0),
			      le16_at(&r.desc[d].flags));
		d = le16_at(&r.desc[d].next);
	}
	CHECK(virtq_kick_prepare(r.vq));
	CHECK(!virtq_kick_prepare(r.vq)); /* nothing new */
	CHECK_EQ_INT(1, virtq_device_pop(r.dev, &head, got, 8, &n));
	CHECK_EQ_UINT(h, head);
	CHECK_EQ_UINT(3, n);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ_UINT(b[i].addr, got[i].addr);
		CHECK_EQ_UINT(b[i].len, got[i].len);
		CHECK_EQ_INT(b[i].write, got[i].write);
	}
	CHECK_EQ_INT(0, virtq_get_used(r.vq, &cookie, &len));
	virtq_device_push(r.dev, head, 1);
	CHECK(!virtq_has_used(r.vq)); /* not before flush */
	CHECK(virtq_device_flush(r.dev));
	CHECK(!virtq_device_flush(r.dev)); /* nothing new */
	CHECK(virtq_has_used(r.vq));
	CHECK_EQ_UINT(1, le16_at(&r.used->idx));
	CHECK_EQ_INT(1, virtq_get_used(r.vq, &cookie, &len));
	CHECK(cookie == &b);
	CHECK_EQ_UINT(1, len);
	CHECK_EQ_UINT(8, virtq_num_free(r.vq));
	CHECK_EQ_INT(0, virtq_get_used(r.vq, &cookie, &len));
	rings_free(&r);
}

static void test_add_rejects(void)
{
	struct rings r;
	struct virtq_buf rw[2] = { { 1, 1, true }, { 2, 1, false } };
	struct virtq_buf big[2] = { { 1, 0xFFFFFFFF, false }, { 2, 2, true } };
	struct virtq_buf many[9];
	int cookie;

	rings_init(&r, 8, false, 0, 0, 0);
	memset(many, 0, sizeof(many));
	CHECK_EQ_INT(-EINVAL, virtq_add(r.vq, rw, 2, &cookie)); /* W,R */
	CHECK_EQ_INT(-EINVAL, virtq_add(r.vq, rw, 1, NULL));
	CHECK_EQ_INT(-EINVAL, virtq_add(r.vq, rw, 0, &cookie));
	CHECK_EQ_INT(-EINVAL, virtq_add(r.vq, NULL, 1, &cookie));
	CHECK_EQ_INT(-EINVAL, virtq_add(r.vq, big, 2, &cookie)); /* > 4G */
	big[1].len = 1; /* exactly 2^32 is allowed */
	CHECK_EQ_INT(0, virtq_add(r.vq, big, 2, &cookie));
	CHECK_EQ_INT(-EINVAL, virtq_add(r.vq, many, 9, &cookie));
	CHECK_EQ_UINT(6, virtq_num_free(r.vq));
	CHECK(virtq_add(r.vq, many, 6, &cookie) >= 0);
	CHECK_EQ_INT(-ENOSPC, virtq_add(r.vq, many, 1, &cookie));
	CHECK_EQ_UINT(0, virtq_num_free(r.vq));
	rings_free(&r);
}

/* Reference NeedEvent table (§2.7.10 vring_need_event). */
static void test_need_event(void)
{
	CHECK(virtq_need_event(0, 1, 0));
	CHECK(!virtq_need_event(1, 1, 0));
	CHECK(!virtq_need_event(0, 0, 0));
	CHECK(virtq_need_event(0xFFFF, 1, 0xFFFE));
	CHECK(virtq_need_event(0, 1, 0xFFFE));
	CHECK(!virtq_need_event(1, 1, 0xFFFE));
	CHECK(virtq_need_event(0xFFFE, 0xFFFF, 0xFFFE));
	CHECK(!virtq_need_event(5, 5, 5));
}

static void test_kick_no_event_idx(void)
{
	struct rings r;
	struct virtq_buf b = { 1, 1, false };
	int c;

	rings_init(&r, 8, false, 0, 0, 0);
	virtq_add(r.vq, &b, 1, &c);
	virtq_publish(r.vq);
	virtio_put_le16(&r.used->flags, VIRTQ_USED_F_NO_NOTIFY);
	CHECK(!virtq_kick_prepare(r.vq));
	virtq_add(r.vq, &b, 1, &c);
	virtq_publish(r.vq);
	virtio_put_le16(&r.used->flags, 0);
	CHECK(virtq_kick_prepare(r.vq));
	/* the device side sets and clears the flag itself */
	virtq_device_disable_notify(r.dev);
	CHECK_EQ_UINT(VIRTQ_USED_F_NO_NOTIFY, le16_at(&r.used->flags));
	CHECK(virtq_device_enable_notify(r.dev)); /* 2 pending */
	CHECK_EQ_UINT(0, le16_at(&r.used->flags));
	rings_free(&r);
}

/* Reference: kick with avail_event 0, then 2. */
static void test_kick_event_idx(void)
{
	struct rings r;
	struct virtq_buf b = { 1, 1, false };
	int c;

	rings_init(&r, 8, true, 0, 0, 0);
	virtq_add(r.vq, &b, 1, &c);
	virtq_publish(r.vq);
	CHECK(virtq_kick_prepare(r.vq)); /* 0 -> 1 passes 0 */
	virtq_add(r.vq, &b, 1, &c);
	virtq_publish(r.vq);
	CHECK(!virtq_kick_prepare(r.vq)); /* 1 -> 2 does not */
	virtio_put_le16(avail_event(&r), 2);
	virtq_add(r.vq, &b, 1, &c);
	virtq_add(r.vq, &b, 1, &c);
	virtq_publish(r.vq);
	CHECK(virtq_kick_prepare(r.vq)); /* 2 -> 4 passes 2 */
	/* NO_NOTIFY is ignored with EVENT_IDX */
	virtio_put_le16(&r.used->flags, VIRTQ_USED_F_NO_NOTIFY);
	virtio_put_le16(avail_event(&r), 4);
	virtq_add(r.vq, &b, 1, &c);
	virtq_publish(r.vq);
	CHECK(virtq_kick_prepare(r.vq));
	rings_free(&r);
}

/*
 * §2.7.10, device side: while the device has notifications off, popping
 * leaves avail_event alone, so the driver does not kick; enabling moves
 * it to the next chain and reports the one already waiting.
 */
static void test_device_notify_event_idx(void)
{
	struct rings r;
	struct virtq_buf b = { 1, 1, false }, got[2];
	uint16_t head;
	unsigned n;
	int c;

	rings_init(&r, 8, true, 0, 0, 0);
	virtq_device_disable_notify(r.dev);
	CHECK_EQ_UINT(0, le16_at(&r.used->flags)); /* §2.7.10: 0 */
	virtq_add(r.vq, &b, 1, &c);
	virtq_publish(r.vq);
	CHECK(virtq_kick_prepare(r.vq)); /* 0 -> 1 passes 0 */
	CHECK_EQ_INT(1, virtq_device_pop(r.dev, &head, got, 2, &n));
	CHECK_EQ_UINT(0, le16_at(avail_event(&r)));
	virtq_add(r.vq, &b, 1, &c);
	virtq_publish(r.vq);
	CHECK(!virtq_kick_prepare(r.vq));
	CHECK(virtq_device_enable_notify(r.dev));
	CHECK_EQ_UINT(1, le16_at(avail_event(&r)));
	CHECK_EQ_INT(1, virtq_device_pop(r.dev, &head, got, 2, &n));
	CHECK_EQ_UINT(2, le16_at(avail_event(&r)));
	rings_free(&r);
}

/*
 * Reference: indirect with 3 SG.  The reference uses queue size 2, but
 * §2.7.5.3.1 forbids a chain longer than the queue, indirect or not.
 */
static void test_indirect(void)
{
	struct rings r;
	struct virtq_buf b[3] = { { 0xA000, 16, false },
				  { 0xB000, 32, true },
				  { 0xC000, 1, true } };
	struct virtq_buf got[8];
	uint16_t head;
	unsigned n;
	void *cookie;
	uint32_t len;
	int h;

	rings_init(&r, 2, false, 1, 4, 0);
	CHECK_EQ_INT(-EINVAL, virtq_add(r.vq, b, 3, b));
	CHECK_EQ_UINT(2, virtq_num_free(r.vq));
	rings_free(&r);
	rings_init(&r, 4, false, 1, 4, 0);
	h = virtq_add(r.vq, b, 3, b);
	CHECK(h >= 0);
	CHECK_EQ_UINT(3, virtq_num_free(r.vq));
	CHECK_EQ_UINT(VIRTQ_DESC_F_INDIRECT, le16_at(&r.desc[h].flags));
	CHECK_EQ_UINT(3 * 16, virtio_le32(&r.desc[h].len));
	CHECK_EQ_UINT((uintptr_t)r.pool, virtio_le64(&r.desc[h].addr));
	for (int i = 0; i < 3; i++) {
		CHECK_EQ_UINT(b[i].addr, virtio_le64(&r.pool[i].addr));
		CHECK_EQ_UINT((i < 2 ? VIRTQ_DESC_F_NEXT : 0) |
				      (b[i].write ? VIRTQ_DESC_F_WRITE : 0),
			      le16_at(&r.pool[i].flags));
		if (i < 2)
			CHECK_EQ_UINT(i + 1, le16_at(&r.pool[i].next));
	}
	virtq_publish(r.vq);
	CHECK_EQ_INT(1, virtq_device_pop(r.dev, &head, got, 8, &n));
	CHECK_EQ_UINT(3, n);
	CHECK_EQ_UINT(0xC000, got[2].addr);
	CHECK(got[1].write && got[2].write && !got[0].write);
	virtq_device_push(r.dev, head, 33);
	virtq_device_flush(r.dev);
	CHECK_EQ_INT(1, virtq_get_used(r.vq, &cookie, &len));
	CHECK(cookie == b);
	CHECK_EQ_UINT(33, len);
	CHECK_EQ_UINT(4, virtq_num_free(r.vq));
	/* the table is free again: a second indirect chain works */
	h = virtq_add(r.vq, b, 3, b);
	CHECK(h >= 0 && h < 4);
	if (h >= 0 && h < 4)
		CHECK_EQ_UINT(VIRTQ_DESC_F_INDIRECT, le16_at(&r.desc[h].flags));
	rings_free(&r);
}

/* Reference: pool exhausted -> direct chain. */
static void test_indirect_pool_exhausted(void)
{
	struct rings r;
	struct virtq_buf b[3] = { { 1, 1, false },
				  { 2, 1, false },
				  { 3, 1, true } };
	int c, h1, h2, h3;

	rings_init(&r, 8, false, 1, 4, 0);
	h1 = virtq_add(r.vq, b, 3, &c);
	CHECK_EQ_UINT(VIRTQ_DESC_F_INDIRECT, le16_at(&r.desc[h1].flags));
	h2 = virtq_add(r.vq, b, 3, &c);
	CHECK(h2 >= 0);
	CHECK_EQ_UINT(VIRTQ_DESC_F_NEXT, le16_at(&r.desc[h2].flags));
	CHECK_EQ_UINT(4, virtq_num_free(r.vq));
	/* 5 bufs > 4 free and > table length: no room now */
	h3 = virtq_add(r.vq, (struct virtq_buf[5]){ { 0 } }, 5, &c);
	CHECK_EQ_INT(-ENOSPC, h3);
	rings_free(&r);
}

static void test_indirect_policy(void)
{
	struct rings r;
	struct virtq_buf b[12];
	int c, h;

	memset(b, 0, sizeof(b));
	rings_init(&r, 8, false, 4, 12, 3);
	h = virtq_add(r.vq, b, 3, &c); /* <= threshold: direct */
	CHECK_EQ_UINT(VIRTQ_DESC_F_NEXT, le16_at(&r.desc[h].flags));
	h = virtq_add(r.vq, b, 4, &c); /* > threshold: indirect */
	CHECK_EQ_UINT(VIRTQ_DESC_F_INDIRECT, le16_at(&r.desc[h].flags));
	CHECK_EQ_UINT(4, virtq_num_free(r.vq));
	h = virtq_add(r.vq, b, 1, &c); /* single buffer: direct */
	CHECK_EQ_UINT(0, le16_at(&r.desc[h].flags));
	/* 3 bufs, only 3 free: within threshold, direct still fits */
	h = virtq_add(r.vq, b, 3, &c);
	CHECK_EQ_UINT(VIRTQ_DESC_F_NEXT, le16_at(&r.desc[h].flags));
	CHECK_EQ_UINT(0, virtq_num_free(r.vq));
	CHECK_EQ_INT(-ENOSPC, virtq_add(r.vq, b, 2, &c));
	rings_free(&r);
	rings_init(&r, 8, false, 4, 12, 8);
	virtq_add(r.vq, b, 6, &c);     /* 2 left */
	h = virtq_add(r.vq, b, 3, &c); /* > free: indirect */
	CHECK_EQ_UINT(VIRTQ_DESC_F_INDIRECT, le16_at(&r.desc[h].flags));
	/* 12 fits a table but not the queue: §2.7.5.3.1 */
	CHECK_EQ_INT(-EINVAL, virtq_add(r.vq, b, 12, &c));
	CHECK_EQ_UINT(1, virtq_num_free(r.vq));
	CHECK_EQ_INT(-EINVAL,
		     virtq_add(r.vq, (struct virtq_buf[13]){ { 0 } }, 13, &c));
	rings_free(&r);
}

/* Reference: interrupt suppression, flag mode. */
static void test_interrupts_flag_mode(void)
{
	struct rings r;
	int rc;

	rings_init(&r, 8, false, 0, 0, 0);
	virtq_disable_interrupts(r.vq);
	CHECK_EQ_UINT(VIRTQ_AVAIL_F_NO_INTERRUPT, le16_at(&r.avail->flags));
	/* the device sees the flag: no interrupt on flush */
	{
		struct virtq_buf b = { 1, 8, true }, got[2];
		uint16_t head;
		unsigned n;

		virtq_add(r.vq, &b, 1, &r);
		virtq_publish(r.vq);
		virtq_device_pop(r.dev, &head, got, 2, &n);
		virtq_device_push(r.dev, head, 8);
		CHECK(!virtq_device_flush(r.dev));
	}
	/* enabling reports the completion that arrived meanwhile */
	CHECK(virtq_enable_interrupts(r.vq));
	CHECK_EQ_UINT(0, le16_at(&r.avail->flags));
	CHECK_EQ_INT(1, virtq_get_used(r.vq, NULL, NULL));
	CHECK(!virtq_enable_interrupts(r.vq));
	rc = round_trip(&r, 4);
	CHECK(rc >= 0);
	rings_free(&r);
}

/* Reference: interrupt suppression, event index mode. */
static void test_interrupts_event_mode(void)
{
	struct rings r;
	struct virtq_buf b = { 1, 8, true }, got[2];
	uint16_t head;
	unsigned n;

	rings_init(&r, 8, true, 0, 0, 0);
	for (int i = 0; i < 3; i++)
		CHECK(round_trip(&r, 1) >= 0);
	/* each get moved used_event along */
	CHECK_EQ_UINT(3, le16_at(used_event(&r)));
	virtq_disable_interrupts(r.vq);
	CHECK_EQ_UINT(2, le16_at(used_event(&r)));
	CHECK_EQ_UINT(0, le16_at(&r.avail->flags)); /* unused */
	virtq_add(r.vq, &b, 1, &r);
	virtq_publish(r.vq);
	virtq_device_pop(r.dev, &head, got, 2, &n);
	virtq_device_push(r.dev, head, 8);
	CHECK(!virtq_device_flush(r.dev));
	CHECK(virtq_enable_interrupts(r.vq));
	CHECK_EQ_UINT(3, le16_at(used_event(&r)));
	CHECK_EQ_INT(1, virtq_get_used(r.vq, NULL, NULL));
	CHECK_EQ_UINT(4, le16_at(used_event(&r)));
	CHECK(!virtq_enable_interrupts(r.vq));
	/* enabled: the next completion interrupts */
	virtq_add(r.vq, &b, 1, &r);
	virtq_publish(r.vq);
	virtq_device_pop(r.dev, &head, got, 2, &n);
	virtq_device_push(r.dev, head, 8);
	CHECK(virtq_device_flush(r.dev));
	rings_free(&r);
}

/* ---- a device that lies ---- */

/* Reference: outputs are cleared on entry, also when empty. */
static void test_get_used_clears_outputs(void)
{
	struct rings r;
	void *cookie = &r;
	uint32_t len = 77;

	rings_init(&r, 8, false, 0, 0, 0);
	CHECK_EQ_INT(0, virtq_get_used(r.vq, &cookie, &len));
	CHECK(cookie == NULL);
	CHECK_EQ_UINT(0, len);
	rings_free(&r);
}

/* Adds two chains (one writable byte each) that the device popped. */
static void two_outstanding(struct rings *r, uint16_t heads[2])
{
	static int c0, c1;
	struct virtq_buf b = { 1, 1, true }, got[2];
	unsigned n;

	virtq_add(r->vq, &b, 1, &c0);
	virtq_add(r->vq, &b, 1, &c1);
	virtq_publish(r->vq);
	virtq_device_pop(r->dev, &heads[0], got, 2, &n);
	virtq_device_pop(r->dev, &heads[1], got, 2, &n);
}

static void expect_broken(struct rings *r, unsigned free_before)
{
	struct virtq_buf b = { 1, 1, true };
	void *cookie = r;
	uint32_t len = 5;
	unsigned detached = 0;

	CHECK_EQ_INT(-EIO, virtq_get_used(r->vq, &cookie, &len));
	CHECK(cookie == NULL);
	CHECK_EQ_UINT(0, len);
	CHECK(virtq_is_broken(r->vq));
	/* nothing was reclaimed, and the queue stays refused */
	CHECK_EQ_UINT(free_before, virtq_num_free(r->vq));
	CHECK_EQ_INT(-EIO, virtq_add(r->vq, &b, 1, r));
	CHECK_EQ_INT(-EIO, virtq_get_used(r->vq, NULL, NULL));
	/* after reset the driver still gets every buffer back */
	while (virtq_detach_unused(r->vq, &cookie) == 1)
		detached++;
	CHECK_EQ_UINT(r->size - free_before, detached);
	CHECK_EQ_UINT(r->size, virtq_num_free(r->vq));
}

/*
 * Reference: a bad id is skipped with INVALID_PARAMETER.  Here the queue
 * breaks: after one lie nothing in the used ring can be trusted.
 */
static void test_used_bad_id(void)
{
	struct rings r;
	uint16_t heads[2];

	rings_init(&r, 8, false, 0, 0, 0);
	two_outstanding(&r, heads);
	virtq_device_push(r.dev, 8, 0); /* id == size */
	virtq_device_flush(r.dev);
	expect_broken(&r, 6);
	rings_free(&r);
}

static void test_used_id_not_outstanding(void)
{
	struct rings r;
	uint16_t heads[2];

	rings_init(&r, 8, false, 0, 0, 0);
	two_outstanding(&r, heads);
	virtq_device_push(r.dev, heads[0], 0);
	virtq_device_push(r.dev, heads[0], 0); /* completed twice */
	virtq_device_flush(r.dev);
	CHECK_EQ_INT(1, virtq_get_used(r.vq, NULL, NULL));
	expect_broken(&r, 7);
	rings_free(&r);
	/* a free, never-added descriptor index */
	rings_init(&r, 8, false, 0, 0, 0);
	two_outstanding(&r, heads);
	virtq_device_push(r.dev, 5, 0);
	virtq_device_flush(r.dev);
	expect_broken(&r, 6);
	rings_free(&r);
}

/* Reference: used->idx jumping to 0x100 forces a resync error. */
static void test_used_idx_jump(void)
{
	struct rings r;
	uint16_t heads[2];

	rings_init(&r, 8, false, 0, 0, 0);
	two_outstanding(&r, heads);
	virtio_put_le16(&r.used->idx, 0x100);
	expect_broken(&r, 6);
	rings_free(&r);
	/* one more than outstanding is already too many */
	rings_init(&r, 8, false, 0, 0, 0);
	two_outstanding(&r, heads);
	virtio_put_le16(&r.used->idx, 3);
	expect_broken(&r, 6);
	rings_free(&r);
}

static void test_used_len_too_large(void)
{
	struct rings r;
	uint16_t heads[2];

	rings_init(&r, 8, false, 0, 0, 0);
	two_outstanding(&r, heads);
	virtq_device_push(r.dev, heads[1], 1); /* exactly writable */
	virtq_device_push(r.dev, heads[0], 2); /* one byte more */
	virtq_device_flush(r.dev);
	CHECK_EQ_INT(1, virtq_get_used(r.vq, NULL, NULL));
	expect_broken(&r, 7);
	rings_free(&r);
}

/* The driver never reads back descriptors the device may overwrite. */
static void test_descriptor_scribble_harmless(void)
{
	struct rings r;
	struct virtq_buf b[3] = { { 1, 1, false },
				  { 2, 1, false },
				  { 3, 4, true } };
	struct virtq_buf got[4];
	uint16_t head;
	unsigned n;
	void *cookie;

	rings_init(&r, 4, false, 0, 0, 0);
	virtq_add(r.vq, b, 3, b);
	virtq_publish(r.vq);
	virtq_device_pop(r.dev, &head, got, 4, &n);
	memset(r.desc, 0xFF, VIRTQ_DESC_BYTES(4)); /* hostile device */
	virtq_device_push(r.dev, head, 4);
	virtq_device_flush(r.dev);
	CHECK_EQ_INT(1, virtq_get_used(r.vq, &cookie, NULL));
	CHECK(cookie == b);
	CHECK_EQ_UINT(4, virtq_num_free(r.vq));
	/* the free list is intact: four single buffers fit */
	for (int i = 0; i < 4; i++)
		CHECK(virtq_add(r.vq, b, 1, b) >= 0);
	rings_free(&r);
}

/* ---- order and wrap-around ---- */

static void test_out_of_order(void)
{
	static const int order[4] = { 2, 0, 3, 1 };
	struct rings r;
	struct virtq_buf b = { 1, 100, true }, got[2];
	uint16_t heads[4];
	int cookies[4];
	unsigned n;

	rings_init(&r, 8, false, 0, 0, 0);
	for (int i = 0; i < 4; i++)
		virtq_add(r.vq, &b, 1, &cookies[i]);
	virtq_publish(r.vq);
	for (int i = 0; i < 4; i++)
		CHECK_EQ_INT(1, virtq_device_pop(r.dev, &heads[i], got, 2, &n));
	for (int i = 0; i < 4; i++)
		virtq_device_push(r.dev, heads[order[i]],
				  (uint32_t)order[i] * 10);
	virtq_device_flush(r.dev);
	for (int i = 0; i < 4; i++) {
		void *cookie;
		uint32_t len;

		CHECK_EQ_INT(1, virtq_get_used(r.vq, &cookie, &len));
		CHECK(cookie == &cookies[order[i]]);
		CHECK_EQ_UINT(order[i] * 10, len);
	}
	CHECK_EQ_UINT(8, virtq_num_free(r.vq));
	rings_free(&r);
}

/* Reference: indices wrap from 0xFFFE through 0. */
static void test_index_wrap(void)
{
	struct rings r;

	rings_init(&r, 8, true, 0, 0, 0);
	for (unsigned i = 0; i < 0xFFFE; i++)
		if (round_trip(&r, 0) < 0) {
			FAIL_AT("round trip %u failed", i);
			break;
		}
	CHECK_EQ_UINT(0xFFFE, le16_at(&r.avail->idx));
	CHECK_EQ_UINT(0xFFFE, le16_at(&r.used->idx));
	for (unsigned i = 0; i < 4; i++)
		CHECK(round_trip(&r, i) >= 0);
	CHECK_EQ_UINT(2, le16_at(&r.avail->idx));
	CHECK_EQ_UINT(2, le16_at(&r.used->idx));
	CHECK_EQ_UINT(2, le16_at(used_event(&r)));
	CHECK_EQ_UINT(2, le16_at(avail_event(&r)));
	CHECK_EQ_UINT(8, virtq_num_free(r.vq));
	rings_free(&r);
}

static void test_detach_unused(void)
{
	struct rings r;
	struct virtq_buf b[2] = { { 1, 1, false }, { 2, 2, true } };
	int cookies[3];
	bool seen[3] = { false, false, false };
	void *cookie;

	rings_init(&r, 8, false, 2, 4, 1);
	for (int i = 0; i < 3; i++)
		virtq_add(r.vq, b, 2, &cookies[i]);
	CHECK_EQ_UINT(4, virtq_num_free(r.vq)); /* 1 + 1 indirect, 2 direct */
	while (virtq_detach_unused(r.vq, &cookie) == 1)
		for (int i = 0; i < 3; i++)
			if (cookie == &cookies[i])
				seen[i] = true;
	CHECK(seen[0] && seen[1] && seen[2]);
	CHECK_EQ_UINT(8, virtq_num_free(r.vq));
	/* both tables are back in the pool */
	for (int i = 0; i < 2; i++) {
		int h = virtq_add(r.vq, b, 2, &cookies[i]);

		CHECK(h >= 0);
		if (h >= 0)
			CHECK_EQ_UINT(VIRTQ_DESC_F_INDIRECT,
				      le16_at(&r.desc[h].flags));
	}
	rings_free(&r);
}

static void test_size_extremes(void)
{
	struct rings r;
	struct virtq_buf b = { 1, 1, false };
	int c;

	rings_init(&r, 1, true, 0, 0, 0);
	for (int i = 0; i < 70000; i++)
		if (round_trip(&r, 0) < 0) {
			FAIL_AT("size 1 round trip %d failed", i);
			break;
		}
	rings_free(&r);
	rings_init(&r, VIRTQ_MAX_SIZE, false, 0, 0, 0);
	for (unsigned i = 0; i < VIRTQ_MAX_SIZE; i++)
		if (virtq_add(r.vq, &b, 1, &c) != (int)i) {
			FAIL_AT("add %u", i);
			break;
		}
	CHECK_EQ_INT(-ENOSPC, virtq_add(r.vq, &b, 1, &c));
	virtq_publish(r.vq);
	CHECK_EQ_UINT(0x8000, le16_at(&r.avail->idx));
	rings_free(&r);
}

/* ---- the device side refuses a bad driver ---- */

static void put_desc(struct virtq_desc *d, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	virtio_put_le64(&d->addr, addr);
	virtio_put_le32(&d->len, len);
	virtio_put_le16(&d->flags, flags);
	virtio_put_le16(&d->next, next);
}

static int pop_one(struct rings *r, uint16_t head_idx, unsigned max)
{
	struct virtq_buf got[64];
	uint16_t head;
	unsigned n;

	virtio_put_le16(&r->avail->ring[0], head_idx);
	virtio_put_le16(&r->avail->idx, 1);
	return virtq_device_pop(r->dev, &head, got, max, &n);
}

/*
 * §2.7.5.3.2: the device MUST take direct descriptors followed by one
 * INDIRECT descriptor (its WRITE flag ignored), the table's buffers
 * after the direct ones.
 */
static void test_device_mixed_chain(struct rings *r)
{
	const uint16_t N = VIRTQ_DESC_F_NEXT, W = VIRTQ_DESC_F_WRITE;
	uint64_t pool = (uintptr_t)r->pool;
	struct virtq_buf got[8];
	uint16_t head = 0xFFFF;
	unsigned n = 0;

	put_desc(&r->desc[3], 0xA0, 10, N, 6);
	put_desc(&r->desc[6], 0xB0, 20, N, 1);
	put_desc(&r->desc[1], pool + 16, 48, VIRTQ_DESC_F_INDIRECT | W, 0);
	put_desc(&r->pool[1], 0xC0, 30, N, 1); /* table index */
	put_desc(&r->pool[2], 0xD0, 40, W | N, 2);
	put_desc(&r->pool[3], 0xE0, 50, W, 0);
	virtio_put_le16(&r->avail->ring[0], 3);
	virtio_put_le16(&r->avail->idx, 1);
	CHECK_EQ_INT(1, virtq_device_pop(r->dev, &head, got, 8, &n));
	CHECK_EQ_UINT(3, head);
	CHECK_EQ_UINT(5, n);
	for (unsigned i = 0; i < 5 && i < n; i++) {
		CHECK_EQ_UINT(0xA0 + 0x10 * i, got[i].addr);
		CHECK_EQ_UINT(10 * (i + 1), got[i].len);
		CHECK_EQ_INT(i >= 3, got[i].write);
	}
	CHECK_EQ_INT(0, virtq_device_pop(r->dev, &head, got, 8, &n));
}

static void test_device_rejects(void)
{
	struct rings r;
	const uint16_t N = VIRTQ_DESC_F_NEXT, W = VIRTQ_DESC_F_WRITE,
		       I = VIRTQ_DESC_F_INDIRECT;
	uint64_t pool;

#define FRESH()                                                                \
	do {                                                                   \
		rings_free(&r);                                                \
		rings_init(&r, 8, false, 2, 4, 0);                             \
		pool = (uintptr_t)r.pool;                                      \
	} while (0)

	rings_init(&r, 8, false, 2, 4, 0);
	pool = (uintptr_t)r.pool;
	/* a sane 2-chain pops */
	put_desc(&r.desc[3], 1, 1, N, 5);
	put_desc(&r.desc[5], 2, 1, W, 0);
	CHECK_EQ_INT(1, pop_one(&r, 3, 64));
	FRESH();
	put_desc(&r.desc[3], 1, 1, N, 3); /* self loop */
	CHECK_EQ_INT(-EIO, pop_one(&r, 3, 64));
	FRESH();
	put_desc(&r.desc[3], 1, 1, N, 4); /* 3 -> 4 -> 3 */
	put_desc(&r.desc[4], 1, 1, N, 3);
	CHECK_EQ_INT(-EIO, pop_one(&r, 3, 64));
	FRESH();
	put_desc(&r.desc[3], 1, 1, N, 8); /* next out of range */
	CHECK_EQ_INT(-EIO, pop_one(&r, 3, 64));
	FRESH();
	CHECK_EQ_INT(-EIO, pop_one(&r, 8, 64)); /* head out of range */
	FRESH();
	put_desc(&r.desc[3], 1, 1, W | N, 4); /* W then R */
	put_desc(&r.desc[4], 1, 1, 0, 0);
	CHECK_EQ_INT(-EIO, pop_one(&r, 3, 64));
	FRESH();
	put_desc(&r.desc[3], 1, 1, N, 4); /* more than max */
	put_desc(&r.desc[4], 1, 1, 0, 0);
	CHECK_EQ_INT(-EIO, pop_one(&r, 3, 1));
	FRESH();
	put_desc(&r.desc[3], pool, 32, I | N, 4); /* INDIRECT|NEXT */
	CHECK_EQ_INT(-EIO, pop_one(&r, 3, 64));
	FRESH();
	put_desc(&r.desc[3], pool, 0, I, 0); /* empty table */
	CHECK_EQ_INT(-EIO, pop_one(&r, 3, 64));
	FRESH();
	put_desc(&r.desc[3], pool, 17, I, 0); /* partial entry */
	CHECK_EQ_INT(-EIO, pop_one(&r, 3, 64));
	FRESH();
	put_desc(&r.desc[3], pool + 4096, 16, I, 0); /* unmapped */
	CHECK_EQ_INT(-EIO, pop_one(&r, 3, 64));
	FRESH();
	put_desc(&r.desc[3], pool, 32, I, 0); /* nested indirect */
	put_desc(&r.pool[0], 1, 1, N, 1);
	put_desc(&r.pool[1], pool, 16, I, 0);
	CHECK_EQ_INT(-EIO, pop_one(&r, 3, 64));
	FRESH();
	put_desc(&r.desc[3], pool, 32, I, 0); /* loop in table */
	put_desc(&r.pool[0], 1, 1, N, 1);
	put_desc(&r.pool[1], 1, 1, N, 0);
	CHECK_EQ_INT(-EIO, pop_one(&r, 3, 64));
	FRESH();
	put_desc(&r.desc[3], pool, 32, I, 0); /* next past table */
	put_desc(&r.pool[0], 1, 1, N, 2);
	CHECK_EQ_INT(-EIO, pop_one(&r, 3, 64));
	FRESH();
	put_desc(&r.desc[3], pool, 32, I, 0); /* good table */
	put_desc(&r.pool[0], 1, 1, N, 1);
	put_desc(&r.pool[1], 1, 1, W, 0);
	CHECK_EQ_INT(1, pop_one(&r, 3, 64));
	FRESH();
	put_desc(&r.desc[3], 1, 1, N, 4); /* chain, then table */
	put_desc(&r.desc[4], pool, 32, I | N, 0);
	CHECK_EQ_INT(-EIO, pop_one(&r, 3, 64)); /* INDIRECT|NEXT */
	FRESH();
	put_desc(&r.desc[3], 1, 1, W | N, 4); /* W, then table R */
	put_desc(&r.desc[4], pool, 16, I, 0);
	put_desc(&r.pool[0], 2, 1, 0, 0);
	CHECK_EQ_INT(-EIO, pop_one(&r, 3, 64));
	FRESH();
	put_desc(&r.desc[3], 1, 1, N, 4); /* table in a table */
	put_desc(&r.desc[4], pool, 16, I, 0);
	put_desc(&r.pool[0], pool + 64, 16, I, 0);
	CHECK_EQ_INT(-EIO, pop_one(&r, 3, 64));
	FRESH();
	put_desc(&r.desc[3], 1, 1, N, 4); /* 2 entries, max 2 */
	put_desc(&r.desc[4], pool, 32, I, 0);
	put_desc(&r.pool[0], 2, 1, N, 1);
	put_desc(&r.pool[1], 3, 1, W, 0);
	CHECK_EQ_INT(-EIO, pop_one(&r, 3, 2));
	FRESH();
	test_device_mixed_chain(&r);
	FRESH();
	virtio_put_le16(&r.avail->idx, 9); /* > a ring ahead */
	{
		struct virtq_buf got[4];
		uint16_t head;
		unsigned n;

		CHECK_EQ_INT(-EIO, virtq_device_pop(r.dev, &head, got, 4, &n));
	}
	rings_free(&r);
#undef FRESH
}

/* ---- randomized driver/device run ---- */

static uint64_t rng = 0xD1B54A32D192ED03ull;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1Dull;
}

static unsigned below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

#define QSZ 16
#define TLEN 24
#define TABLES 6
#define MAXN 24

struct chain {
	bool live;
	bool indirect;
	unsigned n;
	struct virtq_buf bufs[MAXN];
	uint64_t writable;
	uint32_t done_len;
	uint16_t head;
};

struct model {
	struct rings r;
	struct chain chains[QSZ];
	struct chain *by_head[QSZ];
	uint16_t held[QSZ];
	unsigned nheld;
	unsigned num_free, tables_free;
	uint16_t published, popped, pushed, reaped;
	bool dev_active, dev_busy; /* kicked; notifications off */
	bool drv_irq, drv_busy;	   /* interrupted; interrupts off */
	unsigned long completed, kicks, irqs;
	unsigned threshold;
	bool indirect;
};

static struct chain *free_chain_rec(struct model *m)
{
	for (int i = 0; i < QSZ; i++)
		if (!m->chains[i].live)
			return &m->chains[i];
	return NULL;
}

static void op_add(struct model *m)
{
	unsigned batch = 1 + below(4);
	bool added = false;

	for (unsigned k = 0; k < batch; k++) {
		struct chain *c = free_chain_rec(m);
		unsigned n = 1 + below(m->indirect ? MAXN : QSZ + 2);
		unsigned nread = below(n + 1);
		bool ind;
		int expect, h;

		if (!c)
			break;
		memset(c, 0, sizeof(*c));
		c->n = n;
		for (unsigned i = 0; i < n; i++) {
			c->bufs[i].addr = rnd();
			c->bufs[i].len = below(5000);
			c->bufs[i].write = i >= nread;
			if (c->bufs[i].write)
				c->writable += c->bufs[i].len;
		}
		/* what the contract says add must do */
		ind = m->indirect && m->tables_free && n >= 2 && n <= TLEN &&
		      (n > m->threshold || n > m->num_free);
		if (n > QSZ) /* §2.7.5.3.1, even for a table */
			expect = -EINVAL;
		else if (ind)
			expect = m->num_free >= 1 ? 0 : -ENOSPC;
		else
			expect = m->num_free >= n ? 0 : -ENOSPC;
		h = virtq_add(m->r.vq, c->bufs, n, c);
		if (expect < 0) {
			CHECK_EQ_INT(expect, h);
			continue;
		}
		CHECK(h >= 0 && h < QSZ);
		if (h < 0 || h >= QSZ)
			return;
		CHECK_EQ_INT(ind, (le16_at(&m->r.desc[h].flags) &
				   VIRTQ_DESC_F_INDIRECT) != 0);
		CHECK(m->by_head[h] == NULL);
		c->live = true;
		c->indirect = ind;
		c->head = (uint16_t)h;
		m->by_head[h] = c;
		m->num_free -= ind ? 1 : n;
		m->tables_free -= ind;
		added = true;
		m->published++;
	}
	if (!added)
		return;
	virtq_publish(m->r.vq);
	if (virtq_kick_prepare(m->r.vq)) {
		m->kicks++;
		m->dev_active = true;
	}
}

static void op_device_pop(struct model *m)
{
	unsigned want = 1 + below(8);

	if (!m->dev_active)
		return;
	if (!m->dev_busy) {
		virtq_device_disable_notify(m->r.dev);
		m->dev_busy = true;
	}
	while (want--) {
		struct virtq_buf got[MAXN + 1];
		uint16_t head;
		unsigned n;
		int rc = virtq_device_pop(m->r.dev, &head, got, MAXN + 1, &n);
		struct chain *c;

		CHECK(rc >= 0);
		if (rc <= 0)
			return;
		c = head < QSZ ? m->by_head[head] : NULL;
		CHECK(c != NULL);
		if (!c)
			return;
		CHECK_EQ_UINT(c->n, n);
		for (unsigned i = 0; i < n && i < c->n; i++)
			if (got[i].addr != c->bufs[i].addr ||
			    got[i].len != c->bufs[i].len ||
			    got[i].write != c->bufs[i].write)
				FAIL_AT("chain %u buffer %u differs", head, i);
		m->held[m->nheld++] = head;
		m->popped++;
	}
}

static void op_device_idle(struct model *m)
{
	if (!m->dev_active || !m->dev_busy)
		return;
	m->dev_busy = false;
	if (!virtq_device_enable_notify(m->r.dev))
		m->dev_active = false;
}

static void op_device_complete(struct model *m)
{
	unsigned k;

	if (!m->nheld)
		return;
	k = 1 + below(m->nheld);
	while (k--) {
		unsigned at = below(m->nheld);
		uint16_t head = m->held[at];
		struct chain *c = m->by_head[head];

		m->held[at] = m->held[--m->nheld];
		c->done_len = (uint32_t)(rnd() % (c->writable + 1));
		virtq_device_push(m->r.dev, head, c->done_len);
		m->pushed++;
	}
	if (virtq_device_flush(m->r.dev)) {
		m->irqs++;
		m->drv_irq = true;
	}
}

static void op_driver_reap(struct model *m)
{
	unsigned want = 1 + below(8);

	if (!m->drv_irq)
		return;
	if (!m->drv_busy) {
		virtq_disable_interrupts(m->r.vq);
		m->drv_busy = true;
	}
	while (want--) {
		void *cookie;
		uint32_t len;
		int rc = virtq_get_used(m->r.vq, &cookie, &len);
		struct chain *c = cookie;

		CHECK(rc >= 0);
		if (rc <= 0)
			return;
		CHECK(c >= m->chains && c < m->chains + QSZ && c->live);
		if (!(c >= m->chains && c < m->chains + QSZ && c->live))
			return;
		CHECK_EQ_UINT(c->done_len, len);
		c->live = false;
		m->by_head[c->head] = NULL;
		m->num_free += c->indirect ? 1 : c->n;
		m->tables_free += c->indirect;
		m->reaped++;
		m->completed++;
	}
}

static void op_driver_idle(struct model *m)
{
	if (!m->drv_irq || !m->drv_busy)
		return;
	m->drv_busy = false;
	if (!virtq_enable_interrupts(m->r.vq))
		m->drv_irq = false;
}

/* Nothing waits unseen, and the free counts agree. */
static bool invariants(struct model *m)
{
	bool ok = true;

	if (le16_at(&m->r.avail->idx) != m->popped && !m->dev_active) {
		FAIL_AT("lost notification: %u published, %u popped",
			le16_at(&m->r.avail->idx), m->popped);
		ok = false;
	}
	if (le16_at(&m->r.used->idx) != m->reaped && !m->drv_irq) {
		FAIL_AT("lost interrupt: used %u, reaped %u",
			le16_at(&m->r.used->idx), m->reaped);
		ok = false;
	}
	if (virtq_num_free(m->r.vq) != m->num_free) {
		FAIL_AT("num_free %u, model %u", virtq_num_free(m->r.vq),
			m->num_free);
		ok = false;
	}
	if (virtq_is_broken(m->r.vq)) {
		FAIL_AT("queue broken");
		ok = false;
	}
	return ok;
}

static void stress(bool event_idx, bool indirect)
{
	static struct model m;
	unsigned start;

	memset(&m, 0, sizeof(m));
	m.indirect = indirect;
	m.threshold = indirect ? below(6) : 0;
	rings_init(&m.r, QSZ, event_idx, indirect ? TABLES : 0,
		   indirect ? TLEN : 0, m.threshold);
	/* start near the wrap: 0xFFF0 minus a little */
	start = 0xFFF0 - below(8);
	for (unsigned i = 0; i < start; i++)
		if (round_trip(&m.r, 0) < 0) {
			FAIL_AT("warm-up failed at %u", i);
			goto out;
		}
	m.published = m.popped = m.pushed = m.reaped = (uint16_t)start;
	m.num_free = QSZ;
	m.tables_free = indirect ? TABLES : 0;
	while (m.completed < 100000) {
		switch (below(12)) {
		case 0:
		case 1:
		case 2:
		case 3:
			op_add(&m);
			break;
		case 4:
		case 5:
			op_device_pop(&m);
			break;
		case 6:
			op_device_idle(&m);
			break;
		case 7:
		case 8:
			op_device_complete(&m);
			break;
		case 9:
		case 10:
			op_driver_reap(&m);
			break;
		default:
			op_driver_idle(&m);
			break;
		}
		if (!invariants(&m))
			goto out;
	}
	printf("# event_idx=%d indirect=%d threshold=%u: %lu chains, "
	       "%lu kicks, %lu interrupts\n",
	       event_idx, indirect, m.threshold, m.completed, m.kicks, m.irqs);
	/* notification suppression did something */
	CHECK(m.kicks < m.completed);
	CHECK(m.irqs < m.completed);
out:
	rings_free(&m.r);
}

static void test_stress_plain(void)
{
	stress(false, false);
}

static void test_stress_event_idx(void)
{
	stress(true, false);
}

static void test_stress_indirect(void)
{
	stress(false, true);
}

static void test_stress_event_idx_indirect(void)
{
	stress(true, true);
}

int main(void)
{
	RUN(test_create_validation);
	RUN(test_create_clears_rings);
	RUN(test_direct_round_trip);
	RUN(test_add_rejects);
	RUN(test_need_event);
	RUN(test_kick_no_event_idx);
	RUN(test_kick_event_idx);
	RUN(test_device_notify_event_idx);
	RUN(test_indirect);
	RUN(test_indirect_pool_exhausted);
	RUN(test_indirect_policy);
	RUN(test_interrupts_flag_mode);
	RUN(test_interrupts_event_mode);
	RUN(test_get_used_clears_outputs);
	RUN(test_used_bad_id);
	RUN(test_used_id_not_outstanding);
	RUN(test_used_idx_jump);
	RUN(test_used_len_too_large);
	RUN(test_descriptor_scribble_harmless);
	RUN(test_out_of_order);
	RUN(test_index_wrap);
	RUN(test_detach_unused);
	RUN(test_size_extremes);
	RUN(test_device_rejects);
	RUN(test_stress_plain);
	RUN(test_stress_event_idx);
	RUN(test_stress_indirect);
	RUN(test_stress_event_idx_indirect);
	return harness_exit();
}
