//! Declaring and defining a model's kernels in any `cranelift_module::Module`: the JIT and
//! object files share every line of this.

use cranelift_codegen::Context;
use cranelift_codegen::ir::UserFuncName;
use cranelift_frontend::FunctionBuilderContext;
use cranelift_module::{DataDescription, FuncId, Linkage, Module};

use crate::CodegenError;
use crate::translate::{Abi, signature, translate};

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

/// How the IR function `name` is called natively.
pub fn abi_of(name: &str) -> Abi {
    if name == "pack" {
        Abi::PointerArray
    } else {
        Abi::Direct
    }
}

/// Declares and defines the kernels of `ir` in `module`, exported under their symbols.
///
/// With `baked` (the packed weights' bytes, as `pack` lays them out), the weights become
/// read-only data of the module (aligned to 64 bytes), `forward` reads them from there and
/// takes no `weights` argument, and there is no `pack`.
pub fn define_kernels<M: Module>(
    module: &mut M,
    ir: &rnnc_ir::Module,
    baked: Option<&[u8]>,
) -> Result<Kernels, CodegenError> {
    let mut ctx = module.make_context();
    let mut fctx = FunctionBuilderContext::new();
    let weights_data = match baked {
        Some(bytes) => {
            let id = module
                .declare_data(&symbol(&ir.name, "weights"), Linkage::Local, false, false)
                .map_err(|e| CodegenError::Module(e.to_string()))?;
            let mut data = DataDescription::new();
            data.define(bytes.to_vec().into_boxed_slice());
            data.set_align(64);
            module
                .define_data(id, &data)
                .map_err(|e| CodegenError::Module(e.to_string()))?;
            Some(id)
        }
        None => None,
    };
    if baked.is_some() && ir.function("forward").is_none() {
        return Err(CodegenError::Illegal(
            "baked weights need a module with @forward".into(),
        ));
    }
    let mut kernels = Kernels {
        pack: None,
        entries: Vec::new(),
        code_sizes: Vec::new(),
    };
    for func in &ir.functions {
        let name = func.name.as_str();
        if baked.is_some() && name == "pack" {
            continue;
        }
        let abi = match weights_data {
            Some(data) if name == "forward" => {
                Abi::Baked(module.declare_data_in_func(data, &mut ctx.func))
            }
            _ => abi_of(name),
        };
        let sig = signature(
            func,
            abi,
            module.isa().default_call_conv(),
            module.target_config().pointer_type(),
        );
        let id = module
            .declare_function(&symbol(&ir.name, name), Linkage::Export, &sig)
            .map_err(|e| CodegenError::Module(e.to_string()))?;
        ctx.func.signature = sig;
        ctx.func.name = UserFuncName::user(0, id.as_u32());
        translate(
            func,
            abi,
            module.target_config(),
            false,
            &mut ctx.func,
            &mut fctx,
        )?;
        define(module, id, &mut ctx)?;
        let size = ctx
            .compiled_code()
            .map_or(0, |code| code.code_info().total_size);
        kernels.code_sizes.push((name.to_string(), size));
        module.clear_context(&mut ctx);
        if name == "pack" {
            kernels.pack = Some(id);
        } else {
            kernels.entries.push((name.to_string(), id));
        }
    }
    Ok(kernels)
}

fn define<M: Module>(module: &mut M, id: FuncId, ctx: &mut Context) -> Result<(), CodegenError> {
    module
        .define_function(id, ctx)
        .map_err(|e| CodegenError::Module(format!("{e:?}")))
}
