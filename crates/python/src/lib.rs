//! `rnnc._rnnc`: the native half of rnnc's Python package.
//!
//! The Python half (`python/rnnc/__init__.py`) turns torch modules, tensors and packed
//! sequences into spec dicts and numpy arrays; this module compiles, packs and runs with
//! numpy arrays only. Invariants:
//! - every array reaches native code through `rnnc`'s checked API: shapes, dtypes and
//!   lengths are checked before any kernel runs, whatever Python passes;
//! - the GIL is released around every kernel call, and no lock is held while it is taken
//!   back (a thread waiting for a lock while holding the GIL would deadlock);
//! - errors become the exceptions torch raises for the same call, with torch's text:
//!   `ValueError` for an input of the wrong rank or dtype, `RuntimeError` for wrong sizes.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use numpy::npyffi::flags::{NPY_ARRAY_ALIGNED, NPY_ARRAY_C_CONTIGUOUS};
use numpy::npyffi::{PY_ARRAY_API, npy_intp};
use numpy::{
    PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyMemoryError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use rnnc::{
    CallError, CallShape, CompileOptions, CompiledRnn, DType, Element, Error, ForwardContext,
    LoadOptions, Model, PackedWeights, SpecFile, StateView, StateViewMut, StreamState, Tensor,
    TensorView, TensorViewMut, Weights,
};

/// The element types rnnc compiles, as both rnnc and numpy know them.
trait Float: Element + numpy::Element {
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

/// An rnnc error as the Python exception torch raises for the same mistake.
fn py_error(e: Error) -> PyErr {
    let text = e.to_string();
    match e {
        Error::Call(CallError::InputRank { .. }) => PyValueError::new_err(text),
        Error::OutOfMemory(_) => PyMemoryError::new_err(text),
        Error::Weights(_) | Error::Tensor(_) | Error::Options(_) => PyValueError::new_err(text),
        _ => PyRuntimeError::new_err(text),
    }
}

/// Locks a mutex; a panic elsewhere while it was held cannot leave the data inconsistent
/// (contexts are scratch memory, streams are replaced whole).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Why an object is not an array of the model's dtype.
enum NotElements {
    /// A numpy array of another dtype (its name).
    Dtype(String),
    /// Not a numpy array at all (its type's name).
    Type(String),
}

/// An array's elements: the array itself when it is C-contiguous and aligned, else a copy
/// that is (numpy's `copy(order="C")`).
struct Elements<'py, T: Float> {
    array: Bound<'py, PyArrayDyn<T>>,
}

impl<'py, T: Float> Elements<'py, T> {
    fn of(object: &Bound<'py, PyAny>) -> Result<Elements<'py, T>, NotElements> {
        let Ok(array) = object.cast::<PyArrayDyn<T>>() else {
            return Err(match object.cast::<PyUntypedArray>() {
                Ok(untyped) => NotElements::Dtype(untyped.dtype().to_string()),
                Err(_) => NotElements::Type(type_name(object)),
            });
        };
        // SAFETY: reading the flags of a live array object.
        let flags = unsafe { (*array.as_array_ptr()).fields.flags };
        let wanted = NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED;
        let array = if flags & wanted == wanted {
            array.clone()
        } else {
            array
                .call_method1("copy", ("C",))
                .and_then(|copy| Ok(copy.cast_into::<PyArrayDyn<T>>()?))
                .map_err(|e| NotElements::Type(format!("an array numpy cannot copy ({e})")))?
        };
        Ok(Elements { array })
    }

    fn data(&self) -> &[T] {
        // SAFETY: the array is C-contiguous and aligned (checked or copied when made), and
        // `self` keeps it alive. rnnc never writes to it. Like any C extension (numpy's
        // own, torch's), this does not guard against Python code in another thread
        // writing to the same array during a call: that is the caller's race. numpy's
        // borrow tracking (`readonly()`) would only detect writers that are other Rust
        // extensions using it, at a sixth of a single-step call's cost.
        unsafe { self.array.as_slice() }.expect("C-contiguous, checked when made")
    }

    fn shape(&self) -> &[usize] {
        self.array.shape()
    }

    fn view(&self) -> TensorView<'_, T> {
        TensorView::new(self.shape(), self.data()).expect("numpy's shape fits its elements")
    }
}

fn type_name(object: &Bound<'_, PyAny>) -> String {
    object
        .get_type()
        .name()
        .map_or_else(|_| "?".to_string(), |n| n.to_string())
}

/// numpy's (and torch's) name of a dtype.
fn numpy_name(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "float32",
        DType::F64 => "float64",
    }
}

/// Fresh zeroed arrays for a call's output and final states.
struct Results<'py, T: Float> {
    output: Bound<'py, PyArrayDyn<T>>,
    finals: Vec<Bound<'py, PyArrayDyn<T>>>,
}

impl<'py, T: Float> Results<'py, T> {
    fn new(py: Python<'py>, call: &CallShape) -> PyResult<Results<'py, T>> {
        Ok(Results {
            output: zeros::<T>(py, &call.output_shape())?,
            finals: call
                .states
                .iter()
                .map(|&kind| zeros::<T>(py, &call.state_shape(kind)))
                .collect::<PyResult<_>>()?,
        })
    }

    /// The arrays as a call's output and final states (see [`fresh_view`]); one set of
    /// views at a time.
    fn views(&self) -> (TensorViewMut<'_, T>, StateViewMut<'_, T>) {
        let mut finals = self.finals.iter().map(fresh_view);
        let state = StateViewMut {
            h: finals.next().expect("every cell has h"),
            c: finals.next(),
        };
        (fresh_view(&self.output), state)
    }
}

/// A writable view of an array made by [`zeros`] in this call.
fn fresh_view<'a, T: Float>(array: &'a Bound<'_, PyArrayDyn<T>>) -> TensorViewMut<'a, T> {
    // SAFETY: the array was made by `zeros` in the calling function and has not been
    // returned to Python yet: nothing else can reference its elements, so this exclusive
    // borrow (which lives no longer than the call) needs no borrow tracking (which costs
    // a sixth of a single-step call).
    let data = unsafe { array.as_slice_mut() }.expect("fresh arrays are C-contiguous");
    TensorViewMut::new(array.shape(), data).expect("zeros of this shape")
}

/// A fresh zeroed C-order array; numpy's `MemoryError` (or `ValueError` for a size past
/// its limit) when it cannot be made. (rust-numpy's `zeros` panics then.)
fn zeros<'py, T: Float>(py: Python<'py>, shape: &[usize]) -> PyResult<Bound<'py, PyArrayDyn<T>>> {
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

/// A compiled model with its packed weights: what `rnnc.compile` and `rnnc.compile_spec`
/// wrap. Calls from several threads run in parallel (each takes its own scratch memory).
#[pyclass(frozen, module = "rnnc._rnnc")]
struct Native {
    rnn: CompiledRnn,
    weights: PackedWeights,
    /// Scratch memory of finished calls, reused by the next ones.
    contexts: Mutex<Vec<ForwardContext>>,
    /// The torch-layout weights, for `emit`.
    source: Source,
    threads: usize,
    /// Where the spec came from, for the header of an emitted object.
    origin: String,
}

/// The weights a model was compiled from.
enum Source {
    /// Read from a file.
    Owned(Weights),
    /// numpy arrays the caller still owns (a torch module's parameters, seen without
    /// copying), and a hash of their values when the model was compiled.
    Arrays {
        arrays: Vec<(String, Py<PyAny>)>,
        fingerprint: u64,
    },
}

/// Named arrays matched to a model's parameters: the arrays' elements (borrowed where
/// contiguous) and, once matched, the parameters' data in `state_dict` order.
struct Matched<'py, T: Float> {
    /// Name, shape, and elements or the name of another dtype.
    held: Vec<Held<'py, T>>,
}

type Held<'py, T> = (String, Vec<usize>, Result<Elements<'py, T>, String>);

impl<'py, T: Float> Matched<'py, T> {
    fn new(arrays: &[(String, Bound<'py, PyAny>)]) -> PyResult<Matched<'py, T>> {
        let mut held = Vec::with_capacity(arrays.len());
        for (name, array) in arrays {
            match Elements::<T>::of(array) {
                Ok(elements) => held.push((name.clone(), elements.shape().to_vec(), Ok(elements))),
                Err(NotElements::Dtype(found)) => {
                    let shape = array.cast::<PyUntypedArray>()?.shape().to_vec();
                    held.push((name.clone(), shape, Err(found)));
                }
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
    fn slices(&self, model: &Model) -> PyResult<Vec<&[T]>> {
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

/// A hash of parameter values, to tell whether arrays changed after compilation.
fn fingerprint<T: Float>(slices: &[&[T]]) -> u64 {
    let mut hasher = DefaultHasher::new();
    for slice in slices {
        for x in *slice {
            x.to_f64().to_bits().hash(&mut hasher);
        }
    }
    hasher.finish()
}

/// `(name, array)` pairs of a dict, in its order.
fn dict_items<'py>(dict: &Bound<'py, PyDict>) -> PyResult<Vec<(String, Bound<'py, PyAny>)>> {
    dict.iter()
        .map(|(k, v)| {
            let name = k.extract::<String>().map_err(|_| {
                PyTypeError::new_err(format!("weight names must be str, got {}", type_name(&k)))
            })?;
            Ok((name, v))
        })
        .collect()
}

/// A spec given as a dict: the same keys and values as a spec file, checked by the same
/// parser (so its messages are the file's).
fn spec_from_dict(dict: &Bound<'_, PyDict>) -> PyResult<SpecFile> {
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

#[pymethods]
impl Native {
    /// Runs the model on numpy arrays: `input` `(L, N, H_in)` (`(N, L, H_in)` batch-first)
    /// or `(L, H_in)`; `hx` a tuple of initial states (`(h0,)`, an LSTM's `(h0, c0)`) or
    /// None for zeros; `lengths` each sequence's valid steps (None: all). Returns the output
    /// and a tuple of final states.
    #[pyo3(signature = (input, hx=None, lengths=None))]
    fn forward<'py>(
        &self,
        py: Python<'py>,
        input: &Bound<'py, PyAny>,
        hx: Option<&Bound<'py, PyTuple>>,
        lengths: Option<Vec<i64>>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        match self.rnn.model().dtype() {
            DType::F32 => self.forward_as::<f32>(py, input, hx, lengths),
            DType::F64 => self.forward_as::<f64>(py, input, hx, lengths),
        }
    }

    /// Starts a stream from initial states `hx` (a tuple, or None for zeros).
    #[pyo3(signature = (hx=None))]
    fn stream(slf: &Bound<'_, Native>, hx: Option<&Bound<'_, PyTuple>>) -> PyResult<NativeStream> {
        let native = slf.get();
        let carry = match native.rnn.model().dtype() {
            DType::F32 => native.start::<f32>(hx)?,
            DType::F64 => native.start::<f64>(hx)?,
        };
        Ok(NativeStream {
            native: slf.clone().unbind(),
            carry: Mutex::new(carry),
        })
    }

    /// Writes `NAME.o` and `NAME.h` for `target` (None: this machine) into `dir`, the
    /// weights baked in, as `rnnc SPEC.toml --weights W` does. Returns both paths.
    #[pyo3(signature = (dir, target=None))]
    fn emit(
        &self,
        py: Python<'_>,
        dir: PathBuf,
        target: Option<String>,
    ) -> PyResult<(PathBuf, PathBuf)> {
        let weights = match self.rnn.model().dtype() {
            DType::F32 => self.source_weights::<f32>(py)?,
            DType::F64 => self.source_weights::<f64>(py)?,
        };
        let triple = target.unwrap_or_else(rnnc::codegen::host_triple);
        let options = CompileOptions::default();
        rnnc::codegen::target_isa(&triple, options.opt_level)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let model = self.rnn.model();
        let out = py
            .detach(|| rnnc::compile_aot(model, &options, &triple, Some(&weights), &self.origin))
            .map_err(py_error)?;
        std::fs::create_dir_all(&dir)?;
        let object = dir.join(format!("{}.o", model.name()));
        let header = dir.join(format!("{}.h", model.name()));
        std::fs::write(&object, &out.object)?;
        std::fs::write(&header, out.header)?;
        Ok((object, header))
    }

    /// Seconds per call of `repeats` calls of `forward` made from Rust (the same checks,
    /// outputs written into buffers made once): the native time of a call, without
    /// Python's, for measuring the binding's overhead (tools/bench_python.py).
    fn _time_forward(
        &self,
        py: Python<'_>,
        input: &Bound<'_, PyAny>,
        repeats: usize,
    ) -> PyResult<f64> {
        match self.rnn.model().dtype() {
            DType::F32 => self.time_as::<f32>(py, input, repeats),
            DType::F64 => self.time_as::<f64>(py, input, repeats),
        }
    }

    /// What was compiled, under torch's names: `mode` (`RNN_TANH`, `RNN_RELU`, `LSTM` or
    /// `GRU`), the constructor's arguments, `dtype` (`float32` or `float64`), and rnnc's
    /// `name` (of emitted symbols) and `threads`.
    #[getter]
    fn spec<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let m = self.rnn.model();
        let spec = PyDict::new(py);
        spec.set_item("mode", m.cell().mode())?;
        spec.set_item("input_size", m.input_size())?;
        spec.set_item("hidden_size", m.hidden_size())?;
        spec.set_item("num_layers", m.num_layers())?;
        spec.set_item("bias", m.bias())?;
        spec.set_item("batch_first", m.batch_first())?;
        spec.set_item("dropout", m.dropout())?;
        spec.set_item("bidirectional", m.bidirectional())?;
        spec.set_item("proj_size", m.proj_size())?;
        spec.set_item("dtype", numpy_name(m.dtype()))?;
        spec.set_item("name", m.name())?;
        spec.set_item("threads", self.threads)?;
        Ok(spec)
    }
}

impl Native {
    fn forward_as<'py, T: Float>(
        &self,
        py: Python<'py>,
        input: &Bound<'py, PyAny>,
        hx: Option<&Bound<'py, PyTuple>>,
        lengths: Option<Vec<i64>>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let model = self.rnn.model();
        let input = self.input::<T>(input)?;
        let states = initial_states::<T>(model, hx)?;
        let hx = state_view(&states);
        // A negative length is as invalid as 0, and torch says so in those words.
        let lengths: Option<Vec<usize>> =
            lengths.map(|l| l.iter().map(|&n| usize::try_from(n).unwrap_or(0)).collect());
        let shapes = hx.as_ref().map(StateView::shapes);
        let call = CallShape::check(model, input.shape(), shapes.as_deref(), lengths.as_deref())
            .map_err(|e| py_error(e.into()))?;
        let results = Results::<T>::new(py, &call)?;
        let (output_view, state) = results.views();
        let input_view = input.view();
        let mut ctx = lock(&self.contexts).pop().unwrap_or_default();
        let result = py.detach(|| {
            self.rnn.forward_into(
                &self.weights,
                &mut ctx,
                input_view,
                hx,
                lengths.as_deref(),
                output_view,
                state,
            )
        });
        lock(&self.contexts).push(ctx);
        result.map_err(py_error)?;
        Ok((results.output.into_any(), PyTuple::new(py, results.finals)?))
    }

    fn time_as<T: Float>(
        &self,
        py: Python<'_>,
        input: &Bound<'_, PyAny>,
        repeats: usize,
    ) -> PyResult<f64> {
        let input = self.input::<T>(input)?;
        let call = CallShape::check(self.rnn.model(), input.shape(), None, None)
            .map_err(|e| py_error(e.into()))?;
        let results = Results::<T>::new(py, &call)?;
        let mut ctx = ForwardContext::new();
        let input = input.view();
        let start = std::time::Instant::now();
        for _ in 0..repeats.max(1) {
            let (output, state) = results.views();
            self.rnn
                .forward_into(&self.weights, &mut ctx, input, None, None, output, state)
                .map_err(py_error)?;
        }
        Ok(start.elapsed().as_secs_f64() / repeats.max(1) as f64)
    }

    /// The input's elements, or torch's error for an input of another dtype.
    fn input<'py, T: Float>(&self, input: &Bound<'py, PyAny>) -> PyResult<Elements<'py, T>> {
        Elements::of(input).map_err(|e| match e {
            NotElements::Dtype(found) => {
                let dtype = numpy_name(T::DTYPE);
                PyValueError::new_err(format!(
                    "RNN input dtype ({found}) does not match weight dtype ({dtype}). Convert \
                     input: input.astype(numpy.{dtype}), or compile the model as {found}"
                ))
            }
            NotElements::Type(found) => PyTypeError::new_err(format!(
                "input must be a numpy array or a torch tensor, got {found}"
            )),
        })
    }

    fn start<T: Float>(&self, hx: Option<&Bound<'_, PyTuple>>) -> PyResult<Carry> {
        let states = initial_states::<T>(self.rnn.model(), hx)?;
        let hx = state_view(&states);
        let state = StreamState::new(&self.rnn, hx).map_err(py_error)?;
        Ok(T::carry(state))
    }

    /// The torch-layout weights the model was compiled from, copied for `emit`.
    fn source_weights<T: Float>(&self, py: Python<'_>) -> PyResult<Weights> {
        let (arrays, fingerprint_then) = match &self.source {
            Source::Owned(weights) => return Ok(weights.clone()),
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
        let slices = matched.slices(self.rnn.model())?;
        if fingerprint(&slices) != fingerprint_then {
            return Err(PyRuntimeError::new_err(
                "the weights changed since this model was compiled (its parameters were \
                 written in place): compile the module again before emitting it",
            ));
        }
        let tensors = self
            .rnn
            .model()
            .params()
            .into_iter()
            .zip(slices)
            .map(|(p, data)| Tensor::new(p.shape(), data.to_vec()).map(|t| (p.name(), t)));
        let tensors: Vec<_> = tensors
            .collect::<Result<_, _>>()
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Weights::from_tensors(self.rnn.model(), tensors)
            .map_err(|e| PyValueError::new_err(e.to_string()))
    }
}

/// The initial states of a call: a tuple of arrays (`(h0,)` or `(h0, c0)`), or None.
fn initial_states<'py, T: Float>(
    model: &Model,
    hx: Option<&Bound<'py, PyTuple>>,
) -> PyResult<Vec<Elements<'py, T>>> {
    let Some(hx) = hx else {
        return Ok(Vec::new());
    };
    let names = model.states();
    if hx.len() != names.len() {
        return Err(py_error(
            CallError::HiddenCount {
                expected: names.len(),
                names: names.iter().map(|s| s.initial().to_string()).collect(),
                found: hx.len(),
            }
            .into(),
        ));
    }
    hx.iter()
        .zip(names)
        .map(|(state, kind)| {
            Elements::of(&state).map_err(|e| match e {
                NotElements::Dtype(found) => PyRuntimeError::new_err(format!(
                    "{} must have dtype {}, got {found}",
                    kind.initial(),
                    numpy_name(T::DTYPE)
                )),
                NotElements::Type(found) => PyTypeError::new_err(format!(
                    "{} must be a numpy array or a torch tensor, got {found}",
                    kind.initial()
                )),
            })
        })
        .collect()
}

fn state_view<'a, T: Float>(states: &'a [Elements<'_, T>]) -> Option<StateView<'a, T>> {
    let h = states.first()?.view();
    Some(StateView {
        h,
        c: states.get(1).map(Elements::view),
    })
}

/// A stream's carried state, in the model's dtype.
enum Carry {
    F32(StreamState<f32>),
    F64(StreamState<f64>),
}

/// A stream of one model: chunks in, outputs out, states carried between calls.
#[pyclass(frozen, module = "rnnc._rnnc")]
struct NativeStream {
    native: Py<Native>,
    carry: Mutex<Carry>,
}

#[pymethods]
impl NativeStream {
    /// Runs the next chunk (the model's input layout) and returns its output.
    fn feed<'py>(&self, py: Python<'py>, chunk: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        match self.native.get().rnn.model().dtype() {
            DType::F32 => self.feed_as::<f32>(py, chunk),
            DType::F64 => self.feed_as::<f64>(py, chunk),
        }
    }

    /// The final states after the chunks so far, as a tuple of copies (None before the
    /// first chunk without initial states).
    fn state<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let mut carry = lock(&self.carry);
        match &mut *carry {
            Carry::F32(s) => states_tuple(py, s.state()),
            Carry::F64(s) => states_tuple(py, s.state()),
        }
    }
}

fn states_tuple<'py, T: Float>(
    py: Python<'py>,
    state: Option<StateView<'_, T>>,
) -> PyResult<Option<Bound<'py, PyTuple>>> {
    let Some(state) = state else {
        return Ok(None);
    };
    let copy = |t: TensorView<'_, T>| -> PyResult<_> {
        let array = zeros::<T>(py, t.shape())?;
        fresh_view(&array).data_mut().copy_from_slice(t.data());
        Ok(array)
    };
    let mut out = vec![copy(state.h)?];
    if let Some(c) = state.c {
        out.push(copy(c)?);
    }
    Ok(Some(PyTuple::new(py, out)?))
}

impl NativeStream {
    fn feed_as<'py, T: Float>(
        &self,
        py: Python<'py>,
        chunk: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let native = self.native.get();
        let chunk = native.input::<T>(chunk)?;
        let call = CallShape::check(native.rnn.model(), chunk.shape(), None, None)
            .map_err(|e| py_error(e.into()))?;
        let output = zeros::<T>(py, &call.output_shape())?;
        let output_view = fresh_view(&output);
        let chunk_view = chunk.view();
        let result = py.detach(|| {
            // Locked without the GIL, and released before it is taken back.
            let mut carry = lock(&self.carry);
            let state = T::chunks(&mut carry).expect("a stream carries its model's dtype");
            state.feed_into(&native.rnn, &native.weights, chunk_view, output_view)
        });
        result.map_err(py_error)?;
        Ok(output.into_any())
    }
}

/// More threads per call than any machine rnnc runs on has cores: a typo, not a request.
const MAX_THREADS: usize = 1024;

/// Compiles a spec (a dict of spec keys, or the path of a TOML file) with weights (a dict
/// of numpy arrays under torch's `state_dict` names, or the path of a safetensors file).
#[pyfunction]
#[pyo3(signature = (spec, weights, threads=1, origin=None))]
fn compile_spec(
    py: Python<'_>,
    spec: &Bound<'_, PyAny>,
    weights: &Bound<'_, PyAny>,
    threads: usize,
    origin: Option<String>,
) -> PyResult<Native> {
    let (file, origin) = match spec.cast::<PyDict>() {
        Ok(dict) => (
            spec_from_dict(dict)?,
            origin.unwrap_or_else(|| "a Python dict".into()),
        ),
        Err(_) => {
            let path = path_arg(spec, "spec must be a dict or the path of a TOML file")?;
            let file = SpecFile::read(&path).map_err(|e| {
                PyErr::from(std::io::Error::new(
                    e.kind(),
                    format!("{}: {e}", path.display()),
                ))
            })?;
            (file, origin.unwrap_or_else(|| path.display().to_string()))
        }
    };
    let model = file
        .validate()
        .map_err(|e| PyValueError::new_err(e.render()))?;
    if !(1..=MAX_THREADS).contains(&threads) {
        return Err(PyValueError::new_err(format!(
            "threads must be between 1 and {MAX_THREADS}, got {threads}"
        )));
    }
    let options = CompileOptions {
        threads,
        ..CompileOptions::default()
    };
    let rnn = py
        .detach(|| CompiledRnn::with_options(&model, &options))
        .map_err(py_error)?;
    let (packed, source) = match weights.cast::<PyDict>() {
        Ok(dict) => {
            let arrays = dict_items(dict)?;
            let (packed, fingerprint) = match model.dtype() {
                DType::F32 => pack_arrays::<f32>(&rnn, &arrays)?,
                DType::F64 => pack_arrays::<f64>(&rnn, &arrays)?,
            };
            let arrays = arrays.into_iter().map(|(n, a)| (n, a.unbind())).collect();
            (
                packed,
                Source::Arrays {
                    arrays,
                    fingerprint,
                },
            )
        }
        Err(_) => {
            let path = path_arg(
                weights,
                "weights must be a dict of arrays or the path of a safetensors file",
            )?;
            let loaded = Weights::load(&model, &path, &LoadOptions::default())
                .map_err(|e| PyValueError::new_err(format!("{}: {e}", path.display())))?;
            (rnn.pack(&loaded).map_err(py_error)?, Source::Owned(loaded))
        }
    };
    Ok(Native {
        rnn,
        weights: packed,
        contexts: Mutex::new(Vec::new()),
        source,
        threads,
        origin,
    })
}

/// A `str` or `os.PathLike` argument as a path, or a `TypeError` saying what `expected`.
fn path_arg(object: &Bound<'_, PyAny>, expected: &str) -> PyResult<PathBuf> {
    object
        .extract()
        .map_err(|_| PyTypeError::new_err(format!("{expected}, got {}", type_name(object))))
}

fn pack_arrays<T: Float>(
    rnn: &CompiledRnn,
    arrays: &[(String, Bound<'_, PyAny>)],
) -> PyResult<(PackedWeights, u64)> {
    let matched = Matched::<T>::new(arrays)?;
    let slices = matched.slices(rnn.model())?;
    let packed = rnn.pack_slices(&slices).map_err(py_error)?;
    Ok((packed, fingerprint(&slices)))
}

/// Runs the case files under `path` (a case, or a folder of them) and returns one dict per
/// case: `name`, `path`, `dtype`, `passed`, `worst_error`, `at`, `error`.
#[pyfunction]
fn verify<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyList>> {
    use rnnc_check::case::{Case, collect_case_paths};
    use rnnc_check::verify::run_case;
    if !path.exists() {
        return Err(pyo3::exceptions::PyFileNotFoundError::new_err(format!(
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
fn tolerance(dtype: &str) -> PyResult<f64> {
    match dtype {
        "float32" => Ok(rnnc_check::verify::tolerance(DType::F32)),
        "float64" => Ok(rnnc_check::verify::tolerance(DType::F64)),
        _ => Err(PyValueError::new_err(format!(
            "dtype must be float32 or float64, got {dtype:?}"
        ))),
    }
}

#[pymodule]
fn _rnnc(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Native>()?;
    m.add_class::<NativeStream>()?;
    m.add_function(wrap_pyfunction!(compile_spec, m)?)?;
    m.add_function(wrap_pyfunction!(verify, m)?)?;
    m.add_function(wrap_pyfunction!(tolerance, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
