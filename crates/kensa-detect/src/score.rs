//! Scoring: every CVSS vector computed, and the exposure-adjusted score.
//!
//! The adjusted score follows the idea of Amazon Inspector's: start from
//! the vendor's CVSS v3 vector (else NVD's, else any CNA's), rewrite its
//! environmental and temporal metrics from what Kensa knows about the host,
//! and score the result. Each rewrite is recorded with its reason. The
//! rules, in order:
//!
//! 1. **Not internet-facing** (`Exposure::Internal`): a flaw exploitable
//!    over the network (`AV:N`) gets `MAV:A`: an attacker must first be on
//!    the same network.
//! 2. **Nothing listens** (a live host scan whose socket table shows no
//!    listener beyond loopback): `AV:N` or `AV:A` becomes `MAV:L` for a
//!    package that is neither a library nor a known network client, since
//!    no remote peer can reach it. Libraries and clients (curl, openssl,
//!    language packages) keep their vector: they talk to servers the host
//!    connects to.
//! 3. **Listening and internet-facing**: a package whose process listens
//!    beyond loopback on an internet-facing host keeps `AV:N`, recorded
//!    as `MAV:N` with the ports, so the reader sees why it ranks high.
//!
//!    Per service, from the network model (`HostContext::reachable`, the
//!    server's reachability of the asset's ports), before rules 1 and 3:
//!    a package whose process listens on a port the internet reaches
//!    keeps `AV:N`, recorded as `MAV:N` with the port and the path; one
//!    whose process listens only on ports the model shows closed to the
//!    internet gets `MAV:A`, whatever the host-level exposure says. A
//!    package that does not listen falls back to the host-level rules.
//! 4. **Known exploited** (CISA KEV): `E:H` (exploitation is not
//!    theoretical) and `CR:H`, `IR:H`, `AR:H` (the security requirements of
//!    an asset under active attack are high), which raises the score.
//!
//! With no rewrite the adjusted score is the base score.

use kensa_cvss::Cvss;
use kensa_inventory::model::{Listener, Package, PackageKind};

use crate::finding::{Adjustment, CvssScore, Score};

/// Whether the host can be reached from the internet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Exposure {
    /// Reachable from the internet (a public address, an open security
    /// group).
    Internet,
    /// Only reachable from inside its network.
    Internal,
    /// Not known: no rewrite depends on it.
    #[default]
    Unknown,
}

impl std::str::FromStr for Exposure {
    type Err = String;

    fn from_str(s: &str) -> Result<Exposure, String> {
        match s {
            "internet" | "yes" => Ok(Exposure::Internet),
            "internal" | "no" => Ok(Exposure::Internal),
            "unknown" => Ok(Exposure::Unknown),
            _ => Err(format!(
                "unknown exposure {s:?}: expected internet, internal or unknown"
            )),
        }
    }
}

/// What the scorer knows about the host.
pub struct HostContext<'a> {
    pub exposure: Exposure,
    /// `None` when the socket table is not known (a root filesystem or
    /// image scan); `Some(&[])` when it is known and empty.
    pub listeners: Option<&'a [Listener]>,
    /// The ports the network model decided for this host: `None` when no
    /// network data covers it; else every port range the internet reaches
    /// (a port not listed is not reachable).
    pub reachable: Option<&'a [ReachablePort]>,
}

/// A port range the internet reaches, and through what (for the reason).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReachablePort {
    /// `tcp` or `udp`.
    pub protocol: String,
    pub from: u16,
    pub to: u16,
    /// The path, as people read it (`igw-… → sg-… (IpPermissions[0] from 0.0.0.0/0)`).
    pub via: String,
}

impl ReachablePort {
    fn covers(&self, protocol: &str, port: u16) -> bool {
        self.protocol.eq_ignore_ascii_case(protocol) && self.from <= port && port <= self.to
    }
}

/// Parse and score one published vector; `None` when it does not parse
/// (counted by the caller).
pub fn score_vector(source: &str, vector: &str) -> Option<CvssScore> {
    let cvss: Cvss = vector.trim().parse().ok()?;
    Some(CvssScore {
        source: source.to_owned(),
        version: cvss.version().to_owned(),
        vector: vector.trim().to_owned(),
        base_score: cvss.base_score(),
        temporal_score: cvss.temporal_score(),
        environmental_score: cvss.environmental_score(),
    })
}

/// Programs that make outbound connections, and libraries without a `lib`
/// prefix that network code links: a flaw in them is reachable from a
/// malicious server even when nothing listens.
const NETWORK_CLIENTS: &[&str] = &[
    "curl",
    "wget",
    "openssl",
    "gnutls28",
    "gnutls",
    "nss",
    "openssh",
    "openssh-client",
    "git",
    "apt",
    "dnf",
    "yum",
    "rpm",
    "apk-tools",
    "python3",
    "perl",
    "glibc",
    "musl",
    "krb5",
    "nghttp2",
    "ca-certificates",
    "gnupg2",
    "gnupg",
    "rsync",
    "bind9",
    "bind",
    "dnsmasq",
    "systemd",
    "zlib",
    "expat",
    "libxml2",
    "busybox",
    "sudo",
];

/// The package's own listeners beyond loopback (its process name is the
/// package's, or the daemon of it).
fn own_listeners<'l>(p: &Package, listeners: &'l [Listener]) -> Vec<&'l Listener> {
    let names = [Some(p.name.as_str()), p.source_name.as_deref()];
    listeners
        .iter()
        .filter(|l| !l.loopback)
        .filter(|l| {
            l.process.as_deref().is_some_and(|proc_| {
                names.iter().flatten().any(|n| {
                    *n == proc_
                        || n.strip_suffix("-server").is_some_and(|b| b == proc_)
                        || proc_.strip_suffix('d').is_some_and(|b| b == *n)
                        || (proc_ == "sshd" && n.starts_with("openssh"))
                })
            })
        })
        .collect()
}

fn listens(p: &Package, listeners: &[Listener]) -> Vec<String> {
    let mut out: Vec<String> = own_listeners(p, listeners)
        .into_iter()
        .map(|l| format!("{}/{} {}", l.protocol, l.port, l.address))
        .collect();
    out.sort();
    out.dedup();
    out
}

fn is_library_or_client(p: &Package) -> bool {
    let lib = |n: &str| n.starts_with("lib") || NETWORK_CLIENTS.contains(&n);
    !matches!(
        p.kind,
        Some(PackageKind::Deb | PackageKind::Rpm | PackageKind::Apk)
    ) || lib(&p.name)
        || p.source_name.as_deref().is_some_and(lib)
}

/// Choose the base vector (vendor v3, else NVD's, else any v3) from
/// `cvss` (in preference order already) and rewrite it for the host.
pub fn adjusted(
    cvss: &[CvssScore],
    vendor_sources: &[String],
    package: &Package,
    kev: bool,
    host: &HostContext<'_>,
) -> Option<Score> {
    let v3 = |c: &&CvssScore| c.version.starts_with('3');
    let base = cvss
        .iter()
        .filter(v3)
        .find(|c| vendor_sources.contains(&c.source))
        .or_else(|| cvss.iter().filter(v3).find(|c| c.source == "nvd@nist.gov"))
        .or_else(|| cvss.iter().find(v3))?;
    let Ok(Cvss::V3(mut vector)) = base.vector.parse::<Cvss>() else {
        return None;
    };
    let mut adjustments = Vec::new();
    let mut set =
        |vector: &mut kensa_cvss::v3::Vector, metric: &str, value: &str, reason: String| {
            if vector.set(metric, value).is_ok() {
                adjustments.push(Adjustment {
                    metric: metric.to_owned(),
                    value: value.to_owned(),
                    reason,
                });
            }
        };
    let av = vector.get("AV").unwrap_or("N").to_owned();
    let listening = host.listeners.map(|l| listens(package, l));
    // Per service: the network model's verdict on this package's own ports
    // decides before the host-level exposure does.
    let own = host
        .listeners
        .map(|l| own_listeners(package, l))
        .unwrap_or_default();
    let per_service = match host.reachable {
        Some(reachable) if !own.is_empty() => {
            let mut open: Vec<String> = own
                .iter()
                .filter_map(|l| {
                    reachable
                        .iter()
                        .find(|r| r.covers(&l.protocol, l.port))
                        .map(|r| {
                            format!(
                                "{}/{} {} (through {})",
                                l.protocol, l.port, l.address, r.via
                            )
                        })
                })
                .collect();
            open.sort();
            open.dedup();
            Some(open)
        }
        _ => None,
    };
    let host_exposure = match &per_service {
        Some(open) if !open.is_empty() => {
            if av == "N" {
                set(
                    &mut vector,
                    "MAV",
                    "N",
                    format!(
                        "this package listens on a port the internet reaches: {}",
                        open.join(", ")
                    ),
                );
            }
            Exposure::Unknown
        }
        Some(_) => {
            if av == "N" {
                set(
                    &mut vector,
                    "MAV",
                    "A",
                    format!(
                        "this package listens on {}, which the network data shows the internet does not reach",
                        listening.as_deref().unwrap_or_default().join(", ")
                    ),
                );
            }
            Exposure::Unknown
        }
        None => host.exposure,
    };
    match (host_exposure, av.as_str()) {
        (Exposure::Internal, "N") => set(
            &mut vector,
            "MAV",
            "A",
            "the host is not reachable from the internet: an attacker must first be inside its network".into(),
        ),
        (Exposure::Internet, "N") => {
            if let Some(ports) = listening.as_ref().filter(|p| !p.is_empty()) {
                set(
                    &mut vector,
                    "MAV",
                    "N",
                    format!(
                        "internet-facing host, and this package listens on {}",
                        ports.join(", ")
                    ),
                );
            }
        }
        _ => {}
    }
    if let Some(listeners) = host.listeners
        && (av == "N" || av == "A")
        && !listeners.iter().any(|l| !l.loopback)
        && !is_library_or_client(package)
    {
        set(
            &mut vector,
            "MAV",
            "L",
            "nothing on this host listens beyond loopback, and this package is neither a library nor a network client".into(),
        );
    }
    if kev {
        let reason =
            "listed in CISA's Known Exploited Vulnerabilities catalog: exploited in the wild";
        set(&mut vector, "E", "H", reason.into());
        for m in ["CR", "IR", "AR"] {
            set(&mut vector, m, "H", reason.into());
        }
    }
    let rewritten = Cvss::V3(vector);
    let adjusted = if adjustments.is_empty() {
        base.base_score
    } else {
        rewritten.overall_score()
    };
    Some(Score {
        base_vector: base.vector.clone(),
        base_source: base.source.clone(),
        base: base.base_score,
        vector: rewritten.to_string(),
        adjusted,
        adjustments,
    })
}
