//! Detection on the benchmark root (a Debian 12 root filesystem with about
//! 2,400 packages, `scripts/make-bench-root`) against a knowledge base of
//! a full Debian tracker's size (`scripts/make-bench-kb`): matching alone
//! (lookups and range evaluation), the whole scan of a collected inventory
//! (matching, enrichment, scoring, ranking), and opening the store.
//! The end-to-end command, inventory included, is timed by
//! `scripts/bench-scan`.
//!
//! `cargo bench -p kensa-detect --bench scan`
//! (`KENSA_BENCH_ROOT`, `KENSA_BENCH_KB` override the two paths.)

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use kensa_detect::{Options, match_only, scan};
use kensa_inventory::Target;
use kensa_kb::base::KnowledgeBase;

fn path(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from)
}

fn bench(c: &mut Criterion) {
    let root = path("KENSA_BENCH_ROOT", "/var/tmp/kensa-bench/root");
    let kb = path("KENSA_BENCH_KB", "/var/tmp/kensa-bench/kb");
    if !root.join("var/lib/dpkg/status").exists() || !kb.join("current").exists() {
        eprintln!(
            "no benchmark root at {} or knowledge base at {}: run scripts/make-bench-root and scripts/make-bench-kb",
            root.display(),
            kb.display()
        );
        return;
    }
    let inventory = kensa_inventory::collect(&Target::Root(root)).expect("inventory");
    let store = KnowledgeBase::open(&kb).expect("store");
    let opts = Options {
        today: Some("2026-11-30".into()),
        scanned_at: Some("2026-11-30T00:00:00Z".into()),
        ..Options::default()
    };
    let hits = match_only(&inventory, &store).expect("match");
    let report = scan(&inventory, &store, &opts).expect("scan");
    eprintln!(
        "{} packages, {} advisory rows matched, {} findings",
        inventory.packages.len(),
        hits,
        report.findings.len()
    );
    let mut g = c.benchmark_group("detect");
    g.sample_size(20);
    g.bench_function("open store", |b| {
        b.iter(|| black_box(KnowledgeBase::open(&kb).expect("store")))
    });
    g.bench_function("matching alone", |b| {
        b.iter(|| black_box(match_only(&inventory, &store).expect("match")))
    });
    g.bench_function("scan of the inventory", |b| {
        b.iter(|| black_box(scan(&inventory, &store, &opts).expect("scan")))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
