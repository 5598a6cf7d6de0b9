//! `Model`: a validated RNN, and the facts every later stage derives from it.
//!
//! Invariant: a `Model` exists only if [`validate`](crate::RnnSpec::validate) accepted its
//! spec, so sizes and layer counts are positive and within rnnc's limits, and the parameter
//! count fits in 32 bits. Parameter names, shapes and order are torch's `state_dict`.
//!
//! A cell module's model (`torch.nn.LSTMCell`, say) is the one-layer, one-direction model
//! of its recurrence, with the cell module's names: every size, count and parameter shape
//! here is the matching sequence module's with `num_layers = 1`, so the compiler needs
//! nothing new for it; [`Model::is_cell_module`] tells the form, which the names
//! ([`ModelParam::name`]), the calls ([`CallShape`](crate::CallShape)) and torch's repr differ
//! by.

use std::fmt;

use crate::cell::{Cell, StateKind};
use crate::spec::{CellKind, DType, Nonlinearity, RnnSpec};

/// A validated RNN. Build one with [`RnnSpec::validate`], a builder or a spec file.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    spec: RnnSpec,
}

/// Which tensor of a (layer, direction) a parameter is. `G` is the cell's gate count
/// ([`Cell::gates`]), `R` the width of the recurrent state `h`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParamKind {
    /// `weight_ih`: `(G * hidden_size, layer input size)`.
    WeightIh,
    /// `weight_hh`: `(G * hidden_size, R)`.
    WeightHh,
    /// `bias_ih`: `(G * hidden_size,)`.
    BiasIh,
    /// `bias_hh`: `(G * hidden_size,)`.
    BiasHh,
    /// `weight_hr` (LSTM with projections): `(proj_size, hidden_size)`.
    WeightHr,
}

impl ParamKind {
    /// torch's name stem: `weight_ih`, `weight_hh`, `bias_ih`, `bias_hh`.
    pub fn stem(self) -> &'static str {
        match self {
            ParamKind::WeightIh => "weight_ih",
            ParamKind::WeightHh => "weight_hh",
            ParamKind::BiasIh => "bias_ih",
            ParamKind::BiasHh => "bias_hh",
            ParamKind::WeightHr => "weight_hr",
        }
    }
}

/// One parameter tensor of a model, as torch's `state_dict` holds it. (Not to be confused
/// with a kernel function's parameter, the kernel IR's `Param`.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ModelParam {
    /// Layer index, from 0.
    pub layer: usize,
    /// 0 forward, 1 reverse.
    pub direction: usize,
    /// Which tensor.
    pub kind: ParamKind,
    rows: usize,
    cols: Option<usize>,
    /// A cell module's parameter: named without the layer (`weight_ih`).
    cell_module: bool,
}

impl ModelParam {
    /// torch's name: e.g. `weight_hh_l1_reverse` for a sequence module, `weight_hh` for a
    /// cell module (torch.nn.LSTMCell's `state_dict` has no `_l0`).
    pub fn name(&self) -> String {
        if self.cell_module {
            self.kind.stem().to_string()
        } else {
            param_name(self.layer, self.direction, self.kind)
        }
    }

    /// torch's shape: `[rows, cols]` for weights, `[rows]` for biases.
    pub fn shape(&self) -> Vec<usize> {
        std::iter::once(self.rows).chain(self.cols).collect()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.rows * self.cols.unwrap_or(1)
    }

    /// Never true for a validated model; present for the `len` convention.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// torch's name of a sequence module's parameter, e.g. `param_name(1, 1, WeightHh)` =
/// `weight_hh_l1_reverse` (a cell module's are [`ParamKind::stem`]s: [`ModelParam::name`]).
pub fn param_name(layer: usize, direction: usize, kind: ParamKind) -> String {
    let suffix = if direction == 1 { "_reverse" } else { "" };
    format!("{}_l{layer}{suffix}", kind.stem())
}

/// Parameters in torch's `state_dict` order: by layer, then direction, then `weight_ih`,
/// `weight_hh`, `bias_ih`, `bias_hh` (no biases when `bias` is false), then `weight_hr`
/// when the model has projections (`proj`).
pub fn state_dict_order(
    num_layers: usize,
    num_directions: usize,
    bias: bool,
    proj: bool,
) -> Vec<(usize, usize, ParamKind)> {
    let kinds = [
        (ParamKind::WeightIh, true),
        (ParamKind::WeightHh, true),
        (ParamKind::BiasIh, bias),
        (ParamKind::BiasHh, bias),
        (ParamKind::WeightHr, proj),
    ];
    let mut order = Vec::new();
    for layer in 0..num_layers {
        for direction in 0..num_directions {
            for &(kind, present) in &kinds {
                if present {
                    order.push((layer, direction, kind));
                }
            }
        }
    }
    order
}

impl Model {
    pub(crate) fn new_validated(spec: RnnSpec) -> Model {
        Model { spec }
    }

    /// The spec this model was validated from.
    pub fn spec(&self) -> &RnnSpec {
        &self.spec
    }
    /// `H_in`: features per input time step.
    pub fn input_size(&self) -> usize {
        self.spec.input_size as usize
    }
    /// `H`: features of the hidden state of one direction.
    pub fn hidden_size(&self) -> usize {
        self.spec.hidden_size as usize
    }
    /// Stacked layers.
    pub fn num_layers(&self) -> usize {
        self.spec.num_layers as usize
    }
    /// `D`: 2 if bidirectional, else 1.
    pub fn num_directions(&self) -> usize {
        if self.spec.bidirectional { 2 } else { 1 }
    }
    /// The recurrent cell: what one step computes.
    pub fn cell(&self) -> Cell {
        self.spec.cell()
    }
    /// The torch module: a sequence module or a cell module.
    pub fn kind(&self) -> CellKind {
        self.spec.cell
    }
    /// torch's name of the module: `RNN`, `LSTM`, `GRU`, `RNNCell`, `LSTMCell`, `GRUCell`.
    pub fn module(&self) -> &'static str {
        self.spec.cell.module()
    }
    /// Whether the model is a cell module (`torch.nn.RNNCell`, `LSTMCell`, `GRUCell`): one
    /// step of one layer and one direction per call, on `(N, H_in)` or `(H_in)`.
    pub fn is_cell_module(&self) -> bool {
        self.spec.cell.is_cell_module()
    }
    /// `G`: gate blocks of `H` rows in each weight and bias.
    pub fn gates(&self) -> usize {
        self.cell().gates()
    }
    /// `G * H`: rows of every weight and bias of a layer and direction.
    pub fn gate_rows(&self) -> usize {
        self.gates() * self.hidden_size()
    }
    /// The states the cell carries, `h` first.
    pub fn states(&self) -> &'static [StateKind] {
        self.cell().states()
    }
    /// `P`: an LSTM's `proj_size`, 0 without projections.
    pub fn proj_size(&self) -> usize {
        self.spec.proj_size as usize
    }
    /// Features of one direction's `state`: `R` for `h` (the layer's output per direction),
    /// `H` for `c`.
    pub fn state_size(&self, state: StateKind) -> usize {
        match state {
            StateKind::H if self.proj_size() > 0 => self.proj_size(),
            StateKind::H | StateKind::C => self.hidden_size(),
        }
    }
    /// `R`: features of `h`, the state the recurrent weights multiply.
    pub fn recurrent_size(&self) -> usize {
        self.state_size(StateKind::H)
    }
    /// The Elman activation (`tanh` or `relu`); `None` for other cells.
    pub fn nonlinearity(&self) -> Option<Nonlinearity> {
        self.cell().nonlinearity()
    }
    /// Whether layers have biases.
    pub fn bias(&self) -> bool {
        self.spec.bias
    }
    /// Whether input and output are batch-first.
    pub fn batch_first(&self) -> bool {
        self.spec.batch_first
    }
    /// Whether each layer runs in both directions.
    pub fn bidirectional(&self) -> bool {
        self.spec.bidirectional
    }
    /// Training dropout; has no effect at inference.
    pub fn dropout(&self) -> f64 {
        self.spec.dropout
    }
    /// Element type.
    pub fn dtype(&self) -> DType {
        self.spec.dtype
    }
    /// C identifier of emitted symbols.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// Features each time step of `layer` reads: `input_size` for layer 0, else `D * R`.
    pub fn layer_input_size(&self, layer: usize) -> usize {
        if layer == 0 {
            self.input_size()
        } else {
            self.output_size()
        }
    }

    /// Features of one output time step: `D * R`.
    pub fn output_size(&self) -> usize {
        self.num_directions() * self.recurrent_size()
    }

    /// Every parameter in torch's `state_dict` order (see [`state_dict_order`]).
    pub fn params(&self) -> Vec<ModelParam> {
        state_dict_order(
            self.num_layers(),
            self.num_directions(),
            self.bias(),
            self.proj_size() > 0,
        )
        .into_iter()
        .map(|(layer, direction, kind)| ModelParam {
            layer,
            direction,
            kind,
            rows: match kind {
                ParamKind::WeightHr => self.proj_size(),
                _ => self.gate_rows(),
            },
            cols: match kind {
                ParamKind::WeightIh => Some(self.layer_input_size(layer)),
                ParamKind::WeightHh => Some(self.recurrent_size()),
                ParamKind::WeightHr => Some(self.hidden_size()),
                ParamKind::BiasIh | ParamKind::BiasHh => None,
            },
            cell_module: self.is_cell_module(),
        })
        .collect()
    }

    /// The parameter `kind` of `(layer, direction)`, if the model has it.
    pub fn param(&self, layer: usize, direction: usize, kind: ParamKind) -> Option<ModelParam> {
        self.params()
            .into_iter()
            .find(|p| (p.layer, p.direction, p.kind) == (layer, direction, kind))
    }

    /// Total parameter elements.
    pub fn num_parameters(&self) -> usize {
        Self::count_parameters(&self.spec) as usize
    }

    /// Parameter count of an unchecked spec, in u64 so that huge specs cannot overflow.
    pub(crate) fn count_parameters(spec: &RnnSpec) -> u64 {
        let (i, h, l) = (
            spec.input_size as u64,
            spec.hidden_size as u64,
            spec.num_layers as u64,
        );
        let d = if spec.bidirectional { 2 } else { 1 };
        let p = spec.proj_size as u64;
        let (rows, r) = (spec.cell().gates() as u64 * h, if p > 0 { p } else { h });
        let per_direction =
            |input: u64| rows * input + rows * r + if spec.bias { 2 * rows } else { 0 } + p * h;
        d * (per_direction(i) + (l - 1) * per_direction(d * r))
    }

    /// Multiply-add FLOPs of one time step of one sequence: the sum over layers and
    /// directions of `2 * G * H * (in_l + R)`, plus `2 * P * H` for projections (bias
    /// additions and gate arithmetic not counted).
    pub fn flops_per_step(&self) -> u64 {
        let rows = self.gate_rows() as u64;
        let r = self.recurrent_size() as u64;
        let proj = 2 * (self.proj_size() * self.hidden_size()) as u64;
        (0..self.num_layers())
            .map(|l| 2 * rows * (self.layer_input_size(l) as u64 + r) + proj)
            .sum::<u64>()
            * self.num_directions() as u64
    }

    /// FLOPs of one forward call over `seq_len` steps and `batch` sequences.
    pub fn flops(&self, seq_len: usize, batch: usize) -> u64 {
        self.flops_per_step() * seq_len as u64 * batch as u64
    }
}

impl fmt::Display for Model {
    /// torch's repr, e.g. `RNN(10, 20, num_layers=2, bidirectional=True)` or
    /// `RNNCell(4, 8, bias=False, nonlinearity=relu)` (torch's cell modules print the
    /// nonlinearity unquoted, after `bias`), plus dtype.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cell = self.cell();
        if self.is_cell_module() {
            write!(
                f,
                "{}({}, {}",
                self.module(),
                self.input_size(),
                self.hidden_size()
            )?;
            if !self.bias() {
                write!(f, ", bias=False")?;
            }
            if let Some(act) = cell.nonlinearity()
                && act != Nonlinearity::Tanh
            {
                write!(f, ", nonlinearity={act}")?;
            }
            return write!(f, ", dtype={})", self.dtype());
        }
        write!(
            f,
            "{}({}, {}",
            cell.module(),
            self.input_size(),
            self.hidden_size()
        )?;
        if self.num_layers() != 1 {
            write!(f, ", num_layers={}", self.num_layers())?;
        }
        if let Some(act) = cell.nonlinearity()
            && act != Nonlinearity::Tanh
        {
            write!(f, ", nonlinearity='{act}'")?;
        }
        if !self.bias() {
            write!(f, ", bias=False")?;
        }
        if self.batch_first() {
            write!(f, ", batch_first=True")?;
        }
        if self.dropout() != 0.0 {
            write!(f, ", dropout={}", self.dropout())?;
        }
        if self.bidirectional() {
            write!(f, ", bidirectional=True")?;
        }
        if self.proj_size() > 0 {
            write!(f, ", proj_size={}", self.proj_size())?;
        }
        write!(f, ", dtype={})", self.dtype())
    }
}

#[cfg(test)]
mod tests {
    use crate::{CellKind, RnnSpec};

    #[test]
    fn params_follow_torch_state_dict() {
        let model = RnnSpec::builder(10, 20)
            .num_layers(2)
            .bidirectional(true)
            .build()
            .unwrap();
        let names: Vec<_> = model.params().iter().map(|p| p.name()).collect();
        assert_eq!(names.len(), 16);
        assert_eq!(
            &names[..4],
            ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
        );
        assert_eq!(names[4], "weight_ih_l0_reverse");
        assert_eq!(names[15], "bias_hh_l1_reverse");
        let w_ih_l1 = model.params()[8];
        assert_eq!(w_ih_l1.name(), "weight_ih_l1");
        assert_eq!(w_ih_l1.shape(), [20, 40]);
        let total: usize = model.params().iter().map(|p| p.len()).sum();
        assert_eq!(total, model.num_parameters());
    }

    #[test]
    fn flops_match_the_bench_formula() {
        // seed-example in the bench configs: 2 * 5 * 3 * 20 * ((10 + 20) + (20 + 20)).
        let model = RnnSpec::builder(10, 20).num_layers(2).build().unwrap();
        assert_eq!(model.flops(5, 3), 2 * 5 * 3 * 20 * (30 + 40));
        let no_bias = RnnSpec::builder(3, 4).bias(false).build().unwrap();
        assert_eq!(no_bias.params().len(), 2);
        assert_eq!(no_bias.num_parameters(), 12 + 16);
    }

    #[test]
    fn lstm_projections_follow_torch() {
        // torch.nn.LSTM(10, 20, 2, bidirectional=True, proj_size=5).state_dict()
        let model = RnnSpec::builder(10, 20)
            .cell(CellKind::Lstm)
            .num_layers(2)
            .bidirectional(true)
            .proj_size(5)
            .build()
            .unwrap();
        let params = model.params();
        let shapes: Vec<_> = params.iter().map(|p| (p.name(), p.shape())).collect();
        assert_eq!(shapes[0], ("weight_ih_l0".into(), vec![80, 10]));
        assert_eq!(shapes[1], ("weight_hh_l0".into(), vec![80, 5]));
        assert_eq!(shapes[4], ("weight_hr_l0".into(), vec![5, 20]));
        assert_eq!(shapes[10], ("weight_ih_l1".into(), vec![80, 10]));
        assert_eq!(shapes[19], ("weight_hr_l1_reverse".into(), vec![5, 20]));
        let total: usize = params.iter().map(|p| p.len()).sum();
        assert_eq!(total, model.num_parameters());
        assert_eq!(
            model.to_string(),
            "LSTM(10, 20, num_layers=2, bidirectional=True, proj_size=5, dtype=f32)"
        );
        let gru = RnnSpec::builder(3, 4).cell(CellKind::Gru).build().unwrap();
        assert_eq!(gru.params()[1].shape(), [12, 4]);
        let total: usize = gru.params().iter().map(|p| p.len()).sum();
        assert_eq!(total, gru.num_parameters());
    }
}
