#!/bin/sh
# bench-start.sh: how long each FUSE server takes from its start to a
# listable tree, and where aerofs's time goes.
#
#   contrib/bench-start.sh [BUILD_DIR] [RUNS]       (root: drop_caches)
#
# Uses $AEROFS_BENCH_FIXTURE (a mkvirtiowin.py output directory) or
# generates a `--scale full` fixture in a temporary directory.  For RUNS
# (default 5) cold runs (caches dropped before each) and as many warm ones
# it measures, on the same ISO:
#   - aerofs: start to `ls MNT/win7/amd64` answering;
#   - aerofs-catalog alone: the whole catalog with the SHA-256 of every
#     pack file, which aerofs now does after it mounts (in the
#     background), so this shows what that deferral saves;
#   - fuseiso and archivemount: start to listing the same directory of the
#     ISO (its upstream path).
# Prints the median of the cold runs and the best of the warm ones, and
# each as a ratio to fuseiso's.  Prerequisites: fuseiso and archivemount
# (Debian packages), python3.  Not a test: nothing is asserted.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
SRC_ROOT=$(dirname "$HERE")
BUILD=${1:-$SRC_ROOT/build}
RUNS=${2:-5}
AEROFS=$BUILD/fs/aerofs
CATALOG=$BUILD/catalog/aerofs-catalog

die() { echo "bench-start: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (drop_caches, mounts)"
[ -x "$AEROFS" ] || die "no aerofs at $AEROFS (build first)"
[ -x "$CATALOG" ] || die "no aerofs-catalog at $CATALOG (build first)"
for t in fuseiso archivemount; do
	command -v "$t" >/dev/null 2>&1 ||
		die "$t is missing (apt-get install $t)"
done

WORK=$(mktemp -d /var/tmp/aerofs-bench-start.XXXXXX)
cleanup() {
	for m in "$WORK"/mnt-*; do
		if [ -d "$m" ]; then
			fusermount3 -u -z "$m" 2>/dev/null || true
		fi
	done
	rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

if [ -n "${AEROFS_BENCH_FIXTURE:-}" ]; then
	FULL=$AEROFS_BENCH_FIXTURE
else
	FULL=$WORK/full
	echo "generating the full fixture (mkvirtiowin.py --scale full)..."
	python3 "$SRC_ROOT/tests/fixtures/mkvirtiowin.py" --out "$FULL" \
		--scale full --variants rr >/dev/null 2>&1
fi
ISO=$FULL/virtio-win-rr.iso
[ -f "$ISO" ] || die "no $ISO"
# The upstream directory of viostor's win7 amd64 build, for the peers.
UP=$(python3 -c '
import json, sys
w7 = json.load(open(sys.argv[1]))["w7"]
print(next(v["amd64"] for k, v in w7.items() if k.lower() == "viostor"))
' "$FULL/fixture.json")

# startup.py NAME DIR COLD -- CMD...: runs CMD (a server in the
# foreground), lists MNT/DIR as soon as it can, prints the seconds from the
# start to the first successful listing, then unmounts and reaps CMD.
cat >"$WORK/startup.py" <<'EOF'
import os, subprocess, sys, time
mnt, sub, cold = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
cmd = sys.argv[sys.argv.index("--") + 1:]
if cold:
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")
t0 = time.monotonic()
p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
target = os.path.join(mnt, sub)
while True:
    try:
        if os.listdir(target):
            break
    except OSError:
        pass
    if p.poll() is not None or time.monotonic() - t0 > 60:
        sys.exit("%s: server exited or 60 s passed" % cmd[0])
    time.sleep(0.0005)
t = time.monotonic() - t0
subprocess.run(["fusermount3", "-u", mnt], check=True)
p.wait()
print("%.4f" % t)
EOF

# timeit.py COLD -- CMD...: seconds CMD takes.
cat >"$WORK/timeit.py" <<'EOF'
import os, subprocess, sys, time
cold = sys.argv[1] == "1"
cmd = sys.argv[sys.argv.index("--") + 1:]
if cold:
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")
t0 = time.monotonic()
subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
               check=True)
print("%.4f" % (time.monotonic() - t0))
EOF

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
best() { sort -n | head -n1; }

# run NAME COLD: RUNS timings of server NAME, one per line.
run() {
	mnt=$WORK/mnt-$1
	mkdir -p "$mnt"
	i=0
	while [ $i -lt "$RUNS" ]; do
		case $1 in
		aerofs)
			python3 "$WORK/startup.py" "$mnt" win7/amd64 "$2" -- \
				"$AEROFS" "$ISO" "$mnt" -f ;;
		fuseiso)
			python3 "$WORK/startup.py" "$mnt" "$UP" "$2" -- \
				fuseiso -n "$ISO" "$mnt" -f ;;
		archivemount)
			python3 "$WORK/startup.py" "$mnt" "$UP" "$2" -- \
				archivemount -f -o ro,readonly "$ISO" "$mnt" ;;
		catalog)
			python3 "$WORK/timeit.py" "$2" -- "$CATALOG" "$ISO" ;;
		esac
		i=$((i + 1))
	done
}

aerofs_cold=0 aerofs_warm=0 catalog_cold=0 catalog_warm=0
fuseiso_cold=0 fuseiso_warm=0 archivemount_cold=0 archivemount_warm=0
for n in aerofs catalog fuseiso archivemount; do
	eval "${n}_cold=$(run $n 1 | median)"
	eval "${n}_warm=$(run $n 0 | best)"
done

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'
}
ms() { awk -v a="$1" 'BEGIN { printf "%.1f", a * 1000 }'; }
line() {
	printf '  %-28s %8s ms  %5s    %8s ms  %5s\n' "$1" "$(ms "$2")" \
		"$(ratio "$2" "$fuseiso_cold")" "$(ms "$3")" \
		"$(ratio "$3" "$fuseiso_warm")"
}

SRCMB=$(awk -v b="$(stat -c %s "$ISO")" 'BEGIN { printf "%.1f", b / 1e6 }')
cat <<EOF

aerofs bench-start: $(uname -r), $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ)
source: $SRCMB MB ISO.  Cold: median of $RUNS runs after drop_caches;
warm: best of $RUNS.  Ratio: time / fuseiso's (lower is faster).

start to listable win7/amd64        cold  ratio         warm  ratio
EOF
line "aerofs" "$aerofs_cold" "$aerofs_warm"
line "aerofs-catalog (hashes all)" "$catalog_cold" "$catalog_warm"
line "fuseiso" "$fuseiso_cold" "$fuseiso_warm"
line "archivemount" "$archivemount_cold" "$archivemount_warm"
