#!/usr/bin/env python3
"""test_fs_reload.py: live reload when the source is replaced or on SIGHUP.

Open files keep the generation they opened; new lookups see the new pack;
an invalid replacement leaves the old pack in place and says why in
status.json."""

import os
import shutil
import signal
import subprocess
import threading
import time

from aerofs_test import (CTL, EXPORT, ISO_NAME, check_eq, fixture, fixture_iso,
                         mounted, run_tests, sha256, sha256_file, tmpdir,
                         wait_for)

DRIVER_FILE = None


def pick_driver_file(mnt):
    """A sizeable upstream driver file present in both fixtures."""
    d = os.path.join(mnt, "win7", "amd64")
    for drv in sorted(os.listdir(d)):
        if drv.lower() == "viostor":
            for name in sorted(os.listdir(os.path.join(d, drv))):
                if name.endswith(".sys"):
                    return os.path.join("win7", "amd64", drv, name)
    raise AssertionError("no viostor .sys in the pack")


def copy_to(src, dst):
    tmp = dst + ".tmp"
    shutil.copyfile(src, tmp)
    os.rename(tmp, dst)


def replace_source(src, new):
    """Puts NEW at SRC the way tools do: write aside, rename over."""
    tmp = os.path.join(os.path.dirname(src), ".incoming")
    shutil.copyfile(new, tmp)
    os.rename(tmp, src)


def test_replace_keeps_open_files():
    old_fx = fixture()
    new_fx = fixture("--seed", "2", "--omit", "vioinput")
    d0 = tmpdir()
    src = os.path.join(d0, "virtio-win.iso")
    copy_to(fixture_iso(old_fx), src)
    with mounted(src) as d:
        rel = pick_driver_file(d.mnt)
        path = d.path(rel)
        old_bytes = open(path, "rb").read()
        old_x86 = sorted(os.listdir(d.path("win7", "x86")))
        if not any(x.lower() == "vioinput" for x in old_x86):
            raise AssertionError("fixture lacks vioinput: %r" % old_x86)
        old_iso = open(d.path(CTL, ISO_NAME), "rb").read()
        f = open(path, "rb", buffering=0)
        head = f.read(100)
        fiso = open(d.path(CTL, ISO_NAME), "rb", buffering=0)
        check_eq(d.status()["generation"], 1, "generation")

        replace_source(src, fixture_iso(new_fx))
        s = wait_for(lambda: (lambda s: s if s["generation"] == 2 else None)(
            d.status()), what="generation 2")
        check_eq(s["counters"]["reloads_ok"], 1, "reloads_ok")
        check_eq(s["last_reload_error"], None, "last_reload_error")
        check_eq(s["source"]["ino"], os.stat(src).st_ino, "new identity")

        # The open reader still reads the old bytes, to the end.
        check_eq(head + f.read(), old_bytes, "old handle after reload")
        f.seek(0)
        check_eq(f.read(), old_bytes, "old handle re-read")
        fiso.seek(0)
        check_eq(sha256(fiso.read()), sha256(old_iso), "old image handle")
        f.close()
        fiso.close()

        # A new open sees the new pack: new bytes, new listing.
        new_bytes = open(path, "rb").read()
        if new_bytes == old_bytes:
            raise AssertionError("%s unchanged after reload" % rel)
        up = os.path.join(new_fx, "tree")
        found = False
        for root, _, files in os.walk(up):
            # Match on the path inside the tree: the random temporary
            # directory above it may itself contain "w7".
            parts = os.path.relpath(root, up).lower().split(os.sep)
            for n in files:
                if (n.lower() == os.path.basename(rel).lower()
                        and parts == ["viostor", "w7", "amd64"]):
                    check_eq(sha256(new_bytes),
                             sha256_file(os.path.join(root, n)),
                             "new bytes are the new upstream file")
                    found = True
        check_eq(found, True, "new upstream file found")
        new_x86 = sorted(os.listdir(d.path("win7", "x86")))
        check_eq(any(x.lower() == "vioinput" for x in new_x86), False,
                 "vioinput gone after reload")
        new_iso = open(d.path(CTL, ISO_NAME), "rb").read()
        check_eq(len(new_iso), os.stat(d.path(CTL, ISO_NAME)).st_size,
                 "new image size")
        if new_iso == old_iso:
            raise AssertionError("image unchanged after reload")

        # An invalid replacement: the pack stays, the error is reported.
        html = os.path.join(d0, "page.html")
        with open(html, "w") as h:
            h.write("<!DOCTYPE html><html><body>404 Not Found</body>"
                    "</html>\n" * 50)
        d.allow(r"reload failed")
        replace_source(src, html)
        s = wait_for(lambda: (lambda s: s if s["last_reload_error"] else
                              None)(d.status()), what="reload error")
        check_eq(s["generation"], 2, "generation after a failed reload")
        check_eq(s["counters"]["reloads_failed"], 1, "reloads_failed")
        check_eq(open(path, "rb").read(), new_bytes, "tree kept")
        check_eq(sorted(os.listdir(d.path("win7", "x86"))), new_x86,
                 "listing kept")

        # And back to a valid one.
        replace_source(src, fixture_iso(old_fx))
        s = wait_for(lambda: (lambda s: s if s["generation"] == 3 else None)(
            d.status()), what="generation 3")
        check_eq(s["last_reload_error"], None, "error cleared")
        check_eq(open(path, "rb").read(), old_bytes, "old bytes again")
        check_eq(sorted(os.listdir(d.path("win7", "x86"))), old_x86,
                 "old listing again")


def test_export_of_a_reloading_mount_is_one_release():
    """aerofs-export of a mount while its source flips between two
    releases (bounded: 12 exports): every export either fails with no
    OUTPUT or gives exactly the bytes of one release's export; never a
    ZIP that mixes them and contradicts its own manifest."""
    fx_a = fixture()
    fx_b = fixture("--seed", "2", "--omit", "vioinput")
    d0 = tmpdir()
    src = os.path.join(d0, "virtio-win.iso")
    copy_to(fixture_iso(fx_a), src)
    want = set()
    for i, fx in enumerate((fx_a, fx_b)):
        # The same base name as the mount's source: the manifest has it.
        ref = os.path.join(d0, "ref-%d" % i)
        os.mkdir(ref)
        copy_to(fixture_iso(fx), os.path.join(ref, "virtio-win.iso"))
        out = os.path.join(d0, "ref-%d.zip" % i)
        r = subprocess.run([EXPORT, "-q", os.path.join(ref, "virtio-win.iso"),
                            out], capture_output=True, text=True)
        check_eq(r.returncode, 0, "reference export: " + r.stderr)
        want.add(sha256_file(out))
    stop = []

    def flipper():
        k = 0
        while not stop:
            replace_source(src, fixture_iso((fx_a, fx_b)[k % 2]))
            k += 1
            time.sleep(0.05)
    with mounted(src) as d:
        d.allow(r"reload failed")
        t = threading.Thread(target=flipper)
        t.start()
        outcomes = []
        try:
            for i in range(12):
                out = os.path.join(d0, "mix-%d.zip" % i)
                r = subprocess.run([EXPORT, "-q", d.mnt, out],
                                   capture_output=True, text=True)
                if r.returncode == 0:
                    check_eq(sha256_file(out) in want, True,
                             "export %d is one release's bytes" % i)
                    outcomes.append("ok")
                else:
                    check_eq(os.path.exists(out), False,
                             "failed export %d left its OUTPUT" % i)
                    outcomes.append("failed")
        finally:
            stop.append(1)
            t.join()
        print("# outcomes: %s" % " ".join(outcomes))


def test_directory_handles_across_reload():
    """A directory handle opened before a reload must not bring the old
    generation back: the root and .aerofs keep their node ids across
    generations, so entries listed (readdirplus) through an old handle
    would be cached as the current ones."""
    old_fx = fixture()
    new_fx = fixture("--seed", "2", "--omit", "vioinput")
    src = os.path.join(tmpdir(), "virtio-win.iso")
    copy_to(fixture_iso(old_fx), src)
    with mounted(src) as d:
        old_manifest = open(d.path("manifest.json"), "rb").read()
        old_iso_size = os.stat(d.path(CTL, ISO_NAME)).st_size
        ctl_names = os.listdir(d.path(CTL))
        root_fd = os.open(d.mnt, os.O_RDONLY | os.O_DIRECTORY)
        ctl_fd = os.open(d.path(CTL), os.O_RDONLY | os.O_DIRECTORY)
        try:
            replace_source(src, fixture_iso(new_fx))
            s = wait_for(lambda: (lambda s: s if s["generation"] == 2
                                  else None)(d.status()),
                         what="generation 2")
            # Listings through the handles of generation 1.
            old_names = sorted(os.listdir(root_fd))
            check_eq(sorted(os.listdir(ctl_fd)),
                     sorted(ctl_names), ".aerofs listing")
        finally:
            os.close(root_fd)
            os.close(ctl_fd)
        check_eq(old_names, sorted(os.listdir(d.mnt)), "root names")
        new_manifest = open(d.path("manifest.json"), "rb").read()
        if new_manifest == old_manifest:
            raise AssertionError("manifest.json of generation 1 served "
                                 "after the reload")
        size = os.stat(d.path(CTL, ISO_NAME)).st_size
        check_eq(size, s["image"]["size"], "image size after reload")
        if size == old_iso_size:
            raise AssertionError("image of generation 1 after the reload")
        check_eq(len(open(d.path(CTL, ISO_NAME), "rb").read()), size,
                 "image bytes after reload")


def test_sighup_reloads():
    fx = fixture()
    with mounted(fixture_iso(fx)) as d:
        s = d.status()
        check_eq(s["generation"], 1, "generation")
        names = sorted(os.listdir(d.mnt))
        os.kill(d.proc.pid, signal.SIGHUP)
        s = wait_for(lambda: (lambda s: s if s["generation"] == 2 else None)(
            d.status()), what="generation 2 after SIGHUP")
        check_eq(s["counters"]["reloads_ok"], 1, "reloads_ok")
        check_eq(sorted(os.listdir(d.mnt)), names, "same tree")
        check_eq(d.proc.poll(), None, "daemon alive after SIGHUP")


def test_many_reloads_release_generations():
    fx = fixture()
    d0 = tmpdir()
    src = os.path.join(d0, "v.iso")
    copy_to(fixture_iso(fx), src)
    with mounted(src) as d:
        keep = open(d.path("install.cmd"), "rb")

        def at_generation(i):
            s = d.status()
            # One snapshot: each generation comes with its reload.
            check_eq(s["counters"]["reloads_ok"], s["generation"] - 1,
                     "reloads_ok at generation %d" % s["generation"])
            return s["generation"] == i

        for i in range(2, 6):
            os.kill(d.proc.pid, signal.SIGHUP)
            wait_for(lambda: at_generation(i), what="generation %d" % i)
            # Walk the whole tree in every generation.
            for root, _, files in os.walk(d.mnt):
                for n in files:
                    open(os.path.join(root, n), "rb").close()
        live = d.status()["live_generations"]
        # Generation 1 is kept by the open file; the kernel may still
        # hold entries of the others until it forgets them.
        if live < 2:
            raise AssertionError("live generations %d with an open file "
                                 "of generation 1" % live)
        keep.read()
        keep.close()
        # Once the kernel forgets the old node ids (drop its dentry and
        # inode caches), every old generation must be freed: the lookup
        # counts we hand out and the forgets we get must balance.
        if os.geteuid() == 0:
            def only_current():
                with open("/proc/sys/vm/drop_caches", "w") as f:
                    f.write("2\n")
                return d.status()["live_generations"] == 1
            wait_for(only_current, what="old generations freed")


if __name__ == "__main__":
    run_tests(globals())
