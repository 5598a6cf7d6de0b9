//! The runtime API as users meet it: errors before native code, streaming, threads.

use rnnc::{
    CallError, CompileOptions, CompiledRnn, Error, ForwardContext, RnnSpec, Tensor, TensorView,
    TensorViewMut, Weights,
};

fn torch_doc() -> (CompiledRnn, rnnc::PackedWeights) {
    let model = RnnSpec::builder(10, 20).num_layers(2).build().unwrap();
    let rnn = CompiledRnn::new(&model).unwrap();
    let packed = rnn.pack(&Weights::init(&model, 1)).unwrap();
    (rnn, packed)
}

#[test]
fn compiled_models_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<CompiledRnn>();
    assert_send_sync::<rnnc::PackedWeights>();
}

/// The kernels read packed weights from a cache-line boundary, a clone's as well, and
/// a clone is equal to its original.
#[test]
fn packed_weights_begin_at_a_cache_line() {
    let (rnn, packed) = torch_doc();
    let aligned = |p: &rnnc::PackedWeights| {
        let data = p.data::<f32>().expect("an f32 model");
        (data.as_ptr() as usize).is_multiple_of(rnnc::KERNEL_ALIGN) && !data.is_empty()
    };
    assert!(aligned(&packed));
    assert!(packed.data::<f64>().is_none());
    let copies: Vec<_> = (0..8).map(|_| packed.clone()).collect();
    for copy in &copies {
        assert!(aligned(copy));
        assert_eq!(copy, &packed);
    }
    let other = rnn.pack(&Weights::init(rnn.model(), 2)).unwrap();
    assert_ne!(other, packed);
}

#[test]
fn bad_arguments_are_errors_with_torch_messages() {
    let (rnn, packed) = torch_doc();
    let x = vec![0.1f32; 5 * 3 * 7];
    let err = rnn
        .forward(
            &packed,
            TensorView::new(&[5, 3, 7], &x).unwrap(),
            None,
            None,
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "input.size(-1) must be equal to input_size. Expected 10, got 7"
    );
    let x = vec![0.1f32; 5 * 3 * 10];
    let input = TensorView::new(&[5, 3, 10], &x).unwrap();
    let h0 = vec![0f32; 2 * 2 * 20];
    let err = rnn
        .forward(
            &packed,
            input,
            Some(TensorView::new(&[2, 2, 20], &h0).unwrap().into()),
            None,
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Expected hidden size (2, 3, 20), got [2, 2, 20]"
    );
    let err = rnn
        .forward(&packed, input, None, Some(&[5, 6, 1]))
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Call(CallError::LengthTooLong {
            index: 1,
            found: 6,
            seq_len: 5
        })
    ));
    let x64 = vec![0.1f64; 5 * 3 * 10];
    let err = rnn
        .forward(
            &packed,
            TensorView::new(&[5, 3, 10], &x64).unwrap(),
            None,
            None,
        )
        .unwrap_err();
    assert_eq!(err.to_string(), "input must have dtype f32, got f64");
    let err = rnn
        .forward(
            &packed,
            TensorView::<f32>::new(&[0, 3, 10], &[]).unwrap(),
            None,
            None,
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Expected sequence length to be larger than 0 in RNN"
    );
    // Weights packed by a model of another layout are refused.
    let other = RnnSpec::builder(10, 20)
        .num_layers(2)
        .bias(false)
        .build()
        .unwrap();
    let other_rnn = CompiledRnn::new(&other).unwrap();
    let foreign = other_rnn.pack(&Weights::init(&other, 1)).unwrap();
    assert!(rnn.forward(&packed.clone(), input, None, None).is_ok());
    assert!(matches!(
        rnn.forward(&foreign, input, None, None),
        Err(Error::ForeignWeights)
    ));
    // Weights of another model cannot be packed.
    assert!(matches!(
        rnn.pack(&Weights::init(&other, 1)),
        Err(Error::Weights(_))
    ));
    // Output buffers of the wrong shape.
    let mut out = vec![0f32; 5 * 3 * 20];
    let mut h_n = vec![0f32; 2 * 3 * 19];
    let err = rnn
        .forward_into(
            &packed,
            &mut ForwardContext::new(),
            input,
            None,
            None,
            TensorViewMut::new(&[5, 3, 20], &mut out).unwrap(),
            TensorViewMut::new(&[2, 3, 19], &mut h_n).unwrap().into(),
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "h_n must have shape [2, 3, 20], got [2, 3, 19]"
    );
}

#[test]
fn forward_into_matches_forward() {
    let (rnn, packed) = torch_doc();
    let x: Vec<f32> = (0..5 * 3 * 10).map(|i| (i as f32 * 0.37).sin()).collect();
    let input = TensorView::new(&[5, 3, 10], &x).unwrap();
    let (out, h_n) = rnn.forward(&packed, input, None, Some(&[5, 2, 4])).unwrap();
    let mut ctx = ForwardContext::new();
    ctx.reserve(&rnn, 5, 3).unwrap();
    let mut out2 = Tensor::<f32>::zeros(vec![5, 3, 20]);
    let mut h_n2 = Tensor::<f32>::zeros(vec![2, 3, 20]);
    rnn.forward_into(
        &packed,
        &mut ctx,
        input,
        None,
        Some(&[5, 2, 4]),
        out2.view_mut(),
        h_n2.view_mut().into(),
    )
    .unwrap();
    assert_eq!(out, out2);
    assert_eq!(h_n.h, h_n2);
    assert_eq!(h_n.c, None);
}

#[test]
fn streams_refuse_bidirectional_models_and_changing_batches() {
    let model = RnnSpec::builder(4, 6).bidirectional(true).build().unwrap();
    let rnn = CompiledRnn::new(&model).unwrap();
    let packed = rnn.pack(&Weights::init(&model, 0)).unwrap();
    let err = rnn.stream::<f32>(&packed, None).err().unwrap();
    assert!(
        matches!(err, Error::Stream(rnnc::StreamError::Bidirectional)),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("streaming needs a unidirectional model")
    );
    let model = RnnSpec::builder(4, 6).build().unwrap();
    let rnn = CompiledRnn::new(&model).unwrap();
    let packed = rnn.pack(&Weights::init(&model, 0)).unwrap();
    let mut stream = rnn.stream::<f32>(&packed, None).unwrap();
    stream
        .feed(TensorView::new(&[2, 3, 4], &[0.5; 24]).unwrap())
        .unwrap();
    let err = stream
        .feed(TensorView::new(&[2, 2, 4], &[0.5; 16]).unwrap())
        .unwrap_err();
    assert!(matches!(err, Error::Stream(_)), "{err:?}");
    assert!(
        err.to_string()
            .contains("first chunk's batch (3 sequences), this one has 2 sequences"),
        "{err}"
    );
    assert!(!err.to_string().contains("compile options"), "{err}");
}

#[test]
fn threads_sharing_one_compiled_model_get_single_thread_results() {
    let model = RnnSpec::builder(16, 40)
        .num_layers(2)
        .bidirectional(true)
        .build()
        .unwrap();
    let rnn = CompiledRnn::new(&model).unwrap();
    let packed = rnn.pack(&Weights::init(&model, 9)).unwrap();
    let inputs: Vec<Vec<f32>> = (0..8)
        .map(|k| {
            (0..12 * 2 * 16)
                .map(|i| ((i * (k + 3)) as f32 * 0.013).cos())
                .collect()
        })
        .collect();
    let expected: Vec<_> = inputs
        .iter()
        .map(|x| {
            rnn.forward(
                &packed,
                TensorView::new(&[12, 2, 16], x).unwrap(),
                None,
                None,
            )
            .unwrap()
        })
        .collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let (rnn, packed, inputs) = (&rnn, &packed, &inputs);
                scope.spawn(move || {
                    let mut results = Vec::new();
                    for round in 0..25 {
                        let k = (t + round) % inputs.len();
                        let x = TensorView::new(&[12, 2, 16], &inputs[k]).unwrap();
                        results.push((k, rnn.forward(packed, x, None, None).unwrap()));
                    }
                    results
                })
            })
            .collect();
        for handle in handles {
            for (k, result) in handle.join().unwrap() {
                assert_eq!(result, expected[k], "input {k}");
            }
        }
    });
}

/// A model compiled for 2 threads, called by several threads at once: each call either
/// gets the workers or runs on its caller alone, and all results are the single-thread
/// model's, bit for bit.
#[test]
fn callers_sharing_a_multithreaded_model_get_single_thread_results() {
    let model = RnnSpec::builder(24, 72).num_layers(2).build().unwrap();
    let weights = Weights::init(&model, 4);
    let single = CompiledRnn::new(&model).unwrap();
    let options = CompileOptions {
        threads: 2,
        min_flops_per_thread: 0,
        min_flops_per_frame_thread: 0,
        ..CompileOptions::default()
    };
    let threaded = CompiledRnn::with_options(&model, &options).unwrap();
    let (single_packed, packed) = (
        single.pack(&weights).unwrap(),
        threaded.pack(&weights).unwrap(),
    );
    let shape = [20, 3, 24];
    let inputs: Vec<Vec<f32>> = (0..4)
        .map(|k| {
            (0..20 * 3 * 24)
                .map(|i| ((i * (k + 2)) as f32 * 0.011).sin())
                .collect()
        })
        .collect();
    let expected: Vec<_> = inputs
        .iter()
        .map(|x| {
            single
                .forward(
                    &single_packed,
                    TensorView::new(&shape, x).unwrap(),
                    None,
                    None,
                )
                .unwrap()
        })
        .collect();
    std::thread::scope(|scope| {
        for t in 0..4 {
            let (threaded, packed, inputs, expected) = (&threaded, &packed, &inputs, &expected);
            scope.spawn(move || {
                for round in 0..40 {
                    let k = (t + round) % inputs.len();
                    let x = TensorView::new(&shape, &inputs[k]).unwrap();
                    assert_eq!(
                        threaded.forward(packed, x, None, None).unwrap(),
                        expected[k],
                        "input {k}"
                    );
                }
            });
        }
    });
}

#[test]
fn zero_threads_is_an_error() {
    let model = RnnSpec::builder(4, 4).build().unwrap();
    let options = CompileOptions {
        threads: 0,
        ..CompileOptions::default()
    };
    let err = CompiledRnn::with_options(&model, &options)
        .err()
        .expect("0 threads fails");
    assert!(
        err.to_string().contains("threads must be at least 1"),
        "{err}"
    );
}

/// Memory a call asks for and cannot get is an error that says how much, not an abort.
#[test]
fn allocation_failures_are_errors() {
    let (rnn, packed) = torch_doc();
    let err = ForwardContext::new()
        .reserve(&rnn, 1_000_000, 1_000_000)
        .unwrap_err();
    assert!(matches!(err, Error::OutOfMemory(_)), "{err:?}");
    assert!(err.to_string().contains("bytes"), "{err}");
    assert!(err.to_string().contains("the workspace"), "{err}");
    // An output of 128 GiB: 16 Mi rows of 2 * 1024 features.
    let model = RnnSpec::builder(1, 1024)
        .bidirectional(true)
        .build()
        .unwrap();
    let wide = CompiledRnn::new(&model).unwrap();
    let wide_packed = wide.pack(&Weights::init(&model, 0)).unwrap();
    let x = vec![0.5f32; 1 << 24];
    let err = wide
        .forward(
            &wide_packed,
            TensorView::new(&[1 << 12, 1 << 12, 1], &x).unwrap(),
            None,
            None,
        )
        .unwrap_err();
    assert!(matches!(err, Error::OutOfMemory(_)), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("cannot allocate 137438953472 bytes (128.0 GiB) for the output"),
        "{err}"
    );
    let _ = packed;
}

/// An empty batch returns at once, whatever the sequence length (as torch returns empty
/// results); a sequence length no kernel can index is the caller's `TooLarge`.
#[test]
fn degenerate_calls_return_at_once_or_are_refused() {
    let (rnn, packed) = torch_doc();
    let (done, wait) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        let result = rnn.forward(
            &packed,
            TensorView::<f32>::new(&[1 << 40, 0, 10], &[]).unwrap(),
            None,
            None,
        );
        let tooo_long = rnn
            .forward(
                &packed,
                TensorView::<f32>::new(&[usize::MAX, 0, 10], &[]).unwrap(),
                None,
                None,
            )
            .unwrap_err();
        done.send((result, tooo_long)).unwrap();
    });
    let (result, too_long) = wait
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("a call with batch 0 returns at once");
    worker.join().unwrap();
    let (out, h_n) = result.unwrap();
    assert_eq!(out.shape(), [1 << 40, 0, 20]);
    assert_eq!(h_n.h.shape(), [2, 0, 20]);
    assert!(matches!(too_long, Error::TooLarge { .. }), "{too_long:?}");
    // Lengths with an unbatched input: torch cannot pack it, rnnc refuses it.
    let (rnn, packed) = torch_doc();
    let x = vec![0.1f32; 5 * 10];
    let err = rnn
        .forward(
            &packed,
            TensorView::new(&[5, 10], &x).unwrap(),
            None,
            Some(&[3]),
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::Call(CallError::UnbatchedLengths)),
        "{err:?}"
    );
}

#[test]
fn borrowed_weights_pack_as_owned_ones_and_mismatches_are_named() {
    let model = RnnSpec::builder(3, 4)
        .cell(rnnc::CellKind::Lstm)
        .proj_size(2)
        .build()
        .unwrap();
    let rnn = CompiledRnn::new(&model).unwrap();
    let weights = Weights::init(&model, 7);
    let owned = rnn.pack(&weights).unwrap();
    // The same tensors, borrowed and offered in reverse order.
    let mut tensors: Vec<rnnc::BorrowedTensor<'_, f32>> = weights
        .iter()
        .map(|(p, _)| (p.name(), p.shape(), Ok(weights.param::<f32>(p).unwrap())))
        .collect();
    tensors.reverse();
    let slices = Weights::match_borrowed(&model, tensors.clone()).unwrap();
    assert_eq!(rnn.pack_slices(&slices).unwrap(), owned);

    let mut wrong = tensors;
    wrong.retain(|(name, _, _)| name != "bias_hh_l0");
    wrong[0].1 = vec![9, 9];
    wrong[1].2 = Err("int8".into());
    let err = Weights::match_borrowed(&model, wrong)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("missing tensor `bias_hh_l0` (expected shape [16])"),
        "{err}"
    );
    assert!(err.contains("has shape [9, 9], expected"), "{err}");
    assert!(err.contains("has dtype int8, expected f32"), "{err}");

    // Slices of the wrong lengths or dtype are refused before native code runs.
    let err = rnn.pack_slices(&slices[1..]).unwrap_err();
    assert!(matches!(err, Error::ParamLengths { .. }), "{err}");
    let doubles = vec![0f64; 16];
    let err = rnn.pack_slices::<f64>(&[&doubles]).unwrap_err();
    assert!(matches!(err, Error::Call(CallError::Dtype { .. })), "{err}");
}

#[test]
fn an_owned_stream_state_gives_the_streams_results() {
    let (rnn, packed) = torch_doc();
    let x: Vec<f32> = (0..7 * 10).map(|i| (i as f32 * 0.37).sin()).collect();
    let mut stream = rnn.stream::<f32>(&packed, None).unwrap();
    let mut state = rnnc::StreamState::<f32>::new(&rnn, None).unwrap();
    for chunk in [&x[..30], &x[30..40], &x[40..]] {
        let shape = [chunk.len() / 10, 10];
        let view = TensorView::new(&shape, chunk).unwrap();
        let expected = stream.feed(view).unwrap();
        let mut out = vec![0f32; shape[0] * 20];
        let out_shape = [shape[0], 20];
        state
            .feed_into(
                &rnn,
                &packed,
                view,
                TensorViewMut::new(&out_shape, &mut out).unwrap(),
            )
            .unwrap();
        assert_eq!(out, expected.data());
    }
    assert_eq!(
        state.state().unwrap().h.data(),
        stream.state().unwrap().h.data()
    );

    // Initial states that fit no chunk are refused when the stream starts.
    let h0 = vec![0f32; 2 * 3 * 21];
    let h0 = TensorView::new(&[2, 3, 21], &h0).unwrap();
    let err = rnn.stream::<f32>(&packed, Some(h0.into())).err().unwrap();
    assert_eq!(
        err.to_string(),
        "Expected hidden size (2, 3, 20), got [2, 3, 21]"
    );
    let h0 = vec![0f32; 20];
    let h0 = TensorView::new(&[20], &h0).unwrap();
    let err = rnn.stream::<f32>(&packed, Some(h0.into())).err().unwrap();
    assert_eq!(
        err.to_string(),
        "For unbatched 2-D input, hx should also be 2-D but got 1-D tensor"
    );
}

/// `nn.LSTMCell(6, 5)` compiled, with its packed weights.
fn lstm_cell() -> (CompiledRnn, rnnc::PackedWeights) {
    let model = RnnSpec::builder(6, 5)
        .cell(rnnc::CellKind::LstmCell)
        .build()
        .unwrap();
    let rnn = CompiledRnn::new(&model).unwrap();
    let packed = rnn.pack(&Weights::init(&model, 4)).unwrap();
    (rnn, packed)
}

/// A cell module's step, forward, step_into and stream compute the same states, and a
/// step's result is a call's of the cell's shapes, batched or not.
#[test]
fn a_cell_steps_through_every_entry_point_alike() {
    let (rnn, packed) = lstm_cell();
    let x: Vec<f32> = (0..3 * 6).map(|i| (i as f32 * 0.37).sin()).collect();
    let h: Vec<f32> = (0..3 * 5).map(|i| (i as f32 * 0.11).cos()).collect();
    let c: Vec<f32> = (0..3 * 5).map(|i| (i as f32 * 0.23).sin()).collect();
    let input = TensorView::new(&[3, 6], &x).unwrap();
    let hx = rnnc::StateView {
        h: TensorView::new(&[3, 5], &h).unwrap(),
        c: Some(TensorView::new(&[3, 5], &c).unwrap()),
    };
    let state = rnn.step(&packed, input, Some(hx)).unwrap();
    assert_eq!(state.h.shape(), [3, 5]);
    assert_eq!(state.c.as_ref().unwrap().shape(), [3, 5]);
    // forward: the output is h'.
    let (out, forward_state) = rnn.forward(&packed, input, Some(hx), None).unwrap();
    assert_eq!(out, state.h);
    assert_eq!(forward_state, state);
    // step_into: into the caller's states, through a reserved context.
    let mut ctx = ForwardContext::new();
    ctx.reserve(&rnn, 1, 3).unwrap();
    let mut into = rnnc::State {
        h: Tensor::<f32>::zeros(vec![3, 5]),
        c: Some(Tensor::<f32>::zeros(vec![3, 5])),
    };
    rnn.step_into(&packed, &mut ctx, input, Some(hx), into.view_mut())
        .unwrap();
    assert_eq!(into, state);
    // Unbatched: row 1 of the batch alone, (H_in) and (H).
    let hx1 = rnnc::StateView {
        h: TensorView::new(&[5], &h[5..10]).unwrap(),
        c: Some(TensorView::new(&[5], &c[5..10]).unwrap()),
    };
    let one = rnn
        .step(
            &packed,
            TensorView::new(&[6], &x[6..12]).unwrap(),
            Some(hx1),
        )
        .unwrap();
    assert_eq!(one.h.shape(), [5]);
    assert_eq!(one.h.data(), &state.h.data()[5..10]);
    assert_eq!(
        one.c.unwrap().data(),
        &state.c.as_ref().unwrap().data()[5..10]
    );
    // A stream of a cell takes one step per chunk and carries (h, c).
    let mut stream = rnn.stream(&packed, Some(hx)).unwrap();
    assert_eq!(stream.feed(input).unwrap(), state.h);
    let again = rnn.step(&packed, input, Some(state.view())).unwrap();
    assert_eq!(stream.feed(input).unwrap(), again.h);
    assert_eq!(
        stream.state().unwrap().c.unwrap().data(),
        again.c.unwrap().data()
    );
    // A batch of 0 is torch's empty result.
    let empty = rnn
        .step(&packed, TensorView::<f32>::new(&[0, 6], &[]).unwrap(), None)
        .unwrap();
    assert_eq!(empty.h.shape(), [0, 5]);
}

/// What makes no sense for a cell module, or for a sequence module's step, is refused
/// before native code runs, saying what rnnc expects; torch's own mistakes get torch's
/// messages.
#[test]
fn cell_calls_are_refused_clearly() {
    let (rnn, packed) = lstm_cell();
    let x = vec![0.5f32; 2 * 6];
    let input = TensorView::new(&[2, 6], &x).unwrap();
    let err = rnn
        .forward(&packed, input, None, Some(&[1, 1]))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Call(CallError::CellLengths { module: "LSTMCell" })
        ),
        "{err:?}"
    );
    let h = vec![0f32; 2 * 5];
    let h0 = TensorView::new(&[2, 5], &h).unwrap();
    let err = rnn.step(&packed, input, Some(h0.into())).unwrap_err();
    assert_eq!(err.to_string(), "lstm_cell expects two hidden states");
    let err = rnn
        .step(&packed, TensorView::new(&[1, 2, 6], &x).unwrap(), None)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "LSTMCell: Expected input to be 1D or 2D, got 3D instead"
    );
    let c = vec![0f32; 3 * 5];
    let hx = rnnc::StateView {
        h: h0,
        c: Some(TensorView::new(&[3, 5], &c).unwrap()),
    };
    let err = rnn.step(&packed, input, Some(hx)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Input batch size 2 doesn't match hidden1 batch size 3"
    );
    // step_into's states must be the step's.
    let mut ctx = ForwardContext::new();
    let mut wrong = rnnc::State {
        h: Tensor::<f32>::zeros(vec![2, 5]),
        c: Some(Tensor::<f32>::zeros(vec![2, 6])),
    };
    let err = rnn
        .step_into(&packed, &mut ctx, input, None, wrong.view_mut())
        .unwrap_err();
    assert_eq!(err.to_string(), "c_n must have shape [2, 5], got [2, 6]");
    // A sequence module has no steps.
    let (seq, seq_packed) = torch_doc();
    let x = vec![0.5f32; 10];
    let err = seq
        .step(&seq_packed, TensorView::new(&[1, 10], &x).unwrap(), None)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "step runs a cell module (torch.nn.RNNCell, LSTMCell or GRUCell), but this model is \
         torch.nn.RNN: call forward, or compile cell = \"rnn_cell\""
    );
    // A cell's stream refuses initial states of another form.
    let h = vec![0f32; 5];
    let hx = rnnc::StateView {
        h: TensorView::new(&[5], &h).unwrap(),
        c: Some(TensorView::new(&[1, 5], &h).unwrap()),
    };
    let err = rnn.stream(&packed, Some(hx)).err().unwrap();
    assert_eq!(
        err.to_string(),
        "Expected 2D hidden1 (batch x hidden_size), but got 3D tensor"
    );
}
