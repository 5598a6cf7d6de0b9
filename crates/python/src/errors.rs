//! rnnc's errors as the Python exceptions torch raises for the same mistakes.

use pyo3::exceptions::{PyIndexError, PyMemoryError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use rnnc::{CallError, Error};

pyo3::create_exception!(
    _rnnc,
    WeightsChanged,
    pyo3::exceptions::PyException,
    "The parameters a compiled torch module reads changed since they were packed (an \
     in-place write, a new tensor, load_state_dict): the module repacks them and calls again."
);

/// An rnnc error as the Python exception torch raises for the same mistake (each
/// `CallError` variant's documentation names it): `ValueError` for an input or state of
/// the wrong rank (torch's Python checks), `IndexError` for an unbatched cell's missing
/// `c0`, `TypeError` for lengths a cell cannot take, `MemoryError` for memory that cannot
/// be allocated, `ValueError` for weights and options, `RuntimeError` for the rest
/// (sizes, states, lengths: torch's kernels' checks).
pub(crate) fn py_error(e: Error) -> PyErr {
    let text = with_causes(&e);
    match e {
        Error::Call(
            CallError::InputRank { .. }
            | CallError::CellInputRank { .. }
            | CallError::CellHiddenRank { .. },
        ) => PyValueError::new_err(text),
        Error::Call(CallError::CellHiddenCount {
            unbatched: true, ..
        }) => PyIndexError::new_err(text),
        Error::Call(CallError::CellLengths { .. }) => PyTypeError::new_err(text),
        Error::OutOfMemory(_) => PyMemoryError::new_err(text),
        Error::Weights(_) | Error::Tensor(_) | Error::Options(_) => PyValueError::new_err(text),
        _ => PyRuntimeError::new_err(text),
    }
}

/// The error's message followed by its causes' (a Cranelift or ISA error below a codegen
/// error, the interpreter's below a failed interpretation), as the CLI prints the chain:
/// Python has no other way to see them. A cause whose text the message already holds is
/// not repeated.
fn with_causes(e: &Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    text
}

/// A call's error (shapes, lengths) as [`py_error`] maps it.
pub(crate) fn call_error(e: CallError) -> PyErr {
    py_error(e.into())
}
