/*
 * winscripts.c: placeholder texts until the scripts module lands
 * (winscripts.h).  Each script says it is not built yet and fails, so
 * that nobody mistakes the media for a working one.
 */
#include "catalog/stage/winscripts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *winscript_placeholder(const char *name, size_t *len)
{
	char *s = NULL;
	int n = asprintf(&s, "@echo off\r\necho %s: not built yet\r\n"
			 "exit /b 1\r\n", name);

	if (n < 0)
		return NULL;
	*len = (size_t)n;
	return s;
}

char *winscript_setup_cmd(size_t *len)
{
	return winscript_placeholder("setup.cmd", len);
}

char *winscript_uninstall_cmd(size_t *len)
{
	return winscript_placeholder("uninstall.cmd", len);
}

char *winscript_verify_cmd(size_t *len)
{
	return winscript_placeholder("verify.cmd", len);
}
