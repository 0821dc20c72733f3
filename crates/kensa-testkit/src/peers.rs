//! Peer tools the inventory is cross-checked against, run the same way by
//! every test: dpkg itself, Syft and Trivy (installed by `scripts/setup`).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// (name, version, architecture) of a package.
pub type Nva = (String, String, String);

/// The packages dpkg itself lists as installed in an admin directory
/// (`…/var/lib/dpkg`).
pub fn dpkg_query(admindir: &Path) -> BTreeSet<Nva> {
    let out = Command::new("dpkg-query")
        .arg(format!("--admindir={}", admindir.display()))
        .args([
            "-W",
            "-f",
            "${db:Status-Status}\\t${Package}\\t${Version}\\t${Architecture}\\n",
        ])
        .output()
        .expect("dpkg-query runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f.len() == 4 && f[0] == "installed")
                .then(|| (f[1].to_owned(), f[2].to_owned(), f[3].to_owned()))
        })
        .collect()
}

/// Syft's JSON document for a source (`dir:/path`, `docker-archive:/file`).
pub fn syft(source: &str) -> Value {
    let out = Command::new(crate::oracle::tool("syft"))
        .args(["scan", source, "-o", "syft-json", "-q"])
        .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
        .output()
        .expect("syft runs");
    assert!(
        out.status.success(),
        "syft {source}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("syft json")
}

/// Syft's packages of one type (`deb`, `rpm`, ...) as (name, version,
/// architecture); Syft's version is `[epoch:]version[-release]`.
pub fn syft_packages(source: &str, ty: &str) -> BTreeSet<Nva> {
    syft(source)["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .filter(|a| a["type"] == ty)
        .map(|a| {
            let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            (
                text(&a["name"]),
                text(&a["version"]),
                text(&a["metadata"]["architecture"]),
            )
        })
        .collect()
}

/// Trivy's report on a root filesystem, with only the license scanner (no
/// vulnerability database is needed to list packages), in `format`
/// (`json` or `cyclonedx`).
pub fn trivy_rootfs(root: &Path, format: &str) -> Value {
    let cache = std::env::temp_dir().join(format!("kensa-trivy-cache-{}", std::process::id()));
    let out = Command::new(crate::oracle::tool("trivy"))
        .args([
            "rootfs",
            "--offline-scan",
            "--scanners",
            "license",
            "--list-all-pkgs",
            "-q",
            "-f",
            format,
            "--cache-dir",
        ])
        .arg(&cache)
        .arg(root)
        .output()
        .expect("trivy runs");
    let _ = std::fs::remove_dir_all(&cache);
    assert!(
        out.status.success(),
        "trivy {}: {}",
        root.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("trivy json")
}
