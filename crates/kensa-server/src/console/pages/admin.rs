//! `/admin`: users, API tokens, enrolment tokens (with the install
//! one-liners) and agents.

#[allow(unused_imports)]
use super::*;

pub(super) fn admin_page(
    db: &kensa_store::Db,
    cx: &Ctx,
    ca: &std::path::Path,
    flash: Markup,
) -> ApiResult<Out> {
    cx.require(Role::Admin, "administration needs the admin role")?;
    let users = db.list_users()?;
    let tokens = db.list_api_tokens()?;
    let enrollment = db.enrollment_tokens(Timestamp::now())?;
    let agents = db.agents()?;
    let ca_sha256 = ca_fingerprint(ca);
    let roles = ["viewer", "analyst", "auditor", "admin"];
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
            p id="ca-fingerprint" {
                (cx.t("adm.ca_sha256")) ": " code { (ca_sha256) } " "
                a href="/ca.pem" download="ca.pem" { (cx.t("adm.ca")) }
            }
            form method="post" action="/admin/enroll" class="panel row" id="enroll-form" {
                (csrf_field(cx))
                label { (cx.t("a.name")) input type="text" name="name" maxlength="200"; }
                label { (cx.t("adm.ttl_hours")) input type="number" name="ttl_hours" min="1" max="8760" value="24"; }
                label { (cx.t("adm.max_uses")) input type="number" name="max_uses" min="1" max="1000000" value="1"; }
                label { (cx.t("a.owner")) input type="text" name="owner" maxlength="200"; }
                label { (cx.t("a.team")) input type="text" name="team" maxlength="200"; }
                label { (cx.t("a.environment")) input type="text" name="environment" maxlength="200"; }
                label { (cx.t("a.tags")) input type="text" name="tags" placeholder="web; asg"; }
                button type="submit" id="enroll-submit" { (cx.t("adm.enroll_submit")) }
            }
            h3 { (cx.t("adm.enroll_tokens")) }
            table id="enrollment-tokens" {
                thead { tr {
                    th { (cx.t("a.name")) } th { "ID" } th { (cx.t("r.created")) } th { (cx.t("adm.expires")) }
                    th { (cx.t("adm.uses")) } th { (cx.t("adm.defaults")) } th { (cx.t("adm.state")) } th {}
                } }
                tbody { @for t in &enrollment { tr {
                    td { (t.name.as_deref().unwrap_or("")) } td { code { (t.id) } }
                    td { (when(t.created_at)) } td { (when(t.expires_at)) }
                    td class="uses" { (t.uses) " / " (t.max_uses) }
                    td class="defaults" { (defaults_text(&t.defaults)) }
                    td class="state" { (t.state) @if let Some(r) = t.revoked_at { " " (when(r)) } }
                    td { @if t.revoked_at.is_none() {
                        form method="post" action="/admin/enroll/revoke" class="inline" {
                            (csrf_field(cx))
                            input type="hidden" name="id" value=(t.id);
                            button type="submit" class="revoke-enrollment" { (cx.t("adm.revoke")) }
                        }
                    } }
                } } }
            }
            h2 { (cx.t("adm.agents")) }
            table id="agents" {
                thead { tr {
                    th { "ID" } th { (cx.t("f.asset")) } th { (cx.t("adm.version")) } th { (cx.t("adm.enrolled")) }
                    th { (cx.t("adm.last_report")) } th { (cx.t("adm.enroll_token")) } th { (cx.t("adm.revoked")) } th {}
                } }
                tbody { @for g in &agents { tr {
                    td { (g.id) } td { a href={ "/assets/" (g.asset_id) } { (g.asset_name) } }
                    td { (g.version.as_deref().unwrap_or("")) } td { (when(g.created_at)) }
                    td { (g.last_report.map(when).unwrap_or_default()) }
                    td { code { (g.enrollment_token.as_deref().unwrap_or("")) } }
                    td class="revoked" { (g.revoked_at.map(when).unwrap_or_default()) }
                    td { @if g.revoked_at.is_none() {
                        form method="post" action="/admin/agents/revoke" class="inline" {
                            (csrf_field(cx))
                            input type="hidden" name="id" value=(g.id);
                            button type="submit" class="revoke-agent" { (cx.t("adm.revoke")) }
                        }
                    } }
                } } }
            }
            (agentless)
        },
    )))
}

pub(crate) async fn admin(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let ca = state.ca_cert.clone();
    page(&state, headers, "/admin".into(), move |db, cx| {
        admin_page(db, cx, &ca, html! {})
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
    let ca = state.ca_cert.clone();
    post(&state, headers, body, move |db, cx, form| {
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
        admin_page(db, cx, &ca, flash)
    })
    .await
}

/// Creates an enrolment token from the form (the API's rules,
/// [`crate::rules::enrollment_token_spec`]) and shows it once with the
/// commands that install and enrol the agent with it.
pub(crate) async fn enroll_create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // The address the admin reached this server by is the one agents on
    // that network will reach it by too.
    let host = crate::agent_dist::request_host(&headers).unwrap_or_else(|| "localhost".into());
    let ca = state.ca_cert.clone();
    post(&state, headers, body, move |db, cx, form| {
        cx.require(
            Role::Admin,
            "creating enrollment tokens needs the admin role",
        )?;
        // Empty fields take the API's defaults; anything else must be a
        // number, said plainly when it is not.
        let ttl_hours = form
            .get("ttl_hours")
            .map(|v| {
                v.parse::<u32>().map_err(|_| {
                    ApiError::bad(format!("ttl_hours: {v:?} is not a number of hours"))
                })
            })
            .transpose()?;
        let max_uses = form
            .get("max_uses")
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| ApiError::bad(format!("max_uses: {v:?} is not a number")))
            })
            .transpose()?;
        let defaults = kensa_store::EnrollmentDefaults {
            owner: form.get("owner").map(str::to_owned),
            team: form.get("team").map(str::to_owned),
            environment: form.get("environment").map(str::to_owned),
            tags: form
                .get("tags")
                .unwrap_or("")
                .split([';', ','])
                .map(str::to_owned)
                .collect(),
        };
        let spec = crate::rules::enrollment_token_spec(
            form.get("name").map(str::to_owned),
            ttl_hours,
            max_uses,
            Some(defaults),
        )?;
        let made = crate::tokens::create_enrollment(db, &cx.user, &spec)?;
        let fingerprint = ca_fingerprint(&ca);
        let (with_ca, pinned) =
            crate::agent_dist::one_liners(&host, &fingerprint, &made.token);
        let manual = format!(
            "kensa agent enroll --server https://{host} --ca ca.pem --token {}",
            made.token
        );
        let flash = html! {
            div class="panel" id="enroll-command" {
                strong { (cx.t("adm.enroll")) ": " (spec.name.as_deref().unwrap_or("")) }
                p class="muted" { (cx.t("adm.token_once")) " " (cx.t("adm.expires")) " " (when(made.expires_at)) }
                pre class="cmd" id="enroll-token" { (made.token) }
                p { (cx.t("adm.oneliner_ca")) }
                pre class="cmd" id="enroll-oneliner" { (with_ca) }
                p { (cx.t("adm.oneliner_pinned")) }
                pre class="cmd" id="enroll-pinned" { (pinned) }
                p { (cx.t("adm.enroll_manual")) }
                pre class="cmd" id="enroll-manual" { (manual) }
            }
        };
        admin_page(db, cx, &ca, flash)
    })
    .await
}

/// Revokes an enrolment token from the console (the form's `id`): no
/// more enrolments with it; the agents it enrolled keep reporting.
pub(crate) async fn enroll_revoke(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    post(&state, headers, body, |db, cx, form| {
        cx.require(
            Role::Admin,
            "revoking enrollment tokens needs the admin role",
        )?;
        let id = form.get("id").unwrap_or("");
        if !crate::tokens::revoke_enrollment(db, &cx.user, id)? {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("enrollment token {id:?}: no such unrevoked token"),
            ));
        }
        Ok(Out::See("/admin".into()))
    })
    .await
}

/// Revokes an agent from the console (the form's `id`): its token stops
/// working and its asset no longer counts as having an agent.
pub(crate) async fn agent_revoke(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    post(&state, headers, body, |db, cx, form| {
        cx.require(Role::Admin, "revoking agents needs the admin role")?;
        let id: i64 = form
            .get("id")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| ApiError::bad("id: the number of an agent"))?;
        if !crate::agents::revoke(db, &cx.user, id)? {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("agent {id}: no such live agent"),
            ));
        }
        Ok(Out::See("/admin".into()))
    })
    .await
}

/// The CA's SHA-256 for the page; a message instead when it cannot be
/// read (the page still works).
fn ca_fingerprint(ca: &std::path::Path) -> String {
    crate::agent_dist::ca_sha256(ca).unwrap_or_else(|e| {
        tracing::error!("{}: {e}", ca.display());
        "(the CA certificate cannot be read: see the server log)".into()
    })
}

/// A token's defaults in one line.
fn defaults_text(d: &kensa_store::EnrollmentDefaults) -> String {
    let mut parts = Vec::new();
    for (k, v) in [
        ("team", &d.team),
        ("environment", &d.environment),
        ("owner", &d.owner),
    ] {
        if let Some(v) = v {
            parts.push(format!("{k}={v}"));
        }
    }
    if !d.tags.is_empty() {
        parts.push(format!("tags={}", d.tags.join(";")));
    }
    parts.join(", ")
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
