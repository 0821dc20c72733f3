//! SARIF 2.1.0: one rule per vulnerability, one result per finding, located
//! at the file the package was read from, with GitHub's
//! `security-severity` property so that code-scanning dashboards rank it.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::{Value, json};

use crate::error::{DetectError, Result};
use crate::finding::{Band, Report};

fn level(band: Band) -> &'static str {
    match band {
        Band::Critical | Band::High => "error",
        Band::Medium => "warning",
        Band::Low | Band::Informational | Band::Untriaged => "note",
    }
}

pub(super) fn write(report: &Report, out: &mut dyn Write) -> Result<()> {
    let mut rules: BTreeMap<&str, Value> = BTreeMap::new();
    let mut results = Vec::new();
    for f in &report.findings {
        let score = f.effective_score();
        rules.entry(&f.vulnerability_id).or_insert_with(|| {
            let mut props = json!({ "tags": ["security", "vulnerability"] });
            if let Some(s) = score {
                props["security-severity"] = json!(format!("{s:.1}"));
            }
            json!({
                "id": f.vulnerability_id,
                "shortDescription": { "text": f.title.clone().unwrap_or_else(|| f.vulnerability_id.clone()) },
                "fullDescription": { "text": f.description.clone().or_else(|| f.title.clone()).unwrap_or_else(|| f.vulnerability_id.clone()) },
                "helpUri": f.references.first().cloned().unwrap_or_else(|| format!("https://osv.dev/vulnerability/{}", f.vulnerability_id)),
                "help": { "text": f.remediation.clone().unwrap_or_default() },
                "properties": props,
            })
        });
        let fixed = f.fixed_version.as_deref().map_or_else(
            || format!("status: {}", f.status.as_str()),
            |v| format!("fixed in {v}"),
        );
        results.push(json!({
            "ruleId": f.vulnerability_id,
            "level": level(f.severity),
            "message": { "text": format!(
                "{} {} {} is vulnerable to {} ({}, {})",
                f.package.kind, f.package.name, f.package.installed_version,
                f.vulnerability_id, f.severity.as_str(), fixed
            ) },
            "locations": [{
                "physicalLocation": { "artifactLocation": { "uri": f.package.path } },
                "logicalLocations": [{ "name": f.package.name, "kind": "package",
                    "fullyQualifiedName": f.package.purl }],
            }],
            "partialFingerprints": {
                "kensaFinding/v1": format!("{}|{}|{}|{}", f.vulnerability_id, f.package.name,
                    f.package.arch.as_deref().unwrap_or_default(), f.package.path),
            },
        }));
    }
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "kensa",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/kensa-scanner/kensa",
                "rules": rules.into_values().collect::<Vec<_>>(),
            } },
            "results": results,
        }],
    });
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(|e| DetectError::Report {
        format: "sarif",
        message: e.to_string(),
    })?;
    writeln!(out).map_err(|e| DetectError::Report {
        format: "sarif",
        message: e.to_string(),
    })
}
