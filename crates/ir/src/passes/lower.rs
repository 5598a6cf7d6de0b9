//! `lower`: the layer graph becomes the kernel IR: a `pack` function that lays torch's
//! weights out as the graph decided, and a `forward` function of counted loops.
//!
//! Memory the kernels use (element counts; `Hp` is `H` rounded up to whole vectors):
//! - packed weights: per node, its matrices in the node's layout and its bias vectors
//!   (`Hp` per direction, zero-padded; a folded bias is `bias_ih + bias_hh`, summed by
//!   `pack`);
//! - workspace: `P` (`LN x (directions x Hp)`, hoisted projections), `Y0`/`Y1` (outputs of
//!   inner layers, in the input's row order), per direction a double-buffered state
//!   (`2 x N x Hp`), and `pre` (`N x Hp`) for separate epilogues.
//!
//! Rows of sequence buffers (input, `Y`, output, `P`) are `t * N + b` (time-major) or
//! `b * L + t` (batch-first): one order for all of them, so a projection is one GEMM over
//! `LN` rows whatever the layout. Lanes past `H` in padded buffers may hold anything: no
//! loop reads them as inputs (reductions stop at `H`) and no store copies them to a user
//! buffer.
//!
//! Masking for variable lengths: at step `t`, sequence `b` is active iff `t < len_b`
//! (`len_b = L` without lengths). An inactive sequence keeps its state and outputs zero,
//! which also starts the reverse direction at its last valid step.

use std::cell::RefCell;
use std::collections::HashMap;

use rnnc_spec::{Nonlinearity, ParamKind, param_name, state_dict_order};

use crate::graph::{BiasRef, Block, Epilogue, Graph, Layout, Projection, RecInput, Recurrence};
use rnnc_kernel::Size;
use rnnc_kernel::builder::Builder;
use rnnc_kernel::*;
use rnnc_kernel::{Scalar, Type};

/// What one region of the packed buffer holds.
#[derive(Clone, Debug, PartialEq)]
enum Content {
    /// A weight matrix of `kind` for the listed directions, rows stacked.
    Matrix {
        layer: usize,
        kind: ParamKind,
        dirs: Vec<usize>,
        cols: usize,
        layout: Layout,
    },
    /// One bias term for the listed directions, `Hp` elements each.
    Bias {
        layer: usize,
        dirs: Vec<usize>,
        term: BiasRef,
    },
}

/// Which node a packed region serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Key {
    ProjWeights(usize),
    ProjBias(usize, usize),
    RecInput(usize, usize),
    RecWeights(usize, usize),
    RecBias(usize, usize, usize),
}

#[derive(Clone, Debug)]
struct Region {
    key: Key,
    name: String,
    offset: u64,
    len: u64,
    content: Content,
}

/// The packed buffer's regions and the workspace's.
struct Plan {
    regions: Vec<Region>,
    /// Position of each key's region in `regions`.
    index: HashMap<Key, usize>,
    packed_len: u64,
    /// Columns of `P` (directions of the widest projection times `Hp`).
    p_width: usize,
    work: Vec<(String, Size)>,
}

/// The workspace of a direction's pre-activations (separate epilogue).
fn pre_name(direction: usize) -> &'static str {
    if direction == 0 { "pre" } else { "pre_reverse" }
}

fn dirs_suffix(dirs: &[usize]) -> &'static str {
    match dirs {
        [0] => "",
        [1] => "_reverse",
        _ => "_both",
    }
}

impl Plan {
    fn new(g: &Graph) -> Plan {
        let hp = g.padded_hidden();
        let h = g.hidden_size;
        let mut regions = Vec::new();
        let mut offset = 0u64;
        let mut add = |key: Key, name: String, len: usize, content: Content| {
            regions.push(Region {
                key,
                name,
                offset,
                len: len as u64,
                content,
            });
            offset += len as u64;
        };
        let matrix_len = |layout: Layout, dirs: usize, cols: usize| match layout {
            Layout::Torch => dirs * h * cols,
            Layout::Panels { .. } => dirs * hp * cols,
        };
        // Suffixes keep region names apart from the torch parameters `pack` reads.
        let layout_suffix = |layout: Layout| match layout {
            Layout::Torch => ".rows".to_string(),
            Layout::Panels { width } => format!(".p{width}"),
        };
        let bias_name = |l: usize, dirs: &[usize], term: BiasRef| {
            let d = dirs.first().copied().unwrap_or(0);
            let base = match term {
                BiasRef::Ih => param_name(l, d, ParamKind::BiasIh),
                BiasRef::Hh => param_name(l, d, ParamKind::BiasHh),
                BiasRef::Folded => format!(
                    "{}+{}",
                    param_name(l, d, ParamKind::BiasIh),
                    param_name(l, d, ParamKind::BiasHh)
                ),
            };
            if dirs.len() > 1 {
                format!("{base}_both.padded")
            } else {
                format!("{base}.padded")
            }
        };
        let mut p_width = 0;
        for (l, layer) in g.layers.iter().enumerate() {
            let input = g.layer_input_size(l);
            if let Some(p) = &layer.projection {
                p_width = p_width.max(p.directions.len() * hp);
                let name = format!(
                    "{}{}{}",
                    param_name(l, 0, ParamKind::WeightIh),
                    dirs_suffix(&p.directions),
                    layout_suffix(p.layout)
                );
                add(
                    Key::ProjWeights(l),
                    name,
                    matrix_len(p.layout, p.directions.len(), input),
                    Content::Matrix {
                        layer: l,
                        kind: ParamKind::WeightIh,
                        dirs: p.directions.clone(),
                        cols: input,
                        layout: p.layout,
                    },
                );
                for (i, &term) in p.bias.iter().enumerate() {
                    add(
                        Key::ProjBias(l, i),
                        bias_name(l, &p.directions, term),
                        p.directions.len() * hp,
                        Content::Bias {
                            layer: l,
                            dirs: p.directions.clone(),
                            term,
                        },
                    );
                }
            }
            for r in &layer.recurrences {
                let d = r.direction;
                let mut matrix = |key: Key, kind: ParamKind, cols: usize| {
                    add(
                        key,
                        format!("{}{}", param_name(l, d, kind), layout_suffix(r.layout)),
                        matrix_len(r.layout, 1, cols),
                        Content::Matrix {
                            layer: l,
                            kind,
                            dirs: vec![d],
                            cols,
                            layout: r.layout,
                        },
                    )
                };
                if r.input == RecInput::Fused {
                    matrix(Key::RecInput(l, d), ParamKind::WeightIh, input);
                }
                matrix(Key::RecWeights(l, d), ParamKind::WeightHh, h);
                for (i, &term) in r.bias.iter().enumerate() {
                    add(
                        Key::RecBias(l, d, i),
                        bias_name(l, &[d], term),
                        hp,
                        Content::Bias {
                            layer: l,
                            dirs: vec![d],
                            term,
                        },
                    );
                }
            }
        }
        let out_width = (g.directions * h) as u64;
        let mut work = Vec::new();
        if p_width > 0 {
            work.push((
                "P".to_string(),
                Size {
                    ln: p_width as u64,
                    n: 0,
                    c: 0,
                },
            ));
        }
        for i in 0..(g.layers.len() - 1).min(2) {
            work.push((
                format!("Y{i}"),
                Size {
                    ln: out_width,
                    n: 0,
                    c: 0,
                },
            ));
        }
        for d in 0..g.directions {
            let name = if d == 0 { "state" } else { "state_reverse" };
            work.push((
                name.to_string(),
                Size {
                    ln: 0,
                    n: 2 * hp as u64,
                    c: 0,
                },
            ));
        }
        let separate = g
            .layers
            .iter()
            .flat_map(|l| &l.recurrences)
            .any(|r| r.epilogue == Epilogue::Separate);
        if separate {
            // One per direction: the two directions of a layer may run at once.
            for d in 0..g.directions {
                work.push((
                    pre_name(d).to_string(),
                    Size {
                        ln: 0,
                        n: hp as u64,
                        c: 0,
                    },
                ));
            }
        }
        Plan {
            index: regions
                .iter()
                .enumerate()
                .map(|(i, r)| (r.key, i))
                .collect(),
            regions,
            packed_len: offset,
            p_width,
            work,
        }
    }

    fn work_size(&self) -> Size {
        self.work
            .iter()
            .fold(Size::default(), |a, (_, s)| a.plus(*s))
    }

    /// Where a workspace region starts and how long it is.
    fn work_region(&self, name: &str) -> (Size, Size) {
        let mut offset = Size::default();
        for (n, size) in &self.work {
            if n == name {
                return (offset, *size);
            }
            offset = offset.plus(*size);
        }
        unreachable!("the workspace region {name} is planned")
    }
}

/// Lowers a graph to a module of `pack` and `forward`, or for multi-threaded execution
/// (`parallel`) of `pack` and the phase functions of a schedule (see `emit_phases`), which
/// run with one part serve single-threaded calls too: one copy of the code instead of two
/// halves the compile time.
pub fn lower(g: &Graph, parallel: bool) -> Module {
    let plan = Plan::new(g);
    let mut functions = emit_pack(g, &plan);
    let mut schedule = Vec::new();
    if parallel {
        let (phases, phase_schedule) = emit_phases(g, &plan);
        functions.extend(phases);
        schedule = phase_schedule;
    } else {
        functions.extend(emit_forward(g, &plan));
    }
    Module {
        name: g.name.clone(),
        dtype: g.dtype,
        target: g.target,
        packed_len: plan.packed_len,
        work: plan.work_size(),
        functions,
        schedule,
    }
}

/// Copies `count` consecutive elements in vectors of `lanes`, then one narrower vector for
/// the rest (legalization splits it into scalars).
fn copy_elems(
    b: &mut Builder<'_>,
    scalar: Scalar,
    lanes: usize,
    (src, src_at): (Buf, Option<Reg>),
    (dst, dst_at): (Buf, Option<Reg>),
    count: usize,
) {
    let chunks = count / lanes;
    let vty = Builder::vty(scalar, lanes);
    if chunks > 0 {
        b.for_loop("c", Operand::Imm(chunks as i64), false, |b, c| {
            let i = b.imul("i", c, Operand::Imm(lanes as i64));
            let si = match src_at {
                Some(s) => b.iadd("si", i, Operand::Reg(s)),
                None => i,
            };
            let di = match dst_at {
                Some(d) => b.iadd("di", i, Operand::Reg(d)),
                None => i,
            };
            let v = b.load("v", vty, src, Some(si), 0);
            b.store(dst, Some(di), 0, v);
        });
    }
    let tail = count % lanes;
    if tail > 0 {
        let at = (chunks * lanes) as i64;
        let v = b.load("v", Builder::vty(scalar, tail), src, src_at, at);
        b.store(dst, dst_at, at, v);
    }
}

/// A function taking torch's parameters `params` (read-only, in order) and the packed
/// buffer, with no body: the function, the parameters' buffers, the packed buffer.
fn pack_signature(
    g: &Graph,
    plan: &Plan,
    name: &str,
    params: &[(usize, usize, ParamKind)],
) -> (Function, Vec<Buf>, Buf) {
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
    let h = g.hidden_size as u64;
    let sources = params
        .iter()
        .map(|&(l, d, k)| {
            let len = match k {
                ParamKind::WeightIh => h * g.layer_input_size(l) as u64,
                ParamKind::WeightHh => h * h,
                ParamKind::BiasIh | ParamKind::BiasHh => h,
            };
            param(&mut func, &param_name(l, d, k), true, len)
        })
        .collect();
    let packed = param(&mut func, "packed", false, plan.packed_len);
    (func, sources, packed)
}

/// `pack`: one function per layer, which lays out that layer's regions of the packed
/// buffer from its torch parameters, and `pack`, which takes every parameter in
/// `state_dict` order and calls them (functions of bounded size, as for `forward`).
fn emit_pack(g: &Graph, plan: &Plan) -> Vec<Function> {
    let params = state_dict_order(g.layers.len(), g.directions, g.bias);
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
    let regions: Vec<&Region> = plan
        .regions
        .iter()
        .filter(|r| match &r.content {
            Content::Matrix { layer, .. } | Content::Bias { layer, .. } => *layer == l,
        })
        .collect();
    let views: Vec<Buf> = regions
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
    let (h, hp, lanes) = (g.hidden_size, g.padded_hidden(), g.lanes());
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
                for (i, &d) in dirs.iter().enumerate() {
                    let at = b.iconst("at", (i * h * cols) as i64);
                    copy_elems(
                        &mut b,
                        g.dtype,
                        lanes,
                        (source(*layer, d, *kind), None),
                        (view, Some(at)),
                        h * cols,
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
                // stacked row g = i * Hp + j lives in panel g / width at column k.
                let zero = b.fconst("zero", scalar, 0.0);
                b.for_loop("e", Operand::Imm(region.len as i64), false, |b, e| {
                    b.store(view, Some(e), 0, zero);
                });
                let rows = dirs.len() * hp;
                let full = (rows / width) as i64;
                let (cols, width) = (*cols as i64, *width as i64);
                for (i, &d) in dirs.iter().enumerate() {
                    let src = source(*layer, d, *kind);
                    b.for_loop("j", Operand::Imm(h as i64), false, |b, j| {
                        let row = b.iadd("row", j, Operand::Imm((i * hp) as i64));
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
                        b.for_loop("k", Operand::Imm(cols), false, |b, k| {
                            let si = b.iadd("si", src_row, Operand::Reg(k));
                            let v = b.load("v", scalar, src, Some(si), 0);
                            let kk = b.imul("kk", k, Operand::Reg(pw));
                            let di = b.iadd("di", base, Operand::Reg(kk));
                            b.store(view, Some(di), 0, v);
                        });
                    });
                }
            }
            Content::Bias { layer, dirs, term } => {
                let zero = b.fconst("zero", scalar, 0.0);
                b.for_loop("e", Operand::Imm(region.len as i64), false, |b, e| {
                    b.store(view, Some(e), 0, zero);
                });
                for (i, &d) in dirs.iter().enumerate() {
                    let kinds = term.kinds();
                    b.for_loop("j", Operand::Imm(h as i64), false, |b, j| {
                        let v = b.load("v", scalar, source(*layer, d, kinds[0]), Some(j), 0);
                        for &k in &kinds[1..] {
                            let w = b.load("w", scalar, source(*layer, d, k), Some(j), 0);
                            b.set(v, Op::Float(FloatOp::Add, v, w));
                        }
                        b.store(view, Some(j), (i * hp) as i64, v);
                    });
                }
            }
        }
    }
    let body = b.finish();
    func.body = body;
    canonicalize_regs(&mut func);
    func
}

/// Registers and buffers shared by the emitters of `forward`.
struct Fwd<'p> {
    plan: &'p Plan,
    dtype: Scalar,
    lanes: usize,
    h: usize,
    hp: usize,
    directions: usize,
    nonlinearity: Nonlinearity,
    batch_first: bool,
    /// The packed weights and the workspace: views into them are made on first use, so
    /// that a function has only the views it reads (its size, and the time to compile it,
    /// do not grow with the number of layers it does not touch).
    weights: Buf,
    work: Buf,
    views: RefCell<HashMap<String, Buf>>,
    input: Buf,
    h0: Buf,
    lengths: Buf,
    output: Buf,
    h_n: Buf,
    seq_len: Reg,
    batch: Reg,
    ln: Reg,
    no_h0: Reg,
    no_lengths: Reg,
}

impl Fwd<'_> {
    /// The view of a packed region (made on first use).
    fn region(&self, b: &mut Builder<'_>, key: Key) -> Buf {
        let r = &self.plan.regions[self.plan.index[&key]];
        self.view(
            b,
            &r.name,
            self.weights,
            Size::fixed(r.offset),
            Size::fixed(r.len),
        )
    }
    /// The view of a workspace region (made on first use).
    fn work(&self, b: &mut Builder<'_>, name: &str) -> Buf {
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
    fn vty(&self, lanes: usize) -> Type {
        Builder::vty(self.dtype, lanes)
    }
    /// Row of step `t` of sequence `s` in sequence buffers.
    fn row(&self, b: &mut Builder<'_>, t: Reg, s: Reg) -> Reg {
        if self.batch_first {
            let bl = b.imul("row", s, Operand::Reg(self.seq_len));
            b.iadd("row", bl, Operand::Reg(t))
        } else {
            let tn = b.imul("row", t, Operand::Reg(self.batch));
            b.iadd("row", tn, Operand::Reg(s))
        }
    }
    /// `len_s`: the sequence's length, or `L` without lengths.
    fn length(&self, b: &mut Builder<'_>, s: Reg) -> Reg {
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
                        Addr {
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

/// Where a layer reads and writes.
struct LayerIo {
    layer: usize,
    x: Buf,
    x_width: usize,
    out: Buf,
    out_width: usize,
}

/// The parameters of `forward` and of every phase function.
const SCALARS: [&str; 2] = ["seq_len", "batch"];
/// The extra parameters of phase functions: the step and the share.
const PHASE_SCALARS: [&str; 3] = ["n", "part", "parts"];

/// A function with the forward calling convention (and `extra` scalar parameters) and no
/// body: the function, its buffer parameters in order, its scalar parameters.
fn kernel_signature(
    g: &Graph,
    plan: &Plan,
    name: &str,
    extra: &[&str],
) -> (Function, [Buf; 7], Vec<Reg>) {
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
    let states = g.directions * g.layers.len() * g.hidden_size;
    let (read, read_or_null, write) = ((true, false), (true, true), (false, false));
    let dtype = g.dtype;
    let bufs = [
        param(
            &mut func,
            "weights",
            dtype,
            read,
            Size::fixed(plan.packed_len),
        ),
        param(&mut func, "input", dtype, read, per_row(g.input_size)),
        param(&mut func, "h0", dtype, read_or_null, per_sequence(states)),
        param(
            &mut func,
            "lengths",
            Scalar::I64,
            read_or_null,
            per_sequence(1),
        ),
        param(
            &mut func,
            "output",
            dtype,
            write,
            per_row(g.directions * g.hidden_size),
        ),
        param(&mut func, "h_n", dtype, write, per_sequence(states)),
        param(&mut func, "work", dtype, write, plan.work_size()),
    ];
    let scalars: Vec<Reg> = SCALARS
        .iter()
        .chain(extra)
        .map(|n| {
            let r = func.new_reg(n, Type::I64);
            func.params.push(Param::Scalar(r));
            r
        })
        .collect();
    (func, bufs, scalars)
}

/// Creates a kernel function with the forward calling convention (and `extra` scalar
/// parameters) and the prologue every kernel shares; `emit` writes the body.
fn new_kernel<'p>(
    g: &Graph,
    plan: &'p Plan,
    name: &str,
    extra: &[&str],
    emit: impl FnOnce(&Fwd<'p>, &mut Builder<'_>, &[Reg]),
) -> Function {
    let (mut func, [weights, input, h0, lengths, output, h_n, work], scalars) =
        kernel_signature(g, plan, name, extra);
    let mut b = Builder::new(&mut func);
    let (seq_len, batch) = (scalars[0], scalars[1]);
    let ln = b.imul("ln", seq_len, Operand::Reg(batch));
    let no_h0 = b.def("no_h0", Type::I64, Op::IsNull(h0));
    let no_lengths = b.def("no_lengths", Type::I64, Op::IsNull(lengths));
    let fwd = Fwd {
        plan,
        dtype: g.dtype,
        lanes: g.lanes(),
        h: g.hidden_size,
        hp: g.padded_hidden(),
        directions: g.directions,
        nonlinearity: g.nonlinearity,
        batch_first: g.batch_first,
        weights,
        work,
        views: RefCell::new(HashMap::new()),
        input,
        h0,
        lengths,
        output,
        h_n,
        seq_len,
        batch,
        ln,
        no_h0,
        no_lengths,
    };
    emit(&fwd, &mut b, &scalars[2..]);
    let body = b.finish();
    func.body = body;
    canonicalize_regs(&mut func);
    func
}

fn layer_io(g: &Graph, fwd: &Fwd<'_>, b: &mut Builder<'_>, l: usize) -> LayerIo {
    LayerIo {
        layer: l,
        x: if l == 0 {
            fwd.input
        } else {
            fwd.work(b, &format!("Y{}", (l - 1) % 2))
        },
        x_width: g.layer_input_size(l),
        out: if l + 1 == g.layers.len() {
            fwd.output
        } else {
            fwd.work(b, &format!("Y{}", l % 2))
        },
        out_width: g.directions * g.hidden_size,
    }
}

/// The column of `P` where a recurrence's projected input starts, if hoisted.
fn p_column(g: &Graph, l: usize, direction: usize) -> Option<usize> {
    g.layers[l]
        .projection
        .as_ref()
        .and_then(|p| p.directions.iter().position(|&d| d == direction))
        .map(|i| i * g.padded_hidden())
}

/// The single-threaded forward pass: one function per layer, and `forward`, which calls
/// them in order. Functions of one layer each keep code generation linear in the number
/// of layers (Cranelift's time and memory grow faster than linearly with a function's
/// size: one function for 512 layers took 4.9 GB).
fn emit_forward(g: &Graph, plan: &Plan) -> Vec<Function> {
    let layers = (0..g.layers.len())
        .map(|l| emit_layer(g, plan, l))
        .collect();
    dispatch("forward", layers, &|name, callees| Callee {
        func: kernel_signature(g, plan, name, &[]).0,
        layers: callees.iter().flat_map(|c| c.layers.clone()).collect(),
    })
}

/// Most calls one function makes: `forward` and `pack` of a deep model call groups of
/// layers (`forward_g0`, ...), so that no function grows with the number of layers.
const CALLS_PER_FUNCTION: usize = 32;

/// A function and the layers it covers.
struct Callee {
    func: Function,
    layers: Vec<usize>,
}

/// The function `name`, which calls the per-layer `functions` in order, through groups of
/// at most [`CALLS_PER_FUNCTION`] calls when there are more; `signature` makes a caller of
/// some callees (its parameters include theirs, which calls pass on by name). Returns every
/// function, callees before callers.
fn dispatch(
    name: &str,
    functions: Vec<Function>,
    signature: &dyn Fn(&str, &[Callee]) -> Callee,
) -> Vec<Function> {
    let mut level: Vec<Callee> = functions
        .into_iter()
        .enumerate()
        .map(|(l, func)| Callee {
            func,
            layers: vec![l],
        })
        .collect();
    let mut out = Vec::new();
    let mut depth = 0;
    loop {
        let top = level.len() <= CALLS_PER_FUNCTION;
        let mut next = Vec::new();
        for (i, chunk) in level.chunks(CALLS_PER_FUNCTION).enumerate() {
            let caller_name = if top {
                name.to_string()
            } else {
                format!("{name}_g{depth}_{i}")
            };
            let mut caller = signature(&caller_name, chunk);
            for callee in chunk {
                let call = call_by_name(&caller.func, &callee.func);
                caller.func.body.push(Stmt::Call(call));
            }
            next.push(caller);
        }
        out.extend(level.into_iter().map(|c| c.func));
        level = next;
        depth += 1;
        if top {
            out.extend(level.into_iter().map(|c| c.func));
            return out;
        }
    }
}

/// A call of `callee` from `caller` passing, for each of the callee's parameters, the
/// caller's parameter of the same name.
fn call_by_name(caller: &Function, callee: &Function) -> Call {
    let mine: HashMap<String, Param> = caller
        .params
        .iter()
        .map(|p| {
            let name = match p {
                Param::Buf(b) => format!("@{}", caller.buf(*b).name),
                Param::Scalar(r) => format!("%{}", caller.reg(*r).name),
            };
            (name, *p)
        })
        .collect();
    let args = callee
        .params
        .iter()
        .map(|p| {
            let name = match p {
                Param::Buf(b) => format!("@{}", callee.buf(*b).name),
                Param::Scalar(r) => format!("%{}", callee.reg(*r).name),
            };
            mine[&name]
        })
        .collect();
    Call {
        callee: callee.name.clone(),
        args,
    }
}

/// One layer of the single-threaded forward pass: its projection, then its recurrences.
fn emit_layer(g: &Graph, plan: &Plan, l: usize) -> Function {
    let layer = &g.layers[l];
    new_kernel(g, plan, &format!("layer_l{l}"), &[], |fwd, b, _| {
        let io = layer_io(g, fwd, b, l);
        if let Some(p) = &layer.projection {
            b.comment(format!(
                "layer {l}: input projection P = X W_ih^T + bias, all steps at once"
            ));
            emit_projection(fwd, b, &io, p, None);
        }
        for r in &layer.recurrences {
            b.comment(format!(
                "layer {l}: recurrence {}",
                param_name(l, r.direction, ParamKind::WeightHh)
            ));
            emit_recurrence(fwd, b, &io, r, p_column(g, l, r.direction));
        }
    })
}

/// The phase functions of a multi-threaded forward pass and their schedule.
///
/// Per layer: the projection split by panels between parts; then a bidirectional layer
/// runs its two directions whole, one per part (no synchronization until the layer ends);
/// a unidirectional layer initializes its state on one part, runs each time step split by
/// panels of `W_hh` (each part computes, activates and stores its rows; all parts finish a
/// step before any starts the next; with one part, one call runs every step), and copies
/// `h_n` on one part. Every element is computed by exactly the operations of the
/// sequential `forward`, in the same order, whatever the parts.
fn emit_phases(g: &Graph, plan: &Plan) -> (Vec<Function>, Vec<Phase>) {
    let mut functions = Vec::new();
    let mut schedule = Vec::new();
    for (l, layer) in g.layers.iter().enumerate() {
        if let Some(p) = &layer.projection {
            let name = format!("proj_l{l}");
            functions.push(new_kernel(g, plan, &name, &PHASE_SCALARS, |fwd, b, s| {
                let io = layer_io(g, fwd, b, l);
                emit_projection(
                    fwd,
                    b,
                    &io,
                    p,
                    Some(Share {
                        part: s[1],
                        parts: s[2],
                    }),
                );
            }));
            schedule.push(Phase::All(name));
        }
        if layer.recurrences.len() == 2 {
            let mut names = Vec::new();
            for r in &layer.recurrences {
                let name = format!("rec_l{l}{}", if r.direction == 1 { "_reverse" } else { "" });
                functions.push(new_kernel(g, plan, &name, &PHASE_SCALARS, |fwd, b, _| {
                    let io = layer_io(g, fwd, b, l);
                    emit_recurrence(fwd, b, &io, r, p_column(g, l, r.direction));
                }));
                names.push(name);
            }
            schedule.push(Phase::Pair(names[0].clone(), names[1].clone()));
            continue;
        }
        let r = &layer.recurrences[0];
        let init = format!("init_l{l}");
        functions.push(new_kernel(g, plan, &init, &PHASE_SCALARS, |fwd, b, _| {
            let halves = Halves::new(fwd, b, r.direction, None);
            emit_state_init(fwd, b, l, r.direction, &halves);
        }));
        let step = format!("step_l{l}");
        functions.push(new_kernel(g, plan, &step, &PHASE_SCALARS, |fwd, b, s| {
            let io = layer_io(g, fwd, b, l);
            let halves = Halves::new(fwd, b, r.direction, Some(s[0]));
            let t = if r.direction == 1 {
                let last = b.def(
                    "last",
                    Type::I64,
                    Op::Int(IntOp::Sub, fwd.seq_len, Operand::Imm(1)),
                );
                b.def(
                    "t",
                    Type::I64,
                    Op::Int(IntOp::Sub, last, Operand::Reg(s[0])),
                )
            } else {
                s[0]
            };
            emit_step(
                fwd,
                b,
                &io,
                r,
                p_column(g, l, r.direction),
                t,
                &halves,
                Some(Share {
                    part: s[1],
                    parts: s[2],
                }),
            );
        }));
        // With one part, all steps in one call: a call per step would cost small models
        // more than the step itself.
        let steps = format!("steps_l{l}");
        functions.push(new_kernel(g, plan, &steps, &PHASE_SCALARS, |fwd, b, _| {
            let io = layer_io(g, fwd, b, l);
            let halves = Halves::new(fwd, b, r.direction, None);
            emit_steps(fwd, b, &io, r, p_column(g, l, r.direction), &halves);
        }));
        let hn = format!("hn_l{l}");
        functions.push(new_kernel(g, plan, &hn, &PHASE_SCALARS, |fwd, b, _| {
            // After L steps the state is in the half step L would read.
            let halves = Halves::new(fwd, b, r.direction, Some(fwd.seq_len));
            emit_h_n(fwd, b, l, r.direction, &halves);
        }));
        schedule.extend([Phase::One(init), Phase::Steps(step, steps), Phase::One(hn)]);
    }
    (functions, schedule)
}

/// Which share of the work a phase function computes: part `part` of `parts`, a
/// contiguous range of panels (or of vector-wide row chunks, or of rows of `P`).
#[derive(Clone, Copy)]
struct Share {
    part: Reg,
    parts: Reg,
}

/// The units `[u0, u1)` of `n` that a share owns: `part * n / parts` up to
/// `(part + 1) * n / parts`, so that the parts cover every unit exactly once.
fn share_range(b: &mut Builder<'_>, n: Operand, share: Share) -> (Reg, Reg) {
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

/// `min(a, b)` on `i64`.
fn min(b: &mut Builder<'_>, name: &str, x: Reg, y: Reg) -> Reg {
    b.def(name, Type::I64, Op::Select(Cmp::Lt, x, y, x, y))
}

/// `max(x, 0)` on `i64`.
fn at_least_zero(b: &mut Builder<'_>, name: &str, x: Reg) -> Reg {
    let zero = b.iconst("zero", 0);
    b.def(name, Type::I64, Op::Select(Cmp::Lt, x, zero, zero, x))
}

/// Runs `body(panel, panel width, first row if it is the last panel)` for the panels of a
/// matrix of `rows` padded rows in `range` (a share's, from `panel_range`; all without
/// one). The last panel is emitted on its own, so that its rows are known statically.
fn for_panels(
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
fn panel_range(b: &mut Builder<'_>, rows: usize, width: usize, share: Share) -> (Reg, Reg) {
    share_range(b, Operand::Imm(rows.div_ceil(width) as i64), share)
}

/// Runs `unit(u, false)` for the units `u < n - 1` that `range` (`[u0, u1)`, every unit
/// without one) owns, then `unit(n - 1, true)` if it owns the last unit, which is emitted on
/// its own so that its size is known statically.
fn for_units(
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

/// Sub-blocks of `rows` rows within a panel of `width`: (offset, rows).
fn sub_blocks(width: usize, rows: usize) -> Vec<(usize, usize)> {
    (0..width)
        .step_by(rows)
        .map(|s| (s, rows.min(width - s)))
        .collect()
}

/// A weight stream for panel kernels: accumulate `sum_k W[k][rows] * src_c[k]`.
struct Stream {
    weights: Buf,
    /// Element index of the sub-block's first weight (column 0).
    at: Reg,
    /// Panel width: the stride between consecutive k.
    panel_width: usize,
    k: usize,
    src: Buf,
    /// Per column: element index of `src_c[0]`.
    src_at: Vec<Reg>,
}

fn accumulate(fwd: &Fwd<'_>, b: &mut Builder<'_>, rows: usize, accs: &[Reg], stream: &Stream) {
    let vty = fwd.vty(rows);
    let sty = Type::scalar(fwd.dtype);
    b.for_loop("k", Operand::Imm(stream.k as i64), false, |b, k| {
        let wk = b.imul("wk", k, Operand::Imm(stream.panel_width as i64));
        let wk = b.iadd("wk", wk, Operand::Reg(stream.at));
        let w = b.load("w", vty, stream.weights, Some(wk), 0);
        for (c, &acc) in accs.iter().enumerate() {
            let xi = b.iadd("xi", stream.src_at[c], Operand::Reg(k));
            let x = b.load("x", sty, stream.src, Some(xi), 0);
            let xs = b.def("xs", vty, Op::Splat(x));
            b.set(acc, Op::Fma(w, xs, acc));
        }
    });
}

/// `sum_k W[row][k] * src[k]` in torch layout: vectors along k, `reduce_add`, scalar tail.
fn dot(fwd: &Fwd<'_>, b: &mut Builder<'_>, weights: (Buf, Reg), src: (Buf, Reg), k: usize) -> Reg {
    let lanes = fwd.lanes;
    let sty = Type::scalar(fwd.dtype);
    let vty = fwd.vty(lanes);
    let chunks = k / lanes;
    let sum = if chunks > 0 {
        let acc = b.fconst("dacc", vty, 0.0);
        b.for_loop("kc", Operand::Imm(chunks as i64), false, |b, kc| {
            let i = b.imul("i", kc, Operand::Imm(lanes as i64));
            let wi = b.iadd("wi", weights.1, Operand::Reg(i));
            let si = b.iadd("si", src.1, Operand::Reg(i));
            let w = b.load("w", vty, weights.0, Some(wi), 0);
            let x = b.load("x", vty, src.0, Some(si), 0);
            b.set(acc, Op::Fma(w, x, acc));
        });
        b.def("dot", sty, Op::ReduceAdd(acc))
    } else {
        b.fconst("dot", sty, 0.0)
    };
    for kk in chunks * lanes..k {
        let w = b.load("w", sty, weights.0, Some(weights.1), kk as i64);
        let x = b.load("x", sty, src.0, Some(src.1), kk as i64);
        b.set(sum, Op::Fma(w, x, sum));
    }
    sum
}

/// Loads and sums bias terms at element `at` of each region, `lanes` wide; zero if none.
fn bias_init(fwd: &Fwd<'_>, b: &mut Builder<'_>, regions: &[Buf], at: Reg, lanes: usize) -> Reg {
    let ty = fwd.vty(lanes);
    match regions.split_first() {
        None => b.fconst("acc", ty, 0.0),
        Some((first, rest)) => {
            let acc = b.load("acc", ty, *first, Some(at), 0);
            for &r in rest {
                let v = b.load("bias", ty, r, Some(at), 0);
                b.set(acc, Op::Float(FloatOp::Add, acc, v));
            }
            acc
        }
    }
}

fn emit_projection(
    fwd: &Fwd<'_>,
    b: &mut Builder<'_>,
    io: &LayerIo,
    p: &Projection,
    share: Option<Share>,
) {
    let l = io.layer;
    let wbuf = fwd.region(b, Key::ProjWeights(l));
    let biases: Vec<Buf> = (0..p.bias.len())
        .map(|i| fwd.region(b, Key::ProjBias(l, i)))
        .collect();
    let pbuf = fwd.work(b, "P");
    let pw = fwd.plan.p_width as i64;
    let k = io.x_width;
    match p.layout {
        Layout::Torch => {
            // Shares split the rows of X (time steps and sequences).
            let (first, count) = match share {
                None => (None, fwd.ln),
                Some(share) => {
                    let (u0, u1) = share_range(b, Operand::Reg(fwd.ln), share);
                    let count = b.def(
                        "count",
                        Type::I64,
                        Op::Int(IntOp::Sub, u1, Operand::Reg(u0)),
                    );
                    (Some(u0), count)
                }
            };
            b.for_loop("r", Operand::Reg(count), false, |b, r| {
                let r = match first {
                    Some(u0) => b.iadd("r", r, Operand::Reg(u0)),
                    None => r,
                };
                let xrow = b.imul("xrow", r, Operand::Imm(k as i64));
                let prow = b.imul("prow", r, Operand::Imm(pw));
                for i in 0..p.directions.len() {
                    b.for_loop("j", Operand::Imm(fwd.h as i64), false, |b, j| {
                        let wrow = b.imul("wrow", j, Operand::Imm(k as i64));
                        let wrow = b.iadd("wrow", wrow, Operand::Imm((i * fwd.h * k) as i64));
                        let s = dot(fwd, b, (wbuf, wrow), (io.x, xrow), k);
                        let at = b.iadd("at", j, Operand::Imm((i * fwd.hp) as i64));
                        if !biases.is_empty() {
                            let acc = bias_init(fwd, b, &biases, at, 1);
                            b.set(s, Op::Float(FloatOp::Add, acc, s));
                        }
                        let pi = b.iadd("pi", prow, Operand::Reg(at));
                        b.store(pbuf, Some(pi), 0, s);
                    });
                }
            });
        }
        Layout::Panels { width } => {
            let rows = p.directions.len() * fwd.hp;
            let block = p.block;
            let range = share.map(|share| panel_range(b, rows, width, share));
            for_panels(b, rows, width, range, |b, panel, pwidth, _| {
                let row0 = b.imul("row0", panel, Operand::Imm(width as i64));
                let woff = b.imul("woff", row0, Operand::Imm(k as i64));
                let emit = |b: &mut Builder<'_>, cols: &[Reg], rows: usize, sub: usize| {
                    let at = b.iadd("at", row0, Operand::Imm(sub as i64));
                    let accs: Vec<Reg> = cols
                        .iter()
                        .map(|_| bias_init(fwd, b, &biases, at, rows))
                        .collect();
                    let wat = b.iadd("wat", woff, Operand::Imm(sub as i64));
                    let src_at: Vec<Reg> = cols
                        .iter()
                        .map(|&r| b.imul("xrow", r, Operand::Imm(k as i64)))
                        .collect();
                    accumulate(
                        fwd,
                        b,
                        rows,
                        &accs,
                        &Stream {
                            weights: wbuf,
                            at: wat,
                            panel_width: pwidth,
                            k,
                            src: io.x,
                            src_at,
                        },
                    );
                    for (&r, &acc) in cols.iter().zip(&accs) {
                        let pi = b.imul("pi", r, Operand::Imm(pw));
                        let pi = b.iadd("pi", pi, Operand::Reg(at));
                        b.store(pbuf, Some(pi), 0, acc);
                    }
                };
                column_blocks(b, fwd.ln, block, pwidth, emit);
            });
        }
    }
}

/// Runs `emit(columns, rows, sub-block offset)` over all `count` columns: blocks of
/// `block.cols` first, then single columns with `block.rest_rows`.
fn column_blocks(
    b: &mut Builder<'_>,
    count: Reg,
    block: Block,
    panel_width: usize,
    mut emit: impl FnMut(&mut Builder<'_>, &[Reg], usize, usize),
) {
    if block.cols == 1 {
        b.for_loop("col", Operand::Reg(count), false, |b, col| {
            for (sub, rows) in sub_blocks(panel_width, block.rows) {
                emit(b, &[col], rows, sub);
            }
        });
        return;
    }
    let blocks = b.def(
        "blocks",
        Type::I64,
        Op::Int(IntOp::Div, count, Operand::Imm(block.cols as i64)),
    );
    b.for_loop("cb", Operand::Reg(blocks), false, |b, cb| {
        let c0 = b.imul("c0", cb, Operand::Imm(block.cols as i64));
        let cols: Vec<Reg> = (0..block.cols)
            .map(|c| b.iadd("col", c0, Operand::Imm(c as i64)))
            .collect();
        for (sub, rows) in sub_blocks(panel_width, block.rows) {
            emit(b, &cols, rows, sub);
        }
    });
    let done = b.imul("done", blocks, Operand::Imm(block.cols as i64));
    let rest = b.def(
        "rest",
        Type::I64,
        Op::Int(IntOp::Sub, count, Operand::Reg(done)),
    );
    b.for_loop("cr", Operand::Reg(rest), false, |b, cr| {
        let col = b.iadd("col", cr, Operand::Reg(done));
        for (sub, rows) in sub_blocks(panel_width, block.rest_rows) {
            emit(b, &[col], rows, sub);
        }
    });
}

/// State halves of one recurrence: `state[s_in + b * Hp + j]` is `h_(t-1)`, and step `t`
/// writes `h_t` at `s_out`.
struct Halves {
    state: Buf,
    s_in: Reg,
    s_out: Reg,
}

impl Halves {
    /// The halves of direction `d` before step number `n` (`n & 1` selects them), or before
    /// the first step when `n` is `None`.
    fn new(fwd: &Fwd<'_>, b: &mut Builder<'_>, d: usize, n: Option<Reg>) -> Halves {
        let state = fwd.work(b, if d == 0 { "state" } else { "state_reverse" });
        let half = b.imul("half", fwd.batch, Operand::Imm(fwd.hp as i64));
        // Registers of their own: the sequential forward swaps them after every step.
        let (s_in, s_out) = match n {
            None => (
                b.iconst("s_in", 0),
                b.def("s_out", Type::I64, Op::Copy(half)),
            ),
            Some(n) => {
                let one = b.iconst("one", 1);
                let odd = b.def("odd", Type::I64, Op::Bits(BitOp::And, n, one));
                let s_in = b.def(
                    "s_in",
                    Type::I64,
                    Op::Int(IntOp::Mul, odd, Operand::Reg(half)),
                );
                let s_out = b.def(
                    "s_out",
                    Type::I64,
                    Op::Int(IntOp::Sub, half, Operand::Reg(s_in)),
                );
                (s_in, s_out)
            }
        };
        Halves { state, s_in, s_out }
    }
}

/// `h_(-1)`: `h0` or zeros (padding lanes zeroed too), in the `s_in` half.
fn emit_state_init(fwd: &Fwd<'_>, b: &mut Builder<'_>, l: usize, d: usize, halves: &Halves) {
    let hp = fwd.hp as i64;
    let state = halves.state;
    let state_index = (l * fwd.directions + d) as i64;
    b.for_loop("b", Operand::Reg(fwd.batch), false, |b, s| {
        let base = b.imul("sbase", s, Operand::Imm(hp));
        let base = b.iadd("sbase", base, Operand::Reg(halves.s_in));
        let zero = b.fconst("zero", fwd.vty(fwd.lanes), 0.0);
        b.for_loop("c", Operand::Imm(hp / fwd.lanes as i64), false, |b, c| {
            let i = b.imul("i", c, Operand::Imm(fwd.lanes as i64));
            let i = b.iadd("i", i, Operand::Reg(base));
            b.store(state, Some(i), 0, zero);
        });
        let h0 = fwd.h0;
        b.if_else(
            fwd.no_h0,
            |_| {},
            |b| {
                let hrow = b.imul("hrow", fwd.batch, Operand::Imm(state_index));
                let hrow = b.iadd("hrow", hrow, Operand::Reg(s));
                let hrow = b.imul("hrow", hrow, Operand::Imm(fwd.h as i64));
                copy_elems(
                    b,
                    fwd.dtype,
                    fwd.lanes,
                    (h0, Some(hrow)),
                    (state, Some(base)),
                    fwd.h,
                );
            },
        );
    });
}

/// `h_n`: the state in the `s_in` half (after each sequence's last valid step).
fn emit_h_n(fwd: &Fwd<'_>, b: &mut Builder<'_>, l: usize, d: usize, halves: &Halves) {
    let hp = fwd.hp as i64;
    let state_index = (l * fwd.directions + d) as i64;
    b.for_loop("b", Operand::Reg(fwd.batch), false, |b, s| {
        let base = b.imul("sbase", s, Operand::Imm(hp));
        let base = b.iadd("sbase", base, Operand::Reg(halves.s_in));
        let hrow = b.imul("hrow", fwd.batch, Operand::Imm(state_index));
        let hrow = b.iadd("hrow", hrow, Operand::Reg(s));
        let hrow = b.imul("hrow", hrow, Operand::Imm(fwd.h as i64));
        copy_elems(
            b,
            fwd.dtype,
            fwd.lanes,
            (halves.state, Some(base)),
            (fwd.h_n, Some(hrow)),
            fwd.h,
        );
    });
}

/// One direction of one layer: state from `h0`, every step, `h_n`.
fn emit_recurrence(
    fwd: &Fwd<'_>,
    b: &mut Builder<'_>,
    io: &LayerIo,
    r: &Recurrence,
    p_column: Option<usize>,
) {
    let (l, d) = (io.layer, r.direction);
    let halves = Halves::new(fwd, b, d, None);
    emit_state_init(fwd, b, l, d, &halves);
    emit_steps(fwd, b, io, r, p_column, &halves);
    emit_h_n(fwd, b, l, d, &halves);
}

/// Every step of a recurrence in order (backwards in time for the reverse direction),
/// from the state in `halves.s_in`.
fn emit_steps(
    fwd: &Fwd<'_>,
    b: &mut Builder<'_>,
    io: &LayerIo,
    r: &Recurrence,
    p_column: Option<usize>,
    halves: &Halves,
) {
    b.for_loop("t", Operand::Reg(fwd.seq_len), r.direction == 1, |b, t| {
        emit_step(fwd, b, io, r, p_column, t, halves, None);
        // The new state becomes the old one.
        let tmp = b.def("tmp", Type::I64, Op::Copy(halves.s_in));
        b.set(halves.s_in, Op::Copy(halves.s_out));
        b.set(halves.s_out, Op::Copy(tmp));
    });
}

/// Step `t` of a recurrence: `h_t` from `h_(t-1)` for the rows the share owns (all
/// without one): accumulation, then the epilogue, fused or separate.
#[allow(clippy::too_many_arguments)]
fn emit_step(
    fwd: &Fwd<'_>,
    b: &mut Builder<'_>,
    io: &LayerIo,
    r: &Recurrence,
    p_column: Option<usize>,
    t: Reg,
    halves: &Halves,
    share: Option<Share>,
) {
    let (l, d) = (io.layer, r.direction);
    let hp = fwd.hp as i64;
    let x_width = io.x_width;
    let lanes = fwd.lanes;
    let chunks = fwd.hp / lanes;
    // The vector-wide row chunks the share owns, for the separate epilogue: whole panels'
    // worth, or (torch layout) chunks directly. `None`: all of them.
    let mut chunk_range: Option<(Reg, Reg)> = None;
    match r.layout {
        Layout::Torch => {
            let sty = Type::scalar(fwd.dtype);
            // Rows in whole chunks, so that the separate epilogue's chunks are the share's.
            let (j_first, j_count) = match share {
                None => (None, Operand::Imm(fwd.h as i64)),
                Some(share) => {
                    let (u0, u1) = share_range(b, Operand::Imm(chunks as i64), share);
                    chunk_range = Some((u0, u1));
                    let j0 = b.imul("j_first", u0, Operand::Imm(lanes as i64));
                    let j1 = b.imul("j_end", u1, Operand::Imm(lanes as i64));
                    let h = b.iconst("h", fwd.h as i64);
                    let j1 = min(b, "j_end", j1, h);
                    let count = b.def(
                        "count",
                        Type::I64,
                        Op::Int(IntOp::Sub, j1, Operand::Reg(j0)),
                    );
                    (Some(j0), Operand::Reg(at_least_zero(b, "count", count)))
                }
            };
            b.for_loop("b", Operand::Reg(fwd.batch), false, |b, s| {
                let len = fwd.length(b, s);
                let row = fwd.row(b, t, s);
                let hbase = b.imul("hbase", s, Operand::Imm(hp));
                let hbase = b.iadd("hbase", hbase, Operand::Reg(halves.s_in));
                b.for_loop("j", j_count, false, |b, j| {
                    let j = match j_first {
                        Some(j0) => b.iadd("j", j, Operand::Reg(j0)),
                        None => j,
                    };
                    let acc = match p_column {
                        Some(col) => {
                            let pi = b.imul("pi", row, Operand::Imm(fwd.plan.p_width as i64));
                            let pi = b.iadd("pi", pi, Operand::Reg(j));
                            let pbuf = fwd.work(b, "P");
                            b.load("acc", sty, pbuf, Some(pi), col as i64)
                        }
                        None => {
                            let xrow = b.imul("xrow", row, Operand::Imm(x_width as i64));
                            let wrow = b.imul("wrow", j, Operand::Imm(x_width as i64));
                            let w_ih = fwd.region(b, Key::RecInput(l, d));
                            dot(fwd, b, (w_ih, wrow), (io.x, xrow), x_width)
                        }
                    };
                    let wrow = b.imul("wrow", j, Operand::Imm(fwd.h as i64));
                    let w_hh = fwd.region(b, Key::RecWeights(l, d));
                    let s_hh = dot(fwd, b, (w_hh, wrow), (halves.state, hbase), fwd.h);
                    b.set(acc, Op::Float(FloatOp::Add, acc, s_hh));
                    finish_rows(fwd, b, io, r, halves, (t, s, len), j, (1, 1), acc);
                });
            });
        }
        Layout::Panels { width } => {
            let range = share.map(|share| panel_range(b, fwd.hp, width, share));
            if let Some((u0, u1)) = range {
                let per_panel = (width / lanes) as i64;
                let c0 = b.imul("c0", u0, Operand::Imm(per_panel));
                let c1 = b.imul("c1", u1, Operand::Imm(per_panel));
                let all = b.iconst("chunks", chunks as i64);
                chunk_range = Some((c0, min(b, "c1", c1, all)));
            }
            for_panels(b, fwd.hp, width, range, |b, panel, pwidth, last_row| {
                let row0 = b.imul("row0", panel, Operand::Imm(width as i64));
                let whh = b.imul("whh", row0, Operand::Imm(fwd.h as i64));
                let wih = b.imul("wih", row0, Operand::Imm(x_width as i64));
                let emit = |b: &mut Builder<'_>, cols: &[Reg], rows: usize, sub: usize| {
                    // Rows of this sub-block that are real (not padding): all but
                    // possibly the last sub-block of the last panel.
                    let valid = match last_row {
                        Some(first) => rows.min(fwd.h.saturating_sub(first + sub)),
                        None => rows,
                    };
                    let j0 = b.iadd("j0", row0, Operand::Imm(sub as i64));
                    let lens: Vec<Reg> = cols.iter().map(|&s| fwd.length(b, s)).collect();
                    let rows_of: Vec<Reg> = cols.iter().map(|&s| fwd.row(b, t, s)).collect();
                    let accs: Vec<Reg> = rows_of
                        .iter()
                        .map(|&row| match p_column {
                            Some(col) => {
                                let pi = b.imul("pi", row, Operand::Imm(fwd.plan.p_width as i64));
                                let pi = b.iadd("pi", pi, Operand::Reg(j0));
                                let pbuf = fwd.work(b, "P");
                                b.load("acc", fwd.vty(rows), pbuf, Some(pi), col as i64)
                            }
                            None => b.fconst("acc", fwd.vty(rows), 0.0),
                        })
                        .collect();
                    if p_column.is_none() {
                        let at = b.iadd("wat", wih, Operand::Imm(sub as i64));
                        let src_at = rows_of
                            .iter()
                            .map(|&row| b.imul("xrow", row, Operand::Imm(x_width as i64)))
                            .collect();
                        let weights = fwd.region(b, Key::RecInput(l, d));
                        let stream = Stream {
                            weights,
                            at,
                            panel_width: pwidth,
                            k: x_width,
                            src: io.x,
                            src_at,
                        };
                        accumulate(fwd, b, rows, &accs, &stream);
                    }
                    let at = b.iadd("wat", whh, Operand::Imm(sub as i64));
                    let src_at = cols
                        .iter()
                        .map(|&s| {
                            let i = b.imul("hrow", s, Operand::Imm(hp));
                            b.iadd("hrow", i, Operand::Reg(halves.s_in))
                        })
                        .collect();
                    let weights = fwd.region(b, Key::RecWeights(l, d));
                    let stream = Stream {
                        weights,
                        at,
                        panel_width: pwidth,
                        k: fwd.h,
                        src: halves.state,
                        src_at,
                    };
                    accumulate(fwd, b, rows, &accs, &stream);
                    for (c, &s) in cols.iter().enumerate() {
                        finish_rows(
                            fwd,
                            b,
                            io,
                            r,
                            halves,
                            (t, s, lens[c]),
                            j0,
                            (rows, valid),
                            accs[c],
                        );
                    }
                };
                column_blocks(b, fwd.batch, r.block, pwidth, emit);
            });
        }
    }
    if r.epilogue == Epilogue::Separate {
        emit_separate_epilogue(fwd, b, io, r, halves, t, chunk_range);
    }
}

/// After accumulation: store pre-activations (separate epilogue) or finish them now.
#[allow(clippy::too_many_arguments)]
fn finish_rows(
    fwd: &Fwd<'_>,
    b: &mut Builder<'_>,
    io: &LayerIo,
    r: &Recurrence,
    halves: &Halves,
    (t, s, len): (Reg, Reg, Reg),
    j0: Reg,
    (lanes, valid): (usize, usize),
    acc: Reg,
) {
    match r.epilogue {
        Epilogue::Separate => {
            let at = b.imul("pre_at", s, Operand::Imm(fwd.hp as i64));
            let at = b.iadd("pre_at", at, Operand::Reg(j0));
            let pre = fwd.work(b, pre_name(r.direction));
            b.store(pre, Some(at), 0, acc);
        }
        Epilogue::Fused => epilogue(fwd, b, io, r, halves, (t, s, len), j0, (lanes, valid), acc),
    }
}

/// Biases, activation, masking and the stores of output and state for `lanes` rows from
/// `j0`, of which the first `valid` are real.
#[allow(clippy::too_many_arguments)]
fn epilogue(
    fwd: &Fwd<'_>,
    b: &mut Builder<'_>,
    io: &LayerIo,
    r: &Recurrence,
    halves: &Halves,
    (t, s, len): (Reg, Reg, Reg),
    j0: Reg,
    (lanes, valid): (usize, usize),
    v: Reg,
) {
    let ty = fwd.vty(lanes);
    for i in 0..r.bias.len() {
        let region = fwd.region(b, Key::RecBias(io.layer, r.direction, i));
        let bias = b.load("bias", ty, region, Some(j0), 0);
        b.set(v, Op::Float(FloatOp::Add, v, bias));
    }
    let zero = b.fconst("zero", ty, 0.0);
    match fwd.nonlinearity {
        Nonlinearity::Tanh => b.set(v, Op::Tanh(v)),
        // v < 0 ? 0 : v keeps NaN (the comparison is false) as torch's relu does.
        Nonlinearity::Relu => b.set(v, Op::Select(Cmp::Lt, v, zero, zero, v)),
    }
    let sat = b.imul("sat", s, Operand::Imm(fwd.hp as i64));
    let sat = b.iadd("sat", sat, Operand::Reg(j0));
    let old_at = b.iadd("old_at", sat, Operand::Reg(halves.s_in));
    let new_at = b.iadd("new_at", sat, Operand::Reg(halves.s_out));
    let old = b.load("old", ty, halves.state, Some(old_at), 0);
    let kept = b.def("kept", ty, Op::Select(Cmp::Lt, t, len, v, old));
    b.store(halves.state, Some(new_at), 0, kept);
    if valid == 0 {
        return;
    }
    let out = b.def("out", ty, Op::Select(Cmp::Lt, t, len, v, zero));
    let out = if valid < lanes {
        b.def("out", fwd.vty(valid), Op::Slice(out, 0))
    } else {
        out
    };
    let row = fwd.row(b, t, s);
    let oat = b.imul("oat", row, Operand::Imm(io.out_width as i64));
    let oat = b.iadd("oat", oat, Operand::Reg(j0));
    b.store(io.out, Some(oat), (r.direction * fwd.h) as i64, out);
}

/// Biases, activation and stores for the `pre` rows of every sequence: all chunks, or
/// the chunks `[c0, c1)` of a share.
fn emit_separate_epilogue(
    fwd: &Fwd<'_>,
    b: &mut Builder<'_>,
    io: &LayerIo,
    r: &Recurrence,
    halves: &Halves,
    t: Reg,
    chunk_range: Option<(Reg, Reg)>,
) {
    let lanes = fwd.lanes;
    let chunks = fwd.hp / lanes;
    let last = (chunks - 1) * lanes;
    b.for_loop("b", Operand::Reg(fwd.batch), false, |b, s| {
        let len = fwd.length(b, s);
        let base = b.imul("pre_at", s, Operand::Imm(fwd.hp as i64));
        let chunk = |b: &mut Builder<'_>, j0: Reg, valid: usize| {
            let at = b.iadd("pre_at", base, Operand::Reg(j0));
            let pre = fwd.work(b, pre_name(r.direction));
            let v = b.load("pre", fwd.vty(lanes), pre, Some(at), 0);
            epilogue(fwd, b, io, r, halves, (t, s, len), j0, (lanes, valid), v);
        };
        for_units(b, chunks, chunk_range, "jc", |b, jc, is_last| {
            if is_last {
                let j0 = b.iconst("j0", last as i64);
                chunk(b, j0, fwd.h - last);
            } else {
                let j0 = b.imul("j0", jc, Operand::Imm(lanes as i64));
                chunk(b, j0, lanes);
            }
        });
    });
}
