#!/usr/bin/env python3
"""test_valgrind.py: a mount/read/unmount cycle of aerofs and aerofs-export
runs clean under valgrind: no invalid access, no use of uninitialised
memory, no definite or indirect leak (issue: hostile input and faults).

Registered only in builds without sanitizers (valgrind and ASan exclude
each other).  Slow by nature, so it reads the tiny fixture only.
"""

import os
import shutil
import stat
import subprocess

from aerofs_test import (CTL, EXPORT, ISO_NAME, Daemon, Skip, check_eq,
                         fixture, fixture_iso, require_tool, tmpdir, walk)

VALGRIND = ["valgrind", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect",
            "--show-leak-kinds=definite,indirect", "--track-fds=no",
            "--quiet"]


def read_everything(root):
    total = 0
    for path, st in walk(root).items():
        if stat.S_ISREG(st.st_mode):
            with open(os.path.join(root, path), "rb") as f:
                total += len(f.read())
    with open(os.path.join(root, CTL, ISO_NAME), "rb") as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            total += len(chunk)
    with open(os.path.join(root, CTL, "status.json"), "rb") as f:
        total += len(f.read())
    return total


def test_mount_read_unmount():
    require_tool("valgrind")
    iso = fixture_iso(fixture())
    d = Daemon(iso)
    d.cmd = VALGRIND + ["--log-file=" + d.logpath + ".vg"] + d.cmd
    d.start(timeout=120)
    try:
        if read_everything(d.mnt) == 0:
            raise AssertionError("read nothing through the mount")
        # A modifying call goes through the daemon's error path too.
        try:
            os.mkdir(d.path("new"))
        except OSError:
            pass
    except BaseException:
        d.cleanup()
        raise
    # umount() requires exit 0: valgrind exits 99 on any error or leak.
    try:
        d.umount()
    finally:
        with open(d.logpath + ".vg") as f:
            report = f.read()
        if report.strip():
            print("# valgrind: " + report.replace("\n", "\n# valgrind: "))
    check_eq(report.strip(), "", "valgrind report of aerofs")


def test_export_zip_and_iso():
    require_tool("valgrind")
    iso = fixture_iso(fixture())
    out = tmpdir()
    for name in ("pack.zip", "pack.iso"):
        r = subprocess.run(VALGRIND + [EXPORT, "--quiet", iso,
                                       os.path.join(out, name)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise AssertionError("valgrind aerofs-export %s exited %d:\n%s"
                                 % (name, r.returncode,
                                    r.stdout.decode(errors="replace")))
        if os.path.getsize(os.path.join(out, name)) == 0:
            raise AssertionError(name + " is empty")
    shutil.rmtree(out)


if __name__ == "__main__":
    from aerofs_test import run_tests
    run_tests(globals())
