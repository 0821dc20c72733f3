//! `/reviews`: the quarterly reviews (issue 17). The list and the form
//! that opens one (admins); a review's assets with the checklist owners
//! answer and the sign-off auditors give; closing; the report link. The
//! role and owner rules are the API's ([`crate::reviews`]), called from
//! here, so the console cannot allow more than the API.

#[allow(unused_imports)]
use super::*;

use kensa_store::review::{EolAction, EolPlan, ManagementConfirmed};
use kensa_store::{Checklist, Decision, ReviewAsset};

/// The management items an owner confirms, in the form's order.
const ITEMS: [&str; 8] = [
    "operation_start",
    "support_end",
    "owner",
    "team",
    "environment",
    "tags",
    "internet_exposure",
    "exposed_ports",
];

fn item_key(item: &str) -> &'static str {
    match item {
        "operation_start" => "rv.col.operation_start",
        "support_end" => "rv.col.support_end",
        "owner" => "rv.col.owner",
        "team" => "rv.col.team",
        "environment" => "rv.col.environment",
        "tags" => "rv.col.tags",
        "internet_exposure" => "rv.col.exposure",
        _ => "rv.col.ports",
    }
}

fn state_key(s: &str) -> &'static str {
    match s {
        "signed" => "rv.state.signed",
        "answered" => "rv.state.answered",
        "sent_back" => "rv.state.sent_back",
        "open" => "rv.state.open",
        "closed" => "rv.state.closed",
        _ => "rv.state.pending",
    }
}

pub(crate) async fn reviews(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    page(&state, headers, here("/reviews", &raw), move |db, cx| {
        let list = db.reviews()?;
        Ok(Out::Page(layout(
            cx,
            cx.t("rv.title"),
            html! {
                h1 { (cx.t("rv.title")) }
                table id="reviews" {
                    thead { tr { th { (cx.t("rv.name")) } th { (cx.t("rv.scope")) } th { (cx.t("rv.state")) } th { (cx.t("rv.progress")) } th { (cx.t("rv.opened")) } th {} } }
                    tbody {
                        @for r in &list {
                            tr data-review=(r.id) {
                                td { a href={ "/reviews/" (r.id) } { (r.name) } }
                                td { code { (r.scope) } }
                                td { (cx.t(state_key(&r.state))) }
                                td { (r.counts.signed) " / " (r.counts.assets - r.counts.removed) " " (cx.t("rv.state.signed")) }
                                td { (when(r.opened_at)) " · " (r.opened_by) }
                                td { @if r.digest.is_some() {
                                    a href={ "/api/v1/reviews/" (r.id) "/report?format=html&lang=" (cx.lang.code()) } { (cx.t("rv.view_report")) }
                                } }
                            }
                        }
                    }
                }
                @if cx.can(Role::Admin) {
                    h2 { (cx.t("rv.open.title")) }
                    form method="post" action="/reviews" class="panel stack" id="review-open" {
                        (csrf_field(cx))
                        label { (cx.t("rv.name")) input type="text" name="name" required placeholder="2026 Q4"; }
                        label { (cx.t("rv.scope")) input type="text" name="scope" class="filter" placeholder="team=web"; }
                        label { (cx.t("rv.owner_sign")) select name="owner_sign" {
                            @for v in ["auditor", "never", "any"] {
                                option value=(v) { (cx.t(match v { "auditor" => "rv.owner_sign.auditor", "never" => "rv.owner_sign.never", _ => "rv.owner_sign.any" })) }
                            }
                        } }
                        button type="submit" { (cx.t("rv.open.button")) }
                    }
                }
            },
        )))
    })
    .await
}

pub(crate) async fn review_open(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    post(&state, headers, body, |db, cx, form| {
        cx.require(Role::Admin, "opening a review needs the admin role")?;
        let name = form
            .get("name")
            .ok_or_else(|| ApiError::bad("name: required"))?;
        let id = crate::reviews::open_review(
            db,
            &cx.user,
            name,
            form.get("scope").unwrap_or(""),
            form.get("owner_sign"),
        )?;
        Ok(Out::See(format!("/reviews/{id}")))
    })
    .await
}

/// A date, highlighted when it has passed.
fn date_span(d: Option<&str>, today: &str) -> Markup {
    match d {
        Some(d) if d <= today => html! { span class="date-past" { (d) } },
        Some(d) => html! { (d) },
        None => html! {},
    }
}

fn answer_form(cx: &Ctx, review: i64, a: &ReviewAsset) -> Markup {
    let prev = a.answers.as_ref();
    let checked = |item: &str| {
        prev.is_some_and(|c| {
            let m = &c.management;
            match item {
                "operation_start" => m.operation_start,
                "support_end" => m.support_end,
                "owner" => m.owner,
                "team" => m.team,
                "environment" => m.environment,
                "tags" => m.tags,
                "internet_exposure" => m.internet_exposure,
                _ => m.exposed_ports,
            }
        })
    };
    let action = prev.and_then(|c| c.eol_plan.as_ref()).map(|p| p.action);
    html! {
        details class="answer" {
            summary { (cx.t("rv.answer")) }
            form method="post" action={ "/reviews/" (review) "/assets/" (a.asset_id) "/answer" } class="stack answer-form" {
                (csrf_field(cx))
                fieldset { legend { (cx.t("rv.q.management")) }
                    @for item in ITEMS {
                        label class="check" { input type="checkbox" name="m" value=(item) checked[checked(item)]; " " (cx.t(item_key(item))) }
                    }
                }
                label class="check" { input type="checkbox" name="exposure_confirmed" value="1" checked[prev.is_some_and(|c| c.exposure_confirmed)]; " " (cx.t("rv.q.exposure")) }
                label class="check" { input type="checkbox" name="findings_acknowledged" value="1" checked[prev.is_some_and(|c| c.findings_acknowledged)]; " " (cx.t("rv.q.findings")) }
                label class="check" { input type="checkbox" name="acceptances_valid" value="1" checked[prev.is_some_and(|c| c.acceptances_valid)]; " " (cx.t("rv.q.acceptances")) }
                label { (cx.t("rv.q.plan")) select name="plan" {
                    option value="" { (cx.t("rv.plan.none")) }
                    @for (v, k, act) in [("replace", "rv.plan.replace", EolAction::Replace), ("upgrade", "rv.plan.upgrade", EolAction::Upgrade), ("accept", "rv.plan.accept", EolAction::Accept)] {
                        option value=(v) selected[action == Some(act)] { (cx.t(k)) }
                    }
                } }
                label { (cx.t("rv.q.until")) input type="date" name="until" value=[prev.and_then(|c| c.eol_plan.as_ref()).and_then(|p| p.until.as_deref())]; }
                label { (cx.t("rv.q.comment")) input type="text" name="comment" value=[prev.and_then(|c| c.comment.as_deref())]; }
                button type="submit" { (cx.t("rv.answer")) }
            }
        }
    }
}

fn sign_forms(cx: &Ctx, review: i64, a: &ReviewAsset) -> Markup {
    html! {
        form method="post" action={ "/reviews/" (review) "/assets/" (a.asset_id) "/sign" } class="inline sign-form" {
            (csrf_field(cx))
            button type="submit" { (cx.t("rv.sign")) }
        }
        form method="post" action={ "/reviews/" (review) "/assets/" (a.asset_id) "/send-back" } class="inline send-back-form" {
            (csrf_field(cx))
            input type="text" name="comment" required placeholder=(cx.t("rv.q.comment"));
            button type="submit" class="danger" { (cx.t("rv.send_back")) }
        }
    }
}

pub(crate) async fn review(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    RawQuery(raw): RawQuery,
) -> Response {
    page(&state, headers, here(&format!("/reviews/{id}"), &raw), move |db, cx| {
        let r = db
            .review(id)?
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no review {id}")))?;
        let assets = db.review_assets(id)?;
        let events = db.review_events(id, None)?;
        let today = crate::assets::today();
        let open = r.state == "open";
        Ok(Out::Page(layout(
            cx,
            &r.name,
            html! {
                h1 id="review-name" { (cx.t("rv.title")) ": " (r.name) }
                p {
                    (cx.t("rv.scope")) ": " code { (r.scope) } " · " (cx.t("rv.state")) ": " span id="review-state" { (cx.t(state_key(&r.state))) }
                    " · " (r.counts.signed) " / " (r.counts.assets - r.counts.removed) " " (cx.t("rv.state.signed"))
                }
                @if let Some(d) = &r.digest {
                    p { a id="report-link" href={ "/api/v1/reviews/" (r.id) "/report?format=html&lang=" (cx.lang.code()) } { (cx.t("rv.view_report")) } " · SHA-256 " code { (d) } }
                }
                @if open && cx.can(Role::Admin) {
                    form method="post" action={ "/reviews/" (r.id) "/close" } class="inline" id="review-close" {
                        (csrf_field(cx)) button type="submit" { (cx.t("rv.close")) }
                    }
                }
                table id="review-assets" {
                    thead { tr {
                        th { (cx.t("rv.col.name")) } th { (cx.t("rv.col.owner")) } th { (cx.t("rv.col.team")) }
                        th { (cx.t("rv.col.os_eol")) } th { (cx.t("rv.col.support_end")) } th { (cx.t("rv.col.state")) }
                        th { (cx.t("rv.col.answered_by")) } th { (cx.t("rv.col.signed_by")) } th { (cx.t("rv.col.comment")) } th {}
                    } }
                    tbody {
                        @for a in &assets {
                            @let removed = a.removed_at.is_some();
                            @let owner = a.snapshot.management.owner.as_deref();
                            tr data-asset=(a.asset_id) data-state=(if removed { "removed" } else { a.state.as_str() }) {
                                td { @if removed { s { (a.name) } } @else { a href={ "/assets/" (a.asset_id) } { (a.name) } } }
                                td { (owner.unwrap_or("")) }
                                td { (a.snapshot.management.team.as_deref().unwrap_or("")) }
                                td { (date_span(a.snapshot.os_eol.as_deref(), &today)) }
                                td { (date_span(a.snapshot.management.support_end.as_deref(), &today)) }
                                td class="state" { (cx.t(if removed { "rv.state.removed" } else { state_key(&a.state) })) }
                                td { (a.answered_by.as_deref().unwrap_or("")) }
                                td { (a.signed_by.as_deref().unwrap_or("")) }
                                td { (a.comment.as_deref().unwrap_or("")) }
                                td {
                                    @if open && !removed {
                                        @if a.state != "signed" && crate::reviews::may_answer(cx.role, &cx.user, a, None).is_ok() {
                                            (answer_form(cx, r.id, a))
                                        }
                                        @if a.state == "answered" && crate::reviews::may_sign(cx.role, &cx.user, r.owner_sign, a, None).is_ok() {
                                            (sign_forms(cx, r.id, a))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                h2 { (cx.t("rv.events")) }
                table id="review-events" {
                    tbody {
                        @for e in &events {
                            tr { td { (when(e.at)) } td { (e.actor) } td { (e.action) } td { (e.asset_id.map(|a| a.to_string()).unwrap_or_default()) } td { code { (e.detail.to_string()) } } }
                        }
                    }
                }
            },
        )))
    })
    .await
}

/// The checklist of an answer form.
fn checklist_of(form: &Form) -> ApiResult<Checklist> {
    let m: Vec<&str> = form.all("m").collect();
    let has = |i: &str| m.contains(&i);
    let eol_plan = match form.get("plan") {
        None => None,
        Some(p) => Some(EolPlan {
            action: match p {
                "replace" => EolAction::Replace,
                "upgrade" => EolAction::Upgrade,
                "accept" => EolAction::Accept,
                other => {
                    return Err(ApiError::bad(format!(
                        "plan {other:?}: expected replace, upgrade or accept"
                    )));
                }
            },
            until: form.get("until").map(str::to_owned),
            note: None,
        }),
    };
    Ok(Checklist {
        management: ManagementConfirmed {
            operation_start: has("operation_start"),
            support_end: has("support_end"),
            owner: has("owner"),
            team: has("team"),
            environment: has("environment"),
            tags: has("tags"),
            internet_exposure: has("internet_exposure"),
            exposed_ports: has("exposed_ports"),
        },
        eol_plan,
        exposure_confirmed: form.get("exposure_confirmed").is_some(),
        findings_acknowledged: form.get("findings_acknowledged").is_some(),
        acceptances_valid: form.get("acceptances_valid").is_some(),
        comment: form.get("comment").map(str::to_owned),
    })
}

pub(crate) async fn review_answer(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((id, asset)): Path<(i64, i64)>,
    body: Bytes,
) -> Response {
    post(&state, headers, body, move |db, cx, form| {
        let c = checklist_of(&form)?;
        crate::reviews::answer(db, cx.role, &cx.user, id, asset, &c)?;
        Ok(Out::See(format!("/reviews/{id}")))
    })
    .await
}

pub(crate) async fn review_sign(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((id, asset)): Path<(i64, i64)>,
    body: Bytes,
) -> Response {
    post(&state, headers, body, move |db, cx, form| {
        let d = Decision::Sign {
            comment: form.get("comment").map(str::to_owned),
        };
        crate::reviews::decide(db, cx.role, &cx.user, id, asset, &d)?;
        Ok(Out::See(format!("/reviews/{id}")))
    })
    .await
}

pub(crate) async fn review_send_back(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((id, asset)): Path<(i64, i64)>,
    body: Bytes,
) -> Response {
    post(&state, headers, body, move |db, cx, form| {
        let d = Decision::SendBack {
            comment: form.get("comment").unwrap_or("").to_owned(),
        };
        crate::reviews::decide(db, cx.role, &cx.user, id, asset, &d)?;
        Ok(Out::See(format!("/reviews/{id}")))
    })
    .await
}

pub(crate) async fn review_close(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    post(&state, headers, body, move |db, cx, _form| {
        cx.require(Role::Admin, "closing a review needs the admin role")?;
        crate::reviews::close_review(db, &cx.user, id)?;
        Ok(Out::See(format!("/reviews/{id}")))
    })
    .await
}
