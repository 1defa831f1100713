/*
 * manifest.h: manifest.json from plain structs.  Private to catalog/.
 *
 * The build collects what it learned in structs (select.h, inspect.h) and
 * this module alone turns them into the manifest's JSON text, one
 * function per section, in the key order documented in catalog.h.  The
 * text is jsonout_print()'s: 2-space indent, LF, integers exact, strings
 * escaped per RFC 8259.  Nothing here reads a source or the clock.
 * Thread-safe: no state.
 */
#ifndef AEROFS_CATALOG_STAGE_MANIFEST_H
#define AEROFS_CATALOG_STAGE_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "catalog/stage/inspect.h"
#include "catalog/stage/select.h"
#include "catalog/util/sbuf.h"

#define MANIFEST_SCHEMA_VERSION 1
#define MANIFEST_PACK_NAME "aero-win7-driver-pack"

/* One file of the pack, for "files". */
struct manifest_file {
	char *path;
	uint64_t size;
	unsigned char sha256[32];
};

/* Everything a fresh pack's manifest says; all borrowed. */
struct manifest {
	int64_t epoch;
	const char *epoch_source; /* "option", "SOURCE_DATE_EPOCH"... */
	const char *label;
	struct {
		bool image;		       /* "iso", else "directory" */
		const char *name;	       /* basename */
		const char *names;	       /* source_names() */
		const char *volume_label;      /* NULL: null */
		const char *derived_version;   /* NULL: null */
		uint64_t size;		       /* images only */
		const char *hash;	       /* hex SHA-256, NULL: null */
		const struct strlist *notices; /* sorted */
	} source;
	bool strict_optional, drop_pdb;
	const struct selection *sel;
	/* res[i][t]: inspection of sel->drv[i] for target t */
	const struct inspect_result (*res)[SELECT_NTARGETS];
	const struct manifest_file *files; /* sorted by path bytes */
	size_t nfiles;
};

/*
 * The manifest text (caller frees) and its length, or NULL when out of
 * memory.  If DIGEST_AT is not NULL, DIGEST_AT[i] is set to where the 64
 * hex digits of files[i].sha256 are in the text (for a pack that fills
 * them in later: pack_builder_add_blob_digests()).
 */
char *manifest_render(const struct manifest *m, size_t *len,
		      uint64_t *digest_at);

/*
 * The "inf" and "catalog" objects of one inspection (a new tree, caller
 * deletes), or NULL when out of memory.  Used to hold an imported pack's
 * manifest to the checks run again (import.c).
 */
cJSON *manifest_inf_json(const struct inspect_result *r);
cJSON *manifest_catalog_json(const struct inspect_result *r);

#endif
