//! Streams: one sequence fed in chunks, the states carried between calls.

use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::PyTuple;
use rnnc::{CallShape, DType, StreamState, TensorView};

use crate::arrays::{Float, fresh_view, tensor_array, zeros};
use crate::errors::{call_error, py_error};
use crate::native::{KEEP_GIL_BELOW_FLOPS, Native, lock, plain};

/// A stream's carried state, in the model's dtype.
pub(crate) enum Carry {
    F32(StreamState<f32>),
    F64(StreamState<f64>),
}

/// A stream of one model: chunks in, outputs out, states carried between calls.
#[pyclass(frozen, module = "rnnc._rnnc")]
pub(crate) struct NativeStream {
    native: Py<Native>,
    carry: Mutex<Carry>,
}

impl NativeStream {
    pub(crate) fn new(native: Py<Native>, carry: Carry) -> NativeStream {
        NativeStream {
            native,
            carry: Mutex::new(carry),
        }
    }

    fn feed_as<'py, T: Float>(
        &self,
        py: Python<'py>,
        chunk: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let native = self.native.get();
        // A torch tensor numpy can see as it is is read so and answered with a tensor;
        // another tensor is the Python half's to convert; anything else must be a numpy
        // array.
        let torch = native
            .torch_types()
            .and_then(|types| Some((types, tensor_array(chunk, types)?)));
        let elements = match &torch {
            Some((_, array)) => match plain::<T>(array)? {
                Some(elements) => elements,
                None => return Ok(None),
            },
            None if native.is_tensor(chunk) => return Ok(None),
            None => native.input::<T>(chunk)?,
        };
        let chunk_view: TensorView<'_, T> = elements.view();
        let call = CallShape::check(native.rnn.model(), chunk_view.shape(), None, None)
            .map_err(call_error)?;
        let output = zeros::<T>(py, &call.output_shape())?;
        let output_view = fresh_view(&output);
        let packing = native.current(py)?;
        let feed = || {
            // Released before the GIL is taken back, so its holder never waits for the GIL.
            let mut carry = lock(&self.carry);
            let state = T::chunks(&mut carry).expect("a stream carries its model's dtype");
            state.feed_into(&native.rnn, &packing.weights, chunk_view, output_view)
        };
        let flops = native.rnn.model().flops(call.seq_len, call.batch);
        let result = if flops < KEEP_GIL_BELOW_FLOPS {
            feed()
        } else {
            py.detach(feed)
        };
        result.map_err(py_error)?;
        match torch {
            Some((types, _)) => types.tensor_of(&output).map(Some),
            None => Ok(Some(output.into_any())),
        }
    }
}

#[pymethods]
impl NativeStream {
    /// Runs the next chunk (the model's input layout: a numpy array, or a torch tensor,
    /// answered in kind) and returns its output; None for a torch tensor numpy cannot see as
    /// it is (another dtype, a view to resolve), which the Python half converts.
    fn feed<'py>(
        &self,
        py: Python<'py>,
        chunk: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        match self.native.get().rnn.model().dtype() {
            DType::F32 => self.feed_as::<f32>(py, chunk),
            DType::F64 => self.feed_as::<f64>(py, chunk),
        }
    }

    /// The final states after the chunks so far, as a tuple of copies (None before the
    /// first chunk without initial states).
    fn state<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        match self.native.get().rnn.model().dtype() {
            DType::F32 => self.state_as::<f32>(py),
            DType::F64 => self.state_as::<f64>(py),
        }
    }
}

impl NativeStream {
    fn state_as<'py, T: Float>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        // Copied out first: the arrays are made with the mutex free, as numpy may release
        // the GIL to allocate them, and a thread that took it then could wait for the
        // mutex while holding it.
        let copies: Vec<(Vec<usize>, Vec<T>)> = {
            let mut carry = lock(&self.carry);
            let Some(state) = T::chunks(&mut carry)
                .expect("a stream carries its model's dtype")
                .state()
            else {
                return Ok(None);
            };
            std::iter::once(state.h)
                .chain(state.c)
                .map(|t: TensorView<'_, T>| (t.shape().to_vec(), t.data().to_vec()))
                .collect()
        };
        let arrays = copies
            .into_iter()
            .map(|(shape, data)| {
                let array = zeros::<T>(py, &shape)?;
                fresh_view(&array).data_mut().copy_from_slice(&data);
                Ok(array)
            })
            .collect::<PyResult<Vec<_>>>()?;
        Ok(Some(PyTuple::new(py, arrays)?))
    }
}
