//! Server-side render time of the console's findings page (the store query
//! and the HTML, what the handler does after the session lookup) over a
//! database of 1 million findings: the one `cargo bench -p kensa-store
//! --bench query` makes. Give a copy of it, as opening migrates it:
//!
//! `cp /var/tmp/kensa-bench/findings-1000000.db /var/tmp/kensa-console-bench.db`
//! `KENSA_BENCH_DB=/var/tmp/kensa-console-bench.db cargo bench -p kensa-server --bench console`
//! (`KENSA_BENCH_PG=postgres://…` for a PostgreSQL database instead.)

use std::time::{Duration, Instant};

use kensa_server::auth::Role;
use kensa_server::console::{Lang, render_findings};
use kensa_store::{Backend, Db};

fn pct(mut v: Vec<Duration>, p: f64) -> f64 {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i].as_secs_f64() * 1000.0
}

/// The next-page address in a rendered page, if any.
fn next_page(html: &str) -> Option<String> {
    let at = html.find("id=\"next-page\" href=\"/findings?")?;
    let rest = &html[at + "id=\"next-page\" href=\"/findings?".len()..];
    let end = rest.find('"')?;
    Some(rest[..end].replace("&amp;", "&"))
}

fn main() {
    let backend = match std::env::var("KENSA_BENCH_PG") {
        Ok(url) => Backend::Postgres(url),
        Err(_) => Backend::Sqlite(
            std::env::var_os("KENSA_BENCH_DB")
                .unwrap_or_else(|| "/var/tmp/kensa-console-bench.db".into())
                .into(),
        ),
    };
    if let Backend::Sqlite(p) = &backend
        && !p.exists()
    {
        eprintln!(
            "{}: no such database (see this benchmark's documentation)",
            p.display()
        );
        return;
    }
    let db = Db::open(&backend).expect("open");
    println!("{backend}: findings page, server-side render");
    // (label, query string, pages to walk before the timed one)
    let cases: &[(&str, &str, usize)] = &[
        ("default: open, most severe first", "", 0),
        ("the same, page 20", "", 19),
        (
            "critical (quick filter), by score",
            "severity=CRITICAL&sort=score%3Adesc",
            0,
        ),
        (
            "high, package prefix openssl",
            "severity=HIGH&package=openssl",
            0,
        ),
        (
            "package prefix, by package",
            "package=lib&sort=package%3Aasc",
            0,
        ),
        (
            "KEV and fixable by EPSS",
            "q=kev%3Dtrue+fix_available%3Dtrue&sort=epss%3Adesc",
            0,
        ),
        (
            "team and tag (asset join)",
            "q=team%3Dpayments+tag%3Dpci",
            0,
        ),
        (
            "one CVE, every status",
            "q=vulnerability_id%3DCVE-2016-00001&status=",
            0,
        ),
        (
            "high scores by due date",
            "q=score%3E%3D7&sort=due%3Aasc",
            0,
        ),
        ("oldest first", "sort=first_observed%3Aasc", 0),
        ("by vulnerability id", "sort=vulnerability_id%3Aasc", 0),
        ("by asset", "sort=asset_id%3Aasc", 0),
        ("by EPSS", "sort=epss%3Adesc", 0),
        ("any status, most severe first", "status=", 0),
    ];
    let runs = 40;
    let mut all = Vec::new();
    for (label, query, depth) in cases {
        let mut times = Vec::with_capacity(runs);
        let mut bytes = 0;
        for _ in 0..runs {
            let mut q = (*query).to_owned();
            for _ in 0..*depth {
                let html =
                    render_findings(&db, "bench", Role::Analyst, Lang::En, &q).expect("render");
                q = next_page(&html).expect("a next page");
            }
            let t = Instant::now();
            let html = render_findings(&db, "bench", Role::Analyst, Lang::En, &q).expect("render");
            times.push(t.elapsed());
            bytes = html.len();
        }
        println!(
            "  {label:<40} p50 {:>7.2} ms  p95 {:>7.2} ms  ({} KB)",
            pct(times.clone(), 0.5),
            pct(times.clone(), 0.95),
            bytes / 1024
        );
        all.extend(times);
    }
    println!(
        "  {:<40} p50 {:>7.2} ms  p95 {:>7.2} ms  ({} renders)",
        "every list case together",
        pct(all.clone(), 0.5),
        pct(all.clone(), 0.95),
        all.len()
    );
    // The grouped views aggregate every finding the filter selects: not
    // the list's target, reported for what they are.
    for view in ["vulnerability", "asset", "package"] {
        let q = format!("view={view}&severity=CRITICAL");
        let mut times = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            render_findings(&db, "bench", Role::Analyst, Lang::En, &q).expect("render");
            times.push(t.elapsed());
        }
        println!(
            "  grouped by {view:<13} (critical)          p50 {:>7.2} ms  max {:>7.2} ms",
            pct(times.clone(), 0.5),
            pct(times, 1.0)
        );
    }
    // The dashboard's two statements over every finding.
    let t = Instant::now();
    let counts = db.open_counts().expect("counts");
    let counts_ms = t.elapsed().as_secs_f64() * 1000.0;
    let now = kensa_store::Timestamp::now().unix_ms();
    let ends: Vec<i64> = (0..30).map(|k| now - k * 86_400_000).collect();
    let t = Instant::now();
    db.open_trend(&ends).expect("trend");
    println!(
        "  dashboard: counts by band (adjusted and base) {counts_ms:.0} ms ({} open), 30-day trend {:.0} ms",
        counts.total,
        t.elapsed().as_secs_f64() * 1000.0
    );
}
