//! The open-finding counts kept per asset (migration 17, for sorting the
//! assets page by a count) always equal a recount of the findings: after
//! evaluations (new, changed severity, closed, reopened), manual and bulk
//! suppression, suppression rules made and deleted, SLA changes that move
//! due dates, and as the clock passes due dates (before and after the
//! overdue counts are refreshed).

use crate::common;

use common::{TestDb, finding};
use kensa_model::Band;
use kensa_store::{
    AssetId, AssetKind, AssetUpsert, Db, Filter, SlaPolicy, Status, Timestamp, TriageChange,
};

const DAY: i64 = 86_400_000;

fn at(day: i64) -> Timestamp {
    Timestamp::from_unix_ms(1_767_225_600_000 + day * DAY) // 2026-01-01
}

fn host(db: &Db, name: &str) -> AssetId {
    db.upsert_asset(&AssetUpsert {
        kind: AssetKind::Host,
        name: name.into(),
        hostname: Some(name.into()),
        machine_id: Some(format!("m-{name}")),
        image_id: None,
        os_id: Some("debian".into()),
        os_release: Some("12".into()),
        seen_at: at(0),
    })
    .expect("asset")
}

fn with(v: &str, p: &str, band: Band) -> kensa_model::Finding {
    let mut f = finding(v, p, "1.0-1");
    f.severity = band;
    f
}

/// Counts the findings directly, in SQL independent of the store's code:
/// (asset, [critical, high, medium, low, informational, untriaged, total,
/// overdue at `now`]).
fn recount(t: &TestDb, asset: AssetId, now: Timestamp) -> [i64; 8] {
    let n = |cond: &str| format!("COALESCE(SUM(CASE WHEN {cond} THEN 1 ELSE 0 END), 0)");
    let v = t.raw_ints(&format!(
        "SELECT {}, {}, {}, {}, {}, {}, COUNT(*), {} FROM findings \
         WHERE asset_id = {} AND status = 'ACTIVE'",
        n("severity_rank = 5"),
        n("severity_rank = 4"),
        n("severity_rank = 3"),
        n("severity_rank = 2"),
        n("severity_rank = 1"),
        n("severity_rank NOT IN (1, 2, 3, 4, 5)"),
        n(&format!("due_sort < {}", now.unix_ms())),
        asset.0
    ));
    v.try_into().expect("eight counts")
}

/// Every asset's stored counts equal the recount at each of `nows`; says
/// which asset, when and after what otherwise. Returns the total open
/// findings, so that callers check the step changed something.
fn check(t: &TestDb, db: &Db, step: &str, nows: &[Timestamp]) -> i64 {
    let mut open = 0;
    for now in nows {
        let stored = db.stored_open_counts(*now).expect("stored counts");
        assert_eq!(
            stored.len() as i64,
            t.raw_count("SELECT COUNT(*) FROM assets"),
            "{step}: every asset has a counts row"
        );
        for (asset, o) in stored {
            let got = [
                o.critical,
                o.high,
                o.medium,
                o.low,
                o.informational,
                o.untriaged,
                o.total,
                o.overdue,
            ]
            .map(|n| i64::try_from(n).expect("small"));
            let want = recount(t, asset, *now);
            assert_eq!(got, want, "{step}: asset {} at {now}", asset.0);
            open += want[6];
        }
    }
    open
}

fn change(json: &str) -> TriageChange {
    serde_json::from_str(json).expect("triage change")
}

fn counts_equal_a_recount(t: &TestDb) {
    let db = t.open();
    // Due dates after 7 (critical), 30 (high), 90 (medium), 180 (low)
    // days; the check runs at instants on both sides of them.
    let nows = [at(0), at(8), at(31), at(100), at(400)];
    let a = host(&db, "web-1");
    let b = host(&db, "web-2");
    let empty = host(&db, "db-1");
    assert_eq!(check(t, &db, "assets only", &nows), 0);

    let first = vec![
        with("CVE-2026-0001", "openssl", Band::Critical),
        with("CVE-2026-0002", "curl", Band::Low),
        with("CVE-2026-0003", "openssl", Band::High),
        with("CVE-2026-0004", "zlib", Band::Medium),
        with("CVE-2026-0005", "bash", Band::Untriaged),
        with("CVE-2026-0006", "tar", Band::Informational),
    ];
    db.apply_evaluation(a, &first, at(0)).expect("eval a");
    db.apply_evaluation(b, &first[..3], at(1)).expect("eval b");
    assert_eq!(check(t, &db, "first evaluations", &nows), 5 * 6 + 5 * 3);

    // Counted at day 8: the critical ones are overdue, stored as such.
    assert!(db.refresh_overdue(at(8)).expect("refresh") >= 2);
    check(t, &db, "refreshed at day 8", &nows);

    // Re-evaluation: a severity raised, one fixed (closed), one new.
    let mut second = first.clone();
    second[1].severity = Band::Critical;
    second.remove(3);
    second.push(with("CVE-2026-0007", "sudo", Band::High));
    db.apply_evaluation(a, &second, at(9)).expect("re-eval a");
    let closed = db.findings(Some(a), Some(Status::Closed)).expect("closed");
    assert_eq!(closed.len(), 1, "zlib's finding closed");
    check(t, &db, "re-evaluation", &nows);

    // Manual suppression and back.
    let crit = db.findings(Some(b), Some(Status::Active)).expect("b")[0].id;
    db.set_status(crit, Status::Suppressed, at(10))
        .expect("suppress");
    let before = check(t, &db, "suppressed by hand", &nows);
    db.set_status(crit, Status::Active, at(11))
        .expect("unsuppress");
    assert_eq!(check(t, &db, "active again", &nows), before + 5);

    // Bulk triage that suppresses (false positive) over a filter.
    let n = db
        .triage_bulk(
            &Filter::parse("package=openssl").expect("filter"),
            &change(r#"{"state": "false_positive", "suppressed": true}"#),
            "bob",
            at(12),
        )
        .expect("bulk");
    assert_eq!(n, 4);
    check(t, &db, "bulk suppression", &nows);

    // A suppression rule, then its deletion.
    let (rule, hit) = db
        .create_suppression_rule(
            "curl is accepted",
            &Filter::parse("package=curl").expect("filter"),
            "accepted",
            "bob",
            at(13),
        )
        .expect("rule");
    assert_eq!(hit, 2);
    check(t, &db, "suppression rule", &nows);
    db.delete_suppression_rule(rule.id, at(14))
        .expect("delete rule");
    check(t, &db, "rule deleted", &nows);

    // An SLA change moves every due date not set by hand.
    db.set_sla_policy(
        &SlaPolicy {
            critical: Some(1),
            high: Some(3),
            medium: Some(200),
            low: Some(5),
            ..SlaPolicy::default()
        },
        at(15),
    )
    .expect("policy");
    check(t, &db, "SLA change", &nows);
    db.refresh_overdue(at(100)).expect("refresh");
    check(t, &db, "refreshed at day 100", &nows);

    // Everything fixed on one asset, the closed one back on the other.
    db.apply_evaluation(b, &[], at(16)).expect("b fixed");
    db.apply_evaluation(a, &first, at(17)).expect("a reopened");
    check(t, &db, "closures and reopening", &nows);

    // A finding due while the stored count is fresh: the refresh at day
    // 100 counted up to then; a new finding due before that is counted as
    // overdue at once by the trigger.
    db.apply_evaluation(
        empty,
        &[with("CVE-2026-0009", "git", Band::Critical)],
        at(18),
    )
    .expect("eval empty");
    check(t, &db, "new finding on a refreshed count", &nows);

    // Deleting an asset's findings (as removing the asset does).
    t.raw(&format!("DELETE FROM findings WHERE asset_id = {}", a.0));
    check(t, &db, "findings deleted", &nows);
}

both!(counts_equal_a_recount);
