/*
 * profile.h: the trees aerofs can make of one source.
 *
 * A *profile* turns the catalog of a source into a pack tree: the Aero
 * Win7 driver pack (catalog.h) and Aero's Guest Tools (guest_tools.h).  Every profile is served by every image format of
 * export/image/image.h: the mount's .aerofs/<image_name>.<ext> and
 * `aerofs-export --profile NAME` are the (profile, format) pairs of the
 * two tables.  Adding a profile: one module with a build function, one row
 * in profile.c's table.
 *
 * The table is constant; every function here is thread-safe.
 */
#ifndef AEROFS_CATALOG_STAGE_PROFILE_H
#define AEROFS_CATALOG_STAGE_PROFILE_H

#include <stddef.h>

#include "catalog/pack/pack.h"
#include "catalog/stage/catalog.h"
#include "catalog/util/error.h"

/*
 * Builds the profile's pack of SOURCE_PATH, as catalog_build() does (same
 * arguments, returns and report).
 */
typedef int profile_build_fn(const char *source_path,
			     const struct catalog_options *opts,
			     struct pack **out, struct catalog_report **report,
			     struct aero_error *err);

/*
 * Makes the profile's pack from the first profile's (the driver pack),
 * already built from the same source and options with report
 * BASE_REPORT, instead of building it again; as profile_build_fn but
 * without a report of its own.
 */
typedef int profile_derive_fn(const struct pack *base,
			      const struct catalog_report *base_report,
			      const struct catalog_options *opts,
			      struct pack **out, struct aero_error *err);

struct profile {
	const char *name;	/* "driver-pack": --profile, -o profile= */
	const char *image_name; /* "aero-win7-drivers": images' base name */
	const char *what;	/* one line for --help */
	profile_build_fn *build;
	profile_derive_fn *derive; /* NULL: the profile is the base */
};

/* The profiles, in table order (the first is the default); *N their
 * number. */
const struct profile *profiles(size_t *n);

/* The profile named NAME, or NULL. */
const struct profile *profile_find(const char *name);

/* The default profile (the first row). */
const struct profile *profile_default(void);

#endif
