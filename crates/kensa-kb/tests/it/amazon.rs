//! The Amazon Linux ALAS importer against real repository metadata
//! (`samples/amazon-updateinfo`: updateinfo for AL2, AL2022, AL2023, valid
//! and invalid, and repomd.xml) and a hand-made updateinfo in the same
//! upstream format for the cases the samples lack (`testdata/amazon`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use kensa_kb::feeds::amazon;
use kensa_kb::model::{Advisory, Affected, FeedReport, FixStatus};

use crate::support::records;
use records::advisories;

fn sample(name: &str) -> PathBuf {
    kensa_testkit::data_path("samples/amazon-updateinfo").join(name)
}

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/amazon")
        .join(name)
}

fn run(path: &Path) -> (FeedReport, Vec<Advisory>) {
    let mut records = Vec::new();
    let t = Instant::now();
    let report = amazon::import(path, &mut records).expect("import");
    eprintln!("{}: {:?}", path.display(), t.elapsed());
    assert_eq!(records.len(), report.records);
    (report, advisories(records))
}

fn gunzip(path: &Path) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).expect("open"))
        .read_to_string(&mut text)
        .expect("gunzip");
    text
}

fn pkg<'a>(a: &'a Advisory, name: &str) -> &'a Affected {
    a.affected
        .iter()
        .find(|x| x.package == name)
        .unwrap_or_else(|| panic!("{} has no {name}", a.id))
}

#[test]
fn amazon_updateinfo_samples_counts() {
    for (file, namespace) in [
        ("updateinfo_1_item.xml.gz", "amzn:2"),
        ("updateinfo_2_items.xml.gz", "amzn:2"),
        ("updateinfo_AL2022.xml.gz", "amzn:2022"),
        ("updateinfo_AL2023.xml.gz", "amzn:2023"),
    ] {
        let path = sample(file);
        let (report, advs) = run(&path);
        // Independent count from the raw text.
        let text = gunzip(&path);
        let updates = text.matches("<update ").count();
        let packages = text.matches("<package ").count();
        assert_eq!(report.records, updates, "{file}");
        assert!(report.errors.is_empty(), "{file}: {:?}", report.errors);
        // Every <package> is one (name, EVR, arch): none lost, none doubled.
        let listed: usize = advs
            .iter()
            .flat_map(|a| &a.affected)
            .map(|x| x.arches.len())
            .sum();
        assert_eq!(listed, packages, "{file}");
        let cves = text.matches("type=\"cve\"").count();
        assert_eq!(advs.iter().map(|a| a.aliases.len()).sum::<usize>(), cves);
        assert!(
            advs.iter()
                .flat_map(|a| &a.affected)
                .all(|x| x.namespace == namespace && x.status == FixStatus::Fixed),
            "{file}"
        );
    }
}

#[test]
fn amazon_updateinfo_spot_checks() {
    let (_, advs) = run(&sample("updateinfo_2_items.xml.gz"));
    let a = advs
        .iter()
        .find(|a| a.id == "ALAS2-2018-942")
        .expect("ALAS2-2018-942");
    assert_eq!(a.aliases, ["CVE-2017-5715"]);
    assert_eq!(a.published.as_deref(), Some("2018-02-07 18:49"));
    assert_eq!(a.modified.as_deref(), Some("2018-02-08 21:46"));
    let sev = a.severity.as_ref().expect("severity");
    assert_eq!(
        (sev.source.as_str(), sev.value.as_str()),
        ("alas", "important")
    );
    let q = pkg(a, "qemu-kvm");
    assert_eq!(q.fixed.as_deref(), Some("10:1.5.3-141.amzn2.5.3"));
    assert_eq!(q.arches, ["x86_64"]);
    assert_eq!(q.namespace, "amzn:2");
    assert_eq!(a.affected.len(), 5);

    let (_, advs) = run(&sample("updateinfo_1_item.xml.gz"));
    let a = &advs[0];
    assert_eq!(a.id, "ALAS2-2018-939");
    // Epoch 0 is not written.
    assert_eq!(
        pkg(a, "kernel").fixed.as_deref(),
        Some("4.9.76-38.79.amzn2")
    );
    assert_eq!(pkg(a, "kernel-doc").arches, ["noarch"]);
    assert_eq!(a.aliases, ["CVE-2017-5754", "CVE-2017-5715"]);

    let (_, advs) = run(&sample("updateinfo_AL2022.xml.gz"));
    let vim = pkg(&advs[0], "vim-common");
    assert_eq!(vim.fixed.as_deref(), Some("2:8.2.3512-1.amzn2022"));
    assert_eq!(vim.arches, ["aarch64", "i686", "x86_64"]);

    let (_, advs) = run(&sample("updateinfo_AL2023.xml.gz"));
    assert_eq!(advs[0].id, "ALAS2023-2023-001");
    assert_eq!(
        advs[0].severity.as_ref().map(|s| s.value.as_str()),
        Some("Important")
    );
    assert_eq!(pkg(&advs[0], "rsyslog").namespace, "amzn:2023");
}

#[test]
fn amazon_invalid_updateinfo_and_truncated_gzip() {
    // The sample's XML breaks off after its only complete update.
    let path = sample("updateinfo_invalid.xml.gz");
    let (report, advs) = run(&path);
    assert_eq!(report.records, 1);
    assert_eq!(advs[0].id, "ALAS2-2018-939");
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    let e = &report.errors[0];
    assert!(e.file.ends_with("updateinfo_invalid.xml.gz"), "{e:?}");
    assert_eq!(e.record.as_deref(), Some("after ALAS2-2018-939"));

    // A gzip stream cut in the middle (made at run time from the sample).
    let bytes = std::fs::read(sample("updateinfo_2_items.xml.gz")).expect("read");
    let dir = tempfile::tempdir().expect("tempdir");
    let cut = dir.path().join("updateinfo_cut.xml.gz");
    std::fs::write(&cut, &bytes[..bytes.len() * 3 / 4]).expect("write");
    let (report, _) = run(&cut);
    assert!(report.records <= 1);
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert!(report.errors[0].file.ends_with("updateinfo_cut.xml.gz"));

    // Not updateinfo at all: a feed error naming the file.
    let mut records = Vec::new();
    let err = amazon::import(&testdata("not_updateinfo.xml"), &mut records).expect_err("wrong XML");
    let msg = err.to_string();
    assert!(
        msg.contains("not_updateinfo.xml") && msg.contains("<html>"),
        "{msg}"
    );
    let err = amazon::import(&sample("repomd_valid.xml"), &mut records).expect_err("repomd");
    assert!(err.to_string().contains("repomd_valid.xml"), "{err}");
    assert!(records.is_empty());
}

/// Hand-made updateinfo in the upstream format (`testdata/amazon`): the old
/// AMI's `ALAS-` ids, one package on several arches, an update without an
/// id, a package without a version, an id that names no release.
#[test]
fn amazon_handmade_updateinfo() {
    let path = testdata("updateinfo_handmade.xml");
    let (report, advs) = run(&path);
    assert_eq!(report.records, 2);
    let errs: Vec<_> = report
        .errors
        .iter()
        .map(|e| e.record.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        errs,
        [
            "Hand-made: an update without an id",
            "ALAS2023-2024-900",
            "KLP-2024-001"
        ]
    );
    assert!(
        report
            .errors
            .iter()
            .all(|e| e.file.ends_with("updateinfo_handmade.xml"))
    );
    let a = &advs[0];
    assert_eq!(a.id, "ALAS-2018-1111");
    assert_eq!(a.aliases, ["CVE-2018-0734"]);
    let o = pkg(a, "openssl");
    assert_eq!(o.namespace, "amzn:1");
    assert_eq!(o.fixed.as_deref(), Some("1:1.0.2k-16.86.amzn1"));
    assert_eq!(o.arches, ["i686", "src", "x86_64"]);
    assert_eq!(a.affected.len(), 1);
    let a = &advs[1];
    assert_eq!(a.affected.len(), 1);
    assert_eq!(pkg(a, "libcurl").namespace, "amzn:2023");

    // The caller can tell the release.
    let mut records = Vec::new();
    let report = amazon::import_as(&path, "amzn:2", &mut records).expect("import_as");
    assert_eq!((report.records, report.errors.len()), (3, 2));
    let advs = advisories(records);
    assert!(
        advs.iter()
            .flat_map(|a| &a.affected)
            .all(|x| x.namespace == "amzn:2")
    );
}

/// Entity and character references in text and attributes decode as they
/// did with quick-xml 0.37 (since 0.38 the reader hands references as
/// events of their own, between pieces of the text): `&amp;` is `&`,
/// `&#x27;` and `&#39;` an apostrophe, the spaces around a reference are
/// kept, and an unknown entity is an error of that update only.
#[test]
fn amazon_entity_and_character_references() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("updateinfo.xml");
    std::fs::write(
        &path,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update author="alas@amazon.com" from="alas@amazon.com" status="final" type="security" version="1.4">
    <id>ALAS2-2024-&#x30;01</id>
    <title> Amazon Linux 2 - ALAS2-2024-001: openssl &amp; libcurl &lt;important&gt; &quot;fix&quot; isn&#39;t &#x27;late&#x27;, caf&#233; </title>
    <issued date="2024-01-02&#32;03:04" />
    <updated date="2024-01-03 04:05" />
    <severity>&#x49;mportant</severity>
    <references>
      <reference href="https://alas.aws.amazon.com/cve/html/CVE-2024-0001.html?a=1&amp;b=&#x32;" id="CVE-2024-&#48;001" title="CVE-2024-0001 &amp; co" type="cve" />
      <reference href="https://example.com/it&apos;s" id="CVE-2024-0002" title="" type="c&#x76;e" />
    </references>
    <pkglist>
      <collection short="amazon-linux-2">
        <name>Amazon Linux 2</name>
        <package name="lib&amp;curl" arch="x86_64" epoch="0" version="7.79.1" release="1.amzn2&#x2e;0.1">
          <filename>libcurl-7.79.1-1.amzn2.0.1.x86_64.rpm</filename>
        </package>
      </collection>
    </pkglist>
  </update>
  <update author="alas@amazon.com" from="alas@amazon.com" status="final" type="security" version="1.4">
    <id>ALAS2-2024-002</id>
    <title>an &unknown; entity</title>
    <references>
      <reference href="https://example.com/&nope;" id="CVE-2024-0003" type="cve" />
    </references>
    <pkglist>
      <collection short="amazon-linux-2">
        <package name="zlib" arch="x86_64" epoch="0" version="1.2.7" release="19.amzn2.0.3" />
      </collection>
    </pkglist>
  </update>
</updates>
"#,
    )
    .expect("write");
    let (report, advs) = run(&path);
    assert_eq!(report.records, 2);
    let a = &advs[0];
    assert_eq!(a.id, "ALAS2-2024-001");
    assert_eq!(
        a.summary.as_deref(),
        Some(
            "Amazon Linux 2 - ALAS2-2024-001: openssl & libcurl <important> \"fix\" isn't 'late', café"
        )
    );
    assert_eq!(a.published.as_deref(), Some("2024-01-02 03:04"));
    assert_eq!(
        a.severity.as_ref().map(|s| s.value.as_str()),
        Some("Important")
    );
    assert_eq!(a.aliases, ["CVE-2024-0001", "CVE-2024-0002"]);
    assert_eq!(
        a.references,
        [
            "https://alas.aws.amazon.com/cve/html/CVE-2024-0001.html?a=1&b=2",
            "https://example.com/it's"
        ]
    );
    let p = pkg(a, "lib&curl");
    assert_eq!(p.fixed.as_deref(), Some("7.79.1-1.amzn2.0.1"));

    // The unknown entities: the update is still imported, with the text
    // and the reference left out, and one error each, as before.
    let b = &advs[1];
    assert_eq!(b.id, "ALAS2-2024-002");
    assert_eq!(b.summary, None);
    assert!(b.references.is_empty());
    assert_eq!(b.aliases, ["CVE-2024-0003"]);
    let errors: Vec<_> = report
        .errors
        .iter()
        .map(|e| (e.record.as_deref().unwrap_or_default(), e.message.as_str()))
        .collect();
    assert_eq!(
        errors,
        [
            (
                "ALAS2-2024-002",
                "bad text in <title>: at 4..11: unrecognized entity `unknown`"
            ),
            (
                "ALAS2-2024-002",
                "bad attribute value: at 21..25: unrecognized entity `nope`"
            ),
        ]
    );

    // repomd.xml: references in text and attributes.
    let repomd = dir.path().join("repomd.xml");
    std::fs::write(
        &repomd,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo">
  <data type="update&#x69;nfo">
    <checksum type="sha&#50;56"> e6f5&#x36;9 </checksum>
    <location href="repodata/update&amp;info.xml.gz"/>
    <size> 1&#50;3 </size>
  </data>
</repomd>
"#,
    )
    .expect("write");
    let d = amazon::updateinfo_location(&repomd).expect("location");
    assert_eq!(d.href, "repodata/update&info.xml.gz");
    assert_eq!(d.checksum, Some(("sha256".to_owned(), "e6f569".to_owned())));
    assert_eq!(d.size, Some(123));
}

#[test]
fn amazon_repomd_updateinfo_location() {
    let d = amazon::updateinfo_location(&sample("repomd_valid.xml")).expect("location");
    assert_eq!(d.href, "repodata/updateinfo.xml.gz");
    assert_eq!(
        d.checksum,
        Some((
            "sha256".to_owned(),
            "e6f569f8ed2246a6b06c0fef7cfd71560df02781327e31c38396ed358d591d48".to_owned()
        ))
    );
    assert_eq!(d.size, Some(146324));
    let all = amazon::read_repomd(&sample("repomd_valid.xml")).expect("repomd");
    let raw = std::fs::read_to_string(sample("repomd_valid.xml")).expect("read");
    assert_eq!(all.len(), raw.matches("<data ").count());

    let err = amazon::updateinfo_location(&sample("repomd_invalid.xml")).expect_err("invalid");
    let msg = err.to_string();
    assert!(
        msg.contains("repomd_invalid.xml") && msg.contains("updateinfo"),
        "{msg}"
    );
    let err = amazon::updateinfo_location(&testdata("not_updateinfo.xml")).expect_err("html");
    assert!(err.to_string().contains("not_updateinfo.xml"), "{err}");
}

#[test]
fn amazon_namespace_from_id() {
    for (id, collection, ns) in [
        ("ALAS-2018-1111", None, Some("amzn:1")),
        ("ALAS2-2018-939", None, Some("amzn:2")),
        ("ALAS2KERNEL-5.10-2022-003", None, Some("amzn:2")),
        ("ALAS2DOCKER-2023-001", None, Some("amzn:2")),
        ("ALAS2022-2021-001", None, Some("amzn:2022")),
        ("ALAS2023-2023-001", None, Some("amzn:2023")),
        ("KLP-2024-001", Some("amazon-linux-2023"), Some("amzn:2023")),
        ("KLP-2024-001", Some("kernel-livepatch"), None),
        ("ALASx-2024-001", None, None),
    ] {
        assert_eq!(
            amazon::namespace_of(id, collection).as_deref(),
            ns,
            "{id} {collection:?}"
        );
    }
}
