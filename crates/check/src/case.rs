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
    Arg, ArgSource, ArgValue, CellKind, DType, Element, KNOWN_KEYS, LoadOptions, Model, SpecErrors,
    SpecFile, StateKind, StateView, TensorData, TensorView, Weights, default_name,
};
use serde::Deserialize;

/// Tensors of a case file that are not parameters.
const CALL_TENSORS: [&str; 6] = ["input", "h0", "c0", "output", "h_n", "c_n"];

/// Why a case could not be read. Always a problem of the case files (the user's), or of
/// reading them (the environment's).
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// A file that cannot be read (the environment's fault, or a path that is not there),
    /// or whose contents are not a case (the user's).
    #[error("{path}: {message}")]
    File {
        /// The file at fault.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// The model's arguments in `NAME.json` (torch's constructor arguments; the user's
    /// fault): every problem, each located by its key, with the messages of a spec file.
    #[error(transparent)]
    Spec(#[from] SpecErrors),
}

/// Keys a case may carry for information only (`tests/golden/README.md`): `scale`, the
/// factor a generator multiplied inputs, states and weights by (the tensors include it).
pub const INFORMATIONAL_KEYS: [&str; 1] = ["scale"];

/// `NAME.json`: how torch was called, and in `other` the model's arguments (torch's
/// constructor keys, read by the spec reader: [`model`]) and any other key. Keys that are
/// neither those nor [`INFORMATIONAL_KEYS`] are kept to be reported as warnings: a case
/// written by a newer tool still runs, and a misspelt key does not pass unnoticed.
/// A sequence module's arguments and packing are required in its cases; a cell module
/// has none of them (checked in [`model`]).
#[derive(Debug, Deserialize)]
struct CaseConfig {
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

/// Whether a key of `NAME.json` is one of torch's arguments, for the spec reader. `name`
/// is not: a case's model is named by its file.
fn is_argument(key: &str) -> bool {
    key != "name" && KNOWN_KEYS.contains(&key)
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
        let fail = |p: &Path, message: String| CaseError::File {
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
        let model = model(&config, &json_path.display().to_string(), &name)?;
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
            .filter(|key| !is_argument(key) && !INFORMATIONAL_KEYS.contains(&key.as_str()))
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
        let input_size = case.model.input_size();
        let expected_input = if config.unbatched {
            vec![config.seq_len, input_size]
        } else if case.model.batch_first() {
            vec![config.batch, config.seq_len, input_size]
        } else {
            vec![config.seq_len, config.batch, input_size]
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

/// The model of a case: torch's arguments read as a spec file's (located by key), then the
/// keys a case of its module must have.
fn model(config: &CaseConfig, path: &str, name: &str) -> Result<Model, CaseError> {
    let args = config
        .other
        .iter()
        // `null` is an absent key, as for the case's own keys.
        .filter(|(key, value)| is_argument(key) && !value.is_null())
        .map(|(key, value)| Arg::new(key, arg_value(value)));
    let file = SpecFile::from_args(
        ArgSource::Keys { origin: path },
        Some(&default_name(name)),
        args,
    );
    let model = file.validate()?;
    let fail = |message: String| CaseError::File {
        path: path.to_string(),
        message,
    };
    let module = model.module();
    if model.is_cell_module() {
        // A stepped loop: none of a sequence module's arguments or packing.
        if config.packed == Some(true) || config.lengths.is_some() {
            return Err(fail(format!(
                "a case of torch.nn.{module} is a stepped loop: it cannot be packed or have \
                 lengths"
            )));
        }
    } else {
        let required = [
            ("num_layers", file.written("num_layers")),
            ("batch_first", file.written("batch_first")),
            ("bidirectional", file.written("bidirectional")),
            ("dropout", file.written("dropout")),
            ("packed", config.packed.is_some()),
            ("enforce_sorted", config.enforce_sorted.is_some()),
        ];
        if let Some((key, _)) = required.iter().find(|(_, given)| !given) {
            return Err(fail(format!(
                "missing key `{key}` (a case of torch.nn.{module} has it)"
            )));
        }
    }
    if model.kind().sequence_module() == CellKind::Rnn
        && !file.written("nonlinearity")
        && !file.written("mode")
    {
        return Err(fail("missing key `nonlinearity` (`tanh` or `relu`)".into()));
    }
    for key in ["bias", "dtype"] {
        if !file.written(key) {
            return Err(fail(format!("missing key `{key}` (every case has it)")));
        }
    }
    Ok(model)
}

/// A JSON value as the spec reader takes it.
fn arg_value(value: &serde_json::Value) -> ArgValue {
    use serde_json::Value;
    match value {
        Value::Bool(b) => ArgValue::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => ArgValue::Integer(i),
            (None, _) if n.is_u64() => ArgValue::BigInteger(n.to_string()),
            (None, f) => ArgValue::Float(f.unwrap_or(f64::NAN)),
        },
        Value::String(s) => ArgValue::String(s.clone()),
        Value::Array(_) => ArgValue::Other("array".into()),
        Value::Object(_) => ArgValue::Other("object".into()),
        Value::Null => ArgValue::Other("null".into()),
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
                return Err(CaseError::File {
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
    let entries = std::fs::read_dir(dir).map_err(|e| CaseError::File {
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

#[cfg(test)]
mod tests {
    use super::*;

    const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/golden");

    /// Loads a golden case with its JSON edited (the safetensors file copied beside it).
    fn load_edited(
        set: &str,
        case: &str,
        edit: impl Fn(&str) -> String,
    ) -> Result<Case, CaseError> {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("rnnc-case-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let golden = Path::new(GOLDEN).join(set);
        let json = std::fs::read_to_string(golden.join(format!("{case}.json"))).unwrap();
        let path = dir.join("edited.json");
        std::fs::write(&path, edit(&json)).unwrap();
        std::fs::copy(
            golden.join(format!("{case}.safetensors")),
            dir.join("edited.safetensors"),
        )
        .unwrap();
        let loaded = Case::load(&path);
        std::fs::remove_dir_all(&dir).unwrap();
        loaded
    }

    fn spec_error(result: Result<Case, CaseError>) -> String {
        match result {
            Err(CaseError::Spec(errors)) => errors.to_string(),
            other => panic!("expected the spec's problems, got {other:?}"),
        }
    }

    #[test]
    fn torchs_arguments_are_read_by_the_spec_reader_with_its_messages() {
        let unknown = spec_error(load_edited("torch-gru", "case_004", |j| {
            j.replace("\"cell\": \"gru\"", "\"cell\": \"transformer\"")
        }));
        assert!(
            unknown.ends_with(
                "edited.json: key `cell`: Unknown cell 'transformer'. Select from 'rnn', \
                 'lstm', 'gru', 'rnn_cell', 'lstm_cell' or 'gru_cell'."
            ),
            "{unknown}"
        );
        let both = spec_error(load_edited("torch-rnn", "case_004", |j| {
            j.replace("\"tanh\"", "\"gelu\"")
                .replace("\"relu\"", "\"gelu\"")
                .replace("\"float32\"", "\"float16\"")
                .replace("\"float64\"", "\"float16\"")
        }));
        assert!(
            both.contains("has 2 problems:")
                && both
                    .contains("key `dtype`: Unknown dtype 'float16'. Select from 'f32' or 'f64'.")
                && both.contains(
                    "key `nonlinearity`: Unknown nonlinearity 'gelu'. Select from 'tanh' or \
                     'relu'."
                ),
            "{both}"
        );
        let wrong = spec_error(load_edited("torch-rnn", "case_004", |j| {
            j.replacen("\"input_size\": 10", "\"input_size\": \"10\"", 1)
        }));
        assert!(
            wrong.ends_with(
                "edited.json: key `input_size`: input_size should be of type integer, got: \
                 string \"10\""
            ),
            "{wrong}"
        );
    }

    #[test]
    fn torchs_mode_may_name_the_module_and_must_agree_with_cell() {
        let golden = Case::load(&Path::new(GOLDEN).join("torch-lstm/case_004.json")).unwrap();
        let by_mode = load_edited("torch-lstm", "case_004", |j| {
            j.replace("\"cell\": \"lstm\"", "\"mode\": \"LSTM\"")
        })
        .unwrap();
        let renamed = rnnc_spec::RnnSpec {
            name: "edited".into(),
            ..golden.model.spec().clone()
        };
        assert_eq!(by_mode.model.spec(), &renamed);
        assert!(by_mode.warnings.is_empty(), "{:?}", by_mode.warnings);
        let contradiction = spec_error(load_edited("torch-lstm", "case_004", |j| {
            j.replace(
                "\"cell\": \"lstm\"",
                "\"cell\": \"lstm\", \"mode\": \"GRU\"",
            )
        }));
        assert!(
            contradiction.ends_with(
                "key `mode`: mode = \"GRU\" contradicts cell = \"lstm\": mode \"GRU\" is cell = \
                 \"gru\" (help: give mode or cell, not both)"
            ),
            "{contradiction}"
        );
        // An RNN's case names its nonlinearity, by `nonlinearity` or by `mode`.
        let rnn = load_edited("torch-rnn", "case_004", |j| {
            j.replace("\"nonlinearity\": \"relu\"", "\"mode\": \"RNN_RELU\"")
        })
        .unwrap();
        assert_eq!(
            rnn.model.cell(),
            rnnc_spec::Cell::Rnn(rnnc_spec::Nonlinearity::Relu)
        );
    }

    #[test]
    fn a_cases_own_keys_stay_its_own() {
        // `name` is not read as the model's: a case is named by its file (and warned about).
        let named = load_edited("torch-gru", "case_004", |j| {
            j.replacen('{', "{\n \"name\": \"other\",", 1)
        })
        .unwrap();
        assert_eq!(named.model.name(), "edited");
        assert_eq!(named.warnings.len(), 1);
        assert!(named.warnings[0].ends_with("unknown key `name` (ignored)"));
        let missing = load_edited("torch-gru", "case_004", |j| {
            j.replace("\"bias\"", "\"biases\"")
        })
        .unwrap_err()
        .to_string();
        assert!(
            missing.ends_with("edited.json: missing key `bias` (every case has it)"),
            "{missing}"
        );
    }
}
