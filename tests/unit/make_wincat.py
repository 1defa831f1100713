#!/usr/bin/env python3
"""make_wincat.py: builds a real signed Windows security catalog offline.

Used by test_wincat.c.  Built the way real driver catalogs are: a CTL
seed (SignedData version 1, CTL directly under [0], no signer) written with `openssl asn1parse -genconf`, then signed with
`osslsigncode sign` by a "Red Hat, Inc" certificate issued by a test CA.

  --style win7   SHA-1 members, tags are the UTF-16LE hex SHA-1 (CTL v1,
                 subject algorithm 1.3.6.1.4.1.311.12.1.2), `-h sha1 -time`.
  --style win8   SHA-256 members, tags are the raw SHA-1 (12.1.3),
                 `-h sha256 -time` plus the built-in RFC 3161 TSA
                 (-TSA-certs/-TSA-key/-TSA-time).

--variant then rewrites the signed DER to move the signing time where old
catalogs keep it (the signature no longer verifies afterwards, which the
parser does not check):
  countersig     drop the authenticated signingTime, add a legacy PKCS#9
                 countersignature (1.2.840.113549.1.9.6) whose signingTime
                 is --counter-time;
  no-signing-time  drop the authenticated signingTime only (win8: the
                 RFC 3161 genTime remains; win7: only CTL ThisUpdate);
  wrapped        put the CTL in an OCTET STRING, as CMS tools do;
  certs-reversed reverse the embedded certificates (signer no longer
                 first), as some real catalogs order them.

Member digests are the hash of the whole file, as for flat files (INFs);
PE files would need an Authenticode hash, which the parser does not care
about.  Writes OUT/test.cat and OUT/ca.pem (the root to verify with).
Stdlib only; needs openssl and osslsigncode on PATH.
"""
import argparse
import hashlib
import os
import subprocess
import sys

EXT_CNF = """\
[req]
distinguished_name = dn
[dn]
[ca]
default_ca = testca
[testca]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = pol
unique_subject = no
email_in_dn = no
[pol]
countryName = optional
stateOrProvinceName = optional
localityName = optional
organizationName = optional
organizationalUnitName = optional
commonName = supplied
[ext_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ext_sign]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ext_tsa]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""

SIGNER_DN = "/C=US/ST=nc/L=Raleigh/O=Red Hat, Inc/CN=Red Hat, Inc"


def run(*args, cwd):
    r = subprocess.run(args, cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    if r.returncode != 0:
        sys.stderr.write("make_wincat.py: %s failed:\n%s\n"
                         % (" ".join(args), r.stdout.decode(errors="replace")))
        sys.exit(1)


def make_certs(d):
    """Test root, signer and TSA, valid from 2000 so that 2019 signing
    times verify."""
    if os.path.exists(os.path.join(d, "sign.pem")):
        return
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write(EXT_CNF)
    open(os.path.join(d, "index.txt"), "w").close()
    dates = ["-startdate", "20000101000000Z", "-enddate", "21000101000000Z"]
    certs = [("ca", "/C=US/O=Aerofs Test/CN=Aerofs Test Root CA", "01",
              "ext_ca"),
             ("sign", SIGNER_DN, "0A1B2C3D", "ext_sign"),
             ("tsa", "/C=US/O=Aerofs Test/CN=Aerofs Test Timestamp Responder",
              "07", "ext_tsa")]
    for name, dn, serial, ext in certs:
        with open(os.path.join(d, "serial"), "w") as f:
            f.write(serial + "\n")
        run("openssl", "req", "-config", "ext.cnf", "-new", "-newkey",
            "rsa:2048", "-nodes", "-keyout", name + ".key", "-out",
            name + ".csr", "-subj", dn, cwd=d)
        ca = ["-selfsign", "-keyfile", "ca.key"] if name == "ca" else \
             ["-cert", "ca.pem", "-keyfile", "ca.key"]
        run("openssl", "ca", "-batch", "-config", "ext.cnf", "-notext",
            "-preserveDN", *ca, *dates, "-extfile", "ext.cnf",
            "-extensions", ext, "-in", name + ".csr", "-out", name + ".pem",
            cwd=d)


def utf16z(s):
    return (s.encode("utf-16-le") + b"\0\0").hex()


class Conf:
    """Collects an `openssl asn1parse -genconf` file, one section per
    call."""

    def __init__(self):
        self.sections = []
        self.n = 0

    def section(self, items):
        self.n += 1
        name = "s%d" % self.n
        body = "".join("f%d = %s\n" % (i, v) for i, v in enumerate(items))
        self.sections.append("[%s]\n%s" % (name, body))
        return name

    def seq(self, items):
        return "SEQUENCE:" + self.section(items)

    def set(self, items):
        return "SET:" + self.section(items)

    def name_value(self, name, value):
        """CAT_NAMEVALUE (1.3.6.1.4.1.311.12.2.1) as member attribute or
        catalog extension: NameValue wrapped in an OCTET STRING."""
        nv = self.seq(["BMPSTRING:" + name, "INTEGER:0x10010001",
                       "FORMAT:HEX,OCTETSTRING:" + utf16z(value)])
        return nv


def seed_conf(style, members, os_attr, hwids, this_update):
    c = Conf()
    win7 = style == "win7"
    alg = c.seq(["OID:sha1" if win7 else "OID:sha256", "NULL"])
    entries = []
    for name, path in members:
        data = open(path, "rb").read()
        sha1 = hashlib.sha1(data).digest()
        digest = sha1 if win7 else hashlib.sha256(data).digest()
        tag = sha1.hex().upper().encode("utf-16-le") if win7 else sha1
        attrs = [
            c.seq(["OID:1.3.6.1.4.1.311.12.2.1",
                   c.set(["OCTWRAP," + c.name_value("File", name)])]),
            c.seq(["OID:1.3.6.1.4.1.311.12.2.1",
                   c.set(["OCTWRAP," + c.name_value(
                       "OSAttr", "2:6.1" if win7 else "2:6.3")])]),
            c.seq(["OID:1.3.6.1.4.1.311.2.1.4",
                   c.set([c.seq([
                       c.seq(["OID:1.3.6.1.4.1.311.2.1.25",
                              "EXPLICIT:2,IMPLICIT:0,BMPSTRING:<<<Obsolete>>>"]),
                       c.seq([alg, "FORMAT:HEX,OCTETSTRING:" + digest.hex()]),
                   ])])]),
        ]
        if win7:
            attrs.append(c.seq([
                "OID:1.3.6.1.4.1.311.12.2.2",
                c.set([c.seq([
                    "BMPSTRING:{C689AAB8-8E78-11D0-8C47-00C04FC295EE}",
                    "INTEGER:512"])])]))
        entries.append(c.seq(["FORMAT:HEX,OCTETSTRING:" + tag.hex(),
                              c.set(attrs)]))
    cat_attrs = []
    if os_attr is not None:
        cat_attrs.append(c.seq(["OID:1.3.6.1.4.1.311.12.2.1",
                                "OCTWRAP," + c.name_value("OS", os_attr)]))
    for i, h in enumerate(hwids):
        cat_attrs.append(c.seq(["OID:1.3.6.1.4.1.311.12.2.1",
                                "OCTWRAP," + c.name_value("HWID%d" % (i + 1),
                                                          h)]))
    ctl = [c.seq(["OID:1.3.6.1.4.1.311.12.1.1"]),
           "FORMAT:HEX,OCTETSTRING:" + hashlib.md5(
               repr(members).encode()).hexdigest(),
           "UTCTIME:" + this_update,
           c.seq(["OID:1.3.6.1.4.1.311.12.1.2" if win7 else
                  "OID:1.3.6.1.4.1.311.12.1.3", "NULL"]),
           c.seq(entries)]
    if cat_attrs:
        ctl.append("EXPLICIT:0," + c.seq(cat_attrs))
    signed = c.seq(["INTEGER:1", c.set([alg]),
                    c.seq(["OID:1.3.6.1.4.1.311.10.1",
                           "EXPLICIT:0," + c.seq(ctl)]),
                    "SET:empty"])
    top = c.seq(["OID:pkcs7-signedData", "EXPLICIT:0," + signed])
    return ("asn1 = %s\n[empty]\n" % top) + "\n".join(c.sections)


# --- DER surgery for the legacy variants -----------------------------------

def tlv(data, off):
    tag = data[off]
    n = data[off + 1]
    off += 2
    if n & 0x80:
        k = n & 0x7f
        n = int.from_bytes(data[off:off + k], "big")
        off += k
    return tag, data[off:off + n], off + n


def children(content):
    out, off = [], 0
    while off < len(content):
        tag, body, end = tlv(content, off)
        out.append((tag, body))
        off = end
    return out


def enc(tag, body):
    n = len(body)
    if n < 0x80:
        hdr = bytes([tag, n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, "big")
        hdr = bytes([tag, 0x80 | len(b)]) + b
    return hdr + body


def enc_all(items):
    return b"".join(enc(t, b) for t, b in items)


OID_SIGNING_TIME = bytes.fromhex("2a864886f70d010905")
OID_COUNTERSIG = bytes.fromhex("2a864886f70d010906")
OID_CONTENT_TYPE = bytes.fromhex("2a864886f70d010903")
OID_MESSAGE_DIGEST = bytes.fromhex("2a864886f70d010904")
OID_DATA = bytes.fromhex("2a864886f70d010701")


def attr_oid(attr_body):
    return children(attr_body)[0][1]


def rewrite(der, variant, counter_time):
    _, ci, _ = tlv(der, 0)
    ci = children(ci)                        # OID, [0]
    sd = children(children(ci[1][1])[0][1])  # SignedData fields
    if variant == "wrapped":
        # What CMS tools write: eContent in an OCTET STRING.
        encap = children(sd[2][1])
        encap[1] = (0xa0, enc(0x04, encap[1][1]))
        sd[2] = (0x30, enc_all(encap))
    if variant == "certs-reversed":
        for i, (tag, body) in enumerate(sd):
            if tag == 0xa0:
                sd[i] = (0xa0, enc_all(reversed(children(body))))
    signer_infos = children(sd[-1][1])
    si = children(signer_infos[0][1])
    if variant in ("countersig", "no-signing-time"):
        for i, (tag, body) in enumerate(si):
            if tag == 0xa0:                  # authenticatedAttributes
                kept = [(t, b) for t, b in children(body)
                        if attr_oid(b) != OID_SIGNING_TIME]
                si[i] = (0xa0, enc_all(kept))
    if variant == "countersig":
        sid = si[1]
        sha1 = enc(0x30, enc(0x06, bytes.fromhex("2b0e03021a")) +
                   enc(0x05, b""))
        auth = enc_all([
            (0x30, enc(0x06, OID_CONTENT_TYPE) +
             enc(0x31, enc(0x06, OID_DATA))),
            (0x30, enc(0x06, OID_SIGNING_TIME) +
             enc(0x31, enc(0x17, counter_time.encode()))),
            (0x30, enc(0x06, OID_MESSAGE_DIGEST) +
             enc(0x31, enc(0x04, bytes(20)))),
        ])
        rsa = enc(0x30, enc(0x06, bytes.fromhex("2a864886f70d010101")) +
                  enc(0x05, b""))
        counter = enc(0x30, enc(0x02, b"\x01") + enc(sid[0], sid[1]) + sha1 +
                      enc(0xa0, auth) + rsa + enc(0x04, bytes(256)))
        si = [x for x in si if x[0] != 0xa1]
        si.append((0xa1, enc(0x30, enc(0x06, OID_COUNTERSIG) +
                             enc(0x31, counter))))
    signer_infos[0] = (0x30, enc_all(si))
    sd[-1] = (0x31, enc_all(signer_infos))
    signed = enc(0x30, enc_all(sd))
    return enc(0x30, enc(0x06, ci[0][1]) + enc(0xa0, signed))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--style", choices=["win7", "win8"], required=True)
    p.add_argument("--time", type=int, required=True,
                   help="signing time, unix seconds")
    p.add_argument("--tsa-time", type=int)
    p.add_argument("--this-update", default="190607230619Z")
    p.add_argument("--os")
    p.add_argument("--hwid", action="append", default=[])
    p.add_argument("--member", action="append", default=[],
                   help="NAME=PATH: member named NAME hashing file PATH")
    p.add_argument("--variant", choices=["signed", "countersig",
                                         "no-signing-time", "wrapped",
                                         "certs-reversed"],
                   default="signed")
    p.add_argument("--counter-time", default="190608024804Z")
    a = p.parse_args()

    d = a.out
    os.makedirs(d, exist_ok=True)
    make_certs(d)
    members = [tuple(m.split("=", 1)) for m in a.member]
    with open(os.path.join(d, "seed.cnf"), "w") as f:
        f.write(seed_conf(a.style, members, a.os, a.hwid, a.this_update))
    run("openssl", "asn1parse", "-genconf", "seed.cnf", "-out", "seed.cat",
        "-noout", cwd=d)
    sign = ["osslsigncode", "sign", "-certs", "sign.pem", "-key", "sign.key",
            "-ac", "ca.pem", "-time", str(a.time), "-in", "seed.cat",
            "-out", "signed.cat"]
    if a.style == "win7":
        sign += ["-h", "sha1"]
    else:
        sign += ["-h", "sha256", "-TSA-certs", "tsa.pem", "-TSA-key",
                 "tsa.key", "-TSA-time", str(a.tsa_time or a.time)]
    if os.path.exists(os.path.join(d, "signed.cat")):
        os.unlink(os.path.join(d, "signed.cat"))
    run(*sign, cwd=d)
    der = open(os.path.join(d, "signed.cat"), "rb").read()
    if a.variant != "signed":
        der = rewrite(der, a.variant, a.counter_time)
    with open(os.path.join(d, "test.cat"), "wb") as f:
        f.write(der)


if __name__ == "__main__":
    main()
