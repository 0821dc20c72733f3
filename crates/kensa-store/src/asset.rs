//! Assets and their inventories.

use std::io::{Read, Write};

use kensa_inventory::Inventory;
use kensa_inventory::model::SourceKind;
use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};
use crate::register::{AssetSource, ExposedPort, Middleware};
use crate::sql::{Dialect, Row, Sql, p};
use crate::time::Timestamp;
use crate::{Db, Mode};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AssetId(pub i64);

impl std::fmt::Display for AssetId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "asset {}", self.0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssetKind {
    Host,
    Image,
}

impl AssetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AssetKind::Host => "host",
            AssetKind::Image => "image",
        }
    }

    fn parse(s: &str) -> Result<AssetKind> {
        match s {
            "host" => Ok(AssetKind::Host),
            "image" => Ok(AssetKind::Image),
            _ => Err(StoreError::Corrupt(format!("asset kind {s:?}"))),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InternetExposure {
    Yes,
    No,
    #[default]
    Unknown,
}

impl InternetExposure {
    pub fn as_str(self) -> &'static str {
        match self {
            InternetExposure::Yes => "yes",
            InternetExposure::No => "no",
            InternetExposure::Unknown => "unknown",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<InternetExposure> {
        match s {
            "yes" => Ok(InternetExposure::Yes),
            "no" => Ok(InternetExposure::No),
            "unknown" => Ok(InternetExposure::Unknown),
            _ => Err(StoreError::Corrupt(format!("internet exposure {s:?}"))),
        }
    }
}

/// What an agent or a scan reports about an asset. Upserting it never
/// touches the [`Management`] items, which people set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetUpsert {
    pub kind: AssetKind,
    /// What people call it: the hostname, or the image's first tag.
    pub name: String,
    pub hostname: Option<String>,
    /// `/etc/machine-id`: a host's identity when it has one.
    pub machine_id: Option<String>,
    /// The image config digest: an image's identity.
    pub image_id: Option<String>,
    pub os_id: Option<String>,
    pub os_release: Option<String>,
    pub seen_at: Timestamp,
}

impl AssetUpsert {
    /// The asset an inventory describes. A mounted root filesystem is a
    /// host's disk, so it makes a host.
    pub fn from_inventory(inv: &Inventory, seen_at: Timestamp) -> AssetUpsert {
        let image = inv.source.image.as_ref();
        let kind = if inv.source.kind == SourceKind::Image {
            AssetKind::Image
        } else {
            AssetKind::Host
        };
        let name = match kind {
            AssetKind::Host => inv.host.hostname.clone(),
            AssetKind::Image => image.and_then(|i| {
                i.repo_tags
                    .first()
                    .cloned()
                    .or_else(|| Some(i.id.clone()).filter(|id| !id.is_empty()))
            }),
        }
        .unwrap_or_else(|| inv.source.path.clone());
        AssetUpsert {
            kind,
            name,
            hostname: inv.host.hostname.clone(),
            machine_id: inv.host.machine_id.clone(),
            image_id: image.map(|i| i.id.clone()).filter(|id| !id.is_empty()),
            os_id: inv.os.as_ref().map(|o| o.id.clone()),
            os_release: inv.os.as_ref().map(|o| o.release.clone()),
            seen_at,
        }
    }

    /// What makes two reports the same asset: a host's machine id (which
    /// survives renames and new addresses), an image's digest (as
    /// Inspector, each image digest is its own resource), else the name.
    pub fn natural_key(&self) -> String {
        let id = match self.kind {
            AssetKind::Host => self.machine_id.as_deref(),
            AssetKind::Image => self.image_id.as_deref(),
        };
        match id.filter(|s| !s.is_empty()) {
            Some(id) => format!("{}:id:{id}", self.kind.as_str()),
            None => format!("{}:name:{}", self.kind.as_str(), self.name),
        }
    }
}

/// The management items of an asset; every one optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Management {
    /// `YYYY-MM-DD`.
    pub operation_start: Option<String>,
    /// `YYYY-MM-DD`.
    pub support_end: Option<String>,
    pub owner: Option<String>,
    pub team: Option<String>,
    pub environment: Option<String>,
    pub tags: Vec<String>,
    /// `None`: never set (the console shows it as unknown).
    pub internet_exposure: Option<InternetExposure>,
    /// The ports open to the internet, as a cloud or firewall description
    /// says (the agent's listeners are what the host listens on, not what
    /// reaches it).
    #[serde(default)]
    pub exposed_ports: Vec<ExposedPort>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Asset {
    pub id: AssetId,
    pub kind: AssetKind,
    pub name: String,
    pub hostname: Option<String>,
    pub machine_id: Option<String>,
    pub image_id: Option<String>,
    pub os_id: Option<String>,
    pub os_release: Option<String>,
    /// [`Inventory::content_hash`] of the latest inventory.
    pub inventory_hash: Option<String>,
    /// When the latest inventory arrived (also when it was unchanged).
    pub inventory_at: Option<Timestamp>,
    /// The time of the evaluation applied last.
    pub evaluated_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub management: Management,
    /// How the asset became known.
    pub source: AssetSource,
    /// The cloud instance id (EC2 `i-…`), from a register or the host.
    pub instance_id: Option<String>,
    pub ip_addresses: Vec<String>,
    /// `PRETTY_NAME` from the latest inventory, or the register's OS.
    pub os_pretty: Option<String>,
    /// Server software found among the latest inventory's OS packages.
    pub middleware: Vec<Middleware>,
    /// The OS's support dates, as of the latest evaluation.
    pub eol: Option<kensa_model::OsEol>,
    /// The latest report whose OS packages could not be read, when no
    /// readable one came after it: the asset's inventory and findings are
    /// the previous ones.
    pub inventory_failure: Option<InventoryFailure>,
    /// What the network reachability model computed, when network data
    /// was imported.
    pub reachability: Option<crate::reach::Reachability>,
    /// An admin's word on the exposure, above the model's.
    pub exposure_override: Option<crate::reach::ExposureOverride>,
    /// What the latest evaluation could not check: knowledge-base records
    /// dropped at import about packages this asset has (`dropped-record`).
    pub scan_warnings: Vec<kensa_model::Warning>,
}

impl Asset {
    /// The internet exposure that scores the asset's findings, and where
    /// it comes from: an admin's override, else the reachability model
    /// (when it could decide), else the management item (a register, a
    /// person).
    pub fn effective_exposure(&self) -> (Option<InternetExposure>, &'static str) {
        if let Some(o) = &self.exposure_override {
            return (Some(o.exposure), "override");
        }
        match &self.reachability {
            Some(r) if r.exposure != InternetExposure::Unknown => (Some(r.exposure), "model"),
            _ => (self.management.internet_exposure, "management"),
        }
    }
}

/// An inventory report that could not be used: its OS package database
/// was missing or unreadable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InventoryFailure {
    /// The inventory's own words (the database's path and the error).
    pub reason: String,
    pub at: Timestamp,
}

/// What [`Db::put_inventory`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InventoryChange {
    /// The asset's latest inventory had this content already.
    Unchanged,
    /// New content for this asset (stored, unless another asset had sent
    /// the same content before): it needs an evaluation.
    Changed { hash: String },
    /// The report's OS packages could not be read: recorded as the asset's
    /// inventory failure, the previous inventory kept.
    Failed,
}

pub(crate) const ASSET_COLUMNS: &str = "id, kind, name, hostname, machine_id, image_id, os_id, os_release, \
     inventory_hash, inventory_at, evaluated_at, created_at, updated_at, operation_start, \
     support_end, owner, team, environment, tags, internet_exposure, source, instance_id, \
     ip_addresses, exposed_ports, os_pretty, middleware, eol, inventory_failure, \
     inventory_failed_at, reachability, exposure_override, scan_warnings";

pub(crate) fn asset_of(r: &Row) -> Result<Asset> {
    let tags: Option<Vec<String>> = match r.opt_json(18)? {
        None => None,
        Some(v) => Some(
            serde_json::from_value(v)
                .map_err(|e| StoreError::Corrupt(format!("asset tags: {e}")))?,
        ),
    };
    Ok(Asset {
        id: AssetId(r.i64(0)?),
        kind: AssetKind::parse(&r.text(1)?)?,
        name: r.text(2)?,
        hostname: r.opt_text(3)?,
        machine_id: r.opt_text(4)?,
        image_id: r.opt_text(5)?,
        os_id: r.opt_text(6)?,
        os_release: r.opt_text(7)?,
        inventory_hash: r.opt_text(8)?,
        inventory_at: r.opt_i64(9)?.map(Timestamp::from_unix_ms),
        evaluated_at: r.opt_i64(10)?.map(Timestamp::from_unix_ms),
        created_at: Timestamp::from_unix_ms(r.i64(11)?),
        updated_at: Timestamp::from_unix_ms(r.i64(12)?),
        management: Management {
            operation_start: r.opt_text(13)?,
            support_end: r.opt_text(14)?,
            owner: r.opt_text(15)?,
            team: r.opt_text(16)?,
            environment: r.opt_text(17)?,
            tags: tags.unwrap_or_default(),
            internet_exposure: r
                .opt_text(19)?
                .map(|s| InternetExposure::parse(&s))
                .transpose()?,
            exposed_ports: json_list(r, 23, "asset exposed ports")?,
        },
        source: AssetSource::parse(&r.text(20)?)?,
        instance_id: r.opt_text(21)?,
        ip_addresses: json_list(r, 22, "asset addresses")?,
        os_pretty: r.opt_text(24)?,
        middleware: json_list(r, 25, "asset middleware")?,
        eol: match r.opt_json(26)? {
            None => None,
            Some(v) => Some(
                serde_json::from_value(v)
                    .map_err(|e| StoreError::Corrupt(format!("asset end of life: {e}")))?,
            ),
        },
        inventory_failure: match (r.opt_text(27)?, r.opt_i64(28)?) {
            (Some(reason), Some(at)) => Some(InventoryFailure {
                reason,
                at: Timestamp::from_unix_ms(at),
            }),
            _ => None,
        },
        reachability: match r.opt_json(29)? {
            None => None,
            Some(v) => Some(
                serde_json::from_value(v)
                    .map_err(|e| StoreError::Corrupt(format!("asset reachability: {e}")))?,
            ),
        },
        exposure_override: match r.opt_json(30)? {
            None => None,
            Some(v) => Some(
                serde_json::from_value(v)
                    .map_err(|e| StoreError::Corrupt(format!("asset exposure override: {e}")))?,
            ),
        },
        scan_warnings: json_list(r, 31, "asset scan warnings")?,
    })
}

/// A JSON array column; empty when NULL.
fn json_list<T: serde::de::DeserializeOwned>(r: &Row, i: usize, what: &str) -> Result<Vec<T>> {
    match r.opt_json(i)? {
        None => Ok(Vec::new()),
        Some(v) => {
            serde_json::from_value(v).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
        }
    }
}

/// Locks the asset's row until the transaction ends (PostgreSQL; SQLite's
/// write transaction already excludes every other writer), so that two
/// processes working on one asset take turns.
pub(crate) fn lock_asset(tx: &mut dyn Sql, asset: AssetId, columns: &str) -> Result<Row> {
    let lock = match tx.dialect() {
        Dialect::Sqlite => "",
        Dialect::Postgres => " FOR UPDATE",
    };
    tx.query_opt(
        &format!("SELECT {columns} FROM assets WHERE id = ?{lock}"),
        p![asset.0],
    )?
    .ok_or_else(|| StoreError::NotFound {
        what: asset.to_string(),
    })
}

impl Db {
    /// Creates the asset or updates its reported facts; its id either way.
    pub fn upsert_asset(&self, a: &AssetUpsert) -> Result<AssetId> {
        self.tx("upsert asset", Mode::Write, |tx| {
            let row = tx.query_one(
                "INSERT INTO assets (natural_key, kind, name, hostname, machine_id, image_id, \
                 os_id, os_release, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (natural_key) DO UPDATE SET name = excluded.name, \
                 hostname = excluded.hostname, machine_id = excluded.machine_id, \
                 image_id = excluded.image_id, os_id = excluded.os_id, \
                 os_release = excluded.os_release, updated_at = excluded.updated_at \
                 RETURNING id",
                p![
                    a.natural_key(),
                    a.kind.as_str(),
                    &a.name,
                    a.hostname.clone(),
                    a.machine_id.clone(),
                    a.image_id.clone(),
                    a.os_id.clone(),
                    a.os_release.clone(),
                    a.seen_at.unix_ms(),
                    a.seen_at.unix_ms(),
                ],
            )?;
            Ok(AssetId(row.i64(0)?))
        })
    }

    pub fn asset(&self, id: AssetId) -> Result<Option<Asset>> {
        self.tx("read asset", Mode::Read, |tx| {
            tx.query_opt(
                &format!("SELECT {ASSET_COLUMNS} FROM assets WHERE id = ?"),
                p![id.0],
            )?
            .map(|r| asset_of(&r))
            .transpose()
        })
    }

    pub fn assets(&self) -> Result<Vec<Asset>> {
        self.tx("list assets", Mode::Read, |tx| {
            tx.query(
                &format!("SELECT {ASSET_COLUMNS} FROM assets ORDER BY id"),
                &[],
            )?
            .iter()
            .map(asset_of)
            .collect()
        })
    }

    /// Replaces the asset's management items.
    pub fn set_management(&self, id: AssetId, m: &Management, at: Timestamp) -> Result<()> {
        let tags = serde_json::to_value(&m.tags).map_err(|e| StoreError::Json {
            context: "asset tags".into(),
            source: e,
        })?;
        let ports = serde_json::to_value(&m.exposed_ports).map_err(|e| StoreError::Json {
            context: "asset exposed ports".into(),
            source: e,
        })?;
        self.tx("set management items", Mode::Write, |tx| {
            let n = tx.exec(
                "UPDATE assets SET operation_start = ?, support_end = ?, owner = ?, team = ?, \
                 environment = ?, tags = ?, internet_exposure = ?, exposed_ports = ?, \
                 updated_at = ? WHERE id = ?",
                p![
                    m.operation_start.clone(),
                    m.support_end.clone(),
                    m.owner.clone(),
                    m.team.clone(),
                    m.environment.clone(),
                    tags,
                    m.internet_exposure.map(InternetExposure::as_str),
                    ports,
                    at.unix_ms(),
                    id.0,
                ],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound {
                    what: id.to_string(),
                });
            }
            Ok(())
        })
    }

    /// Records the asset's latest inventory. The document is stored once
    /// per content hash (servers built from one image send identical
    /// inventories), compressed, without its `collection` block, which
    /// re-evaluation does not need.
    pub fn put_inventory(
        &self,
        asset: AssetId,
        inv: &Inventory,
        at: Timestamp,
    ) -> Result<InventoryChange> {
        self.put_inventory_inner(asset, inv, at, None)
    }

    /// [`Db::put_inventory`], and when the content changed, a `job_kind`
    /// job `{"asset": id, "inventory": hash}` (deduplicated per asset) in
    /// the same transaction: a crash can never leave a new inventory
    /// stored with nothing queued to evaluate it.
    pub fn put_inventory_queued(
        &self,
        asset: AssetId,
        inv: &Inventory,
        at: Timestamp,
        job_kind: &str,
    ) -> Result<InventoryChange> {
        self.put_inventory_inner(asset, inv, at, Some(job_kind))
    }

    fn put_inventory_inner(
        &self,
        asset: AssetId,
        inv: &Inventory,
        at: Timestamp,
        job_kind: Option<&str>,
    ) -> Result<InventoryChange> {
        let max_attempts = self.retry.max_attempts;
        let bytes = inv.content_bytes();
        // `content_hash` is the digest of these bytes: hashing them here
        // saves serialising the document a second time.
        let hash = {
            use sha2::Digest;
            format!("sha256:{}", hex::encode(sha2::Sha256::digest(&bytes)))
        };
        // Compressed outside the transaction, so that SQLite's write lock
        // is held only for the statements.
        let io = |e| StoreError::Io {
            context: format!("compress inventory {hash}"),
            source: e,
        };
        // The fastest level: inventories are repetitive JSON, level 1 keeps
        // most of the gain, and level 6 made compression the largest cost
        // of ingesting a report (a third of the server's CPU).
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(&bytes).map_err(io)?;
        let packed = z.finish().map_err(io)?;
        let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        let packages = i64::try_from(inv.packages.len()).unwrap_or(i64::MAX);
        self.tx("store inventory", Mode::Write, |tx| {
            let row = lock_asset(tx, asset, "inventory_hash")?;
            tx.exec(
                "INSERT INTO inventories (hash, schema_version, content, size, package_count, \
                 created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING",
                p![
                    &hash,
                    inv.schema_version,
                    packed,
                    size,
                    packages,
                    at.unix_ms()
                ],
            )?;
            let unchanged = row.opt_text(0)?.as_deref() == Some(hash.as_str());
            tx.exec(
                "UPDATE assets SET inventory_hash = ?, inventory_at = ?, inventory_failure = NULL, \
                 inventory_failed_at = NULL WHERE id = ?",
                p![&hash, at.unix_ms(), asset.0],
            )?;
            if unchanged {
                return Ok(InventoryChange::Unchanged);
            }
            tx.exec(
                "INSERT INTO asset_inventories (asset_id, hash, received_at) VALUES (?, ?, ?) \
                 ON CONFLICT DO NOTHING",
                p![asset.0, &hash, at.unix_ms()],
            )?;
            if let Some(kind) = job_kind {
                crate::queue::enqueue_in(
                    tx,
                    kind,
                    &serde_json::json!({ "asset": asset.0, "inventory": &hash }),
                    Some(&format!("{kind}:{}", asset.0)),
                    max_attempts,
                )?;
            }
            Ok(InventoryChange::Changed { hash: hash.clone() })
        })
    }

    /// A stored inventory, as [`Inventory::content_bytes`] had it (the
    /// `collection` block empty); checked against its hash.
    pub fn inventory(&self, hash: &str) -> Result<Option<Inventory>> {
        let Some(packed) = self.tx("read inventory", Mode::Read, |tx| {
            tx.query_opt("SELECT content FROM inventories WHERE hash = ?", p![hash])?
                .map(|r| r.bytes(0).map(<[u8]>::to_vec))
                .transpose()
        })?
        else {
            return Ok(None);
        };
        let mut bytes = Vec::new();
        flate2::read::ZlibDecoder::new(&packed[..])
            .read_to_end(&mut bytes)
            .map_err(|e| StoreError::Io {
                context: format!("decompress inventory {hash}"),
                source: e,
            })?;
        let inv: Inventory = serde_json::from_slice(&bytes).map_err(|e| StoreError::Json {
            context: format!("inventory {hash}"),
            source: e,
        })?;
        if inv.content_hash() != hash {
            return Err(StoreError::Corrupt(format!(
                "inventory {hash}: the stored document hashes to {}",
                inv.content_hash()
            )));
        }
        Ok(Some(inv))
    }

    /// How many distinct inventories are stored.
    pub fn inventory_count(&self) -> Result<u64> {
        self.tx("count inventories", Mode::Read, |tx| {
            let n = tx
                .query_one("SELECT COUNT(*) FROM inventories", &[])?
                .i64(0)?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }
}
