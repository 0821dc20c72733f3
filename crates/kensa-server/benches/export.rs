//! CSV (and JSON) export of a million stored findings: wall time, rows per
//! second, and resident memory sampled every 10,000 rows, so that "flat"
//! is measured, not assumed.
//!
//! ```text
//! cargo bench -p kensa-server --bench export
//! KENSA_BENCH_DB=/path/to/findings.db …   # another SQLite fleet database
//! KENSA_BENCH_FORMATS=records,csv,json …  # also the reader alone, and JSON
//! ```
//!
//! The database is the one `cargo bench -p kensa-store --bench query`
//! builds (`/var/tmp/kensa-bench/findings-1000000.db`, 1,000,000
//! findings on 10,000 assets); it is copied to a temporary directory
//! first, since opening a database may write to it. The export goes to a
//! file in that directory, as a job's would.

use std::time::Instant;

use kensa_server::export::{Format, write_export};
use kensa_store::{Backend, Db, Filter, Sort};

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// This process's CPU time (user + system), in seconds.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name (which may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12
    // after the state; the kernel's clock tick is 100 Hz on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn main() {
    let src = std::env::var("KENSA_BENCH_DB")
        .unwrap_or_else(|_| "/var/tmp/kensa-bench/findings-1000000.db".into());
    if !std::path::Path::new(&src).exists() {
        eprintln!("{src} is missing: `cargo bench -p kensa-store --bench query` builds it");
        return;
    }
    let dir = tempfile::tempdir_in("/var/tmp").expect("temp dir");
    let db_path = dir.path().join("findings.db");
    let t = Instant::now();
    std::fs::copy(&src, &db_path).expect("copy the database");
    eprintln!("copied {src} in {:.1} s", t.elapsed().as_secs_f64());
    let db = Db::open(&Backend::Sqlite(db_path)).expect("open");
    let formats = std::env::var("KENSA_BENCH_FORMATS").unwrap_or_else(|_| "csv".into());
    for name in formats.split(',') {
        if name == "records" {
            // The store's streaming reader alone: pages read and findings
            // decoded, nothing written.
            let t = Instant::now();
            let cpu = cpu_secs();
            let n = db
                .export_findings(&Filter::default(), Sort::default(), |r| {
                    std::hint::black_box(&r);
                    Ok(())
                })
                .expect("export");
            println!(
                "store reader alone: {n} records in {:.2} s (CPU {:.2} s; load average {})",
                t.elapsed().as_secs_f64(),
                cpu_secs() - cpu,
                load()
            );
            continue;
        }
        let format = match name {
            "json" => Format::Json,
            _ => Format::Csv,
        };
        let out_path = dir.path().join(format!("export.{name}"));
        let out = std::fs::File::create(&out_path).expect("output");
        let rss_start = status_kb("VmRSS:");
        let mut samples: Vec<(u64, u64)> = Vec::new();
        let t = Instant::now();
        let cpu = cpu_secs();
        let w = write_export(
            &db,
            &Filter::default(),
            Sort::default(),
            format,
            out,
            |rows| {
                samples.push((rows, status_kb("VmRSS:")));
                Ok(())
            },
        )
        .expect("export");
        let secs = t.elapsed().as_secs_f64();
        let cpu = cpu_secs() - cpu;
        let at = |n: u64| samples.iter().find(|(r, _)| *r >= n).map_or(0, |(_, k)| *k);
        let max = samples.iter().map(|(_, k)| *k).max().unwrap_or(0);
        println!(
            "export {name}: {} rows, {:.1} MB in {secs:.2} s ({:.0} rows/s; CPU {cpu:.2} s; load average {})",
            w.rows,
            w.bytes as f64 / 1e6,
            w.rows as f64 / secs,
            load()
        );
        println!(
            "  RSS: {:.1} MB before; {:.1} MB at 100k rows, {:.1} MB at 500k, {:.1} MB at the end, {:.1} MB max; VmHWM {:.1} MB",
            rss_start as f64 / 1024.0,
            at(100_000) as f64 / 1024.0,
            at(500_000) as f64 / 1024.0,
            samples.last().map_or(0, |(_, k)| *k) as f64 / 1024.0,
            max as f64 / 1024.0,
            status_kb("VmHWM:") as f64 / 1024.0
        );
        std::fs::remove_file(&out_path).expect("remove the export");
    }
}
