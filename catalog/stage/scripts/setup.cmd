@echo off
rem setup.cmd: installs the Aero Guest Tools drivers on Windows 7.
rem Usage: setup.cmd [/check] [/verify-media] [/quiet] [/skipstorage]
rem                  [/testsigning or /notestsigning]
rem Exit codes: 0 done, 1 a driver package failed, 2 usage error or a '!'
rem in the media path, 3 not elevated, 4 driver folder or
rem config\devices.cmd missing, 5 certificate missing, 6 storage service
rem not in any INF, 7 media integrity failure, 8 a system change failed.
rem Uses only what Windows 7 SP1 ships: cmd, reg, pnputil, certutil,
rem bcdedit, fltmc, copy, type.
setlocal EnableExtensions DisableDelayedExpansion
set "ME=setup.cmd"
set "QUIET="
set "MODE=install"
set "SKIPSTORAGE="
set "TESTSIGN=ask"
set "BADARG="
set "HELP="
set "RC=0"

rem Every option is read before anything can fail, so that /quiet holds
rem on every exit path; an unknown one is reported after the loop.
:args
if "%~1"=="" goto args_done
if /i "%~1"=="/quiet" set "QUIET=1" & goto args_next
if /i "%~1"=="/q" set "QUIET=1" & goto args_next
if /i "%~1"=="/check" set "MODE=check" & goto args_next
if /i "%~1"=="/verify-media" set "MODE=verify" & goto args_next
if /i "%~1"=="/skipstorage" set "SKIPSTORAGE=1" & goto args_next
if /i "%~1"=="/testsigning" set "TESTSIGN=yes" & goto args_next
if /i "%~1"=="/notestsigning" set "TESTSIGN=no" & goto args_next
if "%~1"=="/?" set "HELP=1" & goto args_next
if not defined BADARG set "BADARG=%~1"
:args_next
shift
goto args
:args_done

rem Delayed expansion, used below, would eat a '!' in the media's path:
rem refuse such a path before turning it on.
set "HERE=%~dp0"
if not "%HERE:!=%"=="%HERE%" goto bang_path
setlocal EnableDelayedExpansion
set "LOGDIR=%SystemDrive%\AeroGuestTools"
set "LOG=nul"
set "RECORD=nul"
set "AERO_TMP=%TEMP%\aero-setup-%RANDOM%.tmp"
if defined BADARG (
  set "M=!ME!: error: unknown option !BADARG!; see !ME! /?"
  call :say
  set "RC=2"
  goto end
)
if defined HELP goto usage

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
set "CERTUTIL=!SYSDIR!\certutil.exe"
set "BCDEDIT=!SYSDIR!\bcdedit.exe"
set "FLTMC=!SYSDIR!\fltmc.exe"
set "DRVDIR=!HERE!drivers\!ARCH!"

if "!MODE!"=="verify" goto verify_media

rem fltmc needs administrator rights and, unlike "net session", not the
rem Server service, which a hardened guest may have disabled.  /check and
rem /verify-media change nothing and need no elevation.
if not "!MODE!"=="check" (
  "!FLTMC!" >nul 2>&1
  if not "!errorlevel!"=="0" (
    set "M=!ME!: error: administrator rights are required. Right-click !ME! and choose Run as administrator."
    call :say
    set "RC=3"
    goto end
  )
)

call :load_media
if not "!RC!"=="0" goto end
if "!MODE!"=="check" (
  set "M=The media is complete for !ARCH!: !INFCOUNT! driver package(s), storage service !AERO_VIRTIO_BLK_SERVICE!, signing policy !POLICY!. Nothing was changed."
  call :say
  goto end
)

if not exist "!LOGDIR!\" mkdir "!LOGDIR!"
set "LOG=!LOGDIR!\install.log"
set "RECORD=!LOGDIR!\installed.txt"
>>"!LOG!" echo ==== !ME! !DATE! !TIME! arch !ARCH! policy !POLICY! media !HERE!
set "M=Installing the Aero Guest Tools for Windows 7 !ARCH!; log: !LOG!"
call :say

if /i "!POLICY!"=="test" call :install_certs
if /i "!POLICY!"=="test" if "!ARCH!"=="amd64" call :testsigning

call :stage_drivers

if defined SKIPSTORAGE (
  >"!LOGDIR!\storage-not-preseeded.txt" echo setup.cmd ran with /skipstorage: virtio-blk is not pre-seeded as a boot driver.
  set "M=WARNING: /skipstorage: the storage driver was NOT pre-seeded. Do not move the boot disk to virtio-blk: Windows would stop with 0x7B INACCESSIBLE_BOOT_DEVICE."
  call :say
) else (
  if exist "!LOGDIR!\storage-not-preseeded.txt" del "!LOGDIR!\storage-not-preseeded.txt"
  call :storage_preseed
  if not "!SRC!"=="0" if "!RC!"=="0" set "RC=8"
)
if defined RESTART (
  set "M=Restart Windows to finish the installation."
  call :say
)
set "M=setup.cmd finished with exit code !RC!."
call :say
goto end

:usage
echo Usage: setup.cmd [/check] [/verify-media] [/quiet] [/skipstorage]
echo                  [/testsigning ^| /notestsigning]
echo   /check          validate the media; changes nothing
echo   /verify-media   check every file against manifest.json
echo   /quiet          never prompt or pause
echo   /skipstorage    do not pre-seed virtio-blk as a boot driver
echo   /testsigning    turn test signing on without asking
echo   /notestsigning  leave test signing as it is, without asking
echo Exit codes: 0 done, 1 a driver failed, 2 usage, 3 not elevated,
echo 4 driver folder or devices.cmd missing, 5 certificate missing,
echo 6 storage service not in any INF, 7 media integrity failure,
echo 8 a system change failed.
goto end

:bang_path
echo setup.cmd: error: the folder of the media contains '!'; copy it to a folder without it.
set "RC=2"
goto end

rem ---- media checks (also /check) -------------------------------------------
:load_media
if not exist "!DRVDIR!\" (
  set "M=!ME!: error: !DRVDIR! is missing: this media has no drivers for !ARCH!."
  call :say
  set "RC=4"
  goto :eof
)
if not exist "!HERE!config\devices.cmd" (
  set "M=!ME!: error: config\devices.cmd is missing from the media."
  call :say
  set "RC=4"
  goto :eof
)
rem CALL doubles the carets of a quoted path: run a copy from TEMP.
copy /y "!HERE!config\devices.cmd" "%AERO_TMP%.cmd" >nul
call "%AERO_TMP%.cmd"
del "%AERO_TMP%.cmd"
set "INFCOUNT=0"
for /r "%DRVDIR%" %%I in (*.inf) do set /a INFCOUNT+=1
set "POLICY=production"
if exist "!HERE!manifest.json" (
  for /f "usebackq tokens=1,2 delims=:, " %%A in ("%HERE%manifest.json") do (
    set "K=%%~A"
    if "!K!"=="signing_policy" set "POLICY=%%~B"
  )
)
set "NCERT=0"
if exist "!HERE!certs\" for /r "%HERE%certs" %%C in (*.cer *.crt) do set /a NCERT+=1
if /i "!POLICY!"=="test" if "!NCERT!"=="0" (
  set "M=!ME!: error: the signing policy is test but certs\ holds no .cer or .crt file."
  call :say
  set "RC=5"
  goto :eof
)
call :storage_find
if not "!SRC!"=="0" (
  set "M=!ME!: error: no INF under !DRVDIR! installs the storage service '!AERO_VIRTIO_BLK_SERVICE!' with its !AERO_VIRTIO_BLK_SYS!."
  call :say
  set "RC=6"
)
goto :eof

rem ---- /verify-media --------------------------------------------------------
rem certutil -hashfile FILE SHA256 prints a header line, the digest (as
rem spaced byte pairs on Windows 7, one run of hex on later Windows) and a
rem status line.  manifest.json lists one file per line, exactly:
rem     {"path": "a/b", "size": N, "sha256": "<64 hex>"},
:verify_media
if not exist "!HERE!manifest.json" (
  set "M=!ME!: error: manifest.json is missing from the media."
  call :say
  set "RC=7"
  goto end
)
set "NOK=0"
set "NBAD=0"
rem Only the lines that open with 4 spaces and "{" are file entries.
for /f "usebackq tokens=1,2,4 delims=:" %%A in ("%HERE%manifest.json") do (
  set "F=%%A"
  set "P=%%B"
  set "WANT=%%C"
  call :verify_one
)
set "M=Media check: !NOK! file(s) match manifest.json, !NBAD! do not."
call :say
if not "!NBAD!"=="0" set "RC=7"
if "!NOK!"=="0" set "RC=7"
goto end

rem In a file entry F is '    {"path"', P ' "a/b", "size"' and WANT
rem ' "<hex>"},': cut them to size.
:verify_one
set "F=[%F:"=%]"
if not "%F:~0,6%"=="[    {" goto :eof
if not defined P goto :eof
if not defined WANT goto :eof
set "P=%P:~2,-9%"
if not defined P goto :eof
set "P=%P:/=\%"
set "WANT=%WANT:~2,64%"
set "GOT="
if exist "!HERE!!P!" (
  "!CERTUTIL!" -hashfile "!HERE!!P!" SHA256 > "%AERO_TMP%" 2>nul
  for /f "usebackq skip=1 delims=" %%L in ("%AERO_TMP%") do if not defined GOT set "GOT=%%L"
)
if not defined GOT set "GOT=missing"
set "GOT=%GOT: =%"
if /i "!GOT!"=="!WANT!" (
  set /a NOK+=1
) else (
  set /a NBAD+=1
  set "M=MISMATCH or missing: !P!"
  call :say
)
goto :eof

rem ---- certificates and test signing --------------------------------------
:install_certs
if not exist "!HERE!certs\" goto :eof
for /r "%HERE%certs" %%C in (*.cer *.crt) do (
  set "CF=%%~fC"
  set "CN=%%~nxC"
  "!CERTUTIL!" -hashfile "!CF!" SHA1 > "%AERO_TMP%" 2>nul
  set "THUMB="
  for /f "usebackq skip=1 delims=" %%L in ("%AERO_TMP%") do if not defined THUMB set "THUMB=%%L"
  call :thumb
  for %%S in (Root TrustedPublisher) do (
    set "STORE=%%S"
    call :add_cert
  )
)
goto :eof

:add_cert
"!CERTUTIL!" -addstore -f !STORE! "!CF!" >>"!LOG!" 2>&1
if "!errorlevel!"=="0" (
  >>"!RECORD!" echo cert !STORE! !THUMB!
  goto :eof
)
set "M=error: certutil could not add !CN! to the !STORE! store."
call :say
if "!RC!"=="0" set "RC=8"
goto :eof

:testsigning
if "!TESTSIGN!"=="no" goto :eof
if "!TESTSIGN!"=="ask" (
  if defined QUIET (
    set "M=The drivers are test-signed; /quiet leaves test signing off. Run setup.cmd /testsigning to turn it on."
    call :say
    goto :eof
  )
  choice /c YN /m "The drivers are test-signed. Turn on test signing (needs a restart)"
  if errorlevel 2 goto :eof
  if not errorlevel 1 goto :eof
)
"!BCDEDIT!" /set testsigning on >>"!LOG!" 2>&1
if "!errorlevel!"=="0" (
  set "M=Test signing is on; it takes effect after a restart."
  set "RESTART=1"
) else (
  set "M=error: bcdedit /set testsigning on failed."
  if "!RC!"=="0" set "RC=8"
)
call :say
goto :eof

rem ---- driver packages ------------------------------------------------------
rem pnputil's exit code is compared as text: a crashed pnputil exits with a
rem negative code, which "if errorlevel 1" would take for success.  259
rem (ERROR_NO_MORE_ITEMS): added to the driver store, no device present;
rem 3010: installed, restart needed.
:stage_drivers
set /a OK=0
set /a FAILED=0
for /r "%DRVDIR%" %%I in (*.inf) do (
  set "INF=%%I"
  set "INFNAME=%%~nxI"
  "!PNPUTIL!" -i -a "!INF!" > "%AERO_TMP%" 2>&1
  set "PRC=!errorlevel!"
  type "%AERO_TMP%" >> "!LOG!"
  set "GOOD="
  if "!PRC!"=="0" set "GOOD=1"
  if "!PRC!"=="259" set "GOOD=1"
  if "!PRC!"=="3010" set "GOOD=1"
  if "!PRC!"=="3010" set "RESTART=1"
  if defined GOOD call :staged
  if not defined GOOD call :stage_failed
)
set "M=Driver packages: !OK! staged, !FAILED! failed."
call :say
if "!OK!!FAILED!"=="00" if "!RC!"=="0" set "RC=4"
goto :eof

rem A package pnputil took: "Published name :   oem7.inf" in its output
rem names what uninstall.cmd removes.
:staged
set /a OK+=1
set "M=  ok      !INFNAME!"
call :say
for /f "usebackq tokens=1,* delims=:" %%A in ("%AERO_TMP%") do (
  set "N=[%%A]"
  set "V=[%%B]"
  call :published
)
goto :eof

:stage_failed
set /a FAILED+=1
set "M=  FAILED  !INFNAME!: pnputil exit code !PRC!"
call :say
if "!RC!"=="0" set "RC=1"
goto :eof

rem "Published name :   oem7.inf" from pnputil names the package to remove.
:published
set "N=%N: =%"
set "V=%V: =%"
set "V=%V:~1,-1%"
if /i "%N%"=="[Publishedname]" >>"!RECORD!" echo driver %V%
goto :eof

rem certutil -hashfile prints the digest as spaced pairs on Windows 7.
:thumb
if not defined THUMB goto :eof
set "THUMB=%THUMB: =%"
goto :eof

rem #include storage.cmdinc

rem ---- output ----------------------------------------------------------------
:say
echo.!M!
>>"!LOG!" echo.!M!
goto :eof

:end
if exist "%AERO_TMP%" del "%AERO_TMP%"
if not defined QUIET pause
exit /b %RC%
