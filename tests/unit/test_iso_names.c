/*
 * test_iso_names.c: how the ISO image names pack files in its primary and
 * Joliet trees when names must be mangled (export/image/iso_image.c,
 * name_children()), read back by independent readers: isoinfo for each
 * tree (-J for Joliet, none for the primary one) and 7z (which takes the
 * Joliet tree, and prints its names in UTF-8).  Rock Ridge is left out so
 * that no reader can fall back to the exact NM names.
 */
#include "tests/harness.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "catalog/pack/pack.h"
#include "export/image/image.h"

static char dir[64];

/* Builds the ISO of the pack made of NAMES[i] holding BODIES[i]. */
static bool build_iso(const char *const *names, const char *const *bodies,
		      size_t n, const char *path)
{
	struct image_options opts = { .no_rock_ridge = true };
	struct pack_builder *b = pack_builder_new(0);
	struct aero_error err = { 0 };
	struct image *img = NULL;
	struct pack *p = NULL;
	unsigned char buf[65536];
	uint64_t off = 0;
	FILE *f;

	for (size_t i = 0; i < n; i++)
		if (pack_builder_add_blob(b, names[i], bodies[i],
					  strlen(bodies[i]), NULL, &err) < 0) {
			FAIL_AT("%s: %s", names[i], err.msg);
			pack_builder_free(b);
			return false;
		}
	CHECK_EQ_INT(0, pack_builder_finish(b, &p));
	if (!p)
		return false;
	CHECK_EQ_INT(0, image_build(image_format_find("iso"), p, &opts, &img,
				    &err));
	pack_unref(p);
	if (!img) {
		FAIL_AT("image_build: %s", err.msg);
		return false;
	}
	f = fopen(path, "wb");
	assert(f);
	for (;;) {
		ssize_t r = image_read(img, buf, sizeof(buf), off);

		CHECK(r >= 0);
		if (r <= 0)
			break;
		CHECK_EQ_UINT((size_t)r, fwrite(buf, 1, (size_t)r, f));
		off += (uint64_t)r;
	}
	CHECK_EQ_UINT(image_size(img), off);
	fclose(f);
	image_free(img);
	return true;
}

/*
 * The bytes isoinfo extracts from PATH in ISO (JOLIET or primary tree);
 * isoinfo wants the ";1" of a file in both trees.
 */
static void expect_file(const char *iso, bool joliet, const char *path,
			const char *want)
{
	char *got = harness_capture("isoinfo -i %s %s -x '%s' 2>/dev/null", iso,
				    joliet ? "-J" : "", path);

	if (strcmp(got, want) != 0)
		FAIL_AT("%s tree, %s: got \"%s\", want \"%s\"",
			joliet ? "Joliet" : "primary", path, got, want);
	free(got);
}

/* The bytes 7z (Joliet) extracts for PATH. */
static void expect_7z(const char *iso, const char *path, const char *want)
{
	char *got = harness_capture("LC_ALL=C.UTF-8 7z e -so %s '%s' "
				    "2>/dev/null",
				    iso, path);

	if (strcmp(got, want) != 0)
		FAIL_AT("7z, %s: got \"%s\", want \"%s\"", path, got, want);
	free(got);
}

/*
 * Issue 15: "a;b.sys" and "a_b.sys" made Joliet "a_b.sys" hold the bytes
 * of "a;b.sys" (it sorts first, ';' < '_'), and "a_b.sys" became
 * "a_b_1.sys".  A genuine name is reserved before any name is mangled.
 */
static void test_genuine_name_kept(void)
{
	static const char *const names[] = {
		"a;b.sys",   "a_b.sys",
		"d:e/x.txt", "d_e/x.txt", /* directories too */
		"m*n",	     "m_n",	  /* no extension */
	};
	static const char *const bodies[] = {
		"semicolon", "underscore", "colon", "plain", "star", "bare",
	};
	char iso[128];

	REQUIRE_TOOL("isoinfo");
	REQUIRE_TOOL("7z");
	snprintf(iso, sizeof(iso), "%s/genuine.iso", dir);
	if (!build_iso(names, bodies, 6, iso))
		return;
	expect_file(iso, true, "/a_b.sys;1", "underscore");
	expect_file(iso, true, "/a_b_1.sys;1", "semicolon");
	expect_file(iso, true, "/d_e/x.txt;1", "plain");
	expect_file(iso, true, "/d_e_1/x.txt;1", "colon");
	expect_file(iso, true, "/m_n;1", "bare");
	expect_file(iso, true, "/m_n_1;1", "star");
	expect_7z(iso, "a_b.sys", "underscore");
	expect_7z(iso, "a_b_1.sys", "semicolon");
	/* The primary tree alike (upper case is its rule, not mangling). */
	expect_file(iso, false, "/A_B.SYS;1", "underscore");
	expect_file(iso, false, "/A_B_1.SYS;1", "semicolon");
	expect_file(iso, false, "/D_E/X.TXT;1", "plain");
	expect_file(iso, false, "/D_E_1/X.TXT;1", "colon");
}

/*
 * Only the primary tree mangles '-': "a-b.txt" and "a_b.txt" are both
 * exact in Joliet, and the primary "A_B.TXT" belongs to "a_b.txt".
 */
static void test_primary_genuine_name_kept(void)
{
	static const char *const names[] = { "a-b.txt", "a_b.txt" };
	static const char *const bodies[] = { "dash", "underscore" };
	char iso[128];

	REQUIRE_TOOL("isoinfo");
	snprintf(iso, sizeof(iso), "%s/primary.iso", dir);
	if (!build_iso(names, bodies, 2, iso))
		return;
	expect_file(iso, false, "/A_B.TXT;1", "underscore");
	expect_file(iso, false, "/A_B_1.TXT;1", "dash");
	expect_file(iso, true, "/a-b.txt;1", "dash");
	expect_file(iso, true, "/a_b.txt;1", "underscore");
}

/*
 * Issue 15: Joliet names collide as Windows compares them, outside ASCII
 * too: "x*ä.txt" mangles to "x_ä.txt", which Windows cannot tell from the
 * genuine "X_Ä.TXT"; it must become "x_ä_1.txt".
 */
static void test_joliet_unicode_case(void)
{
	static const char *const names[] = { "x*\xc3\xa4.txt",
					     "X_\xc3\x84.TXT" };
	static const char *const bodies[] = { "star", "upper" };
	char iso[128], *list;

	REQUIRE_TOOL("7z");
	snprintf(iso, sizeof(iso), "%s/unicode.iso", dir);
	if (!build_iso(names, bodies, 2, iso))
		return;
	/* 7z reads Joliet and prints UTF-8 under a UTF-8 locale. */
	list = harness_capture("LC_ALL=C.UTF-8 7z l -slt %s 2>&1", iso);
	if (!strstr(list, "Path = X_\xc3\x84.TXT\n") ||
	    !strstr(list, "Path = x_\xc3\xa4_1.txt\n") ||
	    strstr(list, "Path = x_\xc3\xa4.txt\n"))
		FAIL_AT("Joliet names: %s", list);
	free(list);
	expect_7z(iso, "X_\xc3\x84.TXT", "upper");
	expect_7z(iso, "x_\xc3\xa4_1.txt", "star");
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/aerofs-iso-names-XXXXXX",
		 tmp ? tmp : "/tmp");
	assert(mkdtemp(dir));
	RUN(test_genuine_name_kept);
	RUN(test_primary_genuine_name_kept);
	RUN(test_joliet_unicode_case);
	harness_sh("rm -rf %s", dir);
	return harness_exit();
}
