//! The interpreter's semantics, instruction by instruction, against values worked out by
//! hand: one rounding in `fma`, the halving order of `reduce_add`, false comparisons with
//! NaN, wrapping integers, little-endian lane order in bitcasts, `tanh` rounded from f64,
//! and the faults it reports instead of undefined behaviour. (Native code is compared
//! with the interpreter instruction by instruction in `rnnc-codegen`'s tests.)

use rnnc_interp::{Arg, InterpError, run_function};
use rnnc_kernel::{Valid, parse_module, verify};

/// A verified module of one function `@k`.
fn func(body: &str, params: &str) -> Valid {
    let text = format!(
        "module m f32 vector=128 registers=16 packed=0 work=0\nfunc @k({params}) {{\n{body}\n}}\n"
    );
    let module = parse_module(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    verify(module).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// Runs `@k` of `m`.
fn run(m: &Valid, args: &mut [Arg<'_>]) -> Result<(), InterpError> {
    run_function(m, "k", args)
}

/// Runs `body` with `@x: f32 readonly` holding `x` and `@y: f32` of `n` elements.
fn f32s(body: &str, x: &[f32], n: usize) -> Vec<f32> {
    let f = func(body, "@x: f32 readonly, @y: f32");
    let mut y = vec![0f32; n];
    run(&f, &mut [Arg::F32(x), Arg::F32Mut(&mut y)]).unwrap_or_else(|e| panic!("{e}"));
    y
}

/// Runs `body` with `@x: f64 readonly` holding `x` and `@y: f64` of `n` elements.
fn f64s(body: &str, x: &[f64], n: usize) -> Vec<f64> {
    let f = func(body, "@x: f64 readonly, @y: f64");
    let mut y = vec![0f64; n];
    run(&f, &mut [Arg::F64(x), Arg::F64Mut(&mut y)]).unwrap_or_else(|e| panic!("{e}"));
    y
}

/// Runs `body` with `@x: i64 readonly` holding `x`; the results come back as the bits of
/// `@y: f64`.
fn i64s(body: &str, x: &[i64], n: usize) -> Vec<i64> {
    let f = func(body, "@x: i64 readonly, @y: f64");
    let mut y = vec![0f64; n];
    run(&f, &mut [Arg::I64(x), Arg::F64Mut(&mut y)]).unwrap_or_else(|e| panic!("{e}"));
    y.iter().map(|v| v.to_bits() as i64).collect()
}

#[test]
fn fma_rounds_once() {
    // (1 + 2^-12)^2 - 1 = 2^-11 + 2^-24 exactly; rounding the product first loses 2^-24.
    let a = 1.0 + 2f32.powi(-12);
    let y = f32s(
        "  %a: f32 = load.f32 @x[0]\n  %c: f32 = load.f32 @x[1]\n  %f: f32 = fma %a, %a, %c\n  %m: f32 = fmul %a, %a\n  %s: f32 = fadd %m, %c\n  store @y[0], %f\n  store @y[1], %s",
        &[a, -1.0],
        2,
    );
    assert_eq!(y[0], 2f32.powi(-11) + 2f32.powi(-24));
    assert_eq!(y[1], 2f32.powi(-11));
}

#[test]
fn reduce_add_halves_in_lane_order() {
    // (l0 + l2) + (l1 + l3) = (1e8 - 1e8) + (1 + 1) = 2; left to right would give 1.
    let y = f32s(
        "  %v: f32x4 = load.f32x4 @x[0]\n  %s: f32 = reduce_add %v\n  store @y[0], %s",
        &[1e8, 1.0, -1e8, 1.0],
        1,
    );
    assert_eq!(y, [2.0]);
    // Eight lanes: halves of four first, then as above.
    let y = f32s(
        "  %v: f32x8 = load.f32x8 @x[0]\n  %s: f32 = reduce_add %v\n  store @y[0], %s",
        &[1e8, 1.0, 0.0, 0.0, -1e8, 1.0, 0.0, 0.0],
        1,
    );
    assert_eq!(y, [2.0]);
}

#[test]
fn comparisons_with_nan_are_false() {
    let body = "  %a: f32x4 = load.f32x4 @x[0]\n  %b: f32x4 = load.f32x4 @x[4]\n  %one: f32x4 = fconst.f32x4 1.0\n  %two: f32x4 = fconst.f32x4 2.0\n  %r: f32x4 = select.lt %a, %b, %one, %two\n  %s: f32x4 = select.le %a, %b, %one, %two\n  store @y[0], %r\n  store @y[4], %s";
    let nan = f32::NAN;
    let y = f32s(body, &[1.0, nan, 2.0, -0.0, 2.0, 1.0, 2.0, 0.0], 8);
    assert_eq!(y, [1.0, 2.0, 2.0, 2.0, 1.0, 2.0, 1.0, 1.0]);
}

#[test]
fn integers_wrap_and_divide_unsigned() {
    let body = "  %a: i64 = load.i64 @x[0]\n  %b: i64 = load.i64 @x[1]\n  %s: i64 = iadd %a, %b\n  %d: i64 = isub %b, %a\n  %m: i64 = imul %a, %b\n  %q: i64 = udiv %b, 2\n  %l: i64 = ishl %a, 63\n  %r0: f64 = bitcast.f64 %s\n  %r1: f64 = bitcast.f64 %d\n  %r2: f64 = bitcast.f64 %m\n  %r3: f64 = bitcast.f64 %q\n  %r4: f64 = bitcast.f64 %l\n  store @y[0], %r0\n  store @y[1], %r1\n  store @y[2], %r2\n  store @y[3], %r3\n  store @y[4], %r4";
    let y = i64s(body, &[i64::MAX, -1], 5);
    assert_eq!(
        y,
        [
            i64::MAX - 1,
            i64::MIN,
            -i64::MAX,
            (u64::MAX / 2) as i64,
            i64::MIN
        ]
    );
}

#[test]
fn bitcasts_are_little_endian_lane_by_lane() {
    // f32 lanes a, b, c, d become i64 lanes (b << 32 | a) and (d << 32 | c).
    let body = "  %v: f32x4 = load.f32x4 @x[0]\n  %i: i64x2 = bitcast.i64x2 %v\n  %f: f64x2 = bitcast.f64x2 %i\n  store @y[0], %f";
    let f = func(body, "@x: f32 readonly, @y: f64");
    let x = [1.0f32, -2.0, f32::from_bits(1), f32::INFINITY];
    let mut y = vec![0f64; 2];
    run(&f, &mut [Arg::F32(&x), Arg::F64Mut(&mut y)]).unwrap();
    let lane = |lo: f32, hi: f32| ((hi.to_bits() as u64) << 32) | lo.to_bits() as u64;
    assert_eq!(y[0].to_bits(), lane(x[0], x[1]));
    assert_eq!(y[1].to_bits(), lane(x[2], x[3]));
}

#[test]
fn lanes_are_splatted_extracted_and_sliced() {
    let body = "  %v: f32x4 = load.f32x4 @x[0]\n  %e: f32 = extract %v, 2\n  %s: f32x4 = splat.f32x4 %e\n  %w: f32x2 = slice.f32x2 %v, 1\n  store @y[0], %s\n  store @y[4], %w";
    let y = f32s(body, &[1.0, 2.0, 3.0, 4.0], 6);
    assert_eq!(y, [3.0, 3.0, 3.0, 3.0, 2.0, 3.0]);
}

#[test]
fn float_arithmetic_is_ieee() {
    let body = "  %a: f64 = load.f64 @x[0]\n  %z: f64 = load.f64 @x[1]\n  %q: f64 = fdiv %a, %z\n  %n: f64 = fdiv %z, %z\n  %s: f64 = fadd %z, %z\n  %d: f64 = fsub %z, %z\n  store @y[0], %q\n  store @y[1], %n\n  store @y[2], %s\n  store @y[3], %d";
    let y = f64s(body, &[1.0, -0.0], 4);
    assert_eq!(y[0], f64::NEG_INFINITY);
    assert!(y[1].is_nan());
    assert_eq!(y[2].to_bits(), (-0.0f64).to_bits(), "-0 + -0 is -0");
    assert_eq!(y[3].to_bits(), 0.0f64.to_bits(), "-0 - -0 is +0");
}

#[test]
fn tanh_is_rounded_from_f64() {
    let body = "  %v: f32x4 = load.f32x4 @x[0]\n  %t: f32x4 = tanh %v\n  store @y[0], %t";
    let x = [0.5f32, -0.0, f32::INFINITY, f32::NAN];
    let y = f32s(body, &x, 4);
    assert_eq!(y[0], (0.5f64).tanh() as f32);
    assert_eq!(y[1].to_bits(), (-0.0f32).to_bits());
    assert_eq!(y[2], 1.0);
    assert!(y[3].is_nan());
}

#[test]
fn sigmoid_is_rounded_from_f64() {
    let body = "  %v: f32x4 = load.f32x4 @x[0]\n  %t: f32x4 = sigmoid %v\n  store @y[0], %t";
    let x = [0.5f32, f32::NEG_INFINITY, f32::INFINITY, f32::NAN];
    let y = f32s(body, &x, 4);
    assert_eq!(y[0], (1.0 / (1.0 + (-0.5f64).exp())) as f32);
    assert_eq!(y[1].to_bits(), 0f32.to_bits());
    assert_eq!(y[2], 1.0);
    assert!(y[3].is_nan());
}

#[test]
fn loops_run_in_order_or_reverse_and_branches_take_one_side() {
    let body = "  %k: i64 = iconst.i64 0\n  for %i in 0..4 rev {\n    %f: f64 = bitcast.f64 %k\n    store @y[%i], %f\n    %k = iadd %k, 1\n  }\n  %c: i64 = load.i64 @x[0]\n  if %c {\n    %a: i64 = iconst.i64 7\n    %fa: f64 = bitcast.f64 %a\n    store @y[4], %fa\n  } else {\n    %b: i64 = iconst.i64 9\n    %fb: f64 = bitcast.f64 %b\n    store @y[4], %fb\n  }";
    assert_eq!(i64s(body, &[1], 5), [3, 2, 1, 0, 7]);
    assert_eq!(i64s(body, &[0], 5), [3, 2, 1, 0, 9]);
}

#[test]
fn calls_pass_the_named_arguments() {
    let text = "module m f32 vector=128 registers=16 packed=0 work=0
func @put(@dst: f32, %at: i64) {
  %one: f32 = fconst.f32 1.0
  store @dst[%at], %one
}
func @k(@x: f32 readonly, @y: f32) {
  %two: i64 = iconst.i64 2
  call @put(@y, %two)
}
";
    let m = verify(parse_module(text).unwrap()).unwrap();
    let x = [0f32];
    let mut y = vec![0f32; 3];
    run_function(&m, "k", &mut [Arg::F32(&x), Arg::F32Mut(&mut y)]).unwrap();
    assert_eq!(y, [0.0, 0.0, 1.0]);
}

#[test]
fn bad_accesses_are_errors_that_name_the_instruction() {
    let f = func(
        "  %v: f32x4 = load.f32x4 @x[2]\n  store @y[0], %v",
        "@x: f32 readonly, @y: f32",
    );
    let mut y = vec![0f32; 4];
    let err = run(&f, &mut [Arg::F32(&[0.0; 5]), Arg::F32Mut(&mut y)]).unwrap_err();
    assert!(
        matches!(
            err,
            InterpError::OutOfBounds {
                start: 2,
                end: 6,
                len: 5,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("`%v = load.f32x4 @x[2]`"), "{err}");
    // A null buffer read, and a negative trip count.
    let f = func(
        "  %v: f32 = load.f32 @x[0]\n  store @y[0], %v",
        "@x: f32 readonly nullable, @y: f32",
    );
    let err = run(&f, &mut [Arg::Null, Arg::F32Mut(&mut y)]).unwrap_err();
    assert!(err.to_string().contains("@x is null"), "{err}");
    let f = func(
        "  %n: i64 = iconst.i64 -1\n  for %i in 0..%n {\n    %v: f32 = load.f32 @x[0]\n  }",
        "@x: f32 readonly, @y: f32",
    );
    let err = run(&f, &mut [Arg::F32(&[0.0]), Arg::F32Mut(&mut y)]).unwrap_err();
    assert!(err.to_string().contains("negative trip count -1"), "{err}");
    // An argument shorter than the length its parameter declares.
    let f = func(
        "",
        "@x: f32 readonly [N*3 + 1], @y: f32, %seq_len: i64, %batch: i64",
    );
    let args = |x| {
        [
            Arg::F32(x),
            Arg::F32Mut(&mut []),
            Arg::Scalar(1),
            Arg::Scalar(2),
        ]
    };
    assert!(run(&f, &mut args(&[0.0; 7])).is_ok());
    let err = run(&f, &mut args(&[0.0; 6])).unwrap_err();
    assert!(
        err.to_string()
            .contains("@x needs 7 elements, the argument has 6"),
        "{err}"
    );
}
