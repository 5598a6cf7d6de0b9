//! `pack`: the functions that lay torch's parameters out in the packed buffer as the plan
//! says: one per layer, and `pack`, which takes every parameter in `state_dict` order and
//! calls them (functions of bounded size, as for `forward`).

use rnnc_kernel::builder::Builder;
use rnnc_kernel::{
    BufKind, Cmp, FloatOp, Function, IntOp, Op, Operand, Param, Size, Type, canonicalize_regs,
};
use rnnc_spec::{ParamKind, StateKind, param_name, state_dict_order};

use super::calls::{Callee, dispatch};
use super::ops::{copy_elems, emit_gate_row};
use super::plan::{Content, Plan};
use crate::graph::{Graph, Layout};

/// A function taking torch's parameters `params` (read-only, in order) and the packed
/// buffer, with no body: the function, the parameters' buffers, the packed buffer.
fn pack_signature(
    g: &Graph,
    plan: &Plan,
    name: &str,
    params: &[(usize, usize, ParamKind)],
) -> (Function, Vec<rnnc_kernel::Buf>, rnnc_kernel::Buf) {
    let mut func = Function::new(name);
    let param = |func: &mut Function, name: &str, readonly: bool, len: u64| {
        let kind = BufKind::Param {
            readonly,
            nullable: false,
            len: Some(Size::fixed(len)),
        };
        let buf = func.new_buf(name, g.dtype, kind);
        func.params.push(Param::Buf(buf));
        buf
    };
    let rows = (g.gates() * g.hidden_size) as u64;
    let sources = params
        .iter()
        .map(|&(l, d, k)| {
            let len = match k {
                ParamKind::WeightIh => rows * g.layer_input_size(l) as u64,
                ParamKind::WeightHh => rows * g.recurrent_size() as u64,
                ParamKind::BiasIh | ParamKind::BiasHh => rows,
                ParamKind::WeightHr => (g.proj_size * g.hidden_size) as u64,
            };
            param(&mut func, &param_name(l, d, k), true, len)
        })
        .collect();
    let packed = param(&mut func, "packed", false, plan.packed_len);
    (func, sources, packed)
}

/// `pack` and the per-layer functions it calls.
pub(super) fn emit_pack(g: &Graph, plan: &Plan) -> Vec<Function> {
    let params = state_dict_order(g.layers.len(), g.directions, g.bias, g.proj_size > 0);
    let of_layers = |layers: &[usize]| -> Vec<_> {
        params
            .iter()
            .copied()
            .filter(|p| layers.contains(&p.0))
            .collect()
    };
    let layers: Vec<Function> = (0..g.layers.len())
        .map(|l| emit_pack_layer(g, plan, l, &of_layers(&[l])))
        .collect();
    // A function calling a group of layers takes those layers' parameters.
    dispatch("pack", layers, &|name, callees| {
        let mut covered: Vec<usize> = Vec::new();
        for c in callees {
            covered.extend(c.layers.iter().copied());
        }
        let (func, _, _) = pack_signature(g, plan, name, &of_layers(&covered));
        Callee {
            func,
            layers: covered,
        }
    })
}

/// The part of `pack` for layer `l`, whose torch parameters are `params`.
fn emit_pack_layer(
    g: &Graph,
    plan: &Plan,
    l: usize,
    params: &[(usize, usize, ParamKind)],
) -> Function {
    let (mut func, bufs, packed) = pack_signature(g, plan, &format!("pack_l{l}"), params);
    let sources: Vec<_> = params.iter().copied().zip(bufs).collect();
    let regions: Vec<_> = plan
        .regions
        .iter()
        .filter(|r| r.content.layer() == l)
        .collect();
    let views: Vec<_> = regions
        .iter()
        .map(|r| {
            func.new_buf(
                &r.name,
                g.dtype,
                BufKind::View {
                    base: packed,
                    offset: Size::fixed(r.offset),
                    len: Size::fixed(r.len),
                },
            )
        })
        .collect();
    let source = |l: usize, d: usize, k: ParamKind| {
        sources
            .iter()
            .find(|(p, _)| *p == (l, d, k))
            .map(|(_, b)| *b)
            .expect("the model has every parameter the graph uses")
    };
    let (h, lanes, gates) = (g.hidden_size, g.lanes(), g.gates());
    let padded_rows = g.padded_rows();
    let scalar = Type::scalar(g.dtype);
    let mut b = Builder::new(&mut func);
    for (region, &view) in regions.iter().zip(&views) {
        b.comment(format!("@{}: {:?}", region.name, region.content));
        match &region.content {
            Content::Matrix {
                layer,
                kind,
                dirs,
                cols,
                layout: Layout::Torch,
            } => {
                let rows = match kind {
                    ParamKind::WeightHr => g.proj_size,
                    _ => gates * h,
                };
                for (i, &d) in dirs.iter().enumerate() {
                    let at = b.iconst("at", (i * rows * cols) as i64);
                    copy_elems(
                        &mut b,
                        g.dtype,
                        lanes,
                        (source(*layer, d, *kind), None),
                        (view, Some(at)),
                        rows * cols,
                    );
                }
            }
            Content::Matrix {
                layer,
                kind,
                dirs,
                cols,
                layout: Layout::Panels { width },
            } => {
                // Zero everything (padding rows), then place each real element:
                // stacked row r = i * G * Hp + gate row lives in panel r / width at
                // column k. An LSTM's `weight_hr` is one "gate" of `proj_size` rows.
                let zero = b.fconst("zero", scalar, 0.0);
                b.for_loop("e", Operand::Imm(region.len as i64), false, |b, e| {
                    b.store(view, Some(e), 0, zero);
                });
                let (gates, h, padded_rows) = match kind {
                    ParamKind::WeightHr => (1, g.proj_size, g.padded_state(StateKind::H)),
                    _ => (gates, h, padded_rows),
                };
                let rows = dirs.len() * padded_rows;
                let full = (rows / width) as i64;
                let (cols, width) = (*cols as i64, *width as i64);
                for (i, &d) in dirs.iter().enumerate() {
                    let src = source(*layer, d, *kind);
                    for gate in 0..gates {
                        b.for_loop("j", Operand::Imm(h as i64), false, |b, j| {
                            let grow = emit_gate_row(b, gate, j, gates, lanes);
                            let row = b.iadd("row", grow, Operand::Imm((i * padded_rows) as i64));
                            let panel = b.def(
                                "panel",
                                Type::I64,
                                Op::Int(IntOp::Div, row, Operand::Imm(width)),
                            );
                            let first = b.imul("first", panel, Operand::Imm(width));
                            let r = b.def(
                                "r",
                                Type::I64,
                                Op::Int(IntOp::Sub, row, Operand::Reg(first)),
                            );
                            // Panels before the last are full; the last holds the rest.
                            let full_w = b.iconst("full_w", width);
                            let tail_w = b.iconst("tail_w", rows as i64 - full * width);
                            let full_n = b.iconst("full_n", full);
                            let pw = b.def(
                                "pw",
                                Type::I64,
                                Op::Select(Cmp::Lt, panel, full_n, full_w, tail_w),
                            );
                            let base = b.imul("base", first, Operand::Imm(cols));
                            let base = b.iadd("base", base, Operand::Reg(r));
                            let src_row = b.imul("src_row", j, Operand::Imm(cols));
                            // torch's row of this gate: gate * H + j.
                            let gate_at = (gate * h) as i64 * cols;
                            b.for_loop("k", Operand::Imm(cols), false, |b, k| {
                                let si = b.iadd("si", src_row, Operand::Reg(k));
                                let v = b.load("v", scalar, src, Some(si), gate_at);
                                let kk = b.imul("kk", k, Operand::Reg(pw));
                                let di = b.iadd("di", base, Operand::Reg(kk));
                                b.store(view, Some(di), 0, v);
                            });
                        });
                    }
                }
            }
            Content::Bias { layer, dirs, term } => {
                let zero = b.fconst("zero", scalar, 0.0);
                b.for_loop("e", Operand::Imm(region.len as i64), false, |b, e| {
                    b.store(view, Some(e), 0, zero);
                });
                for (i, &d) in dirs.iter().enumerate() {
                    let kinds = term.bias.kinds();
                    for gate in (0..gates).filter(|&gate| term.gates.contains(gate, gates)) {
                        let gate_at = (gate * h) as i64;
                        b.for_loop("j", Operand::Imm(h as i64), false, |b, j| {
                            let src = |k| source(*layer, d, k);
                            let v = b.load("v", scalar, src(kinds[0]), Some(j), gate_at);
                            for &k in &kinds[1..] {
                                let w = b.load("w", scalar, src(k), Some(j), gate_at);
                                b.set(v, Op::Float(FloatOp::Add, v, w));
                            }
                            let row = emit_gate_row(b, gate, j, gates, lanes);
                            b.store(view, Some(row), (i * padded_rows) as i64, v);
                        });
                    }
                }
            }
        }
    }
    let body = b.finish();
    func.body = body;
    canonicalize_regs(&mut func);
    func
}
