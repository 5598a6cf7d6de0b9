//! The machine: a function's registers and argument windows, and the execution of its
//! statements with every memory access bounds-checked (and tracked, within a schedule).

use rnnc_kernel::{
    Addr, BufKind, Function, Inst, InstDisplay, Op, Operand, Param, Reg, Scalar, Stmt, Valid,
};

use crate::lanes::{self, f32_of, f64_of};
use crate::race::Tracker;
use crate::{Access, Arg, InterpError, arg_len, kind, reborrow, shared};

/// Where a buffer's elements are: an argument and a window of it.
#[derive(Clone, Copy, Debug)]
struct Window {
    arg: usize,
    offset: u64,
    len: u64,
}

struct Machine<'f, 'a, 'b, 't> {
    func: &'f Function,
    /// The module whose functions `call` statements name (none: calls are faults).
    module: &'f Valid,
    args: &'b mut [Arg<'a>],
    windows: Vec<Window>,
    /// Lane values as raw bits (f32 in the low 32 bits), per register at `slots[r]`.
    lanes: Vec<u64>,
    slots: Vec<usize>,
    scratch: Vec<u64>,
    /// The race tracker and the part this call runs as, within a schedule.
    tracker: Option<(&'t mut Tracker, usize)>,
    /// For each argument, the argument of the outermost call it is (calls pass buffers on):
    /// the tracker counts elements of those.
    roots: Vec<usize>,
    /// For each buffer parameter, its argument.
    param_arg: Vec<Option<usize>>,
}

/// `run`, recording accesses as `part` in `tracker` when given.
pub(crate) fn run_as(
    module: &Valid,
    func: &Function,
    args: &mut [Arg<'_>],
    tracker: Option<(&mut Tracker, usize)>,
    roots: Vec<usize>,
) -> Result<(), InterpError> {
    let fail = |message: String| InterpError::Arguments {
        function: func.name.clone(),
        message,
    };
    if args.len() != func.params.len() {
        return Err(fail(format!(
            "{} parameters, {} arguments",
            func.params.len(),
            args.len()
        )));
    }
    let mut slots = Vec::with_capacity(func.regs.len());
    let mut total = 0;
    for info in &func.regs {
        slots.push(total);
        total += info.ty.lanes as usize;
    }
    let mut lanes = vec![0u64; total];
    let mut param_arg = vec![None; func.bufs.len()];
    let (mut seq_len, mut batch) = (None, None);
    for (i, (param, arg)) in func.params.iter().zip(args.iter()).enumerate() {
        match (param, arg) {
            (Param::Scalar(r), Arg::Scalar(v)) => {
                lanes[slots[r.0 as usize]] = *v as u64;
                match func.reg(*r).name.as_str() {
                    "seq_len" => seq_len = Some(*v),
                    "batch" => batch = Some(*v),
                    _ => {}
                }
            }
            (Param::Scalar(r), other) => {
                return Err(fail(format!(
                    "%{} takes a scalar, found {}",
                    func.reg(*r).name,
                    kind(other)
                )));
            }
            (Param::Buf(b), arg) => {
                let info = func.buf(*b);
                let BufKind::Param {
                    readonly, nullable, ..
                } = info.kind
                else {
                    unreachable!("parameters are parameter buffers");
                };
                let ok = match (info.elem, arg) {
                    (_, Arg::Null) => nullable,
                    (Scalar::F32, Arg::F32Mut(_)) | (Scalar::F64, Arg::F64Mut(_)) => true,
                    (Scalar::F32, Arg::F32(_))
                    | (Scalar::F64, Arg::F64(_))
                    | (Scalar::I64, Arg::I64(_)) => readonly,
                    _ => false,
                };
                if !ok {
                    return Err(fail(format!(
                        "@{} ({}{}{}) cannot take {}",
                        info.name,
                        info.elem,
                        if readonly { ", readonly" } else { "" },
                        if nullable { ", nullable" } else { "" },
                        kind(arg)
                    )));
                }
                param_arg[b.0 as usize] = Some(i);
            }
        }
    }
    let mut windows = Vec::with_capacity(func.bufs.len());
    for (i, info) in func.bufs.iter().enumerate() {
        let buf = rnnc_kernel::Buf(i as u32);
        let (root, offset) = func.root(buf);
        let arg = param_arg[root.0 as usize].expect("every root is a parameter");
        let arg_len = arg_len(&args[arg]);
        let eval = |size: rnnc_kernel::Size| -> Result<u64, InterpError> {
            if size.is_fixed() {
                return Ok(size.c);
            }
            let (Some(l), Some(n)) = (seq_len, batch) else {
                return Err(fail(format!(
                    "@{} depends on %seq_len and %batch, which the function lacks",
                    info.name
                )));
            };
            size.eval(l as u64, n as u64)
                .ok_or_else(|| fail(format!("the size of @{} overflows", info.name)))
        };
        let (offset, len) = match &info.kind {
            BufKind::Param { len, .. } => {
                if let Some(len) = len
                    && !matches!(args[arg], Arg::Null)
                {
                    let needed = eval(*len)?;
                    if arg_len < needed {
                        return Err(fail(format!(
                            "@{} needs {needed} elements, the argument has {arg_len}",
                            info.name
                        )));
                    }
                }
                (0, arg_len)
            }
            BufKind::View { len, .. } => (eval(offset)?, eval(*len)?),
        };
        if matches!(args[arg], Arg::Null) {
            windows.push(Window {
                arg,
                offset: 0,
                len: 0,
            });
            continue;
        }
        if offset.checked_add(len).is_none_or(|end| end > arg_len) {
            return Err(fail(format!(
                "@{} needs elements [{offset}, {}) of an argument of {arg_len}",
                info.name,
                offset.saturating_add(len)
            )));
        }
        windows.push(Window { arg, offset, len });
    }
    let mut machine = Machine {
        func,
        module,
        roots,
        param_arg,
        args,
        windows,
        lanes,
        slots,
        scratch: vec![0; rnnc_kernel::MAX_LANES as usize],
        tracker,
    };
    machine.body(&func.body)
}

impl Machine<'_, '_, '_, '_> {
    fn fault(&self, inst: &Inst, message: String) -> InterpError {
        InterpError::Fault {
            function: self.func.name.clone(),
            inst: InstDisplay(self.func, inst).to_string(),
            message,
        }
    }

    fn slot(&self, r: Reg) -> (usize, usize, Scalar) {
        let ty = self.func.ty(r);
        (self.slots[r.0 as usize], ty.lanes as usize, ty.scalar)
    }

    fn scalar(&self, r: Reg) -> i64 {
        self.lanes[self.slots[r.0 as usize]] as i64
    }

    fn body(&mut self, body: &[Stmt]) -> Result<(), InterpError> {
        for stmt in body {
            match stmt {
                Stmt::Inst(inst) => self.inst(inst)?,
                Stmt::Comment(_) => {}
                Stmt::Call(call) => self.call(call)?,
                Stmt::Loop(l) => {
                    let count = match l.count {
                        Operand::Imm(n) => n,
                        Operand::Reg(r) => self.scalar(r),
                    };
                    if count < 0 {
                        return Err(InterpError::Fault {
                            function: self.func.name.clone(),
                            inst: format!("for %{}", self.func.reg(l.var).name),
                            message: format!("negative trip count {count}"),
                        });
                    }
                    let var = self.slots[l.var.0 as usize];
                    for n in 0..count {
                        self.lanes[var] = if l.reverse { count - 1 - n } else { n } as u64;
                        self.body(&l.body)?;
                    }
                }
                Stmt::If(i) => {
                    if self.scalar(i.cond) != 0 {
                        self.body(&i.then)?;
                    } else {
                        self.body(&i.otherwise)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Runs the callee with the arguments the call names (the caller's own, passed on), as
    /// the same part of a schedule.
    fn call(&mut self, call: &rnnc_kernel::Call) -> Result<(), InterpError> {
        let fault = |message: String| InterpError::Fault {
            function: self.func.name.clone(),
            inst: format!("call @{}", call.callee),
            message,
        };
        let module = self.module;
        let target = module
            .function(&call.callee)
            .ok_or_else(|| fault("the module has no such function".into()))?;
        // Reborrow every argument of this function once; shared ones may be passed twice,
        // writable ones once (the verifier checks it).
        let mut mine: Vec<Option<Arg<'_>>> =
            self.args.iter_mut().map(|a| Some(reborrow(a))).collect();
        let mut args = Vec::with_capacity(call.args.len());
        let mut roots = Vec::with_capacity(call.args.len());
        for a in &call.args {
            match a {
                Param::Scalar(r) => {
                    args.push(Arg::Scalar(self.lanes[self.slots[r.0 as usize]] as i64));
                    roots.push(usize::MAX);
                }
                Param::Buf(b) => {
                    let index = self.param_arg[b.0 as usize].ok_or_else(|| {
                        fault(format!("@{} is not a parameter", self.func.buf(*b).name))
                    })?;
                    let arg = match mine[index].as_ref().and_then(shared) {
                        Some(copy) => copy,
                        None => mine[index].take().ok_or_else(|| {
                            fault(format!("@{} is passed twice", self.func.buf(*b).name))
                        })?,
                    };
                    args.push(arg);
                    roots.push(self.roots[index]);
                }
            }
        }
        let tracker = self.tracker.as_mut().map(|(t, part)| (&mut **t, *part));
        run_as(module, target, &mut args, tracker, roots)
    }

    /// Element range of an access, checked against the buffer's window.
    fn range(
        &self,
        inst: &Inst,
        buf: rnnc_kernel::Buf,
        addr: &Addr,
        lanes: usize,
    ) -> Result<(usize, usize), InterpError> {
        let w = self.windows[buf.0 as usize];
        if matches!(self.args[w.arg], Arg::Null) {
            return Err(self.fault(inst, format!("@{} is null", self.func.buf(buf).name)));
        }
        let index = addr.index.map_or(0, |r| self.scalar(r));
        let start = index.wrapping_add(addr.offset);
        let end = start.wrapping_add(lanes as i64);
        if start < 0 || end < start || end as u64 > w.len {
            return Err(InterpError::OutOfBounds {
                function: self.func.name.clone(),
                inst: InstDisplay(self.func, inst).to_string(),
                buffer: self.func.buf(buf).name.clone(),
                start,
                end,
                len: w.len,
            });
        }
        let at = (w.offset + start as u64) as usize;
        Ok((w.arg, at))
    }

    fn inst(&mut self, inst: &Inst) -> Result<(), InterpError> {
        let Some(dst) = inst.dst else {
            let Op::Store(buf, addr, v) = &inst.op else {
                unreachable!("only stores lack a destination");
            };
            let (slot, n, _) = self.slot(*v);
            let (arg, at) = self.range(inst, *buf, addr, n)?;
            self.track(inst, *buf, (arg, at, n), true)?;
            let src = &self.lanes[slot..slot + n];
            match &mut self.args[arg] {
                Arg::F32Mut(m) => {
                    for (d, s) in m[at..at + n].iter_mut().zip(src) {
                        *d = f32_of(*s);
                    }
                }
                Arg::F64Mut(m) => {
                    for (d, s) in m[at..at + n].iter_mut().zip(src) {
                        *d = f64_of(*s);
                    }
                }
                other => {
                    let k = kind(other);
                    return Err(self.fault(inst, format!("store to {k}")));
                }
            }
            return Ok(());
        };
        let (dslot, n, scalar) = self.slot(dst);
        // Results go to scratch first: an operand may be the destination.
        let mut out = std::mem::take(&mut self.scratch);
        let result = self.compute(inst, n, scalar, &mut out);
        if result.is_ok() {
            self.lanes[dslot..dslot + n].copy_from_slice(&out[..n]);
        }
        self.scratch = out;
        result
    }

    /// Records `n` elements from `at` of argument `arg` as read or written by this part.
    fn track(
        &mut self,
        inst: &Inst,
        buf: rnnc_kernel::Buf,
        (arg, at, n): (usize, usize, usize),
        write: bool,
    ) -> Result<(), InterpError> {
        let root = self.roots[arg];
        let Some((tracker, part)) = self.tracker.as_mut() else {
            return Ok(());
        };
        for element in at..at + n {
            if let Some((other, other_access)) = tracker.touch(root, element, *part, write) {
                return Err(InterpError::Race {
                    function: self.func.name.clone(),
                    inst: InstDisplay(self.func, inst).to_string(),
                    buffer: self.func.buf(buf).name.clone(),
                    element: element as u64,
                    part: *part,
                    access: if write { Access::Write } else { Access::Read },
                    other,
                    other_access,
                });
            }
        }
        Ok(())
    }

    fn lane(&self, r: Reg, i: usize) -> u64 {
        self.lanes[self.slots[r.0 as usize] + i]
    }

    fn compute(
        &mut self,
        inst: &Inst,
        n: usize,
        scalar: Scalar,
        out: &mut [u64],
    ) -> Result<(), InterpError> {
        match &inst.op {
            Op::Iconst(v) => out[..n].fill(*v as u64),
            Op::Fconst(v) => out[..n].fill(match scalar {
                Scalar::F32 => (*v as f32).to_bits() as u64,
                _ => v.to_bits(),
            }),
            Op::Copy(a) => {
                for (i, o) in out[..n].iter_mut().enumerate() {
                    *o = self.lane(*a, i);
                }
            }
            Op::Int(op, a, b) => {
                for (i, o) in out[..n].iter_mut().enumerate() {
                    let x = self.lane(*a, i) as i64;
                    let y = match b {
                        Operand::Imm(v) => *v,
                        Operand::Reg(r) => self.lane(*r, i) as i64,
                    };
                    *o = lanes::int(*op, x, y)
                        .ok_or_else(|| self.fault(inst, "division by zero".into()))?;
                }
            }
            Op::Float(op, a, b) => {
                for (i, o) in out[..n].iter_mut().enumerate() {
                    *o = lanes::float(scalar, *op, self.lane(*a, i), self.lane(*b, i));
                }
            }
            Op::Fma(a, b, c) => {
                for (i, o) in out[..n].iter_mut().enumerate() {
                    let (x, y, z) = (self.lane(*a, i), self.lane(*b, i), self.lane(*c, i));
                    *o = lanes::fma(scalar, x, y, z);
                }
            }
            Op::Bits(op, a, b) => {
                for (i, o) in out[..n].iter_mut().enumerate() {
                    *o = lanes::bits(*op, self.lane(*a, i), self.lane(*b, i));
                }
            }
            Op::Bitcast(a) => {
                // Through little-endian bytes, as the machine's registers hold them.
                let (slot, an, ascalar) = self.slot(*a);
                let src = &self.lanes[slot..slot + an];
                lanes::bitcast((ascalar, src), scalar, &mut out[..n]);
            }
            Op::Splat(a) => out[..n].fill(self.lane(*a, 0)),
            Op::Extract(a, lane) => out[0] = self.lane(*a, *lane as usize),
            Op::Slice(a, start) => {
                for (i, o) in out[..n].iter_mut().enumerate() {
                    *o = self.lane(*a, *start as usize + i);
                }
            }
            Op::ReduceAdd(a) => {
                let (slot, m, _) = self.slot(*a);
                out[0] = lanes::reduce_add(scalar, &self.lanes[slot..slot + m]);
            }
            Op::Select(cmp, a, b, x, y) => {
                let (_, an, ascalar) = self.slot(*a);
                for (i, o) in out[..n].iter_mut().enumerate() {
                    let j = if an == 1 { 0 } else { i };
                    let (p, q) = (self.lane(*a, j), self.lane(*b, j));
                    let holds = lanes::holds(*cmp, ascalar, p, q);
                    *o = if holds {
                        self.lane(*x, i)
                    } else {
                        self.lane(*y, i)
                    };
                }
            }
            Op::Tanh(a) => {
                for (i, o) in out[..n].iter_mut().enumerate() {
                    *o = lanes::tanh(scalar, self.lane(*a, i));
                }
            }
            Op::Sigmoid(a) => {
                for (i, o) in out[..n].iter_mut().enumerate() {
                    *o = lanes::sigmoid(scalar, self.lane(*a, i));
                }
            }
            Op::Load(buf, addr) => {
                let (arg, at) = self.range(inst, *buf, addr, n)?;
                self.track(inst, *buf, (arg, at, n), false)?;
                match &self.args[arg] {
                    Arg::F32(m) => fill(out, &m[at..at + n], |v| v.to_bits() as u64),
                    Arg::F32Mut(m) => fill(out, &m[at..at + n], |v| v.to_bits() as u64),
                    Arg::F64(m) => fill(out, &m[at..at + n], |v| v.to_bits()),
                    Arg::F64Mut(m) => fill(out, &m[at..at + n], |v| v.to_bits()),
                    Arg::I64(m) => fill(out, &m[at..at + n], |v| v as u64),
                    Arg::Null | Arg::Scalar(_) => unreachable!("range rejects null buffers"),
                }
            }
            Op::IsNull(buf) => {
                let w = self.windows[buf.0 as usize];
                out[0] = matches!(self.args[w.arg], Arg::Null) as u64;
            }
            Op::Store(..) => unreachable!("stores have no destination"),
        }
        Ok(())
    }
}

fn fill<T: Copy>(out: &mut [u64], src: &[T], bits: impl Fn(T) -> u64) {
    for (o, s) in out.iter_mut().zip(src) {
        *o = bits(*s);
    }
}
