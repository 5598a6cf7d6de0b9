//! `rnnc`: the command-line driver.
//!
//! - `rnnc SPEC.toml` reads and validates a spec and compiles the model it defines into
//!   `NAME.o` and `NAME.h` for this machine or `--target`; `--emit describe|ir|clif|asm`
//!   prints the model (`describe`), its kernel IR, Cranelift IR or assembly instead (`emit`);
//! - `rnnc verify [--engine E] PATH...` runs cases computed by PyTorch through an engine
//!   (`verify`);
//! - `rnnc bench [CONFIGS.toml...]` times forward calls on benchmark configurations (`bench`).
//!
//! Results go to stdout; problems go to stderr with a non-zero exit status (1 for a bad
//! input or a failed check, 2 for bad usage).

mod bench;
mod describe;
mod emit;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "rnnc",
    version,
    about = "A compiler for PyTorch's torch.nn.RNN, LSTM and GRU: specs in, specialized CPU kernels out",
    long_about = "A compiler for PyTorch's torch.nn.RNN, LSTM and GRU.\n\n\
        `rnnc SPEC.toml` compiles a spec into NAME.o and NAME.h (a C API) for this machine \
        or --target; --weights bakes a safetensors state_dict into the object. --emit \
        describe|ir|clif|asm prints the model, the optimized IR, Cranelift IR or assembly \
        instead; --stop-after PASS prints the IR after one pass.\n\
        `rnnc verify PATH...` checks rnnc against cases computed by PyTorch.",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// The spec file (TOML) to read, e.g. specs/torch_doc.toml.
    #[arg(required = true)]
    spec: Option<PathBuf>,

    #[command(flatten)]
    emit: emit::EmitArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run cases computed by PyTorch and compare (see tests/golden/README.md).
    Verify(verify::VerifyArgs),
    /// Time forward calls on benchmark configurations (benches/configs.toml).
    Bench(bench::BenchArgs),
}

/// Writes to stdout; a closed pipe (`rnnc ... | head`) ends the output quietly.
pub fn print_out(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match (cli.command, cli.spec) {
        (Some(Command::Verify(args)), _) => verify::run(&args),
        (Some(Command::Bench(args)), _) => bench::run(&args),
        (None, Some(spec)) => emit::run(&spec, &cli.emit),
        (None, None) => unreachable!("clap requires a spec without a subcommand"),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
