//! rnnc's code generator: legal kernel IR -> Cranelift IR -> machine code.
//!
//! One translate function per IR instruction kind ([`translate`]), used through
//! [`define_kernels`], which is generic over `cranelift_module::Module`: the JIT
//! ([`compile_jit`]) and object files differ only in the module they build. Kernels are
//! 128-bit SIMD with fused multiply-add and call nothing. [`emit_clif`] and [`emit_asm`]
//! print the generated code annotated with the IR it came from.
//!
//! This crate holds no `unsafe`: it produces code and pointers to it; calling them is the
//! runtime's job.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod define;
mod entry;
mod isa;
mod jit;
mod listing;
mod object;
pub mod translate;

pub use define::{Entries, Kernels, define_kernels, symbol};
pub use entry::Status;
pub use isa::{OptLevel, host_isa, host_triple, target_isa};
pub use jit::{JitCode, PERF_MAP_ENV, compile_jit};
pub use listing::{emit_asm, emit_clif};
pub use object::emit_object;

/// Why code could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum CodegenError {
    /// The machine cannot run rnnc's kernels, or an ISA setting failed (environment).
    #[error("{0}")]
    Isa(String),
    /// An unknown or unsupported target triple (user's fault).
    #[error("{0}")]
    Target(String),
    /// The IR is not legal for codegen (a bug in rnnc: the pipeline should have legalized
    /// it).
    #[error("codegen: {0}")]
    Illegal(String),
    /// Cranelift refused a function or a module operation (a bug in rnnc).
    #[error("cranelift: {0}")]
    Module(String),
}
