//! The runtime API: compile once, pack weights once, run forward many times.
//!
//! Every argument is checked before native code runs (shapes, lengths and dtypes here, with
//! torch's messages; buffer sizes once more right before the call, in `native`), so no
//! input can make a kernel touch memory it was not given.

use std::hash::{DefaultHasher, Hash, Hasher};

use rnnc_codegen::{Cpu, OptLevel, compile_jit, host_target};
use rnnc_ir::{PipelineConfig, compile_legal};
use rnnc_spec::{
    CallError, CallShape, Element, MAX_STATES, Model, ModelParam, State, StateView, StateViewMut,
    Tensor, TensorData, TensorView, TensorViewMut, Weights,
};

use crate::Error;
use crate::native::{ForwardArgs, KernelShape, NativeKernels};

/// How to compile: the pass pipeline's configuration, Cranelift's optimization level, and
/// the threads a call may use.
#[derive(Clone, Debug, PartialEq)]
pub struct CompileOptions {
    /// Passes and their parameters ([`PipelineConfig`]: which optional passes run, unroll
    /// factors, panel width, register block).
    pub pipeline: PipelineConfig,
    /// Cranelift's optimization level ([`OptLevel`]; `None` by default, measured faster
    /// for these kernels).
    pub opt_level: OptLevel,
    /// Threads per forward call: 1, the calling thread alone; more, up to that many threads
    /// share each large enough call (the kernels then also get a schedule of phases).
    pub threads: usize,
    /// A call gets one thread per this many FLOPs (at least one, at most `threads`); 0
    /// gives every call all `threads` (tests use it to run small models threaded).
    pub min_flops_per_thread: u64,
    /// The same for one-step calls (`seq_len = 1`), which split every layer's whole step
    /// between the threads with one barrier per layer (two in a bidirectional layer); 0
    /// gives every such call all `threads`.
    pub min_flops_per_frame_thread: u64,
    /// Bits of the vectors the code uses: `None` for [`VECTOR_BITS_ENV`] when it is set,
    /// else the widest this machine has (256 on x86-64 with AVX2, else 128); 128 or 256 for
    /// exactly that width, an error where the machine lacks it. Replaces the target of
    /// `pipeline`, which is the host's.
    ///
    /// [`VECTOR_BITS_ENV`]: rnnc_codegen::VECTOR_BITS_ENV
    pub vector_bits: Option<u32>,
    /// The x86-64 CPU that object files ([`compile_aot`](crate::compile_aot)) are compiled
    /// for, x86-64-v3 by default. The JIT compiles for this machine whatever this says.
    pub cpu: Cpu,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            pipeline: PipelineConfig::default(),
            opt_level: OptLevel::default(),
            threads: 1,
            min_flops_per_thread: MIN_FLOPS_PER_THREAD,
            min_flops_per_frame_thread: MIN_FLOPS_PER_FRAME_THREAD,
            vector_bits: None,
            cpu: Cpu::default(),
        }
    }
}

/// A model compiled to native code for this machine.
///
/// `Send + Sync`: one `CompiledRnn` serves any number of threads at once, each with its
/// own outputs (and its own [`ForwardContext`] for [`forward_into`](Self::forward_into)).
pub struct CompiledRnn {
    model: Model,
    ir: rnnc_kernel::Legal,
    kernels: NativeKernels,
    /// Identifies the packed layout, so that weights packed for another one are refused.
    layout_key: u64,
    /// `ir.max_rows()`, which walks every buffer of the module: once, not per call.
    max_rows: u64,
    /// Threads per call, and FLOPs per thread (see [`CompileOptions`]).
    threads: usize,
    min_flops_per_thread: u64,
    min_flops_per_frame_thread: u64,
}

/// The default of [`CompileOptions::min_flops_per_thread`]: waking a worker costs up to
/// ~50 µs and each step of a split recurrence a barrier, which smaller shares do not repay.
pub const MIN_FLOPS_PER_THREAD: u64 = 8_000_000;

/// The default of [`CompileOptions::min_flops_per_frame_thread`]: a one-step call meets
/// its workers once per layer, not once per step, and its workers are awake when calls
/// come frame after frame, so shares of a few microseconds pay (measured in
/// docs/perf-log/2026-12-02-zen3-frames.md).
pub const MIN_FLOPS_PER_FRAME_THREAD: u64 = 100_000;

/// Weights in the packed layout of a [`CompiledRnn`]; made by [`CompiledRnn::pack`].
///
/// The packed elements begin at a [`KERNEL_ALIGN`](crate::KERNEL_ALIGN)-byte boundary of their
/// buffer (`start` elements into it), and a clone aligns its own copy.
#[derive(Debug)]
pub struct PackedWeights {
    layout_key: u64,
    buffer: TensorData,
    start: usize,
    len: usize,
}

impl PackedWeights {
    /// The packed elements, in the kernel's layout (see `rnnc SPEC --stop-after lower`),
    /// if they are of type `T` (the model's dtype).
    pub fn data<T: Element>(&self) -> Option<&[T]> {
        T::unwrap(&self.buffer).map(|b| &b[self.start..self.start + self.len])
    }

    /// Packed weights holding a copy of `packed`, aligned.
    fn aligned_copy<T: Element>(layout_key: u64, packed: &[T]) -> Result<PackedWeights, Error> {
        let mut buffer = Vec::new();
        rnnc_spec::try_aligned(&mut buffer, "the packed weights", packed.len())?
            .copy_from_slice(packed);
        Ok(PackedWeights {
            layout_key,
            start: rnnc_spec::aligned_start(&buffer, packed.len()),
            len: packed.len(),
            buffer: T::wrap(buffer),
        })
    }
}

impl Clone for PackedWeights {
    fn clone(&self) -> PackedWeights {
        let copy = match &self.buffer {
            TensorData::F32(_) => self
                .data::<f32>()
                .map(|d| Self::aligned_copy(self.layout_key, d)),
            TensorData::F64(_) => self
                .data::<f64>()
                .map(|d| Self::aligned_copy(self.layout_key, d)),
        };
        copy.expect("the buffer's dtype")
            .unwrap_or_else(|e| panic!("cloning packed weights: {e}"))
    }
}

impl PartialEq for PackedWeights {
    fn eq(&self, other: &PackedWeights) -> bool {
        self.layout_key == other.layout_key
            && match (&self.buffer, &other.buffer) {
                (TensorData::F32(_), TensorData::F32(_)) => {
                    self.data::<f32>() == other.data::<f32>()
                }
                (TensorData::F64(_), TensorData::F64(_)) => {
                    self.data::<f64>() == other.data::<f64>()
                }
                _ => false,
            }
    }
}

/// Reusable scratch memory for [`CompiledRnn::forward_into`] and
/// [`CompiledRnn::step_into`]: the kernel's workspace (and, for a step, the kernel's
/// output, which is the new `h` the caller gets in its state) and the lengths in the
/// kernel's integer type. It grows to the largest call it serves; after
/// [`reserve`](Self::reserve) for the largest `(seq_len, batch)`, calls up to that size
/// allocate nothing.
#[derive(Debug, Default)]
pub struct ForwardContext {
    work: Option<TensorData>,
    lengths: Vec<i64>,
}

impl ForwardContext {
    /// An empty context.
    pub fn new() -> ForwardContext {
        ForwardContext::default()
    }

    /// Makes room for calls of `rnn` with up to `seq_len` steps and `batch` sequences (a
    /// cell module's calls are one step: `reserve(&rnn, 1, batch)`).
    pub fn reserve(
        &mut self,
        rnn: &CompiledRnn,
        seq_len: usize,
        batch: usize,
    ) -> Result<(), Error> {
        let len = rnn.scratch_len(seq_len, batch)?;
        match rnn.model.dtype() {
            rnnc_spec::DType::F32 => drop(workspace::<f32>(&mut self.work, len)?),
            rnnc_spec::DType::F64 => drop(workspace::<f64>(&mut self.work, len)?),
        }
        // Far smaller than the workspace just reserved (which holds two states per
        // sequence), so it cannot fail where that did not.
        self.lengths
            .reserve(batch.saturating_sub(self.lengths.len()));
        Ok(())
    }
}

/// A workspace of exactly `len` elements of `T` in `slot`, beginning at a
/// [`KERNEL_ALIGN`](crate::KERNEL_ALIGN)-byte boundary, growing it only if needed (an allocation
/// failure is an error, not an abort: the call asked for it).
fn workspace<T: Element>(slot: &mut Option<TensorData>, len: usize) -> Result<&mut [T], Error> {
    if slot.as_ref().is_none_or(|w| w.dtype() != T::DTYPE) {
        *slot = Some(T::wrap(Vec::new()));
    }
    let work = T::unwrap_mut(slot.as_mut().expect("set above")).expect("dtype checked above");
    Ok(rnnc_spec::try_aligned(work, "the workspace", len)?)
}

impl CompiledRnn {
    /// Compiles `model` with the default pipeline for this machine.
    ///
    /// Fails if this machine cannot run rnnc's kernels (x86-64 without AVX and FMA).
    pub fn new(model: &Model) -> Result<CompiledRnn, Error> {
        CompiledRnn::with_options(model, &CompileOptions::default())
    }

    /// Compiles `model` with the given options (all passes must leave the IR legal:
    /// `expand-tanh` and `legalize` cannot be off).
    pub fn with_options(model: &Model, options: &CompileOptions) -> Result<CompiledRnn, Error> {
        if options.threads == 0 {
            return Err(Error::Options("threads must be at least 1".into()));
        }
        let layout = PipelineConfig {
            target: host_target(options.vector_bits)?,
            ..options.pipeline.clone()
        };
        let pipeline = PipelineConfig {
            parallel: options.threads > 1,
            ..layout.clone()
        };
        let ir = compile_legal(model, &pipeline)?;
        let code = compile_jit(&ir, options.opt_level)?;
        let shape = KernelShape::of(&ir, model.dtype())?;
        let mut hasher = DefaultHasher::new();
        format!("{:?}{:?}", model.spec(), layout).hash(&mut hasher);
        Ok(CompiledRnn {
            model: model.clone(),
            layout_key: hasher.finish(),
            max_rows: ir.max_rows(),
            kernels: NativeKernels::new(code, (&ir.schedule, &ir.frame), shape, options.threads)?,
            threads: options.threads,
            min_flops_per_thread: options.min_flops_per_thread,
            min_flops_per_frame_thread: options.min_flops_per_frame_thread,
            ir,
        })
    }

    /// The model compiled.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The kernel IR the native code was generated from.
    pub fn ir(&self) -> &rnnc_kernel::Legal {
        &self.ir
    }

    fn work_len(&self, seq_len: usize, batch: usize) -> Result<usize, Error> {
        self.ir
            .work
            .eval(seq_len as u64, batch as u64)
            .and_then(|w| usize::try_from(w).ok())
            .ok_or(Error::TooLarge { seq_len, batch })
    }

    /// The scratch memory a call needs: the workspace, and for a cell module's model room
    /// for the kernel's output of a [`step`](Self::step), after it.
    fn scratch_len(&self, seq_len: usize, batch: usize) -> Result<usize, Error> {
        let work = self.work_len(seq_len, batch)?;
        if !self.model.is_cell_module() {
            return Ok(work);
        }
        seq_len
            .checked_mul(batch)
            .and_then(|rows| rows.checked_mul(self.model.output_size()))
            .and_then(|output| output.checked_add(work))
            .ok_or(Error::TooLarge { seq_len, batch })
    }

    /// Packs torch-layout weights into this kernel's layout (once; reuse the result).
    pub fn pack(&self, weights: &Weights) -> Result<PackedWeights, Error> {
        weights.check(&self.model)?;
        const CHECKED: &str = "checked weights are in the model's dtype";
        match self.model.dtype() {
            rnnc_spec::DType::F32 => self.pack_slices(&weights.in_order::<f32>().expect(CHECKED)),
            rnnc_spec::DType::F64 => self.pack_slices(&weights.in_order::<f64>().expect(CHECKED)),
        }
    }

    /// Packs parameters borrowed from the caller (in [`Model::params`] order, as
    /// [`Weights::match_borrowed`] returns them) without copying them first: for weights
    /// that live elsewhere, such as a torch module's parameters seen through numpy.
    pub fn pack_slices<T: Element>(&self, params: &[&[T]]) -> Result<PackedWeights, Error> {
        CallShape::check_dtype(&self.model, "weights", T::DTYPE)?;
        let expected = self.model.params();
        let lengths_fit = params.len() == expected.len()
            && params
                .iter()
                .zip(&expected)
                .all(|(p, e)| p.len() == e.len());
        if !lengths_fit {
            return Err(Error::ParamLengths {
                expected: expected.iter().map(ModelParam::len).collect(),
                found: params.iter().map(|p| p.len()).collect(),
            });
        }
        let len = self.ir.packed_len as usize;
        let mut buffer = Vec::new();
        self.kernels.pack(
            params,
            rnnc_spec::try_aligned(&mut buffer, "the packed weights", len)?,
        )?;
        Ok(PackedWeights {
            layout_key: self.layout_key,
            start: rnnc_spec::aligned_start(&buffer, len),
            len,
            buffer: T::wrap(buffer),
        })
    }

    /// Runs the model: `input` is `(L, N, H_in)` (`(N, L, H_in)` batch-first) or unbatched
    /// `(L, H_in)`; `hx` is every initial state of the cell (`h0`, as
    /// `StateView::from(h0)`; each `(D * num_layers, N, width)`, unbatched
    /// `(D * num_layers, width)`) or `None` for zeros; `lengths` gives each sequence's
    /// valid steps. Returns the output and the final states (`state.h` is torch's `h_n`),
    /// in torch's shapes.
    ///
    /// A cell module's model takes a cell's call: `input` `(N, H_in)` or `(H_in)`, `hx`
    /// `(N, H)` or `(H)` each, no lengths; the output is the new `h` (equal to `state.h`).
    /// [`step`](Self::step) returns the states alone, as the cell module does.
    pub fn forward<T: Element>(
        &self,
        weights: &PackedWeights,
        input: TensorView<'_, T>,
        hx: Option<StateView<'_, T>>,
        lengths: Option<&[usize]>,
    ) -> Result<(Tensor<T>, State<T>), Error> {
        let call = self.check(weights, &input, hx.as_ref(), lengths)?;
        let mut output = Tensor::try_zeros(call.output_shape(), "the output")?;
        let mut state = State::try_zeros(&call)?;
        let mut ctx = ForwardContext::new();
        let args = Inputs { input, hx, lengths };
        self.run(
            weights,
            &mut ctx,
            &call,
            args,
            Some(output.data_mut()),
            state.view_mut(),
        )?;
        Ok((output, state))
    }

    /// One call of a cell module (`torch.nn.RNNCell`, `LSTMCell`, `GRUCell`): torch's
    /// `cell(input, hx)`. `input` is `(N, H_in)` or unbatched `(H_in)`; `hx` is every
    /// state of the cell (`h0` as `StateView::from(h0)`; an LSTMCell's `h0` and `c0`
    /// together), each `(N, H)` or `(H)`, or `None` for zeros. Returns the new states:
    /// `state.h` is torch's `h'`, `state.c` an LSTMCell's `c'`.
    ///
    /// A sequence module's model is refused ([`CallError::StepOfSequenceModule`]); its
    /// calls are [`forward`](Self::forward)'s.
    pub fn step<T: Element>(
        &self,
        weights: &PackedWeights,
        input: TensorView<'_, T>,
        hx: Option<StateView<'_, T>>,
    ) -> Result<State<T>, Error> {
        let call = self.check_step(weights, &input, hx.as_ref())?;
        let mut state = State::try_zeros(&call)?;
        let mut ctx = ForwardContext::new();
        let args = Inputs {
            input,
            hx,
            lengths: None,
        };
        self.run(weights, &mut ctx, &call, args, None, state.view_mut())?;
        Ok(state)
    }

    /// Like [`step`](Self::step), writing the new states into `state` (of exactly the
    /// shapes `step` returns; it cannot be `hx`'s memory: keep two states and swap them
    /// from step to step) and using `ctx` for scratch memory: nothing is allocated once
    /// `ctx` has room for the call (`ctx.reserve(&rnn, 1, batch)`).
    pub fn step_into<T: Element>(
        &self,
        weights: &PackedWeights,
        ctx: &mut ForwardContext,
        input: TensorView<'_, T>,
        hx: Option<StateView<'_, T>>,
        state: StateViewMut<'_, T>,
    ) -> Result<(), Error> {
        let call = self.check_step(weights, &input, hx.as_ref())?;
        check_final_states(&call, &state)?;
        let args = Inputs {
            input,
            hx,
            lengths: None,
        };
        self.run(weights, ctx, &call, args, None, state)
    }

    /// Checks a step's arguments: a cell module's model, and its call.
    fn check_step<T: Element>(
        &self,
        weights: &PackedWeights,
        input: &TensorView<'_, T>,
        hx: Option<&StateView<'_, T>>,
    ) -> Result<CallShape, Error> {
        let kind = self.model.kind();
        if !kind.is_cell_module() {
            return Err(CallError::StepOfSequenceModule {
                module: kind.module(),
                cell: kind.cell_module().as_str(),
            }
            .into());
        }
        self.check(weights, input, hx, None)
    }

    /// Like [`forward`](Self::forward), writing into caller-provided `output` and `state`
    /// (of exactly the shapes `forward` returns) and using `ctx` for scratch memory:
    /// nothing is allocated once `ctx` has room for the call.
    // `forward`'s four arguments (torch's call) plus the caller's memory: the context and
    // both results. Bundled in a struct they would be one more thing to build per call.
    #[allow(clippy::too_many_arguments)]
    pub fn forward_into<T: Element>(
        &self,
        weights: &PackedWeights,
        ctx: &mut ForwardContext,
        input: TensorView<'_, T>,
        hx: Option<StateView<'_, T>>,
        lengths: Option<&[usize]>,
        mut output: TensorViewMut<'_, T>,
        state: StateViewMut<'_, T>,
    ) -> Result<(), Error> {
        let call = self.check(weights, &input, hx.as_ref(), lengths)?;
        let expected = call.output_shape();
        if output.shape() != &*expected {
            return Err(CallError::OutputShape {
                what: "output",
                expected: expected.to_vec(),
                found: output.shape().to_vec(),
            }
            .into());
        }
        check_final_states(&call, &state)?;
        let args = Inputs { input, hx, lengths };
        self.run(weights, ctx, &call, args, Some(output.data_mut()), state)
    }

    /// Checks a call's arguments against the model and the weights against this kernel.
    fn check<T: Element>(
        &self,
        weights: &PackedWeights,
        input: &TensorView<'_, T>,
        hx: Option<&StateView<'_, T>>,
        lengths: Option<&[usize]>,
    ) -> Result<CallShape, Error> {
        if weights.layout_key != self.layout_key {
            return Err(Error::ForeignWeights);
        }
        CallShape::check_dtype(&self.model, "input", T::DTYPE)?;
        let shapes = hx.map(StateView::shapes);
        let call = CallShape::check(&self.model, input.shape(), shapes.as_deref(), lengths)?;
        // Kernels index in i64; an empty batch can carry any sequence length.
        let rows = (call.seq_len as u64).checked_mul(call.batch as u64);
        if i64::try_from(call.seq_len).is_err()
            || i64::try_from(call.batch).is_err()
            || rows.is_none_or(|rows| rows > self.max_rows)
        {
            return Err(Error::TooLarge {
                seq_len: call.seq_len,
                batch: call.batch,
            });
        }
        self.scratch_len(call.seq_len, call.batch)?;
        Ok(call)
    }

    /// Runs the kernels on checked arguments, writing `output` and `state`; without an
    /// `output` (a step), the kernel's output goes to scratch memory after the workspace.
    fn run<T: Element>(
        &self,
        weights: &PackedWeights,
        ctx: &mut ForwardContext,
        call: &CallShape,
        args: Inputs<'_, T>,
        output: Option<&mut [T]>,
        state: StateViewMut<'_, T>,
    ) -> Result<(), Error> {
        let packed = weights.data::<T>().ok_or(Error::ForeignWeights)?;
        if call.batch == 0 {
            // torch returns empty results at once; the kernels would loop over every step.
            return Ok(());
        }
        let ForwardContext {
            work,
            lengths: kernel_lengths,
        } = ctx;
        kernel_lengths.clear();
        if let Some(lengths) = args.lengths {
            kernel_lengths.extend(lengths.iter().map(|&n| n as i64));
        }
        let lengths = args.lengths.map(|_| &kernel_lengths[..]);
        let work_len = self.work_len(call.seq_len, call.batch)?;
        let scratch = workspace::<T>(work, self.scratch_len(call.seq_len, call.batch)?)?;
        let (work, rest) = scratch.split_at_mut(work_len);
        let output = match output {
            Some(output) => output,
            // A cell module's scratch holds the output of a step after the workspace.
            None => {
                let len = call.batch * call.output_size;
                rest.get_mut(..len).ok_or_else(|| {
                    Error::Native(format!("no scratch for a step's {len} outputs"))
                })?
            }
        };
        let flops = self.model.flops(call.seq_len, call.batch);
        let per_thread = if call.seq_len == 1 && self.kernels.has_frame() {
            self.min_flops_per_frame_thread
        } else {
            self.min_flops_per_thread
        };
        let threads = match per_thread {
            0 => self.threads,
            min => (flops / min).clamp(1, self.threads as u64) as usize,
        };
        self.kernels
            .forward(
                ForwardArgs {
                    packed,
                    input: args.input.data(),
                    initial: args.hx.map_or([None; MAX_STATES], |hx| hx.slices()),
                    lengths,
                    output,
                    last: state.into_slices(),
                    work,
                    seq_len: call.seq_len,
                    batch: call.batch,
                },
                threads,
            )
            .map_err(Error::from)
    }
}

/// Checks caller-provided final states against the call's: every state of the cell, in
/// [`CallShape::state_shape`], and no more.
fn check_final_states<T: Element>(
    call: &CallShape,
    state: &StateViewMut<'_, T>,
) -> Result<(), Error> {
    let shapes = state.shapes();
    for (i, &kind) in call.states.iter().enumerate() {
        let expected = call.state_shape(kind);
        let found = shapes.get(i).copied();
        if found != Some(&*expected) {
            return Err(CallError::OutputShape {
                what: kind.last(),
                expected: expected.to_vec(),
                found: found.map_or(Vec::new(), <[usize]>::to_vec),
            }
            .into());
        }
    }
    if shapes.len() > call.states.len() {
        return Err(CallError::OutputShape {
            what: "the final states",
            expected: vec![call.states.len()],
            found: vec![shapes.len()],
        }
        .into());
    }
    Ok(())
}

/// The inputs of a forward call.
struct Inputs<'a, T> {
    input: TensorView<'a, T>,
    hx: Option<StateView<'a, T>>,
    lengths: Option<&'a [usize]>,
}
