@echo off
rem uninstall.cmd: removes what setup.cmd of the Aero Guest Tools added,
rem as recorded in %SystemDrive%\AeroGuestTools\installed.txt.
rem Usage: uninstall.cmd [/quiet] [/cleanupstorage]
rem Exit codes: 0 done, 1 something could not be removed, 2 usage error,
rem 3 not elevated.
setlocal EnableExtensions DisableDelayedExpansion
set "ME=uninstall.cmd"
set "QUIET="
set "CLEANSTORAGE="
set "BADARG="
set "HELP="
set "RC=0"

rem Every option is read before anything can fail, so that /quiet holds
rem on every exit path; an unknown one is reported after the loop.
:args
if "%~1"=="" goto args_done
if /i "%~1"=="/quiet" set "QUIET=1" & goto args_next
if /i "%~1"=="/q" set "QUIET=1" & goto args_next
if /i "%~1"=="/cleanupstorage" set "CLEANSTORAGE=1" & goto args_next
if "%~1"=="/?" set "HELP=1" & goto args_next
if not defined BADARG set "BADARG=%~1"
:args_next
shift
goto args
:args_done
setlocal EnableDelayedExpansion
set "LOGDIR=%SystemDrive%\AeroGuestTools"
set "LOG=nul"
set "RECORD=!LOGDIR!\installed.txt"
set "AERO_TMP=%TEMP%\aero-uninstall-%RANDOM%.tmp"
if defined BADARG (
  set "M=!ME!: error: unknown option !BADARG!; see !ME! /?"
  call :say
  set "RC=2"
  goto end
)
if defined HELP (
  echo Usage: uninstall.cmd [/quiet] [/cleanupstorage]
  echo Removes the driver packages and certificates setup.cmd added.
  echo   /cleanupstorage  also undo the virtio-blk boot pre-seeding: service
  echo                    back to demand start, CriticalDeviceDatabase keys
  echo                    removed.  Windows booted from virtio-blk will
  echo                    then no longer boot.
  echo   /quiet           never prompt or pause
  goto end
)

set "SYSDIR=%SystemRoot%\System32"
if exist "%SystemRoot%\Sysnative\reg.exe" set "SYSDIR=%SystemRoot%\Sysnative"
set "REGEXE=!SYSDIR!\reg.exe"
set "PNPUTIL=!SYSDIR!\pnputil.exe"
set "CERTUTIL=!SYSDIR!\certutil.exe"

rem fltmc needs administrator rights and, unlike "net session", not the
rem Server service.
"!SYSDIR!\fltmc.exe" >nul 2>&1
if not "!errorlevel!"=="0" (
  set "M=!ME!: error: administrator rights are required. Right-click !ME! and choose Run as administrator."
  call :say
  set "RC=3"
  goto end
)
if not exist "!RECORD!" (
  set "M=Nothing to remove: !RECORD! does not exist."
  call :say
  goto end
)
set "LOG=!LOGDIR!\install.log"
>>"!LOG!" echo ==== !ME! !DATE! !TIME!

if defined CLEANSTORAGE (
  set "M=WARNING: /cleanupstorage: if this Windows boots from a virtio-blk disk, it will NOT boot again after this."
  call :say
  if not defined QUIET (
    choice /c YN /m "Undo the virtio-blk boot pre-seeding"
    if errorlevel 2 set "CLEANSTORAGE="
    if not errorlevel 1 set "CLEANSTORAGE="
  )
)

rem What stays recorded: the storage entries unless they were undone, and
rem whatever could not be removed.
copy /y "!RECORD!" "%AERO_TMP%.rec" >nul
type nul > "!RECORD!"
set "NKEPT=0"
type nul > "%AERO_TMP%.seen"
for /f "usebackq tokens=1,2,*" %%A in ("%AERO_TMP%.rec") do (
  set "KIND=%%A"
  set "A1=%%B"
  set "A2=%%C"
  call :undo_line
)
del "%AERO_TMP%.rec"
del "%AERO_TMP%.seen"
if "!NKEPT!"=="0" del "!RECORD!"
set "M=!ME! finished with exit code !RC!."
call :say
goto end

rem One line of installed.txt: KIND A1 A2.  What could not be undone, and
rem the storage entries unless /cleanupstorage, are written back.
:undo_line
rem setup.cmd run twice records a package twice: undo each line once.
set "DUP="
for /f "usebackq tokens=1,2,*" %%X in ("%AERO_TMP%.seen") do if "%%X %%Y %%Z"=="!KIND! !A1! !A2!" set "DUP=1"
if defined DUP goto :eof
>>"%AERO_TMP%.seen" echo !KIND! !A1! !A2!
set "KEEP="
set "FAIL="
set "M=unknown record line: !KIND!"
if "!KIND!"=="driver" call :undo_driver
if "!KIND!"=="cert" call :undo_cert
if "!KIND!"=="storage" call :undo_storage
if "!KIND!"=="cdd" call :undo_cdd
if defined FAIL set "KEEP=1"
if defined FAIL set "RC=1"
if defined KEEP >>"!RECORD!" echo !KIND! !A1! !A2!
if defined KEEP set /a NKEPT+=1
if defined FAIL set "M=  FAILED  !M!"
if not defined FAIL if defined KEEP set "M=  kept    !M!"
if not defined KEEP set "M=  done    !M!"
call :say
goto :eof

:undo_driver
set "M=remove driver package !A1!"
"!PNPUTIL!" -d !A1! >>"!LOG!" 2>&1
if not "!errorlevel!"=="0" set "FAIL=1"
goto :eof

:undo_cert
set "M=remove certificate !A2! from !A1!"
"!CERTUTIL!" -delstore !A1! !A2! >>"!LOG!" 2>&1
if not "!errorlevel!"=="0" set "FAIL=1"
goto :eof

:undo_storage
set "M=keep the boot pre-seeding of !A1!"
set "KEEP=1"
if not defined CLEANSTORAGE goto :eof
set "KEEP="
set "M=set service !A1! back to demand start"
"!REGEXE!" add "HKLM\SYSTEM\CurrentControlSet\Services\!A1!" /v Start /t REG_DWORD /d 3 /f >>"!LOG!" 2>&1
if not "!errorlevel!"=="0" set "FAIL=1"
goto :eof

:undo_cdd
set "M=keep !A1!"
set "KEEP=1"
if not defined CLEANSTORAGE goto :eof
set "KEEP="
set "M=delete !A1!"
"!REGEXE!" delete "!A1!" /f >>"!LOG!" 2>&1
if not "!errorlevel!"=="0" set "FAIL=1"
goto :eof

:say
echo.!M!
>>"!LOG!" echo.!M!
goto :eof

:end
if exist "%AERO_TMP%" del "%AERO_TMP%"
if not defined QUIET pause
exit /b %RC%
