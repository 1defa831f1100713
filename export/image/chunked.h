/*
 * chunked.h: an image (image.h) cut into fixed-size chunks, after Aero's
 * "aero.chunked-disk-image.v1" delivery format: a manifest.json and
 * chunks/NNNNNNNN.bin objects that a browser fetches with plain GETs, so
 * that neither a Range header (a CORS preflight) nor a CDN's handling of
 * 206 replies stands between the emulator and the bytes.
 *
 * A chunk set is a view of one image: chunk I is the image's bytes
 * [I * chunk size, min((I + 1) * chunk size, total)).  Nothing is copied
 * or written; a server reads chunk bytes as a sub-range of the image
 * (chunked_chunk_range() then image_read()/image_span()).  chunked_hash()
 * reads the image once, in order, and computes both the SHA-256 of the
 * whole image (the content-addressed version, "sha256-<hex>") and of every
 * chunk; the manifest and latest.json texts are rendered from those.
 * Same image, same chunk size: byte-identical texts.
 *
 * Limits (Aero's chunked-disk-image format and its clients): the total
 * size and the chunk size are non-zero multiples of 512 (a disk sector),
 * the chunk size is at most CHUNKED_SIZE_MAX and the chunk count at most
 * CHUNKED_COUNT_MAX.  Chunk names are the index as CHUNKED_INDEX_WIDTH
 * zero-padded decimal digits and ".bin".
 *
 * Ownership: a chunk set borrows its image, which must outlive it.
 * Thread safety: chunked_hash() runs in one thread; once it has returned
 * 0, every read-only function may be called from any number of threads
 * (the caller publishes the result to them, e.g. under a mutex).  Before
 * that only chunked_count(), chunked_chunk_size(), chunked_total() and
 * chunked_chunk_range() may be used.
 */
#ifndef AEROFS_EXPORT_IMAGE_CHUNKED_H
#define AEROFS_EXPORT_IMAGE_CHUNKED_H

#include <stddef.h>
#include <stdint.h>

#include "catalog/util/error.h"
#include "export/image/image.h"

#define CHUNKED_SCHEMA "aero.chunked-disk-image.v1"
#define CHUNKED_MIME "application/octet-stream"
#define CHUNKED_SECTOR 512u
#define CHUNKED_SIZE_DEFAULT (4u << 20)
#define CHUNKED_SIZE_MAX (64u << 20)
#define CHUNKED_COUNT_MAX 500000u
#define CHUNKED_INDEX_WIDTH 8
/* "sha256-" and 64 hex digits, and the NUL. */
#define CHUNKED_VERSION_LEN (7 + 64 + 1)
/* "00000000.bin" and the NUL. */
#define CHUNKED_NAME_LEN (CHUNKED_INDEX_WIDTH + 4 + 1)

struct chunked;

/*
 * Parses a chunk size: decimal bytes, or with a K or M suffix (KiB, MiB).
 * Returns 0 and the size in *OUT, or -EINVAL with ERR for anything else:
 * not a number, zero, not a multiple of 512, above CHUNKED_SIZE_MAX.
 */
int chunked_parse_size(const char *s, uint32_t *out, struct aero_error *err);

/*
 * A chunk set of IMG in chunks of CHUNK_SIZE bytes, not hashed yet.
 * Returns 0 and the set in *OUT, or -errno with ERR: -EINVAL for a chunk
 * size chunked_parse_size() would refuse or an image whose size is zero
 * or not a multiple of 512, -EFBIG for more than CHUNKED_COUNT_MAX chunks,
 * -ENOMEM.
 */
int chunked_new(const struct image *img, uint32_t chunk_size,
		struct chunked **out, struct aero_error *err);

void chunked_free(struct chunked *c);

/*
 * Called by chunked_hash() with each run of image bytes, in image order:
 * LEN bytes at image offset OFF, all inside chunk CHUNK (a chunk starts
 * with a call at its first byte).  Returns 0 to go on, or -errno to stop
 * chunked_hash() with that code (-ECANCELED to cancel); a sink that has
 * more to say fills in the ERR it shares with the caller.
 */
typedef int chunked_sink_fn(void *ctx, uint32_t chunk, uint64_t off,
			    const void *data, size_t len);

/*
 * Reads the image once and computes the whole image's and every chunk's
 * SHA-256, handing every byte read to SINK (NULL: none) on the way, so
 * that a writer needs no second pass.  Returns 0, or -errno with ERR:
 * -EIO when the image cannot be read (its source shrank), the sink's
 * code, -ENOMEM.  Call at most once.
 */
int chunked_hash(struct chunked *c, chunked_sink_fn *sink, void *ctx,
		 struct aero_error *err);

uint64_t chunked_total(const struct chunked *c);
uint32_t chunked_chunk_size(const struct chunked *c);
uint32_t chunked_count(const struct chunked *c);

/* The image offset and length of chunk I (I < chunked_count()). */
void chunked_chunk_range(const struct chunked *c, uint32_t i, uint64_t *off,
			 uint64_t *len);

/* After chunked_hash(): the 32-byte SHA-256 of chunk I, of the image. */
const unsigned char *chunked_chunk_sha256(const struct chunked *c, uint32_t i);
const unsigned char *chunked_sha256(const struct chunked *c);

/* After chunked_hash(): "sha256-<hex>", the content-addressed version. */
const char *chunked_version(const struct chunked *c);

/* Writes chunk I's name, "00000042.bin", to BUF. */
void chunked_chunk_name(uint32_t i, char buf[CHUNKED_NAME_LEN]);

/*
 * The index of the chunk called NAME, or -ENOENT when NAME is not exactly
 * the name chunked_chunk_name() gives one of C's chunks.
 */
int64_t chunked_chunk_find(const struct chunked *c, const char *name);

/*
 * After chunked_hash(): manifest.json of the chunk set as image IMAGE_ID
 * (schema CHUNKED_SCHEMA, every field of the format, chunks[] with each
 * size and sha256), and latest.json (imageId, version and the manifest's
 * path relative to latest.json).  JSON text ending in a newline,
 * malloc()ed, its length in *LEN; NULL when out of memory.  IMAGE_ID is
 * a plain name ([A-Za-z0-9._-]); other characters are escaped.
 */
char *chunked_manifest_json(const struct chunked *c, const char *image_id,
			    size_t *len);
char *chunked_latest_json(const struct chunked *c, const char *image_id,
			  size_t *len);

#endif
