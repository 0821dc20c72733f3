//! Matching: which advisory rows apply to which installed package, at
//! which fixed version.
//!
//! Rules (docs/detection.md says why):
//! - OS packages are matched only with their distribution release's own
//!   data (namespace `debian:12`, `almalinux:9`, ...), never with NVD or an
//!   ecosystem's data: vendors backport fixes, so only their own version
//!   strings say what is fixed.
//! - Debian, Ubuntu and Alpine advisories are keyed by source package
//!   (origin for Alpine) and compared with the source version; RPM
//!   distributions by binary package name and `[epoch:]version-release`,
//!   a missing epoch being 0 on both sides.
//! - Packages whose vendor (rpm `Vendor`, deb `Origin`) is not the
//!   distribution are not matched; the report says so.
//! - RPM module streams: a package built for a module stream (it carries a
//!   modularity label) is matched only with advisory rows of that stream,
//!   and a package outside any module only with rows outside modules.
//! - A row's architectures, when it lists any, must include the
//!   package's (`noarch` and `src` rows apply to all).
//! - A version is affected when it falls inside any of the row's ranges
//!   (OSV semantics) or equals one of its enumerated versions. Its fix is
//!   the lowest `fixed` event above it: with several ranges, the one that
//!   closes the range it is in, not the row's lowest fix.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use kensa_inventory::model::{Package, PackageKind};
use kensa_kb::base::{AffectedRef, EventRef, KnowledgeBase, RowRef, Rows};
use kensa_kb::model::FixStatus;
use kensa_version::Ecosystem;
use kensa_version::range::is_affected;

use crate::distro::{self, Distro, Keying};
use crate::error::Result;
use crate::finding::{Status, Warning};

/// One installed package to look up.
#[derive(Clone, Debug)]
pub(crate) struct Query {
    /// Index into the inventory's packages.
    pub pkg: usize,
    pub namespace: String,
    pub key: String,
    /// The version compared with the advisory (source version for deb).
    pub version: String,
    pub ecosystem: Ecosystem,
    pub method: &'static str,
    /// Module stream (`nodejs:18`) of a modular rpm.
    pub module: Option<String>,
    pub arch: Option<String>,
}

/// A matched (package, advisory row).
#[derive(Clone, Debug)]
pub(crate) struct Hit {
    pub query: usize,
    /// The row: its key's index in [`Matches`] and its place in the key.
    key: usize,
    row: usize,
    /// The fixed version, as a byte range of the key's rows.
    fix: Option<std::ops::Range<usize>>,
    pub status: Status,
}

/// The lookups an inventory needs, and what cannot be looked up.
pub(crate) fn plan(
    packages: &[Package],
    distro: Option<&Distro>,
    store_namespaces: &std::collections::BTreeMap<String, usize>,
    warnings: &mut Vec<Warning>,
) -> Vec<Query> {
    let mut queries = Vec::with_capacity(packages.len());
    let mut os_unchecked = 0usize;
    let mut missing_ecosystems: HashMap<&'static str, usize> = HashMap::new();
    for (i, p) in packages.iter().enumerate() {
        match p.kind {
            Some(PackageKind::Deb | PackageKind::Rpm | PackageKind::Apk) => {
                let Some(d) = distro.filter(|d| d.owns(p.kind)) else {
                    os_unchecked += 1;
                    continue;
                };
                if !store_namespaces.contains_key(&d.namespace) {
                    os_unchecked += 1;
                    continue;
                }
                if !d.is_own_vendor(p.vendor.as_deref()) {
                    warnings.push(Warning {
                        kind: "third-party-package".into(),
                        package: Some(p.name.clone()),
                        message: format!(
                            "{} {} is from vendor {:?}, not {}: not matched with the distribution's advisories",
                            p.name,
                            p.version,
                            p.vendor.as_deref().unwrap_or_default(),
                            d.id
                        ),
                    });
                    continue;
                }
                let (mut key, mut version) = d.key_and_version(p);
                if d.keying == Keying::Source && d.ecosystem == Ecosystem::Dpkg {
                    // Signed kernel images are built from `linux-signed-*`
                    // sources, but advisories name the kernel source
                    // (`linux`, `linux-aws`); the binary carries the
                    // kernel source's version.
                    if let Some(kernel) = signed_kernel_source(&key, &d.id) {
                        key = kernel;
                        version = p.version.clone();
                    }
                }
                let method = match d.keying {
                    Keying::Source => "source-package",
                    Keying::Binary => "binary-package",
                };
                let query = Query {
                    pkg: i,
                    namespace: d.namespace.clone(),
                    key,
                    version,
                    ecosystem: d.ecosystem,
                    method,
                    module: p
                        .modularity_label
                        .as_deref()
                        .and_then(module_stream)
                        .or_else(|| ksplice_stream(d, p)),
                    arch: p.arch.clone(),
                };
                // Red Hat lists a fixed CVE under every binary RPM, but an
                // unfixed one only under the source package's name: look
                // that up too. Both builds share one version-release.
                if d.namespace.starts_with("rhel:")
                    && let Some(src) = p.source_name.as_deref().filter(|s| *s != p.name)
                {
                    queries.push(Query {
                        key: src.to_owned(),
                        ..query.clone()
                    });
                }
                queries.push(query);
            }
            Some(_) => {
                let Some((ns, eco, key)) = distro::ecosystem_of(p) else {
                    continue;
                };
                if !store_namespaces.contains_key(ns) {
                    *missing_ecosystems.entry(ns).or_default() += 1;
                    continue;
                }
                queries.push(Query {
                    pkg: i,
                    namespace: ns.to_owned(),
                    key,
                    version: p.version.clone(),
                    ecosystem: eco,
                    method: "language-package",
                    module: None,
                    arch: None,
                });
            }
            None => {}
        }
    }
    if os_unchecked > 0 {
        let message = match distro {
            None => format!(
                "{os_unchecked} OS packages not checked: the operating system is not identified or not supported"
            ),
            Some(d) => format!(
                "{os_unchecked} OS packages not checked: the knowledge base has no advisories for {} (run `kensa db update`)",
                d.namespace
            ),
        };
        warnings.push(Warning {
            kind: "no-vendor-data".into(),
            package: None,
            message,
        });
    }
    let mut missing: Vec<_> = missing_ecosystems.into_iter().collect();
    missing.sort();
    for (ns, n) in missing {
        warnings.push(Warning {
            kind: "no-vendor-data".into(),
            package: None,
            message: format!(
                "{n} {ns} packages not checked: the knowledge base has no {ns} advisories"
            ),
        });
    }
    queries
}

/// `linux-signed-amd64` (Debian) → `linux`; `linux-signed-aws` (Ubuntu)
/// → `linux-aws`; `linux-signed` → `linux`.
fn signed_kernel_source(source: &str, distro: &str) -> Option<String> {
    let rest = source.strip_prefix("linux-signed")?;
    if rest.is_empty() {
        return Some("linux".into());
    }
    let flavour = rest.strip_prefix('-')?;
    if distro == "debian" {
        // Debian's signed sources are per architecture; all sign `linux`.
        return Some("linux".into());
    }
    Some(format!("linux-{flavour}"))
}

/// Oracle's Ksplice userspace builds (`2:1.1.1g-15.ksplice1.el8_3`) are a
/// stream of their own: Oracle's OVAL gates their fixes on the release
/// saying `ksplice`, and the importer gives those rows the stream
/// `ksplice` (see `kensa_kb::feeds::oval`), so that a Ksplice fix, whose
/// epoch 2 is above every ordinary build, is never applied to an
/// ordinary package, and an ordinary erratum not to a Ksplice build.
fn ksplice_stream(d: &Distro, p: &Package) -> Option<String> {
    (d.id == "ol" && p.version.contains("ksplice")).then(|| "ksplice".to_owned())
}

/// `nodejs:18:8080020230606:63b34585` → `nodejs:18`.
fn module_stream(label: &str) -> Option<String> {
    let mut parts = label.split(':');
    let (name, stream) = (parts.next()?, parts.next()?);
    (!name.is_empty() && !stream.is_empty()).then(|| format!("{name}:{stream}"))
}

/// What one row says about one version.
enum Verdict<'a> {
    NotAffected,
    /// A RustSec informational advisory (unmaintained, unsound): a warning.
    Informational,
    Affected {
        fix: Option<&'a str>,
        status: Status,
    },
    /// Not affected because the version is one of the row's fixed builds
    /// or a later build of the same release stream: whatever another
    /// erratum says about the same vulnerability, this host has a fix.
    Covered,
}

/// The rows read for the lookups, kept so that hits can point into them.
pub(crate) struct Matches {
    /// The rows of each key looked up, and where each row starts and ends.
    keys: Vec<(Rows, Vec<std::ops::Range<usize>>)>,
    pub hits: Vec<Hit>,
    /// Rows whose fix the package already has (rpm only, see
    /// [`release_stream`]): their vulnerabilities are not findings of
    /// that package, whatever other rows say.
    pub covered: Vec<Hit>,
}

impl Matches {
    /// The stored row a hit matched, decoded without copying.
    pub fn row(&self, store: &KnowledgeBase, hit: &Hit) -> Result<RowRef<'_>> {
        let (rows, ranges) = &self.keys[hit.key];
        let bytes = rows
            .bytes()
            .get(ranges[hit.row].clone())
            .unwrap_or_default();
        Ok(store.decode_row_ref(bytes)?)
    }

    /// The fixed version a hit found, borrowed from its row.
    pub fn fix(&self, hit: &Hit) -> Option<&str> {
        let (rows, _) = &self.keys[hit.key];
        let bytes = rows.bytes().get(hit.fix.clone()?)?;
        std::str::from_utf8(bytes).ok()
    }
}

/// Look every query up, decoding each (namespace, key) once however many
/// binary packages share it, and evaluating each row once per distinct
/// (version, module stream, architecture): all binaries of one Debian
/// source build share one evaluation.
pub(crate) fn run(
    store: &KnowledgeBase,
    queries: &[Query],
    packages: &[Package],
    warnings: &mut Vec<Warning>,
) -> Result<Matches> {
    let mut by_key: BTreeMap<(&str, &str), BTreeMap<Case<'_>, Vec<usize>>> = BTreeMap::new();
    for (qi, q) in queries.iter().enumerate() {
        if let Err(e) = q.ecosystem.validate(&q.version) {
            warnings.push(Warning {
                kind: "unparsable-version".into(),
                package: Some(packages[q.pkg].name.clone()),
                message: format!("not checked: {e}"),
            });
            continue;
        }
        // Language packages ignore module and architecture.
        let language = q.method == "language-package";
        let (module, arch) = if language {
            (None, None)
        } else {
            (q.module.as_deref(), q.arch.as_deref())
        };
        by_key
            .entry((q.namespace.as_str(), q.key.as_str()))
            .or_default()
            .entry((q.version.as_str(), module, arch, q.ecosystem, language))
            .or_default()
            .push(qi);
    }
    // Keys are independent: threads take the next key from a shared
    // counter (one key, `linux`, can hold a third of the work), and the
    // results are put back in key order so that the report is the same
    // whatever the scheduling.
    let keys: Vec<_> = by_key.into_iter().collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4)
        .min(keys.len().max(1));
    let work = || -> Result<Vec<(usize, KeyResult)>> {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(((ns, key), cases)) = keys.get(i) else {
                return Ok(done);
            };
            if let Some(r) = match_key(store, ns, key, cases, queries, packages)? {
                done.push((i, r));
            }
        }
    };
    let mut results: Vec<(usize, KeyResult)> = if threads <= 1 {
        work()?
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads).map(|_| scope.spawn(work)).collect();
            let mut all = Vec::new();
            for h in handles {
                match h.join() {
                    Ok(r) => all.extend(r?),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            Ok::<_, crate::error::DetectError>(all)
        })?
    };
    results.sort_by_key(|(i, _)| *i);
    let mut matches = Matches {
        keys: Vec::with_capacity(results.len()),
        hits: Vec::new(),
        covered: Vec::new(),
    };
    for (_, r) in results {
        let ki = matches.keys.len();
        matches.hits.extend(r.hits.into_iter().map(|mut h| {
            h.key = ki;
            h
        }));
        matches.covered.extend(r.covered.into_iter().map(|mut h| {
            h.key = ki;
            h
        }));
        warnings.extend(r.warnings);
        matches.keys.push((r.raw, r.ranges));
    }
    Ok(matches)
}

/// One key's rows and what they matched.
struct KeyResult {
    raw: Rows,
    ranges: Vec<std::ops::Range<usize>>,
    /// Hits with `key` unset (filled in when the results are merged).
    hits: Vec<Hit>,
    covered: Vec<Hit>,
    warnings: Vec<Warning>,
}

/// (version, module stream, architecture, ordering, language package)
type Case<'q> = (&'q str, Option<&'q str>, Option<&'q str>, Ecosystem, bool);

fn match_key(
    store: &KnowledgeBase,
    ns: &str,
    key: &str,
    cases: &BTreeMap<Case<'_>, Vec<usize>>,
    queries: &[Query],
    packages: &[Package],
) -> Result<Option<KeyResult>> {
    let raw = store.lookup_raw(ns, key)?;
    if raw.is_empty() {
        return Ok(None);
    }
    let count = raw.iter().count();
    let mut ranges = Vec::with_capacity(count);
    let mut views = Vec::with_capacity(count);
    let base = raw.bytes().as_ptr() as usize;
    for bytes in &raw {
        let start = bytes.as_ptr() as usize - base;
        ranges.push(start..start + bytes.len());
        views.push(store.decode_row_ref(bytes)?);
    }
    let mut hits = Vec::new();
    let mut covered = Vec::new();
    let mut warnings = Vec::new();
    for (&(version, module, arch, ecosystem, language), qis) in cases {
        for (ri, view) in views.iter().enumerate() {
            // Bug-fix and enhancement errata say nothing about a
            // vulnerability: their "fixed" version is an update.
            if kensa_kb::model::is_non_security_erratum(view.advisory) {
                continue;
            }
            match evaluate(ecosystem, version, module, arch, &view.affected, language) {
                Verdict::NotAffected => {}
                Verdict::Covered => {
                    for &qi in qis {
                        covered.push(Hit {
                            query: qi,
                            key: 0,
                            row: ri,
                            fix: None,
                            status: Status::Fixed,
                        });
                    }
                }
                Verdict::Informational => {
                    for &qi in qis {
                        let p = &packages[queries[qi].pkg];
                        warnings.push(Warning {
                            kind: "informational-advisory".into(),
                            package: Some(p.name.clone()),
                            message: format!(
                                "{} {}: {} ({})",
                                p.name,
                                p.version,
                                view.advisory,
                                view.affected.note.unwrap_or_default()
                            ),
                        });
                    }
                }
                Verdict::Affected { fix, status } => {
                    // Where the fix lies in the key's bytes: hits point
                    // into the rows rather than copying the string.
                    let fix = fix.map(|f| {
                        let at = f.as_ptr() as usize - base;
                        at..at + f.len()
                    });
                    for &qi in qis {
                        hits.push(Hit {
                            query: qi,
                            key: 0,
                            row: ri,
                            fix: fix.clone(),
                            status,
                        });
                    }
                }
            }
        }
    }
    drop(views);
    Ok(Some(KeyResult {
        raw,
        ranges,
        hits,
        covered,
        warnings,
    }))
}

/// What `a` says about `version` (see the module documentation).
fn evaluate<'a>(
    eco: Ecosystem,
    version: &str,
    module: Option<&str>,
    arch: Option<&str>,
    a: &AffectedRef<'a>,
    language: bool,
) -> Verdict<'a> {
    let status = match a.status {
        FixStatus::Fixed => Status::Fixed,
        FixStatus::Affected => Status::Affected,
        FixStatus::WillNotFix => Status::WillNotFix,
        FixStatus::FixDeferred => Status::FixDeferred,
        FixStatus::EndOfLife => Status::EndOfLife,
        FixStatus::NotAffected | FixStatus::UnderInvestigation => return Verdict::NotAffected,
    };
    if !language {
        if a.module != module {
            return Verdict::NotAffected;
        }
        if let Some(arch) = arch
            && !a.arches.is_empty()
            && arch != "noarch"
            && !a
                .arches
                .iter()
                .any(|&x| x == arch || x == "noarch" || x == "src")
        {
            return Verdict::NotAffected;
        }
    }
    let equal = |a: &str, b: &str| eco.compare(a, b).is_ok_and(|o| o == Ordering::Equal);
    let mut affected = a.versions.iter().any(|v| equal(version, v));
    let mut fix: Option<&'a str> = None;
    let mut events = Vec::new();
    for range in a.ranges.iter() {
        // The shapes nearly every vendor row has: "fixed in F" and "not
        // fixed". One comparison instead of the general evaluation (which
        // re-validates the version and walks every event).
        match range {
            [EventRef::Introduced("0"), EventRef::Fixed(f)] => {
                if eco.compare(version, f).is_ok_and(|o| o == Ordering::Less) {
                    affected = true;
                    if fix.is_none_or(|cur| eco.compare(f, cur).is_ok_and(|o| o == Ordering::Less))
                    {
                        fix = Some(f);
                    }
                }
                continue;
            }
            [EventRef::Introduced("0")] => {
                affected = true;
                continue;
            }
            _ => {}
        }
        events.clear();
        events.extend(range.iter().map(|e| e.as_range_event()));
        match is_affected(eco, version, &events) {
            Ok(true) => affected = true,
            Ok(false) => {}
            // The store validated every event; a version the comparator
            // refuses was reported when the query was planned.
            Err(_) => continue,
        }
        for e in range {
            if let EventRef::Fixed(f) = *e
                && eco
                    .compare(f, version)
                    .is_ok_and(|o| o == Ordering::Greater)
                && fix.is_none_or(|cur| eco.compare(f, cur).is_ok_and(|o| o == Ordering::Less))
            {
                fix = Some(f);
            }
        }
    }
    if !affected {
        if eco == Ecosystem::Rpm && status == Status::Fixed && has_fixed_build(a, version) {
            return Verdict::Covered;
        }
        return Verdict::NotAffected;
    }
    if a.note.is_some_and(|n| n.starts_with("informational")) {
        return Verdict::Informational;
    }
    let status = match (status, fix) {
        (_, Some(_)) => Status::Fixed,
        // Past the last fix but inside a later range: no fix for this one.
        (Status::Fixed, None) => Status::Affected,
        (s, None) => s,
    };
    Verdict::Affected { fix, status }
}

/// Whether `version` is one of the row's fixed builds, or a later build
/// of the same release stream as one of them.
fn has_fixed_build(a: &AffectedRef<'_>, version: &str) -> bool {
    let stream = release_stream(version);
    a.ranges.iter().flatten().any(|e| match *e {
        EventRef::Fixed(f) => {
            release_stream(f) == stream
                && Ecosystem::Rpm
                    .compare(version, f)
                    .is_ok_and(|o| o != Ordering::Less)
        }
        _ => false,
    })
}

/// The release stream an rpm build belongs to, from its release's
/// distribution tag: `el9_4` (a z-stream build for RHEL 9.4, and for an
/// EUS stream `el9_2` with its extra `.1` after it), `el8.5` (a module
/// build, `module+el8.5.0+…`), `el9` (a minor release's own build), or
/// none (SUSE, Amazon, Photon, ... carry no minor release).
///
/// Red Hat builds a fix once per stream it supports (the newest minor
/// release and each EUS/AUS/E4S one) and names the CVE in each stream's
/// erratum; AlmaLinux and Rocky rebuild those errata one for one. So a
/// build is fixed when it is at or above the fix *of its own stream*: a
/// later erratum for a later stream naming the CVE again (`…el9_1` after
/// `…el9_0`) does not make the earlier stream's fixed build vulnerable,
/// and a fix in an earlier stream does not cover a later stream's build
/// that the vendor fixed again.
pub(crate) fn release_stream(evr: &str) -> Option<&str> {
    let release = evr.rsplit_once('-').map_or(evr, |(_, r)| r);
    let bytes = release.as_bytes();
    let mut i = 0;
    while let Some(at) = release[i..].find("el") {
        let start = i + at;
        i = start + 2;
        let preceded = start == 0 || matches!(bytes[start - 1], b'.' | b'_' | b'+');
        let mut end = start + 2;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
        if !preceded || end == start + 2 {
            continue;
        }
        // `el9_4`, or `el8.5` of `el8.5.0`: the major and the minor.
        if end + 1 < bytes.len()
            && matches!(bytes[end], b'_' | b'.')
            && bytes[end + 1].is_ascii_digit()
        {
            end += 1;
            while end < bytes.len() && bytes[end].is_ascii_digit() {
                end += 1;
            }
        }
        return Some(&release[start..end]);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_kernels_map_to_the_kernel_source() {
        assert_eq!(
            signed_kernel_source("linux-signed-amd64", "debian").as_deref(),
            Some("linux")
        );
        assert_eq!(
            signed_kernel_source("linux-signed-aws", "ubuntu").as_deref(),
            Some("linux-aws")
        );
        assert_eq!(
            signed_kernel_source("linux-signed", "ubuntu").as_deref(),
            Some("linux")
        );
        assert_eq!(signed_kernel_source("linux", "debian"), None);
        assert_eq!(signed_kernel_source("linux-signedx", "debian"), None);
    }

    #[test]
    fn release_streams() {
        assert_eq!(release_stream("5.14.0-70.30.1.el9_0"), Some("el9_0"));
        assert_eq!(release_stream("1:16.18.1-3.el9_1"), Some("el9_1"));
        assert_eq!(release_stream("0.8.7-7.el9_0.1"), Some("el9_0"));
        assert_eq!(release_stream("1.18.2-14.el8"), Some("el8"));
        assert_eq!(
            release_stream("1:2.0.8-8.module_el8.5.0+2609+b30d9eec"),
            Some("el8.5")
        );
        assert_eq!(
            release_stream("3.6.8-1.module+el8.4.0+10000+abc"),
            Some("el8.4")
        );
        assert_eq!(release_stream("1.2.3-150400.3.5.1"), None);
        assert_eq!(release_stream("2.0-1.amzn2023.0.1"), None);
        // `el` inside a word is not a tag.
        assert_eq!(release_stream("1.0-1.devel"), None);
    }

    #[test]
    fn module_streams() {
        assert_eq!(
            module_stream("nodejs:18:8080020230606:63b34585").as_deref(),
            Some("nodejs:18")
        );
        assert_eq!(module_stream("nodejs"), None);
    }
}
