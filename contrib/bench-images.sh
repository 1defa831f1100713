#!/bin/sh
# bench-images.sh: the mount's virtual disk images against the same bytes
# exported to a file on local disk.
#
#   contrib/bench-images.sh [BUILD_DIR]      (root: drops caches, mounts)
#
# Generates a `--scale full` virtio-win fixture in a temporary directory
# (or uses $AEROFS_BENCH_FIXTURE, a mkvirtiowin.py output directory), then
# measures, in one run, for .aerofs/aero-win7-drivers.img (raw FAT disk),
# .vhd (the same plus a VHD footer) and .iso (for comparison):
#   - time from starting the daemon to the first byte of the image being
#     readable: median of 5 cold starts, caches dropped before each;
#   - cold sequential read (dd bs=1M of the whole image, caches dropped
#     before each, median of 3) of the mount's image and of the file
#     `aerofs-export --format F` wrote, in MB/s and as a ratio;
#   - warm sequential read: best of 3 rounds of 5 reads each.
# The exported files go to a temporary directory under ${TMPDIR:-/var/tmp};
# the report says whether that is the fixture's filesystem.
#
# Not a test: numbers vary with the machine; nothing is asserted.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
SRC_ROOT=$(dirname "$HERE")
BUILD=${1:-$SRC_ROOT/build}
AEROFS=$BUILD/fs/aerofs
EXPORT=$BUILD/export/aerofs-export
MKVIRTIOWIN=$SRC_ROOT/tests/fixtures/mkvirtiowin.py
FORMATS="img vhd iso"

die() {
	echo "bench-images: $*" >&2
	if [ -s "${WORK:-/nonexistent}/aerofs.log" ]; then
		echo "bench-images: aerofs log:" >&2
		tail -n 20 "$WORK/aerofs.log" >&2
	fi
	exit 1
}

[ "$(id -u)" = 0 ] || die "run as root (drop_caches, mounts)"
[ -x "$AEROFS" ] || die "no aerofs at $AEROFS (build first)"
[ -x "$EXPORT" ] || die "no aerofs-export at $EXPORT (build first)"

WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/aerofs-bench-images.XXXXXX")
MNT=$WORK/mnt
APID=""
cleanup() {
	if [ -n "$APID" ]; then
		fusermount3 -u -z "$MNT" 2>/dev/null || true
		kill "$APID" 2>/dev/null || true
		wait "$APID" 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

drop_caches() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

now() {
	date +%s.%N
}

# median LIST...: the middle value (lower middle for an even count).
median() {
	printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"
}

# best LIST...: the largest value.
best() {
	printf '%s\n' "$@" | sort -n | tail -n1
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'
}

# ddread FILE N: reads FILE N times with dd bs=1M; prints the MB/s of the
# N reads together (decimal MB).
ddread() {
	size=$(stat -c %s "$1") || die "cannot stat $1 (aerofs pid $APID $(
		kill -0 "$APID" 2>/dev/null && echo running || echo gone))"
	t0=$(now)
	i=0
	while [ "$i" -lt "$2" ]; do
		dd if="$1" of=/dev/null bs=1M 2>/dev/null ||
			die "dd of $1 failed"
		i=$((i + 1))
	done
	t1=$(now)
	awk -v s="$size" -v n="$2" -v a="$t0" -v b="$t1" \
		'BEGIN { d = b - a; printf "%.1f", s * n / 1e6 / (d > 0 ? d : 1e-9) }'
}

# start_daemon: mounts SOURCE on MNT in the background (sets APID).
start_daemon() {
	"$AEROFS" "$ISO" "$MNT" -f 2>>"$WORK/aerofs.log" &
	APID=$!
}

stop_daemon() {
	fusermount3 -u "$MNT"
	wait "$APID" || die "aerofs exited with an error: $(cat "$WORK/aerofs.log")"
	APID=""
}

# first_byte FILE: polls (every 5 ms, 60 s at most) until one byte of FILE
# can be read.
first_byte() {
	i=0
	until [ "$(dd if="$1" bs=1 count=1 2>/dev/null | wc -c)" -eq 1 ]; do
		i=$((i + 1))
		[ $i -lt 12000 ] || die "$1 not readable after 60 s"
		kill -0 "$APID" 2>/dev/null ||
			die "aerofs exited: $(cat "$WORK/aerofs.log")"
		sleep 0.005
	done
}

# --- fixture --------------------------------------------------------------
if [ -n "${AEROFS_BENCH_FIXTURE:-}" ]; then
	FULL=$AEROFS_BENCH_FIXTURE
else
	FULL=$WORK/full
	echo "generating the full fixture (mkvirtiowin.py --scale full)..."
	python3 "$MKVIRTIOWIN" --out "$FULL" --scale full --variants rr \
		>/dev/null 2>&1
fi
ISO=$FULL/virtio-win-rr.iso
[ -f "$ISO" ] || die "no $ISO"
mkdir -p "$MNT" "$WORK/local"

if [ "$(stat -c %d "$ISO")" = "$(stat -c %d "$WORK/local")" ]; then
	samefs="same filesystem as the fixture"
else
	samefs="NOT the fixture's filesystem"
fi

# --- exported files -------------------------------------------------------
for f in $FORMATS; do
	"$EXPORT" --format "$f" "$ISO" "$WORK/local/aero-win7-drivers.$f" \
		>/dev/null 2>>"$WORK/export.log" ||
		die "aerofs-export --format $f failed: $(cat "$WORK/export.log")"
done

# --- start to first byte --------------------------------------------------
for f in $FORMATS; do
	ts=""
	for _ in 1 2 3 4 5; do
		drop_caches
		t0=$(now)
		start_daemon
		first_byte "$MNT/.aerofs/aero-win7-drivers.$f"
		t1=$(now)
		ts="$ts $(awk -v a="$t0" -v b="$t1" \
			'BEGIN { printf "%.0f", (b - a) * 1000 }')"
		stop_daemon
	done
	# shellcheck disable=SC2086
	eval "start_$f=$(median $ts)"
done

# --- sequential reads -----------------------------------------------------
start_daemon
first_byte "$MNT/.aerofs/aero-win7-drivers.iso"
for f in $FORMATS; do
	m=$MNT/.aerofs/aero-win7-drivers.$f
	l=$WORK/local/aero-win7-drivers.$f
	if cmp -s "$m" "$l"; then
		eval "same_$f=identical"
	else
		eval "same_$f=DIFFER"
	fi
	eval "size_$f=$(stat -c %s "$l" |
		awk '{ printf "%.1f", $1 / 1e6 }')"
	mc=""
	lc=""
	for _ in 1 2 3; do
		drop_caches
		mc="$mc $(ddread "$m" 1)"
		drop_caches
		lc="$lc $(ddread "$l" 1)"
	done
	mw=""
	lw=""
	ddread "$m" 1 >/dev/null
	ddread "$l" 1 >/dev/null
	for _ in 1 2 3; do
		mw="$mw $(ddread "$m" 5)"
		lw="$lw $(ddread "$l" 5)"
	done
	# shellcheck disable=SC2086
	eval "mcold_$f=$(median $mc) lcold_$f=$(median $lc)"
	# shellcheck disable=SC2086
	eval "mwarm_$f=$(best $mw) lwarm_$f=$(best $lw)"
done
stop_daemon

# --- report ---------------------------------------------------------------
SRCMB=$(awk -v b="$(stat -c %s "$ISO")" 'BEGIN { printf "%.1f", b / 1e6 }')
cat <<EOF

aerofs bench-images: $(uname -r), $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ)
source: full fixture, $SRCMB MB ISO; local = aerofs-export --format F,
on the $samefs.  First byte: daemon start to 1 byte read
(polled every 5 ms), median of 5 cold starts.  Cold: dd bs=1M of the whole
image after drop_caches, median of 3; warm: best of 3 rounds of 5 reads.
Ratio = mount MB/s / local MB/s (1.00 = same).

image   size MB  first byte  cold MB/s mount  local  ratio  warm MB/s mount   local  ratio  bytes
EOF
for f in $FORMATS; do
	eval "s=\$size_$f st=\$start_$f mc=\$mcold_$f lc=\$lcold_$f"
	eval "mw=\$mwarm_$f lw=\$lwarm_$f same=\$same_$f"
	# shellcheck disable=SC2154
	printf '%-6s %8s %8s ms  %15s %6s %6s  %15s %7s %6s  %s\n' \
		"$f" "$s" "$st" "$mc" "$lc" "$(ratio "$mc" "$lc")" \
		"$mw" "$lw" "$(ratio "$mw" "$lw")" "$same"
done
