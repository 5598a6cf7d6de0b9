//! A multi-threaded model called in a forked child (what `multiprocessing` and DataLoader
//! workers do): its workers are the parent's threads and do not exist in the child, so
//! the call must run on the calling thread there, with the same results, instead of
//! waiting forever for them.

#![cfg(unix)]

use std::time::{Duration, Instant};

use rnnc::{CompileOptions, CompiledRnn, RnnSpec, TensorView, Weights};

unsafe extern "C" {
    fn fork() -> i32;
    fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
    fn kill(pid: i32, signal: i32) -> i32;
    fn _exit(status: i32) -> !;
}

const WNOHANG: i32 = 1;
const SIGKILL: i32 = 9;

/// Runs `child` in a forked child process and returns its exit status, or `None` if it
/// had not exited after `timeout` (it is killed then).
fn in_forked_child(child: impl FnOnce() -> i32, timeout: Duration) -> Option<i32> {
    // SAFETY: the child runs only `child` (rnnc's calls and plain computation on this
    // thread's data) and leaves with `_exit`, never returning into the test harness, whose
    // other threads do not exist there.
    let pid = unsafe { fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let status = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child)).unwrap_or(101);
        // SAFETY: ends the child without running the parent's destructors or handlers.
        unsafe { _exit(status) };
    }
    let start = Instant::now();
    loop {
        let mut status = 0;
        // SAFETY: waiting for our own child, with a valid status pointer.
        let done = unsafe { waitpid(pid, &mut status, WNOHANG) };
        if done == pid {
            return Some(status);
        }
        if start.elapsed() > timeout {
            // SAFETY: our own child.
            unsafe {
                kill(pid, SIGKILL);
                waitpid(pid, &mut status, 0);
            }
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_two_thread_model_runs_in_a_forked_child() {
    let model = RnnSpec::builder(24, 48).num_layers(2).build().unwrap();
    let options = CompileOptions {
        threads: 2,
        min_flops_per_thread: 0,
        min_flops_per_frame_thread: 0,
        ..CompileOptions::default()
    };
    let rnn = CompiledRnn::with_options(&model, &options).unwrap();
    let packed = rnn.pack(&Weights::init(&model, 7)).unwrap();
    let x: Vec<f32> = (0..6 * 3 * 24).map(|i| (i as f32 * 0.01).sin()).collect();
    let input = TensorView::new(&[6, 3, 24], &x).unwrap();
    // The parent's call starts and uses the workers (every call gets both threads here).
    let (expected, _) = rnn.forward(&packed, input, None, None).unwrap();
    // A second model with its own workers, dropped in the child: that neither waits for
    // the parent's threads nor crashes.
    let doomed = CompiledRnn::with_options(&model, &options).unwrap();
    let status = in_forked_child(
        || {
            let (output, _) = rnn.forward(&packed, input, None, None).unwrap();
            drop(doomed);
            if output.data() == expected.data() {
                0
            } else {
                1
            }
        },
        Duration::from_secs(60),
    );
    assert_eq!(
        status,
        Some(0),
        "the child hung (None) or computed other results (nonzero)"
    );
    // The parent's workers are untouched by the fork.
    let (again, _) = rnn.forward(&packed, input, None, None).unwrap();
    assert_eq!(again.data(), expected.data());
}
