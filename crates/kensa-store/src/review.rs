//! Reviews (issue 17): the quarterly check of the assets a filter selects.
//!
//! Opening a review copies what each asset in scope is at that moment
//! (its [`AssetFacts`]) into the review, so that an asset removed during
//! the review stays in it, as removed, with what it was. Owners answer a
//! [`Checklist`] per asset; an auditor signs each answer off or sends it
//! back. Everything that happens is a [`ReviewEvent`]. Closing builds the
//! report ([`crate::review_report`]), stores its canonical JSON bytes once
//! with their SHA-256, and refuses every later change; reading the report
//! checks the digest, so a row altered behind Kensa's back is refused as
//! tampered instead of being shown.
//!
//! Who may do what (roles, owners) is the server's to decide; this module
//! keeps the states straight: only an open review changes, a signed asset
//! is final, a removed asset is neither answered nor signed.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::asset_list::{AssetRow, OpenFindings};
use crate::error::{Result, StoreError};
use crate::filter::Filter;
use crate::sql::{Row, Sql, Val, p};
use crate::time::Timestamp;
use crate::{AssetId, AssetSort, Db, Management, Mode};

/// Whether an asset's own owner may sign it off.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OwnerSign {
    /// Only when the owner is an auditor (the default: separation of
    /// duties, with an auditor's own servers still signable).
    #[default]
    Auditor,
    /// Never, whatever the owner's role.
    Never,
    /// Always (small teams where the auditor owns servers too).
    Any,
}

impl OwnerSign {
    pub fn as_str(self) -> &'static str {
        match self {
            OwnerSign::Auditor => "auditor",
            OwnerSign::Never => "never",
            OwnerSign::Any => "any",
        }
    }

    pub fn parse(s: &str) -> Result<OwnerSign> {
        match s {
            "auditor" => Ok(OwnerSign::Auditor),
            "never" => Ok(OwnerSign::Never),
            "any" => Ok(OwnerSign::Any),
            _ => Err(StoreError::InvalidArgument(format!(
                "owner_sign {s:?}: expected auditor, never or any"
            ))),
        }
    }
}

/// What the report says about one asset, taken when the review opens
/// (and kept for an asset removed later) and again when it closes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetFacts {
    pub asset_id: i64,
    pub name: String,
    pub kind: String,
    /// How it became known: `agent`, `register`, `scan`.
    pub source: String,
    /// A live agent reports for it.
    pub agent: bool,
    /// Its latest inventory arrived (from an agent, a push or a scan).
    pub reported: bool,
    pub os: Option<String>,
    /// The OS's regular end of support (`YYYY-MM-DD`).
    pub os_eol: Option<String>,
    /// `supported`, `extended` or `ended`, as of the latest evaluation.
    pub os_eol_status: Option<String>,
    pub extended_support: Option<String>,
    pub middleware: Vec<String>,
    /// The exposure that scores its findings (`yes`, `no`, `unknown`).
    pub exposure: String,
    pub exposed_ports: Vec<String>,
    pub management: Management,
    pub open: OpenCounts,
}

/// An asset's ACTIVE findings by band, as the report counts them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenCounts {
    pub critical: u64,
    pub high: u64,
    pub medium: u64,
    pub low: u64,
    pub informational: u64,
    pub untriaged: u64,
    pub total: u64,
    pub overdue: u64,
}

impl From<&OpenFindings> for OpenCounts {
    fn from(o: &OpenFindings) -> OpenCounts {
        OpenCounts {
            critical: o.critical,
            high: o.high,
            medium: o.medium,
            low: o.low,
            informational: o.informational,
            untriaged: o.untriaged,
            total: o.total,
            overdue: o.overdue,
        }
    }
}

impl AssetFacts {
    pub fn of(row: &AssetRow) -> AssetFacts {
        let a = &row.asset;
        let os = a
            .os_pretty
            .clone()
            .or_else(|| match (&a.os_id, &a.os_release) {
                (Some(i), Some(r)) => Some(format!("{i} {r}")),
                (Some(i), None) => Some(i.clone()),
                _ => None,
            });
        let (exposure, _) = a.effective_exposure();
        AssetFacts {
            asset_id: a.id.0,
            name: a.name.clone(),
            kind: a.kind.as_str().to_owned(),
            source: a.source.as_str().to_owned(),
            agent: row.agent,
            reported: a.inventory_at.is_some(),
            os,
            os_eol: a.eol.as_ref().and_then(|e| e.eol.clone()),
            os_eol_status: a.eol.as_ref().map(|e| e.status.clone()),
            extended_support: a.eol.as_ref().and_then(|e| e.extended_support.clone()),
            middleware: a
                .middleware
                .iter()
                .map(|m| format!("{} {}", m.name, m.version))
                .collect(),
            exposure: exposure.unwrap_or_default().as_str().to_owned(),
            exposed_ports: a
                .management
                .exposed_ports
                .iter()
                .map(ToString::to_string)
                .collect(),
            management: a.management.clone(),
            open: OpenCounts::from(&row.open),
        }
    }
}

/// Each management item, confirmed (or not) by the owner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManagementConfirmed {
    pub operation_start: bool,
    pub support_end: bool,
    pub owner: bool,
    pub team: bool,
    pub environment: bool,
    pub tags: bool,
    pub internet_exposure: bool,
    pub exposed_ports: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EolAction {
    Replace,
    Upgrade,
    /// Keep running it, accepting the risk until a date.
    Accept,
}

/// What will be done about an OS or middleware past (or nearing) its end
/// of life, or hardware past its support.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EolPlan {
    pub action: EolAction,
    /// `YYYY-MM-DD`: the planned date, or for `accept` until when
    /// (required then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// An owner's answer for one asset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checklist {
    pub management: ManagementConfirmed,
    /// Required when the asset has an OS end of life or a support end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eol_plan: Option<EolPlan>,
    pub exposure_confirmed: bool,
    /// Open critical and overdue findings acknowledged.
    pub findings_acknowledged: bool,
    /// The risk acceptances (suppressions) on it are still valid.
    pub acceptances_valid: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// The longest free text (comments, notes) kept.
pub const MAX_COMMENT: usize = 4000;

impl Checklist {
    /// The first thing wrong with it for `facts`' asset, named.
    pub fn validate(&self, facts: &AssetFacts) -> std::result::Result<(), String> {
        let dated = facts.os_eol.is_some() || facts.management.support_end.is_some();
        match &self.eol_plan {
            None if dated => {
                return Err(format!(
                    "eol_plan: required for {:?}, which has an OS end of life or a support end \
                     (action replace, upgrade or accept with until)",
                    facts.name
                ));
            }
            None => {}
            Some(p) => {
                if let Some(u) = &p.until
                    && !crate::register::valid_date(u)
                {
                    return Err(format!("eol_plan.until {u:?}: expected YYYY-MM-DD"));
                }
                if p.action == EolAction::Accept && p.until.is_none() {
                    return Err("eol_plan.until: accept needs the date until which".into());
                }
                if p.note.as_ref().is_some_and(|n| n.len() > MAX_COMMENT) {
                    return Err(format!("eol_plan.note: at most {MAX_COMMENT} bytes"));
                }
            }
        }
        if self.comment.as_ref().is_some_and(|c| c.len() > MAX_COMMENT) {
            return Err(format!("comment: at most {MAX_COMMENT} bytes"));
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Review {
    pub id: i64,
    pub name: String,
    /// The filter that chose its assets, as written.
    pub scope: String,
    pub owner_sign: OwnerSign,
    /// `open` or `closed`.
    pub state: String,
    pub opened_by: String,
    pub opened_at: Timestamp,
    pub closed_by: Option<String>,
    pub closed_at: Option<Timestamp>,
    /// The report's SHA-256 (hex), once closed.
    pub digest: Option<String>,
    pub counts: ReviewCounts,
}

/// How far a review has come.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReviewCounts {
    pub assets: u64,
    pub pending: u64,
    pub answered: u64,
    pub sent_back: u64,
    pub signed: u64,
    pub removed: u64,
}

/// One asset of a review.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReviewAsset {
    pub asset_id: i64,
    pub name: String,
    /// What it was when the review opened.
    pub snapshot: AssetFacts,
    /// `pending`, `answered`, `signed`, `sent_back`.
    pub state: String,
    pub answers: Option<Checklist>,
    pub answered_by: Option<String>,
    pub answered_at: Option<Timestamp>,
    pub signed_by: Option<String>,
    pub signed_at: Option<Timestamp>,
    /// The auditor's comment (why it was sent back, or a remark).
    pub comment: Option<String>,
    pub removed_at: Option<Timestamp>,
}

impl ReviewAsset {
    /// Its owner: the asset's owner now, else when the review opened.
    pub fn owner<'a>(&'a self, now: Option<&'a Management>) -> Option<&'a str> {
        now.and_then(|m| m.owner.as_deref())
            .or(self.snapshot.management.owner.as_deref())
    }
}

/// Something that happened in a review.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewEvent {
    pub id: i64,
    pub asset_id: Option<i64>,
    pub at: Timestamp,
    pub actor: String,
    /// `opened`, `answered`, `signed`, `sent_back`, `management_changed`,
    /// `removed`, `closed`.
    pub action: String,
    pub detail: Value,
}

/// What a signer decides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Sign { comment: Option<String> },
    SendBack { comment: String },
}

/// A closed review's report, its bytes checked against its digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedReport {
    pub bytes: Vec<u8>,
    pub digest: String,
}

impl VerifiedReport {
    pub fn json(&self) -> Result<Value> {
        serde_json::from_slice(&self.bytes).map_err(|e| StoreError::Json {
            context: "review report".into(),
            source: e,
        })
    }
}

/// The SHA-256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Canonical JSON: keys sorted (serde_json's map is ordered without the
/// `preserve_order` feature, which this workspace does not enable), no
/// whitespace, so the same content always has the same digest.
pub fn canonical(v: &Value) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| StoreError::Json {
        context: "review report".into(),
        source: e,
    })
}

fn to_text<T: Serialize>(v: &T, context: &str) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Json {
        context: context.into(),
        source: e,
    })
}

fn from_text<T: serde::de::DeserializeOwned>(s: &str, context: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("{context}: {e}")))
}

const REVIEW_COLUMNS: &str = "id, name, scope, owner_sign, state, opened_by, opened_at, \
     closed_by, closed_at, digest";

fn review_of(r: &Row, counts: ReviewCounts) -> Result<Review> {
    Ok(Review {
        id: r.i64(0)?,
        name: r.text(1)?,
        scope: r.text(2)?,
        owner_sign: OwnerSign::parse(&r.text(3)?)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        state: r.text(4)?,
        opened_by: r.text(5)?,
        opened_at: Timestamp::from_unix_ms(r.i64(6)?),
        closed_by: r.opt_text(7)?,
        closed_at: r.opt_i64(8)?.map(Timestamp::from_unix_ms),
        digest: r.opt_text(9)?,
        counts,
    })
}

const ASSET_COLUMNS: &str = "asset_id, name, snapshot, state, answers, answered_by, \
     answered_at, signed_by, signed_at, comment, removed_at";

fn review_asset_of(r: &Row) -> Result<ReviewAsset> {
    Ok(ReviewAsset {
        asset_id: r.i64(0)?,
        name: r.text(1)?,
        snapshot: from_text(&r.text(2)?, "review asset snapshot")?,
        state: r.text(3)?,
        answers: r
            .opt_text(4)?
            .map(|s| from_text(&s, "review answers"))
            .transpose()?,
        answered_by: r.opt_text(5)?,
        answered_at: r.opt_i64(6)?.map(Timestamp::from_unix_ms),
        signed_by: r.opt_text(7)?,
        signed_at: r.opt_i64(8)?.map(Timestamp::from_unix_ms),
        comment: r.opt_text(9)?,
        removed_at: r.opt_i64(10)?.map(Timestamp::from_unix_ms),
    })
}

fn counts_of(tx: &mut dyn Sql, review: i64) -> Result<ReviewCounts> {
    let mut c = ReviewCounts::default();
    for r in tx.query(
        "SELECT state, removed_at IS NOT NULL, COUNT(*) FROM review_assets \
         WHERE review_id = ? GROUP BY state, removed_at IS NOT NULL",
        p![review],
    )? {
        let n = u64::try_from(r.i64(2)?).unwrap_or(0);
        c.assets += n;
        if r.bool(1)? {
            c.removed += n;
            continue;
        }
        match r.text(0)?.as_str() {
            "pending" => c.pending += n,
            "answered" => c.answered += n,
            "sent_back" => c.sent_back += n,
            _ => c.signed += n,
        }
    }
    Ok(c)
}

pub(crate) fn event(
    tx: &mut dyn Sql,
    review: i64,
    asset: Option<i64>,
    at: Timestamp,
    actor: &str,
    action: &str,
    detail: &Value,
) -> Result<()> {
    tx.exec(
        "INSERT INTO review_events (review_id, asset_id, at, actor, action, detail) \
         VALUES (?, ?, ?, ?, ?, ?)",
        p![
            review,
            asset,
            at.unix_ms(),
            actor,
            action,
            to_text(detail, "review event")?
        ],
    )?;
    Ok(())
}

/// The review, locked for the change, refused unless open.
fn open_for_change(tx: &mut dyn Sql, review: i64) -> Result<()> {
    let lock = match tx.dialect() {
        crate::sql::Dialect::Postgres => " FOR UPDATE",
        crate::sql::Dialect::Sqlite => "",
    };
    let state = tx
        .query_opt(
            &format!("SELECT state FROM reviews WHERE id = ?{lock}"),
            p![review],
        )?
        .ok_or_else(|| StoreError::NotFound {
            what: format!("review {review}"),
        })?
        .text(0)?;
    if state != "open" {
        return Err(StoreError::Conflict(format!(
            "review {review} is closed: its report is frozen"
        )));
    }
    Ok(())
}

fn asset_in(tx: &mut dyn Sql, review: i64, asset: i64) -> Result<ReviewAsset> {
    let r = tx
        .query_opt(
            &format!(
                "SELECT {ASSET_COLUMNS} FROM review_assets WHERE review_id = ? AND asset_id = ?"
            ),
            p![review, asset],
        )?
        .ok_or_else(|| StoreError::NotFound {
            what: format!("asset {asset} in review {review}"),
        })?;
    review_asset_of(&r)
}

/// Rows per INSERT when a review opens.
const INSERT_BATCH: usize = 100;

/// The assets a review's scope selects now, as facts.
pub(crate) fn facts_in_scope(db: &Db, scope: &Filter) -> Result<Vec<AssetFacts>> {
    let mut out = Vec::new();
    db.export_assets(scope, AssetSort::default(), |row| {
        out.push(AssetFacts::of(&row));
        Ok(())
    })?;
    Ok(out)
}

impl Db {
    /// Opens a review of the assets `scope` selects now; its id.
    pub fn open_review(
        &self,
        name: &str,
        scope: &str,
        owner_sign: OwnerSign,
        actor: &str,
        at: Timestamp,
    ) -> Result<i64> {
        let name = name.trim();
        if name.is_empty() || name.len() > 200 {
            return Err(StoreError::InvalidArgument(
                "name: 1 to 200 characters (e.g. \"2026 Q4\")".into(),
            ));
        }
        let filter =
            Filter::parse(scope).map_err(|e| StoreError::InvalidArgument(format!("scope: {e}")))?;
        let facts = facts_in_scope(self, &filter)?;
        let mut rows = Vec::with_capacity(facts.len());
        for f in &facts {
            rows.push((f.asset_id, f.name.clone(), to_text(f, "asset snapshot")?));
        }
        self.tx("open review", Mode::Write, |tx| {
            if tx
                .query_opt("SELECT id FROM reviews WHERE name = ?", p![name])?
                .is_some()
            {
                return Err(StoreError::Conflict(format!(
                    "a review named {name:?} exists already"
                )));
            }
            let id = tx
                .query_one(
                    "INSERT INTO reviews (name, scope, owner_sign, state, opened_by, opened_at) \
                     VALUES (?, ?, ?, 'open', ?, ?) RETURNING id",
                    p![name, scope, owner_sign.as_str(), actor, at.unix_ms()],
                )?
                .i64(0)?;
            for chunk in rows.chunks(INSERT_BATCH) {
                let values = vec!["(?, ?, ?, ?, 'pending')"; chunk.len()].join(", ");
                let mut params = Vec::with_capacity(chunk.len() * 4);
                for (asset, n, snap) in chunk {
                    params.extend([
                        Val::I64(id),
                        Val::I64(*asset),
                        Val::from(n.as_str()),
                        Val::from(snap.as_str()),
                    ]);
                }
                tx.exec(
                    &format!(
                        "INSERT INTO review_assets (review_id, asset_id, name, snapshot, state) \
                         VALUES {values}"
                    ),
                    &params,
                )?;
            }
            event(
                tx,
                id,
                None,
                at,
                actor,
                "opened",
                &serde_json::json!({
                    "name": name, "scope": scope, "owner_sign": owner_sign.as_str(),
                    "assets": rows.len(),
                }),
            )?;
            Ok(id)
        })
    }

    /// Every review, newest first.
    pub fn reviews(&self) -> Result<Vec<Review>> {
        self.tx("list reviews", Mode::Read, |tx| {
            let rows = tx.query(
                &format!("SELECT {REVIEW_COLUMNS} FROM reviews ORDER BY opened_at DESC, id DESC"),
                &[],
            )?;
            rows.iter()
                .map(|r| {
                    let c = counts_of(tx, r.i64(0)?)?;
                    review_of(r, c)
                })
                .collect()
        })
    }

    pub fn review(&self, id: i64) -> Result<Option<Review>> {
        self.tx("read review", Mode::Read, |tx| {
            let Some(r) = tx.query_opt(
                &format!("SELECT {REVIEW_COLUMNS} FROM reviews WHERE id = ?"),
                p![id],
            )?
            else {
                return Ok(None);
            };
            let c = counts_of(tx, id)?;
            review_of(&r, c).map(Some)
        })
    }

    /// A review's assets, by name.
    pub fn review_assets(&self, review: i64) -> Result<Vec<ReviewAsset>> {
        self.tx("read review assets", Mode::Read, |tx| {
            tx.query(
                &format!(
                    "SELECT {ASSET_COLUMNS} FROM review_assets WHERE review_id = ? \
                     ORDER BY name, asset_id"
                ),
                p![review],
            )?
            .iter()
            .map(review_asset_of)
            .collect()
        })
    }

    pub fn review_asset(&self, review: i64, asset: i64) -> Result<ReviewAsset> {
        self.tx("read review asset", Mode::Read, |tx| {
            asset_in(tx, review, asset)
        })
    }

    /// A review's events, oldest first; those of one asset when given.
    pub fn review_events(&self, review: i64, asset: Option<i64>) -> Result<Vec<ReviewEvent>> {
        self.tx("read review events", Mode::Read, |tx| {
            let rows = match asset {
                Some(a) => tx.query(
                    "SELECT id, asset_id, at, actor, action, detail FROM review_events \
                     WHERE review_id = ? AND asset_id = ? ORDER BY id",
                    p![review, a],
                )?,
                None => tx.query(
                    "SELECT id, asset_id, at, actor, action, detail FROM review_events \
                     WHERE review_id = ? ORDER BY id",
                    p![review],
                )?,
            };
            rows.iter()
                .map(|r| {
                    Ok(ReviewEvent {
                        id: r.i64(0)?,
                        asset_id: r.opt_i64(1)?,
                        at: Timestamp::from_unix_ms(r.i64(2)?),
                        actor: r.text(3)?,
                        action: r.text(4)?,
                        detail: from_text(&r.text(5)?, "review event")?,
                    })
                })
                .collect()
        })
    }

    /// Records an owner's answer for one asset (again, until signed).
    pub fn answer_review(
        &self,
        review: i64,
        asset: i64,
        answers: &Checklist,
        actor: &str,
        at: Timestamp,
    ) -> Result<()> {
        self.tx("answer review", Mode::Write, |tx| {
            open_for_change(tx, review)?;
            let ra = asset_in(tx, review, asset)?;
            if ra.removed_at.is_some() {
                return Err(StoreError::Conflict(format!(
                    "{:?} was removed during the review: nothing to answer",
                    ra.name
                )));
            }
            if ra.state == "signed" {
                return Err(StoreError::Conflict(format!(
                    "{:?} is signed off already",
                    ra.name
                )));
            }
            answers
                .validate(&ra.snapshot)
                .map_err(StoreError::InvalidArgument)?;
            let text = to_text(answers, "review answers")?;
            tx.exec(
                "UPDATE review_assets SET state = 'answered', answers = ?, answered_by = ?, \
                 answered_at = ? WHERE review_id = ? AND asset_id = ?",
                p![text, actor, at.unix_ms(), review, asset],
            )?;
            let detail = serde_json::to_value(answers).map_err(|e| StoreError::Json {
                context: "review answers".into(),
                source: e,
            })?;
            event(tx, review, Some(asset), at, actor, "answered", &detail)
        })
    }

    /// Signs an answered asset off, or sends it back to its owner.
    pub fn decide_review(
        &self,
        review: i64,
        asset: i64,
        decision: &Decision,
        actor: &str,
        at: Timestamp,
    ) -> Result<()> {
        let comment = match decision {
            Decision::Sign { comment } => comment.as_deref(),
            Decision::SendBack { comment } => Some(comment.as_str()),
        };
        if comment.is_some_and(|c| c.len() > MAX_COMMENT) {
            return Err(StoreError::InvalidArgument(format!(
                "comment: at most {MAX_COMMENT} bytes"
            )));
        }
        if let Decision::SendBack { comment } = decision
            && comment.trim().is_empty()
        {
            return Err(StoreError::InvalidArgument(
                "comment: say why it goes back to its owner".into(),
            ));
        }
        self.tx("sign review", Mode::Write, |tx| {
            open_for_change(tx, review)?;
            let ra = asset_in(tx, review, asset)?;
            if ra.removed_at.is_some() {
                return Err(StoreError::Conflict(format!(
                    "{:?} was removed during the review: nothing to sign",
                    ra.name
                )));
            }
            if ra.state != "answered" {
                return Err(StoreError::Conflict(format!(
                    "{:?} is {}: only an answered asset is signed or sent back",
                    ra.name,
                    ra.state.replace('_', " ")
                )));
            }
            let (state, action) = match decision {
                Decision::Sign { .. } => ("signed", "signed"),
                Decision::SendBack { .. } => ("sent_back", "sent_back"),
            };
            tx.exec(
                "UPDATE review_assets SET state = ?, signed_by = ?, signed_at = ?, comment = ? \
                 WHERE review_id = ? AND asset_id = ?",
                p![state, actor, at.unix_ms(), comment, review, asset],
            )?;
            event(
                tx,
                review,
                Some(asset),
                at,
                actor,
                action,
                &serde_json::json!({ "comment": comment }),
            )
        })
    }

    /// Notes, in every open review holding `asset`, that its management
    /// items changed from `before` to `after` (the fields that differ).
    pub fn note_management_change(
        &self,
        asset: AssetId,
        before: &Management,
        after: &Management,
        actor: &str,
        at: Timestamp,
    ) -> Result<usize> {
        let b = serde_json::to_value(before).map_err(|e| StoreError::Json {
            context: "management items".into(),
            source: e,
        })?;
        let a = serde_json::to_value(after).map_err(|e| StoreError::Json {
            context: "management items".into(),
            source: e,
        })?;
        let mut changed = serde_json::Map::new();
        if let (Value::Object(b), Value::Object(a)) = (&b, &a) {
            for (k, new) in a {
                let old = b.get(k).unwrap_or(&Value::Null);
                if old != new {
                    changed.insert(
                        k.clone(),
                        serde_json::json!({ "before": old, "after": new }),
                    );
                }
            }
        }
        if changed.is_empty() {
            return Ok(0);
        }
        let detail = Value::Object(changed);
        self.tx("note management change", Mode::Write, |tx| {
            let open = tx.query(
                "SELECT r.id FROM reviews r JOIN review_assets ra ON ra.review_id = r.id \
                 WHERE r.state = 'open' AND ra.asset_id = ?",
                p![asset.0],
            )?;
            for r in &open {
                event(
                    tx,
                    r.i64(0)?,
                    Some(asset.0),
                    at,
                    actor,
                    "management_changed",
                    &detail,
                )?;
            }
            Ok(open.len())
        })
    }

    /// Removes an asset (its findings, inventories and agents with it).
    /// The open reviews holding it keep it, marked removed; closed ones
    /// are frozen and untouched. `false` when there was no such asset.
    pub fn remove_asset(&self, asset: AssetId, actor: &str, at: Timestamp) -> Result<bool> {
        self.tx("remove asset", Mode::Write, |tx| {
            let Some(name) = tx
                .query_opt("SELECT name FROM assets WHERE id = ?", p![asset.0])?
                .map(|r| r.text(0))
                .transpose()?
            else {
                return Ok(false);
            };
            let open = tx.query(
                "SELECT r.id FROM reviews r JOIN review_assets ra ON ra.review_id = r.id \
                 WHERE r.state = 'open' AND ra.asset_id = ? AND ra.removed_at IS NULL",
                p![asset.0],
            )?;
            for r in &open {
                let review = r.i64(0)?;
                tx.exec(
                    "UPDATE review_assets SET removed_at = ? WHERE review_id = ? AND asset_id = ?",
                    p![at.unix_ms(), review, asset.0],
                )?;
                event(
                    tx,
                    review,
                    Some(asset.0),
                    at,
                    actor,
                    "removed",
                    &serde_json::json!({ "name": name }),
                )?;
            }
            tx.exec("DELETE FROM assets WHERE id = ?", p![asset.0])?;
            Ok(true)
        })
    }

    /// Closes a review whose every asset still present is signed off:
    /// builds its report and stores it once with its SHA-256. The digest.
    pub fn close_review(&self, review: i64, actor: &str, at: Timestamp) -> Result<String> {
        let r = self.review(review)?.ok_or_else(|| StoreError::NotFound {
            what: format!("review {review}"),
        })?;
        if r.state != "open" {
            return Err(StoreError::Conflict(format!(
                "review {review} is closed already"
            )));
        }
        let assets = self.review_assets(review)?;
        let unsigned: Vec<&str> = assets
            .iter()
            .filter(|a| a.removed_at.is_none() && a.state != "signed")
            .map(|a| a.name.as_str())
            .collect();
        if !unsigned.is_empty() {
            let shown: Vec<&str> = unsigned.iter().take(5).copied().collect();
            return Err(StoreError::Conflict(format!(
                "{} asset(s) not signed off yet: {}{}",
                unsigned.len(),
                shown.join(", "),
                if unsigned.len() > shown.len() {
                    ", …"
                } else {
                    ""
                }
            )));
        }
        let report = crate::review_report::build(self, &r, &assets, actor, at)?;
        let bytes = canonical(&report)?;
        let digest = sha256_hex(&bytes);
        let text = String::from_utf8(bytes)
            .map_err(|e| StoreError::Corrupt(format!("review report: {e}")))?;
        self.tx("close review", Mode::Write, |tx| {
            open_for_change(tx, review)?;
            // Signed or removed now as when the report was built: a
            // decision between the two would be missing from it.
            let c = counts_of(tx, review)?;
            if c.signed + c.removed != c.assets {
                return Err(StoreError::Conflict(format!(
                    "review {review} changed while it was being closed; close it again"
                )));
            }
            event(
                tx,
                review,
                None,
                at,
                actor,
                "closed",
                &serde_json::json!({ "digest": digest }),
            )?;
            tx.exec(
                "UPDATE reviews SET state = 'closed', closed_by = ?, closed_at = ?, report = ?, \
                 digest = ? WHERE id = ?",
                p![actor, at.unix_ms(), text, digest.as_str(), review],
            )?;
            Ok(())
        })?;
        Ok(digest)
    }

    /// A closed review's report, refused as [`StoreError::Tampered`] when
    /// its bytes no longer match the digest stored with them.
    pub fn review_report(&self, review: i64) -> Result<VerifiedReport> {
        let row = self.tx("read review report", Mode::Read, |tx| {
            tx.query_opt(
                "SELECT state, report, digest FROM reviews WHERE id = ?",
                p![review],
            )
        })?;
        let Some(row) = row else {
            return Err(StoreError::NotFound {
                what: format!("review {review}"),
            });
        };
        let (Some(text), Some(stored)) = (row.opt_text(1)?, row.opt_text(2)?) else {
            return Err(StoreError::Conflict(format!(
                "review {review} is {}: a report exists once it is closed",
                row.text(0)?
            )));
        };
        let bytes = text.into_bytes();
        let computed = sha256_hex(&bytes);
        // Not secret, so no constant-time comparison is needed: this is
        // an integrity check against accidental or deliberate edits.
        if computed != stored {
            tracing::error!(
                review,
                stored,
                computed,
                "review report does not match its digest: refused as tampered"
            );
            return Err(StoreError::Tampered {
                what: format!("review {review}'s report"),
                stored,
                computed,
            });
        }
        Ok(VerifiedReport {
            bytes,
            digest: stored,
        })
    }

    /// The closed review before `review` with the same scope, if any.
    pub(crate) fn previous_review(&self, review: &Review) -> Result<Option<(i64, String)>> {
        self.tx("previous review", Mode::Read, |tx| {
            tx.query_opt(
                "SELECT id, name FROM reviews WHERE state = 'closed' AND scope = ? AND id <> ? \
                 AND opened_at <= ? ORDER BY closed_at DESC, id DESC LIMIT 1",
                p![review.scope.as_str(), review.id, review.opened_at.unix_ms()],
            )?
            .map(|r| Ok((r.i64(0)?, r.text(1)?)))
            .transpose()
        })
    }

    /// Per asset of `review`: findings first seen after `since`, and
    /// findings closed after it.
    pub(crate) fn findings_since(
        &self,
        review: i64,
        since: Timestamp,
    ) -> Result<std::collections::HashMap<i64, (u64, u64)>> {
        self.tx("findings since", Mode::Read, |tx| {
            let rows = tx.query(
                "SELECT f.asset_id, \
                 SUM(CASE WHEN f.first_observed > ? THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN f.closed_at > ? THEN 1 ELSE 0 END) \
                 FROM findings f WHERE f.asset_id IN \
                 (SELECT asset_id FROM review_assets WHERE review_id = ?) \
                 AND (f.first_observed > ? OR f.closed_at > ?) GROUP BY f.asset_id",
                p![
                    since.unix_ms(),
                    since.unix_ms(),
                    review,
                    since.unix_ms(),
                    since.unix_ms()
                ],
            )?;
            let mut out = std::collections::HashMap::new();
            for r in rows {
                let n = |i: usize| -> Result<u64> {
                    Ok(u64::try_from(r.opt_i64(i)?.unwrap_or(0)).unwrap_or(0))
                };
                out.insert(r.i64(0)?, (n(1)?, n(2)?));
            }
            Ok(out)
        })
    }
}
