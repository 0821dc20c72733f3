//! CycloneDX 1.5 JSON: the scanned packages as components and the findings
//! as vulnerabilities, each rating naming its method (`CVSSv31`, ...) and
//! source, each `affects` pointing at the component by its purl.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::{Value, json};

use crate::error::{DetectError, Result};
use crate::finding::{Band, Report};

fn method(version: &str) -> &'static str {
    match version {
        "2.0" => "CVSSv2",
        "3.0" => "CVSSv3",
        "3.1" => "CVSSv31",
        "4.0" => "CVSSv4",
        _ => "other",
    }
}

fn severity(band: Band) -> &'static str {
    match band {
        Band::Critical => "critical",
        Band::High => "high",
        Band::Medium => "medium",
        Band::Low => "low",
        Band::Informational => "info",
        Band::Untriaged => "unknown",
    }
}

pub(super) fn write(report: &Report, out: &mut dyn Write) -> Result<()> {
    // Components: every scanned package, one per purl.
    let mut components: BTreeMap<String, Value> = BTreeMap::new();
    for p in &report.packages {
        let r = if p.purl.is_empty() {
            format!("{}@{}", p.name, p.version)
        } else {
            p.purl.clone()
        };
        components.entry(r.clone()).or_insert_with(|| {
            let mut c =
                json!({ "type": "library", "bom-ref": r, "name": p.name, "version": p.version });
            if !p.purl.is_empty() {
                c["purl"] = json!(p.purl);
            }
            c
        });
    }
    let mut vulns: BTreeMap<String, Value> = BTreeMap::new();
    for f in &report.findings {
        let r = if f.package.purl.is_empty() {
            format!("{}@{}", f.package.name, f.package.version)
        } else {
            f.package.purl.clone()
        };
        components.entry(r.clone()).or_insert_with(|| {
            json!({
                "type": if f.package.kind == "os" { "operating-system" } else { "library" },
                "bom-ref": r, "name": f.package.name, "version": f.package.version,
            })
        });
        let v = vulns.entry(f.vulnerability_id.clone()).or_insert_with(|| {
            let mut ratings: Vec<Value> = f.cvss.iter().map(|c| json!({
                "source": { "name": c.source },
                "score": c.base_score,
                "severity": severity(Band::from_score(c.base_score)),
                "method": method(&c.version),
                "vector": c.vector,
            })).collect();
            if let Some(s) = &f.score {
                ratings.push(json!({
                    "source": { "name": "kensa (exposure-adjusted)" },
                    "score": s.adjusted,
                    "severity": severity(f.severity),
                    "method": "CVSSv31",
                    "vector": s.vector,
                    "justification": s.adjustments.iter().map(|a| format!("{}:{} {}", a.metric, a.value, a.reason)).collect::<Vec<_>>().join("; "),
                }));
            } else if let Some(vs) = &f.vendor_severity {
                ratings.push(json!({ "source": { "name": vs.source }, "severity": severity(f.severity), "method": "other" }));
            }
            let mut v = json!({
                "bom-ref": f.vulnerability_id,
                "id": f.vulnerability_id,
                "source": { "name": f.advisories.first().map_or("kensa", |a| a.feed.as_str()) },
                "ratings": ratings,
                "advisories": f.references.iter().map(|u| json!({ "url": u })).collect::<Vec<_>>(),
                "affects": [],
                "properties": [],
            });
            if let Some(d) = f.description.as_ref().or(f.title.as_ref()) {
                v["description"] = json!(d);
            }
            if let Some(p) = f.published.as_deref().and_then(date_time) {
                v["published"] = json!(p);
            }
            if let Some(r) = &f.remediation {
                v["recommendation"] = json!(r);
            }
            if !f.aliases.is_empty() {
                v["references"] = json!(f.aliases.iter().map(|a| json!({ "id": a, "source": { "name": "alias" } })).collect::<Vec<_>>());
            }
            let mut props = Vec::new();
            if let Some(k) = &f.kev {
                props.push(json!({ "name": "kensa:kev:date_added", "value": k.date_added }));
            }
            if let Some(e) = &f.epss {
                props.push(json!({ "name": "kensa:epss", "value": format!("{:.5}", e.score) }));
            }
            v["properties"] = json!(props);
            v
        });
        if let Some(a) = v["affects"].as_array_mut()
            && !a.iter().any(|x| x["ref"] == json!(r))
        {
            a.push(json!({ "ref": r, "versions": [{ "version": f.package.installed_version, "status": "affected" }] }));
        }
    }
    let subject = match (&report.target.os, &report.target.os_release) {
        (Some(id), Some(rel)) => format!("{id} {rel}"),
        _ => report.target.path.clone(),
    };
    let doc = json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {
            "timestamp": report.scanned_at,
            "tools": { "components": [{ "type": "application", "name": "kensa", "version": env!("CARGO_PKG_VERSION") }] },
            "component": {
                "type": if report.target.kind == "image" { "container" } else { "operating-system" },
                "bom-ref": "target",
                "name": report.target.path,
                "description": subject,
            },
        },
        "components": components.into_values().collect::<Vec<_>>(),
        "vulnerabilities": vulns.into_values().collect::<Vec<_>>(),
    });
    let e = |m: String| DetectError::Report {
        format: "cyclonedx",
        message: m,
    };
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(|x| e(x.to_string()))?;
    writeln!(out).map_err(|x| e(x.to_string()))
}

/// `published` as the RFC 3339 date-time CycloneDX requires: feeds write a
/// bare date (end-of-life dates, many advisories) or a time without a zone
/// (NVD, which means UTC). `None` for anything else, which is left out
/// rather than written invalid.
fn date_time(p: &str) -> Option<String> {
    let b = p.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    let is_date = b.len() >= 10
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10);
    if !is_date {
        return None;
    }
    if b.len() == 10 {
        return Some(format!("{p}T00:00:00Z"));
    }
    let is_time = b.len() >= 19
        && matches!(b[10], b'T' | b't' | b' ')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    if !is_time {
        return None;
    }
    let mut rest = &p[19..];
    let mut out = format!("{}T{}", &p[..10], &p[11..19]);
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        out.push('.');
        out.push_str(&frac[..n]);
        rest = &frac[n..];
    }
    match rest {
        "" | "Z" | "z" => out.push('Z'),
        zone if zone.len() == 6
            && matches!(zone.as_bytes()[0], b'+' | b'-')
            && zone.as_bytes()[3] == b':'
            && zone[1..3]
                .bytes()
                .chain(zone[4..6].bytes())
                .all(|c| c.is_ascii_digit()) =>
        {
            out.push_str(zone)
        }
        _ => return None,
    }
    Some(out)
}

#[cfg(test)]
mod date_time_tests {
    use super::date_time;

    #[test]
    fn published_becomes_an_rfc3339_date_time() {
        assert_eq!(
            date_time("2023-06-10").as_deref(),
            Some("2023-06-10T00:00:00Z")
        );
        assert_eq!(
            date_time("2024-01-01T00:00:00").as_deref(),
            Some("2024-01-01T00:00:00Z")
        );
        assert_eq!(
            date_time("2024-01-01T10:20:30.123").as_deref(),
            Some("2024-01-01T10:20:30.123Z")
        );
        assert_eq!(
            date_time("2024-01-01T10:20:30+09:00").as_deref(),
            Some("2024-01-01T10:20:30+09:00")
        );
        assert_eq!(
            date_time("2024-01-01T10:20:30Z").as_deref(),
            Some("2024-01-01T10:20:30Z")
        );
        assert_eq!(date_time("June 2023"), None);
        assert_eq!(date_time("2024-01-01T10:20"), None);
        assert_eq!(date_time("2024-01-01T10:20:30+0900"), None);
    }
}
