/*
 * termesc.h: text from a source made safe for a terminal.
 *
 * INF values (DriverVer, Provider, decorations) and catalog signer names
 * are attacker-controlled bytes.  Written raw to a terminal, ESC and the
 * other control characters are commands (ECMA-48: "ESC [ 8 m" hides the
 * lines that follow, CR overwrites one), so every human-readable output
 * passes them through here.  JSON output needs none of this: RFC 8259 §7
 * escapes them already (jsonout.h).
 *
 * Escaped: C0 controls but TAB (U+0000..U+001F), DEL, as \xNN; C1
 * controls (U+0080..U+009F, CSI is U+009B) as \u00NN; every byte of an
 * invalid UTF-8 sequence as \xNN.  Valid UTF-8 otherwise, and backslashes,
 * are kept as they are (hardware ids are full of them), so text without
 * control characters comes out byte for byte.  Pure functions, thread-safe.
 */
#ifndef AEROFS_CATALOG_UTIL_TERMESC_H
#define AEROFS_CATALOG_UTIL_TERMESC_H

#include <stdbool.h>

/* True if S (NULL is fine) has something termesc_dup() would escape. */
bool termesc_needed(const char *s);

/*
 * A copy of S (caller frees) with control characters escaped, or NULL
 * when out of memory.  S NULL gives NULL.
 */
char *termesc_dup(const char *s);

#endif
