//! Rendering a [`Report`]: JSON (the documented schema), a table for
//! people, CSV for spreadsheets, SARIF for code-scanning dashboards and
//! CycloneDX (an SBOM with its vulnerabilities) for supply-chain tools.

mod cyclonedx;
pub mod inspector;
mod sarif;
mod table;

use std::io::Write;

use crate::error::{DetectError, Result};
use crate::finding::{Finding, Report};

/// An output format of `kensa scan`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Csv,
    Sarif,
    CycloneDx,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "table" => Ok(Format::Table),
            "json" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            "sarif" => Ok(Format::Sarif),
            "cyclonedx" => Ok(Format::CycloneDx),
            _ => Err(format!(
                "unknown format {s:?}: expected table, json, csv, sarif or cyclonedx"
            )),
        }
    }
}

fn err(format: &'static str) -> impl Fn(std::io::Error) -> DetectError {
    move |e| DetectError::Report {
        format,
        message: e.to_string(),
    }
}

/// Write `report` in `format`. `color` only affects the table.
pub fn write(report: &Report, format: Format, out: &mut dyn Write, color: bool) -> Result<()> {
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, report).map_err(|e| DetectError::Report {
                format: "json",
                message: e.to_string(),
            })?;
            writeln!(out).map_err(err("json"))
        }
        Format::Table => table::write(report, out, color).map_err(err("table")),
        Format::Csv => write_csv(&report.findings, out),
        Format::Sarif => sarif::write(report, out),
        Format::CycloneDx => cyclonedx::write(report, out),
    }
}

/// The CSV columns of `kensa scan --format csv`: one finding per row.
pub const CSV_COLUMNS: [&str; 18] = [
    "vulnerability_id",
    "severity",
    "score",
    "base_score",
    "status",
    "package",
    "kind",
    "installed_version",
    "fixed_version",
    "source_package",
    "path",
    "epss",
    "kev",
    "vendor_severity",
    "method",
    "aliases",
    "title",
    "remediation",
];

fn write_csv(findings: &[Finding], out: &mut dyn Write) -> Result<()> {
    let to_err = |e: csv::Error| DetectError::Report {
        format: "csv",
        message: e.to_string(),
    };
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CSV_COLUMNS).map_err(to_err)?;
    for f in findings {
        let score = f.score.as_ref();
        w.write_record([
            f.vulnerability_id.as_str(),
            f.severity.as_str(),
            &score
                .map(|s| format!("{:.1}", s.adjusted))
                .unwrap_or_default(),
            &score.map(|s| format!("{:.1}", s.base)).unwrap_or_default(),
            f.status.as_str(),
            &f.package.name,
            &f.package.kind,
            &f.package.installed_version,
            f.fixed_version.as_deref().unwrap_or_default(),
            f.package.source_name.as_deref().unwrap_or_default(),
            &f.package.path,
            &f.epss
                .as_ref()
                .map(|e| format!("{:.5}", e.score))
                .unwrap_or_default(),
            if f.kev.is_some() { "yes" } else { "no" },
            &f.vendor_severity
                .as_ref()
                .map(|v| format!("{}:{}", v.source, v.value))
                .unwrap_or_default(),
            &f.detection.method,
            &f.aliases.join(" "),
            f.title.as_deref().unwrap_or_default(),
            f.remediation.as_deref().unwrap_or_default(),
        ])
        .map_err(to_err)?;
    }
    w.flush().map_err(err("csv"))
}
