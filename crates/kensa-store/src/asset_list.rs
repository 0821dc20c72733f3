//! The assets list: every asset a [`Filter`] selects (assets with no
//! finding too), sorted and paged, each with its open findings counted by
//! severity and its oldest overdue one: what the console's assets page,
//! `GET /api/v1/assets` and the register export read.
//!
//! Pages are by offset: a fleet is thousands of assets, not millions of
//! findings, and an offset lets people jump to a page. The counts are
//! read for the page's assets only (from the `findings_asset_open` index
//! of migration 13); a sort by a count reads the counts the triggers of
//! migration 17 keep per asset (`asset_open_counts`).

use std::collections::HashMap;

use serde::Serialize;

use crate::asset::{ASSET_COLUMNS, Asset, AssetId, asset_of};
use crate::error::{Result, StoreError};
use crate::filter::Filter;
use crate::lifecycle::FindingId;
use crate::sql::{Row, Sql, Val};
use crate::time::Timestamp;
use crate::{Db, Mode};

/// What assets can be sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssetSortKey {
    Name,
    Os,
    OsEol,
    SupportEnd,
    OperationStart,
    Owner,
    Team,
    Environment,
    Exposure,
    LastReport,
    /// Open critical findings (then high).
    Critical,
    /// Open findings of any severity.
    Open,
    /// Open findings past their due date.
    Overdue,
    Id,
}

const SORTS: &[(&str, AssetSortKey)] = &[
    ("name", AssetSortKey::Name),
    ("os", AssetSortKey::Os),
    ("os_eol", AssetSortKey::OsEol),
    ("support_end", AssetSortKey::SupportEnd),
    ("operation_start", AssetSortKey::OperationStart),
    ("owner", AssetSortKey::Owner),
    ("team", AssetSortKey::Team),
    ("environment", AssetSortKey::Environment),
    ("internet_exposure", AssetSortKey::Exposure),
    ("last_report", AssetSortKey::LastReport),
    ("critical", AssetSortKey::Critical),
    ("open", AssetSortKey::Open),
    ("overdue", AssetSortKey::Overdue),
    ("id", AssetSortKey::Id),
];

impl AssetSortKey {
    pub fn as_str(self) -> &'static str {
        SORTS
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("name", |(n, _)| n)
    }

    /// Every sort key's name, for help texts.
    pub fn names() -> impl Iterator<Item = &'static str> {
        SORTS.iter().map(|(n, _)| *n)
    }

    /// The expressions sorted on, in order (`a.id` always ends the list).
    fn exprs(self) -> &'static [&'static str] {
        match self {
            AssetSortKey::Name => &["lower(a.name)", "a.name"],
            AssetSortKey::Os => &["a.os_id", "a.os_release"],
            AssetSortKey::OsEol => &["a.os_eol"],
            AssetSortKey::SupportEnd => &["a.support_end"],
            AssetSortKey::OperationStart => &["a.operation_start"],
            AssetSortKey::Owner => &["a.owner"],
            AssetSortKey::Team => &["a.team"],
            AssetSortKey::Environment => &["a.environment"],
            AssetSortKey::Exposure => &["COALESCE(a.internet_exposure, 'unknown')"],
            AssetSortKey::LastReport => &["a.inventory_at"],
            AssetSortKey::Critical => &["c.critical", "c.high"],
            AssetSortKey::Open => &["c.total"],
            // Placeholder for [`OVERDUE_NOW`], which takes parameters.
            AssetSortKey::Overdue => &["OVERDUE_NOW"],
            AssetSortKey::Id => &[],
        }
    }

    fn counts(self) -> bool {
        matches!(
            self,
            AssetSortKey::Critical | AssetSortKey::Open | AssetSortKey::Overdue
        )
    }
}

/// A sort key and direction: `name`, `support_end:asc`, `-critical`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AssetSort {
    pub key: AssetSortKey,
    pub descending: bool,
}

impl Default for AssetSort {
    fn default() -> AssetSort {
        AssetSort {
            key: AssetSortKey::Name,
            descending: false,
        }
    }
}

impl std::str::FromStr for AssetSort {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<AssetSort> {
        let (name, descending) = if let Some(n) = s.strip_prefix('-') {
            (n, true)
        } else if let Some((n, dir)) = s.split_once(':') {
            match dir.to_ascii_lowercase().as_str() {
                "desc" => (n, true),
                "asc" => (n, false),
                _ => {
                    return Err(StoreError::InvalidArgument(format!(
                        "sort {s:?}: the direction is asc or desc"
                    )));
                }
            }
        } else {
            (s, false)
        };
        let key = SORTS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, k)| *k)
            .ok_or_else(|| {
                StoreError::InvalidArgument(format!(
                    "sort {s:?}: assets sort by {}",
                    AssetSortKey::names().collect::<Vec<_>>().join(", ")
                ))
            })?;
        Ok(AssetSort { key, descending })
    }
}

impl std::fmt::Display for AssetSort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dir = if self.descending { "desc" } else { "asc" };
        write!(f, "{}:{dir}", self.key.as_str())
    }
}

/// The most rows one page holds.
pub const MAX_ASSET_PAGE: u32 = 1000;

/// An assets query.
#[derive(Clone, Debug, Default)]
pub struct AssetQuery {
    pub filter: Filter,
    pub sort: AssetSort,
    /// Rows per page, 1 to [`MAX_ASSET_PAGE`] (default 50).
    pub limit: Option<u32>,
    /// The page, from 0.
    pub page: u64,
}

/// An open finding past its due date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OverdueFinding {
    pub id: FindingId,
    pub vulnerability_id: String,
    pub package_name: String,
    pub due_at: Timestamp,
}

/// An asset's ACTIVE findings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OpenFindings {
    pub critical: u64,
    pub high: u64,
    pub medium: u64,
    pub low: u64,
    pub informational: u64,
    pub untriaged: u64,
    pub total: u64,
    /// Past their due date.
    pub overdue: u64,
    /// The one due longest ago.
    pub oldest_overdue: Option<OverdueFinding>,
}

/// One row of the assets list.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AssetRow {
    pub asset: Asset,
    /// A live (not revoked) agent reports for it.
    pub agent: bool,
    pub open: OpenFindings,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AssetPage {
    pub rows: Vec<AssetRow>,
    /// Assets the filter selects, over every page.
    pub total: u64,
}

/// The expression of the overdue count at `now` from the stored counts
/// (migration 17): exact while the asset's `next_due` is in the future
/// and it was counted no later than `now` (clocks of several servers
/// differ), else that asset's findings are counted (three `now`
/// parameters).
const OVERDUE_NOW: &str = "CASE WHEN c.overdue_at <= ? AND c.next_due > ? THEN c.overdue ELSE \
     (SELECT COUNT(*) FROM findings f WHERE f.asset_id = a.id AND f.status = 'ACTIVE' \
     AND f.due_sort < ?) END";

/// The statement of one page: the ids of `limit` assets from `offset`.
fn page_sql(
    db: &Db,
    filter: &Filter,
    sort: AssetSort,
    now: Timestamp,
    limit: u64,
    offset: u64,
) -> Result<(String, Vec<Val>)> {
    let (cond, mut params) = filter.to_asset_sql(db.dialect(), now)?;
    // The counts are kept per asset by triggers (migration 17), so a
    // count sort reads one narrow row per asset instead of every finding.
    let join = if sort.key.counts() {
        "JOIN asset_open_counts c ON c.asset_id = a.id "
    } else {
        ""
    };
    let dir = if sort.descending { "DESC" } else { "ASC" };
    // Assets without the value last, whichever the direction (the name and
    // the counts are never NULL: sorted plainly, the planner walks their
    // index).
    let mut order: Vec<String> = Vec::new();
    for e in sort.key.exprs() {
        if *e == "OVERDUE_NOW" {
            order.push(format!("{OVERDUE_NOW} {dir}"));
            for _ in 0..3 {
                params.push(Val::I64(now.unix_ms()));
            }
            continue;
        }
        if sort.key != AssetSortKey::Name && !sort.key.counts() {
            order.push(format!("({e} IS NULL)"));
        }
        order.push(format!("{e} {dir}"));
    }
    order.push(format!("a.id {dir}"));
    // Only the ids are sorted (narrow rows); the page's assets are read
    // by id afterwards.
    Ok((
        format!(
            "SELECT a.id FROM assets a {join}WHERE {cond} ORDER BY {} LIMIT {limit} OFFSET {offset}",
            order.join(", ")
        ),
        params,
    ))
}

/// The assets of `ids`, in that order.
fn assets_by_id(tx: &mut dyn Sql, ids: &[i64]) -> Result<Vec<Asset>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let params: Vec<Val> = ids.iter().map(|i| Val::I64(*i)).collect();
    let mut by_id: HashMap<i64, Asset> = tx
        .query(
            &format!(
                "SELECT {ASSET_COLUMNS} FROM assets WHERE id IN ({})",
                placeholders(ids.len())
            ),
            &params,
        )?
        .iter()
        .map(|r| asset_of(r).map(|a| (a.id.0, a)))
        .collect::<Result<_>>()?;
    Ok(ids.iter().filter_map(|i| by_id.remove(i)).collect())
}

/// The ids a page statement selected.
fn ids_of(tx: &mut dyn Sql, sql: &str, params: &[Val]) -> Result<Vec<i64>> {
    tx.query(sql, params)?.iter().map(|r| r.i64(0)).collect()
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// The rows of `assets`, with their agents and open findings, read in the
/// caller's transaction.
fn rows_of(tx: &mut dyn Sql, assets: Vec<Asset>, now: Timestamp) -> Result<Vec<AssetRow>> {
    if assets.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Val> = assets.iter().map(|a| Val::I64(a.id.0)).collect();
    let list = placeholders(ids.len());
    let agents: std::collections::HashSet<i64> = tx
        .query(
            &format!(
                "SELECT DISTINCT asset_id FROM agents WHERE revoked_at IS NULL AND asset_id IN ({list})"
            ),
            &ids,
        )?
        .iter()
        .map(|r| r.i64(0))
        .collect::<Result<_>>()?;
    let mut open: HashMap<i64, OpenFindings> = HashMap::new();
    // The oldest due date per asset comes with the counts, from the
    // covering index; only the findings due then are read.
    let mut oldest: HashMap<i64, i64> = HashMap::new();
    let mut params = vec![Val::I64(now.unix_ms()), Val::I64(now.unix_ms())];
    params.extend(ids.iter().cloned());
    for r in tx.query(
        &format!(
            "SELECT f.asset_id, f.severity_rank, COUNT(*), \
             SUM(CASE WHEN f.due_sort < ? THEN 1 ELSE 0 END), \
             MIN(CASE WHEN f.due_sort < ? THEN f.due_sort END) \
             FROM findings f WHERE f.status = 'ACTIVE' AND f.asset_id IN ({list}) \
             GROUP BY f.asset_id, f.severity_rank"
        ),
        &params,
    )? {
        let asset = r.i64(0)?;
        let o = open.entry(asset).or_default();
        let n = u64::try_from(r.i64(2)?).unwrap_or(0);
        match r.i64(1)? {
            5 => o.critical += n,
            4 => o.high += n,
            3 => o.medium += n,
            2 => o.low += n,
            1 => o.informational += n,
            _ => o.untriaged += n,
        }
        o.total += n;
        o.overdue += u64::try_from(r.i64(3)?).unwrap_or(0);
        if let Some(due) = r.opt_i64(4)? {
            let e = oldest.entry(asset).or_insert(due);
            *e = (*e).min(due);
        }
    }
    // The overdue findings of the assets that have one, in one statement
    // (the asset id prefix of `findings_asset_open`), the oldest kept per
    // asset. An OR of (asset, due date) pairs, as this was before, made
    // SQLite scan every open finding once per hundred assets: most of a
    // register export's time.
    let overdue_assets: Vec<Val> = oldest.keys().map(|a| Val::I64(*a)).collect();
    if !overdue_assets.is_empty() {
        let mut best: HashMap<i64, (i64, i64, Row)> = HashMap::new();
        // The due date is compared here, not in the statement: given a
        // range on it, SQLite walked the status and due date index over
        // every overdue finding of the fleet instead of these assets'.
        let t = now.unix_ms();
        for r in tx.query(
            &format!(
                "SELECT f.asset_id, f.id, f.vulnerability_id, f.package_name, f.due_at, f.due_sort \
                 FROM findings f WHERE f.asset_id IN ({}) AND f.status = 'ACTIVE'",
                placeholders(overdue_assets.len())
            ),
            &overdue_assets,
        )? {
            let (asset, id, due) = (r.i64(0)?, r.i64(1)?, r.i64(5)?);
            if due >= t {
                continue;
            }
            // Several findings due at the same instant: the lowest id.
            let older = best
                .get(&asset)
                .is_none_or(|(d, i, _)| (due, id) < (*d, *i));
            if older {
                best.insert(asset, (due, id, r));
            }
        }
        for (asset, (_, _, r)) in best {
            open.entry(asset).or_default().oldest_overdue = Some(overdue_of(&r)?);
        }
    }
    Ok(assets
        .into_iter()
        .map(|a| AssetRow {
            agent: agents.contains(&a.id.0),
            open: open.remove(&a.id.0).unwrap_or_default(),
            asset: a,
        })
        .collect())
}

fn overdue_of(r: &Row) -> Result<OverdueFinding> {
    Ok(OverdueFinding {
        id: FindingId(r.i64(1)?),
        vulnerability_id: r.text(2)?,
        package_name: r.text(3)?,
        due_at: Timestamp::from_unix_ms(r.i64(4)?),
    })
}

/// Rows per statement of [`Db::export_assets`].
const EXPORT_PAGE: u64 = 1000;

impl Db {
    /// One page of the assets list.
    pub fn query_assets(&self, q: &AssetQuery) -> Result<AssetPage> {
        let limit = q.limit.unwrap_or(50);
        if !(1..=MAX_ASSET_PAGE).contains(&limit) {
            return Err(StoreError::InvalidArgument(format!(
                "limit {limit}: 1 to {MAX_ASSET_PAGE} assets per page"
            )));
        }
        let offset = q
            .page
            .checked_mul(u64::from(limit))
            .ok_or_else(|| StoreError::InvalidArgument(format!("page {}: too far", q.page)))?;
        let now = Timestamp::now();
        if q.sort.key == AssetSortKey::Overdue {
            // Fewer assets to recount in the sort below.
            self.refresh_overdue(now)?;
        }
        let (sql, params) = page_sql(self, &q.filter, q.sort, now, u64::from(limit), offset)?;
        let (cond, cond_params) = q.filter.to_asset_sql(self.dialect(), now)?;
        self.tx("list assets", Mode::Read, |tx| {
            let total = tx
                .query_one(
                    &format!("SELECT COUNT(*) FROM assets a WHERE {cond}"),
                    &cond_params,
                )?
                .i64(0)?;
            let ids = ids_of(tx, &sql, &params)?;
            let assets = assets_by_id(tx, &ids)?;
            Ok(AssetPage {
                rows: rows_of(tx, assets, now)?,
                total: u64::try_from(total).unwrap_or(0),
            })
        })
    }

    /// Calls `each` with every asset `filter` selects, in `sort`'s order;
    /// how many. Read a thousand at a time, each in a short transaction of
    /// its own, so that memory stays flat and no transaction stays open
    /// for the whole export. An error from `each` stops it.
    pub fn export_assets(
        &self,
        filter: &Filter,
        sort: AssetSort,
        mut each: impl FnMut(AssetRow) -> Result<()>,
    ) -> Result<u64> {
        // One "now" for the whole export: every page counts overdue
        // findings against the same instant.
        let now = Timestamp::now();
        let mut n = 0u64;
        let mut offset = 0u64;
        // Sorting by id keeps the pages disjoint when assets are added
        // while the export runs; a count sort may still move an asset
        // between pages, as any offset-paged list.
        loop {
            let (sql, params) = page_sql(self, filter, sort, now, EXPORT_PAGE, offset)?;
            let rows = self.tx("export assets", Mode::Read, |tx| {
                let ids = ids_of(tx, &sql, &params)?;
                let assets = assets_by_id(tx, &ids)?;
                rows_of(tx, assets, now)
            })?;
            let len = rows.len() as u64;
            for r in rows {
                each(r)?;
                n += 1;
            }
            if len < EXPORT_PAGE {
                return Ok(n);
            }
            offset += EXPORT_PAGE;
        }
    }

    /// Moves the stored overdue counts (migration 17) forward to `now` for
    /// the assets where a finding fell due since they were counted; how
    /// many. Only a matter of speed: readers recount stale assets anyway.
    pub fn refresh_overdue(&self, now: Timestamp) -> Result<u64> {
        let t = now.unix_ms();
        self.tx("refresh overdue counts", Mode::Write, |tx| {
            if tx.dialect() == crate::sql::Dialect::Postgres {
                // Locked first, so that the recount below is a new
                // statement that sees every evaluation committed on these
                // assets meanwhile (a concurrent one waits for this
                // transaction, then applies its changes to the new counts).
                tx.query(
                    "SELECT asset_id FROM asset_open_counts WHERE next_due <= ? \
                     ORDER BY asset_id FOR UPDATE",
                    &[Val::I64(t)],
                )?;
            }
            let n = tx.exec(
                "UPDATE asset_open_counts SET \
                 overdue = (SELECT COUNT(*) FROM findings f WHERE f.asset_id = asset_open_counts.asset_id \
                 AND f.status = 'ACTIVE' AND f.due_sort < ?), \
                 next_due = COALESCE((SELECT MIN(f.due_sort) FROM findings f \
                 WHERE f.asset_id = asset_open_counts.asset_id AND f.status = 'ACTIVE' \
                 AND f.due_sort >= ?), 9223372036854775807), \
                 overdue_at = ? WHERE next_due <= ?",
                &[Val::I64(t), Val::I64(t), Val::I64(t), Val::I64(t)],
            )?;
            Ok(n)
        })
    }

    /// The open-finding counts the triggers keep (migration 17), every
    /// asset's, with the overdue count as of `now`; in asset id order.
    /// `oldest_overdue` is not kept there and is always `None`.
    pub fn stored_open_counts(&self, now: Timestamp) -> Result<Vec<(AssetId, OpenFindings)>> {
        let t = now.unix_ms();
        self.tx("read open counts", Mode::Read, |tx| {
            tx.query(
                &format!(
                    "SELECT a.id, c.critical, c.high, c.medium, c.low, c.informational, \
                     c.untriaged, c.total, {OVERDUE_NOW} FROM assets a \
                     JOIN asset_open_counts c ON c.asset_id = a.id ORDER BY a.id"
                ),
                &[Val::I64(t), Val::I64(t), Val::I64(t)],
            )?
            .iter()
            .map(|r| {
                let n = |i| r.i64(i).map(|v| u64::try_from(v).unwrap_or(u64::MAX));
                Ok((
                    AssetId(r.i64(0)?),
                    OpenFindings {
                        critical: n(1)?,
                        high: n(2)?,
                        medium: n(3)?,
                        low: n(4)?,
                        informational: n(5)?,
                        untriaged: n(6)?,
                        total: n(7)?,
                        overdue: n(8)?,
                        oldest_overdue: None,
                    },
                ))
            })
            .collect()
        })
    }

    /// One asset's row (its agent and open findings), `None` when unknown.
    pub fn asset_row(&self, id: AssetId) -> Result<Option<AssetRow>> {
        let now = Timestamp::now();
        self.tx("read asset row", Mode::Read, |tx| {
            let Some(r) = tx.query_opt(
                &format!("SELECT {ASSET_COLUMNS} FROM assets WHERE id = ?"),
                &[Val::I64(id.0)],
            )?
            else {
                return Ok(None);
            };
            Ok(rows_of(tx, vec![asset_of(&r)?], now)?.into_iter().next())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_parse_and_print_back() {
        let s: AssetSort = "-critical".parse().expect("parses");
        assert_eq!(s.to_string(), "critical:desc");
        assert_eq!(
            "support_end:asc".parse::<AssetSort>().expect("p"),
            AssetSort {
                key: AssetSortKey::SupportEnd,
                descending: false
            }
        );
        let e = "colour".parse::<AssetSort>().expect_err("unknown");
        assert!(e.to_string().contains("assets sort by name"), "{e}");
        for n in AssetSortKey::names() {
            let s: AssetSort = n.parse().expect(n);
            assert_eq!(s.key.as_str(), n);
        }
    }
}
