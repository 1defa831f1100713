#!/usr/bin/env python3
"""bench-catalog.py: how long building the catalog of a virtio-win ISO
takes, and how much memory it needs, against listing the same ISO with
libarchive (bsdtar -tf), measured in the same run.

    contrib/bench-catalog.py [BUILD_DIR]

Generates a tiny and a full-scale (~750 MB) fixture with
tests/fixtures/mkvirtiowin.py in a temporary directory (or uses
$AEROFS_BENCH_FIXTURE for the full one), warms the page cache, then runs
`aerofs-catalog --json ISO` (the whole catalog: ISO index, selection, INF
and catalog parsing, SHA-256 of every pack file, manifest) and
`bsdtar -tf ISO` 15 times each and reports medians, their ratio, and the
peak RSS of aerofs-catalog for both fixtures (memory must not grow with the
ISO size).  The source hash (-o source-hash) is excluded, as it reads the
whole ISO by design.  Numbers only; nothing is asserted.
"""

import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
TOOL = os.path.join(BUILD, "catalog", "aerofs-catalog")
GEN = os.path.join(ROOT, "tests", "fixtures", "mkvirtiowin.py")
RUNS = 15


def generate(out, scale):
    subprocess.run([sys.executable, GEN, "--out", out, "--scale", scale,
                    "--variants", "rr"], check=True,
                   stdout=subprocess.DEVNULL)
    return os.path.join(out, "virtio-win-rr.iso")


def warm(path):
    with open(path, "rb") as f:
        while f.read(1 << 22):
            pass


def timed(cmd):
    """Median wall seconds of RUNS runs of CMD, output discarded."""
    times = []
    for _ in range(RUNS):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def peak_rss_kib(cmd):
    """Peak RSS of one run of CMD, by GNU time: a forked Python child would
    count Python's own pages before exec() (Linux keeps the maximum across
    exec), GNU time's child is small."""
    r = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return int(r.stderr.decode().strip().splitlines()[-1])


def main():
    if not os.access(TOOL, os.X_OK):
        raise SystemExit("bench-catalog: build %s first" % TOOL)
    for tool in ("bsdtar", "/usr/bin/time"):
        if not shutil.which(tool):
            raise SystemExit("bench-catalog: %s missing (apt-get install "
                             "libarchive-tools time)" % tool)
    tmp = tempfile.mkdtemp(prefix="aerofs-bench-catalog-", dir="/var/tmp")
    try:
        tiny = generate(os.path.join(tmp, "tiny"), "tiny")
        full = os.environ.get("AEROFS_BENCH_FIXTURE")
        full = (os.path.join(full, "virtio-win-rr.iso") if full
                else generate(os.path.join(tmp, "full"), "full"))
        print("aerofs bench-catalog: %s, %d CPUs, %s"
              % (platform.release(), os.cpu_count(),
                 time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime())))
        print("warm page cache; median of %d runs\n" % RUNS)
        print("%-28s %10s %12s %8s %12s" % ("source", "catalog", "bsdtar -tf",
                                            "ratio", "catalog RSS"))
        for name, iso in (("tiny", tiny), ("full", full)):
            warm(iso)
            cat = timed([TOOL, "--json", iso])
            lst = timed(["bsdtar", "-tf", iso])
            rss = peak_rss_kib([TOOL, "--json", iso])
            size = os.path.getsize(iso) / 1e6
            print("%-28s %8.1fms %10.1fms %7.2fx %9.1f MiB"
                  % ("%s (%.0f MB ISO)" % (name, size), cat * 1e3, lst * 1e3,
                     lst / cat, rss / 1024))
        print("\nratio = bsdtar time / catalog time (> 1: the catalog, "
              "which also parses every INF and catalog and hashes the "
              "pack, is faster than libarchive only listing the ISO)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
