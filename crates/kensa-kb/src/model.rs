//! The normalised model every feed is imported into. An advisory says, for
//! a (distribution release or ecosystem, package) pair, which versions are
//! affected and which fix them, with one fix status from one explicit set,
//! the vendor's severity, and the aliases that tie vendor ids to CVE ids.

use serde::{Deserialize, Serialize};

/// Which feed a record came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Feed {
    Osv,
    Rustsec,
    DebianTracker,
    Ubuntu,
    AlpineSecdb,
    AmazonAlas,
    RedHat,
    Oval,
    Nvd,
    CveList,
    Kev,
    Epss,
    Eol,
}

/// The fix status of one (namespace, package) in one advisory. Only the
/// first five make a finding; `NotAffected` and `UnderInvestigation` are
/// kept so that a user can see the vendor looked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FixStatus {
    /// A fixed version exists.
    Fixed,
    /// Affected, no fix published yet.
    Affected,
    WillNotFix,
    FixDeferred,
    /// The release is past its support end; no fix will come.
    EndOfLife,
    NotAffected,
    UnderInvestigation,
}

/// Where an affected package lives: a distribution release or a language
/// ecosystem, written `<distribution>:<release>` (`debian:12`,
/// `ubuntu:22.04`, `alpine:3.19`, `almalinux:9`, `amzn:2023`, `rhel:9`)
/// with the ids of `kensa-inventory`'s OS identification, or the OSV
/// ecosystem name for language packages (`PyPI`, `Go`, `crates.io`, `npm`,
/// `Maven`, `RubyGems`, `NuGet`, `Packagist`).
pub type Namespace = String;

/// One OSV-style range event, owned.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
    Limit(String),
}

impl Event {
    /// The borrowed form `kensa_version::range::is_affected` evaluates.
    pub fn as_range_event(&self) -> kensa_version::range::Event<'_> {
        use kensa_version::range::Event as E;
        match self {
            Event::Introduced(v) => E::Introduced(v),
            Event::Fixed(v) => E::Fixed(v),
            Event::LastAffected(v) => E::LastAffected(v),
            Event::Limit(v) => E::Limit(v),
        }
    }
}

/// What an advisory says about one package in one namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Affected {
    pub namespace: Namespace,
    /// The package as the namespace keys advisories: the *source* package
    /// for Debian, Ubuntu and Alpine (origin), the binary (or source RPM)
    /// name for RPM distributions as the vendor lists it, the package name
    /// for ecosystems.
    pub package: String,
    pub status: FixStatus,
    /// Affected ranges, each a list of events (OSV semantics). A vendor
    /// record that only names a fixed version becomes
    /// `[introduced 0, fixed V]`; an unfixed one `[introduced 0]`.
    pub ranges: Vec<Vec<Event>>,
    /// Explicitly enumerated affected versions (OSV `versions`).
    pub versions: Vec<String>,
    /// The version that fixes it, when there is one (the lowest `fixed`).
    pub fixed: Option<String>,
    /// The vendor's own words on the status (Debian `<no-dsa>` reason,
    /// Red Hat's "Will not fix" statement...).
    pub note: Option<String>,
    /// RHEL-family module stream (`nodejs:18`), when the fix is modular;
    /// `ksplice` for Oracle's fixes of Ksplice userspace builds only.
    pub module: Option<String>,
    /// The architectures a vendor restricts the record to (empty: all).
    pub arches: Vec<String>,
}

/// The vendor's severity rating, kept as the vendor words it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Severity {
    /// Who rated (`debian`, `alas`, `redhat`, `ghsa`, ...).
    pub source: String,
    /// The vendor's word (`important`, `high`, `unimportant`, ...).
    pub value: String,
}

/// A vendor or ecosystem advisory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advisory {
    /// The feed's id (`DSA-5555-1`, `ALAS2023-2024-123`, `RHSA-2024:1234`,
    /// `GHSA-…`, `PYSEC-…`, `RUSTSEC-…`; a Debian tracker entry is keyed by
    /// its CVE id).
    pub id: String,
    pub feed: Feed,
    /// Other ids for the same vulnerability, CVE ids first.
    pub aliases: Vec<String>,
    pub published: Option<String>,
    pub modified: Option<String>,
    pub summary: Option<String>,
    pub severity: Option<Severity>,
    /// CVSS vectors the feed itself carries (`CVSS:3.1/AV:N/...`).
    pub cvss: Vec<String>,
    pub references: Vec<String>,
    pub affected: Vec<Affected>,
}

/// A CVSS vector as one scorer published it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CvssVector {
    /// `nvd@nist.gov`, a CNA's address, `redhat`, ...
    pub source: String,
    /// `Primary` or `Secondary` in NVD's terms, when given.
    pub kind: Option<String>,
    /// `2.0`, `3.0`, `3.1`, `4.0`.
    pub version: String,
    pub vector: String,
    pub base_score: Option<f64>,
}

/// What the CVE record (NVD or CVE JSON 5) says about a vulnerability.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Vulnerability {
    pub id: String,
    pub description: Option<String>,
    pub published: Option<String>,
    pub modified: Option<String>,
    pub cwes: Vec<String>,
    pub references: Vec<String>,
    pub cvss: Vec<CvssVector>,
}

/// A CISA Known Exploited Vulnerabilities entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kev {
    pub cve: String,
    pub vendor: String,
    pub product: String,
    pub name: String,
    pub date_added: String,
    pub due_date: String,
    /// `knownRansomwareCampaignUse` is `Known`.
    pub ransomware: bool,
    pub required_action: String,
}

/// An EPSS score for one day.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Epss {
    pub cve: String,
    pub score: f64,
    pub percentile: f64,
    /// The model's score date (`2026-11-29`).
    pub date: String,
}

/// One release cycle of a product, from endoflife.date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EolRelease {
    /// The product's page name (`debian`, `amazon-linux`, `nginx`).
    pub product: String,
    /// The cycle (`12`, `2023`, `1.24`).
    pub cycle: String,
    pub codename: Option<String>,
    pub release_date: Option<String>,
    /// End of (security) support: a date, or `None` when not announced.
    pub eol: Option<String>,
    /// `eol: true` without a date: ended, date unknown.
    pub eol_reached: bool,
    /// End of extended support where the page has one (`eoes`, LTS).
    pub extended_support: Option<String>,
    /// End of the vendor's own long-term support (Debian LTS, Ubuntu
    /// ESM): `extended_support` when the page names its `eoes` column so,
    /// as opposed to paid extended support (RHEL's Extended Life Cycle
    /// Support). `None` in stores built before it was read.
    #[serde(default)]
    pub lts: Option<String>,
    pub latest: Option<String>,
}

/// One imported record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Record {
    Advisory(Advisory),
    Vulnerability(Vulnerability),
    Kev(Kev),
    Epss(Epss),
    Eol(EolRelease),
}

/// A record that could not be imported: counted and reported, never fatal
/// for the rest of the feed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordError {
    /// The file (and entry inside an archive: `all.zip!/PYSEC-1.json`).
    pub file: String,
    /// The record's id, or its line, when known.
    pub record: Option<String>,
    pub message: String,
    /// The namespace and package the dropped record was about, when the
    /// importer could tell: a scan of a host with that package says the
    /// knowledge base is missing something about it (see
    /// [`crate::base::KnowledgeBase::dropped`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
}

/// What one import of one feed did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedReport {
    /// Records imported.
    pub records: usize,
    /// Records skipped on purpose (withdrawn, not for a known namespace),
    /// with the reason and count.
    pub skipped: Vec<(String, usize)>,
    pub errors: Vec<RecordError>,
    /// The date (`YYYY-MM-DD`) of the newest record: how fresh the feed is.
    #[serde(default)]
    pub newest: Option<String>,
}

impl FeedReport {
    /// How many records were skipped for `reason`.
    pub fn skipped_count(&self, reason: &str) -> usize {
        self.skipped
            .iter()
            .find(|(r, _)| r == reason)
            .map_or(0, |(_, n)| *n)
    }

    pub fn skip(&mut self, reason: &str) {
        match self.skipped.iter_mut().find(|(r, _)| r == reason) {
            Some((_, n)) => *n += 1,
            None => self.skipped.push((reason.to_owned(), 1)),
        }
    }

    pub fn error(
        &mut self,
        file: impl Into<String>,
        record: Option<String>,
        message: impl Into<String>,
    ) {
        self.errors.push(RecordError {
            file: file.into(),
            record,
            message: message.into(),
            namespace: None,
            package: None,
        });
    }

    /// An error of a record about `package` in `namespace`: the record is
    /// not imported, and the store remembers which package lost it.
    pub fn dropped(
        &mut self,
        file: impl Into<String>,
        record: Option<String>,
        namespace: &str,
        package: &str,
        message: impl Into<String>,
    ) {
        self.errors.push(RecordError {
            file: file.into(),
            record,
            message: message.into(),
            namespace: Some(namespace.to_owned()),
            package: Some(package.to_owned()),
        });
    }
}

/// Where importers send records: a store, or a test's vector.
pub trait Sink {
    fn record(&mut self, record: Record);
}

impl Sink for Vec<Record> {
    fn record(&mut self, record: Record) {
        self.push(record);
    }
}

/// The day a record was last changed or published, as `YYYY-MM-DD`, when
/// the record says: the later of the two, because some feeds write a zero
/// time as `modified` (Go's vulndb exports `0001-01-01`).
pub fn record_day(record: &Record) -> Option<&str> {
    fn day(date: Option<&str>) -> Option<&str> {
        let day = date?.get(..10)?;
        let shaped = day.bytes().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
        shaped.then_some(day)
    }
    fn later<'a>(a: Option<&'a str>, b: Option<&'a str>) -> Option<&'a str> {
        match (day(a), day(b)) {
            (Some(x), Some(y)) => Some(x.max(y)),
            (x, y) => x.or(y),
        }
    }
    match record {
        Record::Advisory(a) => later(a.modified.as_deref(), a.published.as_deref()),
        Record::Vulnerability(v) => later(v.modified.as_deref(), v.published.as_deref()),
        Record::Kev(k) => day(Some(&k.date_added)),
        Record::Epss(e) => day(Some(&e.date)),
        Record::Eol(e) => day(e.release_date.as_deref()),
    }
}

/// Whether an advisory id names a bug-fix or enhancement erratum rather
/// than a security one. Vendors publish all three kinds through the same
/// channels (AlmaLinux's OSV data holds ALSA, ALBA and ALEA records alike),
/// and only the security kind says anything about a vulnerability: a
/// "fixed" version in a bug-fix erratum is an update, not a finding.
///
/// The prefixes are the vendors' own: Red Hat `RHSA`/`RHBA`/`RHEA`
/// (security advisory, bug fix advisory, enhancement advisory), and the
/// rebuilds that copy its scheme (AlmaLinux `AL*A`, Rocky `RL*A`, Oracle
/// `EL*A`, CentOS `CE*A`); SUSE and openSUSE `SUSE-RU`/`-FU`/`-OU`
/// (recommended, feature, optional update) beside `SUSE-SU`.
pub fn is_non_security_erratum(id: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "RHBA-", "RHEA-", "ALBA-", "ALEA-", "RLBA-", "RLEA-", "ELBA-", "ELEA-", "CEBA-", "CEEA-",
    ];
    if PREFIXES.iter().any(|p| id.starts_with(p)) {
        return true;
    }
    let suse = id
        .strip_prefix("SUSE-")
        .or_else(|| id.strip_prefix("openSUSE-"));
    suse.is_some_and(|rest| ["RU-", "FU-", "OU-"].iter().any(|p| rest.starts_with(p)))
}

#[cfg(test)]
mod erratum_tests {
    use super::is_non_security_erratum;

    #[test]
    fn security_and_other_errata_are_told_apart() {
        for id in [
            "ALBA-2021:4378",
            "ALEA-2021:4539",
            "RHBA-2024:1234",
            "RHEA-2024:1",
            "ELBA-2023-0001",
            "RLBA-2022:1",
            "RLEA-2022:1",
            "SUSE-RU-2024:0001-1",
            "openSUSE-FU-2022:1",
        ] {
            assert!(is_non_security_erratum(id), "{id}");
        }
        for id in [
            "ALSA-2023:4520",
            "RHSA-2024:0010",
            "ELSA-2023-1",
            "RLSA-2023:3220",
            "RXSA-2023:1",
            "SUSE-SU-2024:0001-1",
            "CVE-2024-1",
            "GHSA-xxxx",
            "DSA-5000-1",
            "ALAS-2023-1",
            "ALAS2-2023-1",
        ] {
            assert!(!is_non_security_erratum(id), "{id}");
        }
    }
}
