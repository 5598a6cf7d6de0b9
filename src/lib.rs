//! rnnc: PyTorch's `torch.nn.RNN`, `torch.nn.LSTM` and `torch.nn.GRU`, and their cell modules
//! `torch.nn.RNNCell`, `LSTMCell` and `GRUCell`, compiled for the CPU.
//!
//! Compile a model once ([`CompiledRnn`]), pack its weights once ([`CompiledRnn::pack`]),
//! then call [`forward`](CompiledRnn::forward) as often as you like, from as many threads
//! as you like. Shapes, defaults and error messages are torch's.
//!
//! ```
//! use rnnc::{CompiledRnn, RnnSpec, TensorView, Weights};
//!
//! // nn.RNN(10, 20, 2), the example of torch's documentation.
//! let model = RnnSpec::builder(10, 20).num_layers(2).build()?;
//! let rnn = CompiledRnn::new(&model)?;
//!
//! // Weights from PyTorch: Weights::load(&model, path, &LoadOptions::default()) reads
//! // `safetensors.torch.save_file(rnn.state_dict(), path)`. Here, torch's initialization.
//! let weights = rnn.pack(&Weights::init(&model, 0))?;
//!
//! // input: (L, N, H_in) = (5, 3, 10); no h0 (zeros), no lengths (all 5 steps).
//! let x = vec![0.5f32; 5 * 3 * 10];
//! let (output, state) = rnn.forward(&weights, TensorView::new(&[5, 3, 10], &x)?, None, None)?;
//! assert_eq!(output.shape(), [5, 3, 20]);
//! assert_eq!(state.h.shape(), [2, 3, 20]); // torch's h_n
//!
//! // An initial state h0 (torch's `rnn(x, h0)`): StateView::from(h0).
//! let h0 = vec![0.1f32; 2 * 3 * 20];
//! let h0 = TensorView::new(&[2, 3, 20], &h0)?;
//! let (_, state) = rnn.forward(&weights, TensorView::new(&[5, 3, 10], &x)?, Some(h0.into()), None)?;
//! assert_eq!(state.h.shape(), [2, 3, 20]);
//!
//! // Wrong shapes are errors with torch's messages, found before any native code runs.
//! let bad = vec![0.5f32; 5 * 3 * 7];
//! let err = rnn.forward(&weights, TensorView::new(&[5, 3, 7], &bad)?, None, None).unwrap_err();
//! assert_eq!(err.to_string(), "input.size(-1) must be equal to input_size. Expected 10, got 7");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! An LSTM (here with projections) takes and returns `h` and `c` together, as torch does:
//!
//! ```
//! use rnnc::{CellKind, CompiledRnn, RnnSpec, StateView, TensorView, Weights};
//!
//! // nn.LSTM(10, 20, proj_size=5): h has 5 features, c 20.
//! let model = RnnSpec::builder(10, 20).cell(CellKind::Lstm).proj_size(5).build()?;
//! let rnn = CompiledRnn::new(&model)?;
//! let weights = rnn.pack(&Weights::init(&model, 0))?;
//! let x = vec![0.5f32; 4 * 10];
//! let (h0, c0) = (vec![0.0f32; 5], vec![0.0f32; 20]);
//! let hx = StateView { h: TensorView::new(&[1, 5], &h0)?, c: Some(TensorView::new(&[1, 20], &c0)?) };
//! let (output, state) = rnn.forward(&weights, TensorView::new(&[4, 10], &x)?, Some(hx), None)?;
//! assert_eq!(output.shape(), [4, 5]);
//! assert_eq!(state.c.unwrap().shape(), [1, 20]); // torch's c_n
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A cell module (`torch.nn.LSTMCell`, `RNNCell`, `GRUCell`) computes one step per call, and
//! its caller loops over the steps, as in torch (`h, c = cell(x[t], (h, c))`):
//! [`CompiledRnn::step`] returns the new states, and [`CompiledRnn::step_into`] writes them
//! into the caller's memory without allocating:
//!
//! ```
//! use rnnc::{CellKind, CompiledRnn, ForwardContext, RnnSpec, State, TensorView, Weights};
//!
//! // nn.LSTMCell(128, 128), the decoder of Silero VAD.
//! let model = RnnSpec::builder(128, 128).cell(CellKind::LstmCell).build()?;
//! let cell = CompiledRnn::new(&model)?;
//! let weights = cell.pack(&Weights::init(&model, 0))?;
//! let frames: Vec<f32> = (0..10 * 128).map(|i| (i as f32 * 0.01).sin()).collect();
//!
//! // hx = None (zeros) at first, then the state the step before returned.
//! let mut state: Option<State<f32>> = None;
//! for x in frames.chunks(128) {
//!     let x = TensorView::new(&[1, 128], x)?; // (N, H_in): one step of one sequence
//!     state = Some(cell.step(&weights, x, state.as_ref().map(State::view))?);
//! }
//! let state = state.unwrap();
//! assert_eq!(state.h.shape(), [1, 128]); // torch's h'
//! assert_eq!(state.c.as_ref().unwrap().shape(), [1, 128]); // and c'
//!
//! // The same loop allocating nothing: a reserved context and two states, swapped.
//! let mut ctx = ForwardContext::new();
//! ctx.reserve(&cell, 1, 1)?;
//! let first = TensorView::new(&[1, 128], &frames[..128])?;
//! let (mut now, mut next) = (cell.step(&weights, first, None)?, state.clone());
//! for x in frames.chunks(128).skip(1) {
//!     let x = TensorView::new(&[1, 128], x)?;
//!     cell.step_into(&weights, &mut ctx, x, Some(now.view()), next.view_mut())?;
//!     std::mem::swap(&mut now, &mut next);
//! }
//! assert_eq!(now, state); // bit for bit
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Also here: [`CompiledRnn::forward_into`] (caller-provided outputs, no allocation),
//! [`CompiledRnn::stream`] (a sequence fed in chunks) and [`compile_aot`] (an object file and
//! a C header). Checking rnnc against PyTorch lives in the `rnnc-check` crate, benchmarks in
//! `rnnc-bench`.

#![deny(unsafe_code)]

mod aot;
mod barrier;
mod compiled;
/// The interpreter of kernel IR (`rnnc-interp`): the oracle native code matches bit for
/// bit; with [`interpreter::arg`] and [`interpreter::arg_mut`] for a model's elements.
pub mod interpreter;
// Calling the JIT's code needs `unsafe`; this module alone may use it, and its
// documentation states the invariants that make each use sound.
#[allow(unsafe_code)]
mod native;
mod stream;
mod workers;

// The README's Rust quick start runs as a doc-test of this crate, so that it cannot rot
// (its other snippets are run by tools/tests/test_docs.py).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}

pub use aot::{AotOutput, compile_aot, pack_by_interpretation};
pub use compiled::{
    CompileOptions, CompiledRnn, ForwardContext, MIN_FLOPS_PER_THREAD, PackedWeights,
};
/// Code generation (`rnnc-codegen`): kernel IR to Cranelift, the JIT, object files,
/// listings, and the ISAs of this machine and of other targets.
#[doc(inline)]
pub use rnnc_codegen as codegen;
/// The layer graph, the passes and the pipeline (`rnnc-ir`), with its configuration
/// ([`ir::PipelineConfig`], used by [`CompileOptions`]).
#[doc(inline)]
pub use rnnc_ir as ir;
/// The kernel IR (`rnnc-kernel`): what the pipeline produces and the interpreter and codegen
/// take ([`CompiledRnn::ir`]).
#[doc(inline)]
pub use rnnc_kernel as kernel;
pub use rnnc_spec::{
    AllocError, Arg, ArgSource, ArgValue, BorrowedTensor, CallError, CallShape, Cell, CellKind,
    DType, Element, KERNEL_ALIGN, LoadOptions, MAX_LAYERS, MAX_PARAMETERS, MAX_SIZE, MAX_STATES,
    Model, ModelParam, Nonlinearity, ParamKind, RnnSpec, RnnSpecBuilder, SpecError, SpecErrorKind,
    SpecErrors, SpecFile, State, StateKind, StateView, StateViewMut, Tensor, TensorData,
    TensorError, TensorView, TensorViewMut, UnknownCell, UnknownDType, UnknownMode,
    UnknownNonlinearity, Weights, WeightsError,
};
pub use stream::{Stream, StreamError, StreamState};

/// Everything that can go wrong in rnnc's runtime API.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Arguments of a forward call that do not fit the model (caller's fault).
    #[error(transparent)]
    Call(#[from] CallError),
    /// A tensor whose data does not match its shape (caller's fault).
    #[error(transparent)]
    Tensor(#[from] TensorError),
    /// Weights that are not the model's (user's fault).
    #[error(transparent)]
    Weights(#[from] WeightsError),
    /// The pass pipeline refused the compile options or produced invalid IR (whose fault
    /// each [`PipelineError`](rnnc_ir::PipelineError) variant says).
    #[error(transparent)]
    Pipeline(#[from] rnnc_ir::PipelineError),
    /// Code generation failed: this machine cannot run rnnc's kernels or the OS refused
    /// (environment), a target triple rnnc cannot emit (user's fault), or a bug in rnnc;
    /// each [`CodegenError`](rnnc_codegen::CodegenError) variant says which.
    #[error(transparent)]
    Codegen(#[from] rnnc_codegen::CodegenError),
    /// The interpreter failed to pack weights for an object file (a bug in rnnc: it ran
    /// verified IR on buffers of the sizes the IR declares).
    #[error("packing the weights by interpretation failed")]
    Interpretation(#[source] rnnc_interp::InterpError),
    /// Weights packed by another compiled model (caller's fault).
    #[error("these weights were packed for another compiled model (pack them with this one)")]
    ForeignWeights,
    /// A call too large to address (caller's fault).
    #[error(
        "a call of {seq_len} steps and {batch} sequences is too large: its buffers cannot be addressed"
    )]
    TooLarge {
        /// The call's sequence length.
        seq_len: usize,
        /// The call's batch.
        batch: usize,
    },
    /// Memory for an output or a workspace could not be allocated: the environment's
    /// limit, reached by the size of the call the caller made.
    #[error(transparent)]
    OutOfMemory(#[from] rnnc_spec::AllocError),
    /// A stream that cannot start or take a chunk (caller's fault).
    #[error(transparent)]
    Stream(#[from] StreamError),
    /// Compile options that cannot produce native code (caller's fault).
    #[error("invalid compile options: {0}")]
    Options(String),
    /// Parameters for [`CompiledRnn::pack_slices`] that are not the model's, in
    /// `state_dict` order (caller's fault).
    #[error(
        "pack_slices needs the model's {} parameters in state_dict order with their lengths \
         {expected:?}; got lengths {found:?}",
        .expected.len()
    )]
    ParamLengths {
        /// The model's parameters' lengths, in `state_dict` order.
        expected: Vec<usize>,
        /// The slices' lengths.
        found: Vec<usize>,
    },
    /// The worker threads of a multi-threaded model could not be started (environment).
    #[error("cannot start {workers} worker threads")]
    Threads {
        /// The workers asked for: the call's threads but the calling one.
        workers: usize,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Compiled kernels that do not fit the runtime's calling convention, or a size check
    /// right before a native call that failed (a bug in rnnc: the pipeline makes the
    /// kernels, and the runtime checks the caller's arguments earlier, with torch's
    /// messages).
    #[error("{0}")]
    Native(String),
}
