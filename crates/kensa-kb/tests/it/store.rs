//! The store: what goes in comes out by (namespace, package) and by id;
//! generations switch atomically; a build that fails or is dropped leaves
//! the previous store answering.

use kensa_kb::base::{KnowledgeBase, KnowledgeBaseBuilder};
use kensa_kb::model::{Advisory, Affected, Event, Feed, FixStatus, Kev, Record, Severity, Sink};

fn advisory(id: &str, cve: &str, ns: &str, pkg: &str, fixed: &str) -> Record {
    Record::Advisory(Advisory {
        id: id.into(),
        feed: Feed::Osv,
        aliases: vec![cve.into()],
        published: None,
        modified: None,
        summary: Some(format!("{id} summary")),
        severity: Some(Severity {
            source: "test".into(),
            value: "high".into(),
        }),
        cvss: vec![],
        references: vec![],
        affected: vec![Affected {
            namespace: ns.into(),
            package: pkg.into(),
            status: FixStatus::Fixed,
            ranges: vec![vec![
                Event::Introduced("0".into()),
                Event::Fixed(fixed.into()),
            ]],
            versions: vec![],
            fixed: Some(fixed.into()),
            note: None,
            module: None,
            arches: vec![],
        }],
    })
}

fn build(dir: &std::path::Path, records: Vec<Record>) {
    let mut b = KnowledgeBaseBuilder::create(dir).expect("builder");
    for r in records {
        b.record(r);
    }
    b.finish().expect("finish");
}

#[test]
fn lookups_by_key_and_by_id() {
    let dir = tempfile::tempdir().expect("temp dir");
    build(
        dir.path(),
        vec![
            advisory(
                "ALSA-1",
                "CVE-2024-1",
                "almalinux:9",
                "openssl",
                "1:3.0.7-25.el9",
            ),
            advisory(
                "ALSA-2",
                "CVE-2024-2",
                "almalinux:9",
                "openssl",
                "1:3.0.7-27.el9",
            ),
            advisory("PYSEC-1", "CVE-2024-1", "PyPI", "requests", "2.32.0"),
            Record::Kev(Kev {
                cve: "CVE-2024-1".into(),
                vendor: "v".into(),
                product: "p".into(),
                name: "n".into(),
                date_added: "2024-01-02".into(),
                due_date: "2024-01-23".into(),
                ransomware: false,
                required_action: "patch".into(),
            }),
        ],
    );
    let store = KnowledgeBase::open(dir.path()).expect("open");
    let rows = store.lookup("almalinux:9", "openssl").expect("rows");
    assert_eq!(
        rows.iter().map(|r| r.advisory.as_str()).collect::<Vec<_>>(),
        ["ALSA-1", "ALSA-2"]
    );
    assert_eq!(rows[1].affected.fixed.as_deref(), Some("1:3.0.7-27.el9"));
    assert_eq!(
        store.lookup("almalinux:9", "openssh").expect("rows"),
        vec![]
    );
    assert_eq!(
        store.lookup("almalinux:8", "openssl").expect("rows"),
        vec![]
    );
    assert_eq!(
        store
            .lookup_raw("PyPI", "requests")
            .expect("rows")
            .iter()
            .count(),
        1
    );
    // A CVE id finds both advisories that alias it and its KEV entry.
    let by_cve = store.get("CVE-2024-1").expect("get");
    assert_eq!(by_cve.len(), 3);
    assert!(
        by_cve
            .iter()
            .any(|r| matches!(r, Record::Kev(k) if k.due_date == "2024-01-23"))
    );
    assert_eq!(store.get("ALSA-2").expect("get").len(), 1);
    assert!(store.get("nope").expect("get").is_empty());
    assert_eq!(store.meta().counts.get("advisory"), Some(&3));
    assert_eq!(
        (store.meta().affected_rows, store.meta().affected_keys),
        (3, 2)
    );
}

#[test]
fn a_new_generation_replaces_the_old_atomically() {
    let dir = tempfile::tempdir().expect("temp dir");
    build(
        dir.path(),
        vec![advisory(
            "A-1",
            "CVE-1",
            "debian:12",
            "glibc",
            "2.36-9+deb12u4",
        )],
    );
    let old = KnowledgeBase::open(dir.path()).expect("open old");
    build(
        dir.path(),
        vec![advisory(
            "A-2",
            "CVE-2",
            "debian:12",
            "glibc",
            "2.36-9+deb12u7",
        )],
    );
    // A reader that opened the old generation keeps answering from it.
    assert_eq!(
        old.lookup("debian:12", "glibc").expect("rows")[0].advisory,
        "A-1"
    );
    let new = KnowledgeBase::open(dir.path()).expect("open new");
    assert_eq!(
        new.lookup("debian:12", "glibc").expect("rows")[0].advisory,
        "A-2"
    );
    assert_ne!(old.generation(), new.generation());
    // A third build removes the first generation, keeps the one it replaced.
    build(
        dir.path(),
        vec![advisory(
            "A-3",
            "CVE-3",
            "debian:12",
            "glibc",
            "2.36-9+deb12u9",
        )],
    );
    assert!(!old.generation().exists());
    assert!(new.generation().exists());
}

#[test]
fn an_unfinished_build_leaves_the_store_as_it_was() {
    let dir = tempfile::tempdir().expect("temp dir");
    build(
        dir.path(),
        vec![advisory(
            "A-1",
            "CVE-1",
            "alpine:3.19",
            "openssl",
            "3.1.4-r1",
        )],
    );
    {
        let mut b = KnowledgeBaseBuilder::create(dir.path()).expect("builder");
        b.record(advisory(
            "A-2",
            "CVE-2",
            "alpine:3.19",
            "openssl",
            "3.1.5-r0",
        ));
        // Dropped without finish: an update that failed midway.
    }
    let store = KnowledgeBase::open(dir.path()).expect("open");
    assert_eq!(
        store.lookup("alpine:3.19", "openssl").expect("rows")[0].advisory,
        "A-1"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".building"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_store_that_is_not_there_or_not_ours_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let e = KnowledgeBase::open(dir.path()).err().expect("no store");
    assert!(e.to_string().contains("current"), "{e}");
    std::os::unix::fs::symlink("/etc", dir.path().join("current")).expect("symlink");
    let e = KnowledgeBase::open(dir.path()).err().expect("foreign link");
    assert!(e.to_string().contains("does not name a generation"), "{e}");
}

/// An incremental NVD fetch delivers a CVE again as it changes: the store
/// keeps its latest state only, whatever order the pages came in.
#[test]
fn the_newest_cve_record_wins() {
    use kensa_kb::model::Vulnerability;
    let cve = |modified: &str, description: &str| {
        Record::Vulnerability(Vulnerability {
            id: "CVE-2024-9999".into(),
            description: Some(description.into()),
            published: Some("2024-01-01T00:00:00.000".into()),
            modified: Some(modified.into()),
            cwes: vec![],
            references: vec![],
            cvss: vec![],
        })
    };
    let dir = tempfile::tempdir().expect("temp dir");
    build(
        dir.path(),
        vec![
            cve("2024-03-01T00:00:00.000", "newest"),
            cve("2024-01-01T00:00:00.000", "oldest"),
            cve("2024-02-01T00:00:00.000", "middle"),
        ],
    );
    let store = KnowledgeBase::open(dir.path()).expect("open");
    let got = store.get("CVE-2024-9999").expect("get");
    assert_eq!(got.len(), 1);
    assert!(
        matches!(&got[0], Record::Vulnerability(v) if v.description.as_deref() == Some("newest"))
    );
    assert_eq!(store.meta().counts.get("vulnerability"), Some(&1));
}

/// The borrowed row view decodes every row of the real mirror to the same
/// values as the owned row: the encoding is positional, so a field added
/// to one and not the other would shift everything after it.
#[test]
fn borrowed_rows_decode_like_owned_rows_on_the_whole_mirror() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut builder = KnowledgeBaseBuilder::create(dir.path()).expect("builder");
    let mut keys = Vec::new();
    struct Keys<'a>(&'a mut KnowledgeBaseBuilder, &'a mut Vec<(String, String)>);
    impl Sink for Keys<'_> {
        fn record(&mut self, record: Record) {
            if let Record::Advisory(a) = &record {
                for x in &a.affected {
                    self.1.push((x.namespace.clone(), x.package.clone()));
                }
            }
            self.0.record(record);
        }
    }
    kensa_kb::mirror::import(
        &kensa_testkit::data_dir(),
        &mut Keys(&mut builder, &mut keys),
    )
    .expect("import");
    builder.finish().expect("finish");
    keys.sort();
    keys.dedup();
    let store = KnowledgeBase::open(dir.path()).expect("open");
    let mut rows = 0;
    let mut with = [0usize; 4];
    for (ns, pkg) in &keys {
        let raw = store.lookup_raw(ns, pkg).expect("rows");
        for bytes in &raw {
            let owned = store.decode_row(bytes).expect("owned");
            let view = store.decode_row_ref(bytes).expect("view");
            assert_eq!(view.advisory, owned.advisory);
            assert_eq!(view.feed, owned.feed);
            assert_eq!(view.aliases, owned.aliases);
            assert_eq!(
                view.severity.map(|s| (s.source, s.value)),
                owned
                    .severity
                    .as_ref()
                    .map(|s| (s.source.as_str(), s.value.as_str()))
            );
            let (a, b) = (&view.affected, &owned.affected);
            assert_eq!(
                (a.namespace, a.package, a.status),
                (b.namespace.as_str(), b.package.as_str(), b.status)
            );
            let events: Vec<Vec<kensa_version::range::Event<'_>>> = a
                .ranges
                .iter()
                .map(|r| r.iter().map(|e| e.as_range_event()).collect())
                .collect();
            assert_eq!(a.ranges.len(), b.ranges.len());
            let owned_events: Vec<Vec<kensa_version::range::Event<'_>>> = b
                .ranges
                .iter()
                .map(|r| r.iter().map(Event::as_range_event).collect())
                .collect();
            assert_eq!(events, owned_events);
            assert_eq!(a.versions, b.versions);
            assert_eq!(a.fixed, b.fixed.as_deref());
            assert_eq!(a.note, b.note.as_deref());
            assert_eq!(a.module, b.module.as_deref());
            assert_eq!(a.arches, b.arches);
            rows += 1;
            with[0] += usize::from(!b.versions.is_empty());
            with[1] += usize::from(b.note.is_some());
            with[2] += usize::from(b.module.is_some());
            with[3] += usize::from(!b.arches.is_empty());
        }
    }
    assert_eq!(rows, store.meta().affected_rows);
    // The mirror exercises the optional fields, so the check above is not
    // only about the common shape.
    assert!(
        with.iter().all(|&n| n > 0),
        "rows with versions/note/module/arches: {with:?}"
    );
}
