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
//! HTTP goes through [`crate::fetch`] (retries with backoff and
//! `Retry-After`, atomic files, progress through the caller's callback):
//! every file is fetched with a conditional request when the cache holds
//! it (ETag / Last-Modified kept per path in the state file [`STATE`] in
//! the cache, with the URL it came from, userinfo and query removed);
//! `304 Not Modified` keeps the cached file. An interrupted or failed
//! transfer never replaces a good cached copy.
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
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::base::{KnowledgeBaseBuilder, Meta};
use crate::cache::{PART, io_err};
use crate::error::{KbError, Result};
use crate::fetch::{Client, Fetched, Get, OnProgress, Progress, Validators};
use crate::mirror::Imported;

/// The index file at the root of an HTTP mirror.
pub const INDEX: &str = "index.txt";
/// The state file in the cache: validators per cached path.
pub const STATE: &str = ".kensa-update.json";
const LOCK: &str = ".kensa-update.lock";

pub use crate::catalog::{
    ALPINE_RELEASES, AMAZON_REPOSITORIES, EOL_ZIP, OSV_ECOSYSTEMS, RUSTSEC_ZIP, feed_of,
};

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

/// The upstream table: what is downloaded and from where (every feed's
/// [`crate::catalog::Feed::upstream`]).
pub fn upstream(osv_ecosystems: &[&str], alpine_releases: &[&str]) -> Vec<Remote> {
    let u = crate::catalog::Upstream {
        osv_ecosystems,
        alpine_releases,
    };
    crate::catalog::FEEDS
        .iter()
        .flat_map(|f| (f.upstream)(&u))
        .collect()
}

/// Timeouts and retries of every download of an update (the feeds with a
/// protocol of their own, NVD and Red Hat, get the same).
pub type Options = crate::fetch::HttpOptions;

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

/// A URL fit for messages and the state file: no userinfo, query or
/// fragment.
pub use crate::fetch::redact;

pub(crate) fn encode_segment(s: &str) -> String {
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

fn mirror_url(base: &str, path: &str) -> String {
    let segments: Vec<String> = path.split('/').map(encode_segment).collect();
    format!("{}/{}", base.trim_end_matches('/'), segments.join("/"))
}

/// Download `source` into `cache`, laid out as an offline mirror; then
/// import the cache with [`build`] (or [`crate::mirror::import`]). A
/// [`Source::Dir`] downloads nothing and returns an empty list. Errors are
/// only for the cache itself (not writable, locked by another update);
/// every fetch failure is in the returned summary. No progress is shown;
/// see [`download_with`].
pub fn download(source: &Source, cache: &Path, opts: &Options) -> Result<Vec<FeedDownload>> {
    download_with(source, cache, opts, &crate::fetch::quiet)
}

/// [`download`], telling `progress` what it is doing (the binary draws a
/// line on a terminal; this crate never prints).
pub fn download_with(
    source: &Source,
    cache: &Path,
    opts: &Options,
    progress: OnProgress<'_>,
) -> Result<Vec<FeedDownload>> {
    let remotes = match source {
        Source::Dir(_) => return Ok(Vec::new()),
        Source::Upstream(r) => Some(r.clone()),
        Source::Mirror(_) => None,
    };
    let _lock = lock(cache)?;
    crate::fetch::remove_parts(cache, 8);
    let mut state = crate::cache::load_json::<State>(&cache.join(STATE));
    let client = Client::new(opts, progress);
    let mut feeds: BTreeMap<String, FeedDownload> = BTreeMap::new();

    let remotes = match (remotes, source) {
        (Some(r), _) => r,
        (None, Source::Mirror(base)) => {
            let index = Remote::direct(INDEX, mirror_url(base, INDEX));
            client.progress(Progress::File {
                index: 0,
                total: 0,
                path: INDEX,
            });
            let entry = feeds.entry("index".into()).or_insert_with(|| FeedDownload {
                feed: "index".into(),
                ..FeedDownload::default()
            });
            fetch_into(&client, &index, cache, &mut state, entry);
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
                    client.progress(Progress::Done);
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
        client.progress(Progress::File {
            index: i + 1,
            total,
            path: &remote.path,
        });
        // Feeds with a protocol of their own fetch themselves, through the
        // same client; a cache they cannot write is one failure of that
        // feed, not of the run.
        let own = match remote.via {
            Via::NvdApi => Some((
                "nvd",
                crate::nvd_api::fetch_with(
                    &client,
                    &remote.url,
                    cache,
                    &crate::nvd_api::Options {
                        http: opts.clone(),
                        ..crate::nvd_api::Options::default()
                    },
                )
                .map(|got| got.download),
            )),
            Via::RedhatCsaf => Some((
                "redhat",
                crate::redhat_csaf::fetch_with(
                    &client,
                    &remote.url,
                    cache,
                    &crate::redhat_csaf::Options {
                        http: opts.clone(),
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
        fetch_into(&client, remote, cache, &mut state, entry);
        if last_save.elapsed() > Duration::from_secs(5) {
            crate::cache::save_json(&cache.join(STATE), &state)?;
            last_save = Instant::now();
        }
    }
    client.progress(Progress::Done);
    crate::cache::save_json(&cache.join(STATE), &state)?;
    Ok(feeds.into_values().collect())
}

/// Fetch one file and account for it in `entry`.
fn fetch_into(
    client: &Client<'_>,
    remote: &Remote,
    cache: &Path,
    state: &mut State,
    entry: &mut FeedDownload,
) {
    entry.files += 1;
    let dest = cache.join(&remote.path);
    let resolved;
    let remote = match remote.via {
        // `NvdApi` and `RedhatCsaf` are fetched by `download` itself.
        Via::Direct | Via::NvdApi | Via::RedhatCsaf => remote,
        Via::YumMirrorList => match resolve_yum(client, &remote.url, cache) {
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
    let get = Get {
        validators: cond.as_ref(),
        ..Get::new(&remote.url)
    };
    match client.get(get, &dest) {
        Ok((Fetched::NotModified, retries)) => {
            entry.retries += retries;
            entry.not_modified += 1;
        }
        Ok((
            Fetched::Downloaded {
                bytes,
                etag,
                last_modified,
            },
            retries,
        )) => {
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
        Err(failed) => {
            entry.retries += failed.retries;
            entry.failed.push(Failure {
                path: remote.path.clone(),
                reason: failed.reason,
                stale: dest.is_file(),
            });
        }
    }
}

/// The `updateinfo` URL of the repository a `mirror.list` names.
fn resolve_yum(
    client: &Client<'_>,
    list_url: &str,
    cache: &Path,
) -> std::result::Result<String, String> {
    let get = |url: &str| client.bytes(Get::new(url), cache).map_err(|f| f.reason);
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
    let mut builder = KnowledgeBaseBuilder::create(store)?;
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
