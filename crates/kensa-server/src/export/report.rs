//! What an export job writes: the findings a filter selects (CSV or
//! JSON), or the asset register (CSV or XLSX, headers in English or
//! Japanese), which scheduled register reports send to a path or S3.

#[allow(unused_imports)]
use super::*;

use crate::asset_list::{RegisterFormat, write_register};
use crate::console::Lang;
use kensa_store::AssetSort;

/// A job's report, read from its payload (`source`: `findings`, the
/// default, or `assets`).
pub enum Report {
    Findings {
        filter: Filter,
        sort: Sort,
        format: Format,
    },
    Assets {
        filter: Filter,
        sort: AssetSort,
        format: RegisterFormat,
        lang: Lang,
    },
}

impl Report {
    pub fn of(p: &Value) -> Result<Report> {
        let bad = |what: String| ServerError::Internal(format!("export payload: {what}"));
        let filter = Filter::parse(p["filter"].as_str().unwrap_or(""))?;
        match p["source"].as_str().unwrap_or("findings") {
            "findings" => Ok(Report::Findings {
                filter,
                sort: p["sort"].as_str().unwrap_or("severity:desc").parse()?,
                format: serde_json::from_value(p["format"].clone())
                    .map_err(|e| bad(format!("format: {e}")))?,
            }),
            "assets" => Ok(Report::Assets {
                filter,
                sort: match p["sort"].as_str().filter(|s| !s.is_empty()) {
                    Some(s) => s.parse()?,
                    None => AssetSort::default(),
                },
                format: RegisterFormat::parse(p["format"].as_str().unwrap_or("csv"))
                    .map_err(|e| bad(e.message().to_owned()))?,
                lang: Lang::parse(p["lang"].as_str().unwrap_or("en")).unwrap_or(Lang::En),
            }),
            other => Err(bad(format!("source {other:?}: findings or assets"))),
        }
    }

    pub fn ext(&self) -> &'static str {
        match self {
            Report::Findings { format, .. } => format.ext(),
            Report::Assets { format, .. } => format.ext(),
        }
    }

    pub fn content_type(&self) -> &'static str {
        match self {
            Report::Findings { format, .. } => format.content_type(),
            Report::Assets { format, .. } => format.content_type(),
        }
    }

    /// Writes the report to `out`, calling `tick` every 10,000 findings.
    pub fn write(
        &self,
        db: &Db,
        out: impl Write,
        tick: impl FnMut(u64) -> Result<()>,
    ) -> Result<Written> {
        match self {
            Report::Findings {
                filter,
                sort,
                format,
            } => write_export(db, filter, *sort, *format, out, tick),
            Report::Assets {
                filter,
                sort,
                format,
                lang,
            } => {
                let mut counted = Counting::new(out);
                let rows = write_register(db, filter, *sort, *format, *lang, &mut counted)?;
                Ok(Written {
                    rows,
                    bytes: counted.bytes,
                })
            }
        }
    }
}
