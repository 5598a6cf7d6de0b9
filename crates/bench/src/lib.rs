//! Benchmarks of rnnc's forward calls: the configurations everyone measures
//! (`benches/configs.toml`, [`config`]) and the timing `rnnc bench` and the criterion
//! benches report ([`timing`]).

#![deny(missing_docs)]

pub mod config;
pub mod timing;

pub use config::{BenchConfig, BenchError, ConfigProblem};
