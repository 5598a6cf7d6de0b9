//! `Weights`: a model's parameters under torch's `state_dict` names, in torch's layout.
//!
//! Invariant: a `Weights` value holds exactly the parameters of the model it was made for
//! (same names, shapes and order as [`Model::params`]) in the model's dtype. Every
//! constructor checks this, reporting each missing, extra, mis-shaped or wrong-dtype tensor
//! by name with what was expected and what was found; [`Weights::check`] lets a consumer
//! confirm that weights fit the model it compiled.

use std::fmt;

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

use crate::cell::Cell;
use crate::model::{Model, ModelParam, ParamKind};
use crate::spec::DType;
use crate::tensor::{Element, Tensor, TensorData};

/// One way in which tensors fail to match a model. Always the user's fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TensorProblem {
    /// A parameter the model needs is absent.
    Missing {
        /// torch's name (with the prefix, as it should appear).
        name: String,
        /// Its shape.
        expected: Vec<usize>,
    },
    /// A tensor the model has no parameter for.
    Unexpected {
        /// The name found.
        name: String,
        /// Why it might be there (a flag of the spec that differs), if rnnc can tell.
        hint: Option<String>,
    },
    /// A parameter of the wrong shape.
    Shape {
        /// The name.
        name: String,
        /// The model's shape.
        expected: Vec<usize>,
        /// The tensor's.
        found: Vec<usize>,
        /// What the found shape suggests (another cell, another `proj_size`), if rnnc can
        /// tell.
        hint: Option<String>,
    },
    /// A parameter of the wrong element type.
    Dtype {
        /// The name.
        name: String,
        /// The model's dtype.
        expected: DType,
        /// The tensor's, as its source names it (`BF16`, `f64`, ...).
        found: String,
    },
}

impl fmt::Display for TensorProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TensorProblem::Missing { name, expected } => {
                write!(f, "missing tensor `{name}` (expected shape {expected:?})")
            }
            TensorProblem::Unexpected { name, hint } => {
                write!(
                    f,
                    "unexpected tensor `{name}`: the spec has no such parameter"
                )?;
                match hint {
                    Some(hint) => write!(f, " ({hint})"),
                    None => Ok(()),
                }
            }
            TensorProblem::Shape {
                name,
                expected,
                found,
                hint,
            } => {
                write!(
                    f,
                    "tensor `{name}` has shape {found:?}, expected {expected:?}"
                )?;
                match hint {
                    Some(hint) => write!(f, " ({hint})"),
                    None => Ok(()),
                }
            }
            TensorProblem::Dtype {
                name,
                expected,
                found,
            } => write!(f, "tensor `{name}` has dtype {found}, expected {expected}"),
        }
    }
}

/// Why weights could not be read or do not fit a model.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    /// The tensors do not match the model (user's fault).
    #[error(transparent)]
    Mismatch(#[from] Mismatch),
    /// The bytes are not a safetensors file (user's fault). The message says what they
    /// look like when rnnc can tell (a `torch.save` checkpoint, say) and how to convert it.
    #[error("not a safetensors file: {0}")]
    Format(String),
    /// The file could not be read or written (environment).
    #[error("cannot {action} {path}")]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// Every way in which a set of tensors fails to match a model. Never empty.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct Mismatch {
    /// One entry per missing, unexpected, mis-shaped or wrong-dtype tensor.
    pub problems: Vec<TensorProblem>,
    /// The prefix under which the file holds the model's parameters, when it is not the
    /// prefix they were looked for under (a model inside a larger one's `state_dict`).
    pub suggested_prefix: Option<String>,
}

/// One problem per line, after a count; unexpected tensors that one spec flag explains
/// share a line; then one hint, however many tensors it explains.
impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut lines: Vec<String> = Vec::new();
        let mut explained: Vec<(&str, Vec<&str>)> = Vec::new();
        // A shape hint (another cell, say) usually explains many tensors: said once.
        let mut shape_hints: Vec<&str> = Vec::new();
        for p in &self.problems {
            match p {
                TensorProblem::Shape {
                    name,
                    expected,
                    found,
                    hint: Some(hint),
                } => {
                    lines.push(format!(
                        "tensor `{name}` has shape {found:?}, expected {expected:?}"
                    ));
                    if !shape_hints.contains(&hint.as_str()) {
                        shape_hints.push(hint);
                    }
                }
                TensorProblem::Unexpected {
                    name,
                    hint: Some(hint),
                } => match explained.iter_mut().find(|(h, _)| h == hint) {
                    Some((_, names)) => names.push(name),
                    None => explained.push((hint, vec![name])),
                },
                other => lines.push(other.to_string()),
            }
        }
        for (hint, names) in explained {
            lines.push(match names.as_slice() {
                [one] => {
                    format!("unexpected tensor `{one}`: the spec has no such parameter ({hint})")
                }
                many => format!(
                    "unexpected tensors {}: the spec has no such parameters ({hint})",
                    many.iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        match lines.as_slice() {
            [one] => write!(f, "weights do not match the spec: {one}")?,
            many => {
                write!(
                    f,
                    "weights do not match the spec ({} problems):",
                    self.problems.len()
                )?;
                for line in many {
                    write!(f, "\n  {line}")?;
                }
            }
        }
        for hint in shape_hints {
            write!(f, "\nhint: {hint}")?;
        }
        if let Some(prefix) = &self.suggested_prefix {
            write!(
                f,
                "\nhint: the file holds this model's tensors under the prefix `{prefix}`: \
                 load them with that prefix (rnnc: --prefix {prefix})"
            )?;
        }
        Ok(())
    }
}

/// A tensor offered as a parameter, before it is checked against the model.
pub(crate) struct Candidate<'a> {
    /// Name without the user's prefix.
    pub name: String,
    pub shape: Vec<usize>,
    pub data: CandidateData<'a>,
}

pub(crate) enum CandidateData<'a> {
    /// Little-endian bytes of a file, with the file's dtype.
    Bytes(safetensors::Dtype, &'a [u8]),
    /// Elements already in memory.
    Owned(TensorData),
}

impl CandidateData<'_> {
    fn dtype_name(&self) -> String {
        match self {
            CandidateData::Bytes(dtype, _) => format!("{dtype:?}"),
            CandidateData::Owned(data) => data.dtype().to_string(),
        }
    }

    /// The elements, if they are of `dtype`.
    fn decode(self, dtype: DType) -> Option<TensorData> {
        match (self, dtype) {
            (CandidateData::Bytes(safetensors::Dtype::F32, b), DType::F32)
            | (CandidateData::Bytes(safetensors::Dtype::F64, b), DType::F64) => {
                Some(TensorData::from_le_bytes(dtype, b))
            }
            (CandidateData::Owned(data), dtype) if data.dtype() == dtype => Some(data),
            _ => None,
        }
    }
}

/// A tensor borrowed from the caller, for [`Weights::match_borrowed`]: its name, its shape,
/// and its elements, or the name of its dtype when that is not the model's.
pub type BorrowedTensor<'a, T> = (String, Vec<usize>, Result<&'a [T], String>);

/// The parameters of one model.
#[derive(Clone, Debug, PartialEq)]
pub struct Weights {
    dtype: DType,
    entries: Vec<(ModelParam, TensorData)>,
}

impl Weights {
    /// torch's initialization: every parameter uniform in `[-1/sqrt(H), 1/sqrt(H)]`, drawn
    /// from ChaCha8 seeded with `seed` (the same seed gives the same weights everywhere,
    /// though not torch's numbers: torch's generator is its own).
    pub fn init(model: &Model, seed: u64) -> Weights {
        fn draw<T: Element>(model: &Model, rng: &mut ChaCha8Rng, p: &ModelParam) -> TensorData {
            let k = 1.0 / (model.hidden_size() as f64).sqrt();
            T::wrap(
                (0..p.len())
                    .map(|_| T::from_f64(rng.random_range(-k..=k)))
                    .collect(),
            )
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let entries = model
            .params()
            .into_iter()
            .map(|p| {
                let data = match model.dtype() {
                    DType::F32 => draw::<f32>(model, &mut rng, &p),
                    DType::F64 => draw::<f64>(model, &mut rng, &p),
                };
                (p, data)
            })
            .collect();
        Weights {
            dtype: model.dtype(),
            entries,
        }
    }

    /// Weights from named tensors in torch's layout, e.g. `("weight_ih_l0", tensor)`.
    pub fn from_tensors<T: Element>(
        model: &Model,
        tensors: impl IntoIterator<Item = (String, Tensor<T>)>,
    ) -> Result<Weights, WeightsError> {
        let candidates = tensors.into_iter().map(|(name, tensor)| Candidate {
            name,
            shape: tensor.shape().to_vec(),
            data: CandidateData::Owned(T::wrap(tensor.into_data())),
        });
        Weights::assemble(model, "", candidates.collect())
    }

    /// Matches candidates to the model's parameters, collecting every problem.
    pub(crate) fn assemble(
        model: &Model,
        prefix: &str,
        candidates: Vec<Candidate<'_>>,
    ) -> Result<Weights, WeightsError> {
        let candidates = candidates
            .into_iter()
            .map(|c| (c.name, c.shape, c.data))
            .collect();
        let entries = match_params(model, prefix, candidates, |data| {
            let found = data.dtype_name();
            data.decode(model.dtype()).ok_or(found)
        })?;
        Ok(Weights {
            dtype: model.dtype(),
            entries,
        })
    }

    /// Matches borrowed tensors to the model's parameters without copying them: their data
    /// in [`Model::params`] order, or every missing, extra, mis-shaped or wrong-dtype
    /// tensor. Each tensor is its name, its shape and its data, or the name of its dtype
    /// when that is not `T`.
    pub fn match_borrowed<'a, T: Element>(
        model: &Model,
        tensors: Vec<BorrowedTensor<'a, T>>,
    ) -> Result<Vec<&'a [T]>, WeightsError> {
        let dtype = T::DTYPE;
        let entries = match_params(model, "", tensors, |data| match data {
            Ok(data) if dtype == model.dtype() => Ok(data),
            Ok(_) => Err(dtype.to_string()),
            Err(found) => Err(found),
        })?;
        Ok(entries.into_iter().map(|(_, data)| data).collect())
    }

    /// Confirms that these weights are exactly the parameters of `model`.
    pub fn check(&self, model: &Model) -> Result<(), WeightsError> {
        let params = model.params();
        let mine: Vec<ModelParam> = self.entries.iter().map(|(p, _)| *p).collect();
        if self.dtype == model.dtype() && mine == params {
            return Ok(());
        }
        // Re-run the matching to say precisely what differs.
        let candidates = self
            .entries
            .iter()
            .map(|(p, data)| Candidate {
                name: p.name(),
                shape: p.shape(),
                data: CandidateData::Owned(data.clone()),
            })
            .collect();
        Weights::assemble(model, "", candidates).map(|_| ())
    }

    /// Element type of every tensor.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Every parameter with its data, in torch's `state_dict` order.
    pub fn iter(&self) -> impl Iterator<Item = (&ModelParam, &TensorData)> {
        self.entries.iter().map(|(p, d)| (p, d))
    }

    /// Every parameter's data in torch's `state_dict` order (the order of
    /// [`Model::params`]), if the weights are of type `T`.
    pub fn in_order<T: Element>(&self) -> Option<Vec<&[T]>> {
        self.entries.iter().map(|(_, d)| T::unwrap(d)).collect()
    }

    /// The data of a parameter by torch's name, if present and of type `T`.
    pub fn get<T: Element>(&self, name: &str) -> Option<&[T]> {
        self.entries
            .iter()
            .find(|(p, _)| p.name() == name)
            .and_then(|(_, d)| T::unwrap(d))
    }

    /// The data of a parameter, if present and of type `T`.
    pub fn param<T: Element>(&self, param: &ModelParam) -> Option<&[T]> {
        self.entries
            .iter()
            .find(|(p, _)| p == param)
            .and_then(|(_, d)| T::unwrap(d))
    }
}

/// Matches named tensors (name, shape, data) to the model's parameters, collecting every
/// problem: the decoded data in [`Model::params`] order. `decode` gives a tensor's data in
/// the model's dtype, or the name of the dtype it has.
fn match_params<D, X>(
    model: &Model,
    prefix: &str,
    mut candidates: Vec<(String, Vec<usize>, D)>,
    decode: impl Fn(D) -> Result<X, String>,
) -> Result<Vec<(ModelParam, X)>, WeightsError> {
    let mut problems = Vec::new();
    let mut entries = Vec::new();
    for param in model.params() {
        let name = param.name();
        let Some(i) = candidates.iter().position(|c| c.0 == name) else {
            problems.push(TensorProblem::Missing {
                name: format!("{prefix}{name}"),
                expected: param.shape(),
            });
            continue;
        };
        let (_, shape, data) = candidates.swap_remove(i);
        if shape != param.shape() {
            problems.push(TensorProblem::Shape {
                name: format!("{prefix}{name}"),
                expected: param.shape(),
                hint: shape_hint(model, &param, &shape),
                found: shape,
            });
            continue;
        }
        match decode(data) {
            Ok(data) => entries.push((param, data)),
            Err(found) => problems.push(TensorProblem::Dtype {
                name: format!("{prefix}{name}"),
                expected: model.dtype(),
                found,
            }),
        }
    }
    candidates.sort_by(|a, b| a.0.cmp(&b.0));
    for (extra, shape, _) in candidates {
        problems.push(TensorProblem::Unexpected {
            hint: unexpected_hint(model, &extra, &shape),
            name: format!("{prefix}{extra}"),
        });
    }
    if problems.is_empty() {
        Ok(entries)
    } else {
        Err(WeightsError::Mismatch(Mismatch {
            problems,
            suggested_prefix: None,
        }))
    }
}

/// Explains a mis-shaped parameter by the cell or `proj_size` whose shape it has: gate
/// rows of another cell (an LSTM's `4 * H` for a GRU's `3 * H`), or the columns of another
/// projection.
fn shape_hint(model: &Model, param: &ModelParam, found: &[usize]) -> Option<String> {
    let h = model.hidden_size();
    let cell = model.cell();
    let rows = *found.first()?;
    let gate_kinds = [
        ParamKind::WeightIh,
        ParamKind::WeightHh,
        ParamKind::BiasIh,
        ParamKind::BiasHh,
    ];
    if gate_kinds.contains(&param.kind) && rows != model.gate_rows() && rows % h == 0 {
        let other = Cell::ALL
            .into_iter()
            .find(|c| c.gates() == rows / h && c.gates() != cell.gates())?;
        let names = |c: Cell| c.gate_names().join(", ");
        return Some(format!(
            "{rows} rows = {} x hidden_size {h}, the gates of a torch.nn.{} ({}): the spec has \
             cell = \"{}\", a torch.nn.{} of {} gate{} ({})",
            other.gates(),
            model.kind().with_cell(other).module(),
            names(other),
            model.kind(),
            model.module(),
            cell.gates(),
            if cell.gates() == 1 { "" } else { "s" },
            names(cell)
        ));
    }
    if param.kind == ParamKind::WeightHh
        && cell == Cell::Lstm
        && rows == model.gate_rows()
        && let Some(&cols) = found.get(1)
    {
        let found_proj = if cols == h { 0 } else { cols };
        let spec = if model.is_cell_module() {
            format!("torch.nn.{} has no projection", model.module())
        } else {
            format!("the spec has proj_size = {}", model.proj_size())
        };
        return Some(format!(
            "weight_hh's {cols} columns are the recurrent state of an LSTM with proj_size = \
             {found_proj}; {spec}"
        ));
    }
    None
}

/// The cell whose gate rows a tensor of `shape` has (a weight's or bias's first dim is
/// `G * hidden_size`), if one does.
fn cell_of_rows(model: &Model, shape: &[usize]) -> Option<Cell> {
    let rows = *shape.first()?;
    let cell = model.cell();
    if rows == model.gate_rows() {
        return Some(cell);
    }
    let h = model.hidden_size();
    Cell::ALL
        .into_iter()
        .find(|c| c.gates() * h == rows && c.gates() != cell.gates())
}

/// Explains an unexpected tensor of `shape` by the spec flag that would have produced it,
/// or by the other form of module whose names it has (a sequence module's `weight_ih_l0`
/// offered to a cell module, whose parameter is `weight_ih`, or the reverse).
fn unexpected_hint(model: &Model, name: &str, shape: &[usize]) -> Option<String> {
    let kind = model.kind();
    let cell_names = "weight_ih, weight_hh, bias_ih, bias_hh";
    let is_cell_name = [
        ParamKind::WeightIh,
        ParamKind::WeightHh,
        ParamKind::BiasIh,
        ParamKind::BiasHh,
    ]
    .iter()
    .any(|k| k.stem() == name);
    if is_cell_name && !model.is_cell_module() {
        let other = kind.with_cell(cell_of_rows(model, shape).unwrap_or(model.cell()));
        return Some(format!(
            "these are torch.nn.{}'s names; the spec has cell = \"{kind}\" (torch.nn.{}), whose \
             names end in the layer (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, ...): \
             for a cell module set cell = \"{}\"",
            other.cell_module().module(),
            model.module(),
            other.cell_module()
        ));
    }
    if name.starts_with("weight_hr_l") {
        if model.cell() != Cell::Lstm {
            return Some(format!(
                "weight_hr is an LSTM's projection; the spec has cell = \"{kind}\""
            ));
        }
        if model.is_cell_module() {
            return Some(format!(
                "weight_hr is torch.nn.LSTM's projection (proj_size); torch.nn.{} has none",
                model.module()
            ));
        }
        if model.proj_size() == 0 {
            return Some("weight_hr is an LSTM's projection; the spec has proj_size = 0".into());
        }
        // The spec projects: this one is of a layer or direction the spec does not have.
    }
    let stems = [
        "weight_ih_l",
        "weight_hh_l",
        "bias_ih_l",
        "bias_hh_l",
        "weight_hr_l",
    ];
    let stem = stems.iter().find(|s| name.starts_with(*s))?;
    let rest = &name[stem.len()..];
    let (layer, reverse) = match rest.strip_suffix("_reverse") {
        Some(layer) => (layer, true),
        None => (rest, false),
    };
    let layer: usize = layer.parse().ok()?;
    if model.is_cell_module() {
        let other = kind.with_cell(cell_of_rows(model, shape).unwrap_or(model.cell()));
        Some(format!(
            "these are a sequence module's names (torch.nn.{}'s); the spec has cell = \"{kind}\" \
             (torch.nn.{}), whose names have no layer ({cell_names}): for the sequence module \
             set cell = \"{}\"",
            other.sequence_module().module(),
            model.module(),
            other.sequence_module()
        ))
    } else if stem.starts_with("bias") && !model.bias() {
        Some("the spec has bias = false".into())
    } else if reverse && !model.bidirectional() {
        Some("the spec has bidirectional = false".into())
    } else if layer >= model.num_layers() {
        Some(format!("the spec has num_layers = {}", model.num_layers()))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RnnSpec;

    /// An LSTM's state_dict for a GRU spec: every mis-shaped tensor on its line, and one
    /// hint saying whose shapes they are.
    #[test]
    fn another_cells_weights_are_named() {
        use crate::CellKind;
        let lstm = RnnSpec::builder(3, 4)
            .cell(CellKind::Lstm)
            .proj_size(2)
            .build()
            .unwrap();
        let gru = RnnSpec::builder(3, 4).cell(CellKind::Gru).build().unwrap();
        let tensors: Vec<(String, Tensor<f32>)> = Weights::init(&lstm, 1)
            .iter()
            .map(|(p, d)| {
                let data = f32::unwrap(d).unwrap().to_vec();
                (p.name(), Tensor::new(p.shape(), data).unwrap())
            })
            .collect();
        let err = Weights::from_tensors(&gru, tensors)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("tensor `weight_ih_l0` has shape [16, 3], expected [12, 3]"),
            "{err}"
        );
        assert!(err.contains("unexpected tensor `weight_hr_l0`"), "{err}");
        assert_eq!(err.matches("hint:").count(), 1, "{err}");
        assert!(
            err.contains(
                "hint: 16 rows = 4 x hidden_size 4, the gates of a torch.nn.LSTM (i, f, g, o): \
                 the spec has cell = \"gru\", a torch.nn.GRU of 3 gates (r, z, n)"
            ),
            "{err}"
        );
    }

    /// Named tensors of `model`'s initialization, as a state_dict holds them.
    fn state_dict(model: &Model) -> Vec<(String, Tensor<f32>)> {
        Weights::init(model, 1)
            .iter()
            .map(|(p, d)| {
                let data = f32::unwrap(d).unwrap().to_vec();
                (p.name(), Tensor::new(p.shape(), data).unwrap())
            })
            .collect()
    }

    /// A projecting LSTM's unexpected `weight_hr_l1` is explained by what differs (the
    /// layers), not by a `proj_size = 0` the spec does not have.
    #[test]
    fn an_unexpected_weight_hr_names_what_differs() {
        use crate::CellKind;
        let lstmp = |layers, bidirectional| {
            RnnSpec::builder(3, 4)
                .cell(CellKind::Lstm)
                .proj_size(3)
                .num_layers(layers)
                .bidirectional(bidirectional)
                .build()
                .unwrap()
        };
        let err = Weights::from_tensors(&lstmp(1, false), state_dict(&lstmp(2, false)))
            .unwrap_err()
            .to_string();
        assert!(!err.contains("proj_size = 0"), "{err}");
        assert!(
            err.contains(
                "`weight_hh_l1`, `weight_hr_l1`, `weight_ih_l1`: the spec has no such \
                 parameters (the spec has num_layers = 1)"
            ),
            "{err}"
        );
        let err = Weights::from_tensors(&lstmp(1, false), state_dict(&lstmp(1, true)))
            .unwrap_err()
            .to_string();
        assert!(!err.contains("proj_size = 0"), "{err}");
        assert!(
            err.contains("`weight_hr_l0_reverse`") && err.contains("bidirectional = false"),
            "{err}"
        );
        // Without projections in the spec, proj_size is what differs.
        let lstm = RnnSpec::builder(3, 4).cell(CellKind::Lstm).build().unwrap();
        let err = Weights::from_tensors(&lstm, state_dict(&lstmp(1, false)))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("weight_hr is an LSTM's projection; the spec has proj_size = 0"),
            "{err}"
        );
    }

    /// A cell module's state_dict offered to a sequence module's spec, and the reverse:
    /// one line names the other form's names and the cell that has them.
    #[test]
    fn the_other_forms_names_are_named() {
        use crate::CellKind;
        let lstm = RnnSpec::builder(3, 4).cell(CellKind::Lstm).build().unwrap();
        let cell = RnnSpec::builder(3, 4)
            .cell(CellKind::LstmCell)
            .build()
            .unwrap();
        assert_eq!(
            cell.params()
                .iter()
                .map(ModelParam::name)
                .collect::<Vec<_>>(),
            ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
        );
        let err = Weights::from_tensors(&lstm, state_dict(&cell))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("missing tensor `weight_ih_l0` (expected shape [16, 3])"),
            "{err}"
        );
        assert!(
            err.contains(
                "unexpected tensors `bias_hh`, `bias_ih`, `weight_hh`, `weight_ih`: the spec has \
                 no such parameters (these are torch.nn.LSTMCell's names; the spec has cell = \
                 \"lstm\" (torch.nn.LSTM), whose names end in the layer"
            ),
            "{err}"
        );
        assert!(err.contains("set cell = \"lstm_cell\""), "{err}");
        let err = Weights::from_tensors(&cell, state_dict(&lstm))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("missing tensor `weight_hh` (expected shape [16, 4])"),
            "{err}"
        );
        assert!(
            err.contains(
                "(these are a sequence module's names (torch.nn.LSTM's); the spec has cell = \
                 \"lstm_cell\" (torch.nn.LSTMCell), whose names have no layer"
            ),
            "{err}"
        );
        // A GRUCell's names and shapes for an RNN spec: the hint names the GRUCell.
        let gru_cell = RnnSpec::builder(3, 4)
            .cell(CellKind::GruCell)
            .build()
            .unwrap();
        let rnn = RnnSpec::builder(3, 4).build().unwrap();
        let err = Weights::from_tensors(&rnn, state_dict(&gru_cell))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("these are torch.nn.GRUCell's names; the spec has cell = \"rnn\""),
            "{err}"
        );
        // Another cell module's weights: the gates are named in the cell modules' terms.
        let err = Weights::from_tensors(&gru_cell, state_dict(&cell))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "hint: 16 rows = 4 x hidden_size 4, the gates of a torch.nn.LSTMCell (i, f, g, \
                 o): the spec has cell = \"gru_cell\", a torch.nn.GRUCell of 3 gates"
            ),
            "{err}"
        );
    }

    #[test]
    fn init_is_seeded_and_within_torch_bounds() {
        let model = RnnSpec::builder(3, 16).num_layers(2).build().unwrap();
        let a = Weights::init(&model, 7);
        assert_eq!(a, Weights::init(&model, 7));
        assert_ne!(a, Weights::init(&model, 8));
        let all: Vec<f32> = a
            .iter()
            .flat_map(|(_, d)| f32::unwrap(d).unwrap().to_vec())
            .collect();
        assert_eq!(all.len(), model.num_parameters());
        assert!(all.iter().all(|v| v.abs() <= 0.25));
        // Not degenerate: values spread over the range.
        assert!(all.iter().any(|v| *v > 0.2) && all.iter().any(|v| *v < -0.2));
    }

    #[test]
    fn from_tensors_reports_every_problem_with_hints() {
        let model = RnnSpec::builder(2, 3).bias(false).build().unwrap();
        let t = |shape: Vec<usize>| {
            let n = shape.iter().product();
            Tensor::new(shape, vec![0f32; n]).unwrap()
        };
        let err = Weights::from_tensors(
            &model,
            [
                ("weight_ih_l0".to_string(), t(vec![3, 5])),
                ("bias_ih_l0".to_string(), t(vec![3])),
                ("weight_hh_l0_reverse".to_string(), t(vec![3, 3])),
            ],
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("tensor `weight_ih_l0` has shape [3, 5], expected [3, 2]"));
        assert!(text.contains("missing tensor `weight_hh_l0` (expected shape [3, 3])"));
        assert!(
            text.contains(
                "`bias_ih_l0`: the spec has no such parameter (the spec has bias = false)"
            )
        );
        assert!(text.contains("(the spec has bidirectional = false)"));
        // One problem per line.
        assert_eq!(text.lines().count(), 5, "{text}");
    }
}
