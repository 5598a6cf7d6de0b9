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

/// Least bytes of input columns a chunk of a panel product holds (see
/// [`for_column_chunks`]).
const CHUNK_BYTES: usize = 128 << 10;

/// Columns per chunk of a panel product whose columns take `column_bytes` each and whose
/// weights take `weight_bytes`: as many as hold [`CHUNK_BYTES`] or the weights' bytes,
/// whichever is more, in whole blocks of `block_cols`, at least one block. Each chunk
/// reads all the weights again, so a chunk at least as large as the weights at most
/// doubles what the product reads; with chunks of 128 KiB, tts-bilstm640-256-utt (5 MB
/// of `W_ih` against a 0.5 MB `X` that fits L2 anyway) ran 0.93-0.97x.
pub(super) fn chunk_columns(column_bytes: usize, weight_bytes: usize, block_cols: usize) -> usize {
    (CHUNK_BYTES.max(weight_bytes) / column_bytes / block_cols).max(1) * block_cols
}

/// Runs `body(first column, columns)` over `total` columns in chunks of `chunk`, the last
/// one shorter.
///
/// The input projection runs every panel over one chunk of `X`'s rows before the next
/// chunk, so that a chunk ([`chunk_columns`]) is read from memory once and then from L2
/// by every other panel; panel by panel over all of `X` (19 MB in
/// `diarize-bilstm128x4-b32`) read it from memory once per panel. Measured at 256 bits:
/// 1.2x on that configuration on AMD Zen 4 (chunks of 64 to 1024 columns alike) and on
/// Zen 5 (docs/perf-log/2026-12-04-zen5.md).
/// Each element's operations are the same in either order.
pub(super) fn for_column_chunks(
    b: &mut Builder<'_>,
    total: Reg,
    chunk: usize,
    mut body: impl FnMut(&mut Builder<'_>, Option<Reg>, Reg),
) {
    let rounded = b.iadd("chunks", total, Operand::Imm(chunk as i64 - 1));
    let chunks = b.def(
        "chunks",
        Type::I64,
        Op::Int(IntOp::Div, rounded, Operand::Imm(chunk as i64)),
    );
    b.for_loop("ch", Operand::Reg(chunks), false, |b, ch| {
        let first = b.imul("first", ch, Operand::Imm(chunk as i64));
        let left = b.def(
            "left",
            Type::I64,
            Op::Int(IntOp::Sub, total, Operand::Reg(first)),
        );
        let most = b.iconst("most", chunk as i64);
        let count = super::ops::min(b, "count", left, most);
        body(b, Some(first), count);
    });
}

/// Sub-blocks of `rows` rows within a panel of `width`: (offset, rows).
fn sub_blocks(width: usize, rows: usize) -> Vec<(usize, usize)> {
    (0..width)
        .step_by(rows)
        .map(|s| (s, rows.min(width - s)))
        .collect()
}

/// Runs `emit(columns, rows, sub-block offset)` over the `count` columns from `first` (0
/// without one): blocks of `block.cols` first, then blocks of two columns with
/// `block.pair_rows` (if any), then single columns with `block.rest_rows`.
pub(super) fn column_blocks(
    b: &mut Builder<'_>,
    count: Reg,
    block: Block,
    panel_width: usize,
    first: Option<Reg>,
    mut emit: impl FnMut(&mut Builder<'_>, &[Reg], usize, usize),
) {
    // Blocks of `width` columns and `rows` rows while `width` columns are left, from column
    // `start` (0 without one); the number of blocks run.
    let mut blocks_of = |b: &mut Builder<'_>, name: &str, width: usize, rows, start| {
        let left = match start {
            Some(s) => b.def(
                "left",
                Type::I64,
                Op::Int(IntOp::Sub, count, Operand::Reg(s)),
            ),
            None => count,
        };
        let blocks = match width {
            1 => left,
            _ => b.def(
                "blocks",
                Type::I64,
                Op::Int(IntOp::Div, left, Operand::Imm(width as i64)),
            ),
        };
        b.for_loop(name, Operand::Reg(blocks), false, |b, i| {
            let c0 = match width {
                1 => i,
                _ => b.imul("c0", i, Operand::Imm(width as i64)),
            };
            let c0 = match start {
                Some(s) => b.iadd("col", c0, Operand::Reg(s)),
                None => c0,
            };
            let c0 = match first {
                Some(f) => b.iadd("col", c0, Operand::Reg(f)),
                None => c0,
            };
            let cols: Vec<Reg> = std::iter::once(c0)
                .chain((1..width).map(|c| b.iadd("col", c0, Operand::Imm(c as i64))))
                .collect();
            for (sub, rows) in sub_blocks(panel_width, rows) {
                emit(b, &cols, rows, sub);
            }
        });
        blocks
    };
    if block.cols == 1 {
        blocks_of(b, "col", 1, block.rows, None);
        return;
    }
    let blocks = blocks_of(b, "cb", block.cols, block.rows, None);
    let mut done = b.imul("done", blocks, Operand::Imm(block.cols as i64));
    if block.pair_rows > 0 {
        let pairs = blocks_of(b, "cp", 2, block.pair_rows, Some(done));
        let paired = b.imul("paired", pairs, Operand::Imm(2));
        done = b.def(
            "done",
            Type::I64,
            Op::Int(IntOp::Add, done, Operand::Reg(paired)),
        );
    }
    blocks_of(b, "cr", 1, block.rest_rows, Some(done));
}
