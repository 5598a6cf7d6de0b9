//! `expand-tanh`: replace `tanh` (and `sigmoid`, as `0.5 + 0.5 * tanh(x / 2)`) with
//! additions, multiplications, fused multiply-adds, one division and selects, so that
//! kernels call nothing and the interpreter and native code compute the same bits.
//!
//! f32: Eigen 3.4's `generic_fast_tanh_float` for FMA targets: `x` clamped to
//! `[-7.99881172, 7.99881172]` (where the rational reaches exactly 1), then
//! `x * P(x^2) / Q(x^2)` with `P` of degree 6 and `Q` of degree 3 in `x^2`, evaluated by
//! Horner's rule with FMA; `|x| < 0.0004` returns `x`. Worst error over every f32, measured
//! by running this expansion in the interpreter (`rnnc-interp`'s `tanh_accuracy` test,
//! `--ignored` for the exhaustive sweep): 5 ulp, 2.9e-7 absolute.
//!
//! f64: for `|x| < 0.625`, Cephes' `x + x^3 P(x^2) / Q(x^2)`; above, `1 - 2 / (exp(2|x|) + 1)`
//! with the sign of `x`, where `exp` reduces by `ln 2` (Cody-Waite, two constants), takes a
//! degree-13 Taylor polynomial on `|r| <= ln(2) / 2` and scales by `2^k` built from the
//! exponent bits; `|x|` is clamped to 22 first (tanh is 1 in f64 beyond 19.1). Worst
//! relative error seen over log-spaced samples: 6.2e-16 (about 3 ulp).
//!
//! Special values as torch: NaN gives NaN (comparisons with NaN are false, so NaN passes
//! every clamp and select unchanged), +-inf gives +-1 (sigmoid: 0 and 1).

use rnnc_kernel::builder::Builder;
use rnnc_kernel::*;
use rnnc_kernel::{Scalar, Type};

/// Expands every `tanh` of every function.
pub fn expand_tanh(mut module: Module) -> Module {
    for func in &mut module.functions {
        let body = std::mem::take(&mut func.body);
        func.body = expand_body(func, body);
        canonicalize_regs(func);
    }
    module
}

fn expand_body(func: &mut Function, body: Vec<Stmt>) -> Vec<Stmt> {
    let mut out = Vec::with_capacity(body.len());
    for stmt in body {
        match stmt {
            Stmt::Inst(Inst {
                dst: Some(dst),
                op: op @ (Op::Tanh(_) | Op::Sigmoid(_)),
            }) => {
                let mut b = Builder::new(func);
                match op {
                    Op::Tanh(x) => tanh(&mut b, dst, x),
                    Op::Sigmoid(x) => sigmoid(&mut b, dst, x),
                    _ => unreachable!("matched above"),
                }
                out.extend(b.finish());
            }
            Stmt::Loop(mut l) => {
                l.body = expand_body(func, l.body);
                out.push(Stmt::Loop(l));
            }
            Stmt::If(mut i) => {
                i.then = expand_body(func, i.then);
                i.otherwise = expand_body(func, i.otherwise);
                out.push(Stmt::If(i));
            }
            other => out.push(other),
        }
    }
    out
}

fn tanh(b: &mut Builder<'_>, dst: Reg, x: Reg) {
    match b.func.ty(x).scalar {
        Scalar::F32 => tanh_f32(b, dst, x),
        Scalar::F64 => tanh_f64(b, dst, x),
        Scalar::I64 => unreachable!("the verifier rejects tanh of integers"),
    }
}

/// `sigmoid(x) = 0.5 + 0.5 * tanh(x / 2)`: `x / 2` is exact (but for subnormals, where
/// sigmoid is 0.5 anyway), so the error is tanh's halved plus one rounding of the `fma`.
fn sigmoid(b: &mut Builder<'_>, dst: Reg, x: Reg) {
    let ty = b.func.ty(x);
    let half = b.fconst("half", ty, 0.5);
    let hx = b.def("hx", ty, Op::Float(FloatOp::Mul, x, half));
    let t = b.reg("t", ty);
    tanh(b, t, hx);
    b.set(dst, Op::Fma(t, half, half));
}

/// `x < bound ? bound_value : other`-style helpers, all NaN-transparent.
fn select(b: &mut Builder<'_>, name: &str, ty: Type, (a, c): (Reg, Reg), x: Reg, y: Reg) -> Reg {
    b.def(name, ty, Op::Select(Cmp::Lt, a, c, x, y))
}

fn horner(b: &mut Builder<'_>, ty: Type, z: Reg, coefficients: &[f64]) -> Reg {
    let acc = b.fconst("poly", ty, coefficients[0]);
    for &c in &coefficients[1..] {
        let c = b.fconst("c", ty, c);
        b.set(acc, Op::Fma(z, acc, c));
    }
    acc
}

/// Eigen's coefficients, highest degree first (numerator odd, denominator even).
const F32_ALPHA: [f64; 7] = [
    -2.76076847742355e-16,
    2.00018790482477e-13,
    -8.60467152213735e-11,
    5.12229709037114e-08,
    1.48572235717979e-05,
    6.37261928875436e-04,
    4.89352455891786e-03,
];
const F32_BETA: [f64; 4] = [
    1.19825839466702e-06,
    1.18534705686654e-04,
    2.26843463243900e-03,
    4.89352518554385e-03,
];
const F32_CLAMP: f64 = 7.998_811_721_801_758;
const F32_TINY: f64 = 0.0004;

fn f32_const(v: f64) -> f64 {
    v as f32 as f64
}

fn tanh_f32(b: &mut Builder<'_>, dst: Reg, x: Reg) {
    let ty = b.func.ty(x);
    let hi = b.fconst("clamp", ty, f32_const(F32_CLAMP));
    let lo = b.fconst("clamp", ty, -f32_const(F32_CLAMP));
    // min(max(x, -c), c), keeping NaN.
    let xc = select(b, "xc", ty, (hi, x), hi, x);
    b.set(xc, Op::Select(Cmp::Lt, xc, lo, lo, xc));
    let x2 = b.def("x2", ty, Op::Float(FloatOp::Mul, xc, xc));
    let alpha: Vec<f64> = F32_ALPHA.iter().map(|&c| f32_const(c)).collect();
    let beta: Vec<f64> = F32_BETA.iter().map(|&c| f32_const(c)).collect();
    let p = horner(b, ty, x2, &alpha);
    b.set(p, Op::Float(FloatOp::Mul, xc, p));
    let q = horner(b, ty, x2, &beta);
    let r = b.def("r", ty, Op::Float(FloatOp::Div, p, q));
    // |x| < tiny: tanh(x) = x to within rounding.
    let tiny = b.fconst("tiny", ty, f32_const(F32_TINY));
    let neg_tiny = b.fconst("tiny", ty, -f32_const(F32_TINY));
    let inner = select(b, "small", ty, (neg_tiny, x), x, r);
    b.set(dst, Op::Select(Cmp::Lt, x, tiny, inner, r));
}

/// Cephes tanh, `|x| < 0.625`: `x + x * z * P(z) / Q(z)`, `z = x^2`, `Q` monic.
const F64_P: [f64; 3] = [
    -9.643_991_794_250_523e-1,
    -9.928_772_310_019_186e1,
    -1.614_687_684_417_079_5e3,
];
const F64_Q: [f64; 4] = [
    1.0,
    1.128_116_784_916_329_3e2,
    2.235_488_390_601_004_5e3,
    4.844_063_053_251_255e3,
];
const LN2_HI: f64 = 6.931_471_803_691_238e-1;
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
/// 1.5 * 2^52: adding it rounds a small float to an integer held in the low bits.
const SHIFTER: f64 = 6_755_399_441_055_744.0;

fn tanh_f64(b: &mut Builder<'_>, dst: Reg, x: Reg) {
    let ty = b.func.ty(x);
    let ity = Type::vector(Scalar::I64, ty.lanes);
    // |x| and the sign bit, through the integer view of the lanes.
    let bits = b.def("xbits", ity, Op::Bitcast(x));
    let mask = b.def("mask", ity, Op::Iconst(i64::MAX));
    let abs_bits = b.def("abits", ity, Op::Bits(BitOp::And, bits, mask));
    let sign_mask = b.def("smask", ity, Op::Iconst(i64::MIN));
    let sign = b.def("sign", ity, Op::Bits(BitOp::And, bits, sign_mask));
    let a = b.def("a", ty, Op::Bitcast(abs_bits));

    // Everything on |x|; the sign goes back on at the end (tanh is odd, and -0 stays -0).
    // Small |x|: the odd rational.
    let z = b.def("z", ty, Op::Float(FloatOp::Mul, a, a));
    let p = horner(b, ty, z, &F64_P);
    let q = horner(b, ty, z, &F64_Q);
    let pq = b.def("pq", ty, Op::Float(FloatOp::Div, p, q));
    let az = b.def("az", ty, Op::Float(FloatOp::Mul, a, z));
    let small = b.def("small", ty, Op::Fma(az, pq, a));

    // Large |x|: 1 - 2 / (exp(2|x|) + 1), |x| clamped to 22.
    let cap = b.fconst("cap", ty, 22.0);
    let ac = select(b, "ac", ty, (cap, a), cap, a);
    let y = b.def("y", ty, Op::Float(FloatOp::Add, ac, ac));
    let log2e = b.fconst("log2e", ty, std::f64::consts::LOG2_E);
    let shifter = b.fconst("shifter", ty, SHIFTER);
    let kf = b.def("kf", ty, Op::Fma(y, log2e, shifter));
    let k = b.def("k", ty, Op::Float(FloatOp::Sub, kf, shifter));
    let ln2_hi = b.fconst("ln2_hi", ty, -LN2_HI);
    let ln2_lo = b.fconst("ln2_lo", ty, -LN2_LO);
    let r = b.def("r", ty, Op::Fma(k, ln2_hi, y));
    b.set(r, Op::Fma(k, ln2_lo, r));
    let factorials: Vec<f64> = (0..=13u32)
        .rev()
        .map(|n| 1.0 / (1..=n).map(f64::from).product::<f64>())
        .collect();
    let e = horner(b, ty, r, &factorials);
    // 2^k: the integer k sits in the low bits of kf.
    let kbits = b.def("kbits", ity, Op::Bitcast(kf));
    let bias = SHIFTER.to_bits() as i64 - 1023;
    let expo = b.def("expo", ity, Op::Int(IntOp::Sub, kbits, Operand::Imm(bias)));
    b.set(expo, Op::Int(IntOp::Shl, expo, Operand::Imm(52)));
    let scale = b.def("scale", ty, Op::Bitcast(expo));
    b.set(e, Op::Float(FloatOp::Mul, e, scale));
    let one = b.fconst("one", ty, 1.0);
    let two = b.fconst("two", ty, 2.0);
    let den = b.def("den", ty, Op::Float(FloatOp::Add, e, one));
    let frac = b.def("frac", ty, Op::Float(FloatOp::Div, two, den));
    let large = b.def("large", ty, Op::Float(FloatOp::Sub, one, frac));

    let threshold = b.fconst("threshold", ty, 0.625);
    let magnitude = b.def(
        "magnitude",
        ty,
        Op::Select(Cmp::Lt, a, threshold, small, large),
    );
    let bits = b.def("rbits", ity, Op::Bitcast(magnitude));
    b.set(bits, Op::Bits(BitOp::Or, bits, sign));
    b.set(dst, Op::Bitcast(bits));
}
