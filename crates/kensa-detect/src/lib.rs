//! Detection: an inventory and the knowledge base in, a scored report out.
//!
//! Data flows one way: [`matcher::plan`] turns the inventory's packages
//! into lookups (the namespace and key each vendor files advisories under,
//! the version it compares), [`matcher::run`] evaluates the advisory rows
//! with the ecosystem's exact ordering, [`scan`] groups the hits into one
//! finding per (package, vulnerability), fetches what the knowledge base
//! knows about each vulnerability once (CVE record, CVSS vectors, KEV,
//! EPSS), scores it for the host ([`score`]), adds end-of-life findings,
//! and ranks the result. [`report`] renders it.
//!
//! A finding's `vulnerability_id` is a CVE id when the advisory names one:
//! an advisory naming several CVEs (a DSA, an ALSA errata) makes one
//! finding per CVE, so that KEV, EPSS and triage apply per CVE. An
//! advisory naming none is filed under the smallest of its own id and its
//! aliases, so that a GHSA and a PYSEC record that alias each other make
//! one finding. When several advisories make the same finding, its fixed
//! version is the highest of theirs: the version that fixes it according
//! to every source.

pub mod distro;
mod enrich;
pub mod error;
/// The report types, moved to `kensa-model`; re-exported so that
/// `kensa_detect::finding::Finding` and `kensa_detect::Finding` keep working.
pub use kensa_model::finding;
mod matcher;
pub mod report;
pub mod score;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kensa_inventory::model::{Inventory, Package, PackageKind, SourceKind};
use kensa_kb::base::KnowledgeBase;
use kensa_kb::model::Feed;

use crate::distro::Distro;
pub use crate::error::{DetectError, Result};
pub use crate::finding::*;
use crate::matcher::{Matches, Query};
use crate::score::HostContext;
pub use crate::score::{Exposure, ReachablePort};

/// What the scan is told beyond the inventory.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Whether the host is reachable from the internet.
    pub exposure: Exposure,
    /// The day end-of-life dates are compared with (`YYYY-MM-DD`); today
    /// when not set.
    pub today: Option<String>,
    /// The time written into the report (RFC 3339); now when not set.
    pub scanned_at: Option<String>,
    /// The port ranges the network model says the internet reaches on this
    /// host; `None` when no network data covers it (see `score`).
    pub reachable: Option<Vec<ReachablePort>>,
}

/// Match, score and rank: the whole scan of one inventory.
pub fn scan(inventory: &Inventory, store: &KnowledgeBase, opts: &Options) -> Result<Report> {
    let mut warnings = Vec::new();
    let distro = inventory.os.as_ref().and_then(Distro::of);
    if let (Some(os), None) = (&inventory.os, &distro) {
        warnings.push(Warning {
            kind: "unsupported-os".into(),
            package: None,
            message: format!(
                "{} {}: Kensa does not know where this distribution publishes advisories; its OS packages are not checked",
                os.id, os.release
            ),
        });
    }
    for p in &inventory.problems {
        let (kind, message) = match p.impact {
            // Said first and apart: the findings cannot be complete.
            kensa_inventory::Impact::NoOsPackages => (
                OS_PACKAGES_UNREAD,
                format!(
                    "{}{}{}: the OS packages could not be read, so they are not checked: an empty list of findings does not mean nothing to fix",
                    p.path,
                    if p.path.is_empty() { "" } else { ": " },
                    p.message
                ),
            ),
            kensa_inventory::Impact::Partial => (
                INVENTORY_PROBLEM,
                format!("{}: {} (skipped; the rest was read)", p.path, p.message),
            ),
        };
        warnings.push(Warning {
            kind: kind.into(),
            package: None,
            message,
        });
    }
    let (queries, matches) = match_packages(inventory, store, distro.as_ref(), &mut warnings)?;
    let today = opts.today.clone().unwrap_or_else(|| {
        humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()[..10].to_owned()
    });
    let eol = eol::check(inventory, distro.as_ref(), store, &today)?;
    let host = HostContext {
        exposure: opts.exposure,
        listeners: (inventory.source.kind == SourceKind::Host).then_some(&inventory.listeners[..]),
        reachable: opts.reachable.as_deref(),
    };
    let mut findings = assemble(
        inventory,
        store,
        distro.as_ref(),
        &queries,
        &matches,
        &host,
        eol.os_note.as_deref(),
    )?;
    findings.extend(eol.findings);
    dropped_cve_warnings(store, &findings, &mut warnings);
    findings.sort_by(Finding::rank_cmp);
    warnings.sort();
    warnings.dedup();
    let meta = store.meta();
    Ok(Report {
        schema_version: SCHEMA_VERSION,
        scanned_at: opts.scanned_at.clone().unwrap_or_else(|| {
            humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
        }),
        target: Target {
            kind: match inventory.source.kind {
                SourceKind::Host => "host",
                SourceKind::Root => "root",
                SourceKind::Image => "image",
            }
            .into(),
            path: inventory.source.path.clone(),
            os: inventory.os.as_ref().map(|o| o.id.clone()),
            os_release: inventory.os.as_ref().map(|o| o.release.clone()),
            hostname: inventory.host.hostname.clone(),
            image_id: inventory.source.image.as_ref().map(|i| i.id.clone()),
            packages: inventory.packages.len(),
        },
        knowledge: Knowledge {
            built_at: meta.built_at.clone(),
            feeds: meta
                .feeds
                .iter()
                .map(|(name, r)| (name.clone(), r.newest.clone()))
                .collect(),
        },
        summary: Summary::of(&findings),
        findings,
        warnings,
        packages: inventory.packages.clone(),
    })
}

/// Matching alone: the lookups and the (package, advisory row) hits, with
/// no scoring or enrichment. What the benchmark's "matching" measures.
pub fn match_only(inventory: &Inventory, store: &KnowledgeBase) -> Result<usize> {
    let mut warnings = Vec::new();
    let distro = inventory.os.as_ref().and_then(Distro::of);
    let (_, matches) = match_packages(inventory, store, distro.as_ref(), &mut warnings)?;
    Ok(matches.hits.len())
}

/// The (namespace, package) keys a scan of `inventory` looks up: an
/// inventory none of whose keys changed in a knowledge base update has
/// the same matches after it (see `kensa_kb::base::KnowledgeBase::changed_keys`).
pub fn lookup_keys(inventory: &Inventory, store: &KnowledgeBase) -> Vec<(String, String)> {
    let mut warnings = Vec::new();
    let distro = inventory.os.as_ref().and_then(Distro::of);
    let mut keys: Vec<(String, String)> = matcher::plan(
        &inventory.packages,
        distro.as_ref(),
        &store.meta().namespaces,
        &mut warnings,
    )
    .into_iter()
    .map(|q| (q.namespace, q.key))
    .collect();
    keys.sort();
    keys.dedup();
    keys
}

fn match_packages(
    inventory: &Inventory,
    store: &KnowledgeBase,
    distro: Option<&Distro>,
    warnings: &mut Vec<Warning>,
) -> Result<(Vec<Query>, Matches)> {
    let queries = matcher::plan(
        &inventory.packages,
        distro,
        &store.meta().namespaces,
        warnings,
    );
    let matches = matcher::run(store, &queries, &inventory.packages, warnings)?;
    dropped_warnings(store, &queries, &inventory.packages, warnings);
    Ok((queries, matches))
}

/// A record the import dropped about a package this host has (an invalid
/// fixed version, a malformed id) might have been a finding: the scan
/// says so, naming the record and why it was dropped, instead of leaving
/// it to the import log.
fn dropped_warnings(
    store: &KnowledgeBase,
    queries: &[Query],
    packages: &[Package],
    warnings: &mut Vec<Warning>,
) {
    for q in queries {
        for d in store.dropped(&q.namespace, &q.key) {
            let p = &packages[q.pkg];
            warnings.push(Warning {
                kind: DROPPED_RECORD.into(),
                package: Some(p.name.clone()),
                message: format!(
                    "{} {}: the knowledge base could not import a {} record about {} in {} ({}{}: {}), so it is not checked: look it up by hand",
                    p.name,
                    p.version,
                    d.feed,
                    q.key,
                    q.namespace,
                    d.file,
                    d.record
                        .as_deref()
                        .map(|r| format!(", {r}"))
                        .unwrap_or_default(),
                    d.message
                ),
            });
        }
    }
}

/// A finding whose CVE record (NVD, CVE JSON 5) the import dropped is
/// scored without that record's CVSS vectors: the scan says so, per
/// package, so that a low or untriaged score is not taken at its word.
fn dropped_cve_warnings(store: &KnowledgeBase, findings: &[Finding], warnings: &mut Vec<Warning>) {
    for f in findings {
        for d in store.dropped(kensa_kb::feeds::nvd::DROPPED_NAMESPACE, &f.vulnerability_id) {
            warnings.push(Warning {
                kind: DROPPED_RECORD.into(),
                package: Some(f.package.name.clone()),
                message: format!(
                    "{} {}: the knowledge base could not import the {} record of {} ({}: {}), so its score lacks that record's CVSS vectors",
                    f.package.name,
                    f.package.version,
                    d.feed,
                    f.vulnerability_id,
                    d.file,
                    d.message
                ),
            });
        }
    }
}

/// The name a feed is written with in reports (`debian-tracker`).
fn feed_name(feed: Feed) -> String {
    serde_json::to_value(feed)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn is_cve(id: &str) -> bool {
    id.starts_with("CVE-")
}

/// The ids a hit files its finding under (see the crate documentation).
fn finding_keys(advisory: &str, aliases: &[&str]) -> Vec<String> {
    let mut cves: Vec<String> = std::iter::once(advisory)
        .chain(aliases.iter().copied())
        .filter(|id| is_cve(id))
        .map(str::to_owned)
        .collect();
    cves.sort();
    cves.dedup();
    if cves.is_empty() {
        let smallest = aliases
            .iter()
            .copied()
            .chain(std::iter::once(advisory))
            .min()
            .unwrap_or(advisory);
        vec![smallest.to_owned()]
    } else {
        cves
    }
}

/// Feeds whose advisories are a distribution vendor's own.
fn is_vendor_feed(feed: Feed) -> bool {
    matches!(
        feed,
        Feed::DebianTracker
            | Feed::Ubuntu
            | Feed::AlpineSecdb
            | Feed::AmazonAlas
            | Feed::RedHat
            | Feed::Oval
    )
}

#[derive(Default)]
struct Group {
    /// The first query that matched: its namespace and method describe
    /// the finding.
    query: Option<usize>,
    advisories: BTreeSet<(String, String)>,
    aliases: BTreeSet<String>,
    fix: Option<String>,
    status: Option<Status>,
    notes: BTreeSet<String>,
    severity: Option<(bool, VendorSeverity)>,
}

fn assemble(
    inventory: &Inventory,
    store: &KnowledgeBase,
    distro: Option<&Distro>,
    queries: &[Query],
    matches: &Matches,
    host: &HostContext<'_>,
    eol_note: Option<&str>,
) -> Result<Vec<Finding>> {
    // Keyed by package, not query: a package can be looked up under two
    // names (Red Hat's binary and source names), and must make one finding
    // per vulnerability.
    // (package, vulnerability) pairs for which the package is one of the
    // vendor's fixed builds (see `matcher::release_stream`).
    let mut covered: BTreeSet<(usize, String)> = BTreeSet::new();
    for hit in &matches.covered {
        let q = &queries[hit.query];
        let row = matches.row(store, hit)?;
        for key in finding_keys(row.advisory, &row.aliases) {
            covered.insert((q.pkg, key));
        }
    }
    let mut groups: BTreeMap<(usize, String), Group> = BTreeMap::new();
    for hit in &matches.hits {
        let q = &queries[hit.query];
        let row = matches.row(store, hit)?;
        for key in finding_keys(row.advisory, &row.aliases) {
            if covered.contains(&(q.pkg, key.clone())) {
                continue;
            }
            let g = groups.entry((q.pkg, key.clone())).or_default();
            g.query.get_or_insert(hit.query);
            g.advisories
                .insert((row.advisory.to_owned(), feed_name(row.feed)));
            g.aliases.insert(row.advisory.to_owned());
            g.aliases
                .extend(row.aliases.iter().map(|a| (*a).to_owned()));
            g.aliases.remove(&key);
            if let Some(f) = matches.fix(hit) {
                let higher = g.fix.as_deref().is_none_or(|cur| {
                    q.ecosystem
                        .compare(f, cur)
                        .is_ok_and(|o| o == std::cmp::Ordering::Greater)
                });
                if higher {
                    g.fix = Some(f.to_owned());
                }
            }
            let s = hit.status;
            if g.status.is_none_or(|cur| s.precedence() > cur.precedence()) {
                g.status = Some(s);
            }
            if let Some(n) = row.affected.note {
                g.notes.insert(n.to_owned());
            }
            if let Some(sev) = &row.severity {
                let vendor = is_vendor_feed(row.feed);
                if g.severity.as_ref().is_none_or(|(v, _)| vendor && !v) {
                    g.severity = Some((
                        vendor,
                        VendorSeverity {
                            source: sev.source.to_owned(),
                            value: sev.value.to_owned(),
                        },
                    ));
                }
            }
        }
    }

    let cx = Build {
        inventory,
        store,
        distro,
        queries,
        host,
        eol_note,
    };
    build_findings(&cx, groups.into_iter().collect())
}

/// What building findings from their groups reads; shared by the threads.
struct Build<'a> {
    inventory: &'a Inventory,
    store: &'a KnowledgeBase,
    distro: Option<&'a Distro>,
    queries: &'a [Query],
    host: &'a HostContext<'a>,
    eol_note: Option<&'a str>,
}

/// The findings of `groups`, in their order. Enrichment (reading and
/// parsing each vulnerability's records, scoring) is most of a big scan's
/// time and each group's is independent, so the groups are cut into
/// contiguous runs, one per thread, and the runs put back in order: the
/// report does not depend on the scheduling.
fn build_findings(cx: &Build<'_>, groups: Vec<((usize, String), Group)>) -> Result<Vec<Finding>> {
    // Below a few hundred findings a thread costs more than it saves.
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4)
        .min(groups.len() / 256 + 1);
    if threads <= 1 {
        return build_run(cx, groups);
    }
    let per = groups.len().div_ceil(threads);
    let mut runs = Vec::with_capacity(threads);
    let mut rest = groups;
    while rest.len() > per {
        let tail = rest.split_off(per);
        runs.push(rest);
        rest = tail;
    }
    runs.push(rest);
    std::thread::scope(|scope| {
        let handles: Vec<_> = runs
            .into_iter()
            .map(|run| scope.spawn(move || build_run(cx, run)))
            .collect();
        let mut findings = Vec::new();
        for h in handles {
            match h.join() {
                Ok(run) => findings.extend(run?),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        Ok(findings)
    })
}

/// One run of groups, enriched and scored: each vulnerability's records
/// are read once per run (the binaries of one source package share their
/// vulnerabilities), each CVSS vector parsed once.
fn build_run(cx: &Build<'_>, groups: Vec<((usize, String), Group)>) -> Result<Vec<Finding>> {
    let Build {
        inventory,
        store,
        distro,
        queries,
        host,
        eol_note,
    } = *cx;
    let mut cache: HashMap<String, Vec<enrich::RecordView>> = HashMap::new();
    let mut vectors = enrich::VectorCache::default();
    let mut findings = Vec::with_capacity(groups.len());
    for ((_, key), g) in groups {
        let Some(qi) = g.query else { continue };
        let q = &queries[qi];
        let p = &inventory.packages[q.pkg];
        if !cache.contains_key(&key) {
            cache.insert(key.clone(), enrich::records(store, &key)?);
        }
        let e = cache.get(&key).map(Vec::as_slice).unwrap_or_default();
        let advisory_ids: BTreeSet<&str> = g.advisories.iter().map(|(id, _)| id.as_str()).collect();
        let mut title = None;
        let mut description = None;
        let mut published = None;
        let mut references = Vec::new();
        let mut cvss = Vec::new();
        let mut vendor_sources = Vec::new();
        let mut kev = None;
        let mut epss: Option<EpssScore> = None;
        for r in e {
            match r {
                enrich::RecordView::Advisory(a) if advisory_ids.contains(a.id.as_str()) => {
                    title = title.or_else(|| a.summary.clone());
                    published = published.or_else(|| a.published.clone());
                    references.extend(a.references.iter().cloned());
                    let source = a
                        .severity
                        .as_ref()
                        .map_or_else(|| feed_name(a.feed), |s| s.source.clone());
                    for v in &a.cvss {
                        if let Some(s) = vectors.score(&source, v) {
                            cvss.push(s);
                        }
                    }
                    vendor_sources.push(source);
                }
                enrich::RecordView::Vulnerability(v) if v.id == key => {
                    description = v.description.clone();
                    published = v.published.clone().or(published);
                    references.extend(v.references.iter().cloned());
                    for c in &v.cvss {
                        if let Some(s) = vectors.score(&c.source, &c.vector) {
                            cvss.push(s);
                        }
                    }
                }
                enrich::RecordView::Kev(k) if k.cve == key => {
                    kev = Some(KevEntry {
                        date_added: k.date_added.clone(),
                        due_date: k.due_date.clone(),
                        ransomware: k.ransomware,
                        required_action: k.required_action.clone(),
                    });
                }
                enrich::RecordView::Epss(x)
                    if x.cve == key && epss.as_ref().is_none_or(|cur| x.date > cur.date) =>
                {
                    epss = Some(EpssScore {
                        score: x.score,
                        percentile: x.percentile,
                        date: x.date.clone(),
                    });
                }
                _ => {}
            }
        }
        references.sort();
        references.dedup();
        cvss.dedup_by(|a, b| a.source == b.source && a.vector == b.vector);
        let title = title.or_else(|| {
            description
                .as_deref()
                .and_then(|d| d.lines().next())
                .map(str::to_owned)
        });
        let score = score::adjusted(&cvss, &vendor_sources, p, kev.is_some(), host);
        let vendor_severity = g.severity.map(|(_, s)| s);
        let severity = match (&score, &vendor_severity) {
            (Some(s), _) => Band::from_score(s.adjusted),
            (None, _) if !cvss.is_empty() => {
                Band::from_score(cvss.iter().map(|c| c.base_score).fold(0.0, f64::max))
            }
            (None, Some(v)) => Band::from_vendor_word(&v.value),
            (None, None) => Band::Untriaged,
        };
        let status = g.status.unwrap_or(Status::Affected);
        let mut notes: Vec<String> = g.notes.into_iter().collect();
        let mut confidence = "high";
        if let Some(n) = distro.and_then(|d| d.borrowed_note.as_ref())
            && q.method != "language-package"
        {
            notes.push(n.clone());
        }
        if let Some(n) = eol_note
            && q.method != "language-package"
        {
            notes.push(n.to_owned());
        }
        if let Some(n) = kernel_note(inventory, p) {
            notes.push(n);
            confidence = "medium";
        }
        let remediation = remediation(p, distro, q, g.fix.as_deref(), status);
        findings.push(Finding {
            vulnerability_id: key,
            aliases: g.aliases.into_iter().collect(),
            advisories: g
                .advisories
                .into_iter()
                .map(|(id, feed)| AdvisoryRef { id, feed })
                .collect(),
            title,
            description,
            published,
            package: package_ref(p, q),
            fixed_version: g.fix,
            status,
            detection: Detection {
                method: q.method.to_owned(),
                namespace: q.namespace.clone(),
                confidence: confidence.to_owned(),
                notes,
            },
            severity,
            vendor_severity,
            cvss,
            score,
            epss,
            kev,
            references,
            remediation,
        });
    }
    Ok(findings)
}

fn package_ref(p: &Package, q: &Query) -> PackageRef {
    let kind = p
        .kind
        .and_then(|k| serde_json::to_value(k).ok())
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    PackageRef {
        name: p.name.clone(),
        kind,
        epoch: p.epoch,
        version: p.version.clone(),
        release: p.release.clone(),
        installed_version: if p.kind == Some(PackageKind::Rpm) {
            distro::rpm_evr(p)
        } else {
            p.version.clone()
        },
        arch: p.arch.clone(),
        source_name: p.source_name.clone(),
        source_version: p.source_version.clone().or_else(|| {
            (q.method == "source-package" && q.version != p.version).then(|| q.version.clone())
        }),
        purl: p.purl.clone(),
        path: p.path.clone(),
        layer: p.layer.clone(),
    }
}

fn is_kernel_image(p: &Package) -> bool {
    match p.kind {
        Some(PackageKind::Deb) => p.name.starts_with("linux-image-"),
        Some(PackageKind::Rpm) => {
            matches!(p.name.as_str(), "kernel" | "kernel-core" | "kernel-default")
                || p.name.starts_with("kernel-uek")
        }
        Some(PackageKind::Apk) => p.name.starts_with("linux-"),
        _ => false,
    }
}

/// `linux-image-6.1.0-13-cloud-amd64` → `cloud-amd64`: the metapackage
/// suffix of a Debian or Ubuntu kernel image whose name carries its ABI.
fn deb_kernel_flavour(p: &Package) -> Option<String> {
    if p.kind != Some(PackageKind::Deb) {
        return None;
    }
    let rest = p.name.strip_prefix("linux-image-")?;
    let parts: Vec<&str> = rest.split('-').collect();
    let first = parts
        .iter()
        .position(|s| !s.starts_with(|c: char| c.is_ascii_digit()))?;
    (first > 0).then(|| parts[first..].join("-"))
}

/// Only the running kernel is exposed: an installed kernel that is not
/// the running one says so (it matters after the next reboot).
fn kernel_note(inventory: &Inventory, p: &Package) -> Option<String> {
    if !is_kernel_image(p) {
        return None;
    }
    let running = inventory.kernels.running.as_deref()?;
    // rpm: `uname -r` is `version-release.arch`, the package's version
    // is `version-release`.
    let this = match p.kind {
        Some(PackageKind::Rpm) => p.version.clone(),
        _ => p.name.clone(),
    };
    let is_running = match p.kind {
        Some(PackageKind::Deb) => p.name.ends_with(running),
        _ => running.starts_with(&this),
    };
    (!is_running).then(|| {
        format!(
            "installed kernel, not the running one ({running}): exposed only after a reboot into it"
        )
    })
}

fn remediation(
    p: &Package,
    distro: Option<&Distro>,
    q: &Query,
    fix: Option<&str>,
    status: Status,
) -> Option<String> {
    let vendor = if q.method == "language-package" {
        q.namespace.clone()
    } else {
        distro.map_or_else(|| "the vendor".to_owned(), |d| d.id.clone())
    };
    match (fix, status) {
        (Some(f), _) => {
            if q.method == "language-package" {
                distro::language_fix_command(p, f)
            } else {
                let d = distro?;
                Some(match deb_kernel_flavour(p) {
                    // The image's name carries its ABI: the fix comes as a
                    // new package, pulled in by the flavour's metapackage.
                    Some(flavour) => format!(
                        "{} linux-image-{flavour} (installs a kernel at {f} or later), reboot into it, then remove {}",
                        d.upgrade, p.name
                    ),
                    None if is_kernel_image(p) => {
                        format!("{} {} (to {f} or later), then reboot", d.upgrade, p.name)
                    }
                    None => format!("{} {} (to {f} or later)", d.upgrade, p.name),
                })
            }
        }
        (None, Status::WillNotFix) => Some(format!(
            "{vendor} will not fix this in this release: mitigate, or remove or replace {}",
            p.name
        )),
        (None, Status::FixDeferred) => Some(format!(
            "{vendor} deferred the fix: mitigate until it is published"
        )),
        (None, Status::EndOfLife) => Some(format!(
            "{vendor} no longer publishes fixes for this release: upgrade the operating system"
        )),
        (None, _) => Some(format!("no fix published by {vendor} yet")),
    }
}

mod eol;
pub use crate::eol::{OsEol, os_eol};
