//! Declaring and defining a model's kernels in any `cranelift_module::Module`: the JIT and
//! object files share every line of this.

use cranelift_codegen::Context;
use cranelift_codegen::ir::UserFuncName;
use cranelift_frontend::FunctionBuilderContext;
use cranelift_module::{FuncId, Linkage, Module};

use crate::CodegenError;
use crate::translate::{Abi, signature, translate};

/// The functions of one model in a module.
#[derive(Clone, Copy, Debug)]
pub struct Kernels {
    /// `NAME_pack(const T *const params[], T *packed)`.
    pub pack: FuncId,
    /// `NAME_forward(weights, input, h0, lengths, output, h_n, work, seq_len, batch)`.
    pub forward: FuncId,
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

/// Declares and defines `pack` and `forward` of `ir` in `module`, exported under their
/// symbols.
pub fn define_kernels<M: Module>(
    module: &mut M,
    ir: &rnnc_ir::Module,
) -> Result<Kernels, CodegenError> {
    let mut ctx = module.make_context();
    let mut fctx = FunctionBuilderContext::new();
    let mut ids = Vec::new();
    for name in ["pack", "forward"] {
        let func = ir
            .function(name)
            .ok_or_else(|| CodegenError::Illegal(format!("the module has no function @{name}")))?;
        let abi = abi_of(name);
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
        module.clear_context(&mut ctx);
        ids.push(id);
    }
    Ok(Kernels {
        pack: ids[0],
        forward: ids[1],
    })
}

fn define<M: Module>(module: &mut M, id: FuncId, ctx: &mut Context) -> Result<(), CodegenError> {
    module
        .define_function(id, ctx)
        .map_err(|e| CodegenError::Module(format!("{e:?}")))
}
