/*
 * zip.h: a pack tree as a deterministic ZIP archive, written with
 * libarchive's zip writer (deflate).
 *
 * Determinism: entries in bytewise order of their ZIP path (a directory is
 * "dir/", so it sorts right before its own contents and every extractor
 * sees a directory before the files in it); directory entries included;
 * fixed modes (0644 files, 0755 directories; "made by" Unix so Info-ZIP and
 * bsdtar apply them), uid and gid 0 in the "ux" extra field, no user or
 * group names; names in UTF-8 with the language encoding flag when not
 * ASCII; every time is the pack epoch, clamped to 1980-01-01T00:00:00Z ..
 * 2106-02-07T06:28:14Z (the DOS date floor, and the last time the unsigned
 * 32-bit "UT" extra field holds) and floored to an even second (DOS times
 * have 2-second steps), written as the DOS date in UTC and as the UT
 * modification time, which therefore agree.  Zip64 only for entries or
 * offsets past 4 GiB (libarchive's rule).  The deflate bytes depend on
 * the zlib version.
 *
 * libarchive converts the DOS time with localtime(3), so the process must
 * run with TZ=UTC for the DOS time to be the UTC one; zip_write() refuses
 * (-EINVAL) to write an archive whose bytes would depend on the time zone.
 * aerofs-export sets TZ=UTC0 at start-up.
 *
 * Content is streamed from pack_node_read() in 64 KiB chunks; memory is
 * O(entries) for the sorted list and libarchive's central directory.
 *
 * Not here: atomic replacement of the output file (main.c).
 */
#ifndef AEROFS_EXPORT_ARCHIVE_ZIP_H
#define AEROFS_EXPORT_ARCHIVE_ZIP_H

#include <stdint.h>

#include "catalog/util/error.h"
#include "catalog/pack/pack.h"

/*
 * Called after each chunk of content with the bytes of content consumed
 * so far (out of pack_content_bytes()).  A non-zero return cancels the
 * write with -ECANCELED.
 */
typedef int (*zip_progress_fn)(void *ctx, uint64_t done);

struct zip_result {
	uint64_t bytes;		  /* archive size */
	unsigned char sha256[32]; /* of the archive bytes */
	uint64_t files;		  /* file entries */
	uint64_t dirs;		  /* directory entries */
};

/* The epoch as written in ZIP headers (clamped, see above). */
int64_t zip_clamp_time(int64_t epoch);

/*
 * Writes PACK as a ZIP archive to FD from its current position.  RESULT
 * (may be NULL) gets the size and SHA-256 of what was written.  Returns 0,
 * or -errno with ERR: a write error (-ENOSPC...), a source read error
 * (-EIO), -EINVAL when TZ is not UTC, -ECANCELED from PROGRESS.  On error
 * the file holds a partial archive; the caller removes it.
 */
int zip_write(const struct pack *pack, int fd, zip_progress_fn progress,
	      void *ctx, struct zip_result *result, struct aero_error *err);

#endif
