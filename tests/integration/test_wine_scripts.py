#!/usr/bin/env python3
"""test_wine_scripts.py: runs the Windows scripts aerofs ships (the Guest
Tools' setup.cmd, uninstall.cmd, verify.cmd; the driver pack's install.cmd
and enable-testsigning.cmd) under Wine's cmd.exe, and checks what they did.

One throwaway WINEPREFIX per run.  pnputil, bcdedit, certutil and fltmc are
replaced by tests/integration/wine/stub.c (a Windows program built with
mingw-w64) that logs its path and arguments and exits with a chosen code;
certutil -hashfile really hashes.  reg.exe, copy, findstr and type are
Wine's own, so registry changes are read back from Wine's registry.  The
media is built here, laid out like the real Guest Tools media and pack,
with small fake drivers and a manifest.json in the media contract's format.

Wine's cmd differs from Windows 7's, and the harness (never the scripts)
works around it:
- Wine turns a program's exit code 259 into 0, so the 259 case of pnputil
  is not run; 0 and 3010 are.
- Wine re-expands '%' found inside %~dp0, so no media path has a '%'.
- Wine's choice accepts only /C:YN, so every run avoids the prompts
  (/quiet, /testsigning, /notestsigning, /noreboot).
- Wine has no Sysnative folder and no PROCESSOR_ARCHITEW6432: a 32-bit
  prompt on 64-bit Windows is made by a wrapper that sets the two
  variables and a C:\\windows\\Sysnative folder holding reg.exe and the stubs.
- Wine's PROCESSOR_ARCHITECTURE is AMD64; the x86 cases set it to x86 in
  the wrapper (a 64-bit Wine prefix stands in for the x86 Windows).
- Wine runs its own builtin certutil.exe even over a file in system32:
  WINEDLLOVERRIDES makes it load the stub ("certutil.exe=n").
- Wine 8's findstr matches nothing and exits 0, and its cmd does not apply
  !VAR:...! edits (substitution, substrings); the scripts use neither
  (string edits are %VAR:...% on lines of their own), which is the form
  both implementations agree on.
- Wine's pause returns at end of input: runs read /dev/null, and a pause is
  seen as its "Press any key" line.

The scripts of real media run too: the Guest Tools and the driver pack
that aerofs-export makes of the build's fixture (or the exported media
directories AERO_WINE_GT_MEDIA and AERO_WINE_PACK_MEDIA name).

SKIPs without wine or x86_64-w64-mingw32-gcc.
"""

import atexit
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aerofs_test as T  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.join(T.SOURCE_ROOT, "catalog", "stage", "scripts")
GEN = os.path.join(SCRIPTS, "gen_winscripts.py")
STUB_SRC = os.path.join(HERE, "wine", "stub.c")
MINGW = "x86_64-w64-mingw32-gcc"
STUBS = ["pnputil", "bcdedit", "certutil", "fltmc"]

BLK_HWIDS = ["PCI\\VEN_1AF4&DEV_1042&SUBSYS_00021AF4&REV_01",
             "PCI\\VEN_1AF4&DEV_1042&SUBSYS_00021AF4",
             "PCI\\VEN_1AF4&DEV_1042&REV_01", "PCI\\VEN_1AF4&DEV_1042",
             "PCI\\VEN_1AF4&DEV_1001&SUBSYS_00021AF4",
             "PCI\\VEN_1AF4&DEV_1001"]
NET_HWIDS = ["PCI\\VEN_1AF4&DEV_1041&SUBSYS_00011AF4&REV_01",
             "PCI\\VEN_1AF4&DEV_1041", "PCI\\VEN_1AF4&DEV_1000"]
INPUT_HWIDS = ["PCI\\VEN_1AF4&DEV_1052&SUBSYS_11001AF4&REV_01",
               "PCI\\VEN_1AF4&DEV_1052"]
CDD = "HKLM\\SYSTEM\\CurrentControlSet\\Control\\CriticalDeviceDatabase"
SVC = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\viostor"
PRESS = "Press any key"


class Wine:
    """One prefix for the whole run; every run goes through a wrapper."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="aerofs-wine-")
        self.prefix = os.path.join(self.root, "pfx")
        self.env = dict(os.environ, WINEPREFIX=self.prefix, WINEDEBUG="-all",
                        WINEDLLOVERRIDES="mscoree,mshtml=;certutil.exe=n",
                        WINEARCH="win64",
                        DISPLAY="")
        self.env.pop("WAYLAND_DISPLAY", None)
        stub = os.path.join(self.root, "stub.exe")
        subprocess.run([MINGW, "-O1", "-o", stub, STUB_SRC], check=True)
        subprocess.run(["wine", "wineboot", "-i"], env=self.env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.c = os.path.join(self.prefix, "drive_c")
        self.sys32 = os.path.join(self.c, "windows", "system32")
        self.native = os.path.join(self.c, "windows", "Sysnative")
        for name in STUBS:
            shutil.copy(stub, os.path.join(self.sys32, name + ".exe"))
        os.makedirs(os.path.join(self.sys32, "drivers"), exist_ok=True)
        os.makedirs(os.path.join(self.c, "harness"), exist_ok=True)
        self.stub = stub
        atexit.register(self.close)

    def close(self):
        subprocess.run(["wineserver", "-k"], env=self.env,
                       stderr=subprocess.DEVNULL)
        subprocess.run(["wineserver", "-w"], env=self.env,
                       stderr=subprocess.DEVNULL)
        shutil.rmtree(self.root, ignore_errors=True)

    def win(self, path):
        """The C: path of a file under drive_c."""
        rel = os.path.relpath(path, self.c)
        return "C:\\" + rel.replace("/", "\\")

    def run(self, script, args=(), arch="amd64", rc=None, env=None):
        """Runs SCRIPT (a host path under drive_c) with ARGS.  RC maps a
        stub name to its exit code.  Returns (exit code, output, calls)."""
        log = os.path.join(self.c, "harness", "stub.log")
        if os.path.exists(log):
            os.remove(log)
        lines = ["@echo off", "cd /d C:\\harness"]
        if arch == "x86":
            lines += ["set PROCESSOR_ARCHITECTURE=x86",
                      "set PROCESSOR_ARCHITEW6432="]
        elif arch == "wow64":
            lines += ["set PROCESSOR_ARCHITECTURE=x86",
                      "set PROCESSOR_ARCHITEW6432=AMD64"]
        # No CALL: it would double the carets of the path.  The script
        # replaces the wrapper and its exit code is cmd's.
        lines.append('"%AERO_SCRIPT%" %AERO_ARGS%')
        with open(os.path.join(self.c, "harness", "run.cmd"), "wb") as f:
            f.write(("\r\n".join(lines) + "\r\n").encode())
        e = dict(self.env, AERO_SCRIPT=self.win(script),
                 AERO_ARGS=" ".join(args), AERO_STUB_LOG="C:\\harness\\stub.log")
        for k, v in (rc or {}).items():
            e["AERO_STUB_RC_" + k.upper()] = str(v)
        e.update(env or {})
        if arch == "wow64":
            os.makedirs(os.path.join(self.native, "drivers"), exist_ok=True)
            shutil.copy(os.path.join(self.sys32, "reg.exe"), self.native)
            for name in STUBS:
                shutil.copy(self.stub, os.path.join(self.native,
                                                    name + ".exe"))
        try:
            p = subprocess.run(["wine", "cmd", "/c", "C:\\harness\\run.cmd"],
                               env=e, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=120)
        finally:
            if arch == "wow64":
                self.wow64_drivers = os.listdir(
                    os.path.join(self.native, "drivers"))
                shutil.rmtree(self.native)
        out = p.stdout.decode("latin-1").replace("\r\n", "\n")
        calls = []
        if os.path.exists(log):
            with open(log, encoding="latin-1") as f:
                calls = [ln.rstrip("\n").split("|") for ln in f]
        return p.returncode, out, calls

    def reg(self, *args):
        p = subprocess.run(["wine", "reg"] + list(args), env=self.env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        return p.returncode, p.stdout.decode("latin-1").replace("\r\n", "\n")

    def values(self, key):
        """{name: (type, data)} of KEY, or None when it does not exist."""
        rc, out = self.reg("query", key)
        if rc != 0:
            return None
        vals = {}
        for ln in out.split("\n"):
            parts = ln.strip().split(None, 2)
            if ln.startswith("    ") and len(parts) >= 2:
                vals[parts[0]] = (parts[1], parts[2] if len(parts) > 2
                                  else "")
        return vals

    def subkeys(self, key):
        rc, out = self.reg("query", key)
        if rc != 0:
            return []
        return [ln.rsplit("\\", 1)[1] for ln in out.split("\n")
                if ln.upper().startswith("HKEY_") and
                ln.rstrip().lower() != expand(key).lower()]

    def reset(self):
        """Undoes what a case may have left in the registry and on C:."""
        self.reg("delete", SVC, "/f")
        for k in self.subkeys(CDD):
            if "VEN_1AF4" in k.upper():
                self.reg("delete", CDD + "\\" + k, "/f")
        shutil.rmtree(os.path.join(self.c, "AeroGuestTools"),
                      ignore_errors=True)
        drv = os.path.join(self.sys32, "drivers", "viostor.sys")
        if os.path.exists(drv):
            os.remove(drv)


def expand(key):
    return key.replace("HKLM\\", "HKEY_LOCAL_MACHINE\\", 1)


_wine = None


def wine():
    global _wine
    if _wine is None:
        _wine = Wine()
    return _wine


# ---- media -----------------------------------------------------------------

DRIVERS = {"viostor": "viostor", "netkvm": "netkvm", "vioinput": "vioinput"}


def inf_text(drv, arch):
    dec = "NTamd64" if arch == "amd64" else "NTx86"
    return ("; fake %s for the Wine script test\r\n"
            "[Version]\r\nSignature=\"$WINDOWS NT$\"\r\n"
            "Class=SCSIAdapter\r\nCatalogFile=%s.cat\r\n\r\n"
            "[Manufacturer]\r\n%%RH%%=Standard,%s\r\n\r\n"
            "[%s.Service]\r\n"
            "AddService = %s, 0x00000002, %s_Service_Inst\r\n"
            % (drv, drv, dec, drv, drv, drv)).encode()


def devices_cmd():
    def q(ids):
        return " ".join('"%s"' % i for i in ids)
    return ("@rem config\\devices.cmd: generated by aerofs (test). Do not edit.\r\n"
            'set "AERO_VIRTIO_BLK_SERVICE=viostor"\r\n'
            'set "AERO_VIRTIO_BLK_SYS=viostor.sys"\r\n'
            "set AERO_VIRTIO_BLK_HWIDS=%s\r\n"
            'set "AERO_VIRTIO_NET_SERVICE=netkvm"\r\n'
            "set AERO_VIRTIO_NET_HWIDS=%s\r\n"
            'set "AERO_VIRTIO_INPUT_SERVICE=vioinput"\r\n'
            "set AERO_VIRTIO_INPUT_HWIDS=%s\r\n"
            'set "AERO_VIRTIO_SND_SERVICE="\r\n'
            "set AERO_VIRTIO_SND_HWIDS=\r\n"
            % (q(BLK_HWIDS), q(NET_HWIDS), q(INPUT_HWIDS))).encode()


def script_text(name):
    out = os.path.join(wine().root, "gen-" + name)
    subprocess.run([sys.executable, GEN, "--expand",
                    os.path.join(SCRIPTS, name), out], check=True)
    with open(out, "rb") as f:
        return f.read()


def make_media(name, kind="gt", policy="test", certs=True, service="viostor",
               digest="sha1"):
    """A Guest Tools media (KIND "gt") or a driver pack ("pack") under
    C:\\media\\NAME.  Returns its host path."""
    root = os.path.join(wine().c, "media", name)
    shutil.rmtree(root, ignore_errors=True)
    files = {}
    top = "drivers" if kind == "gt" else "win7"
    for arch in ("x86", "amd64"):
        for drv in DRIVERS:
            d = "%s/%s/%s/" % (top, arch, drv)
            svc = service if drv == "viostor" else drv
            files[d + drv + ".inf"] = inf_text(svc, arch)
            files[d + drv + ".sys"] = b"MZ fake %s %s driver\0" % (
                drv.encode(), arch.encode())
            files[d + drv + ".cat"] = b"0\x82 fake catalog"
    files["config/devices.cmd"] = devices_cmd()
    if kind == "gt":
        for s in ("setup.cmd", "uninstall.cmd", "verify.cmd"):
            files[s] = script_text(s)
        files["README.txt"] = b"Aero Guest Tools (test media)\r\n"
        files["THIRD_PARTY_NOTICES.md"] = b"notices\r\n"
        files["licenses/virtio-win/LICENSE"] = b"license\r\n"
        if certs:
            files["certs/aero-test.cer"] = b"0\x82\x01\x0a fake DER cert"
    else:
        for s in ("install.cmd", "enable-testsigning.cmd"):
            files[s] = script_text(s)
    for rel, data in files.items():
        p = os.path.join(root, *rel.split("/"))
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
    os.makedirs(os.path.join(root, "certs"), exist_ok=True)
    rows = ['    {"path": "%s", "size": %d, "sha256": "%s"}'
            % (rel, len(data), hashlib.sha256(data).hexdigest())
            for rel, data in sorted(files.items())]
    man = ('{\n  "schema": "aero-guest-tools/1",\n'
           '  "signing_policy": "%s",\n'
           '  "catalogs": [\n    {\n      "driver": "viostor",\n'
           '      "digest": "%s"\n    }\n  ],\n'
           '  "files": [\n%s\n  ]\n}\n'
           % (policy, digest, ",\n".join(rows)))
    with open(os.path.join(root, "manifest.json"), "w") as f:
        f.write(man)
    json.loads(man)
    return root


# Paths with a space, &, (, ), ^ and non-ASCII letters.
ODD = "Aero Tools & (x86) ^ caf\u00e9 \u00e5\u00df"


# ---- checks -----------------------------------------------------------------

def check_preseeded(w, drivers_dir=None):
    v = w.values(SVC)
    assert v is not None, "no service key"
    assert v["Type"] == ("REG_DWORD", "0x1"), v
    assert v["Start"] == ("REG_DWORD", "0x0"), v
    assert v["ErrorControl"] == ("REG_DWORD", "0x1"), v
    assert v["Group"] == ("REG_SZ", "SCSI miniport"), v
    assert v["ImagePath"] == ("REG_EXPAND_SZ",
                              "system32\\drivers\\viostor.sys"), v
    for hw in BLK_HWIDS:
        for suffix in ("", "&CC_010000", "&CC_0100"):
            key = CDD + "\\" + hw.replace("\\", "#") + suffix
            cv = w.values(key)
            assert cv is not None, key
            assert cv["Service"] == ("REG_SZ", "viostor"), (key, cv)
            assert cv["ClassGUID"] == (
                "REG_SZ", "{4D36E97B-E325-11CE-BFC1-08002BE10318}"), cv
            assert cv["Class"] == ("REG_SZ", "SCSIAdapter"), cv
    n = sum(1 for k in w.subkeys(CDD) if "VEN_1AF4" in k.upper())
    assert n == 3 * len(BLK_HWIDS), n
    if drivers_dir is None:
        drivers_dir = os.path.join(w.sys32, "drivers")
    with open(os.path.join(drivers_dir, "viostor.sys"), "rb") as f:
        assert f.read().startswith(b"MZ fake viostor"), "wrong .sys"


def check_not_preseeded(w):
    assert w.values(SVC) is None, w.values(SVC)
    assert not [k for k in w.subkeys(CDD) if "VEN_1AF4" in k.upper()]
    assert not os.path.exists(os.path.join(w.sys32, "drivers",
                                           "viostor.sys"))


def names(calls):
    return [c[0] for c in calls]


def of(calls, tool):
    """The argument lists of TOOL's calls."""
    return [c[2:] for c in calls if c[0] == tool]


def state(w):
    """What a run may change: registry keys and files, for /check."""
    return (w.values(SVC), sorted(w.subkeys(CDD)),
            sorted(os.listdir(os.path.join(w.sys32, "drivers"))),
            os.path.exists(os.path.join(w.c, "AeroGuestTools")))


# ---- setup.cmd ---------------------------------------------------------------

def test_check_changes_nothing():
    w = wine()
    w.reset()
    m = make_media(ODD)
    before = state(w)
    # /check needs no elevation: fltmc failing does not matter
    rc, out, calls = w.run(os.path.join(m, "setup.cmd"), ["/check", "/quiet"],
                           rc={"fltmc": 5})
    assert rc == 0, (rc, out)
    assert "complete for amd64" in out, out
    assert PRESS not in out, out
    assert state(w) == before, "/check changed something"
    # /check needs no elevation and runs no tool that changes the system
    for c in calls:
        assert c[0] == "certutil" and c[2].lower() != "-addstore", calls
    assert "fltmc" not in names(calls), calls
    rc, out, _ = w.run(os.path.join(m, "setup.cmd"), ["/check"])
    assert rc == 0 and PRESS in out, (rc, out)  # pauses without /quiet
    assert state(w) == before, "/check changed something"


def test_setup_amd64():
    w = wine()
    w.reset()
    m = make_media(ODD)
    rc, out, calls = w.run(os.path.join(m, "setup.cmd"),
                           ["/quiet", "/testsigning"],
                           env={"AERO_STUB_OEM": "42"})
    assert rc == 0, (rc, out)
    assert PRESS not in out, out
    check_preseeded(w)
    assert "fltmc" in names(calls)
    infs = [a[-1] for a in of(calls, "pnputil")]
    assert len(infs) == 3, calls
    for i in infs:
        assert "\\drivers\\amd64\\" in i and ODD in i, i
    adds = [a for a in of(calls, "certutil") if a[0] == "-addstore"]
    assert sorted(a[2] for a in adds) == ["Root", "TrustedPublisher"], adds
    assert all(a[3].endswith("certs\\aero-test.cer") for a in adds), adds
    assert of(calls, "bcdedit") == [["/set", "testsigning", "on"]], calls
    # every call went to the 64-bit System32 (no Sysnative here)
    assert all("\\system32\\" in c[1].lower() for c in calls), calls
    with open(os.path.join(w.c, "AeroGuestTools", "installed.txt")) as f:
        rec = f.read()
    drivers = sorted(ln.split()[1] for ln in rec.splitlines()
                     if ln.startswith("driver "))
    assert len(set(drivers)) == 3, rec
    assert "cert Root " in rec and "cert TrustedPublisher " in rec, rec
    assert "storage viostor" in rec, rec
    log = os.path.join(w.c, "AeroGuestTools", "install.log")
    with open(log, encoding="latin-1") as f:
        text = f.read()
    assert "pre-seeded" in text and "Driver packages: 3 staged" in text


def test_uninstall():
    w = wine()
    m = make_media(ODD)
    with open(os.path.join(w.c, "AeroGuestTools", "installed.txt")) as f:
        drivers = sorted(ln.split()[1] for ln in f.read().splitlines()
                         if ln.startswith("driver "))
    # setup run a second time records the same packages again
    rc, out, calls = w.run(os.path.join(m, "setup.cmd"),
                           ["/quiet", "/notestsigning"],
                           env={"AERO_STUB_OEM": "42"})
    assert rc == 0, (rc, out)
    # without /cleanupstorage the boot pre-seeding stays
    rc, out, calls = w.run(os.path.join(m, "uninstall.cmd"), ["/quiet"])
    assert rc == 0, (rc, out)
    assert sorted(a[1] for a in of(calls, "pnputil")) == drivers, calls
    assert all(a[0] == "-d" for a in of(calls, "pnputil")), calls
    dels = of(calls, "certutil")
    assert sorted(d[1] for d in dels) == ["Root", "TrustedPublisher"], dels
    sha1 = hashlib.sha1(b"0\x82\x01\x0a fake DER cert").hexdigest()
    assert all(d[0] == "-delstore" and d[2] == sha1 for d in dels), dels
    check_preseeded(w)
    rc, out, calls = w.run(os.path.join(m, "uninstall.cmd"),
                           ["/quiet", "/cleanupstorage"])
    assert rc == 0, (rc, out)
    assert "will NOT boot" in out, out
    assert "pnputil" not in names(calls), calls  # already removed
    v = w.values(SVC)
    assert v["Start"] == ("REG_DWORD", "0x3"), v
    assert not [k for k in w.subkeys(CDD) if "VEN_1AF4" in k.upper()]
    assert not os.path.exists(os.path.join(w.c, "AeroGuestTools",
                                           "installed.txt"))


def test_setup_x86():
    w = wine()
    w.reset()
    m = make_media("x86 media")
    rc, out, calls = w.run(os.path.join(m, "setup.cmd"), ["/quiet"],
                           arch="x86")
    assert rc == 0, (rc, out)
    infs = [a[-1] for a in of(calls, "pnputil")]
    assert len(infs) == 3 and all("\\drivers\\x86\\" in i for i in infs)
    assert "bcdedit" not in names(calls), calls  # no test signing on x86
    check_preseeded(w)
    with open(os.path.join(w.sys32, "drivers", "viostor.sys"), "rb") as f:
        assert b"x86" in f.read()


def test_setup_wow64():
    """A 32-bit prompt on 64-bit Windows: amd64 drivers, 64-bit tools and
    the real drivers folder through Sysnative."""
    w = wine()
    w.reset()
    m = make_media(ODD)
    rc, out, calls = w.run(os.path.join(m, "setup.cmd"),
                           ["/quiet", "/notestsigning"], arch="wow64")
    assert rc == 0, (rc, out)
    infs = [a[-1] for a in of(calls, "pnputil")]
    assert len(infs) == 3 and all("\\drivers\\amd64\\" in i for i in infs)
    assert calls and all("\\sysnative\\" in c[1].lower() for c in calls), \
        calls
    assert "bcdedit" not in names(calls), calls
    assert w.wow64_drivers == ["viostor.sys"], w.wow64_drivers
    assert not os.path.exists(os.path.join(w.sys32, "drivers",
                                           "viostor.sys"))
    assert w.values(SVC)["Start"] == ("REG_DWORD", "0x0")


def test_verify_media():
    w = wine()
    w.reset()
    m = make_media(ODD)
    rc, out, calls = w.run(os.path.join(m, "setup.cmd"),
                           ["/verify-media", "/quiet"])
    assert rc == 0, (rc, out)
    n = len(json.load(open(os.path.join(m, "manifest.json")))["files"])
    assert "%d file(s) match manifest.json, 0 do not" % n in out, out
    assert len(of(calls, "certutil")) == n, calls
    assert all(a[0] == "-hashfile" and a[2] == "SHA256"
               for a in of(calls, "certutil"))
    with open(os.path.join(m, "drivers", "amd64", "netkvm", "netkvm.sys"),
              "ab") as f:
        f.write(b"tampered")
    rc, out, _ = w.run(os.path.join(m, "setup.cmd"),
                       ["/verify-media", "/quiet"])
    assert rc == 7, (rc, out)
    assert "drivers\\amd64\\netkvm\\netkvm.sys" in out, out
    os.remove(os.path.join(m, "README.txt"))
    rc, out, _ = w.run(os.path.join(m, "setup.cmd"),
                       ["/verify-media", "/quiet"])
    assert rc == 7 and "README.txt" in out, (rc, out)
    check_not_preseeded(w)


def test_exit_codes():
    w = wine()
    w.reset()
    m = make_media("codes")
    setup = os.path.join(m, "setup.cmd")
    # 2: usage, and /quiet after the bad option still holds
    rc, out, _ = w.run(setup, ["/bogus", "/quiet"])
    assert rc == 2 and "unknown option /bogus" in out and PRESS not in out
    rc, out, _ = w.run(setup, ["/bogus"])
    assert rc == 2 and PRESS in out, out
    # 3: not elevated, also with a negative code (0x80070005)
    for code in (5, -2147024891):
        rc, out, calls = w.run(setup, ["/quiet"], rc={"fltmc": code})
        assert rc == 3 and "administrator" in out, (code, rc, out)
        assert names(calls) == ["fltmc"], calls
    # 1: a driver failed, for a positive and a negative pnputil code
    for code in (1, -536870347):
        rc, out, _ = w.run(setup, ["/quiet"], rc={"pnputil": code})
        assert rc == 1, (code, rc, out)
        assert "pnputil exit code %d" % code in out, out
    # 3010 is success, with a restart asked for (/skipstorage: this case
    # is about pnputil's code; the pre-seeding has cases of its own)
    rc, out, _ = w.run(setup, ["/quiet", "/skipstorage"],
                       rc={"pnputil": 3010})
    assert rc == 0 and "Restart Windows" in out, (rc, out)
    # 8: bcdedit fails with 0x80070005
    rc, out, _ = w.run(setup, ["/quiet", "/testsigning"],
                       rc={"bcdedit": -2147024891})
    assert rc == 8 and "bcdedit" in out, (rc, out)
    w.reset()
    # 5: policy test and no certificate
    m5 = make_media("codes", certs=False)
    rc, out, _ = w.run(setup, ["/quiet"])
    assert rc == 5, (rc, out)
    rc, out, _ = w.run(setup, ["/check", "/quiet"])
    assert rc == 5, (rc, out)
    # production policy needs none
    make_media("codes", certs=False, policy="production")
    rc, out, _ = w.run(setup, ["/check", "/quiet"])
    assert rc == 0, (rc, out)
    # 6: the storage service is in no INF
    make_media("codes", service="notviostor")
    rc, out, _ = w.run(setup, ["/check", "/quiet"])
    assert rc == 6 and "viostor" in out, (rc, out)
    # 4: no driver folder for this arch; no devices.cmd
    make_media("codes")
    shutil.rmtree(os.path.join(m5, "drivers", "amd64"))
    rc, out, _ = w.run(setup, ["/check", "/quiet"])
    assert rc == 4, (rc, out)
    make_media("codes")
    os.remove(os.path.join(m5, "config", "devices.cmd"))
    rc, out, _ = w.run(setup, ["/check", "/quiet"])
    assert rc == 4, (rc, out)
    check_not_preseeded(w)


def test_skipstorage():
    w = wine()
    w.reset()
    m = make_media("skip")
    rc, out, _ = w.run(os.path.join(m, "setup.cmd"),
                       ["/quiet", "/skipstorage", "/notestsigning"])
    assert rc == 0, (rc, out)
    assert "WARNING" in out and "NOT pre-seeded" in out, out
    assert os.path.exists(os.path.join(w.c, "AeroGuestTools",
                                       "storage-not-preseeded.txt"))
    check_not_preseeded(w)


def test_other_exit_codes():
    """uninstall.cmd 1, 2, 3; verify.cmd 2, 4; install.cmd 6."""
    w = wine()
    w.reset()
    m = make_media("others")
    rc, out, _ = w.run(os.path.join(m, "setup.cmd"),
                       ["/quiet", "/notestsigning"])
    assert rc == 0, (rc, out)
    un = os.path.join(m, "uninstall.cmd")
    rc, out, calls = w.run(un, ["/quiet"], rc={"fltmc": -2147024891})
    assert rc == 3 and names(calls) == ["fltmc"], (rc, out, calls)
    rc, out, _ = w.run(un, ["/nope", "/quiet"])
    assert rc == 2 and PRESS not in out, (rc, out)
    rc, out, _ = w.run(un, ["/quiet"], rc={"pnputil": -536870347})
    assert rc == 1 and "FAILED" in out, (rc, out)
    with open(os.path.join(w.c, "AeroGuestTools", "installed.txt")) as f:
        rec = f.read()
    assert len([ln for ln in rec.splitlines()
                if ln.startswith("driver oem")]) == 3, rec  # kept for a retry
    assert "cert Root" not in rec, rec              # those went
    rc, out, calls = w.run(un, ["/quiet"])
    assert rc == 0 and len(of(calls, "pnputil")) == 3, (rc, out)
    ver = os.path.join(m, "verify.cmd")
    rc, out, _ = w.run(ver, ["/nope", "/quiet"])
    assert rc == 2, (rc, out)
    os.remove(os.path.join(m, "config", "devices.cmd"))
    rc, out, _ = w.run(ver, ["/quiet"])
    assert rc == 4, (rc, out)
    p = make_media("others", kind="pack", service="notviostor")
    rc, out, calls = w.run(os.path.join(p, "install.cmd"), ["/quiet"])
    assert rc == 6 and "pnputil" not in names(calls), (rc, out)
    w.reset()


# ---- verify.cmd --------------------------------------------------------------

ENUM = "HKLM\\SYSTEM\\CurrentControlSet\\Enum\\PCI"


def test_verify():
    w = wine()
    w.reset()
    m = make_media(ODD)
    rc, out, _ = w.run(os.path.join(m, "setup.cmd"),
                       ["/quiet", "/notestsigning"])
    assert rc == 0, (rc, out)
    blk = ENUM + "\\VEN_1AF4&DEV_1042&SUBSYS_00021AF4&REV_01\\3&13c0b0c5&0&20"
    # a REV devices.cmd does not list still matches by VEN&DEV
    net = ENUM + "\\VEN_1AF4&DEV_1041&SUBSYS_00011AF4&REV_02\\3&13c0b0c5&0&18"
    try:
        assert w.reg("add", blk, "/v", "Service", "/t", "REG_SZ",
                     "/d", "viostor", "/f")[0] == 0
        rc, out, _ = w.run(os.path.join(m, "verify.cmd"), ["/quiet"],
                           env={"AERO_STUB_TESTSIGNING": "1"})
        assert rc == 0, (rc, out)
        rep = os.path.join(w.c, "AeroGuestTools")
        with open(os.path.join(rep, "verify.json")) as f:
            j = json.load(f)
        assert j["storage_boot_start"] is True, j
        assert j["critical_device_database"] is True, j
        assert j["testsigning"] == "on", j
        assert j["sha2_update"] is False, j
        assert j["sha256_catalogs"] is False, j
        assert j["exit_code"] == 0, j
        assert [(d["id"], d["kind"], d["service"], d["ok"])
                for d in j["devices"]] == [
            ("PCI\\VEN_1AF4&DEV_1042&SUBSYS_00021AF4&REV_01", "BLK",
             "viostor", True)], j
        with open(os.path.join(rep, "verify.txt"), encoding="latin-1") as f:
            assert "bound to 'viostor'" in f.read()
        # a present virtio-net with no driver bound: exit 1
        assert w.reg("add", net, "/v", "DeviceDesc", "/t", "REG_SZ",
                     "/d", "x", "/f")[0] == 0
        rc, out, _ = w.run(os.path.join(m, "verify.cmd"), ["/quiet"])
        assert rc == 1, (rc, out)
        with open(os.path.join(rep, "verify.json")) as f:
            j = json.load(f)
        bad = [d for d in j["devices"] if not d["ok"]]
        assert [(d["kind"], d["service"], d["expected"]) for d in bad] == [
            ("NET", "", "netkvm")], j
        # a SHA-256 catalog without the SHA-2 update: a warning; with it,
        # none
        make_media(ODD, digest="sha256")
        rc, out, _ = w.run(os.path.join(m, "verify.cmd"), ["/quiet"])
        assert rc == 1 and "SHA-2 update is missing" in out, (rc, out)
        with open(os.path.join(rep, "verify.json")) as f:
            assert json.load(f)["sha256_catalogs"] is True
        cbs = ("HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\"
               "Component Based Servicing\\Packages\\"
               "Package_for_KB4474419~31bf3856ad364e35~amd64~~6.1.4.0")
        assert w.reg("add", cbs, "/f")[0] == 0
        try:
            rc, out, _ = w.run(os.path.join(m, "verify.cmd"), ["/quiet"])
        finally:
            w.reg("delete", cbs, "/f")
        assert "SHA-2 update is missing" not in out, out
        with open(os.path.join(rep, "verify.json")) as f:
            assert json.load(f)["sha2_update"] is True
        # pre-seeding undone: the report says so
        w.reg("delete", CDD + "\\PCI#VEN_1AF4&DEV_1001", "/f")
        rc, out, _ = w.run(os.path.join(m, "verify.cmd"), ["/quiet"])
        with open(os.path.join(rep, "verify.json")) as f:
            assert json.load(f)["critical_device_database"] is False
    finally:
        w.reg("delete", ENUM + "\\VEN_1AF4&DEV_1042&SUBSYS_00021AF4&REV_01",
              "/f")
        w.reg("delete", ENUM + "\\VEN_1AF4&DEV_1041&SUBSYS_00011AF4&REV_02",
              "/f")


# ---- the driver pack's install.cmd and enable-testsigning.cmd ---------------

def test_pack_install():
    w = wine()
    w.reset()
    m = make_media(ODD, kind="pack")
    inst = os.path.join(m, "install.cmd")
    rc, out, calls = w.run(inst, ["/quiet"])
    assert rc == 0, (rc, out)
    assert PRESS not in out
    infs = [a[-1] for a in of(calls, "pnputil")]
    assert len(infs) == 3 and all("\\win7\\amd64\\" in i for i in infs)
    check_preseeded(w)
    w.reset()
    rc, out, calls = w.run(inst, ["/skipstorage", "/quiet"])
    assert rc == 0 and "NOT pre-seeded" in out, (rc, out)
    check_not_preseeded(w)
    # a failure on 32-bit Windows does not advise test signing
    rc, out, _ = w.run(inst, ["/quiet"], arch="x86", rc={"pnputil": 5})
    assert rc == 1 and "enable-testsigning" not in out, (rc, out)
    rc, out, _ = w.run(inst, ["/quiet"], rc={"pnputil": -536870347})
    assert rc == 1 and "enable-testsigning" in out, (rc, out)
    w.reset()
    rc, out, calls = w.run(inst, ["/quiet"], rc={"fltmc": -2147024891})
    assert rc == 3 and names(calls) == ["fltmc"], (rc, out, calls)
    rc, out, _ = w.run(inst, ["/bogus", "/quiet"])
    assert rc == 2 and PRESS not in out, (rc, out)
    rc, out, _ = w.run(inst, ["/bogus"])
    assert rc == 2 and PRESS in out, (rc, out)
    os.remove(os.path.join(m, "config", "devices.cmd"))
    rc, out, _ = w.run(inst, ["/quiet"])
    assert rc == 4, (rc, out)
    check_not_preseeded(w)


def test_pack_bang_path():
    w = wine()
    m = make_media("bang!pack", kind="pack")
    for args in (["/quiet"], []):
        rc, out, calls = w.run(os.path.join(m, "install.cmd"), args)
        assert rc == 2 and "'!'" in out, (rc, out)
        assert (PRESS in out) == (not args), out
        assert not calls, calls


def test_testsigning():
    w = wine()
    m = make_media(ODD, kind="pack")
    ts = os.path.join(m, "enable-testsigning.cmd")
    rc, out, calls = w.run(ts, ["/noreboot", "/quiet"])
    assert rc == 0 and "Test signing is on" in out, (rc, out)
    assert of(calls, "bcdedit") == [["/set", "testsigning", "on"]]
    # bcdedit failing with 0x80070005 is a failure, not "on"
    for quiet in (True, False):
        rc, out, _ = w.run(ts, ["/noreboot"] + (["/quiet"] if quiet else []),
                           rc={"bcdedit": -2147024891})
        assert rc == 1 and "Test signing is on" not in out, (rc, out)
        assert (PRESS in out) != quiet, out
    # not elevated, also as a negative code; every exit path pauses
    for code in (5, -2147024891):
        rc, out, calls = w.run(ts, ["/noreboot"], rc={"fltmc": code})
        assert rc == 3 and PRESS in out and "bcdedit" not in names(calls)
    rc, out, calls = w.run(ts, [], arch="x86")
    assert rc == 0 and "32-bit Windows" in out and PRESS in out
    assert not of(calls, "bcdedit"), calls
    rc, out, calls = w.run(ts, ["/force", "/noreboot", "/quiet"], arch="x86")
    assert rc == 0 and of(calls, "bcdedit"), (rc, out, calls)
    rc, out, calls = w.run(ts, ["/quiet", "/noreboot"], arch="wow64")
    assert rc == 0 and all("\\sysnative\\" in c[1].lower() for c in calls)
    # /quiet after an unknown option still holds; an argument with ')'
    # runs nothing after it
    rc, out, _ = w.run(ts, ["/bogus", "/quiet"])
    assert rc == 2 and PRESS not in out, (rc, out)
    marker = os.path.join(w.c, "harness", "ran.txt")
    with open(os.path.join(w.c, "harness", "bar.cmd"), "wb") as f:
        f.write(b"@echo ran > C:\\harness\\ran.txt\r\n")
    rc, out, _ = w.run(ts, ['"foo)bar"', "/quiet"])  # cwd C:\harness
    assert rc == 2 and "foo)bar" in out, (rc, out)
    assert not os.path.exists(marker)
    rc, out, _ = w.run(ts, ["/?"])
    assert rc == 0 and "Usage" in out and PRESS in out


# ---- real media ---------------------------------------------------------------

def copy_media(src, name):
    dst = os.path.join(wine().c, "media", name)
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    return dst


def real_media(env, profile):
    """The directory ENV names, else aerofs-export --profile PROFILE of
    the build's fixture."""
    src = os.environ.get(env)
    if src:
        return src
    if not os.access(T.EXPORT, os.X_OK):
        raise T.Skip("aerofs-export not built and %s not set" % env)
    out = os.path.join(T.tmpdir(), profile)
    r = subprocess.run([T.EXPORT, "-q", "--profile", profile,
                        T.fixture_iso(T.fixture()), out],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return out


def test_real_guest_tools():
    """The Guest Tools media aerofs exports: setup.cmd /check,
    /verify-media, an install and an uninstall."""
    src = real_media("AERO_WINE_GT_MEDIA", "guest-tools")
    w = wine()
    w.reset()
    m = copy_media(src, ODD + " gt")
    setup = os.path.join(m, "setup.cmd")
    before = state(w)
    rc, out, _ = w.run(setup, ["/check", "/quiet"])
    assert rc == 0 and state(w) == before, (rc, out)
    rc, out, _ = w.run(setup, ["/verify-media", "/quiet"])
    assert rc == 0 and " 0 do not" in out, (rc, out)
    rc, out, _ = w.run(setup, ["/quiet", "/notestsigning"])
    assert rc == 0, (rc, out)
    v = w.values(SVC.rsplit("\\", 1)[0] + "\\" + service_of(m))
    assert v and v["Start"] == ("REG_DWORD", "0x0"), v
    rc, out, _ = w.run(os.path.join(m, "uninstall.cmd"),
                       ["/quiet", "/cleanupstorage"])
    assert rc == 0, (rc, out)


def test_real_pack():
    """The driver pack aerofs exports: its install.cmd is run."""
    src = real_media("AERO_WINE_PACK_MEDIA", "driver-pack")
    w = wine()
    w.reset()
    m = copy_media(src, ODD + " pack")
    infs = sorted(os.path.join(d, f) for d, _, fs in
                  os.walk(os.path.join(m, "win7", "amd64"))
                  for f in fs if f.lower().endswith(".inf"))
    assert infs, "no INF under win7/amd64"
    inst = os.path.join(m, "install.cmd")
    if not os.path.exists(os.path.join(m, "config", "devices.cmd")):
        # a pack without devices.cmd: pre-seeding refused, /skipstorage ok
        rc, out, calls = w.run(inst, ["/quiet"])
        assert rc == 4 and "devices.cmd" in out, (rc, out)
        rc, out, calls = w.run(inst, ["/quiet", "/skipstorage"])
        assert rc == 0, (rc, out)
        assert len(of(calls, "pnputil")) == len(infs), calls
        return
    rc, out, calls = w.run(inst, ["/quiet"])
    assert rc == 0, (rc, out)
    assert len(of(calls, "pnputil")) == len(infs), calls
    v = w.values(SVC.rsplit("\\", 1)[0] + "\\" + service_of(m))
    assert v and v["Start"] == ("REG_DWORD", "0x0"), v


def service_of(media):
    with open(os.path.join(media, "config", "devices.cmd"), "rb") as f:
        for ln in f.read().decode("ascii").split("\r\n"):
            if ln.startswith('set "AERO_VIRTIO_BLK_SERVICE='):
                return ln.split("=", 1)[1].rstrip('"')
    raise AssertionError("no AERO_VIRTIO_BLK_SERVICE in devices.cmd")


def require():
    if not shutil.which("wine") or not shutil.which("wineserver"):
        raise T.Skip("wine not installed")
    if not shutil.which(MINGW):
        raise T.Skip("%s not installed" % MINGW)


if __name__ == "__main__":
    T.run_tests(globals(), require=require)
