//! Compile time: spec -> passes -> Cranelift -> executable code, for every example spec
//! and every benchmark configuration. Specializing at run time must stay cheap.

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use rnnc::{CompiledRnn, SpecFile};
use rnnc_bench::BenchConfig;

fn compile(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut models = Vec::new();
    let mut specs: Vec<_> = std::fs::read_dir(root.join("specs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    specs.sort();
    for path in specs {
        let model = SpecFile::read(&path).unwrap().validate().unwrap();
        models.push((
            format!("spec/{}", path.file_stem().unwrap().to_string_lossy()),
            model,
        ));
    }
    for config in BenchConfig::load(&root.join("benches/configs.toml")).unwrap() {
        models.push((format!("config/{}", config.name), config.model().clone()));
    }
    let mut group = c.benchmark_group("compile");
    group.sample_size(10);
    for (name, model) in &models {
        group.bench_function(name, |b| b.iter(|| CompiledRnn::new(model).unwrap()));
    }
    group.finish();
}

criterion_group!(benches, compile);
criterion_main!(benches);
