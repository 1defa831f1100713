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
#ifndef AEROFS_CATALOG_UTIL_JSONOUT_H
#define AEROFS_CATALOG_UTIL_JSONOUT_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

/* Returns the text (caller frees) and its length, or NULL when out of memory.
 */
char *jsonout_print(const cJSON *item, size_t *len);

/*
 * jsonout_print(), and for every string value printed (not keys) a call
 * AT(CTX, VALUE, OFFSET) with the offset in the text of its first
 * character after the opening quote, in text order: how a caller finds
 * where a value went without searching the text.
 */
typedef void (*jsonout_at_fn)(void *ctx, const cJSON *value, size_t offset);
char *jsonout_print_at(const cJSON *item, size_t *len, jsonout_at_fn at,
		       void *ctx);

/*
 * Checked tree building.  cJSON's own adders fail silently (a NULL from a
 * create is ignored, an item whose key could not be copied is left
 * unattached), which would leave a manifest short of a key with nothing to
 * tell.  Each of these attaches ITEM, or a new value, to PARENT: under KEY
 * if PARENT is an object, at the end if KEY is NULL (PARENT an array).  It
 * returns the attached item; on any failure (ITEM or PARENT NULL, no memory
 * for the value or the key) it frees ITEM, sets *OOM and returns NULL, so
 * a builder makes all its additions and tests *OOM once at the end.
 */
cJSON *jsonout_add(cJSON *parent, const char *key, cJSON *item, bool *oom);
/* S as a string, or JSON null when S is NULL. */
cJSON *jsonout_add_str(cJSON *parent, const char *key, const char *s,
		       bool *oom);
cJSON *jsonout_add_num(cJSON *parent, const char *key, double v, bool *oom);
cJSON *jsonout_add_bool(cJSON *parent, const char *key, bool v, bool *oom);
cJSON *jsonout_add_obj(cJSON *parent, const char *key, bool *oom);
cJSON *jsonout_add_arr(cJSON *parent, const char *key, bool *oom);

#endif
