//! The documents `kensa` writes, held to what the docs promise:
//! - the inventory document and the scan report against their JSON Schemas
//!   (docs/schemas/, validated with the `jsonschema` crate), on real roots;
//! - every `kensa scan --format` output and the server's Inspector CSV and
//!   JSON exports against golden files (insta snapshots in snapshots/),
//!   with what changes from run to run (times, temporary paths, ids)
//!   redacted. `cargo insta review` (or INSTA_UPDATE=always) accepts a
//!   deliberate change.

use std::path::Path;
use std::process::{Command, Output};

use kensa_testkit::db::Backend;
use kensa_testkit::server::{Auth, TestServer};
use serde_json::Value;

use crate::support::{alpine_root, debian10_root, kb, utf8};

/// The day end-of-life dates are compared with, so that the goldens do
/// not change when a release reaches its end.
const TODAY: &str = "2026-06-01";

fn kensa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kensa"))
        .args(args)
        .output()
        .expect("kensa runs")
}

fn ok(o: Output, what: &str) -> String {
    assert!(
        o.status.success(),
        "{what}: {}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("utf-8 output")
}

fn json(text: &str, what: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{what} printed no JSON ({e}): {text}"))
}

fn validator(schema: &str) -> jsonschema::Validator {
    let path = kensa_testkit::repo_root().join("docs/schemas").join(schema);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    jsonschema::meta::validate(&schema)
        .unwrap_or_else(|e| panic!("{} is not a valid JSON Schema: {e}", path.display()));
    jsonschema::validator_for(&schema)
        .unwrap_or_else(|e| panic!("{} does not compile: {e}", path.display()))
}

fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

fn assert_valid(schema: &str, doc: &Value, what: &str) {
    let errs = errors(&validator(schema), doc);
    assert!(
        errs.is_empty(),
        "{what} does not match docs/schemas/{schema}:\n  {}",
        errs.join("\n  ")
    );
}

fn inventory(root: &Path) -> Value {
    let what = format!("kensa inventory --root {}", root.display());
    json(
        &ok(kensa(&["inventory", "--root", utf8(root)]), &what),
        &what,
    )
}

fn scan(root: &Path, format: &str) -> String {
    ok(
        kensa(&[
            "scan",
            "--store",
            utf8(kb()),
            "--root",
            utf8(root),
            "--today",
            TODAY,
            "--format",
            format,
        ]),
        &format!("kensa scan --format {format}"),
    )
}

// ---------------------------------------------------------------- schemas

#[test]
fn inventory_documents_match_the_schema() {
    for root in [alpine_root(), debian10_root()] {
        let doc = inventory(root);
        assert!(
            !doc["packages"].as_array().expect("packages").is_empty(),
            "no packages read from {}",
            root.display()
        );
        assert_valid("inventory.schema.json", &doc, &root.display().to_string());
    }
}

#[test]
#[ignore = "needs the debootstrapped roots (scripts/setup); scripts/test runs it"]
fn inventory_of_debootstrapped_roots_matches_the_schema() {
    for suite in ["bookworm", "bullseye"] {
        let root = kensa_testkit::debian_root(suite);
        let doc = inventory(&root);
        assert!(
            doc["packages"].as_array().expect("packages").len() > 50,
            "{suite}: a minbase root has over 50 packages"
        );
        assert_valid("inventory.schema.json", &doc, suite);
        let report = json(&scan(&root, "json"), suite);
        assert_valid("scan-report.schema.json", &report, suite);
    }
}

#[test]
fn scan_reports_match_the_schema() {
    for root in [alpine_root(), debian10_root()] {
        let doc = json(&scan(root, "json"), "kensa scan --format json");
        assert!(
            !doc["findings"].as_array().expect("findings").is_empty(),
            "no findings for {}",
            root.display()
        );
        assert_valid("scan-report.schema.json", &doc, &root.display().to_string());
    }
}

/// The schemas are strict: a document with a field renamed, missing or of
/// the wrong type is refused, so that the schema and the writer cannot
/// drift apart unnoticed.
#[test]
fn the_schemas_refuse_what_kensa_does_not_write() {
    let inv = inventory(debian10_root());
    let v = validator("inventory.schema.json");
    assert!(errors(&v, &inv).is_empty());
    let mut extra = inv.clone();
    extra["packages"][0]["licence"] = Value::from("MIT");
    let mut missing = inv.clone();
    missing["host"]
        .as_object_mut()
        .expect("host")
        .remove("hostname");
    let mut wrong = inv.clone();
    wrong["packages"][0]["epoch"] = Value::from("1");
    for (what, doc) in [
        ("an unknown field", extra),
        ("a missing field", missing),
        ("a wrong type", wrong),
    ] {
        assert!(!errors(&v, &doc).is_empty(), "{what} was accepted");
    }

    let report = json(&scan(debian10_root(), "json"), "scan");
    let v = validator("scan-report.schema.json");
    assert!(errors(&v, &report).is_empty());
    let mut bad = report.clone();
    bad["findings"][0]["severity"] = Value::from("SEVERE");
    assert!(!errors(&v, &bad).is_empty(), "an unknown band was accepted");
}

// ---------------------------------------------------------------- goldens

/// Every `RFC 3339` date-time in `text` replaced by `[TIME]`.
fn redact_times(text: &str) -> String {
    let b = text.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let stamp = (0..4).all(|k| digit(i + k))
            && at(i + 4, b'-')
            && digit(i + 5)
            && digit(i + 6)
            && at(i + 7, b'-')
            && digit(i + 8)
            && digit(i + 9)
            && (at(i + 10, b'T') || at(i + 10, b' '))
            && digit(i + 11)
            && digit(i + 12)
            && at(i + 13, b':');
        if stamp {
            let mut j = i + 14;
            while j < b.len() && (b[j].is_ascii_digit() || b":.+-Z".contains(&b[j])) {
                j += 1;
            }
            out.push_str("[TIME]");
            i = j;
        } else {
            let c = text[i..].chars().next().expect("a char");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn redact_paths(text: &str) -> String {
    text.replace(utf8(debian10_root()), "[ROOT]")
        .replace(utf8(kb()), "[KB]")
}

#[test]
fn scan_outputs_match_their_golden_files() {
    for format in ["table", "json", "csv", "sarif", "cyclonedx"] {
        let out = redact_times(&redact_paths(&scan(debian10_root(), format)));
        assert!(
            out.contains("redis") && out.contains("putty"),
            "{format}: the Debian 10 findings are missing:\n{out}"
        );
        insta::assert_snapshot!(format!("scan_{format}"), out);
    }
}

#[test]
fn inspector_exports_match_their_golden_files() {
    let backend = Backend::Sqlite;
    let s = TestServer::builder(&backend).workers(1).start();
    let doc = inventory(debian10_root());
    let since = kensa_testkit::now_ms();
    let r = s.send(
        "POST",
        "/api/v1/inventories?asset=web1",
        Auth::Bearer(&s.admin),
        "application/json",
        doc.to_string().as_bytes(),
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let id: i64 = r.json()["asset_id"]
        .as_str()
        .and_then(|i| i.parse().ok())
        .expect("asset id");
    s.wait_evaluated(id, since);

    for format in ["csv", "json"] {
        let r = s.call(
            "GET",
            &format!("/api/v1/findings/export?format={format}"),
            Auth::Bearer(&s.admin),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.text());
        let text = r.text();
        assert!(
            text.contains("redis") && text.contains("putty"),
            "{format}: the Debian 10 findings are missing:\n{text}"
        );
        let out = redact_ids(&redact_times(&compact(&text)), id);
        insta::assert_snapshot!(format!("export_{format}"), pretty(&out));
    }
}

/// JSON in one form whatever the server's spacing, with its times (Unix
/// milliseconds under `*_at` and `*_observed` keys) as `[TIME]`; other
/// text as it is.
fn compact(text: &str) -> String {
    fn times(v: &mut Value) {
        match v {
            Value::Object(o) => {
                for (k, v) in o.iter_mut() {
                    if v.is_number() && (k.ends_with("_at") || k.ends_with("_observed")) {
                        *v = Value::from("[TIME]");
                    } else {
                        times(v);
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(times),
            _ => {}
        }
    }
    match serde_json::from_str::<Value>(text) {
        Ok(mut v) => {
            times(&mut v);
            v.to_string()
        }
        Err(_) => text.to_owned(),
    }
}

/// JSON indented, for a golden file a reviewer can read.
fn pretty(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| text.to_owned())
}

/// The asset's id, which depends on what the database handed out, as
/// `[ASSET]`; finding references are built from it.
fn redact_ids(text: &str, asset: i64) -> String {
    text.replace(
        &format!("\"asset_id\":\"{asset}\""),
        "\"asset_id\":\"[ASSET]\"",
    )
    .replace(&format!("\"id\":\"{asset}\""), "\"id\":\"[ASSET]\"")
}
