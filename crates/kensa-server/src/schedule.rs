//! Schedules (issue 19): a saved export, of findings or of the asset
//! register, run on a cron expression in a time zone, as the user who
//! made it, delivered to a path under the export directory or to S3
//! through the export jobs and their worker (docs/exports.md).
//!
//! - `GET/POST /api/v1/schedules`, `GET/PUT/DELETE /api/v1/schedules/{id}`:
//!   who may make one is the export rule (`destination_role`, analyst by
//!   default); users see and change their own, admins all.
//! - The scheduler thread ([`run`]) queues each due occurrence once,
//!   whatever the number of servers on the database
//!   ([`kensa_store::Db::claim_schedule_run`]). Occurrences missed while
//!   no server ran are run once, late, not once each.
//! - Time comes from a [`Clock`]: the system's, or, for tests only, the
//!   instant written in the file `KENSA_TEST_CLOCK_FILE` names.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use kensa_store::{Db, Schedule, ScheduleDef, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::auth::{Principal, Role};
use crate::export::{Destination, Encryption, ExportSettings, Exports, check_destination};
use crate::kit::{ApiError, ApiResult, AppState, authorize, parse_json, with_db};

/// How often the scheduler looks for due schedules: cron has minute
/// resolution, so an occurrence starts within seconds of its time.
const POLL: Duration = Duration::from_secs(2);

/// The environment variable naming a test clock file. Tests only: a
/// production server never has it set (it says so loudly at start).
pub const TEST_CLOCK_ENV: &str = "KENSA_TEST_CLOCK_FILE";

/// Where the scheduler's "now" comes from.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// A file holding an RFC 3339 instant (tests advance it).
    file: Option<PathBuf>,
}

impl Clock {
    /// The test clock when [`TEST_CLOCK_ENV`] is set, else the system's.
    pub fn from_env() -> Clock {
        let file = std::env::var_os(TEST_CLOCK_ENV).map(PathBuf::from);
        if let Some(f) = &file {
            tracing::warn!(
                "schedules run on the test clock in {} ({TEST_CLOCK_ENV}); unset it in production",
                f.display()
            );
        }
        Clock { file }
    }

    /// The test clock in `file` (tests that start a server in-process).
    pub fn file(file: PathBuf) -> Clock {
        Clock { file: Some(file) }
    }

    pub fn now(&self) -> Timestamp {
        let Some(file) = &self.file else {
            return Timestamp::now();
        };
        match std::fs::read_to_string(file)
            .map_err(|e| e.to_string())
            .and_then(|t| Timestamp::parse_rfc3339(t.trim()).map_err(|e| e.to_string()))
        {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(
                    "test clock {}: {e}; the system clock is used",
                    file.display()
                );
                Timestamp::now()
            }
        }
    }
}

/// Where a schedule delivers. An enum so that a notification channel can
/// be added as one more variant (issue 19, item 4) beside the export
/// destinations; a download is not one (nobody is there to fetch it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum Delivery {
    /// A file under the export directory (its subdirectories are made).
    Path {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        path: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dir: Option<String>,
    },
    /// An object in the configured S3-compatible store.
    S3 {
        bucket: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefix: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        encryption: Option<Encryption>,
    },
}

impl Delivery {
    /// The export job destination that delivers it.
    pub fn destination(&self) -> Destination {
        match self.clone() {
            Delivery::Path { path, dir } => Destination::Path { path, dir },
            Delivery::S3 {
                bucket,
                key,
                prefix,
                encryption,
            } => Destination::S3 {
                bucket,
                key,
                prefix,
                encryption,
            },
        }
    }
}

/// What is exported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The findings the filter selects (CSV or JSON).
    Findings,
    /// The asset register (CSV or XLSX), as `GET /api/v1/assets/export`.
    Assets,
}

/// A schedule as the API takes it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScheduleRequest {
    pub name: String,
    /// Five fields: minute hour day-of-month month day-of-week
    /// (`0 9 * * MON`).
    pub cron: String,
    /// An IANA time zone (`Asia/Tokyo`, `UTC`).
    #[serde(default = "utc")]
    pub timezone: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    pub source: Source,
    pub format: String,
    #[serde(default)]
    pub filter: Option<String>,
    #[serde(default)]
    pub sort: Option<String>,
    /// The register's header language (`en`, `ja`).
    #[serde(default)]
    pub lang: Option<String>,
    pub delivery: Delivery,
}

fn utc() -> String {
    "UTC".into()
}
fn yes() -> bool {
    true
}

/// The next occurrence of `cron` in `timezone` strictly after `after`.
pub fn next_due(cron: &str, timezone: &str, after: Timestamp) -> Result<Timestamp, String> {
    let tz: chrono_tz::Tz = timezone
        .parse()
        .map_err(|_| format!("timezone {timezone:?}: an IANA name such as Asia/Tokyo or UTC"))?;
    if cron.split_whitespace().count() != 5 {
        return Err(format!(
            "cron {cron:?}: five fields (minute hour day-of-month month day-of-week), e.g. \"0 9 * * MON\""
        ));
    }
    let pattern = croner::Cron::new(cron)
        .parse()
        .map_err(|e| format!("cron {cron:?}: {e}"))?;
    let start = chrono::DateTime::from_timestamp_millis(after.unix_ms())
        .ok_or_else(|| format!("time {} out of range", after.unix_ms()))?
        .with_timezone(&tz);
    let next = pattern
        .find_next_occurrence(&start, false)
        .map_err(|e| format!("cron {cron:?}: no next occurrence ({e})"))?;
    Ok(Timestamp::from_unix_ms(next.timestamp_millis()))
}

pub(crate) fn routes() -> axum::Router<Arc<AppState>> {
    use axum::routing::get;
    axum::Router::new()
        .route("/api/v1/schedules", get(list).post(create))
        .route(
            "/api/v1/schedules/{id}",
            get(show).put(update).delete(remove),
        )
}

fn user_of(p: &Principal) -> ApiResult<(String, Role)> {
    match p {
        Principal::User { name, role } => Ok((name.clone(), *role)),
        Principal::Agent { .. } => Err(ApiError::forbidden("schedules need a user token")),
    }
}

/// Checks a request as `role` may make it; the stored definition's parts.
fn check(
    db: &Db,
    exports: &Exports,
    role: Role,
    req: &ScheduleRequest,
    now: Timestamp,
) -> ApiResult<(Value, Timestamp)> {
    let name = req.name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(ApiError::bad("name: 1 to 200 characters"));
    }
    let next = next_due(&req.cron, &req.timezone, now).map_err(ApiError::bad)?;
    let filter = kensa_store::Filter::parse(req.filter.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad(format!("filter: {e}")))?;
    let ext = match req.source {
        Source::Findings => match req.format.as_str() {
            "csv" | "json" => req.format.as_str(),
            f => {
                return Err(ApiError::bad(format!(
                    "format {f:?}: csv or json for findings"
                )));
            }
        },
        Source::Assets => match req.format.as_str() {
            "csv" | "xlsx" => req.format.as_str(),
            f => {
                return Err(ApiError::bad(format!(
                    "format {f:?}: csv or xlsx for the register"
                )));
            }
        },
    };
    if let Some(s) = req.sort.as_deref().filter(|s| !s.is_empty()) {
        let ok = match req.source {
            Source::Findings => s.parse::<kensa_store::Sort>().map(drop),
            Source::Assets => s.parse::<kensa_store::AssetSort>().map(drop),
        };
        ok.map_err(|e| ApiError::bad(format!("sort: {e}")))?;
    }
    if let Some(l) = &req.lang
        && crate::console::Lang::parse(l).is_none()
    {
        return Err(ApiError::bad(format!("lang {l:?}: en or ja")));
    }
    let settings = ExportSettings::load(db)?;
    check_destination(exports, &settings, role, &req.delivery.destination(), ext)?;
    let spec = json!({
        "source": req.source,
        "format": req.format,
        "filter": filter.to_string(),
        "sort": req.sort,
        "lang": req.lang,
        "delivery": req.delivery,
        // The role it was made with: the most it ever runs with (a user
        // demoted since runs with less).
        "owner_role": role.as_str(),
    });
    Ok((spec, next))
}

fn view(s: &Schedule) -> Value {
    json!({
        "id": s.id,
        "name": s.name,
        "owner": s.owner,
        "cron": s.cron,
        "timezone": s.timezone,
        "enabled": s.enabled,
        "source": s.spec["source"],
        "format": s.spec["format"],
        "filter": s.spec["filter"],
        "sort": s.spec["sort"],
        "lang": s.spec["lang"],
        "delivery": s.spec["delivery"],
        "next_due": s.next_due.to_rfc3339(),
        "last_due": s.last_due.map(|t| t.to_rfc3339()),
        "last_export": s.last_job,
        "created_at": s.created_at.to_rfc3339(),
        "updated_at": s.updated_at.to_rfc3339(),
    })
}

/// The schedule `id` if the caller may see it: its owner's, or any for
/// an admin.
fn visible(db: &Db, headers: &HeaderMap, id: i64) -> ApiResult<(String, Role, Schedule)> {
    let p = authorize(db, headers, Role::Viewer, "schedules need a user token")?;
    let (name, role) = user_of(&p)?;
    let s = db
        .schedule(id)?
        .filter(|s| role == Role::Admin || s.owner == name)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no schedule {id}")))?;
    Ok((name, role, s))
}

async fn list(State(state): State<Arc<AppState>>, headers: HeaderMap) -> ApiResult<Json<Value>> {
    with_db(&state, move |db| {
        let p = authorize(db, &headers, Role::Viewer, "schedules need a user token")?;
        let (name, role) = user_of(&p)?;
        let all = db.schedules()?;
        let mine: Vec<Value> = all
            .iter()
            .filter(|s| role == Role::Admin || s.owner == name)
            .map(view)
            .collect();
        Ok(Json(json!({ "schedules": mine })))
    })
    .await
}

async fn create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let req: ScheduleRequest = parse_json(&body, "schedule")?;
    let exports = Arc::clone(&state.exports);
    let clock = state.clock.clone();
    with_db(&state, move |db| {
        let p = authorize(db, &headers, Role::Viewer, "schedules need a user token")?;
        let (owner, role) = user_of(&p)?;
        let id = make(db, &exports, clock.now(), &owner, role, &req)?;
        let s = db
            .schedule(id)?
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no schedule {id}")))?;
        Ok((StatusCode::CREATED, Json(view(&s))))
    })
    .await
}

/// Checks and stores a new schedule of `owner`'s (the API and the
/// console); its id.
pub(crate) fn make(
    db: &Db,
    exports: &Exports,
    now: Timestamp,
    owner: &str,
    role: Role,
    req: &ScheduleRequest,
) -> ApiResult<i64> {
    let (spec, next) = check(db, exports, role, req, now)?;
    let id = db.create_schedule(
        owner,
        &ScheduleDef {
            name: req.name.trim(),
            cron: &req.cron,
            timezone: &req.timezone,
            spec: &spec,
            enabled: req.enabled,
            next_due: next,
        },
        now,
    )?;
    crate::audit::record(
        db,
        owner,
        "schedule.created",
        &format!("schedule {id}"),
        &req.name,
    );
    Ok(id)
}

/// Deletes schedule `id` if `user` (of `role`) may: its owner or an admin.
pub(crate) fn delete_as(db: &Db, user: &str, role: Role, id: i64) -> ApiResult<()> {
    let s = db
        .schedule(id)?
        .filter(|s| role == Role::Admin || s.owner == user)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no schedule {id}")))?;
    db.delete_schedule(id)?;
    crate::audit::record(
        db,
        user,
        "schedule.deleted",
        &format!("schedule {id}"),
        &s.name,
    );
    Ok(())
}

async fn show(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<i64>,
) -> ApiResult<Json<Value>> {
    with_db(&state, move |db| {
        let (_, _, s) = visible(db, &headers, id)?;
        let mut v = view(&s);
        v["runs"] = db
            .schedule_runs(id, 20)?
            .into_iter()
            .map(|(due, job)| json!({ "due": due.to_rfc3339(), "export": job }))
            .collect();
        Ok(Json(v))
    })
    .await
}

/// `PUT`: the whole definition again, checked with the caller's role; the
/// next due time is counted from now.
async fn update(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<i64>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let req: ScheduleRequest = parse_json(&body, "schedule")?;
    let exports = Arc::clone(&state.exports);
    let clock = state.clock.clone();
    with_db(&state, move |db| {
        let (actor, role, _) = visible(db, &headers, id)?;
        let now = clock.now();
        let (spec, next) = check(db, &exports, role, &req, now)?;
        db.update_schedule(
            id,
            &ScheduleDef {
                name: req.name.trim(),
                cron: &req.cron,
                timezone: &req.timezone,
                spec: &spec,
                enabled: req.enabled,
                next_due: next,
            },
            now,
        )?;
        crate::audit::record(
            db,
            &actor,
            "schedule.updated",
            &format!("schedule {id}"),
            &req.name,
        );
        let s = db
            .schedule(id)?
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no schedule {id}")))?;
        Ok(Json(view(&s)))
    })
    .await
}

async fn remove(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<i64>,
) -> ApiResult<StatusCode> {
    with_db(&state, move |db| {
        let (actor, role, _) = visible(db, &headers, id)?;
        delete_as(db, &actor, role, id)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// The export job payload of one occurrence of `s`, or why it is skipped
/// (its owner disabled, or no longer allowed to send exports there).
fn payload(db: &Db, s: &Schedule, due: Timestamp) -> Result<Value, String> {
    let made_with = s.spec["owner_role"]
        .as_str()
        .and_then(Role::parse)
        .unwrap_or(Role::Viewer);
    let role = match db.user(&s.owner).map_err(|e| e.to_string())? {
        Some(u) if u.disabled_at.is_some() => {
            return Err(format!("its owner {} is disabled", s.owner));
        }
        Some(u) => Role::parse(&u.role).unwrap_or(Role::Viewer).meet(made_with),
        // A token not tied to a user made it: the role it had then.
        None => made_with,
    };
    let settings = ExportSettings::load(db).map_err(|e| e.to_string())?;
    if !role.includes(settings.role()) {
        return Err(format!(
            "its owner {} ({}) may no longer send exports to a path or S3 (export setting destination_role: {})",
            s.owner,
            role.as_str(),
            settings.destination_role
        ));
    }
    let delivery: Delivery = serde_json::from_value(s.spec["delivery"].clone())
        .map_err(|e| format!("stored delivery unreadable: {e}"))?;
    Ok(json!({
        "owner": s.owner,
        "source": s.spec["source"],
        "format": s.spec["format"],
        "filter": s.spec["filter"],
        "sort": s.spec["sort"],
        "lang": s.spec["lang"],
        "destination": delivery.destination(),
        "schedule": s.id,
        "due": due.to_rfc3339(),
    }))
}

/// Queue what is due at `now`; how many exports were queued.
pub fn tick(db: &Db, worker: &str, now: Timestamp) -> crate::Result<usize> {
    let mut queued = 0;
    for s in db.due_schedules(now)? {
        let due = s.next_due;
        let next = match next_due(&s.cron, &s.timezone, now) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!("schedule {} ({}): {e}", s.id, s.name);
                continue;
            }
        };
        let p = match payload(db, &s, due) {
            Ok(p) => Some(p),
            Err(why) => {
                tracing::warn!(
                    "schedule {} ({}): the run due {} is skipped: {why}",
                    s.id,
                    s.name,
                    due.to_rfc3339()
                );
                None
            }
        };
        match db.claim_schedule_run(s.id, due, next, worker, p.as_ref(), now)? {
            Some(Some(job)) => {
                queued += 1;
                tracing::info!(
                    "schedule {} ({}): export {} queued for the run due {}",
                    s.id,
                    s.name,
                    job.0,
                    due.to_rfc3339()
                );
            }
            Some(None) => {}
            // Another server ran it.
            None => {}
        }
    }
    Ok(queued)
}

/// The scheduler thread: until `stop`.
pub fn run(name: String, db: Db, exports: Arc<Exports>, clock: Clock, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        match tick(&db, &name, clock.now()) {
            Ok(0) => {}
            Ok(_) => exports.wake.notify(),
            Err(e) => tracing::error!("scheduler {name}: {e}"),
        }
        // Short sleeps, so that a stop is seen at once.
        for _ in 0..(POLL.as_millis() / 100) {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).expect("time")
    }

    #[test]
    fn next_due_follows_the_time_zone() {
        // 09:00 in Tokyo is 00:00 UTC.
        assert_eq!(
            next_due("0 9 * * *", "Asia/Tokyo", at("2026-12-07T23:59:00Z")).expect("next"),
            at("2026-12-08T00:00:00Z")
        );
        assert_eq!(
            next_due("0 9 * * *", "Asia/Tokyo", at("2026-12-08T00:00:00Z")).expect("next"),
            at("2026-12-09T00:00:00Z"),
            "strictly after"
        );
        // New York leaves daylight saving on 2026-11-01: 09:00 is 14:00 UTC after.
        assert_eq!(
            next_due(
                "0 9 * * MON",
                "America/New_York",
                at("2026-11-01T00:00:00Z")
            )
            .expect("next"),
            at("2026-11-02T14:00:00Z")
        );
    }

    #[test]
    fn bad_expressions_name_the_field() {
        let e = next_due("0 9 * *", "UTC", Timestamp::now()).expect_err("four fields");
        assert!(e.starts_with("cron"), "{e}");
        let e = next_due("0 25 * * *", "UTC", Timestamp::now()).expect_err("hour 25");
        assert!(e.starts_with("cron"), "{e}");
        let e = next_due("0 9 * * *", "Mars/Olympus", Timestamp::now()).expect_err("zone");
        assert!(e.starts_with("timezone"), "{e}");
    }
}
