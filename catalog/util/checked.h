/*
 * checked.h: overflow-checked arithmetic for values read from untrusted
 * images, after nbdkit's checked-overflow.h.  Each returns true when the
 * result overflowed, in which case *r is unspecified.
 */
#ifndef AEROFS_CATALOG_UTIL_CHECKED_H
#define AEROFS_CATALOG_UTIL_CHECKED_H

#include <stdbool.h>
#include <stdint.h>

#define ADD_OVERFLOW(a, b, r) __builtin_add_overflow((a), (b), (r))
#define MUL_OVERFLOW(a, b, r) __builtin_mul_overflow((a), (b), (r))

/* True if [off, off+len) does not fit inside [0, size). */
static inline bool range_outside(uint64_t off, uint64_t len, uint64_t size)
{
	uint64_t end;

	return ADD_OVERFLOW(off, len, &end) || end > size;
}

#endif
