//! The ingest fast path: an inventory stored from its canonical bytes
//! ([`Inventory::content_bytes`], which agents send as they are), with no
//! parse and serialisation of the whole document on the way, and read back
//! with a hash of the bytes instead of a serialisation.

use std::io::{Read, Write};

use kensa_inventory::Inventory;
use kensa_inventory::model::content_hash_of;

use crate::asset::{AssetId, AssetUpsert, InventoryChange, lock_asset};
use crate::error::{Result, StoreError};
use crate::sql::p;
use crate::time::Timestamp;
use crate::{Db, Mode};

/// An inventory as its canonical bytes, with what the store records about
/// it besides.
#[derive(Clone, Copy, Debug)]
pub struct CanonicalInventory<'a> {
    /// [`Inventory::content_bytes`] of the document.
    pub content: &'a [u8],
    /// [`content_hash_of`] `content`, computed by the caller (which had to
    /// hash the bytes to check them against the agent's claim anyway).
    pub hash: &'a str,
    pub schema_version: u32,
    pub package_count: usize,
    /// `content` already zlib-compressed (a gzip body's deflate stream in
    /// a zlib frame): stored as is, instead of compressing it again.
    pub zlib: Option<&'a [u8]>,
}

impl Db {
    /// Updates the asset's reported facts, stores its inventory from its
    /// canonical bytes and, when the content changed, queues a `job_kind`
    /// job `{"asset": id, "inventory": hash}`, all in one transaction:
    /// [`Db::update_asset_facts`] and [`Db::put_inventory_queued`] in one
    /// commit instead of two, without re-serialising the document.
    ///
    /// The bytes must be `content_bytes` (a document whose hash is the
    /// SHA-256 of other bytes would be refused by [`Db::load_inventory`]):
    /// the caller checks `hash` against them.
    pub fn ingest_inventory(
        &self,
        asset: AssetId,
        facts: &AssetUpsert,
        head: &Inventory,
        inv: CanonicalInventory<'_>,
        job_kind: Option<&str>,
    ) -> Result<InventoryChange> {
        // A report whose OS packages could not be read says nothing about
        // them: as the asset's inventory, its empty package list would
        // close every open finding. The previous inventory and findings
        // stay; the failure is recorded for the asset's coverage.
        let unread: Vec<String> = head
            .os_packages_unread()
            .map(|p| {
                if p.path.is_empty() {
                    p.message.clone()
                } else {
                    format!("{}: {}", p.path, p.message)
                }
            })
            .collect();
        if !unread.is_empty() {
            return self.record_inventory_failure(asset, &unread.join("; "), facts.seen_at);
        }
        // What `head` (the document's host and OS fields; its packages may
        // be absent) says beyond `facts`. The server software needs the
        // packages: the evaluation records it.
        let crate::register::HostFacts { ips, instance } = crate::register::host_facts(head)?;
        let pretty = head.os.as_ref().and_then(|o| o.pretty_name.clone());
        let max_attempts = self.retry.max_attempts;
        let hash = inv.hash;
        let packed = match inv.zlib {
            Some(z) => z.to_vec(),
            None => {
                let io = |e| StoreError::Io {
                    context: format!("compress inventory {hash}"),
                    source: e,
                };
                // The fastest level, as `put_inventory`: level 6 made
                // compression the largest cost of ingesting a report.
                let mut z = flate2::write::ZlibEncoder::new(
                    Vec::with_capacity(inv.content.len() / 8),
                    flate2::Compression::fast(),
                );
                z.write_all(inv.content).map_err(io)?;
                z.finish().map_err(io)?
            }
        };
        let size = i64::try_from(inv.content.len()).unwrap_or(i64::MAX);
        let packages = i64::try_from(inv.package_count).unwrap_or(i64::MAX);
        let now = facts.seen_at.unix_ms();
        self.tx("ingest inventory", Mode::Write, |tx| {
            let row = lock_asset(tx, asset, "inventory_hash")?;
            tx.exec(
                "INSERT INTO inventories (hash, schema_version, content, size, package_count, \
                 created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING",
                p![hash, inv.schema_version, packed, size, packages, now],
            )?;
            // A name given in an asset register stays (people chose it).
            tx.exec(
                "UPDATE assets SET name = CASE WHEN source = 'register' THEN name ELSE ? END, \
                 hostname = ?, os_id = ?, os_release = ?, os_pretty = ?, \
                 ip_addresses = COALESCE(?, ip_addresses), \
                 instance_id = COALESCE(instance_id, ?), \
                 updated_at = ?, inventory_hash = ?, inventory_at = ?, inventory_failure = NULL, \
                 inventory_failed_at = NULL WHERE id = ?",
                p![
                    &facts.name,
                    facts.hostname.clone(),
                    facts.os_id.clone(),
                    facts.os_release.clone(),
                    pretty.clone(),
                    ips.clone(),
                    instance.clone(),
                    now,
                    hash,
                    now,
                    asset.0,
                ],
            )?;
            let unchanged = row.opt_text(0)?.as_deref() == Some(hash);
            if unchanged {
                return Ok(InventoryChange::Unchanged);
            }
            tx.exec(
                "INSERT INTO asset_inventories (asset_id, hash, received_at) VALUES (?, ?, ?) \
                 ON CONFLICT DO NOTHING",
                p![asset.0, hash, now],
            )?;
            if let Some(kind) = job_kind {
                crate::queue::enqueue_in(
                    tx,
                    kind,
                    &serde_json::json!({ "asset": asset.0, "inventory": hash }),
                    Some(&format!("{kind}:{}", asset.0)),
                    max_attempts,
                )?;
            }
            Ok(InventoryChange::Changed {
                hash: hash.to_owned(),
            })
        })
    }

    /// Records that `asset`'s latest report could not read its OS
    /// packages (`reason`, the inventory's own words), keeping its
    /// inventory and findings as they were.
    pub fn record_inventory_failure(
        &self,
        asset: AssetId,
        reason: &str,
        at: Timestamp,
    ) -> Result<InventoryChange> {
        self.tx("record inventory failure", Mode::Write, |tx| {
            lock_asset(tx, asset, "id")?;
            tx.exec(
                "UPDATE assets SET inventory_failure = ?, inventory_failed_at = ?, updated_at = ? \
                 WHERE id = ?",
                p![reason, at.unix_ms(), at.unix_ms(), asset.0],
            )?;
            Ok(InventoryChange::Failed)
        })
    }

    /// [`Db::inventory`], checked by hashing the stored bytes rather than
    /// by serialising the parsed document again: the same check for every
    /// stored document (all are `content_bytes`), at a fraction of the
    /// cost, which matters when a knowledge update re-evaluates a fleet.
    pub fn load_inventory(&self, hash: &str) -> Result<Option<Inventory>> {
        let Some(bytes) = self.inventory_bytes(hash)? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::Json {
                context: format!("inventory {hash}"),
                source: e,
            })
    }

    /// A stored inventory's canonical bytes, checked against its hash.
    pub fn inventory_bytes(&self, hash: &str) -> Result<Option<Vec<u8>>> {
        let Some((packed, size)) = self.tx("read inventory", Mode::Read, |tx| {
            tx.query_opt(
                "SELECT content, size FROM inventories WHERE hash = ?",
                p![hash],
            )?
            .map(|r| Ok((r.bytes(0)?.to_vec(), r.i64(1)?)))
            .transpose()
        })?
        else {
            return Ok(None);
        };
        // The recorded size saves regrowing the buffer; bounded, so that a
        // corrupt row cannot ask for an absurd allocation.
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0).min(64 << 20));
        flate2::read::ZlibDecoder::new(&packed[..])
            .read_to_end(&mut bytes)
            .map_err(|e| StoreError::Io {
                context: format!("decompress inventory {hash}"),
                source: e,
            })?;
        let actual = content_hash_of(&bytes);
        if actual != hash {
            return Err(StoreError::Corrupt(format!(
                "inventory {hash}: the stored document hashes to {actual}"
            )));
        }
        Ok(Some(bytes))
    }
}
