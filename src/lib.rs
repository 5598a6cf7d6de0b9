//! rnnc: PyTorch's `torch.nn.RNN`, compiled ahead of time for the CPU.
//!
//! This facade is what users depend on. It re-exports the front end (specs, models,
//! weights, tensors) and adds what crosses stages: the engines that run a model, and
//! verification against cases computed by PyTorch.
//!
//! ```
//! use rnnc::{RnnSpec, Weights, Engine, TensorView};
//!
//! // nn.RNN(10, 20, 2), the example of torch's documentation.
//! let model = RnnSpec::builder(10, 20).num_layers(2).build()?;
//! let weights = Weights::init(&model, 0);
//! let input = vec![0.5f32; 5 * 3 * 10]; // (L, N, H_in) = (5, 3, 10)
//! let (output, h_n) = Engine::Reference.forward(
//!     &model,
//!     &weights,
//!     TensorView::new(&[5, 3, 10], &input)?,
//!     None,
//!     None,
//! )?;
//! assert_eq!(output.shape(), [5, 3, 20]);
//! assert_eq!(h_n.shape(), [2, 3, 20]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

pub mod case;
mod engine;
mod interp;
pub mod verify;

pub use engine::Engine;
pub use rnnc_interp as interpreter;
pub use rnnc_ir as ir;
pub use rnnc_spec::{
    CallError, CallShape, DType, Element, LoadOptions, Model, Nonlinearity, Param, ParamKind,
    RnnSpec, RnnSpecBuilder, SpecError, SpecErrorKind, SpecErrors, SpecFile, Tensor, TensorData,
    TensorError, TensorView, TensorViewMut, Weights, WeightsError,
};

/// Everything that can go wrong in rnnc's runtime API.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Arguments of a forward call that do not fit the model (caller's fault).
    #[error(transparent)]
    Call(#[from] CallError),
    /// Weights that are not the model's (user's fault).
    #[error(transparent)]
    Weights(#[from] WeightsError),
    /// A case that cannot be read (user's fault).
    #[error(transparent)]
    Case(#[from] case::CaseError),
    /// A compiler pass produced invalid IR (a bug in rnnc).
    #[error(transparent)]
    Pipeline(#[from] rnnc_ir::PipelineError),
    /// The interpreter stopped on an invalid access (a bug in rnnc).
    #[error("interpreter: {0}")]
    Interp(#[from] rnnc_interp::InterpError),
    /// An engine's result of the wrong shape (a bug in rnnc).
    #[error("engine result mismatch: {message}")]
    Mismatch {
        /// What differs.
        message: String,
    },
}

/// Runs the `interp` engine with a given pipeline configuration: compile, pack, interpret.
/// For tests and tools that check passes one configuration at a time.
pub fn interp_forward<T: Element>(
    model: &Model,
    config: &ir::PipelineConfig,
    weights: &Weights,
    input: TensorView<'_, T>,
    h0: Option<TensorView<'_, T>>,
    lengths: Option<&[usize]>,
) -> Result<(Tensor<T>, Tensor<T>), Error> {
    interp::run_model(model, config, weights, input, h0, lengths)
}

impl From<rnnc_reference::Error> for Error {
    fn from(e: rnnc_reference::Error) -> Error {
        match e {
            rnnc_reference::Error::Call(e) => Error::Call(e),
            rnnc_reference::Error::Weights(e) => Error::Weights(e),
        }
    }
}
