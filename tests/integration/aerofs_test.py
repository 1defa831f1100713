"""aerofs_test.py: shared helpers for the integration tests that really
mount aerofs (after sshfs's test/util.py).

- Daemon(source, ...) starts `aerofs SOURCE MNT -f -o notify_pipe=FIFO` and
  waits for the 's'/'f' byte (failing at once if the daemon exits);
  umount() runs `fusermount3 -u` and requires exit status 0; cleanup() is
  the failure path: lazy unmount, then kill.  Its stderr goes to a file and
  check_log() fails on unexpected error/warning/sanitizer lines.
- fixture(...) returns a generated virtio-win fixture: the build's tiny one
  when it exists and no special arguments are asked for, else one made with
  tests/fixtures/mkvirtiowin.py in a temporary directory.
- run_tests(globals()) runs every test_* function, prints TAP, and exits
  0 (pass), 1 (fail) or 77 (skip: no /dev/fuse, fusermount3 or binary).

Python 3 standard library only.
"""

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import traceback

BUILD = os.environ.get("AEROFS_BUILD_ROOT", "")
SOURCE_ROOT = os.environ.get(
    "AEROFS_SOURCE_ROOT",
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
        __file__)))))
FIXTURES = os.environ.get("AEROFS_FIXTURES", "")
AEROFS = os.path.join(BUILD, "fs", "aerofs")
EXPORT = os.path.join(BUILD, "export", "aerofs-export")
MKVIRTIOWIN = os.path.join(SOURCE_ROOT, "tests", "fixtures",
                           "mkvirtiowin.py")

CTL = ".aerofs"
ISO_NAME = "aero-win7-drivers.iso"
STATUS = os.path.join(CTL, "status.json")

# Daemon output that fails a test unless a test allows the exact line
# (libfuse test/cases README, sshfs conftest).
SUSPICIOUS = re.compile(r"error|warning|fatal|crash|abort|sanitizer|"
                        r"^==[0-9]+==|runtime error", re.I)

_tmp_root = None


class Skip(Exception):
    """Raised to skip the whole script (exit 77)."""


def tmpdir(prefix="aerofs-test-"):
    """A fresh directory removed at exit."""
    global _tmp_root
    if _tmp_root is None:
        _tmp_root = tempfile.mkdtemp(prefix=prefix)
    return tempfile.mkdtemp(dir=_tmp_root)


def require_fuse():
    if not os.path.exists("/dev/fuse"):
        raise Skip("no /dev/fuse")
    if not shutil.which("fusermount3"):
        raise Skip("no fusermount3")
    if not BUILD or not os.access(AEROFS, os.X_OK):
        raise Skip("aerofs not built (AEROFS_BUILD_ROOT=%r)" % BUILD)


def require_tool(name):
    if not shutil.which(name):
        raise Skip("%s not installed" % name)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def sha256(data):
    return hashlib.sha256(data).hexdigest()


WINPE = "$WinPEDriver$"


def with_winpe(files):
    """The files an image of a driver pack holds, from the pack's files
    {path: value}: the pack's, plus the $WinPEDriver$/<arch>/... copy of
    every win7/<arch>/... file that Windows Setup loads by itself."""
    out = dict(files)
    for p, v in files.items():
        if p.startswith("win7/"):
            out[WINPE + p[len("win7"):]] = v
    return out


_fixture_cache = {}


def fixture(*args):
    """Path of a fixture directory (fixture.json, tree/, *.iso).

    Without ARGS, the build's tiny fixture if it exists.  With ARGS
    (mkvirtiowin.py options such as "--seed", "2"), a generated one; the
    "rr" variant is always produced.
    """
    if not args and FIXTURES and os.path.exists(
            os.path.join(FIXTURES, "fixture.json")):
        return FIXTURES
    key = tuple(args)
    if key not in _fixture_cache:
        out = os.path.join(tmpdir(), "fixture")
        cmd = [sys.executable, MKVIRTIOWIN, "--out", out, "--scale",
               "tiny", "--variants", "rr"] + list(args)
        r = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise AssertionError("mkvirtiowin failed: %s"
                                 % r.stdout.decode(errors="replace"))
        _fixture_cache[key] = out
    return _fixture_cache[key]


def fixture_iso(fx, variant="rr"):
    with open(os.path.join(fx, "fixture.json")) as f:
        info = json.load(f)
    return os.path.join(fx, info["variants"][variant])


def is_mounted(mnt):
    mnt = os.path.realpath(mnt)
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[4].encode().decode("unicode_escape") == mnt:
                return True
    return False


class Daemon:
    """One aerofs process and its mountpoint."""

    def __init__(self, source, opts=(), args=(), mnt=None, env=None):
        self.source = source
        if mnt is None:
            mnt = os.path.join(tmpdir(), "mnt")
            os.mkdir(mnt)
        self.mnt = mnt
        d = tmpdir()
        self.fifo = os.path.join(d, "ready")
        self.logpath = os.path.join(d, "stderr")
        os.mkfifo(self.fifo)
        o = ["notify_pipe=" + self.fifo] + list(opts)
        self.cmd = [AEROFS, source, self.mnt, "-f", "-o", ",".join(o)]
        self.cmd += list(args)
        self.env = env
        self.proc = None
        # Fixtures without viosnd: the catalog's expected warning.
        self.allowed = [re.compile(r"optional driver '\w+' .*is missing")]
        # Extra known lines, e.g. while a module is unfinished.
        if os.environ.get("AEROFS_TEST_ALLOW"):
            self.allowed.append(re.compile(os.environ["AEROFS_TEST_ALLOW"]))

    def start(self, expect_ok=True, timeout=30):
        """Starts and waits for the notify byte; returns True if mounted."""
        self.log = open(self.logpath, "wb")
        self.proc = subprocess.Popen(self.cmd, stdout=self.log,
                                     stderr=self.log, env=self.env)
        fd = os.open(self.fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            end = time.monotonic() + timeout
            byte = b""
            while time.monotonic() < end:
                try:
                    byte = os.read(fd, 1)
                except BlockingIOError:
                    byte = b""
                if byte:
                    break
                if self.proc.poll() is not None:
                    # It may have written just before exiting.
                    try:
                        byte = os.read(fd, 1)
                    except BlockingIOError:
                        byte = b""
                    break
                time.sleep(0.02)
        finally:
            os.close(fd)
        self.notify_byte = byte
        ok = byte == b"s"
        if expect_ok and not ok:
            self.cleanup()
            raise AssertionError("aerofs did not mount (notify %r, exit %r):"
                                 "\n%s" % (byte, self.proc.returncode,
                                           self.stderr()))
        if ok and not is_mounted(self.mnt):
            self.cleanup()
            raise AssertionError("notify said mounted but %s is not"
                                 % self.mnt)
        return ok

    def stderr(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode(errors="replace")

    def allow(self, pattern):
        """Lets daemon lines matching PATTERN (a regex) through."""
        self.allowed.append(re.compile(pattern))

    def check_log(self):
        bad = []
        for line in self.stderr().splitlines():
            if SUSPICIOUS.search(line) and not any(
                    a.search(line) for a in self.allowed):
                bad.append(line)
        if bad:
            raise AssertionError("unexpected daemon output:\n"
                                 + "\n".join(bad))

    def path(self, *parts):
        return os.path.join(self.mnt, *parts)

    def status(self):
        with open(self.path(STATUS), "rb") as f:
            return json.loads(f.read())

    def umount(self):
        """Clean unmount: fusermount3 -u, daemon exit 0, log clean."""
        r = subprocess.run(["fusermount3", "-u", self.mnt],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            self.cleanup()
            raise AssertionError("fusermount3 -u failed: %s"
                                 % r.stdout.decode(errors="replace"))
        try:
            code = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.cleanup()
            raise AssertionError("aerofs did not exit after unmount")
        self.log.close()
        if code != 0:
            raise AssertionError("aerofs exited %d after unmount:\n%s"
                                 % (code, self.stderr()))
        self.check_log()

    def cleanup(self):
        """Failure path: lazy unmount, then kill; never raises."""
        if is_mounted(self.mnt):
            subprocess.run(["fusermount3", "-u", "-z", self.mnt],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if is_mounted(self.mnt):
            subprocess.run(["umount", "-l", self.mnt],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        with contextlib.suppress(Exception):
            self.log.close()


@contextlib.contextmanager
def mounted(source, opts=(), args=(), mnt=None):
    """with mounted(iso) as d: ...  -- unmounts cleanly, or cleans up."""
    d = Daemon(source, opts, args, mnt)
    d.start()
    try:
        yield d
    except BaseException:
        d.cleanup()
        for line in d.stderr().splitlines()[-60:]:
            print("# daemon: " + line)
        raise
    else:
        d.umount()


def walk(root):
    """{relative path: os.lstat} for everything under ROOT, ROOT itself
    as ""."""
    out = {"": os.lstat(root)}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            out[os.path.relpath(p, root)] = os.lstat(p)
    return out


def wait_for(pred, timeout=15.0, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def check_eq(got, want, what):
    if got != want:
        raise AssertionError("%s: expected %r got %r" % (what, want, got))


def run_tests(namespace, require=require_fuse):
    """Runs test_* functions of NAMESPACE in source order; TAP output.
    REQUIRE raises Skip when the whole script cannot run here."""
    tests = [(n, f) for n, f in namespace.items()
             if n.startswith("test_") and callable(f)]
    tests.sort(key=lambda t: t[1].__code__.co_firstlineno)
    try:
        require()
    except Skip as e:
        # TAP: a skip plan with status 0 is a skip (77 would be an error).
        print("1..0 # SKIP %s" % e)
        sys.exit(0)
    print("1..%d" % len(tests))
    failed = skipped = 0
    for i, (name, fn) in enumerate(tests, 1):
        try:
            fn()
        except Skip as e:
            skipped += 1
            print("ok %d - %s # SKIP %s" % (i, name, e))
        except Exception:
            failed += 1
            print("not ok %d - %s" % (i, name))
            for line in traceback.format_exc().splitlines():
                print("# " + line)
        else:
            print("ok %d - %s" % (i, name))
        sys.stdout.flush()
    if _tmp_root:
        shutil.rmtree(_tmp_root, ignore_errors=True)
    if failed:
        sys.exit(1)
    sys.exit(0)
