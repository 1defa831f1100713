/*
 * isofs.h: the ISO9660 directory-record reader behind source_open().
 *
 * isofs_load() (declared in source_i.h) validates the volume descriptor set
 * (ECMA-119 8), picks the richest name set (Rock Ridge, Joliet,
 * ISO9660:1999, plain ISO9660) and walks the chosen directory tree into
 * source nodes, keeping for each file only its extents.  It never reads file
 * data.  The pure helpers below are the pieces worth testing on their own.
 *
 * Not supported, with a clear error: logical block sizes other than 2048,
 * interleaved files (ECMA-119 9.1.7), zisofs-compressed files (Rock Ridge
 * ZF), High Sierra and UDF-only images.
 */
#ifndef AEROFS_CATALOG_SOURCE_ISOFS_H
#define AEROFS_CATALOG_SOURCE_ISOFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Converts a 17-byte volume date (ECMA-119 8.4.26.1: "YYYYMMDDHHMMSScc"
 * digits and a signed offset from GMT in 15-minute steps) to seconds since
 * 1970 UTC.  Returns false when the date is unset (all '0' digits or all
 * NUL) or malformed.
 */
bool isofs_date17(const uint8_t d[17], int64_t *t);

/*
 * Decodes a Joliet name (UCS-2 big-endian, LEN bytes; UTF-16 surrogate
 * pairs accepted) to UTF-8 in OUT (CAP bytes, NUL-terminated).  Returns the
 * UTF-8 length, or -1 for an odd length, a NUL or unpaired surrogate, or a
 * result that does not fit.
 */
int isofs_joliet_name(const uint8_t *in, size_t len, char *out, size_t cap);

/*
 * Describes what a file that is not ISO9660 looks like from its first
 * bytes HEAD (LEN bytes; "an HTML page", "a ZIP archive"...), or NULL.
 */
const char *isofs_sniff(const uint8_t *head, size_t len);

#endif
