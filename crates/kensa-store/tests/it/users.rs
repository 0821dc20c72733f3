//! Users and sessions on both backends: unique names, no hash in what is
//! listed, sessions refused once expired, ended or their user disabled,
//! and the last enabled admin kept.

use crate::common;

use common::TestDb;
use kensa_store::{StoreError, Timestamp};

const T0: Timestamp = Timestamp::from_unix_ms(1_800_000_000_000);

fn at(minutes: i64) -> Timestamp {
    Timestamp::from_unix_ms(T0.unix_ms() + minutes * 60_000)
}

fn users_are_unique_and_listed_without_hashes(t: &TestDb) {
    let db = t.open();
    assert!(!db.has_users().expect("has users"));
    let alice = db
        .create_user("alice", "admin", "$argon2id$v=19$alice", T0)
        .expect("create")
        .expect("new name");
    assert!(
        db.create_user("alice", "viewer", "$argon2id$v=19$other", at(1))
            .expect("create")
            .is_none(),
        "a taken name"
    );
    db.create_user("bob", "viewer", "$argon2id$v=19$bob", at(2))
        .expect("create")
        .expect("new name");
    assert!(db.has_users().expect("has users"));
    // The schema refuses an unknown role.
    assert!(db.create_user("eve", "root", "$argon2id$x", T0).is_err());

    let users = db.list_users().expect("list");
    let names: Vec<_> = users.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["alice", "bob"]);
    assert_eq!(users[0].id, alice);
    assert_eq!(users[0].role, "admin");
    assert_eq!(users[0].created_at, T0);
    let listed = serde_json::to_string(&users).expect("json");
    assert!(!listed.contains("argon2"), "{listed}");

    let login = db.user_for_login("alice").expect("read").expect("exists");
    assert_eq!(login.id, alice);
    assert_eq!(login.password_hash, "$argon2id$v=19$alice");
    assert!(!login.disabled);
    assert!(!format!("{login:?}").contains("argon2"));
    assert!(db.user_for_login("nobody").expect("read").is_none());
}

fn sessions_end_when_expired_deleted_or_disabled(t: &TestDb) {
    let db = t.open();
    let alice = db
        .create_user("alice", "admin", "$argon2id$a", T0)
        .expect("create")
        .expect("new");
    let bob = db
        .create_user("bob", "analyst", "$argon2id$b", T0)
        .expect("create")
        .expect("new");
    db.create_session("sa", alice, "ca", T0, at(60))
        .expect("session");
    db.create_session("sb", bob, "cb", T0, at(60))
        .expect("session");
    db.create_session("sb-old", bob, "cb2", T0, at(5))
        .expect("session");

    let s = db.session("sa", at(1)).expect("read").expect("live");
    assert_eq!((s.name.as_str(), s.role.as_str()), ("alice", "admin"));
    assert_eq!(s.csrf_digest, "ca");
    assert_eq!(s.expires_at, at(60));
    // Seen a minute later: last_seen moves.
    assert_eq!(db.session_last_seen("sa").expect("read"), Some(at(1)));
    assert!(db.session("unknown", at(1)).expect("read").is_none());

    // Expiry: refused from expires_at on, then forgotten.
    assert!(db.session("sb-old", at(4)).expect("read").is_some());
    assert!(db.session("sb-old", at(5)).expect("read").is_none());
    assert_eq!(db.delete_expired_sessions(at(6)).expect("purge"), 1);
    assert_eq!(
        t.raw_count("SELECT COUNT(*) FROM sessions WHERE digest = 'sb-old'"),
        0
    );

    // A role change applies to the live session at once.
    assert!(db.set_role("bob", "viewer", at(2)).expect("role"));
    assert_eq!(
        db.session("sb", at(2)).expect("read").expect("live").role,
        "viewer"
    );

    // Disabled: refused, its sessions gone; enabled again, no old session
    // comes back.
    assert!(db.set_disabled("bob", true, at(3)).expect("disable"));
    assert!(db.session("sb", at(3)).expect("read").is_none());
    assert!(
        db.user_for_login("bob")
            .expect("read")
            .expect("exists")
            .disabled
    );
    assert_eq!(
        t.raw_count("SELECT COUNT(*) FROM sessions WHERE user_id IN (SELECT id FROM users WHERE name = 'bob')"),
        0
    );
    assert!(db.set_disabled("bob", false, at(4)).expect("enable"));
    assert!(
        !db.user_for_login("bob")
            .expect("read")
            .expect("exists")
            .disabled
    );
    assert!(db.session("sb", at(4)).expect("read").is_none());

    // Logout.
    assert!(db.delete_session("sa").expect("delete"));
    assert!(!db.delete_session("sa").expect("delete again"));
    assert!(db.session("sa", at(2)).expect("read").is_none());
    assert!(!db.set_role("nobody", "viewer", T0).expect("role"));
    assert!(!db.set_disabled("nobody", true, T0).expect("disable"));
}

fn a_new_password_ends_the_other_sessions(t: &TestDb) {
    let db = t.open();
    let id = db
        .create_user("carol", "analyst", "$argon2id$old", T0)
        .expect("create")
        .expect("new");
    for s in ["s1", "s2", "s3"] {
        db.create_session(s, id, "c", T0, at(60)).expect("session");
    }
    assert!(
        db.set_password("carol", "$argon2id$new", at(1), Some("s2"))
            .expect("password")
    );
    assert_eq!(
        db.user_for_login("carol")
            .expect("read")
            .expect("exists")
            .password_hash,
        "$argon2id$new"
    );
    assert!(db.session("s1", at(2)).expect("read").is_none());
    assert!(db.session("s2", at(2)).expect("read").is_some());
    assert!(db.session("s3", at(2)).expect("read").is_none());
    assert!(
        db.set_password("carol", "$argon2id$newer", at(3), None)
            .expect("password")
    );
    assert!(db.session("s2", at(4)).expect("read").is_none());
    assert!(
        !db.set_password("nobody", "$argon2id$x", at(3), None)
            .expect("password")
    );
    assert_eq!(
        db.user("carol").expect("read").expect("exists").updated_at,
        at(3)
    );
}

fn the_last_enabled_admin_stays(t: &TestDb) {
    let db = t.open();
    db.create_user("root", "admin", "$argon2id$r", T0)
        .expect("create")
        .expect("new");
    let last = |e: StoreError| {
        assert!(e.to_string().contains("last enabled admin"), "{e}");
    };
    last(db.set_role("root", "analyst", at(1)).expect_err("demote"));
    last(db.set_disabled("root", true, at(1)).expect_err("disable"));
    assert_eq!(
        db.user("root").expect("read").expect("exists").role,
        "admin"
    );

    db.create_user("second", "admin", "$argon2id$s", T0)
        .expect("create")
        .expect("new");
    assert!(db.set_disabled("second", true, at(2)).expect("disable"));
    // A disabled admin does not count.
    last(db.set_role("root", "viewer", at(3)).expect_err("demote"));
    assert!(db.set_disabled("second", false, at(4)).expect("enable"));
    assert!(db.set_role("root", "viewer", at(5)).expect("demote"));
    last(db.set_disabled("second", true, at(6)).expect_err("disable"));
}

both!(
    users_are_unique_and_listed_without_hashes,
    sessions_end_when_expired_deleted_or_disabled,
    a_new_password_ends_the_other_sessions,
    the_last_enabled_admin_stays,
);
