//! Every feed in one place: its name, where it sits in a mirror, how its
//! importer reads it, and what `kensa db update` downloads for it from
//! upstream. [`crate::mirror::import`], [`crate::update::upstream`] and
//! [`crate::update::feed_of`] all read [`FEEDS`], so adding a feed is one
//! entry here (and its importer under [`crate::feeds`]).

use std::path::Path;

use crate::error::Result;
use crate::feeds;
use crate::model::{FeedReport, Sink};
use crate::update::{Remote, Via};

/// An importer: a path (file, folder or archive) into records.
pub type Importer = fn(&Path, &mut dyn Sink) -> Result<FeedReport>;

/// How a feed's mirror path is read.
#[derive(Clone, Copy)]
pub enum Read {
    /// The importer on the path as it is.
    Whole(Importer),
    /// The importer on each file of the folder (or the one file) whose name
    /// ends with one of these, the reports merged.
    Files(&'static [&'static str], Importer),
    /// One feed `<name>:<folder>` per folder of the path, each read from
    /// its `all.zip` when there is one, else as a folder (OSV).
    PerFolder(Importer),
}

/// What the upstream download is asked for.
#[derive(Debug, Clone, Copy)]
pub struct Upstream<'a> {
    pub osv_ecosystems: &'a [&'a str],
    pub alpine_releases: &'a [&'a str],
}

/// One feed.
pub struct Feed {
    /// As reports and summaries name it.
    pub name: &'static str,
    /// Where it sits in a mirror: the first of these that exists is read.
    pub paths: &'static [&'static str],
    pub read: Read,
    /// What an upstream update downloads for it (nothing: mirrors only).
    pub upstream: fn(&Upstream<'_>) -> Vec<Remote>,
}

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

fn none(_: &Upstream<'_>) -> Vec<Remote> {
    Vec::new()
}

fn one(path: &str, url: &str) -> Vec<Remote> {
    vec![Remote::direct(path, url)]
}

/// The feeds, in the order they are imported.
pub static FEEDS: &[Feed] = &[
    Feed {
        name: "osv",
        paths: &["osv"],
        read: Read::PerFolder(feeds::osv::import),
        upstream: |u| {
            u.osv_ecosystems
                .iter()
                .map(|eco| {
                    Remote::direct(
                        format!("osv/{eco}/all.zip"),
                        format!("{OSV_BASE}/{}/all.zip", crate::update::encode_segment(eco)),
                    )
                })
                .collect()
        },
    },
    Feed {
        name: "rustsec",
        paths: &["rustsec/advisory-db.zip", "rustsec"],
        read: Read::Whole(feeds::rustsec::import),
        upstream: |_| one("rustsec/advisory-db.zip", RUSTSEC_ZIP),
    },
    Feed {
        name: "debian",
        paths: &["debian", "samples/debian-tracker-source"],
        read: Read::Whole(feeds::debian::import),
        upstream: none,
    },
    Feed {
        name: "debian-json",
        paths: &["debian-tracker.json"],
        read: Read::Whole(feeds::debian::import_json),
        upstream: |_| one("debian-tracker.json", DEBIAN_TRACKER_JSON),
    },
    Feed {
        name: "alpine",
        paths: &["alpine-secdb"],
        read: Read::Whole(feeds::alpine::import_dir),
        upstream: |u| {
            let mut out = Vec::new();
            for rel in u.alpine_releases {
                for repo in ["main", "community"] {
                    out.push(Remote::direct(
                        format!("alpine-secdb/{rel}/{repo}.json"),
                        format!(
                            "{ALPINE_BASE}/{}/{repo}.json",
                            crate::update::encode_segment(rel)
                        ),
                    ));
                }
            }
            out
        },
    },
    Feed {
        name: "amazon",
        paths: &["amazon", "samples/amazon-updateinfo"],
        read: Read::Files(&[".xml.gz", "updateinfo.xml"], |p, s| {
            feeds::amazon::import(p, s)
        }),
        upstream: |_| {
            AMAZON_REPOSITORIES
                .iter()
                .map(|(path, list)| Remote {
                    path: (*path).into(),
                    url: (*list).into(),
                    via: Via::YumMirrorList,
                })
                .collect()
        },
    },
    Feed {
        name: "oval",
        paths: &["oval", "samples/mariner-oval"],
        read: Read::Files(&[".xml"], |p, s| feeds::oval::import(p, s)),
        upstream: none,
    },
    Feed {
        name: "nvd",
        paths: &["nvd", "samples/nvd-api-2.0"],
        read: Read::Files(&[".json"], |p, s| feeds::nvd::import(p, s)),
        upstream: |_| {
            vec![Remote {
                path: crate::nvd_api::DIR.into(),
                url: crate::nvd_api::BASE.into(),
                via: Via::NvdApi,
            }]
        },
    },
    Feed {
        name: "epss",
        paths: &["epss"],
        read: Read::Files(&[".csv.gz", ".csv"], |p, s| feeds::epss::import(p, s)),
        upstream: |_| one("epss/epss_scores-current.csv.gz", EPSS_URL),
    },
    Feed {
        name: "kev",
        paths: &["kev/known_exploited_vulnerabilities.json"],
        read: Read::Files(&[".json"], |p, s| feeds::kev::import(p, s)),
        upstream: |_| one("kev/known_exploited_vulnerabilities.json", KEV_URL),
    },
    Feed {
        name: "redhat",
        paths: &["redhat"],
        read: Read::Whole(feeds::redhat::import_dir),
        upstream: |_| {
            vec![Remote {
                path: crate::redhat_csaf::DIR.into(),
                url: crate::redhat_csaf::BASE.into(),
                via: Via::RedhatCsaf,
            }]
        },
    },
    // CVE JSON 5 is a git repository too large to fetch whole on every
    // update, and OVAL has no single-file upstream: mirrors only.
    Feed {
        name: "cve5",
        paths: &["cve5"],
        read: Read::Whole(|p, s| feeds::nvd::import_cve5(p, s)),
        upstream: none,
    },
    Feed {
        name: "eol",
        paths: &["eol/endoflife.date.zip", "eol/products"],
        read: Read::Whole(|p, s| feeds::eol::import(p, s)),
        upstream: |_| one("eol/endoflife.date.zip", EOL_ZIP),
    },
];

/// The feed a mirror path belongs to, as the importers name it: `osv:PyPI`
/// for `osv/PyPI/all.zip`, `alpine` for `alpine-secdb/v3.19/main.json`;
/// else the path's first component.
pub fn feed_of(path: &str) -> String {
    for feed in FEEDS {
        for p in feed.paths {
            let Some(rest) = path.strip_prefix(p) else {
                continue;
            };
            if !(rest.is_empty() || rest.starts_with('/')) {
                continue;
            }
            return match feed.read {
                Read::PerFolder(_) => {
                    let folder = rest.trim_start_matches('/').split('/').next();
                    format!("{}:{}", feed.name, folder.unwrap_or_default())
                }
                _ => feed.name.to_owned(),
            };
        }
    }
    path.split('/').next().unwrap_or_default().to_owned()
}
