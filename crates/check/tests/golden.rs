//! Every case computed by PyTorch passes through every engine within the named tolerance: the
//! sequence modules' calls, and the cell modules' stepped loops.

use std::path::PathBuf;

use rnnc_check::Engine;
use rnnc_check::case::{Case, collect_case_paths};
use rnnc_check::verify::run_case;

/// Each set of cases and how many it holds: `torch.nn.RNN`, `LSTM` and `GRU` (the shared
/// sets), then the stepped loops of `torch.nn.RNNCell`, `LSTMCell` and `GRUCell`.
const SETS: [(&str, usize); 6] = [
    ("torch-rnn", 60),
    ("torch-lstm", 60),
    ("torch-gru", 60),
    ("torch-rnn-cell", 20),
    ("torch-lstm-cell", 20),
    ("torch-gru-cell", 20),
];

/// Every case, in the order of [`SETS`].
fn cases() -> Vec<Case> {
    let golden = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden");
    let mut cases = Vec::new();
    for (module, count) in SETS {
        let paths = collect_case_paths(&[golden.join(module)]).expect("the directory is readable");
        assert_eq!(paths.len(), count, "{module} has {count} cases");
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
    // A stepped loop's output after its last step, on every engine.
    let mut cell = cases()
        .into_iter()
        .find(|c| c.model.is_cell_module() && c.model.dtype() == rnnc::DType::F64)
        .expect("an f64 cell case");
    let rnnc::TensorData::F64(output) = &mut cell.output.data else {
        panic!("the cell case is f64");
    };
    let last = output.len() - 1;
    output[last] -= 1e-9;
    for engine in Engine::ALL {
        let report = run_case(&cell, engine, 1).unwrap();
        assert!(!report.passed, "{engine}");
        assert_eq!(report.worst.at, Some(("output", last)), "{engine}");
    }
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
        let (model, weights, input) = (&case.model, &case.weights, view(&case.input));
        let (out, state) = if model.is_cell_module() {
            rnnc_check::interp_steps(model, config, 1, weights, input, case.initial())
        } else {
            let lengths = case.lengths.as_deref();
            rnnc_check::interp_forward(model, config, weights, input, case.initial(), lengths)
        }
        .unwrap();
        let mut worst = worst_error("output", out.data(), view::<T>(&case.output).data()).error;
        for (kind, torch) in case.finals() {
            let got = state.get(kind).unwrap();
            worst = worst.max(worst_error(kind.last(), got.data(), view::<T>(torch).data()).error);
        }
        worst
    }
}
