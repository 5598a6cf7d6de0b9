//! The threads that share multi-threaded forward calls.
//!
//! A call with `k` threads runs `k` members of the schedule: the caller as part 0 and
//! `k - 1` persistent workers, started once per compiled model. Workers persist because
//! starting an OS thread costs about 60 µs on the machines rnnc is measured on, as long as
//! a whole call of a mid-sized model.
//!
//! Invariants:
//! - Members meet at barriers, so all members of a call run at the same time: a pool
//!   serves one call at a time and runs nothing else, and it has a worker for every member
//!   but the caller. A call that finds the pool busy (another thread's call holds it) runs
//!   single-threaded instead, so concurrent callers never wait on each other's barriers or
//!   for each other's workers.
//! - A call shares its work only when it is the model's only call in flight: concurrent
//!   callers already keep the cores busy, and a call whose members must meet at a barrier
//!   every step suffers most when they compete for cores (each member descheduled in turn
//!   stalls the others). Measured with 8 callers of a two-thread model on 2 cores.
//! - A call allocates nothing: the job is plain data (`J: Copy`) handed over in a mutex the
//!   pool owns, and waiting uses the atomics and condition variables of [`Signal`].
//! - [`Crew::run`] returns only after every worker has finished the job, so the job may
//!   refer to the caller's buffers.
//! - A pool belongs to the process that made it. In a forked child (a `multiprocessing`
//!   worker, a DataLoader worker) its threads do not exist, and its mutexes and condition
//!   variables may be held by them: there every call runs on the calling thread, and
//!   dropping the pool leaks it instead of waking or joining threads that are not there.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::thread::JoinHandle;

use crate::barrier::{Signal, SpinBarrier};
use crate::native::{count_forks, fork_generation};

/// Who a thread is in one call: part `part` of `threads`, meeting the others at `barrier`.
pub(crate) struct Member<'a> {
    pub part: usize,
    pub threads: usize,
    pub barrier: &'a SpinBarrier,
}

/// What every thread of a pool shares.
struct Shared<J> {
    /// The current job and its thread count.
    job: Mutex<Option<(J, usize)>>,
    /// Bumped to start a job (and at shutdown).
    start: Signal,
    /// Bumped by each worker that has finished the current job, and once by each when it
    /// has started.
    finished: Signal,
    shutdown: AtomicBool,
    barrier: SpinBarrier,
    /// Runs one member of a job.
    work: Box<dyn Fn(J, Member<'_>) + Send + Sync>,
}

/// A pool of `threads - 1` workers for calls of up to `threads` threads, each running
/// `work` for its part of a job.
pub(crate) struct Workers<J: Copy + Send + 'static> {
    shared: Arc<Shared<J>>,
    handles: Vec<JoinHandle<()>>,
    threads: usize,
    busy: Mutex<()>,
    /// Calls of the model in flight, shared or not (see [`Workers::enter`]).
    in_flight: AtomicUsize,
    /// The fork generation the workers were started in (see the module docs).
    generation: u64,
}

/// A call in flight: the workers it may use, if any. Leaving (dropping it) ends the call.
pub(crate) struct Ticket<'a, J: Copy + Send + 'static> {
    workers: &'a Workers<J>,
    crew: Option<Crew<'a, J>>,
}

/// The workers, reserved for one call.
pub(crate) struct Crew<'a, J: Copy + Send + 'static> {
    workers: &'a Workers<J>,
    threads: usize,
    _reserved: MutexGuard<'a, ()>,
}

impl<J: Copy + Send + 'static> Workers<J> {
    /// Starts `threads - 1` workers (`threads >= 2`).
    pub fn new(
        threads: usize,
        work: impl Fn(J, Member<'_>) + Send + Sync + 'static,
    ) -> std::io::Result<Workers<J>> {
        count_forks();
        let shared = Arc::new(Shared {
            job: Mutex::new(None),
            start: Signal::new(),
            finished: Signal::new(),
            shutdown: AtomicBool::new(false),
            barrier: SpinBarrier::new(threads),
            work: Box::new(work),
        });
        let mut workers = Workers {
            shared: Arc::clone(&shared),
            handles: Vec::new(),
            threads,
            busy: Mutex::new(()),
            in_flight: AtomicUsize::new(0),
            generation: fork_generation(),
        };
        for part in 1..threads {
            let shared = Arc::clone(&shared);
            let handle = std::thread::Builder::new()
                .name(format!("rnnc-worker-{part}"))
                .spawn(move || worker(&shared, part))?;
            // Pushed one by one: a failed spawn drops `workers`, which stops those started.
            workers.handles.push(handle);
        }
        // Wait until every worker runs: a thread's start allocates (its name, its stack
        // guard's bookkeeping), which must not happen during a call.
        let mut now = shared.finished.get();
        while now < threads as u64 - 1 {
            now = shared.finished.wait_past(now);
        }
        Ok(workers)
    }

    /// Enters a call that would like `threads` threads: it gets the workers if it is the
    /// only call in flight and they are free (see the module docs).
    pub fn enter(&self, threads: usize) -> Ticket<'_, J> {
        let alone = self.in_flight.fetch_add(1, Ordering::SeqCst) == 0;
        Ticket {
            workers: self,
            crew: if alone && threads > 1 {
                self.reserve(threads)
            } else {
                None
            },
        }
    }

    /// Whether the workers exist: they do not in a process forked after they started.
    fn here(&self) -> bool {
        self.generation == fork_generation()
    }

    /// Reserves the workers for a call of `threads` threads (at most the pool's); `None` if
    /// another call holds them, or in a forked child.
    pub fn reserve(&self, threads: usize) -> Option<Crew<'_, J>> {
        if !self.here() {
            return None;
        }
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

/// A worker's life: wait for a job, run its part (if the call has that many threads),
/// report, until shutdown.
fn worker<J: Copy + Send>(shared: &Shared<J>, part: usize) {
    // The count the pool was made with, not the one this thread finds when it gets to run:
    // a job (or the shutdown) may have been signalled before.
    let mut seen = 0;
    shared.finished.bump();
    loop {
        seen = shared.start.wait_past(seen);
        if shared.shutdown.load(Ordering::SeqCst) {
            return;
        }
        let (job, threads) = shared
            .job
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .expect("a job is set before the start signal");
        if part < threads {
            let member = Member {
                part,
                threads,
                barrier: &shared.barrier,
            };
            // The caller waits for every worker and the other members at barriers: a panic
            // here could only hang them, so it ends the process instead.
            let run = std::panic::AssertUnwindSafe(|| (shared.work)(job, member));
            if std::panic::catch_unwind(run).is_err() {
                eprintln!("rnnc: a worker thread panicked; aborting");
                std::process::abort();
            }
        }
        shared.finished.bump();
    }
}

impl<J: Copy + Send + 'static> Crew<'_, J> {
    /// Runs `job` on every part at once, part 0 on the calling thread; returns when all
    /// have finished.
    pub fn run(&self, job: J) {
        let shared = &self.workers.shared;
        shared.barrier.reset(self.threads);
        *shared.job.lock().unwrap_or_else(|p| p.into_inner()) = Some((job, self.threads));
        let target = shared.finished.get() + self.workers.handles.len() as u64;
        shared.start.bump();
        (shared.work)(
            job,
            Member {
                part: 0,
                threads: self.threads,
                barrier: &shared.barrier,
            },
        );
        let mut now = shared.finished.get();
        while now < target {
            now = shared.finished.wait_past(now);
        }
    }
}

impl<'a, J: Copy + Send + 'static> Ticket<'a, J> {
    /// The workers of this call, if it shares its work.
    pub fn crew(&self) -> Option<&Crew<'a, J>> {
        self.crew.as_ref()
    }
}

impl<J: Copy + Send + 'static> Drop for Ticket<'_, J> {
    fn drop(&mut self) {
        self.crew = None;
        self.workers.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl<J: Copy + Send + 'static> Drop for Workers<J> {
    fn drop(&mut self) {
        if !self.here() {
            // A forked child: the threads are the parent's. Joining them would wait
            // forever, and their signals' locks may be held by threads that are gone.
            std::mem::forget(std::mem::take(&mut self.handles));
            return;
        }
        self.shared.shutdown.store(true, Ordering::SeqCst);
        self.shared.start.bump();
        for handle in self.handles.drain(..) {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Log = Arc<Mutex<Vec<(usize, usize)>>>;

    /// A pool whose job is a round number; each member logs (round, part).
    fn logging_pool(threads: usize) -> (Workers<usize>, Log) {
        let log: Log = Arc::default();
        let sink = Arc::clone(&log);
        let workers = Workers::new(threads, move |round: usize, m: Member<'_>| {
            // A barrier of all members returns only if they all run at the same time.
            m.barrier.wait();
            sink.lock().unwrap().push((round, m.part));
        })
        .unwrap();
        (workers, log)
    }

    #[test]
    fn every_member_runs_at_once() {
        let (workers, log) = logging_pool(3);
        for (round, threads) in [1, 2, 3, 3, 2].into_iter().enumerate() {
            workers.reserve(threads).unwrap().run(round);
            let mut parts: Vec<usize> = log
                .lock()
                .unwrap()
                .iter()
                .filter(|(r, _)| *r == round)
                .map(|(_, p)| *p)
                .collect();
            parts.sort();
            assert_eq!(parts, (0..threads).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_busy_pool_is_not_shared() {
        let (workers, _) = logging_pool(2);
        let crew = workers.reserve(2).unwrap();
        assert!(workers.reserve(2).is_none());
        drop(crew);
        assert!(workers.reserve(2).is_some());
    }

    #[test]
    fn only_a_call_alone_shares_its_work() {
        let (workers, _) = logging_pool(2);
        let first = workers.enter(2);
        assert!(first.crew().is_some());
        // A second call while the first is in flight runs alone, and so does a call that
        // overlaps a single-threaded one.
        let second = workers.enter(2);
        assert!(second.crew().is_none());
        drop(first);
        assert!(
            workers.enter(2).crew().is_none(),
            "the second is still in flight"
        );
        drop(second);
        assert!(workers.enter(2).crew().is_some());
        assert!(workers.enter(1).crew().is_none());
    }

    /// Workers asleep between calls (after a pause longer than their spinning) still run
    /// the next call, and dropping the pool stops them.
    #[test]
    fn sleeping_workers_wake_for_the_next_call_and_stop_on_drop() {
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&runs);
        let workers = Workers::new(3, move |_: (), m: Member<'_>| {
            m.barrier.wait();
            counter.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
        for _ in 0..3 {
            std::thread::sleep(std::time::Duration::from_millis(30));
            workers.reserve(3).unwrap().run(());
        }
        assert_eq!(runs.load(Ordering::SeqCst), 9);
        drop(workers);
    }
}
