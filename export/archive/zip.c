/*
 * zip.c: writes a pack as a ZIP archive through libarchive (see zip.h).
 *
 * What libarchive 3.6 writes per entry, checked against its source and by
 * test_zip: a local header (version needed 20, flag 0x0008 "sizes in a
 * data descriptor" for files, plus 0x0800 for UTF-8 names), the "UT" extra
 * field (0x5455) with the modification time only (we never set atime or
 * ctime), the "ux" field (0x7875) with 4-byte uid and gid, then the data and
 * a data descriptor; the central directory repeats UT and ux, "made by" is
 * 3 (Unix) and the external attributes are the mode << 16.  Nothing in it
 * comes from the host except the DOS time conversion (localtime), which we
 * pin by requiring UTC, and the name conversion, which we pin with
 * hdrcharset=UTF-8 and UTF-8 pathnames.
 */
#include "export/archive/zip.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "catalog/util/io.h"

#define DOS_EPOCH 315532800 /* 1980-01-01T00:00:00Z */
#define UT_MAX 4294967294LL /* even: DOS keeps 2-second steps */
#define CHUNK (64 * 1024)

struct zip_writer {
	int fd;
	int err;      /* errno of the first write failure */
	bool discard; /* after a failure: swallow the rest */
	uint64_t bytes;
	EVP_MD_CTX *md;
};

struct zip_item {
	const struct pack_node *node;
	char *path; /* ZIP path: "dir/" for directories */
};

int64_t zip_clamp_time(int64_t epoch)
{
	if (epoch < DOS_EPOCH)
		return DOS_EPOCH;
	if (epoch > UT_MAX)
		return UT_MAX;
	/* DOS times have 2-second steps: keep UT equal to them */
	return epoch & ~(int64_t)1;
}

static la_ssize_t write_cb(struct archive *a, void *ctx, const void *buf,
			   size_t len)
{
	struct zip_writer *w = ctx;
	int rc;

	(void)a;
	/*
	 * After a failure, pretend success and drop the bytes, so that
	 * libarchive can still finish the entry and free its deflate state
	 * (it leaks it when an entry is abandoned); zip_write() reports
	 * w->err.
	 */
	if (w->discard)
		return (la_ssize_t)len;
	if ((rc = io_write_full(w->fd, buf, len)) < 0) {
		w->err = -rc;
		w->discard = true;
		return (la_ssize_t)len;
	}
	EVP_DigestUpdate(w->md, buf, len);
	w->bytes += len;
	return (la_ssize_t)len;
}

static int cmp_items(const void *a, const void *b)
{
	const struct zip_item *x = a, *y = b;

	return strcmp(x->path, y->path);
}

/* Lists every node but the root with its ZIP path, in path byte order. */
static int collect(const struct pack *pack, struct zip_item **out,
		   size_t *count)
{
	size_t n = pack_node_count(pack) - 1;
	struct zip_item *items = calloc(n ? n : 1, sizeof(*items));

	if (!items)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct pack_node *node = pack_node_by_ino(pack, i + 2);
		const char *path = pack_node_path(node);
		size_t len = strlen(path);

		items[i].node = node;
		items[i].path = malloc(len + 2);
		if (!items[i].path) {
			*out = items;
			*count = i;
			return -ENOMEM;
		}
		memcpy(items[i].path, path, len + 1);
		if (pack_node_is_dir(node))
			memcpy(items[i].path + len, "/", 2);
	}
	qsort(items, n, sizeof(*items), cmp_items);
	*out = items;
	*count = n;
	return 0;
}

/* libarchive computes the DOS time in local time: insist on UTC. */
static int check_utc(time_t t, struct aero_error *err)
{
	struct tm lt, ut;

	if (!localtime_r(&t, &lt) || !gmtime_r(&t, &ut))
		return aero_error_set(err, -EINVAL, "cannot convert time %lld",
				      (long long)t);
	/* every field of a DOS time, seconds included (TZ=XXX0:00:02) */
	if (lt.tm_sec != ut.tm_sec || lt.tm_min != ut.tm_min ||
	    lt.tm_hour != ut.tm_hour || lt.tm_mday != ut.tm_mday ||
	    lt.tm_mon != ut.tm_mon || lt.tm_year != ut.tm_year)
		return aero_error_set(err, -EINVAL,
				      "zip: the time zone is not UTC, so DOS "
				      "times would depend on it; run with "
				      "TZ=UTC");
	return 0;
}

static int fail_archive(struct archive *a, const struct zip_writer *w,
			const char *path, struct aero_error *err)
{
	const char *msg = archive_error_string(a);

	if (w->err)
		return aero_error_set(err, -w->err, "zip: write: %s",
				      strerror(w->err));
	return aero_error_set(err, -EIO, "zip: %s: %s", path,
			      msg ? msg : "libarchive failed");
}

static int write_content(struct archive *a, const struct zip_writer *w,
			 const struct pack *pack, const struct zip_item *it,
			 unsigned char *buf, uint64_t *done,
			 zip_progress_fn progress, void *ctx,
			 struct aero_error *err)
{
	uint64_t size = pack_node_size(it->node), off = 0;

	while (off < size) {
		ssize_t n = pack_node_read(pack, it->node, buf, CHUNK, off);

		if (n <= 0)
			return aero_error_set(err, n < 0 ? (int)n : -EIO,
					      "%s: cannot read the source: %s",
					      it->path,
					      strerror(n < 0 ? (int)-n : EIO));
		if (archive_write_data(a, buf, (size_t)n) != n || w->err)
			return fail_archive(a, w, it->path, err);
		off += (uint64_t)n;
		*done += (uint64_t)n;
		if (progress && progress(ctx, *done))
			return aero_error_set(err, -ECANCELED,
					      "zip: cancelled");
	}
	return 0;
}

int zip_write(const struct pack *pack, int fd, zip_progress_fn progress,
	      void *ctx, struct zip_result *result, struct aero_error *err)
{
	struct zip_writer w = { .fd = fd };
	struct zip_item *items = NULL;
	struct archive *a = NULL;
	struct archive_entry *e = NULL;
	unsigned char *buf = NULL;
	size_t n = 0;
	uint64_t done = 0, files = 0, dirs = 0;
	time_t mtime = (time_t)zip_clamp_time(pack_epoch(pack));
	int rc;

	if ((rc = check_utc(mtime, err)) < 0)
		return rc;
	w.md = EVP_MD_CTX_new();
	buf = malloc(CHUNK);
	a = archive_write_new();
	e = archive_entry_new();
	if (!w.md || !buf || !a || !e ||
	    EVP_DigestInit_ex(w.md, EVP_sha256(), NULL) != 1 ||
	    (rc = collect(pack, &items, &n)) < 0) {
		rc = aero_error_set(err, -ENOMEM, "zip: out of memory");
		goto out;
	}
	if (archive_write_set_format_zip(a) != ARCHIVE_OK ||
	    archive_write_zip_set_compression_deflate(a) != ARCHIVE_OK ||
	    archive_write_set_options(a, "zip:hdrcharset=UTF-8") !=
		    ARCHIVE_OK ||
	    /* no padding of the last block: the archive ends where it ends */
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open(a, &w, NULL, write_cb, NULL) != ARCHIVE_OK) {
		rc = fail_archive(a, &w, "open", err);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct zip_item *it = &items[i];
		bool dir = pack_node_is_dir(it->node);

		archive_entry_clear(e);
		archive_entry_set_pathname_utf8(e, pack_node_path(it->node));
		archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
		archive_entry_set_perm(e, dir ? 0755 : 0644);
		archive_entry_set_size(e, dir ? 0 :
						(la_int64_t)pack_node_size(
							it->node));
		archive_entry_set_mtime(e, mtime, 0);
		archive_entry_set_uid(e, 0);
		archive_entry_set_gid(e, 0);
		if (archive_write_header(a, e) != ARCHIVE_OK || w.err) {
			rc = fail_archive(a, &w, it->path, err);
			goto out;
		}
		if (dir) {
			dirs++;
			continue;
		}
		files++;
		if ((rc = write_content(a, &w, pack, it, buf, &done, progress,
					ctx, err)) < 0)
			goto out;
		if (archive_write_finish_entry(a) != ARCHIVE_OK || w.err) {
			rc = fail_archive(a, &w, it->path, err);
			goto out;
		}
	}
	if (archive_write_close(a) != ARCHIVE_OK || w.err) {
		rc = fail_archive(a, &w, "central directory", err);
		goto out;
	}
	if (result) {
		result->bytes = w.bytes;
		result->files = files;
		result->dirs = dirs;
		EVP_DigestFinal_ex(w.md, result->sha256, NULL);
	}
	rc = 0;
out:
	if (rc < 0 && a) {
		/* end the entry (and its deflate stream) without output */
		w.discard = true;
		archive_write_finish_entry(a);
		archive_write_close(a);
	}
	archive_entry_free(e);
	if (a)
		archive_write_free(a);
	for (size_t i = 0; items && i < n; i++)
		free(items[i].path);
	free(items);
	free(buf);
	EVP_MD_CTX_free(w.md);
	return rc;
}
