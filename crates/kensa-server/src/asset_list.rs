//! The register: every asset with its management items, OS support, scan
//! method and open findings, as `GET /api/v1/assets` lists it, the
//! console's `/assets` page shows it, and `GET /api/v1/assets/export`
//! writes it (CSV or XLSX, headers in English or Japanese).
//!
//! What is derived from an asset (its coverage, scan method, OS support
//! state, which dates are past or near) is decided here once, for the
//! three of them.

use std::io::Write;
use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use kensa_store::{
    Asset, AssetQuery, AssetRow, AssetSort, AssetSource, Db, Filter, MAX_ASSET_PAGE, Timestamp,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::assets::{CoverageContext, coverage_of, today};
use crate::auth::Role;
use crate::console::Lang;
use crate::export::{ChannelWriter, Chunks};
use crate::kit::{ApiError, ApiResult, AppState, authorize, with_db};

/// A date within this many days from today is "soon": highlighted before
/// it passes, so that a replacement can be planned.
pub const SOON_DAYS: i64 = 90;

/// `YYYY-MM-DD` of today (UTC) plus `days`.
pub(crate) fn day_from_today(days: i64) -> String {
    let t = Timestamp::from_unix_ms(Timestamp::now().unix_ms() + days * 86_400_000);
    t.to_rfc3339().get(..10).unwrap_or_default().to_owned()
}

/// What a register row is compared with: today, the "soon" horizon and
/// the coverage rules.
pub(crate) struct RowContext {
    pub today: String,
    pub soon: String,
    pub coverage: CoverageContext,
}

impl RowContext {
    /// For these rows: their agents are known from the rows themselves,
    /// the server's SSH targets from the database.
    pub(crate) fn new(
        db: &Db,
        rows: &[AssetRow],
    ) -> std::result::Result<RowContext, kensa_store::StoreError> {
        let mut cx = RowContext::of_rows(rows);
        cx.coverage.targets = db
            .agentless_targets()?
            .into_iter()
            .map(|t| (t.asset_id, t))
            .collect();
        Ok(cx)
    }

    /// For these rows, with no SSH targets.
    fn of_rows(rows: &[AssetRow]) -> RowContext {
        RowContext {
            today: today(),
            soon: day_from_today(SOON_DAYS),
            coverage: CoverageContext {
                now_ms: Timestamp::now().unix_ms(),
                stale_ms: 24 * 3_600_000,
                today: today(),
                agents: rows
                    .iter()
                    .filter(|r| r.agent)
                    .map(|r| r.asset.id)
                    .collect(),
                targets: Default::default(),
            },
        }
    }

    /// Whether the server scans this asset over SSH.
    pub(crate) fn agentless(&self, a: &Asset) -> bool {
        self.coverage.targets.contains_key(&a.id)
    }

    /// With every asset's agent from the database (an export's rows come
    /// a page at a time).
    pub(crate) fn for_db(db: &Db) -> ApiResult<RowContext> {
        Ok(RowContext {
            today: today(),
            soon: day_from_today(SOON_DAYS),
            coverage: CoverageContext::new(db, 24 * 3_600_000)?,
        })
    }

    /// `past`, `soon` (within [`SOON_DAYS`]) or `ok`; `None` without a
    /// date.
    pub(crate) fn date_state(&self, date: Option<&str>) -> Option<&'static str> {
        let d = date?;
        Some(if d < self.today.as_str() {
            "past"
        } else if d <= self.soon.as_str() {
            "soon"
        } else {
            "ok"
        })
    }
}

/// How an asset is scanned: `agent` (a live agent reports it),
/// `agentless` (the server scans it over SSH), `scan` (a scan reported its
/// inventory), `none` (nothing reports for it now: a register entry, or an
/// asset whose agent was revoked).
pub(crate) fn scan_method(a: &Asset, agent: bool, agentless: bool) -> &'static str {
    if agent {
        "agent"
    } else if agentless {
        "agentless"
    } else if a.source == AssetSource::Scan && a.inventory_hash.is_some() {
        "scan"
    } else {
        "none"
    }
}

/// Where the OS stands against its vendor's dates today.
pub(crate) struct OsSupport {
    /// `supported`, `extended` (past the regular end, extended support
    /// still running), `ended`, or `unknown` (no record for this OS).
    pub state: &'static str,
    /// End of regular support.
    pub eol: Option<String>,
    pub extended_support: Option<String>,
}

pub(crate) fn os_support(a: &Asset, today: &str) -> OsSupport {
    let Some(e) = &a.eol else {
        return OsSupport {
            state: "unknown",
            eol: None,
            extended_support: None,
        };
    };
    let state = if !e.ended_by(today) {
        "supported"
    } else if e.extended_support.as_deref().is_some_and(|x| x >= today) {
        "extended"
    } else {
        "ended"
    };
    OsSupport {
        state,
        eol: e.eol.clone(),
        extended_support: e.extended_support.clone(),
    }
}

/// An asset row as the API shows it: the asset's record (as `GET
/// /api/v1/assets/{id}`), plus its open findings, scan method, OS support
/// and the state of its dates.
pub(crate) fn row_json(r: &AssetRow, cx: &RowContext) -> Value {
    let a = &r.asset;
    let (status, reason) = coverage_of(a, &cx.coverage);
    let os = os_support(a, &cx.today);
    let mut v = crate::assets::asset_json(a, &cx.today);
    if let Value::Object(o) = &mut v {
        o.insert("agent".into(), json!(r.agent));
        o.insert(
            "exposure".into(),
            json!({
                "internet": a.management.internet_exposure.unwrap_or_default(),
                "ports": a.management.exposed_ports,
            }),
        );
        o.insert(
            "coverage".into(),
            json!({ "status": status, "reason": reason }),
        );
        o.insert(
            "end_of_life".into(),
            json!(a.eol.as_ref().map(|e| e.ended_by(&cx.today))),
        );
        o.insert(
            "scan_method".into(),
            json!(scan_method(a, r.agent, cx.agentless(a))),
        );
        o.insert(
            "os_support".into(),
            json!({
                "state": os.state,
                "eol": os.eol,
                "extended_support": os.extended_support,
                "eol_state": cx.date_state(os.eol.as_deref()),
            }),
        );
        o.insert(
            "support_end_state".into(),
            json!(cx.date_state(a.management.support_end.as_deref())),
        );
        o.insert("findings".into(), json!(r.open));
    }
    v
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    filter: Option<String>,
    sort: Option<String>,
    limit: Option<u32>,
    page: Option<u64>,
}

pub(crate) fn parse_sort(s: Option<&str>, default: AssetSort) -> ApiResult<AssetSort> {
    match s.filter(|s| !s.is_empty()) {
        Some(s) => s
            .parse()
            .map_err(|e: kensa_store::StoreError| ApiError::bad(e.to_string())),
        None => Ok(default),
    }
}

fn parse_filter(s: Option<&str>) -> ApiResult<Filter> {
    Filter::parse(s.unwrap_or("")).map_err(|e| ApiError::bad(e.to_string()))
}

/// `GET /api/v1/assets?filter=…&sort=…&limit=…&page=…` (viewer): by id
/// and a thousand a page unless asked otherwise, so that a client that
/// read the whole list in one answer before still does for a fleet of
/// that size.
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    with_db(&state, move |db| {
        authorize(
            db,
            &headers,
            Role::Viewer,
            "listing assets needs a user token",
        )?;
        let sort = parse_sort(
            q.sort.as_deref(),
            AssetSort {
                key: kensa_store::AssetSortKey::Id,
                descending: false,
            },
        )?;
        let limit = q.limit.unwrap_or(MAX_ASSET_PAGE);
        let page = q.page.unwrap_or(0);
        let p = db.query_assets(&AssetQuery {
            filter: parse_filter(q.filter.as_deref())?,
            sort,
            limit: Some(limit),
            page,
        })?;
        let cx = RowContext::new(db, &p.rows)?;
        let more = (page + 1).saturating_mul(u64::from(limit)) < p.total;
        Ok(Json(json!({
            "assets": p.rows.iter().map(|r| row_json(r, &cx)).collect::<Vec<_>>(),
            "total": p.total,
            "page": page,
            "limit": limit,
            "sort": sort.to_string(),
            "next_page": more.then_some(page + 1),
        })))
    })
    .await
}

// ------------------------------------------------------------ the export

/// One column of the register: its key, and its header in English and
/// Japanese. The console's page shows the same items, grouped.
pub const COLUMNS: &[(&str, &str, &str)] = &[
    ("id", "ID", "ID"),
    ("name", "Name", "名前"),
    ("kind", "Kind", "種類"),
    ("hostname", "Hostname", "ホスト名"),
    ("instance_id", "Instance ID", "インスタンス ID"),
    ("ip_addresses", "IP addresses", "IP アドレス"),
    ("os", "OS", "OS"),
    ("os_release", "OS release", "OS リリース"),
    ("os_eol", "OS end of life", "OS サポート終了日"),
    (
        "os_eol_state",
        "OS end of life state",
        "OS サポート終了の状況",
    ),
    ("os_support", "OS support", "OS サポート状態"),
    (
        "os_extended_support",
        "OS extended support until",
        "OS 延長サポート終了日",
    ),
    ("middleware", "Middleware", "ミドルウェア"),
    ("operation_start", "Operation start", "運用開始日"),
    (
        "support_end",
        "Hardware/contract support end",
        "ハードウェア・保守契約の終了日",
    ),
    (
        "support_end_state",
        "Hardware/contract support state",
        "ハードウェア・保守契約の状況",
    ),
    (
        "internet_exposure",
        "Internet exposure",
        "インターネット公開",
    ),
    ("exposed_ports", "Exposed ports", "公開ポート"),
    ("owner", "Owner", "所有者"),
    ("team", "Team", "チーム"),
    ("environment", "Environment", "環境"),
    ("tags", "Tags", "タグ"),
    ("coverage_status", "Coverage status", "カバレッジ状態"),
    ("coverage_reason", "Coverage reason", "カバレッジの理由"),
    ("scan_method", "Scan method", "スキャン方式"),
    ("last_report", "Last report (UTC)", "最終レポート（UTC）"),
    ("critical", "Open critical", "未解決: 緊急"),
    ("high", "Open high", "未解決: 高"),
    ("medium", "Open medium", "未解決: 中"),
    ("low", "Open low", "未解決: 低"),
    ("informational", "Open informational", "未解決: 情報"),
    (
        "untriaged",
        "Open without a severity (UNTRIAGED)",
        "未解決: 重大度なし（UNTRIAGED）",
    ),
    ("open", "Open findings", "未解決の検出結果"),
    ("overdue", "Overdue findings", "期限超過の検出結果"),
    (
        "oldest_overdue",
        "Oldest overdue finding",
        "最も古い期限超過の検出結果",
    ),
    (
        "oldest_overdue_due",
        "Oldest overdue due date",
        "最も古い期限超過の期限",
    ),
];

/// A cell of the export.
pub(crate) enum Cell {
    Text(String),
    Count(u64),
}

fn text(v: impl Into<String>) -> Cell {
    Cell::Text(v.into())
}

fn opt(v: Option<&str>) -> Cell {
    Cell::Text(v.unwrap_or_default().to_owned())
}

/// The row's cells, in [`COLUMNS`] order. Values are the API's words
/// (`yes`, `ACTIVE`, `past`), the same in both languages, so that a
/// spreadsheet filter works on either file.
pub(crate) fn cells(r: &AssetRow, cx: &RowContext) -> Vec<Cell> {
    let a = &r.asset;
    let m = &a.management;
    let (status, reason) = coverage_of(a, &cx.coverage);
    let os = os_support(a, &cx.today);
    let o = &r.open;
    let date = |t: Option<Timestamp>| {
        t.map(|t| {
            let s = t.to_rfc3339();
            format!(
                "{} {}",
                s.get(..10).unwrap_or_default(),
                s.get(11..16).unwrap_or_default()
            )
        })
    };
    vec![
        Cell::Count(u64::try_from(a.id.0).unwrap_or(0)),
        text(&a.name),
        text(a.kind.as_str()),
        opt(a.hostname.as_deref()),
        opt(a.instance_id.as_deref()),
        text(a.ip_addresses.join(" ")),
        opt(a.os_pretty.as_deref().or(a.os_id.as_deref())),
        opt(a.os_release.as_deref()),
        opt(os.eol.as_deref()),
        opt(cx.date_state(os.eol.as_deref())),
        text(os.state),
        opt(os.extended_support.as_deref()),
        text(
            a.middleware
                .iter()
                .map(|mw| format!("{} {}", mw.name, mw.version))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        opt(m.operation_start.as_deref()),
        opt(m.support_end.as_deref()),
        opt(cx.date_state(m.support_end.as_deref())),
        text(m.internet_exposure.unwrap_or_default().as_str()),
        text(
            m.exposed_ports
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        opt(m.owner.as_deref()),
        opt(m.team.as_deref()),
        opt(m.environment.as_deref()),
        text(m.tags.join("; ")),
        text(status),
        text(reason),
        text(scan_method(a, r.agent, cx.agentless(a))),
        opt(date(a.inventory_at).as_deref()),
        Cell::Count(o.critical),
        Cell::Count(o.high),
        Cell::Count(o.medium),
        Cell::Count(o.low),
        Cell::Count(o.informational),
        Cell::Count(o.untriaged),
        Cell::Count(o.total),
        Cell::Count(o.overdue),
        opt(o
            .oldest_overdue
            .as_ref()
            .map(|f| format!("{} {}", f.vulnerability_id, f.package_name))
            .as_deref()),
        opt(o
            .oldest_overdue
            .as_ref()
            .map(|f| {
                f.due_at
                    .to_rfc3339()
                    .get(..10)
                    .unwrap_or_default()
                    .to_owned()
            })
            .as_deref()),
    ]
}

/// The register's file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegisterFormat {
    Csv,
    Xlsx,
}

impl RegisterFormat {
    pub(crate) fn parse(s: &str) -> ApiResult<RegisterFormat> {
        match s {
            "csv" => Ok(RegisterFormat::Csv),
            "xlsx" => Ok(RegisterFormat::Xlsx),
            _ => Err(ApiError::bad(format!("format {s:?}: expected csv or xlsx"))),
        }
    }
    pub(crate) fn ext(self) -> &'static str {
        match self {
            RegisterFormat::Csv => "csv",
            RegisterFormat::Xlsx => "xlsx",
        }
    }
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            RegisterFormat::Csv => "text/csv; charset=utf-8",
            RegisterFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        }
    }
}

fn header_of(lang: Lang, col: &(&str, &'static str, &'static str)) -> &'static str {
    match lang {
        Lang::En => col.1,
        Lang::Ja => col.2,
    }
}

fn store_err(e: impl std::fmt::Display) -> kensa_store::StoreError {
    // The writer's failure (a client gone, a disk full) ends the export.
    kensa_store::StoreError::InvalidArgument(format!("writing the register: {e}"))
}

/// Writes the register of the assets `filter` selects, in `sort`'s order,
/// to `out`; how many assets. CSV is written as the rows come (cells
/// neutralised against formulas, as the findings export's); XLSX is built
/// with `rust_xlsxwriter` in its constant-memory mode (rows go to a
/// temporary file as they are written) and then copied to `out`, as a
/// ZIP file is only complete at its end.
pub fn write_register(
    db: &Db,
    filter: &Filter,
    sort: AssetSort,
    format: RegisterFormat,
    lang: Lang,
    out: impl Write,
) -> Result<u64, crate::ServerError> {
    let cx =
        RowContext::for_db(db).map_err(|e| crate::ServerError::Internal(e.message().to_owned()))?;
    match format {
        RegisterFormat::Csv => {
            let mut w = csv::Writer::from_writer(std::io::BufWriter::with_capacity(256 << 10, out));
            w.write_record(COLUMNS.iter().map(|c| header_of(lang, c)))
                .map_err(store_err)?;
            let n = db.export_assets(filter, sort, |r| {
                for c in cells(&r, &cx) {
                    match c {
                        Cell::Text(s) => {
                            let v = kensa_detect::report::inspector::neutralise(&s);
                            w.write_field(v.as_bytes())
                        }
                        Cell::Count(n) => w.write_field(n.to_string()),
                    }
                    .map_err(store_err)?;
                }
                w.write_record(None::<&[u8]>).map_err(store_err)
            })?;
            w.flush().map_err(store_err)?;
            Ok(n)
        }
        RegisterFormat::Xlsx => write_xlsx(db, filter, sort, lang, &cx, out),
    }
}

fn write_xlsx(
    db: &Db,
    filter: &Filter,
    sort: AssetSort,
    lang: Lang,
    cx: &RowContext,
    mut out: impl Write,
) -> Result<u64, crate::ServerError> {
    use rust_xlsxwriter::{Format, Workbook};
    let xe = |e: rust_xlsxwriter::XlsxError| crate::ServerError::Internal(format!("XLSX: {e}"));
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let sheet = book.add_worksheet_with_constant_memory().map_err(xe)?;
    sheet
        .set_name(match lang {
            Lang::En => "Assets",
            Lang::Ja => "資産台帳",
        })
        .map_err(xe)?;
    for (i, c) in COLUMNS.iter().enumerate() {
        let col = u16::try_from(i).unwrap_or(u16::MAX);
        sheet
            .write_string_with_format(0, col, header_of(lang, c), &bold)
            .map_err(xe)?;
    }
    let mut row: u32 = 0;
    let n = db.export_assets(filter, sort, |r| {
        row += 1;
        for (i, c) in cells(&r, cx).into_iter().enumerate() {
            let col = u16::try_from(i).unwrap_or(u16::MAX);
            match c {
                // A string cell is never a formula in XLSX: nothing to
                // neutralise.
                Cell::Text(s) if s.is_empty() => Ok(&mut *sheet),
                Cell::Text(s) => sheet.write_string(row, col, s),
                #[allow(clippy::cast_precision_loss)]
                Cell::Count(n) => sheet.write_number(row, col, n as f64),
            }
            .map_err(store_err)?;
        }
        Ok(())
    })?;
    let last = u16::try_from(COLUMNS.len() - 1).unwrap_or(0);
    sheet.set_freeze_panes(1, 0).map_err(xe)?;
    sheet.autofilter(0, 0, row, last).map_err(xe)?;
    let bytes = book.save_to_buffer().map_err(xe)?;
    out.write_all(&bytes)
        .map_err(|e| crate::ServerError::Internal(format!("writing the register: {e}")))?;
    out.flush()
        .map_err(|e| crate::ServerError::Internal(format!("writing the register: {e}")))?;
    Ok(n)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExportQuery {
    format: Option<String>,
    filter: Option<String>,
    sort: Option<String>,
    /// The headers' language: `en` or `ja` (default: the request's, as
    /// the console decides it).
    lang: Option<String>,
}

/// `GET /api/v1/assets/export?format=csv|xlsx&filter=…&sort=…&lang=en|ja`
/// (viewer): the register as a file, streamed.
pub(crate) async fn export(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<ExportQuery>,
) -> ApiResult<Response> {
    let format = RegisterFormat::parse(q.format.as_deref().unwrap_or("csv"))?;
    let filter = parse_filter(q.filter.as_deref())?;
    let sort = parse_sort(q.sort.as_deref(), AssetSort::default())?;
    let lang = match q.lang.as_deref() {
        Some(l) => {
            Lang::parse(l).ok_or_else(|| ApiError::bad(format!("lang {l:?}: expected en or ja")))?
        }
        None => Lang::of(&headers),
    };
    with_db(&state, move |db| {
        authorize(
            db,
            &headers,
            Role::Viewer,
            "exporting the register needs a user token",
        )
        .map(drop)
    })
    .await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(8);
    let pool = Arc::clone(&state.pool);
    // Taken before the headers go out: a busy server still answers 503.
    let permit = pool.permit().await.map_err(ApiError::from)?;
    tokio::task::spawn_blocking(move || {
        let db = match pool.get(permit) {
            Ok(db) => db,
            Err(e) => {
                let e = ApiError::from(e);
                let _ = tx.blocking_send(Err(std::io::Error::other(e.message().to_owned())));
                return;
            }
        };
        let mut w = ChannelWriter::new(tx.clone());
        if let Err(e) = write_register(&db, &filter, sort, format, lang, &mut w).and_then(|_| {
            w.flush()
                .map_err(|e| crate::ServerError::Internal(e.to_string()))
        }) {
            // The headers are sent: all that is left is to cut the body
            // short, which the client sees as an incomplete response.
            tracing::error!("register export failed: {e}");
            let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    let day = today();
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"kensa-assets-{day}.{}\"",
                    format.ext()
                ),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(Chunks(rx)),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_column_has_both_headers_and_a_cell() {
        for (k, en, ja) in COLUMNS {
            assert!(!en.is_empty() && !ja.is_empty(), "{k}");
            assert_eq!(COLUMNS.iter().filter(|(o, _, _)| o == k).count(), 1, "{k}");
        }
        let a = Asset {
            id: kensa_store::AssetId(7),
            kind: kensa_store::AssetKind::Host,
            name: "=cmd".into(),
            hostname: None,
            machine_id: None,
            image_id: None,
            os_id: None,
            os_release: None,
            inventory_hash: None,
            inventory_at: None,
            evaluated_at: None,
            created_at: Timestamp::from_unix_ms(0),
            updated_at: Timestamp::from_unix_ms(0),
            management: kensa_store::Management::default(),
            source: AssetSource::Register,
            instance_id: None,
            ip_addresses: Vec::new(),
            os_pretty: None,
            middleware: Vec::new(),
            eol: None,
            inventory_failure: None,
            reachability: None,
            exposure_override: None,
            scan_warnings: Vec::new(),
        };
        let row = AssetRow {
            asset: a,
            agent: false,
            open: kensa_store::OpenFindings::default(),
        };
        let cx = RowContext::of_rows(std::slice::from_ref(&row));
        assert_eq!(cells(&row, &cx).len(), COLUMNS.len());
        assert_eq!(scan_method(&row.asset, false, false), "none");
        assert_eq!(scan_method(&row.asset, true, false), "agent");
        assert_eq!(scan_method(&row.asset, false, true), "agentless");
        assert_eq!(os_support(&row.asset, &cx.today).state, "unknown");
    }

    #[test]
    fn dates_are_past_soon_or_ok() {
        let cx = RowContext {
            today: "2026-12-07".into(),
            soon: "2027-03-07".into(),
            coverage: CoverageContext {
                now_ms: 0,
                stale_ms: 0,
                today: "2026-12-07".into(),
                agents: Default::default(),
                targets: Default::default(),
            },
        };
        assert_eq!(cx.date_state(Some("2026-12-06")), Some("past"));
        assert_eq!(cx.date_state(Some("2026-12-07")), Some("soon"));
        assert_eq!(cx.date_state(Some("2027-03-07")), Some("soon"));
        assert_eq!(cx.date_state(Some("2027-03-08")), Some("ok"));
        assert_eq!(cx.date_state(None), None);
    }
}
