//! Sending one message to one channel. Every send is bounded by the
//! timeout, and a webhook's redirect is a failure (never followed: a
//! redirect to another host could carry the signed body anywhere).

use std::io::Write;
use std::time::Duration;

use hmac::{Hmac, Mac};
use kensa_store::Channel;
use kensa_store::notify::Delivery;
use serde_json::{Value, json};
use sha2::Sha256;

use super::message::{self, Lang};

/// Why a send failed, worded for the dead-letter list (no secret in it).
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("channel {channel}: {message}")]
    Failed { channel: String, message: String },
}

fn fail(c: &Channel, message: impl Into<String>) -> SendError {
    SendError::Failed {
        channel: c.name.clone(),
        message: message.into(),
    }
}

/// The HMAC-SHA256 signature of a webhook body: hex of
/// HMAC(secret, timestamp + "." + body).
pub fn signature(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Checks a channel's settings before they are stored; the message names
/// the field.
pub fn check(kind: &str, config: &Value, secret: Option<&str>) -> Result<(), String> {
    let text = |k: &str| config.get(k).and_then(Value::as_str);
    match kind {
        "webhook" => {
            check_url(text("url"), "config.url")?;
            match secret {
                Some(s) if s.len() >= 16 => Ok(()),
                _ => Err("secret: the webhook's HMAC key, at least 16 characters".into()),
            }
        }
        // The incoming-webhook URL is the credential: it is the secret.
        "slack" | "teams" => check_url(secret, "secret (the incoming-webhook URL)"),
        "syslog" => {
            let addr = text("address").ok_or("config.address: host:port of the syslog receiver")?;
            addr.parse::<std::net::SocketAddr>()
                .map_err(|e| format!("config.address {addr:?}: {e}"))?;
            match text("protocol").unwrap_or("udp") {
                "udp" | "tcp" => Ok(()),
                p => Err(format!("config.protocol {p:?}: udp or tcp")),
            }
        }
        "smtp" => super::smtp::check(config),
        k => Err(format!("kind {k:?}: webhook, slack, teams, smtp or syslog")),
    }
}

fn check_url(url: Option<&str>, field: &str) -> Result<(), String> {
    let u = url.ok_or_else(|| format!("{field}: an http or https URL"))?;
    let parsed = url::Url::parse(u).map_err(|e| format!("{field}: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(format!("{field}: an http or https URL"));
    }
    Ok(())
}

/// Sends `d` on its channel.
pub fn send(d: &Delivery, timeout: Duration) -> Result<(), SendError> {
    let c = &d.channel;
    let sent_at = kensa_store::Timestamp::now();
    match c.kind.as_str() {
        "webhook" => {
            let url = c.config.get("url").and_then(Value::as_str).unwrap_or("");
            let body = serde_json::to_vec(&message::document(d, &sent_at.to_rfc3339()))
                .map_err(|e| fail(c, e.to_string()))?;
            let ts = (sent_at.unix_ms() / 1000).to_string();
            let sig = signature(c.secret.as_deref().unwrap_or("").as_bytes(), &ts, &body);
            post(
                c,
                url,
                &body,
                &[
                    ("Kensa-Delivery-Id", d.message_id.as_str()),
                    ("Idempotency-Key", d.message_id.as_str()),
                    ("Kensa-Timestamp", ts.as_str()),
                    ("Kensa-Signature", &format!("v1={sig}")),
                ],
                timeout,
            )
        }
        "slack" | "teams" => {
            let payload = if c.kind == "slack" {
                message::slack(d)
            } else {
                message::teams(d)
            };
            let body = serde_json::to_vec(&payload).map_err(|e| fail(c, e.to_string()))?;
            post(
                c,
                c.secret.as_deref().unwrap_or(""),
                &body,
                &[("Idempotency-Key", d.message_id.as_str())],
                timeout,
            )
        }
        "syslog" => syslog(d, timeout),
        "smtp" => super::smtp::send(d, timeout),
        k => Err(fail(c, format!("unknown channel kind {k:?}"))),
    }
}

fn post(
    c: &Channel,
    url: &str,
    body: &[u8],
    headers: &[(&str, &str)],
    timeout: Duration,
) -> Result<(), SendError> {
    let agent = ureq::AgentBuilder::new()
        .redirects(0)
        .timeout(timeout)
        .build();
    let mut req = agent
        .post(url)
        .set("Content-Type", "application/json")
        .set("User-Agent", concat!("kensa/", env!("CARGO_PKG_VERSION")));
    for (k, v) in headers {
        req = req.set(k, v);
    }
    // Only the host is named: a Slack URL's path is its credential.
    let host = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    match req.send_bytes(body) {
        Ok(r) if (200..300).contains(&r.status()) => Ok(()),
        Ok(r) => Err(fail(
            c,
            format!(
                "{host} answered {} (redirect to {:?} not followed)",
                r.status(),
                r.header("Location").unwrap_or("")
            ),
        )),
        Err(ureq::Error::Status(code, _)) => Err(fail(c, format!("{host} answered {code}"))),
        Err(ureq::Error::Transport(t)) => Err(fail(c, format!("{host}: {}", t.kind()))),
    }
}

/// RFC 5424 over UDP (one datagram) or TCP (octet-counted frames, RFC
/// 6587).
fn syslog(d: &Delivery, timeout: Duration) -> Result<(), SendError> {
    let c = &d.channel;
    let addr: std::net::SocketAddr = c
        .config
        .get("address")
        .and_then(Value::as_str)
        .unwrap_or("")
        .parse()
        .map_err(|e| fail(c, format!("config.address: {e}")))?;
    let facility = c
        .config
        .get("facility")
        .and_then(Value::as_u64)
        .unwrap_or(16)
        .min(23);
    let pri = facility * 8 + u64::from(message::syslog_severity(d));
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "-".into());
    let summary = message::subject(d, Lang::En).replace(['\n', '\r'], " ");
    let sd = format!(
        "[kensa@32473 id=\"{}\" rule=\"{}\" count=\"{}\"]",
        sd_escape(&d.message_id),
        sd_escape(&d.rule),
        d.event_count
    );
    let line = format!(
        "<{pri}>1 {} {host} kensa - {} {sd} \u{feff}{summary}",
        kensa_store::Timestamp::now().to_rfc3339(),
        if d.event_count == 1 {
            "EVENT"
        } else {
            "DIGEST"
        },
    );
    let io = |e: std::io::Error| fail(c, format!("{addr}: {e}"));
    match c.config.get("protocol").and_then(Value::as_str) {
        Some("tcp") => {
            let mut s = std::net::TcpStream::connect_timeout(&addr, timeout).map_err(io)?;
            s.set_write_timeout(Some(timeout)).map_err(io)?;
            s.write_all(format!("{} {line}", line.len()).as_bytes())
                .map_err(io)?;
            s.flush().map_err(io)
        }
        _ => {
            let bind = if addr.is_ipv4() {
                "0.0.0.0:0"
            } else {
                "[::]:0"
            };
            let s = std::net::UdpSocket::bind(bind).map_err(io)?;
            s.send_to(line.as_bytes(), addr).map_err(io).map(|_| ())
        }
    }
}

/// RFC 5424 PARAM-VALUE: `"`, `\` and `]` escaped.
fn sd_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace(']', "\\]")
}

/// The test message "send a test" sends through a rule's channel.
pub fn test_delivery(rule: &str, channel: Channel) -> Delivery {
    let now = kensa_store::Timestamp::now();
    Delivery {
        id: 0,
        message_id: format!("test-{}", now.unix_ms()),
        rule: rule.to_owned(),
        mode: "each".into(),
        channel,
        attempt: 1,
        worker: String::new(),
        event_count: 1,
        counts: vec![("test".into(), 1)],
        events: vec![kensa_store::Event {
            id: 0,
            kind: "test".into(),
            at: now,
            cause: "test".into(),
            asset_id: None,
            asset_name: None,
            finding_id: None,
            vulnerability_id: None,
            package_name: None,
            severity: None,
            kev: None,
            detail: json!({ "message": "a test from Kensa" }),
        }],
    }
}

#[cfg(test)]
mod tests {
    /// The signature a receiver computes from the documented recipe.
    #[test]
    fn signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Computed independently with Python's hmac module:
        // hmac.new(b"key", b"1.{}", "sha256").hexdigest().
        let s = super::signature(b"key", "1", b"{}");
        assert_eq!(
            s,
            "1ba6b8171186efc613e8bcc0cbdab2748f24984d7c5a84faa2637afa0e40d224"
        );
        assert_ne!(s, super::signature(b"key", "2", b"{}"));
        assert_ne!(s, super::signature(b"other", "1", b"{}"));
    }
}
