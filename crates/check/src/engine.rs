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
                let options = rnnc::CompileOptions {
                    threads,
                    min_flops_per_thread: 0,
                    ..rnnc::CompileOptions::default()
                };
                let rnn = rnnc::CompiledRnn::with_options(model, &options)?;
                let packed = rnn.pack(weights)?;
                Ok(rnn.forward(&packed, input, hx, lengths)?)
            }
            Engine::Interp => crate::interp::run_model(
                model,
                &rnnc_ir::PipelineConfig {
                    parallel: threads > 1,
                    ..rnnc_ir::PipelineConfig::default()
                },
                threads,
                weights,
                input,
                hx,
                lengths,
            ),
            Engine::Reference => Ok(rnnc_reference::forward(model, weights, input, hx, lengths)?),
        }
    }
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
