//! CBL-Mariner / Azure Linux OVAL, real samples from the shared data.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Instant;

use kensa_kb::feeds::oval;
use kensa_kb::model::{Advisory, Event, Feed, FeedReport, FixStatus, Record};

const FILES: [(&str, &str); 3] = [
    ("azurelinux-3.0-oval.xml", "azurelinux:3.0"),
    ("cbl-mariner-1.0-oval.xml", "mariner:1.0"),
    ("cbl-mariner-2.0-preview-oval.xml", "mariner:2.0"),
];

fn sample(name: &str) -> PathBuf {
    kensa_testkit::data_path(&format!("samples/mariner-oval/{name}"))
}

fn advisories(records: Vec<Record>) -> Vec<Advisory> {
    records
        .into_iter()
        .map(|r| match r {
            Record::Advisory(a) => a,
            other => panic!("not an advisory: {other:?}"),
        })
        .collect()
}

fn import(path: &std::path::Path) -> (Vec<Advisory>, FeedReport) {
    let mut out = Vec::new();
    let report = oval::import(path, &mut out).expect("import");
    (advisories(out), report)
}

fn find<'a>(a: &'a [Advisory], id_suffix: &str) -> &'a Advisory {
    a.iter().find(|x| x.id.ends_with(id_suffix)).unwrap()
}

#[test]
fn oval_counts_and_namespaces() {
    for (name, ns) in FILES {
        let path = sample(name);
        let raw = std::fs::read_to_string(&path).expect("read");
        let t = Instant::now();
        let (a, report) = import(&path);
        eprintln!(
            "oval {name}: {} advisories in {:?}",
            report.records,
            t.elapsed()
        );
        assert!(report.errors.is_empty(), "{name}: {:?}", report.errors);
        // Independent counts from the raw text.
        assert_eq!(a.len(), raw.matches("<definition ").count(), "{name}");
        let criteria: usize = a.iter().map(|x| x.affected.len()).sum();
        assert!(criteria >= 1);
        assert_eq!(
            a.iter().map(|x| x.aliases.len()).sum::<usize>(),
            raw.matches("source=\"CVE\"").count(),
            "{name}"
        );
        for x in &a {
            assert_eq!(x.feed, Feed::Oval);
            assert!(x.affected.iter().all(|f| f.namespace == ns), "{name}");
            assert!(x.aliases.iter().all(|c| c.starts_with("CVE-")));
        }
    }
}

#[test]
fn oval_spot_checks_against_raw_files() {
    let (a, _) = import(&sample("azurelinux-3.0-oval.xml"));
    let golang = find(&a, ":def:52881");
    assert_eq!(golang.id, "oval:com.microsoft.azurelinux:def:52881");
    assert_eq!(golang.aliases, ["CVE-2023-29409"]);
    assert_eq!(
        golang.summary.as_deref(),
        Some("CVE-2023-29409 affecting package golang for versions less than 1.20.7-1")
    );
    let sev = golang.severity.as_ref().unwrap();
    assert_eq!(
        (sev.source.as_str(), sev.value.as_str()),
        ("azurelinux", "Medium")
    );
    assert_eq!(
        golang.references,
        ["https://nvd.nist.gov/vuln/detail/CVE-2023-29409"]
    );
    // Two criteria on one package (`> 0:0.0.0` and `< 0:1.20.7-1.azl3`): one entry.
    assert_eq!(golang.affected.len(), 1);
    let g = &golang.affected[0];
    assert_eq!(g.package, "golang");
    assert_eq!(g.status, FixStatus::Fixed);
    assert_eq!(g.fixed.as_deref(), Some("0:1.20.7-1.azl3"));
    assert_eq!(
        g.ranges,
        [vec![
            Event::Introduced("0".to_owned()),
            Event::Fixed("0:1.20.7-1.azl3".to_owned())
        ]]
    );
    let rexml = find(&a, ":def:42064");
    assert_eq!(rexml.published.as_deref(), Some("2024-05-31T18:55:08Z"));
    assert_eq!(rexml.affected[0].package, "rubygem-rexml");
    assert_eq!(rexml.affected[0].fixed.as_deref(), Some("0:3.2.8-1.azl3"));

    let (a, _) = import(&sample("cbl-mariner-1.0-oval.xml"));
    let glibc = find(&a, ":def:4820");
    assert_eq!(glibc.aliases, ["CVE-2021-35942"]);
    assert_eq!(glibc.severity.as_ref().unwrap().value, "Critical");
    assert_eq!(glibc.affected[0].package, "glibc");
    assert_eq!(glibc.affected[0].namespace, "mariner:1.0");
    assert_eq!(glibc.affected[0].fixed.as_deref(), Some("0:2.28-19.cm1"));

    // `patchable false` with `less than or equal`: affected, no fix.
    let (a, _) = import(&sample("cbl-mariner-2.0-preview-oval.xml"));
    let unzip = find(&a, ":def:6933");
    let u = &unzip.affected[0];
    assert_eq!(u.package, "unzip");
    assert_eq!(u.status, FixStatus::Affected);
    assert_eq!(u.fixed, None);
    assert_eq!(
        u.ranges,
        [vec![
            Event::Introduced("0".to_owned()),
            Event::LastAffected("0:6.0-19.cm1".to_owned())
        ]]
    );
    let openssl = find(&a, ":def:31880");
    assert_eq!(openssl.affected[0].status, FixStatus::Fixed);
    assert_eq!(
        openssl.affected[0].fixed.as_deref(),
        Some("0:1.1.1k-28.cm2")
    );
    // Independent: `patchable>false` definitions are exactly the unfixed ones.
    let raw = std::fs::read_to_string(sample("cbl-mariner-2.0-preview-oval.xml")).expect("read");
    assert_eq!(
        a.iter()
            .filter(|x| x.affected[0].status == FixStatus::Affected)
            .count(),
        raw.matches("<patchable>false</patchable>").count()
    );
}

#[test]
fn oval_bad_input() {
    let raw = std::fs::read_to_string(sample("cbl-mariner-1.0-oval.xml")).expect("read");
    let dir = tempfile::tempdir().expect("tempdir");

    // A definition whose test is missing, one whose state lost its evr:
    // errors naming them; the third is imported.
    let broken = raw
        .replace(
            "test_ref=\"oval:com.microsoft.cbl-mariner:tst:1643374849000003\"",
            "test_ref=\"oval:com.microsoft.cbl-mariner:tst:nowhere\"",
        )
        .replace(
            "<linux-def:evr datatype=\"evr_string\" operation=\"less than\">0:2.28-19.cm1</linux-def:evr>",
            "",
        );
    let p = dir.path().join("cbl-mariner-1.0-oval.xml");
    std::fs::write(&p, broken).expect("write");
    let (a, report) = import(&p);
    assert_eq!(a.len(), 1);
    assert!(a[0].id.ends_with(":def:4209"));
    let recs: Vec<_> = report
        .errors
        .iter()
        .map(|e| e.record.clone().unwrap())
        .collect();
    assert_eq!(
        recs,
        [
            "oval:com.microsoft.cbl-mariner:def:3173",
            "oval:com.microsoft.cbl-mariner:def:4820"
        ],
        "{:?}",
        report.errors
    );
    assert!(
        report
            .errors
            .iter()
            .all(|e| e.file.ends_with("cbl-mariner-1.0-oval.xml"))
    );

    // Truncated and mismatched XML: one error with a position, no panic.
    for (name, body) in [
        ("cbl-mariner-2.0-oval.xml", raw[..raw.len() / 2].to_owned()),
        (
            "azurelinux-3.0-oval.xml",
            raw.replacen("</title>", "</titel>", 1),
        ),
        ("cbl-mariner-1.0-x.xml", "<<<not xml".to_owned()),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, body).expect("write");
        let (a, report) = import(&p);
        assert!(a.is_empty(), "{name}");
        assert_eq!(report.errors.len(), 1, "{name}: {:?}", report.errors);
        assert!(
            report.errors[0]
                .record
                .as_deref()
                .unwrap()
                .contains("byte "),
            "{name}"
        );
    }

    // A file name that names no release: the evr dist tag decides.
    let p = dir.path().join("oval.xml");
    std::fs::write(&p, &raw).expect("write");
    let (a, report) = import(&p);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(a.len(), 3);
    assert!(a.iter().all(|x| x.affected[0].namespace == "mariner:1.0"));
}

/// A large generated file in the same layout (the published Mariner 2.0
/// file has tens of thousands of definitions): counts and timing.
#[test]
fn oval_large_generated_file_streams() {
    const N: usize = 20_000;
    let mut defs = String::new();
    let mut tests = String::new();
    let mut objects = String::new();
    let mut states = String::new();
    for i in 0..N {
        defs.push_str(&format!(
            "<definition class=\"vulnerability\" id=\"oval:com.microsoft.cbl-mariner:def:{i}\" version=\"1\"><metadata>\
             <title>CVE-2026-{i:05} affecting package pkg{i} for versions less than 1.{i}-1</title>\
             <reference ref_id=\"CVE-2026-{i:05}\" ref_url=\"https://nvd.nist.gov/vuln/detail/CVE-2026-{i:05}\" source=\"CVE\"/>\
             <patchable>true</patchable><severity>High</severity></metadata>\
             <criteria operator=\"AND\"><criterion comment=\"c\" test_ref=\"tst:{i}\"/></criteria></definition>\n"
        ));
        tests.push_str(&format!(
            "<linux-def:rpminfo_test check=\"at least one\" id=\"tst:{i}\" version=\"1\">\
             <linux-def:object object_ref=\"obj:{i}\"/><linux-def:state state_ref=\"ste:{i}\"/></linux-def:rpminfo_test>\n"
        ));
        objects.push_str(&format!(
            "<linux-def:rpminfo_object id=\"obj:{i}\" version=\"1\"><linux-def:name>pkg{i}</linux-def:name></linux-def:rpminfo_object>\n"
        ));
        states.push_str(&format!(
            "<linux-def:rpminfo_state id=\"ste:{i}\" version=\"1\">\
             <linux-def:evr datatype=\"evr_string\" operation=\"less than\">0:1.{i}-1.cm2</linux-def:evr></linux-def:rpminfo_state>\n"
        ));
    }
    let xml = format!(
        "<oval_definitions xmlns=\"http://oval.mitre.org/XMLSchema/oval-definitions-5\" \
         xmlns:oval=\"http://oval.mitre.org/XMLSchema/oval-common-5\" \
         xmlns:linux-def=\"http://oval.mitre.org/XMLSchema/oval-definitions-5#linux\">\n\
         <generator><oval:product_name>CBL-Mariner OVAL Definition Generator</oval:product_name></generator>\n\
         <definitions>\n{defs}</definitions>\n<tests>\n{tests}</tests>\n\
         <objects>\n{objects}</objects>\n<states>\n{states}</states>\n</oval_definitions>\n"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("cbl-mariner-2.0-oval.xml");
    std::fs::write(&p, &xml).expect("write");
    let t = Instant::now();
    let (a, report) = import(&p);
    eprintln!(
        "oval generated: {} advisories from {} MB in {:?}",
        report.records,
        xml.len() / 1_000_000,
        t.elapsed()
    );
    assert!(report.errors.is_empty(), "{:?}", &report.errors[..1]);
    assert_eq!(a.len(), N);
    let last = &a[N - 1];
    assert_eq!(last.affected[0].package, format!("pkg{}", N - 1));
    assert_eq!(last.affected[0].fixed, Some(format!("0:1.{}-1.cm2", N - 1)));
    assert_eq!(last.affected[0].namespace, "mariner:2.0");
}

/// Entity and character references in text and attributes decode as they
/// did with quick-xml 0.37 (since 0.38 the reader hands references as
/// events of their own, between pieces of the text): `&amp;` is `&`,
/// `&#x27;` and `&#39;` an apostrophe, the spaces around a reference are
/// kept; an unknown entity leaves that text or attribute out, as before.
#[test]
fn oval_entity_and_character_references() {
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<oval_definitions xmlns="http://oval.mitre.org/XMLSchema/oval-definitions-5" xmlns:oval="http://oval.mitre.org/XMLSchema/oval-common-5" xmlns:linux-def="http://oval.mitre.org/XMLSchema/oval-definitions-5#linux">
  <generator><oval:product_name>Azure Linux OVAL Definition Generator &amp; co</oval:product_name></generator>
  <definitions>
    <definition class="vulnerability" id="oval:com.microsoft.azurelinux:def:&#49;" version="1">
      <metadata>
        <title>CVE-2024-0001 affecting package lib&amp;foo for versions less than 1.2.3-1 &lt;it&#39;s &#x27;bad&#x27;&gt; caf&#233;</title>
        <reference ref_id="CVE-2024-0001" ref_url="https://nvd.nist.gov/vuln/search?a=1&amp;b=&#x32;" source="CVE"/>
        <reference ref_id="CVE-2024-0002" ref_url="https://example.com/&unknown;" source="&#67;VE"/>
        <patchable>&#x74;rue</patchable>
        <advisory_date>2024-01-02T03:04:05Z</advisory_date>
        <severity>High &amp; Critical</severity>
      </metadata>
      <criteria operator="AND"><criterion comment="c" test_ref="oval:tst:&#x31;"/></criteria>
    </definition>
    <definition class="vulnerability" id="oval:com.microsoft.azurelinux:def:2" version="1">
      <metadata>
        <title>an &unknown; entity</title>
        <patchable>true</patchable>
        <severity>Low</severity>
      </metadata>
      <criteria operator="AND"><criterion comment="c" test_ref="oval:tst:1"/></criteria>
    </definition>
  </definitions>
  <tests>
    <linux-def:rpminfo_test check="at least one" id="oval:tst:1" version="1"><linux-def:object object_ref="oval:obj:1"/><linux-def:state state_ref="oval:ste:1"/></linux-def:rpminfo_test>
  </tests>
  <objects>
    <linux-def:rpminfo_object id="oval:obj:1" version="1"><linux-def:name>lib&amp;foo</linux-def:name></linux-def:rpminfo_object>
  </objects>
  <states>
    <linux-def:rpminfo_state id="oval:ste:1" version="1"><linux-def:evr datatype="evr_string" operation="less&#32;than">0:1.2.3&#45;1.azl3</linux-def:evr></linux-def:rpminfo_state>
  </states>
</oval_definitions>
"#;
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("azurelinux-3.0-oval.xml");
    std::fs::write(&p, xml).expect("write");
    let (a, report) = import(&p);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(a.len(), 2);
    let d = &a[0];
    assert_eq!(d.id, "oval:com.microsoft.azurelinux:def:1");
    assert_eq!(
        d.summary.as_deref(),
        Some(
            "CVE-2024-0001 affecting package lib&foo for versions less than 1.2.3-1 <it's 'bad'> café"
        )
    );
    // `source="&#67;VE"` is `CVE`; the URL with an unknown entity is left
    // out.
    assert_eq!(d.aliases, ["CVE-2024-0001", "CVE-2024-0002"]);
    assert_eq!(d.references, ["https://nvd.nist.gov/vuln/search?a=1&b=2"]);
    assert_eq!(
        d.severity
            .as_ref()
            .map(|s| (s.source.as_str(), s.value.as_str())),
        Some(("azurelinux", "High & Critical"))
    );
    assert_eq!(d.published.as_deref(), Some("2024-01-02T03:04:05Z"));
    let x = &d.affected[0];
    assert_eq!(x.namespace, "azurelinux:3.0");
    assert_eq!(x.package, "lib&foo");
    assert_eq!(x.status, FixStatus::Fixed);
    assert_eq!(x.fixed.as_deref(), Some("0:1.2.3-1.azl3"));
    assert_eq!(
        x.ranges,
        [vec![
            Event::Introduced("0".to_owned()),
            Event::Fixed("0:1.2.3-1.azl3".to_owned())
        ]]
    );
    // The unknown entity: no title, the definition still imported.
    assert_eq!(a[1].summary, None);
    assert_eq!(a[1].affected[0].package, "lib&foo");
}
