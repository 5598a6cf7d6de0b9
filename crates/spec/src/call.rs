//! Checking the arguments of a forward call against a model, with torch's messages.
//!
//! Every engine (reference, interpreter, native code) resolves its arguments here first, so
//! they all accept and reject exactly the same calls. Invariant: a [`CallShape`] exists
//! only for arguments that fit the model, so code indexing with it stays in bounds.
//!
//! A cell module's call (`torch.nn.LSTMCell`: input `(N, H_in)` or `(H_in)`, states
//! `(N, H)` or `(H)`) resolves to the one step it is: `seq_len = 1`, one layer and
//! direction, the output being the new `h`. Its shapes and the checks' order and messages
//! are those of torch's cell modules (their `forward` in Python, then ATen's
//! `check_rnn_cell_forward_input` and `_hidden`), which differ from the sequence modules'.
//!
//! Which exception torch raises is part of each variant's documentation: the Python
//! binding raises the same.

use crate::cell::{MAX_STATES, StateKind};
use crate::model::Model;
use crate::spec::DType;

/// What is wrong with the arguments of a forward call. Always the caller's fault.
///
/// The `Cell*` variants are a cell module's (`torch.nn.RNNCell`, `LSTMCell`, `GRUCell`),
/// the others a sequence module's, except for `Dtype` and `OutputShape`, which are both's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// Input neither `(L, H_in)` nor 3-D (torch's message, which says "tensor" for the
    /// RNN only). torch raises `ValueError`.
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
    /// Last input dim differs from `input_size`. torch raises `RuntimeError`.
    #[error("input.size(-1) must be equal to input_size. Expected {expected}, got {found}")]
    InputSize {
        /// The model's `input_size`.
        expected: usize,
        /// The input's last dim.
        found: usize,
    },
    /// A sequence of length 0. torch raises `RuntimeError`.
    #[error("Expected sequence length to be larger than 0 in RNN")]
    EmptySequence,
    /// Initial states given for some of the cell's states but not all (torch takes an
    /// LSTM's `(h0, c0)` together). rnnc's message (torch's Python API cannot express
    /// the call); `RuntimeError` in rnnc's binding. Also for a cell module of one state
    /// (RNNCell, GRUCell) given two, which torch fails on with an `AttributeError` (a tuple
    /// has no `dim`).
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
    /// two ranks together: "hx and cx"). torch raises `RuntimeError`.
    #[error("For {input} input, {}", rank_text(*.expected, .found))]
    HiddenRank {
        /// "unbatched 2-D" or "batched 3-D".
        input: &'static str,
        /// Dims every state must have.
        expected: usize,
        /// Dims of each state given (`h0`, then an LSTM's `c0`).
        found: Vec<usize>,
    },
    /// An initial state of the right rank but the wrong shape. torch raises `RuntimeError`.
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
    /// One length per batch element is needed. torch raises `RuntimeError` (from
    /// `pack_padded_sequence`).
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
    /// A sequence length of zero. torch raises `RuntimeError` (from
    /// `pack_padded_sequence`).
    #[error(
        "Length of all samples has to be greater than 0, but found an element in 'lengths' \
         that is <= 0 (lengths[{index}])"
    )]
    ZeroLength {
        /// Batch element.
        index: usize,
    },
    /// A sequence length past the input's time dimension. rnnc's message (torch's
    /// `pack_padded_sequence` fails on it in ways that depend on the order of the lengths);
    /// `RuntimeError` in rnnc's binding.
    #[error("lengths[{index}] = {found} is larger than the input's sequence length {seq_len}")]
    LengthTooLong {
        /// Batch element.
        index: usize,
        /// Its length.
        found: usize,
        /// The input's `L`.
        seq_len: usize,
    },
    /// An argument of the wrong element type. rnnc's message; torch raises `RuntimeError`
    /// (`mat1 and mat2 must have the same dtype`).
    #[error("{what} must have dtype {expected}, got {found}")]
    Dtype {
        /// Which argument.
        what: &'static str,
        /// The model's dtype.
        expected: DType,
        /// The argument's.
        found: DType,
    },
    /// A caller-provided output buffer of the wrong shape (rnnc's API: torch returns new
    /// tensors).
    #[error("{what} must have shape {expected:?}, got {found:?}")]
    OutputShape {
        /// Which buffer.
        what: &'static str,
        /// The shape the call produces.
        expected: Vec<usize>,
        /// The buffer's shape.
        found: Vec<usize>,
    },
    /// A cell module's input neither `(N, H_in)` nor `(H_in)`. torch raises `ValueError`.
    #[error("{module}: Expected input to be 1D or 2D, got {found}D instead")]
    CellInputRank {
        /// torch's cell module: `RNNCell`, `LSTMCell`, `GRUCell`.
        module: &'static str,
        /// Dims of the input.
        found: usize,
    },
    /// A cell module's initial state neither 2-D nor 1-D (torch's RNNCell and GRUCell call
    /// it `hidden`, the LSTMCell `hx[0]` and `hx[1]`). torch raises `ValueError`.
    #[error(
        "{module}: Expected {} to be 1D or 2D, got {found}D instead",
        index.map_or("hidden".to_string(), |i| format!("hx[{i}]"))
    )]
    CellHiddenRank {
        /// torch's cell module.
        module: &'static str,
        /// Which state of an LSTMCell's `(h0, c0)`; `None` for a cell of one state.
        index: Option<usize>,
        /// Dims of that state.
        found: usize,
    },
    /// An LSTMCell given `h0` without `c0`: torch's messages for a tuple of one, which
    /// torch's `forward` fails on while adding the batch dim to an unbatched call's states
    /// (an `IndexError`, "tuple index out of range"), and ATen on a batched call's (a
    /// `RuntimeError`, "lstm_cell expects two hidden states").
    #[error(
        "{}",
        if *.unbatched { "tuple index out of range" } else { "lstm_cell expects two hidden states" }
    )]
    CellHiddenCount {
        /// States given.
        found: usize,
        /// Whether the input was unbatched, `(H_in)`.
        unbatched: bool,
    },
    /// A cell module's input of the wrong width. torch raises `RuntimeError`.
    #[error("input has inconsistent input_size: got {found} expected {expected}")]
    CellInputSize {
        /// The model's `input_size`.
        expected: usize,
        /// The input's last dim.
        found: usize,
    },
    /// A cell module's state whose batchedness is not the input's: torch counts the dims
    /// after adding the batch dim to both when the input is unbatched, so a `(N, H)`
    /// state with a `(H_in)` input is "3D". torch raises `RuntimeError`.
    #[error("Expected 2D hidden{index} (batch x hidden_size), but got {found}D tensor")]
    CellHiddenDims {
        /// Which state: 0 for `h0`, 1 for an LSTMCell's `c0`.
        index: usize,
        /// Its dims as torch counts them.
        found: usize,
    },
    /// A cell module's state of another batch than the input's. torch raises
    /// `RuntimeError`.
    #[error("Input batch size {expected} doesn't match hidden{index} batch size {found}")]
    CellHiddenBatch {
        /// Which state: 0 for `h0`, 1 for an LSTMCell's `c0`.
        index: usize,
        /// The input's batch.
        expected: usize,
        /// The state's.
        found: usize,
    },
    /// A cell module's state of the wrong width. torch raises `RuntimeError`.
    #[error("hidden{index} has inconsistent hidden_size: got {found}, expected {expected}")]
    CellHiddenSize {
        /// Which state: 0 for `h0`, 1 for an LSTMCell's `c0`.
        index: usize,
        /// `hidden_size`.
        expected: usize,
        /// The state's last dim.
        found: usize,
    },
    /// Lengths given to a cell module, which computes one step of each sequence of a batch
    /// (torch's cell modules take no such argument: a `TypeError` there).
    #[error(
        "lengths do not apply to torch.nn.{module}, which computes one step of each \
         sequence: call it without lengths, once per step"
    )]
    CellLengths {
        /// torch's cell module.
        module: &'static str,
    },
    /// A step (`CompiledRnn::step`) of a sequence module: steps are cell modules' calls.
    /// rnnc's API (no torch counterpart).
    #[error(
        "step runs a cell module (torch.nn.RNNCell, LSTMCell or GRUCell), but this model is \
         torch.nn.{module}: call forward, or compile cell = \"{cell}\""
    )]
    StepOfSequenceModule {
        /// torch's sequence module.
        module: &'static str,
        /// The spec's cell of the matching cell module: `lstm_cell`.
        cell: &'static str,
    },
}

/// Features of each of the model's states, in [`Model::states`] order.
fn state_widths(model: &Model) -> [usize; MAX_STATES] {
    let mut widths = [0; MAX_STATES];
    for (w, &kind) in widths.iter_mut().zip(model.states()) {
        *w = model.state_size(kind);
    }
    widths
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

/// The dims of a call's tensor (1 to 3 of them), without allocating.
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
    /// A cell module's call: one step (`seq_len` 1, one layer and direction), input
    /// `(N, H_in)` or `(H_in)`, output and states `(N, width)` or `(width)`; the output is
    /// the new `h`.
    pub cell_module: bool,
    /// Features of each state, in the order of `states`.
    widths: [usize; MAX_STATES],
}

impl CallShape {
    /// Checks an input shape, the shapes of the initial states (all of the cell's, in
    /// [`Model::states`] order, or none for zeros) and optional lengths against `model`,
    /// in the order torch checks them (a cell module's as torch's cell modules do).
    pub fn check(
        model: &Model,
        input: &[usize],
        hx: Option<&[&[usize]]>,
        lengths: Option<&[usize]>,
    ) -> Result<CallShape, CallError> {
        if model.is_cell_module() {
            return CallShape::check_cell(model, input, hx, lengths);
        }
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
            cell_module: false,
            widths: state_widths(model),
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

    /// A cell module's call, checked as torch's cell modules check it: the ranks first (in
    /// Python: `ValueError`s), then ATen's checks of the input's width and of each state's
    /// dims (counted after the batch dim torch adds to an unbatched call), batch and width.
    fn check_cell(
        model: &Model,
        input: &[usize],
        hx: Option<&[&[usize]]>,
        lengths: Option<&[usize]>,
    ) -> Result<CallShape, CallError> {
        let module = model.module();
        if lengths.is_some() {
            return Err(CallError::CellLengths { module });
        }
        let (batched, batch, features) = match *input {
            [f] => (false, 1, f),
            [n, f] => (true, n, f),
            _ => {
                return Err(CallError::CellInputRank {
                    module,
                    found: input.len(),
                });
            }
        };
        let states = model.states();
        if let Some(hx) = hx {
            if states.len() == 1 && hx.len() != 1 {
                return Err(CallError::HiddenCount {
                    expected: 1,
                    names: vec![StateKind::H.initial().to_string()],
                    found: hx.len(),
                });
            }
            if let Some((index, dims)) = hx
                .iter()
                .enumerate()
                .find(|(_, h)| !(1..=2).contains(&h.len()))
            {
                return Err(CallError::CellHiddenRank {
                    module,
                    index: (states.len() > 1).then_some(index),
                    found: dims.len(),
                });
            }
            if hx.len() != states.len() {
                return Err(CallError::CellHiddenCount {
                    found: hx.len(),
                    unbatched: !batched,
                });
            }
        }
        if features != model.input_size() {
            return Err(CallError::CellInputSize {
                expected: model.input_size(),
                found: features,
            });
        }
        let shape = CallShape {
            seq_len: 1,
            batch,
            unbatched: !batched,
            batch_first: false,
            input_size: model.input_size(),
            output_size: model.output_size(),
            layer_directions: 1,
            num_directions: 1,
            states,
            cell_module: true,
            widths: state_widths(model),
        };
        for (index, (&kind, dims)) in states.iter().zip(hx.unwrap_or_default()).enumerate() {
            // torch adds the batch dim to the states of an unbatched call, then counts.
            let (found, state_batch, width) = match (batched, *dims) {
                (true, &[n, w]) => (2, n, w),
                (false, &[w]) => (2, 1, w),
                (true, _) => (dims.len(), 0, 0),
                (false, _) => (dims.len() + 1, 0, 0),
            };
            if found != 2 {
                return Err(CallError::CellHiddenDims { index, found });
            }
            if state_batch != batch {
                return Err(CallError::CellHiddenBatch {
                    index,
                    expected: batch,
                    found: state_batch,
                });
            }
            if width != shape.state_size(kind) {
                return Err(CallError::CellHiddenSize {
                    index,
                    expected: shape.state_size(kind),
                    found: width,
                });
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
        if self.cell_module {
            self.step_shape(features)
        } else if self.unbatched {
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

    /// A cell module's `(N, features)`, or `(features)` unbatched.
    fn step_shape(&self, features: usize) -> Dims {
        if self.unbatched {
            Dims::new(&[features])
        } else {
            Dims::new(&[self.batch, features])
        }
    }

    /// Shape of a state's initial and final values: `(D * num_layers, N, width)`, or
    /// `(D * num_layers, width)` unbatched; a cell module's `(N, width)` or `(width)`.
    pub fn state_shape(&self, state: StateKind) -> Dims {
        let width = self.state_size(state);
        if self.cell_module {
            self.step_shape(width)
        } else if self.unbatched {
            Dims::new(&[self.layer_directions, width])
        } else {
            Dims::new(&[self.layer_directions, self.batch, width])
        }
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
        assert_eq!(s.state_shape(StateKind::H), [2, 3, 20]);
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
