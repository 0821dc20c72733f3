//! Local users and their browser sessions.
//!
//! Passwords arrive here already hashed (argon2id PHC strings, made by the
//! server); the store never sees a plain password. Sessions and their CSRF
//! tokens are kept as SHA-256 digests only, like every other credential,
//! so that a copy of the database logs nobody in.

use serde::Serialize;

use crate::error::{Result, StoreError};
use crate::sql::{Row, Sql, p};
use crate::time::Timestamp;
use crate::{Db, Mode};

/// A user as the API lists it. It has no password hash on purpose: this
/// is the type that gets serialised.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub disabled_at: Option<Timestamp>,
}

/// What a login checks. Not `Serialize`, and its `Debug` hides the hash,
/// so that it cannot end up in a response or a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginUser {
    pub id: i64,
    pub role: String,
    pub password_hash: String,
    pub disabled: bool,
}

impl std::fmt::Debug for LoginUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginUser")
            .field("id", &self.id)
            .field("role", &self.role)
            .field("password_hash", &"<redacted>")
            .field("disabled", &self.disabled)
            .finish()
    }
}

/// The user a live session belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionUser {
    pub user_id: i64,
    pub name: String,
    pub role: String,
    pub csrf_digest: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// `last_seen_at` is refreshed at most this often: every authenticated
/// request would otherwise be a write, and SQLite has one writer.
const LAST_SEEN_RESOLUTION_MS: i64 = 60_000;

const USER_COLUMNS: &str = "id, name, role, created_at, updated_at, disabled_at";

fn user_row(r: &Row) -> Result<User> {
    Ok(User {
        id: r.i64(0)?,
        name: r.text(1)?,
        role: r.text(2)?,
        created_at: Timestamp::from_unix_ms(r.i64(3)?),
        updated_at: Timestamp::from_unix_ms(r.i64(4)?),
        disabled_at: r.opt_i64(5)?.map(Timestamp::from_unix_ms),
    })
}

/// Refuses a change that would leave no enabled admin user: nobody could
/// then manage users from the console (the admin API token still could,
/// but it may be long gone).
fn keep_an_admin(tx: &mut dyn Sql, name: &str, what: &str) -> Result<()> {
    let is_admin = tx
        .query_opt(
            "SELECT 1 FROM users WHERE name = ? AND role = 'admin' AND disabled_at IS NULL",
            p![name],
        )?
        .is_some();
    if !is_admin {
        return Ok(());
    }
    let others = tx
        .query_one(
            "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL AND name <> ?",
            p![name],
        )?
        .i64(0)?;
    if others == 0 {
        return Err(StoreError::InvalidArgument(format!(
            "user {name:?} is the last enabled admin: {what} would leave nobody to manage users"
        )));
    }
    Ok(())
}

impl Db {
    /// A new user; its id, or `None` when the name is taken.
    pub fn create_user(
        &self,
        name: &str,
        role: &str,
        password_hash: &str,
        at: Timestamp,
    ) -> Result<Option<i64>> {
        self.tx("create user", Mode::Write, |tx| {
            tx.query_opt(
                "INSERT INTO users (name, role, password_hash, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING RETURNING id",
                p![name, role, password_hash, at.unix_ms(), at.unix_ms()],
            )?
            .map(|r| r.i64(0))
            .transpose()
        })
    }

    /// Every user, by name, without password hashes.
    pub fn list_users(&self) -> Result<Vec<User>> {
        self.tx("list users", Mode::Read, |tx| {
            tx.query(
                &format!("SELECT {USER_COLUMNS} FROM users ORDER BY name"),
                &[],
            )?
            .iter()
            .map(user_row)
            .collect()
        })
    }

    pub fn user(&self, name: &str) -> Result<Option<User>> {
        self.tx("user", Mode::Read, |tx| {
            tx.query_opt(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE name = ?"),
                p![name],
            )?
            .as_ref()
            .map(user_row)
            .transpose()
        })
    }

    /// Whether any user exists (the first start creates one).
    pub fn has_users(&self) -> Result<bool> {
        self.tx("has users", Mode::Read, |tx| {
            Ok(tx.query_opt("SELECT 1 FROM users LIMIT 1", &[])?.is_some())
        })
    }

    /// What a login with `name` is checked against.
    pub fn user_for_login(&self, name: &str) -> Result<Option<LoginUser>> {
        self.tx("user for login", Mode::Read, |tx| {
            tx.query_opt(
                "SELECT id, role, password_hash, disabled_at FROM users WHERE name = ?",
                p![name],
            )?
            .map(|r| {
                Ok(LoginUser {
                    id: r.i64(0)?,
                    role: r.text(1)?,
                    password_hash: r.text(2)?,
                    disabled: r.opt_i64(3)?.is_some(),
                })
            })
            .transpose()
        })
    }

    /// Replaces a user's password hash and ends the user's sessions but
    /// `keep_session` (the one that made the change, if it is the user's
    /// own): whoever knew the old password is logged out. `false` when
    /// there is no such user.
    pub fn set_password(
        &self,
        name: &str,
        password_hash: &str,
        at: Timestamp,
        keep_session: Option<&str>,
    ) -> Result<bool> {
        self.tx("set password", Mode::Write, |tx| {
            let n = tx.exec(
                "UPDATE users SET password_hash = ?, updated_at = ? WHERE name = ?",
                p![password_hash, at.unix_ms(), name],
            )?;
            if n == 0 {
                return Ok(false);
            }
            tx.exec(
                "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = ?) \
                 AND digest <> ?",
                p![name, keep_session.unwrap_or("")],
            )?;
            Ok(true)
        })
    }

    /// Changes a user's role; sessions keep going with the new role (the
    /// role is read on every request). Refuses to demote the last enabled
    /// admin. `false` when there is no such user.
    pub fn set_role(&self, name: &str, role: &str, at: Timestamp) -> Result<bool> {
        self.tx("set role", Mode::Write, |tx| {
            if role != "admin" {
                keep_an_admin(tx, name, "demoting it")?;
            }
            let n = tx.exec(
                "UPDATE users SET role = ?, updated_at = ? WHERE name = ?",
                p![role, at.unix_ms(), name],
            )?;
            Ok(n == 1)
        })
    }

    /// Disables a user (ending its sessions) or enables it again. Refuses
    /// to disable the last enabled admin. `false` when there is no such
    /// user.
    pub fn set_disabled(&self, name: &str, disabled: bool, at: Timestamp) -> Result<bool> {
        self.tx("set disabled", Mode::Write, |tx| {
            let n = if disabled {
                keep_an_admin(tx, name, "disabling it")?;
                let n = tx.exec(
                    "UPDATE users SET disabled_at = COALESCE(disabled_at, ?), updated_at = ? \
                     WHERE name = ?",
                    p![at.unix_ms(), at.unix_ms(), name],
                )?;
                tx.exec(
                    "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = ?)",
                    p![name],
                )?;
                n
            } else {
                tx.exec(
                    "UPDATE users SET disabled_at = NULL, updated_at = ? WHERE name = ?",
                    p![at.unix_ms(), name],
                )?
            };
            Ok(n == 1)
        })
    }

    pub fn create_session(
        &self,
        digest: &str,
        user_id: i64,
        csrf_digest: &str,
        at: Timestamp,
        expires: Timestamp,
    ) -> Result<()> {
        self.tx("create session", Mode::Write, |tx| {
            tx.exec(
                "INSERT INTO sessions (digest, user_id, csrf_digest, created_at, expires_at, \
                 last_seen_at) VALUES (?, ?, ?, ?, ?, ?)",
                p![
                    digest,
                    user_id,
                    csrf_digest,
                    at.unix_ms(),
                    expires.unix_ms(),
                    at.unix_ms()
                ],
            )?;
            Ok(())
        })
    }

    /// The user of a live session: not expired at `at`, its user not
    /// disabled. Notes that the session was seen (at most once a minute).
    pub fn session(&self, digest: &str, at: Timestamp) -> Result<Option<SessionUser>> {
        let found = self.tx("session", Mode::Read, |tx| {
            tx.query_opt(
                "SELECT s.user_id, u.name, u.role, s.csrf_digest, s.created_at, s.expires_at, \
                 s.last_seen_at FROM sessions s JOIN users u ON u.id = s.user_id \
                 WHERE s.digest = ? AND s.expires_at > ? AND u.disabled_at IS NULL",
                p![digest, at.unix_ms()],
            )?
            .map(|r| {
                Ok((
                    SessionUser {
                        user_id: r.i64(0)?,
                        name: r.text(1)?,
                        role: r.text(2)?,
                        csrf_digest: r.text(3)?,
                        created_at: Timestamp::from_unix_ms(r.i64(4)?),
                        expires_at: Timestamp::from_unix_ms(r.i64(5)?),
                    },
                    r.i64(6)?,
                ))
            })
            .transpose()
        })?;
        let Some((user, last_seen)) = found else {
            return Ok(None);
        };
        if at.unix_ms() - last_seen >= LAST_SEEN_RESOLUTION_MS {
            self.tx("session seen", Mode::Write, |tx| {
                tx.exec(
                    "UPDATE sessions SET last_seen_at = ? WHERE digest = ? AND last_seen_at < ?",
                    p![at.unix_ms(), digest, at.unix_ms()],
                )
            })?;
        }
        Ok(Some(user))
    }

    /// When a session was last seen (tests and an eventual session list).
    pub fn session_last_seen(&self, digest: &str) -> Result<Option<Timestamp>> {
        self.tx("session last seen", Mode::Read, |tx| {
            tx.query_opt(
                "SELECT last_seen_at FROM sessions WHERE digest = ?",
                p![digest],
            )?
            .map(|r| r.i64(0).map(Timestamp::from_unix_ms))
            .transpose()
        })
    }

    /// Ends a session; `false` when there was none.
    pub fn delete_session(&self, digest: &str) -> Result<bool> {
        self.tx("delete session", Mode::Write, |tx| {
            Ok(tx.exec("DELETE FROM sessions WHERE digest = ?", p![digest])? == 1)
        })
    }

    /// Forgets the sessions expired at `at`; how many.
    pub fn delete_expired_sessions(&self, at: Timestamp) -> Result<u64> {
        self.tx("delete expired sessions", Mode::Write, |tx| {
            tx.exec(
                "DELETE FROM sessions WHERE expires_at <= ?",
                p![at.unix_ms()],
            )
        })
    }
}
