//! Streaming: a unidirectional model fed a sequence in chunks of any length, its state
//! carried between calls. The results are bit-identical to one call on the whole sequence:
//! the kernels compute each step from the previous states alone, and the states pass
//! between chunks exactly (the final states of one call are the initial states of the
//! next: `h`, and an LSTM's `c`).
//!
//! A cell module's stream takes one step per chunk, `(N, H_in)` or `(H_in)`, as the cell
//! module is called in a loop (`h = cell(x[t], h)`), and returns each step's new `h`.

use rnnc_spec::{CallShape, Element, State, StateView, Tensor, TensorView, TensorViewMut};

use crate::{CompiledRnn, Error, ForwardContext, PackedWeights};

/// Why a stream refused a chunk or could not start. Always the caller's fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// Only unidirectional models stream.
    #[error(
        "streaming needs a unidirectional model: the reverse direction reads the whole \
         sequence before its first output"
    )]
    Bidirectional,
    /// A chunk whose batch differs from the first chunk's: the state holds one row per
    /// sequence of the first chunk.
    #[error(
        "every chunk of a stream has the first chunk's batch ({}), this one has {}",
        batch_text(*.first),
        batch_text(*.found)
    )]
    BatchChanged {
        /// Sequences of the first chunk, and whether it was unbatched.
        first: (usize, bool),
        /// The same for this chunk.
        found: (usize, bool),
    },
}

fn batch_text((batch, unbatched): (usize, bool)) -> String {
    if unbatched {
        "an unbatched sequence".to_string()
    } else {
        format!("{batch} sequence{}", if batch == 1 { "" } else { "s" })
    }
}

/// The state of one stream of sequences; made by [`CompiledRnn::stream`].
pub struct Stream<'a, T: Element> {
    rnn: &'a CompiledRnn,
    weights: &'a PackedWeights,
    carry: StreamState<T>,
}

/// What a [`Stream`] carries between chunks, without borrowing the model: for callers that
/// cannot hold borrows (bindings to other languages). Feed every chunk with the same model
/// and weights, as [`Stream`] does.
pub struct StreamState<T: Element> {
    ctx: ForwardContext,
    /// The states after the chunks so far (or the initial ones); `None` means zeros.
    state: Option<State<T>>,
    next: Option<State<T>>,
    /// Batch and unbatchedness of the first chunk, which every chunk must keep.
    shape: Option<(usize, bool)>,
}

impl CompiledRnn {
    /// Starts a stream from initial states `hx` (`StateView::from(h0)`; or zeros). Only
    /// unidirectional models stream: a reverse direction needs the whole sequence before its
    /// first output.
    ///
    /// ```
    /// use rnnc::{CompiledRnn, RnnSpec, TensorView, Weights};
    ///
    /// let model = RnnSpec::builder(40, 128).num_layers(2).build()?; // keyword spotting
    /// let rnn = CompiledRnn::new(&model)?;
    /// let weights = rnn.pack(&Weights::init(&model, 0))?;
    /// let mut stream = rnn.stream::<f32>(&weights, None)?;
    /// for _frame in 0..3 {
    ///     let features = vec![0.1f32; 40]; // one 10 ms frame, unbatched (L=1, H_in=40)
    ///     let out = stream.feed(TensorView::new(&[1, 40], &features)?)?;
    ///     assert_eq!(out.shape(), [1, 128]);
    /// }
    /// assert_eq!(stream.state().unwrap().h.shape(), [2, 128]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stream<'a, T: Element>(
        &'a self,
        weights: &'a PackedWeights,
        hx: Option<StateView<'_, T>>,
    ) -> Result<Stream<'a, T>, Error> {
        Ok(Stream {
            rnn: self,
            weights,
            carry: StreamState::new(self, hx)?,
        })
    }
}

impl<T: Element> Stream<'_, T> {
    /// Runs the next chunk (`(L_chunk, N, H_in)`, batch-first `(N, L_chunk, H_in)`, or
    /// unbatched `(L_chunk, H_in)`; a cell module's one step, `(N, H_in)` or `(H_in)`) and
    /// returns its output (a cell module's: the new `h`).
    pub fn feed(&mut self, chunk: TensorView<'_, T>) -> Result<Tensor<T>, Error> {
        let call = CallShape::check(self.rnn.model(), chunk.shape(), None, None)?;
        let mut output = Tensor::try_zeros(call.output_shape(), "the output")?;
        self.feed_into(chunk, output.view_mut())?;
        Ok(output)
    }

    /// Runs the next chunk, writing its output into `output`; allocates nothing after the
    /// first chunk of the largest size.
    pub fn feed_into(
        &mut self,
        chunk: TensorView<'_, T>,
        output: TensorViewMut<'_, T>,
    ) -> Result<(), Error> {
        self.carry.feed_into(self.rnn, self.weights, chunk, output)
    }

    /// The states after the chunks fed so far (the final states of the whole sequence), if
    /// any.
    pub fn state(&self) -> Option<StateView<'_, T>> {
        self.carry.state()
    }
}

impl<T: Element> StreamState<T> {
    /// A stream of `rnn` from initial states `hx` (or zeros); see [`CompiledRnn::stream`].
    pub fn new(rnn: &CompiledRnn, hx: Option<StateView<'_, T>>) -> Result<StreamState<T>, Error> {
        let model = rnn.model();
        if model.bidirectional() {
            return Err(StreamError::Bidirectional.into());
        }
        if let Some(hx) = &hx {
            // Checked now, with torch's messages, against a one-step chunk of the batch
            // the states have (every chunk is checked again when it comes).
            let h = hx.h.shape();
            let chunk = match (h.len(), model.batch_first(), model.is_cell_module()) {
                (2, _, true) => vec![h[0], model.input_size()],
                (_, _, true) => vec![model.input_size()],
                (3, false, _) => vec![1, h[1], model.input_size()],
                (3, true, _) => vec![h[1], 1, model.input_size()],
                _ => vec![1, model.input_size()],
            };
            CallShape::check(model, &chunk, Some(&hx.shapes()), None)?;
        }
        let copy = |t: TensorView<'_, T>| Tensor::new(t.shape().to_vec(), t.data().to_vec());
        let state = match hx {
            Some(hx) => Some(State {
                h: copy(hx.h)?,
                c: hx.c.map(copy).transpose()?,
            }),
            None => None,
        };
        Ok(StreamState {
            ctx: ForwardContext::new(),
            state,
            next: None,
            shape: None,
        })
    }

    /// Runs the next chunk with `rnn` and `weights` (those the stream was started with),
    /// writing its output into `output`; see [`Stream::feed_into`].
    pub fn feed_into(
        &mut self,
        rnn: &CompiledRnn,
        weights: &PackedWeights,
        chunk: TensorView<'_, T>,
        output: TensorViewMut<'_, T>,
    ) -> Result<(), Error> {
        let call = CallShape::check(rnn.model(), chunk.shape(), None, None)?;
        let shape = (call.batch, call.unbatched);
        match self.shape {
            None => self.shape = Some(shape),
            Some(first) if first != shape => {
                return Err(StreamError::BatchChanged {
                    first,
                    found: shape,
                }
                .into());
            }
            Some(_) => {}
        }
        if self.next.is_none() {
            self.next = Some(State::try_zeros(&call)?);
        }
        let next = self.next.as_mut().expect("set above");
        let hx = self.state.as_ref().map(State::view);
        rnn.forward_into(
            weights,
            &mut self.ctx,
            chunk,
            hx,
            None,
            output,
            next.view_mut(),
        )?;
        std::mem::swap(&mut self.state, &mut self.next);
        if self.next.is_none() {
            // The first chunk started from zeros: keep buffers for the next final states.
            self.next = Some(State::try_zeros(&call)?);
        }
        Ok(())
    }

    /// The states after the chunks fed so far, if any.
    pub fn state(&self) -> Option<StateView<'_, T>> {
        self.state.as_ref().map(State::view)
    }
}
