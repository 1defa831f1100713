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

#include <cjson/cJSON.h>

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

struct inspect_result {
	cJSON *inf;	/* the "inf" object, owned */
	cJSON *catalog; /* the "catalog" object or JSON null, owned */
	size_t nchecks;
	size_t nfailed;
	char inf_file[128];  /* for README and notices; "" if none */
	char driver_ver[96]; /* "06/07/2019,61.77.104.17200" or "" */
	char provider[128];
	bool has_time; /* catalog signing time, for the epoch */
	int64_t time;
};

/*
 * Inspects the driver folder ARCH_DIR (DEF, target T) of S.  Failed checks
 * are appended to WARNINGS as "<id> <target>: <check>: <detail>".
 * Returns 0 (with RES filled; free with inspect_result_free()), or -errno
 * only for a source that cannot be read or for memory exhaustion.
 */
int inspect_driver(const struct source *s, const struct select_driver_def *def,
		   enum select_target t, const struct source_node *arch_dir,
		   struct strlist *warnings, struct inspect_result *res,
		   struct aero_error *err);

void inspect_result_free(struct inspect_result *res);

#endif
