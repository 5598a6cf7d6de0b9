//! Kernel IR -> Cranelift IR, one function per IR instruction kind.
//!
//! The translation is literal, which is what keeps native code bit-identical to the
//! interpreter: each IR operation becomes the Cranelift operation with the same IEEE
//! semantics (`fma` stays fused, `fmul` + `fadd` are never fused by Cranelift), `reduce_add`
//! adds lanes in the IR's halving order, and selects compare with ordered predicates (false
//! on NaN) as the interpreter does. IR registers become Cranelift variables; loops become
//! a header block testing an iteration counter.
//!
//! Memory: every access is `notrap` (the runtime proves bounds before calling); loads from
//! read-only parameters (weights, input, `h0`, lengths) are also `readonly` and `can_move`,
//! so that Cranelift may schedule them beside their uses; state and workspace never are,
//! since the same function writes them. No access claims alignment.
//!
//! Every Cranelift instruction carries a source location naming the IR instruction it came
//! from, which `--emit clif` and `--emit asm` print.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{
    self as cl, AbiParam, Endianness, InstBuilder, MemFlagsData, SourceLoc, Value, types,
};
use cranelift_codegen::isa::{CallConv, TargetFrontendConfig};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use rnnc_kernel::{
    Addr, BitOp, Buf, BufKind, Cmp, FloatOp, Function, Inst, InstDisplay, IntOp, Loop, Op, Operand,
    Param, Reg, Scalar, Stmt, Type,
};

use crate::CodegenError;

/// How a function's IR parameters arrive in registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Abi {
    /// One native argument per IR parameter, in order (pointers, then `i64`s).
    Direct,
    /// Two native arguments: an array of pointers holding every buffer parameter but the
    /// last, and the last buffer (how `pack` takes any number of torch tensors).
    PointerArray,
    /// Like `Direct` without the first parameter, which is read-only data of the object
    /// itself (packed weights baked in at compile time: [`Links::weights`]).
    Baked,
    /// Two native arguments: an array of every buffer parameter's pointer and an array of
    /// every scalar parameter's value (`i64`), each in parameter order. One native type
    /// then calls any entry point, whatever the cell's states: how the runtime calls JIT
    /// code.
    Arrays,
}

/// What a function refers to outside itself, imported into its Cranelift function before
/// translation.
#[derive(Clone, Debug, Default)]
pub struct Links {
    /// The baked weights' data object (with [`Abi::Baked`]).
    pub weights: Option<cl::GlobalValue>,
    /// The functions its `call` statements name, and how they take their arguments.
    pub callees: Vec<(String, cl::FuncRef, Abi)>,
    /// For an entry point (`forward`): the largest `seq_len * batch` its checks let
    /// through ([`rnnc_kernel::Module::max_rows`]); the function then returns a status.
    pub entry: Option<u64>,
}

/// Imports the function at `index` of the module (`UserFuncName::user(0, index)`, how
/// `cranelift_module` names functions) with `signature` into `func`. `near` calls are
/// PC-relative (objects, where the linker places functions together); others load the
/// callee's absolute address (the JIT, whose functions may be further apart than a 32-bit
/// offset reaches).
pub fn import_function(
    func: &mut cl::Function,
    index: u32,
    signature: cl::Signature,
    near: bool,
) -> cl::FuncRef {
    let signature = func.import_signature(signature);
    let name = func.declare_imported_user_function(cl::UserExternalName {
        namespace: 0,
        index,
    });
    func.import_function(cl::ExtFuncData {
        name: cl::ExternalName::user(name),
        signature,
        colocated: near,
        patchable: false,
    })
}

/// The Cranelift signature of an IR function under `abi`; an `entry` point returns its
/// status as a C `int` (see [`crate::Status`]).
pub fn signature(
    func: &Function,
    abi: Abi,
    entry: bool,
    call_conv: CallConv,
    ptr: cl::Type,
) -> cl::Signature {
    let mut sig = cl::Signature::new(call_conv);
    if entry {
        sig.returns.push(AbiParam::new(types::I32));
    }
    match abi {
        Abi::Direct | Abi::Baked => {
            let skip = usize::from(abi == Abi::Baked);
            for p in &func.params[skip..] {
                sig.params.push(AbiParam::new(match p {
                    Param::Buf(_) => ptr,
                    Param::Scalar(_) => types::I64,
                }));
            }
        }
        Abi::PointerArray | Abi::Arrays => {
            sig.params.push(AbiParam::new(ptr));
            sig.params.push(AbiParam::new(ptr));
        }
    }
    sig
}

/// The Cranelift type of a legal IR type.
fn cl_type(ty: Type) -> Result<cl::Type, CodegenError> {
    Ok(match (ty.scalar, ty.lanes) {
        (Scalar::I64, 1) => types::I64,
        (Scalar::F32, 1) => types::F32,
        (Scalar::F64, 1) => types::F64,
        (Scalar::F32, 4) => types::F32X4,
        (Scalar::F64, 2) => types::F64X2,
        (Scalar::I64, 2) => types::I64X2,
        (Scalar::F32, 8) => types::F32X8,
        (Scalar::F64, 4) => types::F64X4,
        (Scalar::I64, 4) => types::I64X4,
        _ => {
            return Err(CodegenError::Illegal(format!(
                "type {ty} has no 128- or 256-bit machine form"
            )));
        }
    })
}

/// The integer type with the same lanes as a float type, for bitwise operations.
fn int_twin(ty: cl::Type) -> cl::Type {
    match ty {
        types::F32 => types::I32,
        types::F64 => types::I64,
        types::F32X4 => types::I32X4,
        types::F64X2 => types::I64X2,
        types::F32X8 => types::I32X8,
        types::F64X4 => types::I64X4,
        other => other,
    }
}

/// Fills `cl_func` (already given its signature) with the translation of `func`. Returns
/// the text of the IR construct behind each source location.
pub fn translate(
    func: &Function,
    abi: Abi,
    frontend: TargetFrontendConfig,
    annotate: bool,
    links: &Links,
    cl_func: &mut cl::Function,
    fctx: &mut FunctionBuilderContext,
) -> Result<Vec<String>, CodegenError> {
    let ptr = frontend.pointer_type();
    let mut b = FunctionBuilder::new(cl_func, fctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    let args = b.block_params(entry).to_vec();
    let mut t = Translator {
        func,
        b,
        ptr,
        vars: Vec::with_capacity(func.regs.len()),
        bases: Vec::with_capacity(func.bufs.len()),
        sources: Vec::new(),
        annotate,
        links,
    };
    for info in &func.regs {
        let ty =
            cl_type(info.ty).map_err(|e| CodegenError::Illegal(format!("%{}: {e}", info.name)))?;
        let var = t.b.declare_var(ty);
        t.vars.push(var);
    }
    t.bind_params(abi, &args)?;
    if let Some(max_rows) = links.entry {
        t.entry_checks(abi, max_rows)?;
    }
    t.body(&func.body)?;
    if links.entry.is_some() {
        let ok = t.b.ins().iconst(types::I32, crate::Status::Ok as i64);
        t.b.ins().return_(&[ok]);
    } else {
        t.b.ins().return_(&[]);
    }
    t.b.seal_all_blocks();
    let sources = std::mem::take(&mut t.sources);
    t.b.finalize(frontend);
    Ok(sources)
}

/// Where a buffer's address is.
#[derive(Clone, Copy)]
enum Base {
    /// Computed in the entry block.
    Value(Value),
    /// In the pointer array, at this byte offset: loaded where it is used, so that a
    /// function taking thousands of buffers (`pack` of a deep model) does not keep them all
    /// live from its entry.
    Slot(Value, i32),
    /// A view at a fixed element offset of another buffer, computed where it is used.
    Offset(Buf, i64),
}

struct Translator<'a, 'b> {
    func: &'a Function,
    b: FunctionBuilder<'b>,
    ptr: cl::Type,
    vars: Vec<Variable>,
    /// Address of element 0 of every buffer and view, or where to find it.
    bases: Vec<Base>,
    /// IR text per source location.
    sources: Vec<String>,
    /// Whether to record source locations (listings) or not (compile time).
    annotate: bool,
    links: &'a Links,
}

impl Translator<'_, '_> {
    fn var(&self, r: Reg) -> Variable {
        self.vars[r.0 as usize]
    }

    fn get(&mut self, r: Reg) -> Value {
        let var = self.var(r);
        self.b.use_var(var)
    }

    fn set(&mut self, r: Reg, v: Value) {
        let var = self.var(r);
        self.b.def_var(var, v);
    }

    fn ty(&self, r: Reg) -> Result<cl::Type, CodegenError> {
        cl_type(self.func.ty(r))
    }

    /// Marks the following instructions as coming from the IR construct `text` describes.
    fn source(&mut self, text: impl FnOnce() -> String) {
        if self.annotate {
            self.b.set_srcloc(SourceLoc::new(self.sources.len() as u32));
            self.sources.push(text());
        }
    }

    fn bind_params(&mut self, abi: Abi, args: &[Value]) -> Result<(), CodegenError> {
        self.source(|| format!("func @{} entry", self.func.name));
        let buffer_params: Vec<Buf> = self
            .func
            .params
            .iter()
            .filter_map(|p| match p {
                Param::Buf(b) => Some(*b),
                Param::Scalar(_) => None,
            })
            .collect();
        let mut param_value: Vec<Option<Base>> = vec![None; self.func.bufs.len()];
        match abi {
            Abi::Direct | Abi::Baked => {
                let mut params = self.func.params.iter();
                if abi == Abi::Baked {
                    let data = self.links.weights.ok_or_else(|| {
                        CodegenError::Illegal("baked weights without their data object".into())
                    })?;
                    let Some(Param::Buf(weights)) = params.next() else {
                        return Err(CodegenError::Illegal(
                            "baked weights need a buffer parameter first".into(),
                        ));
                    };
                    param_value[weights.0 as usize] =
                        Some(Base::Value(self.b.ins().symbol_value(self.ptr, data)));
                }
                for (p, &v) in params.zip(args) {
                    match p {
                        Param::Buf(b) => param_value[b.0 as usize] = Some(Base::Value(v)),
                        Param::Scalar(r) => self.set(*r, v),
                    }
                }
            }
            Abi::Arrays => {
                // Loaded once at the entry: the body uses them in its loops.
                let flags = MemFlagsData::new().with_notrap().with_readonly();
                let (mut bufs, mut scalars) = (0i32, 0i32);
                for p in &self.func.params {
                    match p {
                        Param::Buf(b) => {
                            let at = bufs * self.ptr.bytes() as i32;
                            let v = self.b.ins().load(self.ptr, flags, args[0], at);
                            param_value[b.0 as usize] = Some(Base::Value(v));
                            bufs += 1;
                        }
                        Param::Scalar(r) => {
                            let v = self.b.ins().load(types::I64, flags, args[1], scalars * 8);
                            self.set(*r, v);
                            scalars += 1;
                        }
                    }
                }
            }
            Abi::PointerArray => {
                let (last, rest) = buffer_params.split_last().ok_or_else(|| {
                    CodegenError::Illegal("a pointer-array function needs buffers".into())
                })?;
                for (i, b) in rest.iter().enumerate() {
                    let offset = i32::try_from(i * self.ptr.bytes() as usize)
                        .map_err(|_| CodegenError::Illegal("too many buffers".into()))?;
                    param_value[b.0 as usize] = Some(Base::Slot(args[0], offset));
                }
                param_value[last.0 as usize] = Some(Base::Value(args[1]));
            }
        }
        let scalar = |name: &str| {
            self.func.params.iter().find_map(|p| match p {
                Param::Scalar(r) if self.func.reg(*r).name == name => Some(*r),
                _ => None,
            })
        };
        let (seq_len, batch) = (scalar("seq_len"), scalar("batch"));
        let mut ln = None;
        for (i, info) in self.func.bufs.iter().enumerate() {
            let base = match &info.kind {
                BufKind::Param { .. } => param_value[i].expect("every parameter buffer is bound"),
                BufKind::View { base, offset, .. }
                    if abi == Abi::PointerArray && offset.is_fixed() =>
                {
                    Base::Offset(*base, offset.c as i64 * info.elem.bytes() as i64)
                }
                BufKind::View { base, offset, .. } => {
                    let bytes = info.elem.bytes() as i64;
                    let parent = self.base(*base);
                    let fixed = self.b.ins().iadd_imm_s(parent, offset.c as i64 * bytes);
                    Base::Value(if offset.is_fixed() {
                        fixed
                    } else {
                        let (Some(l), Some(n)) = (seq_len, batch) else {
                            return Err(CodegenError::Illegal(format!(
                                "view @{} depends on %seq_len and %batch, which @{} lacks",
                                info.name, self.func.name
                            )));
                        };
                        let n = self.get(n);
                        let ln = match ln {
                            Some(v) => v,
                            None => {
                                let l = self.get(l);
                                let v = self.b.ins().imul(l, n);
                                ln = Some(v);
                                v
                            }
                        };
                        let a = self.b.ins().imul_imm_s(ln, offset.ln as i64 * bytes);
                        let c = self.b.ins().imul_imm_s(n, offset.n as i64 * bytes);
                        let s = self.b.ins().iadd(a, c);
                        self.b.ins().iadd(fixed, s)
                    })
                }
            };
            self.bases.push(base);
        }
        Ok(())
    }

    /// The checks of an entry point (see `entry`), on its pointer and scalar arguments.
    fn entry_checks(&mut self, abi: Abi, max_rows: u64) -> Result<(), CodegenError> {
        self.source(|| format!("func @{} argument checks", self.func.name));
        let mut pointers = Vec::new();
        let (mut seq_len, mut batch) = (None, None);
        let mut bufs = 0;
        for p in &self.func.params {
            match p {
                Param::Scalar(r) => match self.func.reg(*r).name.as_str() {
                    "seq_len" => seq_len = Some(self.get(*r)),
                    "batch" => batch = Some(self.get(*r)),
                    _ => {}
                },
                Param::Buf(b) => {
                    bufs += 1;
                    if abi == Abi::Baked && bufs == 1 {
                        continue; // the object's own weights
                    }
                    let info = self.func.buf(*b);
                    let BufKind::Param {
                        readonly,
                        nullable,
                        len: Some(len),
                    } = info.kind
                    else {
                        return Err(CodegenError::Illegal(format!(
                            "entry point @{}: @{} declares no length",
                            self.func.name, info.name
                        )));
                    };
                    pointers.push(crate::entry::Pointer {
                        value: self.base(*b),
                        len,
                        bytes: info.elem.bytes(),
                        writable: !readonly,
                        nullable,
                        lengths: info.name == "lengths",
                        initial: nullable && info.name != "lengths",
                    });
                }
            }
        }
        let (Some(seq_len), Some(batch)) = (seq_len, batch) else {
            return Err(CodegenError::Illegal(format!(
                "entry point @{} lacks %seq_len or %batch",
                self.func.name
            )));
        };
        crate::entry::emit_checks(&mut self.b, &pointers, seq_len, batch, max_rows);
        Ok(())
    }

    /// The address of element 0 of `buf`, here.
    fn base(&mut self, buf: Buf) -> Value {
        match self.bases[buf.0 as usize] {
            Base::Value(v) => v,
            Base::Slot(array, offset) => {
                let flags = MemFlagsData::new().with_notrap().with_readonly();
                self.b.ins().load(self.ptr, flags, array, offset)
            }
            Base::Offset(parent, bytes) => {
                let parent = self.base(parent);
                self.b.ins().iadd_imm_s(parent, bytes)
            }
        }
    }

    fn body(&mut self, body: &[Stmt]) -> Result<(), CodegenError> {
        for stmt in body {
            match stmt {
                Stmt::Inst(inst) => {
                    let func = self.func;
                    self.source(|| InstDisplay(func, inst).to_string());
                    self.inst(inst).map_err(|e| match e {
                        CodegenError::Illegal(m) => CodegenError::Illegal(format!(
                            "`{}`: {m}",
                            InstDisplay(self.func, inst)
                        )),
                        other => other,
                    })?;
                }
                Stmt::Loop(l) => self.translate_loop(l)?,
                Stmt::If(i) => {
                    let func = self.func;
                    self.source(|| format!("if %{}", func.reg(i.cond).name));
                    let cond = self.get(i.cond);
                    let (then, otherwise, merge) = (
                        self.b.create_block(),
                        self.b.create_block(),
                        self.b.create_block(),
                    );
                    self.b.ins().brif(cond, then, &[], otherwise, &[]);
                    self.b.switch_to_block(then);
                    self.body(&i.then)?;
                    self.b.ins().jump(merge, &[]);
                    self.b.switch_to_block(otherwise);
                    self.body(&i.otherwise)?;
                    self.b.ins().jump(merge, &[]);
                    self.b.switch_to_block(merge);
                }
                Stmt::Call(call) => self.call(call)?,
                Stmt::Comment(_) => {}
            }
        }
        Ok(())
    }

    /// A call: the arguments' pointers and values, without the weights when the callee
    /// reads baked ones itself.
    fn call(&mut self, call: &rnnc_kernel::Call) -> Result<(), CodegenError> {
        let callee = &call.callee;
        self.source(|| format!("call @{callee}"));
        let (callee_ref, abi) = self
            .links
            .callees
            .iter()
            .find(|(name, ..)| name == callee)
            .map(|(_, r, abi)| (*r, *abi))
            .ok_or_else(|| CodegenError::Illegal(format!("`call @{callee}`: not linked")))?;
        if matches!(abi, Abi::PointerArray | Abi::Arrays) {
            return Err(CodegenError::Illegal(format!(
                "`call @{callee}`: calls pass arguments directly"
            )));
        }
        let skip = usize::from(abi == Abi::Baked);
        let mut args = Vec::with_capacity(call.args.len());
        for a in &call.args[skip..] {
            args.push(match a {
                Param::Buf(b) => self.base(*b),
                Param::Scalar(r) => self.get(*r),
            });
        }
        self.b.ins().call(callee_ref, &args);
        Ok(())
    }

    /// `for var in 0..count [rev]`: a counter `n` tested at the top of each iteration.
    fn translate_loop(&mut self, l: &Loop) -> Result<(), CodegenError> {
        let func = self.func;
        self.source(|| {
            let count = match l.count {
                Operand::Reg(r) => format!("%{}", func.reg(r).name),
                Operand::Imm(n) => n.to_string(),
            };
            let rev = if l.reverse { " rev" } else { "" };
            format!("for %{} in 0..{count}{rev}", func.reg(l.var).name)
        });
        let count = match l.count {
            Operand::Reg(r) => self.get(r),
            Operand::Imm(n) => self.b.ins().iconst(types::I64, n),
        };
        let n = self.b.declare_var(types::I64);
        let zero = self.b.ins().iconst(types::I64, 0);
        self.b.def_var(n, zero);
        let (header, body, exit) = (
            self.b.create_block(),
            self.b.create_block(),
            self.b.create_block(),
        );
        self.b.ins().jump(header, &[]);
        self.b.switch_to_block(header);
        let nv = self.b.use_var(n);
        // Exit first: Cranelift's block order then places the body right after the header,
        // which keeps the loop's live values in registers across the back-edge.
        let done = self
            .b
            .ins()
            .icmp(IntCC::SignedGreaterThanOrEqual, nv, count);
        self.b.ins().brif(done, exit, &[], body, &[]);
        self.b.switch_to_block(body);
        let value = if l.reverse {
            let last = self.b.ins().iadd_imm_s(count, -1);
            self.b.ins().isub(last, nv)
        } else {
            nv
        };
        self.set(l.var, value);
        self.body(&l.body)?;
        let nv = self.b.use_var(n);
        let next = self.b.ins().iadd_imm_s(nv, 1);
        self.b.def_var(n, next);
        self.b.ins().jump(header, &[]);
        self.b.switch_to_block(exit);
        Ok(())
    }

    fn inst(&mut self, inst: &Inst) -> Result<(), CodegenError> {
        let Some(dst) = inst.dst else {
            let Op::Store(buf, addr, value) = &inst.op else {
                unreachable!("only stores lack a destination");
            };
            return self.store(*buf, addr, *value);
        };
        let v = match &inst.op {
            Op::Iconst(v) => self.iconst(dst, *v)?,
            Op::Fconst(v) => self.fconst(dst, *v)?,
            Op::Copy(a) => self.get(*a),
            Op::Int(op, a, b) => self.int(dst, *op, *a, *b)?,
            Op::Float(op, a, b) => self.float(*op, *a, *b),
            Op::Fma(a, b, c) => self.fma(*a, *b, *c),
            Op::Bits(op, a, b) => self.bits(*op, *a, *b)?,
            Op::Bitcast(a) => self.bitcast(dst, *a)?,
            Op::Splat(a) => self.splat(dst, *a)?,
            Op::Extract(a, lane) => self.extract(*a, *lane),
            Op::ReduceAdd(a) => self.reduce_add(*a)?,
            Op::Select(cmp, a, b, x, y) => self.select(*cmp, *a, *b, *x, *y)?,
            Op::Load(buf, addr) => self.load(dst, *buf, addr)?,
            Op::IsNull(buf) => self.is_null(*buf),
            Op::Slice(..) | Op::Tanh(_) | Op::Sigmoid(_) => {
                return Err(CodegenError::Illegal(
                    "not legal for codegen: run expand-tanh and legalize first".into(),
                ));
            }
            Op::Store(..) => unreachable!("stores have no destination"),
        };
        self.set(dst, v);
        Ok(())
    }

    fn iconst(&mut self, dst: Reg, v: i64) -> Result<Value, CodegenError> {
        let ty = self.ty(dst)?;
        let c = self.b.ins().iconst(types::I64, v);
        Ok(if ty.is_vector() {
            self.b.ins().splat(ty, c)
        } else {
            c
        })
    }

    fn fconst(&mut self, dst: Reg, v: f64) -> Result<Value, CodegenError> {
        let ty = self.ty(dst)?;
        let c = match ty.lane_type() {
            types::F32 => self.b.ins().f32const(v as f32),
            _ => self.b.ins().f64const(v),
        };
        Ok(if ty.is_vector() {
            self.b.ins().splat(ty, c)
        } else {
            c
        })
    }

    fn int(&mut self, dst: Reg, op: IntOp, a: Reg, b: Operand) -> Result<Value, CodegenError> {
        let ty = self.ty(dst)?;
        let a = self.get(a);
        if let (IntOp::Shl, Operand::Imm(n)) = (op, b) {
            return Ok(self.b.ins().ishl_imm_s(a, n));
        }
        // Unsigned division by a power of two is a shift, the same result bit for bit.
        // Cranelift at `opt_level = none` would emit a `div` (tens of cycles), and the
        // lowering divides by the lane count and the panel width in epilogue loops.
        if let (IntOp::Div, Operand::Imm(n), false) = (op, b, ty.is_vector())
            && n > 0
            && (n as u64).is_power_of_two()
        {
            return Ok(self.b.ins().ushr_imm_s(a, i64::from(n.trailing_zeros())));
        }
        if let (Operand::Imm(n), false) = (b, ty.is_vector()) {
            return Ok(match op {
                IntOp::Add => self.b.ins().iadd_imm_s(a, n),
                IntOp::Sub => self.b.ins().iadd_imm_s(a, n.wrapping_neg()),
                IntOp::Mul => self.b.ins().imul_imm_s(a, n),
                IntOp::Div => self.b.ins().udiv_imm_s(a, n),
                IntOp::Shl => unreachable!("handled above"),
            });
        }
        let b = match b {
            Operand::Reg(r) => self.get(r),
            Operand::Imm(n) => {
                let c = self.b.ins().iconst(types::I64, n);
                if ty.is_vector() {
                    self.b.ins().splat(ty, c)
                } else {
                    c
                }
            }
        };
        Ok(match op {
            IntOp::Add => self.b.ins().iadd(a, b),
            IntOp::Sub => self.b.ins().isub(a, b),
            IntOp::Mul => self.b.ins().imul(a, b),
            IntOp::Div => self.b.ins().udiv(a, b),
            IntOp::Shl => self.b.ins().ishl(a, b),
        })
    }

    fn float(&mut self, op: FloatOp, a: Reg, b: Reg) -> Value {
        let (a, b) = (self.get(a), self.get(b));
        match op {
            FloatOp::Add => self.b.ins().fadd(a, b),
            FloatOp::Sub => self.b.ins().fsub(a, b),
            FloatOp::Mul => self.b.ins().fmul(a, b),
            FloatOp::Div => self.b.ins().fdiv(a, b),
        }
    }

    fn fma(&mut self, a: Reg, b: Reg, c: Reg) -> Value {
        let (a, b, c) = (self.get(a), self.get(b), self.get(c));
        self.b.ins().fma(a, b, c)
    }

    /// Vector bitcasts between lane types need an explicit lane order.
    fn cast(&mut self, to: cl::Type, v: Value) -> Value {
        let flags = if to.is_vector() {
            MemFlagsData::new().with_endianness(Endianness::Little)
        } else {
            MemFlagsData::new()
        };
        self.b.ins().bitcast(to, flags, v)
    }

    fn bits(&mut self, op: BitOp, a: Reg, b: Reg) -> Result<Value, CodegenError> {
        let ty = self.ty(a)?;
        let (mut a, mut b) = (self.get(a), self.get(b));
        // Bitwise logic on floats goes through the integer view of the same bits.
        let int = int_twin(ty);
        if int != ty {
            a = self.cast(int, a);
            b = self.cast(int, b);
        }
        let r = match op {
            BitOp::And => self.b.ins().band(a, b),
            BitOp::Or => self.b.ins().bor(a, b),
            BitOp::Xor => self.b.ins().bxor(a, b),
        };
        Ok(if int != ty { self.cast(ty, r) } else { r })
    }

    fn bitcast(&mut self, dst: Reg, a: Reg) -> Result<Value, CodegenError> {
        let to = self.ty(dst)?;
        let v = self.get(a);
        Ok(if self.ty(a)? == to {
            v
        } else {
            self.cast(to, v)
        })
    }

    fn splat(&mut self, dst: Reg, a: Reg) -> Result<Value, CodegenError> {
        let ty = self.ty(dst)?;
        let v = self.get(a);
        Ok(self.b.ins().splat(ty, v))
    }

    fn extract(&mut self, a: Reg, lane: u16) -> Value {
        let v = self.get(a);
        self.b.ins().extractlane(v, lane as u8)
    }

    /// The IR's halving order: lane `i` of the low half plus lane `i` of the high half,
    /// until one lane is left (4 lanes: `(l0 + l2) + (l1 + l3)`; 2 lanes: `l0 + l1`).
    fn reduce_add(&mut self, a: Reg) -> Result<Value, CodegenError> {
        let lanes = self.ty(a)?.lane_count();
        if !lanes.is_power_of_two() || lanes < 2 {
            return Err(CodegenError::Illegal(format!(
                "reduce_add of {lanes} lanes"
            )));
        }
        let v = self.get(a);
        let mut sums: Vec<Value> = (0..lanes as u8)
            .map(|i| self.b.ins().extractlane(v, i))
            .collect();
        while sums.len() > 1 {
            let half = sums.len() / 2;
            sums = (0..half)
                .map(|i| self.b.ins().fadd(sums[i], sums[i + half]))
                .collect();
        }
        Ok(sums[0])
    }

    fn select(&mut self, cmp: Cmp, a: Reg, b: Reg, x: Reg, y: Reg) -> Result<Value, CodegenError> {
        let compared = self.func.ty(a);
        let (av, bv, xv, yv) = (self.get(a), self.get(b), self.get(x), self.get(y));
        let holds = if compared.scalar.is_float() {
            // Ordered predicates: false when an operand is NaN, as in the interpreter.
            let cc = match cmp {
                Cmp::Lt => FloatCC::LessThan,
                Cmp::Le => FloatCC::LessThanOrEqual,
            };
            self.b.ins().fcmp(cc, av, bv)
        } else {
            let cc = match cmp {
                Cmp::Lt => IntCC::SignedLessThan,
                Cmp::Le => IntCC::SignedLessThanOrEqual,
            };
            self.b.ins().icmp(cc, av, bv)
        };
        if compared.is_scalar() {
            return Ok(self.b.ins().select(holds, xv, yv));
        }
        // A lane mask: all ones where the comparison holds.
        let ty = self.ty(x)?;
        let mask = if self.b.func.dfg.value_type(holds) == ty {
            holds
        } else {
            self.cast(ty, holds)
        };
        Ok(self.b.ins().bitselect(mask, xv, yv))
    }

    /// Address of `buf[addr]` as a base value and a byte offset.
    fn address(&mut self, buf: Buf, addr: &Addr) -> Result<(Value, i32), CodegenError> {
        let bytes = self.func.buf(buf).elem.bytes() as i64;
        let mut base = self.base(buf);
        if let Some(index) = addr.index {
            let index = self.get(index);
            let scaled = self
                .b
                .ins()
                .ishl_imm_s(index, bytes.trailing_zeros() as i64);
            base = self.b.ins().iadd(base, scaled);
        }
        let offset = addr.offset * bytes;
        match i32::try_from(offset) {
            Ok(o) => Ok((base, o)),
            Err(_) => Ok((self.b.ins().iadd_imm_s(base, offset), 0)),
        }
    }

    fn flags(&self, buf: Buf) -> MemFlagsData {
        if self.func.is_readonly(buf) {
            MemFlagsData::new()
                .with_notrap()
                .with_readonly()
                .with_can_move()
        } else {
            MemFlagsData::new().with_notrap()
        }
    }

    fn load(&mut self, dst: Reg, buf: Buf, addr: &Addr) -> Result<Value, CodegenError> {
        let ty = self.ty(dst)?;
        let (base, offset) = self.address(buf, addr)?;
        let flags = self.flags(buf);
        Ok(self.b.ins().load(ty, flags, base, offset))
    }

    fn store(&mut self, buf: Buf, addr: &Addr, value: Reg) -> Result<(), CodegenError> {
        let v = self.get(value);
        let (base, offset) = self.address(buf, addr)?;
        let flags = self.flags(buf);
        self.b.ins().store(flags, v, base, offset);
        Ok(())
    }

    fn is_null(&mut self, buf: Buf) -> Value {
        let p = self.base(buf);
        let zero = self.b.ins().icmp_imm_s(IntCC::Equal, p, 0);
        self.b.ins().uextend(types::I64, zero)
    }
}
