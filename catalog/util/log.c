/*
 * log.c: see log.h.  The only mutable statics in the project live here:
 * where this process writes its log is a property of the process.
 */
#include "catalog/util/log.h"

#include <stdio.h>
#include <syslog.h>

static enum log_level log_threshold = LOG_LEVEL_NOTICE;
static log_sink_fn log_sink;
static const char *log_program = "aerofs";

static void log_stderr_sink(enum log_level level, const char *fmt, va_list ap)
{
	static const char *const names[] = {
		[LOG_LEVEL_ERR] = "error",
		[LOG_LEVEL_WARNING] = "warning",
		[LOG_LEVEL_NOTICE] = "",
		[LOG_LEVEL_INFO] = "",
		[LOG_LEVEL_DEBUG] = "debug",
	};
	const char *name = names[level];

	fprintf(stderr, "%s: %s%s", log_program, name, *name ? ": " : "");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

static void log_syslog_sink(enum log_level level, const char *fmt, va_list ap)
{
	vsyslog((int)level, fmt, ap);
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
