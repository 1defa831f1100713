/*
 * sbuf.h: a growable string and a list of owned strings, for the text the
 * catalog synthesizes (manifest, README, scripts, messages).
 *
 * Out of memory is sticky: once an append fails, every later append is a
 * no-op and sbuf_finish() returns NULL, so a builder of many appends
 * checks once at the end.  Not a general-purpose library: no removal, no
 * search beyond what the catalog needs.
 */
#ifndef AEROFS_CATALOG_UTIL_SBUF_H
#define AEROFS_CATALOG_UTIL_SBUF_H

#include <stdbool.h>
#include <stddef.h>

struct sbuf {
	char *buf; /* NUL-terminated when len > 0 */
	size_t len;
	size_t cap;
	bool oom;
};

#define SBUF_INIT                                                              \
	{                                                                      \
		NULL, 0, 0, false                                              \
	}

void sbuf_putc(struct sbuf *sb, char c);
void sbuf_puts(struct sbuf *sb, const char *s);
void sbuf_put(struct sbuf *sb, const void *data, size_t len);
void sbuf_printf(struct sbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Returns the string (caller frees; "" for an empty builder) and leaves SB
 * empty, or NULL (and frees everything) if an append ran out of memory.
 */
char *sbuf_finish(struct sbuf *sb, size_t *len);

/* Frees the contents and resets SB. */
void sbuf_release(struct sbuf *sb);

/* An ordered list of strings the list owns. */
struct strlist {
	char **v;
	size_t n;
	size_t cap;
};

#define STRLIST_INIT                                                           \
	{                                                                      \
		NULL, 0, 0                                                     \
	}

/* Appends a copy of S; returns 0 or -ENOMEM. */
int strlist_add(struct strlist *l, const char *s);
int strlist_addf(struct strlist *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* True if the list holds S (exact bytes, or ignoring ASCII case). */
bool strlist_has(const struct strlist *l, const char *s, bool nocase);
/* Sorts bytewise. */
void strlist_sort(struct strlist *l);
/* Joins with SEP into a new string (caller frees), NULL when out of memory. */
char *strlist_join(const struct strlist *l, const char *sep);
void strlist_free(struct strlist *l);

#endif
