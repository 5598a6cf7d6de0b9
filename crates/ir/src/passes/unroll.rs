//! `unroll`: copy loop bodies so that fewer loop back-edges run and the code generator sees
//! longer straight-line code.
//!
//! - Loops over the sequence (trip count `%seq_len`) are unrolled by `time_factor`: a main
//!   loop runs `count / factor` times with `factor` copies of the body, then a remainder
//!   loop runs the `count % factor` steps left.
//! - Innermost loops with a constant trip count of at most `full_max` (and a body small
//!   enough that the copies stay under `FULL_BUDGET` statements) are unrolled completely:
//!   the reductions over small hidden sizes become straight-line multiply-adds.
//! - Other innermost loops with a constant trip count (the reductions over `H` and `H_in`)
//!   are unrolled by `inner_factor`, the remainder completely: fewer loop tests and
//!   back-edge register moves per multiply-add.
//!
//! The induction variable keeps its meaning in every copy (it is assigned the iteration's
//! value before the copy), so the order of every operation is unchanged and the results
//! are bit-identical to the loop.

use rnnc_kernel::Type;
use rnnc_kernel::*;

/// Unrolling parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnrollConfig {
    /// Copies per iteration of loops over time steps (1 leaves them alone).
    pub time_factor: usize,
    /// Largest constant trip count of an innermost loop that is unrolled completely
    /// (0 unrolls none).
    pub full_max: usize,
    /// Copies per iteration of the other innermost loops with a constant trip count (the
    /// reductions over `H` and `H_in`); the remainder is unrolled completely.
    pub inner_factor: usize,
}

impl Default for UnrollConfig {
    fn default() -> Self {
        UnrollConfig {
            time_factor: 1,
            full_max: 16,
            // 4 copies measured no faster than 2 on the benchmark configurations (within
            // this machine's noise) and compiled 1.5-2x slower: bidir-256x2-b1 took 47-58
            // ms against 23-43 ms, over the 50 ms budget. Measured again with the 231 FMA
            // form and running indices (2026-11-28): 1-4% slower on every configuration.
            inner_factor: 2,
        }
    }
}

/// Most statements a completely unrolled loop may expand to.
pub const FULL_BUDGET: usize = 512;

/// Unrolls every function of the module.
pub fn unroll(mut module: Module, config: UnrollConfig) -> Module {
    for func in &mut module.functions {
        let seq_len = func
            .params
            .iter()
            .filter_map(|p| match p {
                Param::Scalar(r) => Some(*r),
                Param::Buf(_) => None,
            })
            .find(|r| func.reg(*r).name == "seq_len");
        let body = std::mem::take(&mut func.body);
        func.body = unroll_body(func, body, seq_len, config);
        canonicalize_regs(func);
    }
    module
}

fn stmt_count(body: &[Stmt]) -> usize {
    let mut n = 0;
    for_each_stmt(body, &mut |_| n += 1);
    n
}

fn unroll_body(
    func: &mut Function,
    body: Vec<Stmt>,
    seq_len: Option<Reg>,
    config: UnrollConfig,
) -> Vec<Stmt> {
    let mut out = Vec::with_capacity(body.len());
    for stmt in body {
        match stmt {
            Stmt::Loop(mut l) => {
                let innermost = !l.body.iter().any(|s| matches!(s, Stmt::Loop(_)));
                l.body = unroll_body(func, l.body, seq_len, config);
                match l.count {
                    Operand::Imm(n)
                        if innermost
                            && n as usize <= config.full_max
                            && n as usize * stmt_count(&l.body) <= FULL_BUDGET =>
                    {
                        out.extend(unroll_fully(&l, n));
                    }
                    Operand::Reg(r) if Some(r) == seq_len && config.time_factor > 1 => {
                        out.extend(unroll_by(func, l, config.time_factor as i64));
                    }
                    Operand::Imm(n)
                        if innermost
                            && config.inner_factor > 1
                            && n as usize >= 2 * config.inner_factor =>
                    {
                        out.extend(unroll_constant_by(func, l, n, config.inner_factor as i64));
                    }
                    _ => out.push(Stmt::Loop(l)),
                }
            }
            Stmt::If(mut i) => {
                i.then = unroll_body(func, i.then, seq_len, config);
                i.otherwise = unroll_body(func, i.otherwise, seq_len, config);
                out.push(Stmt::If(i));
            }
            other => out.push(other),
        }
    }
    out
}

fn unroll_fully(l: &Loop, n: i64) -> Vec<Stmt> {
    let mut out = Vec::new();
    for i in 0..n {
        let value = if l.reverse { n - 1 - i } else { i };
        out.push(Stmt::Inst(Inst {
            dst: Some(l.var),
            op: Op::Iconst(value),
        }));
        out.extend(l.body.iter().cloned());
    }
    out
}

/// A loop of constant `count` iterations as a loop of `count / factor` iterations of
/// `factor` copies, then the `count % factor` remaining iterations unrolled.
fn unroll_constant_by(func: &mut Function, l: Loop, count: i64, factor: i64) -> Vec<Stmt> {
    let (_, main) = copies_loop(func, &l, factor, Operand::Imm(count / factor), |body, n| {
        if l.reverse {
            // var = count - 1 - n
            inst(body, l.var, Op::Iconst(count - 1));
            inst(body, l.var, Op::Int(IntOp::Sub, l.var, Operand::Reg(n)));
        } else {
            inst(body, l.var, Op::Copy(n));
        }
    });
    let mut out = Vec::from(main);
    for i in count / factor * factor..count {
        let value = if l.reverse { count - 1 - i } else { i };
        inst(&mut out, l.var, Op::Iconst(value));
        out.extend(l.body.iter().cloned());
    }
    out
}

fn inst(out: &mut Vec<Stmt>, dst: Reg, op: Op) {
    out.push(Stmt::Inst(Inst { dst: Some(dst), op }));
}

/// The main loop of an unrolled loop, with its comment: `count` iterations of `factor`
/// copies of the body, where copy `c` of iteration `u` runs the original iteration
/// `n = u * factor + c` after `assign(body, n)` has set the loop variable; and `n`.
fn copies_loop(
    func: &mut Function,
    l: &Loop,
    factor: i64,
    count: Operand,
    assign: impl Fn(&mut Vec<Stmt>, Reg),
) -> (Reg, [Stmt; 2]) {
    let var_name = func.reg(l.var).name.clone();
    let outer = func.new_reg(&format!("{var_name}.u"), Type::I64);
    let n = func.new_reg(&format!("{var_name}.n"), Type::I64);
    let mut body = Vec::new();
    for copy in 0..factor {
        inst(
            &mut body,
            n,
            Op::Int(IntOp::Mul, outer, Operand::Imm(factor)),
        );
        inst(&mut body, n, Op::Int(IntOp::Add, n, Operand::Imm(copy)));
        assign(&mut body, n);
        body.extend(l.body.iter().cloned());
    }
    let main = [
        Stmt::Comment(format!("%{var_name} unrolled by {factor}")),
        Stmt::Loop(Loop {
            var: outer,
            count,
            reverse: false,
            body,
        }),
    ];
    (n, main)
}

/// `var = reverse ? count - 1 - n : n`, where `n` is the iteration number.
fn assign_var(out: &mut Vec<Stmt>, l: &Loop, n: Reg, last: Option<Reg>) {
    let op = match last {
        Some(last) => Op::Int(IntOp::Sub, last, Operand::Reg(n)),
        None => Op::Copy(n),
    };
    out.push(Stmt::Inst(Inst {
        dst: Some(l.var),
        op,
    }));
}

fn unroll_by(func: &mut Function, l: Loop, factor: i64) -> Vec<Stmt> {
    let var_name = func.reg(l.var).name.clone();
    let count = match l.count {
        Operand::Reg(r) => r,
        Operand::Imm(_) => unreachable!("only loops over %seq_len are unrolled by a factor"),
    };
    let mut out = Vec::new();
    let last = if l.reverse {
        let last = func.new_reg(&format!("{var_name}.last"), Type::I64);
        inst(&mut out, last, Op::Int(IntOp::Sub, count, Operand::Imm(1)));
        Some(last)
    } else {
        None
    };
    let main = func.new_reg(&format!("{var_name}.main"), Type::I64);
    inst(
        &mut out,
        main,
        Op::Int(IntOp::Div, count, Operand::Imm(factor)),
    );
    let (n, main_loop) = copies_loop(func, &l, factor, Operand::Reg(main), |body, n| {
        assign_var(body, &l, n, last)
    });
    out.extend(main_loop);
    let done = func.new_reg(&format!("{var_name}.done"), Type::I64);
    inst(
        &mut out,
        done,
        Op::Int(IntOp::Mul, main, Operand::Imm(factor)),
    );
    let rest = func.new_reg(&format!("{var_name}.rest"), Type::I64);
    inst(
        &mut out,
        rest,
        Op::Int(IntOp::Sub, count, Operand::Reg(done)),
    );
    let inner = func.new_reg(&format!("{var_name}.r"), Type::I64);
    let mut body = Vec::new();
    inst(&mut body, n, Op::Int(IntOp::Add, inner, Operand::Reg(done)));
    assign_var(&mut body, &l, n, last);
    body.extend(l.body);
    out.push(Stmt::Loop(Loop {
        var: inner,
        count: Operand::Reg(rest),
        reverse: false,
        body,
    }));
    out
}
