//! rnnc's intermediate representation: where specialization happens.
//!
//! Two levels, each printable, parseable and verified after every pass:
//! - the **layer graph** ([`Graph`]): one node per hoisted projection and per (layer,
//!   direction) recurrence, carrying the schedule decisions of the graph passes (bias
//!   folding, hoisting, epilogue fusion, weight packing, register blocking);
//! - the **kernel IR** ([`Module`]): `pack` and `forward` functions of counted loops over
//!   typed registers and buffers, with vector instructions, that the interpreter executes
//!   and codegen translates one instruction at a time.
//!
//! [`run_pipeline`] goes from a validated [`Model`](rnnc_spec::Model) to either level,
//! stopping after any pass. This crate does not depend on Cranelift.

#![deny(missing_docs)]

mod build;
pub mod builder;
mod graph;
mod kernel;
mod parse;
pub mod passes;
mod pipeline;
mod size;
mod types;
mod verify;
mod write;

pub use build::build_graph;
pub use graph::{
    BiasRef, Block, Epilogue, Graph, GraphParseError, GraphVerifyError, Layer, Layout, Projection,
    RecInput, Recurrence, parse_graph, verify_graph,
};
pub use kernel::*;
pub use parse::{ParseError, parse_module};
pub use pipeline::{PassId, PipelineConfig, PipelineError, Stage, compile_ir, run_pipeline};
pub use size::Size;
pub use types::{MAX_LANES, Scalar, Target, Type};
pub use verify::{Level, VerifyError, verify_function, verify_module};
pub use write::InstDisplay;
