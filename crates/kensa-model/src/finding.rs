//! The scan report: what was scanned, with which knowledge, and the
//! findings. Its JSON form is versioned and documented in
//! `docs/scan-report.md`; field names follow that document, and every list
//! is in a deterministic order so that reports diff and snapshot cleanly.

use serde::{Deserialize, Serialize};

/// Bumped on any incompatible change of the report.
pub const SCHEMA_VERSION: u32 = 1;

/// A finding's fix status. Only vendor statuses that make a finding exist
/// here: "not affected" and "under investigation" never become findings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// A fixed version exists.
    Fixed,
    /// Affected, no fix published yet.
    Affected,
    WillNotFix,
    FixDeferred,
    /// The release is past its support end; no fix will come.
    EndOfLife,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Fixed => "fixed",
            Status::Affected => "affected",
            Status::WillNotFix => "will_not_fix",
            Status::FixDeferred => "fix_deferred",
            Status::EndOfLife => "end_of_life",
        }
    }

    /// Which status wins when advisories of one vulnerability disagree:
    /// a fix beats everything (it can be installed), then the vendor's
    /// explicit decisions, then a plain "affected".
    pub fn precedence(self) -> u8 {
        match self {
            Status::Fixed => 4,
            Status::WillNotFix => 3,
            Status::FixDeferred => 2,
            Status::EndOfLife => 1,
            Status::Affected => 0,
        }
    }
}

/// Severity bands, Amazon Inspector's vocabulary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Band {
    /// No score and no vendor rating yet.
    Untriaged,
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Band {
    pub fn as_str(self) -> &'static str {
        match self {
            Band::Untriaged => "UNTRIAGED",
            Band::Informational => "INFORMATIONAL",
            Band::Low => "LOW",
            Band::Medium => "MEDIUM",
            Band::High => "HIGH",
            Band::Critical => "CRITICAL",
        }
    }

    /// The band of a 0–10 score: 0 informational, 0.1–3.9 low, 4.0–6.9
    /// medium, 7.0–8.9 high, 9.0–10 critical.
    pub fn from_score(score: f64) -> Band {
        if score >= 9.0 {
            Band::Critical
        } else if score >= 7.0 {
            Band::High
        } else if score >= 4.0 {
            Band::Medium
        } else if score > 0.0 {
            Band::Low
        } else {
            Band::Informational
        }
    }

    /// The band of a vendor's own word, for vulnerabilities with no CVSS
    /// vector. Debian's `unimportant` and `not yet assigned` say "no rating".
    pub fn from_vendor_word(word: &str) -> Band {
        match word.to_ascii_lowercase().as_str() {
            "critical" => Band::Critical,
            "high" | "important" => Band::High,
            "medium" | "moderate" => Band::Medium,
            "low" | "negligible" => Band::Low,
            "unimportant" | "informational" | "none" => Band::Informational,
            _ => Band::Untriaged,
        }
    }
}

impl std::str::FromStr for Band {
    type Err = String;

    fn from_str(s: &str) -> Result<Band, String> {
        match s.to_ascii_uppercase().as_str() {
            "UNTRIAGED" => Ok(Band::Untriaged),
            "INFORMATIONAL" => Ok(Band::Informational),
            "LOW" => Ok(Band::Low),
            "MEDIUM" => Ok(Band::Medium),
            "HIGH" => Ok(Band::High),
            "CRITICAL" => Ok(Band::Critical),
            _ => Err(format!(
                "unknown severity {s:?}: expected one of untriaged, informational, low, medium, high, critical"
            )),
        }
    }
}

/// The installed package a finding is about.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageRef {
    pub name: String,
    /// `deb`, `rpm`, `apk`, `python`, `npm`, `go`, `cargo`, `maven`, `gem`,
    /// `composer`; `os` for an end-of-life finding about the OS itself.
    pub kind: String,
    pub epoch: Option<u32>,
    /// The version as the inventory records it (deb: the full version;
    /// rpm: `version-release`, the epoch separate).
    pub version: String,
    pub release: Option<String>,
    /// What is compared: rpm `[epoch:]version-release` (epoch written only
    /// when not zero), the source version for deb, the version otherwise.
    pub installed_version: String,
    pub arch: Option<String>,
    pub source_name: Option<String>,
    pub source_version: Option<String>,
    pub purl: String,
    /// The database or file the package was read from.
    pub path: String,
    pub layer: Option<String>,
}

/// How the finding was made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detection {
    /// `source-package` (Debian, Ubuntu, Alpine: advisories keyed by the
    /// source package), `binary-package` (RPM distributions),
    /// `language-package` (OSV ranges of an ecosystem), `end-of-life`.
    pub method: String,
    /// The knowledge base namespace matched (`debian:12`, `PyPI`).
    pub namespace: String,
    /// `high`: the vendor's data for this exact release and package;
    /// `medium`: the package may not be what runs (a kernel that is not
    /// the running one, a package found only in a lock file).
    pub confidence: String,
    /// Vendor notes (`no-dsa: Minor issue`, `Ubuntu Pro: ...`) and
    /// Kensa's own (not the running kernel, OS past end of life).
    pub notes: Vec<String>,
}

/// A vendor's severity word, and who said it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorSeverity {
    pub source: String,
    pub value: String,
}

/// A CVSS vector and its computed scores.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CvssScore {
    /// Who published it: an advisory feed (`osv`, `redhat`), `nvd@nist.gov`
    /// or a CNA.
    pub source: String,
    /// `2.0`, `3.0`, `3.1`, `4.0`.
    pub version: String,
    pub vector: String,
    pub base_score: f64,
    pub temporal_score: Option<f64>,
    pub environmental_score: Option<f64>,
}

/// One rewrite of the base vector, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adjustment {
    /// The CVSS metric written (`MAV`, `E`, `CR`).
    pub metric: String,
    /// Its value (`A`, `H`).
    pub value: String,
    pub reason: String,
}

/// The exposure-adjusted score (docs/detection.md, "Scoring").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// The CVSS v3 vector the score starts from, and who published it.
    pub base_vector: String,
    pub base_source: String,
    pub base: f64,
    /// The vector with Kensa's environmental and temporal rewrites.
    pub vector: String,
    pub adjusted: f64,
    pub adjustments: Vec<Adjustment>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpssScore {
    pub score: f64,
    pub percentile: f64,
    pub date: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KevEntry {
    pub date_added: String,
    pub due_date: String,
    pub ransomware: bool,
    pub required_action: String,
}

/// An advisory that contributed to a finding.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AdvisoryRef {
    pub id: String,
    /// The feed it came from (`osv`, `debian-tracker`, `amazon-alas`).
    pub feed: String,
}

/// One vulnerability in one installed package.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// A CVE id when the advisories name one, else the advisory's id.
    pub vulnerability_id: String,
    /// Every other id of the vulnerability (advisory ids, GHSA, ...).
    pub aliases: Vec<String>,
    pub advisories: Vec<AdvisoryRef>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub published: Option<String>,
    pub package: PackageRef,
    /// The lowest version that fixes the installed one; `None` when no
    /// fix is published.
    pub fixed_version: Option<String>,
    pub status: Status,
    pub detection: Detection,
    /// The band: from the adjusted score when there is one, else from the
    /// vendor's word.
    pub severity: Band,
    pub vendor_severity: Option<VendorSeverity>,
    pub cvss: Vec<CvssScore>,
    pub score: Option<Score>,
    pub epss: Option<EpssScore>,
    pub kev: Option<KevEntry>,
    pub references: Vec<String>,
    /// The command that installs the fix, or what to do when there is none.
    pub remediation: Option<String>,
}

impl Finding {
    /// The adjusted score, else the highest base score of any vector.
    pub fn effective_score(&self) -> Option<f64> {
        self.score.as_ref().map(|s| s.adjusted).or_else(|| {
            self.cvss
                .iter()
                .map(|c| c.base_score)
                .fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.max(s))))
        })
    }

    /// Report order: most urgent first (KEV, band, score, EPSS), then by
    /// package and id so that equal findings keep a stable order.
    pub fn rank_cmp(&self, other: &Finding) -> std::cmp::Ordering {
        let key = |f: &Finding| {
            (
                f.kev.is_some(),
                f.severity,
                f.effective_score().unwrap_or(-1.0),
                f.epss.as_ref().map_or(-1.0, |e| e.score),
            )
        };
        let (a, b) = (key(self), key(other));
        b.0.cmp(&a.0)
            .then(b.1.cmp(&a.1))
            .then(b.2.total_cmp(&a.2))
            .then(b.3.total_cmp(&a.3))
            .then_with(|| self.package.name.cmp(&other.package.name))
            .then_with(|| self.package.path.cmp(&other.package.path))
            .then_with(|| self.vulnerability_id.cmp(&other.vulnerability_id))
    }
}

/// Something the scan could not check, or chose not to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Warning {
    /// `third-party-package`, `no-vendor-data`, `unsupported-os`,
    /// `informational-advisory`, `unparsable-version`, `inventory-problem`,
    /// `os-packages-unread`, `dropped-record`.
    pub kind: String,
    pub package: Option<String>,
    pub message: String,
}

/// What was scanned.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// `host`, `root` or `image`: what the inventory was collected from
    /// (also when a saved inventory is scanned).
    pub kind: String,
    pub path: String,
    pub os: Option<String>,
    pub os_release: Option<String>,
    pub hostname: Option<String>,
    pub image_id: Option<String>,
    pub packages: usize,
}

/// Which knowledge base answered.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Knowledge {
    pub built_at: String,
    /// The newest record date of each feed.
    pub feeds: Vec<(String, Option<String>)>,
}

/// Counts per band, for the summary line and CI gates.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub findings: usize,
    pub critical: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
    pub informational: usize,
    pub untriaged: usize,
    pub fixable: usize,
    pub kev: usize,
}

impl Summary {
    pub fn of(findings: &[Finding]) -> Summary {
        let mut s = Summary {
            findings: findings.len(),
            ..Summary::default()
        };
        for f in findings {
            *match f.severity {
                Band::Critical => &mut s.critical,
                Band::High => &mut s.high,
                Band::Medium => &mut s.medium,
                Band::Low => &mut s.low,
                Band::Informational => &mut s.informational,
                Band::Untriaged => &mut s.untriaged,
            } += 1;
            s.fixable += usize::from(f.fixed_version.is_some());
            s.kev += usize::from(f.kev.is_some());
        }
        s
    }
}

/// A scan's result.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    /// RFC 3339 UTC time of the scan.
    pub scanned_at: String,
    pub target: Target,
    pub knowledge: Knowledge,
    pub summary: Summary,
    pub findings: Vec<Finding>,
    pub warnings: Vec<Warning>,
    /// The scanned packages, for SBOM output; not part of the JSON report.
    #[serde(skip)]
    pub packages: Vec<kensa_inventory::model::Package>,
}

/// The warning kind of an inventory whose OS package database could not
/// be read at all: the report cannot say "nothing to fix".
pub const OS_PACKAGES_UNREAD: &str = "os-packages-unread";
/// The warning kind of something the inventory skipped (a damaged record,
/// an unreadable file) while reading the rest.
pub const INVENTORY_PROBLEM: &str = "inventory-problem";
/// The warning kind of a knowledge base record about an installed package
/// that the import dropped (an invalid fixed version, a malformed id): the
/// package may be affected by it, and the scan cannot tell.
pub const DROPPED_RECORD: &str = "dropped-record";

impl Report {
    /// Whether the OS packages could not be read at all: the findings say
    /// nothing about them, and a caller must not report the scan as clean.
    pub fn os_packages_unread(&self) -> bool {
        self.warnings.iter().any(|w| w.kind == OS_PACKAGES_UNREAD)
    }

    /// Whether the inventory skipped something (a damaged record, an
    /// unreadable file) while reading the rest.
    pub fn inventory_incomplete(&self) -> bool {
        self.os_packages_unread() || self.warnings.iter().any(|w| w.kind == INVENTORY_PROBLEM)
    }
}
