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
 * held.  iso_image_span() exposes the same table run by run, so that the
 * FUSE daemon can reply without copying file data.
 *
 * The same image serves the FUSE mount's .aerofs/<name>.iso and
 * `aerofs-export --format iso`, so their bytes are identical.
 */
#ifndef AEROFS_EXPORT_IMAGE_ISO_IMAGE_H
#define AEROFS_EXPORT_IMAGE_ISO_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "catalog/util/error.h"
#include "catalog/pack/pack.h"

struct iso_image;

struct iso_image_options {
	const char *label;	/* NULL: pack_label() */
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

/*
 * Where the bytes at an image offset live, for zero-copy serving (the
 * image counterpart of pack_node_span()).  One span is a run of LEN > 0
 * bytes that all come from the same place:
 *
 *   ISO_IMAGE_SPAN_FD    LEN bytes at FD_OFFSET of source descriptor FD
 *                        (a file region whose pack file is extent-backed)
 *   ISO_IMAGE_SPAN_MEM   LEN bytes at MEM (metadata, or a pack blob file)
 *   ISO_IMAGE_SPAN_ZERO  LEN zero bytes (system area, sector padding)
 *
 * LEN runs to the end of the region, or of the source extent for FD
 * spans, and never past the end of the image; a caller stitches a range
 * together from consecutive calls.  Unused fields are -1 (FD) and NULL
 * (MEM).
 *
 * FD and MEM are borrowed from the image's pack: valid while the image
 * lives, never to be closed or freed.  The descriptor is shared: use
 * pread() or splice() with an explicit offset, never its file position.
 * An FD span says where the bytes should be, not that they still are:
 * the source may have been truncated since the pack was built, so a
 * caller that hands the descriptor to someone who would turn a short read
 * into zeros (FUSE zero-fills a short reply) must check the source size
 * first, as iso_image_read() does by treating a short read as -EIO.
 *
 * Returns 0, -EINVAL when OFF is at or past the end of the image, or -EIO
 * if the pack cannot place the offset (a layout bug).  Thread-safe: the
 * image and its pack are immutable.
 */
enum iso_image_span_kind {
	ISO_IMAGE_SPAN_FD,
	ISO_IMAGE_SPAN_MEM,
	ISO_IMAGE_SPAN_ZERO,
};

struct iso_image_span {
	enum iso_image_span_kind kind;
	int fd;
	uint64_t fd_offset;
	const void *mem;
	uint64_t len;
};

int iso_image_span(const struct iso_image *img, uint64_t off,
		   struct iso_image_span *span);

#endif
