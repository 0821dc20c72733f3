//! What can be known of an asset nothing reports for: its OS's end of
//! life, from the `os`/`os_release` the register gives. The check is the
//! one an agent's inventory gets (`kensa_detect::scan` of an inventory
//! holding only the OS), so the finding is the same finding; the asset
//! keeps no inventory, so coverage still says `UNMANAGED`.

use kensa_detect::Options;
use kensa_inventory::Inventory;
use kensa_inventory::model::Os;
use kensa_kb::base::KnowledgeBase;
use kensa_store::{AssetId, Db, Job, Timestamp};

use crate::error::{Result, ServerError};

/// The job kind: `{ "asset": id }`.
pub const REGISTER_EOL: &str = "register-eol";

/// Queue the check of each asset (deduplicated per asset).
pub(crate) fn queue(
    db: &Db,
    assets: impl IntoIterator<Item = AssetId>,
) -> kensa_store::Result<usize> {
    let mut n = 0;
    for a in assets {
        db.enqueue(
            REGISTER_EOL,
            &serde_json::json!({ "asset": a.0 }),
            Some(&format!("register-eol:{}", a.0)),
        )?;
        n += 1;
    }
    Ok(n)
}

/// Run one job: an asset with an inventory is evaluated from it and is
/// left alone here.
pub(crate) fn run(db: &Db, kb: &KnowledgeBase, job: &Job) -> Result<()> {
    let asset = job
        .payload
        .get("asset")
        .and_then(serde_json::Value::as_i64)
        .map(AssetId)
        .ok_or_else(|| ServerError::Internal(format!("job {}: no asset", job.id.0)))?;
    let Some(record) = db.asset(asset)? else {
        return Ok(());
    };
    if record.inventory_hash.is_some() {
        return Ok(());
    }
    let (Some(id), Some(release)) = (&record.os_id, &record.os_release) else {
        return Ok(());
    };
    let os = Os {
        id: id.clone(),
        release: release.clone(),
        source_file: "asset register".into(),
        ..Os::default()
    };
    let today = crate::assets::today();
    let eol = kensa_detect::os_eol(&os, kb, &today)?;
    if eol != record.eol {
        db.set_asset_eol(asset, eol.as_ref())?;
    }
    let inventory = Inventory {
        os: Some(os),
        ..Inventory::default()
    };
    let report = kensa_detect::scan(&inventory, kb, &Options::default())?;
    match db.apply_evaluation(asset, &report.findings, Timestamp::now()) {
        Ok(_) | Err(kensa_store::StoreError::StaleEvaluation { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
