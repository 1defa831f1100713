/*
 * jsonout.c: see jsonout.h.  Printing and checked building only; parsing
 * is cJSON's.
 */
#include "catalog/util/jsonout.h"

#include <stdbool.h>
#include <stdint.h>

#include "catalog/util/sbuf.h"
#include "catalog/util/utf.h"

static void jsonout_string(struct sbuf *sb, const char *str)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");

	sbuf_putc(sb, '"');
	while (*s) {
		uint32_t cp;
		size_t n;

		switch (*s) {
		case '"':
			sbuf_puts(sb, "\\\"");
			s++;
			continue;
		case '\\':
			sbuf_puts(sb, "\\\\");
			s++;
			continue;
		case '\n':
			sbuf_puts(sb, "\\n");
			s++;
			continue;
		case '\r':
			sbuf_puts(sb, "\\r");
			s++;
			continue;
		case '\t':
			sbuf_puts(sb, "\\t");
			s++;
			continue;
		default:
			break;
		}
		if (*s < 0x20 || *s == 0x7f) {
			sbuf_printf(sb, "\\u%04x", *s);
			s++;
			continue;
		}
		/*
		 * 4 is safe on a C string: decoding stops at the first
		 * byte that is not a continuation byte, the NUL included.
		 */
		n = utf8_get(s, 4, &cp);
		if (!n) {
			sbuf_puts(sb, "\xef\xbf\xbd");
			s++;
			continue;
		}
		sbuf_put(sb, s, n);
		s += n;
	}
	sbuf_putc(sb, '"');
}

static void jsonout_indent(struct sbuf *sb, unsigned depth)
{
	for (unsigned i = 0; i < depth; i++)
		sbuf_puts(sb, "  ");
}

static void jsonout_number(struct sbuf *sb, double v)
{
	/* the range test is false for NaN and infinities */
	if (v > -9007199254740992.0 && v < 9007199254740992.0 &&
	    (double)(long long)v == v)
		sbuf_printf(sb, "%lld", (long long)v);
	else
		sbuf_puts(sb, "null"); /* never produced by the catalog */
}

struct jsonout_at {
	jsonout_at_fn fn;
	void *ctx;
};

static void jsonout_item(struct sbuf *sb, const cJSON *it, unsigned depth,
			 const struct jsonout_at *at)
{
	const cJSON *c;
	bool obj;

	if (cJSON_IsNull(it) || cJSON_IsInvalid(it)) {
		sbuf_puts(sb, "null");
		return;
	}
	if (cJSON_IsTrue(it)) {
		sbuf_puts(sb, "true");
		return;
	}
	if (cJSON_IsFalse(it)) {
		sbuf_puts(sb, "false");
		return;
	}
	if (cJSON_IsNumber(it)) {
		jsonout_number(sb, it->valuedouble);
		return;
	}
	if (cJSON_IsString(it) || cJSON_IsRaw(it)) {
		if (at->fn)
			at->fn(at->ctx, it, sb->len + 1);
		jsonout_string(sb, it->valuestring);
		return;
	}
	obj = cJSON_IsObject(it);
	if (!it->child) {
		sbuf_puts(sb, obj ? "{}" : "[]");
		return;
	}
	sbuf_putc(sb, obj ? '{' : '[');
	for (c = it->child; c; c = c->next) {
		sbuf_putc(sb, '\n');
		jsonout_indent(sb, depth + 1);
		if (obj) {
			jsonout_string(sb, c->string);
			sbuf_puts(sb, ": ");
		}
		jsonout_item(sb, c, depth + 1, at);
		if (c->next)
			sbuf_putc(sb, ',');
	}
	sbuf_putc(sb, '\n');
	jsonout_indent(sb, depth);
	sbuf_putc(sb, obj ? '}' : ']');
}

char *jsonout_print_at(const cJSON *item, size_t *len, jsonout_at_fn fn,
		       void *ctx)
{
	const struct jsonout_at at = { fn, ctx };
	struct sbuf sb = SBUF_INIT;

	jsonout_item(&sb, item, 0, &at);
	sbuf_putc(&sb, '\n');
	return sbuf_finish(&sb, len);
}

char *jsonout_print(const cJSON *item, size_t *len)
{
	return jsonout_print_at(item, len, NULL, NULL);
}

cJSON *jsonout_add(cJSON *parent, const char *key, cJSON *item, bool *oom)
{
	bool ok;

	if (!item || !parent) {
		cJSON_Delete(item);
		*oom = true;
		return NULL;
	}
	/* both fail only on NULL arguments or a key that cannot be copied */
	ok = key ? cJSON_AddItemToObject(parent, key, item) :
		   cJSON_AddItemToArray(parent, item);
	if (!ok) {
		cJSON_Delete(item);
		*oom = true;
		return NULL;
	}
	return item;
}

cJSON *jsonout_add_str(cJSON *parent, const char *key, const char *s, bool *oom)
{
	return jsonout_add(parent, key,
			   s ? cJSON_CreateString(s) : cJSON_CreateNull(), oom);
}

cJSON *jsonout_add_num(cJSON *parent, const char *key, double v, bool *oom)
{
	return jsonout_add(parent, key, cJSON_CreateNumber(v), oom);
}

cJSON *jsonout_add_bool(cJSON *parent, const char *key, bool v, bool *oom)
{
	return jsonout_add(parent, key, cJSON_CreateBool(v), oom);
}

cJSON *jsonout_add_obj(cJSON *parent, const char *key, bool *oom)
{
	return jsonout_add(parent, key, cJSON_CreateObject(), oom);
}

cJSON *jsonout_add_arr(cJSON *parent, const char *key, bool *oom)
{
	return jsonout_add(parent, key, cJSON_CreateArray(), oom);
}
