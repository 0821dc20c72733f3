#!/usr/bin/env python3
"""Independent truth for `kensa scan`: what a scan of a root must find.

Standalone: reads the real feeds in the data folder and the installed
software with tools that are not Kensa's (Python's own metadata files,
`go version -m`, the `rpm` command, the apk database text, Cargo.lock via
tomllib), orders versions with independent implementations (`packaging`,
`semantic_version`, `rpm.labelCompare`, a Go-semver comparator and an apk
comparator written here from the Go and apk-tools sources), and prints one
JSON object per line:

    {"kind": "package", "name", "version", "path", "matched": [advisory ids]}
    {"kind": "finding", "name", "version", "path", "id", "fixed", "advisories": [...]}
    {"kind": "excluded", "name", "version", "why"}

Subcommands (each takes --data DIR, the real-data folder):

    pypi   ROOT...        /usr/bin/python3 (Debian's python3-packaging)
    go     ROOT...        any python3; needs `go` in PATH for `go version -m`
    cargo  LOCKFILE...    the cache's venv python (semantic_version); >= 3.11 (tomllib)
    alpine ROOT           any python3 (the secdb's .json twins are read)
    alma   ROOT           /usr/bin/python3 (python3-rpm: rpm.labelCompare)
    selftest              the comparators against known orderings (venv python)

Finding identity (the scan contract): one finding per (installed package,
key); an advisory's keys are the CVE ids among its id and aliases (AlmaLinux
errata: those of `related` when the aliases hold none); with no CVE, the
single key is the smallest of {id} + aliases. `fixed` is the highest, over
the matched advisories giving that key, of each advisory's smallest `fixed`
value above the installed version (null when none gives one).

It never imports Kensa code.
"""

import argparse
import functools
import json
import os
import re
import subprocess
import sys
import zipfile

# --------------------------------------------------------------------------
# Output


def emit(obj):
    sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")


def warn(msg):
    sys.stderr.write("truth: " + msg + "\n")


# --------------------------------------------------------------------------
# OSV evaluation, generic over an ecosystem comparator `cmp(a, b)` -> -1/0/1
# that raises ValueError on a version it cannot order.

OPEN, CLOSE = 1, 0


def osv_range_affected(version, events, cmp):
    """OSV semantics: events sorted by version (introduced "0" first),
    closing events before opening ones at the same version (so the opening
    wins a tie); the last event that applies to `version` decides:
    introduced X and fixed X apply when X <= v, last_affected X when X < v,
    limit X when X <= v."""
    evs = []
    for e in events:
        for k, x in e.items():
            if k == "introduced":
                evs.append((x, OPEN, k))
            elif k in ("fixed", "last_affected", "limit"):
                evs.append((x, CLOSE, k))

    def order(a, b):
        if a[0] == "0" and a[2] == "introduced":
            if b[0] == "0" and b[2] == "introduced":
                return 0
            return -1
        if b[0] == "0" and b[2] == "introduced":
            return 1
        c = cmp(a[0], b[0])
        if c != 0:
            return c
        return a[1] - b[1]

    good = []
    for ev in evs:
        if ev[0] == "0" and ev[2] == "introduced":
            good.append(ev)
            continue
        try:
            cmp(ev[0], ev[0])
            good.append(ev)
        except ValueError:
            warn(f"event version {ev[0]!r} cannot be ordered: event ignored")
    good.sort(key=functools.cmp_to_key(order))
    affected = False
    for x, _, k in good:
        if k == "introduced":
            if x == "0" or cmp(x, version) <= 0:
                affected = True
        elif k == "last_affected":
            if cmp(x, version) < 0:
                affected = False
        else:  # fixed, limit
            if cmp(x, version) <= 0:
                affected = False
    return affected


def osv_fix_for(version, ranges, cmp):
    """The smallest `fixed` event value strictly above `version`."""
    best = None
    for r in ranges:
        for e in r.get("events", []):
            x = e.get("fixed")
            if x is None:
                continue
            try:
                if cmp(x, version) > 0 and (best is None or cmp(x, best) < 0):
                    best = x
            except ValueError:
                pass
    return best


def osv_match(version, affected_entries, cmp, range_types):
    """(affected?, fix) of one advisory's entries for one package."""
    hit = False
    ranges = []
    for a in affected_entries:
        rs = [r for r in a.get("ranges", []) if r.get("type") in range_types]
        ranges.extend(rs)
        for r in rs:
            if osv_range_affected(version, r.get("events", []), cmp):
                hit = True
        for x in a.get("versions", []) or []:
            try:
                if cmp(x, version) == 0:
                    hit = True
            except ValueError:
                pass
    if not hit:
        return False, None
    return True, osv_fix_for(version, ranges, cmp)


def is_cve(s):
    return s.startswith("CVE-")


def keys_of(adv_id, aliases, related=None):
    cves = sorted({x for x in [adv_id] + list(aliases) if is_cve(x)})
    if not cves and related is not None:
        cves = sorted({x for x in related if is_cve(x)})
    if cves:
        return cves
    return [min([adv_id] + list(aliases))]


class Findings:
    """Collects (package, key) -> highest fix, with contributing advisories."""

    def __init__(self, cmp):
        self.cmp = cmp
        self.items = {}

    def add(self, pkg, key, fix, adv_id):
        k = (pkg["name"], pkg["version"], pkg["path"], key)
        cur = self.items.get(k)
        if cur is None:
            self.items[k] = {"fixed": fix, "advisories": [adv_id]}
            return
        cur["advisories"].append(adv_id)
        if fix is not None and (cur["fixed"] is None or self.cmp(fix, cur["fixed"]) > 0):
            cur["fixed"] = fix

    def emit(self, fixed_fmt=lambda x: x):
        for (name, version, path, key), v in sorted(self.items.items(), key=lambda kv: kv[0]):
            emit({
                "kind": "finding",
                "name": name,
                "version": version,
                "path": path,
                "id": key,
                "fixed": None if v["fixed"] is None else fixed_fmt(v["fixed"]),
                "advisories": sorted(set(v["advisories"])),
            })


NON_SECURITY_ERRATUM = re.compile(r"^(AL|RL|RH|EL)(BA|EA)-")


def load_osv(path, ecosystem):
    """package name -> [(record, [affected entries for that name])], the
    non-withdrawn records of `ecosystem` (exact match), names as given."""
    out = {}
    with zipfile.ZipFile(path) as z:
        for n in z.namelist():
            if not n.endswith(".json"):
                continue
            d = json.loads(z.read(n))
            if d.get("withdrawn"):
                continue
            # Bug-fix and enhancement errata (AlmaLinux ALBA/ALEA, Rocky
            # RLBA/RLEA, Red Hat RHBA/RHEA, Oracle ELBA/ELEA) ship no
            # security fix: the vendors file security fixes as *SA only.
            if NON_SECURITY_ERRATUM.match(d.get("id", "")):
                continue
            per = {}
            for a in d.get("affected", []):
                p = a.get("package", {})
                if p.get("ecosystem") != ecosystem:
                    continue
                per.setdefault(p.get("name"), []).append(a)
            for name, entries in per.items():
                out.setdefault(name, []).append((d, entries))
    return out


def scan_osv(packages, index, cmp, range_types, name_key=lambda n: n, alma_related=False):
    findings = Findings(cmp)
    for pkg in packages:
        matched = []
        for rec, entries in index.get(name_key(pkg["name"]), []):
            try:
                cmp(pkg["version"], pkg["version"])
            except ValueError:
                continue
            hit, fix = osv_match(pkg["version"], entries, cmp, range_types)
            if not hit:
                continue
            matched.append(rec["id"])
            aliases = rec.get("aliases", []) or []
            related = (rec.get("related", []) or []) if alma_related else None
            for key in keys_of(rec["id"], aliases, related):
                findings.add(pkg, key, fix, rec["id"])
        emit({"kind": "package", "name": pkg["name"], "version": pkg["version"],
              "path": pkg["path"], "matched": sorted(matched)})
    return findings


# --------------------------------------------------------------------------
# PyPI


def pep503(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def pep440_cmp(a, b):
    from packaging.version import InvalidVersion, Version

    try:
        va, vb = Version(a), Version(b)
    except InvalidVersion as e:
        raise ValueError(str(e)) from e
    return (va > vb) - (va < vb)


PRUNE_ANYWHERE = {".git", ".hg", ".svn", "__pycache__", ".cache", ".npm", ".pnpm-store", ".rustup"}


def walk(root):
    """os.walk that never follows directory symlinks and prunes caches."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in PRUNE_ANYWHERE)
        yield dirpath, dirnames, filenames


def read_headers(path):
    from email.parser import HeaderParser

    with open(path, "rb") as f:
        raw = f.read(256 * 1024)
    msg = HeaderParser().parsestr(raw.decode("utf-8", "replace"))
    return msg.get("Name"), msg.get("Version")


def python_packages(root):
    pkgs = {}
    for dirpath, dirnames, filenames in walk(root):
        if os.path.basename(dirpath) not in ("site-packages", "dist-packages"):
            continue
        cands = []
        for d in dirnames:
            full = os.path.join(dirpath, d)
            if os.path.islink(full):
                continue
            if d.endswith(".dist-info"):
                cands.append(os.path.join(full, "METADATA"))
            elif d.endswith(".egg-info"):
                cands.append(os.path.join(full, "PKG-INFO"))
            elif d.endswith(".egg"):
                cands.append(os.path.join(full, "EGG-INFO", "PKG-INFO"))
        for f in filenames:
            full = os.path.join(dirpath, f)
            if f.endswith(".egg-info") and os.path.isfile(full) and not os.path.islink(full):
                cands.append(full)
        for c in cands:
            if not os.path.isfile(c):
                continue
            name, version = read_headers(c)
            if not name or not version:
                warn(f"{c}: no Name/Version")
                continue
            rel = os.path.relpath(c, root)
            pkgs[(name.strip(), version.strip(), rel)] = True
    return [{"name": n, "version": v, "path": p} for (n, v, p) in sorted(pkgs)]


def cmd_pypi(args):
    index = {}
    for name, recs in load_osv(os.path.join(args.data, "osv/PyPI/all.zip"), "PyPI").items():
        index.setdefault(pep503(name), []).extend(recs)
    for root in args.roots:
        pkgs = python_packages(root)
        f = scan_osv(pkgs, index, pep440_cmp, ("ECOSYSTEM", "SEMVER"), name_key=pep503)
        f.emit()


# --------------------------------------------------------------------------
# Go: an independent Go-semver comparator (golang.org/x/mod/semver rules:
# "v" prefix, shorthand vMAJOR and vMAJOR.MINOR, no leading zeros, build
# metadata ignored, pre-release identifiers compared as SemVer 2.0).

GO_SEMVER = re.compile(
    r"^v(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*)"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?)?)?$"
)


def go_parse(v):
    if not v.startswith("v"):
        v = "v" + v
    m = GO_SEMVER.match(v)
    if not m:
        raise ValueError(f"not Go semver: {v}")
    major, minor, patch, pre, _build = m.groups()
    if pre:
        for ident in pre.split("."):
            if ident.isdigit() and len(ident) > 1 and ident[0] == "0":
                raise ValueError(f"leading zero in pre-release: {v}")
    return int(major), int(minor or 0), int(patch or 0), pre.split(".") if pre else None


def go_cmp(a, b):
    pa, pb = go_parse(a), go_parse(b)
    for x, y in zip(pa[:3], pb[:3]):
        if x != y:
            return -1 if x < y else 1
    ra, rb = pa[3], pb[3]
    if ra is None and rb is None:
        return 0
    if ra is None:
        return 1
    if rb is None:
        return -1
    for x, y in zip(ra, rb):
        if x == y:
            continue
        xn, yn = x.isdigit(), y.isdigit()
        if xn and yn:
            return -1 if int(x) < int(y) else 1
        if xn:
            return -1
        if yn:
            return 1
        return -1 if x < y else 1
    return (len(ra) > len(rb)) - (len(ra) < len(rb))


def go_toolchain_version(gover):
    """go1.22.5 -> v1.22.5; go1.21rc2 -> v1.21.0-rc.2; go1.20 -> v1.20.0."""
    gover = gover.split()[0]
    m = re.match(r"^go(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:(rc|beta|alpha)(\d+))?$", gover)
    if not m:
        return None
    major, minor, patch, pre, n = m.groups()
    v = f"v{major}.{minor or 0}.{patch or 0}"
    if pre:
        v += f"-{pre}.{n}"
    return v


RELEASE_LIKE = re.compile(r"^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")


def go_ldflags_version(build_lines):
    """The inventory's rule for a `(devel)` main module: a version given to
    the linker with -X <pkg>.version=... (pkg main/version/build/buildinfo/cmd;
    var version/Version/gitVersion/buildVersion/tag) when it looks like a release."""
    for line in build_lines:
        if not line.startswith("-ldflags="):
            continue
        for m in re.finditer(r"-X\s*=?\s*'?\"?([\w./-]+)\.(version|Version|gitVersion|buildVersion|tag)=([^\s'\"]+)", line):
            pkg = m.group(1).rsplit("/", 1)[-1]
            if pkg in ("main", "version", "build", "buildinfo", "cmd") and RELEASE_LIKE.match(m.group(3)):
                v = m.group(3)
                return v if v.startswith("v") else "v" + v
    return None


def go_binary_modules(path):
    out = subprocess.run(["go", "version", "-m", path], capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    gover = lines[0].split(":", 1)[1].strip()
    mods = []
    build = []
    main = None
    for line in lines[1:]:
        parts = line.strip().split("\t")
        kind = parts[0]
        if kind == "mod":
            main = {"path": parts[1], "version": parts[2] if len(parts) > 2 else ""}
            mods.append(main)
        elif kind == "dep":
            mods.append({"path": parts[1], "version": parts[2] if len(parts) > 2 else ""})
        elif kind == "=>":
            # the replacement is what was compiled in; a local directory has no version
            if len(parts) > 2 and parts[2]:
                mods[-1] = {"path": parts[1], "version": parts[2]}
            else:
                mods[-1] = {"path": mods[-1]["path"], "version": "(devel)"}
        elif kind == "build":
            build.append(parts[1] if len(parts) > 1 else "")
    if main is not None and main["version"] == "(devel)":
        v = go_ldflags_version(build)
        if v:
            main["version"] = v
    std = go_toolchain_version(gover)
    if std:
        mods.append({"path": "stdlib", "version": std})
    return mods


def is_elf(path):
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def cmd_go(args):
    index = load_osv(os.path.join(args.data, "osv/Go/all.zip"), "Go")
    pkgs = {}
    for root in args.roots:
        for dirpath, _dirs, files in walk(root):
            for f in files:
                full = os.path.join(dirpath, f)
                if os.path.islink(full) or not os.path.isfile(full) or not is_elf(full):
                    continue
                r = subprocess.run(["go", "version", "-m", full], capture_output=True, text=True)
                if r.returncode != 0:
                    continue
                rel = os.path.relpath(full, root)
                for m in go_binary_modules(full):
                    try:
                        go_parse(m["version"])
                    except ValueError:
                        warn(f"{rel}: {m['path']} {m['version']} skipped (not a semver)")
                        continue
                    pkgs[(m["path"], m["version"], rel)] = True
    packages = [{"name": n, "version": v, "path": p} for (n, v, p) in sorted(pkgs)]
    f = scan_osv(packages, index, go_cmp, ("SEMVER", "ECOSYSTEM"))
    f.emit()


# --------------------------------------------------------------------------
# Cargo / RustSec. Requirements are parsed here with Cargo's meaning of each
# operator and partial version (bare = caret; `>1.2` = `>=1.3.0`;
# `<=1.2` = `<1.3.0`; `~1.2` = [1.2.0, 1.3.0); `1.*`); versions are ordered
# by semantic_version.Version (SemVer 2.0 precedence). Pre-releases: ordered
# by precedence inside the intervals (not Cargo's "pre-release only matches a
# comparator naming the same x.y.z" rule); the lockfiles used have none.


def sv(v):
    import semantic_version

    return semantic_version.Version(v)


def semver_cmp(a, b):
    va, vb = sv(a), sv(b)
    return (va > vb) - (va < vb)


def parse_partial(s):
    s = s.strip()
    m = re.match(r"^(\d+|\*|x|X)(?:\.(\d+|\*|x|X))?(?:\.(\d+|\*|x|X))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$", s)
    if not m:
        raise ValueError(f"bad version in requirement: {s!r}")
    parts = []
    for g in m.groups()[:3]:
        if g is None or g in "*xX":
            break
        parts.append(int(g))
    return parts, m.group(4)


def vstr(parts, pre=None):
    p = list(parts) + [0] * (3 - len(parts))
    s = f"{p[0]}.{p[1]}.{p[2]}"
    return s + ("-" + pre if pre else "")


def bump(parts, i):
    """The version after incrementing component i (0-based) of parts."""
    p = list(parts[: i + 1])
    p[i] += 1
    return vstr(p)


def comparator_interval(op, parts, pre):
    """(lo, lo_inclusive, hi, hi_inclusive) with None = unbounded."""
    n = len(parts)
    if n == 0:
        return (None, True, None, False)
    full = vstr(parts, pre)
    if op in ("^", ""):
        if n == 3:
            if parts[0] > 0:
                hi = bump(parts, 0)
            elif parts[1] > 0:
                hi = bump(parts, 1)
            else:
                hi = bump(parts, 2)
        elif n == 2:
            hi = bump(parts, 0) if parts[0] > 0 else bump(parts, 1)
        else:
            hi = bump(parts, 0)
        return (full, True, hi, False)
    if op == "~":
        hi = bump(parts, 0) if n == 1 else bump(parts, 1)
        return (full, True, hi, False)
    if op == "=":
        if n == 3:
            return (full, True, full, True)
        return (full, True, bump(parts, n - 1), False)
    if op == ">=":
        return (full, True, None, False)
    if op == ">":
        if n == 3:
            return (full, False, None, False)
        return (bump(parts, n - 1), True, None, False)
    if op == "<":
        return (None, True, full, False)
    if op == "<=":
        if n == 3:
            return (None, True, full, True)
        return (None, True, bump(parts, n - 1), False)
    raise ValueError(op)


def requirement_interval(req):
    lo, loi, hi, hii = None, True, None, False
    for comp in req.split(","):
        comp = comp.strip()
        m = re.match(r"^(>=|<=|>|<|=|\^|~)?\s*(.+)$", comp)
        op, ver = m.group(1) or "", m.group(2)
        parts, pre = parse_partial(ver)
        clo, cloi, chi, chii = comparator_interval(op, parts, pre)
        if clo is not None:
            c = -1 if lo is None else semver_cmp(clo, lo)
            if lo is None or c > 0 or (c == 0 and not cloi):
                lo, loi = clo, cloi
        if chi is not None:
            c = 1 if hi is None else semver_cmp(chi, hi)
            if hi is None or c < 0 or (c == 0 and not chii):
                hi, hii = chi, chii
    return lo, loi, hi, hii


def in_interval(v, iv):
    lo, loi, hi, hii = iv
    if lo is not None:
        c = semver_cmp(v, lo)
        if c < 0 or (c == 0 and not loi):
            return False
    if hi is not None:
        c = semver_cmp(v, hi)
        if c > 0 or (c == 0 and not hii):
            return False
    return True


def simplespec_check(v, req, expected):
    """Cross-check on release versions with semantic_version.SimpleSpec
    (which reads a bare version as ==, so bare ones are given a caret)."""
    import semantic_version

    if "-" in v:
        return
    comps = []
    for comp in req.split(","):
        comp = comp.strip()
        if re.match(r"^\d", comp):
            comp = "^" + comp
        elif comp.startswith("=") and not comp.startswith("=="):
            comp = "=" + comp
        comps.append(comp)
    try:
        got = semantic_version.SimpleSpec(",".join(comps)).match(semantic_version.Version(v))
    except ValueError:
        return
    if got != expected:
        warn(f"SimpleSpec disagrees on {v} in {req!r}: spec {got}, truth {expected}")


def load_rustsec(data):
    import tomllib

    base = os.path.join(data, "rustsec/crates")
    out = {}
    for crate in sorted(os.listdir(base)):
        for f in sorted(os.listdir(os.path.join(base, crate))):
            if not f.endswith(".md"):
                continue
            text = open(os.path.join(base, crate, f), encoding="utf-8").read()
            m = re.search(r"```toml\n(.*?)\n```", text, re.S)
            d = tomllib.loads(m.group(1))
            adv = d["advisory"]
            if adv.get("withdrawn") or adv.get("informational"):
                continue
            out.setdefault(adv["package"], []).append(d)
    return out


def lockfile_packages(path):
    import tomllib

    d = tomllib.loads(open(path, encoding="utf-8").read())
    return [(p["name"], p["version"]) for p in d.get("package", [])]


def cmd_cargo(args):
    index = load_rustsec(args.data)
    for lock in args.lockfiles:
        findings = Findings(semver_cmp)
        for name, version in sorted(set(lockfile_packages(lock))):
            pkg = {"name": name, "version": version, "path": lock}
            matched = []
            for d in index.get(name, []):
                adv = d["advisory"]
                vs = d.get("versions", {})
                reqs = list(vs.get("patched", [])) + list(vs.get("unaffected", []))
                ivs = [requirement_interval(r) for r in reqs]
                inside = [in_interval(version, iv) for iv in ivs]
                for r, ok in zip(reqs, inside):
                    simplespec_check(version, r, ok)
                if any(inside):
                    continue
                # fix: the smallest inclusive lower bound of a patched or
                # unaffected interval above the installed version
                fix = None
                for lo, loi, _hi, _hii in ivs:
                    if lo is not None and loi and semver_cmp(lo, version) > 0:
                        if fix is None or semver_cmp(lo, fix) < 0:
                            fix = lo
                matched.append(adv["id"])
                for key in keys_of(adv["id"], adv.get("aliases", [])):
                    findings.add(pkg, key, fix, adv["id"])
            emit({"kind": "package", "name": name, "version": version, "path": lock,
                  "matched": sorted(matched)})
        findings.emit()


# --------------------------------------------------------------------------
# Alpine: apk version ordering, ported from apk-tools 2.x src/version.c
# (tokens: digits, letter, _suffix with number, -rN revision).

T_INVALID, T_DIGIT_OR_ZERO, T_DIGIT, T_LETTER, T_SUFFIX, T_SUFFIX_NO, T_REVISION_NO, T_END = range(-1, 7)
PRE_SUFFIXES = ["alpha", "beta", "pre", "rc"]
POST_SUFFIXES = ["cvs", "svn", "git", "hg", "p"]


class _Blob:
    def __init__(self, s):
        self.s = s
        self.i = 0

    def left(self):
        return len(self.s) - self.i

    def at(self, k=0):
        return self.s[self.i + k]


def _next_token(t, b):
    n = T_INVALID
    if b.left() == 0:
        n = T_END
    elif t in (T_DIGIT, T_DIGIT_OR_ZERO) and b.at().islower():
        n = T_LETTER
    elif t == T_LETTER and b.at().isdigit():
        n = T_DIGIT
    elif t == T_SUFFIX and b.at().isdigit():
        n = T_SUFFIX_NO
    else:
        c = b.at()
        if c == ".":
            n = T_DIGIT_OR_ZERO
        elif c == "_":
            n = T_SUFFIX
        elif c == "-":
            if b.left() > 1 and b.at(1) == "r":
                n = T_REVISION_NO
                b.i += 1
            else:
                n = T_INVALID
        b.i += 1
    if n < t:
        if not ((n == T_DIGIT_OR_ZERO and t == T_DIGIT)
                or (n == T_SUFFIX and t == T_SUFFIX_NO)
                or (n == T_DIGIT and t == T_LETTER)):
            n = T_INVALID
    return n


def _get_token(t, b):
    """-> (value, new token type)"""
    if b.left() <= 0:
        return 0, T_END
    v, i, nt = 0, 0, T_INVALID
    s, base = b.s, b.i
    if t == T_DIGIT_OR_ZERO and s[base] == "0":
        while base + i < len(s) and s[base + i] == "0":
            i += 1
        # apk-tools 2.10's code sets the next token to a digit even when no
        # digit follows, which leaves an empty digit token before a suffix
        # (so `1.0_rc1 > 1.0` there); the intended ordering (apk-tools 3:
        # a pre-release sorts before its release) continues with the
        # character that follows instead.
        if base + i < len(s) and s[base + i].isdigit():
            nt = T_DIGIT
        v = -i
    elif t in (T_DIGIT_OR_ZERO, T_DIGIT, T_SUFFIX_NO, T_REVISION_NO):
        while base + i < len(s) and s[base + i].isdigit():
            v = v * 10 + int(s[base + i])
            i += 1
    elif t == T_LETTER:
        v = ord(s[base])
        i = 1
    elif t == T_SUFFIX:
        rest = s[base:]
        for k, suf in enumerate(PRE_SUFFIXES):
            if rest.startswith(suf):
                v, i = k - len(PRE_SUFFIXES), len(suf)
                break
        else:
            for k, suf in enumerate(POST_SUFFIXES):
                if rest.startswith(suf):
                    v, i = k, len(suf)
                    break
            else:
                return -1, T_INVALID
    else:
        return -1, T_INVALID
    b.i += i
    if b.left() == 0:
        return v, T_END
    if nt != T_INVALID:
        return v, nt
    return v, _next_token(t, b)


def apk_cmp(a, b):
    ba, bb = _Blob(a), _Blob(b)
    at = bt = T_DIGIT
    av = bv = 0
    while at == bt and at not in (T_END, T_INVALID) and av == bv:
        av, at = _get_token(at, ba)
        bv, bt = _get_token(bt, bb)
    if av < bv:
        return -1
    if av > bv:
        return 1
    if at == bt:
        return 0
    if at == T_SUFFIX:
        v, _ = _get_token(at, _Blob(ba.s[ba.i:]))
        if v < 0:
            return -1
    if bt == T_SUFFIX:
        v, _ = _get_token(bt, _Blob(bb.s[bb.i:]))
        if v < 0:
            return 1
    if at > bt:
        return -1
    if bt > at:
        return 1
    return 0


def apk_installed(path):
    pkgs = []
    cur = {}
    for line in open(path, encoding="utf-8", errors="replace").read().splitlines() + [""]:
        if not line.strip():
            if "P" in cur and "V" in cur:
                pkgs.append(cur)
            cur = {}
            continue
        if len(line) > 1 and line[1] == ":":
            cur.setdefault(line[0], line[2:])
    return pkgs


def cmd_alpine(args):
    root = args.root
    rel = open(os.path.join(root, "etc/alpine-release")).read().strip()
    m = re.match(r"^(\d+)\.(\d+)", rel)
    branch = f"v{m.group(1)}.{m.group(2)}"
    # origin -> [(fixed version, [ids])]
    secfixes = {}
    for repo in ("main", "community"):
        p = os.path.join(args.data, "alpine-secdb", branch, repo + ".json")
        if not os.path.exists(p):
            continue
        d = json.load(open(p))
        assert d["distroversion"] == branch, (p, d["distroversion"])
        for entry in d.get("packages") or []:
            pkg = entry["pkg"]
            for fixed, ids in (pkg.get("secfixes") or {}).items():
                if fixed == "0":
                    continue
                secfixes.setdefault(pkg["name"], []).append((fixed, list(ids or []), repo))
    findings = Findings(apk_cmp)
    for p in apk_installed(os.path.join(root, "lib/apk/db/installed")):
        name, version = p["P"], p["V"]
        origin = p.get("o", name)
        pkg = {"name": name, "version": version, "path": "lib/apk/db/installed"}
        matched = []
        for fixed, ids, repo in secfixes.get(origin, []):
            if apk_cmp(version, fixed) >= 0:
                continue
            for raw in ids:
                # secdb lines sometimes carry more than one id ("CVE-a CVE-b")
                for ident in str(raw).split():
                    adv = f"{branch}/{repo}:{origin}@{fixed}:{ident}"
                    matched.append(adv)
                    findings.add(pkg, ident, fixed, adv)
        emit({"kind": "package", "name": name, "version": version, "path": pkg["path"],
              "origin": origin, "matched": sorted(matched)})
    findings.emit()


# --------------------------------------------------------------------------
# AlmaLinux: rpm EVR ordering by python3-rpm's labelCompare.


def split_evr(s):
    epoch = "0"
    if ":" in s:
        epoch, s = s.split(":", 1)
    if "-" in s:
        v, r = s.rsplit("-", 1)
    else:
        v, r = s, ""
    return epoch or "0", v, r


def rpm_cmp(a, b):
    import rpm

    return rpm.labelCompare(split_evr(a), split_evr(b))


def norm_evr(s):
    e, v, r = split_evr(s)
    return f"{e}:{v}-{r}"


def cmd_alma(args):
    root = args.root
    osr = {}
    for line in open(os.path.join(root, "etc/os-release")):
        if "=" in line:
            k, v = line.strip().split("=", 1)
            osr[k] = v.strip().strip('"')
    assert osr.get("ID") == "almalinux", osr
    major = osr["VERSION_ID"].split(".")[0]
    index = load_osv(os.path.join(args.data, "osv/AlmaLinux/all.zip"), f"AlmaLinux:{major}")
    out = subprocess.run(
        ["rpm", "--root", root, "--dbpath", "/var/lib/rpm", "-qa", "--qf",
         "%{NAME}\\t%{EPOCHNUM}\\t%{VERSION}\\t%{RELEASE}\\t%{VENDOR}\\n"],
        capture_output=True, text=True, check=True).stdout
    pkgs = []
    for line in sorted(out.splitlines()):
        name, epoch, version, release, vendor = line.split("\t")
        if name == "gpg-pubkey":
            continue
        evr = (f"{epoch}:" if epoch != "0" else "") + f"{version}-{release}"
        if vendor != "AlmaLinux":
            emit({"kind": "excluded", "name": name, "version": evr, "why": f"vendor {vendor}"})
            continue
        pkgs.append({"name": name, "version": evr, "path": "var/lib/rpm"})
    f = scan_osv(pkgs, index, rpm_cmp, ("ECOSYSTEM",), alma_related=True)
    f.emit(fixed_fmt=norm_evr)


# --------------------------------------------------------------------------


def cmd_selftest(_args):
    apk = [
        ("1.0", "1.0", 0), ("1.0", "1.0.1", -1), ("1.0_rc1", "1.0", -1), ("1.0_p1", "1.0", 1),
        ("1.0-r1", "1.0", 1), ("1.0a", "1.0", 1), ("1.0_alpha", "1.0_beta", -1),
        ("2.26-r1", "2.26-r0", 1), ("9.10.4_p5-r0", "9.10.4_p6-r0", -1),
        ("1.1.14-r10", "1.1.14-r9", 1), ("1.24.2-r9", "1.24.2-r10", -1),
        ("1.05", "1.5", -1), ("1.0-r1", "1.0.1", -1), ("2.6.7-r0", "2.6.10-r0", -1),
        ("1.0_rc1", "1.0_p1", -1), ("1.2.3a", "1.2.3b", -1), ("1.0_rc1", "1.0_rc2", -1),
        ("7.5-r2", "7.5-r2", 0), ("6.0_pre1", "6.0", -1), ("1.0_alpha01", "1.0_alpha1", 0), ("1.0_git20160101", "1.0", 1), ("1.0.0", "1.0", 1),
    ]
    go = [("v1.2.3", "v1.2.3", 0), ("1.2.3", "v1.2.4", -1), ("v1.2.3-pre", "v1.2.3", -1),
          ("v0.0.0-20210101000000-abcdef", "v0.0.1", -1), ("v1.2.3+incompatible", "v1.2.3", 0),
          ("v1.0.0-alpha.1", "v1.0.0-alpha.beta", -1), ("v1.0.0-2", "v1.0.0-11", -1),
          ("v1", "v1.0.0", 0), ("v1.21.0-rc.2", "v1.21.0", -1), ("v2.0.0+incompatible", "v1.9.9", 1)]
    bad = 0
    for a, b, want in apk:
        got = apk_cmp(a, b)
        rev = apk_cmp(b, a)
        if got != want or rev != -want:
            print(f"apk {a} vs {b}: got {got}/{rev}, want {want}")
            bad += 1
    for a, b, want in go:
        got = go_cmp(a, b)
        if got != want:
            print(f"go {a} vs {b}: got {got}, want {want}")
            bad += 1
    assert go_toolchain_version("go1.21rc2") == "v1.21.0-rc.2"
    assert go_toolchain_version("go1.22.5") == "v1.22.5"
    ev = [{"introduced": "0"}, {"fixed": "2"}, {"introduced": "2"}, {"fixed": "3"}]
    assert osv_range_affected("2", ev, lambda a, b: (int(a) > int(b)) - (int(a) < int(b)))
    ev = [{"introduced": "1"}, {"last_affected": "2"}]
    ic = lambda a, b: (int(a) > int(b)) - (int(a) < int(b))  # noqa: E731
    assert osv_range_affected("2", ev, ic) and not osv_range_affected("3", ev, ic)
    assert not osv_range_affected("0", ev, ic)
    for req, v, want in [(">= 0.9.4", "0.9.3", False), ("^0.8.3", "0.9.0", False), ("^0.8.3", "0.8.9", True),
                         ("0.14.10", "0.14.12", True), ("0.14.10", "0.15.0", False), ("> 1.2", "1.2.9", False),
                         (">=0.4", "0.4.0", True), ("~1.2", "1.2.7", True), ("<= 1.2", "1.2.9", True),
                         (">= 1.0.0, < 1.3.0", "1.3.0", False), ("=1.2.3", "1.2.3", True)]:
        got = in_interval(v, requirement_interval(req))
        if got != want:
            print(f"cargo {req!r} {v}: got {got}, want {want}")
            bad += 1
    print("selftest", "failed" if bad else "ok")
    sys.exit(1 if bad else 0)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name, fn, pos in [("pypi", cmd_pypi, "roots"), ("go", cmd_go, "roots"),
                          ("cargo", cmd_cargo, "lockfiles"), ("alpine", cmd_alpine, "root"),
                          ("alma", cmd_alma, "root"), ("selftest", cmd_selftest, None)]:
        p = sub.add_parser(name)
        p.set_defaults(fn=fn)
        if name != "selftest":
            p.add_argument("--data", required=True)
        if pos == "root":
            p.add_argument("root")
        elif pos:
            p.add_argument(pos, nargs="+")
    args = ap.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
