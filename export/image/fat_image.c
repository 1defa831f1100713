/*
 * fat_image.c: lays a pack out as an MBR-partitioned FAT16/FAT32 disk as a
 * region table (see fat_image.h and image.h).
 *
 * "The spec" below is Microsoft's "FAT: General Overview of On-Disk
 * Format" v1.03 (fatgen103).  Layout, in 512-byte sectors:
 *
 *   0             MBR: boot code that only does INT 18h (boot the next
 *                 device), disk signature, one partition entry
 *   1..2047       zero
 *   2048          partition: reserved sectors (FAT32: 32, with the boot
 *                 sector at 0, FSInfo at 1 and their backups at 6 and 7;
 *                 FAT16: 1), FAT 1, FAT 2 (the same buffer twice), FAT16's
 *                 fixed root directory, then the clusters: directories and
 *                 files in tree order, each one contiguous run, then free
 *                 clusters (zero)
 *   ...           zero up to the end of the last cylinder
 *
 * The tree is the pack's, plus the $WinPEDriver$ copies: struct fnode
 * below, in an array in depth-first order (a directory before its
 * subtree), which is also the cluster allocation order.
 */
#include "export/image/fat_image.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "catalog/util/civil.h"
#include "catalog/util/utf.h"
#include "export/image/regions.h"

#define SECTOR 512u
#define PART_LBA 2048u /* 1 MiB, as DiskPart aligns partitions */
#define DIRENT 32u
#define CHS_MAX (65535ull * 16 * 255) /* the largest VHD geometry */

/* Cluster counts (spec 3.5), kept MARGIN away from each boundary. */
#define MARGIN 1024u
#define FAT16_MIN (4085u + MARGIN)
#define FAT16_MAX (65524u - MARGIN)
#define FAT32_MIN (65525u + MARGIN)
#define FAT32_MAX (0x0ffffff5u - MARGIN) /* 28-bit entries */

#define FAT32_RSVD 32u		 /* reserved sectors, as Windows formats */
#define FAT16_ROOT_MIN 512u	 /* spec 3.1 BPB_RootEntCnt: "should be 512" */
#define DIR_MAX 65536u		 /* spec 6: entries per directory */
#define FAT32_PART_MAX 67108864u /* 32 GiB, Windows' FAT32 limit */
#define FILE_MAX 0xffffffffu
#define LFN_CHARS 13u
#define NAME_UNITS 256u /* UTF-16 units of a name, >= PACK_NAME_MAX */

#define ATTR_VOLUME_ID 0x08
#define ATTR_DIRECTORY 0x10
#define ATTR_ARCHIVE 0x20
#define ATTR_LONG_NAME 0x0f
#define LFN_LAST 0x40
#define CASE_LOWER_BASE 0x08 /* NT: base name is lower case */
#define CASE_LOWER_EXT 0x10  /* NT: extension is lower case */

#define WINPE_DIR "$WinPEDriver$"

/* One directory or file of the image. */
struct fnode {
	const struct pack_node *src; /* file content or mirrored dir;
					 * NULL for $WinPEDriver$ itself */
	const char *name;
	struct fnode *parent;
	struct fnode **kids;
	size_t nkids;
	bool dir;
	uint64_t size;	 /* files */
	uint8_t sfn[11]; /* short name, space padded */
	uint8_t ncase;	 /* NT case bits */
	uint8_t nlfn;	 /* long name entries */
	uint32_t nent;	 /* dir: entries, with . .. or the label */
	uint32_t cluster, nclus;
};

struct geom {
	bool fat32;
	uint32_t spc; /* sectors per cluster */
	uint32_t rsvd, fatsz, root_ents, root_secs;
	uint32_t clusters; /* data clusters, numbered 2..clusters+1 */
	uint64_t part_secs, disk_secs;
	struct fat_chs chs;
};

struct layout {
	struct pack *pack;
	struct aero_error *err;
	bool winpe;
	struct fnode *f; /* [n], f[0] is the root */
	size_t n, cap;
	uint8_t label[11];
	uint16_t date, time;
	uint8_t tenth;
	uint32_t serial;
	unsigned char digest[32];
	struct geom g;
	uint32_t used; /* clusters allocated */
};

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v);
	put16(p + 2, v >> 16);
}

/* ---- geometry ---------------------------------------------------------- */

void fat_image_chs(uint64_t total, struct fat_chs *g)
{
	uint64_t cth;
	uint32_t spt, heads;

	/* VHD spec, appendix: CHS calculation, verbatim in structure */
	if (total > CHS_MAX)
		total = CHS_MAX;
	if (total >= 65535ull * 16 * 63) {
		spt = 255;
		heads = 16;
		cth = total / spt;
	} else {
		spt = 17;
		cth = total / spt;
		heads = (uint32_t)((cth + 1023) / 1024);
		if (heads < 4)
			heads = 4;
		if (cth >= heads * 1024ull || heads > 16) {
			spt = 31;
			heads = 16;
			cth = total / spt;
		}
		if (cth >= heads * 1024ull) {
			spt = 63;
			heads = 16;
			cth = total / spt;
		}
	}
	g->cylinders = (uint32_t)(cth / heads);
	g->heads = heads;
	g->sectors = spt;
}

/*
 * The smallest disk of at least MIN sectors that is a whole number of
 * cylinders of its own VHD geometry (left in *G), or 0 past the largest
 * geometry.  Such a disk is a multiple of its sectors per track, 17, 31,
 * 63 or 255 (= 15 x 17), so only multiples of 17, 31 and 63 are tried;
 * whole sizes are never more than one cylinder apart (16 x 63 sectors
 * below 65535 x 16 x 63, 16 x 255 above), which bounds the walk.
 */
static uint64_t chs_round_up(uint64_t min, struct fat_chs *g)
{
	for (uint64_t d = min; d <= CHS_MAX; d++) {
		if (d % 17 && d % 31 && d % 63)
			continue;
		fat_image_chs(d, g);
		if ((uint64_t)g->cylinders * g->heads * g->sectors == d)
			return d;
	}
	return 0;
}

/* ---- dates ------------------------------------------------------------- */

static void set_dates(struct layout *L, int64_t epoch)
{
	int64_t lo = civil_days(1980, 1, 1) * 86400;
	int64_t hi = civil_days(2107, 12, 31) * 86400 + 86399;
	struct civil_time c;

	/* spec 6.3: dates 1980..2107, times in 2-second units */
	if (epoch < lo)
		epoch = lo;
	if (epoch > hi)
		epoch = hi;
	civil_from_time(epoch, &c);
	L->date = (uint16_t)((c.year - 1980) << 9 | c.month << 5 | c.day);
	L->time = (uint16_t)(c.hour << 11 | c.min << 5 | c.sec / 2);
	L->tenth = (uint8_t)(c.sec % 2 * 100); /* 10 ms units, 0..199 */
}

/* ---- names ------------------------------------------------------------- */

/* UTF-8 NAME to UTF-16 units (at most NAME_UNITS); returns the count. */
static size_t to_utf16(const char *name, uint16_t *u)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t len = strlen(name), i = 0, n = 0;

	while (i < len && n + 2 <= NAME_UNITS) {
		uint32_t c;
		size_t k = utf8_get(s + i, len - i, &c);

		if (k == 0) { /* pack names are valid UTF-8 */
			c = UTF_REPLACEMENT;
			k = 1;
		}
		i += k;
		if (c >= 0x10000) {
			c -= 0x10000;
			u[n++] = (uint16_t)(0xd800 | c >> 10);
			u[n++] = (uint16_t)(0xdc00 | (c & 0x3ff));
		} else {
			u[n++] = (uint16_t)c;
		}
	}
	return n;
}

/*
 * Case folding for "same name?" in one directory, as Windows' upcase
 * table does for the scripts folded here (ASCII, Latin-1, Greek, Cyrillic).
 */
static uint16_t fold(uint16_t c)
{
	if (c >= 'a' && c <= 'z')
		return (uint16_t)(c - 32);
	if (c >= 0xe0 && c <= 0xfe && c != 0xf7)
		return (uint16_t)(c - 32);
	if (c == 0xff)
		return 0x178;
	if (c >= 0x3b1 && c <= 0x3c9 && c != 0x3c2)
		return (uint16_t)(c - 32);
	if (c >= 0x430 && c <= 0x44f)
		return (uint16_t)(c - 32);
	if (c >= 0x450 && c <= 0x45f)
		return (uint16_t)(c - 80);
	return c;
}

/* Characters a short name may hold besides A-Z 0-9 (spec 6.1). */
static bool sfn_char(unsigned c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c > 0 && c < 0x80 && strchr("$%'-_@~`!(){}^#&", (int)c));
}

/* A character Windows refuses in any name (besides '/' and NUL). */
static bool lfn_bad(uint16_t c)
{
	return c < 0x20 || (c < 0x80 && strchr("\"*:<>?\\|", c));
}

/*
 * If NAME is an 8.3 name whose base and extension are each upper or lower
 * case, writes its short name and NT case bits and returns true.
 */
static bool exact_83(const char *name, uint8_t sfn[11], uint8_t *ncase)
{
	size_t len = strlen(name), dot = len, blen, elen;
	bool lo[2] = { false, false }, up[2] = { false, false };

	const char *d = strchr(name, '.');

	if (d) {
		if (strchr(d + 1, '.'))
			return false;
		dot = (size_t)(d - name);
	}
	blen = dot;
	elen = d ? len - dot - 1 : 0;
	if (blen < 1 || blen > 8 || elen > 3 || (d && elen == 0))
		return false;
	memset(sfn, ' ', 11);
	for (size_t i = 0; i < len; i++) {
		unsigned c = (unsigned char)name[i];
		int part = i > dot;

		if (i == dot)
			continue;
		if (c >= 'a' && c <= 'z') {
			lo[part] = true;
			c -= 32;
		} else if (c >= 'A' && c <= 'Z') {
			up[part] = true;
		}
		if (!sfn_char(c))
			return false;
		sfn[part ? 8 + i - dot - 1 : i] = (uint8_t)c;
	}
	if ((lo[0] && up[0]) || (lo[1] && up[1]))
		return false;
	*ncase = (uint8_t)((lo[0] ? CASE_LOWER_BASE : 0) |
			   (lo[1] ? CASE_LOWER_EXT : 0));
	return true;
}

/*
 * Appends character C of a long name to a short name part OUT of *LEN
 * characters, at most CAP (8 or 3): upper-cased, '_' for what a short
 * name cannot hold, dropped past CAP; *EXACT turns false when the part no
 * longer says the long name exactly.
 */
static void sfn_put(uint16_t c, char *out, size_t *len, size_t cap, bool *exact)
{
	if (*len == cap) {
		*exact = false;
		return;
	}
	if (c >= 'a' && c <= 'z')
		c = (uint16_t)(c - 32);
	if (!sfn_char(c)) {
		c = '_';
		*exact = false;
	}
	out[(*len)++] = (char)c;
}

/*
 * The basis name of fatgen103 ("Basis-Name Generation Algorithm") into
 * BASE (up to 8) and EXT (up to 3); returns true if nothing was lost, i.e.
 * the basis name is the long name in upper case.
 */
static bool basis_name(const uint16_t *u, size_t n, char *base, size_t *blen,
		       char *ext, size_t *elen)
{
	size_t last_dot = n, i = 0;
	bool exact = true;

	for (size_t k = 0; k < n; k++)
		if (u[k] == '.')
			last_dot = k;
	*blen = *elen = 0;
	/* leading periods and spaces go (and make the name inexact) */
	while (i < n && (u[i] == '.' || u[i] == ' ')) {
		i++;
		exact = false;
	}
	if (last_dot < i)
		last_dot = n; /* the only periods were leading ones */
	for (; i < n; i++) {
		uint16_t c = u[i];

		if (i == last_dot)
			break;
		if (c == ' ' || c == '.') { /* embedded: stripped */
			exact = false;
			continue;
		}
		sfn_put(c, base, blen, 8, &exact);
	}
	for (i = last_dot + 1; last_dot < n && i < n; i++) {
		uint16_t c = u[i];

		if (c == ' ') {
			exact = false;
			continue;
		}
		sfn_put(c, ext, elen, 3, &exact);
	}
	if (*blen == 0) { /* e.g. ".txt" stripped to nothing */
		base[(*blen)++] = '_';
		exact = false;
	}
	return exact;
}

/* A set of 11-byte short names of one directory. */
struct sfnset {
	const uint8_t **slot;
	size_t cap;
};

static size_t sfn_hash(const uint8_t *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (int i = 0; i < 11; i++)
		h = (h ^ s[i]) * 1099511628211ull;
	return (size_t)h;
}

/* Adds S (kept by pointer) unless present; true if added. */
static bool sfn_add(struct sfnset *set, const uint8_t *s)
{
	size_t i = sfn_hash(s) & (set->cap - 1);

	for (; set->slot[i]; i = (i + 1) & (set->cap - 1))
		if (memcmp(set->slot[i], s, 11) == 0)
			return false;
	set->slot[i] = s;
	return true;
}

static uint32_t name_hash(const uint16_t *u, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a, folded */

	for (size_t i = 0; i < n; i++) {
		uint16_t c = fold(u[i]);

		h = (h ^ (c & 0xff)) * 16777619u;
		h = (h ^ (c >> 8)) * 16777619u;
	}
	return h;
}

/*
 * Short name attempt K (0-based) for basis BASE.EXT: "~1".."~4" after up
 * to 6 characters, then 2 characters, 4 hex digits and "~1".."~9".
 */
static void sfn_attempt(const char *base, size_t blen, const char *ext,
			size_t elen, uint32_t hash, uint32_t k, uint8_t sfn[11])
{
	char tail[16];
	size_t keep, tl;

	memset(sfn, ' ', 11);
	if (k < 4) {
		tl = (size_t)snprintf(tail, sizeof(tail), "~%u", k + 1);
		keep = blen < 8 - tl ? blen : 8 - tl;
	} else {
		uint32_t m = k - 4;

		snprintf(tail, sizeof(tail), "%04X~%u",
			 (unsigned)((hash ^ hash >> 16) + m / 9) & 0xffff,
			 (unsigned)(m % 9 + 1));
		tl = 6;
		keep = blen < 2 ? blen : 2;
	}
	memcpy(sfn, base, keep);
	memcpy(sfn + keep, tail, tl);
	memcpy(sfn + 8, ext, elen);
}

/* For messages: the pack path of a directory (of its original). */
static const char *dir_path(const struct fnode *d)
{
	if (!d->src)
		return WINPE_DIR;
	return d->parent == d ? "/" : pack_node_path(d->src);
}

/* True if U (N units) and NAME are equal after fold(); V is scratch. */
static bool same_folded(const uint16_t *u, size_t n, const char *name,
			uint16_t *v)
{
	size_t m = to_utf16(name, v), k = 0;

	while (k < n && m == n && fold(u[k]) == fold(v[k]))
		k++;
	return m == n && k == n;
}

static int case_clash(struct layout *L, const struct fnode *d,
		      const struct fnode *a, const struct fnode *b)
{
	return aero_error_set(L->err, -EINVAL,
			      "\"%s\" and \"%s\" in \"%s\" differ only in "
			      "case, which FAT cannot tell apart",
			      a->name, b->name, dir_path(d));
}

/* Gives every child of D its short name, case bits and long name count. */
static int name_dir(struct layout *L, struct fnode *d)
{
	struct sfnset set = { 0 };
	const struct fnode **names = NULL; /* folded long name set */
	bool *todo = NULL;
	size_t ncap = 16;
	uint64_t nent = d == &L->f[0] ? 1 : 2; /* label, or . and .. */
	int rc = 0;

	set.cap = 16;
	while (set.cap < 2 * d->nkids + 2)
		set.cap *= 2;
	ncap = set.cap;
	set.slot = calloc(set.cap, sizeof(*set.slot));
	names = calloc(ncap, sizeof(*names));
	todo = calloc(d->nkids + 1, sizeof(*todo));
	if (!set.slot || !names || !todo) {
		rc = -ENOMEM;
		goto out;
	}
	/* pass 1: check long names; exact 8.3 names keep their short name */
	for (size_t i = 0; i < d->nkids; i++) {
		struct fnode *c = d->kids[i];
		uint16_t u[NAME_UNITS], v[NAME_UNITS];
		size_t n = to_utf16(c->name, u), slot;
		char base[8], ext[3];
		size_t blen, elen;

		for (size_t k = 0; k < n; k++)
			if (lfn_bad(u[k]))
				goto bad_name;
		if (u[n - 1] == ' ' || u[n - 1] == '.')
			goto bad_name;
		slot = name_hash(u, n) & (ncap - 1);
		for (; names[slot]; slot = (slot + 1) & (ncap - 1)) {
			if (same_folded(u, n, names[slot]->name, v)) {
				rc = case_clash(L, d, names[slot], c);
				goto out;
			}
		}
		names[slot] = c;
		if (exact_83(c->name, c->sfn, &c->ncase)) {
			c->nlfn = 0;
		} else {
			c->nlfn = (uint8_t)((n + LFN_CHARS - 1) / LFN_CHARS);
			if (basis_name(u, n, base, &blen, ext, &elen)) {
				memset(c->sfn, ' ', 11);
				memcpy(c->sfn, base, blen);
				memcpy(c->sfn + 8, ext, elen);
			} else {
				todo[i] = true;
			}
		}
		if (!todo[i] && !sfn_add(&set, c->sfn)) {
			/* taken: a tail, so the long name must be kept */
			todo[i] = true;
			c->nlfn = (uint8_t)((n + LFN_CHARS - 1) / LFN_CHARS);
		}
		nent += 1u + c->nlfn;
		continue;
bad_name:
		rc = aero_error_set(L->err, -EINVAL,
				    "\"%s\": a FAT long name cannot hold "
				    "controls, \" * : < > ? \\ | or end in a "
				    "space or period",
				    pack_node_path(c->src));
		goto out;
	}
	if (nent > DIR_MAX) {
		rc = aero_error_set(L->err, -ENOSPC,
				    "directory \"%s\" needs %llu entries: a "
				    "FAT directory holds at most %u (a long "
				    "name takes one per 13 characters)",
				    dir_path(d), (unsigned long long)nent,
				    DIR_MAX);
		goto out;
	}
	d->nent = (uint32_t)nent;
	/* pass 2: numeric tails, in pack order */
	for (size_t i = 0; i < d->nkids; i++) {
		struct fnode *c = d->kids[i];
		uint16_t u[NAME_UNITS];
		size_t n, blen, elen;
		char base[8], ext[3];
		uint32_t h, k;

		if (!todo[i])
			continue;
		n = to_utf16(c->name, u);
		basis_name(u, n, base, &blen, ext, &elen);
		h = name_hash(u, n);
		/* 4 + 9 * 65536 attempts > DIR_MAX: always ends */
		for (k = 0;; k++) {
			sfn_attempt(base, blen, ext, elen, h, k, c->sfn);
			if (sfn_add(&set, c->sfn))
				break;
		}
		c->ncase = 0;
	}
out:
	free(set.slot);
	free(names);
	free(todo);
	return rc;
}

static uint8_t lfn_checksum(const uint8_t sfn[11])
{
	uint8_t sum = 0;

	/* spec 7: ChkSum() */
	for (int i = 0; i < 11; i++)
		sum = (uint8_t)(((sum & 1) ? 0x80 : 0) + (sum >> 1) + sfn[i]);
	return sum;
}

static int set_label(struct layout *L, const char *label)
{
	const unsigned char *s = (const unsigned char *)label;
	size_t len = strlen(label), i = 0, n = 0;

	memset(L->label, ' ', sizeof(L->label));
	if (len == 0)
		return aero_error_set(L->err, -EINVAL, "label is empty");
	while (i < len && n < sizeof(L->label)) {
		uint32_t c;
		size_t k = utf8_get(s + i, len - i, &c);

		i += k ? k : 1;
		if (c >= 'a' && c <= 'z')
			c -= 32;
		if (k == 0 || c < 0x20 || c >= 0x7f ||
		    strchr("*?/\\|.,;:+=[]<>\"", (int)c))
			c = '_';
		L->label[n++] = (uint8_t)c;
	}
	return 0;
}

/* ---- the tree ---------------------------------------------------------- */

/* Nodes in the subtree of N; recursion as deep as the pack (pack.h). */
static size_t subtree_size(const struct pack_node *n)
{
	size_t k = 1;

	for (size_t i = 0; i < pack_node_nchildren(n); i++)
		k += subtree_size(pack_node_child(n, i));
	return k;
}

static struct fnode *fnew(struct layout *L, const struct pack_node *src,
			  const char *name, struct fnode *parent, bool dir)
{
	struct fnode *f = &L->f[L->n++];

	f->src = src;
	f->name = name;
	f->parent = parent ? parent : f;
	f->dir = dir;
	f->size = src && !dir ? pack_node_size(src) : 0;
	return f;
}

/* Creates the subtree of dir F (a copy of pack dir F->src), depth first. */
static int mirror(struct layout *L, struct fnode *f, size_t extra)
{
	size_t n = pack_node_nchildren(f->src);

	f->kids = calloc(n + extra + 1, sizeof(*f->kids));
	if (!f->kids)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct pack_node *c = pack_node_child(f->src, i);
		struct fnode *k = fnew(L, c, pack_node_name(c), f,
				       pack_node_is_dir(c));
		int rc;

		f->kids[f->nkids++] = k;
		if (k->size > FILE_MAX)
			return aero_error_set(L->err, -EFBIG,
					      "%s: %llu bytes: a FAT file "
					      "holds at most 4 GiB - 1",
					      pack_node_path(c),
					      (unsigned long long)k->size);
		if (k->dir && (rc = mirror(L, k, 0)) < 0)
			return rc;
	}
	return 0;
}

/* win7/ARCH as a directory, or NULL. */
static const struct pack_node *arch_dir(const struct pack *p, const char *a)
{
	char path[32];
	const struct pack_node *n;

	snprintf(path, sizeof(path), "win7/%s", a);
	n = pack_lookup_path(p, path);
	return n && pack_node_is_dir(n) ? n : NULL;
}

/* True if the root already has NAME, ignoring ASCII case. */
static bool root_has(const struct pack *p, const char *name)
{
	const struct pack_node *r = pack_root(p);

	for (size_t i = 0; i < pack_node_nchildren(r); i++)
		if (strcasecmp(pack_node_name(pack_node_child(r, i)), name) ==
		    0)
			return true;
	return false;
}

static int load_tree(struct layout *L)
{
	static const char *const arch[] = { "amd64", "x86" }; /* sorted */
	const struct pack_node *ad[2] = { NULL, NULL };
	struct fnode *root, *wp;
	size_t at;
	int rc;

	L->cap = pack_node_count(L->pack);
	if (L->winpe && !root_has(L->pack, WINPE_DIR)) {
		for (int i = 0; i < 2; i++)
			if ((ad[i] = arch_dir(L->pack, arch[i])))
				L->cap += subtree_size(ad[i]);
		if (!ad[0] && !ad[1])
			L->winpe = false;
		else
			L->cap++;
	} else {
		L->winpe = false;
	}
	L->f = calloc(L->cap, sizeof(*L->f));
	if (!L->f)
		return -ENOMEM;
	root = fnew(L, pack_root(L->pack), "", NULL, true);
	if ((rc = mirror(L, root, 1)) < 0 || !L->winpe)
		return rc;
	/* $WinPEDriver$ in its bytewise place among the root's children */
	for (at = 0; at < root->nkids; at++)
		if (strcmp(root->kids[at]->name, WINPE_DIR) > 0)
			break;
	wp = fnew(L, NULL, WINPE_DIR, root, true);
	memmove(root->kids + at + 1, root->kids + at,
		(root->nkids - at) * sizeof(*root->kids));
	root->kids[at] = wp;
	root->nkids++;
	wp->kids = calloc(2, sizeof(*wp->kids));
	if (!wp->kids)
		return -ENOMEM;
	for (int i = 0; i < 2; i++) {
		struct fnode *a;

		if (!ad[i])
			continue;
		a = fnew(L, ad[i], arch[i], wp, true);
		wp->kids[wp->nkids++] = a;
		if ((rc = mirror(L, a, 0)) < 0)
			return rc;
	}
	return 0;
}

/* SHA-256 over what the image says: the serial and VHD ids come from it. */
static int hash_layout(struct layout *L)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t b[8];
	int64_t epoch = pack_epoch(L->pack);
	int ok;

	if (!md)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
	     EVP_DigestUpdate(md, "aerofs fat 1", 12) &&
	     EVP_DigestUpdate(md, L->label, sizeof(L->label));
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)((uint64_t)epoch >> (8 * i));
	ok = ok && EVP_DigestUpdate(md, b, 8);
	for (size_t i = 0; ok && i < L->n; i++) {
		const struct fnode *f = &L->f[i];
		uint64_t parent = (uint64_t)(f->parent - L->f);

		for (int k = 0; k < 4; k++) {
			b[k] = (uint8_t)(parent >> (8 * k));
			b[4 + k] = (uint8_t)(f->size >> (8 * k));
		}
		ok = EVP_DigestUpdate(md, b, 8) &&
		     EVP_DigestUpdate(md, f->name, strlen(f->name) + 1) &&
		     EVP_DigestUpdate(md, f->dir ? "d" : "f", 1);
		if (ok && !f->dir)
			ok = EVP_DigestUpdate(md, pack_node_sha256(f->src), 32);
	}
	ok = ok && EVP_DigestFinal_ex(md, L->digest, NULL);
	EVP_MD_CTX_free(md);
	if (!ok)
		return -ENOMEM;
	L->serial = (uint32_t)L->digest[0] | (uint32_t)L->digest[1] << 8 |
		    (uint32_t)L->digest[2] << 16 | (uint32_t)L->digest[3] << 24;
	return 0;
}

/* ---- sizing ------------------------------------------------------------ */

static bool is_fat16_root(const struct layout *L, const struct fnode *f)
{
	return !L->g.fat32 && f == &L->f[0];
}

static uint64_t clusters_of(uint64_t bytes, uint32_t csize)
{
	return (bytes + csize - 1) / csize;
}

/* Clusters the tree needs with SPC sectors per cluster. */
static uint64_t need_clusters(const struct layout *L, bool fat32, uint32_t spc)
{
	uint64_t n = 0, csize = (uint64_t)spc * SECTOR;

	for (size_t i = 0; i < L->n; i++) {
		const struct fnode *f = &L->f[i];

		if (f->dir && (i || fat32))
			n += clusters_of((uint64_t)f->nent * DIRENT, csize);
		else if (!f->dir)
			n += clusters_of(f->size, csize);
	}
	return n;
}

static uint32_t fat_sectors(bool fat32, uint64_t clusters)
{
	return (uint32_t)(((clusters + 2) * (fat32 ? 4 : 2) + SECTOR - 1) /
			  SECTOR);
}

/* The smallest volume of G's type and cluster size with N clusters. */
static uint64_t volume_secs(const struct geom *g, uint64_t n)
{
	return g->rsvd + 2ull * fat_sectors(g->fat32, n) + g->root_secs +
	       n * g->spc;
}

/*
 * Fills a volume of PART sectors: readers count the clusters as what is
 * left after the reserved sectors, FATs and root (spec 3.5), so the FAT
 * must cover that count.  The smallest FAT that does gives the most
 * clusters; it is found going down from one sized for all of PART.
 */
static void fill_volume(struct geom *g, uint64_t part)
{
	uint64_t avail = part - g->rsvd - g->root_secs;
	uint64_t f = fat_sectors(g->fat32, avail / g->spc);

	while (f > 1 && 2 * (f - 1) < avail &&
	       fat_sectors(g->fat32, (avail - 2 * (f - 1)) / g->spc) <= f - 1)
		f--;
	g->fatsz = (uint32_t)f;
	g->clusters = (uint32_t)((avail - 2 * f) / g->spc);
	g->part_secs = part;
}

/*
 * Tries a FAT type and cluster size, with a volume of PMIN..PMAX sectors:
 * returns 0 with *G filled, 1 if the tree does not fit this way (too many
 * or too few clusters, or no volume of whole tracks in the range), or
 * -EFBIG past the largest disk geometry.
 *
 * The volume needs LO sectors: the tree's clusters (at least the type's
 * minimum count) with their FATs, or PMIN.  The disk is the smallest whole
 * geometry with room for the gap before the partition and LO sectors
 * rounded up to a whole track; the volume then fills the disk's whole
 * tracks, unless that would take it past the type's maximum count or
 * PMAX, where it stops short of the disk's end.  Each turn of the loop is
 * the next whole geometry.  The first with room for LO rounded up to a
 * track ends less than a cylinder plus a track past 1 MiB + LO: whole
 * sizes are at most a cylinder apart, and a partition starting 2048
 * sectors in leaves 9, 29, 31 or 247 sectors of the disk's last track of
 * 17, 31, 63 or 255 unused.  One more turn is needed only when the volume
 * is one sector over LO and that sector grows the FAT by one (spec 3.5's
 * count then falls one short); that disk, a cylinder larger, is still
 * within the bound, as 1 + 9, 29, 31 or 247 is under a track.
 */
static int try_geom(const struct layout *L, bool fat32, uint32_t spc,
		    uint64_t pmin, uint64_t pmax, struct geom *g)
{
	uint64_t need = need_clusters(L, fat32, spc), nlo, nhi, lo, hi;
	uint64_t disk;

	memset(g, 0, sizeof(*g));
	g->fat32 = fat32;
	g->spc = spc;
	g->rsvd = fat32 ? FAT32_RSVD : 1;
	if (!fat32) {
		/* fixed root: 512 entries, more (whole sectors) if needed */
		g->root_ents = L->f[0].nent < FAT16_ROOT_MIN ?
				       FAT16_ROOT_MIN :
				       (L->f[0].nent + 15) / 16 * 16;
		if (g->root_ents > 65520)
			return 1;
		g->root_secs = g->root_ents * DIRENT / SECTOR;
	}
	nlo = fat32 ? FAT32_MIN : FAT16_MIN;
	nhi = fat32 ? FAT32_MAX : FAT16_MAX;
	if (need > nlo)
		nlo = need;
	if (nlo > nhi)
		return 1;
	lo = volume_secs(g, nlo);
	if (lo < pmin)
		lo = pmin;
	/* any volume below volume_secs(nhi + 1) has at most nhi clusters */
	hi = volume_secs(g, nhi + 1) - 1;
	if (hi > pmax)
		hi = pmax;
	if (hi > UINT32_MAX)
		hi = UINT32_MAX;
	if (lo > hi)
		return 1;
	for (uint64_t d = PART_LBA + lo;; d = disk + 1) {
		uint32_t spt;
		uint64_t part;
		bool capped = false;

		if (!(disk = chs_round_up(d, &g->chs)))
			return -EFBIG;
		/* a whole number of tracks: mtools checks the BPB's total
		 * sector count against its sectors per track */
		spt = g->chs.sectors;
		part = (disk - PART_LBA) / spt * spt;
		if (part > hi) {
			part = hi / spt * spt;
			capped = true;
		}
		if (part >= lo) {
			fill_volume(g, part);
			if (g->clusters >= nlo)
				break;
		}
		if (capped)
			return 1;
	}
	g->disk_secs = disk;
	return 0;
}

static int choose_geom(struct layout *L)
{
	/* DskTableFAT32 of the spec: volume size limit per cluster size */
	static const struct {
		uint32_t spc;
		uint64_t max_secs;
	} t32[] = {
		{ 1, 532480 },
		{ 8, 16777216 },
		{ 16, 33554432 },
		{ 32, FAT32_PART_MAX },
	};
	int rc = 1;

	if (need_clusters(L, true, 1) >= FAT32_MIN) {
		/* the first row whose volume size range holds the tree: a
		 * volume just over a row's limit has the next row's size */
		for (size_t i = 0; i < sizeof(t32) / sizeof(t32[0]); i++) {
			rc = try_geom(L, true, t32[i].spc,
				      i ? t32[i - 1].max_secs + 1 : 0,
				      t32[i].max_secs, &L->g);
			if (rc <= 0)
				break;
		}
		if (rc == 0)
			return 0;
		if (rc > 0)
			rc = -EFBIG;
		return aero_error_set(L->err, rc,
				      "pack too large for FAT32: %llu bytes "
				      "of files, and volumes hold at most "
				      "32 GiB",
				      (unsigned long long)need_clusters(L, true,
									1) *
					      SECTOR);
	}
	for (uint32_t spc = 1; spc <= 64; spc *= 2) {
		rc = try_geom(L, false, spc, 0, UINT32_MAX, &L->g);
		if (rc <= 0)
			break;
	}
	if (rc < 0)
		return aero_error_set(L->err, rc,
				      "pack too large for a disk "
				      "image");
	if (rc)
		return aero_error_set(L->err, -ENOSPC,
				      "no FAT16 geometry holds the pack (root "
				      "directory of %u entries)",
				      L->f[0].nent);
	return 0;
}

/* ---- writing ----------------------------------------------------------- */

static void put_chs(uint8_t *p, uint64_t lba, const struct fat_chs *g)
{
	uint64_t c = lba / ((uint64_t)g->heads * g->sectors);
	uint32_t h = (uint32_t)(lba / g->sectors % g->heads);
	uint32_t s = (uint32_t)(lba % g->sectors + 1);

	if (c > 1023 || g->sectors > 63) {
		/* not addressable by CHS: the customary 1023/254/63 */
		p[0] = 0xfe;
		p[1] = 0xff;
		p[2] = 0xff;
		return;
	}
	p[0] = (uint8_t)h;
	p[1] = (uint8_t)(s | (c >> 2 & 0xc0));
	p[2] = (uint8_t)c;
}

/* INT 18h: "boot failed, try the next device"; then halt for good. */
static const uint8_t boot_code[] = { 0xcd, 0x18, 0xf4, 0xeb, 0xfd };

static uint8_t *make_mbr(const struct layout *L)
{
	uint8_t *m = calloc(1, SECTOR), *e;

	if (!m)
		return NULL;
	memcpy(m, boot_code, sizeof(boot_code));
	memcpy(m + 440, L->digest + 4, 4); /* disk signature */
	e = m + 446;
	e[0] = 0; /* not active: this is not a boot disk */
	put_chs(e + 1, PART_LBA, &L->g.chs);
	/* 0x0c FAT32 LBA, 0x0e FAT16 LBA: Windows mounts both */
	e[4] = L->g.fat32 ? 0x0c : 0x0e;
	put_chs(e + 5, PART_LBA + L->g.part_secs - 1, &L->g.chs);
	put32(e + 8, PART_LBA);
	put32(e + 12, (uint32_t)L->g.part_secs);
	m[510] = 0x55;
	m[511] = 0xaa;
	return m;
}

/* Boot sector and BPB (spec 3.1-3.3) at B. */
static void put_boot(const struct layout *L, uint8_t *b)
{
	const struct geom *g = &L->g;
	uint8_t *x;

	b[0] = 0xeb;
	b[1] = g->fat32 ? 0x58 : 0x3c;
	b[2] = 0x90;
	memcpy(b + 3, "MSWIN4.1", 8); /* the spec's recommended OEM name */
	put16(b + 11, SECTOR);
	b[13] = (uint8_t)g->spc;
	put16(b + 14, g->rsvd);
	b[16] = 2;
	put16(b + 17, g->root_ents);
	if (g->part_secs < 65536 && !g->fat32)
		put16(b + 19, (uint32_t)g->part_secs);
	else
		put32(b + 32, (uint32_t)g->part_secs);
	b[21] = 0xf8; /* fixed disk */
	if (!g->fat32)
		put16(b + 22, g->fatsz);
	put16(b + 24, g->chs.sectors);
	put16(b + 26, g->chs.heads);
	put32(b + 28, PART_LBA); /* hidden sectors */
	if (g->fat32) {
		put32(b + 36, g->fatsz);
		put16(b + 40, 0); /* both FATs mirrored */
		put16(b + 42, 0); /* version 0.0 */
		put32(b + 44, L->f[0].cluster);
		put16(b + 48, 1); /* FSInfo */
		put16(b + 50, 6); /* backup boot sector */
		x = b + 64;
	} else {
		x = b + 36;
	}
	x[0] = 0x80; /* drive number */
	x[2] = 0x29; /* the next three fields are present */
	put32(x + 3, L->serial);
	memcpy(x + 7, L->label, 11);
	memcpy(x + 18, g->fat32 ? "FAT32   " : "FAT16   ", 8);
	memcpy(x + 26, boot_code, sizeof(boot_code));
	b[510] = 0x55;
	b[511] = 0xaa;
}

static void put_fsinfo(const struct layout *L, uint8_t *s)
{
	uint32_t free_count = L->g.clusters - L->used;

	/* spec 5 */
	put32(s, 0x41615252);
	put32(s + 484, 0x61417272);
	put32(s + 488, free_count);
	put32(s + 492, free_count ? L->used + 2 : 0xffffffff);
	put32(s + 508, 0xaa550000);
}

static uint8_t *make_reserved(const struct layout *L)
{
	uint8_t *r = calloc(L->g.rsvd, SECTOR);

	if (!r)
		return NULL;
	put_boot(L, r);
	if (L->g.fat32) {
		put_fsinfo(L, r + SECTOR);
		memcpy(r + 6 * SECTOR, r, 2 * SECTOR); /* backups */
	}
	return r;
}

static uint8_t *make_fat(const struct layout *L)
{
	size_t bytes = (size_t)L->g.fatsz * SECTOR;
	uint8_t *fat = calloc(1, bytes);
	bool w = L->g.fat32;
	uint32_t eoc = w ? 0x0fffffff : 0xffff;

	if (!fat)
		return NULL;
	/* spec 4.2: FAT[0] is the media byte, FAT[1] EOC with the clean
	 * shutdown and no-error bits set */
	if (w) {
		put32(fat, 0x0ffffff8);
		put32(fat + 4, 0x0fffffff);
	} else {
		put16(fat, 0xfff8);
		put16(fat + 2, 0xffff);
	}
	for (size_t i = 0; i < L->n; i++) {
		const struct fnode *f = &L->f[i];

		for (uint32_t k = 0; k < f->nclus; k++) {
			uint32_t c = f->cluster + k;
			uint32_t next = k + 1 < f->nclus ? c + 1 : eoc;

			if (w)
				put32(fat + 4 * (size_t)c, next);
			else
				put16(fat + 2 * (size_t)c, next);
		}
	}
	return fat;
}

static void put_sfn(const struct layout *L, uint8_t *e, const uint8_t *name,
		    uint8_t attr, uint8_t ncase, uint32_t cluster,
		    uint32_t size)
{
	memcpy(e, name, 11);
	e[11] = attr;
	e[12] = ncase;
	e[13] = L->tenth;
	put16(e + 14, L->time);
	put16(e + 16, L->date);
	put16(e + 18, L->date);
	put16(e + 20, cluster >> 16);
	put16(e + 22, L->time);
	put16(e + 24, L->date);
	put16(e + 26, cluster & 0xffff);
	put32(e + 28, size);
}

/* Long name entries of F at E, last part first (spec 7); returns E past. */
static uint8_t *put_lfn(const struct fnode *f, uint8_t *e)
{
	static const uint8_t at[LFN_CHARS] = { 1,  3,  5,  7,  9,  14, 16,
					       18, 20, 22, 24, 28, 30 };
	uint16_t u[NAME_UNITS];
	size_t n = to_utf16(f->name, u);
	uint8_t sum = lfn_checksum(f->sfn);

	for (unsigned ord = f->nlfn; ord >= 1; ord--, e += DIRENT) {
		memset(e, 0, DIRENT);
		e[0] = (uint8_t)(ord | (ord == f->nlfn ? LFN_LAST : 0));
		e[11] = ATTR_LONG_NAME;
		e[13] = sum;
		for (size_t k = 0; k < LFN_CHARS; k++) {
			size_t i = (ord - 1) * LFN_CHARS + k;
			/* NUL-terminated unless it fills the entry, then
			 * 0xFFFF padding */
			uint16_t c = i < n ? u[i] : i == n ? 0 : 0xffff;

			put16(e + at[k], c);
		}
	}
	return e;
}

static uint8_t *make_dir(const struct layout *L, const struct fnode *d,
			 size_t bytes)
{
	uint8_t *b = calloc(1, bytes), *e = b;
	static const uint8_t dot[11] = ".          ";
	static const uint8_t dotdot[11] = "..         ";

	if (!b)
		return NULL;
	if (d == &L->f[0]) {
		put_sfn(L, e, L->label, ATTR_VOLUME_ID, 0, 0, 0);
		e += DIRENT;
	} else {
		/* spec 6.2: ".." of a root child is cluster 0 */
		put_sfn(L, e, dot, ATTR_DIRECTORY, 0, d->cluster, 0);
		put_sfn(L, e + DIRENT, dotdot, ATTR_DIRECTORY, 0,
			d->parent == &L->f[0] ? 0 : d->parent->cluster, 0);
		e += 2 * DIRENT;
	}
	for (size_t i = 0; i < d->nkids; i++) {
		const struct fnode *c = d->kids[i];

		e = put_lfn(c, e);
		put_sfn(L, e, c->sfn, c->dir ? ATTR_DIRECTORY : ATTR_ARCHIVE,
			c->ncase, c->cluster, (uint32_t)c->size);
		e += DIRENT;
	}
	return b;
}

static void allocate(struct layout *L)
{
	uint32_t next = 2;
	uint64_t csize = (uint64_t)L->g.spc * SECTOR;

	for (size_t i = 0; i < L->n; i++) {
		struct fnode *f = &L->f[i];

		if (is_fat16_root(L, f))
			continue;
		f->nclus = (uint32_t)clusters_of(f->dir ? (uint64_t)f->nent *
								  DIRENT :
							  f->size,
						 (uint32_t)csize);
		f->cluster = f->nclus ? next : 0;
		next += f->nclus;
	}
	L->used = next - 2;
}

static int make_regions(struct layout *L, struct regions *rs)
{
	const struct geom *g = &L->g;
	uint64_t csize = (uint64_t)g->spc * SECTOR;
	uint64_t data = ((uint64_t)PART_LBA + g->rsvd + 2ull * g->fatsz +
			 g->root_secs) *
			SECTOR;
	uint8_t *buf;
	int rc;

	if (!(buf = make_mbr(L)))
		return -ENOMEM;
	if ((rc = regions_append_data(rs, buf, SECTOR, true)) < 0 ||
	    (rc = regions_append_zero(rs, (PART_LBA - 1) * SECTOR)) < 0)
		return rc;
	if (!(buf = make_reserved(L)))
		return -ENOMEM;
	if ((rc = regions_append_data(rs, buf, (uint64_t)g->rsvd * SECTOR,
				      true)) < 0)
		return rc;
	if (!(buf = make_fat(L)))
		return -ENOMEM;
	/* one buffer serves both FATs: the table owns it once */
	if ((rc = regions_append_data(rs, buf, (uint64_t)g->fatsz * SECTOR,
				      true)) < 0 ||
	    (rc = regions_append_data(rs, buf, (uint64_t)g->fatsz * SECTOR,
				      false)) < 0)
		return rc;
	if (!g->fat32) {
		uint64_t bytes = (uint64_t)g->root_ents * DIRENT;

		if (!(buf = make_dir(L, &L->f[0], (size_t)bytes)))
			return -ENOMEM;
		if ((rc = regions_append_data(rs, buf, bytes, true)) < 0)
			return rc;
	}
	for (size_t i = 0; i < L->n; i++) {
		const struct fnode *f = &L->f[i];
		uint64_t bytes = (uint64_t)f->nclus * csize;

		if (f->nclus == 0)
			continue;
		if (regions_size(rs) !=
		    data + (uint64_t)(f->cluster - 2) * csize)
			return -EINVAL; /* layout bug: caught by tests */
		if (f->dir) {
			if (!(buf = make_dir(L, f, (size_t)bytes)))
				return -ENOMEM;
			rc = regions_append_data(rs, buf, bytes, true);
		} else {
			rc = regions_append_file(rs, f->src, f->size);
			if (rc == 0)
				rc = regions_append_zero(rs, bytes - f->size);
		}
		if (rc < 0)
			return rc;
	}
	if (regions_size(rs) > g->disk_secs * SECTOR)
		return -EINVAL;
	return regions_append_zero(rs,
				   g->disk_secs * SECTOR - regions_size(rs));
}

int fat_image_layout_info(struct pack *pack, const struct image_options *opts,
			  struct regions *rs, struct aero_error *err,
			  struct fat_image_info *info)
{
	struct layout L = { .pack = pack, .err = err };
	int rc;

	L.winpe = !opts->no_winpe;
	set_dates(&L, pack_epoch(pack));
	if ((rc = set_label(&L, opts->label ? opts->label : pack_label(pack))) <
		    0 ||
	    (rc = load_tree(&L)) < 0)
		goto out;
	for (size_t i = 0; i < L.n; i++)
		if (L.f[i].dir && (rc = name_dir(&L, &L.f[i])) < 0)
			goto out;
	if ((rc = hash_layout(&L)) < 0 || (rc = choose_geom(&L)) < 0)
		goto out;
	allocate(&L);
	if ((rc = make_regions(&L, rs)) < 0)
		goto out;
	if (info) {
		info->chs = L.g.chs;
		info->disk_bytes = L.g.disk_secs * SECTOR;
		memcpy(info->digest, L.digest, sizeof(info->digest));
	}
out:
	for (size_t i = 0; L.f && i < L.n; i++)
		free(L.f[i].kids);
	free(L.f);
	return rc;
}

int fat_image_layout(struct pack *pack, const struct image_options *opts,
		     struct regions *rs, struct aero_error *err)
{
	return fat_image_layout_info(pack, opts, rs, err, NULL);
}
