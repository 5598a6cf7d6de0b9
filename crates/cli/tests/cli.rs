//! The `rnnc` command as a user runs it: exit codes, stdout and stderr.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rnnc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rnnc"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("rnnc runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn describes_the_torch_documentation_example() {
    let out = rnnc(&["specs/torch_doc.toml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("torch_doc: RNN(10, 20, num_layers=2, dtype=f32)"),
        "{stdout}"
    );
    assert!(stdout.contains("weight_ih_l1  [20, 20]"), "{stdout}");
    assert!(stdout.contains("1,480 parameters"), "{stdout}");
    assert!(stdout.contains("2,800 FLOPs per time step"), "{stdout}");
}

#[test]
fn a_bad_spec_fails_with_diagnostics_on_stderr() {
    let dir = std::env::temp_dir().join(format!("rnnc-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spec = dir.join("bad.toml");
    std::fs::write(&spec, "input_size = 10\nhiden_size = 20\n").unwrap();
    let out = rnnc(&[spec.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("bad.toml:2:1"), "{stderr}");
    assert!(stderr.contains("did you mean `hidden_size`?"), "{stderr}");
    assert!(
        stderr.contains("missing required key `hidden_size`"),
        "{stderr}"
    );
    let missing = rnnc(&["no/such/spec.toml"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("cannot read no/such/spec.toml"));
}

#[test]
fn verify_passes_the_torch_cases_and_prints_a_summary() {
    let out = rnnc(&["verify", "--engine", "reference", "tests/golden/torch-rnn"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert_eq!(stdout.lines().filter(|l| l.ends_with("pass")).count(), 60);
    assert!(stdout.contains("60 passed, 0 failed"), "{stdout}");
    // The default engine works on single files as well.
    let one = rnnc(&["verify", "tests/golden/torch-rnn/case_011.json"]);
    assert!(one.status.success());
    assert!(text(&one.stdout).contains("1 passed, 0 failed"));
}

#[test]
fn verify_fails_on_a_wrong_or_unreadable_case() {
    let dir = std::env::temp_dir().join(format!("rnnc-verify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let golden = root().join("tests/golden/torch-rnn");
    // A case whose torch output was altered, and a case whose tensors are missing.
    let mut json = std::fs::read_to_string(golden.join("case_002.json")).unwrap();
    std::fs::write(dir.join("altered.json"), &json).unwrap();
    let mut bytes = std::fs::read(golden.join("case_002.safetensors")).unwrap();
    let n = bytes.len();
    bytes[n - 2] ^= 0x40; // flips a high bit of the last element of h_n
    std::fs::write(dir.join("altered.safetensors"), &bytes).unwrap();
    json = json.replace("\"tanh\"", "\"gelu\"");
    std::fs::write(dir.join("broken.json"), &json).unwrap();
    let out = rnnc(&["verify", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("altered") && stdout.contains("FAIL"),
        "{stdout}"
    );
    assert!(stdout.contains("broken       error:"), "{stdout}");
    assert!(stdout.contains("Unknown nonlinearity 'gelu'"), "{stdout}");
    assert!(stdout.contains("0 passed, 2 failed"), "{stdout}");
}
