//! End of life: an OS release, or a runtime Kensa can date, past its
//! vendor's support end is a finding of its own; and every finding on an
//! OS past its end says that the vendor no longer publishes fixes.
//!
//! Dates come from endoflife.date (`eol:<product>` records). Support ends
//! at `eol`; when the product has extended support (`eoes`: Debian LTS,
//! Ubuntu ESM, RHEL ELS) still running, the finding is MEDIUM and says
//! until when, otherwise HIGH. Runtimes packaged by the distribution are
//! supported by the distribution as long as the release is (Debian
//! backports fixes to its Python 3.11), so only runtimes Kensa sees
//! outside the OS packages are dated: the Go standard library compiled into
//! binaries, and Django.

use kensa_inventory::model::{Inventory, Package, PackageKind};
use kensa_kb::base::KnowledgeBase;
use kensa_kb::model::{EolRelease, Record};

use crate::distro::Distro;
use crate::error::Result;
use crate::finding::*;
pub use kensa_model::OsEol;

pub(crate) struct EolResult {
    pub findings: Vec<Finding>,
    /// The note added to every OS package finding when the OS is past its
    /// end of life.
    pub os_note: Option<String>,
}

fn releases(store: &KnowledgeBase, product: &str) -> Result<Vec<EolRelease>> {
    Ok(store
        .get(&format!("eol:{product}"))?
        .into_iter()
        .filter_map(|r| match r {
            Record::Eol(e) if e.product == product => Some(e),
            _ => None,
        })
        .collect())
}

/// `ended` when the cycle's support end is before `today`.
fn ended(r: &EolRelease, today: &str) -> bool {
    r.eol_reached || r.eol.as_deref().is_some_and(|d| d < today)
}

/// The newest cycle released by `today` and still supported on it.
fn newest_supported<'a>(all: &'a [EolRelease], today: &str) -> Option<&'a EolRelease> {
    all.iter()
        .filter(|x| !ended(x, today) && x.release_date.as_deref().is_some_and(|d| d <= today))
        .max_by(|a, b| a.release_date.cmp(&b.release_date))
}

fn package_runtime(p: &Package) -> Option<(&'static str, &'static str, usize)> {
    match (p.kind?, p.name.as_str()) {
        (PackageKind::Go, "stdlib") => Some(("go", "Go", 2)),
        (PackageKind::Python, n) if n.eq_ignore_ascii_case("django") => {
            Some(("django", "Django", 2))
        }
        _ => None,
    }
}

/// The first `parts` dot-separated numbers of a version (`v1.20.6` → `1.20`).
fn cycle_of(version: &str, parts: usize) -> String {
    version
        .trim_start_matches('v')
        .split(['.', '-', '+'])
        .take(parts)
        .collect::<Vec<_>>()
        .join(".")
}

/// The support dates of `os` per the knowledge base's endoflife.date
/// records; `None` when Kensa does not know the distribution or the base
/// has no record of the cycle.
pub fn os_eol(
    os: &kensa_inventory::model::Os,
    store: &KnowledgeBase,
    today: &str,
) -> Result<Option<OsEol>> {
    let Some((product, cycle)) = Distro::of(os).and_then(|d| d.eol_product()) else {
        return Ok(None);
    };
    let all = releases(store, product)?;
    let Some(r) = all.into_iter().find(|r| r.cycle == cycle) else {
        return Ok(None);
    };
    let status = if !ended(&r, today) {
        "supported"
    } else if r.extended_support.as_deref().is_some_and(|d| d >= today) {
        "extended"
    } else {
        "ended"
    };
    let extended = r
        .extended_support
        .clone()
        .filter(|e| r.lts.as_ref() != Some(e));
    Ok(Some(OsEol {
        product: product.to_owned(),
        cycle,
        eol_reached: ended(&r, today),
        eol: r.eol,
        extended_support: r.extended_support,
        lts: r.lts,
        extended,
        status: status.to_owned(),
    }))
}

pub(crate) fn check(
    inventory: &Inventory,
    distro: Option<&Distro>,
    store: &KnowledgeBase,
    today: &str,
) -> Result<EolResult> {
    let mut out = EolResult {
        findings: Vec::new(),
        os_note: None,
    };
    if let (Some(d), Some(os)) = (distro, &inventory.os)
        && let Some((product, cycle)) = d.eol_product()
    {
        let all = releases(store, product)?;
        if let Some(r) = all.iter().find(|r| r.cycle == cycle)
            && ended(r, today)
        {
            let name = os
                .pretty_name
                .clone()
                .unwrap_or_else(|| format!("{} {}", os.id, os.release));
            let extended = r.extended_support.as_deref().filter(|d| *d >= today);
            let since = r.eol.as_deref().unwrap_or("an unannounced date");
            let newest = newest_supported(&all, today);
            let description = match extended {
                Some(until) => format!(
                    "{name} reached the end of its regular security support on {since}. Extended support runs until {until}; without it, the vendor publishes no more fixes."
                ),
                None => format!(
                    "{name} reached its end of life on {since}: the vendor publishes no more security fixes for it."
                ),
            };
            out.os_note = Some(match extended {
                Some(until) => format!(
                    "{name} is past its regular support end ({since}); fixes come only through extended support (until {until})"
                ),
                None => format!(
                    "{name} is past its end of life ({since}): the vendor no longer publishes fixes"
                ),
            });
            out.findings.push(Finding {
                vulnerability_id: format!("EOL-{product}-{cycle}"),
                aliases: Vec::new(),
                advisories: Vec::new(),
                title: Some(format!("{name} is past its end of life")),
                description: Some(description),
                published: r.eol.clone(),
                package: PackageRef {
                    name: os.id.clone(),
                    kind: "os".into(),
                    version: os.version.clone().unwrap_or_else(|| os.release.clone()),
                    installed_version: os.version.clone().unwrap_or_else(|| os.release.clone()),
                    path: os.source_file.clone(),
                    ..PackageRef::default()
                },
                // No package version fixes an end of life: the remediation
                // names the release to move to.
                fixed_version: None,
                status: Status::EndOfLife,
                detection: Detection {
                    method: "end-of-life".into(),
                    namespace: format!("eol:{product}"),
                    confidence: "high".into(),
                    notes: Vec::new(),
                },
                severity: if extended.is_some() {
                    Band::Medium
                } else {
                    Band::High
                },
                vendor_severity: None,
                cvss: Vec::new(),
                score: None,
                epss: None,
                kev: None,
                references: vec![format!("https://endoflife.date/{product}")],
                remediation: Some(match newest {
                    Some(n) => format!(
                        "upgrade to {} {} (supported until {})",
                        os.id,
                        n.cycle,
                        n.eol.as_deref().unwrap_or("a date not yet announced")
                    ),
                    None => "upgrade to a supported release".to_owned(),
                }),
            });
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for p in &inventory.packages {
        let Some((product, label, parts)) = package_runtime(p) else {
            continue;
        };
        let cycle = cycle_of(&p.version, parts);
        if !seen.insert((product, cycle.clone(), p.path.clone())) {
            continue;
        }
        let all = releases(store, product)?;
        let Some(r) = all.iter().find(|r| r.cycle == cycle) else {
            continue;
        };
        if !ended(r, today) {
            continue;
        }
        let since = r.eol.as_deref().unwrap_or("an unannounced date");
        let newest = newest_supported(&all, today);
        out.findings.push(Finding {
            vulnerability_id: format!("EOL-{product}-{cycle}"),
            aliases: Vec::new(),
            advisories: Vec::new(),
            title: Some(format!("{label} {cycle} is past its end of life")),
            description: Some(format!(
                "{label} {cycle} ({} in {}) reached its end of life on {since}: no more security fixes are published for it.",
                p.version, p.path
            )),
            published: r.eol.clone(),
            package: PackageRef {
                name: p.name.clone(),
                kind: p
                    .kind
                    .and_then(|k| serde_json::to_value(k).ok())
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                version: p.version.clone(),
                installed_version: p.version.clone(),
                purl: p.purl.clone(),
                path: p.path.clone(),
                layer: p.layer.clone(),
                ..PackageRef::default()
            },
            // No package version fixes an end of life: the remediation
                // names the release to move to.
                fixed_version: None,
            status: Status::EndOfLife,
            detection: Detection {
                method: "end-of-life".into(),
                namespace: format!("eol:{product}"),
                confidence: "high".into(),
                notes: Vec::new(),
            },
            severity: Band::Medium,
            vendor_severity: None,
            cvss: Vec::new(),
            score: None,
            epss: None,
            kev: None,
            references: vec![format!("https://endoflife.date/{product}")],
            remediation: Some(match newest {
                Some(n) => format!("move to {label} {} or later", n.cycle),
                None => format!("move to a supported {label} release"),
            }),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles() {
        assert_eq!(cycle_of("v1.20.6", 2), "1.20");
        assert_eq!(cycle_of("3.2.19", 2), "3.2");
    }
}
