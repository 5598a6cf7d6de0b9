//! The interpreter must not share a bug with the code generator: the kernel IR, the IR and
//! the interpreter crates build without Cranelift anywhere in their dependency trees, the
//! interpreter and codegen see only the kernel IR of rnnc's middle, and the interpreter
//! depends on nothing of rnnc's but the kernel IR.
//!
//! `cargo metadata` resolves the graph for this host only (`--filter-platform`): a build
//! downloads only the host's crates, so the manifests of other platforms' dependencies
//! (`anstyle-wincon` on Windows) are not in a fresh machine's cargo cache, and `--offline`
//! must not need them.

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

#[test]
fn ir_and_interpreter_do_not_depend_on_cranelift() {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--filter-platform",
        ])
        .arg(rnnc::codegen::host_triple())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let name_of: HashMap<&str, &str> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    // Normal (non-dev, non-build) dependency edges of the resolved graph.
    let edges: HashMap<&str, Vec<&str>> = metadata["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let deps = n["deps"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| {
                    d["dep_kinds"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|k| k["kind"].is_null())
                })
                .map(|d| d["pkg"].as_str().unwrap())
                .collect();
            (n["id"].as_str().unwrap(), deps)
        })
        .collect();
    let tree = |root: &str| {
        let id = name_of
            .iter()
            .find(|(_, n)| **n == root)
            .map(|(id, _)| *id)
            .unwrap();
        let mut seen = BTreeSet::new();
        let mut stack = vec![id];
        while let Some(p) = stack.pop() {
            if seen.insert(name_of[p]) {
                stack.extend(edges[p].iter().copied());
            }
        }
        seen
    };
    let cranelift_in = |seen: &BTreeSet<&str>| -> Vec<String> {
        seen.iter()
            .filter(|n| n.starts_with("cranelift"))
            .map(|n| n.to_string())
            .collect()
    };
    // The walk finds Cranelift where it is: under the code generator.
    assert!(!cranelift_in(&tree("rnnc-codegen")).is_empty());
    for root in ["rnnc-kernel", "rnnc-ir", "rnnc-interp"] {
        let seen = tree(root);
        assert!(
            cranelift_in(&seen).is_empty(),
            "{root} depends on {:?}",
            cranelift_in(&seen)
        );
    }
    // The kernel IR depends on nothing of rnnc's; the interpreter and codegen on it, not on
    // the layer graph and its passes.
    assert!(
        !tree("rnnc-kernel")
            .iter()
            .any(|n| n.starts_with("rnnc") && *n != "rnnc-kernel")
    );
    for root in ["rnnc-interp", "rnnc-codegen"] {
        assert!(!tree(root).contains("rnnc-ir"), "{root} depends on rnnc-ir");
    }
    // The interpreter's tree holds the kernel IR and nothing else of rnnc's: not even the
    // front end, whose element types meet the interpreter in the facade.
    let interp_rnnc: Vec<&str> = tree("rnnc-interp")
        .into_iter()
        .filter(|n| n.starts_with("rnnc"))
        .collect();
    assert_eq!(interp_rnnc, ["rnnc-interp", "rnnc-kernel"]);
}
