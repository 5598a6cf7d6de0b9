//! Kernel functions: their parameters (the forward calling convention, generated from the
//! cell's states), the prologue they share, and what they are: one function per layer
//! called by `forward`, or the phase functions of a multi-threaded schedule and of the
//! frame that replaces it for one-step calls.

use std::cell::RefCell;
use std::collections::HashMap;

use rnnc_kernel::builder::Builder;
use rnnc_kernel::{
    Buf, BufKind, Function, IntOp, Op, Operand, Param, Phase, Reg, Scalar, Size, Type,
    canonicalize_regs,
};
use rnnc_spec::{ParamKind, StateKind, param_name};

use super::calls::{Callee, dispatch};
use super::cell::lowering;
use super::context::{KernelCtx, LayerIo, Recur, StateParams};
use super::input_projection::emit_input_projection;
use super::plan::Plan;
use super::shares::{Share, Split, frame_ranges, share_range};
use super::states::States;
use crate::graph::{Graph, Layout};

/// The scalar parameters of `forward` and of every phase function.
const SCALARS: [&str; 2] = ["seq_len", "batch"];
/// The extra parameters of phase functions: the step and the share.
const PHASE_SCALARS: [&str; 3] = ["n", "part", "parts"];

/// The buffer parameters of a kernel, in calling order.
struct Params {
    weights: Buf,
    input: Buf,
    initial: Vec<Buf>,
    lengths: Buf,
    output: Buf,
    last: Vec<Buf>,
    work: Buf,
}

/// A function with the forward calling convention (and `extra` scalar parameters) and no
/// body: `(@weights, @input, @<state>0..., @lengths, @output, @<state>_n..., @work,
/// %seq_len, %batch, extra...)`, one initial and one final buffer per state of the cell.
fn kernel_signature(
    g: &Graph,
    plan: &Plan,
    name: &str,
    extra: &[&str],
) -> (Function, Params, Vec<Reg>) {
    let mut func = Function::new(name);
    let param = |func: &mut Function, name: &str, elem: Scalar, flags: (bool, bool), len: Size| {
        let (readonly, nullable) = flags;
        let kind = BufKind::Param {
            readonly,
            nullable,
            len: Some(len),
        };
        let buf = func.new_buf(name, elem, kind);
        func.params.push(Param::Buf(buf));
        buf
    };
    // Sizes in elements for a call of L steps and N sequences (`LN` = L * N).
    let per_row = |features: usize| Size {
        ln: features as u64,
        n: 0,
        c: 0,
    };
    let per_sequence = |elements: usize| Size {
        ln: 0,
        n: elements as u64,
        c: 0,
    };
    let states = g.cell().states();
    let state_len =
        |kind: StateKind| per_sequence(g.directions * g.layers.len() * g.state_size(kind));
    let (read, read_or_null, write) = ((true, false), (true, true), (false, false));
    let dtype = g.dtype;
    let weights = param(
        &mut func,
        "weights",
        dtype,
        read,
        Size::fixed(plan.packed_len),
    );
    let input = param(&mut func, "input", dtype, read, per_row(g.input_size));
    let initial = states
        .iter()
        .map(|&k| param(&mut func, k.initial(), dtype, read_or_null, state_len(k)))
        .collect();
    let lengths = param(
        &mut func,
        "lengths",
        Scalar::I64,
        read_or_null,
        per_sequence(1),
    );
    let output = param(&mut func, "output", dtype, write, per_row(g.output_size()));
    let last = states
        .iter()
        .map(|&k| param(&mut func, k.last(), dtype, write, state_len(k)))
        .collect();
    let work = param(&mut func, "work", dtype, write, plan.work_size());
    let scalars: Vec<Reg> = SCALARS
        .iter()
        .chain(extra)
        .map(|n| {
            let r = func.new_reg(n, Type::I64);
            func.params.push(Param::Scalar(r));
            r
        })
        .collect();
    let params = Params {
        weights,
        input,
        initial,
        lengths,
        output,
        last,
        work,
    };
    (func, params, scalars)
}

/// Creates a kernel function with the forward calling convention (and `extra` scalar
/// parameters) and the prologue every kernel shares; `emit` writes the body.
fn new_kernel<'p>(
    g: &Graph,
    plan: &'p Plan,
    name: &str,
    extra: &[&str],
    emit: impl FnOnce(&KernelCtx<'p>, &mut Builder<'_>, &[Reg]),
) -> Function {
    let (mut func, params, scalars) = kernel_signature(g, plan, name, extra);
    let mut b = Builder::new(&mut func);
    let (seq_len, batch) = (scalars[0], scalars[1]);
    let ln = b.imul("ln", seq_len, Operand::Reg(batch));
    let nulls: Vec<Reg> = params
        .initial
        .iter()
        .zip(g.cell().states())
        .map(|(&buf, kind)| {
            b.def(
                &format!("no_{}", kind.initial()),
                Type::I64,
                Op::IsNull(buf),
            )
        })
        .collect();
    let states = g
        .cell()
        .states()
        .iter()
        .enumerate()
        .map(|(i, &kind)| StateParams {
            kind,
            width: g.state_size(kind),
            padded: g.padded_state(kind),
            initial: (params.initial[i], nulls[i]),
            last: params.last[i],
        })
        .collect();
    let no_lengths = b.def("no_lengths", Type::I64, Op::IsNull(params.lengths));
    let ctx = KernelCtx {
        plan,
        dtype: g.dtype,
        lanes: g.lanes(),
        registers: g.target.vector_registers as usize,
        h: g.hidden_size,
        hp: g.padded_hidden(),
        gates: g.gates(),
        rows: g.padded_rows(),
        proj_size: g.proj_size,
        directions: g.directions,
        batch_first: g.batch_first,
        cell: lowering(g.cell()),
        weights: params.weights,
        work: params.work,
        views: RefCell::new(HashMap::new()),
        input: params.input,
        states,
        lengths: params.lengths,
        output: params.output,
        seq_len,
        batch,
        ln,
        no_lengths,
    };
    emit(&ctx, &mut b, &scalars[2..]);
    let body = b.finish();
    func.body = body;
    canonicalize_regs(&mut func);
    func
}

fn layer_io(g: &Graph, k: &KernelCtx<'_>, b: &mut Builder<'_>, l: usize) -> LayerIo {
    LayerIo {
        layer: l,
        x: if l == 0 {
            k.input
        } else {
            k.work(b, &format!("Y{}", (l - 1) % 2))
        },
        x_width: g.layer_input_size(l),
        out: if l + 1 == g.layers.len() {
            k.output
        } else {
            k.work(b, &format!("Y{}", l % 2))
        },
        out_width: g.output_size(),
    }
}

/// The column of `P` where a recurrence's input projection starts, if hoisted.
fn p_column(g: &Graph, l: usize, direction: usize) -> Option<usize> {
    g.layers[l]
        .projection
        .as_ref()
        .and_then(|p| p.directions.iter().position(|&d| d == direction))
        .map(|i| i * g.padded_rows())
}

/// The recurrence of direction `d` of layer `l`, in a kernel.
fn recur<'a, 'p>(
    g: &'a Graph,
    k: &'a KernelCtx<'p>,
    io: &'a LayerIo,
    l: usize,
    d: usize,
) -> Recur<'a, 'p> {
    let r = &g.layers[l].recurrences[d];
    Recur {
        k,
        io,
        r,
        p_column: p_column(g, l, r.direction),
    }
}

/// The single-threaded forward pass: one function per layer, and `forward`, which calls
/// them in order. Functions of one layer each keep code generation linear in the number
/// of layers (Cranelift's time and memory grow faster than linearly with a function's
/// size: one function for 512 layers took 4.9 GB).
pub(super) fn emit_forward(g: &Graph, plan: &Plan) -> Vec<Function> {
    let layers = (0..g.layers.len())
        .map(|l| emit_layer(g, plan, l))
        .collect();
    dispatch("forward", layers, &|name, callees| Callee {
        func: kernel_signature(g, plan, name, &[]).0,
        layers: callees.iter().flat_map(|c| c.layers.clone()).collect(),
    })
}

/// One layer of the single-threaded forward pass: its input projection, then its
/// recurrences.
fn emit_layer(g: &Graph, plan: &Plan, l: usize) -> Function {
    let layer = &g.layers[l];
    new_kernel(g, plan, &format!("layer_l{l}"), &[], |k, b, _| {
        let io = layer_io(g, k, b, l);
        if let Some(p) = &layer.projection {
            b.comment(format!(
                "layer {l}: input projection P = X W_ih^T + bias, all steps at once"
            ));
            emit_input_projection(k, b, &io, p, None);
        }
        for (d, r) in layer.recurrences.iter().enumerate() {
            b.comment(format!(
                "layer {l}: recurrence {}",
                param_name(l, r.direction, ParamKind::WeightHh)
            ));
            recur(g, k, &io, l, d).emit_recurrence(b);
        }
    })
}

/// The time step of step number `n`: `n`, or `L - 1 - n` in the reverse direction.
fn step_time(k: &KernelCtx<'_>, b: &mut Builder<'_>, direction: usize, n: Reg) -> Reg {
    if direction == 1 {
        let last = b.def(
            "last",
            Type::I64,
            Op::Int(IntOp::Sub, k.seq_len, Operand::Imm(1)),
        );
        b.def("t", Type::I64, Op::Int(IntOp::Sub, last, Operand::Reg(n)))
    } else {
        n
    }
}

/// The phase functions of a multi-threaded forward pass and their schedule.
///
/// Per layer: the input projection split between parts; then a bidirectional layer runs
/// its two directions whole, one per part (no synchronization until the layer ends); a
/// unidirectional layer initializes its states on one part, runs each time step split by
/// panels of `W_hh` (each part computes, activates and stores its rows; all parts finish a
/// step before any starts the next; with one part, one call runs every step), and copies
/// the final states on one part. An LSTM with `proj_size` adds a second stage to each
/// step, the `W_hr` stage `h = W_hr h_full` split by rows of `W_hr`, after all of `h_full`
/// is stored. Every element is computed by exactly the operations of the sequential
/// `forward`, in the same order, whatever the parts.
pub(super) fn emit_phases(g: &Graph, plan: &Plan) -> (Vec<Function>, Vec<Phase>) {
    let mut functions = Vec::new();
    let mut schedule = Vec::new();
    for (l, layer) in g.layers.iter().enumerate() {
        if let Some(p) = &layer.projection {
            let name = format!("proj_l{l}");
            functions.push(new_kernel(g, plan, &name, &PHASE_SCALARS, |k, b, s| {
                let io = layer_io(g, k, b, l);
                let share = Share {
                    part: s[1],
                    parts: s[2],
                };
                emit_input_projection(k, b, &io, p, Some(Split::Share(share)));
            }));
            schedule.push(Phase::All(name));
        }
        if layer.recurrences.len() == 2 {
            let mut names = Vec::new();
            for (d, r) in layer.recurrences.iter().enumerate() {
                let name = format!("rec_l{l}{}", if r.direction == 1 { "_reverse" } else { "" });
                functions.push(new_kernel(g, plan, &name, &PHASE_SCALARS, |k, b, _| {
                    let io = layer_io(g, k, b, l);
                    recur(g, k, &io, l, d).emit_recurrence(b);
                }));
                names.push(name);
            }
            schedule.push(Phase::Pair(names[0].clone(), names[1].clone()));
            continue;
        }
        let direction = layer.recurrences[0].direction;
        let init = format!("init_l{l}");
        functions.push(new_kernel(g, plan, &init, &PHASE_SCALARS, |k, b, _| {
            let halves = States::new(k, b, direction, None);
            halves.emit_init(k, b, (l, direction));
        }));
        // One stage of step `%n`, for the share `%part` of `%parts`.
        let stage =
            |name: &str, emit: &dyn Fn(&Recur<'_, '_>, &mut Builder<'_>, &States, Reg, Share)| {
                new_kernel(g, plan, name, &PHASE_SCALARS, |k, b, s| {
                    let io = layer_io(g, k, b, l);
                    let halves = States::new(k, b, direction, Some(s[0]));
                    let t = step_time(k, b, direction, s[0]);
                    let share = Share {
                        part: s[1],
                        parts: s[2],
                    };
                    emit(&recur(g, k, &io, l, 0), b, &halves, t, share);
                })
            };
        let mut stages = vec![format!("step_l{l}")];
        functions.push(stage(&stages[0], &|r, b, states, t, share| {
            r.emit_step(b, states, t, Some(Split::Share(share)));
        }));
        if g.proj_size > 0 {
            // `W_hr h` needs every unit of the step's `h`: a stage of its own.
            stages.push(format!("project_l{l}"));
            functions.push(stage(&stages[1], &|r, b, states, t, share| {
                r.emit_hr_stage(b, states, t, Some(share));
            }));
        }
        // With one part, all steps in one call: a call per step would cost small models
        // more than the step itself.
        let steps = format!("steps_l{l}");
        functions.push(new_kernel(g, plan, &steps, &PHASE_SCALARS, |k, b, _| {
            let io = layer_io(g, k, b, l);
            let halves = States::new(k, b, direction, None);
            recur(g, k, &io, l, 0).emit_steps(b, &halves);
        }));
        let last = format!("hn_l{l}");
        functions.push(new_kernel(g, plan, &last, &PHASE_SCALARS, |k, b, _| {
            // After L steps the state is in the half step L would read.
            let halves = States::new(k, b, direction, Some(k.seq_len));
            halves.emit_final(k, b, (l, direction));
        }));
        schedule.extend([
            Phase::One(init),
            Phase::Steps { stages, all: steps },
            Phase::One(last),
        ]);
    }
    (functions, schedule)
}

/// The phase functions of a one-step call on several parts (`Module::frame`): every part
/// owns the same whole hidden units of every layer and direction on every call, so that
/// its rows of `W_ih` and `W_hh` stay in its core's caches.
///
/// `frame_init` sets up layer 0's states, each part its share of the elements. Then per
/// layer of a unidirectional model one phase, `frame_l{l}`: for the part's units, the
/// input projection's rows of `P` and the step's products and epilogue (the same rows:
/// [`frame_ranges`]), then the final states of those units and the initial states of the
/// next layer's. A bidirectional layer's input projection splits by panels of both
/// directions' stacked rows, whose panels may straddle the two directions: it is a phase
/// of its own, `frame_proj_l{l}` (layer 0's also sets up the states, instead of
/// `frame_init`), and `frame_l{l}` runs the part's units of each direction: two barriers
/// per layer, as in the schedule. Layer `l` reads its states from half `l % 2` and writes
/// half `(l + 1) % 2`, where the next layer's initial states go, so that no part writes
/// what another reads in the same phase. With `proj_size`, `frame_hr_l{l}` follows: the
/// `W_hr` stage by rows of `h` (of each direction), then `h`'s final and next initial
/// values of those rows. Every element is computed by the operations of the sequential
/// `forward`, in the same order.
pub(super) fn emit_frame(g: &Graph, plan: &Plan) -> (Vec<Function>, Vec<String>) {
    let mut functions = Vec::new();
    let mut frame = Vec::new();
    let layers = g.layers.len();
    let share_of = |s: &[Reg]| Share {
        part: s[1],
        parts: s[2],
    };
    // Layer 0's initial states, each part its share of the elements.
    let emit_init = |k: &KernelCtx<'_>, b: &mut Builder<'_>, share: Share| {
        let zero = b.iconst("n", 0);
        for d in 0..g.directions {
            let states = States::new(k, b, d, Some(zero));
            for (which, state) in k.states.iter().enumerate() {
                // Shares of the width: the one that reaches it also takes the padding.
                let range = share_range(b, Operand::Imm(state.width as i64), share);
                states.emit_init_range(k, b, (0, d), which, range);
            }
        }
    };
    // A bidirectional layer's input projection, a phase of its own. Layer 0's states are
    // set up in `frame_init`, or in layer 0's projection phase where it has one (which
    // writes only `P`: no part reads there what another writes).
    let split_projection = |l: usize| {
        let layer = &g.layers[l];
        layer
            .projection
            .as_ref()
            .filter(|_| layer.recurrences.len() == 2)
    };
    if split_projection(0).is_none() {
        let init = "frame_init".to_string();
        functions.push(new_kernel(g, plan, &init, &PHASE_SCALARS, |k, b, s| {
            emit_init(k, b, share_of(s));
        }));
        frame.push(init);
    }
    // The states of layer `l` of direction `d` before its step (`l + 1`: the half its
    // step writes).
    let halves = |k: &KernelCtx<'_>, b: &mut Builder<'_>, l: usize, d: usize| {
        let n = b.iconst("n", l as i64);
        States::new(k, b, d, Some(n))
    };
    // The final values of layer `l`'s states `which` of direction `d` for the elements
    // `e`, then the next layer's initial values there.
    let hand_over =
        |k: &KernelCtx<'_>, b: &mut Builder<'_>, (l, d): (usize, usize), which: &[usize], e| {
            let after = halves(k, b, l + 1, d);
            for &w in which {
                after.emit_final_range(k, b, (l, d), w, e);
                if l + 1 < layers {
                    after.emit_init_range(k, b, (l + 1, d), w, e);
                }
            }
        };
    for (l, layer) in g.layers.iter().enumerate() {
        if let Some(p) = split_projection(l) {
            let name = format!("frame_proj_l{l}");
            functions.push(new_kernel(g, plan, &name, &PHASE_SCALARS, |k, b, s| {
                if l == 0 {
                    emit_init(k, b, share_of(s));
                }
                let io = layer_io(g, k, b, l);
                emit_input_projection(k, b, &io, p, Some(Split::Share(share_of(s))));
            }));
            frame.push(name);
        }
        let name = format!("frame_l{l}");
        functions.push(new_kernel(g, plan, &name, &PHASE_SCALARS, |k, b, s| {
            let io = layer_io(g, k, b, l);
            // Rows per unit of a stage's split.
            let grain = |layout: Layout| match layout {
                Layout::Panels { width } => width,
                Layout::Torch => k.gates * k.lanes,
            };
            let mut grains = vec![grain(layer.recurrences[0].layout)];
            let fused = layer
                .projection
                .as_ref()
                .filter(|_| split_projection(l).is_none());
            grains.extend(fused.map(|p| grain(p.layout)));
            let ranges = frame_ranges(b, k.rows, &grains, share_of(s));
            if let Some(p) = fused {
                let (u0, u1) = ranges[1];
                emit_input_projection(k, b, &io, p, Some(Split::Range(u0, u1)));
            }
            for (i, r) in layer.recurrences.iter().enumerate() {
                let d = r.direction;
                let states = halves(k, b, l, d);
                let t = b.iconst("t", 0);
                let (u0, u1) = ranges[0];
                let chunks =
                    recur(g, k, &io, l, i).emit_step(b, &states, t, Some(Split::Range(u0, u1)));
                let (c0, c1) = chunks.expect("a split step owns a range of chunks");
                let e0 = b.imul("e0", c0, Operand::Imm(k.lanes as i64));
                let e1 = b.imul("e1", c1, Operand::Imm(k.lanes as i64));
                let hp = b.iconst("hp", k.hp as i64);
                let e1 = super::ops::min(b, "e1", e1, hp);
                // With `proj_size`, `h` is the `W_hr` stage's, by rows of `h`.
                let first = usize::from(g.proj_size > 0);
                let which: Vec<usize> = (first..k.states.len()).collect();
                hand_over(k, b, (l, d), &which, (e0, e1));
            }
        }));
        frame.push(name);
        if g.proj_size > 0 {
            let name = format!("frame_hr_l{l}");
            functions.push(new_kernel(g, plan, &name, &PHASE_SCALARS, |k, b, s| {
                let io = layer_io(g, k, b, l);
                for (i, r) in layer.recurrences.iter().enumerate() {
                    let d = r.direction;
                    let states = halves(k, b, l, d);
                    let t = b.iconst("t", 0);
                    let rows =
                        recur(g, k, &io, l, i).emit_hr_stage(b, &states, t, Some(share_of(s)));
                    let e = rows.expect("a shared W_hr stage owns a range of rows");
                    hand_over(k, b, (l, d), &[0], e);
                }
            }));
            frame.push(name);
        }
    }
    (functions, frame)
}
