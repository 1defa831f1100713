/*
 * upcase.c: Windows-style name comparison (upcase.h).
 */
#include "catalog/util/upcase.h"

#include "catalog/util/utf.h"

struct upcase_run {
	uint16_t first, last; /* code points first, first + stride, ... */
	int32_t delta;	      /* upper case = cp + delta */
	uint8_t stride;	      /* 1, or 2 for alternating upper/lower */
};

#include "catalog/util/upcase_table.h"

uint32_t upcase_cp(uint32_t cp)
{
	size_t lo = 0, hi = sizeof(upcase_runs) / sizeof(upcase_runs[0]);

	/* Runs are sorted and disjoint: find the last with first <= cp. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (upcase_runs[mid].first <= cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return cp;
	{
		const struct upcase_run *r = &upcase_runs[lo - 1];

		if (cp > r->last || (cp - r->first) % r->stride)
			return cp;
		return (uint32_t)((int32_t)cp + r->delta);
	}
}

size_t upcase_next(const char *s, size_t len, uint32_t *cp)
{
	size_t n = utf8_get((const unsigned char *)s, len, cp);

	if (n == 0) {
		/* Not UTF-8: a value no character has, one per byte. */
		*cp = 0x110000u + (unsigned char)s[0];
		return 1;
	}
	*cp = upcase_cp(*cp);
	return n;
}

bool upcase_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i = 0, j = 0;

	while (i < alen && j < blen) {
		uint32_t x, y;

		i += upcase_next(a + i, alen - i, &x);
		j += upcase_next(b + j, blen - j, &y);
		if (x != y)
			return false;
	}
	return i == alen && j == blen;
}

uint64_t upcase_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len;) {
		uint32_t cp;

		i += upcase_next(s + i, len - i, &cp);
		h = (h ^ cp) * 0x100000001b3ull;
	}
	return h;
}
