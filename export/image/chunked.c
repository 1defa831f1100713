/*
 * chunked.c: an image as Aero chunks: the chunk arithmetic, one hashing
 * pass, and the manifest.json / latest.json texts (see chunked.h).
 *
 * The JSON is written with plain formatting rather than a JSON library:
 * every value is a number, a hex digest or a name we escape, and a fixed
 * layout keeps the bytes identical between the mount and aerofs-export.
 */
#include "export/image/chunked.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/util/sbuf.h"

/* Largest read of the hashing pass; it never crosses a chunk boundary. */
#define HASH_READ (1u << 20)

struct chunked {
	const struct image *img; /* borrowed */
	uint64_t total;
	uint32_t chunk_size;
	uint32_t count;
	bool hashed;
	unsigned char sha256[32];
	unsigned char *chunk_sha; /* count * 32 bytes */
	char version[CHUNKED_VERSION_LEN];
};

/* S: the size as the user wrote it, or NULL. */
static int check_size(uint64_t v, const char *s, struct aero_error *err)
{
	char what[64];

	if (s)
		snprintf(what, sizeof(what), "'%.40s'", s);
	else
		snprintf(what, sizeof(what), "%" PRIu64, v);
	if (v == 0)
		return aero_error_set(err, -EINVAL,
				      "chunk size %s must not "
				      "be 0",
				      what);
	if (v > CHUNKED_SIZE_MAX)
		return aero_error_set(err, -EINVAL,
				      "chunk size %s is above "
				      "the limit of %u (64M)",
				      what, CHUNKED_SIZE_MAX);
	if (v % CHUNKED_SECTOR)
		return aero_error_set(err, -EINVAL,
				      "chunk size %s is not a "
				      "multiple of %u",
				      what, CHUNKED_SECTOR);
	return 0;
}

int chunked_parse_size(const char *s, uint32_t *out, struct aero_error *err)
{
	uint64_t v = 0, mul = 1;
	const char *p = s;
	int r;

	if (*p < '0' || *p > '9')
		return aero_error_set(err, -EINVAL,
				      "chunk size '%s' is not a "
				      "number of bytes",
				      s);
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > CHUNKED_SIZE_MAX)
			return check_size(v, s, err);
	}
	if ((*p == 'K' || *p == 'k') && !p[1])
		mul = 1024;
	else if ((*p == 'M' || *p == 'm') && !p[1])
		mul = 1024 * 1024;
	else if (*p)
		return aero_error_set(err, -EINVAL,
				      "chunk size '%s' is not a "
				      "number of bytes (optionally with K or "
				      "M)",
				      s);
	if ((r = check_size(v * mul, s, err)) < 0)
		return r;
	*out = (uint32_t)(v * mul);
	return 0;
}

int chunked_new(const struct image *img, uint32_t chunk_size,
		struct chunked **out, struct aero_error *err)
{
	uint64_t total = image_size(img), count;
	struct chunked *c;
	int r;

	*out = NULL;
	if ((r = check_size(chunk_size, NULL, err)) < 0)
		return r;
	if (total == 0 || total % CHUNKED_SECTOR)
		return aero_error_set(err, -EINVAL,
				      "image size %" PRIu64
				      " is not a non-zero multiple of %u",
				      total, CHUNKED_SECTOR);
	count = (total + chunk_size - 1) / chunk_size;
	if (count > CHUNKED_COUNT_MAX)
		return aero_error_set(err, -EFBIG,
				      "%" PRIu64 " chunks of %" PRIu32
				      " bytes: more than the %u "
				      "chunks Aero's clients accept; choose "
				      "a larger chunk size",
				      count, chunk_size, CHUNKED_COUNT_MAX);
	c = calloc(1, sizeof(*c));
	if (c)
		c->chunk_sha = calloc((size_t)count, 32);
	if (!c || !c->chunk_sha) {
		free(c);
		return aero_error_set(err, -ENOMEM, "out of memory");
	}
	c->img = img;
	c->total = total;
	c->chunk_size = chunk_size;
	c->count = (uint32_t)count;
	*out = c;
	return 0;
}

void chunked_free(struct chunked *c)
{
	if (!c)
		return;
	free(c->chunk_sha);
	free(c);
}

uint64_t chunked_total(const struct chunked *c)
{
	return c->total;
}

uint32_t chunked_chunk_size(const struct chunked *c)
{
	return c->chunk_size;
}

uint32_t chunked_count(const struct chunked *c)
{
	return c->count;
}

void chunked_chunk_range(const struct chunked *c, uint32_t i, uint64_t *off,
			 uint64_t *len)
{
	*off = (uint64_t)i * c->chunk_size;
	*len = c->total - *off < c->chunk_size ? c->total - *off :
						 c->chunk_size;
}

static void hex(const unsigned char *d, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[2 * n] = '\0';
}

int chunked_hash(struct chunked *c, chunked_sink_fn *sink, void *ctx,
		 struct aero_error *err)
{
	EVP_MD_CTX *whole = EVP_MD_CTX_new(), *part = EVP_MD_CTX_new();
	unsigned char *buf = malloc(HASH_READ);
	int r = 0;

	if (!whole || !part || !buf ||
	    EVP_DigestInit_ex(whole, EVP_sha256(), NULL) != 1) {
		r = aero_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < c->count && r == 0; i++) {
		uint64_t off, len, done = 0;

		chunked_chunk_range(c, i, &off, &len);
		if (EVP_DigestInit_ex(part, EVP_sha256(), NULL) != 1) {
			r = aero_error_set(err, -ENOMEM, "out of memory");
			break;
		}
		while (done < len) {
			size_t want = len - done < HASH_READ ?
					      (size_t)(len - done) :
					      HASH_READ;
			ssize_t got;

			got = image_read(c->img, buf, want, off + done);
			if (got != (ssize_t)want) {
				r = aero_error_set(err, -EIO,
						   "cannot read "
						   "the image at offset "
						   "%" PRIu64 ": %s",
						   off + done,
						   got < 0 ?
							   strerror((int)-got) :
							   "short read");
				break;
			}
			EVP_DigestUpdate(whole, buf, want);
			EVP_DigestUpdate(part, buf, want);
			if (sink &&
			    (r = sink(ctx, i, off + done, buf, want)) < 0) {
				if (!err || !err->code)
					aero_error_set(err, r,
						       "stopped at "
						       "image offset %" PRIu64
						       ": %s",
						       off + done,
						       strerror(-r));
				break;
			}
			done += want;
		}
		if (r == 0)
			EVP_DigestFinal_ex(part, c->chunk_sha + 32 * (size_t)i,
					   NULL);
	}
	if (r == 0) {
		EVP_DigestFinal_ex(whole, c->sha256, NULL);
		memcpy(c->version, "sha256-", 7);
		hex(c->sha256, 32, c->version + 7);
		c->hashed = true;
	}
out:
	EVP_MD_CTX_free(whole);
	EVP_MD_CTX_free(part);
	free(buf);
	return r;
}

const unsigned char *chunked_chunk_sha256(const struct chunked *c, uint32_t i)
{
	return c->chunk_sha + 32 * (size_t)i;
}

const unsigned char *chunked_sha256(const struct chunked *c)
{
	return c->sha256;
}

const char *chunked_version(const struct chunked *c)
{
	return c->version;
}

void chunked_chunk_name(uint32_t i, char buf[CHUNKED_NAME_LEN])
{
	/* CHUNKED_COUNT_MAX has fewer than CHUNKED_INDEX_WIDTH digits. */
	snprintf(buf, CHUNKED_NAME_LEN, "%0*" PRIu32 ".bin",
		 CHUNKED_INDEX_WIDTH, i);
}

int64_t chunked_chunk_find(const struct chunked *c, const char *name)
{
	char want[CHUNKED_NAME_LEN];
	uint32_t i = 0;

	/* Exactly the width and suffix chunked_chunk_name() writes, so that
	 * every chunk has one name ("42.bin" is not chunk 42). */
	if (strlen(name) != CHUNKED_NAME_LEN - 1)
		return -ENOENT;
	for (int k = 0; k < CHUNKED_INDEX_WIDTH; k++) {
		if (name[k] < '0' || name[k] > '9')
			return -ENOENT;
		i = i * 10 + (uint32_t)(name[k] - '0');
		if (i >= c->count)
			return -ENOENT;
	}
	chunked_chunk_name(i, want);
	return strcmp(want, name) == 0 ? (int64_t)i : -ENOENT;
}

/* IMAGE_ID as a JSON string (RFC 8259 section 7). */
static void put_string(struct sbuf *sb, const char *s)
{
	sbuf_putc(sb, '"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			sbuf_printf(sb, "\\%c", ch);
		else if (ch < 0x20)
			sbuf_printf(sb, "\\u%04x", ch);
		else
			sbuf_putc(sb, (char)ch);
	}
	sbuf_putc(sb, '"');
}

char *chunked_manifest_json(const struct chunked *c, const char *image_id,
			    size_t *len)
{
	struct sbuf sb = SBUF_INIT;
	char h[65];

	sbuf_puts(&sb, "{\n  \"schema\": \"" CHUNKED_SCHEMA "\",\n"
		       "  \"imageId\": ");
	put_string(&sb, image_id);
	sbuf_printf(&sb,
		    ",\n  \"version\": \"%s\",\n"
		    "  \"mimeType\": \"" CHUNKED_MIME "\",\n"
		    "  \"totalSize\": %" PRIu64 ",\n"
		    "  \"chunkSize\": %" PRIu32 ",\n"
		    "  \"chunkCount\": %" PRIu32 ",\n"
		    "  \"chunkIndexWidth\": %d,\n"
		    "  \"chunks\": [\n",
		    c->version, c->total, c->chunk_size, c->count,
		    CHUNKED_INDEX_WIDTH);
	for (uint32_t i = 0; i < c->count; i++) {
		uint64_t off, n;

		chunked_chunk_range(c, i, &off, &n);
		hex(chunked_chunk_sha256(c, i), 32, h);
		sbuf_printf(&sb,
			    "    { \"size\": %" PRIu64 ", \"sha256\": "
			    "\"%s\" }%s\n",
			    n, h, i + 1 < c->count ? "," : "");
	}
	sbuf_puts(&sb, "  ]\n}\n");
	return sbuf_finish(&sb, len);
}

char *chunked_latest_json(const struct chunked *c, const char *image_id,
			  size_t *len)
{
	struct sbuf sb = SBUF_INIT;

	sbuf_puts(&sb, "{\n  \"imageId\": ");
	put_string(&sb, image_id);
	sbuf_printf(&sb,
		    ",\n  \"version\": \"%s\",\n"
		    "  \"manifest\": \"%s/manifest.json\"\n}\n",
		    c->version, c->version);
	return sbuf_finish(&sb, len);
}
