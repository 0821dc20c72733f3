//! What a message says: the webhook's versioned JSON document, the Slack
//! and Teams payloads, and the text a person reads (e-mail, syslog), in
//! English or Japanese.

use kensa_store::notify::{DIGEST_LIST, Delivery, Event};
use serde_json::{Value, json};

/// The webhook document's schema name; a breaking change gets a new one.
pub const SCHEMA: &str = "kensa.notification/v1";

/// The languages a recipient may read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    Ja,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "en" => Some(Lang::En),
            "ja" => Some(Lang::Ja),
            _ => None,
        }
    }
}

fn event_json(e: &Event) -> Value {
    json!({
        "id": format!("evt-{}", e.id),
        "type": e.kind,
        "at": e.at.to_rfc3339(),
        "cause": e.cause,
        "asset": e.asset_id.map(|id| json!({ "id": id, "name": e.asset_name })),
        "finding": e.finding_id.map(|id| json!({
            "id": id,
            "vulnerability_id": e.vulnerability_id,
            "package": e.package_name,
            "severity": e.severity,
            "kev": e.kev,
        })),
        "detail": e.detail,
    })
}

/// The webhook body (docs/notifications.md describes it).
pub fn document(d: &Delivery, sent_at: &str) -> Value {
    let counts: serde_json::Map<String, Value> = d
        .counts
        .iter()
        .map(|(k, n)| (k.clone(), json!(n)))
        .collect();
    json!({
        "schema": SCHEMA,
        "id": d.message_id,
        "kind": if d.message_id.starts_with("evt-") { "event" } else { "digest" },
        "rule": d.rule,
        "sent_at": sent_at,
        "event_count": d.event_count,
        "counts": counts,
        "events": d.events.iter().map(event_json).collect::<Vec<_>>(),
        "truncated": d.event_count > d.events.len() as u64,
    })
}

fn label(kind: &str, lang: Lang) -> &str {
    let (en, ja) = match kind {
        "finding.opened" => ("opened", "新規検出"),
        "finding.reopened" => ("reopened", "再検出"),
        "finding.closed" => ("closed", "解消"),
        "finding.severity_changed" => ("severity changed", "深刻度の変更"),
        "finding.kev_changed" => ("KEV status changed", "KEV 登録の変更"),
        "finding.due_approaching" => ("due date approaching", "対応期限が近い"),
        "finding.due_passed" => ("due date passed", "対応期限切れ"),
        "asset.silent" => ("no report from the asset", "資産からの報告が途絶"),
        "asset.coverage_lost" => ("coverage lost", "スキャン範囲から外れた"),
        "asset.eol_approaching" => ("end of life approaching", "サポート終了が近い"),
        "kb.updated" => ("knowledge base updated", "脆弱性データベース更新"),
        "export.finished" => ("export finished", "エクスポート完了"),
        "export.failed" => ("export failed", "エクスポート失敗"),
        "test" => ("test message", "テスト通知"),
        other => (other, other),
    };
    match lang {
        Lang::En => en,
        Lang::Ja => ja,
    }
}

/// One line about one event.
fn line(e: &Event, lang: Lang) -> String {
    let what = label(&e.kind, lang);
    let asset = e.asset_name.as_deref().unwrap_or("-");
    match (&e.vulnerability_id, lang) {
        (Some(v), Lang::En) => format!(
            "{what}: {v} ({}) in {} on {asset}{}",
            e.severity.as_deref().unwrap_or("?"),
            e.package_name.as_deref().unwrap_or("?"),
            if e.kev == Some(true) {
                ", known exploited"
            } else {
                ""
            }
        ),
        (Some(v), Lang::Ja) => format!(
            "{what}: {asset} の {} に {v}（{}）{}",
            e.package_name.as_deref().unwrap_or("?"),
            e.severity.as_deref().unwrap_or("?"),
            if e.kev == Some(true) {
                "・悪用確認済み"
            } else {
                ""
            }
        ),
        (None, _) if e.asset_id.is_some() => format!("{what}: {asset}"),
        (None, _) => format!("{what} {}", e.detail),
    }
}

/// The subject line.
pub fn subject(d: &Delivery, lang: Lang) -> String {
    match (d.events.first(), d.event_count, lang) {
        (Some(e), 1, _) => format!("[Kensa] {}", line(e, lang)),
        (_, n, Lang::En) => format!("[Kensa] {n} events for rule {}", d.rule),
        (_, n, Lang::Ja) => format!("[Kensa] ルール「{}」の通知 {n} 件", d.rule),
    }
}

/// The plain-text body: the counts, then the first events.
pub fn text(d: &Delivery, lang: Lang) -> String {
    let mut out = String::new();
    let head = match lang {
        Lang::En => format!("Rule: {}\nMessage: {}\n", d.rule, d.message_id),
        Lang::Ja => format!("ルール: {}\nメッセージ: {}\n", d.rule, d.message_id),
    };
    out.push_str(&head);
    for (k, n) in &d.counts {
        out.push_str(&format!("{}: {n}\n", label(k, lang)));
    }
    out.push('\n');
    for e in &d.events {
        out.push_str(&line(e, lang));
        out.push('\n');
    }
    let more = d.event_count.saturating_sub(d.events.len() as u64);
    if more > 0 {
        out.push_str(&match lang {
            Lang::En => format!("... and {more} more (first {DIGEST_LIST} listed)\n"),
            Lang::Ja => format!("ほか {more} 件（最初の {DIGEST_LIST} 件を表示）\n"),
        });
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The HTML body: the same as [`text`], as a list.
pub fn html(d: &Delivery, lang: Lang) -> String {
    let mut out = format!("<html><body><h1>{}</h1><ul>", escape(&subject(d, lang)));
    for (k, n) in &d.counts {
        out.push_str(&format!("<li>{}: {n}</li>", escape(label(k, lang))));
    }
    out.push_str("</ul><ol>");
    for e in &d.events {
        out.push_str(&format!("<li>{}</li>", escape(&line(e, lang))));
    }
    out.push_str(&format!(
        "</ol><p><small>{}</small></p></body></html>",
        escape(&d.message_id)
    ));
    out
}

/// Slack's incoming-webhook payload.
pub fn slack(d: &Delivery) -> Value {
    json!({ "text": format!("*{}*\n{}", subject(d, Lang::En), text(d, Lang::En)) })
}

/// A Teams incoming-webhook (connector) card.
pub fn teams(d: &Delivery) -> Value {
    json!({
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": subject(d, Lang::En),
        "title": subject(d, Lang::En),
        "text": text(d, Lang::En).replace('\n', "  \n"),
    })
}

/// The most urgent severity among the events, as a syslog severity
/// (RFC 5424: 2 critical, 3 error, 4 warning, 5 notice).
pub fn syslog_severity(d: &Delivery) -> u8 {
    d.events
        .iter()
        .filter_map(|e| e.severity.as_deref())
        .map(|s| match s {
            "CRITICAL" => 2,
            "HIGH" => 3,
            "MEDIUM" => 4,
            _ => 5,
        })
        .min()
        .unwrap_or(5)
}
