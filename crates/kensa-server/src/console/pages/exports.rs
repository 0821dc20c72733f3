//! `/exports`: the caller's background exports (every one's for an
//! admin), as `GET /api/v1/exports` lists them, with download, cancel,
//! retry and delete, and a form that queues a new one.

#[allow(unused_imports)]
use super::*;

use serde_json::Value;

use crate::auth::Principal;

#[derive(Deserialize)]
pub(crate) struct ExportsQuery {
    /// The filter the new-export form starts with (the findings page
    /// links here with its own).
    filter: Option<String>,
    /// A job just queued, cancelled, retried or deleted.
    done: Option<String>,
}

fn principal(cx: &Ctx) -> Principal {
    Principal::User {
        name: cx.user.clone(),
        role: cx.role,
    }
}

/// A byte count as people read it.
fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KB", "MB", "GB"];
    #[allow(clippy::cast_precision_loss)]
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn time_of(v: &Value) -> Option<String> {
    v.as_i64().map(|ms| when(Timestamp::from_unix_ms(ms)))
}

fn status_key(s: &str) -> &'static str {
    match s {
        "queued" => "x.s.queued",
        "running" => "x.s.running",
        "done" => "x.s.done",
        "failed" => "x.s.failed",
        "cancelled" => "x.s.cancelled",
        "expired" => "x.s.expired",
        _ => "a.unknown",
    }
}

/// Where an export went, in a word or two.
fn destination(cx: &Ctx, v: &Value) -> String {
    match v["type"].as_str() {
        Some("download") => cx.t("x.d.download").to_owned(),
        Some("path") => format!("{} {}", cx.t("x.d.path"), v["dir"].as_str().unwrap_or("")),
        Some("s3") => format!("S3 {}", v["bucket"].as_str().unwrap_or("")),
        _ => String::new(),
    }
}

pub(crate) async fn exports(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    Query(q): Query<ExportsQuery>,
) -> Response {
    page(&state, headers, here("/exports", &raw), move |db, cx| {
        let list = crate::export::list_jobs(db, &principal(cx))?;
        let jobs = list["exports"].as_array().cloned().unwrap_or_default();
        let held = list["held_bytes"].as_u64().unwrap_or(0);
        let max = list["max_bytes_per_user"].as_u64().unwrap_or(0);
        Ok(Out::Page(layout(
            cx,
            cx.t("x.title"),
            html! {
                h1 { (cx.t("x.title")) }
                @if let Some(d) = &q.done { p class="ok" id="done" { (d) } }
                p class="muted" id="held" { (cx.t("x.held")) " " (size(held)) " / " (size(max)) }
                form method="post" action="/exports" class="panel row" id="export-form" {
                    (csrf_field(cx))
                    label { (cx.t("x.format"))
                        select name="format" id="export-format" {
                            option value="csv" { "CSV" } option value="json" { "JSON" }
                        }
                    }
                    label { (cx.t("f.filter"))
                        input type="text" name="filter" class="filter" id="export-filter" value=(q.filter.as_deref().unwrap_or(""));
                    }
                    button type="submit" id="export-submit" { (cx.t("x.queue")) }
                }
                @if jobs.is_empty() {
                    p id="no-exports" { (cx.t("x.none")) }
                } @else {
                    table id="exports" {
                        thead { tr {
                            th { "ID" } th { (cx.t("x.format")) } th { (cx.t("f.filter")) } th { (cx.t("x.destination")) }
                            th { (cx.t("x.status")) } th class="num" { (cx.t("x.rows")) } th class="num" { (cx.t("x.size")) }
                            th { (cx.t("x.created")) } th { (cx.t("x.expires")) } th {}
                        } }
                        tbody {
                            @for j in &jobs {
                                @let id = j["id"].as_i64().unwrap_or(0);
                                @let status = j["status"].as_str().unwrap_or("");
                                @let download = j["destination"]["type"] == "download";
                                tr class="export" data-id=(id) data-status=(status) {
                                    td { (id) }
                                    td { (j["format"].as_str().unwrap_or("")) }
                                    td { code { (j["filter"].as_str().unwrap_or("")) } }
                                    td { (destination(cx, &j["destination"])) }
                                    td class="status" {
                                        (cx.t(status_key(status)))
                                        @if let Some(e) = j["error"].as_str() { br; span class="error" { (e) } }
                                    }
                                    td class="num" { (j["rows"].as_u64().unwrap_or(0)) }
                                    td class="num size" { (size(j["bytes"].as_u64().unwrap_or(0))) }
                                    td { (time_of(&j["created_at"]).unwrap_or_default()) }
                                    td class="expires" {
                                        @if let Some(t) = time_of(&j["expires_at"]) { (t) }
                                        @else if let Some(t) = time_of(&j["expired_at"]) { span class="muted" { (cx.t("x.s.expired")) " " (t) } }
                                    }
                                    td class="actions" {
                                        @if status == "done" && download {
                                            a class="download" href={ "/api/v1/exports/" (id) "/download" } { (cx.t("x.download")) } " "
                                        }
                                        @if status == "queued" || status == "running" {
                                            (action(cx, id, "cancel", "x.cancel", false))
                                        } @else {
                                            (action(cx, id, "retry", "x.retry", false))
                                        }
                                        (action(cx, id, "delete", "x.delete", true))
                                    }
                                }
                            }
                        }
                    }
                }
            },
        )))
    })
    .await
}

fn action(cx: &Ctx, id: i64, what: &str, label: &'static str, danger: bool) -> Markup {
    html! {
        form method="post" action={ "/exports/" (id) "/" (what) } class="inline" {
            (csrf_field(cx))
            button type="submit" class={ (what) @if danger { " danger" } } { (cx.t(label)) }
        } " "
    }
}

/// `POST /exports`: queues an export of the form's filter to a download.
pub(crate) async fn export_create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let exports = Arc::clone(&state.exports);
    let wake = Arc::clone(&state.exports);
    let r = post(&state, headers, body, move |db, cx, form| {
        let format = form.get("format").unwrap_or("csv");
        let id = crate::export::queue_download(
            db,
            &exports,
            &principal(cx),
            format,
            form.get("filter"),
        )?;
        Ok(Out::See(done(cx, "x.queued", id.0)))
    })
    .await;
    wake.wake.notify();
    r
}

/// The exports page saying what was just done to job `id`.
fn done(cx: &Ctx, key: &'static str, id: i64) -> String {
    format!(
        "/exports?{}",
        serde_urlencoded::to_string([("done", format!("{} {id}", cx.t(key)))]).unwrap_or_default()
    )
}

/// `POST /exports/{id}/cancel|retry|delete`: as the API's, for the
/// console's buttons (the same ownership rule: another user's job is
/// "not found" unless the caller is an admin).
pub(crate) async fn export_action(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((id, what)): Path<(i64, String)>,
    body: Bytes,
) -> Response {
    let exports = Arc::clone(&state.exports);
    let wake = Arc::clone(&state.exports);
    let r = post(&state, headers, body, move |db, cx, _form| {
        let p = principal(cx);
        let key = match what.as_str() {
            "cancel" => {
                crate::export::cancel_job(db, &exports, &p, id)?;
                "x.cancelled"
            }
            "retry" => {
                let new = crate::export::retry_job(db, &exports, &p, id)?;
                return Ok(Out::See(done(cx, "x.queued", new.0)));
            }
            "delete" => {
                crate::export::delete_job(db, &exports, &p, id)?;
                "x.deleted"
            }
            other => {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    format!("no export action {other:?}: cancel, retry or delete"),
                ));
            }
        };
        Ok(Out::See(done(cx, key, id)))
    })
    .await;
    wake.wake.notify();
    r
}
