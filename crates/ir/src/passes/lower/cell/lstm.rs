//! torch's LSTM cell: gates i, f, g, o; states `h` and `c`;
//! `c' = σ(f) c + σ(i) tanh(g)`, `h' = σ(o) tanh(c')`. With `proj_size` the `h'` returned
//! here is `h_full`, before `W_hr`, which the `W_hr` stage (`w_hr`) multiplies once every
//! unit of it is known.

use rnnc_kernel::builder::Builder;
use rnnc_kernel::{FloatOp, Op, Reg};

use super::{CellInput, CellLowering};

/// The LSTM cell.
pub(super) struct Lstm;

impl CellLowering for Lstm {
    fn epilogue(
        &self,
        b: &mut Builder<'_>,
        input: &CellInput,
        old: &mut dyn FnMut(&mut Builder<'_>, usize) -> Reg,
    ) -> Vec<Reg> {
        let [i, f, g, o] = input.gates[..] else {
            unreachable!("an LSTM has four gates")
        };
        for gate in [i, f, o] {
            b.set(gate, Op::Sigmoid(gate));
        }
        b.set(g, Op::Tanh(g));
        let c_old = old(b, 1);
        // torch's order: f * c + i * g, each product rounded, then their sum.
        b.set(f, Op::Float(FloatOp::Mul, f, c_old));
        b.set(i, Op::Float(FloatOp::Mul, i, g));
        b.set(f, Op::Float(FloatOp::Add, f, i));
        let c = f;
        b.set(g, Op::Tanh(c));
        b.set(o, Op::Float(FloatOp::Mul, o, g));
        vec![o, c]
    }
}
