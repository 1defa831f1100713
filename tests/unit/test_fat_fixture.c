/*
 * test_fat_fixture.c: FAT and VHD images of real packs, built by the
 * catalog from every variant of the synthetic virtio-win fixture (the five
 * ISO flavours and the extracted tree), with the default driver set and
 * with the minimal one (viostor,netkvm without .pdb files).  Each image
 * is checked by fsck.fat (clean), mtools (every file, $WinPEDriver$
 * copies included, has the pack's bytes, and nothing else is there) and
 * qemu-img (the VHD has the raw disk's size and bytes).  A missing tool
 * or fixture skips the program.
 */
#include "tests/harness.h"
#include "tests/unit/image_test.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/pack/pack.h"
#include "catalog/stage/catalog.h"
#include "export/image/image.h"

#define PART_OFF 1048576u

static char tmpdir[64];
static char base[512];

static const char *const sources[] = {
	"virtio-win-rr.iso",	  "virtio-win-rr-joliet.iso",
	"virtio-win-xorriso.iso", "virtio-win-joliet.iso",
	"virtio-win-plain.iso",	  "tree",
};

static bool same_file(const struct pack *p, const struct pack_node *n,
		      const char *path)
{
	uint64_t size = pack_node_size(n);
	unsigned char *a = malloc(size + 1), *b = malloc(size + 1);
	int fd = open(path, O_RDONLY);
	bool same = false;

	assert(a && b);
	if (fd >= 0 && pack_node_read(p, n, a, size, 0) == (ssize_t)size &&
	    read(fd, b, size + 1) == (ssize_t)size)
		same = memcmp(a, b, size) == 0;
	if (fd >= 0)
		close(fd);
	free(a);
	free(b);
	return same;
}

/* Files of DIR under ROOT (path below DIR: SKIP chars of the pack path). */
static size_t compare_tree(const struct pack *p, const struct pack_node *dir,
			   const char *root, size_t skip)
{
	size_t files = 0;

	for (size_t i = 0; i < pack_node_nchildren(dir); i++) {
		const struct pack_node *n = pack_node_child(dir, i);
		char path[1024];

		if (pack_node_is_dir(n)) {
			files += compare_tree(p, n, root, skip);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", root,
			 pack_node_path(n) + skip);
		if (!same_file(p, n, path))
			FAIL_AT("%s: missing or different", path);
		files++;
	}
	return files;
}

static void check_pack(struct pack *p, const char *tag)
{
	struct aero_error err = { 0 };
	struct image *img = NULL, *vhd = NULL;
	char img_path[256], vhd_path[256], part[256], dir[256], *out;
	unsigned char mbr[512];
	size_t want;

	if (image_build(image_format_find("img"), p, NULL, &img, &err) < 0 ||
	    image_build(image_format_find("vhd"), p, NULL, &vhd, &err) < 0) {
		FAIL_AT("%s: %s", tag, err.msg);
		image_free(img);
		return;
	}
	snprintf(img_path, sizeof(img_path), "%s/%s.img", tmpdir, tag);
	snprintf(vhd_path, sizeof(vhd_path), "%s/%s.vhd", tmpdir, tag);
	snprintf(part, sizeof(part), "%s/%s.part", tmpdir, tag);
	snprintf(dir, sizeof(dir), "%s/%s.out", tmpdir, tag);
	write_image(img, img_path, 1 << 20);
	write_image(vhd, vhd_path, 1 << 20);
	assert(image_read(img, mbr, 512, 0) == 512);
	CHECK_EQ_INT(0, harness_sh("dd if=%s of=%s bs=512 skip=2048 count=%u "
				   "status=none",
				   img_path, part,
				   mbr[458] | mbr[459] << 8 | mbr[460] << 16 |
					   (unsigned)mbr[461] << 24));
	if (harness_have("fsck.fat")) {
		out = harness_capture("fsck.fat -n -v %s 2>&1; echo rc=$?",
				      part);
		if (!strstr(out, "rc=0"))
			FAIL_AT("fsck.fat %s:\n%s", tag, out);
		free(out);
	}
	if (harness_have("mcopy")) {
		const struct pack_node *w;

		CHECK_EQ_INT(0, harness_sh("mkdir -p %s && LC_ALL=C.UTF-8 "
					   "mcopy -s -n -i %s@@%u '::/*' %s/",
					   dir, img_path, PART_OFF, dir));
		want = compare_tree(p, pack_root(p), dir, 0);
		for (int i = 0; i < 2; i++) {
			const char *arch = i ? "x86" : "amd64";
			char src[32], wp[512];

			snprintf(src, sizeof(src), "win7/%s", arch);
			snprintf(wp, sizeof(wp), "%s/$WinPEDriver$/%s", dir,
				 arch);
			w = pack_lookup_path(p, src);
			CHECK(w != NULL);
			if (w)
				want += compare_tree(p, w, wp, strlen(src) + 1);
		}
		out = harness_capture("find %s -type f | wc -l", dir);
		CHECK_EQ_UINT(want, strtoul(out, NULL, 10));
		free(out);
	}
	if (harness_have("qemu-img")) {
		char size[64];

		out = harness_capture("qemu-img info -f vpc --output=json %s",
				      vhd_path);
		snprintf(size, sizeof(size), "\"virtual-size\": %llu",
			 (unsigned long long)image_size(img));
		if (!strstr(out, size))
			FAIL_AT("qemu-img info %s:\n%s", tag, out);
		free(out);
		CHECK_EQ_INT(0, harness_sh("qemu-img compare -q -f vpc -F raw "
					   "%s %s",
					   vhd_path, img_path));
	}
	image_free(img);
	image_free(vhd);
	harness_sh("rm -rf %s %s %s %s", img_path, vhd_path, part, dir);
}

static void test_fixtures(void)
{
	for (size_t i = 0; i < sizeof(sources) / sizeof(*sources); i++) {
		for (int minimal = 0; minimal < 2; minimal++) {
			struct catalog_options o = { 0 };
			struct aero_error err = { 0 };
			struct pack *p = NULL;
			char path[600], tag[64];

			snprintf(path, sizeof(path), "%s/%s", base, sources[i]);
			if (minimal &&
			    (catalog_option_parse(&o, "drivers=viostor+netkvm",
						  &err) != 1 ||
			     catalog_option_parse(&o, "drop-pdb", &err) != 1))
				FAIL_AT("options: %s", err.msg);
			if (catalog_build(path, &o, &p, NULL, &err) < 0) {
				FAIL_AT("catalog_build %s: %s", path, err.msg);
				catalog_options_free(&o);
				continue;
			}
			catalog_options_free(&o);
			snprintf(tag, sizeof(tag), "%zu-%d", i, minimal);
			check_pack(p, tag);
			pack_unref(p);
		}
	}
}

int main(void)
{
	const char *build = getenv("AEROFS_BUILD_ROOT");
	struct stat st;

	snprintf(base, sizeof(base), "%s/tests/fixtures/tiny",
		 build ? build : ".");
	if (stat(base, &st) != 0)
		return harness_skip("no fixture: build fixture_tiny first");
	/* the case is these three readers: without one, it cannot pass */
	if (!harness_have("fsck.fat") || !harness_have("mcopy") ||
	    !harness_have("qemu-img"))
		return harness_skip("needs fsck.fat, mtools and qemu-img");
	strcpy(tmpdir, "/tmp/aerofs-test-fatfx-XXXXXX");
	assert(mkdtemp(tmpdir));
	RUN(test_fixtures);
	harness_sh("rm -rf %s", tmpdir);
	return harness_exit();
}
