/*
 * report.h: what one build found, as plain data, for the summary that
 * aerofs-catalog prints (catalog.h has the counts and the manifest text;
 * this is the rest).  Private to catalog/.
 *
 * For a fresh pack it is what the manifest says.  For an imported pack the
 * inspections are the ones run again on its files; the facts of the
 * original source (name, version, epoch source, where each driver came
 * from, why one is missing), which are gone, are the manifest's; the
 * warnings are the manifest's that are not failed checks, then the checks
 * run again, then every claim of the manifest that did not hold.
 *
 * Every string is owned by the report (static ones are marked) and comes
 * from the source or the manifest: escape it before printing it for a
 * human (termesc.h).  Read-only once catalog_build() returned; lives as
 * long as the catalog_report.
 */
#ifndef AEROFS_CATALOG_STAGE_REPORT_H
#define AEROFS_CATALOG_STAGE_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog/stage/catalog.h"
#include "catalog/stage/inspect.h"
#include "catalog/stage/select.h"
#include "catalog/util/sbuf.h"

struct report_target {
	bool present;		   /* in the pack */
	char *source_path;	   /* "NetKVM/w7/amd64" */
	struct inspect_result res; /* when present */
};

struct report_driver {
	const char *name; /* static: "netkvm" */
	bool required;
	const char *status;	  /* "included", "missing", "partial" */
	const char *error_target; /* static: "win7-amd64"; NULL: no error */
	char *error;		  /* why it is missing there */
	struct report_target t[SELECT_NTARGETS];
};

struct report {
	struct {
		char *name;	    /* basename */
		const char *kind;   /* static: "iso", "directory" */
		char *names;	    /* "rockridge"...; NULL: unknown */
		char *volume_label; /* NULL: none */
		char *version;	    /* NULL: unknown */
	} source;
	int64_t epoch;
	char *epoch_source;			   /* NULL: unknown */
	struct strlist drivers;			   /* included, sorted */
	struct report_driver drv[SELECT_NDRIVERS]; /* requested order */
	size_t ndrv;
	struct strlist warnings;
};

/* The report of R (never NULL for a report catalog_build() returned). */
const struct report *catalog_report_details(const struct catalog_report *r);

/* Copies S (NULL stays NULL) into *DST, freeing what was there. */
int report_set(char **dst, const char *s);

/* Frees what R owns and zeroes it. */
void report_free(struct report *r);

#endif
