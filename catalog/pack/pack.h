/*
 * pack.h: the pack tree, the one product of catalog/ and the one input of
 * fs/ and export/.
 *
 * A pack is an immutable tree of directories and regular files with
 * normalized metadata (fixed modes, one epoch for every time, sorted
 * children, stable inode numbers) and, for each file, a content reference:
 * a list of extents in source files (the virtio-win ISO, or files of an
 * extracted tree) or an in-memory blob (manifest.json, install.cmd...).
 * File data is never copied into memory; it is read on demand with pread()
 * from file descriptors the pack owns.
 *
 * A pack is built once with a pack_builder and never changes afterwards
 * (except that a builder may leave the hashing of file content to
 * pack_complete(), see there), so every read-only function here is safe
 * to call from any number of threads at once.  A pack is reference counted so that the FUSE daemon can
 * keep serving an old generation to files that are still open.
 *
 * Not here: where the content comes from (catalog/source.h), what goes in
 * (catalog/catalog.h), how it is served (fs/, export/).
 */
#ifndef AEROFS_CATALOG_PACK_PACK_H
#define AEROFS_CATALOG_PACK_PACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "catalog/util/error.h"

struct pack;
struct pack_node;
struct pack_builder;

enum pack_node_type {
	PACK_NODE_DIR,
	PACK_NODE_FILE,
};

/* Modes every node is served with. */
#define PACK_DIR_MODE 0555
#define PACK_FILE_MODE 0444

/*
 * Limits enforced by the builder (and therefore by everything that serves
 * a pack): a name is 1..PACK_NAME_MAX bytes of UTF-8 with no '/' or NUL and
 * is neither "." nor ".."; a path has at most PACK_DEPTH_MAX components.
 */
#define PACK_NAME_MAX 255
#define PACK_DEPTH_MAX 32
#define PACK_NODES_MAX 1000000

/*
 * The largest file a pack holds: 4 GiB - 1, what ISO9660 records in one
 * extent (ECMA-119 9.1.4, a 32-bit data length) and FAT32 stores (a 32-bit
 * file size).  Checked from the extent lengths before anything is read.
 */
#define PACK_FILE_MAX 0xffffffffull

/*
 * The volume label that images of the pack carry unless told otherwise:
 * chosen by whoever builds the pack (the profile), PACK_DEFAULT_LABEL when
 * nobody does.  At most PACK_LABEL_MAX bytes; each image format checks it
 * against its own character rules.
 */
#define PACK_LABEL_MAX 32
#define PACK_DEFAULT_LABEL "AEROFS"

/* One piece of a file's content: LENGTH bytes at OFFSET of source SRC. */
struct pack_extent {
	unsigned src; /* index returned by pack_builder_add_source() */
	uint64_t offset;
	uint64_t length;
};

/* ---- building ---------------------------------------------------------- */

/*
 * Starts an empty pack whose every timestamp is EPOCH (seconds since 1970,
 * UTC; may be negative).  Returns NULL when out of memory.
 */
struct pack_builder *pack_builder_new(int64_t epoch);

/*
 * Whether a build should give up (a daemon shutting down, a newer source
 * arrived); called from the building thread, between chunks of work.
 */
struct pack_cancel {
	bool (*stop)(void *ctx);
	void *ctx;
};

/*
 * Makes the builder give up: once CANCEL->stop() (CANCEL NULL: never)
 * returns true, adding a file fails with -ECANCELED between two chunks of
 * hashing, so that a build of a large source can be stopped.  CANCEL must
 * outlive the builder.
 */
void pack_builder_set_cancel(struct pack_builder *b,
			     const struct pack_cancel *cancel);

/* True if CANCEL (NULL allowed) says to stop now. */
static inline bool pack_cancelled(const struct pack_cancel *cancel)
{
	return cancel && cancel->stop(cancel->ctx);
}

/*
 * Defers hashing (call before adding anything).  By default a file's
 * content is read and hashed when it is added, so that the finished pack
 * knows every SHA-256.  A deferring builder only records extents (and
 * still refuses what it can refuse without reading: unknown sources,
 * extents past a source's end, sizes over PACK_FILE_MAX); the finished
 * pack then has its whole tree, every size and every plain blob, but the
 * digests of its extent-backed files, and the blobs that quote them
 * (pack_builder_add_blob_digests()), only once pack_complete() has run.
 * This is for a server that wants to answer for the tree before it has
 * read tens of megabytes of file content.
 */
void pack_builder_defer_hashes(struct pack_builder *b);

/*
 * Sets the volume label (1..PACK_LABEL_MAX bytes, copied).  Returns 0 or
 * -EINVAL.
 */
int pack_builder_set_label(struct pack_builder *b, const char *label);

/*
 * Registers a source file descriptor for extents to refer to.  The builder
 * dup()s FD (O_CLOEXEC); the caller keeps its own.  SIZE is the source size
 * at registration time, used to reject extents past its end.  Returns the
 * source index (>= 0) or -errno.
 *
 * The copy stays open as long as the pack: pack_node_span() hands it out.
 * So a pack of N source files holds N descriptors; when the process runs
 * out (EMFILE) the soft RLIMIT_NOFILE is raised to the hard limit once
 * (fdlimit.h) and the dup() retried.  -EMFILE means even the hard limit is
 * too low: the caller should say so, and the fix is a higher limit (ulimit
 * -n, systemd LimitNOFILE=).
 */
int pack_builder_add_source(struct pack_builder *b, int fd, uint64_t size);

/*
 * Adds directory PATH ("win7/x86", no leading or trailing '/') and any
 * missing parents.  Adding an existing directory is not an error.
 * Returns 0 or -errno: -EINVAL for an invalid name, -EEXIST when a file
 * is in the way or a path differs from an existing one only in case as
 * Windows compares names (upcase.h: "Ä" and "ä" too; the pack is meant for
 * Windows), -ENAMETOOLONG, -ELOOP (too deep), -EFBIG (too many nodes).
 */
int pack_builder_add_dir(struct pack_builder *b, const char *path,
			 struct aero_error *err);

/*
 * Adds file PATH (parents are created) whose content is the concatenation
 * of N extents.  The content is read once here to compute its SHA-256, so
 * a truncated or unreadable source fails now (-EIO) rather than while
 * serving; a file whose extent list equals an earlier file's takes that
 * file's digest without reading again (one content under two names).  A
 * file larger than PACK_FILE_MAX is -EFBIG before anything is read.  If
 * SHA256 is not NULL the digest is copied there (all zero when the
 * builder defers hashing: pack_builder_defer_hashes()).
 * Returns 0 or -errno (see pack_builder_add_dir(); -EEXIST for a duplicate).
 */
int pack_builder_add_file(struct pack_builder *b, const char *path,
			  const struct pack_extent *ext, size_t n,
			  unsigned char sha256[32], struct aero_error *err);

/*
 * Adds file PATH whose content is a copy of the LEN bytes at DATA.
 * Same return values and SHA256 behaviour as pack_builder_add_file().
 */
int pack_builder_add_blob(struct pack_builder *b, const char *path,
			  const void *data, size_t len,
			  unsigned char sha256[32], struct aero_error *err);

/*
 * Where a blob quotes a digest: the 64 bytes at OFFSET of the blob are
 * the lowercase hexadecimal SHA-256 of file PATH of the same pack (which
 * must already be added and must not itself quote digests).
 */
struct pack_digest_slot {
	uint64_t offset;
	const char *path;
};

/*
 * Adds blob PATH (a copy of LEN bytes at DATA) whose N SLOTS are filled
 * with the digests they name: at once when the builder hashes as it goes,
 * by pack_complete() when it defers (the blob's size is known either way,
 * because a hex digest has a fixed length: what is at the slots in DATA
 * does not matter).  Until then reading it fails with -EAGAIN.  Returns 0
 * or -errno as pack_builder_add_blob(); -EINVAL for a slot outside the
 * blob or naming a directory, a missing file or a blob with slots.
 */
int pack_builder_add_blob_digests(struct pack_builder *b, const char *path,
				  const void *data, size_t len,
				  const struct pack_digest_slot *slots,
				  size_t n, struct aero_error *err);

/*
 * Adds file PATH whose content is that of file N of the finished pack
 * FROM, without reading it: a blob is copied; extents are copied with
 * their sources registered in B (once per source of FROM, however many
 * files refer to it: the descriptor dup()ed as by
 * pack_builder_add_source(), with the size and the stat FROM recorded,
 * so pack_source_check() still compares with the file as it was when
 * FROM was built).  The SHA-256 is N's, copied to SHA256 if not NULL.
 * FROM may be released afterwards; it must be hashed (pack_hashed()).
 * Returns 0 or -errno as pack_builder_add_file() (-EISDIR when N is a
 * directory, -EMFILE as pack_builder_add_source(), -EAGAIN when FROM is
 * not hashed).
 */
int pack_builder_add_copy(struct pack_builder *b, const char *path,
			  const struct pack *from, const struct pack_node *n,
			  unsigned char sha256[32], struct aero_error *err);

/* True if PATH, ignoring case as Windows does, is in the builder. */
bool pack_builder_has(const struct pack_builder *b, const char *path);

/*
 * Freezes the tree: sorts children by name (bytewise), numbers inodes
 * breadth-first in that order (root is 1; a directory's children get
 * consecutive numbers), counts links.  The numbering depends only on the
 * set of paths, not on the order they were added in.  Consumes B in every
 * case.  Returns 0 and a pack with one reference in *OUT, or -errno.
 */
int pack_builder_finish(struct pack_builder *b, struct pack **out);

/* Frees a builder that will not be finished (NULL allowed). */
void pack_builder_free(struct pack_builder *b);

/* ---- deferred hashing --------------------------------------------------- */

/*
 * Whether every digest of P is known: 0 when it is (always, unless the
 * builder deferred hashing), -EAGAIN until pack_complete() has succeeded,
 * or the error pack_complete() failed with (-EIO, -ECANCELED, -ENOMEM),
 * for good.  Thread-safe; a 0 here makes the digests and the blobs with
 * digest slots visible to the calling thread.
 */
int pack_hashed(const struct pack *p);

/*
 * Reads and hashes every file whose digest was deferred (in source order,
 * once per content as pack_builder_add_file() would), then fills the
 * digest slots.  Returns 0 (also when there was nothing to do), -EIO
 * with the file in ERR when a source cannot supply a file (it shrank, was
 * rewritten in place, or the disk failed), -ECANCELED when CANCEL (NULL
 * allowed) said to stop between two chunks, -ENOMEM.  The outcome is what
 * pack_hashed() reports from then on.  To be called once, by the pack's
 * owner; other threads may meanwhile use everything pack_hashed() does not
 * guard (the tree, sizes, spans and reads of files without digest slots).
 */
int pack_complete(struct pack *p, const struct pack_cancel *cancel,
		  struct aero_error *err);

/* ---- the immutable pack ------------------------------------------------ */

/* Takes another reference; returns P.  Thread-safe. */
struct pack *pack_ref(struct pack *p);

/* Drops a reference; the last one closes the sources and frees all nodes
 * (and every pointer borrowed from them).  NULL allowed.  Thread-safe. */
void pack_unref(struct pack *p);

/* The epoch every time in the pack is set to. */
int64_t pack_epoch(const struct pack *p);

/* The volume label (see PACK_LABEL_MAX).  Borrowed, lives as the pack. */
const char *pack_label(const struct pack *p);

/* Number of nodes, root included; inode numbers are 1..pack_node_count(). */
size_t pack_node_count(const struct pack *p);

/* Total bytes of file content (sum of file sizes, hard to compute later). */
uint64_t pack_content_bytes(const struct pack *p);

/* The root directory (inode 1).  Borrowed, valid until the pack is freed. */
const struct pack_node *pack_root(const struct pack *p);

/* Node with inode INO, or NULL if out of range.  Borrowed. */
const struct pack_node *pack_node_by_ino(const struct pack *p, uint64_t ino);

/* Child of directory DIR named NAME (exact bytes), or NULL.  O(log n). */
const struct pack_node *pack_lookup(const struct pack_node *dir,
				    const char *name);

/* Node at PATH relative to the root ("" is the root), or NULL. */
const struct pack_node *pack_lookup_path(const struct pack *p,
					 const char *path);

enum pack_node_type pack_node_type(const struct pack_node *n);
bool pack_node_is_dir(const struct pack_node *n);
/* Last path component; "" for the root.  Borrowed. */
const char *pack_node_name(const struct pack_node *n);
/* Full path relative to the root, no leading '/'; "" for the root. */
const char *pack_node_path(const struct pack_node *n);
uint64_t pack_node_ino(const struct pack_node *n);
/* File: content length.  Directory: 0. */
uint64_t pack_node_size(const struct pack_node *n);
/* Directory: 2 + number of subdirectories.  File: 1. */
unsigned pack_node_nlink(const struct pack_node *n);
/* PACK_DIR_MODE or PACK_FILE_MODE (permission bits only). */
unsigned pack_node_mode(const struct pack_node *n);
/* Parent directory; the root is its own parent. */
const struct pack_node *pack_node_parent(const struct pack_node *n);
size_t pack_node_nchildren(const struct pack_node *n);
/* I-th child in name order, or NULL past the end. */
const struct pack_node *pack_node_child(const struct pack_node *n, size_t i);
/* SHA-256 of a file's content (all zero for directories, and for files
 * of a pack whose pack_hashed() is not 0).  Borrowed. */
const unsigned char *pack_node_sha256(const struct pack_node *n);

/*
 * Whether N's bytes can be read now: false only for a blob with digest
 * slots while P is not hashed (pack_hashed() is -EAGAIN).  Thread-safe.
 */
bool pack_node_ready(const struct pack *p, const struct pack_node *n);

/*
 * Reads up to LEN bytes of file N at OFF into BUF.  Returns the number of
 * bytes read (fewer than LEN only at end of file, 0 at or past it), or
 * -EISDIR, or -EIO when a source can no longer supply the range (it was
 * truncated or replaced underneath us), or for a blob with digest slots
 * -EAGAIN until the pack is hashed (-EIO if hashing failed).  Thread-safe
 * (pread only).
 */
ssize_t pack_node_read(const struct pack *p, const struct pack_node *n,
		       void *buf, size_t len, uint64_t off);

/*
 * Where bytes live, for zero-copy serving.  One span is a run of LEN > 0
 * bytes that all come from the same place:
 *
 *   PACK_SPAN_FD    LEN bytes at FD_OFFSET of source descriptor FD
 *   PACK_SPAN_MEM   LEN bytes at MEM (a blob file, or image metadata)
 *   PACK_SPAN_ZERO  LEN zero bytes (image padding; never for a file)
 *
 * Unused fields are -1 (FD) and NULL (MEM).  FD and MEM are borrowed from
 * the pack: valid while it lives, never to be closed or freed.  The
 * descriptor is shared: use pread() or splice() with an explicit offset,
 * never its file position.  An FD span says where the bytes should be, not
 * that they still are: the source may have been truncated or rewritten
 * since the pack was built, so a caller that hands the descriptor to
 * someone who would turn a short read into zeros (FUSE zero-fills a short
 * reply) or trust the bytes must call pack_source_check() first, as
 * pack_node_read() does.
 *
 * The same type describes every image of a pack (export/image/image.h), so
 * that a server has one reply path for files and images alike.
 */
enum pack_span_kind {
	PACK_SPAN_FD,
	PACK_SPAN_MEM,
	PACK_SPAN_ZERO,
};

struct pack_span {
	enum pack_span_kind kind;
	unsigned src; /* FD: the source index (pack_source_check) */
	int fd;
	uint64_t fd_offset;
	const void *mem;
	uint64_t len;
};

/*
 * Whether source SRC is still the file registered: same inode, size and
 * modification time (a file renamed over or deleted keeps the old inode
 * behind the pack's descriptor, and stays valid; one rewritten in place
 * does not).  Returns 0, -EIO when it changed, -EINVAL for no such source.
 * pack_node_read() checks this after every read, so a read of a rewritten
 * source fails with -EIO rather than returning bytes of two versions.
 * Thread-safe (fstat only).
 */
int pack_source_check(const struct pack *p, unsigned src);

/*
 * Reads every extent-backed file again and checks it against its SHA-256,
 * and every source against pack_source_check(): for a writer that must
 * not publish an output mixing two versions of a source that changed
 * while it was written.  Returns 0, or -EIO (with the file in ERR),
 * -ENOMEM, or -EAGAIN when the pack is not hashed (pack_hashed()).
 * O(content); thread-safe.
 */
int pack_verify(const struct pack *p, struct aero_error *err);

/*
 * The span of file N that starts at byte OFF; LEN runs to the end of the
 * extent (or blob).  Returns 0, -EISDIR, -EINVAL when OFF is at or past
 * the end of the file, or -EAGAIN / -EIO as pack_node_read() for a blob
 * with digest slots.  Thread-safe.
 */
int pack_node_span(const struct pack *p, const struct pack_node *n,
		   uint64_t off, struct pack_span *span);

#endif
