/*
 * test_chunked.c: export/image/chunked: chunk arithmetic at the edges,
 * the hashing pass against separate reads of each chunk, names, the
 * manifest text, and refused chunk sizes.
 */
#include "tests/harness.h"

#include <errno.h>
#include <openssl/evp.h>

#include "export/image/chunked.h"
#include "export/image/image.h"

static struct pack *make_pack(size_t nfiles)
{
	struct pack_builder *b = pack_builder_new(1262304000);
	struct aero_error err = { 0 };
	struct pack *p = NULL;
	unsigned char buf[5000];
	char name[64];

	assert(b);
	for (size_t i = 0; i < nfiles; i++) {
		size_t len = 100 + (i * 997) % (sizeof(buf) - 100);

		harness_fill(buf, len, (uint32_t)i + 7);
		snprintf(name, sizeof(name), "d%zu/f%zu.bin", i % 3, i);
		CHECK_EQ_INT(0, pack_builder_add_blob(b, name, buf, len, NULL,
						      &err));
	}
	CHECK_EQ_INT(0, pack_builder_finish(b, &p));
	assert(p);
	return p;
}

static void sha256(const struct image *img, uint64_t off, uint64_t len,
		   unsigned char out[32])
{
	unsigned char *buf = malloc(len ? len : 1);

	assert(buf);
	CHECK_EQ_INT((long long)len, image_read(img, buf, len, off));
	EVP_Digest(buf, len, out, NULL, EVP_sha256(), NULL);
	free(buf);
}

static struct image *make_image(struct pack *p)
{
	struct aero_error err = { 0 };
	struct image *img = NULL;

	CHECK_EQ_INT(0, image_build(image_format_find("iso"), p, NULL, &img,
				    &err));
	assert(img);
	return img;
}

static void check_chunks(const struct image *img, uint32_t size)
{
	struct aero_error err = { 0 };
	struct chunked *c = NULL;
	uint64_t total = image_size(img), sum = 0, off, len;
	unsigned char want[32];

	CHECK_EQ_INT(0, chunked_new(img, size, &c, &err));
	assert(c);
	CHECK_EQ_UINT((total + size - 1) / size, chunked_count(c));
	CHECK_EQ_INT(0, chunked_hash(c, NULL, NULL, &err));
	for (uint32_t i = 0; i < chunked_count(c); i++) {
		chunked_chunk_range(c, i, &off, &len);
		CHECK_EQ_UINT(sum, off);
		if (i + 1 < chunked_count(c))
			CHECK_EQ_UINT(size, len);
		CHECK(len > 0 && len <= size && len % 512 == 0);
		sha256(img, off, len, want);
		CHECK_EQ_MEM(want, chunked_chunk_sha256(c, i), 32);
		sum += len;
	}
	CHECK_EQ_UINT(total, sum);
	sha256(img, 0, total, want);
	CHECK_EQ_MEM(want, chunked_sha256(c), 32);
	CHECK(strncmp(chunked_version(c), "sha256-", 7) == 0);
	CHECK_EQ_INT(71, strlen(chunked_version(c)));
	chunked_free(c);
}

static void test_chunk_sizes(void)
{
	struct pack *p = make_pack(60);
	struct image *img = make_image(p);
	uint64_t total = image_size(img);

	/* an exact divisor, one sector, one chunk for all, a remainder */
	check_chunks(img, 2048);
	check_chunks(img, 512);
	check_chunks(img, CHUNKED_SIZE_DEFAULT);
	check_chunks(img, (uint32_t)total);
	check_chunks(img, 3 * 512);
	image_free(img);
	pack_unref(p);
}

static void test_names(void)
{
	struct pack *p = make_pack(10);
	struct image *img = make_image(p);
	struct aero_error err = { 0 };
	struct chunked *c = NULL;
	char name[CHUNKED_NAME_LEN];

	CHECK_EQ_INT(0, chunked_new(img, 2048, &c, &err));
	chunked_chunk_name(0, name);
	CHECK_EQ_STR("00000000.bin", name);
	chunked_chunk_name(42, name);
	CHECK_EQ_STR("00000042.bin", name);
	CHECK_EQ_INT(0, chunked_chunk_find(c, "00000000.bin"));
	CHECK_EQ_INT(42, chunked_chunk_find(c, "00000042.bin"));
	CHECK_EQ_INT(-ENOENT, chunked_chunk_find(c, "42.bin"));
	CHECK_EQ_INT(-ENOENT, chunked_chunk_find(c, "00000042.bix"));
	CHECK_EQ_INT(-ENOENT, chunked_chunk_find(c, "0000004x.bin"));
	CHECK_EQ_INT(-ENOENT, chunked_chunk_find(c, "000000042.bin"));
	chunked_chunk_name(chunked_count(c), name);
	CHECK_EQ_INT(-ENOENT, chunked_chunk_find(c, name));
	chunked_chunk_name(chunked_count(c) - 1, name);
	CHECK_EQ_INT(chunked_count(c) - 1, chunked_chunk_find(c, name));
	chunked_free(c);
	image_free(img);
	pack_unref(p);
}

static void test_manifest(void)
{
	struct pack *p = make_pack(10);
	struct image *img = make_image(p);
	struct aero_error err = { 0 };
	struct chunked *c = NULL, *c2 = NULL;
	char *m, *m2, *l, want[256];
	size_t len, len2, llen;

	CHECK_EQ_INT(0, chunked_new(img, 4096, &c, &err));
	CHECK_EQ_INT(0, chunked_hash(c, NULL, NULL, &err));
	m = chunked_manifest_json(c, "x-\"iso\"", &len);
	assert(m);
	CHECK_EQ_UINT(strlen(m), len);
	CHECK(strstr(m, "\"schema\": \"aero.chunked-disk-image.v1\""));
	CHECK(strstr(m, "\"imageId\": \"x-\\\"iso\\\"\""));
	snprintf(want, sizeof(want), "\"totalSize\": %llu,",
		 (unsigned long long)image_size(img));
	CHECK(strstr(m, want));
	snprintf(want, sizeof(want), "\"chunkCount\": %u,", chunked_count(c));
	CHECK(strstr(m, want));
	CHECK(strstr(m, "\"chunkIndexWidth\": 8,"));
	CHECK(strstr(m, "\"mimeType\": \"application/octet-stream\""));
	CHECK(m[len - 1] == '\n');
	/* same image and size: same bytes */
	CHECK_EQ_INT(0, chunked_new(img, 4096, &c2, &err));
	CHECK_EQ_INT(0, chunked_hash(c2, NULL, NULL, &err));
	m2 = chunked_manifest_json(c2, "x-\"iso\"", &len2);
	CHECK_EQ_UINT(len, len2);
	CHECK(m2 && memcmp(m, m2, len) == 0);
	l = chunked_latest_json(c, "x", &llen);
	snprintf(want, sizeof(want), "\"manifest\": \"%s/manifest.json\"",
		 chunked_version(c));
	CHECK(l && strstr(l, want));
	free(l);
	free(m);
	free(m2);
	chunked_free(c);
	chunked_free(c2);
	image_free(img);
	pack_unref(p);
}

/* Concatenates what the sink sees, and cancels at the third call. */
struct seen {
	unsigned char *buf;
	uint64_t next;
	int calls;
	int cancel_at;
};

static int sink(void *ctx, uint32_t chunk, uint64_t off, const void *data,
		size_t len)
{
	struct seen *s = ctx;

	CHECK_EQ_UINT(s->next, off);
	CHECK_EQ_UINT(off / 2048, chunk);
	CHECK(off / 2048 == (off + len - 1) / 2048);
	memcpy(s->buf + off, data, len);
	s->next = off + len;
	return ++s->calls == s->cancel_at ? -ECANCELED : 0;
}

static void test_sink(void)
{
	struct pack *p = make_pack(10);
	struct image *img = make_image(p);
	struct aero_error err = { 0 };
	struct chunked *c = NULL;
	struct seen s = { .buf = malloc(image_size(img)) };
	unsigned char *want = malloc(image_size(img));

	assert(s.buf && want);
	CHECK_EQ_INT((long long)image_size(img),
		     image_read(img, want, image_size(img), 0));
	CHECK_EQ_INT(0, chunked_new(img, 2048, &c, &err));
	CHECK_EQ_INT(0, chunked_hash(c, sink, &s, &err));
	CHECK_EQ_UINT(image_size(img), s.next);
	CHECK_EQ_MEM(want, s.buf, image_size(img));
	chunked_free(c);
	s = (struct seen){ .buf = s.buf, .cancel_at = 3 };
	CHECK_EQ_INT(0, chunked_new(img, 2048, &c, &err));
	CHECK_EQ_INT(-ECANCELED, chunked_hash(c, sink, &s, &err));
	CHECK_EQ_INT(3, s.calls);
	chunked_free(c);
	free(s.buf);
	free(want);
	image_free(img);
	pack_unref(p);
}

static void test_bad_sizes(void)
{
	struct pack *p = make_pack(10);
	struct image *img = make_image(p);
	struct aero_error err = { 0 };
	struct chunked *c = NULL;
	uint32_t v = 0;

	CHECK_EQ_INT(0, chunked_parse_size("4194304", &v, &err));
	CHECK_EQ_UINT(4194304, v);
	CHECK_EQ_INT(0, chunked_parse_size("64M", &v, &err));
	CHECK_EQ_UINT(64u << 20, v);
	CHECK_EQ_INT(0, chunked_parse_size("512", &v, &err));
	CHECK_EQ_INT(0, chunked_parse_size("1k", &v, &err));
	CHECK_EQ_UINT(1024, v);
	CHECK_EQ_INT(-EINVAL, chunked_parse_size("0", &v, &err));
	CHECK(strstr(err.msg, "must not be 0"));
	CHECK_EQ_INT(-EINVAL, chunked_parse_size("1000", &v, &err));
	CHECK(strstr(err.msg, "not a multiple of 512"));
	CHECK_EQ_INT(-EINVAL, chunked_parse_size("65M", &v, &err));
	CHECK(strstr(err.msg, "above the limit"));
	CHECK_EQ_INT(-EINVAL, chunked_parse_size("67109376", &v, &err));
	CHECK_EQ_INT(-EINVAL,
		     chunked_parse_size("99999999999999999999999", &v, &err));
	CHECK_EQ_INT(-EINVAL, chunked_parse_size("", &v, &err));
	CHECK_EQ_INT(-EINVAL, chunked_parse_size("-512", &v, &err));
	CHECK_EQ_INT(-EINVAL, chunked_parse_size("4MB", &v, &err));
	CHECK_EQ_INT(-EINVAL, chunked_parse_size("4 M", &v, &err));
	CHECK_EQ_INT(-EINVAL, chunked_new(img, 0, &c, &err));
	CHECK_EQ_INT(-EINVAL, chunked_new(img, 1000, &c, &err));
	CHECK_EQ_INT(-EINVAL, chunked_new(img, (64u << 20) + 512, &c, &err));
	CHECK(c == NULL);
	image_free(img);
	pack_unref(p);
}

int main(void)
{
	RUN(test_chunk_sizes);
	RUN(test_names);
	RUN(test_manifest);
	RUN(test_sink);
	RUN(test_bad_sizes);
	return harness_exit();
}
