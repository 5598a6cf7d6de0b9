//! `rnnc._rnnc`: the native half of rnnc's Python package.
//!
//! The Python half (`python/rnnc/`) reads torch modules (their arguments, effective
//! weights and the tensors those come from), handles packed sequences and torch's module
//! protocol; this module compiles, packs and runs, with numpy arrays or plain torch
//! tensors. By concern:
//! - `arrays`: numpy arrays and torch tensors seen without copying, fresh output arrays
//!   (every `unsafe` of the binding);
//! - `native`: `Native`, a compiled model with its packed weights, and `compile_spec`;
//! - `weights`: named arrays matched to a model's parameters, and the torch tensors a
//!   compiled module watches for changes;
//! - `stream`, `spec` (spec dicts), `verify`, `errors` (torch's exceptions).
//!
//! Invariants: every array reaches native code through `rnnc`'s checked API; the GIL is
//! released around every kernel call and no lock is held while it is taken back; errors
//! are the exceptions torch raises for the same call, with torch's text (`ValueError` for
//! an input of the wrong rank or dtype, `RuntimeError` for wrong sizes).

mod arrays;
mod errors;
mod native;
mod spec;
mod stream;
mod verify;
mod weights;

use pyo3::prelude::*;

#[pymodule]
fn _rnnc(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<native::Native>()?;
    m.add_class::<stream::NativeStream>()?;
    m.add_function(wrap_pyfunction!(native::compile_spec, m)?)?;
    m.add_function(wrap_pyfunction!(verify::verify, m)?)?;
    m.add_function(wrap_pyfunction!(verify::tolerance, m)?)?;
    m.add(
        "WeightsChanged",
        m.py().get_type::<errors::WeightsChanged>(),
    )?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
