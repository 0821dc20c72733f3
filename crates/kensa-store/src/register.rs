//! Assets known from an asset register (a CSV file, a cloud's instance
//! list), so that machines without an agent appear in the fleet; and the
//! facts derived from inventories that the register and coverage use
//! (OS pretty name, server software, end of life).
//!
//! A register record never overwrites what an agent reported: once an
//! asset has an inventory, its OS, hostname and addresses are the
//! inventory's; the register still sets the management items it gives.

use std::collections::{HashMap, HashSet};

use kensa_inventory::Inventory;
use kensa_inventory::model::PackageKind;
use serde::{Deserialize, Serialize};

use crate::asset::{ASSET_COLUMNS, AssetUpsert, asset_of};
use crate::error::{Result, StoreError};
use crate::sql::{Dialect, Sql, p};
use crate::time::Timestamp;
use crate::{Asset, AssetId, Db, InternetExposure, Management, Mode};

/// How an asset became known.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssetSource {
    /// An agent enrolled (or an inventory was reported) first.
    Agent,
    /// Imported from an asset register.
    Register,
    /// Found by a scan.
    Scan,
}

impl AssetSource {
    pub fn as_str(self) -> &'static str {
        match self {
            AssetSource::Agent => "agent",
            AssetSource::Register => "register",
            AssetSource::Scan => "scan",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<AssetSource> {
        match s {
            "agent" => Ok(AssetSource::Agent),
            "register" => Ok(AssetSource::Register),
            "scan" => Ok(AssetSource::Scan),
            _ => Err(StoreError::Corrupt(format!("asset source {s:?}"))),
        }
    }
}

/// A port reachable from the internet.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ExposedPort {
    pub port: u16,
    /// The last port when a rule opens a range (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_port: Option<u16>,
    /// `tcp`, `udp`, or `all` (a rule for every protocol and port).
    pub protocol: String,
    /// What says so: `register`, `aws-security-group sg-…`, `api`.
    pub source: String,
}

impl ExposedPort {
    fn is_valid(&self) -> bool {
        let protocol = matches!(self.protocol.as_str(), "tcp" | "udp" | "all");
        let port = self.port > 0 || self.protocol == "all";
        protocol && port && self.to_port.is_none_or(|t| t >= self.port)
    }
}

impl std::fmt::Display for ExposedPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.to_port {
            Some(t) if t != self.port => write!(f, "{}-{t}/{}", self.port, self.protocol),
            _ => write!(f, "{}/{}", self.port, self.protocol),
        }
    }
}

/// Server software found in an inventory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Middleware {
    /// The product (`nginx`, `postgresql`, `openjdk`).
    pub name: String,
    /// The package's version as the package manager writes it.
    pub version: String,
    /// The package it was recognised by.
    pub package: String,
}

/// Whether `name` is `base`, or `base` followed by a version
/// (`postgresql15`, `postgresql-15`, `python3.11`), optionally ending in
/// one of `suffixes` (`-server`, `-fpm`).
fn versioned(name: &str, base: &str, suffixes: &[&str]) -> bool {
    let Some(mut rest) = name.strip_prefix(base) else {
        return false;
    };
    for s in suffixes {
        if let Some(r) = rest.strip_suffix(s) {
            rest = r;
            break;
        }
    }
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    rest.is_empty()
        || (rest.starts_with(|c: char| c.is_ascii_digit())
            && rest.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

/// The server software product an OS package is, by its dpkg, rpm or apk
/// name. A small table on purpose: the products people ask "which hosts
/// run X" about, not every library.
fn product_of(name: &str) -> Option<&'static str> {
    let exact: &[(&str, &[&str])] = &[
        (
            "nginx",
            &[
                "nginx",
                "nginx-core",
                "nginx-full",
                "nginx-light",
                "nginx-extras",
                "nginx-mainline",
            ],
        ),
        ("apache-httpd", &["apache2", "apache2-bin", "httpd"]),
        ("lighttpd", &["lighttpd"]),
        ("haproxy", &["haproxy"]),
        ("varnish", &["varnish"]),
        ("squid", &["squid"]),
        ("caddy", &["caddy"]),
        (
            "mysql",
            &["mysql-server", "mysql-community-server", "mysql"],
        ),
        ("mariadb", &["mariadb-server", "mariadb"]),
        ("redis", &["redis", "redis-server"]),
        ("valkey", &["valkey", "valkey-server"]),
        ("memcached", &["memcached"]),
        (
            "mongodb",
            &["mongodb-org-server", "mongodb-server", "mongodb"],
        ),
        ("elasticsearch", &["elasticsearch"]),
        ("opensearch", &["opensearch"]),
        ("rabbitmq", &["rabbitmq-server"]),
        ("openssh-server", &["openssh-server", "openssh"]),
        (
            "docker",
            &[
                "docker-ce",
                "docker.io",
                "docker",
                "moby-engine",
                "docker-engine",
            ],
        ),
        ("containerd", &["containerd", "containerd.io"]),
        ("bind", &["bind9", "bind"]),
        ("postfix", &["postfix"]),
        (
            "exim",
            &["exim4", "exim4-daemon-light", "exim4-daemon-heavy", "exim"],
        ),
        ("nodejs", &["nodejs", "nodejs-current"]),
        ("go", &["golang", "golang-go", "go"]),
    ];
    if let Some((product, _)) = exact.iter().find(|(_, names)| names.contains(&name)) {
        return Some(product);
    }
    // Library, documentation and debug packages of a product are not the
    // product running.
    let accessory = [
        "-doc", "-docs", "-demo", "-src", "-dbg", "-devel", "-dev", "-javadoc", "-jmods", "-libs",
        "-client", "-common",
    ];
    if accessory.iter().any(|s| name.ends_with(s)) {
        return None;
    }
    if name.starts_with("openjdk") || (name.starts_with("java-") && name.contains("-openjdk")) {
        return Some("openjdk");
    }
    if name.starts_with("golang-") && name.ends_with("-go") {
        return Some("go");
    }
    let versioned_products: &[(&str, &str, &[&str])] = &[
        ("postgresql", "postgresql", &["-server"]),
        ("mysql", "mysql-server", &[]),
        ("mariadb", "mariadb-server", &[]),
        ("tomcat", "tomcat", &[]),
        ("python", "python", &[]),
        ("nodejs", "nodejs", &[]),
        ("ruby", "ruby", &[]),
        ("php", "php", &["-fpm", "-cli"]),
    ];
    versioned_products
        .iter()
        .find(|(_, base, suffixes)| versioned(name, base, suffixes))
        .map(|(product, _, _)| *product)
}

/// The server software among the inventory's OS packages (language
/// packages are libraries: a PyPI `redis` is a client, not a server), one
/// entry per product, the first package found for it.
pub fn middleware_of(inv: &Inventory) -> Vec<Middleware> {
    let mut out: Vec<Middleware> = Vec::new();
    for p in &inv.packages {
        if !matches!(
            p.kind,
            Some(PackageKind::Deb | PackageKind::Rpm | PackageKind::Apk)
        ) {
            continue;
        }
        let Some(product) = product_of(&p.name) else {
            continue;
        };
        if out.iter().any(|m| m.name == product) {
            continue;
        }
        out.push(Middleware {
            name: product.to_owned(),
            version: p.version.clone(),
            package: p.name.clone(),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Whether `s` is a calendar date written `YYYY-MM-DD`.
pub fn valid_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// A change to management items: `None` leaves an item as it is,
/// `Some(None)` clears it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ManagementPatch {
    pub operation_start: Option<Option<String>>,
    pub support_end: Option<Option<String>>,
    pub owner: Option<Option<String>>,
    pub team: Option<Option<String>>,
    pub environment: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    pub internet_exposure: Option<Option<InternetExposure>>,
    pub exposed_ports: Option<Vec<ExposedPort>>,
}

impl ManagementPatch {
    pub fn apply(&self, m: &Management) -> Management {
        let mut out = m.clone();
        let set = |slot: &mut Option<String>, v: &Option<Option<String>>| {
            if let Some(v) = v {
                slot.clone_from(v);
            }
        };
        set(&mut out.operation_start, &self.operation_start);
        set(&mut out.support_end, &self.support_end);
        set(&mut out.owner, &self.owner);
        set(&mut out.team, &self.team);
        set(&mut out.environment, &self.environment);
        if let Some(t) = &self.tags {
            out.tags.clone_from(t);
        }
        if let Some(e) = self.internet_exposure {
            out.internet_exposure = e;
        }
        if let Some(p) = &self.exposed_ports {
            out.exposed_ports.clone_from(p);
        }
        out
    }

    /// The first item that is not acceptable, named.
    pub fn validate(&self) -> std::result::Result<(), String> {
        for (field, v) in [
            ("operation_start", &self.operation_start),
            ("support_end", &self.support_end),
        ] {
            if let Some(Some(d)) = v
                && !valid_date(d)
            {
                return Err(format!("{field}: {d:?} is not a date written YYYY-MM-DD"));
            }
        }
        for (field, v) in [
            ("owner", &self.owner),
            ("team", &self.team),
            ("environment", &self.environment),
        ] {
            if let Some(Some(s)) = v
                && (s.trim().is_empty() || s.chars().count() > 200)
            {
                return Err(format!("{field}: 1 to 200 characters (null clears it)"));
            }
        }
        if let Some(tags) = &self.tags {
            if tags.len() > 100 {
                return Err("tags: at most 100".into());
            }
            if let Some(t) = tags
                .iter()
                .find(|t| t.trim().is_empty() || t.chars().count() > 100)
            {
                return Err(format!("tags: {t:?}: each tag 1 to 100 characters"));
            }
        }
        if let Some(ports) = &self.exposed_ports
            && let Some(p) = ports.iter().find(|p| !p.is_valid())
        {
            return Err(format!(
                "exposed_ports: {p}: a port 1 to 65535 (an optional to_port not below it) and tcp, udp or all"
            ));
        }
        Ok(())
    }
}

/// One asset as a register describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegisterRecord {
    /// Where it came from (the CSV line, the instance's position), for
    /// error messages.
    pub line: usize,
    pub name: String,
    pub hostname: Option<String>,
    /// A cloud instance id: the record's identity when present.
    pub instance_id: Option<String>,
    pub ip_addresses: Vec<String>,
    pub os_id: Option<String>,
    pub os_release: Option<String>,
    pub os_pretty: Option<String>,
    /// The management items the record gives; the others stay as set.
    pub management: ManagementPatch,
    /// Scan it over SSH from the server (`ssh_*` columns).
    pub ssh: Option<crate::agentless::SshAddress>,
}

impl RegisterRecord {
    /// `host:ec2:<instance id>` for a cloud instance, else the agent's rule
    /// for a host without machine id (`host:name:<name>`).
    fn natural_key(&self) -> String {
        match &self.instance_id {
            Some(id) => format!("host:ec2:{id}"),
            None => AssetUpsert {
                kind: crate::AssetKind::Host,
                name: self.name.clone(),
                hostname: None,
                machine_id: None,
                image_id: None,
                os_id: None,
                os_release: None,
                seen_at: Timestamp::from_unix_ms(0),
            }
            .natural_key(),
        }
    }
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportCounts {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Per record, in order: (line, asset, `created`/`updated`/`unchanged`).
    pub assets: Vec<(usize, AssetId, &'static str)>,
}

/// A record the import could not apply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImportError {
    pub line: usize,
    pub message: String,
}

/// What a host's own report says about its addresses and cloud identity.
pub(crate) struct HostFacts {
    /// JSON array of the addresses, `None` when the report has none.
    pub ips: Option<serde_json::Value>,
    pub instance: Option<String>,
}

pub(crate) fn host_facts(inv: &Inventory) -> Result<HostFacts> {
    let ips = (!inv.host.ips.is_empty())
        .then(|| json(&inv.host.ips, "asset addresses"))
        .transpose()?;
    // DMI's asset tag is the instance id on EC2 (`i-` and hex); other
    // providers put a UUID there that no register names.
    let instance = inv.host.cloud_instance_id.clone().filter(|i| {
        i.starts_with("i-") && i.len() > 2 && i[2..].bytes().all(|c| c.is_ascii_hexdigit())
    });
    Ok(HostFacts { ips, instance })
}

fn json<T: Serialize>(v: &T, what: &str) -> Result<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| StoreError::Json {
        context: what.to_owned(),
        source: e,
    })
}

fn lock_suffix(tx: &dyn Sql) -> &'static str {
    match tx.dialect() {
        Dialect::Sqlite => "",
        Dialect::Postgres => " FOR UPDATE",
    }
}

/// The asset a record describes: by instance id, by natural key, else by
/// name or hostname (case-insensitive) when exactly one host has it.
fn find_target(
    tx: &mut dyn Sql,
    r: &RegisterRecord,
) -> Result<std::result::Result<Option<AssetId>, String>> {
    if let Some(id) = &r.instance_id
        && let Some(row) = tx.query_opt(
            "SELECT id FROM assets WHERE instance_id = ? AND kind = 'host' ORDER BY id",
            p![id],
        )?
    {
        return Ok(Ok(Some(AssetId(row.i64(0)?))));
    }
    if let Some(row) = tx.query_opt(
        "SELECT id FROM assets WHERE natural_key = ?",
        p![r.natural_key()],
    )? {
        return Ok(Ok(Some(AssetId(row.i64(0)?))));
    }
    let name = r.name.to_lowercase();
    let host = r.hostname.as_deref().unwrap_or(&r.name).to_lowercase();
    let select = "SELECT id FROM assets WHERE kind = 'host' \
                  AND (lower(name) IN (?, ?) OR lower(hostname) IN (?, ?))";
    let rows = match &r.instance_id {
        // An asset that is another cloud instance is not this one, whatever
        // its name.
        Some(instance) => tx.query(
            &format!("{select} AND (instance_id IS NULL OR instance_id = ?) ORDER BY id"),
            p![&name, &host, &name, &host, instance],
        )?,
        None => tx.query(
            &format!("{select} ORDER BY id"),
            p![&name, &host, &name, &host],
        )?,
    };
    let ids = rows
        .iter()
        .map(|row| row.i64(0))
        .collect::<Result<Vec<_>>>()?;
    match ids.as_slice() {
        [] => Ok(Ok(None)),
        [one] => Ok(Ok(Some(AssetId(*one)))),
        many => Ok(Err(format!(
            "{:?} matches several assets by name or hostname (ids {}): give each an instance id or a distinct name",
            r.name,
            many.iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn create(tx: &mut dyn Sql, r: &RegisterRecord, at: Timestamp) -> Result<AssetId> {
    let m = r.management.apply(&Management::default());
    let row = tx.query_one(
        "INSERT INTO assets (natural_key, kind, name, hostname, os_id, os_release, os_pretty, \
         source, instance_id, ip_addresses, created_at, updated_at, operation_start, support_end, \
         owner, team, environment, tags, internet_exposure, exposed_ports) \
         VALUES (?, 'host', ?, ?, ?, ?, ?, 'register', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        p![
            r.natural_key(),
            &r.name,
            r.hostname.clone(),
            r.os_id.clone(),
            r.os_release.clone(),
            r.os_pretty.clone(),
            r.instance_id.clone(),
            json(&r.ip_addresses, "asset addresses")?,
            at.unix_ms(),
            at.unix_ms(),
            m.operation_start.clone(),
            m.support_end.clone(),
            m.owner.clone(),
            m.team.clone(),
            m.environment.clone(),
            json(&m.tags, "asset tags")?,
            m.internet_exposure.map(InternetExposure::as_str),
            json(&m.exposed_ports, "asset exposed ports")?,
        ],
    )?;
    Ok(AssetId(row.i64(0)?))
}

/// Applies a record to an existing asset; whether anything changed.
fn update(tx: &mut dyn Sql, id: AssetId, r: &RegisterRecord, at: Timestamp) -> Result<bool> {
    let lock = lock_suffix(tx);
    let row = tx.query_one(
        &format!("SELECT {ASSET_COLUMNS} FROM assets WHERE id = ?{lock}"),
        p![id.0],
    )?;
    let old: Asset = asset_of(&row)?;
    let mut new = old.clone();
    // What an inventory reported stays: the register only fills gaps.
    let reported = old.inventory_hash.is_some();
    if !reported {
        if old.source == AssetSource::Register {
            new.name.clone_from(&r.name);
        }
        if r.hostname.is_some() {
            new.hostname.clone_from(&r.hostname);
        }
        if r.os_id.is_some() {
            new.os_id.clone_from(&r.os_id);
            new.os_release.clone_from(&r.os_release);
            new.os_pretty.clone_from(&r.os_pretty);
        }
    } else if new.hostname.is_none() {
        new.hostname.clone_from(&r.hostname);
    }
    if !r.ip_addresses.is_empty() && (!reported || new.ip_addresses.is_empty()) {
        new.ip_addresses.clone_from(&r.ip_addresses);
    }
    if new.instance_id.is_none() {
        new.instance_id.clone_from(&r.instance_id);
    }
    new.management = r.management.apply(&old.management);
    if new == old {
        return Ok(false);
    }
    let m = &new.management;
    tx.exec(
        "UPDATE assets SET name = ?, hostname = ?, os_id = ?, os_release = ?, os_pretty = ?, \
         instance_id = ?, ip_addresses = ?, operation_start = ?, support_end = ?, owner = ?, \
         team = ?, environment = ?, tags = ?, internet_exposure = ?, exposed_ports = ?, \
         updated_at = ? WHERE id = ?",
        p![
            &new.name,
            new.hostname.clone(),
            new.os_id.clone(),
            new.os_release.clone(),
            new.os_pretty.clone(),
            new.instance_id.clone(),
            json(&new.ip_addresses, "asset addresses")?,
            m.operation_start.clone(),
            m.support_end.clone(),
            m.owner.clone(),
            m.team.clone(),
            m.environment.clone(),
            json(&m.tags, "asset tags")?,
            m.internet_exposure.map(InternetExposure::as_str),
            json(&m.exposed_ports, "asset exposed ports")?,
            at.unix_ms(),
            id.0,
        ],
    )?;
    Ok(true)
}

impl Db {
    /// Creates or updates the assets a register describes, in one
    /// transaction: either every record applies, or (`Ok(Err(..))`, with
    /// each record that could not) none does.
    pub fn import_register(
        &self,
        records: &[RegisterRecord],
        at: Timestamp,
    ) -> Result<std::result::Result<ImportCounts, Vec<ImportError>>> {
        let mut errors = Vec::new();
        let outcome = self.tx("import asset register", Mode::Write, |tx| {
            let mut counts = ImportCounts::default();
            let mut seen: HashMap<AssetId, usize> = HashMap::new();
            for r in records {
                let target = match find_target(tx, r)? {
                    Ok(t) => t,
                    Err(message) => {
                        errors.push(ImportError {
                            line: r.line,
                            message,
                        });
                        continue;
                    }
                };
                let (id, action) = match target {
                    None => (create(tx, r, at)?, "created"),
                    Some(id) => {
                        if let Some(first) = seen.get(&id) {
                            errors.push(ImportError {
                                line: r.line,
                                message: format!(
                                    "{:?} is the same asset as line {first} ({id})",
                                    r.name
                                ),
                            });
                            continue;
                        }
                        if update(tx, id, r, at)? {
                            (id, "updated")
                        } else {
                            (id, "unchanged")
                        }
                    }
                };
                if let Some(ssh) = &r.ssh
                    && let Err(message) = crate::agentless::put_target(tx, id, ssh, at)?
                {
                    errors.push(ImportError {
                        line: r.line,
                        message,
                    });
                    continue;
                }
                seen.insert(id, r.line);
                match action {
                    "created" => counts.created += 1,
                    "updated" => counts.updated += 1,
                    _ => counts.unchanged += 1,
                }
                counts.assets.push((r.line, id, action));
            }
            if errors.is_empty() {
                Ok(counts)
            } else {
                // Rolls the whole import back.
                Err(StoreError::InvalidArgument(
                    "the register has records that cannot be applied".into(),
                ))
            }
        });
        match outcome {
            Ok(counts) => Ok(Ok(counts)),
            Err(StoreError::InvalidArgument(_)) if !errors.is_empty() => Ok(Err(errors)),
            Err(e) => Err(e),
        }
    }

    /// Records what an asset's own report says about it: [`Db::update_asset_facts`]'s
    /// name, hostname and OS, plus the OS pretty name, the server software,
    /// the addresses and a cloud instance id the host exposes. A name given
    /// in a register stays (people chose it).
    pub fn update_inventory_facts(
        &self,
        asset: AssetId,
        facts: &AssetUpsert,
        inv: &Inventory,
    ) -> Result<()> {
        let middleware = json(&middleware_of(inv), "asset middleware")?;
        let HostFacts { ips, instance } = host_facts(inv)?;
        self.tx("update inventory facts", Mode::Write, |tx| {
            let n = tx.exec(
                "UPDATE assets SET name = CASE WHEN source = 'register' THEN name ELSE ? END, \
                 hostname = ?, os_id = ?, os_release = ?, os_pretty = ?, middleware = ?, \
                 ip_addresses = COALESCE(?, ip_addresses), \
                 instance_id = COALESCE(instance_id, ?), updated_at = ? WHERE id = ?",
                p![
                    &facts.name,
                    facts.hostname.clone(),
                    facts.os_id.clone(),
                    facts.os_release.clone(),
                    inv.os.as_ref().and_then(|o| o.pretty_name.clone()),
                    middleware.clone(),
                    ips.clone(),
                    instance.clone(),
                    facts.seen_at.unix_ms(),
                    asset.0,
                ],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound {
                    what: asset.to_string(),
                });
            }
            Ok(())
        })
    }

    /// Records the server software found in the asset's inventory (the
    /// evaluation sets it: the ingest fast path does not read packages).
    pub fn set_asset_middleware(&self, asset: AssetId, middleware: &[Middleware]) -> Result<()> {
        let v = json(&middleware, "asset middleware")?;
        self.tx("set asset middleware", Mode::Write, |tx| {
            tx.exec(
                "UPDATE assets SET middleware = ? WHERE id = ?",
                p![v.clone(), asset.0],
            )?;
            Ok(())
        })
    }

    /// Records what the latest evaluation could not check about the
    /// asset's packages (its `dropped-record` warnings).
    pub fn set_asset_scan_warnings(
        &self,
        asset: AssetId,
        warnings: &[kensa_model::Warning],
    ) -> Result<()> {
        let v = (!warnings.is_empty())
            .then(|| json(&warnings, "asset scan warnings"))
            .transpose()?;
        self.tx("set asset scan warnings", Mode::Write, |tx| {
            tx.exec(
                "UPDATE assets SET scan_warnings = ? WHERE id = ?",
                p![v.clone(), asset.0],
            )?;
            Ok(())
        })
    }

    /// Records the asset's OS support dates (from the evaluation).
    pub fn set_asset_eol(&self, asset: AssetId, eol: Option<&kensa_model::OsEol>) -> Result<()> {
        let v = eol.map(|e| json(e, "asset end of life")).transpose()?;
        self.tx("set asset end of life", Mode::Write, |tx| {
            tx.exec(
                "UPDATE assets SET eol = ?, os_eol = ? WHERE id = ?",
                p![v.clone(), eol.and_then(|e| e.eol.clone()), asset.0],
            )?;
            Ok(())
        })
    }

    /// The assets that have an agent whose credential is not revoked.
    pub fn assets_with_agents(&self) -> Result<HashSet<AssetId>> {
        self.tx("assets with agents", Mode::Read, |tx| {
            tx.query(
                "SELECT DISTINCT asset_id FROM agents WHERE revoked_at IS NULL",
                &[],
            )?
            .iter()
            .map(|r| r.i64(0).map(AssetId))
            .collect()
        })
    }

    /// An agent enrolling as `hostname` takes over the registered asset of
    /// that hostname or name (case-insensitive) that nothing reports for
    /// yet (no agent, no inventory, no machine id), keeping its management
    /// items: the asset then has the agent's identity (`machine_id`). `None`
    /// when the machine id is already an asset's or no such asset exists.
    pub fn adopt_registered_asset(
        &self,
        hostname: &str,
        machine_id: &str,
        at: Timestamp,
    ) -> Result<Option<AssetId>> {
        let key = format!("host:id:{machine_id}");
        let host = hostname.to_lowercase();
        self.tx("adopt registered asset", Mode::Write, |tx| {
            if tx
                .query_opt("SELECT id FROM assets WHERE natural_key = ?", p![&key])?
                .is_some()
            {
                return Ok(None);
            }
            let lock = lock_suffix(tx);
            let Some(row) = tx.query_opt(
                &format!(
                    "SELECT id FROM assets a WHERE kind = 'host' AND machine_id IS NULL \
                     AND inventory_hash IS NULL AND (lower(hostname) = ? OR lower(name) = ?) \
                     AND NOT EXISTS (SELECT 1 FROM agents g WHERE g.asset_id = a.id) \
                     ORDER BY id LIMIT 1{lock}"
                ),
                p![&host, &host],
            )?
            else {
                return Ok(None);
            };
            let id = AssetId(row.i64(0)?);
            tx.exec(
                "UPDATE assets SET natural_key = ?, machine_id = ?, \
                 hostname = COALESCE(hostname, ?), updated_at = ? WHERE id = ?",
                p![&key, machine_id, hostname, at.unix_ms(), id.0],
            )?;
            Ok(Some(id))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_calendar_dates() {
        for ok in ["2024-02-29", "2026-12-31", "2000-02-29"] {
            assert!(valid_date(ok), "{ok}");
        }
        for bad in [
            "2023-02-29",
            "1900-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-04-31",
            "2026-4-01",
            "26-04-01",
            "2026/04/01",
            "2026-04-01T00:00",
            "",
            "２０２６-04-01",
        ] {
            assert!(!valid_date(bad), "{bad}");
        }
    }

    #[test]
    fn products_by_package_name_across_package_managers() {
        for (name, product) in [
            ("nginx", Some("nginx")),
            ("nginx-core", Some("nginx")),
            ("apache2", Some("apache-httpd")),
            ("httpd", Some("apache-httpd")),
            ("postgresql-15", Some("postgresql")),
            ("postgresql15-server", Some("postgresql")),
            ("postgresql", Some("postgresql")),
            ("postgresql-client-15", None),
            ("postgresql-common", None),
            ("mariadb-server-10.11", Some("mariadb")),
            ("openjdk-17-jre-headless", Some("openjdk")),
            ("java-17-openjdk-headless", Some("openjdk")),
            ("openjdk17-jre", Some("openjdk")),
            ("java-17-openjdk-devel", None),
            ("python3", Some("python")),
            ("python3.11", Some("python")),
            ("python39", Some("python")),
            ("python3-libs", None),
            ("python3-requests", None),
            ("php8.2-fpm", Some("php")),
            ("php82", Some("php")),
            ("php-common", None),
            ("golang-1.21-go", Some("go")),
            ("gobject-introspection", None),
            ("ruby3.1", Some("ruby")),
            ("ruby-json", None),
            ("tomcat9", Some("tomcat")),
            ("containerd.io", Some("containerd")),
            ("docker.io", Some("docker")),
            ("openssh-server", Some("openssh-server")),
            ("openssh-client", None),
            ("redis-server", Some("redis")),
            ("libc6", None),
            ("busybox", None),
        ] {
            assert_eq!(product_of(name), product, "{name}");
        }
    }
}
