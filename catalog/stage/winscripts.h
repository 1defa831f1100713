/*
 * winscripts.h: the Windows batch scripts aerofs ships, as text.
 *
 * For the Guest Tools media: setup.cmd (stages the drivers, installs the
 * test certificates, pre-seeds virtio-blk as a boot driver), uninstall.cmd
 * and verify.cmd.  For the driver pack: install.cmd and
 * enable-testsigning.cmd.  Their sources are the .cmd files of catalog/stage/scripts/;
 * the build turns them into C strings (gen_winscripts.py), pasting the one
 * shared storage pre-seeding text (storage.cmdinc) into both setup.cmd and
 * install.cmd.  Exit codes and options: README.md, "Windows scripts".
 *
 * The scripts read the media's config\devices.cmd (hardware ids and
 * service names) and, for setup.cmd, manifest.json ("signing_policy" and
 * one file entry per line); see README.md for that contract.
 *
 * Each function returns a new CRLF, printable-ASCII string (caller frees)
 * and its length in *LEN, or NULL when out of memory.  Pure: the text is
 * the same on every call.  Thread-safe.
 */
#ifndef AEROFS_CATALOG_STAGE_WINSCRIPTS_H
#define AEROFS_CATALOG_STAGE_WINSCRIPTS_H

#include <stddef.h>

char *winscript_setup_cmd(size_t *len);	      /* Guest Tools setup.cmd */
char *winscript_uninstall_cmd(size_t *len);   /* Guest Tools uninstall.cmd */
char *winscript_verify_cmd(size_t *len);      /* Guest Tools verify.cmd */
char *winscript_install_cmd(size_t *len);     /* the pack's install.cmd */
char *winscript_testsigning_cmd(size_t *len); /* enable-testsigning.cmd */

#endif
