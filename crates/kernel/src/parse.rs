//! Reading the kernel IR's text form (see [`write`](crate::write)) back into a [`Module`].
//!
//! Errors name the line and what was expected. Parsing checks syntax and names (every
//! register and buffer declared, suffix types matching registers); type rules of
//! operations are the verifier's job.

use std::collections::HashMap;

use crate::module::*;
use crate::size::Size;
use crate::types::{Scalar, Target, Type};

/// A syntax or naming error in IR text: the user's (or a test's) fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

type Result<T> = std::result::Result<T, ParseError>;

/// Parses a module in the text form that `Display` writes.
pub fn parse_module(text: &str) -> Result<Module> {
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty())
        .collect();
    let mut cursor = Cursor { lines, at: 0 };
    let (line, header) = cursor.next().ok_or(ParseError {
        line: 1,
        message: "empty text: expected `module NAME DTYPE ...`".into(),
    })?;
    let mut module = parse_header(line, header)?;
    while let Some((line, text)) = cursor.peek() {
        let Some(rest) = text.strip_prefix("state ") else {
            break;
        };
        cursor.next();
        module.states.push(parse_state(line, rest)?);
    }
    while let Some((line, text)) = cursor.peek() {
        let Some(rest) = text.strip_prefix("phase ") else {
            break;
        };
        cursor.next();
        let words: Vec<&str> = rest.split_whitespace().collect();
        let name = |i: usize| -> Result<String> {
            words
                .get(i)
                .and_then(|w| w.strip_prefix('@'))
                .map(str::to_string)
                .ok_or_else(|| ParseError {
                    line,
                    message: format!("expected a function `@name` in `{text}`"),
                })
        };
        let phase = match (words.first().copied(), words.len()) {
            (Some("all"), 2) => Phase::All(name(1)?),
            (Some("one"), 2) => Phase::One(name(1)?),
            (Some("steps"), n) if n >= 3 => Phase::Steps {
                stages: (1..n - 1).map(name).collect::<Result<_>>()?,
                all: name(n - 1)?,
            },
            (Some("pair"), 3) => Phase::Pair(name(1)?, name(2)?),
            _ => {
                return err(
                    line,
                    format!(
                        "expected `phase all|one @f`, `phase pair @f @g` or `phase steps @stage... @all`, found `{text}`"
                    ),
                );
            }
        };
        module.schedule.push(phase);
    }
    if let Some((line, text)) = cursor.peek()
        && let Some(rest) = text.strip_prefix("frame ")
    {
        cursor.next();
        for word in rest.split_whitespace() {
            let name = word.strip_prefix('@').ok_or_else(|| ParseError {
                line,
                message: format!("expected `frame @f...`, found `{text}`"),
            })?;
            module.frame.push(name.to_string());
        }
    }
    while let Some((line, text)) = cursor.next() {
        module
            .functions
            .push(parse_function(line, text, &mut cursor)?);
    }
    Ok(module)
}

struct Cursor<'a> {
    lines: Vec<(usize, &'a str)>,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn next(&mut self) -> Option<(usize, &'a str)> {
        let line = self.lines.get(self.at).copied();
        self.at += 1;
        line
    }
    fn peek(&self) -> Option<(usize, &'a str)> {
        self.lines.get(self.at).copied()
    }
}

fn err<T>(line: usize, message: impl Into<String>) -> Result<T> {
    Err(ParseError {
        line,
        message: message.into(),
    })
}

fn parse_header(line: usize, text: &str) -> Result<Module> {
    let Some(rest) = text.strip_prefix("module ") else {
        return err(
            line,
            format!("expected `module NAME DTYPE ...`, found `{text}`"),
        );
    };
    let mut words = rest.splitn(3, ' ');
    let name = words.next().unwrap_or_default().to_string();
    let dtype = match words.next() {
        Some("f32") => Scalar::F32,
        Some("f64") => Scalar::F64,
        other => return err(line, format!("expected dtype f32 or f64, found {other:?}")),
    };
    let rest = words.next().unwrap_or_default();
    let field = |key: &str| -> Result<&str> {
        let start = rest.find(&format!("{key}=")).ok_or_else(|| ParseError {
            line,
            message: format!("missing `{key}=` in module header"),
        })? + key.len()
            + 1;
        let end = ["vector=", "registers=", "packed=", "work="]
            .iter()
            .filter_map(|k| rest[start..].find(k).map(|i| start + i))
            .min()
            .unwrap_or(rest.len());
        Ok(rest[start..end].trim())
    };
    let number = |key: &str| -> Result<u64> {
        let text = field(key)?;
        text.parse().map_err(|_| ParseError {
            line,
            message: format!("`{key}=` must be a number, found `{text}`"),
        })
    };
    Ok(Module {
        name,
        dtype,
        target: Target::new(number("vector")? as u32, number("registers")? as u32)
            .map_err(|message| ParseError { line, message })?,
        packed_len: number("packed")?,
        work: field("work")?
            .parse::<Size>()
            .map_err(|m| ParseError { line, message: m })?,
        states: Vec::new(),
        functions: Vec::new(),
        schedule: Vec::new(),
        frame: Vec::new(),
    })
}

/// `NAME width=W layers=L directions=D`, after `state `.
fn parse_state(line: usize, text: &str) -> Result<StateInfo> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let expected = "expected `state NAME width=N layers=N directions=N`";
    let [name, fields @ ..] = words.as_slice() else {
        return err(line, format!("{expected}, found `state {text}`"));
    };
    let mut values = [0u64; 3];
    if fields.len() != 3 {
        return err(line, format!("{expected}, found `state {text}`"));
    }
    for ((key, value), word) in ["width", "layers", "directions"]
        .iter()
        .zip(&mut values)
        .zip(fields)
    {
        *value = word
            .strip_prefix(key)
            .and_then(|w| w.strip_prefix('='))
            .and_then(|w| w.parse().ok())
            .ok_or_else(|| ParseError {
                line,
                message: format!("{expected}: found `{word}` for `{key}=`"),
            })?;
    }
    Ok(StateInfo {
        name: name.to_string(),
        width: values[0],
        layers: values[1],
        directions: values[2],
    })
}

struct Names {
    regs: HashMap<String, Reg>,
    bufs: HashMap<String, Buf>,
}

impl Names {
    fn reg(&self, line: usize, token: &str) -> Result<Reg> {
        let Some(name) = token.strip_prefix('%') else {
            return err(
                line,
                format!("expected a register `%name`, found `{token}`"),
            );
        };
        self.regs.get(name).copied().ok_or_else(|| ParseError {
            line,
            message: format!("undeclared register `%{name}`"),
        })
    }
    fn buf(&self, line: usize, token: &str) -> Result<Buf> {
        let Some(name) = token.strip_prefix('@') else {
            return err(line, format!("expected a buffer `@name`, found `{token}`"));
        };
        self.bufs.get(name).copied().ok_or_else(|| ParseError {
            line,
            message: format!("undeclared buffer `@{name}`"),
        })
    }
}

fn parse_function(line: usize, text: &str, cursor: &mut Cursor<'_>) -> Result<Function> {
    let Some(rest) = text.strip_prefix("func @") else {
        return err(
            line,
            format!("expected `func @name(...) {{`, found `{text}`"),
        );
    };
    let Some((name, rest)) = rest.split_once('(') else {
        return err(line, "expected `(` after the function name");
    };
    let Some(params) = rest.strip_suffix(") {") else {
        return err(line, "expected `) {` at the end of the signature");
    };
    let mut func = Function::new(name);
    let mut names = Names {
        regs: HashMap::new(),
        bufs: HashMap::new(),
    };
    for param in params.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((pname, rest)) = param.split_once(':') else {
            return err(
                line,
                format!("expected `name: type` in parameter `{param}`"),
            );
        };
        // A declared length ends the parameter: `[LN*10 + N*2]`.
        let (rest, len) = match rest.split_once('[') {
            Some((rest, len)) => {
                let Some(len) = len.trim().strip_suffix(']') else {
                    return err(line, format!("expected `[SIZE]` in parameter `{param}`"));
                };
                let len = len
                    .parse::<Size>()
                    .map_err(|m| ParseError { line, message: m })?;
                (rest, Some(len))
            }
            None => (rest, None),
        };
        let mut words = rest.split_whitespace();
        let ty = words.next().unwrap_or_default();
        if let Some(bname) = pname.strip_prefix('@') {
            let elem = parse_type(line, ty)?.scalar;
            let (mut readonly, mut nullable) = (false, false);
            for word in words {
                match word {
                    "readonly" => readonly = true,
                    "nullable" => nullable = true,
                    other => return err(line, format!("unknown buffer attribute `{other}`")),
                }
            }
            let kind = BufKind::Param {
                readonly,
                nullable,
                len,
            };
            let buf = func.new_buf(bname, elem, kind);
            names.bufs.insert(bname.to_string(), buf);
            func.params.push(Param::Buf(buf));
        } else if let Some(rname) = pname.strip_prefix('%') {
            let reg = declare(&mut func, &mut names, line, rname, parse_type(line, ty)?)?;
            func.params.push(Param::Scalar(reg));
        } else {
            return err(
                line,
                format!("parameter `{pname}` must start with `@` or `%`"),
            );
        }
    }
    // Declarations, then the body.
    while let Some((line, text)) = cursor.peek() {
        if let Some(rest) = text.strip_prefix("view @") {
            cursor.next();
            let parsed = (|| {
                let (vname, rest) = rest.split_once(':')?;
                let (ty, rest) = rest.split_once('=')?;
                let (base, rest) = rest.trim().split_once('[')?;
                let (offset, rest) = rest.split_once(';')?;
                let len = rest.strip_suffix(']')?;
                Some((vname, ty.trim(), base, offset.trim(), len.trim()))
            })();
            let Some((vname, ty, base, offset, len)) = parsed else {
                return err(line, "expected `view @name: TYPE = @base[OFFSET; LEN]`");
            };
            let base = names.buf(line, base)?;
            let size = |s: &str| {
                s.parse::<Size>()
                    .map_err(|m| ParseError { line, message: m })
            };
            let buf = func.new_buf(
                vname,
                parse_type(line, ty)?.scalar,
                BufKind::View {
                    base,
                    offset: size(offset)?,
                    len: size(len)?,
                },
            );
            names.bufs.insert(vname.to_string(), buf);
        } else if let Some(rest) = text.strip_prefix("regs ") {
            cursor.next();
            let Some((ty, regs)) = rest.split_once(':') else {
                return err(line, "expected `regs TYPE: %a %b ...`");
            };
            let ty = parse_type(line, ty.trim())?;
            for reg in regs.split_whitespace() {
                let Some(rname) = reg.strip_prefix('%') else {
                    return err(line, format!("expected a register `%name`, found `{reg}`"));
                };
                declare(&mut func, &mut names, line, rname, ty)?;
            }
        } else {
            break;
        }
    }
    func.body = parse_block(cursor, &mut names, &mut func, line)?;
    Ok(func)
}

fn declare(
    func: &mut Function,
    names: &mut Names,
    line: usize,
    name: &str,
    ty: Type,
) -> Result<Reg> {
    if names.regs.contains_key(name) {
        return err(line, format!("register `%{name}` declared twice"));
    }
    func.regs.push(RegInfo {
        name: name.to_string(),
        ty,
    });
    let reg = Reg(func.regs.len() as u32 - 1);
    names.regs.insert(name.to_string(), reg);
    Ok(reg)
}

fn parse_type(line: usize, text: &str) -> Result<Type> {
    text.parse::<Type>()
        .map_err(|message| ParseError { line, message })
}

/// How a body ended.
#[derive(PartialEq)]
enum Ending {
    /// `}`
    Close,
    /// `} else {`
    Else,
}

/// Statements up to the `}` (or `} else {`) that ends the enclosing construct.
fn parse_block(
    cursor: &mut Cursor<'_>,
    names: &mut Names,
    func: &mut Function,
    open_line: usize,
) -> Result<Vec<Stmt>> {
    match parse_body(cursor, names, func, open_line)? {
        (body, Ending::Close) => Ok(body),
        (_, Ending::Else) => err(open_line, "`else` without `if`"),
    }
}

fn parse_body(
    cursor: &mut Cursor<'_>,
    names: &mut Names,
    func: &mut Function,
    open_line: usize,
) -> Result<(Vec<Stmt>, Ending)> {
    let mut body = Vec::new();
    loop {
        let Some((line, text)) = cursor.next() else {
            return err(open_line, "unclosed `{`");
        };
        if text == "}" {
            return Ok((body, Ending::Close));
        }
        if text == "} else {" {
            return Ok((body, Ending::Else));
        }
        if let Some(comment) = text.strip_prefix(';') {
            body.push(Stmt::Comment(comment.trim().to_string()));
        } else if let Some(rest) = text.strip_prefix("call @") {
            let parsed = rest.strip_suffix(')').and_then(|r| r.split_once('('));
            let Some((callee, args)) = parsed else {
                return err(
                    line,
                    format!("expected `call @function(ARGS)`, found `{text}`"),
                );
            };
            let args = args
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(|a| {
                    if a.starts_with('%') {
                        names.reg(line, a).map(Param::Scalar)
                    } else {
                        names.buf(line, a).map(Param::Buf)
                    }
                })
                .collect::<Result<Vec<_>>>()?;
            body.push(Stmt::Call(Call {
                callee: callee.to_string(),
                args,
            }));
        } else if let Some(rest) = text.strip_prefix("for ") {
            let Some(rest) = rest.strip_suffix('{') else {
                return err(line, "expected `{` at the end of `for`");
            };
            let mut words = rest.split_whitespace();
            let var_token = words.next().unwrap_or_default();
            let Some(var_name) = var_token.strip_prefix('%') else {
                return err(
                    line,
                    format!("expected a register `%name`, found `{var_token}`"),
                );
            };
            // A loop declares its variable (i64) unless it was declared before.
            let var = match names.regs.get(var_name) {
                Some(r) => *r,
                None => declare(func, names, line, var_name, Type::I64)?,
            };
            if words.next() != Some("in") {
                return err(line, "expected `for %var in 0..COUNT {`");
            }
            let Some(count) = words.next().and_then(|r| r.strip_prefix("0..")) else {
                return err(line, "expected a range `0..COUNT`");
            };
            let count = match count.parse::<i64>() {
                Ok(n) => Operand::Imm(n),
                Err(_) => Operand::Reg(names.reg(line, count)?),
            };
            let reverse = match words.next() {
                None => false,
                Some("rev") => true,
                Some(other) => return err(line, format!("unexpected `{other}` in `for`")),
            };
            let body_stmts = parse_block(cursor, names, func, line)?;
            body.push(Stmt::Loop(Loop {
                var,
                count,
                reverse,
                body: body_stmts,
            }));
        } else if let Some(rest) = text.strip_prefix("if ") {
            let Some(cond) = rest.strip_suffix('{') else {
                return err(line, "expected `{` at the end of `if`");
            };
            let cond = names.reg(line, cond.trim())?;
            let (then, ending) = parse_body(cursor, names, func, line)?;
            let otherwise = match ending {
                Ending::Else => parse_block(cursor, names, func, line)?,
                Ending::Close => Vec::new(),
            };
            body.push(Stmt::If(If {
                cond,
                then,
                otherwise,
            }));
        } else {
            body.push(Stmt::Inst(parse_inst(line, text, names, func)?));
        }
    }
}

fn parse_inst(line: usize, text: &str, names: &mut Names, func: &mut Function) -> Result<Inst> {
    let (dst, rest) = match text.split_once(" = ") {
        // `%x: TYPE = ...` declares %x.
        Some((dst, rest)) => match dst.split_once(':') {
            Some((name, ty)) => {
                let Some(name) = name.trim().strip_prefix('%') else {
                    return err(line, format!("expected a register `%name`, found `{name}`"));
                };
                let ty = parse_type(line, ty.trim())?;
                (Some(declare(func, names, line, name, ty)?), rest)
            }
            None => (Some(names.reg(line, dst.trim())?), rest),
        },
        None => (None, text),
    };
    let names = &*names;
    let func = &*func;
    let (opcode, args) = rest.split_once(' ').unwrap_or((rest, ""));
    let (name, suffix) = match opcode.split_once('.') {
        Some((name, suffix)) => (name, Some(suffix)),
        None => (opcode, None),
    };
    let args: Vec<&str> = if args.trim().is_empty() {
        Vec::new()
    } else {
        args.split(',').map(str::trim).collect()
    };
    let want = |n: usize| -> Result<()> {
        if args.len() == n {
            Ok(())
        } else {
            err(
                line,
                format!("`{name}` takes {n} operands, found {}", args.len()),
            )
        }
    };
    let reg = |i: usize| names.reg(line, args[i]);
    let int = |i: usize| -> Result<i64> {
        args[i].parse().map_err(|_| ParseError {
            line,
            message: format!("expected an integer, found `{}`", args[i]),
        })
    };
    let lane = |i: usize| -> Result<u16> {
        args[i].parse().map_err(|_| ParseError {
            line,
            message: format!("expected a lane number, found `{}`", args[i]),
        })
    };
    let operand = |i: usize| -> Result<Operand> {
        match args[i].parse::<i64>() {
            Ok(n) => Ok(Operand::Imm(n)),
            Err(_) => Ok(Operand::Reg(names.reg(line, args[i])?)),
        }
    };
    // Suffix types must agree with the destination register.
    let typed = ["iconst", "fconst", "load", "splat", "bitcast", "slice"];
    if typed.contains(&name) {
        let Some(suffix) = suffix else {
            return err(
                line,
                format!("`{name}` needs a type suffix, e.g. `{name}.f32x4`"),
            );
        };
        let ty = parse_type(line, suffix)?;
        match dst {
            Some(d) if func.ty(d) == ty => {}
            Some(d) => {
                return err(
                    line,
                    format!(
                        "`{name}.{ty}` assigns %{} of type {}",
                        func.reg(d).name,
                        func.ty(d)
                    ),
                );
            }
            None => return err(line, format!("`{name}` needs a destination register")),
        }
    } else if name != "select" && suffix.is_some() {
        return err(line, format!("`{name}` takes no suffix"));
    }
    let op = match name {
        "iconst" => {
            want(1)?;
            Op::Iconst(int(0)?)
        }
        "fconst" => {
            want(1)?;
            let value: f64 = args[0].parse().map_err(|_| ParseError {
                line,
                message: format!("expected a float, found `{}`", args[0]),
            })?;
            // f32 constants are written in f32's shortest form: read them as f32.
            let f32_lanes = dst.is_some_and(|d| func.ty(d).scalar == Scalar::F32);
            Op::Fconst(if f32_lanes {
                value as f32 as f64
            } else {
                value
            })
        }
        "copy" => {
            want(1)?;
            Op::Copy(reg(0)?)
        }
        "iadd" | "isub" | "imul" | "udiv" | "ishl" => {
            want(2)?;
            let op = match name {
                "iadd" => IntOp::Add,
                "isub" => IntOp::Sub,
                "imul" => IntOp::Mul,
                "udiv" => IntOp::Div,
                _ => IntOp::Shl,
            };
            Op::Int(op, reg(0)?, operand(1)?)
        }
        "fadd" | "fsub" | "fmul" | "fdiv" => {
            want(2)?;
            let op = match name {
                "fadd" => FloatOp::Add,
                "fsub" => FloatOp::Sub,
                "fmul" => FloatOp::Mul,
                _ => FloatOp::Div,
            };
            Op::Float(op, reg(0)?, reg(1)?)
        }
        "fma" => {
            want(3)?;
            Op::Fma(reg(0)?, reg(1)?, reg(2)?)
        }
        "band" | "bor" | "bxor" => {
            want(2)?;
            let op = match name {
                "band" => BitOp::And,
                "bor" => BitOp::Or,
                _ => BitOp::Xor,
            };
            Op::Bits(op, reg(0)?, reg(1)?)
        }
        "bitcast" => {
            want(1)?;
            Op::Bitcast(reg(0)?)
        }
        "splat" => {
            want(1)?;
            Op::Splat(reg(0)?)
        }
        "extract" => {
            want(2)?;
            Op::Extract(reg(0)?, lane(1)?)
        }
        "slice" => {
            want(2)?;
            Op::Slice(reg(0)?, lane(1)?)
        }
        "reduce_add" => {
            want(1)?;
            Op::ReduceAdd(reg(0)?)
        }
        "select" => {
            want(4)?;
            let cmp = match suffix {
                Some("lt") => Cmp::Lt,
                Some("le") => Cmp::Le,
                _ => return err(line, "expected `select.lt` or `select.le`"),
            };
            Op::Select(cmp, reg(0)?, reg(1)?, reg(2)?, reg(3)?)
        }
        "tanh" => {
            want(1)?;
            Op::Tanh(reg(0)?)
        }
        "sigmoid" => {
            want(1)?;
            Op::Sigmoid(reg(0)?)
        }
        "load" => {
            want(1)?;
            let (buf, addr) = parse_addr(line, args[0], names)?;
            Op::Load(buf, addr)
        }
        "store" => {
            want(2)?;
            let (buf, addr) = parse_addr(line, args[0], names)?;
            Op::Store(buf, addr, reg(1)?)
        }
        "is_null" => {
            want(1)?;
            Op::IsNull(names.buf(line, args[0])?)
        }
        other => return err(line, format!("unknown operation `{other}`")),
    };
    let has_dst = !matches!(op, Op::Store(..));
    if has_dst != dst.is_some() {
        return err(
            line,
            if has_dst {
                format!("`{name}` needs a destination register")
            } else {
                "`store` has no destination".to_string()
            },
        );
    }
    Ok(Inst { dst, op })
}

fn parse_addr(line: usize, text: &str, names: &Names) -> Result<(Buf, Addr)> {
    let Some((buf, rest)) = text.split_once('[') else {
        return err(line, format!("expected `@buffer[...]`, found `{text}`"));
    };
    let Some(inner) = rest.strip_suffix(']') else {
        return err(line, format!("expected `]` closing `{text}`"));
    };
    let buf = names.buf(line, buf)?;
    let number = |s: &str| -> Result<i64> {
        s.trim().parse().map_err(|_| ParseError {
            line,
            message: format!("expected an element offset, found `{s}`"),
        })
    };
    let inner = inner.trim();
    let addr = if inner.starts_with('%') {
        if let Some((reg, off)) = inner.split_once(" + ") {
            Addr {
                index: Some(names.reg(line, reg)?),
                offset: number(off)?,
            }
        } else if let Some((reg, off)) = inner.split_once(" - ") {
            Addr {
                index: Some(names.reg(line, reg)?),
                offset: -number(off)?,
            }
        } else {
            Addr {
                index: Some(names.reg(line, inner)?),
                offset: 0,
            }
        }
    } else {
        Addr {
            index: None,
            offset: number(inner)?,
        }
    };
    Ok((buf, addr))
}
