//! Spec errors: what is wrong, under which key, and where in the file.
//!
//! Every problem of a spec is collected, not only the first: a user fixing a file should
//! see all of it at once. The same [`SpecErrorKind`] values come from files, from keys
//! without text (a Python dict, a JSON case) and from the builder. A file's are rendered
//! as compiler-style diagnostics with `path:line:column`, the source line and a label under
//! the offending text; those of keys without text start with their key (key `cell`: ...);
//! the builder's have no location.

use std::fmt;
use std::ops::Range;

use codespan_reporting::diagnostic::{Diagnostic, Label};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, Chars, Config};

use crate::spec::{UnknownCell, UnknownDType, UnknownMode, UnknownNonlinearity};

/// What is wrong with a spec. Every variant is the user's fault (a bad spec).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SpecErrorKind {
    /// The text is not valid TOML.
    #[error("invalid TOML: {message}")]
    Syntax {
        /// The TOML parser's message.
        message: String,
    },
    /// A key that no version of the spec format knows.
    #[error("unknown key `{key}`")]
    UnknownKey {
        /// The key as written (dotted for nested keys).
        key: String,
        /// The nearest known key, when one is close.
        suggestion: Option<&'static str>,
    },
    /// A table of spec keys (`[rnn]`): the keys belong at the top level.
    #[error("spec keys are top-level, but these are in a table `[{key}]`")]
    NestedTable {
        /// The table's key.
        key: String,
    },
    /// A key without a default is absent.
    #[error("missing required key `{key}`")]
    MissingKey {
        /// The missing key.
        key: &'static str,
    },
    /// A value of the wrong TOML type.
    #[error("{key} should be of type {expected}, got: {found}")]
    WrongType {
        /// The key.
        key: &'static str,
        /// The type the key takes.
        expected: &'static str,
        /// The type and value found.
        found: String,
    },
    /// A size or count that is zero or negative (torch's rule).
    #[error("{key} must be greater than zero, got {found}")]
    NotPositive {
        /// The key.
        key: &'static str,
        /// The value found.
        found: i64,
    },
    /// A size beyond what rnnc compiles (rnnc's rule, not torch's).
    #[error("{key} must be at most {max} (rnnc's limit), got {found}")]
    TooLarge {
        /// The key.
        key: &'static str,
        /// The largest value rnnc accepts.
        max: i64,
        /// The value found.
        found: i64,
    },
    /// A dropout outside `[0, 1]` or not a number (torch's rule).
    #[error(
        "dropout should be a number in range [0, 1] representing the probability of an \
         element being zeroed, got {found}"
    )]
    DropoutOutOfRange {
        /// The value found.
        found: f64,
    },
    /// A nonlinearity other than `tanh` or `relu` (torch's message).
    #[error(transparent)]
    UnknownNonlinearity(#[from] UnknownNonlinearity),
    /// A cell other than the six modules' names.
    #[error(transparent)]
    UnknownCell(#[from] UnknownCell),
    /// A `mode` other than torch's four.
    #[error(transparent)]
    UnknownMode(#[from] UnknownMode),
    /// torch's `mode` and `cell` or `nonlinearity` given together, saying different things.
    #[error(
        "mode = \"{mode}\" contradicts {key} = \"{found}\": mode \"{mode}\" is {key} = \
         \"{implied}\"{note}"
    )]
    ModeContradicts {
        /// The mode given.
        mode: &'static str,
        /// The other key: `cell` or `nonlinearity`.
        key: &'static str,
        /// Its value.
        found: &'static str,
        /// The value the mode means.
        implied: &'static str,
        /// Why, when the value is a cell module's (which has no mode); empty otherwise.
        note: String,
    },
    /// `nonlinearity` given for a module that has none (torch's LSTM, GRU and their cell
    /// modules take no such argument).
    #[error(
        "nonlinearity applies only to cell = \"rnn\" and \"rnn_cell\" (torch.nn.{module} \
         takes no nonlinearity argument), got nonlinearity = \"{found}\" with cell = \"{cell}\""
    )]
    NonlinearityNotRnn {
        /// The cell of the spec.
        cell: &'static str,
        /// torch's module for it.
        module: &'static str,
        /// The nonlinearity given.
        found: &'static str,
    },
    /// `proj_size` on a cell other than LSTM (torch's message).
    #[error(
        "proj_size argument is only supported for LSTM, not RNN or GRU (cell = \"{cell}\", proj_size = {found})"
    )]
    ProjSizeNotLstm {
        /// The cell of the spec.
        cell: &'static str,
        /// The value found.
        found: i64,
    },
    /// A negative `proj_size` (torch's message).
    #[error("proj_size should be a positive integer or zero to disable projections, got {found}")]
    ProjSizeNegative {
        /// The value found.
        found: i64,
    },
    /// `proj_size >= hidden_size` (torch's message).
    #[error(
        "proj_size has to be smaller than hidden_size, got proj_size = {found} with hidden_size = {hidden_size}"
    )]
    ProjSizeNotSmaller {
        /// The value found.
        found: i64,
        /// The spec's `hidden_size`.
        hidden_size: i64,
    },
    /// An argument of the sequence modules (`num_layers`, `batch_first`, `dropout`,
    /// `bidirectional`, `proj_size`) given to a cell module, whose constructor has no such
    /// argument (torch raises a `TypeError` for `torch.nn.LSTMCell(10, 20, num_layers=2)`).
    /// In a file any value is refused, the default included; from a builder, a value other
    /// than the default.
    #[error("`{key}` is not an argument of torch.nn.{module} ({reason})")]
    NotACellArgument {
        /// The key.
        key: &'static str,
        /// torch's cell module: `RNNCell`, `LSTMCell`, `GRUCell`.
        module: &'static str,
        /// Why a cell module has no such argument.
        reason: &'static str,
        /// The sequence module of the same recurrence (`lstm` for `lstm_cell`), which has it.
        sequence: &'static str,
    },
    /// A dtype other than `f32` or `f64`.
    #[error(transparent)]
    UnknownDtype(#[from] UnknownDType),
    /// A name that cannot prefix C symbols.
    #[error("name must be a C identifier ({reason}), got `{found}`")]
    InvalidName {
        /// The name found.
        found: String,
        /// What rule it breaks.
        reason: &'static str,
    },
    /// A model too large for rnnc's 32-bit element offsets.
    #[error("the model has {found} parameters; rnnc supports at most {max}")]
    TooManyParameters {
        /// Parameters of the model.
        found: u64,
        /// rnnc's limit.
        max: u64,
    },
}

impl SpecErrorKind {
    /// The key the problem is about, if any.
    pub fn key(&self) -> Option<&str> {
        match self {
            SpecErrorKind::Syntax { .. } => None,
            SpecErrorKind::UnknownKey { key, .. } | SpecErrorKind::NestedTable { key } => Some(key),
            SpecErrorKind::MissingKey { key }
            | SpecErrorKind::NotACellArgument { key, .. }
            | SpecErrorKind::WrongType { key, .. }
            | SpecErrorKind::NotPositive { key, .. }
            | SpecErrorKind::TooLarge { key, .. } => Some(key),
            SpecErrorKind::DropoutOutOfRange { .. } => Some("dropout"),
            SpecErrorKind::UnknownNonlinearity { .. } => Some("nonlinearity"),
            SpecErrorKind::UnknownDtype { .. } => Some("dtype"),
            SpecErrorKind::UnknownCell { .. } => Some("cell"),
            SpecErrorKind::UnknownMode { .. } | SpecErrorKind::ModeContradicts { .. } => {
                Some("mode")
            }
            SpecErrorKind::NonlinearityNotRnn { .. } => Some("nonlinearity"),
            SpecErrorKind::ProjSizeNotLstm { .. }
            | SpecErrorKind::ProjSizeNegative { .. }
            | SpecErrorKind::ProjSizeNotSmaller { .. } => Some("proj_size"),
            SpecErrorKind::InvalidName { .. } => Some("name"),
            SpecErrorKind::TooManyParameters { .. } => None,
        }
    }

    /// Whether the message names the key itself (in backquotes), so that a location by key
    /// would only repeat it.
    fn names_key(&self) -> bool {
        matches!(
            self,
            SpecErrorKind::UnknownKey { .. }
                | SpecErrorKind::NestedTable { .. }
                | SpecErrorKind::MissingKey { .. }
                | SpecErrorKind::NotACellArgument { .. }
        )
    }

    /// The short text under the underlined source.
    fn label(&self) -> String {
        match self {
            SpecErrorKind::Syntax { .. } => "here".into(),
            SpecErrorKind::UnknownKey { .. } => "unknown key".into(),
            SpecErrorKind::NestedTable { .. } => "a table of spec keys".into(),
            SpecErrorKind::MissingKey { key } => format!("`{key}` is required in this spec"),
            SpecErrorKind::WrongType { expected, .. } => format!("expected {expected}"),
            SpecErrorKind::NotPositive { .. } => "expected an integer > 0".into(),
            SpecErrorKind::TooLarge { max, .. } => format!("expected at most {max}"),
            SpecErrorKind::DropoutOutOfRange { .. } => "expected a number in [0, 1]".into(),
            SpecErrorKind::UnknownNonlinearity { .. } => "expected \"tanh\" or \"relu\"".into(),
            SpecErrorKind::UnknownDtype { .. } => "expected \"f32\" or \"f64\"".into(),
            SpecErrorKind::UnknownCell { .. } => {
                "expected \"rnn\", \"lstm\", \"gru\", \"rnn_cell\", \"lstm_cell\" or \"gru_cell\""
                    .into()
            }
            SpecErrorKind::UnknownMode { .. } => {
                "expected \"RNN_TANH\", \"RNN_RELU\", \"LSTM\" or \"GRU\"".into()
            }
            SpecErrorKind::ModeContradicts { key, found, .. } => {
                format!("contradicts {key} = \"{found}\"")
            }
            SpecErrorKind::NonlinearityNotRnn { .. } => {
                "only for cell = \"rnn\" or \"rnn_cell\"".into()
            }
            SpecErrorKind::NotACellArgument { module, .. } => {
                format!("not an argument of torch.nn.{module}")
            }
            SpecErrorKind::ProjSizeNotLstm { .. } => "only for cell = \"lstm\"".into(),
            SpecErrorKind::ProjSizeNegative { .. } => "expected an integer >= 0".into(),
            SpecErrorKind::ProjSizeNotSmaller { hidden_size, .. } => {
                format!("expected less than hidden_size ({hidden_size})")
            }
            SpecErrorKind::InvalidName { reason, .. } => (*reason).into(),
            SpecErrorKind::TooManyParameters { .. } => "in this spec".into(),
        }
    }

    fn help(&self) -> Option<String> {
        match self {
            SpecErrorKind::UnknownKey {
                suggestion: Some(s),
                ..
            } => Some(format!("did you mean `{s}`?")),
            SpecErrorKind::UnknownKey {
                suggestion: None, ..
            } => Some(format!(
                "known keys: {}",
                crate::parse::KNOWN_KEYS.join(", ")
            )),
            SpecErrorKind::NestedTable { key } => Some(format!(
                "remove the line `[{key}]` so that its keys are read as the spec"
            )),
            SpecErrorKind::InvalidName { .. } => {
                Some("a name is [A-Za-z_][A-Za-z0-9_]*, at most 64 characters".into())
            }
            SpecErrorKind::NonlinearityNotRnn { .. } => Some("remove the nonlinearity key".into()),
            SpecErrorKind::ModeContradicts { key, note, .. } => Some(if note.is_empty() {
                format!("give mode or {key}, not both")
            } else {
                "remove mode: a cell module has none".into()
            }),
            SpecErrorKind::ProjSizeNotLstm { .. } => {
                Some("remove proj_size, or set cell = \"lstm\"".into())
            }
            SpecErrorKind::NotACellArgument { key, sequence, .. } => Some(format!(
                "remove `{key}`, or set cell = \"{sequence}\" for the sequence module"
            )),
            _ => None,
        }
    }
}

/// One problem of a spec, with its location in the file when it came from one.
#[derive(Clone, Debug, PartialEq)]
pub struct SpecError {
    /// What is wrong.
    pub kind: SpecErrorKind,
    /// Byte range in the spec file; `None` for builder specs, sources located by key (a
    /// dict, a JSON case: [`SpecErrorKind::key`] says where) and file-wide problems.
    pub span: Option<Range<usize>>,
}

impl SpecError {
    /// The problem located by its key, for sources without text: "key `cell`: Unknown cell
    /// ...", then the help, if any.
    fn by_key(&self) -> String {
        let mut text = match self.kind.key() {
            Some(key) if !self.kind.names_key() => format!("key `{key}`: {}", self.kind),
            _ => self.kind.to_string(),
        };
        if let Some(help) = self.kind.help() {
            text.push_str(&format!(" (help: {help})"));
        }
        text
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.kind.fmt(f)
    }
}

impl std::error::Error for SpecError {}

/// Where the problems were found.
#[derive(Clone, Debug, PartialEq)]
enum Source {
    /// A builder: no location.
    Builder,
    /// A file (or a table of one) that the spans point into.
    File { path: String, text: String },
    /// Keys and values without text (a Python dict, a JSON case), named by `origin`; each
    /// problem is located by its key.
    Keys { origin: String },
}

/// Every problem found in one spec. Never empty.
///
/// `Display` (and `Debug`, so that `main` returning `Box<dyn Error>` prints something a
/// person can read) starts with a summary line, not with `error: `, so that callers can
/// add their own prefix; for a spec file, the compiler-style diagnostics follow; for keys
/// without text, one line per problem, located by its key.
/// [`render`](Self::render) is the form `rnnc` prints.
#[derive(Clone, PartialEq)]
pub struct SpecErrors {
    errors: Vec<SpecError>,
    source: Source,
}

impl SpecErrors {
    pub(crate) fn new(errors: Vec<SpecError>) -> SpecErrors {
        debug_assert!(!errors.is_empty());
        SpecErrors {
            errors,
            source: Source::Builder,
        }
    }

    /// Attaches the file the spans point into, so that rendering can quote it.
    pub(crate) fn in_file(mut self, path: &str, text: &str) -> SpecErrors {
        self.source = Source::File {
            path: path.to_string(),
            text: text.to_string(),
        };
        self
    }

    /// Names the source of keys the problems are located in (by key).
    pub(crate) fn in_keys(mut self, origin: &str) -> SpecErrors {
        self.source = Source::Keys {
            origin: origin.to_string(),
        };
        self
    }

    /// The problems, in file order (then validation order).
    pub fn errors(&self) -> &[SpecError] {
        &self.errors
    }

    /// The kinds alone: what a builder and a file with the same values have in common.
    pub fn kinds(&self) -> Vec<&SpecErrorKind> {
        self.errors.iter().map(|e| &e.kind).collect()
    }

    /// Renders every problem as a compiler diagnostic (plain text, no colour); problems of
    /// keys without text (a dict, a JSON case) one per line, each located by its key.
    pub fn render(&self) -> String {
        let (path, text) = match &self.source {
            Source::Builder => {
                return self
                    .errors
                    .iter()
                    .map(|e| format!("error: {e}\n"))
                    .collect();
            }
            Source::Keys { origin } => {
                return self
                    .errors
                    .iter()
                    .map(|e| format!("error: {origin}: {}\n", e.by_key()))
                    .collect();
            }
            Source::File { path, text } => (path, text),
        };
        let files = SimpleFile::new(path.as_str(), text.as_str());
        let config = Config {
            chars: Chars::ascii(),
            ..Config::default()
        };
        let mut out = String::new();
        for error in &self.errors {
            let span = error.span.clone().unwrap_or(0..0);
            let mut diagnostic = Diagnostic::error()
                .with_message(error.kind.to_string())
                .with_labels(vec![
                    Label::primary((), span).with_message(error.kind.label()),
                ]);
            if let Some(help) = error.kind.help() {
                diagnostic = diagnostic.with_notes(vec![format!("help: {help}")]);
            }
            // Spans come from the parser of this very text, so rendering cannot fail; if it
            // ever did, the one-line form still says what is wrong.
            match term::emit_into_string(&config, &files, &diagnostic) {
                Ok(text) => out.push_str(&text),
                Err(_) => out.push_str(&format!("error: {error}\n")),
            }
        }
        out.push_str(&format!(
            "error: {path} has {}\n",
            problems(self.errors.len())
        ));
        out
    }
}

/// "1 problem", "3 problems".
fn problems(n: usize) -> String {
    format!("{n} problem{}", if n == 1 { "" } else { "s" })
}

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        match &self.source {
            Source::File { path, .. } => {
                writeln!(f, "{path} has {}", problems(n))?;
                // The rendered diagnostics without the summary line that ends them.
                let rendered = self.render();
                let body = rendered
                    .trim_end()
                    .rsplit_once('\n')
                    .map_or("", |(body, _)| body);
                f.write_str(body)
            }
            Source::Keys { origin } => match self.errors.as_slice() {
                [one] => write!(f, "{origin}: {}", one.by_key()),
                many => {
                    write!(f, "{origin} has {}:", problems(n))?;
                    for e in many {
                        write!(f, "\n  {}", e.by_key())?;
                    }
                    Ok(())
                }
            },
            Source::Builder => match self.errors.as_slice() {
                [one] => write!(f, "invalid spec: {one}"),
                many => {
                    write!(f, "invalid spec ({}):", problems(n))?;
                    for e in many {
                        write!(f, "\n  {e}")?;
                    }
                    Ok(())
                }
            },
        }
    }
}

impl fmt::Debug for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for SpecErrors {}
