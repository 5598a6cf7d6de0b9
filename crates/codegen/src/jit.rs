//! Compiling a model's kernels into executable memory of this process.

use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::default_libcall_names;

use crate::CodegenError;
use crate::define::{Entries, define_kernels};
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
    /// Every other entry point by IR name: `forward`, or the phase functions of a
    /// schedule, each taking an array of its buffer parameters' pointers and one of its
    /// scalar parameters' values ([`crate::translate::Abi::Arrays`]); `forward` returns
    /// its status as an `i32`.
    pub entries: Vec<(String, *const u8)>,
}

/// The environment variable that makes [`compile_jit`] append its functions to
/// `/tmp/perf-PID.map`, so that `perf report` names samples in generated code
/// (`NAME_forward`) instead of showing bare addresses; `tools/profile.py` reads it too.
pub const PERF_MAP_ENV: &str = "RNNC_PERF_MAP";

/// Compiles `ir` (legal kernel IR) for this machine.
///
/// With [`PERF_MAP_ENV`] set (to anything), each function is also listed in the process's
/// perf map, one line `START SIZE SYMBOL` (hexadecimal), the format `perf` reads for JIT code.
pub fn compile_jit(ir: &rnnc_kernel::Legal, opt: OptLevel) -> Result<JitCode, CodegenError> {
    let isa = host_isa(opt)?;
    let mut module = JITModule::new(JITBuilder::with_isa(isa, default_libcall_names()));
    let kernels = define_kernels(&mut module, ir, None, Entries::Arrays)?;
    module
        .finalize_definitions()
        .map_err(|source| CodegenError::Module {
            action: "finalize the JIT's code".into(),
            source: Box::new(source),
        })?;
    let pack = kernels
        .pack
        .ok_or_else(|| CodegenError::Illegal("the module has no function @pack".into()))?;
    let code = JitCode {
        pack: module.get_finalized_function(pack),
        entries: kernels
            .entries
            .iter()
            .map(|(name, id)| (name.clone(), module.get_finalized_function(*id)))
            .collect(),
        module,
    };
    if std::env::var_os(PERF_MAP_ENV).is_some() {
        write_perf_map(&ir.name, &code, &kernels.code_sizes)?;
    }
    Ok(code)
}

/// Appends the functions of `code` to `/tmp/perf-PID.map`.
fn write_perf_map(
    model: &str,
    code: &JitCode,
    sizes: &[(String, u32)],
) -> Result<(), CodegenError> {
    use std::io::Write;
    let path = format!("/tmp/perf-{}.map", std::process::id());
    let start = |name: &str| {
        if name == "pack" {
            Some(code.pack)
        } else {
            code.entries
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, p)| *p)
        }
    };
    let mut lines = String::new();
    for (name, size) in sizes {
        if let Some(ptr) = start(name) {
            lines += &format!(
                "{:x} {size:x} {}\n",
                ptr as usize,
                crate::define::symbol(model, name)
            );
        }
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(lines.as_bytes()))
        .map_err(|source| CodegenError::PerfMap { path, source })
}
