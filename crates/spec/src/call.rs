//! Checking the arguments of a forward call against a model, with torch's messages.
//!
//! Every engine (reference, interpreter, native code) resolves its arguments here first, so
//! they all accept and reject exactly the same calls. Invariant: a [`CallShape`] exists
//! only for arguments that fit the model, so code indexing with it stays in bounds.

use crate::cell::{MAX_STATES, StateKind};
use crate::model::Model;
use crate::spec::DType;

/// What is wrong with the arguments of a forward call. Always the caller's fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// Input neither `(L, H_in)` nor 3-D (torch's message, which says "tensor" for the
    /// RNN only).
    #[error(
        "{module}: Expected input to be 2D or 3D, got {found}D{} instead",
        if *.module == "RNN" { " tensor" } else { "" }
    )]
    InputRank {
        /// torch's module: `RNN`, `LSTM`, `GRU`.
        module: &'static str,
        /// Dims of the input.
        found: usize,
    },
    /// Last input dim differs from `input_size`.
    #[error("input.size(-1) must be equal to input_size. Expected {expected}, got {found}")]
    InputSize {
        /// The model's `input_size`.
        expected: usize,
        /// The input's last dim.
        found: usize,
    },
    /// A sequence of length 0.
    #[error("Expected sequence length to be larger than 0 in RNN")]
    EmptySequence,
    /// Initial states given for some of the cell's states but not all (torch takes an
    /// LSTM's `(h0, c0)` together).
    #[error(
        "expected the {expected} initial state(s) ({}) together, got {found} tensor(s)",
        .names.join(", ")
    )]
    HiddenCount {
        /// The cell's states.
        expected: usize,
        /// Their names: `h0`, `c0`.
        names: Vec<String>,
        /// States given.
        found: usize,
    },
    /// Initial states of a rank that does not go with the input's (torch names an LSTM's
    /// two ranks together: "hx and cx").
    #[error("For {input} input, {}", rank_text(*.expected, .found))]
    HiddenRank {
        /// "unbatched 2-D" or "batched 3-D".
        input: &'static str,
        /// Dims every state must have.
        expected: usize,
        /// Dims of each state given (`h0`, then an LSTM's `c0`).
        found: Vec<usize>,
    },
    /// An initial state of the right rank but the wrong shape.
    #[error("Expected hidden{} size {}, got {found:?}", index_text(*.index), tuple(.expected))]
    HiddenShape {
        /// Which of several states (`hidden[1]` is an LSTM's `c0`); `None` for a cell with
        /// one.
        index: Option<usize>,
        /// `(D * num_layers, N, width)` or `(D * num_layers, width)`.
        expected: Vec<usize>,
        /// The shape of `h0`.
        found: Vec<usize>,
    },
    /// One length per batch element is needed.
    #[error(
        "Expected `len(lengths)` to be equal to batch_size, but got {found} \
         (batch_size={expected})"
    )]
    LengthsCount {
        /// The batch size.
        expected: usize,
        /// Lengths given.
        found: usize,
    },
    /// Lengths with an unbatched input. torch cannot pack an unbatched `(L, H_in)` input
    /// (`pack_padded_sequence` reads dim 1 as the batch, and the RNN then rejects the
    /// packed data), so rnnc does not guess what was meant.
    #[error(
        "lengths need a batched input: an unbatched (L, H_in) input cannot be packed; \
         pass it as (L, 1, H_in) (batch_first: (1, L, H_in)) with one length"
    )]
    UnbatchedLengths,
    /// A sequence length of zero.
    #[error(
        "Length of all samples has to be greater than 0, but found an element in 'lengths' \
         that is <= 0 (lengths[{index}])"
    )]
    ZeroLength {
        /// Batch element.
        index: usize,
    },
    /// A sequence length past the input's time dimension.
    #[error("lengths[{index}] = {found} is larger than the input's sequence length {seq_len}")]
    LengthTooLong {
        /// Batch element.
        index: usize,
        /// Its length.
        found: usize,
        /// The input's `L`.
        seq_len: usize,
    },
    /// An argument of the wrong element type.
    #[error("{what} must have dtype {expected}, got {found}")]
    Dtype {
        /// Which argument.
        what: &'static str,
        /// The model's dtype.
        expected: DType,
        /// The argument's.
        found: DType,
    },
    /// A caller-provided output buffer of the wrong shape.
    #[error("{what} must have shape {expected:?}, got {found:?}")]
    OutputShape {
        /// Which buffer.
        what: &'static str,
        /// The shape the call produces.
        expected: Vec<usize>,
        /// The buffer's shape.
        found: Vec<usize>,
    },
}

/// The rest of torch's rank message: `hx` alone, or an LSTM's `hx and cx` together.
fn rank_text(expected: usize, found: &[usize]) -> String {
    match found {
        [h, c] => format!("hx and cx should also be {expected}-D but got ({h}-D, {c}-D) tensors"),
        _ => format!(
            "hx should also be {expected}-D but got {}-D tensor",
            found.first().copied().unwrap_or(0)
        ),
    }
}

/// torch's `hidden[1]` for the second of several states.
fn index_text(index: Option<usize>) -> String {
    index.map_or(String::new(), |i| format!("[{i}]"))
}

/// torch prints expected sizes as Python tuples: `(2, 3, 20)`.
fn tuple(dims: &[usize]) -> String {
    let inner: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
    format!("({})", inner.join(", "))
}

/// The dims of a call's tensor (2 or 3 of them), without allocating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dims {
    dims: [usize; 3],
    len: usize,
}

impl Dims {
    fn new(dims: &[usize]) -> Dims {
        let mut d = Dims {
            dims: [0; 3],
            len: dims.len(),
        };
        d.dims[..dims.len()].copy_from_slice(dims);
        d
    }
}

impl std::ops::Deref for Dims {
    type Target = [usize];
    fn deref(&self) -> &[usize] {
        &self.dims[..self.len]
    }
}

impl From<Dims> for Vec<usize> {
    fn from(d: Dims) -> Vec<usize> {
        d.to_vec()
    }
}

impl PartialEq<[usize]> for Dims {
    fn eq(&self, other: &[usize]) -> bool {
        **self == *other
    }
}

impl<const N: usize> PartialEq<[usize; N]> for Dims {
    fn eq(&self, other: &[usize; N]) -> bool {
        **self == other[..]
    }
}

/// The resolved shape of a valid forward call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallShape {
    /// `L`: time steps of the input.
    pub seq_len: usize,
    /// `N`: sequences (1 for unbatched input).
    pub batch: usize,
    /// Input was `(L, H_in)`; output is `(L, D * H)`, `h_n` is `(D * num_layers, H)`.
    pub unbatched: bool,
    /// Input and output are `(N, L, *)` (never for unbatched input).
    pub batch_first: bool,
    /// `H_in`.
    pub input_size: usize,
    /// `D * R`: features of one output step.
    pub output_size: usize,
    /// `D * num_layers`: the (layer, direction) pairs, each with its own states.
    pub layer_directions: usize,
    /// `D`.
    pub num_directions: usize,
    /// The cell's states, `h` first.
    pub states: &'static [StateKind],
    /// Features of each state, in the order of `states`.
    widths: [usize; MAX_STATES],
}

impl CallShape {
    /// Checks an input shape, the shapes of the initial states (all of the cell's, in
    /// [`Model::states`] order, or none for zeros) and optional lengths against `model`.
    pub fn check(
        model: &Model,
        input: &[usize],
        hx: Option<&[&[usize]]>,
        lengths: Option<&[usize]>,
    ) -> Result<CallShape, CallError> {
        let (unbatched, seq_len, batch, features) = match *input {
            [l, f] => (true, l, 1, f),
            [l, n, f] if !model.batch_first() => (false, l, n, f),
            [n, l, f] => (false, l, n, f),
            _ => {
                return Err(CallError::InputRank {
                    module: model.cell().module(),
                    found: input.len(),
                });
            }
        };
        if features != model.input_size() {
            return Err(CallError::InputSize {
                expected: model.input_size(),
                found: features,
            });
        }
        if seq_len == 0 {
            return Err(CallError::EmptySequence);
        }
        let states = model.states();
        let mut widths = [0; MAX_STATES];
        for (w, &kind) in widths.iter_mut().zip(states) {
            *w = model.state_size(kind);
        }
        let shape = CallShape {
            seq_len,
            batch,
            unbatched,
            batch_first: model.batch_first() && !unbatched,
            input_size: model.input_size(),
            output_size: model.output_size(),
            layer_directions: model.num_directions() * model.num_layers(),
            num_directions: model.num_directions(),
            states,
            widths,
        };
        if let Some(hx) = hx {
            if hx.len() != states.len() {
                return Err(CallError::HiddenCount {
                    expected: states.len(),
                    names: states.iter().map(|s| s.initial().to_string()).collect(),
                    found: hx.len(),
                });
            }
            let rank = if unbatched { 2 } else { 3 };
            if hx.iter().any(|found| found.len() != rank) {
                return Err(CallError::HiddenRank {
                    input: if unbatched {
                        "unbatched 2-D"
                    } else {
                        "batched 3-D"
                    },
                    expected: rank,
                    found: hx.iter().map(|found| found.len()).collect(),
                });
            }
            for (i, (&kind, &found)) in states.iter().zip(hx).enumerate() {
                let expected = shape.state_shape(kind);
                if *found != *expected {
                    return Err(CallError::HiddenShape {
                        index: (states.len() > 1).then_some(i),
                        expected: expected.to_vec(),
                        found: found.to_vec(),
                    });
                }
            }
        }
        if let Some(lengths) = lengths {
            if unbatched {
                return Err(CallError::UnbatchedLengths);
            }
            if lengths.len() != batch {
                return Err(CallError::LengthsCount {
                    expected: batch,
                    found: lengths.len(),
                });
            }
            for (index, &found) in lengths.iter().enumerate() {
                if found == 0 {
                    return Err(CallError::ZeroLength { index });
                }
                if found > seq_len {
                    return Err(CallError::LengthTooLong {
                        index,
                        found,
                        seq_len,
                    });
                }
            }
        }
        Ok(shape)
    }

    /// The dtype check every engine makes for each tensor argument.
    pub fn check_dtype(model: &Model, what: &'static str, found: DType) -> Result<(), CallError> {
        if found == model.dtype() {
            Ok(())
        } else {
            Err(CallError::Dtype {
                what,
                expected: model.dtype(),
                found,
            })
        }
    }

    /// Shape of `output`, in the input's layout.
    pub fn output_shape(&self) -> Dims {
        self.sequence_shape(self.output_size)
    }

    /// Shape of the input (as checked).
    pub fn input_shape(&self) -> Dims {
        self.sequence_shape(self.input_size)
    }

    fn sequence_shape(&self, features: usize) -> Dims {
        if self.unbatched {
            Dims::new(&[self.seq_len, features])
        } else if self.batch_first {
            Dims::new(&[self.batch, self.seq_len, features])
        } else {
            Dims::new(&[self.seq_len, self.batch, features])
        }
    }

    /// Features of one direction's `state`.
    pub fn state_size(&self, state: StateKind) -> usize {
        let i = self
            .states
            .iter()
            .position(|&s| s == state)
            .expect("a state of the model's cell");
        self.widths[i]
    }

    /// Shape of a state's initial and final values: `(D * num_layers, N, width)`, or
    /// `(D * num_layers, width)` unbatched.
    pub fn state_shape(&self, state: StateKind) -> Dims {
        let width = self.state_size(state);
        if self.unbatched {
            Dims::new(&[self.layer_directions, width])
        } else {
            Dims::new(&[self.layer_directions, self.batch, width])
        }
    }

    /// Shape of `h0` and `h_n`.
    pub fn h_n_shape(&self) -> Dims {
        self.state_shape(StateKind::H)
    }

    /// Element offset of time step `t` of sequence `b` in a sequence tensor (input or
    /// output) whose rows have `features` elements.
    pub fn step_offset(&self, t: usize, b: usize, features: usize) -> usize {
        let row = if self.batch_first {
            b * self.seq_len + t
        } else {
            t * self.batch + b
        };
        row * features
    }

    /// Element offset of (layer, direction) `layer * D + direction` of sequence `b` in the
    /// initial or final value of `state`.
    pub fn state_offset(&self, state: StateKind, index: usize, b: usize) -> usize {
        (index * self.batch + b) * self.state_size(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RnnSpec;

    fn model(batch_first: bool) -> Model {
        RnnSpec::builder(10, 20)
            .num_layers(2)
            .batch_first(batch_first)
            .build()
            .unwrap()
    }

    #[test]
    fn layouts_resolve_like_torch() {
        let m = model(false);
        let s = CallShape::check(&m, &[5, 3, 10], None, None).unwrap();
        assert_eq!((s.seq_len, s.batch, s.unbatched), (5, 3, false));
        assert_eq!(s.output_shape(), [5, 3, 20]);
        assert_eq!(s.h_n_shape(), [2, 3, 20]);
        let bf = CallShape::check(&model(true), &[3, 5, 10], None, None).unwrap();
        assert_eq!((bf.seq_len, bf.batch), (5, 3));
        assert_eq!(bf.output_shape(), [3, 5, 20]);
        assert_eq!(bf.step_offset(1, 2, 20), (2 * 5 + 1) * 20);
        // batch_first never applies to unbatched input.
        let u = CallShape::check(&model(true), &[5, 10], Some(&[&[2, 20]]), None).unwrap();
        assert!(u.unbatched && !u.batch_first);
        assert_eq!(u.output_shape(), [5, 20]);
    }

    #[test]
    fn gated_cells_errors_read_like_torch() {
        use crate::CellKind;
        let gru = RnnSpec::builder(4, 4).cell(CellKind::Gru).build().unwrap();
        let msg = |r: Result<CallShape, CallError>| r.unwrap_err().to_string();
        assert_eq!(
            msg(CallShape::check(&gru, &[1, 2, 3, 4], None, None)),
            "GRU: Expected input to be 2D or 3D, got 4D instead"
        );
        // torch.nn.LSTM(3, 4) called with c0 of 5 features.
        let lstm = RnnSpec::builder(3, 4).cell(CellKind::Lstm).build().unwrap();
        let (h0, c0): (&[usize], &[usize]) = (&[1, 2, 4], &[1, 2, 5]);
        assert_eq!(
            msg(CallShape::check(&lstm, &[5, 2, 3], Some(&[h0, c0]), None)),
            "Expected hidden[1] size (1, 2, 4), got [1, 2, 5]"
        );
        assert_eq!(
            msg(CallShape::check(&lstm, &[5, 2, 3], Some(&[h0]), None)),
            "expected the 2 initial state(s) (h0, c0) together, got 1 tensor(s)"
        );
        // With projections h has proj_size features, c hidden_size.
        let proj = RnnSpec::builder(3, 4)
            .cell(CellKind::Lstm)
            .proj_size(2)
            .build()
            .unwrap();
        let s = CallShape::check(&proj, &[5, 2, 3], Some(&[&[1, 2, 2], &[1, 2, 4]]), None);
        assert_eq!(s.unwrap().output_shape(), [5, 2, 2]);
        assert_eq!(
            msg(CallShape::check(
                &proj,
                &[5, 2, 3],
                Some(&[&[1, 2, 4], &[1, 2, 4]]),
                None
            )),
            "Expected hidden[0] size (1, 2, 2), got [1, 2, 4]"
        );
    }

    #[test]
    fn errors_read_like_torch() {
        let m = model(false);
        let msg = |r: Result<CallShape, CallError>| r.unwrap_err().to_string();
        assert_eq!(
            msg(CallShape::check(&m, &[5, 3, 7], None, None)),
            "input.size(-1) must be equal to input_size. Expected 10, got 7"
        );
        assert_eq!(
            msg(CallShape::check(
                &m,
                &[5, 3, 10],
                Some(&[&[2, 3, 19]]),
                None
            )),
            "Expected hidden size (2, 3, 20), got [2, 3, 19]"
        );
        assert_eq!(
            msg(CallShape::check(&m, &[5, 10], Some(&[&[2, 1, 20]]), None)),
            "For unbatched 2-D input, hx should also be 2-D but got 3-D tensor"
        );
        assert_eq!(
            msg(CallShape::check(&m, &[1, 5, 3, 10], None, None)),
            "RNN: Expected input to be 2D or 3D, got 4D tensor instead"
        );
        assert_eq!(
            CallShape::check(&m, &[5, 10], None, Some(&[5])),
            Err(CallError::UnbatchedLengths)
        );
        assert_eq!(
            msg(CallShape::check(&m, &[5, 3, 10], Some(&[]), None)),
            "expected the 1 initial state(s) (h0) together, got 0 tensor(s)"
        );
        assert!(matches!(
            CallShape::check(&m, &[5, 3, 10], None, Some(&[5, 6, 1])),
            Err(CallError::LengthTooLong { index: 1, .. })
        ));
        assert!(matches!(
            CallShape::check(&m, &[5, 3, 10], None, Some(&[5, 0, 1])),
            Err(CallError::ZeroLength { index: 1 })
        ));
        assert!(matches!(
            CallShape::check(&m, &[5, 3, 10], None, Some(&[5])),
            Err(CallError::LengthsCount {
                expected: 3,
                found: 1
            })
        ));
        assert_eq!(
            CallShape::check(&m, &[0, 3, 10], None, None),
            Err(CallError::EmptySequence)
        );
    }
}
