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

pub(crate) async fn coverage(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    page(&state, headers, "/coverage".into(), |db, cx| {
        let cov = CoverageContext::new(db, 24 * 3_600_000)?;
        let mut rows: Vec<_> = db
            .assets()?
            .into_iter()
            .map(|a| {
                let (s, r) = coverage_of(&a, &cov);
                (s, r, a)
            })
            .collect();
        rows.sort_by_key(|(_, r, a)| (reason_rank(r), a.id.0));
        let mut counts = BTreeMap::<&str, usize>::new();
        for (_, r, _) in &rows {
            *counts.entry(r).or_default() += 1;
        }
        Ok(Out::Page(layout(
            cx,
            cx.t("cov.title"),
            html! {
                h1 { (cx.t("cov.title")) }
                p id="coverage-counts" { @for (r, n) in &counts { span class="panel" { (r) ": " strong { (n) } } " " } }
                table id="coverage" {
                    thead { tr { th { (cx.t("f.asset")) } th { (cx.t("cov.status")) } th { (cx.t("cov.reason")) } th { (cx.t("a.os")) } th { (cx.t("cov.source")) } th { (cx.t("cov.agent")) } th { (cx.t("cov.inventory_at")) } } }
                    tbody {
                        @for (s, r, a) in &rows {
                            tr {
                                td { a href={ "/assets/" (a.id.0) } { (a.name) } }
                                td { (s) } td class="reason" { (r) }
                                td { (a.os_id.as_deref().unwrap_or("")) " " (a.os_release.as_deref().unwrap_or("")) }
                                td { (a.source.as_str()) }
                                td { @if cov.agents.contains(&a.id) { "✓" } }
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
