//! Short instruction sequences any emitter may use: a vector copy with its tail, the
//! packed row of a gate's row, `min` and `max(x, 0)` on indices. A leaf: it imports no
//! other module of `lower`.

use rnnc_kernel::builder::Builder;
use rnnc_kernel::{Buf, Cmp, IntOp, Op, Operand, Reg, Scalar, Type};

/// Copies `count` consecutive elements in vectors of `lanes`, then one narrower vector for
/// the rest (legalization splits it into scalars).
pub(super) fn copy_elems(
    b: &mut Builder<'_>,
    scalar: Scalar,
    lanes: usize,
    (src, src_at): (Buf, Option<Reg>),
    (dst, dst_at): (Buf, Option<Reg>),
    count: usize,
) {
    let chunks = count / lanes;
    let vty = Builder::vty(scalar, lanes);
    if chunks > 0 {
        b.for_loop("c", Operand::Imm(chunks as i64), false, |b, c| {
            let i = b.imul("i", c, Operand::Imm(lanes as i64));
            let si = match src_at {
                Some(s) => b.iadd("si", i, Operand::Reg(s)),
                None => i,
            };
            let di = match dst_at {
                Some(d) => b.iadd("di", i, Operand::Reg(d)),
                None => i,
            };
            let v = b.load("v", vty, src, Some(si), 0);
            b.store(dst, Some(di), 0, v);
        });
    }
    let tail = count % lanes;
    if tail > 0 {
        let at = (chunks * lanes) as i64;
        let v = b.load("v", Builder::vty(scalar, tail), src, src_at, at);
        b.store(dst, dst_at, at, v);
    }
}

/// The packed row of gate `g`'s row for the hidden unit in register `j`, gates interleaved
/// by vectors (`plan::gate_row`); `j` itself with one gate.
pub(super) fn emit_gate_row(
    b: &mut Builder<'_>,
    g: usize,
    j: Reg,
    gates: usize,
    lanes: usize,
) -> Reg {
    if gates == 1 {
        return j;
    }
    let chunk = b.def(
        "chunk",
        Type::I64,
        Op::Int(IntOp::Div, j, Operand::Imm(lanes as i64)),
    );
    let first = b.imul("first", chunk, Operand::Imm(lanes as i64));
    let lane = b.def(
        "lane",
        Type::I64,
        Op::Int(IntOp::Sub, j, Operand::Reg(first)),
    );
    let row = b.imul("grow", chunk, Operand::Imm((gates * lanes) as i64));
    let row = b.iadd("grow", row, Operand::Reg(lane));
    b.iadd("grow", row, Operand::Imm((g * lanes) as i64))
}

/// `min(a, b)` on `i64`.
pub(super) fn min(b: &mut Builder<'_>, name: &str, x: Reg, y: Reg) -> Reg {
    b.def(name, Type::I64, Op::Select(Cmp::Lt, x, y, x, y))
}

/// `max(x, 0)` on `i64`.
pub(super) fn at_least_zero(b: &mut Builder<'_>, name: &str, x: Reg) -> Reg {
    let zero = b.iconst("zero", 0);
    b.def(name, Type::I64, Op::Select(Cmp::Lt, x, zero, zero, x))
}
