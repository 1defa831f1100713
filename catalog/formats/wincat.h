/*
 * wincat.h: a Windows security catalog (.cat) inspected, not trusted.
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
 * wincat_free().
 */
#ifndef AEROFS_CATALOG_FORMATS_WINCAT_H
#define AEROFS_CATALOG_FORMATS_WINCAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog/util/error.h"

struct wincat;

/* Upper bound on input size; larger input is -EFBIG. */
#define WINCAT_MAX_SIZE (16u << 20)

enum wincat_digest {
	WINCAT_DIGEST_UNKNOWN,
	WINCAT_DIGEST_SHA1,
	WINCAT_DIGEST_SHA256,
};

/* Where the signing time came from, in the order they are tried. */
enum wincat_time_source {
	WINCAT_TIME_NONE,
	WINCAT_TIME_SIGNING_TIME,     /* authenticated PKCS#9 signingTime */
	WINCAT_TIME_COUNTERSIGNATURE, /* legacy PKCS#9 countersignature */
	WINCAT_TIME_RFC3161,	 /* 1.3.6.1.4.1.311.3.3.1 TSTInfo genTime */
	WINCAT_TIME_THIS_UPDATE, /* CTL ThisUpdate */
};

/*
 * Parses LEN bytes at BUF.  Returns 0 and a new struct wincat in *OUT, or
 * -errno with a message in ERR (and *OUT NULL): -EINVAL for DER that is
 * not a PKCS#7 SignedData carrying a CTL (or is malformed inside the CTL,
 * uses BER indefinite lengths, or has more than 256 Ki members),
 * -EFBIG above WINCAT_MAX_SIZE, -ENOMEM.  The CTL may sit directly under the
 * [0] of the content info, as in real catalogs, or in an OCTET STRING, as
 * CMS tools write it.  Bytes after the outer DER value are ignored.  A
 * malformed signer certificate or time source is not an error: the
 * signer or time is then reported absent or taken from the next source.
 */
int wincat_parse(const void *buf, size_t len, struct wincat **out,
		 struct aero_error *err);

void wincat_free(struct wincat *cat);

/* Digest algorithm of the members (SpcIndirectData), SHA-1 for Win7. */
enum wincat_digest wincat_digest(const struct wincat *cat);
const char *wincat_digest_name(
	enum wincat_digest d); /* "sha1", "sha256", "unknown" */

/*
 * Signer certificate subject as a one-line string ("CN=Red Hat, Inc,
 * O=Red Hat, Inc, L=Raleigh, ST=nc, C=US": RFC 2253 order, unescaped),
 * found by the first SignerInfo's issuer and serial among the embedded
 * certificates, whatever their order; NULL if absent, or if the signer is
 * identified by subject key identifier (CMS version 3, not used by
 * catalogs).
 */
const char *wincat_signer(const struct wincat *cat);

/*
 * Signing time in seconds since 1970 UTC (*T, which may be NULL; 0 with
 * WINCAT_TIME_NONE), and where it came from.  Only the first SignerInfo is
 * read.
 */
enum wincat_time_source wincat_signing_time(const struct wincat *cat,
					    int64_t *t);
/* "none", "signing-time", "countersignature", "rfc3161", "this-update" */
const char *wincat_time_source_name(enum wincat_time_source s);

/* Catalog attribute "OS" ("7X64,Server2008R2X64"); NULL if absent. */
const char *wincat_os_attr(const struct wincat *cat);

/* Catalog attributes HWID1..n, lowercase as stored, in number order. */
size_t wincat_hwid_count(const struct wincat *cat);
const char *wincat_hwid(const struct wincat *cat, size_t i);

/* Members. */
size_t wincat_member_count(const struct wincat *cat);
/* "File" name attribute of member I, NULL when the member has none. */
const char *wincat_member_name(const struct wincat *cat, size_t i);
/*
 * Digest of member I: the SpcIndirectData digest, or failing that the one
 * in the member's tag; *LEN is 20 or 32, or 0 (and NULL) when the member
 * has neither.
 */
const unsigned char *wincat_member_digest(const struct wincat *cat, size_t i,
					  size_t *len);

/*
 * True if a member's digest equals DIGEST (DIGEST_LEN bytes), or its tag
 * does (a v1 tag is the hex SHA-1, a v2 tag the raw SHA-1, so a SHA-1
 * also finds members of SHA-256 catalogs).  For flat files such as INFs
 * the member digest is the hash of the whole file; PE files are hashed
 * the Authenticode way, which is the caller's business.
 */
bool wincat_has_digest(const struct wincat *cat, const unsigned char *digest,
		       size_t digest_len);

#endif
