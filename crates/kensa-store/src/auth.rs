//! Credentials: enrolment tokens, agents and API tokens, stored as SHA-256
//! digests only (the server hashes what callers present and looks the
//! digest up), so that a copy of the database authenticates nobody.

use crate::asset::{AssetId, AssetUpsert};
use crate::error::{Result, StoreError};
use crate::sql::p;
use crate::time::Timestamp;
use crate::{Db, Mode};

/// An agent as admins list it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AgentInfo {
    pub id: i64,
    pub asset_id: i64,
    pub asset_name: String,
    pub version: Option<String>,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    /// When its asset last reported (an unchanged inventory counts).
    pub last_report: Option<Timestamp>,
    /// The public id of the enrolment token it enrolled with (none for
    /// agents enrolled before tokens had ids).
    pub enrollment_token: Option<String>,
}

/// What an enrolment token sets on every asset enrolled with it, where
/// the asset has no value of its own (tags are added).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollmentDefaults {
    pub owner: Option<String>,
    pub team: Option<String>,
    pub environment: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// A new enrolment token.
#[derive(Clone, Debug)]
pub struct NewEnrollmentToken<'a> {
    pub digest: &'a str,
    pub name: Option<&'a str>,
    /// At least 1 (1: single-use).
    pub max_uses: i64,
    pub defaults: &'a EnrollmentDefaults,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// An enrolment token as admins list it (never the token itself).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct EnrollmentTokenInfo {
    /// The first 16 hex digits of the token's SHA-256 digest: public, and
    /// enough to name it.
    pub id: String,
    pub name: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub max_uses: i64,
    pub uses: i64,
    pub revoked_at: Option<Timestamp>,
    pub defaults: EnrollmentDefaults,
    /// `live`, `expired`, `exhausted` or `revoked`.
    pub state: &'static str,
}

/// Why an enrolment token does or does not enrol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenCheck {
    Live(Box<EnrollmentTokenInfo>),
    Unknown,
    Expired,
    Exhausted,
    Revoked,
}

/// An asset's live agents: (agent id, token digest).
pub type LiveAgents = Vec<(i64, String)>;

/// The length of an enrolment token's public id, in hex digits.
pub const TOKEN_ID_LEN: usize = 16;

const TOKEN_COLUMNS: &str =
    "digest, name, created_at, expires_at, max_uses, uses, revoked_at, defaults";

fn token_info(r: &crate::sql::Row, at: Timestamp) -> Result<EnrollmentTokenInfo> {
    let digest = r.text(0)?;
    let defaults = match r.opt_text(7)? {
        Some(j) => serde_json::from_str(&j).map_err(|e| StoreError::Json {
            context: "enrollment token defaults".into(),
            source: e,
        })?,
        None => EnrollmentDefaults::default(),
    };
    let (expires_at, max_uses, uses) = (r.i64(3)?, r.i64(4)?, r.i64(5)?);
    let revoked_at = r.opt_i64(6)?.map(Timestamp::from_unix_ms);
    let state = if revoked_at.is_some() {
        "revoked"
    } else if expires_at <= at.unix_ms() {
        "expired"
    } else if uses >= max_uses {
        "exhausted"
    } else {
        "live"
    };
    Ok(EnrollmentTokenInfo {
        id: digest.chars().take(TOKEN_ID_LEN).collect(),
        name: r.opt_text(1)?,
        created_at: Timestamp::from_unix_ms(r.i64(2)?),
        expires_at: Timestamp::from_unix_ms(expires_at),
        max_uses,
        uses,
        revoked_at,
        defaults,
        state,
    })
}

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

    /// Counts one use of an enrolment token; `false` when it is unknown,
    /// revoked, expired or used up. One statement, so agents racing for
    /// the last use cannot both succeed.
    pub fn consume_enrollment_token(&self, digest: &str, at: Timestamp) -> Result<bool> {
        self.tx("consume enrollment token", Mode::Write, |tx| {
            let n = tx.exec(
                "UPDATE enrollment_tokens SET used_at = ?, uses = uses + 1 \
                 WHERE digest = ? AND revoked_at IS NULL AND expires_at > ? AND uses < max_uses",
                p![at.unix_ms(), digest, at.unix_ms()],
            )?;
            Ok(n == 1)
        })
    }

    /// Whether an enrolment token enrols, and why not, without using it:
    /// enrolment checks the token before it looks at assets, so that
    /// nobody without a token learns anything about them.
    pub fn check_enrollment_token(&self, digest: &str, at: Timestamp) -> Result<TokenCheck> {
        self.tx("check enrollment token", Mode::Read, |tx| {
            let Some(row) = tx.query_opt(
                &format!("SELECT {TOKEN_COLUMNS} FROM enrollment_tokens WHERE digest = ?"),
                p![digest],
            )?
            else {
                return Ok(TokenCheck::Unknown);
            };
            let info = token_info(&row, at)?;
            Ok(match info.state {
                "revoked" => TokenCheck::Revoked,
                "expired" => TokenCheck::Expired,
                "exhausted" => TokenCheck::Exhausted,
                _ => TokenCheck::Live(Box::new(info)),
            })
        })
    }

    /// Every enrolment token, newest first.
    pub fn enrollment_tokens(&self, at: Timestamp) -> Result<Vec<EnrollmentTokenInfo>> {
        self.tx("list enrollment tokens", Mode::Read, |tx| {
            tx.query(
                &format!(
                    "SELECT {TOKEN_COLUMNS} FROM enrollment_tokens ORDER BY created_at DESC, digest"
                ),
                &[],
            )?
            .iter()
            .map(|r| token_info(r, at))
            .collect()
        })
    }

    /// Revoke the enrolment token of public id `id`; `false` when there is
    /// no such unrevoked token.
    pub fn revoke_enrollment_token(&self, id: &str, at: Timestamp) -> Result<bool> {
        if id.len() != TOKEN_ID_LEN || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(false);
        }
        self.tx("revoke enrollment token", Mode::Write, |tx| {
            Ok(tx.exec(
                "UPDATE enrollment_tokens SET revoked_at = ? \
                 WHERE substr(digest, 1, 16) = ? AND revoked_at IS NULL",
                p![at.unix_ms(), id.to_ascii_lowercase()],
            )? >= 1)
        })
    }

    /// A new enrolment token, reusable `max_uses` times.
    pub fn create_enrollment_token_with(&self, t: &NewEnrollmentToken<'_>) -> Result<()> {
        let defaults = serde_json::to_string(t.defaults).map_err(|e| StoreError::Json {
            context: "enrollment token defaults".into(),
            source: e,
        })?;
        self.tx("create enrollment token", Mode::Write, |tx| {
            tx.exec(
                "INSERT INTO enrollment_tokens (digest, name, created_at, expires_at, max_uses, \
                 defaults) VALUES (?, ?, ?, ?, ?, ?)",
                p![
                    t.digest,
                    t.name.map(str::to_owned),
                    t.created_at.unix_ms(),
                    t.expires_at.unix_ms(),
                    t.max_uses.max(1),
                    defaults.clone()
                ],
            )?;
            Ok(())
        })
    }

    /// The host asset whose identity is `machine_id`, with its live
    /// (unrevoked) agents as (agent id, token digest).
    pub fn host_by_machine_id(&self, machine_id: &str) -> Result<Option<(AssetId, LiveAgents)>> {
        let key = format!("host:id:{machine_id}");
        self.tx("host by machine id", Mode::Read, |tx| {
            let Some(row) =
                tx.query_opt("SELECT id FROM assets WHERE natural_key = ?", p![&key])?
            else {
                return Ok(None);
            };
            let id = AssetId(row.i64(0)?);
            let agents = tx
                .query(
                    "SELECT id, digest FROM agents WHERE asset_id = ? AND revoked_at IS NULL \
                     ORDER BY id",
                    p![id.0],
                )?
                .iter()
                .map(|r| Ok((r.i64(0)?, r.text(1)?)))
                .collect::<Result<Vec<_>>>()?;
            Ok(Some((id, agents)))
        })
    }

    /// Every agent, newest first, with its asset and when that asset last
    /// reported.
    pub fn agents(&self) -> Result<Vec<AgentInfo>> {
        self.tx("list agents", Mode::Read, |tx| {
            tx.query(
                "SELECT g.id, g.asset_id, a.name, g.version, g.created_at, g.revoked_at, \
                 a.inventory_at, g.enrollment_token FROM agents g \
                 JOIN assets a ON a.id = g.asset_id ORDER BY g.id DESC",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(AgentInfo {
                    id: r.i64(0)?,
                    asset_id: r.i64(1)?,
                    asset_name: r.text(2)?,
                    version: r.opt_text(3)?,
                    created_at: Timestamp::from_unix_ms(r.i64(4)?),
                    revoked_at: r.opt_i64(5)?.map(Timestamp::from_unix_ms),
                    last_report: r.opt_i64(6)?.map(Timestamp::from_unix_ms),
                    enrollment_token: r.opt_text(7)?,
                })
            })
            .collect()
        })
    }

    /// Revoke an agent's credential: its token stops working at once.
    /// `false` when no such agent is live.
    pub fn revoke_agent(&self, id: i64, at: Timestamp) -> Result<bool> {
        self.tx("revoke agent", Mode::Write, |tx| {
            Ok(tx.exec(
                "UPDATE agents SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                p![at.unix_ms(), id],
            )? == 1)
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
        self.create_agent_with_token(asset, digest, version, None, at)
    }

    /// A new agent for `asset`, enrolled with the enrolment token of
    /// public id `enrollment_token`; its id.
    pub fn create_agent_with_token(
        &self,
        asset: AssetId,
        digest: &str,
        version: Option<&str>,
        enrollment_token: Option<&str>,
        at: Timestamp,
    ) -> Result<i64> {
        self.tx("create agent", Mode::Write, |tx| {
            tx.query_one(
                "INSERT INTO agents (asset_id, digest, version, created_at, enrollment_token) \
                 VALUES (?, ?, ?, ?, ?) RETURNING id",
                p![
                    asset.0,
                    digest,
                    version.map(str::to_owned),
                    at.unix_ms(),
                    enrollment_token.map(str::to_owned)
                ],
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
                // The host's inventory is the known one again: read.
                "UPDATE assets SET inventory_at = ?, inventory_failure = NULL, \
                 inventory_failed_at = NULL WHERE id = ?",
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
