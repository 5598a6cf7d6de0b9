//! Checking an engine against cases computed by PyTorch.
//!
//! A result matches torch's when every element satisfies `|got - ref| <= tol * (1 + |ref|)`
//! with the dtype's named tolerance ([`tolerance`]); NaN matches only NaN and an infinity
//! only the same infinity. The scaled error `|got - ref| / (1 + |ref|)` of the worst element
//! is reported, so a reader sees the margin, not only pass or fail.

use std::fmt;

use rnnc_spec::{DType, Element, State, Tensor, TensorView};

use crate::case::{Case, CaseTensor};
use crate::engine::Engine;

/// Tolerance for f32 results: what an independent f64 reference meets on every torch case.
pub const TOLERANCE_F32: f64 = 1e-5;
/// Tolerance for f64 results.
pub const TOLERANCE_F64: f64 = 1e-12;

/// The named tolerance of a dtype.
pub fn tolerance(dtype: DType) -> f64 {
    match dtype {
        DType::F32 => TOLERANCE_F32,
        DType::F64 => TOLERANCE_F64,
    }
}

/// The worst element of a comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct Worst {
    /// `|got - ref| / (1 + |ref|)`; infinite for a NaN or infinity mismatch.
    pub error: f64,
    /// Which result (`output` or `h_n`) and the flat index in it, if any element differs.
    pub at: Option<(&'static str, usize)>,
}

/// Scaled error of one element, with torch's special values: NaN only matches NaN, an
/// infinity only the same infinity.
pub fn scaled_error(got: f64, reference: f64) -> f64 {
    if reference.is_nan() || got.is_nan() || reference.is_infinite() || got.is_infinite() {
        let same = (reference.is_nan() && got.is_nan()) || got == reference;
        return if same { 0.0 } else { f64::INFINITY };
    }
    (got - reference).abs() / (1.0 + reference.abs())
}

/// The worst scaled error between two equally long slices, and where it is.
pub fn worst_error<T: Element>(what: &'static str, got: &[T], reference: &[T]) -> Worst {
    let mut worst = Worst {
        error: 0.0,
        at: None,
    };
    for (i, (g, r)) in got.iter().zip(reference).enumerate() {
        let e = scaled_error(g.to_f64(), r.to_f64());
        if e > worst.error || (e.is_nan() && !worst.error.is_nan()) {
            worst = Worst {
                error: e,
                at: Some((what, i)),
            };
        }
    }
    worst
}

/// How one case went.
#[derive(Clone, Debug)]
pub struct CaseReport {
    /// The case's name.
    pub name: String,
    /// Its dtype.
    pub dtype: DType,
    /// The worst element over `output` and `h_n`.
    pub worst: Worst,
    /// Whether every element is within the tolerance.
    pub passed: bool,
}

impl fmt::Display for CaseReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<12} {}  worst {:.2e} (tol {:.0e})  {}",
            self.name,
            self.dtype,
            self.worst.error,
            tolerance(self.dtype),
            if self.passed { "pass" } else { "FAIL" }
        )?;
        if let (false, Some((what, index))) = (self.passed, self.worst.at) {
            write!(f, "  (at {what}[{index}])")?;
        }
        Ok(())
    }
}

/// Runs a case through an engine on `threads` threads (see [`Engine::forward`]; a cell
/// module's case steps with [`Engine::steps`]) and compares with torch's results.
pub fn run_case(case: &Case, engine: Engine, threads: usize) -> Result<CaseReport, crate::Error> {
    let worst = match case.model.dtype() {
        DType::F32 => compare_case::<f32>(case, engine, threads)?,
        DType::F64 => compare_case::<f64>(case, engine, threads)?,
    };
    let tol = tolerance(case.model.dtype());
    Ok(CaseReport {
        name: case.name.clone(),
        dtype: case.model.dtype(),
        passed: worst.error <= tol,
        worst,
    })
}

fn view<T: Element>(tensor: &CaseTensor) -> TensorView<'_, T> {
    tensor
        .view()
        .expect("case tensors are in the case's dtype and match their shapes")
}

fn compare_case<T: Element>(
    case: &Case,
    engine: Engine,
    threads: usize,
) -> Result<Worst, crate::Error> {
    let (model, weights) = (&case.model, &case.weights);
    let (output, state): (Tensor<T>, State<T>) = if model.is_cell_module() {
        // A cell module's case is torch's loop over the steps (`h = cell(x[t], h)`).
        engine.steps(threads, model, weights, view(&case.input), case.initial())?
    } else {
        let lengths = case.lengths.as_deref();
        engine.forward(
            threads,
            model,
            weights,
            view(&case.input),
            case.initial(),
            lengths,
        )?
    };
    let mismatch = |what, got: &[usize], want: &[usize]| crate::Error::Mismatch {
        message: format!("{what} has shape {got:?}, torch's has {want:?}"),
    };
    if output.shape() != case.output.shape {
        return Err(mismatch("output", output.shape(), &case.output.shape));
    }
    let mut worst = worst_error("output", output.data(), view::<T>(&case.output).data());
    for (kind, torch) in case.finals() {
        let got = state
            .get(kind)
            .expect("an engine returns every state of the cell");
        if got.shape() != torch.shape {
            return Err(mismatch(kind.last(), got.shape(), &torch.shape));
        }
        let error = worst_error(kind.last(), got.data(), view::<T>(torch).data());
        if error.error > worst.error {
            worst = error;
        }
    }
    Ok(worst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_values_match_only_themselves() {
        assert_eq!(scaled_error(f64::NAN, f64::NAN), 0.0);
        assert_eq!(scaled_error(1.0, f64::NAN), f64::INFINITY);
        assert_eq!(scaled_error(f64::NAN, 1.0), f64::INFINITY);
        assert_eq!(scaled_error(f64::INFINITY, f64::INFINITY), 0.0);
        assert_eq!(
            scaled_error(f64::NEG_INFINITY, f64::INFINITY),
            f64::INFINITY
        );
        assert_eq!(scaled_error(1e300, f64::INFINITY), f64::INFINITY);
        assert_eq!(scaled_error(3.0, 1.0), 1.0);
    }

    #[test]
    fn worst_error_finds_the_worst_element() {
        let w = worst_error("output", &[1.0f32, 2.0, 3.5], &[1.0, 2.0, 3.0]);
        assert_eq!(w.at, Some(("output", 2)));
        assert_eq!(w.error, 0.5 / 4.0);
        assert_eq!(worst_error("h_n", &[1.0f64], &[1.0]).at, None);
    }
}
