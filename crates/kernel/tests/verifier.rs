//! The verifier rejects bad IR and names the function, the loop nest and the statement.

use rnnc_kernel::{Level, parse_module, verify_module};

fn errors(body: &str) -> String {
    let text = format!(
        "module m f32 vector=128 packed=0 work=0\nfunc @forward(@x: f32 readonly, @y: f32, %n: i64) {{\n{body}\n}}\n"
    );
    let module = parse_module(&text).unwrap_or_else(|e| panic!("{e}"));
    verify_module(&module, Level::Any).unwrap_err().to_string()
}

#[test]
fn type_errors_name_the_instruction() {
    let e =
        errors("  %a: f32x4 = load.f32x4 @x[0]\n  %b: f32 = load.f32 @x[0]\n  %a = fma %a, %b, %a");
    assert!(
        e.contains(
            "func @forward: `%a = fma %a, %b, %a`: result and operand: f32x4 and f32 differ"
        ),
        "{e}"
    );
}

#[test]
fn reads_before_assignment_are_caught_inside_loops() {
    let e = errors("  for %i in 0..%n {\n    %a: f32 = load.f32 @x[%i]\n  }\n  store @y[0], %a");
    assert!(
        e.contains("`store @y[0], %a`: %a is read before it is assigned"),
        "{e}"
    );
    let e = errors(
        "  regs f32: %c\n  for %i in 0..%n {\n    %b: f32 = fadd %c, %c\n    %c = load.f32 @x[%i]\n  }",
    );
    assert!(
        e.contains("func @forward > for %i in 0..%n: `%b = fadd %c, %c`: %c is read before"),
        "{e}"
    );
}

#[test]
fn stores_to_read_only_buffers_and_illegal_widths_are_caught() {
    let e = errors("  %a: f32 = load.f32 @x[0]\n  store @x[1], %a");
    assert!(e.contains("store to read-only @x"), "{e}");
    let text = "module m f32 vector=128 packed=0 work=0\nfunc @f(@x: f32 readonly) {\n  %a: f32x8 = load.f32x8 @x[0]\n  %a = tanh %a\n  %a = sigmoid %a\n}\n";
    let e = verify_module(&parse_module(text).unwrap(), Level::Legal)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("type f32x8 is not a machine type of a 128-bit target"),
        "{e}"
    );
    assert!(e.contains("tanh must be expanded before codegen"), "{e}");
    assert!(e.contains("sigmoid must be expanded before codegen"), "{e}");
}

#[test]
fn loops_must_not_assign_their_variable() {
    let e = errors("  for %i in 0..4 {\n    %i = iconst.i64 3\n  }");
    assert!(
        e.contains("for %i in 0..4`: the body assigns the induction variable"),
        "{e}"
    );
}

#[test]
fn parse_errors_name_the_line() {
    let e = parse_module("module m f32 vector=128 packed=0 work=0\nfunc @f(@x: f32) {\n  %a: f32 = frobnicate %b\n}\n")
        .unwrap_err()
        .to_string();
    assert_eq!(e, "line 3: unknown operation `frobnicate`");
    let e = parse_module(
        "module m f32 vector=128 packed=0 work=0\nfunc @f(@x: f32) {\n  %a = load.f32 @x[0]\n}\n",
    )
    .unwrap_err()
    .to_string();
    assert_eq!(e, "line 3: undeclared register `%a`");
}

/// A schedule names phase functions of the module that take the phase parameters. (That a
/// model's module has `forward` or a schedule is the runtime's convention, not the IR's.)
#[test]
fn schedules_name_phase_functions() {
    let check = |text: &str| {
        let module = parse_module(text).unwrap_or_else(|e| panic!("{e}"));
        verify_module(&module, Level::Any).map_err(|e| e.to_string())
    };
    let phase =
        "func @f(@y: f32, %seq_len: i64, %batch: i64, %n: i64, %part: i64, %parts: i64) {\n}\n";
    let head = "module m f32 vector=128 packed=0 work=0\n";
    check(&format!("{head}phase steps @f @f\n{phase}")).unwrap();
    check(&format!("{head}{phase}")).unwrap();
    let e = check(&format!("{head}phase pair @f @g\n{phase}")).unwrap_err();
    assert!(e.contains("schedule: @g: no such function"), "{e}");
    let e = check(&format!(
        "{head}phase all @f\nfunc @f(@y: f32, %seq_len: i64, %batch: i64) {{\n}}\n"
    ))
    .unwrap_err();
    assert!(e.contains("schedule: @f: takes"), "{e}");
}

/// A module that declares states is called through the runtime's contract: every
/// parameter of `forward` has a role, and each state's initial and final value is passed
/// with the state's size. Modules without states (hand-written tests) are not held to it.
#[test]
fn entry_points_take_every_state_with_its_size() {
    let check = |states: &str, params: &str| {
        let text = format!(
            "module m f32 vector=128 packed=0 work=0\n{states}\
             func @forward({params}, %seq_len: i64, %batch: i64) {{\n}}\n"
        );
        let module = parse_module(&text).unwrap_or_else(|e| panic!("{e}"));
        verify_module(&module, Level::Any).map_err(|e| e.to_string())
    };
    let state = "state h width=3 layers=1 directions=2\n";
    let good = "@input: f32 readonly [LN*2], @h0: f32 readonly nullable [N*6], \
                @output: f32 [LN*6], @h_n: f32 [N*6]";
    check(state, good).unwrap();
    let e = check(
        state,
        "@input: f32 readonly [LN*2], @output: f32 [LN*6], @h_n: f32 [N*6]",
    )
    .unwrap_err();
    assert!(
        e.contains("state h needs this parameter of N*6 elements, found none"),
        "{e}"
    );
    let e = check(state, &good.replace("@h_n: f32 [N*6]", "@h_n: f32 [N*3]")).unwrap_err();
    assert!(e.contains("found N*3 elements"), "{e}");
    let e = check(state, &format!("{good}, @x: f32 [4]")).unwrap_err();
    assert!(e.contains("parameter `x` has no role in a call"), "{e}");
    check("", &format!("{good}, @x: f32 [4]")).unwrap();
}
