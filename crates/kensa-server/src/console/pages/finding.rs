//! `/findings/{id}`: one finding, its history and its triage form.

#[allow(unused_imports)]
use super::*;

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

pub(super) fn finding_page(db: &kensa_store::Db, cx: &Ctx, id: FindingId) -> ApiResult<Markup> {
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
            h1 id="finding-title" { (sev_badge(cx, sev)) " " (f.vulnerability_id) " — " (f.package_name)
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
                thead { tr { th { (cx.t("fd.at")) } th { (cx.t("fd.actor")) } th { (cx.t("fd.via")) } th { (cx.t("fd.changes")) } } }
                tbody {
                    @for a in audit.iter().rev() {
                        tr class="audit-entry" {
                            td class="at" { (when(a.at)) " UTC" } td class="actor" { (a.actor) } td { (a.via) }
                            td { ul class="changes" {
                                @for (field, before, after) in audit_changes(cx, &a.before, &a.after) {
                                    li class="change" { strong { (field) } ": " span class="before" { (before) } " → " span class="after" { (after) } }
                                }
                            } }
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

/// The fields an audit entry changed, each as (name, before, after) in
/// the reader's language, in the triage's field order: what a person reads
/// instead of two JSON objects with times in epoch milliseconds.
pub(super) fn audit_changes(
    cx: &Ctx,
    before: &serde_json::Value,
    after: &serde_json::Value,
) -> Vec<(String, String, String)> {
    const FIELDS: &[(&str, &str)] = &[
        ("status", "f.status"),
        ("state", "fd.state"),
        ("justification", "fd.justification"),
        ("response", "fd.response"),
        ("assignee", "f.assignee"),
        ("comment", "fd.comment"),
        ("due_at", "f.due"),
        ("due_by_hand", "fd.due_by_hand"),
        ("risk_accepted_until", "fd.risk_until"),
        ("suppressed_by", "fd.suppressed_by"),
        ("suppress_reason", "f.suppress_reason"),
        ("rule", "fd.rule"),
    ];
    let null = serde_json::Value::Null;
    let mut out = Vec::new();
    let mut known = std::collections::BTreeSet::new();
    for (k, label) in FIELDS {
        known.insert(*k);
        let (b, a) = (
            before.get(k).unwrap_or(&null),
            after.get(k).unwrap_or(&null),
        );
        if b != a {
            out.push((
                cx.t(label).to_owned(),
                audit_value(cx, k, b),
                audit_value(cx, k, a),
            ));
        }
    }
    // Fields a later version may add: shown by their own name.
    let mut rest: Vec<&String> = before
        .as_object()
        .into_iter()
        .chain(after.as_object())
        .flat_map(|o| o.keys())
        .filter(|k| !known.contains(k.as_str()))
        .collect();
    rest.sort();
    rest.dedup();
    for k in rest {
        let (b, a) = (
            before.get(k).unwrap_or(&null),
            after.get(k).unwrap_or(&null),
        );
        if b != a {
            out.push((k.clone(), audit_value(cx, k, b), audit_value(cx, k, a)));
        }
    }
    out
}

/// One audited value as a person reads it: times as dates, nothing as a
/// dash, yes/no, lists joined.
fn audit_value(cx: &Ctx, field: &str, v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::Null => "—".to_owned(),
        Value::Bool(b) => yes_no(cx, *b).to_owned(),
        Value::Number(n) if field.ends_with("_at") => n
            .as_i64()
            .map_or_else(|| n.to_string(), |ms| day(Timestamp::from_unix_ms(ms))),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "—".to_owned(),
        Value::Array(items) => items
            .iter()
            .map(|i| audit_value(cx, field, i))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

pub(super) fn triage_form(cx: &Ctx, id: FindingId, t: &kensa_store::Triage) -> Markup {
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
