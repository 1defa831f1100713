#!/usr/bin/env python3
"""test_package.py: the Debian package, built the way a user builds it.

contrib/build-deb builds aerofs_<version>_<arch>.deb from a copy of the
source tree (DEB_BUILD_OPTIONS=nocheck: the unit tests run elsewhere);
the checks then use Debian's own tools on the result: lintian on the
.changes (source and binary), dpkg-deb for the control fields, `dpkg -x`
into a throwaway root whose programs are run (--version, completion,
a real mount through an fstab line naming the installed binary and
through the installed systemd unit's command line), `man -l` on the
installed man pages and systemd-analyze on the unit.

The whole script is skipped only where dpkg-buildpackage cannot run (not
installed, or the build dependencies are not); single mounts are skipped
without root, /dev/fuse or mount.fuse3.
"""

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import time

from aerofs_test import (SOURCE_ROOT, STATUS, Skip, check_eq, fixture,
                         fixture_iso, is_mounted, run_tests, tmpdir,
                         wait_for)

PROGRAMS = ["aerofs", "aerofs-export", "aerofs-catalog"]
BUILD_ENV = {"DEB_BUILD_OPTIONS": "nocheck parallel=2"}

_built = {}


def require_dpkg_buildpackage():
    for tool in ("dpkg-buildpackage", "dpkg-checkbuilddeps", "dh",
                 "dpkg-deb"):
        if not shutil.which(tool):
            raise Skip("dpkg-buildpackage cannot run: %s not installed "
                       "(contrib/setup installs it)" % tool)
    r = subprocess.run(["dpkg-checkbuilddeps", "-Pnocheck"],
                       cwd=SOURCE_ROOT, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    if r.returncode != 0:
        raise Skip("dpkg-buildpackage cannot run: %s"
                   % r.stdout.decode(errors="replace").strip())


def source_snapshot():
    """{path: (size, mtime_ns)} of the source tree minus build output."""
    snap = {}
    for dirpath, dirs, files in os.walk(SOURCE_ROOT):
        rel = os.path.relpath(dirpath, SOURCE_ROOT)
        if rel == ".":
            dirs[:] = [d for d in dirs if d != ".git" and
                       not d.startswith("build")]
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for n in dirs + files:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            snap[os.path.relpath(p, SOURCE_ROOT)] = (
                st.st_size if not os.path.isdir(p) else 0, st.st_mtime_ns)
    return snap


def project_version():
    with open(os.path.join(SOURCE_ROOT, "meson.build")) as f:
        m = re.search(r"project\([^)]*?version:\s*'([^']+)'", f.read(),
                      re.S)
    if not m:
        raise AssertionError("no version in meson.build")
    return m.group(1)


def built():
    """Builds once; returns {deb, changes, root, version, arch, log}."""
    if "error" in _built:
        raise AssertionError("package build failed earlier")
    if _built:
        return _built
    out = tmpdir()
    before = source_snapshot()
    env = dict(os.environ, **BUILD_ENV)
    env.pop("MAKEFLAGS", None)
    env.pop("DESTDIR", None)
    r = subprocess.run([os.path.join(SOURCE_ROOT, "contrib", "build-deb"),
                        "--no-lintian", out], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=900)
    log = r.stdout.decode(errors="replace")
    if r.returncode != 0:
        _built["error"] = True
        raise AssertionError("contrib/build-deb failed (%d):\n%s"
                             % (r.returncode, "\n".join(
                                 log.splitlines()[-60:])))
    version = project_version()
    arch = subprocess.run(["dpkg", "--print-architecture"],
                          stdout=subprocess.PIPE, check=True
                          ).stdout.decode().strip()
    deb = os.path.join(out, "aerofs_%s_%s.deb" % (version, arch))
    changes = os.path.join(out, "aerofs_%s_%s.changes" % (version, arch))
    for p in (deb, changes):
        if not os.path.exists(p):
            _built["error"] = True
            raise AssertionError("%s not built; %s has %s" % (
                os.path.basename(p), out, sorted(os.listdir(out))))
    root = tmpdir()
    subprocess.run(["dpkg", "-x", deb, root], check=True)
    _built.update(deb=deb, changes=changes, root=root, version=version,
                  arch=arch, log=log, before=before,
                  after=source_snapshot())
    return _built


def installed(*parts):
    return os.path.join(built()["root"], *parts)


def control_field(name):
    r = subprocess.run(["dpkg-deb", "-f", built()["deb"], name],
                       stdout=subprocess.PIPE, check=True)
    return r.stdout.decode().strip()


def run(cmd, **kw):
    kw.setdefault("timeout", 60)
    return subprocess.run(cmd, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, **kw)


# ---- the build --------------------------------------------------------------

def test_build_from_clean_copy():
    b = built()
    before, after = b["before"], b["after"]
    changed = sorted(p for p in set(before) | set(after)
                     if before.get(p) != after.get(p))
    check_eq(changed, [], "source tree changed by the package build")


def test_lintian():
    if not shutil.which("lintian"):
        raise AssertionError("lintian not installed (contrib/setup)")
    r = run(["lintian", "--info", "--display-info", "--pedantic",
             "--fail-on", "error,warning", built()["changes"]],
            timeout=600)
    out = r.stdout.decode(errors="replace").splitlines()
    for line in out or ["(no tags)"]:
        print("# lintian: " + line)
    bad = [l for l in out if l.startswith(("E:", "W:"))]
    check_eq(bad, [], "lintian errors and warnings")
    check_eq(r.returncode, 0, "lintian exit status: %s"
             % r.stderr.decode(errors="replace"))


# ---- what is in it ----------------------------------------------------------

def test_package_name_and_version():
    b = built()
    check_eq(control_field("Package"), "aerofs", "Package")
    check_eq(control_field("Version"), b["version"], "Version")
    check_eq(control_field("Architecture"), b["arch"], "Architecture")


def test_versions_match_package():
    want = control_field("Version")
    for prog in PROGRAMS:
        r = run([installed("usr", "bin", prog), "--version"])
        check_eq(r.returncode, 0, "%s --version exit" % prog)
        first = r.stdout.decode().splitlines()[0]
        check_eq(first, "%s %s" % (prog, want), "%s --version" % prog)


def test_depends():
    deps = [d.strip().split()[0] for d in
            control_field("Depends").split(",")]
    for want in ("fuse3", "libfuse3-3", "libarchive13", "libcjson1",
                 "libssl3", "libc6"):
        if want not in deps:
            raise AssertionError("Depends lacks %s: %s" % (want, deps))
    # The package's dependencies are real packages, installed here where
    # its programs just ran.
    for d in deps:
        r = run(["dpkg-query", "-W", "-f", "${Status}", d])
        if b"install ok installed" not in r.stdout:
            raise AssertionError("dependency %s is not an installed "
                                 "package" % d)


def test_files():
    want = ["usr/bin/" + p for p in PROGRAMS]
    want += ["usr/share/man/man1/%s.1.gz" % p for p in PROGRAMS]
    want += ["usr/share/doc/aerofs/examples/" + e for e in
             ("fstab.example", "aerofs.service", "aerofs.conf.example")]
    want += ["usr/share/doc/aerofs/copyright",
             "usr/share/doc/aerofs/changelog.gz",
             "lib/systemd/system/aerofs@.service",
             "usr/share/bash-completion/completions/aerofs"]
    missing = [p for p in want if not os.path.isfile(installed(p))]
    check_eq(missing, [], "files missing from the package")
    for p in PROGRAMS[1:]:
        link = installed("usr/share/bash-completion/completions", p)
        check_eq(os.readlink(link), "aerofs", "completion symlink " + p)
    # The examples name the installed daemon, not /usr/local/bin.
    for unit in ("usr/share/doc/aerofs/examples/aerofs.service",
                 "lib/systemd/system/aerofs@.service"):
        with open(installed(unit)) as f:
            execs = [l for l in f if l.startswith("ExecStart=")]
        check_eq(len(execs), 1, unit + " ExecStart lines")
        check_eq(execs[0].split("=", 1)[1].split()[0], "/usr/bin/aerofs",
                 unit + " ExecStart program")


def test_man_pages_render():
    if not shutil.which("man"):
        raise AssertionError("man (man-db) not installed (contrib/setup)")
    env = dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="",
               LC_ALL="C.UTF-8")
    for p in PROGRAMS:
        page = installed("usr/share/man/man1/%s.1.gz" % p)
        r = run(["man", "--warnings", "-l", page], env=env)
        err = r.stderr.decode(errors="replace")
        check_eq(r.returncode, 0, "man -l %s: %s" % (p, err))
        check_eq(err.strip(), "", "man -l %s warnings" % p)
        text = r.stdout.decode(errors="replace")
        if not re.search(r"^NAME\n\s+%s\s+-\s+" % re.escape(p), text, re.M):
            raise AssertionError("man -l %s: no NAME line:\n%s"
                                 % (p, text[:400]))
        # The footer's source is the package: .TH's "aerofs <version>".
        footer = text.rstrip().splitlines()[-1]
        if "aerofs " + built()["version"] not in footer:
            raise AssertionError("man -l %s: footer %r, not version %s"
                                 % (p, footer, built()["version"]))
        for section in ("SYNOPSIS", "DESCRIPTION", "SEE ALSO"):
            if not re.search(r"^%s$" % section, text, re.M):
                raise AssertionError("man -l %s: no %s" % (p, section))


# ---- bash completion --------------------------------------------------------

def complete(prog, line, loader=False):
    """Candidates bash offers for LINE (cursor at its end), using the
    installed completion of PROG.  With LOADER, bash-completion itself
    finds the file by command name under the throwaway root."""
    root = built()["root"]
    if loader:
        setup = ('export XDG_DATA_DIRS=%s; '
                 '. /usr/share/bash-completion/bash_completion; '
                 '_completion_loader %s; '
                 % (shlex.quote(os.path.join(root, "usr", "share")),
                    shlex.quote(prog)))
    else:
        setup = ". %s; " % shlex.quote(os.path.join(
            root, "usr/share/bash-completion/completions", prog))
    script = setup + (
        'COMP_LINE=$1; COMP_POINT=${#1}; '
        'read -r -a COMP_WORDS <<<"$1"; COMP_CWORD=${#COMP_WORDS[@]}; '
        '[[ $1 == *" " ]] || COMP_CWORD=$((COMP_CWORD - 1)); '
        'f=$(complete -p %s | sed -n "s/.* -F \\([^ ]*\\) .*/\\1/p"); '
        '[ -n "$f" ] || { echo "no completion for %s" >&2; exit 3; }; '
        '"$f" %s "${COMP_WORDS[COMP_CWORD]}" '
        '"${COMP_WORDS[COMP_CWORD-1]}"; '
        'printf "%%s\\n" "${COMPREPLY[@]}"' % (prog, prog, prog))
    r = run(["bash", "--norc", "--noprofile", "-c", script, "bash", line])
    if r.returncode != 0:
        raise AssertionError("completing %r: %s" % (
            line, r.stderr.decode(errors="replace")))
    return [l for l in r.stdout.decode().splitlines() if l]


def help_long_options(prog):
    r = run([installed("usr", "bin", prog), "--help"])
    check_eq(r.returncode, 0, prog + " --help")
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)",
                          r.stdout.decode()))


def test_completion_options_match_help():
    for prog in ("aerofs-export", "aerofs-catalog"):
        offered = set(complete(prog, prog + " --"))
        documented = help_long_options(prog)
        check_eq(sorted(documented - offered), [],
                 prog + ": --help options not completed")
        check_eq(sorted(offered - documented), [],
                 prog + ": completed options not in --help")


def test_completion_values():
    cases = [
        ("aerofs-export", "aerofs-export --format ",
         ["zip", "dir", "iso", "img", "vhd", "chunked"]),
        ("aerofs-export", "aerofs-export -f i", ["iso", "img"]),
        # "=" is in COMP_WORDBREAKS: bash completes the text after it.
        ("aerofs-export", "aerofs-export --format=z", ["zip"]),
        ("aerofs-export", "aerofs-export --drivers viostor,net",
         ["viostor,netkvm"]),
        ("aerofs-export", "aerofs-export --drivers viostor,netkvm,",
         ["viostor,netkvm,vioinput", "viostor,netkvm,viosnd"]),
        ("aerofs-export", "aerofs-export -o drop-pdb,la",
         ["drop-pdb,label="]),
        ("aerofs-catalog", "aerofs-catalog -o dr", ["drivers=", "drop-pdb"]),
        ("aerofs-catalog", "aerofs-catalog --options=drivers=viostor\\,n",
         ["viostor\\,netkvm"]),
        ("aerofs", "aerofs src mnt -o allow_other,nos",
         ["allow_other,nosplice"]),
    ]
    for prog, line, want in cases:
        check_eq(complete(prog, line), want, "completing %r" % line)
    # SOURCE and OUTPUT are file names.
    d = tmpdir()
    open(os.path.join(d, "virtio-win-0.1.iso"), "w").close()
    check_eq(complete("aerofs-export", "aerofs-export %s/virtio" % d),
             ["%s/virtio-win-0.1.iso" % d], "completing a file name")


def test_completion_loaded_by_bash_completion():
    if not os.path.exists("/usr/share/bash-completion/bash_completion"):
        raise Skip("bash-completion not installed")
    for prog in PROGRAMS:
        got = complete(prog, prog + " --versi", loader=True)
        check_eq(got, ["--version"], "bash-completion loading " + prog)


# ---- mounting with the installed files --------------------------------------

def require_mount():
    if os.geteuid() != 0:
        raise Skip("mount(8) with a helper needs root")
    if not os.path.exists("/dev/fuse"):
        raise Skip("no /dev/fuse")
    for tool in ("mount", "umount", "fusermount3"):
        if not shutil.which(tool):
            raise Skip("%s not installed" % tool)
    if not (os.path.exists("/sbin/mount.fuse") or
            os.path.exists("/sbin/mount.fuse3")):
        raise Skip("no mount.fuse3")


def daemon_of(mnt):
    """PID and executable of the daemon serving MNT."""
    with open(os.path.join(mnt, STATUS), "rb") as f:
        pid = json.loads(f.read())["pid"]
    return pid, os.readlink("/proc/%d/exe" % pid)


def wait_gone(pid):
    end = time.monotonic() + 20
    while os.path.exists("/proc/%d" % pid) and time.monotonic() < end:
        time.sleep(0.05)
    check_eq(os.path.exists("/proc/%d" % pid), False, "daemon exited")


def test_fstab_line_with_installed_helper():
    require_mount()
    daemon = installed("usr", "bin", "aerofs")
    iso = fixture_iso(fixture())
    d = tmpdir()
    mnt = os.path.join(d, "mnt")
    os.mkdir(mnt)
    # mount.fuse3(8): type "fuse", source "PROGRAM#SOURCE".
    fstab = os.path.join(d, "fstab")
    with open(fstab, "w") as f:
        f.write("%s#%s %s fuse ro,allow_other,nofail,drop-pdb 0 0\n"
                % (daemon, iso, mnt))
    r = subprocess.run(["mount", "-T", fstab, mnt], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    check_eq(r.returncode, 0, "mount -T fstab: %s"
             % r.stdout.decode(errors="replace"))
    try:
        with open("/proc/self/mountinfo") as f:
            line = [l for l in f if " %s " % mnt in l][0]
        if " - fuse.aerofs " not in line:
            raise AssertionError("mountinfo: " + line)
        pid, exe = daemon_of(mnt)
        check_eq(exe, os.path.realpath(daemon), "daemon executable")
        check_eq(sorted(os.listdir(os.path.join(mnt, "win7"))),
                 ["amd64", "x86"], "win7/")
    except BaseException:
        subprocess.run(["umount", "-l", mnt])
        raise
    r = subprocess.run(["umount", mnt], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    check_eq(r.returncode, 0, "umount: %s" % r.stdout.decode())
    wait_gone(pid)
    check_eq(is_mounted(mnt), False, "still mounted")


def env_file(path):
    """KEY=value assignments of a systemd EnvironmentFile (the subset the
    example uses: comments, bare and single-quoted values)."""
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            k, v = line.split("=", 1)
            if len(v) >= 2 and v[0] == v[-1] == "'":
                v = v[1:-1]
            env[k] = v
    return env


def test_systemd_unit_verifies():
    if not shutil.which("systemd-analyze"):
        raise Skip("systemd-analyze not installed")
    d = tmpdir()
    unit = os.path.join(d, "aerofs@test.service")
    shutil.copy(installed("lib/systemd/system/aerofs@.service"), unit)
    r = run(["systemd-analyze", "verify", "--man=no", unit])
    out = (r.stdout + r.stderr).decode(errors="replace").splitlines()
    # Only complaint allowed: the daemon is not installed on this host.
    bad = [l for l in out if not (
        "Command /usr/bin/aerofs is not executable" in l and
        not os.path.exists("/usr/bin/aerofs"))]
    check_eq(bad, [], "systemd-analyze verify")


def test_systemd_unit_command_line():
    """Runs aerofs@test.service's ExecStartPre/ExecStart as systemd would
    (environment from the example instance file, ${VAR} as one argument,
    the installed daemon), then stops it with SIGTERM like systemctl stop."""
    require_mount()
    with open(installed("lib/systemd/system/aerofs@.service")) as f:
        unit = dict(l.rstrip("\n").split("=", 1) for l in f
                    if re.match(r"^(Environment|EnvironmentFile|"
                                r"ExecStartPre|ExecStart|KillSignal)=", l))
    check_eq(unit.get("EnvironmentFile"), "/etc/aerofs/%i.conf",
             "EnvironmentFile")
    check_eq(unit.get("KillSignal"), None, "KillSignal (SIGTERM)")
    env = dict(l.split("=", 1) for l in [unit["Environment"]])
    env.update(env_file(installed(
        "usr/share/doc/aerofs/examples/aerofs.conf.example")))
    check_eq(sorted(env), ["MOUNTPOINT", "OPTIONS", "SOURCE"],
             "instance variables")
    d = tmpdir()
    env["SOURCE"] = fixture_iso(fixture())
    env["MOUNTPOINT"] = os.path.join(d, "mnt with space")

    def argv(line):
        words = []
        for w in line.split():
            m = re.fullmatch(r"\$\{(\w+)\}", w)
            words.append(env[m.group(1)] if m else w)
        if words[0] == "/usr/bin/aerofs":
            words[0] = installed("usr", "bin", "aerofs")
        return words

    subprocess.run(argv(unit["ExecStartPre"]), check=True)
    mnt = env["MOUNTPOINT"]
    log = open(os.path.join(d, "journal"), "wb")
    proc = subprocess.Popen(argv(unit["ExecStart"]), stdout=log,
                            stderr=log)
    try:
        wait_for(lambda: is_mounted(mnt) or proc.poll() is not None,
                 30, "the unit's mount")
        check_eq(is_mounted(mnt), True, "mounted by the unit's command")
        pid, exe = daemon_of(mnt)
        check_eq(pid, proc.pid, "daemon stays in the foreground (-f)")
        check_eq(exe, os.path.realpath(installed("usr/bin/aerofs")),
                 "daemon executable")
        proc.send_signal(signal.SIGTERM)
        check_eq(proc.wait(timeout=20), 0, "exit status after SIGTERM")
        check_eq(is_mounted(mnt), False, "unmounted after SIGTERM")
    finally:
        if is_mounted(mnt):
            subprocess.run(["fusermount3", "-u", "-z", mnt])
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()


if __name__ == "__main__":
    run_tests(globals(), require=require_dpkg_buildpackage)
