//! `rnnc SPEC.toml [-o DIR] [--target TRIPLE] [--weights FILE] [--emit WHAT]`: the main
//! command. By default it writes `NAME.o` and `NAME.h` for the host.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use rnnc::codegen::{Cpu, OptLevel, emit_asm, emit_clif, host_isa, target_for, target_isa};
use rnnc::ir::{PassId, PipelineConfig, compile_legal, run_pipeline};
use rnnc::{CompileOptions, LoadOptions, Model, SpecFile, Weights, WeightsError, compile_aot};

use crate::describe::describe;

/// What the main command produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Emit {
    /// NAME.o and NAME.h in the output directory.
    Obj,
    /// The model: parameter names and shapes, parameter count, FLOPs per step.
    Describe,
    /// The optimized kernel IR, after the last pass (`--stop-after PASS`: after PASS).
    Ir,
    /// Cranelift IR as translated, annotated with the kernel IR each part came from.
    Clif,
    /// Machine code for the target, disassembled and annotated with the kernel IR.
    Asm,
}

#[derive(clap::Args, Debug)]
pub struct EmitArgs {
    /// What to produce.
    #[arg(long, value_enum, default_value = "obj")]
    emit: Emit,

    /// Directory for NAME.o and NAME.h (created if missing).
    #[arg(short = 'o', long = "out-dir", value_name = "DIR", default_value = ".")]
    out_dir: PathBuf,

    /// Target triple, e.g. x86_64-unknown-linux-gnu or aarch64-unknown-linux-gnu
    /// [default: this machine's].
    #[arg(long, value_name = "TRIPLE")]
    target: Option<String>,

    /// Bits of the code's vectors: 128, or 256 on x86-64 (AVX2) [default: RNNC_VECTOR_BITS
    /// when set, else the widest the target has: 256 on x86-64, 128 on aarch64].
    #[arg(long, value_name = "BITS")]
    vector_bits: Option<u32>,

    /// The x86-64 CPU of the object (and of listings): x86-64-v3 (AVX2 and FMA: Intel
    /// Haswell, AMD Zen and later) or native (every extension this machine has that rnnc
    /// knows); NAME_cpu_supported() checks exactly what it enables. x86-64-v2 is refused:
    /// it lacks FMA [default: x86-64-v3; listings without --target or --cpu show the code
    /// the JIT runs here].
    #[arg(long, value_name = "CPU", value_parser = parse_cpu)]
    cpu: Option<Cpu>,

    /// Bake these weights (a safetensors file of the state_dict) into the object: forward
    /// then takes no weights argument and there is no pack function. Checked against the
    /// spec whatever is emitted (--emit describe says whether they fit).
    #[arg(long, value_name = "FILE.safetensors")]
    weights: Option<PathBuf>,

    /// Name prefix of the RNN's tensors in the weights file, e.g. encoder.rnn.
    #[arg(long, value_name = "PREFIX", default_value = "", requires = "weights")]
    prefix: String,

    /// Print the IR after this pass instead (implies --emit ir). One of: build, fold-bias,
    /// hoist, fuse-epilogue, pack-weights, block, lower, unroll, expand-tanh, legalize.
    #[arg(long, value_name = "PASS", value_parser = parse_pass)]
    stop_after: Option<PassId>,

    /// Switch a pass off (repeatable), e.g. to see what it changes.
    #[arg(long, value_name = "PASS", value_parser = parse_pass)]
    disable: Vec<PassId>,

    /// Switch on a pass that is off by default (fuse-epilogue).
    #[arg(long, value_name = "PASS", value_parser = parse_pass)]
    enable: Vec<PassId>,

    /// Lower to the multi-threaded schedule's phase functions instead of `forward` (what a
    /// model compiled for several threads runs); for --emit ir, clif and asm.
    #[arg(long)]
    threaded: bool,
}

fn parse_pass(s: &str) -> Result<PassId, String> {
    s.parse()
}

fn parse_cpu(s: &str) -> Result<Cpu, String> {
    s.parse()
        .map_err(|e: rnnc::codegen::CodegenError| e.to_string())
}

pub fn run(path: &Path, args: &EmitArgs) -> anyhow::Result<ExitCode> {
    let file = SpecFile::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let model = match file.validate() {
        Ok(model) => model,
        Err(errors) => {
            eprint!("{}", errors.render());
            return Ok(ExitCode::FAILURE);
        }
    };
    if let Some(pass) = args.disable.iter().find(|p| !PassId::OPTIONAL.contains(p)) {
        bail!("pass `{pass}` cannot be switched off");
    }
    // The optimization level the runtime and object files use, so that listings show the
    // code that runs.
    let opt_level = OptLevel::default();
    if let (Some(cpu), Some(triple)) = (args.cpu, &args.target)
        && !triple.starts_with("x86_64")
    {
        bail!(
            "--cpu {} names an x86-64 CPU, but the target is {triple}: objects for other \
             architectures take no --cpu",
            cpu.name()
        );
    }
    let isa = match (&args.target, args.cpu) {
        (None, None) => host_isa(opt_level)?,
        (triple, cpu) => target_isa(
            triple.as_deref().unwrap_or(&rnnc::codegen::host_triple()),
            cpu.unwrap_or_default(),
            opt_level,
        )?,
    };
    let pipeline = PipelineConfig {
        target: target_for(&*isa, args.vector_bits)?,
        parallel: args.threaded,
        ..PipelineConfig::with_changes(&args.disable, &args.enable)
    };
    let emit = if args.stop_after.is_some() {
        if !matches!(args.emit, Emit::Obj | Emit::Ir) {
            bail!(
                "--stop-after prints IR; it does not combine with --emit {:?}",
                args.emit
            );
        }
        Emit::Ir
    } else {
        args.emit
    };
    if args.threaded && matches!(emit, Emit::Obj | Emit::Describe) {
        bail!(
            "--threaded applies to --emit ir, clif and asm; object files hold the single-threaded forward"
        );
    }
    // Weights that do not fit are an error whatever is emitted, never silently ignored.
    let weights = match &args.weights {
        Some(weights) => Some(load_weights(&model, weights, &args.prefix, path)?),
        None => None,
    };
    match emit {
        Emit::Describe => {
            let mut text = describe(&model);
            if let (Some(file), Some(w)) = (&args.weights, &weights) {
                text += &format!(
                    "\nweights: {} fits this spec ({} tensors{})\n",
                    file.display(),
                    w.iter().count(),
                    if args.prefix.is_empty() {
                        String::new()
                    } else {
                        format!(" under the prefix `{}`", args.prefix)
                    }
                );
            }
            crate::print_out(&text)?
        }
        Emit::Ir => {
            crate::print_out(&run_pipeline(&model, &pipeline, args.stop_after)?.to_string())?
        }
        Emit::Clif | Emit::Asm => {
            if !pipeline.is_codegen_ready() {
                bail!("code generation needs the expand-tanh and legalize passes");
            }
            let ir = compile_legal(&model, &pipeline)?;
            let text = if emit == Emit::Clif {
                emit_clif(&ir, &*isa)?
            } else {
                emit_asm(&ir, &*isa)?
            };
            crate::print_out(&text)?;
        }
        Emit::Obj => {
            let options = CompileOptions {
                pipeline,
                vector_bits: args.vector_bits,
                cpu: args.cpu.unwrap_or_default(),
                ..CompileOptions::default()
            };
            write_object(&model, &options, args, weights.as_ref(), path)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads weights for `model`: a file that does not fit the spec says so, and lists every
/// problem one per line; a file that cannot be read or is not safetensors says that.
fn load_weights(model: &Model, file: &Path, prefix: &str, spec: &Path) -> anyhow::Result<Weights> {
    Weights::load(model, file, &LoadOptions::with_prefix(prefix)).map_err(|e| match e {
        WeightsError::Mismatch(_) => anyhow::Error::new(e).context(format!(
            "{} does not fit {}",
            file.display(),
            spec.display()
        )),
        WeightsError::Format(_) => anyhow::Error::new(e).context(format!("{}", file.display())),
        WeightsError::Io { .. } => anyhow::Error::new(e),
    })
}

fn write_object(
    model: &Model,
    options: &CompileOptions,
    args: &EmitArgs,
    weights: Option<&Weights>,
    spec: &Path,
) -> anyhow::Result<()> {
    let triple = args
        .target
        .clone()
        .unwrap_or_else(rnnc::codegen::host_triple);
    let out = compile_aot(
        model,
        options,
        &triple,
        weights,
        &spec.display().to_string(),
    )?;
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("cannot create output directory {}", args.out_dir.display()))?;
    let object = args.out_dir.join(format!("{}.o", model.name()));
    let header = args.out_dir.join(format!("{}.h", model.name()));
    write_atomically(&[(&object, &out.object), (&header, out.header.as_bytes())])?;
    let cpu = if triple.starts_with("x86_64") {
        format!(", {}", options.cpu.name())
    } else {
        String::new()
    };
    eprintln!(
        "wrote {} and {} ({triple}{cpu}{})",
        object.display(),
        header.display(),
        if weights.is_some() {
            ", weights baked in"
        } else {
            ""
        }
    );
    Ok(())
}

/// Writes every file under a temporary name first and renames them into place only when
/// all are written: an error leaves no partial output behind.
fn write_atomically(files: &[(&Path, &[u8])]) -> anyhow::Result<()> {
    let temp = |p: &Path| {
        let mut name = p.as_os_str().to_owned();
        name.push(format!(".rnnc-tmp-{}", std::process::id()));
        PathBuf::from(name)
    };
    let mut written = Vec::new();
    let result = (|| -> anyhow::Result<()> {
        for (path, bytes) in files {
            let t = temp(path);
            std::fs::write(&t, bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
            written.push(t);
        }
        for (path, _) in files {
            std::fs::rename(temp(path), path)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        Ok(())
    })();
    if result.is_err() {
        for t in written {
            let _ = std::fs::remove_file(t);
        }
    }
    result
}
