//! `lower`: the layer graph becomes the kernel IR: `pack` functions that lay torch's
//! weights out as the graph decided, and the forward pass as counted loops (one function
//! per layer and `forward`, or the phase functions of a multi-threaded schedule and of the
//! frame, which one-step calls on several threads run instead).
//!
//! Modules in layering order, lowest first. **Invariant**: a module imports, and calls
//! methods defined in, only modules listed before it; this one, the driver, comes after
//! all of them and nothing imports it. The emitters share state only through the contexts
//! of `context`, so the lowering is a DAG and each module reads with only those before it.
//! `impl Recur` is spread over the stages on purpose: each stage owns the methods it
//! emits and calls only those of earlier stages. Inside `cell`, the cell files implement
//! the interface their parent `cell/mod.rs` defines and import nothing else of `lower`;
//! the parent names them only in its dispatch.
//! - `plan`: the packed buffer's regions and the workspace's (data only);
//! - `ops`: short instruction sequences: copies, the packed row of a gate's row, `min`;
//! - `calls`: calls between generated functions, through groups of bounded size;
//! - `cell` (`cell/mod.rs`, with `elman`, `lstm`, `gru` beneath it): the cell-specific
//!   part of the epilogue behind one interface;
//! - `shares`: how the parts of a multi-threaded call split the work (`ops`);
//! - `context`: the contexts every emitter takes: `KernelCtx`, `LayerIo`, `Recur`
//!   (`plan`, `cell`);
//! - `states`: a recurrence's double-buffered states, their initial and final values;
//! - `gemm`: the loop nests of matrix products (panel blocks, dot products);
//! - `input_projection`: phase A, the hoisted `P = X W_ih^T + bias` over all steps;
//! - `epilogue`: what follows a step's products (biases, the cell, masking, stores);
//! - `w_hr`: an LSTM's `W_hr` stage with `proj_size`, `h = W_hr h_full`, after each step;
//! - `step`: the recurrence: the time loop and one step's products;
//! - `kernels`: kernel functions, their parameters (generated from the cell's states) and
//!   shared prologue, `forward`, the schedule's phases and the frame's functions;
//! - `pack`: the functions that fill the packed buffer.
//!
//! Two products are called projections in torch and here kept apart by name: the *input
//! projection* `P = X W_ih^T` (phase A, `input_projection`, the workspace `P`) and an
//! LSTM's `proj_size` output `h = W_hr h_full` (the `W_hr` stage, `w_hr`).
//!
//! Memory the kernels use (element counts; `Hp` is `H` rounded up to whole vectors, `G`
//! the cell's gates):
//! - packed weights: per node, its matrices in the node's layout and its bias vectors
//!   (`G * Hp` per direction, zero-padded; a folded bias is `bias_ih + bias_hh`, summed by
//!   `pack`);
//! - workspace: `P` (`LN x (directions x G * Hp)`, hoisted input projections), `Y0`/`Y1`
//!   (outputs of inner layers, in the input's row order), per direction a double buffer
//!   per state of the cell (`2 x N x` its padded width), `hfull` (`N x Hp`, `h` before
//!   `W_hr`, with `proj_size`), and `pre` (`N x G * Hp`, with `rpre` for a cell that
//!   splits gates) for separate epilogues.
//!
//! Gate rows: the `G * H` rows of a layer's weights and biases (torch stacks gate blocks of
//! `H` rows) are packed gate-interleaved by vectors: the rows of gate `g` for hidden units
//! `[c * lanes, (c + 1) * lanes)` are rows `[(c * G + g) * lanes, ...)` of the packed
//! matrix and of `P`, so that the `G` pre-activations of a vector of units sit in `G`
//! consecutive vectors, where the epilogue finds them together. The products are
//! cell-agnostic loops over `G * Hp` rows. With one gate the interleaving is the identity.
//!
//! Rows of sequence buffers (input, `Y`, output, `P`) are `t * N + b` (time-major) or
//! `b * L + t` (batch-first): one order for all of them, so an input projection is one GEMM
//! over `LN` rows whatever the layout. Lanes past `H` in padded buffers may hold anything:
//! no loop reads them as inputs (reductions stop at `H`) and no store copies them to a
//! user buffer.
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
    let mut frame = Vec::new();
    if parallel {
        let (phases, phase_schedule) = kernels::emit_phases(g, &plan);
        functions.extend(phases);
        schedule = phase_schedule;
        let (phases, frame_phases) = kernels::emit_frame(g, &plan);
        functions.extend(phases);
        frame = frame_phases;
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
        frame,
    }
}
