/*
 * pack.c: the immutable pack tree (see pack.h).
 *
 * The builder keeps every node in a path-keyed hash table so that adding a
 * file under a deep or wide directory costs O(path length), and leaves
 * children unsorted until pack_builder_finish() sorts each directory once
 * and numbers the inodes.  After that nothing is written again, except by
 * pack_complete() when hashing was deferred: it writes only what
 * pack_hashed() guards (digests, the bytes of blobs with digest slots) and
 * publishes them with one release store.  Reads only pread() from the
 * source descriptors, so they need no lock.
 */
#include "catalog/pack/pack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "catalog/util/checked.h"
#include "catalog/util/io.h"
#include "catalog/util/fdlimit.h"
#include "catalog/util/upcase.h"
#include "catalog/util/utf.h"

struct pack_source {
	int fd;
	uint64_t size;
	struct stat st; /* at registration: see source_check() */
};

struct pack_node {
	char *name; /* points into path */
	char *path; /* owned */
	enum pack_node_type type;
	uint64_t ino;
	uint64_t size;
	unsigned nlink;
	struct pack_node *parent;
	struct pack_node **children; /* owned array of owned nodes */
	size_t nchildren;
	size_t children_cap;
	struct pack_extent *ext; /* owned; files only */
	uint64_t *ext_start;	 /* file offset where ext[i] begins */
	size_t next;
	unsigned char *blob; /* owned; blob files only */
	unsigned char sha256[32];
	/* Deferred hashing (pack_complete()): the digest is not known yet;
	 * same_as, if set, is the earlier file with the same extents, whose
	 * digest this one takes. */
	bool pending;
	struct pack_node *same_as;
	struct pack_slot *slots; /* owned; blobs with digest slots only */
	size_t nslots;
};

/* A resolved pack_digest_slot: where in the blob, whose digest. */
struct pack_slot {
	uint64_t offset;
	const struct pack_node *file;
};

struct pack {
	atomic_uint refs;
	int64_t epoch;
	char label[PACK_LABEL_MAX + 1];
	struct pack_source *sources;
	size_t nsources;
	struct pack_node *root;
	struct pack_node **by_ino; /* by_ino[ino - 1] */
	size_t count;
	uint64_t content_bytes;
	/* pack_hashed(): 0, -EAGAIN while digests are deferred, or why
	 * pack_complete() failed.  Stored with release, loaded with
	 * acquire: what it guards is written before it becomes 0. */
	atomic_int hashed;
};

struct pack_builder {
	struct pack *pack;
	struct pack_node **table; /* open addressing by path */
	size_t table_cap;
	size_t count;		 /* nodes, root included */
	struct pack_node **same; /* files hashed, by extent list */
	size_t same_cap, nsame;
	const struct pack_cancel *cancel; /* pack_builder_set_cancel() */
	struct pack_copy_map *maps;	  /* pack_builder_add_copy() */
	size_t nmaps;
	bool defer;	 /* pack_builder_defer_hashes() */
	size_t npending; /* nodes whose digest pack_complete() owes */
};

/* Sources of one pack copied from: map[i] is ours for its source i + 1. */
struct pack_copy_map {
	const struct pack *from;
	unsigned *map; /* 0: not registered yet */
};

/* ---- nodes ------------------------------------------------------------- */

static void node_free(struct pack_node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nchildren; i++)
		node_free(n->children[i]);
	free(n->children);
	free(n->ext);
	free(n->ext_start);
	free(n->blob);
	free(n->slots);
	free(n->path);
	free(n);
}

static struct pack_node *node_new(const char *path, size_t len,
				  enum pack_node_type type)
{
	struct pack_node *n = calloc(1, sizeof(*n));
	const char *slash;

	if (!n)
		return NULL;
	n->path = strndup(path, len);
	if (!n->path) {
		free(n);
		return NULL;
	}
	slash = strrchr(n->path, '/');
	n->name = slash ? (char *)slash + 1 : n->path;
	n->type = type;
	return n;
}

static int node_add_child(struct pack_node *dir, struct pack_node *child)
{
	if (dir->nchildren == dir->children_cap) {
		size_t cap = dir->children_cap ? dir->children_cap * 2 : 8;
		struct pack_node **c;

		c = realloc(dir->children, cap * sizeof(*c));
		if (!c)
			return -ENOMEM;
		dir->children = c;
		dir->children_cap = cap;
	}
	dir->children[dir->nchildren++] = child;
	child->parent = dir;
	return 0;
}

/* ---- the builder's path table ------------------------------------------ */

/*
 * The table is keyed by path as Windows compares names (upcase.h): a pack
 * is unpacked on Windows, where "viostor.sys" and "VIOSTOR.SYS", or
 * "änderung.txt" and "ÄNDERUNG.TXT", in one folder clash, and Joliet
 * readers would show one of them.  So a second name that differs only in
 * case is found here and refused.
 */
static uint64_t path_hash(const char *s, size_t len)
{
	return upcase_hash(s, len);
}

static struct pack_node **table_slot(const struct pack_builder *b,
				     const char *path, size_t len)
{
	size_t mask = b->table_cap - 1;
	size_t i = path_hash(path, len) & mask;

	for (;;) {
		struct pack_node *n = b->table[i];

		if (!n || upcase_equal(n->path, strlen(n->path), path, len))
			return &b->table[i];
		i = (i + 1) & mask;
	}
}

static int table_insert(struct pack_builder *b, struct pack_node *n)
{
	if ((b->count + 1) * 2 > b->table_cap) {
		struct pack_node **old = b->table;
		size_t old_cap = b->table_cap;

		b->table_cap = old_cap ? old_cap * 2 : 64;
		b->table = calloc(b->table_cap, sizeof(*b->table));
		if (!b->table) {
			b->table = old;
			b->table_cap = old_cap;
			return -ENOMEM;
		}
		for (size_t i = 0; i < old_cap; i++)
			if (old[i])
				*table_slot(b, old[i]->path,
					    strlen(old[i]->path)) = old[i];
		free(old);
	}
	*table_slot(b, n->path, strlen(n->path)) = n;
	b->count++;
	return 0;
}

static struct pack_node *table_find(const struct pack_builder *b,
				    const char *path, size_t len)
{
	if (len == 0)
		return b->pack->root;
	return *table_slot(b, path, len);
}

/*
 * Takes N out of the table.  Open addressing: the entries probing past the
 * freed slot are reinserted so that lookups still reach them.
 */
static void table_remove(struct pack_builder *b, struct pack_node *n)
{
	size_t mask = b->table_cap - 1;
	struct pack_node **slot = table_slot(b, n->path, strlen(n->path));
	size_t i = (size_t)(slot - b->table);

	if (*slot != n)
		return;
	*slot = NULL;
	b->count--;
	for (i = (i + 1) & mask; b->table[i]; i = (i + 1) & mask) {
		struct pack_node *m = b->table[i];

		b->table[i] = NULL;
		*table_slot(b, m->path, strlen(m->path)) = m;
	}
}

/* ---- name rules -------------------------------------------------------- */

static int check_name(const char *name, size_t len, struct aero_error *err)
{
	if (len == 0)
		return aero_error_set(err, -EINVAL, "empty path component");
	if (len > PACK_NAME_MAX)
		return aero_error_set(err, -ENAMETOOLONG,
				      "name longer than %d bytes: %.40s...",
				      PACK_NAME_MAX, name);
	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return aero_error_set(err, -EINVAL,
				      "'.' or '..' as a name is not allowed");
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)name[i];
		uint32_t cp;
		size_t n;

		/* Control characters cannot survive Joliet or a ZIP. */
		if (c < 0x20 || c == 0x7f)
			return aero_error_set(err, -EINVAL,
					      "control character 0x%02x in "
					      "name "
					      "'%.*s'",
					      c, (int)len, name);
		n = utf8_get((const unsigned char *)name + i, len - i, &cp);
		if (n == 0)
			return aero_error_set(err, -EINVAL,
					      "name '%.*s' is not valid UTF-8",
					      (int)len, name);
		i += n;
	}
	return 0;
}

/*
 * Finds or creates directory PATH[0..LEN) and its parents.  Returns the
 * node through *OUT, or -errno.
 */
static int ensure_dir(struct pack_builder *b, const char *path, size_t len,
		      unsigned depth, struct pack_node **out,
		      struct aero_error *err)
{
	struct pack_node *n, *parent;
	size_t cut = len;
	int rc;

	n = table_find(b, path, len);
	if (n) {
		if (strlen(n->path) != len || memcmp(n->path, path, len) != 0)
			return aero_error_set(err, -EEXIST,
					      "'%.*s' collides with '%s' "
					      "ignoring "
					      "case",
					      (int)len, path, n->path);
		if (n->type != PACK_NODE_DIR)
			return aero_error_set(err, -EEXIST,
					      "'%.*s' is a file, not a "
					      "directory",
					      (int)len, path);
		*out = n;
		return 0;
	}
	if (depth > PACK_DEPTH_MAX)
		return aero_error_set(err, -ELOOP,
				      "path deeper than %d components",
				      PACK_DEPTH_MAX);
	while (cut > 0 && path[cut - 1] != '/')
		cut--;
	rc = check_name(path + cut, len - cut, err);
	if (rc < 0)
		return rc;
	rc = ensure_dir(b, path, cut ? cut - 1 : 0, depth + 1, &parent, err);
	if (rc < 0)
		return rc;
	if (b->count >= PACK_NODES_MAX)
		return aero_error_set(err, -EFBIG, "more than %d pack entries",
				      PACK_NODES_MAX);
	n = node_new(path, len, PACK_NODE_DIR);
	if (!n)
		return aero_error_set(err, -ENOMEM, "out of memory");
	rc = table_insert(b, n);
	if (rc == 0)
		rc = node_add_child(parent, n);
	if (rc < 0) {
		/* Not yet reachable from the root, but maybe from the table. */
		table_remove(b, n);
		node_free(n);
		return aero_error_set(err, rc, "out of memory");
	}
	*out = n;
	return 0;
}

static int check_path(const char *path, struct aero_error *err)
{
	size_t len = strlen(path);

	if (len == 0 || path[0] == '/' || path[len - 1] == '/')
		return aero_error_set(err, -EINVAL, "invalid pack path '%s'",
				      path);
	return 0;
}

/* ---- building ---------------------------------------------------------- */

struct pack_builder *pack_builder_new(int64_t epoch)
{
	struct pack_builder *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->pack = calloc(1, sizeof(*b->pack));
	if (b->pack)
		b->pack->root = node_new("", 0, PACK_NODE_DIR);
	if (!b->pack || !b->pack->root) {
		if (b->pack)
			free(b->pack->root);
		free(b->pack);
		free(b);
		return NULL;
	}
	b->table_cap = 64;
	b->table = calloc(b->table_cap, sizeof(*b->table));
	if (!b->table) {
		pack_builder_free(b);
		return NULL;
	}
	atomic_init(&b->pack->refs, 1);
	atomic_init(&b->pack->hashed, 0);
	b->pack->epoch = epoch;
	strcpy(b->pack->label, PACK_DEFAULT_LABEL);
	b->count = 1;
	return b;
}

void pack_builder_defer_hashes(struct pack_builder *b)
{
	b->defer = true;
}

void pack_builder_set_cancel(struct pack_builder *b,
			     const struct pack_cancel *cancel)
{
	b->cancel = cancel;
}

int pack_builder_set_label(struct pack_builder *b, const char *label)
{
	size_t len = strlen(label);

	if (len == 0 || len > PACK_LABEL_MAX)
		return -EINVAL;
	memcpy(b->pack->label, label, len + 1);
	return 0;
}

int pack_builder_add_source(struct pack_builder *b, int fd, uint64_t size)
{
	struct pack *p = b->pack;
	struct pack_source *s;
	int copy;

	if (p->nsources >= 1u << 20)
		return -EMFILE;
	s = realloc(p->sources, (p->nsources + 1) * sizeof(*s));
	if (!s)
		return -ENOMEM;
	p->sources = s;
	copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	/* Out of descriptors: the soft limit may go up to the hard one. */
	if (copy < 0 && errno == EMFILE && fdlimit_raise() > 0)
		copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (copy < 0)
		return -errno;
	if (fstat(copy, &s[p->nsources].st) < 0) {
		int rc = -errno;

		close(copy);
		return rc;
	}
	s[p->nsources].fd = copy;
	s[p->nsources].size = size;
	return (int)p->nsources++;
}

int pack_builder_add_dir(struct pack_builder *b, const char *path,
			 struct aero_error *err)
{
	struct pack_node *n;
	int rc = check_path(path, err);

	if (rc < 0)
		return rc;
	return ensure_dir(b, path, strlen(path), 1, &n, err);
}

bool pack_builder_has(const struct pack_builder *b, const char *path)
{
	return table_find(b, path, strlen(path)) != NULL;
}

/*
 * Creates file node PATH (parents too) with no content yet.
 */
static int add_file_node(struct pack_builder *b, const char *path,
			 struct pack_node **out, struct aero_error *err)
{
	size_t len, cut;
	struct pack_node *existing, *parent, *n;
	unsigned depth = 1;
	int rc = check_path(path, err);

	if (rc < 0)
		return rc;
	len = strlen(path);
	existing = table_find(b, path, len);
	if (existing && strcmp(existing->path, path) != 0)
		return aero_error_set(err, -EEXIST,
				      "'%s' collides with '%s' ignoring case",
				      path, existing->path);
	if (existing)
		return aero_error_set(err, -EEXIST, "'%s' added twice", path);
	cut = len;
	while (cut > 0 && path[cut - 1] != '/')
		cut--;
	for (size_t i = 0; i < cut; i++)
		depth += path[i] == '/';
	if (depth > PACK_DEPTH_MAX)
		return aero_error_set(err, -ELOOP,
				      "'%s' is deeper than %d components", path,
				      PACK_DEPTH_MAX);
	rc = check_name(path + cut, len - cut, err);
	if (rc < 0)
		return rc;
	rc = ensure_dir(b, path, cut ? cut - 1 : 0, 2, &parent, err);
	if (rc < 0)
		return rc;
	if (b->count >= PACK_NODES_MAX)
		return aero_error_set(err, -EFBIG, "more than %d pack entries",
				      PACK_NODES_MAX);
	n = node_new(path, len, PACK_NODE_FILE);
	if (!n)
		return aero_error_set(err, -ENOMEM, "out of memory");
	rc = table_insert(b, n);
	if (rc < 0) {
		node_free(n);
		return aero_error_set(err, rc, "out of memory");
	}
	rc = node_add_child(parent, n);
	if (rc < 0) {
		table_remove(b, n);
		node_free(n);
		return aero_error_set(err, rc, "out of memory");
	}
	*out = n;
	return 0;
}

/*
 * Removes the last node added (a file whose content turned out unusable),
 * so that a failed add leaves the builder as it was, apart from parents.
 */
static void drop_file_node(struct pack_builder *b, struct pack_node *n)
{
	n->parent->nchildren--;
	table_remove(b, n);
	node_free(n);
}

static int read_extents(const struct pack *p, const struct pack_node *n,
			void *buf, size_t len, uint64_t off);
static int source_check(const struct pack_source *s);

/*
 * Files with the same extent list have the same content: an image that
 * stores one file under several names (genisoimage and xorriso do so for
 * hard links and identical files) is hashed once per content, not once
 * per name, so the hashing stays bounded by the image.
 */
static uint64_t extents_hash(const struct pack_extent *ext, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		uint64_t v[3] = { ext[i].src, ext[i].offset, ext[i].length };

		for (size_t k = 0; k < 3; k++)
			h = (h ^ v[k]) * 0x100000001b3ull;
	}
	return h;
}

static bool same_extents(const struct pack_node *a,
			 const struct pack_extent *ext, size_t n)
{
	if (a->next != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (a->ext[i].src != ext[i].src ||
		    a->ext[i].offset != ext[i].offset ||
		    a->ext[i].length != ext[i].length)
			return false;
	return true;
}

/* The file already hashed whose extents are EXT[N], or NULL. */
static struct pack_node *same_find(const struct pack_builder *b,
				   const struct pack_extent *ext, size_t n)
{
	size_t mask = b->same_cap - 1, i;

	if (!b->same_cap)
		return NULL;
	for (i = extents_hash(ext, n) & mask; b->same[i]; i = (i + 1) & mask)
		if (same_extents(b->same[i], ext, n))
			return b->same[i];
	return NULL;
}

/* Remembers hashed file N; failing to (out of memory) only costs time. */
static void same_insert(struct pack_builder *b, struct pack_node *n)
{
	size_t mask, i;

	if ((b->nsame + 1) * 2 > b->same_cap) {
		size_t cap = b->same_cap ? b->same_cap * 2 : 64;
		struct pack_node **t = calloc(cap, sizeof(*t));

		if (!t)
			return;
		for (size_t k = 0; k < b->same_cap; k++) {
			struct pack_node *m = b->same[k];

			if (!m)
				continue;
			for (i = extents_hash(m->ext, m->next) & (cap - 1);
			     t[i]; i = (i + 1) & (cap - 1))
				;
			t[i] = m;
		}
		free(b->same);
		b->same = t;
		b->same_cap = cap;
	}
	mask = b->same_cap - 1;
	for (i = extents_hash(n->ext, n->next) & mask; b->same[i];
	     i = (i + 1) & mask)
		;
	b->same[i] = n;
	b->nsame++;
}

/*
 * Asks for file N's whole content at once, before it is hashed: the disk
 * then works ahead of the hashing instead of following the page cache's
 * readahead ramp (io_advise_willneed()).
 */
static void advise_content(const struct pack *p, const struct pack_node *n)
{
	for (size_t i = 0; i < n->next; i++)
		io_advise_willneed(p->sources[n->ext[i].src].fd,
				   n->ext[i].offset, n->ext[i].length);
}

/*
 * Reads file N's content and sets its digest.  BUF holds HASH_CHUNK bytes.
 * Returns 0, -ECANCELED, -ENOMEM or the read's error, with the file in
 * ERR.
 */
#define HASH_CHUNK (1u << 18)

static int hash_content(const struct pack *p, struct pack_node *n,
			const struct pack_cancel *cancel, EVP_MD_CTX *md,
			unsigned char *buf, struct aero_error *err)
{
	int rc;

	if (!EVP_DigestInit_ex(md, EVP_sha256(), NULL))
		return aero_error_set(err, -ENOMEM, "out of memory");
	for (uint64_t off = 0; off < n->size;) {
		size_t chunk = n->size - off < HASH_CHUNK ?
				       (size_t)(n->size - off) :
				       HASH_CHUNK;

		if (pack_cancelled(cancel))
			return aero_error_set(err, -ECANCELED, "cancelled");
		rc = read_extents(p, n, buf, chunk, off);
		for (size_t i = 0; rc < 0 && i < n->next; i++)
			if (source_check(&p->sources[n->ext[i].src]) < 0)
				return aero_error_set(err, rc,
						      "%s: the source changed "
						      "since the pack was "
						      "built (rewritten in "
						      "place?)",
						      n->path);
		if (rc < 0)
			return aero_error_set(err, rc,
					      "%s: cannot read %zu bytes at "
					      "%llu of its content",
					      n->path, chunk,
					      (unsigned long long)off);
		EVP_DigestUpdate(md, buf, chunk);
		off += chunk;
	}
	EVP_DigestFinal_ex(md, n->sha256, NULL);
	return 0;
}

int pack_builder_add_file(struct pack_builder *b, const char *path,
			  const struct pack_extent *ext, size_t n,
			  unsigned char sha256[32], struct aero_error *err)
{
	struct pack *p = b->pack;
	struct pack_node *node, *same;
	EVP_MD_CTX *md = NULL;
	unsigned char *buf = NULL;
	uint64_t size = 0;
	int rc;

	for (size_t i = 0; i < n; i++) {
		if (ext[i].src >= p->nsources)
			return aero_error_set(err, -EINVAL,
					      "%s: extent names unknown source "
					      "%u",
					      path, ext[i].src);
		if (range_outside(ext[i].offset, ext[i].length,
				  p->sources[ext[i].src].size))
			return aero_error_set(err, -EIO,
					      "%s: extent %zu (%llu bytes at "
					      "%llu) lies past the end of the "
					      "source",
					      path, i,
					      (unsigned long long)ext[i].length,
					      (unsigned long long)ext[i]
						      .offset);
		/* Before any byte is read: the size alone can be refused. */
		if (ADD_OVERFLOW(size, ext[i].length, &size) ||
		    size > PACK_FILE_MAX)
			return aero_error_set(err, -EFBIG,
					      "%s: more than %llu bytes, the "
					      "most a pack file may hold",
					      path,
					      (unsigned long long)
						      PACK_FILE_MAX);
	}
	rc = add_file_node(b, path, &node, err);
	if (rc < 0)
		return rc;
	node->size = size;
	if (n) {
		node->ext = malloc(n * sizeof(*ext));
		node->ext_start = malloc(n * sizeof(uint64_t));
		if (!node->ext || !node->ext_start) {
			rc = aero_error_set(err, -ENOMEM, "out of memory");
			goto fail;
		}
		memcpy(node->ext, ext, n * sizeof(*ext));
		node->next = n;
		for (size_t i = 0, start = 0; i < n; i++) {
			node->ext_start[i] = start;
			start += ext[i].length;
		}
	}

	same = n ? same_find(b, ext, n) : NULL;
	if (b->defer && size) {
		/* pack_complete() reads it, or takes SAME's digest. */
		node->pending = true;
		node->same_as = same;
		b->npending++;
		if (!same)
			same_insert(b, node);
		if (sha256)
			memset(sha256, 0, 32);
		return 0;
	}
	if (same) {
		memcpy(node->sha256, same->sha256, 32);
		if (sha256)
			memcpy(sha256, node->sha256, 32);
		return 0;
	}
	/* Hash now: a source that cannot deliver fails the build, not a
	 * read. */
	md = EVP_MD_CTX_new();
	buf = malloc(HASH_CHUNK);
	if (!md || !buf) {
		rc = aero_error_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	advise_content(p, node);
	rc = hash_content(p, node, b->cancel, md, buf, err);
	if (rc < 0)
		goto fail;
	EVP_MD_CTX_free(md);
	free(buf);
	if (n)
		same_insert(b, node);
	if (sha256)
		memcpy(sha256, node->sha256, 32);
	return 0;
fail:
	EVP_MD_CTX_free(md);
	free(buf);
	drop_file_node(b, node);
	return rc;
}

/* Adds file PATH holding a copy of the LEN bytes at DATA, not hashed. */
static int add_blob_node(struct pack_builder *b, const char *path,
			 const void *data, size_t len, struct pack_node **out,
			 struct aero_error *err)
{
	struct pack_node *node;
	int rc = add_file_node(b, path, &node, err);

	if (rc < 0)
		return rc;
	node->blob = malloc(len ? len : 1);
	if (!node->blob) {
		drop_file_node(b, node);
		return aero_error_set(err, -ENOMEM, "out of memory");
	}
	memcpy(node->blob, data, len);
	node->size = len;
	*out = node;
	return 0;
}

int pack_builder_add_blob(struct pack_builder *b, const char *path,
			  const void *data, size_t len,
			  unsigned char sha256[32], struct aero_error *err)
{
	struct pack_node *node;
	int rc = add_blob_node(b, path, data, len, &node, err);

	if (rc < 0)
		return rc;
	if (!EVP_Digest(data, len, node->sha256, NULL, EVP_sha256(), NULL)) {
		drop_file_node(b, node);
		return aero_error_set(err, -ENOMEM, "sha256 failed");
	}
	if (sha256)
		memcpy(sha256, node->sha256, 32);
	return 0;
}

/* Writes N's digest as lowercase hex at TO (64 bytes, no NUL). */
static void put_hex(unsigned char *to, const struct pack_node *n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < 32; i++) {
		to[2 * i] = (unsigned char)digits[n->sha256[i] >> 4];
		to[2 * i + 1] = (unsigned char)digits[n->sha256[i] & 15];
	}
}

/* Fills blob N's digest slots and hashes it. */
static int fill_slots(struct pack_node *n)
{
	for (size_t i = 0; i < n->nslots; i++)
		put_hex(n->blob + n->slots[i].offset, n->slots[i].file);
	return EVP_Digest(n->blob, n->size, n->sha256, NULL, EVP_sha256(),
			  NULL) ?
		       0 :
		       -ENOMEM;
}

int pack_builder_add_blob_digests(struct pack_builder *b, const char *path,
				  const void *data, size_t len,
				  const struct pack_digest_slot *slots,
				  size_t n, struct aero_error *err)
{
	struct pack_slot *resolved = calloc(n ? n : 1, sizeof(*resolved));
	struct pack_node *node;
	int rc = 0;

	if (!resolved)
		return aero_error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct pack_node *f = table_find(b, slots[i].path,
						       strlen(slots[i].path));

		if (slots[i].offset > len || len - slots[i].offset < 64)
			rc = aero_error_set(err, -EINVAL,
					    "%s: digest slot %zu lies outside "
					    "it",
					    path, i);
		else if (!f || strcmp(f->path, slots[i].path) != 0 ||
			 f->type != PACK_NODE_FILE || f->slots)
			rc = aero_error_set(err, -EINVAL,
					    "%s: digest slot %zu names '%s', "
					    "not a file added before",
					    path, i, slots[i].path);
		resolved[i].offset = slots[i].offset;
		resolved[i].file = f;
	}
	if (rc == 0)
		rc = add_blob_node(b, path, data, len, &node, err);
	if (rc < 0) {
		free(resolved);
		return rc;
	}
	node->slots = resolved;
	node->nslots = n;
	if (b->defer) {
		/* filled and hashed by pack_complete() */
		node->pending = true;
		b->npending++;
		return 0;
	}
	rc = fill_slots(node);
	if (rc < 0) {
		drop_file_node(b, node);
		return aero_error_set(err, rc, "out of memory");
	}
	return 0;
}

/* Our index of source SRC of FROM, registering it the first time. */
static int copy_source(struct pack_builder *b, const struct pack *from,
		       unsigned src)
{
	struct pack_copy_map *m = NULL;
	struct pack_source *s;
	struct pack *p = b->pack;
	int copy;

	for (size_t i = 0; i < b->nmaps; i++)
		if (b->maps[i].from == from)
			m = &b->maps[i];
	if (!m) {
		m = realloc(b->maps, (b->nmaps + 1) * sizeof(*m));
		if (!m)
			return -ENOMEM;
		b->maps = m;
		m = &b->maps[b->nmaps];
		m->from = from;
		m->map = calloc(from->nsources ? from->nsources : 1,
				sizeof(*m->map));
		if (!m->map)
			return -ENOMEM;
		b->nmaps++;
	}
	if (m->map[src])
		return (int)m->map[src] - 1;
	if (p->nsources >= 1u << 20)
		return -EMFILE;
	s = realloc(p->sources, (p->nsources + 1) * sizeof(*s));
	if (!s)
		return -ENOMEM;
	p->sources = s;
	copy = fcntl(from->sources[src].fd, F_DUPFD_CLOEXEC, 3);
	if (copy < 0 && errno == EMFILE && fdlimit_raise() > 0)
		copy = fcntl(from->sources[src].fd, F_DUPFD_CLOEXEC, 3);
	if (copy < 0)
		return -errno;
	/* FROM's record: a source changed since FROM was built stays so. */
	s[p->nsources] = from->sources[src];
	s[p->nsources].fd = copy;
	m->map[src] = (unsigned)p->nsources + 1;
	return (int)p->nsources++;
}

static void builder_free_maps(struct pack_builder *b)
{
	for (size_t i = 0; i < b->nmaps; i++)
		free(b->maps[i].map);
	free(b->maps);
	b->maps = NULL;
	b->nmaps = 0;
}

int pack_builder_add_copy(struct pack_builder *b, const char *path,
			  const struct pack *from, const struct pack_node *n,
			  unsigned char sha256[32], struct aero_error *err)
{
	struct pack_node *node;
	struct pack_extent *ext = NULL;
	int rc;

	if (n->type != PACK_NODE_FILE)
		return aero_error_set(err, -EISDIR, "%s: not a file", n->path);
	if (pack_hashed(from) != 0)
		return aero_error_set(err, -EAGAIN,
				      "%s: its pack is not hashed yet",
				      n->path);
	if (n->blob) {
		rc = pack_builder_add_blob(b, path, n->blob, n->size, NULL,
					   err);
		goto done;
	}
	if (n->next) {
		ext = malloc(n->next * sizeof(*ext));
		if (!ext)
			return aero_error_set(err, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n->next; i++) {
		rc = copy_source(b, from, n->ext[i].src);
		if (rc < 0) {
			free(ext);
			return aero_error_set(err, rc, "%s: %s", path,
					      strerror(-rc));
		}
		ext[i] = n->ext[i];
		ext[i].src = (unsigned)rc;
	}
	rc = add_file_node(b, path, &node, err);
	if (rc < 0) {
		free(ext);
		return rc;
	}
	node->size = n->size;
	node->ext = ext;
	node->next = n->next;
	if (n->next) {
		node->ext_start = malloc(n->next * sizeof(uint64_t));
		if (!node->ext_start) {
			drop_file_node(b, node);
			return aero_error_set(err, -ENOMEM, "out of memory");
		}
		memcpy(node->ext_start, n->ext_start,
		       n->next * sizeof(uint64_t));
	}
	memcpy(node->sha256, n->sha256, 32);
	rc = 0;
done:
	if (rc == 0 && sha256)
		memcpy(sha256, n->sha256, 32);
	return rc;
}

static int node_cmp(const void *a, const void *b)
{
	const struct pack_node *x = *(struct pack_node *const *)a;
	const struct pack_node *y = *(struct pack_node *const *)b;

	return strcmp(x->name, y->name);
}

/*
 * Sorts each directory, numbers nodes breadth-first and counts links.
 * by_ino doubles as the work queue, so no recursion and no extra memory.
 */
static void number_nodes(struct pack *p, struct pack_node *root)
{
	size_t next = 0;

	root->ino = ++next;
	p->by_ino[0] = root;
	for (size_t i = 0; i < next; i++) {
		struct pack_node *n = p->by_ino[i];

		if (n->type == PACK_NODE_FILE) {
			n->nlink = 1;
			p->content_bytes += n->size;
			continue;
		}
		if (n->nchildren)
			qsort(n->children, n->nchildren, sizeof(*n->children),
			      node_cmp);
		n->nlink = 2;
		for (size_t c = 0; c < n->nchildren; c++) {
			struct pack_node *child = n->children[c];

			n->nlink += child->type == PACK_NODE_DIR;
			child->ino = ++next;
			p->by_ino[next - 1] = child;
		}
	}
	root->parent = root;
}

int pack_builder_finish(struct pack_builder *b, struct pack **out)
{
	struct pack *p = b->pack;

	p->count = b->count;
	p->by_ino = calloc(p->count, sizeof(*p->by_ino));
	if (!p->by_ino) {
		pack_builder_free(b);
		return -ENOMEM;
	}
	/*
	 * Inode numbers follow a breadth-first walk of the sorted tree: a
	 * pure function of the set of paths, so two builds of the same
	 * content number alike whatever order files were added in.
	 */
	number_nodes(p, p->root);
	atomic_store_explicit(&p->hashed, b->npending ? -EAGAIN : 0,
			      memory_order_release);
	builder_free_maps(b);
	free(b->table);
	free(b->same);
	free(b);
	*out = p;
	return 0;
}

static void pack_free(struct pack *p)
{
	for (size_t i = 0; i < p->nsources; i++)
		close(p->sources[i].fd);
	free(p->sources);
	node_free(p->root);
	free(p->by_ino);
	free(p);
}

void pack_builder_free(struct pack_builder *b)
{
	if (!b)
		return;
	pack_free(b->pack);
	builder_free_maps(b);
	free(b->table);
	free(b->same);
	free(b);
}

/* ---- deferred hashing --------------------------------------------------- */

int pack_hashed(const struct pack *p)
{
	/* const: the counter is the one field a reader may load */
	return atomic_load_explicit(&((struct pack *)p)->hashed,
				    memory_order_acquire);
}

/* Source order: the disk reads the image front to back. */
static int pending_cmp(const void *a, const void *b)
{
	const struct pack_node *x = *(struct pack_node *const *)a;
	const struct pack_node *y = *(struct pack_node *const *)b;

	if (x->ext[0].src != y->ext[0].src)
		return x->ext[0].src < y->ext[0].src ? -1 : 1;
	if (x->ext[0].offset != y->ext[0].offset)
		return x->ext[0].offset < y->ext[0].offset ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

int pack_complete(struct pack *p, const struct pack_cancel *cancel,
		  struct aero_error *err)
{
	struct pack_node **todo = NULL;
	EVP_MD_CTX *md = NULL;
	unsigned char *buf = NULL;
	size_t ntodo = 0;
	int rc = pack_hashed(p);

	if (rc != -EAGAIN)
		return rc;
	todo = malloc(p->count * sizeof(*todo));
	md = EVP_MD_CTX_new();
	buf = malloc(HASH_CHUNK);
	if (!todo || !md || !buf) {
		rc = aero_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	/* Once per content: files that share extents follow their first. */
	for (size_t i = 0; i < p->count; i++)
		if (p->by_ino[i]->pending && !p->by_ino[i]->same_as &&
		    !p->by_ino[i]->slots)
			todo[ntodo++] = p->by_ino[i];
	if (ntodo)
		qsort(todo, ntodo, sizeof(*todo), pending_cmp);
	/* All at once: the disk reads ahead of the hashing, in order. */
	for (size_t i = 0; i < ntodo; i++)
		advise_content(p, todo[i]);
	for (size_t i = 0; i < ntodo && rc == -EAGAIN; i++) {
		int r = hash_content(p, todo[i], cancel, md, buf, err);

		if (r < 0)
			rc = r;
	}
	for (size_t i = 0; i < p->count && rc == -EAGAIN; i++) {
		struct pack_node *n = p->by_ino[i];

		if (n->pending && n->same_as)
			memcpy(n->sha256, n->same_as->sha256, 32);
	}
	for (size_t i = 0; i < p->count && rc == -EAGAIN; i++)
		if (p->by_ino[i]->slots && fill_slots(p->by_ino[i]) < 0)
			rc = aero_error_set(err, -ENOMEM, "out of memory");
	if (rc == -EAGAIN)
		rc = 0;
out:
	EVP_MD_CTX_free(md);
	free(buf);
	free(todo);
	atomic_store_explicit(&p->hashed, rc, memory_order_release);
	return rc;
}

/* For a blob with digest slots: 0 once filled, else why not. */
static int slots_ready(const struct pack *p, const struct pack_node *n)
{
	int rc;

	if (!n->slots)
		return 0;
	rc = pack_hashed(p);
	return rc == 0 || rc == -EAGAIN ? rc : -EIO;
}

bool pack_node_ready(const struct pack *p, const struct pack_node *n)
{
	return slots_ready(p, n) != -EAGAIN;
}

/* ---- the immutable pack ------------------------------------------------ */

struct pack *pack_ref(struct pack *p)
{
	atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
	return p;
}

void pack_unref(struct pack *p)
{
	if (p &&
	    atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1)
		pack_free(p);
}

int64_t pack_epoch(const struct pack *p)
{
	return p->epoch;
}

const char *pack_label(const struct pack *p)
{
	return p->label;
}

size_t pack_node_count(const struct pack *p)
{
	return p->count;
}

uint64_t pack_content_bytes(const struct pack *p)
{
	return p->content_bytes;
}

const struct pack_node *pack_root(const struct pack *p)
{
	return p->root;
}

const struct pack_node *pack_node_by_ino(const struct pack *p, uint64_t ino)
{
	if (ino == 0 || ino > p->count)
		return NULL;
	return p->by_ino[ino - 1];
}

const struct pack_node *pack_lookup(const struct pack_node *dir,
				    const char *name)
{
	size_t lo = 0, hi;

	if (dir->type != PACK_NODE_DIR)
		return NULL;
	hi = dir->nchildren;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, dir->children[mid]->name);

		if (c == 0)
			return dir->children[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const struct pack_node *pack_lookup_path(const struct pack *p, const char *path)
{
	const struct pack_node *n = p->root;
	char name[PACK_NAME_MAX + 1];

	while (*path && n) {
		size_t len = strcspn(path, "/");

		if (len == 0 || len > PACK_NAME_MAX)
			return NULL;
		memcpy(name, path, len);
		name[len] = '\0';
		n = pack_lookup(n, name);
		path += len;
		if (*path == '/')
			path++;
	}
	return n;
}

enum pack_node_type pack_node_type(const struct pack_node *n)
{
	return n->type;
}

bool pack_node_is_dir(const struct pack_node *n)
{
	return n->type == PACK_NODE_DIR;
}

const char *pack_node_name(const struct pack_node *n)
{
	return n->name;
}

const char *pack_node_path(const struct pack_node *n)
{
	return n->path;
}

uint64_t pack_node_ino(const struct pack_node *n)
{
	return n->ino;
}

uint64_t pack_node_size(const struct pack_node *n)
{
	return n->size;
}

unsigned pack_node_nlink(const struct pack_node *n)
{
	return n->nlink;
}

unsigned pack_node_mode(const struct pack_node *n)
{
	return n->type == PACK_NODE_DIR ? PACK_DIR_MODE : PACK_FILE_MODE;
}

const struct pack_node *pack_node_parent(const struct pack_node *n)
{
	return n->parent;
}

size_t pack_node_nchildren(const struct pack_node *n)
{
	return n->nchildren;
}

const struct pack_node *pack_node_child(const struct pack_node *n, size_t i)
{
	return i < n->nchildren ? n->children[i] : NULL;
}

const unsigned char *pack_node_sha256(const struct pack_node *n)
{
	return n->sha256;
}

/* Index of the extent holding byte OFF (< size) of file N. */
static size_t extent_at(const struct pack_node *n, uint64_t off)
{
	size_t lo = 0, hi = n->next;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (n->ext_start[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* Reads exactly LEN bytes at OFF (within the file) or fails with -EIO. */
/*
 * Whether source S is still the file it was when registered: same inode,
 * size and modification time.  A file rewritten in place (a downloader
 * writing into a preallocated file) would otherwise hand out bytes of two
 * versions with success; a file renamed over or deleted keeps the old
 * inode behind our descriptor and stays valid.  The change time is not
 * compared for that reason: unlinking a file, which a rename over it does,
 * changes its ctime but not its bytes.  Returns 0 or -EIO.
 */
static int source_check(const struct pack_source *s)
{
	struct stat st;

	if (fstat(s->fd, &st) < 0)
		return -EIO;
	if (st.st_dev != s->st.st_dev || st.st_ino != s->st.st_ino ||
	    st.st_size != s->st.st_size ||
	    st.st_mtim.tv_sec != s->st.st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != s->st.st_mtim.tv_nsec)
		return -EIO;
	return 0;
}

int pack_source_check(const struct pack *p, unsigned src)
{
	return src < p->nsources ? source_check(&p->sources[src]) : -EINVAL;
}

static int read_extents(const struct pack *p, const struct pack_node *n,
			void *buf, size_t len, uint64_t off)
{
	unsigned char *out = buf;

	if (n->blob) {
		memcpy(out, n->blob + off, len);
		return 0;
	}
	for (size_t i = extent_at(n, off); len > 0 && i < n->next; i++) {
		const struct pack_extent *e = &n->ext[i];
		uint64_t in = off - n->ext_start[i];
		size_t chunk = e->length - in < len ? e->length - in : len;
		int fd = p->sources[e->src].fd;

		/* Short (end of file): the source shrank under us. */
		if (io_pread_full(fd, out, chunk, e->offset + in, NULL) < 0)
			return -EIO;
		out += chunk;
		off += chunk;
		len -= chunk;
		/* After the read: what we read is the file we registered. */
		if (source_check(&p->sources[e->src]) < 0)
			return -EIO;
	}
	return len ? -EIO : 0;
}

ssize_t pack_node_read(const struct pack *p, const struct pack_node *n,
		       void *buf, size_t len, uint64_t off)
{
	int rc;

	if (n->type != PACK_NODE_FILE)
		return -EISDIR;
	if (off >= n->size)
		return 0;
	rc = slots_ready(p, n);
	if (rc < 0)
		return rc;
	if (len > n->size - off)
		len = n->size - off;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	rc = read_extents(p, n, buf, len, off);
	return rc < 0 ? rc : (ssize_t)len;
}

int pack_node_span(const struct pack *p, const struct pack_node *n,
		   uint64_t off, struct pack_span *span)
{
	size_t i;

	if (n->type != PACK_NODE_FILE)
		return -EISDIR;
	if (off >= n->size)
		return -EINVAL;
	if (n->blob) {
		int rc = slots_ready(p, n);

		if (rc < 0)
			return rc;
		span->kind = PACK_SPAN_MEM;
		span->src = 0;
		span->fd = -1;
		span->fd_offset = 0;
		span->mem = n->blob + off;
		span->len = n->size - off;
		return 0;
	}
	i = extent_at(n, off);
	span->kind = PACK_SPAN_FD;
	span->src = n->ext[i].src;
	span->fd = p->sources[n->ext[i].src].fd;
	span->fd_offset = n->ext[i].offset + (off - n->ext_start[i]);
	span->mem = NULL;
	span->len = n->ext[i].length - (off - n->ext_start[i]);
	return 0;
}

int pack_verify(const struct pack *p, struct aero_error *err)
{
	enum {
		CHUNK = 1 << 16
	};
	unsigned char *buf = malloc(CHUNK);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int rc = 0;

	if (!buf || !md) {
		rc = aero_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (pack_hashed(p) != 0) {
		rc = aero_error_set(err, -EAGAIN, "the pack is not hashed");
		goto out;
	}
	for (size_t i = 0; i < p->count && rc == 0; i++) {
		const struct pack_node *n = p->by_ino[i];
		unsigned char digest[32];
		uint64_t off = 0;

		if (n->type != PACK_NODE_FILE || n->blob)
			continue;
		if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
			rc = aero_error_set(err, -ENOMEM, "out of memory");
			break;
		}
		while (off < n->size) {
			size_t len = n->size - off < CHUNK ?
					     (size_t)(n->size - off) :
					     CHUNK;

			if (read_extents(p, n, buf, len, off) < 0) {
				rc = -EIO;
				break;
			}
			EVP_DigestUpdate(md, buf, len);
			off += len;
		}
		if (rc == 0 && (EVP_DigestFinal_ex(md, digest, NULL) != 1 ||
				memcmp(digest, n->sha256, 32) != 0))
			rc = -EIO;
		if (rc < 0)
			aero_error_set(err, rc,
				       "%s: the source changed since "
				       "the pack was built (rewritten in "
				       "place?)",
				       n->path);
	}
	for (size_t i = 0; i < p->nsources && rc == 0; i++)
		if (source_check(&p->sources[i]) < 0)
			rc = aero_error_set(err, -EIO,
					    "the source changed "
					    "since the pack was built "
					    "(rewritten in place?)");
out:
	EVP_MD_CTX_free(md);
	free(buf);
	return rc;
}
