//! Every case computed by PyTorch passes through every engine within the named tolerance.

use std::path::PathBuf;

use rnnc::Engine;
use rnnc::case::{Case, collect_case_paths};
use rnnc::verify::run_case;

fn cases() -> Vec<Case> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/torch-rnn");
    let paths = collect_case_paths(&[dir]).expect("the golden directory is readable");
    assert_eq!(paths.len(), 60, "the shared set has 60 cases");
    paths
        .iter()
        .map(|p| Case::load(p).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

#[test]
fn every_engine_passes_every_torch_case() {
    let cases = cases();
    for engine in Engine::ALL {
        let failures: Vec<String> = cases
            .iter()
            .map(|case| run_case(case, engine).unwrap_or_else(|e| panic!("{}: {e}", case.name)))
            .filter(|report| !report.passed)
            .map(|report| format!("{engine}: {report}"))
            .collect();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}

/// The comparison can fail: a perturbed torch output is caught at the perturbed element.
#[test]
fn a_perturbed_case_fails() {
    let mut case = cases().remove(3);
    let rnnc::TensorData::F32(output) = &mut case.output.data else {
        panic!("case_003 is f32");
    };
    output[7] += 1e-3;
    let report = run_case(&case, Engine::Reference).unwrap();
    assert!(!report.passed);
    assert_eq!(report.worst.at, Some(("output", 7)));
}
