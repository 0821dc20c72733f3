//! Agentless targets (issue 15): SSH credentials sealed under the server's
//! key-encryption key, the SSH address of assets scanned by the server on
//! a schedule with the outcome of their last scan, and the host keys the
//! server pins (pending until an admin confirms them).
//!
//! This module stores what it is given: sealing and opening credentials is
//! the server's (it holds the key), so no plaintext key ever reaches the
//! database layer.

use serde::Serialize;

use crate::asset::AssetId;
use crate::error::{Result, StoreError};
use crate::sql::{Row, Sql, p};
use crate::time::Timestamp;
use crate::{Db, Mode};

/// A credential as the API lists it: never its key material.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SshCredentialInfo {
    pub name: String,
    /// `SHA256:…` of the public key.
    pub fingerprint: String,
    /// The public key (`ssh-ed25519 AAAA…`), to install on targets.
    pub public_key: String,
    pub created_at: Timestamp,
    pub created_by: String,
    /// Names of the assets whose target uses it.
    pub used_by: Vec<String>,
}

/// A credential as the server stores it: the private key sealed.
#[derive(Clone, Debug)]
pub struct NewSshCredential<'a> {
    pub name: &'a str,
    pub fingerprint: &'a str,
    pub public_key: &'a str,
    /// Hex of nonce and ciphertext.
    pub sealed: &'a str,
    pub kek_id: &'a str,
    pub created_by: &'a str,
}

/// Where and how an asset is reached over SSH.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SshAddress {
    pub host: String,
    pub port: u16,
    pub user: String,
    /// The credential's name.
    pub credential: String,
    /// The bastion, `user@host:port`, reached with the same credential;
    /// `None`: connect directly.
    pub jump: Option<String>,
}

/// An asset scanned over SSH, with its schedule and last outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AgentlessTarget {
    pub asset_id: AssetId,
    #[serde(flatten)]
    pub address: SshAddress,
    pub next_scan_at: Timestamp,
    pub last_attempt_at: Option<Timestamp>,
    pub last_success_at: Option<Timestamp>,
    /// The reason code of the last attempt when it failed
    /// (`AUTHENTICATION_FAILED`, `HOST_KEY_CHANGED`, …); `None` after a
    /// success.
    pub last_error: Option<String>,
    pub last_error_detail: Option<String>,
    /// The fingerprint the host offered when its key was unconfirmed or
    /// changed.
    pub offered_fingerprint: Option<String>,
}

/// A host key as pinned (or offered).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HostKeyInfo {
    pub host: String,
    pub port: u16,
    pub key_type: String,
    pub key: String,
    pub fingerprint: String,
    /// `pending` (offered, not confirmed: no scan runs) or `confirmed`.
    pub status: String,
    pub first_seen_at: Timestamp,
    pub confirmed_at: Option<Timestamp>,
    pub confirmed_by: Option<String>,
}

/// How a scan ended.
#[derive(Clone, Debug)]
pub enum ScanOutcome<'a> {
    Success,
    Failure {
        code: &'a str,
        detail: &'a str,
        fingerprint: Option<&'a str>,
    },
}

const TARGET_COLUMNS: &str = "asset_id, host, port, ssh_user, credential, next_scan_at, \
     last_attempt_at, last_success_at, last_error, last_error_detail, offered_fingerprint, jump";

fn ts(v: Option<i64>) -> Option<Timestamp> {
    v.map(Timestamp::from_unix_ms)
}

fn port_of(v: i64) -> Result<u16> {
    u16::try_from(v)
        .map_err(|_| StoreError::InvalidArgument(format!("stored SSH port {v} is not a port")))
}

fn target_row(r: &Row) -> Result<AgentlessTarget> {
    Ok(AgentlessTarget {
        asset_id: AssetId(r.i64(0)?),
        address: SshAddress {
            host: r.text(1)?,
            port: port_of(r.i64(2)?)?,
            user: r.text(3)?,
            credential: r.text(4)?,
            jump: r.opt_text(11)?,
        },
        next_scan_at: Timestamp::from_unix_ms(r.i64(5)?),
        last_attempt_at: ts(r.opt_i64(6)?),
        last_success_at: ts(r.opt_i64(7)?),
        last_error: r.opt_text(8)?,
        last_error_detail: r.opt_text(9)?,
        offered_fingerprint: r.opt_text(10)?,
    })
}

fn key_row(r: &Row) -> Result<HostKeyInfo> {
    Ok(HostKeyInfo {
        host: r.text(0)?,
        port: port_of(r.i64(1)?)?,
        key_type: r.text(2)?,
        key: r.text(3)?,
        fingerprint: r.text(4)?,
        status: r.text(5)?,
        first_seen_at: Timestamp::from_unix_ms(r.i64(6)?),
        confirmed_at: ts(r.opt_i64(7)?),
        confirmed_by: r.opt_text(8)?,
    })
}

/// Set (or replace) `asset`'s SSH address inside a transaction; the
/// credential must exist. A new or changed address is due at once.
pub(crate) fn put_target(
    tx: &mut dyn Sql,
    asset: AssetId,
    a: &SshAddress,
    at: Timestamp,
) -> Result<std::result::Result<(), String>> {
    if tx
        .query_opt(
            "SELECT name FROM ssh_credentials WHERE name = ?",
            p![&a.credential],
        )?
        .is_none()
    {
        return Ok(Err(format!(
            "no SSH credential is named {:?} (an admin creates it first)",
            a.credential
        )));
    }
    let old = tx.query_opt(
        "SELECT host, port, ssh_user, credential, jump FROM agentless_targets WHERE asset_id = ?",
        p![asset.0],
    )?;
    match old {
        Some(r)
            if r.text(0)? == a.host
                && r.i64(1)? == i64::from(a.port)
                && r.text(2)? == a.user
                && r.text(3)? == a.credential
                && r.opt_text(4)? == a.jump => {}
        Some(_) => {
            tx.exec(
                "UPDATE agentless_targets SET host = ?, port = ?, ssh_user = ?, credential = ?, \
                 jump = ?, next_scan_at = ?, last_error = NULL, last_error_detail = NULL, \
                 offered_fingerprint = NULL WHERE asset_id = ?",
                p![
                    &a.host,
                    i64::from(a.port),
                    &a.user,
                    &a.credential,
                    a.jump.clone(),
                    at.unix_ms(),
                    asset.0
                ],
            )?;
        }
        None => {
            tx.exec(
                "INSERT INTO agentless_targets (asset_id, host, port, ssh_user, credential, \
                 jump, next_scan_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                p![
                    asset.0,
                    &a.host,
                    i64::from(a.port),
                    &a.user,
                    &a.credential,
                    a.jump.clone(),
                    at.unix_ms()
                ],
            )?;
        }
    }
    Ok(Ok(()))
}

impl Db {
    /// Store a new credential; refused when the name is taken.
    pub fn create_ssh_credential(&self, c: &NewSshCredential<'_>, at: Timestamp) -> Result<()> {
        self.tx("create SSH credential", Mode::Write, |tx| {
            if tx
                .query_opt(
                    "SELECT name FROM ssh_credentials WHERE name = ?",
                    p![c.name],
                )?
                .is_some()
            {
                return Err(StoreError::InvalidArgument(format!(
                    "an SSH credential is already named {:?}",
                    c.name
                )));
            }
            tx.exec(
                "INSERT INTO ssh_credentials (name, fingerprint, public_key, sealed, kek_id, \
                 created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
                p![
                    c.name,
                    c.fingerprint,
                    c.public_key,
                    c.sealed,
                    c.kek_id,
                    at.unix_ms(),
                    c.created_by
                ],
            )?;
            Ok(())
        })
    }

    /// Every credential, without its key material, with the assets using it.
    pub fn ssh_credentials(&self) -> Result<Vec<SshCredentialInfo>> {
        self.tx("SSH credentials", Mode::Read, |tx| {
            let rows = tx.query(
                "SELECT name, fingerprint, public_key, created_at, created_by \
                 FROM ssh_credentials ORDER BY name",
                &[],
            )?;
            let used = tx.query(
                "SELECT t.credential, a.name FROM agentless_targets t \
                 JOIN assets a ON a.id = t.asset_id ORDER BY a.name",
                &[],
            )?;
            let mut out = Vec::new();
            for r in rows {
                let name = r.text(0)?;
                let mut used_by = Vec::new();
                for u in &used {
                    if u.text(0)? == name {
                        used_by.push(u.text(1)?);
                    }
                }
                out.push(SshCredentialInfo {
                    fingerprint: r.text(1)?,
                    public_key: r.text(2)?,
                    created_at: Timestamp::from_unix_ms(r.i64(3)?),
                    created_by: r.text(4)?,
                    name,
                    used_by,
                });
            }
            Ok(out)
        })
    }

    /// The sealed key of credential `name` and the id of the key that
    /// sealed it.
    pub fn ssh_credential_sealed(&self, name: &str) -> Result<Option<(String, String)>> {
        self.tx("SSH credential", Mode::Read, |tx| {
            tx.query_opt(
                "SELECT sealed, kek_id FROM ssh_credentials WHERE name = ?",
                p![name],
            )?
            .map(|r| Ok((r.text(0)?, r.text(1)?)))
            .transpose()
        })
    }

    /// Delete a credential no target uses; `false` when there is none.
    pub fn delete_ssh_credential(&self, name: &str) -> Result<bool> {
        self.tx("delete SSH credential", Mode::Write, |tx| {
            let users = tx.query(
                "SELECT a.name FROM agentless_targets t JOIN assets a ON a.id = t.asset_id \
                 WHERE t.credential = ? ORDER BY a.name",
                p![name],
            )?;
            if !users.is_empty() {
                let names = users
                    .iter()
                    .map(|r| r.text(0))
                    .collect::<Result<Vec<_>>>()?;
                return Err(StoreError::InvalidArgument(format!(
                    "SSH credential {name:?} is used by {}: change their targets first",
                    names.join(", ")
                )));
            }
            Ok(tx.exec("DELETE FROM ssh_credentials WHERE name = ?", p![name])? > 0)
        })
    }

    /// Set `asset`'s SSH address (the credential must exist).
    pub fn set_agentless_target(
        &self,
        asset: AssetId,
        address: &SshAddress,
        at: Timestamp,
    ) -> Result<()> {
        self.tx("set agentless target", Mode::Write, |tx| {
            if tx
                .query_opt("SELECT id FROM assets WHERE id = ?", p![asset.0])?
                .is_none()
            {
                return Err(StoreError::NotFound {
                    what: format!("{asset}"),
                });
            }
            put_target(tx, asset, address, at)?.map_err(StoreError::InvalidArgument)
        })
    }

    /// Stop scanning `asset` over SSH (its inventory and findings stay).
    pub fn remove_agentless_target(&self, asset: AssetId) -> Result<bool> {
        self.tx("remove agentless target", Mode::Write, |tx| {
            Ok(tx.exec(
                "DELETE FROM agentless_targets WHERE asset_id = ?",
                p![asset.0],
            )? > 0)
        })
    }

    pub fn agentless_target(&self, asset: AssetId) -> Result<Option<AgentlessTarget>> {
        self.tx("agentless target", Mode::Read, |tx| {
            tx.query_opt(
                &format!("SELECT {TARGET_COLUMNS} FROM agentless_targets WHERE asset_id = ?"),
                p![asset.0],
            )?
            .map(|r| target_row(&r))
            .transpose()
        })
    }

    pub fn agentless_targets(&self) -> Result<Vec<AgentlessTarget>> {
        self.tx("agentless targets", Mode::Read, |tx| {
            tx.query(
                &format!("SELECT {TARGET_COLUMNS} FROM agentless_targets ORDER BY asset_id"),
                &[],
            )?
            .iter()
            .map(target_row)
            .collect()
        })
    }

    /// Targets due at `now`, the longest overdue first.
    pub fn due_agentless_targets(
        &self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<AgentlessTarget>> {
        self.tx("due agentless targets", Mode::Read, |tx| {
            tx.query(
                &format!(
                    "SELECT {TARGET_COLUMNS} FROM agentless_targets WHERE next_scan_at <= ? \
                     ORDER BY next_scan_at, asset_id LIMIT ?"
                ),
                p![now.unix_ms(), limit],
            )?
            .iter()
            .map(target_row)
            .collect()
        })
    }

    /// Move `asset`'s next scan from `seen` to `next`, only if nobody moved
    /// it meanwhile: of several schedulers, one queues the scan.
    pub fn reschedule_agentless(
        &self,
        asset: AssetId,
        seen: Timestamp,
        next: Timestamp,
    ) -> Result<bool> {
        self.tx("reschedule agentless target", Mode::Write, |tx| {
            Ok(tx.exec(
                "UPDATE agentless_targets SET next_scan_at = ? WHERE asset_id = ? AND next_scan_at = ?",
                p![next.unix_ms(), asset.0, seen.unix_ms()],
            )? > 0)
        })
    }

    /// Make `asset`'s scan due now; `false` when it has no target.
    pub fn scan_agentless_now(&self, asset: AssetId) -> Result<bool> {
        self.tx("scan agentless target now", Mode::Write, |tx| {
            Ok(tx.exec(
                "UPDATE agentless_targets SET next_scan_at = 0 WHERE asset_id = ?",
                p![asset.0],
            )? > 0)
        })
    }

    /// Record how a scan of `asset` ended. A failure touches nothing but
    /// the target's record: the asset's inventory and findings stay.
    pub fn record_agentless_scan(
        &self,
        asset: AssetId,
        at: Timestamp,
        outcome: &ScanOutcome<'_>,
    ) -> Result<()> {
        self.tx("record agentless scan", Mode::Write, |tx| {
            match outcome {
                ScanOutcome::Success => tx.exec(
                    "UPDATE agentless_targets SET last_attempt_at = ?, last_success_at = ?, \
                     last_error = NULL, last_error_detail = NULL, offered_fingerprint = NULL \
                     WHERE asset_id = ?",
                    p![at.unix_ms(), at.unix_ms(), asset.0],
                )?,
                ScanOutcome::Failure {
                    code,
                    detail,
                    fingerprint,
                } => tx.exec(
                    "UPDATE agentless_targets SET last_attempt_at = ?, last_error = ?, \
                     last_error_detail = ?, offered_fingerprint = ? WHERE asset_id = ?",
                    p![
                        at.unix_ms(),
                        *code,
                        *detail,
                        fingerprint.map(str::to_owned),
                        asset.0
                    ],
                )?,
            };
            Ok(())
        })
    }

    /// Note the keys `host:port` offered, as pending unless already known.
    pub fn offer_host_keys(
        &self,
        host: &str,
        port: u16,
        keys: &[(String, String, String)],
        at: Timestamp,
    ) -> Result<()> {
        self.tx("offer host keys", Mode::Write, |tx| {
            for (key_type, key, fingerprint) in keys {
                tx.exec(
                    "INSERT INTO ssh_host_keys (host, port, key_type, key_blob, fingerprint, \
                     status, first_seen_at) VALUES (?, ?, ?, ?, ?, 'pending', ?) \
                     ON CONFLICT (host, port, fingerprint) DO NOTHING",
                    p![
                        host,
                        i64::from(port),
                        key_type,
                        key,
                        fingerprint,
                        at.unix_ms()
                    ],
                )?;
            }
            Ok(())
        })
    }

    /// Every pinned or offered host key.
    pub fn host_keys(&self) -> Result<Vec<HostKeyInfo>> {
        self.tx("host keys", Mode::Read, |tx| {
            tx.query(
                "SELECT host, port, key_type, key_blob, fingerprint, status, first_seen_at, \
                 confirmed_at, confirmed_by FROM ssh_host_keys ORDER BY host, port, status, fingerprint",
                &[],
            )?
            .iter()
            .map(key_row)
            .collect()
        })
    }

    /// The confirmed keys of `host:port`.
    pub fn confirmed_host_keys(&self, host: &str, port: u16) -> Result<Vec<HostKeyInfo>> {
        Ok(self
            .host_keys()?
            .into_iter()
            .filter(|k| k.host == host && k.port == port && k.status == "confirmed")
            .collect())
    }

    /// An admin confirms the offered key `fingerprint` of `host:port`: it
    /// becomes the only key pinned for that address (a key confirmed
    /// before, after a reinstall, is dropped), and the targets at that
    /// address or behind it are due at once. `false` when no such key was offered.
    pub fn confirm_host_key(
        &self,
        host: &str,
        port: u16,
        fingerprint: &str,
        by: &str,
        at: Timestamp,
    ) -> Result<bool> {
        self.tx("confirm host key", Mode::Write, |tx| {
            let n = tx.exec(
                "UPDATE ssh_host_keys SET status = 'confirmed', confirmed_at = ?, confirmed_by = ? \
                 WHERE host = ? AND port = ? AND fingerprint = ?",
                p![at.unix_ms(), by, host, i64::from(port), fingerprint],
            )?;
            if n == 0 {
                return Ok(false);
            }
            tx.exec(
                "DELETE FROM ssh_host_keys WHERE host = ? AND port = ? AND fingerprint <> ?",
                p![host, i64::from(port), fingerprint],
            )?;
            // The targets at that address, and those reached through it
            // as their bastion (`jump` is written `user@host:port`, an IPv6
            // host in brackets).
            let bastion = if host.contains(':') {
                format!("%@[{host}]:{port}")
            } else {
                format!("%@{host}:{port}")
            };
            tx.exec(
                "UPDATE agentless_targets SET next_scan_at = 0 \
                 WHERE (host = ? AND port = ?) OR jump LIKE ?",
                p![host, i64::from(port), bastion],
            )?;
            Ok(true)
        })
    }
}
