/*
 * fat_image.h: the FAT disk image format of image.h ("img").
 *
 * A raw disk: an MBR with one partition at LBA 2048 (1 MiB, as Windows 7's
 * DiskPart aligns it) holding a FAT16 or FAT32 file system, synthesized
 * from the pack like the ISO: boot sector, FSInfo, both FATs and every
 * directory are blobs built at layout time, file data are the pack's
 * extents, free space is zeros.  Nothing is written anywhere.
 *
 * FAT type (Microsoft, "FAT: General Overview of On-Disk Format" v1.03,
 * section 3.5: the type is decided by the cluster count alone, FAT12
 * below 4085, FAT16 below 65525, FAT32 above).  FAT32 needs at least
 * 65525 clusters, that is 32 MiB of data with the smallest (512-byte)
 * clusters, and Windows' format refuses FAT32 below 32.5 MiB (the spec's
 * DskTableFAT32).  So: a pack whose data need 66549 or more 512-byte
 * clusters is FAT32, with the cluster size DskTableFAT32 gives for the
 * volume's size (512 B up to 532480 sectors, 260 MB; 4 KiB up to 8 GiB,
 * 8 KiB up to 16 GiB, 16 KiB up to 32 GiB), taking the first row whose
 * range has room for the tree; a smaller pack is FAT16, with the smallest
 * cluster size that keeps the count in range, padded with free clusters
 * when the pack is tiny.  Every count stays at least 1024 clusters away
 * from the 4085 and 65525 boundaries (the spec asks for 16; some drivers
 * compute the count slightly differently).  The volume is a whole number
 * of tracks (mtools checks its size against the BPB's sectors per
 * track), so a tree that needs a volume within a track of a limit takes
 * the next cluster size.  The FAT is the smallest that covers the
 * clusters its volume leaves beside it.  FAT16's fixed root directory has
 * the usual 512 entries, or as many whole sectors as the root needs.
 *
 * Disk size: the smallest disk that is a whole number of cylinders of
 * the CHS geometry the VHD specification's algorithm gives for it
 * (fat_image_chs()), so that the raw image and the VHD built on it
 * (vhd_image.h) have one size whatever a reader derives it from, and
 * that holds the 1 MiB before the partition and the needed volume,
 * rounded up to a whole track: the reserved sectors, both FATs, FAT16's
 * root and the tree's clusters (at least the type's minimum count; with
 * clusters over 512 B, over the previous DskTableFAT32 row's size).
 * That is less than one cylinder plus one track over 1 MiB plus the
 * needed volume: under 1071 sectors (16 x 63 + 63) for disks below
 * 65535 x 16 x 63 sectors (31.5 GiB), under 4335 (16 x 255 + 255) above.
 * The partition fills the disk's whole tracks, or stops short of the end
 * where that would take the count or the volume size past its limit;
 * the BPB and MBR use the disk's geometry.
 *
 * Names.  Children are in pack order (bytewise by name).  A name that is a
 * valid upper-case 8.3 name, or one whose base and extension are each all
 * lower case (NT case bits 0x08/0x10 of byte 12), gets a short entry only;
 * any other gets long name entries (UTF-16, checksum of the short name)
 * and a short name generated as fatgen103's "basis-name" algorithm and
 * Windows do: upper case, spaces and leading periods stripped, characters
 * short names cannot hold (non-ASCII too: no OEM code page is assumed)
 * become '_', 8.3 truncation; the basis name itself when the long name
 * was merely mixed case, else "~1".."~4", then, from the fifth
 * collision, two characters of the basis, four hex digits of a hash of the
 * long name and "~1".."~9" (the hash plus the attempt number, so a clash
 * moves on deterministically).  A name Windows cannot store (controls,
 * " * / : < > ? \ |, a trailing space or period) or two names that only
 * differ in case (ASCII, Latin-1, Greek and Cyrillic are folded) fail the
 * layout with -EINVAL.
 *
 * $WinPEDriver$: unless opts->no_winpe, the root also holds
 * "$WinPEDriver$/x86" and "$WinPEDriver$/amd64", copies of the pack's
 * win7/x86 and win7/amd64 trees (when they exist, and when the pack has
 * no "$WinPEDriver$" of its own).  FAT cannot share clusters, so the copy
 * costs its size a second time.
 *
 * Everything else: every time is pack_epoch() (UTC, clamped to FAT's
 * 1980-01-01..2107-12-31 and rounded down to 2 seconds; created, written
 * and accessed alike); files have the archive attribute only (the medium is
 * read-only; a read-only bit would be copied along by Setup); the volume
 * label is opts->label or pack_label(), upper-cased, with characters a
 * FAT label cannot hold (non-ASCII, controls, * ? / \ | . , ; : + = [ ] <
 * > ") made '_' and cut to 11 characters; the volume serial is the first 4
 * bytes of a SHA-256 over the layout (names, sizes, content hashes, label,
 * epoch), never the clock.  Files and directories are contiguous runs of
 * clusters in tree order.
 *
 * Limits (-EFBIG unless said): a file of 4 GiB or more; a FAT32 volume
 * over 32 GiB (as Windows formats; it also bounds the FAT kept in memory
 * to 8 MiB); a directory of more than 65536 32-byte entries, long name
 * entries included (-ENOSPC; the spec's limit).  Options read: label,
 * no_winpe.
 */
#ifndef AEROFS_EXPORT_IMAGE_FAT_IMAGE_H
#define AEROFS_EXPORT_IMAGE_FAT_IMAGE_H

#include <stdint.h>

#include "export/image/image.h"

/* A disk geometry: cylinders, heads, sectors per track. */
struct fat_chs {
	uint32_t cylinders;
	uint32_t heads;
	uint32_t sectors;
};

/*
 * The CHS geometry that the VHD specification (Virtual Hard Disk Image
 * Format Specification v1.0, appendix "CHS Calculation") assigns to a
 * disk of SECTORS 512-byte sectors (clamped to 65535 x 16 x 255).  Its
 * product may be smaller than SECTORS.
 */
void fat_image_chs(uint64_t sectors, struct fat_chs *g);

/* What the VHD footer needs to know about a laid out FAT image. */
struct fat_image_info {
	struct fat_chs chs; /* product == disk size / 512 */
	uint64_t disk_bytes;
	unsigned char digest[32]; /* SHA-256 of the layout (above) */
};

/* The layout (image_layout_fn); errors as described above. */
image_layout_fn fat_image_layout;

/* The same, also filling *INFO (on success). */
int fat_image_layout_info(struct pack *pack, const struct image_options *opts,
			  struct regions *rs, struct aero_error *err,
			  struct fat_image_info *info);

#endif
