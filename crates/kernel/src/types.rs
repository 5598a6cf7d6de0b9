//! Value types of the kernel IR: a scalar kind and a lane count.

use std::fmt;

/// The kind of one lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scalar {
    /// 64-bit integer: indices, counts, lengths, and the bits of f64 lanes.
    I64,
    /// IEEE binary32.
    F32,
    /// IEEE binary64.
    F64,
}

impl Scalar {
    /// Bytes per lane.
    pub fn bytes(self) -> u32 {
        match self {
            Scalar::F32 => 4,
            Scalar::I64 | Scalar::F64 => 8,
        }
    }

    /// Whether lanes are floating point.
    pub fn is_float(self) -> bool {
        !matches!(self, Scalar::I64)
    }

    /// Its name in the text form.
    pub fn name(self) -> &'static str {
        match self {
            Scalar::I64 => "i64",
            Scalar::F32 => "f32",
            Scalar::F64 => "f64",
        }
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Most lanes a value may have: wide vectors exist between lowering and legalization.
pub const MAX_LANES: u16 = 256;

/// The type of a register: `f32`, `f32x4`, `f64x2`, `i64`, or before legalization any
/// width such as `f32x32` (a register block) or `f32x5` (a block with a tail).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Type {
    /// Kind of each lane.
    pub scalar: Scalar,
    /// Number of lanes, 1 to [`MAX_LANES`].
    pub lanes: u16,
}

impl Type {
    /// A one-lane type.
    pub const fn scalar(scalar: Scalar) -> Type {
        Type { scalar, lanes: 1 }
    }
    /// A vector type.
    pub const fn vector(scalar: Scalar, lanes: u16) -> Type {
        Type { scalar, lanes }
    }
    /// The 64-bit integer scalar.
    pub const I64: Type = Type::scalar(Scalar::I64);
    /// Whether this has one lane.
    pub fn is_scalar(self) -> bool {
        self.lanes == 1
    }
    /// Total bits.
    pub fn bits(self) -> u32 {
        self.scalar.bytes() * 8 * self.lanes as u32
    }
    /// Same scalar kind, another lane count.
    pub fn with_lanes(self, lanes: u16) -> Type {
        Type { lanes, ..self }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lanes == 1 {
            write!(f, "{}", self.scalar)
        } else {
            write!(f, "{}x{}", self.scalar, self.lanes)
        }
    }
}

impl std::str::FromStr for Type {
    type Err = String;
    fn from_str(s: &str) -> Result<Type, String> {
        let (scalar, lanes) = match s.split_once('x') {
            Some((scalar, lanes)) => {
                let lanes: u16 = lanes
                    .parse()
                    .map_err(|_| format!("bad lane count in type `{s}`"))?;
                (scalar, lanes)
            }
            None => (s, 1),
        };
        let scalar = match scalar {
            "i64" => Scalar::I64,
            "f32" => Scalar::F32,
            "f64" => Scalar::F64,
            _ => return Err(format!("unknown type `{s}`")),
        };
        if lanes == 0 || lanes > MAX_LANES {
            return Err(format!("type `{s}` must have 1 to {MAX_LANES} lanes"));
        }
        Ok(Type { scalar, lanes })
    }
}

/// What the code rnnc emits may use: the width of a machine vector and how many vector
/// registers the register blocks may fill.
///
/// Invariant: `vector_bits` is one of [`Target::VECTOR_BITS`] and `vector_registers` one of
/// [`Target::VECTOR_REGISTERS`]; [`Target::new`] checks both, and the text forms parse
/// through it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    /// Bits of one machine vector register.
    pub vector_bits: u32,
    /// Vector registers the code may use: 16 on x86-64 without AVX-512, 32 on aarch64.
    pub vector_registers: u32,
}

impl Target {
    /// 128-bit vectors, 16 registers: SSE/AVX xmm0-15 on x86-64.
    pub const V128: Target = Target {
        vector_bits: 128,
        vector_registers: 16,
    };
    /// 256-bit vectors, 16 registers: AVX2 ymm0-15 on x86-64.
    pub const V256: Target = Target {
        vector_bits: 256,
        vector_registers: 16,
    };
    /// 128-bit vectors, 32 registers: NEON v0-v31 on aarch64.
    pub const NEON: Target = Target {
        vector_bits: 128,
        vector_registers: 32,
    };
    /// The vector widths rnnc emits code for.
    pub const VECTOR_BITS: [u32; 2] = [128, 256];
    /// The register counts a target may have.
    pub const VECTOR_REGISTERS: [u32; 2] = [16, 32];

    /// A target of `vector_bits`-bit vectors and `vector_registers` registers, or what is
    /// wrong with them.
    pub fn new(vector_bits: u32, vector_registers: u32) -> Result<Target, String> {
        if !Target::VECTOR_BITS.contains(&vector_bits) {
            return Err(format!(
                "vector width {vector_bits}: rnnc emits {}-bit vectors",
                join(&Target::VECTOR_BITS, " or ")
            ));
        }
        if !Target::VECTOR_REGISTERS.contains(&vector_registers) {
            return Err(format!(
                "{vector_registers} vector registers: a target has {}",
                join(&Target::VECTOR_REGISTERS, " or ")
            ));
        }
        Ok(Target {
            vector_bits,
            vector_registers,
        })
    }

    /// Lanes of a machine vector of `scalar`: at 128 bits 4 for f32, 2 for f64.
    pub fn lanes(self, scalar: Scalar) -> u16 {
        (self.vector_bits / (scalar.bytes() * 8)) as u16
    }
}

fn join(values: &[u32], sep: &str) -> String {
    values
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(sep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_print_and_parse() {
        for s in ["i64", "f32", "f64x2", "f32x4", "f32x32", "f64x5"] {
            assert_eq!(s.parse::<Type>().unwrap().to_string(), s);
        }
        assert!("f32x0".parse::<Type>().is_err());
        assert!("f16".parse::<Type>().is_err());
        assert!("f32x9999".parse::<Type>().is_err());
        assert_eq!(Target::V128.lanes(Scalar::F32), 4);
        assert_eq!(Target::V128.lanes(Scalar::F64), 2);
        assert_eq!(Target::V256.lanes(Scalar::F32), 8);
        assert_eq!(Target::V256.lanes(Scalar::F64), 4);
        assert_eq!(Target::new(256, 16), Ok(Target::V256));
        assert_eq!(Target::new(128, 32), Ok(Target::NEON));
        let e = Target::new(512, 16).unwrap_err();
        assert!(e.contains("512") && e.contains("128 or 256-bit"), "{e}");
        let e = Target::new(128, 8).unwrap_err();
        assert!(
            e.contains("8 vector registers") && e.contains("16 or 32"),
            "{e}"
        );
    }
}
