/*
 * cat.h: a Windows security catalog (.cat) inspected, not trusted.
 *
 * A .cat file is a DER PKCS#7 SignedData whose content (OID
 * 1.3.6.1.4.1.311.10.1, szOID_CTL) is a certificate trust list: one entry
 * per member file with its digest and attributes, plus catalog-wide
 * attributes (OS, HWID1..n).  This module decodes that structure with
 * OpenSSL's ASN.1 primitives and reports what a pack builder needs to show
 * and check: which files are covered (by digest, since member names need
 * not match file names: Win7 netkvm.cat names netkvm_no_rsc.inf), the
 * digest algorithm, the signer and the signing time.  It verifies no
 * signature chain: Windows does that, and the test-signed catalogs of
 * virtio-win would not verify anyway.
 *
 * Pure: the caller passes the bytes.  Strings are UTF-8, borrowed until
 * cat_free().
 */
#ifndef AEROFS_CATALOG_CAT_H
#define AEROFS_CATALOG_CAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog/error.h"

struct cat;

/* Upper bound on input size; larger input is -EFBIG. */
#define CAT_MAX_SIZE (16u << 20)

enum cat_digest {
	CAT_DIGEST_UNKNOWN,
	CAT_DIGEST_SHA1,
	CAT_DIGEST_SHA256,
};

/* Where the signing time came from, in the order they are tried. */
enum cat_time_source {
	CAT_TIME_NONE,
	CAT_TIME_SIGNING_TIME,		/* authenticated PKCS#9 signingTime */
	CAT_TIME_COUNTERSIGNATURE,	/* legacy PKCS#9 countersignature */
	CAT_TIME_RFC3161,		/* 1.3.6.1.4.1.311.3.3.1 TSTInfo genTime */
	CAT_TIME_THIS_UPDATE,		/* CTL ThisUpdate */
};

/*
 * Parses LEN bytes at BUF.  Returns 0 and a new struct cat in *OUT, or
 * -errno with a message in ERR (and *OUT NULL): -EINVAL for DER that is
 * not a PKCS#7 SignedData carrying a CTL (or is malformed inside the CTL,
 * uses BER indefinite lengths, or has more than 256 Ki members),
 * -EFBIG above CAT_MAX_SIZE, -ENOMEM.  The CTL may sit directly under the
 * [0] of the content info, as in real catalogs, or in an OCTET STRING, as
 * CMS tools write it.  Bytes after the outer DER value are ignored.  A
 * malformed signer certificate or time source is not an error: the
 * signer or time is then reported absent or taken from the next source.
 */
int cat_parse(const void *buf, size_t len, struct cat **out,
	      struct aero_error *err);

void cat_free(struct cat *cat);

/* Digest algorithm of the members (SpcIndirectData), SHA-1 for Win7. */
enum cat_digest cat_digest(const struct cat *cat);
const char *cat_digest_name(enum cat_digest d);	/* "sha1", "sha256", "unknown" */

/*
 * Signer certificate subject as a one-line string ("CN=Red Hat, Inc,
 * O=Red Hat, Inc, L=Raleigh, ST=nc, C=US": RFC 2253 order, unescaped),
 * found by the first SignerInfo's issuer and serial among the embedded
 * certificates, whatever their order; NULL if absent, or if the signer is
 * identified by subject key identifier (CMS version 3, not used by
 * catalogs).
 */
const char *cat_signer(const struct cat *cat);

/*
 * Signing time in seconds since 1970 UTC (*T, which may be NULL; 0 with
 * CAT_TIME_NONE), and where it came from.  Only the first SignerInfo is
 * read.
 */
enum cat_time_source cat_signing_time(const struct cat *cat, int64_t *t);
/* "none", "signing-time", "countersignature", "rfc3161", "this-update" */
const char *cat_time_source_name(enum cat_time_source s);

/* Catalog attribute "OS" ("7X64,Server2008R2X64"); NULL if absent. */
const char *cat_os_attr(const struct cat *cat);

/* Catalog attributes HWID1..n, lowercase as stored, in number order. */
size_t cat_hwid_count(const struct cat *cat);
const char *cat_hwid(const struct cat *cat, size_t i);

/* Members. */
size_t cat_member_count(const struct cat *cat);
/* "File" name attribute of member I, NULL when the member has none. */
const char *cat_member_name(const struct cat *cat, size_t i);
/*
 * Digest of member I: the SpcIndirectData digest, or failing that the one
 * in the member's tag; *LEN is 20 or 32, or 0 (and NULL) when the member
 * has neither.
 */
const unsigned char *cat_member_digest(const struct cat *cat, size_t i,
				       size_t *len);

/*
 * True if a member's digest equals DIGEST (DIGEST_LEN bytes), or its tag
 * does (a v1 tag is the hex SHA-1, a v2 tag the raw SHA-1, so a SHA-1
 * also finds members of SHA-256 catalogs).  For flat files such as INFs
 * the member digest is the hash of the whole file; PE files are hashed
 * the Authenticode way, which is the caller's business.
 */
bool cat_has_digest(const struct cat *cat, const unsigned char *digest,
		    size_t digest_len);

#endif
