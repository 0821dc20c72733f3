//! The console's saved views: per user, a name and the address of a
//! findings or assets view (which holds the whole view: filter, sort,
//! grouping).
//! Kept in the `settings` table under `saved_views:<user>`, as one JSON
//! list per user, so that they need no table of their own.

use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};
use crate::sql::Val;
use crate::time::Timestamp;
use crate::{Db, Mode};

/// A user keeps at most this many views.
pub const MAX_SAVED_VIEWS: usize = 50;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedView {
    pub name: String,
    /// A path on the server, `/findings?…`.
    pub url: String,
}

fn key(user: &str) -> String {
    format!("saved_views:{user}")
}

fn read(tx: &mut dyn crate::sql::Sql, user: &str) -> Result<Vec<SavedView>> {
    match tx.query_opt(
        "SELECT value FROM settings WHERE key = ?",
        &[Val::from(key(user))],
    )? {
        Some(r) => r.decode(0),
        None => Ok(Vec::new()),
    }
}

fn write(
    tx: &mut dyn crate::sql::Sql,
    user: &str,
    views: &[SavedView],
    at: Timestamp,
) -> Result<()> {
    let value = serde_json::to_value(views).map_err(|e| StoreError::Json {
        context: "saved views".into(),
        source: e,
    })?;
    tx.exec(
        "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        &[
            Val::from(key(user)),
            Val::Json(value),
            Val::from(at.unix_ms()),
        ],
    )?;
    Ok(())
}

impl Db {
    /// The user's saved views, by name.
    pub fn saved_views(&self, user: &str) -> Result<Vec<SavedView>> {
        self.tx("read saved views", Mode::Read, |tx| read(tx, user))
    }

    /// Saves a view under `name`, replacing the user's view of that name.
    pub fn save_view(&self, user: &str, view: &SavedView, at: Timestamp) -> Result<()> {
        let name = view.name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(StoreError::InvalidArgument(
                "view name: 1 to 100 characters, no control characters".into(),
            ));
        }
        let page = ["/findings", "/assets"].iter().any(|p| {
            view.url
                .strip_prefix(p)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('?'))
        });
        if !page || view.url.len() > 4000 {
            return Err(StoreError::InvalidArgument(
                "view address: a findings or assets view of this server (/findings?…, /assets?…)"
                    .into(),
            ));
        }
        self.tx("save a view", Mode::Write, |tx| {
            let mut views = read(tx, user)?;
            views.retain(|v| v.name != name);
            if views.len() >= MAX_SAVED_VIEWS {
                return Err(StoreError::InvalidArgument(format!(
                    "at most {MAX_SAVED_VIEWS} saved views: delete one first"
                )));
            }
            views.push(SavedView {
                name: name.to_owned(),
                url: view.url.clone(),
            });
            views.sort_by(|a, b| a.name.cmp(&b.name));
            write(tx, user, &views, at)
        })
    }

    /// Deletes the user's view of that name; whether there was one.
    pub fn delete_view(&self, user: &str, name: &str, at: Timestamp) -> Result<bool> {
        self.tx("delete a view", Mode::Write, |tx| {
            let mut views = read(tx, user)?;
            let before = views.len();
            views.retain(|v| v.name != name);
            if views.len() == before {
                return Ok(false);
            }
            write(tx, user, &views, at)?;
            Ok(true)
        })
    }
}
