//! Benchmark configurations (`benches/configs.toml` for the RNN, `benches/gated.toml` for
//! LSTM and GRU): a model and the shape of a call, shared by `rnnc bench`, the criterion
//! benches and the comparison against PyTorch.
//!
//! A file holds `[[config]]` tables. Each has its own keys, `name` (in reports), `seq_len`
//! and `batch` (the call), and torch's constructor arguments of [`TORCH_KEYS`], read by the
//! spec files' reader (the same keys, defaults and messages). Every configuration is
//! validated when the file is loaded, and every problem of the file is reported at once,
//! with its line and column.

use std::fmt;
use std::ops::Range;
use std::path::Path;

use rnnc_spec::{Arg, ArgSource, ArgValue, KNOWN_KEYS, Model, SpecFile, default_name};
use toml::de::{DeTable, DeValue};

/// torch's arguments a configuration may set: the models the peers run are f32,
/// time-major and with biases, so `dtype`, `batch_first` and `bias` are not among them
/// (nor `dropout`, which inference ignores).
pub const TORCH_KEYS: [&str; 8] = [
    "cell",
    "mode",
    "input_size",
    "hidden_size",
    "num_layers",
    "bidirectional",
    "nonlinearity",
    "proj_size",
];

/// A configuration's own keys.
const OWN_KEYS: [&str; 3] = ["name", "seq_len", "batch"];

/// One configuration: a validated model and the call to time.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchConfig {
    /// Name in reports.
    pub name: String,
    /// Time steps of the call.
    pub seq_len: usize,
    /// Sequences of the call.
    pub batch: usize,
    model: Model,
}

/// Why configurations could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The file cannot be read (the environment's fault, or a path that is not there).
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why it cannot be read.
        source: std::io::Error,
    },
    /// What is wrong with the file's configurations (the user's fault): every problem,
    /// in the order of the text.
    #[error("{}", ConfigProblems(.path, .problems))]
    Invalid {
        /// The file.
        path: String,
        /// Its problems, never empty.
        problems: Vec<ConfigProblem>,
    },
}

/// One problem of a configuration file, and where it is.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigProblem {
    /// 1-based line of the file.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// The configuration's `name`, if the problem is one configuration's and it has one.
    pub config: Option<String>,
    /// What is wrong: what was expected and what was found.
    pub message: String,
}

/// The problems of a file, one `path:line:column: ...` line each.
struct ConfigProblems<'a>(&'a str, &'a [ConfigProblem]);

impl fmt::Display for ConfigProblems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ConfigProblems(path, problems) = self;
        for (i, p) in problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{path}:{}:{}: ", p.line, p.column)?;
            if let Some(config) = &p.config {
                write!(f, "config `{config}`: ")?;
            }
            f.write_str(&p.message)?;
        }
        Ok(())
    }
}

/// Problems of one file, located in its text.
struct Problems<'t> {
    text: &'t str,
    found: Vec<(usize, ConfigProblem)>,
}

impl Problems<'_> {
    fn push(&mut self, span: Range<usize>, config: Option<&str>, message: String) {
        let before = &self.text[..span.start.min(self.text.len())];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        self.found.push((
            span.start,
            ConfigProblem {
                line: before.matches('\n').count() + 1,
                column: before[line_start..].chars().count() + 1,
                config: config.map(str::to_string),
                message,
            },
        ));
    }
}

impl BenchConfig {
    /// Reads every `[[config]]` of a file.
    pub fn load(path: &Path) -> Result<Vec<BenchConfig>, BenchError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| BenchError::Read {
            path: shown.clone(),
            source,
        })?;
        BenchConfig::parse(&shown, &text)
    }

    /// Reads every `[[config]]` of `text`; `path` names the file in messages.
    pub fn parse(path: &str, text: &str) -> Result<Vec<BenchConfig>, BenchError> {
        let mut problems = Problems {
            text,
            found: Vec::new(),
        };
        let mut configs = Vec::new();
        let (root, syntax) = DeTable::parse_recoverable(text);
        for e in &syntax {
            let span = e.span().unwrap_or(0..0);
            problems.push(span, None, format!("invalid TOML: {}", e.message().trim()));
        }
        if syntax.is_empty() {
            let mut tables = Vec::new();
            for (key, value) in root.get_ref().iter() {
                match (key.get_ref().as_ref(), value.get_ref()) {
                    ("config", DeValue::Array(array)) => tables.extend(array.iter()),
                    ("config", other) => {
                        let found = ArgValue::from_toml(other).describe();
                        problems.push(
                            value.span(),
                            None,
                            format!("`config` should be `[[config]]` tables, got: {found}"),
                        );
                    }
                    (key_name, _) => problems.push(
                        key.span(),
                        None,
                        format!(
                            "unknown key `{key_name}`: a file of benchmark configurations \
                             holds `[[config]]` tables"
                        ),
                    ),
                }
            }
            if tables.is_empty() && problems.found.is_empty() {
                problems.push(0..0, None, "no `[[config]]` table".into());
            }
            for table in tables {
                let DeValue::Table(entries) = table.get_ref() else {
                    let found = ArgValue::from_toml(table.get_ref()).describe();
                    problems.push(
                        table.span(),
                        None,
                        format!("`config` should hold tables, got: {found}"),
                    );
                    continue;
                };
                if let Some(config) = read_config(path, text, table.span(), entries, &mut problems)
                {
                    configs.push(config);
                }
            }
        }
        if problems.found.is_empty() {
            return Ok(configs);
        }
        problems.found.sort_by_key(|(at, _)| *at);
        Err(BenchError::Invalid {
            path: path.to_string(),
            problems: problems.found.into_iter().map(|(_, p)| p).collect(),
        })
    }

    /// The model (f32, time-major, with biases, as the peers run it).
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// FLOPs of one call: the sum over layers and directions of `2 L N G H (in_l + R)`, plus
    /// `2 L N P H` for projections (`Model::flops`).
    pub fn flops(&self) -> u64 {
        self.model.flops(self.seq_len, self.batch)
    }
}

/// One `[[config]]` table (`span` its place in the file), if it has no problem; its
/// problems otherwise.
fn read_config(
    path: &str,
    text: &str,
    span: Range<usize>,
    entries: &DeTable<'_>,
    problems: &mut Problems<'_>,
) -> Option<BenchConfig> {
    let before = problems.found.len();
    let name = entries
        .iter()
        .find(|(k, _)| k.get_ref() == "name")
        .and_then(|(_, v)| match v.get_ref() {
            DeValue::String(s) => Some(s.to_string()),
            _ => None,
        });
    let at = name.as_deref();
    let mut count = |key: &'static str| -> Option<usize> {
        let Some((_, value)) = entries.iter().find(|(k, _)| k.get_ref() == key) else {
            problems.push(span.clone(), at, format!("missing key `{key}`"));
            return None;
        };
        match ArgValue::from_toml(value.get_ref()) {
            ArgValue::Integer(n) if n >= 1 => Some(n as usize),
            ArgValue::Integer(n) => {
                problems.push(
                    value.span(),
                    at,
                    format!("{key} must be at least 1, got {n}"),
                );
                None
            }
            other => {
                let found = other.describe();
                problems.push(
                    value.span(),
                    at,
                    format!("{key} should be of type integer, got: {found}"),
                );
                None
            }
        }
    };
    let seq_len = count("seq_len");
    let batch = count("batch");
    match entries.iter().find(|(k, _)| k.get_ref() == "name") {
        None => problems.push(span.clone(), None, "missing key `name`".into()),
        Some((_, value)) if name.is_none() => {
            let found = ArgValue::from_toml(value.get_ref()).describe();
            problems.push(
                value.span(),
                None,
                format!("name should be of type string, got: {found}"),
            );
        }
        Some(_) => {}
    }
    let mut args = Vec::new();
    for (key, value) in entries.iter() {
        let key_name = key.get_ref().as_ref();
        if TORCH_KEYS.contains(&key_name) {
            args.push(Arg::from_toml(key, value));
        } else if KNOWN_KEYS.contains(&key_name) && !OWN_KEYS.contains(&key_name) {
            problems.push(
                key.span(),
                at,
                format!(
                    "`{key_name}` is not a key of benchmark configurations: their models are \
                     f32, time-major and with biases, as the peers run them"
                ),
            );
        } else if !OWN_KEYS.contains(&key_name) {
            problems.push(
                key.span(),
                at,
                format!(
                    "unknown key `{key_name}` (a configuration has {}, {})",
                    OWN_KEYS.join(", "),
                    TORCH_KEYS.join(", ")
                ),
            );
        }
    }
    let spec = SpecFile::from_args(
        ArgSource::File { path, text },
        Some(&default_name(at.unwrap_or_default())),
        args,
    );
    let model = match spec.validate() {
        Ok(model) => Some(model),
        Err(errors) => {
            for e in errors.errors() {
                let where_ = e.span.clone().unwrap_or_else(|| span.clone());
                problems.push(where_, at, e.kind.to_string());
            }
            None
        }
    };
    if let Some(model) = &model
        && model.is_cell_module()
    {
        // Its calls are steps, which the timing's sequences of `seq_len` are not.
        let kind = model.kind();
        problems.push(
            span.clone(),
            at,
            format!(
                "cell = \"{kind}\": benchmark configurations are sequence modules (rnn, lstm, \
                 gru); a step of torch.nn.{} is a call of cell = \"{}\" with seq_len = 1",
                kind.module(),
                kind.sequence_module()
            ),
        );
    }
    if problems.found.len() != before {
        return None;
    }
    Some(BenchConfig {
        name: name?,
        seq_len: seq_len?,
        batch: batch?,
        model: model?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rnnc_spec::{CellKind, Nonlinearity};

    #[test]
    fn the_shared_configurations_load_and_count_flops() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benches/configs.toml");
        let configs = BenchConfig::load(&path).unwrap();
        assert_eq!(configs.len(), 11);
        let seed = &configs[0];
        assert_eq!(seed.name, "seed-example");
        // 2 * 5 * 3 * 20 * ((10 + 20) + (20 + 20))
        assert_eq!(seed.flops(), 42_000);
        let bidir = configs
            .iter()
            .find(|c| c.name == "bidir-128x2-b8-relu")
            .unwrap();
        assert!(bidir.model().bidirectional());
        assert_eq!(bidir.model().nonlinearity(), Some(Nonlinearity::Relu));
        assert_eq!(bidir.model().name(), "bidir_128x2_b8_relu");
    }

    #[test]
    fn the_gated_configurations_load_and_count_flops() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benches/gated.toml");
        let configs = BenchConfig::load(&path).unwrap();
        assert_eq!(configs.len(), 8);
        // gated.toml's formula: per layer 2*L*N*G*H*(in_l + R) + 2*L*N*P*H, R = P.
        let lstmp = configs
            .iter()
            .find(|c| c.name == "lstmp-80x512p128x2")
            .unwrap();
        let (l, g, h, p) = (100u64, 4, 512, 128);
        let layer = |input: u64| 2 * l * g * h * (input + p) + 2 * l * p * h;
        assert_eq!(lstmp.flops(), layer(80) + layer(128));
        let gru = configs.iter().find(|c| c.name == "gru-stream-96").unwrap();
        assert_eq!(gru.flops(), 2 * 1000 * 3 * 96 * (42 + 96));
    }

    #[test]
    fn the_deployed_model_shapes_load_and_count_flops() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benches/models.toml");
        let configs = BenchConfig::load(&path).unwrap();
        assert_eq!(configs.len(), 10);
        let frames = configs
            .iter()
            .filter(|c| c.name.ends_with("-frame"))
            .count();
        assert_eq!(frames, 4);
        // Two LSTMs of 640 called once per token: 2 * G * H * (in + H) per layer.
        let asr = configs
            .iter()
            .find(|c| c.name == "asr-decoder-lstm640x2-token")
            .unwrap();
        assert_eq!(asr.flops(), 2 * (2 * 4 * 640 * (640 + 640)));
        let vad = configs
            .iter()
            .find(|c| c.name == "vad-lstm128-frame")
            .unwrap();
        assert_eq!(vad.flops(), 2 * 4 * 128 * (128 + 128));
    }

    fn problems(text: &str) -> String {
        BenchConfig::parse("b.toml", text).unwrap_err().to_string()
    }

    #[test]
    fn a_cell_module_is_no_configuration() {
        let err = problems(
            "[[config]]\nname = \"vad\"\ncell = \"lstm_cell\"\ninput_size = 128\n\
             hidden_size = 128\nseq_len = 1\nbatch = 1\n",
        );
        assert!(
            err.contains(
                "b.toml:1:1: config `vad`: cell = \"lstm_cell\": benchmark configurations are \
                 sequence modules"
            ) && err.contains(
                "a step of torch.nn.LSTMCell is a call of cell = \"lstm\" with seq_len = 1"
            ),
            "{err}"
        );
    }

    #[test]
    fn torch_keys_read_as_in_spec_files_with_their_messages_and_places() {
        let err = problems(
            "[[config]]\nname = \"a\"\ncell = \"transformer\"\ninput_size = 0\nhidden_size = 4\n\
             seq_len = 0\nbatch = 1\ndtype = \"f64\"\nlayers = 2\n\n\
             [[config]]\nname = \"b\"\nnonlinearity = \"gelu\"\ninput_size = 3\n\
             hidden_size = 4\nbatch = 1.5\n",
        );
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(
            lines,
            [
                "b.toml:3:8: config `a`: Unknown cell 'transformer'. Select from 'rnn', 'lstm', \
                 'gru', 'rnn_cell', 'lstm_cell' or 'gru_cell'.",
                "b.toml:4:14: config `a`: input_size must be greater than zero, got 0",
                "b.toml:6:11: config `a`: seq_len must be at least 1, got 0",
                "b.toml:8:1: config `a`: `dtype` is not a key of benchmark configurations: \
                 their models are f32, time-major and with biases, as the peers run them",
                "b.toml:9:1: config `a`: unknown key `layers` (a configuration has name, \
                 seq_len, batch, cell, mode, input_size, hidden_size, num_layers, \
                 bidirectional, nonlinearity, proj_size)",
                "b.toml:11:1: config `b`: missing key `seq_len`",
                "b.toml:13:16: config `b`: Unknown nonlinearity 'gelu'. Select from 'tanh' or \
                 'relu'.",
                "b.toml:16:9: config `b`: batch should be of type integer, got: float 1.5",
            ],
            "{err}"
        );
    }

    #[test]
    fn torch_mode_is_a_sequence_module() {
        let configs = BenchConfig::parse(
            "b.toml",
            "[[config]]\nname = \"m\"\nmode = \"GRU\"\ninput_size = 3\nhidden_size = 4\n\
             seq_len = 2\nbatch = 1\n",
        )
        .unwrap();
        assert_eq!(configs[0].model().kind(), CellKind::Gru);
        let err = problems(
            "[[config]]\nname = \"m\"\nmode = \"GRU\"\ncell = \"lstm\"\ninput_size = 3\n\
             hidden_size = 4\nseq_len = 2\nbatch = 1\n",
        );
        assert!(
            err.starts_with("b.toml:3:8: config `m`: mode = \"GRU\" contradicts cell = \"lstm\""),
            "{err}"
        );
    }

    #[test]
    fn files_that_are_not_configurations_say_so() {
        assert_eq!(problems(""), "b.toml:1:1: no `[[config]]` table");
        assert!(
            problems("[[config]\n").starts_with("b.toml:1:"),
            "{}",
            problems("[[config]\n")
        );
        assert_eq!(
            problems("[config]\nname = \"x\"\n"),
            "b.toml:1:1: `config` should be `[[config]]` tables, got: table"
        );
        assert_eq!(
            problems(
                "[[config]]\nname = \"x\"\ninput_size = 1\nhidden_size = 1\nseq_len = 1\n\
                      batch = 1\n[other]\n"
            ),
            "b.toml:7:2: unknown key `other`: a file of benchmark configurations holds \
             `[[config]]` tables"
        );
    }
}
