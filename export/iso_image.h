/*
 * iso_image.h: a pack tree laid out as an ISO9660 image that is never
 * written out, only read.
 *
 * The image is ISO9660 with level 2 style names (d-characters, up to 30,
 * made unique) in the primary volume descriptor, Joliet (UCS-2, up to 64
 * characters) in a supplementary one, and Rock Ridge (default on) so that
 * POSIX readers see exact names and modes.  iso_image.c documents the
 * layout, the name mangling and the date clamping.  Every
 * byte is a pure function of the pack and the options: times come from the
 * pack's epoch, order from ECMA-119's sorting rules.  Identical file
 * contents share one extent.
 *
 * Internally the image is a table of regions (regions.h): metadata blobs in
 * memory, file extents that read through pack_node_read(), and zero
 * padding; a read finds its first region by binary search, after nbdkit's
 * floppy plugin.  Memory is O(number of pack entries); file data is never
 * held.
 *
 * The same image serves the FUSE mount's .aerofs/<name>.iso and
 * `aerofs-export --format iso`, so their bytes are identical.
 */
#ifndef AEROFS_EXPORT_ISO_IMAGE_H
#define AEROFS_EXPORT_ISO_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "catalog/error.h"
#include "catalog/pack.h"

struct iso_image;

struct iso_image_options {
	const char *label;	/* NULL: CATALOG_DEFAULT_LABEL (catalog.h) */
	bool no_rock_ridge;	/* leave Rock Ridge out */
	bool no_joliet;		/* leave Joliet out */
};

/*
 * Lays PACK out.  The image takes a reference on PACK and drops it in
 * iso_image_free().  Returns 0 and the image in *OUT, or -errno with ERR
 * (-EINVAL for a label that cannot be encoded, -EFBIG for a pack too large
 * for ISO9660).
 */
int iso_image_build(struct pack *pack, const struct iso_image_options *opts,
		    struct iso_image **out, struct aero_error *err);

void iso_image_free(struct iso_image *img);

/* Size in bytes, a multiple of 2048. */
uint64_t iso_image_size(const struct iso_image *img);

/*
 * Reads up to LEN bytes at OFF.  Returns the number of bytes read (short
 * only at the end of the image), or -EIO if a pack source failed.
 * Thread-safe.
 */
ssize_t iso_image_read(const struct iso_image *img, void *buf, size_t len,
		       uint64_t off);

#endif
