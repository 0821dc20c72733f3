//! Every file of the data folder's `samples/upstream-extracts/` (real
//! records in each vendor's published format, see its SOURCE.md) in a
//! format Kensa reads imports with zero errors, and the records imported
//! are counted independently from the raw files with `serde_json` alone.
//!
//! The secdb files (Alpine's YAML, Wolfi's and Chainguard's JSON, which
//! have no `distroversion`) are read by the secdb importer.
//!
//! SUSE OVAL (`sles/`) and Oracle's ELSA OVAL (`oracle/`) are checked in
//! `oval_vendor.rs`, against an independent Python reader.
//!
//! Not covered here, because Kensa does not claim those formats: Red Hat
//! CSAF *advisories* and its Security Data API CVE JSON (Kensa reads Red
//! Hat's CSAF VEX), Ubuntu's VEX and CVE tracker files, Photon's JSON, and
//! the endoflife.date API responses (Kensa reads the site's sources), a
//! lone KEV entry (`kev/single-entry`, a fragment of the catalog), Debian's
//! tracker excerpt (read by its importer's tests from the mirror), EPSS
//! (the extract's files are vunnel's error cases). docs/knowledge-base.md
//! lists them.

use std::path::{Path, PathBuf};

use kensa_kb::feeds::{alpine, kev, nvd, osv, oval};
use kensa_kb::model::{FeedReport, Record};
use serde_json::Value;

fn extracts(rel: &str) -> PathBuf {
    let p = kensa_testkit::data_path("samples/upstream-extracts").join(rel);
    assert!(p.exists(), "{} is missing", p.display());
    p
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read_dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

/// OSV records of a folder, read raw: (files that are an OSV record with
/// an id, those of them withdrawn, the Ubuntu priorities by id).
fn raw_osv(dir: &Path) -> (usize, usize, Vec<(String, String)>) {
    let mut files = Vec::new();
    json_files(dir, &mut files);
    let (mut n, mut withdrawn, mut ubuntu) = (0, 0, Vec::new());
    for f in files {
        let v: Value = serde_json::from_slice(&std::fs::read(&f).expect("read")).expect("json");
        let Some(id) = v.get("id").and_then(Value::as_str) else {
            continue;
        };
        n += 1;
        if v.get("withdrawn").is_some() {
            withdrawn += 1;
        }
        let word = v["severity"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(
                v["affected"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|a| a["severity"].as_array().into_iter().flatten()),
            )
            .find(|s| s["type"] == "Ubuntu")
            .and_then(|s| s["score"].as_str());
        if let Some(w) = word {
            ubuntu.push((id.to_owned(), w.to_ascii_lowercase()));
        }
    }
    (n, withdrawn, ubuntu)
}

fn no_errors(what: &str, r: &FeedReport) {
    assert!(r.errors.is_empty(), "{what}: {:#?}", r.errors);
}

#[test]
fn osv_extracts_import_whole() {
    for rel in [
        "alma/osv-database/advisories",
        "rocky/osv",
        "ubuntu/osv",
        "ubuntu/osv-esm-cases",
        "govulndb/vulndb/ID",
    ] {
        let dir = extracts(rel);
        let (n, withdrawn, ubuntu) = raw_osv(&dir);
        assert!(n > 0, "{rel}");
        let mut records: Vec<Record> = Vec::new();
        let report = osv::import(&dir, &mut records).expect(rel);
        no_errors(rel, &report);
        let skipped: usize = report.skipped.iter().map(|(_, c)| c).sum();
        assert_eq!(report.records, n - withdrawn, "{rel}: {report:?}");
        assert_eq!(report.records + skipped, n, "{rel}: {report:?}");
        // Ubuntu's own priority is the vendor severity of every record
        // imported (records of releases Kensa has no namespace for are
        // skipped and counted above).
        let mut checked = 0;
        for (id, word) in &ubuntu {
            let Some(a) = records.iter().find_map(|r| match r {
                Record::Advisory(a) if &a.id == id => Some(a),
                _ => None,
            }) else {
                continue;
            };
            let got = a.severity.as_ref().map(|s| s.value.as_str());
            assert_eq!(got, Some(word.as_str()), "{rel}: {id}");
            checked += 1;
        }
        if rel.starts_with("ubuntu/") {
            assert!(
                checked > 0,
                "{rel}: no Ubuntu priority checked ({ubuntu:?})"
            );
        }
    }
    // Chainguard: the per-advisory files (`all.json` is the index of ids).
    let dir = tempfile::tempdir().expect("tempdir");
    let mut n = 0;
    for e in std::fs::read_dir(extracts("chainguard/input/osv")).expect("dir") {
        let p = e.expect("entry").path();
        if p.file_name()
            .is_some_and(|f| f.to_string_lossy().starts_with("CGA-"))
        {
            std::fs::copy(&p, dir.path().join(p.file_name().expect("name"))).expect("copy");
            n += 1;
        }
    }
    let mut records: Vec<Record> = Vec::new();
    let report = osv::import(dir.path(), &mut records).expect("chainguard");
    no_errors("chainguard", &report);
    let skipped: usize = report.skipped.iter().map(|(_, c)| c).sum();
    assert_eq!(report.records + skipped, n, "{report:?}");
}

#[test]
fn mariner_and_azure_linux_oval_import_whole() {
    for rel in [
        "mariner/mariner-truncated-2.0-oval.xml",
        "mariner/azure-linux-truncated-3.0-oval.xml",
    ] {
        let path = extracts(rel);
        let text = std::fs::read_to_string(&path).expect("read");
        let definitions = text.matches("<definition ").count();
        assert!(definitions > 0, "{rel}");
        // The importer reads the release from the file name, as published.
        let dir = tempfile::tempdir().expect("tempdir");
        let name = if rel.contains("azure") {
            "azurelinux-3.0-oval.xml"
        } else {
            "cbl-mariner-2.0-oval.xml"
        };
        std::fs::copy(&path, dir.path().join(name)).expect("copy");
        let mut records: Vec<Record> = Vec::new();
        let report = oval::import(dir.path().join(name), &mut records).expect(rel);
        no_errors(rel, &report);
        let skipped: usize = report.skipped.iter().map(|(_, c)| c).sum();
        assert_eq!(report.records + skipped, definitions, "{rel}: {report:?}");
    }
}

#[test]
fn kev_and_nvd_extracts_import_whole() {
    let path = extracts("kev/valid-catalog-1.json");
    let raw: Value = serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
    let n = raw["vulnerabilities"].as_array().map_or(0, Vec::len);
    let mut records: Vec<Record> = Vec::new();
    let report = kev::import(&path, &mut records).expect("kev");
    // vunnel's authors cut the catalog to 3 entries and left its `count`:
    // the importer says so (a truncated download looks the same) and
    // imports the entries it has.
    assert_eq!(raw["count"], 1273);
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert!(
        report.errors[0].message.contains("says 1273 entries"),
        "{:?}",
        report.errors
    );
    assert_eq!(report.records, n);

    for rel in ["nvd/full-page.json", "nvd/single-entry.json"] {
        let path = extracts(rel);
        let raw: Value =
            serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
        let n = raw["vulnerabilities"].as_array().map_or(0, Vec::len);
        let mut records: Vec<Record> = Vec::new();
        let report = nvd::import(&path, &mut records).expect(rel);
        no_errors(rel, &report);
        let skipped: usize = report.skipped.iter().map(|(_, c)| c).sum();
        assert_eq!(report.records + skipped, n, "{rel}: {report:?}");
    }
}

/// A secdb document's packages, read raw: (name, [(fixed version, ids)]).
type RawSecdb = Vec<(String, Vec<(String, Vec<String>)>)>;

/// The distinct ids of a secdb document's secfixes (every entry of these
/// extracts is one id), read raw.
fn raw_secdb_ids(packages: &RawSecdb) -> usize {
    let mut ids = std::collections::BTreeSet::new();
    for (_, fixes) in packages {
        for (_, entries) in fixes {
            for e in entries {
                assert!(!e.trim().contains(' '), "one id per entry: {e:?}");
                ids.insert(e.trim().to_owned());
            }
        }
    }
    ids.len()
}

#[test]
fn secdb_extracts_import_whole() {
    // Wolfi and Chainguard: JSON without `distroversion`.
    for (rel, ns) in [
        ("wolfi/input/secdb/security.json", "wolfi:rolling"),
        ("chainguard/input/secdb/security.json", "chainguard:rolling"),
    ] {
        let path = extracts(rel);
        let raw: Value =
            serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
        assert!(raw.get("distroversion").is_none(), "{rel}");
        let packages: RawSecdb = raw["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .map(|p| {
                let fixes = p["pkg"]["secfixes"]
                    .as_object()
                    .expect("secfixes")
                    .iter()
                    .map(|(k, v)| {
                        let ids = v
                            .as_array()
                            .expect("ids")
                            .iter()
                            .map(|i| i.as_str().expect("id").to_owned())
                            .collect();
                        (k.clone(), ids)
                    })
                    .collect();
                (p["pkg"]["name"].as_str().expect("name").to_owned(), fixes)
            })
            .collect();
        let n = raw_secdb_ids(&packages);
        let mut records: Vec<Record> = Vec::new();
        let report = alpine::import(&path, &mut records).expect(rel);
        no_errors(rel, &report);
        assert_eq!(report.records, n, "{rel}: {report:?}");
        let names: std::collections::BTreeSet<&str> =
            packages.iter().map(|(n, _)| n.as_str()).collect();
        for r in &records {
            let Record::Advisory(a) = r else {
                panic!("{rel}: not an advisory")
            };
            for x in &a.affected {
                assert_eq!(x.namespace, ns, "{rel}: {}", a.id);
                assert!(names.contains(x.package.as_str()), "{rel}: {}", x.package);
            }
        }
    }
    // Alpine 3.15's YAML, counted with a YAML parser of its own.
    for rel in [
        "alpine/input/secdb/v3.15/main.yaml",
        "alpine/input/secdb/v3.15/community.yaml",
    ] {
        let path = extracts(rel);
        let text = std::fs::read_to_string(&path).expect("read");
        let docs = yaml_rust2::YamlLoader::load_from_str(&text).expect("yaml");
        let packages: RawSecdb = docs[0]["packages"]
            .as_vec()
            .expect("packages")
            .iter()
            .map(|p| {
                let fixes = p["pkg"]["secfixes"]
                    .as_hash()
                    .expect("secfixes")
                    .iter()
                    .map(|(k, v)| {
                        let key = match k {
                            yaml_rust2::Yaml::String(s) | yaml_rust2::Yaml::Real(s) => s.clone(),
                            other => format!("{other:?}"),
                        };
                        let ids = v
                            .as_vec()
                            .expect("ids")
                            .iter()
                            .map(|i| i.as_str().expect("id").to_owned())
                            .collect();
                        (key, ids)
                    })
                    .collect();
                (p["pkg"]["name"].as_str().expect("name").to_owned(), fixes)
            })
            .collect();
        let n = raw_secdb_ids(&packages);
        assert!(n > 0, "{rel}");
        let mut records: Vec<Record> = Vec::new();
        let report = alpine::import(&path, &mut records).expect(rel);
        no_errors(rel, &report);
        assert_eq!(report.records, n, "{rel}: {report:?}");
    }
}
