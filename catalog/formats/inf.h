/*
 * inf.h: a Windows driver INF file, parsed for what a driver pack needs to
 * know and check.  Pure: no I/O, the caller passes the bytes.
 *
 * Accepted encodings: UTF-16LE with or without a BOM (BOM-less UTF-16 is
 * recognised by its NUL bytes), UTF-16BE with a BOM, UTF-8 with or without
 * a BOM, and ANSI (bytes >= 0x80 kept as Latin-1).  BOM-less UTF-16BE is
 * refused: Windows' SetupAPI reads an INF without a BOM as ANSI or, when
 * IsTextUnicode() says so, UTF-16LE, never big-endian, so Windows would
 * not read the file that we would.  CRLF or LF, '\' line continuation,
 * ';' comments outside quotes, quoted strings containing commas or ';',
 * case-insensitive section names and keys, %token% substitution from
 * [Strings] (and %% for a literal '%').
 *
 * All strings handed out are UTF-8, borrowed from the struct inf and valid
 * until inf_free().
 */
#ifndef AEROFS_CATALOG_FORMATS_INF_H
#define AEROFS_CATALOG_FORMATS_INF_H

#include <stdbool.h>
#include <stddef.h>

#include "catalog/util/error.h"

struct inf;

enum inf_encoding {
	INF_ENC_ASCII, /* 7-bit only */
	INF_ENC_ANSI,  /* 8-bit, no BOM, not valid UTF-8 */
	INF_ENC_UTF8,  /* valid UTF-8 with non-ASCII, no BOM */
	INF_ENC_UTF8_BOM,
	INF_ENC_UTF16LE_BOM,
	INF_ENC_UTF16LE, /* no BOM */
	INF_ENC_UTF16BE_BOM,
};

/* Upper bound on input size; larger input is -EFBIG. */
#define INF_MAX_SIZE (4u << 20)

/*
 * Parses LEN bytes at BUF.  Returns 0 and a new struct inf in *OUT, or
 * -errno with a message in ERR (and *OUT NULL): -EINVAL for input that is
 * not an INF at all (empty, binary data with NUL bytes in 8-bit text, no
 * [Version] section with a Signature) or that Windows would not read as
 * text (BOM-less UTF-16BE), -EFBIG above INF_MAX_SIZE or when
 * the text exceeds the parser's bounds (256 Ki logical lines, 64 Ki
 * sections, a value longer than 64 KiB after %string% substitution, or
 * about 96 MiB of parsed text in all), -ENOMEM.  Anything else odd
 * (unknown sections, a model line without a hardware id) is tolerated
 * and shows up in what the accessors return.  Time and memory are linear
 * in LEN.
 *
 * %token% is looked up in [Strings], then [Strings.0409], then any other
 * [Strings.<locale>] in order of appearance; an unknown token is kept as
 * written (%12% in ServiceBinary is a DIRID, not a string).  Repeated
 * sections merge.  Lines before the first section header are ignored.
 */
int inf_parse(const void *buf, size_t len, struct inf **out,
	      struct aero_error *err);

void inf_free(struct inf *inf);

enum inf_encoding inf_encoding(const struct inf *inf);
/* "ascii", "ansi", "utf-8", "utf-8-bom", "utf-16le-bom", "utf-16le"... */
const char *inf_encoding_name(enum inf_encoding enc);
bool inf_crlf(const struct inf *inf); /* true if most lines end in CRLF */

/*
 * [Version] values after %string% substitution, quotes removed; NULL when
 * absent.  The signature is never NULL.
 */
const char *inf_signature(const struct inf *inf);
const char *inf_class(const struct inf *inf);
const char *inf_class_guid(const struct inf *inf);
const char *inf_provider(const struct inf *inf);
/* DriverVer split at the comma: "06/07/2019" and "61.77.104.17200". */
const char *inf_driver_date(const struct inf *inf);
const char *inf_driver_version(const struct inf *inf);

/*
 * CatalogFile entries: the plain one (DECORATION "") and decorated ones
 * ("NTx86", "NTamd64"...), as written in the key after "CatalogFile.".
 */
size_t inf_catalog_count(const struct inf *inf);
const char *inf_catalog_decoration(const struct inf *inf, size_t i);
const char *inf_catalog_file(const struct inf *inf, size_t i);

/*
 * The catalog file that applies to ARCH ("x86" or "amd64"): the decorated
 * entry for NTx86/NTamd64 if present, else the plain one, else NULL.
 */
const char *inf_catalog_for_arch(const struct inf *inf, const char *arch);

/*
 * [Manufacturer] entries: "%VENDOR% = VioStor,NTamd64.6.1" gives one
 * manufacturer whose models section base is "VioStor" with the decoration
 * list {"NTamd64.6.1"}.  Decorations are as written (case kept).  A line
 * without '=' names its models section only; that is then also its name.
 */
size_t inf_manufacturer_count(const struct inf *inf);
const char *inf_manufacturer_name(const struct inf *inf, size_t i);
const char *inf_manufacturer_section(const struct inf *inf, size_t i);
size_t inf_decoration_count(const struct inf *inf, size_t i);
const char *inf_decoration(const struct inf *inf, size_t i, size_t j);

/*
 * Models: one entry per hardware or compatible id on a model line of a
 * models section named by [Manufacturer] (the undecorated section and every
 * decorated one that exists; each section read once however many
 * manufacturers name it).  DECORATION is "" for the undecorated section.
 * A model line without a hardware id gives no entry.
 */
struct inf_model {
	const char *description;     /* the device description, substituted */
	const char *install_section; /* "scsi_inst" */
	const char *hardware_id; /* "PCI\\VEN_1AF4&DEV_1042&..." as written */
	const char *decoration;	 /* "NTamd64.6.1", or "" */
};
size_t inf_model_count(const struct inf *inf);
const struct inf_model *inf_model(const struct inf *inf, size_t i);

/*
 * Service names from every AddService directive ("AddService = viostor,
 * 0x2, ..." gives "viostor"), deduplicated case-insensitively, in order of
 * appearance.
 */
size_t inf_service_count(const struct inf *inf);
const char *inf_service(const struct inf *inf, size_t i);

/*
 * Files the INF makes Windows copy or load, deduplicated case-insensitively
 * in order of appearance: keys of every [SourceDisksFiles*] section, files
 * named in CopyFiles (both "@file" and the lines of referenced file-list
 * sections, taking a line's source name when it gives one), ServiceBinary
 * basenames, co-installer DLLs named in CoInstallers32 AddReg values
 * ("HKR,,CoInstallers32,0x00010000,"WdfCoInstaller01009.dll,..."), and
 * CopyINF files.  A CopyFiles token with a dot that names no section is
 * taken as a file, so that a caller checking existence reports it.  Names
 * still holding a '%' (an unknown token) are skipped.  Basenames only.
 */
size_t inf_file_count(const struct inf *inf);
const char *inf_file(const struct inf *inf, size_t i);

/*
 * Value of KEY in SECTION (both case-insensitive), %string%-substituted,
 * first occurrence; NULL when absent.  Comma-separated fields come back
 * trimmed, unquoted and joined by "," ("06/07/2019,61.77.104.17200"); in
 * [Strings*] sections the whole quoted string.  For callers and tests
 * that need a field this header does not name.
 */
const char *inf_get(const struct inf *inf, const char *section,
		    const char *key);

#endif
