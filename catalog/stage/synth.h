/*
 * synth.h: the text files the pack adds to the upstream drivers: README.txt,
 * THIRD_PARTY_NOTICES.md, install.cmd, enable-testsigning.cmd.  Private to
 * catalog/.
 *
 * Pure functions of what they are given: no clock, no host path, no
 * locale.  Everything is ASCII-safe except values copied from INFs
 * (provider, signer), which are UTF-8.  Line endings are CRLF: these files
 * are read on Windows 7, whose Notepad shows an LF-only file as one line
 * (the reference's README.txt had that bug, anchor §11), and cmd.exe
 * mis-parses labels in LF-only batch files.
 */
#ifndef AEROFS_CATALOG_STAGE_SYNTH_H
#define AEROFS_CATALOG_STAGE_SYNTH_H

#include <stddef.h>

#include "catalog/stage/select.h"

/* What README and the notices say about one included driver. */
struct synth_driver {
	const char *id;				  /* "netkvm" */
	const char *upstream;			  /* "NetKVM" */
	const char *source_path[SELECT_NTARGETS]; /* "NetKVM/w7/amd64" */
	const char *inf[SELECT_NTARGETS];	  /* "netkvm.inf" */
	const char *driver_ver[SELECT_NTARGETS];  /* "" if unknown */
	const char *provider[SELECT_NTARGETS];
	const char *signer[SELECT_NTARGETS]; /* NULL if unknown */
	const char *digest[SELECT_NTARGETS]; /* "sha1"... or NULL */
};

struct synth_info {
	const struct synth_driver *drivers;
	size_t ndrivers;
	const char *const *missing; /* optional drivers left out */
	size_t nmissing;
	const char *const *notices; /* files in licenses/virtio-win/ */
	size_t nnotices;
	const char *version;   /* derived virtio-win version or NULL */
	const char *generator; /* "aerofs 0.1.0" */
};

/*
 * Each returns a new string (caller frees) with its length in *LEN, or
 * NULL when out of memory.
 */
char *synth_readme(const struct synth_info *info, size_t *len);
char *synth_notices(const struct synth_info *info, size_t *len);
char *synth_install_cmd(size_t *len);
char *synth_testsigning_cmd(size_t *len);

#endif
