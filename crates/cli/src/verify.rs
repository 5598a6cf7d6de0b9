//! `rnnc verify`: run cases computed by PyTorch and compare within the named tolerance.

use std::path::PathBuf;
use std::process::ExitCode;

use rnnc::Engine;
use rnnc::case::{Case, collect_case_paths};
use rnnc::verify::run_case;

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// Engine to run the cases with [default: the fastest available: jit, else reference; one of: jit, interp, reference].
    #[arg(long, value_parser = parse_engine)]
    engine: Option<Engine>,

    /// Case files (NAME.json beside NAME.safetensors) or directories of cases.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

fn parse_engine(s: &str) -> Result<Engine, String> {
    s.parse()
}

pub fn run(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let engine = args.engine.unwrap_or_else(Engine::fastest);
    let paths = collect_case_paths(&args.paths)?;
    let (mut passed, mut failed) = (0, 0);
    for path in &paths {
        let report = Case::load(path)
            .map_err(rnnc::Error::from)
            .and_then(|case| run_case(&case, engine));
        match report {
            Ok(report) => {
                crate::print_out(&format!("{report}\n"))?;
                if report.passed {
                    passed += 1;
                } else {
                    failed += 1;
                }
            }
            Err(error) => {
                let name = path.file_stem().unwrap_or_default().to_string_lossy();
                crate::print_out(&format!("{name:<12} error: {error}\n"))?;
                failed += 1;
            }
        }
    }
    crate::print_out(&format!(
        "{passed} passed, {failed} failed (engine: {engine})\n"
    ))?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
