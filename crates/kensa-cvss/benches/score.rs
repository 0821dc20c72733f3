//! Vectors parsed and scored per second, per version, over a fixed set of
//! realistic vectors (base, temporal and environmental metrics).
//!
//! `cargo bench -p kensa-cvss --bench score`; criterion reports throughput
//! in elements (vectors) per second.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kensa_cvss::Cvss;

const VECTORS: &[(&str, &[&str])] = &[
    (
        "v2",
        &[
            "AV:N/AC:L/Au:N/C:P/I:P/A:P",
            "AV:N/AC:M/Au:N/C:N/I:P/A:N/E:F/RL:OF/RC:C",
            "AV:L/AC:H/Au:S/C:C/I:C/A:C/E:POC/RL:TF/RC:UR/CDP:MH/TD:H/CR:H/IR:L/AR:M",
        ],
    ),
    (
        "v3.0",
        &[
            "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.0/AV:L/AC:H/PR:L/UI:R/S:C/C:L/I:H/A:N/E:P/RL:T/RC:R/CR:H/MS:C/MC:H",
        ],
    ),
    (
        "v3.1",
        &[
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N",
            "CVSS:3.1/AV:A/AC:H/PR:H/UI:R/S:C/C:H/I:L/A:L/E:U/RL:W/RC:U/CR:L/IR:H/AR:M/MAV:N/MPR:L/MS:C/MA:H",
        ],
    ),
    (
        "v4.0",
        &[
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            "CVSS:4.0/AV:L/AC:H/AT:P/PR:L/UI:A/VC:L/VI:H/VA:N/SC:H/SI:L/SA:N/E:P",
            "CVSS:4.0/AV:A/AC:L/AT:N/PR:H/UI:P/VC:H/VI:L/VA:L/SC:L/SI:H/SA:H/E:U/CR:M/IR:L/AR:H/MAV:N/MSI:S/MSA:S/S:P/AU:Y/U:Red",
        ],
    ),
];

fn score(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse_and_score");
    for (name, vectors) in VECTORS {
        group.throughput(Throughput::Elements(vectors.len() as u64));
        group.bench_function(*name, |b| {
            b.iter(|| {
                for v in *vectors {
                    if let Ok(cvss) = black_box(v).parse::<Cvss>() {
                        black_box((
                            cvss.base_score(),
                            cvss.temporal_score(),
                            cvss.environmental_score(),
                        ));
                    }
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, score);
criterion_main!(benches);
