//! Triage with its audit trail, bulk changes over a filter, decisions
//! applied to other assets now and later, suppression rules (also on new
//! findings, reversible, and leaving alone what a person made active), the
//! SLA policy's due dates and expiring risk acceptances.

use crate::common;

use common::{TestDb, finding};
use kensa_model::Band;
use kensa_store::{
    AssetId, AssetKind, AssetUpsert, Db, Filter, FindingId, SlaPolicy, Status, StoreError,
    Timestamp, TriageChange, TriageState,
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

fn findings() -> Vec<kensa_model::Finding> {
    let mut crit = finding("CVE-2026-0001", "openssl", "3.0.11-1");
    crit.severity = Band::Critical;
    let mut low = finding("CVE-2026-0002", "curl", "7.88.1-10");
    low.severity = Band::Low;
    let high = finding("CVE-2026-0003", "openssl", "3.0.11-1");
    vec![crit, low, high]
}

fn id_of(db: &Db, asset: AssetId, vuln: &str) -> FindingId {
    db.findings(Some(asset), None)
        .expect("findings")
        .into_iter()
        .find(|f| f.vulnerability_id == vuln)
        .map(|f| f.id)
        .expect("the finding")
}

fn change(json: &str) -> TriageChange {
    serde_json::from_str(json).expect("triage change")
}

fn triage_walk(t: &TestDb) {
    let db = t.open();
    let a = host(&db, "web-1");
    let b = host(&db, "web-2");
    db.apply_evaluation(a, &findings(), at(0)).expect("eval a");
    db.apply_evaluation(b, &findings(), at(1)).expect("eval b");

    // SLA: critical due 7 days after first observation, low 180.
    let crit = id_of(&db, a, "CVE-2026-0001");
    let t0 = db.finding_triage(crit).expect("triage");
    assert_eq!(
        t0.due_at,
        Some(Timestamp::from_unix_ms(at(0).unix_ms() + 7 * DAY))
    );
    assert_eq!(t0.state, None);

    // One finding: state, assignee, comment; audited with before/after.
    let after = db
        .triage(
            crit,
            &change(
                r#"{"state": "exploitable", "assignee": "alice", "comment": "internet-facing"}"#,
            ),
            "bob",
            at(2),
        )
        .expect("triage");
    assert_eq!(after.state, Some(TriageState::Exploitable));
    assert_eq!(after.assignee.as_deref(), Some("alice"));
    let audit = db.triage_audit(crit).expect("audit");
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (audit[0].actor.as_str(), audit[0].via.as_str()),
        ("bob", "finding")
    );
    assert_eq!(audit[0].before["state"], serde_json::Value::Null);
    assert_eq!(audit[0].after["state"], "exploitable");
    assert_eq!(audit[0].after["assignee"], "alice");

    // An invalid change is refused and changes nothing.
    let e = db
        .triage(crit, &change(r#"{"state": "risk_accepted"}"#), "bob", at(3))
        .expect_err("needs an expiry");
    assert!(matches!(e, StoreError::InvalidArgument(_)), "{e}");
    assert_eq!(db.finding_triage(crit).expect("t"), after);
    assert_eq!(db.triage_audit(crit).expect("audit").len(), 1);

    // A due date set by hand survives an SLA policy change; others follow.
    db.triage(crit, &change(r#"{"due_date": "2026-01-03"}"#), "bob", at(3))
        .expect("due");
    let policy = SlaPolicy {
        critical: Some(1),
        high: Some(10),
        ..SlaPolicy::default()
    };
    db.set_sla_policy(&policy, at(3)).expect("policy");
    assert_eq!(db.sla_policy().expect("read"), policy);
    let crit_b = id_of(&db, b, "CVE-2026-0001");
    assert_eq!(
        db.finding_triage(crit).expect("t").due_at,
        Some(Timestamp::from_unix_ms(at(2).unix_ms() + DAY - 1)),
        "2026-01-03, end of day, kept"
    );
    assert_eq!(
        db.finding_triage(crit_b).expect("t").due_at,
        Some(Timestamp::from_unix_ms(at(1).unix_ms() + DAY))
    );

    // Bulk over a filter: every openssl finding on web-2.
    let filter = Filter::parse("package=openssl asset_name=web-2").expect("filter");
    let n = db
        .triage_bulk(
            &filter,
            &change(r#"{"state": "in_triage", "assignee": "carol"}"#),
            "dave",
            at(4),
        )
        .expect("bulk");
    assert_eq!(n, 2);
    let bulk_audit = db.triage_audit(crit_b).expect("audit");
    assert_eq!(bulk_audit.last().map(|e| e.via.as_str()), Some("bulk"));

    // A decision applied to the same vulnerability and package on other
    // assets, now and in future.
    let (rule, now_changed) = db
        .create_triage_rule(
            "CVE-2026-0002",
            "curl",
            &change(r#"{"state": "not_affected", "justification": "code_not_reachable"}"#),
            "erin",
            at(5),
        )
        .expect("rule");
    assert_eq!(now_changed, 2, "web-1 and web-2");
    let c = host(&db, "web-3");
    db.apply_evaluation(c, &findings(), at(6)).expect("eval c");
    let low_c = id_of(&db, c, "CVE-2026-0002");
    let tc = db.finding_triage(low_c).expect("t");
    assert_eq!(tc.state, Some(TriageState::NotAffected));
    assert_eq!(tc.rule, Some(rule));
    let audit_c = db.triage_audit(low_c).expect("audit");
    assert_eq!(audit_c.len(), 1);
    assert_eq!(audit_c[0].actor, "erin");
    assert_eq!(audit_c[0].via, format!("triage rule {rule}"));
    // Revoked: later findings are left untriaged.
    db.revoke_triage_rule(rule, at(6)).expect("revoke");
    let d = host(&db, "web-4");
    db.apply_evaluation(d, &findings(), at(7)).expect("eval d");
    assert_eq!(
        db.finding_triage(id_of(&db, d, "CVE-2026-0002"))
            .expect("t")
            .state,
        None
    );

    // Suppression rules: applied now, to new findings, reversible.
    let (rule, suppressed) = db
        .create_suppression_rule(
            "low noise",
            &Filter::parse("severity=LOW").expect("filter"),
            "low findings are handled in the monthly patch run",
            "frank",
            at(8),
        )
        .expect("suppression rule");
    assert_eq!(suppressed, 4, "one LOW finding on each of four hosts");
    let low_a = id_of(&db, a, "CVE-2026-0002");
    let f = db.finding(low_a).expect("read").expect("exists");
    assert_eq!(f.status, Status::Suppressed);
    let t = db.finding_triage(low_a).expect("t");
    assert_eq!(t.suppressed_by, Some(format!("rule:{}", rule.id)));
    assert!(
        db.create_suppression_rule(
            "low noise",
            &Filter::parse("severity=LOW").expect("f"),
            "x",
            "f",
            at(8)
        )
        .is_err(),
        "names are unique"
    );
    // A new asset's matching finding is suppressed by the rule too.
    let e = host(&db, "web-5");
    db.apply_evaluation(e, &findings(), at(9)).expect("eval e");
    assert_eq!(
        db.finding(id_of(&db, e, "CVE-2026-0002"))
            .expect("r")
            .expect("e")
            .status,
        Status::Suppressed
    );
    // A person makes one active again: the rules leave it be afterwards.
    db.triage(low_a, &change(r#"{"suppressed": false}"#), "grace", at(10))
        .expect("unsuppress");
    db.apply_evaluation(a, &findings(), at(11))
        .expect("re-eval a");
    assert_eq!(
        db.finding(low_a).expect("r").expect("e").status,
        Status::Active
    );
    // Deleting the rule makes what only it suppressed active again.
    let released = db.delete_suppression_rule(rule.id, at(12)).expect("delete");
    assert_eq!(released, 4, "web-2..web-5");
    assert!(
        db.findings(None, Some(Status::Suppressed))
            .expect("suppressed")
            .is_empty()
    );
    // A manual suppression is recorded as such and needs an open finding.
    let high_a = id_of(&db, a, "CVE-2026-0003");
    db.triage(
        high_a,
        &change(r#"{"suppressed": true, "suppress_reason": "compensating control"}"#),
        "grace",
        at(12),
    )
    .expect("suppress");
    let t = db.finding_triage(high_a).expect("t");
    assert_eq!(t.suppressed_by.as_deref(), Some("manual"));
    assert_eq!(t.status, Some(Status::Suppressed));
    let events: Vec<String> = db
        .finding_events(high_a)
        .expect("events")
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert_eq!(events, ["opened", "suppressed"]);

    // Risk acceptance expires back to in_triage, audited.
    let high_b = id_of(&db, b, "CVE-2026-0003");
    db.triage(
        high_b,
        &change(r#"{"state": "risk_accepted", "risk_accepted_until": "2026-01-20"}"#),
        "heidi",
        at(13),
    )
    .expect("accept");
    assert_eq!(db.expire_risk_acceptances(at(19)).expect("not yet"), 0);
    assert_eq!(db.expire_risk_acceptances(at(20)).expect("expired"), 1);
    let t = db.finding_triage(high_b).expect("t");
    assert_eq!(t.state, Some(TriageState::InTriage));
    assert_eq!(t.risk_accepted_until, None);
    let last = db.triage_audit(high_b).expect("audit");
    assert_eq!(
        last.last().map(|e| (e.actor.as_str(), e.via.as_str())),
        Some(("kensa", "expiry"))
    );
}

both!(triage_walk);
