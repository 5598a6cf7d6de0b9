//! The threads that share multi-threaded forward calls.
//!
//! A call with `k` threads runs `k` members of the schedule: the caller as part 0 and
//! `k - 1` workers of a persistent pool (rayon's). Workers persist because starting an OS
//! thread costs about 60 µs on the machines rnnc is measured on, as long as a whole call
//! of a mid-sized model.
//!
//! Members meet at spin barriers, so all members of a call must run at the same time. Hence
//! the invariants: a pool serves one call at a time and runs nothing else, and it has a
//! worker for every member but the caller. A call that finds the pool busy (another
//! thread's call holds it) runs single-threaded instead, so concurrent callers never wait
//! on each other's barriers or for each other's workers.

use std::sync::{Mutex, MutexGuard, TryLockError};

/// A pool of `threads - 1` workers for calls of up to `threads` threads.
pub(crate) struct Workers {
    pool: rayon::ThreadPool,
    threads: usize,
    busy: Mutex<()>,
}

/// The workers, reserved for one call.
pub(crate) struct Crew<'a> {
    workers: &'a Workers,
    threads: usize,
    _reserved: MutexGuard<'a, ()>,
}

impl Workers {
    /// Starts `threads - 1` workers (`threads >= 2`).
    pub fn new(threads: usize) -> Result<Workers, rayon::ThreadPoolBuildError> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads - 1)
            .thread_name(|i| format!("rnnc-worker-{i}"))
            .build()?;
        Ok(Workers {
            pool,
            threads,
            busy: Mutex::new(()),
        })
    }

    /// Reserves the workers for a call of `threads` threads (at most the pool's); `None` if
    /// another call holds them.
    pub fn reserve(&self, threads: usize) -> Option<Crew<'_>> {
        let guard = match self.busy.try_lock() {
            Ok(guard) => guard,
            // A panic while reserved leaves no worker running: the pool is usable.
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return None,
        };
        Some(Crew {
            workers: self,
            threads: threads.clamp(1, self.threads),
            _reserved: guard,
        })
    }
}

impl Crew<'_> {
    /// Threads of the call: parts of every phase.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `member(part)` for every part at once, part 0 on the calling thread; returns
    /// when all have.
    pub fn run(&self, member: impl Fn(usize) + Sync) {
        let member = &member;
        self.workers.pool.in_place_scope(|scope| {
            for part in 1..self.threads {
                scope.spawn(move |_| member(part));
            }
            member(0);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::barrier::SpinBarrier;

    #[test]
    fn every_member_runs_at_once() {
        let workers = Workers::new(3).unwrap();
        for threads in 1..=3 {
            let crew = workers.reserve(threads).unwrap();
            // A barrier of all members returns only if they all run at the same time.
            let barrier = SpinBarrier::new(threads);
            let ran = Mutex::new(Vec::new());
            crew.run(|part| {
                barrier.wait();
                ran.lock().unwrap().push(part);
            });
            let mut ran = ran.into_inner().unwrap();
            ran.sort();
            assert_eq!(ran, (0..threads).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_busy_pool_is_not_shared() {
        let workers = Workers::new(2).unwrap();
        let crew = workers.reserve(2).unwrap();
        assert!(workers.reserve(2).is_none());
        drop(crew);
        assert!(workers.reserve(2).is_some());
    }
}
