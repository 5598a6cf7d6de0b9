//! The reference semantics of `torch.nn.RNN`: a plain forward pass, written to be read.
//!
//! This is the first of rnnc's three oracles. It shares no code with the compiler beyond
//! the front end's argument checks, and favours clarity over speed: each hidden unit is one
//! dot product accumulated in f64, the activation is applied in f64, and the state is
//! rounded to the model's dtype after every step, as torch stores it.
//!
//! Semantics, for each layer and direction (`D` = 2 if bidirectional):
//! - `h_t = act(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh)`, `act` = tanh or relu, `h_(-1)` =
//!   `h0[layer * D + direction]` or zeros;
//! - layer k > 0 reads layer k - 1's output, forward features then reverse features;
//! - with `lengths`, sequence b runs steps `0..len_b` only: the forward direction stops
//!   after `len_b - 1`, the reverse direction starts there; outputs past `len_b` are zero
//!   and `h_n` is the state after the last valid step (torch's `pack_padded_sequence`);
//! - dropout is inactive (inference); `batch_first` applies to input and output only.

#![deny(missing_docs)]

use rnnc_spec::{
    CallError, CallShape, Element, Model, Nonlinearity, ParamKind, Tensor, TensorView, Weights,
    WeightsError, param_name,
};

/// Why a reference forward call was refused. Always the caller's fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input, `h0` or lengths do not fit the model.
    #[error(transparent)]
    Call(#[from] CallError),
    /// The weights are not this model's.
    #[error(transparent)]
    Weights(#[from] WeightsError),
}

/// Runs `model` with `weights` on `input`; returns `(output, h_n)` in torch's shapes.
///
/// `input` is `(L, N, H_in)` (`(N, L, H_in)` if batch-first) or unbatched `(L, H_in)`;
/// `h0` is `(D * num_layers, N, H)` or `(D * num_layers, H)`; `lengths` gives each
/// sequence's valid steps (`1 <= len <= L`, any order).
pub fn forward<T: Element>(
    model: &Model,
    weights: &Weights,
    input: TensorView<'_, T>,
    h0: Option<TensorView<'_, T>>,
    lengths: Option<&[usize]>,
) -> Result<(Tensor<T>, Tensor<T>), Error> {
    let call = CallShape::check(model, input.shape(), h0.map(|h| h.shape()), lengths)?;
    CallShape::check_dtype(model, "input", T::DTYPE)?;
    weights.check(model)?;
    let (steps, batch, hidden) = (call.seq_len, call.batch, call.hidden_size);
    let directions = call.num_directions;
    let length = |b: usize| lengths.map_or(steps, |l| l[b]);

    // Layer inputs and outputs are kept time-major, row (t, b) at t * batch + b.
    let mut layer_input: Vec<T> = Vec::with_capacity(steps * batch * call.input_size);
    for t in 0..steps {
        for b in 0..batch {
            let at = call.step_offset(t, b, call.input_size);
            layer_input.extend_from_slice(&input.data()[at..at + call.input_size]);
        }
    }
    let mut h_n = Tensor::<T>::zeros(call.h_n_shape());
    for layer in 0..model.num_layers() {
        let width = model.layer_input_size(layer);
        let out_width = directions * hidden;
        let mut layer_output = vec![T::default(); steps * batch * out_width];
        for direction in 0..directions {
            let param = |kind| weights.get::<T>(&param_name(layer, direction, kind));
            let w_ih = param(ParamKind::WeightIh).expect("checked weights have weight_ih");
            let w_hh = param(ParamKind::WeightHh).expect("checked weights have weight_hh");
            let b_ih = param(ParamKind::BiasIh);
            let b_hh = param(ParamKind::BiasHh);
            let state_index = layer * directions + direction;
            for b in 0..batch {
                let at = call.state_offset(state_index, b);
                let mut state: Vec<T> = match h0 {
                    Some(h0) => h0.data()[at..at + hidden].to_vec(),
                    None => vec![T::default(); hidden],
                };
                let order: Vec<usize> = if direction == 0 {
                    (0..length(b)).collect()
                } else {
                    (0..length(b)).rev().collect()
                };
                for t in order {
                    let x = &layer_input[(t * batch + b) * width..][..width];
                    let next: Vec<T> = (0..hidden)
                        .map(|j| {
                            let mut acc = dot(&w_ih[j * width..][..width], x)
                                + dot(&w_hh[j * hidden..][..hidden], &state);
                            if let (Some(b_ih), Some(b_hh)) = (b_ih, b_hh) {
                                acc += b_ih[j].to_f64() + b_hh[j].to_f64();
                            }
                            T::from_f64(activate(model.nonlinearity(), acc))
                        })
                        .collect();
                    let row = (t * batch + b) * out_width + direction * hidden;
                    layer_output[row..row + hidden].copy_from_slice(&next);
                    state = next;
                }
                h_n.data_mut()[at..at + hidden].copy_from_slice(&state);
            }
        }
        layer_input = layer_output;
    }

    let out_width = call.output_size();
    let mut output = Tensor::<T>::zeros(call.output_shape());
    for t in 0..steps {
        for b in 0..batch {
            let at = call.step_offset(t, b, out_width);
            output.data_mut()[at..at + out_width]
                .copy_from_slice(&layer_input[(t * batch + b) * out_width..][..out_width]);
        }
    }
    Ok((output, h_n))
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
        assert_eq!(h_n.data(), [h]);
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
        assert_eq!(h_n.data(), [out.data()[1]]);
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
