//! numpy arrays and torch tensors as rnnc reads and writes them. Every `unsafe` of the
//! binding is in this file.
//!
//! Invariants:
//! - A view of caller memory ([`Elements`]: a numpy array, or a torch tensor seen through
//!   `Tensor.numpy()`) keeps the array alive while it is borrowed, and is made only after
//!   checking that it is C-contiguous and aligned (or copying it). rnnc never writes to it.
//! - Like any C extension (numpy's own, torch's), this does not guard against Python code
//!   in another thread writing to, resizing or freeing the same memory while the GIL is
//!   released during a call: that is the caller's race. numpy's borrow tracking would only
//!   catch writers that are other Rust extensions using it, at a sixth of a single-step
//!   call's cost.
//! - Outputs are fresh arrays ([`zeros`]), or arrays of earlier calls that nothing but a
//!   [`Pool`] holds any more, written only before they reach Python.

use numpy::npyffi::flags::{
    NPY_ARRAY_ALIGNED, NPY_ARRAY_C_CONTIGUOUS, NPY_ARRAY_OWNDATA, NPY_ARRAY_WRITEABLE,
};
use numpy::npyffi::{PY_ARRAY_API, npy_intp};
use numpy::{
    PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyMemoryError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyTuple, PyType};
use rnnc::{
    CallShape, DType, Element, MAX_STATES, StateViewMut, StreamState, TensorView, TensorViewMut,
};
use std::sync::Mutex;

use crate::native::lock;
use crate::stream::Carry;

/// The element types rnnc compiles, as both rnnc and numpy know them.
pub(crate) trait Float: Element + numpy::Element {
    /// This type's stream, if `carry` holds one.
    fn chunks(carry: &mut Carry) -> Option<&mut StreamState<Self>>;
    fn carry(state: StreamState<Self>) -> Carry;
}

/// `Float` for a type and its variant of [`Carry`].
macro_rules! float {
    ($t:ty, $variant:ident) => {
        impl Float for $t {
            fn chunks(carry: &mut Carry) -> Option<&mut StreamState<$t>> {
                match carry {
                    Carry::$variant(s) => Some(s),
                    _ => None,
                }
            }
            fn carry(state: StreamState<$t>) -> Carry {
                Carry::$variant(state)
            }
        }
    };
}

float!(f32, F32);
float!(f64, F64);

/// numpy's (and torch's) name of a dtype.
pub(crate) fn numpy_name(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "float32",
        DType::F64 => "float64",
    }
}

/// Why an object is not an array of the model's dtype.
pub(crate) enum NotElements {
    /// A numpy array of another dtype (its name).
    Dtype(String),
    /// Not a numpy array at all (its type's name).
    Type(String),
    /// A numpy array that had to be copied (it is not C-contiguous and aligned), and the
    /// copy could not be allocated: numpy's `MemoryError`, with the size.
    Memory(PyErr),
}

impl NotElements {
    /// The error for an argument `what` of the wrong dtype or type, given the messages
    /// for those two; a failed copy is a `MemoryError` whatever the argument.
    pub(crate) fn into_err(
        self,
        dtype: impl FnOnce(String) -> PyErr,
        kind: impl FnOnce(String) -> PyErr,
    ) -> PyErr {
        match self {
            NotElements::Dtype(found) => dtype(found),
            NotElements::Type(found) => kind(found),
            NotElements::Memory(e) => e,
        }
    }
}

/// An array's elements: the array itself when it is C-contiguous and aligned, else a copy
/// that is (numpy's `copy(order="C")`).
pub(crate) struct Elements<'py, T: Float> {
    array: Bound<'py, PyArrayDyn<T>>,
}

impl<'py, T: Float> Elements<'py, T> {
    pub(crate) fn of(object: &Bound<'py, PyAny>) -> Result<Elements<'py, T>, NotElements> {
        let Ok(array) = object.cast::<PyArrayDyn<T>>() else {
            return Err(match object.cast::<PyUntypedArray>() {
                Ok(untyped) => NotElements::Dtype(untyped.dtype().to_string()),
                Err(_) => NotElements::Type(type_name(object)),
            });
        };
        // SAFETY: reading the flags of a live array object.
        let flags = unsafe { (*array.as_array_ptr()).fields.flags };
        let wanted = NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED;
        if flags & wanted == wanted {
            return Ok(Elements {
                array: array.clone(),
            });
        }
        match array.call_method1("copy", ("C",)) {
            Ok(copy) => copy
                .cast_into::<PyArrayDyn<T>>()
                .map(|array| Elements { array })
                .map_err(|e| NotElements::Type(format!("an array numpy cannot copy ({e})"))),
            Err(e) if e.is_instance_of::<PyMemoryError>(object.py()) => {
                let bytes = array.len().saturating_mul(T::DTYPE.size());
                Err(NotElements::Memory(PyMemoryError::new_err(format!(
                    "an array of shape {:?} is not C-contiguous and its C-contiguous copy \
                     ({bytes} bytes) cannot be allocated: {e}",
                    array.shape()
                ))))
            }
            Err(e) => Err(NotElements::Type(format!(
                "an array numpy cannot copy ({e})"
            ))),
        }
    }

    pub(crate) fn data(&self) -> &[T] {
        // SAFETY: the array is C-contiguous and aligned (checked or copied when made), and
        // `self` keeps it alive (see the module docs for other threads).
        unsafe { self.array.as_slice() }.expect("C-contiguous, checked when made")
    }

    pub(crate) fn shape(&self) -> &[usize] {
        self.array.shape()
    }

    pub(crate) fn view(&self) -> TensorView<'_, T> {
        TensorView::new(self.shape(), self.data()).expect("numpy's shape fits its elements")
    }
}

pub(crate) fn type_name(object: &Bound<'_, PyAny>) -> String {
    object
        .get_type()
        .name()
        .map_or_else(|_| "?".to_string(), |n| n.to_string())
}

/// The parts of torch a call of a torch module uses, looked up once.
pub(crate) struct TorchTypes {
    tensor: Py<PyType>,
    from_numpy: Py<PyAny>,
    inference_mode: Py<PyAny>,
}

impl TorchTypes {
    /// The parts of `torch` (the module).
    pub(crate) fn new(torch: &Bound<'_, PyAny>) -> PyResult<TorchTypes> {
        Ok(TorchTypes {
            tensor: torch.getattr("Tensor")?.cast_into::<PyType>()?.unbind(),
            from_numpy: torch.getattr("from_numpy")?.unbind(),
            inference_mode: torch.getattr("is_inference_mode_enabled")?.unbind(),
        })
    }

    /// `torch.Tensor`.
    pub(crate) fn tensor_type(&self) -> &Py<PyType> {
        &self.tensor
    }

    /// `torch.from_numpy(array)`: a tensor sharing the array's memory.
    pub(crate) fn tensor_of<'py>(&self, array: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        self.from_numpy.bind(array.py()).call1((array,))
    }

    /// Whether tensors made now are inference tensors (`torch.inference_mode()`), which
    /// keep no version counter.
    pub(crate) fn inference_mode(&self, py: Python<'_>) -> PyResult<bool> {
        self.inference_mode.bind(py).call0()?.is_truthy()
    }
}

/// A torch tensor's elements as numpy sees them (`Tensor.numpy()`, which shares its
/// memory), if it is a `torch.Tensor` (not a subclass) that numpy may see as it is: on the
/// CPU, not requiring grad, without a negative or conjugate bit. `None` otherwise, or when
/// torch refuses: the caller's slower path then says what is wrong or converts it.
pub(crate) fn tensor_array<'py>(
    object: &Bound<'py, PyAny>,
    types: &TorchTypes,
) -> Option<Bound<'py, PyAny>> {
    if !object.get_type().is(&types.tensor) {
        return None;
    }
    object.call_method0(intern!(object.py(), "numpy")).ok()
}

/// The address of an array's first element (to recognize a tensor sharing its memory).
pub(crate) fn address<T: Float>(array: &Bound<'_, PyArrayDyn<T>>) -> usize {
    // SAFETY: reading the data pointer of a live array object.
    unsafe { (*array.as_array_ptr()).fields.data as usize }
}

/// Fresh zeroed arrays for a call's output and final states.
pub(crate) struct Results<'py, T: Float> {
    pub output: Bound<'py, PyArrayDyn<T>>,
    pub finals: Vec<Bound<'py, PyArrayDyn<T>>>,
}

impl<'py, T: Float> Results<'py, T> {
    /// The arrays of a call of `call`'s shape: new ones, or ones of `pool` that nothing
    /// but the pool holds any more (zeroed again).
    pub(crate) fn new(
        py: Python<'py>,
        call: &CallShape,
        pool: &Mutex<Pool>,
    ) -> PyResult<Results<'py, T>> {
        Ok(Results {
            output: Pool::zeros::<T>(pool, py, &call.output_shape())?,
            finals: call
                .states
                .iter()
                .map(|&kind| Pool::zeros::<T>(pool, py, &call.state_shape(kind)))
                .collect::<PyResult<_>>()?,
        })
    }

    /// The arrays as a call's output and final states (see [`fresh_view`]); one set of
    /// views at a time.
    pub(crate) fn views(&self) -> (TensorViewMut<'_, T>, StateViewMut<'_, T>) {
        let mut finals = self.finals.iter().map(fresh_view);
        let state = StateViewMut {
            h: finals.next().expect("every cell has h"),
            c: finals.next(),
        };
        (fresh_view(&self.output), state)
    }

    /// The final states as a tuple of arrays.
    pub(crate) fn finals(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.finals)
    }

    /// Gives the arrays to `pool`, to be reused once the caller has dropped them.
    pub(crate) fn keep(&self, pool: &Mutex<Pool>) {
        for array in std::iter::once(&self.output).chain(&self.finals) {
            if array.len() * size_of::<T>() <= POOLED_BYTES {
                // Dropped with the pool unlocked: freeing an array may run Python code.
                let _evicted = lock(pool).keep(array.as_any());
            }
        }
    }
}

/// The arrays of a model's last calls: a call reuses one that only the pool still holds
/// (its caller, and any view or tensor of it, has let it go), instead of asking numpy for
/// a new one, which costs as much as a small model's step. Arrays are reused only when
/// their reference count says nothing else can see them; they are zeroed again then.
///
/// The pool's mutex is never held while Python runs or numpy allocates: numpy releases
/// the GIL to allocate large arrays, and a thread that took the GIL then and waited for
/// the mutex would never give the GIL back.
#[derive(Default)]
pub(crate) struct Pool {
    arrays: Vec<Py<PyAny>>,
}

/// Arrays a pool keeps: the outputs and states of the last few calls (a loop's previous
/// results are still held while the next call runs; those of the call before are free).
const POOL_SIZE: usize = 4 * (1 + MAX_STATES);

/// The largest array a pool keeps: a call with larger results computes for far longer
/// than numpy takes to allocate them, and a pool of them would hold memory long after.
/// With [`POOL_SIZE`], a model's pool holds at most 768 KiB.
const POOLED_BYTES: usize = 64 << 10;

impl Pool {
    /// A zeroed C-order array of `shape`: one of `pool`'s that nothing else holds, or a
    /// new one.
    fn zeros<'py, T: Float>(
        pool: &Mutex<Pool>,
        py: Python<'py>,
        shape: &[usize],
    ) -> PyResult<Bound<'py, PyArrayDyn<T>>> {
        let Some(array) = lock(pool).take::<T>(py, shape) else {
            return zeros::<T>(py, shape);
        };
        fresh_view(&array).data_mut().fill(T::from_f64(0.0));
        Ok(array)
    }

    /// An array of `shape` that only the pool holds, taken out of it.
    fn take<'py, T: Float>(
        &mut self,
        py: Python<'py>,
        shape: &[usize],
    ) -> Option<Bound<'py, PyArrayDyn<T>>> {
        let free = self.arrays.iter().position(|a| {
            // SAFETY: reading the reference count of a live object (the pool holds it).
            // Ours alone: the pool's reference is the only one.
            let alone = unsafe { pyo3::ffi::Py_REFCNT(a.as_ptr()) } == 1;
            // Python may have changed what it held in place since (`a.dtype = ...`,
            // `a.shape = ...`, `a.strides = ...`, `a.flags.writeable = False`): the array
            // must still be what `zeros` makes for this call.
            alone
                && a.bind(py)
                    .cast::<PyArrayDyn<T>>()
                    .is_ok_and(|a| a.shape() == shape && as_made(a))
        })?;
        let array = self.arrays.swap_remove(free).into_bound(py);
        array.cast_into::<PyArrayDyn<T>>().ok()
    }

    /// Keeps `array`, and returns the oldest array kept if the pool was full.
    #[must_use]
    fn keep(&mut self, array: &Bound<'_, PyAny>) -> Option<Py<PyAny>> {
        let evicted = (self.arrays.len() == POOL_SIZE).then(|| self.arrays.remove(0));
        self.arrays.push(array.clone().unbind());
        evicted
    }
}

/// Whether `array` has the flags [`zeros`] gives its arrays: C-contiguous, writeable,
/// owning its elements.
fn as_made<T: Float>(array: &Bound<'_, PyArrayDyn<T>>) -> bool {
    let made = NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_WRITEABLE | NPY_ARRAY_OWNDATA;
    // SAFETY: reading the flags of a live array object.
    let flags = unsafe { (*array.as_array_ptr()).fields.flags };
    flags & made == made
}

/// A writable view of an array made by [`zeros`] or taken from a [`Pool`] in this call.
pub(crate) fn fresh_view<'a, T: Float>(
    array: &'a Bound<'_, PyArrayDyn<T>>,
) -> TensorViewMut<'a, T> {
    // SAFETY: the array was made by `zeros` in the calling function and has not been
    // returned to Python yet, or was taken from a pool that held the only reference to
    // it (a view, a tensor or a memoryview of it would hold another): nothing else can
    // reference its elements, so this exclusive borrow (which lives no longer than the
    // call) needs no borrow tracking (which costs a sixth of a single-step call).
    let data = unsafe { array.as_slice_mut() }.expect("fresh arrays are C-contiguous");
    TensorViewMut::new(array.shape(), data).expect("zeros of this shape")
}

/// A fresh zeroed C-order array; numpy's `MemoryError` (or `ValueError` for a size past
/// its limit) when it cannot be made. (rust-numpy's `zeros` panics then.)
pub(crate) fn zeros<'py, T: Float>(
    py: Python<'py>,
    shape: &[usize],
) -> PyResult<Bound<'py, PyArrayDyn<T>>> {
    let mut dims = shape
        .iter()
        .map(|&d| npy_intp::try_from(d))
        .collect::<Result<Vec<npy_intp>, _>>()
        .map_err(|_| PyValueError::new_err(format!("an array of shape {shape:?} is too large")))?;
    let ndim = std::ffi::c_int::try_from(dims.len()).expect("at most 3 dims");
    // SAFETY: PyArray_Zeros with a valid dims buffer of `ndim` entries and a dtype whose
    // reference it steals (`into_dtype_ptr` gives one); a null result is an error set by
    // numpy, turned into a PyErr; a non-null one is an array of `T` by construction.
    unsafe {
        let ptr = PY_ARRAY_API.PyArray_Zeros(
            py,
            ndim,
            dims.as_mut_ptr(),
            T::get_dtype(py).into_dtype_ptr(),
            0,
        );
        Ok(Bound::from_owned_ptr_or_err(py, ptr)?.cast_into_unchecked())
    }
}
