//! The notification outbox and deliveries on both backends, with the real
//! findings of the Alpine 3.4 root (the lifecycle tests' world): events
//! written with the evaluation that causes them, rules matched in the
//! filter language, a flood collected into one digest, retries then the
//! dead-letter list, sweeps that emit each fact once.

use crate::common;

use std::time::Duration;

use common::TestDb;
use kensa_store::notify::{self, EXPORT_FINISHED, FINDING_CLOSED, FINDING_OPENED};
use kensa_store::{AssetUpsert, Db, NewRule, Pacing, StoreError, SweepPolicy, Timestamp};

fn world() -> &'static crate::lifecycle::World {
    static WORLD: std::sync::OnceLock<crate::lifecycle::World> = std::sync::OnceLock::new();
    WORLD.get_or_init(crate::lifecycle::world)
}

fn kinds(db: &Db, kind: &str) -> usize {
    db.outbox_events(0, 100_000)
        .expect("events")
        .iter()
        .filter(|e| e.kind == kind)
        .count()
}

fn webhook(db: &Db) -> i64 {
    db.put_channel(
        None,
        "hook",
        "webhook",
        &serde_json::json!({ "url": "http://127.0.0.1:9/" }),
        Some("0123456789abcdef0123"),
        Timestamp::now(),
    )
    .expect("channel")
}

fn rule(channel: i64, filter: &str) -> NewRule {
    NewRule {
        name: "high".into(),
        event_types: vec![FINDING_OPENED.into()],
        filter: filter.into(),
        channel_id: channel,
        mode: "each".into(),
        enabled: true,
    }
}

/// No waiting: what is collected is due at once.
fn now_pacing() -> Pacing {
    Pacing {
        window: Duration::ZERO,
        max_window: Duration::ZERO,
        max_attempts: 3,
        backoff: Duration::ZERO,
        max_backoff: Duration::ZERO,
    }
}

fn outbox_follows_the_lifecycle(t: &TestDb) {
    let w = world();
    let db = t.open();
    let at = |minutes: i64| Timestamp::from_unix_ms(1_800_000_000_000 + minutes * 60_000);
    let asset = db
        .upsert_asset(&AssetUpsert::from_inventory(&w.inventory, at(0)))
        .expect("asset");
    db.put_inventory(asset, &w.inventory, at(0))
        .expect("inventory");
    let findings = w.scan(&w.inventory);
    let counts = db
        .apply_evaluation(asset, &findings, at(1))
        .expect("evaluate");
    assert!(counts.new > 20);
    assert_eq!(kinds(&db, FINDING_OPENED), counts.new as usize);
    let events = db.outbox_events(0, 100_000).expect("events");
    // One cause for the whole evaluation, every event on this asset.
    assert!(events.iter().all(|e| e.cause == events[0].cause
        && e.asset_id == Some(asset.0)
        && e.finding_id.is_some()));

    // The same evaluation again: nothing happened, nothing is emitted.
    db.apply_evaluation(asset, &findings, at(2)).expect("again");
    assert_eq!(
        db.outbox_events(0, 100_000).expect("events").len(),
        counts.new as usize
    );

    // Everything removed: each finding closes, one event each.
    let closed = db.apply_evaluation(asset, &[], at(3)).expect("empty");
    assert_eq!(kinds(&db, FINDING_CLOSED), closed.closed as usize);
    // Back again: reopened, one event each.
    let back = db.apply_evaluation(asset, &findings, at(4)).expect("back");
    assert_eq!(kinds(&db, notify::FINDING_REOPENED), back.reopened as usize);

    // A refused (stale) evaluation rolls back, its events with it.
    let before = db.outbox_events(0, 100_000).expect("events").len();
    let stale = db.apply_evaluation(asset, &[], at(0));
    assert!(matches!(stale, Err(StoreError::StaleEvaluation { .. })));
    assert_eq!(db.outbox_events(0, 100_000).expect("events").len(), before);
}

both!(outbox_follows_the_lifecycle);

fn a_flood_is_one_digest_then_retried_then_dead(t: &TestDb) {
    let w = world();
    let db = t.open();
    let at = Timestamp::now();
    let asset = db
        .upsert_asset(&AssetUpsert::from_inventory(&w.inventory, at))
        .expect("asset");
    db.put_inventory(asset, &w.inventory, at)
        .expect("inventory");
    let channel = webhook(&db);
    let findings = w.scan(&w.inventory);
    // The Alpine root's findings are mostly without a score in the data
    // folder (UNTRIAGED), one is HIGH: the rule takes the first kind and
    // must leave the other out.
    let band = "severity=UNTRIAGED";
    db.put_rule(None, &rule(channel, band), "admin", at)
        .expect("rule");
    db.apply_evaluation_caused(asset, &findings, at, "kb:test")
        .expect("evaluate");
    let stored = db.findings(Some(asset), None).expect("findings");
    let selected: std::collections::BTreeSet<i64> = stored
        .iter()
        .filter(|f| f.severity.as_str() == "UNTRIAGED")
        .map(|f| f.id.0)
        .collect();
    let high = selected.len() as u64;
    assert!(
        high > 1 && high < stored.len() as u64,
        "{high} of {}",
        stored.len()
    );

    let pacing = now_pacing();
    let matched = db.match_events(&pacing, Timestamp::now()).expect("match");
    assert!(matched > high);
    assert_eq!(
        db.match_events(&pacing, Timestamp::now()).expect("again"),
        0
    );
    let d = db
        .claim_delivery("w1", Duration::from_secs(60))
        .expect("claim")
        .expect("one message is due");
    // Every opened finding the filter selects, in one digest; nothing else
    // is due.
    assert_eq!(d.event_count, high);
    assert!(d.message_id.starts_with("dig-"), "{}", d.message_id);
    assert_eq!(d.counts, vec![(FINDING_OPENED.to_owned(), high)]);
    assert!(
        d.events
            .iter()
            .all(|e| e.finding_id.is_some_and(|f| selected.contains(&f)))
    );
    assert!(d.channel.secret.is_some());
    assert!(
        db.claim_delivery("w2", Duration::from_secs(60))
            .expect("claim")
            .is_none()
    );
    let backlog = db.outbox_backlog().expect("backlog");
    assert_eq!(
        (backlog.unmatched, backlog.pending, backlog.dead),
        (0, 1, 0)
    );

    // Fails three times (max_attempts): retried with the same id, then dead.
    let mut d = d;
    for attempt in 1..=3 {
        assert_eq!(d.attempt, attempt);
        let dead = db
            .delivery_failed(&d, "receiver answered 500", &pacing)
            .expect("fail");
        assert_eq!(dead, attempt == 3);
        if !dead {
            let next = db
                .claim_delivery("w1", Duration::from_secs(60))
                .expect("claim")
                .expect("retried");
            assert_eq!(next.message_id, d.message_id);
            d = next;
        }
    }
    let dead = db.dead_letters(10).expect("dead letters");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].event_count, high);
    assert_eq!(dead[0].last_error.as_deref(), Some("receiver answered 500"));
    assert_eq!(db.outbox_backlog().expect("backlog").dead, 1);
    // An admin retries it: sent this time, with the same id.
    assert!(db.retry_dead_letter(dead[0].id).expect("retry"));
    let again = db
        .claim_delivery("w1", Duration::from_secs(60))
        .expect("claim")
        .expect("due again");
    assert_eq!(again.message_id, d.message_id);
    assert!(db.delivery_sent(&again).expect("sent"));
    assert_eq!(
        db.outbox_backlog().expect("backlog"),
        notify::OutboxBacklog::default()
    );
}

both!(a_flood_is_one_digest_then_retried_then_dead);

/// A message whose worker died (its lease ran out) is claimed again by
/// another with the same id; the dead worker's late report is refused.
fn an_expired_lease_is_claimed_again(t: &TestDb) {
    let db = t.open();
    let channel = webhook(&db);
    let mut r = rule(channel, "");
    r.event_types = vec![EXPORT_FINISHED.into()];
    db.put_rule(None, &r, "admin", Timestamp::now())
        .expect("rule");
    db.record_event(
        EXPORT_FINISHED,
        "export:1",
        &serde_json::json!({ "job": 1 }),
        Some("export.finished:1"),
    )
    .expect("event");
    // Recorded once, however often it is reported.
    db.record_event(
        EXPORT_FINISHED,
        "export:1",
        &serde_json::json!({}),
        Some("export.finished:1"),
    )
    .expect("event");
    db.match_events(&now_pacing(), Timestamp::now())
        .expect("match");
    let first = db
        .claim_delivery("dies", Duration::from_millis(1))
        .expect("claim")
        .expect("due");
    assert_eq!(first.event_count, 1);
    assert_eq!(first.message_id, format!("evt-{}", first.events[0].id));
    std::thread::sleep(Duration::from_millis(20));
    let second = db
        .claim_delivery("lives", Duration::from_secs(60))
        .expect("claim")
        .expect("lease ran out");
    assert_eq!(second.message_id, first.message_id);
    assert!(!db.delivery_sent(&first).expect("late report"));
    assert!(db.delivery_sent(&second).expect("sent"));
}

both!(an_expired_lease_is_claimed_again);

fn rules_are_checked(t: &TestDb) {
    let db = t.open();
    let channel = webhook(&db);
    let err = db
        .put_rule(
            None,
            &rule(channel, "severity>=HIGH bogus=1"),
            "admin",
            Timestamp::now(),
        )
        .expect_err("invalid filter");
    assert!(
        matches!(&err, StoreError::InvalidArgument(m) if m.starts_with("filter:") && m.contains("bogus")),
        "{err}"
    );
    let mut r = rule(channel, "");
    r.event_types = vec!["finding.exploded".into()];
    let err = db
        .put_rule(None, &r, "admin", Timestamp::now())
        .expect_err("unknown type");
    assert!(err.to_string().contains("finding.exploded"), "{err}");
    let err = db
        .put_rule(None, &rule(channel + 100, ""), "admin", Timestamp::now())
        .expect_err("no channel");
    assert!(err.to_string().starts_with("channel_id"), "{err}");
    let made = db
        .put_rule(
            None,
            &rule(channel, "kev=yes severity>=high"),
            "admin",
            Timestamp::now(),
        )
        .expect("valid");
    // Stored canonically, listed, refused a second time under its name.
    assert_eq!(db.rules().expect("rules"), vec![made.clone()]);
    assert!(
        db.put_rule(None, &rule(channel, ""), "admin", Timestamp::now())
            .is_err()
    );
    // A channel in use is not deleted.
    assert!(db.delete_channel(channel).is_err());
    assert!(db.delete_rule(made.id).expect("delete"));
    assert!(db.delete_channel(channel).expect("delete channel"));
}

both!(rules_are_checked);

fn sweeps_emit_each_fact_once(t: &TestDb) {
    let w = world();
    let db = t.open();
    let at = Timestamp::now();
    let asset = db
        .upsert_asset(&AssetUpsert::from_inventory(&w.inventory, at))
        .expect("asset");
    db.put_inventory(asset, &w.inventory, at)
        .expect("inventory");
    db.apply_evaluation(asset, &w.scan(&w.inventory), at)
        .expect("evaluate");
    // Two findings due: one yesterday, one tomorrow.
    let ids: Vec<i64> = db
        .findings(Some(asset), None)
        .expect("findings")
        .iter()
        .map(|f| f.id.0)
        .take(2)
        .collect();
    let day = 86_400_000;
    t.raw(&format!(
        "UPDATE findings SET due_at = NULL; \
         UPDATE findings SET due_at = {} WHERE id = {}; \
         UPDATE findings SET due_at = {} WHERE id = {};",
        at.unix_ms() - day,
        ids[0],
        at.unix_ms() + day,
        ids[1]
    ));
    let policy = SweepPolicy {
        silent_after: Duration::from_secs(3600),
        due_within: Duration::from_secs(7 * 86_400),
        eol_within_days: 36_500,
    };
    // Two days on, the agent has not reported since.
    let later = at.plus(Duration::from_secs(2 * 3600));
    let c = db.sweep_events(&policy, later).expect("sweep");
    assert_eq!((c.due_passed, c.due_approaching, c.silent), (1, 1, 1));
    // Alpine 3.4's end of life is long past: within any horizon, if the
    // evaluation recorded it (the store test sets no end of life).
    let again = db.sweep_events(&policy, later).expect("sweep again");
    assert_eq!(again, notify::SweepCounts::default());
}

both!(sweeps_emit_each_fact_once);
