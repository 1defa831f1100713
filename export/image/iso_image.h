/*
 * iso_image.h: the ISO9660 format of image.h.
 *
 * ISO9660 with level 2 style names (d-characters, up to 30, made unique)
 * in the primary volume descriptor, Joliet (UCS-2, up to 64 characters) in
 * a supplementary one, and Rock Ridge (default on) so that POSIX readers
 * see exact names and modes.  iso_image.c documents the layout, the name
 * mangling and the date clamping.  Times come from the pack's epoch, order
 * from ECMA-119's sorting rules.  Identical file contents share one extent.
 * Options read: label (1..16 characters that ISO9660 d-characters and
 * Joliet can both carry), no_rock_ridge, no_joliet.
 *
 * Use it through image_build() with image_format_find("iso").
 */
#ifndef AEROFS_EXPORT_IMAGE_ISO_IMAGE_H
#define AEROFS_EXPORT_IMAGE_ISO_IMAGE_H

#include "export/image/image.h"

/* The layout (image_layout_fn): -EINVAL for a label that cannot be
 * encoded, -EFBIG for a pack too large for ISO9660 (a file of 4 GiB or
 * more). */
image_layout_fn iso_image_layout;

#endif
