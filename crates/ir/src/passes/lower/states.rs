//! A recurrence's states in the workspace: per state a double buffer of two halves, the
//! one a step reads (`s_in`) and the one it writes (`s_out`), swapped after each step; the
//! initial values copied in before the first step and the final values copied out after
//! the last.

use rnnc_kernel::builder::Builder;
use rnnc_kernel::{BitOp, Buf, Cmp, IntOp, Op, Operand, Reg, Type};

use super::context::{KernelCtx, StateParams};
use super::ops::{at_least_zero, copy_elems, min};
use super::plan::state_name;

/// One state's double buffer in a recurrence: `buf[s_in + b * padded + j]` is the state
/// before the step, and the step writes the new one at `s_out`.
pub(super) struct Halves {
    pub buf: Buf,
    pub padded: usize,
    pub s_in: Reg,
    pub s_out: Reg,
}

/// The double buffers of every state of the cell, `h` first.
pub(super) struct States(pub Vec<Halves>);

impl States {
    /// The halves of direction `d` before step number `n` (`n & 1` selects them), or before
    /// the first step when `n` is `None`.
    pub fn new(k: &KernelCtx<'_>, b: &mut Builder<'_>, d: usize, n: Option<Reg>) -> States {
        States(
            k.states
                .iter()
                .map(|state| {
                    let buf = k.work(b, &state_name(state.kind, d));
                    let half = b.imul("half", k.batch, Operand::Imm(state.padded as i64));
                    // Registers of their own: the sequential forward swaps them after every
                    // step.
                    let (s_in, s_out) = match n {
                        None => (
                            b.iconst("s_in", 0),
                            b.def("s_out", Type::I64, Op::Copy(half)),
                        ),
                        Some(n) => {
                            let one = b.iconst("one", 1);
                            let odd = b.def("odd", Type::I64, Op::Bits(BitOp::And, n, one));
                            let s_in = b.def(
                                "s_in",
                                Type::I64,
                                Op::Int(IntOp::Mul, odd, Operand::Reg(half)),
                            );
                            let s_out = b.def(
                                "s_out",
                                Type::I64,
                                Op::Int(IntOp::Sub, half, Operand::Reg(s_in)),
                            );
                            (s_in, s_out)
                        }
                    };
                    Halves {
                        buf,
                        padded: state.padded,
                        s_in,
                        s_out,
                    }
                })
                .collect(),
        )
    }

    /// `h`'s halves: what the recurrent product reads.
    pub fn h(&self) -> &Halves {
        &self.0[0]
    }

    /// After a step: the new states become the old ones.
    pub fn swap(&self, b: &mut Builder<'_>) {
        for halves in &self.0 {
            let tmp = b.def("tmp", Type::I64, Op::Copy(halves.s_in));
            b.set(halves.s_in, Op::Copy(halves.s_out));
            b.set(halves.s_out, Op::Copy(tmp));
        }
    }
}

/// Where sequence `s`'s row of (layer, direction) row `index` starts in a caller's state
/// buffer (`[layers * D][batch][width]`, torch's layout).
fn caller_row(k: &KernelCtx<'_>, b: &mut Builder<'_>, index: i64, s: Reg, width: usize) -> Reg {
    let row = b.imul("hrow", k.batch, Operand::Imm(index));
    let row = b.iadd("hrow", row, Operand::Reg(s));
    b.imul("hrow", row, Operand::Imm(width as i64))
}

/// For each state and sequence `s` of the batch: `body(b, state, halves, s, base)`, with
/// `base` where `s`'s value starts in the state's `s_in` half.
fn for_each_sequence(
    k: &KernelCtx<'_>,
    b: &mut Builder<'_>,
    states: &States,
    mut body: impl FnMut(&mut Builder<'_>, &StateParams, &Halves, Reg, Reg),
) {
    for (state, halves) in k.states.iter().zip(&states.0) {
        b.for_loop("b", Operand::Reg(k.batch), false, |b, s| {
            let base = b.imul("sbase", s, Operand::Imm(halves.padded as i64));
            let base = b.iadd("sbase", base, Operand::Reg(halves.s_in));
            body(b, state, halves, s, base);
        });
    }
}

impl States {
    /// The states before the first step of layer `at.0`, direction `at.1`: the initial values
    /// given, or zeros (padding lanes zeroed too), in the `s_in` halves.
    pub(super) fn emit_init(&self, k: &KernelCtx<'_>, b: &mut Builder<'_>, at: (usize, usize)) {
        let index = (at.0 * k.directions + at.1) as i64;
        for_each_sequence(k, b, self, |b, state, halves, s, base| {
            let zero = b.fconst("zero", k.vty(k.lanes), 0.0);
            b.for_loop(
                "c",
                Operand::Imm((halves.padded / k.lanes) as i64),
                false,
                |b, c| {
                    let i = b.imul("i", c, Operand::Imm(k.lanes as i64));
                    let i = b.iadd("i", i, Operand::Reg(base));
                    b.store(halves.buf, Some(i), 0, zero);
                },
            );
            let (initial, none) = state.initial;
            b.if_else(
                none,
                |_| {},
                |b| {
                    let row = caller_row(k, b, index, s, state.width);
                    copy_elems(
                        b,
                        k.dtype,
                        k.lanes,
                        (initial, Some(row)),
                        (halves.buf, Some(base)),
                        state.width,
                    );
                },
            );
        });
    }

    /// The final states (`h_n`, ...): the `s_in` halves, after each sequence's last valid step.
    pub(super) fn emit_final(&self, k: &KernelCtx<'_>, b: &mut Builder<'_>, at: (usize, usize)) {
        let index = (at.0 * k.directions + at.1) as i64;
        for_each_sequence(k, b, self, |b, state, halves, s, base| {
            let row = caller_row(k, b, index, s, state.width);
            copy_elems(
                b,
                k.dtype,
                k.lanes,
                (halves.buf, Some(base)),
                (state.last, Some(row)),
                state.width,
            );
        });
    }
}

/// For each sequence `s` of the batch and element `i` of `[e0, e1)`:
/// `body(b, s, base, i)`, with `base` where `s`'s value starts in the `s_in` half.
fn for_each_element(
    k: &KernelCtx<'_>,
    b: &mut Builder<'_>,
    halves: &Halves,
    (e0, e1): (Reg, Reg),
    mut body: impl FnMut(&mut Builder<'_>, Reg, Reg, Reg),
) {
    let count = b.def(
        "count",
        Type::I64,
        Op::Int(IntOp::Sub, e1, Operand::Reg(e0)),
    );
    let count = at_least_zero(b, "count", count);
    b.for_loop("b", Operand::Reg(k.batch), false, |b, s| {
        let base = b.imul("sbase", s, Operand::Imm(halves.padded as i64));
        let base = b.iadd("sbase", base, Operand::Reg(halves.s_in));
        b.for_loop("e", Operand::Reg(count), false, |b, e| {
            let i = b.iadd("i", e, Operand::Reg(e0));
            body(b, s, base, i);
        });
    });
}

impl States {
    /// [`States::emit_init`] of state `which` for the elements `[e0, e1)` of every
    /// sequence (padded; a range that reaches the state's width also takes its padding),
    /// so that parts can each set up their own elements.
    pub(super) fn emit_init_range(
        &self,
        k: &KernelCtx<'_>,
        b: &mut Builder<'_>,
        at: (usize, usize),
        which: usize,
        (e0, e1): (Reg, Reg),
    ) {
        let index = (at.0 * k.directions + at.1) as i64;
        let (state, halves) = (&k.states[which], &self.0[which]);
        let sty = Type::scalar(k.dtype);
        let width = b.iconst("width", state.width as i64);
        let padded = b.iconst("padded", halves.padded as i64);
        let to_padding = b.def("e1", Type::I64, Op::Select(Cmp::Lt, e1, width, e1, padded));
        for_each_element(k, b, halves, (e0, to_padding), |b, _, base, i| {
            let zero = b.fconst("zero", sty, 0.0);
            let di = b.iadd("di", base, Operand::Reg(i));
            b.store(halves.buf, Some(di), 0, zero);
        });
        let (initial, none) = state.initial;
        let end = min(b, "e1", e1, width);
        b.if_else(
            none,
            |_| {},
            |b| {
                for_each_element(k, b, halves, (e0, end), |b, s, base, i| {
                    let row = caller_row(k, b, index, s, state.width);
                    let si = b.iadd("si", row, Operand::Reg(i));
                    let v = b.load("v", sty, initial, Some(si), 0);
                    let di = b.iadd("di", base, Operand::Reg(i));
                    b.store(halves.buf, Some(di), 0, v);
                });
            },
        );
    }

    /// [`States::emit_final`] of state `which` for the elements `[e0, e1)` of every
    /// sequence (those of them below the state's width).
    pub(super) fn emit_final_range(
        &self,
        k: &KernelCtx<'_>,
        b: &mut Builder<'_>,
        at: (usize, usize),
        which: usize,
        (e0, e1): (Reg, Reg),
    ) {
        let index = (at.0 * k.directions + at.1) as i64;
        let (state, halves) = (&k.states[which], &self.0[which]);
        let sty = Type::scalar(k.dtype);
        let width = b.iconst("width", state.width as i64);
        let end = min(b, "e1", e1, width);
        for_each_element(k, b, halves, (e0, end), |b, s, base, i| {
            let si = b.iadd("si", base, Operand::Reg(i));
            let v = b.load("v", sty, halves.buf, Some(si), 0);
            let row = caller_row(k, b, index, s, state.width);
            let di = b.iadd("di", row, Operand::Reg(i));
            b.store(state.last, Some(di), 0, v);
        });
    }
}
