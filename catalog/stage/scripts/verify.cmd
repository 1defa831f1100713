@echo off
rem verify.cmd: checks, inside the guest, what setup.cmd of the Aero Guest
rem Tools set up, and writes %SystemDrive%\AeroGuestTools\verify.txt and
rem verify.json.  Changes nothing else.
rem Usage: verify.cmd [/quiet]
rem Exit codes: 0 every Aero virtio device present is bound to its driver,
rem 1 a present device has no matching driver, 2 usage error or a '!' in
rem the media path, 4 config\devices.cmd missing.
setlocal EnableExtensions DisableDelayedExpansion
set "ME=verify.cmd"
set "QUIET="
set "BADARG="
set "HELP="
set "RC=0"

:args
if "%~1"=="" goto args_done
if /i "%~1"=="/quiet" set "QUIET=1" & goto args_next
if /i "%~1"=="/q" set "QUIET=1" & goto args_next
if "%~1"=="/?" set "HELP=1" & goto args_next
if not defined BADARG set "BADARG=%~1"
:args_next
shift
goto args
:args_done

set "HERE=%~dp0"
if not "%HERE:!=%"=="%HERE%" goto bang_path
setlocal EnableDelayedExpansion
set "LOGDIR=%SystemDrive%\AeroGuestTools"
set "LOG=nul"
set "AERO_TMP=%TEMP%\aero-verify-%RANDOM%.tmp"
if defined BADARG (
  set "M=!ME!: error: unknown option !BADARG!; see !ME! /?"
  call :say
  set "RC=2"
  goto end
)
if defined HELP (
  echo Usage: verify.cmd [/quiet]
  echo Reports which driver each Aero virtio device is bound to, the
  echo virtio-blk boot pre-seeding, test signing, the certificates and the
  echo SHA-2 update, in %SystemDrive%\AeroGuestTools\verify.txt and .json.
  goto end
)

set "SYSDIR=%SystemRoot%\System32"
if exist "%SystemRoot%\Sysnative\reg.exe" set "SYSDIR=%SystemRoot%\Sysnative"
set "REGEXE=!SYSDIR!\reg.exe"
set "CERTUTIL=!SYSDIR!\certutil.exe"
set "BCDEDIT=!SYSDIR!\bcdedit.exe"
if not exist "!HERE!config\devices.cmd" (
  set "M=!ME!: error: config\devices.cmd is missing from the media."
  call :say
  set "RC=4"
  goto end
)
rem CALL doubles the carets of a quoted path: run a copy from TEMP.
copy /y "!HERE!config\devices.cmd" "%AERO_TMP%.cmd" >nul
call "%AERO_TMP%.cmd"
del "%AERO_TMP%.cmd"

if not exist "!LOGDIR!\" mkdir "!LOGDIR!"
set "LOG=!LOGDIR!\verify.txt"
set "JSON=!LOGDIR!\verify.json"
type nul > "!LOG!"
> "!JSON!" echo {
>>"!JSON!" echo   "devices": [
set "SEP= "
set "NDEV=0"

rem ---- devices: PCI ids of vendor 1AF4 under the Enum key ---------------
set "M=Aero virtio devices present:"
call :say
"!REGEXE!" query "HKLM\SYSTEM\CurrentControlSet\Enum\PCI" > "%AERO_TMP%.pci" 2>nul
for /f "usebackq delims=" %%D in ("%AERO_TMP%.pci") do (
  set "D=%%D"
  call :device
)
if "!NDEV!"=="0" (
  set "M=  none"
  call :say
)
>>"!JSON!" echo   ],

rem ---- storage pre-seeding ---------------------------------------------
set "SVC=!AERO_VIRTIO_BLK_SERVICE!"
set "BOOTSTART=false"
set "START="
set "TYPE="
"!REGEXE!" query "HKLM\SYSTEM\CurrentControlSet\Services\!SVC!" /v Start > "%AERO_TMP%" 2>nul
for /f "usebackq tokens=1,3" %%A in ("%AERO_TMP%") do if /i "%%A"=="Start" set "START=%%B"
"!REGEXE!" query "HKLM\SYSTEM\CurrentControlSet\Services\!SVC!" /v Type > "%AERO_TMP%" 2>nul
for /f "usebackq tokens=1,3" %%A in ("%AERO_TMP%") do if /i "%%A"=="Type" set "TYPE=%%B"
if "!START!"=="0x0" if "!TYPE!"=="0x1" set "BOOTSTART=true"
set "M=Storage service !SVC! boot start: !BOOTSTART! (Start !START!, Type !TYPE!)"
call :say
set "CDDOK=true"
set "CDD=HKLM\SYSTEM\CurrentControlSet\Control\CriticalDeviceDatabase"
for %%H in (%AERO_VIRTIO_BLK_HWIDS%) do (
  set "H=%%~H"
  call :cddkey
  "!REGEXE!" query "!KEY!" /v Service > "%AERO_TMP%" 2>nul
  set "GOT="
  for /f "usebackq tokens=1,3" %%A in ("%AERO_TMP%") do if /i "%%A"=="Service" set "GOT=%%B"
  if /i not "!GOT!"=="!SVC!" (
    set "CDDOK=false"
    set "M=  missing CriticalDeviceDatabase key !KEY!"
    call :say
  )
)
set "M=CriticalDeviceDatabase keys for every virtio-blk id: !CDDOK!"
call :say
if exist "!LOGDIR!\storage-not-preseeded.txt" (
  set "M=WARNING: setup.cmd ran with /skipstorage: do not boot from virtio-blk."
  call :say
)

rem ---- test signing ----------------------------------------------------
set "TESTSIGNING=unknown"
"!BCDEDIT!" /enum {current} > "%AERO_TMP%" 2>nul
if "!errorlevel!"=="0" (
  set "TESTSIGNING=off"
  for /f "usebackq tokens=1,2" %%A in ("%AERO_TMP%") do if /i "%%A"=="testsigning" if /i "%%B"=="Yes" set "TESTSIGNING=on"
)
set "M=Test signing: !TESTSIGNING!"
call :say

rem ---- certificates ----------------------------------------------------
set "CERTS=true"
set "NCERT=0"
if exist "!HERE!certs\" for /r "%HERE%certs" %%C in (*.cer *.crt) do (
  set "CF=%%~fC"
  set "CN=%%~nxC"
  set /a NCERT+=1
  "!CERTUTIL!" -hashfile "!CF!" SHA1 > "%AERO_TMP%" 2>nul
  set "THUMB="
  for /f "usebackq skip=1 delims=" %%L in ("%AERO_TMP%") do if not defined THUMB set "THUMB=%%L"
  call :thumb
  for %%S in (Root TrustedPublisher) do (
    set "STORE=%%S"
    call :has_cert
  )
)
set "M=Certificates of the media in Root and TrustedPublisher: !CERTS! (!NCERT! file(s))"
call :say

rem ---- SHA-2 code signing support --------------------------------------
rem A SHA-256 signed catalog verifies on Windows 7 only with KB3033929 (or
rem its successor KB4474419) installed.
set "SHA2=false"
"!REGEXE!" query "HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\Packages" > "%AERO_TMP%" 2>nul
for /f "usebackq delims=" %%P in ("%AERO_TMP%") do (
  set "L=%%P"
  call :kbline
)
set "M=SHA-2 code signing update (KB3033929 or KB4474419): !SHA2!"
call :say
rem A catalog's digest, as manifest.json records it: "digest": "sha256".
set "SHA256CAT=false"
if exist "!HERE!manifest.json" for /f "usebackq tokens=1,2 delims=:, " %%A in ("%HERE%manifest.json") do (
  set "K=[%%A]"
  set "V=[%%B]"
  call :digestline
)
if "!SHA256CAT!!SHA2!"=="truefalse" (
  set "M=WARNING: a catalog of this media is SHA-256 signed and the SHA-2 update is missing: Windows 7 cannot verify it. Install KB4474419."
  call :say
)

>>"!JSON!" echo   "storage_service": "!SVC!",
>>"!JSON!" echo   "storage_boot_start": !BOOTSTART!,
>>"!JSON!" echo   "critical_device_database": !CDDOK!,
>>"!JSON!" echo   "testsigning": "!TESTSIGNING!",
>>"!JSON!" echo   "certificates": !CERTS!,
>>"!JSON!" echo   "sha2_update": !SHA2!,
>>"!JSON!" echo   "sha256_catalogs": !SHA256CAT!,
>>"!JSON!" echo   "exit_code": !RC!
>>"!JSON!" echo }
set "M=Reports: !LOG! and !JSON!; exit code !RC!."
call :say
goto end

rem String edits are done with %VAR:...% on lines of their own in these
rem subroutines, never with !VAR:...! inside a block: the form every cmd.exe
rem implementation agrees on.
:cddkey
set "KEY=%CDD%\%H:\=#%"
goto :eof

:thumb
if not defined THUMB goto :eof
set "THUMB=%THUMB: =%"
goto :eof

:has_cert
set "M=  certificate !CN! is in !STORE!"
"!CERTUTIL!" -store !STORE! !THUMB! >nul 2>&1
if not "!errorlevel!"=="0" set "CERTS=false"
if not "!errorlevel!"=="0" set "M=  certificate !CN! is NOT in !STORE!"
call :say
goto :eof

:kbline
if /i not "%L:KB3033929=%"=="%L%" set "SHA2=true"
if /i not "%L:KB4474419=%"=="%L%" set "SHA2=true"
goto :eof

rem One "K": "V" line of manifest.json, as [K] and [V] with their quotes.
:digestline
set "K=%K:"=%"
if not "%K%"=="[digest]" goto :eof
set "V=%V:"=%"
if /i "%V%"=="[sha256]" set "SHA256CAT=true"
goto :eof

rem One key D under Enum\PCI: when it is a vendor 1AF4 id, its instances,
rem the service each is bound to, and the service devices.cmd expects.
:device
if /i "%D:VEN_1AF4=%"=="%D%" goto :eof
for %%N in ("%D%") do set "DEVNAME=%%~nxN"
set "WANT="
set "KIND="
for %%H in (%AERO_VIRTIO_BLK_HWIDS%) do if /i "%%~H"=="PCI\%DEVNAME%" set "KIND=BLK"
for %%H in (%AERO_VIRTIO_NET_HWIDS%) do if /i "%%~H"=="PCI\%DEVNAME%" set "KIND=NET"
for %%H in (%AERO_VIRTIO_INPUT_HWIDS%) do if /i "%%~H"=="PCI\%DEVNAME%" set "KIND=INPUT"
for %%H in (%AERO_VIRTIO_SND_HWIDS%) do if /i "%%~H"=="PCI\%DEVNAME%" set "KIND=SND"
rem A SUBSYS or REV devices.cmd does not list: match VEN_1AF4&DEV_xxxx.
set "SHORT=%DEVNAME:~0,17%"
if not defined KIND for %%H in (%AERO_VIRTIO_BLK_HWIDS%) do if /i "%%~H"=="PCI\%SHORT%" set "KIND=BLK"
if not defined KIND for %%H in (%AERO_VIRTIO_NET_HWIDS%) do if /i "%%~H"=="PCI\%SHORT%" set "KIND=NET"
if not defined KIND for %%H in (%AERO_VIRTIO_INPUT_HWIDS%) do if /i "%%~H"=="PCI\%SHORT%" set "KIND=INPUT"
if not defined KIND for %%H in (%AERO_VIRTIO_SND_HWIDS%) do if /i "%%~H"=="PCI\%SHORT%" set "KIND=SND"
if defined KIND call set "WANT=%%AERO_VIRTIO_%KIND%_SERVICE%%"
"!REGEXE!" query "%D%" > "%AERO_TMP%.ins" 2>nul
for /f "usebackq delims=" %%E in ("%AERO_TMP%.ins") do (
  set "E=%%E"
  call :instance
)
goto :eof

rem One instance key E of device DEVNAME (reg query also lists the key
rem itself, which is skipped).
:instance
if /i "%E%"=="%D%" goto :eof
set "GOT="
"!REGEXE!" query "%E%" /v Service > "%AERO_TMP%" 2>nul
for /f "usebackq tokens=1,3" %%A in ("%AERO_TMP%") do if /i "%%A"=="Service" set "GOT=%%B"
set "OK=false"
if defined WANT if /i "!GOT!"=="!WANT!" set "OK=true"
if "!OK!"=="false" set "RC=1"
set /a NDEV+=1
set "M=  PCI\!DEVNAME! kind !KIND! bound to '!GOT!', expected '!WANT!': !OK!"
call :say
>>"!JSON!" echo    !SEP!{"id": "PCI\\!DEVNAME!", "kind": "!KIND!", "service": "!GOT!", "expected": "!WANT!", "ok": !OK!}
set "SEP=,"
goto :eof

:bang_path
echo verify.cmd: error: the folder of the media contains '!'; copy it to a folder without it.
set "RC=2"
goto end

:say
echo.!M!
>>"!LOG!" echo.!M!
goto :eof

:end
if exist "%AERO_TMP%" del "%AERO_TMP%"
if exist "%AERO_TMP%.pci" del "%AERO_TMP%.pci"
if exist "%AERO_TMP%.ins" del "%AERO_TMP%.ins"
if not defined QUIET pause
exit /b %RC%
