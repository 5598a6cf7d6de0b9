//! The interpreter on optimized IR agrees with the reference semantics within the named
//! tolerance, and multi-threaded schedules run part by part agree with the sequential
//! forward bit for bit: properties over random models (cell modules' stepped loops among
//! them), calls and pass configurations (see `common`; `PROPTEST_CASES` for longer runs).

mod common;

use common::{
    ModelCase, config, first_bit_difference, first_difference, model_case, pipeline, results,
};
use proptest::prelude::*;
use rnnc::ir::PipelineConfig;
use rnnc::{DType, Element};
use rnnc_check::Engine;
use rnnc_check::verify::tolerance;

fn check<T: Element>(case: &ModelCase, config: &PipelineConfig) -> Result<(), TestCaseError> {
    let data = case.data();
    let tol = tolerance(data.model.dtype());
    let (ref_out, ref_hn) = data
        .engine::<T>(Engine::Reference, 1)
        .map_err(|e| TestCaseError::fail(format!("reference failed: {e}")))?;
    let (out, hn) = data
        .interp::<T>(config, 1)
        .map_err(|e| TestCaseError::fail(format!("interpreter failed: {e}")))?;
    for ((name, got), (_, want)) in results(&out, &hn)
        .into_iter()
        .zip(results(&ref_out, &ref_hn))
    {
        if let Some(diff) = first_difference(got, want, tol) {
            return Err(TestCaseError::fail(format!(
                "the interpreter differs from the reference in {name}: {diff}\n{config:?}"
            )));
        }
    }
    Ok(())
}

fn run(case: &ModelCase, config: &PipelineConfig) -> Result<(), TestCaseError> {
    match case.spec.dtype {
        DType::F32 => check::<f32>(case, config),
        DType::F64 => check::<f64>(case, config),
    }
}

/// The schedule run as `parts` threads would, against the sequential forward.
fn check_parts<T: Element>(
    case: &ModelCase,
    config: &PipelineConfig,
    parts: usize,
) -> Result<(), TestCaseError> {
    let data = case.data();
    let sequential = data
        .interp::<T>(config, 1)
        .map_err(|e| TestCaseError::fail(format!("{e}")))?;
    let parallel = PipelineConfig {
        parallel: true,
        ..config.clone()
    };
    let got = data
        .interp::<T>(&parallel, parts)
        .map_err(|e| TestCaseError::fail(format!("{parts} parts: {e}")))?;
    for ((what, a), (_, b)) in results(&got.0, &got.1)
        .into_iter()
        .zip(results(&sequential.0, &sequential.1))
    {
        if let Some(diff) = first_bit_difference(a, b) {
            return Err(TestCaseError::fail(format!(
                "{parts} parts differ in {what}: {diff}\n{config:?}"
            )));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(64))]

    /// Every pass configuration, any optional pass off (`expand-tanh` and `legalize`
    /// included: the interpreter runs wide vectors and exact `tanh`).
    #[test]
    fn the_interpreter_matches_the_reference(case in model_case(), config in pipeline(false)) {
        run(&case, &config)?;
    }

    /// The multi-threaded schedule, run part by part for 1 to 5 parts, computes exactly
    /// what the sequential forward computes, and its parts never race (the interpreter
    /// checks every access of a phase against the other parts').
    #[test]
    fn schedules_equal_the_sequential_forward(
        case in model_case(),
        config in pipeline(false),
        parts in 1usize..=5,
    ) {
        match case.spec.dtype {
            DType::F32 => check_parts::<f32>(&case, &config, parts)?,
            DType::F64 => check_parts::<f64>(&case, &config, parts)?,
        }
    }

    /// A one-step call on 2 to 5 parts runs the frame instead of the schedule: it computes
    /// exactly what the sequential forward computes, without races.
    #[test]
    fn frames_equal_the_sequential_forward(
        case in model_case().prop_map(|c| ModelCase { seq_len: 1, ..c }),
        config in pipeline(false),
        parts in 2usize..=5,
    ) {
        match case.spec.dtype {
            DType::F32 => check_parts::<f32>(&case, &config, parts)?,
            DType::F64 => check_parts::<f64>(&case, &config, parts)?,
        }
    }
}
