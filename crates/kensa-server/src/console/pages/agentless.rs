//! Agentless (SSH) targets in the console: the asset page's card (scan
//! method, target, last scan, failure, the host key offered, "scan now",
//! the confirmation button), the admin page's credentials and host keys.
//! Every form goes through the same checks as the API
//! ([`crate::agentless`]).

#[allow(unused_imports)]
use super::*;

use crate::agentless::Confirm;

/// The asset page's agentless card.
pub(super) fn agentless_card(
    db: &kensa_store::Db,
    cx: &Ctx,
    a: &kensa_store::Asset,
    cov: &CoverageContext,
) -> ApiResult<Markup> {
    let t = cov.targets.get(&a.id);
    let method = crate::agentless::method_of(cov.agents.contains(&a.id), t);
    let admin = cx.can(Role::Admin);
    let credentials = if admin {
        db.ssh_credentials()?
    } else {
        Vec::new()
    };
    Ok(html! {
        div class="card" id="agentless" {
            h2 { (cx.t("ag.title")) }
            dl class="kv" {
                dt { (cx.t("ag.method")) } dd id="scan-method" { (method) }
                @if let Some(t) = t {
                    dt { (cx.t("ag.target")) } dd class="mono" { (t.address.user) "@" (t.address.host) ":" (t.address.port) " (" (t.address.credential) ")" }
                    @if let Some(j) = &t.address.jump {
                        dt { (cx.t("ag.jump")) } dd class="mono" id="scan-jump" { (j) }
                    }
                    dt { (cx.t("ag.last_success")) } dd { (t.last_success_at.map(when).unwrap_or_else(|| "—".into())) }
                    @if let Some(e) = &t.last_error {
                        dt { (cx.t("ag.error")) } dd id="scan-error" { strong { (e) } " " (t.last_error_detail.as_deref().unwrap_or("")) }
                    }
                    @if let Some(fp) = &t.offered_fingerprint {
                        dt { (cx.t("ag.offered")) } dd class="mono" id="offered-fingerprint" { (fp) }
                    }
                }
            }
            @if let Some(t) = t {
                @if admin && let Some(fp) = &t.offered_fingerprint {
                    form method="post" action="/agentless/host-keys/confirm" class="inline" id="confirm-host-key" {
                        (csrf_field(cx))
                        input type="hidden" name="host" value=(t.address.host);
                        input type="hidden" name="port" value=(t.address.port);
                        input type="hidden" name="fingerprint" value=(fp);
                        input type="hidden" name="asset" value=(a.id.0);
                        button type="submit" { (cx.t("ag.confirm")) }
                    }
                }
                @if cx.can(Role::Analyst) {
                    form method="post" action={ "/assets/" (a.id.0) "/scan" } class="inline" id="scan-now" {
                        (csrf_field(cx))
                        button type="submit" { (cx.t("ag.scan_now")) }
                    }
                }
            }
            @if admin {
                form method="post" action={ "/assets/" (a.id.0) "/ssh-target" } class="stack" id="ssh-target-form" {
                    (csrf_field(cx))
                    label { (cx.t("ag.host")) input type="text" name="host" value=(t.map(|t| t.address.host.as_str()).unwrap_or("")); }
                    label { (cx.t("ag.port")) input type="text" name="port" value=(t.map(|t| t.address.port).unwrap_or(22)); }
                    label { (cx.t("ag.user")) input type="text" name="user" value=(t.map(|t| t.address.user.as_str()).unwrap_or("")); }
                    label { (cx.t("ag.credential"))
                        select name="credential" {
                            @for c in &credentials {
                                option value=(c.name) selected[t.is_some_and(|t| t.address.credential == c.name)] { (c.name) " " (c.fingerprint) }
                            }
                        }
                    }
                    label { (cx.t("ag.jump")) input type="text" name="jump" value=(t.and_then(|t| t.address.jump.as_deref()).unwrap_or("")); }
                    button type="submit" { (cx.t("ag.set_target")) }
                }
            }
        }
    })
}

/// The admin page's credentials and host keys.
pub(super) fn agentless_admin(db: &kensa_store::Db, cx: &Ctx) -> ApiResult<Markup> {
    let credentials = db.ssh_credentials()?;
    let keys = db.host_keys()?;
    Ok(html! {
        h2 { (cx.t("ag.credentials")) }
        table id="ssh-credentials" {
            thead { tr { th { (cx.t("a.name")) } th { (cx.t("ag.fingerprint")) } th { (cx.t("r.created")) } th { (cx.t("ag.used_by")) } } }
            tbody { @for c in &credentials { tr {
                td { (c.name) } td class="mono" { (c.fingerprint) }
                td { (when(c.created_at)) " " (c.created_by) } td { (c.used_by.join(", ")) }
            } } }
        }
        form method="post" action="/admin/ssh-credentials" class="panel stack" id="ssh-credential-form" {
            (csrf_field(cx))
            label { (cx.t("a.name")) input type="text" name="name" required; }
            label { (cx.t("ag.private_key")) textarea name="private_key" rows="6" autocomplete="off" required {} }
            button type="submit" { (cx.t("ag.create_credential")) }
        }
        h2 { (cx.t("ag.host_keys")) }
        table id="ssh-host-keys" {
            thead { tr { th { (cx.t("ag.host")) } th { (cx.t("ag.fingerprint")) } th { (cx.t("ag.status")) } th {} } }
            tbody { @for k in &keys { tr {
                td class="mono" { (k.host) ":" (k.port) } td class="mono" { (k.key_type) " " (k.fingerprint) }
                td { (k.status) " " (k.confirmed_by.as_deref().unwrap_or("")) }
                td { @if k.status == "pending" {
                    form method="post" action="/agentless/host-keys/confirm" class="inline" {
                        (csrf_field(cx))
                        input type="hidden" name="host" value=(k.host);
                        input type="hidden" name="port" value=(k.port);
                        input type="hidden" name="fingerprint" value=(k.fingerprint);
                        button type="submit" class="confirm-host-key" { (cx.t("ag.confirm")) }
                    }
                } }
            } } }
        }
    })
}

/// `POST /agentless/host-keys/confirm` (admin): back to the asset the
/// button was on, else the admin page.
pub(crate) async fn host_key_confirm(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ag = Arc::clone(&state.agentless);
    post(&state, headers, body, move |db, cx, form| {
        cx.require(
            Role::Admin,
            "confirming an SSH host key needs the admin role",
        )?;
        let c = Confirm {
            host: form.get("host").unwrap_or("").to_owned(),
            port: form
                .get("port")
                .and_then(|p| p.parse().ok())
                .ok_or_else(|| ApiError::bad("port: a number from 1 to 65535"))?,
            fingerprint: form.get("fingerprint").unwrap_or("").to_owned(),
        };
        crate::agentless::confirm(db, &ag, &cx.user, &c)?;
        Ok(Out::See(
            match form.get("asset").and_then(|a| a.parse::<i64>().ok()) {
                Some(a) => format!("/assets/{a}"),
                None => "/admin".into(),
            },
        ))
    })
    .await
}

/// `POST /assets/{id}/scan` (analyst): scan now.
pub(crate) async fn scan_now(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let ag = Arc::clone(&state.agentless);
    post(&state, headers, body, move |db, cx, _form| {
        cx.require(
            Role::Analyst,
            "scanning an asset now needs the analyst or admin role",
        )?;
        crate::agentless::scan_now_in(db, &ag, AssetId(id))?;
        Ok(Out::See(format!("/assets/{id}")))
    })
    .await
}

/// `POST /assets/{id}/ssh-target` (admin).
pub(crate) async fn ssh_target(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let ag = Arc::clone(&state.agentless);
    post(&state, headers, body, move |db, cx, form| {
        cx.require(Role::Admin, "setting an SSH target needs the admin role")?;
        let id = AssetId(id);
        let a = db
            .asset(id)?
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("{id} not found")))?;
        let default_host = a
            .hostname
            .clone()
            .or_else(|| a.ip_addresses.first().cloned());
        let address = crate::register::ssh_address(
            form.get("host").unwrap_or(""),
            form.get("port").unwrap_or(""),
            form.get("user").unwrap_or(""),
            form.get("credential").unwrap_or(""),
            form.get("jump").unwrap_or(""),
            default_host.as_deref(),
        )
        .map_err(|(column, m)| {
            ApiError::bad(format!("{}: {m}", column.trim_start_matches("ssh_")))
        })?;
        db.set_agentless_target(id, &address, Timestamp::now())?;
        ag.wake.notify();
        Ok(Out::See(format!("/assets/{}", id.0)))
    })
    .await
}

/// `POST /admin/ssh-credentials` (admin).
pub(crate) async fn credential_create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ag = Arc::clone(&state.agentless);
    post(&state, headers, body, move |db, cx, form| {
        cx.require(
            Role::Admin,
            "creating an SSH credential needs the admin role",
        )?;
        let key = form
            .0
            .iter()
            .find(|(k, _)| k == "private_key")
            .map_or("", |(_, v)| v.as_str());
        crate::agentless::create_credential_in(
            db,
            &ag,
            &cx.user,
            form.get("name").unwrap_or(""),
            key,
        )?;
        Ok(Out::See("/admin".into()))
    })
    .await
}
