/*
 * log.h: leveled logging with a pluggable sink, after fuse_log.h.
 *
 * The default sink writes "aerofs: message" to stderr.  The daemon switches
 * to syslog once it detaches (log_use_syslog()).  The sink and threshold
 * are process-wide: they describe where the process writes, not the state
 * of any module, and are set only from main().
 */
#ifndef AEROFS_CATALOG_UTIL_LOG_H
#define AEROFS_CATALOG_UTIL_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_ERR = 3, /* same numbers as syslog's LOG_ERR... */
	LOG_LEVEL_WARNING = 4,
	LOG_LEVEL_NOTICE = 5,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

typedef void (*log_sink_fn)(enum log_level level, const char *fmt, va_list ap);

/* Logs at LEVEL if LEVEL <= the threshold (default LOG_LEVEL_NOTICE). */
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Sets the threshold; messages above it are dropped. */
void log_set_level(enum log_level level);

/* Replaces the sink; NULL restores the stderr sink. */
void log_set_sink(log_sink_fn sink);

/* Sets the program name used as prefix and as syslog ident. */
void log_set_program(const char *name);

/* Sends everything to syslog(3) with the program name as ident. */
void log_use_syslog(void);

#endif
