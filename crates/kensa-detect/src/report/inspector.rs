//! Amazon Inspector's CSV findings report: the same 55 columns, in the same
//! order and with the same names, so that spreadsheets and queries built
//! for Inspector's reports read Kensa's unchanged.
//!
//! AWS-only columns (account, region, AMI, VPC, Lambda) stay empty; the
//! others carry their Kensa equivalent: Resource ID is the asset (its
//! cloud instance id when the asset register gave one), Finding ARN a
//! Kensa finding reference, Inspector Score the exposure-adjusted score
//! with its vector, Platform the OS (`DEBIAN_12`), Package Manager
//! Inspector's vocabulary (`OS`, `PIP`, `NPM`, `JAR`, `GOBINARY`, …).

use std::io::Write;

use crate::finding::Finding;

/// The columns of Inspector's findings report, in order.
pub const COLUMNS: [&str; 55] = [
    "AWS Account Id",
    "Severity",
    "Fix Available",
    "Finding Type",
    "Title",
    "Description",
    "Finding ARN",
    "First Seen",
    "Last Seen",
    "Last Updated",
    "Resource ID",
    "Container Image Tags",
    "Region",
    "Platform",
    "Resource Tags",
    "Affected Packages",
    "Package Installed Version",
    "Fixed in Version",
    "Package Remediation",
    "File Path",
    "Network Paths",
    "Age (Days)",
    "Remediation",
    "Inspector Score",
    "Inspector Score Vector",
    "Status",
    "Vulnerability Id",
    "Vendor",
    "Vendor Severity",
    "Vendor Advisory",
    "Vendor Advisory Published",
    "NVD CVSS3 Score",
    "NVD CVSS3 Vector",
    "NVD CVSS2 Score",
    "NVD CVSS2 Vector",
    "Vendor CVSS3 Score",
    "Vendor CVSS3 Vector",
    "Vendor CVSS2 Score",
    "Vendor CVSS2 Vector",
    "Resource Type",
    "Ami",
    "Resource Public Ipv4",
    "Resource Private Ipv4",
    "Resource Ipv6",
    "Resource Vpc",
    "Port Range",
    "Epss Score",
    "Exploit Available",
    "Last Exploited At",
    "Lambda Layers",
    "Lambda Package Type",
    "Lambda Last Updated At",
    "Reference Urls",
    "Detector Name",
    "Package Manager",
];

/// What the report says about the resource a finding is on.
#[derive(Clone, Debug, Default)]
pub struct Resource {
    /// The asset: its cloud instance id when known, else Kensa's id.
    pub id: String,
    /// `true` for a container image, `false` for a host.
    pub image: bool,
    pub os_id: Option<String>,
    pub os_release: Option<String>,
    pub tags: Vec<String>,
    pub image_tags: Vec<String>,
    pub ip_addresses: Vec<String>,
    /// Public addresses, when an asset register says which are.
    pub public_ipv4: Vec<String>,
    /// Ports the asset is reachable on (`22/tcp`).
    pub ports: Vec<String>,
}

/// The lifecycle fields of a stored finding.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    /// Kensa's reference for the finding (in Finding ARN).
    pub reference: String,
    /// `ACTIVE`, `SUPPRESSED`, `CLOSED`.
    pub status: String,
    /// RFC 3339.
    pub first_seen: String,
    pub last_seen: String,
    pub updated: String,
    pub age_days: i64,
}

/// Inspector's name for a package manager.
pub fn package_manager(kind: &str) -> &'static str {
    match kind {
        "deb" | "rpm" | "apk" => "OS",
        "python" | "pypi" => "PYTHONPKG",
        "npm" => "NODEPKG",
        "gem" => "GEMSPEC",
        "cargo" => "CARGO",
        "go" | "gobinary" => "GOBINARY",
        "gomod" => "GOMOD",
        "maven" | "jar" => "JAR",
        "composer" => "COMPOSER",
        "nuget" => "NUGET",
        _ => "",
    }
}

/// `DEBIAN_12`, `ALPINE_3_18`, `UBUNTU_22_04`, `RHEL_9`.
pub fn platform(os_id: Option<&str>, release: Option<&str>) -> String {
    let Some(id) = os_id.filter(|s| !s.is_empty()) else {
        return String::new();
    };
    let mut out = id.to_ascii_uppercase().replace(['-', ' '], "_");
    if let Some(r) = release.filter(|s| !s.is_empty()) {
        out.push('_');
        out.push_str(&r.to_ascii_uppercase().replace(['.', '-', ' '], "_"));
    }
    out
}

fn score(v: f64) -> String {
    format!("{v:.1}")
}

fn is_ipv6(a: &str) -> bool {
    a.contains(':')
}

fn is_private_v4(a: &str) -> bool {
    let octets: Vec<u8> = a.split('.').filter_map(|o| o.parse().ok()).collect();
    match octets.as_slice() {
        [10, ..] | [192, 168, ..] | [127, ..] | [169, 254, ..] => true,
        [172, b, ..] => (16..=31).contains(b),
        [100, b, ..] => (64..=127).contains(b),
        _ => false,
    }
}

/// One report row for a finding on a resource.
pub fn row(f: &Finding, r: &Resource, o: &Observed) -> Vec<String> {
    let mut out = Vec::with_capacity(COLUMNS.len());
    fields(f, r, o, &mut |v| {
        out.push(v.to_owned());
        Ok(())
    })
    .unwrap_or_default();
    out
}

fn vector(c: Option<&crate::finding::CvssScore>) -> &str {
    c.map_or("", |c| c.vector.as_str())
}

/// The row's fields, in column order, handed to `emit` one at a time:
/// most are borrowed from the finding, so that a streaming writer formats
/// a row without building it.
fn fields(
    f: &Finding,
    r: &Resource,
    o: &Observed,
    emit: &mut dyn FnMut(&str) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let nvd = |major: char| {
        f.cvss
            .iter()
            .find(|c| c.source == "nvd@nist.gov" && c.version.starts_with(major))
    };
    let vendor = |major: char| {
        f.cvss
            .iter()
            .find(|c| c.source != "nvd@nist.gov" && c.version.starts_with(major))
    };
    let sc =
        |c: Option<&crate::finding::CvssScore>| c.map(|c| score(c.base_score)).unwrap_or_default();
    let join = |items: &mut dyn Iterator<Item = &String>| {
        let mut out = String::new();
        for (i, a) in items.enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(a);
        }
        out
    };
    let public = {
        let mut public: Vec<&String> = r.public_ipv4.iter().collect();
        for a in r
            .ip_addresses
            .iter()
            .filter(|a| !is_ipv6(a) && !is_private_v4(a))
        {
            if !public.contains(&a) {
                public.push(a);
            }
        }
        join(&mut public.into_iter())
    };
    let private = join(
        &mut r
            .ip_addresses
            .iter()
            .filter(|a| !is_ipv6(a) && is_private_v4(a)),
    );
    let v6 = join(&mut r.ip_addresses.iter().filter(|a| is_ipv6(a)));
    let vendor_name = f
        .vendor_severity
        .as_ref()
        .map(|v| v.source.as_str())
        .or_else(|| f.advisories.first().map(|a| a.feed.as_str()))
        .unwrap_or_default();
    let advisory = join(&mut f.advisories.iter().map(|a| &a.id));
    let p = &f.package;
    let arch = p
        .arch
        .as_deref()
        .map(|a| format!(".{a}"))
        .unwrap_or_default();
    emit("")?;
    emit(f.severity.as_str())?;
    emit(if f.fixed_version.is_some() {
        "YES"
    } else {
        "NO"
    })?;
    // Reachability findings (package kind `network`, made by the server's
    // reachability model) are Inspector's NETWORK_REACHABILITY: no package
    // columns, the paths in Network Paths, the ports in Port Range.
    let network = p.kind == "network";
    emit(if network {
        "NETWORK_REACHABILITY"
    } else {
        "PACKAGE_VULNERABILITY"
    })?;
    if network {
        emit(f.title.as_deref().unwrap_or_default())?;
    } else {
        emit(&format!("{} - {}", f.vulnerability_id, p.name))?;
    }
    emit(
        f.description
            .as_deref()
            .or(f.title.as_deref())
            .unwrap_or_default(),
    )?;
    emit(&o.reference)?;
    emit(&o.first_seen)?;
    emit(&o.last_seen)?;
    emit(&o.updated)?;
    emit(&r.id)?;
    emit(&join(&mut r.image_tags.iter()))?;
    emit("")?;
    emit(&platform(r.os_id.as_deref(), r.os_release.as_deref()))?;
    emit(&join(&mut r.tags.iter()))?;
    if network {
        for _ in 0..5 {
            emit("")?;
        }
        emit(&f.detection.notes.join(" | "))?;
    } else {
        emit(&format!("{}-{}{arch}", p.name, p.installed_version))?;
        emit(&p.installed_version)?;
        emit(f.fixed_version.as_deref().unwrap_or("NotAvailable"))?;
        emit(f.remediation.as_deref().unwrap_or_default())?;
        emit(&p.path)?;
        emit("")?;
    }
    emit(&o.age_days.to_string())?;
    match &f.fixed_version {
        _ if network => emit(f.remediation.as_deref().unwrap_or("None Provided"))?,
        Some(v) => emit(&format!("Upgrade {} to {v} or later", p.name))?,
        None => emit("None Provided")?,
    }
    emit(
        &f.score
            .as_ref()
            .map(|s| score(s.adjusted))
            .unwrap_or_default(),
    )?;
    emit(f.score.as_ref().map_or("", |s| s.vector.as_str()))?;
    emit(&o.status)?;
    emit(if network { "" } else { &f.vulnerability_id })?;
    emit(vendor_name)?;
    emit(f.vendor_severity.as_ref().map_or("", |v| v.value.as_str()))?;
    emit(&advisory)?;
    emit(f.published.as_deref().unwrap_or_default())?;
    emit(&sc(nvd('3')))?;
    emit(vector(nvd('3')))?;
    emit(&sc(nvd('2')))?;
    emit(vector(nvd('2')))?;
    emit(&sc(vendor('3')))?;
    emit(vector(vendor('3')))?;
    emit(&sc(vendor('2')))?;
    emit(vector(vendor('2')))?;
    emit(if r.image { "CONTAINER_IMAGE" } else { "HOST" })?;
    emit("")?;
    emit(&public)?;
    emit(&private)?;
    emit(&v6)?;
    emit("")?;
    if network {
        emit(&p.name)?;
    } else {
        emit(&join(&mut r.ports.iter()))?;
    }
    emit(
        &f.epss
            .as_ref()
            .map(|e| format!("{}", e.score))
            .unwrap_or_default(),
    )?;
    emit(if f.kev.is_some() { "YES" } else { "NO" })?;
    emit(f.kev.as_ref().map_or("", |k| k.date_added.as_str()))?;
    emit("")?;
    emit("")?;
    emit("")?;
    emit(&join(&mut f.references.iter()))?;
    emit("kensa")?;
    emit(package_manager(&p.kind))
}

/// A cell a spreadsheet will not run as a formula (OWASP, "CSV
/// Injection"): text starting with `=`, `+`, `-`, `@`, a tab or a carriage
/// return gets a leading `'`. Agents control much of what a row says (a
/// language package's path, name, version), and `=HYPERLINK(…)` in a cell
/// would otherwise be a live link when an analyst opens the file.
pub fn neutralise(v: &str) -> std::borrow::Cow<'_, str> {
    if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{v}"))
    } else {
        std::borrow::Cow::Borrowed(v)
    }
}

/// A streaming writer of the report: the header first, then one row at a
/// time (nothing is held but the row being written).
pub struct Writer<W: Write> {
    w: csv::Writer<W>,
}

impl<W: Write> Writer<W> {
    pub fn new(out: W) -> std::io::Result<Writer<W>> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(COLUMNS).map_err(std::io::Error::other)?;
        Ok(Writer { w })
    }

    pub fn write(&mut self, f: &Finding, r: &Resource, o: &Observed) -> std::io::Result<()> {
        let w = &mut self.w;
        fields(f, r, o, &mut |v| {
            w.write_field(neutralise(v).as_bytes())
                .map_err(std::io::Error::other)
        })?;
        self.w
            .write_record(None::<&[u8]>)
            .map_err(std::io::Error::other)
    }

    pub fn finish(mut self) -> std::io::Result<W> {
        self.w.flush()?;
        self.w
            .into_inner()
            .map_err(|e| std::io::Error::other(e.to_string()))
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn formula_cells_are_neutralised() {
        for (v, want) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1", "'+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("openssl", "openssl"),
            ("1.2.3-r0", "1.2.3-r0"),
            ("", ""),
        ] {
            assert_eq!(neutralise(v), want, "{v:?}");
        }
    }
    use super::*;

    /// The header is Inspector's, checked against the reference list.
    #[test]
    fn columns_are_inspectors_in_order() {
        let path = kensa_testkit::reference_dir().join("inspector-findings-report-columns.txt");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let want: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(COLUMNS.as_slice(), want.as_slice());
        let mut w = Writer::new(Vec::new()).expect("writer");
        let f: crate::finding::Finding =
            serde_json::from_value(serde_json::json!({
                "vulnerability_id": "CVE-2024-0001", "aliases": [], "advisories": [{"id": "DSA-1", "feed": "debian-tracker"}],
                "title": null, "description": "a flaw, with \"quotes\"\nand a newline", "published": null,
                "package": {"name": "openssl", "kind": "deb", "epoch": null, "version": "3.0.11", "release": null,
                  "installed_version": "3.0.11-1~deb12u1", "arch": "amd64", "source_name": "openssl",
                  "source_version": "3.0.11-1~deb12u1", "purl": "pkg:deb/debian/openssl@3.0.11-1~deb12u1",
                  "path": "var/lib/dpkg/status", "layer": null},
                "fixed_version": "3.0.11-1~deb12u2", "status": "fixed",
                "detection": {"method": "source-package", "namespace": "debian:12", "confidence": "high", "notes": []},
                "severity": "HIGH", "vendor_severity": null,
                "cvss": [{"source": "nvd@nist.gov", "version": "3.1", "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", "base_score": 7.5, "temporal_score": null, "environmental_score": null}],
                "score": null, "epss": {"score": 0.25, "percentile": 0.9, "date": "2026-11-29"}, "kev": null,
                "references": ["https://example.org/a", "https://example.org/b"], "remediation": "apt-get install --only-upgrade openssl"
            }))
            .expect("a finding");
        let r = Resource {
            id: "i-0abc".into(),
            os_id: Some("debian".into()),
            os_release: Some("12".into()),
            ip_addresses: vec!["10.0.0.5".into(), "203.0.113.7".into(), "fe80::1".into()],
            ..Resource::default()
        };
        let o = Observed {
            reference: "kensa:finding/42".into(),
            status: "ACTIVE".into(),
            age_days: 3,
            ..Observed::default()
        };
        w.write(&f, &r, &o).expect("row");
        let bytes = w.finish().expect("finish");
        let mut rd = csv::Reader::from_reader(bytes.as_slice());
        let header: Vec<String> = rd
            .headers()
            .expect("header")
            .iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(header, COLUMNS);
        let rows: Vec<csv::StringRecord> = rd.records().map(|r| r.expect("record")).collect();
        assert_eq!(rows.len(), 1);
        // The streaming writer and `row` say the same.
        assert_eq!(
            rows[0].iter().map(str::to_owned).collect::<Vec<_>>(),
            row(&f, &r, &o)
        );
        let get = |name: &str| {
            let i = COLUMNS.iter().position(|c| *c == name).expect("column");
            rows[0][i].to_owned()
        };
        assert_eq!(get("Title"), "CVE-2024-0001 - openssl");
        assert_eq!(get("Description"), "a flaw, with \"quotes\"\nand a newline");
        assert_eq!(get("Fix Available"), "YES");
        assert_eq!(get("Fixed in Version"), "3.0.11-1~deb12u2");
        assert_eq!(get("NVD CVSS3 Score"), "7.5");
        assert_eq!(get("Platform"), "DEBIAN_12");
        assert_eq!(get("Resource Private Ipv4"), "10.0.0.5");
        assert_eq!(get("Resource Public Ipv4"), "203.0.113.7");
        assert_eq!(get("Resource Ipv6"), "fe80::1");
        assert_eq!(get("Package Manager"), "OS");
        assert_eq!(get("Exploit Available"), "NO");
        assert_eq!(get("Epss Score"), "0.25");
        assert_eq!(get("Finding ARN"), "kensa:finding/42");
    }

    #[test]
    fn platforms_and_package_managers() {
        assert_eq!(platform(Some("debian"), Some("12")), "DEBIAN_12");
        assert_eq!(platform(Some("ubuntu"), Some("22.04")), "UBUNTU_22_04");
        assert_eq!(platform(None, Some("1")), "");
        assert_eq!(package_manager("deb"), "OS");
        assert_eq!(package_manager("python"), "PYTHONPKG");
    }

    #[test]
    fn addresses_split_by_kind() {
        assert!(is_private_v4("10.1.2.3"));
        assert!(is_private_v4("172.20.0.1"));
        assert!(!is_private_v4("172.32.0.1"));
        assert!(!is_private_v4("203.0.113.9"));
        assert!(is_ipv6("fe80::1"));
    }
}
