/*
 * test_catalog.c: the selection rules, option parsing and synthesized text
 * of catalog/ (select.h, catalog.h, synth.h, jsonout.h, inspect.h).
 *
 * Selection runs on real directory trees made in a temporary directory and
 * opened with source_open(), so the case-insensitive lookups are the real
 * ones.  Whole builds (catalog_build) run on such trees too, including a
 * pack written back to disk and imported again, which must give the same
 * bytes.  ISO sources and the fixture generator are the integration test's
 * business (tests/integration/test_catalog.py).
 */
#include "tests/harness.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "catalog/stage/catalog.h"
#include "catalog/stage/inspect.h"
#include "catalog/stage/report.h"
#include "catalog/util/jsonout.h"
#include "catalog/util/log.h"
#include "catalog/util/termesc.h"
#include "catalog/stage/select.h"
#include "catalog/source/source.h"
#include "catalog/stage/synth.h"
#include "catalog/stage/winscripts.h"

static char tmproot[PATH_MAX];

/* ---- helpers ------------------------------------------------------------ */

static void mkparents(const char *path)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(buf, 0755);
		*p = '/';
	}
}

static void put(const char *dir, const char *rel, const char *data)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	mkparents(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert(fd >= 0);
	assert(write(fd, data, strlen(data)) == (ssize_t)strlen(data));
	close(fd);
}

static void mkdirs(const char *dir, const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s/", dir, rel);
	mkparents(path);
}

static void rmtree(const char *path)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	assert(system(cmd) == 0);
}

static const char *newdir(const char *name)
{
	static char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", tmproot, name);
	rmtree(path);
	assert(mkdir(path, 0755) == 0);
	return path;
}

/* An INF like upstream's Win7 ones: [Manufacturer] decorated DEC. */
static void put_inf_dec(const char *dir, const char *rel, const char *svc,
			const char *dec, const char *dev)
{
	char text[2048];

	snprintf(text, sizeof(text),
		 "[Version]\r\nSignature=\"$WINDOWS NT$\"\r\n"
		 "Class=SCSIAdapter\r\n"
		 "ClassGUID={4D36E97B-E325-11CE-BFC1-08002BE10318}\r\n"
		 "Provider=%%VENDOR%%\r\n"
		 "DriverVer = 06/07/2019,61.77.104.17200\r\n"
		 "CatalogFile=%s.cat\r\n\r\n"
		 "[SourceDisksNames]\r\n1 = %%DiskId1%%,,,\"\"\r\n\r\n"
		 "[SourceDisksFiles]\r\n%s.sys = 1,,\r\n\r\n"
		 "[Manufacturer]\r\n%%VENDOR%% = Models,%s\r\n\r\n"
		 "[Models.%s]\r\n"
		 "%%Desc%% = inst, "
		 "PCI\\VEN_1AF4&DEV_%s&SUBSYS_11001AF4&REV_01, "
		 "PCI\\VEN_1AF4&DEV_%s\r\n\r\n"
		 "[inst]\r\nCopyFiles = "
		 "files\r\n\r\n[files]\r\n%s.sys,,,2\r\n\r\n"
		 "[inst.Services]\r\nAddService = %s, 0x2, svc ; "
		 "comment\r\n\r\n"
		 "[svc]\r\nServiceType = 1\r\nStartType = 0\r\n"
		 "ServiceBinary = %%12%%\\%s.sys\r\n\r\n"
		 "[Strings]\r\nVENDOR = \"Red Hat, Inc.\"\r\n"
		 "DiskId1 = \"disk\"\r\nDesc = \"device\"\r\n",
		 svc, svc, dec, dec, dev, dev, svc, svc, svc);
	put(dir, rel, text);
}

/* An INF like upstream's Win7 ones: decorated NT<ARCH>.6.1, binding DEV. */
static void put_inf(const char *dir, const char *rel, const char *svc,
		    const char *arch, const char *dev)
{
	char dec[64];

	snprintf(dec, sizeof(dec), "NT%s.6.1", arch);
	put_inf_dec(dir, rel, svc, dec, dev);
}

/* A complete Win7 driver folder: INF, .sys, .cat, .pdb. */
static void put_driver(const char *root, const char *folder, const char *svc,
		       const char *arch, const char *dev)
{
	char rel[PATH_MAX];
	const char *infarch = !strcmp(arch, "x86") || !strcmp(arch, "i386") ?
				      "x86" :
				      "amd64";

	snprintf(rel, sizeof(rel), "%s/%s.inf", folder, svc);
	put_inf(root, rel, svc, infarch, dev);
	snprintf(rel, sizeof(rel), "%s/%s.sys", folder, svc);
	put(root, rel, "MZ driver bytes");
	snprintf(rel, sizeof(rel), "%s/%s.cat", folder, svc);
	put(root, rel, "not a real catalog");
	snprintf(rel, sizeof(rel), "%s/%s.pdb", folder, svc);
	put(root, rel, "symbols");
}

/* viostor and NetKVM for both arches under the given OS folder names. */
static void put_required(const char *root, const char *os)
{
	char f[128];

	snprintf(f, sizeof(f), "viostor/%s/x86", os);
	put_driver(root, f, "viostor", "x86", "1042");
	snprintf(f, sizeof(f), "viostor/%s/amd64", os);
	put_driver(root, f, "viostor", "amd64", "1042");
	snprintf(f, sizeof(f), "NetKVM/%s/x86", os);
	put_driver(root, f, "netkvm", "x86", "1041");
	snprintf(f, sizeof(f), "NetKVM/%s/amd64", os);
	put_driver(root, f, "netkvm", "amd64", "1041");
}

static struct source *open_dir(const char *path)
{
	struct aero_error err = { 0, "" };
	struct source *s = NULL;
	int r = source_open(path, NULL, &s, &err);

	if (r < 0)
		FAIL_AT("source_open %s: %s", path, err.msg);
	return s;
}

static int run_select(const char *root, const char *drivers, bool strict,
		      struct selection *sel, struct aero_error *err)
{
	const struct select_driver_def *defs[SELECT_NDRIVERS];
	struct source *s = open_dir(root);
	size_t n;
	int r;

	memset(sel, 0, sizeof(*sel));
	if (!s)
		return -EIO;
	r = select_parse_drivers(drivers, defs, &n, err);
	assert(r == 0);
	r = select_run(source_root(s), defs, n, strict, sel, err);
	/* node pointers die with the source: keep only what tests read */
	for (size_t i = 0; i < sel->ndrv; i++)
		for (size_t t = 0; t < SELECT_NTARGETS; t++) {
			sel->drv[i].t[t].os_node = NULL;
			sel->drv[i].t[t].arch_node = NULL;
		}
	source_close(s);
	return r;
}

static bool contains(const char *hay, const char *needle)
{
	return hay && strstr(hay, needle);
}

#define CHECK_CONTAINS(hay, needle)                                            \
	do {                                                                   \
		if (!contains((hay), (needle)))                                \
			FAIL_AT("\"%.300s\" does not contain \"%s\"",          \
				(hay) ? (hay) : "(null)", (needle));           \
	} while (0)

/* ---- drivers= and options ----------------------------------------------- */

static void test_parse_drivers(void)
{
	const struct select_driver_def *d[SELECT_NDRIVERS];
	struct aero_error err = { 0, "" };
	size_t n = 99;

	CHECK_EQ_INT(0, select_parse_drivers(NULL, d, &n, &err));
	CHECK_EQ_UINT(4, n);
	CHECK_EQ_STR("viostor", d[0]->id);
	CHECK_EQ_STR("netkvm", d[1]->id);
	CHECK_EQ_STR("viosnd", d[2]->id);
	CHECK_EQ_STR("vioinput", d[3]->id);
	CHECK_EQ_STR("NetKVM", d[1]->upstream);

	/* trimmed, lowercased, deduplicated, order kept */
	CHECK_EQ_INT(0, select_parse_drivers(" VioInput, NetKVM ,viostor,"
					     "netkvm,,",
					     d, &n, &err));
	CHECK_EQ_UINT(3, n);
	CHECK_EQ_STR("vioinput", d[0]->id);
	CHECK_EQ_STR("netkvm", d[1]->id);
	CHECK_EQ_STR("viostor", d[2]->id);

	CHECK_EQ_INT(-EINVAL, select_parse_drivers("viostor,netkvm,foo,BAR", d,
						   &n, &err));
	CHECK_CONTAINS(err.msg, "unknown driver(s) requested: foo, bar");
	CHECK_CONTAINS(err.msg, "supported: viostor, netkvm, viosnd, vioinput");

	CHECK_EQ_INT(-EINVAL,
		     select_parse_drivers("viostor,vioinput", d, &n, &err));
	CHECK_CONTAINS(err.msg, "this driver pack requires: viostor, netkvm");
	CHECK_CONTAINS(err.msg, "missing from drivers=: netkvm");

	CHECK_EQ_INT(-EINVAL, select_parse_drivers("vioinput", d, &n, &err));
	CHECK_CONTAINS(err.msg, "missing from drivers=: viostor, netkvm");

	CHECK_EQ_INT(-EINVAL, select_parse_drivers(" , ,", d, &n, &err));
	CHECK_CONTAINS(err.msg, "empty drivers= list");
	CHECK_EQ_INT(-EINVAL, select_parse_drivers("", d, &n, &err));

	CHECK_EQ_INT(-EINVAL,
		     select_parse_drivers("viostor,netkvm,"
					  "averyveryveryveryverylongdrivername",
					  d, &n, &err));
	CHECK_CONTAINS(err.msg, "unknown driver(s) requested: averyvery");
}

static void test_option_parse(void)
{
	struct catalog_options o = { 0 };
	struct aero_error err = { 0, "" };

	CHECK_EQ_INT(1,
		     catalog_option_parse(&o, "drivers=viostor,netkvm", &err));
	CHECK_EQ_STR("viostor,netkvm", o.drivers);
	CHECK_EQ_INT(0, catalog_options_check(&o, &err));
	/* a part of a list is fine until the whole is checked */
	CHECK_EQ_INT(1, catalog_option_parse(&o, "drivers=viostor", &err));
	CHECK_EQ_STR("viostor", o.drivers);
	CHECK_EQ_INT(-EINVAL, catalog_options_check(&o, &err));
	CHECK_CONTAINS(err.msg, "missing from drivers=: netkvm");
	/* the word after drivers= continues it if it is a driver id */
	CHECK_EQ_INT(1, catalog_option_parse(&o, "NetKVM", &err));
	CHECK_EQ_STR("viostor,NetKVM", o.drivers);
	CHECK_EQ_INT(0, catalog_options_check(&o, &err));
	CHECK_EQ_INT(-EINVAL, catalog_option_parse(&o, "drivers=x", &err));
	CHECK_CONTAINS(err.msg, "unknown driver(s) requested: x");
	CHECK_EQ_STR("viostor,NetKVM", o.drivers); /* unchanged */
	/* '+' needs no escaping inside -o */
	CHECK_EQ_INT(1,
		     catalog_option_parse(&o, "drivers=viostor+netkvm+viosnd",
					  &err));
	CHECK_EQ_STR("viostor+netkvm+viosnd", o.drivers);
	CHECK_EQ_INT(0, catalog_options_check(&o, &err));

	CHECK_EQ_INT(1, catalog_option_parse(&o, "strict-optional", &err));
	CHECK(o.strict_optional);
	/* a flag closes the drivers list */
	CHECK_EQ_INT(0, catalog_option_parse(&o, "vioinput", &err));
	CHECK_EQ_INT(1, catalog_option_parse(&o, "drop-pdb", &err));
	CHECK(o.drop_pdb);
	CHECK_EQ_INT(1, catalog_option_parse(&o, "source-hash", &err));
	CHECK(o.source_hash);

	CHECK_EQ_INT(1, catalog_option_parse(&o, "epoch=1560000000", &err));
	CHECK(o.epoch_set);
	CHECK_EQ_INT(1560000000, o.epoch);
	CHECK_EQ_INT(1, catalog_option_parse(&o, "epoch=-86400", &err));
	CHECK_EQ_INT(-86400, o.epoch);
	CHECK_EQ_INT(-EINVAL, catalog_option_parse(&o, "epoch=12x", &err));
	CHECK_CONTAINS(err.msg, "invalid epoch '12x'");
	CHECK_EQ_INT(-EINVAL, catalog_option_parse(&o, "epoch=", &err));
	CHECK_EQ_INT(-EINVAL,
		     catalog_option_parse(&o, "epoch=99999999999999999999999",
					  &err));
	CHECK_CONTAINS(err.msg, "out of range");
	CHECK_EQ_INT(-86400, o.epoch); /* unchanged by failures */

	CHECK_EQ_INT(1,
		     catalog_option_parse(&o, "label=virtio-win-0.1.2", &err));
	CHECK_EQ_STR("virtio-win-0.1.2", o.label);
	CHECK_EQ_INT(1,
		     catalog_option_parse(&o, "label=AERO_W7_DRIVERS", &err));
	/* 17 characters: Joliet would cut it (RHBZ 1782636) */
	CHECK_EQ_INT(-EINVAL,
		     catalog_option_parse(&o, "label=virtio-win-0.1.285",
					  &err));
	CHECK_CONTAINS(err.msg, "16");
	CHECK_EQ_INT(-EINVAL, catalog_option_parse(&o, "label=", &err));
	CHECK_EQ_INT(-EINVAL, catalog_option_parse(&o, "label=a b", &err));
	CHECK_EQ_INT(-EINVAL, catalog_option_parse(&o, "label=\xc3\xa9", &err));
	CHECK_EQ_STR("AERO_W7_DRIVERS", o.label);
	CHECK(catalog_label_valid(CATALOG_DEFAULT_LABEL));

	/* not ours (libfuse's): left to the caller */
	CHECK_EQ_INT(0, catalog_option_parse(&o, "allow_other", &err));
	CHECK_EQ_INT(0, catalog_option_parse(&o, "ro", &err));
	CHECK_EQ_INT(0, catalog_option_parse(&o, "fsname=x", &err));
	CHECK_EQ_INT(0, catalog_option_parse(&o, "default_permissions", &err));
	/* close to ours: an error that shows the spelling */
	CHECK_EQ_INT(-EINVAL, catalog_option_parse(&o, "drop-pdbs", &err));
	CHECK_CONTAINS(err.msg, "unknown option 'drop-pdbs'; the spelling is "
				"drop-pdb");
	CHECK_EQ_INT(-EINVAL,
		     catalog_option_parse(&o, "Drivers=viostor", &err));
	CHECK_CONTAINS(err.msg, "drivers=ID+ID...");
	CHECK_EQ_INT(-EINVAL, catalog_option_parse(&o, "drop_pdb", &err));
	CHECK_EQ_INT(-EINVAL, catalog_option_parse(&o, "label", &err));
	CHECK_CONTAINS(err.msg, "label=LABEL");
	CHECK_EQ_INT(-EINVAL, catalog_option_parse(&o, "source-hash=1", &err));
	CHECK_EQ_INT(-EINVAL, catalog_option_parse(&o, "strict-optinal", &err));
	CHECK_EQ_STR("AERO_W7_DRIVERS", o.label);
	catalog_options_free(&o);
	CHECK(!o.drivers && !o.label && !o.drop_pdb);
}

static int take_other(void *ctx, const char *word, struct aero_error *err)
{
	(void)err;
	if (strcmp(word, "no-joliet"))
		return 0;
	++*(int *)ctx;
	return 1;
}

/* One -o list grammar for the three tools (issue 11 #4). */
static void test_option_list(void)
{
	struct catalog_options o = { 0 };
	struct aero_error err = { 0, "" };
	int others = 0;

	/* what a new user types, as aerofs-catalog always accepted it */
	CHECK_EQ_INT(0, catalog_options_parse_list(&o,
						   "drivers=viostor,netkvm,"
						   "drop-pdb",
						   NULL, NULL, NULL, &err));
	CHECK_EQ_STR("viostor,netkvm", o.drivers);
	CHECK(o.drop_pdb);
	CHECK_EQ_INT(0, catalog_options_check(&o, &err));
	catalog_options_free(&o);
	CHECK_EQ_INT(0, catalog_options_parse_list(&o,
						   "label=X,drivers=viostor\\,"
						   "netkvm",
						   NULL, NULL, NULL, &err));
	CHECK_EQ_STR("viostor,netkvm", o.drivers);
	CHECK_EQ_STR("X", o.label);
	catalog_options_free(&o);
	CHECK_EQ_INT(0, catalog_options_parse_list(&o,
						   "drivers=viostor+netkvm,no-"
						   "joliet,,epoch=5",
						   take_other, &others,
						   "no-joliet", &err));
	CHECK_EQ_STR("viostor+netkvm", o.drivers);
	CHECK_EQ_INT(1, others);
	CHECK_EQ_INT(5, o.epoch);
	catalog_options_free(&o);
	CHECK_EQ_INT(-EINVAL,
		     catalog_options_parse_list(&o, "drop-pdb,nonsense",
						take_other, &others,
						"no-joliet, format=zip|iso|dir",
						&err));
	CHECK_CONTAINS(err.msg, "unknown option 'nonsense'; accepted: "
				"drivers=ID+ID..., strict-optional");
	CHECK_CONTAINS(err.msg, "label=LABEL, extra-drivers=DIR, cert=FILE, "
				"no-joliet, format=zip|iso|dir");
	CHECK_EQ_INT(-EINVAL,
		     catalog_options_parse_list(&o, "drivers=viostor+nope",
						NULL, NULL, NULL, &err));
	CHECK_CONTAINS(err.msg, "unknown driver(s) requested: nope");
	catalog_options_free(&o);
}

static void test_epoch_env(void)
{
	struct aero_error err = { 0, "" };
	int64_t t = 7;

	unsetenv("SOURCE_DATE_EPOCH");
	CHECK_EQ_INT(0, catalog_epoch_from_env(&t, &err));
	setenv("SOURCE_DATE_EPOCH", "", 1);
	CHECK_EQ_INT(0, catalog_epoch_from_env(&t, &err));
	setenv("SOURCE_DATE_EPOCH", "123", 1);
	CHECK_EQ_INT(1, catalog_epoch_from_env(&t, &err));
	CHECK_EQ_INT(123, t);
	setenv("SOURCE_DATE_EPOCH", "12 3", 1);
	CHECK_EQ_INT(-EINVAL, catalog_epoch_from_env(&t, &err));
	CHECK_CONTAINS(err.msg, "SOURCE_DATE_EPOCH");
	unsetenv("SOURCE_DATE_EPOCH");
}

static void test_names(void)
{
	char v[64];

	CHECK(select_is_notice_name("LICENSE"));
	CHECK(select_is_notice_name("license.txt"));
	CHECK(select_is_notice_name("Licence.md"));
	CHECK(select_is_notice_name("COPYING"));
	CHECK(select_is_notice_name("copyright"));
	CHECK(select_is_notice_name("NOTICE.txt"));
	CHECK(select_is_notice_name("eula.rtf"));
	CHECK(select_is_notice_name("AUTHORS"));
	CHECK(select_is_notice_name("credits"));
	CHECK(select_is_notice_name("README.md"));
	/* the real ISO's notice, missed by the reference (anchor §11) */
	CHECK(select_is_notice_name("virtio-win_license.txt"));
	CHECK(select_is_notice_name("THIRD-PARTY-LICENCES"));
	CHECK(!select_is_notice_name("virtio-win-gt-x64.msi"));
	CHECK(!select_is_notice_name("VERSION"));
	CHECK(!select_is_notice_name("notes.txt"));
	CHECK(!select_is_notice_name(""));

	CHECK(select_version_from_name("virtio-win-0.1.285", v, sizeof(v)));
	CHECK_EQ_STR("0.1.285", v);
	CHECK(select_version_from_name("VIRTIO-WIN-0.1.173-9.ISO", v,
				       sizeof(v)));
	CHECK_EQ_STR("0.1.173-9", v);
	CHECK(select_version_from_name("old-virtio-win-1.9.1.iso", v,
				       sizeof(v)));
	CHECK_EQ_STR("1.9.1", v);
	CHECK(!select_version_from_name("virtio-win-", v, sizeof(v)));
	CHECK(!select_version_from_name("virtio-win.iso", v, sizeof(v)));
	CHECK(!select_version_from_name("virtio-win-.iso", v, sizeof(v)));
	CHECK(!select_version_from_name("AERO", v, sizeof(v)));

	CHECK(select_is_junk_name("Thumbs.db"));
	CHECK(select_is_junk_name(".DS_Store"));
	CHECK(!select_is_junk_name("viostor.sys"));
}

/* ---- selection on real trees -------------------------------------------- */

static void test_select_basic(void)
{
	const char *root = newdir("basic");
	struct aero_error err = { 0, "" };
	struct selection sel;

	put_required(root, "w7");
	put_driver(root, "vioinput/W7/X64", "vioinput", "x64", "1052");
	put_driver(root, "vioinput/W7/I386", "vioinput", "i386", "1052");
	CHECK_EQ_INT(0, run_select(root, NULL, false, &sel, &err));
	CHECK_EQ_UINT(4, sel.ndrv);
	CHECK_EQ_INT(SELECT_INCLUDED, sel.drv[0].status);
	CHECK_EQ_STR("viostor/w7/x86", sel.drv[0].t[SELECT_X86].source_path);
	CHECK_EQ_STR("NetKVM/w7/amd64", sel.drv[1].t[SELECT_AMD64].source_path);
	CHECK_EQ_INT(SELECT_MISSING, sel.drv[2].status); /* viosnd */
	CHECK_CONTAINS(sel.drv[2].t[0].error,
		       "could not find driver directory 'viosnd'");
	CHECK_EQ_INT(SELECT_INCLUDED, sel.drv[3].status); /* vioinput */
	CHECK_EQ_STR("vioinput/W7/X64", sel.drv[3].t[SELECT_AMD64].source_path);
	CHECK_EQ_STR("vioinput/W7/I386", sel.drv[3].t[SELECT_X86].source_path);
	CHECK_EQ_UINT(1, sel.warnings.n);
	CHECK_CONTAINS(sel.warnings.v[0], "optional driver 'viosnd'");
	select_free(&sel);
}

static void test_select_os_precedence(void)
{
	const char *root = newdir("osprec");
	struct aero_error err = { 0, "" };
	struct selection sel;

	put_required(root, "w7");
	/* w7.1 wins over w7; W7_1 (ISO9660-mangled w7.1) over w7 */
	put_driver(root, "viostor/w7.1/x86", "viostor", "x86", "1042");
	put_driver(root, "viostor/w7.1/amd64", "viostor", "amd64", "1042");
	put_driver(root, "NetKVM/W7_1/x86", "netkvm", "x86", "1041");
	/* W7_1 lacks amd64: fall back to w7 (the reference did not) */
	put_driver(root, "NetKVM/win7/amd64", "netkvm", "amd64", "1041");
	CHECK_EQ_INT(0, run_select(root, "viostor,netkvm", false, &sel, &err));
	CHECK_EQ_UINT(2, sel.ndrv);
	CHECK_EQ_STR("viostor/w7.1/x86", sel.drv[0].t[SELECT_X86].source_path);
	CHECK_EQ_STR("viostor/w7.1/amd64",
		     sel.drv[0].t[SELECT_AMD64].source_path);
	CHECK_EQ_STR("NetKVM/W7_1/x86", sel.drv[1].t[SELECT_X86].source_path);
	CHECK_EQ_STR("NetKVM/w7/amd64", sel.drv[1].t[SELECT_AMD64].source_path);
	CHECK_EQ_UINT(0, sel.warnings.n);
	select_free(&sel);
}

static void test_select_not_present(void)
{
	const char *root = newdir("notpresent");
	struct aero_error err = { 0, "" };
	struct selection sel;

	put_required(root, "w7");
	/* an empty w7.1/x86 and a w7.1/amd64 without .inf do not count */
	mkdirs(root, "viostor/w7.1/x86");
	put(root, "viostor/w7.1/amd64/viostor.sys", "x");
	put(root, "viostor/w7.1/amd64/viostor.inf.txt", "x");
	CHECK_EQ_INT(0, run_select(root, "viostor,netkvm", false, &sel, &err));
	CHECK_EQ_STR("viostor/w7/x86", sel.drv[0].t[SELECT_X86].source_path);
	CHECK_EQ_STR("viostor/w7/amd64",
		     sel.drv[0].t[SELECT_AMD64].source_path);
	select_free(&sel);

	/* only the INF-less folder left: a required driver is missing */
	root = newdir("notpresent");
	put_required(root, "w7");
	{
		char p[PATH_MAX];

		snprintf(p, sizeof(p), "%s/viostor/w7/amd64", root);
		rmtree(p);
	}
	put(root, "viostor/w7/amd64/viostor.sys", "x");
	CHECK_EQ_INT(-ENOENT, run_select(root, NULL, false, &sel, &err));
	CHECK_CONTAINS(err.msg, "required driver 'viostor' (viostor) missing "
				"for: win7-amd64");
	CHECK_CONTAINS(err.msg, "'viostor/w7/amd64' has no .inf file");
	select_free(&sel);

	/* an optional driver missing for two reasons: the warning has both */
	root = newdir("notpresent");
	put_required(root, "w7");
	put(root, "viosnd/w7/x86/viosnd.sys", "x");
	CHECK_EQ_INT(0, run_select(root, "viostor,netkvm,viosnd", false, &sel,
				   &err));
	CHECK_EQ_UINT(1, sel.warnings.n);
	if (sel.warnings.n) {
		CHECK_CONTAINS(sel.warnings.v[0],
			       "optional driver 'viosnd' (viosnd) is missing");
		CHECK_CONTAINS(sel.warnings.v[0],
			       "win7-amd64: could not find arch directory "
			       "under 'viosnd/w7'; tried: amd64, x64 | "
			       "win7-x86: 'viosnd/w7/x86' has no .inf file");
	}
	select_free(&sel);
}

static void test_select_required_missing(void)
{
	const char *root = newdir("reqmissing");
	struct aero_error err = { 0, "" };
	struct selection sel;
	char p[PATH_MAX];

	put_required(root, "w7");
	snprintf(p, sizeof(p), "%s/NetKVM", root);
	rmtree(p);
	CHECK_EQ_INT(-ENOENT, run_select(root, NULL, false, &sel, &err));
	CHECK_CONTAINS(err.msg, "required driver 'netkvm' (NetKVM) missing "
				"for: win7-x86, win7-amd64");
	CHECK_CONTAINS(err.msg, "win7-amd64: could not find driver directory "
				"'NetKVM'");
	/* details sorted by target, like the reference */
	CHECK(strstr(err.msg, "win7-amd64:") < strstr(err.msg, "win7-x86:"));
	select_free(&sel);

	/* an OS folder with neither arch: what was tried */
	put_driver(root, "NetKVM/w7/x86", "netkvm", "x86", "1041");
	mkdirs(root, "NetKVM/w7/arm64");
	CHECK_EQ_INT(-ENOENT, run_select(root, NULL, false, &sel, &err));
	CHECK_CONTAINS(err.msg, "missing for: win7-amd64");
	CHECK_CONTAINS(err.msg, "could not find arch directory under "
				"'NetKVM/w7'; tried: amd64, x64");
	select_free(&sel);

	/* no Win7 OS folder at all */
	snprintf(p, sizeof(p), "%s/NetKVM", root);
	rmtree(p);
	mkdirs(root, "NetKVM/w10/amd64");
	CHECK_EQ_INT(-ENOENT, run_select(root, NULL, false, &sel, &err));
	CHECK_CONTAINS(err.msg, "could not find an OS directory under "
				"'NetKVM'; tried: w7.1, w7_1, w7, win7");
	select_free(&sel);
}

static void test_select_partial_optional(void)
{
	const char *root = newdir("partial");
	struct aero_error err = { 0, "" };
	struct selection sel;

	put_required(root, "w7");
	put_driver(root, "vioinput/w7/x86", "vioinput", "x86", "1052");
	put_driver(root, "viosnd/w7/amd64", "viosnd", "amd64", "1059");
	CHECK_EQ_INT(0, run_select(root, NULL, false, &sel, &err));
	CHECK_EQ_INT(SELECT_MISSING, sel.drv[2].status);
	CHECK_EQ_INT(SELECT_MISSING, sel.drv[3].status);
	CHECK(!sel.drv[3].t[SELECT_X86].present);
	CHECK(!sel.drv[3].t[SELECT_AMD64].present);
	CHECK(sel.drv[3].dropped_partial);
	CHECK_CONTAINS(sel.drv[3].t[SELECT_X86].error,
		       "omitted from pack because the optional driver was "
		       "missing for one or more other targets");
	CHECK_EQ_UINT(2, sel.warnings.n);
	CHECK_CONTAINS(sel.warnings.v[0],
		       "'viosnd' (viosnd) was present only "
		       "for win7-amd64; omitting it from all targets");
	CHECK_CONTAINS(sel.warnings.v[1], "'vioinput' (vioinput) was present "
					  "only for win7-x86");
	select_free(&sel);

	/* strict-optional: each missing optional driver listed, plus a hint */
	CHECK_EQ_INT(-ENOENT, run_select(root, NULL, true, &sel, &err));
	CHECK_CONTAINS(err.msg, "one or more optional drivers were requested "
				"but are missing");
	CHECK_CONTAINS(err.msg, "\n- viosnd: missing for win7-x86. Details:");
	CHECK_CONTAINS(err.msg,
		       "\n- vioinput: missing for win7-amd64. "
		       "Details: win7-amd64: could not find arch directory");
	CHECK_CONTAINS(err.msg, "drivers=viostor,netkvm");
	CHECK_EQ_INT(SELECT_PARTIAL, sel.drv[2].status);
	select_free(&sel);

	/* drivers=viostor,netkvm: no optional driver, no warning */
	CHECK_EQ_INT(0, run_select(root, "viostor,netkvm", true, &sel, &err));
	CHECK_EQ_UINT(2, sel.ndrv);
	CHECK_EQ_UINT(0, sel.warnings.n);
	select_free(&sel);
}

/* ---- text -----------------------------------------------------------------
 */

static void test_utc(void)
{
	char b[40];

	inspect_utc(0, b, sizeof(b));
	CHECK_EQ_STR("1970-01-01T00:00:00Z", b);
	inspect_utc(1560000000, b, sizeof(b));
	CHECK_EQ_STR("2019-06-08T13:20:00Z", b);
	inspect_utc(-1, b, sizeof(b));
	CHECK_EQ_STR("1969-12-31T23:59:59Z", b);
	inspect_utc(951782400, b, sizeof(b));
	CHECK_EQ_STR("2000-02-29T00:00:00Z", b);
	inspect_utc(253402300799LL, b, sizeof(b));
	CHECK_EQ_STR("9999-12-31T23:59:59Z", b);
	inspect_utc(-62135596800LL, b, sizeof(b));
	CHECK_EQ_STR("0001-01-01T00:00:00Z", b);
}

static void test_jsonout(void)
{
	cJSON *o = cJSON_CreateObject(), *a;
	char *text;
	size_t len;

	cJSON_AddStringToObject(o, "s", "a\"b\\c\n\x01\xc3\xa9\xff");
	cJSON_AddNumberToObject(o, "big", 253402300799.0);
	cJSON_AddNumberToObject(o, "neg", -5);
	cJSON_AddBoolToObject(o, "t", 1);
	cJSON_AddNullToObject(o, "n");
	cJSON_AddArrayToObject(o, "empty");
	a = cJSON_AddArrayToObject(o, "a");
	cJSON_AddItemToArray(a, cJSON_CreateString("x"));
	cJSON_AddItemToArray(a, cJSON_CreateObject());
	text = jsonout_print(o, &len);
	CHECK_EQ_STR("{\n"
		     "  \"s\": \"a\\\"b\\\\c\\n\\u0001\xc3\xa9\xef\xbf\xbd\",\n"
		     "  \"big\": 253402300799,\n"
		     "  \"neg\": -5,\n"
		     "  \"t\": true,\n"
		     "  \"n\": null,\n"
		     "  \"empty\": [],\n"
		     "  \"a\": [\n"
		     "    \"x\",\n"
		     "    {}\n"
		     "  ]\n"
		     "}\n",
		     text);
	CHECK_EQ_UINT(strlen(text), len);
	free(text);
	cJSON_Delete(o);
}

/* Control characters from a source never reach a terminal raw. */
static void test_termesc(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "PCI\\VEN_1AF4&DEV_1042", "PCI\\VEN_1AF4&DEV_1042" },
		{ "Red Hat, Inc.\t\xc3\xa9", "Red Hat, Inc.\t\xc3\xa9" },
		{ "61.77\x1b[8m", "61.77\\x1B[8m" },
		{ "a\rb\nc\x7f", "a\\x0Db\\x0Ac\\x7F" },
		{ "\xc2\x9b"
		  "2J",
		  "\\u009B2J" },
		{ "\x9b"
		  "2J\xff",
		  "\\x9B2J\\xFF" },
		{ "\xe2\x80", "\\xE2\\x80" },
		{ "", "" },
	};
	char *e;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		e = termesc_dup(cases[i].in);
		CHECK_EQ_STR(cases[i].out, e);
		CHECK(termesc_needed(cases[i].in) ==
		      (strcmp(cases[i].in, cases[i].out) != 0));
		free(e);
	}
	CHECK(termesc_dup(NULL) == NULL);
	CHECK(!termesc_needed(NULL));
}

static void check_crlf_ascii(const char *name, const char *t, size_t len)
{
	CHECK_EQ_UINT(strlen(t), len);
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)t[i] >= 0x80 ||
		    (t[i] < 0x20 && t[i] != '\r' && t[i] != '\n' &&
		     t[i] != '\t')) {
			FAIL_AT("%s: byte %zu is 0x%02x", name, i,
				(unsigned char)t[i]);
			return;
		}
		if (t[i] == '\n' && (i == 0 || t[i - 1] != '\r')) {
			FAIL_AT("%s: bare LF at byte %zu", name, i);
			return;
		}
		if (t[i] == '\r' && t[i + 1] != '\n') {
			FAIL_AT("%s: bare CR at byte %zu", name, i);
			return;
		}
	}
	CHECK(len >= 2 && t[len - 2] == '\r' && t[len - 1] == '\n');
}

/*
 * What cmd.exe needs of a parenthesized block, which it reads whole before
 * running any of it: an unescaped ')' in an echo ends the block early, an
 * unescaped '(' is at best printed oddly, and a rem or :: comment inside a
 * block can swallow the rest of it.  Blocks open with a line ending in '('
 * and close with a line starting with ')'; they must balance.
 */
static void check_cmd_blocks(const char *name, const char *t)
{
	int depth = 0;
	size_t lineno = 0;

	while (*t) {
		const char *end = strstr(t, "\r\n");
		size_t len = end ? (size_t)(end - t) : strlen(t);
		char line[512];
		char *p = line;

		lineno++;
		snprintf(line, sizeof(line), "%.*s", (int)len, t);
		t += len + (end ? 2 : 0);
		while (*p == ' ')
			p++;
		if (*p == ')') {
			depth--;
			if (depth < 0) {
				FAIL_AT("%s:%zu: ')' closes no block", name,
					lineno);
				return;
			}
		} else if (depth > 0) {
			if (!strncasecmp(p, "rem", 3) || !strncmp(p, "::", 2))
				FAIL_AT("%s:%zu: comment inside a block", name,
					lineno);
			if (!strncasecmp(p, "echo", 4))
				for (const char *q = p; *q; q++)
					if ((*q == '(' || *q == ')') &&
					    q[-1] != '^')
						FAIL_AT("%s:%zu: unescaped "
							"'%c' in a block",
							name, lineno, *q);
		}
		if (len && line[len - 1] == '(')
			depth++;
	}
	CHECK_EQ_INT(0, depth);
}

/* Every exit code is compared as text: "if errorlevel 1" after a tool
 * would take a negative code (0x80070005) for success. */
static void check_no_errorlevel_after_tools(const char *name, const char *t)
{
	for (const char *p = strstr(t, "if errorlevel"); p;
	     p = strstr(p + 1, "if errorlevel")) {
		const char *line = p;

		while (line > t && line[-1] != '\n')
			line--;
		while (*line == ' ')
			line++;
		if (!strncmp(line, "rem ", 4))
			continue;
		/* only right after choice, which returns 1..N or 0 */
		if (p - t < 200 || !memmem(p - 200, 200, "choice /c YN", 12))
			FAIL_AT("%s: 'if errorlevel' not after choice", name);
	}
}

/*
 * String edits (!VAR:a=b!, !VAR:~n,m!) under delayed expansion are one of
 * the places Wine's cmd.exe and Windows 7's differ; the scripts make them
 * with %VAR:...% on lines of their own.  Comments are skipped.
 */
static void check_no_delayed_edits(const char *name, const char *t)
{
	size_t lineno = 0;

	while (*t) {
		const char *end = strstr(t, "\r\n");
		size_t len = end ? (size_t)(end - t) : strlen(t);
		const char *p = t, *e = t + len;

		lineno++;
		while (p < e && *p == ' ')
			p++;
		if (strncmp(p, "rem ", 4))
			for (; p < e; p++) {
				const char *q = p + 1;

				if (*p != '!')
					continue;
				while (q < e && (isalnum((unsigned char)*q) ||
						 *q == '_'))
					q++;
				if (q > p + 1 && q < e && *q == ':')
					FAIL_AT("%s:%zu: !VAR:...! edit", name,
						lineno);
			}
		t += len + (end ? 2 : 0);
	}
}

static char *script_block(const char *t, const char *from, const char *to)
{
	const char *a = strstr(t, from), *b = a ? strstr(a, to) : NULL;

	return a && b ? strndup(a, (size_t)(b - a)) : NULL;
}

static void test_scripts(void)
{
	static const struct {
		const char *name;
		char *(*fn)(size_t *len);
	} scripts[] = {
		{ "setup.cmd", winscript_setup_cmd },
		{ "uninstall.cmd", winscript_uninstall_cmd },
		{ "verify.cmd", winscript_verify_cmd },
		{ "install.cmd", winscript_install_cmd },
		{ "enable-testsigning.cmd", winscript_testsigning_cmd },
	};
	size_t len, len2;
	char *t, *u, *a, *b;

	for (size_t i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
		const char *n = scripts[i].name;

		t = scripts[i].fn(&len);
		CHECK(t != NULL);
		if (!t)
			continue;
		check_crlf_ascii(n, t, len);
		check_cmd_blocks(n, t);
		check_no_errorlevel_after_tools(n, t);
		CHECK_CONTAINS(t, "@echo off\r\n");
		/* elevation without the Server service; every exit pauses */
		CHECK(!contains(t, "net session >"));
		CHECK_CONTAINS(t, "\r\n:end\r\n");
		CHECK_CONTAINS(t, "if not defined QUIET pause\r\n"
				  "exit /b %RC%\r\n");
		CHECK(!strstr(t, "\r\npause\r\n")); /* never unconditional */
		CHECK(!strstr(t, "exit /b 0") && !strstr(t, "exit /b 1") &&
		      !strstr(t, "exit /b 2"));
		/* an unknown option is reported after /quiet is read */
		CHECK_CONTAINS(t, "if not defined BADARG set \"BADARG=%~1\"");
		CHECK(!contains(t, "unknown option %1"));
		check_no_delayed_edits(n, t);
		free(t);
	}

	t = winscript_setup_cmd(&len);
	u = winscript_install_cmd(&len2);
	CHECK_CONTAINS(t, "\"!FLTMC!\" >nul 2>&1\r\n"
			  "  if not \"!errorlevel!\"==\"0\" (");
	CHECK_CONTAINS(t, "PROCESSOR_ARCHITEW6432");
	CHECK_CONTAINS(t, "%SystemRoot%\\Sysnative");
	CHECK_CONTAINS(t, "/verify-media");
	CHECK_CONTAINS(t, "-hashfile \"!HERE!!P!\" SHA256");
	CHECK_CONTAINS(t, "-addstore -f !STORE!");
	CHECK_CONTAINS(t, "storage-not-preseeded.txt");
	CHECK_CONTAINS(t, "set \"LOGDIR=%SystemDrive%\\AeroGuestTools\"");
	/* pnputil: 0, 259 and 3010 are success, anything else a failure */
	CHECK_CONTAINS(t, "  if \"!PRC!\"==\"0\" set \"GOOD=1\"\r\n"
			  "  if \"!PRC!\"==\"259\" set \"GOOD=1\"\r\n"
			  "  if \"!PRC!\"==\"3010\" set \"GOOD=1\"\r\n");
	CHECK_CONTAINS(u, "  if \"!PRC!\"==\"0\" set \"GOOD=1\"\r\n"
			  "  if \"!PRC!\"==\"259\" set \"GOOD=1\"\r\n"
			  "  if \"!PRC!\"==\"3010\" set \"GOOD=1\"\r\n");
	/* the pre-seeding is one shared text, byte for byte */
	a = script_block(t, "rem ---- boot-critical virtio-blk pre-seeding",
			 "\r\n:storage_key\r\n");
	b = script_block(u, "rem ---- boot-critical virtio-blk pre-seeding",
			 "\r\n:storage_key\r\n");
	CHECK(a && b && !strcmp(a, b));
	if (a) {
		CHECK_CONTAINS(a, "/v Type /t REG_DWORD /d 1 ");
		CHECK_CONTAINS(a, "/v Start /t REG_DWORD /d 0 ");
		CHECK_CONTAINS(a, "/v ErrorControl /t REG_DWORD /d 1 ");
		CHECK_CONTAINS(a, "/v Group /t REG_SZ /d \"SCSI miniport\"");
		CHECK_CONTAINS(a, "/v ImagePath /t REG_EXPAND_SZ /d "
				  "\"system32\\drivers\\");
		CHECK_CONTAINS(a, "Control\\CriticalDeviceDatabase");
		CHECK_CONTAINS(a, "(\"\" \"&CC_010000\" \"&CC_0100\")");
		CHECK_CONTAINS(a, "{4D36E97B-E325-11CE-BFC1-08002BE10318}");
		CHECK_CONTAINS(a, "/v Class /t REG_SZ /d \"SCSIAdapter\"");
	}
	free(a);
	free(b);
	CHECK_CONTAINS(u, "win7\\!ARCH!");
	CHECK_CONTAINS(u, "/skipstorage");
	/* the test-signing advice only on 64-bit Windows */
	CHECK_CONTAINS(u, "  if \"!ARCH!\"==\"amd64\" (\r\n"
			  "    echo On 64-bit Windows 7 a signature error");
	free(t);
	free(u);
	/* synth.h hands out the same texts */
	t = synth_install_cmd(&len);
	u = winscript_install_cmd(&len2);
	CHECK(t && u && len == len2 && !memcmp(t, u, len));
	free(t);
	free(u);

	t = synth_testsigning_cmd(&len);
	/* only Y restarts: Ctrl+C makes choice return 0 */
	CHECK_CONTAINS(t, "if errorlevel 2 goto later\r\n"
			  "if not errorlevel 1 goto later\r\n:reboot\r\n");
	/* bcdedit's code as text: 0x80070005 is not success */
	CHECK_CONTAINS(t, "/set testsigning on\r\nset \"BRC=!errorlevel!\"\r\n"
			  "if not \"!BRC!\"==\"0\" (");
	CHECK_CONTAINS(t, "/noreboot");
	CHECK_CONTAINS(t, "choice /c YN");
	CHECK_CONTAINS(t, "32-bit Windows");
	CHECK(!strstr(t, "shutdown /r /t 0")); /* no instant reboot */
	free(t);

	t = winscript_uninstall_cmd(&len);
	CHECK_CONTAINS(t, "/cleanupstorage");
	CHECK_CONTAINS(t, "will NOT boot again");
	CHECK_CONTAINS(t, "/v Start /t REG_DWORD /d 3 ");
	free(t);
	t = winscript_verify_cmd(&len);
	CHECK_CONTAINS(t, "Enum\\PCI");
	CHECK_CONTAINS(t, "verify.json");
	CHECK_CONTAINS(t, "KB3033929");
	free(t);
}

static void test_readme_notices(void)
{
	struct synth_driver d = {
		.id = "viostor",
		.upstream = "viostor",
		.source_path = { "viostor/w7/x86", "viostor/w7/amd64" },
		.inf = { "viostor.inf", "viostor.inf" },
		.driver_ver = { "06/07/2019,61.77.104.17200",
				"06/07/2019,61.77.104.17200" },
		.provider = { "Red Hat, Inc.", "Red Hat, Inc." },
		.signer = { "CN=Red Hat, Inc", NULL },
		.digest = { "sha1", "sha256" },
	};
	const char *missing[] = { "viosnd" };
	const char *notices[] = { "virtio-win_license.txt" };
	struct synth_info info = {
		.drivers = &d,
		.ndrivers = 1,
		.missing = missing,
		.nmissing = 1,
		.notices = notices,
		.nnotices = 1,
		.version = "0.1.285",
		.generator = "aerofs test",
	};
	size_t len;
	char *t = synth_readme(&info, &len);

	check_crlf_ascii("README.txt", t, len);
	CHECK_CONTAINS(t,
		       "| viostor | viostor | 61.77.104.17200 (06/07/2019) |");
	CHECK_CONTAINS(t, "virtio-win version: 0.1.285");
	CHECK_CONTAINS(t, "KB3033929");
	CHECK_CONTAINS(t, "enable-testsigning.cmd");
	CHECK_CONTAINS(t,
		       "| viostor | amd64 | viostor.inf | sha256 | unknown |");
	CHECK_CONTAINS(t, "Not included");
	CHECK_CONTAINS(t, "viosnd");
	free(t);
	t = synth_notices(&info, &len);
	check_crlf_ascii("THIRD_PARTY_NOTICES.md", t, len);
	CHECK_CONTAINS(t, "| viostor (x86) | viostor/w7/x86 | "
			  "06/07/2019,61.77.104.17200 | Red Hat, Inc. |");
	CHECK_CONTAINS(t, "`licenses/virtio-win/virtio-win_license.txt`");
	free(t);
	/* upstream strings cannot break the table or the line endings */
	d.provider[SELECT_X86] = "Evil | Corp\nX";
	t = synth_notices(&info, &len);
	check_crlf_ascii("THIRD_PARTY_NOTICES.md", t, len);
	CHECK_CONTAINS(t, "| Evil \\| Corp X |\r\n");
	free(t);
	info.nnotices = 0;
	t = synth_notices(&info, &len);
	CHECK_CONTAINS(t, "no license or\r\nnotice file");
	free(t);
}

/* ---- whole builds -----------------------------------------------------------
 */

static char *read_pack_file(const struct pack *p, const char *path)
{
	const struct pack_node *n = pack_lookup_path(p, path);
	char *buf;
	ssize_t k;

	if (!n || pack_node_is_dir(n))
		return NULL;
	buf = calloc(1, pack_node_size(n) + 1);
	assert(buf);
	k = pack_node_read(p, n, buf, pack_node_size(n), 0);
	assert(k == (ssize_t)pack_node_size(n));
	return buf;
}

static void write_pack(const struct pack *p, const struct pack_node *n,
		       const char *dir)
{
	for (size_t i = 0; i < pack_node_nchildren(n); i++) {
		const struct pack_node *c = pack_node_child(n, i);
		char *data;

		if (pack_node_is_dir(c)) {
			mkdirs(dir, pack_node_path(c));
			write_pack(p, c, dir);
			continue;
		}
		data = read_pack_file(p, pack_node_path(c));
		assert(data && strlen(data) == pack_node_size(c));
		put(dir, pack_node_path(c), data);
		free(data);
	}
}

static int build(const char *root, const char *const *optv, struct pack **p,
		 struct catalog_report **rep, struct aero_error *err)
{
	struct catalog_options o = { 0 };
	int r;

	for (; optv && *optv; optv++)
		assert(catalog_option_parse(&o, *optv, err) == 1);
	r = catalog_build(root, &o, p, rep, err);
	catalog_options_free(&o);
	return r;
}

static void test_build_tree(void)
{
	const char *root = newdir("build");
	const char *optv[] = { "epoch=1560000000", NULL };
	struct aero_error err = { 0, "" };
	struct catalog_report *rep = NULL;
	struct pack *p = NULL;
	char *man, *text;
	cJSON *m, *files, *f;
	size_t nfiles = 0;

	put_required(root, "w7");
	put_driver(root, "vioinput/w7/x86", "vioinput", "x86", "1052");
	put(root, "virtio-win_license.txt", "BSD-3-Clause\n");
	put(root, "README.md", "upstream readme\n");
	put(root, "VERSION", "\n  0.1.999 \r\nmore\n");
	put(root, "viostor/w7/amd64/sub/Extra.DLL", "extra");
	put(root, "viostor/w7/amd64/Thumbs.db", "junk");
	{
		char l[PATH_MAX];

		snprintf(l, sizeof(l), "%s/viostor/w7/amd64/link.sys", root);
		CHECK_EQ_INT(0, symlink("/etc/passwd", l));
	}
	if (build(root, optv, &p, &rep, &err) < 0) {
		FAIL_AT("catalog_build: %s", err.msg);
		return;
	}
	CHECK_EQ_INT(1560000000, pack_epoch(p));
	CHECK(pack_lookup_path(p, "win7/x86/viostor/viostor.inf"));
	CHECK(pack_lookup_path(p, "win7/amd64/netkvm/netkvm.sys"));
	CHECK(pack_lookup_path(p, "win7/amd64/viostor/viostor.pdb"));
	CHECK(pack_lookup_path(p, "win7/amd64/viostor/sub/Extra.DLL"));
	CHECK(!pack_lookup_path(p, "win7/amd64/viostor/Thumbs.db"));
	CHECK(!pack_lookup_path(p, "win7/amd64/viostor/link.sys"));
	CHECK(!pack_lookup_path(p, "win7/x86/vioinput")); /* partial */
	CHECK(pack_lookup_path(p,
			       "licenses/virtio-win/virtio-win_license.txt"));
	CHECK(pack_lookup_path(p, "licenses/virtio-win/README.md"));
	CHECK(!pack_lookup_path(p, "licenses/virtio-win/VERSION"));
	CHECK(pack_lookup_path(p, "install.cmd"));
	CHECK(pack_lookup_path(p, "enable-testsigning.cmd"));
	CHECK(pack_lookup_path(p, "config/devices.cmd"));
	CHECK(pack_lookup_path(p, "THIRD_PARTY_NOTICES.md"));
	CHECK(pack_lookup_path(p, "README.txt"));
	CHECK(!pack_lookup_path(p, "README.md"));
	CHECK_EQ_STR(CATALOG_DEFAULT_LABEL, catalog_report_label(rep));
	text = read_pack_file(p, "win7/amd64/netkvm/netkvm.sys");
	CHECK_EQ_STR("MZ driver bytes", text);
	free(text);

	man = read_pack_file(p, "manifest.json");
	text = catalog_report_json(rep);
	CHECK_EQ_STR(man, text);
	free(text);
	m = cJSON_Parse(man);
	CHECK(m != NULL);
	CHECK_EQ_STR("aero-win7-driver-pack",
		     cJSON_GetObjectItem(m, "pack")->valuestring);
	CHECK_EQ_STR("2019-06-08T13:20:00Z",
		     cJSON_GetObjectItem(m, "created_utc")->valuestring);
	CHECK_EQ_STR("option",
		     cJSON_GetObjectItem(m, "epoch_source")->valuestring);
	CHECK_EQ_STR("0.1.999",
		     cJSON_GetObjectItem(cJSON_GetObjectItem(m, "source"),
					 "derived_version")
			     ->valuestring);
	CHECK_EQ_STR("build",
		     cJSON_GetObjectItem(cJSON_GetObjectItem(m, "source"),
					 "name")
			     ->valuestring);
	CHECK(!strstr(man, tmproot)); /* no host path */
	CHECK(man[strlen(man) - 1] == '\n' && !strchr(man, '\r') &&
	      !strchr(man, '\t'));
	files = cJSON_GetObjectItem(m, "files");
	cJSON_ArrayForEach(f, files)
	{
		const char *path = cJSON_GetObjectItem(f, "path")->valuestring;
		const struct pack_node *n = pack_lookup_path(p, path);

		CHECK(n != NULL);
		CHECK(strcmp(path, "manifest.json") != 0);
		if (n)
			CHECK_EQ_UINT(pack_node_size(n),
				      (uint64_t)cJSON_GetObjectItem(f, "size")
					      ->valuedouble);
		nfiles++;
	}
	/* every file but the manifest: viostor 4+4+1, netkvm 4+4, 2 notices, 5
	 * synth (config/devices.cmd too) */
	CHECK_EQ_UINT(24, nfiles);
	/* the checks ran: the fake .cat does not decode */
	CHECK(catalog_report_failed_checks(rep) >= 4);
	CHECK_CONTAINS(man,
		       "\"name\": \"binds_device\",\n"
		       "                \"ok\": true,\n"
		       "                \"detail\": \"binds to virtio-blk\"");
	CHECK_CONTAINS(man, "\"services\": [\n              \"viostor\"\n");
	cJSON_Delete(m);

	/* the same tree twice gives the same bytes, whatever TZ says */
	{
		struct catalog_report *rep2 = NULL;
		struct pack *p2 = NULL;
		char *man2;

		setenv("TZ", "Pacific/Kiritimati", 1);
		CHECK_EQ_INT(0, build(root, optv, &p2, &rep2, &err));
		man2 = p2 ? read_pack_file(p2, "manifest.json") : NULL;
		CHECK_EQ_STR(man, man2);
		free(man2);
		pack_unref(p2);
		catalog_report_free(rep2);
		unsetenv("TZ");
	}

	/* written out and imported again: the same pack, byte for byte */
	{
		const char *out = newdir("exported");
		struct catalog_report *rep2 = NULL;
		struct pack *p2 = NULL;

		write_pack(p, pack_root(p), out);
		CHECK_EQ_INT(0, build(out, NULL, &p2, &rep2, &err));
		if (p2) {
			CHECK_EQ_INT(1560000000, pack_epoch(p2));
			CHECK_EQ_UINT(pack_node_count(p), pack_node_count(p2));
			for (uint64_t ino = 1; ino <= pack_node_count(p);
			     ino++) {
				const struct pack_node *a, *b;

				a = pack_node_by_ino(p, ino);
				b = pack_node_by_ino(p2, ino);
				CHECK_EQ_STR(pack_node_path(a),
					     pack_node_path(b));
				CHECK_EQ_MEM(pack_node_sha256(a),
					     pack_node_sha256(b), 32);
			}
			CHECK_EQ_UINT(catalog_report_failed_checks(rep),
				      catalog_report_failed_checks(rep2));
		}
		pack_unref(p2);
		catalog_report_free(rep2);
	}
	free(man);
	pack_unref(p);
	catalog_report_free(rep);
}

static void test_build_options(void)
{
	const char *root = newdir("buildopts");
	const char *optv[] = { "drop-pdb", "drivers=netkvm,viostor",
			       "label=MY.LABEL-1", NULL };
	struct aero_error err = { 0, "" };
	struct catalog_report *rep = NULL;
	struct pack *p = NULL;
	char *man;

	put_required(root, "w7");
	put_driver(root, "vioinput/w7/x86", "vioinput", "x86", "1052");
	put_driver(root, "vioinput/w7/amd64", "vioinput", "amd64", "1052");
	unsetenv("SOURCE_DATE_EPOCH");
	if (build(root, optv, &p, &rep, &err) < 0) {
		FAIL_AT("catalog_build: %s", err.msg);
		return;
	}
	CHECK(!pack_lookup_path(p, "win7/amd64/viostor/viostor.pdb"));
	CHECK(pack_lookup_path(p, "win7/amd64/viostor/viostor.sys"));
	CHECK(!pack_lookup_path(p, "win7/amd64/vioinput"));
	CHECK(!pack_lookup_path(p, "licenses"));
	CHECK_EQ_STR("MY.LABEL-1", catalog_report_label(rep));
	man = catalog_report_json(rep);
	CHECK_CONTAINS(man, "\"drivers_requested\": [\n    \"netkvm\",\n"
			    "    \"viostor\"\n  ]");
	CHECK_CONTAINS(man, "\"drivers\": [\n    \"netkvm\",\n"
			    "    \"viostor\"\n  ]");
	CHECK_CONTAINS(man, "\"optional_drivers_missing_any\": false");
	CHECK_CONTAINS(man, "\"label\": \"MY.LABEL-1\"");
	CHECK_CONTAINS(man, "no upstream license or notice files");
	CHECK_CONTAINS(man, "\"drop_pdb\": true");
	/* a directory with undecodable catalogs and no env: epoch 0 */
	CHECK_CONTAINS(man, "\"epoch\": 0,\n  \"epoch_source\": \"default\"");
	free(man);
	pack_unref(p);
	catalog_report_free(rep);

	/* SOURCE_DATE_EPOCH applies, and a malformed one is an error */
	setenv("SOURCE_DATE_EPOCH", "86400", 1);
	CHECK_EQ_INT(0, build(root, NULL, &p, &rep, &err));
	CHECK_EQ_INT(86400, p ? pack_epoch(p) : -1);
	pack_unref(p);
	catalog_report_free(rep);
	setenv("SOURCE_DATE_EPOCH", "soon", 1);
	CHECK_EQ_INT(-EINVAL, build(root, NULL, &p, &rep, &err));
	CHECK_CONTAINS(err.msg, "SOURCE_DATE_EPOCH");
	CHECK(p == NULL && rep == NULL);
	unsetenv("SOURCE_DATE_EPOCH");

	/* strict-optional with vioinput complete but viosnd absent */
	{
		const char *strict[] = { "strict-optional", NULL };

		CHECK_EQ_INT(-ENOENT, build(root, strict, &p, &rep, &err));
		CHECK_CONTAINS(err.msg, "- viosnd: missing for win7-x86, "
					"win7-amd64");
		CHECK(!contains(err.msg, "- vioinput"));
	}
}

static void test_build_checks(void)
{
	const char *root = newdir("checks");
	const char *optv[] = { "epoch=0", NULL };
	struct aero_error err = { 0, "" };
	struct catalog_report *rep = NULL;
	struct pack *p = NULL;
	char *man;

	put_required(root, "w7");
	/* undecorated INF, unbound hardware id, missing .sys and no .cat */
	put(root, "NetKVM/w7/amd64/netkvm.inf",
	    "[Version]\nSignature=\"$Windows NT$\"\nClass=Net\n"
	    "CatalogFile = gone.cat\n"
	    "[SourceDisksFiles]\nnetkvm.sys = 1\nnetkvmco.dll=1\n"
	    "[Manufacturer]\n%V% = NetKVM\n"
	    "[NetKVM]\n%D% = inst, "
	    "PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00\n"
	    "[inst]\nCopyFiles = f\n[f]\nnetkvm.sys\nnetkvmco.dll\n"
	    "[Strings]\nV = \"v\"\nD = \"d\"\n");
	/* a Windows 10 INF (NTamd64.10.0...) in the w7 folder */
	put_inf(root, "viostor/w7/amd64/viostor.inf", "viostor", "amd64.10.0",
		"1042");
	/*
	 * 32-bit Windows needs no decoration (INF Manufacturer section): an
	 * architecture-neutral NT.6.1 and an undecorated entry both serve it.
	 */
	put_inf(root, "viostor/w7/x86/viostor.inf", "viostor", "", "1042");
	put_driver(root, "vioinput/w7/x86", "vioinput", "x86", "1052");
	put_driver(root, "vioinput/w7/amd64", "vioinput", "amd64", "1052");
	put(root, "NetKVM/w7/x86/netkvm.inf",
	    "[Version]\nSignature=\"$Windows NT$\"\nClass=Net\n"
	    "CatalogFile = netkvm.cat\n"
	    "[SourceDisksFiles]\nnetkvm.sys = 1\n"
	    "[Manufacturer]\n%V% = NetKVM\n"
	    "[NetKVM]\n%D% = inst, "
	    "PCI\\VEN_1AF4&DEV_1041&SUBSYS_11001AF4&REV_01\n"
	    "[inst]\nCopyFiles = f\n[f]\nnetkvm.sys\n"
	    "[Strings]\nV = \"v\"\nD = \"d\"\n");
	if (build(root, optv, &p, &rep, &err) < 0) {
		FAIL_AT("catalog_build: %s", err.msg);
		return;
	}
	man = catalog_report_json(rep);
	CHECK_CONTAINS(man, "viostor win7-amd64: arch_decoration: "
			    "[Manufacturer] is decorated NTamd64 only for a "
			    "Windows version above 6.1");
	CHECK_CONTAINS(man, "\"name\": \"arch_decoration\",\n"
			    "                \"ok\": true,\n"
			    "                \"detail\": \"[Manufacturer] is "
			    "decorated NT.6.1\"");
	CHECK_CONTAINS(man, "\"name\": \"arch_decoration\",\n"
			    "                \"ok\": true,\n"
			    "                \"detail\": \"[Manufacturer] has "
			    "an undecorated entry, which 32-bit Windows 7 "
			    "uses");
	CHECK(!contains(man, "win7-x86: arch_decoration"));
	CHECK_CONTAINS(man, "\"detail\": \"[Manufacturer] is decorated "
			    "NTx86.6.1\"");
	CHECK_CONTAINS(man, "netkvm win7-amd64: referenced_files: 1 of 2 "
			    "referenced files missing from the folder: "
			    "netkvmco.dll");
	CHECK_CONTAINS(man, "netkvm win7-amd64: arch_decoration: "
			    "[Manufacturer] is undecorated");
	/* transitional 1000 is not what the emulator exposes (modern 1041) */
	CHECK_CONTAINS(man, "netkvm win7-amd64: binds_device: none of the "
			    "INF's 1 hardware ids binds to the emulator's "
			    "virtio-net");
	CHECK_CONTAINS(man, "netkvm win7-amd64: catalog_present: the INF "
			    "names gone.cat but it is not in the folder");
	CHECK_CONTAINS(man, "\"encoding\": \"ascii\",\n"
			    "            \"line_endings\": \"lf\"");
	free(man);
	pack_unref(p);
	catalog_report_free(rep);
}

/*
 * The full TargetOSVersion grammar: OK only for what a Windows 7 SP1
 * client of the folder's architecture uses.
 */
static void test_decoration_grammar(void)
{
	static const struct {
		const char *dec;
		bool ok;
		const char *why;
	} cases[] = {
		{ "NTamd64", true, NULL },
		{ "NTamd64.6.1", true, NULL },
		{ "ntAMD64.6.0", true, NULL },
		{ "NTamd64.6.1.1", true, NULL },
		{ "NTamd64.6.1.1.0x0", true, NULL },
		{ "NTamd64.6.1.1..7601", true, NULL },
		{ "NTamd64.6.1...7600", true, NULL },
		{ "NTamd64.6.1.3", false,
		  "product type other than workstation" },
		{ "NTamd64.6.1.2", false,
		  "product type other than workstation" },
		{ "NTamd64.6.1...9200", false, "build above 7601" },
		{ "NTamd64.6.1.1.0x0010", false, "suite mask" },
		{ "NTamd64.6.2", false, "above 6.1" },
		{ "NTamd64.10.0...22000", false, "above 6.1" },
		{ "NTamd64.6.x", false, "malformed" },
		{ "NTamd64.6.1.1.0x1.7601.5", false, "malformed" },
		{ "NTx86.6.1", false, "no NTamd64 decoration" },
		{ "NT.6.1", false, "no NTamd64 decoration" },
	};
	const char *optv[] = { "epoch=0", NULL };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *root = newdir("decoration");
		struct aero_error err = { 0, "" };
		struct catalog_report *rep = NULL;
		struct pack *p = NULL;
		char want[256], *man;

		put_required(root, "w7");
		put_inf_dec(root, "viostor/w7/amd64/viostor.inf", "viostor",
			    cases[i].dec, "1042");
		if (build(root, optv, &p, &rep, &err) < 0) {
			FAIL_AT("%s: catalog_build: %s", cases[i].dec, err.msg);
			continue;
		}
		man = catalog_report_json(rep);
		snprintf(want, sizeof(want),
			 "viostor win7-amd64: arch_decoration:");
		if (cases[i].ok) {
			snprintf(want, sizeof(want),
				 "\"detail\": \"[Manufacturer] is decorated "
				 "%s\"",
				 cases[i].dec);
			CHECK_CONTAINS(man, want);
			CHECK(!contains(man, "win7-amd64: arch_decoration"));
		} else {
			CHECK_CONTAINS(man, want);
			CHECK_CONTAINS(man, cases[i].why);
		}
		free(man);
		pack_unref(p);
		catalog_report_free(rep);
	}
	/* x86: NT and NTx86 with the same grammar */
	{
		const char *root = newdir("decoration-x86");
		struct aero_error err = { 0, "" };
		struct catalog_report *rep = NULL;
		struct pack *p = NULL;
		char *man;

		put_required(root, "w7");
		put_inf_dec(root, "viostor/w7/x86/viostor.inf", "viostor",
			    "NT.6.1.3", "1042");
		put_inf_dec(root, "NetKVM/w7/x86/netkvm.inf", "netkvm",
			    "NTx86.6.1...9600", "1041");
		if (build(root, optv, &p, &rep, &err) < 0) {
			FAIL_AT("catalog_build: %s", err.msg);
			return;
		}
		man = catalog_report_json(rep);
		CHECK_CONTAINS(man, "viostor win7-x86: arch_decoration: "
				    "[Manufacturer] is decorated NT.6.1.3 only "
				    "for a product type");
		CHECK_CONTAINS(man, "netkvm win7-x86: arch_decoration: "
				    "[Manufacturer] is decorated "
				    "NTx86.6.1...9600 only for a build above "
				    "7601");
		free(man);
		pack_unref(p);
		catalog_report_free(rep);
	}
}

static void test_build_errors(void)
{
	struct aero_error err = { 0, "" };
	struct catalog_report *rep = NULL;
	struct pack *p = NULL;
	struct catalog_options o = { 0 };
	const char *root = newdir("errors");
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/missing", root);
	CHECK(catalog_build(path, &o, &p, &rep, &err) < 0);
	CHECK(p == NULL && rep == NULL);
	snprintf(path, sizeof(path), "%s/download.iso", root);
	put(root, "download.iso",
	    "<!DOCTYPE html><html><body>404</body>"
	    "</html>\n");
	CHECK_EQ_INT(-EINVAL, catalog_build(path, &o, &p, &rep, &err));
	CHECK_CONTAINS(err.msg, "HTML");
	o.label = strdup("this-label-is-too-long");
	CHECK_EQ_INT(-EINVAL, catalog_build(root, &o, &p, &rep, &err));
	CHECK_CONTAINS(err.msg, "invalid volume label");
	catalog_options_free(&o);
	CHECK_EQ_INT(1, catalog_option_parse(&o, "drivers=viostor", &err));
	CHECK_EQ_INT(-EINVAL, catalog_build(root, &o, &p, &rep, &err));
	CHECK_CONTAINS(err.msg, "missing from drivers=: netkvm");
	catalog_options_free(&o);
	CHECK_EQ_INT(-ENOENT, catalog_build(root, &o, &p, &rep, &err));
	CHECK_CONTAINS(err.msg, "required driver 'viostor'");
	CHECK(p == NULL && rep == NULL);
}

/* More root notices than are copied: a warning, not a silent cut. */
static void test_build_many_notices(void)
{
	const char *root = newdir("notices");
	const char *optv[] = { "epoch=0", NULL };
	struct aero_error err = { 0, "" };
	struct catalog_report *rep = NULL;
	struct pack *p = NULL;
	char *man;
	cJSON *m, *copied;

	put_required(root, "w7");
	for (int i = 0; i < 70; i++) {
		char name[32];

		snprintf(name, sizeof(name), "LICENSE.%02d", i);
		put(root, name, "text\n");
	}
	if (build(root, optv, &p, &rep, &err) < 0) {
		FAIL_AT("catalog_build: %s", err.msg);
		return;
	}
	man = catalog_report_json(rep);
	m = cJSON_Parse(man);
	copied = cJSON_GetObjectItem(cJSON_GetObjectItem(m, "source"),
				     "license_notice_files_copied");
	CHECK_EQ_INT(64, cJSON_GetArraySize(copied));
	CHECK_CONTAINS(man, "6 more license or notice files at the root of "
			    "the source were left out (at most 64 are copied)");
	cJSON_Delete(m);
	free(man);
	pack_unref(p);
	catalog_report_free(rep);
}

/*
 * A pack taken over as the source: its epoch and label unless the options
 * say otherwise, and every way its files can stray from its manifest
 * counted as a failed check.
 */
static void test_import_verify(void)
{
	const char *root = newdir("import-src");
	const char *optv[] = { "epoch=1560000000", "label=FIRST", NULL };
	const char *relabel[] = { "epoch=86400", "label=SECOND", NULL };
	struct aero_error err = { 0, "" };
	struct catalog_report *rep = NULL, *rep2 = NULL;
	struct pack *p = NULL, *p2 = NULL;
	char out[PATH_MAX], path[PATH_MAX + 64];
	size_t base;

	put_required(root, "w7");
	if (build(root, optv, &p, &rep, &err) < 0) {
		FAIL_AT("catalog_build: %s", err.msg);
		return;
	}
	base = catalog_report_failed_checks(rep);
	snprintf(out, sizeof(out), "%s", newdir("import-pack"));
	write_pack(p, pack_root(p), out);

	CHECK_EQ_INT(0, build(out, NULL, &p2, &rep2, &err));
	CHECK_EQ_INT(1560000000, p2 ? pack_epoch(p2) : -1);
	CHECK_EQ_STR("FIRST", rep2 ? catalog_report_label(rep2) : "");
	CHECK_EQ_UINT(base, rep2 ? catalog_report_failed_checks(rep2) : 0);
	pack_unref(p2);
	catalog_report_free(rep2);
	CHECK_EQ_INT(0, build(out, relabel, &p2, &rep2, &err));
	CHECK_EQ_INT(86400, p2 ? pack_epoch(p2) : -1);
	CHECK_EQ_STR("SECOND", rep2 ? catalog_report_label(rep2) : "");
	pack_unref(p2);
	catalog_report_free(rep2);

	/* Explorer's junk is neither taken over nor a mismatch */
	put(out, "win7/x86/viostor/Thumbs.db", "junk");
	CHECK_EQ_INT(0, build(out, NULL, &p2, &rep2, &err));
	CHECK(p2 && !pack_lookup_path(p2, "win7/x86/viostor/Thumbs.db"));
	CHECK_EQ_UINT(base, rep2 ? catalog_report_failed_checks(rep2) : 0);
	pack_unref(p2);
	catalog_report_free(rep2);

	/* a file the manifest does not list */
	put(out, "win7/x86/viostor/added.sys", "not from upstream");
	CHECK_EQ_INT(0, build(out, NULL, &p2, &rep2, &err));
	CHECK_EQ_UINT(base + 1, rep2 ? catalog_report_failed_checks(rep2) : 0);
	pack_unref(p2);
	catalog_report_free(rep2);

	/*
	 * plus one changed and one missing; the checks run again see the
	 * missing .sys too (referenced_files), so the manifest's results for
	 * netkvm win7-x86 and its check counts no longer hold: +3 more
	 */
	put(out, "win7/amd64/netkvm/netkvm.sys", "changed");
	snprintf(path, sizeof(path), "%s/win7/x86/netkvm/netkvm.sys", out);
	CHECK_EQ_INT(0, unlink(path));
	CHECK_EQ_INT(0, build(out, NULL, &p2, &rep2, &err));
	CHECK_EQ_UINT(base + 6, rep2 ? catalog_report_failed_checks(rep2) : 0);
	pack_unref(p2);
	catalog_report_free(rep2);

	/* a manifest's count that is no count is 0, not undefined behaviour */
	{
		char *text = read_pack_file(p, "manifest.json");
		cJSON *m = cJSON_Parse(text), *chk;
		char *edited;

		chk = cJSON_GetObjectItem(m, "checks");
		cJSON_ReplaceItemInObject(chk, "failed",
					  cJSON_CreateNumber(1e300));
		edited = cJSON_PrintUnformatted(m);
		put(out, "manifest.json", edited);
		CHECK_EQ_INT(0, build(out, NULL, &p2, &rep2, &err));
		/* the count is not believed anyway: the same as above */
		CHECK_EQ_UINT(base + 6,
			      rep2 ? catalog_report_failed_checks(rep2) : 0);
		pack_unref(p2);
		catalog_report_free(rep2);
		free(edited);
		cJSON_Delete(m);
		free(text);
	}
	pack_unref(p);
	catalog_report_free(rep);
}

/* The manifest's "files" entry of PATH gets the SHA-256 of DATA. */
static void rehash(cJSON *m, const char *path, const char *data)
{
	unsigned char md[32];
	char hex[65];
	cJSON *f;

	assert(EVP_Digest(data, strlen(data), md, NULL, EVP_sha256(), NULL));
	for (unsigned k = 0; k < 32; k++)
		snprintf(hex + 2 * k, 3, "%02x", md[k]);
	cJSON_ArrayForEach(f, cJSON_GetObjectItem(m, "files"))
	{
		if (strcmp(cJSON_GetObjectItem(f, "path")->valuestring, path))
			continue;
		cJSON_ReplaceItemInObject(f, "sha256", cJSON_CreateString(hex));
		cJSON_ReplaceItemInObject(f, "size",
					  cJSON_CreateNumber(strlen(data)));
		return;
	}
	f = cJSON_CreateObject();
	cJSON_AddStringToObject(f, "path", path);
	cJSON_AddNumberToObject(f, "size", (double)strlen(data));
	cJSON_AddStringToObject(f, "sha256", hex);
	cJSON_AddItemToArray(cJSON_GetObjectItem(m, "files"), f);
}

/* Writes PATH (DATA) into pack DIR and a manifest that vouches for it. */
static void forge(const char *dir, const char *path, const char *data,
		  bool fix_checks)
{
	char mpath[PATH_MAX + 64], *text, *out;
	cJSON *m;
	FILE *f;
	long n;

	snprintf(mpath, sizeof(mpath), "%s/manifest.json", dir);
	f = fopen(mpath, "rb");
	assert(f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0);
	rewind(f);
	text = calloc(1, (size_t)n + 1);
	assert(text && fread(text, 1, (size_t)n, f) == (size_t)n);
	fclose(f);
	m = cJSON_Parse(text);
	assert(m);
	put(dir, path, data);
	rehash(m, path, data);
	if (fix_checks) {
		/* claim that no check failed */
		cJSON *c = cJSON_GetObjectItem(m, "checks");

		cJSON_ReplaceItemInObject(c, "failed", cJSON_CreateNumber(0));
		cJSON_ReplaceItemInObject(m, "warnings", cJSON_CreateArray());
	}
	out = cJSON_Print(m);
	put(dir, "manifest.json", out);
	free(out);
	free(text);
	cJSON_Delete(m);
}

/*
 * A source that claims to be a pack is held to it (issue 15 #4): every
 * check runs again, generated files are never taken from it, and nothing
 * but what a pack holds is served.
 */
static void test_import_attacks(void)
{
	const char *root = newdir("attack-src");
	const char *optv[] = { "epoch=1560000000", NULL };
	struct aero_error err = { 0, "" };
	struct catalog_report *rep = NULL, *rep2 = NULL;
	struct pack *p = NULL, *p2 = NULL;
	char out[PATH_MAX], *man;
	size_t base;

	put_required(root, "w7");
	if (build(root, optv, &p, &rep, &err) < 0) {
		FAIL_AT("catalog_build: %s", err.msg);
		return;
	}
	base = catalog_report_failed_checks(rep);

	/* an amd64 INF decorated NTx86, the manifest vouching for it */
	snprintf(out, sizeof(out), "%s", newdir("attack-inf"));
	write_pack(p, pack_root(p), out);
	put_inf(out, "win7/amd64/viostor/viostor.inf.tmp", "viostor", "x86",
		"1042");
	{
		char *inf = NULL;
		char tmp[PATH_MAX + 64];
		FILE *f;
		long n;

		snprintf(tmp, sizeof(tmp),
			 "%s/win7/amd64/viostor/viostor.inf.tmp", out);
		f = fopen(tmp, "rb");
		assert(f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0);
		rewind(f);
		inf = calloc(1, (size_t)n + 1);
		assert(inf && fread(inf, 1, (size_t)n, f) == (size_t)n);
		fclose(f);
		unlink(tmp);
		forge(out, "win7/amd64/viostor/viostor.inf", inf, true);
		free(inf);
	}
	CHECK_EQ_INT(0, build(out, NULL, &p2, &rep2, &err));
	/* the checks ran: the decoration fails, the lying counts too */
	CHECK(rep2 &&
	      catalog_report_checks(rep2) == catalog_report_checks(rep));
	CHECK(rep2 && catalog_report_failed_checks(rep2) > base + 1);
	if (rep2) {
		const struct report *d = catalog_report_details(rep2);
		char *all = strlist_join(&d->warnings, "\n");

		CHECK_CONTAINS(all, "viostor win7-amd64: arch_decoration: "
				    "[Manufacturer] has no NTamd64 decoration");
		CHECK_CONTAINS(all, "manifest.json: its check counts differ");
		CHECK_EQ_UINT(d->warnings.n, catalog_report_warnings(rep2));
		free(all);
	}
	/* and without the driver results, README cannot be vouched for */
	{
		char mpath[PATH_MAX + 64];
		cJSON *m;
		char *text;

		snprintf(mpath, sizeof(mpath), "%s", out);
		text = read_pack_file(p, "manifest.json");
		m = cJSON_Parse(text);
		cJSON_DeleteItemFromObject(m, "driver_results");
		free(text);
		text = cJSON_Print(m);
		put(out, "manifest.json", text);
		free(text);
		cJSON_Delete(m);
		pack_unref(p2);
		catalog_report_free(rep2);
		p2 = NULL;
		rep2 = NULL;
		CHECK_EQ_INT(-EINVAL, build(mpath, NULL, &p2, &rep2, &err));
		CHECK_CONTAINS(err.msg, "source_path is missing");
	}
	pack_unref(p2);
	catalog_report_free(rep2);
	rep2 = NULL;

	/* an install.cmd of the attacker's: refused, never served */
	snprintf(out, sizeof(out), "%s", newdir("attack-cmd"));
	write_pack(p, pack_root(p), out);
	forge(out, "install.cmd", "@echo off\r\nformat c: /q\r\n", false);
	CHECK_EQ_INT(-EINVAL, build(out, NULL, &p2, &rep2, &err));
	CHECK(!p2 && !rep2);
	CHECK_CONTAINS(err.msg, "install.cmd: differs from the file aerofs "
				"generates");
	/* a README aerofs did not write: the same */
	snprintf(out, sizeof(out), "%s", newdir("attack-readme"));
	write_pack(p, pack_root(p), out);
	forge(out, "README.txt", "run setup.exe\r\n", false);
	CHECK_EQ_INT(-EINVAL, build(out, NULL, &p2, &rep2, &err));
	CHECK_CONTAINS(err.msg, "README.txt: differs");

	/* something a pack never holds, listed in the manifest */
	snprintf(out, sizeof(out), "%s", newdir("attack-extra"));
	write_pack(p, pack_root(p), out);
	forge(out, "autorun.inf", "[autorun]\r\nopen=x.exe\r\n", false);
	CHECK_EQ_INT(-EINVAL, build(out, NULL, &p2, &rep2, &err));
	CHECK_CONTAINS(err.msg, "autorun.inf: not something a driver pack "
				"holds");
	snprintf(out, sizeof(out), "%s", newdir("attack-extra2"));
	write_pack(p, pack_root(p), out);
	forge(out, "win7/amd64/evil/evil.inf", "[Version]\r\n", false);
	CHECK_EQ_INT(-EINVAL, build(out, NULL, &p2, &rep2, &err));
	CHECK_CONTAINS(err.msg, "win7/amd64/evil: not a driver folder");

	/* a required driver gone from one architecture */
	snprintf(out, sizeof(out), "%s", newdir("attack-missing"));
	write_pack(p, pack_root(p), out);
	{
		char path[PATH_MAX + 64];

		snprintf(path, sizeof(path), "%s/win7/x86/netkvm", out);
		rmtree(path);
	}
	CHECK_EQ_INT(-EINVAL, build(out, NULL, &p2, &rep2, &err));
	CHECK_CONTAINS(err.msg, "win7/x86/netkvm: missing");

	/* the untouched pack still round-trips byte for byte */
	snprintf(out, sizeof(out), "%s", newdir("attack-none"));
	write_pack(p, pack_root(p), out);
	CHECK_EQ_INT(0, build(out, NULL, &p2, &rep2, &err));
	man = catalog_report_json(rep);
	if (rep2) {
		char *man2 = catalog_report_json(rep2);

		const struct report *a = catalog_report_details(rep);
		const struct report *b = catalog_report_details(rep2);
		char *wa = strlist_join(&a->warnings, "\n");
		char *wb = strlist_join(&b->warnings, "\n");

		CHECK_EQ_STR(man, man2);
		CHECK_EQ_UINT(base, catalog_report_failed_checks(rep2));
		CHECK_EQ_UINT(catalog_report_warnings(rep),
			      catalog_report_warnings(rep2));
		/* the summary's facts are the same as the original's */
		CHECK_EQ_STR(wa, wb);
		CHECK_EQ_STR(a->source.name, b->source.name);
		CHECK_EQ_STR(a->epoch_source, b->epoch_source);
		CHECK_EQ_UINT(a->ndrv, b->ndrv);
		for (size_t i = 0; i < a->ndrv && i < b->ndrv; i++) {
			CHECK_EQ_STR(a->drv[i].status, b->drv[i].status);
			CHECK_EQ_UINT(a->drv[i].t[SELECT_AMD64].res.nchecks,
				      b->drv[i].t[SELECT_AMD64].res.nchecks);
		}
		free(wa);
		free(wb);
		free(man2);
	}
	free(man);
	pack_unref(p2);
	catalog_report_free(rep2);
	pack_unref(p);
	catalog_report_free(rep);
}

/*
 * cJSON allocations that fail from the Nth on (cJSON_InitHooks), to make
 * every allocation of the manifest's tree fail in turn.
 */
static long cjson_fail_at = -1;
static long cjson_calls;

static void *cjson_limited_malloc(size_t n)
{
	if (cjson_fail_at >= 0 && cjson_calls++ >= cjson_fail_at)
		return NULL;
	return malloc(n);
}

/*
 * Out of memory while the manifest (and the INF and catalog objects in it)
 * is built is an error: never a pack whose manifest silently lacks a key.
 */
static void test_build_oom(void)
{
	const char *root = newdir("oom");
	const char *optv[] = { "epoch=1560000000", NULL };
	cJSON_Hooks hooks = { cjson_limited_malloc, free };
	struct aero_error err = { 0, "" };
	struct catalog_report *rep = NULL;
	struct pack *p = NULL;
	char *want = NULL;
	long n, failures = 0;

	put_required(root, "w7");
	put_driver(root, "vioinput/w7/x86", "vioinput", "x86", "1052");
	put(root, "LICENSE", "BSD-3-Clause\n");
	if (build(root, optv, &p, &rep, &err) < 0) {
		FAIL_AT("catalog_build: %s", err.msg);
		return;
	}
	want = catalog_report_json(rep);
	pack_unref(p);
	catalog_report_free(rep);
	cJSON_InitHooks(&hooks);
	for (n = 0; n < 100000; n++) {
		char *got;
		int r;

		p = NULL;
		rep = NULL;
		cjson_calls = 0;
		cjson_fail_at = n;
		r = build(root, optv, &p, &rep, &err);
		if (r < 0) {
			failures++;
			if (r != -ENOMEM) {
				FAIL_AT("allocation %ld failed: %d %s", n, r,
					err.msg);
				break;
			}
			CHECK(p == NULL && rep == NULL);
			continue;
		}
		got = read_pack_file(p, "manifest.json");
		if (!got || strcmp(got, want)) {
			FAIL_AT("allocation %ld failed but the build "
				"succeeded with another manifest",
				n);
			free(got);
			pack_unref(p);
			catalog_report_free(rep);
			break;
		}
		free(got);
		pack_unref(p);
		catalog_report_free(rep);
		if (cjson_calls <= n)
			break; /* no allocation failed: all were tried */
	}
	cjson_fail_at = -1;
	cJSON_InitHooks(NULL);
	/* the sweep reached the end, failing many allocations on its way */
	CHECK(n < 100000);
	CHECK(failures > 100);
	free(want);
}

/* Names a Windows guest could not unpack are refused, others pass. */
static void test_windows_names(void)
{
	static const char *const bad[] = {
		"CON",	     "con.txt",	  "Aux.inf",   "nul",	    "COM1.sys",
		"lpt9",	     "CON .txt",  "a<b",       "a>b",	    "a:b",
		"a\"b",	     "a\\b",	  "a|b",       "a?b",	    "a*b",
		"trailing.", "trailing ", "a\x1b[8mb", "tab\tname", "\x01",
		"cr\r",
	};
	static const char *const good[] = {
		"viostor.sys", "CONFIG.txt", "console",
		"COM10.sys",   "COM0",	     "LPT",
		".hidden",     "a;b",	     "netkvm_no_rsc.inf",
		"caf\xc3\xa9",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!select_windows_name_problem(bad[i]))
			FAIL_AT("'%s' accepted", bad[i]);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (select_windows_name_problem(good[i]))
			FAIL_AT("'%s' refused: %s", good[i],
				select_windows_name_problem(good[i]));
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(tmproot, sizeof(tmproot), "%s/test_catalog.XXXXXX",
		 tmp ? tmp : "/tmp");
	if (!mkdtemp(tmproot)) {
		perror("mkdtemp");
		return 99;
	}
	log_set_level(LOG_LEVEL_ERR);
	RUN(test_parse_drivers);
	RUN(test_option_parse);
	RUN(test_option_list);
	RUN(test_epoch_env);
	RUN(test_names);
	RUN(test_select_basic);
	RUN(test_select_os_precedence);
	RUN(test_select_not_present);
	RUN(test_select_required_missing);
	RUN(test_select_partial_optional);
	RUN(test_utc);
	RUN(test_jsonout);
	RUN(test_termesc);
	RUN(test_scripts);
	RUN(test_readme_notices);
	RUN(test_build_tree);
	RUN(test_build_options);
	RUN(test_build_checks);
	RUN(test_decoration_grammar);
	RUN(test_build_errors);
	RUN(test_build_many_notices);
	RUN(test_import_verify);
	RUN(test_import_attacks);
	RUN(test_build_oom);
	RUN(test_windows_names);
	rmtree(tmproot);
	return harness_exit();
}
