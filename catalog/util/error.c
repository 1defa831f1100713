/*
 * error.c: see error.h.
 */
#include "catalog/util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int aero_error_set(struct aero_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

void aero_error_prefix(struct aero_error *err, const char *fmt, ...)
{
	char prefix[256];
	char old[sizeof(err->msg)];
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	/* Truncation is fine: the start of the message says the most. */
	if (snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old) < 0)
		err->msg[0] = '\0';
}

void aero_error_clear(struct aero_error *err)
{
	if (!err)
		return;
	err->code = 0;
	err->msg[0] = '\0';
}
