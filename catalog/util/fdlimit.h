/*
 * fdlimit.h: the process's open-file limit, raised when a pack needs it.
 *
 * A pack keeps one descriptor per source file for as long as it lives, so
 * that pack_node_span() can hand a descriptor out for zero-copy serving
 * (splice) and a file stays readable when its directory entry is replaced.
 * A directory source of about 1,200 files needs more than systemd's default
 * soft RLIMIT_NOFILE of 1,024 (systemd.exec(5): "LimitNOFILE=", whose hard
 * default is 524,288 exactly so that programs can raise the soft limit
 * themselves).  aerofs never calls select(), whose fd_set ends at
 * descriptor 1,023, so a higher limit is safe.
 *
 * These change process state (setrlimit), not memory: they are safe from
 * any thread but are meant for the loading path, not for the serving one.
 */
#ifndef AEROFS_CATALOG_UTIL_FDLIMIT_H
#define AEROFS_CATALOG_UTIL_FDLIMIT_H

#include <stddef.h>

/*
 * Makes room for at least NEED more descriptors than DESCRIPTORS_IN_USE
 * by raising the soft RLIMIT_NOFILE, up to the hard limit.  Returns 0 when
 * the soft limit now allows it, -EMFILE when even the hard limit does not
 * (the soft limit is then left at the hard limit), or -errno from
 * getrlimit()/setrlimit().
 */
int fdlimit_reserve(size_t in_use, size_t need);

/*
 * Raises the soft RLIMIT_NOFILE to the hard limit.  Returns 1 when it was
 * raised, 0 when it already was at the hard limit, or -errno.
 */
int fdlimit_raise(void);

/* The soft and hard limits, for messages; 0 when unknown. */
void fdlimit_get(unsigned long *soft, unsigned long *hard);

#endif
