//! The loop nests of matrix products, cell-agnostic over `G * Hp` rows: panel kernels
//! (register blocks of rows times columns, one broadcast input element per panel column)
//! and dot products along torch's rows, which the input projection, the step's products and
//! the `W_hr` stage are built from.

use rnnc_kernel::builder::Builder;
use rnnc_kernel::{Buf, IntOp, Op, Operand, Reg, Type};

use super::context::KernelCtx;
use crate::graph::Block;

/// A weight stream for panel kernels: accumulate `sum_k W[k][rows] * src_c[k]` over the
/// block's columns `c`.
pub(super) struct WeightStream {
    pub weights: Buf,
    /// Element index of the sub-block's first weight (column 0).
    pub at: Reg,
    /// Panel width: the stride between consecutive k.
    pub panel_width: usize,
    pub k: usize,
    pub src: Buf,
    /// Where each column's `src_c[0]` is.
    pub src_at: Sources,
}

/// Element indices of the columns' sources.
pub(super) enum Sources {
    /// The first column's, and a constant stride to the next column's.
    Strided(Reg, usize),
    /// One per column.
    Each(Vec<Reg>),
}

/// Adds `stream` to the accumulators `accs` (one per column, `rows` rows each).
///
/// The weight and input indices are running registers, advanced once per `k`, rather than
/// `k * panel_width + at` computed from the loop variable: Cranelift (at `opt_level =
/// none`) emits that as two multiplications and three additions per unrolled `k`. The
/// running form measured 3-6% faster on most benchmark configurations and no slower on
/// the others (docs/perf-log/2026-11-28-zen4.md, "The plateau"). All columns share one
/// input index (each column's element at a constant offset from it): a register per
/// column ran x64 out of general-purpose registers at six columns, spilling the indices
/// in the innermost loop. Columns at a stride known only at run time (a batch-first input)
/// keep a register each.
pub(super) fn accumulate(
    k: &KernelCtx<'_>,
    b: &mut Builder<'_>,
    rows: usize,
    accs: &[Reg],
    stream: &WeightStream,
) {
    let vty = k.vty(rows);
    let sty = Type::scalar(k.dtype);
    let wk = b.def("wk", Type::I64, Op::Copy(stream.at));
    // Per column: the running index and the constant offset from it.
    let xis: Vec<(Reg, i64)> = match &stream.src_at {
        Sources::Strided(at, stride) => {
            let xi = b.def("xi", Type::I64, Op::Copy(*at));
            (0..accs.len()).map(|c| (xi, (c * stride) as i64)).collect()
        }
        Sources::Each(ats) => ats
            .iter()
            .map(|&at| (b.def("xi", Type::I64, Op::Copy(at)), 0))
            .collect(),
    };
    let mut running: Vec<Reg> = xis.iter().map(|&(xi, _)| xi).collect();
    running.dedup();
    b.for_loop("k", Operand::Imm(stream.k as i64), false, |b, _| {
        let w = b.load("w", vty, stream.weights, Some(wk), 0);
        for (&acc, &(xi, at)) in accs.iter().zip(&xis) {
            let x = b.load("x", sty, stream.src, Some(xi), at);
            let xs = b.def("xs", vty, Op::Splat(x));
            b.set(acc, Op::Fma(w, xs, acc));
        }
        b.set(
            wk,
            Op::Int(IntOp::Add, wk, Operand::Imm(stream.panel_width as i64)),
        );
        for &xi in &running {
            b.set(xi, Op::Int(IntOp::Add, xi, Operand::Imm(1)));
        }
    });
}

/// `sum_k W[row][k] * src[k]` in torch layout: vectors along k, `reduce_add`, scalar tail.
pub(super) fn dot(
    ctx: &KernelCtx<'_>,
    b: &mut Builder<'_>,
    weights: (Buf, Reg),
    src: (Buf, Reg),
    k: usize,
) -> Reg {
    let lanes = ctx.lanes;
    let sty = Type::scalar(ctx.dtype);
    let vty = ctx.vty(lanes);
    let chunks = k / lanes;
    let sum = if chunks > 0 {
        let acc = b.fconst("dacc", vty, 0.0);
        b.for_loop("kc", Operand::Imm(chunks as i64), false, |b, kc| {
            let i = b.imul("i", kc, Operand::Imm(lanes as i64));
            let wi = b.iadd("wi", weights.1, Operand::Reg(i));
            let si = b.iadd("si", src.1, Operand::Reg(i));
            let w = b.load("w", vty, weights.0, Some(wi), 0);
            let x = b.load("x", vty, src.0, Some(si), 0);
            b.set(acc, Op::Fma(w, x, acc));
        });
        b.def("dot", sty, Op::ReduceAdd(acc))
    } else {
        b.fconst("dot", sty, 0.0)
    };
    for kk in chunks * lanes..k {
        let w = b.load("w", sty, weights.0, Some(weights.1), kk as i64);
        let x = b.load("x", sty, src.0, Some(src.1), kk as i64);
        b.set(sum, Op::Fma(w, x, sum));
    }
    sum
}

/// Sub-blocks of `rows` rows within a panel of `width`: (offset, rows).
fn sub_blocks(width: usize, rows: usize) -> Vec<(usize, usize)> {
    (0..width)
        .step_by(rows)
        .map(|s| (s, rows.min(width - s)))
        .collect()
}

/// Runs `emit(columns, rows, sub-block offset)` over all `count` columns: blocks of
/// `block.cols` first, then single columns with `block.rest_rows`.
pub(super) fn column_blocks(
    b: &mut Builder<'_>,
    count: Reg,
    block: Block,
    panel_width: usize,
    mut emit: impl FnMut(&mut Builder<'_>, &[Reg], usize, usize),
) {
    if block.cols == 1 {
        b.for_loop("col", Operand::Reg(count), false, |b, col| {
            for (sub, rows) in sub_blocks(panel_width, block.rows) {
                emit(b, &[col], rows, sub);
            }
        });
        return;
    }
    let blocks = b.def(
        "blocks",
        Type::I64,
        Op::Int(IntOp::Div, count, Operand::Imm(block.cols as i64)),
    );
    b.for_loop("cb", Operand::Reg(blocks), false, |b, cb| {
        let c0 = b.imul("c0", cb, Operand::Imm(block.cols as i64));
        let cols: Vec<Reg> = (0..block.cols)
            .map(|c| b.iadd("col", c0, Operand::Imm(c as i64)))
            .collect();
        for (sub, rows) in sub_blocks(panel_width, block.rows) {
            emit(b, &cols, rows, sub);
        }
    });
    let done = b.imul("done", blocks, Operand::Imm(block.cols as i64));
    let rest = b.def(
        "rest",
        Type::I64,
        Op::Int(IntOp::Sub, count, Operand::Reg(done)),
    );
    b.for_loop("cr", Operand::Reg(rest), false, |b, cr| {
        let col = b.iadd("col", cr, Operand::Reg(done));
        for (sub, rows) in sub_blocks(panel_width, block.rest_rows) {
            emit(b, &[col], rows, sub);
        }
    });
}
