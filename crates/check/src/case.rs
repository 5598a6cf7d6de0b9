//! Reference cases computed by PyTorch: a JSON configuration beside a safetensors file.
//!
//! The format is the one `tests/golden/README.md` describes and `tools/rnnc_cases.py`
//! writes: torch's constructor arguments and how the call was made in `NAME.json`; the
//! weights under `state_dict` names plus `input`, `h0` (if any), `output` and `h_n` (and
//! an LSTM's `c0`, `c_n`) in `NAME.safetensors`. A case that cannot be read is an error
//! naming the file and the problem, never a panic: cases come from users' own models too.
//!
//! A cell module's case (`cell` = `rnn_cell`, `lstm_cell`, `gru_cell`) is a stepped loop:
//! torch's cell called `seq_len` times, `h = cell(x[t], h)`, the state carried from step to
//! step; `input` is `(L, N, H_in)` (or `(L, H_in)`), `h0`/`c0` the cell's `(N, H)` (or
//! `(H)`), `output` the new `h` after each step, `(L, N, H)`, and `h_n`/`c_n` the states
//! after the last step.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rnnc_spec::{
    CellKind, DType, Element, LoadOptions, Model, Nonlinearity, RnnSpec, StateKind, StateView,
    TensorData, TensorView, Weights,
};
use serde::Deserialize;

/// Tensors of a case file that are not parameters.
const CALL_TENSORS: [&str; 6] = ["input", "h0", "c0", "output", "h_n", "c_n"];

/// Why a case could not be read. Always a problem of the case files (the user's).
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct CaseError {
    /// The file at fault.
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

/// Keys a case may carry for information only (`tests/golden/README.md`): `scale`, the
/// factor a generator multiplied inputs, states and weights by (the tensors include it).
pub const INFORMATIONAL_KEYS: [&str; 1] = ["scale"];

/// `NAME.json`: the model's arguments and how torch was called. Keys that are neither
/// fields nor [`INFORMATIONAL_KEYS`] are kept to be reported as warnings: a case written by
/// a newer tool still runs, and a misspelt key does not pass unnoticed.
/// A sequence module's arguments and packing are required in its cases; a cell module
/// has none of them (`Option`s, checked in [`CaseConfig::model`]).
#[derive(Debug, Deserialize)]
struct CaseConfig {
    input_size: i64,
    hidden_size: i64,
    num_layers: Option<i64>,
    /// `lstm` or `gru` for torch's gated cells, `rnn_cell`, `lstm_cell` or `gru_cell` for
    /// the cell modules; absent for `torch.nn.RNN`.
    cell: Option<String>,
    /// Absent for the gated cells.
    nonlinearity: Option<String>,
    /// An LSTM's projection size; absent or 0 for none.
    proj_size: Option<i64>,
    bias: bool,
    batch_first: Option<bool>,
    bidirectional: Option<bool>,
    dropout: Option<f64>,
    dtype: String,
    seq_len: usize,
    batch: usize,
    unbatched: bool,
    has_h0: bool,
    packed: Option<bool>,
    enforce_sorted: Option<bool>,
    lengths: Option<Vec<usize>>,
    tensors: BTreeMap<String, Vec<usize>>,
    #[serde(flatten)]
    other: BTreeMap<String, serde_json::Value>,
}

/// A tensor of a case, in the case's dtype.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseTensor {
    /// Dims.
    pub shape: Vec<usize>,
    /// Elements, row-major.
    pub data: TensorData,
}

impl CaseTensor {
    /// A view of the tensor as `T`, if that is its dtype.
    pub fn view<T: rnnc_spec::Element>(&self) -> Option<rnnc_spec::TensorView<'_, T>> {
        let data = T::unwrap(&self.data)?;
        rnnc_spec::TensorView::new(&self.shape, data).ok()
    }
}

/// One case: a model, its weights, a call and torch's results.
#[derive(Debug)]
pub struct Case {
    /// The file stem, e.g. `case_007`.
    pub name: String,
    /// The model torch ran.
    pub model: Model,
    /// Its weights.
    pub weights: Weights,
    /// The input torch got (padded, for packed cases).
    pub input: CaseTensor,
    /// The initial state, if torch got one.
    pub h0: Option<CaseTensor>,
    /// An LSTM's initial cell state, given with `h0`.
    pub c0: Option<CaseTensor>,
    /// Valid steps per sequence, for packed cases.
    pub lengths: Option<Vec<usize>>,
    /// torch's output (zeros at padded steps).
    pub output: CaseTensor,
    /// torch's final state, in the original batch order.
    pub h_n: CaseTensor,
    /// An LSTM's final cell state.
    pub c_n: Option<CaseTensor>,
    /// Problems that do not stop the case from running, e.g. a key rnnc does not know.
    pub warnings: Vec<String>,
}

impl Case {
    /// Reads a case from `NAME.json` (or `NAME.safetensors`, or the path without extension)
    /// and the file beside it.
    pub fn load(path: &Path) -> Result<Case, CaseError> {
        let json_path = path.with_extension("json");
        let tensors_path = path.with_extension("safetensors");
        let fail = |p: &Path, message: String| CaseError {
            path: p.display().to_string(),
            message,
        };
        if path
            .extension()
            .is_some_and(|e| e != "json" && e != "safetensors")
        {
            return Err(fail(
                path,
                "not a case: expected NAME.json (with NAME.safetensors beside it) or a \
                 directory of cases"
                    .into(),
            ));
        }
        let json =
            std::fs::read_to_string(&json_path).map_err(|e| fail(&json_path, e.to_string()))?;
        let config: CaseConfig = serde_json::from_str(&json)
            .map_err(|e| fail(&json_path, format!("not a case configuration: {e}")))?;
        let name = json_path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let model = config
            .model(&name)
            .map_err(|message| fail(&json_path, message))?;
        let bytes = std::fs::read(&tensors_path).map_err(|e| fail(&tensors_path, e.to_string()))?;
        let file = safetensors::SafeTensors::deserialize(&bytes)
            .map_err(|e| fail(&tensors_path, format!("not a valid safetensors file: {e}")))?;
        let options = LoadOptions {
            prefix: String::new(),
            ignore: CALL_TENSORS.iter().map(|s| s.to_string()).collect(),
        };
        let weights = Weights::from_safetensors(&model, &bytes, &options)
            .map_err(|e| fail(&tensors_path, e.to_string()))?;
        let tensor = |name: &str| -> Result<CaseTensor, CaseError> {
            read_tensor(&file, name, model.dtype(), &config.tensors)
                .map_err(|message| fail(&tensors_path, message))
        };
        let has_c = model.states().contains(&StateKind::C);
        let h0 = if config.has_h0 {
            Some(tensor("h0")?)
        } else {
            None
        };
        let c0 = if config.has_h0 && has_c {
            Some(tensor("c0")?)
        } else {
            None
        };
        let c_n = if has_c { Some(tensor("c_n")?) } else { None };
        if config.packed.unwrap_or(false) != config.lengths.is_some() {
            return Err(fail(
                &json_path,
                "`lengths` must be given exactly when `packed` is true".into(),
            ));
        }
        let warnings = config
            .other
            .keys()
            .filter(|key| !INFORMATIONAL_KEYS.contains(&key.as_str()))
            .map(|key| format!("{}: unknown key `{key}` (ignored)", json_path.display()))
            .collect();
        let case = Case {
            warnings,
            name,
            input: tensor("input")?,
            h0,
            c0,
            lengths: config.lengths.clone(),
            output: tensor("output")?,
            h_n: tensor("h_n")?,
            c_n,
            model,
            weights,
        };
        let batch_first = config.batch_first.unwrap_or(false);
        let expected_input = if config.unbatched {
            vec![config.seq_len, config.input_size as usize]
        } else if batch_first {
            vec![config.batch, config.seq_len, config.input_size as usize]
        } else {
            vec![config.seq_len, config.batch, config.input_size as usize]
        };
        if case.input.shape != expected_input {
            return Err(fail(
                &tensors_path,
                format!(
                    "`input` has shape {:?}, but seq_len, batch and unbatched say {expected_input:?}",
                    case.input.shape
                ),
            ));
        }
        let _ = config.enforce_sorted; // torch's sorting is undone in its outputs.
        if case.model.is_cell_module() && config.seq_len == 0 {
            return Err(fail(&json_path, "a stepped loop of 0 steps".into()));
        }
        Ok(case)
    }

    /// The initial states torch got (`h0`, and `c0` for an LSTM), if any, as `T`.
    pub fn initial<T: Element>(&self) -> Option<StateView<'_, T>> {
        fn view<T: Element>(t: &CaseTensor) -> TensorView<'_, T> {
            t.view::<T>().expect("case tensors have the case's dtype")
        }
        self.h0.as_ref().map(|h0| StateView {
            h: view(h0),
            c: self.c0.as_ref().map(view),
        })
    }

    /// torch's final states, in the cell's order: `h_n`, then an LSTM's `c_n`.
    pub fn finals(&self) -> Vec<(StateKind, &CaseTensor)> {
        std::iter::once((StateKind::H, &self.h_n))
            .chain(self.c_n.as_ref().map(|c| (StateKind::C, c)))
            .collect()
    }
}

impl CaseConfig {
    fn model(&self, name: &str) -> Result<Model, String> {
        let cell: CellKind = match self.cell.as_deref() {
            None => CellKind::Rnn,
            Some(cell) => cell.parse().map_err(|()| {
                rnnc_spec::SpecErrorKind::UnknownCell {
                    found: cell.to_string(),
                }
                .to_string()
            })?,
        };
        if cell.is_cell_module() {
            // A stepped loop: none of a sequence module's arguments or packing.
            if self.packed == Some(true) || self.lengths.is_some() {
                return Err(format!(
                    "a case of torch.nn.{} is a stepped loop: it cannot be packed or have \
                     lengths",
                    cell.module()
                ));
            }
        } else {
            let required = [
                ("num_layers", self.num_layers.is_some()),
                ("batch_first", self.batch_first.is_some()),
                ("bidirectional", self.bidirectional.is_some()),
                ("dropout", self.dropout.is_some()),
                ("packed", self.packed.is_some()),
                ("enforce_sorted", self.enforce_sorted.is_some()),
            ];
            if let Some((key, _)) = required.iter().find(|(_, given)| !given) {
                return Err(format!(
                    "missing key `{key}` (a case of torch.nn.{} has it)",
                    cell.module()
                ));
            }
        }
        let nonlinearity = match (cell.sequence_module(), self.nonlinearity.as_deref()) {
            (CellKind::Rnn, None) => {
                return Err("missing key `nonlinearity` (`tanh` or `relu`)".into());
            }
            (_, None) => None,
            (_, Some(found)) => Some(
                found
                    .parse::<Nonlinearity>()
                    .map_err(|()| format!("Unknown nonlinearity '{found}'"))?,
            ),
        };
        let dtype: DType = self.dtype.parse().map_err(|()| {
            format!(
                "unknown dtype '{}': expected float32 or float64",
                self.dtype
            )
        })?;
        let mut builder = RnnSpec::builder(self.input_size, self.hidden_size)
            .cell(cell)
            .proj_size(self.proj_size.unwrap_or(0));
        if let Some(nonlinearity) = nonlinearity {
            builder = builder.nonlinearity(nonlinearity);
        }
        // Absent keys are the defaults (a cell module's case has none of them).
        builder
            .num_layers(self.num_layers.unwrap_or(1))
            .bias(self.bias)
            .batch_first(self.batch_first.unwrap_or(false))
            .dropout(self.dropout.unwrap_or(0.0))
            .bidirectional(self.bidirectional.unwrap_or(false))
            .dtype(dtype)
            .name(rnnc_spec::default_name(name))
            .build()
            .map_err(|e| e.to_string())
    }
}

fn read_tensor(
    file: &safetensors::SafeTensors<'_>,
    name: &str,
    dtype: DType,
    declared: &BTreeMap<String, Vec<usize>>,
) -> Result<CaseTensor, String> {
    let view = file
        .tensor(name)
        .map_err(|_| format!("missing tensor `{name}`"))?;
    let shape = view.shape().to_vec();
    if let Some(declared) = declared.get(name)
        && *declared != shape
    {
        return Err(format!(
            "tensor `{name}` has shape {shape:?}, but the case's JSON declares {declared:?}"
        ));
    }
    let data = match (view.dtype(), dtype) {
        (safetensors::Dtype::F32, DType::F32) | (safetensors::Dtype::F64, DType::F64) => {
            TensorData::from_le_bytes(dtype, view.data())
        }
        (found, _) => {
            return Err(format!(
                "tensor `{name}` has dtype {found:?}, expected {dtype}"
            ));
        }
    };
    Ok(CaseTensor { shape, data })
}

/// Every case at the given paths: files are cases, directories are searched with their
/// subdirectories (`tests/golden` holds `torch-rnn/`, `torch-lstm/`, `torch-gru/`) for
/// `*.json`; each directory's cases sorted by path. A directory without any case, or one
/// that cannot be read, is an error.
pub fn collect_case_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CaseError> {
    let mut cases = Vec::new();
    for path in paths {
        if path.is_dir() {
            let before = cases.len();
            collect_dir(path, &mut cases)?;
            if cases.len() == before {
                return Err(CaseError {
                    path: path.display().to_string(),
                    message: "no case (*.json) in this directory or below".into(),
                });
            }
        } else {
            cases.push(path.clone());
        }
    }
    Ok(cases)
}

/// The `*.json` files of `dir` (sorted), then those of its subdirectories (in name order).
fn collect_dir(dir: &Path, cases: &mut Vec<PathBuf>) -> Result<(), CaseError> {
    let entries = std::fs::read_dir(dir).map_err(|e| CaseError {
        path: dir.display().to_string(),
        message: e.to_string(),
    })?;
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    cases.extend(
        entries
            .iter()
            .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "json"))
            .cloned(),
    );
    for sub in entries.iter().filter(|p| p.is_dir()) {
        collect_dir(sub, cases)?;
    }
    Ok(())
}
