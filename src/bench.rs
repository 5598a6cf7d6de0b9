//! Timing `forward_into` on a benchmark configuration: what `rnnc bench` reports.
//!
//! One configuration: compile (the median of three compiles is reported), pack weights drawn
//! by torch's initialization, draw an input, warm up, then time batches of calls sized to
//! take about 2 ms each for about `seconds`, and report the median time per call.

use std::time::{Duration, Instant};

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rnnc_spec::{Tensor, TensorView, Weights};

use crate::bench_config::BenchConfig;
use crate::{CompileOptions, CompiledRnn, Error, ForwardContext};

/// How long to measure.
#[derive(Clone, Copy, Debug)]
pub struct BenchSettings {
    /// Time spent warming up.
    pub warmup: Duration,
    /// Time spent measuring.
    pub measure: Duration,
    /// Worker threads per call.
    pub threads: usize,
}

impl Default for BenchSettings {
    fn default() -> Self {
        BenchSettings {
            warmup: Duration::from_millis(300),
            measure: Duration::from_secs(1),
            threads: 1,
        }
    }
}

/// The result for one configuration.
#[derive(Clone, Debug, PartialEq)]
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
    /// Timed calls.
    pub calls: usize,
}

impl BenchResult {
    /// One JSON object on one line.
    pub fn to_json(&self) -> String {
        format!(
            "{{\"name\": \"{}\", \"median_us\": {:.3}, \"gflops\": {:.3}, \"compile_ms\": {:.3}, \"flops\": {}, \"threads\": {}, \"calls\": {}}}",
            self.name,
            self.median_us,
            self.gflops,
            self.compile_ms,
            self.flops,
            self.threads,
            self.calls
        )
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Compiles, packs and times one configuration.
pub fn bench(
    config: &BenchConfig,
    options: &CompileOptions,
    settings: &BenchSettings,
) -> Result<BenchResult, Error> {
    let model = config.model().map_err(Error::Options)?;
    let mut options = options.clone();
    options.threads = settings.threads;
    let mut compiles = Vec::new();
    let mut rnn = None;
    for _ in 0..3 {
        let start = Instant::now();
        rnn = Some(CompiledRnn::with_options(&model, &options)?);
        compiles.push(start.elapsed().as_secs_f64() * 1e3);
    }
    let rnn = rnn.expect("compiled three times");
    let packed = rnn.pack(&Weights::init(&model, 0))?;
    let (l, n) = (config.seq_len, config.batch);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let x: Vec<f32> = (0..l * n * model.input_size())
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    let shape = [l, n, model.input_size()];
    let input = TensorView::new(&shape, &x)?;
    let mut output = Tensor::<f32>::zeros(vec![l, n, model.output_size()]);
    let mut h_n = Tensor::<f32>::zeros(vec![
        model.num_layers() * model.num_directions(),
        n,
        model.hidden_size(),
    ]);
    let mut ctx = ForwardContext::new();
    ctx.reserve(&rnn, l, n)?;
    let mut call = || {
        rnn.forward_into(
            &packed,
            &mut ctx,
            input,
            None,
            None,
            output.view_mut(),
            h_n.view_mut(),
        )
    };
    // Warm up, and learn how many calls take about 2 ms.
    let start = Instant::now();
    let mut calls = 0u32;
    while start.elapsed() < settings.warmup || calls < 3 {
        call()?;
        calls += 1;
    }
    let per_call = start.elapsed().as_secs_f64() / calls as f64;
    let batch = ((2e-3 / per_call).ceil() as u32).max(1);
    let mut samples = Vec::new();
    let start = Instant::now();
    while start.elapsed() < settings.measure || samples.len() < 11 {
        let t = Instant::now();
        for _ in 0..batch {
            call()?;
        }
        samples.push(t.elapsed().as_secs_f64() / batch as f64);
    }
    let median_s = median(samples.clone());
    let flops = model.flops(l, n);
    Ok(BenchResult {
        name: config.name.clone(),
        median_us: median_s * 1e6,
        gflops: flops as f64 / median_s / 1e9,
        compile_ms: median(compiles),
        flops,
        threads: settings.threads,
        calls: samples.len() * batch as usize,
    })
}
