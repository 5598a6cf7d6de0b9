//! Every case computed by PyTorch passes through every engine within the named tolerance.

use std::path::PathBuf;

use rnnc_check::Engine;
use rnnc_check::case::{Case, collect_case_paths};
use rnnc_check::verify::run_case;

/// The cases of `torch.nn.RNN`, `torch.nn.LSTM` and `torch.nn.GRU`, in that order.
fn cases() -> Vec<Case> {
    let golden = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden");
    let mut cases = Vec::new();
    for module in ["torch-rnn", "torch-lstm", "torch-gru"] {
        let paths = collect_case_paths(&[golden.join(module)]).expect("the directory is readable");
        assert_eq!(paths.len(), 60, "the shared set has 60 cases of {module}");
        cases.extend(
            paths
                .iter()
                .map(|p| Case::load(p).unwrap_or_else(|e| panic!("{e}"))),
        );
    }
    cases
}

#[test]
fn every_engine_passes_every_torch_case() {
    let cases = cases();
    for engine in Engine::ALL {
        assert_all_pass(&cases, engine, 1);
    }
}

/// Threads split work, never a reduction: the JIT with every call split between 2 and 3
/// threads, and the interpreter's run of the same schedule (race-checked), pass too.
#[test]
fn every_torch_case_passes_on_several_threads() {
    let cases = cases();
    for threads in [2, 3] {
        for engine in [Engine::Jit, Engine::Interp] {
            assert_all_pass(&cases, engine, threads);
        }
    }
}

fn assert_all_pass(cases: &[Case], engine: Engine, threads: usize) {
    let failures: Vec<String> = cases
        .iter()
        .map(|case| {
            run_case(case, engine, threads).unwrap_or_else(|e| panic!("{}: {e}", case.name))
        })
        .filter(|report| !report.passed)
        .map(|report| format!("{engine} on {threads} threads: {report}"))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The comparison can fail: a perturbed torch output is caught at the perturbed element.
#[test]
fn a_perturbed_case_fails() {
    let mut case = cases().remove(3);
    let rnnc::TensorData::F32(output) = &mut case.output.data else {
        panic!("case_003 is f32");
    };
    output[7] += 1e-3;
    let report = run_case(&case, Engine::Reference, 1).unwrap();
    assert!(!report.passed);
    assert_eq!(report.worst.at, Some(("output", 7)));
    // An LSTM's c_n is compared too.
    let mut lstm = cases()
        .into_iter()
        .find(|c| c.c_n.is_some() && c.model.dtype() == rnnc::DType::F32)
        .expect("an f32 LSTM case");
    let Some(rnnc::TensorData::F32(c_n)) = lstm.c_n.as_mut().map(|c| &mut c.data) else {
        panic!("the LSTM case has an f32 c_n");
    };
    c_n[0] += 1e-3;
    let report = run_case(&lstm, Engine::Jit, 1).unwrap();
    assert!(!report.passed);
    assert_eq!(report.worst.at, Some(("c_n", 0)));
}

/// The interpreter passes every torch case with each optional pass switched off in turn.
#[test]
fn interp_passes_every_torch_case_with_each_pass_off() {
    use rnnc::ir::{PassId, PipelineConfig};
    use rnnc_check::verify::{tolerance, worst_error};
    let cases = cases();
    for pass in PassId::OPTIONAL {
        let config = PipelineConfig {
            disabled: vec![pass],
            ..PipelineConfig::default()
        };
        for case in &cases {
            let worst = match case.model.dtype() {
                rnnc::DType::F32 => interp_worst::<f32>(case, &config),
                rnnc::DType::F64 => interp_worst::<f64>(case, &config),
            };
            assert!(
                worst <= tolerance(case.model.dtype()),
                "{} without {pass}: worst scaled error {worst:e}",
                case.name
            );
        }
    }

    fn interp_worst<T: rnnc::Element>(case: &Case, config: &PipelineConfig) -> f64 {
        fn view<T: rnnc::Element>(t: &rnnc_check::case::CaseTensor) -> rnnc::TensorView<'_, T> {
            t.view().unwrap()
        }
        let (out, state) = rnnc_check::interp_forward(
            &case.model,
            config,
            &case.weights,
            view(&case.input),
            case.initial(),
            case.lengths.as_deref(),
        )
        .unwrap();
        let mut worst = worst_error("output", out.data(), view::<T>(&case.output).data()).error;
        for (kind, torch) in case.finals() {
            let got = state.get(kind).unwrap();
            worst = worst.max(worst_error(kind.last(), got.data(), view::<T>(torch).data()).error);
        }
        worst
    }
}
