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
//! module. `; pass: lower threaded` lowers to a multi-threaded schedule. Outputs are verified before they are compared.

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
        if bless {
            std::fs::write(path, format!("{head}\n; output:\n{actual}")).unwrap();
        } else if actual != expected {
            let line = actual
                .lines()
                .zip(expected.lines())
                .position(|(a, e)| a != e)
                .map_or("the end".to_string(), |i| format!("output line {}", i + 1));
            failures.push(format!(
                "{name}: output differs from the expectation at {line}"
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
