//! `/coverage`: which assets are checked, and why not.

#[allow(unused_imports)]
use super::*;

/// Silent and unmanaged first, covered last.
pub(super) fn reason_rank(reason: &str) -> u8 {
    match reason {
        "INVENTORY_FAILED" => 0,
        "STALE_INVENTORY" => 0,
        "UNMANAGED" => 1,
        "PENDING_INITIAL_SCAN" => 2,
        "UNSUPPORTED_OS" => 3,
        "OS_END_OF_LIFE" => 4,
        _ => 5,
    }
}

#[derive(Deserialize)]
pub(crate) struct CoverageQuery {
    /// Only the assets with this reason (`UNMANAGED`...): the dashboard's
    /// coverage bars link here.
    reason: Option<String>,
}

pub(crate) async fn coverage(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    Query(q): Query<CoverageQuery>,
) -> Response {
    page(&state, headers, here("/coverage", &raw), move |db, cx| {
        let cov = CoverageContext::new(db, 24 * 3_600_000)?;
        let mut rows: Vec<_> = db
            .assets()?
            .into_iter()
            .map(|a| {
                let (s, r) = coverage_of(&a, &cov);
                (s, r, a)
            })
            .collect();
        // Within each reason, where an agent matters most first: the
        // internet-reachable assets, then the unknown, then the internal.
        rows.sort_by_key(|(_, r, a)| {
            let exposure = a.effective_exposure().0.map(|e| e.as_str());
            (
                reason_rank(r),
                crate::assets::exposure_rank(exposure),
                a.id.0,
            )
        });
        let mut counts = BTreeMap::<&str, usize>::new();
        for (_, r, _) in &rows {
            *counts.entry(r).or_default() += 1;
        }
        let only = q.reason.as_deref().filter(|r| !r.is_empty());
        if let Some(only) = only {
            rows.retain(|(_, r, _)| *r == only);
        }
        Ok(Out::Page(layout(
            cx,
            cx.t("cov.title"),
            html! {
                h1 { (cx.t("cov.title")) }
                p id="coverage-counts" {
                    @for (r, n) in &counts {
                        a.panel.on[only == Some(*r)] data-reason=(r)
                            href={ "/coverage?" (serde_urlencoded::to_string([("reason", *r)]).unwrap_or_default()) } {
                            (cx.t(reason_key(r))) ": " strong { (n) }
                        } " "
                    }
                    @if only.is_some() { a href="/coverage" id="coverage-all" { (cx.t("cov.all")) } }
                }
                table id="coverage" {
                    thead { tr { th { (cx.t("f.asset")) } th { (cx.t("cov.status")) } th { (cx.t("cov.reason")) } th { (cx.t("a.os")) } th { (cx.t("cov.exposure")) } th { (cx.t("cov.source")) } th { (cx.t("cov.agent")) } th { (cx.t("cov.inventory_at")) } } }
                    tbody {
                        @for (s, r, a) in &rows {
                            tr {
                                td { a href={ "/assets/" (a.id.0) } { (a.name) } }
                                td data-status=(s) { (cx.t(if *s == "ACTIVE" { "cov.s.active" } else { "cov.s.inactive" })) }
                                td class="reason" data-reason=(r) { (cx.t(reason_key(r))) }
                                td { (a.os_id.as_deref().unwrap_or("")) " " (a.os_release.as_deref().unwrap_or("")) }
                                td class="exposure" { (cx.t(exposure_key(a.effective_exposure().0.unwrap_or_default()))) }
                                td { (a.source.as_str()) }
                                td { (yes_no(cx, cov.agents.contains(&a.id))) }
                                td { (a.inventory_at.map(when).unwrap_or_default()) }
                            }
                        }
                    }
                }
            },
        )))
    })
    .await
}
