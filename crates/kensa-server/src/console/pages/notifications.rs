//! `/admin/notifications`: notification rules (list, create, delete,
//! "send a test"), the channels (never their secrets) and the dead-letter
//! list with its retry button. Admins only; the API is the same store
//! calls, so the two agree on what a valid rule is.

#[allow(unused_imports)]
use super::*;

#[derive(Deserialize)]
pub(crate) struct NotificationsQuery {
    /// What the last form did, shown once.
    done: Option<String>,
    /// The test's error, when it failed.
    error: Option<String>,
}

const ADMIN: &str = "notifications need the admin role";

pub(crate) async fn notifications(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    Query(q): Query<NotificationsQuery>,
) -> Response {
    page(
        &state,
        headers,
        here("/admin/notifications", &raw),
        move |db, cx| {
            cx.require(Role::Admin, ADMIN)?;
            let rules = db.rules()?;
            let channels = db.channels()?;
            let dead = db.dead_letters(100)?;
            let channel_name = |id: i64| {
                channels
                    .iter()
                    .find(|c| c.id == id)
                    .map_or(String::new(), |c| c.name.clone())
            };
            Ok(Out::Page(layout(
                cx,
                cx.t("n.title"),
                html! {
                    h1 { (cx.t("n.title")) }
                    @if let Some(d) = &q.done { p class="ok" id="done" { (cx.t(done_key(d))) } }
                    @if let Some(e) = &q.error { p class="error" id="test-error" { (e) } }
                    h2 { (cx.t("n.rules")) }
                    table id="notification-rules" {
                        thead { tr { th { (cx.t("r.name")) } th { (cx.t("n.events")) } th { (cx.t("r.filter")) } th { (cx.t("n.channel")) } th { (cx.t("n.mode")) } th {} } }
                        tbody {
                            @for r in &rules {
                                tr {
                                    td { (r.name) }
                                    td { (r.event_types.join(", ")) }
                                    td { code { (r.filter) } }
                                    td { (channel_name(r.channel_id)) }
                                    td { (cx.t(mode_key(&r.mode))) }
                                    td {
                                        form method="post" action={ "/admin/notifications/rules/" (r.id) "/test" } class="inline" {
                                            (csrf_field(cx)) button type="submit" { (cx.t("n.test")) }
                                        }
                                        form method="post" action={ "/admin/notifications/rules/" (r.id) "/delete" } class="inline" {
                                            (csrf_field(cx)) button type="submit" class="danger" { (cx.t("r.delete")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    @if !channels.is_empty() {
                        h2 { (cx.t("n.create")) }
                        form method="post" action="/admin/notifications/rules" class="panel stack" id="notification-rule-form" {
                            (csrf_field(cx))
                            label { (cx.t("r.name")) input type="text" name="name" required; }
                            fieldset {
                                legend { (cx.t("n.events")) }
                                @for t in kensa_store::notify::EVENT_TYPES {
                                    label class="check" { input type="checkbox" name="event_types" value=(t); " " (t) }
                                }
                            }
                            label { (cx.t("r.filter")) input type="text" name="filter" class="filter" placeholder="severity>=HIGH kev=yes"; }
                            label { (cx.t("n.channel")) select name="channel_id" {
                                @for c in &channels { option value=(c.id) { (c.name) " (" (c.kind) ")" } }
                            } }
                            label { (cx.t("n.mode")) select name="mode" {
                                option value="each" { (cx.t("n.each")) }
                                option value="hour" { (cx.t("n.hour")) }
                                option value="day" { (cx.t("n.day")) }
                            } }
                            button type="submit" { (cx.t("n.create")) }
                        }
                    }
                    h2 { (cx.t("n.channels")) }
                    table id="notification-channels" {
                        thead { tr { th { (cx.t("r.name")) } th { (cx.t("n.kind")) } th { (cx.t("n.secret")) } } }
                        tbody {
                            @for c in &channels {
                                tr { td { (c.name) } td { (c.kind) } td { @if c.has_secret { (cx.t("n.set")) } } }
                            }
                        }
                    }
                    p { (cx.t("n.channels_api")) }
                    h2 { (cx.t("n.dead")) }
                    table id="dead-letters" {
                        thead { tr { th { "ID" } th { (cx.t("n.rule")) } th { (cx.t("n.count")) } th { (cx.t("n.error")) } th { (cx.t("n.failed_at")) } th {} } }
                        tbody {
                            @for d in &dead {
                                tr {
                                    td { (d.message_id.as_deref().unwrap_or("")) }
                                    td { (d.rule) }
                                    td { (d.event_count) }
                                    td { (d.last_error.as_deref().unwrap_or("")) }
                                    td { (when(d.failed_at)) }
                                    td { form method="post" action={ "/admin/notifications/dead/" (d.id) "/retry" } class="inline" {
                                        (csrf_field(cx)) button type="submit" { (cx.t("n.retry")) }
                                    } }
                                }
                            }
                        }
                    }
                },
            )))
        },
    )
    .await
}

fn done_key(d: &str) -> &'static str {
    match d {
        "created" => "n.created",
        "deleted" => "n.deleted",
        "sent" => "n.sent",
        "retried" => "n.retried",
        _ => "n.failed",
    }
}

fn mode_key(m: &str) -> &'static str {
    match m {
        "hour" => "n.hour",
        "day" => "n.day",
        _ => "n.each",
    }
}

pub(crate) async fn notification_rule_create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    post(&state, headers, body, |db, cx, form| {
        cx.require(Role::Admin, ADMIN)?;
        let rule = kensa_store::NewRule {
            name: form.get("name").unwrap_or("").to_owned(),
            event_types: form.all("event_types").map(str::to_owned).collect(),
            filter: form.get("filter").unwrap_or("").to_owned(),
            channel_id: form
                .get("channel_id")
                .and_then(|c| c.parse().ok())
                .ok_or_else(|| ApiError::bad("channel_id: required"))?,
            mode: form.get("mode").unwrap_or("each").to_owned(),
            enabled: true,
        };
        db.put_rule(None, &rule, &cx.user, Timestamp::now())?;
        Ok(Out::See("/admin/notifications?done=created".into()))
    })
    .await
}

pub(crate) async fn notification_rule_delete(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    post(&state, headers, body, move |db, cx, _form| {
        cx.require(Role::Admin, ADMIN)?;
        db.delete_rule(id)?;
        Ok(Out::See("/admin/notifications?done=deleted".into()))
    })
    .await
}

/// Sends the test on the blocking pool that runs the form (bounded by the
/// channel timeout), then shows the result.
pub(crate) async fn notification_rule_test(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    post(&state, headers, body, move |db, cx, _form| {
        cx.require(Role::Admin, ADMIN)?;
        let rule = db
            .rule(id)?
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no rule {id}")))?;
        let channel = db
            .channel(rule.channel_id)?
            .ok_or_else(|| ApiError::bad(format!("no channel {}", rule.channel_id)))?;
        let d = crate::notify::channel::test_delivery(&rule.name, channel);
        let timeout = crate::notify::NotifyConfig::default().timeout;
        Ok(Out::See(match crate::notify::channel::send(&d, timeout) {
            Ok(()) => "/admin/notifications?done=sent".into(),
            Err(e) => format!(
                "/admin/notifications?done=failed&{}",
                serde_urlencoded::to_string([("error", e.to_string())]).unwrap_or_default()
            ),
        }))
    })
    .await
}

pub(crate) async fn dead_letter_retry(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    post(&state, headers, body, move |db, cx, _form| {
        cx.require(Role::Admin, ADMIN)?;
        db.retry_dead_letter(id)?;
        Ok(Out::See("/admin/notifications?done=retried".into()))
    })
    .await
}
