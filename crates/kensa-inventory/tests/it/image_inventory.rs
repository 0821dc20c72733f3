//! `kensa inventory --image` end to end: a `docker save` tarball built here
//! from real Debian files (the bookworm root made by `scripts/setup`),
//! three layers deep, read by the collectors with each package attributed
//! to the layer that introduced it, and cross-checked with Syft on the same
//! archive.

use std::collections::BTreeSet;
use std::path::Path;

use kensa_inventory::{PackageKind, Target, collect};
use kensa_testkit::debian_root;
use kensa_testkit::peers::syft_packages;
use sha2::{Digest, Sha256};

fn layer(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        b.append_data(&mut h, path, data.as_slice())
            .expect("append");
    }
    b.into_inner().expect("tar")
}

fn docker_save(layers: &[Vec<u8>], out: &Path) -> Vec<String> {
    let diff_ids: Vec<String> = layers
        .iter()
        .map(|l| format!("sha256:{}", hex::encode(Sha256::digest(l))))
        .collect();
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    });
    let config = serde_json::to_vec(&config).expect("json");
    let config_name = format!("{}.json", hex::encode(Sha256::digest(&config)));
    let names: Vec<String> = (0..layers.len())
        .map(|i| format!("layer{i}/layer.tar"))
        .collect();
    let manifest =
        serde_json::json!([{"Config": config_name, "RepoTags": ["kensa/test:1"], "Layers": names}]);
    let mut files: Vec<(&str, Vec<u8>)> = vec![
        (
            "manifest.json",
            serde_json::to_vec(&manifest).expect("json"),
        ),
        (&config_name, config),
    ];
    for (n, l) in names.iter().zip(layers) {
        files.push((n, l.clone()));
    }
    std::fs::write(out, layer(&files)).expect("write archive");
    diff_ids
}

fn paragraph(name: &str, version: &str) -> String {
    format!(
        "Package: {name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: {version}\nDescription: test\n\n"
    )
}

#[test]
#[ignore = "needs Syft, Trivy or debootstrapped roots (scripts/setup); scripts/test runs it"]
fn docker_save_image_packages_and_layers() {
    let root = debian_root("bookworm");
    let status = std::fs::read_to_string(root.join("var/lib/dpkg/status")).expect("status");
    let os_release = std::fs::read(root.join("usr/lib/os-release")).expect("os-release");
    let base = layer(&[
        ("usr/lib/os-release", os_release),
        ("var/lib/dpkg/status", status.clone().into_bytes()),
    ]);
    // Layer 2 installs two packages and a Python distribution.
    let with_two = format!(
        "{status}{}{}",
        paragraph("kensa-a", "1.0-1"),
        paragraph("kensa-b", "2:3.4-5")
    );
    let second = layer(&[
        ("var/lib/dpkg/status", with_two.clone().into_bytes()),
        (
            "usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA",
            b"Metadata-Version: 2.1\nName: requests\nVersion: 2.28.1\n".to_vec(),
        ),
    ]);
    // Layer 3 removes kensa-b and reinstalls kensa-a unchanged: kensa-a
    // stays attributed to layer 2.
    let third = layer(&[(
        "var/lib/dpkg/status",
        format!("{status}{}", paragraph("kensa-a", "1.0-1")).into_bytes(),
    )]);
    let dir = tempfile::tempdir().expect("temp dir");
    let archive = dir.path().join("image.tar");
    let diff_ids = docker_save(&[base, second, third], &archive);

    let inv = collect(&Target::Image(archive.clone())).expect("image inventory");
    assert!(inv.problems.is_empty(), "{:?}", inv.problems);
    let os = inv.os.as_ref().expect("os");
    assert_eq!((os.id.as_str(), os.release.as_str()), ("debian", "12"));
    let image = inv.source.image.as_ref().expect("image info");
    assert_eq!(image.layers, diff_ids);
    assert_eq!(image.repo_tags, vec!["kensa/test:1".to_owned()]);

    let debs: Vec<_> = inv
        .packages
        .iter()
        .filter(|p| p.kind == Some(PackageKind::Deb))
        .collect();
    let base_count =
        status.matches("\nPackage: ").count() + usize::from(status.starts_with("Package: "));
    assert_eq!(debs.len(), base_count + 1, "kensa-b was removed in layer 3");
    let layer_of = |name: &str| {
        inv.packages
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.layer.clone())
    };
    assert_eq!(layer_of("kensa-a"), Some(diff_ids[1].clone()));
    assert_eq!(layer_of("kensa-b"), None, "not installed");
    assert_eq!(layer_of("libc6"), Some(diff_ids[0].clone()));
    assert_eq!(layer_of("requests"), Some(diff_ids[1].clone()));
    assert!(debs.iter().all(|p| p.layer.is_some()));

    // Syft reads the same archive: the same Debian packages.
    let syft: BTreeSet<(String, String)> =
        syft_packages(&format!("docker-archive:{}", archive.display()), "deb")
            .into_iter()
            .map(|(name, version, _)| (name, version))
            .collect();
    let ours: BTreeSet<(String, String)> = debs
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    assert_eq!(ours, syft);
}

#[test]
fn a_file_that_is_not_an_image_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("bad.tar");
    std::fs::write(&bad, b"not an image").expect("write");
    let err = collect(&Target::Image(bad.clone())).expect_err("not an image");
    assert!(err.to_string().contains("bad.tar"), "{err}");
}
