//! Exact version ordering, one comparator per ecosystem, each behaving as the
//! ecosystem's own tool does (dpkg, rpm's `rpmvercmp`, apk-tools, npm
//! `semver`, Cargo's `semver`, PEP 440 `packaging`, Maven's
//! `ComparableVersion`, Go's `golang.org/x/mod/semver`, RubyGems'
//! `Gem::Version`, NuGet's `NuGetVersion`).
//!
//! Comparators work on the borrowed strings: the hot path (`compare`) never
//! allocates, because detection compares millions of pairs per scan.
//! Invalid input is a [`VersionError`] naming the ecosystem and the version.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

pub mod apk;
pub mod dpkg;
pub mod golang;
pub mod maven;
pub mod nuget;
pub mod pep440;
pub mod pep503;
pub mod range;
pub mod rpm;
pub mod rubygems;
pub mod semver;

/// A version ordering scheme. Several OSV ecosystems share one scheme
/// (Debian and Ubuntu both use [`Ecosystem::Dpkg`]); see
/// [`Ecosystem::from_osv`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ecosystem {
    /// Debian, Ubuntu and derivatives (`deb-version(7)`).
    Dpkg,
    /// RPM distributions (`rpmvercmp`, with explicit epochs).
    Rpm,
    /// Alpine, Wolfi, Chainguard (apk-tools).
    Apk,
    /// npm's `semver` package (SemVer 2.0 with npm's lenient parsing off).
    Npm,
    /// Cargo's `semver` crate (crates.io).
    Cargo,
    /// Python packages (PEP 440).
    Pypi,
    /// Maven's `ComparableVersion`.
    Maven,
    /// Go modules (`golang.org/x/mod/semver`, with pseudo-versions).
    Go,
    /// RubyGems' `Gem::Version`.
    RubyGems,
    /// NuGet's `NuGetVersion`.
    NuGet,
}

impl Ecosystem {
    pub const ALL: [Ecosystem; 10] = [
        Ecosystem::Dpkg,
        Ecosystem::Rpm,
        Ecosystem::Apk,
        Ecosystem::Npm,
        Ecosystem::Cargo,
        Ecosystem::Pypi,
        Ecosystem::Maven,
        Ecosystem::Go,
        Ecosystem::RubyGems,
        Ecosystem::NuGet,
    ];

    /// The short name used on the command line and in error messages.
    pub fn name(self) -> &'static str {
        match self {
            Ecosystem::Dpkg => "dpkg",
            Ecosystem::Rpm => "rpm",
            Ecosystem::Apk => "apk",
            Ecosystem::Npm => "npm",
            Ecosystem::Cargo => "cargo",
            Ecosystem::Pypi => "pypi",
            Ecosystem::Maven => "maven",
            Ecosystem::Go => "go",
            Ecosystem::RubyGems => "rubygems",
            Ecosystem::NuGet => "nuget",
        }
    }

    /// The ordering scheme of an OSV `affected[].package.ecosystem` value,
    /// such as `Debian:12`, `AlmaLinux:9`, `PyPI` or `crates.io`. Returns
    /// `None` for ecosystems Kensa does not order (say so to the user rather
    /// than guessing).
    pub fn from_osv(ecosystem: &str) -> Option<Ecosystem> {
        let base = ecosystem.split(':').next().unwrap_or(ecosystem);
        Some(match base {
            "Debian" | "Ubuntu" => Ecosystem::Dpkg,
            "AlmaLinux" | "Rocky Linux" | "Red Hat" | "SUSE" | "openSUSE" | "Photon OS"
            | "Mageia" | "openEuler" | "Azure Linux" | "CBL-Mariner" => Ecosystem::Rpm,
            "Alpine" | "Wolfi" | "Chainguard" => Ecosystem::Apk,
            "npm" => Ecosystem::Npm,
            "crates.io" => Ecosystem::Cargo,
            "PyPI" => Ecosystem::Pypi,
            "Maven" => Ecosystem::Maven,
            "Go" => Ecosystem::Go,
            "RubyGems" => Ecosystem::RubyGems,
            "NuGet" => Ecosystem::NuGet,
            _ => return None,
        })
    }

    /// Compare two versions under this ecosystem's rules.
    pub fn compare(self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        match self {
            Ecosystem::Dpkg => dpkg::compare(a, b),
            Ecosystem::Rpm => rpm::compare(a, b),
            Ecosystem::Apk => apk::compare(a, b),
            Ecosystem::Npm => semver::compare_npm(a, b),
            Ecosystem::Cargo => semver::compare_cargo(a, b),
            Ecosystem::Pypi => pep440::compare(a, b),
            Ecosystem::Maven => maven::compare(a, b),
            Ecosystem::Go => golang::compare(a, b),
            Ecosystem::RubyGems => rubygems::compare(a, b),
            Ecosystem::NuGet => nuget::compare(a, b),
        }
    }

    /// Check that `v` is a valid version in this ecosystem.
    pub fn validate(self, v: &str) -> Result<(), VersionError> {
        match self {
            Ecosystem::Dpkg => dpkg::validate(v),
            Ecosystem::Rpm => rpm::validate(v),
            Ecosystem::Apk => apk::validate(v),
            Ecosystem::Npm => semver::validate_npm(v),
            Ecosystem::Cargo => semver::validate_cargo(v),
            Ecosystem::Pypi => pep440::validate(v),
            Ecosystem::Maven => maven::validate(v),
            Ecosystem::Go => golang::validate(v),
            Ecosystem::RubyGems => rubygems::validate(v),
            Ecosystem::NuGet => nuget::validate(v),
        }
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Ecosystem {
    type Err = UnknownEcosystem;

    /// Accepts the short names and the usual aliases (`deb`, `debian`,
    /// `pep440`, `python`, `crates.io`, `golang`, `gem`, ...), and OSV
    /// ecosystem names.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase();
        let eco = match lower.as_str() {
            "dpkg" | "deb" | "debian" | "ubuntu" => Ecosystem::Dpkg,
            "rpm" | "redhat" | "rhel" => Ecosystem::Rpm,
            "apk" | "alpine" => Ecosystem::Apk,
            "npm" | "semver" | "node" => Ecosystem::Npm,
            "cargo" | "crates.io" | "crates" | "rust" => Ecosystem::Cargo,
            "pypi" | "pep440" | "python" | "pip" => Ecosystem::Pypi,
            "maven" | "java" => Ecosystem::Maven,
            "go" | "golang" => Ecosystem::Go,
            "rubygems" | "gem" | "ruby" => Ecosystem::RubyGems,
            "nuget" | "dotnet" => Ecosystem::NuGet,
            _ => return Ecosystem::from_osv(s).ok_or_else(|| UnknownEcosystem(s.to_owned())),
        };
        Ok(eco)
    }
}

/// An ecosystem name that Kensa does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown version ecosystem {0:?} (known: dpkg, rpm, apk, npm, cargo, pypi, maven, go, rubygems, nuget)"
)]
pub struct UnknownEcosystem(pub String);

/// A version string that is not valid in its ecosystem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {ecosystem} version {version:?}: {reason}")]
pub struct VersionError {
    pub ecosystem: Ecosystem,
    pub version: String,
    pub reason: &'static str,
}

impl VersionError {
    /// Errors are the cold path: the allocation for the version text
    /// happens only here.
    #[cold]
    pub(crate) fn new(ecosystem: Ecosystem, version: &str, reason: &'static str) -> Self {
        VersionError {
            ecosystem,
            version: version.to_owned(),
            reason,
        }
    }
}

/// Shared by the comparators' unit tests: 2,000 strings built from an
/// ecosystem's significant pieces (fixed seed), checking that nothing
/// panics, that swapping operands reverses the answer, that a comparison
/// fails exactly when a side is invalid, and that a valid version equals
/// itself.
#[cfg(test)]
pub(crate) fn random_pieces_check(
    pieces: &[&str],
    compare: fn(&str, &str) -> Result<Ordering, VersionError>,
    validate: fn(&str) -> Result<(), VersionError>,
) {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let versions: Vec<String> = (0..2_000)
        .map(|_| (0..next(8)).map(|_| pieces[next(pieces.len())]).collect())
        .collect();
    for pair in versions.windows(2) {
        let (a, b) = (pair[0].as_str(), pair[1].as_str());
        let ab = compare(a, b).ok();
        let ba = compare(b, a).ok();
        assert_eq!(ab, ba.map(Ordering::reverse), "{a:?} vs {b:?}");
        assert_eq!(ab.is_some(), validate(a).is_ok() && validate(b).is_ok());
        if validate(a).is_ok() {
            assert_eq!(compare(a, a).ok(), Some(Ordering::Equal), "{a:?}");
        }
    }
}
