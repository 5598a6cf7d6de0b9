//! The layer graph: one node per projection and per (layer, direction) recurrence, with the
//! schedule decisions that the graph passes make.
//!
//! This is the level where the RNN is still visible and where rnnc decides how to compute
//! it: where biases are added, whether a layer's input projection is hoisted into one GEMM
//! over all time steps, whether the activation is fused into the recurrence, how weights
//! are packed and how register blocks are shaped. Lowering turns the decisions into loops.
//! Invariants, checked by [`verify_graph`](crate::verify_graph):
//! - a layer has one recurrence per direction, in direction order;
//! - a recurrence reads a hoisted projection exactly when one projection of its layer
//!   covers its direction;
//! - with `bias = true` each of `bias_ih`, `bias_hh` of a direction is added exactly once
//!   (alone or folded), in the projection or the recurrence; with `bias = false` never;
//! - block shapes fit the panel layout and the 16 vector registers.

use rnnc_kernel::{Scalar, Target};
use rnnc_spec::{Nonlinearity, ParamKind};

mod build;
mod text;
mod verify;

pub use build::build_graph;
pub use text::{GraphParseError, parse_graph};
pub use verify::{GraphVerifyError, verify_graph};

/// A bias vector added to pre-activations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BiasRef {
    /// `bias_ih` alone.
    Ih,
    /// `bias_hh` alone.
    Hh,
    /// `bias_ih + bias_hh`, summed once when weights are packed.
    Folded,
}

impl BiasRef {
    /// The torch biases it stands for.
    pub fn kinds(self) -> &'static [ParamKind] {
        match self {
            BiasRef::Ih => &[ParamKind::BiasIh],
            BiasRef::Hh => &[ParamKind::BiasHh],
            BiasRef::Folded => &[ParamKind::BiasIh, ParamKind::BiasHh],
        }
    }

    fn text(self) -> &'static str {
        match self {
            BiasRef::Ih => "ih",
            BiasRef::Hh => "hh",
            BiasRef::Folded => "ih+hh",
        }
    }
}

/// How a weight matrix is laid out in the packed buffer, and so how kernels read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// torch's row-major `(rows, cols)`: kernels take dot products along rows (vectors
    /// over the reduction dimension, then `reduce_add`).
    Torch,
    /// Panels of `width` rows, column-major inside a panel (`[panel][k][row]`), rows
    /// padded with zeros to a multiple of the vector width: kernels broadcast one input
    /// element and multiply-add a whole panel column into a block of accumulators.
    Panels {
        /// Rows per panel, a multiple of the vector lanes.
        width: usize,
    },
}

/// The register block of a panel kernel: accumulators for `rows` output rows times `cols`
/// columns (sequences or time steps), and `rest_rows` rows for leftover single columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    /// Output rows per block in the main loop (a multiple of the vector lanes).
    pub rows: usize,
    /// Columns per block in the main loop.
    pub cols: usize,
    /// Output rows per block for the columns left over (one at a time).
    pub rest_rows: usize,
}

impl Block {
    /// One vector of rows, one column: no register blocking.
    pub fn unblocked(lanes: usize) -> Block {
        Block {
            rows: lanes,
            cols: 1,
            rest_rows: lanes,
        }
    }
}

/// Where a recurrence gets `W_ih x_t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecInput {
    /// From the layer's hoisted projection `P`.
    Projected,
    /// Computed at each step inside the recurrence (per-step fusion).
    Fused,
}

/// Whether the activation runs on the accumulators or in a separate pass over a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Epilogue {
    /// Pre-activations are stored to a buffer; a second loop adds biases, activates, masks
    /// and stores.
    Separate,
    /// Done on the accumulators before they leave registers.
    Fused,
}

/// `P = bias + X W_ih^T` for every time step and sequence, for one or both directions
/// (rows stacked: forward then reverse).
#[derive(Clone, Debug, PartialEq)]
pub struct Projection {
    /// Directions whose `weight_ih` rows it computes.
    pub directions: Vec<usize>,
    /// Biases that initialize each element, in this order.
    pub bias: Vec<BiasRef>,
    /// Layout of the stacked `weight_ih`.
    pub layout: Layout,
    /// Register block (panel layouts only).
    pub block: Block,
}

/// `h_t = act(pre_t)` for one direction of one layer, where `pre_t` is `P_t` (or
/// `W_ih x_t`) plus `W_hh h_(t-1)` plus the listed biases.
#[derive(Clone, Debug, PartialEq)]
pub struct Recurrence {
    /// 0 forward, 1 reverse.
    pub direction: usize,
    /// Where `W_ih x_t` comes from.
    pub input: RecInput,
    /// Biases added to the accumulated sum, in this order.
    pub bias: Vec<BiasRef>,
    /// Fused or separate activation.
    pub epilogue: Epilogue,
    /// Layout of `weight_hh` (and `weight_ih` when the input is fused).
    pub layout: Layout,
    /// Register block (panel layouts only).
    pub block: Block,
}

/// One layer: an optional hoisted projection, then one recurrence per direction.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    /// The hoisted input projection, if any.
    pub projection: Option<Projection>,
    /// One per direction, in direction order.
    pub recurrences: Vec<Recurrence>,
}

/// A model as a sequence of layers with schedule decisions.
#[derive(Clone, Debug, PartialEq)]
pub struct Graph {
    /// The model's name.
    pub name: String,
    /// Element type.
    pub dtype: Scalar,
    /// Vector width of the code to emit.
    pub target: Target,
    /// `H_in`.
    pub input_size: usize,
    /// `H`.
    pub hidden_size: usize,
    /// `D`: 1 or 2.
    pub directions: usize,
    /// tanh or relu.
    pub nonlinearity: Nonlinearity,
    /// Whether the model has biases.
    pub bias: bool,
    /// Input and output rows are `(b, t)` instead of `(t, b)`.
    pub batch_first: bool,
    /// The layers, in order.
    pub layers: Vec<Layer>,
}

impl Graph {
    /// Vector lanes of the dtype on the target.
    pub fn lanes(&self) -> usize {
        self.target.lanes(self.dtype) as usize
    }
    /// Features layer `l` reads per step.
    pub fn layer_input_size(&self, layer: usize) -> usize {
        if layer == 0 {
            self.input_size
        } else {
            self.directions * self.hidden_size
        }
    }
    /// `H` rounded up to whole vectors: the stride of directions in `P` and of states.
    pub fn padded_hidden(&self) -> usize {
        self.hidden_size.div_ceil(self.lanes()) * self.lanes()
    }
}
