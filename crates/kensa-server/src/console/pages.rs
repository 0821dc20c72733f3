//! The console's pages and form handlers.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use kensa_store::{
    AssetId, BANDS, Filter, FindingId, FindingQuery, FindingSummary, GroupBy, InternetExposure,
    ManagementPatch, Sort, SortKey, Timestamp, TriageChange,
};
use maud::{Markup, html};
use serde::Deserialize;

use super::{Ctx, Form, Lang, Out, answer, csrf_field, ctx, day, layout, post_ctx, svg, when};
use crate::assets::{CoverageContext, coverage_of};
use crate::auth::{self, Role};
use crate::kit::{ApiError, ApiResult, AppState, with_db};

/// The request's path and query, as the way back from the login page or a
/// language switch.
fn here(path: &str, raw: &Option<String>) -> String {
    match raw {
        Some(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path.to_owned(),
    }
}

/// Runs a page: the session, then `f` on the blocking pool, then the
/// answer (see [`answer`]).
async fn page(
    state: &Arc<AppState>,
    headers: HeaderMap,
    here: String,
    f: impl FnOnce(&kensa_store::Db, &Ctx) -> ApiResult<Out> + Send + 'static,
) -> Response {
    let lang = Lang::of(&headers);
    let back = here.clone();
    let r = with_db(state, move |db| {
        let cx = ctx(db, &headers, here)?;
        f(db, &cx)
    })
    .await;
    answer(lang, &back, r)
}

/// Runs a form post: the form, its CSRF token and the session, then `f`.
async fn post(
    state: &Arc<AppState>,
    headers: HeaderMap,
    body: Bytes,
    f: impl FnOnce(&kensa_store::Db, &Ctx, Form) -> ApiResult<Out> + Send + 'static,
) -> Response {
    let lang = Lang::of(&headers);
    let r = match Form::parse(&body) {
        Ok(form) => {
            with_db(state, move |db| {
                let cx = post_ctx(db, &headers, &form)?;
                f(db, &cx, form)
            })
            .await
        }
        Err(e) => Err(e),
    };
    answer(lang, "/", r)
}

fn bad(e: kensa_store::StoreError) -> ApiError {
    ApiError::bad(e.to_string())
}

/// The quick status filter as a term. A known status is written as "none
/// of the other two" (the same findings, as the status is one of three and
/// never NULL): an equality on the status makes SQLite's planner take a
/// status index and sort every open finding (a second at 1 million), where
/// the not-equals form leaves it the sort column's own index to walk.
fn status_term(status: &str) -> String {
    const ALL: [&str; 3] = ["ACTIVE", "SUPPRESSED", "CLOSED"];
    if ALL.contains(&status) {
        let others: Vec<&str> = ALL.iter().copied().filter(|s| *s != status).collect();
        format!("status!={}", others.join(","))
    } else {
        format!("status={}", quote(status))
    }
}

/// A filter value written so that the filter language reads it back as
/// one value.
fn quote(v: &str) -> String {
    if v.is_empty() || v.contains([' ', ',', '"', '\\', '=', '<', '>', '^', '!']) {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        v.to_owned()
    }
}

fn sev_badge(s: &str) -> Markup {
    html! { span class={ "sev sev-" (s) } { (s) } }
}

fn score(v: Option<f64>) -> String {
    v.map_or_else(String::new, |s| format!("{s:.1}"))
}

fn epss(v: Option<f64>) -> String {
    v.map_or_else(String::new, |s| format!("{:.1}%", s * 100.0))
}

// ---------------------------------------------------------------- findings

#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct FindingsQuery {
    /// `list` (default), `vulnerability`, `asset` or `package`.
    view: Option<String>,
    /// Free filter text, in the filter language.
    q: Option<String>,
    severity: Option<String>,
    /// Absent: ACTIVE; empty: any.
    status: Option<String>,
    /// A package name prefix.
    package: Option<String>,
    sort: Option<String>,
    cursor: Option<String>,
    /// The aggregated views' page (they page by offset).
    page: Option<u64>,
    /// After a bulk change: how many findings it changed.
    changed: Option<u64>,
}

const AGG_PAGE: u32 = 100;
const LIST_PAGE: u32 = 50;

impl FindingsQuery {
    fn status(&self) -> &str {
        self.status.as_deref().unwrap_or("ACTIVE")
    }

    /// The filter the page shows: the text box and the quick filters.
    fn filter_text(&self) -> String {
        let mut terms = Vec::new();
        if let Some(q) = self.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            terms.push(q.to_owned());
        }
        if let Some(s) = self.severity.as_deref().filter(|s| !s.is_empty()) {
            terms.push(format!("severity={}", quote(s)));
        }
        if !self.status().is_empty() {
            terms.push(status_term(self.status()));
        }
        if let Some(p) = self
            .package
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            terms.push(format!("package^={}", quote(p)));
        }
        terms.join(" ")
    }

    /// This view's address with some parameters changed (`None`: drop it).
    fn url(&self, changes: &[(&str, Option<&str>)]) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        let mut put = |k: &'static str, v: Option<&String>| {
            let new = changes.iter().find(|(c, _)| *c == k);
            let v = match new {
                Some((_, v)) => v.map(str::to_owned),
                None => v.cloned(),
            };
            if let Some(v) = v
                && (!v.is_empty() || k == "status")
            {
                pairs.push((k, v));
            }
        };
        put("view", self.view.as_ref());
        put("q", self.q.as_ref());
        put("severity", self.severity.as_ref());
        put("status", self.status.as_ref());
        put("package", self.package.as_ref());
        put("sort", self.sort.as_ref());
        put("cursor", self.cursor.as_ref());
        put("page", self.page.map(|p| p.to_string()).as_ref());
        let q = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        if q.is_empty() {
            "/findings".to_owned()
        } else {
            format!("/findings?{q}")
        }
    }
}

/// `GET /findings`: the list, or a view grouped by vulnerability, asset or
/// package; every bit of state in the address.
pub(crate) async fn findings(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    Query(q): Query<FindingsQuery>,
) -> Response {
    let here = here("/findings", &raw);
    page(&state, headers, here, move |db, cx| {
        findings_page(db, cx, &q).map(Out::Page)
    })
    .await
}

/// The findings page's markup (also what the benchmark times).
pub fn render_findings(
    db: &kensa_store::Db,
    user: &str,
    role: Role,
    lang: Lang,
    raw_query: &str,
) -> Result<String, String> {
    let q: FindingsQuery = serde_urlencoded::from_str(raw_query).map_err(|e| e.to_string())?;
    let cx = Ctx {
        user: user.to_owned(),
        role,
        csrf: "ksc_bench".to_owned(),
        lang,
        here: format!("/findings?{raw_query}"),
    };
    findings_page(db, &cx, &q)
        .map(Markup::into_string)
        .map_err(|e| e.message().to_owned())
}

fn findings_page(db: &kensa_store::Db, cx: &Ctx, q: &FindingsQuery) -> ApiResult<Markup> {
    let text = q.filter_text();
    let filter = Filter::parse(&text).map_err(bad)?;
    let view = q.view.as_deref().unwrap_or("list");
    let export = serde_urlencoded::to_string([("format", "csv"), ("filter", text.as_str())])
        .unwrap_or_default();
    let export_json = serde_urlencoded::to_string([("format", "json"), ("filter", text.as_str())])
        .unwrap_or_default();
    let tabs = [
        ("list", "f.view.list"),
        ("vulnerability", "f.view.vulnerability"),
        ("asset", "f.view.asset"),
        ("package", "f.view.package"),
    ];
    let body = match view {
        "list" => findings_list(db, cx, q, &filter, &text)?,
        "vulnerability" | "asset" | "package" => findings_grouped(db, cx, q, &filter, view)?,
        other => {
            return Err(ApiError::bad(format!(
                "view {other:?}: list, vulnerability, asset or package"
            )));
        }
    };
    let statuses = ["ACTIVE", "SUPPRESSED", "CLOSED"];
    let saved = db.saved_views(&cx.user)?;
    let this_view = q.url(&[("cursor", None), ("page", None), ("changed", None)]);
    Ok(layout(
        cx,
        cx.t("f.title"),
        html! {
            h1 { (cx.t("f.title")) }
            @if let Some(n) = q.changed { p class="ok" id="changed" { (n) " " (cx.t("f.changed")) } }
            form method="get" action="/findings" class="row" id="filters" {
                @if view != "list" { input type="hidden" name="view" value=(view); }
                label { (cx.t("f.filter"))
                    input type="text" name="q" class="filter" value=(q.q.as_deref().unwrap_or("")) placeholder=(cx.t("f.filter_help")) title=(cx.t("f.filter_help"));
                }
                label { (cx.t("f.severity"))
                    select name="severity" id="quick-severity" {
                        option value="" { (cx.t("f.any")) }
                        @for b in BANDS { option value=(b) selected[q.severity.as_deref() == Some(b)] { (b) } }
                    }
                }
                label { (cx.t("f.status"))
                    select name="status" id="quick-status" {
                        option value="" selected[q.status() == ""] { (cx.t("f.any")) }
                        @for s in statuses { option value=(s) selected[q.status() == s] { (s) } }
                    }
                }
                label { (cx.t("f.package"))
                    input type="text" name="package" id="quick-package" value=(q.package.as_deref().unwrap_or(""));
                }
                @if let Some(s) = &q.sort { input type="hidden" name="sort" value=(s); }
                button type="submit" id="apply-filters" { (cx.t("f.apply")) }
                a href="/findings" { (cx.t("f.reset")) }
            }
            p class="muted" {
                code id="effective-filter" { (text) }
                " · " a id="export-csv" href={ "/api/v1/findings/export?" (export) } { (cx.t("f.export_csv")) }
                " · " a id="export-json" href={ "/api/v1/findings/export?" (export_json) } { (cx.t("f.export_json")) }
                " · " span class="muted" { (cx.t("f.saved_view")) }
            }
            div class="panel row" id="saved-views" {
                strong { (cx.t("v.saved")) ": " }
                @for v in &saved {
                    span class="saved" {
                        a class="saved-view" href=(v.url) { (v.name) }
                        form method="post" action="/views/delete" class="inline" {
                            (csrf_field(cx))
                            input type="hidden" name="name" value=(v.name);
                            input type="hidden" name="back" value=(this_view);
                            button type="submit" class="danger small" title=(cx.t("v.delete")) { "×" }
                        }
                    }
                }
                form method="post" action="/views" class="inline" id="save-view" {
                    (csrf_field(cx))
                    input type="hidden" name="url" value=(this_view);
                    label { (cx.t("v.save_as")) " " input type="text" name="name" id="view-name" required; }
                    " " button type="submit" id="view-save" { (cx.t("v.save")) }
                }
            }
            nav class="tabs" {
                @for (v, key) in tabs {
                    a class=[(v == view).then_some("on")] id={ "view-" (v) }
                        href=(q.url(&[("view", (v != "list").then_some(v)), ("cursor", None), ("page", None), ("changed", None)])) { (cx.t(key)) }
                }
            }
            (body)
        },
    ))
}

/// Columns of the list: (sort key, message).
const COLUMNS: &[(Option<SortKey>, &str)] = &[
    (Some(SortKey::Severity), "f.severity"),
    (Some(SortKey::VulnerabilityId), "f.vulnerability"),
    (Some(SortKey::Package), "f.package"),
    (None, "f.installed"),
    (None, "f.fixed"),
    (Some(SortKey::AssetId), "f.asset"),
    (Some(SortKey::Score), "f.score"),
    (Some(SortKey::Epss), "f.epss"),
    (None, "f.status"),
    (None, "f.triage"),
    (None, "f.assignee"),
    (Some(SortKey::FirstObserved), "f.first_observed"),
    (Some(SortKey::Due), "f.due"),
];

fn findings_list(
    db: &kensa_store::Db,
    cx: &Ctx,
    q: &FindingsQuery,
    filter: &Filter,
    text: &str,
) -> ApiResult<Markup> {
    let sort: Sort = match q.sort.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => s.parse().map_err(bad)?,
        None => Sort::default(),
    };
    let page = db
        .query_findings(&FindingQuery {
            filter: filter.clone(),
            sort,
            limit: Some(LIST_PAGE),
            cursor: q.cursor.clone().filter(|c| !c.is_empty()),
        })
        .map_err(|e| match e {
            kensa_store::StoreError::InvalidArgument(m) => ApiError::bad(m),
            e => ApiError::from(e),
        })?;
    let analyst = cx.can(Role::Analyst);
    let sort_link = |key: SortKey| {
        // A second click on the sorted column turns it round; a first one
        // sorts text ascending and the rest most-first.
        let descending = if sort.key == key {
            !sort.descending
        } else {
            !matches!(
                key,
                SortKey::VulnerabilityId | SortKey::Package | SortKey::AssetId | SortKey::Due
            )
        };
        let s = Sort { key, descending }.to_string();
        q.url(&[("sort", Some(&s)), ("cursor", None), ("changed", None)])
    };
    let states = kensa_store::TriageState::ALL;
    Ok(html! {
        @if analyst {
            form method="post" action="/findings/bulk" id="bulk" class="panel row" {
                (csrf_field(cx))
                input type="hidden" name="filter" value=(text);
                input type="hidden" name="back" value=(q.url(&[("cursor", None), ("changed", None)]));
                strong { (cx.t("f.bulk")) }
                label { (cx.t("fd.state"))
                    select name="state" id="bulk-state" {
                        option value="" { "—" }
                        @for s in states { option value=(s) { (s) } }
                    }
                }
                label { (cx.t("f.assignee")) input type="text" name="assignee" id="bulk-assignee"; }
                label { (cx.t("fd.comment")) input type="text" name="comment"; }
                label { (cx.t("f.suppress")) input type="checkbox" name="suppress" value="1" id="bulk-suppress"; }
                label { (cx.t("f.suppress_reason")) input type="text" name="suppress_reason" id="bulk-reason"; }
                button type="submit" id="bulk-submit" { (cx.t("f.bulk_submit")) }
            }
        }
        @if page.findings.is_empty() {
            p id="no-findings" { (cx.t("f.none")) }
        } @else {
            table id="findings" {
                thead { tr {
                    @if analyst { th { input type="checkbox" id="select-all" title="all"; } }
                    @for (key, label) in COLUMNS {
                        th {
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
                    @for f in &page.findings { (finding_row(f, analyst)) }
                }
            }
        }
        div class="pager" {
            @if q.cursor.as_deref().is_some_and(|c| !c.is_empty()) {
                a id="first-page" href=(q.url(&[("cursor", None), ("changed", None)])) { (cx.t("f.first")) }
            }
            @if let Some(c) = &page.next_cursor {
                a id="next-page" href=(q.url(&[("cursor", Some(c)), ("changed", None)])) { (cx.t("f.next")) }
            }
        }
    })
}

fn finding_row(f: &FindingSummary, analyst: bool) -> Markup {
    let now = Timestamp::now();
    html! {
        tr data-id=(f.id.0) {
            @if analyst { td { input type="checkbox" class="pick" name="id" value=(f.id.0) form="bulk"; } }
            td { (sev_badge(&f.severity)) @if f.kev { span class="kev" { "KEV" } } }
            td { a class="finding-link" href={ "/findings/" (f.id.0) } { (f.vulnerability_id) } }
            td class="pkg" { (f.package_name) @if let Some(a) = &f.package_arch { span class="muted" { " " (a) } } }
            td class="mono" { (f.installed_version) }
            td class="mono" { (f.fixed_version.as_deref().unwrap_or("")) }
            td { a href={ "/assets/" (f.asset_id.0) } { (f.asset_name) } }
            td class="num" { (score(f.score)) }
            td class="num" { (epss(f.epss)) }
            td class="status" { (f.status.as_str()) }
            td class="triage" { (f.triage_state.as_deref().unwrap_or("")) }
            td class="assignee" { (f.assignee.as_deref().unwrap_or("")) }
            td { (day(f.first_observed)) }
            td {
                @if let Some(d) = f.due_at {
                    span class=[(d < now && f.status.as_str() != "CLOSED").then_some("overdue")] { (day(d)) }
                }
            }
        }
    }
}

fn findings_grouped(
    db: &kensa_store::Db,
    cx: &Ctx,
    q: &FindingsQuery,
    filter: &Filter,
    view: &str,
) -> ApiResult<Markup> {
    let by: GroupBy = view.parse().map_err(bad)?;
    let page_no = q.page.unwrap_or(0);
    let groups = db.aggregate_findings(filter, by, AGG_PAGE + 1, page_no * u64::from(AGG_PAGE))?;
    let more = groups.len() > AGG_PAGE as usize;
    let key_term = |key: &str| match by {
        GroupBy::Asset => format!("asset_id={key}"),
        GroupBy::Vulnerability => format!("vulnerability_id={}", quote(key)),
        _ => format!("package={}", quote(key)),
    };
    let drill = |key: &str| {
        let q2 = match q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(t) => format!("{t} {}", key_term(key)),
            None => key_term(key),
        };
        q.url(&[
            ("view", None),
            ("q", Some(&q2)),
            ("page", None),
            ("cursor", None),
        ])
    };
    let head = match by {
        GroupBy::Asset => "f.asset",
        GroupBy::Vulnerability => "f.vulnerability",
        _ => "f.package",
    };
    Ok(html! {
        @if groups.is_empty() {
            p id="no-findings" { (cx.t("f.none")) }
        } @else {
            table id="groups" {
                thead { tr {
                    th { (cx.t(head)) }
                    th class="num" { (cx.t("f.total")) }
                    @for b in BANDS { th class="num" { (sev_badge(b)) } }
                    th class="num" { (cx.t("dash.fixable")) }
                    th class="num" { "KEV" }
                    th class="num" { (cx.t("f.max_score")) }
                    th class="num" { (cx.t("f.assets")) }
                } }
                tbody {
                    @for g in groups.iter().take(AGG_PAGE as usize) {
                        tr {
                            td { a class="group-link" href=(drill(&g.key)) { (g.name.as_deref().unwrap_or(&g.key)) } }
                            td class="num" { (g.total) }
                            td class="num" { (g.critical) } td class="num" { (g.high) } td class="num" { (g.medium) }
                            td class="num" { (g.low) } td class="num" { (g.informational) } td class="num" { (g.untriaged) }
                            td class="num" { (g.fixable) } td class="num" { (g.kev) }
                            td class="num" { (score(g.max_score)) } td class="num" { (g.assets) }
                        }
                    }
                }
            }
        }
        div class="pager" {
            @if page_no > 0 {
                a href=(q.url(&[("page", Some(&(page_no - 1).to_string()))])) { (cx.t("f.prev")) }
            }
            @if more {
                a id="next-page" href=(q.url(&[("page", Some(&(page_no + 1).to_string()))])) { (cx.t("f.next")) }
            }
        }
    })
}

/// `POST /findings/bulk` (analyst): one triage change over the filter the
/// list showed, or over the ticked findings of it.
pub(crate) async fn bulk(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    post(&state, headers, body, |db, cx, form| {
        cx.require(Role::Analyst, "triage needs the analyst role")?;
        let mut filter = Filter::parse(form.get("filter").unwrap_or("")).map_err(bad)?;
        let ids: Vec<i64> = form
            .all("id")
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.parse()
                    .map_err(|_| ApiError::bad(format!("id {v:?}: expected a number")))
            })
            .collect::<ApiResult<_>>()?;
        if !ids.is_empty() {
            let list: Vec<String> = ids.iter().map(i64::to_string).collect();
            filter = filter.and(&Filter::parse(&format!("id={}", list.join(","))).map_err(bad)?);
        }
        if filter.is_empty() {
            return Err(ApiError::bad(
                "a bulk change needs a non-empty filter or ticked findings",
            ));
        }
        let mut change = TriageChange::default();
        if let Some(s) = form.get("state") {
            change.state = Some(Some(
                kensa_store::TriageState::parse(s)
                    .ok_or_else(|| ApiError::bad(format!("state {s:?}")))?,
            ));
        }
        if let Some(a) = form.get("assignee") {
            change.assignee = Some(Some(a.to_owned()));
        }
        if let Some(c) = form.get("comment") {
            change.comment = Some(Some(c.to_owned()));
        }
        if form.get("suppress").is_some() {
            change.suppressed = Some(true);
            change.suppress_reason = form.get("suppress_reason").map(str::to_owned);
        }
        if change.is_empty() {
            return Err(ApiError::bad(
                "nothing to change: choose a state, an assignee, a comment or suppress",
            ));
        }
        change.validate().map_err(bad)?;
        let n = db.triage_bulk(&filter, &change, &cx.user, Timestamp::now())?;
        let back = super::local(form.get("back").unwrap_or("/findings"));
        let sep = if back.contains('?') { '&' } else { '?' };
        Ok(Out::See(format!("{back}{sep}changed={n}")))
    })
    .await
}

/// `POST /views`: saves the view's address under a name, for the caller.
pub(crate) async fn view_save(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    post(&state, headers, body, |db, cx, form| {
        let url = super::local(form.get("url").unwrap_or("/findings"));
        let name = form.get("name").unwrap_or("").to_owned();
        db.save_view(
            &cx.user,
            &kensa_store::SavedView {
                name,
                url: url.clone(),
            },
            Timestamp::now(),
        )?;
        Ok(Out::See(url))
    })
    .await
}

/// `POST /views/delete`: deletes one of the caller's saved views.
pub(crate) async fn view_delete(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    post(&state, headers, body, |db, cx, form| {
        db.delete_view(&cx.user, form.get("name").unwrap_or(""), Timestamp::now())?;
        Ok(Out::See(super::local(
            form.get("back").unwrap_or("/findings"),
        )))
    })
    .await
}

// ----------------------------------------------------------- finding detail

pub(crate) async fn finding(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    page(&state, headers, format!("/findings/{id}"), move |db, cx| {
        finding_page(db, cx, FindingId(id)).map(Out::Page)
    })
    .await
}

fn finding_page(db: &kensa_store::Db, cx: &Ctx, id: FindingId) -> ApiResult<Markup> {
    let f = db
        .finding(id)?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no finding {}", id.0)))?;
    let triage = db.finding_triage(id)?;
    let audit = db.triage_audit(id)?;
    let events = db.finding_events(id)?;
    let asset = db.asset(f.asset)?;
    let d = &f.finding;
    let others = db.query_findings(&FindingQuery {
        filter: Filter::parse(&format!("vulnerability_id={}", quote(&f.vulnerability_id)))
            .map_err(bad)?,
        sort: Sort {
            key: SortKey::AssetId,
            descending: false,
        },
        limit: Some(100),
        cursor: None,
    })?;
    let analyst = cx.can(Role::Analyst);
    let title = format!("{} · {}", f.vulnerability_id, f.package_name);
    let sev = f.severity.as_str();
    Ok(layout(
        cx,
        &title,
        html! {
            h1 id="finding-title" { (sev_badge(sev)) " " (f.vulnerability_id) " — " (f.package_name)
                @if f.kev { span class="kev" { "KEV" } } }
            @if let Some(t) = &d.title { p { strong { (t) } } }
            div class="cards" {
                div class="card" {
                    dl class="kv" {
                        dt { (cx.t("f.asset")) } dd { a href={ "/assets/" (f.asset.0) } { (asset.as_ref().map_or("", |a| a.name.as_str())) } }
                        dt { (cx.t("f.status")) } dd id="finding-status" { (f.status.as_str()) }
                        dt { (cx.t("f.installed")) } dd class="mono" { (f.installed_version) }
                        dt { (cx.t("f.fixed")) } dd class="mono" { (f.fixed_version.as_deref().unwrap_or("—")) }
                        dt { (cx.t("f.first_observed")) } dd { (when(f.first_observed)) }
                        dt { (cx.t("f.last_observed")) } dd { (when(f.last_observed)) }
                        dt { (cx.t("f.due")) } dd { (triage.due_at.map(day).unwrap_or_default()) }
                        dt { "EPSS" } dd { @if let Some(e) = &d.epss { (format!("{:.2}% (percentile {:.0}%, {})", e.score * 100.0, e.percentile * 100.0, e.date)) } @else { "—" } }
                        dt { "KEV" } dd { @if let Some(k) = &d.kev { (k.date_added) " · " (k.required_action) @if k.ransomware { " · ransomware" } } @else { "—" } }
                    }
                }
                div class="card" {
                    h2 { (cx.t("fd.fix")) }
                    @if let Some(r) = &d.remediation { pre class="cmd" id="fix-command" { (r) } } @else { p { "—" } }
                    @if !d.detection.notes.is_empty() {
                        h2 { (cx.t("fd.notes")) }
                        ul { @for n in &d.detection.notes { li { (n) } } }
                    }
                }
            }
            h2 { (cx.t("fd.description")) }
            p id="description" { (d.description.as_deref().unwrap_or("—")) }
            h2 { (cx.t("fd.scores")) }
            @if let Some(s) = &d.score {
                dl class="kv panel" {
                    dt { (cx.t("fd.base_vector")) } dd { code id="base-vector" { (s.base_vector) } " " (format!("{:.1}", s.base)) " (" (s.base_source) ")" }
                    dt { (cx.t("fd.adjusted_vector")) } dd { code id="adjusted-vector" { (s.vector) } " " strong { (format!("{:.1}", s.adjusted)) } }
                }
                @if !s.adjustments.is_empty() {
                    table id="adjustments" {
                        thead { tr { th { (cx.t("fd.metric")) } th { (cx.t("fd.value")) } th { (cx.t("fd.reason")) } } }
                        tbody { @for a in &s.adjustments { tr { td { code { (a.metric) } } td { code { (a.value) } } td { (a.reason) } } } }
                    }
                }
            }
            @if !d.cvss.is_empty() {
                h2 { (cx.t("fd.vectors")) }
                table {
                    thead { tr { th { (cx.t("fd.source")) } th { "CVSS" } th { "Vector" } th class="num" { (cx.t("f.score")) } } }
                    tbody { @for c in &d.cvss { tr { td { (c.source) } td { (c.version) } td { code { (c.vector) } } td class="num" { (format!("{:.1}", c.base_score)) } } } }
                }
            }
            @if !d.references.is_empty() {
                h2 { (cx.t("fd.references")) }
                ul id="references" {
                    @for r in &d.references {
                        li {
                            @if r.starts_with("https://") || r.starts_with("http://") {
                                a href=(r) rel="noreferrer noopener" { (r) }
                            } @else { (r) }
                        }
                    }
                }
            }
            h2 { (cx.t("fd.affected")) }
            table id="affected" {
                thead { tr { th { (cx.t("f.asset")) } th { (cx.t("f.package")) } th { (cx.t("f.installed")) } th { (cx.t("f.fixed")) } th { (cx.t("f.status")) } } }
                tbody {
                    @for o in &others.findings {
                        tr {
                            td { a href={ "/assets/" (o.asset_id.0) } { (o.asset_name) } }
                            td { a href={ "/findings/" (o.id.0) } { (o.package_name) } }
                            td class="mono" { (o.installed_version) }
                            td class="mono" { (o.fixed_version.as_deref().unwrap_or("")) }
                            td { (o.status.as_str()) }
                        }
                    }
                }
            }
            h2 { (cx.t("fd.triage_form")) }
            @if analyst {
                (triage_form(cx, id, &triage))
            } @else {
                dl class="kv panel" id="triage-readonly" {
                    dt { (cx.t("fd.state")) } dd { (triage.state.map_or("—", |s| s.as_str())) }
                    dt { (cx.t("f.assignee")) } dd { (triage.assignee.as_deref().unwrap_or("—")) }
                    dt { (cx.t("fd.comment")) } dd { (triage.comment.as_deref().unwrap_or("—")) }
                }
            }
            h2 { (cx.t("fd.audit")) }
            table id="audit" {
                thead { tr { th { (cx.t("fd.at")) } th { (cx.t("fd.actor")) } th { (cx.t("fd.via")) } th { (cx.t("fd.before")) } th { (cx.t("fd.after")) } } }
                tbody {
                    @for a in audit.iter().rev() {
                        tr class="audit-entry" {
                            td { (when(a.at)) } td class="actor" { (a.actor) } td { (a.via) }
                            td { code { (a.before.to_string()) } } td { code class="after" { (a.after.to_string()) } }
                        }
                    }
                }
            }
            h2 { (cx.t("fd.history")) }
            table {
                thead { tr { th { (cx.t("fd.at")) } th { (cx.t("fd.event")) } th { (cx.t("f.installed")) } } }
                tbody { @for e in &events { tr { td { (when(e.at)) } td { (e.event) } td class="mono" { (e.installed_version.as_deref().unwrap_or("")) } } } }
            }
        },
    ))
}

fn triage_form(cx: &Ctx, id: FindingId, t: &kensa_store::Triage) -> Markup {
    let state = t.state.map(|s| s.as_str());
    let just = t.justification.map(|s| s.as_str());
    html! {
        form method="post" action={ "/findings/" (id.0) "/triage" } class="panel stack" id="triage-form" {
            (csrf_field(cx))
            label { (cx.t("fd.state"))
                select name="state" id="triage-state" {
                    option value="" { "—" }
                    @for s in kensa_store::TriageState::ALL { option value=(s) selected[state == Some(*s)] { (s) } }
                }
            }
            label { (cx.t("fd.justification"))
                select name="justification" {
                    option value="" { "—" }
                    @for s in kensa_store::Justification::ALL { option value=(s) selected[just == Some(*s)] { (s) } }
                }
            }
            label { (cx.t("f.assignee")) input type="text" name="assignee" id="triage-assignee" value=(t.assignee.as_deref().unwrap_or("")); }
            label { (cx.t("fd.comment")) textarea name="comment" rows="2" id="triage-comment" { (t.comment.as_deref().unwrap_or("")) } }
            label { (cx.t("fd.due_date")) " (YYYY-MM-DD)"
                input type="text" name="due_date" value=(if t.due_by_hand { t.due_at.map(day).unwrap_or_default() } else { String::new() });
            }
            label { (cx.t("fd.risk_until")) " (YYYY-MM-DD)"
                input type="text" name="risk_accepted_until" value=(t.risk_accepted_until.as_deref().unwrap_or(""));
            }
            label { input type="checkbox" name="everywhere" value="1"; " " (cx.t("fd.everywhere")) }
            button type="submit" id="triage-submit" { (cx.t("fd.save")) }
        }
    }
}

/// `POST /findings/{id}/triage` (analyst): the form holds the whole
/// triage; only what differs from the stored one is changed (and audited).
pub(crate) async fn triage(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    post(&state, headers, body, move |db, cx, form| {
        cx.require(Role::Analyst, "triage needs the analyst role")?;
        let id = FindingId(id);
        let f = db
            .finding(id)?
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no finding {}", id.0)))?;
        let cur = db.finding_triage(id)?;
        let mut change = TriageChange::default();
        let state = form
            .get("state")
            .map(|s| {
                kensa_store::TriageState::parse(s)
                    .ok_or_else(|| ApiError::bad(format!("state {s:?}")))
            })
            .transpose()?;
        if state != cur.state {
            change.state = Some(state);
        }
        let just = form
            .get("justification")
            .map(|s| {
                kensa_store::Justification::parse(s)
                    .ok_or_else(|| ApiError::bad(format!("justification {s:?}")))
            })
            .transpose()?;
        if just != cur.justification {
            change.justification = Some(just);
        }
        let text = |k: &str| form.get(k).map(str::to_owned);
        if text("assignee") != cur.assignee {
            change.assignee = Some(text("assignee"));
        }
        if text("comment") != cur.comment {
            change.comment = Some(text("comment"));
        }
        let due = text("due_date");
        let cur_due = if cur.due_by_hand {
            cur.due_at.map(day)
        } else {
            None
        };
        if due != cur_due {
            change.due_date = Some(due);
        }
        if text("risk_accepted_until") != cur.risk_accepted_until {
            change.risk_accepted_until = Some(text("risk_accepted_until"));
        }
        let everywhere = form.get("everywhere").is_some();
        if change.is_empty() && !everywhere {
            return Ok(Out::See(format!("/findings/{}", id.0)));
        }
        change.validate().map_err(bad)?;
        let now = Timestamp::now();
        if !change.is_empty() {
            db.triage(id, &change, &cx.user, now)?;
        }
        if everywhere {
            db.create_triage_rule(&f.vulnerability_id, &f.package_name, &change, &cx.user, now)?;
        }
        Ok(Out::See(format!("/findings/{}", id.0)))
    })
    .await
}

// ------------------------------------------------------------------ assets

#[derive(Deserialize)]
pub(crate) struct AssetQuery {
    /// Package search in the inventory.
    pkg: Option<String>,
}

pub(crate) async fn asset(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    RawQuery(raw): RawQuery,
    Query(q): Query<AssetQuery>,
) -> Response {
    let here = here(&format!("/assets/{id}"), &raw);
    page(&state, headers, here, move |db, cx| {
        asset_page(db, cx, AssetId(id), q.pkg.as_deref().unwrap_or("")).map(Out::Page)
    })
    .await
}

fn asset_page(db: &kensa_store::Db, cx: &Ctx, id: AssetId, pkg: &str) -> ApiResult<Markup> {
    let a = db
        .asset(id)?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("{id} not found")))?;
    let cov = CoverageContext::new(db, 24 * 3_600_000)?;
    let (status, reason) = coverage_of(&a, &cov);
    let inventory = match &a.inventory_hash {
        Some(h) => db.inventory(h)?,
        None => None,
    };
    let needle = pkg.trim().to_lowercase();
    let findings = db.query_findings(&FindingQuery {
        filter: Filter::parse(&format!("asset_id={} status=ACTIVE", id.0)).map_err(bad)?,
        sort: Sort::default(),
        limit: Some(50),
        cursor: None,
    })?;
    let m = &a.management;
    let admin = cx.can(Role::Admin);
    let exposure = m.internet_exposure.unwrap_or_default();
    let ports: Vec<String> = m.exposed_ports.iter().map(ToString::to_string).collect();
    let eol_text = match &a.eol {
        Some(e) if e.ended_by(&cov.today) => format!(
            "{} ({} {})",
            cx.t("a.ended"),
            e.product,
            e.eol.as_deref().unwrap_or("")
        ),
        Some(e) => format!(
            "{} ({} {}, {})",
            cx.t("a.supported"),
            e.product,
            e.cycle,
            e.eol.as_deref().unwrap_or("")
        ),
        None => cx.t("a.unknown").to_owned(),
    };
    Ok(layout(
        cx,
        &a.name,
        html! {
            h1 id="asset-title" { (cx.t("a.title")) ": " (a.name) }
            div class="cards" {
                div class="card" {
                    dl class="kv" {
                        dt { "ID" } dd { (a.id.0) }
                        dt { (cx.t("a.os")) } dd { (a.os_pretty.as_deref().or(a.os_id.as_deref()).unwrap_or("—")) " " (a.os_release.as_deref().unwrap_or("")) }
                        dt { (cx.t("a.eol")) } dd id="asset-eol" { (eol_text) }
                        dt { (cx.t("cov.status")) } dd { (status) " · " (reason) }
                        dt { (cx.t("a.exposure")) } dd id="asset-exposure" { (exposure.as_str()) }
                        dt { (cx.t("a.ports")) } dd { (ports.join(", ")) }
                        dt { "IP" } dd { (a.ip_addresses.join(", ")) }
                        dt { (cx.t("cov.inventory_at")) } dd { (a.inventory_at.map(when).unwrap_or_default()) }
                    }
                    @if let Some(inv) = &inventory {
                        @let listening: Vec<_> = inv.listeners.iter().filter(|l| !l.loopback).collect();
                        @if !listening.is_empty() {
                            h2 { "Listening" }
                            ul { @for l in listening { li { code { (l.protocol) " " (l.address) ":" (l.port) } " " (l.process.as_deref().unwrap_or("")) } } }
                        }
                    }
                    @if !a.middleware.is_empty() {
                        h2 { (cx.t("a.middleware")) }
                        ul { @for mw in &a.middleware { li { (mw.name) " " code { (mw.version) } } } }
                    }
                }
                div class="card" {
                    h2 { (cx.t("a.management")) }
                    @if admin {
                        form method="post" action={ "/assets/" (a.id.0) } class="stack" id="management-form" {
                            (csrf_field(cx))
                            label { (cx.t("a.owner")) input type="text" name="owner" value=(m.owner.as_deref().unwrap_or("")); }
                            label { (cx.t("a.team")) input type="text" name="team" value=(m.team.as_deref().unwrap_or("")); }
                            label { (cx.t("a.environment")) input type="text" name="environment" value=(m.environment.as_deref().unwrap_or("")); }
                            label { (cx.t("a.tags")) input type="text" name="tags" value=(m.tags.join(", ")); }
                            label { (cx.t("a.operation_start")) " (YYYY-MM-DD)" input type="text" name="operation_start" value=(m.operation_start.as_deref().unwrap_or("")); }
                            label { (cx.t("a.support_end")) " (YYYY-MM-DD)" input type="text" name="support_end" value=(m.support_end.as_deref().unwrap_or("")); }
                            label { (cx.t("a.exposure"))
                                select name="internet_exposure" {
                                    @for e in ["unknown", "yes", "no"] { option value=(e) selected[exposure.as_str() == e] { (e) } }
                                }
                            }
                            label { (cx.t("a.ports")) " (443/tcp, 22/tcp)" input type="text" name="exposed_ports" value=(ports.join(", ")); }
                            button type="submit" id="management-submit" { (cx.t("fd.save")) }
                        }
                    } @else {
                        dl class="kv" {
                            dt { (cx.t("a.owner")) } dd { (m.owner.as_deref().unwrap_or("—")) }
                            dt { (cx.t("a.team")) } dd { (m.team.as_deref().unwrap_or("—")) }
                            dt { (cx.t("a.environment")) } dd { (m.environment.as_deref().unwrap_or("—")) }
                            dt { (cx.t("a.tags")) } dd { (m.tags.join(", ")) }
                            dt { (cx.t("a.operation_start")) } dd { (m.operation_start.as_deref().unwrap_or("—")) }
                            dt { (cx.t("a.support_end")) } dd { (m.support_end.as_deref().unwrap_or("—")) }
                        }
                    }
                }
            }
            h2 { (cx.t("a.findings")) }
            table id="asset-findings" {
                thead { tr { th { (cx.t("f.severity")) } th { (cx.t("f.vulnerability")) } th { (cx.t("f.package")) } th { (cx.t("f.installed")) } th { (cx.t("f.fixed")) } } }
                tbody {
                    @for f in &findings.findings {
                        tr { td { (sev_badge(&f.severity)) } td { a href={ "/findings/" (f.id.0) } { (f.vulnerability_id) } } td { (f.package_name) } td class="mono" { (f.installed_version) } td class="mono" { (f.fixed_version.as_deref().unwrap_or("")) } }
                    }
                }
            }
            p { a href={ "/findings?" (serde_urlencoded::to_string([("q", format!("asset_id={}", a.id.0))]).unwrap_or_default()) } { (cx.t("a.all_findings")) } }
            h2 { (cx.t("a.inventory")) }
            form method="get" action={ "/assets/" (a.id.0) } class="row" {
                label { (cx.t("a.search")) input type="text" name="pkg" id="inventory-search" value=(pkg); }
                button type="submit" id="inventory-submit" { (cx.t("f.apply")) }
            }
            @if let Some(inv) = &inventory {
                @let matching: Vec<_> = inv.packages.iter().filter(|p| needle.is_empty() || p.name.to_lowercase().contains(&needle)).collect();
                p class="muted" { (matching.len()) " / " (inv.packages.len()) }
                table id="inventory" {
                    thead { tr { th { (cx.t("a.name")) } th { (cx.t("a.version")) } th { (cx.t("a.kind")) } th { "arch" } } }
                    tbody {
                        @for p in matching.iter().take(500) {
                            tr { td { (p.name) } td class="mono" { (p.version) } td { (p.kind.map(|k| format!("{k:?}").to_lowercase()).unwrap_or_default()) } td { (p.arch.as_deref().unwrap_or("")) } }
                        }
                    }
                }
            } @else {
                p { (cx.t("a.no_inventory")) }
            }
        },
    ))
}

/// `POST /assets/{id}` (admin): the management items, as the form holds
/// them (an empty field clears the item).
pub(crate) async fn asset_update(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    post(&state, headers, body, move |db, cx, form| {
        cx.require(
            Role::Admin,
            "changing management items needs the admin role",
        )?;
        let id = AssetId(id);
        let a = db
            .asset(id)?
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("{id} not found")))?;
        let text = |k: &str| Some(form.get(k).map(str::to_owned));
        let ports = form
            .get("exposed_ports")
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (port, protocol) = p.split_once('/').unwrap_or((p, "tcp"));
                let (from, to) = match port.split_once('-') {
                    Some((f, t)) => (f, Some(t)),
                    None => (port, None),
                };
                let num = |s: &str| {
                    s.trim().parse::<u16>().map_err(|_| {
                        ApiError::bad(format!(
                            "exposed ports: {p:?}: expected PORT[-PORT]/PROTOCOL, as 443/tcp"
                        ))
                    })
                };
                Ok(kensa_store::ExposedPort {
                    port: num(from)?,
                    to_port: to.map(num).transpose()?,
                    protocol: protocol.trim().to_ascii_lowercase(),
                    source: "console".into(),
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;
        let exposure = match form.get("internet_exposure") {
            Some("yes") => Some(InternetExposure::Yes),
            Some("no") => Some(InternetExposure::No),
            Some("unknown") | None => None,
            Some(o) => {
                return Err(ApiError::bad(format!(
                    "internet exposure {o:?}: yes, no or unknown"
                )));
            }
        };
        let patch = ManagementPatch {
            operation_start: text("operation_start"),
            support_end: text("support_end"),
            owner: text("owner"),
            team: text("team"),
            environment: text("environment"),
            tags: Some(
                form.get("tags")
                    .unwrap_or("")
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
            internet_exposure: Some(exposure),
            exposed_ports: Some(ports),
        };
        patch.validate().map_err(ApiError::bad)?;
        let m = patch.apply(&a.management);
        if let (Some(s), Some(e)) = (&m.operation_start, &m.support_end)
            && e < s
        {
            return Err(ApiError::bad(format!(
                "support end {e} is before operation start {s}"
            )));
        }
        if m != a.management {
            db.set_management(id, &m, Timestamp::now())?;
        }
        Ok(Out::See(format!("/assets/{}", id.0)))
    })
    .await
}

// ---------------------------------------------------------------- coverage

/// Silent and unmanaged first, covered last.
fn reason_rank(reason: &str) -> u8 {
    match reason {
        "STALE_INVENTORY" => 0,
        "UNMANAGED" => 1,
        "PENDING_INITIAL_SCAN" => 2,
        "UNSUPPORTED_OS" => 3,
        "OS_END_OF_LIFE" => 4,
        _ => 5,
    }
}

pub(crate) async fn coverage(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    page(&state, headers, "/coverage".into(), |db, cx| {
        let cov = CoverageContext::new(db, 24 * 3_600_000)?;
        let mut rows: Vec<_> = db
            .assets()?
            .into_iter()
            .map(|a| {
                let (s, r) = coverage_of(&a, &cov);
                (s, r, a)
            })
            .collect();
        rows.sort_by_key(|(_, r, a)| (reason_rank(r), a.id.0));
        let mut counts = BTreeMap::<&str, usize>::new();
        for (_, r, _) in &rows {
            *counts.entry(r).or_default() += 1;
        }
        Ok(Out::Page(layout(
            cx,
            cx.t("cov.title"),
            html! {
                h1 { (cx.t("cov.title")) }
                p id="coverage-counts" { @for (r, n) in &counts { span class="panel" { (r) ": " strong { (n) } } " " } }
                table id="coverage" {
                    thead { tr { th { (cx.t("f.asset")) } th { (cx.t("cov.status")) } th { (cx.t("cov.reason")) } th { (cx.t("a.os")) } th { (cx.t("cov.source")) } th { (cx.t("cov.agent")) } th { (cx.t("cov.inventory_at")) } } }
                    tbody {
                        @for (s, r, a) in &rows {
                            tr {
                                td { a href={ "/assets/" (a.id.0) } { (a.name) } }
                                td { (s) } td class="reason" { (r) }
                                td { (a.os_id.as_deref().unwrap_or("")) " " (a.os_release.as_deref().unwrap_or("")) }
                                td { (a.source.as_str()) }
                                td { @if cov.agents.contains(&a.id) { "✓" } }
                                td { (a.inventory_at.map(when).unwrap_or_default()) }
                            }
                        }
                    }
                }
            },
        )))
    })
    .await
}

// ----------------------------------------------------------- suppression rules

#[derive(Deserialize)]
pub(crate) struct RulesQuery {
    filter: Option<String>,
    changed: Option<u64>,
}

pub(crate) async fn rules(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    Query(q): Query<RulesQuery>,
) -> Response {
    page(&state, headers, here("/rules", &raw), move |db, cx| {
        let rules = db.suppression_rules()?;
        Ok(Out::Page(layout(
            cx,
            cx.t("r.title"),
            html! {
                h1 { (cx.t("r.title")) }
                @if let Some(n) = q.changed { p class="ok" id="changed" { (n) " " (cx.t("f.changed")) } }
                table id="rules" {
                    thead { tr { th { "ID" } th { (cx.t("r.name")) } th { (cx.t("r.filter")) } th { (cx.t("r.reason")) } th { (cx.t("r.created")) } @if cx.can(Role::Analyst) { th {} } } }
                    tbody {
                        @for r in &rules {
                            tr {
                                td { (r.id) } td { (r.name) }
                                td { a href={ "/findings?" (serde_urlencoded::to_string([("q", r.filter.as_str()), ("status", "")]).unwrap_or_default()) } { code { (r.filter) } } }
                                td { (r.reason) } td { (r.created_by) " · " (when(r.created_at)) }
                                @if cx.can(Role::Analyst) {
                                    td { form method="post" action={ "/rules/" (r.id) "/delete" } class="inline" {
                                        (csrf_field(cx)) button type="submit" class="danger" { (cx.t("r.delete")) }
                                    } }
                                }
                            }
                        }
                    }
                }
                @if cx.can(Role::Analyst) {
                    h2 { (cx.t("r.create")) }
                    form method="post" action="/rules" class="panel stack" id="rule-form" {
                        (csrf_field(cx))
                        label { (cx.t("r.name")) input type="text" name="name" required; }
                        label { (cx.t("r.filter")) input type="text" name="filter" class="filter" value=(q.filter.as_deref().unwrap_or("")) required; }
                        label { (cx.t("r.reason")) input type="text" name="reason" required; }
                        button type="submit" { (cx.t("r.create")) }
                    }
                }
            },
        )))
    })
    .await
}

pub(crate) async fn rule_create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    post(&state, headers, body, |db, cx, form| {
        cx.require(Role::Analyst, "suppression rules need the analyst role")?;
        let name = form
            .get("name")
            .ok_or_else(|| ApiError::bad("name: required"))?;
        let reason = form
            .get("reason")
            .ok_or_else(|| ApiError::bad("reason: required"))?;
        let filter = Filter::parse(form.get("filter").unwrap_or("")).map_err(bad)?;
        let (_, n) =
            db.create_suppression_rule(name, &filter, reason, &cx.user, Timestamp::now())?;
        Ok(Out::See(format!("/rules?changed={n}")))
    })
    .await
}

pub(crate) async fn rule_delete(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    post(&state, headers, body, move |db, cx, _form| {
        cx.require(Role::Analyst, "suppression rules need the analyst role")?;
        let n = db.delete_suppression_rule(id, Timestamp::now())?;
        Ok(Out::See(format!("/rules?changed={n}")))
    })
    .await
}

// ------------------------------------------------------------------- admin

fn admin_page(db: &kensa_store::Db, cx: &Ctx, flash: Markup) -> ApiResult<Out> {
    cx.require(Role::Admin, "administration needs the admin role")?;
    let users = db.list_users()?;
    let roles = ["viewer", "analyst", "admin"];
    Ok(Out::Page(layout(
        cx,
        cx.t("adm.title"),
        html! {
            h1 { (cx.t("adm.title")) }
            (flash)
            h2 { (cx.t("adm.users")) }
            table id="users" {
                thead { tr { th { (cx.t("a.name")) } th { (cx.t("adm.role")) } th { (cx.t("r.created")) } th { (cx.t("adm.disabled")) } } }
                tbody { @for u in &users { tr { td { (u.name) } td { (u.role) } td { (when(u.created_at)) } td { (u.disabled_at.map(when).unwrap_or_default()) } } } }
            }
            form method="post" action="/admin/users" class="panel row" id="user-form" {
                (csrf_field(cx))
                label { (cx.t("a.name")) input type="text" name="name" required; }
                label { (cx.t("adm.role")) select name="role" { @for r in roles { option value=(r) { (r) } } } }
                label { (cx.t("login.password")) input type="password" name="password" autocomplete="new-password" required; }
                button type="submit" { (cx.t("adm.create_user")) }
            }
            h2 { (cx.t("adm.tokens")) }
            form method="post" action="/admin/tokens" class="panel row" id="token-form" {
                (csrf_field(cx))
                label { (cx.t("a.name")) input type="text" name="name" required; }
                label { (cx.t("adm.role")) select name="role" { @for r in roles { option value=(r) { (r) } } } }
                button type="submit" { (cx.t("adm.create_token")) }
            }
            h2 { (cx.t("adm.enroll")) }
            p class="muted" { (cx.t("adm.enroll_help")) }
            form method="post" action="/admin/enroll" class="panel row" id="enroll-form" {
                (csrf_field(cx))
                button type="submit" id="enroll-submit" { (cx.t("adm.enroll_submit")) }
                a href="/ca.pem" download="ca.pem" { (cx.t("adm.ca")) }
            }
        },
    )))
}

pub(crate) async fn admin(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    page(&state, headers, "/admin".into(), |db, cx| {
        admin_page(db, cx, html! {})
    })
    .await
}

pub(crate) async fn user_create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    post(&state, headers, body, |db, cx, form| {
        // The role before hashing: nobody else spends argon2 time.
        cx.require(Role::Admin, "creating users needs the admin role")?;
        let name = form.get("name").unwrap_or("");
        crate::rules::check_name(name)?;
        let role = crate::rules::parse_role(form.get("role").unwrap_or(""))?;
        let password = form
            .0
            .iter()
            .find(|(k, _)| k == "password")
            .map_or("", |(_, v)| v.as_str());
        crate::rules::check_password(password)?;
        let hash = crate::session::hash_password(password)?;
        if db
            .create_user(name, role.as_str(), &hash, Timestamp::now())?
            .is_none()
        {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("user {name:?} exists"),
            ));
        }
        Ok(Out::See("/admin".into()))
    })
    .await
}

pub(crate) async fn token_create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    post(&state, headers, body, |db, cx, form| {
        cx.require(Role::Admin, "creating API tokens needs the admin role")?;
        let name = form.get("name").unwrap_or("");
        crate::rules::check_token_name(name)?;
        let role = crate::rules::parse_role(form.get("role").unwrap_or(""))?;
        let token = auth::new_token("kst_")?;
        db.create_api_token(name, role.as_str(), &auth::digest(&token), Timestamp::now())?;
        let flash = html! {
            div class="panel" id="new-token" {
                strong { (cx.t("adm.tokens")) ": " (name) " (" (role.as_str()) ")" }
                pre class="cmd" { (token) }
                p class="muted" { (cx.t("adm.token_once")) }
            }
        };
        admin_page(db, cx, flash)
    })
    .await
}

pub(crate) async fn enroll_create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // The address the admin reached this server by is the one agents on
    // that network will reach it by too.
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost")
        .to_owned();
    post(&state, headers, body, move |db, cx, _form| {
        cx.require(
            Role::Admin,
            "creating enrollment tokens needs the admin role",
        )?;
        let token = auth::new_token("ket_")?;
        let now = Timestamp::now();
        let expires =
            Timestamp::from_unix_ms(now.unix_ms() + crate::rules::enrollment_ttl_ms(None));
        db.create_enrollment_token(&auth::digest(&token), now, expires)?;
        let command =
            format!("kensa agent enroll --server https://{host} --ca ca.pem --token {token}");
        let flash = html! {
            div class="panel" id="enroll-command" {
                strong { (cx.t("adm.enroll")) }
                pre class="cmd" { (command) }
                p class="muted" { (cx.t("adm.token_once")) " " (when(expires)) }
            }
        };
        admin_page(db, cx, flash)
    })
    .await
}

// --------------------------------------------------------------- dashboard

pub(crate) async fn dashboard(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    page(&state, headers, "/".into(), |db, cx| {
        dashboard_page(db, cx).map(Out::Page)
    })
    .await
}

/// How long the dashboard's counts over every finding are reused: they
/// read the whole findings table (seconds at a million findings), and a
/// dashboard a minute old is still the picture.
const DASHBOARD_TTL: std::time::Duration = std::time::Duration::from_secs(60);

type Numbers = (kensa_store::OpenCounts, Vec<u64>, Timestamp);

/// The counts and the trend, from this process's cache while fresh (one
/// per database, so that several servers in one process keep theirs).
fn dashboard_numbers(db: &kensa_store::Db, ends: &[i64]) -> ApiResult<Numbers> {
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

fn as_refs<'a>(rows: &'a [(&'static str, u64, String)]) -> Vec<(&'static str, u64, &'a str)> {
    rows.iter().map(|(a, b, c)| (*a, *b, c.as_str())).collect()
}

fn dashboard_page(db: &kensa_store::Db, cx: &Ctx) -> ApiResult<Markup> {
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
                            (a.os_pretty.as_deref().unwrap_or("")) " · " (a.eol.as_ref().and_then(|e| e.eol.as_deref()).unwrap_or(""))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_filters_make_one_filter_the_language_reads_back() {
        let q: FindingsQuery = serde_urlencoded::from_str(
            "q=kev%3Dtrue&severity=HIGH&package=lib+x&sort=score%3Adesc",
        )
        .expect("query");
        let text = q.filter_text();
        assert_eq!(
            text,
            "kev=true severity=HIGH status!=SUPPRESSED,CLOSED package^=\"lib x\""
        );
        let f = Filter::parse(&text).expect("parses");
        assert_eq!(f.to_string(), text);
        // Empty status: any; a status of its own: its complement.
        let any: FindingsQuery = serde_urlencoded::from_str("status=").expect("query");
        assert_eq!(any.filter_text(), "");
        assert_eq!(status_term("CLOSED"), "status!=ACTIVE,SUPPRESSED");
        assert_eq!(status_term("weird"), "status=weird");
        assert_eq!(quote("a\"b"), "\"a\\\"b\"");
    }

    #[test]
    fn view_addresses_keep_the_state_and_drop_what_is_changed() {
        let q: FindingsQuery =
            serde_urlencoded::from_str("severity=HIGH&status=&cursor=abc&sort=due%3Aasc")
                .expect("query");
        assert_eq!(
            q.url(&[("cursor", None)]),
            "/findings?severity=HIGH&status=&sort=due%3Aasc"
        );
        assert_eq!(
            q.url(&[("view", Some("package")), ("sort", None), ("cursor", None)]),
            "/findings?view=package&severity=HIGH&status="
        );
        assert_eq!(FindingsQuery::default().url(&[]), "/findings");
    }
}
