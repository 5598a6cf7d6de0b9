//! rnnc's interpreter: executes kernel IR exactly as the machine will.
//!
//! It is the oracle native code must match bit for bit, so it implements the IR's semantics
//! and nothing more: IEEE binary32/binary64 arithmetic per lane, `fma` with a single
//! rounding, `reduce_add` in its written halving order, no reassociation, no fast paths.
//! It depends on the kernel IR crate (`rnnc-kernel`) alone, never on Cranelift, so it
//! cannot share a bug with the code generator, and runs only verified IR ([`Valid`]).
//!
//! Files by concern: this one is the API (arguments, errors, running functions and
//! schedules); `machine` executes statements and accesses memory; `race` tracks which part
//! touched which element; `lanes` is the arithmetic of one lane.
//!
//! Every memory access is bounds-checked against the buffer (or view) it names; an access
//! outside, a null buffer read, or a bad argument list is an [`InterpError`] naming the
//! instruction, never undefined behaviour. Such an error is a bug in rnnc (lowering) or in
//! the caller (arguments), never in user data.
//!
//! [`run_schedule`] also checks the premise of multi-threaded execution: between two
//! barriers, no element that one part writes is read or written by another part. It
//! records, per element, which parts read and wrote it since the last barrier, so a
//! lowering that lets threads race is an [`InterpError::Race`], although the interpreter
//! itself runs the parts one after another.

mod lanes;
mod machine;
mod race;

use rnnc_kernel::{Phase, Valid};

use crate::machine::run_as;
use crate::race::Tracker;

/// An argument of an interpreted function, in parameter order.
#[derive(Debug)]
pub enum Arg<'a> {
    /// A read-only f32 buffer.
    F32(&'a [f32]),
    /// A writable f32 buffer.
    F32Mut(&'a mut [f32]),
    /// A read-only f64 buffer.
    F64(&'a [f64]),
    /// A writable f64 buffer.
    F64Mut(&'a mut [f64]),
    /// A read-only i64 buffer (lengths).
    I64(&'a [i64]),
    /// A null pointer (for nullable parameters).
    Null,
    /// An `i64` scalar.
    Scalar(i64),
}

/// Why interpretation stopped: a bug in rnnc's lowering or in the caller's arguments.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InterpError {
    /// The arguments do not match the parameters.
    #[error("func @{function}: {message}")]
    Arguments {
        /// The function.
        function: String,
        /// What does not match.
        message: String,
    },
    /// A memory access outside its buffer.
    #[error(
        "func @{function}: `{inst}`: elements [{start}, {end}) are outside @{buffer} ({len} elements)"
    )]
    OutOfBounds {
        /// The function.
        function: String,
        /// The instruction.
        inst: String,
        /// The buffer or view.
        buffer: String,
        /// First element accessed.
        start: i64,
        /// One past the last.
        end: i64,
        /// The buffer's length.
        len: u64,
    },
    /// Two parts of one phase touch the same element and one of them writes it: threads
    /// running the schedule would race.
    #[error(
        "func @{function}: `{inst}`: part {part} {} element {element} of @{buffer}, which part {other} {} in the same phase",
        .access.present(),
        .other_access.past()
    )]
    Race {
        /// The function.
        function: String,
        /// The instruction.
        inst: String,
        /// The buffer or view.
        buffer: String,
        /// The element, counted in the argument the buffer is a view of.
        element: u64,
        /// The part making this access.
        part: usize,
        /// What this part does.
        access: Access,
        /// The part that touched the element before.
        other: usize,
        /// What the other part did.
        other_access: Access,
    },
    /// Any other fault of an instruction (null access, division by zero, negative count).
    #[error("func @{function}: `{inst}`: {message}")]
    Fault {
        /// The function.
        function: String,
        /// The instruction or loop.
        inst: String,
        /// What went wrong.
        message: String,
    },
}

/// A memory access, in a race report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// A load.
    Read,
    /// A store.
    Write,
}

impl Access {
    fn present(self) -> &'static str {
        match self {
            Access::Read => "reads",
            Access::Write => "writes",
        }
    }

    fn past(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "wrote",
        }
    }
}

/// Runs the function `name` of `module` with `args` (one per parameter, in order); its
/// `call`s run the module's functions they name.
pub fn run_function(module: &Valid, name: &str, args: &mut [Arg<'_>]) -> Result<(), InterpError> {
    let func = module
        .function(name)
        .ok_or_else(|| InterpError::Arguments {
            function: name.to_string(),
            message: "the module has no such function".into(),
        })?;
    let roots = (0..args.len()).collect();
    run_as(module, func, args, None, roots)
}

/// Runs a module's schedule as `parts` threads would, one part after another: `args` are
/// `forward`'s (ending with `seq_len` and `batch`); each phase function also gets the step,
/// the part and the number of parts. Phases order every access the way barriers order
/// them, so the result is what the threads compute. With more than one part, every access
/// is also checked for races (see the module docs); a `pair` phase counts as two parts.
/// A one-step call (`seq_len = 1`) on more than one part runs the module's `frame`
/// instead, where it has one, as the runtime does.
pub fn run_schedule(
    module: &Valid,
    args: &mut Vec<Arg<'_>>,
    parts: usize,
) -> Result<(), InterpError> {
    let seq_len = match args.get(args.len().wrapping_sub(2)) {
        Some(Arg::Scalar(l)) => *l,
        _ => {
            return Err(InterpError::Arguments {
                function: "schedule".into(),
                message: "the arguments end with seq_len and batch".into(),
            });
        }
    };
    if parts == 0 || parts > Tracker::MAX_PARTS {
        return Err(InterpError::Arguments {
            function: "schedule".into(),
            message: format!("{parts} parts; 1 to {} are supported", Tracker::MAX_PARTS),
        });
    }
    let mut tracker = (parts > 1).then(|| Tracker::new(args));
    // Runs `name` as part `part` of `parts`, tracked as part `as_part`.
    let mut call = |tracker: &mut Option<Tracker>,
                    name: &str,
                    n: i64,
                    (part, parts): (usize, usize),
                    as_part: usize| {
        let func = module
            .function(name)
            .ok_or_else(|| InterpError::Arguments {
                function: name.to_string(),
                message: "the schedule names a function the module lacks".into(),
            })?;
        args.extend([
            Arg::Scalar(n),
            Arg::Scalar(part as i64),
            Arg::Scalar(parts as i64),
        ]);
        let roots = (0..args.len()).collect();
        let result = run_as(
            module,
            func,
            args,
            tracker.as_mut().map(|t| (t, as_part)),
            roots,
        );
        args.truncate(args.len() - 3);
        result
    };
    let barrier = |tracker: &mut Option<Tracker>| {
        if let Some(t) = tracker {
            t.barrier();
        }
    };
    let t = &mut tracker;
    if seq_len == 1 && parts > 1 && !module.frame.is_empty() {
        for f in &module.frame {
            (0..parts).try_for_each(|part| call(t, f, 0, (part, parts), part))?;
            barrier(t);
        }
        return Ok(());
    }
    for phase in &module.schedule {
        match phase {
            Phase::All(f) => (0..parts).try_for_each(|part| call(t, f, 0, (part, parts), part))?,
            Phase::One(f) => call(t, f, 0, (0, 1), 0)?,
            Phase::Steps { all, .. } if parts == 1 => call(t, all, 0, (0, 1), 0)?,
            Phase::Steps { stages, .. } => {
                for n in 0..seq_len {
                    for f in stages {
                        (0..parts).try_for_each(|part| call(t, f, n, (part, parts), part))?;
                        barrier(t);
                    }
                }
            }
            Phase::Pair(f, g) => {
                call(t, f, 0, (0, 1), 0)?;
                call(t, g, 0, (0, 1), 1)?;
            }
        }
        barrier(t);
    }
    Ok(())
}

pub(crate) fn kind(arg: &Arg<'_>) -> &'static str {
    match arg {
        Arg::F32(_) => "a read-only f32 buffer",
        Arg::F32Mut(_) => "a writable f32 buffer",
        Arg::F64(_) => "a read-only f64 buffer",
        Arg::F64Mut(_) => "a writable f64 buffer",
        Arg::I64(_) => "an i64 buffer",
        Arg::Null => "null",
        Arg::Scalar(_) => "a scalar",
    }
}

/// The same argument, borrowed for a nested call.
pub(crate) fn reborrow<'s>(arg: &'s mut Arg<'_>) -> Arg<'s> {
    match arg {
        Arg::F32(s) => Arg::F32(s),
        Arg::F32Mut(s) => Arg::F32Mut(s),
        Arg::F64(s) => Arg::F64(s),
        Arg::F64Mut(s) => Arg::F64Mut(s),
        Arg::I64(s) => Arg::I64(s),
        Arg::Null => Arg::Null,
        Arg::Scalar(v) => Arg::Scalar(*v),
    }
}

/// A copy of an argument that is not writable.
pub(crate) fn shared<'s>(arg: &Arg<'s>) -> Option<Arg<'s>> {
    match arg {
        Arg::F32(s) => Some(Arg::F32(s)),
        Arg::F64(s) => Some(Arg::F64(s)),
        Arg::I64(s) => Some(Arg::I64(s)),
        Arg::Null => Some(Arg::Null),
        Arg::Scalar(v) => Some(Arg::Scalar(*v)),
        Arg::F32Mut(_) | Arg::F64Mut(_) => None,
    }
}

pub(crate) fn arg_len(arg: &Arg<'_>) -> u64 {
    (match arg {
        Arg::F32(s) => s.len(),
        Arg::F32Mut(s) => s.len(),
        Arg::F64(s) => s.len(),
        Arg::F64Mut(s) => s.len(),
        Arg::I64(s) => s.len(),
        Arg::Null | Arg::Scalar(_) => 0,
    }) as u64
}
