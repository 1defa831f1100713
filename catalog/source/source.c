/*
 * source.c: opens a source and owns its node tree.
 *
 * source_open() decides what PATH is (directory, or a regular file or block
 * device holding an image) and hands it to dirsource_load() or isofs_load(),
 * which build the tree with the helpers here: node allocation counted
 * against the limits, child lists sorted bytewise with duplicate names
 * dropped deterministically, and the name rules both loaders share.  The
 * accessors are read-only, so an opened source may be shared by threads.
 * Nothing here reads file contents.
 */
#include "catalog/source/source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/util/log.h"
#include "catalog/source/source_i.h"
#include "catalog/util/utf.h"

/* An upper bound on extents per file: 65536 x 4 GiB is far beyond a DVD. */
#define SOURCE_MAX_EXTENTS 65536

struct source_node *source_node_alloc(struct source *s,
				      struct source_node *parent,
				      const char *name, size_t len,
				      enum source_node_type type,
				      struct aero_error *err)
{
	struct source_node *n;
	unsigned depth = parent ? parent->depth + 1 : 0;

	if (s->nnodes >= s->max_nodes) {
		aero_error_set(err, -E2BIG, "more than %zu entries (limit)",
			       s->max_nodes);
		return NULL;
	}
	if (depth > s->max_depth) {
		aero_error_set(err, -E2BIG,
			       "entries nested deeper than %u levels (limit)",
			       s->max_depth);
		return NULL;
	}
	n = calloc(1, sizeof(*n) + len + 1);
	if (!n) {
		aero_error_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	memcpy(n->name, name, len);
	n->name[len] = '\0';
	n->parent = parent;
	n->type = type;
	n->depth = depth;
	n->ext = &n->ext1;
	n->all_next = s->all;
	s->all = n;
	s->nnodes++;
	return n;
}

int source_dir_append(struct source_node *dir, struct source_node *child,
		      struct aero_error *err)
{
	if (dir->nchild == dir->child_cap) {
		size_t cap = dir->child_cap ? dir->child_cap * 2 : 8;
		struct source_node **c;

		c = reallocarray(dir->child, cap, sizeof(*c));
		if (!c)
			return aero_error_set(err, -ENOMEM, "out of memory");
		dir->child = c;
		dir->child_cap = cap;
	}
	dir->child[dir->nchild++] = child;
	return 0;
}

/*
 * Merge sort: stable, so that among equal names the first in directory
 * order stays first and wins.  TMP holds N pointers.
 */
static void sort_nodes(struct source_node **v, struct source_node **tmp,
		       size_t n)
{
	size_t mid = n / 2, i = 0, j = mid, k = 0;

	if (n < 2)
		return;
	sort_nodes(v, tmp, mid);
	sort_nodes(v + mid, tmp, n - mid);
	while (i < mid && j < n)
		tmp[k++] = strcmp(v[j]->name, v[i]->name) < 0 ? v[j++] : v[i++];
	while (i < mid)
		tmp[k++] = v[i++];
	while (j < n)
		tmp[k++] = v[j++];
	memcpy(v, tmp, n * sizeof(*v));
}

void source_dir_finish(struct source *s, struct source_node *dir)
{
	struct source_node **tmp;
	size_t i, out;

	if (dir->nchild < 2)
		return;
	tmp = malloc(dir->nchild * sizeof(*tmp));
	if (tmp) {
		sort_nodes(dir->child, tmp, dir->nchild);
		free(tmp);
	} else {
		/* No room for the merge buffer: insertion sort, also stable. */
		for (i = 1; i < dir->nchild; i++) {
			struct source_node *x = dir->child[i];
			size_t j = i;

			for (; j > 0 &&
			       strcmp(dir->child[j - 1]->name, x->name) > 0;
			     j--)
				dir->child[j] = dir->child[j - 1];
			dir->child[j] = x;
		}
	}
	for (i = 1, out = 1; i < dir->nchild; i++) {
		struct source_node *c = dir->child[i];

		if (strcmp(c->name, dir->child[out - 1]->name) == 0) {
			/* The node stays on the allocation list until close. */
			source_skip(s, dir, c->name, strlen(c->name),
				    "duplicate name, first entry kept");
			continue;
		}
		dir->child[out++] = c;
	}
	dir->nchild = out;
}

int source_node_add_extent(struct source_node *n, uint64_t off, uint64_t len,
			   struct aero_error *err)
{
	if (n->next == 0 && n->ext_cap == 0) {
		n->ext1.offset = off;
		n->ext1.length = len;
		n->next = 1;
		return 0;
	}
	if (n->next >= SOURCE_MAX_EXTENTS)
		return aero_error_set(err, -E2BIG,
				      "more than %d extents in one file",
				      SOURCE_MAX_EXTENTS);
	if (n->ext_cap == 0 || n->next == n->ext_cap) {
		size_t cap = n->ext_cap ? n->ext_cap * 2 : 4;
		struct source_extent *e;

		e = reallocarray(n->ext_cap ? n->ext : NULL, cap, sizeof(*e));
		if (!e)
			return aero_error_set(err, -ENOMEM, "out of memory");
		if (!n->ext_cap)
			e[0] = n->ext1;
		n->ext = e;
		n->ext_cap = cap;
	}
	n->ext[n->next].offset = off;
	n->ext[n->next].length = len;
	n->next++;
	return 0;
}

const char *source_name_invalid(const char *name, size_t len)
{
	const unsigned char *p = (const unsigned char *)name;
	uint32_t cp;
	size_t i, n;

	if (len == 0)
		return "empty name";
	if (len > SOURCE_NAME_MAX)
		return "name longer than 255 bytes";
	if ((len == 1 && p[0] == '.') ||
	    (len == 2 && p[0] == '.' && p[1] == '.'))
		return "name is \".\" or \"..\"";
	for (i = 0; i < len; i += n) {
		if (p[i] == '/' || p[i] == '\\')
			return "name contains a path separator";
		if (p[i] < 0x20 || p[i] == 0x7f)
			return "name contains a control character";
		n = utf8_get(p + i, len - i, &cp);
		if (n == 0)
			return "name is not valid UTF-8";
	}
	return NULL;
}

void source_skip(struct source *s, const struct source_node *dir,
		 const char *name, size_t len, const char *why)
{
	char path[512], shown[96];
	size_t i, o = 0;

	/* Show the name with anything unprintable escaped. */
	for (i = 0; i < len && o + 5 < sizeof(shown); i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x20 || c >= 0x7f || c == '\\')
			o += (size_t)snprintf(shown + o, sizeof(shown) - o,
					      "\\x%02x", c);
		else
			shown[o++] = (char)c;
	}
	shown[o] = '\0';
	source_node_path(dir, path, sizeof(path));
	log_msg(LOG_LEVEL_WARNING, "skipping \"%s%s%s\": %s", path,
		*path ? "/" : "", shown, why);
	s->nskipped++;
}

int source_open(const char *path, const struct source_limits *limits,
		struct source **out, struct aero_error *err)
{
	struct aero_error local;
	struct source *s;
	struct stat st;
	int fd, rc;

	/* The loaders always have somewhere to write. */
	if (!err)
		err = &local;
	aero_error_clear(err);
	*out = NULL;
	/*
	 * Every message starts with "PATH: ", once: callers print it as is.
	 * O_NONBLOCK: opening a FIFO must not hang before we can refuse it.
	 */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return aero_error_set(err, -errno, "%s: cannot open: %s", path,
				      strerror(errno));
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		close(fd);
		return aero_error_set(err, rc, "%s: cannot stat: %s", path,
				      strerror(-rc));
	}
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode) &&
	    !S_ISBLK(st.st_mode)) {
		close(fd);
		return aero_error_set(err, -EINVAL,
				      "%s: not a directory, regular file or "
				      "block device but %s",
				      path,
				      S_ISFIFO(st.st_mode) ?
					      "a FIFO" :
				      S_ISSOCK(st.st_mode) ?
					      "a socket" :
				      S_ISCHR(st.st_mode) ?
					      "a character device" :
					      "another kind of "
					      "file");
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		return aero_error_set(err, -ENOMEM, "out of memory");
	}
	s->fd = -1;
	s->dirfd = -1;
	s->max_nodes = limits && limits->max_nodes ? limits->max_nodes :
						     SOURCE_DEFAULT_MAX_NODES;
	s->max_depth = limits && limits->max_depth ? limits->max_depth :
						     SOURCE_DEFAULT_MAX_DEPTH;
	if (S_ISDIR(st.st_mode)) {
		s->kind = SOURCE_KIND_DIR;
		s->dirfd = fd;
		s->names = "directory";
		rc = dirsource_load(s, err);
	} else {
		off_t end;

		s->kind = SOURCE_KIND_IMAGE;
		s->fd = fd;
		/* A block device has st_size 0; SEEK_END gives its size. */
		end = S_ISBLK(st.st_mode) ? lseek(fd, 0, SEEK_END) : st.st_size;
		if (end < 0)
			rc = aero_error_set(err, -errno, "cannot size: %s",
					    strerror(errno));
		else {
			s->size = (uint64_t)end;
			rc = isofs_load(s, err);
		}
	}
	if (rc < 0) {
		aero_error_prefix(err, "%s", path);
		source_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

void source_close(struct source *s)
{
	struct source_node *n, *next;

	if (!s)
		return;
	for (n = s->all; n; n = next) {
		next = n->all_next;
		free(n->child);
		if (n->ext_cap)
			free(n->ext);
		free(n);
	}
	if (s->fd >= 0)
		close(s->fd);
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->label);
	free(s);
}

enum source_kind source_kind(const struct source *s)
{
	return s->kind;
}

const char *source_names(const struct source *s)
{
	return s->names;
}

const char *source_volume_label(const struct source *s)
{
	return s->label;
}

bool source_volume_time(const struct source *s, int64_t *t)
{
	if (s->has_time)
		*t = s->time;
	return s->has_time;
}

uint64_t source_size(const struct source *s)
{
	return s->size;
}

int source_fd(const struct source *s)
{
	return s->fd;
}

size_t source_skipped(const struct source *s)
{
	return s->nskipped;
}

const struct source_node *source_root(const struct source *s)
{
	return s->root;
}

const char *source_node_name(const struct source_node *n)
{
	return n->name;
}

const struct source_node *source_node_parent(const struct source_node *n)
{
	return n->parent;
}

size_t source_node_path(const struct source_node *n, char *buf, size_t size)
{
	const struct source_node *p;
	size_t total = 0, pos;

	for (p = n; p && p->parent; p = p->parent)
		total += strlen(p->name) + (p->parent->parent ? 1 : 0);
	if (size == 0)
		return total;
	/* Fill from the end; bytes past SIZE - 1 are dropped. */
	pos = total;
	for (p = n; p && p->parent; p = p->parent) {
		size_t len = strlen(p->name);

		pos -= len;
		for (size_t i = 0; i < len; i++)
			if (pos + i < size - 1)
				buf[pos + i] = p->name[i];
		if (p->parent->parent) {
			pos--;
			if (pos < size - 1)
				buf[pos] = '/';
		}
	}
	buf[total < size ? total : size - 1] = '\0';
	return total;
}

enum source_node_type source_node_type(const struct source_node *n)
{
	return n->type;
}

uint64_t source_node_size(const struct source_node *n)
{
	return n->type == SOURCE_NODE_FILE ? n->size : 0;
}

size_t source_node_nchildren(const struct source_node *n)
{
	return n->nchild;
}

const struct source_node *source_node_child(const struct source_node *n,
					    size_t i)
{
	return i < n->nchild ? n->child[i] : NULL;
}

/* strcasecmp() folds by locale; names here fold ASCII only. */
static bool ascii_caseeq(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char x = (unsigned char)*a, y = (unsigned char)*b;

		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y)
			return false;
		if (!x)
			return true;
	}
}

const struct source_node *source_node_find(const struct source_node *dir,
					   const char *name)
{
	size_t lo = 0, hi = dir->nchild, i;

	/* An exact match wins over a case-insensitive one. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, dir->child[mid]->name);

		if (c == 0)
			return dir->child[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	/* Then the first in bytewise order ignoring ASCII case. */
	for (i = 0; i < dir->nchild; i++)
		if (ascii_caseeq(name, dir->child[i]->name))
			return dir->child[i];
	return NULL;
}

int source_node_extents(const struct source_node *n,
			const struct source_extent **ext, size_t *count)
{
	if (n->type != SOURCE_NODE_FILE || n->ext == NULL)
		return -EINVAL;
	*ext = n->ext;
	*count = n->next;
	return 0;
}
