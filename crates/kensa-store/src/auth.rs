//! Credentials: enrolment tokens, agents and API tokens, stored as SHA-256
//! digests only (the server hashes what callers present and looks the
//! digest up), so that a copy of the database authenticates nobody.

use crate::asset::{AssetId, AssetUpsert};
use crate::error::{Result, StoreError};
use crate::sql::p;
use crate::time::Timestamp;
use crate::{Db, Mode};

impl Db {
    pub fn create_enrollment_token(
        &self,
        digest: &str,
        at: Timestamp,
        expires: Timestamp,
    ) -> Result<()> {
        self.tx("create enrollment token", Mode::Write, |tx| {
            tx.exec(
                "INSERT INTO enrollment_tokens (digest, created_at, expires_at) VALUES (?, ?, ?)",
                p![digest, at.unix_ms(), expires.unix_ms()],
            )?;
            Ok(())
        })
    }

    /// Marks an enrolment token used; `false` when it is unknown, used or
    /// expired. One statement, so two agents racing with one token cannot
    /// both succeed.
    pub fn consume_enrollment_token(&self, digest: &str, at: Timestamp) -> Result<bool> {
        self.tx("consume enrollment token", Mode::Write, |tx| {
            let n = tx.exec(
                "UPDATE enrollment_tokens SET used_at = ? \
                 WHERE digest = ? AND used_at IS NULL AND expires_at > ?",
                p![at.unix_ms(), digest, at.unix_ms()],
            )?;
            Ok(n == 1)
        })
    }

    /// A new agent for `asset`; its id.
    pub fn create_agent(
        &self,
        asset: AssetId,
        digest: &str,
        version: Option<&str>,
        at: Timestamp,
    ) -> Result<i64> {
        self.tx("create agent", Mode::Write, |tx| {
            tx.query_one(
                "INSERT INTO agents (asset_id, digest, version, created_at) VALUES (?, ?, ?, ?) \
                 RETURNING id",
                p![asset.0, digest, version.map(str::to_owned), at.unix_ms()],
            )?
            .i64(0)
        })
    }

    /// The (agent id, asset id) a token digest belongs to, unless revoked.
    pub fn agent_by_token(&self, digest: &str) -> Result<Option<(i64, i64)>> {
        self.tx("agent by token", Mode::Read, |tx| {
            tx.query_opt(
                "SELECT id, asset_id FROM agents WHERE digest = ? AND revoked_at IS NULL",
                p![digest],
            )?
            .map(|r| Ok((r.i64(0)?, r.i64(1)?)))
            .transpose()
        })
    }

    /// Whether any live admin token exists (the first start creates one).
    pub fn has_admin_token(&self) -> Result<bool> {
        self.tx("admin token", Mode::Read, |tx| {
            Ok(tx
                .query_opt(
                    "SELECT 1 FROM api_tokens WHERE role = 'admin' AND revoked_at IS NULL LIMIT 1",
                    &[],
                )?
                .is_some())
        })
    }

    /// Record that the asset reported its (unchanged) inventory.
    pub fn touch_inventory(&self, asset: AssetId, at: Timestamp) -> Result<()> {
        self.tx("touch inventory", Mode::Write, |tx| {
            let n = tx.exec(
                "UPDATE assets SET inventory_at = ? WHERE id = ?",
                p![at.unix_ms(), asset.0],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound {
                    what: asset.to_string(),
                });
            }
            Ok(())
        })
    }

    /// Update what an asset's own report says about it (name, hostname,
    /// OS), by id: an agent writes the asset it enrolled as, whatever its
    /// inventory claims, and its identity (natural key) does not move.
    pub fn update_asset_facts(&self, asset: AssetId, facts: &AssetUpsert) -> Result<()> {
        self.tx("update asset facts", Mode::Write, |tx| {
            let n = tx.exec(
                "UPDATE assets SET name = ?, hostname = ?, os_id = ?, os_release = ?, \
                 updated_at = ? WHERE id = ?",
                p![
                    &facts.name,
                    facts.hostname.clone(),
                    facts.os_id.clone(),
                    facts.os_release.clone(),
                    facts.seen_at.unix_ms(),
                    asset.0,
                ],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound {
                    what: asset.to_string(),
                });
            }
            Ok(())
        })
    }
}
