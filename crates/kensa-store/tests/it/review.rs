//! Reviews (issue 17) on both backends: a review holds the assets its
//! scope selected when it opened; answers are checked; only answered
//! assets are signed; management edits and removals during the review are
//! recorded in it; closing freezes a canonical report with its SHA-256,
//! and a report altered in the database is refused as tampered; the next
//! review of the same scope shows what changed.

use crate::common;

use common::TestDb;
use kensa_store::review::{EolAction, EolPlan, ManagementConfirmed, sha256_hex};
use kensa_store::{
    AssetId, Checklist, Decision, ExposedPort, InternetExposure, ManagementPatch, OwnerSign,
    RegisterRecord, StoreError, Timestamp,
};

fn at(s: i64) -> Timestamp {
    Timestamp::from_unix_ms(1_800_000_000_000 + s * 1000)
}

fn server(
    line: usize,
    name: &str,
    team: &str,
    owner: &str,
    support_end: Option<&str>,
) -> RegisterRecord {
    RegisterRecord {
        line,
        name: name.into(),
        hostname: Some(name.into()),
        os_id: Some("debian".into()),
        os_release: Some("12".into()),
        management: ManagementPatch {
            team: Some(Some(team.into())),
            owner: Some(Some(owner.into())),
            environment: Some(Some("production".into())),
            support_end: Some(support_end.map(Into::into)),
            internet_exposure: Some(Some(InternetExposure::No)),
            ..ManagementPatch::default()
        },
        ..RegisterRecord::default()
    }
}

fn all_confirmed(plan: Option<EolPlan>) -> Checklist {
    Checklist {
        management: ManagementConfirmed {
            operation_start: true,
            support_end: true,
            owner: true,
            team: true,
            environment: true,
            tags: true,
            internet_exposure: true,
            exposed_ports: true,
        },
        eol_plan: plan,
        exposure_confirmed: true,
        findings_acknowledged: true,
        acceptances_valid: true,
        comment: Some("checked with the runbook".into()),
    }
}

fn replace() -> Option<EolPlan> {
    Some(EolPlan {
        action: EolAction::Replace,
        until: Some("2027-03-31".into()),
        note: None,
    })
}

fn id_of(db: &kensa_store::Db, review: i64, name: &str) -> i64 {
    db.review_assets(review)
        .expect("assets")
        .into_iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("{name} in review {review}"))
        .asset_id
}

fn review_lifecycle(t: &TestDb) {
    let db = t.open();
    let records = vec![
        server(1, "web-1", "web", "alice", Some("2020-01-31")),
        server(2, "web-2", "web", "alice", None),
        server(3, "web-3", "web", "bob", Some("2099-12-31")),
        server(4, "db-1", "data", "carol", None),
    ];
    db.import_register(&records, at(0))
        .expect("import")
        .expect("valid register");

    // A scope in the filter language chooses the assets, now.
    let bad = db.open_review("2026 Q4", "colour=blue", OwnerSign::Auditor, "admin", at(1));
    assert!(
        matches!(&bad, Err(StoreError::InvalidArgument(m)) if m.contains("scope")),
        "{bad:?}"
    );
    let id = db
        .open_review("2026 Q4", "team=web", OwnerSign::Auditor, "admin", at(1))
        .expect("open");
    let dup = db.open_review("2026 Q4", "", OwnerSign::Auditor, "admin", at(1));
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    let assets = db.review_assets(id).expect("assets");
    let names: Vec<&str> = assets.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["web-1", "web-2", "web-3"]);
    assert!(assets.iter().all(|a| a.state == "pending"));
    assert_eq!(
        assets[0].snapshot.management.support_end.as_deref(),
        Some("2020-01-31")
    );
    let (w1, w2, w3) = (
        id_of(&db, id, "web-1"),
        id_of(&db, id, "web-2"),
        id_of(&db, id, "web-3"),
    );

    // An asset with a support end needs an end-of-life plan; one without
    // does not.
    let e = db
        .answer_review(id, w1, &all_confirmed(None), "alice", at(2))
        .expect_err("no plan");
    assert!(e.to_string().contains("eol_plan"), "{e}");
    let accept_without_date = Some(EolPlan {
        action: EolAction::Accept,
        until: None,
        note: None,
    });
    let e = db
        .answer_review(id, w1, &all_confirmed(accept_without_date), "alice", at(2))
        .expect_err("accept needs until");
    assert!(e.to_string().contains("until"), "{e}");
    db.answer_review(id, w2, &all_confirmed(None), "alice", at(2))
        .expect("no dates, no plan needed");
    db.answer_review(id, w1, &all_confirmed(replace()), "alice", at(2))
        .expect("answer");

    // Only an answered asset is signed; a send-back needs a reason and
    // returns it to its owner.
    let e = db
        .decide_review(id, w3, &Decision::Sign { comment: None }, "audrey", at(3))
        .expect_err("pending");
    assert!(matches!(e, StoreError::Conflict(_)), "{e}");
    let e = db
        .decide_review(
            id,
            w1,
            &Decision::SendBack {
                comment: " ".into(),
            },
            "audrey",
            at(3),
        )
        .expect_err("empty reason");
    assert!(e.to_string().contains("comment"), "{e}");
    db.decide_review(
        id,
        w1,
        &Decision::SendBack {
            comment: "support ended in 2020: when is it replaced?".into(),
        },
        "audrey",
        at(3),
    )
    .expect("send back");
    assert_eq!(db.review_asset(id, w1).expect("a").state, "sent_back");
    db.answer_review(id, w1, &all_confirmed(replace()), "alice", at(4))
        .expect("answer again");
    db.decide_review(id, w1, &Decision::Sign { comment: None }, "audrey", at(5))
        .expect("sign");
    let e = db
        .answer_review(id, w1, &all_confirmed(replace()), "alice", at(6))
        .expect_err("signed is final");
    assert!(matches!(e, StoreError::Conflict(_)), "{e}");

    // Management items edited during the review are recorded in it.
    let before = db
        .asset(AssetId(w2))
        .expect("read")
        .expect("asset")
        .management;
    let mut after = before.clone();
    after.internet_exposure = Some(InternetExposure::Yes);
    after.exposed_ports = vec![ExposedPort {
        port: 443,
        to_port: None,
        protocol: "tcp".into(),
        source: "register".into(),
    }];
    db.set_management(AssetId(w2), &after, at(6)).expect("edit");
    assert_eq!(
        db.note_management_change(AssetId(w2), &before, &after, "admin", at(6))
            .expect("note"),
        1
    );
    let ev = db.review_events(id, Some(w2)).expect("events");
    let changed = ev
        .iter()
        .find(|e| e.action == "management_changed")
        .expect("recorded");
    assert_eq!(changed.detail["internet_exposure"]["before"], "no");
    assert_eq!(changed.detail["internet_exposure"]["after"], "yes");
    assert!(changed.detail.get("owner").is_none(), "{}", changed.detail);
    db.decide_review(id, w2, &Decision::Sign { comment: None }, "audrey", at(7))
        .expect("sign");

    // Closing waits for every asset still present.
    let e = db
        .close_review(id, "admin", at(8))
        .expect_err("web-3 unsigned");
    assert!(e.to_string().contains("web-3"), "{e}");
    // Removed during the review: it stays in it, as removed, and no longer
    // holds up the close.
    assert!(
        db.remove_asset(AssetId(w3), "admin", at(8))
            .expect("remove")
    );
    assert!(db.asset(AssetId(w3)).expect("read").is_none());
    let gone = db.review_asset(id, w3).expect("still in the review");
    assert!(gone.removed_at.is_some());
    assert_eq!(gone.name, "web-3");
    let e = db
        .answer_review(id, w3, &all_confirmed(replace()), "bob", at(9))
        .expect_err("removed");
    assert!(e.to_string().contains("removed"), "{e}");

    let digest = db.close_review(id, "admin", at(10)).expect("close");
    let r = db.review(id).expect("read").expect("review");
    assert_eq!(r.state, "closed");
    assert_eq!(r.digest.as_deref(), Some(digest.as_str()));
    assert_eq!((r.counts.signed, r.counts.removed), (2, 1));
    let report = db.review_report(id).expect("report");
    assert_eq!(sha256_hex(&report.bytes), digest);
    let v = report.json().expect("json");
    assert_eq!(v["format"], "kensa-review-report/1");
    assert_eq!(v["summary"]["assets"], 3);
    assert_eq!(v["summary"]["removed"], 1);
    assert_eq!(v["summary"]["support_end_past"], 1);
    assert_eq!(v["summary"]["management_changed"], 1);
    assert!(v["changes"].is_null(), "first review: nothing to compare");
    let entries: Vec<&serde_json::Value> = v["teams"][0]["assets"]
        .as_array()
        .expect("assets")
        .iter()
        .collect();
    assert_eq!(v["teams"][0]["team"], "web");
    assert_eq!(entries.len(), 3);
    let e1 = entries
        .iter()
        .find(|e| e["name"] == "web-1")
        .expect("web-1");
    assert_eq!(e1["support_end_past"], true);
    assert_eq!(e1["answers"]["eol_plan"]["action"], "replace");
    assert_eq!(e1["signed_by"], "audrey");
    let e3 = entries
        .iter()
        .find(|e| e["name"] == "web-3")
        .expect("web-3");
    assert_eq!(e3["state"], "removed");
    assert_eq!(e3["support_end"], "2099-12-31", "what it was when opened");
    // Canonical: the stored bytes are the compact, key-sorted form.
    assert_eq!(
        serde_json::to_vec(&v).expect("re-serialise"),
        report.bytes,
        "the report is not in canonical form"
    );

    // Frozen: nothing changes a closed review.
    let e = db
        .decide_review(id, w2, &Decision::Sign { comment: None }, "audrey", at(11))
        .expect_err("closed");
    assert!(e.to_string().contains("closed"), "{e}");

    // Altered behind Kensa's back: refused, not shown.
    t.raw(&format!(
        "UPDATE reviews SET report = replace(report, 'audrey', 'mallory') WHERE id = {id}"
    ));
    let e = db.review_report(id).expect_err("tampered");
    assert!(matches!(e, StoreError::Tampered { .. }), "{e}");
    assert!(e.to_string().contains("tampered"), "{e}");
}

fn next_review_shows_the_differences(t: &TestDb) {
    let db = t.open();
    db.import_register(
        &[
            server(1, "app-1", "app", "alice", Some("2099-01-01")),
            server(2, "app-2", "app", "alice", None),
        ],
        at(0),
    )
    .expect("import")
    .expect("valid");
    let sign_all = |id: i64, s: i64| {
        for a in db.review_assets(id).expect("assets") {
            if a.removed_at.is_some() {
                continue;
            }
            let plan = a.snapshot.management.support_end.as_ref().map(|_| EolPlan {
                action: EolAction::Upgrade,
                until: None,
                note: None,
            });
            db.answer_review(id, a.asset_id, &all_confirmed(plan), "alice", at(s))
                .expect("answer");
            db.decide_review(
                id,
                a.asset_id,
                &Decision::Sign { comment: None },
                "audrey",
                at(s),
            )
            .expect("sign");
        }
    };
    let q3 = db
        .open_review("2026 Q3", "team=app", OwnerSign::Auditor, "admin", at(1))
        .expect("open");
    sign_all(q3, 2);
    // A review of another scope is not "the previous review" of this one.
    db.open_review("other", "team=nobody", OwnerSign::Any, "admin", at(2))
        .expect("open");
    db.close_review(q3, "admin", at(3)).expect("close");

    // Between the reviews: an asset added, one removed, one exposed, and
    // (closing far in the future) a support end passes.
    db.import_register(&[server(3, "app-3", "app", "alice", None)], at(4))
        .expect("import")
        .expect("valid");
    let app2 = id_of(&db, q3, "app-2");
    let app1 = id_of(&db, q3, "app-1");
    assert!(
        db.remove_asset(AssetId(app2), "admin", at(5))
            .expect("removed")
    );
    let mut m = db
        .asset(AssetId(app1))
        .expect("read")
        .expect("a")
        .management;
    m.internet_exposure = Some(InternetExposure::Yes);
    db.set_management(AssetId(app1), &m, at(5)).expect("edit");

    let q4 = db
        .open_review("2026 Q4", "team=app", OwnerSign::Auditor, "admin", at(6))
        .expect("open");
    sign_all(q4, 7);
    let far = Timestamp::parse_rfc3339("2100-01-15T00:00:00Z").expect("time");
    db.close_review(q4, "admin", far).expect("close");
    let v = db
        .review_report(q4)
        .expect("verified")
        .json()
        .expect("json");
    assert_eq!(v["previous"]["name"], "2026 Q3");
    let c = &v["changes"];
    let names = |k: &str| -> Vec<String> {
        c[k].as_array()
            .expect(k)
            .iter()
            .map(|a| a["name"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(names("new_assets"), ["app-3"]);
    assert_eq!(names("removed_assets"), ["app-2"]);
    let dates = c["dates_passed"].as_array().expect("dates");
    assert_eq!(dates.len(), 1, "{dates:?}");
    assert_eq!(dates[0]["name"], "app-1");
    assert_eq!(dates[0]["field"], "support_end");
    let exp = c["exposure_changes"].as_array().expect("exposure");
    assert_eq!(exp.len(), 1, "{exp:?}");
    assert_eq!(exp[0]["before"]["exposure"], "no");
    assert_eq!(exp[0]["after"]["exposure"], "yes");
}

fn auditor_role_is_stored(t: &TestDb) {
    let db = t.open();
    db.create_user("audrey", "auditor", "$argon2id$x", at(0))
        .expect("an auditor user")
        .expect("created");
    db.create_owned_api_token("audit ci", "auditor", "audrey", "d1", at(0))
        .expect("an auditor token");
    assert!(
        db.create_user("eve", "superuser", "$argon2id$x", at(0))
            .is_err(),
        "the role CHECK still refuses unknown roles"
    );
}

/// A database at the schema before reviews, with a user, a live session
/// and a token, migrated: the rebuilt tables keep their rows (SQLite
/// rebuilds `users`, `sessions` and `api_tokens` to change the role
/// CHECK) and their cascade.
fn the_role_migration_keeps_users_sessions_and_tokens(t: &TestDb) {
    let dialect = t.name();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(dialect);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("migrations")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n < "0014")
        })
        .collect();
    files.sort();
    assert_eq!(files.len(), 13, "{files:?}");
    let mut sql = String::from(
        "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, \
         applied_at BIGINT NOT NULL);\n",
    );
    for (i, f) in files.iter().enumerate() {
        sql.push_str(&std::fs::read_to_string(f).expect("read"));
        sql.push_str(&format!(
            "\nINSERT INTO schema_migrations VALUES ({}, 'm', 0);\n",
            i + 1
        ));
    }
    sql.push_str(
        "INSERT INTO users (name, role, password_hash, created_at, updated_at) \
         VALUES ('admin', 'admin', 'h', 1, 1), ('ana', 'analyst', 'h', 1, 1);\n\
         INSERT INTO sessions SELECT 'sd', id, 'cd', 1, 9999999999999, 1 FROM users WHERE name = 'ana';\n\
         INSERT INTO api_tokens (name, role, digest, created_at, owner, last_used_at) \
         VALUES ('ci', 'viewer', 'td', 1, 'admin', 5);\n",
    );
    t.raw(&sql);
    let db = t.open();
    assert_eq!(t.raw_count("SELECT COUNT(*) FROM users"), 2);
    assert_eq!(t.raw_count("SELECT COUNT(*) FROM sessions"), 1);
    assert_eq!(
        t.raw_count("SELECT COUNT(*) FROM api_tokens WHERE owner = 'admin' AND last_used_at = 5"),
        1
    );
    assert!(db.session("sd", at(0)).expect("session").is_some());
    db.create_user("audrey", "auditor", "h", at(0))
        .expect("auditor")
        .expect("created");
    // The cascade survived the rebuild.
    let fk = if dialect == "sqlite" {
        "PRAGMA foreign_keys = ON; "
    } else {
        ""
    };
    t.raw(&format!("{fk}DELETE FROM users WHERE name = 'ana'"));
    assert_eq!(t.raw_count("SELECT COUNT(*) FROM sessions"), 0);
}

both!(
    the_role_migration_keeps_users_sessions_and_tokens,
    review_lifecycle,
    next_review_shows_the_differences,
    auditor_role_is_stored
);
