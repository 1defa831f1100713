/*
 * tree.h: a pack tree written out as a plain directory tree.
 *
 * Every directory gets mode 0755 and every file 0644 (set explicitly, so
 * the umask does not matter), and every mtime and atime is the pack epoch,
 * directories stamped after their contents.  Content is streamed from
 * pack_node_read() in 64 KiB chunks.  Nothing is synced here: the caller
 * syncs the whole tree once (syncfs) before renaming it into place.
 *
 * Not here: choosing or replacing the output directory (main.c).
 */
#ifndef AEROFS_EXPORT_ARCHIVE_TREE_H
#define AEROFS_EXPORT_ARCHIVE_TREE_H

#include <stdint.h>

#include "catalog/util/error.h"
#include "catalog/pack/pack.h"

/* As zip_progress_fn: content bytes so far; non-zero cancels. */
typedef int (*tree_progress_fn)(void *ctx, uint64_t done);

struct tree_result {
	uint64_t files;
	uint64_t dirs;	/* not counting the top directory */
	uint64_t bytes; /* file content written */
};

/*
 * Writes the contents of PACK into the empty directory DIRFD (which is
 * itself given mode 0755 and the epoch).  Returns 0 or -errno with ERR
 * (-EEXIST if DIRFD was not empty, -ENOSPC, -EIO from a source...).  On
 * error the directory holds a partial tree; the caller removes it.
 */
int tree_write(const struct pack *pack, int dirfd, tree_progress_fn progress,
	       void *ctx, struct tree_result *result, struct aero_error *err);

#endif
