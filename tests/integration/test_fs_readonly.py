#!/usr/bin/env python3
"""test_fs_readonly.py: every modifying call fails with EROFS, and the
hidden control directory behaves like ZFS's .zfs with snapdir=hidden."""

import errno
import json
import os
import shutil
import stat
import subprocess
import tarfile

from aerofs_test import (CTL, ISO_NAME, check_eq, fixture, fixture_iso,
                         mounted, run_tests, tmpdir, walk)


def expect_errno(what, fn, *args, codes=(errno.EROFS,)):
    try:
        fn(*args)
    except OSError as e:
        if e.errno not in codes:
            raise AssertionError("%s: expected %s got %s" % (
                what, "/".join(errno.errorcode[c] for c in codes),
                errno.errorcode.get(e.errno, e.errno)))
        return
    raise AssertionError("%s succeeded on a read-only mount" % what)


def test_erofs():
    with mounted(fixture_iso(fixture())) as d:
        f = d.path("install.cmd")
        dr = d.path("win7")
        before = open(f, "rb").read()
        expect_errno("create", os.open, d.path("new"),
                     os.O_CREAT | os.O_WRONLY, 0o644)
        expect_errno("open for write", os.open, f, os.O_WRONLY)
        expect_errno("open rdwr", os.open, f, os.O_RDWR)
        expect_errno("open trunc", os.open, f, os.O_RDONLY | os.O_TRUNC)
        expect_errno("append", os.open, f, os.O_WRONLY | os.O_APPEND)
        expect_errno("unlink", os.unlink, f)
        expect_errno("rmdir", os.rmdir, dr,
                     codes=(errno.EROFS, errno.ENOTEMPTY))
        expect_errno("rename", os.rename, f, d.path("x.cmd"))
        expect_errno("rename dir", os.rename, dr, d.path("w"))
        expect_errno("chmod", os.chmod, f, 0o644)
        expect_errno("chown", os.chown, f, 0, 0)
        expect_errno("truncate", os.truncate, f, 0)
        expect_errno("utime", os.utime, f, (0, 0))
        expect_errno("mkdir", os.mkdir, d.path("newdir"))
        expect_errno("symlink", os.symlink, "install.cmd", d.path("l"))
        expect_errno("link", os.link, f, d.path("hard"))
        expect_errno("mknod", os.mkfifo, d.path("fifo"))
        expect_errno("setxattr", os.setxattr, f, "user.x", b"1")
        expect_errno("removexattr", os.removexattr, f, "user.x",
                     codes=(errno.EROFS, errno.ENODATA))
        expect_errno("getxattr", os.getxattr, f, "user.x",
                     codes=(errno.ENODATA, errno.ENOTSUP))
        check_eq(os.listxattr(f), [], "listxattr")
        expect_errno("create in .aerofs", os.open, d.path(CTL, "x"),
                     os.O_CREAT | os.O_WRONLY, 0o644)
        expect_errno("write image", os.open, d.path(CTL, ISO_NAME),
                     os.O_WRONLY)
        check_eq(os.access(f, os.W_OK), False, "access W_OK")
        check_eq(os.access(f, os.R_OK), True, "access R_OK")
        # Files are 0444, directories 0555.
        check_eq(os.access(f, os.X_OK), False, "access X_OK of a file")
        check_eq(os.access(d.path(CTL, ISO_NAME), os.X_OK), False,
                 "access X_OK of the image")
        check_eq(os.access(d.path(CTL, "status.json"), os.X_OK), False,
                 "access X_OK of status.json")
        check_eq(os.access(dr, os.X_OK), True, "access X_OK of a directory")
        check_eq(os.access(d.path(CTL), os.X_OK), True,
                 "access X_OK of .aerofs")
        check_eq(os.access(d.mnt, os.R_OK | os.X_OK), True,
                 "access R_OK|X_OK of the root")
        sv = os.statvfs(d.mnt)
        check_eq(bool(sv.f_flag & os.ST_RDONLY), True, "statvfs ST_RDONLY")
        check_eq(open(f, "rb").read(), before, "content unchanged")
        check_eq(sorted(os.listdir(d.mnt)).count("new"), 0, "no new file")


def test_hidden_control_dir():
    with mounted(fixture_iso(fixture())) as d:
        root = os.listdir(d.mnt)
        check_eq(CTL in root, False, ".aerofs listed in the root")
        st = os.stat(d.path(CTL))
        check_eq(stat.S_ISDIR(st.st_mode), True, ".aerofs is a directory")
        check_eq(stat.S_IMODE(st.st_mode), 0o555, ".aerofs mode")
        images = [i["name"] for i in d.status()["images"]]
        check_eq(ISO_NAME in images, True, "the ISO among the images")
        check_eq(sorted(os.listdir(d.path(CTL))),
                 sorted(images + ["images", "status.json"]), "ls .aerofs")
        check_eq(os.path.isdir(d.path(CTL, "..", "win7")), True,
                 ".aerofs/.. is the root")
        s = d.status()
        for key in ("source", "generation", "epoch", "counters",
                    "last_reload_error", "last_read_error",
                    "catalog_warnings"):
            if key not in s:
                raise AssertionError("status.json lacks %s" % key)
        # A name that is not there, twice (the second from the negative
        # entry cache), and the control names are not found elsewhere.
        for _ in range(2):
            check_eq(os.path.exists(d.path("nope")), False, "/nope")
        check_eq(os.path.exists(d.path("win7", CTL)), False,
                 "win7/.aerofs")
        check_eq(os.path.exists(d.path(CTL, "nope")), False, ".aerofs/nope")
        # Copies of the mount hold the pack only.
        out = os.path.join(tmpdir(), "copy")
        shutil.copytree(d.mnt, out)
        check_eq(os.path.exists(os.path.join(out, CTL)), False,
                 "copytree copied .aerofs")
        check_eq(sorted(walk(out)), sorted(walk(d.mnt)), "copytree paths")
        tar = os.path.join(tmpdir(), "pack.tar")
        r = subprocess.run(["tar", "-cf", tar, "-C", d.mnt, "."],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        check_eq(r.returncode, 0, "tar exit: %s" % r.stdout.decode())
        with tarfile.open(tar) as t:
            names = [n for n in t.getnames() if CTL in n.split("/")]
        check_eq(names, [], "tar members under .aerofs")
        # find(1) does not descend into it either.
        r = subprocess.run(["find", d.mnt], stdout=subprocess.PIPE)
        check_eq(b"/.aerofs" in r.stdout, False, "find lists .aerofs")
        json.dumps(s)


if __name__ == "__main__":
    run_tests(globals())
