/*
 * winscripts.h: the Windows batch scripts of the Guest Tools media
 * (setup.cmd, uninstall.cmd, verify.cmd).  Private to catalog/stage.
 *
 * Static texts: they read config\devices.cmd and manifest.json at run
 * time, so they do not depend on the build.  CRLF, ASCII.
 *
 * Each returns a new string (caller frees) with its length in *LEN, or
 * NULL when out of memory.  Thread-safe: no state.
 */
#ifndef AEROFS_CATALOG_STAGE_WINSCRIPTS_H
#define AEROFS_CATALOG_STAGE_WINSCRIPTS_H

#include <stddef.h>

char *winscript_setup_cmd(size_t *len);
char *winscript_uninstall_cmd(size_t *len);
char *winscript_verify_cmd(size_t *len);

#endif
