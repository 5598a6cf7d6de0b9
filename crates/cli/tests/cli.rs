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
    let out = rnnc(&["specs/torch_doc.toml", "--emit", "describe"]);
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

/// A cell module as torch's cell modules are called: one step, its names without `_l0`.
#[test]
fn describes_a_cell_module() {
    let out = rnnc(&["specs/lstm_cell.toml", "--emit", "describe"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let expected = "\
lstm_cell: LSTMCell(128, 128, dtype=f32)
  input  (N, 128) or unbatched (128): one step per call
  h0 -> h1 (N, 128) or unbatched (128): the state h before and after the step (torch's h')
  c0 -> c1 (N, 128) or unbatched (128): the state c before and after the step (torch's c')
  gates i, f, g, o (4 x 128 rows of every weight_ih, weight_hh and bias)

parameters (torch state_dict names):
  weight_ih  [512, 128]
  weight_hh  [512, 128]
  bias_ih    [512]
  bias_hh    [512]

132,096 parameters (528,384 bytes as f32)
262,144 FLOPs per step per sequence (2 * G * H * (in + H))
";
    assert_eq!(stdout, expected);
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
    // A directory of directories: RNN, LSTM and GRU cases, and the cell modules' stepped
    // loops.
    let out = rnnc(&["verify", "--engine", "reference", "tests/golden"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert_eq!(stdout.lines().filter(|l| l.ends_with("pass")).count(), 240);
    assert!(stdout.contains("240 passed, 0 failed"), "{stdout}");
    // The default engine is native code, and works on single files as well.
    let one = rnnc(&["verify", "tests/golden/torch-rnn/case_011.json"]);
    assert!(one.status.success());
    assert!(
        text(&one.stdout).contains("1 passed, 0 failed (engine: jit, threads: 1)"),
        "{}",
        text(&one.stdout)
    );
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
    let gated = json.replace("\"nonlinearity\": \"tanh\"", "\"cell\": \"gru\"");
    assert_ne!(gated, json);
    std::fs::write(dir.join("gated.json"), &gated).unwrap();
    std::fs::write(dir.join("gated.safetensors"), &bytes).unwrap();
    json = json.replace("\"tanh\"", "\"gelu\"");
    std::fs::write(dir.join("broken.json"), &json).unwrap();
    let notes = dir.join("README.md");
    std::fs::write(&notes, "not a case").unwrap();
    let out = rnnc(&["verify", dir.to_str().unwrap(), notes.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("altered") && stdout.contains("FAIL"),
        "{stdout}"
    );
    assert!(stdout.contains("broken       error:"), "{stdout}");
    assert!(stdout.contains("Unknown nonlinearity 'gelu'"), "{stdout}");
    // An RNN's tensors under a GRU's configuration: the shapes say which module they are.
    assert!(
        stdout.contains("the gates of a torch.nn.RNN (h): the spec has cell = \"gru\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("README.md: not a case: expected NAME.json"),
        "{stdout}"
    );
    assert!(stdout.contains("0 passed, 4 failed"), "{stdout}");
}

#[test]
fn emit_ir_after_every_pass_for_every_example_spec() {
    use rnnc::ir::PassId;
    let mut specs: Vec<_> = std::fs::read_dir(root().join("specs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    specs.sort();
    assert!(specs.len() >= 3);
    for spec in &specs {
        let spec = spec.to_str().unwrap();
        for pass in PassId::ALL {
            let out = rnnc(&[spec, "--stop-after", pass.name()]);
            assert!(
                out.status.success(),
                "{spec} --stop-after {pass}: {}",
                text(&out.stderr)
            );
            let ir = text(&out.stdout);
            // Graph stages print the layer graph, later ones the kernel IR, which reads back.
            if pass < PassId::Lower {
                assert!(ir.starts_with("graph "), "{spec} after {pass}: {ir}");
                rnnc::ir::parse_graph(&ir).unwrap_or_else(|e| panic!("{spec} after {pass}: {e}"));
            } else {
                let module = rnnc::kernel::parse_module(&ir)
                    .unwrap_or_else(|e| panic!("{spec} after {pass}: {e}"));
                assert_eq!(
                    module.to_string(),
                    ir,
                    "{spec} after {pass}: printing is stable"
                );
            }
        }
        // --emit ir is the whole pipeline: machine-width vectors only.
        let full = text(&rnnc(&[spec, "--emit", "ir"]).stdout);
        let module = rnnc::kernel::parse_module(&full).unwrap();
        rnnc::kernel::verify_module(&module, rnnc::kernel::Level::Legal).unwrap();
    }
    let bad = rnnc(&["specs/kws.toml", "--stop-after", "fuse"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("unknown pass `fuse`; the passes are: build, fold-bias"));
    let off = rnnc(&[
        "specs/kws.toml",
        "--stop-after",
        "block",
        "--disable",
        "pack-weights",
    ]);
    assert!(
        text(&off.stdout).contains("layout=torch"),
        "{}",
        text(&off.stdout)
    );
    let mandatory = rnnc(&["specs/kws.toml", "--emit", "ir", "--disable", "lower"]);
    assert_eq!(mandatory.status.code(), Some(1));
    assert!(text(&mandatory.stderr).contains("pass `lower` cannot be switched off"));
}

#[test]
fn verify_runs_the_interpreter() {
    let out = rnnc(&[
        "verify",
        "--engine",
        "interp",
        "tests/golden/torch-lstm",
        "tests/golden/torch-gru",
        "tests/golden/torch-lstm-cell",
    ]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("140 passed, 0 failed (engine: interp, threads: 1)"));
}

#[test]
fn verify_splits_calls_between_threads() {
    let out = rnnc(&[
        "verify",
        "--threads",
        "2",
        "tests/golden/torch-rnn",
        "tests/golden/torch-lstm",
        "tests/golden/torch-gru",
        "tests/golden/torch-rnn-cell",
        "tests/golden/torch-gru-cell",
    ]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("220 passed, 0 failed (engine: jit, threads: 2)"));
    let zero = rnnc(&["verify", "--threads", "0", "tests/golden/torch-rnn"]);
    assert!(!zero.status.success());
    assert!(
        text(&zero.stderr).contains("--threads"),
        "{}",
        text(&zero.stderr)
    );
}

#[test]
fn emit_threaded_shows_the_schedule_and_its_phase_functions() {
    let out = rnnc(&["specs/kws.toml", "--emit", "ir", "--threaded"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let ir = text(&out.stdout);
    for line in [
        "phase all @proj_l0",
        "phase steps @step_l1 @steps_l1",
        "func @step_l0(",
    ] {
        assert!(ir.contains(line), "no `{line}` in:\n{ir}");
    }
    assert!(!ir.contains("func @forward("), "{ir}");
    let asm = rnnc(&["specs/kws.toml", "--emit", "asm", "--threaded"]);
    assert!(asm.status.success(), "{}", text(&asm.stderr));
    assert!(text(&asm.stdout).contains("steps_l0"));
    // Object files hold the single-threaded forward.
    let obj = rnnc(&["specs/kws.toml", "--threaded", "-o", "/nonexistent"]);
    assert!(!obj.status.success());
    assert!(text(&obj.stderr).contains("--threaded applies to --emit ir, clif and asm"));
}

#[test]
fn emit_clif_and_asm_are_annotated_with_the_ir() {
    let clif = rnnc(&["specs/torch_doc.toml", "--emit", "clif"]);
    assert!(clif.status.success(), "{}", text(&clif.stderr));
    let clif = text(&clif.stdout);
    assert!(clif.contains("; torch_doc_forward: Cranelift IR"), "{clif}");
    let ir_fma = clif
        .lines()
        .any(|l| l.trim_start().starts_with("; ir: %acc") && l.contains(" = fma %w"));
    assert!(ir_fma, "an IR fma annotates its CLIF");
    assert!(
        clif.lines().any(|l| l.contains(" = fma v")),
        "CLIF has fused multiply-adds"
    );
    let asm = rnnc(&["specs/torch_doc.toml", "--emit", "asm"]);
    assert!(asm.status.success(), "{}", text(&asm.stderr));
    let asm = text(&asm.stdout);
    assert!(asm.contains("; torch_doc_forward:"), "{asm}");
    assert!(asm.contains("; ir: store @output["), "{asm}");
    // Kernels call nothing but the model's own per-layer functions (`forward` and `pack`
    // call them), and FMA is an instruction, not a call to fmaf.
    for listing in asm.split("\n; ") {
        if !listing.starts_with("torch_doc_forward:") && !listing.starts_with("torch_doc_pack:") {
            assert!(
                !listing.contains(" call "),
                "only forward and pack call:\n{listing}"
            );
        }
    }
    assert!(!asm.contains("fmaf"), "{asm}");
    if cfg!(target_arch = "x86_64") {
        // The vendored Cranelift patch (vendor/README.md): every multiply-add is the
        // accumulator-tied 231 form, so none needs a register copy first.
        assert!(asm.contains("vfmadd231ps"), "{asm}");
        for form in ["vfmadd213ps", "vfmadd132ps", "movdqa"] {
            assert!(!asm.contains(form), "{form} in:\n{asm}");
        }
    }
    let mixed = rnnc(&[
        "specs/torch_doc.toml",
        "--emit",
        "asm",
        "--stop-after",
        "lower",
    ]);
    assert_eq!(mixed.status.code(), Some(1));
    let no_tanh = rnnc(&[
        "specs/torch_doc.toml",
        "--emit",
        "clif",
        "--disable",
        "expand-tanh",
    ]);
    assert_eq!(no_tanh.status.code(), Some(1));
    assert!(text(&no_tanh.stderr).contains("needs the expand-tanh and legalize passes"));
}

#[test]
fn bench_prints_json_lines_for_each_thread_count() {
    let out = rnnc(&[
        "bench",
        "--json",
        "--only",
        "seed-example",
        "--seconds",
        "0.05",
        "--threads",
        "1,2",
        "--vector-bits",
        "128",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    for (line, threads) in lines.iter().zip([1, 2]) {
        assert_eq!(line["name"], "seed-example");
        assert_eq!(line["threads"], threads);
        assert_eq!(line["vector_bits"], 128);
        // seed-example: 2 layers, L=5, N=3, H=20, inputs 10 then 20.
        assert_eq!(
            line["flops"],
            2 * 5 * 3 * 20 * (10 + 20) + 2 * 5 * 3 * 20 * (20 + 20)
        );
        let median = line["median_us"].as_f64().unwrap();
        let gflops = line["gflops"].as_f64().unwrap();
        assert!(
            median > 0.0 && line["compile_ms"].as_f64().unwrap() > 0.0,
            "{line}"
        );
        let implied = line["flops"].as_f64().unwrap() / median / 1e3;
        assert!((gflops - implied).abs() <= 1e-3 * implied, "{line}");
    }
}

#[test]
fn bench_rejects_bad_arguments() {
    let missing = rnnc(&["bench", "--only", "no-such-config"]);
    assert!(!missing.status.success());
    assert!(
        text(&missing.stderr).contains("no configuration"),
        "{}",
        text(&missing.stderr)
    );
    let zero = rnnc(&["bench", "--threads", "0"]);
    assert!(!zero.status.success());
    assert!(
        text(&zero.stderr).contains("--threads must be at least 1"),
        "{}",
        text(&zero.stderr)
    );
    let dir = std::env::temp_dir().join(format!("rnnc-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("configs.toml");
    std::fs::write(
        &bad,
        "[[config]]\nname = \"x\"\ninput_size = 0\nhidden_size = 4\nseq_len = 1\nbatch = 1\n",
    )
    .unwrap();
    let out = rnnc(&["bench", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("input_size"),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs `rnnc bench` on seed-example (with `RNNC_PERF_MAP` set or not) and returns the
/// perf map the process left, if any.
fn perf_map_of_bench(with_map: bool) -> Option<String> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rnnc"));
    cmd.args(["bench", "--only", "seed-example", "--seconds", "0.05"])
        .current_dir(root())
        .env_remove("RNNC_PERF_MAP")
        .stdout(std::process::Stdio::null());
    if with_map {
        cmd.env("RNNC_PERF_MAP", "1");
    }
    let child = cmd.spawn().expect("rnnc runs");
    let path = format!("/tmp/perf-{}.map", child.id());
    let out = child.wait_with_output().expect("rnnc finishes");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let map = std::fs::read_to_string(&path).ok();
    let _ = std::fs::remove_file(&path);
    map
}

#[test]
fn perf_map_names_generated_code_with_the_sizes_the_listing_shows() {
    assert_eq!(perf_map_of_bench(false), None, "no map unless asked for");
    let map = perf_map_of_bench(true).expect("RNNC_PERF_MAP writes /tmp/perf-PID.map");
    let mut sizes = std::collections::HashMap::new();
    for line in map.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields.len(), 3, "START SIZE SYMBOL: {line}");
        let start = u64::from_str_radix(fields[0], 16).unwrap();
        let size = u64::from_str_radix(fields[1], 16).unwrap();
        assert!(start > 0 && size > 0, "{line}");
        sizes.insert(fields[2].to_string(), size);
    }
    // tools/profile.py places samples in `--emit asm` of the same model: the two must be
    // the same code, but for `forward`, whose JIT entry takes its buffers as arrays.
    let dir = std::env::temp_dir().join(format!("rnnc-perfmap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spec = dir.join("seed.toml");
    std::fs::write(
        &spec,
        "name = \"seed_example\"\ninput_size = 10\nhidden_size = 20\nnum_layers = 2\n",
    )
    .unwrap();
    let out = rnnc(&[spec.to_str().unwrap(), "--emit", "asm"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    for symbol in [
        "seed_example_pack",
        "seed_example_layer_l0",
        "seed_example_layer_l1",
        "seed_example_forward",
    ] {
        let header = format!("; {symbol}: ");
        let bytes: u64 = listing
            .lines()
            .find_map(|l| l.strip_prefix(&header))
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{symbol} in the listing"));
        if symbol.ends_with("_forward") {
            assert!(sizes.contains_key(symbol), "{symbol}: {map}");
        } else {
            assert_eq!(sizes.get(symbol), Some(&bytes), "{symbol}: {map}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Case files from other tools: an informational key (`scale`, documented in
/// tests/golden/README.md) is accepted silently; an unknown key runs the case and warns,
/// naming the key.
#[test]
fn verify_accepts_informational_keys_and_warns_about_unknown_ones() {
    let dir = std::env::temp_dir().join(format!("rnnc-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let golden = root().join("tests/golden/torch-rnn");
    let json = std::fs::read_to_string(golden.join("case_004.json")).unwrap();
    let with = |key: &str| json.replacen('{', &format!("{{\n \"{key}\": 2.5,"), 1);
    for (name, key) in [("scaled", "scale"), ("odd", "temperature")] {
        std::fs::write(dir.join(format!("{name}.json")), with(key)).unwrap();
        std::fs::copy(
            golden.join("case_004.safetensors"),
            dir.join(format!("{name}.safetensors")),
        )
        .unwrap();
    }
    let scaled = rnnc(&["verify", dir.join("scaled.json").to_str().unwrap()]);
    assert!(scaled.status.success(), "{}", text(&scaled.stdout));
    assert!(text(&scaled.stderr).is_empty(), "{}", text(&scaled.stderr));
    let odd = rnnc(&["verify", dir.join("odd.json").to_str().unwrap()]);
    assert!(odd.status.success(), "{}", text(&odd.stdout));
    let stderr = text(&odd.stderr);
    assert!(
        stderr.contains("warning:") && stderr.contains("unknown key `temperature`"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Weights problems as a user reads them: one per line, one hint for a forgotten prefix,
/// a missing file said once, a torch checkpoint named as such, and `--emit describe`
/// checks the weights it is given.
#[test]
fn weight_errors_are_readable() {
    let dir = std::env::temp_dir().join(format!("rnnc-weights-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = rnnc::SpecFile::read(&root().join("specs/torch_doc.toml"))
        .unwrap()
        .validate()
        .unwrap();
    let plain = rnnc::Weights::init(&model, 1).to_safetensors();
    // The same tensors under `encoder.rnn.`, as a larger model's state_dict holds them.
    let file = safetensors::SafeTensors::deserialize(&plain).unwrap();
    let renamed: Vec<(String, safetensors::tensor::TensorView<'_>)> = file
        .iter()
        .map(|(name, view)| (format!("encoder.rnn.{name}"), view))
        .collect();
    let nested = dir.join("nested.safetensors");
    std::fs::write(&nested, safetensors::serialize(renamed, None).unwrap()).unwrap();
    let nested = nested.to_str().unwrap();
    let out = rnnc(&[
        "specs/torch_doc.toml",
        "--weights",
        nested,
        "-o",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("(16 problems):\n  missing tensor `weight_ih_l0`"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("hint:").count(), 1, "{stderr}");
    assert!(stderr.contains("--prefix encoder.rnn."), "{stderr}");
    // With the prefix nearly right, the same suggestion.
    let near = rnnc(&[
        "specs/torch_doc.toml",
        "--emit",
        "describe",
        "--weights",
        nested,
        "--prefix",
        "encoder.rn",
    ]);
    assert_eq!(near.status.code(), Some(1));
    assert!(
        text(&near.stderr).contains("prefix `encoder.rnn.`"),
        "{}",
        text(&near.stderr)
    );
    let good = rnnc(&[
        "specs/torch_doc.toml",
        "--emit",
        "describe",
        "--weights",
        nested,
        "--prefix",
        "encoder.rnn.",
    ]);
    assert!(good.status.success(), "{}", text(&good.stderr));
    assert!(
        text(&good.stdout).contains("fits this spec (8 tensors"),
        "{}",
        text(&good.stdout)
    );
    // A missing file: said once.
    let missing = rnnc(&[
        "specs/torch_doc.toml",
        "--emit",
        "describe",
        "--weights",
        "nope.safetensors",
    ]);
    assert_eq!(missing.status.code(), Some(1));
    let stderr = text(&missing.stderr);
    assert_eq!(stderr.matches("No such file").count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: cannot read nope.safetensors"),
        "{stderr}"
    );
    // A torch.save checkpoint (a zip archive).
    let pt = dir.join("model.pt");
    std::fs::write(&pt, b"PK\x03\x04\x14\x00\x00\x00\x00\x00archive/data.pkl").unwrap();
    let out = rnnc(&[
        "specs/torch_doc.toml",
        "--weights",
        pt.to_str().unwrap(),
        "-o",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("torch.save") && stderr.contains("tools/export_weights.py"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The C guide's synopsis of the main command names every option `rnnc --help` has.
#[test]
fn the_c_guides_synopsis_lists_every_option() {
    let guide = std::fs::read_to_string(root().join("docs/c.md")).unwrap();
    let start = guide
        .find("rnnc SPEC.toml [")
        .expect("docs/c.md has a synopsis");
    let synopsis = &guide[start..start + guide[start..].find("```").unwrap()];
    let help = text(&rnnc(&["--help"]).stdout);
    let options: Vec<&str> = help
        .split_whitespace()
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| w.trim_end_matches(|c: char| !c.is_ascii_alphanumeric()))
        .filter(|w| !matches!(*w, "--help" | "--version"))
        .collect();
    assert!(options.len() >= 8, "{options:?}");
    for option in options {
        assert!(
            synopsis.contains(option),
            "{option} is not in the synopsis of docs/c.md:\n{synopsis}"
        );
    }
}

/// A cell module's case is a stepped loop: a sequence module's keys in it (packing, layers)
/// are refused, naming the problem, as is a sequence module's case without its keys.
#[test]
fn verify_refuses_cases_with_the_other_forms_keys() {
    let dir = std::env::temp_dir().join(format!("rnnc-forms-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let case = |set: &str, name: &str, edit: &dyn Fn(&str) -> String| {
        let golden = root().join("tests/golden").join(set);
        let json = std::fs::read_to_string(golden.join("case_004.json")).unwrap();
        std::fs::write(dir.join(format!("{name}.json")), edit(&json)).unwrap();
        std::fs::copy(
            golden.join("case_004.safetensors"),
            dir.join(format!("{name}.safetensors")),
        )
        .unwrap();
        let out = rnnc(&["verify", dir.join(format!("{name}.json")).to_str().unwrap()]);
        assert!(!out.status.success(), "{name}");
        text(&out.stdout) + &text(&out.stderr)
    };
    let layers = case("torch-lstm-cell", "layers", &|j| {
        j.replacen('{', "{\n \"num_layers\": 2,", 1)
    });
    assert!(
        layers.contains("`num_layers` is not an argument of torch.nn.LSTMCell"),
        "{layers}"
    );
    let packed = case("torch-gru-cell", "packed", &|j| {
        j.replacen('{', "{\n \"packed\": true, \"lengths\": [1],", 1)
    });
    assert!(
        packed.contains("a case of torch.nn.GRUCell is a stepped loop"),
        "{packed}"
    );
    let missing = case("torch-gru", "missing", &|j| {
        j.replace("\"num_layers\"", "\"layers\"")
    });
    assert!(
        missing.contains("missing key `num_layers` (a case of torch.nn.GRU has it)"),
        "{missing}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn rnnc_with_vector_bits(bits: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rnnc"))
        .args(args)
        .env("RNNC_VECTOR_BITS", bits)
        .current_dir(root())
        .output()
        .expect("rnnc runs")
}

/// `RNNC_VECTOR_BITS` picks the JIT's width for `rnnc verify` (every case passes at 128 bits,
/// and at 256 where this CPU has AVX2; the default, the widest, is what the golden tests
/// run); `--vector-bits` picks it for the IR and objects, and overrides the variable; a
/// width rnnc does not emit, or the target lacks, is an error that names the widths there
/// are.
#[test]
fn the_vector_width_is_chosen_by_flag_or_environment() {
    let out = rnnc_with_vector_bits("128", &["verify", "tests/golden"]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("240 passed, 0 failed"));
    let host_has_avx2 =
        cfg!(target_arch = "x86_64") && rnnc::codegen::host_target(Some(256)).is_ok();
    if host_has_avx2 {
        let out = rnnc_with_vector_bits("256", &["verify", "tests/golden/torch-lstm"]);
        assert!(out.status.success(), "{}", text(&out.stdout));
    } else {
        println!("the 256-bit verify run skipped: this CPU lacks AVX2");
    }
    for (bits, says) in [
        (
            "512",
            "RNNC_VECTOR_BITS=512: rnnc does not emit 512-bit vectors",
        ),
        ("wide", "RNNC_VECTOR_BITS=wide: expected a number of bits"),
    ] {
        let out = rnnc_with_vector_bits(bits, &["verify", "tests/golden/torch-rnn/case_011.json"]);
        assert!(!out.status.success());
        assert!(text(&out.stdout).contains(says), "{}", text(&out.stdout));
    }

    let header = |out: &Output| {
        text(&out.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    let ir = ["specs/torch_doc.toml", "--emit", "ir", "--target"];
    let x86 = [&ir[..], &["x86_64-unknown-linux-gnu"]].concat();
    let out = rnnc_with_vector_bits("128", &x86);
    assert!(
        header(&out).contains("vector=128 registers=16"),
        "{}",
        header(&out)
    );
    let out = rnnc_with_vector_bits("128", &[&x86[..], &["--vector-bits", "256"]].concat());
    assert!(
        header(&out).contains("vector=256 registers=16"),
        "{}",
        header(&out)
    );
    let arm = [&ir[..], &["aarch64-unknown-linux-gnu"]].concat();
    let out = rnnc(&arm);
    assert!(
        header(&out).contains("vector=128 registers=32"),
        "{}",
        header(&out)
    );
    let out = rnnc(&[&arm[..], &["--vector-bits", "256"]].concat());
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains(
            "256-bit vectors: aarch64-unknown-linux-gnu has at most 128-bit vectors in 32 registers"
        ),
        "{}",
        text(&out.stderr)
    );
}
