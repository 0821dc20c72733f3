//! `/rules`: suppression rules.

#[allow(unused_imports)]
use super::*;

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
                    thead { tr { th { "ID" } th { (cx.t("r.name")) } th { (cx.t("r.filter")) } th { (cx.t("r.reason")) } th { (cx.t("r.created")) } th { (cx.t("r.last_error")) } @if cx.can(Role::Analyst) { th {} } } }
                    tbody {
                        @for r in &rules {
                            tr {
                                td { (r.id) } td { (r.name) }
                                td { a href={ "/findings?" (serde_urlencoded::to_string([("q", r.filter.as_str()), ("status", "")]).unwrap_or_default()) } { code { (r.filter) } } }
                                td { (r.reason) } td { (r.created_by) " · " (when(r.created_at)) }
                                // A rule the database could not run is skipped by
                                // evaluations: say so where it is listed.
                                td class="last-error" {
                                    @if let Some(e) = &r.last_error {
                                        span class="error" { (cx.t("r.skipped")) }
                                        @if let Some(t) = r.last_error_at { " · " (when(t)) " UTC" }
                                        br; code { (e) }
                                    } @else { span class="muted" { "—" } }
                                }
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
