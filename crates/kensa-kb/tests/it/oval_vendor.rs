//! SUSE and Oracle Linux OVAL from the data folder's upstream extracts
//! (`sles/suse_truncated.xml`, `oracle/mock_*`, see its SOURCE.md): every
//! definition imports or is skipped for a stated reason, with zero errors,
//! and the (advisory, namespace, package, fix, Ksplice) rows equal those an
//! independent reader finds (`support/oval_count.py`, Python's
//! `xml.etree`, walking the criteria structurally and reading Oracle's
//! criterion comments instead of its tests).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use kensa_kb::feeds::oval;
use kensa_kb::model::{Advisory, FeedReport, FixStatus, Record};
use serde_json::Value;

type Row = (String, String, String, Option<String>, bool);

fn extract(rel: &str) -> PathBuf {
    let p = kensa_testkit::data_path("samples/upstream-extracts").join(rel);
    assert!(p.exists(), "{} is missing", p.display());
    p
}

fn python_count(kind: &str, files: &[PathBuf]) -> (usize, usize, BTreeSet<Row>) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/oval_count.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(kind)
        .args(files)
        .output()
        .expect("python3 runs (the independent OVAL reader)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let rows = v["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r[0].as_str().expect("id").to_owned(),
                r[1].as_str().expect("ns").to_owned(),
                r[2].as_str().expect("pkg").to_owned(),
                r[3].as_str().map(str::to_owned),
                r[4].as_bool().expect("ksplice"),
            )
        })
        .collect();
    (
        v["records"].as_u64().expect("records") as usize,
        v["skipped"].as_u64().expect("skipped") as usize,
        rows,
    )
}

fn import(files: &[PathBuf]) -> (Vec<Advisory>, FeedReport) {
    let mut all = FeedReport::default();
    let mut out = Vec::new();
    for f in files {
        let mut records: Vec<Record> = Vec::new();
        let r = oval::import(f, &mut records).expect("import");
        all.records += r.records;
        all.errors.extend(r.errors);
        for (reason, n) in r.skipped {
            for _ in 0..n {
                all.skip(&reason);
            }
        }
        out.extend(records.into_iter().map(|r| match r {
            Record::Advisory(a) => a,
            other => panic!("not an advisory: {other:?}"),
        }));
    }
    (out, all)
}

fn rows(advisories: &[Advisory]) -> BTreeSet<Row> {
    let mut out = BTreeSet::new();
    for a in advisories {
        for x in &a.affected {
            let fixed = match x.status {
                FixStatus::NotAffected => None,
                _ => Some(x.fixed.clone().expect("a fixed row has its version")),
            };
            out.insert((
                a.id.clone(),
                x.namespace.clone(),
                x.package.clone(),
                fixed,
                x.module.as_deref() == Some("ksplice"),
            ));
        }
    }
    out
}

fn advisory<'a>(all: &'a [Advisory], id: &str) -> &'a Advisory {
    all.iter()
        .find(|a| a.id == id)
        .unwrap_or_else(|| panic!("{id} not imported"))
}

#[test]
fn suse_oval_imports_whole_as_an_independent_reader_sees_it() {
    let files = [extract("sles/suse_truncated.xml")];
    let (records, skipped, expected) = python_count("suse", &files);
    let (advisories, report) = import(&files);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert_eq!(report.records, records, "{report:?}");
    assert_eq!(
        report.skipped_count("no product release Kensa identifies"),
        skipped,
        "{report:?}"
    );
    assert!(records >= 3 && !expected.is_empty());
    assert_eq!(rows(&advisories), expected);

    // `sles-release == 15.1` (SP1) is the release `sles:15.1`; the kernel's
    // state restricts the architectures.
    let k = advisory(&advisories, "CVE-2021-29154");
    let kd = k
        .affected
        .iter()
        .find(|x| x.namespace == "sles:15.1" && x.package == "kernel-default")
        .expect("kernel-default in sles:15.1");
    assert_eq!(kd.fixed.as_deref(), Some("0:4.12.14-197.89.2"));
    assert_eq!(kd.arches, ["aarch64", "ppc64le", "s390x", "x86_64"]);
    assert_eq!(
        k.severity
            .as_ref()
            .map(|s| (s.source.as_str(), s.value.as_str())),
        Some(("suse", "Important"))
    );
    // "is not affected" (`version == 0`) is kept as the vendor's word.
    let c = advisory(&advisories, "CVE-2026-34073");
    assert!(
        c.affected
            .iter()
            .all(|x| x.status == FixStatus::NotAffected && x.namespace == "sles:15"),
        "{c:?}"
    );
}

#[test]
fn oracle_oval_imports_whole_per_architecture_and_ksplice_apart() {
    let files = [
        extract("oracle/mock_data"),
        extract("oracle/mock_per_arch_data"),
        extract("oracle/mock_ksplice_data"),
    ];
    let (records, skipped, expected) = python_count("oracle", &files);
    let (advisories, report) = import(&files);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert_eq!(report.records, records, "{report:?}");
    assert_eq!(skipped, 0);
    assert_eq!(rows(&advisories), expected);

    // ELSA-2022-4803: x86_64 and aarch64 respun at different revisions.
    let r = advisory(&advisories, "ELSA-2022-4803");
    assert!(
        r.aliases.contains(&"CVE-2022-24903".to_owned()),
        "{:?}",
        r.aliases
    );
    let rsyslog: Vec<_> = r
        .affected
        .iter()
        .filter(|x| x.package == "rsyslog")
        .map(|x| (x.fixed.as_deref().unwrap_or_default(), x.arches.clone()))
        .collect();
    assert_eq!(
        rsyslog,
        [
            (
                "0:8.24.0-57.0.1.el7_9.3",
                vec!["i686".to_owned(), "x86_64".to_owned()]
            ),
            ("0:8.24.0-57.0.4.el7_9.3", vec!["aarch64".to_owned()]),
        ]
    );
    // ELSA-2025-10073: one fix for every architecture, so none is named.
    let f = advisory(&advisories, "ELSA-2025-10073");
    assert!(
        f.affected
            .iter()
            .all(|x| x.arches.is_empty() && x.namespace == "ol:10")
    );
    // ELSA-2024-2961: two rebuilds on both architectures, two rows, no arches.
    let o = advisory(&advisories, "ELSA-2024-2961");
    let osbuild: Vec<_> = o
        .affected
        .iter()
        .filter(|x| x.package == "osbuild")
        .map(|x| (x.fixed.as_deref().unwrap_or_default(), x.arches.len()))
        .collect();
    assert_eq!(osbuild, [("0:110-1.0.1.el8", 0), ("0:110-1.el8", 0)]);
    // ELSA-2021-9151 fixes Ksplice builds only: every row is that stream.
    let k = advisory(&advisories, "ELSA-2021-9151");
    assert!(!k.affected.is_empty());
    assert!(
        k.affected
            .iter()
            .all(|x| x.module.as_deref() == Some("ksplice") && x.namespace == "ol:8"),
        "{k:?}"
    );
    assert_eq!(
        k.severity
            .as_ref()
            .map(|s| (s.source.as_str(), s.value.as_str())),
        Some(("oracle", "IMPORTANT"))
    );
}
