//! `run_schedule` runs phases part by part and reports accesses that would race between
//! threads.

use rnnc_interp::{Arg, InterpError, run_schedule};
use rnnc_kernel::{Valid, parse_module, verify};

/// A module run by `schedule`, with phase functions `@f` (whose body is `body`) and `@g`
/// (which copies `y[0]` to `y[1]`).
fn module(schedule: &str, body: &str) -> Valid {
    let text = format!(
        "module demo f32 vector=128 registers=16 packed=0 work=0\n{schedule}\n\
         func @f(@y: f32, %seq_len: i64, %batch: i64, %n: i64, %part: i64, %parts: i64) {{\n\
         regs i64: %i\n regs f32: %v %w\n{body}\n}}\n\
         func @g(@y: f32, %seq_len: i64, %batch: i64, %n: i64, %part: i64, %parts: i64) {{\n\
         regs f32: %v\n %v = load.f32 @y[0]\n store @y[1], %v\n}}\n"
    );
    let module = parse_module(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    verify(module).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn run(module: &Valid, parts: usize) -> (Result<(), InterpError>, Vec<f32>) {
    let mut y = vec![0f32; 8];
    let mut args = vec![Arg::F32Mut(&mut y), Arg::Scalar(3), Arg::Scalar(1)];
    let result = run_schedule(module, &mut args, parts);
    drop(args);
    (result, y)
}

const OWN_ELEMENT: &str = " %i = copy %part\n %v = fconst.f32 1.0\n store @y[%i], %v";

#[test]
fn parts_that_write_their_own_elements_do_not_race() {
    let m = module("phase all @f", OWN_ELEMENT);
    for parts in 1..=4 {
        let (result, y) = run(&m, parts);
        result.unwrap();
        assert_eq!(y.iter().filter(|&&v| v == 1.0).count(), parts);
    }
}

#[test]
fn two_parts_writing_one_element_race() {
    let m = module("phase all @f", " %v = fconst.f32 1.0\n store @y[0], %v");
    run(&m, 1).0.unwrap();
    let err = run(&m, 2).0.unwrap_err();
    assert!(
        matches!(
            err,
            InterpError::Race {
                part: 1,
                other: 0,
                element: 0,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("part 1 writes element 0 of @y, which part 0 wrote"),
        "{err}"
    );
}

#[test]
fn reading_what_another_part_writes_races_unless_a_barrier_separates_them() {
    // Part 0 writes y[0]; every part reads y[0] and writes its own element.
    let body = " %i = copy %part\n %v = fconst.f32 1.0\n %w = load.f32 @y[0]\n \
                store @y[%i], %v";
    let m = module("phase all @f", body);
    let err = run(&m, 2).0.unwrap_err();
    assert!(
        err.to_string()
            .contains("part 1 reads element 0 of @y, which part 0 wrote"),
        "{err}"
    );
    // Across steps, a barrier separates the write from the next step's reads.
    let steps = module("phase steps @f @g", OWN_ELEMENT);
    run(&steps, 3).0.unwrap();
}

#[test]
fn steps_run_per_step_with_several_parts_and_in_one_call_with_one() {
    let m = module("phase steps @f @g", OWN_ELEMENT);
    // Several parts: @f for every step, each part storing 1.0 in its own element.
    let (result, y) = run(&m, 3);
    result.unwrap();
    assert_eq!(y, [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    // One part: only @g, which copies y[0] (still 0.0) to y[1].
    let (result, y) = run(&m, 1);
    result.unwrap();
    assert_eq!(y, [0.0; 8]);
    let m = module("phase one @f\nphase steps @f @g", OWN_ELEMENT);
    let (result, y) = run(&m, 1);
    result.unwrap();
    assert_eq!(&y[..2], [1.0, 1.0]);
}

#[test]
fn the_two_functions_of_a_pair_are_two_parts() {
    // @g reads y[0], which @f writes: fine one after the other, a race side by side.
    let m = module("phase pair @f @g", " %v = fconst.f32 1.0\n store @y[0], %v");
    let (result, y) = run(&m, 1);
    result.unwrap();
    assert_eq!(y[1], 1.0);
    let err = run(&m, 2).0.unwrap_err();
    assert!(
        err.to_string()
            .contains("part 1 reads element 0 of @y, which part 0 wrote"),
        "{err}"
    );
    // Separate phases do not race.
    let m = module(
        "phase one @f\nphase one @g",
        " %v = fconst.f32 1.0\n store @y[0], %v",
    );
    run(&m, 2).0.unwrap();
}
