//! Ahead of time, for real: `rnnc` emits an object and a header, the system C compiler
//! links them with `tests/c/harness.c`, and the program runs the PyTorch cases (RNN, LSTM
//! and GRU, and the cell modules' stepped loops through `NAME_step`). On x86-64
//! natively; on aarch64 with Debian's cross compiler under qemu (installed by `.ci/run`;
//! `RNNC_SKIP_CROSS=1` skips that part on machines without them).

use std::path::{Path, PathBuf};
use std::process::Command;

use rnnc::{CompileOptions, CompiledRnn, DType, Element, TensorData};
use rnnc_check::case::{Case, collect_case_paths};
use rnnc_check::step_loop;
use rnnc_check::verify::{scaled_error, tolerance};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The cases of torch.nn.RNN, torch.nn.LSTM and torch.nn.GRU, then the stepped loops of
/// torch.nn.RNNCell, LSTMCell and GRUCell.
fn cases() -> Vec<Case> {
    let dirs = [
        "torch-rnn",
        "torch-lstm",
        "torch-gru",
        "torch-rnn-cell",
        "torch-lstm-cell",
        "torch-gru-cell",
    ]
    .map(|d| root().join("tests/golden").join(d));
    collect_case_paths(&dirs)
        .unwrap()
        .iter()
        .map(|p| Case::load(p).unwrap())
        .collect()
}

/// A case's results as raw bytes: the output, then each final state (`h_n`, `c_n`).
type Results = Vec<(&'static str, Vec<u8>)>;

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A C toolchain for one target.
struct Toolchain {
    triple: String,
    cc: &'static str,
    cc_args: &'static [&'static str],
    runner: Option<&'static str>,
    /// `--vector-bits` for the objects and the JIT they are compared with (`None`: both
    /// at their defaults, the widest the target and this machine have).
    vector_bits: Option<u32>,
}

fn bytes_of(data: &TensorData) -> Vec<u8> {
    fn le<T: Element>(v: &[T]) -> Vec<u8> {
        let mut out = Vec::new();
        v.iter().for_each(|x| x.extend_le(&mut out));
        out
    }
    match data {
        TensorData::F32(v) => le(v),
        TensorData::F64(v) => le(v),
    }
}

/// What native code on this machine computes for the case at `vector_bits`, as raw bytes
/// (a cell module's case stepped with `CompiledRnn::step`).
fn jit_bytes(case: &Case, vector_bits: Option<u32>) -> Results {
    fn go<T: Element>(case: &Case, vector_bits: Option<u32>) -> Results {
        let input = case.input.view::<T>().unwrap();
        let options = CompileOptions {
            vector_bits,
            ..CompileOptions::default()
        };
        let rnn = CompiledRnn::with_options(&case.model, &options).unwrap();
        let packed = rnn.pack(&case.weights).unwrap();
        let (out, state) = if case.model.is_cell_module() {
            step_loop(input, case.initial(), |x, h| Ok(rnn.step(&packed, x, h)?)).unwrap()
        } else {
            rnn.forward(&packed, input, case.initial(), case.lengths.as_deref())
                .unwrap()
        };
        let mut results = vec![("output", bytes_of(&T::wrap(out.into_data())))];
        for (kind, _) in case.finals() {
            let t = state.get(kind).unwrap();
            results.push((kind.last(), bytes_of(&T::wrap(t.data().to_vec()))));
        }
        results
    }
    match case.model.dtype() {
        DType::F32 => go::<f32>(case, vector_bits),
        DType::F64 => go::<f64>(case, vector_bits),
    }
}

fn decode(bytes: &[u8], dtype: DType) -> Vec<f64> {
    match dtype {
        DType::F32 => bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64)
            .collect(),
        DType::F64 => bytes
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect(),
    }
}

/// Emits, compiles, links and runs one case; returns the program's output and final
/// states' bytes.
fn run_case(case: &Case, tc: &Toolchain, bake: bool, dir: &Path) -> Results {
    std::fs::create_dir_all(dir).unwrap();
    let name = &case.name;
    let mut spec = case.model.spec().clone();
    spec.name = name.clone();
    let spec_path = dir.join(format!("{name}.toml"));
    std::fs::write(&spec_path, spec.to_string()).unwrap();
    let mut rnnc = Command::new(env!("CARGO_BIN_EXE_rnnc"));
    rnnc.arg(&spec_path)
        .arg("-o")
        .arg(dir)
        .arg("--target")
        .arg(&tc.triple);
    if let Some(bits) = tc.vector_bits {
        rnnc.arg("--vector-bits").arg(bits.to_string());
    }
    if bake {
        let weights = dir.join("weights.safetensors");
        case.weights.save(&weights).unwrap();
        rnnc.arg("--weights").arg(weights);
    } else {
        let mut params = Vec::new();
        for (_, data) in case.weights.iter() {
            params.extend(bytes_of(data));
        }
        std::fs::write(dir.join("params.bin"), params).unwrap();
    }
    run(&mut rnnc);
    let object = dir.join(format!("{name}.o"));
    // The object needs nothing from anywhere: no undefined symbols.
    let undefined = run(Command::new("nm").arg("-u").arg(&object));
    assert!(
        undefined.trim().is_empty(),
        "{name}: undefined symbols: {undefined}"
    );
    std::fs::write(dir.join("input.bin"), bytes_of(&case.input.data)).unwrap();
    for (file, tensor) in [("h0.bin", &case.h0), ("c0.bin", &case.c0)] {
        if let Some(t) = tensor {
            std::fs::write(dir.join(file), bytes_of(&t.data)).unwrap();
        }
    }
    if let Some(lengths) = &case.lengths {
        let bytes: Vec<u8> = lengths
            .iter()
            .flat_map(|&n| (n as i64).to_le_bytes())
            .collect();
        std::fs::write(dir.join("lengths.bin"), bytes).unwrap();
    }
    let program = dir.join("harness");
    run(c_compiler(tc, dir, name)
        .arg(format!("-DRNN_LSTM={}", u8::from(case.c_n.is_some())))
        .arg(format!(
            "-DRNN_CELL={}",
            u8::from(case.model.is_cell_module())
        ))
        .arg(root().join("tests/c/harness.c"))
        .arg(&object)
        .arg("-o")
        .arg(&program));
    let (seq_len, batch) = match (case.input.shape.len(), case.model.batch_first()) {
        (2, _) => (case.input.shape[0], 1),
        (_, false) => (case.input.shape[0], case.input.shape[1]),
        (_, true) => (case.input.shape[1], case.input.shape[0]),
    };
    let mut cmd = match tc.runner {
        Some(runner) => {
            let mut c = Command::new(runner);
            c.arg(&program);
            c
        }
        None => Command::new(&program),
    };
    run(cmd.arg(dir).args([
        seq_len.to_string(),
        batch.to_string(),
        u8::from(case.h0.is_some()).to_string(),
        u8::from(case.lengths.is_some()).to_string(),
    ]));
    let mut results = vec![("output", std::fs::read(dir.join("output.bin")).unwrap())];
    for (kind, _) in case.finals() {
        let file = dir.join(format!("{}.bin", kind.last()));
        results.push((kind.last(), std::fs::read(file).unwrap()));
    }
    results
}

/// Every case, half with the weights baked in: matches PyTorch within the tolerance and
/// this machine's JIT bit for bit.
fn check_toolchain(tc: &Toolchain) {
    let width = tc.vector_bits.map_or("default".into(), |b| b.to_string());
    let base = std::env::temp_dir().join(format!(
        "rnnc-aot-{}-{width}-{}",
        tc.triple,
        std::process::id()
    ));
    let mut checked = 0;
    for (i, case) in cases().iter().enumerate() {
        let bake = i % 2 == 1;
        // Case names repeat between the sets: a directory per case.
        let results = run_case(case, tc, bake, &base.join(format!("{i:03}")));
        let dtype = case.model.dtype();
        let torch = std::iter::once(("output", &case.output))
            .chain(case.finals().into_iter().map(|(k, t)| (k.last(), t)));
        for ((what, got), (_, torch)) in results.iter().zip(torch) {
            let got = decode(got, dtype);
            let want = decode(&bytes_of(&torch.data), dtype);
            assert_eq!(got.len(), want.len(), "{}: {what} length", case.name);
            let worst = got
                .iter()
                .zip(&want)
                .map(|(g, w)| scaled_error(*g, *w))
                .fold(0.0, f64::max);
            assert!(
                worst <= tolerance(dtype),
                "{} on {}: {what} off by {worst:e}",
                case.name,
                tc.triple
            );
        }
        assert!(
            results == jit_bytes(case, tc.vector_bits),
            "{} on {}: not bit-identical to the JIT",
            case.name,
            tc.triple
        );
        checked += 1;
    }
    assert_eq!(checked, 240);
    let _ = std::fs::remove_dir_all(base);
}

#[test]
fn c_programs_linked_with_host_objects_match_pytorch_and_the_jit() {
    check_toolchain(&Toolchain {
        triple: rnnc::codegen::host_triple(),
        cc: "cc",
        cc_args: &[],
        runner: None,
        vector_bits: None,
    });
}

/// x86-64 objects are 256-bit code by default; at 128 bits they match PyTorch and the
/// 128-bit JIT too.
#[test]
fn host_objects_at_128_bits_match_pytorch_and_the_128_bit_jit() {
    check_toolchain(&Toolchain {
        triple: rnnc::codegen::host_triple(),
        cc: "cc",
        cc_args: &[],
        runner: None,
        vector_bits: Some(128),
    });
}

#[test]
fn aarch64_objects_under_qemu_match_pytorch_and_the_jit() {
    if !cross_tools_available() {
        eprintln!("skipped: RNNC_SKIP_CROSS is set");
        return;
    }
    check_toolchain(&Toolchain {
        triple: "aarch64-unknown-linux-gnu".into(),
        cc: "aarch64-linux-gnu-gcc",
        cc_args: &["-static"],
        runner: Some("qemu-aarch64"),
        // NEON is 128 bits: the same lanes as the 128-bit JIT on x86-64 (the width
        // decides the schedule, e.g. whether an input projection is hoisted, and so the
        // rounding; the registers only the block shapes, which leave it alone).
        vector_bits: Some(128),
    });
}

#[test]
fn headers_compile_as_c_and_cpp() {
    let dir = std::env::temp_dir().join(format!("rnnc-header-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let weights = |spec: &str| {
        let model = rnnc::SpecFile::read(&root().join(spec))
            .unwrap()
            .validate()
            .unwrap();
        let path = dir.join(format!("{}.safetensors", model.name()));
        rnnc::Weights::init(&model, 1).save(&path).unwrap();
        vec!["--weights".to_string(), path.display().to_string()]
    };
    for (spec, extra) in [
        ("specs/kws.toml", vec![]),
        ("specs/bidir_relu_f64.toml", vec![]),
        ("specs/kws.toml", weights("specs/kws.toml")),
        // A cell module's header has its inline NAME_step.
        ("specs/lstm_cell.toml", vec![]),
        ("specs/lstm_cell.toml", weights("specs/lstm_cell.toml")),
    ] {
        let out = dir.join(if extra.is_empty() { "plain" } else { "baked" });
        run(Command::new(env!("CARGO_BIN_EXE_rnnc"))
            .arg(root().join(spec))
            .arg("-o")
            .arg(&out)
            .args(&extra));
        let name = Path::new(spec).file_stem().unwrap().to_str().unwrap();
        let name = if name == "bidir_relu_f64" {
            "tagger"
        } else {
            name
        };
        let source = out.join("use.c");
        std::fs::write(
            &source,
            format!("#include \"{name}.h\"\nint main(void) {{ return 0; }}\n"),
        )
        .unwrap();
        for (compiler, std) in [("cc", "-std=c99"), ("c++", "-std=c++11")] {
            run(Command::new(compiler)
                .args([
                    std,
                    "-pedantic",
                    "-Wall",
                    "-Wextra",
                    "-Werror",
                    "-fsyntax-only",
                ])
                .args(if compiler == "c++" {
                    vec!["-x", "c++"]
                } else {
                    vec![]
                })
                .arg(&source));
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_targets_directories_and_weights_fail_cleanly() {
    let dir = std::env::temp_dir().join(format!("rnnc-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rnnc = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_rnnc"))
            .current_dir(root())
            .args(args)
            .output()
            .unwrap()
    };
    let out_dir = dir.join("out");
    let out = out_dir.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--target", "wasm99-unknown-none"],
            "is not a target triple",
        ),
        (
            vec!["--target", "riscv64gc-unknown-linux-gnu"],
            "architecture riscv64",
        ),
        (
            vec!["--weights", "tests/golden/torch-rnn/case_000.safetensors"],
            "does not fit specs/kws.toml",
        ),
        (
            vec!["--weights", "no/such/file.safetensors"],
            "no/such/file.safetensors",
        ),
    ];
    for (extra, message) in cases {
        let mut args = vec!["specs/kws.toml", "-o", out];
        args.extend(&extra);
        let result = rnnc(&args);
        assert_eq!(result.status.code(), Some(1), "{extra:?}");
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(stderr.contains(message), "{extra:?}: {stderr}");
        // One line, or for weights that do not fit, one line per problem after the first.
        let problems = stderr.lines().filter(|l| l.starts_with("  ")).count();
        assert_eq!(stderr.trim().lines().count(), 1 + problems, "{stderr}");
        assert!(
            !out_dir.exists() || std::fs::read_dir(&out_dir).unwrap().next().is_none(),
            "{extra:?} left files"
        );
    }
    // An output "directory" below a regular file cannot be created.
    let file = dir.join("file");
    std::fs::write(&file, "x").unwrap();
    let below = file.join("out");
    let result = rnnc(&["specs/kws.toml", "-o", below.to_str().unwrap()]);
    assert_eq!(result.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("cannot create output directory"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}

/// The C guide's walkthrough (docs/c.md): tools/c/kws_demo.c against a kws object with baked weights
/// prints what native code computes for the same input.
/// A walkthrough program: `spec` compiled with seeded weights baked in, `program` (a C file
/// of `tools/c/`) built against its object with `defines`; returns what the program prints
/// and what the JIT computes in one call on the walkthroughs' input, 50 frames of
/// `sin(0.01 * i)`, 40 features each.
fn walkthrough(
    dir: &Path,
    spec: &str,
    program: &str,
    defines: &[String],
) -> (String, rnnc::Tensor<f32>, rnnc::State<f32>) {
    let spec = root().join(spec);
    let model = rnnc::SpecFile::read(&spec).unwrap().validate().unwrap();
    let name = model.name().to_string();
    let weights = rnnc::Weights::init(&model, 11);
    let weights_path = dir.join(format!("{name}.safetensors"));
    weights.save(&weights_path).unwrap();
    run(Command::new(env!("CARGO_BIN_EXE_rnnc"))
        .arg(&spec)
        .arg("--weights")
        .arg(&weights_path)
        .arg("-o")
        .arg(dir));
    let binary = dir.join(format!("{name}_demo"));
    run(Command::new("cc")
        .args([
            "-O2",
            "-std=c99",
            "-pedantic",
            "-Wall",
            "-Wextra",
            "-Werror",
        ])
        .args(defines)
        .arg(root().join("tools/c").join(program))
        .arg(dir.join(format!("{name}.o")))
        .arg("-I")
        .arg(dir)
        .args(["-lm", "-o"])
        .arg(&binary));
    let printed = run(&mut Command::new(&binary));
    let rnn = CompiledRnn::new(&model).unwrap();
    let packed = rnn.pack(&weights).unwrap();
    let x: Vec<f32> = (0..50 * 40)
        .map(|i| (0.01 * i as f64).sin() as f32)
        .collect();
    let input = rnnc::TensorView::new(&[50, 40], &x).unwrap();
    let (out, state) = rnn.forward(&packed, input, None, None).unwrap();
    (printed, out, state)
}

/// Four elements as the walkthrough programs print them.
fn four(v: &[f32]) -> String {
    format!("{:.6} {:.6} {:.6} {:.6}", v[0], v[1], v[2], v[3])
}

#[test]
fn the_c_walkthrough_program_prints_what_the_jit_computes() {
    let dir = std::env::temp_dir().join(format!("rnnc-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (printed, out, state) = walkthrough(&dir, "specs/kws.toml", "kws_demo.c", &[]);
    let expected = format!(
        "output[0][0][:4] = {}\nh_n[1][:4]       = {}\n",
        four(out.data()),
        four(&state.h.data()[128..])
    );
    assert_eq!(printed, expected);
    let _ = std::fs::remove_dir_all(dir);
}

/// The walkthrough's streaming program (`tools/c/stream_demo.c`), for the LSTM with
/// projections and the GRU of `specs/`: 50 frames fed in chunks of 10, the states carried
/// from call to call, print what the JIT computes in one call.
#[test]
fn the_c_streaming_program_prints_what_the_jit_computes() {
    let dir = std::env::temp_dir().join(format!("rnnc-stream-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["lstmp", "gru"] {
        let defines = [
            format!("-DMODEL={name}"),
            format!("-DMODEL_UPPER={}", name.to_uppercase()),
            format!("-DMODEL_HEADER=\"{name}.h\""),
        ];
        let spec = format!("specs/{name}.toml");
        let (printed, out, state) = walkthrough(&dir, &spec, "stream_demo.c", &defines);
        let width = out.shape()[1];
        let expected = format!(
            "output[49][:4] = {}\nh_n[0][:4]     = {}\n",
            four(&out.data()[49 * width..]),
            four(state.h.data())
        );
        assert_eq!(printed, expected, "{name}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// The C contract (tests/c/contract.c): misuse the entry point can detect (negative or
/// zero sizes, sizes that overflow, NULL buffers, bad lengths, overlapping buffers) is
/// refused with its status and nothing written, natively and on aarch64 under qemu, by
/// an RNN's `NAME_forward` and an LSTMCell's `NAME_step` (whose steps in a loop equal one
/// `NAME_forward` call over the steps, bit for bit); the CPU requirement is what
/// `NAME_cpu_supported()` reports, here and on emulated x86-64s without AVX (refused),
/// with AVX but not AVX2 (refused) and with x86-64-v3 (accepted).
#[test]
fn the_c_contract_is_checked_at_the_entry_point() {
    let dir = std::env::temp_dir().join(format!("rnnc-contract-{}", std::process::id()));
    let mut toolchains = vec![Toolchain {
        triple: rnnc::codegen::host_triple(),
        cc: "cc",
        cc_args: &[],
        runner: None,
        vector_bits: None,
    }];
    if cross_tools_available() {
        toolchains.push(Toolchain {
            triple: "aarch64-unknown-linux-gnu".into(),
            cc: "aarch64-linux-gnu-gcc",
            cc_args: &["-static"],
            runner: Some("qemu-aarch64"),
            vector_bits: None,
        });
    }
    // An RNN's NAME_forward, and an LSTMCell's NAME_step (RNN_CELL).
    let models = [("torch_doc", false), ("lstm_cell", true)];
    for (tc, (name, cell)) in toolchains
        .iter()
        .flat_map(|tc| models.iter().map(move |m| (tc, *m)))
    {
        let out = dir.join(&tc.triple).join(name);
        run(Command::new(env!("CARGO_BIN_EXE_rnnc"))
            .arg(root().join(format!("specs/{name}.toml")))
            .arg("-o")
            .arg(&out)
            .arg("--target")
            .arg(&tc.triple));
        let program = contract_program(tc, &out, name, cell);
        let mut cmd = match tc.runner {
            Some(runner) => {
                let mut c = Command::new(runner);
                c.arg(&program);
                c
            }
            None => Command::new(&program),
        };
        assert_eq!(run(&mut cmd), "ok\n", "{}", tc.triple);
        if tc.runner.is_none() {
            assert_eq!(run(Command::new(&program).arg("cpu")), "1\n");
            if cfg!(target_arch = "x86_64") && cross_tools_available() {
                // An x86-64 without AVX, FMA or BMI (qemu's baseline model), one with AVX
                // but without AVX2 and FMA (Sandy Bridge): the 256-bit code needs AVX2;
                // and Haswell, the first with all of x86-64-v3.
                let cpu = |model: &str| {
                    run(Command::new("qemu-x86_64")
                        .args(["-cpu", model])
                        .arg(&program)
                        .arg("cpu"))
                };
                assert_eq!(cpu("qemu64"), "0\n");
                assert_eq!(cpu("SandyBridge"), "0\n");
                assert_eq!(cpu("Haswell"), "1\n");
            }
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// `tc`'s C compiler, strict C99 with every warning an error, for a program around
/// `dir/NAME.h` (its name macros defined, `dir` on the include path).
fn c_compiler(tc: &Toolchain, dir: &Path, name: &str) -> Command {
    let mut cc = Command::new(tc.cc);
    cc.args([
        "-std=c99",
        "-pedantic",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-O1",
    ])
    .args(tc.cc_args)
    .arg(format!("-DRNN_HEADER=\"{name}.h\""))
    .arg(format!("-DRNN_NAME={name}"))
    .arg(format!("-DRNN_UPPER={}", name.to_uppercase()))
    .arg("-I")
    .arg(dir);
    cc
}

/// Builds tests/c/contract.c against `out/NAME.o` and its header with `tc`'s compiler, all
/// warnings errors; `cell` for a cell module's header.
fn contract_program(tc: &Toolchain, out: &Path, name: &str, cell: bool) -> PathBuf {
    let program = out.join("contract");
    run(c_compiler(tc, out, name)
        .arg(format!("-DRNN_CELL={}", u8::from(cell)))
        .arg(root().join("tests/c/contract.c"))
        .arg(out.join(format!("{name}.o")))
        .arg("-o")
        .arg(&program));
    program
}

/// `--cpu native`: the object enables the extensions of this machine that rnnc knows
/// (`X86_FEATURES`), its header says `(native)`, and `NAME_cpu_supported()` checks exactly
/// those: 1 here, 0 under qemu's Haswell when this machine has one Haswell lacks (AVX-512).
/// `--cpu x86-64-v2`, and a CPU for an aarch64 object, are refused with the reason.
#[test]
fn native_objects_check_exactly_this_machines_extensions() {
    if !cfg!(target_arch = "x86_64") {
        println!("native_objects_check_exactly_this_machines_extensions: skipped, not x86-64");
        return;
    }
    let out = std::env::temp_dir().join(format!("rnnc-native-{}", std::process::id()));
    let rnnc = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_rnnc"));
        c.arg(root().join("specs/torch_doc.toml"))
            .arg("-o")
            .arg(&out);
        c
    };
    run(rnnc().args(["--cpu", "native"]));
    let header = std::fs::read_to_string(out.join("torch_doc.h")).unwrap();
    let host = rnnc::codegen::host_isa(rnnc::codegen::OptLevel::None).unwrap();
    let want = rnnc::codegen::cpu_features(&*host);
    let checked: Vec<&str> = header
        .split("__builtin_cpu_supports(\"")
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect();
    assert_eq!(checked, want, "{header}");
    assert!(
        header
            .lines()
            .nth(1)
            .unwrap()
            .starts_with(" * (native) with "),
        "{header}"
    );
    let tc = Toolchain {
        triple: rnnc::codegen::host_triple(),
        cc: "cc",
        cc_args: &[],
        runner: None,
        vector_bits: None,
    };
    let program = contract_program(&tc, &out, "torch_doc", false);
    assert_eq!(run(&mut Command::new(&program)), "ok\n");
    assert_eq!(run(Command::new(&program).arg("cpu")), "1\n");
    if want.contains(&"avx512f") && cross_tools_available() {
        let haswell = run(Command::new("qemu-x86_64")
            .args(["-cpu", "Haswell"])
            .arg(&program)
            .arg("cpu"));
        assert_eq!(haswell, "0\n");
    }
    for (args, expected) in [
        (&["--cpu", "x86-64-v2"][..], "it lacks AVX and FMA"),
        (
            &["--cpu", "native", "--target", "aarch64-unknown-linux-gnu"],
            "names an x86-64 CPU, but the target is aarch64-unknown-linux-gnu",
        ),
        (
            &["--cpu", "pentium"],
            "the CPUs are x86-64-v2, x86-64-v3, native",
        ),
    ] {
        let refused = rnnc().args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(
            !refused.status.success() && stderr.contains(expected),
            "{args:?}: {stderr}"
        );
    }
    let _ = std::fs::remove_dir_all(out);
}

/// Debian's aarch64 cross compiler and qemu's user-mode emulators, which `.ci/run`
/// installs; without them (and with `RNNC_SKIP_CROSS=1`) the emulated parts are skipped.
fn cross_tools_available() -> bool {
    let available = |tool: &str| {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let all = ["aarch64-linux-gnu-gcc", "qemu-aarch64", "qemu-x86_64"]
        .iter()
        .all(|t| available(t));
    if !all && std::env::var_os("RNNC_SKIP_CROSS").is_none() {
        panic!(
            "aarch64-linux-gnu-gcc, qemu-aarch64 and qemu-x86_64 are needed (apt-get install \
             gcc-aarch64-linux-gnu qemu-user, as .ci/run does), or set RNNC_SKIP_CROSS=1"
        );
    }
    all
}
