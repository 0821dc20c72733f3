//! `update::download` against a loopback HTTP mirror serving the real data
//! folder in place, then `update::build`.

use crate::support::http_mirror;

use std::path::Path;
use std::time::{Duration, Instant};

use http_mirror::{Hit, Server};
use kensa_kb::base::KnowledgeBase;
use kensa_kb::update::{self, FeedDownload, Options, Source};

const PYPI: &str = "osv/PyPI/all.zip";
const KEV: &str = "kev/known_exploited_vulnerabilities.json";

fn opts() -> Options {
    Options {
        attempts: 3,
        backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_secs(5),
    }
}

fn small() -> Vec<String> {
    vec![
        PYPI.to_owned(),
        KEV.to_owned(),
        "alpine-secdb/v3.10/main.json".to_owned(),
    ]
}

fn download(server: &Server, cache: &Path) -> Vec<FeedDownload> {
    update::download(&Source::Mirror(server.base.clone()), cache, &opts()).expect("download")
}

fn feed<'a>(d: &'a [FeedDownload], name: &str) -> &'a FeedDownload {
    d.iter()
        .find(|f| f.feed == name)
        .unwrap_or_else(|| panic!("{name} missing from {d:?}"))
}

fn requests_answered(log: &[Hit]) -> Vec<(String, u16)> {
    log.iter().map(|h| (h.path.clone(), h.status)).collect()
}

fn pypi_answers(store: &Path) -> usize {
    KnowledgeBase::open(store)
        .expect("open store")
        .lookup_raw("PyPI", "requests")
        .expect("rows")
        .iter()
        .count()
}

#[test]
fn whole_data_folder_then_not_modified() {
    let data = kensa_testkit::data_dir();
    let paths = http_mirror::list(
        &data,
        &["osv", "rustsec", "alpine-secdb", "kev", "eol", "samples"],
    );
    assert!(paths.len() > 100, "{}", paths.len());
    let server = Server::start(&data, &paths, Duration::from_secs(300));
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = dir.path().join("cache");
    let store = dir.path().join("kb");

    let first = download(&server, &cache);
    let files: usize = first.iter().map(|f| f.files).sum();
    assert_eq!(files, paths.len() + 1, "every listed file and the index");
    for f in &first {
        assert!(f.failed.is_empty(), "{f:?}");
        assert_eq!(f.downloaded, f.files, "{f:?}");
    }
    for p in [PYPI, KEV] {
        assert_eq!(
            std::fs::read(cache.join(p)).expect("cached"),
            std::fs::read(data.join(p)).expect("data"),
            "{p}"
        );
    }
    let log = server.take_log();
    assert!(log.iter().all(|h| h.status == 200 && !h.conditional));

    let built = update::build(&cache, &store).expect("build");
    assert!(built.unreadable.is_empty(), "{:?}", built.unreadable);
    let meta = built.meta.expect("switched in");
    assert!(meta.affected_rows > 1000, "{}", meta.affected_rows);
    for name in [
        "osv:PyPI", "osv:Go", "rustsec", "alpine", "kev", "eol", "debian",
    ] {
        assert!(
            built.imported.iter().any(|i| i.feed == name),
            "{name} not imported"
        );
    }
    assert!(pypi_answers(&store) >= 1);

    // Second run: every request conditional, every answer 304, no body.
    let second = download(&server, &cache);
    for f in &second {
        assert!(f.failed.is_empty(), "{f:?}");
        assert_eq!(f.not_modified, f.files, "{f:?}");
        assert_eq!(f.bytes, 0);
    }
    let log = server.take_log();
    assert_eq!(log.len(), paths.len() + 1);
    for h in &log {
        assert!(h.conditional, "{h:?}");
        assert_eq!(h.status, 304, "{h:?}");
        assert_eq!(h.body, 0, "{h:?}");
    }
}

#[test]
fn unavailable_twice_then_served() {
    let data = kensa_testkit::data_dir();
    let server = Server::start(&data, &small(), Duration::from_secs(120));
    server.faults(|f| {
        f.fail.insert(KEV.to_owned(), 2);
        f.retry_after = Some(1);
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = Instant::now();
    let got = download(&server, dir.path());
    let kev = feed(&got, "kev");
    assert!(kev.failed.is_empty(), "{kev:?}");
    assert_eq!((kev.downloaded, kev.retries), (1, 2));
    // Retry-After: 1 was honoured, twice.
    assert!(clock.elapsed() >= Duration::from_secs(2));
    let kev_hits: Vec<(String, u16)> = requests_answered(&server.take_log())
        .into_iter()
        .filter(|(p, _)| p == KEV)
        .collect();
    assert_eq!(
        kev_hits.iter().map(|h| h.1).collect::<Vec<_>>(),
        vec![503, 503, 200]
    );
    assert_eq!(
        std::fs::read(dir.path().join(KEV)).expect("cached"),
        std::fs::read(data.join(KEV)).expect("data")
    );

    // Always unavailable: bounded attempts, then a failure naming why.
    server.faults(|f| {
        f.fail.insert(PYPI.to_owned(), 100);
        f.retry_after = None;
        f.body.insert(PYPI.to_owned(), b"new".to_vec());
    });
    let got = download(&server, dir.path());
    let pypi = feed(&got, "osv:PyPI");
    assert_eq!(pypi.failed.len(), 1, "{pypi:?}");
    assert!(pypi.failed[0].reason.contains("503"), "{pypi:?}");
    assert!(pypi.failed[0].stale, "the previous copy is kept");
    let hits = server.take_log().iter().filter(|h| h.path == PYPI).count();
    assert_eq!(hits, 3);
}

#[test]
fn cut_transfer_keeps_the_cached_copy_and_the_store() {
    let data = kensa_testkit::data_dir();
    let server = Server::start(&data, &small(), Duration::from_secs(120));
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = dir.path().join("cache");
    let store = dir.path().join("kb");
    let got = download(&server, &cache);
    assert!(got.iter().all(|f| f.failed.is_empty()), "{got:?}");
    assert!(update::build(&cache, &store).expect("build").meta.is_some());
    let before = pypi_answers(&store);
    let current = std::fs::read_link(store.join("current")).expect("current");

    // A new version of the zip whose transfer always stops halfway.
    let original = std::fs::read(data.join(PYPI)).expect("data");
    server.faults(|f| {
        f.body.insert(PYPI.to_owned(), original.clone());
        f.cut.insert(PYPI.to_owned());
    });
    server.take_log();
    let got = download(&server, &cache);
    let pypi = feed(&got, "osv:PyPI");
    assert_eq!(pypi.failed.len(), 1, "{pypi:?}");
    assert!(pypi.failed[0].stale);
    let reason = &pypi.failed[0].reason;
    assert!(reason.contains("attempts"), "{reason}");
    assert!(feed(&got, "kev").failed.is_empty());
    let log = server.take_log();
    assert_eq!(log.iter().filter(|h| h.path == PYPI).count(), 3);
    assert!(log.iter().any(|h| h.path == PYPI && h.body > 0));
    // The cached copy is the previous one, whole; no partial file is left.
    assert_eq!(std::fs::read(cache.join(PYPI)).expect("cached"), original);
    let names: Vec<String> = std::fs::read_dir(cache.join("osv/PyPI"))
        .expect("list")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    assert_eq!(names, vec!["all.zip".to_owned()]);
    // The store was not touched and still answers.
    assert_eq!(
        std::fs::read_link(store.join("current")).expect("current"),
        current
    );
    assert_eq!(pypi_answers(&store), before);
}

#[test]
fn corrupt_zip_keeps_the_previous_store() {
    let data = kensa_testkit::data_dir();
    let server = Server::start(&data, &small(), Duration::from_secs(120));
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = dir.path().join("cache");
    let store = dir.path().join("kb");
    download(&server, &cache);
    assert!(update::build(&cache, &store).expect("build").meta.is_some());
    let before = pypi_answers(&store);
    assert!(before >= 1);
    let current = std::fs::read_link(store.join("current")).expect("current");

    server.faults(|f| {
        f.body
            .insert(PYPI.to_owned(), b"PK\x03\x04 this is not a zip".to_vec());
    });
    let got = download(&server, &cache);
    assert_eq!(feed(&got, "osv:PyPI").downloaded, 1);
    let built = update::build(&cache, &store).expect("build runs");
    assert_eq!(built.unreadable, vec!["osv:PyPI".to_owned()]);
    assert!(built.meta.is_none());
    let pypi = built
        .imported
        .iter()
        .find(|i| i.feed == "osv:PyPI")
        .expect("reported");
    assert!(!pypi.report.errors.is_empty());
    assert_eq!(pypi.report.records, 0);
    assert_eq!(
        std::fs::read_link(store.join("current")).expect("current"),
        current
    );
    assert_eq!(pypi_answers(&store), before);

    // Its validators are forgotten: the next update asks unconditionally
    // and repairs it.
    server.faults(|f| f.body.clear());
    server.take_log();
    let got = download(&server, &cache);
    assert_eq!(feed(&got, "osv:PyPI").downloaded, 1);
    let log = server.take_log();
    let hit = log.iter().find(|h| h.path == PYPI).expect("asked");
    assert!(!hit.conditional && hit.status == 200, "{hit:?}");
    assert!(
        log.iter()
            .filter(|h| h.path != PYPI)
            .all(|h| h.status == 304)
    );
    let built = update::build(&cache, &store).expect("build");
    assert!(built.meta.is_some() && built.unreadable.is_empty());
    assert_eq!(pypi_answers(&store), before);
}

#[test]
fn files_no_longer_listed_leave_the_cache() {
    let data = kensa_testkit::data_dir();
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let server = Server::start(&data, &small(), Duration::from_secs(60));
        download(&server, dir.path());
    }
    assert!(dir.path().join(KEV).is_file());
    let server = Server::start(&data, &[PYPI.to_owned()], Duration::from_secs(60));
    let got = download(&server, dir.path());
    assert!(got.iter().all(|f| f.failed.is_empty()), "{got:?}");
    assert!(!dir.path().join(KEV).exists());
    assert!(dir.path().join(PYPI).is_file());
}

#[test]
fn a_directory_downloads_nothing_and_a_dead_mirror_fails_cleanly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let got =
        update::download(&Source::Dir(dir.path().to_owned()), dir.path(), &opts()).expect("dir");
    assert!(got.is_empty());

    // Nothing listens there (the port was just released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let src = Source::Mirror(format!("http://user:secret@127.0.0.1:{port}/m"));
    let got = update::download(&src, dir.path(), &opts()).expect("summary");
    let index = feed(&got, "index");
    assert_eq!(index.failed.len(), 1);
    assert!(!index.failed[0].reason.contains("secret"), "{index:?}");
    assert_eq!(index.retries, 2);

    // Upstream: after one file found the host unreachable, its other files
    // are not tried.
    let table = vec![
        update::Remote::direct(PYPI, format!("http://127.0.0.1:{port}/a")),
        update::Remote::direct(KEV, format!("http://127.0.0.1:{port}/b")),
    ];
    let got = update::download(&Source::Upstream(table), dir.path(), &opts()).expect("summary");
    assert_eq!(feed(&got, "osv:PyPI").retries, 2);
    let kev = feed(&got, "kev");
    assert_eq!(kev.retries, 0);
    assert!(kev.failed[0].reason.starts_with("not tried"), "{kev:?}");
}

#[test]
fn upstream_table_with_an_amazon_repository() {
    let data = kensa_testkit::data_dir();
    let server = Server::start(&data, &[], Duration::from_secs(60));
    let sample = |name: &str| {
        std::fs::read(data.join("samples/amazon-updateinfo").join(name)).expect("sample")
    };
    let updateinfo = sample("updateinfo_AL2023.xml.gz");
    let base = server.base.clone();
    server.faults(|f| {
        f.body.insert(
            "al/mirror.list".into(),
            format!("{base}/al/repo/\n").into_bytes(),
        );
        f.body.insert(
            "al/repo/repodata/repomd.xml".into(),
            sample("repomd_valid.xml"),
        );
        f.body.insert(
            "al/repo/repodata/updateinfo.xml.gz".into(),
            updateinfo.clone(),
        );
    });
    let table = vec![
        update::Remote {
            path: "amazon/al2023.xml.gz".into(),
            url: format!("{base}/al/mirror.list"),
            via: update::Via::YumMirrorList,
        },
        update::Remote::direct(KEV, format!("{base}/{KEV}")),
    ];
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = dir.path().join("cache");
    let src = Source::Upstream(table);
    let got = update::download(&src, &cache, &opts()).expect("download");
    assert!(got.iter().all(|f| f.failed.is_empty()), "{got:?}");
    assert_eq!(feed(&got, "amazon").downloaded, 1);
    assert_eq!(
        std::fs::read(cache.join("amazon/al2023.xml.gz")).expect("cached"),
        updateinfo
    );
    server.take_log();
    let got = update::download(&src, &cache, &opts()).expect("download");
    assert_eq!(feed(&got, "amazon").not_modified, 1, "{got:?}");
    let log = server.take_log();
    let last = log
        .iter()
        .find(|h| h.path == "al/repo/repodata/updateinfo.xml.gz")
        .expect("asked");
    assert!(last.conditional && last.status == 304, "{last:?}");
    let built = update::build(&cache, &dir.path().join("kb")).expect("build");
    let amazon = built
        .imported
        .iter()
        .find(|i| i.feed == "amazon")
        .expect("amazon imported");
    assert!(amazon.report.records >= 1, "{:?}", amazon.report);
    assert!(built.meta.is_some());

    // A repository whose repomd.xml names no updateinfo: a failure that
    // says so, and the cached copy stays.
    server.faults(|f| {
        f.body.insert(
            "al/repo/repodata/repomd.xml".into(),
            sample("repomd_invalid.xml"),
        );
    });
    let got = update::download(&src, &cache, &opts()).expect("download");
    let amazon = feed(&got, "amazon");
    assert_eq!(amazon.failed.len(), 1, "{amazon:?}");
    assert!(
        amazon.failed[0].reason.starts_with("repomd.xml"),
        "{amazon:?}"
    );
    assert!(amazon.failed[0].stale);
}

#[test]
fn the_default_upstream_table() {
    let table = update::upstream(&["PyPI", "Rocky Linux"], &["v3.20"]);
    let urls: Vec<&str> = table.iter().map(|r| r.url.as_str()).collect();
    assert!(
        urls.contains(&"https://osv-vulnerabilities.storage.googleapis.com/Rocky%20Linux/all.zip")
    );
    assert!(urls.contains(&"https://secdb.alpinelinux.org/v3.20/community.json"));
    assert!(table.iter().any(|r| r.path == "osv/Rocky Linux/all.zip"));
    assert!(table.iter().all(|r| r.url.starts_with("https://")));
    assert!(table.iter().any(|r| r.via == update::Via::YumMirrorList));
}

#[test]
fn a_stalled_transfer_times_out_and_a_long_retry_after_is_refused() {
    let data = kensa_testkit::data_dir();
    let server = Server::start(&data, &small(), Duration::from_secs(60));
    server.faults(|f| {
        f.stall.insert(KEV.to_owned(), Duration::from_millis(600));
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let quick = Options {
        read_timeout: Duration::from_millis(200),
        ..opts()
    };
    let clock = Instant::now();
    let got = update::download(&Source::Mirror(server.base.clone()), dir.path(), &quick)
        .expect("summary");
    assert!(clock.elapsed() < Duration::from_secs(20));
    let kev = feed(&got, "kev");
    assert_eq!(kev.failed.len(), 1, "{kev:?}");
    assert!(!kev.failed[0].stale);
    let reason = &kev.failed[0].reason;
    assert!(
        reason.contains("timed out") && reason.contains("3 attempts"),
        "{reason}"
    );
    assert!(!dir.path().join(KEV).exists());
    assert_eq!(feed(&got, "alpine").downloaded, 1);
    server.faults(|f| {
        f.stall.clear();
        f.fail.insert(PYPI.to_owned(), 1);
        f.retry_after = Some(3600);
    });
    let got = update::download(&Source::Mirror(server.base.clone()), dir.path(), &opts())
        .expect("summary");
    let pypi = feed(&got, "osv:PyPI");
    assert_eq!(pypi.failed.len(), 1, "{pypi:?}");
    assert!(
        pypi.failed[0].reason.contains("Retry-After 3600"),
        "{pypi:?}"
    );
    assert!(pypi.failed[0].stale);
    assert_eq!(feed(&got, "kev").downloaded, 1);
}

#[test]
fn the_state_file_keeps_no_secret_and_the_cache_is_locked() {
    let data = kensa_testkit::data_dir();
    let server = Server::start(&data, &[KEV.to_owned()], Duration::from_secs(60));
    let dir = tempfile::tempdir().expect("temp dir");
    let base = server.base.replace("http://", "http://user:secret@");
    let got = update::download(&Source::Mirror(base.clone()), dir.path(), &opts()).expect("ok");
    assert_eq!(feed(&got, "kev").downloaded, 1);
    let state = std::fs::read_to_string(dir.path().join(update::STATE)).expect("state");
    assert!(
        !state.contains("secret") && !state.contains("user"),
        "{state}"
    );
    let state: serde_json::Value = serde_json::from_str(&state).expect("json");
    let kev = &state["files"][KEV];
    assert_eq!(
        kev["etag"],
        format!(
            "\"file-{}\"",
            std::fs::metadata(data.join(KEV)).expect("kev").len()
        )
    );
    assert_eq!(kev["last_modified"], http_mirror::LAST_MODIFIED);

    // Another update holding the cache: refused, nothing touched.
    let held = std::fs::File::open(dir.path().join(".kensa-update.lock")).expect("lock file");
    held.lock().expect("lock");
    let e = update::download(&Source::Mirror(base), dir.path(), &opts()).expect_err("locked");
    assert!(e.to_string().contains("another update"), "{e}");
    assert!(
        server
            .take_log()
            .iter()
            .all(|h| h.path == "index.txt" || h.path == KEV)
    );
}
