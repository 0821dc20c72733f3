//! `kensa scan`, run as a user runs it: every output format, the filters,
//! the exit status a CI job gates on, and the exposure-adjusted score, on
//! real installed software and the real advisories of the data folder.
//!
//! Targets:
//! - an Alpine 3.4 root (the data folder's real `lib/apk/db/installed`):
//!   dozens of Alpine secdb findings and the OS end-of-life finding;
//! - the cache's old pinned Python packages (`venv-old`, made by
//!   `scripts/setup`): PyPI findings, several with CVSS v3 vectors;
//! - a Debian 10 root with three packages named by the data folder's
//!   Debian tracker sample: `putty` (`<no-dsa>`: status `affected`,
//!   Debian urgency `low`), `redis-server`/`redis-tools` (source `redis`,
//!   fixed by DSA-4480-1) and the OS end-of-life finding: three statuses.
//!
//! The knowledge base is imported once per test process from the data
//! folder, as `kensa db import --mirror` does it for a user.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kensa_version::Ecosystem;
use serde_json::Value;
use support::{alpine_root, debian10_root, kb, utf8};

// ---------------------------------------------------------------- setup

/// The old pinned Python packages `scripts/setup` installs.
fn venv_old() -> PathBuf {
    let p = kensa_testkit::cache_dir().join("venv-old");
    assert!(
        p.join("lib").is_dir(),
        "{} is missing: run scripts/setup (it installs the old pinned Python packages)",
        p.display()
    );
    p
}

// ---------------------------------------------------------------- running

fn kensa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kensa"))
        .args(args)
        .output()
        .expect("kensa runs")
}

fn text(o: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `kensa scan --store KB ARGS...`.
fn scan(args: &[&str]) -> Output {
    let mut all = vec!["scan", "--store", utf8(kb())];
    all.extend_from_slice(args);
    kensa(&all)
}

/// `kensa scan --root ROOT --format json ARGS...`, which must succeed.
fn scan_json(root: &Path, args: &[&str]) -> Value {
    let mut all = vec!["--root", utf8(root), "--format", "json"];
    all.extend_from_slice(args);
    let o = scan(&all);
    assert!(o.status.success(), "kensa scan {all:?}: {}", text(&o));
    let doc: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("kensa scan {all:?} printed no JSON ({e}): {}", text(&o)));
    check_report(&doc, &format!("{all:?}"));
    doc
}

/// `kensa scan --root ROOT --format FORMAT`, which must succeed: stdout.
fn scan_format(root: &Path, format: &str) -> String {
    let o = scan(&["--root", utf8(root), "--format", format]);
    assert!(
        o.status.success(),
        "kensa scan --format {format}: {}",
        text(&o)
    );
    String::from_utf8(o.stdout).expect("utf-8 output")
}

fn findings(doc: &Value) -> &Vec<Value> {
    doc["findings"].as_array().expect("findings array")
}

/// What identifies a finding across runs and inputs.
type Key = (String, String, String, String, Option<String>);

fn key(f: &Value) -> Key {
    (
        f["vulnerability_id"].as_str().expect("id").to_owned(),
        f["package"]["name"].as_str().expect("name").to_owned(),
        f["package"]["installed_version"]
            .as_str()
            .expect("installed_version")
            .to_owned(),
        f["package"]["path"].as_str().expect("path").to_owned(),
        f["fixed_version"].as_str().map(str::to_owned),
    )
}

fn keys(doc: &Value) -> Vec<Key> {
    findings(doc).iter().map(key).collect()
}

fn ids(doc: &Value) -> BTreeSet<String> {
    findings(doc)
        .iter()
        .map(|f| f["vulnerability_id"].as_str().expect("id").to_owned())
        .collect()
}

// ---------------------------------------------------------------- the JSON contract

const STATUSES: [&str; 5] = [
    "fixed",
    "affected",
    "will_not_fix",
    "fix_deferred",
    "end_of_life",
];

/// Bands, least urgent first (the report ranks the other way).
const BANDS: [&str; 6] = [
    "UNTRIAGED",
    "INFORMATIONAL",
    "LOW",
    "MEDIUM",
    "HIGH",
    "CRITICAL",
];

fn band_rank(band: &str) -> usize {
    BANDS
        .iter()
        .position(|b| *b == band)
        .unwrap_or_else(|| panic!("severity {band:?} is not a band"))
}

/// The band of a 0–10 score (docs/scan-report.md, Inspector's bands).
fn band_of(score: f64) -> &'static str {
    if score >= 9.0 {
        "CRITICAL"
    } else if score >= 7.0 {
        "HIGH"
    } else if score >= 4.0 {
        "MEDIUM"
    } else if score > 0.0 {
        "LOW"
    } else {
        "INFORMATIONAL"
    }
}

fn is_str_or_null(v: &Value) -> bool {
    v.is_string() || v.is_null()
}

/// The adjusted score, else the highest base score, else -1 (the rank key).
fn effective_score(f: &Value) -> f64 {
    if let Some(s) = f["score"]["adjusted"].as_f64() {
        return s;
    }
    f["cvss"]
        .as_array()
        .expect("cvss")
        .iter()
        .filter_map(|c| c["base_score"].as_f64())
        .fold(-1.0, f64::max)
}

/// Everything docs/scan-report.md promises of every JSON report.
fn check_report(doc: &Value, what: &str) {
    assert_eq!(doc["schema_version"], 1, "{what}");
    assert!(doc["scanned_at"].is_string(), "{what}: scanned_at");
    let fs = findings(doc);
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for f in fs {
        let ctx = format!("{what}: finding {f}");
        let id = f["vulnerability_id"].as_str().expect(&ctx);
        assert!(!id.is_empty(), "{ctx}");
        let p = &f["package"];
        assert!(p["name"].as_str().is_some_and(|n| !n.is_empty()), "{ctx}");
        assert!(
            p.as_object().expect(&ctx).contains_key("source_name")
                && is_str_or_null(&p["source_name"]),
            "{ctx}: package.source_name must be present"
        );
        assert!(
            p["installed_version"]
                .as_str()
                .is_some_and(|v| !v.is_empty()),
            "{ctx}"
        );
        assert!(p["path"].is_string() && p["purl"].is_string(), "{ctx}");
        let obj = f.as_object().expect(&ctx);
        for k in ["fixed_version", "score", "epss", "kev"] {
            assert!(obj.contains_key(k), "{ctx}: {k} missing");
        }
        assert!(is_str_or_null(&f["fixed_version"]), "{ctx}");
        let status = f["status"].as_str().expect(&ctx);
        assert!(STATUSES.contains(&status), "{ctx}: status {status}");
        let severity = f["severity"].as_str().expect(&ctx);
        band_rank(severity);
        *counts.entry(severity).or_default() += 1;
        for c in f["cvss"].as_array().expect(&ctx) {
            assert!(c["vector"].is_string(), "{ctx}");
            let b = c["base_score"].as_f64().expect(&ctx);
            assert!((0.0..=10.0).contains(&b), "{ctx}");
        }
        match &f["score"] {
            Value::Null => {}
            s => {
                let adjusted = s["adjusted"].as_f64().expect(&ctx);
                let base = s["base"].as_f64().expect(&ctx);
                assert!(
                    (0.0..=10.0).contains(&adjusted) && (0.0..=10.0).contains(&base),
                    "{ctx}"
                );
                assert!(
                    s["vector"].is_string() && s["base_vector"].is_string(),
                    "{ctx}"
                );
                let adjustments = s["adjustments"].as_array().expect(&ctx);
                for a in adjustments {
                    assert!(
                        a["metric"].is_string()
                            && a["value"].is_string()
                            && a["reason"].is_string(),
                        "{ctx}"
                    );
                }
                if adjustments.is_empty() {
                    assert_eq!(adjusted, base, "{ctx}: no adjustment, yet the score moved");
                }
                // The band comes from the adjusted score when there is one.
                assert_eq!(
                    severity,
                    band_of(adjusted),
                    "{ctx}: band of the adjusted score"
                );
            }
        }
        assert!(
            f["epss"].is_null() || f["epss"]["score"].is_number(),
            "{ctx}"
        );
        assert!(
            f["kev"].is_null() || f["kev"]["date_added"].is_string(),
            "{ctx}"
        );
        if status == "fixed" {
            assert!(
                f["fixed_version"].is_string(),
                "{ctx}: status fixed without a fixed version"
            );
        }
    }

    let s = &doc["summary"];
    let n = |k: &str| {
        s[k].as_u64()
            .unwrap_or_else(|| panic!("{what}: summary.{k}")) as usize
    };
    assert_eq!(n("findings"), fs.len(), "{what}: summary.findings");
    let per_band: usize = [
        "critical",
        "high",
        "medium",
        "low",
        "informational",
        "untriaged",
    ]
    .iter()
    .map(|k| n(k))
    .sum();
    assert_eq!(per_band, fs.len(), "{what}: the bands do not add up: {s}");
    for band in BANDS {
        assert_eq!(
            n(&band.to_ascii_lowercase()),
            counts.get(band).copied().unwrap_or(0),
            "{what}: summary count of {band}"
        );
    }
    assert_eq!(
        n("fixable"),
        fs.iter().filter(|f| f["fixed_version"].is_string()).count(),
        "{what}: summary.fixable"
    );
    assert_eq!(
        n("kev"),
        fs.iter().filter(|f| !f["kev"].is_null()).count(),
        "{what}: summary.kev"
    );

    // Ranked: KEV first, then band, then score, most urgent first.
    for w in fs.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let (ka, kb) = (!a["kev"].is_null(), !b["kev"].is_null());
        assert!(
            ka || !kb,
            "{what}: a KEV finding ranks below a non-KEV one:\n{a}\n{b}"
        );
        if ka != kb {
            continue;
        }
        let (ba, bb) = (
            band_rank(a["severity"].as_str().expect("band")),
            band_rank(b["severity"].as_str().expect("band")),
        );
        assert!(
            ba >= bb,
            "{what}: {} ({}) ranks above {} ({})",
            a["vulnerability_id"],
            a["severity"],
            b["vulnerability_id"],
            b["severity"]
        );
        if ba == bb {
            assert!(
                effective_score(a) >= effective_score(b),
                "{what}: within a band, {} (score {}) ranks above {} (score {})",
                a["vulnerability_id"],
                effective_score(a),
                b["vulnerability_id"],
                effective_score(b)
            );
        }
    }
}

#[test]
fn json_report_alpine_root() {
    let doc = scan_json(alpine_root(), &[]);
    let fs = findings(&doc);
    assert!(
        fs.len() >= 50,
        "expected ~57 Alpine secdb findings, got {}",
        fs.len()
    );
    assert_eq!(doc["target"]["kind"], "root");
    assert_eq!(doc["target"]["os"], "alpine");
    assert_eq!(doc["target"]["os_release"], "3.4");
    let eol = fs
        .iter()
        .find(|f| f["vulnerability_id"] == "EOL-alpine-linux-3.4")
        .unwrap_or_else(|| panic!("no end-of-life finding in {:?}", ids(&doc)));
    assert_eq!(eol["status"], "end_of_life");
    assert_eq!(eol["package"]["kind"], "os");
    // The OS packages are matched by their source package (apk origin).
    let crypto = fs
        .iter()
        .find(|f| f["package"]["name"] == "libcrypto1.0")
        .expect("a libcrypto1.0 finding");
    assert_eq!(crypto["package"]["source_name"], "openssl");
    assert_eq!(crypto["detection"]["namespace"], "alpine:3.4");
    assert!(
        fs.iter()
            .filter(|f| f["package"]["kind"] == "apk")
            .all(|f| f["status"] == "fixed" && f["fixed_version"].is_string()),
        "the Alpine secdb only records fixes"
    );
    // The inventory problem of the database is carried as a warning.
    assert!(
        doc["warnings"]
            .as_array()
            .expect("warnings")
            .iter()
            .any(|w| w["kind"] == "inventory-problem"),
        "{}",
        doc["warnings"]
    );
}

#[test]
fn json_report_python_packages() {
    let doc = scan_json(&venv_old(), &[]);
    let fs = findings(&doc);
    assert!(
        fs.len() >= 30,
        "expected dozens of PyPI findings, got {}",
        fs.len()
    );
    let bands: BTreeSet<&str> = fs.iter().filter_map(|f| f["severity"].as_str()).collect();
    assert!(
        bands.contains("HIGH") && bands.contains("MEDIUM"),
        "{bands:?}"
    );
    assert!(
        fs.iter().filter(|f| !f["score"].is_null()).count() >= 5,
        "expected several scored findings"
    );
    assert!(
        fs.iter()
            .filter(|f| f["detection"]["method"] == "language-package")
            .all(|f| f["detection"]["namespace"] == "PyPI" && f["package"]["kind"] == "python"),
        "python findings come from the PyPI namespace"
    );
    // A known one: urllib3 1.24.1, CVE-2023-43804, fixed in 1.26.17.
    let u = fs
        .iter()
        .find(|f| f["vulnerability_id"] == "CVE-2023-43804" && f["package"]["name"] == "urllib3")
        .unwrap_or_else(|| panic!("no CVE-2023-43804 in {:?}", ids(&doc)));
    assert_eq!(u["package"]["installed_version"], "1.24.1");
    assert_eq!(u["fixed_version"], "1.26.17");
    assert_eq!(u["status"], "fixed");
}

#[test]
fn json_report_debian_statuses() {
    let doc = scan_json(debian10_root(), &[]);
    let fs = findings(&doc);
    let by: BTreeMap<(&str, &str), &Value> = fs
        .iter()
        .map(|f| {
            (
                (
                    f["vulnerability_id"].as_str().expect("id"),
                    f["package"]["name"].as_str().expect("name"),
                ),
                f,
            )
        })
        .collect();
    let putty = by
        .get(&("CVE-2021-36367", "putty"))
        .unwrap_or_else(|| panic!("no putty finding: {:?}", by.keys()));
    assert_eq!(putty["status"], "affected");
    assert!(putty["fixed_version"].is_null());
    assert_eq!(putty["severity"], "LOW", "Debian's urgency `low`");
    for name in ["redis-server", "redis-tools"] {
        for cve in ["CVE-2019-10192", "CVE-2019-10193"] {
            let f = by
                .get(&(cve, name))
                .unwrap_or_else(|| panic!("no {cve} for {name}: {:?}", by.keys()));
            assert_eq!(f["status"], "fixed");
            assert_eq!(f["fixed_version"], "5:5.0.3-4+deb10u1");
            assert_eq!(f["package"]["source_name"], "redis");
        }
    }
    let eol = by
        .get(&("EOL-debian-10", "debian"))
        .unwrap_or_else(|| panic!("no end-of-life finding: {:?}", by.keys()));
    assert_eq!(eol["status"], "end_of_life");
}

// ---------------------------------------------------------------- saved inventory

fn scan_saved_inventory(root: &Path) -> (Value, Value) {
    let o = kensa(&["inventory", "--root", utf8(root), "--format", "json"]);
    assert!(o.status.success(), "kensa inventory: {}", text(&o));
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("inventory.json");
    std::fs::write(&file, &o.stdout).expect("write");
    let inventory: Value = serde_json::from_slice(&o.stdout).expect("inventory JSON");
    let o = scan(&["--inventory", utf8(&file), "--format", "json"]);
    assert!(o.status.success(), "kensa scan --inventory: {}", text(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).expect("report JSON");
    check_report(&doc, "--inventory");
    (doc, inventory)
}

#[test]
fn saved_inventory_gives_the_same_findings_as_the_root() {
    for root in [
        alpine_root().to_owned(),
        venv_old(),
        debian10_root().to_owned(),
    ] {
        let direct = scan_json(&root, &[]);
        let (saved, _) = scan_saved_inventory(&root);
        assert!(!findings(&direct).is_empty(), "{}", root.display());
        assert_eq!(keys(&saved), keys(&direct), "{}", root.display());
        assert_eq!(saved["summary"], direct["summary"], "{}", root.display());
        let statuses = |d: &Value| {
            findings(d)
                .iter()
                .map(|f| (f["status"].clone(), f["severity"].clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(statuses(&saved), statuses(&direct), "{}", root.display());
        assert_eq!(saved["target"]["os"], direct["target"]["os"]);
        assert_eq!(saved["target"]["packages"], direct["target"]["packages"]);
    }
}

// ---------------------------------------------------------------- filters

#[test]
fn severity_filter_keeps_only_those_bands() {
    let root = venv_old();
    let all = scan_json(&root, &[]);
    for flags in [
        &["--severity", "high,critical"][..],
        &["--severity", "HIGH", "--severity", "Critical"][..],
    ] {
        let some = scan_json(&root, flags);
        let fs = findings(&some);
        assert!(!fs.is_empty(), "{flags:?}: venv-old has HIGH findings");
        assert!(
            fs.iter()
                .all(|f| f["severity"] == "HIGH" || f["severity"] == "CRITICAL"),
            "{flags:?}"
        );
        let expected: Vec<Key> = findings(&all)
            .iter()
            .filter(|f| f["severity"] == "HIGH" || f["severity"] == "CRITICAL")
            .map(key)
            .collect();
        assert_eq!(
            keys(&some),
            expected,
            "{flags:?}: not the unfiltered subset"
        );
        assert!(
            expected.len() < findings(&all).len(),
            "the filter must drop something"
        );
        let s = &some["summary"];
        assert_eq!(s["findings"], fs.len());
        assert_eq!(s["high"], all["summary"]["high"]);
        assert_eq!(s["critical"], all["summary"]["critical"]);
        for band in ["medium", "low", "informational", "untriaged"] {
            assert_eq!(s[band], 0, "{flags:?}: summary.{band} after filtering");
        }
    }
}

#[test]
fn only_fixed_keeps_findings_with_a_fix() {
    let root = debian10_root();
    let all = scan_json(root, &[]);
    assert!(
        findings(&all).iter().any(|f| f["fixed_version"].is_null()),
        "the Debian root must have an unfixed finding"
    );
    let some = scan_json(root, &["--only-fixed"]);
    let fs = findings(&some);
    assert!(!fs.is_empty());
    assert!(fs.iter().all(|f| f["fixed_version"].is_string()));
    let expected: Vec<Key> = findings(&all)
        .iter()
        .filter(|f| f["fixed_version"].is_string())
        .map(key)
        .collect();
    assert_eq!(keys(&some), expected);
    assert_eq!(some["summary"]["findings"], fs.len());
    assert_eq!(some["summary"]["fixable"], fs.len());
    assert_eq!(
        some["summary"]["low"], 0,
        "the LOW putty finding has no fix"
    );
}

#[test]
fn ignore_unfixed_drops_only_affected() {
    let root = debian10_root();
    let all = scan_json(root, &[]);
    let statuses = |d: &Value| -> BTreeSet<String> {
        findings(d)
            .iter()
            .map(|f| f["status"].as_str().expect("status").to_owned())
            .collect()
    };
    assert!(statuses(&all).contains("affected"), "{:?}", statuses(&all));
    let some = scan_json(root, &["--ignore-unfixed"]);
    let expected: Vec<Key> = findings(&all)
        .iter()
        .filter(|f| f["status"] != "affected")
        .map(key)
        .collect();
    assert_eq!(keys(&some), expected);
    let kept = statuses(&some);
    assert!(!kept.contains("affected"), "{kept:?}");
    // Not "keep only fixed": a status without a fix stays.
    assert!(kept.contains("end_of_life"), "{kept:?}");
    assert!(kept.contains("fixed"), "{kept:?}");
    assert_eq!(some["summary"]["findings"], expected.len());
    assert_eq!(some["summary"]["low"], 0);
    assert_eq!(
        some["summary"]["low"].as_u64().expect("low") + 1,
        all["summary"]["low"].as_u64().expect("low"),
        "only the affected putty finding (LOW) is dropped"
    );
}

#[test]
fn kev_filter_without_kev_hits_leaves_nothing() {
    for root in [alpine_root().to_owned(), venv_old()] {
        let all = scan_json(&root, &[]);
        assert!(!findings(&all).is_empty());
        assert_eq!(
            all["summary"]["kev"],
            0,
            "{}: precondition: no KEV hit",
            root.display()
        );
        let some = scan_json(&root, &["--kev"]);
        assert!(findings(&some).is_empty(), "{}", root.display());
        for k in [
            "findings",
            "critical",
            "high",
            "medium",
            "low",
            "informational",
            "untriaged",
            "fixable",
            "kev",
        ] {
            assert_eq!(some["summary"][k], 0, "{}: summary.{k}", root.display());
        }
    }
}

// ---------------------------------------------------------------- exit status and errors

#[test]
fn exit_code_gates_on_remaining_findings() {
    let root = utf8(alpine_root());
    // Findings, no --exit-code: success.
    let o = scan(&["--root", root, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // Findings remain: the status asked for, and the report is still written.
    let o = scan(&["--root", root, "--format", "json", "--exit-code", "3"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).expect("report JSON");
    assert!(!findings(&doc).is_empty());
    // The filters leave none, but the real apk database has a block
    // without a version (a skipped record): still the status asked for,
    // because "no findings" is not "clean" when something was not read.
    for filter in [&["--kev"][..], &["--severity", "critical"][..]] {
        let mut args = vec!["--root", root, "--format", "json", "--exit-code", "3"];
        args.extend_from_slice(filter);
        let o = scan(&args);
        assert_eq!(o.status.code(), Some(3), "{filter:?}: {}", text(&o));
        let doc: Value = serde_json::from_slice(&o.stdout).expect("report JSON");
        assert!(findings(&doc).is_empty(), "{filter:?}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("skipped"),
            "{}",
            text(&o)
        );
    }
    // The same packages with nothing skipped (the saved inventory without
    // its problem), and the filters leave none: success.
    let o = kensa(&["inventory", "--root", root, "--format", "json"]);
    assert!(o.status.success(), "{}", text(&o));
    let mut inv: Value = serde_json::from_slice(&o.stdout).expect("inventory JSON");
    assert_eq!(
        inv["problems"].as_array().map(Vec::len),
        Some(1),
        "{}",
        inv["problems"]
    );
    inv["problems"] = Value::Array(Vec::new());
    let dir = tempfile::tempdir().expect("temp dir");
    let saved = dir.path().join("inventory.json");
    std::fs::write(&saved, inv.to_string()).expect("write");
    for filter in [&["--kev"][..], &["--severity", "critical"][..]] {
        let mut args = vec![
            "--inventory",
            utf8(&saved),
            "--format",
            "json",
            "--exit-code",
            "3",
        ];
        args.extend_from_slice(filter);
        let o = scan(&args);
        assert_eq!(o.status.code(), Some(0), "{filter:?}: {}", text(&o));
        let doc: Value = serde_json::from_slice(&o.stdout).expect("report JSON");
        assert!(findings(&doc).is_empty(), "{filter:?}");
    }
}

#[test]
fn missing_store_is_an_error_that_says_how_to_build_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("no-kb");
    let o = kensa(&[
        "scan",
        "--store",
        utf8(&store),
        "--root",
        utf8(alpine_root()),
        "--exit-code",
        "3",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("kensa db update"), "{err}");
    assert!(
        err.contains(utf8(&store)),
        "the message names the store: {err}"
    );
    assert!(o.stdout.is_empty(), "no report without a knowledge base");
    assert!(!store.exists(), "a failed scan must not create the store");
}

#[test]
fn unreadable_inputs_are_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A root that does not exist.
    let missing = dir.path().join("no-such-root");
    let o = scan(&["--root", utf8(&missing), "--exit-code", "3"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(utf8(&missing)),
        "{}",
        text(&o)
    );
    assert!(o.stdout.is_empty(), "{}", text(&o));

    // A malformed inventory: the message names the file and the line.
    let bad = dir.path().join("broken-inventory.json");
    std::fs::write(
        &bad,
        "{\n  \"schema_version\": 1,\n  \"packages\": [\n    {\"name\": \n",
    )
    .expect("write");
    let o = scan(&["--inventory", utf8(&bad), "--exit-code", "3"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(utf8(&bad)), "{err}");
    assert!(err.contains("line 5"), "the message names the line: {err}");

    // An inventory file that does not exist.
    let o = scan(&["--inventory", utf8(&dir.path().join("nope.json"))]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("nope.json"),
        "{}",
        text(&o)
    );

    // A JSON document that is not an inventory of this schema.
    let other = dir.path().join("future.json");
    let o = kensa(&[
        "inventory",
        "--root",
        utf8(alpine_root()),
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let mut inv: Value = serde_json::from_slice(&o.stdout).expect("inventory JSON");
    inv["schema_version"] = Value::from(999);
    std::fs::write(&other, inv.to_string()).expect("write");
    let o = scan(&["--inventory", utf8(&other)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("999"),
        "{}",
        text(&o)
    );
}

#[test]
fn bad_option_values_are_usage_errors() {
    let root = utf8(alpine_root());
    for (flag, value) in [
        ("--format", "xml"),
        ("--severity", "severe"),
        ("--severity", "high,urgent"),
        ("--exposure", "public"),
        ("--exit-code", "256"),
    ] {
        let mut args = vec!["--root", root, flag, value];
        if flag != "--exit-code" {
            args.extend(["--exit-code", "3"]);
        }
        let o = scan(&args);
        assert_eq!(o.status.code(), Some(2), "{flag} {value}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("invalid value") && err.contains(flag),
            "{flag} {value}: not a clap usage error: {err}"
        );
        assert!(o.stdout.is_empty(), "{flag} {value}: {}", text(&o));
    }
    // Two targets at once.
    let o = scan(&["--root", root, "--inventory", "x.json"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("cannot be used with"),
        "{}",
        text(&o)
    );
}

// ---------------------------------------------------------------- CSV

/// RFC 4180 records: quoted fields with doubled quotes, commas and line
/// breaks inside quotes.
fn parse_csv(s: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' => {
                assert!(
                    field.is_empty(),
                    "a quote inside an unquoted field: {field:?}"
                );
                quoted = true;
            }
            ',' => row.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            _ => field.push(c),
        }
    }
    assert!(!quoted, "unterminated quoted field");
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

#[test]
fn csv_rows_agree_with_the_json_findings() {
    for root in [
        alpine_root().to_owned(),
        venv_old(),
        debian10_root().to_owned(),
    ] {
        let what = root.display().to_string();
        let doc = scan_json(&root, &[]);
        let rows = parse_csv(&scan_format(&root, "csv"));
        let (header, rows) = rows.split_first().expect("a header row");
        assert_eq!(
            header,
            &kensa_detect::report::CSV_COLUMNS.to_vec(),
            "{what}"
        );
        let fs = findings(&doc);
        assert_eq!(rows.len(), fs.len(), "{what}: one row per finding");
        for (row, f) in rows.iter().zip(fs) {
            assert_eq!(row.len(), header.len(), "{what}: {row:?}");
            let col: BTreeMap<&str, &str> = header
                .iter()
                .map(String::as_str)
                .zip(row.iter().map(String::as_str))
                .collect();
            let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            let one = |v: &Value| v.as_f64().map(|x| format!("{x:.1}")).unwrap_or_default();
            let expect = [
                ("vulnerability_id", s(&f["vulnerability_id"])),
                ("severity", s(&f["severity"])),
                ("score", one(&f["score"]["adjusted"])),
                ("base_score", one(&f["score"]["base"])),
                ("status", s(&f["status"])),
                ("package", s(&f["package"]["name"])),
                ("kind", s(&f["package"]["kind"])),
                ("installed_version", s(&f["package"]["installed_version"])),
                ("fixed_version", s(&f["fixed_version"])),
                ("source_package", s(&f["package"]["source_name"])),
                ("path", s(&f["package"]["path"])),
                (
                    "kev",
                    if f["kev"].is_null() { "no" } else { "yes" }.to_owned(),
                ),
                ("method", s(&f["detection"]["method"])),
                ("title", s(&f["title"])),
                ("remediation", s(&f["remediation"])),
                (
                    "aliases",
                    f["aliases"]
                        .as_array()
                        .expect("aliases")
                        .iter()
                        .map(|a| a.as_str().expect("alias"))
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                (
                    "vendor_severity",
                    if f["vendor_severity"].is_null() {
                        String::new()
                    } else {
                        format!(
                            "{}:{}",
                            s(&f["vendor_severity"]["source"]),
                            s(&f["vendor_severity"]["value"])
                        )
                    },
                ),
            ];
            for (c, v) in expect {
                assert_eq!(
                    col[c], v,
                    "{what}: column {c} of the row for {}",
                    f["vulnerability_id"]
                );
            }
        }
    }
}

// ---------------------------------------------------------------- SARIF

#[test]
fn sarif_has_one_result_per_finding() {
    for root in [alpine_root().to_owned(), venv_old()] {
        let what = root.display().to_string();
        let doc = scan_json(&root, &[]);
        let sarif: Value =
            serde_json::from_str(&scan_format(&root, "sarif")).expect("SARIF is JSON");
        assert_eq!(sarif["version"], "2.1.0", "{what}");
        let runs = sarif["runs"].as_array().expect("runs");
        assert_eq!(runs.len(), 1, "{what}");
        let run = &runs[0];
        let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
        let rule_ids: BTreeSet<&str> = rules
            .iter()
            .map(|r| r["id"].as_str().expect("rule id"))
            .collect();
        assert_eq!(rule_ids.len(), rules.len(), "{what}: duplicate rule ids");
        let results = run["results"].as_array().expect("results");
        let fs = findings(&doc);
        assert_eq!(results.len(), fs.len(), "{what}: one result per finding");
        assert_eq!(
            rule_ids.len(),
            ids(&doc).len(),
            "{what}: one rule per vulnerability"
        );
        for (r, f) in results.iter().zip(fs) {
            let rule = r["ruleId"].as_str().expect("ruleId");
            assert!(rule_ids.contains(rule), "{what}: {rule} has no rule");
            assert_eq!(r["ruleId"], f["vulnerability_id"], "{what}");
            let level = r["level"].as_str().expect("level");
            let expected = match f["severity"].as_str().expect("band") {
                "CRITICAL" | "HIGH" => "error",
                "MEDIUM" => "warning",
                _ => "note",
            };
            assert_eq!(
                level, expected,
                "{what}: level of {rule} ({})",
                f["severity"]
            );
            assert_eq!(
                r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                f["package"]["path"],
                "{what}: {rule}"
            );
            let msg = r["message"]["text"].as_str().expect("message");
            assert!(
                msg.contains(f["package"]["name"].as_str().expect("name")) && msg.contains(rule),
                "{what}: {msg}"
            );
        }
        // A scored vulnerability carries GitHub's security-severity.
        for f in fs.iter().filter(|f| !f["score"].is_null()) {
            let id = f["vulnerability_id"].as_str().expect("id");
            let rule = rules.iter().find(|r| r["id"] == id).expect("its rule");
            assert_eq!(
                rule["properties"]["security-severity"],
                format!("{:.1}", f["score"]["adjusted"].as_f64().expect("adjusted")),
                "{what}: {id}"
            );
        }
    }
}

// ---------------------------------------------------------------- CycloneDX

#[test]
fn cyclonedx_components_and_vulnerabilities() {
    for root in [
        alpine_root().to_owned(),
        venv_old(),
        debian10_root().to_owned(),
    ] {
        let what = root.display().to_string();
        let doc = scan_json(&root, &[]);
        let o = kensa(&["inventory", "--root", utf8(&root), "--format", "json"]);
        assert!(o.status.success(), "{}", text(&o));
        let inventory: Value = serde_json::from_slice(&o.stdout).expect("inventory JSON");
        let purls: BTreeSet<&str> = inventory["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .filter_map(|p| p["purl"].as_str())
            .filter(|p| !p.is_empty())
            .collect();
        assert!(!purls.is_empty(), "{what}");

        let bom: Value =
            serde_json::from_str(&scan_format(&root, "cyclonedx")).expect("CycloneDX is JSON");
        assert_eq!(bom["bomFormat"], "CycloneDX", "{what}");
        assert_eq!(bom["specVersion"], "1.5", "{what}");
        let components = bom["components"].as_array().expect("components");
        let refs: BTreeSet<&str> = components
            .iter()
            .map(|c| c["bom-ref"].as_str().expect("bom-ref"))
            .collect();
        assert_eq!(refs.len(), components.len(), "{what}: duplicate bom-refs");
        assert!(
            components.len() >= purls.len(),
            "{what}: {} components, {} purls",
            components.len(),
            purls.len()
        );
        let component_purls: BTreeSet<&str> = components
            .iter()
            .filter_map(|c| c["purl"].as_str())
            .collect();
        for p in &purls {
            assert!(
                component_purls.contains(p),
                "{what}: {p} is not a component"
            );
        }

        let vulns = bom["vulnerabilities"].as_array().expect("vulnerabilities");
        let vuln_ids: BTreeSet<String> = vulns
            .iter()
            .map(|v| v["id"].as_str().expect("id").to_owned())
            .collect();
        assert_eq!(
            vuln_ids.len(),
            vulns.len(),
            "{what}: one entry per vulnerability"
        );
        assert_eq!(vuln_ids, ids(&doc), "{what}");
        let mut affects: BTreeSet<(String, String)> = BTreeSet::new();
        for v in vulns {
            let list = v["affects"].as_array().expect("affects");
            assert!(!list.is_empty(), "{what}: {} affects nothing", v["id"]);
            for a in list {
                let r = a["ref"].as_str().expect("ref");
                assert!(
                    refs.contains(r),
                    "{what}: {} affects {r}, not a component",
                    v["id"]
                );
                affects.insert((v["id"].as_str().expect("id").to_owned(), r.to_owned()));
            }
        }
        // Every finding is one of the affects, by its package's purl.
        for f in findings(&doc) {
            let purl = f["package"]["purl"].as_str().expect("purl");
            if purl.is_empty() {
                continue;
            }
            let k = (
                f["vulnerability_id"].as_str().expect("id").to_owned(),
                purl.to_owned(),
            );
            assert!(
                affects.contains(&k),
                "{what}: {k:?} missing from the affects"
            );
        }
    }
}

// ---------------------------------------------------------------- table

#[test]
fn table_for_people() {
    let root = alpine_root();
    let doc = scan_json(root, &[]);
    let table = scan_format(root, "table");
    assert!(
        !table.contains('\x1b'),
        "no colour when standard output is not a terminal"
    );
    let lines: Vec<&str> = table.lines().collect();
    let first = lines.first().expect("a first line");
    assert!(
        first.starts_with("root ") && first.contains(utf8(root)) && first.contains("(alpine 3.4)"),
        "the first line names the target and its OS: {first}"
    );
    assert!(
        first.contains(&format!("{} packages", doc["target"]["packages"])),
        "{first}"
    );
    let s = &doc["summary"];
    let counts = lines
        .iter()
        .find(|l| l.contains(" findings: "))
        .unwrap_or_else(|| panic!("no summary line:\n{table}"));
    for (n, word) in [
        (&s["findings"], "findings"),
        (&s["critical"], "critical"),
        (&s["high"], "high"),
        (&s["untriaged"], "untriaged"),
        (&s["fixable"], "fixable"),
    ] {
        assert!(counts.contains(&format!("{n} {word}")), "{word}: {counts}");
    }
    for id in ids(&doc) {
        assert!(table.contains(&id), "{id} is not in the table");
    }

    // Each apk package's group is headed by the command that installs the
    // highest fix of its findings, in apk's own order.
    let mut groups: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for f in findings(&doc)
        .iter()
        .filter(|f| f["package"]["kind"] == "apk")
    {
        groups
            .entry((
                f["package"]["name"].as_str().expect("name").to_owned(),
                f["package"]["installed_version"]
                    .as_str()
                    .expect("version")
                    .to_owned(),
            ))
            .or_default()
            .push(f["fixed_version"].as_str().expect("a fix").to_owned());
    }
    assert!(groups.len() >= 4, "{groups:?}");
    for ((name, version), fixes) in &groups {
        let highest = fixes
            .iter()
            .max_by(|a, b| Ecosystem::Apk.compare(a, b).expect("apk versions"))
            .expect("a fix");
        let header = lines
            .iter()
            .position(|l| l.starts_with(&format!("{name} {version} (apk")))
            .unwrap_or_else(|| panic!("no group for {name} {version}:\n{table}"));
        assert_eq!(
            lines.get(header + 1).copied(),
            Some(format!("  fix: apk upgrade {name} (to {highest} or later)").as_str()),
            "the fix line of {name}"
        );
    }
}

// ---------------------------------------------------------------- --output

/// Replace the JSON string value of `field` (first occurrence) by `with`.
fn with_time(text: &str, field: &str, with: &str) -> String {
    let marker = format!("\"{field}\": \"");
    let start = text
        .find(&marker)
        .unwrap_or_else(|| panic!("no {field} in the output"))
        + marker.len();
    let end = start + text[start..].find('"').expect("a closing quote");
    format!("{}{with}{}", &text[..start], &text[end..])
}

#[test]
fn output_file_holds_what_stdout_would() {
    let root = utf8(alpine_root());
    let dir = tempfile::tempdir().expect("temp dir");
    for (format, time_field) in [
        ("json", Some("scanned_at")),
        ("cyclonedx", Some("timestamp")),
        ("table", None),
        ("csv", None),
        ("sarif", None),
    ] {
        let file = dir.path().join(format!("report.{format}"));
        let o = scan(&["--root", root, "--format", format, "--output", utf8(&file)]);
        assert!(o.status.success(), "{format}: {}", text(&o));
        assert!(
            o.stdout.is_empty(),
            "{format}: the report went to the file, not stdout"
        );
        let written = std::fs::read_to_string(&file).expect("the report file");
        let printed = scan_format(alpine_root(), format);
        assert!(!written.is_empty(), "{format}");
        let printed = match time_field {
            Some(field) => {
                let v: Value = serde_json::from_str(&written).expect("JSON");
                let t = if field == "timestamp" {
                    &v["metadata"]["timestamp"]
                } else {
                    &v[field]
                };
                with_time(&printed, field, t.as_str().expect("a time"))
            }
            None => printed,
        };
        assert_eq!(written, printed, "{format}: --output differs from stdout");
    }
    // The short flag, and the exit status still follows the findings.
    let file = dir.path().join("short.json");
    let o = scan(&[
        "--root",
        root,
        "--format",
        "json",
        "-o",
        utf8(&file),
        "--exit-code",
        "3",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let doc: Value = serde_json::from_slice(&std::fs::read(&file).expect("file")).expect("JSON");
    check_report(&doc, "-o");
    // A file that cannot be created is an error naming it.
    let bad = dir.path().join("no-such-dir/report.json");
    let o = scan(&["--root", root, "--output", utf8(&bad)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(utf8(&bad)),
        "{}",
        text(&o)
    );
}

// ---------------------------------------------------------------- exposure

/// CVSS v3.1 `Roundup`.
fn roundup(x: f64) -> f64 {
    let i = (x * 100_000.0).round() as i64;
    if i % 10_000 == 0 {
        i as f64 / 100_000.0
    } else {
        ((i / 10_000) + 1) as f64 / 10.0
    }
}

/// The CVSS v3.1 environmental score of `base` (a v3 base vector) with
/// only `MAV` set, computed here from the specification's formulas: an
/// independent check of Kensa's rewrite.
fn environmental_with_mav(base: &str, mav: &str) -> f64 {
    let m: BTreeMap<&str, &str> = base
        .split('/')
        .skip(1)
        .map(|kv| kv.split_once(':').expect("metric:value"))
        .collect();
    let changed = m["S"] == "C";
    let av = |v: &str| -> f64 {
        match v {
            "N" => 0.85,
            "A" => 0.62,
            "L" => 0.55,
            "P" => 0.2,
            _ => panic!("AV {v}"),
        }
    };
    let ac = match m["AC"] {
        "L" => 0.77,
        _ => 0.44,
    };
    let pr = match (m["PR"], changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        ("H", false) => 0.27,
        _ => 0.5,
    };
    let ui = match m["UI"] {
        "N" => 0.85,
        _ => 0.62,
    };
    let cia = |v: &str| -> f64 {
        match v {
            "H" => 0.56,
            "L" => 0.22,
            _ => 0.0,
        }
    };
    let miss = (1.0 - (1.0 - cia(m["C"])) * (1.0 - cia(m["I"])) * (1.0 - cia(m["A"]))).min(0.915);
    let impact = if changed {
        7.52 * (miss - 0.029) - 3.25 * (miss * 0.9731 - 0.02).powi(13)
    } else {
        6.42 * miss
    };
    let exploitability = 8.22 * av(mav) * ac * pr * ui;
    if impact <= 0.0 {
        0.0
    } else if changed {
        roundup(roundup((1.08 * (impact + exploitability)).min(10.0)))
    } else {
        roundup(roundup((impact + exploitability).min(10.0)))
    }
}

fn has_mav(f: &Value) -> bool {
    f["score"]["adjustments"]
        .as_array()
        .is_some_and(|a| a.iter().any(|x| x["metric"] == "MAV"))
}

#[test]
fn exposure_internal_lowers_network_vectors() {
    let root = venv_old();
    let unknown = scan_json(&root, &["--exposure", "unknown"]);
    let internal = scan_json(&root, &["--exposure", "internal"]);
    // The same findings; only scores (and so bands and order) may move.
    let sorted = |d: &Value| {
        let mut k = keys(d);
        k.sort();
        k
    };
    assert_eq!(sorted(&internal), sorted(&unknown));

    let base_of = |d: &Value| -> BTreeMap<Key, Value> {
        findings(d)
            .iter()
            .map(|f| (key(f), f["score"].clone()))
            .collect()
    };
    let unknown_scores = base_of(&unknown);
    let mut network = 0;
    for f in findings(&internal) {
        let s = &f["score"];
        if s.is_null() {
            continue;
        }
        let id = &f["vulnerability_id"];
        let base_vector = s["base_vector"].as_str().expect("base_vector");
        let (base, adjusted) = (
            s["base"].as_f64().expect("base"),
            s["adjusted"].as_f64().expect("adjusted"),
        );
        assert_eq!(
            unknown_scores[&key(f)]["base"],
            s["base"],
            "{id}: the base score does not depend on exposure"
        );
        if base_vector.contains("/AV:N/") {
            network += 1;
            let adj = s["adjustments"].as_array().expect("adjustments");
            assert!(
                adj.iter()
                    .any(|a| a["metric"] == "MAV" && a["value"] == "A"),
                "{id}: AV:N on an internal host must get MAV:A: {s}"
            );
            assert!(
                s["vector"].as_str().expect("vector").contains("MAV:A"),
                "{id}: {s}"
            );
            assert!(adjusted <= base, "{id}: {adjusted} > {base}");
            let expected = environmental_with_mav(base_vector, "A");
            assert!(
                (adjusted - expected).abs() < 1e-9,
                "{id}: {base_vector} with MAV:A scores {expected}, Kensa says {adjusted}"
            );
        } else {
            assert!(!has_mav(f), "{id}: {base_vector} is not AV:N, yet: {s}");
            assert_eq!(adjusted, base, "{id}");
        }
    }
    assert!(
        network >= 5,
        "expected several AV:N vectors in venv-old, found {network}"
    );
    assert!(
        findings(&internal)
            .iter()
            .any(|f| f["score"]["adjusted"].as_f64() < f["score"]["base"].as_f64()),
        "MAV:A must lower some score"
    );

    // Unknown exposure, and an internet-facing root scan (no socket table):
    // no MAV rewrite, the adjusted score is the base score.
    let internet = scan_json(&root, &["--exposure", "internet"]);
    for (what, d) in [("unknown", &unknown), ("internet", &internet)] {
        for f in findings(d).iter().filter(|f| !f["score"].is_null()) {
            assert!(!has_mav(f), "--exposure {what}: {}", f["score"]);
            assert_eq!(
                f["score"]["adjusted"], f["score"]["base"],
                "--exposure {what}"
            );
        }
    }
}

// ---------------------------------------------------------------- --today

#[test]
fn today_moves_the_end_of_life_check() {
    // Alpine 3.4's support ended on 2018-05-01 (endoflife.date).
    let eol = |today: &str| -> Vec<Value> {
        let doc = scan_json(alpine_root(), &["--today", today]);
        findings(&doc)
            .iter()
            .filter(|f| f["status"] == "end_of_life")
            .cloned()
            .collect()
    };
    assert!(
        eol("2018-05-01").is_empty(),
        "still supported on its last day"
    );
    let after = eol("2018-05-02");
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0]["vulnerability_id"], "EOL-alpine-linux-3.4");
    assert_eq!(after[0]["published"], "2018-05-01");
    // The package findings are the same either way; only the OS finding
    // and its note come and go.
    let before = scan_json(alpine_root(), &["--today", "2018-05-01"]);
    let later = scan_json(alpine_root(), &["--today", "2018-05-02"]);
    let apk = |d: &Value| -> Vec<Key> {
        findings(d)
            .iter()
            .filter(|f| f["package"]["kind"] == "apk")
            .map(key)
            .collect()
    };
    assert_eq!(apk(&before), apk(&later));
    assert!(!apk(&before).is_empty());
}

/// End-of-life dates are compared as `YYYY-MM-DD` text, so anything else
/// would compare wrongly ("2018-1-1" sorts after "2018-05-01"): refused.
#[test]
fn today_must_be_a_day_written_yyyy_mm_dd() {
    for bad in ["2018-1-1", "yesterday", "", "2018-13-01", "2018-05-00"] {
        let o = scan(&["--root", utf8(alpine_root()), "--today", bad]);
        assert_eq!(o.status.code(), Some(2), "--today {bad:?}: {}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("YYYY-MM-DD"),
            "--today {bad:?}: {}",
            text(&o)
        );
    }
}

// ---------------------------------------------------------- real rpm data

/// A real CBL-Mariner 2.0 rpm database (129 packages) against Microsoft's
/// real OVAL sample: the one definition that names an installed package at
/// an older build (openssl 1.1.1k-7.cm2, fixed in 1.1.1k-28.cm2) is the
/// only finding, and Microsoft's own vendor string is not mistaken for a
/// third party.
#[test]
fn mariner_rpm_database_against_the_vendor_oval() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("var/lib/rpm")).expect("mkdir");
    std::fs::create_dir_all(root.join("etc")).expect("mkdir");
    std::fs::copy(
        kensa_testkit::data_path("fixtures/rpm/mariner-2.0-sqlite/rpmdb.sqlite"),
        root.join("var/lib/rpm/rpmdb.sqlite"),
    )
    .expect("copy the rpm database");
    std::fs::write(
        root.join("etc/os-release"),
        "NAME=\"Common Base Linux Mariner\"\nID=mariner\nVERSION_ID=\"2.0\"\n",
    )
    .expect("write");
    let doc = scan_json(root, &[]);
    check_report(&doc, "mariner");
    let got: Vec<(String, String, String, String)> = findings(&doc)
        .iter()
        .map(|f| {
            (
                f["vulnerability_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                f["package"]["name"].as_str().unwrap_or_default().to_owned(),
                f["package"]["installed_version"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                f["fixed_version"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [(
            "CVE-2023-5678".to_owned(),
            "openssl".to_owned(),
            "1.1.1k-7.cm2".to_owned(),
            "0:1.1.1k-28.cm2".to_owned()
        )]
    );
    assert!(
        !doc["warnings"]
            .as_array()
            .expect("warnings")
            .iter()
            .any(|w| w["kind"] == "third-party-package"),
        "{}",
        doc["warnings"]
    );
}

// ------------------------------------------------------------------ image

/// `kensa scan --image` on a `docker save` archive made here with tar and
/// sha256sum from the Alpine root: the same findings as scanning the root,
/// each attributed to the image's one layer.
#[test]
fn image_archive_gives_the_root_findings_with_their_layer() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let script = format!(
        r#"set -e
cd "{d}"
tar -C "{root}" -cf layer.tar lib etc
diff=$(sha256sum layer.tar | cut -d' ' -f1)
mkdir -p "$diff"
mv layer.tar "$diff/layer.tar"
printf '{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["sha256:%s"]}}}}' "$diff" > config.json
cfg=$(sha256sum config.json | cut -d' ' -f1)
mv config.json "$cfg.json"
printf '[{{"Config":"%s.json","RepoTags":["alpine:3.4-test"],"Layers":["%s/layer.tar"]}}]' "$cfg" "$diff" > manifest.json
tar -cf image.tar manifest.json "$cfg.json" "$diff"
echo "sha256:$diff""#,
        d = d.display(),
        root = alpine_root().display()
    );
    let o = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .output()
        .expect("sh");
    assert!(o.status.success(), "{}", text(&o));
    let layer = String::from_utf8_lossy(&o.stdout).trim().to_owned();
    let image = d.join("image.tar");
    let o = scan(&["--image", utf8(&image), "--format", "json"]);
    assert!(o.status.success(), "{}", text(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).expect("report JSON");
    check_report(&doc, "image");
    assert_eq!(doc["target"]["kind"], "image");
    let from_root = scan_json(alpine_root(), &[]);
    assert_eq!(keys(&doc), keys(&from_root));
    for f in findings(&doc) {
        if f["package"]["kind"] == "apk" {
            assert_eq!(f["package"]["layer"].as_str(), Some(layer.as_str()), "{f}");
        }
    }
}
