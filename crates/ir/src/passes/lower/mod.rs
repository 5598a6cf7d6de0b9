//! `lower`: the layer graph becomes the kernel IR: `pack` functions that lay torch's
//! weights out as the graph decided, and the forward pass as counted loops (one function
//! per layer and `forward`, or the phase functions of a multi-threaded schedule).
//!
//! Files by concern:
//! - `plan`: the packed buffer's regions and the workspace's;
//! - `pack`: the functions that fill the packed buffer;
//! - `kernels`: kernel functions, their parameters (generated from the cell's states),
//!   `forward` and the schedule's phases, calls through groups;
//! - `shares`: how the parts of a multi-threaded call split the work;
//! - `gemm`: the loop nests of matrix products (panel blocks, dot products) and the hoisted
//!   projection;
//! - `step`: the recurrence: states, the time loop, one step's products;
//! - `epilogue`: what follows the products (biases, the cell, masking, stores);
//! - `cell` and one file per cell (`elman`, `lstm`, `gru`): the cell-specific part of the
//!   epilogue.
//!
//! Memory the kernels use (element counts; `Hp` is `H` rounded up to whole vectors, `G`
//! the cell's gates):
//! - packed weights: per node, its matrices in the node's layout and its bias vectors
//!   (`G * Hp` per direction, zero-padded; a folded bias is `bias_ih + bias_hh`, summed by
//!   `pack`);
//! - workspace: `P` (`LN x (directions x G * Hp)`, hoisted projections), `Y0`/`Y1` (outputs
//!   of inner layers, in the input's row order), per direction a double-buffered state
//!   (`2 x N x Hp`), and `pre` (`N x G * Hp`) for separate epilogues.
//!
//! Gate rows: the `G * H` rows of a layer's weights and biases (torch stacks gate blocks of
//! `H` rows) are packed gate-interleaved by vectors: the rows of gate `g` for hidden units
//! `[c * lanes, (c + 1) * lanes)` are rows `[(c * G + g) * lanes, ...)` of the packed
//! matrix and of `P`, so that the `G` pre-activations of a vector of units sit in `G`
//! consecutive vectors, where the epilogue finds them together. The products are
//! cell-agnostic loops over `G * Hp` rows. With one gate the interleaving is the identity.
//!
//! Rows of sequence buffers (input, `Y`, output, `P`) are `t * N + b` (time-major) or
//! `b * L + t` (batch-first): one order for all of them, so a projection is one GEMM over
//! `LN` rows whatever the layout. Lanes past `H` in padded buffers may hold anything: no
//! loop reads them as inputs (reductions stop at `H`) and no store copies them to a user
//! buffer.
//!
//! Masking for variable lengths: at step `t`, sequence `b` is active iff `t < len_b`
//! (`len_b = L` without lengths). An inactive sequence keeps its states and outputs zero,
//! which also starts the reverse direction at its last valid step.

mod calls;
mod cell;
mod context;
mod epilogue;
mod gemm;
mod input_projection;
mod kernels;
mod ops;
mod pack;
mod plan;
mod shares;
mod states;
mod step;
mod w_hr;

use rnnc_kernel::{Module, StateInfo};

use crate::graph::Graph;
use plan::Plan;

/// Lowers a graph to a module of `pack` and `forward`, or for multi-threaded execution
/// (`parallel`) of `pack` and the phase functions of a schedule, which run with one part
/// serve single-threaded calls too: one copy of the code instead of two halves the compile
/// time.
pub fn lower(g: &Graph, parallel: bool) -> Module {
    let plan = Plan::new(g);
    let mut functions = pack::emit_pack(g, &plan);
    let mut schedule = Vec::new();
    if parallel {
        let (phases, phase_schedule) = kernels::emit_phases(g, &plan);
        functions.extend(phases);
        schedule = phase_schedule;
    } else {
        functions.extend(kernels::emit_forward(g, &plan));
    }
    let states = g
        .cell()
        .states()
        .iter()
        .map(|&kind| StateInfo {
            name: kind.name().to_string(),
            width: g.state_size(kind) as u64,
            layers: g.layers.len() as u64,
            directions: g.directions as u64,
        })
        .collect();
    Module {
        name: g.name.clone(),
        dtype: g.dtype,
        target: g.target,
        packed_len: plan.packed_len,
        work: plan.work_size(),
        states,
        functions,
        schedule,
    }
}
