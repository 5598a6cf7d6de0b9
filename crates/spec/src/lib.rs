//! rnnc's front end: what an RNN is, before any compilation.
//!
//! - [`RnnSpec`] is what a user wrote (torch's constructor arguments read by
//!   [`SpecFile`] from a spec file, a table of another file, a JSON case or a Python dict,
//!   or [`RnnSpec::builder`]); [`RnnSpec::validate`] is the only way to a [`Model`], so
//!   every later stage sees checked sizes and flags.
//! - [`Weights`] are a model's parameters under torch's `state_dict` names and shapes,
//!   loaded from or saved to safetensors.
//! - [`CallShape::check`] resolves the tensors of a forward call against a model with
//!   torch's rules and messages; every engine calls it before touching data.
//!
//! Nothing here panics on user input: malformed TOML, wrong types, unknown keys, bad
//! safetensors bytes and wrong shapes are all typed errors that say what was expected and
//! what was found.

mod call;
mod cell;
mod error;
mod model;
mod parse;
mod spec;
mod state;
mod tensor;
mod validate;
mod weights;
mod weights_file;

pub use call::{CallError, CallShape, Dims};
pub use cell::{Cell, MAX_STATES, StateKind};
pub use error::{SpecError, SpecErrorKind, SpecErrors};
pub use model::{Model, ModelParam, ParamKind, param_name, state_dict_order};
pub use parse::{Arg, ArgSource, ArgValue, KNOWN_KEYS, SpecFile, default_name};
pub use spec::{
    CellKind, DEFAULT_NAME, DType, Nonlinearity, RnnSpec, RnnSpecBuilder, UnknownCell,
    UnknownDType, UnknownMode, UnknownNonlinearity,
};
pub use state::{Shapes, State, StateView, StateViewMut};
pub use tensor::{
    AllocError, Element, KERNEL_ALIGN, Tensor, TensorData, TensorError, TensorView, TensorViewMut,
    aligned_start, try_aligned, try_resize, try_zeroed,
};
pub use validate::{MAX_LAYERS, MAX_NAME_LEN, MAX_PARAMETERS, MAX_SIZE};
pub use weights::{BorrowedTensor, TensorProblem, Weights, WeightsError};
pub use weights_file::LoadOptions;
