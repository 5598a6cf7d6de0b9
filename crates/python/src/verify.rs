//! `rnnc.verify` and `rnnc.tolerance`: the cases computed by PyTorch, from Python.

use std::path::PathBuf;

use pyo3::exceptions::{PyFileNotFoundError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use rnnc::DType;

use crate::arrays::numpy_name;

/// Runs the case files under `path` (a case, or a folder of them) and returns one dict per
/// case: `name`, `path`, `dtype`, `passed`, `worst_error`, `at`, `error`.
#[pyfunction]
pub(crate) fn verify<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyList>> {
    use rnnc_check::case::{Case, collect_case_paths};
    use rnnc_check::verify::run_case;
    if !path.exists() {
        return Err(PyFileNotFoundError::new_err(format!(
            "no case file or folder at {}",
            path.display()
        )));
    }
    let paths = collect_case_paths(std::slice::from_ref(&path))
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let engine = rnnc_check::Engine::fastest();
    let results = PyList::empty(py);
    for case_path in paths {
        let outcome = py.detach(|| {
            let case = Case::load(&case_path).map_err(|e| e.to_string())?;
            run_case(&case, engine, 1).map_err(|e| e.to_string())
        });
        let entry = PyDict::new(py);
        entry.set_item("path", &case_path)?;
        match outcome {
            Ok(report) => {
                entry.set_item("name", &report.name)?;
                entry.set_item("dtype", numpy_name(report.dtype))?;
                entry.set_item("passed", report.passed)?;
                entry.set_item("worst_error", report.worst.error)?;
                entry.set_item("at", report.worst.at)?;
                entry.set_item("error", py.None())?;
            }
            Err(error) => {
                let name = case_path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned());
                entry.set_item("name", name)?;
                entry.set_item("dtype", py.None())?;
                entry.set_item("passed", false)?;
                entry.set_item("worst_error", py.None())?;
                entry.set_item("at", py.None())?;
                entry.set_item("error", error)?;
            }
        }
        results.append(entry)?;
    }
    Ok(results)
}

/// The named tolerance of `rnnc verify` for a dtype (`float32` or `float64`).
#[pyfunction]
pub(crate) fn tolerance(dtype: &str) -> PyResult<f64> {
    match dtype {
        "float32" => Ok(rnnc_check::verify::tolerance(DType::F32)),
        "float64" => Ok(rnnc_check::verify::tolerance(DType::F64)),
        _ => Err(PyValueError::new_err(format!(
            "dtype must be float32 or float64, got {dtype:?}"
        ))),
    }
}
