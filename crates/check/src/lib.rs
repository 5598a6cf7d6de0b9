//! Checking rnnc against PyTorch, and its engines against each other.
//!
//! - [`case`]: reference cases computed by PyTorch (a JSON configuration beside a
//!   safetensors file), what `rnnc verify` reads;
//! - [`Engine`]: the ways to run a model: native code (`rnnc`'s runtime), the interpreter of
//!   the optimized kernel IR, and the reference semantics;
//! - [`verify`]: running a case through an engine and comparing with torch's results within
//!   the named tolerance;
//! - [`interp_forward`], [`interp_forward_parts`] and [`interp_steps`]: the interpreter
//!   engine for one pipeline configuration, for the tests that check passes and schedules.
//!
//! The runtime (`rnnc`) knows nothing of this: it runs models; this crate judges them.

pub mod case;
mod engine;
mod interp;
pub mod verify;

pub use engine::{Engine, step_loop};

use rnnc_spec::{Element, Model, State, StateView, Tensor, TensorView, Weights};

/// Why a check could not be made (not: why it failed; that is a report).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Native code could not run the case: the runtime's error.
    #[error(transparent)]
    Runtime(#[from] rnnc::Error),
    /// A case that cannot be read (the case files' fault).
    #[error(transparent)]
    Case(#[from] case::CaseError),
    /// The reference refused the call (the case's fault).
    #[error(transparent)]
    Reference(#[from] rnnc_reference::Error),
    /// A compiler pass produced invalid IR (a bug in rnnc).
    #[error(transparent)]
    Pipeline(#[from] rnnc_ir::PipelineError),
    /// The interpreter stopped on an invalid access (a bug in rnnc).
    #[error("interpreter: {0}")]
    Interp(#[from] rnnc_interp::InterpError),
    /// The arguments do not fit the model (the caller's fault).
    #[error(transparent)]
    Call(#[from] rnnc_spec::CallError),
    /// Memory for a result could not be allocated.
    #[error(transparent)]
    OutOfMemory(#[from] rnnc_spec::AllocError),
    /// A tensor whose data does not match its shape (the caller's fault).
    #[error(transparent)]
    Tensor(#[from] rnnc_spec::TensorError),
    /// A stepped loop's input that is not `(L, N, H_in)` or `(L, H_in)` (the caller's
    /// fault).
    #[error("{0}")]
    Steps(String),
    /// An engine's result of the wrong shape (a bug in rnnc).
    #[error("engine result mismatch: {message}")]
    Mismatch {
        /// What differs.
        message: String,
    },
}

/// Runs the interpreter engine with a given pipeline configuration: compile, pack, interpret.
/// For tests and tools that check passes one configuration at a time.
pub fn interp_forward<T: Element>(
    model: &Model,
    config: &rnnc_ir::PipelineConfig,
    weights: &Weights,
    input: TensorView<'_, T>,
    hx: Option<StateView<'_, T>>,
    lengths: Option<&[usize]>,
) -> Result<(Tensor<T>, State<T>), Error> {
    interp::run_model(model, config, 1, weights, input, hx, lengths)
}

/// The interpreter engine's stepped loop of a cell module's model with a given pipeline
/// configuration (see [`Engine::steps`]): compile, pack, then one interpreted call per
/// step of `input` `(L, N, H_in)` or `(L, H_in)`, the states carried; with
/// `config.parallel`, each step's schedule run part by part as `parts` threads would.
pub fn interp_steps<T: Element>(
    model: &Model,
    config: &rnnc_ir::PipelineConfig,
    parts: usize,
    weights: &Weights,
    input: TensorView<'_, T>,
    hx: Option<StateView<'_, T>>,
) -> Result<(Tensor<T>, State<T>), Error> {
    interp::run_steps(model, config, parts, weights, input, hx)
}

/// Like [`interp_forward`], with the schedule of a multi-threaded pass run part by part as
/// `parts` threads would (`config.parallel` must be set).
pub fn interp_forward_parts<T: Element>(
    model: &Model,
    config: &rnnc_ir::PipelineConfig,
    parts: usize,
    weights: &Weights,
    input: TensorView<'_, T>,
    hx: Option<StateView<'_, T>>,
    lengths: Option<&[usize]>,
) -> Result<(Tensor<T>, State<T>), Error> {
    interp::run_model(model, config, parts, weights, input, hx, lengths)
}
