//! The `interp` engine: the model compiled to kernel IR by the full pipeline and run by the
//! interpreter, with the same calling conventions native code has.

use rnnc_interp::{Arg, run_function};
use rnnc_ir::{PipelineConfig, compile_ir};
use rnnc_kernel::Valid;
use rnnc_spec::{CallShape, Element, Model, Tensor, TensorView, Weights};

use crate::Error;

/// Runs `forward` (or the schedule, as `parts` threads would) on checked arguments;
/// returns `(output, h_n)`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn forward<T: Element>(
    module: &Valid,
    parts: usize,
    packed: &[T],
    call: &CallShape,
    input: TensorView<'_, T>,
    h0: Option<TensorView<'_, T>>,
    lengths: Option<&[usize]>,
) -> Result<(Tensor<T>, Tensor<T>), Error> {
    let mut output = Tensor::<T>::zeros(call.output_shape());
    let mut h_n = Tensor::<T>::zeros(call.h_n_shape());
    let work_len = module
        .work
        .eval(call.seq_len as u64, call.batch as u64)
        .expect("checked shapes keep the workspace in range");
    let mut work = vec![T::default(); work_len as usize];
    let lengths: Option<Vec<i64>> = lengths.map(|l| l.iter().map(|&n| n as i64).collect());
    let mut args = vec![
        Arg::slice(packed),
        Arg::slice(input.data()),
        h0.map_or(Arg::Null, |h| Arg::slice(h.data())),
        lengths.as_deref().map_or(Arg::Null, Arg::I64),
        Arg::slice_mut(output.data_mut()),
        Arg::slice_mut(h_n.data_mut()),
        Arg::slice_mut(&mut work),
        Arg::Scalar(call.seq_len as i64),
        Arg::Scalar(call.batch as i64),
    ];
    if module.schedule.is_empty() {
        run_function(module, "forward", &mut args)?;
    } else {
        rnnc_interp::run_schedule(module, &mut args, parts)?;
    }
    Ok((output, h_n))
}

/// Compiles, packs and runs: the whole `interp` engine for one call (`parts` threads'
/// worth of shares when `config.parallel`).
pub(crate) fn run_model<T: Element>(
    model: &Model,
    config: &PipelineConfig,
    parts: usize,
    weights: &Weights,
    input: TensorView<'_, T>,
    h0: Option<TensorView<'_, T>>,
    lengths: Option<&[usize]>,
) -> Result<(Tensor<T>, Tensor<T>), Error> {
    let call = CallShape::check(model, input.shape(), h0.map(|h| h.shape()), lengths)?;
    CallShape::check_dtype(model, "input", T::DTYPE)?;
    let module = compile_ir(model, config)?;
    let packed = rnnc::pack_by_interpretation::<T>(&module, model, weights)?;
    forward(&module, parts, &packed, &call, input, h0, lengths)
}
