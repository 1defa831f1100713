/*
 * iso_image.c: lays a pack out as an ISO9660 + Joliet + Rock Ridge image
 * as a region table (see iso_image.h and image.h).
 *
 * Layout, in sectors of 2048 bytes:
 *
 *   0-15   system area, zero (ECMA-119 6.2.1)
 *   16     primary volume descriptor (8.4)
 *   17     Joliet supplementary volume descriptor (8.5, escape %/E)
 *          volume descriptor set terminator (8.3)
 *          L and M path tables of the primary tree, then of Joliet (9.4)
 *          primary directory extents, in path table order, each
 *          followed by the Rock Ridge continuation areas (SUSP 5.1) of
 *          its records, as mkisofs does (libarchive finds them only there)
 *          Joliet directory extents, in path table order
 *          file data: one extent per distinct content (same SHA-256 and
 *          size), in inode order, each padded to a sector; empty files
 *          have extent 0 and size 0, as with mkisofs
 *
 * Everything but file data is built into one buffer at layout time
 * (O(entries)); file data regions refer to pack files (image.c reads
 * them).
 *
 * Names.  Primary: ISO 9660 level 2 style, d-characters (A-Z 0-9 _), at
 * most 30 characters of name plus extension (7.5.1; a longer name keeps
 * up to 8 characters of its extension), 31 for directories; files end in
 * ";1" and an extensionless file keeps its '.' ("README.;1").
 * Joliet: the exact name in UCS-2, at most 64 code units (files add ";1"),
 * with the characters Joliet forbids (* / : ; ? \ and controls) and
 * characters outside the BMP mapped to '_'; a longer name is truncated,
 * keeping an extension of up to 16 units.  In both trees a name that
 * collides (after mapping, case folding or truncation) gets "_1", "_2"...
 * before its extension; names that need no mangling are given first, so
 * a mangled name never takes a genuine one ("a;b.sys" becomes "a_b_1.sys"
 * when "a_b.sys" exists, whatever the order), then the others in pack
 * order.  Names collide as readers show them: without the ";1" version
 * and a trailing '.', which Windows, Linux and libarchive strip, and
 * ignoring case in Joliet too, as Windows does (catalog/util/upcase.h, as
 * the pack does, pack.h); so a file "a;b" and a directory "a_b" do not
 * both become "a_b".  Rock Ridge NM carries the exact name whatever the
 * mangling.
 *
 * Dates.  Every date is pack_epoch(), clamped to 1900-01-01T00:00:00Z ..
 * 2155-12-31T23:59:59Z, the range of a directory record date (9.1.5); the
 * volume descriptor dates use the same clamped value so that all dates in
 * the image agree.  GMT offset 0; expiration "not specified" (8.4.26.1).
 *
 * Not done: multi-extent files (a file of 4 GiB or more is -EFBIG), El
 * Torito, directory relocation (RRIP RE/CL): a tree deeper than the eight
 * levels of ECMA-119 6.8.2.1 is written as is, like mkisofs -D does, which
 * every reader we test accepts.
 */
#include "export/image/iso_image.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/util/checked.h"
#include "catalog/util/civil.h"
#include "catalog/util/upcase.h"
#include "catalog/util/utf.h"
#include "export/image/iso9660.h"
#include "export/image/regions.h"

#define PRIMARY_FILE_MAX 30 /* ECMA-119 7.5.1: name + extension */
#define PRIMARY_DIR_MAX 31  /* ECMA-119 7.6.3 */
#define PRIMARY_EXT_MAX 8
#define JOLIET_MAX 64 /* Joliet: 64 UCS-2 characters */
#define JOLIET_EXT_MAX 16
#define ID_UNITS 300		  /* scratch size for identifiers */
#define PATH_TABLE_DIRS_MAX 65535 /* ECMA-119 9.4.5: 16-bit parent */

#define WINPE_DIR "$WinPEDriver$"

#define MODE_DIR 0040000 /* POSIX S_IFDIR, as RRIP PX wants */
#define MODE_REG 0100000 /* POSIX S_IFREG */

static const char rrip_id[] = "RRIP_1991A";
static const char rrip_des[] =
	"THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX "
	"FILE SYSTEM SEMANTICS";
static const char rrip_src[] =
	"PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE "
	"PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT "
	"INFORMATION.";
#define RRIP_ER_LEN                                                            \
	(8 + sizeof(rrip_id) - 1 + sizeof(rrip_des) - 1 + sizeof(rrip_src) - 1)

/* Per pack node, only while building. */
struct inode {
	const struct pack_node *node;
	struct inode *parent;
	bool dir;
	uint64_t fsize;
	uint8_t *id;  /* primary identifier, as recorded */
	uint8_t *jid; /* Joliet identifier, UCS-2BE */
	uint8_t id_len, jid_len;
	uint32_t extent, size;	  /* file data, or primary directory */
	uint32_t jextent, jsize;  /* Joliet directory */
	uint32_t dirnum, jdirnum; /* path table numbers, from 1 */
	uint64_t ce_off;	  /* continuation area of our record, in
					 * the parent's continuation sectors */
	uint64_t ce_size;	  /* dir: bytes of continuation areas */
	uint64_t dot_ce_off;	  /* root: the ER area of its "." */
	struct inode **kids;	  /* primary order */
	struct inode **jkids;	  /* Joliet order */
	size_t nkids;
};

struct layout {
	struct pack *pack;
	struct aero_error *err;
	bool rr, joliet;
	bool winpe; /* add $WinPEDriver$ (see below) */
	size_t n;
	struct inode *in;	       /* [n], inode i at in[i - 1] */
	struct inode **pdirs, **jdirs; /* path table order */
	size_t ndirs;
	uint8_t date7[7];
	uint8_t date17[17];
	uint8_t volid[32];   /* PVD volume id, padded */
	uint16_t jvolid[16]; /* SVD volume id */
	size_t jvolid_len;
	uint32_t pt_size, jpt_size;
	uint32_t lpt, mpt, jlpt, jmpt;
	uint32_t data_lba, total;
	struct inode **uniq; /* files owning a data extent */
	size_t nuniq;
	uint8_t *meta; /* sectors 16 .. data_lba - 1 */
};

/* The name of IN: its pack node's, or that of $WinPEDriver$. */
static const char *inode_name(const struct inode *in)
{
	return in->node ? pack_node_name(in->node) : WINPE_DIR;
}

/* POSIX link count: a directory has "." and each subdirectory's "..". */
static unsigned inode_nlink(const struct inode *in)
{
	unsigned n = 2;

	if (!in->dir)
		return 1;
	for (size_t i = 0; i < in->nkids; i++)
		n += in->kids[i]->dir;
	return n;
}

/* ---- dates ------------------------------------------------------------- */

static void set_dates(struct layout *L, int64_t epoch)
{
	int64_t lo = civil_days(1900, 1, 1) * 86400;
	int64_t hi = civil_days(2155, 12, 31) * 86400 + 86399;
	struct civil_time c;
	char buf[32];

	if (epoch < lo)
		epoch = lo;
	if (epoch > hi)
		epoch = hi;
	civil_from_time(epoch, &c);
	/* ECMA-119 9.1.5: years since 1900, ..., GMT offset */
	L->date7[0] = (uint8_t)(c.year - 1900);
	L->date7[1] = (uint8_t)c.month;
	L->date7[2] = (uint8_t)c.day;
	L->date7[3] = (uint8_t)c.hour;
	L->date7[4] = (uint8_t)c.min;
	L->date7[5] = (uint8_t)c.sec;
	L->date7[6] = 0;
	/* ECMA-119 8.4.26.1: "YYYYMMDDHHMMSScc" digits and GMT offset */
	snprintf(buf, sizeof(buf), "%04d%02u%02u%02u%02u%02u00", (int)c.year,
		 c.month, c.day, c.hour, c.min, c.sec);
	memcpy(L->date17, buf, 16);
	L->date17[16] = 0;
}

/* ---- names ------------------------------------------------------------- */

/* Decodes one UTF-8 sequence; invalid input gives U+FFFD for one byte. */
static size_t utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
	size_t n = utf8_get(s, len, cp);

	/* Pack names are valid UTF-8; a bad byte would become one U+FFFD. */
	if (n == 0) {
		*cp = UTF_REPLACEMENT;
		return 1;
	}
	return n;
}

/* A name split for mangling: BASE [. EXT], in code units. */
struct idparts {
	uint16_t base[ID_UNITS];
	size_t blen;
	uint16_t ext[ID_UNITS];
	size_t elen;
	bool dot;
};

static uint16_t primary_char(uint32_t c)
{
	if (c >= 'a' && c <= 'z')
		return (uint16_t)(c - 'a' + 'A');
	if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')
		return (uint16_t)c;
	return '_'; /* ECMA-119 7.4.1: d-characters only */
}

static uint16_t joliet_char(uint32_t c)
{
	/* Joliet forbids controls and * / : ; ? \; UCS-2 has no surrogates */
	if (c < 0x20 || c == '*' || c == '/' || c == ':' || c == ';' ||
	    c == '?' || c == '\\' || c > 0xffff)
		return '_';
	return (uint16_t)c;
}

/*
 * Splits NAME into base and extension at its last '.' (files only), mapping
 * every character with MAP.  Anything past ID_UNITS is dropped: both trees
 * truncate far below that.
 */
static void id_split(const char *name, bool dir, uint16_t (*map)(uint32_t),
		     struct idparts *p)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t len = strlen(name), i = 0, dot = SIZE_MAX, n = 0;
	uint16_t u[ID_UNITS];

	while (i < len && n < ID_UNITS) {
		uint32_t c;

		i += utf8_next(s + i, len - i, &c);
		if (c == '.' && !dir)
			dot = n;
		u[n++] = c == '.' ? '.' : map(c);
	}
	memset(p, 0, sizeof(*p));
	for (size_t k = 0; k < n; k++) {
		uint16_t c = u[k] == '.' && map == primary_char ? '_' : u[k];

		if (k < dot || dot == SIZE_MAX)
			p->base[p->blen++] = c;
		else if (k > dot)
			p->ext[p->elen++] = c;
	}
	p->dot = dot != SIZE_MAX;
}

/*
 * Writes the identifier for attempt K (0: plain, else "_K" before the
 * extension) into OUT as code units, within CAP units for base + ext
 * (DOT_COUNTS: whether the '.' counts against CAP).  Files get ";1" past
 * the cap; a primary file always has its '.' (ECMA-119 7.5.1).
 */
static size_t id_compose(const struct idparts *p, unsigned k, size_t cap,
			 size_t ext_max, bool dot_counts, bool primary,
			 bool file, uint16_t *out)
{
	char suffix[16] = "";
	size_t slen = 0, elen = p->elen, blen = p->blen, n = 0;
	bool dot = p->dot || (primary && file);

	if (k)
		slen = (size_t)snprintf(suffix, sizeof(suffix), "_%u", k);
	if (dot && dot_counts)
		cap--;
	/* shorten only what does not fit: the extension first, to EXT_MAX */
	if (blen + elen + slen > cap && elen > ext_max)
		elen = ext_max;
	if (elen + slen > cap)
		elen = cap - slen;
	if (blen + slen + elen > cap)
		blen = cap - slen - elen;
	for (size_t i = 0; i < blen; i++)
		out[n++] = p->base[i];
	for (size_t i = 0; i < slen; i++)
		out[n++] = (uint16_t)suffix[i];
	if (dot)
		out[n++] = '.';
	for (size_t i = 0; i < elen; i++)
		out[n++] = p->ext[i];
	if (file) {
		out[n++] = ';';
		out[n++] = '1';
	}
	return n;
}

/*
 * A set of identifiers (those given so far in one directory), compared as
 * readers show them: see id_key() and key_unit().
 */
struct idset {
	const uint8_t **key;
	uint8_t *klen;
	size_t cap;
	bool ucs2;
};

/*
 * Unit I of a key, upper-cased as Windows compares names (upcase.h: a
 * 1:1 BMP table, so UCS-2 stays UCS-2; primary ids already are upper).
 */
static uint16_t key_unit(const uint8_t *p, size_t i, bool ucs2)
{
	uint16_t c = ucs2 ? (uint16_t)(p[2 * i] << 8 | p[2 * i + 1]) : p[i];

	return (uint16_t)upcase_cp(c);
}

/*
 * The bytes of identifier ID (LEN bytes) that a reader shows: a file's
 * ";1" and then a trailing '.' are stripped (ECMA-119 7.5.1 lets both
 * "README.;1" and a directory "README" exist, but every reader lists them
 * under one name).
 */
static size_t id_key(const uint8_t *id, size_t len, bool ucs2, bool file)
{
	size_t w = ucs2 ? 2 : 1, n = len / w;

	if (!file)
		return len;
	if (n >= 2 && key_unit(id, n - 2, ucs2) == ';' &&
	    key_unit(id, n - 1, ucs2) == '1')
		n -= 2;
	if (n >= 1 && key_unit(id, n - 1, ucs2) == '.')
		n--;
	return n * w;
}

static uint64_t id_hash(const uint8_t *p, size_t n, bool ucs2)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (size_t i = 0; i < (ucs2 ? n / 2 : n); i++)
		h = (h ^ key_unit(p, i, ucs2)) * 1099511628211ull;
	return h;
}

static bool id_equal(const uint8_t *a, const uint8_t *b, size_t n, bool ucs2)
{
	for (size_t i = 0; i < (ucs2 ? n / 2 : n); i++)
		if (key_unit(a, i, ucs2) != key_unit(b, i, ucs2))
			return false;
	return true;
}

static int idset_init(struct idset *s, size_t n, bool ucs2)
{
	s->cap = 16;
	while (s->cap < 2 * n + 2)
		s->cap *= 2;
	s->ucs2 = ucs2;
	s->key = calloc(s->cap, sizeof(*s->key));
	s->klen = calloc(s->cap, 1);
	return s->key && s->klen ? 0 : -ENOMEM;
}

static void idset_free(struct idset *s)
{
	free(s->key);
	free(s->klen);
}

/* Adds key P (N bytes) unless present; returns true if it was added. */
static bool idset_add(struct idset *s, const uint8_t *p, size_t n)
{
	size_t i = id_hash(p, n, s->ucs2) & (s->cap - 1);

	for (; s->key[i]; i = (i + 1) & (s->cap - 1))
		if (s->klen[i] == n && id_equal(s->key[i], p, n, s->ucs2))
			return false;
	s->key[i] = p;
	s->klen[i] = (uint8_t)n;
	return true;
}

static int to_bytes(const uint16_t *u, size_t n, bool ucs2, uint8_t **out,
		    uint8_t *len)
{
	size_t bytes = ucs2 ? 2 * n : n;
	uint8_t *b = malloc(bytes);

	*out = b; /* NULL on failure: the caller freed the old one */
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (ucs2)
			iso_put_be16(b + 2 * i, u[i]);
		else
			b[i] = (uint8_t)u[i];
	}
	*len = (uint8_t)bytes;
	return 0;
}

/*
 * Whether identifier U (N units, attempt 0 of id_compose()) shows NAME
 * as it is: no character mapped to '_', none dropped.  Primary ids are
 * upper case by rule (7.4.1), so NAME is compared upper-cased there, and
 * an extensionless primary file keeps its '.' ("README.;1").
 */
static bool id_exact(const char *name, bool file, bool primary,
		     const uint16_t *u, size_t n)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t len = strlen(name), i = 0, k = 0;

	if (file && n >= 2 && u[n - 2] == ';' && u[n - 1] == '1')
		n -= 2;
	while (i < len) {
		uint32_t c;

		i += utf8_next(s + i, len - i, &c);
		if (primary && c >= 'a' && c <= 'z')
			c -= 'a' - 'A';
		if (k >= n || u[k] != c)
			return false;
		k++;
	}
	if (primary && file && k + 1 == n && u[k] == '.')
		k++;
	return k == n;
}

/*
 * Names DIR's children in one tree (JOLIET or the primary one) into SET,
 * in two passes: first every name that needs no mangling (id_exact())
 * takes its own identifier, then the others, in pack order, take theirs
 * or the first free "_K".  One pass in pack order would let a mangled name
 * take a genuine one: pack files "a;b.sys" and "a_b.sys" became Joliet
 * "a_b.sys" holding the bytes of "a;b.sys", and "a_b_1.sys".  NAMED
 * (DIR->nkids, zeroed) is scratch.
 */
static int name_tree(struct inode *dir, bool joliet, struct idset *set,
		     bool *named)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < dir->nkids; i++) {
			struct inode *c = dir->kids[i];
			const char *name = inode_name(c);
			uint8_t **id = joliet ? &c->jid : &c->id;
			uint8_t *id_len = joliet ? &c->jid_len : &c->id_len;
			struct idparts p;
			uint16_t u[ID_UNITS + 20];
			size_t n;
			int rc;

			if (named[i])
				continue;
			id_split(name, c->dir,
				 joliet ? joliet_char : primary_char, &p);
			for (unsigned k = 0;; k++) {
				n = joliet ?
					    id_compose(&p, k, JOLIET_MAX,
						       JOLIET_EXT_MAX, true,
						       false, !c->dir, u) :
					    id_compose(&p, k,
						       c->dir ?
							       PRIMARY_DIR_MAX :
							       PRIMARY_FILE_MAX,
						       PRIMARY_EXT_MAX, false,
						       true, !c->dir, u);
				if (pass == 0 &&
				    !id_exact(name, !c->dir, !joliet, u, n))
					break;
				free(*id);
				if ((rc = to_bytes(u, n, joliet, id, id_len)) <
				    0)
					return rc;
				if (idset_add(set, *id,
					      id_key(*id, *id_len, joliet,
						     !c->dir))) {
					named[i] = true;
					break;
				}
				if (pass == 0)
					break;
			}
		}
	}
	return 0;
}

/* Gives every child of DIR its identifiers in both trees. */
static int name_children(struct layout *L, struct inode *dir)
{
	struct idset ps = { 0 }, js = { 0 };
	bool *named = calloc(dir->nkids ? dir->nkids : 1, sizeof(*named));
	int rc = -ENOMEM;

	if (!named || (rc = idset_init(&ps, dir->nkids, false)) < 0 ||
	    (rc = idset_init(&js, dir->nkids, true)) < 0)
		goto out;
	rc = name_tree(dir, false, &ps, named);
	if (rc == 0 && L->joliet) {
		memset(named, 0, dir->nkids * sizeof(*named));
		rc = name_tree(dir, true, &js, named);
	}
out:
	free(named);
	idset_free(&ps);
	idset_free(&js);
	return rc;
}

/* ---- ordering (ECMA-119 9.3 and 9.4) ----------------------------------- */

struct idview {
	uint16_t u[ID_UNITS];
	size_t name, ext, ver; /* lengths */
	size_t ext_at, ver_at;
	size_t n;
};

static void id_view(const uint8_t *b, size_t len, bool ucs2, bool dir,
		    struct idview *v)
{
	size_t semi = SIZE_MAX, dot = SIZE_MAX;

	v->n = ucs2 ? len / 2 : len;
	for (size_t i = 0; i < v->n; i++)
		v->u[i] = ucs2 ? (uint16_t)(b[2 * i] << 8 | b[2 * i + 1]) :
				 b[i];
	for (size_t i = v->n; i-- > 0;) {
		if (semi == SIZE_MAX && v->u[i] == ';' && !dir)
			semi = i;
		else if (dot == SIZE_MAX && v->u[i] == '.' && !dir &&
			 semi != SIZE_MAX)
			dot = i;
	}
	if (semi == SIZE_MAX)
		semi = v->n;
	v->name = dot == SIZE_MAX ? semi : dot;
	v->ext_at = dot == SIZE_MAX ? semi : dot + 1;
	v->ext = semi - v->ext_at;
	v->ver_at = semi < v->n ? semi + 1 : v->n;
	v->ver = v->n - v->ver_at;
}

/* Compares two fields padded on the right with spaces (9.3 a, b). */
static int cmp_padded(const uint16_t *a, size_t an, const uint16_t *b,
		      size_t bn)
{
	size_t n = an > bn ? an : bn;

	for (size_t i = 0; i < n; i++) {
		uint16_t x = i < an ? a[i] : ' ', y = i < bn ? b[i] : ' ';

		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

static int cmp_ids(const uint8_t *a, size_t al, bool adir, const uint8_t *b,
		   size_t bl, bool bdir, bool ucs2)
{
	struct idview x, y;
	int c;

	id_view(a, al, ucs2, adir, &x);
	id_view(b, bl, ucs2, bdir, &y);
	if ((c = cmp_padded(x.u, x.name, y.u, y.name)) ||
	    (c = cmp_padded(x.u + x.ext_at, x.ext, y.u + y.ext_at, y.ext)))
		return c;
	/* 9.3 c: version numbers in descending order */
	if ((c = cmp_padded(x.u + x.ver_at, x.ver, y.u + y.ver_at, y.ver)))
		return -c;
	/* Equal under padding (Joliet allows trailing spaces): bytes. */
	c = memcmp(a, b, al < bl ? al : bl);
	return c ? c : (al > bl) - (al < bl);
}

static int cmp_primary(const void *pa, const void *pb)
{
	const struct inode *a = *(struct inode *const *)pa;
	const struct inode *b = *(struct inode *const *)pb;

	return cmp_ids(a->id, a->id_len, a->dir, b->id, b->id_len, b->dir,
		       false);
}

static int cmp_joliet(const void *pa, const void *pb)
{
	const struct inode *a = *(struct inode *const *)pa;
	const struct inode *b = *(struct inode *const *)pb;

	return cmp_ids(a->jid, a->jid_len, a->dir, b->jid, b->jid_len, b->dir,
		       true);
}

/*
 * Lists the directories breadth first, subdirectories in each tree's own
 * record order.  That is exactly the path table order of 9.4: by level,
 * then by parent number, then by identifier.
 */
static void order_dirs(struct layout *L, bool joliet)
{
	struct inode **q = joliet ? L->jdirs : L->pdirs;
	size_t head = 0, tail = 0;

	q[tail++] = &L->in[0];
	while (head < tail) {
		struct inode *d = q[head++];
		struct inode **kids = joliet ? d->jkids : d->kids;

		if (joliet)
			d->jdirnum = (uint32_t)head;
		else
			d->dirnum = (uint32_t)head;
		for (size_t i = 0; i < d->nkids; i++)
			if (kids[i]->dir)
				q[tail++] = kids[i];
	}
}

/* ---- Rock Ridge system use entries ------------------------------------- */

enum rec_kind {
	REC_DOT,
	REC_DOTDOT,
	REC_CHILD
};

static uint8_t *susp_hdr(uint8_t *p, const char sig[2], size_t len)
{
	p[0] = (uint8_t)sig[0];
	p[1] = (uint8_t)sig[1];
	p[2] = (uint8_t)len;
	p[3] = 1;
	return p + 4;
}

static size_t nm_total(const struct inode *in)
{
	size_t len = strlen(inode_name(in));
	size_t entries = (len + RRIP_NM_MAX - 1) / RRIP_NM_MAX;

	return len + entries * RRIP_NM_HDR;
}

static size_t put_nm(uint8_t *p, const struct inode *in)
{
	const char *name = inode_name(in);
	size_t len = strlen(name), done = 0, n = 0;

	/* RRIP 4.1.4: a long name is split over NM entries with CONTINUE */
	while (done < len) {
		size_t chunk = len - done > RRIP_NM_MAX ? RRIP_NM_MAX :
							  len - done;
		uint8_t *q = susp_hdr(p + n, "NM", RRIP_NM_HDR + chunk);

		q[0] = done + chunk < len ? RRIP_NM_CONTINUE : 0;
		memcpy(q + 1, name + done, chunk);
		n += RRIP_NM_HDR + chunk;
		done += chunk;
	}
	return n;
}

static size_t put_px(uint8_t *p, const struct layout *L, const struct inode *in)
{
	unsigned mode = in->dir ? PACK_DIR_MODE | MODE_DIR :
				  PACK_FILE_MODE | MODE_REG;
	/* the pack's inode number, and past them for $WinPEDriver$ */
	uint64_t ino = (uint64_t)(in - L->in) + 1;
	uint8_t *q = susp_hdr(p, "PX", RRIP_PX_LEN);

	/* RRIP 4.1.1: mode, links, uid, gid, serial number */
	iso_put_both32(q, mode);
	iso_put_both32(q + 8, inode_nlink(in));
	iso_put_both32(q + 16, 0);
	iso_put_both32(q + 24, 0);
	iso_put_both32(q + 32, (uint32_t)ino);
	return RRIP_PX_LEN;
}

static size_t put_tf(uint8_t *p, const struct layout *L)
{
	uint8_t *q = susp_hdr(p, "TF", RRIP_TF_LEN);

	q[0] = RRIP_TF_MAT;
	for (int i = 0; i < 3; i++)
		memcpy(q + 1 + 7 * i, L->date7, 7);
	return RRIP_TF_LEN;
}

static size_t put_ce(uint8_t *p, uint32_t base, uint64_t off, uint32_t len)
{
	uint8_t *q = susp_hdr(p, "CE", SUSP_CE_LEN);

	/* SUSP 5.1: block, offset in it, length of the continuation area */
	iso_put_both32(q, base + (uint32_t)(off / ISO_SECTOR));
	iso_put_both32(q + 8, (uint32_t)(off % ISO_SECTOR));
	iso_put_both32(q + 16, len);
	return SUSP_CE_LEN;
}

static size_t put_er(uint8_t *p)
{
	uint8_t *q = susp_hdr(p, "ER", RRIP_ER_LEN);
	size_t a = sizeof(rrip_id) - 1, b = sizeof(rrip_des) - 1,
	       c = sizeof(rrip_src) - 1;

	/* SUSP 5.5: LEN_ID LEN_DES LEN_SRC EXT_VER, then the three texts */
	q[0] = (uint8_t)a;
	q[1] = (uint8_t)b;
	q[2] = (uint8_t)c;
	q[3] = 1;
	memcpy(q + 4, rrip_id, a);
	memcpy(q + 4 + a, rrip_des, b);
	memcpy(q + 4 + a + b, rrip_src, c);
	return RRIP_ER_LEN;
}

/*
 * The system use field of one record about IN (the directory itself for
 * "." and ".."), into SUA; returns its length.  When the entries do not
 * fit beside a record of FIXED bytes, the name goes to a continuation area
 * written to CE (its length in *CE_LEN) and referenced by a CE entry at
 * CE_OFF of the continuation sectors at CE_BASE.  The root's "." starts
 * with SP (SUSP 5.3) and carries ER in its continuation area.  Pure: the
 * same arguments give the same bytes, which is what lets the sizing pass
 * and the writing pass agree.
 */
static size_t build_sua(const struct layout *L, const struct inode *in,
			enum rec_kind kind, bool root_dot, size_t fixed,
			uint32_t ce_base, uint64_t ce_off, uint8_t *sua,
			uint8_t *ce, size_t *ce_len)
{
	size_t n = 0;
	bool nm = kind == REC_CHILD, spill = false;
	uint8_t *rr;

	*ce_len = 0;
	if (!L->rr)
		return 0;
	if (nm) {
		size_t all = fixed + RRIP_RR_LEN + RRIP_PX_LEN + RRIP_TF_LEN +
			     nm_total(in);

		spill = all + (all & 1) > ISO_DIRREC_MAX;
	}
	if (root_dot) {
		uint8_t *q = susp_hdr(sua, "SP", SUSP_SP_LEN);

		q[0] = 0xbe; /* SUSP 5.3: check bytes, skip 0 */
		q[1] = 0xef;
		q[2] = 0;
		n += SUSP_SP_LEN;
	}
	rr = susp_hdr(sua + n, "RR", RRIP_RR_LEN);
	rr[0] = RRIP_RR_PX | RRIP_RR_TF | (nm ? RRIP_RR_NM : 0);
	n += RRIP_RR_LEN;
	n += put_px(sua + n, L, in);
	n += put_tf(sua + n, L);
	if (nm && !spill)
		n += put_nm(sua + n, in);
	if (spill)
		*ce_len = put_nm(ce, in);
	if (root_dot)
		*ce_len = put_er(ce);
	if (*ce_len)
		n += put_ce(sua + n, ce_base, ce_off, (uint32_t)*ce_len);
	return n;
}

/* ---- directory records ------------------------------------------------- */

static size_t rec_fixed(size_t len_fi)
{
	/* 9.1.12: a pad byte follows an even-length identifier */
	return sizeof(struct iso_dirrec) + len_fi + !(len_fi & 1);
}

static size_t put_record(uint8_t *p, const struct layout *L, uint32_t extent,
			 uint32_t size, bool dir, const uint8_t *fi,
			 size_t len_fi, const uint8_t *sua, size_t sua_len)
{
	struct iso_dirrec *r = (struct iso_dirrec *)p;
	size_t fixed = rec_fixed(len_fi), len = fixed + sua_len;

	len += len & 1; /* keep records even (9.1.1 in practice) */
	memset(p, 0, len);
	r->len_dr = (uint8_t)len;
	iso_put_both32(r->extent, extent);
	iso_put_both32(r->size, size);
	memcpy(r->date, L->date7, 7);
	r->flags = dir ? ISO_FLAG_DIR : 0;
	iso_put_both16(r->seq_number, 1);
	r->len_fi = (uint8_t)len_fi;
	memcpy(p + sizeof(*r), fi, len_fi);
	if (sua_len)
		memcpy(p + fixed, sua, sua_len);
	return len;
}

/* 6.8.1.1: a record never crosses a sector boundary. */
static uint64_t place(uint64_t off, size_t len)
{
	if (off % ISO_SECTOR + len > ISO_SECTOR)
		off += ISO_SECTOR - off % ISO_SECTOR;
	return off;
}

/* Continuation areas never cross a sector either (SUSP 5.1). */
static uint64_t alloc_ce(struct inode *d, size_t len)
{
	uint64_t off = place(d->ce_size, len);

	d->ce_size = off + len;
	return off;
}

/*
 * A directory's continuation areas live in the sectors right after its
 * extent: libarchive reads them only there, as mkisofs lays them out.
 */
static uint32_t ce_base(const struct inode *d)
{
	return d->extent + (d->size + ISO_SECTOR - 1) / ISO_SECTOR;
}

static uint8_t *sector(const struct layout *L, uint32_t lba)
{
	return L->meta + ((uint64_t)lba - ISO_SYSTEM_AREA_SECTORS) * ISO_SECTOR;
}

static const uint8_t dot_id[1] = { 0 }, dotdot_id[1] = { 1 };

/*
 * Walks the records of directory D in one tree.  With OUT NULL, only sizes
 * the extent (and allocates continuation areas); otherwise writes it and
 * its continuation areas.
 * Returns the directory size in bytes.
 */
static uint64_t dir_records(struct layout *L, struct inode *d, bool joliet,
			    uint8_t *out)
{
	uint8_t sua[ISO_DIRREC_MAX], ce[2 * ISO_DIRREC_MAX], rec[256];
	uint64_t off = 0;
	struct inode **kids = joliet ? d->jkids : d->kids;
	bool root = d == &L->in[0];

	for (size_t i = 0; i < d->nkids + 2; i++) {
		struct inode *c = i == 0 ? d : i == 1 ? d->parent : kids[i - 2];
		enum rec_kind kind = i == 0 ? REC_DOT :
				     i == 1 ? REC_DOTDOT :
					      REC_CHILD;
		const uint8_t *fi = i == 0 ? dot_id :
				    i == 1 ? dotdot_id :
				    joliet ? c->jid :
					     c->id;
		size_t len_fi = i < 2 ? 1 : joliet ? c->jid_len : c->id_len;
		size_t fixed = rec_fixed(len_fi), sua_len = 0, ce_len = 0;
		uint64_t ce_off = kind == REC_CHILD ? c->ce_off : d->dot_ce_off;
		bool root_dot = root && kind == REC_DOT;
		size_t len;

		if (!joliet)
			sua_len = build_sua(L, c, kind, root_dot, fixed,
					    out ? ce_base(d) : 0, ce_off, sua,
					    ce, &ce_len);
		if (!out && ce_len) {
			ce_off = alloc_ce(d, ce_len);
			if (root_dot)
				d->dot_ce_off = ce_off;
			else
				c->ce_off = ce_off;
		}
		if (out && ce_len) /* the continuation area itself */
			memcpy(sector(L, ce_base(d)) + ce_off, ce, ce_len);
		len = put_record(rec, L,
				 c->dir ? (joliet ? c->jextent : c->extent) :
					  c->extent,
				 c->dir ? (joliet ? c->jsize : c->size) :
					  (uint32_t)c->fsize,
				 c->dir, fi, len_fi, sua, sua_len);
		off = place(off, len);
		if (out)
			memcpy(out + off, rec, len);
		off += len;
	}
	return (off + ISO_SECTOR - 1) / ISO_SECTOR * ISO_SECTOR;
}

/* ---- path tables and volume descriptors -------------------------------- */

static uint64_t path_table(const struct layout *L, bool joliet, bool msb,
			   uint8_t *out)
{
	struct inode **dirs = joliet ? L->jdirs : L->pdirs;
	uint64_t off = 0;

	for (size_t i = 0; i < L->ndirs; i++) {
		const struct inode *d = dirs[i];
		const uint8_t *id = i == 0 ? dot_id : joliet ? d->jid : d->id;
		size_t len = i == 0 ? 1 : joliet ? d->jid_len : d->id_len;
		uint32_t extent = joliet ? d->jextent : d->extent;
		uint32_t parent = joliet ? d->parent->jdirnum :
					   d->parent->dirnum;

		if (out) {
			struct iso_path_rec *r = (struct iso_path_rec *)(out +
									 off);

			r->len_di = (uint8_t)len;
			r->ext_attr_len = 0;
			if (msb) {
				iso_put_be32(r->extent, extent);
				iso_put_be16(r->parent, (uint16_t)parent);
			} else {
				iso_put_le32(r->extent, extent);
				iso_put_le16(r->parent, (uint16_t)parent);
			}
			memcpy(out + off + sizeof(*r), id, len);
		}
		off += sizeof(struct iso_path_rec) + len + (len & 1);
	}
	return off;
}

static void put_achars(uint8_t *dst, size_t n, const char *s)
{
	size_t len = strlen(s);

	memset(dst, ' ', n);
	memcpy(dst, s, len < n ? len : n);
}

/* Joliet identifiers: UCS-2BE, padded with UCS-2 spaces. */
static void put_ucs2(uint8_t *dst, size_t n, const uint16_t *u, size_t len)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		iso_put_be16(dst + i, i / 2 < len ? u[i / 2] : ' ');
	if (n & 1)
		dst[n - 1] = 0;
}

static void put_ucs2_ascii(uint8_t *dst, size_t n, const char *s)
{
	uint16_t u[128];
	size_t len = strlen(s);

	for (size_t i = 0; i < len && i < 128; i++)
		u[i] = (uint8_t)s[i];
	put_ucs2(dst, n, u, len < 128 ? len : 128);
}

static void put_vd(const struct layout *L, uint8_t *sec, bool joliet)
{
	struct iso_volume_descriptor *vd = (struct iso_volume_descriptor *)sec;
	const struct inode *root = &L->in[0];
	const char *app = "AEROFS " AEROFS_VERSION;

	memset(vd, 0, sizeof(*vd));
	vd->type = joliet ? 2 : 1;
	memcpy(vd->id, "CD001", 5);
	vd->version = 1;
	if (joliet) {
		put_ucs2_ascii(vd->system_id, 32, "AERO");
		put_ucs2(vd->volume_id, 32, L->jvolid, L->jvolid_len);
		/* Joliet: UCS-2 level 3 */
		memcpy(vd->escapes, "%/E", 3);
		put_ucs2_ascii(vd->set_id, 128, "");
		put_ucs2_ascii(vd->publisher_id, 128, "");
		put_ucs2_ascii(vd->preparer_id, 128, "");
		put_ucs2_ascii(vd->application_id, 128, app);
		put_ucs2_ascii(vd->copyright_file, 37, "");
		put_ucs2_ascii(vd->abstract_file, 37, "");
		put_ucs2_ascii(vd->bibliographic_file, 37, "");
	} else {
		put_achars(vd->system_id, 32, "AERO");
		memcpy(vd->volume_id, L->volid, 32);
		put_achars(vd->set_id, 128, "");
		put_achars(vd->publisher_id, 128, "");
		put_achars(vd->preparer_id, 128, "");
		put_achars(vd->application_id, 128, app);
		put_achars(vd->copyright_file, 37, "");
		put_achars(vd->abstract_file, 37, "");
		put_achars(vd->bibliographic_file, 37, "");
	}
	iso_put_both32(vd->space_size, L->total);
	iso_put_both16(vd->set_size, 1);
	iso_put_both16(vd->seq_number, 1);
	iso_put_both16(vd->block_size, ISO_SECTOR);
	iso_put_both32(vd->path_table_size, joliet ? L->jpt_size : L->pt_size);
	iso_put_le32(vd->l_path_table, joliet ? L->jlpt : L->lpt);
	iso_put_be32(vd->m_path_table, joliet ? L->jmpt : L->mpt);
	put_record(vd->root, L, joliet ? root->jextent : root->extent,
		   joliet ? root->jsize : root->size, true, dot_id, 1, NULL, 0);
	memcpy(vd->created, L->date17, 17);
	memcpy(vd->modified, L->date17, 17);
	/* 8.4.26.1: not specified = digits zero, offset zero */
	memset(vd->expires, '0', 16);
	memcpy(vd->effective, L->date17, 17);
	vd->structure_version = 1;
}

/* ---- building ---------------------------------------------------------- */

static int set_label(struct layout *L, const char *label)
{
	const unsigned char *s = (const unsigned char *)label;
	size_t len = strlen(label), i = 0, n = 0, max;

	max = L->joliet ? 16 : 32;
	memset(L->volid, ' ', sizeof(L->volid));
	while (i < len) {
		uint32_t c;

		i += utf8_next(s + i, len - i, &c);
		if (c > 0xffff || c < 0x20)
			return aero_error_set(L->err, -EINVAL,
					      "label \"%s\": character U+%04X "
					      "cannot be in a volume id",
					      label, (unsigned)c);
		if (n == max)
			return aero_error_set(L->err, -EINVAL,
					      "label \"%s\" is too long: "
					      "%s volume ids hold %zu "
					      "characters",
					      label,
					      L->joliet ? "Joliet" : "ISO9660",
					      max);
		L->jvolid[n < 16 ? n : 15] = (uint16_t)c;
		L->volid[n] = (uint8_t)primary_char(c);
		n++;
	}
	if (n == 0)
		return aero_error_set(L->err, -EINVAL, "label is empty");
	L->jvolid_len = n;
	return 0;
}

static void layout_free(struct layout *L)
{
	if (L->in) {
		for (size_t i = 0; i < L->n; i++) {
			free(L->in[i].id);
			free(L->in[i].jid);
			free(L->in[i].kids);
			free(L->in[i].jkids);
		}
	}
	free(L->in);
	free(L->pdirs);
	free(L->jdirs);
	free(L->uniq);
	free(L->meta);
}

/*
 * $WinPEDriver$ (unless no_winpe): Windows Setup loads the drivers in a
 * root folder of that name on any medium (Microsoft KB 2686316), so the
 * root gets one holding "x86" and "amd64", copies of the pack's win7/x86
 * and win7/amd64 trees.  The copies are inodes of their own (after the
 * pack's, so that the pack's own files keep owning the data extents) over
 * the same pack nodes, so assign() finds their contents already placed
 * and the copy costs only directory records.  Joliet, which Windows reads,
 * names it exactly "$WinPEDriver$"; the primary tree, where '$' is not a
 * d-character, "_WINPEDRIVER_".  A pack with its own $WinPEDriver$, or
 * without win7/x86 and win7/amd64, gets none.
 */
/* ARCH 0: win7/amd64, 1: win7/x86 (bytewise order, like their copies). */
static const struct pack_node *winpe_src(const struct layout *L, int arch)
{
	const struct pack_node *n = pack_lookup_path(L->pack,
						     arch ? "win7/x86" :
							    "win7/amd64");

	return n && pack_node_is_dir(n) ? n : NULL;
}

static size_t winpe_subtree(const struct pack_node *n)
{
	size_t k = 1;

	/* recursion as deep as the pack, which bounds it (pack.h) */
	for (size_t i = 0; i < pack_node_nchildren(n); i++)
		k += winpe_subtree(pack_node_child(n, i));
	return k;
}

/* Inodes $WinPEDriver$ adds (0: none). */
static size_t winpe_count(const struct layout *L)
{
	const struct pack_node *root = pack_root(L->pack);
	size_t n = 0;

	if (!L->winpe)
		return 0;
	for (size_t i = 0; i < pack_node_nchildren(root); i++)
		if (strcasecmp(pack_node_name(pack_node_child(root, i)),
			       WINPE_DIR) == 0)
			return 0;
	for (int a = 0; a < 2; a++)
		if (winpe_src(L, a))
			n += winpe_subtree(winpe_src(L, a));
	return n ? n + 1 : 0;
}

/* A new inode for pack node SRC (NULL: $WinPEDriver$) under PARENT. */
static struct inode *winpe_inode(struct layout *L, const struct pack_node *src,
				 struct inode *parent, size_t room)
{
	struct inode *in = &L->in[L->n++];

	in->node = src;
	in->dir = !src || pack_node_is_dir(src);
	in->fsize = src ? pack_node_size(src) : 0;
	in->parent = parent;
	L->ndirs += in->dir;
	if (room) {
		in->kids = calloc(room, sizeof(*in->kids));
		in->jkids = calloc(room, sizeof(*in->jkids));
		if (!in->kids || !in->jkids)
			return NULL;
	}
	return in;
}

/* Copies the subtree of SRC under PARENT; returns its inode or NULL. */
static struct inode *winpe_copy(struct layout *L, const struct pack_node *src,
				struct inode *parent)
{
	size_t n = pack_node_nchildren(src);
	struct inode *in = winpe_inode(L, src, parent, n);

	for (size_t i = 0; in && i < n; i++) {
		struct inode *k = winpe_copy(L, pack_node_child(src, i), in);

		if (!k)
			return NULL;
		in->kids[in->nkids] = in->jkids[in->nkids] = k;
		in->nkids++;
	}
	return in;
}

/* Adds $WinPEDriver$ to the root, whose kids have room for one more. */
static int winpe_add(struct layout *L)
{
	struct inode *root = &L->in[0], *wp;
	size_t at = 0;

	while (at < root->nkids &&
	       strcmp(inode_name(root->kids[at]), WINPE_DIR) < 0)
		at++;
	if (!(wp = winpe_inode(L, NULL, root, 2)))
		return -ENOMEM;
	memmove(root->kids + at + 1, root->kids + at,
		(root->nkids - at) * sizeof(*root->kids));
	memmove(root->jkids + at + 1, root->jkids + at,
		(root->nkids - at) * sizeof(*root->jkids));
	root->kids[at] = root->jkids[at] = wp;
	root->nkids++;
	for (int a = 0; a < 2; a++) {
		struct inode *k;

		if (!winpe_src(L, a))
			continue;
		if (!(k = winpe_copy(L, winpe_src(L, a), wp)))
			return -ENOMEM;
		wp->kids[wp->nkids] = wp->jkids[wp->nkids] = k;
		wp->nkids++;
	}
	return 0;
}

static int load_tree(struct layout *L)
{
	size_t extra = winpe_count(L);
	int rc;

	L->n = pack_node_count(L->pack);
	L->in = calloc(L->n + extra, sizeof(*L->in));
	if (!L->in)
		return -ENOMEM;
	for (size_t i = 0; i < L->n; i++) {
		struct inode *in = &L->in[i];
		const struct pack_node *node = pack_node_by_ino(L->pack, i + 1);
		size_t room;

		in->node = node;
		in->dir = pack_node_is_dir(node);
		in->fsize = pack_node_size(node);
		in->parent = &L->in[pack_node_ino(pack_node_parent(node)) - 1];
		if (in->dir)
			L->ndirs++;
		if (!in->dir && in->fsize > UINT32_MAX)
			return aero_error_set(L->err, -EFBIG,
					      "%s: %llu bytes: files of 4 GiB "
					      "or more need ISO9660 "
					      "multi-extent, which is not "
					      "supported",
					      pack_node_path(node),
					      (unsigned long long)in->fsize);
		in->nkids = pack_node_nchildren(node);
		room = in->nkids + (i == 0 && extra); /* $WinPEDriver$ */
		if (!room)
			continue;
		in->kids = calloc(room, sizeof(*in->kids));
		in->jkids = calloc(room, sizeof(*in->jkids));
		if (!in->kids || !in->jkids)
			return -ENOMEM;
	}
	for (size_t i = 0; i < L->n; i++) {
		struct inode *in = &L->in[i];

		for (size_t k = 0; k < in->nkids; k++) {
			uint64_t ino = pack_node_ino(
				pack_node_child(in->node, k));

			in->kids[k] = in->jkids[k] = &L->in[ino - 1];
		}
	}
	if (extra && (rc = winpe_add(L)) < 0)
		return rc;
	if (L->ndirs > PATH_TABLE_DIRS_MAX)
		return aero_error_set(L->err, -EFBIG,
				      "%zu directories: an ISO9660 path "
				      "table numbers at most %u",
				      L->ndirs, PATH_TABLE_DIRS_MAX);
	L->pdirs = calloc(L->ndirs, sizeof(*L->pdirs));
	L->jdirs = calloc(L->ndirs, sizeof(*L->jdirs));
	L->uniq = calloc(L->n, sizeof(*L->uniq));
	if (!L->pdirs || !L->jdirs || !L->uniq)
		return -ENOMEM;
	return 0;
}

/* Content identity: SHA-256 plus size. */
struct content_map {
	struct inode **slot;
	size_t cap;
};

static struct inode **content_slot(struct content_map *m,
				   const struct inode *in)
{
	const unsigned char *h = pack_node_sha256(in->node);
	uint64_t k;
	size_t i;

	memcpy(&k, h, sizeof(k));
	for (i = (k ^ in->fsize) & (m->cap - 1); m->slot[i];
	     i = (i + 1) & (m->cap - 1)) {
		const struct inode *o = m->slot[i];

		if (o->fsize == in->fsize &&
		    memcmp(pack_node_sha256(o->node), h, 32) == 0)
			break;
	}
	return &m->slot[i];
}

static int sectors(uint64_t bytes, uint64_t *lba)
{
	uint64_t n = (bytes + ISO_SECTOR - 1) / ISO_SECTOR;

	return ADD_OVERFLOW(*lba, n, lba) ? -EFBIG : 0;
}

static int too_big(struct layout *L)
{
	return aero_error_set(L->err, -EFBIG,
			      "pack too large for ISO9660: more than 2^32 "
			      "sectors");
}

/* Assigns every extent; fills L->total. */
static int assign(struct layout *L)
{
	struct content_map map = { 0 };
	uint64_t lba = ISO_SYSTEM_AREA_SECTORS + 2 + L->joliet, size;
	int rc = 0;

	L->pt_size = (uint32_t)path_table(L, false, false, NULL);
	L->lpt = (uint32_t)lba;
	sectors(L->pt_size, &lba);
	L->mpt = (uint32_t)lba;
	sectors(L->pt_size, &lba);
	if (L->joliet) {
		L->jpt_size = (uint32_t)path_table(L, true, false, NULL);
		L->jlpt = (uint32_t)lba;
		sectors(L->jpt_size, &lba);
		L->jmpt = (uint32_t)lba;
		sectors(L->jpt_size, &lba);
	}
	/* Directory sizes do not depend on extents: size, then place. */
	for (size_t i = 0; i < L->ndirs; i++) {
		struct inode *d = L->pdirs[i];

		size = dir_records(L, d, false, NULL);
		if (size > UINT32_MAX || lba > UINT32_MAX)
			return too_big(L);
		d->size = (uint32_t)size;
		d->extent = (uint32_t)lba;
		sectors(size, &lba);
		sectors(d->ce_size, &lba);
	}
	for (size_t i = 0; L->joliet && i < L->ndirs; i++) {
		struct inode *d = L->jdirs[i];

		size = dir_records(L, d, true, NULL);
		if (size > UINT32_MAX || lba > UINT32_MAX)
			return too_big(L);
		d->jsize = (uint32_t)size;
		d->jextent = (uint32_t)lba;
		sectors(size, &lba);
	}
	if (lba > UINT32_MAX)
		return too_big(L);
	L->data_lba = (uint32_t)lba;

	map.cap = 16;
	while (map.cap < 2 * L->n)
		map.cap *= 2;
	map.slot = calloc(map.cap, sizeof(*map.slot));
	if (!map.slot)
		return -ENOMEM;
	for (size_t i = 0; i < L->n; i++) {
		struct inode *in = &L->in[i], **slot;

		if (in->dir)
			continue;
		if (in->fsize == 0) {
			/*
			 * No data: extent 0, as mkisofs does.  Not the next
			 * data sector: without Rock Ridge, libarchive takes
			 * the extent for the inode number and would make an
			 * empty file a hard link of a real one there.
			 */
			in->extent = 0;
			continue;
		}
		slot = content_slot(&map, in);
		if (*slot) {
			in->extent = (*slot)->extent;
			continue;
		}
		*slot = in;
		if (lba > UINT32_MAX) {
			rc = too_big(L);
			goto out;
		}
		in->extent = (uint32_t)lba;
		L->uniq[L->nuniq++] = in;
		if (sectors(in->fsize, &lba) < 0 || lba > UINT32_MAX) {
			rc = too_big(L);
			goto out;
		}
	}
	L->total = (uint32_t)lba;
out:
	free(map.slot);
	return rc;
}

static int write_meta(struct layout *L)
{
	uint64_t len = ((uint64_t)L->data_lba - ISO_SYSTEM_AREA_SECTORS) *
		       ISO_SECTOR;
	uint8_t *term;

	if (len > SIZE_MAX || !(L->meta = calloc(1, (size_t)len)))
		return -ENOMEM;
	put_vd(L, sector(L, 16), false);
	if (L->joliet)
		put_vd(L, sector(L, 17), true);
	/* 8.3: volume descriptor set terminator */
	term = sector(L, 17 + L->joliet);
	term[0] = 255;
	memcpy(term + 1, "CD001", 5);
	term[6] = 1;
	path_table(L, false, false, sector(L, L->lpt));
	path_table(L, false, true, sector(L, L->mpt));
	if (L->joliet) {
		path_table(L, true, false, sector(L, L->jlpt));
		path_table(L, true, true, sector(L, L->jmpt));
	}
	for (size_t i = 0; i < L->ndirs; i++)
		dir_records(L, L->pdirs[i], false,
			    sector(L, L->pdirs[i]->extent));
	for (size_t i = 0; L->joliet && i < L->ndirs; i++)
		dir_records(L, L->jdirs[i], true,
			    sector(L, L->jdirs[i]->jextent));
	return 0;
}

static int make_regions(struct layout *L, struct regions *rs)
{
	uint64_t meta_len = ((uint64_t)L->data_lba - ISO_SYSTEM_AREA_SECTORS) *
			    ISO_SECTOR;
	int rc;

	if ((rc = regions_append_zero(rs, ISO_SYSTEM_AREA_SECTORS *
						  ISO_SECTOR)) < 0)
		return rc;
	rc = regions_append_data(rs, L->meta, meta_len, true);
	L->meta = NULL; /* owned by the regions now, even on error */
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < L->nuniq; i++) {
		const struct inode *in = L->uniq[i];

		if (regions_size(rs) != (uint64_t)in->extent * ISO_SECTOR)
			return -EINVAL; /* layout bug: caught by tests */
		if ((rc = regions_append_file(rs, in->node, in->fsize)) < 0 ||
		    (rc = regions_pad(rs, ISO_SECTOR)) < 0)
			return rc;
	}
	return regions_size(rs) == (uint64_t)L->total * ISO_SECTOR ? 0 :
								     -EINVAL;
}

int iso_image_layout(struct pack *pack, const struct image_options *opts,
		     struct regions *rs, struct aero_error *err)
{
	struct layout L = { .pack = pack, .err = err };
	int rc;

	L.rr = !opts->no_rock_ridge;
	L.joliet = !opts->no_joliet;
	L.winpe = !opts->no_winpe;
	set_dates(&L, pack_epoch(pack));
	if ((rc = set_label(&L, opts->label ? opts->label : pack_label(pack))) <
		    0 ||
	    (rc = load_tree(&L)) < 0)
		goto out;
	for (size_t i = 0; i < L.n; i++) {
		struct inode *d = &L.in[i];

		if (!d->nkids)
			continue;
		if ((rc = name_children(&L, d)) < 0)
			goto out;
		qsort(d->kids, d->nkids, sizeof(*d->kids), cmp_primary);
		if (L.joliet)
			qsort(d->jkids, d->nkids, sizeof(*d->jkids),
			      cmp_joliet);
	}
	order_dirs(&L, false);
	if (L.joliet)
		order_dirs(&L, true);
	if ((rc = assign(&L)) < 0 || (rc = write_meta(&L)) < 0)
		goto out;
	rc = make_regions(&L, rs);
out:
	layout_free(&L);
	return rc;
}
