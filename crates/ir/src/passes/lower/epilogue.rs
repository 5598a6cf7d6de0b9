//! What follows a step's products: the recurrence's biases, the cell's arithmetic on the
//! gates of a vector of hidden units (behind [`CellLowering`](super::cell::CellLowering)),
//! masking for variable lengths, and the stores of states and output. Fused, it runs on the
//! accumulators; separate, products go to `pre` first and a second loop finishes them.

use std::cell::RefCell;

use rnnc_kernel::builder::Builder;
use rnnc_kernel::{Buf, Cmp, FloatOp, IntOp, Op, Operand, Reg, Type};

use super::cell::CellInput;
use super::context::Recur;
use super::ops::emit_gate_row;
use super::plan::{Key, hfull_name, pre_name, rpre_name};
use super::shares::for_units;
use super::states::States;
use crate::graph::{BiasRef, Epilogue};

/// Which step of which sequence an epilogue finishes.
pub(super) struct Position {
    pub t: Reg,
    pub s: Reg,
    /// The sequence's length: it is active at step `t` iff `t < len`.
    pub len: Reg,
}

/// `lanes` consecutive hidden units from unit `j`, of which the first `valid` are real
/// (the rest padding).
pub(super) struct Units {
    pub j: Reg,
    pub lanes: usize,
    pub valid: usize,
}

impl Recur<'_, '_> {
    /// After a torch-layout product: the gates' pre-activations (scalars) of unit `j`, and
    /// their recurrent parts apart when the cell splits gates.
    pub(super) fn finish_unit(
        &self,
        b: &mut Builder<'_>,
        states: &States,
        at: &Position,
        j: Reg,
        (gates, recurrent): (Vec<Reg>, Option<Vec<Reg>>),
    ) {
        let k = self.k;
        match self.r.epilogue {
            Epilogue::Separate => {
                let d = self.r.direction;
                let parts = [
                    Some((gates, pre_name(d))),
                    recurrent.map(|r| (r, rpre_name(d))),
                ];
                for (values, buffer) in parts.into_iter().flatten() {
                    for (gate, &acc) in values.iter().enumerate() {
                        let pre_at = b.imul("pre_at", at.s, Operand::Imm(k.rows as i64));
                        let row = emit_gate_row(b, gate, j, k.gates, k.lanes);
                        let pre_at = b.iadd("pre_at", pre_at, Operand::Reg(row));
                        let pre = k.work(b, buffer);
                        b.store(pre, Some(pre_at), 0, acc);
                    }
                }
            }
            Epilogue::Fused => {
                let units = Units {
                    j,
                    lanes: 1,
                    valid: 1,
                };
                self.epilogue(b, states, at, &units, gates, recurrent);
            }
        }
    }

    /// After a panel product: the accumulator `acc` of `rows` pre-activation rows from row
    /// `j0` (gates interleaved by vectors), and `racc` of their recurrent parts when the
    /// cell splits gates, whose first row is `first` when it is in the last panel (which
    /// may hold padding rows).
    pub(super) fn finish_block(
        &self,
        b: &mut Builder<'_>,
        states: &States,
        at: &Position,
        (j0, rows, first): (Reg, usize, Option<usize>),
        (acc, racc): (Reg, Option<Reg>),
    ) {
        let k = self.k;
        if self.r.epilogue == Epilogue::Separate {
            let d = self.r.direction;
            let pre_at = b.imul("pre_at", at.s, Operand::Imm(k.rows as i64));
            let pre_at = b.iadd("pre_at", pre_at, Operand::Reg(j0));
            for (value, buffer) in [Some((acc, pre_name(d))), racc.map(|r| (r, rpre_name(d)))]
                .into_iter()
                .flatten()
            {
                let pre = k.work(b, buffer);
                b.store(pre, Some(pre_at), 0, value);
            }
            return;
        }
        // Real units among `lanes` from unit `start` (statically known in the last panel).
        let valid = |start: Option<usize>, lanes: usize| {
            start.map_or(lanes, |start| lanes.min(k.h.saturating_sub(start)))
        };
        if k.gates == 1 {
            // Rows are units: the whole block at once.
            let units = Units {
                j: j0,
                lanes: rows,
                valid: valid(first, rows),
            };
            self.epilogue(b, states, at, &units, vec![acc], racc.map(|r| vec![r]));
            return;
        }
        // Blocks hold whole groups of `G` vectors (the graph verifier checks it): one
        // vector of units per group, its gates consecutive vectors of the block.
        let group = k.gates * k.lanes;
        let unit0 = b.def(
            "unit0",
            Type::I64,
            Op::Int(IntOp::Div, j0, Operand::Imm(k.gates as i64)),
        );
        for c in 0..rows / group {
            let j = b.iadd("unit", unit0, Operand::Imm((c * k.lanes) as i64));
            let slices = |b: &mut Builder<'_>, acc: Reg, name: &str| -> Vec<Reg> {
                (0..k.gates)
                    .map(|g| {
                        let lane = ((c * k.gates + g) * k.lanes) as u16;
                        b.def(name, k.vty(k.lanes), Op::Slice(acc, lane))
                    })
                    .collect()
            };
            let gates = slices(b, acc, "gate");
            let recurrent = racc.map(|racc| slices(b, racc, "rgate"));
            let units = Units {
                j,
                lanes: k.lanes,
                valid: valid(first.map(|f| f / k.gates + c * k.lanes), k.lanes),
            };
            self.epilogue(b, states, at, &units, gates, recurrent);
        }
    }

    /// Biases, the cell, masking and the stores of states and output for `units`, from
    /// the gates' pre-activations `gates` (one value of `units.lanes` lanes per gate), and
    /// every gate's recurrent part apart (`recurrent`) when the cell splits gates: summed
    /// here but for the split gates.
    fn epilogue(
        &self,
        b: &mut Builder<'_>,
        states: &States,
        at: &Position,
        units: &Units,
        gates: Vec<Reg>,
        recurrent: Option<Vec<Reg>>,
    ) {
        let k = self.k;
        let (l, d) = (self.io.layer, self.r.direction);
        let ty = k.vty(units.lanes);
        let cell = self.r.cell;
        let recurrent: Vec<Option<Reg>> = match recurrent {
            None => vec![None; gates.len()],
            Some(parts) => gates
                .iter()
                .zip(parts)
                .enumerate()
                .map(|(gate, (&v, part))| {
                    if cell.is_split(gate) {
                        Some(part)
                    } else {
                        b.set(v, Op::Float(FloatOp::Add, v, part));
                        None
                    }
                })
                .collect(),
        };
        for (i, term) in self.r.bias.iter().enumerate() {
            let region = k.region(b, Key::RecBias(l, d, i));
            for (gate, &v) in gates.iter().enumerate() {
                if term.gates.contains(gate, k.gates) {
                    // `bias_hh` of a split gate goes with its recurrent part.
                    let v = match recurrent[gate] {
                        Some(part) if term.bias == BiasRef::Hh => part,
                        _ => v,
                    };
                    let row = emit_gate_row(b, gate, units.j, k.gates, k.lanes);
                    let bias = b.load("bias", ty, region, Some(row), 0);
                    b.set(v, Op::Float(FloatOp::Add, v, bias));
                }
            }
        }
        let zero = b.fconst("zero", ty, 0.0);
        // Where each state's old and new values are; the old ones loaded when first asked
        // for (by the cell, or for masking).
        let slots: RefCell<Vec<(Reg, Reg, Option<Reg>)>> = RefCell::new(Vec::new());
        let mut old = |b: &mut Builder<'_>, i: usize| -> Reg {
            let mut slots = slots.borrow_mut();
            while slots.len() <= i {
                let halves = &states.0[slots.len()];
                let sat = b.imul("sat", at.s, Operand::Imm(halves.padded as i64));
                let sat = b.iadd("sat", sat, Operand::Reg(units.j));
                let old_at = b.iadd("old_at", sat, Operand::Reg(halves.s_in));
                let new_at = b.iadd("new_at", sat, Operand::Reg(halves.s_out));
                slots.push((old_at, new_at, None));
            }
            let (old_at, _, loaded) = &mut slots[i];
            *loaded.get_or_insert_with(|| b.load("old", ty, states.0[i].buf, Some(*old_at), 0))
        };
        let input = CellInput {
            zero,
            gates,
            recurrent,
        };
        let new = k.cell.epilogue(b, &input, &mut old);
        // With `proj_size` the cell's `h` is `h_full`, before `W_hr`: stored whole (no
        // masking: only the `W_hr` stage reads it, and masks what it computes), states and
        // output left to that stage.
        let with_w_hr = k.proj_size > 0;
        if with_w_hr {
            let hfull = k.work(b, hfull_name(d));
            let at = b.imul("hf_at", at.s, Operand::Imm(k.hp as i64));
            let at = b.iadd("hf_at", at, Operand::Reg(units.j));
            b.store(hfull, Some(at), 0, new[0]);
        }
        for (i, &value) in new.iter().enumerate().skip(usize::from(with_w_hr)) {
            let previous = old(b, i);
            let new_at = slots.borrow()[i].1;
            self.store_state(b, at, (states.0[i].buf, new_at), value, previous);
        }
        if !with_w_hr {
            self.store_output(b, at, units, new[0], zero);
        }
    }

    /// The masked store of a state's new value: `value` at `new_at` of `buf` while the
    /// sequence is active at step `at.t`, else `old` (a sequence past its length keeps its
    /// states).
    pub(super) fn store_state(
        &self,
        b: &mut Builder<'_>,
        at: &Position,
        (buf, new_at): (Buf, Reg),
        value: Reg,
        old: Reg,
    ) {
        let ty = b.func.reg(value).ty;
        let kept = b.def("kept", ty, Op::Select(Cmp::Lt, at.t, at.len, value, old));
        b.store(buf, Some(new_at), 0, kept);
    }

    /// The output of step `at.t` of sequence `at.s` for `units` of the state `h`: `h` while
    /// the sequence is active, else `zero` (of `h`'s type); padding lanes are not stored.
    /// The cell's epilogue ends here, and the `W_hr` stage.
    pub(super) fn store_output(
        &self,
        b: &mut Builder<'_>,
        at: &Position,
        units: &Units,
        h: Reg,
        zero: Reg,
    ) {
        if units.valid == 0 {
            return;
        }
        let k = self.k;
        let ty = b.func.reg(h).ty;
        let out = b.def("out", ty, Op::Select(Cmp::Lt, at.t, at.len, h, zero));
        let out = if units.valid < units.lanes {
            b.def("out", k.vty(units.valid), Op::Slice(out, 0))
        } else {
            out
        };
        let row = k.row(b, at.t, at.s);
        let oat = b.imul("oat", row, Operand::Imm(self.io.out_width as i64));
        let oat = b.iadd("oat", oat, Operand::Reg(units.j));
        let direction_at = (self.r.direction * k.states[0].width) as i64;
        b.store(self.io.out, Some(oat), direction_at, out);
    }
}

/// The separate epilogue of step `t`: for every sequence, the `pre` rows of every unit
/// chunk (or the chunks `[c0, c1)` of a share) finished by the epilogue.
pub(super) fn emit_separate_epilogue(
    rec: &Recur<'_, '_>,
    b: &mut Builder<'_>,
    states: &States,
    t: Reg,
    chunk_range: Option<(Reg, Reg)>,
) {
    let k = rec.k;
    let lanes = k.lanes;
    let chunks = k.hp / lanes;
    let last = (chunks - 1) * lanes;
    b.for_loop("b", Operand::Reg(k.batch), false, |b, s| {
        let len = k.length(b, s);
        let base = b.imul("pre_at", s, Operand::Imm(k.rows as i64));
        let at = Position { t, s, len };
        let chunk = |b: &mut Builder<'_>, j0: Reg, valid: usize| {
            // The chunk's gates are `G` consecutive vectors from row `j0 * G`.
            let row = if k.gates == 1 {
                j0
            } else {
                b.imul("pre_row", j0, Operand::Imm(k.gates as i64))
            };
            let pre_at = b.iadd("pre_at", base, Operand::Reg(row));
            let d = rec.r.direction;
            let load = |b: &mut Builder<'_>, buffer: &str| -> Vec<Reg> {
                let pre = k.work(b, buffer);
                (0..k.gates)
                    .map(|g| b.load("pre", k.vty(lanes), pre, Some(pre_at), (g * lanes) as i64))
                    .collect()
            };
            let gates = load(b, pre_name(d));
            let recurrent = rec.split().then(|| load(b, rpre_name(d)));
            let units = Units {
                j: j0,
                lanes,
                valid,
            };
            rec.epilogue(b, states, &at, &units, gates, recurrent);
        };
        for_units(b, chunks, chunk_range, "jc", |b, jc, is_last| {
            if is_last {
                let j0 = b.iconst("j0", last as i64);
                chunk(b, j0, k.h - last);
            } else {
                let j0 = b.imul("j0", jc, Operand::Imm(lanes as i64));
                chunk(b, j0, lanes);
            }
        });
    });
}
