//! The verifier rejects bad IR and names the function, the loop nest and the statement.
//!
//! Every check has a `; error:` filetest (`crates/ir/tests/filetests/verify_kernel_*.test`)
//! but those that text cannot reach, since the parser refuses or repairs what they catch:
//! those are here, on IR changed after parsing, as a pass could produce it.

use rnnc_kernel::{Buf, BufKind, Level, Module, Op, Param, Reg, Stmt, parse_module, verify_module};

fn errors(body: &str) -> String {
    let text = format!(
        "module m f32 vector=128 registers=16 packed=0 work=0\nfunc @forward(@x: f32 readonly, @y: f32, %n: i64) {{\n{body}\n}}\n"
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
    let text = "module m f32 vector=128 registers=16 packed=0 work=0\nfunc @f(@x: f32 readonly) {\n  %a: f32x8 = load.f32x8 @x[0]\n  %a = tanh %a\n  %a = sigmoid %a\n}\n";
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

/// A legal module's vectors are its target's machine vectors: `f32x8` and `f64x4` at 256
/// bits, and neither `f32x4` nor `f32x16` there; the header's target is checked as read.
#[test]
fn legal_types_follow_the_target() {
    let module = |vector: u32, ty: &str| {
        let dtype = &ty[..3];
        format!(
            "module m {dtype} vector={vector} registers=16 packed=0 work=0\nfunc @f(@x: {dtype} readonly) {{\n  %a: {ty} = load.{ty} @x[0]\n}}\n"
        )
    };
    let legal =
        |vector, ty| verify_module(&parse_module(&module(vector, ty)).unwrap(), Level::Legal);
    for (vector, ty) in [(256, "f32x8"), (256, "f64x4"), (256, "f32"), (128, "f32x4")] {
        legal(vector, ty).unwrap_or_else(|e| panic!("{ty} at {vector} bits: {e}"));
    }
    for (vector, ty) in [(256, "f32x4"), (256, "f32x16"), (128, "f64x4")] {
        let e = legal(vector, ty).unwrap_err().to_string();
        assert!(
            e.contains(&format!(
                "type {ty} is not a machine type of a {vector}-bit target"
            )),
            "{e}"
        );
    }
    let e = parse_module(&module(512, "f32")).unwrap_err().to_string();
    assert!(
        e.contains("vector width 512: rnnc emits 128 or 256-bit vectors"),
        "{e}"
    );
    let e = parse_module(&module(128, "f32").replace("registers=16", "registers=8"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("8 vector registers: a target has 16 or 32"),
        "{e}"
    );
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
    let e = parse_module("module m f32 vector=128 registers=16 packed=0 work=0\nfunc @f(@x: f32) {\n  %a: f32 = frobnicate %b\n}\n")
        .unwrap_err()
        .to_string();
    assert_eq!(e, "line 3: unknown operation `frobnicate`");
    let e = parse_module(
        "module m f32 vector=128 registers=16 packed=0 work=0\nfunc @f(@x: f32) {\n  %a = load.f32 @x[0]\n}\n",
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
    let head = "module m f32 vector=128 registers=16 packed=0 work=0\n";
    check(&format!("{head}phase steps @f @f\n{phase}")).unwrap();
    check(&format!("{head}{phase}")).unwrap();
    let e = check(&format!("{head}phase pair @f @g\n{phase}")).unwrap_err();
    assert!(e.contains("schedule: @g: no such function"), "{e}");
    let e = check(&format!(
        "{head}phase all @f\nfunc @f(@y: f32, %seq_len: i64, %batch: i64) {{\n}}\n"
    ))
    .unwrap_err();
    assert!(e.contains("schedule: @f: takes"), "{e}");
    // A frame names phase functions too, and prints and parses.
    let module = format!("{head}phase all @f\nframe @f @f\n{phase}");
    check(&module).unwrap();
    let parsed = parse_module(&module).unwrap();
    assert_eq!(parsed.frame, ["f", "f"]);
    assert_eq!(parse_module(&parsed.to_string()).unwrap(), parsed);
    let e = check(&format!("{head}frame @f @g\n{phase}")).unwrap_err();
    assert!(e.contains("schedule: @g: no such function"), "{e}");
    let e = check(&format!(
        "{head}frame @f\nfunc @f(@y: f32, %seq_len: i64, %batch: i64) {{\n}}\n"
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
            "module m f32 vector=128 registers=16 packed=0 work=0\n{states}\
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
    assert!(
        e.contains("func @forward: @x: this parameter has no role in a call"),
        "{e}"
    );
    check("", &format!("{good}, @x: f32 [4]")).unwrap();
}

const HEAD: &str = "module m f32 vector=128 registers=16 packed=0 work=0\n";

fn parsed(functions: &str) -> Module {
    parse_module(&format!("{HEAD}{functions}")).unwrap_or_else(|e| panic!("{e}"))
}

fn problems(module: &Module) -> Vec<String> {
    match verify_module(module, Level::Any) {
        Ok(()) => Vec::new(),
        Err(e) => e.problems.iter().map(|p| p.to_string()).collect(),
    }
}

/// The `n`th statement of function `f`'s body, which must be an instruction.
fn inst(module: &mut Module, f: usize, n: usize) -> &mut rnnc_kernel::Inst {
    match &mut module.functions[f].body[n] {
        Stmt::Inst(inst) => inst,
        other => panic!("not an instruction: {other:?}"),
    }
}

#[test]
fn register_names_are_unique() {
    let mut m = parsed("func @f() {\n  %a: i64 = iconst.i64 1\n  %b: i64 = iconst.i64 2\n}\n");
    assert!(problems(&m).is_empty());
    m.functions[0].regs[1].name = "a".into();
    assert_eq!(problems(&m), ["func @f: %a: two registers have this name"]);
}

#[test]
fn views_are_of_buffers_of_the_function() {
    let mut m = parsed("func @f(@x: f32) {\n  view @v: f32 = @x[0; 4]\n}\n");
    assert!(problems(&m).is_empty());
    let BufKind::View { base, .. } = &mut m.functions[0].bufs[1].kind else {
        panic!("@v is a view");
    };
    *base = Buf(7);
    assert_eq!(problems(&m), ["func @f: @v: view of an unknown buffer"]);
}

#[test]
fn callees_take_parameters_not_views() {
    let mut m = parsed(
        "func @g(@b: f32) {\n  view @v: f32 = @b[0; 4]\n}\nfunc @f(@y: f32) {\n  call @g(@y)\n}\n",
    );
    assert!(problems(&m).is_empty());
    m.functions[0].params[0] = Param::Buf(Buf(1));
    assert_eq!(
        problems(&m),
        ["func @f: `call @g`: argument 0: @v of the callee is not a parameter"]
    );
}

/// A function naming a register or buffer it does not have is checked no further (every
/// other check would look it up), and neither are calls from or to it.
#[test]
fn unknown_registers_and_buffers_are_caught_and_nothing_else_is_checked() {
    let text = "func @f(@y: f32) {\n  %a: f32 = fconst.f32 1\n  store @y[0], %a\n}\n\
                func @g(@y: f32) {\n  call @f()\n}\n";
    let m = parsed(text);
    assert_eq!(
        problems(&m),
        ["func @g: `call @f`: 0 arguments for 1 parameters"]
    );

    let mut unknown_value = m.clone();
    let Op::Store(_, _, value) = &mut inst(&mut unknown_value, 0, 1).op else {
        panic!("a store");
    };
    *value = Reg(9);
    assert_eq!(
        problems(&unknown_value),
        ["func @f: `store @y[0], %?9`: unknown register %?9"]
    );

    let mut unknown_buffer = m.clone();
    let Op::Store(buf, ..) = &mut inst(&mut unknown_buffer, 0, 1).op else {
        panic!("a store");
    };
    *buf = Buf(5);
    assert_eq!(
        problems(&unknown_buffer),
        ["func @f: `store @?5[0], %a`: unknown buffer @?5"]
    );

    let mut unknown_destination = m.clone();
    inst(&mut unknown_destination, 0, 0).dst = Some(Reg(3));
    assert_eq!(
        problems(&unknown_destination),
        ["func @f: `%?3 = fconst 1.0`: unknown register %?3"]
    );

    let mut unknown_parameters = m.clone();
    let params = &mut unknown_parameters.functions[0].params;
    params.push(Param::Scalar(Reg(4)));
    params.push(Param::Buf(Buf(6)));
    assert_eq!(
        problems(&unknown_parameters),
        [
            "func @f: %?4: a parameter the function does not have",
            "func @f: @?6: a parameter the function does not have",
        ]
    );

    let mut in_a_loop =
        parsed("func @f(@y: f32, %n: i64) {\n  for %i in 0..%n {\n    store @y[%i], %n\n  }\n}\n");
    let Stmt::Loop(l) = &mut in_a_loop.functions[0].body[0] else {
        panic!("a loop");
    };
    l.var = Reg(8);
    let [Stmt::Inst(store)] = &mut l.body[..] else {
        panic!("a store");
    };
    store.op = Op::Store(
        Buf(0),
        rnnc_kernel::Addr {
            index: Some(Reg(8)),
            offset: 0,
        },
        Reg(0),
    );
    assert_eq!(
        problems(&in_a_loop),
        [
            "func @f: `for %?8 in 0..%n`: unknown register %?8",
            "func @f > for %?8 in 0..%n: `store @y[%?8], %n`: unknown register %?8",
        ]
    );
}

#[test]
fn f32_constants_are_exact_and_destinations_fit_the_operation() {
    let m = parsed(
        "func @f(@y: f32) {\n  %a: f32 = fconst.f32 1\n  %n: i64 = iconst.i64 1\n  store @y[0], %a\n}\n",
    );
    assert!(problems(&m).is_empty());

    let mut inexact = m.clone();
    inst(&mut inexact, 0, 0).op = Op::Fconst(0.1);
    assert_eq!(
        problems(&inexact),
        ["func @f: `%a = fconst.f32 0.1`: 0.1 is not exactly an f32"]
    );

    let mut no_destination = m.clone();
    inst(&mut no_destination, 0, 1).dst = None;
    assert_eq!(
        problems(&no_destination),
        ["func @f: `iconst 1`: needs a destination"]
    );

    let mut store_destination = m.clone();
    inst(&mut store_destination, 0, 2).dst = Some(Reg(0));
    assert_eq!(
        problems(&store_destination),
        ["func @f: `%a = store @y[0], %a`: store has no destination"]
    );
}
