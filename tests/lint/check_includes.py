#!/usr/bin/env python3
"""check_includes.py: the include rules of the source tree, enforced.

Data flows one way (source -> catalog -> pack -> image/archive -> fs and
aerofs-export), and so do includes: a file may include project headers
only from the folders its own folder is allowed to use.  Rules, first
match wins (a file's path against a prefix):

  virtio/            virtio/ only: the virtio core stands alone
  catalog/util/      util/ only
  catalog/source/    util/, source/
  catalog/formats/   util/, formats/
  catalog/pack/      util/, pack/
  catalog/stage/     util/, source/, formats/, pack/, stage/, virtio/
  catalog/main.c     util/, stage/ (and what stage/ may use)
  export/image/      util/, pack/, image/: never the catalog stage
  export/archive/    util/, pack/, archive/
  export/main.c      catalog/, export/: never fs/
  fs/                catalog/, export/image/, fs/: never the aerofs-export
                     program or its archive writers
  tests/             anything

Prints one line per violation and exits 1 if there is any (TAP: one case
per rule group).
"""
import os
import re
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..")

STAGE_USES = ("catalog/util/", "catalog/source/", "catalog/formats/",
              "catalog/pack/", "catalog/stage/", "virtio/")
RULES = [
    ("virtio/", ("virtio/",)),
    ("catalog/util/", ("catalog/util/",)),
    ("catalog/source/", ("catalog/util/", "catalog/source/")),
    ("catalog/formats/", ("catalog/util/", "catalog/formats/")),
    ("catalog/pack/", ("catalog/util/", "catalog/pack/")),
    ("catalog/stage/", STAGE_USES),
    ("catalog/", STAGE_USES),
    ("export/image/", ("catalog/util/", "catalog/pack/", "export/image/")),
    ("export/archive/", ("catalog/util/", "catalog/pack/",
                         "export/archive/")),
    ("export/", ("catalog/", "virtio/", "export/")),
    ("fs/", ("catalog/", "virtio/", "export/image/", "fs/")),
]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def files():
    for top in ("virtio", "catalog", "export", "fs"):
        for dirpath, _, names in os.walk(os.path.join(ROOT, top)):
            for n in sorted(names):
                if n.endswith((".c", ".h")):
                    full = os.path.join(dirpath, n)
                    yield os.path.relpath(full, ROOT), full


def main():
    bad = {}
    checked = {prefix: 0 for prefix, _ in RULES}
    for rel, full in files():
        prefix, allowed = next(r for r in RULES if rel.startswith(r[0]))
        checked[prefix] += 1
        with open(full, encoding="utf-8") as f:
            for no, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                inc = m.group(1)
                if "/" not in inc:
                    bad.setdefault(prefix, []).append(
                        "%s:%d: \"%s\" is not a path from the top"
                        % (rel, no, inc))
                elif not inc.startswith(allowed):
                    bad.setdefault(prefix, []).append(
                        "%s:%d: includes %s (allowed: %s)"
                        % (rel, no, inc, ", ".join(allowed)))
    print("1..%d" % len(RULES))
    for i, (prefix, _) in enumerate(RULES, 1):
        for msg in bad.get(prefix, []):
            print("# " + msg)
        if not checked[prefix]:
            print("not ok %d - %s: no files found (rule is stale)"
                  % (i, prefix))
            bad.setdefault(prefix, []).append("empty")
        else:
            print("%sok %d - %s (%d files)" % (
                "not " if prefix in bad else "", i, prefix,
                checked[prefix]))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
