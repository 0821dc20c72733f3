//! The filter language: one line of text that selects findings, used alike
//! by the query API, bulk triage, suppression rules and the command line.
//!
//! ```text
//! severity=CRITICAL,HIGH package^=openssl status!=CLOSED score>=7 kev=true
//! first_observed=2026-01-01..2026-03-31 last_observed<-7d tag=prod team="web ops"
//! ```
//!
//! A filter is terms separated by spaces; every term is `key op value`.
//! Operators: `=` (one of a comma-separated list, or an inclusive range
//! `a..b` on numbers and times), `!=` (none of the list), `^=` (starts with
//! one of the list), `>=`, `<=`, `>` and `<`. Terms on different keys must
//! all hold; on one key, the `=` and `^=` terms are alternatives (as
//! Amazon Inspector's filter criteria: EQUALS and PREFIX conditions on one
//! key are OR-ed, NOT_EQUALS and ranges AND-ed). Values with spaces,
//! commas or quotes are written in double quotes, `\"` and `\\` inside.
//! Times are `YYYY-MM-DD` (a whole day: the start of it as a lower bound,
//! its end as an upper bound), RFC 3339, or relative to now: `-7d`, `-12h`.
//!
//! A parsed [`Filter`] prints back canonically ([`std::fmt::Display`]),
//! which is what suppression rules store.

use std::fmt;

use crate::error::{Result, StoreError};
use crate::sql::{Dialect, Val};
use crate::time::Timestamp;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Text,
    Integer,
    Number,
    Time,
    Flag,
    /// An asset tag: the asset's JSON array holds the value.
    Tag,
    /// A severity band, compared by rank (`severity>=HIGH`), so that the
    /// filter and the "most severe first" sort share one index.
    Severity,
    /// A port range the asset is reachable on (its `exposed_ports`, from
    /// an asset register or a firewall description): `port=22`,
    /// `port=1..1024`, `port>=8000`.
    Port,
    /// A calendar day stored as `YYYY-MM-DD` text (support end, operation
    /// start, OS end of life): compared as text, which orders such days;
    /// `today`, `-30d` and `+90d` count from the query's day.
    Date,
    /// Server software on the asset: its JSON array holds an object of
    /// that `name` (`middleware=nginx,postgresql`).
    Middleware,
}

/// A band's rank, as migration 3 stores it in `severity_rank`.
fn severity_rank(band: &str) -> Option<i64> {
    Some(match band {
        "CRITICAL" => 5,
        "HIGH" => 4,
        "MEDIUM" => 3,
        "LOW" => 2,
        "INFORMATIONAL" => 1,
        "UNTRIAGED" => 0,
        _ => return None,
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Case {
    AsIs,
    Upper,
    Lower,
}

#[derive(Debug, PartialEq, Eq)]
struct KeyDef {
    name: &'static str,
    aliases: &'static [&'static str],
    kind: Kind,
    case: Case,
    /// The column, `f.` a finding's, `a.` its asset's (or an expression
    /// over the asset, for keys made with [`akey`]).
    column: &'static str,
    /// Whether the column is the asset's: the findings query joins the
    /// asset for it, the assets query reads it directly.
    asset: bool,
}

const fn key(
    name: &'static str,
    aliases: &'static [&'static str],
    kind: Kind,
    case: Case,
    column: &'static str,
) -> KeyDef {
    KeyDef {
        name,
        aliases,
        kind,
        case,
        column,
        asset: column.as_bytes()[0] == b'a',
    }
}

/// A key on the asset whose column is an expression over `a`.
const fn akey(
    name: &'static str,
    aliases: &'static [&'static str],
    kind: Kind,
    case: Case,
    column: &'static str,
) -> KeyDef {
    KeyDef {
        name,
        aliases,
        kind,
        case,
        column,
        asset: true,
    }
}

/// `asset_id` as the assets query reads it: the asset's own id.
static ASSET_ID_ON_ASSETS: KeyDef = key("asset_id", &[], Kind::Integer, Case::AsIs, "a.id");

/// Every key a filter may use.
static KEYS: &[KeyDef] = &[
    key(
        "severity",
        &[],
        Kind::Severity,
        Case::Upper,
        "f.severity_rank",
    ),
    // The band of the CVSS v3 base score before the exposure adjustment
    // (the dashboard's second chart), ranked like `severity`.
    key(
        "base_severity",
        &[],
        Kind::Severity,
        Case::Upper,
        "f.base_rank",
    ),
    key("status", &[], Kind::Text, Case::Upper, "f.status"),
    key(
        "vulnerability_id",
        &["vulnerability", "cve"],
        Kind::Text,
        Case::AsIs,
        "f.vulnerability_id",
    ),
    key(
        "package",
        &["package_name"],
        Kind::Text,
        Case::AsIs,
        "f.package_name",
    ),
    key(
        "package_kind",
        &["ecosystem"],
        Kind::Text,
        Case::Lower,
        "f.package_kind",
    ),
    key(
        "package_arch",
        &["arch"],
        Kind::Text,
        Case::AsIs,
        "f.package_arch",
    ),
    key(
        "installed_version",
        &[],
        Kind::Text,
        Case::AsIs,
        "f.installed_version",
    ),
    key(
        "fixed_version",
        &[],
        Kind::Text,
        Case::AsIs,
        "f.fixed_version",
    ),
    key(
        "vendor_status",
        &[],
        Kind::Text,
        Case::Lower,
        "f.vendor_status",
    ),
    key(
        "triage_state",
        &["triage"],
        Kind::Text,
        Case::Lower,
        "f.triage_state",
    ),
    key("assignee", &[], Kind::Text, Case::AsIs, "f.assignee"),
    key(
        "suppressed_by",
        &[],
        Kind::Text,
        Case::AsIs,
        "f.suppressed_by",
    ),
    key("asset_name", &["asset"], Kind::Text, Case::AsIs, "a.name"),
    key("asset_kind", &[], Kind::Text, Case::Lower, "a.kind"),
    key("os", &[], Kind::Text, Case::Lower, "a.os_id"),
    key("os_release", &[], Kind::Text, Case::AsIs, "a.os_release"),
    key("owner", &[], Kind::Text, Case::AsIs, "a.owner"),
    key("team", &[], Kind::Text, Case::AsIs, "a.team"),
    key(
        "environment",
        &["env"],
        Kind::Text,
        Case::AsIs,
        "a.environment",
    ),
    key("tag", &["tags"], Kind::Tag, Case::AsIs, "a.tags"),
    key(
        "port",
        &["ports", "port_range"],
        Kind::Port,
        Case::AsIs,
        "a.exposed_ports",
    ),
    key("hostname", &[], Kind::Text, Case::AsIs, "a.hostname"),
    key("instance_id", &[], Kind::Text, Case::AsIs, "a.instance_id"),
    key("source", &[], Kind::Text, Case::Lower, "a.source"),
    key("support_end", &[], Kind::Date, Case::Lower, "a.support_end"),
    key(
        "operation_start",
        &[],
        Kind::Date,
        Case::Lower,
        "a.operation_start",
    ),
    key("os_eol", &["eol"], Kind::Date, Case::Lower, "a.os_eol"),
    key(
        "last_report",
        &["inventory_at"],
        Kind::Time,
        Case::AsIs,
        "a.inventory_at",
    ),
    akey(
        "internet_exposure",
        &["exposure", "internet"],
        Kind::Text,
        Case::Lower,
        "COALESCE(a.internet_exposure, 'unknown')",
    ),
    akey(
        "agent",
        &[],
        Kind::Flag,
        Case::AsIs,
        "EXISTS (SELECT 1 FROM agents g WHERE g.asset_id = a.id AND g.revoked_at IS NULL)",
    ),
    key(
        "middleware",
        &[],
        Kind::Middleware,
        Case::AsIs,
        "a.middleware",
    ),
    key("asset_id", &[], Kind::Integer, Case::AsIs, "f.asset_id"),
    key("id", &["finding_id"], Kind::Integer, Case::AsIs, "f.id"),
    key("score", &[], Kind::Number, Case::AsIs, "f.score"),
    key("epss", &[], Kind::Number, Case::AsIs, "f.epss"),
    key(
        "first_observed",
        &[],
        Kind::Time,
        Case::AsIs,
        "f.first_observed",
    ),
    key(
        "last_observed",
        &[],
        Kind::Time,
        Case::AsIs,
        "f.last_observed",
    ),
    key(
        "updated",
        &["updated_at"],
        Kind::Time,
        Case::AsIs,
        "f.updated_at",
    ),
    key("due", &["due_at"], Kind::Time, Case::AsIs, "f.due_at"),
    key(
        "closed",
        &["closed_at"],
        Kind::Time,
        Case::AsIs,
        "f.closed_at",
    ),
    key(
        "fix_available",
        &["fixable"],
        Kind::Flag,
        Case::AsIs,
        "f.fix_available",
    ),
    key(
        "kev",
        &["exploit_available"],
        Kind::Flag,
        Case::AsIs,
        "f.kev",
    ),
    // A package whose process listens on a port the internet reaches, or
    // a reachability finding with a listener (migration 10).
    key(
        "reachable",
        &["internet_reachable"],
        Kind::Flag,
        Case::AsIs,
        "f.internet_reachable",
    ),
    // Inspector's finding types: reachability findings are the network kind.
    key(
        "finding_type",
        &["type"],
        Kind::Text,
        Case::Upper,
        "(CASE WHEN f.package_kind = 'network' THEN 'NETWORK_REACHABILITY' \
         ELSE 'PACKAGE_VULNERABILITY' END)",
    ),
];

/// The keys, for help texts and the OpenAPI document.
pub fn keys() -> impl Iterator<Item = &'static str> {
    KEYS.iter().map(|k| k.name)
}

fn lookup(name: &str) -> Option<&'static KeyDef> {
    KEYS.iter()
        .find(|k| k.name == name || k.aliases.contains(&name))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Prefix,
    Ge,
    Le,
    Gt,
    Lt,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Prefix => "^=",
            Op::Ge => ">=",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Lt => "<",
        }
    }
}

/// A value as written (normalised for case-insensitive keys); typed when
/// the SQL is made, so that relative times are relative to the query.
#[derive(Clone, Debug, PartialEq)]
enum Operand {
    List(Vec<String>),
    Range(String, String),
}

#[derive(Clone, Debug, PartialEq)]
struct Term {
    key: &'static KeyDef,
    op: Op,
    operand: Operand,
}

/// A parsed filter. The empty filter selects everything.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    terms: Vec<Term>,
}

fn bad(term: &str, why: impl fmt::Display) -> StoreError {
    StoreError::InvalidArgument(format!("filter term `{term}`: {why}"))
}

impl std::str::FromStr for Filter {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Filter> {
        Filter::parse(s)
    }
}

/// The longest filter accepted, in bytes.
pub const MAX_FILTER_BYTES: usize = 8 << 10;
/// The most terms a filter may have.
pub const MAX_TERMS: usize = 64;
/// The most values (alternatives) a filter may list, over all its terms.
/// Each is a bound parameter and a branch of the SQL condition: without a
/// bound, ~1,000 of them exceed SQLite's expression depth or variable
/// limit, a 500 on every query and, in a suppression rule, a failure of
/// every later evaluation.
pub const MAX_VALUES: usize = 256;

impl Filter {
    pub fn parse(text: &str) -> Result<Filter> {
        if text.len() > MAX_FILTER_BYTES {
            return Err(StoreError::InvalidArgument(format!(
                "filter: {} bytes, at most {MAX_FILTER_BYTES}",
                text.len()
            )));
        }
        let raw_terms = split_terms(text)?;
        if raw_terms.len() > MAX_TERMS {
            return Err(StoreError::InvalidArgument(format!(
                "filter: {} terms, at most {MAX_TERMS}",
                raw_terms.len()
            )));
        }
        let mut terms = Vec::new();
        let mut values = 0;
        for raw in raw_terms {
            let t = parse_term(&raw)?;
            values += match &t.operand {
                Operand::List(v) => v.len(),
                Operand::Range(..) => 1,
            };
            if values > MAX_VALUES {
                return Err(StoreError::InvalidArgument(format!(
                    "filter: more than {MAX_VALUES} values in all (at `{raw}`); \
                     split the work or use a prefix (name:openssl*)"
                )));
            }
            terms.push(t);
        }
        Ok(Filter { terms })
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// This filter and `other` both.
    #[must_use]
    pub fn and(mut self, other: &Filter) -> Filter {
        self.terms.extend(other.terms.iter().cloned());
        self
    }

    /// Whether the SQL needs the asset joined as `a`.
    pub(crate) fn needs_asset(&self) -> bool {
        self.terms.iter().any(|t| t.key.asset)
    }

    /// The condition as SQL on `assets a`, for the assets list: the terms
    /// on the asset apply to it, and those on findings select the assets
    /// that have such a finding (`severity=CRITICAL status=ACTIVE`: the
    /// assets with an open critical finding), all of them on one finding.
    pub(crate) fn to_asset_sql(
        &self,
        dialect: Dialect,
        now: Timestamp,
    ) -> Result<(String, Vec<Val>)> {
        let mut on_asset = Filter::default();
        let mut on_findings = Filter::default();
        for t in &self.terms {
            if t.key.name == "asset_id" {
                on_asset.terms.push(Term {
                    key: &ASSET_ID_ON_ASSETS,
                    ..t.clone()
                });
            } else if t.key.asset {
                on_asset.terms.push(t.clone());
            } else {
                on_findings.terms.push(t.clone());
            }
        }
        let (mut sql, mut params) = on_asset.to_sql(dialect, now)?;
        if !on_findings.is_empty() {
            let (f, mut fp) = on_findings.to_sql(dialect, now)?;
            sql = format!(
                "{sql} AND EXISTS (SELECT 1 FROM findings f WHERE f.asset_id = a.id AND {f})"
            );
            params.append(&mut fp);
        }
        Ok((sql, params))
    }

    /// The condition as SQL on `findings f` (and `assets a` when
    /// [`Filter::needs_asset`]), with its parameters. `now` anchors
    /// relative times.
    pub(crate) fn to_sql(&self, dialect: Dialect, now: Timestamp) -> Result<(String, Vec<Val>)> {
        let mut clauses = Vec::new();
        let mut params = Vec::new();
        // Keys in first-use order; on one key, = and ^= are alternatives.
        let mut seen: Vec<&'static str> = Vec::new();
        for t in &self.terms {
            if !seen.contains(&t.key.name) {
                seen.push(t.key.name);
            }
        }
        for name in seen {
            let mut any = Vec::new();
            for t in self.terms.iter().filter(|t| t.key.name == name) {
                let (sql, mut ps) = term_sql(t, dialect, now)?;
                match t.op {
                    Op::Eq | Op::Prefix if !matches!(t.operand, Operand::Range(..)) => {
                        any.push((sql, ps));
                    }
                    _ => {
                        clauses.push(sql);
                        params.append(&mut ps);
                    }
                }
            }
            if !any.is_empty() {
                let mut parts = Vec::new();
                for (sql, mut ps) in any {
                    parts.push(sql);
                    params.append(&mut ps);
                }
                clauses.push(format!("({})", parts.join(" OR ")));
            }
        }
        if clauses.is_empty() {
            return Ok(("1 = 1".into(), params));
        }
        Ok((clauses.join(" AND "), params))
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.terms.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{}{}", t.key.name, t.op.as_str())?;
            match &t.operand {
                Operand::Range(lo, hi) => write!(f, "{}..{}", quote(lo), quote(hi))?,
                Operand::List(vs) => {
                    for (j, v) in vs.iter().enumerate() {
                        if j > 0 {
                            f.write_str(",")?;
                        }
                        f.write_str(&quote(v))?;
                    }
                }
            }
        }
        Ok(())
    }
}

impl serde::Serialize for Filter {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

fn quote(v: &str) -> String {
    let plain = !v.is_empty()
        && v.chars()
            .all(|c| !c.is_whitespace() && !matches!(c, ',' | '"' | '\\'))
        && !v.contains("..");
    if plain {
        return v.to_owned();
    }
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Splits on whitespace outside double quotes; quotes stay in the term.
fn split_terms(text: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in text.chars() {
        if escaped {
            cur.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => {
                cur.push(c);
                escaped = true;
            }
            '"' => {
                cur.push(c);
                quoted = !quoted;
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if quoted {
        return Err(bad(&cur, "a double quote is not closed"));
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

fn parse_term(raw: &str) -> Result<Term> {
    let at = raw.find(['=', '!', '^', '<', '>']).ok_or_else(|| {
        bad(
            raw,
            "expected key, operator and value, e.g. severity=CRITICAL",
        )
    })?;
    let name = &raw[..at];
    let rest = &raw[at..];
    let (op, value) = [
        ("!=", Op::Ne),
        ("^=", Op::Prefix),
        (">=", Op::Ge),
        ("<=", Op::Le),
        ("=", Op::Eq),
        (">", Op::Gt),
        ("<", Op::Lt),
    ]
    .iter()
    .find_map(|(s, op)| rest.strip_prefix(s).map(|v| (*op, v)))
    .ok_or_else(|| bad(raw, "unknown operator (use =, !=, ^=, >=, <=, > or <)"))?;
    let key = lookup(name).ok_or_else(|| {
        bad(
            raw,
            format!(
                "unknown key {name:?}; known keys: {}",
                keys().collect::<Vec<_>>().join(", ")
            ),
        )
    })?;
    let values = split_values(raw, value)?;
    let ordered = matches!(
        key.kind,
        Kind::Integer | Kind::Number | Kind::Time | Kind::Severity | Kind::Port | Kind::Date
    );
    let operand = match (op, values.as_slice()) {
        (_, []) => return Err(bad(raw, "no value")),
        (Op::Eq, [range]) if ordered && range.contains("..") => {
            let (lo, hi) = range
                .split_once("..")
                .ok_or_else(|| bad(raw, "a range is written a..b"))?;
            Operand::Range(lo.to_owned(), hi.to_owned())
        }
        (Op::Ge | Op::Le | Op::Gt | Op::Lt, [_, _, ..]) => {
            return Err(bad(raw, "a comparison takes one value"));
        }
        _ => Operand::List(values),
    };
    match (key.kind, op) {
        (Kind::Flag, Op::Eq) => {}
        (Kind::Flag, _) => return Err(bad(raw, "a yes/no key takes = only")),
        (Kind::Text | Kind::Tag | Kind::Middleware, Op::Eq | Op::Ne | Op::Prefix) => {}
        (Kind::Text | Kind::Tag | Kind::Middleware, _) => {
            return Err(bad(raw, "a text key takes =, != or ^="));
        }
        (Kind::Integer | Kind::Number | Kind::Time | Kind::Severity | Kind::Date, Op::Prefix) => {
            return Err(bad(raw, "^= is for text keys"));
        }
        (Kind::Port, Op::Prefix | Op::Ne) => {
            return Err(bad(raw, "a port takes =, a range a..b, >=, <=, > or <"));
        }
        _ => {}
    }
    let operand = match operand {
        Operand::List(vs) => Operand::List(vs.into_iter().map(|v| cased(key, v)).collect()),
        Operand::Range(lo, hi) => Operand::Range(cased(key, lo), cased(key, hi)),
    };
    let term = Term { key, op, operand };
    // Type-check now, so that a stored rule never fails later; relative
    // times are re-evaluated at each use.
    term_sql(&term, Dialect::Sqlite, Timestamp::now())?;
    Ok(term)
}

fn cased(key: &KeyDef, v: String) -> String {
    match key.case {
        Case::AsIs => v,
        Case::Upper => v.to_uppercase(),
        Case::Lower => v.to_lowercase(),
    }
}

/// Splits a value on commas outside quotes and removes the quotes.
fn split_values(raw: &str, value: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut was_quoted = false;
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if quoted => match chars.next() {
                Some(n) => cur.push(n),
                None => return Err(bad(raw, "a value ends with a lone backslash")),
            },
            '"' => {
                quoted = !quoted;
                was_quoted = true;
            }
            ',' if !quoted => {
                if cur.is_empty() && !was_quoted {
                    return Err(bad(raw, "an empty value in a list"));
                }
                out.push(std::mem::take(&mut cur));
                was_quoted = false;
            }
            c => cur.push(c),
        }
    }
    if cur.is_empty() && !was_quoted {
        if out.is_empty() {
            return Ok(out);
        }
        return Err(bad(raw, "an empty value in a list"));
    }
    out.push(cur);
    Ok(out)
}

fn flag(raw: &str, v: &str) -> Result<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Ok(true),
        "false" | "no" | "0" => Ok(false),
        _ => Err(bad(raw, format!("{v:?} is not true or false"))),
    }
}

/// A time bound in ms; a date is its day's start (`upper` false) or the
/// last millisecond of it (`upper` true).
fn time(raw: &str, v: &str, upper: bool, now: Timestamp) -> Result<i64> {
    let relative = v.strip_prefix('-').and_then(|d| {
        let (n, unit) = d.split_at(d.len().checked_sub(1)?);
        let n: i64 = n.parse().ok()?;
        let ms = match unit {
            "d" => 86_400_000,
            "h" => 3_600_000,
            "m" => 60_000,
            _ => return None,
        };
        Some(now.unix_ms() - n.saturating_mul(ms))
    });
    if let Some(t) = relative {
        return Ok(t);
    }
    if v.len() == 10 {
        let t = Timestamp::parse_rfc3339(&format!("{v}T00:00:00Z"))
            .map_err(|_| bad(raw, format!("{v:?} is not a date YYYY-MM-DD")))?;
        return Ok(if upper {
            t.unix_ms() + 86_400_000 - 1
        } else {
            t.unix_ms()
        });
    }
    Timestamp::parse_rfc3339(v)
        .map(Timestamp::unix_ms)
        .map_err(|_| {
            bad(
                raw,
                format!("{v:?} is not a time (YYYY-MM-DD, RFC 3339, or -7d / -12h / -30m)"),
            )
        })
}

/// A day as `YYYY-MM-DD`: written so, `today`, or `-30d` / `+90d` from
/// the query's day (UTC).
fn date(raw: &str, v: &str, now: Timestamp) -> Result<String> {
    let days = match v {
        "today" => Some(0),
        _ => v
            .strip_suffix('d')
            .filter(|n| n.starts_with(['-', '+']))
            .and_then(|n| n.parse::<i64>().ok())
            .filter(|n| n.abs() <= 365_000),
    };
    if let Some(days) = days {
        let t = Timestamp::from_unix_ms(now.unix_ms().saturating_add(days * 86_400_000));
        return Ok(t.to_rfc3339().get(..10).unwrap_or_default().to_owned());
    }
    if crate::register::valid_date(v) {
        return Ok(v.to_owned());
    }
    Err(bad(
        raw,
        format!("{v:?} is not a date (YYYY-MM-DD, today, -30d or +90d)"),
    ))
}

/// A typed bound for an ordered key.
fn bound(t: &Term, v: &str, upper: bool, now: Timestamp) -> Result<Val> {
    let raw = format!("{}{}", t.key.name, t.op.as_str());
    match t.key.kind {
        Kind::Integer => v
            .parse::<i64>()
            .map(Val::I64)
            .map_err(|_| bad(&raw, format!("{v:?} is not an integer"))),
        Kind::Number => v
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(Val::F64)
            .ok_or_else(|| bad(&raw, format!("{v:?} is not a number"))),
        Kind::Time => time(&raw, v, upper, now).map(Val::I64),
        Kind::Date => date(&raw, v, now).map(Val::Text),
        Kind::Severity => severity_rank(v).map(Val::I64).ok_or_else(|| {
            bad(
                &raw,
                format!(
                    "{v:?} is not a severity (CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL, \
                     UNTRIAGED)"
                ),
            )
        }),
        _ => Ok(Val::Text(v.to_owned())),
    }
}

/// The smallest string above every string starting with `prefix`, in
/// UTF-8 byte order (SQLite's BINARY collation); `None` when there is none.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut next = u32::from(last) + 1;
        if (0xD800..0xE000).contains(&next) {
            next = 0xE000;
        }
        if let Some(c) = char::from_u32(next) {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

fn term_sql(t: &Term, dialect: Dialect, now: Timestamp) -> Result<(String, Vec<Val>)> {
    let col = t.key.column;
    let raw = || format!("{}{}", t.key.name, t.op.as_str());
    let ordered = matches!(
        t.key.kind,
        Kind::Integer | Kind::Number | Kind::Time | Kind::Severity | Kind::Date
    );
    let values: Vec<Val> = match &t.operand {
        Operand::Range(lo, hi) if t.key.kind == Kind::Port => {
            return port_range_sql(&port(&raw(), lo)?, &port(&raw(), hi)?, dialect);
        }
        Operand::Range(lo, hi) => {
            let lo = bound(t, lo, false, now)?;
            let hi = bound(t, hi, true, now)?;
            return Ok((format!("{col} BETWEEN ? AND ?"), vec![lo, hi]));
        }
        Operand::List(vs) => {
            match t.key.kind {
                Kind::Flag => return flag_sql(t, vs, dialect),
                Kind::Port => return port_sql(t, vs, dialect),
                _ => {}
            }
            let mut out = Vec::with_capacity(vs.len());
            for v in vs {
                out.push(match t.key.kind {
                    Kind::Flag | Kind::Port => continue,
                    // `=` on a day means the whole day.
                    Kind::Time if t.op == Op::Eq => {
                        return day_terms(t, vs, now);
                    }
                    Kind::Integer | Kind::Number | Kind::Time | Kind::Severity | Kind::Date => {
                        bound(t, v, matches!(t.op, Op::Le | Op::Gt), now)?
                    }
                    Kind::Text | Kind::Tag | Kind::Middleware => Val::Text(v.clone()),
                });
            }
            out
        }
    };
    if ordered && matches!(t.op, Op::Ge | Op::Le | Op::Gt | Op::Lt) {
        let cmp = t.op.as_str();
        return Ok((format!("{col} {cmp} ?"), values));
    }
    if matches!(t.key.kind, Kind::Tag | Kind::Middleware) {
        let (each, elem) = match (dialect, t.key.kind) {
            (Dialect::Sqlite, Kind::Tag) => ("json_each(a.tags) t", "t.value"),
            (Dialect::Postgres, Kind::Tag) => ("jsonb_array_elements_text(a.tags) t(v)", "t.v"),
            (Dialect::Sqlite, _) => (
                "json_each(a.middleware) t",
                "json_extract(t.value, '$.name')",
            ),
            (Dialect::Postgres, _) => ("jsonb_array_elements(a.middleware) t(v)", "t.v->>'name'"),
        };
        return Ok(match t.op {
            Op::Eq => (
                format!(
                    "EXISTS (SELECT 1 FROM {each} WHERE {elem} IN ({}))",
                    placeholders(values.len())
                ),
                values,
            ),
            Op::Ne => (
                format!(
                    "NOT EXISTS (SELECT 1 FROM {each} WHERE {elem} IN ({}))",
                    placeholders(values.len())
                ),
                values,
            ),
            _ => {
                let (cond, params) = prefix_sql(elem, &values, dialect);
                (
                    format!("EXISTS (SELECT 1 FROM {each} WHERE {cond})"),
                    params,
                )
            }
        });
    }
    Ok(match t.op {
        Op::Eq => (format!("{col} IN ({})", placeholders(values.len())), values),
        // As Inspector's NOT_EQUALS: a finding without the value (NULL)
        // is not equal to it.
        Op::Ne => (
            format!(
                "({col} IS NULL OR {col} NOT IN ({}))",
                placeholders(values.len())
            ),
            values,
        ),
        _ => prefix_sql(col, &values, dialect),
    })
}

/// `col` starts with one of `values`: an index range on SQLite (binary
/// collation), `starts_with` on PostgreSQL (whose collation may not order
/// by bytes).
fn prefix_sql(col: &str, values: &[Val], dialect: Dialect) -> (String, Vec<Val>) {
    let mut parts = Vec::new();
    let mut params = Vec::new();
    for v in values {
        let Val::Text(p) = v else { continue };
        if p.is_empty() {
            parts.push(format!("{col} IS NOT NULL"));
            continue;
        }
        match dialect {
            Dialect::Postgres => {
                parts.push(format!("starts_with({col}, ?)"));
                params.push(v.clone());
            }
            Dialect::Sqlite => match prefix_end(p) {
                Some(end) => {
                    parts.push(format!("({col} >= ? AND {col} < ?)"));
                    params.push(v.clone());
                    params.push(Val::Text(end));
                }
                None => {
                    parts.push(format!("{col} >= ?"));
                    params.push(v.clone());
                }
            },
        }
    }
    (format!("({})", parts.join(" OR ")), params)
}

fn port(raw: &str, v: &str) -> Result<i64> {
    v.parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .map(i64::from)
        .ok_or_else(|| bad(raw, format!("{v:?} is not a port (1 to 65535)")))
}

/// The asset is reachable on a port in `lo..=hi`: one of its exposed
/// ranges overlaps it, or a rule opens every port.
fn port_range_sql(lo: &i64, hi: &i64, dialect: Dialect) -> Result<(String, Vec<Val>)> {
    let sql = match dialect {
        Dialect::Sqlite => {
            "EXISTS (SELECT 1 FROM json_each(a.exposed_ports) p WHERE \
             json_extract(p.value, '$.protocol') = 'all' OR \
             (json_extract(p.value, '$.port') <= ? AND \
             COALESCE(json_extract(p.value, '$.to_port'), json_extract(p.value, '$.port')) >= ?))"
        }
        Dialect::Postgres => {
            "EXISTS (SELECT 1 FROM jsonb_array_elements(a.exposed_ports) p(v) WHERE \
             v->>'protocol' = 'all' OR ((v->>'port')::int <= ? AND \
             COALESCE((v->>'to_port')::int, (v->>'port')::int) >= ?))"
        }
    };
    Ok((sql.to_owned(), vec![Val::I64(*hi), Val::I64(*lo)]))
}

fn port_sql(t: &Term, vs: &[String], dialect: Dialect) -> Result<(String, Vec<Val>)> {
    let raw = format!("{}{}", t.key.name, t.op.as_str());
    let mut parts = Vec::new();
    let mut params = Vec::new();
    for v in vs {
        let p = port(&raw, v)?;
        let (lo, hi) = match t.op {
            Op::Ge => (p, 65535),
            Op::Gt => (p + 1, 65535),
            Op::Le => (1, p),
            Op::Lt => (1, p - 1),
            _ => (p, p),
        };
        let (sql, mut ps) = port_range_sql(&lo, &hi, dialect)?;
        parts.push(sql);
        params.append(&mut ps);
    }
    Ok((format!("({})", parts.join(" OR ")), params))
}

/// A yes/no term as a literal, not a parameter: the planner can then use
/// the partial indexes on `kev` (a partial index applies only when the
/// query states its condition itself).
fn flag_sql(t: &Term, vs: &[String], dialect: Dialect) -> Result<(String, Vec<Val>)> {
    let raw = format!("{}{}", t.key.name, t.op.as_str());
    let mut want = Vec::new();
    for v in vs {
        let b = flag(&raw, v)?;
        if !want.contains(&b) {
            want.push(b);
        }
    }
    let col = t.key.column;
    let sql = match (want.as_slice(), dialect) {
        ([true], Dialect::Sqlite) => format!("{col} = 1"),
        ([false], Dialect::Sqlite) => format!("{col} = 0"),
        ([true], Dialect::Postgres) => col.to_owned(),
        ([false], Dialect::Postgres) => format!("NOT {col}"),
        _ => "1 = 1".to_owned(),
    };
    Ok((sql, Vec::new()))
}

fn day_terms(t: &Term, vs: &[String], now: Timestamp) -> Result<(String, Vec<Val>)> {
    let raw = format!("{}{}", t.key.name, t.op.as_str());
    let col = t.key.column;
    let mut parts = Vec::new();
    let mut params = Vec::new();
    for v in vs {
        parts.push(format!("{col} BETWEEN ? AND ?"));
        params.push(Val::I64(time(&raw, v, false, now)?));
        params.push(Val::I64(time(&raw, v, true, now)?));
    }
    Ok((format!("({})", parts.join(" OR ")), params))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(f: &str) -> (String, Vec<Val>) {
        Filter::parse(f)
            .expect("parses")
            .to_sql(Dialect::Sqlite, Timestamp::from_unix_ms(1_000_000_000_000))
            .expect("sql")
    }

    #[test]
    fn terms_on_one_key_are_alternatives_and_keys_all_hold() {
        let (s, p) = sql("severity=critical,high package^=openssl severity=low");
        assert_eq!(
            s,
            "(f.severity_rank IN (?, ?) OR f.severity_rank IN (?)) AND \
             (((f.package_name >= ? AND f.package_name < ?)))"
        );
        assert_eq!(
            p,
            vec![
                Val::I64(5),
                Val::I64(4),
                Val::I64(2),
                Val::from("openssl"),
                Val::from("openssm"),
            ]
        );
    }

    #[test]
    fn ranges_comparisons_flags_and_not_equals() {
        let (s, p) = sql("score=7..9.5 epss>0.1 kev=yes status!=CLOSED,suppressed");
        assert_eq!(
            s,
            "f.score BETWEEN ? AND ? AND f.epss > ? AND (f.kev = 1) AND \
             (f.status IS NULL OR f.status NOT IN (?, ?))"
        );
        assert_eq!(p[0], Val::F64(7.0));
        assert_eq!(p[1], Val::F64(9.5));
        assert_eq!(p[4], Val::from("SUPPRESSED"));
        let (s, p) = sql("kev=no,false fix_available=true,false");
        assert_eq!(s, "(f.kev = 0) AND (1 = 1)");
        assert!(p.is_empty());
    }

    #[test]
    fn severities_compare_by_rank() {
        let (s, p) = sql("severity>=high severity!=untriaged");
        assert_eq!(
            s,
            "f.severity_rank >= ? AND (f.severity_rank IS NULL OR f.severity_rank NOT IN (?))"
        );
        assert_eq!(p, vec![Val::I64(4), Val::I64(0)]);
        let (s, p) = sql("severity=low..HIGH");
        assert_eq!(s, "f.severity_rank BETWEEN ? AND ?");
        assert_eq!(p, vec![Val::I64(2), Val::I64(4)]);
    }

    #[test]
    fn ports_overlap_exposed_ranges() {
        let (s, p) = sql("port=22,443 port=8000..8100");
        assert!(
            s.starts_with("EXISTS (SELECT 1 FROM json_each(a.exposed_ports) p WHERE"),
            "{s}"
        );
        assert_eq!(
            p,
            vec![
                Val::I64(8100),
                Val::I64(8000),
                Val::I64(22),
                Val::I64(22),
                Val::I64(443),
                Val::I64(443)
            ]
        );
        let (_, p) = sql("port>=1024");
        assert_eq!(p, vec![Val::I64(65535), Val::I64(1024)]);
        assert!(Filter::parse("port=0").is_err());
        assert!(Filter::parse("port!=22").is_err());
        assert!(Filter::parse("port>=1").expect("p").needs_asset());
    }

    #[test]
    fn days_are_whole_and_relative_times_count_back_from_now() {
        let (s, p) = sql("first_observed=2026-01-02 last_observed<-1d");
        assert_eq!(
            s,
            "((f.first_observed BETWEEN ? AND ?)) AND f.last_observed < ?"
        );
        assert_eq!(
            p,
            vec![
                Val::I64(1_767_312_000_000),
                Val::I64(1_767_398_399_999),
                Val::I64(1_000_000_000_000 - 86_400_000),
            ]
        );
        let (_, p) = sql("due<=2026-01-02");
        assert_eq!(p, vec![Val::I64(1_767_398_399_999)]);
    }

    #[test]
    fn quoted_values_and_canonical_printing_round_trip() {
        let text = r#"team="web ops" tag=prod,"a,b" asset_name^="db \"x\"" sev"#;
        assert!(Filter::parse(text).is_err(), "a bare word is refused");
        let f = Filter::parse(r#"team="web ops"  tag=prod,"a,b" asset^="db \"x\"" cve=CVE-1"#)
            .expect("parses");
        let printed = f.to_string();
        assert_eq!(
            printed,
            r#"team="web ops" tag=prod,"a,b" asset_name^="db \"x\"" vulnerability_id=CVE-1"#
        );
        assert_eq!(Filter::parse(&printed).expect("reparses"), f);
    }

    #[test]
    fn errors_name_the_term() {
        for (f, want) in [
            ("colour=red", "unknown key \"colour\""),
            ("score^=7", "^= is for text keys"),
            ("score>=high", "\"high\" is not a number"),
            ("kev=maybe", "not true or false"),
            ("first_observed>=yesterday", "is not a time"),
            ("package>openssl", "a text key takes"),
            ("team=\"web", "not closed"),
            ("severity=", "no value"),
            ("severity=a,,b", "empty value"),
            ("severity=SEVERE", "not a severity"),
            ("severity^=CRIT", "^= is for text keys"),
        ] {
            let e = Filter::parse(f).expect_err(f).to_string();
            assert!(e.contains(want), "{f}: {e}");
            assert!(e.contains("filter term"), "{f}: {e}");
        }
    }

    #[test]
    fn asset_dates_compare_as_days_and_count_from_today() {
        // 2001-09-09T01:46:40Z
        let now = Timestamp::from_unix_ms(1_000_000_000_000);
        let f =
            Filter::parse("support_end<=+90d os_eol<today operation_start=2020-01-01..2020-12-31")
                .expect("parses");
        let (s, p) = f.to_sql(Dialect::Sqlite, now).expect("sql");
        assert_eq!(
            s,
            "a.support_end <= ? AND a.os_eol < ? AND a.operation_start BETWEEN ? AND ?"
        );
        assert_eq!(
            p,
            vec![
                Val::from("2001-12-08"),
                Val::from("2001-09-09"),
                Val::from("2020-01-01"),
                Val::from("2020-12-31"),
            ]
        );
        assert!(f.needs_asset());
        for (bad, want) in [
            ("support_end<=soon", "is not a date"),
            ("support_end=2026-02-30", "is not a date"),
            ("os_eol^=2026", "^= is for text keys"),
            ("support_end>=+9999999d", "is not a date"),
        ] {
            let e = Filter::parse(bad).expect_err(bad).to_string();
            assert!(e.contains(want), "{bad}: {e}");
        }
    }

    #[test]
    fn asset_lists_take_asset_keys_directly_and_finding_keys_through_a_finding() {
        let now = Timestamp::from_unix_ms(0);
        let f = Filter::parse("severity=CRITICAL team=web status=ACTIVE asset_id=3 agent=false")
            .expect("parses");
        let (s, p) = f.to_asset_sql(Dialect::Sqlite, now).expect("sql");
        assert_eq!(
            s,
            "(a.team IN (?)) AND (a.id IN (?)) AND (EXISTS (SELECT 1 FROM agents g WHERE \
             g.asset_id = a.id AND g.revoked_at IS NULL) = 0) AND EXISTS (SELECT 1 FROM findings f \
             WHERE f.asset_id = a.id AND (f.severity_rank IN (?)) AND (f.status IN (?)))"
        );
        assert_eq!(
            p,
            vec![
                Val::from("web"),
                Val::I64(3),
                Val::I64(5),
                Val::from("ACTIVE")
            ]
        );
        let (s, _) = Filter::parse("exposure=UNKNOWN middleware=nginx")
            .expect("parses")
            .to_asset_sql(Dialect::Postgres, now)
            .expect("sql");
        assert_eq!(
            s,
            "(COALESCE(a.internet_exposure, 'unknown') IN (?)) AND (EXISTS (SELECT 1 FROM \
             jsonb_array_elements(a.middleware) t(v) WHERE t.v->>'name' IN (?)))"
        );
        let (s, p) = Filter::default()
            .to_asset_sql(Dialect::Sqlite, now)
            .expect("sql");
        assert_eq!((s.as_str(), p.len()), ("1 = 1", 0));
    }

    #[test]
    fn prefix_bounds_follow_utf8_byte_order() {
        assert_eq!(prefix_end("ab").as_deref(), Some("ac"));
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(prefix_end("\u{10FFFF}"), None);
    }

    #[test]
    fn tags_and_postgres_prefixes() {
        let f = Filter::parse("tag=prod,pci tag!=legacy package^=lib").expect("parses");
        let (s, p) = f
            .to_sql(Dialect::Postgres, Timestamp::from_unix_ms(0))
            .expect("sql");
        // Parameters in the order of their placeholders.
        assert_eq!(
            p,
            vec![
                Val::from("legacy"),
                Val::from("prod"),
                Val::from("pci"),
                Val::from("lib")
            ]
        );
        assert_eq!(
            s,
            "NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text(a.tags) t(v) WHERE t.v IN (?)) \
             AND (EXISTS (SELECT 1 FROM jsonb_array_elements_text(a.tags) t(v) WHERE t.v IN (?, ?))) \
             AND ((starts_with(f.package_name, ?)))"
        );
        assert!(f.needs_asset());
        assert!(!Filter::parse("severity=LOW").expect("p").needs_asset());
    }
}
