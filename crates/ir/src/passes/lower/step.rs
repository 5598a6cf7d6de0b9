//! The recurrence of one layer and direction: the whole of it (states in, every step,
//! states out), the time loop, and one step's products over the `G * Hp` pre-activation
//! rows, which end in the epilogue (and, with `proj_size`, the `W_hr` stage).

use rnnc_kernel::builder::Builder;
use rnnc_kernel::{FloatOp, Op, Operand, Reg, Type};

use super::context::Recur;
use super::epilogue::{Position, emit_separate_epilogue};
use super::gemm::{Sources, WeightStream, accumulate, column_blocks, dot};
use super::ops::{emit_gate_row, min};
use super::plan::Key;
use super::shares::{Split, for_panels, panel_range, share_range};
use super::states::States;
use crate::graph::Layout;

impl Recur<'_, '_> {
    /// The whole recurrence: states from their initial values, every step, final states.
    pub fn emit_recurrence(&self, b: &mut Builder<'_>) {
        let (l, d) = (self.io.layer, self.r.direction);
        let states = States::new(self.k, b, d, None);
        states.emit_init(self.k, b, (l, d));
        self.emit_steps(b, &states);
        states.emit_final(self.k, b, (l, d));
    }

    /// Every step in order (backwards in time for the reverse direction), from the states
    /// in the `s_in` halves.
    pub fn emit_steps(&self, b: &mut Builder<'_>, states: &States) {
        let reverse = self.r.direction == 1;
        b.for_loop("t", Operand::Reg(self.k.seq_len), reverse, |b, t| {
            self.emit_step(b, states, t, None);
            if self.k.proj_size > 0 {
                self.emit_hr_stage(b, states, t, None);
            }
            states.swap(b);
        });
    }

    /// Step `t`: the new states from the old for the rows the split owns (all without
    /// one): the products, then the epilogue, fused or separate. Returns the vector-wide
    /// unit chunks the split owns (`None`: all of them).
    pub fn emit_step(
        &self,
        b: &mut Builder<'_>,
        states: &States,
        t: Reg,
        share: Option<Split>,
    ) -> Option<(Reg, Reg)> {
        let k = self.k;
        let chunks = k.hp / k.lanes;
        // The vector-wide unit chunks the share owns, for the separate epilogue: whole
        // panels' worth, or (torch layout) chunks directly. `None`: all of them.
        let chunk_range = match self.r.layout {
            Layout::Torch => self.emit_torch_products(b, states, t, share),
            Layout::Panels { width } => {
                let range = share.map(|split| match split {
                    Split::Share(share) => panel_range(b, k.rows, width, share),
                    Split::Range(u0, u1) => (u0, u1),
                });
                let mut chunk_range = None;
                if let Some((u0, u1)) = range {
                    // Units per panel: its rows over the gates.
                    let per_panel = (width / k.gates / k.lanes) as i64;
                    let c0 = b.imul("c0", u0, Operand::Imm(per_panel));
                    let c1 = b.imul("c1", u1, Operand::Imm(per_panel));
                    let all = b.iconst("chunks", chunks as i64);
                    chunk_range = Some((c0, min(b, "c1", c1, all)));
                }
                self.emit_panel_products(b, states, t, width, range);
                chunk_range
            }
        };
        if self.r.epilogue == crate::graph::Epilogue::Separate {
            emit_separate_epilogue(self, b, states, t, chunk_range);
        }
        chunk_range
    }

    /// Torch layout: per sequence and hidden unit, one dot product per gate row. Returns
    /// the unit chunks the share owns.
    fn emit_torch_products(
        &self,
        b: &mut Builder<'_>,
        states: &States,
        t: Reg,
        share: Option<Split>,
    ) -> Option<(Reg, Reg)> {
        let k = self.k;
        let (l, d) = (self.io.layer, self.r.direction);
        let x_width = self.io.x_width;
        let sty = Type::scalar(k.dtype);
        let chunks = k.hp / k.lanes;
        let mut chunk_range = None;
        // Units in whole chunks, so that the separate epilogue's chunks are the share's.
        let (j_first, j_count) = match share {
            None => (None, Operand::Imm(k.h as i64)),
            Some(split) => {
                let (u0, u1) = match split {
                    Split::Share(share) => share_range(b, Operand::Imm(chunks as i64), share),
                    Split::Range(u0, u1) => (u0, u1),
                };
                chunk_range = Some((u0, u1));
                let (j0, count) = k.chunk_units(b, (u0, u1));
                (Some(j0), Operand::Reg(count))
            }
        };
        let h = states.h();
        let r_width = k.states[0].width;
        b.for_loop("b", Operand::Reg(k.batch), false, |b, s| {
            let len = k.length(b, s);
            let row = k.row(b, t, s);
            let hbase = b.imul("hbase", s, Operand::Imm(h.padded as i64));
            let hbase = b.iadd("hbase", hbase, Operand::Reg(h.s_in));
            b.for_loop("j", j_count, false, |b, j| {
                let j = match j_first {
                    Some(j0) => b.iadd("j", j, Operand::Reg(j0)),
                    None => j,
                };
                let mut recurrent = Vec::new();
                let gates: Vec<Reg> = (0..k.gates)
                    .map(|gate| {
                        let acc = match self.p_column {
                            Some(col) => {
                                let pi = b.imul("pi", row, Operand::Imm(k.plan.p_width as i64));
                                let grow = emit_gate_row(b, gate, j, k.gates, k.lanes);
                                let pi = b.iadd("pi", pi, Operand::Reg(grow));
                                let pbuf = k.work(b, "P");
                                b.load("acc", sty, pbuf, Some(pi), col as i64)
                            }
                            None => {
                                let xrow = b.imul("xrow", row, Operand::Imm(x_width as i64));
                                let wrow = b.imul("wrow", j, Operand::Imm(x_width as i64));
                                let w_ih = k.region(b, Key::RecInput(l, d));
                                let w_at = (gate * k.h * x_width) as i64;
                                let wrow = offset(b, wrow, w_at);
                                dot(k, b, (w_ih, wrow), (self.io.x, xrow), x_width)
                            }
                        };
                        let wrow = b.imul("wrow", j, Operand::Imm(r_width as i64));
                        let w_hh = k.region(b, Key::RecWeights(l, d));
                        let wrow = offset(b, wrow, (gate * k.h * r_width) as i64);
                        let s_hh = dot(k, b, (w_hh, wrow), (h.buf, hbase), r_width);
                        if self.split() {
                            recurrent.push(s_hh);
                        } else {
                            b.set(acc, Op::Float(FloatOp::Add, acc, s_hh));
                        }
                        acc
                    })
                    .collect();
                let at = Position { t, s, len };
                let recurrent = self.split().then_some(recurrent);
                self.finish_unit(b, states, &at, j, (gates, recurrent));
            });
        });
        chunk_range
    }

    /// Panel layout: register blocks of rows times sequences, the rows a share's panels.
    fn emit_panel_products(
        &self,
        b: &mut Builder<'_>,
        states: &States,
        t: Reg,
        width: usize,
        range: Option<(Reg, Reg)>,
    ) {
        let k = self.k;
        let (l, d) = (self.io.layer, self.r.direction);
        let x_width = self.io.x_width;
        let h = states.h();
        let r_width = k.states[0].width;
        for_panels(b, k.rows, width, range, |b, panel, pwidth, last_row| {
            let row0 = b.imul("row0", panel, Operand::Imm(width as i64));
            let whh = b.imul("whh", row0, Operand::Imm(r_width as i64));
            let wih = b.imul("wih", row0, Operand::Imm(x_width as i64));
            let emit = |b: &mut Builder<'_>, cols: &[Reg], rows: usize, sub: usize| {
                // The sub-block's first row, when it is in the last panel (which may hold
                // padding rows).
                let first = last_row.map(|first| first + sub);
                let j0 = b.iadd("j0", row0, Operand::Imm(sub as i64));
                let lens: Vec<Reg> = cols.iter().map(|&s| k.length(b, s)).collect();
                let rows_of: Vec<Reg> = cols.iter().map(|&s| k.row(b, t, s)).collect();
                let accs: Vec<Reg> = rows_of
                    .iter()
                    .map(|&row| match self.p_column {
                        Some(col) => {
                            let pi = b.imul("pi", row, Operand::Imm(k.plan.p_width as i64));
                            let pi = b.iadd("pi", pi, Operand::Reg(j0));
                            let pbuf = k.work(b, "P");
                            b.load("acc", k.vty(rows), pbuf, Some(pi), col as i64)
                        }
                        None => b.fconst("acc", k.vty(rows), 0.0),
                    })
                    .collect();
                if self.p_column.is_none() {
                    let at = b.iadd("wat", wih, Operand::Imm(sub as i64));
                    let stream = WeightStream {
                        weights: k.region(b, Key::RecInput(l, d)),
                        at,
                        panel_width: pwidth,
                        k: x_width,
                        src: self.io.x,
                        src_at: Sources::Each(
                            rows_of
                                .iter()
                                .map(|&row| b.imul("xrow", row, Operand::Imm(x_width as i64)))
                                .collect(),
                        ),
                    };
                    accumulate(k, b, rows, &accs, &stream);
                }
                // A cell that splits gates accumulates the recurrent products apart.
                let raccs: Option<Vec<Reg>> = self.split().then(|| {
                    cols.iter()
                        .map(|_| b.fconst("racc", k.vty(rows), 0.0))
                        .collect()
                });
                let at = b.iadd("wat", whh, Operand::Imm(sub as i64));
                let hrow = b.imul("hrow", cols[0], Operand::Imm(h.padded as i64));
                let stream = WeightStream {
                    weights: k.region(b, Key::RecWeights(l, d)),
                    at,
                    panel_width: pwidth,
                    k: r_width,
                    src: h.buf,
                    src_at: Sources::Strided(b.iadd("hrow", hrow, Operand::Reg(h.s_in)), h.padded),
                };
                accumulate(k, b, rows, raccs.as_ref().unwrap_or(&accs), &stream);
                for (c, &s) in cols.iter().enumerate() {
                    let at = Position { t, s, len: lens[c] };
                    let racc = raccs.as_ref().map(|r| r[c]);
                    self.finish_block(b, states, &at, (j0, rows, first), (accs[c], racc));
                }
            };
            column_blocks(b, k.batch, self.r.block, pwidth, None, emit);
        });
    }
}

/// `base + at`, or `base` itself for `at = 0` (no instruction).
fn offset(b: &mut Builder<'_>, base: Reg, at: i64) -> Reg {
    if at == 0 {
        base
    } else {
        b.iadd("wrow", base, Operand::Imm(at))
    }
}
