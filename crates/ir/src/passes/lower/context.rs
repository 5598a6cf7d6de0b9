//! The contexts every emitter of a kernel function takes: [`KernelCtx`] (the function's
//! parameters, sizes and views), [`LayerIo`] (where a layer reads and writes) and
//! [`Recur`] (one recurrence). They hold what the emitters share and emit nothing but
//! views and the index arithmetic of sequence rows and lengths; the stages that use them
//! (`gemm`, `input_projection`, `states`, `epilogue`, `w_hr`, `step`) sit above, and this
//! module imports only `plan` (the regions it makes views of) and the cell interface.

use std::cell::RefCell;
use std::collections::HashMap;

use rnnc_kernel::builder::Builder;
use rnnc_kernel::{Buf, BufKind, Cmp, IntOp, Op, Operand, Reg, Scalar, Size, Type};
use rnnc_spec::StateKind;

use super::cell::CellLowering;
use super::plan::{Key, Plan};
use crate::graph::Recurrence;

/// Registers and buffers shared by the emitters of one kernel function.
pub(super) struct KernelCtx<'p> {
    pub plan: &'p Plan,
    pub dtype: Scalar,
    pub lanes: usize,
    /// The target's vector registers, which register blocks fill.
    pub registers: usize,
    /// `H`.
    pub h: usize,
    /// `H` rounded up to whole vectors.
    pub hp: usize,
    /// `G`: the cell's gates.
    pub gates: usize,
    /// `G * Hp`: pre-activation rows of one direction.
    pub rows: usize,
    /// `proj_size`: the rows of an LSTM's `W_hr` (the step's `h = W_hr h_full`), 0 without.
    pub proj_size: usize,
    pub directions: usize,
    pub batch_first: bool,
    pub cell: &'static dyn CellLowering,
    /// The packed weights and the workspace: views into them are made on first use, so
    /// that a function has only the views it reads (its size, and the time to compile it,
    /// do not grow with the number of layers it does not touch). Set by
    /// `kernels::new_kernel`, read through [`KernelCtx::region`] and [`KernelCtx::work`].
    pub(super) weights: Buf,
    pub(super) work: Buf,
    pub(super) views: RefCell<HashMap<String, Buf>>,
    pub input: Buf,
    /// The cell's states, `h` first.
    pub states: Vec<StateParams>,
    pub lengths: Buf,
    pub output: Buf,
    pub seq_len: Reg,
    pub batch: Reg,
    pub ln: Reg,
    pub no_lengths: Reg,
}

impl KernelCtx<'_> {
    /// The view of a packed region (made on first use).
    pub fn region(&self, b: &mut Builder<'_>, key: Key) -> Buf {
        let r = self.plan.region(key);
        self.view(
            b,
            &r.name,
            self.weights,
            Size::fixed(r.offset),
            Size::fixed(r.len),
        )
    }
    /// The view of a workspace region (made on first use).
    pub fn work(&self, b: &mut Builder<'_>, name: &str) -> Buf {
        let (offset, len) = self.plan.work_region(name);
        self.view(b, name, self.work, offset, len)
    }
    fn view(&self, b: &mut Builder<'_>, name: &str, base: Buf, offset: Size, len: Size) -> Buf {
        if let Some(&buf) = self.views.borrow().get(name) {
            return buf;
        }
        let buf = b
            .func
            .new_buf(name, self.dtype, BufKind::View { base, offset, len });
        self.views.borrow_mut().insert(name.to_string(), buf);
        buf
    }
    pub fn vty(&self, lanes: usize) -> Type {
        Builder::vty(self.dtype, lanes)
    }
    /// Row of step `t` of sequence `s` in sequence buffers.
    pub fn row(&self, b: &mut Builder<'_>, t: Reg, s: Reg) -> Reg {
        if self.batch_first {
            let bl = b.imul("row", s, Operand::Reg(self.seq_len));
            b.iadd("row", bl, Operand::Reg(t))
        } else {
            let tn = b.imul("row", t, Operand::Reg(self.batch));
            b.iadd("row", tn, Operand::Reg(s))
        }
    }
    /// The hidden units of the vector-wide chunks `[c0, c1)`: the first, and how many
    /// (those below `H`).
    pub fn chunk_units(&self, b: &mut Builder<'_>, (c0, c1): (Reg, Reg)) -> (Reg, Reg) {
        let lanes = Operand::Imm(self.lanes as i64);
        let j0 = b.imul("j_first", c0, lanes);
        let j1 = b.imul("j_end", c1, lanes);
        let h = b.iconst("h", self.h as i64);
        let j1 = b.def("j_end", Type::I64, Op::Select(Cmp::Lt, j1, h, j1, h));
        let count = b.def(
            "count",
            Type::I64,
            Op::Int(IntOp::Sub, j1, Operand::Reg(j0)),
        );
        let zero = b.iconst("zero", 0);
        let count = b.def(
            "count",
            Type::I64,
            Op::Select(Cmp::Lt, count, zero, zero, count),
        );
        (j0, count)
    }
    /// `len_s`: the sequence's length, or `L` without lengths.
    pub fn length(&self, b: &mut Builder<'_>, s: Reg) -> Reg {
        let len = b.def("len", Type::I64, Op::Copy(self.seq_len));
        let lengths = self.lengths;
        b.if_else(
            self.no_lengths,
            |_| {},
            |b| {
                b.set(
                    len,
                    Op::Load(
                        lengths,
                        rnnc_kernel::Addr {
                            index: Some(s),
                            offset: 0,
                        },
                    ),
                )
            },
        );
        len
    }
}

/// A state's parameters and sizes in a kernel.
pub(super) struct StateParams {
    pub kind: StateKind,
    /// Features per (layer, direction) and sequence.
    pub width: usize,
    /// `width` rounded up to whole vectors: the stride of sequences in the workspace.
    pub padded: usize,
    /// The initial value (nullable) and whether it is null.
    pub initial: (Buf, Reg),
    /// The final value.
    pub last: Buf,
}

/// Where a layer reads and writes.
pub(super) struct LayerIo {
    pub layer: usize,
    pub x: Buf,
    pub x_width: usize,
    pub out: Buf,
    pub out_width: usize,
}

/// One recurrence in a kernel function: what every emitter of its steps needs.
pub(super) struct Recur<'a, 'p> {
    pub k: &'a KernelCtx<'p>,
    pub io: &'a LayerIo,
    pub r: &'a Recurrence,
    /// The column of `P` where its input projection starts, if hoisted.
    pub p_column: Option<usize>,
}

impl Recur<'_, '_> {
    /// Whether the cell keeps the recurrent part of some gates apart: then every gate's
    /// recurrent product accumulates apart from its input part, and the epilogue sums those
    /// of the gates that are not split.
    pub fn split(&self) -> bool {
        !self.r.cell.split_gates().is_empty()
    }
}
