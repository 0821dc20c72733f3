//! Export settings: how long a download is kept, how much a user may keep,
//! who may send an export to a path or S3, and whether callers name the
//! file. Kept in the database (`settings`, key `exports`), so that every
//! server sharing it applies the same; read with
//! `GET /api/v1/settings/exports`, changed by an admin with `PUT`
//! (docs/exports.md).

#[allow(unused_imports)]
use super::*;

/// The settings, with their defaults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExportSettings {
    /// How long a finished download is kept, in seconds: its file is then
    /// deleted and the job marked expired.
    pub retention_seconds: u64,
    /// The bytes of finished downloads one user may have kept at once; no
    /// export to a file on the server may write more than this either.
    pub max_bytes_per_user: u64,
    /// The least role that may send an export to a `path` or `s3`
    /// destination (`viewer`, `analyst`, `admin`).
    pub destination_role: String,
    /// Whether the caller may name the file (`path`) or object (`key`);
    /// otherwise they are named by job (`kensa-export-<id>.<ext>`) inside
    /// the `dir` or `prefix` the caller gives.
    pub caller_names: bool,
}

/// A day.
pub const DEFAULT_RETENTION: u64 = 24 * 3600;
/// 1 GiB.
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;

impl Default for ExportSettings {
    fn default() -> ExportSettings {
        ExportSettings {
            retention_seconds: DEFAULT_RETENTION,
            max_bytes_per_user: DEFAULT_MAX_BYTES,
            destination_role: Role::Analyst.as_str().to_owned(),
            caller_names: false,
        }
    }
}

impl ExportSettings {
    /// The stored settings, the defaults where unset. Stored settings that
    /// no longer read (an older or hand-edited value) fall back to the
    /// defaults, loudly: exports must not stop over them.
    pub fn load(db: &Db) -> kensa_store::Result<ExportSettings> {
        Ok(match db.export_settings()? {
            None => ExportSettings::default(),
            Some(v) => match serde_json::from_value::<ExportSettings>(v) {
                Ok(s) if s.check().is_ok() => s,
                Ok(s) => {
                    tracing::error!(
                        "stored export settings refused ({}): the defaults apply",
                        s.check().err().unwrap_or_default()
                    );
                    ExportSettings::default()
                }
                Err(e) => {
                    tracing::error!("stored export settings unreadable ({e}): the defaults apply");
                    ExportSettings::default()
                }
            },
        })
    }

    /// Why these settings cannot be used, naming the field.
    pub fn check(&self) -> std::result::Result<(), String> {
        if !(1..=365 * 24 * 3600).contains(&self.retention_seconds) {
            return Err("retention_seconds: 1 to 31536000 (a year)".into());
        }
        if self.max_bytes_per_user == 0 {
            return Err("max_bytes_per_user: at least 1".into());
        }
        if Role::parse(&self.destination_role).is_none() {
            return Err(format!(
                "destination_role {:?}: viewer, analyst, auditor or admin",
                self.destination_role
            ));
        }
        Ok(())
    }

    pub fn retention(&self) -> Duration {
        Duration::from_secs(self.retention_seconds)
    }

    pub fn role(&self) -> Role {
        Role::parse(&self.destination_role).unwrap_or(Role::Analyst)
    }
}

/// `GET /api/v1/settings/exports`: any user may read the limits that
/// apply to them.
pub async fn get_settings(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    with_db(&state, move |db| {
        authorize(
            db,
            &headers,
            Role::Viewer,
            "reading settings needs a user token",
        )?;
        Ok(Json(json!(ExportSettings::load(db)?)))
    })
    .await
}

/// `PUT /api/v1/settings/exports` (admin): the fields given replace the
/// current ones; the result is checked whole, and recorded in the audit
/// trail.
pub async fn put_settings(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let change: serde_json::Map<String, Value> = parse_json(&body, "export settings")?;
    with_db(&state, move |db| {
        let p = authorize(
            db,
            &headers,
            Role::Admin,
            "export settings need the admin role",
        )?;
        let (actor, _) = owner_of(&p)?;
        let mut merged = serde_json::to_value(ExportSettings::load(db)?)
            .map_err(|e| ApiError::from(ServerError::Internal(e.to_string())))?;
        if let Some(m) = merged.as_object_mut() {
            m.extend(change);
        }
        let settings: ExportSettings = serde_json::from_value(merged)
            .map_err(|e| ApiError::bad(format!("export settings: {e}")))?;
        settings.check().map_err(ApiError::bad)?;
        let value = json!(settings);
        db.set_export_settings(&value, Timestamp::now())?;
        crate::audit::record(db, &actor, "export.settings", "exports", &value.to_string());
        Ok(Json(value))
    })
    .await
}
