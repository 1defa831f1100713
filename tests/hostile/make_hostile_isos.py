#!/usr/bin/env python3
"""Writes the crafted ISO9660 images in tests/hostile/isofs/.

Each image breaks one rule (or exercises one rarely authored feature) of
ECMA-119, Joliet or Rock Ridge/SUSP, so that tests/unit/test_source.c can
assert what catalog/source/isofs.c does with it, and the fuzz replay
(tests/fuzz/meson.build) runs every one under the sanitizers.  The expected
outcome of each image is written next to its builder below and asserted in
test_source.c (test_hostile).

Files named fuzz-*.bin are inputs libFuzzer found (tests/fuzz/fuzz_isofs.c),
kept as they were found, not made here:
  fuzz-record-at-sector-end.bin: a directory record starting 8 bytes before
    the end of a 64 KiB read chunk; parse_rec() read its name length (byte
    32) before checking the record fit (heap overflow by 24 bytes).  Now an
    -EIO "bad directory record".

Python 3 stdlib only and deterministic: run it again and the bytes are the
same.  Usage: make_hostile_isos.py [OUTDIR] (default: isofs/ next to this
script).
"""

import os
import struct
import sys

SECTOR = 2048
DATE7 = bytes([120, 3, 23, 12, 0, 0, 0])    # 2020-03-23 12:00:00 GMT


def both16(v):
    return struct.pack('<H', v) + struct.pack('>H', v)


def both32(v):
    return struct.pack('<I', v) + struct.pack('>I', v)


def dirrec(name, block, size, flags=0, su=b'', unit=0, gap=0, xar=0,
           le_block=None):
    """ECMA-119 9.1 directory record; NAME is the raw file identifier."""
    pad = b'\0' if len(name) % 2 == 0 else b''
    body = (bytes([xar]) + both32(block) + both32(size) + DATE7 +
            bytes([flags, unit, gap]) + both16(1) + bytes([len(name)]) +
            name + pad + su)
    if (len(body) + 1) % 2:
        body += b'\0'
    assert len(body) + 1 <= 255, name
    return bytes([len(body) + 1]) + body


def susp(sig, data, version=1):
    return sig + bytes([4 + len(data), version]) + data


def sp(skip=0):
    return susp(b'SP', b'\xbe\xef' + bytes([skip]))


def nm(name, flags=0):
    return susp(b'NM', bytes([flags]) + name)


def px(mode, nlink=1):
    return susp(b'PX', both32(mode) + both32(nlink) + both32(0) + both32(0))


def ce(block, offset, length):
    return susp(b'CE', both32(block) + both32(offset) + both32(length))


def date17(text, offset=0):
    return text.encode() + struct.pack('b', offset)


class Image:
    """Sectors by number; unset sectors are zeros."""

    def __init__(self):
        self.sectors = {}
        self.nsectors = 0

    def put(self, block, data):
        for i in range(0, max(len(data), 1), SECTOR):
            chunk = data[i:i + SECTOR]
            self.sectors[block + i // SECTOR] = chunk.ljust(SECTOR, b'\0')
        self.nsectors = max(self.nsectors,
                            block + (len(data) + SECTOR - 1) // SECTOR)

    def bytes(self, size=None):
        out = bytearray(self.nsectors * SECTOR)
        for b, data in self.sectors.items():
            out[b * SECTOR:(b + 1) * SECTOR] = data
        if size is not None:
            out = out[:size] if size <= len(out) else \
                out + bytes(size - len(out))
        return bytes(out)


def vd(vtype, root, nblocks, label=b'HOSTILE', version=1, escapes=b'',
       mdate=None, cdate=None):
    """ECMA-119 8.4/8.5 volume descriptor."""
    d = bytearray(SECTOR)
    d[0] = vtype
    d[1:6] = b'CD001'
    d[6] = version
    d[8:40] = b' ' * 32
    d[40:72] = label.ljust(32, b' ')
    d[80:88] = both32(nblocks)
    d[88:88 + len(escapes)] = escapes
    d[120:124] = both16(1)
    d[124:128] = both16(1)
    d[128:132] = both16(SECTOR)
    # 8.4.14-8.4.18: a one-entry path table (the root) at blocks 18 and 19,
    # written by simple(); libarchive refuses a PVD without one.
    d[132:140] = both32(10)
    d[140:144] = struct.pack('<I', 18)
    d[148:152] = struct.pack('>I', 19)
    d[156:190] = root
    d[190:813] = b' ' * (813 - 190)
    d[813:830] = cdate or date17('0' * 16)
    d[830:847] = mdate or date17('0' * 16)
    d[847:864] = date17('0' * 16)
    d[864:881] = date17('0' * 16)
    d[881] = 2 if version == 2 else 1
    return bytes(d)


def path_table(root, order):
    """ECMA-119 9.4: the root's path table record."""
    return bytes([1, 0]) + struct.pack(order + 'IH', root, 1) + b'\0\0'


def terminator():
    d = bytearray(SECTOR)
    d[0] = 255
    d[1:6] = b'CD001'
    d[6] = 1
    return bytes(d)


def directory(self_block, parent_block, entries, size=SECTOR, dot_su=b''):
    """A directory extent: "." and ".." then ENTRIES (records)."""
    recs = [dirrec(b'\0', self_block, size, 2, dot_su),
            dirrec(b'\1', parent_block, SECTOR, 2)]
    recs += entries
    out = bytearray()
    sector = bytearray()
    for r in recs:
        if len(sector) + len(r) > SECTOR:
            out += sector.ljust(SECTOR, b'\0')
            sector = bytearray()
        sector += r
    out += sector
    return bytes(out).ljust(size, b'\0')


ROOT = 20


def simple(entries, rr=False, files=(), extra=(), mdate=None, cdate=None,
           root_size=SECTOR, size=None, svd=None):
    """Root at block 20 holding ENTRIES; FILES is [(block, bytes)]."""
    img = Image()
    dot = sp() + px(0o40555, 2) if rr else b''
    img.put(ROOT, directory(ROOT, ROOT, entries, root_size, dot))
    for block, data in files:
        img.put(block, data)
    for block, data in extra:
        img.put(block, data)
    nblocks = max(img.nsectors, 40)
    img.put(16, vd(1, dirrec(b'\0', ROOT, root_size, 2), nblocks,
                   mdate=mdate, cdate=cdate))
    img.put(18, path_table(ROOT, '<'))
    img.put(19, path_table(ROOT, '>'))
    if svd is not None:
        img.put(17, svd)
        img.put(18, terminator())
    else:
        img.put(17, terminator())
    img.nsectors = max(img.nsectors, 40)
    return img.bytes(size)


def rrfile(isoname, rrname, block, length, mode=0o100444, flags=0, more=b''):
    return dirrec(isoname, block, length, flags, px(mode) + nm(rrname) + more)


CASES = {}


def case(fn):
    CASES[fn.__name__.replace('_', '-') + '.iso'] = fn
    return fn


@case
def not_iso_html():
    # Expect -EINVAL, "HTML page": a mirror that served a web page.
    page = (b'<!DOCTYPE html>\n<html><head><title>404 Not Found</title>'
            b'</head><body>Not Found</body></html>\n')
    return (page * 600)[:40000]


@case
def truncated_descriptors():
    # Expect -EIO: the PVD is complete, the file ends before a terminator.
    full = simple([dirrec(b'A.TXT;1', 30, 5)], files=[(30, b'hello')])
    return full[:17 * SECTOR]


@case
def no_terminator():
    # Expect -EIO: 64 descriptors and no type 255 terminator.
    img = Image()
    img.put(90, directory(90, 90, []))
    for i in range(70):
        img.put(16 + i, vd(0 if i else 1, dirrec(b'\0', 90, SECTOR, 2), 100))
    img.nsectors = 100
    return img.bytes()


@case
def truncated_directory():
    # Expect -EIO: the root directory extent runs past the end of file.
    full = simple([dirrec(b'A.TXT;1', 30, 5)], files=[(30, b'hello')],
                  root_size=4 * SECTOR)
    return full[:(ROOT + 2) * SECTOR]


@case
def truncated_file():
    # Expect -EIO at open: a file's extent ends past the end of file.
    data = bytes(range(256)) * 40
    full = simple([dirrec(b'BIG.BIN;1', 30, len(data))], files=[(30, data)])
    return full[:30 * SECTOR + 5000]


@case
def extent_past_end():
    # Expect -EIO: extent at block 0xfffffff0 (offset overflows 32 bits).
    return simple([dirrec(b'FAR.BIN;1', 0xfffffff0, 4096)])


@case
def huge_size():
    # Expect -EIO: 4 GiB - 1 bytes claimed in a 80 KiB image.
    return simple([dirrec(b'HUGE.BIN;1', 30, 0xffffffff)])


@case
def huge_directory():
    # Expect -EIO: a directory claiming 4 GiB - 2048 bytes.
    return simple([dirrec(b'SUB', 30, 0xfffff800, 2)],
                  extra=[(30, directory(30, ROOT, []))])


@case
def directory_loop():
    # Expect -ELOOP: SUB's extent is the root directory itself.
    return simple([dirrec(b'SUB', ROOT, SECTOR, 2)])


@case
def directory_cycle():
    # Expect -ELOOP: A/B points back at A.
    return simple([dirrec(b'A', 30, SECTOR, 2)],
                  extra=[(30, directory(30, ROOT,
                                        [dirrec(b'B', 30, SECTOR, 2)]))])


@case
def overlapping_directories():
    # Expect -EIO: 40 directories starting one block apart and each 16
    # blocks long, so listing them would read most bytes 16 times.
    sub = directory(30, ROOT, [dirrec(b'D%02d' % i, 31 + i, 16 * SECTOR, 2)
                               for i in range(40)])
    return simple([dirrec(b'SUB', 30, SECTOR, 2)], extra=[(30, sub)],
                  size=(31 + 40 + 16) * SECTOR)


@case
def file_over_descriptors():
    # Expect success: PVD.BIN is the 2048 bytes of the PVD (allowed).
    return simple([dirrec(b'PVD.BIN;1', 16, SECTOR)])


@case
def bad_names():
    # Expect success, only "ok.txt" and "PLAIN.TXT" (no NM: plain name)
    # listed; 7 skipped: '/', '\\', '..', '.', NUL, a control character,
    # a 300-byte NM name continued in a CE area.
    entries = [
        rrfile(b'A;1', b'a/b', 30, 1),
        rrfile(b'B;1', b'a\\b', 30, 1),
        rrfile(b'C;1', b'..', 30, 1),
        rrfile(b'D;1', b'.', 30, 1),
        rrfile(b'E;1', b'nul\0here', 30, 1),
        rrfile(b'F;1', b'tab\there', 30, 1),
        dirrec(b'G;1', 30, 1, 0, nm(b'x' * 150, 1) +
               ce(31, 0, len(nm(b'y' * 150)))),
        rrfile(b'H;1', b'ok.txt', 30, 1),
        dirrec(b'PLAIN.TXT;1', 30, 1, 0, px(0o100444)),
    ]
    return simple(entries, rr=True, files=[(30, b'!'),
                                           (31, nm(b'y' * 150))])


@case
def plain_bad_names():
    # Expect success, no Rock Ridge: "x/y" and ".." raw identifiers are
    # skipped, "GOOD.TXT;1" is "GOOD.TXT", "DOT." is "DOT".
    entries = [dirrec(b'X/Y;1', 30, 1), dirrec(b'..;1', 30, 1),
               dirrec(b'GOOD.TXT;1', 30, 1), dirrec(b'DOT.;1', 30, 1)]
    return simple(entries, files=[(30, b'!')])


@case
def duplicate_names():
    # Expect success: two "same.txt"; the first (content "first") is kept.
    entries = [rrfile(b'SAME1.TXT;1', b'same.txt', 30, 5),
               rrfile(b'SAME2.TXT;1', b'same.txt', 31, 6)]
    return simple(entries, rr=True, files=[(30, b'first'), (31, b'second')])


def deep_image(levels):
    img_extra = []
    block = 30
    parent = ROOT
    first = None
    for i in range(levels):
        child = dirrec(b'D', block + 1, SECTOR, 2) if i + 1 < levels else None
        img_extra.append((block, directory(block, parent,
                                           [child] if child else [])))
        if first is None:
            first = block
        parent = block
        block += 1
    return simple([dirrec(b'D', first, SECTOR, 2)], extra=img_extra)


@case
def deep_tree():
    # Expect -E2BIG: 70 nested directories, above the default depth 64.
    return deep_image(70)


@case
def wide_tree():
    # Expect -E2BIG with max_nodes 1000 (the test's limit): 1500 files
    # in one directory; success with the defaults.
    entries = [dirrec(b'F%05d.TXT;1' % i, 0, 0) for i in range(1500)]
    per = SECTOR // len(entries[0])
    nsec = (len(entries) + 2 + per - 1) // per + 1
    return simple(entries, root_size=nsec * SECTOR)


@case
def rr_special():
    # Expect success: "link" (SL), "dev" (PN), "fifo" (PX mode FIFO) are
    # SOURCE_NODE_OTHER; "file" is a 3-byte file; "odd", a directory
    # record whose PX mode says regular file, is OTHER and not entered.
    sl = susp(b'SL', b'\0' + b'\0\6target')
    pn = susp(b'PN', both32(8) + both32(1))
    entries = [
        rrfile(b'LINK;1', b'link', 0, 0, 0o120777, more=sl),
        rrfile(b'DEV;1', b'dev', 0, 0, 0o60644, more=pn),
        rrfile(b'FIFO;1', b'fifo', 0, 0, 0o10644),
        rrfile(b'FILE;1', b'file', 30, 3),
        dirrec(b'ODD', 31, SECTOR, 2, px(0o100444) + nm(b'odd')),
    ]
    return simple(entries, rr=True, files=[(30, b'abc')],
                  extra=[(31, directory(31, ROOT, []))])


@case
def extended_attributes():
    # Expect success: X.TXT has a one-block extended attribute record
    # (ECMA-119 6.4.4.1, 9.5): its 5 bytes "xattr" start at block 31, after
    # the record at block 30.
    return simple([dirrec(b'X.TXT;1', 30, 5, xar=1)],
                  files=[(30, b'\xff' * SECTOR), (31, b'xattr')])


@case
def zisofs():
    # Expect -ENOTSUP: a zisofs-compressed file (Rock Ridge ZF).
    zf = susp(b'ZF', b'pz' + bytes([4, 15]) + both32(100))
    return simple([rrfile(b'Z.TXT;1', b'z.txt', 30, 40, more=zf)], rr=True,
                  files=[(30, b'\0' * 40)])


@case
def ce_loop():
    # Expect -ELOOP: a continuation area whose CE points to itself.
    area = ce(30, 0, 28)
    return simple([rrfile(b'A;1', b'a', 31, 1, more=ce(30, 0, 28))],
                  rr=True, files=[(30, area), (31, b'x')])


@case
def ce_outside():
    # Expect -EIO: a CE continuation area past the end of the image.
    return simple([rrfile(b'A;1', b'a', 31, 1, more=ce(100000, 0, 100))],
                  rr=True, files=[(31, b'x')])


@case
def ce_shared():
    # Expect -EIO: 45 records whose CE all name one full-block continuation
    # area; each area is only 2 KiB, but together they are more than the
    # 80 KiB image holds (a shared chain multiplies the parsing work).
    # The plain names hold an ESC, which the error message must not show.
    area = susp(b'XX', b'') * (SECTOR // 4)
    recs = [rrfile(b'F%02d\x1b.TXT;1' % i, b'f%02d.txt' % i, 31, 1,
                   more=ce(30, 0, SECTOR)) for i in range(45)]
    return simple(recs, rr=True, root_size=4 * SECTOR,
                  files=[(30, area), (31, b'x')])


@case
def nm_continued():
    # Expect success: one file named "part-one-part-two-part-three.txt",
    # its NM split in three entries, the last in a continuation area.
    area = nm(b'part-three.txt')
    rec = dirrec(b'P.TXT;1', 31, 4, 0,
                 px(0o100444) + nm(b'part-one-', 1) + nm(b'part-two-', 1) +
                 ce(30, 100, len(area)))
    return simple([rec], rr=True, files=[(30, b'\0' * 100 + area),
                                         (31, b'data')])


@case
def multi_extent():
    # Expect success: BIG.BIN is 3 extents (ECMA-119 6.5.1, flag 0x80):
    # 2048 bytes of 'A' at block 30, 2048 of 'B' at 32, 100 of 'C' at 34;
    # SMALL.TXT sits in the gap at 31.  (In order: libarchive, the
    # cross-check, reads a stream and cannot go back.)
    entries = [dirrec(b'BIG.BIN;1', 30, SECTOR, 0x80),
               dirrec(b'BIG.BIN;1', 32, SECTOR, 0x80),
               dirrec(b'BIG.BIN;1', 34, 100, 0),
               dirrec(b'SMALL.TXT;1', 31, 2)]
    return simple(entries, files=[(30, b'A' * SECTOR), (31, b'ok'),
                                  (32, b'B' * SECTOR), (34, b'C' * 100)])


@case
def multi_extent_backwards():
    # Expect success: BIG.BIN's extents go backwards (blocks 32, 30):
    # 'B' * 2048 then 'A' * 10.
    entries = [dirrec(b'BIG.BIN;1', 32, SECTOR, 0x80),
               dirrec(b'BIG.BIN;1', 30, 10, 0)]
    return simple(entries, files=[(30, b'A' * 10), (32, b'B' * SECTOR)])


@case
def multi_extent_dos():
    # Expect -EIO "its parts add up to more than the image" (issue 15):
    # PDB.PDB is 64 parts that each cover the whole 40-block image, so it
    # declares 64 times the image; the real report had 65,536 parts and
    # 765 GB in 11.7 MB, hashed for 15 minutes.  Refused at the second
    # part, before any byte is read.
    nparts = 64
    entries = [dirrec(b'PDB.PDB;1', 0, 40 * SECTOR, 0x80)
               for _ in range(nparts - 1)]
    entries.append(dirrec(b'PDB.PDB;1', 0, 40 * SECTOR, 0))
    return simple(entries, root_size=4 * SECTOR)


@case
def multi_extent_overlap():
    # Expect -EIO "overlaps": BIG.BIN's second part (block 31) lies inside
    # its first (blocks 30-31); the parts add up to less than the image.
    entries = [dirrec(b'BIG.BIN;1', 30, 2 * SECTOR, 0x80),
               dirrec(b'BIG.BIN;1', 31, SECTOR, 0)]
    return simple(entries, files=[(30, b'A' * 2 * SECTOR)])


@case
def multi_extent_repeat():
    # Expect -EIO "repeats a part of": BIG.BIN is block 30 twice.
    entries = [dirrec(b'BIG.BIN;1', 30, SECTOR, 0x80),
               dirrec(b'BIG.BIN;1', 30, SECTOR, 0)]
    return simple(entries, files=[(30, b'A' * SECTOR)])


@case
def files_overlap():
    # Expect -EIO "overlaps": B.BIN (block 31) starts inside A.BIN (blocks
    # 30-31).  Not the same range, so not one content under two names.
    entries = [dirrec(b'A.BIN;1', 30, 2 * SECTOR),
               dirrec(b'B.BIN;1', 31, SECTOR)]
    return simple(entries, files=[(30, b'A' * 2 * SECTOR)])


@case
def shared_part():
    # Expect -EIO "is shared with, but the file differs from": X.BIN is
    # blocks 30 then 32, Y.BIN blocks 31 then 32.  Sharing a part without
    # being the same file would let N files each re-read one big part.
    entries = [dirrec(b'X.BIN;1', 30, SECTOR, 0x80),
               dirrec(b'X.BIN;1', 32, SECTOR, 0),
               dirrec(b'Y.BIN;1', 31, SECTOR, 0x80),
               dirrec(b'Y.BIN;1', 32, SECTOR, 0)]
    return simple(entries, files=[(30, b'X' * SECTOR), (31, b'Y' * SECTOR),
                                  (32, b'Z' * SECTOR)])


@case
def shared_extent():
    # Expect success: ONE.TXT and TWO.TXT are the same range (block 30, 4
    # bytes "same"), BIG1.BIN and BIG2.BIN the same two parts (block 32
    # 'B' * 2048, block 31 'A' * 10): what genisoimage -cache-inodes and
    # xorriso write for hard links and identical files.
    entries = [dirrec(b'BIG1.BIN;1', 32, SECTOR, 0x80),
               dirrec(b'BIG1.BIN;1', 31, 10, 0),
               dirrec(b'BIG2.BIN;1', 32, SECTOR, 0x80),
               dirrec(b'BIG2.BIN;1', 31, 10, 0),
               dirrec(b'ONE.TXT;1', 30, 4),
               dirrec(b'TWO.TXT;1', 30, 4)]
    return simple(entries, files=[(30, b'same'), (31, b'A' * 10),
                                  (32, b'B' * SECTOR)])


@case
def shared_too_often():
    # Expect -EIO "extents shared by too many names": one 40 KiB extent
    # under 200 names is 8,192,000 bytes from a 100 KiB image, more than
    # ISOFS_MAX_SHARING (64) times the image; an export would write it all.
    entries = [dirrec(b'F%03d.BIN;1' % i, 30, 20 * SECTOR) for i in range(200)]
    return simple(entries, root_size=5 * SECTOR,
                  files=[(30, b'S' * 20 * SECTOR)])


@case
def directory_dag():
    # Expect success: A and B are one directory extent (block 30) holding
    # F.TXT ("dag"): shared, not a loop; both list F.TXT.
    sub = directory(30, ROOT, [dirrec(b'F.TXT;1', 31, 3)])
    return simple([dirrec(b'A', 30, SECTOR, 2), dirrec(b'B', 30, SECTOR, 2)],
                  extra=[(30, sub), (31, b'dag')])


@case
def directory_dag_bomb():
    # Expect -EIO "shared too often": 24 levels, each a directory whose
    # two entries both point at the next level, would list 2^24
    # directories from 25 blocks.  The directory data read may not exceed
    # the image, so this stops after about the image's worth.
    levels = 24
    extra = []
    for i in range(levels):
        blk = 30 + i
        kids = [] if i == levels - 1 else \
            [dirrec(b'L', blk + 1, SECTOR, 2), dirrec(b'R', blk + 1, SECTOR, 2)]
        extra.append((blk, directory(blk, blk - 1 if i else ROOT, kids)))
    return simple([dirrec(b'TOP', 30, SECTOR, 2)], extra=extra)


@case
def multi_extent_broken():
    # Expect -EIO: a multi-extent chain interrupted by another name.
    entries = [dirrec(b'BIG.BIN;1', 30, SECTOR, 0x80),
               dirrec(b'OTHER.BIN;1', 31, 10, 0)]
    return simple(entries, files=[(30, b'A' * SECTOR), (31, b'B' * 10)])


@case
def multi_extent_unterminated():
    # Expect -EIO: the directory ends inside a multi-extent chain.
    return simple([dirrec(b'BIG.BIN;1', 30, SECTOR, 0x80)],
                  files=[(30, b'A' * SECTOR)])


@case
def interleaved():
    # Expect -ENOTSUP: an interleaved file (unit size 1, gap 1).
    return simple([dirrec(b'I.BIN;1', 30, 4096, 0, unit=1, gap=1)],
                  files=[(30, b'\0' * 6144)])


@case
def bad_record():
    # Expect -EIO: a record length (20) below the 34-byte minimum.
    img = bytearray(simple([dirrec(b'A.TXT;1', 30, 1)], files=[(30, b'a')]))
    off = ROOT * SECTOR + 34 * 2    # after "." and ".."
    img[off] = 20
    return bytes(img)


@case
def joliet_names():
    # Expect success, names "joliet": "snowman-\u2603.txt", "clef-\U0001d11e"
    # (a surrogate pair) and "ok;1" -> "ok"; an unpaired surrogate and an
    # odd-length name are skipped (2).
    def jrec(name_utf16, block, size):
        return dirrec(name_utf16, block, size)
    jentries = [
        jrec('snowman-\u2603.txt;1'.encode('utf-16-be'), 30, 1),
        jrec('clef-\U0001d11e;1'.encode('utf-16-be'), 30, 1),
        jrec('ok;1'.encode('utf-16-be'), 30, 1),
        jrec(b'\xd8\x00\x00a', 30, 1),
        jrec(b'\x00a\x00', 30, 1),
    ]
    img = Image()
    img.put(ROOT, directory(ROOT, ROOT, [dirrec(b'PLAIN.TXT;1', 30, 1)]))
    img.put(21, directory(21, 21, jentries))
    img.put(30, b'!')
    img.nsectors = 40
    img.put(16, vd(1, dirrec(b'\0', ROOT, SECTOR, 2), 40))
    img.put(17, vd(2, dirrec(b'\0', 21, SECTOR, 2), 40, escapes=b'%/E'))
    img.put(18, terminator())
    return img.bytes()


@case
def dates():
    # Expect success: modification date 2020-03-23 12:00:00 at GMT+1
    # (offset 4) = 1584961200; label "HOSTILE".
    return simple([], mdate=date17('2020032312000000', 4),
                  cdate=date17('2019010100000000', 0))


@case
def dates_creation_only():
    # Expect success: modification date unset (all '0'), creation date
    # 1999-12-31 23:59:59.00 GMT-5 (offset -20) = 946702799.
    return simple([], cdate=date17('1999123123595900', -20))


@case
def relocated():
    # Expect success: Rock Ridge relocation: "a" has CL -> block 31, the
    # real directory, listed under "rr_moved" with RE; "a/deep.txt" exists,
    # "rr_moved" is hidden.
    moved = directory(31, 30, [rrfile(b'DEEP.TXT;1', b'deep.txt', 32, 4)],
                      dot_su=px(0o40555))
    rr_moved = directory(30, ROOT, [dirrec(b'A', 31, SECTOR, 2,
                                           px(0o40555) + nm(b'a') +
                                           susp(b'RE', b''))])
    entries = [dirrec(b'A', 0, 0, 0, px(0o40555) + nm(b'a') +
                      susp(b'CL', both32(31))),
               dirrec(b'RR_MOVED', 30, SECTOR, 2, px(0o40555) +
                      nm(b'rr_moved'))]
    return simple(entries, rr=True, extra=[(30, rr_moved), (31, moved)],
                  files=[(32, b'deep')])


@case
def susp_malformed():
    # Expect success: an entry with length 2 ends SUSP parsing of the
    # record; the file keeps its plain name "BROKEN.TXT".
    bad = b'NM\x02\x01'
    return simple([dirrec(b'BROKEN.TXT;1', 30, 1, 0, bad)], rr=True,
                  files=[(30, b'!')])


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, 'isofs')
    os.makedirs(out, exist_ok=True)
    for name, fn in sorted(CASES.items()):
        with open(os.path.join(out, name), 'wb') as f:
            f.write(fn())
    return 0


if __name__ == '__main__':
    sys.exit(main())
