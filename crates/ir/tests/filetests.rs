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

use std::path::Path;

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
        PassId::PackWeights => checked_graph(pack_weights::pack_weights(
            graph()?,
            pack_weights::PANEL_VECTORS,
        )),
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
    let mut failures = Vec::new();
    for path in &paths {
        let text = std::fs::read_to_string(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let words: Vec<&str> = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("; pass: "))
            .unwrap_or_else(|| panic!("{name}: first line must be `; pass: NAME [threaded]`"))
            .split_whitespace()
            .collect();
        let pass: PassId = words
            .first()
            .unwrap_or_else(|| panic!("{name}: no pass named"))
            .parse()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let threaded = match words[1..] {
            [] => false,
            ["threaded"] if pass == PassId::Lower => true,
            _ => panic!("{name}: only `; pass: lower threaded` takes an option"),
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
