#!/usr/bin/env python3
"""End-to-end: a real Linux guest under QEMU (TCG) reads the aerofs mount.

What it does, per machine type (--machine pc or q35):
  1. prepare.sh gets qemu-system-x86, busybox-static and an unpacked Debian
     kernel (never installed on the host);
  2. builds a tiny initramfs: busybox, the .ko modules the guest needs with
     their dependencies (read from each module's .modinfo), and an init
     script;
  3. mounts `aerofs SOURCE MNT` (SOURCE: the tiny virtio-win fixture ISO)
     and boots QEMU with MNT/.aerofs/aero-win7-drivers.iso as its CD-ROM
     (pc: IDE; q35: scsi-cd on virtio-scsi behind a PCIe root port), next
     to a set of virtio PCI functions;
  4. the guest hex-dumps the config space and BARs of every virtio
     function (before any virtio driver binds), loads the CD modules, reads
     the volume label from the primary volume descriptor, mounts the CD and
     prints the size and sha256 of every file, all between markers on the
     serial console, then powers off;
  5. the host checks the listing against manifest.json and against a walk
     of the mount, the label against the expected one, the mount's image
     against `aerofs-export SOURCE out.iso` (same bytes), and runs
     virtio_config_check on the dumps with expectations derived from the
     device models it asked QEMU for.

Not here: unit tests of the parsers (tests/unit) and mount semantics
(tests/integration).  Python 3 stdlib only.  Exit 0 pass, 1 fail, 77 skip.

--iso PATH boots a plain ISO instead of a mount (harness development): the
listing is then compared with --tree if given.
"""

import argparse
import gzip
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
from aerofs_test import sha256_file  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BEGIN = "@@AEROFS-E2E BEGIN@@"
END = "@@AEROFS-E2E END@@"
VIRTUAL_ISO = os.path.join(".aerofs", "aero-win7-drivers.iso")
# catalog/stage/catalog.h CATALOG_DEFAULT_LABEL: what an image carries when no
# label option is given.
DEFAULT_LABEL = "AERO_W7_DRIVERS"

# Modules the guest loads, in this order after their dependencies.  The
# cloud kernel has no ahci, so q35 reads its CD through virtio-scsi.
GUEST_MODULES = ["cdrom", "sr_mod", "ata_piix", "ahci", "isofs",
                 "virtio_pci", "virtio_scsi"]
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
# Guest side of tests/e2e: dumps virtio PCI functions, reads the CD.
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

i=0
while [ ! -b /dev/sr0 ] && [ $i -lt 200 ]; do usleep 50000; i=$((i+1)); done
if [ ! -b /dev/sr0 ]; then
	echo "ERROR no /dev/sr0"
	dmesg | tail -n 40 | sed 's/^/DMESG /'
else
	echo "SIZE $(blockdev --getsize64 /dev/sr0)"
	# ECMA-119 8.4: the primary volume descriptor is sector 16; bytes
	# 0..6 type, "CD001", version; 40..71 the volume identifier.
	echo "PVD $(dd if=/dev/sr0 bs=2048 skip=16 count=1 2>/dev/null |
		head -c 72 | xxd -p | tr -d '\n')"
	echo "LABEL $(dd if=/dev/sr0 bs=1 skip=32808 count=32 2>/dev/null)"
	if mount -t iso9660 -o ro /dev/sr0 /mnt; then
		echo "MOUNT $(grep ' /mnt ' /proc/mounts)"
		cd /mnt
		find . -type d | sort | while IFS= read -r f; do
			echo "DIR ${f#./}"
		done
		find . -type f | sort | while IFS= read -r f; do
			echo "FILE $(stat -c %s "$f")" \
			     "$(sha256sum "$f" | cut -d' ' -f1) ${f#./}"
		done
		cd /
		umount /mnt
	else
		echo "ERROR mount /dev/sr0 failed"
		dmesg | tail -n 40 | sed 's/^/DMESG /'
	fi
fi
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


def build_initramfs(busybox, moddir, out):
    mods = resolve_modules(moddir, GUEST_MODULES)
    c = Cpio()
    for d in ("bin", "dev", "proc", "sys", "mnt", "tmp", "modules"):
        c.dir(d)
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

    def virtio(self, bdf, model, props, pcie_port=False, extra=""):
        mode = qemu_mode(model, props, pcie_port)
        opts = [model] + ["%s=%s" % kv for kv in props.items()]
        if extra:
            opts.append(extra)
        self.args += ["-device", ",".join(opts)]
        self.expect.append("%s=%s:%s%s" % (bdf, model, mode,
                                           ":pcie" if pcie_port else ""))


def pc_machine(iso, scratch, ahci):
    m = Machine("pc")
    m.cd = "IDE (PIIX3)"
    m.args += ["-M", "pc",
               "-drive", "file=%s,if=ide,media=cdrom,readonly=on,format=raw"
               % iso]
    blk = blank_disks(scratch, 3)
    for i, path in enumerate(blk):
        m.args += ["-drive", "if=none,id=vd%d,file=%s,format=raw,"
                   "readonly=on" % (i, path)]
    m.virtio("0000:00:04.0", "virtio-blk-pci", {"addr": "0x4"},
             extra="drive=vd0")
    m.virtio("0000:00:05.0", "virtio-blk-pci",
             {"addr": "0x5", "disable-legacy": "on"}, extra="drive=vd1")
    m.virtio("0000:00:06.0", "virtio-blk-pci",
             {"addr": "0x6", "disable-modern": "on"}, extra="drive=vd2")
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


def q35_machine(iso, scratch, ahci):
    m = Machine("q35")
    m.args += ["-M", "q35"]
    # Root ports at 00:02.0.. get buses 1.. in order (SeaBIOS numbers
    # buses depth first in slot order).
    for i in range(1, 5):
        m.args += ["-device", "pcie-root-port,id=rp%d,chassis=%d,"
                   "addr=0x%x" % (i, i, i + 1)]
    blk = blank_disks(scratch, 1)
    m.args += ["-drive", "if=none,id=vd0,file=%s,format=raw,readonly=on"
               % blk[0]]
    m.virtio("0000:01:00.0", "virtio-blk-pci", {"bus": "rp1"},
             pcie_port=True, extra="drive=vd0")
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
             {"addr": "0x7", "disable-legacy": "on"}, extra="drive=vd1")
    m.args += ["-drive", "if=none,id=vd1,file=%s,format=raw,readonly=on"
               % blank_disks(scratch, 2)[1]]
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


class Report:
    def __init__(self, lines):
        self.lines = lines
        self.files = {}
        self.dirs = set()
        self.errors = []
        self.pvd = None
        self.label = None
        self.size = None
        self.pci = []
        for line in lines:
            tag, _, rest = line.partition(" ")
            if tag == "FILE":
                size, digest, path = rest.split(" ", 2)
                self.files[path] = (int(size), digest)
            elif tag == "DIR":
                if rest and rest != ".":
                    self.dirs.add(rest)
            elif tag == "PVD":
                self.pvd = bytes.fromhex(rest)
            elif tag == "LABEL":
                self.label = rest
            elif tag == "SIZE":
                self.size = int(rest)
            elif tag in ("ERROR", "WARN", "DMESG"):
                self.errors.append(line)
            elif tag in ("DEV", "RES", "CFG"):
                self.pci.append(line)


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


def check_cd(chk, rep, image_path, expect_files, expect_dirs, label, what):
    chk.ok(not rep.errors, "%s: guest reported no error" % what,
           "\n".join(rep.errors))
    chk.ok(rep.pvd is not None and rep.pvd[0] == 1
           and rep.pvd[1:6] == b"CD001",
           "%s: sector 16 is an ECMA-119 primary volume descriptor" % what,
           rep.pvd[:8] if rep.pvd else None)
    got = rep.pvd[40:72].decode("ascii", "replace").rstrip(" ") \
        if rep.pvd else None
    chk.ok(got == label, "%s: PVD volume label is %s" % (what, label),
           "guest read %r" % got)
    size = os.path.getsize(image_path)
    chk.ok(rep.size == size, "%s: guest block device is the image size "
           "(%d bytes)" % (what, size), "guest: %r" % rep.size)
    chk.ok(len(rep.files) > 0 and rep.files == expect_files,
           "%s: guest sees the same %d files with the same sizes and "
           "sha256" % (what, len(expect_files)),
           diff_listing(rep.files, expect_files, "guest", "host"))
    chk.ok(rep.dirs == expect_dirs,
           "%s: guest sees the same %d directories" % (what,
                                                       len(expect_dirs)),
           "only guest: %s\nonly host: %s" % (sorted(rep.dirs - expect_dirs),
                                               sorted(expect_dirs - rep.dirs)))


def check_manifest(chk, rep, manifest_path, what):
    with open(manifest_path, encoding="utf-8") as f:
        manifest = json.load(f)
    entries = manifest.get("files")
    chk.ok(isinstance(entries, list) and entries,
           "%s: manifest.json has a files list" % what)
    if not isinstance(entries, list):
        return
    bad = []
    for e in entries:
        want = (e.get("size"), e.get("sha256"))
        got = rep.files.get(e.get("path"))
        if got != want:
            bad.append("%s: manifest %s guest %s" % (e.get("path"), want, got))
    chk.ok(not bad, "%s: every one of the %d manifest.json files is on "
           "the guest's CD with its size and sha256" % (what, len(entries)),
           "\n".join(bad))


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


def find_source(args):
    if args.source:
        return args.source
    fx = os.environ.get("AEROFS_FIXTURES") or os.path.join(
        args.build_root, "tests", "fixtures", "tiny")
    iso = os.path.join(fx, "virtio-win-rr.iso")
    if not os.path.exists(iso):
        raise Failure("no fixture ISO %s (tests/fixtures not built)" % iso)
    return iso


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
        initrd = os.path.join(scratch, "initrd.gz")
        mods = build_initramfs(env["BUSYBOX"], env["MODULES"], initrd)
        log("initramfs %d bytes, modules: %s" % (os.path.getsize(initrd),
                                                  " ".join(mods)))
        if args.iso:
            image = args.iso
            if args.tree:
                files, dirs = walk_tree(args.tree)
            label = args.label or DEFAULT_LABEL
        else:
            source = find_source(args)
            mnt = os.path.join(scratch, "mnt")
            os.mkdir(mnt)
            out_iso = os.path.join(scratch, "out.iso")
            label_opts = (["--label", args.label] if args.label else [])
            r = subprocess.run([export] + label_opts + [source, out_iso],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=300)
            if r.returncode != 0:
                raise Failure("aerofs-export failed: %s" % r.stdout.decode(
                    "utf-8", "replace"))
            mount = Mount(aerofs, source, mnt,
                          os.path.join(outdir, "aerofs-%s.log" % args.machine),
                          ["-o", "label=" + args.label] if args.label else [])
            image = os.path.join(mnt, VIRTUAL_ISO)
            chk.ok(os.path.isfile(image), "mount serves %s" % VIRTUAL_ISO)
            chk.ok(sha256_file(image) == sha256_file(out_iso),
                   "the mount's image has the same sha256 as "
                   "aerofs-export SOURCE out.iso")
            files, dirs = walk_tree(mnt, skip_top=(".aerofs",))
            label = args.label or DEFAULT_LABEL

        build = pc_machine if args.machine == "pc" else q35_machine
        machine = build(image, scratch, "ahci" in mods)
        lines, dt = run_qemu(qemu, env["KERNEL"], initrd, machine,
                             os.path.join(outdir, "serial-%s.log"
                                          % machine.name))
        rep = Report(lines)
        what = "%s CD-ROM (%s)" % (machine.name, machine.cd)
        if args.iso and not args.tree:
            chk.ok(rep.files, "%s: guest lists files" % what)
        else:
            check_cd(chk, rep, image, files, dirs, label, what)
        if not args.iso:
            check_manifest(chk, rep, os.path.join(mnt, "manifest.json"),
                           what)
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
    ap.add_argument("--label", help="give aerofs -o label= and "
                    "aerofs-export --label this label, and expect it "
                    "(default: none given, expect %s)" % DEFAULT_LABEL)
    args = ap.parse_args()
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
