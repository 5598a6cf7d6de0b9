//! A model's weights as Python holds them: named numpy arrays (a torch module's
//! parameters, seen without copying) or a safetensors file; and the torch parameters a
//! compiled module watches for changes.

use std::hash::{DefaultHasher, Hash, Hasher};

use numpy::{PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use rnnc::{CompiledRnn, Model, PackedWeights, Tensor, Weights};

use crate::arrays::{Elements, Float, NotElements, type_name};
use crate::errors::py_error;

/// The weights a model was packed from.
pub(crate) enum Source {
    /// Read from a file.
    Owned(Weights),
    /// numpy arrays the caller still owns (a torch module's parameters, seen without
    /// copying), and a hash of their values when they were packed.
    Arrays {
        arrays: Vec<(String, Py<PyAny>)>,
        fingerprint: u64,
    },
}

/// Named arrays matched to a model's parameters: the arrays' elements (borrowed where
/// contiguous) and, once matched, the parameters' data in `state_dict` order.
pub(crate) struct Matched<'py, T: Float> {
    /// Name, shape, and elements or the name of another dtype.
    held: Vec<Held<'py, T>>,
}

type Held<'py, T> = (String, Vec<usize>, Result<Elements<'py, T>, String>);

impl<'py, T: Float> Matched<'py, T> {
    pub(crate) fn new(arrays: &[(String, Bound<'py, PyAny>)]) -> PyResult<Matched<'py, T>> {
        let mut held = Vec::with_capacity(arrays.len());
        for (name, array) in arrays {
            match Elements::<T>::of(array) {
                Ok(elements) => held.push((name.clone(), elements.shape().to_vec(), Ok(elements))),
                Err(NotElements::Dtype(found)) => {
                    let shape = array.cast::<PyUntypedArray>()?.shape().to_vec();
                    held.push((name.clone(), shape, Err(found)));
                }
                Err(NotElements::Memory(e)) => return Err(e),
                Err(NotElements::Type(found)) => {
                    return Err(PyTypeError::new_err(format!(
                        "weights[{name:?}] must be a numpy array (or a torch tensor), got {found}"
                    )));
                }
            }
        }
        Ok(Matched { held })
    }

    /// The parameters' data in `state_dict` order, or every problem (torch's names).
    pub(crate) fn slices(&self, model: &Model) -> PyResult<Vec<&[T]>> {
        let tensors = self
            .held
            .iter()
            .map(|(name, shape, elements)| {
                let data = elements.as_ref().map(Elements::data).map_err(Clone::clone);
                (name.clone(), shape.clone(), data)
            })
            .collect();
        Weights::match_borrowed(model, tensors).map_err(|e| PyValueError::new_err(e.to_string()))
    }
}

/// A hash of parameter values, to tell whether arrays changed after packing.
pub(crate) fn fingerprint<T: Float>(slices: &[&[T]]) -> u64 {
    let mut hasher = DefaultHasher::new();
    for slice in slices {
        for x in *slice {
            x.to_f64().to_bits().hash(&mut hasher);
        }
    }
    hasher.finish()
}

/// `(name, array)` pairs of a dict, in its order.
pub(crate) fn dict_items<'py>(
    dict: &Bound<'py, PyDict>,
) -> PyResult<Vec<(String, Bound<'py, PyAny>)>> {
    dict.iter()
        .map(|(k, v)| {
            let name = k.extract::<String>().map_err(|_| {
                PyTypeError::new_err(format!("weight names must be str, got {}", type_name(&k)))
            })?;
            Ok((name, v))
        })
        .collect()
}

/// Packs named arrays for `rnn`: the packed weights and the source they were packed from.
pub(crate) fn pack_arrays<T: Float>(
    rnn: &CompiledRnn,
    arrays: Vec<(String, Bound<'_, PyAny>)>,
) -> PyResult<(PackedWeights, Source)> {
    let matched = Matched::<T>::new(&arrays)?;
    let slices = matched.slices(rnn.model())?;
    let packed = rnn.pack_slices(&slices).map_err(py_error)?;
    let fingerprint = fingerprint(&slices);
    let arrays = arrays.into_iter().map(|(n, a)| (n, a.unbind())).collect();
    Ok((
        packed,
        Source::Arrays {
            arrays,
            fingerprint,
        },
    ))
}

impl Source {
    /// The torch-layout weights, copied (for `emit`), if the arrays still hold what was
    /// packed; `None` if they changed since.
    pub(crate) fn weights<T: Float>(
        &self,
        py: Python<'_>,
        model: &Model,
    ) -> PyResult<Option<Weights>> {
        let (arrays, fingerprint_then) = match self {
            Source::Owned(weights) => return Ok(Some(weights.clone())),
            Source::Arrays {
                arrays,
                fingerprint,
            } => (arrays, *fingerprint),
        };
        let bound: Vec<_> = arrays
            .iter()
            .map(|(n, a)| (n.clone(), a.bind(py).clone()))
            .collect();
        let matched = Matched::<T>::new(&bound)?;
        let slices = matched.slices(model)?;
        if fingerprint(&slices) != fingerprint_then {
            return Ok(None);
        }
        let tensors = model
            .params()
            .into_iter()
            .zip(slices)
            .map(|(p, data)| Tensor::new(p.shape(), data.to_vec()).map(|t| (p.name(), t)));
        let tensors: Vec<_> = tensors
            .collect::<Result<_, _>>()
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Weights::from_tensors(model, tensors)
            .map(Some)
            .map_err(|e| PyValueError::new_err(e.to_string()))
    }
}

/// A torch tensor a compiled module reads its weights from, as it was when they were
/// packed: `holder[name] is object`, and for a tensor at that version. `holder` is the
/// dict that holds it (the owning module's `_parameters`, `_buffers` or `__dict__`), so
/// replacing it is seen; a container of tensors (a module's parametrizations) is watched
/// by identity alone.
///
/// The version is read from a plain alias of the tensor (`detach()`, which shares its
/// version counter), where torch answers faster than for a `Parameter`. An inference
/// tensor keeps no version; writes that torch does not record (through `.data` or a numpy
/// view) are not seen either: checking the data pointer too would cost as much again, on
/// every call, for what torch's own autograd does not track.
pub(crate) struct Watched {
    holder: Py<PyDict>,
    name: Py<PyString>,
    object: Py<PyAny>,
    /// The alias whose version is checked, and that version (tensors of normal mode).
    versioned: Option<(Py<PyAny>, i64)>,
}

impl Watched {
    /// Reads `[(holder, name, object, is_tensor), ...]` and notes each tensor's version.
    pub(crate) fn list(entries: &Bound<'_, PyList>) -> PyResult<Vec<Watched>> {
        let py = entries.py();
        entries
            .iter()
            .map(|entry| {
                let (holder, name, object, is_tensor): (
                    Bound<'_, PyDict>,
                    Bound<'_, PyString>,
                    Bound<'_, PyAny>,
                    bool,
                ) = entry.extract()?;
                let mut versioned = None;
                if is_tensor
                    && !object
                        .call_method0(intern!(py, "is_inference"))?
                        .is_truthy()?
                {
                    let alias = object.call_method0(intern!(py, "detach"))?;
                    let version = alias.getattr(intern!(py, "_version"))?.extract()?;
                    versioned = Some((alias.unbind(), version));
                }
                Ok(Watched {
                    holder: holder.unbind(),
                    name: name.unbind(),
                    object: object.unbind(),
                    versioned,
                })
            })
            .collect()
    }

    /// Whether the object is still the one packed and, for a tensor, not written in place
    /// since (as far as torch records: its version).
    pub(crate) fn unchanged(&self, py: Python<'_>) -> PyResult<bool> {
        match self.holder.bind(py).get_item(self.name.bind(py))? {
            Some(now) if now.is(&self.object) => {}
            _ => return Ok(false),
        }
        Ok(match &self.versioned {
            Some((alias, version)) => {
                alias
                    .bind(py)
                    .getattr(intern!(py, "_version"))?
                    .extract::<i64>()?
                    == *version
            }
            None => true,
        })
    }
}
