/*
 * isofs.c: reads the directory structure of an ISO9660 image into source
 * nodes, without reading or holding any file data.
 *
 * The volume descriptor set (ECMA-119 8) is checked for "CD001", a
 * terminator within ISOFS_MAX_VDS descriptors and a primary descriptor.
 * Then one tree is chosen, richest names first:
 *   1. a tree whose root "." record carries Rock Ridge (SUSP SP, or RRIP
 *      NM/PX/RR/ER), the PVD's before the EVD's: genisoimage -r -iso-level 4
 *      points both descriptors at one tree with Rock Ridge in it;
 *   2. the Joliet tree (SVD with escape %/@, %/C or %/E; UCS-2BE names);
 *   3. the ISO9660:1999 tree (EVD: type 2, version 2; xorriso writes it
 *      apart from the PVD's, with case kept);
 *   4. the PVD tree.
 * Plain names lose a ";N" version and a trailing '.' (ECMA-119 7.5.1).
 *
 * Directories are read with pread() in ISOFS_CHUNK pieces; each is listed
 * completely (so its children can be sorted and deduplicated) before its
 * subdirectories are entered, so memory grows with the number of entries,
 * not with the image.  Every extent is checked against the image size; a
 * directory inside itself is a loop, a directory listed under two folders
 * is shown twice, and all directory data read together may not exceed the
 * image.
 *
 * Policies on odd input (tests/unit/test_source.c asserts each one):
 *   - a file extent past the end of the image fails the open (-EIO);
 *   - file data that overlaps other file data, or a file whose parts add
 *     up to more than the image, fails the open (-EIO); one range shared
 *     by files made of the very same parts is one content under several
 *     names, and allowed (check_extents() defines it);
 *   - a file extent overlapping the system area or the descriptors is
 *     allowed: it is only bytes of the image, and zero-length files often
 *     point there;
 *   - associated files (ECMA-119 9.1.6 bit 2) are left out silently;
 *   - Rock Ridge symlinks (SL), device nodes (PN) and PX modes other than
 *     directory and regular file become SOURCE_NODE_OTHER;
 *   - Rock Ridge relocated directories (RRIP 4.1.5) are shown where their
 *     CL entry is and hidden where their RE entry is;
 *   - zisofs (ZF), interleaved files, and logical blocks other than 2048
 *     bytes fail the open with -ENOTSUP;
 *   - a continuation-area (CE) chain longer than ISOFS_MAX_CE is -ELOOP;
 *   - continuation areas that add up to more than the image (records
 *     sharing one CE chain, which would make every record re-read and
 *     re-parse up to ISOFS_MAX_CE blocks) are -EIO;
 *   - directories whose extents add up to more than the image (overlapping
 *     extents, which would make the walk read the same bytes over and
 *     over) are -EIO;
 *   - names that source_name_invalid() refuses, and repeated names, are
 *     skipped with a warning (source_skipped()).
 */
#include "catalog/source/isofs.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/util/checked.h"
#include "catalog/util/civil.h"
#include "catalog/util/io.h"
#include "catalog/util/log.h"
#include "catalog/source/source_i.h"

#define ISOFS_SECTOR 2048u
#define ISOFS_VD_FIRST 16u /* ECMA-119 6.2.1: system area */
#define ISOFS_MAX_VDS 64u  /* descriptors before a terminator */
#define ISOFS_CHUNK (32u * ISOFS_SECTOR)
#define ISOFS_MAX_DIR_BYTES (64u << 20)
#define ISOFS_MAX_CE 32u
#define ISOFS_DR_MIN 34u /* ECMA-119 9.1: 33 + 1 name byte */
/* Files may add up to this many times the image (see check_extents()). */
#define ISOFS_MAX_SHARING 64u

/* ECMA-119 9.1.6 file flags */
#define ISOFS_FLAG_DIR 0x02
#define ISOFS_FLAG_ASSOC 0x04
#define ISOFS_FLAG_MULTI 0x80

enum isofs_names {
	ISOFS_NAMES_PVD,
	ISOFS_NAMES_EVD,
	ISOFS_NAMES_JOLIET,
};

/* A directory record, decoded (ECMA-119 9.1). */
struct isofs_rec {
	uint32_t block;	     /* 9.1.3 extent location */
	uint8_t xar;	     /* 9.1.2 extended attribute record length */
	uint32_t len;	     /* 9.1.4 data length */
	uint8_t flags;	     /* 9.1.6 */
	uint8_t unit;	     /* 9.1.7 file unit size */
	uint8_t gap;	     /* 9.1.8 interleave gap size */
	const uint8_t *name; /* 9.1.11 file identifier */
	size_t name_len;
	const uint8_t *su; /* 9.1.13 system use */
	size_t su_len;
};

/* What the Rock Ridge entries of one record say (RRIP 1.12, SUSP 1.12). */
struct isofs_rr {
	bool any;     /* an RRIP entry was seen */
	bool sp;      /* SUSP SP indicator */
	uint8_t skip; /* SP LEN_SKP */
	bool nm, nm_dot, nm_long;
	char name[SOURCE_NAME_MAX + 1];
	size_t name_len;
	bool px;
	uint32_t mode;
	bool sl, pn, re, cl, zf;
	uint32_t cl_block;
};

struct isofs_tree {
	bool present;
	uint8_t root[ISOFS_DR_MIN]; /* root record from the descriptor */
};

struct isofs_ctx {
	struct source *s;
	struct aero_error *err;
	enum isofs_names names;
	bool rr;
	uint8_t skip; /* SUSP bytes to skip in each system use */
	uint8_t *buf; /* ISOFS_CHUNK of directory data */
	uint8_t ce[ISOFS_SECTOR];
	uint64_t dir_bytes; /* directory data read so far */
	uint64_t advised;   /* directory data asked for ahead, as much */
	uint64_t ce_bytes;  /* continuation areas read so far */
};

/* The directories on the path being listed, for cycle detection. */
struct isofs_up {
	uint64_t off;
	const struct isofs_up *up;
};

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* pread() all of LEN bytes at OFF, which the caller checked is inside. */
static int read_at(struct isofs_ctx *c, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	int rc = io_pread_full(c->s->fd, buf, len, off, &done);

	if (rc == -EIO)
		return aero_error_set(c->err, rc,
				      "image shrank: end of file "
				      "at byte %llu",
				      (unsigned long long)(off + done));
	if (rc < 0)
		return aero_error_set(c->err, rc, "read at byte %llu: %s",
				      (unsigned long long)(off + done),
				      strerror(-rc));
	return 0;
}

bool isofs_date17(const uint8_t d[17], int64_t *t)
{
	int v[7], i, j, zero = 1;
	int64_t days;
	static const int width[7] = { 4, 2, 2, 2, 2, 2, 2 };
	const uint8_t *p = d;

	for (i = 0; i < 16; i++) {
		if (d[i] < '0' || d[i] > '9')
			return false; /* NUL-filled or garbage: unset */
		if (d[i] != '0')
			zero = 0;
	}
	if (zero)
		return false; /* ECMA-119 8.4.26.1: all zero digits */
	for (i = 0; i < 7; i++) {
		v[i] = 0;
		for (j = 0; j < width[i]; j++)
			v[i] = v[i] * 10 + (*p++ - '0');
	}
	if (v[0] == 0 || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 ||
	    v[3] > 23 || v[4] > 59 || v[5] > 59 || (int8_t)d[16] < -48 ||
	    (int8_t)d[16] > 52)
		return false;
	days = civil_days(v[0], (unsigned)v[1], (unsigned)v[2]);
	*t = days * 86400 + v[3] * 3600 + v[4] * 60 + v[5] -
	     (int64_t)(int8_t)d[16] * 15 * 60;
	return true;
}

int isofs_joliet_name(const uint8_t *in, size_t len, char *out, size_t cap)
{
	size_t i, o = 0;

	if (len % 2)
		return -1;
	for (i = 0; i < len; i += 2) {
		uint32_t cp = (uint32_t)in[i] << 8 | in[i + 1];
		uint8_t tmp[4];
		size_t n;

		if (cp == 0)
			return -1;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			uint32_t lo;

			if (i + 4 > len)
				return -1;
			lo = (uint32_t)in[i + 2] << 8 | in[i + 3];
			if (lo < 0xdc00 || lo > 0xdfff)
				return -1;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			i += 2;
		} else if (cp >= 0xdc00 && cp <= 0xdfff) {
			return -1;
		}
		if (cp < 0x80) {
			tmp[0] = (uint8_t)cp;
			n = 1;
		} else if (cp < 0x800) {
			tmp[0] = (uint8_t)(0xc0 | cp >> 6);
			tmp[1] = (uint8_t)(0x80 | (cp & 0x3f));
			n = 2;
		} else if (cp < 0x10000) {
			tmp[0] = (uint8_t)(0xe0 | cp >> 12);
			tmp[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
			tmp[2] = (uint8_t)(0x80 | (cp & 0x3f));
			n = 3;
		} else {
			tmp[0] = (uint8_t)(0xf0 | cp >> 18);
			tmp[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
			tmp[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
			tmp[3] = (uint8_t)(0x80 | (cp & 0x3f));
			n = 4;
		}
		if (o + n >= cap)
			return -1;
		memcpy(out + o, tmp, n);
		o += n;
	}
	if (cap == 0)
		return -1;
	out[o] = '\0';
	return (int)o;
}

static bool starts(const uint8_t *p, size_t len, const char *magic, size_t n)
{
	return len >= n && memcmp(p, magic, n) == 0;
}

const char *isofs_sniff(const uint8_t *head, size_t len)
{
	size_t i = 0, j;
	char low[16];

	if (len == 0)
		return "an empty file";
	/* Text: skip a UTF-8 BOM and blanks, then compare lower-cased. */
	if (starts(head, len, "\xef\xbb\xbf", 3))
		i = 3;
	while (i < len && (head[i] == ' ' || head[i] == '\t' ||
			   head[i] == '\r' || head[i] == '\n'))
		i++;
	for (j = 0; j < sizeof(low) && i + j < len; j++)
		low[j] = (char)(head[i + j] >= 'A' && head[i + j] <= 'Z' ?
					head[i + j] + 32 :
					head[i + j]);
	if ((j >= 9 && memcmp(low, "<!doctype", 9) == 0) ||
	    (j >= 5 && memcmp(low, "<html", 5) == 0) ||
	    (j >= 5 && memcmp(low, "<head", 5) == 0))
		return "an HTML page (a download that returned a web page?)";
	if (j >= 5 && memcmp(low, "<?xml", 5) == 0)
		return "an XML document";
	if (starts(head, len, "PK\x03\x04", 4))
		return "a ZIP archive";
	if (starts(head, len, "\x1f\x8b", 2))
		return "a gzip-compressed file";
	if (starts(head, len,
		   "\xfd"
		   "7zXZ",
		   5))
		return "an xz-compressed file";
	if (starts(head, len, "BZh", 3))
		return "a bzip2-compressed file";
	if (starts(head, len, "\x28\xb5\x2f\xfd", 4))
		return "a zstd-compressed file";
	if (starts(head, len, "7z\xbc\xaf\x27\x1c", 6))
		return "a 7-Zip archive";
	if (starts(head, len, "Rar!", 4))
		return "a RAR archive";
	if (starts(head, len, "MSCF", 4))
		return "a Windows cabinet file";
	if (starts(head, len, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8))
		return "an OLE compound file (an MSI package?)";
	if (starts(head, len, "MZ", 2))
		return "a Windows executable";
	if (starts(head, len,
		   "\x7f"
		   "ELF",
		   4))
		return "an ELF executable";
	if (starts(head, len, "QFI\xfb", 4))
		return "a qcow2 disk image";
	if (len >= 262 && memcmp(head + 257, "ustar", 5) == 0)
		return "a tar archive";
	if (len >= 512 && head[510] == 0x55 && head[511] == 0xaa)
		return "a disk image with a boot sector (not a CD image)";
	return NULL;
}

/* Fails the open for a file that is not ISO9660, saying what it is. */
static int not_iso(struct isofs_ctx *c, const uint8_t *vd)
{
	uint8_t head[512] = { 0 };
	size_t n = c->s->size < sizeof(head) ? (size_t)c->s->size :
					       sizeof(head);
	const char *what;

	if (vd && memcmp(vd + 9, "CDROM", 5) == 0)
		return aero_error_set(c->err, -ENOTSUP,
				      "High Sierra image, not ISO9660");
	if (vd && (memcmp(vd + 1, "BEA01", 5) == 0 ||
		   memcmp(vd + 1, "NSR02", 5) == 0 ||
		   memcmp(vd + 1, "NSR03", 5) == 0))
		return aero_error_set(c->err, -EINVAL,
				      "not an ISO9660 image: UDF without an "
				      "ISO9660 bridge");
	if (n && read_at(c, head, n, 0) < 0)
		return c->err ? c->err->code : -EIO;
	what = isofs_sniff(head, n);
	if (c->s->size < (ISOFS_VD_FIRST + 1) * ISOFS_SECTOR)
		return aero_error_set(c->err, -EINVAL,
				      "not an ISO9660 image: %llu bytes, too "
				      "small for a volume descriptor%s%s",
				      (unsigned long long)c->s->size,
				      what ? "; it looks like " : "",
				      what ? what : "");
	return aero_error_set(c->err, -EINVAL,
			      "not an ISO9660 image: no \"CD001\" at byte "
			      "%u%s%s",
			      ISOFS_VD_FIRST * ISOFS_SECTOR + 1,
			      what ? "; it looks like " : "", what ? what : "");
}

/* Decodes the directory record at P, AVAIL bytes left in its sector. */
static int parse_rec(struct isofs_ctx *c, const uint8_t *p, size_t avail,
		     uint64_t where, struct isofs_rec *r)
{
	size_t len = p[0], su;

	/* Only p[0] is known to be inside the sector until LEN is checked. */
	if (len < ISOFS_DR_MIN || len > avail)
		return aero_error_set(c->err, -EIO,
				      "bad directory record at byte %llu "
				      "(length %zu, %zu bytes left in the "
				      "sector)",
				      (unsigned long long)where, len, avail);
	if (p[32] == 0 || 33u + p[32] > len)
		return aero_error_set(c->err, -EIO,
				      "bad directory record at byte %llu "
				      "(length %zu, name length %u)",
				      (unsigned long long)where, len, p[32]);
	r->xar = p[1];
	r->block = le32(p + 2);
	r->len = le32(p + 10);
	r->flags = p[25];
	r->unit = p[26];
	r->gap = p[27];
	r->name = p + 33;
	r->name_len = p[32];
	/* ECMA-119 9.1.12: a padding byte follows an even-length name. */
	su = 33u + p[32] + (p[32] % 2 == 0);
	r->su = p + su;
	r->su_len = su < len ? len - su : 0;
	return 0;
}

/* Byte offset of a record's data: the XAR comes first (ECMA-119 6.4.4.1). */
static int rec_offset(struct isofs_ctx *c, const struct isofs_rec *r,
		      uint64_t *off)
{
	uint64_t blk = (uint64_t)r->block + r->xar;

	if (MUL_OVERFLOW(blk, (uint64_t)ISOFS_SECTOR, off))
		return aero_error_set(c->err, -EIO, "extent overflows");
	return 0;
}

static int susp_area(struct isofs_ctx *c, const uint8_t *p, size_t len,
		     struct isofs_rr *rr, uint64_t *ce_off, uint32_t *ce_len,
		     bool *stop)
{
	size_t i = 0;

	/* SUSP 4: entries are signature, length, version, data. */
	while (i + 4 <= len) {
		const uint8_t *e = p + i;
		size_t el = e[2];

		if (el < 4 || el > len - i)
			break; /* malformed: the rest is ignored (as Linux) */
		if (e[0] == 'S' && e[1] == 'P' && el >= 7 && e[4] == 0xbe &&
		    e[5] == 0xef) {
			rr->sp = true;
			rr->skip = e[6];
		} else if (e[0] == 'C' && e[1] == 'E' && el >= 28) {
			/* SUSP 5.1: block, offset and length, both-endian. */
			uint64_t off;

			if (MUL_OVERFLOW((uint64_t)le32(e + 4),
					 (uint64_t)ISOFS_SECTOR, &off) ||
			    ADD_OVERFLOW(off, (uint64_t)le32(e + 12), &off))
				return aero_error_set(c->err, -EIO,
						      "continuation area "
						      "overflows");
			*ce_off = off;
			*ce_len = le32(e + 20);
			if (*ce_len == 0)
				*ce_off = 0;
		} else if (e[0] == 'S' && e[1] == 'T') {
			*stop = true;
			return 0;
		} else if (e[0] == 'N' && e[1] == 'M' && el >= 5) {
			size_t n = el - 5;

			rr->any = true;
			/* RRIP 4.1.4: CURRENT (2) and PARENT (4) flags. */
			if (e[4] & 6)
				rr->nm_dot = true;
			if (rr->name_len + n > SOURCE_NAME_MAX) {
				rr->nm_long = true;
			} else {
				memcpy(rr->name + rr->name_len, e + 5, n);
				rr->name_len += n;
			}
			rr->nm = true;
		} else if (e[0] == 'P' && e[1] == 'X' && el >= 36) {
			rr->any = true;
			rr->px = true;
			rr->mode = le32(e + 4);
		} else if (e[0] == 'S' && e[1] == 'L') {
			rr->any = rr->sl = true;
		} else if (e[0] == 'P' && e[1] == 'N') {
			rr->any = rr->pn = true;
		} else if (e[0] == 'R' && e[1] == 'E') {
			rr->any = rr->re = true;
		} else if (e[0] == 'C' && e[1] == 'L' && el >= 12) {
			rr->any = rr->cl = true;
			rr->cl_block = le32(e + 4);
		} else if (e[0] == 'Z' && e[1] == 'F') {
			rr->any = rr->zf = true;
		} else if ((e[0] == 'R' && e[1] == 'R') ||
			   (e[0] == 'E' && e[1] == 'R')) {
			rr->any = true;
		}
		i += el;
	}
	return 0;
}

/*
 * Parses the system use field SU of one record and its continuation
 * areas into RR.  SKIP is the SUSP LEN_SKP from the root's SP entry.
 */
static int susp_parse(struct isofs_ctx *c, const uint8_t *su, size_t len,
		      size_t skip, struct isofs_rr *rr)
{
	uint64_t ce_off = 0;
	uint32_t ce_len = 0;
	bool stop = false;
	unsigned n;
	int rc;

	memset(rr, 0, sizeof(*rr));
	if (skip >= len)
		return 0;
	rc = susp_area(c, su + skip, len - skip, rr, &ce_off, &ce_len, &stop);
	for (n = 0; rc == 0 && !stop && ce_len; n++) {
		uint64_t off = ce_off;
		uint32_t clen = ce_len;

		if (n >= ISOFS_MAX_CE)
			return aero_error_set(c->err, -ELOOP,
					      "more than %u chained system use "
					      "continuation areas (a CE loop?)",
					      ISOFS_MAX_CE);
		/* SUSP 5.1: an area lies within one logical block. */
		if (clen > ISOFS_SECTOR ||
		    (off % ISOFS_SECTOR) + clen > ISOFS_SECTOR ||
		    range_outside(off, clen, c->s->size))
			return aero_error_set(c->err, -EIO,
					      "system use continuation area at "
					      "byte %llu, %u bytes, is outside "
					      "its block or the image",
					      (unsigned long long)off, clen);
		/*
		 * Each record of a sound image has continuation areas of
		 * its own, so together they fit in the image; more means
		 * records share a chain to multiply the work.
		 */
		if (ADD_OVERFLOW(c->ce_bytes, (uint64_t)clen, &c->ce_bytes) ||
		    c->ce_bytes > c->s->size)
			return aero_error_set(c->err, -EIO,
					      "system use continuation areas "
					      "overlap: more of them than the "
					      "image holds");
		rc = read_at(c, c->ce, clen, off);
		if (rc < 0)
			return rc;
		ce_off = 0;
		ce_len = 0;
		rc = susp_area(c, c->ce, clen, rr, &ce_off, &ce_len, &stop);
	}
	return rc;
}

/* Error with "PATH/NAME: " in front, PATH being DIR's. */
static int entry_error(struct isofs_ctx *c, const struct source_node *dir,
		       const char *name, int code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int entry_error(struct isofs_ctx *c, const struct source_node *dir,
		       const char *name, int code, const char *fmt, ...)
{
	char path[512], msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	source_node_path(dir, path, sizeof(path));
	return aero_error_set(c->err, code, "\"%s%s%s\": %s",
			      *path || *name ? path : "/",
			      *path && *name ? "/" : "", name, msg);
}

/*
 * The name of record R as this tree spells it, into OUT (NUL-terminated).
 * Returns its length, or -1 when it cannot be decoded.
 */
static int plain_name(struct isofs_ctx *c, const struct isofs_rec *r, char *out,
		      size_t cap)
{
	int n;
	size_t i;

	if (c->names == ISOFS_NAMES_JOLIET) {
		n = isofs_joliet_name(r->name, r->name_len, out, cap);
		if (n < 0)
			return -1;
	} else {
		if (r->name_len >= cap)
			return -1;
		memcpy(out, r->name, r->name_len);
		out[r->name_len] = '\0';
		n = (int)r->name_len;
	}
	/* ECMA-119 7.5.1: "NAME.EXT;VERSION"; drop ";N", then a final '.'. */
	for (i = (size_t)n; i > 0 && out[i - 1] >= '0' && out[i - 1] <= '9';)
		i--;
	if (i > 1 && i < (size_t)n && out[i - 1] == ';')
		n = (int)i - 1;
	if (n > 1 && out[n - 1] == '.' && !(n == 2 && out[0] == '.'))
		n--;
	out[n] = '\0';
	return n;
}

/* RRIP PX file mode types (POSIX st_mode values, RRIP 4.1.1). */
#define RR_IFMT 0170000
#define RR_IFDIR 0040000
#define RR_IFREG 0100000

/* State of a multi-extent file being assembled (ECMA-119 6.5.1). */
struct isofs_multi {
	struct source_node *node; /* NULL when none */
	uint8_t id[256];	  /* its raw file identifier */
	size_t id_len;
};

static int add_file_extent(struct isofs_ctx *c, struct source_node *dir,
			   struct source_node *n, const struct isofs_rec *r)
{
	uint64_t off;
	int rc;

	if (r->len == 0)
		return 0;
	rc = rec_offset(c, r, &off);
	if (rc < 0)
		return rc;
	if (range_outside(off, r->len, c->s->size))
		return entry_error(c, dir, n->name, -EIO,
				   "extent at byte %llu, %u bytes, ends past "
				   "the end of the image (%llu bytes)",
				   (unsigned long long)off, r->len,
				   (unsigned long long)c->s->size);
	/*
	 * The parts of a file do not overlap (see check_extents()), so they
	 * add up to no more than the image: refused here, at the first part
	 * too many, before a 65,536-part file declares 765 GB.
	 */
	if (ADD_OVERFLOW(n->size, (uint64_t)r->len, &n->size) ||
	    n->size > c->s->size)
		return entry_error(c, dir, n->name, -EIO,
				   "multi-extent file: its parts add up to "
				   "more than the image (%llu bytes)",
				   (unsigned long long)c->s->size);
	rc = source_node_add_extent(n, off, r->len, c->err);
	if (rc < 0)
		return entry_error(c, dir, n->name, rc, "%s",
				   c->err ? c->err->msg : "too many extents");
	return 0;
}

/* Reads the "." record at the start of directory extent OFF. */
static int read_dot(struct isofs_ctx *c, uint64_t off, struct isofs_rec *r,
		    uint8_t *sector)
{
	int rc;

	if (range_outside(off, ISOFS_SECTOR, c->s->size))
		return aero_error_set(c->err, -EIO,
				      "directory at byte %llu is past the end "
				      "of the image",
				      (unsigned long long)off);
	rc = read_at(c, sector, ISOFS_SECTOR, off);
	if (rc < 0)
		return rc;
	rc = parse_rec(c, sector, ISOFS_SECTOR, off, r);
	if (rc < 0)
		return rc;
	if (r->name_len != 1 || r->name[0] != 0 || !(r->flags & ISOFS_FLAG_DIR))
		return aero_error_set(c->err, -EIO,
				      "directory at byte %llu does not start "
				      "with a \".\" record",
				      (unsigned long long)off);
	return 0;
}

static int add_record(struct isofs_ctx *c, struct source_node *dir,
		      const struct isofs_rec *r, struct isofs_multi *multi)
{
	struct isofs_rr rr;
	char name[SOURCE_NAME_MAX * 2 + 8];
	const char *shown, *why;
	enum source_node_type type;
	struct source_node *n;
	size_t len;
	int rc, nl;

	/* ECMA-119 6.8.2.2: the "." (0x00) and ".." (0x01) records. */
	if (r->name_len == 1 && r->name[0] <= 1)
		return 0;
	if (r->flags & ISOFS_FLAG_ASSOC)
		return 0;
	if (multi->node) {
		/* ECMA-119 6.5.1: later sections repeat the identifier. */
		if (r->name_len != multi->id_len ||
		    memcmp(r->name, multi->id, r->name_len) != 0 ||
		    (r->flags & ISOFS_FLAG_DIR))
			return entry_error(c, dir, multi->node->name, -EIO,
					   "multi-extent file is followed by "
					   "another entry before its last "
					   "extent");
		rc = add_file_extent(c, dir, multi->node, r);
		if (rc < 0)
			return rc;
		if (!(r->flags & ISOFS_FLAG_MULTI))
			multi->node = NULL;
		return 0;
	}
	memset(&rr, 0, sizeof(rr));
	if (c->rr) {
		rc = susp_parse(c, r->su, r->su_len, c->skip, &rr);
		if (rc < 0) {
			/* Not yet checked: no control bytes in the message. */
			nl = plain_name(c, r, name, sizeof(name));
			return entry_error(c, dir,
					   nl < 0 || source_name_invalid(
							     name, (size_t)nl) ?
						   "?" :
						   name,
					   rc, "%s", c->err ? c->err->msg : "");
		}
	}
	if (rr.re) {
		/* RRIP 4.1.5.2: shown where its CL entry points. */
		dir->had_relocated = true;
		return 0;
	}
	if (rr.nm && !rr.nm_dot && !rr.nm_long) {
		memcpy(name, rr.name, rr.name_len);
		name[rr.name_len] = '\0';
		len = rr.name_len;
	} else {
		nl = plain_name(c, r, name, sizeof(name));
		if (nl < 0) {
			source_skip(c->s, dir, (const char *)r->name,
				    r->name_len, "name cannot be decoded");
			return 0;
		}
		len = (size_t)nl;
	}
	shown = name;
	why = rr.nm_long ? "Rock Ridge name longer than 255 bytes" :
	      rr.nm_dot	 ? "Rock Ridge name is \".\" or \"..\"" :
			   source_name_invalid(name, len);
	if (why) {
		source_skip(c->s, dir, shown, len, why);
		return 0;
	}
	if (rr.zf)
		return entry_error(c, dir, name, -ENOTSUP,
				   "zisofs-compressed file (Rock Ridge ZF) is "
				   "not supported");
	if (r->unit || r->gap)
		return entry_error(c, dir, name, -ENOTSUP,
				   "interleaved file (unit %u, gap %u) is not "
				   "supported",
				   r->unit, r->gap);
	if (rr.cl)
		type = SOURCE_NODE_DIR;
	else if (r->flags & ISOFS_FLAG_DIR)
		type = rr.px && (rr.mode & RR_IFMT) != RR_IFDIR ?
			       SOURCE_NODE_OTHER :
			       SOURCE_NODE_DIR;
	else if (rr.sl || rr.pn || (rr.px && (rr.mode & RR_IFMT) != RR_IFREG))
		type = SOURCE_NODE_OTHER;
	else
		type = SOURCE_NODE_FILE;
	if (type == SOURCE_NODE_OTHER && (r->flags & ISOFS_FLAG_MULTI))
		return entry_error(c, dir, name, -EIO,
				   "multi-extent entry is not a file");
	n = source_node_alloc(c->s, dir, name, len, type, c->err);
	if (!n)
		return entry_error(c, dir, name, c->err ? c->err->code : -E2BIG,
				   "%s", c->err ? c->err->msg : "limit");
	rc = source_dir_append(dir, n, c->err);
	if (rc < 0)
		return rc;
	if (type == SOURCE_NODE_DIR) {
		uint64_t off;
		struct isofs_rec dot = { 0 };

		if (rr.cl) {
			/* RRIP 4.1.5.1: the directory is at the CL block. */
			if (MUL_OVERFLOW((uint64_t)rr.cl_block,
					 (uint64_t)ISOFS_SECTOR, &off))
				return entry_error(c, dir, name, -EIO,
						   "CL location overflows");
			rc = read_dot(c, off, &dot, c->ce);
			if (rc < 0)
				return entry_error(c, dir, name, rc,
						   "relocated directory: %s",
						   c->err ? c->err->msg : "");
			rc = rec_offset(c, &dot, &off);
			n->ext1.length = dot.len;
		} else {
			rc = rec_offset(c, r, &off);
			n->ext1.length = r->len;
		}
		if (rc < 0)
			return rc;
		n->ext1.offset = off;
		return 0;
	}
	if (type == SOURCE_NODE_OTHER)
		return 0;
	rc = add_file_extent(c, dir, n, r);
	if (rc < 0)
		return rc;
	if (r->flags & ISOFS_FLAG_MULTI) {
		multi->node = n;
		memcpy(multi->id, r->name, r->name_len);
		multi->id_len = r->name_len;
	}
	return 0;
}

/*
 * genisoimage and xorriso move directories nested deeper than 8 levels
 * into "rr_moved" (or ".rr_moved") at the root; once its RE entries are
 * hidden it is empty and not part of the authored tree, so it goes too.
 */
static void hide_rr_moved(struct source_node *root)
{
	size_t i, out;

	for (i = 0, out = 0; i < root->nchild; i++) {
		struct source_node *ch = root->child[i];

		if (ch->type == SOURCE_NODE_DIR && ch->had_relocated &&
		    ch->nchild == 0 &&
		    (strcmp(ch->name, "rr_moved") == 0 ||
		     strcmp(ch->name, ".rr_moved") == 0))
			continue;
		root->child[out++] = ch;
	}
	root->nchild = out;
}

/*
 * Lists directory DIR (extent OFF, LEN bytes), then its subdirectories.
 * UP lists the directories above it.
 */
static int load_dir(struct isofs_ctx *c, struct source_node *dir, uint64_t off,
		    uint64_t len, const struct isofs_up *up)
{
	struct isofs_multi multi = { .node = NULL };
	struct isofs_up self = { .off = off, .up = up };
	const struct isofs_up *p;
	uint64_t done;
	size_t i;
	int rc;

	if (len == 0 || len > ISOFS_MAX_DIR_BYTES)
		return entry_error(c, dir, "", -EIO,
				   "directory size %llu is 0 or above %u bytes",
				   (unsigned long long)len,
				   ISOFS_MAX_DIR_BYTES);
	if (range_outside(off, len, c->s->size))
		return entry_error(c, dir, "", -EIO,
				   "directory at byte %llu, %llu bytes, ends "
				   "past the end of the image (%llu bytes)",
				   (unsigned long long)off,
				   (unsigned long long)len,
				   (unsigned long long)c->s->size);
	/*
	 * Only a directory that contains itself is a loop.  One directory
	 * extent listed under two unrelated folders (a DAG, which some
	 * authoring tools write for identical folders) is read twice and
	 * shown twice.  Sharing is bounded below: the directory data read
	 * may not exceed the image, so sharing cannot multiply the work.
	 */
	for (p = up; p; p = p->up)
		if (p->off == off)
			return entry_error(c, dir, "", -ELOOP,
					   "directory loop: the extent at byte "
					   "%llu contains itself",
					   (unsigned long long)off);
	/*
	 * Directories of a sound image do not overlap and are rarely
	 * shared, so together they fit in it; more means extents reused to
	 * make us read forever.
	 */
	if (ADD_OVERFLOW(c->dir_bytes, len, &c->dir_bytes) ||
	    c->dir_bytes > c->s->size)
		return entry_error(c, dir, "", -EIO,
				   "directories overlap or are shared too "
				   "often: more directory data than the "
				   "image holds");
	for (done = 0; done < len;) {
		size_t chunk = len - done < ISOFS_CHUNK ? (size_t)(len - done) :
							  ISOFS_CHUNK;
		size_t sec;

		rc = read_at(c, c->buf, chunk, off + done);
		if (rc < 0)
			return rc;
		/* ECMA-119 6.8.1.1: records do not cross sector boundaries. */
		for (sec = 0; sec < chunk; sec += ISOFS_SECTOR) {
			size_t end = chunk - sec < ISOFS_SECTOR ? chunk - sec :
								  ISOFS_SECTOR;
			size_t pos = 0;

			while (pos < end && c->buf[sec + pos] != 0) {
				struct isofs_rec r = { 0 };

				rc = parse_rec(c, c->buf + sec + pos, end - pos,
					       off + done + sec + pos, &r);
				if (rc < 0)
					return entry_error(c, dir, "", rc, "%s",
							   c->err ?
								   c->err->msg :
								   "");
				rc = add_record(c, dir, &r, &multi);
				if (rc < 0)
					return rc;
				pos += c->buf[sec + pos];
			}
		}
		done += chunk;
	}
	if (multi.node)
		return entry_error(c, dir, multi.node->name, -EIO,
				   "multi-extent file lacks its last extent");
	source_dir_finish(c->s, dir);
	/*
	 * Ask for every subdirectory before reading the first: on a cold
	 * cache the disk then works on them together (authoring tools write
	 * the directories next to each other) instead of one small read per
	 * directory, each waited for in turn.  Advice only, for what
	 * load_dir() would read, and at most the image's size in all (as
	 * the reads), however often a hostile image lists a directory.
	 */
	for (i = 0; i < dir->nchild; i++) {
		const struct source_node *ch = dir->child[i];

		if (ch->type != SOURCE_NODE_DIR ||
		    ch->ext1.length > ISOFS_MAX_DIR_BYTES ||
		    range_outside(ch->ext1.offset, ch->ext1.length,
				  c->s->size) ||
		    ch->ext1.length > c->s->size - c->advised)
			continue;
		c->advised += ch->ext1.length;
		io_advise_willneed(c->s->fd, ch->ext1.offset, ch->ext1.length);
	}
	for (i = 0; i < dir->nchild; i++) {
		struct source_node *ch = dir->child[i];
		uint64_t coff = ch->ext1.offset, clen = ch->ext1.length;

		if (ch->type != SOURCE_NODE_DIR)
			continue;
		/* Directories have no extents for the catalog. */
		ch->ext = NULL;
		ch->ext1.offset = ch->ext1.length = 0;
		rc = load_dir(c, ch, coff, clen, &self);
		if (rc < 0)
			return rc;
	}
	if (!dir->parent)
		hide_rr_moved(dir);
	return 0;
}

/* One extent of one file, for check_extents(). */
struct isofs_part {
	uint64_t off, len;
	const struct source_node *node;
	size_t idx; /* which of the node's extents */
};

static int part_cmp(const void *pa, const void *pb)
{
	const struct isofs_part *a = pa, *b = pb;

	if (a->off != b->off)
		return a->off < b->off ? -1 : 1;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return 0;
}

static bool same_parts(const struct source_node *a, const struct source_node *b)
{
	return a->next == b->next &&
	       memcmp(a->ext, b->ext, a->next * sizeof(*a->ext)) == 0;
}

static int part_error(struct isofs_ctx *c, const struct isofs_part *a,
		      const struct isofs_part *b, const char *what)
{
	char other[512];

	source_node_path(a->node, other, sizeof(other));
	return entry_error(c, b->node->parent, b->node->name, -EIO,
			   "extent at byte %llu, %llu bytes, %s \"%s\" (at "
			   "byte %llu, %llu bytes)",
			   (unsigned long long)b->off,
			   (unsigned long long)b->len, what, other,
			   (unsigned long long)a->off,
			   (unsigned long long)a->len);
}

/*
 * File data may not overlap, so that reading every file reads no more
 * than the image (a multi-extent file of 65,536 parts that each cover
 * the whole image would otherwise be hashed, served and exported as
 * 765 GB).  Overlap is defined by byte ranges, with one exception for
 * content stored once under several names:
 *   - the parts of one file never share a byte;
 *   - parts of two files either share no byte, or are the very same
 *     range (offset and length) and then the two files are made of the
 *     very same parts in the same order: genisoimage (-cache-inodes) and
 *     xorriso write hard links and identical files that way, and the pack
 *     hashes such files once (pack_builder_add_file()).
 * A part that merely starts inside another, or a file that shares one
 * part of another but not all, is refused (-EIO).  Sharing is bounded
 * too: all files together may hold at most ISOFS_MAX_SHARING times the
 * image, so that a small image of one file under 300,000 names cannot
 * make an export write terabytes.  Real images share a few driver
 * binaries between OS folders, far below that.
 */
static int check_extents(struct isofs_ctx *c)
{
	struct isofs_part *v = NULL;
	const struct source_node *n;
	size_t count = 0, k = 0, i, first = 0, far = 0;
	uint64_t end = 0, total = 0, cap;
	int rc = 0;

	for (n = c->s->all; n; n = n->all_next) {
		if (n->type != SOURCE_NODE_FILE || !n->ext)
			continue;
		count += n->next;
		if (ADD_OVERFLOW(total, n->size, &total))
			total = UINT64_MAX;
	}
	if (MUL_OVERFLOW(c->s->size, (uint64_t)ISOFS_MAX_SHARING, &cap))
		cap = UINT64_MAX;
	if (total > cap)
		return aero_error_set(c->err, -EIO,
				      "files add up to %llu bytes, more than "
				      "%u times the image (%llu bytes): "
				      "extents shared by too many names",
				      (unsigned long long)total,
				      ISOFS_MAX_SHARING,
				      (unsigned long long)c->s->size);
	if (!count)
		return 0;
	v = malloc(count * sizeof(*v));
	if (!v)
		return aero_error_set(c->err, -ENOMEM, "out of memory");
	for (n = c->s->all; n; n = n->all_next) {
		if (n->type != SOURCE_NODE_FILE || !n->ext)
			continue;
		for (i = 0; i < n->next; i++) {
			v[k].off = n->ext[i].offset;
			v[k].len = n->ext[i].length;
			v[k].node = n;
			v[k].idx = i;
			k++;
		}
	}
	qsort(v, count, sizeof(*v), part_cmp);
	for (i = 0; i < count && rc == 0; i++) {
		const struct isofs_part *a = &v[first], *b = &v[i];

		if (i > 0 && b->off == a->off && b->len == a->len) {
			/* The same range again: the same content, or a lie. */
			if (b->node == a->node)
				rc = part_error(c, a, b, "repeats a part of");
			else if (b->idx != a->idx ||
				 b->node->next != a->node->next ||
				 b->node->ext[0].offset !=
					 a->node->ext[0].offset ||
				 b->node->ext[0].length !=
					 a->node->ext[0].length ||
				 (b->idx == 0 && !same_parts(a->node, b->node)))
				rc = part_error(c, a, b,
						"is shared with, but "
						"the file differs from,");
			continue;
		}
		if (i > 0 && b->off < end)
			rc = part_error(c, &v[far], b, "overlaps");
		first = i;
		if (b->off + b->len > end) {
			end = b->off + b->len;
			far = i;
		}
	}
	free(v);
	return rc;
}

/* Whether the tree at root record ROOT carries Rock Ridge (RRIP 5.1). */
static int tree_has_rr(struct isofs_ctx *c, const uint8_t *root, bool *rr,
		       uint8_t *skip)
{
	struct isofs_rec r = { 0 }, dot = { 0 };
	struct isofs_rr info;
	uint8_t *sector;
	uint64_t off;
	int rc;

	*rr = false;
	rc = parse_rec(c, root, ISOFS_DR_MIN, 16 * ISOFS_SECTOR + 156, &r);
	if (rc < 0)
		return rc;
	rc = rec_offset(c, &r, &off);
	if (rc < 0)
		return rc;
	sector = malloc(ISOFS_SECTOR);
	if (!sector)
		return aero_error_set(c->err, -ENOMEM, "out of memory");
	rc = read_dot(c, off, &dot, sector);
	if (rc == 0)
		rc = susp_parse(c, dot.su, dot.su_len, 0, &info);
	if (rc == 0) {
		*rr = info.sp || info.any;
		*skip = info.sp ? info.skip : 0;
	}
	free(sector);
	return rc;
}

static void set_label(struct source *s, const uint8_t *vd)
{
	size_t n = 32, i;

	/* ECMA-119 8.4.6: volume identifier, a-characters padded with ' '. */
	while (n > 0 && (vd[40 + n - 1] == ' ' || vd[40 + n - 1] == 0))
		n--;
	s->label = malloc(n + 1);
	if (!s->label)
		return;
	/* Shown in manifests: keep printable ASCII only. */
	for (i = 0; i < n; i++)
		s->label[i] = vd[40 + i] >= 0x20 && vd[40 + i] < 0x7f ?
				      (char)vd[40 + i] :
				      '_';
	s->label[n] = '\0';
}

static bool is_joliet(const uint8_t *vd)
{
	/* Joliet 1995 2.2: escape sequences in the SVD at 89-120. */
	for (size_t i = 88; i + 3 <= 120; i++)
		if (vd[i] == '%' && vd[i + 1] == '/' &&
		    (vd[i + 2] == '@' || vd[i + 2] == 'C' || vd[i + 2] == 'E'))
			return true;
	return false;
}

static int read_descriptors(struct isofs_ctx *c, uint8_t *vd,
			    struct isofs_tree *pvd, struct isofs_tree *evd,
			    struct isofs_tree *jol)
{
	unsigned i;
	int rc;

	for (i = 0; i < ISOFS_MAX_VDS; i++) {
		uint64_t off = (uint64_t)(ISOFS_VD_FIRST + i) * ISOFS_SECTOR;

		if (range_outside(off, ISOFS_SECTOR, c->s->size)) {
			if (i == 0)
				return not_iso(c, NULL);
			return aero_error_set(c->err, -EIO,
					      "truncated image: it ends inside "
					      "the volume descriptors (at "
					      "descriptor %u, byte %llu)",
					      i, (unsigned long long)off);
		}
		rc = read_at(c, vd, ISOFS_SECTOR, off);
		if (rc < 0)
			return rc;
		/* ECMA-119 8.1: type, "CD001", version. */
		if (memcmp(vd + 1, "CD001", 5) != 0) {
			if (i == 0)
				return not_iso(c, vd);
			return aero_error_set(c->err, -EIO,
					      "volume descriptor %u at byte "
					      "%llu lacks \"CD001\" before a "
					      "terminator",
					      i, (unsigned long long)off);
		}
		switch (vd[0]) {
		case 255: /* 8.3: volume descriptor set terminator */
			if (!pvd->present)
				return aero_error_set(c->err, -EIO,
						      "no primary volume "
						      "descriptor");
			return 0;
		case 1: /* 8.4: primary */
			if (pvd->present)
				break;
			/* 8.4.12: logical block size */
			if (le16(vd + 128) != ISOFS_SECTOR)
				return aero_error_set(c->err, -ENOTSUP,
						      "logical block size %u "
						      "is not supported (only "
						      "2048)",
						      le16(vd + 128));
			pvd->present = true;
			memcpy(pvd->root, vd + 156, ISOFS_DR_MIN);
			set_label(c->s, vd);
			/* 8.4.27 modification, else 8.4.26 creation date */
			c->s->has_time = isofs_date17(vd + 830, &c->s->time) ||
					 isofs_date17(vd + 813, &c->s->time);
			break;
		case 2: /* 8.5: supplementary or enhanced */
			if (le16(vd + 128) != ISOFS_SECTOR)
				break;
			if (vd[6] == 2 && !evd->present) {
				evd->present = true;
				memcpy(evd->root, vd + 156, ISOFS_DR_MIN);
			} else if (vd[6] == 1 && is_joliet(vd) &&
				   !jol->present) {
				jol->present = true;
				memcpy(jol->root, vd + 156, ISOFS_DR_MIN);
			}
			break;
		default: /* boot record, partition: not ours */
			break;
		}
	}
	return aero_error_set(c->err, -EIO,
			      "no volume descriptor set terminator in the "
			      "first %u descriptors",
			      ISOFS_MAX_VDS);
}

int isofs_load(struct source *s, struct aero_error *err)
{
	struct isofs_ctx c = { .s = s, .err = err };
	struct isofs_tree pvd = { 0 }, evd = { 0 }, jol = { 0 };
	const struct isofs_tree *tree;
	struct isofs_rec root = { 0 };
	uint64_t off = 0;
	uint8_t *vd;
	bool rr = false;
	uint8_t skip = 0;
	int rc;

	vd = malloc(ISOFS_SECTOR);
	c.buf = malloc(ISOFS_CHUNK);
	if (!vd || !c.buf) {
		rc = aero_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	rc = read_descriptors(&c, vd, &pvd, &evd, &jol);
	if (rc < 0)
		goto out;
	/* Rock Ridge first: the PVD's tree, else the EVD's. */
	tree = &pvd;
	c.names = ISOFS_NAMES_PVD;
	rc = tree_has_rr(&c, pvd.root, &rr, &skip);
	if (rc == 0 && !rr && evd.present) {
		rc = tree_has_rr(&c, evd.root, &rr, &skip);
		if (rr) {
			tree = &evd;
			c.names = ISOFS_NAMES_EVD;
		}
	}
	if (rc < 0) {
		aero_error_prefix(err, "root directory");
		goto out;
	}
	if (rr) {
		s->names = "rockridge";
	} else if (jol.present) {
		tree = &jol;
		c.names = ISOFS_NAMES_JOLIET;
		s->names = "joliet";
	} else if (evd.present) {
		tree = &evd;
		c.names = ISOFS_NAMES_EVD;
		s->names = "iso9660:1999";
	} else {
		s->names = "iso9660";
	}
	c.rr = rr;
	c.skip = skip;
	/* The roots' "." records were parsed above and are skipped below. */
	c.ce_bytes = 0;
	rc = parse_rec(&c, tree->root, ISOFS_DR_MIN, 16 * ISOFS_SECTOR + 156,
		       &root);
	if (rc == 0)
		rc = rec_offset(&c, &root, &off);
	if (rc < 0)
		goto out;
	s->root = source_node_alloc(s, NULL, "", 0, SOURCE_NODE_DIR, err);
	if (!s->root) {
		rc = err ? err->code : -ENOMEM;
		goto out;
	}
	s->root->ext = NULL;
	rc = load_dir(&c, s->root, off, root.len, NULL);
	if (rc == 0)
		rc = check_extents(&c);
out:
	free(c.buf);
	free(vd);
	return rc;
}
