#!/usr/bin/env python3
"""test_export.py: aerofs-export end to end on the generated fixture.

Exports every virtio-win ISO variant of $AEROFS_FIXTURES and its extracted
tree to .zip, .iso and a directory, then reads every output back with
independent readers (zipfile, bsdtar, 7z, isoinfo, a directory walk):
the files and their SHA-256 equal the output's own manifest.json and
agree across variants and formats.  Also: the same bytes from two runs with
different TZ and umask; SOURCE_DATE_EPOCH in the ISO and ZIP dates; a
directory export re-exported gives the same bytes; failures (full disk,
read-only directory, truncated source, existing directory, SIGINT, also
SIGINT right before the rename) exit non-zero with a message and leave
nothing behind.

TAP through aerofs_test.run_tests; skipped as a whole without the
fixture, the binary, bsdtar or isoinfo.
"""
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import zipfile

from aerofs_test import EXPORT, FIXTURES, Skip, require_tool, run_tests
from aerofs_test import WINPE, sha256, sha256_file, tmpdir, with_winpe

# check() records a failure and goes on, so that one run shows every
# mismatch; each test fails if it recorded any (see export_test()).
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL: " + what, file=sys.stderr)
    return cond


def run(args, env=None, umask=None, **kw):
    def pre():
        if umask is not None:
            os.umask(umask)
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([EXPORT] + args, env=e, preexec_fn=pre,
                          capture_output=True, text=True, **kw)


def walk(root):
    """{relative path: sha256} of the regular files under ROOT."""
    out = {}
    for d, _, files in os.walk(root):
        for name in files:
            p = os.path.join(d, name)
            out[os.path.relpath(p, root)] = sha256_file(p)
    return out


def zip_files(path):
    out = {}
    with zipfile.ZipFile(path) as z:
        check(z.testzip() is None, path + ": zipfile CRC check")
        for i in z.infolist():
            if not i.filename.endswith("/"):
                out[i.filename] = sha256(z.read(i))
    return out


def extract(tool, image, tmp):
    d = tempfile.mkdtemp(dir=tmp)
    if tool == "bsdtar":
        cmd = ["bsdtar", "-xf", image, "-C", d]
    else:
        cmd = ["7z", "x", "-y", "-o" + d, image]
    r = subprocess.run(cmd, capture_output=True, text=True)
    check(r.returncode == 0, "%s %s: %s" % (tool, image, r.stderr))
    return walk(d)


def manifest_of(files_map, read):
    """Checks the output's manifest.json against its own files."""
    m = json.loads(read("manifest.json"))
    listed = {f["path"]: f["sha256"] for f in m["files"]}
    rest = {p: h for p, h in files_map.items() if p != "manifest.json"}
    check(listed == rest, "manifest files == output files (%d vs %d)"
          % (len(listed), len(rest)))
    for f in m["files"]:
        check(f["size"] >= 0, "manifest size")
    return m


def export_all(tmp):
    """Exports every source to every format; returns {source: {fmt: map}}."""
    fixture = json.load(open(os.path.join(FIXTURES, "fixture.json")))
    sources = {v: os.path.join(FIXTURES, iso)
               for v, iso in sorted(fixture["variants"].items())}
    sources["tree"] = os.path.join(FIXTURES, "tree")
    results = {}
    for name, src in sources.items():
        res = {}
        for fmt, out in (("zip", "%s.zip" % name), ("iso", "%s.iso" % name),
                         ("dir", "%s.d" % name)):
            out = os.path.join(tmp, out)
            r = run(["--json", "--quiet", src, out])
            if not check(r.returncode == 0, "export %s -> %s: %s"
                         % (name, fmt, r.stderr.strip())):
                continue
            summary = json.loads(r.stdout)
            check(summary["format"] == fmt, "json format")
            check(summary["output"] == out, "json output")
            if fmt == "dir":
                files = walk(out)
                check(summary["sha256"] is None, "dir has no sha256")
                manifest_of(files, lambda p: open(os.path.join(out, p)).read())
            else:
                check(summary["size"] == os.path.getsize(out), "json size")
                check(summary["sha256"] == sha256_file(out), "json sha256")
                if fmt == "zip":
                    files = zip_files(out)
                    with zipfile.ZipFile(out) as z:
                        manifest_of(files,
                                    lambda p: z.read(p).decode())
                else:
                    image = extract("bsdtar", out, tmp)
                    if shutil.which("7z"):
                        check(extract("7z", out, tmp) == image,
                              "%s: 7z (Joliet) == bsdtar (Rock Ridge)" % out)
                    # The pack, and its drivers again in $WinPEDriver$.
                    files = {p: h for p, h in image.items()
                             if not p.startswith(WINPE + "/")}
                    check(image == with_winpe(files),
                          "%s: $WinPEDriver$ mirrors win7/" % out)
                    m = manifest_of(files, lambda p: _iso_read(out, p))
                    label = m["image"]["label"]
                    info = subprocess.run(["isoinfo", "-d", "-i", out],
                                          capture_output=True, text=True)
                    check("Volume id: %s\n" % label.upper() in info.stdout,
                          "%s: volume id %s" % (out, label))
            check(summary["files"] == len(files), "%s: json files %d vs %d"
                  % (out, summary["files"], len(files)))
            check(summary["label"] == "AERO_W7_DRIVERS", "json label")
            res[fmt] = files
        if check(len(res) == 3, name + ": all formats"):
            check(res["zip"] == res["iso"] == res["dir"],
                  name + ": zip, iso and dir hold the same files")
        results[name] = res
    return results


def _iso_read(image, path):
    r = subprocess.run(["bsdtar", "-xOf", image, path], capture_output=True)
    return r.stdout.decode()


def test_variants(tmp):
    results = export_all(tmp)
    # Every ISO flavour of one source gives the same pack except
    # manifest.json, which names its source.  The extracted tree lacks the
    # volume label (so README and notices omit the version): compare its
    # upstream files only.  The plain ISO has 8.3 upper-case names (the
    # catalog's business): compare its upstream contents, not names.
    def files(name, upstream):
        return {p: h for p, h in results.get(name, {}).get("zip", {}).items()
                if p != "manifest.json" and (not upstream or
                                             p.startswith(("win7/",
                                                           "licenses/")))}
    base = files("rr", False)
    check(len(base) > 10, "rr export has files")
    for name in results:
        if name in ("tree", "plain"):
            up = files(name, True)
            ref = files("rr", True)
            if name == "tree":
                check(up == ref, "tree and rr: same upstream files")
            else:   # 8.3 also shortens the licence file names
                check(sorted(h for p, h in up.items()
                             if p.startswith("win7/")) ==
                      sorted(h for p, h in ref.items()
                             if p.startswith("win7/")),
                      "plain and rr: same driver contents")
        else:
            check(files(name, False) == base,
                  "%s and rr export the same files" % name)


def test_determinism(tmp):
    src = os.path.join(FIXTURES, "virtio-win-rr-joliet.iso")
    for fmt in ("zip", "iso"):
        a = os.path.join(tmp, "det-a." + fmt)
        b = os.path.join(tmp, "det-b." + fmt)
        r1 = run(["-q", src, a], env={"TZ": "America/New_York"}, umask=0o022)
        time.sleep(1.1)
        r2 = run(["-q", src, b], env={"TZ": "Asia/Kolkata", "LANG":
                                      "C.UTF-8"}, umask=0o077)
        check(r1.returncode == 0 and r2.returncode == 0, "det runs")
        check(sha256_file(a) == sha256_file(b),
              fmt + ": same bytes across TZ, umask and wall clock")
    # a directory export re-exported is the same pack, byte for byte
    d = os.path.join(tmp, "det.d")
    check(run(["-q", src, d]).returncode == 0, "det dir")
    for fmt in ("zip", "iso"):
        again = os.path.join(tmp, "det-again." + fmt)
        check(run(["-q", d, again]).returncode == 0, "re-export")
        check(sha256_file(again) == sha256_file(
            os.path.join(tmp, "det-a." + fmt)), fmt + ": dir re-export")


def test_source_date_epoch(tmp):
    src = os.path.join(FIXTURES, "tree")
    env = {"SOURCE_DATE_EPOCH": "1234567890"}      # 2009-02-13 23:31:30
    z = os.path.join(tmp, "sde.zip")
    i = os.path.join(tmp, "sde.iso")
    r = run(["-q", "--json", src, z], env=env)
    check(r.returncode == 0 and json.loads(r.stdout)["epoch"] == 1234567890,
          "SOURCE_DATE_EPOCH in the summary")
    with zipfile.ZipFile(z) as zf:
        check(all(x.date_time == (2009, 2, 13, 23, 31, 30)
                  for x in zf.infolist()), "zip dates from SOURCE_DATE_EPOCH")
    check(run(["-q", src, i], env=env).returncode == 0, "sde iso")
    info = subprocess.run(["isoinfo", "-d", "-debug", "-i", i],
                          capture_output=True).stdout.decode(errors="replace")
    check("Creation Date:     2009 02 13 23:31:30.00" in info,
          "iso dates from SOURCE_DATE_EPOCH")
    # --epoch wins over the environment
    r = run(["-q", "--json", "--epoch", "1600000000", src,
             os.path.join(tmp, "e.zip")], env=env)
    check(r.returncode == 0 and json.loads(r.stdout)["epoch"] == 1600000000,
          "--epoch over SOURCE_DATE_EPOCH")
    r = run(["-q", src, os.path.join(tmp, "bad.zip")],
            env={"SOURCE_DATE_EPOCH": "yesterday"})
    check(r.returncode != 0 and not os.path.exists(
        os.path.join(tmp, "bad.zip")), "malformed SOURCE_DATE_EPOCH fails")


def leftovers(d):
    return [n for n in os.listdir(d) if n != "lost+found"]


def test_failures(tmp):
    src = os.path.join(FIXTURES, "virtio-win-rr.iso")
    # truncated source: a clear error, no output, no temporary
    trunc = os.path.join(tmp, "trunc")
    os.mkdir(trunc)
    bad = os.path.join(trunc, "truncated.iso")
    with open(src, "rb") as f, open(bad, "wb") as g:
        g.write(f.read(os.path.getsize(src) // 3))
    for out in ("t.zip", "t.iso", "t.d"):
        r = run(["-q", bad, os.path.join(trunc, out)])
        check(r.returncode != 0 and "aerofs-export" in r.stderr,
              "truncated source fails with a message: " + out)
    check(leftovers(trunc) == ["truncated.iso"],
          "nothing left after a failed export: %s" % leftovers(trunc))

    # existing directory without --force
    d = os.path.join(tmp, "exists.d")
    os.mkdir(d)
    open(os.path.join(d, "keep"), "w").close()
    r = run(["-q", src, d])
    check(r.returncode != 0 and "--force" in r.stderr, "refuses existing dir")
    check(os.listdir(d) == ["keep"], "existing dir untouched")
    r = run(["-q", "--force", src, d])
    check(r.returncode == 0 and "manifest.json" in os.listdir(d)
          and "keep" not in os.listdir(d), "--force replaces the dir")
    check(not [n for n in os.listdir(tmp) if n.startswith(".exists.d.")],
          "old tree removed after --force")

    # a control character in what an error quotes reaches no terminal
    r = run(["-q", os.path.join(tmp, "no\x1b[8mthere.iso"),
             os.path.join(tmp, "esc.zip")])
    check(r.returncode == 1 and "\x1b" not in r.stderr and
          "\\x1b" in r.stderr.lower(),
          "escaped error message: %r" % r.stderr)

    # usage errors
    check(run([]).returncode == 2, "no arguments: exit 2")
    check(run(["--format", "tar", src, "x"]).returncode == 2, "bad format")
    r = run(["--version"])
    check(r.returncode == 0 and r.stdout.startswith("aerofs-export "),
          "--version")
    check("--no-rock-ridge" in run(["--help"]).stdout, "--help")

    if os.geteuid() != 0:
        print("# not root: tmpfs checks skipped")
        return
    mnt = os.path.join(tmp, "small")
    os.mkdir(mnt)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48k", "tmpfs",
                       mnt]).returncode != 0:
        print("# cannot mount tmpfs: full-disk checks skipped")
        return
    try:
        for out in ("full.zip", "full.iso", "full.d"):
            r = run(["-q", src, os.path.join(mnt, out)])
            check(r.returncode != 0 and "No space left" in r.stderr,
                  "full disk: %s fails with ENOSPC: %s"
                  % (out, r.stderr.strip()))
            check(leftovers(mnt) == [], "full disk: nothing left (%s)"
                  % leftovers(mnt))
        subprocess.run(["mount", "-o", "remount,ro", mnt], check=True)
        r = run(["-q", src, os.path.join(mnt, "ro.zip")])
        check(r.returncode != 0 and "Read-only" in r.stderr,
              "read-only directory: " + r.stderr.strip())
        check(leftovers(mnt) == [], "read-only: nothing left")
    finally:
        subprocess.run(["umount", mnt])


def test_interrupt(tmp):
    """SIGINT in the middle of writing: exit non-zero, no temporary left."""
    src = os.path.join(tmp, "bigtree")
    shutil.copytree(os.path.join(FIXTURES, "tree"), src, symlinks=True)
    # a large incompressible driver file makes the export take seconds
    big = os.path.join(src, "viostor", "w7", "amd64", "viostor.pdb")
    with open(big, "wb") as f:
        for _ in range(96):
            f.write(os.urandom(1 << 20))
    out_dir = os.path.join(tmp, "intr")
    os.mkdir(out_dir)
    for out in ("i.zip", "i.iso", "i.d"):
        p = subprocess.Popen([EXPORT, "-q", src, os.path.join(out_dir, out)],
                             stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 30
        while time.time() < deadline and not os.listdir(out_dir):
            time.sleep(0.01)
        started = bool(os.listdir(out_dir))
        p.send_signal(2)
        _, err = p.communicate()
        if not started:
            print("# %s: export finished before the signal" % out)
            continue
        check(p.returncode != 0, "%s: interrupted export fails" % out)
        check("cancel" in err or "interrupt" in err,
              "%s: says it was interrupted: %s" % (out, err.strip()))
        check(os.listdir(out_dir) == [], "%s: nothing left after SIGINT: %s"
              % (out, os.listdir(out_dir)))


def test_interrupt_at_commit(tmp):
    """SIGINT while the finished temporary is synced, just before the
    rename: the export fails and OUTPUT is not created.  strace delivers
    the signal on the sync call, a window no progress check covers."""
    if not shutil.which("strace"):
        print("# strace missing: commit interrupt checks skipped")
        return
    src = os.path.join(FIXTURES, "virtio-win-rr.iso")
    out_dir = os.path.join(tmp, "commit")
    os.mkdir(out_dir)
    env = dict(os.environ)
    # LeakSanitizer cannot run under ptrace (sanitizer builds)
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") +
                           ":detect_leaks=0").lstrip(":")
    for out in ("c.zip", "c.iso", "c.d"):
        r = subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null",
                            "-e", "trace=fsync,syncfs",
                            "-e", "inject=fsync,syncfs:signal=SIGINT",
                            EXPORT, "-q", src, os.path.join(out_dir, out)],
                           capture_output=True, text=True, env=env)
        if r.stderr.startswith("strace: "):
            print("# strace cannot trace here: " + r.stderr.strip())
            return
        check(r.returncode == 1 and "interrupt" in r.stderr,
              "%s: interrupted at commit fails (%d): %s"
              % (out, r.returncode, r.stderr.strip()))
        check(os.listdir(out_dir) == [], "%s: nothing written: %s"
              % (out, os.listdir(out_dir)))


def test_refuses_clobbering(tmp):
    """OUTPUT that is the input, inside it, containing it, or not a
    regular file: refused with a message, nothing touched."""
    iso = os.path.join(tmp, "src.iso")
    shutil.copyfile(os.path.join(FIXTURES, "virtio-win-rr.iso"), iso)
    tree = os.path.join(tmp, "dsrc")
    shutil.copytree(os.path.join(FIXTURES, "tree"), tree)
    before_iso = sha256_file(iso)
    before_tree = sorted(os.listdir(tree))
    fifo = os.path.join(tmp, "fifo")
    os.mkfifo(fifo)
    cases = [
        ([iso, iso], "is the source"),
        (["-f", "zip", iso, iso], "is the source"),
        (["--force", tree, tree], "is the source"),
        ([tree, os.path.join(tree, "out.zip")], "inside the source"),
        (["--force", tree, os.path.join(tree, "sub")], "inside the source"),
        (["--force", tree, tmp], "contains the source"),
        (["-f", "zip", iso, fifo], "not a regular file"),
        (["-f", "zip", iso, "/dev/null"], "not a regular file"),
    ]
    for args, why in cases:
        r = run(["-q"] + args)
        check(r.returncode == 1 and why in r.stderr,
              "%s refused (%s): %d %s" % (args, why, r.returncode,
                                          r.stderr.strip()))
    check(sha256_file(iso) == before_iso, "source ISO untouched")
    check(sorted(os.listdir(tree)) == before_tree, "source tree untouched")
    check(stat.S_ISCHR(os.stat("/dev/null").st_mode), "/dev/null intact")
    check(stat.S_ISFIFO(os.stat(fifo).st_mode), "fifo intact")


def _stopped(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0] == "T"


def _flip_inside(iso, needle):
    """Rewrites ISO in place (same inode, same size): one byte of the
    first occurrence of NEEDLE changes, as a downloader rewriting a
    preallocated file would."""
    with open(iso, "r+b") as f:
        data = f.read()
        at = data.index(needle)
        f.seek(at)
        f.write(bytes([data[at] ^ 0x20]))


def test_source_rewritten_during_export(tmp):
    """Deterministic: the export stops itself after its first chunk
    (AEROFS_TEST_STOP_AT), the source is rewritten in place, the export
    continues and must fail with no OUTPUT; the same run untouched
    succeeds."""
    tree = os.path.join(FIXTURES, "tree")
    inf = None
    for d, _, files in os.walk(tree):
        for n in files:
            if n.lower() == "viostor.inf" and "amd64" in d.lower() \
                    and "w7" in d.lower():
                inf = os.path.join(d, n)
    check(inf is not None, "fixture has a Win7 amd64 viostor.inf")
    needle = open(inf, "rb").read()[-64:]
    for fmt in ("zip", "iso", "dir"):
        for rewrite in (False, True):
            iso = os.path.join(tmp, "src-%s-%d.iso" % (fmt, rewrite))
            shutil.copyfile(os.path.join(FIXTURES, "virtio-win-rr.iso"),
                            iso)
            out = os.path.join(tmp, "out-%s-%d.%s" % (fmt, rewrite, fmt))
            e = dict(os.environ, AEROFS_TEST_STOP_AT="1")
            p = subprocess.Popen([EXPORT, "-q", "-f", fmt, iso, out],
                                 env=e, stderr=subprocess.PIPE, text=True)
            end = time.monotonic() + 30
            while not _stopped(p.pid) and p.poll() is None \
                    and time.monotonic() < end:
                time.sleep(0.01)
            check(p.poll() is None, "%s: export stopped itself" % fmt)
            if rewrite:
                _flip_inside(iso, needle)
            os.kill(p.pid, signal.SIGCONT)
            err = p.communicate(timeout=60)[1]
            if rewrite:
                check(p.returncode == 1 and "changed" in err,
                      "%s: rewritten source fails (%d): %s"
                      % (fmt, p.returncode, err.strip()))
                check(not os.path.exists(out), "%s: no OUTPUT" % fmt)
                check(not [n for n in os.listdir(tmp)
                           if n.startswith(".out-")],
                      "%s: no temporary left" % fmt)
            else:
                check(p.returncode == 0 and os.path.exists(out),
                      "%s: untouched source exports (%d): %s"
                      % (fmt, p.returncode, err.strip()))


def test_source_rewritten_free_running(tmp):
    """Free-running, bounded: while a writer keeps rewriting the source in
    place, every export either fails with no OUTPUT or writes a ZIP whose
    files match its own manifest.json."""
    iso = os.path.join(tmp, "busy.iso")
    shutil.copyfile(os.path.join(FIXTURES, "virtio-win-rr.iso"), iso)
    data = open(iso, "rb").read()
    stop = []

    def writer():
        k = 0
        while not stop:
            with open(iso, "r+b") as f:
                at = len(data) // 2 + (k * 4099) % (len(data) // 3)
                f.seek(at)
                f.write(bytes([data[at] ^ (1 + k % 255)]))
            k += 1
            time.sleep(0.002)
    t = threading.Thread(target=writer)
    t.start()
    try:
        for i in range(10):
            out = os.path.join(tmp, "busy-%d.zip" % i)
            r = run(["-q", iso, out])
            if r.returncode == 0:
                files = zip_files(out)
                with zipfile.ZipFile(out) as z:
                    manifest_of(files, lambda p: z.read(p).decode())
            else:
                check(not os.path.exists(out), "failed export left %s"
                      % out)
    finally:
        stop.append(1)
        t.join()


def test_pack_unlike_its_manifest_is_refused(tmp):
    """A pack source whose files differ from its manifest.json (what a
    mount read across a reload gives): aerofs-export refuses it, with no
    OUTPUT, rather than publish a manifest that lies."""
    src = os.path.join(FIXTURES, "virtio-win-rr.iso")
    tree = os.path.join(tmp, "pack")
    r = run(["-q", src, tree])
    check(r.returncode == 0, "export a pack: " + r.stderr)
    victim = None
    for d, _, files in sorted(os.walk(os.path.join(tree, "win7"))):
        for n in sorted(files):
            if n.endswith(".sys"):
                victim = victim or os.path.join(d, n)
    with open(victim, "r+b") as f:
        b = f.read(1)
        f.seek(0)
        f.write(bytes([b[0] ^ 1]))
    for fmt in ("zip", "iso", "dir"):
        out = os.path.join(tmp, "from-changed." + fmt)
        r = run(["-q", "-f", fmt, tree, out])
        check(r.returncode == 1 and "differ from the pack's manifest" in
              r.stderr, "%s: changed pack refused (%d): %s"
              % (fmt, r.returncode, r.stderr.strip()))
        check(not os.path.exists(out), "%s: no OUTPUT" % fmt)


def require():
    if not os.path.exists(EXPORT):
        raise Skip("%s not built" % EXPORT)
    if not os.path.exists(os.path.join(FIXTURES, "fixture.json")):
        raise Skip("no fixture at %r" % FIXTURES)
    for tool in ("bsdtar", "isoinfo"):
        require_tool(tool)


def export_test(fn):
    """A test of run_tests() from FN(tmp): fails with every check() FN
    recorded."""
    def test():
        before = len(failures)
        fn(tmpdir("aerofs-test-export-"))
        if len(failures) > before:
            raise AssertionError("; ".join(failures[before:]))
    test.__code__ = test.__code__.replace(
        co_firstlineno=fn.__code__.co_firstlineno)
    return test


if __name__ == "__main__":
    run_tests({name: export_test(fn) for name, fn in list(globals().items())
               if name.startswith("test_") and callable(fn)},
              require=require)
