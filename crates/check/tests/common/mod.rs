//! The model space of the equivalence properties: proptest strategies for models, calls
//! and compile options, and the comparisons the properties make.
//!
//! A [`ModelCase`] is the structure of a case (the spec and the call's shape), which
//! proptest generates and shrinks, plus a seed from which its data (weights, input, `h0`,
//! lengths) are drawn: shrinking makes the model and the call small, the seed keeps the
//! data reproducible. A failing property prints the case as the spec file and call that
//! reproduce it, and proptest saves its seed in `tests/NAME.proptest-regressions`, which is
//! replayed first on every later run.
//!
//! Sizes reach a few hundred and sequences forty steps; small ones are likelier, and a
//! budget on the multiply-adds of a case keeps the interpreter's runs short.
//!
//! The cell modules (`torch.nn.RNNCell`, `LSTMCell`, `GRUCell`) are in the space as torch's
//! users call them: a case of one is a stepped loop (`h = cell(x[t], h)`) of `seq_len`
//! calls, each on `(N, H_in)` (or `(H_in)`), the states carried; [`CaseData::native`],
//! [`CaseData::interp`] and [`CaseData::engine`] run either form.

// Each test crate that includes this module (`mod common;`) uses part of it; the rest
// would be dead code in that crate.
#![allow(dead_code)]

use proptest::prelude::*;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rnnc::ir::passes::unroll::UnrollConfig;
use rnnc::ir::{PassId, PipelineConfig};
use rnnc::kernel::Target;
use rnnc::{
    CellKind, CompileOptions, CompiledRnn, DType, Element, Model, Nonlinearity, PackedWeights,
    RnnSpec, State, StateKind, StateView, Tensor, TensorView, Weights,
};
use rnnc_check::Engine;

/// The proptest configuration of a property: `PROPTEST_CASES` when set (a soak run:
/// `PROPTEST_CASES=5000 cargo test --release --test jit_vs_interp`), else `default_cases`,
/// sized so that the whole suite fits CI's time budget.
pub fn config(default_cases: u32) -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = default_cases;
    }
    // `tests/NAME.proptest-regressions`, beside the test.
    config.failure_persistence = Some(Box::new(
        proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
    ));
    config
}

/// Most multiply-adds a case may take (the interpreter runs a few million a second).
const BUDGET: u64 = 12_000_000;

/// The structure of a case: a model and the shape of one call.
#[derive(Clone)]
pub struct ModelCase {
    /// The spec (validated when the case is made).
    pub spec: RnnSpec,
    /// `L`.
    pub seq_len: usize,
    /// `N` (1 when unbatched).
    pub batch: usize,
    /// Input `(L, H_in)` instead of 3-D.
    pub unbatched: bool,
    /// Whether the call passes `h0`.
    pub has_h0: bool,
    /// Whether the call passes lengths (batched calls of sequence modules only).
    pub has_lengths: bool,
    /// Seed of the weights, the input, `h0` and the lengths.
    pub seed: u64,
}

impl std::fmt::Debug for ModelCase {
    /// What reproduces the case: the spec file, the call, and where the data come from.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let data = self.data();
        writeln!(f, "\n# the spec (rnnc SPEC.toml):")?;
        write!(f, "{}", self.spec)?;
        writeln!(
            f,
            "# the call: input {:?}, initial states {:?}, lengths {:?}",
            data.input_shape, data.hx_shapes, data.lengths
        )?;
        write!(
            f,
            "# the data: Weights::init(&model, {0}); input and initial states from ChaCha8 seeded {0} \
             (tests/common/mod.rs, ModelCase::data)",
            self.seed
        )
    }
}

/// A case's model, weights and call arguments.
pub struct CaseData {
    pub model: Model,
    pub weights: Weights,
    pub input_shape: Vec<usize>,
    pub input: Vec<f64>,
    /// The initial states' shapes and values, one per state of the cell (`h` first), or
    /// none.
    pub hx_shapes: Vec<Vec<usize>>,
    pub hx: Vec<Vec<f64>>,
    pub lengths: Option<Vec<usize>>,
}

impl ModelCase {
    /// The model, weights and arguments the structure and the seed determine.
    pub fn data(&self) -> CaseData {
        let model = self.spec.validate().expect("generated specs are valid");
        let weights = Weights::init(&model, self.seed);
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ 0x5eed);
        let (l, n) = (self.seq_len, self.batch);
        // A cell module's loop steps over time-major rows; its states have no layer dim.
        let cell = model.is_cell_module();
        let input_shape = if self.unbatched {
            vec![l, model.input_size()]
        } else if model.batch_first() {
            vec![n, l, model.input_size()]
        } else {
            vec![l, n, model.input_size()]
        };
        let count: usize = input_shape.iter().product();
        let input = (0..count).map(|_| rng.random_range(-2.0..2.0)).collect();
        let rows = model.num_layers() * model.num_directions();
        let hx_shapes: Vec<Vec<usize>> = if self.has_h0 {
            model
                .states()
                .iter()
                .map(|&kind| {
                    let width = model.state_size(kind);
                    match (cell, self.unbatched) {
                        (true, true) => vec![width],
                        (true, false) => vec![n, width],
                        (false, true) => vec![rows, width],
                        (false, false) => vec![rows, n, width],
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        let hx = hx_shapes
            .iter()
            .map(|shape| {
                let count: usize = shape.iter().product();
                (0..count).map(|_| rng.random_range(-1.0..1.0)).collect()
            })
            .collect();
        let lengths = (self.has_lengths && !self.unbatched && !cell)
            .then(|| (0..n).map(|_| rng.random_range(1..=l)).collect());
        CaseData {
            model,
            weights,
            input_shape,
            input,
            hx_shapes,
            hx,
            lengths,
        }
    }

    /// Multiply-adds of the call, roughly.
    fn cost(&self) -> u64 {
        let model = self.spec.validate().expect("generated specs are valid");
        model.flops(self.seq_len, self.batch) / 2
    }
}

/// A size: usually small, sometimes a few hundred (shrinks toward 1).
fn size() -> impl Strategy<Value = i64> {
    prop_oneof![4 => 1i64..=24, 2 => 25i64..=96, 1 => 97i64..=300]
}

/// Cases of every flag and call form within the interpreter's budget.
pub fn model_case() -> impl Strategy<Value = ModelCase> {
    let spec = (
        size(),
        size(),
        1i64..=3,
        any::<bool>(),
        prop::bool::weighted(0.8),
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.35),
        prop_oneof![
            4 => Just(CellKind::Rnn),
            2 => Just(CellKind::Lstm),
            2 => Just(CellKind::Gru),
            1 => Just(CellKind::RnnCell),
            1 => Just(CellKind::LstmCell),
            1 => Just(CellKind::GruCell),
        ],
        // An LSTM's projection, as a fraction of `hidden_size` (none half the time).
        prop_oneof![1 => Just(0.0), 1 => 0.0f64..1.0],
    )
        .prop_map(|(i, h, l, relu, bias, bf, bidir, f64, cell, proj)| {
            let mut spec = RnnSpec::builder(i, h).cell(cell);
            if cell.sequence_module() == CellKind::Rnn {
                spec = spec.nonlinearity(if relu {
                    Nonlinearity::Relu
                } else {
                    Nonlinearity::Tanh
                });
            }
            if cell == CellKind::Lstm {
                spec = spec.proj_size((proj * h as f64) as i64);
            }
            if !cell.is_cell_module() {
                // A sequence module's arguments; a cell module takes none of them.
                spec = spec.num_layers(l).batch_first(bf).bidirectional(bidir);
            }
            spec.bias(bias)
                .dtype(if f64 { DType::F64 } else { DType::F32 })
                .name("case")
                .into()
        });
    let call = (
        prop_oneof![3 => 1usize..=8, 1 => 9usize..=40],
        prop_oneof![3 => 1usize..=4, 1 => 5usize..=12],
        prop::bool::weighted(0.15),
        any::<bool>(),
        prop::bool::weighted(0.35),
        any::<u64>(),
    );
    (spec, call)
        .prop_map(
            |(spec, (seq_len, batch, unbatched, has_h0, has_lengths, seed))| ModelCase {
                spec,
                seq_len,
                batch: if unbatched { 1 } else { batch },
                unbatched,
                has_h0,
                has_lengths,
                seed,
            },
        )
        .prop_filter("within the interpreter's budget", |c| c.cost() <= BUDGET)
}

/// A unidirectional case of a sequence module without lengths (what streams take in
/// chunks; a cell module's are the stepped loops).
pub fn stream_case() -> impl Strategy<Value = ModelCase> {
    model_case().prop_map(|mut c| {
        c.spec.cell = c.spec.cell.sequence_module();
        c.spec.bidirectional = false;
        c.has_lengths = false;
        c
    })
}

/// A case of a cell module: a stepped loop.
pub fn cell_case() -> impl Strategy<Value = ModelCase> {
    model_case().prop_map(|mut c| {
        let spec = &mut c.spec;
        spec.cell = spec.cell.cell_module();
        (
            spec.num_layers,
            spec.batch_first,
            spec.bidirectional,
            spec.proj_size,
        ) = (1, false, false, 0);
        if spec.cell != CellKind::RnnCell {
            spec.nonlinearity = None;
        }
        c.has_lengths = false;
        c
    })
}

/// The sequence module of a cell module's model (`torch.nn.LSTM(H_in, H)` for
/// `LSTMCell(H_in, H)`) and its weights, the same tensors under the layer's names
/// (`weight_ih_l0`).
pub fn sequence_module_of(model: &Model, weights: &Weights) -> (Model, Weights) {
    let mut spec = model.spec().clone();
    spec.cell = spec.cell.sequence_module();
    let sequence = spec
        .validate()
        .expect("a cell module's recurrence is a sequence module");
    fn renamed<T: Element>(weights: &Weights) -> Vec<(String, Tensor<T>)> {
        weights
            .iter()
            .map(|(p, data)| {
                let data = T::unwrap(data).expect("the weights' dtype").to_vec();
                let name = rnnc_spec::param_name(p.layer, p.direction, p.kind);
                (
                    name,
                    Tensor::new(p.shape(), data).expect("the parameter's shape"),
                )
            })
            .collect()
    }
    let tensors = match model.dtype() {
        DType::F32 => Weights::from_tensors(&sequence, renamed::<f32>(weights)),
        DType::F64 => Weights::from_tensors(&sequence, renamed::<f64>(weights)),
    };
    (sequence, tensors.expect("the same shapes"))
}

/// The targets a case may be compiled for: for native code every vector width this machine
/// runs (printing, once, the widths it lacks, whose cases are skipped), for the
/// interpreter every target rnnc knows.
pub fn targets(native: bool) -> Vec<Target> {
    if !native {
        return vec![Target::V128, Target::V256, Target::NEON];
    }
    static SKIPPED: std::sync::Once = std::sync::Once::new();
    let (runs, lacks): (Vec<u32>, Vec<u32>) = Target::VECTOR_BITS
        .into_iter()
        .partition(|&bits| rnnc::codegen::host_target(Some(bits)).is_ok());
    if !lacks.is_empty() {
        SKIPPED.call_once(|| {
            println!("native cases at {lacks:?}-bit vectors skipped: this CPU runs {runs:?} only")
        });
    }
    runs.into_iter()
        .map(|bits| rnnc::codegen::host_target(Some(bits)).expect("partitioned above"))
        .collect()
}

/// A target of [`targets`].
pub fn target(native: bool) -> impl Strategy<Value = Target> {
    prop::sample::select(targets(native))
}

/// Options that compile for `pipeline`'s target (its vector width; the JIT takes the
/// host's registers).
pub fn options_for(pipeline: PipelineConfig) -> CompileOptions {
    CompileOptions {
        vector_bits: Some(pipeline.target.vector_bits),
        pipeline,
        ..CompileOptions::default()
    }
}

/// Pipeline configurations: a target of [`targets`], optional passes off (for native
/// code, `expand-tanh` and `legalize` stay on), `fuse-epilogue` on or off, unroll factors,
/// panel widths and block shapes.
pub fn pipeline(native: bool) -> impl Strategy<Value = PipelineConfig> {
    let optional: Vec<PassId> = PassId::OPTIONAL
        .into_iter()
        .filter(|p| !native || !matches!(p, PassId::ExpandTanh | PassId::Legalize))
        .collect();
    (
        prop::sample::subsequence(optional, 0..=2),
        any::<bool>(),
        1usize..=4,
        prop::sample::select(vec![16usize, 0, 8, 32]),
        1usize..=5,
        prop::option::of(1usize..=8),
        prop::option::of((1usize..=4, 1usize..=6)),
        target(native),
    )
        .prop_map(
            |(off, fuse, time_factor, full_max, inner_factor, panel_vectors, block, target)| {
                let enable: &[PassId] = if fuse { &[PassId::FuseEpilogue] } else { &[] };
                let mut config = PipelineConfig::with_changes(&off, enable);
                config.target = target;
                config.unroll = UnrollConfig {
                    time_factor,
                    full_max,
                    inner_factor,
                };
                config.panel_vectors = panel_vectors;
                config.block = block;
                config
            },
        )
}

impl CaseData {
    /// The input in the model's dtype.
    pub fn input<T: Element>(&self) -> Vec<T> {
        self.input.iter().map(|&v| T::from_f64(v)).collect()
    }
    /// The initial states in the model's dtype (none, or one per state).
    pub fn hx<T: Element>(&self) -> Vec<Vec<T>> {
        self.hx
            .iter()
            .map(|h| h.iter().map(|&v| T::from_f64(v)).collect())
            .collect()
    }

    /// Native code: one `forward` call, or a cell module's stepped loop of
    /// [`CompiledRnn::step`]s.
    pub fn native<T: Element>(
        &self,
        rnn: &CompiledRnn,
        packed: &PackedWeights,
    ) -> Result<(Tensor<T>, State<T>), rnnc_check::Error> {
        self.with_args::<T, _>(|x, hx, lengths| {
            if self.model.is_cell_module() {
                rnnc_check::step_loop(x, hx, |x, h| Ok(rnn.step(packed, x, h)?))
            } else {
                Ok(rnn.forward(packed, x, hx, lengths)?)
            }
        })
    }

    /// The interpreter with the pipeline `config`, its schedule run as `parts` threads would
    /// when `config.parallel`: one forward pass, or a cell module's stepped loop.
    pub fn interp<T: Element>(
        &self,
        config: &PipelineConfig,
        parts: usize,
    ) -> Result<(Tensor<T>, State<T>), rnnc_check::Error> {
        let (model, weights) = (&self.model, &self.weights);
        self.with_args::<T, _>(|x, hx, lengths| {
            if model.is_cell_module() {
                rnnc_check::interp_steps(model, config, parts, weights, x, hx)
            } else {
                rnnc_check::interp_forward_parts(model, config, parts, weights, x, hx, lengths)
            }
        })
    }

    /// An engine of `rnnc verify` on `threads` threads: [`Engine::forward`], or
    /// [`Engine::steps`] for a cell module.
    pub fn engine<T: Element>(
        &self,
        engine: Engine,
        threads: usize,
    ) -> Result<(Tensor<T>, State<T>), rnnc_check::Error> {
        let (model, weights) = (&self.model, &self.weights);
        self.with_args::<T, _>(|x, hx, lengths| {
            if model.is_cell_module() {
                engine.steps(threads, model, weights, x, hx)
            } else {
                engine.forward(threads, model, weights, x, hx, lengths)
            }
        })
    }

    /// Runs `f` with views of the arguments in the model's dtype `T`.
    pub fn with_args<T: Element, R>(
        &self,
        f: impl FnOnce(TensorView<'_, T>, Option<StateView<'_, T>>, Option<&[usize]>) -> R,
    ) -> R {
        let input = self.input::<T>();
        let hx = self.hx::<T>();
        let input_view = TensorView::new(&self.input_shape, &input).expect("shape matches data");
        let views: Vec<TensorView<'_, T>> = self
            .hx_shapes
            .iter()
            .zip(&hx)
            .map(|(shape, data)| TensorView::new(shape, data).expect("shape matches data"))
            .collect();
        let hx_view = views.first().map(|&h| StateView {
            h,
            c: views.get(1).copied(),
        });
        f(input_view, hx_view, self.lengths.as_deref())
    }
}

/// A call's results by name: the output, then each final state (`h_n`, ...).
pub fn results<'a, T: Element>(
    output: &'a Tensor<T>,
    state: &'a State<T>,
) -> Vec<(&'static str, &'a Tensor<T>)> {
    let mut all = vec![("output", output)];
    for kind in StateKind::ALL {
        if let Some(t) = state.get(kind) {
            all.push((kind.last(), t));
        }
    }
    all
}

/// The first element where `got` is not within `tol * (1 + |ref|)` of `reference`.
pub fn first_difference<T: Element>(
    got: &Tensor<T>,
    reference: &Tensor<T>,
    tol: f64,
) -> Option<String> {
    if got.shape() != reference.shape() {
        return Some(format!(
            "shape {:?}, expected {:?}",
            got.shape(),
            reference.shape()
        ));
    }
    got.data()
        .iter()
        .zip(reference.data())
        .enumerate()
        .find(|(_, (g, r))| rnnc_check::verify::scaled_error(g.to_f64(), r.to_f64()) > tol)
        .map(|(i, (g, r))| format!("element {i}: got {g}, expected {r}"))
}

/// The first element whose bits differ (NaNs of any payload count as equal).
pub fn first_bit_difference<T: Element>(got: &Tensor<T>, expected: &Tensor<T>) -> Option<String> {
    if got.shape() != expected.shape() {
        return Some(format!(
            "shape {:?}, expected {:?}",
            got.shape(),
            expected.shape()
        ));
    }
    got.data()
        .iter()
        .zip(expected.data())
        .enumerate()
        .find(|(_, (g, e))| {
            let (g, e) = (g.to_f64(), e.to_f64());
            !(g.to_bits() == e.to_bits() || (g.is_nan() && e.is_nan()))
        })
        .map(|(i, (g, e))| {
            format!(
                "element {i}: got {g} ({:#x}), expected {e} ({:#x})",
                g.to_f64().to_bits(),
                e.to_f64().to_bits()
            )
        })
}
