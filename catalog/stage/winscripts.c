/*
 * winscripts.c: the Windows batch scripts (winscripts.h), from the C
 * strings the build generates out of catalog/stage/scripts/: one string
 * per CRLF line, NULL-terminated, joined here.
 */
#include "catalog/stage/winscripts.h"

#include <stdlib.h>
#include <string.h>

#include "catalog/stage/winscripts_text.h" /* generated */

static char *winscript_join(const char *const *lines, size_t *len)
{
	size_t n = 0, off = 0;
	char *s;

	for (size_t i = 0; lines[i]; i++)
		n += strlen(lines[i]);
	s = malloc(n + 1);
	if (!s)
		return NULL;
	for (size_t i = 0; lines[i]; i++) {
		size_t k = strlen(lines[i]);

		memcpy(s + off, lines[i], k);
		off += k;
	}
	s[off] = '\0';
	if (len)
		*len = off;
	return s;
}

char *winscript_setup_cmd(size_t *len)
{
	return winscript_join(winscript_setup, len);
}

char *winscript_uninstall_cmd(size_t *len)
{
	return winscript_join(winscript_uninstall, len);
}

char *winscript_verify_cmd(size_t *len)
{
	return winscript_join(winscript_verify, len);
}

char *winscript_install_cmd(size_t *len)
{
	return winscript_join(winscript_install, len);
}

char *winscript_testsigning_cmd(size_t *len)
{
	return winscript_join(winscript_testsigning, len);
}
