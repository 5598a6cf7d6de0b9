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
//! 4. The threads of one multi-threaded call share that call's buffers. Within a phase of
//!    the schedule, the parts write disjoint elements and read none that another part
//!    writes in the same phase (the lowering partitions rows by panels and chunks; the
//!    interpreter runs the same schedule part by part, reports any element that two parts
//!    touch in one phase when one of them writes it, and must agree bit for bit); a
//!    `SpinBarrier` separates phases and steps, and its release/acquire atomics order the
//!    kernels' stores before the next phase's loads. The caller's exclusive borrows of the
//!    buffers last until every thread has joined.

use rnnc_codegen::JitCode;
use rnnc_kernel::{Phase, Size};
use rnnc_spec::{DType, Element};

use crate::workers::{Member, Workers};

/// `NAME_pack(const T *const params[], T *packed)`.
type PackFn = unsafe extern "C" fn(*const *const u8, *mut u8);
/// `int NAME_forward(weights, input, h0, lengths, output, h_n, work, seq_len, batch)`,
/// returning a `rnnc_codegen::Status` code.
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
) -> i32;

/// A phase function: `forward`'s arguments, then the step `n`, `part` and `parts`.
type PhaseFn = unsafe extern "C" fn(
    *const u8,
    *const u8,
    *const u8,
    *const i64,
    *mut u8,
    *mut u8,
    *mut u8,
    i64,
    i64,
    i64,
    i64,
    i64,
);

/// A phase of the schedule with its functions resolved.
#[derive(Clone, Copy)]
enum PhaseOf<F> {
    All(F),
    One(F),
    /// Per step, and all steps in one call.
    Steps(F, F),
    Pair(F, F),
}

/// The arguments of one call as raw pointers, for the threads that share it (invariant 4).
#[derive(Clone, Copy)]
struct RawArgs {
    packed: *const u8,
    input: *const u8,
    h0: *const u8,
    lengths: *const i64,
    output: *mut u8,
    h_n: *mut u8,
    work: *mut u8,
    seq_len: i64,
    batch: i64,
}

// SAFETY: the pointers are the checked buffers of one call, exclusively borrowed until all
// threads have joined; the threads' accesses through them are disjoint within a phase and
// ordered by barriers across phases (invariant 4).
unsafe impl Send for RawArgs {}
// SAFETY: as above.
unsafe impl Sync for RawArgs {}

impl RawArgs {
    /// SAFETY: the caller upholds invariants 2 and 4 for `f` and this share.
    unsafe fn phase(&self, f: PhaseFn, n: i64, part: usize, parts: usize) {
        // SAFETY: delegated to the caller.
        unsafe {
            f(
                self.packed,
                self.input,
                self.h0,
                self.lengths,
                self.output,
                self.h_n,
                self.work,
                self.seq_len,
                self.batch,
                n,
                part as i64,
                parts as i64,
            )
        }
    }
}

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

/// Compiled `pack`, `forward` and a schedule's phase functions of one model, with the
/// workers of its multi-threaded calls.
pub(crate) struct NativeKernels {
    /// Owns the code; `None` only while dropping.
    module: Option<cranelift_jit::JITModule>,
    pack: PackFn,
    entry: Entry,
    shape: KernelShape,
    /// The workers of calls with several threads (a schedule and `threads > 1`), stopped
    /// in `drop` before the code they run is freed.
    workers: Option<Workers<RawArgs>>,
}

/// How a forward pass runs: one function, or a schedule's phases (one thread runs them all
/// one after the other).
enum Entry {
    Forward(ForwardFn),
    Schedule(Vec<PhaseOf<PhaseFn>>),
}

// SAFETY: the code is immutable once finalized and kernels keep no state (invariant 3);
// the JIT module is touched again only by `drop`, which has `&mut self`.
unsafe impl Send for NativeKernels {}
// SAFETY: as above; `&self` methods only read `pack`, `entry` and `shape`.
unsafe impl Sync for NativeKernels {}

impl NativeKernels {
    /// Takes ownership of the code; `schedule` is the module's (empty: it has `forward`);
    /// with a schedule, starts the workers of calls of up to `threads` threads.
    pub fn new(
        code: JitCode,
        schedule: &[Phase],
        shape: KernelShape,
        threads: usize,
    ) -> Result<NativeKernels, Refused> {
        let entries: std::collections::HashMap<&str, *const u8> =
            code.entries.iter().map(|(n, p)| (n.as_str(), *p)).collect();
        let pointer = |name: &str| {
            entries
                .get(name)
                .copied()
                .ok_or_else(|| Refused(format!("no compiled function @{name}")))
        };
        // SAFETY (all transmutes): the pointers are finalized entry points of functions
        // declared with exactly these signatures (invariant 1: `pack` takes a pointer
        // array, `forward` the forward arguments, phase functions those and three i64),
        // and `module`, which owns them, moves into the same value.
        let phase = |name: &str| -> Result<PhaseFn, Refused> {
            Ok(unsafe { std::mem::transmute::<*const u8, PhaseFn>(pointer(name)?) })
        };
        let entry = if schedule.is_empty() {
            Entry::Forward(unsafe {
                std::mem::transmute::<*const u8, ForwardFn>(pointer("forward")?)
            })
        } else {
            let phases = schedule
                .iter()
                .map(|p| {
                    Ok(match p {
                        Phase::All(f) => PhaseOf::All(phase(f)?),
                        Phase::One(f) => PhaseOf::One(phase(f)?),
                        Phase::Steps(f, g) => PhaseOf::Steps(phase(f)?, phase(g)?),
                        Phase::Pair(f, g) => PhaseOf::Pair(phase(f)?, phase(g)?),
                    })
                })
                .collect::<Result<Vec<_>, Refused>>()?;
            Entry::Schedule(phases)
        };
        let pack = unsafe { std::mem::transmute::<*const u8, PackFn>(code.pack) };
        let workers = match &entry {
            Entry::Schedule(phases) if threads > 1 => {
                let phases = phases.clone();
                // SAFETY: a job is the `RawArgs` of a call whose buffers were checked
                // (invariant 2) and stay borrowed until every member has finished
                // (`Crew::run` returns only then); members share them as invariant 4 says.
                let work =
                    move |raw: RawArgs, m: Member<'_>| unsafe { run_member(&phases, raw, m) };
                let workers = Workers::new(threads, work).map_err(|e| {
                    Refused(format!("cannot start {} worker threads: {e}", threads - 1))
                })?;
                Some(workers)
            }
            _ => None,
        };
        Ok(NativeKernels {
            module: Some(code.module),
            pack,
            entry,
            shape,
            workers,
        })
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

    /// Runs the forward pass on up to `threads` threads: with several and the workers free,
    /// they run the schedule's phases together; otherwise the caller's thread runs
    /// `forward` or every phase (the same operations in the same order).
    pub fn forward<T: Element>(
        &self,
        a: ForwardArgs<'_, T>,
        threads: usize,
    ) -> Result<(), Refused> {
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
        let raw = RawArgs {
            packed: a.packed.as_ptr().cast(),
            input: a.input.as_ptr().cast(),
            h0: a.h0.map_or(std::ptr::null(), |h| h.as_ptr().cast()),
            lengths: a.lengths.map_or(std::ptr::null(), |l| l.as_ptr()),
            output: a.output.as_mut_ptr().cast(),
            h_n: a.h_n.as_mut_ptr().cast(),
            work: a.work.as_mut_ptr().cast(),
            seq_len: l as i64,
            batch: n as i64,
        };
        // SAFETY (both calls): every buffer has the length the kernel reads or writes for
        // this `seq_len` and `batch` (checked above, invariant 2); `output`, `h_n` and
        // `work` are exclusive borrows, so no other code touches them during the call.
        // A call shares its work only alone (see `workers`); otherwise, or with the workers
        // busy, it runs on its own thread.
        let ticket = self.workers.as_ref().map(|w| w.enter(threads));
        match (&self.entry, ticket.as_ref().and_then(|t| t.crew())) {
            (Entry::Forward(_), Some(_)) => {
                return Err(Refused(
                    "threads for kernels compiled without a schedule".into(),
                ));
            }
            (Entry::Forward(f), None) => {
                let status = unsafe {
                    f(
                        raw.packed,
                        raw.input,
                        raw.h0,
                        raw.lengths,
                        raw.output,
                        raw.h_n,
                        raw.work,
                        raw.seq_len,
                        raw.batch,
                    )
                };
                // The entry point checks again what was checked above: a refusal is a
                // disagreement between the two, a bug.
                if status != rnnc_codegen::Status::Ok as i32 {
                    return Err(Refused(format!(
                        "the entry point returned {status} ({:?})",
                        rnnc_codegen::Status::from_code(status)
                    )));
                }
            }
            (Entry::Schedule(_), Some(crew)) => crew.run(raw),
            (Entry::Schedule(phases), None) => unsafe { run_alone(phases, raw) },
        }
        Ok(())
    }
}

/// Runs a schedule on the caller's thread, as its only part.
///
/// # Safety
/// The buffers of `raw` must have been checked for the call (invariant 2).
unsafe fn run_alone(phases: &[PhaseOf<PhaseFn>], raw: RawArgs) {
    for phase in phases {
        // SAFETY: checked buffers (the caller's contract), and no other thread runs.
        unsafe {
            match *phase {
                PhaseOf::All(f) | PhaseOf::One(f) | PhaseOf::Steps(_, f) => raw.phase(f, 0, 0, 1),
                PhaseOf::Pair(f, g) => {
                    raw.phase(f, 0, 0, 1);
                    raw.phase(g, 0, 0, 1);
                }
            }
        }
    }
}

/// One member of a multi-threaded call: its share of every phase, meeting the other
/// members at the barrier after each phase and each step.
///
/// # Safety
/// The buffers of `raw` must have been checked for the call (invariant 2), and every member
/// of the call must run this with the same `raw`, `phases` and barrier (invariant 4).
unsafe fn run_member(phases: &[PhaseOf<PhaseFn>], raw: RawArgs, m: Member<'_>) {
    let (part, threads) = (m.part, m.threads);
    // SAFETY (every `raw.phase` call below): the buffers were checked (invariant 2); shares
    // of one phase touch disjoint elements and phases are separated (invariant 4).
    for phase in phases {
        match *phase {
            PhaseOf::All(f) => unsafe { raw.phase(f, 0, part, threads) },
            PhaseOf::One(f) => {
                if part == 0 {
                    unsafe { raw.phase(f, 0, 0, 1) }
                }
            }
            PhaseOf::Steps(f, _) => {
                for n in 0..raw.seq_len {
                    unsafe { raw.phase(f, n, part, threads) };
                    m.barrier.wait();
                }
                continue;
            }
            PhaseOf::Pair(f, g) => match part {
                0 => unsafe { raw.phase(f, 0, 0, 1) },
                1 => unsafe { raw.phase(g, 0, 0, 1) },
                _ => {}
            },
        }
        m.barrier.wait();
    }
}

impl Drop for NativeKernels {
    fn drop(&mut self) {
        // The workers hold pointers into the code: they stop first.
        drop(self.workers.take());
        if let Some(module) = self.module.take() {
            // SAFETY: the pointers into this memory live only in `self`, which is going
            // away; no call can be running, since calls borrow `self`.
            unsafe { module.free_memory() };
        }
    }
}
