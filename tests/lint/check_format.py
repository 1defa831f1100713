#!/usr/bin/env python3
"""check_format.py: every C file of the tree is as clang-format leaves it.

The style is .clang-format at the top (kernel style: tabs, 80 columns,
braces of functions on their own line); the whole tree was reformatted
once (the commit is in .git-blame-ignore-revs).  One TAP case per
top-level folder; a file that differs is named with the first lines of
the difference.  Skipped without clang-format.
"""
import os
import shutil
import subprocess
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..")
FOLDERS = ("virtio", "catalog", "export", "fs", "tests")


def sources(top):
    for dirpath, dirs, names in os.walk(os.path.join(ROOT, top)):
        dirs[:] = sorted(d for d in dirs if d not in ("hostile", "corpus"))
        for n in sorted(names):
            if n.endswith((".c", ".h")):
                yield os.path.join(dirpath, n)


def main():
    tool = shutil.which("clang-format")
    if not tool:
        print("1..0 # SKIP clang-format is not installed")
        return 0
    print("1..%d" % len(FOLDERS))
    bad = False
    for i, top in enumerate(FOLDERS, 1):
        diffs = []
        n = 0
        for path in sources(top):
            n += 1
            with open(path, "rb") as f:
                want = f.read()
            got = subprocess.run([tool, "--style=file", path],
                                 cwd=ROOT, capture_output=True).stdout
            if got != want:
                diffs.append(os.path.relpath(path, ROOT))
        for d in diffs:
            print("# %s differs from clang-format's output "
                  "(run clang-format -i %s)" % (d, d))
        bad |= bool(diffs) or n == 0
        print("%sok %d - %s (%d files)" % ("not " if diffs or n == 0 else "",
                                           i, top, n))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
