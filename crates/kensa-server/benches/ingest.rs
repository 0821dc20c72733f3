//! Inventory ingest under load: the real server on loopback (TLS, SQLite
//! unless `KENSA_BENCH_PG` names a PostgreSQL database), N enrolled agents,
//! and a load generator sending real-shaped inventories (a Debian root's,
//! each agent's a little different so that every report is new and queues
//! an evaluation) from several threads, hash first as agents do.
//!
//! `cargo bench -p kensa-server --bench ingest`
//! (`KENSA_BENCH_ROOT`: the root to inventory, default the benchmark root
//! of `scripts/make-bench-root`, else the cached bookworm debootstrap;
//! `KENSA_BENCH_REPORTS`, `KENSA_BENCH_THREADS`; `KENSA_BENCH_LEGACY=1`:
//! bodies as older agents sent them, which take the full parse.)

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kensa_inventory::Target;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes --bench; nothing else is understood.
    let root = std::env::var_os("KENSA_BENCH_ROOT")
        .map(PathBuf::from)
        .or_else(|| {
            let p = PathBuf::from("/var/tmp/kensa-bench/root");
            p.join("var/lib/dpkg/status").exists().then_some(p)
        })
        .unwrap_or_else(|| kensa_testkit::cache_dir().join("roots/bookworm"));
    let reports = env_usize("KENSA_BENCH_REPORTS", 2000);
    let threads = env_usize("KENSA_BENCH_THREADS", 8);
    let agents = env_usize("KENSA_BENCH_AGENTS", 200);
    // The whole document, `collection` block included, as agents sent it
    // before they sent the canonical bytes: the server's full parse.
    let legacy = std::env::var_os("KENSA_BENCH_LEGACY").is_some();

    let base = kensa_inventory::collect(&Target::Root(root.clone())).expect("inventory");
    eprintln!(
        "inventory of {}: {} packages",
        root.display(),
        base.packages.len()
    );
    let kb = tempfile::tempdir().expect("temp dir");
    {
        let mut b = kensa_kb::base::KnowledgeBaseBuilder::create(kb.path()).expect("builder");
        kensa_kb::mirror::import(&kensa_testkit::data_dir(), &mut b).expect("import");
        b.finish().expect("finish");
    }
    let data = tempfile::tempdir().expect("temp dir");
    let server = kensa_server::start(kensa_server::Config {
        data_dir: data.path().join("server"),
        listen: "127.0.0.1:0".parse().expect("addr"),
        database: std::env::var("KENSA_BENCH_PG").ok(),
        kb_dir: kb.path().to_owned(),
        tls_names: vec!["127.0.0.1".into()],
        workers: 2,
        exports: Default::default(),
        agentless: Default::default(),
        capacity: Default::default(),
        agent_dist: None,
        notify: Default::default(),
        observe: Default::default(),
        clock: Default::default(),
    })
    .expect("server");
    let url = format!("https://127.0.0.1:{}", server.addr.port());
    let tls =
        kensa_agent::tls::client_config(&kensa_agent::CaSource::Pinned(server.ca_cert.clone()))
            .expect("tls");
    let client = ureq::AgentBuilder::new()
        .tls_config(tls)
        .timeout(Duration::from_secs(60))
        .build();
    let admin = server.admin_token.clone().expect("admin");

    // Enrol the agents.
    let mut tokens = Vec::new();
    for i in 0..agents {
        let et: serde_json::Value = client
            .post(&format!("{url}/api/v1/enrollment-tokens"))
            .set("Authorization", &format!("Bearer {admin}"))
            .send_string("{}")
            .expect("enrollment token")
            .into_json_value();
        let body = serde_json::json!({
            "enrollment_token": et["token"],
            "hostname": format!("bench-{i}"),
            "machine_id": format!("{i:032x}"),
        });
        let r: serde_json::Value = client
            .post(&format!("{url}/api/v1/agents/enroll"))
            .send_string(&body.to_string())
            .expect("enroll")
            .into_json_value();
        tokens.push(r["token"].as_str().expect("token").to_owned());
    }

    // The reports: each one the base inventory with one package version
    // changed, gzipped as agents send them (`kensa_agent::codec::encode`).
    // Prepared before timing.
    let bodies: Vec<(usize, String, Vec<u8>)> = (0..reports)
        .map(|n| {
            let mut inv = base.clone();
            inv.host.hostname = Some(format!("bench-{}", n % agents));
            if let Some(p) = inv.packages.get_mut(n % base.packages.len().max(1)) {
                p.version = format!("{}+bench{n}", p.version);
            }
            let body = if legacy {
                let json = serde_json::to_vec(&inv).expect("json");
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                gz.write_all(&json).expect("gzip");
                gz.finish().expect("gzip")
            } else {
                kensa_agent::codec::encode(&inv).expect("gzip")
            };
            (n % agents, inv.content_hash(), body)
        })
        .collect();
    let raw = serde_json::to_vec(&base)
        .map(|v| v.len())
        .unwrap_or_default();
    eprintln!(
        "{reports} reports from {agents} agents, {threads} threads{}; {} KB JSON, {} KB gzipped each",
        if legacy { " (legacy bodies)" } else { "" },
        raw / 1024,
        bodies.first().map_or(0, |b| b.2.len() / 1024)
    );

    let latencies = Mutex::new(Vec::with_capacity(reports));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((agent, hash, body)) = bodies.get(i) else {
                        break;
                    };
                    let t = Instant::now();
                    let enc = hash.replace(':', "%3A");
                    let auth = format!("Bearer {}", tokens[*agent]);
                    let head = client
                        .head(&format!("{url}/api/v1/agent/inventory/{enc}"))
                        .set("Authorization", &auth)
                        .call();
                    let known = matches!(head, Ok(ref r) if r.status() == 204);
                    if !known {
                        client
                            .put(&format!("{url}/api/v1/agent/inventory/{enc}"))
                            .set("Authorization", &auth)
                            .set("Content-Type", "application/json")
                            .set("Content-Encoding", "gzip")
                            .send_bytes(body)
                            .expect("report accepted");
                    }
                    let d = t.elapsed();
                    latencies.lock().expect("lock").push(d);
                }
            });
        }
    });
    let elapsed = started.elapsed();
    let mut l = latencies.into_inner().expect("lock");
    l.sort();
    let pct = |p: f64| l[((l.len() as f64 * p) as usize).min(l.len() - 1)];
    println!(
        "ingest: {reports} reports in {:.2} s = {:.0} reports/s; latency p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        elapsed.as_secs_f64(),
        reports as f64 / elapsed.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.95).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        l[l.len() - 1].as_secs_f64() * 1e3,
    );
    server.stop();
}

trait IntoJson {
    fn into_json_value(self) -> serde_json::Value;
}

impl IntoJson for ureq::Response {
    fn into_json_value(self) -> serde_json::Value {
        serde_json::from_str(&self.into_string().unwrap_or_default()).unwrap_or_default()
    }
}
