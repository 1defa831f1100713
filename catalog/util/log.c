/*
 * log.c: see log.h.  The only mutable statics in the project live here:
 * where this process writes its log is a property of the process.
 */
#include "catalog/util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>

#include "catalog/util/termesc.h"

static enum log_level log_threshold = LOG_LEVEL_NOTICE;
static log_sink_fn log_sink;
static const char *log_program = "aerofs";

/*
 * The message, formatted, with control characters escaped (termesc.h):
 * messages quote names and INF values from the source, which must not
 * reach a terminal as commands.  NULL when out of memory.
 */
static char *safe_message(const char *fmt, va_list ap)
{
	char *raw = NULL, *safe;

	if (vasprintf(&raw, fmt, ap) < 0)
		return NULL;
	if (!termesc_needed(raw))
		return raw;
	safe = termesc_dup(raw);
	free(raw);
	return safe;
}

static void log_stderr_sink(enum log_level level, const char *fmt, va_list ap)
{
	static const char *const names[] = {
		[LOG_LEVEL_ERR] = "error",   [LOG_LEVEL_WARNING] = "warning",
		[LOG_LEVEL_NOTICE] = "",     [LOG_LEVEL_INFO] = "",
		[LOG_LEVEL_DEBUG] = "debug",
	};
	const char *name = names[level];
	char *msg = safe_message(fmt, ap);

	fprintf(stderr, "%s: %s%s%s\n", log_program, name, *name ? ": " : "",
		msg ? msg : fmt);
	free(msg);
}

static void log_syslog_sink(enum log_level level, const char *fmt, va_list ap)
{
	char *msg = safe_message(fmt, ap);

	syslog((int)level, "%s", msg ? msg : fmt);
	free(msg);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_threshold)
		return;
	va_start(ap, fmt);
	(log_sink ? log_sink : log_stderr_sink)(level, fmt, ap);
	va_end(ap);
}

void log_set_level(enum log_level level)
{
	log_threshold = level;
}

void log_set_sink(log_sink_fn sink)
{
	log_sink = sink;
}

void log_set_program(const char *name)
{
	log_program = name;
}

void log_use_syslog(void)
{
	openlog(log_program, LOG_PID, LOG_DAEMON);
	log_sink = log_syslog_sink;
}
