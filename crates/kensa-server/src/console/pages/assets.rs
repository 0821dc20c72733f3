//! `/assets`: the register, one row per server or image with its
//! management items, OS support, coverage and open findings; sortable,
//! filterable (the filter language with its asset keys), paged, and saved
//! as views like the findings list.

#[allow(unused_imports)]
use super::*;
use crate::asset_list::{RowContext, os_support, scan_method};
use kensa_store::{AssetQuery, AssetRow, AssetSort, AssetSortKey};

#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct AssetsQuery {
    /// Free filter text, in the filter language.
    q: Option<String>,
    /// `yes`, `no` or `unknown`.
    exposure: Option<String>,
    /// `support`: hardware/contract support ended or ends within 90 days;
    /// `os`: the same for the OS's end of life.
    ending: Option<String>,
    sort: Option<String>,
    page: Option<u64>,
}

pub(super) const ASSET_PAGE: u32 = 50;

impl AssetsQuery {
    fn filter_text(&self) -> String {
        let mut terms = Vec::new();
        if let Some(q) = self.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            terms.push(q.to_owned());
        }
        if let Some(e) = self.exposure.as_deref().filter(|e| !e.is_empty()) {
            terms.push(format!("internet_exposure={}", quote(e)));
        }
        match self.ending.as_deref() {
            Some("support") => {
                terms.push(format!("support_end<=+{}d", crate::asset_list::SOON_DAYS))
            }
            Some("os") => terms.push(format!("os_eol<=+{}d", crate::asset_list::SOON_DAYS)),
            _ => {}
        }
        terms.join(" ")
    }

    /// This view's address with some parameters changed (`None`: drop it).
    fn url(&self, changes: &[(&str, Option<&str>)]) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        let mut put = |k: &'static str, v: Option<&String>| {
            let v = match changes.iter().find(|(c, _)| *c == k) {
                Some((_, v)) => v.map(str::to_owned),
                None => v.cloned(),
            };
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                pairs.push((k, v));
            }
        };
        put("q", self.q.as_ref());
        put("exposure", self.exposure.as_ref());
        put("ending", self.ending.as_ref());
        put("sort", self.sort.as_ref());
        put("page", self.page.map(|p| p.to_string()).as_ref());
        let q = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        if q.is_empty() {
            "/assets".to_owned()
        } else {
            format!("/assets?{q}")
        }
    }
}

/// `GET /assets`.
pub(crate) async fn assets(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    Query(q): Query<AssetsQuery>,
) -> Response {
    let here = here("/assets", &raw);
    page(&state, headers, here, move |db, cx| {
        assets_page(db, cx, &q).map(Out::Page)
    })
    .await
}

/// The assets page's markup (also what the benchmark times).
pub fn render_assets(
    db: &kensa_store::Db,
    user: &str,
    role: Role,
    lang: Lang,
    raw_query: &str,
) -> Result<String, String> {
    let q: AssetsQuery = serde_urlencoded::from_str(raw_query).map_err(|e| e.to_string())?;
    let cx = Ctx {
        user: user.to_owned(),
        role,
        csrf: "ksc_bench".to_owned(),
        lang,
        here: format!("/assets?{raw_query}"),
    };
    assets_page(db, &cx, &q)
        .map(Markup::into_string)
        .map_err(|e| e.message().to_owned())
}

/// A findings list address for this filter text.
fn findings_of(filter: &str) -> String {
    format!(
        "/findings?{}",
        serde_urlencoded::to_string([("q", filter)]).unwrap_or_default()
    )
}

pub(crate) fn exposure_key(e: InternetExposure) -> &'static str {
    match e {
        InternetExposure::Yes => "exp.yes",
        InternetExposure::No => "exp.no",
        InternetExposure::Unknown => "exp.unknown",
    }
}

pub(crate) fn reason_key(reason: &str) -> &'static str {
    match reason {
        "SUCCESSFUL" => "cov.r.successful",
        "OS_END_OF_LIFE" => "cov.r.os_end_of_life",
        "UNMANAGED" => "cov.r.unmanaged",
        "PENDING_INITIAL_SCAN" => "cov.r.pending",
        "STALE_INVENTORY" => "cov.r.stale",
        "UNSUPPORTED_OS" => "cov.r.unsupported_os",
        "INVENTORY_FAILED" => "cov.r.inventory_failed",
        _ => "a.unknown",
    }
}

fn os_state_key(state: &str) -> &'static str {
    match state {
        "supported" => "os.supported",
        "extended" => "os.extended",
        "ended" => "os.ended",
        _ => "os.unknown",
    }
}

fn method_key(method: &str) -> &'static str {
    match method {
        "agent" => "scan.agent",
        "scan" => "scan.scan",
        "agentless" => "scan.agentless",
        _ => "scan.none",
    }
}

/// A date, highlighted when past or within 90 days.
fn dated(cx: &Ctx, rc: &RowContext, d: Option<&str>) -> Markup {
    let state = rc.date_state(d);
    html! {
        @if let Some(d) = d {
            span class={ "date date-" (state.unwrap_or("ok")) } title=[match state {
                Some("past") => Some(cx.t("date.past")),
                Some("soon") => Some(cx.t("date.soon")),
                _ => None,
            }] { (d) }
            @if state == Some("past") { " " span class="flag flag-past" { (cx.t("date.past")) } }
            @if state == Some("soon") { " " span class="flag flag-soon" { (cx.t("date.soon")) } }
        } @else { span class="muted" { "—" } }
    }
}

/// Columns of the register: (sort key, message).
const HEADS: &[(Option<AssetSortKey>, &str)] = &[
    (Some(AssetSortKey::Name), "as.name"),
    (Some(AssetSortKey::Os), "as.os"),
    (Some(AssetSortKey::OsEol), "as.os_eol"),
    (None, "a.middleware"),
    (Some(AssetSortKey::OperationStart), "a.operation_start"),
    (Some(AssetSortKey::SupportEnd), "as.support_end"),
    (Some(AssetSortKey::Exposure), "a.exposure"),
    (Some(AssetSortKey::Owner), "a.owner"),
    (Some(AssetSortKey::Team), "a.team"),
    (Some(AssetSortKey::Environment), "a.environment"),
    (None, "as.tags"),
    (None, "as.coverage"),
    (Some(AssetSortKey::LastReport), "as.last_report"),
    (Some(AssetSortKey::Critical), "sev.CRITICAL"),
    (None, "sev.HIGH"),
    (None, "sev.MEDIUM"),
    (None, "sev.LOW"),
    (None, "sev.UNTRIAGED"),
    (Some(AssetSortKey::Open), "as.open"),
    (Some(AssetSortKey::Overdue), "as.oldest_overdue"),
];

pub(super) fn assets_page(db: &kensa_store::Db, cx: &Ctx, q: &AssetsQuery) -> ApiResult<Markup> {
    let text = q.filter_text();
    let filter = Filter::parse(&text).map_err(bad)?;
    let sort: AssetSort = match q.sort.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => s.parse().map_err(bad)?,
        None => AssetSort::default(),
    };
    let page_no = q.page.unwrap_or(0);
    let p = db.query_assets(&AssetQuery {
        filter,
        sort,
        limit: Some(ASSET_PAGE),
        page: page_no,
    })?;
    let rc = RowContext::new(db, &p.rows)?;
    let first = page_no * u64::from(ASSET_PAGE);
    let more = first + (p.rows.len() as u64) < p.total;
    let sort_link = |key: AssetSortKey| {
        // A second click turns the sorted column round; counts sort most
        // first, the rest ascending.
        let descending = if sort.key == key {
            !sort.descending
        } else {
            matches!(
                key,
                AssetSortKey::Critical | AssetSortKey::Open | AssetSortKey::Overdue
            )
        };
        let s = AssetSort { key, descending }.to_string();
        q.url(&[("sort", Some(&s)), ("page", None)])
    };
    let export = |format: &str| {
        let sort = sort.to_string();
        serde_urlencoded::to_string([
            ("format", format),
            ("filter", text.as_str()),
            ("sort", sort.as_str()),
            ("lang", cx.lang.code()),
        ])
        .unwrap_or_default()
    };
    let saved = db.saved_views(&cx.user)?;
    let this_view = q.url(&[("page", None)]);
    Ok(layout(
        cx,
        cx.t("as.title"),
        html! {
            h1 { (cx.t("as.title")) }
            form method="get" action="/assets" class="row" id="asset-filters" {
                label { (cx.t("f.filter"))
                    input type="text" name="q" class="filter" id="asset-q" value=(q.q.as_deref().unwrap_or("")) placeholder=(cx.t("as.filter_help")) title=(cx.t("as.filter_help"));
                }
                label { (cx.t("a.exposure"))
                    select name="exposure" id="quick-exposure" {
                        option value="" { (cx.t("f.any")) }
                        @for e in [InternetExposure::Yes, InternetExposure::No, InternetExposure::Unknown] {
                            option value=(e.as_str()) selected[q.exposure.as_deref() == Some(e.as_str())] { (cx.t(exposure_key(e))) }
                        }
                    }
                }
                label { (cx.t("as.ending"))
                    select name="ending" id="quick-ending" {
                        option value="" { (cx.t("f.any")) }
                        option value="support" selected[q.ending.as_deref() == Some("support")] { (cx.t("as.ending_support")) }
                        option value="os" selected[q.ending.as_deref() == Some("os")] { (cx.t("as.ending_os")) }
                    }
                }
                @if let Some(s) = &q.sort { input type="hidden" name="sort" value=(s); }
                button type="submit" id="apply-asset-filters" { (cx.t("f.apply")) }
                a href="/assets" { (cx.t("f.reset")) }
            }
            p class="muted" {
                code id="effective-filter" { (text) }
                " · " a id="export-assets-csv" href={ "/api/v1/assets/export?" (export("csv")) } { (cx.t("as.export_csv")) }
                " · " a id="export-assets-xlsx" href={ "/api/v1/assets/export?" (export("xlsx")) } { (cx.t("as.export_xlsx")) }
            }
            (saved_views_panel(cx, &saved, &this_view))
            p id="asset-count" {
                @if p.total == 0 { (cx.t("as.none")) }
                @else { (first + 1) "–" (first + p.rows.len() as u64) " / " strong { (p.total) } " " (cx.t("as.assets")) }
            }
            @if !p.rows.is_empty() {
                div class="wide" {
                table id="assets" class="register" {
                    thead { tr {
                        @for (key, label) in HEADS {
                            th class=[label.starts_with("sev.").then_some("num")] {
                                @if let Some(k) = key {
                                    a class="sort" data-key=(k.as_str()) href=(sort_link(*k)) {
                                        (cx.t(label))
                                        @if sort.key == *k { @if sort.descending { " ▼" } @else { " ▲" } }
                                    }
                                } @else { (cx.t(label)) }
                            }
                        }
                    } }
                    tbody {
                        @for r in &p.rows { (asset_row(cx, &rc, r)) }
                    }
                }
                }
            }
            div class="pager" {
                @if page_no > 0 {
                    a id="prev-page" href=(q.url(&[("page", Some(&(page_no - 1).to_string()))])) { (cx.t("f.prev")) }
                }
                @if more {
                    a id="next-page" href=(q.url(&[("page", Some(&(page_no + 1).to_string()))])) { (cx.t("f.next")) }
                }
            }
            p class="muted" { (cx.t("as.note")) }
        },
    ))
}

fn asset_row(cx: &Ctx, rc: &RowContext, r: &AssetRow) -> Markup {
    let a = &r.asset;
    let m = &a.management;
    let id = a.id.0;
    let href = format!("/assets/{id}");
    let (status, reason) = coverage_of(a, &rc.coverage);
    let os = os_support(a, &rc.today);
    let method = scan_method(a, r.agent, rc.agentless(a));
    let exposure = m.internet_exposure.unwrap_or_default();
    let o = &r.open;
    let of_asset = |more: &str| {
        if more.is_empty() {
            findings_of(&format!("asset_id={id}"))
        } else {
            findings_of(&format!("asset_id={id} {more}"))
        }
    };
    let os_filter = match (&a.os_id, &a.os_release) {
        (Some(i), Some(rel)) => Some(format!("os={} os_release={}", quote(i), quote(rel))),
        (Some(i), None) => Some(format!("os={}", quote(i))),
        _ => None,
    };
    let item = |key: &str, v: &Option<String>| -> Markup {
        html! {
            @if let Some(v) = v {
                a href=(findings_of(&format!("{key}={}", quote(v)))) { (v) }
            } @else { span class="muted" { "—" } }
        }
    };
    let count = |n: u64, sev: &str| -> Markup {
        html! {
            @if n > 0 {
                a class={ "count sev-text-" (sev) } href=(of_asset(&format!("severity={sev}"))) { (n) }
            } @else { a class="count zero" href=(of_asset(&format!("severity={sev}"))) { "0" } }
        }
    };
    html! {
        tr data-id=(id) {
            td class="name" {
                a class="asset-link" href=(href) { (a.name) }
                @if a.hostname.as_deref().is_some_and(|h| h != a.name) {
                    br; span class="muted" { (a.hostname.as_deref().unwrap_or("")) }
                }
            }
            td class="os" {
                @if let Some(f) = &os_filter {
                    a href=(findings_of(f)) {
                        (a.os_pretty.as_deref().or(a.os_id.as_deref()).unwrap_or(""))
                        @if a.os_pretty.is_none() { " " (a.os_release.as_deref().unwrap_or("")) }
                    }
                } @else {
                    a href=(href) { (a.os_pretty.as_deref().unwrap_or("—")) }
                }
            }
            td class="os-eol" {
                a href=(href) class="plain" { (dated(cx, rc, os.eol.as_deref())) }
                br;
                span class={ "os-state os-" (os.state) } { (cx.t(os_state_key(os.state))) }
                @if os.state == "extended" {
                    @if let Some(x) = &os.extended_support { " " span class="muted" { "→ " (x) } }
                }
            }
            td class="middleware" {
                @for mw in &a.middleware {
                    a href=(href) { (mw.name) " " span class="mono" { (mw.version) } } br;
                }
            }
            td { a href=(href) class="plain" { (m.operation_start.as_deref().unwrap_or("—")) } }
            td class="support-end" { a href=(href) class="plain" { (dated(cx, rc, m.support_end.as_deref())) } }
            td class="exposure" {
                a href=(href) class={ "exp exp-" (exposure.as_str()) } { (cx.t(exposure_key(exposure))) }
                @for p in &m.exposed_ports {
                    " " a class="port mono" href=(findings_of(&format!("asset_id={id} port={}", p.port))) { (p.to_string()) }
                }
            }
            td { (item("owner", &m.owner)) }
            td { (item("team", &m.team)) }
            td { (item("environment", &m.environment)) }
            td class="tags" {
                @for t in &m.tags { a class="tag" href=(findings_of(&format!("tag={}", quote(t)))) { (t) } " " }
            }
            td class="coverage" {
                a href=(href) class="plain" {
                    span class={ "cov cov-" (status) } { (cx.t(reason_key(reason))) }
                    br; span class="muted" { (cx.t("as.method")) ": " (cx.t(method_key(method))) }
                }
            }
            td { a href=(href) class="plain" { (a.inventory_at.map(when).unwrap_or_else(|| "—".to_owned())) } }
            td class="num" { (count(o.critical, "CRITICAL")) }
            td class="num" { (count(o.high, "HIGH")) }
            td class="num" { (count(o.medium, "MEDIUM")) }
            td class="num" { (count(o.low, "LOW")) }
            td class="num" title=(cx.t("sev.untriaged_note")) { (count(o.untriaged, "UNTRIAGED")) }
            td class="num" { a href=(of_asset("")) { (o.total) } }
            td class="overdue-cell" {
                @if let Some(f) = &o.oldest_overdue {
                    a class="overdue" href={ "/findings/" (f.id.0) } { (f.vulnerability_id) }
                    br; span class="muted" { (day(f.due_at)) " · " }
                    a class="muted" href=(format!("{}&sort=due%3Aasc", of_asset(""))) { (o.overdue) " " (cx.t("dash.overdue")) }
                }
            }
        }
    }
}
