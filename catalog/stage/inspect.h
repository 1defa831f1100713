/*
 * inspect.h: reading source files and checking one driver folder's INF and
 * catalog, for the manifest and for aerofs-catalog --check.  Private to
 * catalog/.
 *
 * The checks (each {name, ok, detail} in the manifest):
 *   inf_parse           the INF parses (inf.h)
 *   referenced_files    every file the INF references is in the folder
 *   arch_decoration     [Manufacturer] is decorated for the folder's arch
 *                       (NTamd64; for x86 NTx86, NT or undecorated) with
 *                       a version, product type, suite mask and build
 *                       that a Windows 7 SP1 client satisfies
 *   binds_device        a model id binds to one of the emulator's devices
 *                       meant for this driver (virtio_aero_devices())
 *   catalog_present     the INF names a catalog and it is in the folder
 *   catalog_parse       the catalog decodes (cat.h)
 *   catalog_covers_inf  the catalog has the INF's hash
 *   catalog_win7_digest the catalog uses SHA-1, which Windows 7 verifies
 *                       without KB3033929
 * A failed check is a warning, never an error: upstream ships what it
 * ships, and the pack is still built.
 */
#ifndef AEROFS_CATALOG_STAGE_INSPECT_H
#define AEROFS_CATALOG_STAGE_INSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog/util/error.h"
#include "catalog/util/sbuf.h"
#include "catalog/stage/select.h"
#include "catalog/source/source.h"

/*
 * Reads file N of S into a new buffer (caller frees) of *LEN bytes.
 * Returns 0, -EFBIG when the file is larger than MAX, or -errno.
 */
int inspect_read(const struct source *s, const struct source_node *n,
		 size_t max, unsigned char **buf, size_t *len,
		 struct aero_error *err);

/* Formats T as "2019-06-08T02:48:04Z" (proleptic Gregorian, UTC). */
void inspect_utc(int64_t t, char *buf, size_t size);

/* One check: {name, ok, detail} in the manifest. */
struct inspect_check {
	const char *name; /* static: "inf_parse"... */
	bool ok;
	char *detail; /* owned */
};

/* A hardware id of the INF that binds one of the emulator's devices. */
struct inspect_bind {
	char *hardware_id;  /* owned */
	const char *device; /* static: virtio_aero_devices() */
};

/*
 * What one driver folder's INF and catalog say, as plain data: the
 * manifest's "inf" and "catalog" objects (manifest.h renders them, in
 * the key order of the fields below).  Strings are owned; a NULL one is
 * JSON null.  Free with inspect_result_free().
 */
struct inspect_result {
	/* "inf" */
	char *file;	      /* the INF's name, "" if the folder has none */
	bool parsed;	      /* the INF parsed: the fields up to binds */
	const char *encoding; /* static, inf_encoding_name() */
	bool crlf;
	char *class_name, *class_guid, *provider_name;
	char *driver_date, *driver_version;
	char *catalog_file; /* the CatalogFile for this arch */
	struct strlist services;
	struct strlist referenced_files, files_from_windows;
	struct strlist decorations;
	struct strlist hardware_ids;
	struct inspect_bind *binds;
	size_t nbinds;
	struct strlist other_inf_files;
	struct inspect_check *checks;
	size_t nchecks;
	size_t nfailed;

	/* "catalog": JSON null unless has_catalog (it decoded) */
	bool has_catalog;
	char *cat_file;
	const char *digest; /* static, wincat_digest_name() */
	char *signer;
	bool has_time; /* signing_time; also for the epoch */
	int64_t time;
	const char *time_source; /* static, wincat_time_source_name() */
	char *os;
	size_t members;
	bool covers_inf;

	/* for README and the notices, cut to size as they print them */
	char inf_file[128];  /* "" if none */
	char driver_ver[96]; /* "06/07/2019,61.77.104.17200" or "" */
	char provider[128];
};

/*
 * Inspects the driver folder ARCH_DIR (DEF, target T) of S.  Failed checks
 * are appended to WARNINGS as "<id> <target>: <check>: <detail>".
 * Returns 0 (with RES filled; free with inspect_result_free(), also after
 * a failure), or -errno only for a source that cannot be read or for
 * memory exhaustion.
 */
int inspect_driver(const struct source *s, const struct select_driver_def *def,
		   enum select_target t, const struct source_node *arch_dir,
		   struct strlist *warnings, struct inspect_result *res,
		   struct aero_error *err);

void inspect_result_free(struct inspect_result *res);

#endif
