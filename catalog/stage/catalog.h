/*
 * catalog.h: from a virtio-win source to a pack tree.
 *
 * catalog_build() opens the source (source.h), selects the Win7 drivers by
 * the rules of the Aero driver pack (required viostor and netkvm, optional
 * vioinput and viosnd; OS folders w7.1, w7_1, w7, win7; arch folders
 * x86/i386 and amd64/x64), inspects every INF and catalog (inf.h, cat.h),
 * and assembles the pack (pack.h):
 *
 *   win7/x86/<drv>/...  win7/amd64/<drv>/...   upstream files, by extent
 *   licenses/virtio-win/<notice files>         upstream notices, by extent
 *   manifest.json  THIRD_PARTY_NOTICES.md  README.txt
 *   install.cmd  enable-testsigning.cmd        synthesized blobs
 *   config/devices.cmd                         generated (devices.h)
 *   win7/<arch>/<extra>/...                    extra-drivers= (extras.h)
 *
 * A source that is itself a pack (a mounted aerofs tree or an exported
 * directory: manifest.json with "pack": "aero-win7-driver-pack" at its
 * root) is taken over with the manifest's epoch, so that exporting a mount
 * gives the same bytes as exporting its source.  The manifest is a claim,
 * not trusted (import.c): only a pack's layout is served, every check runs
 * again, every file is verified against the manifest's SHA-256 list, and
 * the synthesized files are generated again and must match the pack's
 * copies, or the pack is refused.
 *
 * Everything synthesized is a pure function of the source contents and the
 * options: no wall clock, no host paths, no locale.
 *
 * manifest.json (schema_version 1; 2-space indent, LF, keys in this order):
 * schema_version, pack, generator, created_utc (from the epoch), epoch,
 * epoch_source ("option", "SOURCE_DATE_EPOCH", "volume", "catalog",
 * "default"), image {label}, source {kind "iso"|"directory", name (the
 * basename), names, volume_label, derived_version, size, hash (null, or
 * {algorithm, value} with source-hash), license_notice_files_copied},
 * options {strict_optional, drop_pdb}, drivers_requested, drivers (included,
 * sorted), optional_drivers_missing [{name, missing_targets, errors}],
 * optional_drivers_missing_any, warnings, checks {total, failed},
 * driver_results [{name, upstream, required, status, included_targets,
 * missing_targets, errors {target: why, sorted}, details {target:
 * {pack_path, source_path, os_dir, arch_dir, inf {..., checks [{name, ok,
 * detail}]}, catalog {...} | null}}}], targets, files [{path, size, sha256}]
 * (every file but manifest.json, sorted by path bytes).  See inspect.h for
 * the checks.
 */
#ifndef AEROFS_CATALOG_STAGE_CATALOG_H
#define AEROFS_CATALOG_STAGE_CATALOG_H

#include <stdbool.h>
#include <stdint.h>

#include "catalog/util/error.h"
#include "catalog/pack/pack.h"

struct catalog_report;

/* Default volume label of images made from a pack. */
#define CATALOG_DEFAULT_LABEL "AERO_W7_DRIVERS" /* <= 16: Joliet keeps 16 */

/*
 * The options of a build, shared by aerofs, aerofs-export and
 * aerofs-catalog with one grammar (catalog_option_parse()).  Zero it, fill
 * it with the parsers, release it with catalog_options_free(): it owns its
 * strings.  Not thread-safe; one owner.
 */
struct catalog_options {
	/*
	 * Driver ids (viostor, netkvm, vioinput, viosnd) separated by ','
	 * or '+'; NULL means all four.  Unknown ids and a list without the
	 * required ones are errors.  Owned.
	 */
	char *drivers;
	bool strict_optional; /* a missing optional driver is an error */
	bool drop_pdb;	      /* leave .pdb debug symbols out */
	bool epoch_set;	      /* use EPOCH instead of the default */
	int64_t epoch;	      /* seconds since 1970 UTC */
	bool source_hash;     /* the SHA-256 of the source in the manifest */
	char *label;	      /* image volume label; NULL: default.  Owned. */
	/*
	 * A folder of extra INF driver packages (<driver>/{x86,amd64}/... or
	 * {x86,amd64}/<driver>/...) added to every profile, and a public
	 * test certificate (.cer/.crt, DER or PEM) for the Guest Tools'
	 * certs/.  Absolute (resolved when parsed: the daemon changes to /);
	 * NULL: none.  Owned.  See extras.h and cert.h.
	 */
	char *extra_drivers;
	char *cert;
	/*
	 * Parser state: the last word was drivers= (or continued it), so a
	 * bare driver id continues the list.  That is how "drivers=viostor,
	 * netkvm" reads after a -o list has been split at its commas.
	 */
	bool in_drivers;
	/*
	 * Not an option: once this says to stop (NULL: never),
	 * catalog_build() stops at its next check with -ECANCELED (between
	 * chunks of the hashing that dominates a build).  Borrowed.
	 */
	const struct pack_cancel *cancel;
	/*
	 * Not an option: the warnings go to the report only, not to the
	 * log (a second build of the same source, for another profile,
	 * would log them twice).
	 */
	bool quiet;
	/*
	 * Not an option: a fresh driver pack is built without reading its
	 * files' content (pack_builder_defer_hashes()); the caller runs
	 * pack_complete() on it, which also fills manifest.json.  Until then
	 * the report has no JSON.  Ignored for a pack imported from a pack,
	 * which is verified against its manifest as it is built.
	 */
	bool defer_hashes;
};

/*
 * The grammar of one word of a -o list (and of the long options, spelled
 * as words):
 *
 *   drivers=ID[+ID...]   also ID,ID when the comma is escaped (\,) or
 *                        when the next words are bare driver ids
 *   strict-optional  drop-pdb  source-hash  epoch=SECONDS  label=LABEL
 *   extra-drivers=DIR  cert=FILE   (the path must exist when parsed)
 *
 * Returns 1 if WORD was one of these (OPTS updated, strings copied), 0 if
 * it is none of them nor close to one (a libfuse option for aerofs), or
 * -EINVAL with ERR for a malformed value and for a word that is close to
 * one (other case, '_' for '-', a typo, a value on a flag or none where
 * one is needed), which ERR names with the accepted spelling.  -ENOMEM.
 * On failure OPTS is unchanged.
 */
int catalog_option_parse(struct catalog_options *opts, const char *word,
			 struct aero_error *err);

/*
 * Parses a whole -o LIST: words separated by ',' ("\," is a comma inside
 * a word).  Each word goes to catalog_option_parse(), then, if that did
 * not take it, to OTHER (may be NULL), which returns 1 if it took the
 * word, 0 if not, or a negative errno with ERR.  A word nobody takes is
 * an error (catalog_option_unknown(), OTHER_SPELLING listing OTHER's
 * words).  Returns 0 or a negative errno with ERR.
 */
typedef int (*catalog_option_fn)(void *ctx, const char *word,
				 struct aero_error *err);
int catalog_options_parse_list(struct catalog_options *opts, const char *list,
			       catalog_option_fn other, void *ctx,
			       const char *other_spelling,
			       struct aero_error *err);

/*
 * Sets ERR to "unknown option 'WORD'; accepted: ..." listing the catalog
 * options and OTHER_SPELLING (may be NULL).  Returns -EINVAL.
 */
int catalog_option_unknown(const char *word, const char *other_spelling,
			   struct aero_error *err);

/*
 * Checks OPTS as a whole, once every word is parsed: the drivers list
 * names the required drivers.  Returns 0 or -EINVAL with ERR.
 */
int catalog_options_check(const struct catalog_options *opts,
			  struct aero_error *err);

/* Frees the strings OPTS owns and zeroes it. */
void catalog_options_free(struct catalog_options *opts);

/*
 * Parses S as seconds since 1970 UTC (decimal, optional sign), years 1 to
 * 9999.  Returns 0, or -EINVAL / -ERANGE with ERR.
 */
int catalog_parse_epoch(const char *s, int64_t *out, struct aero_error *err);

/* True for a volume label of 1..16 characters of [A-Za-z0-9_.-]. */
bool catalog_label_valid(const char *label);

/*
 * SOURCE_DATE_EPOCH from the environment: returns 1 with *OUT, 0 when it
 * is unset or blank, -EINVAL (with ERR) when it is malformed.
 *
 * The epoch of a pack is, in this order: the epoch= option, this variable,
 * the source's volume time (images), the newest signing time among the
 * included catalogs (so that an extracted tree gets a date derived from
 * its contents), else 0.  A pack imported from a pack keeps its
 * manifest's epoch unless epoch= is given.  "epoch_source" in the
 * manifest says which applied.
 */
int catalog_epoch_from_env(int64_t *out, struct aero_error *err);

/*
 * Builds the pack for the source at SOURCE_PATH.  Returns 0 with a pack
 * (one reference) in *OUT and, if REPORT is not NULL, a report in *REPORT;
 * or -errno with the reason in ERR (a required driver missing, an invalid
 * option, an unreadable or malformed source...).  Warnings (an optional
 * driver omitted, an INF check that failed) are in the report and in the
 * manifest, and are logged at LOG_LEVEL_WARNING.
 */
int catalog_build(const char *source_path, const struct catalog_options *opts,
		  struct pack **out, struct catalog_report **report,
		  struct aero_error *err);

/* The report as pretty JSON (the same text as manifest.json); caller frees.
 * NULL for a build with defer_hashes (and when out of memory). */
char *catalog_report_json(const struct catalog_report *r);

/*
 * Number of warnings (every failed check is also a warning) and of failed
 * INF/catalog checks.  For an imported pack: the checks as run again on
 * its files, plus one per file whose content no longer matches the
 * manifest's SHA-256, per file the manifest lists that is missing, per
 * file it does not list (OS junk such as Thumbs.db is left out of an
 * imported pack), per driver target whose inf/catalog results in the
 * manifest differ from the re-run's, and one if its check counts differ;
 * the warnings add the manifest's warnings that are not failed checks.
 */
size_t catalog_report_warnings(const struct catalog_report *r);
size_t catalog_report_failed_checks(const struct catalog_report *r);

/*
 * For a pack taken over from a pack source: how many of its files differ
 * from its manifest.json, are listed there but missing, or are not listed
 * (0 for a virtio-win source).  aerofs-catalog reports them as failed
 * checks; a program that would publish the pack (aerofs-export, the
 * mount) must refuse it, since its manifest would contradict its files;
 * a mount read while it reloads gives such a mix.
 */
size_t catalog_report_stray_files(const struct catalog_report *r);

/* Number of INF/catalog checks run (for an imported pack: run again). */
size_t catalog_report_checks(const struct catalog_report *r);

/*
 * Volume label to use for images: the option, else (imported pack) the
 * manifest's image.label, else CATALOG_DEFAULT_LABEL.
 */
const char *catalog_report_label(const struct catalog_report *r);

void catalog_report_free(struct catalog_report *r);

#endif
