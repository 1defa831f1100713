/*
 * wincat.c: reads a Windows security catalog (.cat) for what a driver pack
 * shows and checks: members (name, digest), catalog attributes (OS,
 * HWIDn), the signer's subject and the signing time.
 *
 * The DER is walked with a small bounded TLV reader rather than
 * d2i_PKCS7(): real catalogs put the CTL directly under the [0] of
 * ContentInfo with no OCTET STRING around it (research
 * virtio-win-layout §4), and walking it ourselves keeps each field's
 * offset and failure precise.  Only fixed paths through the structure are
 * followed, so nesting depth never depends on the input.  OpenSSL decodes
 * the signer's Name (d2i_X509_NAME) to print it.
 *
 * It does not verify signatures, certificate chains, or that a member's
 * digest matches anything: the caller hashes files and asks
 * wincat_has_digest().  BER indefinite lengths are refused: catalogs are DER.
 *
 * References: RFC 2315 (PKCS #7 SignedData, SignerInfo), RFC 5652 §5.3
 * (signingTime, countersignature), RFC 3161 §2.4.2 (TSTInfo), RFC 5280
 * §4.1 (TBSCertificate), and Microsoft's CTL and Authenticode layouts
 * (CertificateTrustList, SpcIndirectDataContent, CAT_NAMEVALUE).
 */
#include "catalog/formats/wincat.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/x509.h>

#include "catalog/util/checked.h"
#include "catalog/util/civil.h"
#include "catalog/util/utf.h"

/* Far above real catalogs (tens to a few thousand members). */
#define CAT_MAX_MEMBERS (256u * 1024)
#define CAT_MAX_HWIDS (64u * 1024)
#define CAT_MAX_CERTS 4096u

/* --- OIDs, as DER contents ---------------------------------------------- */

/* 1.2.840.113549.1.7.2 */
static const unsigned char oid_signed_data[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7,
						 0x0d, 0x01, 0x07, 0x02 };
/* 1.3.6.1.4.1.311.10.1 */
static const unsigned char oid_ctl[] = { 0x2b, 0x06, 0x01, 0x04, 0x01,
					 0x82, 0x37, 0x0a, 0x01 };
/* 1.3.6.1.4.1.311.12.2.1 */
static const unsigned char oid_name_value[] = { 0x2b, 0x06, 0x01, 0x04, 0x01,
						0x82, 0x37, 0x0c, 0x02, 0x01 };
/* 1.3.6.1.4.1.311.2.1.4 */
static const unsigned char oid_spc_indirect[] = {
	0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x01, 0x04
};
/* 1.3.6.1.4.1.311.12.1.2 */
static const unsigned char oid_ctl_v1[] = { 0x2b, 0x06, 0x01, 0x04, 0x01,
					    0x82, 0x37, 0x0c, 0x01, 0x02 };
/* 1.3.14.3.2.26 */
static const unsigned char oid_sha1[] = { 0x2b, 0x0e, 0x03, 0x02, 0x1a };
/* 2.16.840.1.101.3.4.2.1 */
static const unsigned char oid_sha256[] = { 0x60, 0x86, 0x48, 0x01, 0x65,
					    0x03, 0x04, 0x02, 0x01 };
/* 1.2.840.113549.1.9.5 */
static const unsigned char oid_signing_time[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7,
						  0x0d, 0x01, 0x09, 0x05 };
/* 1.2.840.113549.1.9.6 */
static const unsigned char oid_countersig[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7,
						0x0d, 0x01, 0x09, 0x06 };
/* 1.3.6.1.4.1.311.3.3.1 */
static const unsigned char oid_ms_timestamp[] = {
	0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x03, 0x03, 0x01
};
/* 1.2.840.113549.1.9.16.2.14 */
static const unsigned char oid_tst_token[] = { 0x2a, 0x86, 0x48, 0x86,
					       0xf7, 0x0d, 0x01, 0x09,
					       0x10, 0x02, 0x0e };
/* 1.2.840.113549.1.9.16.1.4 */
static const unsigned char oid_tst_info[] = { 0x2a, 0x86, 0x48, 0x86,
					      0xf7, 0x0d, 0x01, 0x09,
					      0x10, 0x01, 0x04 };

/* --- DER reading (X.690 §8.1) ------------------------------------------- */

enum {
	TAG_BOOLEAN = 0x01,
	TAG_INTEGER = 0x02,
	TAG_OCTET_STRING = 0x04,
	TAG_OID = 0x06,
	TAG_UTC_TIME = 0x17,
	TAG_GENERALIZED_TIME = 0x18,
	TAG_BMP_STRING = 0x1e,
	TAG_SEQUENCE = 0x30,
	TAG_SET = 0x31,
	TAG_CTX0 = 0xa0, /* [0] constructed */
	TAG_CTX1 = 0xa1,
};

struct der {
	const unsigned char *p;
	size_t len; /* bytes left */
};

struct tlv {
	unsigned tag;
	const unsigned char *hdr; /* start of the whole TLV */
	size_t hlen;
	const unsigned char *v; /* contents */
	size_t len;
};

/*
 * Reads the next TLV of D.  Low tag numbers only (X.690 §8.1.2.2; nothing
 * in a catalog uses more), definite lengths of at most four octets.
 */
static bool der_read(struct der *d, struct tlv *t)
{
	size_t hl = 2, len;

	if (d->len < 2 || (d->p[0] & 0x1f) == 0x1f)
		return false;
	len = d->p[1];
	if (len & 0x80) {
		size_t k = len & 0x7f;

		/* X.690 §8.1.3.6: 0x80 is BER's indefinite form. */
		if (k == 0 || k > 4 || d->len < 2 + k)
			return false;
		len = 0;
		for (size_t i = 0; i < k; i++)
			len = len << 8 | d->p[2 + i];
		hl += k;
	}
	if (range_outside(hl, len, d->len))
		return false;
	t->tag = d->p[0];
	t->hdr = d->p;
	t->hlen = hl;
	t->v = d->p + hl;
	t->len = len;
	d->p += hl + len;
	d->len -= hl + len;
	return true;
}

/* Reads the next TLV and requires TAG. */
static bool der_expect(struct der *d, unsigned tag, struct tlv *t)
{
	return der_read(d, t) && t->tag == tag;
}

/* Reads the next TLV only if it has TAG. */
static bool der_optional(struct der *d, unsigned tag, struct tlv *t)
{
	struct der save = *d;

	if (d->len && d->p[0] == tag && der_read(d, t))
		return true;
	*d = save;
	return false;
}

static struct der der_in(const struct tlv *t)
{
	return (struct der){ t->v, t->len };
}

static bool oid_is(const struct tlv *t, const unsigned char *oid, size_t len)
{
	return t->tag == TAG_OID && t->len == len &&
	       memcmp(t->v, oid, len) == 0;
}

#define OID_IS(t, oid) oid_is((t), (oid), sizeof(oid))

/*
 * An attribute value that Windows sometimes wraps in an OCTET STRING
 * (CAT_NAMEVALUE in members and catalog extensions) and sometimes not:
 * returns the SEQUENCE either way.
 */
static bool unwrap_seq(const struct tlv *v, struct tlv *seq)
{
	struct der d;

	if (v->tag == TAG_SEQUENCE) {
		*seq = *v;
		return true;
	}
	if (v->tag != TAG_OCTET_STRING)
		return false;
	d = der_in(v);
	return der_expect(&d, TAG_SEQUENCE, seq);
}

/* --- times --------------------------------------------------------------- */

static bool digits(const unsigned char *s, size_t n, int *out)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/*
 * UTCTime YYMMDDHHMM[SS]Z (X.680 §47; RFC 5280 §4.1.2.5.1: YY < 50 is
 * 20YY) or GeneralizedTime YYYYMMDDHHMMSS[.f*]Z (X.680 §46), UTC only.
 */
static bool der_time(const struct tlv *t, int64_t *out)
{
	const unsigned char *s = t->v;
	size_t n = t->len, ylen;
	int y, mo, d, h, mi, sec = 0;

	if (t->tag == TAG_UTC_TIME)
		ylen = 2;
	else if (t->tag == TAG_GENERALIZED_TIME)
		ylen = 4;
	else
		return false;
	if (n < ylen + 9 || s[n - 1] != 'Z' || !digits(s, ylen, &y) ||
	    !digits(s + ylen, 2, &mo) || !digits(s + ylen + 2, 2, &d) ||
	    !digits(s + ylen + 4, 2, &h) || !digits(s + ylen + 6, 2, &mi))
		return false;
	s += ylen + 8;
	n -= ylen + 8; /* what is left: [SS][.fff]Z */
	if (n >= 3 && !digits(s, 2, &sec))
		return false;
	if (n != 1 && n != 3 && !(ylen == 4 && n > 4 && s[2] == '.'))
		return false;
	if (ylen == 2)
		y += y < 50 ? 2000 : 1900;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return false;
	*out = civil_days(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 +
	       mi * 60 + sec;
	return true;
}

/* --- the parsed catalog -------------------------------------------------- */

struct cat_member {
	char *name;
	unsigned char digest[32]; /* SpcIndirectData messageDigest */
	size_t digest_len;
	unsigned char tag_digest[32]; /* the CTL subject identifier */
	size_t tag_len;
};

struct wincat_hwid {
	unsigned long n; /* the number in "HWID<n>" */
	size_t seq;	 /* order of appearance, to break ties */
	char *value;
};

struct wincat {
	enum wincat_digest digest;
	char *signer;
	enum wincat_time_source time_source;
	int64_t time;
	char *os;
	struct wincat_hwid *hwids;
	size_t nhwids, hwids_cap;
	struct cat_member *members;
	size_t nmembers, members_cap;
};

static int grow(void *vp, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap * 2 : 16;
	void *v, *n;

	if (need <= *cap)
		return 0;
	if (ncap < need)
		ncap = need;
	memcpy(&v, vp, sizeof(v));
	n = reallocarray(v, ncap, size);
	if (!n)
		return -ENOMEM;
	memcpy(vp, &n, sizeof(n));
	*cap = ncap;
	return 0;
}

/* A BMPString (UTF-16BE, X.680 §41) or a Windows UTF-16LE buffer. */
static char *utf16_dup(const struct tlv *t, bool be)
{
	size_t units = t->len / 2;
	char *s = malloc(utf16_to_utf8_max(units));

	if (s)
		utf16_to_utf8(s, t->v, units, be, true);
	return s;
}

/*
 * CAT_NAMEVALUE ::= SEQUENCE { tag BMPString, flags INTEGER,
 * value OCTET STRING (UTF-16LE, NUL-terminated) }.  Returns 1 and the two
 * strings (caller frees), 0 if SEQ is not one, -ENOMEM.
 */
static int name_value(const struct tlv *seq, char **name, char **value)
{
	struct der d = der_in(seq);
	struct tlv tn, tf, tv;

	if (!der_expect(&d, TAG_BMP_STRING, &tn) ||
	    !der_expect(&d, TAG_INTEGER, &tf) ||
	    !der_expect(&d, TAG_OCTET_STRING, &tv))
		return 0;
	*name = utf16_dup(&tn, true);
	*value = utf16_dup(&tv, false);
	if (!*name || !*value) {
		free(*name);
		free(*value);
		return -ENOMEM;
	}
	return 1;
}

static bool ascii_ieq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		int x = *a >= 'A' && *a <= 'Z' ? *a + 32 : *a;
		int y = *b >= 'A' && *b <= 'Z' ? *b + 32 : *b;

		if (x != y)
			return false;
	}
	return *a == *b;
}

/*
 * SpcIndirectDataContent ::= SEQUENCE { data SpcAttributeTypeAndOptional-
 * Value, messageDigest DigestInfo } with DigestInfo ::= SEQUENCE {
 * AlgorithmIdentifier, OCTET STRING } (Authenticode, and PKCS #1).
 */
static bool spc_digest(const struct tlv *seq, struct cat_member *m,
		       enum wincat_digest *alg)
{
	struct der d = der_in(seq), di, ai;
	struct tlv data, info, algid, oid, dg;

	if (!der_expect(&d, TAG_SEQUENCE, &data) ||
	    !der_expect(&d, TAG_SEQUENCE, &info))
		return false;
	di = der_in(&info);
	if (!der_expect(&di, TAG_SEQUENCE, &algid) ||
	    !der_expect(&di, TAG_OCTET_STRING, &dg))
		return false;
	ai = der_in(&algid);
	if (!der_expect(&ai, TAG_OID, &oid))
		return false;
	if (OID_IS(&oid, oid_sha1) && dg.len == 20)
		*alg = WINCAT_DIGEST_SHA1;
	else if (OID_IS(&oid, oid_sha256) && dg.len == 32)
		*alg = WINCAT_DIGEST_SHA256;
	else
		return false;
	memcpy(m->digest, dg.v, dg.len);
	m->digest_len = dg.len;
	return true;
}

static int hexval(unsigned c)
{
	if (c >= '0' && c <= '9')
		return (int)c - '0';
	if (c >= 'A' && c <= 'F')
		return (int)c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return (int)c - 'a' + 10;
	return -1;
}

/*
 * The subject identifier of a member: in v1 catalogs the UTF-16LE hex of
 * the SHA-1 (or SHA-256), in later ones the raw digest.
 */
static void tag_digest(const struct tlv *tag, struct cat_member *m)
{
	size_t n = tag->len;

	if ((n == 80 || n == 128)) {
		bool hex = true;

		for (size_t i = 0; i < n && hex; i += 2)
			hex = tag->v[i + 1] == 0 && hexval(tag->v[i]) >= 0;
		if (hex) {
			for (size_t i = 0; i < n / 4; i++)
				m->tag_digest[i] =
					(unsigned char)(hexval(tag->v[4 * i])
								<< 4 |
							hexval(tag->v[4 * i +
								      2]));
			m->tag_len = n / 4;
			return;
		}
	}
	if (n == 20 || n == 32) {
		memcpy(m->tag_digest, tag->v, n);
		m->tag_len = n;
	}
}

/*
 * TrustedSubject ::= SEQUENCE { subjectIdentifier OCTET STRING,
 * subjectAttributes SET OF Attribute OPTIONAL }.  Unknown attributes
 * (OSAttr, MemberInfo) are skipped.
 */
static int parse_member(struct wincat *cat, const struct tlv *entry, size_t idx,
			struct aero_error *err)
{
	struct der d = der_in(entry), attrs;
	struct cat_member *m;
	struct tlv tag, set;

	if (cat->nmembers >= CAT_MAX_MEMBERS)
		return aero_error_set(err, -EINVAL,
				      "catalog has more than %u members",
				      CAT_MAX_MEMBERS);
	if (!der_expect(&d, TAG_OCTET_STRING, &tag))
		return aero_error_set(err, -EINVAL,
				      "catalog member %zu: no subject "
				      "identifier",
				      idx);
	if (grow(&cat->members, &cat->members_cap, cat->nmembers + 1,
		 sizeof(*cat->members)) < 0)
		return aero_error_set(err, -ENOMEM, "out of memory");
	m = &cat->members[cat->nmembers++];
	memset(m, 0, sizeof(*m));
	tag_digest(&tag, m);
	if (!der_optional(&d, TAG_SET, &set))
		return 0;
	attrs = der_in(&set);
	while (attrs.len) {
		struct tlv attr, oid, vals, val, seq;
		struct der a, v;

		if (!der_expect(&attrs, TAG_SEQUENCE, &attr))
			return aero_error_set(err, -EINVAL,
					      "catalog member %zu: bad "
					      "attribute",
					      idx);
		a = der_in(&attr);
		if (!der_expect(&a, TAG_OID, &oid) ||
		    !der_expect(&a, TAG_SET, &vals))
			return aero_error_set(err, -EINVAL,
					      "catalog member %zu: bad "
					      "attribute",
					      idx);
		v = der_in(&vals);
		if (!der_read(&v, &val) || !unwrap_seq(&val, &seq))
			continue;
		if (OID_IS(&oid, oid_name_value)) {
			char *name, *value;
			int rc = name_value(&seq, &name, &value);

			if (rc < 0)
				return aero_error_set(err, rc, "out of memory");
			if (rc == 0)
				continue;
			if (ascii_ieq(name, "File") && !m->name)
				m->name = value;
			else
				free(value);
			free(name);
		} else if (OID_IS(&oid, oid_spc_indirect)) {
			enum wincat_digest alg;

			if (spc_digest(&seq, m, &alg) &&
			    cat->digest == WINCAT_DIGEST_UNKNOWN)
				cat->digest = alg;
		}
	}
	return 0;
}

/* Catalog attributes: OS and HWID<n> (CAT_NAMEVALUE extensions). */
static int catalog_attr(struct wincat *cat, const struct tlv *seq)
{
	char *name, *value;
	int rc = name_value(seq, &name, &value);

	if (rc <= 0)
		return rc;
	if (ascii_ieq(name, "OS") && !cat->os) {
		cat->os = value;
		value = NULL;
	} else if (strlen(name) > 4 && strlen(name) < 12 &&
		   strncasecmp(name, "HWID", 4) == 0 &&
		   strspn(name + 4, "0123456789") == strlen(name + 4) &&
		   cat->nhwids < CAT_MAX_HWIDS) {
		if (grow(&cat->hwids, &cat->hwids_cap, cat->nhwids + 1,
			 sizeof(*cat->hwids)) < 0) {
			free(name);
			free(value);
			return -ENOMEM;
		}
		cat->hwids[cat->nhwids].n = strtoul(name + 4, NULL, 10);
		cat->hwids[cat->nhwids].seq = cat->nhwids;
		cat->hwids[cat->nhwids++].value = value;
		value = NULL;
	}
	free(name);
	free(value);
	return 0;
}

static int hwid_cmp(const void *a, const void *b)
{
	const struct wincat_hwid *x = a, *y = b;

	if (x->n != y->n)
		return x->n < y->n ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * Extensions ::= SEQUENCE OF SEQUENCE { extnID OID, critical BOOLEAN
 * DEFAULT FALSE, extnValue OCTET STRING } (RFC 5280 §4.1), holding
 * CAT_NAMEVALUE for the catalog-wide attributes.
 */
static int parse_catalog_attrs(struct wincat *cat, const struct tlv *ctx0,
			       struct aero_error *err)
{
	struct der d = der_in(ctx0), exts;
	struct tlv seq;

	if (!der_expect(&d, TAG_SEQUENCE, &seq))
		return aero_error_set(err, -EINVAL,
				      "catalog attributes are not a sequence");
	exts = der_in(&seq);
	while (exts.len) {
		struct tlv ext, oid, crit, val, nv;
		struct der e;
		int rc;

		if (!der_expect(&exts, TAG_SEQUENCE, &ext))
			return aero_error_set(err, -EINVAL,
					      "bad catalog attribute");
		e = der_in(&ext);
		if (!der_expect(&e, TAG_OID, &oid))
			return aero_error_set(err, -EINVAL,
					      "bad catalog attribute");
		der_optional(&e, TAG_BOOLEAN, &crit);
		if (!OID_IS(&oid, oid_name_value) || !der_read(&e, &val))
			continue;
		if (val.tag == TAG_SET) {
			/* Attribute form: SET OF values. */
			struct der s = der_in(&val);

			if (!der_read(&s, &val))
				continue;
		}
		if (!unwrap_seq(&val, &nv))
			continue;
		rc = catalog_attr(cat, &nv);
		if (rc < 0)
			return aero_error_set(err, rc, "out of memory");
	}
	/* HWID1..n in number order whatever the order written. */
	if (cat->nhwids > 1)
		qsort(cat->hwids, cat->nhwids, sizeof(*cat->hwids), hwid_cmp);
	return 0;
}

/*
 * CertificateTrustList ::= SEQUENCE { version DEFAULT v1, subjectUsage
 * SEQUENCE OF OID, listIdentifier OCTET STRING OPTIONAL, sequenceNumber
 * INTEGER OPTIONAL, thisUpdate Time, nextUpdate Time OPTIONAL,
 * subjectAlgorithm AlgorithmIdentifier, trustedSubjects SEQUENCE OF
 * TrustedSubject OPTIONAL, ctlExtensions [0] EXPLICIT Extensions OPTIONAL }
 */
static int parse_ctl(struct wincat *cat, const struct tlv *ctl,
		     int64_t *this_update, bool *have_this_update,
		     struct aero_error *err)
{
	struct der d = der_in(ctl);
	struct tlv t, usage, alg, subjects, exts;

	der_optional(&d, TAG_INTEGER, &t);
	if (!der_expect(&d, TAG_SEQUENCE, &usage))
		return aero_error_set(err, -EINVAL,
				      "certificate trust list has no subject "
				      "usage");
	der_optional(&d, TAG_OCTET_STRING, &t);
	der_optional(&d, TAG_INTEGER, &t);
	if (!der_read(&d, &t))
		return aero_error_set(err, -EINVAL,
				      "certificate trust list has no "
				      "ThisUpdate");
	*have_this_update = der_time(&t, this_update);
	if (!*have_this_update)
		return aero_error_set(err, -EINVAL,
				      "certificate trust list ThisUpdate is "
				      "not a valid time");
	if (!der_optional(&d, TAG_UTC_TIME, &t))
		der_optional(&d, TAG_GENERALIZED_TIME, &t);
	if (!der_expect(&d, TAG_SEQUENCE, &alg))
		return aero_error_set(err, -EINVAL,
				      "certificate trust list has no subject "
				      "algorithm");
	if (der_optional(&d, TAG_SEQUENCE, &subjects)) {
		struct der s = der_in(&subjects);
		size_t i = 0;

		while (s.len) {
			struct tlv entry;
			int rc;

			if (!der_expect(&s, TAG_SEQUENCE, &entry))
				return aero_error_set(err, -EINVAL,
						      "catalog member %zu is "
						      "not a sequence",
						      i);
			rc = parse_member(cat, &entry, i++, err);
			if (rc < 0)
				return rc;
		}
	}
	if (cat->digest == WINCAT_DIGEST_UNKNOWN) {
		/* No SpcIndirectData: v1 tags are SHA-1 by definition. */
		struct der a = der_in(&alg);
		struct tlv oid;

		if (der_expect(&a, TAG_OID, &oid) && OID_IS(&oid, oid_ctl_v1))
			cat->digest = WINCAT_DIGEST_SHA1;
	}
	if (der_optional(&d, TAG_CTX0, &exts))
		return parse_catalog_attrs(cat, &exts, err);
	return 0;
}

/* --- signer and signing time -------------------------------------------- */

/*
 * TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber,
 * signature, issuer, validity, subject, ... } (RFC 5280 §4.1).
 */
static bool cert_fields(const struct tlv *cert, struct tlv *serial,
			struct tlv *issuer, struct tlv *subject)
{
	struct der d = der_in(cert), tbs;
	struct tlv t, sig, validity;

	if (!der_expect(&d, TAG_SEQUENCE, &t))
		return false;
	tbs = der_in(&t);
	der_optional(&tbs, TAG_CTX0, &t);
	return der_expect(&tbs, TAG_INTEGER, serial) &&
	       der_expect(&tbs, TAG_SEQUENCE, &sig) &&
	       der_expect(&tbs, TAG_SEQUENCE, issuer) &&
	       der_expect(&tbs, TAG_SEQUENCE, &validity) &&
	       der_expect(&tbs, TAG_SEQUENCE, subject);
}

static bool same_tlv(const struct tlv *a, const struct tlv *b)
{
	return a->len == b->len && memcmp(a->v, b->v, a->len) == 0;
}

/*
 * Sets *OUT to "CN=Red Hat, Inc, O=Red Hat, Inc, L=Raleigh, ST=nc, C=US".
 * A Name OpenSSL cannot decode leaves *OUT NULL: the signer is then
 * unknown, which is not an error of the catalog as a whole.
 */
static int format_name(const struct tlv *name, char **out)
{
	const unsigned char *p = name->hdr;
	X509_NAME *xn = d2i_X509_NAME(NULL, &p, (long)(name->hlen + name->len));
	unsigned long flags = XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_DN_REV |
			      XN_FLAG_FN_SN | ASN1_STRFLGS_UTF8_CONVERT |
			      ASN1_STRFLGS_ESC_CTRL;
	BIO *bio;
	char *data;
	long n;
	int rc = -ENOMEM;

	*out = NULL;
	if (!xn)
		return 0;
	bio = BIO_new(BIO_s_mem());
	if (bio && X509_NAME_print_ex(bio, xn, 0, flags) >= 0) {
		n = BIO_get_mem_data(bio, &data);
		if (n >= 0 && (*out = malloc((size_t)n + 1))) {
			/* An empty name prints nothing: DATA may be NULL. */
			if (n > 0)
				memcpy(*out, data, (size_t)n);
			(*out)[n] = '\0';
			rc = 0;
		}
	}
	BIO_free(bio);
	X509_NAME_free(xn);
	return rc;
}

/*
 * The signer certificate is the one whose issuer and serial equal the
 * SignerInfo's IssuerAndSerialNumber (RFC 2315 §9.2); the order of the
 * certificates varies between catalogs.
 */
static int find_signer(struct wincat *cat, const struct tlv *certs,
		       const struct tlv *sid)
{
	struct der d = der_in(sid), c;
	struct tlv issuer, serial, cert;
	unsigned n = 0;

	if (sid->tag != TAG_SEQUENCE ||
	    !der_expect(&d, TAG_SEQUENCE, &issuer) ||
	    !der_expect(&d, TAG_INTEGER, &serial))
		return 0;
	c = der_in(certs);
	while (c.len && n++ < CAT_MAX_CERTS && der_read(&c, &cert)) {
		struct tlv cs, ci, subj;

		if (cert.tag != TAG_SEQUENCE ||
		    !cert_fields(&cert, &cs, &ci, &subj) ||
		    !same_tlv(&cs, &serial) || !same_tlv(&ci, &issuer))
			continue;
		return format_name(&subj, &cat->signer);
	}
	return 0;
}

/* Finds attribute OID in a [0]/[1] attribute set; its first value. */
static bool find_attr(const struct tlv *attrs, const unsigned char *oid,
		      size_t oid_len, struct tlv *value)
{
	struct der d = der_in(attrs);
	struct tlv attr;

	while (d.len && der_expect(&d, TAG_SEQUENCE, &attr)) {
		struct der a = der_in(&attr), v;
		struct tlv o, set;

		if (!der_expect(&a, TAG_OID, &o) ||
		    !der_expect(&a, TAG_SET, &set))
			return false;
		if (!oid_is(&o, oid, oid_len))
			continue;
		v = der_in(&set);
		return der_read(&v, value);
	}
	return false;
}

#define FIND_ATTR(attrs, oid, v) find_attr((attrs), (oid), sizeof(oid), (v))

/*
 * SignerInfo ::= SEQUENCE { version, sid, digestAlgorithm,
 * [0] IMPLICIT authenticatedAttributes OPTIONAL, digestEncryptionAlgorithm,
 * encryptedDigest, [1] IMPLICIT unauthenticatedAttributes OPTIONAL }
 */
static bool signer_info(const struct tlv *si, struct tlv *sid, struct tlv *auth,
			bool *has_auth, struct tlv *unauth, bool *has_unauth)
{
	struct der d = der_in(si);
	struct tlv t;

	if (!der_expect(&d, TAG_INTEGER, &t) || !der_read(&d, sid) ||
	    !der_expect(&d, TAG_SEQUENCE, &t))
		return false;
	*has_auth = der_optional(&d, TAG_CTX0, auth);
	if (!der_expect(&d, TAG_SEQUENCE, &t) ||
	    !der_expect(&d, TAG_OCTET_STRING, &t))
		return false;
	*has_unauth = der_optional(&d, TAG_CTX1, unauth);
	return true;
}

/* Legacy countersignature (RFC 2315 §9.2 / RFC 5652 §11.4). */
static bool countersig_time(const struct tlv *cs, int64_t *t)
{
	struct tlv sid, auth, unauth, tm;
	bool has_auth, has_unauth;

	return cs->tag == TAG_SEQUENCE &&
	       signer_info(cs, &sid, &auth, &has_auth, &unauth, &has_unauth) &&
	       has_auth && FIND_ATTR(&auth, oid_signing_time, &tm) &&
	       der_time(&tm, t);
}

/*
 * RFC 3161 token: ContentInfo { signedData, [0] SignedData { version,
 * digestAlgorithms, encapContentInfo { id-ct-TSTInfo, [0] OCTET STRING
 * TSTInfo } ... } }, TSTInfo ::= SEQUENCE { version, policy,
 * messageImprint, serialNumber, genTime, ... } (RFC 3161 §2.4.2).
 */
static bool rfc3161_time(const struct tlv *token, int64_t *t)
{
	struct der d = der_in(token), e;
	struct tlv oid, ctx, sd, ver, algs, encap, eoid, ectx, octet, tst, x,
		gen;

	if (token->tag != TAG_SEQUENCE || !der_expect(&d, TAG_OID, &oid) ||
	    !OID_IS(&oid, oid_signed_data) || !der_expect(&d, TAG_CTX0, &ctx))
		return false;
	d = der_in(&ctx);
	if (!der_expect(&d, TAG_SEQUENCE, &sd))
		return false;
	d = der_in(&sd);
	if (!der_expect(&d, TAG_INTEGER, &ver) ||
	    !der_expect(&d, TAG_SET, &algs) ||
	    !der_expect(&d, TAG_SEQUENCE, &encap))
		return false;
	e = der_in(&encap);
	if (!der_expect(&e, TAG_OID, &eoid) || !OID_IS(&eoid, oid_tst_info) ||
	    !der_expect(&e, TAG_CTX0, &ectx))
		return false;
	e = der_in(&ectx);
	if (!der_expect(&e, TAG_OCTET_STRING, &octet))
		return false;
	e = der_in(&octet);
	if (!der_expect(&e, TAG_SEQUENCE, &tst))
		return false;
	e = der_in(&tst);
	return der_expect(&e, TAG_INTEGER, &x) && der_expect(&e, TAG_OID, &x) &&
	       der_expect(&e, TAG_SEQUENCE, &x) &&
	       der_expect(&e, TAG_INTEGER, &x) &&
	       der_expect(&e, TAG_GENERALIZED_TIME, &gen) && der_time(&gen, t);
}

/*
 * The first SignerInfo: its signer, and the signing time from the first
 * source that has one (cat.h's order).  A malformed time source is
 * skipped, not fatal: the time is informational.
 */
static int parse_signer(struct wincat *cat, const struct tlv *infos,
			const struct tlv *certs, struct aero_error *err)
{
	struct der d = der_in(infos);
	struct tlv si, sid, auth, unauth, v;
	bool has_auth, has_unauth;
	int64_t t;

	if (!d.len)
		return 0;
	if (!der_expect(&d, TAG_SEQUENCE, &si) ||
	    !signer_info(&si, &sid, &auth, &has_auth, &unauth, &has_unauth))
		return aero_error_set(err, -EINVAL, "bad signer info");
	if (certs && find_signer(cat, certs, &sid) < 0)
		return aero_error_set(err, -ENOMEM, "out of memory");

	if (has_auth && FIND_ATTR(&auth, oid_signing_time, &v) &&
	    der_time(&v, &t)) {
		cat->time_source = WINCAT_TIME_SIGNING_TIME;
		cat->time = t;
	} else if (has_unauth && FIND_ATTR(&unauth, oid_countersig, &v) &&
		   countersig_time(&v, &t)) {
		cat->time_source = WINCAT_TIME_COUNTERSIGNATURE;
		cat->time = t;
	} else if (has_unauth && ((FIND_ATTR(&unauth, oid_ms_timestamp, &v) &&
				   rfc3161_time(&v, &t)) ||
				  (FIND_ATTR(&unauth, oid_tst_token, &v) &&
				   rfc3161_time(&v, &t)))) {
		cat->time_source = WINCAT_TIME_RFC3161;
		cat->time = t;
	}
	return 0;
}

/* --- top level ----------------------------------------------------------- */

/*
 * ContentInfo { signedData, [0] SignedData { version, digestAlgorithms,
 * contentInfo { szOID_CTL, [0] CTL }, [0] certificates OPTIONAL,
 * [1] crls OPTIONAL, signerInfos } } (RFC 2315 §7, §9.1).
 */
static int parse(struct wincat *cat, const unsigned char *buf, size_t len,
		 struct aero_error *err)
{
	struct der d = { buf, len };
	struct tlv top, oid, ctx, sd, t, ci, ctype, cctx, ctl, certs, crls,
		infos;
	int64_t this_update = 0;
	bool have_this_update = false, have_certs;
	int rc;

	if (!der_expect(&d, TAG_SEQUENCE, &top))
		return aero_error_set(err, -EINVAL,
				      "not der: no outer sequence (bad tag or "
				      "length)");
	d = der_in(&top);
	if (!der_expect(&d, TAG_OID, &oid) || !OID_IS(&oid, oid_signed_data))
		return aero_error_set(err, -EINVAL, "not a pkcs#7 signeddata");
	if (!der_expect(&d, TAG_CTX0, &ctx))
		return aero_error_set(err, -EINVAL,
				      "pkcs#7 signeddata has no content");
	d = der_in(&ctx);
	if (!der_expect(&d, TAG_SEQUENCE, &sd))
		return aero_error_set(err, -EINVAL,
				      "signeddata is not a sequence");
	d = der_in(&sd);
	if (!der_expect(&d, TAG_INTEGER, &t) || !der_expect(&d, TAG_SET, &t))
		return aero_error_set(err, -EINVAL,
				      "signeddata has no version or digest "
				      "algorithms");
	if (!der_expect(&d, TAG_SEQUENCE, &ci))
		return aero_error_set(err, -EINVAL,
				      "signeddata has no content info");
	{
		struct der c = der_in(&ci);

		if (!der_expect(&c, TAG_OID, &ctype))
			return aero_error_set(err, -EINVAL,
					      "signeddata content has no type");
		if (!OID_IS(&ctype, oid_ctl))
			return aero_error_set(err, -EINVAL,
					      "signeddata content is not a "
					      "certificate trust list");
		if (!der_expect(&c, TAG_CTX0, &cctx))
			return aero_error_set(err, -EINVAL,
					      "certificate trust list is "
					      "missing");
		c = der_in(&cctx);
		if (!der_read(&c, &ctl))
			return aero_error_set(err, -EINVAL,
					      "certificate trust list is "
					      "truncated");
		/* Real catalogs: the CTL itself.  CMS tools: an OCTET
		 * STRING around it (RFC 5652 §5.2 eContent). */
		if (ctl.tag == TAG_OCTET_STRING) {
			c = der_in(&ctl);
			if (!der_read(&c, &ctl))
				return aero_error_set(err, -EINVAL,
						      "certificate trust list "
						      "is truncated");
		}
		if (ctl.tag != TAG_SEQUENCE)
			return aero_error_set(err, -EINVAL,
					      "certificate trust list is not a "
					      "sequence");
	}
	rc = parse_ctl(cat, &ctl, &this_update, &have_this_update, err);
	if (rc < 0)
		return rc;
	have_certs = der_optional(&d, TAG_CTX0, &certs);
	der_optional(&d, TAG_CTX1, &crls);
	if (der_expect(&d, TAG_SET, &infos)) {
		rc = parse_signer(cat, &infos, have_certs ? &certs : NULL, err);
		if (rc < 0)
			return rc;
	}
	if (cat->time_source == WINCAT_TIME_NONE && have_this_update) {
		cat->time_source = WINCAT_TIME_THIS_UPDATE;
		cat->time = this_update;
	}
	return 0;
}

int wincat_parse(const void *buf, size_t len, struct wincat **out,
		 struct aero_error *err)
{
	struct wincat *cat;
	int rc;

	*out = NULL;
	if (len > WINCAT_MAX_SIZE)
		return aero_error_set(err, -EFBIG,
				      "catalog is %zu bytes, more than the %u "
				      "MiB limit",
				      len, WINCAT_MAX_SIZE >> 20);
	if (len == 0)
		return aero_error_set(err, -EINVAL, "catalog is empty");
	cat = calloc(1, sizeof(*cat));
	if (!cat)
		return aero_error_set(err, -ENOMEM, "out of memory");
	rc = parse(cat, buf, len, err);
	if (rc < 0) {
		wincat_free(cat);
		return rc;
	}
	*out = cat;
	return 0;
}

void wincat_free(struct wincat *cat)
{
	if (!cat)
		return;
	for (size_t i = 0; i < cat->nmembers; i++)
		free(cat->members[i].name);
	for (size_t i = 0; i < cat->nhwids; i++)
		free(cat->hwids[i].value);
	free(cat->members);
	free(cat->hwids);
	free(cat->os);
	free(cat->signer);
	free(cat);
}

/* --- accessors ----------------------------------------------------------- */

enum wincat_digest wincat_digest(const struct wincat *cat)
{
	return cat->digest;
}

const char *wincat_digest_name(enum wincat_digest d)
{
	switch (d) {
	case WINCAT_DIGEST_SHA1:
		return "sha1";
	case WINCAT_DIGEST_SHA256:
		return "sha256";
	case WINCAT_DIGEST_UNKNOWN:
		break;
	}
	return "unknown";
}

const char *wincat_signer(const struct wincat *cat)
{
	return cat->signer;
}

enum wincat_time_source wincat_signing_time(const struct wincat *cat,
					    int64_t *t)
{
	if (t)
		*t = cat->time_source == WINCAT_TIME_NONE ? 0 : cat->time;
	return cat->time_source;
}

const char *wincat_time_source_name(enum wincat_time_source s)
{
	switch (s) {
	case WINCAT_TIME_NONE:
		return "none";
	case WINCAT_TIME_SIGNING_TIME:
		return "signing-time";
	case WINCAT_TIME_COUNTERSIGNATURE:
		return "countersignature";
	case WINCAT_TIME_RFC3161:
		return "rfc3161";
	case WINCAT_TIME_THIS_UPDATE:
		return "this-update";
	}
	return "unknown";
}

const char *wincat_os_attr(const struct wincat *cat)
{
	return cat->os;
}

size_t wincat_hwid_count(const struct wincat *cat)
{
	return cat->nhwids;
}

const char *wincat_hwid(const struct wincat *cat, size_t i)
{
	return i < cat->nhwids ? cat->hwids[i].value : NULL;
}

size_t wincat_member_count(const struct wincat *cat)
{
	return cat->nmembers;
}

const char *wincat_member_name(const struct wincat *cat, size_t i)
{
	return i < cat->nmembers ? cat->members[i].name : NULL;
}

const unsigned char *wincat_member_digest(const struct wincat *cat, size_t i,
					  size_t *len)
{
	const struct cat_member *m;

	*len = 0;
	if (i >= cat->nmembers)
		return NULL;
	m = &cat->members[i];
	if (m->digest_len) {
		*len = m->digest_len;
		return m->digest;
	}
	if (m->tag_len) {
		*len = m->tag_len;
		return m->tag_digest;
	}
	return NULL;
}

bool wincat_has_digest(const struct wincat *cat, const unsigned char *digest,
		       size_t digest_len)
{
	if (digest_len != 20 && digest_len != 32)
		return false;
	for (size_t i = 0; i < cat->nmembers; i++) {
		const struct cat_member *m = &cat->members[i];

		if ((m->digest_len == digest_len &&
		     memcmp(m->digest, digest, digest_len) == 0) ||
		    (m->tag_len == digest_len &&
		     memcmp(m->tag_digest, digest, digest_len) == 0))
			return true;
	}
	return false;
}
