//! Object files: the same kernels as the JIT's, in an `ObjectModule` for any supported
//! target, ready to link into a C program.

use cranelift_module::default_libcall_names;
use cranelift_object::{ObjectBuilder, ObjectModule};

use crate::CodegenError;
use crate::define::{Entries, define_kernels};
use cranelift_codegen::isa::OwnedTargetIsa;

/// The bytes of a relocatable object file for `isa` ([`target_isa`](crate::target_isa)) holding the kernels of
/// `ir` (legal kernel IR); with `baked` weight bytes, the packed weights are in the
/// object's read-only data and there is no `pack`.
pub fn emit_object(
    ir: &rnnc_kernel::Legal,
    isa: OwnedTargetIsa,
    baked: Option<&[u8]>,
) -> Result<Vec<u8>, CodegenError> {
    let triple = isa.triple().to_string();
    let builder = ObjectBuilder::new(isa, ir.name.as_bytes().to_vec(), default_libcall_names())
        .map_err(|source| CodegenError::Module {
            action: format!("create an object module for {triple}"),
            source: Box::new(source),
        })?;
    let mut module = ObjectModule::new(builder);
    define_kernels(&mut module, ir, baked, Entries::Direct)?;
    module.finish().emit().map_err(CodegenError::Object)
}
