//! `/assets/{id}`: one asset, its packages and its management items.

#[allow(unused_imports)]
use super::*;

#[derive(Deserialize)]
pub(crate) struct AssetQuery {
    /// Package search in the inventory.
    pkg: Option<String>,
}

pub(crate) async fn asset(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    RawQuery(raw): RawQuery,
    Query(q): Query<AssetQuery>,
) -> Response {
    let here = here(&format!("/assets/{id}"), &raw);
    page(&state, headers, here, move |db, cx| {
        asset_page(db, cx, AssetId(id), q.pkg.as_deref().unwrap_or("")).map(Out::Page)
    })
    .await
}

pub(super) fn asset_page(
    db: &kensa_store::Db,
    cx: &Ctx,
    id: AssetId,
    pkg: &str,
) -> ApiResult<Markup> {
    let a = db
        .asset(id)?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("{id} not found")))?;
    let cov = CoverageContext::new(db, 24 * 3_600_000)?;
    let (status, reason) = coverage_of(&a, &cov);
    let inventory = match &a.inventory_hash {
        Some(h) => db.inventory(h)?,
        None => None,
    };
    let needle = pkg.trim().to_lowercase();
    let findings = db.query_findings(&FindingQuery {
        filter: Filter::parse(&format!("asset_id={} status=ACTIVE", id.0)).map_err(bad)?,
        sort: Sort::default(),
        limit: Some(50),
        cursor: None,
    })?;
    let agentless = super::agentless::agentless_card(db, cx, &a, &cov)?;
    let m = &a.management;
    let admin = cx.can(Role::Admin);
    let exposure = m.internet_exposure.unwrap_or_default();
    let ports: Vec<String> = m.exposed_ports.iter().map(ToString::to_string).collect();
    let eol_text = match &a.eol {
        Some(e) => format!(
            "{} ({} {}: {})",
            if !e.ended_by(&cov.today) {
                cx.t("a.supported")
            } else if e.lts.as_deref().is_some_and(|d| d >= cov.today.as_str()) {
                cx.t("eol.in_lts")
            } else {
                cx.t("a.ended")
            },
            e.product,
            e.cycle,
            eol_dates(cx, e)
        ),
        None => cx.t("a.unknown").to_owned(),
    };
    Ok(layout(
        cx,
        &a.name,
        html! {
            h1 id="asset-title" { (cx.t("a.title")) ": " (a.name) }
            div class="cards" {
                div class="card" {
                    dl class="kv" {
                        dt { "ID" } dd { (a.id.0) }
                        dt { (cx.t("a.os")) } dd { (a.os_pretty.as_deref().or(a.os_id.as_deref()).unwrap_or("—")) " " (a.os_release.as_deref().unwrap_or("")) }
                        dt { (cx.t("a.eol")) } dd id="asset-eol" { (eol_text) }
                        dt { (cx.t("cov.status")) } dd { (status) " · " (reason) }
                        dt { (cx.t("a.exposure")) } dd id="asset-exposure" { (exposure.as_str()) }
                        dt { (cx.t("a.ports")) } dd { (ports.join(", ")) }
                        dt { "IP" } dd { (a.ip_addresses.join(", ")) }
                        dt { (cx.t("cov.inventory_at")) } dd { (a.inventory_at.map(when).unwrap_or_default()) }
                    }
                    @if let Some(inv) = &inventory {
                        @let listening: Vec<_> = inv.listeners.iter().filter(|l| !l.loopback).collect();
                        @if !listening.is_empty() {
                            h2 { "Listening" }
                            ul { @for l in listening { li { code { (l.protocol) " " (l.address) ":" (l.port) } " " (l.process.as_deref().unwrap_or("")) } } }
                        }
                    }
                    @if !a.middleware.is_empty() {
                        h2 { (cx.t("a.middleware")) }
                        ul { @for mw in &a.middleware { li { (mw.name) " " code { (mw.version) } } } }
                    }
                }
                div class="card" {
                    h2 { (cx.t("a.management")) }
                    @if admin {
                        form method="post" action={ "/assets/" (a.id.0) } class="stack" id="management-form" {
                            (csrf_field(cx))
                            label { (cx.t("a.owner")) input type="text" name="owner" value=(m.owner.as_deref().unwrap_or("")); }
                            label { (cx.t("a.team")) input type="text" name="team" value=(m.team.as_deref().unwrap_or("")); }
                            label { (cx.t("a.environment")) input type="text" name="environment" value=(m.environment.as_deref().unwrap_or("")); }
                            label { (cx.t("a.tags")) input type="text" name="tags" value=(m.tags.join(", ")); }
                            label { (cx.t("a.operation_start")) " (YYYY-MM-DD)" input type="text" name="operation_start" value=(m.operation_start.as_deref().unwrap_or("")); }
                            label { (cx.t("a.support_end")) " (YYYY-MM-DD)" input type="text" name="support_end" value=(m.support_end.as_deref().unwrap_or("")); }
                            label { (cx.t("a.exposure"))
                                select name="internet_exposure" {
                                    @for e in ["unknown", "yes", "no"] { option value=(e) selected[exposure.as_str() == e] { (e) } }
                                }
                            }
                            label { (cx.t("a.ports")) " (443/tcp, 22/tcp)" input type="text" name="exposed_ports" value=(ports.join(", ")); }
                            button type="submit" id="management-submit" { (cx.t("fd.save")) }
                        }
                    } @else {
                        dl class="kv" {
                            dt { (cx.t("a.owner")) } dd { (m.owner.as_deref().unwrap_or("—")) }
                            dt { (cx.t("a.team")) } dd { (m.team.as_deref().unwrap_or("—")) }
                            dt { (cx.t("a.environment")) } dd { (m.environment.as_deref().unwrap_or("—")) }
                            dt { (cx.t("a.tags")) } dd { (m.tags.join(", ")) }
                            dt { (cx.t("a.operation_start")) } dd { (m.operation_start.as_deref().unwrap_or("—")) }
                            dt { (cx.t("a.support_end")) } dd { (m.support_end.as_deref().unwrap_or("—")) }
                        }
                    }
                }
                (agentless)
            }
            h2 { (cx.t("a.findings")) }
            table id="asset-findings" {
                thead { tr { th { (cx.t("f.severity")) } th { (cx.t("f.vulnerability")) } th { (cx.t("f.package")) } th { (cx.t("f.installed")) } th { (cx.t("f.fixed")) } } }
                tbody {
                    @for f in &findings.findings {
                        tr { td { (sev_badge(cx, &f.severity)) } td { a href={ "/findings/" (f.id.0) } { (f.vulnerability_id) } } td { (f.package_name) } td class="mono" { (f.installed_version) } td class="mono" { (f.fixed_version.as_deref().unwrap_or("")) } }
                    }
                }
            }
            p { a href={ "/findings?" (serde_urlencoded::to_string([("q", format!("asset_id={}", a.id.0))]).unwrap_or_default()) } { (cx.t("a.all_findings")) } }
            h2 { (cx.t("a.inventory")) }
            form method="get" action={ "/assets/" (a.id.0) } class="row" {
                label { (cx.t("a.search")) input type="text" name="pkg" id="inventory-search" value=(pkg); }
                button type="submit" id="inventory-submit" { (cx.t("f.apply")) }
            }
            @if let Some(inv) = &inventory {
                @let matching: Vec<_> = inv.packages.iter().filter(|p| needle.is_empty() || p.name.to_lowercase().contains(&needle)).collect();
                p class="muted" { (matching.len()) " / " (inv.packages.len()) }
                table id="inventory" {
                    thead { tr { th { (cx.t("a.name")) } th { (cx.t("a.version")) } th { (cx.t("a.kind")) } th { "arch" } } }
                    tbody {
                        @for p in matching.iter().take(500) {
                            tr { td { (p.name) } td class="mono" { (p.version) } td { (p.kind.map(|k| format!("{k:?}").to_lowercase()).unwrap_or_default()) } td { (p.arch.as_deref().unwrap_or("")) } }
                        }
                    }
                }
            } @else {
                p { (cx.t("a.no_inventory")) }
            }
        },
    ))
}

/// `POST /assets/{id}` (admin): the management items, as the form holds
/// them (an empty field clears the item).
pub(crate) async fn asset_update(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    post(&state, headers, body, move |db, cx, form| {
        cx.require(
            Role::Admin,
            "changing management items needs the admin role",
        )?;
        let id = AssetId(id);
        let a = db
            .asset(id)?
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("{id} not found")))?;
        let text = |k: &str| Some(form.get(k).map(str::to_owned));
        let ports = form
            .get("exposed_ports")
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (port, protocol) = p.split_once('/').unwrap_or((p, "tcp"));
                let (from, to) = match port.split_once('-') {
                    Some((f, t)) => (f, Some(t)),
                    None => (port, None),
                };
                let num = |s: &str| {
                    s.trim().parse::<u16>().map_err(|_| {
                        ApiError::bad(format!(
                            "exposed ports: {p:?}: expected PORT[-PORT]/PROTOCOL, as 443/tcp"
                        ))
                    })
                };
                Ok(kensa_store::ExposedPort {
                    port: num(from)?,
                    to_port: to.map(num).transpose()?,
                    protocol: protocol.trim().to_ascii_lowercase(),
                    source: "console".into(),
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;
        let exposure = match form.get("internet_exposure") {
            Some("yes") => Some(InternetExposure::Yes),
            Some("no") => Some(InternetExposure::No),
            Some("unknown") | None => None,
            Some(o) => {
                return Err(ApiError::bad(format!(
                    "internet exposure {o:?}: yes, no or unknown"
                )));
            }
        };
        let patch = ManagementPatch {
            operation_start: text("operation_start"),
            support_end: text("support_end"),
            owner: text("owner"),
            team: text("team"),
            environment: text("environment"),
            tags: Some(
                form.get("tags")
                    .unwrap_or("")
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
            internet_exposure: Some(exposure),
            exposed_ports: Some(ports),
        };
        patch.validate().map_err(ApiError::bad)?;
        let m = patch.apply(&a.management);
        if let (Some(s), Some(e)) = (&m.operation_start, &m.support_end)
            && e < s
        {
            return Err(ApiError::bad(format!(
                "support end {e} is before operation start {s}"
            )));
        }
        if m != a.management {
            db.set_management(id, &m, Timestamp::now())?;
        }
        Ok(Out::See(format!("/assets/{}", id.0)))
    })
    .await
}
