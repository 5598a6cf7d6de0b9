//! A spec given as a Python dict: the same keys and values as a spec file.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString};
use rnnc::SpecFile;

use crate::arrays::type_name;

/// The dict's keys and values checked by the spec files' parser, so that its messages are
/// a file's. `None` values are left out (torch's defaults).
pub(crate) fn spec_from_dict(dict: &Bound<'_, PyDict>) -> PyResult<SpecFile> {
    let mut table = toml::Table::new();
    for (key, value) in dict.iter() {
        let key: String = key.extract().map_err(|_| {
            PyTypeError::new_err(format!("spec keys must be str, got {}", type_name(&key)))
        })?;
        let value = if value.is_none() {
            continue;
        } else if value.is_instance_of::<PyBool>() {
            toml::Value::Boolean(value.extract()?)
        } else if value.is_instance_of::<PyInt>() {
            match value.extract::<i64>() {
                Ok(v) => toml::Value::Integer(v),
                Err(_) => {
                    return Err(PyValueError::new_err(format!(
                        "spec key `{key}`: {value} does not fit a 64-bit integer"
                    )));
                }
            }
        } else if value.is_instance_of::<PyFloat>() {
            toml::Value::Float(value.extract()?)
        } else if value.is_instance_of::<PyString>() {
            toml::Value::String(value.extract()?)
        } else {
            return Err(PyTypeError::new_err(format!(
                "spec key `{key}`: expected a bool, int, float or str, got {}",
                type_name(&value)
            )));
        };
        table.insert(key, value);
    }
    Ok(SpecFile::parse("<dict>", &table.to_string()))
}
