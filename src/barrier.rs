//! How the threads of one forward call wait for each other: a [`Signal`] (a counter to wait
//! on) and the [`SpinBarrier`] between phases and steps built on it.
//!
//! Steps of a recurrence take microseconds, so a waiting thread first spins on an atomic
//! (no system call, a wake-up within nanoseconds), then yields its core a few times, then
//! sleeps on a condition variable. Sleeping matters when the machine is oversubscribed
//! (more runnable threads than cores): a thread that only spins or yields keeps a core
//! from the very thread it waits for. Nothing here allocates.
//!
//! Ordering: a bump is a sequentially consistent read-modify-write and a wait ends with a
//! sequentially consistent load of the bumped value, so what a thread wrote before `bump`
//! (or before arriving at a barrier) is visible to every thread after its wait returns.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

/// Spins before a waiter yields: a few microseconds, longer than most steps' imbalance.
const SPINS: u32 = 1 << 11;
/// Yields before a waiter sleeps.
const YIELDS: u32 = 8;

/// A counter that threads can wait to see change.
pub(crate) struct Signal {
    count: AtomicU64,
    /// Threads asleep in `wait_past` (or about to be): a bump wakes them.
    sleepers: AtomicUsize,
    lock: Mutex<()>,
    wake: Condvar,
}

impl Signal {
    pub fn new() -> Signal {
        Signal {
            count: AtomicU64::new(0),
            sleepers: AtomicUsize::new(0),
            lock: Mutex::new(()),
            wake: Condvar::new(),
        }
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.count.load(Ordering::SeqCst)
    }

    /// Adds one and wakes every sleeping waiter.
    pub fn bump(&self) {
        self.count.fetch_add(1, Ordering::SeqCst);
        // A waiter counts itself as a sleeper before its last look at the count, under the
        // lock; taking the lock here means it either saw this bump or is waiting already.
        if self.sleepers.load(Ordering::SeqCst) > 0 {
            drop(self.lock.lock().unwrap_or_else(|p| p.into_inner()));
            self.wake.notify_all();
        }
    }

    /// Returns the count once it differs from `seen`: spinning, then yielding, then asleep.
    pub fn wait_past(&self, seen: u64) -> u64 {
        for _ in 0..SPINS {
            let now = self.count.load(Ordering::SeqCst);
            if now != seen {
                return now;
            }
            std::hint::spin_loop();
        }
        for _ in 0..YIELDS {
            let now = self.count.load(Ordering::SeqCst);
            if now != seen {
                return now;
            }
            std::thread::yield_now();
        }
        let mut guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        let mut now = self.count.load(Ordering::SeqCst);
        while now == seen {
            guard = self.wake.wait(guard).unwrap_or_else(|p| p.into_inner());
            now = self.count.load(Ordering::SeqCst);
        }
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
        now
    }
}

/// A reusable barrier for the threads of one call.
pub(crate) struct SpinBarrier {
    threads: AtomicUsize,
    arrived: AtomicUsize,
    generation: Signal,
}

impl SpinBarrier {
    pub fn new(threads: usize) -> SpinBarrier {
        SpinBarrier {
            threads: AtomicUsize::new(threads),
            arrived: AtomicUsize::new(0),
            generation: Signal::new(),
        }
    }

    /// Sets the number of threads for the next call. Only while no thread waits.
    pub fn reset(&self, threads: usize) {
        self.threads.store(threads, Ordering::SeqCst);
        self.arrived.store(0, Ordering::SeqCst);
    }

    /// Returns once all threads have called `wait` (for this generation).
    pub fn wait(&self) {
        let generation = self.generation.get();
        let threads = self.threads.load(Ordering::Relaxed);
        if self.arrived.fetch_add(1, Ordering::AcqRel) + 1 == threads {
            self.arrived.store(0, Ordering::Relaxed);
            self.generation.bump();
            return;
        }
        self.generation.wait_past(generation);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn no_thread_passes_before_all_arrive() {
        let barrier = SpinBarrier::new(3);
        let counter = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| {
                    for round in 0..200 {
                        counter.fetch_add(1, Ordering::SeqCst);
                        barrier.wait();
                        // Everyone incremented for this round before anyone reads.
                        assert!(counter.load(Ordering::SeqCst) >= 3 * (round + 1));
                        barrier.wait();
                    }
                });
            }
        });
        assert_eq!(counter.load(Ordering::SeqCst), 600);
    }

    /// Waiters that fell asleep are woken: one thread arrives long after the others have
    /// spun and yielded, every round.
    #[test]
    fn sleeping_waiters_are_woken() {
        let barrier = SpinBarrier::new(3);
        let rounds = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for late in [true, false, false] {
                let (barrier, rounds) = (&barrier, &rounds);
                s.spawn(move || {
                    for _ in 0..5 {
                        if late {
                            std::thread::sleep(std::time::Duration::from_millis(20));
                            rounds.fetch_add(1, Ordering::SeqCst);
                        }
                        barrier.wait();
                    }
                });
            }
        });
        assert_eq!(rounds.load(Ordering::SeqCst), 5);
        assert_eq!(barrier.generation.sleepers.load(Ordering::SeqCst), 0);
    }
}
