//! Network reachability as the fleet database keeps it: the network
//! documents as uploaded (the AWS CLI's JSON, rules files), what the model
//! computed per asset, an admin's override of an asset's exposure, and the
//! reachability findings' own lifecycle (package kind `network`, beside the
//! package findings, which an evaluation never closes).

use serde::{Deserialize, Serialize};

use crate::asset::{AssetId, InternetExposure, lock_asset};
use crate::error::{Result, StoreError};
use crate::sql::{Val, p};
use crate::time::Timestamp;
use crate::{Db, Mode};

/// The package kind of reachability findings: their `package_name` is the
/// port range (`tcp/22`), their `vulnerability_id` `NETWORK_REACHABILITY`.
pub const NETWORK_KIND: &str = "network";

/// The job that recomputes reachability for every asset.
pub const REACHABILITY_JOB: &str = "reachability";

/// An uploaded network document, without its content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NetworkDocument {
    pub id: i64,
    /// `aws` or `rules`.
    pub kind: String,
    pub name: String,
    pub size: usize,
    pub uploaded_by: String,
    pub uploaded_at: Timestamp,
}

/// A port range the internet reaches on an asset, and through what.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReachableRange {
    pub protocol: String,
    pub from: u16,
    pub to: u16,
    pub via: String,
    /// A process listens there beyond loopback.
    pub listening: bool,
}

/// What the reachability model said about an asset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reachability {
    /// `yes` when some port is reachable, `no` when every port was decided
    /// and none is, `unknown` when data is missing (named in `ports`).
    pub exposure: InternetExposure,
    /// The AWS instance the asset was matched to, and how (`instance_id`,
    /// `private_ip`, `hostname`, `name`).
    pub instance: Option<String>,
    pub matched_by: Option<String>,
    pub reachable: Vec<ReachableRange>,
    /// The model's rows (kensa-reach's `PortReachability`), as computed.
    pub ports: serde_json::Value,
    pub computed_at: Timestamp,
}

/// An admin's word on an asset's exposure, above the model's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExposureOverride {
    pub exposure: InternetExposure,
    pub by: String,
    pub reason: String,
    pub at: Timestamp,
}

fn json_of<T: Serialize>(v: &T, what: &str) -> Result<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| StoreError::Json {
        context: what.to_owned(),
        source: e,
    })
}

impl Db {
    /// Stores a network document, replacing one of the same kind and name,
    /// and queues the reachability job, in one transaction. The caller
    /// has checked that the content parses.
    pub fn put_network_document(
        &self,
        kind: &str,
        name: &str,
        content: &[u8],
        by: &str,
        at: Timestamp,
    ) -> Result<i64> {
        let max_attempts = self.retry.max_attempts;
        self.tx("store network document", Mode::Write, |tx| {
            tx.exec(
                "DELETE FROM network_documents WHERE kind = ? AND name = ?",
                p![kind, name],
            )?;
            let id = tx
                .query_one(
                    "INSERT INTO network_documents (kind, name, content, uploaded_by, \
                     uploaded_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
                    p![kind, name, content.to_vec(), by, at.unix_ms()],
                )?
                .i64(0)?;
            crate::queue::enqueue_in(
                tx,
                REACHABILITY_JOB,
                &serde_json::json!({}),
                Some(REACHABILITY_JOB),
                max_attempts,
            )?;
            Ok(id)
        })
    }

    /// Removes a network document and queues the reachability job; `false`
    /// when there was no such document.
    pub fn delete_network_document(&self, id: i64) -> Result<bool> {
        let max_attempts = self.retry.max_attempts;
        self.tx("delete network document", Mode::Write, |tx| {
            let n = tx.exec("DELETE FROM network_documents WHERE id = ?", p![id])?;
            if n > 0 {
                crate::queue::enqueue_in(
                    tx,
                    REACHABILITY_JOB,
                    &serde_json::json!({}),
                    Some(REACHABILITY_JOB),
                    max_attempts,
                )?;
            }
            Ok(n > 0)
        })
    }

    /// The documents, in upload order, with their content: a later one
    /// replaces what an earlier one said about the same id.
    pub fn network_documents(&self) -> Result<Vec<(NetworkDocument, Vec<u8>)>> {
        self.tx("read network documents", Mode::Read, |tx| {
            tx.query(
                "SELECT id, kind, name, content, uploaded_by, uploaded_at FROM network_documents \
                 ORDER BY uploaded_at, id",
                &[],
            )?
            .iter()
            .map(|r| {
                let content = r.bytes(3)?.to_vec();
                Ok((
                    NetworkDocument {
                        id: r.i64(0)?,
                        kind: r.text(1)?,
                        name: r.text(2)?,
                        size: content.len(),
                        uploaded_by: r.text(4)?,
                        uploaded_at: Timestamp::from_unix_ms(r.i64(5)?),
                    },
                    content,
                ))
            })
            .collect()
        })
    }

    /// Records what the model computed for the asset (`None`: no network
    /// data any more).
    pub fn set_reachability(&self, asset: AssetId, r: Option<&Reachability>) -> Result<()> {
        let v = r.map(|r| json_of(r, "reachability")).transpose()?;
        self.tx("set reachability", Mode::Write, |tx| {
            tx.exec(
                "UPDATE assets SET reachability = ? WHERE id = ?",
                &[v.clone().map_or(Val::Null, Val::Json), Val::from(asset.0)],
            )?;
            Ok(())
        })
    }

    /// Sets or clears an admin's exposure override and, when the asset has
    /// an inventory, queues its evaluation (`job_kind`) in the same
    /// transaction, so that its findings are re-scored at once.
    pub fn set_exposure_override(
        &self,
        asset: AssetId,
        o: Option<&ExposureOverride>,
        job_kind: &str,
    ) -> Result<()> {
        let v = o.map(|o| json_of(o, "exposure override")).transpose()?;
        let max_attempts = self.retry.max_attempts;
        self.tx("set exposure override", Mode::Write, |tx| {
            let row = lock_asset(tx, asset, "inventory_hash")?;
            tx.exec(
                "UPDATE assets SET exposure_override = ? WHERE id = ?",
                &[v.clone().map_or(Val::Null, Val::Json), Val::from(asset.0)],
            )?;
            if let Some(hash) = row.opt_text(0)? {
                crate::queue::enqueue_in(
                    tx,
                    job_kind,
                    &serde_json::json!({ "asset": asset.0, "inventory": hash }),
                    Some(&format!("{job_kind}:{}", asset.0)),
                    max_attempts,
                )?;
            }
            Ok(())
        })
    }
}

impl Db {
    /// Whether any network document is stored: without one, no asset
    /// needs the reachability job after an evaluation.
    pub fn has_network_documents(&self) -> Result<bool> {
        self.tx("count network documents", Mode::Read, |tx| {
            Ok(tx
                .query_opt("SELECT id FROM network_documents LIMIT 1", &[])?
                .is_some())
        })
    }
}
