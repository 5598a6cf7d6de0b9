//! The engines that can run a model: what `rnnc verify --engine` chooses between.

use std::fmt;
use std::str::FromStr;

use rnnc_spec::{Element, Model, State, StateView, Tensor, TensorView, Weights};

/// A way to run a model's forward pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// Native code compiled by Cranelift for this machine (`CompiledRnn`).
    Jit,
    /// The kernel IR of the full pass pipeline, run by the interpreter (`rnnc-interp`).
    Interp,
    /// The plain f64-accumulating reference semantics (`rnnc-reference`).
    Reference,
}

impl Engine {
    /// Every engine, fastest first.
    pub const ALL: [Engine; 3] = [Engine::Jit, Engine::Interp, Engine::Reference];

    /// The fastest engine this machine runs: the default of `rnnc verify`. Native code
    /// when the host can run it (x86-64 needs AVX and FMA), else the reference.
    pub fn fastest() -> Engine {
        if rnnc_codegen::host_isa(rnnc_codegen::OptLevel::Speed).is_ok() {
            Engine::Jit
        } else {
            Engine::Reference
        }
    }

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Jit => "jit",
            Engine::Interp => "interp",
            Engine::Reference => "reference",
        }
    }

    /// Runs a forward pass with torch's argument conventions, on `threads` threads: the JIT
    /// splits every call, however small, and the interpreter runs the same schedule part
    /// by part (checking that parts never race); the reference ignores `threads`.
    pub fn forward<T: Element>(
        self,
        threads: usize,
        model: &Model,
        weights: &Weights,
        input: TensorView<'_, T>,
        hx: Option<StateView<'_, T>>,
        lengths: Option<&[usize]>,
    ) -> Result<(Tensor<T>, State<T>), crate::Error> {
        match self {
            Engine::Jit => {
                let rnn = rnnc::CompiledRnn::with_options(model, &jit_options(threads))?;
                let packed = rnn.pack(weights)?;
                Ok(rnn.forward(&packed, input, hx, lengths)?)
            }
            Engine::Interp => crate::interp::run_model(
                model,
                &interp_config(threads)?,
                threads,
                weights,
                input,
                hx,
                lengths,
            ),
            Engine::Reference => Ok(rnnc_reference::forward(model, weights, input, hx, lengths)?),
        }
    }

    /// Runs a cell module's model as torch's cell modules are called in a loop
    /// (`h = cell(x[t], h)`): `input` is `(L, N, H_in)` (or `(L, H_in)`, unbatched), each
    /// step `t` a call on `x[t]` with the states the step before returned (the first with
    /// `hx`, or none for zeros). Returns the new `h` after every step, `(L, N, H)` (or
    /// `(L, H)`), and the states after the last. The model is compiled once; the JIT steps
    /// with [`rnnc::CompiledRnn::step`], the interpreter and the reference with their
    /// forward pass on one step, on `threads` threads as [`forward`](Self::forward) does.
    pub fn steps<T: Element>(
        self,
        threads: usize,
        model: &Model,
        weights: &Weights,
        input: TensorView<'_, T>,
        hx: Option<StateView<'_, T>>,
    ) -> Result<(Tensor<T>, State<T>), crate::Error> {
        if !model.is_cell_module() {
            return Err(rnnc::CallError::StepOfSequenceModule {
                module: model.module(),
                cell: model.kind().cell_module().as_str(),
            }
            .into());
        }
        match self {
            Engine::Jit => {
                let rnn = rnnc::CompiledRnn::with_options(model, &jit_options(threads))?;
                let packed = rnn.pack(weights)?;
                step_loop(input, hx, |x, h| Ok(rnn.step(&packed, x, h)?))
            }
            Engine::Interp => {
                let config = interp_config(threads)?;
                crate::interp::run_steps(model, &config, threads, weights, input, hx)
            }
            Engine::Reference => step_loop(input, hx, |x, h| {
                Ok(rnnc_reference::forward(model, weights, x, h, None)?.1)
            }),
        }
    }
}

/// The JIT's options on `threads` threads: every call split, however small.
fn jit_options(threads: usize) -> rnnc::CompileOptions {
    rnnc::CompileOptions {
        threads,
        min_flops_per_thread: 0,
        min_flops_per_frame_thread: 0,
        ..rnnc::CompileOptions::default()
    }
}

/// The interpreter's pipeline for `threads` threads' shares, at the JIT's target (the
/// host's widest vectors, or `RNNC_VECTOR_BITS`), so that both engines run the same IR.
fn interp_config(threads: usize) -> Result<rnnc_ir::PipelineConfig, crate::Error> {
    Ok(rnnc_ir::PipelineConfig {
        target: rnnc::codegen::host_target(None).map_err(rnnc::Error::from)?,
        parallel: threads > 1,
        ..rnnc_ir::PipelineConfig::default()
    })
}

/// A stepped loop of any step function (one call of a cell module: its input `(N, H_in)`
/// or `(H_in)` and the states before, to the new states): `step` over the rows of `input`
/// (`(L, N, H_in)` or `(L, H_in)`, `L >= 1`), carrying the states from `hx` (or none for
/// zeros). Returns every step's new `h`, stacked, `(L, N, H)` or `(L, H)`, and the last
/// states.
pub fn step_loop<T: Element>(
    input: TensorView<'_, T>,
    hx: Option<StateView<'_, T>>,
    mut step: impl FnMut(TensorView<'_, T>, Option<StateView<'_, T>>) -> Result<State<T>, crate::Error>,
) -> Result<(Tensor<T>, State<T>), crate::Error> {
    let shape = input.shape();
    let (steps, row_shape) = match shape {
        [l, rest @ ..] if *l > 0 && (1..=2).contains(&rest.len()) => (*l, rest),
        _ => {
            return Err(crate::Error::Steps(format!(
                "a stepped loop's input is (L, N, H_in) or (L, H_in) with L >= 1, got {shape:?}"
            )));
        }
    };
    let row_len = input.data().len() / steps;
    let mut outputs = Vec::new();
    let mut state: Option<State<T>> = None;
    for t in 0..steps {
        let x = TensorView::new(row_shape, &input.data()[t * row_len..][..row_len])?;
        let before = state.as_ref().map(State::view).or(hx);
        let next = step(x, before)?;
        outputs.extend_from_slice(next.h.data());
        state = Some(next);
    }
    let state = state.expect("at least one step");
    let output_shape: Vec<usize> = std::iter::once(steps)
        .chain(state.h.shape().iter().copied())
        .collect();
    Ok((Tensor::new(output_shape, outputs)?, state))
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Engine {
    type Err = String;
    fn from_str(s: &str) -> Result<Engine, String> {
        Engine::ALL
            .into_iter()
            .find(|e| e.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Engine::ALL.iter().map(|e| e.name()).collect();
                format!(
                    "unknown engine `{s}`; expected one of: {}",
                    names.join(", ")
                )
            })
    }
}
