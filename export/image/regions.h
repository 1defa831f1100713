/*
 * regions.h: a virtual disk image as an ordered table of regions, after
 * nbdkit's common/regions.
 *
 * The regions are contiguous, non-overlapping and ordered by address: the
 * first starts at 0 and each starts where the previous one ends.  There are
 * three kinds: DATA (bytes in memory, owned by the table or borrowed), FILE
 * (the content of a pack file node, read on demand by whoever walks the
 * table) and ZERO (padding).  The table is append-only; the one constructor
 * (regions_push) asserts the contiguity invariant, so a table can never
 * describe a hole or an overlap.  Empty regions are never stored.
 *
 * regions_find() is a binary search, O(log n); once built, a table is never
 * modified, so lookups are safe from any number of threads.
 *
 * Not here: reading file regions (the image that owns the table does it
 * through pack_node_read()), alignment policy (regions_pad() only pads).
 */
#ifndef AEROFS_EXPORT_IMAGE_REGIONS_H
#define AEROFS_EXPORT_IMAGE_REGIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog/pack/pack.h"

enum region_type {
	REGION_DATA, /* u.data: LEN bytes in memory */
	REGION_FILE, /* u.node: the first LEN bytes of a pack file */
	REGION_ZERO, /* LEN zero bytes */
};

struct region {
	uint64_t start; /* offset of the first byte in the image */
	uint64_t len;	/* > 0 */
	enum region_type type;
	bool owned; /* DATA only: freed with the table */
	union {
		const void *data;
		const struct pack_node *node;
	} u;
};

struct regions;

/* An empty table, or NULL when out of memory. */
struct regions *regions_new(void);

/* Frees the table and every owned DATA buffer (NULL allowed). */
void regions_free(struct regions *rs);

/* Total size: the end of the last region (0 when empty). */
uint64_t regions_size(const struct regions *rs);

size_t regions_count(const struct regions *rs);

/* The I-th region in address order (I < regions_count()).  Borrowed. */
const struct region *regions_get(const struct regions *rs, size_t i);

/*
 * Appends R, whose start must equal regions_size() (asserted: a caller
 * that gets this wrong has a layout bug, not an input error).  A region of
 * length 0 is dropped (and an owned buffer freed).  Returns 0, -ENOMEM, or
 * -EFBIG when the end would overflow 64 bits.  On failure an owned buffer
 * is freed too, so the caller never has to.
 */
int regions_push(struct regions *rs, const struct region *r);

/*
 * Convenience wrappers around regions_push() that fill in the start.
 * regions_append_data() takes ownership of DATA (free()d with the table)
 * when OWNED is true, even on failure.
 */
int regions_append_data(struct regions *rs, const void *data, uint64_t len,
			bool owned);
int regions_append_file(struct regions *rs, const struct pack_node *node,
			uint64_t len);
int regions_append_zero(struct regions *rs, uint64_t len);

/* Appends zeros up to the next multiple of ALIGN (a power of two). */
int regions_pad(struct regions *rs, uint64_t align);

/*
 * Index of the region containing byte OFF, or regions_count() when OFF is
 * at or past the end.  O(log n).
 */
size_t regions_find(const struct regions *rs, uint64_t off);

#endif
