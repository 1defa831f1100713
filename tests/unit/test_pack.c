/*
 * test_pack.c: the pack tree builder and its immutable reads.
 *
 * Sources are real temporary files; digests are checked against values
 * from FIPS 180-2 (not from a run), and truncation of a source after the
 * build must turn reads into -EIO.
 */
#include "tests/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "catalog/pack/pack.h"
#include "catalog/util/upcase.h"

/* FIPS 180-2 B.1: SHA-256("abc"). */
static const unsigned char sha256_abc[32] = {
	0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
	0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
	0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
};

/* A temporary file holding LEN bytes of pattern (i * 7 + 3) & 0xff. */
static int make_source(size_t len, char *path)
{
	int fd;
	unsigned char *buf = malloc(len ? len : 1);

	strcpy(path, "/tmp/aerofs-test-pack-XXXXXX");
	fd = mkstemp(path);
	assert(fd >= 0 && buf);
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(i * 7 + 3);
	assert(write(fd, buf, len) == (ssize_t)len);
	free(buf);
	return fd;
}

static void test_tree_shape(void)
{
	struct pack_builder *b = pack_builder_new(1560000000);
	struct aero_error err = { 0 };
	struct pack *p = NULL;
	const struct pack_node *root, *win7, *n;

	CHECK_EQ_INT(0, pack_builder_add_blob(b, "win7/x86/viostor/viostor.inf",
					      "abc", 3, NULL, &err));
	CHECK_EQ_INT(0, pack_builder_add_blob(b, "manifest.json", "{}\n", 3,
					      NULL, &err));
	CHECK_EQ_INT(0, pack_builder_add_dir(b, "win7/amd64", &err));
	CHECK_EQ_INT(0, pack_builder_add_dir(b, "win7/amd64", &err));
	CHECK_EQ_INT(0, pack_builder_add_blob(b, "Zed", "", 0, NULL, &err));
	CHECK(pack_builder_has(b, "win7/x86"));
	CHECK(!pack_builder_has(b, "win7/x86/netkvm"));
	CHECK_EQ_INT(0, pack_builder_finish(b, &p));

	CHECK_EQ_INT(1560000000, pack_epoch(p));
	/* root, Zed, manifest.json, win7, amd64, x86, viostor, viostor.inf */
	CHECK_EQ_UINT(8, pack_node_count(p));
	root = pack_root(p);
	CHECK_EQ_UINT(1, pack_node_ino(root));
	CHECK(pack_node_parent(root) == root);
	CHECK_EQ_STR("", pack_node_name(root));
	CHECK_EQ_UINT(3, pack_node_nchildren(root));
	/* Bytewise order: uppercase before lowercase. */
	CHECK_EQ_STR("Zed", pack_node_name(pack_node_child(root, 0)));
	CHECK_EQ_STR("manifest.json", pack_node_name(pack_node_child(root, 1)));
	CHECK_EQ_STR("win7", pack_node_name(pack_node_child(root, 2)));
	CHECK(pack_node_child(root, 3) == NULL);
	CHECK_EQ_UINT(3, pack_node_nlink(root));

	win7 = pack_lookup(root, "win7");
	CHECK(win7 && pack_node_is_dir(win7));
	CHECK_EQ_UINT(4, pack_node_nlink(win7));
	CHECK_EQ_UINT(PACK_DIR_MODE, pack_node_mode(win7));
	CHECK_EQ_UINT(0, pack_node_size(win7));
	CHECK(pack_lookup(root, "WIN7") == NULL);

	n = pack_lookup_path(p, "win7/x86/viostor/viostor.inf");
	CHECK(n != NULL);
	if (n) {
		CHECK_EQ_STR("viostor.inf", pack_node_name(n));
		CHECK_EQ_STR("win7/x86/viostor/viostor.inf", pack_node_path(n));
		CHECK_EQ_UINT(3, pack_node_size(n));
		CHECK_EQ_UINT(1, pack_node_nlink(n));
		CHECK_EQ_UINT(PACK_FILE_MODE, pack_node_mode(n));
		CHECK_EQ_MEM(sha256_abc, pack_node_sha256(n), 32);
		CHECK(pack_node_by_ino(p, pack_node_ino(n)) == n);
		CHECK_EQ_STR("viostor", pack_node_name(pack_node_parent(n)));
	}
	CHECK(pack_lookup_path(p, "win7/x86/nope") == NULL);
	CHECK(pack_lookup_path(p, "") == root);
	CHECK(pack_node_by_ino(p, 0) == NULL);
	CHECK(pack_node_by_ino(p, 9) == NULL);

	/* Every inode resolves to a node carrying that number. */
	for (uint64_t ino = 1; ino <= pack_node_count(p); ino++)
		CHECK_EQ_UINT(ino, pack_node_ino(pack_node_by_ino(p, ino)));
	CHECK_EQ_UINT(6, pack_content_bytes(p));
	pack_unref(p);
}

/* The numbering must not depend on the order in which paths were added. */
static void test_inode_numbers_are_order_independent(void)
{
	static const char *const paths[] = { "b/y", "a/x", "a/w", "c",
					     "b/z/q" };
	struct pack *p1, *p2;
	struct pack_builder *b1 = pack_builder_new(0);
	struct pack_builder *b2 = pack_builder_new(0);

	for (size_t i = 0; i < 5; i++) {
		CHECK_EQ_INT(0, pack_builder_add_blob(b1, paths[i], "1", 1,
						      NULL, NULL));
		CHECK_EQ_INT(0, pack_builder_add_blob(b2, paths[4 - i], "1", 1,
						      NULL, NULL));
	}
	CHECK_EQ_INT(0, pack_builder_finish(b1, &p1));
	CHECK_EQ_INT(0, pack_builder_finish(b2, &p2));
	CHECK_EQ_UINT(pack_node_count(p1), pack_node_count(p2));
	for (uint64_t ino = 1; ino <= pack_node_count(p1); ino++)
		CHECK_EQ_STR(pack_node_path(pack_node_by_ino(p1, ino)),
			     pack_node_path(pack_node_by_ino(p2, ino)));
	pack_unref(p1);
	pack_unref(p2);
}

static void test_invalid_names(void)
{
	struct pack_builder *b = pack_builder_new(0);
	struct aero_error err = { 0 };
	char deep[PACK_DEPTH_MAX * 2 + 8] = "";
	char longname[PACK_NAME_MAX + 2];

	CHECK_EQ_INT(-EINVAL, pack_builder_add_blob(b, "", "x", 1, NULL, &err));
	CHECK_EQ_INT(-EINVAL,
		     pack_builder_add_blob(b, "/abs", "x", 1, NULL, &err));
	CHECK_EQ_INT(-EINVAL,
		     pack_builder_add_blob(b, "a//b", "x", 1, NULL, &err));
	CHECK_EQ_INT(-EINVAL,
		     pack_builder_add_blob(b, "a/../b", "x", 1, NULL, &err));
	CHECK_EQ_INT(-EINVAL,
		     pack_builder_add_blob(b, "a/./b", "x", 1, NULL, &err));
	CHECK_EQ_INT(-EINVAL,
		     pack_builder_add_blob(b, "dir/", "x", 1, NULL, &err));
	CHECK_EQ_INT(-EINVAL,
		     pack_builder_add_blob(b, "bell\a", "x", 1, NULL, &err));
	CHECK(strstr(err.msg, "control character") != NULL);
	CHECK_EQ_INT(-EINVAL,
		     pack_builder_add_blob(b, "bad\xff", "x", 1, NULL, &err));
	CHECK(strstr(err.msg, "UTF-8") != NULL);
	/* An overlong encoding of '/' must not sneak a separator in. */
	CHECK_EQ_INT(-EINVAL,
		     pack_builder_add_blob(b, "a\xc0\xaf", "x", 1, NULL, &err));
	CHECK_EQ_INT(0, pack_builder_add_blob(b, "caf\xc3\xa9", "x", 1, NULL,
					      &err));

	memset(longname, 'n', PACK_NAME_MAX + 1);
	longname[PACK_NAME_MAX + 1] = '\0';
	CHECK_EQ_INT(-ENAMETOOLONG,
		     pack_builder_add_blob(b, longname, "x", 1, NULL, &err));
	longname[PACK_NAME_MAX] = '\0';
	CHECK_EQ_INT(0, pack_builder_add_blob(b, longname, "x", 1, NULL, &err));

	for (int i = 0; i < PACK_DEPTH_MAX + 1; i++)
		strcat(deep, i ? "/d" : "d");
	CHECK_EQ_INT(-ELOOP,
		     pack_builder_add_blob(b, deep, "x", 1, NULL, &err));

	CHECK_EQ_INT(0, pack_builder_add_blob(b, "f", "x", 1, NULL, &err));
	CHECK_EQ_INT(-EEXIST,
		     pack_builder_add_blob(b, "f", "y", 1, NULL, &err));
	CHECK_EQ_INT(-EEXIST,
		     pack_builder_add_blob(b, "f/g", "y", 1, NULL, &err));
	CHECK_EQ_INT(-EEXIST, pack_builder_add_dir(b, "f", &err));
	/* Windows would see one of these two; refuse the second. */
	CHECK_EQ_INT(-EEXIST,
		     pack_builder_add_blob(b, "F", "y", 1, NULL, &err));
	CHECK(strstr(err.msg, "ignoring case") != NULL);
	CHECK_EQ_INT(0, pack_builder_add_blob(b, "Dir/a", "y", 1, NULL, &err));
	CHECK_EQ_INT(-EEXIST,
		     pack_builder_add_blob(b, "DIR/b", "y", 1, NULL, &err));
	CHECK_EQ_INT(-EEXIST, pack_builder_add_dir(b, "dir", &err));
	CHECK(pack_builder_has(b, "dIR/A"));
	pack_builder_free(b);
}

static void test_extents_read_span_and_rename(void)
{
	char path[64];
	int fd = make_source(10000, path);
	struct pack_builder *b = pack_builder_new(0);
	struct aero_error err = { 0 };
	/* Two extents out of order, as a multi-extent or shuffled file. */
	struct pack_extent ext[2] = { { 0, 5000, 3000 }, { 0, 100, 1000 } };
	struct pack_extent past = { 0, 9000, 2000 };
	unsigned char buf[4096], want[4096];
	const struct pack_node *n;
	struct pack_span span;
	struct pack *p;
	int src = pack_builder_add_source(b, fd, 10000);

	CHECK_EQ_INT(0, src);
	CHECK_EQ_INT(-EIO,
		     pack_builder_add_file(b, "past", &past, 1, NULL, &err));
	CHECK(strstr(err.msg, "past the end") != NULL);
	CHECK(!pack_builder_has(b, "past"));
	CHECK_EQ_INT(0, pack_builder_add_file(b, "d/f", ext, 2, NULL, &err));
	CHECK_EQ_INT(0, pack_builder_add_file(b, "empty", NULL, 0, NULL, &err));
	CHECK_EQ_INT(0, pack_builder_finish(b, &p));
	close(fd); /* the pack has its own descriptor */

	n = pack_lookup_path(p, "d/f");
	CHECK_EQ_UINT(4000, pack_node_size(n));
	for (size_t i = 0; i < 4000; i++)
		want[i] = (unsigned char)((i < 3000 ? 5000 + i :
						      100 + i - 3000) *
						  7 +
					  3);
	CHECK_EQ_INT(4000, pack_node_read(p, n, buf, sizeof(buf), 0));
	CHECK_EQ_MEM(want, buf, 4000);
	/* A read across the extent boundary. */
	CHECK_EQ_INT(20, pack_node_read(p, n, buf, 20, 2990));
	CHECK_EQ_MEM(want + 2990, buf, 20);
	CHECK_EQ_INT(0, pack_node_read(p, n, buf, 20, 4000));
	CHECK_EQ_INT(-EISDIR, pack_node_read(p, pack_root(p), buf, 1, 0));
	CHECK_EQ_INT(0, pack_node_read(p, pack_lookup_path(p, "empty"), buf, 1,
				       0));

	CHECK_EQ_INT(0, pack_node_span(p, n, 3500, &span));
	CHECK(span.fd >= 0 && span.mem == NULL);
	CHECK_EQ_UINT(100 + 500, span.fd_offset);
	CHECK_EQ_UINT(500, span.len);
	CHECK_EQ_INT(-EINVAL, pack_node_span(p, n, 4000, &span));

	/* Renamed over (the way a new release arrives): the pack keeps the
	 * old file through its descriptor and keeps serving it. */
	{
		char other[80];
		int fd2;

		snprintf(other, sizeof(other), "%s.new", path);
		fd2 = open(other, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		CHECK(fd2 >= 0 && write(fd2, "new", 3) == 3);
		close(fd2);
		CHECK_EQ_INT(0, rename(other, path));
		CHECK_EQ_INT(4000, pack_node_read(p, n, buf, sizeof(buf), 0));
		CHECK_EQ_MEM(want, buf, 4000);
		CHECK_EQ_INT(0, pack_verify(p, &err));
		CHECK_EQ_INT(0, pack_source_check(p, 0));
	}
	pack_unref(p);
}

/*
 * A source rewritten in place (same inode) or truncated after the pack was
 * built: every read of it fails with EIO rather than mixing two versions,
 * pack_source_check() and pack_verify() say so.
 */
static void test_source_changed_in_place(void)
{
	/* File times tick with the kernel's clock: let one tick pass between
	 * the pack's snapshot and the change. */
	const struct timespec tick = { 0, 30 * 1000 * 1000 };
	char path[64];
	struct pack_extent ext = { 0, 100, 1000 };
	struct aero_error err = { 0 };
	unsigned char buf[1000];

	for (int trunc = 0; trunc < 2; trunc++) {
		int fd = make_source(4000, path);
		struct pack_builder *b = pack_builder_new(0);
		const struct pack_node *n;
		struct pack *p;

		CHECK_EQ_INT(0, pack_builder_add_source(b, fd, 4000));
		CHECK_EQ_INT(0, pack_builder_add_file(b, "f", &ext, 1, NULL,
						      &err));
		CHECK_EQ_INT(0, pack_builder_finish(b, &p));
		n = pack_lookup_path(p, "f");
		CHECK_EQ_INT(1000, pack_node_read(p, n, buf, 1000, 0));
		CHECK_EQ_INT(0, pack_verify(p, &err));
		nanosleep(&tick, NULL);
		if (trunc)
			CHECK_EQ_INT(0, ftruncate(fd, 3000));
		else /* same size, one byte outside the file's extent */
			CHECK_EQ_INT(1, pwrite(fd, "x", 1, 3500));
		CHECK_EQ_INT(-EIO, pack_source_check(p, 0));
		CHECK_EQ_INT(-EIO, pack_node_read(p, n, buf, 1000, 0));
		CHECK_EQ_INT(-EIO, pack_verify(p, &err));
		CHECK(strstr(err.msg, "changed") != NULL);
		close(fd);
		unlink(path);
		pack_unref(p);
	}
}

static void test_blob_span_and_refs(void)
{
	struct pack_builder *b = pack_builder_new(-5);
	struct pack_span span;
	struct pack *p;
	const struct pack_node *n;
	unsigned char digest[32];

	CHECK_EQ_INT(0, pack_builder_add_blob(b, "a", "abc", 3, digest, NULL));
	CHECK_EQ_MEM(sha256_abc, digest, 32);
	CHECK_EQ_INT(0, pack_builder_finish(b, &p));
	n = pack_lookup_path(p, "a");
	CHECK_EQ_INT(0, pack_node_span(p, n, 1, &span));
	CHECK(span.fd == -1 && span.len == 2 && memcmp(span.mem, "bc", 2) == 0);
	CHECK_EQ_INT(-5, pack_epoch(pack_ref(p)));
	pack_unref(p);
	/* Still alive after one of two references is gone. */
	CHECK_EQ_STR("a", pack_node_name(n));
	pack_unref(p);
	pack_unref(NULL);
	pack_builder_free(NULL);
}

/* Many entries in one directory: builder and lookups stay fast. */
/*
 * A file whose source cannot deliver fails at add time and leaves no
 * trace, and every entry added before it is still found (the builder's
 * open-addressing table must not lose the entries probing past it).
 */
static void test_failed_add_leaves_builder_intact(void)
{
	char path[64], name[32];
	int fd = make_source(10000, path);
	struct pack_builder *b = pack_builder_new(0);
	struct aero_error err = { 0 };
	struct pack_extent ext = { 0, 0, 5000 };
	struct pack *p;

	CHECK_EQ_INT(0, pack_builder_add_source(b, fd, 10000));
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "d/f%03d", i);
		CHECK_EQ_INT(0, pack_builder_add_blob(b, name, "x", 1, NULL,
						      NULL));
	}
	CHECK_EQ_INT(0, ftruncate(fd, 100));
	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "d/bad%02d", i);
		CHECK_EQ_INT(-EIO, pack_builder_add_file(b, name, &ext, 1, NULL,
							 &err));
		CHECK(!pack_builder_has(b, name));
	}
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "d/f%03d", i);
		if (!pack_builder_has(b, name))
			FAIL_AT("%s lost after failed adds", name);
	}
	CHECK_EQ_INT(0, pack_builder_finish(b, &p));
	CHECK_EQ_UINT(302, pack_node_count(p));
	close(fd);
	unlink(path);
	pack_unref(p);
}

/* An empty pack and an empty directory are valid trees. */
static void test_empty(void)
{
	struct pack_builder *b = pack_builder_new(0);
	struct pack *p;

	CHECK_EQ_INT(0, pack_builder_finish(b, &p));
	CHECK_EQ_UINT(1, pack_node_count(p));
	CHECK_EQ_UINT(0, pack_node_nchildren(pack_root(p)));
	pack_unref(p);
	b = pack_builder_new(0);
	CHECK_EQ_INT(0, pack_builder_add_dir(b, "e", NULL));
	CHECK_EQ_INT(0, pack_builder_finish(b, &p));
	CHECK_EQ_UINT(2, pack_node_nlink(pack_lookup_path(p, "e")));
	pack_unref(p);
}

static void test_wide_directory(void)
{
	struct pack_builder *b = pack_builder_new(0);
	struct pack *p;
	char name[32];

	for (int i = 0; i < 50000; i++) {
		snprintf(name, sizeof(name), "w/%05d", 49999 - i);
		CHECK_EQ_INT(0,
			     pack_builder_add_blob(b, name, "", 0, NULL, NULL));
	}
	CHECK_EQ_INT(0, pack_builder_finish(b, &p));
	CHECK_EQ_UINT(50002, pack_node_count(p));
	CHECK_EQ_STR("00000",
		     pack_node_name(
			     pack_node_child(pack_lookup_path(p, "w"), 0)));
	CHECK(pack_lookup_path(p, "w/31337") != NULL);
	pack_unref(p);
}

/*
 * Issue 15: names that collide on Windows only outside ASCII.  NTFS
 * upper-cases each UTF-16 unit through its 1:1 $UpCase table.
 */
static void test_unicode_case(void)
{
	/* ä Ä, œ Œ, σοφ ΣΟΦ, др ДР, Armenian, ḁ Ḁ, full-width ａ Ａ, ǆ Ǆ */
	static const char *const pairs[][2] = {
		{ "\xc3\xa4nderung.txt", "\xc3\x84NDERUNG.TXT" },
		{ "d/\xc5\x93uvre", "d/\xc5\x92UVRE" },
		{ "\xcf\x83\xce\xbf\xcf\x86", "\xce\xa3\xce\x9f\xce\xa6" },
		{ "\xd0\xb4\xd1\x80", "\xd0\x94\xd0\xa0" },
		{ "\xd5\xa1", "\xd4\xb1" },
		{ "\xe1\xb8\x81", "\xe1\xb8\x80" },
		{ "\xef\xbd\x81", "\xef\xbc\xa1" },
		{ "\xc7\x86", "\xc7\x84" },
	};
	struct aero_error err = { 0 };

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		struct pack_builder *b = pack_builder_new(0);
		char dir[300];

		CHECK_EQ_INT(0, pack_builder_add_blob(b, pairs[i][0], "a", 1,
						      NULL, &err));
		if (pack_builder_add_blob(b, pairs[i][1], "b", 1, NULL, &err) !=
		    -EEXIST)
			FAIL_AT("%s and %s both added", pairs[i][0],
				pairs[i][1]);
		else
			CHECK(strstr(err.msg, "ignoring case") != NULL);
		/* As a directory in the way too. */
		snprintf(dir, sizeof(dir), "%s/x", pairs[i][1]);
		CHECK_EQ_INT(-EEXIST, pack_builder_add_dir(b, dir, &err));
		CHECK(pack_builder_has(b, pairs[i][1]));
		pack_builder_free(b);
	}
	/* Different names to Windows: no 1:1 upper case, or none at all. */
	{
		struct pack_builder *b = pack_builder_new(0);
		/* ß (no 1:1 upper case), dotless i (left out), Kelvin
		 * sign (upper case already), Deseret (not in the BMP) */
		static const char *const distinct[] = {
			"stra\xc3\x9f\x65", "STRASSE",
			"\xc4\xb1",	    "I",
			"\xe2\x84\xaa",	    "k",
			"\xf0\x90\x90\xa8", "\xf0\x90\x90\x80",
		};

		for (size_t i = 0; i < sizeof(distinct) / sizeof(*distinct);
		     i++)
			if (pack_builder_add_blob(b, distinct[i], "a", 1, NULL,
						  &err) < 0)
				FAIL_AT("%s refused: %s", distinct[i], err.msg);
		pack_builder_free(b);
	}
	/* The table itself, at range edges (Unicode 1:1 upper case). */
	CHECK_EQ_UINT('A', upcase_cp('a'));
	CHECK_EQ_UINT('Z', upcase_cp('z'));
	CHECK_EQ_UINT('{', upcase_cp('{'));
	CHECK_EQ_UINT(0xc0, upcase_cp(0xe0));
	CHECK_EQ_UINT(0xf7, upcase_cp(0xf7));  /* division sign */
	CHECK_EQ_UINT(0x178, upcase_cp(0xff)); /* ÿ -> Ÿ */
	CHECK_EQ_UINT(0x100, upcase_cp(0x101));
	CHECK_EQ_UINT(0x100, upcase_cp(0x100));
	CHECK_EQ_UINT(0x3a3, upcase_cp(0x3c2)); /* final sigma */
	CHECK_EQ_UINT(0x42f, upcase_cp(0x44f));
	CHECK_EQ_UINT(0x10a0, upcase_cp(0x2d00)); /* Georgian */
	CHECK_EQ_UINT(0xff3a, upcase_cp(0xff5a));
	CHECK_EQ_UINT(0xdf, upcase_cp(0xdf));
	CHECK_EQ_UINT(0x131, upcase_cp(0x131));
	CHECK_EQ_UINT(0x10428, upcase_cp(0x10428));
	CHECK(upcase_equal("\xc3\xa4", 2, "\xc3\x84", 2));
	CHECK(!upcase_equal("a", 1, "ab", 2));
	CHECK(!upcase_equal("\xff", 1, "\xfe", 1));
	CHECK(upcase_hash("\xc3\xa4x", 3) == upcase_hash("\xc3\x84X", 3));
}

/*
 * Issue 15: the size limit is checked before any byte is read.  The
 * source is registered as 1 TiB but holds 10 bytes: reading would fail
 * with -EIO, so -EFBIG shows that nothing was read.
 */
static void test_file_max(void)
{
	char path[64];
	int fd = make_source(10, path);
	struct pack_builder *b = pack_builder_new(0);
	struct aero_error err = { 0 };
	struct pack_extent big[2] = { { 0, 0, 3ull << 30 },
				      { 0, 3ull << 30, 3ull << 30 } };
	struct pack_extent max = { 0, 0, PACK_FILE_MAX + 1 };

	CHECK_EQ_INT(0, pack_builder_add_source(b, fd, 1ull << 40));
	CHECK_EQ_INT(-EFBIG,
		     pack_builder_add_file(b, "big", big, 2, NULL, &err));
	CHECK(strstr(err.msg, "big: more than 4294967295 bytes") != NULL);
	CHECK_EQ_INT(-EFBIG,
		     pack_builder_add_file(b, "max", &max, 1, NULL, &err));
	CHECK(!pack_builder_has(b, "big") && !pack_builder_has(b, "max"));
	/* 4 GiB - 1 itself passes the limit and fails the read. */
	max.length = PACK_FILE_MAX;
	CHECK_EQ_INT(-EIO,
		     pack_builder_add_file(b, "max", &max, 1, NULL, &err));
	pack_builder_free(b);
	close(fd);
	unlink(path);
}

/*
 * Issue 15: one content under many names (hard links in an image) is
 * hashed once.  Observable without a clock: after the first name is
 * hashed the source is truncated, so reading again would be -EIO.
 */
static void test_same_extents_hashed_once(void)
{
	char path[64];
	int fd = make_source(4096, path);
	struct pack_builder *b = pack_builder_new(0);
	struct aero_error err = { 0 };
	struct pack_extent ext[2] = { { 0, 2048, 2048 }, { 0, 0, 100 } };
	struct pack_extent other[2] = { { 0, 2048, 2048 }, { 0, 0, 101 } };
	unsigned char sha1[32], sha2[32];
	const struct pack_node *n;
	struct pack *p;

	CHECK_EQ_INT(0, pack_builder_add_source(b, fd, 4096));
	CHECK_EQ_INT(0, pack_builder_add_file(b, "a", ext, 2, sha1, &err));
	CHECK_EQ_INT(0, ftruncate(fd, 0));
	CHECK_EQ_INT(0, pack_builder_add_file(b, "b", ext, 2, sha2, &err));
	CHECK_EQ_MEM(sha1, sha2, 32);
	/* Another extent list is read, and fails: the source shrank. */
	CHECK_EQ_INT(-EIO, pack_builder_add_file(b, "c", other, 2, NULL, &err));
	CHECK_EQ_INT(0, pack_builder_finish(b, &p));
	n = pack_lookup_path(p, "b");
	CHECK(n != NULL);
	if (n)
		CHECK_EQ_MEM(sha1, pack_node_sha256(n), 32);
	pack_unref(p);
	close(fd);
	unlink(path);
}

/* The hex digits of DIGEST, for comparing with what a blob quotes. */
static void hex64(const unsigned char digest[32], char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

/* The whole content of file PATH of P, NUL-terminated. */
static char *read_all(const struct pack *p, const char *path, ssize_t *rc)
{
	const struct pack_node *n = pack_lookup_path(p, path);
	char *buf = calloc(1, n ? pack_node_size(n) + 1 : 1);

	*rc = n ? pack_node_read(p, n, buf, pack_node_size(n), 0) : -ENOENT;
	return buf;
}

/*
 * Deferred hashing: the tree, sizes and plain blobs are there at once; the
 * digests and the blob that quotes them only after pack_complete(), with
 * the same bytes as a builder that hashes as it goes; "b", with a's
 * extents, takes a's digest.  FIPS 180-2 gives SHA-256("abc").
 */
static void test_deferred_hashing(void)
{
	char path[64], hex[65], *text;
	int fd = make_source(4096, path);
	struct pack_builder *eager = pack_builder_new(0),
			    *b = pack_builder_new(0);
	struct aero_error err = { 0 };
	struct pack_extent ext[2] = { { 0, 2048, 2048 }, { 0, 0, 100 } };
	unsigned char want[32], got[32];
	static const char tmpl[] = "a=0123456789012345678901234567890123456789"
				   "012345678901234567890123 c=012345678901234"
				   "5678901234567890123456789012345678901234567"
				   "8901234\n";
	const struct pack_digest_slot slots[2] = { { 2, "a" }, { 69, "c" } };
	struct pack_span sp;
	struct pack *p, *q;
	ssize_t rc;

	/* the reference: hashed as added */
	CHECK_EQ_INT(0, pack_builder_add_source(eager, fd, 4096));
	CHECK_EQ_INT(0, pack_builder_add_file(eager, "a", ext, 2, want, &err));
	CHECK_EQ_INT(0,
		     pack_builder_add_blob(eager, "c", "abc", 3, NULL, &err));
	CHECK_EQ_INT(0, pack_builder_add_blob_digests(eager, "m", tmpl,
						      sizeof(tmpl) - 1, slots,
						      2, &err));
	CHECK_EQ_INT(0, pack_builder_finish(eager, &q));
	CHECK_EQ_INT(0, pack_hashed(q));

	pack_builder_defer_hashes(b);
	CHECK_EQ_INT(0, pack_builder_add_source(b, fd, 4096));
	memset(got, 0xff, 32);
	CHECK_EQ_INT(0, pack_builder_add_file(b, "a", ext, 2, got, &err));
	CHECK_EQ_MEM("\0\0\0\0\0\0\0\0", got, 8); /* not known yet */
	CHECK_EQ_INT(0, pack_builder_add_file(b, "b", ext, 2, NULL, &err));
	CHECK_EQ_INT(0, pack_builder_add_blob(b, "c", "abc", 3, NULL, &err));
	/* refused without reading: unknown file, slot past the end */
	CHECK_EQ_INT(-EINVAL,
		     pack_builder_add_blob_digests(b, "x", tmpl,
						   sizeof(tmpl) - 1,
						   (struct pack_digest_slot[]){
							   { 0, "zz" } },
						   1, &err));
	CHECK_EQ_INT(-EINVAL,
		     pack_builder_add_blob_digests(b, "x", tmpl, 70,
						   (struct pack_digest_slot[]){
							   { 7, "a" } },
						   1, &err));
	CHECK_EQ_INT(0, pack_builder_add_blob_digests(b, "m", tmpl,
						      sizeof(tmpl) - 1, slots,
						      2, &err));
	CHECK_EQ_INT(0, pack_builder_finish(b, &p));

	CHECK_EQ_INT(-EAGAIN, pack_hashed(p));
	CHECK_EQ_INT(4, (int)pack_node_count(p) - 1); /* a b c m */
	CHECK_EQ_INT((int)sizeof(tmpl) - 1,
		     (int)pack_node_size(pack_lookup_path(p, "m")));
	CHECK(!pack_node_ready(p, pack_lookup_path(p, "m")));
	CHECK(pack_node_ready(p, pack_lookup_path(p, "a")));
	free(read_all(p, "m", &rc));
	CHECK_EQ_INT(-EAGAIN, (int)rc);
	CHECK_EQ_INT(-EAGAIN,
		     pack_node_span(p, pack_lookup_path(p, "m"), 0, &sp));
	text = read_all(p, "c", &rc);
	CHECK_EQ_INT(3, (int)rc);
	CHECK_EQ_STR("abc", text);
	free(text);
	CHECK_EQ_INT(-EAGAIN, pack_verify(p, &err));

	CHECK_EQ_INT(0, pack_complete(p, NULL, &err));
	CHECK_EQ_INT(0, pack_hashed(p));
	CHECK_EQ_INT(0, pack_complete(p, NULL, &err)); /* once is enough */
	CHECK_EQ_MEM(want, pack_node_sha256(pack_lookup_path(p, "a")), 32);
	CHECK_EQ_MEM(want, pack_node_sha256(pack_lookup_path(p, "b")), 32);
	CHECK_EQ_MEM(sha256_abc, pack_node_sha256(pack_lookup_path(p, "c")),
		     32);
	text = read_all(p, "m", &rc);
	CHECK_EQ_INT((int)sizeof(tmpl) - 1, (int)rc);
	hex64(want, hex);
	CHECK(strncmp(text + 2, hex, 64) == 0);
	hex64(sha256_abc, hex);
	CHECK(strncmp(text + 69, hex, 64) == 0);
	CHECK(strncmp(text + 66, " c=", 3) == 0);
	/* byte for byte what the eager builder made, digest included */
	{
		ssize_t qrc;
		char *qtext = read_all(q, "m", &qrc);

		CHECK_EQ_INT((int)rc, (int)qrc);
		CHECK_EQ_STR(qtext, text);
		CHECK_EQ_MEM(pack_node_sha256(pack_lookup_path(q, "m")),
			     pack_node_sha256(pack_lookup_path(p, "m")), 32);
		free(qtext);
	}
	free(text);
	CHECK_EQ_INT(0, pack_verify(p, &err));
	pack_unref(p);
	pack_unref(q);
	close(fd);
	unlink(path);
}

/*
 * A deferred pack whose source shrinks before pack_complete() fails for
 * good: -EIO naming the file, the quoting blob unreadable (-EIO, not
 * -EAGAIN), while the tree and plain blobs stay served.  A cancel stops
 * it with -ECANCELED.
 */
static const char hex_zeros[] =
	"0000000000000000000000000000000000000000000000000000000000000000";

static bool stop_now(void *ctx)
{
	(void)ctx;
	return true;
}

static void test_deferred_failure(void)
{
	char path[64];
	int fd = make_source(4096, path);
	struct aero_error err = { 0 };
	struct pack_extent ext = { 0, 1024, 3072 };
	const struct pack_digest_slot slot = { 0, "f" };
	const struct pack_cancel cancel = { stop_now, NULL };
	struct pack *p[2];
	ssize_t rc;

	for (int i = 0; i < 2; i++) {
		struct pack_builder *b = pack_builder_new(0);

		pack_builder_defer_hashes(b);
		CHECK_EQ_INT(0, pack_builder_add_source(b, fd, 4096));
		CHECK_EQ_INT(0, pack_builder_add_file(b, "f", &ext, 1, NULL,
						      &err));
		CHECK_EQ_INT(0, pack_builder_add_blob(b, "g", "abc", 3, NULL,
						      &err));
		CHECK_EQ_INT(0,
			     pack_builder_add_blob_digests(b, "m", hex_zeros,
							   64, &slot, 1, &err));
		CHECK_EQ_INT(0, pack_builder_finish(b, &p[i]));
	}
	CHECK_EQ_INT(-ECANCELED, pack_complete(p[1], &cancel, &err));
	CHECK_EQ_INT(-ECANCELED, pack_hashed(p[1]));
	CHECK_EQ_INT(0, ftruncate(fd, 2048));
	memset(&err, 0, sizeof(err));
	CHECK_EQ_INT(-EIO, pack_complete(p[0], NULL, &err));
	CHECK(strstr(err.msg, "f: ") == err.msg);
	CHECK_EQ_INT(-EIO, pack_hashed(p[0]));
	for (int i = 0; i < 2; i++) {
		CHECK(pack_node_ready(p[i], pack_lookup_path(p[i], "m")));
		free(read_all(p[i], "m", &rc));
		CHECK_EQ_INT(-EIO, (int)rc);
		free(read_all(p[i], "g", &rc));
		CHECK_EQ_INT(3, (int)rc);
		pack_unref(p[i]);
	}
	close(fd);
	unlink(path);
}

/*
 * Issue 15: a directory source of ~1,200 files failed with "Too many open
 * files" at systemd's soft limit of 1,024.  A child lowers the soft limit
 * to 64 (the hard one stays) and registers 200 sources: all must succeed,
 * the soft limit raised to the hard one.  With the hard limit at 64 too,
 * registering fails with -EMFILE and nothing else.
 */
static int fd_limit_child(size_t nsrc, rlim_t soft, rlim_t hard)
{
	struct rlimit rl = { soft, hard };
	struct pack_builder *b = pack_builder_new(0);
	char path[64];
	int fd = make_source(1, path), rc = 0;

	unlink(path);
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 10;
	for (size_t i = 0; i < nsrc && rc >= 0; i++)
		rc = pack_builder_add_source(b, fd, 1);
	pack_builder_free(b);
	if (rc == -EMFILE)
		return 2;
	if (rc < 0)
		return 3;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur != rl.rlim_max)
		return 4;
	return 0;
}

static void test_fd_limit(void)
{
	struct rlimit rl;
	int st;
	pid_t pid;

	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 400)
		SKIP_CASE("hard RLIMIT_NOFILE %lu is below 400",
			  (unsigned long)rl.rlim_max);
	fflush(NULL);
	pid = fork();
	assert(pid >= 0);
	if (pid == 0)
		_exit(fd_limit_child(200, 64, rl.rlim_max));
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st));
	if (WIFEXITED(st) && WEXITSTATUS(st))
		FAIL_AT("200 sources at soft limit 64: child status %d "
			"(2: EMFILE)",
			WEXITSTATUS(st));
	pid = fork();
	assert(pid >= 0);
	if (pid == 0)
		_exit(fd_limit_child(200, 64, 64));
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2);
}

int main(void)
{
	RUN(test_tree_shape);
	RUN(test_inode_numbers_are_order_independent);
	RUN(test_invalid_names);
	RUN(test_extents_read_span_and_rename);
	RUN(test_source_changed_in_place);
	RUN(test_blob_span_and_refs);
	RUN(test_failed_add_leaves_builder_intact);
	RUN(test_empty);
	RUN(test_wide_directory);
	RUN(test_unicode_case);
	RUN(test_file_max);
	RUN(test_same_extents_hashed_once);
	RUN(test_deferred_hashing);
	RUN(test_deferred_failure);
	RUN(test_fd_limit);
	return harness_exit();
}
