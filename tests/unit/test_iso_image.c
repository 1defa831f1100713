/*
 * test_iso_image.c: the virtual ISO image, read back by independent tools.
 *
 * A pack is built from blobs and a real temporary source file with the
 * awkward cases: names that need mangling, names that collide after
 * mangling, extensionless files, deep directories, names longer than 64
 * characters (Joliet) and than 110 bytes (Rock Ridge continuation areas),
 * identical contents, empty files, a 10 MB file, a directory with more
 * records than fit in one sector.  The image is read sequentially into a
 * file, which isoinfo, isovfy, xorriso, bsdtar and 7z then inspect and
 * extract; extracted bytes and names must equal the pack.  An independent
 * walker checks the path table and directory record order of ECMA-119 9.3
 * and 9.4 on the raw bytes.  Random reads (also from four threads at once)
 * must equal slices of the sequential image, and the bytes must not depend
 * on TZ or umask.  A missing tool skips only the checks that need it.
 */
#include "tests/harness.h"
#include "tests/unit/image_test.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "catalog/pack/pack.h"
#include "export/image/image.h"

/* The ISO format of the image layer. */
static int iso_build(struct pack *pack, const struct image_options *opts,
		     struct image **out, struct aero_error *err)
{
	return image_build(image_format_find("iso"), pack, opts, out, err);
}

#define EPOCH 1700000000 /* 2023-11-14 22:13:20 UTC */
#define BIG (10u << 20)

static char tmpdir[64];
static char big_path[128];

static const char long64[] = /* 70 characters: Joliet truncates */
	"a-rather-long-driver-file-name-that-goes-past-joliet-64-limit.txt";
static char long255[256];

static const char *const blob_names[] = {
	"README",  /* extensionless */
	"Readme.", /* collides with README */
	"manifest.json",
	"win7/x86/viostor/viostor.inf",
	"win7/amd64/viostor/viostor.inf", /* same bytes as x86 */
	"win7/x86/viostor/viostor.cat",
	"Mixed Case-name.with.dots.txt",
	"bad:chars*?;x.txt",
	"caf\xc3\xa9 \xe2\x82\xac.txt", /* café €.txt */
	"dir.with.dots/file",
	"d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/d12/leaf.txt",
	"THIRD_PARTY_NOTICES.md",
	"licenses/virtio-win/LICENSE",
};

static struct pack *make_pack(int64_t epoch)
{
	struct pack_builder *b = pack_builder_new(epoch);
	struct aero_error err = { 0 };
	struct pack *p = NULL;
	struct pack_extent ext[2];
	unsigned char buf[300];
	char name[64];
	int fd, src;

	/* The label comes from the pack when the options give none. */
	CHECK_EQ_INT(-EINVAL, pack_builder_set_label(b, ""));
	CHECK_EQ_INT(0, pack_builder_set_label(b, "AERO_W7_DRIVERS"));
	struct stat st;

	assert(b);
	for (size_t i = 0; i < sizeof(blob_names) / sizeof(*blob_names); i++) {
		size_t len = 17 + i * 13;

		harness_fill(buf, len, (uint32_t)i + 1);
		/* the two viostor.inf files share content */
		if (strstr(blob_names[i], "viostor.inf"))
			memcpy(buf,
			       "[Version]\r\nSignature=\"$WINDOWS NT$\""
			       "\r\n",
			       len = 37);
		CHECK_EQ_INT(0, pack_builder_add_blob(b, blob_names[i], buf,
						      len, NULL, &err));
	}
	CHECK_EQ_INT(0,
		     pack_builder_add_blob(b, "empty.txt", "", 0, NULL, &err));
	CHECK_EQ_INT(0, pack_builder_add_blob(b, "win7/empty2", "", 0, NULL,
					      &err));
	CHECK_EQ_INT(0,
		     pack_builder_add_blob(b, long64, "long", 4, NULL, &err));
	CHECK_EQ_INT(0, pack_builder_add_blob(b, long255, "longer", 6, NULL,
					      &err));
	/* 80 files: the directory takes several sectors */
	for (int i = 0; i < 80; i++) {
		snprintf(name, sizeof(name), "many/file-%03d-%s.dat", i,
			 i % 2 ? "odd" : "even-and-somewhat-longer");
		harness_fill(buf, 40, (uint32_t)i + 100);
		CHECK_EQ_INT(0, pack_builder_add_blob(b, name, buf, 40, NULL,
						      &err));
	}
	/* file-backed content: a 10 MB file, and a 2-extent file */
	fd = open(big_path, O_RDONLY);
	assert(fd >= 0 && fstat(fd, &st) == 0);
	src = pack_builder_add_source(b, fd, (uint64_t)st.st_size);
	CHECK(src >= 0);
	ext[0] = (struct pack_extent){ (unsigned)src, 0, BIG };
	CHECK_EQ_INT(0, pack_builder_add_file(b, "win7/x86/viostor/big.sys",
					      ext, 1, NULL, &err));
	ext[0] = (struct pack_extent){ (unsigned)src, 4096, 1000 };
	ext[1] = (struct pack_extent){ (unsigned)src, 12345, 3000 };
	CHECK_EQ_INT(0, pack_builder_add_file(b, "win7/amd64/viostor/two.sys",
					      ext, 2, NULL, &err));
	/* same bytes as big.sys, from the same extent: shares its data */
	ext[0] = (struct pack_extent){ (unsigned)src, 0, BIG };
	CHECK_EQ_INT(0, pack_builder_add_file(b, "win7/amd64/viostor/big.sys",
					      ext, 1, NULL, &err));
	close(fd);
	if (err.code)
		fprintf(stderr, "pack: %s\n", err.msg);
	CHECK_EQ_INT(0, pack_builder_finish(b, &p));
	assert(p);
	return p;
}

static unsigned char *node_bytes(const struct pack *p,
				 const struct pack_node *n)
{
	uint64_t size = pack_node_size(n);
	unsigned char *buf = malloc(size + 1);

	assert(buf);
	assert(pack_node_read(p, n, buf, size, 0) == (ssize_t)size);
	return buf;
}

/*
 * Checks that every file of the pack is under ROOT with the same bytes
 * (names through MAP, which may return NULL to skip a file) and that ROOT
 * holds nothing else.
 */
static size_t compare_tree(const struct pack *p, const struct pack_node *dir,
			   const char *root, bool exact_names)
{
	size_t files = 0;

	for (size_t i = 0; i < pack_node_nchildren(dir); i++) {
		const struct pack_node *n = pack_node_child(dir, i);
		char path[1024];
		unsigned char *want, *got;
		size_t len = 0;

		if (pack_node_is_dir(n)) {
			files += compare_tree(p, n, root, exact_names);
			continue;
		}
		if (!exact_names && strlen(pack_node_name(n)) > 64)
			continue;
		/* Joliet maps these; Windows and 7z drop a trailing dot */
		if (!exact_names &&
		    (strpbrk(pack_node_name(n), ":*?;") ||
		     pack_node_name(n)[strlen(pack_node_name(n)) - 1] == '.'))
			continue;
		snprintf(path, sizeof(path), "%s/%s", root, pack_node_path(n));
		got = slurp(path, &len);
		if (!got) {
			FAIL_AT("%s: missing from the extracted tree", path);
			continue;
		}
		want = node_bytes(p, n);
		CHECK_EQ_UINT(pack_node_size(n), len);
		if (len == pack_node_size(n))
			CHECK_EQ_MEM(want, got, len);
		free(want);
		free(got);
		files++;
	}
	return files;
}

static size_t count_files(const struct pack_node *dir)
{
	size_t n = 0;

	for (size_t i = 0; i < pack_node_nchildren(dir); i++) {
		const struct pack_node *c = pack_node_child(dir, i);

		n += pack_node_is_dir(c) ? count_files(c) : 1;
	}
	return n;
}

static struct pack *pack;
static struct image *image;
static char iso_path[128];

static void test_build(void)
{
	struct aero_error err = { 0 };
	/* $WinPEDriver$ has tests of its own (test_fat_image.c,
	 * test_iso_winpe): these check the tree of the pack as it is. */
	struct image_options opts = { .no_winpe = true };

	pack = make_pack(EPOCH);
	CHECK_EQ_INT(0, iso_build(pack, &opts, &image, &err));
	if (err.code)
		fprintf(stderr, "build: %s\n", err.msg);
	assert(image);
	CHECK_EQ_UINT(0, image_size(image) % 2048);
	/* odd chunk size: reads that straddle every kind of region */
	snprintf(iso_path, sizeof(iso_path), "%s/image.iso", tmpdir);
	write_image(image, iso_path, 12347);
}

/*
 * An independent check of ECMA-119 9.3 and 9.4 on the raw image: the path
 * table is ordered by level, then parent number, then identifier (padded
 * with spaces), the M table mirrors the L table, each path table entry
 * names a directory record with the same extent in its parent, every
 * directory starts with "." and "..", records never cross a sector, and
 * directory records are in identifier order.
 */
static uint32_t le32(const unsigned char *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t be32(const unsigned char *p)
{
	return p[3] | p[2] << 8 | p[1] << 16 | (uint32_t)p[0] << 24;
}

static unsigned unit(const unsigned char *id, size_t i, bool ucs2)
{
	return ucs2 ? (unsigned)(id[2 * i] << 8 | id[2 * i + 1]) : id[i];
}

/* ECMA-119 9.3/9.4: compare padded with spaces; SPLIT at '.' and ';'. */
static int id_cmp(const unsigned char *a, size_t al, const unsigned char *b,
		  size_t bl, bool ucs2, bool split)
{
	size_t an = ucs2 ? al / 2 : al, bn = ucs2 ? bl / 2 : bl;
	size_t ai = 0, bi = 0;

	/* field by field: name, then extension, then version */
	for (int field = 0; field < (split ? 3 : 1); field++) {
		size_t ae = ai, be = bi;

		while (ae < an && !(split && field < 2 &&
				    unit(a, ae, ucs2) == (field ? ';' : '.')))
			ae++;
		while (be < bn && !(split && field < 2 &&
				    unit(b, be, ucs2) == (field ? ';' : '.')))
			be++;
		for (size_t k = 0; k < ae - ai || k < be - bi; k++) {
			unsigned x = k < ae - ai ? unit(a, ai + k, ucs2) : ' ';
			unsigned y = k < be - bi ? unit(b, bi + k, ucs2) : ' ';

			if (x != y)
				return field == 2 ? (x < y ? 1 : -1) :
						    (x < y ? -1 : 1);
		}
		ai = ae < an ? ae + 1 : ae;
		bi = be < bn ? be + 1 : be;
	}
	return 0;
}

struct pt_entry {
	uint32_t extent;
	unsigned parent, level;
	const unsigned char *id;
	size_t len;
};

static void check_tree(const unsigned char *b, size_t len, unsigned sector,
		       bool ucs2)
{
	const unsigned char *vd = b + sector * 2048;
	uint32_t pt_size = le32(vd + 132), lpt = le32(vd + 140);
	uint32_t mpt = be32(vd + 148);
	struct pt_entry *e = calloc(70000, sizeof(*e));
	size_t n = 0, off = 0;

	assert(e);
	while (off < pt_size) {
		const unsigned char *r = b + lpt * 2048 + off;
		const unsigned char *m = b + mpt * 2048 + off;

		e[n].len = r[0];
		e[n].extent = le32(r + 2);
		e[n].parent = r[6] | r[7] << 8;
		e[n].id = r + 8;
		/* 9.4: the M table holds the same records big-endian */
		CHECK_EQ_UINT(e[n].extent, be32(m + 2));
		CHECK_EQ_UINT(e[n].parent, (unsigned)(m[6] << 8 | m[7]));
		CHECK_EQ_MEM(r + 8, m + 8, e[n].len);
		if (n == 0) {
			CHECK_EQ_UINT(1, e[n].parent);
			CHECK_EQ_UINT(1, e[n].len);
			e[n].level = 1;
		} else if (e[n].parent < 1 || e[n].parent > n) {
			FAIL_AT("path table entry %zu: parent %u", n,
				e[n].parent);
			break;
		} else {
			const struct pt_entry *prev = &e[n - 1];

			e[n].level = e[e[n].parent - 1].level + 1;
			/* 9.4: level, then parent number, then identifier */
			CHECK(prev->level <= e[n].level);
			if (n > 1 && prev->level == e[n].level) {
				CHECK(prev->parent <= e[n].parent);
				if (prev->parent == e[n].parent)
					CHECK(id_cmp(prev->id, prev->len,
						     e[n].id, e[n].len, ucs2,
						     false) < 0);
			}
		}
		off += 8 + e[n].len + (e[n].len & 1);
		n++;
	}
	CHECK(n > 10);
	/* each directory: ".", "..", sorted records, none across sectors,
	 * and every subdirectory where the path table says it is */
	for (size_t i = 0; i < n; i++) {
		const unsigned char *d = b + (size_t)e[i].extent * 2048;
		uint32_t size = le32(d + 10);
		const unsigned char *prev = NULL;
		size_t prev_len = 0, recs = 0;

		CHECK(e[i].extent * 2048ull + size <= len);
		CHECK_EQ_UINT(0, size % 2048);
		for (size_t o = 0; o < size;) {
			const unsigned char *r = d + o;
			size_t rl = r[0];

			if (rl == 0) { /* rest of the sector is padding */
				o = (o / 2048 + 1) * 2048;
				continue;
			}
			CHECK(o % 2048 + rl <= 2048);
			CHECK_EQ_UINT(0, rl & 1);
			if (recs == 0 || recs == 1) {
				CHECK_EQ_UINT(1, r[32]);
				CHECK_EQ_UINT(recs, r[33]);
				if (recs == 0)
					CHECK_EQ_UINT(e[i].extent, le32(r + 2));
				if (recs == 1)
					CHECK_EQ_UINT(e[e[i].parent - 1].extent,
						      le32(r + 2));
			} else {
				if (prev)
					CHECK(id_cmp(prev, prev_len, r + 33,
						     r[32], ucs2,
						     !(r[25] & 2)) < 0);
				prev = r + 33;
				prev_len = r[32];
				for (size_t k = 0; (r[25] & 2) && k < n; k++)
					if (e[k].parent == i + 1 && k != i &&
					    e[k].len == r[32] &&
					    memcmp(e[k].id, r + 33, r[32]) == 0)
						CHECK_EQ_UINT(e[k].extent,
							      le32(r + 2));
			}
			recs++;
			o += rl;
		}
		CHECK(recs >= 2);
	}
	free(e);
}

static void test_tables(void)
{
	size_t len;
	unsigned char *b = slurp(iso_path, &len);

	assert(b);
	check_tree(b, len, 16, false);
	check_tree(b, len, 17, true);
	free(b);
}

static void test_descriptors(void)
{
	size_t len;
	unsigned char *b = slurp(iso_path, &len);
	char *out;

	assert(b);
	CHECK_EQ_UINT(image_size(image), len);
	for (size_t i = 0; i < 16 * 2048; i++)
		if (b[i]) {
			FAIL_AT("system area byte %zu is not zero", i);
			break;
		}
	CHECK_EQ_MEM("\001CD001\001", b + 16 * 2048, 7);
	CHECK_EQ_MEM("\002CD001\001", b + 17 * 2048, 7);
	CHECK_EQ_MEM("\377CD001\001", b + 18 * 2048, 7);
	/* Joliet volume id in UCS-2BE, padded with UCS-2 spaces */
	CHECK_EQ_MEM("\0A\0E\0R\0O\0_\0W\0007\0_\0D\0R\0I\0V\0E\0R\0S",
		     b + 17 * 2048 + 40, 30);
	CHECK_EQ_MEM("%/E", b + 17 * 2048 + 88, 3);
	/* PVD dates: 2023-11-14 22:13:20 UTC, offset 0 */
	CHECK_EQ_MEM("2023111422132000\0", b + 16 * 2048 + 813, 17);
	CHECK_EQ_MEM("0000000000000000\0", b + 16 * 2048 + 847, 17);
	free(b);

	REQUIRE_TOOL("isoinfo");
	out = harness_capture("isoinfo -d -debug -i %s 2>&1", iso_path);
	CHECK(strstr(out, "Volume id: AERO_W7_DRIVERS\n"));
	CHECK(strstr(out, "System id: AERO\n"));
	CHECK(strstr(out, "Application id: AEROFS "));
	CHECK(strstr(out, "Rock Ridge signatures version 1 found"));
	CHECK(strstr(out, "Joliet with UCS level 3 found"));
	CHECK(strstr(out, "Creation Date:     2023 11 14 22:13:20.00"));
	if (!strstr(out, "Creation Date:     2023 11 14 22:13:20.00"))
		fprintf(stderr, "%s", out);
	free(out);
}

static void test_isovfy(void)
{
	char *out;

	REQUIRE_TOOL("isovfy");
	out = harness_capture("isovfy %s 2>&1", iso_path);
	/* isovfy prints one line per problem; a clean image has none */
	CHECK(strstr(out, "No errors found"));
	CHECK(!strstr(out, "***"));
	if (!strstr(out, "No errors found"))
		fprintf(stderr, "%s", out);
	free(out);
}

static void test_isoinfo_listings(void)
{
	char *rr, *jol, *plain;

	REQUIRE_TOOL("isoinfo");
	rr = harness_capture("isoinfo -l -R -i %s 2>&1", iso_path);
	jol = harness_capture("isoinfo -l -J -i %s 2>&1", iso_path);
	plain = harness_capture("isoinfo -l -i %s 2>&1", iso_path);
	/* Rock Ridge: exact names and modes */
	CHECK(strstr(rr, " README "));
	CHECK(strstr(rr, " Readme. "));
	CHECK(strstr(rr, "Directory listing of /d1/d2/d3/d4/d5/d6/d7/d8/d9/"
			 "d10/d11/d12/"));
	CHECK(strstr(rr, long255));
	CHECK(strstr(rr, "-r--r--r--"));
	CHECK(strstr(rr, "dr-xr-xr-x"));
	CHECK(strstr(rr, "Mixed Case-name.with.dots.txt"));
	/* Joliet: exact up to 64, forbidden characters mapped */
	CHECK(strstr(jol, "Mixed Case-name.with.dots.txt"));
	CHECK(strstr(jol, "bad_chars___x.txt"));
	CHECK(strstr(jol, "Directory listing of /dir.with.dots/"));
	/* primary: d-characters, ";1", extensionless keeps its '.' */
	CHECK(strstr(plain, " README.;1 "));
	CHECK(strstr(plain, " README_1.;1 "));
	CHECK(strstr(plain, " MIXED_CASE_NAME_WITH_DOTS.TXT;1 "));
	CHECK(strstr(plain, "Directory listing of /DIR_WITH_DOTS/"));
	CHECK(strstr(plain, " VIOSTOR.INF;1 "));
	if (!strstr(plain, " README_1.;1 "))
		fprintf(stderr, "%s", plain);
	free(rr);
	free(jol);
	free(plain);
}

static void test_xorriso(void)
{
	char *out;
	char want[600];

	REQUIRE_TOOL("xorriso");
	out = harness_capture("xorriso -indev %s -find / -exec lsdl "
			      "2>/dev/null",
			      iso_path);
	CHECK(strstr(out, "'/win7/x86/viostor/big.sys'"));
	CHECK(strstr(out, "'/README'"));
	CHECK(strstr(out, "'/caf\xc3\xa9 \xe2\x82\xac.txt'"));
	snprintf(want, sizeof(want), "'/%s'", long255);
	CHECK(strstr(out, want));
	CHECK(strstr(out, "10485760"));
	free(out);
	/* xorriso's own checker of the directory tree and Rock Ridge */
	out = harness_capture("xorriso -abort_on NEVER -indev %s -check_media "
			      "-- "
			      "2>&1",
			      iso_path);
	CHECK(!strstr(out, "FAILURE"));
	CHECK(!strstr(out, "SORRY"));
	if (strstr(out, "FAILURE") || strstr(out, "SORRY"))
		fprintf(stderr, "%s", out);
	free(out);
}

static void test_bsdtar(void)
{
	char dir[128];
	char *list;

	REQUIRE_TOOL("bsdtar");
	snprintf(dir, sizeof(dir), "%s/bsdtar", tmpdir);
	CHECK_EQ_INT(0, harness_sh("mkdir -p %s && bsdtar -xf %s -C %s", dir,
				   iso_path, dir));
	CHECK_EQ_UINT(count_files(pack_root(pack)),
		      compare_tree(pack, pack_root(pack), dir, true));
	/* nothing extra: as many regular files as the pack has */
	list = harness_capture("find %s -type f | wc -l", dir);
	CHECK_EQ_UINT(count_files(pack_root(pack)), strtoul(list, NULL, 10));
	free(list);
	list = harness_capture("bsdtar -tvf %s", iso_path);
	CHECK(strstr(list, "win7/x86/viostor/viostor.inf"));
	free(list);
}

static void test_7z(void)
{
	char dir[128];
	char *out;

	REQUIRE_TOOL("7z");
	snprintf(dir, sizeof(dir), "%s/7z", tmpdir);
	out = harness_capture("7z l %s 2>&1", iso_path);
	CHECK(strstr(out, "Mixed Case-name.with.dots.txt"));
	free(out);
	CHECK_EQ_INT(0, harness_sh("7z x -y -o%s %s >/dev/null 2>&1", dir,
				   iso_path));
	/* 7z reads Joliet: names up to 64 characters are exact */
	compare_tree(pack, pack_root(pack), dir, false);
	out = harness_capture("ls %s", dir);
	/* the 70-character name is cut to 64 with its extension */
	CHECK(strstr(out, "a-rather-long-driver-file-name-that-goes-past-"
			  "joliet-64-limi.txt"));
	free(out);
}

static void test_random_reads(void)
{
	size_t len;
	unsigned char *whole = slurp(iso_path, &len), *buf;
	uint32_t x = 12345;

	assert(whole);
	buf = malloc(1 << 20);
	assert(buf);
	for (int i = 0; i < 2000; i++) {
		uint64_t off, n;
		ssize_t got;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		off = x % (len + 100);
		n = i % 3 ? x % 5000 : x % (1 << 20);
		got = image_read(image, buf, n, off);
		if (off >= len) {
			CHECK_EQ_INT(0, got);
			continue;
		}
		if (n > len - off)
			n = len - off;
		CHECK_EQ_INT((ssize_t)n, got);
		if (got == (ssize_t)n && memcmp(whole + off, buf, n) != 0) {
			FAIL_AT("read of %llu at %llu differs",
				(unsigned long long)n, (unsigned long long)off);
			break;
		}
	}
	free(buf);
	free(whole);
}

/*
 * Assembles N bytes at OFF from image_span() the way fs/ops.c does
 * (pread for descriptors, memcpy for memory, zeros), checking each span's
 * own contract.  Returns the number of spans used, or -1 on a failure.
 */
static int stitch(const struct image *img, uint64_t off, size_t n,
		  unsigned char *out, unsigned *kinds)
{
	uint64_t size = image_size(img);
	int spans = 0;

	while (n) {
		struct pack_span sp;
		size_t len;
		int rc = image_span(img, off, &sp);

		if (rc != 0) {
			FAIL_AT("span at %llu: %d", (unsigned long long)off,
				rc);
			return -1;
		}
		if (sp.len == 0 || sp.len > size - off) {
			FAIL_AT("span at %llu: bad length %llu",
				(unsigned long long)off,
				(unsigned long long)sp.len);
			return -1;
		}
		len = sp.len < n ? (size_t)sp.len : n;
		switch (sp.kind) {
		case PACK_SPAN_FD:
			CHECK(sp.fd >= 0 && sp.mem == NULL);
			if (pread(sp.fd, out, len, (off_t)sp.fd_offset) !=
			    (ssize_t)len) {
				FAIL_AT("pread of span at %llu",
					(unsigned long long)off);
				return -1;
			}
			break;
		case PACK_SPAN_MEM:
			CHECK(sp.fd == -1 && sp.mem != NULL);
			memcpy(out, sp.mem, len);
			break;
		case PACK_SPAN_ZERO:
			CHECK(sp.fd == -1 && sp.mem == NULL);
			memset(out, 0, len);
			break;
		default:
			FAIL_AT("span at %llu: kind %d",
				(unsigned long long)off, (int)sp.kind);
			return -1;
		}
		*kinds |= 1u << sp.kind;
		out += len;
		off += len;
		n -= len;
		spans++;
	}
	return spans;
}

/* Spans stitched together give the bytes image_read() gives. */
static void test_spans(void)
{
	size_t len;
	unsigned char *whole = slurp(iso_path, &len), *buf, *ref;
	struct pack_span sp;
	unsigned kinds = 0;
	uint32_t x = 4242;
	int n;

	assert(whole);
	CHECK_EQ_UINT(image_size(image), len);
	/* The whole image, span by span: every kind occurs, and the walk
	 * ends exactly at the end (a span is never empty). */
	buf = malloc(len);
	ref = malloc(1 << 20);
	assert(buf && ref);
	n = stitch(image, 0, len, buf, &kinds);
	CHECK(n > 3);
	CHECK(memcmp(buf, whole, len) == 0);
	CHECK_EQ_UINT(7, kinds);
	CHECK_EQ_INT(-EINVAL, image_span(image, len, &sp));
	CHECK_EQ_INT(-EINVAL, image_span(image, len + 1, &sp));
	CHECK_EQ_INT(-EINVAL, image_span(image, UINT64_MAX, &sp));
	/* The system area (ECMA-119 6.2.1) is one zero span. */
	CHECK_EQ_INT(0, image_span(image, 100, &sp));
	CHECK_EQ_INT(PACK_SPAN_ZERO, sp.kind);
	CHECK_EQ_UINT(16 * 2048 - 100, sp.len);
	/* Random ranges, many of them across several regions. */
	for (int i = 0; i < 2000; i++) {
		uint64_t off, cnt;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		off = x % len;
		cnt = i % 3 ? x % 9000 : x % (1 << 20);
		if (cnt > len - off)
			cnt = len - off;
		if (image_read(image, ref, cnt, off) != (ssize_t)cnt) {
			FAIL_AT("read of %llu at %llu", (unsigned long long)cnt,
				(unsigned long long)off);
			break;
		}
		if (stitch(image, off, cnt, buf, &kinds) < 0 ||
		    memcmp(buf, ref, cnt) != 0) {
			FAIL_AT("spans of %llu at %llu differ",
				(unsigned long long)cnt,
				(unsigned long long)off);
			break;
		}
	}
	free(ref);
	free(buf);
	free(whole);
}

/* Reads from several threads at once: no shared mutable state. */
struct reader {
	const unsigned char *whole;
	size_t len;
	uint32_t seed;
	int bad;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	unsigned char *buf = malloc(70000);
	uint32_t x = r->seed;

	assert(buf);
	for (int i = 0; i < 3000; i++) {
		uint64_t off, n;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		off = x % r->len;
		n = x % 70000;
		if (n > r->len - off)
			n = r->len - off;
		if (i % 2) {
			unsigned kinds = 0;

			if (stitch(image, off, n, buf, &kinds) < 0 ||
			    memcmp(buf, r->whole + off, n) != 0)
				r->bad++;
		} else if (image_read(image, buf, n, off) != (ssize_t)n ||
			   memcmp(buf, r->whole + off, n) != 0) {
			r->bad++;
		}
	}
	free(buf);
	return NULL;
}

static void test_threads(void)
{
	struct reader rd[4];
	pthread_t th[4];
	size_t len;
	unsigned char *whole = slurp(iso_path, &len);

	assert(whole);
	for (int i = 0; i < 4; i++) {
		rd[i] = (struct reader){ whole, len, 777u + 13u * (unsigned)i,
					 0 };
		assert(pthread_create(&th[i], NULL, reader_main, &rd[i]) == 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ_INT(0, rd[i].bad);
	}
	free(whole);
}

/* Identical contents share one extent: the image is smaller than both. */
static void test_shared_extents(void)
{
	/* two 10 MB files with one extent: the image holds 10 MB once */
	CHECK(image_size(image) < BIG + BIG / 2);
	CHECK(image_size(image) > BIG);
}

/* Builds the image in a child with TZ and umask changed; returns a hash. */
static uint64_t image_hash_in_child(const char *tz, mode_t mask)
{
	int fds[2];
	pid_t pid;
	uint64_t h = 0;

	assert(pipe(fds) == 0);
	pid = fork();
	assert(pid >= 0);
	if (pid == 0) {
		struct image *img;
		struct pack *p;
		unsigned char buf[65536];
		uint64_t off = 0, hash = 1469598103934665603ull;
		ssize_t n;

		setenv("TZ", tz, 1);
		tzset();
		umask(mask);
		p = make_pack(EPOCH);
		if (iso_build(p, NULL, &img, NULL) < 0)
			_exit(1);
		while ((n = image_read(img, buf, sizeof(buf), off)) > 0) {
			for (ssize_t i = 0; i < n; i++)
				hash = (hash ^ buf[i]) * 1099511628211ull;
			off += (uint64_t)n;
		}
		assert(write(fds[1], &hash, sizeof(hash)) == sizeof(hash));
		image_free(img);
		pack_unref(p);
		_exit(0);
	}
	close(fds[1]);
	assert(read(fds[0], &h, sizeof(h)) == sizeof(h));
	close(fds[0]);
	waitpid(pid, NULL, 0);
	return h;
}

static void test_deterministic(void)
{
	uint64_t a = image_hash_in_child("UTC0", 022);
	uint64_t b = image_hash_in_child("America/Los_Angeles", 077);
	uint64_t c = image_hash_in_child("Asia/Kolkata", 0);

	CHECK(a != 0);
	CHECK_EQ_UINT(a, b);
	CHECK_EQ_UINT(a, c);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The sorted SHA-256 (hex, one a line) of every file of P, into OUT. */
static void pack_hashes(const struct pack *p, char *out)
{
	size_t n = 0, files = 0;
	char(*hex)[65] = calloc(pack_node_count(p), sizeof(*hex));

	assert(hex);
	for (uint64_t ino = 1; ino <= pack_node_count(p); ino++) {
		const struct pack_node *node = pack_node_by_ino(p, ino);

		if (pack_node_is_dir(node))
			continue;
		for (int i = 0; i < 32; i++)
			snprintf(hex[files] + 2 * i, 3, "%02x",
				 pack_node_sha256(node)[i]);
		files++;
	}
	qsort(hex, files, sizeof(*hex), cmp_str);
	for (size_t i = 0; i < files; i++)
		n += (size_t)sprintf(out + n, "%s\n", hex[i]);
	out[n] = '\0';
	free(hex);
}

static void test_options(void)
{
	struct aero_error err = { 0 };
	struct image_options opts = {
		.label = "my label 2",
		.no_joliet = true,
		.no_rock_ridge = true,
		.no_winpe = true,
	};
	struct image *img = NULL;
	char path[160];
	char *out, *want;

	REQUIRE_TOOL("isoinfo");
	REQUIRE_TOOL("bsdtar");
	want = malloc(pack_node_count(pack) * 65 + 1);
	assert(want);
	CHECK_EQ_INT(0, iso_build(pack, &opts, &img, &err));
	assert(img);
	snprintf(path, sizeof(path), "%s/plain.iso", tmpdir);
	write_image(img, path, 65536);
	image_free(img);
	{
		out = harness_capture("isoinfo -d -i %s 2>&1", path);
		CHECK(strstr(out, "Volume id: MY_LABEL_2\n"));
		CHECK(strstr(out, "NO Joliet present"));
		CHECK(strstr(out, "NO Rock Ridge present"));
		free(out);
	}
	{
		/* no Rock Ridge: bsdtar shows primary names, ";1" dropped */
		out = harness_capture("bsdtar -tf %s", path);
		CHECK(strstr(out, "README_1\n"));
		free(out);
		/* names are mangled, but every content must come out */
		out = harness_capture("cd %s && mkdir px && bsdtar -xf "
				      "plain.iso -C px"
				      " && find px -type f -exec sha256sum {} "
				      "+ | "
				      "cut -c1-64 | LC_ALL=C sort",
				      tmpdir);
		pack_hashes(pack, want);
		CHECK_EQ_STR(want, out);
		free(out);
	}

	/* Joliet volume ids hold 16 characters */
	opts = (struct image_options){ .label = "SEVENTEEN_CHARS_X" };
	CHECK_EQ_INT(-EINVAL, iso_build(pack, &opts, &img, &err));
	CHECK(img == NULL);
	CHECK(strstr(err.msg, "too long"));
	opts.label = "";
	CHECK_EQ_INT(-EINVAL, iso_build(pack, &opts, &img, &err));
	opts.label = "SIXTEEN_CHARS_XY";
	CHECK_EQ_INT(0, iso_build(pack, &opts, &img, &err));
	image_free(img);
	free(want);
}

/* A source truncated after the build: reads of its data fail with EIO. */
static void test_source_failure(void)
{
	struct pack_builder *b = pack_builder_new(0);
	struct aero_error err = { 0 };
	struct pack *p = NULL;
	struct image *img = NULL;
	struct pack_extent ext;
	char path[160];
	unsigned char buf[8192];
	struct pack_span sp;
	struct stat st;
	int fd, src;

	snprintf(path, sizeof(path), "%s/shrinks", tmpdir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	harness_fill(buf, sizeof(buf), 7);
	assert(fd >= 0 && write(fd, buf, sizeof(buf)) == sizeof(buf));
	src = pack_builder_add_source(b, fd, sizeof(buf));
	ext = (struct pack_extent){ (unsigned)src, 0, sizeof(buf) };
	CHECK_EQ_INT(0, pack_builder_add_file(b, "f", &ext, 1, NULL, &err));
	CHECK_EQ_INT(0, pack_builder_finish(b, &p));
	CHECK_EQ_INT(0, iso_build(p, NULL, &img, &err));
	assert(img);
	CHECK_EQ_INT(2048, image_read(img, buf, 2048, 0));
	assert(ftruncate(fd, 100) == 0);
	CHECK_EQ_INT(-EIO,
		     image_read(img, buf, sizeof(buf), image_size(img) - 8192));
	/* The span still says where the bytes should be; it is the caller's
	 * job to find that the descriptor no longer holds them. */
	CHECK_EQ_INT(0, image_span(img, image_size(img) - 8192, &sp));
	CHECK_EQ_INT(PACK_SPAN_FD, sp.kind);
	CHECK_EQ_UINT(0, sp.fd_offset);
	CHECK_EQ_UINT(8192, sp.len);
	CHECK(fstat(sp.fd, &st) == 0 && st.st_size == 100);
	close(fd);
	image_free(img);
	pack_unref(p);
}

/* A path table numbers directories in 16 bits: 65536 of them is too many. */
static void test_too_many_dirs(void)
{
	struct pack_builder *b = pack_builder_new(0);
	struct aero_error err = { 0 };
	struct pack *p = NULL;
	struct image *img = NULL;
	char name[32];

	for (int i = 0; i < 65535; i++) {
		snprintf(name, sizeof(name), "d%03d/%d", i % 100, i);
		if (pack_builder_add_dir(b, name, &err) < 0)
			break;
	}
	CHECK_EQ_INT(0, pack_builder_finish(b, &p));
	assert(p);
	/* root + 100 + 65535 directories */
	CHECK_EQ_INT(-EFBIG, iso_build(p, NULL, &img, &err));
	CHECK(img == NULL);
	CHECK(strstr(err.msg, "path table"));
	pack_unref(p);
}

/* An empty pack is still a valid image. */
static void test_empty_pack(void)
{
	struct pack_builder *b = pack_builder_new(-5000000000LL);
	struct pack *p = NULL;
	struct image *img = NULL;
	char path[160];
	char *out;

	CHECK_EQ_INT(0, pack_builder_finish(b, &p));
	if (!harness_have("isoinfo")) {
		pack_unref(p);
		SKIP_CASE("isoinfo is not installed");
	}
	CHECK_EQ_INT(0, iso_build(p, NULL, &img, NULL));
	assert(img);
	snprintf(path, sizeof(path), "%s/empty.iso", tmpdir);
	write_image(img, path, 4096);
	/* 1811: before 1900, clamped to 1900-01-01 */
	{
		out = harness_capture("isoinfo -d -debug -i %s 2>&1", path);
		CHECK(strstr(out, "Creation Date:     1900 01 01 00:00:00.00"));
		free(out);
	}
	image_free(img);
	pack_unref(p);
}

/*
 * Walks directory EXTENT of a tree and fails on two records that a reader
 * lists under one name: identifiers equal once a file's ";1" and trailing
 * '.' are gone (what Linux, Windows and libarchive strip), and, in Joliet,
 * ignoring ASCII case (Windows).
 */
static void check_visible_unique(const unsigned char *b, size_t len,
				 uint32_t extent, bool ucs2, int depth)
{
	const unsigned char *d = b + (size_t)extent * 2048;
	uint32_t size;
	unsigned(*keys)[80] = calloc(2048, sizeof(*keys));
	size_t klen[2048], nk = 0, recs = 0;

	assert(keys);
	if ((size_t)extent * 2048 + 34 > len || depth > 16) {
		FAIL_AT("directory at %u out of the image", extent);
		free(keys);
		return;
	}
	size = le32(d + 10);
	for (size_t o = 0; o < size && (size_t)extent * 2048 + o < len;) {
		const unsigned char *r = d + o;
		size_t n, w = ucs2 ? 2 : 1;
		bool file;

		if (r[0] == 0) {
			o = (o / 2048 + 1) * 2048;
			continue;
		}
		o += r[0];
		if (recs++ < 2)
			continue;
		file = !(r[25] & 2);
		n = r[32] / w;
		if (file && n >= 2 && unit(r + 33, n - 2, ucs2) == ';' &&
		    unit(r + 33, n - 1, ucs2) == '1')
			n -= 2;
		if (file && n >= 1 && unit(r + 33, n - 1, ucs2) == '.')
			n--;
		assert(n < 80 && nk < 2048);
		for (size_t i = 0; i < n; i++) {
			unsigned c = unit(r + 33, i, ucs2);

			keys[nk][i] = c >= 'a' && c <= 'z' ? c - 32 : c;
		}
		klen[nk] = n;
		for (size_t k = 0; k < nk; k++) {
			char shown[80];

			if (klen[k] != n ||
			    memcmp(keys[k], keys[nk], n * sizeof(**keys)) != 0)
				continue;
			for (size_t i = 0; i <= n; i++)
				shown[i] = i < n ? (char)keys[nk][i] : '\0';
			FAIL_AT("%s: two entries read as \"%s\"",
				ucs2 ? "Joliet" : "primary", shown);
		}
		nk++;
		if (!file)
			check_visible_unique(b, len, le32(r + 2), ucs2,
					     depth + 1);
	}
	free(keys);
}

/*
 * Mangling makes names unique as readers see them, not only as bytes: a
 * file "x;y" (Joliet "x_y;1", primary "X_Y.;1") next to a directory "x_y",
 * a file "a_b" ("A_B.;1") next to a directory "a.b" ("A_B"), and two long
 * names that Joliet cuts to the same letters in another case.
 */
static void test_visible_names(void)
{
	static const char *const names[] = {
		"x;y",
		"x_y/f",
		"a_b",
		"a.b/g",
		"q.;1",
		"q/h",
		"Long-name-that-Joliet-cuts-well-before-the-end-of-it-"
		"xxxxxxxxxxxxxxxxxx-1.txt",
		"long-name-that-joliet-cuts-well-before-the-end-of-it-"
		"xxxxxxxxxxxxxxxxxx-2.txt",
	};
	struct pack_builder *pb = pack_builder_new(EPOCH);
	struct image_options opts = { .no_rock_ridge = true };
	struct aero_error err = { 0 };
	struct image *img = NULL;
	struct pack *p = NULL;
	unsigned char *b;
	size_t len;

	assert(pb);
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		CHECK_EQ_INT(0, pack_builder_add_blob(pb, names[i], names[i],
						      strlen(names[i]), NULL,
						      &err));
	CHECK_EQ_INT(0, pack_builder_finish(pb, &p));
	assert(p);
	CHECK_EQ_INT(0, iso_build(p, &opts, &img, &err));
	assert(img);
	len = (size_t)image_size(img);
	b = malloc(len);
	assert(b);
	CHECK_EQ_INT((long long)len, (long long)image_read(img, b, len, 0));
	check_visible_unique(b, len, le32(b + 16 * 2048 + 156 + 2), false, 0);
	check_visible_unique(b, len, le32(b + 17 * 2048 + 156 + 2), true, 0);
	free(b);
	image_free(img);
	pack_unref(p);
}

int main(void)
{
	unsigned char *big;
	int fd;

	strcpy(tmpdir, "/tmp/aerofs-test-iso-XXXXXX");
	assert(mkdtemp(tmpdir));
	memset(long255, 'L', 255);
	memcpy(long255 + 251, ".txt", 4);
	snprintf(big_path, sizeof(big_path), "%s/big.src", tmpdir);
	big = malloc(BIG + 20000);
	assert(big);
	harness_fill(big, BIG + 20000, 99);
	fd = open(big_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert(fd >= 0 && write(fd, big, BIG + 20000) == BIG + 20000);
	close(fd);
	free(big);

	RUN(test_build);
	RUN(test_descriptors);
	RUN(test_tables);
	RUN(test_isovfy);
	RUN(test_isoinfo_listings);
	RUN(test_xorriso);
	RUN(test_bsdtar);
	RUN(test_7z);
	RUN(test_random_reads);
	RUN(test_spans);
	RUN(test_threads);
	RUN(test_shared_extents);
	RUN(test_deterministic);
	RUN(test_options);
	RUN(test_source_failure);
	RUN(test_empty_pack);
	RUN(test_too_many_dirs);
	RUN(test_visible_names);

	image_free(image);
	pack_unref(pack);
	if (!getenv("AEROFS_KEEP_TMP"))
		harness_sh("rm -rf %s", tmpdir);
	else
		fprintf(stderr, "kept %s\n", tmpdir);
	return harness_exit();
}
