//! Triage, suppression and the SLA policy: what people decide about
//! findings, kept apart from what the evaluations observe.
//!
//! - A triage ([`Triage`]) is the analysis in CycloneDX VEX's vocabulary
//!   (state, justification, responses) plus Kensa's `risk_accepted` with an
//!   expiry, an assignee, a comment and a due date. Every change writes an
//!   audit entry with who, when, the state before and after
//!   ([`Db::triage_audit`]).
//! - A decision can be applied to one vulnerability in one package on every
//!   asset, now and when it appears on more ([`Db::create_triage_rule`]).
//! - Suppression is by hand (a triage change with `suppressed`) or by
//!   named rules written in the filter language ([`Db::create_suppression_rule`]);
//!   rules are re-applied to an asset's findings after each evaluation,
//!   so that they hold for new findings too, and a finding a person made
//!   active again is left alone by the rules.
//! - The due date of a finding is its first observation plus the SLA
//!   policy's days for its severity ([`SlaPolicy`]), unless a person set
//!   one.

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Result, StoreError};
use crate::filter::Filter;
use crate::lifecycle::{FindingId, Status};
use crate::sql::{Row, Sql, Val, p};
use crate::time::Timestamp;
use crate::{AssetId, Db, Mode};

macro_rules! vocabulary {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),*
        }

        impl $name {
            pub const ALL: &[&str] = &[$($text),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),*
                }
            }

            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($text => Some($name::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

vocabulary!(
    /// CycloneDX VEX's analysis states, and `risk_accepted` (exploitable,
    /// but the owner accepts the risk until a date).
    TriageState {
        InTriage = "in_triage",
        Exploitable = "exploitable",
        NotAffected = "not_affected",
        FalsePositive = "false_positive",
        Resolved = "resolved",
        RiskAccepted = "risk_accepted",
    }
);

vocabulary!(
    /// CycloneDX VEX's justifications for `not_affected`.
    Justification {
        CodeNotPresent = "code_not_present",
        CodeNotReachable = "code_not_reachable",
        RequiresConfiguration = "requires_configuration",
        RequiresDependency = "requires_dependency",
        RequiresEnvironment = "requires_environment",
        ProtectedByCompiler = "protected_by_compiler",
        ProtectedAtRuntime = "protected_at_runtime",
        ProtectedAtPerimeter = "protected_at_perimeter",
        ProtectedByMitigatingControl = "protected_by_mitigating_control",
    }
);

vocabulary!(
    /// CycloneDX VEX's responses.
    Response {
        CanNotFix = "can_not_fix",
        WillNotFix = "will_not_fix",
        Update = "update",
        Rollback = "rollback",
        WorkaroundAvailable = "workaround_available",
    }
);

/// A finding's triage as it stands.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Triage {
    pub status: Option<Status>,
    pub state: Option<TriageState>,
    pub justification: Option<Justification>,
    pub response: Vec<Response>,
    pub assignee: Option<String>,
    pub comment: Option<String>,
    pub due_at: Option<Timestamp>,
    /// Whether a person set the due date (else the SLA policy did).
    pub due_by_hand: bool,
    /// `YYYY-MM-DD`, with `risk_accepted`.
    pub risk_accepted_until: Option<String>,
    /// `manual` or `rule:<id>` when suppressed.
    pub suppressed_by: Option<String>,
    pub suppress_reason: Option<String>,
    /// The triage rule that set this triage, if one did.
    pub rule: Option<i64>,
}

/// `Some(None)` for an explicit JSON `null` (clear the field), `None` when
/// the field is absent (leave it).
fn double<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A change to findings' triage: absent fields are left as they are,
/// `null` clears one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriageChange {
    #[serde(
        default,
        deserialize_with = "double",
        skip_serializing_if = "Option::is_none"
    )]
    pub state: Option<Option<TriageState>>,
    #[serde(
        default,
        deserialize_with = "double",
        skip_serializing_if = "Option::is_none"
    )]
    pub justification: Option<Option<Justification>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Vec<Response>>,
    #[serde(
        default,
        deserialize_with = "double",
        skip_serializing_if = "Option::is_none"
    )]
    pub assignee: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "double",
        skip_serializing_if = "Option::is_none"
    )]
    pub comment: Option<Option<String>>,
    /// `YYYY-MM-DD`; `null` gives the due date back to the SLA policy.
    #[serde(
        default,
        deserialize_with = "double",
        skip_serializing_if = "Option::is_none"
    )]
    pub due_date: Option<Option<String>>,
    /// `YYYY-MM-DD`; required with `risk_accepted`.
    #[serde(
        default,
        deserialize_with = "double",
        skip_serializing_if = "Option::is_none"
    )]
    pub risk_accepted_until: Option<Option<String>>,
    /// Suppress (`true`) or make active again (`false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppress_reason: Option<String>,
}

fn check_date(field: &str, d: &str) -> Result<i64> {
    let bad = || StoreError::InvalidArgument(format!("{field}: {d:?} is not a date YYYY-MM-DD"));
    if d.len() != 10 {
        return Err(bad());
    }
    Timestamp::parse_rfc3339(&format!("{d}T00:00:00Z"))
        .map(Timestamp::unix_ms)
        .map_err(|_| bad())
}

fn check_text(field: &str, v: Option<&String>, max: usize) -> Result<()> {
    match v {
        Some(s) if s.chars().count() > max => Err(StoreError::InvalidArgument(format!(
            "{field}: at most {max} characters"
        ))),
        Some(s) if s.chars().any(char::is_control) && field != "comment" => Err(
            StoreError::InvalidArgument(format!("{field}: control characters are not allowed")),
        ),
        _ => Ok(()),
    }
}

impl TriageChange {
    pub fn is_empty(&self) -> bool {
        *self == TriageChange::default()
    }

    /// Checks the values alone; [`Triage::apply`] checks the result.
    pub fn validate(&self) -> Result<()> {
        if self.is_empty() {
            return Err(StoreError::InvalidArgument(
                "the change changes nothing: give state, justification, response, assignee, \
                 comment, due_date, risk_accepted_until or suppressed"
                    .into(),
            ));
        }
        if let Some(Some(d)) = &self.due_date {
            check_date("due_date", d)?;
        }
        if let Some(Some(d)) = &self.risk_accepted_until {
            check_date("risk_accepted_until", d)?;
        }
        check_text(
            "assignee",
            self.assignee.as_ref().and_then(Option::as_ref),
            200,
        )?;
        check_text(
            "comment",
            self.comment.as_ref().and_then(Option::as_ref),
            4000,
        )?;
        check_text("suppress_reason", self.suppress_reason.as_ref(), 1000)?;
        Ok(())
    }
}

impl Triage {
    /// The triage after `change`, checked as a whole.
    fn apply(&self, change: &TriageChange) -> Result<Triage> {
        let mut t = self.clone();
        if let Some(s) = change.state {
            t.state = s;
        }
        if let Some(j) = change.justification {
            t.justification = j;
        }
        if let Some(r) = &change.response {
            t.response.clone_from(r);
            t.response.dedup();
        }
        if let Some(a) = &change.assignee {
            t.assignee = a.clone().filter(|s| !s.trim().is_empty());
        }
        if let Some(c) = &change.comment {
            t.comment = c.clone().filter(|s| !s.trim().is_empty());
        }
        if let Some(d) = &change.due_date {
            match d {
                Some(d) => {
                    // The end of the day: due *on* that date.
                    t.due_at = Some(Timestamp::from_unix_ms(
                        check_date("due_date", d)? + 86_400_000 - 1,
                    ));
                    t.due_by_hand = true;
                }
                None => t.due_by_hand = false,
            }
        }
        if let Some(r) = &change.risk_accepted_until {
            t.risk_accepted_until.clone_from(r);
        }
        if t.state != Some(TriageState::RiskAccepted) && change.state.is_some() {
            t.risk_accepted_until = None;
        }
        if t.state == Some(TriageState::RiskAccepted) && t.risk_accepted_until.is_none() {
            return Err(StoreError::InvalidArgument(
                "risk_accepted needs risk_accepted_until (YYYY-MM-DD): an acceptance expires"
                    .into(),
            ));
        }
        if t.state == Some(TriageState::NotAffected)
            && t.justification.is_none()
            && t.comment.is_none()
        {
            return Err(StoreError::InvalidArgument(
                "not_affected needs a justification or a comment saying why".into(),
            ));
        }
        if t.justification.is_some()
            && !matches!(
                t.state,
                Some(TriageState::NotAffected | TriageState::FalsePositive)
            )
        {
            return Err(StoreError::InvalidArgument(
                "a justification explains not_affected or false_positive; set one of those states"
                    .into(),
            ));
        }
        if t.state.is_none() && change.state.is_some() {
            t.justification = None;
        }
        Ok(t)
    }
}

/// Days to fix a finding, per severity; `None`: no due date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaPolicy {
    pub critical: Option<u32>,
    pub high: Option<u32>,
    pub medium: Option<u32>,
    pub low: Option<u32>,
    #[serde(default)]
    pub informational: Option<u32>,
    #[serde(default)]
    pub untriaged: Option<u32>,
}

impl Default for SlaPolicy {
    /// Common remediation windows (critical a week, high a month, medium a
    /// quarter, low half a year).
    fn default() -> SlaPolicy {
        SlaPolicy {
            critical: Some(7),
            high: Some(30),
            medium: Some(90),
            low: Some(180),
            informational: None,
            untriaged: None,
        }
    }
}

impl SlaPolicy {
    pub fn days(&self, severity: &str) -> Option<u32> {
        match severity {
            "CRITICAL" => self.critical,
            "HIGH" => self.high,
            "MEDIUM" => self.medium,
            "LOW" => self.low,
            "INFORMATIONAL" => self.informational,
            _ => self.untriaged,
        }
    }

    /// The due time of a finding first observed at `first` (ms).
    pub(crate) fn due(&self, severity: &str, first: i64) -> Option<i64> {
        self.days(severity)
            .map(|d| first.saturating_add(i64::from(d) * 86_400_000))
    }
}

/// One entry of a finding's triage history.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditEntry {
    pub at: Timestamp,
    pub actor: String,
    /// `finding`, `bulk`, `triage rule <id>`, `suppression rule <id>`,
    /// `expiry`.
    pub via: String,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SuppressionRule {
    pub id: i64,
    pub name: String,
    pub filter: String,
    pub reason: String,
    pub created_by: String,
    pub created_at: Timestamp,
    /// What the database answered the last time the rule could not run
    /// (it was skipped then); `None` once it runs again.
    pub last_error: Option<String>,
    pub last_error_at: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TriageRule {
    pub id: i64,
    pub vulnerability_id: String,
    pub package_name: String,
    pub decision: TriageChange,
    pub created_by: String,
    pub created_at: Timestamp,
}

pub(crate) const TRIAGE_COLUMNS: &str = "f.id, f.status, f.triage_state, f.triage_justification, \
     f.triage_response, f.assignee, f.triage_comment, f.due_at, f.due_by_hand, \
     f.risk_accepted_until, f.suppressed_by, f.suppress_reason, f.triage_rule_id";

pub(crate) fn triage_of(r: &Row) -> Result<(i64, Triage)> {
    let corrupt = |what: &str, v: &str| StoreError::Corrupt(format!("{what} {v:?}"));
    let state = r
        .opt_text(2)?
        .map(|s| TriageState::parse(&s).ok_or_else(|| corrupt("triage state", &s)))
        .transpose()?;
    let justification = r
        .opt_text(3)?
        .map(|s| Justification::parse(&s).ok_or_else(|| corrupt("justification", &s)))
        .transpose()?;
    let response: Vec<Response> = match r.opt_json(4)? {
        None => Vec::new(),
        Some(v) => serde_json::from_value(v)
            .map_err(|e| StoreError::Corrupt(format!("triage response: {e}")))?,
    };
    Ok((
        r.i64(0)?,
        Triage {
            status: Some(Status::parse(&r.text(1)?)?),
            state,
            justification,
            response,
            assignee: r.opt_text(5)?,
            comment: r.opt_text(6)?,
            due_at: r.opt_i64(7)?.map(Timestamp::from_unix_ms),
            due_by_hand: r.bool(8)?,
            risk_accepted_until: r.opt_text(9)?,
            suppressed_by: r.opt_text(10)?,
            suppress_reason: r.opt_text(11)?,
            rule: r.opt_i64(12)?,
        },
    ))
}

fn to_json(t: &Triage) -> Result<serde_json::Value> {
    serde_json::to_value(t).map_err(|e| StoreError::Json {
        context: "triage".into(),
        source: e,
    })
}

/// Where a change comes from, for the audit trail.
#[derive(Clone, Debug)]
pub(crate) struct Origin<'a> {
    pub actor: &'a str,
    pub via: String,
    /// The triage rule making the change.
    pub rule: Option<i64>,
    /// The suppression rule making the change: it is named as the
    /// suppressor, and making a finding active is then not a person
    /// overriding the rules.
    pub suppression_rule: Option<i64>,
}

/// The finding's due time under `policy` (unless set by hand).
pub(crate) fn sla(tx: &mut dyn Sql) -> Result<SlaPolicy> {
    match tx.query_opt("SELECT value FROM settings WHERE key = 'sla'", &[])? {
        None => Ok(SlaPolicy::default()),
        Some(r) => r.decode(0),
    }
}

fn audit(
    tx: &mut dyn Sql,
    id: i64,
    at: Timestamp,
    origin: &Origin<'_>,
    before: &Triage,
    after: &Triage,
) -> Result<()> {
    tx.exec(
        "INSERT INTO triage_audit (finding_id, at, actor, via, before, after) \
         VALUES (?, ?, ?, ?, ?, ?)",
        &[
            Val::from(id),
            Val::from(at.unix_ms()),
            Val::from(origin.actor),
            Val::from(origin.via.as_str()),
            Val::Json(to_json(before)?),
            Val::Json(to_json(after)?),
        ],
    )?;
    Ok(())
}

/// Applies `change` to the findings `ids` (locked by the caller's write
/// transaction). Closed findings take triage but not suppression. The
/// number of findings that changed.
pub(crate) fn apply_change(
    tx: &mut dyn Sql,
    ids: &[i64],
    change: &TriageChange,
    origin: &Origin<'_>,
    at: Timestamp,
    strict: bool,
) -> Result<u64> {
    let policy = sla(tx)?;
    let mut changed = 0;
    for chunk in ids.chunks(500) {
        let params: Vec<Val> = chunk.iter().map(|i| Val::I64(*i)).collect();
        let rows = tx.query(
            &format!(
                "SELECT {TRIAGE_COLUMNS}, f.severity, f.first_observed, f.installed_version \
                 FROM findings f WHERE f.id IN ({})",
                vec!["?"; chunk.len()].join(", ")
            ),
            &params,
        )?;
        if strict && rows.len() < chunk.len() {
            return Err(StoreError::NotFound {
                what: "finding".into(),
            });
        }
        for r in rows {
            let (id, before) = triage_of(&r)?;
            let mut after = before.apply(change)?;
            if change.due_date == Some(None) {
                after.due_at = policy
                    .due(&r.text(13)?, r.i64(14)?)
                    .map(Timestamp::from_unix_ms);
            }
            let mut event = None;
            if let Some(s) = change.suppressed {
                match (before.status, s) {
                    (Some(Status::Closed), _) if strict => {
                        return Err(StoreError::InvalidArgument(format!(
                            "finding {id} is closed: only open findings are suppressed or \
                             made active"
                        )));
                    }
                    (Some(Status::Closed), _) => {}
                    (Some(Status::Active), true) => {
                        after.status = Some(Status::Suppressed);
                        after.suppressed_by = Some(match origin.suppression_rule {
                            Some(r) => format!("rule:{r}"),
                            None => "manual".into(),
                        });
                        after.suppress_reason.clone_from(&change.suppress_reason);
                        event = Some("suppressed");
                    }
                    (Some(Status::Suppressed), false) => {
                        after.status = Some(Status::Active);
                        after.suppressed_by = None;
                        after.suppress_reason = None;
                        event = Some("unsuppressed");
                    }
                    _ => {}
                }
            }
            if origin.rule.is_some() {
                after.rule = origin.rule;
            }
            if after == before {
                continue;
            }
            let response = if after.response.is_empty() {
                Val::Null
            } else {
                Val::Json(
                    serde_json::to_value(&after.response).map_err(|e| StoreError::Json {
                        context: "triage response".into(),
                        source: e,
                    })?,
                )
            };
            let due = after.due_at.map(Timestamp::unix_ms);
            tx.exec(
                "UPDATE findings SET status = ?, triage_state = ?, triage_justification = ?, \
                 triage_response = ?, assignee = ?, triage_comment = ?, due_at = ?, \
                 due_sort = ?, due_by_hand = ?, risk_accepted_until = ?, suppressed_by = ?, \
                 suppress_reason = ?, suppress_exempt = ?, triage_rule_id = ?, triaged_at = ?, \
                 updated_at = ? WHERE id = ?",
                &[
                    Val::from(after.status.unwrap_or(Status::Active).as_str()),
                    Val::from(after.state.map(TriageState::as_str)),
                    Val::from(after.justification.map(Justification::as_str)),
                    response,
                    Val::from(after.assignee.clone()),
                    Val::from(after.comment.clone()),
                    Val::from(due),
                    Val::from(due.unwrap_or(i64::MAX)),
                    Val::from(after.due_by_hand),
                    Val::from(after.risk_accepted_until.clone()),
                    Val::from(after.suppressed_by.clone()),
                    Val::from(after.suppress_reason.clone()),
                    // A person who makes a finding active overrides the rules.
                    Val::from(event == Some("unsuppressed") && origin.suppression_rule.is_none()),
                    Val::from(after.rule),
                    Val::from(at.unix_ms()),
                    Val::from(at.unix_ms()),
                    Val::from(id),
                ],
            )?;
            if let Some(e) = event {
                tx.exec(
                    "INSERT INTO finding_events (finding_id, at, event, installed_version) \
                     VALUES (?, ?, ?, ?)",
                    p![id, at.unix_ms(), e, r.text(15)?],
                )?;
            }
            audit(tx, id, at, origin, &before, &after)?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// Applies the enabled suppression rules to the open findings of `asset`
/// (or of every asset): findings a rule matches are suppressed by it
/// (unless a person made them active against the rules), and findings a
/// rule suppressed that no rule matches any more become active again.
pub(crate) fn apply_suppression_rules(
    tx: &mut dyn Sql,
    asset: Option<AssetId>,
    at: Timestamp,
) -> Result<u64> {
    let rules = tx.query(
        "SELECT id, filter, reason, last_error FROM suppression_rules ORDER BY id",
        &[],
    )?;
    let dialect = tx.dialect();
    let scope = |params: &mut Vec<Val>| match asset {
        Some(a) => {
            params.push(Val::I64(a.0));
            " AND f.asset_id = ?"
        }
        None => "",
    };
    let mut changed = 0;
    let mut matching = Vec::new();
    for r in &rules {
        let (id, text, reason) = (r.i64(0)?, r.text(1)?, r.text(2)?);
        let last_error = r.opt_text(3)?;
        // One rule that cannot run (stored before filters were bounded, or
        // refused by the database while it runs) is reported and skipped:
        // it must not stop the evaluation of every asset.
        let parsed = Filter::parse(&text).and_then(|f| {
            let sql = f.to_sql(dialect, at)?;
            Ok((f, sql))
        });
        let (filter, (cond, mut params)) = match parsed {
            Ok(x) => x,
            Err(e) => {
                rule_failed(tx, id, last_error.as_deref(), &e, at)?;
                continue;
            }
        };
        let join = if filter.needs_asset() {
            " JOIN assets a ON a.id = f.asset_id"
        } else {
            ""
        };
        let scope_sql = scope(&mut params);
        // In a savepoint: what the database refuses undoes this rule's
        // part only (PostgreSQL would otherwise refuse every later
        // statement of the transaction).
        let ran = savepoint(tx, |tx| {
            let ids: Vec<i64> = tx
                .query(
                    &format!(
                        "SELECT f.id FROM findings f{join} WHERE f.status = 'ACTIVE' \
                         AND NOT f.suppress_exempt AND ({cond}){scope_sql}"
                    ),
                    &params,
                )?
                .iter()
                .map(|r| r.i64(0))
                .collect::<Result<_>>()?;
            let change = TriageChange {
                suppressed: Some(true),
                suppress_reason: Some(reason.clone()),
                ..TriageChange::default()
            };
            let origin = Origin {
                actor: "kensa",
                via: format!("suppression rule {id}"),
                rule: None,
                suppression_rule: Some(id),
            };
            if ids.is_empty() {
                Ok(0)
            } else {
                apply_change(tx, &ids, &change, &origin, at, false)
            }
        })?;
        match ran {
            Ok(n) => {
                changed += n;
                if last_error.is_some() {
                    tx.exec(
                        "UPDATE suppression_rules SET last_error = NULL, last_error_at = NULL \
                         WHERE id = ?",
                        p![id],
                    )?;
                }
                matching.push((id, join, cond, filter));
            }
            Err(e) => rule_failed(tx, id, last_error.as_deref(), &e, at)?,
        }
    }
    // Findings suppressed by a rule that no longer selects them.
    let mut params = Vec::new();
    let scope_sql = scope(&mut params);
    let suppressed = tx.query(
        &format!(
            "SELECT f.id, f.suppressed_by FROM findings f WHERE f.status = 'SUPPRESSED' \
             AND f.suppressed_by LIKE 'rule:%'{scope_sql}"
        ),
        &params,
    )?;
    let mut release = Vec::new();
    for r in suppressed {
        let (fid, by) = (r.i64(0)?, r.text(1)?);
        let rule_id: Option<i64> = by.strip_prefix("rule:").and_then(|s| s.parse().ok());
        let still = match matching.iter().find(|m| Some(m.0) == rule_id) {
            None => false,
            Some((id, join, _, filter)) => {
                let (cond, mut params) = filter.to_sql(dialect, at)?;
                params.push(Val::I64(fid));
                let sql = format!("SELECT 1 FROM findings f{join} WHERE ({cond}) AND f.id = ?");
                // A rule the database refuses now keeps what it
                // suppressed: releasing on an error would be a guess.
                match savepoint(tx, |tx| tx.query_opt(&sql, &params))? {
                    Ok(row) => row.is_some(),
                    Err(e) => {
                        rule_failed(tx, *id, None, &e, at)?;
                        true
                    }
                }
            }
        };
        if !still {
            release.push(fid);
        }
    }
    if !release.is_empty() {
        let change = TriageChange {
            suppressed: Some(false),
            ..TriageChange::default()
        };
        // Not a person's decision: the rules may suppress it again.
        let origin = Origin {
            actor: "kensa",
            via: "suppression rule no longer matches".into(),
            rule: None,
            suppression_rule: Some(0),
        };
        changed += apply_change(tx, &release, &change, &origin, at, false)?;
    }
    Ok(changed)
}

/// Runs `f` inside a savepoint: its error (the inner `Result`) rolls back
/// only what `f` did, and the transaction goes on; the outer `Result` is
/// the savepoint's own failure.
fn savepoint<T>(
    tx: &mut dyn Sql,
    f: impl FnOnce(&mut dyn Sql) -> Result<T>,
) -> Result<std::result::Result<T, StoreError>> {
    tx.batch("SAVEPOINT kensa_rule")?;
    match f(tx) {
        Ok(v) => {
            tx.batch("RELEASE SAVEPOINT kensa_rule")?;
            Ok(Ok(v))
        }
        Err(e) => {
            tx.batch("ROLLBACK TO SAVEPOINT kensa_rule")?;
            tx.batch("RELEASE SAVEPOINT kensa_rule")?;
            Ok(Err(e))
        }
    }
}

/// A suppression rule that could not run: logged, kept on the rule for
/// the admins (`last_error`), and, the first time it fails so (not on every
/// evaluation), written to the security audit trail.
fn rule_failed(
    tx: &mut dyn Sql,
    id: i64,
    last_error: Option<&str>,
    error: &StoreError,
    at: Timestamp,
) -> Result<()> {
    let message = error.to_string();
    tracing::error!(rule = id, error = %message, "suppression rule skipped: it cannot run");
    tx.exec(
        "UPDATE suppression_rules SET last_error = ?, last_error_at = ? WHERE id = ?",
        p![message.as_str(), at.unix_ms(), id],
    )?;
    if last_error != Some(message.as_str()) {
        tx.exec(
            "INSERT INTO security_audit (at, actor, action, subject, detail) \
             VALUES (?, ?, ?, ?, ?)",
            p![
                at.unix_ms(),
                "kensa",
                "suppression_rule.failed",
                format!("suppression rule {id}"),
                format!("skipped: {message}")
            ],
        )?;
    }
    Ok(())
}

/// Applies the triage rules to the untriaged findings of `asset` (or of
/// every asset).
pub(crate) fn apply_triage_rules(
    tx: &mut dyn Sql,
    asset: Option<AssetId>,
    at: Timestamp,
) -> Result<u64> {
    let mut params = Vec::new();
    let scope = match asset {
        Some(a) => {
            params.push(Val::I64(a.0));
            " AND f.asset_id = ?"
        }
        None => "",
    };
    let rows = tx.query(
        &format!(
            "SELECT f.id, r.id, r.decision, r.created_by FROM findings f JOIN triage_rules r \
             ON r.vulnerability_id = f.vulnerability_id AND r.package_name = f.package_name \
             AND r.revoked_at IS NULL WHERE f.triage_state IS NULL \
             AND f.triage_rule_id IS NULL{scope} ORDER BY r.id"
        ),
        &params,
    )?;
    let mut changed = 0;
    for r in rows {
        let (fid, rid) = (r.i64(0)?, r.i64(1)?);
        let change: TriageChange = r.decode(2)?;
        let actor = r.text(3)?;
        let origin = Origin {
            actor: &actor,
            via: format!("triage rule {rid}"),
            rule: Some(rid),
            suppression_rule: None,
        };
        changed += apply_change(tx, &[fid], &change, &origin, at, false)?;
    }
    Ok(changed)
}

fn selected_ids(tx: &mut dyn Sql, filter: &Filter, at: Timestamp) -> Result<Vec<i64>> {
    let (cond, params) = filter.to_sql(tx.dialect(), at)?;
    let join = if filter.needs_asset() {
        " JOIN assets a ON a.id = f.asset_id"
    } else {
        ""
    };
    tx.query(
        &format!("SELECT f.id FROM findings f{join} WHERE {cond} ORDER BY f.id"),
        &params,
    )?
    .iter()
    .map(|r| r.i64(0))
    .collect()
}

/// The most findings one bulk change may touch: beyond that, narrow the
/// filter (a typo in a filter should not rewrite the whole database).
pub const BULK_LIMIT: usize = 100_000;

impl Db {
    /// Changes one finding's triage; the triage after the change.
    pub fn triage(
        &self,
        id: FindingId,
        change: &TriageChange,
        actor: &str,
        at: Timestamp,
    ) -> Result<Triage> {
        change.validate()?;
        self.tx("triage finding", Mode::Write, |tx| {
            let origin = Origin {
                actor,
                via: "finding".into(),
                rule: None,
                suppression_rule: None,
            };
            apply_change(tx, &[id.0], change, &origin, at, true)?;
            read_triage(tx, id)
        })
    }

    /// Changes the triage of every finding the filter selects (at most
    /// [`BULK_LIMIT`]); how many changed.
    pub fn triage_bulk(
        &self,
        filter: &Filter,
        change: &TriageChange,
        actor: &str,
        at: Timestamp,
    ) -> Result<u64> {
        change.validate()?;
        self.tx("bulk triage", Mode::Write, |tx| {
            let ids = selected_ids(tx, filter, at)?;
            if ids.len() > BULK_LIMIT {
                return Err(StoreError::InvalidArgument(format!(
                    "the filter selects {} findings; a bulk change takes at most {BULK_LIMIT}",
                    ids.len()
                )));
            }
            let origin = Origin {
                actor,
                via: "bulk".into(),
                rule: None,
                suppression_rule: None,
            };
            apply_change(tx, &ids, change, &origin, at, false)
        })
    }

    pub fn finding_triage(&self, id: FindingId) -> Result<Triage> {
        self.tx("read triage", Mode::Read, |tx| read_triage(tx, id))
    }

    /// The finding's triage history, oldest first.
    pub fn triage_audit(&self, id: FindingId) -> Result<Vec<AuditEntry>> {
        self.tx("read triage audit", Mode::Read, |tx| {
            tx.query(
                "SELECT at, actor, via, before, after FROM triage_audit WHERE finding_id = ? \
                 ORDER BY at, id",
                p![id.0],
            )?
            .iter()
            .map(|r| {
                Ok(AuditEntry {
                    at: Timestamp::from_unix_ms(r.i64(0)?),
                    actor: r.text(1)?,
                    via: r.text(2)?,
                    before: r.json(3)?,
                    after: r.json(4)?,
                })
            })
            .collect()
        })
    }

    /// Applies `change` to `vulnerability_id` in `package_name` on every
    /// asset that has it, and to every finding of it that opens later;
    /// the rule's id and how many findings changed now.
    pub fn create_triage_rule(
        &self,
        vulnerability_id: &str,
        package_name: &str,
        change: &TriageChange,
        actor: &str,
        at: Timestamp,
    ) -> Result<(i64, u64)> {
        change.validate()?;
        // A rule's change is checked against an empty triage here, so that
        // it cannot fail later on a new finding.
        Triage::default().apply(change)?;
        let decision = serde_json::to_value(change).map_err(|e| StoreError::Json {
            context: "triage rule".into(),
            source: e,
        })?;
        self.tx("create triage rule", Mode::Write, |tx| {
            let id = tx
                .query_one(
                    "INSERT INTO triage_rules (vulnerability_id, package_name, decision, \
                     created_by, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
                    &[
                        Val::from(vulnerability_id),
                        Val::from(package_name),
                        Val::Json(decision),
                        Val::from(actor),
                        Val::from(at.unix_ms()),
                    ],
                )?
                .i64(0)?;
            let ids: Vec<i64> = tx
                .query(
                    "SELECT id FROM findings WHERE vulnerability_id = ? AND package_name = ? \
                     ORDER BY id",
                    p![vulnerability_id, package_name],
                )?
                .iter()
                .map(|r| r.i64(0))
                .collect::<Result<_>>()?;
            let origin = Origin {
                actor,
                via: format!("triage rule {id}"),
                rule: Some(id),
                suppression_rule: None,
            };
            let n = apply_change(tx, &ids, change, &origin, at, false)?;
            Ok((id, n))
        })
    }

    pub fn triage_rules(&self) -> Result<Vec<TriageRule>> {
        self.tx("list triage rules", Mode::Read, |tx| {
            tx.query(
                "SELECT id, vulnerability_id, package_name, decision, created_by, created_at \
                 FROM triage_rules WHERE revoked_at IS NULL ORDER BY id",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(TriageRule {
                    id: r.i64(0)?,
                    vulnerability_id: r.text(1)?,
                    package_name: r.text(2)?,
                    decision: r.decode(3)?,
                    created_by: r.text(4)?,
                    created_at: Timestamp::from_unix_ms(r.i64(5)?),
                })
            })
            .collect()
        })
    }

    /// Stops a triage rule from applying to new findings; the findings it
    /// already triaged keep their triage (a person decided it).
    pub fn revoke_triage_rule(&self, id: i64, at: Timestamp) -> Result<()> {
        self.tx("revoke triage rule", Mode::Write, |tx| {
            let n = tx.exec(
                "UPDATE triage_rules SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                p![at.unix_ms(), id],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound {
                    what: format!("triage rule {id}"),
                });
            }
            Ok(())
        })
    }

    /// A named suppression rule; applied at once to every open finding.
    /// The rule and how many findings it suppressed.
    pub fn create_suppression_rule(
        &self,
        name: &str,
        filter: &Filter,
        reason: &str,
        actor: &str,
        at: Timestamp,
    ) -> Result<(SuppressionRule, u64)> {
        if name.trim().is_empty() || name.chars().count() > 200 {
            return Err(StoreError::InvalidArgument(
                "name: 1 to 200 characters".into(),
            ));
        }
        if reason.trim().is_empty() {
            return Err(StoreError::InvalidArgument(
                "reason: say why these findings are suppressed".into(),
            ));
        }
        if filter.is_empty() {
            return Err(StoreError::InvalidArgument(
                "filter: an empty filter would suppress every finding".into(),
            ));
        }
        let text = filter.to_string();
        // Run once before it is saved: a rule the database refuses is the
        // caller's 400 now, not every later evaluation's failure.
        self.tx("try suppression rule", Mode::Read, |tx| {
            let (cond, params) = filter.to_sql(tx.dialect(), at)?;
            let join = if filter.needs_asset() {
                " JOIN assets a ON a.id = f.asset_id"
            } else {
                ""
            };
            tx.query(
                &format!("SELECT f.id FROM findings f{join} WHERE ({cond}) LIMIT 1"),
                &params,
            )
            .map(drop)
        })
        .map_err(|e| match e {
            StoreError::InvalidArgument(m) => StoreError::InvalidArgument(m),
            e => StoreError::InvalidArgument(format!("filter: the database cannot run it ({e})")),
        })?;
        self.tx("create suppression rule", Mode::Write, |tx| {
            if tx
                .query_opt("SELECT 1 FROM suppression_rules WHERE name = ?", p![name])?
                .is_some()
            {
                return Err(StoreError::InvalidArgument(format!(
                    "a suppression rule named {name:?} exists"
                )));
            }
            let id = tx
                .query_one(
                    "INSERT INTO suppression_rules (name, filter, reason, created_by, created_at) \
                     VALUES (?, ?, ?, ?, ?) RETURNING id",
                    p![name, text.as_str(), reason, actor, at.unix_ms()],
                )?
                .i64(0)?;
            let n = apply_suppression_rules(tx, None, at)?;
            Ok((
                SuppressionRule {
                    id,
                    name: name.to_owned(),
                    filter: text.clone(),
                    reason: reason.to_owned(),
                    created_by: actor.to_owned(),
                    created_at: at,
                    last_error: None,
                    last_error_at: None,
                },
                n,
            ))
        })
    }

    pub fn suppression_rules(&self) -> Result<Vec<SuppressionRule>> {
        self.tx("list suppression rules", Mode::Read, |tx| {
            tx.query(
                "SELECT id, name, filter, reason, created_by, created_at, last_error, \
                 last_error_at FROM suppression_rules ORDER BY id",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(SuppressionRule {
                    id: r.i64(0)?,
                    name: r.text(1)?,
                    filter: r.text(2)?,
                    reason: r.text(3)?,
                    created_by: r.text(4)?,
                    created_at: Timestamp::from_unix_ms(r.i64(5)?),
                    last_error: r.opt_text(6)?,
                    last_error_at: r.opt_i64(7)?.map(Timestamp::from_unix_ms),
                })
            })
            .collect()
        })
    }

    /// Deletes a suppression rule; the findings only it suppressed become
    /// active again. How many did.
    pub fn delete_suppression_rule(&self, id: i64, at: Timestamp) -> Result<u64> {
        self.tx("delete suppression rule", Mode::Write, |tx| {
            let n = tx.exec("DELETE FROM suppression_rules WHERE id = ?", p![id])?;
            if n == 0 {
                return Err(StoreError::NotFound {
                    what: format!("suppression rule {id}"),
                });
            }
            apply_suppression_rules(tx, None, at)
        })
    }

    pub fn sla_policy(&self) -> Result<SlaPolicy> {
        self.tx("read SLA policy", Mode::Read, sla)
    }

    /// Replaces the SLA policy and recomputes the due date of every open
    /// finding whose due date no person set; how many.
    pub fn set_sla_policy(&self, policy: &SlaPolicy, at: Timestamp) -> Result<u64> {
        let value = serde_json::to_value(policy).map_err(|e| StoreError::Json {
            context: "SLA policy".into(),
            source: e,
        })?;
        self.tx("set SLA policy", Mode::Write, |tx| {
            tx.exec(
                "INSERT INTO settings (key, value, updated_at) VALUES ('sla', ?, ?) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, \
                 updated_at = excluded.updated_at",
                &[Val::Json(value.clone()), Val::from(at.unix_ms())],
            )?;
            let mut n = 0;
            for sev in [
                "CRITICAL",
                "HIGH",
                "MEDIUM",
                "LOW",
                "INFORMATIONAL",
                "UNTRIAGED",
            ] {
                n += match policy.days(sev) {
                    Some(d) => tx.exec(
                        "UPDATE findings SET due_at = first_observed + ?, \
                         due_sort = first_observed + ? WHERE severity = ? AND NOT due_by_hand \
                         AND status <> 'CLOSED'",
                        p![i64::from(d) * 86_400_000, i64::from(d) * 86_400_000, sev],
                    )?,
                    None => tx.exec(
                        "UPDATE findings SET due_at = NULL, due_sort = ? WHERE severity = ? \
                         AND NOT due_by_hand AND status <> 'CLOSED'",
                        p![i64::MAX, sev],
                    )?,
                };
            }
            Ok(n)
        })
    }

    /// Risk acceptances whose date has passed go back to `in_triage`, with
    /// an audit entry; how many.
    pub fn expire_risk_acceptances(&self, now: Timestamp) -> Result<u64> {
        let today = now.to_rfc3339();
        let today = today.get(..10).unwrap_or("").to_owned();
        self.tx("expire risk acceptances", Mode::Write, |tx| {
            let ids: Vec<i64> = tx
                .query(
                    "SELECT id FROM findings WHERE triage_state = 'risk_accepted' \
                     AND risk_accepted_until < ?",
                    p![today.as_str()],
                )?
                .iter()
                .map(|r| r.i64(0))
                .collect::<Result<_>>()?;
            let change = TriageChange {
                state: Some(Some(TriageState::InTriage)),
                ..TriageChange::default()
            };
            let origin = Origin {
                actor: "kensa",
                via: "expiry".into(),
                rule: None,
                suppression_rule: None,
            };
            apply_change(tx, &ids, &change, &origin, now, false)
        })
    }
}

fn read_triage(tx: &mut dyn Sql, id: FindingId) -> Result<Triage> {
    let r = tx
        .query_opt(
            &format!("SELECT {TRIAGE_COLUMNS} FROM findings f WHERE f.id = ?"),
            p![id.0],
        )?
        .ok_or_else(|| StoreError::NotFound {
            what: format!("finding {}", id.0),
        })?;
    Ok(triage_of(&r)?.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_checked_as_a_whole() {
        let base = Triage::default();
        let accept: TriageChange =
            serde_json::from_str(r#"{"state": "risk_accepted"}"#).expect("json");
        assert!(
            base.apply(&accept).is_err(),
            "an acceptance needs an expiry"
        );
        let accept: TriageChange = serde_json::from_str(
            r#"{"state": "risk_accepted", "risk_accepted_until": "2027-01-31"}"#,
        )
        .expect("json");
        let t = base.apply(&accept).expect("valid");
        assert_eq!(t.risk_accepted_until.as_deref(), Some("2027-01-31"));
        // Leaving risk_accepted drops the expiry.
        let back: TriageChange = serde_json::from_str(r#"{"state": "exploitable"}"#).expect("json");
        assert_eq!(t.apply(&back).expect("valid").risk_accepted_until, None);
        let na: TriageChange = serde_json::from_str(r#"{"state": "not_affected"}"#).expect("json");
        assert!(base.apply(&na).is_err(), "not_affected needs a reason");
        let j: TriageChange =
            serde_json::from_str(r#"{"justification": "code_not_reachable"}"#).expect("json");
        assert!(base.apply(&j).is_err(), "a justification needs its state");
    }

    #[test]
    fn null_clears_and_absent_keeps() {
        let c: TriageChange =
            serde_json::from_str(r#"{"assignee": null, "comment": "x"}"#).expect("json");
        assert_eq!(c.assignee, Some(None));
        assert_eq!(c.comment, Some(Some("x".into())));
        assert_eq!(c.state, None);
        assert!(serde_json::from_str::<TriageChange>(r#"{"state": "maybe"}"#).is_err());
        assert!(serde_json::from_str::<TriageChange>(r#"{"colour": 1}"#).is_err());
        assert!(TriageChange::default().validate().is_err());
        let d: TriageChange = serde_json::from_str(r#"{"due_date": "2026-13-01"}"#).expect("json");
        assert!(d.validate().is_err());
    }

    #[test]
    fn sla_days() {
        let p = SlaPolicy::default();
        assert_eq!(p.due("CRITICAL", 0), Some(7 * 86_400_000));
        assert_eq!(p.due("INFORMATIONAL", 0), None);
    }
}
