/*
 * fuzz_iso_image.c: random packs laid out in every image format (ISO, FAT
 * disk, VHD), random reads.
 *
 * The input drives a pack (names from an alphabet heavy in the awkward
 * cases: case, dots, Joliet-forbidden characters, UTF-8, long runs; blob
 * contents, repeated contents, empty files, nested directories), the image
 * options and the label.  Each format's image is read once sequentially
 * (the reference), then at random offsets and lengths taken from the rest
 * of the input; every read, and every span stitched from image_span(),
 * must equal the slice of the reference.  Also checked, ISO: the size is a
 * multiple of 2048, reads past the end return 0, the volume descriptors
 * are where ECMA-119 puts them, and no two entries of a directory read as
 * one name in either tree.  FAT: the MBR partition, a cluster count inside
 * the type's range, equal FATs, and a walk of every directory: long name
 * checksums, no two equal short names, cluster chains in range and as
 * long as the file.  VHD: the raw part equals the FAT image.  A layout may
 * refuse a pack (FAT cannot store "a:b"); it must then say why.
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

#define MAX_ENTRIES 64
#define MAX_IMAGE (16u << 20)

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
	"a",
	"B",
	".",
	"txt",
	"inf",
	"_",
	"-",
	" ",
	"~1",
	":",
	"*",
	"?",
	";",
	"\\",
	"caf\xc3\xa9",
	"\xe2\x82\xac",
	"\xf0\x9f\x98\x80",
	"README",
	"readme",
	"LongNamePart",
	"0123456789",
	"/",
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

			if (take(in) % 8 == 0) { /* sometimes long */
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

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* FAT: a whole directory's entries, following its chain. */
struct fatvol {
	const uint8_t *part, *fat, *data;
	bool fat32;
	uint32_t csize, clusters;
};

static uint32_t fat_next(const struct fatvol *v, uint32_t c)
{
	return v->fat32 ? le32(v->fat + 4 * (size_t)c) & 0x0fffffff :
			  le16(v->fat + 2 * (size_t)c);
}

static bool fat_eoc(const struct fatvol *v, uint32_t c)
{
	return c >= (v->fat32 ? 0x0ffffff8u : 0xfff8u);
}

/* Clusters in the chain from C (which must be in range, never loop). */
static uint32_t fat_chain(const struct fatvol *v, uint32_t c)
{
	uint32_t n = 0;

	while (!fat_eoc(v, c)) {
		assert(c >= 2 && c < v->clusters + 2 && n <= v->clusters);
		n++;
		c = fat_next(v, c);
	}
	return n;
}

static uint8_t fat_sum(const uint8_t *sfn)
{
	uint8_t sum = 0;

	for (int i = 0; i < 11; i++)
		sum = (uint8_t)(((sum & 1) ? 0x80 : 0) + (sum >> 1) + sfn[i]);
	return sum;
}

static void fat_dir(const struct fatvol *v, const uint8_t *ents, size_t n,
		    int depth);

static void fat_dir_at(const struct fatvol *v, uint32_t c, int depth)
{
	uint32_t len = fat_chain(v, c), k = 0;
	uint8_t *buf = malloc((size_t)len * v->csize);

	assert(buf && len > 0);
	while (!fat_eoc(v, c)) {
		memcpy(buf + (size_t)k++ * v->csize,
		       v->data + (size_t)(c - 2) * v->csize, v->csize);
		c = fat_next(v, c);
	}
	fat_dir(v, buf, (size_t)len * v->csize / 32, depth);
	free(buf);
}

static void fat_dir(const struct fatvol *v, const uint8_t *ents, size_t n,
		    int depth)
{
	const uint8_t *sfn[MAX_ENTRIES + 4];
	size_t nsfn = 0;
	int lfn_left = -1;
	uint8_t lfn_sum = 0;

	assert(depth < 64);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *e = ents + 32 * i;
		uint32_t c;

		if (e[0] == 0)
			break;
		if (e[11] == 0x0f) { /* long name: N..1, then the entry */
			if (e[0] & 0x40) {
				assert(lfn_left == -1);
				lfn_left = e[0] & 0x3f;
				lfn_sum = e[13];
			}
			assert(lfn_left == (e[0] & 0x3f) && e[13] == lfn_sum);
			lfn_left--;
			continue;
		}
		assert(lfn_left == -1 ||
		       (lfn_left == 0 && fat_sum(e) == lfn_sum));
		lfn_left = -1;
		if (e[11] & 0x08 || e[0] == '.')
			continue; /* label, "." and ".." */
		for (size_t k = 0; k < nsfn; k++)
			assert(memcmp(sfn[k], e, 11) != 0);
		assert(nsfn < MAX_ENTRIES + 4);
		sfn[nsfn++] = e;
		c = (uint32_t)le16(e + 20) << 16 | le16(e + 26);
		if (e[11] & 0x10) {
			fat_dir_at(v, c, depth + 1);
		} else {
			uint32_t size = le32(e + 28);

			assert(c == 0 ? size == 0 :
					fat_chain(v, c) == (size + v->csize -
							    1) / v->csize);
		}
	}
	assert(lfn_left == -1);
}

static void check_fat(const uint8_t *img, uint64_t isize)
{
	const uint8_t *bs = img + 2048 * 512;
	struct fatvol v;
	uint32_t count = le32(img + 446 + 12), rsvd, fatsz, root_secs;

	assert(img[510] == 0x55 && img[511] == 0xaa && isize % 512 == 0);
	assert(le32(img + 446 + 8) == 2048);
	assert((2048 + (uint64_t)count) * 512 <= isize);
	assert(bs[510] == 0x55 && bs[511] == 0xaa && le16(bs + 11) == 512);
	v.fat32 = le16(bs + 22) == 0;
	rsvd = le16(bs + 14);
	fatsz = v.fat32 ? le32(bs + 36) : le16(bs + 22);
	root_secs = le16(bs + 17) * 32u / 512;
	v.csize = bs[13] * 512u;
	v.clusters = (count - rsvd - 2 * fatsz - root_secs) / bs[13];
	/* fatgen103 3.5: the type is the cluster count */
	assert(v.fat32 ? v.clusters >= 65525 :
			 v.clusters >= 4085 && v.clusters < 65525);
	v.part = bs;
	v.fat = bs + (size_t)rsvd * 512;
	v.data = v.fat + (size_t)(2 * fatsz + root_secs) * 512;
	assert(memcmp(v.fat, v.fat + (size_t)fatsz * 512,
		      (size_t)fatsz * 512) == 0);
	if (v.fat32)
		fat_dir_at(&v, le32(bs + 44), 0);
	else
		fat_dir(&v, v.fat + (size_t)2 * fatsz * 512, le16(bs + 17), 0);
}

/* Reads IMG sequentially, then at the offsets the input gives. */
static uint8_t *check_reads(const struct image *img, struct input in)
{
	uint64_t isize = image_size(img), off = 0;
	uint8_t *ref = malloc(isize), *buf = malloc(isize + 100);
	ssize_t got;

	assert(ref && buf);
	/* the reference: one sequential pass in uneven chunks */
	while (off < isize) {
		got = image_read(img, ref + off, 4093, off);
		assert(got > 0);
		off += (uint64_t)got;
	}
	got = image_read(img, buf, 10, isize);
	assert(got == 0);
	while (in.n >= 6) {
		/* One take() per statement: the order of evaluation of the
		 * operands of | is unspecified (C11 6.5p3). */
		uint64_t roff = (uint64_t)take(&in) << 16;
		size_t rlen, want;
		int rc;

		roff |= (uint64_t)take(&in) << 8;
		roff |= take(&in);
		roff = roff * 7 % (isize + 64);
		rlen = (size_t)take(&in) << 16;
		rlen |= (size_t)take(&in) << 8;
		rlen |= take(&in);
		rlen %= isize + 100;
		got = image_read(img, buf, rlen, roff);
		want = roff >= isize	   ? 0 :
		       rlen < isize - roff ? rlen :
					     (size_t)(isize - roff);
		struct pack_span sp;

		assert(got == (ssize_t)want);
		assert(want == 0 || memcmp(buf, ref + roff, want) == 0);
		/* the span there says the same */
		if (roff < isize) {
			rc = image_span(img, roff, &sp);
			assert(rc == 0 && sp.len > 0 && sp.len <= isize - roff);
			if (sp.kind == PACK_SPAN_MEM)
				assert(memcmp(sp.mem, ref + roff,
					      sp.len < 4096 ? sp.len : 4096) ==
				       0);
			if (sp.kind == PACK_SPAN_ZERO)
				assert(ref[roff] == 0);
		}
	}
	free(buf);
	return ref;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct pack_builder *b;
	struct pack *pack = NULL;
	struct image_options opts = { 0 };
	unsigned char blobs[4][600];
	size_t blob_len[4];
	char path[1200], label[20];
	uint8_t *fat_ref = NULL;
	uint64_t fat_size = 0;
	int64_t epoch = 0;
	unsigned flags, n;

	for (int i = 0; i < 8; i++)
		epoch = (int64_t)((uint64_t)epoch << 8 | take(&in));
	b = pack_builder_new(epoch);
	assert(b);
	flags = take(&in);
	opts.no_rock_ridge = flags & 1;
	opts.no_joliet = flags & 2;
	opts.no_winpe = flags & 8;
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
	/* table order: "iso", then "img" before "vhd" */
	for (const char *fmt_name = "iso"; fmt_name;
	     fmt_name = strcmp(fmt_name, "iso") == 0 ? "img" :
			strcmp(fmt_name, "img") == 0 ? "vhd" :
						       NULL) {
		const struct image_format *fmt = image_format_find(fmt_name);
		struct aero_error err = { 0 };
		struct image *img = NULL;
		uint64_t isize;
		uint8_t *ref;

		assert(fmt);
		if (image_build(fmt, pack, &opts, &img, &err) < 0) {
			assert(err.code < 0 && err.msg[0]);
			continue;
		}
		isize = image_size(img);
		assert(isize <= MAX_IMAGE);
		ref = check_reads(img, in);
		if (strcmp(fmt_name, "iso") == 0) {
			assert(isize % 2048 == 0 && isize >= 19 * 2048);
			assert(memcmp(ref + 16 * 2048, "\001CD001\001", 7) ==
			       0);
			for (size_t i = 0; i < 16 * 2048; i++)
				assert(ref[i] == 0);
			check_names(ref, isize, le32(ref + 16 * 2048 + 158),
				    false, 0);
			if (!opts.no_joliet)
				check_names(ref, isize,
					    le32(ref + 17 * 2048 + 158), true,
					    0);
			free(ref);
		} else if (strcmp(fmt_name, "img") == 0) {
			check_fat(ref, isize);
			fat_ref = ref;
			fat_size = isize;
		} else {
			/* the VHD is the raw disk plus a footer */
			assert(fat_ref && isize == fat_size + 512);
			assert(memcmp(ref, fat_ref, fat_size) == 0);
			assert(memcmp(ref + fat_size, "conectix", 8) == 0);
			free(ref);
		}
		image_free(img);
	}
	free(fat_ref);
	pack_unref(pack);
	return 0;
}
