#!/usr/bin/env python3
"""End-to-end: a real Linux guest under QEMU (TCG) reads the aerofs mount.

What it does, per machine type (--machine pc or q35):
  1. prepare.sh gets qemu-system-x86, busybox-static and an unpacked Debian
     kernel (never installed on the host);
  2. builds a tiny initramfs: busybox, the .ko modules the guest needs with
     their dependencies (read from each module's .modinfo), and an init
     script;
  3. mounts `aerofs SOURCE MNT` (SOURCE: the tiny virtio-win fixture ISO,
     or with --tree-source a copy of its tree with long non-ASCII names
     added) and boots QEMU with MNT/.aerofs/aero-win7-drivers.iso as its
     CD-ROM (pc: IDE; q35: scsi-cd on virtio-scsi behind a PCIe root
     port), MNT/.aerofs/aero-win7-drivers.img (raw) and .vhd (vpc) as
     read-only virtio-blk disks, next to a set of virtio PCI functions;
  4. the guest hex-dumps the config space and BARs of every virtio
     function (before any virtio driver binds), loads the modules, reads
     the volume label from the CD's primary volume descriptor, mounts the
     CD and prints the size and sha256 of every file; for each FAT disk
     it prints the partition, the boot sector and the first root
     directory sector, mounts partition 1 as vfat (ro,utf8) and lists it
     the same way; all between markers on the serial console, then powers
     off;
  5. the host checks each listing against manifest.json and against a
     walk of the mount (both plus the $WinPEDriver$ copies every image
     carries), the labels against the ISO and FAT label rules, each image
     against `aerofs-export --format iso|img|vhd SOURCE OUT` (same
     bytes), and runs virtio_config_check on the dumps with expectations
     derived from the device models it asked QEMU for.
  6. on pc, MNT/.aerofs/aero-guest-tools.iso (the guest-tools profile) is
     a second CD (IDE secondary master): the guest lists it the same way
     and the host checks every file against the Guest Tools'
     manifest.json, and the image against aerofs-export --profile
     guest-tools (one more CD on a boot that runs anyway).

Not here: unit tests of the parsers (tests/unit) and mount semantics
(tests/integration).  Python 3 stdlib only.  Exit 0 pass, 1 fail, 77 skip.

--iso PATH boots a plain ISO instead of a mount (harness development): the
listing is then compared with --tree if given; no FAT disk is attached.
"""

import argparse
import gzip
import hashlib
import json
import lzma
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

# The Python tests' shared helpers (one sha256_file for all of them).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
from aerofs_test import WINPE, sha256_file, with_winpe  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BEGIN = "@@AEROFS-E2E BEGIN@@"
END = "@@AEROFS-E2E END@@"
VIRTUAL_ISO = os.path.join(".aerofs", "aero-win7-drivers.iso")
GT_ISO = os.path.join(".aerofs", "aero-guest-tools.iso")
# The FAT disk images of the mount: name in the guest -> (file, QEMU
# format, aerofs-export --format).
DISKS = {
    "img": (os.path.join(".aerofs", "aero-win7-drivers.img"), "raw", "img"),
    "vhd": (os.path.join(".aerofs", "aero-win7-drivers.vhd"), "vpc", "vhd"),
}
# export/image/vhd_image.h: a fixed VHD is the raw disk plus a footer.
VHD_FOOTER = 512
# export/image/fat_image.h: the one partition starts at LBA 2048.
FAT_PART_LBA = 2048
# --tree-source adds these files (long, non-ASCII names; one outside the
# BMP, a UTF-16 surrogate pair in a FAT long name) to the source's w7
# NetKVM folders: the pack copies every file of a driver folder.
EXTRA_FILES = {
    "NetKVM/w7/amd64": "Lisez-moi caf\u00e9 \u20ac \u0395\u03bb\u03bb"
                       "\u03b7\u03bd\u03b9\u03ba\u03ac.txt",
    "NetKVM/w7/x86": "notes \U0001f680 \u00fcber lange Namen.txt",
}
# --fat32 adds this file (contents: SHAKE-256 output, so no two sectors
# are alike) to the source's NetKVM/w7/amd64.  export/image/fat_image.h:
# a pack whose data need 66549 or more 512-byte clusters is FAT32; the
# pack and its $WinPEDriver$ copy hold it twice, 69632 clusters.
BIG_FILE = ("NetKVM/w7/amd64", "Gro\u00dfe Datei f\u00fcr FAT32.bin",
            17 << 20)
# catalog/stage/catalog.h CATALOG_DEFAULT_LABEL: what an image carries when no
# label option is given.
DEFAULT_LABEL = "AERO_W7_DRIVERS"

# Modules the guest loads, in this order after their dependencies.  The
# cloud kernel has no ahci, so q35 reads its CD through virtio-scsi.  The
# FAT disks are virtio-blk; vfat takes fat by its depends=, the code page
# and I/O character set tables of the mount options are loaded by name at
# mount time, so they are listed here.
GUEST_MODULES = ["cdrom", "sr_mod", "ata_piix", "ahci", "isofs",
                 "virtio_pci", "virtio_scsi", "virtio_blk", "vfat",
                 "nls_cp437", "nls_ascii"]
OPTIONAL_MODULES = {"ahci"}

# Seconds per boot (TCG on 2 cores: 5-15 s); the variable is for tests of
# the timeout path itself.
QEMU_TIMEOUT = int(os.environ.get("AEROFS_E2E_QEMU_TIMEOUT", "240"))
MOUNT_TIMEOUT = 60


class Skip(Exception):
    pass


class Failure(Exception):
    pass


def log(msg):
    print("# " + msg, flush=True)


# ---- guest init ----------------------------------------------------------

INIT = r"""#!/bin/sh
# Guest side of tests/e2e: dumps virtio PCI functions, reads the CD and
# the FAT disks named in /etc/aerofs-disks.
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /mnt /tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "@@AEROFS-E2E BEGIN@@"
echo "KERNEL $(uname -r)"
echo "CMDLINE $(cat /proc/cmdline)"

# Config spaces first, before virtio_pci binds anything.
for d in /sys/bus/pci/devices/*; do
	[ "$(cat $d/vendor)" = 0x1af4 ] || continue
	echo "DEV ${d##*/} vendor=$(cat $d/vendor) device=$(cat $d/device)" \
	     "subsys_vendor=$(cat $d/subsystem_vendor)" \
	     "subsys=$(cat $d/subsystem_device) rev=$(cat $d/revision)" \
	     "class=$(cat $d/class)"
	head -n 6 $d/resource | while read s e f; do echo "RES $s $e $f"; done
	echo "CFG $(xxd -p $d/config | tr -d '\n')"
done

for m in $(cat /modules/order); do
	insmod /modules/$m.ko || echo "WARN insmod $m failed"
done

# list_tree DIR: every directory, and every file with size and sha256.
list_tree() {
	cd "$1" || return
	find . -type d | sort | while IFS= read -r f; do
		echo "DIR ${f#./}"
	done
	find . -type f | sort | while IFS= read -r f; do
		echo "FILE $(stat -c %s "$f")" \
		     "$(sha256sum "$f" | cut -d' ' -f1) ${f#./}"
	done
	cd /
}

fail() {
	echo "ERROR $*"
	dmesg | tail -n 40 | sed 's/^/DMESG /'
}

echo "MEDIUM cd"
i=0
while [ ! -b /dev/sr0 ] && [ $i -lt 200 ]; do usleep 50000; i=$((i+1)); done
if [ ! -b /dev/sr0 ]; then
	fail "no /dev/sr0"
else
	echo "SIZE $(blockdev --getsize64 /dev/sr0)"
	# ECMA-119 8.4: the primary volume descriptor is sector 16; bytes
	# 0..6 type, "CD001", version; 40..71 the volume identifier.
	echo "PVD $(dd if=/dev/sr0 bs=2048 skip=16 count=1 2>/dev/null |
		head -c 72 | xxd -p | tr -d '\n')"
	echo "LABEL $(dd if=/dev/sr0 bs=1 skip=32808 count=32 2>/dev/null)"
	if mount -t iso9660 -o ro /dev/sr0 /mnt; then
		echo "MOUNT $(grep ' /mnt ' /proc/mounts)"
		list_tree /mnt
		umount /mnt
	else
		fail "mount /dev/sr0 failed"
	fi
fi

# The Guest Tools CD, when attached (pc): the second CD-ROM.
if [ -f /etc/aerofs-gt ]; then
	echo "MEDIUM gt"
	i=0
	while [ ! -b /dev/sr1 ] && [ $i -lt 200 ]; do
		usleep 50000
		i=$((i+1))
	done
	if [ ! -b /dev/sr1 ]; then
		fail "no /dev/sr1"
	elif mount -t iso9660 -o ro /dev/sr1 /mnt; then
		echo "SIZE $(blockdev --getsize64 /dev/sr1)"
		echo "MOUNT $(grep ' /mnt ' /proc/mounts)"
		list_tree /mnt
		umount /mnt
	else
		fail "mount /dev/sr1 failed"
	fi
fi

# u LEN OFF DEV: the little-endian unsigned LEN-byte integer at byte OFF
# of DEV (od reads host order; the guest is x86).
u() {
	dd if="$3" bs=1 skip=$2 count=$1 2>/dev/null | od -An -tu$1 |
		tr -d ' \n'
}

# Each disk is a virtio-blk disk whose serial is "aerofs-NAME".
for name in $(cat /etc/aerofs-disks); do
	echo "MEDIUM $name"
	dev=
	i=0
	while [ $i -lt 200 ]; do
		for b in /sys/block/vd*; do
			[ "$(cat $b/serial 2>/dev/null)" = "aerofs-$name" ] &&
				dev=${b##*/}
		done
		[ -n "$dev" ] && [ -b /dev/${dev}1 ] && break
		dev=
		usleep 50000
		i=$((i+1))
	done
	if [ -z "$dev" ]; then
		fail "no virtio disk with serial aerofs-$name and a partition 1"
		continue
	fi
	p=/dev/${dev}1
	echo "SIZE $(blockdev --getsize64 /dev/$dev)"
	echo "PART $(cat /sys/block/$dev/${dev}1/start)" \
	     "$(cat /sys/block/$dev/${dev}1/size)"
	echo "BOOT $(dd if=$p bs=512 count=1 2>/dev/null | xxd -p |
		tr -d '\n')"
	# Microsoft FAT spec v1.03 sections 3.1-3.3 and 6: the root
	# directory follows the FATs (FAT16: BPB_RootEntCnt != 0) or is
	# cluster BPB_RootClus of the data region (FAT32).
	bps=$(u 2 11 $p); spc=$(u 1 13 $p); rsv=$(u 2 14 $p)
	nfats=$(u 1 16 $p); nroot=$(u 2 17 $p); fatsz=$(u 2 22 $p)
	[ "$fatsz" = 0 ] && fatsz=$(u 4 36 $p)
	root=$((rsv + nfats * fatsz))
	[ "$nroot" = 0 ] && root=$((root + ($(u 4 44 $p) - 2) * spc))
	echo "ROOTDIR $root $(dd if=$p bs=$bps skip=$root count=1 \
		2>/dev/null | xxd -p | tr -d '\n')"
	if mount -t vfat -o ro,utf8,codepage=437,iocharset=ascii $p /mnt
	then
		echo "MOUNT $(grep ' /mnt ' /proc/mounts)"
		list_tree /mnt
		umount /mnt
	else
		fail "mount -t vfat $p failed"
	fi
done
echo "@@AEROFS-E2E END@@"
sync
poweroff -f
"""


# ---- initramfs -----------------------------------------------------------

def elf_modinfo(blob):
    """The key=value strings of an ELF64 module's .modinfo section."""
    if blob[:4] != b"\x7fELF" or blob[4] != 2 or blob[5] != 1:
        raise Failure("not a little-endian ELF64 module")
    shoff, = struct.unpack_from("<Q", blob, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", blob, 0x3A)

    def section(i):
        off = shoff + i * shentsize
        name, _, _, _, offset, size = struct.unpack_from("<IIQQQQ", blob, off)
        return name, offset, size

    _, stroff, _ = section(shstrndx)
    for i in range(shnum):
        name, offset, size = section(i)
        end = blob.index(b"\0", stroff + name)
        if blob[stroff + name:end] == b".modinfo":
            raw = blob[offset:offset + size]
            return [s.decode("utf-8", "replace")
                    for s in raw.split(b"\0") if s]
    return []


def read_module(path):
    """A .ko file's bytes, decompressing .ko.xz/.ko.gz/.ko.zst."""
    if path.endswith(".xz"):
        with lzma.open(path) as f:
            return f.read()
    if path.endswith(".gz"):
        with gzip.open(path) as f:
            return f.read()
    if path.endswith(".zst"):
        zstd = shutil.which("zstd")
        if not zstd:
            raise Failure("module %s is zstd-compressed and no zstd "
                          "tool" % path)
        return subprocess.run([zstd, "-dc", path], check=True,
                              stdout=subprocess.PIPE).stdout
    with open(path, "rb") as f:
        return f.read()


def module_index(moddir):
    """name -> path of every module under MODDIR/kernel, names with '_'."""
    index = {}
    for root, _, files in os.walk(os.path.join(moddir, "kernel")):
        for fn in files:
            m = re.match(r"^(.*)\.ko(\.xz|\.gz|\.zst)?$", fn)
            if m:
                index[m.group(1).replace("-", "_")] = os.path.join(root, fn)
    return index


def builtin_modules(moddir):
    names = set()
    try:
        with open(os.path.join(moddir, "modules.builtin")) as f:
            for line in f:
                base = os.path.basename(line.strip())
                names.add(re.sub(r"\.ko$", "", base).replace("-", "_"))
    except FileNotFoundError:
        pass
    return names


def resolve_modules(moddir, wanted):
    """[(name, bytes)] for WANTED plus dependencies, dependencies first."""
    index = module_index(moddir)
    builtin = builtin_modules(moddir)
    order, blobs, visiting = [], {}, set()

    def visit(name, optional):
        name = name.replace("-", "_")
        if name in blobs or name in builtin:
            return
        if name not in index:
            if optional:
                return
            raise Failure("kernel has no module %s (not built in "
                          "either)" % name)
        if name in visiting:
            raise Failure("module dependency loop at %s" % name)
        visiting.add(name)
        blob = read_module(index[name])
        for kv in elf_modinfo(blob):
            if kv.startswith("depends="):
                for dep in filter(None, kv[len("depends="):].split(",")):
                    visit(dep, False)
        visiting.discard(name)
        blobs[name] = blob
        order.append(name)

    for name in wanted:
        visit(name, name in OPTIONAL_MODULES)
    return [(n, blobs[n]) for n in order]


class Cpio:
    """A newc ("070701") archive, as the kernel's initramfs unpacker reads."""

    def __init__(self):
        self.out = bytearray()
        self.ino = 1

    def _entry(self, name, mode, data=b"", rdev=(0, 0)):
        name_b = name.encode() + b"\0"
        hdr = "070701" + "".join("%08X" % v for v in (
            self.ino, mode, 0, 0, 1, 0, len(data), 0, 0,
            rdev[0], rdev[1], len(name_b), 0))
        self.ino += 1
        self.out += hdr.encode() + name_b
        self.out += b"\0" * (-len(self.out) % 4)
        self.out += data
        self.out += b"\0" * (-len(self.out) % 4)

    def dir(self, name):
        self._entry(name, 0o040755)

    def file(self, name, data, mode=0o644):
        self._entry(name, 0o100000 | mode, data)

    def symlink(self, name, target):
        self._entry(name, 0o120777, target.encode())

    def chardev(self, name, major, minor):
        self._entry(name, 0o020600, rdev=(major, minor))

    def finish(self):
        self._entry("TRAILER!!!", 0)
        return bytes(self.out)


def build_initramfs(busybox, moddir, out, disks, gt=False):
    """Writes the initramfs to OUT; DISKS: the names of the FAT disks the
    guest reads (virtio-blk serial "aerofs-NAME"); GT: read the Guest
    Tools CD (/dev/sr1) too."""
    mods = resolve_modules(moddir, GUEST_MODULES)
    c = Cpio()
    for d in ("bin", "dev", "etc", "proc", "sys", "mnt", "tmp", "modules"):
        c.dir(d)
    c.file("etc/aerofs-disks", "".join(n + "\n" for n in disks).encode())
    if gt:
        c.file("etc/aerofs-gt", b"sr1\n")
    # The kernel opens /dev/console for init's stdio before devtmpfs.
    c.chardev("dev/console", 5, 1)
    with open(busybox, "rb") as f:
        c.file("bin/busybox", f.read(), 0o755)
    c.symlink("bin/sh", "busybox")
    c.file("init", INIT.encode(), 0o755)
    for name, blob in mods:
        c.file("modules/%s.ko" % name, blob)
    c.file("modules/order", ("\n".join(n for n, _ in mods) + "\n").encode())
    with open(out, "wb") as f:
        # mtime=0: the same inputs give the same bytes.
        with gzip.GzipFile(fileobj=f, mode="wb", mtime=0) as gz:
            gz.write(c.finish())
    return [n for n, _ in mods]


# ---- devices and expectations --------------------------------------------

def qemu_mode(model, props, pcie_port):
    """What virtio-pci makes of MODEL: 'modern', 'transitional' or 'legacy'.

    QEMU 7.2 hw/virtio/virtio-pci.c: disable-modern=on leaves a legacy-only
    device; disable-legacy=on a modern-only one; disable-legacy=auto is on
    behind a PCIe port and off elsewhere.  virtio-input is virtio-1 only
    (virtio_pci_force_virtio_1) so it is always modern.
    """
    if model in ("virtio-keyboard-pci", "virtio-mouse-pci",
                 "virtio-tablet-pci"):
        return "modern"
    if props.get("disable-modern") == "on":
        return "legacy"
    legacy = props.get("disable-legacy", "auto")
    if legacy == "on" or (legacy == "auto" and pcie_port):
        return "modern"
    return "transitional"


class Machine:
    """A QEMU command line and what the guest should find on it."""

    def __init__(self, name):
        self.name = name
        self.args = []
        self.expect = []        # "BDF=MODEL:MODE[:pcie]" for the checker
        self.nets = 0
        self.drives = 0
        self.cd = ""
        self.disks = {}         # name -> how it is attached, for messages

    def drive(self, drive_id, bdf, disks, name, blank):
        """-drive for DRIVE_ID: the FAT disk NAME of DISKS ({name: (path,
        QEMU format)}) if there, else the BLANK raw file.  Returns the
        virtio-blk-pci extra options."""
        if name in disks:
            path, fmt = disks[name]
            serial = ",serial=aerofs-" + name
            self.disks[name] = "%s, virtio-blk %s" % (fmt, bdf[5:])
        else:
            path, fmt, serial = blank, "raw", ""
        # readonly=on: the mount refuses writes (and QEMU would take
        # write locks otherwise).
        self.args += ["-drive", "if=none,id=%s,file=%s,format=%s,"
                      "readonly=on" % (drive_id, path, fmt)]
        return "drive=" + drive_id + serial

    def virtio(self, bdf, model, props, pcie_port=False, extra=""):
        mode = qemu_mode(model, props, pcie_port)
        opts = [model] + ["%s=%s" % kv for kv in props.items()]
        if extra:
            opts.append(extra)
        self.args += ["-device", ",".join(opts)]
        self.expect.append("%s=%s:%s%s" % (bdf, model, mode,
                                           ":pcie" if pcie_port else ""))


def pc_machine(iso, scratch, ahci, disks, gt=None):
    m = Machine("pc")
    m.cd = "IDE (PIIX3)"
    m.args += ["-M", "pc",
               "-drive", "file=%s,if=ide,media=cdrom,readonly=on,format=raw"
               % iso]
    if gt:
        # the Guest Tools CD: secondary master, /dev/sr1 in the guest
        m.args += ["-drive", "file=%s,if=ide,index=2,media=cdrom,"
                   "readonly=on,format=raw" % gt]
    # The FAT disks on the transitional and the modern-only function (IDE
    # hard disks cannot be read-only in QEMU 7.2); the legacy one blank.
    blk = blank_disks(scratch, 3)
    m.virtio("0000:00:04.0", "virtio-blk-pci", {"addr": "0x4"},
             extra=m.drive("vd0", "0000:00:04.0", disks, "img", blk[0]))
    m.virtio("0000:00:05.0", "virtio-blk-pci",
             {"addr": "0x5", "disable-legacy": "on"},
             extra=m.drive("vd1", "0000:00:05.0", disks, "vhd", blk[1]))
    m.virtio("0000:00:06.0", "virtio-blk-pci",
             {"addr": "0x6", "disable-modern": "on"},
             extra=m.drive("vd2", "0000:00:06.0", {}, "", blk[2]))
    # user networking with restrict=on: the guest never reaches anything.
    for i in range(2):
        m.args += ["-netdev", "user,id=n%d,restrict=on" % i]
    m.virtio("0000:00:07.0", "virtio-net-pci", {"addr": "0x7"},
             extra="netdev=n0,romfile=")
    m.virtio("0000:00:08.0", "virtio-net-pci",
             {"addr": "0x8", "disable-legacy": "on"},
             extra="netdev=n1,romfile=")
    # No peer at all (the -nic none case): the function is still there.
    m.virtio("0000:00:09.0", "virtio-net-pci",
             {"addr": "0x9", "disable-modern": "on"}, extra="romfile=")
    m.virtio("0000:00:0a.0", "virtio-keyboard-pci", {"addr": "0xa"})
    m.virtio("0000:00:0b.0", "virtio-keyboard-pci",
             {"addr": "0xb", "disable-legacy": "on"})
    m.virtio("0000:00:0c.0", "virtio-tablet-pci", {"addr": "0xc"})
    return m


def q35_machine(iso, scratch, ahci, disks, gt=None):
    m = Machine("q35")
    m.args += ["-M", "q35"]
    # Root ports at 00:02.0.. get buses 1.. in order (SeaBIOS numbers
    # buses depth first in slot order).
    for i in range(1, 5):
        m.args += ["-device", "pcie-root-port,id=rp%d,chassis=%d,"
                   "addr=0x%x" % (i, i, i + 1)]
    # The FAT disks the other way round from pc: the VHD behind a root
    # port, the raw image on the root complex.
    blk = blank_disks(scratch, 2)
    m.virtio("0000:01:00.0", "virtio-blk-pci", {"bus": "rp1"},
             pcie_port=True,
             extra=m.drive("vd0", "0000:01:00.0", disks, "vhd", blk[0]))
    m.args += ["-netdev", "user,id=n0,restrict=on"]
    m.virtio("0000:02:00.0", "virtio-net-pci",
             {"bus": "rp2", "disable-legacy": "off"}, pcie_port=True,
             extra="netdev=n0,romfile=")
    m.virtio("0000:03:00.0", "virtio-scsi-pci", {"bus": "rp3"},
             pcie_port=True, extra="id=scsi0")
    if ahci:
        # if=ide on q35 is the built-in ICH9 AHCI controller.
        m.cd = "AHCI"
        m.args += ["-drive", "file=%s,if=ide,media=cdrom,readonly=on,"
                   "format=raw" % iso]
    else:
        # The cloud kernel has no ahci: scsi-cd on the virtio-scsi HBA.
        m.cd = "scsi-cd on virtio-scsi"
        m.args += ["-drive", "if=none,id=cd0,file=%s,media=cdrom,"
                   "readonly=on,format=raw" % iso,
                   "-device", "scsi-cd,bus=scsi0.0,drive=cd0"]
    m.virtio("0000:04:00.0", "virtio-keyboard-pci", {"bus": "rp4"},
             pcie_port=True)
    # Conventional functions on the root complex: 256-byte config space.
    m.virtio("0000:00:06.0", "virtio-net-pci",
             {"addr": "0x6", "disable-modern": "on"}, extra="romfile=")
    m.virtio("0000:00:07.0", "virtio-blk-pci",
             {"addr": "0x7", "disable-legacy": "on"},
             extra=m.drive("vd1", "0000:00:07.0", disks, "img", blk[1]))
    return m


def blank_disks(scratch, n):
    paths = []
    for i in range(n):
        p = os.path.join(scratch, "blank%d.img" % i)
        if not os.path.exists(p):
            with open(p, "wb") as f:
                f.truncate(1 << 20)
        paths.append(p)
    return paths


# ---- running QEMU --------------------------------------------------------

def run_qemu(qemu, kernel, initrd, machine, logpath):
    cmd = [qemu, "-accel", "tcg", "-m", "256", "-smp", "1",
           "-nodefaults", "-no-user-config", "-display", "none",
           "-no-reboot", "-serial", "stdio",
           "-kernel", kernel, "-initrd", initrd,
           "-append", "console=ttyS0 quiet loglevel=1 panic=-1"]
    cmd += machine.args
    log("boot: " + " ".join(cmd))
    t0 = time.monotonic()
    with open(logpath, "wb") as out:
        # Same process group as the test: meson's timeout kill of the
        # group takes QEMU along even if this process dies first.
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                             stderr=subprocess.STDOUT)
        try:
            rc = p.wait(timeout=QEMU_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise Failure("qemu (%s) did not power off within %d s; "
                          "serial log %s" % (machine.name, QEMU_TIMEOUT,
                                             logpath))
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
    dt = time.monotonic() - t0
    log("%s: qemu exited %d after %.1f s" % (machine.name, rc, dt))
    with open(logpath, "rb") as f:
        text = f.read().decode("utf-8", "replace").replace("\r", "")
    if rc != 0:
        raise Failure("qemu exited %d:\n%s" % (rc, text[-3000:]))
    if BEGIN not in text or END not in text:
        raise Failure("no guest report between markers:\n%s" % text[-3000:])
    body = text.split(BEGIN, 1)[1].split(END, 1)[0]
    return body.strip("\n").split("\n"), dt


class Medium:
    """What the guest printed about one medium (the CD or a FAT disk)."""

    def __init__(self, name):
        self.name = name
        self.files = {}         # path -> (size, sha256)
        self.dirs = set()
        self.errors = []
        self.size = None        # the block device's size
        self.mount = None       # its /proc/mounts line
        self.pvd = None         # CD: the first 72 bytes of sector 16
        self.label = None       # CD: the volume id as dd printed it
        self.part = None        # disk: (start, sectors) of partition 1
        self.boot = None        # disk: the partition's boot sector
        self.rootdir = None     # disk: (sector, first root dir sector)


class Report:
    def __init__(self, lines):
        self.lines = lines
        self.errors = []        # outside any medium
        self.media = {}
        self.pci = []
        cur = None
        for line in lines:
            tag, _, rest = line.partition(" ")
            errors = cur.errors if cur else self.errors
            try:
                if tag == "MEDIUM":
                    cur = self.media.setdefault(rest, Medium(rest))
                elif tag in ("ERROR", "WARN", "DMESG"):
                    errors.append(line)
                elif tag in ("DEV", "RES", "CFG"):
                    self.pci.append(line)
                elif cur is None:
                    continue
                elif tag == "FILE":
                    size, digest, path = rest.split(" ", 2)
                    cur.files[path] = (int(size), digest)
                elif tag == "DIR":
                    if rest and rest != ".":
                        cur.dirs.add(rest)
                elif tag == "SIZE":
                    cur.size = int(rest)
                elif tag == "MOUNT":
                    cur.mount = rest
                elif tag == "PVD":
                    cur.pvd = bytes.fromhex(rest)
                elif tag == "LABEL":
                    cur.label = rest
                elif tag == "PART":
                    start, size = rest.split()
                    cur.part = (int(start), int(size))
                elif tag == "BOOT":
                    cur.boot = bytes.fromhex(rest)
                elif tag == "ROOTDIR":
                    sector, _, data = rest.partition(" ")
                    cur.rootdir = (int(sector), bytes.fromhex(data))
            except ValueError as e:
                errors.append("unreadable guest line %r: %s" % (line, e))

    def medium(self, name):
        return self.media.get(name) or Medium(name)


# ---- the mount -----------------------------------------------------------

class Mount:
    """`aerofs SOURCE MNT` in the foreground, unmounted in close()."""

    def __init__(self, aerofs, source, mnt, logpath, opts):
        self.mnt = mnt
        self.proc = None
        self.logf = open(logpath, "wb")
        cmd = [aerofs, "-f"] + opts + [source, mnt]
        log("mount: " + " ".join(cmd))
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + MOUNT_TIMEOUT
        while not os.path.ismount(mnt):
            if self.proc.poll() is not None:
                self.logf.flush()
                with open(logpath, "rb") as f:
                    msg = f.read().decode("utf-8", "replace")
                raise Failure("aerofs exited %d before mounting: %s"
                              % (self.proc.returncode, msg))
            if time.monotonic() > deadline:
                raise Failure("aerofs did not mount within %d s"
                              % MOUNT_TIMEOUT)
            time.sleep(0.05)

    def close(self):
        if os.path.ismount(self.mnt):
            for cmd in (["fusermount3", "-u", self.mnt],
                        ["umount", "-l", self.mnt]):
                if subprocess.run(cmd, stderr=subprocess.DEVNULL).returncode \
                        == 0:
                    break
        if self.proc and self.proc.poll() is None:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()


# ---- checks --------------------------------------------------------------

def walk_tree(root, skip_top=()):
    files, dirs = {}, set()
    for r, ds, fs in os.walk(root):
        rel = os.path.relpath(r, root)
        if rel == ".":
            ds[:] = [d for d in ds if d not in skip_top]
        else:
            dirs.add(rel)
        for fn in fs:
            p = os.path.join(r, fn)
            files[os.path.normpath(os.path.join(rel, fn))] = (
                os.path.getsize(p), sha256_file(p))
    return files, dirs


class Checks:
    def __init__(self):
        self.n = 0
        self.failed = []

    def ok(self, cond, what, detail=""):
        self.n += 1
        if cond:
            print("ok %d - %s" % (self.n, what), flush=True)
        else:
            print("not ok %d - %s" % (self.n, what), flush=True)
            if detail:
                for line in str(detail).splitlines()[:40]:
                    print("#   " + line)
            self.failed.append(what)


def diff_listing(a, b, name_a, name_b):
    lines = []
    for p in sorted(set(a) | set(b)):
        if a.get(p) != b.get(p):
            lines.append("%s: %s=%s %s=%s" % (p, name_a, a.get(p),
                                                 name_b, b.get(p)))
    return "\n".join(lines)


def iso_label(label):
    """The primary volume id of an ISO labelled LABEL: ECMA-119 7.4.1
    d-characters, a-z upper-cased, anything else '_' (iso_image.c
    primary_char; Joliet keeps the label as given)."""
    return "".join(c.upper() if "a" <= c <= "z" else
                   c if c.isascii() and (c.isupper() or c.isdigit()
                                         or c == "_") else "_"
                   for c in label)


def fat_label(label):
    """The 11-byte FAT volume label of LABEL (export/image/fat_image.h):
    a-z upper-cased, controls, non-ASCII, the backslash and * ? / | . , ;
    : + = [ ] < > " made '_', cut to 11 characters, padded with spaces."""
    out = ""
    for c in label[:11]:
        if "a" <= c <= "z":
            c = c.upper()
        if ord(c) < 0x20 or ord(c) >= 0x7f or c in '*?/\\|.,;:+=[]<>"':
            c = "_"
        out += c
    return out.ljust(11).encode("ascii")


def winpe_dirs(dirs):
    """with_winpe() for a set of directories: the $WinPEDriver$ copies of
    win7/... directories, and $WinPEDriver$ itself when there are any."""
    out = set(with_winpe(dict.fromkeys(dirs)))
    if any(d.startswith(WINPE + "/") for d in out):
        out.add(WINPE)
    return out


def check_listing(chk, m, expect_files, expect_dirs, what, against):
    chk.ok(len(m.files) > 0 and m.files == expect_files,
           "%s: guest sees the %d files of %s with the same sizes and "
           "sha256" % (what, len(expect_files), against),
           diff_listing(m.files, expect_files, "guest", "host"))
    chk.ok(m.dirs == expect_dirs,
           "%s: guest sees the same %d directories" % (what,
                                                       len(expect_dirs)),
           "only guest: %s\nonly host: %s" % (sorted(m.dirs - expect_dirs),
                                               sorted(expect_dirs - m.dirs)))


def check_cd(chk, rep, image_path, label, what):
    m = rep.medium("cd")
    errors = rep.errors + m.errors
    chk.ok(not errors, "%s: guest reported no error" % what,
           "\n".join(errors))
    chk.ok(m.pvd is not None and m.pvd[0] == 1
           and m.pvd[1:6] == b"CD001",
           "%s: sector 16 is an ECMA-119 primary volume descriptor" % what,
           m.pvd[:8] if m.pvd else None)
    got = m.pvd[40:72].decode("ascii", "replace").rstrip(" ") \
        if m.pvd else None
    want = iso_label(label)
    chk.ok(got == want, "%s: PVD volume label is %s" % (what, want),
           "guest read %r" % got)
    size = os.path.getsize(image_path)
    chk.ok(m.size == size, "%s: guest block device is the image size "
           "(%d bytes)" % (what, size), "guest: %r" % m.size)


def check_fat(chk, m, image_path, raw_size, label, fat_type, what):
    """The guest's view of a FAT disk image: block device, partition,
    boot sector (FAT_TYPE 16 or 32, None: either), the label in the BPB
    and in the root directory."""
    chk.ok(not m.errors, "%s: guest reported no error" % what,
           "\n".join(m.errors))
    chk.ok(m.mount is not None and m.mount.split()[2:3] == ["vfat"]
           and "ro" in m.mount.split()[3].split(","),
           "%s: guest mounted partition 1 read-only as vfat" % what,
           "guest: %r" % m.mount)
    chk.ok(m.size == raw_size, "%s: guest block device is the raw disk "
           "size (%d bytes)" % (what, raw_size), "guest: %r" % m.size)
    chk.ok(m.part is not None and m.part[0] == FAT_PART_LBA and m.part[1] > 0
           and (m.part[0] + m.part[1]) * 512 <= raw_size,
           "%s: guest finds MBR partition 1 at LBA %d inside the disk"
           % (what, FAT_PART_LBA), "guest: %r" % (m.part,))
    boot = m.boot or b""
    with open(image_path, "rb") as f:
        f.seek(FAT_PART_LBA * 512)
        host = f.read(512)
    chk.ok(len(boot) == 512 and boot == host and boot[510:] == b"\x55\xaa",
           "%s: guest reads the image's boot sector (55 AA) at the "
           "partition's start" % what,
           "guest %s\nhost  %s" % (boot[:64].hex(), host[:64].hex()))
    if len(boot) < 90:
        chk.ok(False, "%s: BPB volume label" % what, "no boot sector")
        return
    # Microsoft FAT spec v1.03 section 3: BPB_FATSz16 is 0 on FAT32 only;
    # BS_VolLab and BS_FilSysType are at 43/54 (FAT16) or 71/82 (FAT32).
    fat32 = struct.unpack_from("<H", boot, 22)[0] == 0
    lab_at, type_at = (71, 82) if fat32 else (43, 54)
    fstype = boot[type_at:type_at + 8]
    want = fat_label(label)
    got = boot[lab_at:lab_at + 11]
    want_type = b"FAT32   " if fat32 else b"FAT16   "
    chk.ok(got == want and fstype == want_type and
           fat_type in (None, 32 if fat32 else 16),
           "%s: %sboot sector, BS_VolLab %r" % (
               what, "FAT%d " % fat_type if fat_type else "",
               want.decode()),
           "guest: label %r, BS_FilSysType %r, BPB_FATSz16 %s"
           % (got, fstype, "0 (FAT32)" if fat32 else "not 0 (FAT16)"))
    # The label Windows shows: the root directory's ATTR_VOLUME_ID entry
    # (spec section 6; 0x0F is a long name entry, 0xE5 a free one).
    vol = None
    data = m.rootdir[1] if m.rootdir else b""
    for off in range(0, len(data) - 31, 32):
        e = data[off:off + 32]
        if e[0] == 0:
            break
        if e[0] != 0xE5 and e[11] & 0x3F != 0x0F and e[11] & 0x08:
            vol = e[:11]
            break
    chk.ok(vol == want, "%s: root directory volume label entry %r"
           % (what, want.decode()),
           "guest root directory sector %r: label entry %r"
           % (m.rootdir[0] if m.rootdir else None, vol))


def check_manifest(chk, m, manifest_path, what):
    """The guest's listing is exactly manifest.json's files, manifest.json
    itself (its hash from the mount: it does not list itself) and the
    $WinPEDriver$ copies of win7/."""
    with open(manifest_path, encoding="utf-8") as f:
        manifest = json.load(f)
    entries = manifest.get("files")
    chk.ok(isinstance(entries, list) and entries,
           "%s: manifest.json has a files list" % what)
    if not isinstance(entries, list):
        return
    want = {e.get("path"): (e.get("size"), e.get("sha256"))
            for e in entries}
    want["manifest.json"] = (os.path.getsize(manifest_path),
                             sha256_file(manifest_path))
    want = with_winpe(want)
    chk.ok(m.files == want, "%s: guest's files are manifest.json's %d, "
           "manifest.json and the %s copies, sizes and sha256 alike"
           % (what, len(entries), WINPE),
           diff_listing(m.files, want, "guest", "manifest"))


def check_guest_tools(chk, rep, image_path, gt_dir):
    """The guest's listing of the Guest Tools CD: exactly the files of
    its manifest.json (GT_DIR: aerofs-export --profile guest-tools), the
    manifest itself, and the directories of that tree."""
    m = rep.medium("gt")
    what = "pc Guest Tools CD (IDE secondary)"
    chk.ok(not m.errors, "%s: guest reported no error" % what,
           "\n".join(m.errors))
    chk.ok(m.size == os.path.getsize(image_path),
           "%s: guest block device is the image size" % what,
           "guest: %r" % m.size)
    manifest_path = os.path.join(gt_dir, "manifest.json")
    with open(manifest_path, encoding="utf-8") as f:
        entries = json.load(f)["files"]
    want = {e["path"]: (e["size"], e["sha256"]) for e in entries}
    want["manifest.json"] = (os.path.getsize(manifest_path),
                             sha256_file(manifest_path))
    chk.ok(m.files == want and len(entries) > 10,
           "%s: guest's files are manifest.json's %d and manifest.json, "
           "sizes and sha256 alike" % (what, len(entries)),
           diff_listing(m.files, want, "guest", "manifest"))
    _, dirs = walk_tree(gt_dir)
    chk.ok(m.dirs == dirs and "certs" in dirs,
           "%s: guest sees the same %d directories (certs/ too)"
           % (what, len(dirs)),
           "only guest: %s\nonly host: %s" % (sorted(m.dirs - dirs),
                                               sorted(dirs - m.dirs)))


def check_pci(chk, rep, machine, checker, outdir, qemu_version):
    dump = os.path.join(outdir, "virtio-pci-%s.txt" % machine.name)
    with open(dump, "w") as f:
        f.write("# virtio-pci config spaces from a Linux guest's sysfs "
                "(tests/e2e)\n# emulator: %s\n# machine: %s; qemu args: %s\n"
                % (qemu_version, machine.name, " ".join(machine.args)))
        for line in rep.pci:
            f.write(line + "\n")
    devs = sum(1 for line in rep.pci if line.startswith("DEV "))
    chk.ok(devs == len(machine.expect),
           "%s: guest lists %d virtio PCI functions" % (machine.name,
                                                       len(machine.expect)),
           "got %d" % devs)
    if not checker:
        log("virtio_config_check not built: dump left in %s" % dump)
        return
    r = subprocess.run([checker, dump] + machine.expect,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60)
    out = r.stdout.decode("utf-8", "replace")
    for line in out.splitlines():
        print("#   " + line)
    chk.ok(r.returncode == 0, "%s: virtio_config_check accepts every "
           "dump (%s)" % (machine.name, ", ".join(machine.expect)), out)

    # The checker must notice a wrong device model: every expectation with
    # its mode changed has to be refused, one by one.
    flip = {"modern": "transitional", "transitional": "legacy",
            "legacy": "modern"}
    accepted = []
    for e in machine.expect:
        bdf, _, rest = e.partition("=")
        parts = rest.split(":")
        if parts[0] in ("virtio-keyboard-pci", "virtio-mouse-pci",
                        "virtio-tablet-pci"):
            # modern-only models: claim a different input model's class
            parts[0] = ("virtio-mouse-pci" if parts[0] != "virtio-mouse-pci"
                        else "virtio-tablet-pci")
        else:
            parts[1] = flip[parts[1]]
        wrong = "%s=%s" % (bdf, ":".join(parts))
        r = subprocess.run([checker, dump, wrong], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        if r.returncode == 0 or "not ok 1 " not in r.stdout.decode():
            accepted.append(wrong)
    chk.ok(not accepted, "%s: virtio_config_check refuses each function "
           "under a wrong model or mode" % machine.name,
           "accepted: %s" % accepted)


# ---- main ----------------------------------------------------------------

def prepare(cache):
    r = subprocess.run(["sh", os.path.join(HERE, "prepare.sh"), cache],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=900)
    err = r.stderr.decode("utf-8", "replace").strip()
    if r.returncode == 77:
        raise Skip(err or "prepare.sh skipped")
    if r.returncode != 0:
        raise Failure("prepare.sh failed: %s" % err)
    env = dict(line.split("=", 1)
               for line in r.stdout.decode().splitlines() if "=" in line)
    return env


def default_cache(build_root):
    if os.geteuid() == 0:
        return "/var/cache/aerofs-e2e"
    return os.path.join(build_root, "tests", "e2e", "cache")


def find_source(args, scratch):
    """SOURCE for aerofs: --source, else the tiny fixture's ISO, or with
    --tree-source a copy of the fixture's tree plus EXTRA_FILES."""
    if args.source:
        return args.source
    fx = os.environ.get("AEROFS_FIXTURES") or os.path.join(
        args.build_root, "tests", "fixtures", "tiny")
    if args.tree_source:
        tree = os.path.join(fx, "tree")
        if not os.path.isdir(tree):
            raise Failure("no fixture tree %s (tests/fixtures not built)"
                          % tree)
        src = os.path.join(scratch, "source")
        shutil.copytree(tree, src, symlinks=True)
        extra = [(folder, name, None) for folder, name in
                 EXTRA_FILES.items()]
        if args.fat32:
            extra.append(BIG_FILE)
        for folder, name, size in extra:
            d = os.path.join(src, folder)
            if not os.path.isdir(d):
                raise Failure("fixture tree has no %s" % folder)
            if size is None:
                data = ("tests/e2e: a file named %s\r\n" % name).encode(
                    "utf-8") * 40
            else:
                data = hashlib.shake_256(name.encode()).digest(size)
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        return src
    iso = os.path.join(fx, "virtio-win-rr.iso")
    if not os.path.exists(iso):
        raise Failure("no fixture ISO %s (tests/fixtures not built)" % iso)
    return iso


def export_image(export, label_opts, fmt, source, out):
    r = subprocess.run([export, "--format", fmt] + label_opts
                       + [source, out], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=300)
    if r.returncode != 0:
        raise Failure("aerofs-export --format %s failed: %s"
                      % (fmt, r.stdout.decode("utf-8", "replace")))


def check_status(chk, mnt, disks):
    """status.json lists the ISO and the FAT images with their sizes."""
    with open(os.path.join(mnt, ".aerofs", "status.json"),
              encoding="utf-8") as f:
        images = json.load(f).get("images") or []
    got = {i.get("name"): (i.get("format"), i.get("size")) for i in images
           if isinstance(i, dict)}
    want = {}
    for path, fmt in [(VIRTUAL_ISO, "iso")] + [
            (path, efmt) for path, _, efmt in disks.values()]:
        want[os.path.basename(path)] = (fmt, os.path.getsize(
            os.path.join(mnt, path)))
    chk.ok(all(got.get(k) == v for k, v in want.items()),
           "status.json lists %s with format and size"
           % ", ".join(sorted(want)), "status.json images: %r" % images)


def run(args, chk):
    t_start = time.monotonic()
    build_root = args.build_root
    outdir = os.path.join(build_root, "tests", "e2e", "out")
    os.makedirs(outdir, exist_ok=True)

    if not args.iso:
        if not os.path.exists("/dev/fuse"):
            raise Skip("no /dev/fuse")
        aerofs = os.environ.get("AEROFS_BIN") or os.path.join(
            build_root, "fs", "aerofs")
        export = os.environ.get("AEROFS_EXPORT_BIN") or os.path.join(
            build_root, "export", "aerofs-export")
        for p in (aerofs, export):
            if not os.access(p, os.X_OK):
                raise Failure("%s not built" % p)
    env = prepare(args.cache or default_cache(build_root))
    log("kernel package %s" % env["KPKG"])
    qemu = env["QEMU"]
    qemu_version = subprocess.run([qemu, "--version"], stdout=subprocess.PIPE
                                  ).stdout.decode().splitlines()[0]
    log(qemu_version)

    checker = os.environ.get("AEROFS_E2E_CHECKER") or os.path.join(
        build_root, "tests", "e2e", "virtio_config_check")
    if not os.access(checker, os.X_OK):
        if not args.iso:
            raise Failure("%s not built" % checker)
        checker = None

    scratch = tempfile.mkdtemp(prefix="aerofs-e2e-")
    mount = None
    try:
        label = args.label or DEFAULT_LABEL
        disks = {}              # name -> (path, QEMU format)
        gt_image = gt_dir = None  # pc: the Guest Tools CD
        if args.iso:
            image = args.iso
            files = dirs = None
            if args.tree:
                files, dirs = walk_tree(args.tree)
        else:
            source = find_source(args, scratch)
            mnt = os.path.join(scratch, "mnt")
            os.mkdir(mnt)
            label_opts = (["--label", args.label] if args.label else [])
            exported = {"iso": os.path.join(scratch, "out.iso")}
            export_image(export, label_opts, "iso", source, exported["iso"])
            for name, (_, _, efmt) in DISKS.items():
                exported[name] = os.path.join(scratch, "out." + efmt)
                export_image(export, label_opts, efmt, source,
                             exported[name])
            mount = Mount(aerofs, source, mnt,
                          os.path.join(outdir, "aerofs-%s.log" % args.machine),
                          ["-o", "label=" + args.label] if args.label else [])
            image = os.path.join(mnt, VIRTUAL_ISO)
            chk.ok(os.path.isfile(image), "mount serves %s" % VIRTUAL_ISO)
            chk.ok(sha256_file(image) == sha256_file(exported["iso"]),
                   "the mount's %s has the same sha256 as aerofs-export "
                   "--format iso SOURCE out.iso" % VIRTUAL_ISO)
            for name, (path, fmt, efmt) in DISKS.items():
                full = os.path.join(mnt, path)
                chk.ok(os.path.isfile(full), "mount serves %s" % path)
                chk.ok(sha256_file(full) == sha256_file(exported[name]),
                       "the mount's %s has the same sha256 as aerofs-export "
                       "--format %s SOURCE out.%s" % (path, efmt, efmt))
                disks[name] = (full, fmt)
            check_status(chk, mnt, DISKS)
            if args.machine == "pc":
                gt_image = os.path.join(mnt, GT_ISO)
                gt_iso = os.path.join(scratch, "gt.iso")
                gt_dir = os.path.join(scratch, "gt")
                for out in (gt_iso, gt_dir):
                    export_image(export, label_opts + ["--profile",
                                                       "guest-tools"],
                                 "iso" if out == gt_iso else "dir", source,
                                 out)
                chk.ok(os.path.isfile(gt_image) and
                       sha256_file(gt_image) == sha256_file(gt_iso),
                       "the mount's %s has the same sha256 as aerofs-export "
                       "--profile guest-tools --format iso" % GT_ISO)
            # The pack's tree as the mount shows it; every image of it
            # also holds the $WinPEDriver$ copies.
            files, dirs = walk_tree(mnt, skip_top=(".aerofs",))
            files, dirs = with_winpe(files), winpe_dirs(dirs)
            extra = [p for p in files if not p.isascii()]
            log("non-ASCII names in the pack: %s" % (extra or "none"))

        # Both the CD's and the disks' modules are always in the
        # initramfs; only the disks named here are looked for.
        initrd = os.path.join(scratch, "initrd.gz")
        mods = build_initramfs(env["BUSYBOX"], env["MODULES"], initrd,
                               sorted(disks), gt=gt_image is not None)
        log("initramfs %d bytes, modules: %s" % (os.path.getsize(initrd),
                                                  " ".join(mods)))
        build = pc_machine if args.machine == "pc" else q35_machine
        machine = build(image, scratch, "ahci" in mods, disks, gt_image)
        lines, dt = run_qemu(qemu, env["KERNEL"], initrd, machine,
                             os.path.join(outdir, "serial-%s.log"
                                          % machine.name))
        rep = Report(lines)
        what = "%s CD-ROM (%s)" % (machine.name, machine.cd)
        check_cd(chk, rep, image, label, what)
        cd = rep.medium("cd")
        if files is None:
            chk.ok(cd.files, "%s: guest lists files" % what)
        else:
            check_listing(chk, cd, files, dirs, what,
                          "the mount (and %s)" % WINPE
                          if not args.iso else args.tree)
        if not args.iso:
            manifest = os.path.join(mnt, "manifest.json")
            check_manifest(chk, cd, manifest, what)
            # The tiny fixture is FAT16, --fat32 adds what makes FAT32;
            # an arbitrary --source may be either.
            fat_type = (32 if args.fat32 else
                        None if args.source else 16)
            for name in sorted(disks):
                path, fmt = disks[name]
                what = "%s .%s disk (%s)" % (machine.name, name,
                                             machine.disks[name])
                m = rep.medium(name)
                raw_size = os.path.getsize(path) - (
                    VHD_FOOTER if fmt == "vpc" else 0)
                check_fat(chk, m, path, raw_size, label, fat_type, what)
                check_listing(chk, m, files, dirs, what,
                              "the mount (and %s)" % WINPE)
                check_manifest(chk, m, manifest, what)
        if gt_image:
            check_guest_tools(chk, rep, gt_image, gt_dir)
        check_pci(chk, rep, machine, checker, outdir, qemu_version)
        log("%s: boot %.1f s, whole run %.1f s"
            % (machine.name, dt, time.monotonic() - t_start))
    finally:
        if mount:
            mount.close()
        shutil.rmtree(scratch, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--machine", choices=("pc", "q35"), default="pc")
    ap.add_argument("--build-root",
                    default=os.environ.get("AEROFS_BUILD_ROOT",
                                           os.path.join(HERE, "..", "..",
                                                        "build")))
    ap.add_argument("--cache", default=os.environ.get("AEROFS_E2E_CACHE"))
    ap.add_argument("--source", help="aerofs SOURCE (default: the tiny "
                    "fixture ISO)")
    ap.add_argument("--iso", help="boot this ISO instead of a mount")
    ap.add_argument("--tree", help="with --iso: the tree it was made from")
    ap.add_argument("--tree-source", action="store_true",
                    help="aerofs SOURCE: a copy of the fixture's tree "
                    "with files of long non-ASCII names added (default: "
                    "the fixture ISO)")
    ap.add_argument("--fat32", action="store_true",
                    help="with --tree-source: also add a %d MiB file, so "
                    "that the FAT images are FAT32 (expected; the "
                    "fixture alone gives FAT16)" % (BIG_FILE[2] >> 20))
    ap.add_argument("--label", help="give aerofs -o label= and "
                    "aerofs-export --label this label, and expect it "
                    "(default: none given, expect %s)" % DEFAULT_LABEL)
    args = ap.parse_args()
    if args.fat32 and not args.tree_source:
        ap.error("--fat32 needs --tree-source")
    args.build_root = os.path.abspath(args.build_root)

    # meson ends a test that times out with SIGTERM: turn it into an
    # exception so that the finally blocks kill QEMU and unmount.
    def on_term(signum, frame):
        raise Failure("terminated by signal %d" % signum)
    signal.signal(signal.SIGTERM, on_term)

    chk = Checks()
    try:
        run(args, chk)
    except Skip as e:
        print("1..0 # SKIP %s" % e)
        return 77
    except Failure as e:
        chk.ok(False, "e2e run", e)
    print("1..%d" % chk.n)
    return 1 if chk.failed else 0


if __name__ == "__main__":
    sys.exit(main())
