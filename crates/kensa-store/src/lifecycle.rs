//! The finding lifecycle, Amazon Inspector's: a finding is identified by
//! (asset, vulnerability id, package name, package arch), so that it
//! survives the package's version changes; it is `ACTIVE`, `SUPPRESSED`
//! or `CLOSED`; it closes when the asset's latest evaluation no longer has
//! it (the package was fixed or removed) and reopens, with its first
//! observation kept, when the vulnerability comes back. Closed findings
//! are history and are never deleted here.

use std::collections::{BTreeMap, HashMap};

use kensa_model::{Band, Finding};
use serde::{Deserialize, Serialize};

use crate::asset::{AssetId, lock_asset};
use crate::error::{Result, StoreError};
use crate::sql::{Row, Sql, Val, p};
use crate::time::Timestamp;
use crate::{Db, Mode};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FindingId(pub i64);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Active,
    /// Hidden from the default views by a person (later: by a rule); its
    /// observations are still recorded.
    Suppressed,
    Closed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "ACTIVE",
            Status::Suppressed => "SUPPRESSED",
            Status::Closed => "CLOSED",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Status> {
        match s {
            "ACTIVE" => Ok(Status::Active),
            "SUPPRESSED" => Ok(Status::Suppressed),
            "CLOSED" => Ok(Status::Closed),
            _ => Err(StoreError::Corrupt(format!("finding status {s:?}"))),
        }
    }
}

/// What one evaluation did to an asset's findings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleCounts {
    /// Findings never seen on this asset before.
    pub new: u32,
    /// Closed findings whose vulnerability came back.
    pub reopened: u32,
    pub still_active: u32,
    /// Suppressed findings seen again: they stay suppressed.
    pub still_suppressed: u32,
    /// Active or suppressed findings the evaluation no longer has.
    pub closed: u32,
}

/// A finding as stored: the lifecycle and the detection's full record.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StoredFinding {
    pub id: FindingId,
    pub asset: AssetId,
    pub vulnerability_id: String,
    pub package_name: String,
    pub package_arch: Option<String>,
    pub status: Status,
    pub severity: Band,
    pub installed_version: String,
    pub fixed_version: Option<String>,
    pub kev: bool,
    pub epss: Option<f64>,
    pub score: Option<f64>,
    /// How many installed copies of the package (the same name and arch
    /// at several paths) the latest evaluation matched; `finding` is the
    /// most urgent of them.
    pub occurrences: u32,
    pub first_observed: Timestamp,
    pub last_observed: Timestamp,
    /// The last change of status or of the detection's record.
    pub updated_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    pub reopen_count: u32,
    pub finding: Finding,
}

/// One step of a finding's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingEvent {
    pub at: Timestamp,
    /// `opened`, `closed`, `reopened`, `suppressed`, `unsuppressed`.
    pub event: String,
    /// The package version installed at that moment.
    pub installed_version: Option<String>,
}

type Key = (String, String, String);

/// The finding's identity. A package without an arch is stored with ''
/// because SQL's UNIQUE treats NULLs as distinct.
fn key_of(f: &Finding) -> Key {
    (
        f.vulnerability_id.clone(),
        f.package.name.clone(),
        f.package.arch.clone().unwrap_or_default(),
    )
}

const FINDING_COLUMNS: &str = "id, asset_id, vulnerability_id, package_name, package_arch, \
     status, severity, installed_version, fixed_version, kev, epss, score, occurrences, \
     first_observed, last_observed, updated_at, closed_at, reopen_count, detail";

fn stored_of(r: &Row) -> Result<StoredFinding> {
    let severity: Band = r
        .text(6)?
        .parse()
        .map_err(|e: String| StoreError::Corrupt(e))?;
    Ok(StoredFinding {
        id: FindingId(r.i64(0)?),
        asset: AssetId(r.i64(1)?),
        vulnerability_id: r.text(2)?,
        package_name: r.text(3)?,
        package_arch: Some(r.text(4)?).filter(|a| !a.is_empty()),
        status: Status::parse(&r.text(5)?)?,
        severity,
        installed_version: r.text(7)?,
        fixed_version: r.opt_text(8)?,
        kev: r.bool(9)?,
        epss: r.opt_f64(10)?,
        score: r.opt_f64(11)?,
        occurrences: r.u32(12)?,
        first_observed: Timestamp::from_unix_ms(r.i64(13)?),
        last_observed: Timestamp::from_unix_ms(r.i64(14)?),
        updated_at: Timestamp::from_unix_ms(r.i64(15)?),
        closed_at: r.opt_i64(16)?.map(Timestamp::from_unix_ms),
        reopen_count: r.u32(17)?,
        finding: r.decode(18)?,
    })
}

fn event(
    tx: &mut dyn Sql,
    finding: i64,
    at: Timestamp,
    event: &str,
    version: Option<&str>,
) -> Result<()> {
    tx.exec(
        "INSERT INTO finding_events (finding_id, at, event, installed_version) VALUES (?, ?, ?, ?)",
        p![finding, at.unix_ms(), event, version],
    )?;
    Ok(())
}

/// The indexed columns of a finding, in the order both the INSERT and the
/// UPDATE below list them.
fn columns(f: &Finding, occurrences: u32) -> Result<Vec<Val>> {
    let detail = serde_json::to_value(f).map_err(|e| StoreError::Json {
        context: format!("finding {} in {}", f.vulnerability_id, f.package.name),
        source: e,
    })?;
    Ok(vec![
        Val::from(f.severity.as_str()),
        Val::from(f.package.kind.as_str()),
        Val::from(f.package.installed_version.as_str()),
        Val::from(f.fixed_version.clone()),
        Val::from(f.fixed_version.is_some()),
        Val::from(f.status.as_str()),
        Val::from(f.kev.is_some()),
        Val::from(f.epss.as_ref().map(|e| e.score)),
        Val::from(f.effective_score()),
        Val::from(occurrences),
        Val::Json(detail),
        Val::from(severity_rank(f.severity.as_str())),
        Val::from(f.effective_score().unwrap_or(-1.0)),
        Val::from(f.epss.as_ref().map_or(-1.0, |e| e.score)),
        Val::from(base_rank(f.score.as_ref().map(|s| s.base))),
        Val::from(internet_reachable(f)),
    ])
}

/// Whether the finding is about something the internet reaches: a package
/// whose own process listens on a reachable port (the scorer recorded
/// `MAV:N` for it), or a reachability finding with a listener (its
/// `source_name` names the process).
pub(crate) fn internet_reachable(f: &Finding) -> bool {
    if f.package.kind == crate::reach::NETWORK_KIND {
        return f.package.source_name.is_some();
    }
    f.score.as_ref().is_some_and(|s| {
        s.adjustments
            .iter()
            .any(|a| a.metric == "MAV" && a.value == "N")
    })
}

/// Which findings of an asset one application covers: an evaluation
/// applies the package findings, the reachability job the network ones,
/// and neither closes the other's.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    Packages,
    Network,
}

impl Scope {
    fn condition(self) -> &'static str {
        match self {
            Scope::Packages => "package_kind <> 'network'",
            Scope::Network => "package_kind = 'network'",
        }
    }
}

/// The band of the base score the adjusted score starts from, numbered as
/// [`severity_rank`] (0: none), for the dashboard's base counts.
pub(crate) fn base_rank(base: Option<f64>) -> i64 {
    match base {
        None => 0,
        Some(b) if b >= 9.0 => 5,
        Some(b) if b >= 7.0 => 4,
        Some(b) if b >= 4.0 => 3,
        Some(b) if b > 0.0 => 2,
        Some(_) => 1,
    }
}

/// The band as a number, most severe highest (the order sorts use).
pub(crate) fn severity_rank(band: &str) -> i64 {
    match band {
        "CRITICAL" => 5,
        "HIGH" => 4,
        "MEDIUM" => 3,
        "LOW" => 2,
        "INFORMATIONAL" => 1,
        _ => 0,
    }
}

struct Existing {
    id: i64,
    status: Status,
    occurrences: u32,
    finding: Finding,
    severity: String,
    first_observed: i64,
    due_by_hand: bool,
}

impl Db {
    /// Applies an evaluation of the asset (every finding the detection
    /// made for its latest inventory) in one transaction: new findings
    /// open, known ones are observed again, closed ones that came back
    /// reopen, and the asset's open findings missing from `findings`
    /// close. An evaluation older than the last one applied is refused
    /// ([`StoreError::StaleEvaluation`]), so that a slow worker cannot undo
    /// a newer result.
    pub fn apply_evaluation(
        &self,
        asset: AssetId,
        findings: &[Finding],
        at: Timestamp,
    ) -> Result<LifecycleCounts> {
        let cause = format!("evaluation:{}:{}", asset.0, at.unix_ms());
        self.apply_scoped(asset, findings, at, Scope::Packages, &cause)
    }

    /// [`Db::apply_evaluation`], with the cause its events carry (e.g.
    /// `kb:<generation>` for the re-evaluations of one knowledge update),
    /// so that a rule sends one message per cause, not one per finding.
    pub fn apply_evaluation_caused(
        &self,
        asset: AssetId,
        findings: &[Finding],
        at: Timestamp,
        cause: &str,
    ) -> Result<LifecycleCounts> {
        self.apply_scoped(asset, findings, at, Scope::Packages, cause)
    }

    /// Applies the reachability job's findings of the asset (package kind
    /// `network`) with the same lifecycle: new ones open, known ones are
    /// observed again, missing ones close. Package findings are untouched,
    /// and the asset's evaluation time does not move.
    pub fn apply_network_findings(
        &self,
        asset: AssetId,
        findings: &[Finding],
        at: Timestamp,
    ) -> Result<LifecycleCounts> {
        if let Some(f) = findings
            .iter()
            .find(|f| f.package.kind != crate::reach::NETWORK_KIND)
        {
            return Err(StoreError::InvalidArgument(format!(
                "{} in {}: not a network finding",
                f.vulnerability_id, f.package.name
            )));
        }
        let cause = format!("reachability:{}", at.unix_ms());
        self.apply_scoped(asset, findings, at, Scope::Network, &cause)
    }

    fn apply_scoped(
        &self,
        asset: AssetId,
        findings: &[Finding],
        at: Timestamp,
        scope: Scope,
        cause: &str,
    ) -> Result<LifecycleCounts> {
        // Copies of one package at several paths (two virtual environments)
        // are one finding: keep the most urgent record and count them.
        let mut incoming: BTreeMap<Key, (&Finding, u32)> = BTreeMap::new();
        for f in findings {
            incoming
                .entry(key_of(f))
                .and_modify(|(best, n)| {
                    *n += 1;
                    if f.rank_cmp(best).is_lt() {
                        *best = f;
                    }
                })
                .or_insert((f, 1));
        }
        let mut rows = Vec::with_capacity(incoming.len());
        for (key, (f, n)) in incoming {
            rows.push((key, f, n));
        }
        self.tx("apply evaluation", Mode::Write, |tx| {
            let row = lock_asset(tx, asset, "evaluated_at")?;
            if let Some(applied) = row.opt_i64(0)?.map(Timestamp::from_unix_ms)
                && applied > at
                && scope == Scope::Packages
            {
                return Err(StoreError::StaleEvaluation {
                    asset: asset.0,
                    at: at.to_string(),
                    applied: applied.to_string(),
                });
            }
            let mut existing: HashMap<Key, Existing> = HashMap::new();
            for r in tx.query(
                &format!(
                    "SELECT id, vulnerability_id, package_name, package_arch, status, occurrences, \
                     detail, severity, first_observed, due_by_hand FROM findings WHERE asset_id = ? \
                     AND {}",
                    scope.condition()
                ),
                p![asset.0],
            )? {
                existing.insert(
                    (r.text(1)?, r.text(2)?, r.text(3)?),
                    Existing {
                        id: r.i64(0)?,
                        status: Status::parse(&r.text(4)?)?,
                        occurrences: r.u32(5)?,
                        finding: r.decode(6)?,
                        severity: r.text(7)?,
                        first_observed: r.i64(8)?,
                        due_by_hand: r.bool(9)?,
                    },
                );
            }
            let mut counts = LifecycleCounts::default();
            let t = at.unix_ms();
            let since = crate::notify::last_history_id(tx)?;
            let mut changes = Vec::new();
            let policy = crate::triage::sla(tx)?;
            for (key, f, n) in rows {
                let version = Some(f.package.installed_version.as_str());
                let Some(old) = existing.remove(&key) else {
                    let mut params = vec![
                        Val::from(asset.0),
                        Val::from(key.0),
                        Val::from(key.1),
                        Val::from(key.2),
                        Val::from(Status::Active.as_str()),
                    ];
                    params.extend(columns(f, n)?);
                    let due = policy.due(f.severity.as_str(), t);
                    params.extend([
                        Val::from(t),
                        Val::from(t),
                        Val::from(t),
                        Val::from(due),
                        Val::from(due.unwrap_or(i64::MAX)),
                    ]);
                    let id = tx
                        .query_one(
                            "INSERT INTO findings (asset_id, vulnerability_id, package_name, \
                             package_arch, status, severity, package_kind, installed_version, \
                             fixed_version, fix_available, vendor_status, kev, epss, score, \
                             occurrences, detail, severity_rank, score_sort, epss_sort, \
                             base_rank, internet_reachable, first_observed, last_observed, \
                             updated_at, due_at, due_sort) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, \
                             ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                            &params,
                        )?
                        .i64(0)?;
                    event(tx, id, at, "opened", version)?;
                    counts.new += 1;
                    continue;
                };
                // Closed comes back as active: suppression is a person's
                // (later a rule's) decision about a live finding, and the
                // rules will apply to the reopened one again.
                let (status, reopened) = match old.status {
                    Status::Closed => {
                        counts.reopened += 1;
                        (Status::Active, true)
                    }
                    Status::Suppressed => {
                        counts.still_suppressed += 1;
                        (Status::Suppressed, false)
                    }
                    Status::Active => {
                        counts.still_active += 1;
                        (Status::Active, false)
                    }
                };
                let changed = reopened || old.occurrences != n || old.finding != *f;
                if !changed {
                    // Observed again as it was: only `last_observed`
                    // moves, for all such findings in one statement below.
                    continue;
                }
                // Serialised only when written: most findings of a
                // re-evaluation are unchanged.
                let mut params = vec![Val::from(status.as_str())];
                params.extend(columns(f, n)?);
                params.extend([
                    Val::from(t),
                    Val::from(t),
                    Val::from(i64::from(reopened)),
                    Val::from(old.id),
                ]);
                tx.exec(
                    "UPDATE findings SET status = ?, severity = ?, package_kind = ?, \
                     installed_version = ?, fixed_version = ?, fix_available = ?, \
                     vendor_status = ?, kev = ?, epss = ?, score = ?, occurrences = ?, \
                     detail = ?, severity_rank = ?, score_sort = ?, epss_sort = ?, base_rank = ?, \
                     internet_reachable = ?, last_observed = ?, updated_at = ?, \
                     closed_at = NULL, reopen_count = reopen_count + ? WHERE id = ?",
                    &params,
                )?;
                // The SLA's due date follows the severity, unless a person
                // set it.
                if old.severity != f.severity.as_str() && !old.due_by_hand {
                    let due = policy.due(f.severity.as_str(), old.first_observed);
                    tx.exec(
                        "UPDATE findings SET due_at = ?, due_sort = ? WHERE id = ?",
                        p![due, due.unwrap_or(i64::MAX), old.id],
                    )?;
                }
                if reopened {
                    event(tx, old.id, at, "reopened", version)?;
                } else if status == Status::Active {
                    // A live finding whose urgency changed; a reopened one
                    // is announced as such.
                    if old.severity != f.severity.as_str() {
                        changes.push(crate::notify::Change {
                            finding: old.id,
                            kind: crate::notify::SEVERITY_CHANGED,
                            from: old.severity.clone().into(),
                            to: f.severity.as_str().into(),
                        });
                    }
                    if old.finding.kev.is_some() != f.kev.is_some() {
                        changes.push(crate::notify::Change {
                            finding: old.id,
                            kind: crate::notify::KEV_CHANGED,
                            from: old.finding.kev.is_some().into(),
                            to: f.kev.is_some().into(),
                        });
                    }
                }
            }
            for old in existing.values() {
                if old.status == Status::Closed {
                    continue;
                }
                // A suppression is about a live finding: one that comes back
                // is judged again (by the rules, or a person).
                tx.exec(
                    "UPDATE findings SET status = ?, closed_at = ?, updated_at = ?, \
                     suppressed_by = NULL, suppress_reason = NULL WHERE id = ?",
                    p![Status::Closed.as_str(), t, t, old.id],
                )?;
                let version = Some(old.finding.package.installed_version.as_str());
                event(tx, old.id, at, "closed", version)?;
                counts.closed += 1;
            }
            // Every finding still open was observed by this evaluation (the
            // others were just closed).
            tx.exec(
                &format!(
                    "UPDATE findings SET last_observed = ? WHERE asset_id = ? AND status <> 'CLOSED' \
                     AND last_observed < ? AND {}",
                    scope.condition()
                ),
                p![t, asset.0, t],
            )?;
            // The outbox, in this transaction: a crash loses no event and
            // a rolled-back evaluation emits none.
            crate::notify::emit_lifecycle(tx, asset, since, cause)?;
            crate::notify::emit_changes(tx, asset, cause, at, &changes)?;
            crate::triage::apply_triage_rules(tx, Some(asset), at)?;
            crate::triage::apply_suppression_rules(tx, Some(asset), at)?;
            if scope == Scope::Packages {
                tx.exec(
                    "UPDATE assets SET evaluated_at = ? WHERE id = ?",
                    p![t, asset.0],
                )?;
            }
            Ok(counts)
        })
    }

    /// Findings, by asset and status when given; in id order. Enough for
    /// tests and exports of one asset; the console's query API comes later.
    pub fn findings(
        &self,
        asset: Option<AssetId>,
        status: Option<Status>,
    ) -> Result<Vec<StoredFinding>> {
        self.tx("list findings", Mode::Read, |tx| {
            let mut sql = format!("SELECT {FINDING_COLUMNS} FROM findings WHERE 1 = 1");
            let mut params = Vec::new();
            if let Some(a) = asset {
                sql.push_str(" AND asset_id = ?");
                params.push(Val::from(a.0));
            }
            if let Some(s) = status {
                sql.push_str(" AND status = ?");
                params.push(Val::from(s.as_str()));
            }
            sql.push_str(" ORDER BY id");
            tx.query(&sql, &params)?.iter().map(stored_of).collect()
        })
    }

    pub fn finding(&self, id: FindingId) -> Result<Option<StoredFinding>> {
        self.tx("read finding", Mode::Read, |tx| {
            tx.query_opt(
                &format!("SELECT {FINDING_COLUMNS} FROM findings WHERE id = ?"),
                p![id.0],
            )?
            .map(|r| stored_of(&r))
            .transpose()
        })
    }

    /// The finding's history, oldest first.
    pub fn finding_events(&self, id: FindingId) -> Result<Vec<FindingEvent>> {
        self.tx("read finding history", Mode::Read, |tx| {
            tx.query(
                "SELECT at, event, installed_version FROM finding_events WHERE finding_id = ? \
                 ORDER BY at, id",
                p![id.0],
            )?
            .iter()
            .map(|r| {
                Ok(FindingEvent {
                    at: Timestamp::from_unix_ms(r.i64(0)?),
                    event: r.text(1)?,
                    installed_version: r.opt_text(2)?,
                })
            })
            .collect()
        })
    }

    /// Suppresses an open finding or makes a suppressed one active again.
    /// A closed finding cannot be set: its status follows the evaluations.
    pub fn set_status(&self, id: FindingId, status: Status, at: Timestamp) -> Result<()> {
        if status == Status::Closed {
            return Err(StoreError::InvalidArgument(
                "a finding is closed by an evaluation that no longer has it, not by hand".into(),
            ));
        }
        self.tx("set finding status", Mode::Write, |tx| {
            let row = tx
                .query_opt(
                    "SELECT status, installed_version FROM findings WHERE id = ?",
                    p![id.0],
                )?
                .ok_or_else(|| StoreError::NotFound {
                    what: format!("finding {}", id.0),
                })?;
            let old = Status::parse(&row.text(0)?)?;
            if old == status {
                return Ok(());
            }
            if old == Status::Closed {
                return Err(StoreError::InvalidArgument(format!(
                    "finding {} is closed: only an evaluation reopens it",
                    id.0
                )));
            }
            let (by, exempt) = match status {
                Status::Suppressed => (Some("manual"), false),
                _ => (None, true),
            };
            tx.exec(
                "UPDATE findings SET status = ?, updated_at = ?, suppressed_by = ?, \
                 suppress_exempt = ? WHERE id = ?",
                p![status.as_str(), at.unix_ms(), by, exempt, id.0],
            )?;
            let name = match status {
                Status::Suppressed => "suppressed",
                _ => "unsuppressed",
            };
            event(tx, id.0, at, name, row.opt_text(1)?.as_deref())
        })
    }
}
