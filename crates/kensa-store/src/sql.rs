//! The little SQL layer both backends share: statements are written once
//! with `?` placeholders and the `NOW_MS` token, values travel as [`Val`],
//! rows come back as [`Row`]. Dialect differences that are more than
//! spelling (`FOR UPDATE SKIP LOCKED`, JSONB, identity columns) stay in the
//! migrations and in the few places that branch on [`Dialect`].

use std::borrow::Cow;
use std::error::Error as StdError;

use bytes::BytesMut;
use postgres::types::{IsNull, ToSql as PgToSql, Type, to_sql_checked};
use rusqlite::types::{ToSqlOutput, Value as SqliteValue, ValueRef};

use crate::error::{DbError, Result, StoreError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The database's clock in Unix milliseconds. The queue compares leases
    /// with this clock, not the callers': server processes on several
    /// machines then agree on when a lease has run out.
    fn now_ms(self) -> &'static str {
        match self {
            // 'now' is fixed for the duration of one statement.
            Dialect::Sqlite => "CAST(unixepoch('subsec') * 1000 AS INTEGER)",
            // now() is the transaction's start: one value for every
            // statement of a claim.
            Dialect::Postgres => "CAST(EXTRACT(EPOCH FROM now()) * 1000 AS BIGINT)",
        }
    }

    /// The statement as this backend spells it.
    pub(crate) fn rewrite(self, sql: &str) -> Cow<'_, str> {
        let sql: Cow<'_, str> = if sql.contains("NOW_MS") {
            Cow::Owned(sql.replace("NOW_MS", self.now_ms()))
        } else {
            Cow::Borrowed(sql)
        };
        match self {
            Dialect::Sqlite => sql,
            Dialect::Postgres if !sql.contains('?') => sql,
            // Kensa's statements never hold `?` in a literal, nor use
            // PostgreSQL's jsonb `?` operators, so every `?` is a parameter.
            Dialect::Postgres => {
                let mut out = String::with_capacity(sql.len() + 16);
                let mut n = 0;
                for c in sql.chars() {
                    if c == '?' {
                        n += 1;
                        out.push('$');
                        out.push_str(&n.to_string());
                    } else {
                        out.push(c);
                    }
                }
                Cow::Owned(out)
            }
        }
    }
}

/// A parameter or a column value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Val {
    Null,
    I64(i64),
    F64(f64),
    Text(String),
    Bytes(Vec<u8>),
    /// `BOOLEAN` on PostgreSQL, 0/1 on SQLite.
    Bool(bool),
    /// `JSONB` on PostgreSQL, text on SQLite.
    Json(serde_json::Value),
}

impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::I64(v)
    }
}
impl From<u32> for Val {
    fn from(v: u32) -> Val {
        Val::I64(i64::from(v))
    }
}
impl From<f64> for Val {
    fn from(v: f64) -> Val {
        Val::F64(v)
    }
}
impl From<bool> for Val {
    fn from(v: bool) -> Val {
        Val::Bool(v)
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Val {
        Val::Text(v.to_owned())
    }
}
impl From<String> for Val {
    fn from(v: String) -> Val {
        Val::Text(v)
    }
}
impl From<&String> for Val {
    fn from(v: &String) -> Val {
        Val::Text(v.clone())
    }
}
impl From<Vec<u8>> for Val {
    fn from(v: Vec<u8>) -> Val {
        Val::Bytes(v)
    }
}
impl From<serde_json::Value> for Val {
    fn from(v: serde_json::Value) -> Val {
        Val::Json(v)
    }
}
impl<T: Into<Val>> From<Option<T>> for Val {
    fn from(v: Option<T>) -> Val {
        v.map_or(Val::Null, Into::into)
    }
}

/// `p![a, b]`: a parameter list.
macro_rules! p {
    ($($v:expr),* $(,)?) => { &[$($crate::sql::Val::from($v)),*][..] };
}
pub(crate) use p;

/// One result row, read by position.
#[derive(Debug)]
pub(crate) struct Row(Vec<Val>);

impl Row {
    pub(crate) fn val(&self, i: usize) -> Result<&Val> {
        self.get(i)
    }

    fn get(&self, i: usize) -> Result<&Val> {
        self.0
            .get(i)
            .ok_or_else(|| StoreError::Corrupt(format!("row has no column {i}")))
    }

    fn mismatch(&self, i: usize, want: &str) -> StoreError {
        StoreError::Corrupt(format!(
            "column {i}: expected {want}, found {:?}",
            self.0.get(i)
        ))
    }

    pub(crate) fn opt_i64(&self, i: usize) -> Result<Option<i64>> {
        match self.get(i)? {
            Val::Null => Ok(None),
            Val::I64(v) => Ok(Some(*v)),
            _ => Err(self.mismatch(i, "an integer")),
        }
    }

    pub(crate) fn i64(&self, i: usize) -> Result<i64> {
        self.opt_i64(i)?
            .ok_or_else(|| self.mismatch(i, "an integer"))
    }

    pub(crate) fn u32(&self, i: usize) -> Result<u32> {
        u32::try_from(self.i64(i)?).map_err(|_| self.mismatch(i, "a small count"))
    }

    pub(crate) fn opt_f64(&self, i: usize) -> Result<Option<f64>> {
        match self.get(i)? {
            Val::Null => Ok(None),
            Val::F64(v) => Ok(Some(*v)),
            // SQLite stores a REAL that happens to be whole as an integer.
            #[allow(clippy::cast_precision_loss)]
            Val::I64(v) => Ok(Some(*v as f64)),
            _ => Err(self.mismatch(i, "a number")),
        }
    }

    pub(crate) fn bool(&self, i: usize) -> Result<bool> {
        match self.get(i)? {
            Val::Bool(b) => Ok(*b),
            Val::I64(v) => Ok(*v != 0),
            _ => Err(self.mismatch(i, "a boolean")),
        }
    }

    pub(crate) fn opt_text(&self, i: usize) -> Result<Option<String>> {
        match self.get(i)? {
            Val::Null => Ok(None),
            Val::Text(s) => Ok(Some(s.clone())),
            _ => Err(self.mismatch(i, "text")),
        }
    }

    pub(crate) fn text(&self, i: usize) -> Result<String> {
        self.opt_text(i)?.ok_or_else(|| self.mismatch(i, "text"))
    }

    pub(crate) fn bytes(&self, i: usize) -> Result<&[u8]> {
        match self.get(i)? {
            Val::Bytes(b) => Ok(b),
            _ => Err(self.mismatch(i, "bytes")),
        }
    }

    pub(crate) fn opt_json(&self, i: usize) -> Result<Option<serde_json::Value>> {
        match self.get(i)? {
            Val::Null => Ok(None),
            Val::Json(v) => Ok(Some(v.clone())),
            Val::Text(s) => serde_json::from_str(s)
                .map(Some)
                .map_err(|e| StoreError::Corrupt(format!("column {i}: invalid JSON: {e}"))),
            _ => Err(self.mismatch(i, "JSON")),
        }
    }

    pub(crate) fn json(&self, i: usize) -> Result<serde_json::Value> {
        self.opt_json(i)?.ok_or_else(|| self.mismatch(i, "JSON"))
    }

    /// A JSON column decoded into `T`.
    pub(crate) fn decode<T: serde::de::DeserializeOwned>(&self, i: usize) -> Result<T> {
        serde_json::from_value(self.json(i)?)
            .map_err(|e| StoreError::Corrupt(format!("column {i}: {e}")))
    }
}

/// What the store's operations run their statements through: one open
/// transaction on either backend.
pub(crate) trait Sql {
    fn dialect(&self) -> Dialect;
    /// Runs a statement; the number of rows it changed.
    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64>;
    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>>;
    /// Several statements without parameters (migrations).
    fn batch(&mut self, sql: &str) -> Result<()>;

    fn query_opt(&mut self, sql: &str, params: &[Val]) -> Result<Option<Row>> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    fn query_one(&mut self, sql: &str, params: &[Val]) -> Result<Row> {
        self.query_opt(sql, params)?
            .ok_or_else(|| StoreError::Corrupt(format!("no row from {}", excerpt(sql))))
    }
}

/// The first words of a statement, for error messages.
pub(crate) fn excerpt(sql: &str) -> String {
    let words: Vec<&str> = sql.split_whitespace().take(8).collect();
    words.join(" ")
}

fn db_err(op: &str, sql: &str, e: impl Into<DbError>) -> StoreError {
    StoreError::Database {
        op: op.to_owned(),
        statement: excerpt(sql),
        source: e.into(),
    }
}

// ---------------------------------------------------------------- SQLite

impl rusqlite::ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Val::Null => ToSqlOutput::Owned(SqliteValue::Null),
            Val::I64(v) => ToSqlOutput::Owned(SqliteValue::Integer(*v)),
            Val::F64(v) => ToSqlOutput::Owned(SqliteValue::Real(*v)),
            Val::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Val::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            Val::Bool(b) => ToSqlOutput::Owned(SqliteValue::Integer(i64::from(*b))),
            Val::Json(v) => ToSqlOutput::Owned(SqliteValue::Text(v.to_string())),
        })
    }
}

pub(crate) struct SqliteSql<'a> {
    pub(crate) conn: &'a rusqlite::Connection,
    pub(crate) op: &'a str,
}

impl Sql for SqliteSql<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64> {
        let text = Dialect::Sqlite.rewrite(sql);
        let mut stmt = self
            .conn
            .prepare_cached(&text)
            .map_err(|e| db_err(self.op, sql, e))?;
        let n = stmt
            .execute(rusqlite::params_from_iter(params))
            .map_err(|e| db_err(self.op, sql, e))?;
        Ok(n as u64)
    }

    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>> {
        let text = Dialect::Sqlite.rewrite(sql);
        let mut stmt = self
            .conn
            .prepare_cached(&text)
            .map_err(|e| db_err(self.op, sql, e))?;
        let columns = stmt.column_count();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(params))
            .map_err(|e| db_err(self.op, sql, e))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(|e| db_err(self.op, sql, e))? {
            let mut vals = Vec::with_capacity(columns);
            for i in 0..columns {
                let v = r.get_ref(i).map_err(|e| db_err(self.op, sql, e))?;
                vals.push(match v {
                    ValueRef::Null => Val::Null,
                    ValueRef::Integer(n) => Val::I64(n),
                    ValueRef::Real(f) => Val::F64(f),
                    // Valid UTF-8 (always, for what Kensa writes) takes
                    // the fast validation; lossy decoding is the fallback.
                    ValueRef::Text(t) => Val::Text(match std::str::from_utf8(t) {
                        Ok(s) => s.to_owned(),
                        Err(_) => String::from_utf8_lossy(t).into_owned(),
                    }),
                    ValueRef::Blob(b) => Val::Bytes(b.to_vec()),
                });
            }
            out.push(Row(vals));
        }
        Ok(out)
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        self.conn
            .execute_batch(sql)
            .map_err(|e| db_err(self.op, sql, e))
    }
}

// ---------------------------------------------------------------- PostgreSQL

impl PgToSql for Val {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match self {
            Val::Null => Ok(IsNull::Yes),
            // The parameter's type is whatever PostgreSQL inferred from the
            // statement; narrow integers and floats to fit it.
            Val::I64(v) => match *ty {
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                _ => v.to_sql(ty, out),
            },
            #[allow(clippy::cast_possible_truncation)]
            Val::F64(v) if *ty == Type::FLOAT4 => (*v as f32).to_sql(ty, out),
            Val::F64(v) => v.to_sql(ty, out),
            Val::Text(s) if *ty == Type::JSONB || *ty == Type::JSON => {
                serde_json::from_str::<serde_json::Value>(s)?.to_sql(ty, out)
            }
            Val::Text(s) => s.to_sql(ty, out),
            Val::Bytes(b) => b.to_sql(ty, out),
            Val::Bool(b) => b.to_sql(ty, out),
            Val::Json(v) => v.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

pub(crate) struct PgSql<'a, 'b> {
    pub(crate) tx: &'a mut postgres::Transaction<'b>,
    pub(crate) op: &'a str,
}

fn pg_value(row: &postgres::Row, i: usize) -> Result<Val, postgres::Error> {
    let ty = row.columns()[i].type_().clone();
    Ok(match ty {
        Type::INT8 => row
            .try_get::<_, Option<i64>>(i)?
            .map_or(Val::Null, Val::I64),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(i)?
            .map_or(Val::Null, |v| Val::I64(i64::from(v))),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(i)?
            .map_or(Val::Null, |v| Val::I64(i64::from(v))),
        Type::FLOAT8 => row
            .try_get::<_, Option<f64>>(i)?
            .map_or(Val::Null, Val::F64),
        Type::FLOAT4 => row
            .try_get::<_, Option<f32>>(i)?
            .map_or(Val::Null, |v| Val::F64(f64::from(v))),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(i)?
            .map_or(Val::Null, Val::Bool),
        Type::BYTEA => row
            .try_get::<_, Option<Vec<u8>>>(i)?
            .map_or(Val::Null, Val::Bytes),
        Type::JSON | Type::JSONB => row
            .try_get::<_, Option<serde_json::Value>>(i)?
            .map_or(Val::Null, Val::Json),
        _ => row
            .try_get::<_, Option<String>>(i)?
            .map_or(Val::Null, Val::Text),
    })
}

impl Sql for PgSql<'_, '_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64> {
        let text = Dialect::Postgres.rewrite(sql);
        let refs: Vec<&(dyn PgToSql + Sync)> =
            params.iter().map(|v| v as &(dyn PgToSql + Sync)).collect();
        self.tx
            .execute(text.as_ref(), &refs)
            .map_err(|e| db_err(self.op, sql, e))
    }

    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>> {
        let text = Dialect::Postgres.rewrite(sql);
        let refs: Vec<&(dyn PgToSql + Sync)> =
            params.iter().map(|v| v as &(dyn PgToSql + Sync)).collect();
        let rows = self
            .tx
            .query(text.as_ref(), &refs)
            .map_err(|e| db_err(self.op, sql, e))?;
        rows.iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| pg_value(r, i))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Row)
                    .map_err(|e| db_err(self.op, sql, e))
            })
            .collect()
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        self.tx
            .batch_execute(sql)
            .map_err(|e| db_err(self.op, sql, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_placeholders_are_numbered_and_now_is_spelled_per_backend() {
        let sql = "UPDATE t SET a = ?, b = NOW_MS + ? WHERE id = ?";
        assert_eq!(
            Dialect::Postgres.rewrite(sql),
            "UPDATE t SET a = $1, b = CAST(EXTRACT(EPOCH FROM now()) * 1000 AS BIGINT) + $2 WHERE id = $3"
        );
        assert_eq!(
            Dialect::Sqlite.rewrite(sql),
            "UPDATE t SET a = ?, b = CAST(unixepoch('subsec') * 1000 AS INTEGER) + ? WHERE id = ?"
        );
    }
}
