//! Phase A of a layer, the hoisted input projection: `P = X W_ih^T + biases` for every
//! row of `X` (all time steps and sequences at once) and the directions the graph's
//! [`Projection`] node lists, one GEMM built from `gemm`'s loop nests; shares split it by
//! rows of `X` (torch layout) or by panels. In panel layout the rows of `X` are taken in
//! chunks, every panel (of the share) over one chunk before the next chunk.

use rnnc_kernel::builder::Builder;
use rnnc_kernel::{Buf, FloatOp, IntOp, Op, Operand, Reg, Type};

use super::context::{KernelCtx, LayerIo};
use super::gemm::{
    Sources, WeightStream, accumulate, chunk_columns, column_blocks, dot, for_column_chunks,
};
use super::ops::emit_gate_row;
use super::plan::Key;
use super::shares::{Split, for_panels, panel_range, share_range};
use crate::graph::{Layout, Projection};

/// Loads and sums bias terms at element `at` of each region, `lanes` wide; zero if none.
fn bias_init(
    k: &KernelCtx<'_>,
    b: &mut Builder<'_>,
    regions: &[Buf],
    at: Reg,
    lanes: usize,
) -> Reg {
    let ty = k.vty(lanes);
    match regions.split_first() {
        None => b.fconst("acc", ty, 0.0),
        Some((first, rest)) => {
            let acc = b.load("acc", ty, *first, Some(at), 0);
            for &r in rest {
                let v = b.load("bias", ty, r, Some(at), 0);
                b.set(acc, Op::Float(FloatOp::Add, acc, v));
            }
            acc
        }
    }
}

/// `P = X W_ih^T + biases` for every row of `X` (time steps and sequences), for the
/// directions `p` lists, split between the parts of a multi-threaded call by `split`: a
/// share splits the rows of `X` (torch layout) or the panels; a range is of panels, or of
/// vector-wide unit chunks (torch layout: every row of `X`, the chunks' gate rows).
pub(super) fn emit_input_projection(
    k: &KernelCtx<'_>,
    b: &mut Builder<'_>,
    io: &LayerIo,
    p: &Projection,
    split: Option<Split>,
) {
    let l = io.layer;
    let wbuf = k.region(b, Key::InputProjWeights(l));
    let biases: Vec<Buf> = (0..p.bias.len())
        .map(|i| k.region(b, Key::InputProjBias(l, i)))
        .collect();
    let pbuf = k.work(b, "P");
    let pw = k.plan.p_width as i64;
    let width = io.x_width;
    let gates = k.gates;
    match p.layout {
        Layout::Torch => {
            // A range of chunks: their units `[j0, j0 + j_count)`.
            let (j0, j_count) = match split {
                Some(Split::Range(c0, c1)) => {
                    let (j0, count) = k.chunk_units(b, (c0, c1));
                    (Some(j0), Operand::Reg(count))
                }
                _ => (None, Operand::Imm(k.h as i64)),
            };
            // Shares split the rows of X (time steps and sequences).
            let (first, count) = match split {
                None | Some(Split::Range(..)) => (None, k.ln),
                Some(Split::Share(share)) => {
                    let (u0, u1) = share_range(b, Operand::Reg(k.ln), share);
                    let count = b.def(
                        "count",
                        Type::I64,
                        Op::Int(IntOp::Sub, u1, Operand::Reg(u0)),
                    );
                    (Some(u0), count)
                }
            };
            b.for_loop("r", Operand::Reg(count), false, |b, r| {
                let r = match first {
                    Some(u0) => b.iadd("r", r, Operand::Reg(u0)),
                    None => r,
                };
                let xrow = b.imul("xrow", r, Operand::Imm(width as i64));
                let prow = b.imul("prow", r, Operand::Imm(pw));
                for i in 0..p.directions.len() {
                    for gate in 0..gates {
                        b.for_loop("j", j_count, false, |b, j| {
                            let j = match j0 {
                                Some(j0) => b.iadd("j", j, Operand::Reg(j0)),
                                None => j,
                            };
                            // torch's row gate * H + j of direction i's stacked matrix.
                            let first_row = (i * gates + gate) * k.h;
                            let wrow = b.imul("wrow", j, Operand::Imm(width as i64));
                            let wrow =
                                b.iadd("wrow", wrow, Operand::Imm((first_row * width) as i64));
                            let s = dot(k, b, (wbuf, wrow), (io.x, xrow), width);
                            let row = emit_gate_row(b, gate, j, gates, k.lanes);
                            let at = b.iadd("at", row, Operand::Imm((i * k.rows) as i64));
                            if !biases.is_empty() {
                                let acc = bias_init(k, b, &biases, at, 1);
                                b.set(s, Op::Float(FloatOp::Add, acc, s));
                            }
                            let pi = b.iadd("pi", prow, Operand::Reg(at));
                            b.store(pbuf, Some(pi), 0, s);
                        });
                    }
                }
            });
        }
        Layout::Panels { width: panel } => {
            let rows = p.directions.len() * k.rows;
            let block = p.block;
            let range = split.map(|split| match split {
                Split::Share(share) => panel_range(b, rows, panel, share),
                Split::Range(u0, u1) => (u0, u1),
            });
            let run = |b: &mut Builder<'_>, first: Option<Reg>, count: Reg| {
                for_panels(b, rows, panel, range, |b, index, pwidth, _| {
                    let row0 = b.imul("row0", index, Operand::Imm(panel as i64));
                    let woff = b.imul("woff", row0, Operand::Imm(width as i64));
                    let emit = |b: &mut Builder<'_>, cols: &[Reg], rows: usize, sub: usize| {
                        let at = b.iadd("at", row0, Operand::Imm(sub as i64));
                        let accs: Vec<Reg> = cols
                            .iter()
                            .map(|_| bias_init(k, b, &biases, at, rows))
                            .collect();
                        let wat = b.iadd("wat", woff, Operand::Imm(sub as i64));
                        let stream = WeightStream {
                            weights: wbuf,
                            at: wat,
                            panel_width: pwidth,
                            k: width,
                            src: io.x,
                            src_at: Sources::Strided(
                                b.imul("xrow", cols[0], Operand::Imm(width as i64)),
                                width,
                            ),
                        };
                        accumulate(k, b, rows, &accs, &stream);
                        for (&r, &acc) in cols.iter().zip(&accs) {
                            let pi = b.imul("pi", r, Operand::Imm(pw));
                            let pi = b.iadd("pi", pi, Operand::Reg(at));
                            b.store(pbuf, Some(pi), 0, acc);
                        }
                    };
                    column_blocks(b, count, block, pwidth, first, emit);
                });
            };
            let bytes = k.dtype.bytes() as usize;
            let chunk = chunk_columns(width * bytes, rows * width * bytes, block.cols);
            for_column_chunks(b, k.ln, chunk, run);
        }
    }
}
