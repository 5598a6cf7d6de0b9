//! `rnnc SPEC.toml [--emit WHAT] [--stop-after PASS]`: the main command.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use rnnc::SpecFile;
use rnnc::ir::{PassId, PipelineConfig, run_pipeline};

use crate::describe::describe;

/// What the main command prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Emit {
    /// The model: parameter names and shapes, parameter count, FLOPs per step.
    Describe,
    /// The kernel IR after every pass (or the IR after `--stop-after`).
    Ir,
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
    let stage = run_pipeline(&model, &config, args.stop_after)?;
    crate::print_out(&stage.to_string())?;
    Ok(ExitCode::SUCCESS)
}
