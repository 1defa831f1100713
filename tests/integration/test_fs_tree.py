#!/usr/bin/env python3
"""test_fs_tree.py: the mounted tree is the catalog's pack, byte for byte,
and the virtual CD image holds the same files.

Ground truth, in order of independence: the fixture's own tree (every
driver file under win7/ must be the upstream file it came from), the
manifest's files list, aerofs-export of the same source (when built), and
for the image bsdtar, xorriso and isoinfo reading it.
"""

import json
import os
import shutil
import stat
import subprocess

from aerofs_test import (CTL, EXPORT, ISO_NAME, STATUS, Skip, check_eq,
                         fixture, fixture_iso, mounted, require_tool,
                         run_tests, sha256, sha256_file, tmpdir, walk,
                         with_winpe)


def fixture_info(fx):
    with open(os.path.join(fx, "fixture.json")) as f:
        return json.load(f)


def source_dir_for(info, drv, arch):
    """fixture.json's w7 map, keyed case-insensitively by driver id."""
    for name, arches in info["w7"].items():
        if name.lower() == drv.lower() and arch in arches:
            return arches[arch]
    return None


def test_tree_invariants():
    fx = fixture()
    with mounted(fixture_iso(fx)) as d:
        tree = walk(d.mnt)
        check_eq(CTL in os.listdir(d.mnt), False, ".aerofs in readdir(/)")
        for top in ("win7", "manifest.json", "THIRD_PARTY_NOTICES.md",
                    "install.cmd", "enable-testsigning.cmd",
                    "config/devices.cmd"):
            if top not in tree:
                raise AssertionError("missing /%s" % top)
        epochs = set()
        for path, st in tree.items():
            if stat.S_ISDIR(st.st_mode):
                check_eq(stat.S_IMODE(st.st_mode), 0o555, path + " mode")
                sub = [n for n in os.listdir(d.path(path))
                       if os.path.isdir(d.path(path, n))]
                check_eq(st.st_nlink, 2 + len(sub), path + " nlink")
            else:
                check_eq(stat.S_ISREG(st.st_mode), True, path + " type")
                check_eq(stat.S_IMODE(st.st_mode), 0o444, path + " mode")
                check_eq(st.st_nlink, 1, path + " nlink")
            check_eq((st.st_uid, st.st_gid), (os.getuid(), os.getgid()),
                     path + " owner")
            check_eq(st.st_mtime, st.st_atime, path + " atime")
            check_eq(st.st_mtime, st.st_ctime, path + " ctime")
            epochs.add(st.st_mtime)
        check_eq(len(epochs), 1, "one epoch for every node")
        check_eq(d.status()["epoch"], int(epochs.pop()), "status epoch")
        inos = [st.st_ino for st in tree.values()]
        check_eq(len(set(inos)), len(inos), "distinct inode numbers")
        check_eq(tree[""].st_ino, 1, "root inode")


def test_driver_files_are_upstream_bytes():
    fx = fixture()
    info = fixture_info(fx)
    with mounted(fixture_iso(fx)) as d:
        n = 0
        for arch in ("x86", "amd64"):
            for drv in os.listdir(d.path("win7", arch)):
                src = source_dir_for(info, drv, arch)
                if src is None:
                    raise AssertionError("win7/%s/%s: no such upstream "
                                         "driver" % (arch, drv))
                up = {n.lower(): n for n in
                      os.listdir(os.path.join(fx, "tree", src))}
                for name in os.listdir(d.path("win7", arch, drv)):
                    p = d.path("win7", arch, drv, name)
                    if name.lower() not in up:
                        raise AssertionError("%s: not in %s" % (p, src))
                    want = os.path.join(fx, "tree", src, up[name.lower()])
                    check_eq(os.path.getsize(p), os.path.getsize(want),
                             p + " size")
                    check_eq(sha256_file(p), sha256_file(want), p)
                    n += 1
        if n < 8:
            raise AssertionError("only %d driver files" % n)
        for drv in ("viostor", "netkvm"):
            if not any(x.lower() == drv
                       for x in os.listdir(d.path("win7", "x86"))):
                raise AssertionError("required driver %s missing" % drv)


def test_manifest_files_list():
    fx = fixture()
    with mounted(fixture_iso(fx)) as d:
        with open(d.path("manifest.json"), "rb") as f:
            manifest = json.loads(f.read())
        files = manifest.get("files")
        if not isinstance(files, list) or not files:
            raise AssertionError("manifest.json has no files list")
        listed = set()
        for e in files:
            p = d.path(e["path"])
            check_eq(os.path.getsize(p), e["size"], e["path"] + " size")
            check_eq(sha256_file(p), e["sha256"], e["path"] + " sha256")
            listed.add(e["path"])
        tree = walk(d.mnt)
        for path, st in tree.items():
            if stat.S_ISREG(st.st_mode) and path.startswith("win7/"):
                if path not in listed:
                    raise AssertionError(path + " not in manifest files")


def test_equals_export():
    if not os.access(EXPORT, os.X_OK):
        raise Skip("aerofs-export not built")
    fx = fixture()
    iso = fixture_iso(fx)
    out = os.path.join(tmpdir(), "export")
    r = subprocess.run([EXPORT, iso, out], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    if r.returncode != 0:
        raise AssertionError("aerofs-export: %s" % r.stdout.decode())
    want = walk(out)
    img = os.path.join(tmpdir(), "export.iso")
    r = subprocess.run([EXPORT, "--format", "iso", iso, img],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        raise AssertionError("aerofs-export --format iso: %s"
                             % r.stdout.decode())
    with mounted(iso) as d:
        # One image for both: the mount's virtual CD is the export's.
        check_eq(sha256_file(d.path(CTL, ISO_NAME)), sha256_file(img),
                 "virtual image vs aerofs-export --format iso")
        # Exporting the mount (a pack source; .aerofs is hidden) gives
        # the same bytes again.
        img2 = os.path.join(tmpdir(), "from-mount.iso")
        r = subprocess.run([EXPORT, "--format", "iso", d.mnt, img2],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise AssertionError("aerofs-export of the mount: %s"
                                 % r.stdout.decode())
        check_eq(sha256_file(img2), sha256_file(img),
                 "aerofs-export of the mount vs of the source")
        got = walk(d.mnt)
        check_eq(sorted(got), sorted(want), "paths")
        for path, st in got.items():
            w = want[path]
            check_eq(stat.S_IFMT(st.st_mode), stat.S_IFMT(w.st_mode),
                     path + " type")
            check_eq(int(st.st_mtime), int(w.st_mtime), path + " mtime")
            check_eq(st.st_nlink, w.st_nlink, path + " nlink")
            if stat.S_ISREG(st.st_mode):
                check_eq(st.st_size, w.st_size, path + " size")
                check_eq(sha256_file(d.path(path)),
                         sha256_file(os.path.join(out, path)), path)


def test_every_image_equals_export():
    """Every (profile, format) image in .aerofs is byte-identical to
    aerofs-export of the same source in that format, with and without
    -o no-winpe; the disk images pass fsck.fat and qemu-img."""
    if not os.access(EXPORT, os.X_OK):
        raise Skip("aerofs-export not built")
    iso = fixture_iso(fixture())
    for opts, args in (((), []), (("no-winpe",), ["--no-winpe"])):
        with mounted(iso, opts=opts) as d:
            images = d.status()["images"]
            check_eq(sorted((i["profile"], i["format"]) for i in images),
                     [(p, f) for p in ("driver-pack", "guest-tools")
                      for f in ("img", "iso", "vhd")],
                     "image (profile, format) pairs")
            for i in images:
                want = os.path.join(tmpdir(), i["name"])
                r = subprocess.run([EXPORT, "-q", "--profile", i["profile"],
                                    "--format", i["format"]] + args +
                                   [iso, want], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT)
                if r.returncode != 0:
                    raise AssertionError("aerofs-export %s: %s"
                                         % (i["format"], r.stdout.decode()))
                got = d.path(CTL, i["name"])
                check_eq(os.stat(got).st_size, i["size"],
                         i["name"] + " size vs status.json")
                check_eq(sha256_file(got), sha256_file(want),
                         "%s %s vs aerofs-export" % (i["name"], opts))
            if not opts:
                check_disk_images(d.path(CTL, "aero-win7-drivers.img"),
                                  d.path(CTL, "aero-win7-drivers.vhd"))


def check_disk_images(img, vhd):
    """fsck.fat on the partition of IMG (cut out at its MBR offset), and
    qemu-img on VHD against IMG."""
    with open(img, "rb") as f:
        mbr = f.read(512)
    check_eq(mbr[510:512], b"\x55\xaa", "MBR signature")
    start = int.from_bytes(mbr[446 + 8:446 + 12], "little") * 512
    length = int.from_bytes(mbr[446 + 12:446 + 16], "little") * 512
    if shutil.which("fsck.fat"):
        part = os.path.join(tmpdir(), "part.fat")
        with open(img, "rb") as f, open(part, "wb") as g:
            f.seek(start)
            g.write(f.read(length))
        r = subprocess.run(["fsck.fat", "-n", "-v", part],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise AssertionError("fsck.fat: %s" % r.stdout.decode())
    if shutil.which("qemu-img"):
        r = subprocess.run(["qemu-img", "compare", "-f", "vpc", "-F", "raw",
                            vhd, img], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise AssertionError("qemu-img compare: %s" % r.stdout.decode())


def iso_tree_via_bsdtar(iso):
    out = os.path.join(tmpdir(), "bsdtar")
    os.makedirs(out)
    r = subprocess.run(["bsdtar", "-xf", iso, "-C", out],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        raise AssertionError("bsdtar: %s" % r.stdout.decode())
    files = {}
    for path, st in walk(out).items():
        if stat.S_ISREG(st.st_mode):
            files[path] = sha256_file(os.path.join(out, path))
    return files


def test_virtual_image():
    require_tool("bsdtar")
    fx = fixture()
    with mounted(fixture_iso(fx)) as d:
        iso = d.path(CTL, ISO_NAME)
        st = os.stat(iso)
        check_eq(stat.S_IMODE(st.st_mode), 0o444, "image mode")
        check_eq(st.st_size % 2048, 0, "image size multiple of 2048")
        with open(iso, "rb") as f:
            data = f.read()
        check_eq(len(data), st.st_size, "bytes read from the image")
        check_eq(data[32769:32774], b"CD001", "ECMA-119 8.4 PVD id")
        check_eq(d.status()["image"]["size"], st.st_size, "status size")
        pack = {}
        for path, s in walk(d.mnt).items():
            if stat.S_ISREG(s.st_mode):
                pack[path] = sha256_file(d.path(path))
        # Read it twice through the mount: the same bytes.
        with open(iso, "rb") as f:
            check_eq(sha256(f.read()), sha256(data), "image re-read")
        copy = os.path.join(tmpdir(), "copy.iso")
        with open(copy, "wb") as f:
            f.write(data)
        pack = with_winpe(pack)
        check_eq(iso_tree_via_bsdtar(iso), pack, "bsdtar of the image")
        if os.path.exists("/usr/bin/xorriso"):
            r = subprocess.run(["xorriso", "-indev", copy, "-find", "/",
                                "-type", "f"], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
            names = sorted(l.decode().strip("'").lstrip("/")
                           for l in r.stdout.split(b"\n") if l)
            check_eq(names, sorted(pack), "xorriso -find")
        if os.path.exists("/usr/bin/isoinfo"):
            r = subprocess.run(["isoinfo", "-d", "-i", copy],
                               stdout=subprocess.PIPE)
            text = r.stdout.decode(errors="replace")
            label = d.status()["label"]
            if "Volume id: " + label not in text:
                raise AssertionError("isoinfo -d: no label %s:\n%s"
                                     % (label, text))
            if "Rock Ridge" not in text or "Joliet" not in text:
                raise AssertionError("isoinfo -d: missing extensions:\n"
                                     + text)
            # Files through Joliet with isoinfo's own reader (Joliet
            # names keep the ";1" version, ECMA-119 7.5.1).
            for some in sorted(p for p in pack if p.startswith("win7/"))[:5]:
                r = subprocess.run(["isoinfo", "-J", "-i", copy, "-x",
                                    "/" + some + ";1"],
                                   stdout=subprocess.PIPE)
                check_eq(sha256(r.stdout), pack[some],
                         "isoinfo -J -x " + some)


def test_status_json():
    fx = fixture()
    iso = fixture_iso(fx)
    with mounted(iso) as d:
        s = d.status()
        st = os.stat(iso)
        check_eq(s["source"]["path"], os.path.realpath(iso), "source path")
        check_eq((s["source"]["dev"], s["source"]["ino"],
                  s["source"]["size"], s["source"]["mtime"]),
                 (st.st_dev, st.st_ino, st.st_size, int(st.st_mtime)),
                 "source identity")
        check_eq(s["generation"], 1, "generation")
        check_eq(s["last_reload_error"], None, "last_reload_error")
        check_eq(s["last_read_error"], None, "last_read_error")
        for k in ("lookups", "reads", "bytes_read", "reloads_ok",
                  "reloads_failed", "read_errors"):
            if not isinstance(s["counters"][k], int):
                raise AssertionError("counter %s: %r" % (k, s["counters"]))
        check_eq(s["counters"]["reloads_ok"], 0, "reloads_ok")
        if not isinstance(s["catalog_warnings"], int):
            raise AssertionError("catalog_warnings %r"
                                 % s["catalog_warnings"])
        before = s["counters"]["bytes_read"]
        with open(d.path("install.cmd"), "rb") as f:
            n = len(f.read())
        after = d.status()["counters"]["bytes_read"]
        if after < before + n:
            raise AssertionError("bytes_read %d -> %d after %d bytes"
                                 % (before, after, n))
        # Each open is one snapshot: a read after other activity still
        # parses as a whole.
        with open(d.path(STATUS), "rb") as f:
            head = f.read(10)
            os.listdir(d.mnt)
            body = head + f.read()
            json.loads(body)
            # The size is the snapshot's: fstat says what is read.
            check_eq(os.fstat(f.fileno()).st_size, len(body),
                     "status.json size")
        # Each snapshot goes once the kernel forgets it: more opens than
        # the daemon keeps snapshots at once (1024) all succeed.
        for i in range(1500):
            with open(d.path(STATUS), "rb") as f:
                json.loads(f.read())


if __name__ == "__main__":
    run_tests(globals())
