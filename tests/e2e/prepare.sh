#!/bin/sh
# prepare.sh: gets what the QEMU end-to-end suite boots, idempotently.
#
#   - qemu-system-x86 and busybox-static: apt-get installed on the host
#     (only when missing, and only as root);
#   - a Debian kernel, linux-image-cloud-amd64 by default: fetched with
#     `apt-get download` and unpacked with `dpkg-deb -x` into the cache
#     directory.  It is NOT installed on the host.
#
# Usage: prepare.sh CACHE_DIR
# Prints, on success, shell-style lines the test reads:
#   QEMU=/usr/bin/qemu-system-x86_64
#   BUSYBOX=/bin/busybox
#   KERNEL=<cache>/<pkg>/boot/vmlinuz-<ver>
#   MODULES=<cache>/<pkg>/lib/modules/<ver>
#   KPKG=<pkg>_<version>
# Exits 77 with the reason on stderr when the suite cannot run here (no
# apt-get and no qemu, not root...), 1 on a real failure.
#
# Environment: AEROFS_E2E_FLAVOUR (cloud-amd64, the default, or amd64);
# AEROFS_E2E_REFRESH=1 re-resolves the kernel package even when one is
# already unpacked.  Does not build the initramfs (test_e2e.py does).
set -eu

cache=${1:?usage: prepare.sh CACHE_DIR}
flavour=${AEROFS_E2E_FLAVOUR:-cloud-amd64}
export DEBIAN_FRONTEND=noninteractive

skip() { echo "prepare: $*" >&2; exit 77; }
die() { echo "prepare: $*" >&2; exit 1; }

apt_updated=
apt_update() {
	[ -n "$apt_updated" ] && return 0
	apt-get update -qq >&2 || die "apt-get update failed"
	apt_updated=1
}

# ---- host tools ------------------------------------------------------------
need=
command -v qemu-system-x86_64 >/dev/null 2>&1 || need="$need qemu-system-x86"
# busybox-static's binary is /bin/busybox; a dynamic busybox would not run
# in an initramfs without its libc, hence the package and not just a path.
bb=/bin/busybox
dpkg -s busybox-static >/dev/null 2>&1 || need="$need busybox-static"
if [ -n "$need" ]; then
	[ "$(id -u)" = 0 ] || skip "missing$need and not root to install it"
	command -v apt-get >/dev/null 2>&1 || skip "missing$need and no apt-get"
	apt_update
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $need >&2 ||
		die "apt-get install$need failed"
fi
command -v qemu-system-x86_64 >/dev/null 2>&1 || skip "no qemu-system-x86_64"
[ -x "$bb" ] || skip "no static busybox at $bb"

# ---- kernel ----------------------------------------------------------------
mkdir -p "$cache" || die "cannot create $cache"
current="$cache/current-$flavour"

unpacked_ok() {
	# $1: unpack dir.  A finished unpack has the .done stamp written last.
	[ -f "$1/.done" ] && ls "$1"/boot/vmlinuz-* >/dev/null 2>&1
}

pkgdir=
if [ -z "${AEROFS_E2E_REFRESH:-}" ] && [ -f "$current" ]; then
	pkgdir="$cache/$(cat "$current")"
	unpacked_ok "$pkgdir" || pkgdir=
fi

if [ -z "$pkgdir" ]; then
	command -v apt-get >/dev/null 2>&1 ||
		skip "no apt-get to fetch a kernel"
	meta="linux-image-$flavour"
	# The meta package depends on the versioned image package.
	resolve() {
		apt-cache depends "$meta" 2>/dev/null | sed -n \
			's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' |
			head -n1
	}
	pkg=$(resolve)
	if [ -z "$pkg" ]; then
		apt_update
		pkg=$(resolve)
	fi
	[ -n "$pkg" ] || die "cannot resolve $meta to a kernel package"
	ver=$(apt-cache policy "$pkg" | sed -n 's/^ *Candidate: //p')
	[ -n "$ver" ] && [ "$ver" != "(none)" ] || die "no candidate for $pkg"
	name="${pkg}_$(echo "$ver" | tr ':' '%')"
	pkgdir="$cache/$name"
	if ! unpacked_ok "$pkgdir"; then
		dl="$cache/dl"
		rm -rf "$dl" "$pkgdir"
		mkdir -p "$dl"
		# apt drops to the _apt user to download; let it write here.
		chmod 0777 "$dl" 2>/dev/null || true
		if ! (cd "$dl" && apt-get download -qq "$pkg=$ver" >&2); then
			apt_update
			(cd "$dl" && apt-get download -qq "$pkg=$ver" >&2) ||
				die "apt-get download $pkg=$ver failed"
		fi
		deb=$(ls "$dl"/*.deb | head -n1)
		mkdir -p "$pkgdir.tmp"
		dpkg-deb -x "$deb" "$pkgdir.tmp" ||
			die "dpkg-deb -x $deb failed"
		: >"$pkgdir.tmp/.done"
		rm -rf "$pkgdir"
		mv "$pkgdir.tmp" "$pkgdir"
		rm -rf "$dl"
	fi
	echo "$name" >"$current.tmp"
	mv "$current.tmp" "$current"
fi

kernel=$(ls "$pkgdir"/boot/vmlinuz-* | head -n1)
kver=${kernel##*/vmlinuz-}
modules="$pkgdir/lib/modules/$kver"
[ -d "$modules" ] || die "no modules for $kver in $pkgdir"

echo "QEMU=$(command -v qemu-system-x86_64)"
echo "BUSYBOX=$bb"
echo "KERNEL=$kernel"
echo "MODULES=$modules"
echo "KPKG=$(basename "$pkgdir")"
