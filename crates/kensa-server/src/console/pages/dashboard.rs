//! `/`: the dashboard's counts and trend.

#[allow(unused_imports)]
use super::*;

pub(crate) async fn dashboard(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    page(&state, headers, "/".into(), |db, cx| {
        dashboard_page(db, cx).map(Out::Page)
    })
    .await
}

/// How long the dashboard's counts over every finding are reused: they
/// read the whole findings table (seconds at a million findings), and a
/// dashboard a minute old is still the picture.
pub(super) const DASHBOARD_TTL: std::time::Duration = std::time::Duration::from_secs(60);

type Numbers = (kensa_store::OpenCounts, Vec<u64>, Timestamp);

/// The counts and the trend, from this process's cache while fresh (one
/// per database, so that several servers in one process keep theirs).
pub(super) fn dashboard_numbers(db: &kensa_store::Db, ends: &[i64]) -> ApiResult<Numbers> {
    use std::collections::HashMap;
    use std::sync::{Mutex, PoisonError};
    use std::time::Instant;
    type Cache = HashMap<String, (Instant, i64, Numbers)>;
    static CACHE: Mutex<Option<Cache>> = Mutex::new(None);
    let key = db.backend().to_string();
    let today = ends.last().copied().unwrap_or_default();
    {
        let cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((at, day, n)) = cache.as_ref().and_then(|c| c.get(&key))
            && at.elapsed() < DASHBOARD_TTL
            && *day == today
        {
            return Ok(n.clone());
        }
    }
    // Computed without the lock: two pages at once may both compute.
    let n = (db.open_counts()?, db.open_trend(ends)?, Timestamp::now());
    CACHE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get_or_insert_with(HashMap::new)
        .insert(key, (Instant::now(), today, n.clone()));
    Ok(n)
}

pub(super) fn as_refs<'a>(
    rows: &'a [(&'static str, u64, String)],
) -> Vec<(&'static str, u64, &'a str)> {
    rows.iter().map(|(a, b, c)| (*a, *b, c.as_str())).collect()
}

pub(super) fn dashboard_page(db: &kensa_store::Db, cx: &Ctx) -> ApiResult<Markup> {
    // The end of each of the last 30 days (UTC), oldest first.
    const DAY: i64 = 86_400_000;
    let now = Timestamp::now().unix_ms();
    let today_end = now - now.rem_euclid(DAY) + DAY - 1;
    let ends: Vec<i64> = (0..30).rev().map(|k| today_end - k * DAY).collect();
    let (counts, trend, as_of) = dashboard_numbers(db, &ends)?;
    let cov = CoverageContext::new(db, 24 * 3_600_000)?;
    let assets = db.assets()?;
    let mut reasons = BTreeMap::<&str, u64>::new();
    for a in &assets {
        *reasons.entry(coverage_of(a, &cov).1).or_default() += 1;
    }
    let eol: Vec<_> = assets
        .iter()
        .filter(|a| a.eol.as_ref().is_some_and(|e| e.ended_by(&cov.today)))
        .collect();
    let exposed: Vec<String> = assets
        .iter()
        .filter(|a| a.management.internet_exposure == Some(InternetExposure::Yes))
        .map(|a| a.id.0.to_string())
        .collect();
    let exposed_filter = (!exposed.is_empty()).then(|| {
        format!(
            "status=ACTIVE severity=CRITICAL asset_id={}",
            exposed.join(",")
        )
    });
    let exposed_critical = match &exposed_filter {
        Some(f) => db.count_findings(&Filter::parse(f).map_err(bad)?)?,
        None => 0,
    };
    let oldest = db.query_findings(&FindingQuery {
        filter: Filter::parse(&format!("{} severity=CRITICAL", status_term("ACTIVE")))
            .map_err(bad)?,
        sort: Sort {
            key: SortKey::FirstObserved,
            descending: false,
        },
        limit: Some(10),
        cursor: None,
    })?;
    let points: Vec<(String, u64)> = ends
        .iter()
        .zip(&trend)
        .map(|(t, n)| {
            let d = day(Timestamp::from_unix_ms(*t));
            (d.get(5..).unwrap_or(&d).to_owned(), *n)
        })
        .collect();
    let band_rows = |v: &[u64; 6]| -> Vec<(&'static str, u64, String)> {
        BANDS
            .iter()
            .zip(v)
            .map(|(b, n)| (*b, *n, format!("c-{b}")))
            .collect()
    };
    let adj = band_rows(&counts.adjusted);
    let base = band_rows(&counts.base);
    let cov_rows: Vec<(&str, u64, &str)> = reasons
        .iter()
        .map(|(r, n)| {
            let class = match *r {
                "SUCCESSFUL" => "c-ok",
                "OS_END_OF_LIFE" => "c-warn",
                _ => "c-bad",
            };
            (*r, *n, class)
        })
        .collect();
    let now_ts = Timestamp::now();
    let link = |f: &str| {
        format!(
            "/findings?{}",
            serde_urlencoded::to_string([("q", f), ("status", "")]).unwrap_or_default()
        )
    };
    Ok(layout(
        cx,
        cx.t("dash.title"),
        html! {
            h1 { (cx.t("dash.title")) }
            p class="muted" id="as-of" { (cx.t("dash.as_of")) " " (when(as_of)) " UTC" }
            div class="cards" {
                div class="card" id="card-severity" {
                    h2 { (cx.t("dash.open_by_severity")) }
                    p class="big" { a href="/findings" { (counts.total) } }
                    (svg::bars(cx.t("dash.open_by_severity"), &as_refs(&adj)))
                }
                div class="card" id="card-base" {
                    h2 { (cx.t("dash.base_by_severity")) }
                    (svg::bars(cx.t("dash.base_by_severity"), &as_refs(&base)))
                }
                div class="card" id="card-fix" {
                    h2 { (cx.t("dash.fixable")) " / " (cx.t("dash.unfixed")) }
                    (svg::bars(cx.t("dash.fixable"), &[
                        (cx.t("dash.fixable"), counts.fixable, "c-ok"),
                        (cx.t("dash.unfixed"), counts.total.saturating_sub(counts.fixable), "c-bad"),
                    ]))
                    h2 { (cx.t("dash.kev")) }
                    p class="big" id="kev-count" { a href=(link("status=ACTIVE kev=true")) { (counts.kev) } }
                    h2 { (cx.t("dash.exposed_critical")) }
                    p class="big" id="exposed-critical" {
                        @if let Some(f) = &exposed_filter { a href=(link(f)) { (exposed_critical) } } @else { "0" }
                    }
                }
                div class="card" id="card-trend" {
                    h2 { (cx.t("dash.trend")) }
                    (svg::line(cx.t("dash.trend"), &points))
                    p class="note" { (cx.t("dash.trend_note")) }
                }
                div class="card" id="card-coverage" {
                    h2 { a href="/coverage" { (cx.t("dash.coverage")) } }
                    (svg::bars(cx.t("dash.coverage"), &cov_rows))
                }
                div class="card" id="card-eol" {
                    h2 { (cx.t("dash.eol")) " (" (eol.len()) ")" }
                    @if eol.is_empty() { p { (cx.t("dash.none")) } }
                    ul { @for a in eol.iter().take(20) {
                        li { a href={ "/assets/" (a.id.0) } { (a.name) } " " span class="muted" {
                            (a.os_pretty.as_deref().unwrap_or("")) " · "
                            @if let Some(e) = &a.eol {
                                @if e.lts.as_deref().is_some_and(|d| d >= cov.today.as_str()) { (cx.t("eol.in_lts")) " · " }
                                (eol_dates(cx, e))
                            }
                        } }
                    } }
                }
            }
            h2 { (cx.t("dash.oldest_critical")) }
            @if oldest.findings.is_empty() { p { (cx.t("dash.none")) } } @else {
                table id="oldest-critical" {
                    thead { tr { th { (cx.t("f.vulnerability")) } th { (cx.t("f.package")) } th { (cx.t("f.asset")) } th { (cx.t("f.first_observed")) } th { (cx.t("f.due")) } } }
                    tbody {
                        @for f in &oldest.findings {
                            tr {
                                td { a href={ "/findings/" (f.id.0) } { (f.vulnerability_id) } }
                                td { (f.package_name) }
                                td { a href={ "/assets/" (f.asset_id.0) } { (f.asset_name) } }
                                td { (day(f.first_observed)) }
                                td { @if let Some(d) = f.due_at {
                                    @if d < now_ts { span class="overdue" { (day(d)) " · " (cx.t("dash.overdue")) } } @else { (day(d)) }
                                } }
                            }
                        }
                    }
                }
            }
        },
    ))
}
