//! `kensa bench`: load generators for measuring a server on this machine
//! (docs/operations.md). They only talk to loopback addresses, and every
//! run is bounded in clients, requests and time and stops by itself.
//!
//! - `bench populate`: enrol N agents and send each an inventory, to build
//!   a realistic fleet to measure against.
//! - `bench load`: C clients request the given paths for D seconds; the
//!   latency percentiles, throughput and answers by status.
//! - `bench ingest`: P agents upload one large inventory each at once.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kensa_inventory::Inventory;
use serde_json::{Value, json};

/// The most clients and the longest run a benchmark accepts: enough to
/// overload a server, never enough to run away.
const MAX_CLIENTS: usize = 1000;
const MAX_SECONDS: u64 = 600;

pub struct Target {
    pub server: String,
    pub ca: PathBuf,
    pub token: String,
}

fn client(t: &Target, clients: usize) -> Result<ureq::Agent, String> {
    loopback_only(&t.server)?;
    let tls = kensa_agent::tls::client_config(&kensa_agent::CaSource::Pinned(t.ca.clone()))
        .map_err(|e| e.to_string())?;
    Ok(ureq::AgentBuilder::new()
        .tls_config(tls)
        .max_idle_connections(clients.max(1))
        .max_idle_connections_per_host(clients.max(1))
        .timeout(Duration::from_secs(120))
        .build())
}

/// Refuse any server that is not on this machine: a load generator aimed
/// elsewhere is an attack, not a benchmark.
fn loopback_only(server: &str) -> Result<(), String> {
    let url = url::Url::parse(server).map_err(|e| format!("{server}: {e}"))?;
    let ok = match url.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{server}: benchmarks only run against loopback (127.0.0.0/8, ::1, localhost)"
        ))
    }
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("kensa bench: {e}");
    ExitCode::from(2)
}

fn status_error(e: ureq::Error) -> String {
    match e {
        ureq::Error::Status(code, r) => {
            format!("HTTP {code}: {}", r.into_string().unwrap_or_default())
        }
        e => e.to_string(),
    }
}

fn json_of(r: ureq::Response) -> Result<Value, String> {
    let text = r.into_string().map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| format!("unexpected answer: {e}"))
}

/// Enrols one agent: its token.
fn enrol(agent: &ureq::Agent, t: &Target, name: &str) -> Result<String, String> {
    let base = t.server.trim_end_matches('/');
    let r: Value = agent
        .post(&format!("{base}/api/v1/enrollment-tokens"))
        .set("Authorization", &format!("Bearer {}", t.token))
        .set("Content-Type", "application/json")
        .send_string("{}")
        .map_err(status_error)
        .and_then(json_of)?;
    let enrolment = r["token"]
        .as_str()
        .ok_or("no enrolment token in the answer")?;
    let r: Value = agent
        .post(&format!("{base}/api/v1/agents/enroll"))
        .set("Content-Type", "application/json")
        .send_string(
            &json!({
                "enrollment_token": enrolment,
                "hostname": name,
                "machine_id": machine_id(name),
                "agent_version": env!("CARGO_PKG_VERSION"),
            })
            .to_string(),
        )
        .map_err(status_error)
        .and_then(json_of)?;
    Ok(r["token"]
        .as_str()
        .ok_or("no agent token in the answer")?
        .to_owned())
}

fn machine_id(name: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    name.hash(&mut h);
    format!("{:016x}{:016x}", h.finish(), h.finish().rotate_left(17))
}

/// PUTs an inventory as an agent does (canonical bytes, gzip): the status.
fn put_inventory(
    agent: &ureq::Agent,
    t: &Target,
    token: &str,
    inv: &Inventory,
) -> Result<u16, String> {
    let bytes = inv.content_bytes();
    let hash = kensa_inventory::model::content_hash_of(&bytes);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&bytes).map_err(|e| e.to_string())?;
    let body = gz.finish().map_err(|e| e.to_string())?;
    let url = format!(
        "{}/api/v1/agent/inventory/{}",
        t.server.trim_end_matches('/'),
        crate::findings::enc(&hash)
    );
    match agent
        .put(&url)
        .set("Authorization", &format!("Bearer {token}"))
        .set("Content-Type", "application/json")
        .set("Content-Encoding", "gzip")
        .send_bytes(&body)
    {
        Ok(r) => Ok(r.status()),
        Err(ureq::Error::Status(code, _)) => Ok(code),
        Err(e) => Err(e.to_string()),
    }
}

fn read_inventory(file: &Path) -> Result<Inventory, String> {
    let body = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    serde_json::from_slice(&body).map_err(|e| {
        format!(
            "{}: not a Kensa inventory document (line {}, column {}): {e}",
            file.display(),
            e.line(),
            e.column()
        )
    })
}

/// `kensa bench populate`: `assets` agents, each reporting `inventory`
/// under its own name (`bench-0001`…), so that each is its own asset.
pub fn populate(t: &Target, assets: usize, inventory: &Path) -> ExitCode {
    let run = || -> Result<(), String> {
        if assets > 100_000 {
            return Err("at most 100000 assets".into());
        }
        let inv = read_inventory(inventory)?;
        let agent = client(t, 4)?;
        let started = Instant::now();
        for i in 0..assets {
            let name = format!("bench-{i:04}");
            let token = enrol(&agent, t, &name)?;
            let mut mine = inv.clone();
            mine.host.hostname = Some(name.clone());
            mine.host.machine_id = Some(machine_id(&name));
            match put_inventory(&agent, t, &token, &mine)? {
                202 => {}
                s => return Err(format!("{name}: inventory answered HTTP {s}")),
            }
        }
        println!(
            "populated {assets} assets in {:.1} s (evaluations continue on the server)",
            started.elapsed().as_secs_f64()
        );
        Ok(())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

/// `kensa bench ingest`: `parallel` agents each upload an inventory of
/// `packages` synthetic packages at the same moment: each answer's status
/// and time.
pub fn ingest(t: &Target, packages: usize, parallel: usize) -> ExitCode {
    let run = || -> Result<(), String> {
        if parallel == 0 || parallel > 64 {
            return Err("--parallel: 1 to 64".into());
        }
        if packages > 10_000_000 {
            return Err("--packages: at most 10000000".into());
        }
        let agent = client(t, parallel)?;
        let mut jobs = Vec::new();
        for i in 0..parallel {
            let name = format!("bench-ingest-{}-{i}", std::process::id());
            let token = enrol(&agent, t, &name)?;
            let mut inv = Inventory {
                schema_version: kensa_inventory::model::SCHEMA_VERSION,
                ..Default::default()
            };
            inv.host.hostname = Some(name.clone());
            inv.packages = (0..packages)
                .map(|k| kensa_inventory::Package {
                    kind: Some(kensa_inventory::model::PackageKind::Npm),
                    name: format!("p{i}-{k}"),
                    version: "1.0.0".into(),
                    purl: format!("pkg:npm/p{i}-{k}@1.0.0"),
                    path: format!("app/node_modules/p{i}-{k}/package.json"),
                    ..Default::default()
                })
                .collect();
            jobs.push((name, token, inv));
        }
        let barrier = Arc::new(std::sync::Barrier::new(parallel));
        let handles: Vec<_> = jobs
            .into_iter()
            .map(|(name, token, inv)| {
                let (agent, barrier) = (agent.clone(), Arc::clone(&barrier));
                let t = Target {
                    server: t.server.clone(),
                    ca: t.ca.clone(),
                    token: t.token.clone(),
                };
                std::thread::spawn(move || {
                    barrier.wait();
                    let started = Instant::now();
                    let r = put_inventory(&agent, &t, &token, &inv);
                    (name, r, started.elapsed())
                })
            })
            .collect();
        for h in handles {
            let (name, r, took) = h.join().map_err(|_| "an upload thread panicked")?;
            match r {
                Ok(s) => println!("{name}: HTTP {s} in {:.2} s", took.as_secs_f64()),
                Err(e) => println!("{name}: {e}"),
            }
        }
        Ok(())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    statuses: BTreeMap<String, u64>,
    /// 503 answers without a `Retry-After`.
    no_retry_after: u64,
}

/// Logs in through the API: the session's `Cookie` value.
fn login(
    agent: &ureq::Agent,
    t: &Target,
    user: &str,
    password_file: &Path,
) -> Result<String, String> {
    let password = std::fs::read_to_string(password_file)
        .map_err(|e| format!("{}: {e}", password_file.display()))?;
    let r = agent
        .post(&format!(
            "{}/api/v1/session",
            t.server.trim_end_matches('/')
        ))
        .set("Content-Type", "application/json")
        .send_string(&json!({ "name": user, "password": password.trim_end() }).to_string())
        .map_err(status_error)?;
    r.header("set-cookie")
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
        .ok_or_else(|| "the login set no cookie".to_owned())
}

/// `kensa bench load`: `clients` clients, each requesting `paths` in turn
/// (a new request as soon as the last one is answered) for `seconds`, with
/// the API token, or as a console user logged in with `login` (user,
/// password file): the console's pages take only a session.
pub fn load(
    t: &Target,
    paths: &[String],
    clients: usize,
    seconds: u64,
    login_as: Option<(&str, &Path)>,
) -> ExitCode {
    let run = || -> Result<(), String> {
        if clients == 0 || clients > MAX_CLIENTS {
            return Err(format!("--clients: 1 to {MAX_CLIENTS}"));
        }
        if seconds == 0 || seconds > MAX_SECONDS {
            return Err(format!("--seconds: 1 to {MAX_SECONDS}"));
        }
        if paths.is_empty() {
            return Err("at least one --path".into());
        }
        let agent = client(t, clients)?;
        let auth = match login_as {
            Some((user, file)) => ("Cookie", login(&agent, t, user, file)?),
            None => ("Authorization", format!("Bearer {}", t.token)),
        };
        let base = t.server.trim_end_matches('/').to_owned();
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let started = Instant::now();
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                let agent = agent.clone();
                let (base, auth) = (base.clone(), auth.clone());
                let paths = paths.to_vec();
                std::thread::spawn(move || {
                    let mut tallies: Vec<Tally> = paths.iter().map(|_| Tally::default()).collect();
                    let mut k = c % paths.len();
                    while Instant::now() < deadline {
                        let at = Instant::now();
                        let r = agent
                            .get(&format!("{base}{}", paths[k]))
                            .set(auth.0, &auth.1)
                            .call();
                        let (key, retry_after) = match r {
                            Ok(r) => {
                                // The whole body, as a browser reads it.
                                let _ = std::io::copy(&mut r.into_reader(), &mut std::io::sink());
                                ("200".to_owned(), true)
                            }
                            Err(ureq::Error::Status(code, r)) => {
                                let ra = r.header("retry-after").is_some();
                                (code.to_string(), ra)
                            }
                            Err(e) => (format!("transport ({})", e.kind()), true),
                        };
                        let tally = &mut tallies[k];
                        tally.latencies.push(at.elapsed());
                        if key == "503" && !retry_after {
                            tally.no_retry_after += 1;
                        }
                        *tally.statuses.entry(key).or_default() += 1;
                        k = (k + 1) % paths.len();
                    }
                    tallies
                })
            })
            .collect();
        let mut totals: Vec<Tally> = paths.iter().map(|_| Tally::default()).collect();
        for h in handles {
            let tallies = h.join().map_err(|_| "a client thread panicked")?;
            for (total, t) in totals.iter_mut().zip(tallies) {
                total.latencies.extend(t.latencies);
                total.no_retry_after += t.no_retry_after;
                for (k, n) in t.statuses {
                    *total.statuses.entry(k).or_default() += n;
                }
            }
        }
        let elapsed = started.elapsed().as_secs_f64();
        for (path, mut t) in paths.iter().zip(totals) {
            t.latencies.sort_unstable();
            let q = |p: f64| {
                let i = ((t.latencies.len() as f64 - 1.0) * p).round() as usize;
                t.latencies.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
            };
            let statuses: Vec<String> = t
                .statuses
                .iter()
                .map(|(k, n)| format!("{k}: {n}"))
                .collect();
            println!(
                "{path}: {clients} clients, {seconds} s: {} requests, {:.1}/s; latency ms p50 {:.0} p90 {:.0} p99 {:.0} max {:.0}; {}{}",
                t.latencies.len(),
                t.latencies.len() as f64 / elapsed,
                q(0.5),
                q(0.9),
                q(0.99),
                q(1.0),
                statuses.join(", "),
                if t.no_retry_after > 0 {
                    format!("; {} × 503 WITHOUT Retry-After", t.no_retry_after)
                } else {
                    String::new()
                }
            );
        }
        Ok(())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_loopback_servers_are_benchmarked() {
        for ok in [
            "https://127.0.0.1:8443",
            "https://127.3.2.1",
            "https://[::1]:8443",
            "https://localhost:1",
        ] {
            assert!(super::loopback_only(ok).is_ok(), "{ok}");
        }
        for bad in [
            "https://10.0.0.1:8443",
            "https://192.168.1.1",
            "https://example.com",
            "https://[2001:db8::1]",
            "not a url",
        ] {
            assert!(super::loopback_only(bad).is_err(), "{bad}");
        }
    }
}
