//! Timing `forward_into` on a benchmark configuration: what `rnnc bench` reports.
//!
//! One configuration: compile (the median of three compiles is reported), pack weights drawn
//! by torch's initialization, draw an input, warm up, then time batches of calls sized to
//! take about 10 ms each for about `seconds`, and report the median time per call.
//!
//! Several thread counts are measured in one interleaved run: one batch of each in turn,
//! so that every variant sees the same noise of a shared machine and their ratio means
//! something even when absolute times drift. Batches are long enough that the first call
//! of each, which finds the caches filled by the other variant, weighs little.
//!
//! A configuration's model was validated when it was loaded ([`BenchConfig::load`], whose
//! [`BenchError`](crate::BenchError) says what is wrong with a file): timing fails only for
//! the runtime's reasons, [`rnnc::Error`].

use std::time::{Duration, Instant};

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rnnc_spec::{CallShape, State, Tensor, Weights};

use crate::config::BenchConfig;
use rnnc::{CompileOptions, CompiledRnn, Error, ForwardContext, PackedWeights};

/// How long to measure.
#[derive(Clone, Debug)]
pub struct BenchSettings {
    /// Time spent warming up each variant.
    pub warmup: Duration,
    /// Time spent measuring (all variants together).
    pub measure: Duration,
    /// Threads per call of each variant, measured interleaved.
    pub threads: Vec<usize>,
}

impl Default for BenchSettings {
    fn default() -> Self {
        BenchSettings {
            warmup: Duration::from_millis(300),
            measure: Duration::from_secs(1),
            threads: vec![1],
        }
    }
}

/// The result for one configuration.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct BenchResult {
    /// The configuration's name.
    pub name: String,
    /// Median wall time of one `forward_into` call, in microseconds.
    pub median_us: f64,
    /// FLOPs of one call divided by the median time.
    pub gflops: f64,
    /// Median of three compile times, in milliseconds.
    pub compile_ms: f64,
    /// FLOPs of one call.
    pub flops: u64,
    /// Worker threads per call.
    pub threads: usize,
    /// Bits of the compiled code's vectors.
    pub vector_bits: u32,
    /// Timed calls.
    pub calls: usize,
}

impl BenchResult {
    /// One JSON object on one line (the fields by name).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a bench result serializes")
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The length of one timed batch of calls.
pub const BATCH_SECONDS: f64 = 10e-3;

/// A compiled configuration with its buffers (random weights and input), ready to be
/// timed: what `rnnc bench` and the criterion benches call.
pub struct Prepared {
    rnn: CompiledRnn,
    packed: PackedWeights,
    ctx: ForwardContext,
    input: Tensor<f32>,
    output: Tensor<f32>,
    state: State<f32>,
    threads: usize,
    compile_ms: f64,
    /// Calls per timed batch (about [`BATCH_SECONDS`]).
    batch: u32,
    samples: Vec<f64>,
}

impl Prepared {
    /// Compiles (three times, for the median compile time) with `threads`, packs seeded
    /// random weights and draws a random input of the configuration's shape.
    pub fn new(
        config: &BenchConfig,
        options: &CompileOptions,
        threads: usize,
    ) -> Result<Prepared, Error> {
        let model = config.model();
        let options = CompileOptions {
            threads,
            ..options.clone()
        };
        let mut compiles = Vec::new();
        let mut rnn = None;
        for _ in 0..3 {
            let start = Instant::now();
            rnn = Some(CompiledRnn::with_options(model, &options)?);
            compiles.push(start.elapsed().as_secs_f64() * 1e3);
        }
        let rnn = rnn.expect("compiled three times");
        let packed = rnn.pack(&Weights::init(model, 0))?;
        let (l, n) = (config.seq_len, config.batch);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let x: Vec<f32> = (0..l * n * model.input_size())
            .map(|_| rng.random_range(-1.0..1.0))
            .collect();
        let mut ctx = ForwardContext::new();
        ctx.reserve(&rnn, l, n)?;
        Ok(Prepared {
            input: Tensor::new(vec![l, n, model.input_size()], x)?,
            output: Tensor::zeros(vec![l, n, model.output_size()]),
            state: State::try_zeros(&CallShape::check(
                model,
                &[l, n, model.input_size()],
                None,
                None,
            )?)?,
            rnn,
            packed,
            ctx,
            threads,
            compile_ms: median(compiles),
            batch: 1,
            samples: Vec::new(),
        })
    }

    /// One `forward_into` call.
    pub fn call(&mut self) -> Result<(), Error> {
        self.rnn.forward_into(
            &self.packed,
            &mut self.ctx,
            self.input.view(),
            None,
            None,
            self.output.view_mut(),
            self.state.view_mut(),
        )
    }

    /// Warms up and learns how many calls take about [`BATCH_SECONDS`].
    fn warm_up(&mut self, time: Duration) -> Result<(), Error> {
        let start = Instant::now();
        let mut calls = 0u32;
        while start.elapsed() < time || calls < 3 {
            self.call()?;
            calls += 1;
        }
        let per_call = start.elapsed().as_secs_f64() / calls as f64;
        self.batch = ((BATCH_SECONDS / per_call).ceil() as u32).max(1);
        Ok(())
    }

    /// Times one batch of calls.
    fn sample(&mut self) -> Result<(), Error> {
        let t = Instant::now();
        for _ in 0..self.batch {
            self.call()?;
        }
        self.samples
            .push(t.elapsed().as_secs_f64() / self.batch as f64);
        Ok(())
    }
}

/// Per-call latencies when several threads call one compiled model at once.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Contention {
    /// The configuration's name.
    pub name: String,
    /// Threads per call the model was compiled for.
    pub threads: usize,
    /// Threads calling it at once.
    pub callers: usize,
    /// Median wall time of one call, in microseconds.
    pub median_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// The slowest call.
    pub max_us: f64,
    /// Calls timed, over all callers.
    pub calls: usize,
}

impl Contention {
    /// One JSON object on one line (the fields by name).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a contention result serializes")
    }
}

/// Compiles one configuration for `threads` threads per call, then has `callers` threads
/// call it at once for `settings.measure` (after `settings.warmup`), each with its own
/// buffers, timing every call: the tail latency of a model shared by more callers than
/// the machine has cores.
pub fn bench_callers(
    config: &BenchConfig,
    options: &CompileOptions,
    threads: usize,
    callers: usize,
    settings: &BenchSettings,
) -> Result<Contention, Error> {
    let prepared = Prepared::new(config, options, threads)?;
    let (rnn, packed, input) = (&prepared.rnn, &prepared.packed, &prepared.input);
    let (output, state) = (&prepared.output, &prepared.state);
    let (l, n) = (config.seq_len, config.batch);
    let start = Instant::now() + settings.warmup;
    let end = start + settings.measure;
    let per_caller = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..callers)
            .map(|_| {
                scope.spawn(move || -> Result<Vec<f64>, Error> {
                    let mut ctx = ForwardContext::new();
                    ctx.reserve(rnn, l, n)?;
                    let mut output = output.clone();
                    let mut state = state.clone();
                    let mut times = Vec::with_capacity(1 << 16);
                    loop {
                        let t = Instant::now();
                        if t >= end {
                            return Ok(times);
                        }
                        rnn.forward_into(
                            packed,
                            &mut ctx,
                            input.view(),
                            None,
                            None,
                            output.view_mut(),
                            state.view_mut(),
                        )?;
                        if t >= start {
                            times.push(t.elapsed().as_secs_f64() * 1e6);
                        }
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a caller thread panicked"))
            .collect::<Result<Vec<_>, Error>>()
    })?;
    let mut all: Vec<f64> = per_caller.into_iter().flatten().collect();
    all.sort_by(f64::total_cmp);
    let at = |q: f64| all[((all.len() - 1) as f64 * q).round() as usize];
    Ok(Contention {
        name: config.name.clone(),
        threads,
        callers,
        median_us: at(0.5),
        p99_us: at(0.99),
        max_us: at(1.0),
        calls: all.len(),
    })
}

/// Compiles, packs and times one configuration, once per thread count of `settings`
/// (interleaved); one result per thread count, in their order.
pub fn bench(
    config: &BenchConfig,
    options: &CompileOptions,
    settings: &BenchSettings,
) -> Result<Vec<BenchResult>, Error> {
    let mut variants = settings
        .threads
        .iter()
        .map(|&t| Prepared::new(config, options, t))
        .collect::<Result<Vec<_>, _>>()?;
    for v in &mut variants {
        v.warm_up(settings.warmup)?;
    }
    let start = Instant::now();
    while start.elapsed() < settings.measure || variants.iter().any(|v| v.samples.len() < 11) {
        for v in &mut variants {
            v.sample()?;
        }
    }
    let flops = config.flops();
    Ok(variants
        .into_iter()
        .map(|v| {
            let median_s = median(v.samples.clone());
            BenchResult {
                name: config.name.clone(),
                median_us: median_s * 1e6,
                gflops: flops as f64 / median_s / 1e9,
                compile_ms: v.compile_ms,
                flops,
                threads: v.threads,
                vector_bits: v.rnn.ir().target.vector_bits,
                calls: v.samples.len() * v.batch as usize,
            }
        })
        .collect())
}
