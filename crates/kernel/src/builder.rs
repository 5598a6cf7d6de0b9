//! `Builder`: appends statements to a function, with nested loops and branches, fresh
//! registers and one-line helpers for the instructions lowering and passes emit.

use crate::module::*;
use crate::types::{Scalar, Type};

/// Emits into a function's body; nested constructs are built by closures.
pub struct Builder<'f> {
    /// The function whose registers and buffers are created.
    pub func: &'f mut Function,
    /// Open bodies: the function body at the bottom, the innermost construct on top.
    stack: Vec<Vec<Stmt>>,
}

impl<'f> Builder<'f> {
    /// Starts emitting at the end of an empty body.
    pub fn new(func: &'f mut Function) -> Builder<'f> {
        Builder {
            func,
            stack: vec![Vec::new()],
        }
    }

    /// The statements emitted (call once, at the end).
    pub fn finish(mut self) -> Vec<Stmt> {
        assert_eq!(self.stack.len(), 1, "every nested construct is closed");
        self.stack.pop().unwrap_or_default()
    }

    /// Appends a statement.
    pub fn push(&mut self, stmt: Stmt) {
        self.stack.last_mut().expect("a body is open").push(stmt);
    }

    /// Appends a comment.
    pub fn comment(&mut self, text: impl Into<String>) {
        self.push(Stmt::Comment(text.into()));
    }

    /// A fresh register.
    pub fn reg(&mut self, name: &str, ty: Type) -> Reg {
        self.func.new_reg(name, ty)
    }

    /// Appends `dst = op`.
    pub fn set(&mut self, dst: Reg, op: Op) {
        self.push(Stmt::Inst(Inst { dst: Some(dst), op }));
    }

    /// A fresh register assigned `op`.
    pub fn def(&mut self, name: &str, ty: Type, op: Op) -> Reg {
        let r = self.reg(name, ty);
        self.set(r, op);
        r
    }

    /// `store buf[addr], value`.
    pub fn store(&mut self, buf: Buf, index: Option<Reg>, offset: i64, value: Reg) {
        self.push(Stmt::Inst(Inst {
            dst: None,
            op: Op::Store(buf, Addr { index, offset }, value),
        }));
    }

    /// A fresh register loaded from `buf[index + offset]`.
    pub fn load(&mut self, name: &str, ty: Type, buf: Buf, index: Option<Reg>, offset: i64) -> Reg {
        self.def(name, ty, Op::Load(buf, Addr { index, offset }))
    }

    /// An `i64` constant.
    pub fn iconst(&mut self, name: &str, value: i64) -> Reg {
        self.def(name, Type::I64, Op::Iconst(value))
    }

    /// A float constant of type `ty`.
    pub fn fconst(&mut self, name: &str, ty: Type, value: f64) -> Reg {
        self.def(name, ty, Op::Fconst(value))
    }

    /// `a + b` on `i64` (`a` itself when `b` is 0: results of index helpers are values,
    /// never assigned again).
    pub fn iadd(&mut self, name: &str, a: Reg, b: Operand) -> Reg {
        match b {
            Operand::Imm(0) => a,
            b => self.def(name, Type::I64, Op::Int(IntOp::Add, a, b)),
        }
    }

    /// `a * b` on `i64`, folding multiplications by 0 and 1.
    pub fn imul(&mut self, name: &str, a: Reg, b: Operand) -> Reg {
        match b {
            Operand::Imm(0) => self.iconst(name, 0),
            Operand::Imm(1) => a,
            b => self.def(name, Type::I64, Op::Int(IntOp::Mul, a, b)),
        }
    }

    /// A counted loop; `body` receives the induction variable.
    pub fn for_loop(
        &mut self,
        var: &str,
        count: Operand,
        reverse: bool,
        body: impl FnOnce(&mut Self, Reg),
    ) {
        let var = self.reg(var, Type::I64);
        self.stack.push(Vec::new());
        body(self, var);
        let body = self.stack.pop().expect("the loop body is open");
        self.push(Stmt::Loop(Loop {
            var,
            count,
            reverse,
            body,
        }));
    }

    /// A counted loop, or the body once with the variable set to 0 when `count` is 1 (no
    /// loop for a reader or the code generator to see).
    pub fn for_range(&mut self, var: &str, count: usize, body: impl FnOnce(&mut Self, Reg)) {
        if count == 1 {
            let v = self.iconst(var, 0);
            body(self, v);
        } else {
            self.for_loop(var, Operand::Imm(count as i64), false, body);
        }
    }

    /// A branch on `cond != 0`.
    pub fn if_else(
        &mut self,
        cond: Reg,
        then: impl FnOnce(&mut Self),
        otherwise: impl FnOnce(&mut Self),
    ) {
        self.stack.push(Vec::new());
        then(self);
        let then = self.stack.pop().expect("the branch is open");
        self.stack.push(Vec::new());
        otherwise(self);
        let otherwise = self.stack.pop().expect("the branch is open");
        self.push(Stmt::If(If {
            cond,
            then,
            otherwise,
        }));
    }

    /// The float type of `scalar` with `lanes` lanes.
    pub fn vty(scalar: Scalar, lanes: usize) -> Type {
        Type::vector(scalar, lanes as u16)
    }
}
