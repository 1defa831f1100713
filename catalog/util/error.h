/*
 * error.h: an error code plus a human message, filled in by whoever fails.
 *
 * Every module below main reports failure as a negative errno return value;
 * when there is more to say than strerror() can (which field of which ISO
 * record, which INF line), the caller passes a struct aero_error and the
 * failing function writes the message there.  After libarchive's
 * archive_set_error(), without a handle.  Messages follow git: lower case,
 * no full stop, what failed first.
 */
#ifndef AEROFS_CATALOG_UTIL_ERROR_H
#define AEROFS_CATALOG_UTIL_ERROR_H

#include <stddef.h>

struct aero_error {
	int code;      /* negative errno, 0 when nothing failed */
	char msg[512]; /* NUL-terminated; empty when nothing failed */
};

/*
 * Records CODE (a negative errno) and a printf-style message in ERR, which
 * may be NULL.  Returns CODE, so a failure path reads
 * `return aero_error_set(err, -EINVAL, "...", ...);`.  An earlier message
 * is replaced.
 */
int aero_error_set(struct aero_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Prefixes the message already in ERR with "PREFIX: ", keeping the code.
 * Used to add context on the way up ("viostor.inf: line 12: ...").
 */
void aero_error_prefix(struct aero_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Clears ERR (NULL allowed). */
void aero_error_clear(struct aero_error *err);

#endif
