//! Cross-checks against real peers: on Debian root filesystems made by
//! `debootstrap --variant=minbase` (bookworm and bullseye, built by
//! `scripts/setup`) and on this machine, Kensa's package list must equal
//! what dpkg itself (`dpkg-query`), Syft and Trivy list.

use std::collections::BTreeSet;
use std::path::Path;

use kensa_inventory::{PackageKind, Target, collect};
use kensa_testkit::debian_root;
use kensa_testkit::peers::{dpkg_query, syft_packages, trivy_rootfs};

type Pkgs = BTreeSet<(String, String, String)>;

fn kensa(root: &Path) -> (kensa_inventory::Inventory, Pkgs) {
    let inv = collect(&Target::Root(root.to_owned())).expect("inventory");
    assert!(inv.problems.is_empty(), "{:?}", inv.problems);
    let pkgs = inv
        .packages
        .iter()
        .filter(|p| p.kind == Some(PackageKind::Deb))
        .map(|p| {
            (
                p.name.clone(),
                p.version.clone(),
                p.arch.clone().unwrap_or_default(),
            )
        })
        .collect();
    (inv, pkgs)
}

/// Trivy lists packages without a vulnerability database when only the
/// license scanner runs; its CycloneDX purls carry name, version and arch.
fn trivy(root: &Path) -> Pkgs {
    let doc = trivy_rootfs(root, "cyclonedx");
    doc["components"]
        .as_array()
        .expect("components")
        .iter()
        .filter_map(|c| {
            let purl = c["purl"].as_str()?.strip_prefix("pkg:deb/")?;
            let (path, query) = purl.split_once('?').unwrap_or((purl, ""));
            let (_, name_ver) = path.split_once('/')?;
            let (name, ver) = name_ver.split_once('@')?;
            let arch = query.split('&').find_map(|kv| kv.strip_prefix("arch="))?;
            let epoch = query.split('&').find_map(|kv| kv.strip_prefix("epoch="));
            let ver = decode(ver);
            let version = match epoch {
                Some(e) => format!("{e}:{ver}"),
                None => ver,
            };
            Some((decode(name), version, arch.to_owned()))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn check_suite(suite: &str, release: &str) {
    let root = debian_root(suite);
    let (inv, ours) = kensa(&root);
    let os = inv.os.as_ref().expect("os identified");
    assert_eq!((os.id.as_str(), os.release.as_str()), ("debian", release));
    assert!(ours.len() > 50, "{suite}: only {} packages", ours.len());
    assert_eq!(
        ours,
        dpkg_query(&root.join("var/lib/dpkg")),
        "{suite}: kensa vs dpkg-query"
    );
    assert_eq!(
        ours,
        syft_packages(&format!("dir:{}", root.display()), "deb"),
        "{suite}: kensa vs syft"
    );
    assert_eq!(ours, trivy(&root), "{suite}: kensa vs trivy");
}

#[test]
#[ignore = "needs Syft, Trivy and debootstrapped roots (scripts/setup); scripts/test runs it"]
fn debootstrap_bookworm_equals_dpkg_syft_and_trivy() {
    check_suite("bookworm", "12");
}

#[test]
#[ignore = "needs Syft, Trivy and debootstrapped roots (scripts/setup); scripts/test runs it"]
fn debootstrap_bullseye_equals_dpkg_syft_and_trivy() {
    check_suite("bullseye", "11");
}

#[test]
#[ignore = "needs Syft, Trivy and debootstrapped roots (scripts/setup); scripts/test runs it"]
fn this_host_equals_dpkg_query() {
    let inv = collect(&Target::Host).expect("inventory of this host");
    let ours: Pkgs = inv
        .packages
        .iter()
        .filter(|p| p.kind == Some(PackageKind::Deb))
        .map(|p| {
            (
                p.name.clone(),
                p.version.clone(),
                p.arch.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(ours, dpkg_query(Path::new("/var/lib/dpkg")));
    assert!(
        inv.kernels.running.is_some(),
        "a live host has a running kernel"
    );
    assert!(inv.host.machine_id.is_some());
}

#[test]
#[ignore = "needs Syft, Trivy and debootstrapped roots (scripts/setup); scripts/test runs it"]
fn same_root_same_bytes() {
    let root = debian_root("bookworm");
    let (a, _) = kensa(&root);
    let (b, _) = kensa(&root);
    assert_eq!(a.content_bytes(), b.content_bytes());
    assert_eq!(a.content_hash(), b.content_hash());
    assert!(a.content_hash().starts_with("sha256:"));
}
