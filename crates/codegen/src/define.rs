//! Declaring and defining a model's kernels in any `cranelift_module::Module`: the JIT and
//! object files share every line of this.

use std::collections::HashSet;

use cranelift_codegen::ir::UserFuncName;
use cranelift_frontend::FunctionBuilderContext;
use cranelift_module::{DataDescription, FuncId, Linkage, Module};

use crate::CodegenError;
use crate::translate::{Abi, Links, import_function, signature, translate};

/// The functions of one model in a module.
#[derive(Clone, Debug)]
pub struct Kernels {
    /// `NAME_pack(const T *const params[], T *packed)`; absent when weights are baked in.
    pub pack: Option<FuncId>,
    /// Every other function by IR name: `forward(weights, input, h0, lengths, output, h_n,
    /// work, seq_len, batch)` (without `weights` when they are baked in), or the phase
    /// functions of a multi-threaded schedule (the same, then `n`, `part`, `parts`).
    pub entries: Vec<(String, FuncId)>,
    /// The size in bytes of each function's machine code, by IR name, in definition order.
    pub code_sizes: Vec<(String, u32)>,
}

/// The symbol of an IR function: `NAME_pack`, `NAME_forward`.
pub fn symbol(model: &str, function: &str) -> String {
    format!("{model}_{function}")
}

/// How the entry points of a module (functions no other function calls, but `pack`) take
/// their arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entries {
    /// One native argument per parameter: the C API of object files.
    Direct,
    /// Through an array of pointers and one of scalars ([`Abi::Arrays`]): what the runtime
    /// calls JIT code with.
    Arrays,
}

/// How an IR function is called natively: `pack` through a pointer array; with weights
/// baked into the object (`baked`; the functions of `pack` are not emitted then), every
/// other function without them; entry points (not `called` by another function) as
/// `entries` says; the rest with one argument per parameter.
pub fn abi_of(name: &str, called: bool, baked: bool, entries: Entries) -> Abi {
    if name == "pack" {
        Abi::PointerArray
    } else if baked {
        Abi::Baked
    } else if !called && entries == Entries::Arrays {
        Abi::Arrays
    } else {
        Abi::Direct
    }
}

/// The functions a function's `call` statements name, each once, in order.
pub fn callees_of(func: &rnnc_kernel::Function) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    rnnc_kernel::for_each_stmt(&func.body, &mut |s| {
        if let rnnc_kernel::Stmt::Call(call) = s
            && !names.contains(&call.callee)
        {
            names.push(call.callee.clone());
        }
    });
    names
}

/// `pack` and the functions it calls, directly or not: what baked weights make
/// unnecessary.
fn pack_functions(ir: &rnnc_kernel::Module) -> HashSet<String> {
    let mut set = HashSet::new();
    let mut stack = vec!["pack".to_string()];
    while let Some(name) = stack.pop() {
        if let Some(func) = ir.function(&name)
            && set.insert(name)
        {
            stack.extend(callees_of(func));
        }
    }
    set
}

/// Declares and defines the kernels of `ir` in `module`, exported under their symbols
/// (functions that only other functions call are local to the module), entry points taking
/// their arguments as `entries` says.
///
/// With `baked` (the packed weights' bytes, as `pack` lays them out), the weights become
/// read-only data of the module (aligned to 64 bytes), the kernels read them from there and
/// take no `weights` argument, and there is no `pack`.
pub fn define_kernels<M: Module>(
    module: &mut M,
    ir: &rnnc_kernel::Legal,
    baked: Option<&[u8]>,
    entries: Entries,
) -> Result<Kernels, CodegenError> {
    let err = |action: String| {
        move |source: cranelift_module::ModuleError| CodegenError::Module {
            action,
            source: Box::new(source),
        }
    };
    // Code for a wider target than the module's ISA would not compile or would fault.
    crate::isa::check_target(module.isa(), ir.target)?;
    let mut ctx = module.make_context();
    let mut fctx = FunctionBuilderContext::new();
    let weights_data = match baked {
        Some(bytes) => {
            let name = symbol(&ir.name, "weights");
            let id = module
                .declare_data(&name, Linkage::Local, false, false)
                .map_err(err(format!("declare {name}")))?;
            let mut data = DataDescription::new();
            data.define(bytes.to_vec().into_boxed_slice());
            data.set_align(64);
            module
                .define_data(id, &data)
                .map_err(err(format!("define {name}")))?;
            Some(id)
        }
        None => None,
    };
    if baked.is_some() && ir.function("forward").is_none() {
        return Err(CodegenError::Illegal(
            "baked weights need a module with @forward".into(),
        ));
    }
    let called: HashSet<String> = ir.functions.iter().flat_map(callees_of).collect();
    let of_pack = pack_functions(ir);
    let call_conv = module.isa().default_call_conv();
    let ptr = module.target_config().pointer_type();
    // Every function is declared first, so that calls can name any of them.
    let mut declared = Vec::new();
    for func in &ir.functions {
        let name = func.name.as_str();
        if baked.is_some() && of_pack.contains(name) {
            continue;
        }
        let abi = abi_of(name, called.contains(name), baked.is_some(), entries);
        let sig = signature(func, abi, name == "forward", call_conv, ptr);
        let linkage = if called.contains(name) {
            Linkage::Local
        } else {
            Linkage::Export
        };
        let exported = symbol(&ir.name, name);
        let id = module
            .declare_function(&exported, linkage, &sig)
            .map_err(err(format!("declare {exported}")))?;
        declared.push((func, abi, sig, id));
    }
    // Objects are position-independent and their functions sit together: near calls. JIT
    // code may be spread over memory: calls through absolute addresses.
    let near = module.isa().flags().is_pic();
    let mut kernels = Kernels {
        pack: None,
        entries: Vec::new(),
        code_sizes: Vec::new(),
    };
    for (func, abi, sig, id) in &declared {
        let name = func.name.as_str();
        ctx.func.signature = sig.clone();
        ctx.func.name = UserFuncName::user(0, id.as_u32());
        let mut links = Links {
            weights: weights_data.map(|data| module.declare_data_in_func(data, &mut ctx.func)),
            callees: Vec::new(),
            entry: (name == "forward").then(|| ir.max_rows()),
        };
        for callee in callees_of(func) {
            let (_, callee_abi, callee_sig, callee_id) = declared
                .iter()
                .find(|(f, ..)| f.name == callee)
                .ok_or_else(|| {
                    CodegenError::Illegal(format!("`call @{callee}`: no such function"))
                })?;
            let fref = import_function(&mut ctx.func, callee_id.as_u32(), callee_sig.clone(), near);
            links.callees.push((callee, fref, *callee_abi));
        }
        translate(
            func,
            *abi,
            module.target_config(),
            false,
            &links,
            &mut ctx.func,
            &mut fctx,
        )?;
        module
            .define_function(*id, &mut ctx)
            .map_err(err(format!("define {}", symbol(&ir.name, name))))?;
        let size = ctx
            .compiled_code()
            .map_or(0, |code| code.code_info().total_size);
        kernels.code_sizes.push((name.to_string(), size));
        module.clear_context(&mut ctx);
        if name == "pack" {
            kernels.pack = Some(*id);
        } else {
            kernels.entries.push((name.to_string(), *id));
        }
    }
    Ok(kernels)
}
