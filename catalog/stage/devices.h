/*
 * devices.h: config\devices.cmd, the batch file that tells the Windows
 * scripts of the driver pack and of Guest Tools which service and which
 * hardware ids belong to each Aero virtio device.  Private to
 * catalog/stage.
 *
 * The text is derived, never written by hand: the devices and their ids
 * come from the virtio core's Aero table (virtio_ids.h), the service
 * names, the storage driver's binary and the extra storage ids from the
 * INFs that are packaged.  For each group (virtio-blk, virtio-net,
 * virtio-input, virtio-snd, in that order):
 *
 *   set "AERO_VIRTIO_<G>_SERVICE=<name>"   first AddService name of the
 *                                          install section of the first
 *                                          model that binds the device
 *   set "AERO_VIRTIO_BLK_SYS=<file>"       blk only: that service's
 *                                          ServiceBinary, basename
 *   set AERO_VIRTIO_<G>_HWIDS="id" "id"... the ids the table's devices
 *                                          present (VEN&DEV&SUBSYS&REV,
 *                                          VEN&DEV&SUBSYS, VEN&DEV&REV,
 *                                          VEN&DEV; table order), then,
 *                                          blk only, every other
 *                                          virtio-blk id the INF binds
 *                                          (QEMU's transitional DEV_1001,
 *                                          its subsystem ids...), in INF
 *                                          order; deduplicated ignoring
 *                                          case, uppercase as Windows
 *                                          writes them
 *
 * A group whose driver is not packaged gets empty SERVICE (and SYS) and
 * HWIDS lines; so does one whose INFs bind none of its devices or name
 * no usable service or binary (the INF checks of inspect.h report that
 * as a failed check).  CRLF, ASCII, one "@rem" header line naming the
 * generator.
 *
 * Thread-safe: no state.
 */
#ifndef AEROFS_CATALOG_STAGE_DEVICES_H
#define AEROFS_CATALOG_STAGE_DEVICES_H

#include <stddef.h>

#include "catalog/util/error.h"

/* One packaged INF: its bytes and where it is. */
struct devices_inf {
	const char *driver; /* Aero driver id: "viostor" */
	const char *arch;   /* "x86" or "amd64" */
	const char *name;   /* messages: "win7/x86/viostor/viostor.inf" */
	const void *data;   /* borrowed */
	size_t len;
};

/*
 * Renders devices.cmd from the N packaged INFs at INFS (every INF of every
 * included driver, both architectures).  GENERATOR ("aerofs 0.1.0") goes
 * into the header line.  Returns 0 with the text in *OUT (caller frees)
 * and its length in *LEN, or -errno with ERR: -EINVAL when an INF does not
 * parse, when a driver is usable for one architecture only, or when the
 * x86 and amd64 INFs disagree on the service, the binary or the ids;
 * -ENOMEM.
 */
int devices_cmd_render(const struct devices_inf *infs, size_t n,
		       const char *generator, char **out, size_t *len,
		       struct aero_error *err);

#endif
