//! A closed review's report rendered for people: a printable HTML page
//! (one section per team, SVG charts, past dates highlighted), CSV and
//! XLSX with one row per asset, in English or Japanese. Every rendering
//! reads the frozen, digest-checked JSON document, never the live tables,
//! so they all show what was signed.

use kensa_store::VerifiedReport;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::Value;

use crate::console::{Lang, svg};
use crate::kit::{ApiError, ApiResult};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    Json,
    Csv,
    Xlsx,
    Html,
}

impl ReportFormat {
    pub(crate) fn parse(s: &str) -> ApiResult<ReportFormat> {
        match s {
            "json" => Ok(ReportFormat::Json),
            "csv" => Ok(ReportFormat::Csv),
            "xlsx" => Ok(ReportFormat::Xlsx),
            "html" => Ok(ReportFormat::Html),
            _ => Err(ApiError::bad(format!(
                "format {s:?}: expected json, csv, xlsx or html"
            ))),
        }
    }
    pub(crate) fn ext(self) -> &'static str {
        match self {
            ReportFormat::Json => "json",
            ReportFormat::Csv => "csv",
            ReportFormat::Xlsx => "xlsx",
            ReportFormat::Html => "html",
        }
    }
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            ReportFormat::Json => "application/json",
            ReportFormat::Csv => "text/csv; charset=utf-8",
            ReportFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
            ReportFormat::Html => "text/html; charset=utf-8",
        }
    }
}

/// One column of the per-asset table: its message key and its cell.
type Column = (&'static str, fn(&Value, Lang) -> String);

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(text).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

fn yes_no(v: &Value, lang: Lang) -> String {
    match v.as_bool() {
        Some(true) => lang.t("rv.yes").to_owned(),
        Some(false) => lang.t("rv.no").to_owned(),
        None => String::new(),
    }
}

fn state_word(s: &str, lang: Lang) -> String {
    lang.t(match s {
        "signed" => "rv.state.signed",
        "answered" => "rv.state.answered",
        "sent_back" => "rv.state.sent_back",
        "removed" => "rv.state.removed",
        _ => "rv.state.pending",
    })
    .to_owned()
}

/// Every management item confirmed, or the ones that were not.
fn confirmed(a: &Value, lang: Lang) -> String {
    let Some(m) = a.pointer("/answers/management").and_then(Value::as_object) else {
        return String::new();
    };
    let missing: Vec<&str> = m
        .iter()
        .filter(|(_, v)| v.as_bool() != Some(true))
        .map(|(k, _)| k.as_str())
        .collect();
    if missing.is_empty() {
        lang.t("rv.all").to_owned()
    } else {
        format!("{}: {}", lang.t("rv.not_confirmed"), missing.join(", "))
    }
}

fn plan(a: &Value, lang: Lang) -> String {
    let Some(p) = a.pointer("/answers/eol_plan") else {
        return String::new();
    };
    let action = match p["action"].as_str() {
        Some("replace") => lang.t("rv.plan.replace"),
        Some("upgrade") => lang.t("rv.plan.upgrade"),
        Some("accept") => lang.t("rv.plan.accept"),
        _ => "",
    };
    match p["until"].as_str() {
        Some(u) => format!("{action} ({u})"),
        None => action.to_owned(),
    }
}

const COLUMNS: &[Column] = &[
    ("rv.col.team", |a, _| text(&a["team"])),
    ("rv.col.name", |a, _| text(&a["name"])),
    ("rv.col.state", |a, l| {
        state_word(a["state"].as_str().unwrap_or(""), l)
    }),
    ("rv.col.owner", |a, _| text(&a["owner"])),
    ("rv.col.environment", |a, _| text(&a["environment"])),
    ("rv.col.source", |a, _| text(&a["source"])),
    ("rv.col.os", |a, _| text(&a["os"])),
    ("rv.col.os_eol", |a, _| text(&a["os_eol"])),
    ("rv.col.os_eol_past", |a, l| yes_no(&a["os_eol_past"], l)),
    ("rv.col.support_end", |a, _| text(&a["support_end"])),
    ("rv.col.support_end_past", |a, l| {
        yes_no(&a["support_end_past"], l)
    }),
    ("rv.col.operation_start", |a, _| text(&a["operation_start"])),
    ("rv.col.middleware", |a, _| text(&a["middleware"])),
    ("rv.col.exposure", |a, _| text(&a["exposure"])),
    ("rv.col.ports", |a, _| text(&a["exposed_ports"])),
    ("rv.col.critical", |a, _| text(&a["open"]["critical"])),
    ("rv.col.high", |a, _| text(&a["open"]["high"])),
    ("rv.col.open", |a, _| text(&a["open"]["total"])),
    ("rv.col.overdue", |a, _| text(&a["open"]["overdue"])),
    ("rv.col.opened", |a, _| text(&a["findings_opened"])),
    ("rv.col.closed", |a, _| text(&a["findings_closed"])),
    ("rv.col.confirmed", confirmed),
    ("rv.col.plan", plan),
    ("rv.col.exposure_ok", |a, l| {
        yes_no(
            &a.pointer("/answers/exposure_confirmed")
                .cloned()
                .unwrap_or(Value::Null),
            l,
        )
    }),
    ("rv.col.findings_ok", |a, l| {
        yes_no(
            &a.pointer("/answers/findings_acknowledged")
                .cloned()
                .unwrap_or(Value::Null),
            l,
        )
    }),
    ("rv.col.acceptances_ok", |a, l| {
        yes_no(
            &a.pointer("/answers/acceptances_valid")
                .cloned()
                .unwrap_or(Value::Null),
            l,
        )
    }),
    ("rv.col.changed", |a, l| yes_no(&a["management_changed"], l)),
    ("rv.col.answered_by", |a, _| text(&a["answered_by"])),
    ("rv.col.answered_at", |a, _| text(&a["answered_at"])),
    ("rv.col.signed_by", |a, _| text(&a["signed_by"])),
    ("rv.col.signed_at", |a, _| text(&a["signed_at"])),
    ("rv.col.comment", |a, _| {
        let owner = a.pointer("/answers/comment").map(text).unwrap_or_default();
        let auditor = text(&a["comment"]);
        [owner, auditor]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" / ")
    }),
];

/// Every asset entry of the report, team by team, as stored.
fn assets(report: &Value) -> impl Iterator<Item = &Value> {
    report["teams"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|t| t["assets"].as_array().into_iter().flatten())
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::from(crate::ServerError::Internal(format!("review report: {e}")))
}

/// The report in `format` and `lang`.
pub fn render(r: &VerifiedReport, format: ReportFormat, lang: Lang) -> ApiResult<Vec<u8>> {
    if format == ReportFormat::Json {
        return Ok(r.bytes.clone());
    }
    let report = r.json()?;
    match format {
        ReportFormat::Json => Ok(r.bytes.clone()),
        ReportFormat::Csv => csv_of(&report, lang),
        ReportFormat::Xlsx => xlsx_of(&report, lang),
        ReportFormat::Html => Ok(html_of(&report, &r.digest, lang).into_string().into_bytes()),
    }
}

fn csv_of(report: &Value, lang: Lang) -> ApiResult<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(COLUMNS.iter().map(|(k, _)| lang.t(k)))
        .map_err(internal)?;
    for a in assets(report) {
        w.write_record(COLUMNS.iter().map(|(_, cell)| {
            // Cells a spreadsheet would run as formulas are neutralised,
            // as in the findings export.
            kensa_detect::report::inspector::neutralise(&cell(a, lang)).into_owned()
        }))
        .map_err(internal)?;
    }
    w.into_inner().map_err(internal)
}

fn xlsx_of(report: &Value, lang: Lang) -> ApiResult<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let past = Format::new()
        .set_bold()
        .set_background_color(rust_xlsxwriter::Color::RGB(0x00FF_D7D7));
    let sheet = book.add_worksheet();
    sheet.set_name(lang.t("rv.sheet")).map_err(internal)?;
    for (i, (k, _)) in COLUMNS.iter().enumerate() {
        let col = u16::try_from(i).map_err(internal)?;
        sheet
            .write_string_with_format(0, col, lang.t(k), &bold)
            .map_err(internal)?;
    }
    let mut row = 0u32;
    for a in assets(report) {
        row += 1;
        for (i, (k, cell)) in COLUMNS.iter().enumerate() {
            let col = u16::try_from(i).map_err(internal)?;
            let v = cell(a, lang);
            let highlight = (*k == "rv.col.os_eol" && a["os_eol_past"] == true)
                || (*k == "rv.col.support_end" && a["support_end_past"] == true);
            if highlight {
                sheet.write_string_with_format(row, col, &v, &past)
            } else {
                sheet.write_string(row, col, &v)
            }
            .map_err(internal)?;
        }
    }
    let last = u16::try_from(COLUMNS.len() - 1).map_err(internal)?;
    sheet.set_freeze_panes(1, 0).map_err(internal)?;
    sheet.autofilter(0, 0, row, last).map_err(internal)?;
    book.save_to_buffer().map_err(internal)
}

/// The page's own stylesheet: the report stands alone (saved, mailed,
/// printed) without the console's.
const STYLE: &str = r#"
body { font-family: system-ui, "Hiragino Sans", "Noto Sans CJK JP", sans-serif; margin: 1.5rem; color: #111; }
h1 { font-size: 1.5rem; margin: 0 0 .3rem; }
h2 { font-size: 1.15rem; border-bottom: 2px solid #333; margin-top: 1.6rem; }
table { border-collapse: collapse; width: 100%; font-size: .8rem; }
th, td { border: 1px solid #bbb; padding: .2rem .35rem; text-align: left; vertical-align: top; }
th { background: #eee; }
.meta { color: #444; font-size: .85rem; }
.digest { font-family: monospace; font-size: .75rem; word-break: break-all; }
.past { background: #ffd7d7; color: #8b0000; font-weight: bold; }
.removed td { color: #777; text-decoration: line-through; }
.removed td.state { text-decoration: none; }
.charts { display: flex; flex-wrap: wrap; gap: 1.5rem; }
.chart .lbl, .chart .num { font-size: 12px; }
.chart rect { fill: #4a6fa5; }
.chart rect.crit { fill: #b00020; } .chart rect.high { fill: #e8590c; }
.chart rect.warn { fill: #c92a2a; } .chart rect.ok { fill: #2b8a3e; }
.team { break-inside: auto; }
@media print {
  body { margin: 0; font-size: 9pt; }
  .noprint { display: none; }
  .team { break-before: page; }
  .team:first-of-type { break-before: auto; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
  .past, th, .chart rect { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
  @page { size: A4 landscape; margin: 12mm; }
}
"#;

/// A date cell, highlighted (and marked, for black-and-white print) when
/// the date had passed on the day the review closed.
fn date_cell(a: &Value, key: &str, past_key: &str, lang: Lang) -> Markup {
    let d = text(&a[key]);
    if a[past_key] == true {
        html! { td class="past" title=(lang.t("rv.past")) { "⚠ " (d) } }
    } else {
        html! { td { (d) } }
    }
}

fn html_of(report: &Value, digest: &str, lang: Lang) -> Markup {
    let t = |k: &'static str| lang.t(k);
    let review = &report["review"];
    let summary = &report["summary"];
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let status_rows = [
        (t("rv.sum.signed"), n(&summary["signed"]), "ok"),
        (t("rv.sum.removed"), n(&summary["removed"]), ""),
        (
            t("rv.sum.support_past"),
            n(&summary["support_end_past"]),
            "warn",
        ),
        (t("rv.sum.eol_past"), n(&summary["os_eol_past"]), "warn"),
        (t("rv.sum.exposed"), n(&summary["exposed"]), "high"),
        (t("rv.sum.changed"), n(&summary["management_changed"]), ""),
    ];
    let open = &summary["open"];
    let band_rows = [
        ("CRITICAL", n(&open["critical"]), "crit"),
        ("HIGH", n(&open["high"]), "high"),
        ("MEDIUM", n(&open["medium"]), ""),
        ("LOW", n(&open["low"]), ""),
        (t("rv.col.overdue"), n(&open["overdue"]), "warn"),
    ];
    let teams = report["teams"].as_array().cloned().unwrap_or_default();
    let changes = &report["changes"];
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                title { (t("rv.report")) " · " (text(&review["name"])) " · Kensa" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 id="report-title" { (t("rv.report")) ": " (text(&review["name"])) }
                p class="meta" {
                    (t("rv.scope")) ": " code { @if text(&review["scope"]).is_empty() { (t("rv.scope.all")) } @else { (text(&review["scope"])) } }
                    " · " (t("rv.opened")) " " (text(&review["opened_at"])) " (" (text(&review["opened_by"])) ")"
                    " · " (t("rv.closed")) " " (text(&review["closed_at"])) " (" (text(&review["closed_by"])) ")"
                    " · " (t("rv.as_of")) " " (text(&report["as_of"]))
                }
                p class="meta" { (t("rv.digest")) ": " span class="digest" id="digest" { (digest) } }
                p class="noprint" {
                    @for (f, label) in [("csv", "CSV"), ("xlsx", "XLSX"), ("json", "JSON")] {
                        a href={ "?format=" (f) "&lang=" (lang.code()) } { (label) } " · "
                    }
                    a href={ "?format=html&lang=" (lang.other().code()) } { (lang.other().t("lang.name")) }
                }
                h2 { (t("rv.summary")) }
                p { (t("rv.sum.assets")) ": " strong id="asset-count" { (n(&summary["assets"])) } }
                div class="charts" {
                    (svg::bars(t("rv.summary"), &status_rows))
                    (svg::bars(t("rv.open_findings"), &band_rows))
                }
                h2 { (t("rv.changes")) }
                @if changes.is_null() {
                    p id="no-previous" { (t("rv.no_previous")) }
                } @else {
                    p { (t("rv.since")) " " (text(&report["previous"]["name"])) " (" (text(&changes["since"])) ")" }
                    table id="changes" {
                        tbody {
                            tr { th { (t("rv.ch.new")) } td { (names(&changes["new_assets"])) } }
                            tr { th { (t("rv.ch.removed")) } td { (names(&changes["removed_assets"])) } }
                            tr { th { (t("rv.ch.opened")) } td { (text(&changes["findings_opened"])) } }
                            tr { th { (t("rv.ch.closed")) } td { (text(&changes["findings_closed"])) } }
                            tr { th { (t("rv.ch.dates")) } td {
                                @for d in changes["dates_passed"].as_array().into_iter().flatten() {
                                    span class="past" { (text(&d["name"])) " " (t(if d["field"] == "os_eol" { "rv.col.os_eol" } else { "rv.col.support_end" })) " " (text(&d["date"])) } " "
                                }
                            } }
                            tr { th { (t("rv.ch.exposure")) } td {
                                @for e in changes["exposure_changes"].as_array().into_iter().flatten() {
                                    (text(&e["name"])) ": " (text(&e["before"]["exposure"])) " " (text(&e["before"]["exposed_ports"])) " → " (text(&e["after"]["exposure"])) " " (text(&e["after"]["exposed_ports"])) br;
                                }
                            } }
                        }
                    }
                }
                @for team in &teams {
                    @let name = text(&team["team"]);
                    section class="team" {
                        h2 { (t("rv.col.team")) ": " @if name.is_empty() { (t("rv.no_team")) } @else { (name) } }
                        table class="assets" {
                            thead { tr {
                                th { (t("rv.col.name")) } th { (t("rv.col.state")) } th { (t("rv.col.owner")) }
                                th { (t("rv.col.os")) } th { (t("rv.col.os_eol")) } th { (t("rv.col.support_end")) }
                                th { (t("rv.col.exposure")) } th { (t("rv.col.critical")) } th { (t("rv.col.overdue")) }
                                th { (t("rv.col.plan")) } th { (t("rv.col.confirmed")) } th { (t("rv.col.signed_by")) } th { (t("rv.col.comment")) }
                            } }
                            tbody {
                                @for a in team["assets"].as_array().into_iter().flatten() {
                                    @let removed = a["state"] == "removed";
                                    tr class=[removed.then_some("removed")] data-asset=(text(&a["asset_id"])) {
                                        td class="name" { (text(&a["name"])) @if a["management_changed"] == true { " ✎" } }
                                        td class="state" { (state_word(a["state"].as_str().unwrap_or(""), lang)) }
                                        td { (text(&a["owner"])) }
                                        td { (text(&a["os"])) }
                                        (date_cell(a, "os_eol", "os_eol_past", lang))
                                        (date_cell(a, "support_end", "support_end_past", lang))
                                        td { (text(&a["exposure"])) @if !text(&a["exposed_ports"]).is_empty() { " (" (text(&a["exposed_ports"])) ")" } }
                                        td { (text(&a["open"]["critical"])) }
                                        td { (text(&a["open"]["overdue"])) }
                                        td { (plan(a, lang)) }
                                        td { (confirmed(a, lang)) }
                                        td { (text(&a["signed_by"])) }
                                        td { ((COLUMNS[COLUMNS.len() - 1].1)(a, lang)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn names(list: &Value) -> String {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|a| text(&a["name"]))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_column_header_is_in_both_languages() {
        for (k, _) in COLUMNS {
            assert_ne!(Lang::En.t(k), *k, "{k} has no English text");
            assert_ne!(Lang::Ja.t(k), *k, "{k} has no Japanese text");
        }
    }
}
