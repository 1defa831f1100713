/*
 * source_i.h: the source handle and node tree, private to source.c,
 * isofs.c and dirsource.c.
 *
 * source.c owns the handle, the node allocator and the name rules; the two
 * loaders fill the tree: isofs_load() from ISO9660 directory records,
 * dirsource_load() from a directory walk.  Nothing outside catalog/source*
 * and catalog/isofs* and catalog/dirsource.c includes this header.
 */
#ifndef AEROFS_CATALOG_SOURCE_SOURCE_I_H
#define AEROFS_CATALOG_SOURCE_SOURCE_I_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog/util/error.h"
#include "catalog/source/source.h"

#define SOURCE_DEFAULT_MAX_NODES 200000
#define SOURCE_DEFAULT_MAX_DEPTH 64
/* Longest name after decoding, as NAME_MAX (and Rock Ridge practice). */
#define SOURCE_NAME_MAX 255

struct source_node {
	struct source_node *parent;   /* NULL for the root */
	struct source_node *all_next; /* allocation list, for freeing */
	struct source_node **child;   /* sorted after source_dir_finish() */
	size_t nchild;
	size_t child_cap;
	struct source_extent *ext; /* ext1, or a heap array */
	size_t next;
	size_t ext_cap; /* 0 while ext points at ext1 */
	struct source_extent ext1;
	uint64_t size;
	enum source_node_type type;
	unsigned depth;	    /* components below the root */
	bool had_relocated; /* isofs: listed an RRIP RE entry */
	char name[];	    /* NUL-terminated */
};

struct source {
	enum source_kind kind;
	int fd;	       /* image descriptor, or -1 */
	int dirfd;     /* directory root, or -1 */
	uint64_t size; /* image size */
	size_t max_nodes;
	unsigned max_depth;
	size_t nnodes;
	size_t nskipped;
	struct source_node *root;
	struct source_node *all; /* every node ever allocated */
	const char *names;
	char *label;
	bool has_time;
	int64_t time;
};

/*
 * Allocates a node named NAME (LEN bytes, not NUL-terminated) below PARENT
 * (NULL for the root) without linking it into PARENT's children.  Counts it
 * against max_nodes and PARENT's depth against max_depth.
 * Returns NULL with ERR set (-E2BIG or -ENOMEM).
 */
struct source_node *source_node_alloc(struct source *s,
				      struct source_node *parent,
				      const char *name, size_t len,
				      enum source_node_type type,
				      struct aero_error *err);

/* Appends CHILD to DIR's children (unsorted until source_dir_finish()). */
int source_dir_append(struct source_node *dir, struct source_node *child,
		      struct aero_error *err);

/*
 * Sorts DIR's children bytewise and drops later duplicates of a name
 * (first in directory order wins), logging each drop.
 */
void source_dir_finish(struct source *s, struct source_node *dir);

/* Appends an extent to file node N.  -E2BIG past 65536 extents. */
int source_node_add_extent(struct source_node *n, uint64_t off, uint64_t len,
			   struct aero_error *err);

/*
 * Whether NAME (LEN bytes) may be a node name: valid UTF-8, 1..255 bytes,
 * no '/', '\\', NUL or other control character, not "." or "..".
 * Returns NULL when it may, else why not.
 */
const char *source_name_invalid(const char *name, size_t len);

/* Logs that entry NAME in DIR was skipped because of WHY, and counts it. */
void source_skip(struct source *s, const struct source_node *dir,
		 const char *name, size_t len, const char *why);

/* Loaders: fill s->root and the descriptive fields. */
int isofs_load(struct source *s, struct aero_error *err);
int dirsource_load(struct source *s, struct aero_error *err);

#endif
