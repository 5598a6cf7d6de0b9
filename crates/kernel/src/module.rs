//! The kernel IR: buffers, registers, counted loops and vector instructions.
//!
//! This is the level the interpreter executes and codegen translates, one instruction at a
//! time. It is structured (loops and ifs, no jumps) and imperative: a register is a typed
//! variable that instructions may assign more than once, which keeps unrolling a matter of
//! copying statements. Invariants, checked by [`verify`](crate::verify):
//! - every register is assigned before it is read, on every path;
//! - every instruction's operand and result types agree with its opcode;
//! - stores never target read-only buffers (weights, inputs);
//! - after legalization, every vector has the target's width and no `tanh` remains.
//!
//! Semantics are exact: IEEE arithmetic on each lane, `fma` fused with one rounding, no
//! reassociation, `reduce_add` in the lane order written on [`Op::ReduceAdd`]. The
//! interpreter and native code must agree bit for bit on everything here.

use crate::size::Size;
use crate::types::{Scalar, Target, Type};

/// A register: a typed variable of one function. Displayed as `%name`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reg(pub u32);

/// A buffer (a parameter or a view into one) of one function. Displayed as `@name`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Buf(pub u32);

/// A register's name and type.
#[derive(Clone, Debug, PartialEq)]
pub struct RegInfo {
    /// Unique within the function.
    pub name: String,
    /// Fixed for the register's life.
    pub ty: Type,
}

/// Where a buffer's memory comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum BufKind {
    /// A pointer argument of the function.
    Param {
        /// The function never writes it (weights, inputs): loads may be hoisted.
        readonly: bool,
        /// Callers may pass null (no `h0`, no lengths); test with `is_null`.
        nullable: bool,
        /// Elements the caller must provide (for a call of `%seq_len` steps and `%batch`
        /// sequences), when the function declares it: what the interpreter, the native
        /// entry point and the C header check and document.
        len: Option<Size>,
    },
    /// A window `[offset, offset + len)` of another buffer, in elements.
    View {
        /// The buffer it is a window of (a parameter).
        base: Buf,
        /// First element.
        offset: Size,
        /// Elements.
        len: Size,
    },
}

/// A buffer's name, element type and origin.
#[derive(Clone, Debug, PartialEq)]
pub struct BufInfo {
    /// Unique within the function; weights use torch's names.
    pub name: String,
    /// Element type.
    pub elem: Scalar,
    /// Parameter or view.
    pub kind: BufKind,
}

/// An argument of a function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param {
    /// A pointer.
    Buf(Buf),
    /// An `i64` (sequence length, batch).
    Scalar(Reg),
}

/// A register or an immediate integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operand {
    /// A register's value.
    Reg(Reg),
    /// A constant.
    Imm(i64),
}

/// An element address: `[index + offset]`, in elements of the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Addr {
    /// A register holding an element index, if any.
    pub index: Option<Reg>,
    /// A constant element offset.
    pub offset: i64,
}

/// Integer operations on `i64` lanes (wrapping).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntOp {
    /// `iadd`
    Add,
    /// `isub`
    Sub,
    /// `imul` (scalars only)
    Mul,
    /// `udiv` (scalars only; the divisor is never zero in lowered code)
    Div,
    /// `ishl` (by an immediate)
    Shl,
}

/// Float operations, one IEEE rounding each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloatOp {
    /// `fadd`
    Add,
    /// `fsub`
    Sub,
    /// `fmul`
    Mul,
    /// `fdiv`
    Div,
}

/// Bitwise operations on the bits of any type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BitOp {
    /// `band`
    And,
    /// `bor`
    Or,
    /// `bxor`
    Xor,
}

/// Comparisons of `select`; false whenever an operand is NaN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    /// `a < b`
    Lt,
    /// `a <= b`
    Le,
}

/// An operation. The result type is the destination register's.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// An integer constant, splatted to every lane.
    Iconst(i64),
    /// A float constant, splatted to every lane (exactly representable in the type).
    Fconst(f64),
    /// The value of another register of the same type.
    Copy(Reg),
    /// Integer arithmetic.
    Int(IntOp, Reg, Operand),
    /// Float arithmetic.
    Float(FloatOp, Reg, Reg),
    /// `a * b + c` with a single rounding.
    Fma(Reg, Reg, Reg),
    /// Bitwise logic on equally typed values.
    Bits(BitOp, Reg, Reg),
    /// The same bits as another type of equal width.
    Bitcast(Reg),
    /// A scalar copied to every lane.
    Splat(Reg),
    /// One lane of a vector.
    Extract(Reg, u16),
    /// Consecutive lanes `[start, start + lanes)` of a vector.
    Slice(Reg, u16),
    /// Sum of the lanes in halving order: while more than one lane remains, lane `i` of the
    /// low half is added to lane `i` of the high half. For 4 lanes:
    /// `(l0 + l2) + (l1 + l3)`. The lane count is a power of two.
    ReduceAdd(Reg),
    /// `cmp(a, b) ? x : y`, per lane when `a` is a vector, for all lanes when it is a scalar.
    Select(Cmp, Reg, Reg, Reg, Reg),
    /// Hyperbolic tangent: exact semantics (rounded f64 `tanh`) for the interpreter, until
    /// `expand-tanh` replaces it with primitive operations.
    Tanh(Reg),
    /// Logistic sigmoid: `1 / (1 + exp(-x))` computed in f64 and rounded to the lane type
    /// by the interpreter, until `expand-tanh` replaces it with `0.5 + 0.5 * tanh(x / 2)`,
    /// expanded.
    Sigmoid(Reg),
    /// Consecutive elements from a buffer.
    Load(Buf, Addr),
    /// Consecutive elements to a buffer.
    Store(Buf, Addr, Reg),
    /// 1 if a nullable parameter is null, else 0.
    IsNull(Buf),
}

/// One instruction: an operation and the register it assigns (none for stores).
#[derive(Clone, Debug, PartialEq)]
pub struct Inst {
    /// The destination.
    pub dst: Option<Reg>,
    /// What it computes.
    pub op: Op,
}

/// A counted loop: `var` takes `0, 1, ..., count - 1`, or the reverse.
#[derive(Clone, Debug, PartialEq)]
pub struct Loop {
    /// The induction variable (`i64`); the body must not assign it.
    pub var: Reg,
    /// Iterations.
    pub count: Operand,
    /// Iterate from `count - 1` down to 0.
    pub reverse: bool,
    /// Statements of one iteration.
    pub body: Vec<Stmt>,
}

/// A two-way branch on an `i64` (non-zero is true).
#[derive(Clone, Debug, PartialEq)]
pub struct If {
    /// The condition.
    pub cond: Reg,
    /// Taken when `cond != 0`.
    pub then: Vec<Stmt>,
    /// Taken when `cond == 0`.
    pub otherwise: Vec<Stmt>,
}

/// A call of another function of the module.
///
/// Arguments are the caller's parameters (buffers, never views, and scalar registers or
/// any `i64` register), one per callee parameter in order; a buffer the callee may write
/// is passed once. The verifier checks this against the callee.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// The function called: defined earlier in the module (so calls cannot recurse).
    pub callee: String,
    /// One per callee parameter.
    pub args: Vec<Param>,
}

/// A statement of a function body.
#[derive(Clone, Debug, PartialEq)]
pub enum Stmt {
    /// An instruction.
    Inst(Inst),
    /// A counted loop.
    Loop(Loop),
    /// A branch.
    If(If),
    /// `call @f(@a, %n, ...)`: runs function `f` of the same module and continues here.
    /// Lowering splits a deep model into one function per layer this way, so that code
    /// generation works on functions of bounded size.
    Call(Call),
    /// A note for readers (`; ...`), kept by printing and parsing.
    Comment(String),
}

/// Names in use, to make new register names unique in constant time. A cache: it takes no
/// part in equality, and it is rebuilt when registers were added around it.
#[derive(Clone, Debug, Default)]
pub struct RegNames {
    used: std::collections::HashSet<String>,
    next: std::collections::HashMap<String, u32>,
}

impl PartialEq for RegNames {
    fn eq(&self, _: &RegNames) -> bool {
        true
    }
}

/// A function: parameters, views, registers and a body.
#[derive(Clone, Debug, PartialEq)]
pub struct Function {
    /// Unique within the module: `pack`, `forward`, a phase function of the schedule, or a
    /// function they `call`.
    pub name: String,
    /// Arguments, in calling order.
    pub params: Vec<Param>,
    /// Every buffer, indexed by [`Buf`].
    pub bufs: Vec<BufInfo>,
    /// Every register, indexed by [`Reg`].
    pub regs: Vec<RegInfo>,
    /// The statements.
    pub body: Vec<Stmt>,
    /// Register names in use (see [`Function::new_reg`]).
    pub names: RegNames,
}

impl Function {
    /// A function without parameters, buffers or statements.
    pub fn new(name: &str) -> Function {
        Function {
            name: name.to_string(),
            params: Vec::new(),
            bufs: Vec::new(),
            regs: Vec::new(),
            body: Vec::new(),
            names: RegNames::default(),
        }
    }

    /// A register's info.
    pub fn reg(&self, reg: Reg) -> &RegInfo {
        &self.regs[reg.0 as usize]
    }

    /// A buffer's info.
    pub fn buf(&self, buf: Buf) -> &BufInfo {
        &self.bufs[buf.0 as usize]
    }

    /// A register's type.
    pub fn ty(&self, reg: Reg) -> Type {
        self.reg(reg).ty
    }

    /// Adds a register named `name` (made unique with a numeric suffix).
    pub fn new_reg(&mut self, name: &str, ty: Type) -> Reg {
        let names = &mut self.names;
        if names.used.len() < self.regs.len() {
            names.used.extend(self.regs.iter().map(|r| r.name.clone()));
        }
        let mut unique = name.to_string();
        while names.used.contains(&unique) {
            let n = names.next.entry(name.to_string()).or_insert(1);
            unique = format!("{name}.{n}");
            *n += 1;
        }
        names.used.insert(unique.clone());
        self.regs.push(RegInfo { name: unique, ty });
        Reg(self.regs.len() as u32 - 1)
    }

    /// Adds a buffer.
    pub fn new_buf(&mut self, name: &str, elem: Scalar, kind: BufKind) -> Buf {
        self.bufs.push(BufInfo {
            name: name.to_string(),
            elem,
            kind,
        });
        Buf(self.bufs.len() as u32 - 1)
    }

    /// The parameter buffer a buffer's memory belongs to, and its offset in it.
    pub fn root(&self, buf: Buf) -> (Buf, Size) {
        match &self.buf(buf).kind {
            BufKind::Param { .. } => (buf, Size::default()),
            BufKind::View { base, offset, .. } => {
                let (root, inner) = self.root(*base);
                (root, inner.plus(*offset))
            }
        }
    }

    /// Whether stores to the buffer are forbidden.
    pub fn is_readonly(&self, buf: Buf) -> bool {
        match &self.buf(self.root(buf).0).kind {
            BufKind::Param { readonly, .. } => *readonly,
            BufKind::View { .. } => unreachable!("roots are parameters"),
        }
    }
}

/// One phase of a multi-threaded forward pass. Phase functions take the parameters of
/// `forward` plus `%n` (the time step), `%part` and `%parts` (the caller's share); a phase
/// ends when every part has finished it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Every part runs the function once.
    All(String),
    /// Part 0 runs it.
    One(String),
    /// The time steps of a recurrence. With several parts, for each step `n` in
    /// `0..seq_len` every part runs each of the `stages` in order, and all parts finish a
    /// stage before any starts the next (an LSTM with projections has two: the cell, then
    /// `W_hr h`); with one part, `all` runs every step in one call (the same operations in
    /// the same order, without a call per step).
    Steps {
        /// The functions of one step, in order.
        stages: Vec<String>,
        /// Every step, in one call.
        all: String,
    },
    /// Part 0 runs the first and part 1 the second at once (one part: one after the
    /// other).
    Pair(String, String),
}

impl Phase {
    /// Every function the phase names, in order.
    pub fn functions(&self) -> Vec<&String> {
        match self {
            Phase::All(f) | Phase::One(f) => vec![f],
            Phase::Steps { stages, all } => stages.iter().chain([all]).collect(),
            Phase::Pair(f, g) => vec![f, g],
        }
    }
}

/// A state the model carries between steps, for every layer and direction: its initial
/// and final values are parameters `@NAME0` and `@NAME_n` of the forward pass, each
/// `layers * directions` rows (index `layer * directions + direction`) of `N x width`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateInfo {
    /// torch's name: `h`, or an LSTM's `c`.
    pub name: String,
    /// Features per (layer, direction) and sequence.
    pub width: u64,
    /// Stacked layers.
    pub layers: u64,
    /// Directions per layer.
    pub directions: u64,
}

impl StateInfo {
    /// The initial value's parameter: `h0`.
    pub fn initial(&self) -> String {
        format!("{}0", self.name)
    }
    /// The final value's parameter: `h_n`.
    pub fn last(&self) -> String {
        format!("{}_n", self.name)
    }
    /// Elements of the initial or final value for a call: `layers * directions * N *
    /// width`.
    pub fn size(&self) -> Size {
        Size {
            ln: 0,
            n: self.layers * self.directions * self.width,
            c: 0,
        }
    }
}

/// A compiled model's IR: the function that packs torch-layout weights and the forward pass.
///
/// Calling conventions (the runtime and the C header derive theirs from the parameters'
/// names and sizes, see [`Role`]):
/// - `pack(@<torch param>..., @packed)`: one read-only buffer per `state_dict` tensor in
///   torch's order, then the packed buffer of `packed_len` elements.
/// - `forward(@weights, @input, @<state>0..., @lengths, @output, @<state>_n..., @work,
///   %seq_len, %batch)`, one `@<state>0` and `@<state>_n` per entry of `states` in order:
///   packed weights; input, output and states in torch's layouts for the model's
///   `batch_first` (unbatched calls are `batch = 1`); initial states and `lengths` (`i64`)
///   may be null; `work` holds `work` elements for the call's `L` and `N`.
#[derive(Clone, Debug, PartialEq)]
pub struct Module {
    /// The model's name (a C identifier).
    pub name: String,
    /// Element type of every float buffer.
    pub dtype: Scalar,
    /// Vector width the code is legal for.
    pub target: Target,
    /// Elements of the packed weights buffer.
    pub packed_len: u64,
    /// Elements of the workspace a call needs.
    pub work: Size,
    /// The states carried between steps, `h` first.
    pub states: Vec<StateInfo>,
    /// `pack` then `forward` (or the phase functions of `schedule`).
    pub functions: Vec<Function>,
    /// For multi-threaded execution: the phases that replace `forward`, in order (run with
    /// one part, they are the single-threaded forward pass); empty for a module with
    /// `forward`.
    pub schedule: Vec<Phase>,
    /// For one-step calls (`seq_len = 1`) on several parts: functions that replace
    /// `schedule`, each run by every part (its share) and finished by all parts before any
    /// starts the next; empty where a one-step call runs `schedule`. Run with one part,
    /// they compute what `forward` does, operation for operation.
    pub frame: Vec<String>,
}

/// What a parameter of an entry point (`forward` or a phase function) is to its caller:
/// what the runtime passes and the C header documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// `@weights`: the packed weights.
    Weights,
    /// `@input`.
    Input,
    /// `@<state>0` of `states[i]`.
    Initial(usize),
    /// `@lengths`.
    Lengths,
    /// `@output`.
    Output,
    /// `@<state>_n` of `states[i]`.
    Last(usize),
    /// `@work`.
    Work,
    /// `%seq_len`.
    SeqLen,
    /// `%batch`.
    Batch,
    /// `%n`: a phase function's time step.
    Step,
    /// `%part`: a phase function's share.
    Part,
    /// `%parts`: how many shares.
    Parts,
}

impl Module {
    /// The role of each parameter of entry point `func`, in order; an error names a
    /// parameter no caller knows how to pass.
    pub fn roles(&self, func: &Function) -> Result<Vec<Role>, String> {
        func.params
            .iter()
            .map(|p| {
                self.role(func, p).ok_or_else(|| {
                    let name = match p {
                        Param::Buf(b) => &func.buf(*b).name,
                        Param::Scalar(r) => &func.reg(*r).name,
                    };
                    format!("@{}: parameter `{name}` has no role in a call", func.name)
                })
            })
            .collect()
    }

    /// The role of parameter `param` of entry point `func`, by its name: `None` if no
    /// caller knows how to pass it.
    pub fn role(&self, func: &Function, param: &Param) -> Option<Role> {
        let name = match param {
            Param::Buf(b) => func.buf(*b).name.as_str(),
            Param::Scalar(r) => func.reg(*r).name.as_str(),
        };
        let state = |last: bool| {
            self.states.iter().position(|s| {
                if last {
                    s.last() == name
                } else {
                    s.initial() == name
                }
            })
        };
        Some(match (param, name) {
            (Param::Buf(_), "weights") => Role::Weights,
            (Param::Buf(_), "input") => Role::Input,
            (Param::Buf(_), "lengths") => Role::Lengths,
            (Param::Buf(_), "output") => Role::Output,
            (Param::Buf(_), "work") => Role::Work,
            (Param::Scalar(_), "seq_len") => Role::SeqLen,
            (Param::Scalar(_), "batch") => Role::Batch,
            (Param::Scalar(_), "n") => Role::Step,
            (Param::Scalar(_), "part") => Role::Part,
            (Param::Scalar(_), "parts") => Role::Parts,
            (Param::Buf(_), _) => match (state(false), state(true)) {
                (Some(i), _) => Role::Initial(i),
                (None, Some(i)) => Role::Last(i),
                (None, None) => return None,
            },
            (Param::Scalar(_), _) => return None,
        })
    }

    /// A function by name.
    pub fn function(&self, name: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.name == name)
    }

    /// The largest `L * N` (steps times sequences) a call may have: with it, every buffer
    /// and view of the module holds fewer than 2^59 elements (2^62 bytes of f64), so that
    /// no size, offset or index of a call overflows 64-bit arithmetic. Entry points refuse
    /// larger calls; the C header gives it as `NAME_MAX_ROWS`.
    pub fn max_rows(&self) -> u64 {
        const LIMIT: u64 = 1 << 59;
        let mut max = LIMIT;
        for func in &self.functions {
            for info in &func.bufs {
                let size = match &info.kind {
                    BufKind::Param { len: Some(len), .. } => *len,
                    BufKind::Param { len: None, .. } => continue,
                    BufKind::View { offset, len, .. } => offset.plus(*len),
                };
                // Calls have L >= 1, so N <= L * N.
                let per_row = size.ln.saturating_add(size.n);
                if let Some(rows) = LIMIT.saturating_sub(size.c).checked_div(per_row) {
                    max = max.min(rows);
                }
            }
        }
        max
    }
}

/// Registers in the order a reader meets them: those read before any assignment (only in
/// unverified code), then the rest in order of their first assignment or loop header, in
/// statement order. Parameters and unused registers are left out.
pub fn first_appearances(func: &Function) -> (Vec<Reg>, Vec<Reg>) {
    let mut seen = vec![false; func.regs.len()];
    for p in &func.params {
        if let Param::Scalar(r) = p {
            seen[r.0 as usize] = true;
        }
    }
    let (mut read_first, mut defined) = (Vec::new(), Vec::new());
    let mut meet = |r: Reg, def: bool, seen: &mut Vec<bool>| {
        if !seen[r.0 as usize] {
            seen[r.0 as usize] = true;
            if def {
                defined.push(r);
            } else {
                read_first.push(r);
            }
        }
    };
    for_each_stmt(&func.body, &mut |s| match s {
        Stmt::Inst(i) => {
            for r in i.op.uses() {
                meet(r, false, &mut seen);
            }
            if let Some(d) = i.dst {
                meet(d, true, &mut seen);
            }
        }
        Stmt::Loop(l) => {
            if let Operand::Reg(r) = l.count {
                meet(r, false, &mut seen);
            }
            meet(l.var, true, &mut seen);
        }
        Stmt::If(i) => meet(i.cond, false, &mut seen),
        Stmt::Call(c) => {
            for a in &c.args {
                if let Param::Scalar(r) = a {
                    meet(*r, false, &mut seen);
                }
            }
        }
        Stmt::Comment(_) => {}
    });
    (read_first, defined)
}

/// Renumbers registers in reading order (parameters, then [`first_appearances`]) and drops
/// unused ones, so that printing and parsing give back the same numbering.
pub fn canonicalize_regs(func: &mut Function) {
    let (read_first, defined) = first_appearances(func);
    let params = func.params.iter().filter_map(|p| match p {
        Param::Scalar(r) => Some(*r),
        Param::Buf(_) => None,
    });
    let order: Vec<Reg> = params.chain(read_first).chain(defined).collect();
    let mut renumber = vec![Reg(u32::MAX); func.regs.len()];
    for (new, old) in order.iter().enumerate() {
        renumber[old.0 as usize] = Reg(new as u32);
    }
    func.regs = order
        .iter()
        .map(|r| func.regs[r.0 as usize].clone())
        .collect();
    let map = |r: Reg| renumber[r.0 as usize];
    for p in &mut func.params {
        if let Param::Scalar(r) = p {
            *r = map(*r);
        }
    }
    for_each_stmt_mut(&mut func.body, &mut |s| match s {
        Stmt::Inst(i) => {
            i.op.map_uses(map);
            if let Some(d) = &mut i.dst {
                *d = map(*d);
            }
        }
        Stmt::Loop(l) => {
            l.var = map(l.var);
            if let Operand::Reg(r) = &mut l.count {
                *r = map(*r);
            }
        }
        Stmt::If(i) => i.cond = map(i.cond),
        Stmt::Call(c) => {
            for a in &mut c.args {
                if let Param::Scalar(r) = a {
                    *r = map(*r);
                }
            }
        }
        Stmt::Comment(_) => {}
    });
}

/// Visits every statement of a body, depth first, with mutable access.
pub fn for_each_stmt_mut(body: &mut [Stmt], f: &mut impl FnMut(&mut Stmt)) {
    for stmt in body {
        f(stmt);
        match stmt {
            Stmt::Loop(l) => for_each_stmt_mut(&mut l.body, f),
            Stmt::If(i) => {
                for_each_stmt_mut(&mut i.then, f);
                for_each_stmt_mut(&mut i.otherwise, f);
            }
            Stmt::Inst(_) | Stmt::Call(_) | Stmt::Comment(_) => {}
        }
    }
}

/// Visits every statement of a body, depth first.
pub fn for_each_stmt(body: &[Stmt], f: &mut impl FnMut(&Stmt)) {
    for stmt in body {
        f(stmt);
        match stmt {
            Stmt::Loop(l) => for_each_stmt(&l.body, f),
            Stmt::If(i) => {
                for_each_stmt(&i.then, f);
                for_each_stmt(&i.otherwise, f);
            }
            Stmt::Inst(_) | Stmt::Call(_) | Stmt::Comment(_) => {}
        }
    }
}

impl Op {
    /// Registers the operation reads, in operand order.
    pub fn uses(&self) -> Vec<Reg> {
        let mut regs = Vec::new();
        self.clone().map_uses(|r| {
            regs.push(r);
            r
        });
        regs
    }

    /// Applies `f` to every register the operation reads.
    pub fn map_uses(&mut self, mut f: impl FnMut(Reg) -> Reg) {
        let addr = |a: &mut Addr, f: &mut dyn FnMut(Reg) -> Reg| {
            if let Some(i) = &mut a.index {
                *i = f(*i);
            }
        };
        match self {
            Op::Iconst(_) | Op::Fconst(_) | Op::IsNull(_) => {}
            Op::Copy(a)
            | Op::Bitcast(a)
            | Op::Splat(a)
            | Op::Extract(a, _)
            | Op::Slice(a, _)
            | Op::ReduceAdd(a)
            | Op::Tanh(a)
            | Op::Sigmoid(a) => *a = f(*a),
            Op::Int(_, a, b) => {
                *a = f(*a);
                if let Operand::Reg(b) = b {
                    *b = f(*b);
                }
            }
            Op::Float(_, a, b) | Op::Bits(_, a, b) => {
                *a = f(*a);
                *b = f(*b);
            }
            Op::Fma(a, b, c) => {
                *a = f(*a);
                *b = f(*b);
                *c = f(*c);
            }
            Op::Select(_, a, b, x, y) => {
                *a = f(*a);
                *b = f(*b);
                *x = f(*x);
                *y = f(*y);
            }
            Op::Load(_, a) => addr(a, &mut f),
            Op::Store(_, a, v) => {
                addr(a, &mut f);
                *v = f(*v);
            }
        }
    }
}
