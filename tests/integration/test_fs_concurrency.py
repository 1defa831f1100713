#!/usr/bin/env python3
"""test_fs_concurrency.py: 16 threads reading every file and random ranges
of the virtual image through one mount get the right bytes."""

import os
import random
import stat
import threading

from aerofs_test import (CTL, ISO_NAME, check_eq, fixture, fixture_iso,
                         mounted, run_tests, sha256, tmpdir, walk)

THREADS = 16


def test_parallel_readers():
    fx = fixture()
    iso = fixture_iso(fx)
    # The reference comes from a private, single-threaded mount, so the
    # kernel's cache of the mount under test starts cold.
    with mounted(iso) as ref:
        files = {}
        for path, st in walk(ref.mnt).items():
            if stat.S_ISREG(st.st_mode):
                with open(ref.path(path), "rb") as f:
                    files[path] = sha256(f.read())
        with open(ref.path(CTL, ISO_NAME), "rb") as f:
            image = f.read()
    errors = []
    with mounted(iso, args=["-o", "max_threads=8"]) as d:
        def reader(seed):
            rnd = random.Random(seed)
            try:
                order = sorted(files)
                rnd.shuffle(order)
                for path in order:
                    with open(d.path(path), "rb") as f:
                        got = sha256(f.read())
                    if got != files[path]:
                        errors.append("%s: wrong bytes" % path)
                fd = os.open(d.path(CTL, ISO_NAME), os.O_RDONLY)
                try:
                    for _ in range(200):
                        off = rnd.randrange(len(image))
                        n = rnd.choice((1, 511, 2048, 4096, 65536,
                                        300000))
                        got = os.pread(fd, n, off)
                        if got != image[off:off + n]:
                            errors.append("image [%d,+%d): wrong bytes"
                                          % (off, n))
                finally:
                    os.close(fd)
            except Exception as e:  # reported by the main thread
                errors.append("thread %d: %r" % (seed, e))

        threads = [threading.Thread(target=reader, args=(i,))
                   for i in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        check_eq(errors[:5], [], "errors from %d threads" % THREADS)
        s = d.status()
        if s["counters"]["reads"] == 0 or s["counters"]["read_errors"]:
            raise AssertionError("counters %r" % s["counters"])


def test_single_threaded_mode():
    fx = fixture()
    with mounted(fixture_iso(fx), args=["-s"]) as d:
        n = 0
        for path, st in walk(d.mnt).items():
            if stat.S_ISREG(st.st_mode):
                with open(d.path(path), "rb") as f:
                    check_eq(len(f.read()), st.st_size, path)
                n += 1
        if n == 0:
            raise AssertionError("no files")


if __name__ == "__main__":
    run_tests(globals())
