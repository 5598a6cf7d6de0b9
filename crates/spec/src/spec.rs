//! `RnnSpec`: the unchecked description of an RNN, as a user wrote it.
//!
//! Field names and defaults are those of the constructors of `torch.nn.RNN`, `torch.nn.LSTM`
//! and `torch.nn.GRU`, plus `cell` (which of the three), `dtype` and `name`. Sizes are signed so that a negative size from a file or a builder reaches
//! validation and gets torch's message, instead of failing earlier in a conversion.
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
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "tanh" => Ok(Nonlinearity::Tanh),
            "relu" => Ok(Nonlinearity::Relu),
            _ => Err(()),
        }
    }
}

/// Which torch module a spec describes: `cell = "rnn" | "lstm" | "gru"` in a spec file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CellKind {
    /// `torch.nn.RNN` (the default).
    Rnn,
    /// `torch.nn.LSTM`.
    Lstm,
    /// `torch.nn.GRU`.
    Gru,
}

impl CellKind {
    /// Its name in spec files: `rnn`, `lstm`, `gru`.
    pub fn as_str(self) -> &'static str {
        match self {
            CellKind::Rnn => "rnn",
            CellKind::Lstm => "lstm",
            CellKind::Gru => "gru",
        }
    }
}

impl fmt::Display for CellKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CellKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "rnn" => Ok(CellKind::Rnn),
            "lstm" => Ok(CellKind::Lstm),
            "gru" => Ok(CellKind::Gru),
            _ => Err(()),
        }
    }
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
    type Err = ();
    /// Accepts rnnc's names and torch's (`float32`, `float64`).
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "f32" | "float32" => Ok(DType::F32),
            "f64" | "float64" => Ok(DType::F64),
            _ => Err(()),
        }
    }
}

/// A recurrent model as described by a spec file or a builder; not yet validated.
#[derive(Clone, Debug, PartialEq)]
pub struct RnnSpec {
    /// The torch module: RNN (default), LSTM or GRU.
    pub cell: CellKind,
    /// Features per input time step (`H_in`).
    pub input_size: i64,
    /// Features of the hidden state (`H`).
    pub hidden_size: i64,
    /// Stacked layers; layer k > 0 reads layer k - 1's output.
    pub num_layers: i64,
    /// `tanh` or `relu`: the RNN's activation. `None` is torch's default (`tanh`); only
    /// the RNN takes one.
    pub nonlinearity: Option<Nonlinearity>,
    /// Whether the layers have `bias_ih` and `bias_hh`.
    pub bias: bool,
    /// Input and output are `(N, L, H)` instead of `(L, N, H)`; never applies to `h0`/`h_n`.
    pub batch_first: bool,
    /// Dropout between layers during training; inactive at inference, kept for fidelity.
    pub dropout: f64,
    /// Two directions per layer, outputs concatenated (forward features first).
    pub bidirectional: bool,
    /// LSTM only: features of the projected hidden state (`weight_hr`), 0 for none.
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
            CellKind::Rnn => Cell::Rnn(self.nonlinearity.unwrap_or(Nonlinearity::Tanh)),
            CellKind::Lstm => Cell::Lstm,
            CellKind::Gru => Cell::Gru,
        }
    }

    /// Starts a builder with torch's positional arguments and every other argument at torch's
    /// default: `RnnSpec::builder(10, 20).num_layers(2)` is `nn.RNN(10, 20, 2)`, and
    /// `.cell(CellKind::Lstm)` makes it `nn.LSTM(10, 20, 2)`.
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
    /// The spec as a spec file holds it (every key that applies to its cell written out).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "name = {:?}", self.name)?;
        writeln!(f, "cell = \"{}\"", self.cell)?;
        writeln!(f, "input_size = {}", self.input_size)?;
        writeln!(f, "hidden_size = {}", self.hidden_size)?;
        writeln!(f, "num_layers = {}", self.num_layers)?;
        if let Some(act) = self.nonlinearity {
            writeln!(f, "nonlinearity = \"{act}\"")?;
        } else if self.cell == CellKind::Rnn {
            writeln!(f, "nonlinearity = \"tanh\"")?;
        }
        if self.proj_size != 0 || self.cell == CellKind::Lstm {
            writeln!(f, "proj_size = {}", self.proj_size)?;
        }
        writeln!(f, "bias = {}", self.bias)?;
        writeln!(f, "batch_first = {}", self.batch_first)?;
        writeln!(f, "dropout = {:?}", self.dropout)?;
        writeln!(f, "bidirectional = {}", self.bidirectional)?;
        writeln!(f, "dtype = \"{}\"", self.dtype)
    }
}

/// Builds an [`RnnSpec`] in Rust; [`build`](Self::build) validates it like a spec file.
#[derive(Clone, Debug)]
pub struct RnnSpecBuilder {
    spec: RnnSpec,
}

impl RnnSpecBuilder {
    /// Stacked layers (default 1).
    pub fn num_layers(mut self, num_layers: i64) -> Self {
        self.spec.num_layers = num_layers;
        self
    }
    /// The torch module: [`CellKind::Rnn`] (default), `Lstm` or `Gru`.
    pub fn cell(mut self, cell: CellKind) -> Self {
        self.spec.cell = cell;
        self
    }
    /// `tanh` (default) or `relu`; the RNN's only (validation refuses it for other cells).
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
    /// Batch-first input and output (default false).
    pub fn batch_first(mut self, batch_first: bool) -> Self {
        self.spec.batch_first = batch_first;
        self
    }
    /// Training dropout probability (default 0); ignored at inference.
    pub fn dropout(mut self, dropout: f64) -> Self {
        self.spec.dropout = dropout;
        self
    }
    /// Two directions per layer (default false).
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
