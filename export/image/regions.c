/*
 * regions.c: the region table (see regions.h).  A growable array; the
 * invariant (contiguous, ordered, no empty region) is kept by construction
 * in regions_push() and is what makes the binary search valid.
 */
#include "export/image/regions.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "catalog/util/checked.h"

struct regions {
	struct region *v;
	size_t n;
	size_t cap;
};

struct regions *regions_new(void)
{
	return calloc(1, sizeof(struct regions));
}

void regions_free(struct regions *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n; i++)
		if (rs->v[i].type == REGION_DATA && rs->v[i].owned)
			free((void *)rs->v[i].u.data);
	free(rs->v);
	free(rs);
}

uint64_t regions_size(const struct regions *rs)
{
	if (rs->n == 0)
		return 0;
	return rs->v[rs->n - 1].start + rs->v[rs->n - 1].len;
}

size_t regions_count(const struct regions *rs)
{
	return rs->n;
}

const struct region *regions_get(const struct regions *rs, size_t i)
{
	assert(i < rs->n);
	return &rs->v[i];
}

static void drop_owned(const struct region *r)
{
	if (r->type == REGION_DATA && r->owned)
		free((void *)r->u.data);
}

int regions_push(struct regions *rs, const struct region *r)
{
	uint64_t end;

	/* The one place the invariant is enforced (nbdkit append_region). */
	assert(r->start == regions_size(rs));
	assert(r->type != REGION_DATA || r->u.data || r->len == 0);
	if (r->len == 0) {
		drop_owned(r);
		return 0;
	}
	if (ADD_OVERFLOW(r->start, r->len, &end)) {
		drop_owned(r);
		return -EFBIG;
	}
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 16;
		struct region *v;

		if (cap > SIZE_MAX / sizeof(*v) ||
		    !(v = realloc(rs->v, cap * sizeof(*v)))) {
			drop_owned(r);
			return -ENOMEM;
		}
		rs->v = v;
		rs->cap = cap;
	}
	rs->v[rs->n++] = *r;
	return 0;
}

int regions_append_data(struct regions *rs, const void *data, uint64_t len,
			bool owned)
{
	struct region r = {
		.start = regions_size(rs),
		.len = len,
		.type = REGION_DATA,
		.owned = owned,
		.u.data = data,
	};

	return regions_push(rs, &r);
}

int regions_append_file(struct regions *rs, const struct pack_node *node,
			uint64_t len)
{
	struct region r = {
		.start = regions_size(rs),
		.len = len,
		.type = REGION_FILE,
		.u.node = node,
	};

	return regions_push(rs, &r);
}

int regions_append_zero(struct regions *rs, uint64_t len)
{
	struct region r = {
		.start = regions_size(rs),
		.len = len,
		.type = REGION_ZERO,
	};

	return regions_push(rs, &r);
}

int regions_pad(struct regions *rs, uint64_t align)
{
	uint64_t rem;

	assert(align && (align & (align - 1)) == 0);
	rem = regions_size(rs) & (align - 1);
	return rem ? regions_append_zero(rs, align - rem) : 0;
}

size_t regions_find(const struct regions *rs, uint64_t off)
{
	size_t lo = 0, hi = rs->n;

	if (off >= regions_size(rs))
		return rs->n;
	/* Invariant: the answer is in [lo, hi). */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (rs->v[mid].start <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}
