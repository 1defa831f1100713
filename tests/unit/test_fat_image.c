/*
 * test_fat_image.c: the FAT disk image and the fixed VHD, read back by
 * independent tools.
 *
 * Packs are built from blobs and a real temporary source file with the
 * awkward cases: names that need long names, names that collide in 8.3
 * (more than four, for the hashed tails), lower-case 8.3 names (NT case
 * bits, no long name), non-ASCII names and one outside the BMP, empty
 * files, sizes around the cluster size, nested directories, a directory
 * of several clusters, and win7/x86 + win7/amd64 for $WinPEDriver$.  A
 * small pack gives FAT16, one with a 40 MB file FAT32.  Each image is
 * read sequentially into a file that fsck.fat (on the partition, cut out
 * with dd), mtools (mdir, mcopy at the partition offset), 7z and qemu-img
 * inspect; extracted bytes and names must equal the pack, $WinPEDriver$
 * included.  Random reads and stitched spans must equal the sequential
 * image; bytes must not depend on TZ or umask.  A sweep of sparse packs
 * from 28 MiB to 1.2 GB checks the cluster size rule, the disk size bound
 * and the geometry against the header, computed here from the pack.  A
 * missing tool skips only the cases that need it, as
 * "ok N - name # SKIP why".
 */
#include "tests/harness.h"
#include "tests/unit/image_test.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "catalog/pack/pack.h"
#include "export/image/fat_image.h"
#include "export/image/image.h"

#define EPOCH 1700000001 /* 2023-11-14 22:13:21 UTC: odd second */
#define BIG (40u << 20)	 /* pushes the pack over FAT32's floor */
#define PART_OFF 1048576u

static char tmpdir[64];
static char big_path[128];
static const char *skip_why;

/* RUN, but a case may set skip_why: "ok N - name # SKIP why". */
#define RUN_T(fn)                                                              \
	do {                                                                   \
		int before_ = harness_failures;                                \
		harness_case = #fn;                                            \
		harness_cases++;                                               \
		skip_why = NULL;                                               \
		fn();                                                          \
		if (skip_why && harness_failures == before_)                   \
			printf("ok %d - %s # SKIP %s\n", harness_cases, #fn,   \
			       skip_why);                                      \
		else                                                           \
			printf("%s %d - %s\n",                                 \
			       harness_failures == before_ ? "ok" : "not ok",  \
			       harness_cases, #fn);                            \
	} while (0)

/* True if every tool is there; else the case is skipped. */
static bool need(const char *tool)
{
	if (harness_have(tool))
		return true;
	skip_why = tool[0] == 'f' ? "fsck.fat not installed" :
		   tool[0] == 'm' ? "mtools not installed" :
		   tool[0] == 'q' ? "qemu-img not installed" :
				    "7z not installed";
	return false;
}

static const char *const blob_names[] = {
	"README",			/* exact 8.3, upper case */
	"readme.txt",			/* lower case: case bits, no LFN */
	"Mixed Case Name.TXT",		/* LFN */
	"Makefile.Win",			/* mixed case ext */
	"a.b.c.d",			/* several periods */
	".hidden",			/* leading period */
	"x+y=z[1].inf",			/* characters 8.3 cannot hold */
	"caf\xc3\xa9 \xe2\x82\xac.txt", /* café €.txt */
	"\xf0\x9f\x98\x80 smile.txt",	/* outside the BMP: surrogates */
	"d1/d2/d3/d4/leaf.txt",
	"THIRD_PARTY_NOTICES.md",
	"win7/x86/viostor/viostor.inf",
	"win7/x86/viostor/viostor.cat",
	"win7/amd64/viostor/viostor.inf",
	"win7/amd64/netkvm/netkvm.inf",
	"win7/amd64/netkvm/A Long Driver File Name.dll",
};

/* Sizes around 512 and 4096 (the cluster sizes the packs get). */
static const size_t edge_sizes[] = { 0, 1, 511, 512, 513, 4095, 4096, 4097 };

static struct pack *make_pack(bool big, int64_t epoch)
{
	struct pack_builder *b = pack_builder_new(epoch);
	struct aero_error err = { 0 };
	struct pack *p = NULL;
	unsigned char buf[8192];
	char name[64];

	assert(b);
	CHECK_EQ_INT(0, pack_builder_set_label(b, "AERO_W7_DRIVERS"));
	for (size_t i = 0; i < sizeof(blob_names) / sizeof(*blob_names); i++) {
		size_t len = 17 + i * 131;

		harness_fill(buf, len, (uint32_t)i + 1);
		CHECK_EQ_INT(0, pack_builder_add_blob(b, blob_names[i], buf,
						      len, NULL, &err));
	}
	/* eight names with the basis LONGFI.TXT: ~1..~4, then hashed */
	for (int i = 1; i <= 8; i++) {
		snprintf(name, sizeof(name), "longfilename%d.txt", i);
		CHECK_EQ_INT(0,
			     pack_builder_add_blob(b, name, name, strlen(name),
						   NULL, &err));
	}
	for (size_t i = 0; i < sizeof(edge_sizes) / sizeof(*edge_sizes); i++) {
		snprintf(name, sizeof(name), "sizes/size-%zu.bin",
			 edge_sizes[i]);
		harness_fill(buf, edge_sizes[i], (uint32_t)(i + 50));
		CHECK_EQ_INT(0,
			     pack_builder_add_blob(b, name, buf, edge_sizes[i],
						   NULL, &err));
	}
	/* 80 long names: the directory takes several clusters */
	for (int i = 0; i < 80; i++) {
		snprintf(name, sizeof(name), "many/File-%03d-%s.dat", i,
			 i % 2 ? "odd" : "even-and-somewhat-longer");
		harness_fill(buf, 40, (uint32_t)i + 100);
		CHECK_EQ_INT(0, pack_builder_add_blob(b, name, buf, 40, NULL,
						      &err));
	}
	if (big) {
		int fd = open(big_path, O_RDONLY);
		struct stat st;
		struct pack_extent ext[2];
		int src;

		assert(fd >= 0 && fstat(fd, &st) == 0);
		src = pack_builder_add_source(b, fd, (uint64_t)st.st_size);
		CHECK(src >= 0);
		ext[0] = (struct pack_extent){ (unsigned)src, 0, BIG };
		CHECK_EQ_INT(0,
			     pack_builder_add_file(b,
						   "win7/x86/viostor/big.sys",
						   ext, 1, NULL, &err));
		ext[0] = (struct pack_extent){ (unsigned)src, 4096, 1000 };
		ext[1] = (struct pack_extent){ (unsigned)src, 12345, 3000 };
		CHECK_EQ_INT(0,
			     pack_builder_add_file(b,
						   "win7/amd64/viostor/two.sys",
						   ext, 2, NULL, &err));
		close(fd);
	}
	if (err.code)
		fprintf(stderr, "pack: %s\n", err.msg);
	CHECK_EQ_INT(0, pack_builder_finish(b, &p));
	assert(p);
	return p;
}

static struct image *build(const char *fmt, struct pack *p,
			   const struct image_options *opts)
{
	struct aero_error err = { 0 };
	struct image *img = NULL;
	int rc = image_build(image_format_find(fmt), p, opts, &img, &err);

	if (rc < 0)
		fprintf(stderr, "build %s: %s\n", fmt, err.msg);
	CHECK_EQ_INT(0, rc);
	assert(img);
	return img;
}

static uint32_t le32(const unsigned char *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * Checks that the files under pack dir DIR are at ROOT/PREFIX + their path
 * below DIR (SKIP chars of the pack path) with the same bytes; returns how
 * many files it checked.
 */
static bool skip_astral; /* mtools shows U+10000 and up as "__" */

static size_t compare_tree(const struct pack *p, const struct pack_node *dir,
			   const char *root, size_t skip)
{
	size_t files = 0;

	for (size_t i = 0; i < pack_node_nchildren(dir); i++) {
		const struct pack_node *n = pack_node_child(dir, i);
		char path[1024];
		unsigned char *want, *got;
		size_t len = 0;

		if (pack_node_is_dir(n)) {
			files += compare_tree(p, n, root, skip);
			continue;
		}
		if (skip_astral && strchr(pack_node_name(n), '\xf0')) {
			files++; /* there, under another name */
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", root,
			 pack_node_path(n) + skip);
		got = slurp(path, &len);
		if (!got) {
			FAIL_AT("%s: missing from the extracted tree", path);
			continue;
		}
		want = malloc(pack_node_size(n) + 1);
		assert(want);
		assert(pack_node_read(p, n, want, pack_node_size(n), 0) ==
		       (ssize_t)pack_node_size(n));
		CHECK_EQ_UINT(pack_node_size(n), len);
		if (len == pack_node_size(n))
			CHECK_EQ_MEM(want, got, len);
		free(want);
		free(got);
		files++;
	}
	return files;
}

/* One image variant and the files written from it. */
struct variant {
	const char *tag;
	bool big;
	struct pack *pack;
	struct image *img, *vhd;
	char img_path[128], vhd_path[128], part_path[128];
	uint64_t part_secs;
};

static struct variant small = { .tag = "small" };
static struct variant large = { .tag = "large", .big = true };

static void make_variant(struct variant *v)
{
	unsigned char mbr[512];

	v->pack = make_pack(v->big, EPOCH);
	v->img = build("img", v->pack, NULL);
	v->vhd = build("vhd", v->pack, NULL);
	snprintf(v->img_path, sizeof(v->img_path), "%s/%s.img", tmpdir, v->tag);
	snprintf(v->vhd_path, sizeof(v->vhd_path), "%s/%s.vhd", tmpdir, v->tag);
	snprintf(v->part_path, sizeof(v->part_path), "%s/%s.part", tmpdir,
		 v->tag);
	/* odd chunk sizes: reads that straddle every kind of region */
	write_image(v->img, v->img_path, 12347);
	write_image(v->vhd, v->vhd_path, 65537);
	assert(image_read(v->img, mbr, 512, 0) == 512);
	v->part_secs = le32(mbr + 446 + 12);
	CHECK_EQ_UINT(2048, le32(mbr + 446 + 8));
	CHECK_EQ_UINT(0x55, mbr[510]);
	CHECK_EQ_UINT(0xaa, mbr[511]);
	CHECK_EQ_UINT(v->big ? 0x0c : 0x0e, mbr[446 + 4]);
	CHECK((2048 + v->part_secs) * 512 <= image_size(v->img));
	CHECK_EQ_INT(0, harness_sh("dd if=%s of=%s bs=512 skip=2048 count=%llu "
				   "status=none",
				   v->img_path, v->part_path,
				   (unsigned long long)v->part_secs));
}

static void test_build(void)
{
	make_variant(&small);
	make_variant(&large);
	/* the VHD is the raw disk plus one footer */
	CHECK_EQ_UINT(image_size(small.img) + 512, image_size(small.vhd));
	CHECK_EQ_UINT(image_size(large.img) + 512, image_size(large.vhd));
	CHECK_EQ_UINT(0, image_size(small.img) % 512);
}

/* The FAT type fsck.fat reports, and a clean check. */
static void fsck_variant(const struct variant *v, const char *type)
{
	char *out = harness_capture("fsck.fat -n -v %s 2>&1; echo rc=$?",
				    v->part_path);

	if (!strstr(out, "rc=0") || !strstr(out, type) ||
	    strstr(out, "Free cluster summary wrong") ||
	    strstr(out, "orphan") || strstr(out, "Orphan"))
		FAIL_AT("fsck.fat on %s:\n%s", v->tag, out);
	free(out);
}

static void test_fsck(void)
{
	if (!need("fsck.fat"))
		return;
	fsck_variant(&small, "16 bit entries");
	fsck_variant(&large, "32 bit entries");
}

/*
 * Compares the tree extracted at DIR with the pack, $WinPEDriver$ (when
 * WINPE) included, and checks it holds nothing else.
 */
static void compare_extracted(const struct variant *v, const char *dir,
			      bool winpe)
{
	char *out;
	size_t files, want;
	const struct pack_node *w;

	files = compare_tree(v->pack, pack_root(v->pack), dir, 0);
	want = files;
	if (winpe) {
		char wp[300];

		snprintf(wp, sizeof(wp), "%s/$WinPEDriver$/x86", dir);
		w = pack_lookup_path(v->pack, "win7/x86");
		assert(w);
		want += compare_tree(v->pack, w, wp, strlen("win7/x86/"));
		snprintf(wp, sizeof(wp), "%s/$WinPEDriver$/amd64", dir);
		w = pack_lookup_path(v->pack, "win7/amd64");
		assert(w);
		want += compare_tree(v->pack, w, wp, strlen("win7/amd64/"));
	}
	/* and nothing else */
	out = harness_capture("find %s -type f | wc -l", dir);
	CHECK_EQ_UINT(want, strtoul(out, NULL, 10));
	free(out);
}

/* mcopy the whole volume out and compare it with the pack. */
static void mcopy_variant(const struct variant *v)
{
	char dir[256];

	snprintf(dir, sizeof(dir), "%s/mcopy-%s", tmpdir, v->tag);
	CHECK_EQ_INT(0, harness_sh("mkdir -p %s && LC_ALL=C.UTF-8 mcopy -s -n "
				   "-i %s@@%u '::/*' %s/",
				   dir, v->img_path, PART_OFF, dir));
	skip_astral = true;
	compare_extracted(v, dir, true);
	skip_astral = false;
}

static void test_mtools(void)
{
	char *out;

	if (!need("mcopy"))
		return;
	mcopy_variant(&small);
	mcopy_variant(&large);
	out = harness_capture("LC_ALL=C.UTF-8 mdir -i %s@@%u ::/ 2>&1",
			      small.img_path, PART_OFF);
	/* label: upper-cased, cut to 11 */
	CHECK(strstr(out, "Volume in drive : is AERO_W7_DRI") != NULL);
	CHECK(strstr(out, "$WinPEDriver$") != NULL);
	/* basis name, ~1..~4, then two letters + 4 hex digits + ~1 */
	for (int i = 1; i <= 8; i++) {
		char want[80], *line;

		snprintf(want, sizeof(want), "longfilename%d.txt", i);
		line = strstr(out, want);
		if (!line) {
			FAIL_AT("mdir misses %s:\n%s", want, out);
			continue;
		}
		while (line > out && line[-1] != '\n')
			line--;
		if (i <= 4) {
			snprintf(want, sizeof(want), "LONGFI~%d TXT", i);
			CHECK(strncmp(line, want, strlen(want)) == 0);
		} else {
			CHECK(strncmp(line, "LO", 2) == 0 &&
			      strncmp(line + 6, "~", 1) == 0 &&
			      strncmp(line + 9, "TXT", 3) == 0);
		}
	}
	free(out);
}

/* Finds the short entry NAME11 in the FAT16 root of the small image. */
static const unsigned char *root_entry(const unsigned char *b,
				       const char *name11)
{
	const unsigned char *bs = b + PART_OFF;
	unsigned rsvd = bs[14] | bs[15] << 8, fatsz = bs[22] | bs[23] << 8;
	unsigned ents = bs[17] | bs[18] << 8;
	const unsigned char *root = bs + (rsvd + 2u * fatsz) * 512u;

	for (unsigned i = 0; i < ents; i++)
		if (memcmp(root + 32 * i, name11, 11) == 0)
			return root + 32 * i;
	return NULL;
}

static void test_raw_entries(void)
{
	size_t len;
	unsigned char *b = slurp(small.img_path, &len);
	const unsigned char *e;

	assert(b);
	/* readme.txt: short entry only, lower-case base and extension */
	e = root_entry(b, "README  TXT");
	CHECK(e != NULL);
	if (e) {
		CHECK_EQ_UINT(0x18, e[12]);
		CHECK(e[-32 + 11] != 0x0f); /* no long name before it */
		CHECK_EQ_UINT(0x20, e[11]);
		/* 2023-11-14 22:13:20 (odd second: 100 x 10 ms more) */
		CHECK_EQ_UINT((2023 - 1980) << 9 | 11 << 5 | 14,
			      e[24] | e[25] << 8);
		CHECK_EQ_UINT(22 << 11 | 13 << 5 | 10, e[22] | e[23] << 8);
		CHECK_EQ_UINT(100, e[13]);
	}
	e = root_entry(b, "README     ");
	CHECK(e != NULL && e[12] == 0);
	/* the volume label entry opens the root */
	e = root_entry(b, "AERO_W7_DRI");
	CHECK(e != NULL && e[11] == 0x08);
	free(b);
}

static void test_7z(void)
{
	char *out;

	if (!need("7z"))
		return;
	out = harness_capture("7z l %s 2>&1", small.img_path);
	/* the MBR handler sees one partition */
	CHECK(strstr(out, "Type = MBR") != NULL);
	free(out);
	out = harness_capture("LC_ALL=C.UTF-8 7z l %s 2>&1", large.part_path);
	if (!strstr(out, "Type = FAT") ||
	    !strstr(out, "A Long Driver File Name.dll") ||
	    !strstr(out, "longfilename8.txt") ||
	    !strstr(out, "$WinPEDriver$/x86/viostor/big.sys"))
		FAIL_AT("7z l:\n%s", out);
	free(out);
	/* 7z keeps names outside the BMP: a full comparison */
	for (int i = 0; i < 2; i++) {
		const struct variant *v = i ? &large : &small;
		char dir[256];

		snprintf(dir, sizeof(dir), "%s/7z-%s", tmpdir, v->tag);
		CHECK_EQ_INT(0, harness_sh("LC_ALL=C.UTF-8 7z x -y -o%s %s "
					   ">/dev/null",
					   dir, v->part_path));
		compare_extracted(v, dir, true);
	}
}

static void test_qemu_img(void)
{
	char *out, want[64], patched[160];
	unsigned char foot[512];
	uint32_t sum = 0;
	int fd;

	if (!need("qemu-img"))
		return;
	for (int i = 0; i < 2; i++) {
		const struct variant *v = i ? &large : &small;

		/* a fixed VHD's only header is at its end, and QEMU probes
		 * only the start: the format is named, as with -drive */
		out = harness_capture("qemu-img info -f vpc --output=json %s",
				      v->vhd_path);
		snprintf(want, sizeof(want), "\"virtual-size\": %llu",
			 (unsigned long long)image_size(v->img));
		if (!strstr(out, "\"format\": \"vpc\"") || !strstr(out, want))
			FAIL_AT("qemu-img info %s:\n%s", v->vhd_path, out);
		free(out);
		out = harness_capture("qemu-img compare -f vpc -F raw %s %s "
				      "2>&1",
				      v->vhd_path, v->img_path);
		if (!strstr(out, "Images are identical"))
			FAIL_AT("qemu-img compare:\n%s", out);
		free(out);
	}
	/*
	 * QEMU sizes a VHD by its CHS geometry when the creator is "vpc "
	 * (Virtual PC): the same size, as the disk is a whole geometry.
	 */
	snprintf(patched, sizeof(patched), "%s/vpc.vhd", tmpdir);
	CHECK_EQ_INT(0, harness_sh("cp %s %s", small.vhd_path, patched));
	fd = open(patched, O_RDWR);
	assert(fd >= 0);
	assert(pread(fd, foot, 512, (off_t)image_size(small.img)) == 512);
	memcpy(foot + 28, "vpc ", 4);
	memset(foot + 64, 0, 4);
	for (int i = 0; i < 512; i++)
		sum += foot[i];
	sum = ~sum;
	foot[64] = (unsigned char)(sum >> 24);
	foot[65] = (unsigned char)(sum >> 16);
	foot[66] = (unsigned char)(sum >> 8);
	foot[67] = (unsigned char)sum;
	assert(pwrite(fd, foot, 512, (off_t)image_size(small.img)) == 512);
	close(fd);
	out = harness_capture("qemu-img info -f vpc --output=json %s", patched);
	snprintf(want, sizeof(want), "\"virtual-size\": %llu",
		 (unsigned long long)image_size(small.img));
	if (!strstr(out, want))
		FAIL_AT("qemu-img info (creator vpc):\n%s", out);
	free(out);
}

static void test_geometry(void)
{
	struct fat_chs g;
	unsigned char b[512];

	/* every size is a whole geometry, as the footer says */
	for (int i = 0; i < 2; i++) {
		const struct variant *v = i ? &large : &small;
		uint64_t secs = image_size(v->img) / 512;

		fat_image_chs(secs, &g);
		CHECK_EQ_UINT(secs,
			      (uint64_t)g.cylinders * g.heads * g.sectors);
		assert(image_read(v->vhd, b, 512, image_size(v->img)) == 512);
		CHECK_EQ_MEM("conectix", b, 8);
		/* fixed disk, sizes, one's complement byte sum */
		CHECK_EQ_UINT(2, (unsigned)b[63]);
		CHECK_EQ_UINT(image_size(v->img) >> 32,
			      (uint32_t)(b[48] << 24 | b[49] << 16 |
					 b[50] << 8 | b[51]));
		CHECK_EQ_UINT((uint32_t)image_size(v->img),
			      (uint32_t)((uint32_t)b[52] << 24 | b[53] << 16 |
					 b[54] << 8 | b[55]));
		{
			uint32_t sum = 0, want = (uint32_t)b[64] << 24 |
						 b[65] << 16 | b[66] << 8 |
						 b[67];

			for (int k = 0; k < 512; k++)
				sum += k >= 64 && k < 68 ? 0 : b[k];
			CHECK_EQ_UINT(~sum, want);
		}
		/* 2023-11-14T22:13:21Z - 2000-01-01 */
		CHECK_EQ_UINT(1700000001u - 946684800u,
			      (uint32_t)b[24] << 24 | b[25] << 16 | b[26] << 8 |
				      b[27]);
		CHECK_EQ_UINT(g.cylinders, (unsigned)(b[56] << 8 | b[57]));
		CHECK_EQ_UINT(g.heads, b[58]);
		CHECK_EQ_UINT(g.sectors, b[59]);
		/* BPB: geometry and hidden sectors */
		assert(image_read(v->img, b, 512, PART_OFF) == 512);
		CHECK_EQ_UINT(g.sectors, (unsigned)(b[24] | b[25] << 8));
		CHECK_EQ_UINT(g.heads, (unsigned)(b[26] | b[27] << 8));
		CHECK_EQ_UINT(2048, le32(b + 28));
		CHECK_EQ_UINT(0xf8, b[21]);
	}
	/* the VHD spec's own examples of its algorithm */
	fat_image_chs(65535ull * 16 * 255, &g);
	CHECK(g.cylinders == 65535 && g.heads == 16 && g.sectors == 255);
	fat_image_chs(2048 * 1024 * 2, &g); /* 2 GiB */
	CHECK(g.heads == 16 && g.sectors == 63 && g.cylinders == 4161);
}

static void test_random_reads(void)
{
	size_t len;
	unsigned char *ref = slurp(large.vhd_path, &len), *buf;
	uint32_t x = 12345;

	assert(ref);
	CHECK_EQ_UINT(image_size(large.vhd), len);
	buf = malloc(1 << 20);
	assert(buf);
	for (int i = 0; i < 400; i++) {
		uint64_t off, n;
		ssize_t got;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		off = (uint64_t)x * 7919 % (len + 100);
		n = x % 3 == 0 ? x % 64 : x % (1 << 20);
		got = image_read(large.vhd, buf, n, off);
		if (off >= len) {
			CHECK_EQ_INT(0, got);
			continue;
		}
		if (n > len - off)
			n = len - off;
		CHECK_EQ_INT((ssize_t)n, got);
		if (got == (ssize_t)n)
			CHECK_EQ_MEM(ref + off, buf, n);
	}
	/* spans, stitched, over the whole image */
	for (uint64_t off = 0; off < len;) {
		struct pack_span s;

		if (image_span(large.vhd, off, &s) < 0 || s.len == 0) {
			FAIL_AT("no span at %llu", (unsigned long long)off);
			break;
		}
		if (s.len > len - off) {
			FAIL_AT("span past the end at %llu",
				(unsigned long long)off);
			break;
		}
		if (s.kind == PACK_SPAN_MEM) {
			CHECK_EQ_MEM(ref + off, s.mem, s.len);
		} else if (s.kind == PACK_SPAN_ZERO) {
			for (uint64_t k = 0; k < s.len; k++)
				if (ref[off + k]) {
					FAIL_AT("zero span not zero at %llu",
						(unsigned long long)(off + k));
					break;
				}
		} else {
			size_t n = s.len > (1 << 20) ? 1 << 20 : s.len;

			assert(pread(s.fd, buf, n, (off_t)s.fd_offset) ==
			       (ssize_t)n);
			CHECK_EQ_MEM(ref + off, buf, n);
			s.len = n;
		}
		off += s.len;
	}
	CHECK_EQ_INT(-EINVAL,
		     image_span(large.vhd, len, &(struct pack_span){ 0 }));
	free(buf);
	free(ref);
}

static unsigned char *image_bytes(const struct image *img)
{
	unsigned char *b = malloc(image_size(img));

	assert(b);
	assert(image_read(img, b, image_size(img), 0) ==
	       (ssize_t)image_size(img));
	return b;
}

static void test_deterministic(void)
{
	struct pack *p;
	struct image *a, *b;
	unsigned char *x, *y;
	mode_t old;

	/* another pack, another zone and umask: the same bytes */
	setenv("TZ", "America/St_Johns", 1);
	tzset();
	old = umask(077);
	p = make_pack(false, EPOCH);
	a = build("vhd", p, NULL);
	b = build("vhd", small.pack, NULL);
	CHECK_EQ_UINT(image_size(b), image_size(a));
	x = image_bytes(a);
	y = image_bytes(b);
	CHECK_EQ_MEM(y, x, image_size(a));
	free(x);
	free(y);
	image_free(a);
	image_free(b);
	pack_unref(p);
	umask(old);
	unsetenv("TZ");
	tzset();
	/* another epoch: other dates, serial and VHD id */
	p = make_pack(false, EPOCH + 86400);
	a = build("vhd", p, NULL);
	x = image_bytes(a);
	y = image_bytes(small.vhd);
	CHECK(memcmp(x, y, image_size(a)) != 0);
	CHECK(memcmp(x + image_size(a) - 512 + 68, y + image_size(a) - 512 + 68,
		     16) != 0);
	free(x);
	free(y);
	image_free(a);
	pack_unref(p);
}

static void test_no_winpe(void)
{
	struct image_options opts = { .no_winpe = true, .label = "my:label.x" };
	struct image *img = build("img", small.pack, &opts);
	char path[160], *out;

	CHECK(image_size(img) <= image_size(small.img));
	snprintf(path, sizeof(path), "%s/nowinpe.img", tmpdir);
	write_image(img, path, 1 << 20);
	image_free(img);
	if (!need("mdir"))
		return;
	out = harness_capture("mdir -/ -i %s@@%u ::/ 2>&1", path, PART_OFF);
	CHECK(strstr(out, "WinPEDriver") == NULL);
	CHECK(strstr(out, "A Long Driver File Name.dll") != NULL);
	/* characters a FAT label cannot hold become '_' */
	CHECK(strstr(out, "Volume in drive : is MY_LABEL_X") != NULL);
	free(out);
}

/*
 * The ISO's $WinPEDriver$: Joliet (what Windows reads) names it exactly,
 * the primary tree "_WINPEDRIVER_", Rock Ridge exactly; its files share
 * the extents of win7/, so a 40 MB driver is not stored twice.
 */
static void test_iso_winpe(void)
{
	struct image_options opts = { .no_winpe = true };
	struct image *with = build("iso", large.pack, NULL);
	struct image *without = build("iso", large.pack, &opts);
	char path[160], dir[200], *out;
	const char *arch[] = { "x86", "amd64" };

	/* only directory records: far less than one copy of big.sys */
	CHECK(image_size(with) > image_size(without));
	CHECK(image_size(with) - image_size(without) < 64 * 2048);
	snprintf(path, sizeof(path), "%s/winpe.iso", tmpdir);
	write_image(with, path, 1 << 20);
	image_free(with);
	image_free(without);
	if (harness_have("isoinfo")) {
		out = harness_capture("isoinfo -f -i %s", path);
		CHECK(strstr(out, "/_WINPEDRIVER_/X86/VIOSTOR/BIG.SYS;1"));
		free(out);
		out = harness_capture("isoinfo -J -f -i %s", path);
		CHECK(strstr(out, "/$WinPEDriver$/amd64/viostor/two.sys"));
		free(out);
		out = harness_capture("isoinfo -R -f -i %s", path);
		CHECK(strstr(out, "/$WinPEDriver$/x86/viostor/big.sys"));
		free(out);
	}
	if (!need("7z"))
		return;
	snprintf(dir, sizeof(dir), "%s/iso-winpe", tmpdir);
	CHECK_EQ_INT(0, harness_sh("7z x -y -o%s %s >/dev/null", dir, path));
	for (int i = 0; i < 2; i++) {
		char src[40], wp[300];
		const struct pack_node *w;

		snprintf(src, sizeof(src), "win7/%s", arch[i]);
		snprintf(wp, sizeof(wp), "%s/$WinPEDriver$/%s", dir, arch[i]);
		w = pack_lookup_path(large.pack, src);
		assert(w);
		CHECK(compare_tree(large.pack, w, wp, strlen(src) + 1) >= 2);
	}
}

/* Writes IMG to PATH, leaving holes where it is zero (sparse packs). */
static void write_sparse(const struct image *img, const char *path)
{
	static unsigned char buf[1 << 16], zero[1 << 16];
	uint64_t off = 0, size = image_size(img);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert(fd >= 0 && ftruncate(fd, (off_t)size) == 0);
	while (off < size) {
		ssize_t n = image_read(img, buf, sizeof(buf), off);

		assert(n > 0);
		if (memcmp(buf, zero, (size_t)n) != 0)
			assert(pwrite(fd, buf, (size_t)n, (off_t)off) == n);
		off += (uint64_t)n;
	}
	close(fd);
}

/*
 * Rows of the spec's tables other than the common ones: a FAT16 root of
 * more than 512 entries, and a FAT32 volume over 260 MB (4 KiB clusters).
 */
static void test_other_geometries(void)
{
	struct pack_builder *b = pack_builder_new(EPOCH);
	struct pack *p;
	struct image *img;
	char name[64], path[160], part[160], *out;
	unsigned char bs[512];
	struct pack_extent ext;
	int fd, src;

	/* 300 names of 3 entries each (17 characters) and the label */
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "Root-File-%03d.txt", i);
		assert(pack_builder_add_blob(b, name, name, strlen(name), NULL,
					     NULL) == 0);
	}
	assert(pack_builder_finish(b, &p) == 0);
	img = build("img", p, NULL);
	assert(image_read(img, bs, 512, PART_OFF) == 512);
	CHECK_EQ_UINT(912, (unsigned)(bs[17] | bs[18] << 8));
	snprintf(path, sizeof(path), "%s/root.img", tmpdir);
	snprintf(part, sizeof(part), "%s/root.part", tmpdir);
	write_sparse(img, path);
	image_free(img);
	pack_unref(p);
	if (need("fsck.fat")) {
		CHECK_EQ_INT(0, harness_sh("dd if=%s of=%s bs=1M skip=1 "
					   "conv=sparse status=none && "
					   "fsck.fat -n %s >/dev/null",
					   path, part, part));
	}
	/* 300 MB of a sparse source: 4 KiB clusters by DskTableFAT32 */
	snprintf(path, sizeof(path), "%s/sparse.src", tmpdir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert(fd >= 0 && ftruncate(fd, 300ll << 20) == 0);
	assert(pwrite(fd, "tail", 4, (300ll << 20) - 4) == 4);
	b = pack_builder_new(EPOCH);
	src = pack_builder_add_source(b, fd, 300ull << 20);
	ext = (struct pack_extent){ (unsigned)src, 0, 300ull << 20 };
	assert(pack_builder_add_file(b, "win7/x86/big/big.bin", &ext, 1, NULL,
				     NULL) == 0);
	assert(pack_builder_finish(b, &p) == 0);
	close(fd);
	unlink(path);
	img = build("img", p, NULL);
	assert(image_read(img, bs, 512, PART_OFF) == 512);
	CHECK_EQ_UINT(8, bs[13]);
	CHECK_EQ_UINT(0, bs[22] | bs[23] << 8); /* FAT32 */
	snprintf(path, sizeof(path), "%s/big.img", tmpdir);
	snprintf(part, sizeof(part), "%s/big.part", tmpdir);
	write_sparse(img, path);
	image_free(img);
	pack_unref(p);
	if (skip_why || !need("fsck.fat") || !need("mcopy"))
		return;
	out = harness_capture("dd if=%s of=%s bs=1M skip=1 conv=sparse "
			      "status=none && fsck.fat -n -v %s 2>&1; "
			      "echo rc=$?; mcopy -n -i %s@@%u "
			      "'::/$WinPEDriver$/x86/big/big.bin' - | "
			      "tail -c 4",
			      path, part, part, path, PART_OFF);
	if (!strstr(out, "rc=0") || !strstr(out, "4096 bytes per cluster") ||
	    !strstr(out, "tail"))
		FAIL_AT("4 KiB clusters:\n%s", out);
	free(out);
	harness_sh("rm -f %s %s", path, part);
}

/*
 * The cluster size rule and the disk size bound near their edges (see
 * fat_image.h), computed here from the pack independently of the layout:
 * clusters of every file and directory (these names need no long name
 * entries but "$WinPEDriver$" and the one long name below), FAT sizes from
 * the spec's 2 or 4 bytes per entry, the boundaries of spec 3.5 with the
 * header's margin of 1024, DskTableFAT32's rows.
 */
#define EDGE_LONG "A Long Driver File Name.sys" /* 27: 3 LFN entries */

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

/* 32-byte entries a name takes in its directory. */
static uint64_t name_entries(const char *name)
{
	if (strcmp(name, EDGE_LONG) == 0)
		return 1 + 3;
	if (strcmp(name, "$WinPEDriver$") == 0)
		return 1 + 1;
	return 1;
}

/* Clusters of CS bytes of directory D (not a FAT16 root) and its tree. */
static uint64_t tree_clusters(const struct pack_node *d, uint64_t cs)
{
	uint64_t ents = 2, n = 0;

	for (size_t i = 0; i < pack_node_nchildren(d); i++) {
		const struct pack_node *c = pack_node_child(d, i);

		ents += name_entries(pack_node_name(c));
		n += pack_node_is_dir(c) ? tree_clusters(c, cs) :
					   div_up(pack_node_size(c), cs);
	}
	return n + div_up(ents * 32, cs);
}

struct edge_need {
	uint64_t clusters;  /* outside a FAT16 root */
	uint64_t root_ents; /* root entries, label included */
};

/* What the pack with its $WinPEDriver$ copy needs with CS-byte clusters. */
static struct edge_need edge_need(const struct pack *p, bool fat32, uint64_t cs)
{
	const struct pack_node *root = pack_root(p);
	const struct pack_node *x86 = pack_lookup_path(p, "win7/x86");
	const struct pack_node *a64 = pack_lookup_path(p, "win7/amd64");
	struct edge_need r = { 0, 1 + name_entries("$WinPEDriver$") };

	assert(x86 && a64);
	for (size_t i = 0; i < pack_node_nchildren(root); i++) {
		const struct pack_node *c = pack_node_child(root, i);

		r.root_ents += name_entries(pack_node_name(c));
		r.clusters += pack_node_is_dir(c) ?
				      tree_clusters(c, cs) :
				      div_up(pack_node_size(c), cs);
	}
	/* $WinPEDriver$: ". .. x86 amd64", then the two copies */
	r.clusters += div_up(4 * 32, cs) + tree_clusters(x86, cs) +
		      tree_clusters(a64, cs);
	if (fat32)
		r.clusters += div_up(r.root_ents * 32, cs);
	return r;
}

static uint64_t edge_fat_secs(bool fat32, uint64_t clusters)
{
	return div_up((clusters + 2) * (fat32 ? 4 : 2), 512);
}

/* DskTableFAT32: the largest volume (sectors) of each cluster size. */
static const struct {
	unsigned spc;
	uint64_t max;
} t32[] = {
	{ 1, 532480 }, { 8, 16777216 }, { 16, 33554432 }, { 32, 67108864 }
};

/*
 * The smallest volume, in sectors, of that type and cluster size for what
 * P needs, and the lowest volume size the table allows that cluster size.
 */
static uint64_t edge_volume(const struct pack *p, bool fat32, unsigned spc)
{
	struct edge_need n = edge_need(p, fat32, spc * 512ull);
	uint64_t root = fat32		   ? 0 :
			n.root_ents <= 512 ? 32 :
					     div_up(n.root_ents, 16);
	uint64_t c = n.clusters, vol;

	if (fat32 && c < 65525 + 1024)
		c = 65525 + 1024;
	if (!fat32 && c < 4085 + 1024)
		c = 4085 + 1024;
	vol = (fat32 ? 32 : 1) + root + 2 * edge_fat_secs(fat32, c) + c * spc;
	for (size_t i = 1; fat32 && i < sizeof(t32) / sizeof(*t32); i++)
		if (t32[i].spc == spc && vol <= t32[i - 1].max)
			vol = t32[i - 1].max + 1;
	return vol;
}

/*
 * Checks the image of P (a file of HALVES half MiB) against the rule;
 * returns its sectors per cluster.
 */
static unsigned check_edge(const struct pack *p, const struct image *img,
			   unsigned halves)
{
	unsigned char mbr[512], bs[512];
	uint64_t disk = image_size(img) / 512, part, count, fatsz, vol;
	uint64_t root_secs, cyl, total;
	unsigned spc, rsvd, spt;
	bool fat32, want32;
	struct fat_chs g;

	assert(image_read(img, mbr, 512, 0) == 512);
	assert(image_read(img, bs, 512, PART_OFF) == 512);
	part = le32(mbr + 446 + 12);
	spc = bs[13];
	rsvd = bs[14] | bs[15] << 8;
	root_secs = (bs[17] | bs[18] << 8) * 32u / 512;
	fatsz = bs[22] | bs[23] << 8;
	fat32 = fatsz == 0;
	if (fat32)
		fatsz = le32(bs + 36);
	spt = bs[24] | bs[25] << 8;
	total = bs[19] | bs[20] << 8;
	CHECK_EQ_UINT(part, total ? total : le32(bs + 32));
	count = (part - rsvd - root_secs - 2 * fatsz) / spc;

	/* a whole geometry; the volume whole tracks of it, inside it */
	fat_image_chs(disk, &g);
	CHECK_EQ_UINT(disk, (uint64_t)g.cylinders * g.heads * g.sectors);
	CHECK_EQ_UINT(g.sectors, spt);
	CHECK_EQ_UINT(0, part % spt);
	CHECK(2048 + part <= disk);
	/* the FAT covers the count, which keeps the margins */
	CHECK(edge_fat_secs(fat32, count) <= fatsz);
	if (fat32)
		CHECK(count >= 65525 + 1024);
	else
		CHECK(count >= 4085 + 1024 && count <= 65524 - 1024);
	CHECK(count >= edge_need(p, fat32, spc * 512ull).clusters);

	/* the type by the count the tree needs with 512-byte clusters */
	want32 = edge_need(p, true, 512).clusters >= 65525 + 1024;
	CHECK_EQ_INT(want32, fat32);
	if (fat32) {
		size_t i = 0;

		/* the row of the volume's size, and the row before it had
		 * no room: the smaller clusters' volume, in whole tracks,
		 * is over that row's size */
		while (part > t32[i].max)
			i++;
		CHECK_EQ_UINT(t32[i].spc, spc);
		if (i > 0) {
			uint64_t v = edge_volume(p, true, t32[i - 1].spc);

			fat_image_chs(2048 + v, &g);
			CHECK(div_up(v, g.sectors) * g.sectors >
			      t32[i - 1].max);
		}
	} else if (spc > 1) {
		/* the smallest cluster size in range: half of it is not,
		 * within a track */
		CHECK(edge_need(p, false, spc * 256ull).clusters >
		      65524 - 1024 - 63);
	}

	/* the disk: 1 MiB + the needed volume + under a cylinder + a track */
	fat_image_chs(disk, &g);
	cyl = (uint64_t)g.heads * g.sectors;
	vol = edge_volume(p, fat32, spc);
	CHECK(part >= vol);
	if (disk - 2048 - vol >= cyl + g.sectors || disk - 2048 - vol >= 1071)
		FAIL_AT("%u half MiB: disk of %llu sectors for a volume of "
			"%llu",
			halves, (unsigned long long)disk,
			(unsigned long long)vol);
	return spc;
}

/* One pack of the edge sweep: a small driver tree and a BYTES file. */
static struct pack *edge_pack(int fd, uint64_t bytes)
{
	struct pack_builder *b = pack_builder_new(EPOCH);
	struct pack_extent ext;
	struct pack *p = NULL;
	int src = pack_builder_add_source(b, fd, 1200ull << 20);
	static const char *const blobs[] = {
		"readme.txt",
		"win7/x86/netkvm/netkvm.inf",
		"win7/x86/netkvm/netkvm.cat",
		"win7/amd64/netkvm/netkvm.inf",
		"win7/amd64/netkvm/netkvm.cat",
		("win7/amd64/netkvm/" EDGE_LONG),
		"win7/amd64/viostor/viostor.sys",
	};

	assert(src >= 0);
	for (size_t i = 0; i < sizeof(blobs) / sizeof(*blobs); i++) {
		unsigned char buf[5000];
		size_t len = 700 + i * 611;

		harness_fill(buf, len, (uint32_t)i + 7);
		assert(pack_builder_add_blob(b, blobs[i], buf, len, NULL,
					     NULL) == 0);
	}
	ext = (struct pack_extent){ (unsigned)src, 0, bytes };
	assert(pack_builder_add_file(b, "win7/amd64/netkvm/big.sys", &ext, 1,
				     NULL, NULL) == 0);
	assert(pack_builder_finish(b, &p) == 0);
	return p;
}

/*
 * A file in win7/amd64 (so twice on the disk, with $WinPEDriver$) of
 * 14..40 MiB in half MiB steps: FAT16 with 512 B and 1 KiB clusters, then
 * FAT32 with 512 B ones where the disk used to jump to 4 KiB clusters and
 * 274 MB; then around the 260 MB row of DskTableFAT32, and on to a file
 * of 600 MiB.
 * fsck.fat and mtools read a few of them (sparse: only metadata is
 * written).
 */
static void test_cluster_edge(void)
{
	static const unsigned extra[] = { 240, 250, 252, 254, 256, 258,
					  260, 262, 270, 300, 600, 1200 };
	static const unsigned checked[] = { 30, 33, 48, 256, 600 };
	char path[160], img_path[160], part_path[160];
	unsigned seen[65] = { 0 };
	bool tools = harness_have("fsck.fat") && harness_have("mdir");
	int fd;

	snprintf(path, sizeof(path), "%s/edge.src", tmpdir);
	snprintf(img_path, sizeof(img_path), "%s/edge.img", tmpdir);
	snprintf(part_path, sizeof(part_path), "%s/edge.part", tmpdir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert(fd >= 0 && ftruncate(fd, 1200ll << 20) == 0);
	for (unsigned k = 0; k < 53 + sizeof(extra) / sizeof(*extra); k++) {
		/* the file's size in half MiB */
		unsigned x2 = k < 53 ? 28 + k : extra[k - 53];
		struct pack *p = edge_pack(fd, (uint64_t)x2 << 19);
		struct image *img = build("img", p, NULL);
		unsigned spc = check_edge(p, img, x2);

		seen[spc < 64 ? spc : 64]++;
		for (size_t i = 0; i < sizeof(checked) / sizeof(*checked);
		     i++) {
			char *out, want[64];

			if (checked[i] != x2 || !tools)
				continue;
			write_sparse(img, img_path);
			snprintf(want, sizeof(want), "%u bytes per cluster",
				 spc * 512);
			out = harness_capture("dd if=%s of=%s bs=1M skip=1 "
					      "conv=sparse "
					      "status=none && fsck.fat -n -v "
					      "%s 2>&1; "
					      "echo rc=$?; mdir -i %s@@%u ::/ "
					      "2>&1; "
					      "echo rc=$?",
					      img_path, part_path, part_path,
					      img_path, PART_OFF);
			/* both exit codes 0, the cluster size, the tree */
			if (!strstr(out, "rc=0\n") ||
			    !strstr(strstr(out, "rc=0\n") + 5, "rc=0\n") ||
			    !strstr(out, want) ||
			    !strstr(out, "$WinPEDriver$") ||
			    strstr(out, "Free cluster summary wrong"))
				FAIL_AT("%u half MiB:\n%s", x2, out);
			free(out);
		}
		image_free(img);
		pack_unref(p);
	}
	close(fd);
	harness_sh("rm -f %s %s %s", path, img_path, part_path);
	/* the sweep crossed every edge it is meant to */
	CHECK(seen[1] > 0 && seen[2] > 0 && seen[8] > 0);
	if (!tools)
		skip_why = "fsck.fat or mtools not installed";
}

static int layout_error(struct pack *p, struct aero_error *err)
{
	struct image *img = NULL;
	int rc = image_build(image_format_find("img"), p, NULL, &img, err);

	CHECK(img == NULL);
	image_free(img);
	pack_unref(p);
	return rc;
}

static void test_errors(void)
{
	struct pack_builder *b;
	struct pack *p;
	struct aero_error err = { 0 };
	char name[64];

	/* 33000 names of one long name entry each: 66001 entries */
	b = pack_builder_new(EPOCH);
	for (int i = 0; i < 33000; i++) {
		snprintf(name, sizeof(name), "many/Name-%05d", i);
		assert(pack_builder_add_blob(b, name, "", 0, NULL, NULL) == 0);
	}
	assert(pack_builder_finish(b, &p) == 0);
	CHECK_EQ_INT(-ENOSPC, layout_error(p, &err));
	CHECK(strstr(err.msg, "many") && strstr(err.msg, "65536"));

	/* a name Windows cannot store */
	b = pack_builder_new(EPOCH);
	assert(pack_builder_add_blob(b, "d/what?.txt", "x", 1, NULL, NULL) ==
	       0);
	assert(pack_builder_finish(b, &p) == 0);
	aero_error_clear(&err);
	CHECK_EQ_INT(-EINVAL, layout_error(p, &err));
	CHECK(strstr(err.msg, "d/what?.txt") != NULL);

	/* names that differ only in non-ASCII case: the pack refuses them
	 * already (Windows' case rules, pack.h), before any layout */
	b = pack_builder_new(EPOCH);
	assert(pack_builder_add_blob(b, "caf\xc3\xa9", "x", 1, NULL, NULL) ==
	       0);
	CHECK_EQ_INT(-EEXIST, pack_builder_add_blob(b, "caf\xc3\x89", "x", 1,
						    NULL, NULL));
	pack_builder_free(b);

	/* a file of 4 GiB, FAT's limit plus one: the pack refuses it
	 * already (PACK_FILE_MAX), before reading a byte of it */
	{
		char path[160];
		int fd, src;
		struct pack_extent ext;

		snprintf(path, sizeof(path), "%s/huge.src", tmpdir);
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
		assert(fd >= 0 && ftruncate(fd, 1ll << 32) == 0);
		b = pack_builder_new(EPOCH);
		src = pack_builder_add_source(b, fd, 1ull << 32);
		ext = (struct pack_extent){ (unsigned)src, 0, 1ull << 32 };
		aero_error_clear(&err);
		CHECK_EQ_INT(-EFBIG, pack_builder_add_file(b, "huge.bin", &ext,
							   1, NULL, &err));
		CHECK(strstr(err.msg, "huge.bin") != NULL);
		pack_builder_free(b);
		close(fd);
		unlink(path);
	}
}

static void free_variant(struct variant *v)
{
	image_free(v->img);
	image_free(v->vhd);
	pack_unref(v->pack);
}

int main(void)
{
	unsigned char *big;
	int fd;

	strcpy(tmpdir, "/tmp/aerofs-test-fat-XXXXXX");
	assert(mkdtemp(tmpdir));
	snprintf(big_path, sizeof(big_path), "%s/big.src", tmpdir);
	big = malloc(BIG + 20000);
	assert(big);
	harness_fill(big, BIG + 20000, 99);
	fd = open(big_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert(fd >= 0 && write(fd, big, BIG + 20000) == BIG + 20000);
	close(fd);
	free(big);

	RUN_T(test_build);
	RUN_T(test_geometry);
	RUN_T(test_raw_entries);
	RUN_T(test_fsck);
	RUN_T(test_mtools);
	RUN_T(test_7z);
	RUN_T(test_qemu_img);
	RUN_T(test_random_reads);
	RUN_T(test_deterministic);
	RUN_T(test_no_winpe);
	RUN_T(test_iso_winpe);
	RUN_T(test_other_geometries);
	RUN_T(test_cluster_edge);
	RUN_T(test_errors);

	free_variant(&small);
	free_variant(&large);
	if (!getenv("AEROFS_KEEP_TMP"))
		harness_sh("rm -rf %s", tmpdir);
	else
		fprintf(stderr, "kept %s\n", tmpdir);
	return harness_exit();
}
