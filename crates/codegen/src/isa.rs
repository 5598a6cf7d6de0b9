//! Which machine code is emitted for: the host (JIT) or a target triple (object files).
//!
//! Kernels use 128-bit vectors and fused multiply-add. On x86-64, Cranelift lowers `fma` to
//! `vfmadd` only when both `has_avx` and `has_fma` are set; otherwise every `fma` becomes
//! calls to `fmaf`, which kernels must never make. So the host ISA must have both (an error
//! says so plainly), and cross targets get both enabled explicitly, since Cranelift's named
//! CPU presets do not set `has_avx`.

use std::str::FromStr;
use std::sync::Arc;

use cranelift_codegen::isa::{self, OwnedTargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use target_lexicon::{Architecture, BinaryFormat, OperatingSystem, Triple};

use crate::CodegenError;

/// How hard Cranelift optimizes.
///
/// The default is `None`: rnnc's IR is already scheduled (loads next to their uses, one
/// broadcast per input element, unrolled reductions), and keeping that order measured
/// faster than `Speed`, whose e-graph hoists the activation's constants out of every loop
/// (more values live across the reductions, hence spills) and regroups the unrolled
/// multiply-adds by accumulator. In one interleaved run: b1-1024 10.9 ms vs 13.1-13.6 ms,
/// bidir-256x2-b1 3.9 ms vs 4.8-5.4 ms. `None` also compiles faster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OptLevel {
    /// `speed`: the mid-end's e-graph optimizations (GVN, constant folding, LICM).
    Speed,
    /// `none`: instructions in source order, no mid-end.
    #[default]
    None,
}

impl OptLevel {
    fn name(self) -> &'static str {
        match self {
            OptLevel::Speed => "speed",
            OptLevel::None => "none",
        }
    }
}

fn shared_flags(opt: OptLevel, pic: bool) -> Result<settings::Flags, CodegenError> {
    let mut flags = settings::builder();
    let mut set = |name: &str, value: &str| {
        flags
            .set(name, value)
            .map_err(|e| CodegenError::Isa(format!("setting {name}={value}: {e}")))
    };
    set("opt_level", opt.name())?;
    set("is_pic", if pic { "true" } else { "false" })?;
    // Kernels call nothing: no libcalls to colocate, and no stack probes (a call to
    // `__cranelift_probestack` would be an undefined symbol in object files).
    set("use_colocated_libcalls", "false")?;
    set("enable_probestack", "false")?;
    // rnnc verifies its own IR; Cranelift's verifier costs compile time for no new check
    // in release builds.
    set(
        "enable_verifier",
        if cfg!(debug_assertions) {
            "true"
        } else {
            "false"
        },
    )?;
    Ok(settings::Flags::new(flags))
}

/// The ISA of this machine, with the features `cranelift_native` detects.
pub fn host_isa(opt: OptLevel) -> Result<OwnedTargetIsa, CodegenError> {
    let builder = cranelift_native::builder()
        .map_err(|e| CodegenError::Isa(format!("this machine is not supported: {e}")))?;
    let isa = builder
        .finish(shared_flags(opt, false)?)
        .map_err(|e| CodegenError::Isa(e.to_string()))?;
    check_fma(&isa, "this machine")?;
    Ok(isa)
}

/// This machine's target triple, e.g. `x86_64-unknown-linux-gnu`.
pub fn host_triple() -> String {
    target_lexicon::HOST.to_string()
}

/// The ISA of a target triple such as `x86_64-unknown-linux-gnu` or
/// `aarch64-unknown-linux-gnu`, for object files (position-independent code).
pub fn target_isa(triple: &str, opt: OptLevel) -> Result<OwnedTargetIsa, CodegenError> {
    let parsed = Triple::from_str(triple).map_err(|e| {
        CodegenError::Target(format!("`{triple}` is not a target triple ({e}); try x86_64-unknown-linux-gnu or aarch64-unknown-linux-gnu"))
    })?;
    match parsed.architecture {
        Architecture::X86_64 | Architecture::Aarch64(_) => {}
        other => {
            return Err(CodegenError::Target(format!(
                "`{triple}`: architecture {other} is not supported; rnnc emits x86_64 and aarch64"
            )));
        }
    }
    if parsed.binary_format != BinaryFormat::Elf
        && parsed.binary_format != BinaryFormat::Macho
        && parsed.binary_format != BinaryFormat::Coff
    {
        return Err(CodegenError::Target(format!(
            "`{triple}`: object format {} is not supported",
            parsed.binary_format
        )));
    }
    if matches!(parsed.operating_system, OperatingSystem::Unknown)
        && parsed.binary_format != BinaryFormat::Elf
    {
        return Err(CodegenError::Target(format!(
            "`{triple}`: unknown operating system"
        )));
    }
    let mut builder = isa::lookup(parsed.clone())
        .map_err(|e| CodegenError::Target(format!("`{triple}`: {e}")))?;
    if let Architecture::X86_64 = parsed.architecture {
        // x86-64-v3 (Haswell and later): AVX2, FMA. Presets leave has_avx off; set it.
        for flag in [
            "has_sse3",
            "has_ssse3",
            "has_sse41",
            "has_sse42",
            "has_popcnt",
            "has_avx",
            "has_avx2",
            "has_fma",
            "has_bmi1",
            "has_bmi2",
            "has_lzcnt",
        ] {
            builder
                .enable(flag)
                .map_err(|e| CodegenError::Isa(format!("enabling {flag}: {e}")))?;
        }
    }
    let isa = builder
        .finish(shared_flags(opt, true)?)
        .map_err(|e| CodegenError::Isa(e.to_string()))?;
    check_fma(&isa, triple)?;
    Ok(isa)
}

/// Refuses an x86-64 ISA without AVX and FMA: its `fma` would become libcalls.
fn check_fma(isa: &Arc<dyn isa::TargetIsa>, what: &str) -> Result<(), CodegenError> {
    if isa.triple().architecture != Architecture::X86_64 {
        return Ok(());
    }
    let enabled = |name: &str| {
        isa.isa_flags()
            .iter()
            .any(|f| f.name == name && f.as_bool() == Some(true))
    };
    if enabled("has_avx") && enabled("has_fma") {
        Ok(())
    } else {
        Err(CodegenError::Isa(format!(
            "{what} lacks AVX and FMA (x86-64-v3), which rnnc's kernels need: without them \
             every fused multiply-add would become a call to fmaf"
        )))
    }
}
