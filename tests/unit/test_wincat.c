/*
 * test_wincat.c: the catalog inspector on real signed catalogs built here.
 *
 * tests/unit/make_wincat.py builds each catalog offline the way research
 * virtio-win-layout §4 describes (openssl asn1parse -genconf for the CTL,
 * osslsigncode sign with a test CA and a "Red Hat, Inc" signer), and
 * `osslsigncode verify -CAfile` must accept the signed ones, proving the
 * input is a real catalog and not something shaped to fit the parser.
 * Variants move the signing time where older catalogs keep it (legacy
 * countersignature, RFC 3161 token, CTL ThisUpdate only).  Then the
 * hostile part: every truncation and many corruptions of a real catalog,
 * deep nesting and garbage.  Skips (77) without openssl, osslsigncode or
 * python3.
 */
#include "tests/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "catalog/formats/wincat.h"

#ifndef MAKE_CAT_PY
#error "MAKE_CAT_PY must name tests/unit/make_wincat.py"
#endif

static char dir[64];

static bool have_tool(const char *name)
{
	const char *path = getenv("PATH");
	char buf[4096];

	while (path && *path) {
		size_t n = strcspn(path, ":");

		if (snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, name) <
			    (int)sizeof(buf) &&
		    access(buf, X_OK) == 0)
			return true;
		path += n + (path[n] == ':');
	}
	return false;
}

/* Runs ARGV, stdout to /dev/null; returns the exit status or -1. */
static int run(const char *const argv[])
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0)
			dup2(fd, 1);
		/* execvp() takes char *const[] for historical reasons. */
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static unsigned char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long n;

	*len = 0;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) &&
	    fread(buf, 1, (size_t)n, f) == (size_t)n) {
		*len = (size_t)n;
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static void write_file(const char *name, const void *p, size_t n)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert(f);
	assert(fwrite(p, 1, n, f) == n);
	fclose(f);
}

static void digest_file(const char *name, const EVP_MD *md, unsigned char *out)
{
	char path[256];
	size_t len;
	unsigned char *p;
	unsigned int olen;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	p = read_all(path, &len);
	assert(p);
	assert(EVP_Digest(p, len, out, &olen, md, NULL) == 1);
	free(p);
}

static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {
		.tm_year = y - 1900,
		.tm_mon = mo - 1,
		.tm_mday = d,
		.tm_hour = h,
		.tm_min = mi,
		.tm_sec = s,
	};

	return (int64_t)timegm(&tm);
}

/* The member files: what a Win7 viostor/netkvm directory holds. */
static const char viostor_inf[] =
	"[Version]\r\nSignature=\"$WINDOWS NT$\"\r\nClass=SCSIAdapter\r\n"
	"CatalogFile=viostor.cat\r\n";
static const char netkvm_inf[] =
	"[version]\r\nSignature   = \"$Windows NT$\"\r\nClass       = Net\r\n"
	"CatalogFile = netkvm.cat\r\n";

#define T_WIN7 1559962084 /* 2019-06-08 02:48:04Z, OLD viostor.cat */
#define T_WIN8 1690000000
#define T_TSA 1689992849 /* 2023-07-22 02:27:29Z */

/*
 * Builds a catalog with make_wincat.py STYLE VARIANT into DIR/<style> and
 * returns its bytes.
 */
static unsigned char *build(const char *style, const char *variant, size_t *len)
{
	char out[128], t[32], tsa[32], m1[300], m2[300], m3[300], path[160];
	bool win7 = strcmp(style, "win7") == 0;
	const char *argv[32];
	int n = 0;

	snprintf(out, sizeof(out), "%s/%s", dir, style);
	snprintf(t, sizeof(t), "%d", win7 ? T_WIN7 : T_WIN8);
	snprintf(tsa, sizeof(tsa), "%d", T_TSA);
	snprintf(m1, sizeof(m1), "viostor.inf=%s/viostor.inf", dir);
	/* Win7 netkvm.cat names its INF netkvm_no_rsc.inf (research §4). */
	snprintf(m2, sizeof(m2), "netkvm_no_rsc.inf=%s/netkvm.inf", dir);
	snprintf(m3, sizeof(m3), "viostor.sys=%s/viostor.sys", dir);
	argv[n++] = "python3";
	argv[n++] = MAKE_CAT_PY;
	argv[n++] = "--out";
	argv[n++] = out;
	argv[n++] = "--style";
	argv[n++] = style;
	argv[n++] = "--time";
	argv[n++] = t;
	argv[n++] = "--tsa-time";
	argv[n++] = tsa;
	argv[n++] = "--os";
	argv[n++] = win7 ? "7X64,Server2008R2X64" : "_v63_X64,_v63_Server_X64";
	argv[n++] = "--hwid";
	argv[n++] = "pci\\ven_1af4&dev_1001&subsys_00021af4&rev_00";
	argv[n++] = "--hwid";
	argv[n++] = "pci\\ven_1af4&dev_1042&subsys_11001af4&rev_01";
	argv[n++] = "--hwid";
	argv[n++] = "pci\\ven_1af4&dev_1001";
	argv[n++] = "--member";
	argv[n++] = m1;
	argv[n++] = "--member";
	argv[n++] = m2;
	argv[n++] = "--member";
	argv[n++] = m3;
	argv[n++] = "--variant";
	argv[n++] = variant;
	argv[n] = NULL;
	if (run(argv) != 0) {
		FAIL_AT("make_wincat.py %s %s failed", style, variant);
		*len = 0;
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/test.cat", out);
	return read_all(path, len);
}

static struct wincat *parse_ok(const unsigned char *p, size_t len)
{
	struct aero_error err = { 0, "" };
	struct wincat *cat = NULL;
	int rc = wincat_parse(p, len, &cat, &err);

	if (rc != 0)
		FAIL_AT("wincat_parse: %d %s", rc, err.msg);
	return cat;
}

static const char signer_dn[] =
	"CN=Red Hat, Inc, O=Red Hat, Inc, L=Raleigh, ST=nc, C=US";

/* What every catalog built by build() says, whatever its style. */
static void check_common(const struct wincat *cat, const EVP_MD *md,
			 size_t dlen)
{
	static const char *const names[] = {
		"viostor.inf",
		"netkvm_no_rsc.inf",
		"viostor.sys",
	};
	static const char *const files[] = {
		"viostor.inf",
		"netkvm.inf",
		"viostor.sys",
	};
	unsigned char d[EVP_MAX_MD_SIZE], other[EVP_MAX_MD_SIZE];

	CHECK_EQ_UINT(3, wincat_member_count(cat));
	for (size_t i = 0; i < 3 && i < wincat_member_count(cat); i++) {
		size_t len;
		const unsigned char *got = wincat_member_digest(cat, i, &len);

		CHECK_EQ_STR(names[i], wincat_member_name(cat, i));
		digest_file(files[i], md, d);
		CHECK_EQ_UINT(dlen, len);
		if (got && len == dlen)
			CHECK_EQ_MEM(d, got, dlen);
		/* By hash, whatever the member is called. */
		CHECK(wincat_has_digest(cat, d, dlen));
	}
	CHECK(wincat_member_name(cat, 3) == NULL);
	memset(other, 0x5a, sizeof(other));
	CHECK(!wincat_has_digest(cat, other, dlen));
	CHECK(!wincat_has_digest(cat, d, 16));

	CHECK_EQ_UINT(3, wincat_hwid_count(cat));
	CHECK_EQ_STR("pci\\ven_1af4&dev_1001&subsys_00021af4&rev_00",
		     wincat_hwid(cat, 0));
	CHECK_EQ_STR("pci\\ven_1af4&dev_1042&subsys_11001af4&rev_01",
		     wincat_hwid(cat, 1));
	CHECK_EQ_STR("pci\\ven_1af4&dev_1001", wincat_hwid(cat, 2));
	CHECK(wincat_hwid(cat, 3) == NULL);
	CHECK_EQ_STR(signer_dn, wincat_signer(cat));
}

static void check_time(const struct wincat *cat, enum wincat_time_source src,
		       int64_t want)
{
	int64_t t = -1;
	enum wincat_time_source got = wincat_signing_time(cat, &t);

	CHECK_EQ_STR(wincat_time_source_name(src),
		     wincat_time_source_name(got));
	CHECK_EQ_INT(want, t);
}

static void verify(const char *style)
{
	char in[128], ca[128];
	const char *argv[] = {
		"osslsigncode", "verify", "-CAfile", ca, "-TSA-CAfile", ca,
		"-in",		in,	  NULL
	};

	snprintf(in, sizeof(in), "%s/%s/test.cat", dir, style);
	snprintf(ca, sizeof(ca), "%s/%s/ca.pem", dir, style);
	CHECK_EQ_INT(0, run(argv));
}

static unsigned char *win7_cat;
static size_t win7_len;

static void test_win7(void)
{
	struct wincat *cat;

	win7_cat = build("win7", "signed", &win7_len);
	if (!win7_cat)
		return;
	verify("win7");
	cat = parse_ok(win7_cat, win7_len);
	if (!cat)
		return;
	CHECK_EQ_STR("sha1", wincat_digest_name(wincat_digest(cat)));
	check_common(cat, EVP_sha1(), 20);
	CHECK_EQ_STR("7X64,Server2008R2X64", wincat_os_attr(cat));
	check_time(cat, WINCAT_TIME_SIGNING_TIME, T_WIN7);
	wincat_free(cat);
}

static void test_win8(void)
{
	unsigned char sha1[20];
	size_t len;
	unsigned char *p = build("win8", "signed", &len);
	struct wincat *cat;

	if (!p)
		return;
	verify("win8");
	cat = parse_ok(p, len);
	if (cat) {
		CHECK_EQ_STR("sha256", wincat_digest_name(wincat_digest(cat)));
		check_common(cat, EVP_sha256(), 32);
		CHECK_EQ_STR("_v63_X64,_v63_Server_X64", wincat_os_attr(cat));
		/* The authenticated signingTime comes before the token. */
		check_time(cat, WINCAT_TIME_SIGNING_TIME, T_WIN8);
		/* v2 tags hold the raw SHA-1, which also matches. */
		digest_file("netkvm.inf", EVP_sha1(), sha1);
		CHECK(wincat_has_digest(cat, sha1, 20));
	}
	wincat_free(cat);
	free(p);
}

/* Where older catalogs keep the time, in the order cat.h tries them. */
static void test_time_sources(void)
{
	static const struct {
		const char *style, *variant;
		enum wincat_time_source src;
	} cases[] = {
		{ "win7", "countersig", WINCAT_TIME_COUNTERSIGNATURE },
		{ "win8", "no-signing-time", WINCAT_TIME_RFC3161 },
		{ "win7", "no-signing-time", WINCAT_TIME_THIS_UPDATE },
	};
	int64_t want[] = {
		utc(2019, 6, 8, 2, 48, 4),	   /* make_cat --counter-time */
		T_TSA, utc(2019, 6, 7, 23, 6, 19), /* --this-update default */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len;
		unsigned char *p;
		struct wincat *cat;

		p = build(cases[i].style, cases[i].variant, &len);
		if (!p)
			continue;
		cat = parse_ok(p, len);
		if (cat) {
			check_time(cat, cases[i].src, want[i]);
			CHECK_EQ_STR(signer_dn, wincat_signer(cat));
			CHECK_EQ_UINT(3, wincat_member_count(cat));
		}
		wincat_free(cat);
		free(p);
	}
}

/* Certificate order and the CMS-style OCTET STRING around the CTL. */
static void test_layouts(void)
{
	size_t len;
	unsigned char *p = build("win7", "certs-reversed", &len);
	struct wincat *cat;

	if (p) {
		cat = parse_ok(p, len);
		if (cat) {
			CHECK_EQ_STR(signer_dn, wincat_signer(cat));
			check_common(cat, EVP_sha1(), 20);
		}
		wincat_free(cat);
		free(p);
	}
	p = build("win7", "wrapped", &len);
	if (p) {
		cat = parse_ok(p, len);
		if (cat) {
			check_common(cat, EVP_sha1(), 20);
			check_time(cat, WINCAT_TIME_SIGNING_TIME, T_WIN7);
		}
		wincat_free(cat);
		free(p);
	}
}

/* --- hostile -------------------------------------------------------------- */

static int parse_rc(const void *p, size_t len, struct aero_error *err)
{
	struct wincat *cat = (struct wincat *)err; /* must be reset */
	int rc = wincat_parse(p, len, &cat, err);

	if (rc == 0) {
		/* Whatever parsed must be usable. */
		size_t n;

		for (size_t i = 0; i < wincat_member_count(cat); i++) {
			wincat_member_name(cat, i);
			wincat_member_digest(cat, i, &n);
		}
		for (size_t i = 0; i < wincat_hwid_count(cat); i++)
			CHECK(wincat_hwid(cat, i) != NULL);
		wincat_free(cat);
	} else {
		CHECK(cat == NULL);
		CHECK(err->msg[0] != '\0');
	}
	return rc;
}

static void test_truncated(void)
{
	struct aero_error err;

	if (!win7_cat)
		return;
	/* Every proper prefix breaks the outer length. */
	for (size_t n = 0; n < win7_len; n++) {
		int rc = parse_rc(win7_cat, n, &err);

		if (rc != -EINVAL) {
			FAIL_AT("prefix of %zu bytes: %d", n, rc);
			break;
		}
	}
	/* Trailing bytes after the DER are tolerated (padding). */
	{
		unsigned char *p = malloc(win7_len + 8);

		memcpy(p, win7_cat, win7_len);
		memset(p + win7_len, 0, 8);
		CHECK_EQ_INT(0, parse_rc(p, win7_len + 8, &err));
		free(p);
	}
}

/* Every byte of a real catalog flipped in a few ways: no crash. */
static void test_corrupted(void)
{
	static const unsigned char flips[] = { 0x01, 0x80, 0xff, 0x7f };
	struct aero_error err;
	unsigned char *p;
	size_t ok = 0, bad = 0;

	if (!win7_cat)
		return;
	p = malloc(win7_len);
	for (size_t i = 0; i < win7_len; i++) {
		for (size_t f = 0; f < sizeof(flips); f++) {
			int rc;

			memcpy(p, win7_cat, win7_len);
			p[i] ^= flips[f];
			rc = parse_rc(p, win7_len, &err);
			if (rc != 0 && rc != -EINVAL)
				FAIL_AT("byte %zu ^ %#x: %d %s", i, flips[f],
					rc, err.msg);
			rc == 0 ? ok++ : bad++;
		}
	}
	/* Signature bytes are not checked; structure bytes are. */
	CHECK(ok > 0 && bad > 0);
	free(p);
}

static void test_garbage(void)
{
	static const unsigned char png[] = {
		0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13,
	};
	static const unsigned char indefinite[] = {
		0x30, 0x80, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
		0xf7, 0x0d, 0x01, 0x07, 0x02, 0x00, 0x00,
	};
	/* SignedData carrying id-data, as `openssl cms -sign` writes. */
	static const unsigned char not_ctl[] = {
		0x30, 0x23, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
		0x01, 0x07, 0x02, 0xa0, 0x16, 0x30, 0x14, 0x02, 0x01, 0x01,
		0x31, 0x00, 0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
		0xf7, 0x0d, 0x01, 0x07, 0x01, 0x31, 0x00,
	};
	struct aero_error err;
	size_t big = WINCAT_MAX_SIZE + 1, depth = 100000, n = 0;
	unsigned char *p;

	CHECK_EQ_INT(-EINVAL, parse_rc("", 0, &err));
	CHECK_EQ_INT(-EINVAL, parse_rc(png, sizeof(png), &err));
	CHECK_EQ_INT(-EINVAL, parse_rc(indefinite, sizeof(indefinite), &err));
	CHECK_EQ_INT(-EINVAL, parse_rc(not_ctl, sizeof(not_ctl), &err));
	CHECK(strstr(err.msg, "not a certificate trust list") != NULL);

	/* 100000 nested SEQUENCEs with long-form lengths. */
	p = malloc(depth * 6);
	for (size_t i = 0; i < depth; i++) {
		size_t inner = (depth - i - 1) * 6;

		p[n++] = 0x30;
		p[n++] = 0x84;
		p[n++] = (unsigned char)(inner >> 24);
		p[n++] = (unsigned char)(inner >> 16);
		p[n++] = (unsigned char)(inner >> 8);
		p[n++] = (unsigned char)inner;
	}
	CHECK_EQ_INT(-EINVAL, parse_rc(p, n, &err));
	free(p);

	/* Random bytes and a length field claiming 4 GiB. */
	p = malloc(big);
	for (size_t i = 0; i < 65536; i++)
		p[i] = (unsigned char)(i * 2654435761u >> 13);
	CHECK_EQ_INT(-EINVAL, parse_rc(p, 65536, &err));
	memcpy(p, "\x30\x84\xff\xff\xff\xff", 6);
	CHECK_EQ_INT(-EINVAL, parse_rc(p, 65536, &err));
	CHECK_EQ_INT(-EFBIG, parse_rc(p, big, &err));
	free(p);
}

static void cleanup(void)
{
	const char *argv[] = { "rm", "-rf", dir, NULL };

	if (dir[0])
		run(argv);
}

int main(void)
{
	static const char sys[] = "MZ\x90\0 not a real driver, hashed flat";

	if (!have_tool("openssl") || !have_tool("osslsigncode") ||
	    !have_tool("python3")) {
		return harness_skip("openssl, osslsigncode or python3 missing");
	}
	snprintf(dir, sizeof(dir), "/tmp/test_cat.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	write_file("viostor.inf", viostor_inf, strlen(viostor_inf));
	write_file("netkvm.inf", netkvm_inf, strlen(netkvm_inf));
	write_file("viostor.sys", sys, sizeof(sys));

	RUN(test_win7);
	RUN(test_win8);
	RUN(test_time_sources);
	RUN(test_layouts);
	RUN(test_truncated);
	RUN(test_corrupted);
	RUN(test_garbage);
	free(win7_cat);
	cleanup();
	return harness_exit();
}
