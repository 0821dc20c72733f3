//! A closed review's report, as one JSON document: what the auditors
//! signed, per team and asset, and what changed since the previous closed
//! review of the same scope (new and removed assets, findings opened and
//! closed, support and end-of-life dates passed, exposure changes).
//!
//! The document is built once, when the review closes, from the assets as
//! they are then (an asset removed during the review from what it was when
//! the review opened), and stored as canonical bytes with their digest
//! ([`crate::review`]). Every rendering (HTML, CSV, XLSX) reads this
//! document, never the live tables, so all of them show what was frozen.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Value, json};

use crate::error::Result;
use crate::filter::Filter;
use crate::review::{AssetFacts, Review, ReviewAsset, facts_in_scope};
use crate::time::Timestamp;
use crate::{AssetId, Db};

/// The report format's name and version, first thing a reader checks.
pub const REPORT_FORMAT: &str = "kensa-review-report/1";

/// `YYYY-MM-DD` of an instant (UTC).
pub fn day_of(t: Timestamp) -> String {
    t.to_rfc3339().chars().take(10).collect()
}

/// Whether the date `d` (`YYYY-MM-DD`) is on or before `as_of`.
fn past(d: Option<&String>, as_of: &str) -> bool {
    d.is_some_and(|d| d.as_str() <= as_of)
}

fn ts(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, |t| Value::String(t.to_rfc3339()))
}

/// One asset's entry.
fn entry(
    ra: &ReviewAsset,
    facts: &AssetFacts,
    as_of: &str,
    since: Option<(u64, u64)>,
) -> Result<Value> {
    let m = &facts.management;
    let changed = ra.removed_at.is_none() && facts.management != ra.snapshot.management;
    Ok(json!({
        "asset_id": ra.asset_id,
        "name": facts.name,
        "kind": facts.kind,
        "source": facts.source,
        "agent": facts.agent,
        "reported": facts.reported,
        "team": m.team,
        "owner": m.owner,
        "environment": m.environment,
        "tags": m.tags,
        "operation_start": m.operation_start,
        "support_end": m.support_end,
        "support_end_past": past(m.support_end.as_ref(), as_of),
        "os": facts.os,
        "os_eol": facts.os_eol,
        "os_eol_past": past(facts.os_eol.as_ref(), as_of),
        "os_eol_status": facts.os_eol_status,
        "extended_support": facts.extended_support,
        "middleware": facts.middleware,
        "exposure": facts.exposure,
        "exposed_ports": facts.exposed_ports,
        "open": facts.open,
        "state": if ra.removed_at.is_some() { "removed" } else { ra.state.as_str() },
        "removed_at": ts(ra.removed_at),
        "management_changed": changed,
        "answers": ra.answers,
        "answered_by": ra.answered_by,
        "answered_at": ts(ra.answered_at),
        "signed_by": ra.signed_by,
        "signed_at": ts(ra.signed_at),
        "comment": ra.comment,
        "findings_opened": since.map(|s| s.0),
        "findings_closed": since.map(|s| s.1),
    }))
}

fn n(v: &Value, k: &str) -> u64 {
    v.get(k).and_then(Value::as_u64).unwrap_or(0)
}

fn s<'v>(v: &'v Value, k: &str) -> Option<&'v str> {
    v.get(k).and_then(Value::as_str)
}

/// What changed since `prev` (the previous report).
fn changes(prev: &Value, entries: &[Value], as_of: &str) -> Value {
    let prev_as_of = prev
        .pointer("/review/closed_at")
        .and_then(Value::as_str)
        .map(|t| t.chars().take(10).collect::<String>())
        .unwrap_or_default();
    let mut before: HashMap<i64, &Value> = HashMap::new();
    for t in prev["teams"].as_array().into_iter().flatten() {
        for a in t["assets"].as_array().into_iter().flatten() {
            if s(a, "state") != Some("removed")
                && let Some(id) = a["asset_id"].as_i64()
            {
                before.insert(id, a);
            }
        }
    }
    let brief =
        |a: &Value| json!({ "asset_id": a["asset_id"], "name": a["name"], "team": a["team"] });
    let mut new_assets = Vec::new();
    let mut removed = Vec::new();
    let mut dates = Vec::new();
    let mut exposure = Vec::new();
    let mut opened = 0u64;
    let mut closed = 0u64;
    let mut present = HashSet::new();
    for a in entries {
        let id = a["asset_id"].as_i64().unwrap_or_default();
        opened += n(a, "findings_opened");
        closed += n(a, "findings_closed");
        if s(a, "state") == Some("removed") {
            removed.push(brief(a));
            continue;
        }
        present.insert(id);
        for field in ["support_end", "os_eol"] {
            if let Some(d) = s(a, field)
                && d > prev_as_of.as_str()
                && d <= as_of
            {
                dates.push(json!({
                    "asset_id": id, "name": a["name"], "field": field, "date": d,
                }));
            }
        }
        match before.get(&id) {
            None => new_assets.push(brief(a)),
            Some(b) => {
                if b["exposure"] != a["exposure"] || b["exposed_ports"] != a["exposed_ports"] {
                    exposure.push(json!({
                        "asset_id": id, "name": a["name"],
                        "before": { "exposure": b["exposure"], "exposed_ports": b["exposed_ports"] },
                        "after": { "exposure": a["exposure"], "exposed_ports": a["exposed_ports"] },
                    }));
                }
            }
        }
    }
    // In the previous review, in none of this one's lists: gone before
    // this review opened (or out of its scope now).
    let mut gone: Vec<&&Value> = before
        .iter()
        .filter(|(id, _)| !present.contains(id))
        .map(|(_, v)| v)
        .filter(|v| !removed.iter().any(|r| r["asset_id"] == v["asset_id"]))
        .collect();
    gone.sort_by(|a, b| s(a, "name").cmp(&s(b, "name")));
    removed.extend(gone.into_iter().map(|v| brief(v)));
    json!({
        "since": prev_as_of,
        "new_assets": new_assets,
        "removed_assets": removed,
        "findings_opened": opened,
        "findings_closed": closed,
        "dates_passed": dates,
        "exposure_changes": exposure,
    })
}

/// Builds the report of `review` (every asset signed or removed).
pub(crate) fn build(
    db: &Db,
    review: &Review,
    assets: &[ReviewAsset],
    actor: &str,
    at: Timestamp,
) -> Result<Value> {
    let as_of = day_of(at);
    // The assets as they are now: those the scope still selects in one
    // pass, the others (moved out of scope during the review) one by one.
    let scope = Filter::parse(&review.scope)?;
    let mut now: HashMap<i64, AssetFacts> = facts_in_scope(db, &scope)?
        .into_iter()
        .map(|f| (f.asset_id, f))
        .collect();
    for a in assets {
        if a.removed_at.is_none()
            && !now.contains_key(&a.asset_id)
            && let Some(row) = db.asset_row(AssetId(a.asset_id))?
        {
            now.insert(a.asset_id, AssetFacts::of(&row));
        }
    }
    let previous = match db.previous_review(review)? {
        Some((id, name)) => {
            let r = db.review_report(id)?;
            Some((id, name, r.digest.clone(), r.json()?))
        }
        None => None,
    };
    let since = match &previous {
        Some((_, _, _, p)) => {
            let closed = p
                .pointer("/review/closed_at")
                .and_then(Value::as_str)
                .map(Timestamp::parse_rfc3339)
                .transpose()?
                .unwrap_or(review.opened_at);
            Some(db.findings_since(review.id, closed)?)
        }
        None => None,
    };

    let mut entries = Vec::with_capacity(assets.len());
    for a in assets {
        // Removed (or vanished without the review hearing of it): what it
        // was when the review opened.
        let facts = match now.get(&a.asset_id) {
            Some(f) if a.removed_at.is_none() => f,
            _ => &a.snapshot,
        };
        let counts = since
            .as_ref()
            .map(|m| m.get(&a.asset_id).copied().unwrap_or((0, 0)));
        entries.push(entry(a, facts, &as_of, counts)?);
    }

    let mut teams: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut totals = json!({});
    let mut summary = BTreeMap::<&str, u64>::new();
    for e in &entries {
        let team = s(e, "team").unwrap_or("").to_owned();
        let removed = s(e, "state") == Some("removed");
        *summary.entry("assets").or_default() += 1;
        if removed {
            *summary.entry("removed").or_default() += 1;
        } else {
            *summary.entry("signed").or_default() += 1;
            for (flag, key) in [
                ("support_end_past", "support_end_past"),
                ("os_eol_past", "os_eol_past"),
                ("management_changed", "management_changed"),
            ] {
                if e[flag].as_bool() == Some(true) {
                    *summary.entry(key).or_default() += 1;
                }
            }
            if s(e, "exposure") == Some("yes") {
                *summary.entry("exposed").or_default() += 1;
            }
            for band in [
                "critical",
                "high",
                "medium",
                "low",
                "informational",
                "untriaged",
                "total",
                "overdue",
            ] {
                let v = n(&e["open"], band) + n(&totals, band);
                totals[band] = json!(v);
            }
        }
        teams.entry(team).or_default().push(e.clone());
    }
    let changes = previous
        .as_ref()
        .map(|(_, _, _, p)| changes(p, &entries, &as_of));
    let events = db.review_events(review.id, None)?;
    Ok(json!({
        "format": REPORT_FORMAT,
        "review": {
            "id": review.id,
            "name": review.name,
            "scope": review.scope,
            "owner_sign": review.owner_sign.as_str(),
            "opened_by": review.opened_by,
            "opened_at": review.opened_at.to_rfc3339(),
            "closed_by": actor,
            "closed_at": at.to_rfc3339(),
        },
        "as_of": as_of,
        "previous": previous.as_ref().map(|(id, name, digest, p)| json!({
            "id": id, "name": name, "digest": digest, "closed_at": p.pointer("/review/closed_at"),
        })),
        "summary": {
            "assets": summary.get("assets").copied().unwrap_or(0),
            "removed": summary.get("removed").copied().unwrap_or(0),
            "signed": summary.get("signed").copied().unwrap_or(0),
            "support_end_past": summary.get("support_end_past").copied().unwrap_or(0),
            "os_eol_past": summary.get("os_eol_past").copied().unwrap_or(0),
            "management_changed": summary.get("management_changed").copied().unwrap_or(0),
            "exposed": summary.get("exposed").copied().unwrap_or(0),
            "open": totals,
        },
        "teams": teams.into_iter().map(|(team, assets)| json!({
            "team": team, "assets": assets,
        })).collect::<Vec<_>>(),
        "changes": changes,
        "events": events,
    }))
}
