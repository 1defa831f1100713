/*
 * vhd_image.h: the fixed VHD format of image.h ("vhd").
 *
 * The FAT disk of fat_image.h, byte for byte, followed by the 512-byte
 * footer of a fixed disk (Microsoft, "Virtual Hard Disk Image Format
 * Specification" v1.0, "Hard Disk Footer Format"): cookie "conectix",
 * version 1.0, data offset all ones, disk type 2 (fixed), original and
 * current size equal to the raw disk, the CHS geometry of the spec's
 * algorithm, creator "aero" on "Wi2k", the one's complement checksum.
 * The raw disk is a whole number of cylinders of that geometry, so
 * readers that size the disk from the geometry (QEMU for the creators
 * "vpc " and "qemu", Virtual PC) and those that use the current size
 * (Hyper-V, VirtualBox, QEMU otherwise) agree.  Time stamp: pack_epoch()
 * in seconds since 2000-01-01T00:00:00Z, clamped to 0..2^32-1.  Unique
 * id: bytes 16..31 of the FAT layout's SHA-256 (fat_image.h), with the
 * RFC 4122 version 4 and variant bits set, so equal packs give equal
 * images and different packs different ids.  Not the clock, never random.
 *
 * Options read: those of fat_image.h.  Errors: those of fat_image.h.
 *
 * Use it through image_build() with image_format_find("vhd").
 */
#ifndef AEROFS_EXPORT_IMAGE_VHD_IMAGE_H
#define AEROFS_EXPORT_IMAGE_VHD_IMAGE_H

#include "export/image/image.h"

#define VHD_FOOTER_SIZE 512u

/* The layout (image_layout_fn). */
image_layout_fn vhd_image_layout;

#endif
