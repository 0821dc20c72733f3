//! Never a false "clean": a root whose OS is identified but whose package
//! database is missing, random bytes or damaged must say that its OS
//! packages are unknown (a problem with impact `no_os_packages`), never
//! pass for a system with nothing installed. Real databases of the data
//! folder, damaged in a temporary copy.

use std::path::Path;

use kensa_inventory::fs::DirRoot;
use kensa_inventory::{Inventory, apk, collect_root};
use kensa_testkit::{Lcg, data_path};

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let dest = root.join(rel);
    std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
    std::fs::write(dest, bytes).expect("write");
}

fn os_release(id: &str, version: &str) -> String {
    format!("NAME=\"{id}\"\nID={id}\nVERSION_ID=\"{version}\"\nPRETTY_NAME=\"{id} {version}\"\n")
}

fn inventory(dir: &Path) -> Inventory {
    collect_root(&DirRoot::new(dir).expect("root"), false)
}

fn unread(inv: &Inventory) -> Vec<String> {
    inv.os_packages_unread()
        .map(|p| format!("{}: {}", p.path, p.message))
        .collect()
}

#[test]
fn an_identified_os_without_its_database_is_unread() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "etc/os-release",
        os_release("debian", "12").as_bytes(),
    );
    let inv = inventory(dir.path());
    assert_eq!(inv.os.as_ref().map(|o| o.id.as_str()), Some("debian"));
    assert!(inv.packages.is_empty());
    let why = unread(&inv);
    assert_eq!(why.len(), 1, "{:?}", inv.problems);
    assert!(why[0].contains("var/lib/dpkg/status"), "{why:?}");
}

#[test]
fn random_bytes_as_the_apk_database_are_unread() {
    let mut rng = Lcg(16);
    let bytes: Vec<u8> = (0..4096).map(|_| rng.below(256) as u8).collect();
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "etc/os-release",
        os_release("alpine", "3.19.1").as_bytes(),
    );
    write(dir.path(), apk::INSTALLED, &bytes);
    let inv = inventory(dir.path());
    assert!(inv.packages.is_empty());
    let why = unread(&inv);
    assert_eq!(why.len(), 1, "{:?}", inv.problems);
    assert!(why[0].starts_with(apk::INSTALLED), "{why:?}");
    assert!(
        why[0].contains("bytes, but no package could be read"),
        "{why:?}"
    );
}

#[test]
fn a_real_apk_database_is_read_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "etc/os-release",
        os_release("alpine", "3.19.1").as_bytes(),
    );
    let real = std::fs::read(data_path("fixtures/apk/alpine/installed")).expect("fixture");
    write(dir.path(), apk::INSTALLED, &real);
    let inv = inventory(dir.path());
    assert!(!inv.packages.is_empty());
    assert!(unread(&inv).is_empty(), "{:?}", inv.problems);
}

/// Mariner's real `rpmdb.sqlite`, cut after its first pages: the sqlite
/// header survives, the package table does not.
#[test]
fn a_damaged_rpm_database_is_unread() {
    let real =
        std::fs::read(data_path("fixtures/rpm/mariner-2.0-sqlite/rpmdb.sqlite")).expect("fixture");
    for cut in [100, 4096, 3 * 4096] {
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            dir.path(),
            "etc/os-release",
            os_release("mariner", "2.0").as_bytes(),
        );
        write(dir.path(), "var/lib/rpm/rpmdb.sqlite", &real[..cut]);
        let inv = inventory(dir.path());
        assert!(inv.packages.is_empty(), "cut {cut}");
        let why = unread(&inv);
        assert!(!why.is_empty(), "cut {cut}: {:?}", inv.problems);
        assert!(
            why.iter().any(|w| w.contains("rpmdb.sqlite")),
            "cut {cut}: {why:?}"
        );
    }
    // Intact, it reads and nothing is unread.
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "etc/os-release",
        os_release("mariner", "2.0").as_bytes(),
    );
    write(dir.path(), "var/lib/rpm/rpmdb.sqlite", &real);
    let inv = inventory(dir.path());
    assert!(inv.packages.len() > 100);
    assert!(unread(&inv).is_empty(), "{:?}", inv.problems);
}

/// An unidentified root (no os-release) with no database is not an error:
/// there is no OS to have packages.
#[test]
fn no_os_no_database_is_not_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "app/readme", b"hello");
    let inv = inventory(dir.path());
    assert!(inv.os.is_none());
    assert!(unread(&inv).is_empty(), "{:?}", inv.problems);
}
