//! The `interp` engine: the model compiled to kernel IR by the full pipeline and run by the
//! interpreter, with the same calling conventions native code has: the arguments are
//! passed by the roles of the entry point's parameters, as the runtime passes them.

use rnnc::interpreter::{Arg, arg, arg_mut, run_function};
use rnnc_ir::{PipelineConfig, compile_ir};
use rnnc_kernel::{Role, Valid};
use rnnc_spec::{
    CallShape, Element, Model, State, StateView, StateViewMut, Tensor, TensorView, Weights,
};

use crate::Error;

/// The buffers of one call, as `forward` (and the runtime) sees them.
struct Buffers<'a, T> {
    packed: &'a [T],
    input: TensorView<'a, T>,
    hx: Option<StateView<'a, T>>,
    lengths: Option<&'a [i64]>,
    output: &'a mut [T],
    state: StateViewMut<'a, T>,
    work: &'a mut [T],
}

/// The arguments of a call in the order of `forward`'s parameters (or a phase function's,
/// without the phase's own scalars).
fn arguments<'a, T: Element>(
    module: &Valid,
    call: &CallShape,
    buffers: Buffers<'a, T>,
) -> Result<Vec<Arg<'a>>, Error> {
    let Buffers {
        packed,
        input,
        hx,
        lengths,
        output,
        state,
        work,
    } = buffers;
    let entry = match module.schedule.first() {
        None => "forward",
        Some(phase) => phase.functions()[0],
    };
    let func = module.function(entry).ok_or_else(|| Error::Mismatch {
        message: format!("no function @{entry}"),
    })?;
    let roles = module
        .roles(func)
        .map_err(|message| Error::Mismatch { message })?;
    let initial = hx.map(|hx| hx.slices()).unwrap_or_default();
    let mut last = state.into_slices();
    let (mut output, mut work) = (Some(output), Some(work));
    let mut args = Vec::new();
    for role in roles {
        args.push(match role {
            Role::Weights => arg(packed),
            Role::Input => arg(input.data()),
            Role::Initial(i) => initial.get(i).copied().flatten().map_or(Arg::Null, arg),
            Role::Lengths => lengths.map_or(Arg::Null, Arg::I64),
            Role::Output => arg_mut(output.take().expect("one output parameter")),
            Role::Last(i) => {
                arg_mut(
                    last.get_mut(i)
                        .and_then(Option::take)
                        .ok_or_else(|| Error::Mismatch {
                            message: format!("no buffer for final state {i}"),
                        })?,
                )
            }
            Role::Work => arg_mut(work.take().expect("one work parameter")),
            Role::SeqLen => Arg::Scalar(call.seq_len as i64),
            Role::Batch => Arg::Scalar(call.batch as i64),
            // The schedule passes a phase's own scalars.
            Role::Step | Role::Part | Role::Parts => continue,
        });
    }
    Ok(args)
}

/// Runs `forward` (or the schedule, as `parts` threads would) on checked arguments;
/// returns the output and the final states.
pub(crate) fn forward<T: Element>(
    module: &Valid,
    parts: usize,
    packed: &[T],
    call: &CallShape,
    input: TensorView<'_, T>,
    hx: Option<StateView<'_, T>>,
    lengths: Option<&[usize]>,
) -> Result<(Tensor<T>, State<T>), Error> {
    let mut output = Tensor::<T>::zeros(call.output_shape());
    let mut state = State::try_zeros(call)?;
    let work_len = module
        .work
        .eval(call.seq_len as u64, call.batch as u64)
        .expect("checked shapes keep the workspace in range");
    let mut work = vec![T::default(); work_len as usize];
    let lengths: Option<Vec<i64>> = lengths.map(|l| l.iter().map(|&n| n as i64).collect());
    let buffers = Buffers {
        packed,
        input,
        hx,
        lengths: lengths.as_deref(),
        output: output.data_mut(),
        state: state.view_mut(),
        work: &mut work,
    };
    let mut args = arguments(module, call, buffers)?;
    if module.schedule.is_empty() {
        run_function(module, "forward", &mut args)?;
    } else {
        rnnc_interp::run_schedule(module, &mut args, parts)?;
    }
    drop(args);
    Ok((output, state))
}

/// Compiles, packs and runs: the whole `interp` engine for one call (`parts` threads'
/// worth of shares when `config.parallel`).
pub(crate) fn run_model<T: Element>(
    model: &Model,
    config: &PipelineConfig,
    parts: usize,
    weights: &Weights,
    input: TensorView<'_, T>,
    hx: Option<StateView<'_, T>>,
    lengths: Option<&[usize]>,
) -> Result<(Tensor<T>, State<T>), Error> {
    let shapes = hx.as_ref().map(StateView::shapes);
    let call = CallShape::check(model, input.shape(), shapes.as_deref(), lengths)?;
    CallShape::check_dtype(model, "input", T::DTYPE)?;
    let module = compile_ir(model, config)?;
    let packed = rnnc::pack_by_interpretation::<T>(&module, model, weights)?;
    forward(&module, parts, &packed, &call, input, hx, lengths)
}

/// Compiles and packs once, then steps a cell module's model over `input` as
/// [`Engine::steps`](crate::Engine::steps) does: the `interp` engine's stepped loop.
pub(crate) fn run_steps<T: Element>(
    model: &Model,
    config: &PipelineConfig,
    parts: usize,
    weights: &Weights,
    input: TensorView<'_, T>,
    hx: Option<StateView<'_, T>>,
) -> Result<(Tensor<T>, State<T>), Error> {
    let module = compile_ir(model, config)?;
    let packed = rnnc::pack_by_interpretation::<T>(&module, model, weights)?;
    crate::engine::step_loop(input, hx, |x, h| {
        let shapes = h.as_ref().map(StateView::shapes);
        let call = CallShape::check(model, x.shape(), shapes.as_deref(), None)?;
        Ok(forward(&module, parts, &packed, &call, x, h, None)?.1)
    })
}
