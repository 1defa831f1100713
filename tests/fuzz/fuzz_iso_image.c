/*
 * fuzz_iso_image.c: random packs laid out as ISO images, random reads.
 *
 * The input drives a pack (names from an alphabet heavy in the awkward
 * cases: case, dots, Joliet-forbidden characters, UTF-8, long runs; blob
 * contents, repeated contents, empty files, nested directories), the image
 * options and the label.  The image is read once sequentially (the
 * reference), then at random offsets and lengths taken from the rest of
 * the input; every read must equal the slice of the reference.  Also
 * checked: the size is a multiple of 2048, reads past the end return 0,
 * the volume descriptors are where ECMA-119 puts them, and no two entries
 * of a directory read as one name in either tree.
 */
/* The checks below are assertions: keep them in every build. */
#undef NDEBUG
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/pack/pack.h"
#include "export/image/image.h"

/* The ISO format of the image layer. */
static int iso_build(struct pack *pack, const struct image_options *opts,
		     struct image **out, struct aero_error *err)
{
	return image_build(image_format_find("iso"), pack, opts, out, err);
}

#define MAX_ENTRIES 64
#define MAX_IMAGE (8u << 20)

struct input {
	const uint8_t *p;
	size_t n;
};

static unsigned take(struct input *in)
{
	unsigned v;

	if (!in->n)
		return 0;
	v = *in->p++;
	in->n--;
	return v;
}

static const char *const pieces[] = {
	"a", "B", ".", "txt", "inf", "_", "-", " ", "~1", ":", "*", "?", ";",
	"\\", "caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "README",
	"readme", "LongNamePart", "0123456789", "/",
};

/* A path of 1..4 components built from PIECES. */
static void make_path(struct input *in, char *path, size_t cap)
{
	size_t len = 0;
	unsigned depth = take(in) % 4 + 1;

	for (unsigned d = 0; d < depth; d++) {
		unsigned parts = take(in) % 12 + 1;

		if (d && len + 1 < cap)
			path[len++] = '/';
		for (unsigned i = 0; i < parts; i++) {
			size_t np = sizeof(pieces) / sizeof(*pieces);
			const char *s = pieces[take(in) % np];
			size_t sl = strlen(s);

			if (take(in) % 8 == 0) {	/* sometimes long */
				for (int k = 0; k < 20 && len + sl < cap; k++) {
					memcpy(path + len, s, sl);
					len += sl;
				}
			} else if (len + sl < cap) {
				memcpy(path + len, s, sl);
				len += sl;
			}
		}
	}
	path[len] = '\0';
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Unit I of an identifier, ASCII upper-cased. */
static unsigned id_unit(const uint8_t *id, size_t i, bool ucs2)
{
	unsigned c = ucs2 ? (unsigned)(id[2 * i] << 8 | id[2 * i + 1]) : id[i];

	return c >= 'a' && c <= 'z' ? c - 32 : c;
}

/* Identifier length in units as readers show it: no ";1", no final '.'. */
static size_t shown_len(const uint8_t *r, bool ucs2)
{
	size_t n = ucs2 ? r[32] / 2u : r[32];

	if (r[25] & 2)
		return n;
	if (n >= 2 && id_unit(r + 33, n - 2, ucs2) == ';' &&
	    id_unit(r + 33, n - 1, ucs2) == '1')
		n -= 2;
	if (n >= 1 && id_unit(r + 33, n - 1, ucs2) == '.')
		n--;
	return n;
}

/*
 * Walks directory EXTENT: no two records of one directory may read as the
 * same name (ignoring ASCII case in Joliet, where Windows does).
 */
static void check_names(const uint8_t *img, uint64_t isize, uint32_t extent,
			bool ucs2, int depth)
{
	const uint8_t *d = img + (uint64_t)extent * 2048;
	const uint8_t *recs[MAX_ENTRIES + 2];
	size_t n = 0;
	uint32_t size;

	assert(depth < 64 && ((uint64_t)extent + 1) * 2048 <= isize);
	size = le32(d + 10);
	assert(size % 2048 == 0 && (uint64_t)extent * 2048 + size <= isize);
	for (uint32_t o = 0, k = 0; o < size; k++) {
		const uint8_t *r = d + o;

		if (!r[0]) {
			o = (o / 2048 + 1) * 2048;
			continue;
		}
		o += r[0];
		if (k < 2)
			continue;
		assert(n < MAX_ENTRIES + 2);
		for (size_t j = 0; j < n; j++) {
			const uint8_t *q = recs[j];
			size_t a = shown_len(q, ucs2), l = shown_len(r, ucs2);
			size_t i = 0;

			while (a == l && i < l &&
			       id_unit(q + 33, i, ucs2) ==
				       id_unit(r + 33, i, ucs2))
				i++;
			assert(a != l || i < l);
		}
		recs[n++] = r;
		if (r[25] & 2)
			check_names(img, isize, le32(r + 2), ucs2, depth + 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct pack_builder *b;
	struct pack *pack = NULL;
	struct image *img = NULL;
	struct image_options opts = { 0 };
	unsigned char blobs[4][600];
	size_t blob_len[4];
	char path[1200], label[20];
	uint8_t *ref, *buf;
	uint64_t isize, off = 0;
	ssize_t got;
	int64_t epoch = 0;
	unsigned flags, n;

	for (int i = 0; i < 8; i++)
		epoch = (int64_t)((uint64_t)epoch << 8 | take(&in));
	b = pack_builder_new(epoch);
	assert(b);
	flags = take(&in);
	opts.no_rock_ridge = flags & 1;
	opts.no_joliet = flags & 2;
	if (flags & 4) {
		size_t l = take(&in) % 20;

		for (size_t i = 0; i < l; i++)
			label[i] = (char)(take(&in) % 94 + 33);
		label[l] = '\0';
		opts.label = label;
	}
	for (int i = 0; i < 4; i++) {
		blob_len[i] = take(&in) * 2u % sizeof(blobs[i]);
		for (size_t k = 0; k < blob_len[i]; k++)
			blobs[i][k] = (unsigned char)take(&in);
	}
	n = take(&in) % MAX_ENTRIES;
	for (unsigned i = 0; i < n; i++) {
		unsigned kind = take(&in);

		make_path(&in, path, sizeof(path));
		/* invalid or duplicate names are the builder's to refuse */
		if (kind % 5 == 0)
			pack_builder_add_dir(b, path, NULL);
		else
			pack_builder_add_blob(b, path, blobs[kind % 4],
					      kind & 8 ? 0 : blob_len[kind % 4],
					      NULL, NULL);
	}
	if (pack_builder_finish(b, &pack) < 0)
		return 0;
	if (iso_build(pack, &opts, &img, NULL) < 0) {
		pack_unref(pack);
		return 0;
	}
	isize = image_size(img);
	assert(isize % 2048 == 0 && isize >= 19 * 2048 && isize <= MAX_IMAGE);
	ref = malloc(isize);
	buf = malloc(isize + 100);
	assert(ref && buf);
	/* the reference: one sequential pass in uneven chunks */
	while (off < isize) {
		got = image_read(img, ref + off, 4093, off);
		assert(got > 0);
		off += (uint64_t)got;
	}
	got = image_read(img, buf, 10, isize);
	assert(got == 0);
	assert(memcmp(ref + 16 * 2048, "\001CD001\001", 7) == 0);
	for (size_t i = 0; i < 16 * 2048; i++)
		assert(ref[i] == 0);
	check_names(ref, isize, le32(ref + 16 * 2048 + 158), false, 0);
	if (!opts.no_joliet)
		check_names(ref, isize, le32(ref + 17 * 2048 + 158), true, 0);
	while (in.n >= 6) {
		/* One take() per statement: the order of evaluation of the
		 * operands of | is unspecified (C11 6.5p3). */
		uint64_t roff = (uint64_t)take(&in) << 16;
		size_t rlen, want;

		roff |= (uint64_t)take(&in) << 8;
		roff |= take(&in);
		roff = roff * 7 % (isize + 64);
		rlen = (size_t)take(&in) << 16;
		rlen |= (size_t)take(&in) << 8;
		rlen |= take(&in);
		rlen %= isize + 100;
		got = image_read(img, buf, rlen, roff);
		want = roff >= isize ? 0 :
			      rlen < isize - roff ? rlen :
						    (size_t)(isize - roff);

		assert(got == (ssize_t)want);
		assert(want == 0 || memcmp(buf, ref + roff, want) == 0);
	}
	free(ref);
	free(buf);
	image_free(img);
	pack_unref(pack);
	return 0;
}
