//! How the parts of a multi-threaded call split the work: contiguous ranges of units
//! (panels, vector-wide row chunks, rows of `P`), each unit owned by exactly one part.

use rnnc_kernel::builder::Builder;
use rnnc_kernel::{Cmp, IntOp, Op, Operand, Reg, Type};

use super::ops::{at_least_zero, min};

/// Which share of the work a phase function computes: part `part` of `parts`, a
/// contiguous range of panels (or of vector-wide row chunks, or of rows of `P`).
#[derive(Clone, Copy)]
pub(super) struct Share {
    pub part: Reg,
    pub parts: Reg,
}

/// The units `[u0, u1)` of `n` that a share owns: `part * n / parts` up to
/// `(part + 1) * n / parts`, so that the parts cover every unit exactly once.
pub(super) fn share_range(b: &mut Builder<'_>, n: Operand, share: Share) -> (Reg, Reg) {
    let n = match n {
        Operand::Reg(r) => r,
        Operand::Imm(v) => b.iconst("units", v),
    };
    let a = b.imul("u0", share.part, Operand::Reg(n));
    let u0 = b.def(
        "u0",
        Type::I64,
        Op::Int(IntOp::Div, a, Operand::Reg(share.parts)),
    );
    let next = b.iadd("u1", share.part, Operand::Imm(1));
    let c = b.imul("u1", next, Operand::Reg(n));
    let u1 = b.def(
        "u1",
        Type::I64,
        Op::Int(IntOp::Div, c, Operand::Reg(share.parts)),
    );
    (u0, u1)
}

/// Runs `body(panel, panel width, first row if it is the last panel)` for the panels of a
/// matrix of `rows` padded rows in `range` (a share's, from `panel_range`; all without
/// one). The last panel is emitted on its own, so that its rows are known statically.
pub(super) fn for_panels(
    b: &mut Builder<'_>,
    rows: usize,
    width: usize,
    range: Option<(Reg, Reg)>,
    mut body: impl FnMut(&mut Builder<'_>, Reg, usize, Option<usize>),
) {
    let n = rows.div_ceil(width);
    let last_width = rows - (n - 1) * width;
    let last_row = (n - 1) * width;
    for_units(b, n, range, "panel", |b, p, is_last| {
        if is_last {
            body(b, p, last_width, Some(last_row));
        } else {
            body(b, p, width, None);
        }
    });
}

/// The panels `[u0, u1)` of a matrix of `rows` padded rows that a share owns.
pub(super) fn panel_range(
    b: &mut Builder<'_>,
    rows: usize,
    width: usize,
    share: Share,
) -> (Reg, Reg) {
    share_range(b, Operand::Imm(rows.div_ceil(width) as i64), share)
}

/// Runs `unit(u, false)` for the units `u < n - 1` that `range` (`[u0, u1)`, every unit
/// without one) owns, then `unit(n - 1, true)` if it owns the last unit, which is emitted on
/// its own so that its size is known statically.
pub(super) fn for_units(
    b: &mut Builder<'_>,
    n: usize,
    range: Option<(Reg, Reg)>,
    name: &str,
    mut unit: impl FnMut(&mut Builder<'_>, Reg, bool),
) {
    let last = |b: &mut Builder<'_>, unit: &mut dyn FnMut(&mut Builder<'_>, Reg, bool)| {
        let u = b.iconst(name, n as i64 - 1);
        unit(b, u, true);
    };
    match range {
        None => {
            if n > 1 {
                b.for_range(name, n - 1, |b, u| unit(b, u, false));
            }
            last(b, &mut unit);
        }
        Some((u0, u1)) => {
            if n > 1 {
                let full = b.iconst("full", n as i64 - 1);
                let hi = min(b, "hi", u1, full);
                let count = b.def(
                    "count",
                    Type::I64,
                    Op::Int(IntOp::Sub, hi, Operand::Reg(u0)),
                );
                let count = at_least_zero(b, "count", count);
                b.for_loop("q", Operand::Reg(count), false, |b, q| {
                    let u = b.iadd(name, q, Operand::Reg(u0));
                    unit(b, u, false);
                });
            }
            // The part whose range ends at n owns the last unit.
            let all = b.iconst("units", n as i64);
            let owner = owner_of_last(b, u1, all);
            b.if_else(owner, |b| last(b, &mut unit), |_| {});
        }
    }
}

/// 1 if a share's range ends at `n` (it owns the last unit), else 0.
fn owner_of_last(b: &mut Builder<'_>, u1: Reg, n: Reg) -> Reg {
    let (zero, one) = (b.iconst("no", 0), b.iconst("yes", 1));
    b.def("owner", Type::I64, Op::Select(Cmp::Lt, u1, n, zero, one))
}

/// Which rows a share of a phase owns: computed from the share by the stage's own rule,
/// or a range given in the stage's units (panels, or vector-wide unit chunks in torch
/// layout), so that two stages of one phase own the same rows (see [`frame_ranges`]).
#[derive(Clone, Copy)]
pub(super) enum Split {
    Share(Share),
    Range(Reg, Reg),
}

/// The ranges of a one-step call's share in each of `grains` (rows per unit of a stage:
/// a panel's width, or a torch-layout chunk's `G * lanes`) over `rows` rows: the share
/// owns whole blocks of `lcm(grains)` rows, so that every stage's range covers the same
/// rows and a part reads in one stage only what it wrote in the one before.
pub(super) fn frame_ranges(
    b: &mut Builder<'_>,
    rows: usize,
    grains: &[usize],
    share: Share,
) -> Vec<(Reg, Reg)> {
    let block = grains.iter().fold(1, |a, &g| lcm(a, g));
    let (s0, s1) = share_range(b, Operand::Imm(rows.div_ceil(block) as i64), share);
    grains
        .iter()
        .map(|&g| {
            let per = (block / g) as i64;
            (
                b.imul("u0", s0, Operand::Imm(per)),
                b.imul("u1", s1, Operand::Imm(per)),
            )
        })
        .collect()
}

fn lcm(a: usize, b: usize) -> usize {
    let gcd = |mut x: usize, mut y: usize| {
        while y != 0 {
            (x, y) = (y, x % y);
        }
        x
    };
    a / gcd(a, b) * b
}
