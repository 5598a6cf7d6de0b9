//! rnnc's interpreter: executes kernel IR exactly as the machine will.
//!
//! It is the oracle native code must match bit for bit, so it implements the IR's semantics
//! and nothing more: IEEE binary32/binary64 arithmetic per lane, `fma` with a single
//! rounding, `reduce_add` in its written halving order, no reassociation, no fast paths.
//! It depends on the IR crate alone, so it cannot share a bug with the code generator.
//!
//! Every memory access is bounds-checked against the buffer (or view) it names; an access
//! outside, a null buffer read, or a bad argument list is an [`InterpError`] naming the
//! instruction, never undefined behaviour. Such an error is a bug in rnnc (lowering) or in
//! the caller (arguments), never in user data.
//!
//! [`run_schedule`] also checks the premise of multi-threaded execution: between two
//! barriers, no element that one part writes is read or written by another part. It
//! records, per element, which parts read and wrote it since the last barrier, so a
//! lowering that lets threads race is an [`InterpError::Race`], although the interpreter
//! itself runs the parts one after another.

#![deny(missing_docs)]

use rnnc_ir::{
    Addr, BitOp, BufKind, Cmp, FloatOp, Function, Inst, InstDisplay, IntOp, Module, Op, Operand,
    Param, Phase, Reg, Scalar, Stmt,
};

/// An argument of an interpreted function, in parameter order.
#[derive(Debug)]
pub enum Arg<'a> {
    /// A read-only f32 buffer.
    F32(&'a [f32]),
    /// A writable f32 buffer.
    F32Mut(&'a mut [f32]),
    /// A read-only f64 buffer.
    F64(&'a [f64]),
    /// A writable f64 buffer.
    F64Mut(&'a mut [f64]),
    /// A read-only i64 buffer (lengths).
    I64(&'a [i64]),
    /// A null pointer (for nullable parameters).
    Null,
    /// An `i64` scalar.
    Scalar(i64),
}

impl<'a> Arg<'a> {
    /// A read-only buffer of a model's element type.
    pub fn slice<T: rnnc_spec::Element>(s: &'a [T]) -> Arg<'a> {
        match (T::as_f32(s), T::as_f64(s)) {
            (Some(s), _) => Arg::F32(s),
            (_, Some(s)) => Arg::F64(s),
            _ => unreachable!("elements are f32 or f64"),
        }
    }

    /// A writable buffer of a model's element type.
    pub fn slice_mut<T: rnnc_spec::Element>(s: &'a mut [T]) -> Arg<'a> {
        if T::as_f32(s).is_some() {
            Arg::F32Mut(T::as_f32_mut(s).expect("checked above"))
        } else {
            Arg::F64Mut(T::as_f64_mut(s).expect("elements are f32 or f64"))
        }
    }
}

/// Why interpretation stopped: a bug in rnnc's lowering or in the caller's arguments.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InterpError {
    /// The arguments do not match the parameters.
    #[error("func @{function}: {message}")]
    Arguments {
        /// The function.
        function: String,
        /// What does not match.
        message: String,
    },
    /// A memory access outside its buffer.
    #[error(
        "func @{function}: `{inst}`: elements [{start}, {end}) are outside @{buffer} ({len} elements)"
    )]
    OutOfBounds {
        /// The function.
        function: String,
        /// The instruction.
        inst: String,
        /// The buffer or view.
        buffer: String,
        /// First element accessed.
        start: i64,
        /// One past the last.
        end: i64,
        /// The buffer's length.
        len: u64,
    },
    /// Two parts of one phase touch the same element and one of them writes it: threads
    /// running the schedule would race.
    #[error(
        "func @{function}: `{inst}`: part {part} {} element {element} of @{buffer}, which part {other} {} in the same phase",
        .access.present(),
        .other_access.past()
    )]
    Race {
        /// The function.
        function: String,
        /// The instruction.
        inst: String,
        /// The buffer or view.
        buffer: String,
        /// The element, counted in the argument the buffer is a view of.
        element: u64,
        /// The part making this access.
        part: usize,
        /// What this part does.
        access: Access,
        /// The part that touched the element before.
        other: usize,
        /// What the other part did.
        other_access: Access,
    },
    /// Any other fault of an instruction (null access, division by zero, negative count).
    #[error("func @{function}: `{inst}`: {message}")]
    Fault {
        /// The function.
        function: String,
        /// The instruction or loop.
        inst: String,
        /// What went wrong.
        message: String,
    },
}

/// A memory access, in a race report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// A load.
    Read,
    /// A store.
    Write,
}

impl Access {
    fn present(self) -> &'static str {
        match self {
            Access::Read => "reads",
            Access::Write => "writes",
        }
    }

    fn past(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "wrote",
        }
    }
}

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
    module: Option<&'f Module>,
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

/// Who touched an element since the last barrier.
#[derive(Clone, Copy, Default)]
struct Touch {
    /// The phase (barrier interval) the rest describes; older phases do not count.
    epoch: u32,
    /// The part that wrote the element, plus one (0: none).
    writer: u32,
    /// The parts that read it, one bit each.
    readers: u64,
}

/// Per argument and element, the last phase's touches (see the module docs).
struct Tracker {
    epoch: u32,
    touches: Vec<Vec<Touch>>,
}

impl Tracker {
    /// At most this many parts: one bit each in `Touch::readers`.
    const MAX_PARTS: usize = 64;

    fn new(args: &[Arg<'_>]) -> Tracker {
        Tracker {
            epoch: 1,
            touches: args
                .iter()
                .map(|a| vec![Touch::default(); arg_len(a) as usize])
                .collect(),
        }
    }

    /// A barrier: what came before no longer races with what comes after.
    fn barrier(&mut self) {
        self.epoch += 1;
    }

    /// Records an access by `part`; on a race, the other part and what it did.
    fn touch(
        &mut self,
        arg: usize,
        element: usize,
        part: usize,
        write: bool,
    ) -> Option<(usize, Access)> {
        let t = &mut self.touches[arg][element];
        if t.epoch != self.epoch {
            *t = Touch {
                epoch: self.epoch,
                ..Touch::default()
            };
        }
        if t.writer != 0 && t.writer as usize != part + 1 {
            return Some((t.writer as usize - 1, Access::Write));
        }
        let others = t.readers & !(1 << part);
        if write && others != 0 {
            return Some((others.trailing_zeros() as usize, Access::Read));
        }
        if write {
            t.writer = part as u32 + 1;
        } else {
            t.readers |= 1 << part;
        }
        None
    }
}

/// Runs `func` with `args` (one per parameter, in order). `func` must not `call` other
/// functions: [`run_function`] runs functions of a module.
pub fn run(func: &Function, args: &mut [Arg<'_>]) -> Result<(), InterpError> {
    let roots = (0..args.len()).collect();
    run_as(None, func, args, None, roots)
}

/// Runs the function `name` of `module` with `args` (one per parameter, in order); its
/// `call`s run the module's functions they name.
pub fn run_function(module: &Module, name: &str, args: &mut [Arg<'_>]) -> Result<(), InterpError> {
    let func = module
        .function(name)
        .ok_or_else(|| InterpError::Arguments {
            function: name.to_string(),
            message: "the module has no such function".into(),
        })?;
    let roots = (0..args.len()).collect();
    run_as(Some(module), func, args, None, roots)
}

/// `run`, recording accesses as `part` in `tracker` when given.
fn run_as(
    module: Option<&Module>,
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
        let buf = rnnc_ir::Buf(i as u32);
        let (root, offset) = func.root(buf);
        let arg = param_arg[root.0 as usize].expect("every root is a parameter");
        let arg_len = arg_len(&args[arg]);
        let eval = |size: rnnc_ir::Size| -> Result<u64, InterpError> {
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
        scratch: vec![0; rnnc_ir::MAX_LANES as usize],
        tracker,
    };
    machine.body(&func.body)
}

/// Runs a module's schedule as `parts` threads would, one part after another: `args` are
/// `forward`'s (ending with `seq_len` and `batch`); each phase function also gets the step,
/// the part and the number of parts. Phases order every access the way barriers order
/// them, so the result is what the threads compute. With more than one part, every access
/// is also checked for races (see the module docs); a `pair` phase counts as two parts.
pub fn run_schedule(
    module: &Module,
    args: &mut Vec<Arg<'_>>,
    parts: usize,
) -> Result<(), InterpError> {
    let seq_len = match args.get(args.len().wrapping_sub(2)) {
        Some(Arg::Scalar(l)) => *l,
        _ => {
            return Err(InterpError::Arguments {
                function: "schedule".into(),
                message: "the arguments end with seq_len and batch".into(),
            });
        }
    };
    if parts == 0 || parts > Tracker::MAX_PARTS {
        return Err(InterpError::Arguments {
            function: "schedule".into(),
            message: format!("{parts} parts; 1 to {} are supported", Tracker::MAX_PARTS),
        });
    }
    let mut tracker = (parts > 1).then(|| Tracker::new(args));
    // Runs `name` as part `part` of `parts`, tracked as part `as_part`.
    let mut call = |tracker: &mut Option<Tracker>,
                    name: &str,
                    n: i64,
                    (part, parts): (usize, usize),
                    as_part: usize| {
        let func = module
            .function(name)
            .ok_or_else(|| InterpError::Arguments {
                function: name.to_string(),
                message: "the schedule names a function the module lacks".into(),
            })?;
        args.extend([
            Arg::Scalar(n),
            Arg::Scalar(part as i64),
            Arg::Scalar(parts as i64),
        ]);
        let roots = (0..args.len()).collect();
        let result = run_as(
            Some(module),
            func,
            args,
            tracker.as_mut().map(|t| (t, as_part)),
            roots,
        );
        args.truncate(args.len() - 3);
        result
    };
    let barrier = |tracker: &mut Option<Tracker>| {
        if let Some(t) = tracker {
            t.barrier();
        }
    };
    let t = &mut tracker;
    for phase in &module.schedule {
        match phase {
            Phase::All(f) => (0..parts).try_for_each(|part| call(t, f, 0, (part, parts), part))?,
            Phase::One(f) => call(t, f, 0, (0, 1), 0)?,
            Phase::Steps(_, all) if parts == 1 => call(t, all, 0, (0, 1), 0)?,
            Phase::Steps(f, _) => {
                for n in 0..seq_len {
                    (0..parts).try_for_each(|part| call(t, f, n, (part, parts), part))?;
                    barrier(t);
                }
            }
            Phase::Pair(f, g) => {
                call(t, f, 0, (0, 1), 0)?;
                call(t, g, 0, (0, 1), 1)?;
            }
        }
        barrier(t);
    }
    Ok(())
}

fn kind(arg: &Arg<'_>) -> &'static str {
    match arg {
        Arg::F32(_) => "a read-only f32 buffer",
        Arg::F32Mut(_) => "a writable f32 buffer",
        Arg::F64(_) => "a read-only f64 buffer",
        Arg::F64Mut(_) => "a writable f64 buffer",
        Arg::I64(_) => "an i64 buffer",
        Arg::Null => "null",
        Arg::Scalar(_) => "a scalar",
    }
}

/// The same argument, borrowed for a nested call.
fn reborrow<'s>(arg: &'s mut Arg<'_>) -> Arg<'s> {
    match arg {
        Arg::F32(s) => Arg::F32(s),
        Arg::F32Mut(s) => Arg::F32Mut(s),
        Arg::F64(s) => Arg::F64(s),
        Arg::F64Mut(s) => Arg::F64Mut(s),
        Arg::I64(s) => Arg::I64(s),
        Arg::Null => Arg::Null,
        Arg::Scalar(v) => Arg::Scalar(*v),
    }
}

/// A copy of an argument that is not writable.
fn shared<'s>(arg: &Arg<'s>) -> Option<Arg<'s>> {
    match arg {
        Arg::F32(s) => Some(Arg::F32(s)),
        Arg::F64(s) => Some(Arg::F64(s)),
        Arg::I64(s) => Some(Arg::I64(s)),
        Arg::Null => Some(Arg::Null),
        Arg::Scalar(v) => Some(Arg::Scalar(*v)),
        Arg::F32Mut(_) | Arg::F64Mut(_) => None,
    }
}

fn arg_len(arg: &Arg<'_>) -> u64 {
    (match arg {
        Arg::F32(s) => s.len(),
        Arg::F32Mut(s) => s.len(),
        Arg::F64(s) => s.len(),
        Arg::F64Mut(s) => s.len(),
        Arg::I64(s) => s.len(),
        Arg::Null | Arg::Scalar(_) => 0,
    }) as u64
}

fn f32_of(bits: u64) -> f32 {
    f32::from_bits(bits as u32)
}
fn f64_of(bits: u64) -> f64 {
    f64::from_bits(bits)
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
    fn call(&mut self, call: &rnnc_ir::Call) -> Result<(), InterpError> {
        let fault = |message: String| InterpError::Fault {
            function: self.func.name.clone(),
            inst: format!("call @{}", call.callee),
            message,
        };
        let module = self
            .module
            .ok_or_else(|| fault("calls need the module: run it with run_function".into()))?;
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
        run_as(Some(module), target, &mut args, tracker, roots)
    }

    /// Element range of an access, checked against the buffer's window.
    fn range(
        &self,
        inst: &Inst,
        buf: rnnc_ir::Buf,
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
        buf: rnnc_ir::Buf,
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
                    *o = match op {
                        IntOp::Add => x.wrapping_add(y),
                        IntOp::Sub => x.wrapping_sub(y),
                        IntOp::Mul => x.wrapping_mul(y),
                        IntOp::Div => {
                            if y == 0 {
                                return Err(self.fault(inst, "division by zero".into()));
                            }
                            ((x as u64) / (y as u64)) as i64
                        }
                        IntOp::Shl => x.wrapping_shl(y as u32),
                    } as u64;
                }
            }
            Op::Float(op, a, b) => {
                for (i, o) in out[..n].iter_mut().enumerate() {
                    let (x, y) = (self.lane(*a, i), self.lane(*b, i));
                    *o = match scalar {
                        Scalar::F32 => {
                            let (x, y) = (f32_of(x), f32_of(y));
                            (match op {
                                FloatOp::Add => x + y,
                                FloatOp::Sub => x - y,
                                FloatOp::Mul => x * y,
                                FloatOp::Div => x / y,
                            })
                            .to_bits() as u64
                        }
                        _ => {
                            let (x, y) = (f64_of(x), f64_of(y));
                            (match op {
                                FloatOp::Add => x + y,
                                FloatOp::Sub => x - y,
                                FloatOp::Mul => x * y,
                                FloatOp::Div => x / y,
                            })
                            .to_bits()
                        }
                    };
                }
            }
            Op::Fma(a, b, c) => {
                for (i, o) in out[..n].iter_mut().enumerate() {
                    let (x, y, z) = (self.lane(*a, i), self.lane(*b, i), self.lane(*c, i));
                    *o = match scalar {
                        Scalar::F32 => f32_of(x).mul_add(f32_of(y), f32_of(z)).to_bits() as u64,
                        _ => f64_of(x).mul_add(f64_of(y), f64_of(z)).to_bits(),
                    };
                }
            }
            Op::Bits(op, a, b) => {
                for (i, o) in out[..n].iter_mut().enumerate() {
                    let (x, y) = (self.lane(*a, i), self.lane(*b, i));
                    *o = match op {
                        BitOp::And => x & y,
                        BitOp::Or => x | y,
                        BitOp::Xor => x ^ y,
                    };
                }
            }
            Op::Bitcast(a) => {
                // Through little-endian bytes, as the machine's registers hold them.
                let (_, an, ascalar) = self.slot(*a);
                let mut bytes = Vec::with_capacity(an * 8);
                for i in 0..an {
                    let v = self.lane(*a, i);
                    bytes.extend_from_slice(&v.to_le_bytes()[..ascalar.bytes() as usize]);
                }
                let width = scalar.bytes() as usize;
                for (i, o) in out[..n].iter_mut().enumerate() {
                    let mut lane = [0u8; 8];
                    lane[..width].copy_from_slice(&bytes[i * width..(i + 1) * width]);
                    *o = u64::from_le_bytes(lane);
                }
            }
            Op::Splat(a) => out[..n].fill(self.lane(*a, 0)),
            Op::Extract(a, lane) => out[0] = self.lane(*a, *lane as usize),
            Op::Slice(a, start) => {
                for (i, o) in out[..n].iter_mut().enumerate() {
                    *o = self.lane(*a, *start as usize + i);
                }
            }
            Op::ReduceAdd(a) => {
                let (_, mut m, _) = self.slot(*a);
                let mut v: Vec<u64> = (0..m).map(|i| self.lane(*a, i)).collect();
                while m > 1 {
                    m /= 2;
                    for i in 0..m {
                        v[i] = match scalar {
                            Scalar::F32 => (f32_of(v[i]) + f32_of(v[i + m])).to_bits() as u64,
                            _ => (f64_of(v[i]) + f64_of(v[i + m])).to_bits(),
                        };
                    }
                }
                out[0] = v[0];
            }
            Op::Select(cmp, a, b, x, y) => {
                let (_, an, ascalar) = self.slot(*a);
                for (i, o) in out[..n].iter_mut().enumerate() {
                    let j = if an == 1 { 0 } else { i };
                    let (p, q) = (self.lane(*a, j), self.lane(*b, j));
                    let holds = match ascalar {
                        Scalar::I64 => compare(*cmp, p as i64, q as i64),
                        Scalar::F32 => compare(*cmp, f32_of(p), f32_of(q)),
                        Scalar::F64 => compare(*cmp, f64_of(p), f64_of(q)),
                    };
                    *o = if holds {
                        self.lane(*x, i)
                    } else {
                        self.lane(*y, i)
                    };
                }
            }
            Op::Tanh(a) => {
                for (i, o) in out[..n].iter_mut().enumerate() {
                    let v = self.lane(*a, i);
                    *o = match scalar {
                        Scalar::F32 => ((f32_of(v) as f64).tanh() as f32).to_bits() as u64,
                        _ => f64_of(v).tanh().to_bits(),
                    };
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

/// `a < b` or `a <= b`; false when either is NaN.
fn compare<T: PartialOrd>(cmp: Cmp, a: T, b: T) -> bool {
    match cmp {
        Cmp::Lt => a < b,
        Cmp::Le => a <= b,
    }
}
