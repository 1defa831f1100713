#!/bin/sh
# bench-fs.sh: how fast aerofs serves the pack, against a local extracted
# copy and against archivemount and fuseiso on the same ISO.
#
#   contrib/bench-fs.sh [BUILD_DIR]          (root: drops caches, mounts)
#
# Generates a `--scale full` virtio-win fixture in a temporary directory
# (or uses $AEROFS_BENCH_FIXTURE, a mkvirtiowin.py output directory), then
# measures, in one run on one disk:
#   - time from starting the daemon to a listable tree;
#   - cold (caches dropped) and warm read throughput of the pack's driver
#     files and of the virtual CD image, each as a ratio against reading
#     the same bytes from a local extracted copy (cp -a of the mount);
#   - the same driver files read through archivemount and fuseiso (their
#     upstream paths in the ISO), against the same local copy;
#   - daemon peak RSS (VmHWM) for the tiny and the full fixture.
# archivemount and fuseiso are installed from Debian if missing.
#
# Not a test: numbers vary with the machine; nothing is asserted.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
SRC_ROOT=$(dirname "$HERE")
BUILD=${1:-$SRC_ROOT/build}
AEROFS=$BUILD/fs/aerofs
MKVIRTIOWIN=$SRC_ROOT/tests/fixtures/mkvirtiowin.py

die() { echo "bench-fs: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (drop_caches, mounts)"
[ -x "$AEROFS" ] || die "no aerofs at $AEROFS (build first)"
for pkg in archivemount fuseiso; do
	command -v "$pkg" >/dev/null 2>&1 ||
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" \
			>/dev/null 2>&1 || die "cannot install $pkg"
done

WORK=$(mktemp -d /var/tmp/aerofs-bench.XXXXXX)
MOUNTS=""
PIDS=""
cleanup() {
	for m in $MOUNTS; do
		fusermount3 -u -z "$m" 2>/dev/null || true
	done
	for p in $PIDS; do
		kill "$p" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

drop_caches() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

# readall ROOT LIST [N]: reads every file of LIST under ROOT, N times
# (default 1); prints "BYTES SECONDS".
cat >"$WORK/readall.py" <<'EOF'
import os, sys, time
root, lst = sys.argv[1], sys.argv[2]
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 1
paths = [l.rstrip("\n") for l in open(lst) if l.strip()]
buf = bytearray(1 << 20)
total = 0
t = time.monotonic()
for _ in range(rounds):
    for p in paths:
        with open(os.path.join(root, p), "rb", buffering=0) as f:
            while True:
                n = f.readinto(buf)
                if not n:
                    break
                total += n
print(total, time.monotonic() - t)
EOF

# srclist FIXTURE PACKLIST: upstream paths (in the ISO) of the pack's
# win7 driver files, by fixture.json's w7 map.
cat >"$WORK/srclist.py" <<'EOF'
import json, os, sys
fx, lst = sys.argv[1], sys.argv[2]
w7 = json.load(open(os.path.join(fx, "fixture.json")))["w7"]
for p in (l.rstrip("\n") for l in open(lst) if l.strip()):
    _, arch, drv, name = p.split("/")
    d = next(v[arch] for k, v in w7.items() if k.lower() == drv.lower())
    names = {n.lower(): n for n in os.listdir(os.path.join(fx, "tree", d))}
    print(d + "/" + names[name.lower()])
EOF

readall() {
	python3 "$WORK/readall.py" "$@"
}

# mbps "BYTES SECONDS" -> MB/s
mbps() {
	echo "$1" | awk '{ printf "%.1f", $1 / 1e6 / ($2 > 0 ? $2 : 1e-9) }'
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'
}

now() {
	date +%s.%N
}

elapsed() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'
}

# wait_listable MNT DIR: until MNT/DIR can be listed (60 s at most).
wait_listable() {
	i=0
	until ls "$1/$2" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 6000 ] || die "$1/$2 not listable after 60 s"
		sleep 0.01
	done
}

hwm() {
	awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"
}

# --- fixtures ---------------------------------------------------------------
if [ -n "${AEROFS_BENCH_FIXTURE:-}" ]; then
	FULL=$AEROFS_BENCH_FIXTURE
else
	FULL=$WORK/full
	echo "generating the full fixture (mkvirtiowin.py --scale full)..."
	python3 "$MKVIRTIOWIN" --out "$FULL" --scale full --variants rr \
		>/dev/null 2>&1
fi
TINY=$WORK/tiny
python3 "$MKVIRTIOWIN" --out "$TINY" --scale tiny --variants rr \
	>/dev/null 2>&1
ISO=$FULL/virtio-win-rr.iso
[ -f "$ISO" ] || die "no $ISO"

# --- aerofs: startup ------------------------------------------------------
MNT=$WORK/mnt-aerofs
mkdir -p "$MNT"
drop_caches
t0=$(now)
"$AEROFS" "$ISO" "$MNT" -f 2>"$WORK/aerofs.log" &
APID=$!
PIDS="$PIDS $APID"
MOUNTS="$MOUNTS $MNT"
wait_listable "$MNT" win7
t_aerofs=$(elapsed "$t0" "$(now)")

(cd "$MNT" && find win7 -type f | sort) >"$WORK/pack.list"
python3 "$WORK/srclist.py" "$FULL" "$WORK/pack.list" >"$WORK/src.list"
NFILES=$(wc -l <"$WORK/pack.list")

# --- the local extracted copy ---------------------------------------------
LOCAL=$WORK/local
mkdir -p "$LOCAL"
cp -a "$MNT/." "$LOCAL/pack"
cp "$MNT/.aerofs/aero-win7-drivers.iso" "$LOCAL/pack.iso"
echo "pack.iso" >"$WORK/iso.list"
echo "aero-win7-drivers.iso" >"$WORK/aeroiso.list"

# median3 A B C
median3() {
	printf '%s\n' "$@" | sort -n | sed -n 2p
}

# measure NAME ROOT LIST: sets ${NAME}_cold (median of 3 runs after
# dropping caches), ${NAME}_warm (runs right after) in MB/s and
# ${NAME}_bytes.  Warm: best of 3 timings of 10 rounds each.
measure() {
	c=""
	w=""
	for _ in 1 2 3; do
		drop_caches
		r=$(readall "$2" "$3")
		c="$c $(mbps "$r")"
		# A warm read of a few tens of MB takes milliseconds: 10 rounds
		# per timing.
		w="$w $(mbps "$(readall "$2" "$3" 10)")"
	done
	eval "$1_bytes=\${r%% *}"
	# shellcheck disable=SC2086
	eval "$1_cold=$(median3 $c)"
	eval "$1_warm=$(printf '%s\n' $w | sort -n | tail -n1)"
}

measure local "$LOCAL/pack" "$WORK/pack.list"
measure aerofs "$MNT" "$WORK/pack.list"
measure localiso "$LOCAL" "$WORK/iso.list"
measure aerofsiso "$MNT/.aerofs" "$WORK/aeroiso.list"
hwm_full=$(hwm "$APID")
fusermount3 -u "$MNT"
wait "$APID" || die "aerofs exited with an error: $(cat "$WORK/aerofs.log")"

# The same without splice (data copied through a buffer by libfuse).
"$AEROFS" "$ISO" "$MNT" -f -o nosplice 2>"$WORK/aerofs-ns.log" &
NSPID=$!
PIDS="$PIDS $NSPID"
wait_listable "$MNT" win7
measure nosplice "$MNT" "$WORK/pack.list"
fusermount3 -u "$MNT"
wait "$NSPID" || die "aerofs -o nosplice exited with an error"

# --- archivemount and fuseiso on the source ISO ---------------------------
AM=$WORK/mnt-archivemount
mkdir -p "$AM"
drop_caches
t0=$(now)
archivemount -f -o ro,readonly "$ISO" "$AM" 2>"$WORK/am.log" &
AMPID=$!
PIDS="$PIDS $AMPID"
MOUNTS="$MOUNTS $AM"
first=$(head -n1 "$WORK/src.list" | cut -d/ -f1)
wait_listable "$AM" "$first"
t_am=$(elapsed "$t0" "$(now)")
measure am "$AM" "$WORK/src.list"
hwm_am=$(hwm "$AMPID")
fusermount3 -u "$AM"
wait "$AMPID" || true

FI=$WORK/mnt-fuseiso
mkdir -p "$FI"
drop_caches
t0=$(now)
fuseiso -n "$ISO" "$FI" -f >"$WORK/fi.log" 2>&1 &
FIPID=$!
PIDS="$PIDS $FIPID"
MOUNTS="$MOUNTS $FI"
wait_listable "$FI" "$first"
t_fi=$(elapsed "$t0" "$(now)")
measure fi "$FI" "$WORK/src.list"
hwm_fi=$(hwm "$FIPID")
fusermount3 -u "$FI"
wait "$FIPID" || true

# --- peak RSS on the tiny fixture -----------------------------------------
TM=$WORK/mnt-tiny
mkdir -p "$TM"
"$AEROFS" "$TINY/virtio-win-rr.iso" "$TM" -f 2>"$WORK/tiny.log" &
TPID=$!
PIDS="$PIDS $TPID"
MOUNTS="$MOUNTS $TM"
wait_listable "$TM" win7
(cd "$TM" && find . -type f) >"$WORK/tiny.list"
readall "$TM" "$WORK/tiny.list" >/dev/null
readall "$TM/.aerofs" "$WORK/aeroiso.list" >/dev/null
hwm_tiny=$(hwm "$TPID")
fusermount3 -u "$TM"
wait "$TPID" || die "aerofs (tiny) exited with an error"

# --- report ---------------------------------------------------------------
MB=$(awk -v b="$local_bytes" 'BEGIN { printf "%.1f", b / 1e6 }')
IMB=$(awk -v b="$localiso_bytes" 'BEGIN { printf "%.1f", b / 1e6 }')
SRCMB=$(awk -v b="$(stat -c %s "$ISO")" 'BEGIN { printf "%.1f", b / 1e6 }')
cat <<EOF

aerofs bench-fs: $(uname -r), $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ)
source: full fixture, $SRCMB MB ISO; pack: $NFILES driver files, $MB MB;
virtual image $IMB MB.  Ratios are throughput / local copy's (1.00 = same);
cold: median of 3 runs after drop_caches; warm: best of 3 timings of 10 rounds.

start to listable tree:  aerofs ${t_aerofs}s   archivemount ${t_am}s   fuseiso ${t_fi}s

driver files ($MB MB)         cold MB/s  ratio    warm MB/s  ratio
  local copy                 $(printf '%9s  %5s    %9s  %5s' "$local_cold" 1.00 "$local_warm" 1.00)
  aerofs                     $(printf '%9s  %5s    %9s  %5s' "$aerofs_cold" "$(ratio "$aerofs_cold" "$local_cold")" "$aerofs_warm" "$(ratio "$aerofs_warm" "$local_warm")")
  aerofs -o nosplice         $(printf '%9s  %5s    %9s  %5s' "$nosplice_cold" "$(ratio "$nosplice_cold" "$local_cold")" "$nosplice_warm" "$(ratio "$nosplice_warm" "$local_warm")")
  archivemount               $(printf '%9s  %5s    %9s  %5s' "$am_cold" "$(ratio "$am_cold" "$local_cold")" "$am_warm" "$(ratio "$am_warm" "$local_warm")")
  fuseiso                    $(printf '%9s  %5s    %9s  %5s' "$fi_cold" "$(ratio "$fi_cold" "$local_cold")" "$fi_warm" "$(ratio "$fi_warm" "$local_warm")")

virtual image ($IMB MB)       cold MB/s  ratio    warm MB/s  ratio
  local copy                 $(printf '%9s  %5s    %9s  %5s' "$localiso_cold" 1.00 "$localiso_warm" 1.00)
  aerofs .aerofs/*.iso       $(printf '%9s  %5s    %9s  %5s' "$aerofsiso_cold" "$(ratio "$aerofsiso_cold" "$localiso_cold")" "$aerofsiso_warm" "$(ratio "$aerofsiso_warm" "$localiso_warm")")

peak RSS (VmHWM): aerofs tiny ${hwm_tiny} MiB, aerofs full ${hwm_full} MiB, archivemount ${hwm_am} MiB, fuseiso ${hwm_fi} MiB
EOF
