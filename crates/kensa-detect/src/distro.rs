//! What detection needs to know about each distribution: the knowledge
//! base namespace its advisories live in, how its advisories are keyed,
//! which vendor strings are its own, how to install a fix, and its
//! endoflife.date product.

use kensa_inventory::model::{Os, Package, PackageKind};
use kensa_version::Ecosystem;

/// How a distribution's advisories name packages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keying {
    /// By source package and source version (Debian, Ubuntu, Alpine's
    /// origin): every binary built from the source shares its advisories.
    Source,
    /// By binary package name (RPM distributions).
    Binary,
}

/// A distribution release as detection sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Distro {
    /// `debian:12`, `almalinux:9`, `amzn:2023`.
    pub namespace: String,
    pub id: String,
    pub release: String,
    pub ecosystem: Ecosystem,
    pub keying: Keying,
    /// The package manager command that upgrades named packages.
    pub upgrade: &'static str,
    /// Lower-case fragments of vendor (rpm `Vendor`, deb `Origin`) strings
    /// that mean "built by this distribution".
    vendors: &'static [&'static str],
    /// Set when the namespace is another distribution's data used on
    /// purpose (CentOS checked with Red Hat's), said in every finding.
    pub borrowed_note: Option<String>,
}

impl Distro {
    /// The distribution release of an identified OS, when Kensa knows how
    /// its vendor publishes advisories.
    pub fn of(os: &Os) -> Option<Distro> {
        let r = os.release.as_str();
        let (ns_id, ecosystem, keying, upgrade, vendors): (
            &str,
            Ecosystem,
            Keying,
            &'static str,
            &'static [&'static str],
        ) = match os.id.as_str() {
            "debian" => (
                "debian",
                Ecosystem::Dpkg,
                Keying::Source,
                "apt-get install --only-upgrade",
                &["debian", "ubuntu"],
            ),
            "ubuntu" => (
                "ubuntu",
                Ecosystem::Dpkg,
                Keying::Source,
                "apt-get install --only-upgrade",
                &["ubuntu", "debian", "canonical"],
            ),
            "alpine" => ("alpine", Ecosystem::Apk, Keying::Source, "apk upgrade", &[]),
            "wolfi" => ("wolfi", Ecosystem::Apk, Keying::Source, "apk upgrade", &[]),
            "chainguard" => (
                "chainguard",
                Ecosystem::Apk,
                Keying::Source,
                "apk upgrade",
                &[],
            ),
            "almalinux" => (
                "almalinux",
                Ecosystem::Rpm,
                Keying::Binary,
                "dnf update",
                &["almalinux"],
            ),
            "rocky" => (
                "rocky",
                Ecosystem::Rpm,
                Keying::Binary,
                "dnf update",
                &["rocky enterprise software foundation", "rocky"],
            ),
            "rhel" | "centos" => (
                "rhel",
                Ecosystem::Rpm,
                Keying::Binary,
                if r == "7" { "yum update" } else { "dnf update" },
                &["red hat", "centos"],
            ),
            "ol" => (
                "ol",
                Ecosystem::Rpm,
                Keying::Binary,
                "dnf update",
                &["oracle"],
            ),
            "amzn" => (
                "amzn",
                Ecosystem::Rpm,
                Keying::Binary,
                if r == "2023" {
                    "dnf update"
                } else {
                    "yum update"
                },
                &["amazon"],
            ),
            "sles" | "sled" | "opensuse-leap" | "opensuse-tumbleweed" => (
                os.id.as_str(),
                Ecosystem::Rpm,
                Keying::Binary,
                "zypper update",
                &["suse"],
            ),
            "photon" => (
                "photon",
                Ecosystem::Rpm,
                Keying::Binary,
                "tdnf update",
                &["vmware"],
            ),
            "mariner" | "azurelinux" => (
                os.id.as_str(),
                Ecosystem::Rpm,
                Keying::Binary,
                "tdnf update",
                &["microsoft"],
            ),
            _ => return None,
        };
        let release = match ns_id {
            "wolfi" | "chainguard" | "opensuse-tumbleweed" => "rolling".to_owned(),
            _ => r.to_owned(),
        };
        let borrowed_note = (os.id == "centos").then(|| {
            format!("CentOS {r} is checked with Red Hat Enterprise Linux {r} data: CentOS rebuilds RHEL's packages")
        });
        Some(Distro {
            namespace: format!("{ns_id}:{release}"),
            id: os.id.clone(),
            release,
            ecosystem,
            keying,
            upgrade,
            vendors,
            borrowed_note,
        })
    }

    /// Whether a package with this vendor string came from the
    /// distribution. No vendor at all counts as the distribution's: dpkg
    /// databases rarely carry `Origin`, and rpm's own `gpg-pubkey` has none.
    pub fn is_own_vendor(&self, vendor: Option<&str>) -> bool {
        let Some(v) = vendor.map(str::trim).filter(|v| !v.is_empty()) else {
            return true;
        };
        if self.vendors.is_empty() {
            return true;
        }
        let v = v.to_ascii_lowercase();
        self.vendors.iter().any(|own| v.contains(own))
    }

    /// Whether `kind` is this distribution's package format.
    pub fn owns(&self, kind: Option<PackageKind>) -> bool {
        matches!(
            (self.ecosystem, kind),
            (Ecosystem::Dpkg, Some(PackageKind::Deb))
                | (Ecosystem::Rpm, Some(PackageKind::Rpm))
                | (Ecosystem::Apk, Some(PackageKind::Apk))
        )
    }

    /// The advisory key and the version compared for an OS package.
    pub fn key_and_version(&self, p: &Package) -> (String, String) {
        match (self.keying, self.ecosystem) {
            (Keying::Source, Ecosystem::Dpkg) => (
                p.source_name.clone().unwrap_or_else(|| p.name.clone()),
                p.source_version
                    .clone()
                    .unwrap_or_else(|| p.version.clone()),
            ),
            // apk subpackages carry their origin's version.
            (Keying::Source, _) => (
                p.source_name.clone().unwrap_or_else(|| p.name.clone()),
                p.version.clone(),
            ),
            (Keying::Binary, _) => (p.name.clone(), rpm_evr(p)),
        }
    }

    /// endoflife.date's product for this distribution, and the cycle.
    pub fn eol_product(&self) -> Option<(&'static str, String)> {
        let product = match self.id.as_str() {
            "debian" => "debian",
            "ubuntu" => "ubuntu",
            "alpine" => "alpine-linux",
            "almalinux" => "almalinux",
            "rocky" => "rocky-linux",
            "rhel" => "rhel",
            "centos" => "centos",
            "ol" => "oracle-linux",
            "amzn" => "amazon-linux",
            "sles" => "sles",
            "opensuse-leap" => "opensuse",
            "fedora" => "fedora",
            "photon" => "vmware-photon",
            _ => return None,
        };
        Some((product, self.release.clone()))
    }
}

/// An rpm package's `[epoch:]version-release`, the epoch written only when
/// it is not zero: the form feeds use and rpm prints. The inventory's rpm
/// `version` is already `version-release`.
pub fn rpm_evr(p: &Package) -> String {
    match p.epoch.filter(|&e| e != 0) {
        Some(e) => format!("{e}:{}", p.version),
        None => p.version.clone(),
    }
}

/// The ecosystem namespace and ordering of a language package, and the
/// name its advisories use.
pub fn ecosystem_of(p: &Package) -> Option<(&'static str, Ecosystem, String)> {
    Some(match p.kind? {
        PackageKind::Python => (
            "PyPI",
            Ecosystem::Pypi,
            kensa_version::pep503::normalize(&p.name),
        ),
        PackageKind::Npm => ("npm", Ecosystem::Npm, p.name.clone()),
        PackageKind::Go => ("Go", Ecosystem::Go, p.name.clone()),
        PackageKind::Cargo => ("crates.io", Ecosystem::Cargo, p.name.clone()),
        PackageKind::Maven => ("Maven", Ecosystem::Maven, p.name.clone()),
        PackageKind::Gem => ("RubyGems", Ecosystem::RubyGems, p.name.clone()),
        // Composer has no ordering of its own in Kensa yet.
        PackageKind::Composer | PackageKind::Deb | PackageKind::Rpm | PackageKind::Apk => {
            return None;
        }
    })
}

/// The command that installs a fixed version of a language package.
pub fn language_fix_command(p: &Package, fixed: &str) -> Option<String> {
    let name = &p.name;
    Some(match p.kind? {
        PackageKind::Python => format!("pip install --upgrade '{name}>={fixed}'"),
        PackageKind::Npm => format!("npm install {name}@{fixed}"),
        PackageKind::Go if name == "stdlib" => {
            format!(
                "rebuild the binary with Go {}",
                fixed.trim_start_matches('v')
            )
        }
        PackageKind::Go => format!("go get {name}@{fixed} && go mod tidy, then rebuild"),
        PackageKind::Cargo => format!("cargo update -p {name} --precise {fixed}"),
        PackageKind::Maven => format!("upgrade {name} to {fixed} in the build file"),
        PackageKind::Gem => format!("bundle update {name} (to {fixed} or later)"),
        PackageKind::Composer => format!("composer update {name} (to {fixed} or later)"),
        PackageKind::Deb | PackageKind::Rpm | PackageKind::Apk => return None,
    })
}
