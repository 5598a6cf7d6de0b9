//! Which machine code is emitted for: the host (JIT) or a target triple (object files).
//!
//! Kernels use vectors of their target's width ([`target_for`]: 128-bit, or 256-bit on
//! x86-64 with AVX2) and fused multiply-add. On x86-64, Cranelift lowers `fma` to
//! `vfmadd` only when both `has_avx` and `has_fma` are set; otherwise every `fma` becomes
//! calls to `fmaf`, which kernels must never make. So the host ISA must have both (an error
//! says so plainly), and cross targets get both enabled explicitly, since Cranelift's named
//! CPU presets do not set `has_avx`.

use std::str::FromStr;
use std::sync::Arc;

use cranelift_codegen::isa::{self, OwnedTargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use rnnc_kernel::Target;
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
    let mut set = |name: &'static str, value: &'static str| {
        flags
            .set(name, value)
            .map_err(|source| CodegenError::Setting {
                name,
                value,
                source,
            })
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
    const HOST: &str = "this machine";
    let builder =
        cranelift_native::builder().map_err(|reason| CodegenError::UnsupportedHost { reason })?;
    let isa = builder
        .finish(shared_flags(opt, false)?)
        .map_err(|source| CodegenError::Isa {
            isa: HOST.into(),
            source,
        })?;
    check_fma(&isa, HOST)?;
    Ok(isa)
}

/// The target of JIT code for this machine: [`target_for`] the host ISA.
pub fn host_target(vector_bits: Option<u32>) -> Result<Target, CodegenError> {
    target_for(&*host_isa(OptLevel::None)?, vector_bits)
}

/// This machine's target triple, e.g. `x86_64-unknown-linux-gnu`.
pub fn host_triple() -> String {
    target_lexicon::HOST.to_string()
}

/// The x86-64 CPU an object file is compiled for (`rnnc SPEC --cpu`): which instruction
/// set extensions its code may use, and so which CPUs run it. Objects for other
/// architectures take none (aarch64: NEON, which every AArch64 CPU has).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Cpu {
    /// x86-64-v3 (AVX, AVX2, FMA, BMI1, BMI2: Intel Haswell, AMD Zen and later): 256-bit
    /// vectors.
    #[default]
    X86_64V3,
    /// The CPU of the machine compiling: every extension of [`X86_FEATURES`] it has.
    Native,
}

impl Cpu {
    /// The names `--cpu` takes.
    pub const NAMES: [&'static str; 3] = ["x86-64-v2", "x86-64-v3", "native"];

    /// As `--cpu` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Cpu::X86_64V3 => "x86-64-v3",
            Cpu::Native => "native",
        }
    }
}

impl FromStr for Cpu {
    type Err = CodegenError;
    fn from_str(text: &str) -> Result<Cpu, CodegenError> {
        let refuse = |reason: String| CodegenError::Cpu {
            asked: text.into(),
            reason,
        };
        match text {
            "x86-64-v3" => Ok(Cpu::X86_64V3),
            "native" => Ok(Cpu::Native),
            "x86-64-v2" | "x86-64" => Err(refuse(
                "it lacks AVX and FMA, which every rnnc kernel needs (its multiply-adds \
                 would become calls to fmaf); the oldest level rnnc compiles for is x86-64-v3"
                    .into(),
            )),
            "x86-64-v4" => Err(refuse(
                "rnnc's Cranelift does not emit AVX-512 code yet; x86-64-v3 runs on every \
                 x86-64-v4 CPU"
                    .into(),
            )),
            _ => Err(refuse(format!("the CPUs are {}", Cpu::NAMES.join(", ")))),
        }
    }
}

/// The x86-64 extensions an object's code may use, as Cranelift's ISA flag and the name
/// GCC's and Clang's `__builtin_cpu_supports` know it by: an object enables exactly those
/// of its [`Cpu`], and its header's `NAME_cpu_supported()` checks exactly those. The first
/// ten are x86-64-v3 as rnnc compiles it (LZCNT, which x86-64-v3 also has, is left off:
/// kernels count no leading zeros, and not every compiler's builtin knows it).
pub const X86_FEATURES: [(&str, &str); 16] = [
    ("has_sse3", "sse3"),
    ("has_ssse3", "ssse3"),
    ("has_sse41", "sse4.1"),
    ("has_sse42", "sse4.2"),
    ("has_popcnt", "popcnt"),
    ("has_avx", "avx"),
    ("has_avx2", "avx2"),
    ("has_fma", "fma"),
    ("has_bmi1", "bmi"),
    ("has_bmi2", "bmi2"),
    ("has_avx512f", "avx512f"),
    ("has_avx512vl", "avx512vl"),
    ("has_avx512dq", "avx512dq"),
    ("has_avx512bitalg", "avx512bitalg"),
    ("has_avx512vbmi", "avx512vbmi"),
    ("has_avx512vnni", "avx512vnni"),
];

/// The extensions of x86-64-v3, the first of [`X86_FEATURES`].
const X86_64_V3: usize = 10;

/// The [`X86_FEATURES`] `isa` enables, by their builtin names (none for other
/// architectures).
pub fn cpu_features(isa: &dyn isa::TargetIsa) -> Vec<&'static str> {
    X86_FEATURES
        .iter()
        .filter(|(flag, _)| has_flag(isa, flag))
        .map(|&(_, name)| name)
        .collect()
}

/// The ISA of a target triple such as `x86_64-unknown-linux-gnu` or
/// `aarch64-unknown-linux-gnu`, for object files (position-independent code); x86-64 code
/// for `cpu`.
pub fn target_isa(triple: &str, cpu: Cpu, opt: OptLevel) -> Result<OwnedTargetIsa, CodegenError> {
    let parsed = Triple::from_str(triple).map_err(|reason| CodegenError::NotATriple {
        triple: triple.into(),
        reason,
    })?;
    match parsed.architecture {
        Architecture::X86_64 | Architecture::Aarch64(_) => {}
        architecture => {
            return Err(CodegenError::UnsupportedArchitecture {
                triple: triple.into(),
                architecture,
            });
        }
    }
    if parsed.binary_format != BinaryFormat::Elf
        && parsed.binary_format != BinaryFormat::Macho
        && parsed.binary_format != BinaryFormat::Coff
    {
        return Err(CodegenError::UnsupportedFormat {
            triple: triple.into(),
            format: parsed.binary_format,
        });
    }
    if matches!(parsed.operating_system, OperatingSystem::Unknown)
        && parsed.binary_format != BinaryFormat::Elf
    {
        return Err(CodegenError::UnknownOperatingSystem {
            triple: triple.into(),
        });
    }
    let mut builder = isa::lookup(parsed.clone()).map_err(|source| CodegenError::NoBackend {
        triple: triple.into(),
        source,
    })?;
    match (parsed.architecture, cpu) {
        (Architecture::X86_64, _) => {
            // Named presets leave has_avx off: set each flag, on or off, from the table.
            let enabled: Vec<&str> = match cpu {
                Cpu::X86_64V3 => X86_FEATURES[..X86_64_V3].iter().map(|f| f.0).collect(),
                Cpu::Native => {
                    if target_lexicon::HOST.architecture != Architecture::X86_64 {
                        return Err(CodegenError::Cpu {
                            asked: cpu.name().into(),
                            reason: format!(
                                "this machine is {}, not x86-64: name an x86-64 CPU level",
                                target_lexicon::HOST.architecture
                            ),
                        });
                    }
                    let host = host_isa(opt)?;
                    X86_FEATURES
                        .iter()
                        .map(|f| f.0)
                        .filter(|flag| has_flag(&*host, flag))
                        .collect()
                }
            };
            for &(flag, _) in &X86_FEATURES {
                let value = if enabled.contains(&flag) {
                    "true"
                } else {
                    "false"
                };
                builder
                    .set(flag, value)
                    .map_err(|source| CodegenError::Setting {
                        name: flag,
                        value,
                        source,
                    })?;
            }
        }
        (_, Cpu::X86_64V3) => {}
        (architecture, Cpu::Native) => {
            return Err(CodegenError::Cpu {
                asked: cpu.name().into(),
                reason: format!(
                    "CPU levels are for x86-64 objects; {architecture} objects use NEON, which \
                     every AArch64 CPU has"
                ),
            });
        }
    }
    let isa = builder
        .finish(shared_flags(opt, true)?)
        .map_err(|source| CodegenError::Isa {
            isa: triple.into(),
            source,
        })?;
    check_fma(&isa, triple)?;
    Ok(isa)
}

/// The environment variable that sets the vector width (`128` or `256`) wherever the
/// options leave it open: the JIT's `CompileOptions`, the CLI without `--vector-bits`,
/// Python's `rnnc.compile`. It makes every width testable on a machine that has it.
pub const VECTOR_BITS_ENV: &str = "RNNC_VECTOR_BITS";

/// The widest target code for `isa` may use: on x86-64 with AVX2 (besides the AVX and FMA
/// that every kernel needs) 256-bit vectors, else 128-bit, in 16 registers (xmm16-31 and
/// zmm need AVX-512, which the vendored Cranelift does not allocate); on aarch64 NEON's
/// 128-bit vectors in 32 registers.
pub fn widest_target(isa: &dyn isa::TargetIsa) -> Target {
    match isa.triple().architecture {
        Architecture::X86_64 if has_flag(isa, "has_avx2") => Target::V256,
        Architecture::X86_64 => Target::V128,
        _ => Target::NEON,
    }
}

/// The target of the code rnnc emits for `isa`: `vector_bits` wide when given, else as
/// [`VECTOR_BITS_ENV`] says when it is set, else [`widest_target`]. A width rnnc does not
/// emit, or wider than the ISA has, is an error that says which widths there are.
pub fn target_for(
    isa: &dyn isa::TargetIsa,
    vector_bits: Option<u32>,
) -> Result<Target, CodegenError> {
    let widest = widest_target(isa);
    let (bits, asked) = match vector_bits {
        Some(bits) => (bits, format!("{bits}-bit vectors")),
        None => match std::env::var(VECTOR_BITS_ENV) {
            Ok(text) => {
                let asked = format!("{VECTOR_BITS_ENV}={text}");
                match text.trim().parse::<u32>() {
                    Ok(bits) => (bits, asked),
                    Err(_) => {
                        return Err(CodegenError::VectorWidth {
                            asked,
                            reason: format!("expected a number of bits: {}", widths(widest)),
                        });
                    }
                }
            }
            Err(_) => return Ok(widest),
        },
    };
    let target =
        Target::new(bits, widest.vector_registers).map_err(|_| CodegenError::VectorWidth {
            asked: asked.clone(),
            reason: format!("rnnc does not emit {bits}-bit vectors; {}", widths(widest)),
        })?;
    check_target(isa, target).map_err(|e| match e {
        CodegenError::VectorWidth { reason, .. } => CodegenError::VectorWidth { asked, reason },
        other => other,
    })?;
    Ok(target)
}

/// Refuses a target wider than `isa` has (more bits or registers than [`widest_target`]):
/// code for it would fault, or not compile, on that ISA.
pub fn check_target(isa: &dyn isa::TargetIsa, target: Target) -> Result<(), CodegenError> {
    let widest = widest_target(isa);
    if target.vector_bits <= widest.vector_bits
        && target.vector_registers <= widest.vector_registers
    {
        return Ok(());
    }
    let needs = match isa.triple().architecture {
        Architecture::X86_64 if target.vector_bits == 256 => " (256-bit code needs AVX2)",
        _ => "",
    };
    Err(CodegenError::VectorWidth {
        asked: format!(
            "{}-bit vectors in {} registers",
            target.vector_bits, target.vector_registers
        ),
        reason: format!(
            "{} has at most {}-bit vectors in {} registers{needs}",
            isa.triple(),
            widest.vector_bits,
            widest.vector_registers
        ),
    })
}

/// The widths an ISA whose widest target is `widest` offers, for error messages.
fn widths(widest: Target) -> String {
    let offered: Vec<String> = Target::VECTOR_BITS
        .iter()
        .filter(|&&bits| bits <= widest.vector_bits)
        .map(u32::to_string)
        .collect();
    format!("this target has {}-bit vectors", offered.join("- or "))
}

fn has_flag(isa: &dyn isa::TargetIsa, name: &str) -> bool {
    isa.isa_flags()
        .iter()
        .any(|f| f.name == name && f.as_bool() == Some(true))
}

/// Refuses an x86-64 ISA without AVX and FMA: its `fma` would become libcalls.
fn check_fma(isa: &Arc<dyn isa::TargetIsa>, what: &str) -> Result<(), CodegenError> {
    if isa.triple().architecture != Architecture::X86_64 {
        return Ok(());
    }
    let missing: Vec<&'static str> = [("has_avx", "AVX"), ("has_fma", "FMA")]
        .into_iter()
        .filter(|(flag, _)| !has_flag(&**isa, flag))
        .map(|(_, feature)| feature)
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(CodegenError::MissingFeatures {
            isa: what.into(),
            missing,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target_error(triple: &str) -> CodegenError {
        match target_isa(triple, Cpu::default(), OptLevel::None) {
            Ok(_) => panic!("{triple} was accepted"),
            Err(e) => e,
        }
    }

    /// Triples rnnc cannot emit are the user's errors, which say what was found.
    #[test]
    fn unsupported_triples_say_what_they_found() {
        let e = target_error("wasm99-unknown-none");
        assert!(matches!(e, CodegenError::NotATriple { .. }), "{e:?}");
        assert!(
            e.to_string()
                .starts_with("`wasm99-unknown-none` is not a target triple ("),
            "{e}"
        );
        let e = target_error("riscv64gc-unknown-linux-gnu");
        assert!(
            matches!(&e, CodegenError::UnsupportedArchitecture { triple, architecture: Architecture::Riscv64(_) } if triple == "riscv64gc-unknown-linux-gnu"),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "`riscv64gc-unknown-linux-gnu`: architecture riscv64gc is not supported; rnnc emits x86_64 and aarch64"
        );
        let e = target_error("x86_64-unknown-unknown-wasm");
        assert!(
            matches!(
                e,
                CodegenError::UnsupportedFormat {
                    format: BinaryFormat::Wasm,
                    ..
                }
            ),
            "{e:?}"
        );
        let e = target_error("aarch64-unknown-unknown-macho");
        assert!(
            matches!(e, CodegenError::UnknownOperatingSystem { .. }),
            "{e:?}"
        );
    }

    /// x86-64 targets (x86-64-v3) offer 128- and 256-bit vectors in 16 registers, aarch64
    /// 128-bit ones in 32; anything else is refused, saying what there is.
    #[test]
    fn targets_offer_their_widths_and_no_more() {
        let x86 = target_isa("x86_64-unknown-linux-gnu", Cpu::default(), OptLevel::None).unwrap();
        let arm = target_isa("aarch64-unknown-linux-gnu", Cpu::default(), OptLevel::None).unwrap();
        assert_eq!(widest_target(&*x86), Target::V256);
        assert_eq!(widest_target(&*arm), Target::NEON);
        assert_eq!(target_for(&*x86, Some(128)).unwrap(), Target::V128);
        assert_eq!(target_for(&*x86, Some(256)).unwrap(), Target::V256);
        assert_eq!(target_for(&*arm, Some(128)).unwrap(), Target::NEON);
        assert_eq!(
            target_for(&*arm, Some(256)).unwrap_err().to_string(),
            "256-bit vectors: aarch64-unknown-linux-gnu has at most 128-bit vectors in 32 \
             registers"
        );
        assert_eq!(
            target_for(&*x86, Some(512)).unwrap_err().to_string(),
            "512-bit vectors: rnnc does not emit 512-bit vectors; this target has 128- or \
             256-bit vectors"
        );
        let e = check_target(&*x86, Target::new(128, 32).unwrap()).unwrap_err();
        assert!(
            e.to_string()
                .contains("at most 256-bit vectors in 16 registers"),
            "{e}"
        );
    }

    /// An x86-64 ISA without AVX and FMA is refused, naming what it lacks.
    #[test]
    fn isas_without_fma_are_refused() {
        let triple = "x86_64-unknown-linux-gnu";
        let isa = isa::lookup(Triple::from_str(triple).unwrap())
            .unwrap()
            .finish(shared_flags(OptLevel::None, true).unwrap())
            .unwrap();
        let e = check_fma(&isa, triple).unwrap_err();
        assert!(
            matches!(&e, CodegenError::MissingFeatures { missing, .. } if *missing == ["AVX", "FMA"]),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "x86_64-unknown-linux-gnu lacks AVX and FMA: rnnc's kernels need AVX and FMA \
             (x86-64-v3); without them every fused multiply-add would become a call to fmaf"
        );
        check_fma(
            &target_isa(triple, Cpu::default(), OptLevel::None).unwrap(),
            triple,
        )
        .unwrap();
    }
}
