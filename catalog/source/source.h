/*
 * source.h: a virtio-win source as a read-only tree, without extraction.
 *
 * A source is an ISO9660 image (a file or a block device) or an already
 * extracted directory.  Opening it reads only directory structure: for an
 * image, the volume descriptors and directory records (isofs.h); for a
 * directory, the names and types below it.  File contents stay where they
 * are: an image file is described by its extents in the image, a directory
 * file by its path, opened only when asked.
 *
 * Names in an image come from the richest name set present: Rock Ridge NM,
 * then Joliet, then the ISO9660:1999 enhanced volume descriptor, then the
 * primary volume descriptor (";1" and a trailing '.' stripped).  Lookup is
 * ASCII case-insensitive, as the virtio-win layout needs (NetKVM, W7...).
 *
 * Symlinks, device nodes and other non-regular entries appear as
 * SOURCE_NODE_OTHER: never followed, never read.
 *
 * A source is immutable after source_open() and safe to read from several
 * threads.
 */
#ifndef AEROFS_CATALOG_SOURCE_SOURCE_H
#define AEROFS_CATALOG_SOURCE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "catalog/util/error.h"

struct source;
struct source_node;

enum source_kind {
	SOURCE_KIND_IMAGE, /* ISO9660 image in a file or block device */
	SOURCE_KIND_DIR,   /* extracted tree */
};

enum source_node_type {
	SOURCE_NODE_DIR,
	SOURCE_NODE_FILE,
	SOURCE_NODE_OTHER, /* symlink, device, socket...: ignored */
};

struct source_extent {
	uint64_t offset; /* byte offset in the image */
	uint64_t length;
};

/*
 * Limits that turn hostile input into errors instead of exhaustion.  A
 * zeroed struct, or NULL, means the defaults below.
 */
struct source_limits {
	size_t max_nodes;   /* default 200000 */
	unsigned max_depth; /* default 64 */
};

/*
 * Opens PATH: a regular file or block device holding an ISO9660 image, or a
 * directory.  Anything else, or a file that is not ISO9660 ("CD001" at
 * sector 16), fails with a message in ERR saying what was found (for
 * example that it looks like an HTML page).
 * Returns 0 and a new source in *OUT, or -errno:
 *   -ENOENT/-EACCES/...  PATH cannot be opened,
 *   -EINVAL              not an ISO9660 image,
 *   -EIO                 truncated or inconsistent image (message says where),
 *   -ENOTSUP             a feature aerofs does not read: zisofs-compressed
 *                        (Rock Ridge ZF) or interleaved files, High Sierra
 *                        images, logical blocks other than 2048 bytes,
 *   -EIO                 also: file data overlapping other file data, or a
 *                        multi-extent file larger than the image (isofs.c
 *                        check_extents() says what may be shared),
 *   -E2BIG/-ELOOP        a limit was exceeded (-ELOOP: a directory inside
 *                        itself; one listed under two folders is shown
 *                        under both).
 * The message in ERR starts with "PATH: " exactly once, so callers print
 * it without adding the path again.
 * A directory with more files than the soft RLIMIT_NOFILE leaves room for
 * raises it to the hard limit (a pack keeps one descriptor per file; see
 * catalog/util/fdlimit.h), and warns when even that is too low.
 * Every file extent is checked against the image size here, so a truncated
 * image fails at open, not at read.  Entries whose name cannot be served
 * (see source_skipped()) are left out with a warning, not an error.
 */
int source_open(const char *path, const struct source_limits *limits,
		struct source **out, struct aero_error *err);

/* Closes the source and frees every node (NULL allowed). */
void source_close(struct source *s);

enum source_kind source_kind(const struct source *s);

/*
 * Which names the tree uses: "rockridge", "joliet", "iso9660:1999",
 * "iso9660" or "directory".
 */
const char *source_names(const struct source *s);

/* Primary volume identifier, trailing blanks removed; NULL for a directory. */
const char *source_volume_label(const struct source *s);

/*
 * Volume modification time (or creation time when that is unset) of an
 * image as seconds since 1970 UTC; false when there is none (directories,
 * all-zero dates).
 */
bool source_volume_time(const struct source *s, int64_t *t);

/* Image size in bytes (0 for a directory). */
uint64_t source_size(const struct source *s);

/* The image descriptor, borrowed; -1 for a directory. */
int source_fd(const struct source *s);

/*
 * How many directory entries were left out of the tree, each with a
 * warning through log_msg(): names that are empty, longer than 255 bytes,
 * not UTF-8 (Joliet: not decodable UCS-2/UTF-16), "." or "..", or that
 * contain '/', '\\', NUL or another control character; later entries whose
 * name repeats an earlier one in the same directory (first in directory
 * order wins).  Not counted: "." and "..", associated files, Rock Ridge
 * relocated directories at their relocation place (RE: they appear where
 * their CL entry says) and the emptied "rr_moved" directory that held them.
 */
size_t source_skipped(const struct source *s);

/* Root directory.  Borrowed until source_close(). */
const struct source_node *source_root(const struct source *s);

const char *source_node_name(const struct source_node *n);
/* Parent directory, NULL for the root.  Borrowed. */
const struct source_node *source_node_parent(const struct source_node *n);
/*
 * Writes N's path from the root ("NetKVM/w7/amd64/netkvm.inf"; "" for the
 * root) into BUF (SIZE bytes, always NUL-terminated when SIZE > 0).
 * Returns the full length, as snprintf(); >= SIZE means truncated.
 */
size_t source_node_path(const struct source_node *n, char *buf, size_t size);
enum source_node_type source_node_type(const struct source_node *n);
/* File size in bytes; 0 for others. */
uint64_t source_node_size(const struct source_node *n);
size_t source_node_nchildren(const struct source_node *n);
/* Children in name order (bytewise); NULL past the end. */
const struct source_node *source_node_child(const struct source_node *n,
					    size_t i);
/* Child of DIR whose name equals NAME ignoring ASCII case, or NULL. */
const struct source_node *source_node_find(const struct source_node *dir,
					   const char *name);

/*
 * Image files: the extents that make up the content, in order (one unless
 * the file is multi-extent; zero for an empty file).  Borrowed.
 * Returns 0, or -EINVAL for a directory source or a non-file node.
 */
int source_node_extents(const struct source_node *n,
			const struct source_extent **ext, size_t *count);

/*
 * Directory sources: opens file N read-only (O_NOFOLLOW, O_CLOEXEC) and
 * returns a descriptor the caller owns, or -errno.  -EINVAL for images.
 * Out of descriptors, it raises the process's soft RLIMIT_NOFILE to the
 * hard limit once (catalog/util/fdlimit.h) and retries; -EMFILE means the
 * hard limit is too low for the tree.
 */
int source_node_open(const struct source *s, const struct source_node *n);

#endif
