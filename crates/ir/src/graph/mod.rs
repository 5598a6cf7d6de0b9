//! The layer graph: one node per projection and per (layer, direction) recurrence, with the
//! schedule decisions that the graph passes make.
//!
//! This is the level where the RNN is still visible and where rnnc decides how to compute
//! it: where biases are added, whether a layer's input projection is hoisted into one GEMM
//! over all time steps, whether the activation is fused into the recurrence, how weights
//! are packed and how register blocks are shaped. Lowering turns the decisions into loops.
//! Invariants, checked by [`verify_graph`]:
//! - a layer has one recurrence per direction, in direction order;
//! - a recurrence reads a hoisted projection exactly when one projection of its layer
//!   covers its direction;
//! - every recurrence computes the same cell (the model's);
//! - with `bias = true` each of `bias_ih`, `bias_hh` of a direction is added exactly once
//!   to every gate (alone or folded, for all gates or a group of them), in the projection
//!   or the recurrence; with `bias = false` never; `bias_hh` of a gate whose recurrent part
//!   the cell keeps apart (GRU's `n`) is neither folded nor in a projection;
//! - block shapes fit the panel layout and the target's vector registers.

use rnnc_kernel::{Scalar, Target};
use rnnc_spec::{Cell, ParamKind, StateKind};

mod build;
mod text;
mod verify;

pub use build::build_graph;
pub use text::{GraphParseError, parse_graph};
pub use verify::{GraphLocation, GraphProblem, GraphVerifyError, verify_graph};

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

/// The gates a bias term is added to, in torch's gate order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gates {
    /// Every gate of the cell.
    All,
    /// Gates `first..end`, fewer than all.
    Range(usize, usize),
}

impl Gates {
    /// Whether gate `g` of a cell of `count` gates is among them.
    pub fn contains(self, g: usize, count: usize) -> bool {
        match self {
            Gates::All => g < count,
            Gates::Range(first, end) => (first..end.min(count)).contains(&g),
        }
    }
}

/// A bias added to the pre-activations of some gates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BiasTerm {
    /// Which bias vectors.
    pub bias: BiasRef,
    /// To which gates' rows.
    pub gates: Gates,
}

impl BiasTerm {
    /// Whether the term may be added to the input side of `cell`'s pre-activations (in a
    /// hoisted projection, or summed with the recurrent product): not when it holds
    /// `bias_hh` of a gate whose recurrent part the cell keeps apart (GRU's `b_hn`, which
    /// `r` multiplies).
    pub fn input_side(self, cell: Cell) -> bool {
        self.bias == BiasRef::Ih
            || !cell
                .split_gates()
                .iter()
                .any(|&g| self.gates.contains(g, cell.gates()))
    }

    /// `bias` added to every gate.
    pub fn all(bias: BiasRef) -> BiasTerm {
        BiasTerm {
            bias,
            gates: Gates::All,
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
/// columns (sequences or time steps); the columns left over go in blocks of `pair_rows`
/// rows times two columns (if not 0), then one at a time with `rest_rows` rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    /// Output rows per block in the main loop (a multiple of the vector lanes).
    pub rows: usize,
    /// Columns per block in the main loop.
    pub cols: usize,
    /// Output rows per two-column block of the columns left over; 0 for none (always
    /// after a main block of at most two columns, which leaves at most one).
    pub pair_rows: usize,
    /// Output rows per block for the last columns left over (one at a time).
    pub rest_rows: usize,
}

impl Block {
    /// One vector of rows, one column: no register blocking.
    pub fn unblocked(lanes: usize) -> Block {
        Block {
            rows: lanes,
            cols: 1,
            pair_rows: 0,
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
    pub bias: Vec<BiasTerm>,
    /// Layout of the stacked `weight_ih`.
    pub layout: Layout,
    /// Register block (panel layouts only).
    pub block: Block,
}

/// One direction of one layer: at each step, the cell's pre-activations `pre_t` (`G * H`
/// rows: `P_t` or `W_ih x_t`, plus `W_hh h_(t-1)`, plus the listed biases), then the cell's
/// epilogue (for the Elman cell, `h_t = act(pre_t)`).
#[derive(Clone, Debug, PartialEq)]
pub struct Recurrence {
    /// The cell computed.
    pub cell: Cell,
    /// 0 forward, 1 reverse.
    pub direction: usize,
    /// Where `W_ih x_t` comes from.
    pub input: RecInput,
    /// Biases added to the accumulated sum, in this order.
    pub bias: Vec<BiasTerm>,
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
    /// `P`: an LSTM's `proj_size` (the width of `h`), 0 without projections.
    pub proj_size: usize,
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
            self.output_size()
        }
    }
    /// `R`: features of the state `h` that the recurrent weights multiply.
    pub fn recurrent_size(&self) -> usize {
        self.state_size(StateKind::H)
    }
    /// `D * R`: features of one output step.
    pub fn output_size(&self) -> usize {
        self.directions * self.recurrent_size()
    }
    /// Features of one direction's `state`.
    pub fn state_size(&self, state: StateKind) -> usize {
        match state {
            StateKind::H if self.proj_size > 0 => self.proj_size,
            StateKind::H | StateKind::C => self.hidden_size,
        }
    }
    /// `H` rounded up to whole vectors: the stride of states.
    pub fn padded_hidden(&self) -> usize {
        self.hidden_size.div_ceil(self.lanes()) * self.lanes()
    }
    /// A state's width rounded up to whole vectors: its stride per sequence in the
    /// workspace.
    pub fn padded_state(&self, state: StateKind) -> usize {
        self.state_size(state).div_ceil(self.lanes()) * self.lanes()
    }
    /// The cell every recurrence computes (a verified graph has one).
    pub fn cell(&self) -> Cell {
        self.layers
            .iter()
            .flat_map(|l| &l.recurrences)
            .map(|r| r.cell)
            .next()
            .expect("a verified graph has a recurrence")
    }
    /// `G`: the cell's gates.
    pub fn gates(&self) -> usize {
        self.cell().gates()
    }
    /// Accumulator sets of a recurrence's products: 2 when the cell keeps the recurrent
    /// part of some gates apart (its products accumulate apart from the input's), else 1.
    pub fn accumulator_sets(cell: Cell) -> usize {
        if cell.split_gates().is_empty() { 1 } else { 2 }
    }
    /// `G * Hp`: pre-activation rows of one direction, the stride of directions in `P`.
    pub fn padded_rows(&self) -> usize {
        self.gates() * self.padded_hidden()
    }
}
