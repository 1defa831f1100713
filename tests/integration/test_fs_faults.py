#!/usr/bin/env python3
"""test_fs_faults.py: a source truncated under the mount gives EIO, not
zeros or a crash; a killed daemon's mountpoint is recovered by
fusermount3 -u and can be mounted again."""

import errno
import json
import os
import shutil
import signal
import stat
import subprocess
import threading
import time

from aerofs_test import (Daemon, check_eq, fixture, fixture_iso, is_mounted,
                         mounted, run_tests, sha256_file, tmpdir, wait_for,
                         walk)


def test_truncated_source():
    fx = fixture()
    src = os.path.join(tmpdir(), "src.iso")
    shutil.copyfile(fixture_iso(fx), src)
    with mounted(src) as d:
        d.allow(r"read of \d+ bytes at \d+ failed")
        d.allow(r"reload failed")
        # The images' background hash may still be running: it fails too.
        d.allow(r"cannot hash the images")
        files = [p for p, st in walk(d.mnt).items()
                 if stat.S_ISREG(st.st_mode)]
        with open(d.path("manifest.json"), "rb") as f:
            manifest = f.read()
        # The images' hashing (.aerofs/images/) reads the source too: let
        # it finish first, or it fails on the cut source as well.
        wait_for(lambda: d.status()["hash"]["state"] != "running",
                 what="the images hashed")
        # Cut the image to its volume descriptors: every file extent is
        # now past the end.
        os.truncate(src, 64 * 1024)
        eio = ok = 0
        for p in files:
            if not p.startswith("win7/"):
                continue
            try:
                with open(d.path(p), "rb") as f:
                    f.read()
                ok += 1
            except OSError as e:
                check_eq(e.errno, errno.EIO, p + " errno")
                eio += 1
        if eio == 0:
            raise AssertionError("no EIO after truncation (%d read)" % ok)
        check_eq(d.proc.poll(), None, "daemon alive")
        # Synthesized files live in memory and still read.
        with open(d.path("manifest.json"), "rb") as f:
            check_eq(f.read(), manifest, "manifest.json after truncation")
        s = d.status()
        if s["counters"]["read_errors"] < eio:
            raise AssertionError("read_errors %r" % s["counters"])
        if not s["last_read_error"] or "win7/" not in s["last_read_error"]:
            raise AssertionError("last_read_error %r" % s["last_read_error"])
        # The virtual image: its volume descriptors are built in memory
        # and still read; its file data comes from the source and fails.
        img = d.path(".aerofs", "aero-win7-drivers.iso")
        with open(img, "rb") as f:
            check_eq(os.pread(f.fileno(), 5, 16 * 2048 + 1), b"CD001",
                     "image PVD after truncation")
            try:
                while f.read(1 << 20):
                    pass
            except OSError as e:
                check_eq(e.errno, errno.EIO, "image errno")
            else:
                raise AssertionError("whole image read after truncation")
        if ".aerofs/" not in d.status()["last_read_error"]:
            raise AssertionError("image error not in status.json")


def test_source_rewritten_in_place_gives_eio():
    """An image held open while its source is rewritten in place (same
    inode, as a downloader writing into a preallocated file): its source
    bytes fail with EIO instead of mixing two releases.  Renamed over is
    clean (test_fs_reload); this is the other way a release arrives."""
    fx = fixture()
    src = os.path.join(tmpdir(), "src.iso")
    shutil.copyfile(fixture_iso(fx), src)
    with mounted(src) as d:
        d.allow(r"read of \d+ bytes at \d+ failed: source changed")
        d.allow(r"cannot hash the images")
        img = d.path(".aerofs", "aero-win7-drivers.iso")
        with open(img, "rb") as f:
            head = os.pread(f.fileno(), 64 << 10, 0)
            check_eq(head[16 * 2048 + 1:16 * 2048 + 6], b"CD001", "PVD")
            time.sleep(0.05)    # past the source's timestamp tick
            with open(src, "r+b") as g:
                size = os.fstat(g.fileno()).st_size
                g.seek(size // 2)
                b = g.read(1)
                g.seek(size // 2)
                g.write(bytes([b[0] ^ 1]))
            # Drop what the kernel cached for this file, then read on.
            os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
            try:
                f.seek(0)
                while f.read(1 << 20):
                    pass
            except OSError as e:
                check_eq(e.errno, errno.EIO, "errno")
            else:
                raise AssertionError("whole image read after an in-place "
                                     "rewrite of its source")
        check_eq(d.proc.poll(), None, "daemon alive")


def test_source_deleted_keeps_serving():
    fx = fixture()
    src = os.path.join(tmpdir(), "src.iso")
    shutil.copyfile(fixture_iso(fx), src)
    with mounted(src) as d:
        files = sorted(p for p, st in walk(d.mnt).items()
                       if stat.S_ISREG(st.st_mode) and p.startswith("win7"))
        os.unlink(src)
        # The daemon holds the image open: the old inode still reads.
        for p in files[:20]:
            sha256_file(d.path(p))
        check_eq(d.proc.poll(), None, "daemon alive")


def test_sigkill_recovery():
    fx = fixture()
    iso = fixture_iso(fx)
    d = Daemon(iso)
    d.start()
    try:
        os.listdir(d.mnt)
        os.kill(d.proc.pid, signal.SIGKILL)
        d.proc.wait(timeout=10)
        try:
            os.listdir(d.mnt)
        except OSError as e:
            check_eq(e.errno, errno.ENOTCONN, "errno of a dead mount")
        else:
            raise AssertionError("dead mount still lists")
        r = subprocess.run(["fusermount3", "-u", d.mnt],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        check_eq(r.returncode, 0, "fusermount3 -u: %s" % r.stdout.decode())
        check_eq(is_mounted(d.mnt), False, "still mounted")
    finally:
        d.cleanup()
    with mounted(iso, mnt=d.mnt) as d2:
        if "win7" not in os.listdir(d2.mnt):
            raise AssertionError("remount does not serve the pack")


def test_sigterm_unmounts():
    fx = fixture()
    d = Daemon(fixture_iso(fx))
    d.start()
    try:
        os.kill(d.proc.pid, signal.SIGTERM)
        check_eq(d.proc.wait(timeout=20), 0, "exit status after SIGTERM")
        end = time.monotonic() + 5
        while is_mounted(d.mnt) and time.monotonic() < end:
            time.sleep(0.05)
        check_eq(is_mounted(d.mnt), False, "mounted after SIGTERM")
        d.check_log()
    finally:
        d.cleanup()



def test_sigterm_cancels_a_long_reload():
    """A reload that would hash a whole new source (here 1 TiB, sparse,
    with -o source-hash) is abandoned at SIGTERM: the daemon exits at
    once instead of finishing a build it will never serve."""
    fx = fixture()
    dirpath = tmpdir()
    src = os.path.join(dirpath, "virtio-win.iso")
    shutil.copyfile(fixture_iso(fx), src)
    d = Daemon(src, opts=["source-hash"])
    d.start(timeout=120)
    try:
        big = os.path.join(dirpath, ".next.iso")
        shutil.copyfile(fixture_iso(fx), big)
        os.truncate(big, 1 << 40)
        os.rename(big, src)
        # The watcher's debounce, then the build starts hashing.
        time.sleep(2)
        check_eq(d.proc.poll(), None, "daemon alive during the reload")
        t0 = time.monotonic()
        os.kill(d.proc.pid, signal.SIGTERM)
        try:
            code = d.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            raise AssertionError("aerofs still hashing 60 s after SIGTERM")
        check_eq(code, 0, "exit status after SIGTERM")
        # Reading 1 TiB takes minutes on any disk; stopping, a moment.
        print("# exited %.2f s after SIGTERM" % (time.monotonic() - t0))
        d.check_log()
    finally:
        d.cleanup()


def test_newer_source_cancels_a_long_reload():
    """A reload hashing a huge new source (1 TiB, sparse, -o source-hash)
    is abandoned when yet another source is renamed over it: the newer
    one is served at once, not after minutes of hashing the one it
    replaced."""
    fx = fixture()
    new_fx = fixture("--seed", "2", "--omit", "vioinput")
    dirpath = tmpdir()
    src = os.path.join(dirpath, "virtio-win.iso")
    shutil.copyfile(fixture_iso(fx), src)
    with mounted(src, opts=["source-hash"]) as d:
        big = os.path.join(dirpath, ".big.iso")
        shutil.copyfile(fixture_iso(fx), big)
        os.truncate(big, 1 << 40)
        os.rename(big, src)
        time.sleep(2)       # debounce; the build is hashing 1 TiB now
        check_eq(d.status()["generation"], 1, "still generation 1")
        small = os.path.join(dirpath, ".small.iso")
        shutil.copyfile(fixture_iso(new_fx), small)
        os.rename(small, src)
        want = os.stat(src).st_ino
        end = time.monotonic() + 60
        while time.monotonic() < end:
            s = d.status()
            if s["source"]["ino"] == want:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the newer source was not served within "
                                 "60 s: the 1 TiB build went on")
        check_eq(s["counters"]["reloads_failed"], 0, "reloads_failed")
        check_eq(sorted(os.listdir(d.path("win7", "x86"))) ==
                 sorted(os.listdir(d.path("win7", "amd64"))), True,
                 "a consistent new tree")


def test_sigterm_during_reload():
    """SIGTERM while a reload is being built: the daemon must still exit
    and unmount, although a lookup is then waiting in the kernel that the
    ended loop will never answer (the reload must not wait for it)."""
    fx = fixture()
    src = os.path.join(tmpdir(), "slow.iso")
    shutil.copyfile(fixture_iso(fx), src)
    # A sparse tail that source-hash reads: a build of a few seconds.
    os.truncate(src, 512 << 20)
    d = Daemon(src, opts=["source-hash"])
    t0 = time.monotonic()
    d.start(timeout=120)
    build = time.monotonic() - t0
    waiter = None
    try:
        os.kill(d.proc.pid, signal.SIGHUP)
        time.sleep(0.3)
        os.kill(d.proc.pid, signal.SIGTERM)
        time.sleep(0.3)
        # A name never looked up: a lookup request, holding the root's
        # lock, that nobody reads any more.
        waiter = subprocess.Popen(["stat", d.path("not-there")],
                                  stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            code = d.proc.wait(timeout=build * 3 + 15)
        except subprocess.TimeoutExpired:
            raise AssertionError("aerofs hung after SIGTERM during a "
                                 "reload")
        check_eq(code, 0, "exit status after SIGTERM")
        check_eq(waiter.wait(timeout=20) != 0, True, "stat failed")
        end = time.monotonic() + 5
        while is_mounted(d.mnt) and time.monotonic() < end:
            time.sleep(0.05)
        check_eq(is_mounted(d.mnt), False, "mounted after SIGTERM")
        d.check_log()
    finally:
        if waiter and waiter.poll() is None:
            waiter.kill()
            waiter.wait()
        d.cleanup()

class HeldBeforePrep:
    """A daemon on SRC that serves its tree while its pack's hashing
    waits (AEROFS_TEST_HOLD_PREP) for release(): the state a first mount
    is in for the tens of milliseconds its hashing takes."""

    def __init__(self, src):
        self.fifo = os.path.join(tmpdir(), "hold")
        os.mkfifo(self.fifo)
        self.d = Daemon(src, env=dict(os.environ,
                                      AEROFS_TEST_HOLD_PREP=self.fifo))
        self.held = True

    def release(self):
        if self.held:
            self.held = False
            with open(self.fifo, "wb") as f:
                f.write(b"x")

    def __enter__(self):
        self.d.start()
        return self

    def __exit__(self, kind, value, tb):
        if kind is None:
            self.release()
            self.d.umount()
            return
        # Released without waiting for the daemon to open its end.
        fd = os.open(self.fifo, os.O_RDWR)
        os.write(fd, b"x")
        os.close(fd)
        self.d.cleanup()
        for line in self.d.stderr().splitlines()[-60:]:
            print("# daemon: " + line)


def test_manifest_waits_for_the_hashing():
    """The first generation is served before its files are hashed
    (deferred hashing): the tree lists, and a read of manifest.json
    issued meanwhile waits and gets the manifest whose digests are those
    of the served files."""
    fx = fixture()
    with HeldBeforePrep(fixture_iso(fx)) as h:
        d = h.d
        if not os.listdir(d.path("win7", "amd64")):
            raise AssertionError("win7/amd64 empty before the hashing")
        got = {}

        def read_manifest():
            try:
                with open(d.path("manifest.json"), "rb") as f:
                    got["text"] = f.read()
            except OSError as e:
                got["error"] = e

        t = threading.Thread(target=read_manifest)
        t.start()
        time.sleep(0.2)
        check_eq(got, {}, "manifest.json answered before the hashing")
        h.release()
        t.join(30)
        if "text" not in got:
            raise AssertionError("manifest.json: %r" % got)
        man = json.loads(got["text"])
        for e in man["files"]:
            check_eq(sha256_file(d.path(e["path"])), e["sha256"], e["path"])
            check_eq(os.stat(d.path(e["path"])).st_size, e["size"],
                     e["path"] + " size")
        check_eq(os.stat(d.path("manifest.json")).st_size,
                 len(got["text"]), "manifest.json size")
        s = d.status()
        check_eq(s["prepare"]["state"], "done", "prepare state")
        check_eq(s["image"]["size"],
                 os.stat(d.path(".aerofs", s["image"]["name"])).st_size,
                 "image size")


def test_source_rewritten_before_the_hashing():
    """A source rewritten in place after the tree is served but before
    its files are hashed: the tree stays listed, manifest.json and the
    images (which need the digests) fail with EIO, status.json says why,
    and the daemon keeps running."""
    fx = fixture()
    src = os.path.join(tmpdir(), "src.iso")
    shutil.copyfile(fixture_iso(fx), src)
    with HeldBeforePrep(src) as h:
        d = h.d
        d.allow(r"cannot complete the pack and its images")
        d.allow(r"read of \d+ bytes at \d+ failed")
        d.allow(r"reload")
        time.sleep(0.05)       # past the source's timestamp tick
        # Kept open: closing it would start a reload (the watcher).
        with open(src, "r+b") as w:
            size = os.fstat(w.fileno()).st_size
            w.seek(size // 2)
            b = w.read(1)
            w.seek(size // 2)
            w.write(bytes([b[0] ^ 1]))
            w.flush()
            h.release()
            s = d.status()
            check_eq(s["generation"], 1, "generation")
            check_eq(s["prepare"]["state"], "failed", "prepare state")
            if "source changed" not in s["prepare"]["error"]:
                raise AssertionError("prepare error %r"
                                     % s["prepare"]["error"])
            check_eq(s["hash"]["state"], "failed", "hash state")
            check_eq(s["image"]["size"], None, "image size")
            if not os.listdir(d.path("win7", "amd64")):
                raise AssertionError("win7/amd64 empty")
            for p in ("manifest.json", ".aerofs/aero-win7-drivers.iso"):
                try:
                    with open(d.path(p), "rb") as f:
                        f.read()
                except OSError as e:
                    check_eq(e.errno, errno.EIO, p + " errno")
                else:
                    raise AssertionError(p + " read after a failed "
                                         "hashing")
            check_eq(sorted(os.listdir(d.path(".aerofs"))),
                     ["images", "status.json"], ".aerofs without images")
            check_eq(d.proc.poll(), None, "daemon alive")

if __name__ == "__main__":
    run_tests(globals())
