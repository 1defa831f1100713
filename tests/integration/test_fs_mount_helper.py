#!/usr/bin/env python3
"""test_fs_mount_helper.py: `mount -t fuse.aerofs` and an fstab line work
through mount.fuse3 (daemonized, logging to syslog), and umount stops the
daemon."""

import contextlib
import json
import os
import shutil
import subprocess
import time

from aerofs_test import (AEROFS, STATUS, Skip, check_eq, fixture,
                         fixture_iso, is_mounted, run_tests, tmpdir)


# mount(8) runs helpers with a sanitized environment: our PATH does not
# reach mount.fuse3's "sh -c aerofs ...", so the binary goes into a
# directory of the default PATH for the duration of the test only.
LINK_DIR = "/usr/local/bin"


@contextlib.contextmanager
def aerofs_in_path():
    if not os.path.exists("/sbin/mount.fuse3"):
        raise Skip("no /sbin/mount.fuse3")
    if os.geteuid() != 0:
        raise Skip("mount(8) with a helper needs root")
    link = os.path.join(LINK_DIR, "aerofs")
    if os.path.lexists(link):
        raise Skip("%s exists; not replacing it" % link)
    os.symlink(os.path.realpath(AEROFS), link)
    try:
        yield dict(os.environ)
    finally:
        os.unlink(link)


def check_and_umount(mnt, env):
    try:
        with open(os.path.join(mnt, STATUS), "rb") as f:
            s = json.loads(f.read())
        if "win7" not in os.listdir(mnt):
            raise AssertionError("no win7 at %s" % mnt)
        pid = s["pid"]
        check_eq(os.path.exists("/proc/%d" % pid), True, "daemon pid")
    except BaseException:
        subprocess.run(["umount", "-l", mnt])
        raise
    r = subprocess.run(["umount", mnt], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    check_eq(r.returncode, 0, "umount: %s" % r.stdout.decode())
    end = time.monotonic() + 10
    while os.path.exists("/proc/%d" % pid) and time.monotonic() < end:
        time.sleep(0.05)
    check_eq(os.path.exists("/proc/%d" % pid), False, "daemon exited")
    check_eq(is_mounted(mnt), False, "still mounted")
    return s


def test_mount_t_fuse_aerofs():
    with aerofs_in_path() as env:
        mount_t(env)


def mount_t(env):
    iso = fixture_iso(fixture())
    mnt = os.path.join(tmpdir(), "mnt")
    os.mkdir(mnt)
    r = subprocess.run(["mount", "-t", "fuse.aerofs", iso, mnt, "-o",
                        "allow_other,drop-pdb,label=AERO_TEST"], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60)
    check_eq(r.returncode, 0, "mount -t fuse.aerofs: %s"
             % r.stdout.decode())
    check_eq(is_mounted(mnt), True, "mounted")
    with open("/proc/self/mountinfo") as f:
        line = [l for l in f if " %s " % mnt in l][0]
    if "fuse.aerofs" not in line or " ro" not in line:
        raise AssertionError("mountinfo: %s" % line)
    for root, _, files in os.walk(mnt):
        for n in files:
            if n.endswith(".pdb"):
                raise AssertionError("drop-pdb ignored: " + n)
    s = check_and_umount(mnt, env)
    check_eq(s["label"], "AERO_TEST", "label= through mount.fuse3")


def test_fstab_line():
    with aerofs_in_path() as env:
        fstab_line(env)


def fstab_line(env):
    iso = fixture_iso(fixture())
    d = tmpdir()
    mnt = os.path.join(d, "mnt")
    os.mkdir(mnt)
    fstab = os.path.join(d, "fstab")
    with open(fstab, "w") as f:
        f.write("# test fstab\n%s %s fuse.aerofs ro,allow_other,nofail "
                "0 0\n" % (iso, mnt))
    r = subprocess.run(["mount", "-T", fstab, mnt], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60)
    check_eq(r.returncode, 0, "mount -T fstab: %s" % r.stdout.decode())
    check_and_umount(mnt, env)


if __name__ == "__main__":
    run_tests(globals())
