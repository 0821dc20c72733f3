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

/// An asset's internet-reachable critical findings: its name, their
/// packages, how many.
type Service = (String, Vec<String>, u64);

type Numbers = (kensa_store::OpenCounts, Vec<u64>, Timestamp);

/// The counts and the trend, from this process's cache while fresh (one
/// per database, so that several servers in one process keep theirs).
/// They read the whole findings table, and a crowd of dashboards computing
/// them at once (each on a connection of its own) made the dashboard's
/// tail 30 s: one request computes them while the others for the same
/// database are served the previous numbers, or, when there are none yet,
/// wait for that one's result.
pub(super) fn dashboard_numbers(db: &kensa_store::Db, ends: &[i64]) -> ApiResult<Numbers> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, PoisonError};
    use std::time::Instant;
    #[derive(Default)]
    struct Slot {
        numbers: Mutex<Option<(Instant, i64, Numbers)>>,
        /// Held by the one request computing them.
        computing: Mutex<()>,
    }
    static CACHE: Mutex<Option<HashMap<String, Arc<Slot>>>> = Mutex::new(None);
    let key = db.backend().to_string();
    let today = ends.last().copied().unwrap_or_default();
    let slot = Arc::clone(
        CACHE
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert_with(HashMap::new)
            .entry(key)
            .or_default(),
    );
    let cached = |fresh_only: bool| {
        slot.numbers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|(at, day, _)| *day == today && (!fresh_only || at.elapsed() < DASHBOARD_TTL))
            .map(|(_, _, n)| n.clone())
    };
    if let Some(n) = cached(true) {
        return Ok(n);
    }
    let _computing = match slot.computing.try_lock() {
        Ok(g) => g,
        Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => {
            if let Some(n) = cached(false) {
                return Ok(n);
            }
            slot.computing
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
        }
    };
    // Whoever held the lock before may have just computed them.
    if let Some(n) = cached(true) {
        return Ok(n);
    }
    let n = (db.open_counts()?, db.open_trend(ends)?, Timestamp::now());
    *slot.numbers.lock().unwrap_or_else(PoisonError::into_inner) =
        Some((Instant::now(), today, n.clone()));
    Ok(n)
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
        .filter(|a| a.effective_exposure().0 == Some(InternetExposure::Yes))
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
    // Internet-reachable services with critical findings: the packages
    // whose own process listens on a port the internet reaches (and the
    // reachability findings of such ports), per asset, customer-facing
    // assets first.
    let reachable_filter = "status=ACTIVE severity=CRITICAL reachable=true";
    let reachable = db.query_findings(&FindingQuery {
        filter: Filter::parse(reachable_filter).map_err(bad)?,
        sort: Sort {
            key: SortKey::FirstObserved,
            descending: false,
        },
        limit: Some(500),
        cursor: None,
    })?;
    let mut services: BTreeMap<i64, Service> = BTreeMap::new();
    for f in &reachable.findings {
        let e = services
            .entry(f.asset_id.0)
            .or_insert_with(|| (f.asset_name.clone(), Vec::new(), 0));
        if !e.1.contains(&f.package_name) {
            e.1.push(f.package_name.clone());
        }
        e.2 += 1;
    }
    let facing: std::collections::HashSet<i64> = assets
        .iter()
        .filter(|a| customer_facing(a))
        .map(|a| a.id.0)
        .collect();
    let mut services: Vec<(i64, Service)> = services.into_iter().collect();
    services.sort_by_key(|(id, (_, _, n))| (!facing.contains(id), std::cmp::Reverse(*n), *id));
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
    let link = |f: &str| {
        format!(
            "/findings?{}",
            serde_urlencoded::to_string([("q", f), ("status", "")]).unwrap_or_default()
        )
    };
    // Every number links to the list it counts: a band's bar to the open
    // findings of that band (by the adjusted or the base score).
    let band_rows = |v: &[u64; 6], key: &str| -> Vec<(&'static str, u64, &'static str, String)> {
        BANDS
            .iter()
            .zip(v)
            .zip([
                "c-CRITICAL",
                "c-HIGH",
                "c-MEDIUM",
                "c-LOW",
                "c-INFORMATIONAL",
                "c-UNTRIAGED",
            ])
            .map(|((b, n), class)| {
                (
                    cx.t(sev_key(b)),
                    *n,
                    class,
                    link(&format!("status=ACTIVE {key}={b}")),
                )
            })
            .collect()
    };
    let adj = band_rows(&counts.adjusted, "severity");
    let base = band_rows(&counts.base, "base_severity");
    let cov_rows: Vec<(&str, u64, &str, String)> = reasons
        .iter()
        .map(|(r, n)| {
            let class = match *r {
                "SUCCESSFUL" => "c-ok",
                "OS_END_OF_LIFE" => "c-warn",
                _ => "c-bad",
            };
            let href = format!(
                "/coverage?{}",
                serde_urlencoded::to_string([("reason", *r)]).unwrap_or_default()
            );
            (cx.t(reason_key(r)), *n, class, href)
        })
        .collect();
    let now_ts = Timestamp::now();
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
                    (svg::bars_linked(cx.t("dash.open_by_severity"), &adj))
                }
                div class="card" id="card-base" {
                    h2 { (cx.t("dash.base_by_severity")) }
                    (svg::bars_linked(cx.t("dash.base_by_severity"), &base))
                }
                div class="card" id="card-fix" {
                    h2 { (cx.t("dash.fixable")) " / " (cx.t("dash.unfixed")) }
                    (svg::bars_linked(cx.t("dash.fixable"), &[
                        (cx.t("dash.fixable"), counts.fixable, "c-ok", link("status=ACTIVE fix_available=true")),
                        (cx.t("dash.unfixed"), counts.total.saturating_sub(counts.fixable), "c-bad", link("status=ACTIVE fix_available=false")),
                    ]))
                    h2 { (cx.t("dash.kev")) }
                    p class="big" id="kev-count" { a href=(link("status=ACTIVE kev=true")) { (counts.kev) } }
                    h2 { (cx.t("dash.exposed_critical")) }
                    p class="big" id="exposed-critical" {
                        @if let Some(f) = &exposed_filter { a href=(link(f)) { (exposed_critical) } } @else { "0" }
                    }
                }
                div class="card" id="card-reachable" {
                    h2 { a href=(link(reachable_filter)) { (cx.t("dash.reachable_critical")) } }
                    @if services.is_empty() { p { (cx.t("dash.none")) } }
                    ol { @for (id, (name, packages, n)) in services.iter().take(20) {
                        li { a href={ "/assets/" (id) } { (name) } " "
                            @if facing.contains(id) { span class="tag" { "customer-facing" } " " }
                            span class="muted" { (packages.join(", ")) " · " (n) } }
                    } }
                }
                div class="card" id="card-trend" {
                    h2 { (cx.t("dash.trend")) }
                    (svg::line(cx.t("dash.trend"), &points))
                    p class="note" { (cx.t("dash.trend_note")) }
                }
                div class="card" id="card-coverage" {
                    h2 { a href="/coverage" { (cx.t("dash.coverage")) } }
                    (svg::bars_linked(cx.t("dash.coverage"), &cov_rows))
                }
                div class="card" id="card-eol" {
                    h2 { (cx.t("dash.eol")) " (" a id="eol-count" href="/assets?q=os_eol%3Ctoday" { (eol.len()) } ")" }
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

/// Customer-facing: the internet reaches the asset through a load balancer
/// listener, or on a web port (80, 443) where something listens: what the
/// asset's customers use, before what only its administrators do.
pub(super) fn customer_facing(a: &kensa_store::Asset) -> bool {
    a.reachability.as_ref().is_some_and(|r| {
        r.reachable.iter().any(|p| {
            p.via.contains("load balancer")
                || (p.listening
                    && p.protocol == "tcp"
                    && (p.from..=p.to).any(|x| x == 80 || x == 443))
        })
    })
}
