/*
 * image.h: a pack tree as a random-access image in one of several formats
 * (ISO9660, ...), never written out, only read.
 *
 * Every format is a *layout*: a function that appends the image, in
 * address order, to a region table (regions.h): metadata blobs it builds
 * in memory, extents of pack files, and zeros.  This module owns what all
 * formats share: the format table, building an image from a layout, and
 * reading it back, either as bytes (image_read) or as spans that say where
 * each run of bytes lives (image_span, after the single pread switch over
 * region kinds of nbdkit's floppy plugin), so that a server can reply
 * without copying file data.  Memory is O(number of pack entries) plus the
 * metadata; file data is never held.
 *
 * Every byte is a pure function of the pack and the options, so the FUSE
 * mount's .aerofs/<name>.<ext> and `aerofs-export --format <name>` give
 * identical bytes.
 *
 * Adding a format: one module with a layout function (and its header),
 * one row in image.c's format table.
 *
 * Thread safety: an image is immutable once built; every read-only
 * function may be called from any number of threads at once.
 */
#ifndef AEROFS_EXPORT_IMAGE_IMAGE_H
#define AEROFS_EXPORT_IMAGE_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "catalog/pack/pack.h"
#include "catalog/util/error.h"
#include "export/image/regions.h"

struct image;

/* Options of every format; each format reads the ones that concern it. */
struct image_options {
	const char *label;  /* volume label; NULL: pack_label() */
	bool no_rock_ridge; /* ISO: leave Rock Ridge out */
	bool no_joliet;	    /* ISO: leave Joliet out */
	bool no_winpe;	    /* ISO, FAT, VHD: no $WinPEDriver$ copy
				 * of win7/x86 and win7/amd64 */
};

/*
 * Appends the image of PACK to the empty table RS.  Returns 0, or -errno
 * with ERR: -EINVAL for an option the format cannot represent (a label),
 * -EFBIG for a pack the format cannot hold, -ENOMEM.  On error RS holds a
 * partial table that the caller frees.
 */
typedef int image_layout_fn(struct pack *pack, const struct image_options *opts,
			    struct regions *rs, struct aero_error *err);

struct image_format {
	const char *name; /* "iso": --format, and the table key */
	const char *ext;  /* "iso": file name extension, no dot */
	const char *what; /* one line for --help */
	image_layout_fn *layout;
};

/* The formats, in table order; *N gets their number. */
const struct image_format *image_formats(size_t *n);

/* The format named NAME, or NULL. */
const struct image_format *image_format_find(const char *name);

/* The format whose extension ends PATH ("x.iso"), ignoring case, or NULL. */
const struct image_format *image_format_for_path(const char *path);

/*
 * Lays PACK out in format FMT.  The image takes a reference on PACK and
 * drops it in image_free().  OPTS may be NULL (all defaults).  Returns 0
 * and the image in *OUT, or -errno with ERR (see image_layout_fn; -EAGAIN
 * for a pack whose hashing is deferred and not done, -EIO if it failed:
 * pack_hashed()).
 */
int image_build(const struct image_format *fmt, struct pack *pack,
		const struct image_options *opts, struct image **out,
		struct aero_error *err);

void image_free(struct image *img);

const struct image_format *image_format_of(const struct image *img);

/* Size in bytes. */
uint64_t image_size(const struct image *img);

/* The pack the image was made of.  Borrowed. */
const struct pack *image_pack(const struct image *img);

/*
 * Reads up to LEN bytes at OFF.  Returns the number of bytes read (short
 * only at the end of the image, 0 at or past it), or -EIO if a pack source
 * failed (truncated or unreadable).
 */
ssize_t image_read(const struct image *img, void *buf, size_t len,
		   uint64_t off);

/*
 * The span (pack.h) that starts at image offset OFF.  LEN runs to the end
 * of the region, or of the source extent for FD spans, and never past the
 * end of the image; a caller stitches a range together from consecutive
 * calls.  Returns 0, -EINVAL when OFF is at or past the end of the image,
 * or -EIO if the pack cannot place the offset (a layout bug).
 */
int image_span(const struct image *img, uint64_t off, struct pack_span *span);

#endif
