/*
 * dirsource.c: an extracted virtio-win tree as a source.
 *
 * dirsource_load() walks the directory below the root descriptor with
 * openat()/fstatat(AT_SYMLINK_NOFOLLOW) and builds the same node tree the
 * image reader builds: directories, regular files with their size, and
 * everything else (symlinks, devices, FIFOs, sockets) as SOURCE_NODE_OTHER.
 * Symlinks are never followed, neither while walking nor when a file is
 * opened later: source_node_open() re-opens each path component relative
 * to the root descriptor with O_NOFOLLOW, so a tree changed behind our back
 * cannot lead outside the root.  A directory that is its own ancestor (a
 * bind mount loop) is an error.  File contents are not read here.
 *
 * A pack keeps every file of the tree it takes open (pack.h), so loading
 * raises the soft open-file limit to the hard one when the tree has more
 * files than the soft limit allows (reserve_descriptors()), and
 * source_node_open() does so too when it runs out (openat_more()).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/source/source.h"
#include "catalog/source/source_i.h"
#include "catalog/util/fdlimit.h"
#include "catalog/util/log.h"

/* The directories on the path being walked, for loop detection. */
struct dir_id {
	dev_t dev;
	ino_t ino;
	const struct dir_id *up;
};

static int path_error(struct aero_error *err, int code,
		      const struct source_node *n, const char *what)
{
	char path[1024];

	source_node_path(n, path, sizeof(path));
	return aero_error_set(err, code, "%s \"%s\": %s", what,
			      *path ? path : ".", strerror(-code));
}

static int walk(struct source *s, struct source_node *dir, int fd,
		const struct dir_id *id, struct aero_error *err)
{
	struct dirent *e;
	DIR *d;
	int rc = 0;
	size_t i;

	d = fdopendir(fd);
	if (!d) {
		rc = -errno;
		close(fd);
		return path_error(err, rc, dir, "cannot read directory");
	}
	for (;;) {
		struct source_node *n;
		enum source_node_type type;
		struct stat st;
		const char *why;
		size_t len;

		errno = 0;
		e = readdir(d);
		if (!e) {
			if (errno)
				rc = path_error(err, -errno, dir,
						"cannot read directory");
			break;
		}
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		len = strlen(e->d_name);
		why = source_name_invalid(e->d_name, len);
		if (why) {
			source_skip(s, dir, e->d_name, len, why);
			continue;
		}
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) <
		    0) {
			char path[1024];

			rc = -errno;
			source_node_path(dir, path, sizeof(path));
			aero_error_set(err, rc, "cannot stat \"%s%s%s\": %s",
				       path, *path ? "/" : "", e->d_name,
				       strerror(-rc));
			break;
		}
		type = S_ISDIR(st.st_mode) ? SOURCE_NODE_DIR :
		       S_ISREG(st.st_mode) ? SOURCE_NODE_FILE :
					     SOURCE_NODE_OTHER;
		n = source_node_alloc(s, dir, e->d_name, len, type, err);
		if (!n) {
			rc = err ? err->code : -E2BIG;
			break;
		}
		/* No extents: source_node_extents() refuses directory files. */
		n->ext = NULL;
		if (type == SOURCE_NODE_FILE)
			n->size = (uint64_t)st.st_size;
		rc = source_dir_append(dir, n, err);
		if (rc < 0)
			break;
	}
	if (rc < 0) {
		closedir(d);
		return rc;
	}
	source_dir_finish(s, dir);
	for (i = 0; i < dir->nchild && rc == 0; i++) {
		struct source_node *c = dir->child[i];
		struct dir_id cid;
		const struct dir_id *p;
		struct stat st;
		int cfd;

		if (c->type != SOURCE_NODE_DIR)
			continue;
		cfd = openat(dirfd(d), c->name,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cfd < 0) {
			rc = path_error(err, -errno, c,
					"cannot open directory");
			break;
		}
		if (fstat(cfd, &st) < 0) {
			rc = path_error(err, -errno, c, "cannot stat");
			close(cfd);
			break;
		}
		for (p = id; p; p = p->up)
			if (p->dev == st.st_dev && p->ino == st.st_ino)
				break;
		if (p) {
			close(cfd);
			rc = path_error(err, -ELOOP, c,
					"directory is its own ancestor");
			break;
		}
		cid.dev = st.st_dev;
		cid.ino = st.st_ino;
		cid.up = id;
		rc = walk(s, c, cfd, &cid, err);
	}
	closedir(d);
	return rc;
}

/*
 * A pack of this tree keeps a descriptor per file, and a FUSE daemon
 * builds packs while other threads serve: make room now rather than at
 * the first EMFILE, and say early when even the hard limit is too low
 * (only the files a pack takes need one, so that is a warning).
 */
static void reserve_descriptors(const struct source *s)
{
	const struct source_node *n;
	unsigned long soft, hard;
	size_t files = 0;

	for (n = s->all; n; n = n->all_next)
		files += n->type == SOURCE_NODE_FILE;
	/* 64: what the process holds besides (stdio, FUSE, the image...) */
	if (fdlimit_reserve(files, 64) == -EMFILE) {
		fdlimit_get(&soft, &hard);
		log_msg(LOG_LEVEL_WARNING,
			"the tree has %zu files and the open-file limit is "
			"%lu (hard limit %lu): a pack of most of them will "
			"fail with \"Too many open files\"; raise the limit "
			"(ulimit -n, systemd LimitNOFILE=)",
			files, soft, hard);
	}
}

int dirsource_load(struct source *s, struct aero_error *err)
{
	struct dir_id id;
	struct stat st;
	int fd, rc;

	s->root = source_node_alloc(s, NULL, "", 0, SOURCE_NODE_DIR, err);
	if (!s->root)
		return err ? err->code : -ENOMEM;
	s->root->ext = NULL;
	if (fstat(s->dirfd, &st) < 0)
		return aero_error_set(err, -errno, "cannot stat: %s",
				      strerror(errno));
	id.dev = st.st_dev;
	id.ino = st.st_ino;
	id.up = NULL;
	/* fdopendir() takes the descriptor: give it a copy of the root's. */
	fd = fcntl(s->dirfd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return aero_error_set(err, -errno, "cannot dup: %s",
				      strerror(errno));
	rc = walk(s, s->root, fd, &id, err);
	if (rc == 0)
		reserve_descriptors(s);
	return rc;
}

/*
 * openat() that, out of descriptors (EMFILE), raises the soft open-file
 * limit to the hard one once and tries again: a pack built from this
 * source keeps one descriptor per file (pack.h), and systemd's default
 * soft limit of 1,024 is below a full virtio-win tree (fdlimit.h).
 */
static int openat_more(int dir, const char *name, int flags)
{
	int fd = openat(dir, name, flags);

	if (fd < 0 && errno == EMFILE && fdlimit_raise() > 0)
		fd = openat(dir, name, flags);
	return fd;
}

int source_node_open(const struct source *s, const struct source_node *n)
{
	const struct source_node **comp;
	const struct source_node *p;
	struct stat st;
	int cur, fd, rc;
	unsigned i;

	if (s->kind != SOURCE_KIND_DIR || n->type != SOURCE_NODE_FILE ||
	    n->depth == 0)
		return -EINVAL;
	comp = malloc(n->depth * sizeof(*comp));
	if (!comp)
		return -ENOMEM;
	for (p = n, i = n->depth; p->parent; p = p->parent)
		comp[--i] = p;
	/* Every component with O_NOFOLLOW: no symlink anywhere on the path. */
	cur = s->dirfd;
	for (i = 0; i + 1 < n->depth; i++) {
		fd = openat_more(cur, comp[i]->name,
				 O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		rc = -errno;
		if (cur != s->dirfd)
			close(cur);
		if (fd < 0) {
			free(comp);
			return rc;
		}
		cur = fd;
	}
	/* O_NONBLOCK: a FIFO put in the file's place must not hang us. */
	fd = openat_more(cur, n->name,
			 O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
				 O_NONBLOCK);
	rc = -errno;
	if (cur != s->dirfd)
		close(cur);
	free(comp);
	if (fd < 0)
		return rc;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if (fcntl(fd, F_SETFL, 0) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}
