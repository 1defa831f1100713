#!/usr/bin/env python3
"""test_guest_tools.py: the guest-tools profile, mounted and exported.

- aerofs-export --profile guest-tools to a directory, a .zip (read back
  with Python's zipfile and bsdtar) and an .iso (bsdtar, isoinfo for the
  volume label): the same files with the same bytes; every file's size
  and SHA-256 are in manifest.json, one element per line.
- The drivers are the driver pack's, byte for byte; the driver pack's
  manifest is under licenses/virtio-win/.
- config/devices.cmd against the virtio table (read from virtio_ids.c's
  source here, not through the C code) and against the fixture's own
  record of the storage INF's hardware ids and services (fixture.json).
- A mount with -o profile=guest-tools serves that tree at its root; every
  mount serves .aerofs/aero-guest-tools.iso next to aero-win7-drivers.iso,
  and that image is byte-identical to aerofs-export's.
- Deterministic: two exports under different TZ and umask are identical.
- -o extra-drivers=DIR (both layouts) and -o cert=FILE (DER and PEM, made
  by openssl(1)); every bad input (no INF, a wrong-arch INF, a private
  key, an unreadable or non-X.509 certificate...) fails naming the file
  and writes nothing.
"""

import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aerofs_test import (CTL, EXPORT, SOURCE_ROOT, Skip, check_eq,  # noqa
                         fixture, fixture_iso, mounted, run_tests,
                         sha256_file, tmpdir, walk)

GT_ISO = "aero-guest-tools.iso"


def export(src, out, *extra, env=None):
    r = subprocess.run([EXPORT, "-q", "--profile", "guest-tools"] +
                       list(extra) + [src, out], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, env=env)
    if r.returncode != 0:
        raise AssertionError("aerofs-export %s: %s"
                             % (out, r.stdout.decode(errors="replace")))


def tree_files(root):
    """{relative path: sha256} of the regular files under ROOT."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            p = os.path.join(dirpath, name)
            out[os.path.relpath(p, root)] = sha256_file(p)
    return out


def exported_dir():
    if not os.access(EXPORT, os.X_OK):
        raise Skip("aerofs-export not built")
    out = os.path.join(tmpdir(), "gt")
    export(fixture_iso(fixture()), out)
    return out


def test_tree_and_manifest():
    d = exported_dir()
    files = tree_files(d)
    for p in ("setup.cmd", "uninstall.cmd", "verify.cmd", "README.txt",
              "THIRD_PARTY_NOTICES.md", "manifest.json",
              "config/devices.cmd",
              "licenses/virtio-win/driver-pack-manifest.json"):
        if p not in files:
            raise AssertionError("missing " + p)
    check_eq(os.listdir(os.path.join(d, "certs")), [], "certs/ (production)")
    for arch in ("x86", "amd64"):
        check_eq(sorted(os.listdir(os.path.join(d, "drivers", arch))),
                 ["netkvm", "vioinput", "viostor"], "drivers/" + arch)
    text = open(os.path.join(d, "manifest.json"), "rb").read()
    man = json.loads(text)
    check_eq(man["schema_version"], 1, "schema_version")
    check_eq(man["media"], "aero-guest-tools", "media")
    check_eq(man["signing_policy"], "production", "signing_policy")
    check_eq(man["certs"], [], "certs")
    check_eq(man["source"]["name"], os.path.basename(
        fixture_iso(fixture())), "source name")
    lines = text.decode().split("\n")
    if '  "signing_policy": "production",' not in lines:
        raise AssertionError("signing_policy is not on a line of its own")
    listed = {}
    paths = []
    for f in man["files"]:
        paths.append(f["path"])
        listed[f["path"]] = f["sha256"]
        p = os.path.join(d, f["path"])
        check_eq(os.path.getsize(p), f["size"], f["path"] + " size")
        want = '    {"path": "%s", "size": %d, "sha256": "%s"}' % (
            f["path"], f["size"], f["sha256"])
        if want not in lines and want + "," not in lines:
            raise AssertionError("not one line: " + want)
    check_eq(paths, sorted(paths, key=lambda s: s.encode()), "files order")
    # the scripts take every line that opens with 4 spaces and "{" for a
    # file entry: no other line may
    check_eq(len([x for x in lines if x.startswith("    {")]), len(paths),
             "lines that open with 4 spaces and {")
    del files["manifest.json"]
    check_eq(listed, files, "manifest.json files vs the tree")
    # the scripts and README are CRLF text
    for p in ("setup.cmd", "uninstall.cmd", "verify.cmd", "README.txt",
              "config/devices.cmd"):
        b = open(os.path.join(d, p), "rb").read()
        check_eq(b.count(b"\n"), b.count(b"\r\n"), p + " CRLF")
        b.decode("ascii")


def test_drivers_are_the_packs():
    d = exported_dir()
    pack = os.path.join(tmpdir(), "pack")
    r = subprocess.run([EXPORT, "-q", fixture_iso(fixture()), pack],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    check_eq(r.returncode, 0, "export of the pack: %s" % r.stdout)
    gt = tree_files(os.path.join(d, "drivers"))
    dp = tree_files(os.path.join(pack, "win7"))
    check_eq(gt, dp, "drivers/ vs the pack's win7/")
    for p in ("THIRD_PARTY_NOTICES.md", "config/devices.cmd"):
        check_eq(sha256_file(os.path.join(d, p)),
                 sha256_file(os.path.join(pack, p)), p)
    check_eq(sha256_file(os.path.join(
        d, "licenses/virtio-win/driver-pack-manifest.json")),
        sha256_file(os.path.join(pack, "manifest.json")),
        "driver-pack-manifest.json")
    # and exporting the exported pack gives the same Guest Tools
    again = os.path.join(tmpdir(), "gt-from-pack")
    export(pack, again)
    check_eq(tree_files(again), tree_files(d), "guest tools of the pack")


def aero_table():
    """[(name, driver, device, subsys)] from virtio_ids.c's source."""
    src = open(os.path.join(SOURCE_ROOT, "virtio", "virtio_ids.c")).read()
    rows = re.findall(r'AERO_DEV\("([^"]+)", "([^"]+)", 0x([0-9a-fA-F]+), '
                      r'0x([0-9a-fA-F]+),', src)
    if len(rows) < 4:
        raise AssertionError("cannot read the Aero table: %r" % rows)
    return [(n, drv, int(dev, 16), int(ss, 16)) for n, drv, dev, ss in rows]


def table_ids(driver):
    out = []
    for _, drv, dev, ss in aero_table():
        if drv != driver:
            continue
        for i in ("PCI\\VEN_1AF4&DEV_%04X&SUBSYS_%04X1AF4&REV_01",
                  "PCI\\VEN_1AF4&DEV_%04X&SUBSYS_%04X1AF4",
                  "PCI\\VEN_1AF4&DEV_%04X&REV_01",
                  "PCI\\VEN_1AF4&DEV_%04X"):
            s = i % ((dev, ss) if "SUBSYS" in i else (dev,))
            if s.upper() not in (x.upper() for x in out):
                out.append(s)
    return out


def is_blk(hwid):
    """A virtio-blk PCI id: modern 0x1042, transitional 0x1001 (virtio
    1.2 4.1.2), or a transitional id whose subsystem id is 2."""
    m = re.match(r"PCI\\VEN_1AF4&DEV_([0-9A-F]{4})(&SUBSYS_([0-9A-F]{4})"
                 r"[0-9A-F]{4})?", hwid.upper())
    if not m or "&CC_" in hwid.upper():
        return False
    dev = int(m.group(1), 16)
    if dev == 0x1042:
        return True
    if 0x1000 <= dev <= 0x103F:
        return int(m.group(3), 16) == 2 if m.group(3) else dev == 0x1001
    return False


def test_devices_cmd():
    d = exported_dir()
    text = open(os.path.join(d, "config", "devices.cmd"), "rb").read()
    lines = text.decode("ascii").split("\r\n")
    check_eq(lines[-1], "", "devices.cmd ends with CRLF")
    if not lines[0].startswith("@rem config\\devices.cmd: generated by "
                               "aerofs "):
        raise AssertionError("header: %r" % lines[0])
    info = json.load(open(os.path.join(fixture(), "fixture.json")))
    infs = info["inf"]
    stor = infs[info["w7"]["viostor"]["amd64"] + "/viostor.inf"]
    want_blk = table_ids("viostor")
    for h in stor["hwids"]:
        if is_blk(h) and h.upper() not in (x.upper() for x in want_blk):
            want_blk.append(h.upper())
    # the fixture's storage INF binds QEMU's transitional id: listed
    if "PCI\\VEN_1AF4&DEV_1001" not in want_blk:
        raise AssertionError("fixture: no DEV_1001 in %r" % stor["hwids"])

    def hw(ids):
        return " ".join('"%s"' % i for i in ids)

    net = infs[info["w7"]["NetKVM"]["amd64"] + "/netkvm.inf"]
    want = [
        'set "AERO_VIRTIO_BLK_SERVICE=%s"' % stor["services"][0],
        'set "AERO_VIRTIO_BLK_SYS=viostor.sys"',
        "set AERO_VIRTIO_BLK_HWIDS=" + hw(want_blk),
        'set "AERO_VIRTIO_NET_SERVICE=%s"' % net["services"][0],
        "set AERO_VIRTIO_NET_HWIDS=" + hw(table_ids("netkvm")),
    ]
    check_eq(lines[1:6], want, "devices.cmd blk and net")
    check_eq(lines[6].startswith('set "AERO_VIRTIO_INPUT_SERVICE='), True,
             "input service line")
    check_eq(lines[7], "set AERO_VIRTIO_INPUT_HWIDS=" +
             hw(table_ids("vioinput")), "input ids")
    # the fixture has no viosnd for Windows 7: empty lines
    check_eq(lines[8:10], ['set "AERO_VIRTIO_SND_SERVICE="',
                           "set AERO_VIRTIO_SND_HWIDS="], "snd (missing)")
    check_eq(len(lines), 11, "line count")


def test_zip_iso_dir_agree():
    d = exported_dir()
    want = tree_files(d)
    tmp = tmpdir()
    z = os.path.join(tmp, "gt.zip")
    i = os.path.join(tmp, "gt.iso")
    export(fixture_iso(fixture()), z)
    export(fixture_iso(fixture()), i)
    with zipfile.ZipFile(z) as zf:
        got = {n: hashlib.sha256(zf.read(n)).hexdigest()
               for n in zf.namelist() if not n.endswith("/")}
        if "certs/" not in zf.namelist():
            raise AssertionError("no certs/ in the zip")
    check_eq(got, want, "zip (zipfile) vs directory")
    if shutil.which("bsdtar"):
        for image in (z, i):
            x = os.path.join(tmpdir(), "x")
            os.mkdir(x)
            subprocess.run(["bsdtar", "-xf", image, "-C", x], check=True)
            check_eq(tree_files(x), want, image + " (bsdtar) vs directory")
    if shutil.which("isoinfo"):
        out = subprocess.run(["isoinfo", "-d", "-i", i], check=True,
                             stdout=subprocess.PIPE).stdout.decode()
        if "Volume id: AERO_GUEST_TOOLS" not in out:
            raise AssertionError("volume label: %s" % out)


def test_deterministic():
    if not os.access(EXPORT, os.X_OK):
        raise Skip("aerofs-export not built")
    iso = fixture_iso(fixture())
    outs = []
    for tz, mask in (("UTC", 0o022), ("Pacific/Chatham", 0o077)):
        env = dict(os.environ, TZ=tz, LC_ALL="C")
        old = os.umask(mask)
        try:
            o = os.path.join(tmpdir(), "gt.zip")
            export(iso, o, env=env)
            o2 = os.path.join(tmpdir(), "gt.iso")
            export(iso, o2, env=env)
        finally:
            os.umask(old)
        outs.append((sha256_file(o), sha256_file(o2)))
    check_eq(outs[0], outs[1], "zip and iso under other TZ and umask")


def test_mount_profile():
    d = exported_dir()
    want = tree_files(d)
    iso = fixture_iso(fixture())
    with mounted(iso, opts=["profile=guest-tools"]) as m:
        tree = walk(m.mnt)
        check_eq("setup.cmd" in tree and "win7" not in tree, True,
                 "guest tools at the root")
        for path, st in tree.items():
            if stat.S_ISREG(st.st_mode):
                check_eq(stat.S_IMODE(st.st_mode), 0o444, path + " mode")
        check_eq(tree_files(m.mnt), want, "mount vs export (directory)")
        names = os.listdir(m.path(CTL))
        for n in (GT_ISO, "aero-win7-drivers.iso"):
            if n not in names:
                raise AssertionError("no .aerofs/%s in %r" % (n, names))
    with mounted(iso) as m:
        check_eq("win7" in os.listdir(m.mnt), True, "default: the pack")
        got = sha256_file(m.path(CTL, GT_ISO))
    exp = os.path.join(tmpdir(), "gt.iso")
    export(iso, exp)
    check_eq(got, sha256_file(exp), ".aerofs/%s vs aerofs-export" % GT_ISO)


def make_extras(layout="driver-first", name="aerogpu"):
    """A folder of one extra driver, copied from the fixture's viostor
    (any INF driver package will do: binding virtio is not asked)."""
    fx = fixture()
    info = json.load(open(os.path.join(fx, "fixture.json")))
    root = os.path.join(tmpdir(), "extras")
    for arch in ("x86", "amd64"):
        src = os.path.join(fx, "tree", info["w7"]["viostor"][arch])
        dst = (os.path.join(root, name, arch) if layout == "driver-first"
               else os.path.join(root, arch, name))
        shutil.copytree(src, dst)
    return root


def make_cert(tmp):
    """(DER .cer, PEM .crt, PEM private key) made by openssl(1)."""
    if not shutil.which("openssl"):
        raise Skip("openssl not installed")
    key, pem = os.path.join(tmp, "k.pem"), os.path.join(tmp, "c.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", key, "-out", pem, "-days", "1",
                    "-subj", "/CN=Aero test"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    der = os.path.join(tmp, "aero-test.cer")
    subprocess.run(["openssl", "x509", "-in", pem, "-outform", "der",
                    "-out", der], check=True)
    crt = os.path.join(tmp, "aero-test.crt")
    shutil.copy(pem, crt)
    return der, crt, key


def test_extra_drivers_and_cert():
    if not os.access(EXPORT, os.X_OK):
        raise Skip("aerofs-export not built")
    tmp = tmpdir()
    der, crt, _ = make_cert(tmp)
    iso = fixture_iso(fixture())
    for layout, cert in (("driver-first", der), ("arch-first", crt)):
        ex = make_extras(layout)
        out = os.path.join(tmpdir(), "gt")
        export(iso, out, "-o", "extra-drivers=%s,cert=%s" % (ex, cert))
        man = json.load(open(os.path.join(out, "manifest.json")))
        name = os.path.basename(cert)
        check_eq(man["signing_policy"], "test", "signing_policy")
        check_eq(man["certs"], [name], "certs")
        check_eq(os.listdir(os.path.join(out, "certs")), [name], "certs/")
        check_eq(sha256_file(os.path.join(out, "certs", name)),
                 sha256_file(cert), "the certificate, unchanged")
        for arch in ("x86", "amd64"):
            src = (os.path.join(ex, "aerogpu", arch)
                   if layout == "driver-first"
                   else os.path.join(ex, arch, "aerogpu"))
            check_eq(tree_files(os.path.join(out, "drivers", arch,
                                              "aerogpu")),
                     tree_files(src), "extra driver " + arch)
        check_eq([d["name"] for d in man["drivers"]
                  if d["origin"] == "extra-drivers"], ["aerogpu"],
                 "manifest drivers")
        listed = {f["path"] for f in man["files"]}
        if "drivers/x86/aerogpu/viostor.inf" not in listed:
            raise AssertionError("extra driver files not in the manifest")
    # the driver pack gets them too
    pack = os.path.join(tmpdir(), "pack")
    r = subprocess.run([EXPORT, "-q", "-o", "extra-drivers=" + ex, iso,
                        pack], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    check_eq(r.returncode, 0, "pack with extras: %s" % r.stdout)
    check_eq(os.path.isdir(os.path.join(pack, "win7", "amd64", "aerogpu")),
             True, "win7/amd64/aerogpu in the pack")


def refused(opt, expect, out_name="gt.zip"):
    """aerofs-export -o OPT fails naming EXPECT, and writes nothing."""
    out = os.path.join(tmpdir(), out_name)
    r = subprocess.run([EXPORT, "-q", "--profile", "guest-tools", "-o", opt,
                        fixture_iso(fixture()), out],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    msg = r.stdout.decode(errors="replace")
    check_eq(r.returncode != 0, True, "%s: exit status" % opt)
    if expect not in msg:
        raise AssertionError("%s: %r does not name %r" % (opt, msg, expect))
    check_eq(os.listdir(os.path.dirname(out)), [], opt + ": no output")


def test_bad_extras_and_certs():
    if not os.access(EXPORT, os.X_OK):
        raise Skip("aerofs-export not built")
    tmp = tmpdir()
    der, crt, key = make_cert(tmp)
    # a driver folder without an INF
    ex = make_extras()
    for f in os.listdir(os.path.join(ex, "aerogpu", "x86")):
        if f.endswith(".inf"):
            os.unlink(os.path.join(ex, "aerogpu", "x86", f))
    refused("extra-drivers=" + ex, "aerogpu/x86: no INF")
    # the amd64 INF in the x86 folder: decorated for the other arch
    ex = make_extras()
    for f in os.listdir(os.path.join(ex, "aerogpu", "amd64")):
        if f.endswith(".inf"):
            shutil.copy(os.path.join(ex, "aerogpu", "amd64", f),
                        os.path.join(ex, "aerogpu", "x86", f))
    refused("extra-drivers=" + ex, "aerogpu/x86: viostor.inf: "
            "arch_decoration")
    # a private key among the drivers, whatever its name
    ex = make_extras()
    shutil.copy(key, os.path.join(ex, "aerogpu", "amd64", "readme.txt"))
    refused("extra-drivers=" + ex, "aerogpu/amd64/readme.txt: holds a "
            "private key")
    ex = make_extras()
    shutil.copy(der, os.path.join(ex, "aerogpu", "amd64", "signer.pfx"))
    refused("extra-drivers=" + ex, "signer.pfx: a private key file")
    # one architecture only; a name of the pack's own
    ex = make_extras()
    shutil.rmtree(os.path.join(ex, "aerogpu", "amd64"))
    refused("extra-drivers=" + ex, "aerogpu has no amd64 folder")
    refused("extra-drivers=" + make_extras(name="NetKVM"),
            "NetKVM/amd64: the name of one of the pack's own drivers")
    # certificates: a private key, in a .crt or beside the certificate
    bad = os.path.join(tmp, "key.crt")
    shutil.copy(key, bad)
    refused("cert=" + bad, "key.crt: holds a private key")
    both = os.path.join(tmp, "both.crt")
    with open(both, "wb") as f:
        f.write(open(crt, "rb").read() + open(key, "rb").read())
    refused("cert=" + both, "both.crt: holds a private key")
    # unreadable: missing, a folder
    refused("cert=" + os.path.join(tmp, "missing.cer"), "missing.cer")
    folder = os.path.join(tmp, "folder.cer")
    os.mkdir(folder)
    refused("cert=" + folder, "folder.cer: not a regular file")
    # not X.509: random bytes, a DER certificate with a byte too many
    junk = os.path.join(tmp, "junk.cer")
    with open(junk, "wb") as f:
        f.write(os.urandom(600))
    refused("cert=" + junk, "junk.cer: not an X.509 certificate")
    longer = os.path.join(tmp, "longer.cer")
    with open(longer, "wb") as f:
        f.write(open(der, "rb").read() + b"\0")
    refused("cert=" + longer, "longer.cer: not an X.509 certificate")
    # the mount refuses to start on the same input
    from aerofs_test import AEROFS
    mnt = tmpdir()
    r = subprocess.run([AEROFS, fixture_iso(fixture()), mnt, "-f", "-o",
                        "cert=" + junk], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    check_eq(r.returncode != 0, True, "aerofs with a bad cert")
    if b"junk.cer: not an X.509 certificate" not in r.stderr:
        raise AssertionError("aerofs: %r" % r.stderr)


def test_unknown_profile():
    from aerofs_test import AEROFS
    mnt = tmpdir()
    r = subprocess.run([AEROFS, fixture_iso(fixture()), mnt, "-o",
                        "profile=guest_tools"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    check_eq(r.returncode, 2, "exit status")
    if b"unknown profile 'guest_tools'" not in r.stderr or \
            b"guest-tools" not in r.stderr:
        raise AssertionError("message: %r" % r.stderr)
    r = subprocess.run([EXPORT, "--profile", "guest", fixture_iso(fixture()),
                        os.path.join(mnt, "x.zip")], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    check_eq(r.returncode != 0, True, "aerofs-export --profile guest")
    check_eq(os.path.exists(os.path.join(mnt, "x.zip")), False,
             "no output for a bad profile")


if __name__ == "__main__":
    run_tests(globals())
