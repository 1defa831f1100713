/*
 * termesc.c: control characters escaped for a terminal (termesc.h).
 */
#include "catalog/util/termesc.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "catalog/util/sbuf.h"
#include "catalog/util/utf.h"

/* Length of the character at P if it is kept as is, else 0. */
static size_t termesc_keep(const unsigned char *p, size_t avail)
{
	uint32_t cp;
	size_t k;

	if (*p < 0x80)
		return (*p >= 0x20 && *p != 0x7f) || *p == '\t' ? 1 : 0;
	k = utf8_get(p, avail, &cp);
	if (!k || (cp >= 0x80 && cp <= 0x9f))
		return 0;
	return k;
}

bool termesc_needed(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = s ? strlen(s) : 0;

	for (size_t i = 0, k; i < len; i += k)
		if (!(k = termesc_keep(p + i, len - i)))
			return true;
	return false;
}

char *termesc_dup(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	struct sbuf sb = SBUF_INIT;
	size_t len;

	if (!s)
		return NULL;
	len = strlen(s);
	for (size_t i = 0; i < len;) {
		size_t k = termesc_keep(p + i, len - i);
		uint32_t cp;

		if (k) {
			sbuf_put(&sb, p + i, k);
			i += k;
			continue;
		}
		k = p[i] >= 0x80 ? utf8_get(p + i, len - i, &cp) : 0;
		if (k) {
			sbuf_printf(&sb, "\\u%04X", (unsigned)cp);
			i += k;
		} else {
			sbuf_printf(&sb, "\\x%02X", p[i]);
			i++;
		}
	}
	return sbuf_finish(&sb, NULL);
}
