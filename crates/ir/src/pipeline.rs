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

use rnnc_spec::Model;

use crate::build::build_graph;
use crate::graph::{Graph, GraphVerifyError, verify_graph};
use crate::kernel::Module;
use crate::passes;
use crate::passes::legalize::LegalizeError;
use crate::passes::unroll::UnrollConfig;
use crate::types::Target;
use crate::verify::{Level, VerifyError, verify_module};

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
    /// Every stage, in pipeline order.
    pub const ALL: [PassId; 10] = [
        PassId::Build,
        PassId::FoldBias,
        PassId::Hoist,
        PassId::FuseEpilogue,
        PassId::PackWeights,
        PassId::Block,
        PassId::Lower,
        PassId::Unroll,
        PassId::ExpandTanh,
        PassId::Legalize,
    ];

    /// The passes that can be switched off (all but `build` and `lower`).
    pub const OPTIONAL: [PassId; 8] = [
        PassId::FoldBias,
        PassId::Hoist,
        PassId::FuseEpilogue,
        PassId::PackWeights,
        PassId::Block,
        PassId::Unroll,
        PassId::ExpandTanh,
        PassId::Legalize,
    ];

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
    /// Panel width in vectors (`pack-weights`), default [`passes::pack_weights::PANEL_VECTORS`].
    pub panel_vectors: usize,
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
            panel_vectors: passes::pack_weights::PANEL_VECTORS,
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

/// What the pipeline produced: a graph if it stopped before `lower`, else kernel IR.
#[derive(Clone, Debug, PartialEq)]
pub enum Stage {
    /// The layer graph.
    Graph(Graph),
    /// The kernel IR.
    Kernel(Module),
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stage::Graph(g) => write!(f, "{g}"),
            Stage::Kernel(m) => write!(f, "{m}"),
        }
    }
}

/// A pass produced invalid IR: always a bug in rnnc.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PipelineError {
    /// The graph verifier failed after a pass.
    #[error("after pass `{pass}`: {error}")]
    Graph {
        /// The pass.
        pass: PassId,
        /// What the verifier found.
        error: GraphVerifyError,
    },
    /// The kernel verifier failed after a pass.
    #[error("after pass `{pass}`: {error}")]
    Kernel {
        /// The pass.
        pass: PassId,
        /// What the verifier found.
        error: VerifyError,
    },
    /// Legalization met a construct it cannot split.
    #[error(transparent)]
    Legalize(#[from] LegalizeError),
}

/// Runs the pipeline on a model, verifying after every pass; stops after `stop_after` if
/// given.
pub fn run_pipeline(
    model: &Model,
    config: &PipelineConfig,
    stop_after: Option<PassId>,
) -> Result<Stage, PipelineError> {
    let done = |pass: PassId| stop_after == Some(pass);
    let check_graph = |pass: PassId, g: Graph| -> Result<Graph, PipelineError> {
        verify_graph(&g).map_err(|error| PipelineError::Graph { pass, error })?;
        Ok(g)
    };
    let mut graph = check_graph(PassId::Build, build_graph(model, config.target))?;
    if done(PassId::Build) {
        return Ok(Stage::Graph(graph));
    }
    let lanes = config.target.lanes(graph.dtype) as usize;
    let graph_passes: [(PassId, &dyn Fn(Graph) -> Graph); 5] = [
        (PassId::FoldBias, &passes::fold_bias::fold_bias),
        (PassId::Hoist, &passes::hoist::hoist),
        (PassId::FuseEpilogue, &passes::fuse_epilogue::fuse_epilogue),
        (PassId::PackWeights, &|g| {
            passes::pack_weights::pack_weights(g, config.panel_vectors)
        }),
        (PassId::Block, &|g| {
            passes::block::block(g, config.block.map(|(r, c)| (r * lanes, c)))
        }),
    ];
    for (pass, run) in graph_passes {
        if config.enabled(pass) {
            graph = check_graph(pass, run(graph))?;
        }
        if done(pass) {
            return Ok(Stage::Graph(graph));
        }
    }
    let check = |pass: PassId, m: Module, level: Level| -> Result<Module, PipelineError> {
        verify_module(&m, level).map_err(|error| PipelineError::Kernel { pass, error })?;
        Ok(m)
    };
    let mut module = check(
        PassId::Lower,
        passes::lower::lower(&graph, config.parallel),
        Level::Any,
    )?;
    if done(PassId::Lower) {
        return Ok(Stage::Kernel(module));
    }
    if config.enabled(PassId::Unroll) {
        module = check(
            PassId::Unroll,
            passes::unroll::unroll(module, config.unroll),
            Level::Any,
        )?;
    }
    if done(PassId::Unroll) {
        return Ok(Stage::Kernel(module));
    }
    if config.enabled(PassId::ExpandTanh) {
        module = check(
            PassId::ExpandTanh,
            passes::expand_tanh::expand_tanh(module),
            Level::Any,
        )?;
    }
    if done(PassId::ExpandTanh) {
        return Ok(Stage::Kernel(module));
    }
    if config.enabled(PassId::Legalize) {
        let level = if config.enabled(PassId::ExpandTanh) {
            Level::Legal
        } else {
            Level::Any
        };
        module = check(PassId::Legalize, passes::legalize::legalize(module)?, level)?;
    }
    Ok(Stage::Kernel(module))
}

/// Runs the whole pipeline and returns the kernel IR.
pub fn compile_ir(model: &Model, config: &PipelineConfig) -> Result<Module, PipelineError> {
    match run_pipeline(model, config, None)? {
        Stage::Kernel(m) => Ok(m),
        Stage::Graph(_) => unreachable!("without stop_after the pipeline ends with kernel IR"),
    }
}
