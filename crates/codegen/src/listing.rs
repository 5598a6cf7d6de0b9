//! `--emit clif` and `--emit asm`: the code rnnc generates, each part preceded by the IR
//! construct it came from (`; ir: %acc = fma %w, %xs, %acc`).

use std::fmt::Write as _;

use capstone::prelude::*;
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{self as cl, Inst, SourceLoc, UserFuncName, Value};
use cranelift_codegen::isa::TargetIsa;
use cranelift_codegen::write::{FuncWriter, PlainWriter, decorate_function};
use cranelift_codegen::{Context, entity::SecondaryMap};
use cranelift_frontend::FunctionBuilderContext;
use target_lexicon::Architecture;

use crate::CodegenError;
use crate::define::{Entries, abi_of, callees_of, symbol};
use crate::translate::{Links, import_function, signature, translate};

/// Each function of `ir` translated to Cranelift IR, with its symbol and source texts.
fn translated(
    ir: &rnnc_kernel::Legal,
    isa: &dyn TargetIsa,
) -> Result<Vec<(String, cl::Function, Vec<String>)>, CodegenError> {
    let mut fctx = FunctionBuilderContext::new();
    let mut out = Vec::new();
    let called: std::collections::HashSet<String> =
        ir.functions.iter().flat_map(callees_of).collect();
    // Listings show the C API of objects.
    let abi_of = |name: &str| abi_of(name, called.contains(name), false, Entries::Direct);
    let sig_of = |func: &rnnc_kernel::Function| {
        let entry = func.name == "forward";
        let abi = abi_of(&func.name);
        signature(
            func,
            abi,
            entry,
            isa.default_call_conv(),
            isa.pointer_type(),
        )
    };
    for (i, func) in ir.functions.iter().enumerate() {
        let abi = abi_of(&func.name);
        let mut cl_func =
            cl::Function::with_name_signature(UserFuncName::user(0, i as u32), sig_of(func));
        let mut links = Links {
            entry: (func.name == "forward").then(|| ir.max_rows()),
            ..Links::default()
        };
        for callee in callees_of(func) {
            let (j, target) = ir
                .functions
                .iter()
                .enumerate()
                .find(|(_, f)| f.name == callee)
                .ok_or_else(|| {
                    CodegenError::Illegal(format!("`call @{callee}`: no such function"))
                })?;
            let near = isa.flags().is_pic();
            let fref = import_function(&mut cl_func, j as u32, sig_of(target), near);
            links.callees.push((callee, fref, abi_of(&target.name)));
        }
        let sources = translate(
            func,
            abi,
            isa.frontend_config(),
            true,
            &links,
            &mut cl_func,
            &mut fctx,
        )?;
        out.push((symbol(&ir.name, &func.name), cl_func, sources));
    }
    Ok(out)
}

/// Prints CLIF with a comment line wherever the IR source changes.
struct Annotated<'s> {
    sources: &'s [String],
    last: Option<SourceLoc>,
}

impl FuncWriter for Annotated<'_> {
    fn write_block_header(
        &mut self,
        w: &mut dyn std::fmt::Write,
        func: &cl::Function,
        block: cl::Block,
        indent: usize,
    ) -> std::fmt::Result {
        PlainWriter.write_block_header(w, func, block, indent)
    }

    fn write_instruction(
        &mut self,
        w: &mut dyn std::fmt::Write,
        func: &cl::Function,
        aliases: &SecondaryMap<Value, Vec<Value>>,
        inst: Inst,
        indent: usize,
    ) -> std::fmt::Result {
        let loc = func.srcloc(inst);
        if Some(loc) != self.last && !loc.is_default() {
            if let Some(text) = self.sources.get(loc.bits() as usize) {
                writeln!(w, "{:indent$}; ir: {text}", "")?;
            }
            self.last = Some(loc);
        }
        PlainWriter.write_instruction(w, func, aliases, inst, indent)
    }
}

/// The Cranelift IR of every function, as translated (before Cranelift optimizes it).
pub fn emit_clif(ir: &rnnc_kernel::Legal, isa: &dyn TargetIsa) -> Result<String, CodegenError> {
    let mut out = String::new();
    for (symbol, func, sources) in translated(ir, isa)? {
        let _ = writeln!(
            out,
            "; {symbol}: Cranelift IR as translated from rnnc's kernel IR"
        );
        let mut writer = Annotated {
            sources: &sources,
            last: None,
        };
        decorate_function(&mut writer, &mut out, &func)
            .map_err(|source| CodegenError::Print { symbol, source })?;
        out.push('\n');
    }
    Ok(out)
}

/// The machine code of every function, disassembled, with the IR construct behind each run
/// of instructions.
pub fn emit_asm(ir: &rnnc_kernel::Legal, isa: &dyn TargetIsa) -> Result<String, CodegenError> {
    let cs = match isa.triple().architecture {
        Architecture::X86_64 => Capstone::new()
            .x86()
            .mode(arch::x86::ArchMode::Mode64)
            .build(),
        Architecture::Aarch64(_) => Capstone::new()
            .arm64()
            .mode(arch::arm64::ArchMode::Arm)
            .build(),
        architecture => return Err(CodegenError::NoDisassembler { architecture }),
    }
    .map_err(CodegenError::Disassembler)?;
    let mut out = String::new();
    for (symbol, func, sources) in translated(ir, isa)? {
        let mut ctx = Context::for_function(func);
        let code = ctx
            .compile(isa, &mut ControlPlane::default())
            .map_err(|e| CodegenError::Compile {
                symbol: symbol.clone(),
                source: e.inner,
            })?;
        let bytes = code.code_buffer();
        let locs = code.buffer.get_srclocs_sorted();
        let _ = writeln!(out, "; {symbol}: {} bytes of {}", bytes.len(), isa.triple());
        let insns = cs
            .disasm_all(bytes, 0)
            .map_err(CodegenError::Disassembler)?;
        let mut last = None;
        for insn in insns.iter() {
            let at = insn.address() as u32;
            let loc = locs
                .iter()
                .find(|l| l.start <= at && at < l.end)
                .map(|l| l.loc);
            if loc != last {
                if let Some(text) = loc.and_then(|l| sources.get(l.bits() as usize)) {
                    let _ = writeln!(out, "                ; ir: {text}");
                }
                last = loc;
            }
            let _ = writeln!(
                out,
                "  {at:6x}:  {} {}",
                insn.mnemonic().unwrap_or("?"),
                insn.op_str().unwrap_or("")
            );
        }
        out.push('\n');
    }
    Ok(out)
}
