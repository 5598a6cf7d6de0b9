//! The kernel IR verifier, run after every pass.
//!
//! A verifier error is always a bug in rnnc (a pass or lowering produced bad IR, or a test
//! wrote bad IR by hand), never a user's fault. Each [`Problem`] names the function, the
//! loop nest around the statement and the entity at fault (a register, a buffer, a
//! statement in text form, a call, the schedule).
//!
//! Every other check looks registers and buffers up, so a function that names one it does
//! not have (`%?N`, `@?N` in the problem) is checked no further, and neither are calls from
//! or to it.

use std::fmt;

use crate::module::*;
use crate::types::{Scalar, Target, Type};
use crate::write::{InstDisplay, buf_text, reg_text};

/// Problems the verifier found; never empty.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("IR verifier failed (a bug in rnnc):{}", lines(.problems))]
pub struct VerifyError {
    /// Every problem, in the order found (at most 50 per function).
    pub problems: Vec<Problem>,
}

fn lines(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("\n  {p}")).collect()
}

/// One problem: where it is, what it is about, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The function, if the problem is inside one.
    pub function: Option<String>,
    /// The loop and branch headers around the entity, outermost first.
    pub path: Vec<String>,
    /// What the problem is about.
    pub entity: Entity,
    /// What is wrong.
    pub message: String,
}

/// The thing a [`Problem`] is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entity {
    /// A register's declaration, by name.
    Register(String),
    /// A buffer's declaration, by name.
    Buffer(String),
    /// A statement (an instruction, a loop or branch header), in text form.
    Statement(String),
    /// A `call`, by callee.
    Call(String),
    /// A phase of the module's schedule, by function.
    Schedule(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(function) = &self.function {
            write!(f, "func @{function}")?;
            for p in &self.path {
                write!(f, " > {p}")?;
            }
            write!(f, ": ")?;
        }
        match &self.entity {
            Entity::Register(name) => write!(f, "%{name}")?,
            Entity::Buffer(name) => write!(f, "@{name}")?,
            Entity::Statement(text) => write!(f, "`{text}`")?,
            Entity::Call(callee) => write!(f, "`call @{callee}`")?,
            Entity::Schedule(function) => write!(f, "schedule: @{function}")?,
        }
        write!(f, ": {}", self.message)
    }
}

fn module_problem(entity: Entity, message: String) -> Problem {
    Problem {
        function: None,
        path: Vec::new(),
        entity,
        message,
    }
}

/// Which rules apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Any vector width, `tanh` and `slice` allowed: the interpreter can run it.
    Any,
    /// Codegen-ready: machine vector widths only, no `tanh` or `slice`.
    Legal,
}

/// Checks every function of a module.
pub fn verify_module(module: &Module, level: Level) -> Result<(), VerifyError> {
    let mut errors = Vec::new();
    let resolved: Vec<bool> = module
        .functions
        .iter()
        .map(|func| check_function(func, module.target, level, &mut errors))
        .collect();
    let resolved = |name: &str| {
        module
            .functions
            .iter()
            .zip(&resolved)
            .any(|(f, &ok)| f.name == name && ok)
    };
    verify_calls(module, &resolved, &mut errors);
    // A module that declares states is called through the runtime's contract (roles by
    // parameter name); hand-written modules without states are run by name alone.
    let mut entries: Vec<&String> = Vec::new();
    if !module.states.is_empty() {
        entries.extend(module.function("forward").map(|f| &f.name));
        for phase in &module.schedule {
            entries.extend(phase.functions());
        }
        entries.extend(&module.frame);
    }
    for name in entries {
        if let Some(f) = module.function(name)
            && resolved(name)
        {
            verify_entry(module, f, &mut errors);
        }
    }
    let phased = module.schedule.iter().flat_map(Phase::functions);
    for name in phased.chain(&module.frame) {
        {
            match module.function(name) {
                None => errors.push(module_problem(
                    Entity::Schedule(name.clone()),
                    "no such function".into(),
                )),
                Some(_) if !resolved(name) => {}
                Some(f) => {
                    let scalars: Vec<&str> = f
                        .params
                        .iter()
                        .filter_map(|p| match p {
                            Param::Scalar(r) => Some(f.reg(*r).name.as_str()),
                            Param::Buf(_) => None,
                        })
                        .collect();
                    if scalars != ["seq_len", "batch", "n", "part", "parts"] {
                        errors.push(module_problem(
                            Entity::Schedule(name.clone()),
                            format!(
                                "takes {scalars:?}; phases take seq_len, batch, n, part, parts"
                            ),
                        ));
                    }
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(VerifyError { problems: errors })
    }
}

/// An entry point's parameters have roles in a call, and it takes the initial and final
/// value of every state of the module, each of the state's size.
fn verify_entry(module: &Module, func: &Function, errors: &mut Vec<Problem>) {
    let problem = |entity: Entity, message: String| Problem {
        function: Some(func.name.clone()),
        path: Vec::new(),
        entity,
        message,
    };
    let mut roles = Vec::new();
    for p in &func.params {
        match module.role(func, p) {
            Some(role) => roles.push(role),
            None => {
                let entity = match p {
                    Param::Buf(b) => Entity::Buffer(func.buf(*b).name.clone()),
                    Param::Scalar(r) => Entity::Register(func.reg(*r).name.clone()),
                };
                errors.push(problem(
                    entity,
                    "this parameter has no role in a call".into(),
                ));
            }
        }
    }
    if roles.len() != func.params.len() {
        return;
    }
    for (i, state) in module.states.iter().enumerate() {
        for (role, name) in [
            (Role::Initial(i), state.initial()),
            (Role::Last(i), state.last()),
        ] {
            let at = roles.iter().position(|r| *r == role);
            let len = at.and_then(|at| match func.params[at] {
                Param::Buf(b) => match func.buf(b).kind {
                    BufKind::Param { len, .. } => len,
                    BufKind::View { .. } => None,
                },
                Param::Scalar(_) => None,
            });
            if len != Some(state.size()) {
                errors.push(problem(
                    Entity::Buffer(name),
                    format!(
                        "state {} needs this parameter of {} elements, found {}",
                        state.name,
                        state.size(),
                        len.map_or("none".to_string(), |len| format!("{len} elements"))
                    ),
                ));
            }
        }
    }
}

/// Every `call` names a function defined earlier in the module (so calls cannot recurse)
/// and passes one fitting argument per parameter (see [`Call`]).
fn verify_calls(module: &Module, resolved: &dyn Fn(&str) -> bool, errors: &mut Vec<Problem>) {
    let index: std::collections::HashMap<&str, usize> = module
        .functions
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name.as_str(), i))
        .collect();
    for (i, func) in module.functions.iter().enumerate() {
        if !resolved(&func.name) {
            continue;
        }
        let mut calls = Vec::new();
        for_each_stmt(&func.body, &mut |s| {
            if let Stmt::Call(call) = s {
                calls.push(call.clone());
            }
        });
        for call in calls {
            let problem = |message: String| Problem {
                function: Some(func.name.clone()),
                path: Vec::new(),
                entity: Entity::Call(call.callee.clone()),
                message,
            };
            let Some(&j) = index.get(call.callee.as_str()) else {
                errors.push(problem("no such function".into()));
                continue;
            };
            if j >= i {
                errors.push(problem(
                    "the callee must be defined before its caller (no recursion)".into(),
                ));
            }
            let target = &module.functions[j];
            if !resolved(&target.name) {
                continue;
            }
            if call.args.len() != target.params.len() {
                errors.push(problem(format!(
                    "{} arguments for {} parameters",
                    call.args.len(),
                    target.params.len()
                )));
                continue;
            }
            for (k, (arg, param)) in call.args.iter().zip(&target.params).enumerate() {
                if let Some(why) = argument_problem(func, target, arg, param) {
                    errors.push(problem(format!("argument {k}: {why}")));
                }
            }
            let mut writable = call.args.iter().filter_map(|a| match a {
                Param::Buf(b) if !func.is_readonly(*b) => Some(*b),
                _ => None,
            });
            let mut seen = Vec::new();
            if writable.any(|b| {
                let twice = seen.contains(&b);
                seen.push(b);
                twice
            }) {
                errors.push(problem("a writable buffer is passed twice".into()));
            }
        }
    }
}

/// Why `arg` of `caller` cannot be passed for `param` of `callee`, if it cannot.
fn argument_problem(
    caller: &Function,
    callee: &Function,
    arg: &Param,
    param: &Param,
) -> Option<String> {
    match (arg, param) {
        (Param::Scalar(a), Param::Scalar(p)) => (caller.ty(*a) != callee.ty(*p)).then(|| {
            format!(
                "{} for %{}: {}",
                caller.ty(*a),
                callee.reg(*p).name,
                callee.ty(*p)
            )
        }),
        (Param::Buf(a), Param::Buf(p)) => {
            let (ai, pi) = (caller.buf(*a), callee.buf(*p));
            let BufKind::Param {
                readonly: a_readonly,
                nullable: a_nullable,
                ..
            } = ai.kind
            else {
                return Some(format!("@{} is a view; calls pass parameters", ai.name));
            };
            let BufKind::Param {
                readonly, nullable, ..
            } = pi.kind
            else {
                return Some(format!("@{} of the callee is not a parameter", pi.name));
            };
            if ai.elem != pi.elem {
                Some(format!(
                    "@{} holds {}, @{} takes {}",
                    ai.name, ai.elem, pi.name, pi.elem
                ))
            } else if a_readonly && !readonly {
                Some(format!("read-only @{} for writable @{}", ai.name, pi.name))
            } else if a_nullable && !nullable {
                Some(format!(
                    "nullable @{} for @{}, which may not be null",
                    ai.name, pi.name
                ))
            } else {
                None
            }
        }
        (Param::Buf(a), Param::Scalar(p)) => Some(format!(
            "buffer @{} for scalar %{}",
            caller.buf(*a).name,
            callee.reg(*p).name
        )),
        (Param::Scalar(a), Param::Buf(p)) => Some(format!(
            "register %{} for buffer @{}",
            caller.reg(*a).name,
            callee.buf(*p).name
        )),
    }
}

/// Checks one function; problems are appended to `errors`.
pub fn verify_function(func: &Function, target: Target, level: Level, errors: &mut Vec<Problem>) {
    check_function(func, target, level, errors);
}

/// Checks one function; whether every register and buffer it names is its own (if not,
/// the rest is not checked).
fn check_function(
    func: &Function,
    target: Target,
    level: Level,
    errors: &mut Vec<Problem>,
) -> bool {
    let mut v = Verifier {
        func,
        target,
        level,
        errors,
        path: Vec::new(),
    };
    if !v.references() {
        return false;
    }
    v.declarations();
    let mut assigned = vec![false; func.regs.len()];
    for p in &func.params {
        if let Param::Scalar(r) = p {
            assigned[r.0 as usize] = true;
        }
    }
    v.body(&func.body, &mut assigned);
    true
}

struct Verifier<'a> {
    func: &'a Function,
    target: Target,
    level: Level,
    errors: &'a mut Vec<Problem>,
    /// The loop and if headers around the current statement.
    path: Vec<String>,
}

impl Verifier<'_> {
    /// A problem with a statement (an instruction, a loop or branch header, in text form).
    fn report(&mut self, at: &str, message: String) {
        self.problem(Entity::Statement(at.to_string()), message);
    }

    fn problem(&mut self, entity: Entity, message: String) {
        const MAX: usize = 50;
        if self.errors.len() < MAX {
            self.errors.push(Problem {
                function: Some(self.func.name.clone()),
                path: self.path.clone(),
                entity,
                message,
            });
        }
    }

    fn name(&self, r: Reg) -> String {
        reg_text(self.func, r)
    }

    fn has_reg(&self, r: Reg) -> bool {
        (r.0 as usize) < self.func.regs.len()
    }

    fn has_buf(&self, b: Buf) -> bool {
        (b.0 as usize) < self.func.bufs.len()
    }

    /// A loop's header in text form.
    fn loop_header(&self, l: &Loop) -> String {
        format!(
            "for {} in 0..{}{}",
            self.name(l.var),
            match l.count {
                Operand::Reg(r) => self.name(r),
                Operand::Imm(n) => n.to_string(),
            },
            if l.reverse { " rev" } else { "" }
        )
    }

    /// Reports every register and buffer the function names but does not have; whether
    /// there are none.
    fn references(&mut self) -> bool {
        let before = self.errors.len();
        let func = self.func;
        for p in &func.params {
            match *p {
                Param::Scalar(r) if !self.has_reg(r) => self.problem(
                    Entity::Register(format!("?{}", r.0)),
                    "a parameter the function does not have".into(),
                ),
                Param::Buf(b) if !self.has_buf(b) => self.problem(
                    Entity::Buffer(format!("?{}", b.0)),
                    "a parameter the function does not have".into(),
                ),
                _ => {}
            }
        }
        self.references_in(&func.body);
        self.errors.len() == before
    }

    fn references_in(&mut self, body: &[Stmt]) {
        for stmt in body {
            let (regs, bufs): (Vec<Reg>, Vec<Buf>) = match stmt {
                Stmt::Comment(_) => continue,
                Stmt::Inst(inst) => {
                    let bufs = match inst.op {
                        Op::Load(b, _) | Op::Store(b, ..) | Op::IsNull(b) => vec![b],
                        _ => Vec::new(),
                    };
                    (inst.op.uses().into_iter().chain(inst.dst).collect(), bufs)
                }
                Stmt::Call(call) => {
                    let (mut regs, mut bufs) = (Vec::new(), Vec::new());
                    for a in &call.args {
                        match *a {
                            Param::Scalar(r) => regs.push(r),
                            Param::Buf(b) => bufs.push(b),
                        }
                    }
                    (regs, bufs)
                }
                Stmt::Loop(l) => {
                    let mut regs = vec![l.var];
                    if let Operand::Reg(r) = l.count {
                        regs.push(r);
                    }
                    (regs, Vec::new())
                }
                Stmt::If(i) => (vec![i.cond], Vec::new()),
            };
            for r in regs {
                if !self.has_reg(r) {
                    let text = self.statement_text(stmt);
                    self.report(&text, format!("unknown register {}", self.name(r)));
                }
            }
            for b in bufs {
                if !self.has_buf(b) {
                    let text = self.statement_text(stmt);
                    self.report(&text, format!("unknown buffer {}", buf_text(self.func, b)));
                }
            }
            match stmt {
                Stmt::Loop(l) => {
                    self.path.push(self.loop_header(l));
                    self.references_in(&l.body);
                    self.path.pop();
                }
                Stmt::If(i) => {
                    let text = self.statement_text(stmt);
                    self.path.push(text.clone());
                    self.references_in(&i.then);
                    self.path.pop();
                    self.path.push(format!("{text} else"));
                    self.references_in(&i.otherwise);
                    self.path.pop();
                }
                _ => {}
            }
        }
    }

    /// A statement's text (a loop or `if`: its header), for a problem's location: formed
    /// only when there is something to report, since formatting every instruction of a
    /// module was a fifth of the time to compile an LSTM.
    fn statement_text(&self, stmt: &Stmt) -> String {
        match stmt {
            Stmt::Comment(c) => format!("; {c}"),
            Stmt::Inst(inst) => InstDisplay(self.func, inst).to_string(),
            Stmt::Call(call) => format!("call @{}", call.callee),
            Stmt::Loop(l) => self.loop_header(l),
            Stmt::If(i) => format!("if {}", self.name(i.cond)),
        }
    }

    fn declarations(&mut self) {
        let func = self.func;
        let mut scalar_param = vec![false; func.regs.len()];
        for p in &func.params {
            if let Param::Scalar(r) = p
                && let Some(slot) = scalar_param.get_mut(r.0 as usize)
            {
                *slot = true;
            }
        }
        for (i, info) in func.regs.iter().enumerate() {
            let ty = info.ty;
            if self.level == Level::Legal && !self.legal_type(ty) {
                self.problem(
                    Entity::Register(info.name.clone()),
                    format!(
                        "type {ty} is not a machine type of a {}-bit target",
                        self.target.vector_bits
                    ),
                );
            }
            if scalar_param[i] && ty != Type::I64 {
                self.problem(
                    Entity::Register(info.name.clone()),
                    format!("scalar parameters are i64, found {ty}"),
                );
            }
        }
        let mut names = std::collections::HashSet::new();
        for info in &func.regs {
            if !names.insert(&info.name) {
                self.problem(
                    Entity::Register(info.name.clone()),
                    "two registers have this name".into(),
                );
            }
        }
        let mut names = std::collections::HashSet::new();
        for info in &func.bufs {
            if !names.insert(&info.name) {
                self.problem(
                    Entity::Buffer(info.name.clone()),
                    "two buffers have this name".into(),
                );
            }
            if let BufKind::View { base, .. } = &info.kind {
                if base.0 as usize >= func.bufs.len() {
                    self.problem(
                        Entity::Buffer(info.name.clone()),
                        "view of an unknown buffer".into(),
                    );
                } else if func.buf(*base).elem != info.elem {
                    self.problem(
                        Entity::Buffer(info.name.clone()),
                        format!(
                            "view of {} elements over a buffer of {}",
                            info.elem,
                            func.buf(*base).elem
                        ),
                    );
                }
            }
        }
    }

    fn legal_type(&self, ty: Type) -> bool {
        ty.lanes == 1 || ty.lanes == self.target.lanes(ty.scalar)
    }

    fn body(&mut self, body: &[Stmt], assigned: &mut Vec<bool>) {
        for stmt in body {
            match stmt {
                Stmt::Comment(_) => {}
                Stmt::Call(call) => {
                    for a in &call.args {
                        if let Param::Scalar(r) = a
                            && !assigned[r.0 as usize]
                        {
                            self.report(
                                &format!("call @{}", call.callee),
                                format!("{} is read before it is assigned", self.name(*r)),
                            );
                        }
                    }
                }
                Stmt::Inst(inst) => self.inst(inst, assigned),
                Stmt::Loop(l) => {
                    let header = self.loop_header(l);
                    if self.func.ty(l.var) != Type::I64 {
                        self.report(&header, "the induction variable must be i64".into());
                    }
                    match l.count {
                        Operand::Reg(r) => {
                            if self.func.ty(r) != Type::I64 {
                                self.report(&header, "the trip count must be i64".into());
                            }
                            if !assigned[r.0 as usize] {
                                self.report(
                                    &header,
                                    format!("{} is read before it is assigned", self.name(r)),
                                );
                            }
                        }
                        Operand::Imm(n) if n < 0 => {
                            self.report(&header, "negative trip count".into());
                        }
                        Operand::Imm(_) => {}
                    }
                    let mut writes_var = false;
                    for_each_stmt(&l.body, &mut |s| {
                        if let Stmt::Inst(Inst { dst: Some(d), .. }) = s {
                            writes_var |= *d == l.var;
                        }
                    });
                    if writes_var {
                        self.report(&header, "the body assigns the induction variable".into());
                    }
                    let mut inner = assigned.clone();
                    inner[l.var.0 as usize] = true;
                    self.path.push(header);
                    self.body(&l.body, &mut inner);
                    self.path.pop();
                    // What the body assigns is certain afterwards only if it runs.
                    if matches!(l.count, Operand::Imm(n) if n > 0) {
                        *assigned = inner;
                    }
                }
                Stmt::If(i) => {
                    let header = format!("if {}", self.name(i.cond));
                    if self.func.ty(i.cond) != Type::I64 {
                        self.report(&header, "the condition must be i64".into());
                    }
                    if !assigned[i.cond.0 as usize] {
                        self.report(
                            &header,
                            format!("{} is read before it is assigned", self.name(i.cond)),
                        );
                    }
                    let mut then = assigned.clone();
                    let mut otherwise = assigned.clone();
                    self.path.push(header.clone());
                    self.body(&i.then, &mut then);
                    self.path.pop();
                    self.path.push(format!("{header} else"));
                    self.body(&i.otherwise, &mut otherwise);
                    self.path.pop();
                    for (a, (t, o)) in assigned.iter_mut().zip(then.iter().zip(&otherwise)) {
                        *a = *t && *o;
                    }
                }
            }
        }
    }

    fn inst(&mut self, inst: &Inst, assigned: &mut [bool]) {
        let func = self.func;
        // The instruction's text only when there is something to report.
        let text = || InstDisplay(func, inst).to_string();
        for r in inst.op.uses() {
            if !assigned[r.0 as usize] {
                let message = format!("{} is read before it is assigned", self.name(r));
                self.report(&text(), message);
            }
        }
        if let Some(problem) = self.types(inst) {
            self.report(&text(), problem);
        }
        if let Some(d) = inst.dst {
            assigned[d.0 as usize] = true;
        }
    }

    /// The type rule an instruction breaks, if any.
    fn types(&self, inst: &Inst) -> Option<String> {
        let f = self.func;
        let ty = |r: Reg| f.ty(r);
        let dst = inst.dst.map(ty);
        let need_dst = || dst.ok_or_else(|| "needs a destination".to_string());
        let same = |a: Type, b: Type, what: &str| -> Result<(), String> {
            if a == b {
                Ok(())
            } else {
                Err(format!("{what}: {a} and {b} differ"))
            }
        };
        let check = || -> Result<(), String> {
            match &inst.op {
                Op::Iconst(_) => {
                    if need_dst()?.scalar != Scalar::I64 {
                        return Err("iconst defines an i64 register".into());
                    }
                }
                Op::Fconst(v) => {
                    let d = need_dst()?;
                    if !d.scalar.is_float() {
                        return Err("fconst defines a float register".into());
                    }
                    if d.scalar == Scalar::F32 && !v.is_nan() && (*v as f32) as f64 != *v {
                        return Err(format!("{v} is not exactly an f32"));
                    }
                }
                Op::Copy(a) => same(need_dst()?, ty(*a), "copy")?,
                Op::Int(op, a, b) => {
                    let d = need_dst()?;
                    same(d, ty(*a), "result and operand")?;
                    if d.scalar != Scalar::I64 {
                        return Err("integer operations take i64 lanes".into());
                    }
                    if let Operand::Reg(b) = b {
                        same(d, ty(*b), "operands")?;
                    }
                    match op {
                        IntOp::Mul | IntOp::Div if !d.is_scalar() => {
                            return Err("imul and udiv take scalars".into());
                        }
                        IntOp::Shl if !matches!(b, Operand::Imm(0..=63)) => {
                            return Err("ishl shifts by an immediate 0 to 63".into());
                        }
                        IntOp::Div if matches!(b, Operand::Imm(0)) => {
                            return Err("division by zero".into());
                        }
                        _ => {}
                    }
                }
                Op::Float(_, a, b) => {
                    let d = need_dst()?;
                    if !d.scalar.is_float() {
                        return Err("float operations take float lanes".into());
                    }
                    same(d, ty(*a), "result and operand")?;
                    same(d, ty(*b), "result and operand")?;
                }
                Op::Fma(a, b, c) => {
                    let d = need_dst()?;
                    if !d.scalar.is_float() {
                        return Err("fma takes float lanes".into());
                    }
                    for r in [a, b, c] {
                        same(d, ty(*r), "result and operand")?;
                    }
                }
                Op::Bits(_, a, b) => {
                    let d = need_dst()?;
                    same(d, ty(*a), "result and operand")?;
                    same(d, ty(*b), "result and operand")?;
                }
                Op::Bitcast(a) => {
                    if need_dst()?.bits() != ty(*a).bits() {
                        return Err(format!(
                            "bitcast between {} and {} bits",
                            ty(*a).bits(),
                            need_dst()?.bits()
                        ));
                    }
                }
                Op::Splat(a) => {
                    let d = need_dst()?;
                    if !ty(*a).is_scalar() || ty(*a).scalar != d.scalar {
                        return Err(format!("splat of {} to {d}", ty(*a)));
                    }
                }
                Op::Extract(a, lane) => {
                    let d = need_dst()?;
                    if !d.is_scalar() || d.scalar != ty(*a).scalar || *lane >= ty(*a).lanes {
                        return Err(format!("extract lane {lane} of {} to {d}", ty(*a)));
                    }
                }
                Op::Slice(a, start) => {
                    let d = need_dst()?;
                    if self.level == Level::Legal {
                        return Err("slice is not legal for codegen".into());
                    }
                    if d.scalar != ty(*a).scalar
                        || *start as u32 + d.lanes as u32 > ty(*a).lanes as u32
                    {
                        return Err(format!("slice of {d} at lane {start} of {}", ty(*a)));
                    }
                }
                Op::ReduceAdd(a) => {
                    let d = need_dst()?;
                    let a = ty(*a);
                    if !d.is_scalar() || d.scalar != a.scalar || !a.scalar.is_float() {
                        return Err(format!("reduce_add of {a} to {d}"));
                    }
                    if !a.lanes.is_power_of_two() {
                        return Err(format!("reduce_add of {a}: lanes must be a power of two"));
                    }
                }
                Op::Select(_, a, b, x, y) => {
                    let d = need_dst()?;
                    same(ty(*a), ty(*b), "compared operands")?;
                    same(d, ty(*x), "result and value")?;
                    same(d, ty(*y), "result and value")?;
                    let c = ty(*a);
                    if !c.is_scalar()
                        && (c.lanes != d.lanes || c.scalar.bytes() != d.scalar.bytes())
                    {
                        return Err(format!("a {c} comparison cannot select {d} lanes"));
                    }
                }
                Op::Tanh(a) | Op::Sigmoid(a) => {
                    let name = if matches!(inst.op, Op::Tanh(_)) {
                        "tanh"
                    } else {
                        "sigmoid"
                    };
                    let d = need_dst()?;
                    same(d, ty(*a), name)?;
                    if !d.scalar.is_float() {
                        return Err(format!("{name} takes float lanes"));
                    }
                    if self.level == Level::Legal {
                        return Err(format!("{name} must be expanded before codegen"));
                    }
                }
                Op::Load(b, addr) => {
                    let d = need_dst()?;
                    self.index(addr)?;
                    if d.scalar != f.buf(*b).elem {
                        return Err(format!("load of {d} from a buffer of {}", f.buf(*b).elem));
                    }
                }
                Op::Store(b, addr, v) => {
                    self.index(addr)?;
                    if ty(*v).scalar != f.buf(*b).elem {
                        return Err(format!(
                            "store of {} to a buffer of {}",
                            ty(*v),
                            f.buf(*b).elem
                        ));
                    }
                    if f.is_readonly(*b) {
                        return Err(format!("store to read-only @{}", f.buf(*b).name));
                    }
                }
                Op::IsNull(b) => {
                    if need_dst()? != Type::I64 {
                        return Err("is_null defines an i64".into());
                    }
                    if !matches!(f.buf(*b).kind, BufKind::Param { nullable: true, .. }) {
                        return Err(format!("@{} is not a nullable parameter", f.buf(*b).name));
                    }
                }
            }
            if matches!(inst.op, Op::Store(..)) && inst.dst.is_some() {
                return Err("store has no destination".into());
            }
            Ok(())
        };
        check().err()
    }

    fn index(&self, addr: &Addr) -> Result<(), String> {
        match addr.index {
            Some(r) if self.func.ty(r) != Type::I64 => Err("an index must be i64".into()),
            _ => Ok(()),
        }
    }
}
