/*
 * select.h: which upstream folders of a virtio-win source become which
 * folders of the Aero Win7 driver pack.  Private to catalog/.
 *
 * The rules (after the reference make-driver-pack.ps1, with its gaps
 * fixed): drivers viostor <- viostor and netkvm <- NetKVM are required,
 * viosnd <- viosnd and vioinput <- vioinput are optional; under
 * <Upstream>/ the OS folder is the first of w7.1, w7_1, w7, win7 that has
 * the architecture folder (x86 or i386; amd64 or x64), every level matched
 * ignoring case.  An architecture folder without an .inf does not count.
 * An optional driver found for one architecture only is dropped from both.
 *
 * Also here, because they are rules rather than mechanics: which root
 * files are license notices, how a version is read from a volume label,
 * and the parsing of the drivers= list.  Reading files, inspecting INFs
 * and building the pack are elsewhere (inspect.h, catalog.c).
 */
#ifndef AEROFS_CATALOG_STAGE_SELECT_H
#define AEROFS_CATALOG_STAGE_SELECT_H

#include <stdbool.h>
#include <stddef.h>

#include "catalog/util/error.h"
#include "catalog/util/sbuf.h"
#include "catalog/source/source.h"

enum select_target {
	SELECT_X86,
	SELECT_AMD64,
	SELECT_NTARGETS,
};

/* "win7-x86", "win7-amd64". */
const char *select_target_name(enum select_target t);
/* "x86", "amd64": the pack folder and the INF decoration's arch. */
const char *select_target_arch(enum select_target t);

struct select_driver_def {
	const char *id;	      /* Aero id and pack folder: "netkvm" */
	const char *upstream; /* upstream folder: "NetKVM" */
	bool required;
};

#define SELECT_NDRIVERS 4

/* The four drivers in the reference order (viostor, netkvm, viosnd, vioinput).
 */
const struct select_driver_def *select_driver_defs(size_t *n);
const struct select_driver_def *select_driver_def(const char *id);

/*
 * Parses a drivers= list: separated by '+' or ',', blanks trimmed,
 * lowercased, duplicates dropped, order kept.  NULL means all four.  Writes the
 * definitions into DEFS (SELECT_NDRIVERS entries) and their number into
 * *N.  Returns 0, or -EINVAL with a message naming the unknown ids, the
 * empty list or the required ids that are missing.
 */
int select_parse_drivers(const char *list,
			 const struct select_driver_def **defs, size_t *n,
			 struct aero_error *err);
/* The same without requiring viostor and netkvm: part of a list. */
int select_parse_driver_ids(const char *list,
			    const struct select_driver_def **defs, size_t *n,
			    struct aero_error *err);

/* Where one driver was found (or not) for one target. */
struct select_found {
	bool present;
	const struct source_node *os_node; /* borrowed from the source */
	const struct source_node *arch_node;
	char source_path[256]; /* "NetKVM/w7/amd64", real case */
	char error[384];       /* why not present */
};

enum select_status {
	SELECT_INCLUDED,
	SELECT_MISSING,
	SELECT_PARTIAL, /* optional, one target only, strict-optional */
};

const char *select_status_name(enum select_status s);

struct select_driver {
	const struct select_driver_def *def;
	struct select_found t[SELECT_NTARGETS];
	enum select_status status;
	/* Set when a one-target optional driver was dropped from the other. */
	bool dropped_partial;
};

struct selection {
	struct select_driver drv[SELECT_NDRIVERS];
	size_t ndrv;
	struct strlist warnings;
};

/*
 * Applies the rules to the tree under ROOT for the drivers DEFS[0..N).
 * Fills SEL (free with select_free() in every case).  Returns 0, or
 * -ENOENT with the message for a required driver missing anywhere or, with
 * STRICT_OPTIONAL, for any optional driver missing, or -ENOMEM.
 */
int select_run(const struct source_node *root,
	       const struct select_driver_def *const *defs, size_t n,
	       bool strict_optional, struct selection *sel,
	       struct aero_error *err);

void select_free(struct selection *sel);

/* True if the driver is in the pack for both targets. */
static inline bool select_included(const struct select_driver *d)
{
	return d->status == SELECT_INCLUDED;
}

/*
 * True for a root file name that is an upstream license or notice:
 * LICENSE*, LICENCE*, COPYING*, COPYRIGHT*, NOTICE*, EULA*, AUTHORS*,
 * CREDITS*, README*, or any name containing "license"/"licence", all
 * ignoring case.
 */
bool select_is_notice_name(const char *name);

/*
 * The version in a name such as "virtio-win-0.1.285" or
 * "virtio-win-0.1.285.iso" (ignoring case; ".iso" stripped): writes
 * "0.1.285" into OUT and returns true, or false if NAME has no
 * "virtio-win-" followed by something.
 */
bool select_version_from_name(const char *name, char *out, size_t size);

/* True if the arch folder holds a regular *.inf (ignoring case). */
bool select_has_inf(const struct source_node *dir);

/* OS junk never taken over from a directory: .DS_Store, Thumbs.db... */
bool select_is_junk_name(const char *name);

/*
 * Why Windows could not store NAME, or NULL if it can: a reserved device
 * name (CON, PRN, AUX, NUL, COM1-9, LPT1-9, with or without extension), a
 * character out of <>:"\|?*, a control character (1 to 31) or a trailing
 * dot or space.  The pack ends up
 * on a Windows guest, so such a name in a driver folder is an error rather
 * than a file that silently cannot be unpacked.
 */
const char *select_windows_name_problem(const char *name);

#endif
