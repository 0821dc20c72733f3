//! E-mail over SMTP with `lettre`: STARTTLS required (a server that does
//! not offer it is an error, never a plain-text fallback), authentication
//! when a user is set, a text and an HTML part, the subject and body in
//! each recipient's language (non-ASCII subjects RFC 2047-encoded by
//! lettre).

use std::time::Duration;

use kensa_store::notify::Delivery;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};
use serde_json::Value;

use super::channel::SendError;
use super::message::{self, Lang};

/// One recipient and the language they read.
struct Recipient {
    mailbox: Mailbox,
    lang: Lang,
}

fn recipients(config: &Value) -> Result<Vec<Recipient>, String> {
    let list = config
        .get("recipients")
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
        .ok_or("config.recipients: a list of {\"address\", \"language\"}")?;
    list.iter()
        .enumerate()
        .map(|(i, r)| {
            let address = r
                .get("address")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("config.recipients[{i}].address: missing"))?;
            let mailbox = address
                .parse::<Mailbox>()
                .map_err(|e| format!("config.recipients[{i}].address {address:?}: {e}"))?;
            let lang = match r.get("language").and_then(Value::as_str) {
                None => Lang::En,
                Some(l) => Lang::parse(l)
                    .ok_or_else(|| format!("config.recipients[{i}].language {l:?}: en or ja"))?,
            };
            Ok(Recipient { mailbox, lang })
        })
        .collect()
}

fn text<'a>(config: &'a Value, key: &str) -> Option<&'a str> {
    config.get(key).and_then(Value::as_str)
}

/// Checks an SMTP channel's settings; the message names the field.
pub fn check(config: &Value) -> Result<(), String> {
    text(config, "host")
        .filter(|h| !h.is_empty())
        .ok_or("config.host: the mail server's name")?;
    if let Some(p) = config.get("port")
        && p.as_u64().is_none_or(|p| p == 0 || p > 65535)
    {
        return Err(format!("config.port {p}: 1 to 65535"));
    }
    let from = text(config, "from").ok_or("config.from: the sender's address")?;
    from.parse::<Mailbox>()
        .map_err(|e| format!("config.from {from:?}: {e}"))?;
    if let Some(ca) = text(config, "ca_file") {
        std::fs::read(ca).map_err(|e| format!("config.ca_file {ca}: {e}"))?;
    }
    recipients(config).map(|_| ())
}

/// Sends one mail per recipient, in the recipient's language. The
/// Message-ID is derived from the message's id, so that a copy sent again
/// after a crash can be recognised.
pub fn send(d: &Delivery, timeout: Duration) -> Result<(), SendError> {
    let c = &d.channel;
    let fail = |m: String| SendError::Failed {
        channel: c.name.clone(),
        message: m,
    };
    let host = text(&c.config, "host").unwrap_or("");
    let port = c
        .config
        .get("port")
        .and_then(Value::as_u64)
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or(587);
    let mut tls = TlsParameters::builder(host.to_owned());
    if let Some(ca) = text(&c.config, "ca_file") {
        let pem = std::fs::read(ca).map_err(|e| fail(format!("config.ca_file {ca}: {e}")))?;
        let cert =
            Certificate::from_pem(&pem).map_err(|e| fail(format!("config.ca_file {ca}: {e}")))?;
        tls = tls.add_root_certificate(cert);
    }
    let tls = tls
        .build_rustls()
        .map_err(|e| fail(format!("TLS for {host}: {e}")))?;
    let mut builder = SmtpTransport::builder_dangerous(host)
        .port(port)
        .tls(Tls::Required(tls))
        .timeout(Some(timeout));
    if let Some(user) = text(&c.config, "username") {
        builder = builder.credentials(Credentials::new(
            user.to_owned(),
            c.secret.clone().unwrap_or_default(),
        ));
    }
    let transport = builder.build();
    let from: Mailbox = text(&c.config, "from")
        .unwrap_or("")
        .parse()
        .map_err(|e| fail(format!("config.from: {e}")))?;
    let list = recipients(&c.config).map_err(fail)?;
    for (i, r) in list.iter().enumerate() {
        let mail = Message::builder()
            .from(from.clone())
            .to(r.mailbox.clone())
            .message_id(Some(format!("<{}.{i}@kensa>", d.message_id)))
            .subject(message::subject(d, r.lang))
            .multipart(MultiPart::alternative_plain_html(
                message::text(d, r.lang),
                message::html(d, r.lang),
            ))
            .map_err(|e| fail(format!("building the mail: {e}")))?;
        // lettre's error names the step (STARTTLS refused, authentication
        // failed, recipient refused); it holds no password.
        transport
            .send(&mail)
            .map_err(|e| fail(format!("{host}:{port}: {e}")))?;
    }
    Ok(())
}
