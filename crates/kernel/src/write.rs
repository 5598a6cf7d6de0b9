//! The text form of the kernel IR, as `rnnc --emit ir` prints it and `parse` reads it.
//!
//! ```text
//! module torch_doc f32 vector=128 registers=16 packed=1480 work=LN*40 + N*80
//! state h width=20 layers=2 directions=1
//!
//! func @forward(@weights: f32 readonly, ..., %seq_len: i64, %batch: i64) {
//!   view @weight_hh_l0.p20: f32 = @weights[200; 400]
//!   for %t in 0..%seq_len {
//!     %acc0: f32x4 = load.f32x4 @P[%row + 4]
//!     ...
//!   }
//! }
//! ```
//!
//! A register's type is written where it is first assigned (`%acc: f32x4 = ...`); loop
//! variables are `i64`. Operations that create a type say it (`load.f32x4`, `splat.f32x4`).
//! Printing then parsing gives back an equal module when registers are numbered in reading
//! order, which [`canonicalize_regs`](crate::canonicalize_regs) ensures after every pass.

use std::fmt::{self, Write};

use crate::module::*;
use crate::types::Type;

impl fmt::Display for Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "module {} {} vector={} registers={} packed={} work={}",
            self.name,
            self.dtype,
            self.target.vector_bits,
            self.target.vector_registers,
            self.packed_len,
            self.work
        )?;
        for s in &self.states {
            writeln!(
                f,
                "state {} width={} layers={} directions={}",
                s.name, s.width, s.layers, s.directions
            )?;
        }
        for phase in &self.schedule {
            match phase {
                Phase::All(f1) => writeln!(f, "phase all @{f1}")?,
                Phase::One(f1) => writeln!(f, "phase one @{f1}")?,
                Phase::Steps { stages, all } => {
                    write!(f, "phase steps")?;
                    for stage in stages {
                        write!(f, " @{stage}")?;
                    }
                    writeln!(f, " @{all}")?
                }
                Phase::Pair(f1, f2) => writeln!(f, "phase pair @{f1} @{f2}")?,
            }
        }
        if !self.frame.is_empty() {
            write!(f, "frame")?;
            for name in &self.frame {
                write!(f, " @{name}")?;
            }
            writeln!(f)?;
        }
        for func in &self.functions {
            writeln!(f)?;
            write!(f, "{func}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|p| match *p {
                Param::Buf(b) => {
                    let info = self.buf(b);
                    let mut s = format!("@{}: {}", info.name, info.elem);
                    if let BufKind::Param {
                        readonly,
                        nullable,
                        len,
                    } = info.kind
                    {
                        if readonly {
                            s.push_str(" readonly");
                        }
                        if nullable {
                            s.push_str(" nullable");
                        }
                        if let Some(len) = len {
                            s.push_str(&format!(" [{len}]"));
                        }
                    }
                    s
                }
                Param::Scalar(r) => format!("%{}: {}", self.reg(r).name, self.ty(r)),
            })
            .collect();
        writeln!(f, "func @{}({}) {{", self.name, params.join(", "))?;
        for info in &self.bufs {
            if let BufKind::View { base, offset, len } = &info.kind {
                writeln!(
                    f,
                    "  view @{}: {} = @{}[{offset}; {len}]",
                    info.name,
                    info.elem,
                    self.buf(*base).name
                )?;
            }
        }
        // Registers are declared where they are first assigned (`%x: f32 = ...`) or by
        // their loop; only registers read before any assignment need a `regs` line.
        let (read_first, _) = first_appearances(self);
        for r in read_first {
            writeln!(f, "  regs {}: %{}", self.ty(r), self.reg(r).name)?;
        }
        let mut text = String::new();
        let mut declared: Vec<bool> = vec![false; self.regs.len()];
        for p in &self.params {
            if let Param::Scalar(r) = p {
                declared[r.0 as usize] = true;
            }
        }
        for r in first_appearances(self).0 {
            declared[r.0 as usize] = true;
        }
        write_body(self, &self.body, 1, &mut declared, &mut text)?;
        f.write_str(&text)?;
        writeln!(f, "}}")
    }
}

fn write_body(
    func: &Function,
    body: &[Stmt],
    depth: usize,
    declared: &mut [bool],
    out: &mut String,
) -> fmt::Result {
    let pad = "  ".repeat(depth);
    for stmt in body {
        match stmt {
            Stmt::Inst(inst) => {
                let text = InstDisplay(func, inst).to_string();
                match inst.dst {
                    Some(d) if !declared[d.0 as usize] => {
                        declared[d.0 as usize] = true;
                        // `%x = op` becomes `%x: TYPE = op`.
                        let name = format!("%{}", func.reg(d).name);
                        let rest = &text[name.len()..];
                        writeln!(out, "{pad}{name}: {}{rest}", func.ty(d))?;
                    }
                    _ => writeln!(out, "{pad}{text}")?,
                }
            }
            Stmt::Comment(text) => writeln!(out, "{pad}; {text}")?,
            Stmt::Call(call) => {
                let args: Vec<String> = call
                    .args
                    .iter()
                    .map(|a| match a {
                        Param::Buf(b) => format!("@{}", func.buf(*b).name),
                        Param::Scalar(r) => format!("%{}", func.reg(*r).name),
                    })
                    .collect();
                writeln!(out, "{pad}call @{}({})", call.callee, args.join(", "))?
            }
            Stmt::Loop(l) => {
                let count = match l.count {
                    Operand::Reg(r) => format!("%{}", func.reg(r).name),
                    Operand::Imm(n) => n.to_string(),
                };
                let rev = if l.reverse { " rev" } else { "" };
                declared[l.var.0 as usize] = true;
                writeln!(
                    out,
                    "{pad}for %{} in 0..{count}{rev} {{",
                    func.reg(l.var).name
                )?;
                write_body(func, &l.body, depth + 1, declared, out)?;
                writeln!(out, "{pad}}}")?;
            }
            Stmt::If(i) => {
                writeln!(out, "{pad}if %{} {{", func.reg(i.cond).name)?;
                write_body(func, &i.then, depth + 1, declared, out)?;
                if !i.otherwise.is_empty() {
                    writeln!(out, "{pad}}} else {{")?;
                    write_body(func, &i.otherwise, depth + 1, declared, out)?;
                }
                writeln!(out, "{pad}}}")?;
            }
        }
    }
    Ok(())
}

/// `%name`, or `%?N` for a register `func` does not have: the verifier shows broken IR
/// with it (it does not parse).
pub(crate) fn reg_text(func: &Function, reg: Reg) -> String {
    match func.regs.get(reg.0 as usize) {
        Some(info) => format!("%{}", info.name),
        None => format!("%?{}", reg.0),
    }
}

/// `@name`, or `@?N` for a buffer `func` does not have (see [`reg_text`]).
pub(crate) fn buf_text(func: &Function, buf: Buf) -> String {
    match func.bufs.get(buf.0 as usize) {
        Some(info) => format!("@{}", info.name),
        None => format!("@?{}", buf.0),
    }
}

/// One instruction in text form, e.g. `%acc = fma %w, %x, %acc`. Registers and buffers
/// the function does not have are written `%?N` and `@?N`.
pub struct InstDisplay<'a>(pub &'a Function, pub &'a Inst);

impl fmt::Display for InstDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let InstDisplay(func, inst) = *self;
        let r = |reg: Reg| reg_text(func, reg);
        let addr = |buf: Buf, a: &Addr| {
            let mut s = format!("{}[", buf_text(func, buf));
            match (a.index, a.offset) {
                (Some(i), 0) => s.push_str(&r(i)),
                (Some(i), o) if o < 0 => s.push_str(&format!("{} - {}", r(i), -o)),
                (Some(i), o) => s.push_str(&format!("{} + {o}", r(i))),
                (None, o) => s.push_str(&o.to_string()),
            }
            s.push(']');
            s
        };
        if let Some(dst) = inst.dst {
            write!(f, "{} = ", r(dst))?;
        }
        let ty = inst
            .dst
            .and_then(|d| func.regs.get(d.0 as usize))
            .map(|info| info.ty);
        let suffix = || ty.map(|t| format!(".{t}")).unwrap_or_default();
        match &inst.op {
            Op::Iconst(v) => write!(f, "iconst{} {v}", suffix()),
            Op::Fconst(v) => write!(f, "fconst{} {}", suffix(), float_text(*v, ty)),
            Op::Copy(a) => write!(f, "copy {}", r(*a)),
            Op::Int(op, a, b) => {
                let name = match op {
                    IntOp::Add => "iadd",
                    IntOp::Sub => "isub",
                    IntOp::Mul => "imul",
                    IntOp::Div => "udiv",
                    IntOp::Shl => "ishl",
                };
                let b = match b {
                    Operand::Reg(b) => r(*b),
                    Operand::Imm(n) => n.to_string(),
                };
                write!(f, "{name} {}, {b}", r(*a))
            }
            Op::Float(op, a, b) => {
                let name = match op {
                    FloatOp::Add => "fadd",
                    FloatOp::Sub => "fsub",
                    FloatOp::Mul => "fmul",
                    FloatOp::Div => "fdiv",
                };
                write!(f, "{name} {}, {}", r(*a), r(*b))
            }
            Op::Fma(a, b, c) => write!(f, "fma {}, {}, {}", r(*a), r(*b), r(*c)),
            Op::Bits(op, a, b) => {
                let name = match op {
                    BitOp::And => "band",
                    BitOp::Or => "bor",
                    BitOp::Xor => "bxor",
                };
                write!(f, "{name} {}, {}", r(*a), r(*b))
            }
            Op::Bitcast(a) => write!(f, "bitcast{} {}", suffix(), r(*a)),
            Op::Splat(a) => write!(f, "splat{} {}", suffix(), r(*a)),
            Op::Extract(a, lane) => write!(f, "extract {}, {lane}", r(*a)),
            Op::Slice(a, start) => write!(f, "slice{} {}, {start}", suffix(), r(*a)),
            Op::ReduceAdd(a) => write!(f, "reduce_add {}", r(*a)),
            Op::Select(cmp, a, b, x, y) => {
                let cmp = match cmp {
                    Cmp::Lt => "lt",
                    Cmp::Le => "le",
                };
                write!(f, "select.{cmp} {}, {}, {}, {}", r(*a), r(*b), r(*x), r(*y))
            }
            Op::Tanh(a) => write!(f, "tanh {}", r(*a)),
            Op::Sigmoid(a) => write!(f, "sigmoid {}", r(*a)),
            Op::Load(b, a) => write!(f, "load{} {}", suffix(), addr(*b, a)),
            Op::Store(b, a, v) => write!(f, "store {}, {}", addr(*b, a), r(*v)),
            Op::IsNull(b) => write!(f, "is_null {}", buf_text(func, *b)),
        }
    }
}

/// A float constant in the shortest text that parses back to the same value of its type.
fn float_text(v: f64, ty: Option<Type>) -> String {
    match ty.map(|t| t.scalar) {
        Some(crate::types::Scalar::F32) => format!("{:?}", v as f32),
        _ => format!("{v:?}"),
    }
}
