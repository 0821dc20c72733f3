//! What the console reads and keeps, on both backends: the dashboard's
//! counts and trend against findings whose history is known, and saved
//! views.

use crate::common;

use common::{TestDb, finding};
use kensa_model::Score;
use kensa_store::{AssetKind, AssetUpsert, MAX_SAVED_VIEWS, SavedView, StoreError, Timestamp};

const DAY: i64 = 86_400_000;
const D0: i64 = 1_800_000_000_000;

fn dashboard_counts_and_trend(t: &TestDb) {
    let db = t.open();
    let asset = db
        .upsert_asset(&AssetUpsert {
            kind: AssetKind::Host,
            name: "web-1".into(),
            hostname: Some("web-1".into()),
            machine_id: Some("m-1".into()),
            image_id: None,
            os_id: Some("debian".into()),
            os_release: Some("12".into()),
            seen_at: Timestamp::from_unix_ms(D0),
        })
        .expect("asset");
    // Base 9.8 lowered to 6.5 by the exposure rules: CRITICAL by its base
    // score, MEDIUM as adjusted.
    let mut scored = finding("CVE-2026-0001", "openssl", "3.0.1");
    scored.score = Some(Score {
        base_vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".into(),
        base_source: "nvd@nist.gov".into(),
        base: 9.8,
        vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/MAV:A".into(),
        adjusted: 6.5,
        adjustments: vec![],
    });
    scored.severity = kensa_model::Band::Medium;
    let mut unfixed = finding("CVE-2026-0002", "curl", "7.88");
    unfixed.fixed_version = None;
    let closing = finding("CVE-2026-0003", "zlib", "1.2");
    db.apply_evaluation(
        asset,
        &[scored.clone(), unfixed.clone(), closing],
        Timestamp::from_unix_ms(D0),
    )
    .expect("first evaluation");
    // Two days later zlib is fixed: its finding closes.
    db.apply_evaluation(
        asset,
        &[scored, unfixed],
        Timestamp::from_unix_ms(D0 + 2 * DAY),
    )
    .expect("second evaluation");

    let c = db.open_counts().expect("counts");
    assert_eq!(c.total, 2);
    // BANDS: CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL, UNTRIAGED.
    assert_eq!(c.adjusted, [0, 1, 1, 0, 0, 0], "{c:?}");
    assert_eq!(c.base, [1, 0, 0, 0, 0, 1], "{c:?}");
    assert_eq!(c.fixable, 1);
    assert_eq!(c.kev, 0);

    let trend = db
        .open_trend(&[D0 - DAY, D0, D0 + DAY, D0 + 3 * DAY])
        .expect("trend");
    assert_eq!(trend, [0, 3, 3, 2]);
    assert!(db.open_trend(&[]).expect("empty").is_empty());
}

fn views_are_kept_per_user(t: &TestDb) {
    let db = t.open();
    let at = Timestamp::from_unix_ms(D0);
    let view = |name: &str, url: &str| SavedView {
        name: name.into(),
        url: url.into(),
    };
    assert!(db.saved_views("ana").expect("none").is_empty());
    db.save_view("ana", &view("web", "/findings?q=team%3Dweb"), at)
        .expect("save");
    db.save_view("ana", &view("critical", "/findings?severity=CRITICAL"), at)
        .expect("save");
    // The same name replaces.
    db.save_view(
        "ana",
        &view("web", "/findings?q=team%3Dweb&view=package"),
        at,
    )
    .expect("save");
    db.save_view("bob", &view("mine", "/findings"), at)
        .expect("save");
    assert_eq!(
        db.saved_views("ana").expect("list"),
        [
            view("critical", "/findings?severity=CRITICAL"),
            view("web", "/findings?q=team%3Dweb&view=package")
        ]
    );
    assert_eq!(
        db.saved_views("bob").expect("list"),
        [view("mine", "/findings")]
    );
    for bad in [
        view("", "/findings"),
        view("x", "https://evil.example/"),
        view("x", "/admin"),
    ] {
        assert!(
            matches!(
                db.save_view("ana", &bad, at),
                Err(StoreError::InvalidArgument(_))
            ),
            "{bad:?}"
        );
    }
    assert!(db.delete_view("ana", "web", at).expect("delete"));
    assert!(!db.delete_view("ana", "web", at).expect("delete"));
    assert_eq!(db.saved_views("ana").expect("list").len(), 1);
    for i in 0..MAX_SAVED_VIEWS - 1 {
        db.save_view("cy", &view(&format!("v{i:02}"), "/findings"), at)
            .expect("save");
    }
    db.save_view("cy", &view("last", "/findings"), at)
        .expect("the 50th");
    assert!(
        db.save_view("cy", &view("one more", "/findings"), at)
            .is_err()
    );
    // The SLA policy in the same table is untouched.
    assert_eq!(
        db.sla_policy().expect("sla"),
        kensa_store::SlaPolicy::default()
    );
}

both!(dashboard_counts_and_trend, views_are_kept_per_user);
