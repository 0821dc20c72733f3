//! `kensa db update` against a loopback HTTP mirror serving the data folder
//! in place; killed midway, the previous store keeps answering.

#[path = "../../../kensa-kb/tests/it/support/http_mirror.rs"]
mod http_mirror;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use http_mirror::Server;

const PYPI: &str = "osv/PyPI/all.zip";

fn kensa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kensa"))
        .args(args)
        .output()
        .expect("kensa runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn update_args<'a>(base: &'a str, store: &'a Path, cache: &'a Path) -> Vec<&'a str> {
    vec![
        "db",
        "update",
        "--mirror",
        base,
        "--store",
        store.to_str().expect("utf-8"),
        "--cache",
        cache.to_str().expect("utf-8"),
    ]
}

fn answers(store: &Path) -> usize {
    kensa_kb::base::KnowledgeBase::open(store)
        .expect("open store")
        .lookup_raw("PyPI", "requests")
        .expect("rows")
        .iter()
        .count()
}

#[test]
fn update_twice_then_killed_midway() {
    let data = kensa_testkit::data_dir();
    let paths = http_mirror::list(&data, &["osv", "alpine-secdb", "kev", "samples"]);
    let server = Server::start(&data, &paths, Duration::from_secs(300));
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("kb");
    let cache = dir.path().join("cache");
    let args = update_args(&server.base, &store, &cache);

    let o = kensa(&args);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    for feed in ["osv:PyPI", "kev", "alpine", "amazon", "debian"] {
        assert!(
            out.lines().any(|l| l.starts_with(feed)),
            "{feed} missing from:\n{out}"
        );
    }
    let before = answers(&store);
    assert!(before >= 1);
    let current = std::fs::read_link(store.join("current")).expect("current");

    // Second run: nothing changed upstream, all 304.
    server.take_log();
    let o = kensa(&args);
    assert!(o.status.success(), "{}", text(&o));
    let log = server.take_log();
    assert_eq!(log.len(), paths.len() + 1);
    assert!(log.iter().all(|h| h.conditional && h.status == 304));
    let current = {
        let now = std::fs::read_link(store.join("current")).expect("current");
        assert_ne!(now, current, "a new generation from the cache");
        now
    };

    // A new zip sent slowly; the update is killed while it downloads.
    let original = std::fs::read(data.join(PYPI)).expect("data");
    server.faults(|f| {
        f.body.insert(PYPI.to_owned(), original.clone());
        f.slow.insert(PYPI.to_owned());
    });
    let mut child = Command::new(env!("CARGO_BIN_EXE_kensa"))
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let clock = Instant::now();
    loop {
        let log = server.take_log();
        if log.iter().any(|h| h.path == PYPI) {
            break;
        }
        assert!(
            clock.elapsed() < Duration::from_secs(60),
            "the download never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    child.kill().expect("kill");
    child.wait().expect("wait");

    assert_eq!(
        std::fs::read_link(store.join("current")).expect("current"),
        current
    );
    assert_eq!(answers(&store), before);
    assert_eq!(std::fs::read(cache.join(PYPI)).expect("cached"), original);
    let o = kensa(&["db", "status", "--store", store.to_str().expect("utf-8")]);
    assert!(o.status.success(), "{}", text(&o));

    // The next update completes and clears the partial download.
    server.faults(|f| {
        f.slow.clear();
    });
    let o = kensa(&args);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(answers(&store), before);
    let names: Vec<String> = std::fs::read_dir(cache.join("osv/PyPI"))
        .expect("list")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    assert_eq!(names, vec!["all.zip".to_owned()]);
}

#[test]
fn a_failed_download_exits_1_and_a_dead_mirror_2() {
    let data = kensa_testkit::data_dir();
    let paths = vec![
        "kev/known_exploited_vulnerabilities.json".to_owned(),
        "kev/not-there.json".to_owned(),
    ];
    let server = Server::start(&data, &paths, Duration::from_secs(60));
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("kb");
    let cache = dir.path().join("cache");
    let o = kensa(&update_args(&server.base, &store, &cache));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("kev/not-there.json: HTTP 404"), "{err}");
    assert!(kensa_kb::base::KnowledgeBase::open(&store).is_ok());
    drop(server);

    // Nothing answers and nothing is cached: no store is built.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let empty = dir.path().join("empty-cache");
    let other = dir.path().join("kb2");
    let o = kensa(&update_args(&base, &other, &empty));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(kensa_kb::base::KnowledgeBase::open(&other).is_err());
}

#[test]
fn a_mirror_directory_is_imported_in_place() {
    let data = kensa_testkit::data_dir();
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("kb");
    let cache = dir.path().join("cache");
    let o = kensa(&update_args(data.to_str().expect("utf-8"), &store, &cache));
    assert!(o.status.success(), "{}", text(&o));
    assert!(answers(&store) >= 1);
    assert!(!cache.exists(), "nothing downloaded");
}
