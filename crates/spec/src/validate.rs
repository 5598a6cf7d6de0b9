//! Validation: the only way from an [`RnnSpec`] to a [`Model`].
//!
//! Rules mirror `torch.nn.RNNBase.__init__` (positive `hidden_size` and `num_layers`,
//! `dropout` a number in `[0, 1]`, `tanh` or `relu` for the RNN only, `proj_size` for the
//! LSTM only, not negative and smaller than `hidden_size`) and the cell modules'
//! constructors (`torch.nn.RNNCell`, `LSTMCell`, `GRUCell`: `input_size`, `hidden_size`,
//! `bias`, an RNNCell's `nonlinearity`, nothing else), and add rnnc's own: a positive
//! `input_size`, a C identifier as `name`, and sizes small enough that every element offset
//! in a kernel fits in 32 bits. All rules run; every broken one is reported.
//!
//! Invariant: a cell module's `Model` has `num_layers = 1` and every other sequence-only
//! argument at its default, so that every later stage sees the one-layer, one-direction
//! model of the same recurrence.

use std::ops::Range;

use crate::error::{SpecError, SpecErrorKind, SpecErrors};
use crate::model::Model;
use crate::spec::{CellKind, RnnSpec};

/// Largest `input_size` and `hidden_size` rnnc compiles.
pub const MAX_SIZE: i64 = 1 << 16;
/// Largest `num_layers` rnnc compiles.
pub const MAX_LAYERS: i64 = 1 << 10;
/// Largest parameter count: element offsets in kernels are 32-bit.
pub const MAX_PARAMETERS: u64 = i32::MAX as u64;
/// Longest `name`: it prefixes C symbols and macros.
pub const MAX_NAME_LEN: usize = 64;

/// Which keys a source wrote, and where each value was written in a spec file (`None` for
/// sources located by key: a dict, a JSON case); empty for builder specs.
#[derive(Clone, Debug, Default)]
pub(crate) struct SpecSpans {
    spans: Vec<(&'static str, Option<Range<usize>>)>,
}

impl SpecSpans {
    pub(crate) fn set(&mut self, key: &'static str, span: Option<Range<usize>>) {
        self.spans.push((key, span));
    }

    /// Whether the source wrote `key` (whatever its value).
    pub(crate) fn written(&self, key: &str) -> bool {
        self.spans.iter().any(|(k, _)| *k == key)
    }

    pub(crate) fn get(&self, key: &str) -> Option<Range<usize>> {
        self.spans
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, span)| span.clone())
    }
}

/// Why a cell module takes neither `num_layers` nor `bidirectional`.
const ONE_STEP: &str = "a cell module is one layer and one direction, stepped once per call";

pub(crate) fn validate(spec: &RnnSpec, spans: &SpecSpans) -> Result<Model, SpecErrors> {
    let mut errors = Vec::new();
    let mut report = |kind: SpecErrorKind| {
        let span = kind.key().and_then(|key| spans.get(key));
        errors.push(SpecError { kind, span });
    };
    // A cell module's constructor has none of these arguments: each one given is reported
    // once, as such, and not again by the rules of its value below.
    let mut not_arguments: Vec<&'static str> = Vec::new();
    if spec.cell.is_cell_module() {
        for (key, given, reason) in [
            ("num_layers", spec.num_layers != 1, ONE_STEP),
            (
                "batch_first",
                spec.batch_first,
                "a cell module takes one step, (N, H_in) or (H_in), without a time dimension",
            ),
            // `!=` holds for NaN as well: any dropout but 0 is given.
            (
                "dropout",
                spec.dropout != 0.0,
                "dropout applies between the layers of a sequence module",
            ),
            ("bidirectional", spec.bidirectional, ONE_STEP),
            (
                "proj_size",
                spec.proj_size != 0,
                "projections are an argument of torch.nn.LSTM only",
            ),
        ] {
            if given || spans.written(key) {
                report(SpecErrorKind::NotACellArgument {
                    key,
                    module: spec.cell.module(),
                    reason,
                    // proj_size is the LSTM's alone.
                    sequence: if key == "proj_size" {
                        "lstm"
                    } else {
                        spec.cell.sequence_module().as_str()
                    },
                });
                not_arguments.push(key);
            }
        }
    }
    let applies = |key: &str| !not_arguments.contains(&key);
    for (key, value, max) in [
        ("input_size", spec.input_size, MAX_SIZE),
        ("hidden_size", spec.hidden_size, MAX_SIZE),
        ("num_layers", spec.num_layers, MAX_LAYERS),
    ] {
        if !applies(key) {
            continue;
        }
        if value <= 0 {
            report(SpecErrorKind::NotPositive { key, found: value });
        } else if value > max {
            report(SpecErrorKind::TooLarge {
                key,
                max,
                found: value,
            });
        }
    }
    // `contains` is false for NaN, which torch rejects too.
    if applies("dropout") && !(0.0..=1.0).contains(&spec.dropout) {
        report(SpecErrorKind::DropoutOutOfRange {
            found: spec.dropout,
        });
    }
    if let Some(act) = spec.nonlinearity
        && spec.cell.sequence_module() != CellKind::Rnn
    {
        report(SpecErrorKind::NonlinearityNotRnn {
            cell: spec.cell.as_str(),
            module: spec.cell.module(),
            found: act.as_str(),
        });
    }
    if !applies("proj_size") {
        // Reported above as no argument of a cell module.
    } else if spec.proj_size != 0 && spec.cell != CellKind::Lstm {
        report(SpecErrorKind::ProjSizeNotLstm {
            cell: spec.cell.as_str(),
            found: spec.proj_size,
        });
    } else if spec.proj_size < 0 {
        report(SpecErrorKind::ProjSizeNegative {
            found: spec.proj_size,
        });
    } else if spec.proj_size > 0 && spec.proj_size >= spec.hidden_size && spec.hidden_size > 0 {
        report(SpecErrorKind::ProjSizeNotSmaller {
            found: spec.proj_size,
            hidden_size: spec.hidden_size,
        });
    }
    if let Err(reason) = check_name(&spec.name) {
        report(SpecErrorKind::InvalidName {
            found: spec.name.clone(),
            reason,
        });
    }
    if errors.is_empty() {
        let parameters = Model::count_parameters(spec);
        if parameters > MAX_PARAMETERS {
            errors.push(SpecError {
                kind: SpecErrorKind::TooManyParameters {
                    found: parameters,
                    max: MAX_PARAMETERS,
                },
                span: None,
            });
        }
    }
    if errors.is_empty() {
        Ok(Model::new_validated(spec.clone()))
    } else {
        Err(SpecErrors::new(errors))
    }
}

fn check_name(name: &str) -> Result<(), &'static str> {
    let mut chars = name.chars();
    match chars.next() {
        None => Err("it is empty"),
        Some(c) if !(c.is_ascii_alphabetic() || c == '_') => {
            Err("it must start with a letter or `_`")
        }
        _ if !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') => {
            Err("it may hold only letters, digits and `_`")
        }
        _ if name.len() > MAX_NAME_LEN => Err("it is longer than 64 characters"),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_c_identifier_rules() {
        assert!(check_name("kws_2").is_ok());
        assert!(check_name("_x").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("2x").is_err());
        assert!(check_name("a-b").is_err());
        assert!(check_name("é").is_err());
        assert!(check_name(&"a".repeat(65)).is_err());
        assert!(check_name(&"a".repeat(64)).is_ok());
    }
}
