//! The dpkg and apk collectors on the real package databases in the data
//! folder, compared exactly with the package lists that Syft (an
//! independent implementation) reads from the same files. Where the two
//! disagree, the raw bytes decide, and the test pins the difference.

use std::collections::BTreeSet;
use std::path::Path;

use kensa_inventory::fs::DirRoot;
use kensa_inventory::{Found, PackageKind, apk, dpkg};
use kensa_testkit::data_path;
use kensa_testkit::peers::dpkg_query;
use serde_json::Value;

/// A temporary root holding one fixture file at `rel` (copied into the
/// temp dir, never into the repository).
fn root_with(fixture: &Path, rel: &str) -> (tempfile::TempDir, DirRoot) {
    let dir = tempfile::tempdir().expect("temp dir");
    let dest = dir.path().join(rel);
    std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
    std::fs::copy(fixture, &dest).expect("copy fixture");
    let root = DirRoot::new(dir.path()).expect("root");
    (dir, root)
}

fn expected(rel: &str) -> BTreeSet<(String, String, String)> {
    let text = std::fs::read_to_string(data_path(rel)).expect("expected list");
    let doc: Value = serde_json::from_str(&text).expect("json");
    doc["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap_or_default().to_owned(),
                p["version"].as_str().unwrap_or_default().to_owned(),
                p["architecture"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn ours(found: &Found) -> BTreeSet<(String, String, String)> {
    found
        .packages
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                p.version.clone(),
                p.arch.clone().unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
#[ignore = "needs Syft (scripts/setup); scripts/test runs it"]
fn dpkg_status_fixture_matches_dpkg_and_syft() {
    let (dir, root) = root_with(&data_path("fixtures/dpkg/status"), dpkg::STATUS);
    let mut found = Found::default();
    dpkg::collect(&root, &mut found);
    assert!(found.problems.is_empty(), "{:?}", found.problems);
    // dpkg's own reading of the same file is the reference.
    assert_eq!(ours(&found), dpkg_query(&dir.path().join("var/lib/dpkg")));
    let mut want = expected("fixtures/dpkg/expected-packages.json");
    // Syft also lists git, whose raw paragraph says "Status: deinstall ok
    // config-files": removed, only its configuration files left. dpkg does
    // not count it as installed, and neither does Kensa.
    assert!(want.remove(&("git".into(), "1:2.20.1-2+deb10u3".into(), "amd64".into())));
    assert_eq!(ours(&found), want);
    let raw = std::fs::read_to_string(data_path("fixtures/dpkg/status")).expect("status");
    assert_eq!(
        raw.matches("\nPackage: ").count() + usize::from(raw.starts_with("Package: ")),
        91
    );
    assert_eq!(found.packages.len(), 90);
    // Source packages, as Debian advisories need them: libc6 comes from glibc.
    let libc = found
        .packages
        .iter()
        .find(|p| p.name == "libc6")
        .expect("libc6");
    assert_eq!(libc.source_name.as_deref(), Some("glibc"));
    assert!(
        found
            .packages
            .iter()
            .all(|p| p.kind == Some(PackageKind::Deb) && p.source_name.is_some())
    );
}

#[test]
#[ignore = "needs Syft (scripts/setup); scripts/test runs it"]
fn apk_installed_fixture_matches_syft_but_for_a_versionless_entry() {
    let (_d, root) = root_with(&data_path("fixtures/apk/alpine/installed"), apk::INSTALLED);
    let mut found = Found::default();
    apk::collect(&root, &mut found);
    let mut want = expected("fixtures/apk/alpine/expected-packages.json");
    // The raw block "P:invalidPackageWithoutAVersion" has no V: line. Syft
    // lists it with version "UNKNOWN"; Kensa cannot match a package without
    // a version, so it reports the block as a problem instead of a package.
    assert!(want.remove(&(
        "invalidPackageWithoutAVersion".into(),
        "UNKNOWN".into(),
        String::new()
    )));
    assert_eq!(ours(&found), want);
    assert_eq!(found.problems.len(), 1);
    assert!(
        found.problems[0]
            .message
            .contains("invalidPackageWithoutAVersion"),
        "{:?}",
        found.problems
    );
    assert!(
        found.problems[0].path.starts_with("lib/apk/db/installed:"),
        "{:?}",
        found.problems
    );
    // Origins (source packages, as secdb keys them) come from the o: field.
    let want_origin: BTreeSet<(String, String)> = {
        let text = std::fs::read_to_string(data_path("fixtures/apk/alpine/expected-packages.json"))
            .expect("json");
        let doc: Value = serde_json::from_str(&text).expect("json");
        doc["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .filter(|p| p["version"] != "UNKNOWN")
            .map(|p| {
                (
                    p["name"].as_str().unwrap_or_default().to_owned(),
                    p["originPackage"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    };
    let got_origin: BTreeSet<(String, String)> = found
        .packages
        .iter()
        .map(|p| (p.name.clone(), p.source_name.clone().unwrap_or_default()))
        .collect();
    assert_eq!(got_origin, want_origin);
}

#[test]
fn truncated_and_garbage_databases_are_problems_not_panics() {
    let raw = std::fs::read(data_path("fixtures/dpkg/status")).expect("status");
    for cut in [0, 1, 17, raw.len() / 3, raw.len() / 2, raw.len() - 1] {
        let dir = tempfile::tempdir().expect("temp dir");
        let dest = dir.path().join(dpkg::STATUS);
        std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
        std::fs::write(&dest, &raw[..cut]).expect("write");
        let root = DirRoot::new(dir.path()).expect("root");
        let mut found = Found::default();
        dpkg::collect(&root, &mut found);
        // Every package found is one of the real ones: a cut never invents.
        assert!(found.packages.len() <= 90);
        for p in &found.packages {
            assert!(kensa_version::dpkg::validate(&p.version).is_ok());
        }
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let dest = dir.path().join(apk::INSTALLED);
    std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
    std::fs::write(&dest, [0xff, 0xfe, b'\n', b'P', b':', 0xc3, b'\n', b'\n']).expect("write");
    let root = DirRoot::new(dir.path()).expect("root");
    let mut found = Found::default();
    apk::collect(&root, &mut found);
    assert!(found.packages.is_empty());
    // The block without a version, and the database as a whole: content
    // that gave no package is unread, not empty.
    assert_eq!(found.problems.len(), 2, "{:?}", found.problems);
    assert_eq!(
        found
            .problems
            .iter()
            .filter(|p| p.impact == kensa_inventory::Impact::NoOsPackages)
            .count(),
        1
    );
}
