//! `nvd_api::fetch` against a loopback server (127.0.0.1 only) that serves
//! NVD CVE API 2.0 pages built from the real samples: paging, parameters,
//! retries, a cut transfer, the API key, and the incremental mode.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use kensa_kb::fetch::HttpOptions;
use kensa_kb::model::Record;
use kensa_kb::nvd_api::{self, ApiKey, Mode, Options};
use serde_json::{Value, json};

const API: &str = "/rest/json/cves/2.0";
const SECRET: &str = "test-key-7f3a9c";
const CHILD_FLAG: &str = "KENSA_NVD_API_TEST_CHILD";

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Req {
    path: String,
    query: BTreeMap<String, String>,
    api_key: Option<String>,
    status: u16,
}

#[derive(Default)]
struct Behaviour {
    /// 429s left to send (with `Retry-After: 0`).
    too_many: u32,
    /// The page at this startIndex is always cut mid-body.
    cut_at: Option<u64>,
}

struct Shared {
    entries: Vec<Value>,
    page_size: usize,
    behaviour: Behaviour,
    log: Vec<Req>,
}

struct Server {
    base: String,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Serve `entries` in pages of `page_size` for at most 60 s.
    fn start(entries: Vec<Value>, page_size: usize) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let shared = Arc::new(Mutex::new(Shared {
            entries,
            page_size,
            behaviour: Behaviour::default(),
            log: Vec::new(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (shared, stop) = (Arc::clone(&shared), Arc::clone(&stop));
            std::thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(60);
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    match listener.accept() {
                        // One connection at a time: the client is sequential.
                        Ok((stream, _)) => serve(stream, &shared),
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
            })
        };
        Server {
            base,
            shared,
            stop,
            thread: Some(thread),
        }
    }

    fn behave(&self, f: impl FnOnce(&mut Behaviour)) {
        f(&mut self.shared.lock().expect("lock").behaviour);
    }

    fn log(&self) -> Vec<Req> {
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
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let target = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .unwrap_or_default()
        .to_owned();
    let api_key = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("apiKey"))
        .map(|(_, v)| v.trim().to_owned());
    let (path, q) = target.split_once('?').unwrap_or((&target, ""));
    let query: BTreeMap<String, String> = q
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let mut s = shared.lock().expect("lock");
    let start = query.get("startIndex").and_then(|v| v.parse::<u64>().ok());
    let per_page = query
        .get("resultsPerPage")
        .and_then(|v| v.parse::<u64>().ok());
    let (status, body, cut) = match (path == API, start, per_page) {
        (true, Some(start), Some(per_page)) if per_page >= 1 => {
            if s.behaviour.too_many > 0 {
                s.behaviour.too_many -= 1;
                (429, Vec::new(), false)
            } else {
                // A change window gives only the first entry.
                let all: Vec<Value> = if query.contains_key("lastModStartDate") {
                    s.entries.iter().take(1).cloned().collect()
                } else {
                    s.entries.clone()
                };
                let size = s.page_size.min(per_page as usize);
                let from = (start as usize).min(all.len());
                let to = (from + size).min(all.len());
                let page = json!({
                    "resultsPerPage": to - from,
                    "startIndex": start,
                    "totalResults": all.len(),
                    "format": "NVD_CVE",
                    "version": "2.0",
                    "timestamp": "2026-11-30T00:00:00.000",
                    "vulnerabilities": all[from..to],
                });
                let body = serde_json::to_vec_pretty(&page).expect("page");
                (200, body, s.behaviour.cut_at == Some(start))
            }
        }
        _ => (400, Vec::new(), false),
    };
    s.log.push(Req {
        path: path.to_owned(),
        query,
        api_key,
        status,
    });
    drop(s);
    let reason = match status {
        200 => "OK",
        429 => "Too Many Requests",
        _ => "Bad Request",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if status == 429 {
        out.push_str("Retry-After: 0\r\n");
    }
    out.push_str("\r\n");
    let _ = stream.write_all(out.as_bytes());
    let sent = if cut { body.len() / 2 } else { body.len() };
    let _ = stream.write_all(&body[..sent]);
    let _ = stream.flush();
}

/// Distinct CVE entries from the real samples.
fn entries() -> Vec<Value> {
    let dir = kensa_testkit::data_path("samples/nvd-api-2.0");
    let mut seen = BTreeMap::new();
    for name in ["respPage1.json", "respPage2.json", "respPageFull.json"] {
        let text = std::fs::read(dir.join(name)).expect("sample");
        let page: Value = serde_json::from_slice(&text).expect("sample json");
        for v in page["vulnerabilities"].as_array().expect("vulnerabilities") {
            let id = v["cve"]["id"].as_str().expect("id").to_owned();
            seen.entry(id).or_insert_with(|| v.clone());
        }
    }
    assert!(seen.len() >= 4, "{:?}", seen.keys());
    seen.into_values().collect()
}

fn opts(key: Option<ApiKey>) -> Options {
    Options {
        rate_requests: 2,
        rate_window: Duration::from_millis(30),
        http: HttpOptions {
            attempts: 3,
            backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
            max_retry_after: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(5),
        },
        max_pages: 50,
        ..Options::with_key(key)
    }
}

fn files(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

fn cve_ids(cache: &Path) -> Vec<String> {
    let mut records: Vec<Record> = Vec::new();
    let imported = kensa_kb::mirror::import(cache, &mut records).expect("import");
    let nvd = imported.iter().find(|i| i.feed == "nvd").expect("nvd feed");
    assert!(nvd.report.errors.is_empty(), "{:?}", nvd.report.errors);
    let mut ids: Vec<String> = records
        .into_iter()
        .filter_map(|r| match r {
            Record::Vulnerability(v) => Some(v.id),
            _ => None,
        })
        .collect();
    ids.sort();
    ids
}

#[test]
fn a_full_fetch_writes_every_page_and_imports() {
    let all = entries();
    let server = Server::start(all.clone(), 2);
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = Instant::now();
    let got = nvd_api::fetch(&server.base, dir.path(), &opts(None)).expect("fetch");
    assert!(clock.elapsed() < Duration::from_secs(20));
    assert!(got.complete, "{got:?}");
    assert_eq!(got.mode, Mode::Full);
    let pages = all.len().div_ceil(2);
    assert_eq!(got.download.downloaded, pages);
    assert!(got.download.failed.is_empty());
    let expected: Vec<String> = (0..pages).map(|n| format!("page-{n:05}.json")).collect();
    assert_eq!(files(&dir.path().join("nvd")), expected);
    assert!(dir.path().join(nvd_api::STATE).is_file());

    let log = server.log();
    assert!(log.iter().all(|r| r.path == API && r.status == 200));
    let starts: Vec<&str> = log.iter().map(|r| r.query["startIndex"].as_str()).collect();
    let want: Vec<String> = (0..pages).map(|n| (n * 2).to_string()).collect();
    assert_eq!(starts, want);
    assert!(log.iter().all(|r| r.query["resultsPerPage"] == "2000"));
    assert!(log.iter().all(|r| r.api_key.is_none()));
    assert!(
        log.iter()
            .all(|r| !r.query.contains_key("lastModStartDate"))
    );

    let ids = cve_ids(dir.path());
    assert_eq!(ids.len(), all.len(), "{ids:?}");
    let mut want: Vec<String> = all
        .iter()
        .map(|v| v["cve"]["id"].as_str().expect("id").to_owned())
        .collect();
    want.sort();
    assert_eq!(ids, want);
}

#[test]
fn a_429_is_retried() {
    let server = Server::start(entries(), 3);
    server.behave(|b| b.too_many = 2);
    let dir = tempfile::tempdir().expect("temp dir");
    let got = nvd_api::fetch(&server.base, dir.path(), &opts(None)).expect("fetch");
    assert!(got.complete, "{got:?}");
    assert_eq!(got.download.retries, 2);
    let statuses: Vec<u16> = server.log().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![429, 429, 200, 200]);
}

#[test]
fn a_cut_page_leaves_no_partial_file_and_fails() {
    let server = Server::start(entries(), 2);
    server.behave(|b| b.cut_at = Some(2));
    let dir = tempfile::tempdir().expect("temp dir");
    let got = nvd_api::fetch(&server.base, dir.path(), &opts(None)).expect("fetch");
    assert!(!got.complete);
    assert_eq!(got.download.failed.len(), 1, "{got:?}");
    let failure = &got.download.failed[0];
    assert_eq!(failure.path, "nvd/page-00001.json");
    assert!(
        failure.reason.contains("gave up after 3 attempts"),
        "{failure:?}"
    );
    assert_eq!(got.download.retries, 2);
    // Only the first page; no temporary file; no state recorded.
    assert_eq!(files(&dir.path().join("nvd")), vec!["page-00000.json"]);
    assert!(!dir.path().join(nvd_api::STATE).exists());
    // The next fetch is a full one again.
    server.behave(|b| b.cut_at = None);
    let again = nvd_api::fetch(&server.base, dir.path(), &opts(None)).expect("fetch");
    assert!(again.complete && again.mode == Mode::Full, "{again:?}");
}

#[test]
fn the_api_key_is_sent_and_never_shown() {
    let server = Server::start(entries(), 2);
    server.behave(|b| b.cut_at = Some(2));
    let dir = tempfile::tempdir().expect("temp dir");
    let o = opts(Some(ApiKey::new(SECRET)));
    assert!(!format!("{o:?}").contains(SECRET));
    let got = nvd_api::fetch(&server.base, dir.path(), &o).expect("fetch");
    assert!(!got.complete);
    let log = server.log();
    assert!(!log.is_empty());
    assert!(log.iter().all(|r| r.api_key.as_deref() == Some(SECRET)));
    assert!(
        log.iter()
            .all(|r| !r.query.values().any(|v| v.contains(SECRET)))
    );
    let shown = format!("{got:?}");
    assert!(!shown.contains(SECRET), "{shown}");
    for f in &got.download.failed {
        assert!(!f.reason.contains(SECRET) && !f.path.contains(SECRET));
    }
    let state = std::fs::read_to_string(dir.path().join(nvd_api::STATE)).unwrap_or_default();
    assert!(!state.contains(SECRET));
}

/// Run in a child process with the key in the environment (setting the
/// environment in-process would need `unsafe`).
#[test]
fn the_api_key_comes_from_the_environment() {
    if std::env::var_os(CHILD_FLAG).is_some() {
        let o = Options::default();
        assert_eq!(o.rate_requests, 50);
        assert!(!format!("{o:?}").contains(SECRET));
        let server = Server::start(entries(), 2);
        let dir = tempfile::tempdir().expect("temp dir");
        let got = nvd_api::fetch(
            &server.base,
            dir.path(),
            &Options {
                api_key: o.api_key,
                ..opts(None)
            },
        )
        .expect("fetch");
        assert!(got.complete);
        assert!(!format!("{got:?}").contains(SECRET));
        let log = server.log();
        assert!(log.iter().all(|r| r.api_key.as_deref() == Some(SECRET)));
        return;
    }
    let exe = std::env::current_exe().expect("test binary");
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "nvd_api::the_api_key_comes_from_the_environment",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_FLAG, "1")
        .env(nvd_api::API_KEY_ENV, SECRET)
        .output()
        .expect("run the child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("1 passed"), "{stdout}");
    assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET));
}

#[test]
fn an_incremental_fetch_asks_for_changes_in_120_day_windows() {
    let all = entries();
    let server = Server::start(all.clone(), 2);
    let dir = tempfile::tempdir().expect("temp dir");
    let full = nvd_api::fetch(&server.base, dir.path(), &opts(None)).expect("full");
    assert!(full.complete && full.mode == Mode::Full);
    server.log();

    // Recorded a moment ago: one window.
    let got = nvd_api::fetch(&server.base, dir.path(), &opts(None)).expect("delta");
    assert!(got.complete, "{got:?}");
    assert!(matches!(got.mode, Mode::Incremental { .. }));
    assert_eq!(got.windows, 1);
    let log = server.log();
    assert_eq!(log.len(), 1);
    let q = &log[0].query;
    for k in ["lastModStartDate", "lastModEndDate"] {
        let v = &q[k];
        assert!(v.ends_with("%2B00:00") && v.len() == 31, "{k}={v}");
    }
    assert!(q["lastModStartDate"] <= q["lastModEndDate"]);
    assert_eq!(q["startIndex"], "0");
    assert_eq!(q["resultsPerPage"], "2000");
    assert_eq!(got.pages.len(), 1);
    assert!(got.pages[0].starts_with("nvd/delta-"), "{:?}", got.pages);

    // 250 days ago: three windows of at most 120 days, back to back.
    let since = std::time::SystemTime::now() - Duration::from_secs(250 * 86400);
    let state = json!({
        "last_fetch": humantime::format_rfc3339_millis(since).to_string(),
    });
    std::fs::write(dir.path().join(nvd_api::STATE), state.to_string()).expect("state");
    std::thread::sleep(Duration::from_millis(1100)); // a new run stamp
    let got = nvd_api::fetch(&server.base, dir.path(), &opts(None)).expect("delta");
    assert!(got.complete, "{got:?}");
    assert_eq!(got.windows, 3);
    let log = server.log();
    assert_eq!(log.len(), 3);
    for pair in log.windows(2) {
        assert_eq!(
            pair[0].query["lastModEndDate"],
            pair[1].query["lastModStartDate"]
        );
    }
    let deltas = files(&dir.path().join("nvd"))
        .into_iter()
        .filter(|f| f.starts_with("delta-"))
        .count();
    assert_eq!(deltas, 4);
    // Duplicates are kept (documented): every page entry plus each delta's.
    assert_eq!(cve_ids(dir.path()).len(), all.len() + 4);

    // A new full fetch folds the deltas away.
    std::fs::remove_file(dir.path().join(nvd_api::STATE)).expect("forget");
    let again = nvd_api::fetch(&server.base, dir.path(), &opts(None)).expect("full");
    assert!(again.complete && again.mode == Mode::Full);
    assert!(
        files(&dir.path().join("nvd"))
            .iter()
            .all(|f| f.starts_with("page-"))
    );
    assert_eq!(cve_ids(dir.path()).len(), all.len());
}

#[test]
fn the_upstream_download_runs_the_nvd_fetch() {
    use kensa_kb::update::{self, Remote, Source, Via};
    let server = Server::start(entries(), 2);
    let dir = tempfile::tempdir().expect("temp dir");
    let table = vec![Remote {
        path: nvd_api::DIR.into(),
        url: server.base.clone(),
        via: Via::NvdApi,
    }];
    let o = update::Options {
        backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        ..update::Options::default()
    };
    let got = update::download(&Source::Upstream(table), dir.path(), &o).expect("download");
    let nvd = got.iter().find(|f| f.feed == "nvd").expect("nvd summary");
    assert!(nvd.failed.is_empty(), "{nvd:?}");
    assert_eq!(nvd.downloaded, entries().len().div_ceil(2));
    assert_eq!(cve_ids(dir.path()).len(), entries().len());
    assert!(
        update::upstream(&[], &[])
            .iter()
            .any(|r| r.via == Via::NvdApi && r.url == nvd_api::BASE)
    );
}
