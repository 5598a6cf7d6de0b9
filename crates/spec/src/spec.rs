//! `RnnSpec`: the unchecked description of an RNN, as a user wrote it.
//!
//! Field names and defaults are those of the constructors of `torch.nn.RNN`, `torch.nn.LSTM`
//! and `torch.nn.GRU` (and of the cell modules `torch.nn.RNNCell`, `LSTMCell`, `GRUCell`,
//! whose arguments are a subset: `input_size`, `hidden_size`, `bias`, and the RNNCell's
//! `nonlinearity`), plus `cell` (which module; a source may name a sequence module by
//! torch's `mode` instead, see [`SpecFile`](crate::SpecFile)), `dtype` and `name`. The
//! names of cells, nonlinearities, dtypes and modes parse with [`FromStr`], whose errors
//! ([`UnknownCell`], ...) hold the one message for each. Sizes are signed so
//! that a negative size from a file or a builder reaches validation and gets torch's
//! message, instead of failing earlier in a conversion.
//! Nothing downstream of the front end accepts an `RnnSpec`: [`RnnSpec::validate`] turns it
//! into a [`Model`](crate::Model) or into every problem it has.

use std::fmt;
use std::str::FromStr;

use crate::cell::Cell;
use crate::error::SpecErrors;
use crate::model::Model;
use crate::validate::{SpecSpans, validate};

/// The activation of the recurrence, torch's `nonlinearity` argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Nonlinearity {
    /// `tanh` (torch's default).
    Tanh,
    /// `relu`.
    Relu,
}

impl Nonlinearity {
    /// The name torch uses for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Nonlinearity::Tanh => "tanh",
            Nonlinearity::Relu => "relu",
        }
    }
}

impl fmt::Display for Nonlinearity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Nonlinearity {
    type Err = UnknownNonlinearity;
    fn from_str(s: &str) -> Result<Self, UnknownNonlinearity> {
        match s {
            "tanh" => Ok(Nonlinearity::Tanh),
            "relu" => Ok(Nonlinearity::Relu),
            _ => Err(UnknownNonlinearity {
                found: s.to_string(),
            }),
        }
    }
}

/// A nonlinearity other than `tanh` or `relu` (torch's message). The user's fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Unknown nonlinearity '{found}'. Select from 'tanh' or 'relu'.")]
pub struct UnknownNonlinearity {
    /// The text found.
    pub found: String,
}

/// Which torch module a spec describes: `cell = "rnn" | "lstm" | "gru"` in a spec file for
/// the sequence modules, `"rnn_cell" | "lstm_cell" | "gru_cell"` for the cell modules.
///
/// A cell module (`torch.nn.RNNCell`, `LSTMCell`, `GRUCell`) computes one step of one layer
/// and one direction of the matching sequence module per call: the same recurrence
/// ([`RnnSpec::cell`] is the same [`Cell`]), called on `(N, H_in)` instead of a sequence,
/// with parameters named `weight_ih`, `weight_hh`, `bias_ih`, `bias_hh` (no `_l0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CellKind {
    /// `torch.nn.RNN` (the default).
    Rnn,
    /// `torch.nn.LSTM`.
    Lstm,
    /// `torch.nn.GRU`.
    Gru,
    /// `torch.nn.RNNCell`.
    RnnCell,
    /// `torch.nn.LSTMCell`.
    LstmCell,
    /// `torch.nn.GRUCell`.
    GruCell,
}

impl CellKind {
    /// Every kind: the sequence modules, then the cell modules.
    pub const ALL: [CellKind; 6] = [
        CellKind::Rnn,
        CellKind::Lstm,
        CellKind::Gru,
        CellKind::RnnCell,
        CellKind::LstmCell,
        CellKind::GruCell,
    ];

    /// Its name in spec files: `rnn`, `lstm`, `gru`, `rnn_cell`, `lstm_cell`, `gru_cell`.
    pub fn as_str(self) -> &'static str {
        match self {
            CellKind::Rnn => "rnn",
            CellKind::Lstm => "lstm",
            CellKind::Gru => "gru",
            CellKind::RnnCell => "rnn_cell",
            CellKind::LstmCell => "lstm_cell",
            CellKind::GruCell => "gru_cell",
        }
    }

    /// torch's module: `RNN`, `LSTM`, `GRU`, `RNNCell`, `LSTMCell`, `GRUCell` (of
    /// `torch.nn`), as torch's messages and reprs name it.
    pub fn module(self) -> &'static str {
        match self {
            CellKind::Rnn => "RNN",
            CellKind::Lstm => "LSTM",
            CellKind::Gru => "GRU",
            CellKind::RnnCell => "RNNCell",
            CellKind::LstmCell => "LSTMCell",
            CellKind::GruCell => "GRUCell",
        }
    }

    /// Whether it is a cell module: one step of one layer and one direction per call.
    pub fn is_cell_module(self) -> bool {
        matches!(
            self,
            CellKind::RnnCell | CellKind::LstmCell | CellKind::GruCell
        )
    }

    /// The sequence module of the same recurrence: `RnnCell` -> `Rnn`; a sequence module
    /// is its own.
    pub fn sequence_module(self) -> CellKind {
        match self {
            CellKind::Rnn | CellKind::RnnCell => CellKind::Rnn,
            CellKind::Lstm | CellKind::LstmCell => CellKind::Lstm,
            CellKind::Gru | CellKind::GruCell => CellKind::Gru,
        }
    }

    /// The cell module of the same recurrence: `Rnn` -> `RnnCell`; a cell module is its
    /// own.
    pub fn cell_module(self) -> CellKind {
        match self {
            CellKind::Rnn | CellKind::RnnCell => CellKind::RnnCell,
            CellKind::Lstm | CellKind::LstmCell => CellKind::LstmCell,
            CellKind::Gru | CellKind::GruCell => CellKind::GruCell,
        }
    }

    /// The module of `cell` in the form of `self` (a sequence or a cell module).
    pub fn with_cell(self, cell: Cell) -> CellKind {
        let sequence = match cell {
            Cell::Rnn(_) => CellKind::Rnn,
            Cell::Lstm => CellKind::Lstm,
            Cell::Gru => CellKind::Gru,
        };
        if self.is_cell_module() {
            sequence.cell_module()
        } else {
            sequence
        }
    }
}

impl fmt::Display for CellKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CellKind {
    type Err = UnknownCell;
    fn from_str(s: &str) -> Result<Self, UnknownCell> {
        CellKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| UnknownCell {
                found: s.to_string(),
            })
    }
}

/// A cell other than the six modules' names. The user's fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "Unknown cell '{found}'. Select from 'rnn', 'lstm', 'gru', 'rnn_cell', 'lstm_cell' or \
     'gru_cell'."
)]
pub struct UnknownCell {
    /// The text found.
    pub found: String,
}

impl FromStr for Cell {
    type Err = UnknownMode;
    /// torch's `RNNBase.mode`: `RNN_TANH`, `RNN_RELU`, `LSTM` or `GRU` (what
    /// [`Cell`]'s `Display` writes).
    fn from_str(s: &str) -> Result<Self, UnknownMode> {
        Cell::from_mode(s).ok_or_else(|| UnknownMode {
            found: s.to_string(),
        })
    }
}

/// A mode other than torch's four (`RNNBase.mode`). The user's fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Unknown mode '{found}'. Select from 'RNN_TANH', 'RNN_RELU', 'LSTM' or 'GRU'.")]
pub struct UnknownMode {
    /// The text found.
    pub found: String,
}

/// The element type of weights, inputs, states and outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    /// IEEE binary32, torch's `float32` (the default).
    F32,
    /// IEEE binary64, torch's `float64`.
    F64,
}

impl DType {
    /// rnnc's name for it, as written in spec files.
    pub fn as_str(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F64 => "f64",
        }
    }

    /// Size of one element in bytes.
    pub fn size(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F64 => 8,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DType {
    type Err = UnknownDType;
    /// Accepts rnnc's names and torch's (`float32`, `float64`).
    fn from_str(s: &str) -> Result<Self, UnknownDType> {
        match s {
            "f32" | "float32" => Ok(DType::F32),
            "f64" | "float64" => Ok(DType::F64),
            _ => Err(UnknownDType {
                found: s.to_string(),
            }),
        }
    }
}

/// A dtype other than `f32` or `f64` (or torch's `float32`, `float64`). The user's fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Unknown dtype '{found}'. Select from 'f32' or 'f64'.")]
pub struct UnknownDType {
    /// The text found.
    pub found: String,
}

/// A recurrent model as described by a spec file or a builder; not yet validated.
#[derive(Clone, Debug, PartialEq)]
pub struct RnnSpec {
    /// The torch module: RNN (default), LSTM or GRU, or one of their cell modules.
    pub cell: CellKind,
    /// Features per input time step (`H_in`).
    pub input_size: i64,
    /// Features of the hidden state (`H`).
    pub hidden_size: i64,
    /// Stacked layers; layer k > 0 reads layer k - 1's output. Sequence modules only (a
    /// cell module is one layer: validation refuses any other value).
    pub num_layers: i64,
    /// `tanh` or `relu`: the RNN's (and the RNNCell's) activation. `None` is torch's
    /// default (`tanh`); only those two modules take one.
    pub nonlinearity: Option<Nonlinearity>,
    /// Whether the layers have `bias_ih` and `bias_hh`.
    pub bias: bool,
    /// Input and output are `(N, L, H)` instead of `(L, N, H)`; never applies to `h0`/`h_n`.
    /// Sequence modules only.
    pub batch_first: bool,
    /// Dropout between layers during training; inactive at inference, kept for fidelity.
    /// Sequence modules only.
    pub dropout: f64,
    /// Two directions per layer, outputs concatenated (forward features first). Sequence
    /// modules only.
    pub bidirectional: bool,
    /// LSTM only (not the LSTMCell): features of the projected hidden state
    /// (`weight_hr`), 0 for none.
    pub proj_size: i64,
    /// Element type.
    pub dtype: DType,
    /// A C identifier naming the emitted symbols.
    pub name: String,
}

/// The name a builder gives a spec unless told otherwise.
pub const DEFAULT_NAME: &str = "rnn";

impl RnnSpec {
    /// The cell its fields describe.
    pub fn cell(&self) -> Cell {
        match self.cell {
            CellKind::Rnn | CellKind::RnnCell => {
                Cell::Rnn(self.nonlinearity.unwrap_or(Nonlinearity::Tanh))
            }
            CellKind::Lstm | CellKind::LstmCell => Cell::Lstm,
            CellKind::Gru | CellKind::GruCell => Cell::Gru,
        }
    }

    /// Starts a builder with torch's positional arguments and every other argument at torch's
    /// default: `RnnSpec::builder(10, 20).num_layers(2)` is `nn.RNN(10, 20, 2)`,
    /// `.cell(CellKind::Lstm)` makes it `nn.LSTM(10, 20, 2)`, and
    /// `RnnSpec::builder(10, 20).cell(CellKind::LstmCell)` is `nn.LSTMCell(10, 20)`.
    pub fn builder(input_size: i64, hidden_size: i64) -> RnnSpecBuilder {
        RnnSpecBuilder {
            spec: RnnSpec {
                cell: CellKind::Rnn,
                input_size,
                hidden_size,
                num_layers: 1,
                nonlinearity: None,
                bias: true,
                batch_first: false,
                dropout: 0.0,
                bidirectional: false,
                proj_size: 0,
                dtype: DType::F32,
                name: DEFAULT_NAME.to_string(),
            },
        }
    }

    /// Checks every rule and returns the validated model, or every problem found.
    pub fn validate(&self) -> Result<Model, SpecErrors> {
        validate(self, &SpecSpans::default())
    }
}

impl fmt::Display for RnnSpec {
    /// The spec as a spec file holds it: every key that applies to its module written out
    /// (a cell module's: `input_size`, `hidden_size`, an RNNCell's `nonlinearity`, `bias`),
    /// and any other key whose value is not the default, so that an invalid spec prints
    /// what makes it invalid.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sequence = !self.cell.is_cell_module();
        writeln!(f, "name = {:?}", self.name)?;
        writeln!(f, "cell = \"{}\"", self.cell)?;
        writeln!(f, "input_size = {}", self.input_size)?;
        writeln!(f, "hidden_size = {}", self.hidden_size)?;
        if sequence || self.num_layers != 1 {
            writeln!(f, "num_layers = {}", self.num_layers)?;
        }
        if let Some(act) = self.nonlinearity {
            writeln!(f, "nonlinearity = \"{act}\"")?;
        } else if self.cell.sequence_module() == CellKind::Rnn {
            writeln!(f, "nonlinearity = \"tanh\"")?;
        }
        if self.proj_size != 0 || self.cell == CellKind::Lstm {
            writeln!(f, "proj_size = {}", self.proj_size)?;
        }
        writeln!(f, "bias = {}", self.bias)?;
        if sequence || self.batch_first {
            writeln!(f, "batch_first = {}", self.batch_first)?;
        }
        if sequence || self.dropout != 0.0 {
            writeln!(f, "dropout = {:?}", self.dropout)?;
        }
        if sequence || self.bidirectional {
            writeln!(f, "bidirectional = {}", self.bidirectional)?;
        }
        writeln!(f, "dtype = \"{}\"", self.dtype)
    }
}

/// Builds an [`RnnSpec`] in Rust; [`build`](Self::build) validates it like a spec file.
#[derive(Clone, Debug)]
pub struct RnnSpecBuilder {
    spec: RnnSpec,
}

impl RnnSpecBuilder {
    /// Stacked layers (default 1; a sequence module's only).
    pub fn num_layers(mut self, num_layers: i64) -> Self {
        self.spec.num_layers = num_layers;
        self
    }
    /// The torch module: [`CellKind::Rnn`] (default), `Lstm`, `Gru`, or a cell module
    /// `RnnCell`, `LstmCell`, `GruCell`.
    pub fn cell(mut self, cell: CellKind) -> Self {
        self.spec.cell = cell;
        self
    }
    /// `tanh` (default) or `relu`; the RNN's and the RNNCell's only (validation refuses it
    /// for other modules).
    pub fn nonlinearity(mut self, nonlinearity: Nonlinearity) -> Self {
        self.spec.nonlinearity = Some(nonlinearity);
        self
    }
    /// LSTM projections: `weight_hr` makes `h` `proj_size` wide (default 0, none).
    pub fn proj_size(mut self, proj_size: i64) -> Self {
        self.spec.proj_size = proj_size;
        self
    }
    /// Biases on (default) or off.
    pub fn bias(mut self, bias: bool) -> Self {
        self.spec.bias = bias;
        self
    }
    /// Batch-first input and output (default false; a sequence module's only).
    pub fn batch_first(mut self, batch_first: bool) -> Self {
        self.spec.batch_first = batch_first;
        self
    }
    /// Training dropout probability (default 0; a sequence module's only); ignored at
    /// inference.
    pub fn dropout(mut self, dropout: f64) -> Self {
        self.spec.dropout = dropout;
        self
    }
    /// Two directions per layer (default false; a sequence module's only).
    pub fn bidirectional(mut self, bidirectional: bool) -> Self {
        self.spec.bidirectional = bidirectional;
        self
    }
    /// Element type (default f32).
    pub fn dtype(mut self, dtype: DType) -> Self {
        self.spec.dtype = dtype;
        self
    }
    /// Name of the emitted symbols (default `rnn`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.spec.name = name.into();
        self
    }
    /// The unchecked spec built so far.
    pub fn spec(&self) -> &RnnSpec {
        &self.spec
    }
    /// Validates the spec: the same rules and errors as a spec file, without locations.
    pub fn build(self) -> Result<Model, SpecErrors> {
        self.spec.validate()
    }
}

impl From<RnnSpecBuilder> for RnnSpec {
    fn from(builder: RnnSpecBuilder) -> RnnSpec {
        builder.spec
    }
}
