//! rnnc's middle: the layer graph, the passes, and the pipeline from a validated model to
//! verified kernel IR.
//!
//! - The **layer graph** ([`graph`]): one node per hoisted projection and per (layer,
//!   direction) recurrence, carrying the schedule decisions of the graph passes (bias
//!   folding, hoisting, epilogue fusion, weight packing, register blocking).
//! - The **passes** ([`passes`]), one file each (the lowering, a folder): graph -> graph,
//!   graph -> kernel IR (`lower`), kernel IR -> kernel IR.
//! - The **pipeline** ([`run_pipeline`], [`compile_ir`], [`compile_legal`]): one table of
//!   passes for both levels, verification after every pass, stopping after any.
//!
//! The kernel IR itself is its own crate (`rnnc-kernel`, re-exported as [`kernel`]), which
//! the interpreter and the code generator depend on alone. This crate does not depend on
//! Cranelift.

pub mod graph;
pub mod passes;
mod pipeline;

pub use graph::{
    BiasRef, BiasTerm, Block, Epilogue, Gates, Graph, GraphLocation, GraphParseError, GraphProblem,
    GraphVerifyError, Layer, Layout, Projection, RecInput, Recurrence, build_graph, parse_graph,
    verify_graph,
};
pub use pipeline::{
    PassId, PipelineConfig, PipelineError, Stage, compile_ir, compile_legal, run_pipeline,
};
/// The kernel IR (`rnnc-kernel`): what lowering produces and the kernel passes transform.
#[doc(inline)]
pub use rnnc_kernel as kernel;
