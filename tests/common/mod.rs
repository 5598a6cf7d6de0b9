//! Random models and calls for equivalence tests, reproducible from one seed.
//!
//! A failing check prints the spec (as a TOML file would hold it), the seed and the first
//! differing element: enough to rerun exactly the failing case with `RNNC_SEED=<seed>`.

#![allow(dead_code)]

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rnnc::{DType, Element, Model, Nonlinearity, RnnSpec, Tensor, TensorView, Weights};

/// A model, its weights, and one call's arguments.
pub struct RandomCase {
    pub seed: u64,
    pub spec: RnnSpec,
    pub model: Model,
    pub weights: Weights,
    pub input_shape: Vec<usize>,
    pub input: Vec<f64>,
    pub h0_shape: Option<Vec<usize>>,
    pub h0: Option<Vec<f64>>,
    pub lengths: Option<Vec<usize>>,
}

/// Seeds to run: `RNNC_SEED` alone if set, else `count` seeds from `base`.
pub fn seeds(base: u64, count: u64) -> Vec<u64> {
    match std::env::var("RNNC_SEED") {
        Ok(s) => vec![s.parse().expect("RNNC_SEED is a number")],
        Err(_) => (base..base + count).collect(),
    }
}

/// Sizes from 1 to `max_size` (not only multiples of the vector width), 1 to 3 layers,
/// every flag, both dtypes; short sequences and small batches keep the interpreter quick.
pub fn random_case(seed: u64, max_size: i64) -> RandomCase {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let spec: RnnSpec = RnnSpec::builder(
        rng.random_range(1..=max_size),
        rng.random_range(1..=max_size),
    )
    .num_layers(rng.random_range(1..=3))
    .nonlinearity(if rng.random_bool(0.5) {
        Nonlinearity::Tanh
    } else {
        Nonlinearity::Relu
    })
    .bias(rng.random_bool(0.8))
    .batch_first(rng.random_bool(0.5))
    .bidirectional(rng.random_bool(0.5))
    .dtype(if rng.random_bool(0.6) {
        DType::F32
    } else {
        DType::F64
    })
    .name("random")
    .into();
    let model = spec.validate().expect("random specs are valid");
    let weights = Weights::init(&model, seed);
    let seq_len = rng.random_range(1..=7usize);
    let unbatched = rng.random_bool(0.15);
    let batch = if unbatched {
        1
    } else {
        rng.random_range(1..=5usize)
    };
    let input_shape = if unbatched {
        vec![seq_len, model.input_size()]
    } else if model.batch_first() {
        vec![batch, seq_len, model.input_size()]
    } else {
        vec![seq_len, batch, model.input_size()]
    };
    let count: usize = input_shape.iter().product();
    let input = (0..count).map(|_| rng.random_range(-2.0..2.0)).collect();
    let states = model.num_layers() * model.num_directions();
    let (h0_shape, h0) = if rng.random_bool(0.5) {
        let shape = if unbatched {
            vec![states, model.hidden_size()]
        } else {
            vec![states, batch, model.hidden_size()]
        };
        let n = shape.iter().product();
        (
            Some(shape),
            Some((0..n).map(|_| rng.random_range(-1.0..1.0)).collect()),
        )
    } else {
        (None, None)
    };
    let lengths = (!unbatched && rng.random_bool(0.35))
        .then(|| (0..batch).map(|_| rng.random_range(1..=seq_len)).collect());
    RandomCase {
        seed,
        spec,
        model,
        weights,
        input_shape,
        input,
        h0_shape,
        h0,
        lengths,
    }
}

impl RandomCase {
    /// The input in the model's dtype.
    pub fn input<T: Element>(&self) -> Vec<T> {
        self.input.iter().map(|&v| T::from_f64(v)).collect()
    }
    /// `h0` in the model's dtype.
    pub fn h0<T: Element>(&self) -> Option<Vec<T>> {
        self.h0
            .as_ref()
            .map(|h| h.iter().map(|&v| T::from_f64(v)).collect())
    }

    /// What a person needs to reproduce a failure.
    pub fn describe(&self) -> String {
        let s = &self.spec;
        format!(
            "seed {} (rerun with RNNC_SEED={}):\n  input_size = {}\n  hidden_size = {}\n  num_layers = {}\n  nonlinearity = \"{}\"\n  bias = {}\n  batch_first = {}\n  bidirectional = {}\n  dtype = \"{}\"\n  call: input {:?}, h0 {:?}, lengths {:?}",
            self.seed,
            self.seed,
            s.input_size,
            s.hidden_size,
            s.num_layers,
            s.nonlinearity,
            s.bias,
            s.batch_first,
            s.bidirectional,
            s.dtype,
            self.input_shape,
            self.h0_shape,
            self.lengths
        )
    }

    /// Runs `f` with views of the arguments in the model's dtype `T`.
    pub fn with_args<T: Element, R>(
        &self,
        f: impl FnOnce(TensorView<'_, T>, Option<TensorView<'_, T>>, Option<&[usize]>) -> R,
    ) -> R {
        let input = self.input::<T>();
        let h0 = self.h0::<T>();
        let input_view = TensorView::new(&self.input_shape, &input).expect("shape matches data");
        let h0_view = match (&self.h0_shape, &h0) {
            (Some(shape), Some(data)) => {
                Some(TensorView::new(shape, data).expect("shape matches data"))
            }
            _ => None,
        };
        f(input_view, h0_view, self.lengths.as_deref())
    }
}

/// The first element where `got` is not within `tol * (1 + |ref|)` of `reference`.
pub fn first_difference<T: Element>(
    got: &Tensor<T>,
    reference: &Tensor<T>,
    tol: f64,
) -> Option<String> {
    if got.shape() != reference.shape() {
        return Some(format!(
            "shape {:?}, expected {:?}",
            got.shape(),
            reference.shape()
        ));
    }
    got.data()
        .iter()
        .zip(reference.data())
        .enumerate()
        .find(|(_, (g, r))| rnnc::verify::scaled_error(g.to_f64(), r.to_f64()) > tol)
        .map(|(i, (g, r))| format!("element {i}: got {g}, expected {r}"))
}

/// The first element whose bits differ (NaNs of any payload count as equal).
pub fn first_bit_difference<T: Element>(got: &Tensor<T>, expected: &Tensor<T>) -> Option<String> {
    if got.shape() != expected.shape() {
        return Some(format!(
            "shape {:?}, expected {:?}",
            got.shape(),
            expected.shape()
        ));
    }
    got.data()
        .iter()
        .zip(expected.data())
        .enumerate()
        .find(|(_, (g, e))| {
            let (g, e) = (g.to_f64(), e.to_f64());
            !(g.to_bits() == e.to_bits() || (g.is_nan() && e.is_nan()))
        })
        .map(|(i, (g, e))| {
            format!(
                "element {i}: got {g} ({:#x}), expected {e} ({:#x})",
                g.to_f64().to_bits(),
                e.to_f64().to_bits()
            )
        })
}
