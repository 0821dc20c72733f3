//! Background evaluation: jobs claimed from the database queue, so that
//! several server processes share the work and a process that dies loses
//! none (its lease runs out and another claims the job).
//!
//! An `evaluate` job names an asset and the inventory to evaluate. The
//! result of matching one inventory against one knowledge base generation
//! is kept in a small cache: servers built from one image send identical
//! inventories, and those are matched once.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use kensa_detect::{Exposure, Finding, Options};
use kensa_kb::base::KnowledgeBase;
use kensa_store::{AssetId, Db, Job, Timestamp};

use crate::error::{Result, ServerError};

pub const EVALUATE: &str = "evaluate";
/// The knowledge base switched generations: re-evaluate the assets whose
/// inventories hold a (namespace, package) whose advisories changed.
pub const KB_UPDATED: &str = "kb-updated";

/// How often an idle worker looks at the queue even when not woken (jobs
/// queued by other processes, leases that ran out).
const POLL: Duration = Duration::from_secs(2);
/// How often expired risk acceptances are looked for and the planner's
/// statistics refreshed.
const HOUSEKEEPING: Duration = Duration::from_secs(600);
const CACHE: usize = 64;

/// Wakes idle workers when this process queues a job.
#[derive(Default)]
pub struct Wake {
    pending: Mutex<u64>,
    cv: Condvar,
}

impl Wake {
    pub fn notify(&self) {
        *self.pending.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        self.cv.notify_all();
    }

    pub(crate) fn wait(&self, timeout: Duration) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        if *pending == 0 {
            pending = self
                .cv
                .wait_timeout(pending, timeout)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        *pending = pending.saturating_sub(1);
    }
}

/// What one inventory gives under one knowledge base generation.
struct Evaluated {
    findings: Vec<Finding>,
    /// The server software in it (the ingest fast path reads no packages,
    /// so the evaluation records this asset fact).
    middleware: Vec<kensa_store::Middleware>,
    /// The scan's `dropped-record` warnings: knowledge-base records about
    /// an installed package that the import could not read, so that the
    /// asset says what was not checked (the other warnings are the
    /// inventory's own, already visible).
    dropped: Vec<kensa_detect::Warning>,
}

/// One worker thread's state.
pub struct Worker {
    pub name: String,
    /// Shared with the thread that renews the lease of the job at hand.
    pub db: Arc<Db>,
    pub kb_dir: PathBuf,
    kb: Option<KnowledgeBase>,
    cache: HashMap<(String, PathBuf), Arc<Evaluated>>,
    /// Set on one worker per process: it notices knowledge base updates
    /// and queues their `kb-updated` job.
    watch: Option<String>,
    /// Where job durations are counted for `/metrics`.
    metrics: Arc<crate::observe::Metrics>,
}

impl Worker {
    pub fn new(name: String, db: Db, kb_dir: PathBuf) -> Worker {
        Worker {
            name,
            db: Arc::new(db),
            kb_dir,
            kb: None,
            cache: HashMap::new(),
            watch: None,
            metrics: Arc::default(),
        }
    }

    /// Count this worker's jobs in the server's metrics.
    pub fn metrics(mut self, metrics: Arc<crate::observe::Metrics>) -> Worker {
        self.metrics = metrics;
        self
    }

    /// Make this worker the one that watches for knowledge base updates.
    pub fn watch_kb(mut self) -> Worker {
        self.watch = Some(KnowledgeBase::current_generation(&self.kb_dir).unwrap_or_default());
        self
    }

    /// Queue a `kb-updated` job when `current` moved since last looked.
    /// Several processes may each queue one for the same update: the job
    /// only queues evaluations (deduplicated per asset), so a second run
    /// costs a little work and changes nothing.
    fn check_kb(&mut self) -> Result<()> {
        let Some(seen) = &self.watch else {
            return Ok(());
        };
        let Ok(current) = KnowledgeBase::current_generation(&self.kb_dir) else {
            return Ok(());
        };
        if *seen == current {
            return Ok(());
        }
        self.db.enqueue(
            KB_UPDATED,
            &serde_json::json!({ "old": seen, "new": current }),
            Some(&format!("kb:{current}")),
        )?;
        self.watch = Some(current);
        Ok(())
    }

    /// The assets to re-evaluate after an update: those whose latest
    /// inventory looks up a changed key; all of them when the old
    /// generation is gone (the store keeps only the previous one).
    fn kb_updated(&mut self, job: &Job) -> Result<()> {
        let name = |k: &str| {
            job.payload
                .get(k)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        let new_name = name("new").unwrap_or_default();
        let new = KnowledgeBase::open_generation(&self.kb_dir, &new_name)?;
        let changed: Option<std::collections::HashSet<(String, String)>> = match name("old")
            .filter(|o| !o.is_empty())
            .map(|o| KnowledgeBase::open_generation(&self.kb_dir, &o))
        {
            Some(Ok(old)) => Some(
                KnowledgeBase::changed_keys(&old, &new)?
                    .into_iter()
                    .collect(),
            ),
            _ => None,
        };
        let mut keys_of: HashMap<String, bool> = HashMap::new();
        let (mut queued, mut assets) = (0usize, 0usize);
        for asset in self.db.assets()? {
            let Some(hash) = asset.inventory_hash.clone() else {
                continue;
            };
            assets += 1;
            let affected = match &changed {
                None => true,
                Some(changed) => match keys_of.get(&hash) {
                    Some(&a) => a,
                    None => {
                        let a = match self.db.load_inventory(&hash)? {
                            Some(inv) => kensa_detect::lookup_keys(&inv, &new)
                                .iter()
                                .any(|k| changed.contains(k)),
                            None => false,
                        };
                        keys_of.insert(hash.clone(), a);
                        a
                    }
                },
            };
            if affected {
                // The cause lets the notification rules make one message of
                // the findings this update opens across the fleet.
                self.db.enqueue(
                    EVALUATE,
                    &serde_json::json!({
                        "asset": asset.id.0,
                        "inventory": hash,
                        "cause": format!("kb:{new_name}"),
                    }),
                    Some(&format!("evaluate:{}", asset.id.0)),
                )?;
                queued += 1;
            }
        }
        // Once per generation, however many servers run this job.
        self.db.record_event(
            kensa_store::notify::KB_UPDATED,
            &format!("kb:{new_name}"),
            &serde_json::json!({
                "generation": new_name,
                "changed_keys": changed.as_ref().map(std::collections::HashSet::len),
                "assets": assets,
                "assets_to_reevaluate": queued,
            }),
            Some(&format!("kb-updated:{new_name}")),
        )?;
        tracing::info!(
            "knowledge base {new_name}: {} changed keys; {queued} of {assets} assets to re-evaluate",
            changed.as_ref().map_or_else(
                || "unknown (previous generation gone)".to_owned(),
                |c| c.len().to_string()
            )
        );
        Ok(())
    }

    /// The knowledge base, reopened when `kensa db update` has switched in
    /// a new generation.
    fn kb(&mut self) -> Result<&KnowledgeBase> {
        let current = std::fs::read_link(self.kb_dir.join("current")).ok();
        let stale = match (&self.kb, &current) {
            (Some(s), Some(c)) => !s.generation().ends_with(c),
            _ => true,
        };
        if stale {
            self.kb = Some(KnowledgeBase::open(&self.kb_dir)?);
            self.cache.clear();
        }
        self.kb
            .as_ref()
            .ok_or_else(|| ServerError::Internal("knowledge base not open".into()))
    }

    /// Claim and run one job; `false` when the queue had none.
    pub fn step(&mut self) -> Result<bool> {
        self.check_kb()?;
        let Some(job) = self.db.claim(
            &self.name,
            &[
                EVALUATE,
                KB_UPDATED,
                crate::unmanaged::REGISTER_EOL,
                crate::network::REACHABILITY_JOB,
            ],
            crate::lease::duration(),
        )?
        else {
            return Ok(false);
        };
        // A re-evaluation after a knowledge update can outlast any fixed
        // lease: it is renewed while this worker runs it.
        let db = Arc::clone(&self.db);
        let started = std::time::Instant::now();
        let result = crate::lease::run_leased(&db, &job, || {
            if job.kind == KB_UPDATED {
                self.kb_updated(&job)
            } else if job.kind == crate::network::REACHABILITY_JOB {
                crate::network::run(&self.db)
            } else if job.kind == crate::unmanaged::REGISTER_EOL {
                let db = Arc::clone(&self.db);
                crate::unmanaged::run(&db, self.kb()?, &job)
            } else {
                self.evaluate(&job)
            }
        });
        self.metrics
            .job(&job.kind, result.is_ok(), started.elapsed());
        match result {
            Ok(()) => self.db.complete(&job)?,
            Err(e) => {
                tracing::error!("job {} ({}) failed: {e}", job.id.0, job.kind);
                self.db.fail(&job, &e.to_string())?;
            }
        }
        Ok(true)
    }

    fn evaluate(&mut self, job: &Job) -> Result<()> {
        let asset = job
            .payload
            .get("asset")
            .and_then(serde_json::Value::as_i64)
            .map(AssetId)
            .ok_or_else(|| ServerError::Internal(format!("job {}: no asset", job.id.0)))?;
        let hash = job
            .payload
            .get("inventory")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| ServerError::Internal(format!("job {}: no inventory", job.id.0)))?
            .to_owned();
        let Some(record) = self.db.asset(asset)? else {
            // Deleted since: nothing to do.
            return Ok(());
        };
        // A newer inventory arrived after this job was queued: its own job
        // evaluates it.
        if record.inventory_hash.as_deref() != Some(hash.as_str()) {
            return Ok(());
        }
        // The override, else the reachability model, else the management
        // item; and the model's reachable ports for the per-service rule.
        let (exposure, reachable) = crate::network::scoring_inputs(&record);
        let shareable = exposure == Exposure::Unknown && reachable.is_none();
        let generation = self.kb()?.generation().to_owned();
        let key = (hash.clone(), generation);
        let evaluated = match self.cache.get(&key) {
            // Exposure changes the score: only exposure-free results are
            // shared.
            Some(f) if shareable => Arc::clone(f),
            _ => {
                let inventory = self.db.load_inventory(&hash)?.ok_or_else(|| {
                    ServerError::Internal(format!("inventory {hash} is not stored"))
                })?;
                let kb = self.kb()?;
                let report = kensa_detect::scan(
                    &inventory,
                    kb,
                    &Options {
                        exposure,
                        reachable,
                        ..Options::default()
                    },
                )?;
                let mut dropped: Vec<_> = report
                    .warnings
                    .into_iter()
                    .filter(|w| w.kind == kensa_detect::DROPPED_RECORD)
                    .collect();
                dropped.sort();
                let f = Arc::new(Evaluated {
                    findings: report.findings,
                    middleware: kensa_store::middleware_of(&inventory),
                    dropped,
                });
                if shareable {
                    if self.cache.len() >= CACHE {
                        self.cache.clear();
                    }
                    self.cache.insert(key, Arc::clone(&f));
                }
                f
            }
        };
        // Before the evaluation is applied: whoever sees the evaluation
        // time move sees the support dates that go with it.
        let eol = match (&record.os_id, &record.os_release) {
            (Some(id), Some(release)) => kensa_detect::os_eol(
                &kensa_inventory::model::Os {
                    id: id.clone(),
                    release: release.clone(),
                    ..Default::default()
                },
                self.kb()?,
                &crate::assets::today(),
            )?,
            _ => None,
        };
        if eol != record.eol {
            self.db.set_asset_eol(asset, eol.as_ref())?;
        }
        if evaluated.middleware != record.middleware {
            self.db.set_asset_middleware(asset, &evaluated.middleware)?;
        }
        if evaluated.dropped != record.scan_warnings {
            self.db.set_asset_scan_warnings(asset, &evaluated.dropped)?;
        }
        let findings = &evaluated.findings;
        let applied = match job.payload.get("cause").and_then(serde_json::Value::as_str) {
            Some(cause) => {
                self.db
                    .apply_evaluation_caused(asset, findings, Timestamp::now(), cause)
            }
            None => self.db.apply_evaluation(asset, findings, Timestamp::now()),
        };
        match applied {
            // Another worker applied a newer evaluation meanwhile: this
            // one's result is older, and dropping it is right.
            Ok(_) | Err(kensa_store::StoreError::StaleEvaluation { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        // A new inventory may listen on other ports: the model looks again
        // (it queues this evaluation once more only if the asset's
        // reachable ports changed, so the two settle).
        if self.db.has_network_documents()? {
            self.db.enqueue(
                crate::network::REACHABILITY_JOB,
                &serde_json::json!({}),
                Some(crate::network::REACHABILITY_JOB),
            )?;
        }
        Ok(())
    }

    /// Work until `stop`.
    pub fn run(mut self, wake: Arc<Wake>, stop: Arc<AtomicBool>) {
        let mut housekept: Option<std::time::Instant> = None;
        while !stop.load(Ordering::Relaxed) {
            // One worker per process keeps house: risk acceptances whose
            // date has passed go back to triage.
            if self.watch.is_some() && housekept.is_none_or(|t| t.elapsed() >= HOUSEKEEPING) {
                housekept = Some(std::time::Instant::now());
                if let Err(e) = self.db.expire_risk_acceptances(Timestamp::now()) {
                    tracing::error!("worker {}: expiring risk acceptances: {e}", self.name);
                }
                // The query planner's statistics, which SQLite never
                // refreshes by itself.
                if let Err(e) = self.db.analyze() {
                    tracing::error!("worker {}: analyze: {e}", self.name);
                }
            }
            match self.step() {
                Ok(true) => {}
                Ok(false) => wake.wait(POLL),
                Err(e) => {
                    tracing::error!("worker {}: {e}", self.name);
                    wake.wait(POLL);
                }
            }
        }
    }
}
