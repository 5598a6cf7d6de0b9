//! The runtime's own equivalences: a sequence fed to a stream in chunks equals one call
//! on the whole sequence, a cell module stepped over a sequence equals one call of its
//! sequence module, and the deepest model the spec accepts compiles and computes what the
//! interpreter does.

mod common;

use common::{first_bit_difference, results};
use proptest::prelude::*;
use rnnc::{
    CompileOptions, CompiledRnn, DType, Element, RnnSpec, State, Tensor, TensorView, Weights,
};

fn stream_matches_one_call<T: Element>(
    case: &common::ModelCase,
    chunks: &[usize],
) -> Result<(), TestCaseError> {
    let data = case.data();
    let rnn = CompiledRnn::new(&data.model).unwrap();
    let packed = rnn.pack(&data.weights).unwrap();
    let (whole_out, whole_h_n) = data
        .with_args::<T, _>(|x, h0, _| rnn.forward(&packed, x, h0, None))
        .unwrap();
    let input = data.input::<T>();
    let mut stream = data
        .with_args::<T, _>(|_, hx, _| rnn.stream(&packed, hx))
        .unwrap();
    let shape = &data.input_shape;
    let (unbatched, bf) = (shape.len() == 2, data.model.batch_first());
    let (seq_len, batch, features) = match (unbatched, bf) {
        (true, _) => (shape[0], 1, shape[1]),
        (false, false) => (shape[0], shape[1], shape[2]),
        (false, true) => (shape[1], shape[0], shape[2]),
    };
    let out_features = whole_out.shape().last().copied().unwrap();
    let mut streamed = vec![T::default(); whole_out.data().len()];
    let mut t0 = 0;
    for &len in chunks.iter().chain(std::iter::repeat(&1)) {
        if t0 >= seq_len {
            break;
        }
        let len = len.min(seq_len - t0);
        // Gather the chunk's rows in the model's layout.
        let row = |t: usize, b: usize| {
            if bf && !unbatched {
                b * seq_len + t
            } else {
                t * batch + b
            }
        };
        let mut chunk = Vec::new();
        for r in 0..len * batch {
            let (t, b) = if bf && !unbatched {
                (r % len, r / len)
            } else {
                (r / batch, r % batch)
            };
            chunk.extend_from_slice(&input[row(t0 + t, b) * features..][..features]);
        }
        let chunk_shape = match (unbatched, bf) {
            (true, _) => vec![len, features],
            (false, false) => vec![len, batch, features],
            (false, true) => vec![batch, len, features],
        };
        let out = stream
            .feed(TensorView::new(&chunk_shape, &chunk).unwrap())
            .unwrap();
        for r in 0..len * batch {
            let (t, b) = if bf && !unbatched {
                (r % len, r / len)
            } else {
                (r / batch, r % batch)
            };
            streamed[row(t0 + t, b) * out_features..][..out_features]
                .copy_from_slice(&out.data()[r * out_features..][..out_features]);
        }
        t0 += len;
    }
    let streamed = Tensor::new(whole_out.shape().to_vec(), streamed).unwrap();
    let state = stream.state().unwrap();
    let copy = |t: TensorView<'_, T>| Tensor::new(t.shape().to_vec(), t.data().to_vec()).unwrap();
    let state = State {
        h: copy(state.h),
        c: state.c.map(copy),
    };
    for ((what, got), (_, want)) in results(&streamed, &state)
        .into_iter()
        .zip(results(&whole_out, &whole_h_n))
    {
        if let Some(diff) = first_bit_difference(got, want) {
            return Err(TestCaseError::fail(format!(
                "a stream in chunks {chunks:?} differs in {what}: {diff}"
            )));
        }
    }
    Ok(())
}

/// A cell module's stepped loop and one call of its sequence module on the whole sequence
/// (`LSTMCell(H_in, H)` stepped `L` times, `LSTM(H_in, H)` called on `(L, N, H_in)` with
/// `h0` of `(1, N, H)`), with the same weights: the same numbers, bit for bit, natively on
/// `threads` threads and in the interpreter. They run the same kernel (the cell module's
/// model is the one-layer model), and a kernel computes each step from the states before
/// alone, as streams in chunks of one step show.
fn cell_steps_match_the_sequence_module<T: Element>(
    case: &common::ModelCase,
    threads: usize,
) -> Result<(), TestCaseError> {
    let cell = case.data();
    let (model, weights) = common::sequence_module_of(&cell.model, &cell.weights);
    let sequence = common::CaseData {
        hx_shapes: cell
            .hx_shapes
            .iter()
            .map(|s| std::iter::once(1).chain(s.iter().copied()).collect())
            .collect(),
        model,
        weights,
        input_shape: cell.input_shape.clone(),
        input: cell.input.clone(),
        hx: cell.hx.clone(),
        lengths: None,
    };
    let options = CompileOptions {
        threads,
        min_flops_per_thread: 0,
        min_flops_per_frame_thread: 0,
        ..CompileOptions::default()
    };
    let fail = |what: &str, e: rnnc_check::Error| TestCaseError::fail(format!("{what}: {e}"));
    let rnn = CompiledRnn::with_options(&cell.model, &options).unwrap();
    let steps = cell
        .native::<T>(&rnn, &rnn.pack(&cell.weights).unwrap())
        .map_err(|e| fail("the cell's steps", e))?;
    let rnn = CompiledRnn::with_options(&sequence.model, &options).unwrap();
    let call = sequence
        .native::<T>(&rnn, &rnn.pack(&sequence.weights).unwrap())
        .map_err(|e| fail("the sequence module", e))?;
    let config = rnnc::ir::PipelineConfig::default();
    let interp_steps = cell
        .interp::<T>(&config, 1)
        .map_err(|e| fail("interp steps", e))?;
    let interp_call = sequence
        .interp::<T>(&config, 1)
        .map_err(|e| fail("interp call", e))?;
    for (form, (steps, call)) in [
        ("native", (steps, call)),
        ("interp", (interp_steps, interp_call)),
    ] {
        let call_state = State {
            // The sequence module's states carry a layer dim of 1; the elements are the same.
            h: Tensor::new(steps.1.h.shape().to_vec(), call.1.h.into_data()).unwrap(),
            c: call
                .1
                .c
                .map(|c| Tensor::new(c.shape()[1..].to_vec(), c.into_data()).unwrap()),
        };
        for ((what, got), (_, want)) in results(&steps.0, &steps.1)
            .into_iter()
            .zip(results(&call.0, &call_state))
        {
            if let Some(diff) = first_bit_difference(got, want) {
                return Err(TestCaseError::fail(format!(
                    "{form}: the cell's steps differ from the sequence module's call in {what}: \
                     {diff} ({threads} threads)"
                )));
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(common::config(48))]

    /// A cell module stepped `L` times computes what its sequence module computes in one
    /// call, bit for bit.
    #[test]
    fn cell_steps_equal_one_call_of_the_sequence_module(
        case in common::cell_case(),
        threads in 1usize..=3,
    ) {
        match case.spec.dtype {
            DType::F32 => cell_steps_match_the_sequence_module::<f32>(&case, threads)?,
            DType::F64 => cell_steps_match_the_sequence_module::<f64>(&case, threads)?,
        }
    }

    /// A sequence fed in chunks of any lengths gives the output and state of one call on
    /// the whole sequence, bit for bit.
    #[test]
    fn streams_in_chunks_equal_one_call(
        case in common::stream_case(),
        chunks in prop::collection::vec(1usize..=6, 1..8),
    ) {
        match case.spec.dtype {
            DType::F32 => stream_matches_one_call::<f32>(&case, &chunks)?,
            DType::F64 => stream_matches_one_call::<f64>(&case, &chunks)?,
        }
    }
}

/// Every model the spec accepts compiles: the deepest (`MAX_LAYERS` layers) compiles in
/// bounded memory (one function per layer) and computes what the interpreter does, on one
/// thread and on two (phase functions per layer).
#[test]
fn the_deepest_model_compiles_and_runs() {
    let model = RnnSpec::builder(1, 1)
        .num_layers(rnnc::MAX_LAYERS)
        .build()
        .unwrap();
    let weights = Weights::init(&model, 5);
    let x = [0.5f32, -0.25, 1.0];
    let input = TensorView::new(&[3, 1, 1], &x).unwrap();
    let expected = rnnc_check::interp_forward(
        &model,
        &rnnc::ir::PipelineConfig::default(),
        &weights,
        input,
        None,
        None,
    )
    .unwrap();
    for threads in [1, 2] {
        let options = CompileOptions {
            threads,
            min_flops_per_thread: 0,
            min_flops_per_frame_thread: 0,
            ..CompileOptions::default()
        };
        let rnn = CompiledRnn::with_options(&model, &options).unwrap();
        let packed = rnn.pack(&weights).unwrap();
        let got = rnn.forward(&packed, input, None, None).unwrap();
        assert_eq!(got, expected, "{threads} threads");
    }
}
