/*
 * test_regions.c: the region table's invariants and lookup.
 *
 * Builds tables of every region kind with random lengths, then checks
 * contiguity (each region starts where the previous ends, none is empty),
 * padding, ownership (ASan reports a leak or double free) and that
 * regions_find() agrees with a linear scan at every boundary and at random
 * offsets.
 */
#include "tests/harness.h"

#include <errno.h>

#include "export/image/regions.h"

static uint32_t rnd_state = 2463534242u;

static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

static size_t linear_find(const struct regions *rs, uint64_t off)
{
	for (size_t i = 0; i < regions_count(rs); i++) {
		const struct region *r = regions_get(rs, i);

		if (off >= r->start && off < r->start + r->len)
			return i;
	}
	return regions_count(rs);
}

static void check_invariants(const struct regions *rs)
{
	uint64_t end = 0;

	for (size_t i = 0; i < regions_count(rs); i++) {
		const struct region *r = regions_get(rs, i);

		CHECK_EQ_UINT(end, r->start);
		CHECK(r->len > 0);
		end = r->start + r->len;
	}
	CHECK_EQ_UINT(end, regions_size(rs));
}

static void test_empty(void)
{
	struct regions *rs = regions_new();

	assert(rs);
	CHECK_EQ_UINT(0, regions_size(rs));
	CHECK_EQ_UINT(0, regions_count(rs));
	CHECK_EQ_UINT(0, regions_find(rs, 0));
	CHECK_EQ_UINT(0, regions_find(rs, UINT64_MAX));
	/* padding an empty table adds nothing: 0 is aligned */
	CHECK_EQ_INT(0, regions_pad(rs, 2048));
	CHECK_EQ_UINT(0, regions_count(rs));
	/* zero-length regions are dropped, owned buffers freed */
	CHECK_EQ_INT(0, regions_append_zero(rs, 0));
	CHECK_EQ_INT(0, regions_append_data(rs, malloc(1), 0, true));
	CHECK_EQ_UINT(0, regions_count(rs));
	regions_free(rs);
	regions_free(NULL);
}

static void test_build_and_find(void)
{
	struct regions *rs = regions_new();
	static const char blob[] = "borrowed bytes";

	assert(rs);
	for (int i = 0; i < 500; i++) {
		uint32_t kind = rnd() % 4, len = rnd() % 5000 + (i % 7 == 0);

		switch (kind) {
		case 0:
			CHECK_EQ_INT(0, regions_append_zero(rs, len));
			break;
		case 1: {
			char *p = malloc(len ? len : 1);

			assert(p);
			memset(p, 'x', len);
			CHECK_EQ_INT(0, regions_append_data(rs, p, len, true));
			break;
		}
		case 2:
			CHECK_EQ_INT(0,
				     regions_append_data(rs, blob, sizeof(blob),
							 false));
			break;
		default:
			CHECK_EQ_INT(0, regions_pad(rs, 2048));
			CHECK_EQ_UINT(0, regions_size(rs) % 2048);
			break;
		}
	}
	check_invariants(rs);
	/* every boundary, and its neighbours */
	for (size_t i = 0; i < regions_count(rs); i++) {
		const struct region *r = regions_get(rs, i);

		CHECK_EQ_UINT(i, regions_find(rs, r->start));
		CHECK_EQ_UINT(i, regions_find(rs, r->start + r->len - 1));
		if (r->start)
			CHECK_EQ_UINT(i - 1, regions_find(rs, r->start - 1));
	}
	for (int i = 0; i < 10000; i++) {
		uint64_t off = rnd() % (regions_size(rs) + 10);

		CHECK_EQ_UINT(linear_find(rs, off), regions_find(rs, off));
	}
	CHECK_EQ_UINT(regions_count(rs), regions_find(rs, regions_size(rs)));
	regions_free(rs);
}

static void test_file_regions(void)
{
	struct regions *rs = regions_new();
	const struct pack_node *fake = (const struct pack_node *)&rs;

	assert(rs);
	CHECK_EQ_INT(0, regions_append_zero(rs, 32768));
	CHECK_EQ_INT(0, regions_append_file(rs, fake, 3000));
	CHECK_EQ_INT(0, regions_pad(rs, 2048));
	CHECK_EQ_UINT(32768 + 4096, regions_size(rs));
	CHECK_EQ_UINT(3, regions_count(rs));
	CHECK(regions_get(rs, 1)->type == REGION_FILE);
	CHECK(regions_get(rs, 1)->u.node == fake);
	CHECK_EQ_UINT(1096, regions_get(rs, 2)->len);
	CHECK_EQ_UINT(1, regions_find(rs, 32768 + 2999));
	CHECK_EQ_UINT(2, regions_find(rs, 32768 + 3000));
	check_invariants(rs);
	regions_free(rs);
}

static void test_overflow(void)
{
	struct regions *rs = regions_new();

	assert(rs);
	CHECK_EQ_INT(0, regions_append_zero(rs, UINT64_MAX - 10));
	CHECK_EQ_INT(-EFBIG, regions_append_zero(rs, 11));
	/* an owned buffer is freed on failure too (ASan checks) */
	CHECK_EQ_INT(-EFBIG, regions_append_data(rs, malloc(16), 16, true));
	CHECK_EQ_INT(0, regions_append_zero(rs, 10));
	CHECK_EQ_UINT(UINT64_MAX, regions_size(rs));
	CHECK_EQ_UINT(1, regions_find(rs, UINT64_MAX - 1));
	check_invariants(rs);
	regions_free(rs);
}

int main(void)
{
	RUN(test_empty);
	RUN(test_build_and_find);
	RUN(test_file_regions);
	RUN(test_overflow);
	return harness_exit();
}
