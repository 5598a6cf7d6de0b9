//! Reading spec files: TOML text -> [`RnnSpec`] with the location of every value.
//!
//! A spec file holds top-level keys named like torch's constructor arguments:
//!
//! ```toml
//! cell = "lstm"         # "rnn" (default), "lstm" or "gru"
//! input_size = 10
//! hidden_size = 20
//! num_layers = 2        # optional, like every key but the two sizes
//! ```
//!
//! Parsing never stops at the first problem: every unknown key, wrong type and out-of-range
//! value is collected, and validation's problems are added to the parser's, so one run shows
//! everything wrong with a file. A key whose value has the wrong type keeps its default, so
//! it is reported once, not again by validation.

use std::path::Path;

use toml::de::{DeTable, DeValue};

use crate::error::{SpecError, SpecErrorKind, SpecErrors};
use crate::model::Model;
use crate::spec::RnnSpec;
use crate::validate::{SpecSpans, validate};

/// Every key a spec file may hold.
pub const KNOWN_KEYS: [&str; 12] = [
    "cell",
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

/// A parsed spec file: the spec it describes, where each value was written, and the
/// problems parsing found.
#[derive(Clone, Debug)]
pub struct SpecFile {
    path: String,
    text: String,
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
        let mut spec = RnnSpec::builder(1, 1).name(default_name(&stem)).into();
        let mut spans = SpecSpans::default();
        let mut errors = Vec::new();
        let (table, syntax_errors) = DeTable::parse_recoverable(text);
        if syntax_errors.is_empty() {
            read_table(table.get_ref(), &mut spec, &mut spans, &mut errors);
        } else {
            // A recovered table after a syntax error would only add confusing follow-ups.
            errors.extend(syntax_errors.into_iter().map(|e| SpecError {
                kind: SpecErrorKind::Syntax {
                    message: e.message().trim().to_string(),
                },
                span: e.span(),
            }));
        }
        SpecFile {
            path: path.to_string(),
            text: text.to_string(),
            spec,
            spans,
            errors,
        }
    }

    /// The spec as written, if the file parsed without problems (it may still be invalid).
    pub fn spec(&self) -> Result<&RnnSpec, SpecErrors> {
        if self.errors.is_empty() {
            Ok(&self.spec)
        } else {
            Err(self.located(self.errors.clone()))
        }
    }

    /// Validates the spec: every problem of parsing and validation, in file order.
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
        // File-wide problems (no span) come last; the rest in the order of the text.
        errors.sort_by_key(|e| e.span.as_ref().map_or(usize::MAX, |s| s.start));
        SpecErrors::new(errors).in_file(&self.path, &self.text)
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

fn read_table(
    table: &DeTable<'_>,
    spec: &mut RnnSpec,
    spans: &mut SpecSpans,
    errors: &mut Vec<SpecError>,
) {
    for (key, value) in table.iter() {
        let name = key.get_ref().as_ref();
        let span = value.span();
        let Some(&known) = KNOWN_KEYS.iter().find(|k| **k == name) else {
            let nested = match value.get_ref() {
                DeValue::Table(t) => t
                    .iter()
                    .any(|(k, _)| KNOWN_KEYS.contains(&k.get_ref().as_ref())),
                _ => false,
            };
            let kind = if nested {
                SpecErrorKind::NestedTable {
                    key: name.to_string(),
                }
            } else {
                SpecErrorKind::UnknownKey {
                    key: name.to_string(),
                    suggestion: nearest_key(name),
                }
            };
            errors.push(SpecError {
                kind,
                span: Some(key.span()),
            });
            continue;
        };
        spans.set(known, span.clone());
        let value = value.get_ref();
        let wrong = |Expected(expected)| SpecErrorKind::WrongType {
            key: known,
            expected,
            found: describe(value),
        };
        let mut read =
            || -> Result<(), SpecErrorKind> {
                match known {
                    "input_size" => spec.input_size = integer(value).map_err(wrong)?,
                    "hidden_size" => spec.hidden_size = integer(value).map_err(wrong)?,
                    "num_layers" => spec.num_layers = integer(value).map_err(wrong)?,
                    "proj_size" => spec.proj_size = integer(value).map_err(wrong)?,
                    "cell" => {
                        let found = string(value).map_err(wrong)?;
                        spec.cell = found.parse().map_err(|()| SpecErrorKind::UnknownCell {
                            found: found.to_string(),
                        })?;
                    }
                    "bias" => spec.bias = boolean(value).map_err(wrong)?,
                    "batch_first" => spec.batch_first = boolean(value).map_err(wrong)?,
                    "bidirectional" => spec.bidirectional = boolean(value).map_err(wrong)?,
                    "dropout" => spec.dropout = number(value).map_err(wrong)?,
                    "name" => spec.name = string(value).map_err(wrong)?.to_string(),
                    "nonlinearity" => {
                        let found = string(value).map_err(wrong)?;
                        spec.nonlinearity = Some(found.parse().map_err(|()| {
                            SpecErrorKind::UnknownNonlinearity {
                                found: found.to_string(),
                            }
                        })?);
                    }
                    "dtype" => {
                        let found = string(value).map_err(wrong)?;
                        spec.dtype = found.parse().map_err(|()| SpecErrorKind::UnknownDtype {
                            found: found.to_string(),
                        })?;
                    }
                    _ => unreachable!("every key of KNOWN_KEYS is read above"),
                }
                Ok(())
            };
        if let Err(kind) = read() {
            errors.push(SpecError {
                kind,
                span: Some(span),
            });
        }
    }
    for required in ["input_size", "hidden_size"] {
        if !table.iter().any(|(k, _)| k.get_ref().as_ref() == required) {
            errors.push(SpecError {
                kind: SpecErrorKind::MissingKey { key: required },
                span: None,
            });
        }
    }
}

/// The TOML type a key takes, for "should be of type ..." messages.
struct Expected(&'static str);

fn integer(value: &DeValue<'_>) -> Result<i64, Expected> {
    match value {
        DeValue::Integer(i) => {
            i64::from_str_radix(i.as_str(), i.radix()).map_err(|_| Expected("integer (64-bit)"))
        }
        _ => Err(Expected("integer")),
    }
}

fn number(value: &DeValue<'_>) -> Result<f64, Expected> {
    match value {
        DeValue::Float(f) => f.as_str().parse().map_err(|_| Expected("number")),
        // torch takes any number for dropout, integers included.
        DeValue::Integer(_) => integer(value).map(|i| i as f64),
        _ => Err(Expected("number")),
    }
}

fn boolean(value: &DeValue<'_>) -> Result<bool, Expected> {
    match value {
        DeValue::Boolean(b) => Ok(*b),
        _ => Err(Expected("boolean")),
    }
}

fn string<'a>(value: &'a DeValue<'_>) -> Result<&'a str, Expected> {
    match value {
        DeValue::String(s) => Ok(s.as_ref()),
        _ => Err(Expected("string")),
    }
}

/// How a value is named in "got: ..." messages.
fn describe(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(s) => format!("string {:?}", s.as_ref()),
        DeValue::Integer(i) => format!("integer {i}"),
        DeValue::Float(f) => format!("float {f}"),
        DeValue::Boolean(b) => format!("boolean {b}"),
        DeValue::Datetime(d) => format!("datetime {d}"),
        DeValue::Array(_) => "array".to_string(),
        DeValue::Table(_) => "table".to_string(),
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
