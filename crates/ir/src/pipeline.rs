//! The pass pipeline: model -> graph -> (graph passes) -> lower -> (kernel passes).
//!
//! Every pass is verified after it runs, and an error names the pass. The pipeline can
//! stop after any pass (`rnnc --stop-after PASS`) and any optimization can be switched off,
//! which is how tests check that each pass preserves the semantics on its own. `lower` is
//! the boundary between the levels and always runs unless the pipeline stops before it;
//! `expand-tanh` and `legalize` may be switched off for the interpreter, but native code
//! needs both.

use std::fmt;
use std::str::FromStr;

use rnnc_kernel::{Legal, Module, Target, Valid, VerifyError};
use rnnc_spec::Model;

use crate::graph::{Graph, GraphVerifyError, build_graph, verify_graph};
use crate::passes;
use crate::passes::legalize::LegalizeError;
use crate::passes::unroll::UnrollConfig;

/// A stage of the pipeline, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PassId {
    /// Model -> graph (the plain schedule).
    Build,
    /// `bias_ih + bias_hh` summed once.
    FoldBias,
    /// Input projections as one GEMM per layer.
    Hoist,
    /// Activation on the accumulators.
    FuseEpilogue,
    /// Panel layouts for weights.
    PackWeights,
    /// Register block shapes.
    Block,
    /// Graph -> kernel IR.
    Lower,
    /// Loop unrolling.
    Unroll,
    /// `tanh` as primitive operations.
    ExpandTanh,
    /// Machine vector widths.
    Legalize,
}

impl PassId {
    /// Every stage, in pipeline order: `build`, then the pass table's.
    pub const ALL: [PassId; 1 + PASSES.len()] = {
        let mut all = [PassId::Build; 1 + PASSES.len()];
        let mut i = 0;
        while i < PASSES.len() {
            all[1 + i] = PASSES[i].0;
            i += 1;
        }
        all
    };

    /// The passes that can be switched off: the pass table's, but `lower` (and `build`,
    /// which comes before the table).
    pub const OPTIONAL: [PassId; PASSES.len() - MANDATORY_IN_TABLE] = {
        let mut optional = [PassId::Build; PASSES.len() - MANDATORY_IN_TABLE];
        let (mut i, mut n) = (0, 0);
        while i < PASSES.len() {
            if !PASSES[i].1.mandatory() {
                optional[n] = PASSES[i].0;
                n += 1;
            }
            i += 1;
        }
        optional
    };

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            PassId::Build => "build",
            PassId::FoldBias => "fold-bias",
            PassId::Hoist => "hoist",
            PassId::FuseEpilogue => "fuse-epilogue",
            PassId::PackWeights => "pack-weights",
            PassId::Block => "block",
            PassId::Lower => "lower",
            PassId::Unroll => "unroll",
            PassId::ExpandTanh => "expand-tanh",
            PassId::Legalize => "legalize",
        }
    }
}

impl fmt::Display for PassId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PassId {
    type Err = String;
    fn from_str(s: &str) -> Result<PassId, String> {
        PassId::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = PassId::ALL.iter().map(|p| p.name()).collect();
                format!("unknown pass `{s}`; the passes are: {}", names.join(", "))
            })
    }
}

/// What the pipeline runs and with which parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct PipelineConfig {
    /// Target vector width.
    pub target: Target,
    /// Passes switched off.
    pub disabled: Vec<PassId>,
    /// Unrolling parameters.
    pub unroll: UnrollConfig,
    /// Panel width in vectors (`pack-weights`), `None` for the target's
    /// ([`passes::pack_weights::pack_weights`]).
    pub panel_vectors: Option<usize>,
    /// A register block (`rows` in vectors, `cols`) to use instead of `block`'s rule.
    pub block: Option<(usize, usize)>,
    /// Lower to phase functions for multi-threaded execution instead of `forward`.
    pub parallel: bool,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            target: Target::V128,
            // Off by default: measured slower with Cranelift (see the README's performance
            // section): the epilogue's constants and temporaries, live around the reduction
            // loop, make the register allocator spill accumulators.
            disabled: vec![PassId::FuseEpilogue],
            unroll: UnrollConfig::default(),
            panel_vectors: None,
            block: None,
            parallel: false,
        }
    }
}

impl PipelineConfig {
    /// The default configuration with `disable` switched off and `enable` switched on.
    pub fn with_changes(disable: &[PassId], enable: &[PassId]) -> PipelineConfig {
        let mut config = PipelineConfig::default();
        config.disabled.extend(disable.iter().copied());
        config.disabled.retain(|p| !enable.contains(p));
        config.disabled.sort();
        config.disabled.dedup();
        config
    }

    /// Whether a pass runs.
    pub fn enabled(&self, pass: PassId) -> bool {
        !self.disabled.contains(&pass)
    }
    /// Whether the result can go to codegen.
    pub fn is_codegen_ready(&self) -> bool {
        self.enabled(PassId::ExpandTanh) && self.enabled(PassId::Legalize)
    }
}

/// What the pipeline produced: a graph if it stopped before `lower`, else verified kernel IR.
#[derive(Clone, Debug, PartialEq)]
pub enum Stage {
    /// The layer graph.
    Graph(Graph),
    /// The kernel IR (verified for the interpreter).
    Kernel(Valid),
    /// The kernel IR, verified legal for codegen: the last stage when `expand-tanh` and
    /// `legalize` ran.
    Legal(Legal),
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stage::Graph(g) => write!(f, "{g}"),
            Stage::Kernel(m) => write!(f, "{m}"),
            Stage::Legal(m) => write!(f, "{m}"),
        }
    }
}

/// Why the pipeline produced no IR: a pass produced IR it could not finish or verify (a bug
/// in rnnc), or the caller asked native code of a configuration that cannot produce it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PipelineError {
    /// The graph verifier failed after a pass (a bug in rnnc).
    #[error("after pass `{pass}`: {error}")]
    Graph {
        /// The pass.
        pass: PassId,
        /// What the verifier found.
        error: GraphVerifyError,
    },
    /// The kernel verifier failed after a pass (a bug in rnnc).
    #[error("after pass `{pass}`: {error}")]
    Kernel {
        /// The pass.
        pass: PassId,
        /// What the verifier found.
        error: VerifyError,
    },
    /// Legalization met a construct it cannot split (a bug in rnnc: in the pass that
    /// produced it).
    #[error(transparent)]
    Legalize(#[from] LegalizeError),
    /// Native code was asked of a configuration that switches off a pass it needs (the
    /// caller's fault).
    #[error("native code needs the `expand-tanh` and `legalize` passes")]
    NotLegal,
}

/// How a pass transforms the IR.
enum Transform {
    /// Graph -> graph.
    Graph(fn(Graph, &PipelineConfig) -> Graph),
    /// Graph -> kernel IR.
    Lower,
    /// Kernel IR -> kernel IR.
    Kernel(fn(Module, &PipelineConfig) -> Result<Module, PipelineError>),
}

impl Transform {
    /// Whether the pass always runs: the lowering, without which there is no kernel IR.
    const fn mandatory(&self) -> bool {
        matches!(self, Transform::Lower)
    }
}

/// The passes of [`PASSES`] that cannot be switched off.
const MANDATORY_IN_TABLE: usize = {
    let (mut i, mut n) = (0, 0);
    while i < PASSES.len() {
        if PASSES[i].1.mandatory() {
            n += 1;
        }
        i += 1;
    }
    n
};

/// Every pass after `build`, in order: the one table both levels run from.
const PASSES: [(PassId, Transform); 9] = [
    (
        PassId::FoldBias,
        Transform::Graph(|g, _| passes::fold_bias::fold_bias(g)),
    ),
    (
        PassId::Hoist,
        Transform::Graph(|g, _| passes::hoist::hoist(g)),
    ),
    (
        PassId::FuseEpilogue,
        Transform::Graph(|g, _| passes::fuse_epilogue::fuse_epilogue(g)),
    ),
    (
        PassId::PackWeights,
        Transform::Graph(|g, c| passes::pack_weights::pack_weights(g, c.panel_vectors)),
    ),
    (
        PassId::Block,
        Transform::Graph(|g, c| {
            let lanes = c.target.lanes(g.dtype) as usize;
            passes::block::block(g, c.block.map(|(r, cols)| (r * lanes, cols)))
        }),
    ),
    (PassId::Lower, Transform::Lower),
    (
        PassId::Unroll,
        Transform::Kernel(|m, c| Ok(passes::unroll::unroll(m, c.unroll))),
    ),
    (
        PassId::ExpandTanh,
        Transform::Kernel(|m, _| Ok(passes::expand_tanh::expand_tanh(m))),
    ),
    (
        PassId::Legalize,
        Transform::Kernel(|m, _| Ok(passes::legalize::legalize(m)?)),
    ),
];

/// Runs the pipeline on a model, verifying after every pass; stops after `stop_after` if
/// given. Mandatory passes (`build`, `lower`) always run; optional ones unless disabled.
/// The kernel IR is verified for codegen ([`Stage::Legal`]) once `expand-tanh` and
/// `legalize` have both run and nothing follows.
pub fn run_pipeline(
    model: &Model,
    config: &PipelineConfig,
    stop_after: Option<PassId>,
) -> Result<Stage, PipelineError> {
    let graph = build_graph(model, config.target);
    verify_graph(&graph).map_err(|error| PipelineError::Graph {
        pass: PassId::Build,
        error,
    })?;
    let mut stage = Stage::Graph(graph);
    if stop_after == Some(PassId::Build) {
        return Ok(stage);
    }
    for (pass, transform) in &PASSES {
        let pass = *pass;
        let runs = transform.mandatory() || config.enabled(pass);
        if runs {
            stage = match (stage, transform) {
                (Stage::Graph(g), Transform::Graph(f)) => {
                    let g = f(g, config);
                    verify_graph(&g).map_err(|error| PipelineError::Graph { pass, error })?;
                    Stage::Graph(g)
                }
                (Stage::Graph(g), Transform::Lower) => {
                    let module = passes::lower::lower(&g, config.parallel);
                    let valid = rnnc_kernel::verify(module)
                        .map_err(|error| PipelineError::Kernel { pass, error })?;
                    Stage::Kernel(valid)
                }
                (Stage::Kernel(m), Transform::Kernel(f)) => {
                    let module = f(m.into_module(), config)?;
                    match verified_final(pass, module, config)? {
                        Ok(legal) => Stage::Legal(legal),
                        Err(valid) => Stage::Kernel(valid),
                    }
                }
                (stage, _) => unreachable!(
                    "the table runs graph passes, then lower, then kernel passes: {pass} after {}",
                    stage_name(&stage)
                ),
            };
        }
        if stop_after == Some(pass) {
            return Ok(stage);
        }
    }
    Ok(stage)
}

fn stage_name(stage: &Stage) -> &'static str {
    match stage {
        Stage::Graph(_) => "a graph",
        Stage::Kernel(_) => "kernel IR",
        Stage::Legal(_) => "legal kernel IR",
    }
}

/// Verifies the module after a kernel pass: for codegen once it is the pipeline's last
/// pass with both `expand-tanh` and `legalize` run, else for the interpreter.
fn verified_final(
    pass: PassId,
    module: Module,
    config: &PipelineConfig,
) -> Result<Result<Legal, Valid>, PipelineError> {
    let error = |error| PipelineError::Kernel { pass, error };
    if pass == PassId::Legalize && config.is_codegen_ready() {
        Ok(Ok(rnnc_kernel::verify_legal(module).map_err(error)?))
    } else {
        Ok(Err(rnnc_kernel::verify(module).map_err(error)?))
    }
}

/// Runs the whole pipeline and returns kernel IR the interpreter runs.
pub fn compile_ir(model: &Model, config: &PipelineConfig) -> Result<Valid, PipelineError> {
    match run_pipeline(model, config, None)? {
        Stage::Kernel(m) => Ok(m),
        Stage::Legal(m) => Ok(m.into_valid()),
        Stage::Graph(_) => unreachable!("without stop_after the pipeline ends with kernel IR"),
    }
}

/// Runs the whole pipeline and returns kernel IR that codegen translates; the
/// configuration must keep `expand-tanh` and `legalize`.
pub fn compile_legal(model: &Model, config: &PipelineConfig) -> Result<Legal, PipelineError> {
    if !config.is_codegen_ready() {
        return Err(PipelineError::NotLegal);
    }
    match run_pipeline(model, config, None)? {
        Stage::Legal(m) => Ok(m),
        _ => unreachable!("a codegen-ready configuration ends with legal kernel IR"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lists derived from the pass table: every stage once, `build` first; every one
    /// optional but `build` and `lower`.
    #[test]
    fn stage_lists_follow_the_pass_table() {
        assert_eq!(PassId::ALL[0], PassId::Build);
        assert!(PassId::ALL.windows(2).all(|w| w[0] < w[1]));
        let optional: Vec<PassId> = PassId::ALL
            .into_iter()
            .filter(|p| ![PassId::Build, PassId::Lower].contains(p))
            .collect();
        assert_eq!(PassId::OPTIONAL.to_vec(), optional);
    }
}
