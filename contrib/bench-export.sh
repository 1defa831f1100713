#!/bin/sh
# bench-export.sh: aerofs-export against the extract-and-pack pipeline it
# replaces, on a full-scale (~750 MB) synthetic virtio-win ISO.
#
#   contrib/bench-export.sh [BUILD_DIR]     (default: build)
#
# Generates the fixture in a temporary directory (removed at the end), then
# times, in the same run:
#   zip: aerofs-export ISO -> .zip  vs  7z x of the Win7 subset + zip -r
#   iso: aerofs-export ISO -> .iso  vs  7z x of the subset + xorriso
# (7z, not bsdtar: bsdtar turns the ISO's hard links into links to files
# outside the subset and fails)
#   read: the virtual image under a mount's .aerofs/ read sequentially vs
#         the exported .iso file (page cache dropped before each, if root)
# and prints each pair with its ratio (reference / aerofs; > 1 means
# aerofs is faster).  Numbers only; no assertions.
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build}
EXPORT=$BUILD/export/aerofs-export
AEROFS=$BUILD/fs/aerofs
[ -x "$EXPORT" ] || { echo "bench-export: build $EXPORT first" >&2; exit 1; }
for t in python3 7z zip xorriso bc; do
	command -v $t >/dev/null || { echo "bench-export: $t missing" >&2; exit 1; }
done

TMP=$(mktemp -d /var/tmp/aerofs-bench-XXXXXX)
MNT=
cleanup() {
	[ -n "$MNT" ] && { fusermount3 -u "$MNT" 2>/dev/null || umount "$MNT" 2>/dev/null || true; }
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }
drop_caches() {
	sync
	[ "$(id -u)" = 0 ] && echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
}
report() {	# name aerofs-seconds reference-seconds
	printf '%-6s aerofs %7.2fs   reference %7.2fs   ratio %5.2fx\n' \
		"$1" "$2" "$3" "$(echo "scale=2; $3 / $2" | bc)"
}

echo "bench-export: generating the full fixture in $TMP (takes a while)"
python3 "$SRC/tests/fixtures/mkvirtiowin.py" --out "$TMP/fx" --scale full \
	--variants rr >/dev/null
ISO=$TMP/fx/virtio-win-rr.iso
echo "bench-export: source $(du -h "$ISO" | cut -f1)"

# The subset the pack takes: the Win7 folders of the four drivers, and the
# licence.  From fixture.json, the way a script would know them.
SUBSET=$(python3 - "$TMP/fx/fixture.json" <<'PY'
import json, sys
w7 = json.load(open(sys.argv[1]))["w7"]
paths = [p for d in ("viostor", "NetKVM", "vioinput", "viosnd")
         for p in w7.get(d, {}).values()]
print(" ".join(paths + ["virtio-win_license.txt"]))
PY
)

# zip
drop_caches
t0=$(now); "$EXPORT" -q "$ISO" "$TMP/a.zip"; t1=$(now)
drop_caches
t2=$(now)
# shellcheck disable=SC2086
7z x -y -o"$TMP/ref-zip" "$ISO" $SUBSET >/dev/null
(cd "$TMP/ref-zip" && zip -qrX "$TMP/ref.zip" .)
t3=$(now)
report zip "$(elapsed "$t0" "$t1")" "$(elapsed "$t2" "$t3")"

# iso
drop_caches
t0=$(now); "$EXPORT" -q "$ISO" "$TMP/a.iso"; t1=$(now)
drop_caches
t2=$(now)
# shellcheck disable=SC2086
7z x -y -o"$TMP/ref-iso" "$ISO" $SUBSET >/dev/null
xorriso -as mkisofs -quiet -r -J -V AERO_W7_DRIVERS -o "$TMP/ref.iso" \
	"$TMP/ref-iso" 2>/dev/null
t3=$(now)
report iso "$(elapsed "$t0" "$t1")" "$(elapsed "$t2" "$t3")"
echo "sizes: aerofs zip $(stat -c %s "$TMP/a.zip") iso $(stat -c %s "$TMP/a.iso");" \
	"reference zip $(stat -c %s "$TMP/ref.zip") iso $(stat -c %s "$TMP/ref.iso")"

# sequential read of the virtual image vs the exported file
if [ -x "$AEROFS" ] && [ -e /dev/fuse ]; then
	MNT=$TMP/mnt
	mkdir "$MNT"
	"$AEROFS" "$ISO" "$MNT"
	VISO=$(ls "$MNT"/.aerofs/*.iso 2>/dev/null | head -n 1)
	if [ -n "$VISO" ]; then
		cmp -s "$VISO" "$TMP/a.iso" && same=identical || same=DIFFERENT
		drop_caches
		t0=$(now); cat "$VISO" >/dev/null; t1=$(now)
		drop_caches
		t2=$(now); cat "$TMP/a.iso" >/dev/null; t3=$(now)
		report read "$(elapsed "$t0" "$t1")" "$(elapsed "$t2" "$t3")"
		echo "virtual image and exported file: $same"
	else
		echo "read: no .aerofs/*.iso under the mount, skipped"
	fi
else
	echo "read: $AEROFS not built or no /dev/fuse, skipped"
fi
