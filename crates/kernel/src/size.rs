//! Sizes that depend on a call's shape: `LN*a + N*b + c` elements.
//!
//! Kernels are specialized for a model's sizes but not for a call's sequence length `L`
//! or batch `N`; buffers whose length depends on them (the workspace, its regions) are
//! measured by this affine form in `LN = L * N` and `N`.

use std::fmt;

/// `ln * (L * N) + n * N + c` elements.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Size {
    /// Elements per (time step, sequence) pair.
    pub ln: u64,
    /// Elements per sequence.
    pub n: u64,
    /// Fixed elements.
    pub c: u64,
}

impl Size {
    /// A size independent of the call.
    pub const fn fixed(c: u64) -> Size {
        Size { ln: 0, n: 0, c }
    }

    /// The element count for a call of `seq_len` steps and `batch` sequences, if it fits.
    pub fn eval(self, seq_len: u64, batch: u64) -> Option<u64> {
        let ln = seq_len.checked_mul(batch)?;
        self.ln
            .checked_mul(ln)?
            .checked_add(self.n.checked_mul(batch)?)?
            .checked_add(self.c)
    }

    /// Whether it is the same for every call.
    pub fn is_fixed(self) -> bool {
        self.ln == 0 && self.n == 0
    }

    /// Sum of two sizes.
    pub fn plus(self, other: Size) -> Size {
        Size {
            ln: self.ln + other.ln,
            n: self.n + other.n,
            c: self.c + other.c,
        }
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut terms = Vec::new();
        if self.ln != 0 {
            terms.push(format!("LN*{}", self.ln));
        }
        if self.n != 0 {
            terms.push(format!("N*{}", self.n));
        }
        if self.c != 0 || terms.is_empty() {
            terms.push(self.c.to_string());
        }
        f.write_str(&terms.join(" + "))
    }
}

impl std::str::FromStr for Size {
    type Err = String;
    fn from_str(s: &str) -> Result<Size, String> {
        let mut size = Size::default();
        for term in s.split('+').map(str::trim) {
            let number = |t: &str| {
                t.parse::<u64>()
                    .map_err(|_| format!("bad size term `{term}` in `{s}`"))
            };
            if let Some(k) = term.strip_prefix("LN*") {
                size.ln += number(k)?;
            } else if let Some(k) = term.strip_prefix("N*") {
                size.n += number(k)?;
            } else {
                size.c += number(term)?;
            }
        }
        Ok(size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_print_parse_and_evaluate() {
        let s = Size {
            ln: 24,
            n: 8,
            c: 16,
        };
        assert_eq!(s.to_string(), "LN*24 + N*8 + 16");
        assert_eq!(s.to_string().parse::<Size>().unwrap(), s);
        assert_eq!(Size::fixed(0).to_string(), "0");
        assert_eq!("0".parse::<Size>().unwrap(), Size::fixed(0));
        assert_eq!(s.eval(5, 3), Some(24 * 15 + 24 + 16));
        assert_eq!(s.eval(u64::MAX, 2), None);
    }
}
