//! The asset register: imports create and update assets by their natural
//! key, set management items, never overwrite what an agent reported, and
//! apply all or nothing; an enrolling agent adopts the registered machine
//! of its hostname; inventories give the OS pretty name and the server
//! software.

use crate::common;

use common::TestDb;
use kensa_inventory::Inventory;
use kensa_inventory::model::{Host, Os, Package, PackageKind, Source, SourceKind};
use kensa_store::{
    AssetKind, AssetSource, AssetUpsert, ExposedPort, InternetExposure, ManagementPatch,
    RegisterRecord, Timestamp,
};

fn at(s: i64) -> Timestamp {
    Timestamp::from_unix_ms(1_800_000_000_000 + s * 1000)
}

fn ec2(line: usize, id: &str, name: &str, owner: &str) -> RegisterRecord {
    RegisterRecord {
        line,
        name: name.into(),
        hostname: Some(format!("ip-10-0-0-{line}.ec2.internal")),
        instance_id: Some(id.into()),
        ip_addresses: vec![format!("10.0.0.{line}")],
        os_pretty: Some("Linux/UNIX".into()),
        management: ManagementPatch {
            owner: Some(Some(owner.into())),
            operation_start: Some(Some("2024-03-01".into())),
            internet_exposure: Some(Some(InternetExposure::Yes)),
            exposed_ports: Some(vec![ExposedPort {
                port: 443,
                to_port: None,
                protocol: "tcp".into(),
                source: "aws-security-group sg-1".into(),
            }]),
            ..ManagementPatch::default()
        },
        ..RegisterRecord::default()
    }
}

fn named(line: usize, name: &str) -> RegisterRecord {
    RegisterRecord {
        line,
        name: name.into(),
        hostname: Some(name.into()),
        os_id: Some("debian".into()),
        os_release: Some("12".into()),
        management: ManagementPatch {
            team: Some(Some("payments".into())),
            tags: Some(vec!["pci".into()]),
            ..ManagementPatch::default()
        },
        ..RegisterRecord::default()
    }
}

fn inventory(hostname: &str, packages: &[(PackageKind, &str, &str)]) -> Inventory {
    let mut inv = Inventory {
        schema_version: kensa_inventory::model::SCHEMA_VERSION,
        source: Source {
            kind: SourceKind::Host,
            path: "/".into(),
            image: None,
        },
        host: Host {
            hostname: Some(hostname.into()),
            ips: vec!["192.0.2.7".into()],
            ..Host::default()
        },
        os: Some(Os {
            id: "ubuntu".into(),
            release: "22.04".into(),
            version: Some("22.04.4".into()),
            codename: Some("jammy".into()),
            pretty_name: Some("Ubuntu 22.04.4 LTS".into()),
            variant: None,
            source_file: "etc/os-release".into(),
        }),
        ..Inventory::default()
    };
    for (kind, name, version) in packages {
        inv.packages.push(Package {
            kind: Some(*kind),
            name: (*name).into(),
            version: (*version).into(),
            purl: format!("pkg:generic/{name}@{version}"),
            path: "var/lib/dpkg/status".into(),
            ..Package::default()
        });
    }
    inv.collection.collector = "kensa".into();
    inv.normalise();
    inv
}

fn imports_create_then_update_or_leave_unchanged(t: &TestDb) {
    let db = t.open();
    let records = vec![ec2(1, "i-0abc123", "web-1", "alice"), named(2, "db-1")];
    let c = db
        .import_register(&records, at(0))
        .expect("import")
        .expect("applies");
    assert_eq!(
        (c.created, c.updated, c.unchanged),
        (2, 0, 0),
        "{}",
        t.name()
    );
    let web = c.assets[0].1;
    let dbh = c.assets[1].1;
    let a = db.asset(web).expect("read").expect("exists");
    assert_eq!(a.source, AssetSource::Register);
    assert_eq!(a.kind, AssetKind::Host);
    assert_eq!(a.instance_id.as_deref(), Some("i-0abc123"));
    assert_eq!(a.ip_addresses, ["10.0.0.1"]);
    assert_eq!(a.os_pretty.as_deref(), Some("Linux/UNIX"));
    assert_eq!(a.management.owner.as_deref(), Some("alice"));
    assert_eq!(a.management.operation_start.as_deref(), Some("2024-03-01"));
    assert_eq!(a.management.internet_exposure, Some(InternetExposure::Yes));
    assert_eq!(a.management.exposed_ports[0].port, 443);
    let d = db.asset(dbh).expect("read").expect("exists");
    assert_eq!(
        (d.os_id.as_deref(), d.os_release.as_deref()),
        (Some("debian"), Some("12"))
    );
    assert_eq!(d.management.tags, ["pci"]);

    // The same register again changes nothing.
    let again = db
        .import_register(&records, at(10))
        .expect("import")
        .expect("applies");
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 2));
    assert_eq!(
        db.asset(web).expect("read").expect("exists").updated_at,
        at(0)
    );

    // A new owner, and an item the register does not give kept as people
    // set it.
    let mut m = db.asset(web).expect("read").expect("exists").management;
    m.environment = Some("production".into());
    db.set_management(web, &m, at(20)).expect("set");
    let changed = vec![ec2(1, "i-0abc123", "web-1", "bob"), named(2, "db-1")];
    let c = db
        .import_register(&changed, at(30))
        .expect("import")
        .expect("applies");
    assert_eq!((c.created, c.updated, c.unchanged), (0, 1, 1));
    let a = db.asset(web).expect("read").expect("exists");
    assert_eq!(a.management.owner.as_deref(), Some("bob"));
    assert_eq!(a.management.environment.as_deref(), Some("production"));
    assert_eq!(db.assets().expect("list").len(), 2);
}

/// An agent's report wins over the register: its OS, addresses and name
/// stay; the register still sets management items.
fn the_register_never_overwrites_reported_facts(t: &TestDb) {
    let db = t.open();
    let id = db
        .upsert_asset(&AssetUpsert {
            kind: AssetKind::Host,
            name: "db-1".into(),
            hostname: Some("db-1".into()),
            machine_id: Some("m-db-1".into()),
            image_id: None,
            os_id: None,
            os_release: None,
            seen_at: at(0),
        })
        .expect("agent's asset");
    let inv = inventory(
        "db-1",
        &[(PackageKind::Deb, "postgresql-14", "14.11-0ubuntu0.22.04.1")],
    );
    db.update_inventory_facts(id, &AssetUpsert::from_inventory(&inv, at(1)), &inv)
        .expect("facts");
    db.put_inventory(id, &inv, at(1)).expect("inventory");
    let mut record = named(7, "DB-1");
    record.ip_addresses = vec!["10.9.9.9".into()];
    let c = db
        .import_register(&[record], at(2))
        .expect("import")
        .expect("applies");
    // Matched by name, case-insensitively: no second asset.
    assert_eq!(c.assets, [(7, id, "updated")], "{}", t.name());
    let a = db.asset(id).expect("read").expect("exists");
    assert_eq!(a.source, AssetSource::Agent);
    assert_eq!(
        (a.os_id.as_deref(), a.os_release.as_deref()),
        (Some("ubuntu"), Some("22.04"))
    );
    assert_eq!(a.os_pretty.as_deref(), Some("Ubuntu 22.04.4 LTS"));
    assert_eq!(a.ip_addresses, ["192.0.2.7"]);
    assert_eq!(a.name, "db-1");
    assert_eq!(a.management.team.as_deref(), Some("payments"));
    assert_eq!(db.assets().expect("list").len(), 1);
}

/// One record that cannot apply rolls the whole import back, and every
/// such record is named by its line.
fn a_bad_record_changes_nothing(t: &TestDb) {
    let db = t.open();
    for (i, mid) in ["m1", "m2"].iter().enumerate() {
        db.upsert_asset(&AssetUpsert {
            kind: AssetKind::Host,
            name: "twin".into(),
            hostname: Some("twin".into()),
            machine_id: Some((*mid).into()),
            image_id: None,
            os_id: None,
            os_release: None,
            seen_at: at(i as i64),
        })
        .expect("asset");
    }
    let records = vec![
        named(2, "fresh-1"),
        named(3, "twin"),
        named(4, "fresh-2"),
        named(5, "FRESH-1"),
    ];
    let errors = db
        .import_register(&records, at(5))
        .expect("import")
        .expect_err("rejected");
    let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [3, 5], "{errors:?} ({})", t.name());
    assert!(errors[0].message.contains("several assets"), "{errors:?}");
    assert!(errors[1].message.contains("line 2"), "{errors:?}");
    assert_eq!(db.assets().expect("list").len(), 2, "nothing stored");
    assert_eq!(
        t.raw_count("SELECT COUNT(*) FROM assets WHERE source = 'register'"),
        0
    );
}

/// An agent enrolling with the hostname of a registered machine adopts it:
/// one asset, its management items kept, the agent's identity from then on.
fn an_enrolling_agent_adopts_its_registered_machine(t: &TestDb) {
    let db = t.open();
    let c = db
        .import_register(&[ec2(3, "i-0def456", "api-1", "carol")], at(0))
        .expect("import")
        .expect("applies");
    let id = c.assets[0].1;
    assert_eq!(
        db.adopt_registered_asset("other-host", "m-x", at(1))
            .expect("adopt"),
        None
    );
    assert_eq!(
        db.adopt_registered_asset("IP-10-0-0-3.EC2.INTERNAL", "m-api", at(1))
            .expect("adopt"),
        Some(id),
        "{}",
        t.name()
    );
    let a = db.asset(id).expect("read").expect("exists");
    assert_eq!(a.machine_id.as_deref(), Some("m-api"));
    assert_eq!(a.management.owner.as_deref(), Some("carol"));
    // Enrolling again as the same machine is the agent upsert's business
    // (same natural key), and no other machine takes the asset any more.
    assert_eq!(
        db.adopt_registered_asset("ip-10-0-0-3.ec2.internal", "m-api", at(2))
            .expect("adopt"),
        None
    );
    assert_eq!(
        db.adopt_registered_asset("ip-10-0-0-3.ec2.internal", "m-other", at(2))
            .expect("adopt"),
        None
    );
    let same = db
        .upsert_asset(&AssetUpsert {
            kind: AssetKind::Host,
            name: "ip-10-0-0-3.ec2.internal".into(),
            hostname: Some("ip-10-0-0-3.ec2.internal".into()),
            machine_id: Some("m-api".into()),
            image_id: None,
            os_id: None,
            os_release: None,
            seen_at: at(3),
        })
        .expect("agent upsert");
    assert_eq!(same, id);
    // Importing the register again finds the adopted asset by instance id.
    let c = db
        .import_register(&[ec2(3, "i-0def456", "api-1", "carol")], at(4))
        .expect("import")
        .expect("applies");
    assert_eq!(c.assets[0].1, id);
    assert_eq!(db.assets().expect("list").len(), 1);
}

/// The inventory's PRETTY_NAME and server software (OS packages only) are
/// recorded; a register's name stays.
fn inventories_give_pretty_name_and_middleware(t: &TestDb) {
    let db = t.open();
    let c = db
        .import_register(&[named(2, "Payments DB")], at(0))
        .expect("import")
        .expect("applies");
    let id = c.assets[0].1;
    let inv = inventory(
        "pay-db-1",
        &[
            (PackageKind::Deb, "nginx-core", "1.18.0-6ubuntu14.4"),
            (PackageKind::Deb, "postgresql-14", "14.11-0ubuntu0.22.04.1"),
            (
                PackageKind::Deb,
                "postgresql-client-14",
                "14.11-0ubuntu0.22.04.1",
            ),
            (PackageKind::Deb, "python3.10", "3.10.12-1~22.04.3"),
            (PackageKind::Deb, "libc6", "2.35-0ubuntu3.6"),
            (PackageKind::Python, "redis", "5.0.1"),
        ],
    );
    db.update_inventory_facts(id, &AssetUpsert::from_inventory(&inv, at(1)), &inv)
        .expect("facts");
    let a = db.asset(id).expect("read").expect("exists");
    assert_eq!(a.name, "Payments DB", "{}", t.name());
    assert_eq!(a.hostname.as_deref(), Some("pay-db-1"));
    assert_eq!(a.os_pretty.as_deref(), Some("Ubuntu 22.04.4 LTS"));
    let mw: Vec<(&str, &str, &str)> = a
        .middleware
        .iter()
        .map(|m| (m.name.as_str(), m.version.as_str(), m.package.as_str()))
        .collect();
    assert_eq!(
        mw,
        [
            ("nginx", "1.18.0-6ubuntu14.4", "nginx-core"),
            ("postgresql", "14.11-0ubuntu0.22.04.1", "postgresql-14"),
            ("python", "3.10.12-1~22.04.3", "python3.10"),
        ]
    );
    let eol = kensa_model::OsEol {
        product: "ubuntu".into(),
        cycle: "22.04".into(),
        eol: Some("2027-04-01".into()),
        eol_reached: false,
        extended_support: Some("2032-04-09".into()),
        lts: Some("2032-04-09".into()),
        extended: None,
        status: "supported".into(),
    };
    db.set_asset_eol(id, Some(&eol)).expect("eol");
    let a = db.asset(id).expect("read").expect("exists");
    assert_eq!(a.eol.as_ref(), Some(&eol));
    assert!(!eol.ended_by("2026-11-30") && eol.ended_by("2027-04-02"));
}

both!(
    imports_create_then_update_or_leave_unchanged,
    the_register_never_overwrites_reported_facts,
    a_bad_record_changes_nothing,
    an_enrolling_agent_adopts_its_registered_machine,
    inventories_give_pretty_name_and_middleware,
);
