/*
 * utf.h: the few Unicode conversions the parsers and writers share (INF,
 * CAT, source names, pack names, JSON output, Joliet).
 *
 * Converts UTF-16 (either byte order) and Latin-1 to UTF-8 and repairs
 * UTF-8.  Never fails on bad input: an unpaired surrogate or an invalid
 * UTF-8 sequence becomes U+FFFD, and U+0000 becomes U+FFFD too so that the
 * result is always a usable C string.  Does no allocation: the caller
 * sizes the output with the *_max() bounds below.
 */
#ifndef AEROFS_CATALOG_UTIL_UTF_H
#define AEROFS_CATALOG_UTIL_UTF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UTF_REPLACEMENT 0xfffdu

/* Writes code point CP as UTF-8 at OUT; returns the byte count (1..4). */
static inline size_t utf8_put(char *out, uint32_t cp)
{
	unsigned char *o = (unsigned char *)out;

	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = UTF_REPLACEMENT;
	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xc0 | (cp >> 6));
		o[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xe0 | (cp >> 12));
		o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (unsigned char)(0xf0 | (cp >> 18));
	o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Decodes one UTF-8 sequence at IN (AVAIL > 0 bytes).  Returns its length
 * and the code point in *CP, or 0 if the sequence is invalid (overlong,
 * surrogate, beyond U+10FFFF or truncated) per RFC 3629 section 4.
 */
static inline size_t utf8_get(const unsigned char *in, size_t avail,
			      uint32_t *cp)
{
	uint32_t c = in[0], min;
	size_t n;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (avail < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((in[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (in[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Output bound for utf16_to_utf8(): 3 bytes per unit, plus the NUL. */
static inline size_t utf16_to_utf8_max(size_t units)
{
	return units * 3 + 1;
}

/*
 * Converts UNITS code units of UTF-16 at IN (big-endian if BE) to
 * NUL-terminated UTF-8 at OUT, which holds utf16_to_utf8_max(UNITS) bytes.
 * Stops at a U+0000 unit when STOP_AT_NUL.  Returns the length written,
 * without the terminator.
 */
static inline size_t utf16_to_utf8(char *out, const unsigned char *in,
				   size_t units, bool be, bool stop_at_nul)
{
	size_t o = 0;

	for (size_t i = 0; i < units; i++) {
		const unsigned char *u = in + 2 * i;
		uint32_t c = be ? (uint32_t)(u[0] << 8 | u[1]) :
				  (uint32_t)(u[1] << 8 | u[0]);

		if (c == 0 && stop_at_nul)
			break;
		if (c >= 0xd800 && c <= 0xdbff && i + 1 < units) {
			const unsigned char *v = u + 2;
			uint32_t d = be ? (uint32_t)(v[0] << 8 | v[1]) :
					  (uint32_t)(v[1] << 8 | v[0]);

			if (d >= 0xdc00 && d <= 0xdfff) {
				c = 0x10000 + ((c - 0xd800) << 10) +
				    (d - 0xdc00);
				i++;
			}
		}
		/* utf8_put() turns a lone surrogate into U+FFFD. */
		o += utf8_put(out + o, c);
	}
	out[o] = '\0';
	return o;
}

#endif
