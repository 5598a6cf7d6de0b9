//! `rnnc verify`: run cases computed by PyTorch and compare within the named tolerance.

use std::path::PathBuf;
use std::process::ExitCode;

use rnnc_check::Engine;
use rnnc_check::case::{Case, collect_case_paths};
use rnnc_check::verify::run_case;

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// Engine to run the cases with [default: the fastest available: jit, else reference; one of: jit, interp, reference].
    #[arg(long, value_parser = parse_engine)]
    engine: Option<Engine>,

    /// Threads per call: the jit engine splits every call between them, the interp engine
    /// runs the same schedule part by part and checks that the parts never race.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    threads: u16,

    /// Case files (NAME.json beside NAME.safetensors) or directories of cases (searched with
    /// their subdirectories).
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
            .map_err(rnnc_check::Error::from)
            .and_then(|case| {
                for warning in &case.warnings {
                    eprintln!("warning: {warning}");
                }
                run_case(&case, engine, args.threads.into())
            });
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
        "{passed} passed, {failed} failed (engine: {engine}, threads: {})\n",
        args.threads
    ))?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
