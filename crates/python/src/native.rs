//! `Native`: a compiled model with its packed weights, called with numpy arrays or plain
//! torch tensors.
//!
//! Invariants:
//! - Every call goes through `rnnc`'s checked API ([`CompiledRnn::forward_into`]): shapes,
//!   dtypes and lengths are checked before any kernel runs, whatever Python passes.
//! - The GIL is released around every kernel call of [`KEEP_GIL_BELOW_FLOPS`] or more,
//!   and no lock is held while it is taken back (a thread waiting for a lock while holding
//!   the GIL would deadlock): the packing is read under the GIL and only its `Arc` is held
//!   during the call.
//! - A call of a torch module reads the weights it last packed only if every tensor they
//!   came from is unchanged ([`Watched`]); otherwise it raises `WeightsChanged`, and the
//!   Python half repacks (`repack`) and calls again. So a call never uses weights other
//!   than the module's as torch records them.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};

use numpy::{PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use rnnc::{
    CallShape, CompileOptions, CompiledRnn, DType, ForwardContext, LoadOptions, MAX_STATES,
    PackedWeights, SpecFile, StateView, StreamState, TensorView, Weights,
};

use crate::arrays::{
    Elements, Float, NotElements, Pool, Results, TorchTypes, address, numpy_name, tensor_array,
};
use crate::errors::{WeightsChanged, call_error, py_error};
use crate::spec::{dict_errors, spec_from_dict};
use crate::stream::{Carry, NativeStream};
use crate::weights::{Source, Watched, dict_items, pack_arrays};

/// Locks a mutex; a panic elsewhere while it was held cannot leave the data inconsistent
/// (contexts are scratch memory, streams are replaced whole).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Calls of fewer FLOPs than this (a few microseconds of work) keep the GIL, as numpy's
/// small operations do: releasing and taking it back costs about half a microsecond, as
/// much as a single step of a small model, and another thread waits no longer than for
/// any such operation.
pub(crate) const KEEP_GIL_BELOW_FLOPS: u64 = 256 * 1024;

/// The weights a model calls with, where they came from, and what they must still be.
pub(crate) struct Packing {
    pub(crate) weights: PackedWeights,
    source: Source,
    watch: Vec<Watched>,
}

/// A compiled model with its packed weights: what `rnnc.compile` and `rnnc.compile_spec`
/// wrap. Calls from several threads run in parallel (each takes its own scratch memory).
///
/// Its mutexes are held only while no Python code runs and numpy allocates nothing (both
/// may let another thread take the GIL, which would then wait for the mutex forever while
/// holding the GIL): what they guard is cloned out, and what they drop is dropped after.
#[pyclass(frozen, module = "rnnc._rnnc")]
pub(crate) struct Native {
    pub(crate) rnn: CompiledRnn,
    /// Replaced whole by `repack`; a call holds the one it started with.
    packing: RwLock<Arc<Packing>>,
    /// Scratch memory of finished calls, reused by the next ones.
    contexts: Mutex<Vec<ForwardContext>>,
    /// The arrays of the last calls' results, reused once their callers let them go.
    pool: Mutex<Pool>,
    /// torch's types, once the Python half has given them (`use_torch`).
    torch: OnceLock<TorchTypes>,
    /// The state tensors the last torch call returned, with the arrays they share memory
    /// with: a loop that feeds them back (`y, h = m(x, h)`) is read without asking torch.
    last: Mutex<Option<Arc<Last>>>,
    threads: usize,
    /// Where the spec came from, for the header of an emitted object.
    origin: String,
}

/// The initial states of a call given as numpy arrays (`h0`, an LSTM's `h0` and `c0`), or
/// torch's errors for another dtype or type.
fn numpy_states<'a, 'py, T: Float>(
    model: &rnnc::Model,
    given: &'a [Bound<'py, PyAny>],
) -> impl Iterator<Item = PyResult<Elements<'py, T>>> + 'a {
    // The names of the states given, for messages; a count the cell does not have is
    // refused with torch's words by the call's check.
    let kinds = model.states();
    given.iter().enumerate().map(move |(i, state)| {
        let name = kinds.get(i).map_or("hx", |k| k.initial());
        Elements::of(state).map_err(|e| {
            e.into_err(
                |found| {
                    let dtype = numpy_name(T::DTYPE);
                    pyo3::exceptions::PyRuntimeError::new_err(format!(
                        "{name} must have dtype {dtype}, got {found}"
                    ))
                },
                |found| {
                    PyTypeError::new_err(format!(
                        "{name} must be a numpy array or a torch tensor, got {found}"
                    ))
                },
            )
        })
    })
}

/// Calls `f` with the views of the states given (`h`, then an LSTM's `c`).
fn with_views<T: Float, R>(
    states: &[Option<Elements<'_, T>>; MAX_STATES],
    f: impl FnOnce(&[TensorView<'_, T>]) -> R,
) -> R {
    match states {
        [Some(h), Some(c)] => f(&[h.view(), c.view()]),
        [Some(h), None] => f(&[h.view()]),
        _ => f(&[]),
    }
}

/// The states of a tuple, if any.
fn tuple_items<'py>(hx: Option<&Bound<'py, PyTuple>>) -> Vec<Bound<'py, PyAny>> {
    hx.map_or_else(Vec::new, |t| t.iter().collect())
}

/// A torch tensor's numpy array as a call's argument, if it is of `T` (else torch's error
/// is the Python half's to raise); a copy that cannot be allocated is a `MemoryError`.
pub(crate) fn plain<'py, T: Float>(
    array: &Bound<'py, PyAny>,
) -> PyResult<Option<Elements<'py, T>>> {
    match Elements::<T>::of(array) {
        Ok(elements) => Ok(Some(elements)),
        Err(NotElements::Memory(e)) => Err(e),
        Err(_) => Ok(None),
    }
}

/// The state tensors a torch call returned (each with the array it shares memory with and
/// that memory's address), and whether they are inference tensors.
struct Last {
    states: [Option<Returned>; MAX_STATES],
    inference: bool,
}

/// A state tensor returned, the array it shares memory with, and that memory's address.
type Returned = (Py<PyAny>, Py<PyAny>, usize);

impl Last {
    /// The array of state `i`, if `state` is the tensor returned as state `i` and still
    /// views the same memory the same way: the same address, and no in-place change of
    /// its shape or strides since (its version is 0; an inference tensor keeps no version,
    /// so its shape and contiguity are asked). Values written in place are in that
    /// memory, and need no check.
    fn array_of<'py>(
        &self,
        py: Python<'py>,
        i: usize,
        state: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let Some(Some((tensor, array, address))) = self.states.get(i) else {
            return Ok(None);
        };
        if !state.is(tensor)
            || state
                .call_method0(intern!(py, "data_ptr"))?
                .extract::<usize>()?
                != *address
        {
            return Ok(None);
        }
        let array = array.bind(py);
        let same = if self.inference {
            let shape: Vec<usize> = state.getattr(intern!(py, "shape"))?.extract()?;
            shape == array.cast::<PyUntypedArray>()?.shape()
                && state
                    .call_method0(intern!(py, "is_contiguous"))?
                    .is_truthy()?
        } else {
            state.getattr(intern!(py, "_version"))?.extract::<i64>()? == 0
        };
        Ok(same.then(|| array.clone()))
    }
}

/// The states of a call as given (`hx`): none, one tensor or array, or a tuple or list of
/// them, held without allocating; `None` for more than a cell has (the slower path
/// refuses them with torch's words).
struct Given<'py> {
    /// The states, then placeholders (`None` objects).
    states: [Bound<'py, PyAny>; MAX_STATES],
    len: usize,
}

impl<'py> Given<'py> {
    fn of(hx: &Bound<'py, PyAny>) -> Option<Given<'py>> {
        let none = || hx.py().None().into_bound(hx.py());
        let mut given = Given {
            states: [none(), none()],
            len: 0,
        };
        let mut push = |state: Bound<'py, PyAny>| {
            *given.states.get_mut(given.len)? = state;
            given.len += 1;
            Some(())
        };
        if hx.is_none() {
        } else if let Ok(tuple) = hx.cast::<PyTuple>() {
            for state in tuple.iter() {
                push(state)?;
            }
        } else if let Ok(list) = hx.cast::<PyList>() {
            for state in list.iter() {
                push(state)?;
            }
        } else {
            push(hx.clone())?;
        }
        Some(given)
    }

    fn states(&self) -> &[Bound<'py, PyAny>] {
        &self.states[..self.len]
    }
}

/// `h` and an LSTM's `c` as a call's initial states.
fn state_view<'a, T: Float>(states: &[TensorView<'a, T>]) -> Option<StateView<'a, T>> {
    Some(StateView {
        h: *states.first()?,
        c: states.get(1).copied(),
    })
}

impl Native {
    /// The packing to call with (a stream's too), if the tensors it came from are unchanged.
    pub(crate) fn current(&self, py: Python<'_>) -> PyResult<Arc<Packing>> {
        let packing = Arc::clone(&self.packing.read().unwrap_or_else(|p| p.into_inner()));
        for watched in &packing.watch {
            if !watched.unchanged(py)? {
                return Err(WeightsChanged::new_err(
                    "the module's parameters changed since they were packed",
                ));
            }
        }
        Ok(packing)
    }

    /// Runs one checked call, with the GIL released unless it is short; arrays of the
    /// pool or new ones hold the results.
    fn run<'py, T: Float>(
        &self,
        py: Python<'py>,
        weights: &PackedWeights,
        input: TensorView<'_, T>,
        hx: &[TensorView<'_, T>],
        lengths: Option<&[usize]>,
    ) -> PyResult<Results<'py, T>> {
        let model = self.rnn.model();
        let hx = state_view(hx);
        let shapes = hx.as_ref().map(StateView::shapes);
        let call = CallShape::check(model, input.shape(), shapes.as_deref(), lengths)
            .map_err(call_error)?;
        let results = Results::<T>::new(py, &call, &self.pool)?;
        let (output, state) = results.views();
        let mut ctx = lock(&self.contexts).pop().unwrap_or_default();
        let run = || {
            self.rnn
                .forward_into(weights, &mut ctx, input, hx, lengths, output, state)
        };
        let result = if self.rnn.model().flops(call.seq_len, call.batch) < KEEP_GIL_BELOW_FLOPS {
            run()
        } else {
            py.detach(run)
        };
        lock(&self.contexts).push(ctx);
        result.map_err(py_error)?;
        results.keep(&self.pool);
        Ok(results)
    }

    fn forward_as<'py, T: Float>(
        &self,
        py: Python<'py>,
        input: &Bound<'py, PyAny>,
        hx: Option<&Bound<'py, PyTuple>>,
        lengths: Option<Vec<i64>>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let input = self.input::<T>(input)?;
        let given = tuple_items(hx);
        let states = numpy_states::<T>(self.rnn.model(), &given).collect::<PyResult<Vec<_>>>()?;
        let views: Vec<TensorView<'_, T>> = states.iter().map(Elements::view).collect();
        // A negative length is as invalid as 0, and torch says so in those words.
        let lengths: Option<Vec<usize>> =
            lengths.map(|l| l.iter().map(|&n| usize::try_from(n).unwrap_or(0)).collect());
        let packing = self.current(py)?;
        let results = self.run(
            py,
            &packing.weights,
            input.view(),
            &views,
            lengths.as_deref(),
        )?;
        let finals = results.finals(py)?;
        Ok((results.output.into_any(), finals))
    }

    fn call_as<'py, T: Float>(
        &self,
        py: Python<'py>,
        input: &Bound<'py, PyAny>,
        hx: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let Some(given) = Given::of(hx) else {
            return Ok(None); // more states than a cell has: the slower path says so
        };
        let types = self.torch.get();
        if let Some(array) = types.and_then(|types| tensor_array(input, types)) {
            let types = types.expect("a tensor was recognized by them");
            return self.call_torch::<T>(py, types, &array, given.states());
        }
        if input.cast::<PyUntypedArray>().is_err() {
            return Ok(None);
        }
        let input = self.input::<T>(input)?;
        let mut states: [Option<Elements<'py, T>>; MAX_STATES] = [None, None];
        for (slot, elements) in states
            .iter_mut()
            .zip(numpy_states::<T>(self.rnn.model(), given.states()))
        {
            *slot = Some(elements?);
        }
        let packing = self.current(py)?;
        let results = with_views(&states, |views| {
            self.run(py, &packing.weights, input.view(), views, None)
        })?;
        let finals = results.finals.iter().map(|a| a.clone().into_any());
        self.returned(py, results.output.into_any(), finals)
            .map(Some)
    }

    /// A call on torch tensors: `input` already seen as numpy, the states `given`.
    fn call_torch<'py, T: Float>(
        &self,
        py: Python<'py>,
        types: &TorchTypes,
        input: &Bound<'py, PyAny>,
        given: &[Bound<'py, PyAny>],
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let Some(input) = plain::<T>(input)? else {
            return Ok(None);
        };
        let mut states: [Option<Elements<'py, T>>; MAX_STATES] = [None, None];
        {
            // Cloned out: the mutex is not held while Python runs (see `last`).
            let last = lock(&self.last).clone();
            for (i, state) in given.iter().enumerate() {
                let array = match last
                    .as_ref()
                    .map(|l| l.array_of(py, i, state))
                    .transpose()?
                {
                    Some(Some(array)) => array,
                    _ => match tensor_array(state, types) {
                        Some(array) => array,
                        None => return Ok(None),
                    },
                };
                match plain::<T>(&array)? {
                    Some(elements) => states[i] = Some(elements),
                    None => return Ok(None),
                }
            }
        }
        let packing = self.current(py)?;
        let results = with_views(&states, |views| {
            self.run(py, &packing.weights, input.view(), views, None)
        })?;
        let output = types.tensor_of(&results.output)?;
        let mut last = Last {
            states: [None, None],
            inference: types.inference_mode(py)?,
        };
        let mut finals: [Option<Bound<'py, PyAny>>; MAX_STATES] = [None, None];
        for (i, array) in results.finals.iter().enumerate() {
            let tensor = types.tensor_of(array)?;
            last.states[i] = Some((
                tensor.clone().unbind(),
                array.clone().into_any().unbind(),
                address(array),
            ));
            finals[i] = Some(tensor);
        }
        // The tensors replaced are dropped with the mutex unlocked.
        let _replaced = lock(&self.last).replace(Arc::new(last));
        self.returned(py, output, finals.into_iter().flatten())
            .map(Some)
    }

    /// What torch's module returns: `(output, h_n)`, `(output, (h_n, c_n))`, a cell's `h'`
    /// or `(h', c')`.
    fn returned<'py>(
        &self,
        py: Python<'py>,
        output: Bound<'py, PyAny>,
        mut finals: impl Iterator<Item = Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let h = finals.next().expect("every cell has h");
        let state = match finals.next() {
            Some(c) => PyTuple::new(py, [h, c])?.into_any(),
            None => h,
        };
        if self.rnn.model().is_cell_module() {
            return Ok(state);
        }
        Ok(PyTuple::new(py, [output, state])?.into_any())
    }

    fn time_as<T: Float>(
        &self,
        py: Python<'_>,
        input: &Bound<'_, PyAny>,
        repeats: usize,
    ) -> PyResult<f64> {
        let input = self.input::<T>(input)?;
        let call =
            CallShape::check(self.rnn.model(), input.shape(), None, None).map_err(call_error)?;
        let results = Results::<T>::new(py, &call, &Mutex::default())?;
        let mut ctx = ForwardContext::new();
        let input = input.view();
        let packing = self.current(py)?;
        let start = std::time::Instant::now();
        for _ in 0..repeats.max(1) {
            let (output, state) = results.views();
            self.rnn
                .forward_into(&packing.weights, &mut ctx, input, None, None, output, state)
                .map_err(py_error)?;
        }
        Ok(start.elapsed().as_secs_f64() / repeats.max(1) as f64)
    }

    /// The input's elements, or torch's error for an input of another dtype.
    pub(crate) fn input<'py, T: Float>(
        &self,
        input: &Bound<'py, PyAny>,
    ) -> PyResult<Elements<'py, T>> {
        Elements::of(input).map_err(|e| {
            e.into_err(
                |found| {
                    let dtype = numpy_name(T::DTYPE);
                    PyValueError::new_err(format!(
                        "RNN input dtype ({found}) does not match weight dtype ({dtype}). \
                         Convert input: input.astype(numpy.{dtype}), or compile the model as \
                         {found}"
                    ))
                },
                |found| {
                    PyTypeError::new_err(format!(
                        "input must be a numpy array or a torch tensor, got {found}"
                    ))
                },
            )
        })
    }

    /// torch's types, if the Python half gave them.
    pub(crate) fn torch_types(&self) -> Option<&TorchTypes> {
        self.torch.get()
    }

    /// Whether `object` is a torch tensor (of any kind), as far as torch has been seen.
    pub(crate) fn is_tensor(&self, object: &Bound<'_, PyAny>) -> bool {
        self.torch.get().is_some_and(|types| {
            object
                .is_instance(types.tensor_type().bind(object.py()))
                .unwrap_or(false)
        })
    }

    fn start<T: Float>(&self, hx: Option<&Bound<'_, PyTuple>>) -> PyResult<Carry> {
        let given = tuple_items(hx);
        let states = numpy_states::<T>(self.rnn.model(), &given).collect::<PyResult<Vec<_>>>()?;
        let views: Vec<TensorView<'_, T>> = states.iter().map(Elements::view).collect();
        let state = StreamState::new(&self.rnn, state_view(&views)).map_err(py_error)?;
        Ok(T::carry(state))
    }
}

#[pymethods]
impl Native {
    /// Runs the model on numpy arrays: `input` `(L, N, H_in)` (`(N, L, H_in)` batch-first)
    /// or `(L, H_in)` (a cell module's `(N, H_in)` or `(H_in)`); `hx` a tuple of initial
    /// states (`(h0,)`, an LSTM's `(h0, c0)`) or None for zeros; `lengths` each sequence's
    /// valid steps (None: all). Returns the output and a tuple of final states.
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

    /// The torch module's call (`input`, and `hx`: None, `h0` or a tuple of states) on
    /// plain torch tensors or on numpy arrays, returning what the module returns in kind:
    /// `(output, h_n)` or `(output, (h_n, c_n))`, a cell's `h'` or `(h', c')`. None when an
    /// argument is a torch tensor but not a plain CPU tensor of the model's dtype, or
    /// neither kind: the Python half then converts it or raises torch's error. Raises
    /// `WeightsChanged` when the module's parameters changed.
    fn call<'py>(
        &self,
        py: Python<'py>,
        input: &Bound<'py, PyAny>,
        hx: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        match self.rnn.model().dtype() {
            DType::F32 => self.call_as::<f32>(py, input, hx),
            DType::F64 => self.call_as::<f64>(py, input, hx),
        }
    }

    /// Lets `call` take torch tensors: `torch` is the torch module.
    fn use_torch(&self, torch: &Bound<'_, PyAny>) -> PyResult<()> {
        if self.torch.get().is_none() {
            let types = TorchTypes::new(torch)?;
            let _ = self.torch.set(types);
        }
        Ok(())
    }

    /// Packs new weights (a dict of arrays under torch's names, as `compile_spec` takes),
    /// and from now on watches `watch`: `[(holder, name, tensor), ...]`, the torch tensors
    /// the weights were read from, with the dicts that hold them.
    #[pyo3(signature = (weights, watch))]
    fn repack(&self, weights: &Bound<'_, PyDict>, watch: &Bound<'_, PyList>) -> PyResult<()> {
        let arrays = dict_items(weights)?;
        let (weights, source) = match self.rnn.model().dtype() {
            DType::F32 => pack_arrays::<f32>(&self.rnn, arrays)?,
            DType::F64 => pack_arrays::<f64>(&self.rnn, arrays)?,
        };
        let packing = Packing {
            weights,
            source,
            watch: Watched::list(watch)?,
        };
        // The packing replaced (and the tensors it watched) is dropped with the lock free.
        let _replaced = std::mem::replace(
            &mut *self.packing.write().unwrap_or_else(|p| p.into_inner()),
            Arc::new(packing),
        );
        Ok(())
    }

    /// Whether the torch tensors the weights were read from are unchanged (see `repack`).
    fn unchanged(&self, py: Python<'_>) -> PyResult<bool> {
        match self.current(py) {
            Ok(_) => Ok(true),
            Err(e) if e.is_instance_of::<WeightsChanged>(py) => Ok(false),
            Err(e) => Err(e),
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
        Ok(NativeStream::new(slf.clone().unbind(), carry))
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
        let model = self.rnn.model();
        let packing = self.current(py)?;
        let weights = match model.dtype() {
            DType::F32 => packing.source.weights::<f32>(py, model)?,
            DType::F64 => packing.source.weights::<f64>(py, model)?,
        };
        let Some(weights) = weights else {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "the weights changed since this model was compiled (its arrays were written \
                 in place): compile it again before emitting it",
            ));
        };
        let triple = target.unwrap_or_else(rnnc::codegen::host_triple);
        let options = CompileOptions::default();
        rnnc::codegen::target_isa(&triple, options.cpu, options.opt_level)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let out = py
            .detach(|| rnnc::compile_aot(model, &options, &triple, Some(&weights), &self.origin))
            .map_err(py_error)?;
        let written = |path: &PathBuf, e: std::io::Error| {
            PyErr::from(std::io::Error::new(
                e.kind(),
                format!("{}: {e}", path.display()),
            ))
        };
        std::fs::create_dir_all(&dir).map_err(|e| written(&dir, e))?;
        let object = dir.join(format!("{}.o", model.name()));
        let header = dir.join(format!("{}.h", model.name()));
        std::fs::write(&object, &out.object).map_err(|e| written(&object, e))?;
        std::fs::write(&header, out.header).map_err(|e| written(&header, e))?;
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

    /// What was compiled, under torch's names: `module` (torch's class: `RNN`, `LSTM`,
    /// `GRU`, `RNNCell`, `LSTMCell` or `GRUCell`), `cell` (the spec's), `mode` (`RNN_TANH`,
    /// `RNN_RELU`, `LSTM` or `GRU`), the constructor's arguments, `states` (`("h",)` or
    /// `("h", "c")`), `dtype` (`float32` or `float64`), and rnnc's `name` (of emitted
    /// symbols) and `threads`.
    #[getter]
    fn spec<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let m = self.rnn.model();
        let spec = PyDict::new(py);
        spec.set_item("module", m.module())?;
        spec.set_item("cell", m.spec().cell.as_str())?;
        spec.set_item("mode", m.cell().mode())?;
        spec.set_item("input_size", m.input_size())?;
        spec.set_item("hidden_size", m.hidden_size())?;
        spec.set_item("bias", m.bias())?;
        if let Some(act) = m.nonlinearity() {
            spec.set_item("nonlinearity", act.as_str())?;
        }
        if !m.is_cell_module() {
            spec.set_item("num_layers", m.num_layers())?;
            spec.set_item("batch_first", m.batch_first())?;
            spec.set_item("dropout", m.dropout())?;
            spec.set_item("bidirectional", m.bidirectional())?;
            spec.set_item("proj_size", m.proj_size())?;
        }
        let states: Vec<&str> = m.states().iter().map(|s| s.name()).collect();
        spec.set_item("states", PyTuple::new(py, states)?)?;
        spec.set_item("dtype", numpy_name(m.dtype()))?;
        spec.set_item("name", m.name())?;
        spec.set_item("threads", self.threads)?;
        Ok(spec)
    }
}

/// More threads per call than any machine rnnc runs on has cores: a typo, not a request.
const MAX_THREADS: i64 = 1024;

/// Compiles a spec (a dict of spec keys, or the path of a TOML file) with weights (a dict
/// of numpy arrays under torch's `state_dict` names, or the path of a safetensors file).
///
/// `watch` (a torch module's): `[(holder, name, object, is_tensor), ...]`, what the
/// weights were read from, checked before every call (see `Native.repack`).
#[pyfunction]
#[pyo3(signature = (spec, weights, threads=1, origin=None, watch=None))]
pub(crate) fn compile_spec(
    py: Python<'_>,
    spec: &Bound<'_, PyAny>,
    weights: &Bound<'_, PyAny>,
    threads: i64,
    origin: Option<String>,
    watch: Option<&Bound<'_, PyList>>,
) -> PyResult<Native> {
    let (model, origin) = match spec.cast::<PyDict>() {
        Ok(dict) => {
            let origin = origin.unwrap_or_else(|| "a Python dict".into());
            let model = spec_from_dict(dict, &origin)?
                .validate()
                .map_err(dict_errors)?;
            (model, origin)
        }
        Err(_) => {
            let path = path_arg(spec, "spec must be a dict or the path of a TOML file")?;
            let file = SpecFile::read(&path).map_err(|e| {
                PyErr::from(std::io::Error::new(
                    e.kind(),
                    format!("{}: {e}", path.display()),
                ))
            })?;
            let model = file
                .validate()
                .map_err(|e| PyValueError::new_err(e.render()))?;
            (model, origin.unwrap_or_else(|| path.display().to_string()))
        }
    };
    if !(1..=MAX_THREADS).contains(&threads) {
        return Err(PyValueError::new_err(format!(
            "threads must be between 1 and {MAX_THREADS}, got {threads}"
        )));
    }
    let threads = threads as usize;
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
            match model.dtype() {
                DType::F32 => pack_arrays::<f32>(&rnn, arrays)?,
                DType::F64 => pack_arrays::<f64>(&rnn, arrays)?,
            }
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
    let packing = Packing {
        weights: packed,
        source,
        watch: watch.map(Watched::list).transpose()?.unwrap_or_default(),
    };
    Ok(Native {
        rnn,
        packing: RwLock::new(Arc::new(packing)),
        contexts: Mutex::new(Vec::new()),
        pool: Mutex::new(Pool::default()),
        torch: OnceLock::new(),
        last: Mutex::new(None),
        threads,
        origin,
    })
}

/// A `str` or `os.PathLike` argument as a path, or a `TypeError` saying what `expected`.
fn path_arg(object: &Bound<'_, PyAny>, expected: &str) -> PyResult<PathBuf> {
    object.extract().map_err(|_| {
        PyTypeError::new_err(format!(
            "{expected}, got {}",
            crate::arrays::type_name(object)
        ))
    })
}
