//! The arithmetic of one lane, on raw bits (an f32 in the low 32 bits): IEEE operations
//! with one rounding each, as the machine computes them.

use rnnc_kernel::{BitOp, Cmp, FloatOp, IntOp, Scalar};

pub(crate) fn f32_of(bits: u64) -> f32 {
    f32::from_bits(bits as u32)
}
pub(crate) fn f64_of(bits: u64) -> f64 {
    f64::from_bits(bits)
}

fn f32_bits(v: f32) -> u64 {
    v.to_bits() as u64
}

/// Integer arithmetic, wrapping; `None` for a division by zero.
pub(crate) fn int(op: IntOp, x: i64, y: i64) -> Option<u64> {
    Some(match op {
        IntOp::Add => x.wrapping_add(y),
        IntOp::Sub => x.wrapping_sub(y),
        IntOp::Mul => x.wrapping_mul(y),
        IntOp::Div => ((x as u64).checked_div(y as u64)?) as i64,
        IntOp::Shl => x.wrapping_shl(y as u32),
    } as u64)
}

/// One IEEE operation with one rounding.
pub(crate) fn float(scalar: Scalar, op: FloatOp, x: u64, y: u64) -> u64 {
    fn apply<
        T: std::ops::Add<Output = T>
            + std::ops::Sub<Output = T>
            + std::ops::Mul<Output = T>
            + std::ops::Div<Output = T>,
    >(
        op: FloatOp,
        x: T,
        y: T,
    ) -> T {
        match op {
            FloatOp::Add => x + y,
            FloatOp::Sub => x - y,
            FloatOp::Mul => x * y,
            FloatOp::Div => x / y,
        }
    }
    match scalar {
        Scalar::F32 => f32_bits(apply(op, f32_of(x), f32_of(y))),
        _ => apply(op, f64_of(x), f64_of(y)).to_bits(),
    }
}

/// `x * y + z` with a single rounding.
pub(crate) fn fma(scalar: Scalar, x: u64, y: u64, z: u64) -> u64 {
    match scalar {
        Scalar::F32 => f32_bits(f32_of(x).mul_add(f32_of(y), f32_of(z))),
        _ => f64_of(x).mul_add(f64_of(y), f64_of(z)).to_bits(),
    }
}

/// Bitwise logic on the bits.
pub(crate) fn bits(op: BitOp, x: u64, y: u64) -> u64 {
    match op {
        BitOp::And => x & y,
        BitOp::Or => x | y,
        BitOp::Xor => x ^ y,
    }
}

/// The lanes `src` (of kind `from`) reread as lanes of `to`, through little-endian bytes as
/// the machine's registers hold them.
pub(crate) fn bitcast((from, src): (Scalar, &[u64]), to: Scalar, out: &mut [u64]) {
    let mut bytes = Vec::with_capacity(src.len() * 8);
    for v in src {
        bytes.extend_from_slice(&v.to_le_bytes()[..from.bytes() as usize]);
    }
    let width = to.bytes() as usize;
    for (i, o) in out.iter_mut().enumerate() {
        let mut lane = [0u8; 8];
        lane[..width].copy_from_slice(&bytes[i * width..(i + 1) * width]);
        *o = u64::from_le_bytes(lane);
    }
}

/// The sum of the lanes in halving order: lane `i` of the low half plus lane `i` of the
/// high half, until one remains.
pub(crate) fn reduce_add(scalar: Scalar, lanes: &[u64]) -> u64 {
    let mut v = lanes.to_vec();
    let mut m = v.len();
    while m > 1 {
        m /= 2;
        for i in 0..m {
            v[i] = float(scalar, FloatOp::Add, v[i], v[i + m]);
        }
    }
    v[0]
}

/// Whether `cmp(p, q)` holds for lanes of kind `scalar`; false when either is NaN.
pub(crate) fn holds(cmp: Cmp, scalar: Scalar, p: u64, q: u64) -> bool {
    match scalar {
        Scalar::I64 => compare(cmp, p as i64, q as i64),
        Scalar::F32 => compare(cmp, f32_of(p), f32_of(q)),
        Scalar::F64 => compare(cmp, f64_of(p), f64_of(q)),
    }
}

/// `a < b` or `a <= b`; false when either is NaN.
fn compare<T: PartialOrd>(cmp: Cmp, a: T, b: T) -> bool {
    match cmp {
        Cmp::Lt => a < b,
        Cmp::Le => a <= b,
    }
}

/// `tanh` exactly: f64's, rounded to f32 for f32 lanes (until `expand-tanh` replaces it).
pub(crate) fn sigmoid(scalar: Scalar, v: u64) -> u64 {
    let exact = |x: f64| 1.0 / (1.0 + (-x).exp());
    match scalar {
        Scalar::F32 => f32_bits(exact(f32_of(v) as f64) as f32),
        _ => exact(f64_of(v)).to_bits(),
    }
}

pub(crate) fn tanh(scalar: Scalar, v: u64) -> u64 {
    match scalar {
        Scalar::F32 => f32_bits((f32_of(v) as f64).tanh() as f32),
        _ => f64_of(v).tanh().to_bits(),
    }
}
