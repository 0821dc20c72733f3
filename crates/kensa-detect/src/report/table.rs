//! The table for people: findings grouped by installed package, the most
//! urgent package first, each group headed by the command that fixes it.

use std::collections::BTreeMap;
use std::io::{self, Write};

use kensa_version::Ecosystem;

use crate::finding::{Band, Finding, Report};

fn paint(band: Band, color: bool) -> String {
    let text = format!("{:<13}", band.as_str());
    if !color {
        return text;
    }
    let code = match band {
        Band::Critical => "1;31",
        Band::High => "31",
        Band::Medium => "33",
        Band::Low => "36",
        Band::Informational | Band::Untriaged => "2",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

fn truncate(s: &str, max: usize) -> String {
    let line = s.lines().next().unwrap_or_default();
    if line.chars().count() <= max {
        line.to_owned()
    } else {
        let cut: String = line.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

fn ecosystem(kind: &str) -> Option<Ecosystem> {
    Some(match kind {
        "deb" => Ecosystem::Dpkg,
        "rpm" => Ecosystem::Rpm,
        "apk" => Ecosystem::Apk,
        "python" => Ecosystem::Pypi,
        "npm" => Ecosystem::Npm,
        "go" => Ecosystem::Go,
        "cargo" => Ecosystem::Cargo,
        "maven" => Ecosystem::Maven,
        "gem" => Ecosystem::RubyGems,
        _ => return None,
    })
}

pub(super) fn write(report: &Report, out: &mut dyn Write, color: bool) -> io::Result<()> {
    let t = &report.target;
    let os = match (&t.os, &t.os_release) {
        (Some(id), Some(r)) => format!(" ({id} {r})"),
        _ => String::new(),
    };
    writeln!(
        out,
        "{} {}{os}: {} packages, knowledge base built {}",
        t.kind, t.path, t.packages, report.knowledge.built_at
    )?;
    let s = &report.summary;
    writeln!(
        out,
        "{} findings: {} critical, {} high, {} medium, {} low, {} informational, {} untriaged; {} fixable, {} known exploited",
        s.findings,
        s.critical,
        s.high,
        s.medium,
        s.low,
        s.informational,
        s.untriaged,
        s.fixable,
        s.kev
    )?;

    // Groups in the order of their most urgent finding (findings are
    // already ranked).
    let mut order: Vec<(String, String, String)> = Vec::new();
    let mut groups: BTreeMap<(String, String, String), Vec<&Finding>> = BTreeMap::new();
    for f in &report.findings {
        let key = (
            f.package.name.clone(),
            f.package.installed_version.clone(),
            f.package.path.clone(),
        );
        let g = groups.entry(key.clone()).or_default();
        if g.is_empty() {
            order.push(key);
        }
        g.push(f);
    }
    for key in order {
        let Some(fs) = groups.get(&key) else { continue };
        let first = fs[0];
        let p = &first.package;
        let source = match &p.source_name {
            Some(s) if *s != p.name => format!(", source {s}"),
            _ => String::new(),
        };
        writeln!(out)?;
        writeln!(
            out,
            "{} {} ({}{source}) {}",
            p.name, p.installed_version, p.kind, p.path
        )?;
        // The highest fix over the group's findings fixes all of them; its
        // command is the one that names it.
        let eco = ecosystem(&p.kind);
        let highest = fs
            .iter()
            .filter(|f| f.fixed_version.is_some())
            .max_by(|a, b| match (eco, &a.fixed_version, &b.fixed_version) {
                (Some(e), Some(x), Some(y)) => e.compare(x, y).unwrap_or(std::cmp::Ordering::Equal),
                _ => std::cmp::Ordering::Equal,
            });
        if let Some(fix) = highest.and_then(|f| f.remediation.as_deref()) {
            writeln!(out, "  fix: {fix}")?;
        }
        for f in fs {
            let score = f
                .score
                .as_ref()
                .map(|s| format!("{:>4.1}", s.adjusted))
                .or_else(|| f.effective_score().map(|s| format!("{s:>4.1}")))
                .unwrap_or_else(|| "   -".into());
            let fixed = match &f.fixed_version {
                Some(v) => format!("fixed {v}"),
                None => f.status.as_str().replace('_', " "),
            };
            let mut marks = String::new();
            if f.kev.is_some() {
                marks.push_str(" KEV");
            }
            if let Some(e) = &f.epss {
                marks.push_str(&format!(" EPSS {:.2}", e.score));
            }
            writeln!(
                out,
                "  {} {score}  {:<20} {:<28}{marks}  {}",
                paint(f.severity, color),
                f.vulnerability_id,
                fixed,
                truncate(f.title.as_deref().unwrap_or_default(), 60)
            )?;
        }
    }
    if !report.warnings.is_empty() {
        writeln!(out)?;
        writeln!(out, "warnings:")?;
        for w in &report.warnings {
            writeln!(out, "  [{}] {}", w.kind, w.message)?;
        }
    }
    Ok(())
}
