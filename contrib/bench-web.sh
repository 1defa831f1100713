#!/bin/sh
# bench-web.sh: how fast nginx serves the mount's content-addressed image
# and its chunks (contrib/serve), against the same nginx configuration
# serving the exported files from local disk.
#
#   contrib/bench-web.sh [BUILD_DIR]          (root: mounts with allow_other)
#
# Generates a `--scale full` virtio-win fixture in a temporary directory
# (or uses $AEROFS_BENCH_FIXTURE, a mkvirtiowin.py output directory), then
# measures, in one run on one machine, over loopback HTTP/1.1 with one
# keep-alive connection:
#   - the time from starting contrib/serve to its URL (mounted, nginx up)
#     and to the versioned image being served (its SHA-256 included);
#   - sequential 1 MiB range reads of the whole image, and GETs of every
#     chunk of manifest.json, through the mount and from local disk
#     (aerofs-export --format chunked of the same source), best of 3
#     warm runs each.
#
# Not a test: numbers vary with the machine; nothing is asserted.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
SRC_ROOT=$(dirname "$HERE")
BUILD=${1:-$SRC_ROOT/build}
AEROFS=$BUILD/fs/aerofs
EXPORT=$BUILD/export/aerofs-export
MKVIRTIOWIN=$SRC_ROOT/tests/fixtures/mkvirtiowin.py
NGINX=${AEROFS_NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}

die() { echo "bench-web: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (allow_other mounts)"
[ -x "$AEROFS" ] || die "no aerofs at $AEROFS (build first)"
[ -x "$EXPORT" ] || die "no aerofs-export at $EXPORT (build first)"
[ -x "$NGINX" ] || die "no nginx (apt-get install nginx-light)"

WORK=$(mktemp -d /var/tmp/aerofs-bench-web.XXXXXX)
chmod 711 "$WORK"
PIDS=""
cleanup() {
	for p in $PIDS; do
		kill "$p" 2>/dev/null || true
	done
	for p in $PIDS; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

now() { python3 -c 'import time; print(time.monotonic())'; }

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

# --- the client -----------------------------------------------------------
# fetch.py URL_OF_IMAGE_DIR: prints "ranges BYTES SECONDS" and
# "chunks BYTES SECONDS", best of 3 each.
cat >"$WORK/fetch.py" <<'EOF'
import http.client, json, sys, time, urllib.parse
base = sys.argv[1]
u = urllib.parse.urlsplit(base)
c = http.client.HTTPConnection(u.hostname, u.port)
def get(path, headers={}):
    c.request("GET", u.path + path, headers=headers)
    r = c.getresponse()
    body = r.read()
    if r.status not in (200, 206):
        sys.exit("GET %s: %d" % (path, r.status))
    return body
latest = json.loads(get("latest.json"))
v = latest["version"] + "/"
m = json.loads(get(v + "manifest.json"))
image = v + m["imageId"] + ".iso"
size = m["totalSize"]
def ranges():
    n = 0
    for off in range(0, size, 1 << 20):
        end = min(size, off + (1 << 20)) - 1
        n += len(get(image, {"Range": "bytes=%d-%d" % (off, end)}))
    return n
def chunks():
    n = 0
    for i in range(m["chunkCount"]):
        n += len(get(v + "chunks/%0*d.bin" % (m["chunkIndexWidth"], i)))
    return n
for name, fn in (("ranges", ranges), ("chunks", chunks)):
    best = None
    for _ in range(3):
        t = time.monotonic()
        n = fn()
        dt = time.monotonic() - t
        if n != size:
            sys.exit("%s: %d bytes, not %d" % (name, n, size))
        best = dt if best is None or dt < best else best
    print(name, size, best)
EOF

# --- through the mount: contrib/serve -------------------------------------
OUT=$WORK/serve.out
t0=$(now)
AEROFS=$AEROFS AEROFS_NGINX=$NGINX python3 "$HERE/serve" "$ISO" --port 0 \
	>"$OUT" 2>"$WORK/serve.err" &
SERVE_PID=$!
PIDS="$SERVE_PID"
while [ ! -s "$OUT" ]; do
	kill -0 "$SERVE_PID" 2>/dev/null || die "serve failed: $(cat "$WORK/serve.err")"
	sleep 0.05
done
t1=$(now)
URL=$(head -n 1 "$OUT")
IMG_DIR=${URL}images/aero-win7-drivers-iso/
# latest.json waits for the hash; then the versioned image itself; then
# how long the daemon's hashing took (status.json).
HASH_MS=$(python3 - "$IMG_DIR" <<'EOF'
import http.client, json, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
c.request("GET", u.path + "latest.json")
v = json.loads(c.getresponse().read())["version"]
c.request("HEAD", u.path + v + "/aero-win7-drivers-iso.iso")
r = c.getresponse(); r.read()
if r.status != 200:
    sys.exit("versioned image: %d" % r.status)
c.request("GET", "/status.json")
print(json.loads(c.getresponse().read())["hash"]["ms"])
EOF
)
t2=$(now)
MOUNT_RESULT=$(python3 "$WORK/fetch.py" "$IMG_DIR")

# --- from local disk: the export, same nginx configuration ----------------
"$EXPORT" -q --format chunked "$ISO" "$WORK/local"
chmod -R a+rX "$WORK/local"
mkdir "$WORK/nginx"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -e "s|@PREFIX@|$WORK/nginx|g" -e "s|@LISTEN@|127.0.0.1:$PORT|" \
    -e "s|@ROOT@|$WORK/local|" -e 's|@ORIGIN@|*|g' \
    -e 's|@ORIGIN_DEFAULT@|*|' -e 's|@VARY@||' \
    -e 's|@USER@|user nobody nogroup;|' \
    "$HERE/nginx/aerofs.conf" >"$WORK/nginx/nginx.conf"
env -u NGINX "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" \
	-e "$WORK/nginx/error.log" &
PIDS="$PIDS $!"
python3 - "$PORT" <<'EOF'
import socket, sys, time
for _ in range(200):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit("local nginx did not start")
EOF
# The export's tree is images/ itself: the image directory is its top.
LOCAL_RESULT=$(python3 "$WORK/fetch.py" \
	"http://127.0.0.1:$PORT/aero-win7-drivers-iso/")

# --- report ---------------------------------------------------------------
SIZE=$(stat -c %s "$ISO")
python3 - "$t0" "$t1" "$t2" "$SIZE" "$MOUNT_RESULT" "$LOCAL_RESULT" \
	"$HASH_MS" <<'EOF'
import sys
t0, t1, t2, src = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
hash_ms = float(sys.argv[7])
def parse(s):
    return {l.split()[0]: (int(l.split()[1]), float(l.split()[2]))
            for l in s.splitlines()}
mnt, loc = parse(sys.argv[5]), parse(sys.argv[6])
size = mnt["ranges"][0]
print("full fixture: source ISO %.1f MiB, aero-win7-drivers-iso %.1f MiB"
      % (src / 2**20, size / 2**20))
print("serve start -> URL (mounted, nginx up):      %6.2f s" % (t1 - t0))
print("serve start -> versioned image served:       %6.2f s"
      " (hashing in the daemon: %.2f s)" % (t2 - t0, hash_ms / 1000))
print("%-40s %10s %10s %7s" % ("through nginx, warm, best of 3",
                               "mount", "local", "ratio"))
for k, what in (("ranges", "sequential 1 MiB Range GETs"),
                ("chunks", "all chunks (4 MiB GETs)")):
    a = mnt[k][0] / mnt[k][1] / 2**20
    b = loc[k][0] / loc[k][1] / 2**20
    print("%-40s %6.0f MiB/s %6.0f MiB/s %6.2f" % (what, a, b, a / b))
EOF
kill "$SERVE_PID"
wait "$SERVE_PID" || die "serve did not stop cleanly: $(cat "$WORK/serve.err")"
PIDS=${PIDS#"$SERVE_PID"}
