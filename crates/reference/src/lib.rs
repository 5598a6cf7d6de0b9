//! The reference semantics of torch's recurrent modules: a plain forward pass, written to
//! be read.
//!
//! This is the first of rnnc's three oracles. It shares no code with the compiler beyond
//! the front end's argument checks, and favours clarity over speed: each gate row is one
//! pair of dot products accumulated in f64, the cell's arithmetic is done in f64, and the
//! states are rounded to the model's dtype after every step, as torch stores them.
//!
//! Semantics, for each layer and direction (`D` = 2 if bidirectional):
//! - each step computes the cell's next states from the input and the states before
//!   (`step`, one arm per cell; for the Elman RNN,
//!   `h_t = act(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh)` with `act` = tanh or relu; the
//!   LSTM's and GRU's are torch's documented formulas, the LSTM's projection included); the
//!   states start from the initial ones given (`h0[layer * D + direction]`, `c0` likewise)
//!   or zeros;
//! - layer k > 0 reads layer k - 1's output, forward features then reverse features;
//! - with `lengths`, sequence b runs steps `0..len_b` only: the forward direction stops
//!   after `len_b - 1`, the reverse direction starts there; outputs past `len_b` are zero
//!   and `h_n` is the state after the last valid step (torch's `pack_padded_sequence`);
//! - dropout is inactive (inference); `batch_first` applies to input and output only;
//! - a cell module (`torch.nn.LSTMCell`, say) is one step of its one layer and direction:
//!   its call resolves to `seq_len = 1` ([`CallShape`]), and the output is the new `h`.

use rnnc_spec::{
    CallError, CallShape, Cell, Element, Model, Nonlinearity, ParamKind, State, StateView, Tensor,
    TensorView, Weights, WeightsError,
};

/// Why a reference forward call was refused. Always the caller's fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input, initial states or lengths do not fit the model.
    #[error(transparent)]
    Call(#[from] CallError),
    /// The weights are not this model's.
    #[error(transparent)]
    Weights(#[from] WeightsError),
}

/// Runs `model` with `weights` on `input`; returns `(output, state)` in torch's shapes
/// (`state.h` is `h_n`).
///
/// `input` is `(L, N, H_in)` (`(N, L, H_in)` if batch-first) or unbatched `(L, H_in)`;
/// `hx` holds every state of the cell as `(D * num_layers, N, width)` (unbatched without
/// `N`), or is `None` for zeros; `lengths` gives each sequence's valid steps
/// (`1 <= len <= L`, any order).
pub fn forward<T: Element>(
    model: &Model,
    weights: &Weights,
    input: TensorView<'_, T>,
    hx: Option<StateView<'_, T>>,
    lengths: Option<&[usize]>,
) -> Result<(Tensor<T>, State<T>), Error> {
    let call = CallShape::check(
        model,
        input.shape(),
        hx.as_ref().map(|s| s.shapes()).as_deref(),
        lengths,
    )?;
    CallShape::check_dtype(model, "input", T::DTYPE)?;
    weights.check(model)?;
    let (steps, batch) = (call.seq_len, call.batch);
    let directions = call.num_directions;
    let cell = model.cell();
    let length = |b: usize| lengths.map_or(steps, |l| l[b]);

    // Layer inputs and outputs are kept time-major, row (t, b) at t * batch + b.
    let mut layer_input: Vec<T> = Vec::with_capacity(steps * batch * call.input_size);
    for t in 0..steps {
        for b in 0..batch {
            let at = call.step_offset(t, b, call.input_size);
            layer_input.extend_from_slice(&input.data()[at..at + call.input_size]);
        }
    }
    let mut last = State::try_zeros(&call).expect("reference calls are small");
    let out_width = call.output_size;
    let out_h = model.recurrent_size();
    for layer in 0..model.num_layers() {
        let mut layer_output = vec![T::default(); steps * batch * out_width];
        for direction in 0..directions {
            let param = |kind| {
                let param = model.param(layer, direction, kind)?;
                weights.param::<T>(&param)
            };
            let params = Params {
                w_ih: param(ParamKind::WeightIh).expect("checked weights have weight_ih"),
                w_hh: param(ParamKind::WeightHh).expect("checked weights have weight_hh"),
                bias: param(ParamKind::BiasIh).zip(param(ParamKind::BiasHh)),
                w_hr: param(ParamKind::WeightHr),
                input_size: model.layer_input_size(layer),
                hidden_size: model.hidden_size(),
            };
            let index = layer * directions + direction;
            for b in 0..batch {
                // The cell's states, in `Cell::states` order: from `hx` or zeros.
                let mut state: Vec<Vec<T>> = cell
                    .states()
                    .iter()
                    .map(|&kind| {
                        let width = call.state_size(kind);
                        let at = call.state_offset(kind, index, b);
                        match hx.and_then(|hx| hx.get(kind)) {
                            Some(s) => s.data()[at..at + width].to_vec(),
                            None => vec![T::default(); width],
                        }
                    })
                    .collect();
                let order: Vec<usize> = if direction == 0 {
                    (0..length(b)).collect()
                } else {
                    (0..length(b)).rev().collect()
                };
                for t in order {
                    let x =
                        &layer_input[(t * batch + b) * params.input_size..][..params.input_size];
                    state = step(cell, &params, x, &state);
                    let row = (t * batch + b) * out_width + direction * out_h;
                    layer_output[row..row + out_h].copy_from_slice(&state[0]);
                }
                for (&kind, value) in cell.states().iter().zip(&state) {
                    let at = call.state_offset(kind, index, b);
                    let tensor = last.get_mut(kind).expect("the cell's states are allocated");
                    tensor.data_mut()[at..at + value.len()].copy_from_slice(value);
                }
            }
        }
        layer_input = layer_output;
    }

    let mut output = Tensor::<T>::zeros(call.output_shape());
    for t in 0..steps {
        for b in 0..batch {
            let at = call.step_offset(t, b, out_width);
            output.data_mut()[at..at + out_width]
                .copy_from_slice(&layer_input[(t * batch + b) * out_width..][..out_width]);
        }
    }
    Ok((output, last))
}

/// The torch parameters of one layer and direction, gate blocks stacked in torch's order.
struct Params<'a, T> {
    w_ih: &'a [T],
    w_hh: &'a [T],
    /// `(bias_ih, bias_hh)`, when the model has biases.
    bias: Option<(&'a [T], &'a [T])>,
    /// An LSTM's projection `(P, H)`, when it has one.
    w_hr: Option<&'a [T]>,
    input_size: usize,
    hidden_size: usize,
}

impl<T: Element> Params<'_, T> {
    /// Row `row` of the stacked gates: `(W_ih x)[row]` and `(W_hh h)[row]`, in f64.
    fn products(&self, row: usize, x: &[T], h: &[T]) -> (f64, f64) {
        let (i, r) = (self.input_size, h.len());
        (
            dot(&self.w_ih[row * i..][..i], x),
            dot(&self.w_hh[row * r..][..r], h),
        )
    }

    /// `(b_ih[row], b_hh[row])`, zeros without biases.
    fn biases(&self, row: usize) -> (f64, f64) {
        self.bias
            .map_or((0.0, 0.0), |(ih, hh)| (ih[row].to_f64(), hh[row].to_f64()))
    }
}

/// One step of `cell`: the next states from the input `x` and the states before, each
/// rounded to the model's dtype (as torch stores them). Every cell's formula is here.
fn step<T: Element>(cell: Cell, p: &Params<'_, T>, x: &[T], state: &[Vec<T>]) -> Vec<Vec<T>> {
    match cell {
        Cell::Rnn(act) => {
            // h' = act(W_ih x + W_hh h + (b_ih + b_hh)).
            let h = &state[0];
            let next = (0..p.hidden_size)
                .map(|j| {
                    let (ih, hh) = p.products(j, x, h);
                    let mut acc = ih + hh;
                    if p.bias.is_some() {
                        let (b_ih, b_hh) = p.biases(j);
                        acc += b_ih + b_hh;
                    }
                    T::from_f64(activate(act, acc))
                })
                .collect();
            vec![next]
        }
        Cell::Lstm => {
            // Gates i, f, g, o; c' = f c + i g; h' = o tanh(c'), projected by W_hr if any.
            let (h, c) = (&state[0], &state[1]);
            let hidden = p.hidden_size;
            let pre = |gate: usize, j: usize| {
                let row = gate * hidden + j;
                let (ih, hh) = p.products(row, x, h);
                let (b_ih, b_hh) = p.biases(row);
                ih + hh + (b_ih + b_hh)
            };
            let mut next_c = Vec::with_capacity(hidden);
            let mut next_h = Vec::with_capacity(hidden);
            for (j, c_old) in c.iter().enumerate() {
                let (i, f) = (sigmoid(pre(0, j)), sigmoid(pre(1, j)));
                let (g, o) = (pre(2, j).tanh(), sigmoid(pre(3, j)));
                let c_new = T::from_f64(f * c_old.to_f64() + i * g);
                next_c.push(c_new);
                next_h.push(T::from_f64(o * c_new.to_f64().tanh()));
            }
            if let Some(w_hr) = p.w_hr {
                next_h = w_hr
                    .chunks(hidden)
                    .map(|row| T::from_f64(dot(row, &next_h)))
                    .collect();
            }
            vec![next_h, next_c]
        }
        Cell::Gru => {
            // Gates r, z, n: n = tanh(W_in x + b_in + r (W_hn h + b_hn)),
            // h' = (1 - z) n + z h.
            let h = &state[0];
            let hidden = p.hidden_size;
            let next = (0..hidden)
                .map(|j| {
                    let parts = |gate: usize| {
                        let row = gate * hidden + j;
                        let (ih, hh) = p.products(row, x, h);
                        let (b_ih, b_hh) = p.biases(row);
                        (ih + b_ih, hh + b_hh)
                    };
                    let ((r_i, r_h), (z_i, z_h), (n_i, n_h)) = (parts(0), parts(1), parts(2));
                    let (r, z) = (sigmoid(r_i + r_h), sigmoid(z_i + z_h));
                    let n = (n_i + r * n_h).tanh();
                    T::from_f64((1.0 - z) * n + z * h[j].to_f64())
                })
                .collect();
            vec![next]
        }
    }
}

/// The logistic function; `sigmoid(-inf) = 0`, `sigmoid(inf) = 1`, NaN stays NaN.
fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn dot<T: Element>(a: &[T], b: &[T]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x.to_f64() * y.to_f64()).sum()
}

/// torch's activations, NaN-preserving: `relu(NaN)` is NaN, as torch's `clamp_min` gives.
fn activate(nonlinearity: Nonlinearity, x: f64) -> f64 {
    match nonlinearity {
        Nonlinearity::Tanh => x.tanh(),
        Nonlinearity::Relu if x.is_nan() || x > 0.0 => x,
        Nonlinearity::Relu => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rnnc_spec::RnnSpec;

    #[test]
    fn relu_keeps_nan_and_tanh_saturates() {
        assert!(activate(Nonlinearity::Relu, f64::NAN).is_nan());
        assert_eq!(activate(Nonlinearity::Relu, -2.0), 0.0);
        assert_eq!(activate(Nonlinearity::Tanh, f64::INFINITY), 1.0);
        assert_eq!(activate(Nonlinearity::Tanh, f64::NEG_INFINITY), -1.0);
        assert!(activate(Nonlinearity::Tanh, f64::NAN).is_nan());
    }

    /// One hidden unit, one input, weights 1: h_t = tanh(x_t + h_(t-1) + 2 * bias).
    #[test]
    fn a_scalar_rnn_computed_by_hand() {
        let model = RnnSpec::builder(1, 1)
            .dtype(rnnc_spec::DType::F64)
            .build()
            .unwrap();
        let ones = |shape: Vec<usize>| Tensor::new(shape, vec![1.0f64]).unwrap();
        let mut weights = vec![];
        for (name, shape) in [
            ("weight_ih_l0", vec![1, 1]),
            ("weight_hh_l0", vec![1, 1]),
            ("bias_ih_l0", vec![1]),
            ("bias_hh_l0", vec![1]),
        ] {
            weights.push((name.to_string(), ones(shape)));
        }
        let weights = Weights::from_tensors(&model, weights).unwrap();
        let x = [0.5, -1.0, 0.25];
        let (out, h_n) = forward(
            &model,
            &weights,
            TensorView::new(&[3, 1, 1], &x).unwrap(),
            None,
            None,
        )
        .unwrap();
        let mut h = 0.0f64;
        for (t, xt) in x.iter().enumerate() {
            h = (xt + h + 2.0).tanh();
            assert_eq!(out.data()[t], h);
        }
        assert_eq!(h_n.h.data(), [h]);
        // With lengths [2], step 2 is padding: output zero, h_n after step 1.
        let (out, h_n) = forward(
            &model,
            &weights,
            TensorView::new(&[3, 1, 1], &x).unwrap(),
            None,
            Some(&[2]),
        )
        .unwrap();
        assert_eq!(out.data()[2], 0.0);
        assert_eq!(h_n.h.data(), [out.data()[1]]);
    }

    #[test]
    fn wrong_dtype_is_an_error() {
        let model = RnnSpec::builder(1, 1).build().unwrap();
        let weights = Weights::init(&model, 0);
        let x = [0.5f64];
        let err = forward(
            &model,
            &weights,
            TensorView::new(&[1, 1], &x).unwrap(),
            None,
            None,
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "input must have dtype f32, got f64");
    }
}
