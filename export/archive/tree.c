/*
 * tree.c: writes a pack as a directory tree (see tree.h).  Recursion
 * follows the pack, whose depth is bounded by PACK_DEPTH_MAX; every path
 * is opened relative to its parent's descriptor with O_NOFOLLOW and
 * O_EXCL, so nothing outside the target directory can be touched.
 */
#include "export/archive/tree.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/util/io.h"

#define CHUNK (64 * 1024)

struct tree_ctx {
	const struct pack *pack;
	struct timespec times[2];
	unsigned char *buf;
	tree_progress_fn progress;
	void *pctx;
	struct tree_result res;
	struct aero_error *err;
};

static int sys_fail(struct tree_ctx *t, const char *what,
		    const struct pack_node *n)
{
	int e = errno ? errno : EIO;

	return aero_error_set(t->err, -e, "%s %s: %s", what,
			      *pack_node_path(n) ? pack_node_path(n) : ".",
			      strerror(e));
}

static int write_file(struct tree_ctx *t, int dirfd, const struct pack_node *n)
{
	uint64_t size = pack_node_size(n), off = 0;
	int fd, rc = 0;

	fd = openat(dirfd, pack_node_name(n),
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return sys_fail(t, "create", n);
	while (off < size) {
		ssize_t got = pack_node_read(t->pack, n, t->buf, CHUNK, off);

		if (got <= 0) {
			rc = aero_error_set(t->err, got < 0 ? (int)got : -EIO,
					    "%s: cannot read the source: %s",
					    pack_node_path(n),
					    strerror(got < 0 ? (int)-got :
							       EIO));
			goto out;
		}
		if ((rc = io_write_full(fd, t->buf, (size_t)got)) < 0) {
			errno = -rc;
			rc = sys_fail(t, "write", n);
			goto out;
		}
		off += (uint64_t)got;
		t->res.bytes += (uint64_t)got;
		if (t->progress && t->progress(t->pctx, t->res.bytes)) {
			rc = aero_error_set(t->err, -ECANCELED, "cancelled");
			goto out;
		}
	}
	/* explicit, so the umask does not decide */
	if (fchmod(fd, 0644) < 0 || futimens(fd, t->times) < 0) {
		rc = sys_fail(t, "stamp", n);
		goto out;
	}
	t->res.files++;
out:
	if (close(fd) < 0 && rc == 0)
		rc = sys_fail(t, "close", n);
	return rc;
}

/* Fills DIRFD with the children of DIR, then stamps DIRFD itself. */
static int write_dir(struct tree_ctx *t, int dirfd, const struct pack_node *dir)
{
	int rc;

	for (size_t i = 0; i < pack_node_nchildren(dir); i++) {
		const struct pack_node *c = pack_node_child(dir, i);
		int fd;

		if (!pack_node_is_dir(c)) {
			if ((rc = write_file(t, dirfd, c)) < 0)
				return rc;
			continue;
		}
		if (mkdirat(dirfd, pack_node_name(c), 0700) < 0)
			return sys_fail(t, "mkdir", c);
		fd = openat(dirfd, pack_node_name(c),
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return sys_fail(t, "open", c);
		rc = write_dir(t, fd, c);
		close(fd);
		if (rc < 0)
			return rc;
		t->res.dirs++;
	}
	/* last: creating the children changed the mtime */
	if (fchmod(dirfd, 0755) < 0 || futimens(dirfd, t->times) < 0)
		return sys_fail(t, "stamp", dir);
	return 0;
}

int tree_write(const struct pack *pack, int dirfd, tree_progress_fn progress,
	       void *ctx, struct tree_result *result, struct aero_error *err)
{
	struct tree_ctx t = {
		.pack = pack,
		.progress = progress,
		.pctx = ctx,
		.err = err,
	};
	int rc;

	t.times[0].tv_sec = t.times[1].tv_sec = (time_t)pack_epoch(pack);
	t.buf = malloc(CHUNK);
	if (!t.buf)
		return aero_error_set(err, -ENOMEM, "out of memory");
	rc = write_dir(&t, dirfd, pack_root(pack));
	free(t.buf);
	if (rc == 0 && result)
		*result = t.res;
	return rc;
}
