//! `legalize`: split every vector wider than the machine's into machine vectors, and every
//! width that is not a multiple into machine vectors plus scalars (the explicit tail).
//!
//! A register of type `f32x11` on a 128-bit target becomes three registers `f32x4`,
//! `f32x4` and three `f32` (lanes 0-3, 4-7, 8, 9, 10); every instruction on it becomes one
//! instruction per part, with loads and stores at the parts' element offsets. Lane order is
//! kept exactly, `reduce_add` included: its halving order adds whole parts first, which is
//! what halving the wide vector does. Loads from read-only buffers then move down to just
//! before their first use, so that machine code can fold them into the operation. After this
//! pass the module verifies at [`Level::Legal`] once `tanh` is
//! expanded.

use std::collections::HashMap;

use rnnc_kernel::*;
use rnnc_kernel::{Target, Type};

/// A construct this pass cannot split (a bug in the pass that produced it).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("legalize: in func @{function}: {message}")]
pub struct LegalizeError {
    /// The function.
    pub function: String,
    /// What could not be split.
    pub message: String,
}

/// Splits the wide and odd-width vectors of every function.
pub fn legalize(mut module: Module) -> Result<Module, LegalizeError> {
    let target = module.target;
    for func in &mut module.functions {
        let mut parts = Parts {
            target,
            map: HashMap::new(),
        };
        let body = std::mem::take(&mut func.body);
        let body = parts.body(func, body).map_err(|message| LegalizeError {
            function: func.name.clone(),
            message,
        })?;
        func.body = sink_loads(func, body);
        canonicalize_regs(func);
    }
    Ok(module)
}

/// Moves each load from a read-only buffer down to just before the first instruction that
/// uses its register, within its statement list.
///
/// Splitting a wide load emits all its parts together, far from their uses; a machine
/// vector loaded right before its use can be folded into it (`vfmadd231ps xmm, [mem]`) and
/// holds no register meanwhile. Read-only buffers (weights, inputs) never change during a
/// call, so reading them later reads the same values: results are unchanged, bit for bit.
fn sink_loads(func: &Function, body: Vec<Stmt>) -> Vec<Stmt> {
    let sinkable = |inst: &Inst| match &inst.op {
        Op::Load(buf, _) => func.is_readonly(*buf),
        _ => false,
    };
    let mut out = Vec::with_capacity(body.len());
    let mut pending: Vec<Inst> = Vec::new();
    let flush_if =
        |pending: &mut Vec<Inst>, out: &mut Vec<Stmt>, needed: &dyn Fn(&Inst) -> bool| {
            let mut kept = Vec::with_capacity(pending.len());
            for load in pending.drain(..) {
                if needed(&load) {
                    out.push(Stmt::Inst(load));
                } else {
                    kept.push(load);
                }
            }
            *pending = kept;
        };
    for stmt in body {
        match stmt {
            Stmt::Inst(inst) if sinkable(&inst) => pending.push(inst),
            Stmt::Inst(inst) => {
                let uses = inst.op.uses();
                let dst = inst.dst;
                // A pending load goes out before an instruction that reads its register,
                // assigns it, or assigns the register its address depends on.
                flush_if(&mut pending, &mut out, &|load: &Inst| {
                    let loaded = load.dst.expect("loads assign a register");
                    let index = match &load.op {
                        Op::Load(_, addr) => addr.index,
                        _ => None,
                    };
                    uses.contains(&loaded) || dst == Some(loaded) || (dst.is_some() && dst == index)
                });
                out.push(Stmt::Inst(inst));
            }
            Stmt::Loop(mut l) => {
                out.extend(pending.drain(..).map(Stmt::Inst));
                l.body = sink_loads(func, l.body);
                out.push(Stmt::Loop(l));
            }
            Stmt::If(mut i) => {
                out.extend(pending.drain(..).map(Stmt::Inst));
                i.then = sink_loads(func, i.then);
                i.otherwise = sink_loads(func, i.otherwise);
                out.push(Stmt::If(i));
            }
            Stmt::Call(call) => {
                out.extend(pending.drain(..).map(Stmt::Inst));
                out.push(Stmt::Call(call));
            }
            Stmt::Comment(c) => out.push(Stmt::Comment(c)),
        }
    }
    out.extend(pending.into_iter().map(Stmt::Inst));
    out
}

/// One part of a split register: the register and its first lane in the original.
#[derive(Clone, Copy, Debug)]
struct Part {
    reg: Reg,
    start: u16,
}

struct Parts {
    target: Target,
    map: HashMap<Reg, Vec<Part>>,
}

/// Lane widths of the parts of a type: machine vectors, then scalars.
fn widths(target: Target, ty: Type) -> Vec<u16> {
    let machine = target.lanes(ty.scalar);
    if ty.lanes == 1 || ty.lanes == machine {
        return vec![ty.lanes];
    }
    let mut out = vec![machine; (ty.lanes / machine) as usize];
    out.extend(std::iter::repeat_n(1, (ty.lanes % machine) as usize));
    out
}

impl Parts {
    fn of(&mut self, func: &mut Function, reg: Reg) -> Vec<Part> {
        if let Some(p) = self.map.get(&reg) {
            return p.clone();
        }
        let ty = func.ty(reg);
        let w = widths(self.target, ty);
        let parts = if w.len() == 1 {
            vec![Part { reg, start: 0 }]
        } else {
            let name = func.reg(reg).name.clone();
            let mut start = 0;
            w.iter()
                .enumerate()
                .map(|(i, &lanes)| {
                    let part = Part {
                        reg: func.new_reg(&format!("{name}.{i}"), ty.with_lanes(lanes)),
                        start,
                    };
                    start += lanes;
                    part
                })
                .collect()
        };
        self.map.insert(reg, parts.clone());
        parts
    }

    fn body(&mut self, func: &mut Function, body: Vec<Stmt>) -> Result<Vec<Stmt>, String> {
        let mut out = Vec::with_capacity(body.len());
        for stmt in body {
            match stmt {
                Stmt::Inst(inst) => self.inst(func, inst, &mut out)?,
                Stmt::Loop(mut l) => {
                    l.body = self.body(func, l.body)?;
                    out.push(Stmt::Loop(l));
                }
                Stmt::If(mut i) => {
                    i.then = self.body(func, i.then)?;
                    i.otherwise = self.body(func, i.otherwise)?;
                    out.push(Stmt::If(i));
                }
                other @ (Stmt::Comment(_) | Stmt::Call(_)) => out.push(other),
            }
        }
        Ok(out)
    }

    fn inst(&mut self, func: &mut Function, inst: Inst, out: &mut Vec<Stmt>) -> Result<(), String> {
        let emit =
            |out: &mut Vec<Stmt>, dst: Option<Reg>, op: Op| out.push(Stmt::Inst(Inst { dst, op }));
        let Some(dst) = inst.dst else {
            // Stores: one per part of the value.
            if let Op::Store(buf, addr, value) = inst.op {
                for part in self.of(func, value) {
                    let addr = Addr {
                        index: addr.index,
                        offset: addr.offset + part.start as i64,
                    };
                    emit(out, None, Op::Store(buf, addr, part.reg));
                }
            }
            return Ok(());
        };
        let dparts = self.of(func, dst);
        // Legal already, and no wide operand: keep as is (reduce_add and extract and slice
        // of wide operands are handled below).
        let operands_legal = inst.op.uses().iter().all(|&r| self.of(func, r).len() == 1);
        let narrowing = matches!(
            inst.op,
            Op::ReduceAdd(_) | Op::Extract(..) | Op::Slice(..) | Op::Splat(_)
        );
        if dparts.len() == 1 && operands_legal && !narrowing {
            emit(out, Some(dst), inst.op);
            return Ok(());
        }
        match inst.op {
            Op::ReduceAdd(a) => {
                let mut parts: Vec<Reg> = self.of(func, a).iter().map(|p| p.reg).collect();
                // Halving across parts, then within the last machine vector.
                while parts.len() > 1 {
                    let half = parts.len() / 2;
                    for i in 0..half {
                        let sum =
                            func.new_reg(&format!("{}.sum", func.reg(dst).name), func.ty(parts[i]));
                        emit(
                            out,
                            Some(sum),
                            Op::Float(FloatOp::Add, parts[i], parts[i + half]),
                        );
                        parts[i] = sum;
                    }
                    parts.truncate(half);
                }
                let op = if func.ty(parts[0]).lanes == 1 {
                    Op::Copy(parts[0])
                } else {
                    Op::ReduceAdd(parts[0])
                };
                emit(out, Some(dst), op);
            }
            Op::Extract(a, lane) => {
                let part = self
                    .of(func, a)
                    .into_iter()
                    .rev()
                    .find(|p| p.start <= lane)
                    .expect("part 0 starts at lane 0");
                let op = if func.ty(part.reg).lanes == 1 {
                    Op::Copy(part.reg)
                } else {
                    Op::Extract(part.reg, lane - part.start)
                };
                emit(out, Some(dst), op);
            }
            Op::Slice(a, start) => {
                let src = self.of(func, a);
                for d in &dparts {
                    let lane = start + d.start;
                    let dl = func.ty(d.reg).lanes;
                    let s = src
                        .iter()
                        .rev()
                        .find(|p| p.start <= lane)
                        .expect("part 0 starts at lane 0");
                    let sl = func.ty(s.reg).lanes;
                    let op = if s.start == lane && sl == dl {
                        Op::Copy(s.reg)
                    } else if dl == 1 {
                        Op::Extract(s.reg, lane - s.start)
                    } else {
                        return Err(format!(
                            "slice at lane {start} of %{} does not fall on machine vectors",
                            func.reg(a).name
                        ));
                    };
                    emit(out, Some(d.reg), op);
                }
            }
            Op::Splat(a) => {
                // One broadcast serves every machine-width part: the others copy it, which
                // costs no register in the code generator.
                let mut first_vector: Option<Reg> = None;
                for d in &dparts {
                    let op = match (func.ty(d.reg).lanes, first_vector) {
                        (1, _) => Op::Copy(a),
                        (_, Some(v)) => Op::Copy(v),
                        (_, None) => {
                            first_vector = Some(d.reg);
                            Op::Splat(a)
                        }
                    };
                    emit(out, Some(d.reg), op);
                }
            }
            Op::Load(buf, addr) => {
                for d in &dparts {
                    let addr = Addr {
                        index: addr.index,
                        offset: addr.offset + d.start as i64,
                    };
                    emit(out, Some(d.reg), Op::Load(buf, addr));
                }
            }
            Op::Iconst(_) | Op::Fconst(_) | Op::IsNull(_) => {
                for d in &dparts {
                    emit(out, Some(d.reg), inst.op.clone());
                }
            }
            Op::Select(cmp, a, b, x, y) => {
                let scalar_condition = func.ty(a).lanes == 1;
                let (xs, ys) = (self.of(func, x), self.of(func, y));
                let (as_, bs) = if scalar_condition {
                    (vec![], vec![])
                } else {
                    (self.of(func, a), self.of(func, b))
                };
                for (i, d) in dparts.iter().enumerate() {
                    let (pa, pb) = if scalar_condition {
                        (a, b)
                    } else {
                        (as_[i].reg, bs[i].reg)
                    };
                    emit(
                        out,
                        Some(d.reg),
                        Op::Select(cmp, pa, pb, xs[i].reg, ys[i].reg),
                    );
                }
            }
            Op::Bitcast(a) => {
                let src = self.of(func, a);
                if src.len() != dparts.len()
                    || src
                        .iter()
                        .zip(&dparts)
                        .any(|(s, d)| func.ty(s.reg).bits() != func.ty(d.reg).bits())
                {
                    return Err(format!(
                        "bitcast of %{} to %{}: parts of different widths",
                        func.reg(a).name,
                        func.reg(dst).name
                    ));
                }
                for (s, d) in src.iter().zip(&dparts) {
                    emit(out, Some(d.reg), Op::Bitcast(s.reg));
                }
            }
            op @ (Op::Copy(_)
            | Op::Int(..)
            | Op::Float(..)
            | Op::Fma(..)
            | Op::Bits(..)
            | Op::Tanh(_)
            | Op::Sigmoid(_)) => {
                // Lane-wise: part i of the result from part i of each operand.
                for r in op.uses() {
                    self.of(func, r);
                }
                for (i, d) in dparts.iter().enumerate() {
                    let mut part_op = op.clone();
                    part_op.map_uses(|r| self.map[&r][i].reg);
                    emit(out, Some(d.reg), part_op);
                }
            }
            Op::Store(..) => unreachable!("stores have no destination"),
        }
        Ok(())
    }
}
