//! Native code is bit-identical to the interpreter on the same optimized IR: on random
//! models, inputs, `h0` and lengths, and across pass configurations.
//!
//! A mismatch prints the spec, the seed, the first differing element, and where the full
//! IR was written.

mod common;

use common::{RandomCase, first_bit_difference, random_case, seeds};
use rnnc::ir::passes::unroll::UnrollConfig;
use rnnc::ir::{PassId, PipelineConfig};
use rnnc::{CompileOptions, CompiledRnn, DType, Element};

fn check<T: Element>(case: &RandomCase, options: &CompileOptions) {
    let rnn = CompiledRnn::with_options(&case.model, options)
        .unwrap_or_else(|e| panic!("compile failed: {e}\n{}", case.describe()));
    let packed = rnn.pack(&case.weights).unwrap();
    let native = case
        .with_args::<T, _>(|x, h0, lengths| rnn.forward(&packed, x, h0, lengths))
        .unwrap_or_else(|e| panic!("jit failed: {e}\n{}", case.describe()));
    let interp = case
        .with_args::<T, _>(|x, h0, lengths| {
            rnnc::interp_forward(
                &case.model,
                &options.pipeline,
                &case.weights,
                x,
                h0,
                lengths,
            )
        })
        .unwrap_or_else(|e| panic!("interp failed: {e}\n{}", case.describe()));
    for (name, got, want) in [
        ("output", &native.0, &interp.0),
        ("h_n", &native.1, &interp.1),
    ] {
        if let Some(diff) = first_bit_difference(got, want) {
            let path = std::env::temp_dir().join(format!("rnnc-mismatch-{}.ir", case.seed));
            std::fs::write(&path, rnn.ir().to_string()).unwrap();
            panic!(
                "jit differs from interp in {name}: {diff}\n{}\n{:?}\nfull IR: {}",
                case.describe(),
                options,
                path.display()
            );
        }
    }
}

fn run(case: &RandomCase, options: &CompileOptions) {
    match case.model.dtype() {
        DType::F32 => check::<f32>(case, options),
        DType::F64 => check::<f64>(case, options),
    }
}

#[test]
fn jit_equals_interp_on_random_models() {
    for seed in seeds(20_000, 200) {
        run(&random_case(seed, 70), &CompileOptions::default());
    }
}

#[test]
fn jit_equals_interp_with_each_pass_off() {
    for pass in PassId::OPTIONAL {
        if matches!(pass, PassId::ExpandTanh | PassId::Legalize) {
            continue; // native code needs both
        }
        let options = CompileOptions {
            pipeline: PipelineConfig {
                disabled: vec![pass],
                ..PipelineConfig::default()
            },
            ..CompileOptions::default()
        };
        for seed in seeds(30_000 + 100 * pass as u64, 12) {
            run(&random_case(seed, 70), &options);
        }
    }
}

#[test]
fn jit_equals_interp_across_unrolling_blocking_and_opt_levels() {
    // (time factor, full unroll limit, inner factor, panel vectors, block, opt level)
    let configs = [
        (2, 32, 1, 8, None, rnnc::codegen::OptLevel::Speed),
        (3, 8, 4, 4, Some((2, 3)), rnnc::codegen::OptLevel::Speed),
        (4, 0, 3, 2, Some((1, 1)), rnnc::codegen::OptLevel::None),
        (1, 16, 2, 8, Some((4, 2)), rnnc::codegen::OptLevel::None),
        (2, 16, 8, 1, Some((1, 6)), rnnc::codegen::OptLevel::Speed),
    ];
    for (i, (time_factor, full_max, inner_factor, panel_vectors, block, opt_level)) in
        configs.into_iter().enumerate()
    {
        let options = CompileOptions {
            pipeline: PipelineConfig {
                unroll: UnrollConfig {
                    time_factor,
                    full_max,
                    inner_factor,
                },
                panel_vectors,
                block,
                ..PipelineConfig::default()
            },
            opt_level,
            ..CompileOptions::default()
        };
        for seed in seeds(40_000 + 100 * i as u64, 12) {
            run(&random_case(seed, 70), &options);
        }
    }
}

/// Special values flow through native code as through the interpreter: NaN and
/// infinities in inputs and weights.
#[test]
fn jit_equals_interp_on_special_values() {
    for seed in seeds(50_000, 20) {
        let mut case = random_case(seed, 20);
        let n = case.input.len();
        case.input[seed as usize % n] = f64::NAN;
        case.input[(seed as usize * 7) % n] = f64::INFINITY;
        case.input[(seed as usize * 13) % n] = -1e30;
        run(&case, &CompileOptions::default());
    }
}

/// Threads split work, never the order of a reduction: every call split between 2 to 4
/// threads (however small) gives the interpreter's sequential result, call after call.
#[test]
fn jit_on_several_threads_equals_interp() {
    for threads in 2..=4 {
        let options = CompileOptions {
            threads,
            min_flops_per_thread: 0,
            ..CompileOptions::default()
        };
        for seed in seeds(60_000 + 100 * threads as u64, 16) {
            let case = random_case(seed, 70);
            for _ in 0..3 {
                run(&case, &options);
            }
        }
    }
}
