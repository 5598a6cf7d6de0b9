//! The interpreter on optimized IR agrees with the reference semantics on random models,
//! with every pass on and with each optional pass switched off in turn.

mod common;

use common::{first_difference, random_case, seeds};
use rnnc::ir::{PassId, PipelineConfig};
use rnnc::verify::tolerance;
use rnnc::{DType, Element, Engine};

fn check<T: Element>(case: &common::RandomCase, config: &PipelineConfig, what: &str) {
    let tol = tolerance(case.model.dtype());
    let (ref_out, ref_hn) = case
        .with_args::<T, _>(|x, h0, lengths| {
            Engine::Reference.forward(1, &case.model, &case.weights, x, h0, lengths)
        })
        .unwrap_or_else(|e| panic!("reference failed: {e}\n{}", case.describe()));
    let (out, hn) = case
        .with_args::<T, _>(|x, h0, lengths| {
            rnnc::interp_forward(&case.model, config, &case.weights, x, h0, lengths)
        })
        .unwrap_or_else(|e| panic!("interp ({what}) failed: {e}\n{}", case.describe()));
    for (name, got, want) in [("output", &out, &ref_out), ("h_n", &hn, &ref_hn)] {
        if let Some(diff) = first_difference(got, want, tol) {
            panic!(
                "interp ({what}) differs from the reference in {name}: {diff}\n{}",
                case.describe()
            );
        }
    }
}

fn run(case: &common::RandomCase, config: &PipelineConfig, what: &str) {
    match case.model.dtype() {
        DType::F32 => check::<f32>(case, config, what),
        DType::F64 => check::<f64>(case, config, what),
    }
}

#[test]
fn full_pipeline_matches_the_reference() {
    for seed in seeds(0, 48) {
        run(
            &random_case(seed, 70),
            &PipelineConfig::default(),
            "all passes",
        );
    }
}

#[test]
fn each_pass_off_matches_the_reference() {
    for pass in PassId::OPTIONAL {
        let config = PipelineConfig {
            disabled: vec![pass],
            ..PipelineConfig::default()
        };
        for seed in seeds(1000 + 100 * pass as u64, 12) {
            run(&random_case(seed, 70), &config, &format!("without {pass}"));
        }
    }
}

#[test]
fn unroll_factors_and_block_shapes_match_the_reference() {
    // (time factor, full unroll limit, inner factor, panel vectors, block)
    let configs = [
        (1, 0, 1, 8, None),
        (3, 64, 2, 8, None),
        (4, 8, 3, 2, Some((1, 1))),
        (2, 32, 4, 4, Some((2, 3))),
        (2, 16, 8, 8, Some((4, 2))),
        (8, 32, 5, 1, Some((1, 6))),
    ];
    for (i, (time_factor, full_max, inner_factor, panel_vectors, block)) in
        configs.into_iter().enumerate()
    {
        let config = PipelineConfig {
            unroll: rnnc::ir::passes::unroll::UnrollConfig {
                time_factor,
                full_max,
                inner_factor,
            },
            panel_vectors,
            block,
            ..PipelineConfig::default()
        };
        for seed in seeds(5000 + 100 * i as u64, 8) {
            run(&random_case(seed, 70), &config, &format!("{config:?}"));
        }
    }
}

/// The multi-threaded schedule, run part by part for 1 to 5 parts, computes exactly what
/// the sequential forward computes, bit for bit, and its parts never race (the interpreter
/// checks every access of a phase against the other parts').
#[test]
fn parallel_schedules_equal_the_sequential_forward() {
    fn check<T: Element>(case: &common::RandomCase, config: &PipelineConfig) {
        let sequential = case
            .with_args::<T, _>(|x, h0, lengths| {
                rnnc::interp_forward(&case.model, config, &case.weights, x, h0, lengths)
            })
            .unwrap();
        let parallel = PipelineConfig {
            parallel: true,
            ..config.clone()
        };
        for parts in 1..=5 {
            let got = case
                .with_args::<T, _>(|x, h0, lengths| {
                    rnnc::interp_forward_parts(
                        &case.model,
                        &parallel,
                        parts,
                        &case.weights,
                        x,
                        h0,
                        lengths,
                    )
                })
                .unwrap_or_else(|e| panic!("{e}\n{}", case.describe()));
            for (what, a, b) in [
                ("output", &got.0, &sequential.0),
                ("h_n", &got.1, &sequential.1),
            ] {
                if let Some(diff) = common::first_bit_difference(a, b) {
                    panic!(
                        "{parts} parts differ in {what}: {diff}\n{}",
                        case.describe()
                    );
                }
            }
        }
    }
    let configs = [
        PipelineConfig::default(),
        // Torch-layout kernels with the epilogue fused into the recurrence.
        PipelineConfig::with_changes(&[PassId::PackWeights], &[PassId::FuseEpilogue]),
        PipelineConfig::with_changes(&[], &[PassId::FuseEpilogue]),
        PipelineConfig {
            panel_vectors: 1,
            block: Some((2, 3)),
            ..PipelineConfig::default()
        },
    ];
    for (i, seed) in seeds(9000, 48).into_iter().enumerate() {
        let config = &configs[i % configs.len()];
        let case = random_case(seed, 70);
        match case.model.dtype() {
            DType::F32 => check::<f32>(&case, config),
            DType::F64 => check::<f64>(&case, config),
        }
    }
}
