//! `rnnc bench [CONFIGS.toml...]`: time `forward_into` on each benchmark configuration.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use rnnc::CompileOptions;
use rnnc_bench::BenchConfig;
use rnnc_bench::timing::{BenchSettings, bench, bench_callers};

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Files of configurations (the format of benches/configs.toml); the default is the
    /// RNN's (configs.toml) and the LSTM's and GRU's (gated.toml) of the checkout rnnc was
    /// built from.
    #[arg(default_values_os_t = default_configs())]
    configs: Vec<PathBuf>,

    /// Threads per call; several (`--threads 1,2`) are measured interleaved, each line
    /// then also gives its speed relative to the first count's.
    #[arg(long, value_delimiter = ',', default_value = "1")]
    threads: Vec<usize>,

    /// One JSON object per configuration and line, instead of a table.
    #[arg(long)]
    json: bool,

    /// Only configurations whose name contains this text.
    #[arg(long)]
    filter: Option<String>,

    /// Only the configuration of exactly this name.
    #[arg(long, conflicts_with = "filter")]
    only: Option<String>,

    /// Threads calling one compiled model at once, each timing its own calls: prints the
    /// median, 99th percentile and slowest call (one thread count at a time).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    callers: u16,

    /// Seconds of measurement per configuration.
    #[arg(long, default_value_t = 1.0)]
    seconds: f64,

    /// Bits of the code's vectors, 128 or 256 [default: RNNC_VECTOR_BITS when set, else
    /// the widest this machine has].
    #[arg(long, value_name = "BITS")]
    vector_bits: Option<u32>,

    /// Cranelift's optimization level.
    #[arg(long, value_enum, default_value = "none")]
    opt_level: OptLevelArg,

    /// Switch a pass off (repeatable), to measure what it brings.
    #[arg(long, value_name = "PASS", value_parser = |s: &str| s.parse::<rnnc::ir::PassId>())]
    disable: Vec<rnnc::ir::PassId>,

    /// Switch on a pass that is off by default (fuse-epilogue).
    #[arg(long, value_name = "PASS", value_parser = |s: &str| s.parse::<rnnc::ir::PassId>())]
    enable: Vec<rnnc::ir::PassId>,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum OptLevelArg {
    Speed,
    None,
}

/// The benchmark configurations of the checkout this binary was built from: absolute
/// paths, so that `rnnc bench` finds them from any directory.
fn default_configs() -> Vec<PathBuf> {
    ["configs.toml", "gated.toml"]
        .into_iter()
        .map(|file| {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../benches")
                .join(file);
            path.canonicalize().unwrap_or(path)
        })
        .collect()
}

pub fn run(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let mut configs = Vec::new();
    for path in &args.configs {
        configs.extend(BenchConfig::load(path).map_err(anyhow::Error::msg)?);
    }
    let path = args
        .configs
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    if !(args.seconds > 0.0 && args.seconds <= 600.0) {
        anyhow::bail!("--seconds must be in (0, 600], got {}", args.seconds);
    }
    if args.threads.contains(&0) {
        anyhow::bail!("--threads must be at least 1");
    }
    let settings = BenchSettings {
        threads: args.threads.clone(),
        measure: Duration::from_secs_f64(args.seconds),
        ..BenchSettings::default()
    };
    if args.callers > 1 {
        return run_callers(args, &path, &configs, &settings);
    }
    let relative = args.threads.len() > 1;
    if !args.json {
        let mut header = format!(
            "{:<22} {:>7} {:>12} {:>9} {:>11}",
            "config", "threads", "median us", "GFLOP/s", "compile ms"
        );
        if relative {
            header += &format!(" {:>9}", format!("vs {}", args.threads[0]));
        }
        crate::print_out(&format!("{header}\n"))?;
    }
    let selected = select(args, &configs);
    if selected.is_empty() {
        anyhow::bail!("no configuration in {path} matches");
    }
    for config in selected {
        let results = bench(config, &options(args), &settings)?;
        for result in &results {
            let mut line = if args.json {
                result.to_json()
            } else {
                format!(
                    "{:<22} {:>7} {:>12.2} {:>9.2} {:>11.1}",
                    result.name, result.threads, result.median_us, result.gflops, result.compile_ms
                )
            };
            if relative && !args.json {
                line += &format!(" {:>8.2}x", results[0].median_us / result.median_us);
            }
            crate::print_out(&format!("{line}\n"))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The configurations `--filter` and `--only` select.
fn select<'c>(args: &BenchArgs, configs: &'c [BenchConfig]) -> Vec<&'c BenchConfig> {
    configs
        .iter()
        .filter(|c| {
            args.filter
                .as_ref()
                .is_none_or(|f| c.name.contains(f.as_str()))
        })
        .filter(|c| args.only.as_ref().is_none_or(|n| c.name == *n))
        .collect()
}

/// The compile options the arguments ask for.
fn options(args: &BenchArgs) -> CompileOptions {
    CompileOptions {
        opt_level: match args.opt_level {
            OptLevelArg::Speed => rnnc::codegen::OptLevel::Speed,
            OptLevelArg::None => rnnc::codegen::OptLevel::None,
        },
        pipeline: rnnc::ir::PipelineConfig::with_changes(&args.disable, &args.enable),
        vector_bits: args.vector_bits,
        ..CompileOptions::default()
    }
}

/// `--callers N`: the latency of calls made by N threads at once.
fn run_callers(
    args: &BenchArgs,
    path: &str,
    configs: &[BenchConfig],
    settings: &BenchSettings,
) -> anyhow::Result<ExitCode> {
    let selected = select(args, configs);
    if selected.is_empty() {
        anyhow::bail!("no configuration in {path} matches");
    }
    if !args.json {
        crate::print_out(&format!(
            "{:<22} {:>7} {:>7} {:>11} {:>11} {:>11} {:>9}\n",
            "config", "threads", "callers", "median us", "p99 us", "max us", "calls"
        ))?;
    }
    for config in selected {
        for &threads in &args.threads {
            let r = bench_callers(
                config,
                &options(args),
                threads,
                args.callers.into(),
                settings,
            )?;
            let line = if args.json {
                r.to_json()
            } else {
                format!(
                    "{:<22} {:>7} {:>7} {:>11.2} {:>11.2} {:>11.2} {:>9}",
                    r.name, r.threads, r.callers, r.median_us, r.p99_us, r.max_us, r.calls
                )
            };
            crate::print_out(&format!("{line}\n"))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
