/*
 * sbuf.c: see sbuf.h.
 */
#include "catalog/util/sbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/util/checked.h"

static bool sbuf_reserve(struct sbuf *sb, size_t more)
{
	size_t need, cap;
	char *p;

	if (sb->oom)
		return false;
	if (ADD_OVERFLOW(sb->len, more, &need) || ADD_OVERFLOW(need, 1, &need))
		goto oom;
	if (need <= sb->cap)
		return true;
	cap = sb->cap ? sb->cap : 256;
	while (cap < need)
		if (MUL_OVERFLOW(cap, 2, &cap))
			goto oom;
	p = realloc(sb->buf, cap);
	if (!p)
		goto oom;
	sb->buf = p;
	sb->cap = cap;
	return true;
oom:
	sb->oom = true;
	return false;
}

void sbuf_put(struct sbuf *sb, const void *data, size_t len)
{
	if (!sbuf_reserve(sb, len))
		return;
	if (len)
		memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
}

void sbuf_putc(struct sbuf *sb, char c)
{
	sbuf_put(sb, &c, 1);
}

void sbuf_puts(struct sbuf *sb, const char *s)
{
	sbuf_put(sb, s, strlen(s));
}

void sbuf_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		sb->oom = true;
		return;
	}
	if (!sbuf_reserve(sb, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

char *sbuf_finish(struct sbuf *sb, size_t *len)
{
	char *s;

	if (sb->oom) {
		sbuf_release(sb);
		return NULL;
	}
	s = sb->buf ? sb->buf : strdup("");
	if (len)
		*len = sb->len;
	sb->buf = NULL;
	sb->len = sb->cap = 0;
	return s;
}

void sbuf_release(struct sbuf *sb)
{
	free(sb->buf);
	sb->buf = NULL;
	sb->len = sb->cap = 0;
	sb->oom = false;
}

int strlist_add(struct strlist *l, const char *s)
{
	char *copy;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		char **v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	l->v[l->n++] = copy;
	return 0;
}

int strlist_addf(struct strlist *l, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	s = malloc((size_t)n + 1);
	if (!s)
		return -ENOMEM;
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	r = strlist_add(l, s);
	free(s);
	return r;
}

bool strlist_has(const struct strlist *l, const char *s, bool nocase)
{
	for (size_t i = 0; i < l->n; i++)
		if (nocase ? !strcasecmp(l->v[i], s) : !strcmp(l->v[i], s))
			return true;
	return false;
}

static int strlist_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void strlist_sort(struct strlist *l)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), strlist_cmp);
}

char *strlist_join(const struct strlist *l, const char *sep)
{
	struct sbuf sb = SBUF_INIT;

	for (size_t i = 0; i < l->n; i++) {
		if (i)
			sbuf_puts(&sb, sep);
		sbuf_puts(&sb, l->v[i]);
	}
	return sbuf_finish(&sb, NULL);
}

void strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}
