//! API tokens as their owners see them (list, revoke, last use) and the
//! security audit trail (issue 13).
//!
//! A token carries its owner's authority and no more: it works only while
//! the owner is an enabled user, and with the lesser of its own role and
//! the owner's (a demoted admin's admin token is cut to the new role).
//! That rule is in the one query that authenticates a token,
//! [`Db::live_api_token`], so no caller can forget it.

use serde::Serialize;

use crate::error::Result;
use crate::sql::{Row, p};
use crate::time::Timestamp;
use crate::{Db, Mode};

/// `last_used_at` is written at most this often: every authenticated
/// request would otherwise be a write, and SQLite has one writer.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

/// The longest audit listing returned at once.
pub const AUDIT_PAGE: usize = 1_000;

/// A live API token at the moment it authenticates a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveApiToken {
    pub id: i64,
    pub name: String,
    /// The token's own role.
    pub role: String,
    pub owner: String,
    /// The owner's role now.
    pub owner_role: String,
}

/// An API token as an admin lists it (never its digest).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiTokenInfo {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub owner: Option<String>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// One security event: who did what to what.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SecurityEvent {
    pub id: i64,
    pub at: Timestamp,
    /// The user or token name acting, or `-` for an anonymous caller.
    pub actor: String,
    /// `login.failed`, `token.created`, `token.revoked`, `user.role`,
    /// `user.disabled`, `user.enabled`, `agent.enrolled`, ...
    pub action: String,
    pub subject: String,
    pub detail: String,
}

fn ts(v: Option<i64>) -> Option<Timestamp> {
    v.map(Timestamp::from_unix_ms)
}

fn token_row(r: &Row) -> Result<ApiTokenInfo> {
    Ok(ApiTokenInfo {
        id: r.i64(0)?,
        name: r.text(1)?,
        role: r.text(2)?,
        owner: r.opt_text(3)?,
        created_at: Timestamp::from_unix_ms(r.i64(4)?),
        last_used_at: ts(r.opt_i64(5)?),
        expires_at: ts(r.opt_i64(6)?),
        revoked_at: ts(r.opt_i64(7)?),
    })
}

impl Db {
    /// A new API token owned by the user `owner`; its id.
    pub fn create_owned_api_token(
        &self,
        name: &str,
        role: &str,
        owner: &str,
        digest: &str,
        at: Timestamp,
    ) -> Result<i64> {
        self.tx("create API token", Mode::Write, |tx| {
            tx.query_one(
                "INSERT INTO api_tokens (name, role, owner, digest, created_at) \
                 VALUES (?, ?, ?, ?, ?) RETURNING id",
                p![name, role, owner, digest, at.unix_ms()],
            )?
            .i64(0)
        })
    }

    /// The token of `digest` if it is live at `at`: not revoked, not
    /// expired, its owner an enabled user. Notes its use (at most once a
    /// minute).
    pub fn live_api_token(&self, digest: &str, at: Timestamp) -> Result<Option<LiveApiToken>> {
        let found = self.tx("API token", Mode::Read, |tx| {
            tx.query_opt(
                "SELECT t.id, t.name, t.role, u.name, u.role, t.last_used_at \
                 FROM api_tokens t JOIN users u ON u.name = t.owner \
                 WHERE t.digest = ? AND t.revoked_at IS NULL \
                 AND (t.expires_at IS NULL OR t.expires_at > ?) AND u.disabled_at IS NULL",
                p![digest, at.unix_ms()],
            )?
            .map(|r| {
                Ok((
                    LiveApiToken {
                        id: r.i64(0)?,
                        name: r.text(1)?,
                        role: r.text(2)?,
                        owner: r.text(3)?,
                        owner_role: r.text(4)?,
                    },
                    r.opt_i64(5)?,
                ))
            })
            .transpose()
        })?;
        let Some((token, last_used)) = found else {
            return Ok(None);
        };
        if last_used.is_none_or(|t| at.unix_ms() - t >= LAST_USED_RESOLUTION_MS) {
            self.tx("API token used", Mode::Write, |tx| {
                tx.exec(
                    "UPDATE api_tokens SET last_used_at = ? WHERE id = ? \
                     AND (last_used_at IS NULL OR last_used_at < ?)",
                    p![at.unix_ms(), token.id, at.unix_ms()],
                )
            })?;
        }
        Ok(Some(token))
    }

    /// The owner of the live token of `digest` (a token making a token
    /// passes its owner on).
    pub fn api_token_owner(&self, digest: &str) -> Result<Option<String>> {
        self.tx("API token owner", Mode::Read, |tx| {
            tx.query_opt(
                "SELECT owner FROM api_tokens WHERE digest = ? AND revoked_at IS NULL",
                p![digest],
            )?
            .map(|r| r.opt_text(0))
            .transpose()
            .map(Option::flatten)
        })
    }

    /// Every API token, newest first (revoked ones too: the list is also a
    /// record).
    pub fn list_api_tokens(&self) -> Result<Vec<ApiTokenInfo>> {
        self.tx("list API tokens", Mode::Read, |tx| {
            tx.query(
                "SELECT id, name, role, owner, created_at, last_used_at, expires_at, revoked_at \
                 FROM api_tokens ORDER BY id DESC",
                &[],
            )?
            .iter()
            .map(token_row)
            .collect()
        })
    }

    /// One API token by id.
    pub fn api_token_info(&self, id: i64) -> Result<Option<ApiTokenInfo>> {
        self.tx("API token info", Mode::Read, |tx| {
            tx.query_opt(
                "SELECT id, name, role, owner, created_at, last_used_at, expires_at, revoked_at \
                 FROM api_tokens WHERE id = ?",
                p![id],
            )?
            .map(|r| token_row(&r))
            .transpose()
        })
    }

    /// Revokes a token; `false` when it is unknown or already revoked.
    pub fn revoke_api_token(&self, id: i64, at: Timestamp) -> Result<bool> {
        self.tx("revoke API token", Mode::Write, |tx| {
            Ok(tx.exec(
                "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                p![at.unix_ms(), id],
            )? == 1)
        })
    }

    /// Appends a security event.
    pub fn record_security_event(
        &self,
        at: Timestamp,
        actor: &str,
        action: &str,
        subject: &str,
        detail: &str,
    ) -> Result<()> {
        self.tx("record security event", Mode::Write, |tx| {
            tx.exec(
                "INSERT INTO security_audit (at, actor, action, subject, detail) \
                 VALUES (?, ?, ?, ?, ?)",
                p![at.unix_ms(), actor, action, subject, detail],
            )?;
            Ok(())
        })
    }

    /// The newest security events, at most `limit` (capped at
    /// [`AUDIT_PAGE`]), newest first.
    pub fn security_events(&self, limit: usize) -> Result<Vec<SecurityEvent>> {
        let limit = i64::try_from(limit.min(AUDIT_PAGE)).unwrap_or(1);
        self.tx("security events", Mode::Read, |tx| {
            tx.query(
                "SELECT id, at, actor, action, subject, detail FROM security_audit \
                 ORDER BY id DESC LIMIT ?",
                p![limit],
            )?
            .iter()
            .map(|r| {
                Ok(SecurityEvent {
                    id: r.i64(0)?,
                    at: Timestamp::from_unix_ms(r.i64(1)?),
                    actor: r.text(2)?,
                    action: r.text(3)?,
                    subject: r.text(4)?,
                    detail: r.text(5)?,
                })
            })
            .collect()
        })
    }
}
