@echo off
rem enable-testsigning.cmd: turns on test signing so that 64-bit
rem Windows 7 loads test-signed drivers.  Takes effect after a restart.
rem Usage: enable-testsigning.cmd [/reboot or /noreboot] [/force] [/quiet]
rem Exit codes: 0 done (or not needed), 1 bcdedit failed, 2 usage error,
rem 3 not administrator.
setlocal EnableExtensions DisableDelayedExpansion
set "ME=enable-testsigning.cmd"
set "REBOOT=ask"
set "FORCE="
set "QUIET="
set "BADARG="
set "HELP="
set "RC=0"

rem Every option is read before anything can fail, so that /quiet holds
rem on every exit path; an unknown one is reported after the loop.
:args
if "%~1"=="" goto args_done
if /i "%~1"=="/reboot" set "REBOOT=yes" & goto args_next
if /i "%~1"=="/noreboot" set "REBOOT=no" & goto args_next
if /i "%~1"=="/force" set "FORCE=1" & goto args_next
if /i "%~1"=="/quiet" set "QUIET=1" & goto args_next
if /i "%~1"=="/q" set "QUIET=1" & goto args_next
if "%~1"=="/?" set "HELP=1" & goto args_next
if not defined BADARG set "BADARG=%~1"
:args_next
shift
goto args
:args_done
setlocal EnableDelayedExpansion
if defined BADARG (
  echo.!ME!: error: unknown option !BADARG!; see !ME! /?
  set "RC=2"
  goto end
)
if defined HELP (
  echo Usage: enable-testsigning.cmd [/reboot ^| /noreboot] [/force] [/quiet]
  echo   /reboot    restart without asking once test signing is on
  echo   /noreboot  do not restart; restart later yourself
  echo   /force     also turn test signing on for 32-bit Windows
  echo   /quiet     never prompt or pause; restarts only with /reboot
  goto end
)
if defined QUIET if "!REBOOT!"=="ask" set "REBOOT=no"

set "ARCH=x86"
if /i "%PROCESSOR_ARCHITECTURE%"=="AMD64" set "ARCH=amd64"
if /i "%PROCESSOR_ARCHITEW6432%"=="AMD64" set "ARCH=amd64"
if "!ARCH!"=="x86" if not defined FORCE (
  echo This is 32-bit Windows, which does not enforce kernel driver
  echo signatures: test-signed or unsigned drivers install after a warning,
  echo so test signing is not needed.  Nothing was changed.
  echo Use /force to turn it on anyway.
  goto end
)

rem bcdedit.exe and fltmc.exe are 64-bit only on 64-bit Windows: reach
rem them through Sysnative when this cmd.exe is the 32-bit one.
set "SYSDIR=%SystemRoot%\System32"
if exist "%SystemRoot%\Sysnative\reg.exe" set "SYSDIR=%SystemRoot%\Sysnative"

rem fltmc needs administrator rights and, unlike "net session", not the
rem Server service.  Exit codes are compared as text: "if errorlevel 1"
rem takes a negative code such as 0x80070005 for success.
"!SYSDIR!\fltmc.exe" >nul 2>&1
if not "!errorlevel!"=="0" (
  echo.!ME!: error: administrator rights are required.
  echo Right-click !ME! and choose "Run as administrator".
  set "RC=3"
  goto end
)

"!SYSDIR!\bcdedit.exe" /set testsigning on
set "BRC=!errorlevel!"
if not "!BRC!"=="0" (
  echo.!ME!: error: bcdedit /set testsigning on failed with exit code !BRC!.
  echo Check that this prompt runs as administrator and that BitLocker,
  echo Secure Boot or a firmware policy does not lock the boot configuration.
  set "RC=1"
  goto end
)
echo Test signing is on.  "Test Mode" will show on the desktop after the
echo restart; undo it with: bcdedit /set testsigning off

if "!REBOOT!"=="no" goto later
if "!REBOOT!"=="yes" goto reboot
choice /c YN /m "Restart Windows now"
rem 1 is Y; N is 2, and Ctrl+C makes choice return 0: no restart.
if errorlevel 2 goto later
if not errorlevel 1 goto later
:reboot
shutdown /r /t 10 /c "Restarting to enable driver test signing"
goto end
:later
echo Restart Windows for the change to take effect.

:end
if not defined QUIET pause
exit /b %RC%
