/*
 * inf.c: parses a Windows driver INF into sections and lines, substitutes
 * %strings%, and extracts what inf.h names.
 *
 * The work is in four passes over a buffer the caller owns: decode to
 * UTF-8 (BOM, NUL-ratio votes for BOM-less UTF-16LE, UTF-8 validation,
 * Latin-1 fallback), split into logical lines (comments, '\'
 * continuation, key '=' fields with quotes), collect [Strings*] and then
 * substitute every other line, and finally walk the lines once for the
 * accessors.  Sections, strings and the deduplicated outputs sit in hash
 * tables so that nothing is quadratic in the input, and every allocation
 * comes from one arena with a budget so hostile input cannot make the
 * parser allocate without bound.
 *
 * It does not interpret install semantics (DestinationDirs, registry
 * values other than CoInstallers32, Include/Needs), and it never looks at
 * the files an INF names: the caller checks their existence.
 */
#include "catalog/formats/inf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/util/checked.h"
#include "catalog/util/utf.h"

/*
 * Limits.  Real INFs have at most a few thousand lines and a hundred
 * sections; these leave a wide margin while bounding memory.
 * MS "INF Strings Section": a substituted string may be 4096 characters;
 * we allow more but not without bound.
 */
#define INF_MAX_LINES (256u * 1024)
#define INF_MAX_SECTIONS (64u * 1024)
#define INF_MAX_FIELD (64u * 1024)
#define INF_ARENA_BUDGET (96u << 20)

/* --- arena -------------------------------------------------------------- */

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, size;
	max_align_t data[];
};

struct arena {
	struct arena_chunk *head;
	size_t total;	  /* bytes of chunks allocated so far */
	bool over_budget; /* last failure: the budget, not ENOMEM */
};

static void *arena_alloc(struct arena *a, size_t n)
{
	struct arena_chunk *c = a->head;
	size_t size, round;

	/* Round to the strictest alignment so any object fits. */
	if (ADD_OVERFLOW(n, sizeof(max_align_t) - 1, &round))
		return NULL;
	round -= round % sizeof(max_align_t);
	if (c && c->size - c->used >= round) {
		void *p = (char *)c->data + c->used;

		c->used += round;
		return p;
	}
	size = round > 60000 ? round : 60000;
	if (a->total + size > INF_ARENA_BUDGET) {
		a->over_budget = true;
		return NULL;
	}
	c = malloc(sizeof(*c) + size);
	if (!c)
		return NULL;
	a->total += size;
	c->size = size;
	c->used = round;
	c->next = a->head;
	a->head = c;
	return c->data;
}

static char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

static void arena_free(struct arena *a)
{
	while (a->head) {
		struct arena_chunk *next = a->head->next;

		free(a->head);
		a->head = next;
	}
}

/*
 * Grows the vector whose pointer is at VP (of *CAP elements of SIZE bytes)
 * to hold NEED elements.  The pointer is read and written with memcpy() so
 * that any element type can use this without aliasing it as void *.
 */
static int vec_reserve(void *vp, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 16, bytes;
	void *v, *n;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		if (MUL_OVERFLOW(ncap, (size_t)2, &ncap))
			return -ENOMEM;
	if (MUL_OVERFLOW(ncap, size, &bytes))
		return -ENOMEM;
	memcpy(&v, vp, sizeof(v));
	n = realloc(v, bytes);
	if (!n)
		return -ENOMEM;
	memcpy(vp, &n, sizeof(n));
	*cap = ncap;
	return 0;
}

/* --- ASCII case folding and a case-insensitive hash map ----------------- */

static int fold(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static bool ieq(const char *a, const char *b)
{
	while (*a && fold((unsigned char)*a) == fold((unsigned char)*b)) {
		a++;
		b++;
	}
	return *a == *b;
}

static bool iprefix(const char *s, const char *prefix)
{
	while (*prefix) {
		if (fold((unsigned char)*s) != fold((unsigned char)*prefix))
			return false;
		s++;
		prefix++;
	}
	return true;
}

/*
 * SipHash-2-4 (Aumasson and Bernstein, 2012) of the LEN bytes at P under
 * KEY, ASCII-folded when FOLD.  The tables below index by the low bits of
 * a hash, and an unkeyed hash lets an INF pick keys that all land in one
 * slot: FNV-1a's low bits depend only on the low bits of its state, so
 * 58000 such [Strings] keys are found in under a second, and they made
 * parsing 1 MiB take 6 s.  The key comes from the whole input
 * (inf_parse()), so it is deterministic yet cannot be chosen apart from
 * the names it must break.
 */
#define SIP_ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIP_ROUND(v0, v1, v2, v3)                                              \
	do {                                                                   \
		v0 += v1;                                                      \
		v1 = SIP_ROTL(v1, 13);                                         \
		v1 ^= v0;                                                      \
		v0 = SIP_ROTL(v0, 32);                                         \
		v2 += v3;                                                      \
		v3 = SIP_ROTL(v3, 16);                                         \
		v3 ^= v2;                                                      \
		v0 += v3;                                                      \
		v3 = SIP_ROTL(v3, 21);                                         \
		v3 ^= v0;                                                      \
		v2 += v1;                                                      \
		v1 = SIP_ROTL(v1, 17);                                         \
		v1 ^= v2;                                                      \
		v2 = SIP_ROTL(v2, 32);                                         \
	} while (0)

static uint64_t siphash(const uint64_t key[2], const unsigned char *p,
			size_t len, bool fold_case)
{
	uint64_t v0 = 0x736f6d6570736575ull ^ key[0];
	uint64_t v1 = 0x646f72616e646f6dull ^ key[1];
	uint64_t v2 = 0x6c7967656e657261ull ^ key[0];
	uint64_t v3 = 0x7465646279746573ull ^ key[1];
	uint64_t m = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned c = fold_case ? (unsigned)fold(p[i]) : p[i];

		/* Words are read little-endian. */
		m |= (uint64_t)c << (8 * (i % 8));
		if (i % 8 == 7) {
			v3 ^= m;
			SIP_ROUND(v0, v1, v2, v3);
			SIP_ROUND(v0, v1, v2, v3);
			v0 ^= m;
			m = 0;
		}
	}
	m |= (uint64_t)len << 56;
	v3 ^= m;
	SIP_ROUND(v0, v1, v2, v3);
	SIP_ROUND(v0, v1, v2, v3);
	v0 ^= m;
	v2 ^= 0xff;
	for (int i = 0; i < 4; i++)
		SIP_ROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

static uint32_t ihash(const uint64_t key[2], const char *s)
{
	return (uint32_t)siphash(key, (const unsigned char *)s, strlen(s),
				 true);
}

struct hslot {
	const char *key; /* NULL: empty slot */
	uint32_t hash;
	uint32_t val;
};

struct hmap {
	struct hslot *slots;
	size_t cap; /* power of two */
	size_t count;
	uint64_t key[2]; /* ihash() key, set before first use */
};

static struct hslot *hmap_slot(const struct hmap *h, const char *key,
			       uint32_t hash)
{
	size_t i = hash & (h->cap - 1);

	for (;;) {
		struct hslot *s = &h->slots[i];

		if (!s->key || (s->hash == hash && ieq(s->key, key)))
			return s;
		i = (i + 1) & (h->cap - 1);
	}
}

/* Returns the value stored under KEY, or -1. */
static int64_t hmap_get(const struct hmap *h, const char *key)
{
	struct hslot *s;

	if (!h->cap)
		return -1;
	s = hmap_slot(h, key, ihash(h->key, key));
	return s->key ? (int64_t)s->val : -1;
}

/*
 * Inserts KEY -> VAL unless KEY is present.  Returns 1 if inserted, 0 if
 * it was already there, -ENOMEM.  KEY must outlive the map.
 */
static int hmap_add(struct hmap *h, const char *key, uint32_t val)
{
	uint32_t hash = ihash(h->key, key);
	struct hslot *s;

	if ((h->count + 1) * 2 > h->cap) {
		size_t ncap = h->cap ? h->cap * 2 : 64;
		struct hslot *old = h->slots;
		size_t ocap = h->cap;

		h->slots = calloc(ncap, sizeof(*h->slots));
		if (!h->slots) {
			h->slots = old;
			return -ENOMEM;
		}
		h->cap = ncap;
		for (size_t i = 0; i < ocap; i++)
			if (old[i].key)
				*hmap_slot(h, old[i].key, old[i].hash) = old[i];
		free(old);
	}
	s = hmap_slot(h, key, hash);
	if (s->key)
		return 0;
	s->key = key;
	s->hash = hash;
	s->val = val;
	h->count++;
	return 1;
}

static void hmap_free(struct hmap *h)
{
	free(h->slots);
	h->slots = NULL;
	h->cap = h->count = 0;
}

/* --- the parsed INF ----------------------------------------------------- */

struct inf_line {
	uint32_t section;
	uint32_t lineno;     /* physical line where the logical one starts */
	uint32_t next;	     /* next line of its section, or NONE */
	const char *key_raw; /* as written, NULL when there is no '=' */
	const char *raw;     /* right of '=' (or the whole line) */
	const char **raw_fields;
	size_t nfields;
	const char *key;     /* substituted, unquoted; NULL as key_raw */
	const char **fields; /* substituted, unquoted */
	const char *value;   /* fields joined by "," */
};

#define NONE UINT32_MAX

struct inf_section {
	const char *name;     /* as first written */
	uint32_t first, last; /* lines of every [name] block, merged */
};

struct inf_catalog {
	const char *decoration;
	const char *file;
};

struct inf_mfr {
	const char *name;
	const char *section;
	const char **decorations;
	size_t ndecorations;
};

struct strlist {
	const char **v;
	size_t n, cap;
	struct hmap seen;
};

struct inf {
	struct arena arena;
	enum inf_encoding encoding;
	bool crlf;

	struct inf_line *lines;
	size_t nlines, lines_cap;
	struct inf_section *sections;
	size_t nsections, sections_cap;
	struct hmap section_map; /* name -> section index */
	struct hmap strings;	 /* token -> line in [Strings*] */

	const char *signature, *class_name, *class_guid, *provider;
	const char *driver_date, *driver_version;

	struct inf_catalog *catalogs;
	size_t ncatalogs, catalogs_cap;
	struct inf_mfr *mfrs;
	size_t nmfrs, mfrs_cap;
	struct inf_model *models;
	size_t nmodels, models_cap;
	struct strlist services;
	struct strlist files;

	/* Scratch for substitution, reused line to line. */
	char *scratch;
	size_t scratch_cap;
};

static int strlist_add(struct strlist *l, const char *s)
{
	int rc;

	rc = hmap_add(&l->seen, s, (uint32_t)l->n);
	if (rc <= 0)
		return rc;
	if (vec_reserve(&l->v, &l->cap, l->n + 1, sizeof(*l->v)) < 0)
		return -ENOMEM;
	l->v[l->n++] = s;
	return 0;
}

static void strlist_free(struct strlist *l)
{
	free(l->v);
	hmap_free(&l->seen);
}

static int nomem(struct inf *inf, struct aero_error *err)
{
	if (inf->arena.over_budget)
		return aero_error_set(err, -EFBIG,
				      "inf text exceeds the %u MiB memory "
				      "budget",
				      INF_ARENA_BUDGET >> 20);
	return aero_error_set(err, -ENOMEM, "out of memory parsing inf");
}

/* --- decoding ----------------------------------------------------------- */

/*
 * BOM-less UTF-16 shows as NUL bytes in every other position because INF
 * text is mostly ASCII.  As anchor-packaging §8: vote over 128, 512 and
 * 2048-byte prefixes; a prefix votes LE when at least 40% of its odd bytes
 * are NUL and under 10% of its even bytes are (mirrored for BE).
 */
static int utf16_vote(const unsigned char *b, size_t len)
{
	static const size_t prefixes[] = { 128, 512, 2048 };
	int le = 0, be = 0;

	for (size_t k = 0; k < sizeof(prefixes) / sizeof(prefixes[0]); k++) {
		size_t n = len < prefixes[k] ? len : prefixes[k];
		size_t pairs = n / 2, even = 0, odd = 0;

		if (pairs < 2)
			continue;
		for (size_t i = 0; i < pairs * 2; i += 2) {
			even += b[i] == 0;
			odd += b[i + 1] == 0;
		}
		if (odd * 10 >= pairs * 4 && even * 10 < pairs)
			le++;
		else if (even * 10 >= pairs * 4 && odd * 10 < pairs)
			be++;
	}
	return le >= 2 ? 1 : be >= 2 ? -1 : 0;
}

/*
 * Decodes BUF to a malloc'ed NUL-terminated UTF-8 string in *TEXT and
 * sets inf->encoding.
 */
static int decode(struct inf *inf, const unsigned char *b, size_t len,
		  char **text, size_t *text_len, struct aero_error *err)
{
	size_t out_max;
	char *out;
	int vote;

	if (len >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf) {
		inf->encoding = INF_ENC_UTF8_BOM;
		b += 3;
		len -= 3;
	} else if (len >= 2 && b[0] == 0xff && b[1] == 0xfe) {
		inf->encoding = INF_ENC_UTF16LE_BOM;
		b += 2;
		len -= 2;
	} else if (len >= 2 && b[0] == 0xfe && b[1] == 0xff) {
		inf->encoding = INF_ENC_UTF16BE_BOM;
		b += 2;
		len -= 2;
	} else if ((vote = utf16_vote(b, len)) > 0) {
		inf->encoding = INF_ENC_UTF16LE;
	} else if (vote < 0) {
		/*
		 * SetupAPI takes a file without a BOM as ANSI, or as UTF-16LE
		 * when IsTextUnicode() finds it so; it has no big-endian
		 * guess, so Windows would see NULs and no [Version] here.
		 */
		return aero_error_set(err, -EINVAL,
				      "UTF-16BE without a byte order mark: "
				      "Windows reads an INF without one as "
				      "ANSI or UTF-16LE only (save it as "
				      "UTF-16LE)");
	} else {
		inf->encoding = INF_ENC_ASCII;
	}

	if (inf->encoding >= INF_ENC_UTF16LE_BOM) {
		bool be = inf->encoding == INF_ENC_UTF16BE_BOM;
		size_t units = len / 2;

		/* Editors pad with NUL units; they are not text. */
		while (units && b[2 * units - 1] == 0 && b[2 * units - 2] == 0)
			units--;
		out = malloc(utf16_to_utf8_max(units));
		if (!out)
			return aero_error_set(err, -ENOMEM, "out of memory");
		*text_len = utf16_to_utf8(out, b, units, be, false);
		*text = out;
		return 0;
	}

	/* 8-bit: a NUL byte means binary data, not text (trailing padding
	 * excepted). */
	while (len && b[len - 1] == 0)
		len--;
	{
		const unsigned char *nul = memchr(b, 0, len);
		size_t bom = inf->encoding == INF_ENC_UTF8_BOM ? 3 : 0;

		if (nul)
			return aero_error_set(err, -EINVAL,
					      "not inf text: binary data (NUL "
					      "byte at offset %zu)",
					      (size_t)(nul - b) + bom);
	}

	/* Classify: ASCII, valid UTF-8, or ANSI taken as Latin-1. */
	{
		bool ascii = true, utf8 = true;

		for (size_t i = 0; i < len;) {
			uint32_t cp;
			size_t n;

			if (b[i] < 0x80) {
				i++;
				continue;
			}
			ascii = false;
			n = utf8_get(b + i, len - i, &cp);
			if (!n) {
				utf8 = false;
				break;
			}
			i += n;
		}
		if (inf->encoding == INF_ENC_ASCII && !ascii)
			inf->encoding = utf8 ? INF_ENC_UTF8 : INF_ENC_ANSI;
		/* A BOM with invalid sequences is decoded lossily below. */
	}
	if (MUL_OVERFLOW(len, (size_t)3, &out_max) ||
	    ADD_OVERFLOW(out_max, (size_t)1, &out_max))
		return aero_error_set(err, -EFBIG, "inf too large");
	out = malloc(out_max);
	if (!out)
		return aero_error_set(err, -ENOMEM, "out of memory");
	{
		size_t o = 0;

		for (size_t i = 0; i < len;) {
			uint32_t cp;
			size_t n = 0;

			if (inf->encoding != INF_ENC_ANSI)
				n = utf8_get(b + i, len - i, &cp);
			if (!n) {
				/* Latin-1, or U+FFFD: bad UTF-8 after a BOM */
				cp = inf->encoding == INF_ENC_ANSI ?
					     b[i] :
					     UTF_REPLACEMENT;
				n = 1;
			}
			o += utf8_put(out + o, cp);
			i += n;
		}
		out[o] = '\0';
		*text_len = o;
	}
	*text = out;
	return 0;
}

/* --- splitting lines ---------------------------------------------------- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static void trim(const char **s, size_t *n)
{
	while (*n && is_blank(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_blank((*s)[*n - 1]))
		(*n)--;
}

/* Length of S[0..N) before a ';' that is outside double quotes. */
static size_t strip_comment(const char *s, size_t n)
{
	bool quoted = false;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			quoted = !quoted;
		else if (s[i] == ';' && !quoted)
			return i;
	}
	return n;
}

/* Position of the first C outside quotes in S[0..N), or N. */
static size_t find_unquoted(const char *s, size_t n, char c)
{
	bool quoted = false;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			quoted = !quoted;
		else if (s[i] == c && !quoted)
			return i;
	}
	return n;
}

static int new_section(struct inf *inf, const char *name, size_t n,
		       uint32_t *idx, struct aero_error *err)
{
	char *copy = arena_strndup(&inf->arena, name, n);
	int64_t found;
	int rc;

	if (!copy)
		return nomem(inf, err);
	found = hmap_get(&inf->section_map, copy);
	if (found >= 0) {
		/* A repeated [name] continues the first one. */
		*idx = (uint32_t)found;
		return 0;
	}
	if (inf->nsections >= INF_MAX_SECTIONS)
		return aero_error_set(err, -EFBIG, "more than %u sections",
				      INF_MAX_SECTIONS);
	if (vec_reserve(&inf->sections, &inf->sections_cap, inf->nsections + 1,
			sizeof(*inf->sections)) < 0)
		return nomem(inf, err);
	*idx = (uint32_t)inf->nsections;
	rc = hmap_add(&inf->section_map, copy, *idx);
	if (rc < 0)
		return nomem(inf, err);
	inf->sections[inf->nsections++] = (struct inf_section){
		.name = copy,
		.first = NONE,
		.last = NONE,
	};
	return 0;
}

static int add_line(struct inf *inf, uint32_t section, uint32_t lineno,
		    const char *s, size_t n, struct aero_error *err)
{
	struct inf_section *sec = &inf->sections[section];
	struct inf_line *l;
	size_t eq = find_unquoted(s, n, '='), nf = 1, start;
	const char *val = s;
	size_t vlen = n;

	if (inf->nlines >= INF_MAX_LINES)
		return aero_error_set(err, -EFBIG, "more than %u lines",
				      INF_MAX_LINES);
	if (vec_reserve(&inf->lines, &inf->lines_cap, inf->nlines + 1,
			sizeof(*inf->lines)) < 0)
		return nomem(inf, err);
	l = &inf->lines[inf->nlines];
	memset(l, 0, sizeof(*l));
	l->section = section;
	l->lineno = lineno;
	l->next = NONE;
	if (eq < n) {
		const char *k = s;
		size_t klen = eq;

		trim(&k, &klen);
		l->key_raw = arena_strndup(&inf->arena, k, klen);
		if (!l->key_raw)
			return nomem(inf, err);
		val = s + eq + 1;
		vlen = n - eq - 1;
		trim(&val, &vlen);
	}
	l->raw = arena_strndup(&inf->arena, val, vlen);
	if (!l->raw)
		return nomem(inf, err);

	/* Fields: split at commas outside quotes. */
	for (size_t i = find_unquoted(val, vlen, ','); i < vlen;
	     i += 1 + find_unquoted(val + i + 1, vlen - i - 1, ','))
		nf++;
	l->raw_fields = arena_alloc(&inf->arena, nf * sizeof(char *));
	if (!l->raw_fields)
		return nomem(inf, err);
	start = 0;
	for (size_t f = 0; f < nf; f++) {
		size_t len = find_unquoted(val + start, vlen - start, ',');
		const char *fs = val + start;
		size_t fl = len;

		trim(&fs, &fl);
		l->raw_fields[f] = arena_strndup(&inf->arena, fs, fl);
		if (!l->raw_fields[f])
			return nomem(inf, err);
		start += len + 1;
	}
	l->nfields = nf;

	if (sec->last == NONE)
		sec->first = (uint32_t)inf->nlines;
	else
		inf->lines[sec->last].next = (uint32_t)inf->nlines;
	sec->last = (uint32_t)inf->nlines;
	inf->nlines++;
	return 0;
}

/*
 * Splits TEXT into logical lines: ';' starts a comment outside quotes, a
 * '\' ending what remains of a line joins the next one (MS "General
 * Syntax Rules for INF Files").  Lines before the first section header
 * belong to no section and are dropped, as Windows does.
 */
static int split_lines(struct inf *inf, const char *text, size_t len,
		       struct aero_error *err)
{
	char *buf = malloc(len + 1);
	size_t blen = 0, crlf = 0, lf = 0;
	uint32_t lineno = 0, start_line = 0, section = NONE;
	size_t pos = 0;
	int rc = 0;

	if (!buf)
		return aero_error_set(err, -ENOMEM, "out of memory");
	while (pos < len && rc == 0) {
		const char *p = text + pos, *s;
		const char *nl = memchr(p, '\n', len - pos);
		size_t plen = nl ? (size_t)(nl - p) : len - pos, n;

		pos += plen + (nl ? 1 : 0);
		lineno++;
		if (nl) {
			if (plen && p[plen - 1] == '\r')
				crlf++;
			else
				lf++;
		}
		if (!blen)
			start_line = lineno;
		n = strip_comment(p, plen);
		s = p;
		trim(&s, &n);
		if (n && s[n - 1] == '\\' && pos < len) {
			/* Continued: keep what precedes the backslash. */
			memcpy(buf + blen, s, n - 1);
			blen += n - 1;
			continue;
		}
		memcpy(buf + blen, s, n);
		blen += n;
		s = buf;
		n = blen;
		blen = 0;
		trim(&s, &n);
		if (!n)
			continue;
		if (s[0] == '[') {
			const char *close = memchr(s, ']', n);
			const char *name = s + 1;
			size_t nlen = close ? (size_t)(close - name) : n - 1;

			trim(&name, &nlen);
			rc = new_section(inf, name, nlen, &section, err);
		} else if (section != NONE) {
			rc = add_line(inf, section, start_line, s, n, err);
		}
	}
	free(buf);
	inf->crlf = crlf > 0 && crlf >= lf;
	return rc;
}

/* --- strings and substitution ------------------------------------------- */

static const struct inf_section *find_section(const struct inf *inf,
					      const char *name)
{
	int64_t i = hmap_get(&inf->section_map, name);

	return i < 0 ? NULL : &inf->sections[i];
}

/* Removes quotes ("" inside quotes is one '"') from S into the arena. */
static char *unquote(struct inf *inf, const char *s)
{
	size_t n = strlen(s), o = 0;
	char *out = arena_alloc(&inf->arena, n + 1);
	bool quoted = false;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"') {
			if (quoted && s[i + 1] == '"') {
				out[o++] = '"';
				i++;
			} else {
				quoted = !quoted;
			}
			continue;
		}
		out[o++] = s[i];
	}
	out[o] = '\0';
	return out;
}

static int add_strings_section(struct inf *inf, const struct inf_section *sec,
			       struct aero_error *err)
{
	for (uint32_t i = sec->first; i != NONE; i = inf->lines[i].next) {
		struct inf_line *l = &inf->lines[i];

		if (l->fields)
			continue; /* a section listed twice */
		/* The whole right side is the string, commas included; it is
		 * also the line's only field, should a CopyFiles or
		 * [Manufacturer] entry name this section. */
		l->value = unquote(inf, l->raw);
		if (!l->value)
			return nomem(inf, err);
		l->fields = &l->value;
		l->nfields = 1;
		if (!l->key_raw)
			continue;
		l->key = unquote(inf, l->key_raw);
		if (!l->key)
			return nomem(inf, err);
		if (hmap_add(&inf->strings, l->key, i) < 0)
			return nomem(inf, err);
	}
	return 0;
}

static bool is_strings_section(const char *name)
{
	return ieq(name, "strings") ||
	       (iprefix(name, "strings.") && name[8] != '\0');
}

/*
 * [Strings] first, then the US English [Strings.0409], then every other
 * locale in order of appearance: the first definition of a token wins, so
 * a locale section only fills gaps.
 */
static int collect_strings(struct inf *inf, struct aero_error *err)
{
	const struct inf_section *sec;
	int rc;

	if ((sec = find_section(inf, "strings")) &&
	    (rc = add_strings_section(inf, sec, err)) < 0)
		return rc;
	if ((sec = find_section(inf, "strings.0409")) &&
	    (rc = add_strings_section(inf, sec, err)) < 0)
		return rc;
	for (size_t i = 0; i < inf->nsections; i++) {
		const char *name = inf->sections[i].name;

		if (is_strings_section(name) && !ieq(name, "strings") &&
		    !ieq(name, "strings.0409") &&
		    (rc = add_strings_section(inf, &inf->sections[i], err)) < 0)
			return rc;
	}
	return 0;
}

static int scratch_put(struct inf *inf, size_t *o, const char *s, size_t n)
{
	size_t need;

	if (ADD_OVERFLOW(*o, n, &need) || need > INF_MAX_FIELD)
		return -EFBIG;
	if (vec_reserve(&inf->scratch, &inf->scratch_cap, need + 1, 1) < 0)
		return -ENOMEM;
	memcpy(inf->scratch + *o, s, n);
	*o = need;
	return 0;
}

/*
 * Substitutes %token% from the string table, turns %% into '%' and drops
 * quotes ("" inside quotes is a '"').  An unknown token stays as written:
 * %12% in ServiceBinary is a DIRID, not a string.
 */
static int substitute(struct inf *inf, const struct inf_line *l,
		      const char *raw, const char **out, struct aero_error *err)
{
	size_t n = strlen(raw), o = 0;
	bool quoted = false;
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0;) {
		if (raw[i] == '"') {
			if (quoted && raw[i + 1] == '"') {
				rc = scratch_put(inf, &o, "\"", 1);
				i += 2;
			} else {
				quoted = !quoted;
				i++;
			}
		} else if (raw[i] == '%' && raw[i + 1] == '%') {
			rc = scratch_put(inf, &o, "%", 1);
			i += 2;
		} else if (raw[i] == '%') {
			const char *end = strchr(raw + i + 1, '%');
			int64_t li = -1;

			if (end) {
				size_t tlen = (size_t)(end - raw) - i - 1;
				char *tok = arena_strndup(&inf->arena,
							  raw + i + 1, tlen);

				if (!tok)
					return nomem(inf, err);
				li = hmap_get(&inf->strings, tok);
			}
			if (li >= 0) {
				const char *v = inf->lines[li].value;

				rc = scratch_put(inf, &o, v, strlen(v));
				i = (size_t)(end - raw) + 1;
			} else if (end) {
				size_t tlen = (size_t)(end - raw) - i + 1;

				rc = scratch_put(inf, &o, raw + i, tlen);
				i += tlen;
			} else {
				rc = scratch_put(inf, &o, "%", 1);
				i++;
			}
		} else {
			size_t run = 1;

			while (i + run < n && raw[i + run] != '"' &&
			       raw[i + run] != '%')
				run++;
			rc = scratch_put(inf, &o, raw + i, run);
			i += run;
		}
	}
	if (rc == -EFBIG)
		return aero_error_set(err, -EFBIG,
				      "line %u: value longer than %u bytes "
				      "after string substitution",
				      l->lineno, INF_MAX_FIELD);
	if (rc < 0)
		return nomem(inf, err);
	*out = arena_strndup(&inf->arena, o ? inf->scratch : "", o);
	return *out ? 0 : nomem(inf, err);
}

static int substitute_all(struct inf *inf, struct aero_error *err)
{
	for (size_t i = 0; i < inf->nlines; i++) {
		struct inf_line *l = &inf->lines[i];
		size_t total = 0;
		char *v;
		int rc;

		if (is_strings_section(inf->sections[l->section].name))
			continue;
		if (l->key_raw &&
		    (rc = substitute(inf, l, l->key_raw, &l->key, err)) < 0)
			return rc;
		l->fields = arena_alloc(&inf->arena,
					l->nfields * sizeof(char *));
		if (!l->fields)
			return nomem(inf, err);
		for (size_t f = 0; f < l->nfields; f++) {
			rc = substitute(inf, l, l->raw_fields[f], &l->fields[f],
					err);
			if (rc < 0)
				return rc;
			total += strlen(l->fields[f]) + 1;
		}
		v = arena_alloc(&inf->arena, total);
		if (!v)
			return nomem(inf, err);
		total = 0;
		for (size_t f = 0; f < l->nfields; f++) {
			size_t fl = strlen(l->fields[f]);

			memcpy(v + total, l->fields[f], fl);
			total += fl;
			v[total++] = ',';
		}
		v[total - 1] = '\0';
		l->value = v;
	}
	return 0;
}

/* --- extraction --------------------------------------------------------- */

static const struct inf_line *find_key(const struct inf *inf,
				       const struct inf_section *sec,
				       const char *key)
{
	for (uint32_t i = sec->first; i != NONE; i = inf->lines[i].next)
		if (inf->lines[i].key && ieq(inf->lines[i].key, key))
			return &inf->lines[i];
	return NULL;
}

static const char *basename_of(const char *path)
{
	const char *b = path;

	for (const char *p = path; *p; p++)
		if (*p == '\\' || *p == '/')
			b = p + 1;
	return b;
}

/* Records a referenced file: basename, unless empty or unresolved. */
static int add_file(struct inf *inf, const char *name, size_t n,
		    struct aero_error *err)
{
	const char *s = name;
	char *copy;
	int rc;

	trim(&s, &n);
	copy = arena_strndup(&inf->arena, s, n);
	if (!copy)
		return nomem(inf, err);
	s = basename_of(copy);
	/* A '%' left after substitution is an unknown token, not a name. */
	if (!*s || strchr(s, '%'))
		return 0;
	rc = strlist_add(&inf->files, s);
	return rc < 0 ? nomem(inf, err) : 0;
}

static int add_file_str(struct inf *inf, const char *name,
			struct aero_error *err)
{
	return add_file(inf, name, strlen(name), err);
}

/* Lines of a CopyFiles file-list section: dest[,source[,,flags]]. */
static int add_file_list(struct inf *inf, const struct inf_section *sec,
			 struct aero_error *err)
{
	for (uint32_t i = sec->first; i != NONE; i = inf->lines[i].next) {
		const struct inf_line *l = &inf->lines[i];
		const char *dest = l->key ? l->key : l->fields[0];
		const char *src = l->key	 ? l->fields[0] :
				  l->nfields > 1 ? l->fields[1] :
						   "";
		int rc;

		/* The source name, when given, is the file in the package
		 * (MS "INF CopyFiles Directive"). */
		rc = add_file_str(inf, *src ? src : dest, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int copy_files(struct inf *inf, const struct inf_line *l, bool *listed,
		      struct aero_error *err)
{
	for (size_t f = 0; f < l->nfields; f++) {
		const char *v = l->fields[f];
		int64_t si;
		int rc = 0;

		if (!*v)
			continue;
		if (v[0] == '@') {
			rc = add_file_str(inf, v + 1, err);
		} else if ((si = hmap_get(&inf->section_map, v)) >= 0) {
			/* A file-list section is read once however many
			 * CopyFiles name it. */
			if (!listed[si]) {
				listed[si] = true;
				rc = add_file_list(inf, &inf->sections[si],
						   err);
			}
		} else if (strchr(v, '.')) {
			/* A dotted token that names no section is taken as a
			 * file, so the caller reports it missing. */
			rc = add_file_str(inf, v, err);
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* AddReg "HKR,,CoInstallers32,0x00010000,"Wdf...dll,WdfCoInstaller"". */
static int co_installers(struct inf *inf, const struct inf_line *l,
			 struct aero_error *err)
{
	if (l->key || l->nfields < 5 || !ieq(l->fields[2], "CoInstallers32"))
		return 0;
	for (size_t f = 4; f < l->nfields; f++) {
		const char *v = l->fields[f];
		const char *comma = strchr(v, ',');
		int rc = add_file(inf, v,
				  comma ? (size_t)(comma - v) : strlen(v), err);

		if (rc < 0)
			return rc;
	}
	return 0;
}

static int extract_files_services(struct inf *inf, struct aero_error *err)
{
	bool *listed = calloc(inf->nsections ? inf->nsections : 1, 1);
	int rc = 0;

	if (!listed)
		return nomem(inf, err);
	for (size_t i = 0; i < inf->nlines && rc == 0; i++) {
		const struct inf_line *l = &inf->lines[i];
		const char *sname = inf->sections[l->section].name;
		const char *key = l->key;

		if (is_strings_section(sname))
			continue;
		if (ieq(sname, "SourceDisksFiles") ||
		    iprefix(sname, "SourceDisksFiles.")) {
			rc = add_file_str(inf, key ? key : l->fields[0], err);
			continue;
		}
		if (!key) {
			rc = co_installers(inf, l, err);
			continue;
		}
		if (ieq(key, "AddService")) {
			if (*l->fields[0] &&
			    strlist_add(&inf->services, l->fields[0]) < 0)
				rc = nomem(inf, err);
		} else if (ieq(key, "CopyFiles")) {
			rc = copy_files(inf, l, listed, err);
		} else if (ieq(key, "ServiceBinary")) {
			rc = add_file_str(inf, l->fields[0], err);
		} else if (ieq(key, "CopyINF")) {
			for (size_t f = 0; f < l->nfields && rc == 0; f++)
				rc = add_file_str(inf, l->fields[f], err);
		}
	}
	free(listed);
	return rc;
}

static int add_models(struct inf *inf, const struct inf_section *sec,
		      const char *decoration, struct aero_error *err)
{
	for (uint32_t i = sec->first; i != NONE; i = inf->lines[i].next) {
		const struct inf_line *l = &inf->lines[i];

		for (size_t f = 1; f < l->nfields; f++) {
			if (!*l->fields[f])
				continue;
			if (vec_reserve(&inf->models, &inf->models_cap,
					inf->nmodels + 1,
					sizeof(*inf->models)) < 0)
				return nomem(inf, err);
			inf->models[inf->nmodels++] = (struct inf_model){
				.description = l->key ? l->key : "",
				.install_section = l->fields[0],
				.hardware_id = l->fields[f],
				.decoration = decoration,
			};
		}
	}
	return 0;
}

static int extract_manufacturers(struct inf *inf, struct aero_error *err)
{
	const struct inf_section *mfr = find_section(inf, "Manufacturer");
	bool *visited;
	int rc = 0;

	if (!mfr)
		return 0;
	visited = calloc(inf->nsections, 1);
	if (!visited)
		return nomem(inf, err);
	for (uint32_t i = mfr->first; i != NONE && rc == 0;
	     i = inf->lines[i].next) {
		const struct inf_line *l = &inf->lines[i];
		struct inf_mfr *m;
		size_t nd = 0;

		if (!*l->fields[0])
			continue;
		if (vec_reserve(&inf->mfrs, &inf->mfrs_cap, inf->nmfrs + 1,
				sizeof(*inf->mfrs)) < 0) {
			rc = nomem(inf, err);
			break;
		}
		m = &inf->mfrs[inf->nmfrs++];
		m->name = l->key ? l->key : l->fields[0];
		m->section = l->fields[0];
		m->decorations = arena_alloc(&inf->arena,
					     l->nfields * sizeof(char *));
		if (!m->decorations) {
			rc = nomem(inf, err);
			break;
		}
		for (size_t f = 1; f < l->nfields; f++)
			if (*l->fields[f])
				m->decorations[nd++] = l->fields[f];
		m->ndecorations = nd;

		/* MS "INF Models Section": the undecorated section and one
		 * per TargetOSVersion; each section is read once. */
		for (size_t d = 0; d <= nd && rc == 0; d++) {
			const char *dec = d ? m->decorations[d - 1] : "";
			size_t blen = strlen(m->section), dlen = strlen(dec);
			char *name = arena_alloc(&inf->arena, blen + dlen + 2);
			int64_t si;

			if (!name) {
				rc = nomem(inf, err);
				break;
			}
			memcpy(name, m->section, blen);
			name[blen] = '.';
			memcpy(name + blen + 1, dec, dlen + 1);
			if (!d)
				name[blen] = '\0';
			si = hmap_get(&inf->section_map, name);
			if (si < 0 || visited[si])
				continue;
			visited[si] = true;
			rc = add_models(inf, &inf->sections[si], dec, err);
		}
	}
	free(visited);
	return rc;
}

static int extract_version(struct inf *inf, struct aero_error *err)
{
	const struct inf_section *ver = find_section(inf, "Version");
	const struct inf_line *l;

	if (!ver)
		return aero_error_set(err, -EINVAL,
				      "not an inf: no [Version] section");
	l = find_key(inf, ver, "Signature");
	if (!l)
		return aero_error_set(err, -EINVAL,
				      "not an inf: [Version] has no Signature");
	inf->signature = l->value;
	if ((l = find_key(inf, ver, "Class")))
		inf->class_name = l->value;
	if ((l = find_key(inf, ver, "ClassGUID")))
		inf->class_guid = l->value;
	if ((l = find_key(inf, ver, "Provider")))
		inf->provider = l->value;
	if ((l = find_key(inf, ver, "DriverVer"))) {
		inf->driver_date = l->fields[0];
		inf->driver_version = l->nfields > 1 ? l->fields[1] : NULL;
	}
	for (uint32_t i = ver->first; i != NONE; i = inf->lines[i].next) {
		const char *key;

		l = &inf->lines[i];
		key = l->key;
		if (!key || !iprefix(key, "CatalogFile") ||
		    (key[11] != '\0' && key[11] != '.'))
			continue;
		if (vec_reserve(&inf->catalogs, &inf->catalogs_cap,
				inf->ncatalogs + 1, sizeof(*inf->catalogs)) < 0)
			return nomem(inf, err);
		inf->catalogs[inf->ncatalogs++] = (struct inf_catalog){
			.decoration = key[11] ? key + 12 : "",
			.file = l->fields[0],
		};
	}
	return 0;
}

int inf_parse(const void *buf, size_t len, struct inf **out,
	      struct aero_error *err)
{
	struct inf *inf;
	char *text = NULL;
	size_t text_len = 0;
	int rc;

	*out = NULL;
	if (len > INF_MAX_SIZE)
		return aero_error_set(err, -EFBIG,
				      "inf is %zu bytes, more than the %u MiB "
				      "limit",
				      len, INF_MAX_SIZE >> 20);
	if (len == 0)
		return aero_error_set(err, -EINVAL, "not an inf: empty input");
	inf = calloc(1, sizeof(*inf));
	if (!inf)
		return aero_error_set(err, -ENOMEM, "out of memory");
	{
		/* Any constant: the input itself makes the table key. */
		static const uint64_t base[2] = { 0x6165726f66732d69ull,
						  0x6e662d7461626c65ull };
		struct hmap *maps[] = { &inf->section_map, &inf->strings,
					&inf->services.seen, &inf->files.seen };
		uint64_t k = siphash(base, buf, len, false);

		for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
			maps[i]->key[0] = k;
			maps[i]->key[1] = k ^ base[1];
		}
	}
	rc = decode(inf, buf, len, &text, &text_len, err);
	if (rc == 0)
		rc = split_lines(inf, text, text_len, err);
	free(text);
	if (rc == 0)
		rc = collect_strings(inf, err);
	if (rc == 0)
		rc = substitute_all(inf, err);
	if (rc == 0)
		rc = extract_version(inf, err);
	if (rc == 0)
		rc = extract_manufacturers(inf, err);
	if (rc == 0)
		rc = extract_files_services(inf, err);
	free(inf->scratch);
	inf->scratch = NULL;
	if (rc < 0) {
		inf_free(inf);
		return rc;
	}
	*out = inf;
	return 0;
}

void inf_free(struct inf *inf)
{
	if (!inf)
		return;
	free(inf->lines);
	free(inf->sections);
	hmap_free(&inf->section_map);
	hmap_free(&inf->strings);
	free(inf->catalogs);
	free(inf->mfrs);
	free(inf->models);
	strlist_free(&inf->services);
	strlist_free(&inf->files);
	free(inf->scratch);
	arena_free(&inf->arena);
	free(inf);
}

/* --- accessors ---------------------------------------------------------- */

enum inf_encoding inf_encoding(const struct inf *inf)
{
	return inf->encoding;
}

const char *inf_encoding_name(enum inf_encoding enc)
{
	switch (enc) {
	case INF_ENC_ASCII:
		return "ascii";
	case INF_ENC_ANSI:
		return "ansi";
	case INF_ENC_UTF8:
		return "utf-8";
	case INF_ENC_UTF8_BOM:
		return "utf-8-bom";
	case INF_ENC_UTF16LE_BOM:
		return "utf-16le-bom";
	case INF_ENC_UTF16LE:
		return "utf-16le";
	case INF_ENC_UTF16BE_BOM:
		return "utf-16be-bom";
	}
	return "unknown";
}

bool inf_crlf(const struct inf *inf)
{
	return inf->crlf;
}

const char *inf_signature(const struct inf *inf)
{
	return inf->signature;
}

const char *inf_class(const struct inf *inf)
{
	return inf->class_name;
}

const char *inf_class_guid(const struct inf *inf)
{
	return inf->class_guid;
}

const char *inf_provider(const struct inf *inf)
{
	return inf->provider;
}

const char *inf_driver_date(const struct inf *inf)
{
	return inf->driver_date;
}

const char *inf_driver_version(const struct inf *inf)
{
	return inf->driver_version;
}

size_t inf_catalog_count(const struct inf *inf)
{
	return inf->ncatalogs;
}

const char *inf_catalog_decoration(const struct inf *inf, size_t i)
{
	return i < inf->ncatalogs ? inf->catalogs[i].decoration : NULL;
}

const char *inf_catalog_file(const struct inf *inf, size_t i)
{
	return i < inf->ncatalogs ? inf->catalogs[i].file : NULL;
}

const char *inf_catalog_for_arch(const struct inf *inf, const char *arch)
{
	const char *plain = NULL;
	char want[32];

	if (strlen(arch) > sizeof(want) - 3)
		return NULL;
	want[0] = 'N';
	want[1] = 'T';
	strcpy(want + 2, arch);
	for (size_t i = 0; i < inf->ncatalogs; i++) {
		const char *dec = inf->catalogs[i].decoration;

		/* MS "INF Version Section": CatalogFile.NTx86 and the like;
		 * an OS version suffix is tolerated. */
		if (iprefix(dec, want) &&
		    (dec[strlen(want)] == '\0' || dec[strlen(want)] == '.'))
			return inf->catalogs[i].file;
		if (!*dec && !plain)
			plain = inf->catalogs[i].file;
	}
	return plain;
}

size_t inf_manufacturer_count(const struct inf *inf)
{
	return inf->nmfrs;
}

const char *inf_manufacturer_name(const struct inf *inf, size_t i)
{
	return i < inf->nmfrs ? inf->mfrs[i].name : NULL;
}

const char *inf_manufacturer_section(const struct inf *inf, size_t i)
{
	return i < inf->nmfrs ? inf->mfrs[i].section : NULL;
}

size_t inf_decoration_count(const struct inf *inf, size_t i)
{
	return i < inf->nmfrs ? inf->mfrs[i].ndecorations : 0;
}

const char *inf_decoration(const struct inf *inf, size_t i, size_t j)
{
	if (i >= inf->nmfrs || j >= inf->mfrs[i].ndecorations)
		return NULL;
	return inf->mfrs[i].decorations[j];
}

size_t inf_model_count(const struct inf *inf)
{
	return inf->nmodels;
}

const struct inf_model *inf_model(const struct inf *inf, size_t i)
{
	return i < inf->nmodels ? &inf->models[i] : NULL;
}

size_t inf_service_count(const struct inf *inf)
{
	return inf->services.n;
}

const char *inf_service(const struct inf *inf, size_t i)
{
	return i < inf->services.n ? inf->services.v[i] : NULL;
}

size_t inf_file_count(const struct inf *inf)
{
	return inf->files.n;
}

const char *inf_file(const struct inf *inf, size_t i)
{
	return i < inf->files.n ? inf->files.v[i] : NULL;
}

const char *inf_get(const struct inf *inf, const char *section, const char *key)
{
	const struct inf_section *sec = find_section(inf, section);
	const struct inf_line *l;

	if (!sec)
		return NULL;
	l = find_key(inf, sec, key);
	return l ? l->value : NULL;
}
