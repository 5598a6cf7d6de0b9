//! The cell-specific part of lowering, behind one interface: everything else (products
//! over `G * Hp` rows, biases, masking, stores, threads) is the same for every cell.
//!
//! A new cell implements [`CellLowering`] in a file of its own (`elman`, `lstm`, `gru`)
//! and is named in [`lowering`].
//!
//! Imports: the cell files take only this module's interface ([`CellInput`],
//! [`CellLowering`]), and this module names their types only in [`lowering`]; nothing in
//! `cell` imports the rest of `lower`, which sees a cell only through the interface.

mod elman;
mod gru;
mod lstm;

use rnnc_kernel::Reg;
use rnnc_kernel::builder::Builder;
use rnnc_spec::{Cell, Nonlinearity};

use elman::Elman;
use gru::Gru;
use lstm::Lstm;

/// What a cell's epilogue gets for a vector of hidden units of one sequence at one step.
pub(super) struct CellInput {
    /// Zeros of `ty`.
    pub zero: Reg,
    /// Each gate's pre-activation (products and biases), in torch's gate order; for a gate
    /// the cell keeps split (`Cell::split_gates`), its input part only.
    pub gates: Vec<Reg>,
    /// Per gate, the recurrent part (`W_h* h + b_h*`) of a split gate; `None` for the
    /// others (whose recurrent part is in `gates`).
    pub recurrent: Vec<Option<Reg>>,
}

/// The cell's arithmetic between the gates' pre-activations and the new states.
pub(super) trait CellLowering: Sync {
    /// Emits the new value of every state (in `Cell::states` order, `h` first, which is
    /// also the output) from `input`; `old(b, i)` gives the value of state `i` before the
    /// step. Masking and stores are the caller's.
    fn epilogue(
        &self,
        b: &mut Builder<'_>,
        input: &CellInput,
        old: &mut dyn FnMut(&mut Builder<'_>, usize) -> Reg,
    ) -> Vec<Reg>;
}

/// The lowering of `cell`.
pub(super) fn lowering(cell: Cell) -> &'static dyn CellLowering {
    match cell {
        Cell::Rnn(Nonlinearity::Tanh) => &Elman(Nonlinearity::Tanh),
        Cell::Rnn(Nonlinearity::Relu) => &Elman(Nonlinearity::Relu),
        Cell::Lstm => &Lstm,
        Cell::Gru => &Gru,
    }
}
