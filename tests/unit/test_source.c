/*
 * test_source.c: catalog/source.h over real images, directories and
 * crafted hostile images.
 *
 * A small virtio-win-like tree (mixed case, a hard link, a deep path, a long
 * name, a file spanning sectors, an empty file, a symlink) is written to a
 * temporary directory and authored with the real tools in each variant the
 * virtio-win ISO has used (genisoimage -r -iso-level 4, -r -J, xorriso -as
 * mkisofs -r -iso-level 4, -J only, plain, -iso-level 4 without Rock Ridge).
 * Each image is opened with source_open() and compared with the tree under
 * that variant's name rules (types, sizes, bytes read through the extents),
 * then with libarchive reading the same image as an independent reader.
 * The directory source is compared with the same tree, and must never follow
 * a symlink.  tests/hostile/isofs/ (made by tests/hostile/make_hostile_isos.py)
 * holds the crafted images; test_hostile() asserts each one's outcome.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "catalog/source/isofs.h"
#include "catalog/util/log.h"
#include "catalog/source/source.h"
#include "tests/harness.h"

enum kind {
	K_DIR,
	K_FILE,
	K_LINK,
	K_HARD
};

struct tent {
	const char *path;
	enum kind kind;
	size_t size;
	const char *target; /* symlink text or hard link source */
};

#define LONGNAME                                                               \
	"long/a-name-of-two-hundred-characters-"                               \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"    \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"    \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxx.txt"

static const struct tent tree[] = {
	{ "NetKVM", K_DIR, 0, NULL },
	{ "NetKVM/w7", K_DIR, 0, NULL },
	{ "NetKVM/w7/amd64", K_DIR, 0, NULL },
	{ "NetKVM/w7/amd64/netkvm.inf", K_FILE, 1500, NULL },
	{ "NetKVM/w7/amd64/netkvm.sys", K_FILE, 70001, NULL },
	{ "NetKVM/w7/x86", K_DIR, 0, NULL },
	{ "NetKVM/w7/x86/netkvm.inf", K_FILE, 1400, NULL },
	{ "NetKVM/link.inf", K_LINK, 0, "w7/amd64/netkvm.inf" },
	{ "viostor", K_DIR, 0, NULL },
	{ "viostor/w7", K_DIR, 0, NULL },
	{ "viostor/w7/amd64", K_DIR, 0, NULL },
	{ "viostor/w7/amd64/viostor.cat", K_FILE, 3000, NULL },
	{ "viostor/2k8R2", K_DIR, 0, NULL },
	{ "viostor/2k8R2/amd64", K_DIR, 0, NULL },
	{ "viostor/2k8R2/amd64/viostor.cat", K_HARD, 3000,
	  "viostor/w7/amd64/viostor.cat" },
	{ "virtio-win_license.txt", K_FILE, 2049, NULL },
	{ "guest-agent", K_DIR, 0, NULL },
	{ "guest-agent/qemu-ga-x86_64.msi", K_FILE, 4096, NULL },
	{ "data", K_DIR, 0, NULL },
	{ "data/empty.txt", K_FILE, 0, NULL },
	{ "deep", K_DIR, 0, NULL },
	{ "deep/d1", K_DIR, 0, NULL },
	{ "deep/d1/d2", K_DIR, 0, NULL },
	{ "deep/d1/d2/d3", K_DIR, 0, NULL },
	{ "deep/d1/d2/d3/d4", K_DIR, 0, NULL },
	{ "deep/d1/d2/d3/d4/d5", K_DIR, 0, NULL },
	{ "deep/d1/d2/d3/d4/d5/d6", K_DIR, 0, NULL },
	{ "deep/d1/d2/d3/d4/d5/d6/d7", K_DIR, 0, NULL },
	{ "deep/d1/d2/d3/d4/d5/d6/d7/d8", K_DIR, 0, NULL },
	{ "deep/d1/d2/d3/d4/d5/d6/d7/d8/leaf.txt", K_FILE, 10, NULL },
	{ "long", K_DIR, 0, NULL },
	{ LONGNAME, K_FILE, 20, NULL },
};
#define NTREE (sizeof(tree) / sizeof(tree[0]))

static char tmpdir[64];
static char treedir[128];
static unsigned warnings;

static void count_warnings(enum log_level level, const char *fmt, va_list ap)
{
	(void)fmt;
	(void)ap;
	if (level == LOG_LEVEL_WARNING)
		warnings++;
}

/* Deterministic content of tree entry I. */
static uint8_t content_byte(size_t i, size_t pos)
{
	return (uint8_t)(pos * 31 + i * 7 + (pos >> 9) + (pos >> 13));
}

static size_t content_index(const char *path)
{
	for (size_t i = 0; i < NTREE; i++)
		if (strcmp(tree[i].path, path) == 0)
			return tree[i].kind == K_HARD ?
				       content_index(tree[i].target) :
				       i;
	return (size_t)-1;
}

static void write_file(const char *path, size_t idx, size_t size)
{
	FILE *f = fopen(path, "wb");

	assert(f);
	for (size_t p = 0; p < size; p++)
		fputc(content_byte(idx, p), f);
	fclose(f);
}

static void make_tree(void)
{
	char p[512], q[512];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/aerofs-test-source-XXXXXX");
	assert(mkdtemp(tmpdir));
	snprintf(treedir, sizeof(treedir), "%s/tree", tmpdir);
	assert(mkdir(treedir, 0755) == 0);
	for (size_t i = 0; i < NTREE; i++) {
		snprintf(p, sizeof(p), "%s/%s", treedir, tree[i].path);
		switch (tree[i].kind) {
		case K_DIR:
			assert(mkdir(p, 0755) == 0);
			break;
		case K_FILE:
			write_file(p, i, tree[i].size);
			break;
		case K_LINK:
			assert(symlink(tree[i].target, p) == 0);
			break;
		case K_HARD:
			snprintf(q, sizeof(q), "%s/%s", treedir,
				 tree[i].target);
			assert(link(q, p) == 0);
			break;
		}
	}
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_tmp(void)
{
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Runs ARGV with output discarded; returns the exit status, 127 if absent. */
static int run_tool(char *const argv[])
{
	int status;
	pid_t pid = fork();

	assert(pid >= 0);
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		dup2(fd, 2);
		/* xorriso honours it, genisoimage not: both stamp "now". */
		unsetenv("SOURCE_DATE_EPOCH");
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* Reads all of image file N through its extents. */
static uint8_t *read_extents(const struct source *s,
			     const struct source_node *n)
{
	const struct source_extent *ext;
	size_t count, pos = 0;
	uint8_t *buf;

	if (source_node_extents(n, &ext, &count) < 0)
		return NULL;
	buf = malloc(source_node_size(n) + 1);
	assert(buf);
	for (size_t i = 0; i < count; i++) {
		ssize_t r = pread(source_fd(s), buf + pos, ext[i].length,
				  (off_t)ext[i].offset);

		if (r != (ssize_t)ext[i].length) {
			free(buf);
			return NULL;
		}
		pos += ext[i].length;
	}
	if (pos != source_node_size(n)) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Reads all of directory-source file N through source_node_open(). */
static uint8_t *read_opened(const struct source *s, const struct source_node *n)
{
	size_t size = source_node_size(n), pos = 0;
	uint8_t *buf;
	int fd = source_node_open(s, n);

	if (fd < 0)
		return NULL;
	buf = malloc(size + 1);
	assert(buf);
	while (pos < size) {
		ssize_t r = read(fd, buf + pos, size - pos);

		if (r <= 0)
			break;
		pos += (size_t)r;
	}
	close(fd);
	if (pos != size) {
		free(buf);
		return NULL;
	}
	return buf;
}

static bool content_ok(size_t idx, const uint8_t *buf, size_t size)
{
	for (size_t p = 0; p < size; p++)
		if (buf[p] != content_byte(idx, p))
			return false;
	return true;
}

/* Looks PATH up component by component (ASCII case-insensitive). */
static const struct source_node *lookup(const struct source *s,
					const char *path)
{
	const struct source_node *n = source_root(s);
	char buf[512], *save, *tok;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, "/", &save); tok && n;
	     tok = strtok_r(NULL, "/", &save))
		n = source_node_find(n, tok);
	return n;
}

static size_t count_nodes(const struct source_node *n)
{
	size_t total = 0;

	for (size_t i = 0; i < source_node_nchildren(n); i++) {
		const struct source_node *c = source_node_child(n, i);

		total += 1 + count_nodes(c);
		/* Children in bytewise order, no duplicates. */
		if (i > 0)
			CHECK(strcmp(source_node_name(
					     source_node_child(n, i - 1)),
				     source_node_name(c)) < 0);
	}
	return total;
}

/* How one authoring variant spells and keeps names. */
struct variant {
	const char *what;
	const char *names; /* expected source_names() */
	bool links;	   /* symlinks kept (Rock Ridge) */
	bool deep;	   /* paths deeper than 8 levels kept */
	unsigned maxname;  /* names cut to this many characters, or 0 */
	bool plain;	   /* uppercase 8.3 names */
	const char *label; /* expected label, or NULL */
	const char *argv[16];
};

#define OUT "@OUT@"
#define TREE "@TREE@"

static const struct variant variants[] = {
	{ "genisoimage -r -iso-level 4",
	  "rockridge",
	  true,
	  true,
	  0,
	  false,
	  "virtio-win-0.1.285",
	  { "genisoimage", "-quiet", "-r", "-iso-level", "4", "-input-charset",
	    "iso8859-1", "-V", "virtio-win-0.1.285", "-o", OUT, TREE, NULL } },
	{ "genisoimage -r -J",
	  "rockridge",
	  true,
	  true,
	  0,
	  false,
	  NULL,
	  { "genisoimage", "-quiet", "-r", "-J", "-o", OUT, TREE, NULL } },
	{ "xorriso -as mkisofs -r -iso-level 4",
	  "rockridge",
	  true,
	  true,
	  0,
	  false,
	  "VIRTIO-WIN",
	  { "xorriso", "-as", "mkisofs", "-quiet", "-r", "-iso-level", "4",
	    "-V", "VIRTIO-WIN", "-o", OUT, TREE, NULL } },
	{ "genisoimage -J",
	  "joliet",
	  false,
	  false,
	  64,
	  false,
	  NULL,
	  { "genisoimage", "-quiet", "-J", "-o", OUT, TREE, NULL } },
	{ "genisoimage -iso-level 4",
	  "iso9660:1999",
	  false,
	  true,
	  0,
	  false,
	  NULL,
	  { "genisoimage", "-quiet", "-iso-level", "4", "-o", OUT, TREE,
	    NULL } },
	{ "genisoimage (plain)",
	  "iso9660",
	  false,
	  false,
	  0,
	  true,
	  "CDROM",
	  { "genisoimage", "-quiet", "-o", OUT, TREE, NULL } },
};

static unsigned depth_of(const char *path)
{
	unsigned d = 1;

	for (; *path; path++)
		d += *path == '/';
	return d;
}

/* A name an ISO9660 level 1 image keeps as is (apart from case). */
static bool is_83(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t stem = 0, ext = 0;
	bool dot = false;

	for (base = base ? base + 1 : path; *base; base++) {
		if (*base == '.' && !dot)
			dot = true;
		else if ((*base >= 'a' && *base <= 'z') ||
			 (*base >= 'A' && *base <= 'Z') ||
			 (*base >= '0' && *base <= '9'))
			dot ? ext++ : stem++;
		else
			return false;
	}
	return stem <= 8 && ext <= 3;
}

static bool parent_is_83(const char *path)
{
	char buf[512], *slash;

	snprintf(buf, sizeof(buf), "%s", path);
	while ((slash = strrchr(buf, '/'))) {
		*slash = '\0';
		if (!is_83(buf))
			return false;
	}
	return true;
}

/* One node as libarchive or source sees it, for the cross-check. */
struct seen {
	char path[512];
	enum source_node_type type;
	uint64_t size;
	uint8_t *data;	    /* files only */
	char hardlink[512]; /* libarchive hard link target */
};

static int seen_cmp(const void *a, const void *b)
{
	return strcmp(((const struct seen *)a)->path,
		      ((const struct seen *)b)->path);
}

static void collect_source(const struct source *s, const struct source_node *n,
			   struct seen *v, size_t *count, size_t cap)
{
	for (size_t i = 0; i < source_node_nchildren(n); i++) {
		const struct source_node *c = source_node_child(n, i);
		struct seen *e;

		assert(*count < cap);
		e = &v[(*count)++];
		memset(e, 0, sizeof(*e));
		source_node_path(c, e->path, sizeof(e->path));
		e->type = source_node_type(c);
		e->size = source_node_size(c);
		if (e->type == SOURCE_NODE_FILE)
			e->data = read_extents(s, c);
		if (e->type == SOURCE_NODE_DIR)
			collect_source(s, c, v, count, cap);
	}
}

static size_t collect_archive(const char *image, struct seen *v, size_t cap)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	size_t count = 0;

	assert(a);
	archive_read_support_format_iso9660(a);
	if (archive_read_open_filename(a, image, 65536) != ARCHIVE_OK) {
		FAIL_AT("libarchive cannot open %s: %s", image,
			archive_error_string(a));
		archive_read_free(a);
		return 0;
	}
	while (archive_read_next_header(a, &ae) == ARCHIVE_OK) {
		const char *p = archive_entry_pathname(ae);
		struct seen *e;
		size_t len;

		while (p[0] == '.' && p[1] == '/')
			p += 2;
		if (strcmp(p, ".") == 0 || strcmp(p, "./") == 0 || !*p)
			continue;
		assert(count < cap);
		e = &v[count++];
		memset(e, 0, sizeof(*e));
		snprintf(e->path, sizeof(e->path), "%s", p);
		len = strlen(e->path);
		if (len && e->path[len - 1] == '/')
			e->path[len - 1] = '\0';
		if (archive_entry_hardlink(ae)) {
			snprintf(e->hardlink, sizeof(e->hardlink), "%s",
				 archive_entry_hardlink(ae));
			e->type = SOURCE_NODE_FILE;
			continue;
		}
		switch (archive_entry_filetype(ae)) {
		case AE_IFDIR:
			e->type = SOURCE_NODE_DIR;
			break;
		case AE_IFREG:
			e->type = SOURCE_NODE_FILE;
			break;
		default:
			e->type = SOURCE_NODE_OTHER;
			break;
		}
		if (e->type != SOURCE_NODE_FILE)
			continue;
		e->size = (uint64_t)archive_entry_size(ae);
		e->data = malloc(e->size + 1);
		assert(e->data);
		for (uint64_t got = 0; got < e->size;) {
			la_ssize_t r = archive_read_data(a, e->data + got,
							 e->size - got);

			if (r <= 0) {
				FAIL_AT("libarchive short read of %s", e->path);
				break;
			}
			got += (uint64_t)r;
		}
	}
	archive_read_free(a);
	/* Hard links: the target's size and bytes. */
	for (size_t i = 0; i < count; i++) {
		const char *t = v[i].hardlink;

		while (t[0] == '.' && t[1] == '/')
			t += 2;
		if (!v[i].hardlink[0])
			continue;
		for (size_t j = 0; j < count; j++)
			if (strcmp(v[j].path, t) == 0 && v[j].data) {
				v[i].size = v[j].size;
				v[i].data = malloc(v[j].size + 1);
				memcpy(v[i].data, v[j].data, v[j].size);
			}
	}
	return count;
}

/* Our tree of IMAGE equals libarchive's: names, types, sizes, bytes. */
static void cross_check_libarchive(const struct source *s, const char *image)
{
	enum {
		CAP = 16384
	};
	struct seen *ours = calloc(CAP, sizeof(*ours));
	struct seen *theirs = calloc(CAP, sizeof(*theirs));
	size_t n1 = 0, n2;

	assert(ours && theirs);
	collect_source(s, source_root(s), ours, &n1, CAP);
	n2 = collect_archive(image, theirs, CAP);
	qsort(ours, n1, sizeof(*ours), seen_cmp);
	qsort(theirs, n2, sizeof(*theirs), seen_cmp);
	CHECK_EQ_UINT(n2, n1);
	for (size_t i = 0; i < n1 && i < n2; i++) {
		CHECK_EQ_STR(theirs[i].path, ours[i].path);
		CHECK_EQ_INT(theirs[i].type, ours[i].type);
		CHECK_EQ_UINT(theirs[i].size, ours[i].size);
		if (ours[i].type == SOURCE_NODE_FILE) {
			CHECK(ours[i].data && theirs[i].data);
			if (ours[i].data && theirs[i].data)
				CHECK_EQ_MEM(theirs[i].data, ours[i].data,
					     ours[i].size);
		}
	}
	for (size_t i = 0; i < CAP; i++) {
		free(ours[i].data);
		free(theirs[i].data);
	}
	free(ours);
	free(theirs);
}

static void check_variant(const struct variant *v, const char *image)
{
	struct aero_error err = { 0 };
	struct source *s;
	size_t expected = 0;
	int64_t t;
	int rc;
	const struct source_node *h1, *h2;

	rc = source_open(image, NULL, &s, &err);
	CHECK_EQ_INT(0, rc);
	if (rc < 0) {
		fprintf(stderr, "# %s: %s\n", v->what, err.msg);
		return;
	}
	CHECK_EQ_INT(SOURCE_KIND_IMAGE, source_kind(s));
	CHECK_EQ_STR(v->names, source_names(s));
	if (v->label)
		CHECK_EQ_STR(v->label, source_volume_label(s));
	CHECK(source_volume_time(s, &t));
	CHECK(llabs(t - (int64_t)time(NULL)) < 3600);
	CHECK(source_fd(s) >= 0);
	CHECK_EQ_UINT(0, source_skipped(s));
	for (size_t i = 0; i < NTREE; i++) {
		const struct tent *e = &tree[i];
		const struct source_node *n;
		bool longname = v->maxname &&
				strlen(strrchr(e->path, '/') ?
					       strrchr(e->path, '/') + 1 :
					       e->path) > v->maxname;
		uint8_t *data;

		/* ECMA-119 6.8.2.1: 8 directory levels at most, root too. */
		if ((e->kind == K_LINK && !v->links) ||
		    (depth_of(e->path) - (e->kind != K_DIR) > 7 && !v->deep))
			continue;
		expected++;
		if (longname ||
		    (v->plain && (!is_83(e->path) || !parent_is_83(e->path))))
			continue; /* present under a mangled name */
		n = lookup(s, e->path);
		CHECK(n != NULL);
		if (!n) {
			fprintf(stderr, "# %s: %s missing\n", v->what, e->path);
			continue;
		}
		/* Exact case, except where ISO9660 level 1 uppercases. */
		if (!v->plain)
			CHECK_EQ_STR(strrchr(e->path, '/') ?
					     strrchr(e->path, '/') + 1 :
					     e->path,
				     source_node_name(n));
		switch (e->kind) {
		case K_DIR:
			CHECK_EQ_INT(SOURCE_NODE_DIR, source_node_type(n));
			break;
		case K_LINK:
			CHECK_EQ_INT(SOURCE_NODE_OTHER, source_node_type(n));
			CHECK_EQ_UINT(0, source_node_size(n));
			break;
		case K_FILE:
		case K_HARD:
			CHECK_EQ_INT(SOURCE_NODE_FILE, source_node_type(n));
			CHECK_EQ_UINT(e->size, source_node_size(n));
			data = read_extents(s, n);
			CHECK(data != NULL);
			if (data)
				CHECK(content_ok(content_index(e->path), data,
						 e->size));
			free(data);
			break;
		}
	}
	CHECK_EQ_UINT(expected, count_nodes(source_root(s)));
	/* The hard link shares its extent (virtio-win's by-os tree does). */
	h1 = lookup(s, "viostor/w7/amd64/viostor.cat");
	h2 = lookup(s, "viostor/2k8R2/amd64/viostor.cat");
	CHECK(h1 && h2);
	if (h1 && h2) {
		const struct source_extent *e1, *e2;
		size_t c1, c2;

		CHECK_EQ_INT(0, source_node_extents(h1, &e1, &c1));
		CHECK_EQ_INT(0, source_node_extents(h2, &e2, &c2));
		CHECK_EQ_UINT(1, c1);
		CHECK_EQ_UINT(1, c2);
		CHECK_EQ_UINT(e1[0].offset, e2[0].offset);
		CHECK_EQ_INT(-EINVAL, source_node_open(s, h1));
	}
	/* The empty file has no extent. */
	if (lookup(s, "data/empty.txt")) {
		const struct source_extent *e1;
		size_t c1 = 99;

		CHECK_EQ_INT(0, source_node_extents(lookup(s, "data/empty.txt"),
						    &e1, &c1));
		CHECK_EQ_UINT(0, c1);
	}
	CHECK_EQ_INT(-EINVAL, source_node_extents(source_root(s), NULL, NULL));
	cross_check_libarchive(s, image);
	source_close(s);
}

static void test_images(void)
{
	unsigned authored = 0;

	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		const struct variant *v = &variants[i];
		char image[256];
		char *argv[16];
		int rc;

		snprintf(image, sizeof(image), "%s/image%zu.iso", tmpdir, i);
		for (size_t j = 0; j < 16; j++) {
			const char *a = v->argv[j];

			argv[j] = (char *)(a && strcmp(a, OUT) == 0  ? image :
					   a && strcmp(a, TREE) == 0 ? treedir :
								       a);
			if (!a)
				break;
		}
		rc = run_tool(argv);
		if (rc == 127) {
			printf("# skip %s: not installed\n", v->what);
			continue;
		}
		CHECK_EQ_INT(0, rc);
		if (rc != 0)
			continue;
		authored++;
		harness_case = v->what;
		check_variant(v, image);
	}
	CHECK(authored > 0);
}

static void test_directory(void)
{
	struct aero_error err = { 0 };
	struct source *s;
	const struct source_node *n;
	char p[512], q[512];
	int64_t t;
	int rc;

	rc = source_open(treedir, NULL, &s, &err);
	CHECK_EQ_INT(0, rc);
	if (rc < 0)
		return;
	CHECK_EQ_INT(SOURCE_KIND_DIR, source_kind(s));
	CHECK_EQ_STR("directory", source_names(s));
	CHECK(source_volume_label(s) == NULL);
	CHECK(!source_volume_time(s, &t));
	CHECK_EQ_INT(-1, source_fd(s));
	CHECK_EQ_UINT(0, source_size(s));
	CHECK_EQ_UINT(NTREE, count_nodes(source_root(s)));
	for (size_t i = 0; i < NTREE; i++) {
		const struct tent *e = &tree[i];
		uint8_t *data;

		n = lookup(s, e->path);
		CHECK(n != NULL);
		if (!n)
			continue;
		source_node_path(n, p, sizeof(p));
		CHECK_EQ_STR(e->path, p);
		switch (e->kind) {
		case K_DIR:
			CHECK_EQ_INT(SOURCE_NODE_DIR, source_node_type(n));
			CHECK_EQ_INT(-EINVAL, source_node_open(s, n));
			break;
		case K_LINK:
			CHECK_EQ_INT(SOURCE_NODE_OTHER, source_node_type(n));
			CHECK_EQ_INT(-EINVAL, source_node_open(s, n));
			break;
		case K_FILE:
		case K_HARD:
			CHECK_EQ_INT(SOURCE_NODE_FILE, source_node_type(n));
			CHECK_EQ_UINT(e->size, source_node_size(n));
			CHECK_EQ_INT(-EINVAL,
				     source_node_extents(n, NULL, NULL));
			data = read_opened(s, n);
			CHECK(data != NULL);
			if (data)
				CHECK(content_ok(content_index(e->path), data,
						 e->size));
			free(data);
			break;
		}
	}
	/* Lookup is ASCII case-insensitive; the tree keeps the case. */
	n = lookup(s, "netkvm/W7/AMD64/NETKVM.INF");
	CHECK(n != NULL);
	if (n)
		CHECK_EQ_STR("netkvm.inf", source_node_name(n));
	CHECK(lookup(s, "netkvm/w7/amd64/missing.inf") == NULL);

	/*
	 * A directory on the path replaced by a symlink after the walk: the
	 * re-open must refuse it rather than follow it.
	 */
	n = lookup(s, "viostor/w7/amd64/viostor.cat");
	snprintf(p, sizeof(p), "%s/viostor/w7", treedir);
	snprintf(q, sizeof(q), "%s/viostor/w7.real", treedir);
	CHECK(rename(p, q) == 0);
	CHECK(symlink("w7.real", p) == 0);
	rc = source_node_open(s, n);
	CHECK(rc == -ELOOP || rc == -ENOTDIR);
	if (rc >= 0)
		close(rc);
	CHECK(unlink(p) == 0);
	CHECK(rename(q, p) == 0);
	rc = source_node_open(s, n);
	CHECK(rc >= 0);
	if (rc >= 0)
		close(rc);
	/* The file itself replaced by a FIFO: refused, without blocking. */
	n = lookup(s, "data/empty.txt");
	snprintf(p, sizeof(p), "%s/data/empty.txt", treedir);
	CHECK(unlink(p) == 0);
	CHECK(mkfifo(p, 0644) == 0);
	CHECK_EQ_INT(-EINVAL, source_node_open(s, n));
	CHECK(unlink(p) == 0);
	write_file(p, content_index("data/empty.txt"), 0);
	source_close(s);
}

/*
 * ERR's message starts with "PATH: " and names PATH nowhere else, and
 * says SAYS.
 */
static void check_path_once(const struct aero_error *err, const char *path,
			    const char *says)
{
	size_t n = strlen(path);

	if (strncmp(err->msg, path, n) != 0 || strncmp(err->msg + n, ": ", 2))
		FAIL_AT("\"%s\" does not start with \"%s: \"", err->msg, path);
	else if (strstr(err->msg + n, path))
		FAIL_AT("\"%s\" names the path twice", err->msg);
	if (!strstr(err->msg, says))
		FAIL_AT("\"%s\" lacks \"%s\"", err->msg, says);
}

static void test_directory_hostile(void)
{
	struct source_limits lim = { 0 };
	struct aero_error err = { 0 };
	struct source *s;
	char d[256], p[512];
	int rc;

	snprintf(d, sizeof(d), "%s/odd", tmpdir);
	CHECK(mkdir(d, 0755) == 0);
	/* Names a pack could not serve safely, and near-duplicates. */
	snprintf(p, sizeof(p), "%s/back\\slash", d);
	write_file(p, 0, 1);
	snprintf(p, sizeof(p), "%s/ctl\x01name", d);
	write_file(p, 0, 1);
	snprintf(p, sizeof(p),
		 "%s/bad\xff"
		 "utf8",
		 d);
	write_file(p, 0, 1);
	snprintf(p, sizeof(p), "%s/Arm", d);
	CHECK(mkdir(p, 0755) == 0);
	snprintf(p, sizeof(p), "%s/arm", d);
	CHECK(mkdir(p, 0755) == 0);
	/* A symlink to a directory outside: OTHER, never entered. */
	snprintf(p, sizeof(p), "%s/escape", d);
	CHECK(symlink("/etc", p) == 0);
	warnings = 0;
	rc = source_open(d, NULL, &s, &err);
	CHECK_EQ_INT(0, rc);
	if (rc == 0) {
		const struct source_node *r = source_root(s);

		CHECK_EQ_UINT(3, source_skipped(s));
		CHECK_EQ_UINT(3, warnings);
		CHECK_EQ_UINT(3, source_node_nchildren(r));
		CHECK_EQ_STR("Arm", source_node_name(source_node_child(r, 0)));
		CHECK_EQ_STR("arm",
			     source_node_name(source_node_find(r, "arm")));
		CHECK_EQ_STR("Arm",
			     source_node_name(source_node_find(r, "ARM")));
		CHECK_EQ_INT(SOURCE_NODE_OTHER,
			     source_node_type(source_node_find(r, "escape")));
		CHECK_EQ_UINT(0, source_node_nchildren(
					 source_node_find(r, "escape")));
		source_close(s);
	}
	/* Limits. */
	lim.max_nodes = 5;
	rc = source_open(treedir, &lim, &s, &err);
	CHECK_EQ_INT(-E2BIG, rc);
	CHECK(strstr(err.msg, "entries") != NULL);
	lim.max_nodes = 0;
	lim.max_depth = 3;
	rc = source_open(treedir, &lim, &s, &err);
	CHECK_EQ_INT(-E2BIG, rc);
	CHECK(strstr(err.msg, "deeper") != NULL);
	/* Not a source. */
	snprintf(p, sizeof(p), "%s/missing", tmpdir);
	CHECK_EQ_INT(-ENOENT, source_open(p, NULL, &s, &err));
	CHECK(s == NULL);
	check_path_once(&err, p, "cannot open");
	snprintf(p, sizeof(p), "%s/fifo", tmpdir);
	CHECK(mkfifo(p, 0644) == 0);
	CHECK_EQ_INT(-EINVAL, source_open(p, NULL, &s, &err));
	CHECK(strstr(err.msg, "not a directory, regular file") != NULL);
	/* Issue 15: not "fifo: fifo is not...": the path once, in front. */
	check_path_once(&err, p, "a FIFO");
	/* NULL error pointer allowed. */
	CHECK_EQ_INT(-EINVAL, source_open(p, NULL, &s, NULL));
}

/*
 * Issue 15: a directory source of ~1,200 files failed with "Too many open
 * files" at systemd's soft limit of 1,024, since a pack keeps one
 * descriptor per file.  Scaled down: a child with a soft limit of 64
 * opens, and keeps open as the pack would, all 200 files of a tree.
 */
static int many_files_child(const char *dir, rlim_t soft, rlim_t hard)
{
	struct rlimit rl = { soft, hard };
	struct source *s = NULL;
	const struct source_node *root;
	size_t i;
	int rc = 0;

	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 10;
	if (source_open(dir, NULL, &s, NULL) < 0)
		return 11;
	root = source_root(s);
	if (source_node_nchildren(root) != 200)
		return 12;
	for (i = 0; i < 200 && rc >= 0; i++)
		rc = source_node_open(s, source_node_child(root, i));
	/* The descriptors stay open until exit, as a pack keeps them. */
	source_close(s);
	return rc == -EMFILE ? 2 : rc < 0 ? 3 : 0;
}

static void test_directory_many_files(void)
{
	struct rlimit rl;
	char d[256], p[512];
	int st;
	pid_t pid;

	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 400)
		SKIP_CASE("hard RLIMIT_NOFILE %lu is below 400",
			  (unsigned long)rl.rlim_max);
	snprintf(d, sizeof(d), "%s/many", tmpdir);
	CHECK(mkdir(d, 0755) == 0);
	for (int i = 0; i < 200; i++) {
		snprintf(p, sizeof(p), "%s/f%03d.sys", d, i);
		write_file(p, 0, 1);
	}
	fflush(NULL);
	pid = fork();
	assert(pid >= 0);
	if (pid == 0)
		_exit(many_files_child(d, 64, rl.rlim_max));
	CHECK(waitpid(pid, &st, 0) == pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		FAIL_AT("200 files at soft limit 64: child status %d "
			"(2: EMFILE)",
			WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	/* The hard limit is the end: a clear -EMFILE, nothing worse. */
	pid = fork();
	assert(pid >= 0);
	if (pid == 0)
		_exit(many_files_child(d, 64, 64));
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2);
}

static void test_not_iso(void)
{
	static const struct {
		const char *head;
		size_t len;
		size_t size;
		const char *says;
	} cases[] = {
		{ "PK\x03\x04", 4, 40000, "a ZIP archive" },
		{ "\x1f\x8b\x08", 3, 40000, "gzip" },
		{ "  <html>", 8, 100, "too small" },
		{ "  <HTML>", 8, 100, "HTML page" },
		{ "MZ", 2, 50000, "Windows executable" },
		{ "", 0, 0, "an empty file" },
		{ "\0\0\0", 3, 1 << 20, "no \"CD001\" at byte 32769" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct aero_error err = { 0 };
		struct source *s;
		char p[256];
		FILE *f;

		snprintf(p, sizeof(p), "%s/notiso%zu.iso", tmpdir, i);
		f = fopen(p, "wb");
		assert(f);
		fwrite(cases[i].head, 1, cases[i].len, f);
		for (size_t j = cases[i].len; j < cases[i].size; j++)
			fputc(0, f);
		fclose(f);
		CHECK_EQ_INT(-EINVAL, source_open(p, NULL, &s, &err));
		check_path_once(&err, p, cases[i].says);
	}
}

static void test_date17(void)
{
	int64_t t = 0;

	CHECK(isofs_date17((const uint8_t *)"1970010100000000\0", &t));
	CHECK_EQ_INT(0, t);
	/* GMT+1 (4 x 15 min): noon local is 11:00 UTC. */
	CHECK(isofs_date17((const uint8_t *)"2020032312000000\x04", &t));
	CHECK_EQ_INT(1584961200, t);
	/* GMT-12 (-48), leap day. */
	CHECK(isofs_date17((const uint8_t *)"2024022912000000\xd0", &t));
	CHECK_EQ_INT(1709208000 + 12 * 3600, t);
	CHECK(!isofs_date17((const uint8_t *)"0000000000000000\0", &t));
	CHECK(!isofs_date17((const uint8_t *)"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
			    &t));
	CHECK(!isofs_date17((const uint8_t *)"2020133112000000\0", &t));
	CHECK(!isofs_date17((const uint8_t *)"20200323120000 0\0", &t));
	CHECK(!isofs_date17((const uint8_t *)"2020032312000000\x40", &t));
}

static void test_joliet_name(void)
{
	char out[32];

	CHECK_EQ_INT(6, isofs_joliet_name((const uint8_t *)"\0N\0e\0t\0K\0V\0M",
					  12, out, sizeof(out)));
	CHECK_EQ_STR("NetKVM", out);
	/* U+2603 (3 bytes) and U+1D11E as a surrogate pair (4 bytes). */
	CHECK_EQ_INT(7, isofs_joliet_name((const uint8_t *)"\x26\x03\xd8\x34"
							   "\xdd\x1e",
					  6, out, sizeof(out)));
	CHECK_EQ_MEM("\xe2\x98\x83\xf0\x9d\x84\x9e", out, 8);
	CHECK_EQ_INT(-1, isofs_joliet_name((const uint8_t *)"\xd8\x34\0a", 4,
					   out, sizeof(out)));
	CHECK_EQ_INT(-1, isofs_joliet_name((const uint8_t *)"\xdd\x1e", 2, out,
					   sizeof(out)));
	CHECK_EQ_INT(-1, isofs_joliet_name((const uint8_t *)"\0a\0", 3, out,
					   sizeof(out)));
	CHECK_EQ_INT(-1, isofs_joliet_name((const uint8_t *)"\0a\0\0", 4, out,
					   sizeof(out)));
	CHECK_EQ_INT(-1,
		     isofs_joliet_name((const uint8_t *)"\0a\0b", 4, out, 2));
}

/* Opens tests/hostile/isofs/NAME with LIM; returns rc, *S on success. */
static int open_hostile(const char *name, const struct source_limits *lim,
			struct source **s, struct aero_error *err)
{
	const char *root = getenv("AEROFS_SOURCE_ROOT");
	char p[512];

	snprintf(p, sizeof(p), "%s/tests/hostile/isofs/%s", root ? root : ".",
		 name);
	return source_open(p, lim, s, err);
}

/*
 * Opens an image that must open: a failure fails the case (the checks in
 * the caller's block are then skipped, never passed).
 */
static bool open_ok(const char *name, const struct source_limits *lim,
		    struct source **s)
{
	struct aero_error err = { 0 };
	int rc = open_hostile(name, lim, s, &err);

	if (rc < 0) {
		FAIL_AT("%s: expected to open, got %d (%s)", name, rc, err.msg);
		*s = NULL;
		return false;
	}
	return true;
}

static void test_hostile(void)
{
	static const struct {
		const char *file;
		int rc;
		const char *says; /* part of the message, or NULL */
	} cases[] = {
		{ "not-iso-html.iso", -EINVAL, "HTML page" },
		{ "truncated-descriptors.iso", -EIO, "volume descriptors" },
		{ "no-terminator.iso", -EIO,
		  "no volume descriptor set "
		  "terminator" },
		{ "truncated-directory.iso", -EIO, "past the end" },
		{ "truncated-file.iso", -EIO, "\"BIG.BIN\": extent" },
		{ "extent-past-end.iso", -EIO, "past the end" },
		{ "huge-size.iso", -EIO, "4294967295 bytes" },
		{ "huge-directory.iso", -EIO, "directory size" },
		{ "directory-loop.iso", -ELOOP, "directory loop" },
		{ "directory-cycle.iso", -ELOOP, "\"A/B\": directory loop" },
		{ "overlapping-directories.iso", -EIO, "directories overlap" },
		/* Issue 15: 64 parts that each cover the whole image. */
		{ "multi-extent-dos.iso", -EIO,
		  "\"PDB.PDB\": multi-extent "
		  "file: its parts add up to more than the image" },
		{ "multi-extent-overlap.iso", -EIO,
		  "\"BIG.BIN\": extent at "
		  "byte 63488, 2048 bytes, overlaps \"BIG.BIN\"" },
		{ "multi-extent-repeat.iso", -EIO, "repeats a part of" },
		{ "files-overlap.iso", -EIO,
		  "\"B.BIN\": extent at byte "
		  "63488, 2048 bytes, overlaps \"A.BIN\"" },
		{ "shared-part.iso", -EIO,
		  "is shared with, but the file "
		  "differs from," },
		{ "directory-dag-bomb.iso", -EIO, "shared too often" },
		{ "shared-too-often.iso", -EIO,
		  "files add up to 8192000 bytes, "
		  "more than 64 times the image" },
		{ "deep-tree.iso", -E2BIG, "deeper than 64" },
		{ "zisofs.iso", -ENOTSUP, "zisofs" },
		{ "ce-loop.iso", -ELOOP, "CE loop" },
		{ "ce-outside.iso", -EIO, "continuation area" },
		/* Plain names with an ESC: shown as "?", not sent raw. */
		{ "ce-shared.iso", -EIO,
		  "\"?\": system use continuation "
		  "areas overlap" },
		{ "multi-extent-broken.iso", -EIO, "before its last extent" },
		{ "multi-extent-unterminated.iso", -EIO, "lacks its last" },
		{ "interleaved.iso", -ENOTSUP, "interleaved" },
		{ "bad-record.iso", -EIO, "bad directory record" },
		/* libFuzzer: a record 8 bytes before a chunk's end. */
		{ "fuzz-record-at-sector-end.bin", -EIO,
		  "bad directory record" },
		{ "file-over-descriptors.iso", 0, NULL },
		{ "bad-names.iso", 0, NULL },
		{ "plain-bad-names.iso", 0, NULL },
		{ "duplicate-names.iso", 0, NULL },
		{ "wide-tree.iso", 0, NULL },
		{ "rr-special.iso", 0, NULL },
		{ "nm-continued.iso", 0, NULL },
		{ "multi-extent.iso", 0, NULL },
		{ "multi-extent-backwards.iso", 0, NULL },
		{ "shared-extent.iso", 0, NULL },
		{ "directory-dag.iso", 0, NULL },
		{ "joliet-names.iso", 0, NULL },
		{ "dates.iso", 0, NULL },
		{ "dates-creation-only.iso", 0, NULL },
		{ "relocated.iso", 0, NULL },
		{ "susp-malformed.iso", 0, NULL },
		{ "extended-attributes.iso", 0, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct aero_error err = { 0 };
		struct source *s = NULL;
		int rc = open_hostile(cases[i].file, NULL, &s, &err);

		if (rc != cases[i].rc)
			FAIL_AT("%s: expected %d got %d (%s)", cases[i].file,
				cases[i].rc, rc, err.msg);
		if (cases[i].says && !strstr(err.msg, cases[i].says))
			FAIL_AT("%s: \"%s\" lacks \"%s\"", cases[i].file,
				err.msg, cases[i].says);
		if (rc < 0)
			CHECK(s == NULL && err.code == rc);
		source_close(s);
	}
}

static const struct source_node *find1(const struct source *s, const char *name)
{
	return source_node_find(source_root(s), name);
}

static void check_bytes(const struct source *s, const struct source_node *n,
			const char *want, size_t len)
{
	uint8_t *data;

	CHECK(n != NULL);
	if (!n)
		return;
	CHECK_EQ_INT(SOURCE_NODE_FILE, source_node_type(n));
	CHECK_EQ_UINT(len, source_node_size(n));
	data = read_extents(s, n);
	CHECK(data != NULL);
	if (data && len)
		CHECK_EQ_MEM(want, data, len);
	free(data);
}

/* The crafted images that open: what the tree must look like. */
static void test_hostile_contents(void)
{
	struct source_limits lim = { .max_nodes = 1000 };
	struct aero_error err = { 0 };
	struct source *s;
	int64_t t;
	uint8_t *data;

	if (open_ok("file-over-descriptors.iso", NULL, &s)) {
		const struct source_node *n = find1(s, "pvd.bin");

		data = n ? read_extents(s, n) : NULL;
		CHECK(data && memcmp(data, "\1CD001\1", 7) == 0);
		free(data);
		source_close(s);
	}
	warnings = 0;
	if (open_ok("bad-names.iso", NULL, &s)) {
		CHECK_EQ_STR("rockridge", source_names(s));
		CHECK_EQ_UINT(7, source_skipped(s));
		CHECK_EQ_UINT(7, warnings);
		CHECK_EQ_UINT(2, source_node_nchildren(source_root(s)));
		check_bytes(s, find1(s, "ok.txt"), "!", 1);
		check_bytes(s, find1(s, "PLAIN.TXT"), "!", 1);
		source_close(s);
	}
	if (open_ok("plain-bad-names.iso", NULL, &s)) {
		CHECK_EQ_STR("iso9660", source_names(s));
		CHECK_EQ_UINT(2, source_skipped(s));
		CHECK_EQ_UINT(2, source_node_nchildren(source_root(s)));
		check_bytes(s, find1(s, "GOOD.TXT"), "!", 1);
		check_bytes(s, find1(s, "DOT"), "!", 1);
		source_close(s);
	}
	if (open_ok("duplicate-names.iso", NULL, &s)) {
		CHECK_EQ_UINT(1, source_skipped(s));
		CHECK_EQ_UINT(1, source_node_nchildren(source_root(s)));
		check_bytes(s, find1(s, "same.txt"), "first", 5);
		source_close(s);
	}
	CHECK_EQ_INT(-E2BIG, open_hostile("wide-tree.iso", &lim, &s, &err));
	if (open_ok("wide-tree.iso", NULL, &s)) {
		CHECK_EQ_UINT(1500, source_node_nchildren(source_root(s)));
		CHECK_EQ_STR("F01499.TXT",
			     source_node_name(
				     source_node_child(source_root(s), 1499)));
		source_close(s);
	}
	lim.max_nodes = 0;
	lim.max_depth = 100;
	if (open_ok("deep-tree.iso", &lim, &s)) {
		const struct source_node *n = source_root(s);
		unsigned depth = 0;

		while (source_node_nchildren(n)) {
			n = source_node_child(n, 0);
			depth++;
		}
		CHECK_EQ_UINT(70, depth);
		source_close(s);
	}
	if (open_ok("rr-special.iso", NULL, &s)) {
		CHECK_EQ_INT(SOURCE_NODE_OTHER,
			     source_node_type(find1(s, "link")));
		CHECK_EQ_INT(SOURCE_NODE_OTHER,
			     source_node_type(find1(s, "dev")));
		CHECK_EQ_INT(SOURCE_NODE_OTHER,
			     source_node_type(find1(s, "fifo")));
		check_bytes(s, find1(s, "file"), "abc", 3);
		CHECK_EQ_INT(SOURCE_NODE_OTHER,
			     source_node_type(find1(s, "odd")));
		CHECK_EQ_UINT(5, source_node_nchildren(source_root(s)));
		source_close(s);
	}
	if (open_ok("nm-continued.iso", NULL, &s)) {
		check_bytes(s, find1(s, "part-one-part-two-part-three.txt"),
			    "data", 4);
		source_close(s);
	}
	if (open_ok("multi-extent.iso", NULL, &s)) {
		const struct source_node *n = find1(s, "big.bin");
		const struct source_extent *ext;
		size_t count = 0;
		char want[4196];

		memset(want, 'A', 2048);
		memset(want + 2048, 'B', 2048);
		memset(want + 4096, 'C', 100);
		check_bytes(s, n, want, sizeof(want));
		CHECK(n && source_node_extents(n, &ext, &count) == 0);
		CHECK_EQ_UINT(3, count);
		if (count == 3) {
			CHECK_EQ_UINT(30 * 2048, ext[0].offset);
			CHECK_EQ_UINT(32 * 2048, ext[1].offset);
			CHECK_EQ_UINT(34 * 2048, ext[2].offset);
			CHECK_EQ_UINT(100, ext[2].length);
		}
		check_bytes(s, find1(s, "small.txt"), "ok", 2);
		cross_check_libarchive(s, "tests/hostile/isofs/"
					  "multi-extent.iso");
		source_close(s);
	}
	/* One content under several names: allowed, read once per name. */
	if (open_ok("shared-extent.iso", NULL, &s)) {
		char want[2058];

		check_bytes(s, find1(s, "one.txt"), "same", 4);
		check_bytes(s, find1(s, "two.txt"), "same", 4);
		memset(want, 'B', 2048);
		memset(want + 2048, 'A', 10);
		check_bytes(s, find1(s, "big1.bin"), want, sizeof(want));
		check_bytes(s, find1(s, "big2.bin"), want, sizeof(want));
		source_close(s);
	}
	/* A folder listed under two names is a DAG, not a loop. */
	if (open_ok("directory-dag.iso", NULL, &s)) {
		check_bytes(s, lookup(s, "A/F.TXT"), "dag", 3);
		check_bytes(s, lookup(s, "B/F.TXT"), "dag", 3);
		CHECK_EQ_UINT(2, source_node_nchildren(source_root(s)));
		source_close(s);
	}
	if (open_ok("multi-extent-backwards.iso", NULL, &s)) {
		char want[2058];

		memset(want, 'B', 2048);
		memset(want + 2048, 'A', 10);
		check_bytes(s, find1(s, "BIG.BIN"), want, sizeof(want));
		source_close(s);
	}
	if (open_ok("joliet-names.iso", NULL, &s)) {
		CHECK_EQ_STR("joliet", source_names(s));
		CHECK_EQ_UINT(2, source_skipped(s));
		CHECK_EQ_UINT(3, source_node_nchildren(source_root(s)));
		CHECK(find1(s, "snowman-\xe2\x98\x83.txt") != NULL);
		CHECK(find1(s, "clef-\xf0\x9d\x84\x9e") != NULL);
		CHECK(find1(s, "ok") != NULL);
		source_close(s);
	}
	if (open_ok("dates.iso", NULL, &s)) {
		CHECK(source_volume_time(s, &t));
		CHECK_EQ_INT(1584961200, t);
		CHECK_EQ_STR("HOSTILE", source_volume_label(s));
		source_close(s);
	}
	if (open_ok("dates-creation-only.iso", NULL, &s)) {
		CHECK(source_volume_time(s, &t));
		CHECK_EQ_INT(946702799, t);
		source_close(s);
	}
	if (open_ok("relocated.iso", NULL, &s)) {
		CHECK_EQ_UINT(1, source_node_nchildren(source_root(s)));
		CHECK(find1(s, "rr_moved") == NULL);
		check_bytes(s, source_node_find(find1(s, "a"), "deep.txt"),
			    "deep", 4);
		source_close(s);
	}
	if (open_ok("extended-attributes.iso", NULL, &s)) {
		/*
		 * ECMA-119 6.4.4.1: data starts after the XAR blocks, as in
		 * Linux (fs/isofs/inode.c adds ext_attr_length to the
		 * extent).  libarchive 3.6 ignores the XAR, so no
		 * cross-check here.
		 */
		check_bytes(s, find1(s, "x.txt"), "xattr", 5);
		source_close(s);
	}
	if (open_ok("susp-malformed.iso", NULL, &s)) {
		check_bytes(s, find1(s, "BROKEN.TXT"), "!", 1);
		source_close(s);
	}
}

/* A and B (an image and a directory source) hold the same tree. */
static void compare_trees(const struct source *sa, const struct source_node *a,
			  const struct source *sb, const struct source_node *b)
{
	char path[512];

	source_node_path(a, path, sizeof(path));
	if (source_node_nchildren(a) != source_node_nchildren(b)) {
		FAIL_AT("\"%s\": %zu entries, expected %zu", path,
			source_node_nchildren(a), source_node_nchildren(b));
		return;
	}
	for (size_t i = 0; i < source_node_nchildren(a); i++) {
		const struct source_node *ca = source_node_child(a, i);
		const struct source_node *cb = source_node_child(b, i);
		uint8_t *da, *db;

		CHECK_EQ_STR(source_node_name(cb), source_node_name(ca));
		CHECK_EQ_INT(source_node_type(cb), source_node_type(ca));
		CHECK_EQ_UINT(source_node_size(cb), source_node_size(ca));
		if (source_node_type(ca) != source_node_type(cb))
			continue;
		if (source_node_type(ca) == SOURCE_NODE_DIR)
			compare_trees(sa, ca, sb, cb);
		if (source_node_type(ca) != SOURCE_NODE_FILE ||
		    source_node_size(ca) != source_node_size(cb))
			continue;
		da = read_extents(sa, ca);
		db = read_opened(sb, cb);
		CHECK(da && db);
		if (da && db)
			CHECK_EQ_MEM(db, da, source_node_size(ca));
		free(da);
		free(db);
	}
}

/*
 * The shared fixture (tests/fixtures/mkvirtiowin.py): each Rock Ridge
 * image holds exactly its tree/, as the directory source reads it; every
 * variant agrees with libarchive and carries fixture.json's label and
 * SOURCE_DATE_EPOCH.
 */
static void test_fixture(void)
{
	static const char *const variants_rr[] = {
		"virtio-win-rr.iso",
		"virtio-win-rr-joliet.iso",
		"virtio-win-xorriso.iso",
	};
	static const char *const variants_other[] = {
		"virtio-win-joliet.iso",
		"virtio-win-plain.iso",
	};
	const char *build = getenv("AEROFS_BUILD_ROOT");
	struct aero_error err = { 0 };
	struct source *dir, *img;
	char base[256], p[512], label[64] = "", *json;
	long long epoch = -1;
	const char *k;
	size_t n = 0, cap = 65536, got;
	FILE *f;

	snprintf(base, sizeof(base), "%s/tests/fixtures/tiny",
		 build ? build : ".");
	snprintf(p, sizeof(p), "%s/fixture.json", base);
	f = fopen(p, "r");
	if (!f) {
		printf("# skip test_fixture: no %s\n", p);
		return;
	}
	json = malloc(cap);
	assert(json);
	while ((got = fread(json + n, 1, cap - n - 1, f)) > 0) {
		n += got;
		if (n + 1 == cap) {
			cap *= 2;
			json = realloc(json, cap);
			assert(json);
		}
	}
	json[n] = '\0';
	fclose(f);
	/* Top-level keys of the indented JSON: one space in. */
	if ((k = strstr(json, "\n \"epoch\": ")))
		epoch = atoll(k + 11);
	if ((k = strstr(json, "\n \"label\": \"")))
		sscanf(k + 12, "%63[^\"]", label);
	free(json);
	CHECK(epoch > 0);
	CHECK(label[0] != '\0');

	snprintf(p, sizeof(p), "%s/tree", base);
	CHECK_EQ_INT(0, source_open(p, NULL, &dir, &err));
	if (!dir)
		return;
	for (size_t i = 0; i < 5; i++) {
		const char *name = i < 3 ? variants_rr[i] :
					   variants_other[i - 3];
		int64_t t = 0;

		snprintf(p, sizeof(p), "%s/%s", base, name);
		harness_case = name;
		if (source_open(p, NULL, &img, &err) < 0) {
			FAIL_AT("%s", err.msg);
			continue;
		}
		CHECK_EQ_STR(i < 3  ? "rockridge" :
			     i == 3 ? "joliet" :
				      "iso9660",
			     source_names(img));
		CHECK_EQ_STR(label, source_volume_label(img));
		CHECK(source_volume_time(img, &t));
		CHECK_EQ_INT(epoch, t);
		CHECK_EQ_UINT(0, source_skipped(img));
		if (i < 3)
			compare_trees(img, source_root(img), dir,
				      source_root(dir));
		cross_check_libarchive(img, p);
		source_close(img);
	}
	source_close(dir);
}

int main(void)
{
	const char *root = getenv("AEROFS_SOURCE_ROOT");

	/* cross_check_libarchive() names hostile images relative to it. */
	if (root && chdir(root) < 0)
		return 1;
	log_set_sink(count_warnings);
	make_tree();
	RUN(test_date17);
	RUN(test_joliet_name);
	RUN(test_directory);
	RUN(test_directory_hostile);
	RUN(test_directory_many_files);
	RUN(test_not_iso);
	RUN(test_images);
	RUN(test_hostile);
	RUN(test_hostile_contents);
	RUN(test_fixture);
	remove_tmp();
	return harness_exit();
}
