//! Native code is bit-identical to the interpreter on the same optimized IR: properties over
//! random models (cell modules' stepped loops among them), calls, pass configurations,
//! Cranelift optimization levels and thread counts (see `common` for the model space,
//! `PROPTEST_CASES` for longer runs).
//!
//! A failure shrinks to a small model and call, prints them as a spec file and a call,
//! and writes the full IR of the failing model to a file it names.

mod common;

use common::{
    CaseData, ModelCase, config, first_bit_difference, model_case, options_for, pipeline, results,
    target,
};
use proptest::prelude::*;
use rnnc::codegen::OptLevel;
use rnnc::ir::PipelineConfig;
use rnnc::{CompileOptions, CompiledRnn, DType, Element};

/// Special values to put into an input: NaN, infinities, huge and tiny numbers.
const SPECIAL: [f64; 6] = [
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    -1e30,
    1e-40,
    -0.0,
];

fn check<T: Element>(case: &CaseData, options: &CompileOptions) -> Result<(), TestCaseError> {
    let rnn = CompiledRnn::with_options(&case.model, options)
        .map_err(|e| TestCaseError::fail(format!("compile failed: {e}")))?;
    let packed = rnn.pack(&case.weights).unwrap();
    let native = case
        .native::<T>(&rnn, &packed)
        .map_err(|e| TestCaseError::fail(format!("native code failed: {e}")))?;
    // The interpreter runs the IR the native code was compiled from: at its target.
    let pipeline = PipelineConfig {
        target: rnn.ir().target,
        ..options.pipeline.clone()
    };
    let interp = case
        .interp::<T>(&pipeline, 1)
        .map_err(|e| TestCaseError::fail(format!("interpreter failed: {e}")))?;
    for ((name, got), (_, want)) in results(&native.0, &native.1)
        .into_iter()
        .zip(results(&interp.0, &interp.1))
    {
        if let Some(diff) = first_bit_difference(got, want) {
            let path = std::env::temp_dir().join(format!(
                "rnnc-mismatch-{}-{}.ir",
                std::process::id(),
                case.model.name()
            ));
            std::fs::write(&path, rnn.ir().to_string()).unwrap();
            return Err(TestCaseError::fail(format!(
                "native code differs from the interpreter in {name}: {diff}\n{options:?}\nthe full IR: {}",
                path.display()
            )));
        }
    }
    Ok(())
}

fn run(case: &ModelCase, options: &CompileOptions) -> Result<(), TestCaseError> {
    let data = case.data();
    match data.model.dtype() {
        DType::F32 => check::<f32>(&data, options),
        DType::F64 => check::<f64>(&data, options),
    }
}

/// Two calls of `case` compiled for `threads` threads, every call split between all of
/// them however small (both thresholds 0).
fn run_threaded(
    case: &ModelCase,
    threads: usize,
    pipeline: PipelineConfig,
) -> Result<(), TestCaseError> {
    let options = CompileOptions {
        threads,
        min_flops_per_thread: 0,
        min_flops_per_frame_thread: 0,
        ..options_for(pipeline)
    };
    for _ in 0..2 {
        run(case, &options)?;
    }
    Ok(())
}

fn opt_level() -> impl Strategy<Value = OptLevel> {
    prop_oneof![Just(OptLevel::None), Just(OptLevel::Speed)]
}

proptest! {
    #![proptest_config(config(64))]

    /// The default pipeline, as users compile.
    #[test]
    fn native_code_equals_the_interpreter(case in model_case()) {
        run(&case, &CompileOptions::default())?;
    }

    /// Any pipeline: passes off, the fused epilogue, unroll factors, panel widths, register
    /// blocks, and both Cranelift optimization levels.
    #[test]
    fn native_code_equals_the_interpreter_in_every_configuration(
        case in model_case(),
        pipeline in pipeline(true),
        opt_level in opt_level(),
    ) {
        let options = CompileOptions { opt_level, ..options_for(pipeline) };
        run(&case, &options)?;
    }

    /// Threads split work, never the order of a reduction: every call split between 2 to
    /// 4 threads (however small) gives the interpreter's sequential result, call after call.
    #[test]
    fn native_code_on_several_threads_equals_the_interpreter(
        case in model_case(),
        threads in 2usize..=4,
        pipeline in pipeline(true),
    ) {
        run_threaded(&case, threads, pipeline)?;
    }

    /// One-step calls on several threads run the frame (every layer's whole step split by
    /// units, one barrier per layer): the interpreter's sequential result, call after call.
    #[test]
    fn one_step_calls_on_several_threads_equal_the_interpreter(
        case in model_case().prop_map(|c| ModelCase { seq_len: 1, ..c }),
        threads in 2usize..=4,
        pipeline in pipeline(true),
    ) {
        run_threaded(&case, threads, pipeline)?;
    }

    /// Special values flow through native code as through the interpreter, at every
    /// vector width.
    #[test]
    fn native_code_equals_the_interpreter_on_special_values(
        case in model_case(),
        places in prop::collection::vec((any::<prop::sample::Index>(), 0..SPECIAL.len()), 1..6),
        target in target(true),
    ) {
        let mut data = case.data();
        for (at, which) in places {
            let i = at.index(data.input.len());
            data.input[i] = SPECIAL[which];
        }
        let options = options_for(PipelineConfig { target, ..PipelineConfig::default() });
        match data.model.dtype() {
            DType::F32 => check::<f32>(&data, &options)?,
            DType::F64 => check::<f64>(&data, &options)?,
        }
    }
}

/// The properties can fail: a model whose interpreter run is given other weights than its
/// native run differs, and the comparison says where.
#[test]
fn a_difference_is_reported() {
    let case = ModelCase {
        spec: rnnc::RnnSpec::builder(3, 5).name("case").into(),
        seq_len: 2,
        batch: 1,
        unbatched: false,
        has_h0: false,
        has_lengths: false,
        seed: 7,
    };
    let mut data = case.data();
    let options = CompileOptions {
        pipeline: PipelineConfig::default(),
        ..CompileOptions::default()
    };
    assert!(check::<f32>(&data, &options).is_ok());
    data.weights = rnnc::Weights::init(&data.model, 8);
    let rnn = CompiledRnn::with_options(&data.model, &options).unwrap();
    let other = rnnc::Weights::init(&data.model, 7);
    let native = data
        .with_args::<f32, _>(|x, h0, l| rnn.forward(&rnn.pack(&other).unwrap(), x, h0, l))
        .unwrap();
    let interp = data
        .with_args::<f32, _>(|x, h0, l| {
            rnnc_check::interp_forward(&data.model, &options.pipeline, &data.weights, x, h0, l)
        })
        .unwrap();
    let diff = first_bit_difference(&native.0, &interp.0).expect("other weights differ");
    assert!(diff.starts_with("element 0: got"), "{diff}");
}
