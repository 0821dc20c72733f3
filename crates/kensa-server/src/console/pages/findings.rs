//! `/findings`: the list and the grouped views, bulk triage, saved views.

#[allow(unused_imports)]
use super::*;

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

pub(super) const AGG_PAGE: u32 = 100;
pub(super) const LIST_PAGE: u32 = 50;

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

pub(super) fn findings_page(
    db: &kensa_store::Db,
    cx: &Ctx,
    q: &FindingsQuery,
) -> ApiResult<Markup> {
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
                        @for b in BANDS { option value=(b) selected[q.severity.as_deref() == Some(b)] { (cx.t(sev_key(b))) } }
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
                " · " a id="export-background" href={ "/exports?" (serde_urlencoded::to_string([("filter", text.as_str())]).unwrap_or_default()) } { (cx.t("x.queue")) }
                " · " span class="muted" { (cx.t("f.saved_view")) }
            }
            (saved_views_panel(cx, &saved, &this_view))
            nav class="tabs" {
                @for (v, key) in tabs {
                    a class=[(v == view).then_some("on")] id={ "view-" (v) }
                        href=(q.url(&[("view", (v != "list").then_some(v)), ("sort", None), ("cursor", None), ("page", None), ("changed", None)])) { (cx.t(key)) }
                }
            }
            (body)
        },
    ))
}

/// The caller's saved views (findings and assets views alike), each with
/// a delete button, and the form that saves this view under a name.
pub(super) fn saved_views_panel(
    cx: &Ctx,
    saved: &[kensa_store::SavedView],
    this_view: &str,
) -> Markup {
    html! {
    div class="panel row" id="saved-views" {
        strong { (cx.t("v.saved")) ": " }
        @for v in saved {
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
    }
}

/// Columns of the list: (sort key, message).
pub(super) const COLUMNS: &[(Option<SortKey>, &str)] = &[
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

pub(super) fn findings_list(
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
    // Where the page's language packages were found, in one statement.
    let lang_ids: Vec<FindingId> = page
        .findings
        .iter()
        .filter(|f| language_package(&f.package_kind))
        .map(|f| f.id)
        .collect();
    let paths = db.package_paths(&lang_ids)?;
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
                // The ticked rows by default: a whole filter's findings
                // only when chosen, and confirmed with their number.
                fieldset class="scope" {
                    label { input type="radio" name="scope" value="ticked" id="bulk-scope-ticked" checked; " " (cx.t("f.scope_ticked")) }
                    label { input type="radio" name="scope" value="filter" id="bulk-scope-filter"; " " (cx.t("f.scope_filter")) }
                }
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
                    @for f in &page.findings { (finding_row(cx, f, analyst, paths.get(&f.id).map(String::as_str))) }
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

/// OS packages: their database says nothing a person needs in the list.
/// Anything else is a language package, shown with its ecosystem and the
/// file it was found in (which lock file, which binary).
pub(super) fn language_package(kind: &str) -> bool {
    !matches!(kind, "deb" | "rpm" | "apk" | "kernel" | "")
}

pub(super) fn finding_row(
    cx: &Ctx,
    f: &FindingSummary,
    analyst: bool,
    path: Option<&str>,
) -> Markup {
    let now = Timestamp::now();
    html! {
        tr data-id=(f.id.0) {
            @if analyst { td { input type="checkbox" class="pick" name="id" value=(f.id.0) form="bulk"; } }
            td { (sev_badge(cx, &f.severity)) @if f.kev { span class="kev" { "KEV" } } }
            td { a class="finding-link" href={ "/findings/" (f.id.0) } { (f.vulnerability_id) } }
            td class="pkg" {
                (f.package_name) @if let Some(a) = &f.package_arch { span class="muted" { " " (a) } }
                @if language_package(&f.package_kind) {
                    br; span class="eco" title=(cx.t("f.ecosystem")) { (f.package_kind) }
                    @if let Some(p) = path { " " span class="path mono muted" title=(cx.t("f.path")) { (p) } }
                }
            }
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

pub(super) fn findings_grouped(
    db: &kensa_store::Db,
    cx: &Ctx,
    q: &FindingsQuery,
    filter: &Filter,
    view: &str,
) -> ApiResult<Markup> {
    let by: GroupBy = view.parse().map_err(bad)?;
    let sort: GroupSort = match q.sort.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => s.parse().map_err(bad)?,
        None => GroupSort::default(),
    };
    let page_no = q.page.unwrap_or(0);
    let groups = db.aggregate_findings_sorted(
        filter,
        by,
        sort,
        AGG_PAGE + 1,
        page_no * u64::from(AGG_PAGE),
    )?;
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
            ("sort", None),
            ("page", None),
            ("cursor", None),
        ])
    };
    let head = match by {
        GroupBy::Asset => "f.asset",
        GroupBy::Vulnerability => "f.vulnerability",
        _ => "f.package",
    };
    // A second click on the sorted column turns it round; a first one
    // sorts the key ascending and the numbers most-first.
    let sort_link = |key: GroupSortKey| {
        let descending = if sort.key == key {
            !sort.descending
        } else {
            key != GroupSortKey::Key
        };
        let s = GroupSort { key, descending }.to_string();
        q.url(&[("sort", Some(&s)), ("page", None), ("changed", None)])
    };
    let th = |key: GroupSortKey, label: Markup| {
        html! {
            a class="sort" data-key=(key.as_str()) href=(sort_link(key)) {
                (label)
                @if sort.key == key { @if sort.descending { " ▼" } @else { " ▲" } }
            }
        }
    };
    Ok(html! {
        @if groups.is_empty() {
            p id="no-findings" { (cx.t("f.none")) }
        } @else {
            table id="groups" {
                thead { tr {
                    th { (th(GroupSortKey::Key, html! { (cx.t(head)) })) }
                    @match by {
                        GroupBy::Vulnerability => { th { (cx.t("f.title_col")) } }
                        GroupBy::Asset => { th { (cx.t("a.os")) } th { (cx.t("f.owner")) } }
                        _ => {}
                    }
                    th class="num" { (th(GroupSortKey::Total, html! { (cx.t("f.total")) })) }
                    @for b in BANDS {
                        th class="num" {
                            @if b == "CRITICAL" { (th(GroupSortKey::Severity, sev_badge(cx, b))) }
                            @else { (sev_badge(cx, b)) }
                        }
                    }
                    th class="num" { (th(GroupSortKey::Fixable, html! { (cx.t("dash.fixable")) })) }
                    th class="num" { (th(GroupSortKey::Kev, html! { "KEV" })) }
                    th class="num" { (th(GroupSortKey::MaxScore, html! { (cx.t("f.max_score")) })) }
                    th class="num" { (th(GroupSortKey::Assets, html! { (cx.t("f.assets")) })) }
                } }
                tbody {
                    @for g in groups.iter().take(AGG_PAGE as usize) {
                        tr class="group" data-key=(g.key) {
                            td { a class="group-link" href=(drill(&g.key)) { (g.name.as_deref().unwrap_or(&g.key)) } }
                            @match by {
                                GroupBy::Vulnerability => { td class="title" { (g.title.as_deref().unwrap_or("")) } }
                                GroupBy::Asset => {
                                    td class="os" { (g.os.as_deref().unwrap_or("")) }
                                    td class="owner" { (g.owner.as_deref().unwrap_or("")) }
                                }
                                _ => {}
                            }
                            td class="num total" { (g.total) }
                            td class="num" { (g.critical) } td class="num" { (g.high) } td class="num" { (g.medium) }
                            td class="num" { (g.low) } td class="num" { (g.informational) } td class="num" { (g.untriaged) }
                            td class="num" { (g.fixable) } td class="num" { (g.kev) }
                            td class="num" { (score(g.max_score)) } td class="num assets" { (g.assets) }
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

/// `POST /findings/bulk` (analyst): one triage change over the ticked
/// findings of the list (the default), or over everything the list's
/// filter selects when `scope=filter`: that answers a page saying how
/// many findings it would change, and changes them only when posted
/// again with `confirm` equal to that number (a different number, as when
/// findings came or went meanwhile, asks again).
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
        let whole_filter = match form.get("scope").unwrap_or("ticked") {
            "ticked" => false,
            "filter" => true,
            other => {
                return Err(ApiError::bad(format!("scope {other:?}: ticked or filter")));
            }
        };
        if !whole_filter {
            if ids.is_empty() {
                return Err(ApiError::bad(cx.t("f.none_ticked")));
            }
            let list: Vec<String> = ids.iter().map(i64::to_string).collect();
            filter = filter.and(&Filter::parse(&format!("id={}", list.join(","))).map_err(bad)?);
        }
        if filter.is_empty() {
            return Err(ApiError::bad(
                "a bulk change needs a non-empty filter or ticked findings",
            ));
        }
        let change = bulk_change(&form)?;
        if whole_filter {
            let n = db.count_findings(&filter)?;
            if form.get("confirm") != Some(n.to_string().as_str()) {
                return Ok(Out::Page(bulk_confirm(cx, &form, &filter, n)));
            }
        }
        let n = db.triage_bulk(&filter, &change, &cx.user, Timestamp::now())?;
        let back = super::super::local(form.get("back").unwrap_or("/findings"));
        let sep = if back.contains('?') { '&' } else { '?' };
        Ok(Out::See(format!("{back}{sep}changed={n}")))
    })
    .await
}

/// The triage change a bulk form asks for.
fn bulk_change(form: &Form) -> ApiResult<TriageChange> {
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
    Ok(change)
}

/// The page that asks to confirm a change of `n` findings: the same form
/// again, every field kept, with `confirm=n`.
fn bulk_confirm(cx: &Ctx, form: &Form, filter: &Filter, n: u64) -> Markup {
    let back = super::super::local(form.get("back").unwrap_or("/findings"));
    let kept = [
        "filter",
        "back",
        "state",
        "assignee",
        "comment",
        "suppress",
        "suppress_reason",
    ];
    layout(
        cx,
        cx.t("f.confirm_title"),
        html! {
            h1 { (cx.t("f.confirm_title")) }
            p id="bulk-count" { strong id="bulk-n" { (n) } " " (cx.t("f.confirm_count")) }
            p { code id="bulk-filter" { (filter.to_string()) } }
            form method="post" action="/findings/bulk" id="bulk-confirm" class="panel row" {
                (csrf_field(cx))
                @for k in kept {
                    @if let Some(v) = form.get(k) { input type="hidden" name=(k) value=(v); }
                }
                input type="hidden" name="scope" value="filter";
                input type="hidden" name="confirm" value=(n);
                button type="submit" id="bulk-confirm-submit" class="danger" { (cx.t("f.confirm")) }
                " " a href=(back) id="bulk-cancel" { (cx.t("f.cancel")) }
            }
        },
    )
}

/// `POST /views`: saves the view's address under a name, for the caller.
pub(crate) async fn view_save(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    post(&state, headers, body, |db, cx, form| {
        let url = super::super::local(form.get("url").unwrap_or("/findings"));
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
        Ok(Out::See(super::super::local(
            form.get("back").unwrap_or("/findings"),
        )))
    })
    .await
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
