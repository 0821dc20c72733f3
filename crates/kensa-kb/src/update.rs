//! Downloading the feeds into a local cache laid out as an offline mirror
//! (see [`crate::mirror`]), then building a new store from that cache.
//!
//! Three sources:
//!
//! - **upstream** ([`Source::Upstream`], table from [`upstream`]): each
//!   feed's own address. Downloaded: OSV `all.zip` per configured
//!   ecosystem ([`OSV_ECOSYSTEMS`]), CISA KEV JSON, the current EPSS
//!   scores, Alpine secdb JSON per configured release ([`ALPINE_RELEASES`];
//!   `main`, `community`), and Amazon Linux `updateinfo` per repository
//!   ([`AMAZON_REPOSITORIES`]: its `mirror.list`, then the repository's
//!   `repodata/repomd.xml`, then the file it names; the first two are
//!   small and fetched every time, the last conditionally), the Debian
//!   security tracker's JSON export (`debian-tracker.json`), and GitHub's
//!   zip of the default branch of the RustSec advisory-db
//!   ([`RUSTSEC_ZIP`] into `rustsec/advisory-db.zip`) and of
//!   endoflife.date ([`EOL_ZIP`] into `eol/endoflife.date.zip`), which
//!   their importers read like the checkouts, and NVD's CVE API 2.0 (the
//!   table's [`Via::NvdApi`] entry): paged and rate-limited into
//!   `nvd/page-*.json`, then only the changes into `nvd/delta-*.json` (see
//!   [`crate::nvd_api`]; `KENSA_NVD_API_KEY` raises the rate limit), and
//!   Red Hat's CSAF VEX (the table's [`Via::RedhatCsaf`] entry): its latest
//!   full archive unpacked into `redhat/<year>/cve-*.json`, then only the
//!   files `changes.csv` and `deletions.csv` list (see
//!   [`crate::redhat_csaf`]). Not downloaded, because the importers read a form that has no single-file
//!   upstream download: CVE JSON 5 (a git repository too large to fetch
//!   whole on every update) and OVAL. Those come from a mirror.
//! - **HTTP mirror** ([`Source::Mirror`]): a base URL serving the offline
//!   layout, with an index file `index.txt` at its root: one relative path
//!   per line (UTF-8, `/`-separated, no `..`, no component starting with
//!   `.`, no leading `/`); blank lines and lines starting with `#` are
//!   ignored. Each listed path is fetched from `<base>/<path>` (each segment
//!   percent-encoded) into `<cache>/<path>`.
//! - **directory** ([`Source::Dir`]): nothing to download; the caller
//!   imports it in place.
//!
//! HTTP: every file is fetched with a conditional request when the cache
//! holds it (ETag / Last-Modified kept per path in the state file
//! [`STATE`] in the cache, with the URL it came from, userinfo and query
//! removed); `304 Not Modified` keeps the cached file. Connection errors,
//! broken transfers, `5xx` and `429` are retried with exponential backoff
//! and jitter, up to [`Options::attempts`] attempts (a host that cannot be
//! reached at all is not tried again in the same run), honouring a
//! `Retry-After` given in seconds (up to [`Options::max_retry_after`]). A
//! body goes to a temporary file beside its destination and is renamed over
//! it only when complete (a `Content-Length` mismatch is an error), so an
//! interrupted or failed transfer never replaces a good cached copy.
//!
//! Failures: a file that could not be fetched keeps its previous cached
//! copy, which is still imported (the summary marks it stale); the caller
//! should exit non-zero. [`build`] switches to the new store only when
//! every feed in the cache could be read: if a whole feed cannot be read
//! (a corrupt download), the previous store stays in use and the feed's
//! validators are forgotten so that the next update fetches it again.
//! Paths the source no longer lists are removed from the cache.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{IsTerminal, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::cache::{PART, io_err};
use crate::error::{KbError, Result};
use crate::mirror::Imported;
use crate::store::{Meta, StoreBuilder};

/// The index file at the root of an HTTP mirror.
pub const INDEX: &str = "index.txt";
/// The state file in the cache: validators per cached path.
pub const STATE: &str = ".kensa-update.json";
const LOCK: &str = ".kensa-update.lock";

/// OSV ecosystems downloaded from upstream by default.
pub const OSV_ECOSYSTEMS: &[&str] = &[
    "AlmaLinux",
    "Alpine",
    "crates.io",
    "Debian",
    "Go",
    "Maven",
    "npm",
    "NuGet",
    "Packagist",
    "PyPI",
    "Rocky Linux",
    "RubyGems",
    "Ubuntu",
];

/// Alpine releases whose secdb is downloaded from upstream by default.
pub const ALPINE_RELEASES: &[&str] = &["v3.18", "v3.19", "v3.20", "v3.21", "v3.22"];

const OSV_BASE: &str = "https://osv-vulnerabilities.storage.googleapis.com";
const KEV_URL: &str =
    "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json";
const EPSS_URL: &str = "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz";
const ALPINE_BASE: &str = "https://secdb.alpinelinux.org";
const DEBIAN_TRACKER_JSON: &str = "https://security-tracker.debian.org/tracker/data/json";
/// The RustSec advisory-db as GitHub's zip of its `main` branch.
pub const RUSTSEC_ZIP: &str = "https://github.com/rustsec/advisory-db/archive/refs/heads/main.zip";
/// endoflife.date as GitHub's zip of its `master` branch.
pub const EOL_ZIP: &str =
    "https://github.com/endoflife-date/endoflife.date/archive/refs/heads/master.zip";

/// One file to fetch: where it goes in the cache, where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    pub path: String,
    pub url: String,
    pub via: Via,
}

/// How a [`Remote`]'s URL leads to the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The URL is the file.
    Direct,
    /// The URL is a yum repository's `mirror.list`: its first line is the
    /// repository's base URL, whose `repodata/repomd.xml` names the
    /// `updateinfo` file (Amazon Linux).
    YumMirrorList,
    /// The URL is the base of NVD's CVE API 2.0 (normally
    /// [`crate::nvd_api::BASE`]; another for a test or a proxy): its pages
    /// are fetched into `nvd/` by [`crate::nvd_api::fetch`] with
    /// [`crate::nvd_api::Options`]' defaults and this run's attempts,
    /// backoff and timeouts.
    NvdApi,
    /// The URL is the base of Red Hat's CSAF VEX publication (normally
    /// [`crate::redhat_csaf::BASE`]): fetched into `redhat/` by
    /// [`crate::redhat_csaf::fetch`] with [`crate::redhat_csaf::Options`]'
    /// defaults and this run's attempts, backoff and timeouts.
    RedhatCsaf,
}

impl Remote {
    pub fn direct(path: impl Into<String>, url: impl Into<String>) -> Remote {
        Remote {
            path: path.into(),
            url: url.into(),
            via: Via::Direct,
        }
    }
}

/// Amazon Linux repositories whose `updateinfo` is downloaded from upstream
/// (cache path, `mirror.list` URL).
pub const AMAZON_REPOSITORIES: &[(&str, &str)] = &[
    (
        "amazon/al2023-core-updateinfo.xml.gz",
        "https://cdn.amazonlinux.com/al2023/core/mirrors/latest/x86_64/mirror.list",
    ),
    (
        "amazon/al2-core-updateinfo.xml.gz",
        "https://cdn.amazonlinux.com/2/core/latest/x86_64/mirror.list",
    ),
];

/// Where an update takes the feeds from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Each feed's upstream address (see [`upstream`]).
    Upstream(Vec<Remote>),
    /// An HTTP(S) mirror with [`INDEX`] at its root.
    Mirror(String),
    /// A local mirror directory: imported in place, nothing downloaded.
    Dir(PathBuf),
}

impl Source {
    /// `None`: upstream with the default table; `http://` or `https://`: a
    /// mirror; anything else: a directory.
    pub fn parse(arg: Option<&str>) -> Source {
        match arg {
            None => Source::Upstream(upstream(OSV_ECOSYSTEMS, ALPINE_RELEASES)),
            Some(a) if a.starts_with("http://") || a.starts_with("https://") => {
                Source::Mirror(a.to_owned())
            }
            Some(a) => Source::Dir(PathBuf::from(a)),
        }
    }
}

/// The upstream table: what is downloaded and from where.
pub fn upstream(osv_ecosystems: &[&str], alpine_releases: &[&str]) -> Vec<Remote> {
    let mut out = Vec::new();
    for eco in osv_ecosystems {
        out.push(Remote::direct(
            format!("osv/{eco}/all.zip"),
            format!("{OSV_BASE}/{}/all.zip", encode_segment(eco)),
        ));
    }
    out.push(Remote::direct(
        "kev/known_exploited_vulnerabilities.json",
        KEV_URL,
    ));
    out.push(Remote::direct("epss/epss_scores-current.csv.gz", EPSS_URL));
    out.push(Remote::direct("debian-tracker.json", DEBIAN_TRACKER_JSON));
    out.push(Remote::direct("rustsec/advisory-db.zip", RUSTSEC_ZIP));
    out.push(Remote::direct("eol/endoflife.date.zip", EOL_ZIP));
    for rel in alpine_releases {
        for repo in ["main", "community"] {
            out.push(Remote::direct(
                format!("alpine-secdb/{rel}/{repo}.json"),
                format!("{ALPINE_BASE}/{}/{repo}.json", encode_segment(rel)),
            ));
        }
    }
    out.push(Remote {
        path: crate::nvd_api::DIR.into(),
        url: crate::nvd_api::BASE.into(),
        via: Via::NvdApi,
    });
    out.push(Remote {
        path: crate::redhat_csaf::DIR.into(),
        url: crate::redhat_csaf::BASE.into(),
        via: Via::RedhatCsaf,
    });
    for (path, list) in AMAZON_REPOSITORIES {
        out.push(Remote {
            path: (*path).into(),
            url: (*list).into(),
            via: Via::YumMirrorList,
        });
    }
    out
}

/// HTTP behaviour.
#[derive(Debug, Clone)]
pub struct Options {
    /// Attempts per file (at least 1).
    pub attempts: u32,
    /// The delay before the first retry; doubled each time, with jitter.
    pub backoff: Duration,
    pub max_backoff: Duration,
    /// The longest `Retry-After` honoured; a longer one fails the file.
    pub max_retry_after: Duration,
    pub connect_timeout: Duration,
    /// The longest wait for any read (a stalled transfer).
    pub read_timeout: Duration,
    /// A progress line on standard error, when it is a terminal.
    pub progress: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            attempts: 4,
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            progress: true,
        }
    }
}

/// A file that could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub path: String,
    pub reason: String,
    /// A previous copy is in the cache and will be imported, out of date.
    pub stale: bool,
}

/// What one feed's download did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedDownload {
    pub feed: String,
    pub files: usize,
    pub downloaded: usize,
    pub not_modified: usize,
    pub bytes: u64,
    /// Retries made (all files of the feed).
    pub retries: u32,
    pub failed: Vec<Failure>,
}

/// The cache directory: `$XDG_CACHE_HOME/kensa/feeds`, else
/// `~/.cache/kensa/feeds`.
pub fn default_cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("/var/cache"))
        .join("kensa/feeds")
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    files: BTreeMap<String, Validators>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Validators {
    /// The source URL, userinfo and query removed.
    url: String,
    etag: Option<String>,
    last_modified: Option<String>,
    length: u64,
}

/// Hold the cache for this process: two updates never share a cache.
fn lock(cache: &Path) -> Result<File> {
    std::fs::create_dir_all(cache).map_err(io_err(cache))?;
    let path = cache.join(LOCK);
    let file = File::create(&path).map_err(io_err(&path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(KbError::Format {
            path: cache.display().to_string(),
            message: "another update is using this cache".into(),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(io_err(&path)(e)),
    }
}

/// Remove the partial downloads a killed update left behind (the lock is
/// held: no other update is writing).
fn remove_parts(dir: &Path, depth: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name();
        if name.to_string_lossy().contains(PART) {
            let _ = std::fs::remove_file(&path);
        } else if depth < 8 && e.file_type().is_ok_and(|t| t.is_dir()) {
            remove_parts(&path, depth + 1);
        }
    }
}

/// A URL fit for messages and the state file: no userinfo, query or
/// fragment.
pub fn redact(url: &str) -> String {
    let cut = url.find(['?', '#']).unwrap_or(url.len());
    let url = &url[..cut];
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let host_end = rest.find('/').unwrap_or(rest.len());
    match rest[..host_end].rfind('@') {
        Some(at) => format!("{}{}", &url[..scheme_end + 3], &rest[at + 1..]),
        None => url.to_owned(),
    }
}

fn encode_segment(s: &str) -> String {
    /// RFC 3986's unreserved characters, the only ones left as they are.
    const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, UNRESERVED).to_string()
}

/// A path from an index: relative, `/`-separated, no `.`/`..` or hidden
/// components, no control characters.
fn valid_path(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 1024
        && p != INDEX
        && !p.contains('\\')
        && !p.chars().any(char::is_control)
        && p.split('/').all(|c| !c.is_empty() && !c.starts_with('.'))
        && Path::new(p)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// Parse an index: the paths, and the lines refused.
pub fn parse_index(text: &str) -> (Vec<String>, Vec<String>) {
    let mut paths = BTreeSet::new();
    let mut bad = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if valid_path(line) {
            paths.insert(line.to_owned());
        } else {
            bad.push(line.to_owned());
        }
    }
    (paths.into_iter().collect(), bad)
}

/// The feed a cached path belongs to, as the importers name it.
pub fn feed_of(path: &str) -> String {
    let mut parts = path.split('/');
    let first = parts.next().unwrap_or_default();
    let second = parts.next().unwrap_or_default();
    match first {
        "osv" => format!("osv:{second}"),
        "alpine-secdb" => "alpine".into(),
        "samples" => match second {
            "debian-tracker-source" => "debian".into(),
            "amazon-updateinfo" => "amazon".into(),
            "mariner-oval" => "oval".into(),
            "nvd-api-2.0" => "nvd".into(),
            _ => "samples".into(),
        },
        other => other.into(),
    }
}

fn mirror_url(base: &str, path: &str) -> String {
    let segments: Vec<String> = path.split('/').map(encode_segment).collect();
    format!("{}/{}", base.trim_end_matches('/'), segments.join("/"))
}

/// Download `source` into `cache`, laid out as an offline mirror; then
/// import the cache with [`build`] (or [`crate::mirror::import`]). A
/// [`Source::Dir`] downloads nothing and returns an empty list. Errors are
/// only for the cache itself (not writable, locked by another update);
/// every fetch failure is in the returned summary.
pub fn download(source: &Source, cache: &Path, opts: &Options) -> Result<Vec<FeedDownload>> {
    let remotes = match source {
        Source::Dir(_) => return Ok(Vec::new()),
        Source::Upstream(r) => Some(r.clone()),
        Source::Mirror(_) => None,
    };
    let _lock = lock(cache)?;
    remove_parts(cache, 0);
    let mut state = crate::cache::load_json::<State>(&cache.join(STATE));
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(opts.connect_timeout)
        .timeout_read(opts.read_timeout)
        .timeout_write(opts.read_timeout)
        .user_agent(concat!("kensa/", env!("CARGO_PKG_VERSION")))
        .redirects(5)
        .build();
    let progress = Progress::new(opts.progress && std::io::stderr().is_terminal());
    let mut feeds: BTreeMap<String, FeedDownload> = BTreeMap::new();
    let dead = Dead::default();

    let remotes = match (remotes, source) {
        (Some(r), _) => r,
        (None, Source::Mirror(base)) => {
            let index = Remote::direct(INDEX, mirror_url(base, INDEX));
            progress.file(0, 0, INDEX);
            let entry = feeds.entry("index".into()).or_insert_with(|| FeedDownload {
                feed: "index".into(),
                ..FeedDownload::default()
            });
            fetch_into(
                &agent, &index, cache, &mut state, opts, &progress, &dead, entry,
            );
            let failed = !entry.failed.is_empty();
            let text = std::fs::read_to_string(cache.join(INDEX)).ok();
            match text {
                Some(text) if !failed => {
                    let (paths, bad) = parse_index(&text);
                    for line in bad {
                        entry.failed.push(Failure {
                            path: INDEX.into(),
                            reason: format!("refused index line {line:?}"),
                            stale: false,
                        });
                    }
                    paths
                        .into_iter()
                        .map(|p| Remote::direct(p.clone(), mirror_url(base, &p)))
                        .collect()
                }
                // Without a fresh index nothing else is fetched: the cache
                // as it is gets imported, and the summary says why.
                _ => {
                    progress.done();
                    crate::cache::save_json(&cache.join(STATE), &state)?;
                    return Ok(feeds.into_values().collect());
                }
            }
        }
        (None, _) => Vec::new(),
    };

    // What the source no longer lists leaves the cache.
    let listed: BTreeSet<&str> = remotes.iter().map(|r| r.path.as_str()).collect();
    let gone: Vec<String> = state
        .files
        .keys()
        .filter(|p| p.as_str() != INDEX && !listed.contains(p.as_str()))
        .cloned()
        .collect();
    for p in gone {
        let _ = std::fs::remove_file(cache.join(&p));
        state.files.remove(&p);
    }

    let total = remotes.len();
    let mut last_save = Instant::now();
    for (i, remote) in remotes.iter().enumerate() {
        progress.file(i + 1, total, &remote.path);
        // Feeds with a protocol of their own fetch themselves; a cache
        // they cannot write is one failure of that feed, not of the run.
        let own = match remote.via {
            Via::NvdApi => Some((
                "nvd",
                crate::nvd_api::fetch(
                    &remote.url,
                    cache,
                    &crate::nvd_api::Options {
                        attempts: opts.attempts,
                        backoff: opts.backoff,
                        max_backoff: opts.max_backoff,
                        max_retry_after: opts.max_retry_after,
                        connect_timeout: opts.connect_timeout,
                        read_timeout: opts.read_timeout,
                        ..crate::nvd_api::Options::default()
                    },
                )
                .map(|got| got.download),
            )),
            Via::RedhatCsaf => Some((
                "redhat",
                crate::redhat_csaf::fetch(
                    &remote.url,
                    cache,
                    &crate::redhat_csaf::Options {
                        attempts: opts.attempts,
                        backoff: opts.backoff,
                        max_backoff: opts.max_backoff,
                        max_retry_after: opts.max_retry_after,
                        connect_timeout: opts.connect_timeout,
                        read_timeout: opts.read_timeout,
                        ..crate::redhat_csaf::Options::default()
                    },
                )
                .map(|got| got.download),
            )),
            _ => None,
        };
        if let Some((feed, result)) = own {
            let got = result.unwrap_or_else(|e| FeedDownload {
                feed: feed.into(),
                files: 1,
                failed: vec![Failure {
                    path: remote.path.clone(),
                    reason: e.to_string(),
                    stale: cache.join(&remote.path).is_dir(),
                }],
                ..FeedDownload::default()
            });
            feeds.insert(got.feed.clone(), got);
            continue;
        }
        let feed = feed_of(&remote.path);
        let entry = feeds.entry(feed.clone()).or_insert_with(|| FeedDownload {
            feed,
            ..FeedDownload::default()
        });
        fetch_into(
            &agent, remote, cache, &mut state, opts, &progress, &dead, entry,
        );
        if last_save.elapsed() > Duration::from_secs(5) {
            crate::cache::save_json(&cache.join(STATE), &state)?;
            last_save = Instant::now();
        }
    }
    progress.done();
    crate::cache::save_json(&cache.join(STATE), &state)?;
    Ok(feeds.into_values().collect())
}

/// Fetch one file and account for it in `entry`.
#[allow(clippy::too_many_arguments)] // the run's context, passed down as is
fn fetch_into(
    agent: &ureq::Agent,
    remote: &Remote,
    cache: &Path,
    state: &mut State,
    opts: &Options,
    progress: &Progress,
    dead: &Dead,
    entry: &mut FeedDownload,
) {
    entry.files += 1;
    let dest = cache.join(&remote.path);
    let resolved;
    let remote = match remote.via {
        // `NvdApi` and `RedhatCsaf` are fetched by `download` itself.
        Via::Direct | Via::NvdApi | Via::RedhatCsaf => remote,
        Via::YumMirrorList => match resolve_yum(agent, &remote.url, cache, opts, progress, dead) {
            Ok(url) => {
                resolved = Remote::direct(remote.path.clone(), url);
                &resolved
            }
            Err(reason) => {
                entry.failed.push(Failure {
                    path: remote.path.clone(),
                    reason,
                    stale: dest.is_file(),
                });
                return;
            }
        },
    };
    let url = redact(&remote.url);
    let cached_len = std::fs::metadata(&dest).ok().map(|m| m.len());
    let cond = state
        .files
        .get(&remote.path)
        .filter(|v| v.url == url && Some(v.length) == cached_len)
        .cloned();
    match fetch(
        agent,
        &remote.url,
        cond.as_ref(),
        &dest,
        opts,
        progress,
        dead,
    ) {
        (Ok(Fetched::NotModified), retries) => {
            entry.retries += retries;
            entry.not_modified += 1;
        }
        (
            Ok(Fetched::Downloaded {
                bytes,
                etag,
                last_modified,
            }),
            retries,
        ) => {
            entry.retries += retries;
            entry.downloaded += 1;
            entry.bytes += bytes;
            state.files.insert(
                remote.path.clone(),
                Validators {
                    url,
                    etag,
                    last_modified,
                    length: bytes,
                },
            );
        }
        (Err(reason), retries) => {
            entry.retries += retries;
            entry.failed.push(Failure {
                path: remote.path.clone(),
                reason,
                stale: dest.is_file(),
            });
        }
    }
}

/// The `updateinfo` URL of the repository a `mirror.list` names.
fn resolve_yum(
    agent: &ureq::Agent,
    list_url: &str,
    cache: &Path,
    opts: &Options,
    progress: &Progress,
    dead: &Dead,
) -> std::result::Result<String, String> {
    let tmp = cache.join(format!(".resolve{PART}{}", std::process::id()));
    let get = |url: &str| {
        let got = fetch(agent, url, None, &tmp, opts, progress, dead).0;
        let text = got.and_then(|_| std::fs::read(&tmp).map_err(|e| e.to_string()));
        let _ = std::fs::remove_file(&tmp);
        text
    };
    let list = get(list_url).map_err(|e| format!("mirror list: {e}"))?;
    let base = String::from_utf8_lossy(&list)
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.trim_end_matches('/').to_owned())
        .filter(|l| l.starts_with("https://") || l.starts_with("http://"))
        .ok_or("mirror list: no repository URL")?;
    let repomd =
        get(&format!("{base}/repodata/repomd.xml")).map_err(|e| format!("repomd.xml: {e}"))?;
    let repomd_path = cache.join(format!(".repomd{PART}{}", std::process::id()));
    std::fs::write(&repomd_path, &repomd).map_err(|e| format!("repomd.xml: {e}"))?;
    let location = crate::feeds::amazon::updateinfo_location(&repomd_path);
    let _ = std::fs::remove_file(&repomd_path);
    let href = match location {
        Ok(d) => d.href,
        Err(KbError::Format { message, .. }) => return Err(format!("repomd.xml: {message}")),
        Err(KbError::Io { source, .. }) => return Err(format!("repomd.xml: {source}")),
    };
    if href.contains("://") || href.split('/').any(|c| c == "..") {
        return Err(format!("repomd.xml: refused location {href:?}"));
    }
    Ok(format!("{base}/{}", href.trim_start_matches('/')))
}

enum Fetched {
    NotModified,
    Downloaded {
        bytes: u64,
        etag: Option<String>,
        last_modified: Option<String>,
    },
}

enum Attempt {
    Retry {
        why: String,
        after: Option<Duration>,
        /// The host could not be reached at all.
        unreachable: bool,
    },
    Fatal(String),
}

/// Hosts found unreachable in this run, and why: their other files are not
/// tried (offline, each would wait out every attempt's connect timeout).
type Dead = std::cell::RefCell<BTreeMap<String, String>>;

/// The host (and port) of a URL, without userinfo.
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, h)| h)
        .to_owned()
}

/// Fetch with retries; also the number of retries made.
fn fetch(
    agent: &ureq::Agent,
    url: &str,
    cond: Option<&Validators>,
    dest: &Path,
    opts: &Options,
    progress: &Progress,
    dead: &Dead,
) -> (std::result::Result<Fetched, String>, u32) {
    let host = host_of(url);
    if dead.borrow().contains_key(&host) {
        return (
            Err(format!(
                "not tried: {host} was unreachable earlier in this run"
            )),
            0,
        );
    }
    let attempts = opts.attempts.max(1);
    let mut retries = 0;
    for n in 1..=attempts {
        match attempt(agent, url, cond, dest, progress) {
            Ok(f) => return (Ok(f), retries),
            Err(Attempt::Fatal(why)) => return (Err(why), retries),
            Err(Attempt::Retry {
                why,
                after,
                unreachable,
            }) => {
                if n == attempts {
                    if unreachable {
                        dead.borrow_mut().insert(host, why.clone());
                    }
                    return (Err(format!("{why} (gave up after {n} attempts)")), retries);
                }
                let delay = match after {
                    Some(d) if d > opts.max_retry_after => {
                        return (
                            Err(format!(
                                "{why}; Retry-After {} s is longer than the {} s allowed",
                                d.as_secs(),
                                opts.max_retry_after.as_secs()
                            )),
                            retries,
                        );
                    }
                    Some(d) => d,
                    None => crate::cache::backoff(opts.backoff, opts.max_backoff, n),
                };
                retries += 1;
                std::thread::sleep(delay);
            }
        }
    }
    (Err("no attempt made".into()), retries)
}

fn retry_after(resp: &ureq::Response) -> Option<Duration> {
    resp.header("Retry-After")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

fn transport_message(t: &ureq::Transport) -> String {
    let mut parts = vec![t.kind().to_string()];
    parts.extend(t.message().map(str::to_owned));
    parts.extend(std::error::Error::source(t).map(|s| s.to_string()));
    parts.dedup();
    parts.join(": ")
}

fn attempt(
    agent: &ureq::Agent,
    url: &str,
    cond: Option<&Validators>,
    dest: &Path,
    progress: &Progress,
) -> std::result::Result<Fetched, Attempt> {
    let mut req = agent.get(url);
    if let Some(v) = cond {
        if let Some(etag) = &v.etag {
            req = req.set("If-None-Match", etag);
        }
        if let Some(lm) = &v.last_modified {
            req = req.set("If-Modified-Since", lm);
        }
    }
    let resp = match req.call() {
        Ok(r) => r,
        Err(ureq::Error::Status(code, r)) if code == 429 || code >= 500 => {
            return Err(Attempt::Retry {
                why: format!("HTTP {code}"),
                after: retry_after(&r),
                unreachable: false,
            });
        }
        Err(ureq::Error::Status(code, _)) => return Err(Attempt::Fatal(format!("HTTP {code}"))),
        Err(ureq::Error::Transport(t)) => {
            let why = transport_message(&t);
            return Err(match t.kind() {
                ureq::ErrorKind::Dns
                | ureq::ErrorKind::ConnectionFailed
                | ureq::ErrorKind::Io
                | ureq::ErrorKind::ProxyConnect
                | ureq::ErrorKind::BadStatus
                | ureq::ErrorKind::BadHeader => Attempt::Retry {
                    unreachable: matches!(
                        t.kind(),
                        ureq::ErrorKind::Dns
                            | ureq::ErrorKind::ConnectionFailed
                            | ureq::ErrorKind::ProxyConnect
                    ),
                    why,
                    after: None,
                },
                _ => Attempt::Fatal(why),
            });
        }
    };
    match resp.status() {
        304 if cond.is_some() => return Ok(Fetched::NotModified),
        200 => {}
        code => return Err(Attempt::Fatal(format!("unexpected HTTP {code}"))),
    }
    let expected = resp
        .header("Content-Length")
        .and_then(|v| v.trim().parse::<u64>().ok());
    let etag = resp.header("ETag").map(str::to_owned);
    let last_modified = resp.header("Last-Modified").map(str::to_owned);
    let parent = dest.parent().unwrap_or(Path::new("."));
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = parent.join(format!(".{name}{PART}{}", std::process::id()));
    let fatal = |what: &str, e: std::io::Error| Attempt::Fatal(format!("{what}: {e}"));
    std::fs::create_dir_all(parent).map_err(|e| fatal("cannot create the cache directory", e))?;
    let result = (|| {
        let mut file = File::create(&tmp).map_err(|e| fatal("cannot write the cache", e))?;
        let mut reader = resp.into_reader();
        let mut buf = vec![0u8; 64 * 1024];
        let mut bytes = 0u64;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(Attempt::Retry {
                        why: format!("transfer broken after {bytes} bytes: {e}"),
                        after: None,
                        unreachable: false,
                    });
                }
            };
            file.write_all(&buf[..n])
                .map_err(|e| fatal("cannot write the cache", e))?;
            bytes += n as u64;
            progress.bytes(bytes, expected);
        }
        if let Some(len) = expected
            && len != bytes
        {
            return Err(Attempt::Retry {
                why: format!("Content-Length {len} but {bytes} bytes received"),
                after: None,
                unreachable: false,
            });
        }
        file.sync_all()
            .map_err(|e| fatal("cannot write the cache", e))?;
        Ok(bytes)
    })();
    match result {
        Ok(bytes) => {
            std::fs::rename(&tmp, dest).map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                fatal("cannot write the cache", e)
            })?;
            Ok(Fetched::Downloaded {
                bytes,
                etag,
                last_modified,
            })
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// One line on standard error, redrawn; only on a terminal.
struct Progress {
    on: bool,
    last: std::cell::Cell<Option<Instant>>,
    line: std::cell::RefCell<String>,
}

impl Progress {
    fn new(on: bool) -> Self {
        Progress {
            on,
            last: std::cell::Cell::new(None),
            line: std::cell::RefCell::new(String::new()),
        }
    }

    fn file(&self, i: usize, total: usize, path: &str) {
        if self.on {
            *self.line.borrow_mut() = if total == 0 {
                path.to_owned()
            } else {
                format!("[{i}/{total}] {path}")
            };
            self.draw("");
        }
    }

    fn bytes(&self, n: u64, total: Option<u64>) {
        if !self.on
            || self
                .last
                .get()
                .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
        {
            return;
        }
        self.last.set(Some(Instant::now()));
        let mb = |b: u64| b as f64 / 1e6;
        let extra = match total {
            Some(t) if t > 0 => format!(" {:.1}/{:.1} MB", mb(n), mb(t)),
            _ => format!(" {:.1} MB", mb(n)),
        };
        self.draw(&extra);
    }

    fn draw(&self, extra: &str) {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[K{}{extra}", self.line.borrow());
        let _ = err.flush();
    }

    fn done(&self) {
        if self.on {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
        }
    }
}

/// What [`build`] did.
#[derive(Debug)]
pub struct Built {
    pub imported: Vec<Imported>,
    /// Feeds that could not be read at all (no record, an error): the new
    /// store was not switched in.
    pub unreadable: Vec<String>,
    /// The new store's metadata, when it was switched in.
    pub meta: Option<Meta>,
}

/// Import `cache` into a new generation of `store` and switch to it, unless
/// a whole feed could not be read: then the previous store stays in use and
/// the unreadable files' validators are forgotten, so that the next update
/// downloads them again instead of getting `304`.
pub fn build(cache: &Path, store: &Path) -> Result<Built> {
    let mut builder = StoreBuilder::create(store)?;
    let imported = crate::mirror::import(cache, &mut builder)?;
    if imported.is_empty() {
        // An empty cache (a first update whose downloads all failed) must
        // not replace a store with an empty one.
        return Err(KbError::Format {
            path: cache.display().to_string(),
            message: "no feed in the cache: nothing to build".into(),
        });
    }
    let unreadable: Vec<&Imported> = imported
        .iter()
        .filter(|i| i.report.records == 0 && !i.report.errors.is_empty())
        .collect();
    if !unreadable.is_empty() {
        drop(builder);
        let names = unreadable.iter().map(|i| i.feed.clone()).collect();
        let prefixes: Vec<String> = unreadable
            .iter()
            .filter_map(|i| i.path.strip_prefix(cache).ok())
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        if let Ok(_lock) = lock(cache) {
            let mut state = crate::cache::load_json::<State>(&cache.join(STATE));
            state.files.retain(|k, _| {
                !prefixes
                    .iter()
                    .any(|p| k == p || k.starts_with(&format!("{p}/")))
            });
            crate::cache::save_json(&cache.join(STATE), &state)?;
        }
        return Ok(Built {
            imported,
            unreadable: names,
            meta: None,
        });
    }
    for i in &imported {
        builder.report(&i.feed, i.report.clone());
    }
    let meta = builder.finish()?;
    Ok(Built {
        imported,
        unreadable: Vec::new(),
        meta: Some(meta),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_userinfo_and_query() {
        assert_eq!(
            redact("https://user:pw@host.example/a/b?token=x#f"),
            "https://host.example/a/b"
        );
        assert_eq!(redact("http://host/a@b"), "http://host/a@b");
    }

    #[test]
    fn index_lines() {
        let (paths, bad) = parse_index(
            "# comment\n\nosv/Go/all.zip\n../etc/passwd\n/abs\nkev/.hidden\nosv/Go/all.zip\nindex.txt\na//b\n",
        );
        assert_eq!(paths, vec!["osv/Go/all.zip".to_owned()]);
        assert_eq!(bad.len(), 5);
    }

    #[test]
    fn feeds_and_urls() {
        assert_eq!(feed_of("osv/PyPI/all.zip"), "osv:PyPI");
        assert_eq!(feed_of("alpine-secdb/v3.19/main.json"), "alpine");
        assert_eq!(feed_of("samples/amazon-updateinfo/x.xml.gz"), "amazon");
        assert_eq!(
            mirror_url("http://h/m/", "osv/Rocky Linux/all.zip"),
            "http://h/m/osv/Rocky%20Linux/all.zip"
        );
        let opts = Options::default();
        for n in 1..10 {
            let d = crate::cache::backoff(opts.backoff, opts.max_backoff, n);
            assert!(d <= opts.max_backoff && d >= opts.backoff / 2);
        }
    }
}
