//! The web console: server-rendered HTML pages under `/`, for people with
//! a browser session (log in at `/login`).
//!
//! - Every page is complete HTML, readable without JavaScript; forms are
//!   plain POSTs that answer with a redirect. One small script
//!   (`/static/console.js`) only adds conveniences (select all, confirm a
//!   bulk change).
//! - Markup is written with `maud`, which escapes every interpolated
//!   string: nothing a user, an agent or an advisory wrote reaches the page
//!   unescaped.
//! - Responses carry `Content-Security-Policy: default-src 'self'`: the
//!   stylesheet and the script are served from here, nothing inline runs.
//! - Forms carry the session's CSRF token in a hidden `csrf_token` field,
//!   checked before anything else ([`crate::session::console_session`]);
//!   the session cookie is `SameSite=Strict` as well.
//! - Roles are checked on the server in every POST handler, exactly as the
//!   API checks them: hiding a control from a viewer is only a courtesy.
//! - Data comes from the store's query API through [`with_db`], as the API
//!   handlers do.

mod i18n;
mod pages;
pub(crate) mod svg;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use kensa_store::{Db, Timestamp};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

use crate::auth::Role;
use crate::kit::{ApiError, ApiResult, AppState, with_db};
pub use i18n::Lang;
pub use pages::{render_assets, render_findings};

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(pages::dashboard))
        .route("/login", get(login_page).post(login_post))
        .route("/logout", post(logout))
        .route("/lang", get(set_lang))
        .route("/static/console.css", get(css))
        .route("/static/console.js", get(js))
        .route("/ca.pem", get(ca_pem))
        .route("/findings", get(pages::findings))
        .route("/findings/bulk", post(pages::bulk))
        .route("/views", post(pages::view_save))
        .route("/views/delete", post(pages::view_delete))
        .route("/findings/{id}", get(pages::finding))
        .route("/findings/{id}/triage", post(pages::triage))
        .route("/assets", get(pages::assets))
        .route("/assets/{id}", get(pages::asset).post(pages::asset_update))
        .route("/assets/{id}/scan", post(pages::scan_now))
        .route("/assets/{id}/ssh-target", post(pages::ssh_target))
        .route(
            "/agentless/host-keys/confirm",
            post(pages::host_key_confirm),
        )
        .route("/admin/ssh-credentials", post(pages::credential_create))
        .route("/coverage", get(pages::coverage))
        .route("/rules", get(pages::rules).post(pages::rule_create))
        .route("/exports", get(pages::exports).post(pages::export_create))
        .route("/exports/{id}/{action}", post(pages::export_action))
        .route("/rules/{id}/delete", post(pages::rule_delete))
        .route("/reviews", get(pages::reviews).post(pages::review_open))
        .route("/reviews/{id}", get(pages::review))
        .route("/reviews/{id}/close", post(pages::review_close))
        .route(
            "/reviews/{id}/assets/{asset}/answer",
            post(pages::review_answer),
        )
        .route(
            "/reviews/{id}/assets/{asset}/sign",
            post(pages::review_sign),
        )
        .route(
            "/reviews/{id}/assets/{asset}/send-back",
            post(pages::review_send_back),
        )
        .route(
            "/schedules",
            get(pages::schedules).post(pages::schedule_create),
        )
        .route("/schedules/{id}/delete", post(pages::schedule_delete))
        .route("/admin", get(pages::admin))
        .route("/admin/notifications", get(pages::notifications))
        .route(
            "/admin/notifications/rules",
            post(pages::notification_rule_create),
        )
        .route(
            "/admin/notifications/rules/{id}/delete",
            post(pages::notification_rule_delete),
        )
        .route(
            "/admin/notifications/rules/{id}/test",
            post(pages::notification_rule_test),
        )
        .route(
            "/admin/notifications/dead/{id}/retry",
            post(pages::dead_letter_retry),
        )
        .route("/admin/users", post(pages::user_create))
        .route("/admin/tokens", post(pages::token_create))
        .route("/admin/tokens/revoke", post(pages::token_revoke))
        .route("/admin/enroll", post(pages::enroll_create))
        .route("/admin/enroll/revoke", post(pages::enroll_revoke))
        .route("/admin/agents/revoke", post(pages::agent_revoke))
}

/// The caller of a console page.
pub(crate) struct Ctx {
    pub user: String,
    pub role: Role,
    /// The session's CSRF token, for the page's forms.
    pub csrf: String,
    pub lang: Lang,
    /// The request's path and query, for the language switch's way back.
    pub here: String,
}

impl Ctx {
    pub fn t(&self, key: &'static str) -> &'static str {
        self.lang.t(key)
    }
    pub fn can(&self, role: Role) -> bool {
        self.role.includes(role)
    }
    /// Refuses, as the API does, what the caller's role does not allow.
    pub fn require(&self, role: Role, what: &str) -> ApiResult<()> {
        if self.can(role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(what))
        }
    }
}

/// The session of a page request (GET).
pub(crate) fn ctx(db: &Db, headers: &HeaderMap, here: String) -> ApiResult<Ctx> {
    let (s, csrf) = crate::session::console_session(db, headers, None)?;
    ctx_of(s, csrf, headers, here)
}

fn ctx_of(
    s: kensa_store::SessionUser,
    csrf: String,
    headers: &HeaderMap,
    here: String,
) -> ApiResult<Ctx> {
    Ok(Ctx {
        role: Role::parse(&s.role).ok_or_else(ApiError::unauthorized)?,
        user: s.name,
        csrf,
        lang: Lang::of(headers),
        here,
    })
}

/// A posted form's fields, in order (a name may repeat: check boxes).
pub(crate) struct Form(Vec<(String, String)>);

impl Form {
    pub fn parse(body: &[u8]) -> ApiResult<Form> {
        serde_urlencoded::from_bytes(body)
            .map(Form)
            .map_err(|e| ApiError::bad(format!("form: {e}")))
    }
    /// The field's value, trimmed; `None` when absent or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }
    pub fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.trim())
    }
}

/// The session of a form post, after checking the form's CSRF token.
pub(crate) fn post_ctx(db: &Db, headers: &HeaderMap, form: &Form) -> ApiResult<Ctx> {
    let token = form.get("csrf_token").unwrap_or("");
    let (s, csrf) = crate::session::console_session(db, headers, Some(token))?;
    ctx_of(s, csrf, headers, String::new())
}

/// A console answer: a page, or a redirect.
pub(crate) enum Out {
    Page(Markup),
    /// 303 to this local path.
    See(String),
}

/// The headers every console answer carries.
fn secure(mut r: Response) -> Response {
    let h = r.headers_mut();
    let set = |h: &mut HeaderMap, k: header::HeaderName, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    );
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    // Filters and cursors are in the addresses: not for other sites.
    set(h, header::REFERRER_POLICY, "same-origin");
    r
}

/// Only a path on this server (`/…`, not `//host`): the way back after a
/// form or a language switch is never an open redirect. Browsers drop tabs
/// and newlines from a `Location` (`/\t/evil.example` becomes
/// `//evil.example`) and read `\\` as `/`, so any character outside visible
/// ASCII, and any backslash, sends the user home instead; this also keeps
/// the value a valid header (a newline used to fail the request with 500).
pub(crate) fn local(path: &str) -> String {
    let visible = path.bytes().all(|b| b.is_ascii_graphic());
    if visible && path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') {
        path.to_owned()
    } else {
        "/".to_owned()
    }
}

/// Turns a handler's result into the answer: pages get the security
/// headers and `no-store`; a missing session goes to the login page; other
/// errors are an HTML page with the API's status and message.
pub(crate) fn answer(lang: Lang, here: &str, r: ApiResult<Out>) -> Response {
    let resp = match r {
        Ok(Out::Page(m)) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            m.into_string(),
        )
            .into_response(),
        Ok(Out::See(to)) => Redirect::to(&local(&to)).into_response(),
        Err(e) if e.status() == StatusCode::UNAUTHORIZED => {
            let next = serde_urlencoded::to_string([("next", here)]).unwrap_or_default();
            Redirect::to(&format!("/login?{next}")).into_response()
        }
        Err(e) => {
            let mut r = (
                e.status(),
                [
                    (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                error_page(lang, e.status(), e.message()).into_string(),
            )
                .into_response();
            if let Some(s) = e.retry_after() {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, header::HeaderValue::from(s));
            }
            r
        }
    };
    secure(resp)
}

fn error_page(lang: Lang, status: StatusCode, message: &str) -> Markup {
    bare(
        lang,
        lang.t("err.title"),
        html! {
            main class="narrow" {
                h1 { (status.as_u16()) " " (lang.t("err.title")) }
                p class="error" { (message) }
                p { a href="/" { (lang.t("nav.dashboard")) } }
            }
        },
    )
}

/// A page without navigation (login, errors).
fn bare(lang: Lang, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Kensa" }
                link rel="stylesheet" href="/static/console.css";
                script src="/static/console.js" defer {}
            }
            body { (body) }
        }
    }
}

/// A page with the navigation bar.
pub(crate) fn layout(cx: &Ctx, title: &str, body: Markup) -> Markup {
    let other = cx.lang.other();
    let switch = serde_urlencoded::to_string([("set", other.code()), ("back", cx.here.as_str())])
        .unwrap_or_default();
    let nav: &[(&str, &'static str, Role)] = &[
        ("/", "nav.dashboard", Role::Viewer),
        ("/findings", "nav.findings", Role::Viewer),
        ("/assets", "nav.assets", Role::Viewer),
        ("/coverage", "nav.coverage", Role::Viewer),
        ("/rules", "nav.rules", Role::Viewer),
        ("/reviews", "nav.reviews", Role::Viewer),
        ("/exports", "nav.exports", Role::Viewer),
        ("/schedules", "nav.schedules", Role::Viewer),
        ("/admin", "nav.admin", Role::Admin),
        ("/admin/notifications", "nav.notifications", Role::Admin),
    ];
    let role_key = match cx.role {
        Role::Viewer => "role.viewer",
        Role::Analyst => "role.analyst",
        Role::Auditor => "role.auditor",
        Role::Admin => "role.admin",
    };
    bare(
        cx.lang,
        title,
        html! {
            header class="top" {
                a class="brand" href="/" { "Kensa" }
                nav {
                    @for (href, key, role) in nav {
                        @if cx.can(*role) { a href=(href) { (cx.t(key)) } }
                    }
                }
                div class="who" {
                    a id="lang-switch" href={ "/lang?" (switch) } lang=(other.code()) { (other.t("lang.name")) }
                    span class="user" { (cx.user) " (" (cx.t(role_key)) ")" }
                    form method="post" action="/logout" class="inline" {
                        input type="hidden" name="csrf_token" value=(cx.csrf);
                        button type="submit" class="link" { (cx.t("nav.logout")) }
                    }
                }
            }
            main { (body) }
        },
    )
}

/// The hidden CSRF field of a form.
pub(crate) fn csrf_field(cx: &Ctx) -> Markup {
    html! { input type="hidden" name="csrf_token" value=(cx.csrf); }
}

/// A time as `YYYY-MM-DD HH:MM` UTC.
pub(crate) fn when(t: Timestamp) -> String {
    let s = t.to_rfc3339();
    match (s.get(..10), s.get(11..16)) {
        (Some(d), Some(h)) => format!("{d} {h}"),
        _ => s,
    }
}

/// A time as `YYYY-MM-DD` UTC.
pub(crate) fn day(t: Timestamp) -> String {
    t.to_rfc3339().get(..10).unwrap_or_default().to_owned()
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
    error: Option<String>,
}

async fn login_page(headers: HeaderMap, Query(q): Query<LoginQuery>) -> Response {
    let lang = Lang::of(&headers);
    let next = local(q.next.as_deref().unwrap_or("/"));
    let message = match q.error.as_deref() {
        Some("throttled") => Some(lang.t("login.throttled")),
        Some(_) => Some(lang.t("login.failed")),
        None => None,
    };
    let page = bare(
        lang,
        lang.t("login.title"),
        html! {
            main class="narrow" {
                h1 { "Kensa" }
                @if let Some(m) = message { p class="error" id="login-error" { (m) } }
                form method="post" action="/login" class="stack" {
                    input type="hidden" name="next" value=(next);
                    label { (lang.t("login.name")) input type="text" name="name" autocomplete="username" required autofocus; }
                    label { (lang.t("login.password")) input type="password" name="password" autocomplete="current-password" required; }
                    button type="submit" id="login-submit" { (lang.t("login.submit")) }
                }
                p { a href={ "/lang?set=" (lang.other().code()) "&back=/login" } { (lang.other().t("lang.name")) } }
            }
        },
    );
    answer(lang, "/login", Ok(Out::Page(page)))
}

async fn login_post(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Bytes,
) -> Response {
    let lang = Lang::of(&headers);
    let form = match Form::parse(&body) {
        Ok(f) => f,
        Err(e) => return answer(lang, "/login", Err(e)),
    };
    let name = form.get("name").unwrap_or("").to_owned();
    let password = form
        .0
        .iter()
        .find(|(k, _)| k == "password")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let next = local(form.get("next").unwrap_or("/"));
    let addr = peer.map(|Extension(ConnectInfo(a))| a.ip());
    let throttle = Arc::clone(&state.login_throttle);
    let back = |error: &str| {
        let q = serde_urlencoded::to_string([("next", next.as_str()), ("error", error)])
            .unwrap_or_default();
        secure(Redirect::to(&format!("/login?{q}")).into_response())
    };
    if crate::session::login_wait(&throttle, &name, addr).is_some() {
        return back("throttled");
    }
    let r = with_db(&state, move |db| {
        crate::session::login_session(db, &throttle, &name, &password, addr)
    })
    .await;
    match r {
        Ok(l) => {
            let mut resp = Redirect::to(&next).into_response();
            if let Ok(v) = HeaderValue::from_str(&l.cookie) {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            secure(resp)
        }
        Err(e) if e.status() == StatusCode::UNAUTHORIZED => back("failed"),
        Err(e) if e.status() == StatusCode::TOO_MANY_REQUESTS => back("throttled"),
        Err(e) => answer(lang, "/login", Err(e)),
    }
}

async fn logout(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let lang = Lang::of(&headers);
    let r = async {
        let form = Form::parse(&body)?;
        let h = headers.clone();
        with_db(&state, move |db| {
            post_ctx(db, &h, &form)?;
            if let Some(t) = crate::session::session_cookie(&h) {
                db.delete_session(&crate::auth::digest(t))?;
            }
            Ok(())
        })
        .await
    }
    .await;
    match r {
        Ok(()) => {
            let mut resp = Redirect::to("/login").into_response();
            if let Ok(v) = HeaderValue::from_str(&crate::session::expired_cookie()) {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            secure(resp)
        }
        Err(e) => answer(lang, "/", Err(e)),
    }
}

#[derive(Deserialize)]
struct LangQuery {
    set: Option<String>,
    back: Option<String>,
}

/// Switches the language: a year-long cookie, then back where the link
/// was.
async fn set_lang(Query(q): Query<LangQuery>) -> Response {
    let lang = q.set.as_deref().and_then(Lang::parse).unwrap_or(Lang::En);
    let mut resp = Redirect::to(&local(q.back.as_deref().unwrap_or("/"))).into_response();
    let cookie = format!(
        "{}={}; Path=/; Max-Age=31536000; SameSite=Lax; Secure",
        i18n::LANG_COOKIE,
        lang.code()
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    secure(resp)
}

async fn css() -> Response {
    secure(
        (
            [
                (header::CONTENT_TYPE, "text/css; charset=utf-8"),
                (header::CACHE_CONTROL, "max-age=3600"),
            ],
            include_str!("console.css"),
        )
            .into_response(),
    )
}

async fn js() -> Response {
    secure(
        (
            [
                (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                (header::CACHE_CONTROL, "max-age=3600"),
            ],
            include_str!("console.js"),
        )
            .into_response(),
    )
}

/// The server's CA certificate, which agents pin (public by nature).
async fn ca_pem(State(state): State<Arc<AppState>>) -> Response {
    match std::fs::read(&state.ca_cert) {
        Ok(pem) => secure(
            (
                [
                    (header::CONTENT_TYPE, "application/x-pem-file"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"ca.pem\"",
                    ),
                ],
                pem,
            )
                .into_response(),
        ),
        Err(e) => {
            tracing::error!("{}: {e}", state.ca_cert.display());
            StatusCode::NOT_FOUND.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ways_back_stay_on_this_server() {
        assert_eq!(local("/findings?x=1"), "/findings?x=1");
        assert_eq!(local("//evil.example/"), "/");
        assert_eq!(local("https://evil.example/"), "/");
        assert_eq!(local("/\\evil.example"), "/");
        assert_eq!(local(""), "/");
    }

    #[test]
    fn forms_keep_repeated_fields() {
        let f = Form::parse(b"id=1&id=2&name=+a+b+&empty=").expect("form");
        assert_eq!(f.all("id").collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(f.get("name"), Some("a b"));
        assert_eq!(f.get("empty"), None);
        assert_eq!(f.get("missing"), None);
    }
}
