//! Local users, browser sessions and CSRF protection.
//!
//! - Passwords are hashed with argon2id (the `argon2` crate's defaults,
//!   a random 16-byte salt), stored as PHC strings. A login for an unknown
//!   name is checked against a dummy hash, so that the answer takes as long
//!   and reads the same as for a wrong password: the API does not tell
//!   which names exist.
//! - A login creates a session: a `kss_` token in the `kensa_session`
//!   cookie (`HttpOnly; Secure; SameSite=Strict`) and a CSRF token the
//!   console sends back in `X-CSRF-Token`. The database keeps only their
//!   digests. The CSRF token is derived from the session token (a keyed
//!   digest of it), so that `GET /api/v1/session` can hand it out again
//!   after a page reload without storing it; nobody without the cookie can
//!   compute it.
//! - [`csrf`] refuses any state-changing request authenticated by the
//!   cookie without the right `X-CSRF-Token`. Requests with an
//!   `Authorization` header need none: browsers never add that header on
//!   their own, and such a request is authenticated by its token alone.
//! - [`LoginThrottle`] refuses logins (429) after too many failures for a
//!   name from one address, or from one address at all.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path as UrlPath, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch};
use axum::{Extension, Json};
use kensa_store::{Db, StoreError, Timestamp};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::auth::{self, Principal, Role};
use crate::error::{Result, ServerError};
use crate::kit::{ApiError, ApiResult, AppState, authorize, parse_json, principal, with_db};
use crate::rules::{check_name, check_password, parse_role};

/// The session cookie's name.
pub const COOKIE: &str = "kensa_session";
/// The header that carries the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a session lasts from its login (not extended by use: a stolen
/// cookie stops working after this whatever happens).
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// The first start's admin user.
pub const FIRST_ADMIN: &str = "admin";

pub(crate) fn routes() -> Router<Arc<AppState>> {
    // Made now, at start: made by the first login for an unknown name, it
    // would make that answer slower than a wrong password's.
    dummy_hash();
    Router::new()
        .route("/api/v1/session", get(whoami).post(login).delete(logout))
        .route("/api/v1/users", get(list_users).post(create_user))
        .route("/api/v1/users/{name}", patch(update_user))
}

/// An argon2id PHC string for `password`, with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt)
        .map_err(|e| ServerError::Internal(format!("no randomness: {e}")))?;
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| ServerError::Internal(format!("password salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServerError::Internal(format!("hashing a password: {e}")))
}

/// Whether `password` matches the PHC string `hash` (its own parameters
/// are used; an unreadable hash matches nothing).
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// What an unknown name's login is checked against: a real hash with the
/// same parameters, of a password nobody knows.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        auth::new_token("")
            .and_then(|p| hash_password(&p))
            .unwrap_or_default()
    })
}

/// A random password of `len` characters from [A-Za-z0-9].
pub fn random_password(len: usize) -> Result<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        getrandom::getrandom(&mut buf)
            .map_err(|e| ServerError::Internal(format!("no randomness: {e}")))?;
        // 248 = 4 × 62: bytes above it are dropped, so that every
        // character is equally likely.
        for b in buf.iter().filter(|b| **b < 248) {
            if out.len() == len {
                break;
            }
            out.push(char::from(ALPHABET[usize::from(*b % 62)]));
        }
    }
    Ok(out)
}

/// The CSRF token of a session token.
pub(crate) fn csrf_token(session_token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"kensa csrf\0");
    h.update(session_token.as_bytes());
    format!("ksc_{}", hex::encode(h.finalize()))
}

/// The session token in the request's cookies.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    crate::kit::cookie(headers, COOKIE)
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

fn set_cookie(token: &str, max_age: u64) -> String {
    format!("{COOKIE}={token}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age={max_age}")
}

/// The caller of a request without an `Authorization` header: the user of
/// its session cookie.
pub(crate) fn principal_of_session(db: &Db, headers: &HeaderMap) -> ApiResult<Principal> {
    let token = session_cookie(headers).ok_or_else(ApiError::unauthorized)?;
    let s = db
        .session(&auth::digest(token), Timestamp::now())?
        .ok_or_else(ApiError::unauthorized)?;
    Ok(Principal::User {
        name: s.name,
        role: Role::parse(&s.role).ok_or_else(ApiError::unauthorized)?,
    })
}

/// The CSRF check, as a middleware over the whole API (see the module
/// documentation).
pub async fn csrf(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let method = req.method();
    let safe = [Method::GET, Method::HEAD, Method::OPTIONS].contains(method);
    // Logging in uses no session's authority: a stale cookie must not
    // stand in the way of a new login.
    let login = method == Method::POST && req.uri().path() == "/api/v1/session";
    // The console's plain HTML forms cannot set a header: their handlers
    // check the form's `csrf_token` field with [`console_session`] before
    // anything else (the body is theirs to read, not this middleware's).
    let console = !req.uri().path().starts_with("/api/");
    if safe || login || console || req.headers().contains_key(header::AUTHORIZATION) {
        return next.run(req).await;
    }
    let Some(token) = session_cookie(req.headers()) else {
        return next.run(req).await;
    };
    let digest = auth::digest(token);
    let presented = req
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(auth::digest);
    let session = with_db(&state, move |db| Ok(db.session(&digest, Timestamp::now())?)).await;
    match session {
        Err(e) => e.into_response(),
        // A dead cookie carries no authority: the handler answers 401 if it
        // needs a caller at all.
        Ok(None) => next.run(req).await,
        Ok(Some(s)) if presented.is_some_and(|p| auth::same_digest(&p, &s.csrf_digest)) => {
            next.run(req).await
        }
        Ok(Some(_)) => {
            let mut res = ApiError::new(
                StatusCode::FORBIDDEN,
                "missing or wrong X-CSRF-Token: a request authenticated by the session cookie \
                 must send the csrf_token its login (or GET /api/v1/session) returned",
            )
            .into_response();
            // The body is left unread, so the server drops the connection
            // after this answer; saying so keeps a client from sending its
            // next request on it (it would see the connection close).
            res.headers_mut().insert(
                header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
            res
        }
    }
}

/// The console's caller: the session of the cookie, and its CSRF token to
/// put in forms. With `form_token` (a form post), the token the form sent
/// must be the session's, compared as the header is in [`csrf`].
pub(crate) fn console_session(
    db: &Db,
    headers: &HeaderMap,
    form_token: Option<&str>,
) -> ApiResult<(kensa_store::SessionUser, String)> {
    let token = session_cookie(headers).ok_or_else(ApiError::unauthorized)?;
    let s = db
        .session(&auth::digest(token), Timestamp::now())?
        .ok_or_else(ApiError::unauthorized)?;
    if let Some(presented) = form_token
        && !auth::same_digest(&auth::digest(presented), &s.csrf_digest)
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "missing or wrong csrf_token in the form: reload the page and try again",
        ));
    }
    Ok((s, csrf_token(token)))
}

/// What a successful login hands out.
pub(crate) struct LoggedIn {
    pub role: Role,
    pub csrf: String,
    pub expires: Timestamp,
    /// The `Set-Cookie` value.
    pub cookie: String,
}

/// Checks a name and password (throttled, as [`login`] describes) and
/// creates a session: shared by the API's login and the console's form.
pub(crate) fn login_session(
    db: &Db,
    throttle: &LoginThrottle,
    name: &str,
    password: &str,
    addr: Option<IpAddr>,
) -> ApiResult<LoggedIn> {
    let now = Timestamp::now();
    // Counted as a failure before the password is checked, in one step
    // under the throttle's lock: concurrent guesses cannot all pass the
    // check before any of them is counted. A success takes it back.
    if throttle.reserve(name, addr, Instant::now()).is_some() {
        return Err(throttled());
    }
    let user = db.user_for_login(name)?;
    let hash = user
        .as_ref()
        .map_or_else(|| dummy_hash().to_owned(), |u| u.password_hash.clone());
    // Verified whatever the user's state, so that a disabled account
    // answers in the same time and words as a wrong password.
    let matches = verify_password(&hash, password);
    let user = match user {
        Some(u) if matches && !u.disabled => u,
        _ => {
            let from = addr.map_or_else(|| "unknown".to_owned(), |a| a.to_string());
            crate::audit::record(db, "-", "login.failed", name, &format!("from {from}"));
            return Err(login_failed());
        }
    };
    throttle.succeeded(name, addr);
    let role = Role::parse(&user.role).ok_or_else(login_failed)?;
    db.delete_expired_sessions(now)?;
    let token = auth::new_token("kss_")?;
    let csrf = csrf_token(&token);
    let expires = now.plus(SESSION_TTL);
    db.create_session(
        &auth::digest(&token),
        user.id,
        &auth::digest(&csrf),
        now,
        expires,
    )?;
    Ok(LoggedIn {
        role,
        csrf,
        expires,
        cookie: set_cookie(&token, SESSION_TTL.as_secs()),
    })
}

/// How long a throttled login must wait, if it must.
pub(crate) fn login_wait(
    throttle: &LoginThrottle,
    name: &str,
    addr: Option<IpAddr>,
) -> Option<u64> {
    throttle
        .retry_after(name, addr, Instant::now())
        .map(|w| w.as_secs().max(1))
}

/// The `Set-Cookie` value that ends the session cookie.
pub(crate) fn expired_cookie() -> String {
    set_cookie("", 0)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    name: String,
    password: String,
}

/// A login refused by [`LoginThrottle`] without checking the password.
pub(crate) fn throttled() -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too many failed logins: try again later",
    )
}

fn login_failed() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "wrong user name or password")
}

/// Failed logins, counted in this process per (name, client address) and
/// per client address over a fixed window. Past a limit, logins for that
/// key are refused (429) until its window ends, before any hashing: a
/// password guesser gets a few dozen tries an hour and cannot make the
/// server spend its CPU on argon2. Per (name, address) rather than per
/// name, so that nobody can lock a user out from elsewhere.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

/// The window failures are counted over.
pub const THROTTLE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failed logins allowed per (name, client address) in a window.
pub const FAILURES_PER_NAME: u32 = 10;
/// Failed logins allowed per client address in a window, all names.
pub const FAILURES_PER_ADDRESS: u32 = 100;
/// Keys kept before the expired ones are swept out.
const THROTTLE_SWEEP: usize = 10_000;

impl LoginThrottle {
    fn keys(name: &str, addr: Option<IpAddr>) -> [(String, u32); 2] {
        let addr = addr.map_or_else(|| "unknown".to_owned(), |a| a.to_string());
        [
            (format!("{addr} {name}"), FAILURES_PER_NAME),
            (addr, FAILURES_PER_ADDRESS),
        ]
    }

    /// How long until a login for `name` from `addr` is allowed again, if
    /// it is refused now.
    fn retry_after(&self, name: &str, addr: Option<IpAddr>, now: Instant) -> Option<Duration> {
        let failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        Self::wait(&failures, name, addr, now)
    }

    fn wait(
        failures: &HashMap<String, (u32, Instant)>,
        name: &str,
        addr: Option<IpAddr>,
        now: Instant,
    ) -> Option<Duration> {
        Self::keys(name, addr)
            .iter()
            .filter_map(|(key, limit)| {
                let (n, since) = failures.get(key)?;
                let end = *since + THROTTLE_WINDOW;
                (*n >= *limit && end > now).then(|| end - now)
            })
            .max()
    }

    /// Refuses the attempt (how long to wait) if a limit is reached, else
    /// counts it as a failure, both under one lock.
    fn reserve(&self, name: &str, addr: Option<IpAddr>, now: Instant) -> Option<Duration> {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(wait) = Self::wait(&failures, name, addr, now) {
            return Some(wait);
        }
        Self::count(&mut failures, name, addr, now);
        None
    }

    #[cfg(test)]
    fn failed(&self, name: &str, addr: Option<IpAddr>, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        Self::count(&mut failures, name, addr, now);
    }

    fn count(
        failures: &mut HashMap<String, (u32, Instant)>,
        name: &str,
        addr: Option<IpAddr>,
        now: Instant,
    ) {
        if failures.len() >= THROTTLE_SWEEP {
            failures.retain(|_, (_, since)| *since + THROTTLE_WINDOW > now);
        }
        for (key, _) in Self::keys(name, addr) {
            let entry = failures.entry(key).or_insert((0, now));
            if entry.1 + THROTTLE_WINDOW <= now {
                *entry = (0, now);
            }
            entry.0 = entry.0.saturating_add(1);
        }
    }

    /// A login succeeded: its name's failures are forgotten, and the
    /// attempt [`Self::reserve`] counted for the address taken back.
    fn succeeded(&self, name: &str, addr: Option<IpAddr>) {
        let [(key, _), (addr_key, _)] = Self::keys(name, addr);
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        failures.remove(&key);
        if let Some(e) = failures.get_mut(&addr_key) {
            e.0 = e.0.saturating_sub(1);
        }
    }
}

async fn login(
    State(state): State<Arc<AppState>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Bytes,
) -> ApiResult<Response> {
    let req: LoginRequest = parse_json(&body, "login")?;
    let addr = peer.map(|Extension(ConnectInfo(a))| a.ip());
    let throttle = Arc::clone(&state.login_throttle);
    if let Some(wait) = throttle.retry_after(&req.name, addr, Instant::now()) {
        let secs = wait.as_secs().max(1);
        return Ok((
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, secs.to_string())],
            Json(json!({
                "error": format!("too many failed logins: try again in {secs} s")
            })),
        )
            .into_response());
    }
    with_db(&state, move |db| {
        let l = login_session(db, &throttle, &req.name, &req.password, addr)?;
        Ok((
            StatusCode::CREATED,
            [
                (header::SET_COOKIE, l.cookie),
                (header::CACHE_CONTROL, "no-store".to_owned()),
            ],
            Json(json!({
                "user": req.name,
                "role": l.role.as_str(),
                "csrf_token": l.csrf,
                "expires_at": l.expires.unix_ms(),
            })),
        )
            .into_response())
    })
    .await
}

/// Who the caller is; for a session also its CSRF token and expiry.
async fn whoami(State(state): State<Arc<AppState>>, headers: HeaderMap) -> ApiResult<Response> {
    with_db(&state, move |db| {
        if !headers.contains_key(header::AUTHORIZATION) {
            let token = session_cookie(&headers).ok_or_else(ApiError::unauthorized)?;
            let s = db
                .session(&auth::digest(token), Timestamp::now())?
                .ok_or_else(ApiError::unauthorized)?;
            return Ok((
                [(header::CACHE_CONTROL, "no-store")],
                Json(json!({
                    "user": s.name,
                    "role": s.role,
                    "auth": "session",
                    "csrf_token": csrf_token(token),
                    "expires_at": s.expires_at.unix_ms(),
                })),
            )
                .into_response());
        }
        match principal(db, &headers)? {
            Principal::User { name, role } => Ok(Json(json!({
                "user": name,
                "role": role.as_str(),
                "auth": "token",
            }))
            .into_response()),
            Principal::Agent { .. } => Err(ApiError::forbidden("an agent token is not a user")),
        }
    })
    .await
}

/// Ends the cookie's session and expires the cookie.
async fn logout(State(state): State<Arc<AppState>>, headers: HeaderMap) -> ApiResult<Response> {
    let digest = session_cookie(&headers)
        .map(auth::digest)
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "no session cookie to end"))?;
    with_db(&state, move |db| Ok(db.delete_session(&digest)?)).await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, set_cookie("", 0))],
    )
        .into_response())
}

async fn list_users(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    with_db(&state, move |db| {
        authorize(
            db,
            &headers,
            Role::Admin,
            "listing users needs the admin role",
        )?;
        Ok(Json(json!({ "users": db.list_users()? })))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    name: String,
    role: String,
    password: String,
}

async fn create_user(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let req: NewUser = parse_json(&body, "new user")?;
    check_name(&req.name)?;
    let role = parse_role(&req.role)?;
    check_password(&req.password)?;
    with_db(&state, move |db| {
        // Authorised before hashing: nobody else gets to spend the
        // server's CPU on argon2.
        authorize(
            db,
            &headers,
            Role::Admin,
            "creating users needs the admin role",
        )?;
        let hash = hash_password(&req.password)?;
        if db
            .create_user(&req.name, role.as_str(), &hash, Timestamp::now())?
            .is_none()
        {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("user {:?} exists", req.name),
            ));
        }
        let user = db
            .user(&req.name)?
            .ok_or_else(|| ApiError::from(ServerError::Internal("a new user vanished".into())))?;
        Ok((StatusCode::CREATED, Json(json!({ "user": user }))))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserPatch {
    role: Option<String>,
    password: Option<String>,
    disabled: Option<bool>,
    /// Required when users change their own password without the admin
    /// role.
    current_password: Option<String>,
}

async fn update_user(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    UrlPath(name): UrlPath<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let req: UserPatch = parse_json(&body, "user change")?;
    let role = req.role.as_deref().map(parse_role).transpose()?;
    if let Some(p) = &req.password {
        check_password(p)?;
    }
    if role.is_none() && req.password.is_none() && req.disabled.is_none() {
        return Err(ApiError::bad(
            "nothing to change: give role, password or disabled",
        ));
    }
    with_db(&state, move |db| {
        let (caller, caller_role) = match principal(db, &headers)? {
            Principal::User { name, role } => (name, role),
            Principal::Agent { .. } => {
                return Err(ApiError::forbidden("an agent token cannot change users"));
            }
        };
        if caller_role != Role::Admin {
            if caller != name || role.is_some() || req.disabled.is_some() || req.password.is_none()
            {
                return Err(ApiError::forbidden(
                    "changing users needs the admin role; others may change only their own password",
                ));
            }
            let current = req.current_password.as_deref().ok_or_else(|| {
                ApiError::bad("current_password: needed to change one's own password")
            })?;
            let stored = db
                .user_for_login(&name)?
                .ok_or_else(|| ApiError::forbidden("no such user"))?;
            if !verify_password(&stored.password_hash, current) {
                return Err(ApiError::forbidden("current_password is wrong"));
            }
        }
        if db.user(&name)?.is_none() {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("user {name:?} not found"),
            ));
        }
        // Hashed before anything changes: the one step that can fail for
        // reasons of its own.
        let hash = req.password.as_deref().map(hash_password).transpose()?;
        let now = Timestamp::now();
        let refused = |e: StoreError| match e {
            StoreError::InvalidArgument(m) => ApiError::new(StatusCode::CONFLICT, m),
            e => ApiError::from(e),
        };
        if let Some(r) = role {
            db.set_role(&name, r.as_str(), now).map_err(refused)?;
            crate::audit::record(db, &caller, "user.role", &name, r.as_str());
        }
        if let Some(d) = req.disabled {
            db.set_disabled(&name, d, now).map_err(refused)?;
            let action = if d { "user.disabled" } else { "user.enabled" };
            crate::audit::record(db, &caller, action, &name, "");
        }
        if let Some(h) = hash {
            // The session making the change survives it; the user's others
            // end.
            let own = if headers.contains_key(header::AUTHORIZATION) {
                None
            } else {
                session_cookie(&headers).map(auth::digest)
            };
            db.set_password(&name, &h, now, own.as_deref())?;
        }
        let user = db.user(&name)?.ok_or_else(|| {
            ApiError::new(StatusCode::NOT_FOUND, format!("user {name:?} not found"))
        })?;
        Ok(Json(json!({ "user": user })))
    })
    .await
}

/// Create the first admin user when there is no user yet: `admin` with a
/// random password, written to `<data>/admin-password` (mode 0600). The
/// password, on the start that created it.
pub(crate) fn bootstrap_user(db: &Db, data_dir: &Path) -> Result<Option<String>> {
    if db.has_users()? {
        return Ok(None);
    }
    let password = random_password(20)?;
    let hash = hash_password(&password)?;
    let path = data_dir.join("admin-password");
    // The file first: a user whose password was never written anywhere
    // would be locked out for good.
    crate::write_secret(&path, &password)?;
    if db
        .create_user(FIRST_ADMIN, Role::Admin.as_str(), &hash, Timestamp::now())?
        .is_none()
    {
        // Another server process on the same database was first.
        let _ = std::fs::remove_file(&path);
        return Ok(None);
    }
    Ok(Some(password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse battery").expect("hash");
        assert!(h.starts_with("$argon2id$v=19$"), "{h}");
        assert!(verify_password(&h, "correct horse battery"));
        assert!(!verify_password(&h, "correct horse batterY"));
        assert!(!verify_password("not a hash", "x"));
        assert_ne!(h, hash_password("correct horse battery").expect("hash"));
        assert!(!verify_password(dummy_hash(), ""));
        assert!(dummy_hash().starts_with("$argon2id$"));
    }

    #[test]
    fn random_passwords_are_base62() {
        let a = random_password(20).expect("password");
        assert_eq!(a.len(), 20);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, random_password(20).expect("password"));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, "a=1; kensa_sessionx=no".parse().expect("v"));
        assert_eq!(session_cookie(&h), None);
        h.append(
            header::COOKIE,
            "b=2; kensa_session=kss_abc ; c=3".parse().expect("v"),
        );
        assert_eq!(session_cookie(&h), Some("kss_abc"));
        let mut e = HeaderMap::new();
        e.append(header::COOKIE, "kensa_session=".parse().expect("v"));
        assert_eq!(session_cookie(&e), None);
    }

    #[test]
    fn names_and_passwords_follow_the_policy() {
        assert!(check_name("alice.o-b_c@example").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name(&"a".repeat(65)).is_err());
        assert!(check_name("a b").is_err());
        assert!(check_name("é").is_err());
        assert!(check_password("elevenchars").is_err());
        assert!(check_password("twelve chars").is_ok());
        assert!(check_password(&"x".repeat(1025)).is_err());
        for weak in [
            "            ",
            "aaaaaaaaaaaa",
            "abababababab",
            "123123123123",
            "abcdefghijklm",
            "Password1234",
            "correct horse battery staple",
        ] {
            assert!(check_password(weak).is_err(), "{weak:?}");
        }
        assert!(check_password("a 13-char one!").is_ok());
    }

    #[test]
    fn failed_logins_are_throttled_per_name_and_address() {
        let t = LoginThrottle::default();
        let (a, b) = (
            Some(IpAddr::from([10, 0, 0, 1])),
            Some(IpAddr::from([10, 0, 0, 2])),
        );
        let t0 = Instant::now();
        for _ in 0..FAILURES_PER_NAME {
            assert_eq!(t.retry_after("anna", a, t0), None);
            t.failed("anna", a, t0);
        }
        let wait = t.retry_after("anna", a, t0).expect("throttled");
        assert_eq!(wait, THROTTLE_WINDOW);
        // Not another address, nor another name from the same one.
        assert_eq!(t.retry_after("anna", b, t0), None);
        assert_eq!(t.retry_after("bob", a, t0), None);
        // The window ends.
        assert_eq!(t.retry_after("anna", a, t0 + THROTTLE_WINDOW), None);
        t.failed("anna", a, t0 + THROTTLE_WINDOW);
        assert_eq!(t.retry_after("anna", a, t0 + THROTTLE_WINDOW), None);
        // Many names from one address.
        for i in 0..FAILURES_PER_ADDRESS {
            t.failed(&format!("n{i}"), b, t0);
        }
        assert!(t.retry_after("anyone", b, t0).is_some());
        // A success forgets the name's failures, not the address's.
        let c = Some(IpAddr::from([10, 0, 0, 3]));
        for _ in 0..FAILURES_PER_NAME - 1 {
            t.failed("carl", c, t0);
        }
        t.succeeded("carl", c);
        t.failed("carl", c, t0);
        assert_eq!(t.retry_after("carl", c, t0), None);
    }

    #[test]
    fn csrf_tokens_are_per_session_and_not_the_session() {
        let a = csrf_token("kss_a");
        assert_eq!(a, csrf_token("kss_a"));
        assert_ne!(a, csrf_token("kss_b"));
        assert!(a.starts_with("ksc_") && !a.contains("kss_a"));
    }
}
