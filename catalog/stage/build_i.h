/*
 * build_i.h: the state of one catalog_build() shared by catalog.c (fresh
 * packs) and import.c (a pack as the source).  Private to catalog/stage.
 * Single-threaded: one build, one caller.
 */
#ifndef AEROFS_CATALOG_STAGE_BUILD_I_H
#define AEROFS_CATALOG_STAGE_BUILD_I_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "catalog/pack/pack.h"
#include "catalog/source/source.h"
#include "catalog/stage/manifest.h"
#include "catalog/stage/report.h"
#include "catalog/stage/synth.h"
#include "catalog/stage/catalog.h"
#include "catalog/util/error.h"
#include "catalog/util/log.h"

struct catalog_report {
	char *json;
	size_t json_len;
	size_t checks; /* INF/catalog checks run */
	size_t warnings;
	size_t failed;
	size_t stray_files; /* imported pack: files unlike its manifest */
	char label[17];
	struct report data; /* report.h */
};

struct catalog_build {
	const struct catalog_options *opts;
	struct source *src;
	struct pack_builder *b;
	int image_src;		     /* pack source index of the image, or -1 */
	struct extras *extras;	     /* extra-drivers=, or NULL (extras.h) */
	struct manifest_file *files; /* every file added, in order */
	size_t nfiles, capfiles;
	struct aero_error *err;
};

/* Sets ERR to "out of memory"; returns -ENOMEM. */
int catalog_oom(struct aero_error *err);

/*
 * Each adds to CB->b and notes the file in CB->files; returns 0 or -errno
 * with ERR.  A source file is added by extent (never copied); DATA of a
 * blob is freed here, and NULL DATA is -ENOMEM.  catalog_add_tree() adds
 * everything under DIR at PREFIX ("" for the root) but OS junk and, at the
 * root, .aerofs; a name Windows cannot store is an error.
 */
int catalog_add_source_file(struct catalog_build *cb,
			    const struct source_node *n, const char *path);
int catalog_add_blob(struct catalog_build *cb, const char *path, char *data,
		     size_t len);
int catalog_add_tree(struct catalog_build *cb, const struct source_node *dir,
		     const char *prefix, bool drop_pdb, unsigned depth);

/*
 * config/devices.cmd (devices.h) of the drivers whose folders are
 * DIR[i][target] (NULL: not packaged), ID[i] their driver ids, N of them:
 * every INF at the top of each folder.  Returns 0 with the text in *TEXT
 * (caller frees) and *LEN, or -errno with CB->err.
 */
int catalog_devices_cmd(struct catalog_build *cb,
			const struct source_node *(*dir)[SELECT_NTARGETS],
			const char *const *id, size_t n, char **text,
			size_t *len);

/* Logs FMT with MSG (from the source) escaped for a terminal. */
void catalog_log_quoted(enum log_level level, const char *fmt, const char *msg);

void catalog_set_report(struct catalog_report *r, const char *label);

/* What README and the notices say of target T of a driver: its source
 * folder and what inspecting it found (pointers borrowed). */
void catalog_synth_target(struct synth_driver *d, size_t t,
			  const char *source_path,
			  const struct inspect_result *res);

/* The string KEY of object O, or NULL. */
const char *catalog_json_str(const cJSON *o, const char *key);

/*
 * Builds CB's pack from a source that is a pack: MAN is its parsed
 * manifest.json, TEXT/LEN its bytes (served as they are).  See import.c.
 */
int catalog_import(struct catalog_build *cb, const cJSON *man,
		   const unsigned char *text, size_t len,
		   struct catalog_report *rep);

#endif
