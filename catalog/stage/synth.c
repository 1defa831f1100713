/*
 * synth.c: README.txt, THIRD_PARTY_NOTICES.md and the two batch scripts of
 * the pack (synth.h).
 *
 * The scripts fix what the reference's did wrong (anchor §5, §11); their
 * text is in catalog/stage/scripts/ and comes through winscripts.h:
 * install.cmd checks for administrator rights, finds the 64-bit pnputil
 * from a 32-bit cmd.exe (WOW64: Sysnative), checks every pnputil exit
 * code as text, pre-seeds virtio-blk as a boot driver, prints a summary,
 * exits non-zero on failure and pauses only when interactive;
 * enable-testsigning.cmd asks before rebooting and explains that 32-bit
 * Windows 7 does not need test signing.
 */
#include "catalog/stage/synth.h"

#include <stdlib.h>
#include <string.h>

#include "catalog/stage/winscripts.h"
#include "catalog/util/sbuf.h"

/* Text written with '\n' becomes CRLF text. */
static char *synth_crlf(struct sbuf *sb, size_t *len)
{
	struct sbuf out = SBUF_INIT;
	char *text;

	text = sbuf_finish(sb, NULL);
	if (!text)
		return NULL;
	for (const char *p = text; *p; p++) {
		if (*p == '\n')
			sbuf_putc(&out, '\r');
		sbuf_putc(&out, *p);
	}
	free(text);
	return sbuf_finish(&out, len);
}

static const char *synth_or(const char *s, const char *dflt)
{
	return s && *s ? s : dflt;
}

/* "61.77.104.17200 (06/07/2019)" from "06/07/2019,61.77.104.17200". */
static void synth_ver(struct sbuf *sb, const char *dv)
{
	const char *comma;

	if (!dv || !*dv) {
		sbuf_puts(sb, "unknown");
		return;
	}
	comma = strchr(dv, ',');
	if (!comma) {
		sbuf_puts(sb, dv);
		return;
	}
	sbuf_printf(sb, "%s (%.*s)", comma + 1, (int)(comma - dv), dv);
}

/*
 * A Markdown table cell from an upstream string (provider, signer): '|'
 * escaped, control characters as blanks, so that a hostile INF can break
 * neither the table nor the CRLF line endings.
 */
static void synth_cell(struct sbuf *sb, const char *s, const char *dflt)
{
	s = synth_or(s, dflt);
	for (; *s; s++) {
		if (*s == '|')
			sbuf_puts(sb, "\\|");
		else if ((unsigned char)*s < 0x20 || *s == 0x7f)
			sbuf_putc(sb, ' ');
		else
			sbuf_putc(sb, *s);
	}
}

/* clang-format off */
/* The templates are laid out as the text they produce. */

char *synth_readme(const struct synth_info *info, size_t *len)
{
	struct sbuf sb = SBUF_INIT;

	sbuf_puts(&sb,
"# Aero Windows 7 virtio driver pack\n"
"\n"
"This pack holds the Windows 7 drivers that the Aero emulator's virtio\n"
"devices need, taken unchanged from the upstream virtio-win distribution\n"
"(https://github.com/virtio-win/kvm-guest-drivers-windows).  Nothing in\n"
"the driver folders was modified, so the upstream signatures stay valid.\n"
"\n");
	if (info->version) {
		sbuf_puts(&sb, "Upstream virtio-win version: ");
		synth_cell(&sb, info->version, "unknown");
		sbuf_puts(&sb, "\n\n");
	}
	sbuf_puts(&sb,
"## Contents\n"
"\n"
"- `win7\\x86\\<driver>\\`, `win7\\amd64\\<driver>\\`: the drivers for\n"
"  32-bit and 64-bit Windows 7 (each folder holds the INF, the catalog\n"
"  and the driver binaries).\n"
"- `install.cmd`: installs every driver for the running architecture.\n"
"- `enable-testsigning.cmd`: turns on test signing (64-bit only, see\n"
"  below).\n"
"- `manifest.json`: what was selected from where, the INF and catalog\n"
"  checks, and the size and SHA-256 of every file.\n"
"- `THIRD_PARTY_NOTICES.md` and `licenses\\virtio-win\\`: upstream\n"
"  licenses.\n"
"\n"
"## Drivers included\n"
"\n"
"| Driver | Upstream folder | x86 version | amd64 version | Provider |\n"
"|---|---|---|---|---|\n");
	for (size_t i = 0; i < info->ndrivers; i++) {
		const struct synth_driver *d = &info->drivers[i];

		sbuf_printf(&sb, "| %s | %s | ", d->id, d->upstream);
		synth_ver(&sb, d->driver_ver[SELECT_X86]);
		sbuf_puts(&sb, " | ");
		synth_ver(&sb, d->driver_ver[SELECT_AMD64]);
		sbuf_puts(&sb, " | ");
		synth_cell(&sb, d->provider[SELECT_AMD64], "unknown");
		sbuf_puts(&sb, " |\n");
	}
	if (info->nmissing) {
		sbuf_puts(&sb,
"\n"
"Not included (optional, missing from the upstream source for at least\n"
"one architecture): ");
		for (size_t i = 0; i < info->nmissing; i++)
			sbuf_printf(&sb, "%s%s", i ? ", " : "",
				    info->missing[i]);
		sbuf_puts(&sb, ".\n");
	}
	sbuf_puts(&sb,
"\n"
"## Installing\n"
"\n"
"1. Attach this pack to the Windows 7 guest (as a CD image or a folder).\n"
"2. Right-click `install.cmd` and choose \"Run as administrator\".  It\n"
"   detects 32-bit or 64-bit Windows, runs `pnputil -i -a` for every INF\n"
"   in `win7\\<arch>\\`, prints a summary and exits with code 1 if any\n"
"   driver failed.  Add `/quiet` to skip the final pause (for scripts).\n"
"   It also pre-seeds the storage driver as a boot driver (service set\n"
"   to boot start, CriticalDeviceDatabase entries for the virtio-blk ids\n"
"   of `config\\devices.cmd`), so that the system disk can then be moved\n"
"   to virtio-blk without a 0x7B stop at boot; `/skipstorage` leaves\n"
"   that out.\n"
"3. Windows may ask whether to trust the publisher: answer Install.\n"
"\n"
"To install a single driver, use Device Manager: Update Driver Software,\n"
"Browse my computer, and point it at `win7\\x86\\<driver>` or\n"
"`win7\\amd64\\<driver>`.  For the storage driver (viostor) during Windows\n"
"Setup, click Load Driver and browse to the same folder.\n"
"\n"
"## Driver signing on Windows 7\n"
"\n"
"- 64-bit Windows 7 loads only kernel drivers whose signature chains to\n"
"  a trusted root.  If Windows reports that it cannot verify the digital\n"
"  signature (Code 52), the driver is test-signed or its certificate is\n"
"  not trusted: run `enable-testsigning.cmd` as administrator and\n"
"  restart.\n"
"- 32-bit Windows 7 does not enforce driver signatures: test-signed or\n"
"  unsigned drivers install after a warning, and test signing is not\n"
"  needed.\n"
"- Catalogs signed with SHA-256 only are verified by Windows 7 only with\n"
"  update KB3033929 (SHA-2 code signing support) installed.  The digest\n"
"  of each catalog is listed below and in `manifest.json`.\n"
"\n"
"| Driver | Arch | INF | Catalog digest | Signer |\n"
"|---|---|---|---|---|\n");
	for (size_t i = 0; i < info->ndrivers; i++) {
		const struct synth_driver *d = &info->drivers[i];

		for (size_t t = 0; t < SELECT_NTARGETS; t++) {
			sbuf_printf(&sb, "| %s | %s | ", d->id,
				    select_target_arch((enum select_target)t));
			synth_cell(&sb, d->inf[t], "none");
			sbuf_puts(&sb, " | ");
			synth_cell(&sb, d->digest[t], "none");
			sbuf_puts(&sb, " | ");
			synth_cell(&sb, d->signer[t], "unknown");
			sbuf_puts(&sb, " |\n");
		}
	}
	sbuf_printf(&sb,
"\n"
"## Licenses\n"
"\n"
"The drivers are third-party software; see `THIRD_PARTY_NOTICES.md` and\n"
"`licenses\\virtio-win\\`.\n"
"\n"
"Generated by %s from the virtio-win source; see `manifest.json`.\n",
		    info->generator);
	return synth_crlf(&sb, len);
}

char *synth_notices(const struct synth_info *info, size_t *len)
{
	struct sbuf sb = SBUF_INIT;

	sbuf_puts(&sb,
"# Third-party notices\n"
"\n"
"This driver pack redistributes, unmodified, the following Windows 7\n"
"drivers from the virtio-win project\n"
"(https://github.com/virtio-win/kvm-guest-drivers-windows,\n"
"https://github.com/virtio-win/virtio-win-pkg-scripts)");
	if (info->version) {
		sbuf_puts(&sb, ", version ");
		synth_cell(&sb, info->version, "unknown");
	}
	sbuf_puts(&sb,
":\n"
"\n"
"| Driver | Upstream folder | DriverVer | Provider |\n"
"|---|---|---|---|\n");
	for (size_t i = 0; i < info->ndrivers; i++) {
		const struct synth_driver *d = &info->drivers[i];

		for (size_t t = 0; t < SELECT_NTARGETS; t++) {
			sbuf_printf(&sb, "| %s (%s) | ", d->id,
				    select_target_arch((enum select_target)t));
			synth_cell(&sb, d->source_path[t], d->upstream);
			sbuf_puts(&sb, " | ");
			synth_cell(&sb, d->driver_ver[t], "unknown");
			sbuf_puts(&sb, " | ");
			synth_cell(&sb, d->provider[t], "unknown");
			sbuf_puts(&sb, " |\n");
		}
	}
	sbuf_puts(&sb, "\n");
	if (info->nnotices) {
		sbuf_puts(&sb,
"The upstream license and notice files are reproduced in\n"
"`licenses/virtio-win/`:\n"
"\n");
		for (size_t i = 0; i < info->nnotices; i++) {
			sbuf_puts(&sb, "- `licenses/virtio-win/");
			synth_cell(&sb, info->notices[i], "?");
			sbuf_puts(&sb, "`\n");
		}
	} else {
		sbuf_puts(&sb,
"The virtio-win source this pack was built from carried no license or\n"
"notice file at its root.  See the licenses published by the upstream\n"
"projects above before redistributing this pack.\n");
	}
	return synth_crlf(&sb, len);
}

/* The scripts' text lives in catalog/stage/scripts/ (winscripts.h). */
char *synth_install_cmd(size_t *len)
{
	return winscript_install_cmd(len);
}

char *synth_testsigning_cmd(size_t *len)
{
	return winscript_testsigning_cmd(len);
}

/* clang-format on */
