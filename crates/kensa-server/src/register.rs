//! Asset register formats: what `POST /api/v1/assets/import` reads.
//!
//! **CSV** (`format=csv`): UTF-8, a header line, then one asset per line;
//! lines starting with `#` are comments. Columns, in any order, only
//! `name` required; an empty cell leaves the item as it is:
//!
//! | column | value |
//! |---|---|
//! | `name` | what people call the asset (its identity unless `instance_id`) |
//! | `hostname` | the host's name; an agent enrolling with it takes the asset over |
//! | `instance_id` | a cloud instance id (`i-…`): the asset's identity when given |
//! | `ip_addresses` | addresses separated by spaces or `;` |
//! | `os`, `os_release` | the distribution id and release as Kensa names them (`debian`, `12`) |
//! | `operation_start`, `support_end` | `YYYY-MM-DD` |
//! | `owner`, `team`, `environment` | text |
//! | `tags` | separated by `;` |
//! | `internet_exposure` | `yes`, `no` or `unknown` |
//! | `exposed_ports` | `22/tcp;443/tcp` (`/tcp` when no protocol is given) |
//! | `ssh_host`, `ssh_port`, `ssh_user`, `ssh_credential`, `ssh_jump` | scan the asset over SSH from the server (docs/agentless.md): the address (default the hostname, else the first address), the port (22), the login, the name of an SSH credential an admin created, and an optional bastion `[user@]host[:port]` |
//!
//! An unknown column is refused by name, and every error names its line
//! and column.
//!
//! **EC2** (`format=ec2`): the JSON of `aws ec2 describe-instances`
//! (`Reservations[].Instances[]`). Optionally merged with that of `aws ec2
//! describe-security-groups` (`jq -s add instances.json groups.json`): the
//! top-level `SecurityGroups` then gives the exposed ports.
//!
//! - identity: `InstanceId`; name: the `Name` tag, else the instance id;
//!   `Owner`, `Team`, `Environment` tags are the management items of those
//!   names, other tags (not `aws:…`) become tags `Key=Value`;
//! - hostname `PrivateDnsName`; addresses `PrivateIpAddress`,
//!   `PublicIpAddress`; `PlatformDetails` as the OS description;
//!   `LaunchTime`'s date as the operation start; terminated instances are
//!   skipped;
//! - internet exposure is a heuristic: `yes` when the instance has a
//!   public address, else `no`. With security groups, the ports its groups
//!   open to `0.0.0.0/0` or `::/0` are its exposed ports, and a public
//!   address with none open is `no`. Load balancers, NAT rules and network
//!   ACLs are not looked at.

use std::collections::HashMap;

use kensa_store::{ExposedPort, InternetExposure, ManagementPatch, RegisterRecord, valid_date};
use serde::Serialize;
use serde_json::Value;

/// One problem in the input, located.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InputError {
    /// The CSV line (1 is the header), or the instance's position in an
    /// EC2 document (1-based).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The CSV column, or the JSON path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    pub message: String,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.line, &self.column) {
            (Some(l), Some(c)) => write!(f, "line {l}, column {c}: {}", self.message),
            (Some(l), None) => write!(f, "line {l}: {}", self.message),
            (None, Some(c)) => write!(f, "{c}: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

/// What a register holds: the records, and for each its location (`line
/// 3`, `Reservations[0].Instances[1] (i-…)`) for messages.
#[derive(Debug, Default)]
pub struct Parsed {
    pub records: Vec<RegisterRecord>,
    pub locations: HashMap<usize, String>,
    /// Entries left out on purpose (terminated instances), with why.
    pub skipped: Vec<String>,
}

/// More would be a mistake (a whole inventory pasted in) rather than a
/// register.
const MAX_RECORDS: usize = 100_000;
const MAX_TEXT: usize = 200;

pub const CSV_COLUMNS: &[&str] = &[
    "name",
    "hostname",
    "instance_id",
    "ip_addresses",
    "os",
    "os_release",
    "operation_start",
    "support_end",
    "owner",
    "team",
    "environment",
    "tags",
    "internet_exposure",
    "exposed_ports",
    "ssh_host",
    "ssh_port",
    "ssh_user",
    "ssh_credential",
    "ssh_jump",
];

fn text(v: &str, max: usize) -> Result<Option<String>, String> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    if v.chars().count() > max {
        return Err(format!("longer than {max} characters"));
    }
    if v.chars().any(char::is_control) {
        return Err("holds a control character".into());
    }
    Ok(Some(v.to_owned()))
}

fn date(v: &str) -> Result<Option<String>, String> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    if valid_date(v) {
        Ok(Some(v.to_owned()))
    } else {
        Err(format!("{v:?} is not a date written YYYY-MM-DD"))
    }
}

fn exposure(v: &str) -> Result<Option<InternetExposure>, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "yes" => Ok(Some(InternetExposure::Yes)),
        "no" => Ok(Some(InternetExposure::No)),
        "unknown" => Ok(Some(InternetExposure::Unknown)),
        other => Err(format!("{other:?}: expected yes, no or unknown")),
    }
}

fn ips(v: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for a in v.split(|c: char| c == ';' || c.is_whitespace()) {
        if a.is_empty() {
            continue;
        }
        let ip: std::net::IpAddr = a
            .parse()
            .map_err(|_| format!("{a:?} is not an IP address"))?;
        out.push(ip.to_string());
    }
    Ok(out)
}

fn ports(v: &str, source: &str) -> Result<Vec<ExposedPort>, String> {
    let mut out = Vec::new();
    for p in v.split(|c: char| c == ';' || c == ',' || c.is_whitespace()) {
        if p.is_empty() {
            continue;
        }
        let (port, protocol) = p.split_once('/').unwrap_or((p, "tcp"));
        let protocol = protocol.to_ascii_lowercase();
        if !matches!(protocol.as_str(), "tcp" | "udp") {
            return Err(format!("{p:?}: the protocol is tcp or udp"));
        }
        let port: u16 = port
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("{p:?}: a port is a number from 1 to 65535"))?;
        let e = ExposedPort {
            port,
            to_port: None,
            protocol,
            source: source.to_owned(),
        };
        if !out.contains(&e) {
            out.push(e);
        }
    }
    Ok(out)
}

/// An SSH address from a register's (or the API's) cells: the column at
/// fault and why on error.
pub fn ssh_address(
    host: &str,
    port: &str,
    user: &str,
    credential: &str,
    jump: &str,
    default_host: Option<&str>,
) -> Result<kensa_store::SshAddress, (&'static str, String)> {
    let host = match host.trim() {
        "" => default_host.ok_or((
            "ssh_host",
            "empty, and the asset has no hostname or address to default to".to_owned(),
        ))?,
        h => h,
    };
    let port: u16 = match port.trim() {
        "" => 22,
        p => p.parse().ok().filter(|&n| n > 0).ok_or((
            "ssh_port",
            format!("{p:?}: a port is a number from 1 to 65535"),
        ))?,
    };
    let user = user.trim();
    if user.is_empty() {
        return Err(("ssh_user", "empty: the login to scan with".into()));
    }
    let credential = text(credential, MAX_TEXT)
        .map_err(|m| ("ssh_credential", m))?
        .ok_or((
            "ssh_credential",
            "empty: the name of an SSH credential".to_owned(),
        ))?;
    let target = kensa_agentless::SshTarget::new(user, host, port).map_err(|m| {
        let column = if m.starts_with("user") {
            "ssh_user"
        } else if m.starts_with("port") {
            "ssh_port"
        } else {
            "ssh_host"
        };
        (column, m)
    })?;
    let jump = match jump.trim() {
        "" => None,
        j => Some(
            kensa_agentless::SshTarget::parse_jump(j, &target.user)
                .map_err(|m| ("ssh_jump", m))?
                .to_string(),
        ),
    };
    Ok(kensa_store::SshAddress {
        host: target.host,
        port: target.port,
        user: target.user,
        credential,
        jump,
    })
}

/// Reads a CSV register; every problem found, located, when it has any.
pub fn parse_csv(bytes: &[u8]) -> Result<Parsed, Vec<InputError>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let whole = |message: String| {
        vec![InputError {
            line: Some(1),
            column: None,
            message,
        }]
    };
    let headers = reader
        .headers()
        .map_err(|e| whole(format!("the header line: {e}")))?
        .clone();
    let mut errors = Vec::new();
    let mut index: HashMap<&'static str, usize> = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        let h = h.trim_start_matches('\u{feff}').to_ascii_lowercase();
        match CSV_COLUMNS.iter().find(|c| **c == h) {
            Some(c) => {
                if index.insert(c, i).is_some() {
                    errors.push(InputError {
                        line: Some(1),
                        column: Some(h.clone()),
                        message: "the column appears twice".into(),
                    });
                }
            }
            None => errors.push(InputError {
                line: Some(1),
                column: Some(h.clone()),
                message: format!("unknown column {h:?} (known: {})", CSV_COLUMNS.join(", ")),
            }),
        }
    }
    if !index.contains_key("name") {
        errors.push(InputError {
            line: Some(1),
            column: Some("name".into()),
            message: "the column name is required".into(),
        });
        return Err(errors);
    }
    // The lines are read even when the header has a column too many, so
    // that one answer lists every problem.
    let mut out = Parsed::default();
    for row in reader.records() {
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                errors.push(InputError {
                    line: e.position().map(|p| p.line() as usize),
                    column: None,
                    message: match e.kind() {
                        csv::ErrorKind::UnequalLengths {
                            expected_len, len, ..
                        } => format!("{len} fields where the header has {expected_len}"),
                        csv::ErrorKind::Utf8 { .. } => "not UTF-8".into(),
                        _ => e.to_string(),
                    },
                });
                continue;
            }
        };
        let line = row.position().map_or(0, |p| p.line() as usize);
        if out.records.len() >= MAX_RECORDS {
            errors.push(InputError {
                line: Some(line),
                column: None,
                message: format!("more than {MAX_RECORDS} assets in one import"),
            });
            break;
        }
        let cell = |c: &str| index.get(c).and_then(|&i| row.get(i)).unwrap_or("");
        let mut fail = |column: &str, message: String| {
            errors.push(InputError {
                line: Some(line),
                column: Some(column.to_owned()),
                message,
            });
        };
        let mut r = RegisterRecord {
            line,
            ..RegisterRecord::default()
        };
        macro_rules! take {
            ($column:expr, $parse:expr) => {
                match $parse(cell($column)) {
                    Ok(v) => v,
                    Err(m) => {
                        fail($column, m);
                        Default::default()
                    }
                }
            };
        }
        let name: Option<String> = take!("name", |v| text(v, MAX_TEXT));
        match name {
            Some(n) => r.name = n,
            None if cell("name").trim().is_empty() => {
                fail("name", "empty: every asset needs a name".into())
            }
            None => {}
        }
        r.hostname = take!("hostname", |v| text(v, 253));
        r.instance_id = take!("instance_id", |v| text(v, 100));
        r.ip_addresses = take!("ip_addresses", ips);
        r.os_id = take!("os", |v: &str| text(&v.to_ascii_lowercase(), 50));
        r.os_release = take!("os_release", |v| text(v, 50));
        if r.os_release.is_some() && r.os_id.is_none() {
            fail("os_release", "given without os".into());
        }
        let m = &mut r.management;
        let start: Option<String> = take!("operation_start", date);
        let end: Option<String> = take!("support_end", date);
        if let (Some(s), Some(e)) = (&start, &end)
            && e < s
        {
            fail(
                "support_end",
                format!("{e} is before the operation start {s}"),
            );
        }
        m.operation_start = start.map(Some);
        m.support_end = end.map(Some);
        m.owner = take!("owner", |v| text(v, MAX_TEXT)).map(Some);
        m.team = take!("team", |v| text(v, MAX_TEXT)).map(Some);
        m.environment = take!("environment", |v| text(v, MAX_TEXT)).map(Some);
        let tags: Vec<String> = take!("tags", |v: &str| {
            v.split(';')
                .map(|t| text(t, 100))
                .filter_map(Result::transpose)
                .collect::<Result<Vec<_>, _>>()
        });
        if !tags.is_empty() {
            m.tags = Some(tags);
        }
        let exposure: Option<InternetExposure> = take!("internet_exposure", exposure);
        let exposed: Vec<ExposedPort> = take!("exposed_ports", |v| ports(v, "register"));
        if !exposed.is_empty() {
            if exposure == Some(InternetExposure::No) {
                fail(
                    "exposed_ports",
                    "ports exposed to the internet, but internet_exposure is no".into(),
                );
            }
            m.exposed_ports = Some(exposed);
            // Ports open to the internet say the host is exposed.
            m.internet_exposure = Some(Some(exposure.unwrap_or(InternetExposure::Yes)));
        } else if let Some(e) = exposure {
            m.internet_exposure = Some(Some(e));
        }
        let given = |c: &str| !cell(c).trim().is_empty();
        if [
            "ssh_host",
            "ssh_port",
            "ssh_user",
            "ssh_credential",
            "ssh_jump",
        ]
        .iter()
        .any(|c| given(c))
        {
            match ssh_address(
                cell("ssh_host"),
                cell("ssh_port"),
                cell("ssh_user"),
                cell("ssh_credential"),
                cell("ssh_jump"),
                r.hostname
                    .as_deref()
                    .or(r.ip_addresses.first().map(String::as_str)),
            ) {
                Ok(a) => r.ssh = Some(a),
                Err((column, m)) => fail(column, m),
            }
        }
        out.locations.insert(line, format!("line {line}"));
        out.records.push(r);
    }
    if out.records.is_empty() && errors.is_empty() {
        errors.push(InputError {
            line: Some(2),
            column: None,
            message: "no asset after the header line".into(),
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The ports each security group opens to the whole internet.
fn open_ports(doc: &Value) -> Result<Option<HashMap<String, Vec<ExposedPort>>>, Vec<InputError>> {
    let Some(groups) = doc.get("SecurityGroups") else {
        return Ok(None);
    };
    let err = |path: String, message: &str| {
        vec![InputError {
            line: None,
            column: Some(path),
            message: message.to_owned(),
        }]
    };
    let groups = groups
        .as_array()
        .ok_or_else(|| err("SecurityGroups".into(), "not an array"))?;
    let mut out = HashMap::new();
    for (i, g) in groups.iter().enumerate() {
        let id = str_at(g, "GroupId")
            .ok_or_else(|| err(format!("SecurityGroups[{i}].GroupId"), "missing"))?;
        let mut ports = Vec::new();
        for p in g
            .get("IpPermissions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let world = p
                .get("IpRanges")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|r| str_at(r, "CidrIp") == Some("0.0.0.0/0"))
                || p.get("Ipv6Ranges")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .any(|r| str_at(r, "CidrIpv6") == Some("::/0"));
            if !world {
                continue;
            }
            let protocol = match p.get("IpProtocol").and_then(Value::as_str) {
                Some("-1") => "all",
                Some("tcp" | "6") => "tcp",
                Some("udp" | "17") => "udp",
                // ICMP and other protocols have no ports.
                _ => continue,
            };
            let port = |k: &str| {
                p.get(k)
                    .and_then(Value::as_i64)
                    .and_then(|n| u16::try_from(n).ok())
            };
            let e = if protocol == "all" {
                ExposedPort {
                    port: 0,
                    to_port: Some(65535),
                    protocol: "all".into(),
                    source: format!("aws-security-group {id}"),
                }
            } else {
                let (Some(from), Some(to)) = (port("FromPort"), port("ToPort")) else {
                    continue;
                };
                ExposedPort {
                    port: from,
                    to_port: (to != from).then_some(to),
                    protocol: protocol.into(),
                    source: format!("aws-security-group {id}"),
                }
            };
            ports.push(e);
        }
        out.insert(id.to_owned(), ports);
    }
    Ok(Some(out))
}

/// Reads the JSON of `aws ec2 describe-instances` (optionally merged with
/// `describe-security-groups`).
pub fn parse_ec2(bytes: &[u8]) -> Result<Parsed, Vec<InputError>> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| {
        vec![InputError {
            line: Some(e.line()),
            column: None,
            message: format!("not JSON: {e}"),
        }]
    })?;
    let at = |path: String, message: String| InputError {
        line: None,
        column: Some(path),
        message,
    };
    let reservations = doc
        .get("Reservations")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            vec![at(
                "Reservations".into(),
                "missing or not an array: expected the output of aws ec2 describe-instances".into(),
            )]
        })?;
    let groups = open_ports(&doc)?;
    let mut out = Parsed::default();
    let mut errors = Vec::new();
    let mut n = 0usize;
    for (ri, res) in reservations.iter().enumerate() {
        let Some(instances) = res.get("Instances").and_then(Value::as_array) else {
            errors.push(at(
                format!("Reservations[{ri}].Instances"),
                "missing or not an array".into(),
            ));
            continue;
        };
        for (ii, inst) in instances.iter().enumerate() {
            n += 1;
            let path = format!("Reservations[{ri}].Instances[{ii}]");
            let Some(id) = str_at(inst, "InstanceId") else {
                errors.push(at(format!("{path}.InstanceId"), "missing".into()));
                continue;
            };
            let valid_id = id.len() > 2
                && id.len() <= 40
                && id.starts_with("i-")
                && id[2..].bytes().all(|c| c.is_ascii_hexdigit());
            if !valid_id {
                errors.push(at(
                    format!("{path}.InstanceId"),
                    format!("{id:?} is not an instance id (i- and hex digits)"),
                ));
                continue;
            }
            let state = inst
                .get("State")
                .and_then(|s| str_at(s, "Name"))
                .unwrap_or("unknown");
            if matches!(state, "terminated" | "shutting-down") {
                out.skipped.push(format!("{path} ({id}): {state}"));
                continue;
            }
            let mut tags: HashMap<String, String> = HashMap::new();
            let mut other_tags = Vec::new();
            for t in inst
                .get("Tags")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let (Some(k), v) = (str_at(t, "Key"), str_at(t, "Value").unwrap_or("")) else {
                    continue;
                };
                match k.to_ascii_lowercase().as_str() {
                    "name" | "owner" | "team" | "environment" => {
                        tags.insert(k.to_ascii_lowercase(), v.to_owned());
                    }
                    _ if k.starts_with("aws:") => {}
                    _ => other_tags.push(format!("{k}={v}")),
                }
            }
            other_tags.sort();
            let mut field = |name: &str, v: Option<&str>, max: usize| match v.map(|v| text(v, max))
            {
                Some(Ok(v)) => v,
                Some(Err(m)) => {
                    errors.push(at(format!("{path}.{name}"), m));
                    None
                }
                None => None,
            };
            let name = field("Tags.Name", tags.get("name").map(String::as_str), MAX_TEXT)
                .unwrap_or_else(|| id.to_owned());
            let owner = field(
                "Tags.Owner",
                tags.get("owner").map(String::as_str),
                MAX_TEXT,
            );
            let team = field("Tags.Team", tags.get("team").map(String::as_str), MAX_TEXT);
            let environment = field(
                "Tags.Environment",
                tags.get("environment").map(String::as_str),
                MAX_TEXT,
            );
            let hostname = field("PrivateDnsName", str_at(inst, "PrivateDnsName"), 253);
            let os_pretty = field("PlatformDetails", str_at(inst, "PlatformDetails"), MAX_TEXT);
            let mut ip_addresses = Vec::new();
            for k in ["PrivateIpAddress", "PublicIpAddress"] {
                if let Some(a) = str_at(inst, k) {
                    match ips(a) {
                        Ok(v) => ip_addresses.extend(v),
                        Err(m) => errors.push(at(format!("{path}.{k}"), m)),
                    }
                }
            }
            let operation_start = match str_at(inst, "LaunchTime") {
                Some(t) => match t.get(..10).filter(|d| valid_date(d)) {
                    Some(d) => Some(d.to_owned()),
                    None => {
                        errors.push(at(
                            format!("{path}.LaunchTime"),
                            format!("{t:?} is not a time starting YYYY-MM-DD"),
                        ));
                        None
                    }
                },
                None => None,
            };
            let public = str_at(inst, "PublicIpAddress").is_some();
            let mut m = ManagementPatch {
                operation_start: operation_start.map(Some),
                owner: owner.map(Some),
                team: team.map(Some),
                environment: environment.map(Some),
                tags: (!other_tags.is_empty()).then_some(other_tags),
                internet_exposure: Some(Some(if public {
                    InternetExposure::Yes
                } else {
                    InternetExposure::No
                })),
                ..ManagementPatch::default()
            };
            if let Some(groups) = &groups {
                let mut open = Vec::new();
                if public {
                    for g in inst
                        .get("SecurityGroups")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        if let Some(p) = str_at(g, "GroupId").and_then(|gid| groups.get(gid)) {
                            open.extend(p.iter().cloned());
                        }
                    }
                }
                open.sort();
                open.dedup();
                if open.is_empty() {
                    m.internet_exposure = Some(Some(InternetExposure::No));
                }
                m.exposed_ports = Some(open);
            }
            out.locations.insert(n, format!("{path} ({id})"));
            out.records.push(RegisterRecord {
                line: n,
                name,
                hostname,
                instance_id: Some(id.to_owned()),
                ip_addresses,
                os_id: None,
                os_release: None,
                os_pretty,
                management: m,
                ssh: None,
            });
        }
    }
    if n > MAX_RECORDS {
        errors.push(at(
            "Reservations".into(),
            format!("more than {MAX_RECORDS} instances in one import"),
        ));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_errors_name_line_and_column() {
        let csv = "name,owner,operation_start\nweb-1,alice,2024-01-02\nweb-2,bob,2024-02-30\n";
        let errors = parse_csv(csv.as_bytes()).expect_err("bad date");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, Some(3));
        assert_eq!(errors[0].column.as_deref(), Some("operation_start"));
        assert!(errors[0].message.contains("2024-02-30"), "{}", errors[0]);

        let errors = parse_csv(b"name,colour,support_end\nweb-1,blue,2024-1-1\n")
            .expect_err("unknown column");
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(errors[0].column.as_deref(), Some("colour"));
        assert_eq!(errors[0].line, Some(1));
        assert_eq!(
            (errors[1].line, errors[1].column.as_deref()),
            (Some(2), Some("support_end"))
        );

        let errors = parse_csv(b"hostname\nweb-1\n").expect_err("no name column");
        assert_eq!(errors[0].column.as_deref(), Some("name"));

        let errors = parse_csv(b"name,exposed_ports\nweb-1,22/sctp\n").expect_err("protocol");
        assert_eq!(
            (errors[0].line, errors[0].column.as_deref()),
            (Some(2), Some("exposed_ports"))
        );
        let errors = parse_csv(b"name,owner\nweb-1\n").expect_err("short line");
        assert_eq!(errors[0].line, Some(2));
    }

    #[test]
    fn csv_values_become_management_items() {
        let csv = "# exported from the CMDB\n\
                   name,ip_addresses,tags,exposed_ports,os,os_release\n\
                   web-1,10.0.0.5; 2001:db8::5,pci;web;,443/tcp 80,Debian,12\n";
        let parsed = parse_csv(csv.as_bytes()).expect("parses");
        let r = &parsed.records[0];
        assert_eq!(r.line, 3);
        assert_eq!(r.ip_addresses, ["10.0.0.5", "2001:db8::5"]);
        assert_eq!(r.os_id.as_deref(), Some("debian"));
        assert_eq!(
            r.management.tags,
            Some(vec!["pci".to_owned(), "web".to_owned()])
        );
        let ports: Vec<String> = r
            .management
            .exposed_ports
            .iter()
            .flatten()
            .map(ToString::to_string)
            .collect();
        assert_eq!(ports, ["443/tcp", "80/tcp"]);
        assert_eq!(
            r.management.internet_exposure,
            Some(Some(InternetExposure::Yes))
        );
        // Empty cells leave items alone.
        assert_eq!(r.management.owner, None);
    }
}
