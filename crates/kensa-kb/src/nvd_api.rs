//! Downloading NVD's CVE API 2.0 into the cache as the pages the NVD
//! importer reads ([`crate::feeds::nvd::import`] on `nvd/*.json`).
//!
//! **Full fetch** (no previous complete fetch recorded): pages through
//! `<base>/rest/json/cves/2.0?startIndex=N&resultsPerPage=2000`, writing
//! each response as `nvd/page-00000.json`, `nvd/page-00001.json`, ... until
//! `startIndex + resultsPerPage >= totalResults` (the values the response
//! gives). When every page came, the older `page-*` files beyond the last
//! one and every `delta-*` file are removed, and the fetch's start time is
//! recorded in the state file [`STATE`] in the cache.
//!
//! **Incremental fetch** (a previous complete fetch is recorded): the same
//! paging with `lastModStartDate=<last>&lastModEndDate=<now>`, in windows
//! of at most 120 days (the API's limit), into
//! `nvd/delta-<run>-00000.json`, ... (`<run>` is the fetch's start time,
//! so the files of later runs sort after earlier ones). Only a fetch whose
//! every page came moves the recorded time on; a failed incremental fetch
//! removes the delta files it wrote, so the next run asks again from the
//! same time.
//!
//! **Duplicates.** A CVE changed since the full fetch is in a `page-*`
//! file and in one or more `delta-*` files. The importer reads every file;
//! the store keeps, per CVE id, only the record with the latest
//! `lastModified` ([`crate::base::KnowledgeBaseBuilder`]), so the newest state
//! wins whatever order the files are read in. A new full fetch (remove
//! [`STATE`]'s file, or the `nvd/` folder) folds the deltas back into pages.
//!
//! HTTP: every page is written to a temporary file beside its destination,
//! checked to be one complete JSON object whose `startIndex` is the one
//! asked for, and only then renamed into place, so a cut or failed transfer
//! never leaves a partial page. `403` (NVD's answer to a client over its
//! rate limit), `429`, `5xx`, connection errors and broken transfers are
//! retried with exponential backoff and jitter, honouring `Retry-After` in
//! seconds. Requests are spaced to stay within a rolling-window rate limit
//! ([`Options::rate_requests`] per [`Options::rate_window`]; by default
//! NVD's published limits: 5 requests per 30 s, 50 with an API key). The
//! API key, from `KENSA_NVD_API_KEY`, is sent as the `apiKey` header and is
//! never written to a message, the summary or the state file.
//!
//! The caller holds the cache (as [`crate::update::download`] does): two
//! fetches must not write the same cache at once.

use std::collections::VecDeque;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use crate::cache::io_err;
use crate::error::Result;
use crate::fetch::{Client, Fetched, Get, HttpOptions, Refused};
use crate::update::{Failure, FeedDownload};

/// NVD's API host.
pub const BASE: &str = "https://services.nvd.nist.gov";
/// The CVE API's path under the base.
pub const API_PATH: &str = "/rest/json/cves/2.0";
/// The environment variable holding the NVD API key.
pub const API_KEY_ENV: &str = "KENSA_NVD_API_KEY";
/// The state file in the cache: when the last complete fetch started.
pub const STATE: &str = ".kensa-nvd.json";
/// The largest page the API serves.
pub const MAX_RESULTS_PER_PAGE: u32 = 2000;
/// The longest `lastModStartDate`..`lastModEndDate` range the API accepts.
pub const MAX_WINDOW: Duration = Duration::from_secs(120 * 24 * 3600);
/// The cache folder the pages go to.
pub const DIR: &str = "nvd";

/// An NVD API key; its `Debug` form does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }

    /// From [`API_KEY_ENV`], when set and not blank.
    pub fn from_env() -> Option<ApiKey> {
        std::env::var(API_KEY_ENV)
            .ok()
            .map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty())
            .map(ApiKey)
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// How the API is fetched.
#[derive(Debug, Clone)]
pub struct Options {
    /// Sent as the `apiKey` header.
    pub api_key: Option<ApiKey>,
    /// Asked for with each page (at most [`MAX_RESULTS_PER_PAGE`]).
    pub results_per_page: u32,
    /// At most this many requests (retries included) ...
    pub rate_requests: u32,
    /// ... in any window this long.
    pub rate_window: Duration,
    /// Timeouts and retries (per page).
    pub http: HttpOptions,
    /// At most this many pages per window (a bound on a misbehaving
    /// server; the whole NVD is about 160 pages of 2000).
    pub max_pages: usize,
}

impl Options {
    /// Defaults for a key (or none): NVD's published rate limits are 5
    /// requests in a rolling 30 s window without a key and 50 with one.
    pub fn with_key(api_key: Option<ApiKey>) -> Options {
        let rate_requests = if api_key.is_some() { 50 } else { 5 };
        Options {
            api_key,
            results_per_page: MAX_RESULTS_PER_PAGE,
            rate_requests,
            rate_window: Duration::from_secs(30),
            http: HttpOptions {
                attempts: 5,
                backoff: Duration::from_secs(6),
                max_backoff: Duration::from_secs(60),
                max_retry_after: Duration::from_secs(120),
                connect_timeout: Duration::from_secs(10),
                read_timeout: Duration::from_secs(120),
            },
            max_pages: 1000,
        }
    }
}

impl Default for Options {
    /// [`Options::with_key`] with the key from [`API_KEY_ENV`].
    fn default() -> Self {
        Options::with_key(ApiKey::from_env())
    }
}

/// Which kind of fetch ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Full,
    /// Changes since this time (the start of the previous complete fetch).
    Incremental {
        since: SystemTime,
    },
}

/// What a fetch did.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Feed `nvd`: pages fetched, bytes, retries, the failure if any.
    pub download: FeedDownload,
    pub mode: Mode,
    /// Cache paths written (`nvd/page-*.json` or `nvd/delta-*.json`).
    pub pages: Vec<String>,
    /// `lastMod` windows asked for (0 for a full fetch).
    pub windows: usize,
    /// Every page came and the state file was moved on.
    pub complete: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    /// When the last complete full fetch started (RFC 3339).
    last_full: Option<String>,
    /// When the last complete fetch (full or incremental) started.
    last_fetch: Option<String>,
}

/// The API's date form, UTC: `2026-11-30T05:51:06.000%2B00:00` (the `+`
/// percent-encoded for the query).
fn api_date(t: SystemTime) -> String {
    let s = humantime::format_rfc3339_millis(t).to_string();
    format!("{}%2B00:00", s.trim_end_matches('Z'))
}

/// `20261130T055106Z`: a file-name-safe, sortable time.
fn stamp(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t)
        .to_string()
        .replace(['-', ':'], "")
}

/// Fetch the NVD API from `base` (normally [`BASE`]) into `cache/nvd/`:
/// in full, or incrementally when a previous complete fetch is recorded
/// (see the module documentation). Errors are for the cache only; a page
/// that could not be fetched is in the summary's `download.failed`.
pub fn fetch(base: &str, cache: &Path, opts: &Options) -> Result<Summary> {
    fetch_with(
        &Client::new(&opts.http, &crate::fetch::quiet),
        base,
        cache,
        opts,
    )
}

/// [`fetch`] through `client` (an update's, with its timeouts, retries and
/// progress); `opts.http` is the client's business then.
pub fn fetch_with(
    client: &Client<'_>,
    base: &str,
    cache: &Path,
    opts: &Options,
) -> Result<Summary> {
    let dir = cache.join(DIR);
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    crate::fetch::remove_parts(&dir, 0);
    let state = crate::cache::load_json::<State>(&cache.join(STATE));
    let started = SystemTime::now();
    let since = state
        .last_fetch
        .as_deref()
        .and_then(|s| humantime::parse_rfc3339(s).ok())
        .filter(|t| *t <= started);
    let mut run = Run {
        client,
        url: format!("{}{API_PATH}", base.trim_end_matches('/')),
        dir: dir.clone(),
        opts,
        sent: VecDeque::new(),
        download: FeedDownload {
            feed: "nvd".into(),
            ..FeedDownload::default()
        },
        written: Vec::new(),
    };
    let mut windows = 0;
    let complete = match since {
        None => run.pages("", |n| format!("page-{n:05}.json")),
        Some(since) => {
            let prefix = format!("delta-{}-", stamp(started));
            let mut from = since;
            let mut count = 0usize;
            let mut ok = true;
            // Bounded: each window moves `from` on by up to 120 days.
            while ok && from < started {
                let to = (from + MAX_WINDOW).min(started);
                windows += 1;
                let query = format!(
                    "lastModStartDate={}&lastModEndDate={}&",
                    api_date(from),
                    api_date(to)
                );
                let first = count;
                ok = run.pages(&query, |n| format!("{prefix}{:05}.json", first + n));
                count = run.written.len();
                from = to;
            }
            ok
        }
    };
    let mode = match since {
        None => Mode::Full,
        Some(since) => Mode::Incremental { since },
    };
    if complete {
        let now = humantime::format_rfc3339_millis(started).to_string();
        if mode == Mode::Full {
            // Superseded: older pages beyond the last one, every delta.
            let keep: Vec<&PathBuf> = run.written.iter().collect();
            for p in json_files(&dir) {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                if (name.starts_with("page-") || name.starts_with("delta-")) && !keep.contains(&&p)
                {
                    let _ = std::fs::remove_file(&p);
                }
            }
        }
        let new = State {
            last_full: if mode == Mode::Full {
                Some(now.clone())
            } else {
                state.last_full
            },
            last_fetch: Some(now),
        };
        crate::cache::save_json(&cache.join(STATE), &new)?;
    } else if mode != Mode::Full {
        for p in &run.written {
            let _ = std::fs::remove_file(p);
        }
    }
    let pages = run
        .written
        .iter()
        .filter_map(|p| p.file_name().and_then(|n| n.to_str()))
        .map(|n| format!("{DIR}/{n}"))
        .collect();
    Ok(Summary {
        download: run.download,
        mode,
        pages,
        windows,
        complete,
    })
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    out.sort();
    out
}

struct Run<'a> {
    client: &'a Client<'a>,
    /// `<base>/rest/json/cves/2.0`.
    url: String,
    dir: PathBuf,
    opts: &'a Options,
    /// When the requests of the current rate window were sent.
    sent: VecDeque<Instant>,
    download: FeedDownload,
    written: Vec<PathBuf>,
}

/// The members of a page the paging needs.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Head {
    results_per_page: u64,
    start_index: u64,
    total_results: u64,
    #[allow(dead_code)] // present in every page; its content is not read here
    vulnerabilities: Option<serde::de::IgnoredAny>,
}

impl Run<'_> {
    /// Page through one query (`extra` is empty or ends with `&`), naming
    /// the `n`th page `name(n)`. False when a page failed.
    fn pages(&mut self, extra: &str, name: impl Fn(usize) -> String) -> bool {
        let per_page = self.opts.results_per_page.clamp(1, MAX_RESULTS_PER_PAGE);
        let mut start = 0u64;
        for n in 0..self.opts.max_pages.max(1) {
            let file = name(n);
            let dest = self.dir.join(&file);
            let url = format!(
                "{}?{extra}startIndex={start}&resultsPerPage={per_page}",
                self.url
            );
            self.download.files += 1;
            let head = match self.get(&url, start, &dest) {
                Ok((bytes, head)) => {
                    self.download.downloaded += 1;
                    self.download.bytes += bytes;
                    self.written.push(dest);
                    head
                }
                Err(reason) => {
                    self.fail(&file, format!("startIndex {start}: {reason}"), &dest);
                    return false;
                }
            };
            if head.start_index + head.results_per_page >= head.total_results {
                return true;
            }
            if head.results_per_page == 0 {
                self.fail(
                    &file,
                    format!(
                        "startIndex {start}: an empty page before totalResults {}",
                        head.total_results
                    ),
                    &self.dir.join(&file),
                );
                return false;
            }
            start = head.start_index + head.results_per_page;
        }
        self.download.failed.push(Failure {
            path: DIR.into(),
            reason: format!("more than {} pages: stopped", self.opts.max_pages),
            stale: false,
        });
        false
    }

    fn fail(&mut self, file: &str, reason: String, dest: &Path) {
        self.download.failed.push(Failure {
            path: format!("{DIR}/{file}"),
            reason,
            stale: dest.is_file(),
        });
    }

    /// One page with retries (paced to the rate limit): its size and head.
    fn get(
        &mut self,
        url: &str,
        start: u64,
        dest: &Path,
    ) -> std::result::Result<(u64, Head), String> {
        let (sent, opts) = (&mut self.sent, self.opts);
        let mut pacing = || pace(sent, opts);
        let mut head = None;
        let mut check = |tmp: &Path, bytes: u64| -> std::result::Result<(), Refused> {
            head = Some(check_page(tmp, bytes, start)?);
            Ok(())
        };
        let mut get = Get::new(url);
        if let Some(key) = &self.opts.api_key {
            get.headers.push(("apiKey", &key.0));
        }
        // NVD answers 403 to a client over its rate limit.
        get.retry_status = &[403];
        get.before = Some(&mut pacing);
        get.check = Some(&mut check);
        let got = self.client.get(get, dest);
        match got {
            Ok((Fetched::Downloaded { bytes, .. }, retries)) => {
                self.download.retries += retries;
                let head = head.ok_or("the page was not checked")?;
                Ok((bytes, head))
            }
            Ok((Fetched::NotModified, _)) => Err("HTTP 304 to an unconditional request".into()),
            Err(failed) => {
                self.download.retries += failed.retries;
                Err(failed.reason)
            }
        }
    }
}

/// Wait until one more request fits in the rate window.
fn pace(sent: &mut VecDeque<Instant>, opts: &Options) {
    let window = opts.rate_window;
    let max = opts.rate_requests.max(1) as usize;
    while let Some(first) = sent.front() {
        if first.elapsed() >= window {
            sent.pop_front();
        } else if sent.len() >= max {
            std::thread::sleep(window.saturating_sub(first.elapsed()));
        } else {
            break;
        }
    }
    sent.push_back(Instant::now());
}

/// Check that a downloaded body is a whole page starting at `start`.
fn check_page(tmp: &Path, bytes: u64, start: u64) -> std::result::Result<Head, Refused> {
    let file =
        File::open(tmp).map_err(|e| Refused::Fatal(format!("cannot read the cache: {e}")))?;
    let head: Head = serde_json::from_reader(std::io::BufReader::new(file))
        .map_err(|e| Refused::Retry(format!("not a complete API page ({bytes} bytes): {e}")))?;
    if head.start_index != start {
        return Err(Refused::Fatal(format!(
            "asked for startIndex {start}, the page has {}",
            head.start_index
        )));
    }
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_key() {
        let t = humantime::parse_rfc3339("2026-11-30T05:51:06Z").expect("time");
        assert_eq!(api_date(t), "2026-11-30T05:51:06.000%2B00:00");
        assert_eq!(stamp(t), "20261130T055106Z");
        let key = ApiKey::new("s3cret");
        let opts = Options::with_key(Some(key));
        assert!(!format!("{opts:?}").contains("s3cret"));
        assert_eq!(opts.rate_requests, 50);
        assert_eq!(Options::with_key(None).rate_requests, 5);
    }
}
