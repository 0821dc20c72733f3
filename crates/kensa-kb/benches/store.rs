//! The knowledge base store on the whole mirror in the data folder: import
//! (all feeds, building the store), open, and lookups per second by
//! (namespace, package), for keys that exist and keys that do not (most
//! installed packages have no advisory).
//!
//! `cargo bench -p kensa-kb --bench store`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kensa_kb::base::{KnowledgeBase, KnowledgeBaseBuilder};
use kensa_kb::model::{Record, Sink};

/// Collects the (namespace, package) keys while passing records on.
struct Keys<'a> {
    inner: &'a mut KnowledgeBaseBuilder,
    keys: Vec<(String, String)>,
}

impl Sink for Keys<'_> {
    fn record(&mut self, record: Record) {
        if let Record::Advisory(a) = &record {
            for x in &a.affected {
                self.keys.push((x.namespace.clone(), x.package.clone()));
            }
        }
        self.inner.record(record);
    }
}

fn store(c: &mut Criterion) {
    let mirror = kensa_testkit::data_dir();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut builder = KnowledgeBaseBuilder::create(dir.path()).expect("builder");
    let mut sink = Keys {
        inner: &mut builder,
        keys: Vec::new(),
    };
    kensa_kb::mirror::import(&mirror, &mut sink).expect("import");
    let mut keys = std::mem::take(&mut sink.keys);
    builder.finish().expect("finish");
    keys.sort();
    keys.dedup();
    let misses: Vec<(String, String)> = keys
        .iter()
        .map(|(ns, p)| (ns.clone(), format!("{p}-not-packaged")))
        .collect();

    let mut group = c.benchmark_group("kb");
    group.sample_size(10);
    group.bench_function("import_mirror", |b| {
        b.iter(|| {
            let d = tempfile::tempdir().expect("temp dir");
            let mut builder = KnowledgeBaseBuilder::create(d.path()).expect("builder");
            kensa_kb::mirror::import(&mirror, &mut builder).expect("import");
            builder.finish().expect("finish")
        })
    });
    group.sample_size(50);
    group.bench_function("open", |b| {
        b.iter(|| KnowledgeBase::open(dir.path()).expect("open"))
    });
    let s = KnowledgeBase::open(dir.path()).expect("open");
    group.sample_size(50);
    group.throughput(Throughput::Elements(keys.len() as u64));
    group.bench_function("lookup_hit", |b| {
        b.iter(|| {
            let mut n = 0;
            for (ns, p) in &keys {
                n += black_box(s.lookup_raw(ns, p).map_or(0, |r| r.iter().count()));
            }
            n
        })
    });
    group.throughput(Throughput::Elements(misses.len() as u64));
    group.bench_function("lookup_miss", |b| {
        b.iter(|| {
            let mut n = 0;
            for (ns, p) in &misses {
                n += black_box(s.lookup_raw(ns, p).map_or(0, |r| r.iter().count()));
            }
            n
        })
    });
    group.finish();
}

criterion_group!(benches, store);
criterion_main!(benches);
