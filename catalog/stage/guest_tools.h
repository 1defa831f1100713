/*
 * guest_tools.h: the "guest-tools" profile (profile.h), Aero's Guest Tools
 * media made from the same catalog as the driver pack.
 *
 * guest_tools_build() builds the driver pack (catalog_build(), same
 * source, options and checks) and derives this tree from it, so that the
 * driver files are the pack's, byte for byte, without being read again
 * (pack_builder_add_copy()):
 *
 *   setup.cmd  uninstall.cmd  verify.cmd      winscripts.h
 *   README.txt                                how to use the media (CRLF)
 *   THIRD_PARTY_NOTICES.md                    the pack's
 *   manifest.json                             below
 *   config/devices.cmd                        devices.h
 *   drivers/x86/<drv>/...  drivers/amd64/<drv>/...   the pack's win7/
 *   certs/                                    empty: virtio-win's drivers
 *                                             are production-signed
 *   licenses/virtio-win/...                   the pack's notices, and
 *   licenses/virtio-win/driver-pack-manifest.json   the pack's manifest
 *
 * manifest.json (2-space indent, LF, keys in this order): schema_version,
 * media ("aero-guest-tools"), generator, created_utc, epoch,
 * signing_policy ("production"; "test" once a test certificate is in
 * certs/), certs (names in certs/), source (the pack manifest's source
 * object), drivers [{name, origin, inf, driver_version, signer, paths}],
 * files.  "files" lists every file but manifest.json, sorted by path
 * bytes, one element per line, exactly
 *
 *     {"path": "drivers/x86/viostor/x.sys", "size": 1, "sha256": "<hex>"},
 *
 * (the last without the comma), and "signing_policy" is on a line of its
 * own: the scripts read both with cmd's for /f; JSON readers see JSON.
 * No other line opens with four spaces and '{' (the "drivers" elements
 * are indented two more), since the scripts take such a line for a file.
 *
 * The volume label of its images is the label= option, else
 * GUEST_TOOLS_LABEL.  Like the pack, the tree is a pure function of the
 * source and the options.
 */
#ifndef AEROFS_CATALOG_STAGE_GUEST_TOOLS_H
#define AEROFS_CATALOG_STAGE_GUEST_TOOLS_H

#include "catalog/pack/pack.h"
#include "catalog/stage/catalog.h"
#include "catalog/util/error.h"

#define GUEST_TOOLS_MEDIA "aero-guest-tools"
#define GUEST_TOOLS_LABEL "AERO_GUEST_TOOLS" /* 16: Joliet keeps 16 */

/*
 * As catalog_build() (profile_build_fn): returns 0 with the Guest Tools
 * pack in *OUT and, if REPORT is not NULL, the driver pack's report whose
 * JSON is this tree's manifest.json and whose label is this tree's; or
 * -errno with ERR (everything catalog_build() refuses, and devices.h's
 * errors).  Nothing is returned on failure.  OPTS->defer_hashes is
 * ignored: the media quotes the driver pack's digests, so it is hashed.
 */
int guest_tools_build(const char *source_path,
		      const struct catalog_options *opts, struct pack **out,
		      struct catalog_report **report, struct aero_error *err);

/*
 * The same tree from a driver pack already built from the same source
 * and options (BASE and its report BASE_REPORT, borrowed), without
 * building the pack again (profile_derive_fn).  Returns 0 with the pack
 * in *OUT, or -errno with ERR.
 */
int guest_tools_derive(const struct pack *base,
		       const struct catalog_report *base_report,
		       const struct catalog_options *opts, struct pack **out,
		       struct aero_error *err);

#endif
