#!/usr/bin/env python3
"""test_catalog.py: aerofs-catalog on generated virtio-win fixtures.

Runs the real tool on the images and trees of tests/fixtures/mkvirtiowin.py
and checks the pack it describes against the fixture's own ground truth
(fixture.json): the same files with the same SHA-256 from every ISO
variant and from the extracted tree, the selection rules of the reference
pipeline (anchor-packaging.md §2, §10 cases 1-4 and 6-8 where they apply),
the INF/catalog facts, the exit codes and the error messages, and
byte-identical manifests whatever the time zone or locale.

Python 3 standard library only; TAP output; exit 0, 1 or 77 (skip: tool
not built).
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from aerofs_test import Skip, run_tests

BUILD = os.environ.get("AEROFS_BUILD_ROOT", "")
SOURCE_ROOT = os.environ.get(
    "AEROFS_SOURCE_ROOT",
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
        __file__)))))
FIXTURES = os.environ.get("AEROFS_FIXTURES", "")
TOOL = os.path.join(BUILD, "catalog", "aerofs-catalog")
MKVIRTIOWIN = os.path.join(SOURCE_ROOT, "tests", "fixtures",
                           "mkvirtiowin.py")
VARIANTS = ["rr", "rr-joliet", "xorriso", "joliet", "plain"]
ARCHES = {"win7-x86": "x86", "win7-amd64": "amd64"}
UPSTREAM = {"viostor": "viostor", "netkvm": "NetKVM", "vioinput": "vioinput",
            "viosnd": "viosnd"}

_tmp = tempfile.mkdtemp(prefix="aerofs-catalog-test-")
_fixtures = {}


def fixture(*args, variants="rr"):
    """A fixture directory: the build's tiny one, or one generated here."""
    if not args and variants == ",".join(VARIANTS) and FIXTURES and \
            os.path.exists(os.path.join(FIXTURES, "fixture.json")):
        return FIXTURES
    key = (args, variants)
    if key not in _fixtures:
        out = os.path.join(_tmp, "fx%d" % len(_fixtures))
        cmd = [sys.executable, MKVIRTIOWIN, "--out", out, "--scale", "tiny",
               "--variants", variants] + list(args)
        r = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        assert r.returncode == 0, r.stdout.decode(errors="replace")
        _fixtures[key] = out
    return _fixtures[key]


def full_fixture():
    return fixture(variants=",".join(VARIANTS))


def meta(fx):
    with open(os.path.join(fx, "fixture.json")) as f:
        return json.load(f)


def iso(fx, variant="rr"):
    return os.path.join(fx, meta(fx)["variants"][variant])


def run(*args, env=None):
    """(exit status, stdout, stderr) of aerofs-catalog ARGS."""
    e = dict(os.environ)
    e.pop("SOURCE_DATE_EPOCH", None)
    e.update(env or {})
    r = subprocess.run([TOOL] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=e, timeout=120)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def manifest(*args, env=None):
    rc, out, err = run("--json", *args, env=env)
    assert rc == 0, "exit %d: %s" % (rc, err)
    assert out.endswith("}\n"), "manifest does not end in a newline"
    return json.loads(out), out


def files_of(m):
    return {f["path"]: (f["size"], f["sha256"]) for f in m["files"]}


def expect_fail(rc, err, code, *needles):
    assert rc == code, "exit %d, expected %d: %s" % (rc, code, err)
    assert err.startswith("aerofs-catalog: error: ") or code == 1, err
    for n in needles:
        assert n in err, "%r not in stderr: %s" % (n, err)


def details(m, name):
    for d in m["driver_results"]:
        if d["name"] == name:
            return d
    raise AssertionError("no driver_results entry for " + name)


# ---- the pack ---------------------------------------------------------------


def test_same_pack_every_variant():
    """Every ISO variant and the tree give the same driver files."""
    fx = full_fixture()
    packs = {v: manifest(iso(fx, v))[0] for v in VARIANTS}
    packs["tree"] = manifest(os.path.join(fx, "tree"))[0]
    ref = files_of(packs["rr"])
    assert "manifest.json" not in ref
    for v in ["rr-joliet", "xorriso", "joliet"]:
        assert files_of(packs[v]) == ref, "%s differs from rr" % v
    # the tree has no volume label, hence no version in README/notices
    tree = files_of(packs["tree"])
    same = {p for p in ref if p not in ("README.txt",
                                        "THIRD_PARTY_NOTICES.md")}
    assert {p: tree[p] for p in same} == {p: ref[p] for p in same}
    assert set(tree) == set(ref)
    # plain ISO9660: 8.3 uppercase names (VIOHIDKM.SYS), same driver bytes
    def by_dir(files):
        out = {}
        for p, v in files.items():
            if p.startswith("win7/"):
                out.setdefault(os.path.dirname(p).lower(), []).append(v)
        return {k: sorted(v) for k, v in out.items()}
    assert by_dir(files_of(packs["plain"])) == by_dir(ref)
    assert "win7/amd64/netkvm/NETKVM.INF" in files_of(packs["plain"])
    assert any("8.3" in w for w in packs["plain"]["warnings"])
    assert not any("8.3" in w for w in packs["rr"]["warnings"])
    for v, m in packs.items():
        assert m["drivers"] == ["netkvm", "vioinput", "viostor"], v


def test_files_match_fixture():
    """Pack files are exactly the upstream Win7 folders, bytes unchanged."""
    fx = full_fixture()
    truth = {f["path"]: f for f in meta(fx)["files"]}
    w7 = meta(fx)["w7"]
    m, _ = manifest(iso(fx, "rr"))
    got = {p: v for p, v in files_of(m).items() if p.startswith("win7/")}
    want = {}
    for drv in ["viostor", "netkvm", "vioinput"]:
        for arch in ["x86", "amd64"]:
            src = w7[UPSTREAM[drv]][arch] + "/"
            for p, f in truth.items():
                if p.startswith(src):
                    want["win7/%s/%s/%s" % (arch, drv, p[len(src):])] = (
                        f["size"], f["sha256"])
    assert got == want, sorted(set(got.items()) ^ set(want.items()))[:5]
    assert any(p.endswith(".pdb") for p in got), "pdb kept by default"
    lic = "licenses/virtio-win/virtio-win_license.txt"
    assert files_of(m)[lic] == (truth["virtio-win_license.txt"]["size"],
                                truth["virtio-win_license.txt"]["sha256"])
    for p in ["README.txt", "THIRD_PARTY_NOTICES.md", "install.cmd",
              "enable-testsigning.cmd", "config/devices.cmd"]:
        assert p in files_of(m), p
    # --tree lists the same files with the same sizes, plus manifest.json
    rc, out, err = run("--tree", iso(fx, "rr"))
    assert rc == 0, err
    tree = {}
    for line in out.splitlines():
        size, path = line.split(None, 1)
        if size != "-":
            tree[path] = int(size)
    assert "manifest.json" in tree
    del tree["manifest.json"]
    assert tree == {p: v[0] for p, v in files_of(m).items()}


def test_scripts_are_the_sources():
    """The pack's install.cmd and enable-testsigning.cmd are
    catalog/stage/scripts/ expanded by the build's generator (the shared
    storage pre-seeding pasted in), CRLF, byte for byte."""
    fx = fixture()
    m, _ = manifest(iso(fx, "rr"))
    scripts = os.path.join(SOURCE_ROOT, "catalog", "stage", "scripts")
    for name in ["install.cmd", "enable-testsigning.cmd"]:
        out = os.path.join(_tmp, "expanded-" + name)
        subprocess.run([sys.executable,
                        os.path.join(scripts, "gen_winscripts.py"),
                        "--expand", os.path.join(scripts, name), out],
                       check=True)
        with open(out, "rb") as f:
            data = f.read()
        assert files_of(m)[name] == (len(data),
                                     hashlib.sha256(data).hexdigest()), name
        assert b"\n" not in data.replace(b"\r\n", b""), name
        assert data.isascii(), name
    with open(os.path.join(_tmp, "expanded-install.cmd"), "rb") as f:
        data = f.read()
    assert b"CriticalDeviceDatabase" in data and b"#include" not in data


def test_drop_pdb():
    fx = full_fixture()
    m, _ = manifest("-o", "drop-pdb", iso(fx))
    assert not [p for p in files_of(m) if p.lower().endswith(".pdb")]
    assert [p for p in files_of(m) if p.endswith(".sys")]
    assert m["options"]["drop_pdb"] is True


# ---- the manifest -------------------------------------------------------------


def test_manifest_fields():
    fx = full_fixture()
    fj = meta(fx)
    m, text = manifest(iso(fx, "rr"))
    assert list(m)[:6] == ["schema_version", "pack", "generator",
                           "created_utc", "epoch", "epoch_source"]
    assert m["pack"] == "aero-win7-driver-pack"
    assert m["generator"].startswith("aerofs ")
    assert m["epoch"] == fj["epoch"] and m["epoch_source"] == "volume"
    assert m["created_utc"] == "2019-06-08T13:20:00Z" or \
        fj["epoch"] != 1560000000
    s = m["source"]
    assert s["kind"] == "iso" and s["name"] == os.path.basename(iso(fx))
    assert s["names"] == "rockridge"
    assert s["volume_label"] == fj["label"]
    assert s["derived_version"] == fj["version"]
    assert s["size"] == os.path.getsize(iso(fx)) and s["hash"] is None
    assert s["license_notice_files_copied"] == ["virtio-win_license.txt"]
    assert m["image"]["label"] == "AERO_W7_DRIVERS"
    assert m["drivers_requested"] == ["viostor", "netkvm", "viosnd",
                                      "vioinput"]
    assert m["targets"] == ["win7-x86", "win7-amd64"]
    assert [d["name"] for d in m["optional_drivers_missing"]] == ["viosnd"]
    assert m["optional_drivers_missing_any"] is True
    assert _tmp not in text and "/tmp" not in text, "host path leaked"
    paths = [f["path"] for f in m["files"]]
    assert paths == sorted(paths, key=lambda p: p.encode())
    for name in ["viostor", "netkvm", "vioinput"]:
        d = details(m, name)
        assert d["status"] == "included" and d["errors"] == {}
        assert d["included_targets"] == ["win7-x86", "win7-amd64"]
        for tgt, arch in ARCHES.items():
            t = d["details"][tgt]
            src = fj["w7"][UPSTREAM[name]][arch]
            assert t["source_path"] == src
            assert t["os_dir"] == "w7" and t["arch_dir"] == arch
            inf = fj["inf"]["%s/%s.inf" % (src, name)]
            i = t["inf"]
            date, ver = inf["driver_ver"].split(",")
            assert (i["driver_date"], i["driver_version"]) == (date, ver)
            assert i["services"] == inf["services"], i["services"]
            assert i["hardware_ids"] == inf["hwids"]
            assert i["catalog_file"] == inf["catalog"]
            assert i["provider"] == "Red Hat, Inc."
            cat = fj["cat"]["%s/%s" % (src, inf["catalog"])]
            c = t["catalog"]
            assert c["digest"] == cat["member_digest"] == "sha1"
            assert c["os"] == cat["os"]
            assert c["covers_inf"] is True
            assert "Red Hat" in (c["signer"] or "")
            assert all(k["ok"] for k in i["checks"]), i["checks"]
            names = [k["name"] for k in i["checks"]]
            for want in ["inf_parse", "referenced_files", "arch_decoration",
                         "binds_device", "catalog_present",
                         "catalog_covers_inf", "catalog_win7_digest"]:
                assert want in names, (want, names)
    blk = details(m, "viostor")["details"]["win7-amd64"]["inf"]["binds"]
    assert {b["device"] for b in blk} == {"virtio-blk"}
    inp = details(m, "vioinput")["details"]["win7-x86"]["inf"]["binds"]
    assert {"virtio-keyboard", "virtio-mouse"} <= {b["device"] for b in inp}
    assert m["checks"]["failed"] == 0 and m["checks"]["total"] >= 42


def test_tree_manifest():
    fx = full_fixture()
    m, text = manifest(os.path.join(fx, "tree"))
    s = m["source"]
    assert s["kind"] == "directory" and s["names"] == "directory"
    assert s["volume_label"] is None and s["size"] is None
    # no label: the epoch comes from the newest catalog signing time
    assert m["epoch_source"] == "catalog"
    assert m["epoch"] == meta(fx)["epoch"]


def test_source_hash_and_label():
    fx = full_fixture()
    m, _ = manifest("-o", "source-hash,label=MY_DRIVERS", iso(fx))
    with open(iso(fx), "rb") as f:
        want = hashlib.sha256(f.read()).hexdigest()
    assert m["source"]["hash"] == {"algorithm": "sha256", "value": want}
    assert m["image"]["label"] == "MY_DRIVERS"


def test_deterministic_across_tz_and_locale():
    fx = full_fixture()
    _, a = manifest(iso(fx), env={"TZ": "UTC", "LC_ALL": "C"})
    _, b = manifest(iso(fx), env={"TZ": "Pacific/Kiritimati",
                                  "LC_ALL": "de_DE.UTF-8",
                                  "LANG": "tr_TR.UTF-8"})
    assert a == b
    _, c = manifest(os.path.join(fx, "tree"), env={"TZ": "America/St_Johns"})
    _, d = manifest(os.path.join(fx, "tree"), env={"TZ": "UTC"})
    assert c == d


def test_epoch_precedence():
    fx = full_fixture()
    m, _ = manifest(iso(fx), env={"SOURCE_DATE_EPOCH": "123"})
    assert (m["epoch"], m["epoch_source"]) == (123, "SOURCE_DATE_EPOCH")
    assert m["created_utc"] == "1970-01-01T00:02:03Z"
    m, _ = manifest("-o", "epoch=-5", iso(fx),
                    env={"SOURCE_DATE_EPOCH": "123"})
    assert (m["epoch"], m["epoch_source"]) == (-5, "option")
    rc, out, err = run(iso(fx), env={"SOURCE_DATE_EPOCH": "yesterday"})
    expect_fail(rc, err, 2, "SOURCE_DATE_EPOCH", "yesterday")


# ---- selection rules ----------------------------------------------------------


def test_partial_optional():
    """§10 case 4: an optional driver for one arch only is dropped."""
    fx = fixture("--omit", "vioinput/w7/amd64")
    m, _ = manifest(iso(fx))
    d = details(m, "vioinput")
    assert d["status"] == "missing" and d["included_targets"] == []
    assert d["missing_targets"] == ["win7-x86", "win7-amd64"]
    assert list(d["errors"]) == ["win7-amd64", "win7-x86"]
    assert "omitted from pack because the optional driver was missing" \
        in d["errors"]["win7-x86"]
    assert any("'vioinput' (vioinput) was present only for win7-x86; "
               "omitting it from all targets" in w for w in m["warnings"])
    assert not [p for p in files_of(m) if "/vioinput/" in p]
    assert m["drivers"] == ["netkvm", "viostor"]
    # strict-optional: an error listing each missing optional driver
    rc, out, err = run("-o", "strict-optional", iso(fx))
    expect_fail(rc, err, 3, "optional drivers were requested but are "
                "missing", "- vioinput: missing for win7-amd64",
                "- viosnd: missing for win7-x86, win7-amd64",
                "drivers=viostor,netkvm")
    assert out == ""
    # only the required drivers: nothing optional, nothing missing
    m, _ = manifest("-o", "drivers=viostor,netkvm", iso(fx))
    assert m["drivers_requested"] == ["viostor", "netkvm"]
    assert m["optional_drivers_missing"] == []
    assert m["optional_drivers_missing_any"] is False
    rc, out, err = run("-o", "strict-optional,drivers=viostor,netkvm",
                       iso(fx))
    assert rc == 0, err


def test_with_viosnd():
    fx = fixture("--with-viosnd")
    m, _ = manifest("-o", "strict-optional", iso(fx))
    assert m["drivers"] == ["netkvm", "vioinput", "viosnd", "viostor"]
    b = details(m, "viosnd")["details"]["win7-amd64"]["inf"]["binds"]
    assert {x["device"] for x in b} == {"virtio-snd"}, b


def test_driver_list_errors():
    fx = full_fixture()
    rc, out, err = run("-o", "drivers=viostor+netkvm+foo", iso(fx))
    expect_fail(rc, err, 2, "unknown driver(s) requested: foo",
                "supported: viostor, netkvm, viosnd, vioinput")
    # after drivers=, a bare word continues the list only if it is an id
    rc, out, err = run("-o", "drivers=viostor,netkvm,foo", iso(fx))
    expect_fail(rc, err, 2, "unknown option 'foo'; accepted: "
                "drivers=ID+ID..., strict-optional, drop-pdb")
    rc, out, err = run("-o", "drivers=viostor,drop_pdb", iso(fx))
    expect_fail(rc, err, 2, "unknown option 'drop_pdb'; the spelling is "
                "drop-pdb")
    # one grammar: '+', the escaped comma and the split list agree
    lists = ["drivers=viostor+netkvm+vioinput",
             "drivers=viostor\\,netkvm\\,vioinput",
             "drivers=viostor,netkvm,vioinput"]
    texts = {manifest("-o", l, iso(fx))[1] for l in lists}
    assert len(texts) == 1
    assert json.loads(texts.pop())["drivers_requested"] == \
        ["viostor", "netkvm", "vioinput"]
    rc, out, err = run("-o", "drivers=viostor\\,vioinput", iso(fx))
    expect_fail(rc, err, 2, "this driver pack requires: viostor, netkvm",
                "missing from drivers=: netkvm")
    rc, out, err = run("-o", "drivers=", iso(fx))
    expect_fail(rc, err, 2, "empty drivers= list")
    # ids are trimmed, lowercased and deduplicated, order kept
    m, _ = manifest("-o", "drivers= NetKVM ,VIOSTOR,netkvm", iso(fx))
    assert m["drivers_requested"] == ["netkvm", "viostor"]


def test_missing_required():
    """A required driver missing for one target names it and what was tried."""
    fx = fixture("--omit", "NetKVM/w7/amd64", variants="rr,plain")
    for source in [iso(fx, "rr"), os.path.join(fx, "tree")]:
        rc, out, err = run(source)
        expect_fail(rc, err, 3, "required driver 'netkvm' (NetKVM) "
                    "missing for: win7-amd64", "tried: amd64, x64")
        assert out == ""
    rc, out, err = run(iso(fx, "plain"))
    expect_fail(rc, err, 3, "required driver 'netkvm' (NetKVM) missing "
                "for: win7-amd64", "'NETKVM/W7'")
    fx = fixture("--omit", "viostor")
    rc, out, err = run(iso(fx))
    expect_fail(rc, err, 3, "required driver 'viostor' (viostor) missing "
                "for: win7-x86, win7-amd64", "could not find driver "
                "directory 'viostor'")


def test_os_dir_names():
    """§10 case 1: w7.1 wins, and its ISO9660 spellings resolve."""
    fx = fixture("--os-dir-name", "viostor=w7.1", "--os-dir-name",
                 "NetKVM=W7_1", variants="rr,xorriso,plain")
    for v in ["rr", "xorriso"]:
        m, _ = manifest(iso(fx, v))
        t = details(m, "viostor")["details"]["win7-amd64"]
        assert (t["os_dir"], t["source_path"]) == (
            "w7.1", "viostor/w7.1/amd64"), t["source_path"]
        t = details(m, "netkvm")["details"]["win7-x86"]
        assert t["source_path"] == "NetKVM/W7_1/x86", t["source_path"]
    m, _ = manifest(iso(fx, "plain"))
    t = details(m, "viostor")["details"]["win7-x86"]
    assert t["os_dir"].lower() in ("w7.1", "w7_1"), t["os_dir"]
    assert "win7/x86/viostor/VIOSTOR.INF" in files_of(m)


def test_inf_encodings():
    """§10 cases 3 and 6: UTF-16 INFs and AddService with a comment."""
    fx = fixture("--inf-encoding", "NetKVM/amd64=utf16le",
                 "--inf-encoding", "viostor/x86=utf16be-bom",
                 "--inf-encoding", "vioinput/amd64=utf8-bom")
    m, _ = manifest(iso(fx))
    net = details(m, "netkvm")["details"]["win7-amd64"]["inf"]
    assert net["encoding"] == "utf-16le" and net["services"] == ["netkvm"]
    sto = details(m, "viostor")["details"]["win7-x86"]["inf"]
    assert sto["encoding"] == "utf-16be-bom"
    # "AddService = viostor, 0x00000002, ... ; boot-critical"
    assert sto["services"] == ["viostor"]
    inp = details(m, "vioinput")["details"]["win7-amd64"]["inf"]
    assert inp["encoding"] == "utf-8-bom"
    for d in ["netkvm", "viostor", "vioinput"]:
        for t in details(m, d)["details"].values():
            assert all(k["ok"] for k in t["inf"]["checks"]), t["inf"]
    assert m["checks"]["failed"] == 0


def test_arch_dir_names():
    """i386/x64 arch folders resolve; the pack keeps win7/x86, win7/amd64."""
    fx = fixture("--arch-dir-name", "NetKVM/amd64=x64",
                 "--arch-dir-name", "NetKVM/x86=i386",
                 "--arch-dir-name", "viostor/amd64=X64",
                 variants="rr,plain")
    fj = meta(fx)
    assert fj["w7"]["NetKVM"] == {"x86": "NetKVM/w7/i386",
                                  "amd64": "NetKVM/w7/x64"}, fj["w7"]
    truth = {f["path"]: (f["size"], f["sha256"]) for f in fj["files"]}
    want = {("netkvm", "win7-amd64"): ("NetKVM/w7/x64", "x64"),
            ("netkvm", "win7-x86"): ("NetKVM/w7/i386", "i386"),
            ("viostor", "win7-amd64"): ("viostor/w7/X64", "X64"),
            ("viostor", "win7-x86"): ("viostor/w7/x86", "x86")}
    for source in [iso(fx, "rr"), os.path.join(fx, "tree")]:
        m, _ = manifest(source)
        got = files_of(m)
        for (name, tgt), (src, arch_dir) in want.items():
            t = details(m, name)["details"][tgt]
            pack = "win7/%s/%s" % (ARCHES[tgt], name)
            assert (t["source_path"], t["os_dir"], t["arch_dir"],
                    t["pack_path"]) == (src, "w7", arch_dir, pack), t
            assert t["catalog"]["covers_inf"] is True
            assert all(k["ok"] for k in t["inf"]["checks"]), t["inf"]
            # the folder's files, bytes unchanged, under the pack path
            mine = {p[len(pack) + 1:]: v for p, v in got.items()
                    if p.startswith(pack + "/")}
            theirs = {p[len(src) + 1:]: v for p, v in truth.items()
                      if p.startswith(src + "/")}
            assert mine and mine == theirs, (name, tgt)
        assert not [p for p in got if "x64" in p.lower().split("/") or
                    "i386" in p.lower().split("/")], sorted(got)
        assert m["drivers"] == ["netkvm", "vioinput", "viostor"]
        assert m["checks"]["failed"] == 0
    # plain ISO9660: uppercase 8.3 folder names, same pack paths
    m, _ = manifest(iso(fx, "plain"))
    t = details(m, "netkvm")["details"]["win7-x86"]
    assert (t["source_path"], t["arch_dir"], t["pack_path"]) == (
        "NETKVM/W7/I386", "I386", "win7/x86/netkvm"), t
    assert "win7/amd64/netkvm/NETKVM.INF" in files_of(m)
    assert "win7/x86/netkvm/NETKVM.INF" in files_of(m)


def test_no_license():
    """No root license/notice: a warning, no licenses/ in the pack."""
    warning = ("no upstream license or notice files were found at the "
               "root of the virtio-win source")
    fx = fixture("--no-license")
    assert "virtio-win_license.txt" not in {
        f["path"] for f in meta(fx)["files"]}
    m, _ = manifest(iso(fx))
    assert warning in m["warnings"], m["warnings"]
    assert m["source"]["license_notice_files_copied"] == []
    assert not [p for p in files_of(m) if p.startswith("licenses/")]
    assert "THIRD_PARTY_NOTICES.md" in files_of(m)
    assert m["drivers"] == ["netkvm", "vioinput", "viostor"]
    rc, out, err = run("--tree", iso(fx))
    assert rc == 0, err
    assert not [ln for ln in out.splitlines()
                if ln.split(None, 1)[1].startswith("licenses")], out
    # a warning, not a failed check
    rc, out, err = run("--check", iso(fx))
    assert rc == 0, (rc, err)
    assert "  - " + warning in out
    # the default fixture has the notice and no such warning
    m, _ = manifest(iso(full_fixture()))
    assert warning not in m["warnings"]
    assert "licenses/virtio-win/virtio-win_license.txt" in files_of(m)
    export = os.path.join(BUILD, "export", "aerofs-export")
    if os.access(export, os.X_OK):
        out = os.path.join(_tmp, "no-license-pack")
        r = subprocess.run([export, iso(fx), out], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        assert r.returncode == 0, r.stderr.decode()
        assert not os.path.exists(os.path.join(out, "licenses"))
        with open(os.path.join(out, "THIRD_PARTY_NOTICES.md"), "rb") as f:
            text = f.read().decode()
        assert "carried no license or\r\nnotice file at its root" in text


def test_win7_sha256():
    """A SHA-256-only Win7 catalog fails catalog_win7_digest (KB3033929)."""
    fx = fixture("--win7-sha256", "netkvm")
    fj = meta(fx)
    m, _ = manifest(iso(fx))
    for name in ["viostor", "netkvm", "vioinput"]:
        for tgt, arch in ARCHES.items():
            t = details(m, name)["details"][tgt]
            src = fj["w7"][UPSTREAM[name]][arch]
            cat = fj["cat"]["%s/%s.cat" % (src, name)]
            assert t["catalog"]["digest"] == cat["member_digest"]
            assert t["catalog"]["covers_inf"] is True
            assert t["catalog"]["os"] == cat["os"]
            checks = {k["name"]: k for k in t["inf"]["checks"]}
            dig = checks["catalog_win7_digest"]
            if name == "netkvm":
                assert cat["member_digest"] == "sha256"
                assert dig["ok"] is False and "KB3033929" in dig["detail"], \
                    dig
            else:
                assert cat["member_digest"] == "sha1"
                assert dig["ok"] is True, dig
            others = [k for n, k in checks.items()
                      if n != "catalog_win7_digest"]
            assert all(k["ok"] for k in others), others
    assert m["checks"]["failed"] == 2
    digest = [w for w in m["warnings"] if "catalog_win7_digest" in w]
    assert sorted(w.split(":")[0] for w in digest) == [
        "netkvm win7-amd64", "netkvm win7-x86"], digest
    assert all("KB3033929" in w for w in digest), digest
    # still built (exit 0); --check turns the failed checks into exit 1
    rc, out, err = run(iso(fx))
    assert rc == 0, err
    assert "FAIL catalog_win7_digest" in out
    rc, out, err = run("--check", iso(fx))
    assert rc == 1 and "2 check(s) failed" in err, (rc, err)
    assert out.count("FAIL ") == 2, out
    rc, out, err = run("--check", "-o", "drivers=viostor,netkvm,vioinput",
                       iso(full_fixture()))
    assert rc == 0, err


def test_volume_label_version():
    """The version comes from the volume label in every ISO variant."""
    fx = fixture("--label", "virtio-win-0.1.240",
                 variants=",".join(VARIANTS))
    assert meta(fx)["version"] == "0.1.285"   # only the label says 0.1.240
    for v in VARIANTS:
        m, _ = manifest(iso(fx, v))
        s = m["source"]
        assert s["volume_label"] == "virtio-win-0.1.240", (v, s)
        assert s["derived_version"] == "0.1.240", (v, s)
    rc, out, err = run(iso(fx, "rr"))
    assert rc == 0 and "version:  0.1.240" in out, out


def test_check_exit_status():
    fx = full_fixture()
    rc, out, err = run("--check", iso(fx))
    assert rc == 0, err
    assert "PASS catalog_covers_inf" in out and "FAIL" not in out
    # an INF changed after signing: the catalog no longer covers it
    tree = os.path.join(_tmp, "changed")
    shutil.copytree(os.path.join(fx, "tree"), tree, symlinks=True)
    with open(os.path.join(tree, "viostor/w7/amd64/viostor.inf"), "ab") as f:
        f.write(b"; edited\r\n")
    rc, out, err = run(tree)
    assert rc == 0, err
    assert "FAIL catalog_covers_inf" in out
    assert "viostor win7-amd64: catalog_covers_inf" in out
    rc, out, err = run("--check", tree)
    assert rc == 1 and "1 check(s) failed" in err, (rc, err)
    m, _ = manifest(tree)
    assert m["checks"]["failed"] == 1
    c = details(m, "viostor")["details"]["win7-amd64"]["catalog"]
    assert c["covers_inf"] is False


def test_summary_output():
    fx = full_fixture()
    rc, out, err = run(iso(fx))
    assert rc == 0 and err == "", err
    assert "source:   %s (iso, rockridge names" % os.path.basename(iso(fx)) \
        in out
    assert "version:  %s" % meta(fx)["version"] in out
    assert "viostor   required included" in out
    assert "viosnd    optional missing" in out
    assert "PASS binds_device: binds to virtio-blk" in out
    assert "warnings:\n  - optional driver 'viosnd'" in out


def test_terminal_escapes():
    """An INF's control characters never reach the terminal raw: ESC[8m in
    DriverVer would hide the FAIL lines that follow (issue 15 #10)."""
    fx = full_fixture()
    tree = os.path.join(_tmp, "escapes")
    shutil.copytree(os.path.join(fx, "tree"), tree, symlinks=True)
    inf = os.path.join(tree, "viostor/w7/amd64/viostor.inf")
    with open(inf, "rb") as f:
        text = f.read()
    assert b"DriverVer = 06/07/2019,61.77.104.17200" in text
    text = text.replace(b"DriverVer = 06/07/2019,61.77.104.17200",
                        b"DriverVer = 06/07/2019,61.77.104.17200\x1b[8m"
                        b"\r\xc2\x9b2J")
    with open(inf, "wb") as f:
        f.write(text)
    rc, out, err = run("-v", tree)
    assert rc == 0, err
    for stream in (out, err):
        assert "\x1b" not in stream and "\x9b" not in stream, stream
        assert "\r" not in stream, stream
    # C1 CSI (U+009B) from a UTF-8 INF is a control character too
    assert "61.77.104.17200\\x1B[8m\\x0D\\u009B2J" in out, out
    assert "FAIL catalog_covers_inf" in out
    # the manifest keeps the value, escaped the JSON way
    m, _ = manifest(tree)
    inf = details(m, "viostor")["details"]["win7-amd64"]["inf"]
    assert inf["driver_version"].startswith("61.77.104.17200\x1b[8m\r")
    # a file name with ESC: left out of the pack, and the warning that
    # says so does not drive the terminal either
    with open(os.path.join(tree, "viostor/w7/amd64/a\x1b[8mb.sys"),
              "wb") as f:
        f.write(b"x")
    rc, out, err = run("-v", "--tree", tree)
    assert rc == 0, err
    assert "\x1b" not in err and "\x1b" not in out, err
    assert "8mb.sys" not in out and "a\\x1b[8mb.sys" in err, err


# ---- a pack as the source -------------------------------------------------------


def test_pack_import():
    """A mounted or copied pack is taken over verbatim, not reselected."""
    aerofs = os.path.join(BUILD, "fs", "aerofs")
    if not (os.access(aerofs, os.X_OK) and os.path.exists("/dev/fuse") and
            shutil.which("fusermount3")):
        raise Skip("aerofs, /dev/fuse or fusermount3 missing")
    fx = full_fixture()
    _, orig = manifest("-o", "drop-pdb,label=PACK_IMPORT", iso(fx))
    rc, orig_tree, err = run("-o", "drop-pdb,label=PACK_IMPORT", "--tree",
                             iso(fx))
    assert rc == 0, err
    mnt = os.path.join(_tmp, "mnt")
    os.mkdir(mnt)
    d = subprocess.Popen([aerofs, iso(fx), mnt, "-f", "-o",
                          "drop-pdb,label=PACK_IMPORT"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    copy = os.path.join(_tmp, "copied-pack")
    try:
        for _ in range(200):
            if os.path.ismount(mnt) or d.poll() is not None:
                break
            time.sleep(0.05)
        assert os.path.ismount(mnt), "aerofs did not mount"
        # options that would reselect are ignored for a pack
        m, text = manifest("-o", "drivers=viostor,netkvm", "--check", mnt)
        assert text == orig, "a mounted pack must give its own manifest"
        assert m["image"]["label"] == "PACK_IMPORT"
        rc, tree, err = run("--tree", mnt)
        assert rc == 0 and tree == orig_tree, err
        shutil.copytree(mnt, copy, ignore=shutil.ignore_patterns(".aerofs"))
    finally:
        subprocess.run(["fusermount3", "-u", mnt])
        d.wait(timeout=30)
    _, text = manifest(copy)
    assert text == orig
    # a file changed after export: a failed check, still built
    with open(os.path.join(copy, "win7/x86/viostor/viostor.sys"), "ab") as f:
        f.write(b"tampered")
    rc, out, err = run("--check", "--json", copy)
    assert rc == 1, (rc, err)
    assert "win7/x86/viostor/viostor.sys: content differs from the " \
        "pack's manifest.json" in err, err
    assert out == orig


def _forge_pack(pack, name):
    """The attack of issue 15 #4 on an exported PACK: an amd64 viostor INF
    decorated NTx86, a 5-byte junk .cat and the attacker's install.cmd,
    with a manifest (pack name NAME) whose hashes and counts vouch for
    them."""
    d = os.path.join(pack, "win7/amd64/viostor")
    with open(os.path.join(d, "viostor.inf"), "rb") as f:
        inf = f.read()
    assert b"NTamd64" in inf
    files = {
        "win7/amd64/viostor/viostor.inf": inf.replace(b"NTamd64", b"NTx86"),
        "win7/amd64/viostor/viostor.cat": b"junk!",
        "install.cmd": b"@echo off\r\necho pwned > C:\\pwned.txt\r\n",
    }
    with open(os.path.join(pack, "manifest.json")) as f:
        m = json.load(f)
    for path, data in files.items():
        with open(os.path.join(pack, path), "wb") as f:
            f.write(data)
        for e in m["files"]:
            if e["path"] == path:
                e["size"] = len(data)
                e["sha256"] = hashlib.sha256(data).hexdigest()
    m["pack"] = name
    m["checks"]["failed"] = 0
    m["warnings"] = []
    with open(os.path.join(pack, "manifest.json"), "w") as f:
        json.dump(m, f, indent=2)
    return hashlib.sha256(files["install.cmd"]).hexdigest()


def test_pack_claim_is_checked():
    """A source that claims to be a pack gets every check again and never
    has its own scripts served (issue 15 #4)."""
    export = os.path.join(BUILD, "export", "aerofs-export")
    if not os.access(export, os.X_OK):
        raise Skip("aerofs-export not built")
    fx = full_fixture()
    base = os.path.join(_tmp, "claim-pack")
    r = subprocess.run([export, iso(fx), base], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    assert r.returncode == 0, r.stderr.decode()
    rc, out, err = run("--check", base)
    assert rc == 0, (rc, err)
    sources = []
    for name in ["aero-win7-driver-pack", "AERO-Win7-Driver-Pack"]:
        pack = os.path.join(_tmp, "claim-" + name)
        shutil.copytree(base, pack)
        evil = _forge_pack(pack, name)
        sources.append((pack, evil))
        xorriso = shutil.which("xorriso")
        if xorriso:
            img = pack + ".iso"
            r = subprocess.run([xorriso, "-as", "mkisofs", "-R", "-J",
                                "-o", img, pack], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
            assert r.returncode == 0, r.stdout.decode()
            sources.append((img, evil))
    for src, evil in sources:
        rc, out, err = run("--check", src)
        assert rc != 0, (src, out)
        rc, out, err = run("--json", src)
        if rc == 0:
            m = json.loads(out)
            served = {f["path"]: f["sha256"] for f in m["files"]}
            assert served.get("install.cmd") != evil, src
        else:
            # refused (the exact name) or not a pack at all (other case)
            assert out == "" and err.startswith("aerofs-catalog: error: "), \
                (src, err)


def test_one_option_grammar():
    """aerofs, aerofs-export and aerofs-catalog read -o alike (issue 11
    #4): "-o drivers=viostor,netkvm" is what a new user types."""
    export = os.path.join(BUILD, "export", "aerofs-export")
    if not os.access(export, os.X_OK):
        raise Skip("aerofs-export not built")
    fx = full_fixture()
    out = os.path.join(_tmp, "grammar")
    os.mkdir(out)
    zips = []
    for i, o in enumerate(["drivers=viostor,netkvm,drop-pdb",
                           "drivers=viostor+netkvm,drop-pdb",
                           "drivers=viostor\\,netkvm,drop-pdb"]):
        z = os.path.join(out, "%d.zip" % i)
        r = subprocess.run([export, "-q", "-o", o, iso(fx), z],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert r.returncode == 0, (o, r.stderr.decode())
        with open(z, "rb") as f:
            zips.append(f.read())
    assert zips[0] == zips[1] == zips[2]
    _, want = manifest("-o", "drivers=viostor+netkvm,drop-pdb", iso(fx))
    assert json.loads(want)["drivers_requested"] == ["viostor", "netkvm"]
    for o, msg in [("drop_pdb", "unknown option 'drop_pdb'; the spelling "
                    "is drop-pdb"),
                   ("bogus", "unknown option 'bogus'; accepted: "
                    "drivers=ID+ID...")]:
        r = subprocess.run([export, "-o", o, iso(fx),
                            os.path.join(out, "x.zip")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        err = r.stderr.decode()
        assert r.returncode == 2 and msg in err, (o, err)
        assert err.startswith("aerofs-export: error: "), err
    aerofs = os.path.join(BUILD, "fs", "aerofs")
    if not (os.access(aerofs, os.X_OK) and os.path.exists("/dev/fuse") and
            shutil.which("fusermount3")):
        raise Skip("aerofs, /dev/fuse or fusermount3 missing")
    r = subprocess.run([aerofs, iso(fx), out, "-f", "-o", "drop_pdb"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    assert r.returncode == 2 and b"the spelling is drop-pdb" in r.stderr, \
        r.stderr
    mnt = os.path.join(out, "mnt")
    os.mkdir(mnt)
    d = subprocess.Popen([aerofs, iso(fx), mnt, "-f", "-o",
                          "drivers=viostor,netkvm,drop-pdb"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(200):
            if os.path.ismount(mnt) or d.poll() is not None:
                break
            time.sleep(0.05)
        assert os.path.ismount(mnt), d.stderr.read().decode()
        with open(os.path.join(mnt, "manifest.json")) as f:
            assert f.read() == want
    finally:
        subprocess.run(["fusermount3", "-u", mnt])
        d.wait(timeout=30)


def test_export_roundtrip():
    """Exporting an exported pack gives the same bytes (pack import)."""
    export = os.path.join(BUILD, "export", "aerofs-export")
    if not os.access(export, os.X_OK):
        raise Skip("aerofs-export not built")
    fx = full_fixture()
    out = os.path.join(_tmp, "roundtrip")
    os.mkdir(out)

    def ex(src, dst):
        r = subprocess.run([export, "-o", "label=ROUND_TRIP", src, dst],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert r.returncode == 0, r.stderr.decode()
        return dst

    first = ex(iso(fx), os.path.join(out, "first.iso"))
    tree = ex(iso(fx), os.path.join(out, "tree"))
    again = [ex(tree, os.path.join(out, "from-tree.iso")),
             ex(first, os.path.join(out, "from-iso.iso"))]
    with open(first, "rb") as f:
        want = f.read()
    for path in again:
        with open(path, "rb") as f:
            assert f.read() == want, path
    _, a = manifest(tree)
    _, b = manifest(iso(fx), "-o", "label=ROUND_TRIP")
    assert a == b


def test_import_summary_counts():
    """The summary of an imported pack counts the files that stray from its
    manifest, as --check does: changed, missing or not listed."""
    export = os.path.join(BUILD, "export", "aerofs-export")
    if not os.access(export, os.X_OK):
        raise Skip("aerofs-export not built")
    fx = full_fixture()
    tree = os.path.join(_tmp, "summary-pack")
    r = subprocess.run([export, iso(fx), tree], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    assert r.returncode == 0, r.stderr.decode()
    m, _ = manifest(tree)
    failed, total = m["checks"]["failed"], m["checks"]["total"]
    nwarn = len(m["warnings"])

    def pack_line():
        rc, out, err = run(tree)
        assert rc == 0, err
        lines = [l for l in out.splitlines() if l.startswith("pack:")]
        assert len(lines) == 1, out
        return lines[0]

    assert pack_line().endswith("; %d checks, %d failed; %d warnings"
                                % (total, failed, nwarn)), pack_line()
    with open(os.path.join(tree, "win7/x86/viostor/viostor.sys"), "ab") as f:
        f.write(b"tampered")
    with open(os.path.join(tree, "win7/amd64/netkvm/added.dll"), "wb") as f:
        f.write(b"not from upstream")
    with open(os.path.join(tree, "win7/amd64/netkvm/Thumbs.db"), "wb") as f:
        f.write(b"junk")
    rc, out, err = run("--check", tree)
    assert rc == 1 and "%d check(s) failed" % (failed + 2) in err, (rc, err)
    assert "win7/amd64/netkvm/added.dll: not listed in the pack's " \
        "manifest.json" in err, err
    assert "Thumbs.db" not in err, err
    assert pack_line().endswith("; %d checks, %d failed; %d warnings"
                                % (total, failed + 2, nwarn + 2)), pack_line()


# ---- bad input and usage -------------------------------------------------------


def test_html_saved_as_iso():
    bad = os.path.join(_tmp, "virtio-win.iso")
    with open(bad, "w") as f:
        f.write("<!DOCTYPE html>\n<html><head><title>404 Not Found</title>"
                "</head><body>" + "x" * 40000 + "</body></html>\n")
    rc, out, err = run(bad)
    expect_fail(rc, err, 3, "HTML")
    assert out == ""
    rc, out, err = run(os.path.join(_tmp, "does-not-exist.iso"))
    expect_fail(rc, err, 3, "does-not-exist.iso")


def test_usage():
    rc, out, err = run()
    expect_fail(rc, err, 2, "missing SOURCE")
    rc, out, err = run("--help")
    assert rc == 0 and out.startswith("Usage: aerofs-catalog"), out
    rc, out, err = run("--version")
    assert rc == 0 and out.startswith("aerofs-catalog "), out
    fx = full_fixture()
    rc, out, err = run("-o", "no-such-option", iso(fx))
    expect_fail(rc, err, 2, "unknown option 'no-such-option'")
    rc, out, err = run("-o", "label=virtio-win-0.1.285", iso(fx))
    expect_fail(rc, err, 2, "invalid volume label", "16")
    rc, out, err = run("-o", "epoch=soon", iso(fx))
    expect_fail(rc, err, 2, "invalid epoch 'soon'")
    rc, out, err = run("--json", "--tree", iso(fx))
    expect_fail(rc, err, 2, "--json and --tree")
    rc, out, err = run("--bogus", iso(fx))
    assert rc == 2, err


def require_catalog():
    if not os.access(TOOL, os.X_OK):
        raise Skip("aerofs-catalog not built (%s)" % TOOL)


if __name__ == "__main__":
    try:
        run_tests(globals(), require=require_catalog)
    finally:
        shutil.rmtree(_tmp, ignore_errors=True)
