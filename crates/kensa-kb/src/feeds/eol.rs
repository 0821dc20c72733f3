//! endoflife.date product pages (`products/<product>.md`) into
//! [`EolRelease`] records, one per product and release cycle.
//!
//! Each page starts with YAML front matter between `---` lines; its
//! `releases` list gives, per cycle, `releaseCycle`, `codename`,
//! `releaseDate`, `eol` (a date, or `true`/`false`), `eoes` or
//! `extendedSupport` (end of extended support: a date or a boolean), `lts`
//! and `latest`. Mapping:
//! - `eol: <date>` → `eol = Some(date)`; `eol: true` → `eol_reached`, no
//!   date; `eol: false` or absent → neither.
//! - `extended_support` is `eoes` when it is a date, else `extendedSupport`
//!   when it is a date. `lts` says whether (or since when) a cycle is LTS,
//!   not when its support ends, so it is not used.
//! - [`EolRelease::lts`] is `eoes` too when the page's `eoesColumn` names
//!   the vendor's long-term support (`Debian LTS`, Ubuntu's `Expanded
//!   Security Maintenance`), so that a console can tell LTS/ESM from paid
//!   extended support (RHEL's `Extended Life Cycle Support`).
//! - Numbers the YAML left unquoted (`latest: 1.2`) keep their written form.
//!
//! A page whose front matter is not valid YAML is an error of that file; a
//! release without a usable `releaseCycle` or with an `eol` that is neither
//! a date nor a boolean is an error of that release; the rest go on.
//!
//! The repository as GitHub serves it, a zip of the branch
//! (`endoflife.date-master/products/<product>.md`), is read too: a path
//! ending in `.zip` is walked entry by entry (see
//! `rustsec::source_archive`) for its `products/*.md`, with the
//! same records and errors as the folder; errors name the entry
//! (`endoflife.date.zip!/endoflife.date-master/products/<product>.md`).

use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

use crate::model::{EolRelease, FeedReport, Record, Sink};
use crate::{KbError, Result};

/// Imports one product page, or every `*.md` page of a `products/` folder.
pub fn import(path: impl AsRef<Path>, sink: &mut dyn Sink) -> Result<FeedReport> {
    let path = path.as_ref();
    if super::rustsec::is_zip(path) {
        return import_zip(path, sink);
    }
    let io = |p: &Path, e| KbError::Io {
        path: p.display().to_string(),
        source: e,
    };
    let files: Vec<PathBuf> = if path.is_dir() {
        let mut v = Vec::new();
        for entry in std::fs::read_dir(path).map_err(|e| io(path, e))? {
            let p = entry.map_err(|e| io(path, e))?.path();
            if p.extension().is_some_and(|e| e == "md") && p.is_file() {
                v.push(p);
            }
        }
        v.sort();
        v
    } else {
        vec![path.to_path_buf()]
    };
    let mut report = FeedReport::default();
    for file in files {
        let name = file.display().to_string();
        let text = match std::fs::read(&file) {
            Ok(b) => b,
            Err(e) if path.is_dir() => {
                report.error(&name, None, e.to_string());
                continue;
            }
            Err(e) => return Err(io(&file, e)),
        };
        let Ok(text) = String::from_utf8(text) else {
            report.error(&name, None, "not UTF-8");
            continue;
        };
        let product = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        import_page(&name, &product, &text, sink, &mut report);
    }
    Ok(report)
}

fn import_zip(path: &Path, sink: &mut dyn Sink) -> Result<FeedReport> {
    let mut report = FeedReport::default();
    let mut found = false;
    super::rustsec::source_archive(
        path,
        &["products"],
        &mut report,
        &mut |name, rel, read, report| {
            let Some(page) = rel.strip_prefix("products/").filter(|p| !p.contains('/')) else {
                return;
            };
            let Some(product) = page.strip_suffix(".md") else {
                return;
            };
            found = true;
            match read().map(String::from_utf8) {
                Ok(Ok(text)) => import_page(name, product, &text, sink, report),
                Ok(Err(_)) => report.error(name, None, "not UTF-8"),
                Err(e) => report.error(name, None, e),
            }
        },
    )?;
    if !found && report.errors.is_empty() {
        return Err(KbError::Format {
            path: path.display().to_string(),
            message: "no products/*.md in the archive: not an endoflife.date repository".to_owned(),
        });
    }
    Ok(report)
}

/// The YAML between the first line `---` and the next `---` line.
fn front_matter(text: &str) -> Option<&str> {
    let rest = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))?;
    let mut pos = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            return Some(&rest[..pos]);
        }
        pos += line.len();
    }
    None
}

/// A scalar as written: strings, and numbers in their source form.
fn scalar(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        _ => None,
    }
}

fn is_date(d: &str) -> bool {
    let b = d.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

/// A date field: `Some(date)` for a date, `None` for a boolean or absent.
fn date_field(y: &Yaml) -> Option<String> {
    scalar(y).filter(|s| is_date(s))
}

fn import_page(
    name: &str,
    product: &str,
    text: &str,
    sink: &mut dyn Sink,
    report: &mut FeedReport,
) {
    let Some(fm) = front_matter(text) else {
        report.error(name, None, "no YAML front matter");
        return;
    };
    let docs = match YamlLoader::load_from_str(fm) {
        Ok(d) => d,
        Err(e) => {
            report.error(name, None, format!("front matter: {e}"));
            return;
        }
    };
    let Some(doc) = docs.first() else {
        report.error(name, None, "empty front matter");
        return;
    };
    let releases = match &doc["releases"] {
        Yaml::Array(a) => a,
        Yaml::BadValue => {
            report.skip("page without releases");
            return;
        }
        _ => {
            report.error(name, None, "`releases` is not a list");
            return;
        }
    };
    // The `eoes` column's heading says what kind of support it is: the
    // vendor's long-term support (Debian "LTS", Ubuntu "Expanded Security
    // Maintenance") or paid extended support (RHEL "Extended Life Cycle
    // Support").
    let eoes_is_lts = doc["eoesColumn"]
        .as_str()
        .is_some_and(|c| c.contains("LTS") || c.contains("Security Maintenance"));
    for (i, r) in releases.iter().enumerate() {
        let Some(cycle) = scalar(&r["releaseCycle"]).filter(|c| !c.is_empty()) else {
            report.error(
                name,
                Some(format!("{product} releases[{i}]")),
                "no `releaseCycle`",
            );
            continue;
        };
        let label = || Some(format!("{product} {cycle}"));
        let (eol, eol_reached) = match &r["eol"] {
            Yaml::Boolean(b) => (None, *b),
            Yaml::BadValue | Yaml::Null => (None, false),
            y => match date_field(y) {
                Some(d) => (Some(d), false),
                None => {
                    report.error(
                        name,
                        label(),
                        format!("`eol` is neither a date nor a boolean: {y:?}"),
                    );
                    continue;
                }
            },
        };
        let extended_support = date_field(&r["eoes"]).or_else(|| date_field(&r["extendedSupport"]));
        sink.record(Record::Eol(EolRelease {
            product: product.to_owned(),
            cycle: cycle.clone(),
            codename: scalar(&r["codename"]),
            release_date: scalar(&r["releaseDate"]),
            eol,
            eol_reached,
            lts: date_field(&r["eoes"]).filter(|_| eoes_is_lts),
            extended_support,
            latest: scalar(&r["latest"]),
        }));
        report.records += 1;
    }
}
