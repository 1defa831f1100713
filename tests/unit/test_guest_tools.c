/*
 * test_guest_tools.c: pack_builder_add_copy(), config/devices.cmd
 * (devices.h) and the guest-tools profile (guest_tools.h).
 *
 * devices.cmd is checked against the virtio core's table (virtio_ids.h),
 * read independently here, and against INFs written by the test; the
 * profile is built from the build's tiny virtio-win fixture and compared
 * with the driver pack built from the same source.
 */
#include "tests/harness.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "catalog/pack/pack.h"
#include "catalog/stage/catalog.h"
#include "catalog/stage/devices.h"
#include "catalog/stage/guest_tools.h"
#include "catalog/stage/profile.h"
#include "virtio/virtio_ids.h"

static bool contains(const char *hay, const char *needle)
{
	return hay && strstr(hay, needle) != NULL;
}

/* ---- pack_builder_add_copy ------------------------------------------- */

static int make_source(size_t len, char *path)
{
	unsigned char *buf = malloc(len);
	int fd;

	strcpy(path, "/tmp/aerofs-test-gt-XXXXXX");
	fd = mkstemp(path);
	assert(fd >= 0 && buf);
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(i * 13 + 5);
	assert(write(fd, buf, len) == (ssize_t)len);
	free(buf);
	return fd;
}

static void test_add_copy(void)
{
	const struct timespec tick = { 0, 30 * 1000 * 1000 };
	struct pack_extent ext[2] = { { 0, 10, 100 }, { 0, 500, 50 } };
	struct pack_extent other = { 0, 0, 64 };
	struct aero_error err = { 0 };
	unsigned char a[150], c[150], sha[32];
	struct pack_builder *b = pack_builder_new(7), *b2;
	struct pack *from = NULL, *to = NULL;
	const struct pack_node *n, *m;
	char path[64];
	int fd = make_source(4096, path);

	CHECK_EQ_INT(0, pack_builder_add_source(b, fd, 4096));
	CHECK_EQ_INT(0, pack_builder_add_file(b, "win7/x86/f.sys", ext, 2, NULL,
					      &err));
	CHECK_EQ_INT(0, pack_builder_add_file(b, "g", &other, 1, NULL, &err));
	CHECK_EQ_INT(0,
		     pack_builder_add_blob(b, "m.json", "{}\n", 3, NULL, &err));
	CHECK_EQ_INT(0, pack_builder_finish(b, &from));

	b2 = pack_builder_new(7);
	n = pack_lookup_path(from, "win7/x86/f.sys");
	CHECK_EQ_INT(0, pack_builder_add_copy(b2, "drivers/x86/f.sys", from, n,
					      sha, &err));
	CHECK_EQ_MEM(pack_node_sha256(n), sha, 32);
	CHECK_EQ_INT(0, pack_builder_add_copy(b2, "g", from,
					      pack_lookup_path(from, "g"), NULL,
					      &err));
	CHECK_EQ_INT(0, pack_builder_add_copy(b2, "lic/m.json", from,
					      pack_lookup_path(from, "m.json"),
					      NULL, &err));
	/* a directory is not a file; a second copy at one path is refused */
	CHECK_EQ_INT(-EISDIR,
		     pack_builder_add_copy(b2, "d", from,
					   pack_lookup_path(from, "win7"), NULL,
					   &err));
	CHECK_EQ_INT(-EEXIST, pack_builder_add_copy(b2, "g", from,
						    pack_lookup_path(from, "g"),
						    NULL, &err));
	CHECK_EQ_INT(0, pack_builder_finish(b2, &to));
	pack_unref(from); /* the copy holds its own descriptors */

	m = pack_lookup_path(to, "drivers/x86/f.sys");
	CHECK(m != NULL);
	if (!m)
		goto out;
	CHECK_EQ_UINT(150, pack_node_size(m));
	CHECK_EQ_INT(150, pack_node_read(to, m, c, 150, 0));
	CHECK_EQ_INT(150, pread(fd, a, 100, 10) + pread(fd, a + 100, 50, 500));
	CHECK_EQ_MEM(a, c, 150);
	CHECK_EQ_MEM(sha, pack_node_sha256(m), 32);
	CHECK_EQ_INT(3, pack_node_read(to, pack_lookup_path(to, "lic/m.json"),
				       c, 150, 0));
	CHECK_EQ_MEM("{}\n", c, 3);
	CHECK_EQ_INT(0, pack_verify(to, &err));
	/* both files of the one source share one registration: source 1 of
	 * the copy does not exist */
	CHECK_EQ_INT(0, pack_source_check(to, 0));
	CHECK_EQ_INT(-EINVAL, pack_source_check(to, 1));
	/* the stat is FROM's: a change after FROM's build shows in the copy */
	nanosleep(&tick, NULL);
	CHECK_EQ_INT(1, pwrite(fd, "x", 1, 4000));
	CHECK_EQ_INT(-EIO, pack_source_check(to, 0));
	CHECK_EQ_INT(-EIO, pack_node_read(to, m, c, 150, 0));
out:
	pack_unref(to);
	close(fd);
	unlink(path);
}

/* ---- devices.cmd ------------------------------------------------------ */

/* An INF for DRV binding HWIDS (";"-separated) with service SVC. */
static char *inf_text(const char *model_dec, const char *hwids, const char *svc)
{
	char *s = NULL, *lines = NULL, *copy = strdup(hwids), *save = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&lines, &len);

	for (char *h = strtok_r(copy, ";", &save); h;
	     h = strtok_r(NULL, ";", &save))
		fprintf(f, "%%D%% = inst, %s\n", h);
	fclose(f);
	assert(asprintf(&s,
			"[Version]\nSignature=\"$Windows NT$\"\n"
			"[Manufacturer]\n%%V%% = M%s%s\n"
			"[M%s%s]\n%s"
			"[inst.NT.Services]\n"
			"AddService = \"%s\", 0x00000002, svc_inst\n"
			"[svc_inst]\nServiceBinary = %%12%%\\%s.sys\n"
			"[Strings]\nV = \"v\"\nD = \"d\"\n",
			*model_dec ? "," : "", model_dec, *model_dec ? "." : "",
			model_dec, lines, svc, svc) > 0);
	free(lines);
	free(copy);
	return s;
}

/* The line of TEXT that starts with PREFIX, without CRLF (static). */
static const char *line_of(const char *text, const char *prefix)
{
	static char line[4096];
	const char *p = text;

	while (p && *p) {
		const char *e = strstr(p, "\r\n");

		if (!strncmp(p, prefix, strlen(prefix)) && e &&
		    (size_t)(e - p) < sizeof(line)) {
			memcpy(line, p, (size_t)(e - p));
			line[e - p] = '\0';
			return line;
		}
		p = e ? e + 2 : NULL;
	}
	return NULL;
}

/* The four hardware ids of table entry NAME, quoted and joined. */
static void table_ids(const char *name, char *out, size_t size)
{
	const struct virtio_aero_device *d;
	size_t n;

	out[0] = '\0';
	d = virtio_aero_devices(&n);
	for (size_t i = 0; i < n; i++) {
		const struct virtio_pci_identity *id = &d[i].id;

		if (strcmp(d[i].name, name))
			continue;
		snprintf(out + strlen(out), size - strlen(out),
			 "\"PCI\\VEN_%04X&DEV_%04X&SUBSYS_%04X%04X&REV_%02X\" "
			 "\"PCI\\VEN_%04X&DEV_%04X&SUBSYS_%04X%04X\" "
			 "\"PCI\\VEN_%04X&DEV_%04X&REV_%02X\" "
			 "\"PCI\\VEN_%04X&DEV_%04X\"",
			 id->vendor, id->device, id->subsys, id->subsys_vendor,
			 id->revision, id->vendor, id->device, id->subsys,
			 id->subsys_vendor, id->vendor, id->device,
			 id->revision, id->vendor, id->device);
	}
}

static void test_devices_cmd(void)
{
	char *blk_x86 =
		inf_text("NTx86",
			 "PCI\\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00;"
			 "pci\\ven_1af4&dev_1001;"
			 "PCI\\VEN_1AF4&DEV_1042&SUBSYS_11001AF4&REV_01;"
			 "PCI\\VEN_1AF4&DEV_1042;"
			 "PCI\\VEN_1AF4&DEV_1000",
			 "viostor");
	char *blk_amd64 =
		inf_text("NTamd64",
			 "PCI\\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00;"
			 "PCI\\VEN_1AF4&DEV_1001;"
			 "PCI\\VEN_1AF4&DEV_1042&SUBSYS_11001AF4&REV_01;"
			 "PCI\\VEN_1AF4&DEV_1042;"
			 "PCI\\VEN_1AF4&DEV_1000",
			 "viostor");
	char *net = inf_text("", "PCI\\VEN_1AF4&DEV_1041", "netkvm");
	char *net_other = inf_text("", "PCI\\VEN_1AF4&DEV_1041", "netother");
	struct devices_inf infs[4] = {
		{ "viostor", "x86", "x86/viostor.inf", blk_x86,
		  strlen(blk_x86) },
		{ "viostor", "amd64", "amd64/viostor.inf", blk_amd64,
		  strlen(blk_amd64) },
		{ "netkvm", "x86", "x86/netkvm.inf", net, strlen(net) },
		{ "netkvm", "amd64", "amd64/netkvm.inf", net, strlen(net) },
	};
	struct aero_error err = { 0 };
	char ids[2048], want[4096], *text = NULL;
	size_t len = 0;

	CHECK_EQ_INT(0, devices_cmd_render(infs, 4, "aerofs 9.9", &text, &len,
					   &err));
	if (!text)
		goto out;
	CHECK_EQ_UINT(strlen(text), len);
	CHECK(!strncmp(text,
		       "@rem config\\devices.cmd: generated by aerofs "
		       "9.9 ",
		       44));
	for (size_t i = 0; i < len; i++)
		CHECK(text[i] > 0 && (text[i] != '\n' || text[i - 1] == '\r'));
	CHECK_EQ_STR("set \"AERO_VIRTIO_BLK_SERVICE=viostor\"",
		     line_of(text, "set \"AERO_VIRTIO_BLK_SERVICE="));
	CHECK_EQ_STR("set \"AERO_VIRTIO_BLK_SYS=viostor.sys\"",
		     line_of(text, "set \"AERO_VIRTIO_BLK_SYS="));
	/* the table's ids, then the INF's other virtio-blk ids (not the
	 * net DEV_1000), each once whatever its case */
	table_ids("virtio-blk", ids, sizeof(ids));
	snprintf(want, sizeof(want),
		 "set AERO_VIRTIO_BLK_HWIDS=%s "
		 "\"PCI\\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00\" "
		 "\"PCI\\VEN_1AF4&DEV_1001\" "
		 "\"PCI\\VEN_1AF4&DEV_1042&SUBSYS_11001AF4&REV_01\"",
		 ids);
	CHECK_EQ_STR(want, line_of(text, "set AERO_VIRTIO_BLK_HWIDS="));
	table_ids("virtio-net", ids, sizeof(ids));
	snprintf(want, sizeof(want), "set AERO_VIRTIO_NET_HWIDS=%s", ids);
	CHECK_EQ_STR(want, line_of(text, "set AERO_VIRTIO_NET_HWIDS="));
	CHECK_EQ_STR("set \"AERO_VIRTIO_NET_SERVICE=netkvm\"",
		     line_of(text, "set \"AERO_VIRTIO_NET_SERVICE="));
	/* not packaged: empty */
	CHECK_EQ_STR("set \"AERO_VIRTIO_SND_SERVICE=\"",
		     line_of(text, "set \"AERO_VIRTIO_SND_SERVICE="));
	CHECK_EQ_STR("set AERO_VIRTIO_INPUT_HWIDS=",
		     line_of(text, "set AERO_VIRTIO_INPUT_HWIDS="));
	CHECK(!contains(text, "NET_SYS"));
	free(text);
	text = NULL;

	/* x86 and amd64 disagree on the service */
	infs[3].data = net_other;
	infs[3].len = strlen(net_other);
	CHECK_EQ_INT(-EINVAL,
		     devices_cmd_render(infs, 4, "aerofs", &text, &len, &err));
	CHECK(text == NULL);
	CHECK(contains(err.msg, "netkvm: the x86 and amd64 INFs disagree"));
	/* packaged for one architecture only */
	CHECK_EQ_INT(-EINVAL,
		     devices_cmd_render(infs, 3, "aerofs", &text, &len, &err));
	CHECK(contains(err.msg, "netkvm: packaged for x86 only"));
	/* an INF that does not parse is named */
	infs[3].data = "garbage";
	infs[3].len = 7;
	CHECK_EQ_INT(-EINVAL,
		     devices_cmd_render(infs, 4, "aerofs", &text, &len, &err));
	CHECK(contains(err.msg, "amd64/netkvm.inf"));
out:
	free(text);
	free(blk_x86);
	free(blk_amd64);
	free(net);
	free(net_other);
}

/* ---- the profile ------------------------------------------------------ */

static const char *fixture_iso(void)
{
	static char path[4096];
	const char *build = getenv("AEROFS_BUILD_ROOT");

	if (!build)
		return NULL;
	snprintf(path, sizeof(path), "%s/tests/fixtures/tiny/virtio-win-rr.iso",
		 build);
	return access(path, R_OK) == 0 ? path : NULL;
}

static char *read_node(const struct pack *p, const char *path, size_t *len)
{
	const struct pack_node *n = pack_lookup_path(p, path);
	char *buf;

	if (!n)
		return NULL;
	buf = malloc(pack_node_size(n) + 1);
	assert(buf);
	assert(pack_node_read(p, n, buf, pack_node_size(n), 0) ==
	       (ssize_t)pack_node_size(n));
	buf[pack_node_size(n)] = '\0';
	if (len)
		*len = pack_node_size(n);
	return buf;
}

static void test_profile(void)
{
	const char *iso = fixture_iso();
	const struct profile *prof = profile_find("guest-tools");
	struct catalog_options opts = { 0 };
	struct aero_error err = { 0 };
	struct catalog_report *rep = NULL;
	struct pack *dp = NULL, *gt = NULL;
	char *man = NULL, *dev_gt, *dev_dp, *pm, *pm_copy;
	const struct pack_node *root;
	size_t nlisted = 0, nfiles = 0;
	cJSON *j = NULL, *f;

	if (!iso) {
		SKIP_CASE("the tiny fixture is not built");
		return;
	}
	CHECK(prof != NULL);
	if (!prof)
		return;
	CHECK_EQ_STR("aero-guest-tools", prof->image_name);
	CHECK(prof->build == guest_tools_build);
	CHECK_EQ_INT(0, catalog_build(iso, &opts, &dp, NULL, &err));
	CHECK_EQ_INT(0, prof->build(iso, &opts, &gt, &rep, &err));
	if (!dp || !gt) {
		FAIL_AT("build: %s", err.msg);
		goto out;
	}
	CHECK_EQ_STR(GUEST_TOOLS_LABEL, pack_label(gt));
	CHECK_EQ_STR(GUEST_TOOLS_LABEL, catalog_report_label(rep));
	CHECK_EQ_INT(pack_epoch(dp), pack_epoch(gt));
	root = pack_root(gt);
	for (size_t i = 0; i < 12; i++) {
		static const char *const top[] = { "README.txt",
						   "THIRD_PARTY_NOTICES.md",
						   "certs",
						   "config",
						   "drivers",
						   "licenses",
						   "manifest.json",
						   "setup.cmd",
						   "uninstall.cmd",
						   "verify.cmd",
						   NULL,
						   NULL };

		if (top[i])
			CHECK(pack_lookup(root, top[i]) != NULL);
	}
	CHECK_EQ_UINT(10, pack_node_nchildren(root));
	CHECK_EQ_UINT(0, pack_node_nchildren(pack_lookup(root, "certs")));
	/* devices.cmd: the pack's, and the same text */
	dev_gt = read_node(gt, "config/devices.cmd", NULL);
	dev_dp = read_node(dp, "config/devices.cmd", NULL);
	CHECK(dev_gt && dev_dp);
	CHECK_EQ_STR(dev_dp ? dev_dp : "", dev_gt ? dev_gt : "");
	CHECK(contains(dev_gt, "set \"AERO_VIRTIO_BLK_SERVICE=viostor\"\r\n"));
	free(dev_gt);
	free(dev_dp);
	/* the driver pack's manifest, for provenance, byte for byte */
	pm = read_node(dp, "manifest.json", NULL);
	pm_copy = read_node(gt, "licenses/virtio-win/driver-pack-manifest.json",
			    NULL);
	CHECK_EQ_STR(pm ? pm : "", pm_copy ? pm_copy : "");
	free(pm);
	free(pm_copy);

	man = read_node(gt, "manifest.json", NULL);
	{
		char *rj = catalog_report_json(rep);

		CHECK_EQ_STR(man, rj ? rj : "");
		free(rj);
	}
	CHECK(contains(man, "\n  \"signing_policy\": \"production\",\n"));
	CHECK(contains(man, "\n  \"media\": \"aero-guest-tools\",\n"));
	CHECK(contains(man, "\n  \"certs\": [],\n"));
	j = cJSON_Parse(man);
	CHECK(j != NULL);
	/* every listed file is in the tree with that size and digest, the
	 * drivers the pack's own, and every line is one element */
	cJSON_ArrayForEach(f, cJSON_GetObjectItem(j, "files"))
	{
		const char *path = cJSON_GetObjectItem(f, "path")->valuestring;
		const struct pack_node *n = pack_lookup_path(gt, path);
		char line[1024], hex[65];

		nlisted++;
		CHECK(n != NULL);
		if (!n)
			continue;
		for (size_t k = 0; k < 32; k++)
			snprintf(hex + 2 * k, 3, "%02x",
				 pack_node_sha256(n)[k]);
		snprintf(line, sizeof(line),
			 "\n    {\"path\": \"%s\", \"size\": %llu, "
			 "\"sha256\": \"%s\"}",
			 path, (unsigned long long)pack_node_size(n), hex);
		CHECK(contains(man, line));
		if (!strncmp(path, "drivers/", 8)) {
			char dpath[1024];
			const struct pack_node *o;

			snprintf(dpath, sizeof(dpath), "win7/%s", path + 8);
			o = pack_lookup_path(dp, dpath);
			CHECK(o != NULL);
			if (o)
				CHECK_EQ_MEM(pack_node_sha256(o),
					     pack_node_sha256(n), 32);
		}
	}
	for (size_t ino = 1; ino <= pack_node_count(gt); ino++) {
		const struct pack_node *n = pack_node_by_ino(gt, ino);

		if (!pack_node_is_dir(n) &&
		    strcmp(pack_node_path(n), "manifest.json"))
			nfiles++;
	}
	CHECK_EQ_UINT(nfiles, nlisted);
	CHECK(contains(man, "\"sha256\": \""));
	/* the last element has no comma, then the end of the object */
	CHECK(contains(man, "\"}\n  ]\n}\n"));
	/* label= names the Guest Tools' images too */
	pack_unref(gt);
	gt = NULL;
	CHECK_EQ_INT(1, catalog_option_parse(&opts, "label=GT_LABEL", &err));
	CHECK_EQ_INT(0, prof->build(iso, &opts, &gt, NULL, &err));
	if (gt)
		CHECK_EQ_STR("GT_LABEL", pack_label(gt));
out:
	cJSON_Delete(j);
	free(man);
	catalog_report_free(rep);
	pack_unref(dp);
	pack_unref(gt);
	catalog_options_free(&opts);
}

int main(void)
{
	RUN(test_add_copy);
	RUN(test_devices_cmd);
	RUN(test_profile);
	return harness_exit();
}
