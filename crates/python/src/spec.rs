//! A spec given as a Python dict: the keys and values of a spec file, read by the same
//! reader (`SpecFile::from_args`), each problem located by its key.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString};
use rnnc::{Arg, ArgSource, ArgValue, SpecErrorKind, SpecErrors, SpecFile};

use crate::arrays::type_name;

/// The dict's keys and values as the spec reader takes them; `origin` names the dict in
/// messages. `None` values are left out (torch's defaults); without a `name`, the model is
/// named by its cell, as for a torch module. A key that is not a `str` cannot be named in
/// a message, and is a `TypeError` here.
pub(crate) fn spec_from_dict(dict: &Bound<'_, PyDict>, origin: &str) -> PyResult<SpecFile> {
    let mut args = Vec::with_capacity(dict.len());
    for (key, value) in dict.iter() {
        if !key.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err(format!(
                "spec keys must be str, got {} ({})",
                type_name(&key),
                key.repr()?
            )));
        }
        if value.is_none() {
            continue;
        }
        args.push(Arg::new(key.extract::<String>()?, arg_value(&value)?));
    }
    Ok(SpecFile::from_args(ArgSource::Keys { origin }, None, args))
}

/// A Python value as the spec reader takes it: `bool`, `int`, `float` and `str` (and their
/// subclasses) as such, anything else by its type's name.
fn arg_value(value: &Bound<'_, PyAny>) -> PyResult<ArgValue> {
    Ok(if value.is_instance_of::<PyBool>() {
        ArgValue::Bool(value.extract()?)
    } else if value.is_instance_of::<PyInt>() {
        match value.extract::<i64>() {
            Ok(v) => ArgValue::Integer(v),
            Err(_) => ArgValue::BigInteger(value.str()?.to_string()),
        }
    } else if value.is_instance_of::<PyFloat>() {
        ArgValue::Float(value.extract()?)
    } else if value.is_instance_of::<PyString>() {
        ArgValue::String(value.extract()?)
    } else {
        ArgValue::Other(type_name(value))
    })
}

/// A dict's problems as one exception listing them all: a `TypeError` if a value has the
/// wrong type (as torch's constructors raise for one), a `ValueError` otherwise.
pub(crate) fn dict_errors(errors: SpecErrors) -> PyErr {
    let text = errors.to_string();
    if errors
        .kinds()
        .iter()
        .any(|k| matches!(k, SpecErrorKind::WrongType { .. }))
    {
        PyTypeError::new_err(text)
    } else {
        PyValueError::new_err(text)
    }
}
