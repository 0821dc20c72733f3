//! Fetching Red Hat's CSAF VEX publication ([`kensa_kb::redhat_csaf`])
//! from a small loopback server in this file: a `.tar.zst` archive built
//! here (with `ruzstd`'s encoder) from the valid files under
//! `testdata/redhat/`, `archive_latest.txt`, `changes.csv` and
//! `deletions.csv`.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kensa_kb::fetch::HttpOptions;
use kensa_kb::mirror;
use kensa_kb::model::Record;
use kensa_kb::redhat_csaf::{self, Mode, Options};
use kensa_kb::update::{self, Remote, Source, Via};

const VALID: [&str; 2] = ["cve-2023-0286.json", "cve-2023-32002.json"];

#[derive(Default)]
struct Shared {
    /// Path (without the leading `/`) to body and whether to cut it short.
    routes: HashMap<String, (Vec<u8>, bool)>,
    log: Vec<String>,
}

struct Server {
    base: String,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Serves until dropped, or at most 60 s.
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let shared = Arc::new(Mutex::new(Shared::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (shared.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            while !st.load(Ordering::Relaxed) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((stream, _)) => serve(stream, &s),
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Server {
            base,
            shared,
            stop,
            thread: Some(thread),
        }
    }

    fn route(&self, path: &str, body: impl Into<Vec<u8>>, cut: bool) {
        let mut s = self.shared.lock().expect("lock");
        s.routes.insert(path.to_owned(), (body.into(), cut));
    }

    fn take_log(&self) -> Vec<String> {
        std::mem::take(&mut self.shared.lock().expect("lock").log)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(mut stream: TcpStream, shared: &Mutex<Shared>) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let text = String::from_utf8_lossy(&head);
    let path = text
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .trim_start_matches('/')
        .to_owned();
    let route = {
        let mut s = shared.lock().expect("lock");
        s.log.push(path.clone());
        s.routes.get(&path).cloned()
    };
    let _ = match route {
        Some((body, cut)) => {
            let sent = if cut {
                &body[..body.len() / 2]
            } else {
                &body[..]
            };
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .and_then(|_| stream.write_all(sent))
        }
        None => stream
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
    };
    let _ = stream.flush();
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/redhat")
            .join(name),
    )
    .expect("fixture")
}

/// A tar of `(path, body)` entries; a path is written into the header as
/// is (so `../x.json` can be made).
fn tar_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut dir = tar::Header::new_ustar();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_path("2023/").expect("path");
    dir.set_size(0);
    dir.set_mode(0o755);
    dir.set_cksum();
    b.append(&dir, std::io::empty()).expect("append");
    for (path, body) in entries {
        let mut h = tar::Header::new_ustar();
        let name = &mut h.as_old_mut().name;
        name[..path.len()].copy_from_slice(path.as_bytes());
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        b.append(&h, *body).expect("append");
    }
    b.into_inner().expect("tar")
}

fn zst(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}

fn good_archive() -> Vec<u8> {
    let a = fixture(VALID[0]);
    let b = fixture(VALID[1]);
    zst(&tar_of(&[
        ("2023/cve-2023-0286.json", &a),
        ("./2023/cve-2023-32002.json", &b),
    ]))
}

fn opts() -> Options {
    Options {
        http: HttpOptions {
            attempts: 2,
            backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(20),
            connect_timeout: Duration::from_secs(2),
            read_timeout: Duration::from_secs(2),
            ..HttpOptions::default()
        },
        ..Options::default()
    }
}

/// A server with the archive of 2024-05-10 and nothing changed since.
fn published() -> Server {
    let s = Server::start();
    s.route("archive_latest.txt", "csaf_vex_2024-05-10.tar.zst\n", false);
    s.route("csaf_vex_2024-05-10.tar.zst", good_archive(), false);
    s.route(
        "changes.csv",
        "\"2023/cve-2023-0286.json\",\"2024-05-01T10:00:00+00:00\"\n",
        false,
    );
    s.route("deletions.csv", "", false);
    s
}

fn advisory_ids(cache: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let got = mirror::import(cache, &mut out).expect("import");
    let rh = got
        .iter()
        .find(|i| i.feed == "redhat")
        .expect("redhat feed");
    assert!(rh.report.errors.is_empty(), "{:?}", rh.report);
    let mut ids: Vec<String> = out
        .into_iter()
        .filter_map(|r| match r {
            Record::Advisory(a) => Some(a.id),
            _ => None,
        })
        .collect();
    ids.sort();
    ids
}

#[test]
fn a_full_fetch_unpacks_the_archive_and_imports() {
    let server = published();
    let tmp = tempfile::tempdir().expect("temp dir");
    let cache = tmp.path();
    let got = redhat_csaf::fetch(&server.base, cache, &opts()).expect("fetch");
    assert_eq!(got.mode, Mode::Full);
    assert_eq!(got.unpacked, 2);
    assert_eq!(got.changed, 0);
    assert!(got.download.failed.is_empty(), "{got:?}");
    for name in VALID {
        assert_eq!(
            std::fs::read(cache.join("redhat/2023").join(name)).expect("unpacked"),
            fixture(name)
        );
    }
    assert_eq!(advisory_ids(cache), ["CVE-2023-0286", "CVE-2023-32002"]);
    let log = server.take_log();
    assert!(
        log.contains(&"csaf_vex_2024-05-10.tar.zst".to_owned()),
        "{log:?}"
    );
    assert!(!log.iter().any(|p| p.ends_with(".json")), "{log:?}");
    // Nothing left behind but the tree and the state file.
    let mut top: Vec<String> = std::fs::read_dir(cache)
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(top, [redhat_csaf::STATE, "redhat"]);
}

#[test]
fn an_incremental_fetch_downloads_only_the_changes_and_deletes() {
    let server = published();
    let tmp = tempfile::tempdir().expect("temp dir");
    let cache = tmp.path();
    redhat_csaf::fetch(&server.base, cache, &opts()).expect("first fetch");
    server.take_log();

    let mut changed = fixture(VALID[0]);
    changed.extend_from_slice(b"\n");
    server.route("2023/cve-2023-0286.json", changed.clone(), false);
    server.route(
        "changes.csv",
        "\"2023/cve-2023-0286.json\",\"2024-05-12T08:00:00+00:00\"\n\
         \"2022/cve-2022-0001.json\",\"2024-04-01T08:00:00+00:00\"\n",
        false,
    );
    server.route(
        "deletions.csv",
        "\"2023/cve-2023-32002.json\",\"2024-05-11T08:00:00+00:00\"\n",
        false,
    );
    let got = redhat_csaf::fetch(&server.base, cache, &opts()).expect("second fetch");
    assert_eq!(got.mode, Mode::Incremental);
    assert_eq!((got.changed, got.deleted), (1, 1), "{got:?}");
    assert!(got.download.failed.is_empty(), "{got:?}");
    assert_eq!(
        server.take_log(),
        [
            "archive_latest.txt",
            "changes.csv",
            "2023/cve-2023-0286.json",
            "deletions.csv"
        ]
    );
    assert_eq!(
        std::fs::read(cache.join("redhat/2023/cve-2023-0286.json")).expect("changed"),
        changed
    );
    assert!(!cache.join("redhat/2023/cve-2023-32002.json").exists());
    assert_eq!(advisory_ids(cache), ["CVE-2023-0286"]);

    // The recorded time moved on: the same lists fetch nothing again.
    let got = redhat_csaf::fetch(&server.base, cache, &opts()).expect("third fetch");
    assert_eq!(
        (got.changed, got.deleted),
        (1, 0),
        "the newest change is at the recorded time"
    );
    let log = server.take_log();
    assert!(!log.iter().any(|p| p.ends_with(".tar.zst")), "{log:?}");

    // Too many changes: a full fetch instead.
    let few = Options {
        max_changes: 0,
        ..opts()
    };
    let got = redhat_csaf::fetch(&server.base, cache, &few).expect("fourth fetch");
    assert_eq!(got.mode, Mode::Full);
    assert!(cache.join("redhat/2023/cve-2023-32002.json").exists());
}

#[test]
fn a_newer_archive_means_a_full_fetch() {
    let server = published();
    let tmp = tempfile::tempdir().expect("temp dir");
    let cache = tmp.path();
    redhat_csaf::fetch(&server.base, cache, &opts()).expect("first fetch");
    let a = fixture(VALID[0]);
    server.route("archive_latest.txt", "csaf_vex_2024-05-17.tar\n", false);
    // An uncompressed tar is read too.
    server.route(
        "csaf_vex_2024-05-17.tar",
        tar_of(&[("2023/cve-2023-0286.json", &a)]),
        false,
    );
    let got = redhat_csaf::fetch(&server.base, cache, &opts()).expect("second fetch");
    assert_eq!(got.mode, Mode::Full);
    assert_eq!(got.unpacked, 1);
    assert_eq!(advisory_ids(cache), ["CVE-2023-0286"]);
}

#[test]
fn hostile_archive_entries_are_refused() {
    let a = fixture(VALID[0]);
    let link = {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_path("2023/cve-2023-9999.json").expect("path");
        h.set_link_name("/etc/passwd").expect("link");
        h.set_size(0);
        h.set_cksum();
        b.append(&h, std::io::empty()).expect("append");
        b.into_inner().expect("tar")
    };
    for (what, archive) in [
        (
            "..",
            tar_of(&[("2023/cve-2023-0286.json", &a), ("../x.json", &a)]),
        ),
        ("absolute", tar_of(&[("/tmp/kensa-x.json", &a)])),
        ("link", link),
    ] {
        let server = Server::start();
        server.route("archive_latest.txt", "csaf_vex_2024-05-10.tar.zst", false);
        server.route("csaf_vex_2024-05-10.tar.zst", zst(&archive), false);
        let tmp = tempfile::tempdir().expect("temp dir");
        let cache = tmp.path().join("cache");
        let err = redhat_csaf::fetch(&server.base, &cache, &opts())
            .expect_err(what)
            .to_string();
        assert!(err.contains("refused"), "{what}: {err}");
        assert!(!tmp.path().join("x.json").exists());
        assert!(!cache.join("redhat").exists(), "{what}");
        assert!(!cache.join(redhat_csaf::STATE).exists(), "{what}");
    }
}

#[test]
fn a_cut_transfer_keeps_the_previous_cache() {
    let server = published();
    let tmp = tempfile::tempdir().expect("temp dir");
    let cache = tmp.path();
    redhat_csaf::fetch(&server.base, cache, &opts()).expect("first fetch");
    let state = std::fs::read(cache.join(redhat_csaf::STATE)).expect("state");
    server.route("archive_latest.txt", "csaf_vex_2024-05-17.tar.zst\n", false);
    server.route("csaf_vex_2024-05-17.tar.zst", good_archive(), true);
    let err = redhat_csaf::fetch(&server.base, cache, &opts()).expect_err("cut archive");
    assert!(err.to_string().contains("bytes"), "{err}");
    assert_eq!(advisory_ids(cache), ["CVE-2023-0286", "CVE-2023-32002"]);
    assert_eq!(
        std::fs::read(cache.join(redhat_csaf::STATE)).expect("state"),
        state
    );

    // A cut changed file: the old copy stays and the time does not move.
    server.route("archive_latest.txt", "csaf_vex_2024-05-10.tar.zst\n", false);
    server.route("2023/cve-2023-0286.json", b"{\"cut\": true}".to_vec(), true);
    server.route(
        "changes.csv",
        "\"2023/cve-2023-0286.json\",\"2024-05-12T08:00:00+00:00\"\n",
        false,
    );
    let got = redhat_csaf::fetch(&server.base, cache, &opts()).expect("incremental");
    assert_eq!(got.download.failed.len(), 1, "{got:?}");
    assert!(got.download.failed[0].stale);
    assert_eq!(
        std::fs::read(cache.join("redhat/2023/cve-2023-0286.json")).expect("kept"),
        fixture(VALID[0])
    );
    assert_eq!(
        std::fs::read(cache.join(redhat_csaf::STATE)).expect("state"),
        state
    );
    let leftovers: Vec<_> = std::fs::read_dir(cache.join("redhat/2023"))
        .expect("ls")
        .map(|e| e.expect("entry").file_name())
        .filter(|n| n.to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn the_upstream_download_runs_the_csaf_fetch() {
    let server = published();
    let tmp = tempfile::tempdir().expect("temp dir");
    let table = vec![Remote {
        path: redhat_csaf::DIR.into(),
        url: server.base.clone(),
        via: Via::RedhatCsaf,
    }];
    let o = update::Options {
        attempts: 2,
        backoff: Duration::from_millis(10),
        ..update::Options::default()
    };
    let got = update::download(&Source::Upstream(table), tmp.path(), &o).expect("download");
    let rh = got
        .iter()
        .find(|f| f.feed == "redhat")
        .expect("redhat summary");
    assert!(rh.failed.is_empty(), "{rh:?}");
    assert_eq!(rh.downloaded, 1);
    assert_eq!(
        advisory_ids(tmp.path()),
        ["CVE-2023-0286", "CVE-2023-32002"]
    );
    assert!(
        update::upstream(&[], &[])
            .iter()
            .any(|r| r.via == Via::RedhatCsaf && r.url == redhat_csaf::BASE)
    );
}
