//! Forward calls on every benchmark configuration (`benches/configs.toml`, and the LSTM and
//! GRU ones of `benches/gated.toml`), on one and on two threads: the same compiled kernels, weights and inputs as `rnnc bench`, timed by
//! criterion. Throughput is in FLOPs (the file's formula): criterion's "elem/s" are FLOP/s.
//!
//! `cargo bench --bench forward` (all), `cargo bench --bench forward -- b1-256` (a filter).

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rnnc::CompileOptions;
use rnnc_bench::BenchConfig;
use rnnc_bench::timing::Prepared;

fn forward(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut configs = BenchConfig::load(&root.join("benches/configs.toml")).unwrap();
    configs.extend(BenchConfig::load(&root.join("benches/gated.toml")).unwrap());
    let mut group = c.benchmark_group("forward");
    group.sample_size(10);
    for config in &configs {
        group.throughput(Throughput::Elements(config.flops()));
        for threads in [1, 2] {
            let mut prepared = Prepared::new(config, &CompileOptions::default(), threads).unwrap();
            group.bench_function(format!("{}/threads={threads}", config.name), |b| {
                b.iter(|| prepared.call().unwrap())
            });
        }
    }
    group.finish();
}

criterion_group!(benches, forward);
criterion_main!(benches);
