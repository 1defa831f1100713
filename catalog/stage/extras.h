/*
 * extras.h: extra driver packages (-o extra-drivers=DIR), the way to ship
 * Aero's own test-signed drivers (its GPU driver...) beside virtio-win's.
 * Private to catalog/stage.
 *
 * DIR is laid out <driver>/{x86,amd64}/... or {x86,amd64}/<driver>/...;
 * every <driver> needs both architectures.  Each folder is checked like
 * an upstream one (inspect.h), but here a failure is an error naming the
 * file, not a warning: the INF parses, every file it references is in
 * the folder, its [Manufacturer] decoration serves Windows 7 on that
 * architecture, and the catalog it names is there.  (Binding a virtio
 * device is not asked of them: they are not virtio drivers.)  A private
 * key anywhere under DIR (a PEM "PRIVATE KEY" block, a .pfx, .p12, .pvk
 * or .key file) refuses the whole folder: media must never carry one.
 *
 * Driver names are 1..32 of [A-Za-z0-9_.-] and may not be one of the
 * pack's own (viostor, netkvm, vioinput, viosnd), ignoring case.
 *
 * One owner, not thread-safe; the source nodes live as the extras.
 */
#ifndef AEROFS_CATALOG_STAGE_EXTRAS_H
#define AEROFS_CATALOG_STAGE_EXTRAS_H

#include <stddef.h>

#include "catalog/source/source.h"
#include "catalog/stage/select.h"
#include "catalog/util/error.h"

struct extras;

/*
 * Opens and checks DIR.  Returns 0 with *OUT, or -errno with ERR naming
 * the file at fault (-EINVAL for every refusal above, -ENOENT for a
 * folder that cannot be read, -ENOMEM).  Nothing is returned on failure.
 */
int extras_open(const char *dir, struct extras **out, struct aero_error *err);

/* The source the folders are in (a directory source). */
struct source *extras_source(const struct extras *x);

/* Number of drivers; their names in byte order. */
size_t extras_count(const struct extras *x);
const char *extras_name(const struct extras *x, size_t i);

/* Driver I's folder for target T. */
const struct source_node *extras_dir(const struct extras *x, size_t i,
				     enum select_target t);

void extras_free(struct extras *x);

#endif
