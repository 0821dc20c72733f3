//! The export reader against the list API: for several filters and sorts,
//! `Db::export_findings` yields exactly the findings the keyset pages of
//! `Db::query_findings` list, in the same order, each with its stored
//! record, triage and asset; export jobs are one at a time per owner.

use crate::common;

use common::TestDb;
use kensa_model::Band;
use kensa_store::{
    AssetKind, AssetUpsert, Filter, FindingQuery, Management, Sort, Timestamp, TriageChange,
};

fn populate(db: &kensa_store::Db) {
    let bands = [Band::Critical, Band::High, Band::Medium, Band::Low];
    let mut n = 0;
    for a in 0..12 {
        let id = db
            .upsert_asset(&AssetUpsert {
                kind: AssetKind::Host,
                name: format!("host{a}"),
                hostname: Some(format!("host{a}")),
                machine_id: Some(format!("m{a}")),
                image_id: None,
                os_id: Some("debian".into()),
                os_release: Some("12".into()),
                seen_at: Timestamp::now(),
            })
            .expect("asset");
        db.set_management(
            id,
            &Management {
                team: Some(if a % 2 == 0 { "web" } else { "data" }.into()),
                tags: vec![format!("n={a}")],
                ..Management::default()
            },
            Timestamp::now(),
        )
        .expect("management");
        let fs: Vec<_> = (0..250)
            .map(|i| {
                n += 1;
                let mut f = common::finding(
                    &format!("CVE-2026-{:05}", (n * 7919) % 3000),
                    &format!("pkg{}", i % 40),
                    "1.0-1",
                );
                f.severity = bands[(n * 31) % 4];
                f.cvss.push(kensa_model::CvssScore {
                    source: "nvd@nist.gov".into(),
                    version: "3.1".into(),
                    vector: String::new(),
                    // Ties on purpose: the id breaks them.
                    base_score: ((n * 13) % 21) as f64 / 2.0,
                    temporal_score: None,
                    environmental_score: None,
                });
                f
            })
            .collect();
        db.apply_evaluation(id, &fs, Timestamp::now())
            .expect("evaluation");
    }
}

fn export_agrees_with_the_list_api(t: &TestDb) {
    let db = t.open();
    populate(&db);
    let first = db.findings(None, None).expect("findings")[0].id;
    let change: TriageChange =
        serde_json::from_str(r#"{"state": "exploitable", "assignee": "ann"}"#).expect("change");
    db.triage(first, &change, "ann", Timestamp::now())
        .expect("triage");
    let stored: std::collections::HashMap<_, _> = db
        .findings(None, None)
        .expect("findings")
        .into_iter()
        .map(|f| (f.id, f))
        .collect();
    assert!(stored.len() > 2500);
    for (filter, sort) in [
        ("", "severity:desc"),
        ("", "vulnerability_id"),
        ("team=web", "score:asc"),
        ("severity=HIGH,CRITICAL", "package:desc"),
        ("package^=pkg1", "asset_id"),
        ("severity=INFORMATIONAL", "severity"),
    ] {
        let filter = Filter::parse(filter).expect("filter");
        let sort: Sort = sort.parse().expect("sort");
        let mut listed = Vec::new();
        let mut cursor = None;
        loop {
            let page = db
                .query_findings(&FindingQuery {
                    filter: filter.clone(),
                    sort,
                    limit: Some(1000),
                    cursor,
                })
                .expect("page");
            listed.extend(page.findings.iter().map(|f| (f.id, f.asset_name.clone())));
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        let mut exported = Vec::new();
        let n = db
            .export_findings(&filter, sort, |r| {
                let s = &stored[&r.id];
                assert_eq!(r.finding, s.finding);
                assert_eq!(r.status, s.status);
                assert_eq!(r.first_observed, s.first_observed);
                assert_eq!(r.asset.id, s.asset);
                assert_eq!(
                    r.asset.management.tags,
                    vec![format!("n={}", s.asset.0 - 1)]
                );
                if r.id == first {
                    assert_eq!(r.triage.assignee.as_deref(), Some("ann"));
                }
                exported.push((r.id, r.asset.name.clone()));
                Ok(())
            })
            .expect("export");
        assert_eq!(n as usize, exported.len());
        assert_eq!(exported, listed, "{filter} by {sort}");
    }
    // An error from the caller stops the export and comes back.
    let mut seen = 0;
    let err = db
        .export_findings(&Filter::default(), Sort::default(), |_| {
            seen += 1;
            if seen == 1500 {
                return Err(kensa_store::StoreError::InvalidArgument("stop".into()));
            }
            Ok(())
        })
        .expect_err("stopped");
    assert_eq!(seen, 1500);
    assert!(err.to_string().contains("stop"), "{err}");
}

fn one_export_job_at_a_time_per_owner(t: &TestDb) {
    use kensa_store::Enqueued;
    let db = t.open();
    let payload = serde_json::json!({"owner": "ann", "format": "csv",
        "destination": {"type": "download"}});
    let queued = |e: Enqueued| match e {
        Enqueued::Queued(id) => id,
        other => panic!("not queued: {other:?}"),
    };
    let first = queued(db.enqueue_export("ann", &payload, 1000).expect("enqueue"));
    assert_eq!(
        db.enqueue_export("ann", &payload, 1000).expect("enqueue"),
        Enqueued::Busy(first)
    );
    let bob = queued(db.enqueue_export("bob", &payload, 1000).expect("enqueue"));
    let job = db
        .claim(
            "w",
            &[kensa_store::EXPORT_JOB],
            std::time::Duration::from_secs(60),
        )
        .expect("claim")
        .expect("a job");
    assert_eq!(job.id, first);
    assert!(db.job_held(&job).expect("held"));
    // Running still counts.
    assert_eq!(
        db.enqueue_export("ann", &payload, 1000).expect("enqueue"),
        Enqueued::Busy(first)
    );
    let mut done = job.payload.clone();
    done["rows"] = serde_json::json!(42);
    done["bytes"] = serde_json::json!(1500);
    db.set_job_payload(&job, &done).expect("progress");
    db.complete(&job).expect("complete");
    assert!(!db.job_held(&job).expect("held"));
    // Ann's kept download holds 1,500 bytes: over a quota of 1,000.
    assert_eq!(db.export_bytes_held("ann").expect("held"), 1500);
    assert_eq!(
        db.enqueue_export("ann", &payload, 1000).expect("enqueue"),
        Enqueued::OverQuota { held: 1500 }
    );
    let again = queued(db.enqueue_export("ann", &payload, 2000).expect("enqueue"));
    let ann: Vec<_> = db
        .export_jobs(Some("ann"), 10)
        .expect("list")
        .iter()
        .map(|j| j.info.id)
        .collect();
    assert_eq!(ann, vec![again, first]);
    assert_eq!(db.export_jobs(None, 10).expect("list").len(), 3);
    assert!(db.export_jobs(Some("bob"), 10).expect("list")[0].info.id == bob);
    assert_eq!(
        db.job(first).expect("job").expect("job").payload["rows"],
        42
    );
    // A finished job's claim no longer holds: its payload stays.
    assert!(db.set_job_payload(&job, &payload).is_err());

    // Cancelled: failed, who recorded, and the owner may queue again.
    assert!(db.cancel_export(again, "ann").expect("cancel"));
    assert!(!db.cancel_export(again, "ann").expect("cancel twice"));
    let c = db.export_job(again).expect("read").expect("job");
    assert_eq!(c.info.state, kensa_store::JobState::Failed);
    assert_eq!(c.info.payload["cancelled_by"], "ann");
    // Expiry: a retention of zero expires the finished download at once;
    // its bytes no longer count.
    let expired = db
        .expire_exports(std::time::Duration::ZERO)
        .expect("expire");
    assert_eq!(
        expired.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![first]
    );
    assert!(
        db.export_job(first)
            .expect("read")
            .expect("job")
            .expired_at
            .is_some()
    );
    assert_eq!(db.export_bytes_held("ann").expect("held"), 0);
    assert!(
        db.expire_exports(std::time::Duration::ZERO)
            .expect("expire")
            .is_empty(),
        "expired once"
    );
    assert!(db.delete_export(first).expect("delete"));
    assert!(db.export_job(first).expect("read").is_none());
    assert!(!db.delete_export(first).expect("delete twice"));
}

both!(
    export_agrees_with_the_list_api,
    one_export_job_at_a_time_per_owner
);
