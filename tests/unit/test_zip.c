/*
 * test_zip.c: the deterministic ZIP writer, read back by unzip, Python's
 * zipfile, 7z and bsdtar.
 *
 * The pack has nested directories, a non-ASCII name, an empty file and a
 * file-backed 3 MB file.  Checks: every tool accepts the archive; unzip
 * extracts the same bytes; zipfile sees the entries in path byte order,
 * directories before their contents, the clamped epoch as DOS time, Unix
 * modes 0644/0755, "made by" Unix, the UTF-8 flag on the non-ASCII name,
 * and UT/ux extra fields holding the epoch and uid/gid 0; the reported
 * SHA-256 is the file's; bytes do not depend on umask; a non-UTC TZ is
 * refused; a failing source or a full disk is an error.
 */
#include "tests/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "catalog/pack/pack.h"
#include "export/archive/zip.h"

#define EPOCH 1700000001 /* odd: ZIP times go in 2-second steps */
#define BIG (3u << 20)

static char tmpdir[64];
static char big_path[128];

static const char *const names[] = {
	"manifest.json",
	"README.md",
	"win7/x86/viostor/viostor.inf",
	"win7/x86/viostor/viostor.cat",
	"win7/amd64/netkvm/netkvm.inf",
	"win7-extra.txt", /* sorts before "win7/" */
	"licenses/virtio-win/LICENSE",
	"caf\xc3\xa9.txt",
};

static struct pack *make_pack(int64_t epoch)
{
	struct pack_builder *b = pack_builder_new(epoch);
	struct aero_error err = { 0 };
	struct pack *p = NULL;
	struct pack_extent ext;
	unsigned char buf[2000];
	struct stat st;
	int fd, src;

	assert(b);
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		harness_fill(buf, 100 + 150 * i, (uint32_t)i + 1);
		CHECK_EQ_INT(0,
			     pack_builder_add_blob(b, names[i], buf,
						   100 + 150 * i, NULL, &err));
	}
	CHECK_EQ_INT(0, pack_builder_add_blob(b, "win7/empty.txt", "", 0, NULL,
					      &err));
	CHECK_EQ_INT(0, pack_builder_add_dir(b, "win7/amd64/emptydir", &err));
	fd = open(big_path, O_RDONLY);
	assert(fd >= 0 && fstat(fd, &st) == 0);
	src = pack_builder_add_source(b, fd, (uint64_t)st.st_size);
	ext = (struct pack_extent){ (unsigned)src, 0, BIG };
	CHECK_EQ_INT(0, pack_builder_add_file(b, "win7/x86/viostor/big.sys",
					      &ext, 1, NULL, &err));
	close(fd);
	CHECK_EQ_INT(0, pack_builder_finish(b, &p));
	assert(p);
	return p;
}

static int write_zip(const struct pack *p, const char *path,
		     struct zip_result *res, struct aero_error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int rc;

	assert(fd >= 0);
	rc = zip_write(p, fd, NULL, NULL, res, err);
	close(fd);
	return rc;
}

static struct pack *pack;
static char zip_path[128];
static struct zip_result result;

static void test_write(void)
{
	struct aero_error err = { 0 };
	unsigned char *buf;
	unsigned char md[32];
	struct stat st;
	int fd;

	pack = make_pack(EPOCH);
	snprintf(zip_path, sizeof(zip_path), "%s/pack.zip", tmpdir);
	CHECK_EQ_INT(0, write_zip(pack, zip_path, &result, &err));
	if (err.code)
		fprintf(stderr, "%s\n", err.msg);
	CHECK_EQ_UINT(10, result.files);
	CHECK_EQ_UINT(8, result.dirs);
	assert(stat(zip_path, &st) == 0);
	CHECK_EQ_UINT((uint64_t)st.st_size, result.bytes);
	buf = malloc((size_t)st.st_size);
	fd = open(zip_path, O_RDONLY);
	assert(buf && fd >= 0);
	assert(read(fd, buf, (size_t)st.st_size) == st.st_size);
	close(fd);
	SHA256(buf, (size_t)st.st_size, md);
	CHECK_EQ_MEM(md, result.sha256, 32);
	/* the 3 MB of random data cannot shrink; the rest is small */
	CHECK(st.st_size > BIG && st.st_size < BIG + 100000);
	free(buf);
}

static void test_unzip(void)
{
	char dir[160];

	REQUIRE_TOOL("unzip");
	CHECK_EQ_INT(0, harness_sh("unzip -tq %s >/dev/null", zip_path));
	snprintf(dir, sizeof(dir), "%s/unzip", tmpdir);
	CHECK_EQ_INT(0, harness_sh("unzip -q %s -d %s", zip_path, dir));
	/* every file, byte for byte, and nothing else */
	for (uint64_t ino = 1; ino <= pack_node_count(pack); ino++) {
		const struct pack_node *n = pack_node_by_ino(pack, ino);
		char path[512];
		unsigned char *want, *got;
		struct stat st;
		size_t size = pack_node_size(n);
		int fd;

		snprintf(path, sizeof(path), "%s/%s", dir, pack_node_path(n));
		if (stat(path, &st) < 0) {
			FAIL_AT("%s missing", path);
			continue;
		}
		if (pack_node_is_dir(n)) {
			CHECK(S_ISDIR(st.st_mode));
			continue;
		}
		/* unzip applies the Unix mode from the external attributes */
		CHECK_EQ_UINT(0644, st.st_mode & 07777);
		CHECK_EQ_INT(EPOCH - 1, st.st_mtime);
		CHECK_EQ_UINT(size, (uint64_t)st.st_size);
		want = malloc(size + 1);
		got = malloc(size + 1);
		fd = open(path, O_RDONLY);
		assert(want && got && fd >= 0);
		assert(pack_node_read(pack, n, want, size, 0) == (ssize_t)size);
		assert(read(fd, got, size) == (ssize_t)size);
		close(fd);
		CHECK_EQ_MEM(want, got, size);
		free(want);
		free(got);
	}
	CHECK_EQ_INT(0,
		     harness_sh("test $(find %s -type f | wc -l) -eq 10", dir));
}

/* Metadata as Python's zipfile sees it. */
static const char pycheck[] =
	"import struct, sys, zipfile\n"
	"z = zipfile.ZipFile(sys.argv[1])\n"
	"assert z.testzip() is None\n"
	"infos = z.infolist()\n"
	"names = [i.filename for i in infos]\n"
	"assert names == sorted(names, key=lambda n: n.encode()), names\n"
	"for i in infos:\n"
	"    d = i.filename.endswith('/')\n"
	"    if d:\n"
	"        parent = i.filename.rstrip('/').rpartition('/')[0]\n"
	"        assert not parent or names.index(parent + '/') <"
	" names.index(i.filename)\n"
	"    assert i.date_time == tuple(int(x) for x in sys.argv[2:8]),"
	" i.date_time\n"
	"    assert i.create_system == 3, i.create_system\n"
	"    mode = i.external_attr >> 16\n"
	"    assert mode == (0o40755 if d else 0o100644), oct(mode)\n"
	"    assert i.compress_type == (zipfile.ZIP_STORED if d else"
	" zipfile.ZIP_DEFLATED)\n"
	"    ex, ut, ux = i.extra, None, None\n"
	"    while ex:\n"
	"        tag, ln = struct.unpack('<HH', ex[:4])\n"
	"        body, ex = ex[4:4 + ln], ex[4 + ln:]\n"
	"        if tag == 0x5455: ut = body\n"
	"        elif tag == 0x7875: ux = body\n"
	"        elif tag != 0x0001: raise SystemExit('extra %#x' % tag)\n"
	"    assert ut == bytes([1]) + struct.pack('<I',"
	" int(sys.argv[8])), ut\n"
	"    assert ux == bytes([1, 4, 0, 0, 0, 0, 4, 0, 0, 0, 0]), ux\n"
	"    if i.filename.startswith('caf'):\n"
	"        assert i.filename == 'caf\\u00e9.txt'\n"
	"        assert i.flag_bits & 0x800\n"
	"assert 'win7-extra.txt' in names\n"
	"assert names.index('win7-extra.txt') < names.index('win7/')\n"
	"assert 'win7/amd64/emptydir/' in names\n"
	"assert len(z.read('win7/x86/viostor/big.sys')) == 3 << 20\n";

static void test_zipfile(void)
{
	char script[160];
	FILE *f;

	REQUIRE_TOOL("python3");
	snprintf(script, sizeof(script), "%s/check.py", tmpdir);
	f = fopen(script, "w");
	assert(f);
	fputs(pycheck, f);
	fclose(f);
	/* 2023-11-14 22:13:21 UTC, in DOS 2-second steps */
	CHECK_EQ_INT(0, harness_sh("python3 %s %s 2023 11 14 22 13 20 %d",
				   script, zip_path, EPOCH - 1));
}

static void test_7z_bsdtar(void)
{
	REQUIRE_TOOL("7z");
	REQUIRE_TOOL("bsdtar");
	CHECK_EQ_INT(0, harness_sh("7z t %s >/dev/null 2>&1", zip_path));
	CHECK_EQ_INT(0, harness_sh("bsdtar -tf %s | grep -qx "
				   "'win7/x86/viostor/viostor.inf'",
				   zip_path));
	CHECK_EQ_INT(0, harness_sh("bsdtar -tvf %s | grep -q "
				   "'^-rw-r--r--  0 0 *0 *3145728 '",
				   zip_path));
}

static void test_clamp(void)
{
	struct pack *p;
	struct aero_error err = { 0 };
	char path[160];

	REQUIRE_TOOL("python3");
	p = make_pack(-1000);
	CHECK_EQ_INT(315532800, zip_clamp_time(-1000));
	CHECK_EQ_INT(315532800, zip_clamp_time(315532800));
	CHECK_EQ_INT(4294967294LL, zip_clamp_time(INT64_MAX));
	/* floored to even seconds, so UT and DOS times agree */
	CHECK_EQ_INT(EPOCH - 1, zip_clamp_time(EPOCH));
	snprintf(path, sizeof(path), "%s/old.zip", tmpdir);
	CHECK_EQ_INT(0, write_zip(p, path, NULL, &err));
	CHECK_EQ_INT(0, harness_sh("python3 -c 'import sys, zipfile; "
				   "assert all(i.date_time == (1980, 1, 1, 0, "
				   "0, 0) for i in zipfile.ZipFile(sys.argv[1])"
				   ".infolist())' %s",
				   path));
	pack_unref(p);
}

/*
 * Same bytes under another umask; a non-UTC zone is refused, even one
 * only seconds off UTC.
 */
static void test_deterministic(void)
{
	char path[160];
	pid_t pid;
	int st;

	snprintf(path, sizeof(path), "%s/again.zip", tmpdir);
	pid = fork();
	assert(pid >= 0);
	if (pid == 0) {
		struct zip_result r;
		struct aero_error err = { 0 };
		struct pack *p;

		umask(077);
		p = make_pack(EPOCH);
		if (write_zip(p, path, &r, &err) < 0)
			_exit(1);
		setenv("TZ", "Asia/Kolkata", 1);
		tzset();
		if (write_zip(p, "/dev/null", &r, &err) != -EINVAL ||
		    !strstr(err.msg, "TZ=UTC"))
			_exit(2);
		/* two seconds off UTC: the DOS time would be one step off */
		setenv("TZ", "XXX0:00:02", 1);
		tzset();
		if (write_zip(p, "/dev/null", &r, &err) != -EINVAL)
			_exit(3);
		pack_unref(p);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st));
	CHECK_EQ_INT(0, WEXITSTATUS(st));
}

static void test_same_bytes(void)
{
	char a[160];

	snprintf(a, sizeof(a), "%s/again.zip", tmpdir);
	CHECK_EQ_INT(0, harness_sh("cmp -s %s %s", zip_path, a));
}

/* A full disk: /dev/full fails every write with ENOSPC. */
static void test_enospc(void)
{
	struct aero_error err = { 0 };
	int fd = open("/dev/full", O_WRONLY);

	if (fd < 0)
		return;
	CHECK_EQ_INT(-ENOSPC, zip_write(pack, fd, NULL, NULL, NULL, &err));
	CHECK(strstr(err.msg, "No space left"));
	close(fd);
}

static int cancel_after_1mb(void *ctx, uint64_t done)
{
	(void)ctx;
	return done > (1 << 20);
}

static void test_cancel(void)
{
	struct aero_error err = { 0 };
	int fd = open("/dev/null", O_WRONLY);

	assert(fd >= 0);
	CHECK_EQ_INT(-ECANCELED,
		     zip_write(pack, fd, cancel_after_1mb, NULL, NULL, &err));
	close(fd);
}

int main(void)
{
	unsigned char *big;
	int fd;

	/* libarchive converts DOS times with localtime(3) */
	setenv("TZ", "UTC0", 1);
	strcpy(tmpdir, "/tmp/aerofs-test-zip-XXXXXX");
	assert(mkdtemp(tmpdir));
	snprintf(big_path, sizeof(big_path), "%s/big.src", tmpdir);
	big = malloc(BIG);
	assert(big);
	harness_fill(big, BIG, 42);
	fd = open(big_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert(fd >= 0 && write(fd, big, BIG) == BIG);
	close(fd);
	free(big);

	RUN(test_write);
	RUN(test_unzip);
	RUN(test_zipfile);
	RUN(test_7z_bsdtar);
	RUN(test_clamp);
	RUN(test_deterministic);
	RUN(test_same_bytes);
	RUN(test_enospc);
	RUN(test_cancel);

	pack_unref(pack);
	if (!getenv("AEROFS_KEEP_TMP"))
		harness_sh("rm -rf %s", tmpdir);
	return harness_exit();
}
