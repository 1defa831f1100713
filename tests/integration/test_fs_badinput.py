#!/usr/bin/env python3
"""test_fs_badinput.py: bad sources and mountpoints fail at startup with a
clear message and a non-zero exit, and leave nothing mounted."""

import os
import shutil
import subprocess

from aerofs_test import (AEROFS, Daemon, check_eq, fixture, fixture_iso,
                         is_mounted, run_tests, tmpdir)


def start_fails(source, mnt=None, opts=(), expect=None, code=None):
    d = Daemon(source, opts=opts, mnt=mnt)
    try:
        ok = d.start(expect_ok=False)
        check_eq(ok, False, "mounted %s" % source)
        # A mount helper waiting on the FIFO must hear of every failure.
        check_eq(d.notify_byte, b"f", "notify_pipe byte")
        status = d.proc.wait(timeout=20)
        if status == 0:
            raise AssertionError("exit status 0 for %s" % source)
        if code is not None:
            check_eq(status, code, "exit status")
        check_eq(is_mounted(d.mnt), False, "left mounted")
        err = d.stderr()
        if expect and expect not in err:
            raise AssertionError("stderr lacks %r:\n%s" % (expect, err))
        lines = [l for l in err.splitlines() if l.strip()]
        if not lines or not lines[0].startswith("aerofs: error: "):
            raise AssertionError("unclear message:\n%s" % err)
        for l in lines:
            if l.endswith(".") or "Segmentation" in l or "==" in l:
                raise AssertionError("bad message line %r" % l)
        return err
    finally:
        d.cleanup()


def test_source_under_mountpoint():
    """A source under the mountpoint would be read through the mount
    itself (a deadlock in the kernel once mounted): refused up front."""
    nest = tmpdir()
    os.makedirs(os.path.join(nest, "sub"))
    src = os.path.join(nest, "sub", "virtio-win.iso")
    shutil.copyfile(fixture_iso(fixture()), src)
    start_fails(src, mnt=nest, expect="lies under the mountpoint")


def test_html_as_iso():
    p = os.path.join(tmpdir(), "virtio-win.iso")
    with open(p, "w") as f:
        f.write("<!DOCTYPE html>\n<html><head><title>Download</title>"
                "</head><body>" + "x" * 100000 + "</body></html>\n")
    start_fails(p, expect=p.split("/")[-1])


def test_empty_file():
    p = os.path.join(tmpdir(), "empty.iso")
    open(p, "w").close()
    start_fails(p)


def test_missing_source():
    p = os.path.join(tmpdir(), "nope.iso")
    start_fails(p, expect="nope.iso")


def test_mountpoint_not_a_directory():
    fx = fixture()
    f = os.path.join(tmpdir(), "file")
    open(f, "w").close()
    start_fails(fixture_iso(fx), mnt=f, expect="not a directory")


def test_missing_mountpoint():
    fx = fixture()
    start_fails(fixture_iso(fx), mnt=os.path.join(tmpdir(), "a", "b"),
                expect="mountpoint")


def test_bad_option():
    fx = fixture()
    start_fails(fixture_iso(fx), opts=["epoch=yesterday"], expect="epoch",
                code=2)
    start_fails(fixture_iso(fx), opts=["drivers=viostor\\,floppy"],
                expect="drivers", code=2)


def run(*args):
    return subprocess.run([AEROFS] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=30)


def test_usage():
    r = run()
    check_eq(r.returncode, 2, "no arguments")
    if b"usage" not in r.stderr:
        raise AssertionError("no usage: %r" % r.stderr)
    r = run("a", "b", "c")
    if r.returncode != 2 or b"unexpected argument: c" not in r.stderr:
        raise AssertionError("third argument: %r %r" % (r.returncode,
                                                        r.stderr))
    r = run("--help")
    check_eq(r.returncode, 0, "--help")
    out = r.stdout + r.stderr
    for want in (b"SOURCE MOUNTPOINT", b"drivers=", b"notify_pipe=",
                 b"-o allow_other", b"max_threads"):
        if want not in out:
            raise AssertionError("--help lacks %r:\n%s" % (want, out))
    r = run("--version")
    check_eq(r.returncode, 0, "--version")
    if not r.stdout.startswith(b"aerofs "):
        raise AssertionError("--version: %r" % r.stdout)


if __name__ == "__main__":
    run_tests(globals())
