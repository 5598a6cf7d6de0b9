//! `rnnc SPEC.toml [--emit WHAT] [--stop-after PASS]`: the main command.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use rnnc::SpecFile;
use rnnc::codegen::{OptLevel, emit_asm, emit_clif, host_isa};
use rnnc::ir::{PassId, PipelineConfig, compile_ir, run_pipeline};

use crate::describe::describe;

/// What the main command prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Emit {
    /// The model: parameter names and shapes, parameter count, FLOPs per step.
    Describe,
    /// The kernel IR after every pass (or the IR after `--stop-after`).
    Ir,
    /// Cranelift IR as translated, annotated with the kernel IR each part came from.
    Clif,
    /// Machine code for this host, disassembled and annotated with the kernel IR.
    Asm,
}

#[derive(clap::Args, Debug)]
pub struct EmitArgs {
    /// What to print.
    #[arg(long, value_enum, default_value = "describe")]
    emit: Emit,

    /// Print the IR after this pass instead of the whole pipeline (implies --emit ir). One of:
    /// build, fold-bias, hoist, fuse-epilogue, pack-weights, block, lower, unroll,
    /// expand-tanh, legalize.
    #[arg(long, value_name = "PASS", value_parser = parse_pass)]
    stop_after: Option<PassId>,

    /// Switch a pass off (repeatable), e.g. to see what it changes.
    #[arg(long, value_name = "PASS", value_parser = parse_pass)]
    disable: Vec<PassId>,
}

fn parse_pass(s: &str) -> Result<PassId, String> {
    s.parse()
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
        anyhow::bail!("pass `{pass}` cannot be switched off");
    }
    if args.emit == Emit::Describe && args.stop_after.is_none() {
        crate::print_out(&describe(&model))?;
        return Ok(ExitCode::SUCCESS);
    }
    let config = PipelineConfig {
        disabled: args.disable.clone(),
        ..PipelineConfig::default()
    };
    match args.emit {
        Emit::Clif | Emit::Asm if args.stop_after.is_some() => {
            anyhow::bail!("--stop-after prints IR; it does not combine with --emit clif or asm")
        }
        Emit::Clif | Emit::Asm => {
            if !config.is_codegen_ready() {
                anyhow::bail!("code generation needs the expand-tanh and legalize passes");
            }
            let ir = compile_ir(&model, &config)?;
            let isa = host_isa(OptLevel::Speed)?;
            let text = if args.emit == Emit::Clif {
                emit_clif(&ir, &*isa)?
            } else {
                emit_asm(&ir, &*isa)?
            };
            crate::print_out(&text)?;
        }
        Emit::Describe | Emit::Ir => {
            let stage = run_pipeline(&model, &config, args.stop_after)?;
            crate::print_out(&stage.to_string())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
