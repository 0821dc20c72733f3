//! `/admin`: users, API tokens and agent enrolment.

#[allow(unused_imports)]
use super::*;

pub(super) fn admin_page(db: &kensa_store::Db, cx: &Ctx, flash: Markup) -> ApiResult<Out> {
    cx.require(Role::Admin, "administration needs the admin role")?;
    let users = db.list_users()?;
    let tokens = db.list_api_tokens()?;
    let roles = ["viewer", "analyst", "admin"];
    let agentless = super::agentless::agentless_admin(db, cx)?;
    Ok(Out::Page(layout(
        cx,
        cx.t("adm.title"),
        html! {
            h1 { (cx.t("adm.title")) }
            (flash)
            h2 { (cx.t("adm.users")) }
            table id="users" {
                thead { tr { th { (cx.t("a.name")) } th { (cx.t("adm.role")) } th { (cx.t("r.created")) } th { (cx.t("adm.disabled")) } } }
                tbody { @for u in &users { tr { td { (u.name) } td { (u.role) } td { (when(u.created_at)) } td { (u.disabled_at.map(when).unwrap_or_default()) } } } }
            }
            form method="post" action="/admin/users" class="panel row" id="user-form" {
                (csrf_field(cx))
                label { (cx.t("a.name")) input type="text" name="name" required; }
                label { (cx.t("adm.role")) select name="role" { @for r in roles { option value=(r) { (r) } } } }
                label { (cx.t("login.password")) input type="password" name="password" autocomplete="new-password" required; }
                button type="submit" { (cx.t("adm.create_user")) }
            }
            h2 { (cx.t("adm.tokens")) }
            table id="tokens" {
                thead { tr { th { (cx.t("a.name")) } th { (cx.t("adm.role")) } th { (cx.t("adm.owner")) } th { (cx.t("r.created")) } th { (cx.t("adm.last_used")) } th { (cx.t("adm.revoked")) } th {} } }
                tbody { @for t in &tokens { tr {
                    td { (t.name) } td { (t.role) } td { (t.owner.as_deref().unwrap_or("")) }
                    td { (when(t.created_at)) } td { (t.last_used_at.map(when).unwrap_or_default()) }
                    td { (t.revoked_at.map(when).unwrap_or_default()) }
                    td { @if t.revoked_at.is_none() {
                        form method="post" action="/admin/tokens/revoke" class="inline" {
                            (csrf_field(cx))
                            input type="hidden" name="id" value=(t.id);
                            button type="submit" class="revoke-token" { (cx.t("adm.revoke")) }
                        }
                    } }
                } } }
            }
            form method="post" action="/admin/tokens" class="panel row" id="token-form" {
                (csrf_field(cx))
                label { (cx.t("a.name")) input type="text" name="name" required; }
                label { (cx.t("adm.role")) select name="role" { @for r in roles { option value=(r) { (r) } } } }
                button type="submit" { (cx.t("adm.create_token")) }
            }
            h2 { (cx.t("adm.enroll")) }
            p class="muted" { (cx.t("adm.enroll_help")) }
            form method="post" action="/admin/enroll" class="panel row" id="enroll-form" {
                (csrf_field(cx))
                button type="submit" id="enroll-submit" { (cx.t("adm.enroll_submit")) }
                a href="/ca.pem" download="ca.pem" { (cx.t("adm.ca")) }
            }
            (agentless)
        },
    )))
}

pub(crate) async fn admin(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    page(&state, headers, "/admin".into(), |db, cx| {
        admin_page(db, cx, html! {})
    })
    .await
}

pub(crate) async fn user_create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    post(&state, headers, body, |db, cx, form| {
        // The role before hashing: nobody else spends argon2 time.
        cx.require(Role::Admin, "creating users needs the admin role")?;
        let name = form.get("name").unwrap_or("");
        crate::rules::check_name(name)?;
        let role = crate::rules::parse_role(form.get("role").unwrap_or(""))?;
        let password = form
            .0
            .iter()
            .find(|(k, _)| k == "password")
            .map_or("", |(_, v)| v.as_str());
        crate::rules::check_password(password)?;
        let hash = crate::session::hash_password(password)?;
        if db
            .create_user(name, role.as_str(), &hash, Timestamp::now())?
            .is_none()
        {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("user {name:?} exists"),
            ));
        }
        Ok(Out::See("/admin".into()))
    })
    .await
}

pub(crate) async fn token_create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    post(&state, headers, body, |db, cx, form| {
        cx.require(Role::Admin, "creating API tokens needs the admin role")?;
        let name = form.get("name").unwrap_or("");
        crate::rules::check_token_name(name)?;
        let role = crate::rules::parse_role(form.get("role").unwrap_or(""))?;
        let (_, token) = crate::tokens::create(db, &cx.user, &cx.user, name, role)?;
        let flash = html! {
            div class="panel" id="new-token" {
                strong { (cx.t("adm.tokens")) ": " (name) " (" (role.as_str()) ")" }
                pre class="cmd" { (token) }
                p class="muted" { (cx.t("adm.token_once")) }
            }
        };
        admin_page(db, cx, flash)
    })
    .await
}

pub(crate) async fn enroll_create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // The address the admin reached this server by is the one agents on
    // that network will reach it by too.
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost")
        .to_owned();
    post(&state, headers, body, move |db, cx, _form| {
        cx.require(
            Role::Admin,
            "creating enrollment tokens needs the admin role",
        )?;
        let token = auth::new_token("ket_")?;
        let now = Timestamp::now();
        let expires =
            Timestamp::from_unix_ms(now.unix_ms() + crate::rules::enrollment_ttl_ms(None));
        db.create_enrollment_token(&auth::digest(&token), now, expires)?;
        let command =
            format!("kensa agent enroll --server https://{host} --ca ca.pem --token {token}");
        let flash = html! {
            div class="panel" id="enroll-command" {
                strong { (cx.t("adm.enroll")) }
                pre class="cmd" { (command) }
                p class="muted" { (cx.t("adm.token_once")) " " (when(expires)) }
            }
        };
        admin_page(db, cx, flash)
    })
    .await
}

/// Revokes an API token from the console (the form's `id`).
pub(crate) async fn token_revoke(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    post(&state, headers, body, |db, cx, form| {
        cx.require(Role::Admin, "revoking API tokens needs the admin role")?;
        let id: i64 = form
            .get("id")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| ApiError::bad("id: the number of a token"))?;
        if !crate::tokens::revoke(db, &cx.user, id)? {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("no live API token {id}"),
            ));
        }
        Ok(Out::See("/admin".into()))
    })
    .await
}
