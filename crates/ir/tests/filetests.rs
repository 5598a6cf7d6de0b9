//! Text filetests: each `filetests/*.test` runs one pass on its input and compares the
//! printed result with its expected output. `RNNC_BLESS=1` rewrites the expectations (read
//! the diff before committing it).
//!
//! ```text
//! ; pass: fold-bias
//! ; input:
//! graph ...
//! ; output:
//! graph ...
//! ```
//!
//! `build` takes a spec file as input; graph passes and `lower` a graph; kernel passes a
//! module. `; pass: lower threaded` lowers to a multi-threaded schedule. Outputs are verified
//! before they are compared; a mismatch prints a unified diff.
//!
//! A test that needs only part of the output states it with `; check: TEXT` lines before
//! `; input:` instead of an `; output:` section: each TEXT must occur in the output after
//! the previous check's match, on the same line or below (FileCheck's `CHECK`).
//! Blessing leaves such tests alone.
//!
//! A verifier test starts with `; verify: graph`, `; verify: kernel` or `; verify: kernel
//! legal` (the codegen level) instead of a pass, and lists before `; input:` every problem
//! the verifier must find in its input, in order, one `; error: PROBLEM` line each, located
//! as the verifier locates it:
//!
//! ```text
//! ; verify: graph
//! ; error: layer 0 > recur weight_hh_l0: input Projected but the projection does not cover this direction
//! ; input:
//! graph ...
//! ```
//!
//! Each input is wrong in one way (a kernel module may hold several functions, each wrong
//! in one way and named after the rule it breaks), so that removing any check of either
//! verifier fails a test. Blessing rewrites the `; error:` lines.

use std::path::Path;

use rnnc_ir::GraphVerifyError;
use rnnc_ir::kernel::{Level, Module, Target, parse_module, verify_module};
use rnnc_ir::passes::{
    block, expand_tanh, fold_bias, fuse_epilogue, hoist, legalize, lower, pack_weights, unroll,
};
use rnnc_ir::{PassId, build_graph, parse_graph, verify_graph};

fn run(pass: PassId, threaded: bool, input: &str) -> Result<String, String> {
    let graph = || parse_graph(input).map_err(|e| e.to_string());
    let module = || parse_module(input).map_err(|e| e.to_string());
    let checked_graph = |g: rnnc_ir::Graph| {
        verify_graph(&g)
            .map(|()| g.to_string())
            .map_err(|e| e.to_string())
    };
    let checked_module = |m: Module, level| {
        verify_module(&m, level)
            .map(|()| m.to_string())
            .map_err(|e| e.to_string())
    };
    match pass {
        PassId::Build => {
            let model = rnnc_spec::SpecFile::parse("input.toml", input)
                .validate()
                .map_err(|e| e.to_string())?;
            checked_graph(build_graph(&model, Target::V128))
        }
        PassId::FoldBias => checked_graph(fold_bias::fold_bias(graph()?)),
        PassId::Hoist => checked_graph(hoist::hoist(graph()?)),
        PassId::FuseEpilogue => checked_graph(fuse_epilogue::fuse_epilogue(graph()?)),
        PassId::PackWeights => checked_graph(pack_weights::pack_weights(graph()?, None)),
        PassId::Block => checked_graph(block::block(graph()?, None)),
        PassId::Lower => {
            let g = graph()?;
            verify_graph(&g).map_err(|e| e.to_string())?;
            checked_module(lower::lower(&g, threaded), Level::Any)
        }
        // Time loops by 2, so that the filetest shows the main and remainder loops.
        PassId::Unroll => {
            let config = unroll::UnrollConfig {
                time_factor: 2,
                ..Default::default()
            };
            checked_module(unroll::unroll(module()?, config), Level::Any)
        }
        PassId::ExpandTanh => checked_module(expand_tanh::expand_tanh(module()?), Level::Any),
        PassId::Legalize => checked_module(
            legalize::legalize(module()?).map_err(|e| e.to_string())?,
            Level::Any,
        ),
    }
}

/// What a filetest runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Test {
    /// A pass (`lower` optionally threaded), whose output is compared.
    Pass(PassId, bool),
    /// The graph verifier, whose problems are compared.
    VerifyGraph,
    /// The kernel verifier at a level, whose problems are compared.
    VerifyKernel(bool),
}

impl Test {
    fn parse(name: &str, first_line: &str) -> Test {
        let usage =
            "first line must be `; pass: NAME [threaded]` or `; verify: graph|kernel [legal]`";
        if let Some(words) = first_line.strip_prefix("; verify: ") {
            return match words.split_whitespace().collect::<Vec<_>>()[..] {
                ["graph"] => Test::VerifyGraph,
                ["kernel"] => Test::VerifyKernel(false),
                ["kernel", "legal"] => Test::VerifyKernel(true),
                _ => panic!("{name}: {usage}"),
            };
        }
        let words: Vec<&str> = first_line
            .strip_prefix("; pass: ")
            .unwrap_or_else(|| panic!("{name}: {usage}"))
            .split_whitespace()
            .collect();
        let pass: PassId = words
            .first()
            .unwrap_or_else(|| panic!("{name}: no pass named"))
            .parse()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        match words[1..] {
            [] => Test::Pass(pass, false),
            ["threaded"] if pass == PassId::Lower => Test::Pass(pass, true),
            _ => panic!("{name}: only `; pass: lower threaded` takes an option"),
        }
    }
}

/// The problems the verifier finds in `input`, one line each (none if it passes).
fn problems(test: Test, input: &str) -> Result<Vec<String>, String> {
    match test {
        Test::VerifyGraph => {
            let graph = parse_graph(input).map_err(|e| e.to_string())?;
            Ok(match verify_graph(&graph) {
                Ok(()) => Vec::new(),
                Err(GraphVerifyError { problems }) => {
                    problems.iter().map(|p| p.to_string()).collect()
                }
            })
        }
        Test::VerifyKernel(legal) => {
            let module = parse_module(input).map_err(|e| e.to_string())?;
            let level = if legal { Level::Legal } else { Level::Any };
            Ok(match verify_module(&module, level) {
                Ok(()) => Vec::new(),
                Err(e) => e.problems.iter().map(|p| p.to_string()).collect(),
            })
        }
        Test::Pass(..) => unreachable!("a pass's test compares its output"),
    }
}

#[test]
fn filetests() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/filetests");
    let bless = std::env::var_os("RNNC_BLESS").is_some();
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "test"))
        .collect();
    paths.sort();
    let mut passes_covered = std::collections::BTreeSet::new();
    let mut verifiers_covered = std::collections::BTreeSet::new();
    let mut failures = Vec::new();
    for path in &paths {
        let text = std::fs::read_to_string(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let test = Test::parse(&name, text.lines().next().unwrap_or_default());
        let (pass, threaded) = match test {
            Test::Pass(pass, threaded) => (pass, threaded),
            verify => {
                verifiers_covered.insert(verify);
                if let Err(e) = verifier_test(path, &name, &text, verify, bless) {
                    failures.push(e);
                }
                continue;
            }
        };
        passes_covered.insert(pass);
        let (head, expected) = match text.split_once("\n; output:\n") {
            Some((head, expected)) => (head, expected),
            None => (text.as_str(), ""),
        };
        let input = head
            .split_once("\n; input:\n")
            .unwrap_or_else(|| panic!("{name}: missing `; input:`"))
            .1;
        let actual = match run(pass, threaded, input) {
            Ok(out) => out,
            Err(e) => {
                failures.push(format!("{name}: {pass} failed: {e}"));
                continue;
            }
        };
        let checks: Vec<&str> = head
            .lines()
            .filter_map(|l| l.strip_prefix("; check: "))
            .collect();
        if !checks.is_empty() {
            if let Err(e) = check_lines(&actual, &checks) {
                failures.push(format!("{name}: {e}"));
            }
        } else if bless {
            std::fs::write(path, format!("{head}\n; output:\n{actual}")).unwrap();
        } else if actual != expected {
            let diff = similar::TextDiff::from_lines(expected, actual.as_str())
                .unified_diff()
                .context_radius(3)
                .header(&format!("{name} (expected)"), &format!("{name} (actual)"))
                .to_string();
            failures.push(format!(
                "{name}: output differs from the expectation:\n{diff}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n(RNNC_BLESS=1 rewrites expectations)",
        failures.join("\n")
    );
    let missing: Vec<_> = PassId::ALL
        .iter()
        .filter(|p| !passes_covered.contains(p))
        .collect();
    assert!(missing.is_empty(), "passes without a filetest: {missing:?}");
    let missing: Vec<_> = [
        Test::VerifyGraph,
        Test::VerifyKernel(false),
        Test::VerifyKernel(true),
    ]
    .into_iter()
    .filter(|t| !verifiers_covered.contains(t))
    .collect();
    assert!(
        missing.is_empty(),
        "verifier levels without a filetest: {missing:?}"
    );
}

/// Runs one verifier filetest: its `; error:` lines must be the verifier's problems, in
/// order. Blessing rewrites them in place (before `; input:` if there were none).
fn verifier_test(
    path: &Path,
    name: &str,
    text: &str,
    test: Test,
    bless: bool,
) -> Result<(), String> {
    let (head, input) = text
        .split_once("\n; input:\n")
        .unwrap_or_else(|| panic!("{name}: missing `; input:`"));
    if text.contains("\n; output:\n") {
        panic!("{name}: a verifier test has `; error:` lines, not an `; output:`");
    }
    let expected: Vec<&str> = head
        .lines()
        .filter_map(|l| l.strip_prefix("; error: "))
        .collect();
    let actual = problems(test, input).map_err(|e| format!("{name}: {e}"))?;
    if bless {
        let mut lines: Vec<String> = Vec::new();
        let errors = actual.iter().map(|p| format!("; error: {p}"));
        let mut errors = Some(errors);
        for line in head.lines() {
            if line.starts_with("; error: ") {
                lines.extend(errors.take().into_iter().flatten());
            } else {
                lines.push(line.to_string());
            }
        }
        lines.extend(errors.take().into_iter().flatten());
        std::fs::write(path, format!("{}\n; input:\n{input}", lines.join("\n"))).unwrap();
        return Ok(());
    }
    if actual.is_empty() {
        return Err(format!("{name}: the verifier accepts the input"));
    }
    if expected != actual {
        let (expected, actual) = (expected.join("\n"), actual.join("\n"));
        let diff = similar::TextDiff::from_lines(expected.as_str(), actual.as_str())
            .unified_diff()
            .context_radius(3)
            .header(&format!("{name} (expected)"), &format!("{name} (actual)"))
            .to_string();
        return Err(format!(
            "{name}: the verifier's problems differ from the `; error:` lines:\n{diff}"
        ));
    }
    Ok(())
}

/// Each check occurs in `output` after the end of the previous check's match.
fn check_lines(output: &str, checks: &[&str]) -> Result<(), String> {
    let mut from = 0;
    for check in checks {
        match output[from..].find(check) {
            Some(at) => from += at + check.len(),
            None => {
                let after = match output[..from].lines().count() {
                    0 => "in the output".to_string(),
                    line => format!("after the previous check's match on output line {line}"),
                };
                return Err(format!("`; check: {check}` not found {after}"));
            }
        }
    }
    Ok(())
}

#[test]
fn checks_match_in_order_and_say_where_they_looked() {
    let output = "module m\nstate h width=2\nfunc @forward(@h0, @h_n)\n";
    check_lines(output, &["state h", "@forward(", "@h_n"]).unwrap();
    let e = check_lines(output, &["@forward", "state h"]).unwrap_err();
    assert_eq!(
        e,
        "`; check: state h` not found after the previous check's match on output line 3"
    );
    let e = check_lines(output, &["state c"]).unwrap_err();
    assert_eq!(e, "`; check: state c` not found in the output");
}
