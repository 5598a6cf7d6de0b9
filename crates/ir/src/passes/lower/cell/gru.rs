//! torch's GRU cell: gates r, z, n; state `h`;
//! `n = tanh(x_n + σ(r) (W_hn h + b_hn))`, `h' = (1 - σ(z)) n + σ(z) h`, computed as
//! `n + σ(z) (h - n)` (as ATen's fused kernel does). The recurrent part of `n` reaches the
//! cell apart from its input part: `Cell::Gru.split_gates()` is `[2]`.

use rnnc_kernel::builder::Builder;
use rnnc_kernel::{FloatOp, Op, Reg};

use super::{CellInput, CellLowering};

/// The GRU cell.
pub(super) struct Gru;

impl CellLowering for Gru {
    fn epilogue(
        &self,
        b: &mut Builder<'_>,
        input: &CellInput,
        old: &mut dyn FnMut(&mut Builder<'_>, usize) -> Reg,
    ) -> Vec<Reg> {
        let [r, z, n] = input.gates[..] else {
            unreachable!("a GRU has three gates")
        };
        let n_h = input.recurrent[2].expect("the GRU's n gate is split");
        b.set(r, Op::Sigmoid(r));
        b.set(z, Op::Sigmoid(z));
        b.set(r, Op::Float(FloatOp::Mul, r, n_h));
        b.set(n, Op::Float(FloatOp::Add, n, r));
        b.set(n, Op::Tanh(n));
        let h_old = old(b, 0);
        let d = b.def("d", b.func.reg(n).ty, Op::Float(FloatOp::Sub, h_old, n));
        b.set(z, Op::Float(FloatOp::Mul, z, d));
        b.set(n, Op::Float(FloatOp::Add, n, z));
        vec![n]
    }
}
