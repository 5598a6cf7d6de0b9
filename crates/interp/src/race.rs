//! Race tracking for schedules run part by part: per argument and element, which parts
//! read and wrote it since the last barrier.

use crate::{Access, Arg, arg_len};

/// Who touched an element since the last barrier.
#[derive(Clone, Copy, Default)]
pub(crate) struct Touch {
    /// The phase (barrier interval) the rest describes; older phases do not count.
    epoch: u32,
    /// The part that wrote the element, plus one (0: none).
    writer: u32,
    /// The parts that read it, one bit each.
    readers: u64,
}

/// Per argument and element, the last phase's touches (see the module docs).
pub(crate) struct Tracker {
    epoch: u32,
    touches: Vec<Vec<Touch>>,
}

impl Tracker {
    /// At most this many parts: one bit each in `Touch::readers`.
    pub(crate) const MAX_PARTS: usize = 64;

    pub(crate) fn new(args: &[Arg<'_>]) -> Tracker {
        Tracker {
            epoch: 1,
            touches: args
                .iter()
                .map(|a| vec![Touch::default(); arg_len(a) as usize])
                .collect(),
        }
    }

    /// A barrier: what came before no longer races with what comes after.
    pub(crate) fn barrier(&mut self) {
        self.epoch += 1;
    }

    /// Records an access by `part`; on a race, the other part and what it did.
    pub(crate) fn touch(
        &mut self,
        arg: usize,
        element: usize,
        part: usize,
        write: bool,
    ) -> Option<(usize, Access)> {
        let t = &mut self.touches[arg][element];
        if t.epoch != self.epoch {
            *t = Touch {
                epoch: self.epoch,
                ..Touch::default()
            };
        }
        if t.writer != 0 && t.writer as usize != part + 1 {
            return Some((t.writer as usize - 1, Access::Write));
        }
        let others = t.readers & !(1 << part);
        if write && others != 0 {
            return Some((others.trailing_zeros() as usize, Access::Read));
        }
        if write {
            t.writer = part as u32 + 1;
        } else {
            t.readers |= 1 << part;
        }
        None
    }
}
