//! The one module that calls native code. All of rnnc's `unsafe` is here.
//!
//! Invariants a reader must keep:
//! 1. The function pointers come from a finalized `JITModule` owned by the same
//!    [`NativeKernels`] value and freed only when it drops, so they are valid whenever they
//!    can be called; their Cranelift signatures (`rnnc_codegen::translate::signature`, the
//!    ISA's default calling convention, which is the C convention of this platform) match
//!    `PackFn`, `ForwardFn` and `PhaseFn`, and the arrays a call passes hold the entry
//!    points' parameters in the order their IR declares (`KernelShape::of` reads it).
//! 2. Native code is called only through [`NativeKernels::pack`] and
//!    [`NativeKernels::forward`], which check every slice length against the sizes the
//!    kernels' parameters declare in the IR (element type included) before the call. Under those
//!    lengths, every access of the kernels is in bounds: the interpreter executes the same
//!    IR with bounds checks on every access, and the equivalence tests run both.
//! 3. Kernels keep no state between calls and write only through the `output`, final
//!    state, `work` and `packed` pointers they are given, so one `NativeKernels` may be called from
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
//! 5. A forked child has only the thread that called `fork`: the workers of models made
//!    before the fork do not exist there. [`fork_generation`] tells a pool made in another
//!    process, which then runs every call on the calling thread and never waits for, wakes
//!    or joins its workers (see `workers`).

use rnnc_codegen::JitCode;
use rnnc_kernel::{Function, Module, Param, Phase, Role, Size};
use rnnc_spec::{DType, Element, MAX_STATES};

use crate::Error;
use crate::workers::{Member, Workers};

/// `NAME_pack(const T *const params[], T *packed)`.
type PackFn = unsafe extern "C" fn(*const *const u8, *mut u8);
/// An entry point: an array of its buffer parameters' pointers and one of its scalar
/// parameters' values, in parameter order (`rnnc_codegen::translate::Abi::Arrays`).
/// `forward` returns a `rnnc_codegen::Status` code.
type ForwardFn = unsafe extern "C" fn(*const *mut u8, *const i64) -> i32;
/// A phase function: the same arrays; its scalars are `forward`'s, then the step `n`,
/// `part` and `parts`.
type PhaseFn = unsafe extern "C" fn(*const *mut u8, *const i64);

/// Most buffer parameters of an entry point: weights, input, lengths, output and work,
/// and an initial and a final value per state.
const MAX_BUFFERS: usize = 5 + 2 * MAX_STATES;

/// A phase of the schedule with its functions resolved.
#[derive(Clone, Copy)]
enum PhaseOf<F> {
    All(F),
    One(F),
    /// Per step (its stages, at most two), and all steps in one call.
    Steps([Option<F>; 2], F),
    Pair(F, F),
}

/// The arguments of one call as raw pointers, for the threads that share it (invariant 4).
#[derive(Clone, Copy)]
struct RawArgs {
    /// The buffer parameters' pointers, in the entry points' parameter order.
    pointers: [*mut u8; MAX_BUFFERS],
    seq_len: i64,
    batch: i64,
    /// Whether the members run the frame's functions (a one-step call) instead of the
    /// schedule's phases.
    frame: bool,
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
        let scalars = [self.seq_len, self.batch, n, part as i64, parts as i64];
        // SAFETY: delegated to the caller; the arrays outlive the call.
        unsafe { f(self.pointers.as_ptr(), scalars.as_ptr()) }
    }
}

/// A buffer parameter of the entry points: what it is, and the elements a call must give
/// it (for the call's `seq_len` and `batch`).
#[derive(Clone, Debug, PartialEq)]
struct Slot {
    role: Role,
    len: Size,
}

/// The sizes the kernels were compiled for, read from the kernel IR: what every call is
/// checked against.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct KernelShape {
    dtype: DType,
    /// Elements of each torch parameter, in `state_dict` order (`pack`'s parameters).
    param_lens: Vec<usize>,
    packed_len: usize,
    /// The entry points' buffer parameters, in order.
    slots: Vec<Slot>,
}

impl KernelShape {
    /// The shape of `ir`'s kernels, whose entry points must have the parameters of the
    /// forward calling convention (`rnnc_kernel::Module`) with the same buffers in the same
    /// order, `%seq_len` and `%batch`, and for phase functions `%n`, `%part` and `%parts`.
    pub fn of(ir: &Module, dtype: DType) -> Result<KernelShape, Refused> {
        let pack = ir
            .function("pack")
            .ok_or_else(|| Refused("no function @pack".into()))?;
        let lens = |func: &Function| -> Vec<Option<Size>> {
            func.params
                .iter()
                .filter_map(|p| match p {
                    Param::Buf(b) => Some(match func.buf(*b).kind {
                        rnnc_kernel::BufKind::Param { len, .. } => len,
                        rnnc_kernel::BufKind::View { .. } => None,
                    }),
                    Param::Scalar(_) => None,
                })
                .collect()
        };
        let pack_lens = lens(pack);
        let (params, packed) = pack_lens.split_at(pack_lens.len().saturating_sub(1));
        let fixed = |len: &Option<Size>| len.filter(|s| s.is_fixed()).map(|s| s.c as usize);
        let param_lens = params.iter().map(fixed).collect::<Option<Vec<_>>>();
        let (Some(param_lens), Some(Some(packed_len))) = (param_lens, packed.first().map(fixed))
        else {
            return Err(Refused("@pack's buffers must have fixed sizes".into()));
        };
        let mut entries: Vec<&str> = Vec::new();
        if ir.schedule.is_empty() {
            entries.push("forward");
        }
        for phase in &ir.schedule {
            entries.extend(phase.functions().into_iter().map(String::as_str));
        }
        let mut slots: Option<Vec<Slot>> = None;
        for name in entries {
            let func = ir
                .function(name)
                .ok_or_else(|| Refused(format!("no function @{name}")))?;
            let roles = ir.roles(func).map_err(Refused)?;
            let scalars: Vec<Role> = roles
                .iter()
                .zip(&func.params)
                .filter(|(_, p)| matches!(p, Param::Scalar(_)))
                .map(|(r, _)| *r)
                .collect();
            let expected: &[Role] = if name == "forward" {
                &[Role::SeqLen, Role::Batch]
            } else {
                &[
                    Role::SeqLen,
                    Role::Batch,
                    Role::Step,
                    Role::Part,
                    Role::Parts,
                ]
            };
            if scalars != expected {
                return Err(Refused(format!(
                    "@{name} takes scalars {scalars:?}, expected {expected:?}"
                )));
            }
            let mine = roles
                .iter()
                .zip(&func.params)
                .filter(|(_, p)| matches!(p, Param::Buf(_)))
                .map(|(r, _)| *r)
                .zip(lens(func))
                .map(|(role, len)| {
                    len.map(|len| Slot { role, len })
                        .ok_or_else(|| Refused(format!("@{name}: a buffer without a size")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            if mine.len() > MAX_BUFFERS {
                return Err(Refused(format!("@{name} takes {} buffers", mine.len())));
            }
            match &slots {
                None => slots = Some(mine),
                Some(first) if *first != mine => {
                    return Err(Refused(format!(
                        "@{name}'s buffers differ from the other entry points'"
                    )));
                }
                Some(_) => {}
            }
        }
        Ok(KernelShape {
            dtype,
            param_lens,
            packed_len,
            slots: slots.unwrap_or_default(),
        })
    }
}

/// The arguments of one forward call, as slices (row-major, torch's layouts); `initial`
/// and `last` hold the cell's states in order (`h` first), `None` past them.
pub(crate) struct ForwardArgs<'a, T> {
    pub packed: &'a [T],
    pub input: &'a [T],
    pub initial: [Option<&'a [T]>; MAX_STATES],
    pub lengths: Option<&'a [i64]>,
    pub output: &'a mut [T],
    pub last: [Option<&'a mut [T]>; MAX_STATES],
    pub work: &'a mut [T],
    pub seq_len: usize,
    pub batch: usize,
}

/// Kernels that do not fit the calling convention this module implements, or a size check
/// that failed right before a native call: a bug in rnnc (the pipeline makes the kernels,
/// and the runtime checks user arguments earlier and with better messages).
#[derive(Debug, thiserror::Error)]
#[error("native call refused: {0}")]
pub(crate) struct Refused(String);

impl From<Refused> for Error {
    fn from(refused: Refused) -> Error {
        Error::Native(refused.to_string())
    }
}

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
    /// The phases, and the frame's functions (empty: none).
    Schedule(Vec<PhaseOf<PhaseFn>>, Vec<PhaseFn>),
}

// SAFETY: the code is immutable once finalized and kernels keep no state (invariant 3);
// the JIT module is touched again only by `drop`, which has `&mut self`.
unsafe impl Send for NativeKernels {}
// SAFETY: as above; `&self` methods only read `pack`, `entry` and `shape`.
unsafe impl Sync for NativeKernels {}

impl NativeKernels {
    /// Takes ownership of the code; `schedule` and `frame` are the module's (an empty
    /// schedule: it has `forward`); with a schedule, starts the workers of calls of up to
    /// `threads` threads.
    pub fn new(
        code: JitCode,
        (schedule, frame): (&[Phase], &[String]),
        shape: KernelShape,
        threads: usize,
    ) -> Result<NativeKernels, Error> {
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
        // array and the packed buffer, `forward` and phase functions the arrays of their
        // arguments), and `module`, which owns them, moves into the same value.
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
                        Phase::Steps { stages, all } => {
                            let mut resolved = [None; 2];
                            if stages.len() > resolved.len() {
                                return Err(Refused(format!(
                                    "a step of {} stages (the runtime runs at most 2)",
                                    stages.len()
                                )));
                            }
                            for (slot, f) in resolved.iter_mut().zip(stages) {
                                *slot = Some(phase(f)?);
                            }
                            PhaseOf::Steps(resolved, phase(all)?)
                        }
                        Phase::Pair(f, g) => PhaseOf::Pair(phase(f)?, phase(g)?),
                    })
                })
                .collect::<Result<Vec<_>, Refused>>()?;
            let frame = frame
                .iter()
                .map(|f| phase(f))
                .collect::<Result<Vec<_>, Refused>>()?;
            Entry::Schedule(phases, frame)
        };
        let pack = unsafe { std::mem::transmute::<*const u8, PackFn>(code.pack) };
        let workers = match &entry {
            Entry::Schedule(phases, frame) if threads > 1 => {
                let (phases, frame) = (phases.clone(), frame.clone());
                // SAFETY: a job is the `RawArgs` of a call whose buffers were checked
                // (invariant 2) and stay borrowed until every member has finished
                // (`Crew::run` returns only then); members share them as invariant 4 says.
                let work = move |raw: RawArgs, m: Member<'_>| unsafe {
                    if raw.frame {
                        run_frame(&frame, raw, m)
                    } else {
                        run_member(&phases, raw, m)
                    }
                };
                let workers = Workers::new(threads, work).map_err(|source| Error::Threads {
                    workers: threads - 1,
                    source,
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

    /// Whether one-step calls on several threads run a frame (see `Module::frame`).
    pub fn has_frame(&self) -> bool {
        matches!(&self.entry, Entry::Schedule(_, frame) if !frame.is_empty())
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
        let (l, n) = (a.seq_len, a.batch);
        if l == 0 || i64::try_from(l).is_err() || i64::try_from(n).is_err() {
            return Err(Refused(format!("seq_len {l}, batch {n}")));
        }
        if let Some(lengths) = a.lengths
            && let Some(bad) = lengths.iter().find(|&&len| len < 1 || len as usize > l)
        {
            return Err(Refused(format!("length {bad} outside 1..={l}")));
        }
        let ForwardArgs {
            packed,
            input,
            initial,
            lengths,
            output,
            mut last,
            work,
            ..
        } = a;
        let output = (output.len(), output.as_mut_ptr());
        let work = (work.len(), work.as_mut_ptr());
        let mut pointers = [std::ptr::null_mut(); MAX_BUFFERS];
        for (slot, pointer) in self.shape.slots.iter().zip(&mut pointers) {
            // (elements given, pointer): a null pointer for an absent optional buffer.
            let (given, ptr): (Option<usize>, *mut u8) = match slot.role {
                Role::Weights => (Some(packed.len()), packed.as_ptr().cast_mut().cast()),
                Role::Input => (Some(input.len()), input.as_ptr().cast_mut().cast()),
                Role::Initial(i) => match initial.get(i).copied().flatten() {
                    Some(s) => (Some(s.len()), s.as_ptr().cast_mut().cast()),
                    None => (None, std::ptr::null_mut()),
                },
                Role::Lengths => match lengths {
                    Some(s) => (Some(s.len()), s.as_ptr().cast_mut().cast()),
                    None => (None, std::ptr::null_mut()),
                },
                Role::Output => (Some(output.0), output.1.cast()),
                Role::Last(i) => match last.get_mut(i).and_then(|s| s.as_deref_mut()) {
                    Some(s) => (Some(s.len()), s.as_mut_ptr().cast()),
                    None => return Err(Refused(format!("no buffer for final state {i}"))),
                },
                Role::Work => (Some(work.0), work.1.cast()),
                other => return Err(Refused(format!("a buffer parameter with role {other:?}"))),
            };
            let want = slot
                .len
                .eval(l as u64, n as u64)
                .and_then(|w| usize::try_from(w).ok());
            let fits = match (given, want) {
                (None, _) => matches!(slot.role, Role::Initial(_) | Role::Lengths),
                // The workspace may be larger than a call needs; nothing else may.
                (Some(g), Some(w)) if slot.role == Role::Work => g >= w,
                (Some(g), Some(w)) => g == w,
                (Some(_), None) => false,
            };
            if !fits {
                return Err(Refused(format!(
                    "{:?} has {given:?} elements, expected {want:?}",
                    slot.role
                )));
            }
            *pointer = ptr;
        }
        let mut raw = RawArgs {
            pointers,
            seq_len: l as i64,
            batch: n as i64,
            frame: false,
        };
        // SAFETY (both calls): every buffer has the length the kernel reads or writes for
        // this `seq_len` and `batch` (checked above against the sizes its parameters
        // declare, invariant 2); the written buffers are exclusive borrows, so no other code
        // touches them during the call. A call shares its work only alone (see `workers`);
        // otherwise, or with the workers busy, it runs on its own thread.
        let ticket = self.workers.as_ref().map(|w| w.enter(threads));
        match (&self.entry, ticket.as_ref().and_then(|t| t.crew())) {
            (Entry::Forward(_), Some(_)) => {
                return Err(Refused(
                    "threads for kernels compiled without a schedule".into(),
                ));
            }
            (Entry::Forward(f), None) => {
                let scalars = [raw.seq_len, raw.batch];
                let status = unsafe { f(raw.pointers.as_ptr(), scalars.as_ptr()) };
                // The entry point checks again what was checked above: a refusal is a
                // disagreement between the two, a bug.
                if status != rnnc_codegen::Status::Ok as i32 {
                    return Err(Refused(format!(
                        "the entry point returned {status} ({:?})",
                        rnnc_codegen::Status::from_code(status)
                    )));
                }
            }
            (Entry::Schedule(_, frame), Some(crew)) => {
                // A one-step call splits every layer's whole step (the frame).
                raw.frame = l == 1 && !frame.is_empty();
                crew.run(raw)
            }
            (Entry::Schedule(phases, _), None) => unsafe { run_alone(phases, raw) },
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
            PhaseOf::Steps(stages, _) => {
                for n in 0..raw.seq_len {
                    for f in stages.into_iter().flatten() {
                        unsafe { raw.phase(f, n, part, threads) };
                        m.barrier.wait();
                    }
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

/// One member of a multi-threaded one-step call: its share of each of the frame's
/// functions, meeting the other members at the barrier after each.
///
/// # Safety
/// As for [`run_member`], with the frame's functions (invariant 4 holds for them too).
unsafe fn run_frame(frame: &[PhaseFn], raw: RawArgs, m: Member<'_>) {
    for &f in frame {
        // SAFETY: the buffers were checked (invariant 2); shares of one function touch
        // disjoint elements, and the barrier separates the functions (invariant 4).
        unsafe { raw.phase(f, 0, m.part, m.threads) };
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

/// How many times this process's line of ancestors has forked since rnnc first asked:
/// a pool of workers made at another generation belongs to another process (invariant 5).
pub(crate) fn fork_generation() -> u64 {
    fork::GENERATION.load(std::sync::atomic::Ordering::Relaxed)
}

/// Makes [`fork_generation`] count the forks that follow (once per process; before the
/// first pool starts its workers).
pub(crate) fn count_forks() {
    fork::REGISTER.call_once(fork::register);
}

mod fork {
    use std::sync::Once;
    use std::sync::atomic::{AtomicU64, Ordering};

    pub(super) static GENERATION: AtomicU64 = AtomicU64::new(0);
    pub(super) static REGISTER: Once = Once::new();

    /// Runs in the child of every fork, where only async-signal-safe work is allowed: an
    /// atomic increment is.
    #[cfg(unix)]
    extern "C" fn in_child() {
        GENERATION.fetch_add(1, Ordering::Relaxed);
    }

    #[cfg(unix)]
    pub(super) fn register() {
        unsafe extern "C" {
            fn pthread_atfork(
                prepare: Option<extern "C" fn()>,
                parent: Option<extern "C" fn()>,
                child: Option<extern "C" fn()>,
            ) -> std::ffi::c_int;
        }
        // SAFETY: POSIX's pthread_atfork with a handler that stays valid for the process's
        // life (a plain function) and is async-signal-safe. It fails only without memory
        // (ENOMEM), and then forks are not counted: the cost is only the hang this guards
        // against, in children that call a model their parent made.
        let status = unsafe { pthread_atfork(None, None, Some(in_child)) };
        if status != 0 {
            eprintln!("rnnc: pthread_atfork failed ({status}): calls in forked children may hang");
        }
    }

    /// No `fork` outside unix.
    #[cfg(not(unix))]
    pub(super) fn register() {}
}
