//! Reading torch's constructor arguments: the one reader of spec files, case files,
//! benchmark configurations and Python dicts.
//!
//! A spec file holds top-level keys named like torch's constructor arguments:
//!
//! ```toml
//! cell = "lstm"         # "rnn" (default), "lstm" or "gru"; or a cell module's name
//! input_size = 10
//! hidden_size = 20
//! num_layers = 2        # optional, like every key but the two sizes
//! ```
//!
//! Every source of these keys is read here, by [`SpecFile::from_args`]: a spec file
//! ([`SpecFile::parse`]), a table of another TOML file (a benchmark configuration), a JSON
//! case or a Python dict each turn their entries into [`Arg`]s and keep their own keys for
//! themselves. So every source means the same thing by the same keys and gets the same
//! messages; a file locates them by line and column, a source without text by key.
//!
//! Besides `cell`, torch's `RNNBase.mode` is read: `mode = "RNN_TANH" | "RNN_RELU" |
//! "LSTM" | "GRU"` is the sequence module of that cell (an RNN's mode is its
//! nonlinearity too), as a torch module holds it. With `cell` or `nonlinearity` it must
//! say the same; a cell module has no mode (`cell = "lstm_cell"`, and an RNNCell's
//! `nonlinearity`).
//!
//! Reading never stops at the first problem: every unknown key, wrong type and out-of-range
//! value is collected, and validation's problems are added to the reader's, so one run
//! shows everything wrong with a spec. A key whose value has the wrong type keeps its
//! default, so it is reported once, not again by validation.

use std::borrow::Cow;
use std::ops::Range;
use std::path::Path;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::cell::Cell;
use crate::error::{SpecError, SpecErrorKind, SpecErrors};
use crate::model::Model;
use crate::spec::{CellKind, RnnSpec};
use crate::validate::{SpecSpans, validate};

/// Every key a spec may hold.
pub const KNOWN_KEYS: [&str; 13] = [
    "cell",
    "mode",
    "input_size",
    "hidden_size",
    "num_layers",
    "nonlinearity",
    "bias",
    "batch_first",
    "dropout",
    "bidirectional",
    "proj_size",
    "dtype",
    "name",
];

/// A value of one key as its source holds it: TOML, JSON or a Python object.
#[derive(Clone, Debug, PartialEq)]
pub enum ArgValue {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Integer(i64),
    /// An integer that does not fit 64 bits, as written.
    BigInteger(String),
    /// A floating-point number.
    Float(f64),
    /// A string.
    String(String),
    /// A table (TOML's; the keys it holds): spec keys nested in one are reported as such.
    Table(Vec<String>),
    /// Any other value (an array, a datetime, a Python list...), named as its source names
    /// it, for "got: ..." messages.
    Other(String),
}

impl ArgValue {
    /// A TOML value as the reader takes it.
    pub fn from_toml(value: &DeValue<'_>) -> ArgValue {
        match value {
            DeValue::String(s) => ArgValue::String(s.to_string()),
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(v) => ArgValue::Integer(v),
                Err(_) => ArgValue::BigInteger(i.to_string()),
            },
            DeValue::Float(f) => match f.as_str().parse() {
                Ok(v) => ArgValue::Float(v),
                Err(_) => ArgValue::Other(format!("float {f}")),
            },
            DeValue::Boolean(b) => ArgValue::Bool(*b),
            DeValue::Datetime(d) => ArgValue::Other(format!("datetime {d}")),
            DeValue::Array(_) => ArgValue::Other("array".into()),
            DeValue::Table(t) => {
                ArgValue::Table(t.iter().map(|(k, _)| k.get_ref().to_string()).collect())
            }
        }
    }

    /// How the value is named in "got: ..." messages: `integer 7`, `string "10"`, `array`.
    pub fn describe(&self) -> String {
        match self {
            ArgValue::Bool(b) => format!("boolean {b}"),
            ArgValue::Integer(i) => format!("integer {i}"),
            ArgValue::BigInteger(i) => format!("integer {i}"),
            ArgValue::Float(f) => format!("float {f:?}"),
            ArgValue::String(s) => format!("string {s:?}"),
            ArgValue::Table(_) => "table".into(),
            ArgValue::Other(what) => what.clone(),
        }
    }
}

/// One key of a source and its value, with where they were written: byte ranges of the
/// file for a source with text, `None` for one located by key (a dict, a JSON case).
#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    /// The key.
    pub key: String,
    /// Where the key was written.
    pub key_span: Option<Range<usize>>,
    /// The value.
    pub value: ArgValue,
    /// Where the value was written.
    pub span: Option<Range<usize>>,
}

impl Arg {
    /// A key and value of a source without text: problems are located by the key.
    pub fn new(key: impl Into<String>, value: ArgValue) -> Arg {
        Arg {
            key: key.into(),
            key_span: None,
            value,
            span: None,
        }
    }

    /// An entry of a TOML table, with its spans in the file's text.
    pub fn from_toml(key: &Spanned<Cow<'_, str>>, value: &Spanned<DeValue<'_>>) -> Arg {
        Arg {
            key: key.get_ref().to_string(),
            key_span: Some(key.span()),
            value: ArgValue::from_toml(value.get_ref()),
            span: Some(value.span()),
        }
    }
}

/// What a spec was read from, for locating its problems.
#[derive(Clone, Copy, Debug)]
pub enum ArgSource<'a> {
    /// A TOML file (`path`, shown in diagnostics) whose `text` the spans of the [`Arg`]s
    /// point into: problems are shown at their line and column, the source line quoted.
    File {
        /// The file's path.
        path: &'a str,
        /// Its text.
        text: &'a str,
    },
    /// Keys and values without text (a Python dict, a JSON case), named `origin` in
    /// messages (`a Python dict`, `case_001.json`): problems are located by their key.
    Keys {
        /// What the keys came from.
        origin: &'a str,
    },
}

/// Where the spec of a [`SpecFile`] came from.
#[derive(Clone, Debug)]
enum Origin {
    File { path: String, text: String },
    Keys { origin: String },
}

/// A spec as read from a source: the spec it describes, where each value was written, and
/// the problems reading found. Made by [`SpecFile::parse`] (a spec file's text) or
/// [`SpecFile::from_args`] (any source of keys).
#[derive(Clone, Debug)]
pub struct SpecFile {
    origin: Origin,
    spec: RnnSpec,
    spans: SpecSpans,
    errors: Vec<SpecError>,
}

impl SpecFile {
    /// Reads and parses a spec file; its stem is the default `name`.
    pub fn read(path: &Path) -> std::io::Result<SpecFile> {
        let text = std::fs::read_to_string(path)?;
        Ok(SpecFile::parse(&path.display().to_string(), &text))
    }

    /// Parses spec text. `path` appears in diagnostics and its stem, made into a C
    /// identifier, is the default `name`.
    pub fn parse(path: &str, text: &str) -> SpecFile {
        let stem = Path::new(path)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let source = ArgSource::File { path, text };
        let name = default_name(&stem);
        let (table, syntax_errors) = DeTable::parse_recoverable(text);
        if syntax_errors.is_empty() {
            let args = table.get_ref().iter().map(|(k, v)| Arg::from_toml(k, v));
            return SpecFile::from_args(source, Some(&name), args);
        }
        // A recovered table after a syntax error would only add confusing follow-ups.
        let mut file = SpecFile::from_args(source, Some(&name), []);
        file.errors = syntax_errors
            .into_iter()
            .map(|e| SpecError {
                kind: SpecErrorKind::Syntax {
                    message: e.message().trim().to_string(),
                },
                span: e.span(),
            })
            .collect();
        file
    }

    /// Reads torch's arguments from `args`, the entries of any source: every key must be
    /// one of [`KNOWN_KEYS`] (a caller keeps its own keys for itself), `input_size` and
    /// `hidden_size` are required, every other key has torch's default. `name` is the
    /// default `name`; `None` makes it the cell's (`lstm`, `gru_cell`), as for a torch
    /// module.
    pub fn from_args(
        source: ArgSource<'_>,
        name: Option<&str>,
        args: impl IntoIterator<Item = Arg>,
    ) -> SpecFile {
        let mut reader = Reader::default();
        for arg in args {
            reader.read(arg);
        }
        let Reader {
            mut spec,
            spans,
            mut errors,
            read,
            ..
        } = reader.finish();
        if !read.contains(&"name") {
            spec.name = name.map_or_else(|| spec.cell.as_str().to_string(), str::to_string);
        }
        for required in ["input_size", "hidden_size"] {
            if !spans.written(required) {
                errors.push(SpecError {
                    kind: SpecErrorKind::MissingKey { key: required },
                    span: None,
                });
            }
        }
        let origin = match source {
            ArgSource::File { path, text } => Origin::File {
                path: path.to_string(),
                text: text.to_string(),
            },
            ArgSource::Keys { origin } => Origin::Keys {
                origin: origin.to_string(),
            },
        };
        SpecFile {
            origin,
            spec,
            spans,
            errors,
        }
    }

    /// The spec as written, if it was read without problems (it may still be invalid).
    pub fn spec(&self) -> Result<&RnnSpec, SpecErrors> {
        if self.errors.is_empty() {
            Ok(&self.spec)
        } else {
            Err(self.located(self.errors.clone()))
        }
    }

    /// Whether the source wrote `key` (whatever its value, valid or not).
    pub fn written(&self, key: &str) -> bool {
        self.spans.written(key)
    }

    /// Validates the spec: every problem of reading and validation, in file order.
    pub fn validate(&self) -> Result<Model, SpecErrors> {
        let mut errors = self.errors.clone();
        if self
            .errors
            .iter()
            .any(|e| matches!(e.kind, SpecErrorKind::Syntax { .. }))
        {
            return Err(self.located(errors));
        }
        match validate(&self.spec, &self.spans) {
            Ok(model) if errors.is_empty() => Ok(model),
            Ok(_) => Err(self.located(errors)),
            Err(more) => {
                errors.extend(more.errors().iter().cloned());
                Err(self.located(errors))
            }
        }
    }

    fn located(&self, mut errors: Vec<SpecError>) -> SpecErrors {
        // File-wide problems (no span) come last; the rest in the order of the text. A
        // stable sort: problems located by key stay in the order they were found.
        errors.sort_by_key(|e| e.span.as_ref().map_or(usize::MAX, |s| s.start));
        let errors = SpecErrors::new(errors);
        match &self.origin {
            Origin::File { path, text } => errors.in_file(path, text),
            Origin::Keys { origin } => errors.in_keys(origin),
        }
    }
}

/// The stem of a file name made into a C identifier: `kws-40x128x2` -> `kws_40x128x2`.
pub fn default_name(stem: &str) -> String {
    let mut name: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(64)
        .collect();
    if name.is_empty() {
        name = crate::spec::DEFAULT_NAME.to_string();
    } else if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
        name.truncate(64);
    }
    name
}

/// The state of reading one source's entries.
struct Reader {
    spec: RnnSpec,
    spans: SpecSpans,
    errors: Vec<SpecError>,
    /// torch's mode, if given and known, with where.
    mode: Option<(Cell, Option<Range<usize>>)>,
    /// Keys whose values were read (of the right type and known), for `mode`'s checks.
    read: Vec<&'static str>,
}

impl Default for Reader {
    fn default() -> Reader {
        Reader {
            spec: RnnSpec::builder(1, 1).into(),
            spans: SpecSpans::default(),
            errors: Vec::new(),
            mode: None,
            read: Vec::new(),
        }
    }
}

impl Reader {
    fn read(&mut self, arg: Arg) {
        let Arg {
            key,
            key_span,
            value,
            span,
        } = arg;
        let Some(&known) = KNOWN_KEYS.iter().find(|k| **k == key) else {
            let nested = matches!(&value, ArgValue::Table(keys)
                if keys.iter().any(|k| KNOWN_KEYS.contains(&k.as_str())));
            let kind = if nested {
                SpecErrorKind::NestedTable { key }
            } else {
                SpecErrorKind::UnknownKey {
                    suggestion: nearest_key(&key),
                    key,
                }
            };
            self.errors.push(SpecError {
                kind,
                span: key_span,
            });
            return;
        };
        self.spans.set(known, span.clone());
        match self.value(known, &value, span.clone()) {
            Ok(()) => self.read.push(known),
            Err(kind) => self.errors.push(SpecError { kind, span }),
        }
    }

    fn value(
        &mut self,
        key: &'static str,
        value: &ArgValue,
        span: Option<Range<usize>>,
    ) -> Result<(), SpecErrorKind> {
        let wrong = |Expected(expected)| SpecErrorKind::WrongType {
            key,
            expected,
            found: value.describe(),
        };
        let spec = &mut self.spec;
        match key {
            "input_size" => spec.input_size = integer(value).map_err(wrong)?,
            "hidden_size" => spec.hidden_size = integer(value).map_err(wrong)?,
            "num_layers" => spec.num_layers = integer(value).map_err(wrong)?,
            "proj_size" => spec.proj_size = integer(value).map_err(wrong)?,
            "cell" => spec.cell = string(value).map_err(wrong)?.parse()?,
            "mode" => self.mode = Some((string(value).map_err(wrong)?.parse()?, span)),
            "bias" => spec.bias = boolean(value).map_err(wrong)?,
            "batch_first" => spec.batch_first = boolean(value).map_err(wrong)?,
            "bidirectional" => spec.bidirectional = boolean(value).map_err(wrong)?,
            "dropout" => spec.dropout = number(value).map_err(wrong)?,
            "name" => spec.name = string(value).map_err(wrong)?.to_string(),
            "nonlinearity" => {
                spec.nonlinearity = Some(string(value).map_err(wrong)?.parse()?);
            }
            "dtype" => spec.dtype = string(value).map_err(wrong)?.parse()?,
            _ => unreachable!("every key of KNOWN_KEYS is read above"),
        }
        Ok(())
    }

    /// Applies `mode` once every key is read: it names the sequence module (and an RNN's
    /// nonlinearity) unless `cell` (`nonlinearity`) does, and must agree with them.
    fn finish(mut self) -> Reader {
        let Some((mode, span)) = self.mode.clone() else {
            return self;
        };
        let implied = CellKind::Rnn.with_cell(mode);
        let mut contradiction = |key, found, implied, note| {
            self.errors.push(SpecError {
                kind: SpecErrorKind::ModeContradicts {
                    mode: mode.mode(),
                    key,
                    found,
                    implied,
                    note,
                },
                span: span.clone(),
            });
        };
        if !self.spans.written("cell") {
            self.spec.cell = implied;
        } else if self.read.contains(&"cell") && self.spec.cell != implied {
            let note = if self.spec.cell.is_cell_module() {
                format!(" (torch.nn.{} has no mode)", self.spec.cell.module())
            } else {
                String::new()
            };
            contradiction("cell", self.spec.cell.as_str(), implied.as_str(), note);
        }
        if let Some(act) = mode.nonlinearity() {
            if !self.spans.written("nonlinearity") {
                self.spec.nonlinearity = Some(act);
            } else if let Some(given) = self.spec.nonlinearity
                && self.read.contains(&"nonlinearity")
                && given != act
            {
                contradiction("nonlinearity", given.as_str(), act.as_str(), String::new());
            }
        }
        self
    }
}

/// The type a key takes, for "should be of type ..." messages.
struct Expected(&'static str);

fn integer(value: &ArgValue) -> Result<i64, Expected> {
    match value {
        ArgValue::Integer(i) => Ok(*i),
        ArgValue::BigInteger(_) => Err(Expected("integer (64-bit)")),
        _ => Err(Expected("integer")),
    }
}

fn number(value: &ArgValue) -> Result<f64, Expected> {
    match value {
        ArgValue::Float(f) => Ok(*f),
        // torch takes any number for dropout, integers included.
        ArgValue::Integer(_) | ArgValue::BigInteger(_) => integer(value).map(|i| i as f64),
        _ => Err(Expected("number")),
    }
}

fn boolean(value: &ArgValue) -> Result<bool, Expected> {
    match value {
        ArgValue::Bool(b) => Ok(*b),
        _ => Err(Expected("boolean")),
    }
}

fn string(value: &ArgValue) -> Result<&str, Expected> {
    match value {
        ArgValue::String(s) => Ok(s),
        _ => Err(Expected("string")),
    }
}

fn nearest_key(key: &str) -> Option<&'static str> {
    KNOWN_KEYS
        .iter()
        .map(|k| (strsim::damerau_levenshtein(key, k), *k))
        .filter(|(distance, k)| *distance <= (k.len() / 3).max(2))
        .min()
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_are_c_identifiers() {
        assert_eq!(default_name("kws-40x128x2"), "kws_40x128x2");
        assert_eq!(default_name("2layer"), "_2layer");
        assert_eq!(default_name(""), "rnn");
        assert_eq!(default_name("seed_example"), "seed_example");
    }

    #[test]
    fn suggestions_pick_the_nearest_key() {
        assert_eq!(nearest_key("hiden_size"), Some("hidden_size"));
        assert_eq!(nearest_key("num_layer"), Some("num_layers"));
        assert_eq!(nearest_key("batchfirst"), Some("batch_first"));
        assert_eq!(nearest_key("learning_rate"), None);
    }
}
