/*
 * jsonout.h: deterministic JSON text from a cJSON tree.  Private to
 * catalog/.
 *
 * cJSON_Print() indents with tabs and prints numbers with "%1.15g" under
 * the current locale; the manifest needs 2-space indent, integers written
 * exactly, keys in insertion order and UTF-8 kept as is.  So: objects and
 * arrays one member per line, "[]" and "{}" for empty ones, integral
 * numbers as integers (the manifest has no others), strings escaped per
 * RFC 8259 §7 with invalid UTF-8 replaced by U+FFFD, a trailing LF.
 */
#ifndef AEROFS_CATALOG_JSONOUT_H
#define AEROFS_CATALOG_JSONOUT_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Returns the text (caller frees) and its length, or NULL when out of memory.
 */
char *jsonout_print(const cJSON *item, size_t *len);

#endif
