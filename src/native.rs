//! The one module that calls native code. All of rnnc's `unsafe` is here.
//!
//! Invariants a reader must keep:
//! 1. The function pointers come from a finalized `JITModule` owned by the same
//!    [`NativeKernels`] value and freed only when it drops, so they are valid whenever they
//!    can be called; their Cranelift signatures (`rnnc_codegen::translate::signature`, the
//!    ISA's default calling convention, which is the C convention of this platform) match
//!    `PackFn` and `ForwardFn`.
//! 2. Native code is called only through [`NativeKernels::pack`] and
//!    [`NativeKernels::forward`], which check every slice length against the sizes the
//!    kernels were compiled for (element type included) before the call. Under those
//!    lengths, every access of the kernels is in bounds: the interpreter executes the same
//!    IR with bounds checks on every access, and the equivalence tests run both.
//! 3. Kernels keep no state between calls and write only through the `output`, `h_n`,
//!    `work` and `packed` pointers they are given, so one `NativeKernels` may be called from
//!    many threads at once (`Sync`), each with its own mutable buffers; Rust's borrows make
//!    those buffers disjoint.

use rnnc_codegen::JitCode;
use rnnc_ir::Size;
use rnnc_spec::{DType, Element};

/// `NAME_pack(const T *const params[], T *packed)`.
type PackFn = unsafe extern "C" fn(*const *const u8, *mut u8);
/// `NAME_forward(weights, input, h0, lengths, output, h_n, work, seq_len, batch)`.
type ForwardFn = unsafe extern "C" fn(
    *const u8,
    *const u8,
    *const u8,
    *const i64,
    *mut u8,
    *mut u8,
    *mut u8,
    i64,
    i64,
);

/// The sizes the kernels were compiled for: what every call is checked against.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct KernelShape {
    pub dtype: DType,
    /// Elements of each torch parameter, in `state_dict` order.
    pub param_lens: Vec<usize>,
    pub packed_len: usize,
    pub input_size: usize,
    pub hidden_size: usize,
    pub output_size: usize,
    /// `D * num_layers`.
    pub num_states: usize,
    pub work: Size,
}

/// The arguments of one forward call, as slices (row-major, torch's layouts).
pub(crate) struct ForwardArgs<'a, T> {
    pub packed: &'a [T],
    pub input: &'a [T],
    pub h0: Option<&'a [T]>,
    pub lengths: Option<&'a [i64]>,
    pub output: &'a mut [T],
    pub h_n: &'a mut [T],
    pub work: &'a mut [T],
    pub seq_len: usize,
    pub batch: usize,
}

/// A size check that failed right before a native call: a bug in rnnc's runtime, which
/// checks user arguments earlier and with better messages.
#[derive(Debug, thiserror::Error)]
#[error("native call refused: {0}")]
pub(crate) struct Refused(String);

/// Compiled `pack` and `forward` of one model.
pub(crate) struct NativeKernels {
    /// Owns the code; `None` only while dropping.
    module: Option<cranelift_jit::JITModule>,
    pack: PackFn,
    forward: ForwardFn,
    shape: KernelShape,
}

// SAFETY: the code is immutable once finalized and kernels keep no state (invariant 3);
// the JIT module is touched again only by `drop`, which has `&mut self`.
unsafe impl Send for NativeKernels {}
// SAFETY: as above; `&self` methods only read `pack`, `forward` and `shape`.
unsafe impl Sync for NativeKernels {}

impl NativeKernels {
    pub fn new(code: JitCode, shape: KernelShape) -> NativeKernels {
        // SAFETY: the pointers are the finalized entry points of functions declared with
        // exactly these signatures (invariant 1), and `module`, which owns them, moves
        // into the same value.
        let (pack, forward) = unsafe {
            (
                std::mem::transmute::<*const u8, PackFn>(code.pack),
                std::mem::transmute::<*const u8, ForwardFn>(code.forward),
            )
        };
        NativeKernels {
            module: Some(code.module),
            pack,
            forward,
            shape,
        }
    }

    fn check_dtype<T: Element>(&self) -> Result<(), Refused> {
        if T::DTYPE == self.shape.dtype {
            Ok(())
        } else {
            Err(Refused(format!(
                "{} data for {} kernels",
                T::DTYPE,
                self.shape.dtype
            )))
        }
    }

    /// Packs torch-layout parameters into `packed`.
    pub fn pack<T: Element>(&self, params: &[&[T]], packed: &mut [T]) -> Result<(), Refused> {
        self.check_dtype::<T>()?;
        let lens: Vec<usize> = params.iter().map(|p| p.len()).collect();
        if lens != self.shape.param_lens || packed.len() != self.shape.packed_len {
            return Err(Refused(format!(
                "pack with parameter lengths {lens:?} and {} packed elements; compiled for {:?} and {}",
                packed.len(),
                self.shape.param_lens,
                self.shape.packed_len
            )));
        }
        let pointers: Vec<*const u8> = params.iter().map(|p| p.as_ptr().cast()).collect();
        // SAFETY: every parameter and the packed buffer have exactly the lengths the
        // kernel was compiled for (checked above, invariant 2); `pointers` outlives the
        // call.
        unsafe { (self.pack)(pointers.as_ptr(), packed.as_mut_ptr().cast()) };
        Ok(())
    }

    /// Runs the forward pass.
    pub fn forward<T: Element>(&self, a: ForwardArgs<'_, T>) -> Result<(), Refused> {
        self.check_dtype::<T>()?;
        let s = &self.shape;
        let (l, n) = (a.seq_len, a.batch);
        let product = |dims: &[usize]| dims.iter().try_fold(1usize, |p, &d| p.checked_mul(d));
        let expect = |what: &str, got: usize, want: Option<usize>| -> Result<(), Refused> {
            if Some(got) == want {
                Ok(())
            } else {
                Err(Refused(format!(
                    "{what} has {got} elements, expected {want:?}"
                )))
            }
        };
        if l == 0 || i64::try_from(l).is_err() || i64::try_from(n).is_err() {
            return Err(Refused(format!("seq_len {l}, batch {n}")));
        }
        expect("packed weights", a.packed.len(), Some(s.packed_len))?;
        expect("input", a.input.len(), product(&[l, n, s.input_size]))?;
        if let Some(h0) = a.h0 {
            expect("h0", h0.len(), product(&[s.num_states, n, s.hidden_size]))?;
        }
        if let Some(lengths) = a.lengths {
            expect("lengths", lengths.len(), Some(n))?;
            if let Some(bad) = lengths.iter().find(|&&len| len < 1 || len as usize > l) {
                return Err(Refused(format!("length {bad} outside 1..={l}")));
            }
        }
        expect("output", a.output.len(), product(&[l, n, s.output_size]))?;
        expect(
            "h_n",
            a.h_n.len(),
            product(&[s.num_states, n, s.hidden_size]),
        )?;
        let work = s
            .work
            .eval(l as u64, n as u64)
            .and_then(|w| usize::try_from(w).ok());
        if work.is_none_or(|w| a.work.len() < w) {
            return Err(Refused(format!(
                "workspace of {} elements, need {work:?}",
                a.work.len()
            )));
        }
        let null = std::ptr::null::<u8>();
        // SAFETY: every buffer has the length the kernel reads or writes for this
        // `seq_len` and `batch` (checked above, invariant 2); `output`, `h_n` and `work`
        // are exclusive borrows, so no other code touches them during the call.
        unsafe {
            (self.forward)(
                a.packed.as_ptr().cast(),
                a.input.as_ptr().cast(),
                a.h0.map_or(null, |h| h.as_ptr().cast()),
                a.lengths.map_or(std::ptr::null(), |l| l.as_ptr()),
                a.output.as_mut_ptr().cast(),
                a.h_n.as_mut_ptr().cast(),
                a.work.as_mut_ptr().cast(),
                l as i64,
                n as i64,
            )
        };
        Ok(())
    }
}

impl Drop for NativeKernels {
    fn drop(&mut self) {
        if let Some(module) = self.module.take() {
            // SAFETY: the pointers into this memory live only in `self`, which is going
            // away; no call can be running, since calls borrow `self`.
            unsafe { module.free_memory() };
        }
    }
}
