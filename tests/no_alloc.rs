//! `forward_into` (and a cell module's `step_into`) allocates nothing once its context has
//! room for the call, on one thread and split between several. Alone in its test binary,
//! so that no other test allocates while it counts (the counter counts every thread's
//! allocations).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use rnnc::{CompileOptions, CompiledRnn, ForwardContext, RnnSpec, Tensor, TensorView, Weights};

struct Counting;
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn forward_into_and_step_into_allocate_nothing_after_reserve() {
    // One test, so that the counts of the thread counts cannot interleave.
    for threads in [1, 2, 3] {
        allocates_nothing(threads);
        steps_allocate_nothing(threads);
    }
}

/// `model` compiled for `threads` threads, every call split between all of them however
/// small, with packed weights.
fn compiled(model: &rnnc::Model, threads: usize) -> (CompiledRnn, rnnc::PackedWeights) {
    let options = CompileOptions {
        threads,
        min_flops_per_thread: 0,
        min_flops_per_frame_thread: 0,
        ..CompileOptions::default()
    };
    let rnn = CompiledRnn::with_options(model, &options).unwrap();
    let packed = rnn.pack(&Weights::init(model, 3)).unwrap();
    (rnn, packed)
}

fn allocates_nothing(threads: usize) {
    let model = RnnSpec::builder(8, 24).num_layers(2).build().unwrap();
    let (rnn, packed) = compiled(&model, threads);
    let mut ctx = ForwardContext::new();
    ctx.reserve(&rnn, 10, 4).unwrap();
    let x = vec![0.25f32; 10 * 4 * 8];
    let mut out = Tensor::<f32>::zeros(vec![10, 4, 24]);
    let mut h_n = Tensor::<f32>::zeros(vec![2, 4, 24]);
    let lengths = [10, 3, 7, 1];
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    for _ in 0..10 {
        rnn.forward_into(
            &packed,
            &mut ctx,
            TensorView::new(&[10, 4, 8], &x).unwrap(),
            None,
            Some(&lengths),
            out.view_mut(),
            h_n.view_mut().into(),
        )
        .unwrap();
    }
    assert_eq!(
        ALLOCATIONS.load(Ordering::SeqCst),
        before,
        "forward_into allocated ({threads} threads)"
    );
    // And the counter does count: an ordinary forward allocates its outputs.
    rnn.forward(
        &packed,
        TensorView::new(&[10, 4, 8], &x).unwrap(),
        None,
        None,
    )
    .unwrap();
    assert!(ALLOCATIONS.load(Ordering::SeqCst) > before);
}

/// A cell module's `step_into` allocates nothing after `ctx.reserve(&rnn, 1, batch)`: the
/// kernel's output lives in the context, the states in the caller's two buffers.
fn steps_allocate_nothing(threads: usize) {
    let model = RnnSpec::builder(8, 24)
        .cell(rnnc::CellKind::LstmCell)
        .build()
        .unwrap();
    let (rnn, packed) = compiled(&model, threads);
    let mut ctx = ForwardContext::new();
    ctx.reserve(&rnn, 1, 4).unwrap();
    let x = vec![0.25f32; 4 * 8];
    let zeros = || rnnc::State {
        h: Tensor::<f32>::zeros(vec![4, 24]),
        c: Some(Tensor::<f32>::zeros(vec![4, 24])),
    };
    let (mut a, mut b) = (zeros(), zeros());
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    for _ in 0..10 {
        let input = TensorView::new(&[4, 8], &x).unwrap();
        rnn.step_into(&packed, &mut ctx, input, Some(a.view()), b.view_mut())
            .unwrap();
        std::mem::swap(&mut a, &mut b);
    }
    assert_eq!(
        ALLOCATIONS.load(Ordering::SeqCst),
        before,
        "step_into allocated ({threads} threads)"
    );
    assert_ne!(a.h.data(), zeros().h.data(), "the steps ran");
}
