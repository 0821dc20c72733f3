//! The console's pages and form handlers, one module per page; what they
//! share (running a page or a form post, filter quoting, badges) is here.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use kensa_store::{
    AssetId, BANDS, Filter, FindingId, FindingQuery, FindingSummary, GroupBy, GroupSort,
    GroupSortKey, InternetExposure, ManagementPatch, Sort, SortKey, Timestamp, TriageChange,
};
use maud::{Markup, html};
use serde::Deserialize;

use super::{Ctx, Form, Lang, Out, answer, csrf_field, ctx, day, layout, post_ctx, svg, when};
use crate::assets::{CoverageContext, coverage_of};
use crate::auth::Role;
use crate::kit::{ApiError, ApiResult, AppState, with_db};

mod admin;
mod agentless;
mod asset;
mod assets;
mod coverage;
mod dashboard;
mod exports;
mod finding;
mod findings;
mod notifications;
mod reviews;
mod rules;
mod schedules;

// Each page's handlers and helpers, for the router and for each other.
pub(crate) use admin::*;
pub(crate) use agentless::*;
pub(crate) use asset::*;
pub use assets::render_assets;
pub(crate) use assets::*;
pub(crate) use coverage::*;
pub(crate) use dashboard::*;
pub(crate) use exports::*;
pub(crate) use finding::*;
pub use findings::render_findings;
pub(crate) use findings::*;
pub(crate) use notifications::*;
pub(crate) use reviews::*;
pub(crate) use rules::*;
pub(crate) use schedules::*;

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

/// An OS's support ends, each named: regular support, the vendor's
/// LTS/ESM and paid extended support are different promises (Debian 12's
/// regular support ends in 2026, its LTS runs to 2028).
pub(super) fn eol_dates(cx: &Ctx, e: &kensa_detect::OsEol) -> String {
    let date = |d: &Option<String>| d.clone().unwrap_or_else(|| cx.t("eol.none").to_owned());
    format!(
        "{} {} · {} {} · {} {}",
        cx.t("eol.regular"),
        date(&e.eol),
        cx.t("eol.lts"),
        date(&e.lts),
        cx.t("eol.extended"),
        date(&e.extended)
    )
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

/// The message key of a severity band's name.
pub(super) fn sev_key(s: &str) -> &'static str {
    match s {
        "CRITICAL" => "sev.CRITICAL",
        "HIGH" => "sev.HIGH",
        "MEDIUM" => "sev.MEDIUM",
        "LOW" => "sev.LOW",
        "INFORMATIONAL" => "sev.INFORMATIONAL",
        "UNTRIAGED" => "sev.UNTRIAGED",
        _ => "a.unknown",
    }
}

/// A severity badge in the reader's language. UNTRIAGED is a severity (no
/// score yet, as Amazon Inspector uses the word), not a triage state: its
/// name says so ("Untriaged (no score yet)"), and so does its hover text.
/// The band's API word stays in `data-band` for filters and tests.
fn sev_badge(cx: &Ctx, s: &str) -> Markup {
    let title = (s == "UNTRIAGED").then(|| cx.t("sev.untriaged_note"));
    let name = match sev_key(s) {
        "a.unknown" => s,
        k => cx.t(k),
    };
    html! { span class={ "sev sev-" (s) } data-band=(s) title=[title] { (name) } }
}

/// Yes or no in the reader's language.
pub(super) fn yes_no(cx: &Ctx, v: bool) -> &'static str {
    cx.t(if v { "w.yes" } else { "w.no" })
}

fn score(v: Option<f64>) -> String {
    v.map_or_else(String::new, |s| format!("{s:.1}"))
}

fn epss(v: Option<f64>) -> String {
    v.map_or_else(String::new, |s| format!("{:.1}%", s * 100.0))
}
