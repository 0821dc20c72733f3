//! The findings query API: a [`Filter`], one sort key, keyset pages; and
//! aggregations by asset, vulnerability, package, OS, image or team with
//! counts per severity.
//!
//! Keyset paging: a page ends with a cursor holding the last row's sort
//! values and id, and the next page starts strictly after them. Unlike an
//! offset, the cost of a page does not grow with its depth, and rows that
//! change between two pages are neither skipped nor shown twice. Every
//! sort column is NOT NULL (see migration 3), so that the condition is a
//! plain row-value comparison both backends answer from an index.

use serde::Serialize;

use crate::error::{Result, StoreError};
use crate::filter::Filter;
use crate::lifecycle::{FindingId, Status};
use crate::sql::{Row, Val};
use crate::time::Timestamp;
use crate::{AssetId, Db, Mode};

/// What findings can be sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    /// Severity band, then score: the most urgent first when descending.
    Severity,
    /// The exposure-adjusted score (the base score when not adjusted).
    Score,
    Epss,
    FirstObserved,
    LastObserved,
    Updated,
    Due,
    VulnerabilityId,
    Package,
    AssetId,
}

const SORTS: &[(&str, SortKey)] = &[
    ("severity", SortKey::Severity),
    ("score", SortKey::Score),
    ("epss", SortKey::Epss),
    ("first_observed", SortKey::FirstObserved),
    ("last_observed", SortKey::LastObserved),
    ("updated", SortKey::Updated),
    ("due", SortKey::Due),
    ("vulnerability_id", SortKey::VulnerabilityId),
    ("package", SortKey::Package),
    ("asset_id", SortKey::AssetId),
];

impl SortKey {
    pub fn as_str(self) -> &'static str {
        SORTS
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("severity", |(n, _)| n)
    }

    /// The columns, in order; `f.id` always ends the list.
    fn columns(self) -> &'static [&'static str] {
        match self {
            SortKey::Severity => &["f.severity_rank", "f.score_sort"],
            SortKey::Score => &["f.score_sort"],
            SortKey::Epss => &["f.epss_sort"],
            SortKey::FirstObserved => &["f.first_observed"],
            SortKey::LastObserved => &["f.last_observed"],
            SortKey::Updated => &["f.updated_at"],
            SortKey::Due => &["f.due_sort"],
            SortKey::VulnerabilityId => &["f.vulnerability_id"],
            SortKey::Package => &["f.package_name"],
            SortKey::AssetId => &["f.asset_id"],
        }
    }
}

/// A sort key and direction: `score:desc`, `due`, `-last_observed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sort {
    pub key: SortKey,
    pub descending: bool,
}

impl Default for Sort {
    fn default() -> Sort {
        Sort {
            key: SortKey::Severity,
            descending: true,
        }
    }
}

impl std::str::FromStr for Sort {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Sort> {
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
                    "sort {s:?}: sortable keys are {}",
                    SORTS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                ))
            })?;
        Ok(Sort { key, descending })
    }
}

impl std::fmt::Display for Sort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dir = if self.descending { "desc" } else { "asc" };
        write!(f, "{}:{dir}", self.key.as_str())
    }
}

/// A findings query.
#[derive(Clone, Debug, Default)]
pub struct FindingQuery {
    pub filter: Filter,
    pub sort: Sort,
    /// Rows per page, 1 to 1000 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One row of a findings page: what a list shows, without the detection's
/// full record (read it with [`Db::finding`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FindingSummary {
    pub id: FindingId,
    pub asset_id: AssetId,
    pub asset_name: String,
    pub vulnerability_id: String,
    pub package_name: String,
    pub package_arch: Option<String>,
    pub package_kind: String,
    pub installed_version: String,
    pub fixed_version: Option<String>,
    pub vendor_status: String,
    pub status: Status,
    pub severity: String,
    pub score: Option<f64>,
    pub epss: Option<f64>,
    pub kev: bool,
    pub first_observed: Timestamp,
    pub last_observed: Timestamp,
    pub updated_at: Timestamp,
    pub due_at: Option<Timestamp>,
    pub triage_state: Option<String>,
    pub assignee: Option<String>,
    pub suppressed_by: Option<String>,
    /// How many times it came back after closing.
    pub reopen_count: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FindingPage {
    pub findings: Vec<FindingSummary>,
    /// Pass back as `cursor` for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

const SUMMARY_COLUMNS: &str = "f.id, f.asset_id, f.vulnerability_id, f.package_name, \
     f.package_arch, f.package_kind, f.installed_version, f.fixed_version, f.vendor_status, \
     f.status, f.severity, f.score, f.epss, f.kev, f.first_observed, f.last_observed, \
     f.updated_at, f.due_at, f.triage_state, f.assignee, f.suppressed_by, f.reopen_count";
const SUMMARY_WIDTH: usize = 22;

fn summary_of(r: &Row) -> Result<FindingSummary> {
    Ok(FindingSummary {
        id: FindingId(r.i64(0)?),
        asset_id: AssetId(r.i64(1)?),
        asset_name: String::new(),
        vulnerability_id: r.text(2)?,
        package_name: r.text(3)?,
        package_arch: Some(r.text(4)?).filter(|a| !a.is_empty()),
        package_kind: r.text(5)?,
        installed_version: r.text(6)?,
        fixed_version: r.opt_text(7)?,
        vendor_status: r.text(8)?,
        status: Status::parse(&r.text(9)?)?,
        severity: r.text(10)?,
        score: r.opt_f64(11)?,
        epss: r.opt_f64(12)?,
        kev: r.bool(13)?,
        first_observed: Timestamp::from_unix_ms(r.i64(14)?),
        last_observed: Timestamp::from_unix_ms(r.i64(15)?),
        updated_at: Timestamp::from_unix_ms(r.i64(16)?),
        due_at: r.opt_i64(17)?.map(Timestamp::from_unix_ms),
        triage_state: r.opt_text(18)?,
        assignee: r.opt_text(19)?,
        suppressed_by: r.opt_text(20)?,
        reopen_count: r.u32(21)?,
    })
}

/// The cursor: the sort it belongs to, then the last row's values and id,
/// as hex of a JSON array (opaque to clients, checked on the way back).
fn encode_cursor(sort: Sort, values: &[Val]) -> String {
    let mut arr = vec![serde_json::Value::from(sort.to_string())];
    for v in values {
        arr.push(match v {
            Val::I64(i) => (*i).into(),
            Val::F64(f) => (*f).into(),
            Val::Text(s) => s.clone().into(),
            _ => serde_json::Value::Null,
        });
    }
    hex::encode(serde_json::Value::Array(arr).to_string())
}

fn decode_cursor(sort: Sort, cursor: &str) -> Result<Vec<Val>> {
    let bad = |why: &str| StoreError::InvalidArgument(format!("cursor: {why}"));
    let bytes = hex::decode(cursor).map_err(|_| bad("not a cursor this server made"))?;
    let arr: Vec<serde_json::Value> =
        serde_json::from_slice(&bytes).map_err(|_| bad("not a cursor this server made"))?;
    let (head, values) = arr.split_first().ok_or_else(|| bad("empty"))?;
    if head.as_str() != Some(sort.to_string().as_str()) {
        return Err(bad(
            "it belongs to another sort order; start from the first page",
        ));
    }
    let cols = sort.key.columns();
    if values.len() != cols.len() + 1 {
        return Err(bad("wrong length"));
    }
    values
        .iter()
        .zip(cols.iter().chain(std::iter::once(&"f.id")))
        .map(|(v, col)| {
            let text_col = matches!(*col, "f.vulnerability_id" | "f.package_name");
            let real_col = matches!(*col, "f.score_sort" | "f.epss_sort");
            match v {
                serde_json::Value::String(s) if text_col => Ok(Val::Text(s.clone())),
                serde_json::Value::Number(n) if real_col => {
                    n.as_f64().map(Val::F64).ok_or_else(|| bad("not a number"))
                }
                serde_json::Value::Number(n) if !text_col && !real_col => n
                    .as_i64()
                    .map(Val::I64)
                    .ok_or_else(|| bad("not an integer")),
                _ => Err(bad("a value of the wrong type")),
            }
        })
        .collect()
}

/// A keyset-paged statement over the findings a filter selects, in a
/// sort's order: the list API's pages and the exports' are the same
/// statement, with their own select list. The select list must start with
/// `f.id`; the sort's columns follow it, for [`Keyset::after`].
pub(crate) struct Keyset {
    select: String,
    from: &'static str,
    cond: String,
    params: Vec<Val>,
    /// The sort's columns, `f.id` last.
    pub(crate) cols: Vec<&'static str>,
    descending: bool,
}

impl Keyset {
    pub(crate) fn new(
        dialect: crate::sql::Dialect,
        filter: &Filter,
        sort: Sort,
        select: &str,
    ) -> Result<Keyset> {
        let (cond, params) = filter.to_sql(dialect, Timestamp::now())?;
        let cols: Vec<&'static str> = sort
            .key
            .columns()
            .iter()
            .copied()
            .chain(std::iter::once("f.id"))
            .collect();
        let mut sel = format!("SELECT {select}");
        // The sort values of the last row make the next page's start.
        for c in &cols[..cols.len() - 1] {
            sel.push_str(", ");
            sel.push_str(c);
        }
        Ok(Keyset {
            select: sel,
            from: if filter.needs_asset() {
                " FROM findings f JOIN assets a ON a.id = f.asset_id"
            } else {
                " FROM findings f"
            },
            cond,
            params,
            cols,
            descending: sort.descending,
        })
    }

    /// The statement for `limit` rows strictly after `after` (the previous
    /// page's last sort values and id), and its parameters.
    pub(crate) fn page(&self, after: Option<Vec<Val>>, limit: u32) -> (String, Vec<Val>) {
        let (dir, cmp) = if self.descending {
            ("DESC", "<")
        } else {
            ("ASC", ">")
        };
        let mut sql = format!("{}{} WHERE {}", self.select, self.from, self.cond);
        let mut params = self.params.clone();
        if let Some(values) = after {
            sql.push_str(&format!(
                " AND ({}) {cmp} ({})",
                self.cols.join(", "),
                vec!["?"; self.cols.len()].join(", ")
            ));
            params.extend(values);
        }
        let order: Vec<String> = self.cols.iter().map(|c| format!("{c} {dir}")).collect();
        sql.push_str(&format!(" ORDER BY {} LIMIT {limit}", order.join(", ")));
        (sql, params)
    }

    /// A row's sort values and id, where the next page starts: the sort
    /// columns follow the `width` selected ones, the id is the first.
    pub(crate) fn after(r: &Row, width: usize, ncols: usize) -> Result<Vec<Val>> {
        let mut values = Vec::with_capacity(ncols);
        for i in 0..ncols - 1 {
            values.push(r.val(width + i)?.clone());
        }
        values.push(r.val(0)?.clone());
        Ok(values)
    }
}

/// What findings are grouped by in [`Db::aggregate_findings`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupBy {
    Asset,
    Vulnerability,
    Package,
    /// OS id and release of the asset.
    Os,
    /// The asset's image id (container images).
    Image,
    Team,
}

impl std::str::FromStr for GroupBy {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<GroupBy> {
        Ok(match s {
            "asset" => GroupBy::Asset,
            "vulnerability" => GroupBy::Vulnerability,
            "package" => GroupBy::Package,
            "os" => GroupBy::Os,
            "image" => GroupBy::Image,
            "team" => GroupBy::Team,
            _ => {
                return Err(StoreError::InvalidArgument(format!(
                    "group by {s:?}: expected asset, vulnerability, package, os, image or team"
                )));
            }
        })
    }
}

impl GroupBy {
    /// The grouping expression and whether it needs the asset.
    fn expr(self) -> (&'static str, bool) {
        match self {
            GroupBy::Asset => ("CAST(f.asset_id AS TEXT)", false),
            GroupBy::Vulnerability => ("f.vulnerability_id", false),
            GroupBy::Package => ("f.package_name", false),
            GroupBy::Os => (
                "COALESCE(a.os_id, '') || ' ' || COALESCE(a.os_release, '')",
                true,
            ),
            GroupBy::Image => ("COALESCE(a.image_id, '')", true),
            GroupBy::Team => ("COALESCE(a.team, '')", true),
        }
    }
}

/// One group with its counts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Aggregate {
    /// The group's key: the asset id, vulnerability id, package name,
    /// `os release`, image id or team ('' when the asset has none).
    pub key: String,
    /// The asset's name when grouping by asset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub total: u64,
    pub critical: u64,
    pub high: u64,
    pub medium: u64,
    pub low: u64,
    pub informational: u64,
    pub untriaged: u64,
    pub fixable: u64,
    pub kev: u64,
    pub max_score: Option<f64>,
    /// Distinct assets in the group.
    pub assets: u64,
    /// The vulnerability's title when grouping by vulnerability (from one
    /// of its findings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The asset's OS (its pretty name, else id and release) when grouping
    /// by asset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    /// The asset's owner when grouping by asset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// What groups are sorted by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GroupSortKey {
    /// Critical, then high, then all findings (the default).
    #[default]
    Severity,
    Total,
    /// The group's key (vulnerability id, package name, asset id...).
    Key,
    MaxScore,
    Assets,
    Fixable,
    Kev,
}

const GROUP_SORTS: &[(&str, GroupSortKey)] = &[
    ("severity", GroupSortKey::Severity),
    ("total", GroupSortKey::Total),
    ("key", GroupSortKey::Key),
    ("score", GroupSortKey::MaxScore),
    ("assets", GroupSortKey::Assets),
    ("fixable", GroupSortKey::Fixable),
    ("kev", GroupSortKey::Kev),
];

/// A group sort and direction: `total`, `-score`, `key:asc`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupSort {
    pub key: GroupSortKey,
    pub descending: bool,
}

impl Default for GroupSort {
    fn default() -> GroupSort {
        GroupSort {
            key: GroupSortKey::Severity,
            descending: true,
        }
    }
}

impl GroupSortKey {
    pub fn as_str(self) -> &'static str {
        GROUP_SORTS
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("severity", |(n, _)| n)
    }

    /// The ORDER BY terms in `dir` (the select list's numbers, see
    /// [`Db::aggregate_findings_sorted`]).
    fn order(self, dir: &str) -> String {
        match self {
            GroupSortKey::Severity => format!("3 {dir}, 4 {dir}, 2 {dir}"),
            GroupSortKey::Total => format!("2 {dir}"),
            GroupSortKey::Key => format!("1 {dir}"),
            // Groups with no score last either way (the backends put NULL
            // at different ends).
            GroupSortKey::MaxScore => format!("(MAX(f.score) IS NULL), 11 {dir}"),
            GroupSortKey::Assets => format!("12 {dir}"),
            GroupSortKey::Fixable => format!("9 {dir}"),
            GroupSortKey::Kev => format!("10 {dir}"),
        }
    }
}

impl std::str::FromStr for GroupSort {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<GroupSort> {
        let (name, descending) = if let Some(n) = s.strip_prefix('-') {
            (n, true)
        } else if let Some((n, dir)) = s.split_once(':') {
            match dir {
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
        let key = GROUP_SORTS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, k)| *k)
            .ok_or_else(|| {
                StoreError::InvalidArgument(format!(
                    "sort {s:?}: groups sort by {}",
                    GROUP_SORTS
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
        Ok(GroupSort { key, descending })
    }
}

impl std::fmt::Display for GroupSort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dir = if self.descending { "desc" } else { "asc" };
        write!(f, "{}:{dir}", self.key.as_str())
    }
}

impl Db {
    /// One page of findings.
    pub fn query_findings(&self, q: &FindingQuery) -> Result<FindingPage> {
        let limit = q.limit.unwrap_or(50);
        if !(1..=1000).contains(&limit) {
            return Err(StoreError::InvalidArgument(format!(
                "limit {limit}: 1 to 1000 rows per page"
            )));
        }
        let cursor = q
            .cursor
            .as_deref()
            .map(|c| decode_cursor(q.sort, c))
            .transpose()?;
        let ks = Keyset::new(self.dialect(), &q.filter, q.sort, SUMMARY_COLUMNS)?;
        let cols = ks.cols.clone();
        let (sql, params) = ks.page(cursor, limit + 1);
        self.tx("query findings", Mode::Read, |tx| {
            let rows = tx.query(&sql, &params)?;
            let more = rows.len() > limit as usize;
            let mut findings = Vec::with_capacity(rows.len().min(limit as usize));
            let mut last = None;
            for r in rows.iter().take(limit as usize) {
                findings.push(summary_of(r)?);
                last = Some(r);
            }
            let next_cursor = match (more, last) {
                (true, Some(r)) => Some(encode_cursor(
                    q.sort,
                    &Keyset::after(r, SUMMARY_WIDTH, cols.len())?,
                )),
                _ => None,
            };
            // Names for the page's assets in one statement.
            let mut ids: Vec<i64> = findings.iter().map(|f| f.asset_id.0).collect();
            ids.sort_unstable();
            ids.dedup();
            if !ids.is_empty() {
                let params: Vec<Val> = ids.iter().map(|i| Val::I64(*i)).collect();
                let names = tx.query(
                    &format!(
                        "SELECT id, name FROM assets WHERE id IN ({})",
                        vec!["?"; ids.len()].join(", ")
                    ),
                    &params,
                )?;
                let mut map = std::collections::HashMap::new();
                for r in &names {
                    map.insert(r.i64(0)?, r.text(1)?);
                }
                for f in &mut findings {
                    if let Some(n) = map.get(&f.asset_id.0) {
                        f.asset_name.clone_from(n);
                    }
                }
            }
            Ok(FindingPage {
                findings,
                next_cursor,
            })
        })
    }

    /// Where each of `ids` was found on its asset: the package's file
    /// (a language package's lock file, manifest or binary; an OS
    /// package's database), from the finding's detail. Findings without
    /// one are left out. For a page of the list, not for exports.
    pub fn package_paths(
        &self,
        ids: &[FindingId],
    ) -> Result<std::collections::HashMap<FindingId, String>> {
        let mut out = std::collections::HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let params: Vec<Val> = ids.iter().map(|i| Val::I64(i.0)).collect();
        self.tx("read package paths", Mode::Read, |tx| {
            for r in tx.query(
                &format!(
                    "SELECT id, detail FROM findings WHERE id IN ({})",
                    vec!["?"; ids.len()].join(", ")
                ),
                &params,
            )? {
                let detail: serde_json::Value = r.decode(1)?;
                if let Some(p) = detail["package"]["path"].as_str().filter(|p| !p.is_empty()) {
                    out.insert(FindingId(r.i64(0)?), p.to_owned());
                }
            }
            Ok(out)
        })
    }

    /// How many findings the filter selects.
    pub fn count_findings(&self, filter: &Filter) -> Result<u64> {
        let (cond, params) = filter.to_sql(self.dialect(), Timestamp::now())?;
        let join = if filter.needs_asset() {
            " JOIN assets a ON a.id = f.asset_id"
        } else {
            ""
        };
        self.tx("count findings", Mode::Read, |tx| {
            let n = tx
                .query_one(
                    &format!("SELECT COUNT(*) FROM findings f{join} WHERE {cond}"),
                    &params,
                )?
                .i64(0)?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    /// The filtered findings grouped, the groups with the most critical
    /// (then high, then all) findings first; `limit` groups from `offset`.
    pub fn aggregate_findings(
        &self,
        filter: &Filter,
        by: GroupBy,
        limit: u32,
        offset: u64,
    ) -> Result<Vec<Aggregate>> {
        self.aggregate_findings_sorted(filter, by, GroupSort::default(), limit, offset)
    }

    /// The filtered findings grouped, in `sort`'s order (ties by key);
    /// `limit` groups from `offset`. Groups by asset carry the asset's
    /// name, OS and owner; groups by vulnerability its title.
    pub fn aggregate_findings_sorted(
        &self,
        filter: &Filter,
        by: GroupBy,
        sort: GroupSort,
        limit: u32,
        offset: u64,
    ) -> Result<Vec<Aggregate>> {
        if !(1..=1000).contains(&limit) {
            return Err(StoreError::InvalidArgument(format!(
                "limit {limit}: 1 to 1000 groups per page"
            )));
        }
        let (cond, params) = filter.to_sql(self.dialect(), Timestamp::now())?;
        let (expr, needs_asset) = by.expr();
        let join = if needs_asset || filter.needs_asset() {
            " JOIN assets a ON a.id = f.asset_id"
        } else {
            ""
        };
        let count = |sev: &str| format!("SUM(CASE WHEN f.severity = '{sev}' THEN 1 ELSE 0 END)");
        let order = sort.key.order(if sort.descending { "DESC" } else { "ASC" });
        let sql = format!(
            "SELECT {expr} AS k, COUNT(*), {}, {}, {}, {}, {}, {}, \
             SUM(CASE WHEN f.fix_available THEN 1 ELSE 0 END), \
             SUM(CASE WHEN f.kev THEN 1 ELSE 0 END), MAX(f.score), COUNT(DISTINCT f.asset_id) \
             FROM findings f{join} WHERE {cond} GROUP BY {expr} \
             ORDER BY {order}, 1 LIMIT {limit} OFFSET {offset}",
            count("CRITICAL"),
            count("HIGH"),
            count("MEDIUM"),
            count("LOW"),
            count("INFORMATIONAL"),
            count("UNTRIAGED"),
        );
        self.tx("aggregate findings", Mode::Read, |tx| {
            let n = |r: &Row, i: usize| r.i64(i).map(|v| u64::try_from(v).unwrap_or(0));
            let mut out = Vec::new();
            for r in tx.query(&sql, &params)? {
                out.push(Aggregate {
                    key: r.text(0)?,
                    name: None,
                    total: n(&r, 1)?,
                    critical: n(&r, 2)?,
                    high: n(&r, 3)?,
                    medium: n(&r, 4)?,
                    low: n(&r, 5)?,
                    informational: n(&r, 6)?,
                    untriaged: n(&r, 7)?,
                    fixable: n(&r, 8)?,
                    kev: n(&r, 9)?,
                    max_score: r.opt_f64(10)?,
                    assets: n(&r, 11)?,
                    title: None,
                    os: None,
                    owner: None,
                });
            }
            if by == GroupBy::Asset && !out.is_empty() {
                let ids: Vec<Val> = out
                    .iter()
                    .filter_map(|a| a.key.parse::<i64>().ok())
                    .map(Val::I64)
                    .collect();
                let names = tx.query(
                    &format!(
                        "SELECT id, name, os_pretty, os_id, os_release, owner FROM assets \
                         WHERE id IN ({})",
                        vec!["?"; ids.len()].join(", ")
                    ),
                    &ids,
                )?;
                for r in names {
                    let (id, name) = (r.i64(0)?.to_string(), r.text(1)?);
                    if let Some(a) = out.iter_mut().find(|a| a.key == id) {
                        a.name = Some(name);
                        a.os = match (r.opt_text(2)?, r.opt_text(3)?, r.opt_text(4)?) {
                            (Some(pretty), _, _) => Some(pretty),
                            (None, Some(id), rel) => Some(
                                format!("{id} {}", rel.unwrap_or_default())
                                    .trim()
                                    .to_owned(),
                            ),
                            _ => None,
                        };
                        a.owner = r.opt_text(5)?;
                    }
                }
            }
            if by == GroupBy::Vulnerability && !out.is_empty() {
                // One finding's detail per vulnerability (the lowest id):
                // the title is the advisory's, the same on every asset.
                let keys: Vec<Val> = out.iter().map(|a| Val::from(a.key.as_str())).collect();
                let rows = tx.query(
                    &format!(
                        "SELECT f.vulnerability_id, f.detail FROM findings f WHERE f.id IN \
                         (SELECT MIN(g.id) FROM findings g WHERE g.vulnerability_id IN ({}) \
                         GROUP BY g.vulnerability_id)",
                        vec!["?"; keys.len()].join(", ")
                    ),
                    &keys,
                )?;
                for r in rows {
                    let id = r.text(0)?;
                    let detail: serde_json::Value = r.decode(1)?;
                    let title = detail
                        .get("title")
                        .and_then(|t| t.as_str())
                        .map(str::to_owned);
                    if let Some(a) = out.iter_mut().find(|a| a.key == id) {
                        a.title = title;
                    }
                }
            }
            Ok(out)
        })
    }
}
