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
 * and the volume descriptors are where ECMA-119 puts them.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/pack.h"
#include "export/iso_image.h"

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct pack_builder *b;
	struct pack *pack = NULL;
	struct iso_image *img = NULL;
	struct iso_image_options opts = { 0 };
	unsigned char blobs[4][600];
	size_t blob_len[4];
	char path[1200], label[20];
	uint8_t *ref, *buf;
	uint64_t isize, off = 0;
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
	if (iso_image_build(pack, &opts, &img, NULL) < 0) {
		pack_unref(pack);
		return 0;
	}
	isize = iso_image_size(img);
	assert(isize % 2048 == 0 && isize >= 19 * 2048 && isize <= MAX_IMAGE);
	ref = malloc(isize);
	buf = malloc(isize + 100);
	assert(ref && buf);
	/* the reference: one sequential pass in uneven chunks */
	while (off < isize) {
		ssize_t got = iso_image_read(img, ref + off, 4093, off);

		assert(got > 0);
		off += (uint64_t)got;
	}
	assert(iso_image_read(img, buf, 10, isize) == 0);
	assert(memcmp(ref + 16 * 2048, "\001CD001\001", 7) == 0);
	for (size_t i = 0; i < 16 * 2048; i++)
		assert(ref[i] == 0);
	while (in.n >= 6) {
		uint64_t roff = ((uint64_t)take(&in) << 16 | take(&in) << 8 |
				 take(&in)) * 7 % (isize + 64);
		size_t rlen = ((size_t)take(&in) << 16 | take(&in) << 8 |
			       take(&in)) % (isize + 100);
		ssize_t got = iso_image_read(img, buf, rlen, roff);
		size_t want = roff >= isize ? 0 :
			      rlen < isize - roff ? rlen :
						    (size_t)(isize - roff);

		assert(got == (ssize_t)want);
		assert(want == 0 || memcmp(buf, ref + roff, want) == 0);
	}
	free(ref);
	free(buf);
	iso_image_free(img);
	pack_unref(pack);
	return 0;
}
