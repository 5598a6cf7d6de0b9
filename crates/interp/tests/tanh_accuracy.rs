//! The worst error of `expand-tanh` (tanh and sigmoid), measured by running the expansion
//! itself in the interpreter (so the number is the kernels' own, not a model's of them).
//!
//! f32: every 257th non-negative float here (the expansion is odd); the exhaustive sweep
//! over all 2^31 non-negative floats is `cargo test --release -p rnnc-interp --test
//! tanh_accuracy -- --ignored` (a few minutes), whose result docs/ir.md reports.
//! f64: log-spaced samples over the whole range against `f64::tanh`.
//! sigmoid, which is not odd: every 257th finite f32 of both signs (exhaustive with
//! `--ignored`), absolute error against f64's `1 / (1 + exp(-x))`; f64 on log-spaced
//! samples of both signs.

use rnnc_interp::{Arg, InterpError, run_function};
use rnnc_ir::passes::expand_tanh::expand_tanh;
use rnnc_kernel::{Valid, parse_module, verify};

/// Runs `@f` of `module`.
fn run(module: &Valid, args: &mut [Arg<'_>]) -> Result<(), InterpError> {
    run_function(module, "f", args)
}

const LANES: usize = 64;

/// `y[i] = op(x[i])` over chunks of LANES, after `expand-tanh`; `op` is `tanh` or `sigmoid`.
fn kernel(op: &str, ty: &str) -> Valid {
    let text = format!(
        "module t {ty} vector=128 registers=16 packed=0 work=0
func @f(@x: {ty} readonly, @y: {ty}, %n: i64) {{
  for %c in 0..%n {{
    %i: i64 = imul %c, {LANES}
    %v: {ty}x{LANES} = load.{ty}x{LANES} @x[%i]
    %v = {op} %v
    store @y[%i], %v
  }}
}}"
    );
    verify(expand_tanh(parse_module(&text).unwrap())).unwrap()
}

fn tanh_f32(x: &[f32]) -> Vec<f32> {
    eval_f32("tanh", x)
}

fn tanh_f64(x: &[f64]) -> Vec<f64> {
    eval_f64("tanh", x)
}

fn eval_f32(op: &str, x: &[f32]) -> Vec<f32> {
    let mut padded = x.to_vec();
    padded.resize(x.len().div_ceil(LANES) * LANES, 0.0);
    let mut y = vec![0f32; padded.len()];
    let chunks = (padded.len() / LANES) as i64;
    run(
        &kernel(op, "f32"),
        &mut [Arg::F32(&padded), Arg::F32Mut(&mut y), Arg::Scalar(chunks)],
    )
    .unwrap();
    y.truncate(x.len());
    y
}

fn eval_f64(op: &str, x: &[f64]) -> Vec<f64> {
    let mut padded = x.to_vec();
    padded.resize(x.len().div_ceil(LANES) * LANES, 0.0);
    let mut y = vec![0f64; padded.len()];
    let chunks = (padded.len() / LANES) as i64;
    run(
        &kernel(op, "f64"),
        &mut [Arg::F64(&padded), Arg::F64Mut(&mut y), Arg::Scalar(chunks)],
    )
    .unwrap();
    y.truncate(x.len());
    y
}

/// Distance in units in the last place between two finite floats of the same sign class.
fn ulps32(a: f32, b: f32) -> u64 {
    let key = |v: f32| {
        let bits = v.to_bits() as i64;
        if bits < 0x8000_0000 {
            bits
        } else {
            0x8000_0000 - bits
        }
    };
    (key(a) - key(b)).unsigned_abs()
}

/// (worst ulps, worst absolute error, where) over every `step`-th non-negative finite f32.
fn sweep_f32(step: usize) -> (u64, f64, f32) {
    let mut worst = (0u64, 0f64, 0f32);
    let block = 1 << 20;
    let mut start = 0u32;
    while start < 0x7f80_0000 {
        let x: Vec<f32> = (start..0x7f80_0000u32.min(start + (block * step) as u32))
            .step_by(step)
            .map(f32::from_bits)
            .collect();
        start = start.saturating_add((block * step) as u32);
        for (xi, yi) in x.iter().zip(tanh_f32(&x)) {
            let exact = (*xi as f64).tanh();
            let u = ulps32(yi, exact as f32);
            if u > worst.0 {
                worst = (u, (yi as f64 - exact).abs(), *xi);
            }
            worst.1 = worst.1.max((yi as f64 - exact).abs());
        }
    }
    worst
}

#[test]
fn tanh_f32_error_is_bounded() {
    let (ulps, abs, at) = sweep_f32(257);
    println!("f32 tanh: worst {ulps} ulp (at {at:e}), worst absolute error {abs:e}");
    assert!(ulps <= 6, "worst {ulps} ulp at {at:e}");
    assert!(abs <= 4e-7, "worst absolute error {abs:e}");
}

#[test]
#[ignore = "exhaustive: every non-negative f32, minutes in release mode"]
fn tanh_f32_error_exhaustive() {
    let (ulps, abs, at) = sweep_f32(1);
    println!(
        "f32 tanh, all 2^31 non-negative floats: worst {ulps} ulp (at {at:e}), worst absolute error {abs:e}"
    );
    assert!(ulps <= 6);
}

#[test]
fn tanh_special_values_follow_torch() {
    let x = [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        0.0,
        -0.0,
        1e-30,
        -1e-30,
        20.0,
        -20.0,
        8.0,
    ];
    let y = tanh_f32(&x);
    assert!(y[0].is_nan());
    assert_eq!(&y[1..3], [1.0, -1.0]);
    assert_eq!(y[3].to_bits(), 0f32.to_bits());
    assert_eq!(y[4].to_bits(), (-0f32).to_bits());
    assert_eq!(&y[5..], [1e-30, -1e-30, 1.0, -1.0, 1.0]);
    // The expansion is odd: tanh(-x) = -tanh(x) bit for bit.
    let xs: Vec<f32> = (0..10_000).map(|i| i as f32 * 1e-3).collect();
    let neg: Vec<f32> = xs.iter().map(|v| -v).collect();
    for (p, n) in tanh_f32(&xs).iter().zip(tanh_f32(&neg)) {
        assert_eq!(p.to_bits(), (-n).to_bits());
    }
    let z = tanh_f64(&[
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.0,
        30.0,
        -30.0,
    ]);
    assert!(z[0].is_nan());
    assert_eq!(&z[1..3], [1.0, -1.0]);
    assert_eq!(z[3].to_bits(), (-0f64).to_bits());
    assert_eq!(&z[4..], [1.0, -1.0]);
}

#[test]
fn tanh_f64_is_accurate() {
    // Log-spaced over [1e-300, 25], both signs, plus the branch point at 0.625.
    let mut x: Vec<f64> = (0..200_000)
        .map(|i| 10f64.powf(-300.0 + 301.4 * i as f64 / 200_000.0))
        .collect();
    x.extend((0..10_000).map(|i| 0.6 + 0.05 * i as f64 / 10_000.0));
    x.extend(x.clone().iter().map(|v| -v));
    let worst = worst_f64(&x, &tanh_f64(&x), |x, y| ((y - x.tanh()) / x.tanh()).abs());
    println!(
        "f64 tanh: worst relative error {:e} at {:e}",
        worst.0, worst.1
    );
    assert!(
        worst.0 < 1e-15,
        "worst relative error {:e} at {:e}",
        worst.0,
        worst.1
    );
}

/// (worst error, where) over `x` and the results `y`, by `error(x, y)`.
fn worst_f64(x: &[f64], y: &[f64], error: impl Fn(f64, f64) -> f64) -> (f64, f64) {
    let mut worst = (0f64, 0f64);
    for (&xi, &yi) in x.iter().zip(y) {
        let e = error(xi, yi);
        if e > worst.0 {
            worst = (e, xi);
        }
    }
    worst
}

fn sigmoid_exact(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// (worst absolute error, where) of the f32 sigmoid over every `step`-th finite f32 of
/// both signs.
fn sigmoid_sweep_f32(step: usize) -> (f64, f32) {
    let mut worst = (0f64, 0f32);
    let block = 1 << 20;
    for sign in [0u32, 0x8000_0000] {
        let mut start = 0u32;
        while start < 0x7f80_0000 {
            let x: Vec<f32> = (start..0x7f80_0000u32.min(start + (block * step) as u32))
                .step_by(step)
                .map(|bits| f32::from_bits(bits | sign))
                .collect();
            start = start.saturating_add((block * step) as u32);
            for (xi, yi) in x.iter().zip(eval_f32("sigmoid", &x)) {
                let err = (yi as f64 - sigmoid_exact(*xi as f64)).abs();
                if err > worst.0 {
                    worst = (err, *xi);
                }
            }
        }
    }
    worst
}

#[test]
fn sigmoid_f32_error_is_bounded() {
    let (abs, at) = sigmoid_sweep_f32(257);
    println!("f32 sigmoid: worst absolute error {abs:e} (at {at:e})");
    assert!(abs <= 2.5e-7, "worst absolute error {abs:e} at {at:e}");
}

#[test]
#[ignore = "exhaustive: every finite f32, minutes in release mode"]
fn sigmoid_f32_error_exhaustive() {
    let (abs, at) = sigmoid_sweep_f32(1);
    println!("f32 sigmoid, all 2^32 finite floats: worst absolute error {abs:e} (at {at:e})");
    assert!(abs <= 2.5e-7);
}

#[test]
fn sigmoid_special_values_follow_torch() {
    let y = eval_f32(
        "sigmoid",
        &[
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            0.0,
            -0.0,
            40.0,
            -200.0,
        ],
    );
    assert!(y[0].is_nan());
    assert_eq!(&y[1..], [1.0, 0.0, 0.5, 0.5, 1.0, 0.0]);
    let z = eval_f64(
        "sigmoid",
        &[
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            60.0,
            -800.0,
        ],
    );
    assert!(z[0].is_nan());
    assert_eq!(&z[1..], [1.0, 0.0, 0.5, 1.0, 0.0]);
}

#[test]
fn sigmoid_f64_is_accurate() {
    let mut x: Vec<f64> = (0..200_000)
        .map(|i| 10f64.powf(-300.0 + 302.0 * i as f64 / 200_000.0))
        .collect();
    x.extend(x.clone().iter().map(|v| -v));
    let worst = worst_f64(&x, &eval_f64("sigmoid", &x), |x, y| {
        (y - sigmoid_exact(x)).abs()
    });
    println!(
        "f64 sigmoid: worst absolute error {:e} at {:e}",
        worst.0, worst.1
    );
    assert!(
        worst.0 < 5e-16,
        "worst absolute error {:e} at {:e}",
        worst.0,
        worst.1
    );
}
