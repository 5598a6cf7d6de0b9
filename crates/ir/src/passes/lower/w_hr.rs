//! An LSTM's output projection (`proj_size > 0`), a stage of its own after each step:
//! `h = W_hr h_full` once the cell has stored every unit of the unprojected `h_full`,
//! masked and stored like the cell's states and output (by `epilogue`'s stores).

use rnnc_kernel::builder::Builder;
use rnnc_kernel::{IntOp, Op, Operand, Reg, Type};

use super::context::Recur;
use super::epilogue::{Position, Units};
use super::gemm::{Sources, WeightStream, accumulate, column_blocks, dot};
use super::ops::min;
use super::plan::{Content, Key, hfull_name};
use super::shares::{Share, for_panels, panel_range, share_range};
use super::states::States;
use crate::graph::Layout;
use crate::passes::block::{Shape, block_for};

impl Recur<'_, '_> {
    /// The `W_hr` stage of step `t`, after the cell has stored `h_full` (`h` before `W_hr`)
    /// of every unit: `h = W_hr h_full` for the rows of `W_hr` the share owns (all without
    /// one), masked like the cell's states, stored to the state and the output. One dot
    /// product per row in torch's layout; a panel GEMV when `W_hr` is in panels. Returns
    /// the elements `[e0, e1)` of `h` the share computed (`None`: all of them).
    pub fn emit_hr_stage(
        &self,
        b: &mut Builder<'_>,
        states: &States,
        t: Reg,
        share: Option<Share>,
    ) -> Option<(Reg, Reg)> {
        let k = self.k;
        let (l, d) = (self.io.layer, self.r.direction);
        if let Content::Matrix {
            layout: Layout::Panels { width },
            ..
        } = k.plan.region(Key::RecHr(l, d)).content
        {
            return self.emit_hr_panels(b, states, t, share, width);
        }
        let mut owned = None;
        let (first, count) = match share {
            None => (None, Operand::Imm(k.proj_size as i64)),
            Some(share) => {
                let (p0, p1) = share_range(b, Operand::Imm(k.proj_size as i64), share);
                owned = Some((p0, p1));
                let count = b.def(
                    "count",
                    Type::I64,
                    Op::Int(IntOp::Sub, p1, Operand::Reg(p0)),
                );
                (Some(p0), Operand::Reg(count))
            }
        };
        let h = states.h();
        let sty = Type::scalar(k.dtype);
        b.for_loop("b", Operand::Reg(k.batch), false, |b, s| {
            let at = Position {
                t,
                s,
                len: k.length(b, s),
            };
            let hf_at = b.imul("hf_at", s, Operand::Imm(k.hp as i64));
            let sat = b.imul("sat", s, Operand::Imm(h.padded as i64));
            let zero = b.fconst("zero", sty, 0.0);
            b.for_loop("p", count, false, |b, p| {
                let p = match first {
                    Some(p0) => b.iadd("p", p, Operand::Reg(p0)),
                    None => p,
                };
                let w_hr = k.region(b, Key::RecHr(l, d));
                let hfull = k.work(b, hfull_name(d));
                let wrow = b.imul("wrow", p, Operand::Imm(k.h as i64));
                let v = dot(k, b, (w_hr, wrow), (hfull, hf_at), k.h);
                let hat = b.iadd("hat", sat, Operand::Reg(p));
                let old_at = b.iadd("old_at", hat, Operand::Reg(h.s_in));
                let old = b.load("old", sty, h.buf, Some(old_at), 0);
                let new_at = b.iadd("new_at", hat, Operand::Reg(h.s_out));
                self.store_state(b, &at, (h.buf, new_at), v, old);
                let unit = Units {
                    j: p,
                    lanes: 1,
                    valid: 1,
                };
                self.store_output(b, &at, &unit, v, zero);
            });
        });
        owned
    }

    /// The `W_hr` stage with `weight_hr` in panels of `width` rows: register blocks
    /// of rows of `h` times sequences, the rows a share's panels; then masking and the
    /// stores of the state and the output, as the torch-layout stage does per element.
    fn emit_hr_panels(
        &self,
        b: &mut Builder<'_>,
        states: &States,
        t: Reg,
        share: Option<Share>,
        width: usize,
    ) -> Option<(Reg, Reg)> {
        let k = self.k;
        let (l, d) = (self.io.layer, self.r.direction);
        let h = states.h();
        let rows = h.padded;
        let range = share.map(|share| panel_range(b, rows, width, share));
        let owned = range.map(|(u0, u1)| {
            let e0 = b.imul("e0", u0, Operand::Imm(width as i64));
            let e1 = b.imul("e1", u1, Operand::Imm(width as i64));
            let all = b.iconst("rows", rows as i64);
            (e0, min(b, "e1", e1, all))
        });
        let block = block_for(width, k.lanes, Shape::PLAIN, k.registers);
        for_panels(b, rows, width, range, |b, panel, pwidth, last_row| {
            let row0 = b.imul("row0", panel, Operand::Imm(width as i64));
            let woff = b.imul("woff", row0, Operand::Imm(k.h as i64));
            let emit = |b: &mut Builder<'_>, cols: &[Reg], rows: usize, sub: usize| {
                let at = b.iadd("p0", row0, Operand::Imm(sub as i64));
                let accs: Vec<Reg> = cols
                    .iter()
                    .map(|_| b.fconst("acc", k.vty(rows), 0.0))
                    .collect();
                let stream = WeightStream {
                    weights: k.region(b, Key::RecHr(l, d)),
                    at: b.iadd("wat", woff, Operand::Imm(sub as i64)),
                    panel_width: pwidth,
                    k: k.h,
                    src: k.work(b, hfull_name(d)),
                    src_at: Sources::Strided(
                        b.imul("hf_at", cols[0], Operand::Imm(k.hp as i64)),
                        k.hp,
                    ),
                };
                accumulate(k, b, rows, &accs, &stream);
                // Real rows of `h` in this sub-block (the last panel may hold padding).
                let valid = last_row.map_or(rows, |first| {
                    rows.min(k.proj_size - (first + sub).min(k.proj_size))
                });
                let units = Units {
                    j: at,
                    lanes: rows,
                    valid,
                };
                for (&s, &acc) in cols.iter().zip(&accs) {
                    let pos = Position {
                        t,
                        s,
                        len: k.length(b, s),
                    };
                    let sat = b.imul("sat", s, Operand::Imm(h.padded as i64));
                    let sat = b.iadd("sat", sat, Operand::Reg(at));
                    let old_at = b.iadd("old_at", sat, Operand::Reg(h.s_in));
                    let old = b.load("old", k.vty(rows), h.buf, Some(old_at), 0);
                    let new_at = b.iadd("new_at", sat, Operand::Reg(h.s_out));
                    self.store_state(b, &pos, (h.buf, new_at), acc, old);
                    if valid > 0 {
                        let zero = b.fconst("zero", k.vty(rows), 0.0);
                        self.store_output(b, &pos, &units, acc, zero);
                    }
                }
            };
            column_blocks(b, k.batch, block, pwidth, None, emit);
        });
        owned
    }
}
