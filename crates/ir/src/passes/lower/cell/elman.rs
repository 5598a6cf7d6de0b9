//! Elman's cell (`torch.nn.RNN`): one gate, one state, `h' = act(pre)`.

use rnnc_kernel::builder::Builder;
use rnnc_kernel::{Cmp, Op, Reg};
use rnnc_spec::Nonlinearity;

use super::{CellInput, CellLowering};

/// The Elman cell with its activation.
pub(super) struct Elman(pub Nonlinearity);

impl CellLowering for Elman {
    fn epilogue(
        &self,
        b: &mut Builder<'_>,
        input: &CellInput,
        _old: &mut dyn FnMut(&mut Builder<'_>, usize) -> Reg,
    ) -> Vec<Reg> {
        let v = input.gates[0];
        match self.0 {
            Nonlinearity::Tanh => b.set(v, Op::Tanh(v)),
            // v < 0 ? 0 : v keeps NaN (the comparison is false) as torch's relu does.
            Nonlinearity::Relu => b.set(v, Op::Select(Cmp::Lt, v, input.zero, input.zero, v)),
        }
        vec![v]
    }
}
