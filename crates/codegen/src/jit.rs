//! Compiling a model's kernels into executable memory of this process.

use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::default_libcall_names;

use crate::CodegenError;
use crate::define::define_kernels;
use crate::isa::{OptLevel, host_isa};

/// Finalized native code of one model: the module that owns the executable memory, and
/// the entry points of `pack` and `forward` in it.
///
/// The pointers are valid while `module` lives and its memory is not freed; calling them
/// is the runtime's business (and its one `unsafe` module's).
pub struct JitCode {
    /// Owner of the code. Dropping it leaks the code (Cranelift's choice, so that pointers
    /// stay valid); `JITModule::free_memory` releases it.
    pub module: JITModule,
    /// `pack(const T *const params[], T *packed)`.
    pub pack: *const u8,
    /// Every other function by IR name: `forward`, or the phase functions of a schedule.
    pub entries: Vec<(String, *const u8)>,
}

/// Compiles `ir` (legal kernel IR) for this machine.
pub fn compile_jit(ir: &rnnc_ir::Module, opt: OptLevel) -> Result<JitCode, CodegenError> {
    rnnc_ir::verify_module(ir, rnnc_ir::Level::Legal)
        .map_err(|e| CodegenError::Illegal(e.to_string()))?;
    let isa = host_isa(opt)?;
    let mut module = JITModule::new(JITBuilder::with_isa(isa, default_libcall_names()));
    let kernels = define_kernels(&mut module, ir, None)?;
    module
        .finalize_definitions()
        .map_err(|e| CodegenError::Module(e.to_string()))?;
    let pack = kernels
        .pack
        .ok_or_else(|| CodegenError::Illegal("the module has no function @pack".into()))?;
    Ok(JitCode {
        pack: module.get_finalized_function(pack),
        entries: kernels
            .entries
            .iter()
            .map(|(name, id)| (name.clone(), module.get_finalized_function(*id)))
            .collect(),
        module,
    })
}
