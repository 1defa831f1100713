@echo off
rem install.cmd: installs the Aero Windows 7 virtio drivers of this pack
rem and pre-seeds the virtio-blk driver as a boot driver.
rem Usage: install.cmd [/quiet] [/skipstorage]
rem Exit codes: 0 done, 1 a driver package failed, 2 usage error or a '!'
rem in the pack's path, 3 not elevated, 4 driver folder or
rem config\devices.cmd missing, 6 storage service not in any INF, 8 a
rem system change failed (the same numbers as the Guest Tools' setup.cmd).
setlocal EnableExtensions DisableDelayedExpansion
set "ME=install.cmd"
set "QUIET="
set "SKIPSTORAGE="
set "BADARG="
set "HELP="
set "RC=0"

rem Every option is read before anything can fail, so that /quiet holds
rem on every exit path; an unknown one is reported after the loop.
:args
if "%~1"=="" goto args_done
if /i "%~1"=="/quiet" set "QUIET=1" & goto args_next
if /i "%~1"=="/q" set "QUIET=1" & goto args_next
if /i "%~1"=="/skipstorage" set "SKIPSTORAGE=1" & goto args_next
if "%~1"=="/?" set "HELP=1" & goto args_next
if not defined BADARG set "BADARG=%~1"
:args_next
shift
goto args
:args_done

rem Delayed expansion, used below, would eat a '!' in the pack's own
rem path: refuse such a path before turning it on.
set "HERE=%~dp0"
if not "%HERE:!=%"=="%HERE%" goto bang_path
setlocal EnableDelayedExpansion
set "LOG=nul"
set "RECORD=nul"
set "AERO_TMP=%TEMP%\aero-install-%RANDOM%.tmp"
if defined BADARG (
  set "M=!ME!: error: unknown option !BADARG!; see !ME! /?"
  call :say
  set "RC=2"
  goto end
)
if defined HELP (
  echo Usage: install.cmd [/quiet] [/skipstorage]
  echo Installs every driver under win7\x86 or win7\amd64 with pnputil and
  echo pre-seeds virtio-blk as a boot driver, so that the boot disk can be
  echo moved to virtio-blk.
  echo   /quiet        never prompt or pause
  echo   /skipstorage  do not pre-seed virtio-blk as a boot driver
  goto end
)

rem A 32-bit cmd.exe on 64-bit Windows reports x86 in
rem PROCESSOR_ARCHITECTURE and AMD64 in PROCESSOR_ARCHITEW6432; its
rem System32 is SysWOW64, and the 64-bit tools and the real drivers folder
rem are reached through Sysnative.
set "ARCH=x86"
if /i "%PROCESSOR_ARCHITECTURE%"=="AMD64" set "ARCH=amd64"
if /i "%PROCESSOR_ARCHITEW6432%"=="AMD64" set "ARCH=amd64"
set "SYSDIR=%SystemRoot%\System32"
if exist "%SystemRoot%\Sysnative\reg.exe" set "SYSDIR=%SystemRoot%\Sysnative"
set "REGEXE=!SYSDIR!\reg.exe"
set "PNPUTIL=!SYSDIR!\pnputil.exe"

rem fltmc needs administrator rights and, unlike "net session", not the
rem Server service.  Exit codes are compared as text: "if errorlevel 1"
rem takes a negative code for success.
"!SYSDIR!\fltmc.exe" >nul 2>&1
if not "!errorlevel!"=="0" (
  set "M=!ME!: error: administrator rights are required. Right-click !ME! and choose Run as administrator."
  call :say
  set "RC=3"
  goto end
)

set "DRVDIR=!HERE!win7\!ARCH!"
if not exist "!DRVDIR!\" (
  set "M=!ME!: error: !DRVDIR! is missing: this pack has no drivers for !ARCH!."
  call :say
  set "RC=4"
  goto end
)
rem CALL doubles the carets of a quoted path: devices.cmd runs as a copy
rem in TEMP.
if not defined SKIPSTORAGE (
  if not exist "!HERE!config\devices.cmd" (
    set "M=!ME!: error: config\devices.cmd is missing from the pack; /skipstorage installs without pre-seeding."
    call :say
    set "RC=4"
    goto end
  )
  copy /y "!HERE!config\devices.cmd" "%AERO_TMP%.cmd" >nul
  call "%AERO_TMP%.cmd"
  del "%AERO_TMP%.cmd"
  call :storage_find
  if not "!SRC!"=="0" (
    set "M=!ME!: error: no INF under !DRVDIR! installs the storage service '!AERO_VIRTIO_BLK_SERVICE!' with its !AERO_VIRTIO_BLK_SYS!."
    call :say
    set "RC=6"
    goto end
  )
)

set "M=Installing the Aero virtio drivers for Windows 7 !ARCH!"
call :say
set /a OK=0
set /a FAILED=0
set "FAILED_LIST="
rem pnputil's exit code is compared as text: a crashed pnputil exits with
rem a negative code, which "if errorlevel 1" would take for success.
rem 259 is ERROR_NO_MORE_ITEMS: the package was added to the driver store
rem but no present device uses it.  3010: installed, restart needed.
rem FOR /R takes its root before delayed expansion: %DRVDIR%, not !DRVDIR!.
for /r "%DRVDIR%" %%I in (*.inf) do (
  set "INF=%%I"
  set "INFNAME=%%~nxI"
  echo.
  echo.=== !INFNAME!
  "!PNPUTIL!" -i -a "!INF!"
  set "PRC=!errorlevel!"
  set "GOOD="
  if "!PRC!"=="0" set "GOOD=1"
  if "!PRC!"=="259" set "GOOD=1"
  if "!PRC!"=="3010" set "GOOD=1"
  if "!PRC!"=="3010" set "RESTART=1"
  if defined GOOD set /a OK+=1
  if not defined GOOD call :failed
)

echo.
echo Summary: !OK! driver package(s) installed, !FAILED! failed.
if "!OK!!FAILED!"=="00" (
  echo.!ME!: error: no .inf file found under !DRVDIR!
  set "RC=4"
  goto end
)
if !FAILED! gtr 0 (
  echo Failed:!FAILED_LIST!
  if "!ARCH!"=="amd64" (
    echo On 64-bit Windows 7 a signature error usually means the drivers are
    echo test-signed: run enable-testsigning.cmd and restart, then retry.
  )
  set "RC=1"
)

if defined SKIPSTORAGE (
  set "M=WARNING: /skipstorage: the storage driver was NOT pre-seeded. Do not move the boot disk to virtio-blk: Windows would stop with 0x7B INACCESSIBLE_BOOT_DEVICE."
  call :say
) else (
  call :storage_preseed
  if not "!SRC!"=="0" if "!RC!"=="0" set "RC=8"
)
if defined RESTART echo Restart Windows to finish the installation.
goto end

:bang_path
echo install.cmd: error: the folder of this pack contains '!'; copy the pack to a folder without it.
set "RC=2"
goto end

rem (A subroutine, not an else branch: Wine's cmd runs an else inside FOR.)
:failed
echo.!ME!: error: pnputil failed for !INF! with exit code !PRC!
set /a FAILED+=1
set "FAILED_LIST=!FAILED_LIST! !INFNAME!"
goto :eof

rem #include storage.cmdinc

:say
echo.!M!
>>"!LOG!" echo.!M!
goto :eof

:end
if exist "%AERO_TMP%" del "%AERO_TMP%"
if not defined QUIET pause
exit /b %RC%
