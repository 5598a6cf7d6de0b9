//! rnnc's code generator: legal kernel IR -> Cranelift IR -> machine code.
//!
//! One translate function per IR instruction kind ([`translate`]), used through
//! [`define_kernels`], which is generic over `cranelift_module::Module`: the JIT
//! ([`compile_jit`]) and object files differ only in the module they build. Kernels are
//! SIMD at the width of the IR's target (128-bit, or 256-bit AVX2 on x86-64: [`target_for`])
//! with fused multiply-add, and call nothing. [`emit_clif`] and [`emit_asm`]
//! print the generated code annotated with the IR it came from.
//!
//! This crate holds no `unsafe`: it produces code and pointers to it; calling them is the
//! runtime's job.

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
pub use isa::{
    Cpu, OptLevel, VECTOR_BITS_ENV, X86_FEATURES, check_target, cpu_features, host_isa,
    host_target, host_triple, target_for, target_isa, widest_target,
};
pub use jit::{JitCode, PERF_MAP_ENV, compile_jit};
pub use listing::{emit_asm, emit_clif};
pub use object::emit_object;

/// Why code could not be generated. The errors of Cranelift, the disassembler and the OS
/// are the [`source`](std::error::Error::source) of the variant that carries them, not part
/// of its message (`rnnc` prints the chain).
#[derive(Debug, thiserror::Error)]
pub enum CodegenError {
    /// `cranelift_native` cannot generate code for this machine (environment).
    #[error("this machine is not supported: {reason}")]
    UnsupportedHost {
        /// `cranelift_native`'s reason.
        reason: &'static str,
    },
    /// An x86-64 ISA without AVX or FMA (environment: this machine's CPU; for a target
    /// triple a bug in rnnc, which enables both itself).
    #[error(
        "{isa} lacks {}: rnnc's kernels need AVX and FMA (x86-64-v3); without them every \
         fused multiply-add would become a call to fmaf",
        .missing.join(" and ")
    )]
    MissingFeatures {
        /// `this machine`, or the target triple.
        isa: String,
        /// The features it lacks: `AVX`, `FMA` or both.
        missing: Vec<&'static str>,
    },
    /// A CPU (`--cpu`) that rnnc does not compile objects for (user's fault).
    #[error("cannot compile for CPU `{asked}`: {reason}")]
    Cpu {
        /// The name asked for.
        asked: String,
        /// Why not, naming what can be had.
        reason: String,
    },
    /// A vector width that rnnc does not emit or the ISA does not have (user's fault: the
    /// options, `--vector-bits` or `RNNC_VECTOR_BITS`; or the IR was compiled for a wider
    /// target than the ISA it is given to).
    #[error("{asked}: {reason}")]
    VectorWidth {
        /// What asked for it, e.g. `RNNC_VECTOR_BITS=512` or `256-bit vectors`.
        asked: String,
        /// Why it cannot be had, naming what can.
        reason: String,
    },
    /// Cranelift refused one of the settings or ISA flags rnnc sets, which are fixed (a bug
    /// in rnnc).
    #[error("cannot set Cranelift's `{name}` to `{value}`")]
    Setting {
        /// The setting or ISA flag.
        name: &'static str,
        /// Its value.
        value: &'static str,
        /// Cranelift's error.
        #[source]
        source: cranelift_codegen::settings::SetError,
    },
    /// Cranelift could not build an ISA from rnnc's settings (a bug in rnnc).
    #[error("Cranelift cannot build the ISA of {isa}")]
    Isa {
        /// `this machine`, or the target triple.
        isa: String,
        /// Cranelift's error.
        #[source]
        source: cranelift_codegen::CodegenError,
    },
    /// A `--target` that is not a target triple (user's fault).
    #[error(
        "`{triple}` is not a target triple ({reason}); try x86_64-unknown-linux-gnu or \
         aarch64-unknown-linux-gnu"
    )]
    NotATriple {
        /// The text given.
        triple: String,
        /// Why `target_lexicon` cannot read it (which implements no `Error` to be a source).
        reason: target_lexicon::ParseError,
    },
    /// A target triple of an architecture rnnc does not emit (user's fault).
    #[error(
        "`{triple}`: architecture {architecture} is not supported; rnnc emits x86_64 and aarch64"
    )]
    UnsupportedArchitecture {
        /// The triple.
        triple: String,
        /// Its architecture.
        architecture: target_lexicon::Architecture,
    },
    /// A target triple of an object format rnnc does not write (user's fault).
    #[error(
        "`{triple}`: object format {format} is not supported; rnnc writes ELF, Mach-O and COFF"
    )]
    UnsupportedFormat {
        /// The triple.
        triple: String,
        /// Its object format.
        format: target_lexicon::BinaryFormat,
    },
    /// A target triple with neither an operating system nor ELF objects (user's fault).
    #[error("`{triple}`: unknown operating system")]
    UnknownOperatingSystem {
        /// The triple.
        triple: String,
    },
    /// Cranelift has no back end for a target triple (user's fault, or a build of Cranelift
    /// without it).
    #[error("`{triple}`: Cranelift cannot generate code for it")]
    NoBackend {
        /// The triple.
        triple: String,
        /// Cranelift's error.
        #[source]
        source: cranelift_codegen::isa::LookupError,
    },
    /// `--emit asm` for an architecture without a disassembler (user's fault).
    #[error("no disassembler for {architecture}")]
    NoDisassembler {
        /// The ISA's architecture.
        architecture: target_lexicon::Architecture,
    },
    /// The disassembler failed (a bug in rnnc).
    #[error("the disassembler failed")]
    Disassembler(#[source] capstone::Error),
    /// The IR is not legal for codegen (a bug in rnnc: the pipeline should have legalized
    /// and verified it). The message names the construct, in IR text.
    #[error("codegen: {0}")]
    Illegal(String),
    /// Cranelift refused a module operation: declaring, defining or finalizing a function
    /// or data object (a bug in rnnc).
    #[error("cranelift: cannot {action}")]
    Module {
        /// What rnnc asked of the module, e.g. `define NAME_forward`.
        action: String,
        /// Cranelift's error (boxed: it can hold two function signatures).
        #[source]
        source: Box<cranelift_module::ModuleError>,
    },
    /// Cranelift could not compile a function for `--emit asm` (a bug in rnnc).
    #[error("cranelift: cannot compile {symbol}")]
    Compile {
        /// The function's symbol.
        symbol: String,
        /// Cranelift's error.
        #[source]
        source: cranelift_codegen::CodegenError,
    },
    /// The object file could not be written (a bug in rnnc).
    #[error("cranelift: cannot write the object file")]
    Object(#[source] cranelift_object::object::write::Error),
    /// Cranelift IR could not be printed for `--emit clif` (a bug in rnnc).
    #[error("cannot print the Cranelift IR of {symbol}")]
    Print {
        /// The function's symbol.
        symbol: String,
        /// The formatter's error.
        #[source]
        source: std::fmt::Error,
    },
    /// The perf map that `RNNC_PERF_MAP` asks for could not be written (environment).
    #[error("{PERF_MAP_ENV}: cannot write {path}")]
    PerfMap {
        /// The map's path.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}
