/*
 * synth.c: README.txt, THIRD_PARTY_NOTICES.md and the two batch scripts of
 * the pack (synth.h).
 *
 * The scripts fix what the reference's did wrong (anchor §5, §11):
 * install.cmd checks for administrator rights, finds the 64-bit pnputil
 * from a 32-bit cmd.exe (WOW64: Sysnative), checks every pnputil exit
 * code, prints a summary, exits non-zero on failure and pauses only when
 * interactive; enable-testsigning.cmd asks before rebooting and explains
 * that 32-bit Windows 7 does not need test signing.
 */
#include "catalog/stage/synth.h"

#include <stdlib.h>
#include <string.h>

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

char *synth_install_cmd(size_t *len)
{
	struct sbuf sb = SBUF_INIT;

	sbuf_puts(&sb,
"@echo off\n"
"rem install.cmd: installs the Aero Windows 7 virtio drivers of this pack.\n"
"rem Usage: install.cmd [/quiet]\n"
"rem Exit codes: 0 all installed, 1 a driver failed, 2 usage or not\n"
"rem administrator, 3 no drivers for this architecture.\n"
"setlocal EnableExtensions DisableDelayedExpansion\n"
"rem Delayed expansion, used below, would eat a '!' in the pack's own\n"
"rem path: refuse such a path before turning it on.\n"
"set \"HERE=%~dp0\"\n"
"if not \"%HERE:!=%\"==\"%HERE%\" (\n"
"  echo install.cmd: error: the folder of this pack contains '!'; copy the pack to a folder without it.\n"
"  exit /b 2\n"
")\n"
"setlocal EnableDelayedExpansion\n"
"set \"QUIET=\"\n"
"set \"RC=0\"\n"
"set \"RESTART=\"\n"
"\n"
":args\n"
"if \"%~1\"==\"\" goto args_done\n"
"if /i \"%~1\"==\"/quiet\" (\n"
"  set \"QUIET=1\"\n"
") else if /i \"%~1\"==\"/q\" (\n"
"  set \"QUIET=1\"\n"
") else if \"%~1\"==\"/?\" (\n"
"  echo Usage: install.cmd [/quiet]\n"
"  echo Installs every driver under win7\\x86 or win7\\amd64 with pnputil.\n"
"  exit /b 0\n"
") else (\n"
"  echo install.cmd: error: unknown option %1\n"
"  set \"RC=2\"\n"
"  goto end\n"
")\n"
"shift\n"
"goto args\n"
":args_done\n"
"\n"
"rem net session succeeds only in an elevated prompt.\n"
"net session >nul 2>&1\n"
"if errorlevel 1 (\n"
"  echo install.cmd: error: administrator rights are required.\n"
"  echo Right-click install.cmd and choose \"Run as administrator\".\n"
"  set \"RC=2\"\n"
"  goto end\n"
")\n"
"\n"
"rem A 32-bit cmd.exe on 64-bit Windows reports x86 in\n"
"rem PROCESSOR_ARCHITECTURE and AMD64 in PROCESSOR_ARCHITEW6432.\n"
"set \"ARCH=x86\"\n"
"if /i \"%PROCESSOR_ARCHITECTURE%\"==\"AMD64\" set \"ARCH=amd64\"\n"
"if /i \"%PROCESSOR_ARCHITEW6432%\"==\"AMD64\" set \"ARCH=amd64\"\n"
"\n"
"rem From a 32-bit cmd.exe, System32 is redirected to SysWOW64; the 64-bit\n"
"rem pnputil that can install 64-bit drivers is reached through Sysnative.\n"
"set \"PNPUTIL=%SystemRoot%\\System32\\pnputil.exe\"\n"
"if exist \"%SystemRoot%\\Sysnative\\pnputil.exe\" "
	"set \"PNPUTIL=%SystemRoot%\\Sysnative\\pnputil.exe\"\n"
"\n"
"set \"DRVDIR=%~dp0win7\\%ARCH%\"\n"
"if not exist \"!DRVDIR!\\\" (\n"
"  echo install.cmd: error: !DRVDIR! is missing: "
	"this pack has no drivers for !ARCH!.\n"
"  set \"RC=3\"\n"
"  goto end\n"
")\n"
"\n"
"echo Installing the Aero virtio drivers for Windows 7 !ARCH!\n"
"set /a OK=0\n"
"set /a FAILED=0\n"
"set \"FAILED_LIST=\"\n"
"rem pnputil's exit code is compared as text: a crashed pnputil exits with\n"
"rem a negative code, which \"if errorlevel 1\" would take for success.\n"
"rem 259 is ERROR_NO_MORE_ITEMS: the package was added to the driver store\n"
"rem but no present device uses it.  3010: installed, restart needed.\n"
"rem FOR /R takes its root before delayed expansion: %DRVDIR%, not !DRVDIR!.\n"
"for /r \"%DRVDIR%\" %%I in (*.inf) do (\n"
"  echo.\n"
"  echo === %%~nxI\n"
"  \"!PNPUTIL!\" -i -a \"%%I\"\n"
"  set \"PRC=!errorlevel!\"\n"
"  if \"!PRC!\"==\"0\" (\n"
"    set /a OK+=1\n"
"  ) else if \"!PRC!\"==\"259\" (\n"
"    echo %%~nxI is in the driver store; no device for it is present now.\n"
"    set /a OK+=1\n"
"  ) else if \"!PRC!\"==\"3010\" (\n"
"    set /a OK+=1\n"
"    set \"RESTART=1\"\n"
"  ) else (\n"
"    echo install.cmd: error: pnputil failed for %%I "
	"with exit code !PRC!\n"
"    set /a FAILED+=1\n"
"    set \"FAILED_LIST=!FAILED_LIST! %%~nxI\"\n"
"  )\n"
")\n"
"\n"
"echo.\n"
"echo Summary: !OK! driver package(s) installed, !FAILED! failed.\n"
"if defined RESTART echo Restart Windows to finish the installation.\n"
"if !OK! equ 0 if !FAILED! equ 0 (\n"
"  echo install.cmd: error: no .inf file found under !DRVDIR!\n"
"  set \"RC=3\"\n"
"  goto end\n"
")\n"
"if !FAILED! gtr 0 (\n"
"  echo Failed:!FAILED_LIST!\n"
"  echo On 64-bit Windows 7 a signature error usually means the drivers are\n"
"  echo test-signed: run enable-testsigning.cmd and restart, then retry.\n"
"  set \"RC=1\"\n"
")\n"
"\n"
":end\n"
"if not defined QUIET pause\n"
"exit /b %RC%\n");
	return synth_crlf(&sb, len);
}

char *synth_testsigning_cmd(size_t *len)
{
	struct sbuf sb = SBUF_INIT;

	sbuf_puts(&sb,
"@echo off\n"
"rem enable-testsigning.cmd: turns on test signing so that 64-bit\n"
"rem Windows 7 loads test-signed drivers.  Takes effect after a restart.\n"
"rem Usage: enable-testsigning.cmd [/reboot or /noreboot] [/force]\n"
"rem Exit codes: 0 done (or not needed), 1 bcdedit failed, 2 usage or not\n"
"rem administrator.\n"
"setlocal EnableExtensions\n"
"set \"REBOOT=ask\"\n"
"set \"FORCE=\"\n"
"\n"
":args\n"
"if \"%~1\"==\"\" goto args_done\n"
"if /i \"%~1\"==\"/reboot\" (\n"
"  set \"REBOOT=yes\"\n"
") else if /i \"%~1\"==\"/noreboot\" (\n"
"  set \"REBOOT=no\"\n"
") else if /i \"%~1\"==\"/force\" (\n"
"  set \"FORCE=1\"\n"
") else if \"%~1\"==\"/?\" (\n"
"  echo Usage: enable-testsigning.cmd [/reboot ^| /noreboot] [/force]\n"
"  echo   /reboot    restart without asking once test signing is on\n"
"  echo   /noreboot  do not restart; restart later yourself\n"
"  echo   /force     also turn test signing on for 32-bit Windows\n"
"  exit /b 0\n"
") else (\n"
"  echo enable-testsigning.cmd: error: unknown option %1\n"
"  exit /b 2\n"
")\n"
"shift\n"
"goto args\n"
":args_done\n"
"\n"
"set \"ARCH=x86\"\n"
"if /i \"%PROCESSOR_ARCHITECTURE%\"==\"AMD64\" set \"ARCH=amd64\"\n"
"if /i \"%PROCESSOR_ARCHITEW6432%\"==\"AMD64\" set \"ARCH=amd64\"\n"
"if \"%ARCH%\"==\"x86\" if not defined FORCE (\n"
"  echo This is 32-bit Windows, which does not enforce kernel driver\n"
"  echo signatures: test-signed or unsigned drivers install after a warning,\n"
"  echo so test signing is not needed.  Nothing was changed.\n"
"  echo Use /force to turn it on anyway.\n"
"  exit /b 0\n"
")\n"
"\n"
"net session >nul 2>&1\n"
"if errorlevel 1 (\n"
"  echo enable-testsigning.cmd: error: administrator rights are required.\n"
"  echo Right-click enable-testsigning.cmd and choose "
	"\"Run as administrator\".\n"
"  exit /b 2\n"
")\n"
"\n"
"rem bcdedit.exe is 64-bit only on 64-bit Windows: reach it through\n"
"rem Sysnative when this cmd.exe is the 32-bit one.\n"
"set \"BCDEDIT=%SystemRoot%\\System32\\bcdedit.exe\"\n"
"if exist \"%SystemRoot%\\Sysnative\\bcdedit.exe\" "
	"set \"BCDEDIT=%SystemRoot%\\Sysnative\\bcdedit.exe\"\n"
"\n"
"\"%BCDEDIT%\" /set testsigning on\n"
"if errorlevel 1 (\n"
"  echo enable-testsigning.cmd: error: bcdedit /set testsigning on failed.\n"
"  echo Check that this prompt runs as administrator and that BitLocker or\n"
"  echo a firmware policy does not lock the boot configuration.\n"
"  exit /b 1\n"
")\n"
"echo Test signing is on.  \"Test Mode\" will show on the desktop after the\n"
"echo restart; undo it with: bcdedit /set testsigning off\n"
"\n"
"if \"%REBOOT%\"==\"no\" goto later\n"
"if \"%REBOOT%\"==\"yes\" goto reboot\n"
"choice /c YN /m \"Restart Windows now\"\n"
"rem 1 is Y; N is 2, and Ctrl+C makes choice return 0: no restart.\n"
"if errorlevel 2 goto later\n"
"if not errorlevel 1 goto later\n"
":reboot\n"
"shutdown /r /t 10 /c \"Restarting to enable driver test signing\"\n"
"exit /b 0\n"
":later\n"
"echo Restart Windows for the change to take effect.\n"
"exit /b 0\n");
	return synth_crlf(&sb, len);
}

/* clang-format on */
