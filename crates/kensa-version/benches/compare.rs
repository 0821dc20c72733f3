//! Comparisons per second per ecosystem, on real version pairs harvested
//! from the data folder (the same corpora as the differential tests).
//!
//! `cargo bench -p kensa-version --bench compare`; criterion reports
//! throughput in elements (comparisons) per second.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kensa_testkit::{corpus, pairs};
use kensa_version::Ecosystem;

fn compare(c: &mut Criterion) {
    let mut group = c.benchmark_group("compare");
    for eco in Ecosystem::ALL {
        let valid: Vec<String> = corpus::for_ecosystem(eco.name())
            .into_iter()
            .filter(|v| eco.validate(v).is_ok())
            .collect();
        let pairs = pairs(&valid, 10_000);
        if pairs.is_empty() {
            continue;
        }
        group.throughput(Throughput::Elements(pairs.len() as u64));
        group.bench_function(eco.name(), |b| {
            b.iter(|| {
                for (x, y) in &pairs {
                    let _ = black_box(eco.compare(black_box(x), black_box(y)));
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, compare);
criterion_main!(benches);
