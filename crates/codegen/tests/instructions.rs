//! Every kernel IR instruction, on every legal type, run by the interpreter and as native
//! code, compared bit for bit: the per-instruction half of the invariant that native code
//! is the interpreter (the model-level half is the root crate's `jit_vs_interp`). The
//! float instructions also run at `f32x8` and `f64x4`, and the bitwise ones at `i64x4`
//! (256-bit code), where this machine has AVX2 and FMA; elsewhere the tests say they
//! skipped them.
//!
//! Each test builds a small function `@k(@a, @b, @c, @out, %n)` that loads operands from
//! `a`, `b` and `c`, applies one instruction and stores the result, and feeds it edge
//! values: zeros of both signs, subnormals, the largest finite values, infinities, NaN,
//! values around rounding ties, every pair (or triple) of them, in every lane position.
//! Results must have the same bits, except that any NaN equals any NaN: which operand's
//! NaN payload survives an operation is the machine's choice, and torch does not tell NaNs
//! apart.
//!
//! Calling the generated code needs `unsafe`; every call here passes buffers of the sizes
//! the function reads and writes, which the interpreter checks on the same IR first.

use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::default_libcall_names;
use rnnc_codegen::{Entries, OptLevel, define_kernels, host_isa};
use rnnc_interp::{Arg, run_function};
use rnnc_kernel::{Legal, parse_module, verify_legal};

/// The element type of a buffer.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Elem {
    F32,
    F64,
    I64,
}

/// A buffer's elements as raw bits (an f32 in the low 32 bits).
#[derive(Clone, Debug)]
struct Buffer {
    elem: Elem,
    bits: Vec<u64>,
}

impl Buffer {
    fn f32s(v: &[f32]) -> Buffer {
        Buffer {
            elem: Elem::F32,
            bits: v.iter().map(|x| x.to_bits() as u64).collect(),
        }
    }
    fn f64s(v: &[f64]) -> Buffer {
        Buffer {
            elem: Elem::F64,
            bits: v.iter().map(|x| x.to_bits()).collect(),
        }
    }
    fn i64s(v: &[i64]) -> Buffer {
        Buffer {
            elem: Elem::I64,
            bits: v.iter().map(|&x| x as u64).collect(),
        }
    }
    fn zeros(elem: Elem, len: usize) -> Buffer {
        Buffer {
            elem,
            bits: vec![0; len],
        }
    }
    /// Pads with copies of the first elements to a multiple of `lanes`.
    fn padded(mut self, lanes: usize) -> Buffer {
        let mut i = 0;
        while !self.bits.len().is_multiple_of(lanes) {
            self.bits.push(self.bits[i]);
            i += 1;
        }
        self
    }
}

/// Owned typed copies of a buffer, for the interpreter and for native code.
enum Typed {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I64(Vec<i64>),
}

impl Typed {
    fn of(b: &Buffer) -> Typed {
        match b.elem {
            Elem::F32 => Typed::F32(b.bits.iter().map(|&x| f32::from_bits(x as u32)).collect()),
            Elem::F64 => Typed::F64(b.bits.iter().map(|&x| f64::from_bits(x)).collect()),
            Elem::I64 => Typed::I64(b.bits.iter().map(|&x| x as i64).collect()),
        }
    }
    fn arg(&self) -> Arg<'_> {
        match self {
            Typed::F32(v) => Arg::F32(v),
            Typed::F64(v) => Arg::F64(v),
            Typed::I64(v) => Arg::I64(v),
        }
    }
    fn arg_mut(&mut self) -> Arg<'_> {
        match self {
            Typed::F32(v) => Arg::F32Mut(v),
            Typed::F64(v) => Arg::F64Mut(v),
            Typed::I64(_) => panic!("outputs are float buffers or read back as bits"),
        }
    }
    fn ptr(&self) -> *const u8 {
        match self {
            Typed::F32(v) => v.as_ptr().cast(),
            Typed::F64(v) => v.as_ptr().cast(),
            Typed::I64(v) => v.as_ptr().cast(),
        }
    }
    fn ptr_mut(&mut self) -> *mut u8 {
        match self {
            Typed::F32(v) => v.as_mut_ptr().cast(),
            Typed::F64(v) => v.as_mut_ptr().cast(),
            Typed::I64(v) => v.as_mut_ptr().cast(),
        }
    }
    fn bits(&self) -> Vec<u64> {
        match self {
            Typed::F32(v) => v.iter().map(|x| x.to_bits() as u64).collect(),
            Typed::F64(v) => v.iter().map(|x| x.to_bits()).collect(),
            Typed::I64(v) => v.iter().map(|&x| x as u64).collect(),
        }
    }
}

/// The module, verified legal for codegen.
fn verify(module: rnnc_kernel::Module) -> Legal {
    let text = module.to_string();
    verify_legal(module).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

type Kernel = unsafe extern "C" fn(*const u8, *const u8, *const u8, *mut u8, i64);

/// Runs `@k` of `ir` on the inputs in the interpreter and natively (at both optimization
/// levels), `n` iterations, and checks that all outputs agree. Integer outputs are written
/// to an f64 buffer through a bitcast, since only float buffers are written by kernels.
fn check(what: &str, ir: &str, inputs: [&Buffer; 3], out: Elem, out_len: usize, n: i64) {
    let module = verify(parse_module(ir).unwrap_or_else(|e| panic!("{what}: {e}\n{ir}")));
    let typed: Vec<Typed> = inputs.iter().map(|b| Typed::of(b)).collect();
    let mut expected = Typed::of(&Buffer::zeros(out, out_len));
    {
        let mut args = vec![
            typed[0].arg(),
            typed[1].arg(),
            typed[2].arg(),
            expected.arg_mut(),
            Arg::Scalar(n),
        ];
        run_function(module.valid(), "k", &mut args).unwrap_or_else(|e| panic!("{what}: {e}"));
    }
    for opt in [OptLevel::None, OptLevel::Speed] {
        let isa = host_isa(opt).expect("this machine runs rnnc's kernels");
        let mut jit = JITModule::new(JITBuilder::with_isa(isa, default_libcall_names()));
        let kernels = define_kernels(&mut jit, &module, None, Entries::Direct)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        jit.finalize_definitions().unwrap();
        let (_, id) = kernels.entries.iter().find(|(n, _)| n == "k").unwrap();
        let code = jit.get_finalized_function(*id);
        let mut got = Typed::of(&Buffer::zeros(out, out_len));
        // SAFETY: `k` has the signature of `Kernel` (four pointers, one i64) and reads
        // and writes exactly what the interpreter read and wrote above, within the
        // buffers passed here (the interpreter checks every access).
        unsafe {
            let k = std::mem::transmute::<*const u8, Kernel>(code);
            k(
                typed[0].ptr(),
                typed[1].ptr(),
                typed[2].ptr(),
                got.ptr_mut(),
                n,
            );
        }
        compare(what, opt, out, &got.bits(), &expected.bits(), inputs);
        // SAFETY: no pointer into the code is used past this point.
        unsafe { jit.free_memory() };
    }
}

fn is_nan(elem: Elem, bits: u64) -> bool {
    match elem {
        Elem::F32 => f32::from_bits(bits as u32).is_nan(),
        Elem::F64 => f64::from_bits(bits).is_nan(),
        Elem::I64 => false,
    }
}

fn compare(what: &str, opt: OptLevel, elem: Elem, got: &[u64], want: &[u64], inputs: [&Buffer; 3]) {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let same = g == w || (is_nan(elem, *g) && is_nan(elem, *w));
        assert!(
            same,
            "{what} ({opt:?}): element {i}: native {g:#x}, interpreter {w:#x}; inputs a {:#x?}",
            inputs[0].bits.get(i)
        );
    }
}

/// A kernel applying `op` (IR text over `%x`, `%y`, `%z`, loaded from `a`, `b`, `c` as
/// `in_ty`) and storing `%r: out_ty`, one vector per iteration.
fn kernel(in_tys: [&str; 3], out_ty: &str, op: &str) -> String {
    let lanes = |ty: &str| ty.split_once('x').map_or(1, |(_, l)| l.parse().unwrap());
    let elem = |ty: &str| ty.split('x').next().unwrap().to_string();
    let [a, b, c] = in_tys;
    format!(
        "module m f32 vector={bits} registers=16 packed=0 work=0
func @k(@a: {ea} readonly, @b: {eb} readonly, @c: {ec} readonly, @out: {eo}, %n: i64) {{
  for %i in 0..%n {{
    %ia: i64 = imul %i, {la}
    %io: i64 = imul %i, {lo}
    %x: {a} = load.{a} @a[%ia]
    %y: {b} = load.{b} @b[%ia]
    %z: {c} = load.{c} @c[%ia]
    %r: {out_ty} = {op}
    store @out[%io], %r
  }}
}}
",
        ea = elem(a),
        eb = elem(b),
        ec = elem(c),
        eo = elem(out_ty),
        la = lanes(a),
        lo = lanes(out_ty),
        bits = in_tys
            .iter()
            .chain([&out_ty])
            .map(|t| vector_bits(t))
            .max()
            .unwrap(),
    )
}

/// The vector width a module needs for values of type `ty`: 128 bits, or the type's own
/// when wider.
fn vector_bits(ty: &str) -> usize {
    let (elem, lanes) = ty.split_once('x').unwrap_or((ty, "1"));
    let elem_bits: usize = elem[1..].parse().unwrap();
    (elem_bits * lanes.parse::<usize>().unwrap()).max(128)
}

/// The 256-bit types when this machine runs 256-bit code (AVX2 and FMA), else none, said
/// once per test.
fn wide(test: &str, types: &[&'static str]) -> Vec<&'static str> {
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        types.to_vec()
    } else {
        println!("{test}: 256-bit types skipped, this CPU lacks AVX2 or FMA");
        Vec::new()
    }
}

/// Like `kernel`, for integer results: stored through a bitcast to f64 lanes.
fn int_kernel(in_tys: [&str; 3], out_ty: &str, op: &str) -> String {
    let float_ty = out_ty.replace("i64", "f64");
    let text = kernel(in_tys, &float_ty, "bitcast.FLOAT %ri");
    text.replace(
        &format!("    %r: {float_ty} = bitcast.FLOAT %ri"),
        &format!("    %ri: {out_ty} = {op}\n    %r: {float_ty} = bitcast.{float_ty} %ri"),
    )
}

fn f32_edges() -> Vec<f32> {
    vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        -1.5,
        3.0,
        0.1,
        1.0 + f32::EPSILON,
        16_777_217.0,
        7.998_811_7,
        -20.0,
        1e-30,
        -1e30,
        f32::from_bits(1),
        -f32::from_bits(1),
        f32::from_bits(0x007f_ffff),
        f32::MIN_POSITIVE,
        f32::MAX,
        -f32::MAX,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        -f32::NAN,
    ]
}

fn f64_edges() -> Vec<f64> {
    vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        -1.5,
        3.0,
        0.1,
        1.0 + f64::EPSILON,
        9_007_199_254_740_993.0,
        0.625,
        22.5,
        -1e-300,
        1e300,
        f64::from_bits(1),
        -f64::from_bits(1),
        f64::from_bits(0x000f_ffff_ffff_ffff),
        f64::MIN_POSITIVE,
        f64::MAX,
        -f64::MAX,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        -f64::NAN,
    ]
}

fn i64_edges() -> Vec<i64> {
    vec![
        0,
        1,
        -1,
        2,
        3,
        7,
        63,
        64,
        1 << 31,
        -(1 << 32),
        0x5555_5555_5555_5555,
        i64::MAX,
        i64::MIN,
        i64::MIN + 1,
    ]
}

/// Every ordered pair of `edges`, as two buffers.
fn pairs<T: Copy>(edges: &[T]) -> (Vec<T>, Vec<T>) {
    let mut a = Vec::new();
    let mut b = Vec::new();
    for &x in edges {
        for &y in edges {
            a.push(x);
            b.push(y);
        }
    }
    (a, b)
}

/// Every ordered triple of `edges`.
fn triples<T: Copy>(edges: &[T]) -> (Vec<T>, Vec<T>, Vec<T>) {
    let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
    for &x in edges {
        for &y in edges {
            for &z in edges {
                a.push(x);
                b.push(y);
                c.push(z);
            }
        }
    }
    (a, b, c)
}

/// Runs a lane-wise operation over buffers of `len` elements, `lanes` per iteration.
fn lanewise(what: &str, ty: &str, elem: Elem, inputs: [Buffer; 3], op: &str, int: bool) {
    let lanes: usize = ty.split_once('x').map_or(1, |(_, l)| l.parse().unwrap());
    let inputs = inputs.map(|b| b.padded(lanes));
    let len = inputs[0].bits.len();
    let n = (len / lanes) as i64;
    let (text, out) = if int {
        (int_kernel([ty, ty, ty], ty, op), Elem::F64)
    } else {
        (kernel([ty, ty, ty], ty, op), elem)
    };
    check(
        what,
        &text,
        [&inputs[0], &inputs[1], &inputs[2]],
        out,
        len,
        n,
    );
}

/// Scalars, 128-bit vectors and, where this machine runs them, 256-bit vectors of f32 and
/// f64, each with its edge values.
fn float_types() -> Vec<(&'static str, Elem, Vec<u64>)> {
    let f32s = Buffer::f32s(&f32_edges()).bits;
    let f64s = Buffer::f64s(&f64_edges()).bits;
    let mut types = vec![
        ("f32", Elem::F32, f32s.clone()),
        ("f32x4", Elem::F32, f32s.clone()),
        ("f64", Elem::F64, f64s.clone()),
        ("f64x2", Elem::F64, f64s.clone()),
    ];
    for ty in wide("float types", &["f32x8", "f64x4"]) {
        let (elem, bits) = if ty.starts_with("f32") {
            (Elem::F32, f32s.clone())
        } else {
            (Elem::F64, f64s.clone())
        };
        types.push((ty, elem, bits));
    }
    types
}

fn buffer(elem: Elem, bits: Vec<u64>) -> Buffer {
    Buffer { elem, bits }
}

#[test]
fn float_arithmetic() {
    for (ty, elem, edges) in float_types() {
        let (a, b) = pairs(&edges);
        for op in ["fadd", "fsub", "fmul", "fdiv"] {
            let inputs = [
                buffer(elem, a.clone()),
                buffer(elem, b.clone()),
                buffer(elem, a.clone()),
            ];
            lanewise(
                &format!("{op}.{ty}"),
                ty,
                elem,
                inputs,
                &format!("{op} %x, %y"),
                false,
            );
        }
    }
}

#[test]
fn fused_multiply_add_rounds_once() {
    for (ty, elem, edges) in float_types() {
        let (a, b, c) = triples(&edges[..14]);
        let inputs = [buffer(elem, a), buffer(elem, b), buffer(elem, c)];
        lanewise(
            &format!("fma.{ty}"),
            ty,
            elem,
            inputs,
            "fma %x, %y, %z",
            false,
        );
    }
    // A case where one rounding and two differ: (1 + 2^-12)^2 - 1.
    let a = 1.0 + 2f32.powi(-12);
    let inputs = [
        Buffer::f32s(&[a; 4]),
        Buffer::f32s(&[a; 4]),
        Buffer::f32s(&[-1.0; 4]),
    ];
    lanewise(
        "fma.f32x4 tie",
        "f32x4",
        Elem::F32,
        inputs,
        "fma %x, %y, %z",
        false,
    );
}

#[test]
fn bitwise_logic_on_floats_and_integers() {
    for (ty, elem, edges) in float_types() {
        let (a, b) = pairs(&edges);
        for op in ["band", "bor", "bxor"] {
            let inputs = [
                buffer(elem, a.clone()),
                buffer(elem, b.clone()),
                buffer(elem, a.clone()),
            ];
            lanewise(
                &format!("{op}.{ty}"),
                ty,
                elem,
                inputs,
                &format!("{op} %x, %y"),
                false,
            );
        }
    }
    let (a, b) = pairs(&i64_edges());
    let i64x4 = wide("bitwise_logic_on_floats_and_integers", &["i64x4"]);
    for ty in ["i64", "i64x2"].into_iter().chain(i64x4) {
        for op in ["band", "bor", "bxor"] {
            let inputs = [Buffer::i64s(&a), Buffer::i64s(&b), Buffer::i64s(&a)];
            lanewise(
                &format!("{op}.{ty}"),
                ty,
                Elem::I64,
                inputs,
                &format!("{op} %x, %y"),
                true,
            );
        }
    }
}

#[test]
fn integer_arithmetic_wraps() {
    let edges = i64_edges();
    let (a, b) = pairs(&edges);
    for ty in ["i64", "i64x2"] {
        for op in ["iadd", "isub"] {
            let inputs = [Buffer::i64s(&a), Buffer::i64s(&b), Buffer::i64s(&a)];
            lanewise(
                &format!("{op}.{ty}"),
                ty,
                Elem::I64,
                inputs,
                &format!("{op} %x, %y"),
                true,
            );
            // The immediate form.
            let inputs = [
                Buffer::i64s(&edges),
                Buffer::i64s(&edges),
                Buffer::i64s(&edges),
            ];
            lanewise(
                &format!("{op}.{ty} imm"),
                ty,
                Elem::I64,
                inputs,
                &format!("{op} %x, -7"),
                true,
            );
        }
        for shift in [0, 1, 31, 52, 63] {
            let inputs = [
                Buffer::i64s(&edges),
                Buffer::i64s(&edges),
                Buffer::i64s(&edges),
            ];
            let op = format!("ishl %x, {shift}");
            lanewise(&format!("{op} {ty}"), ty, Elem::I64, inputs, &op, true);
        }
    }
    // Scalars only: multiplication and unsigned division (never by zero in lowered code).
    let inputs = [Buffer::i64s(&a), Buffer::i64s(&b), Buffer::i64s(&a)];
    lanewise("imul.i64", "i64", Elem::I64, inputs, "imul %x, %y", true);
    let divisors: Vec<i64> = b.iter().map(|&d| if d == 0 { 5 } else { d }).collect();
    let inputs = [Buffer::i64s(&a), Buffer::i64s(&divisors), Buffer::i64s(&a)];
    lanewise("udiv.i64", "i64", Elem::I64, inputs, "udiv %x, %y", true);
    // Powers of two become shifts in codegen (2^63, negative as an i64, stays a division).
    for imm in [1, 3, 4, 64, -3, i64::MIN] {
        let inputs = [
            Buffer::i64s(&edges),
            Buffer::i64s(&edges),
            Buffer::i64s(&edges),
        ];
        let op = format!("udiv %x, {imm}");
        lanewise(&op, "i64", Elem::I64, inputs, &op, true);
        let op = format!("imul %x, {imm}");
        lanewise(&op, "i64", Elem::I64, inputs_of(&edges), &op, true);
    }
}

fn inputs_of(edges: &[i64]) -> [Buffer; 3] {
    [
        Buffer::i64s(edges),
        Buffer::i64s(edges),
        Buffer::i64s(edges),
    ]
}

#[test]
fn constants_and_copies() {
    for (ty, elem, edges) in float_types() {
        let scalar = if elem == Elem::F32 { "f32" } else { "f64" };
        for v in [
            "0.0",
            "-0.0",
            "1.5",
            "-7.9988117",
            "1e-45",
            "3.4028235e38",
            "inf",
            "-inf",
        ] {
            let v = if elem == Elem::F64 && v == "1e-45" {
                "5e-324"
            } else {
                v
            };
            let v = if elem == Elem::F64 && v == "3.4028235e38" {
                "1.7976931348623157e308"
            } else {
                v
            };
            let inputs = [
                buffer(elem, edges.clone()),
                buffer(elem, edges.clone()),
                buffer(elem, edges.clone()),
            ];
            let op = format!("fconst.{ty} {v}");
            lanewise(&format!("{op} ({scalar})"), ty, elem, inputs, &op, false);
        }
        let inputs = [
            buffer(elem, edges.clone()),
            buffer(elem, edges.clone()),
            buffer(elem, edges.clone()),
        ];
        lanewise(&format!("copy.{ty}"), ty, elem, inputs, "copy %y", false);
    }
    for ty in ["i64", "i64x2"] {
        for v in [0, -1, i64::MIN, i64::MAX, 12345] {
            let op = format!("iconst.{ty} {v}");
            lanewise(&op, ty, Elem::I64, inputs_of(&i64_edges()), &op, true);
        }
        lanewise(
            &format!("copy.{ty}"),
            ty,
            Elem::I64,
            inputs_of(&i64_edges()),
            "copy %z",
            true,
        );
    }
}

#[test]
fn selects_compare_with_nan_false() {
    // Vector compares select lanes of their own width.
    for (ty, elem, edges) in float_types() {
        let (a, b) = pairs(&edges);
        for cmp in ["lt", "le"] {
            let inputs = [
                buffer(elem, a.clone()),
                buffer(elem, b.clone()),
                buffer(elem, b.iter().rev().copied().collect()),
            ];
            let op = format!("select.{cmp} %x, %y, %z, %x");
            lanewise(&format!("{op} {ty}"), ty, elem, inputs, &op, false);
        }
    }
    let (a, b) = pairs(&i64_edges());
    for ty in ["i64", "i64x2"] {
        for cmp in ["lt", "le"] {
            let inputs = [Buffer::i64s(&a), Buffer::i64s(&b), Buffer::i64s(&a)];
            let op = format!("select.{cmp} %x, %y, %z, %y");
            lanewise(&format!("{op} {ty}"), ty, Elem::I64, inputs, &op, true);
        }
    }
    // A scalar compare selects whole vectors; an f64x2 compare selects i64x2 lanes.
    let (a, b) = pairs(&i64_edges());
    let floats: Vec<f64> = (0..a.len()).map(|i| i as f64 - 7.5).collect();
    let text = kernel(["i64", "i64", "f64x2"], "f64x2", "select.lt %x, %y, %z, %w")
        .replace(
            "    %r: f64x2",
            "    %w: f64x2 = fadd %z, %z\n    %r: f64x2",
        )
        .replace(
            "%io: i64 = imul %i, 2",
            "%io: i64 = imul %i, 2\n    %iz: i64 = imul %i, 2",
        )
        .replace("load.f64x2 @c[%ia]", "load.f64x2 @c[%iz]");
    let len = a.len();
    let c = Buffer::f64s(&[floats.clone(), floats].concat());
    check(
        "select on a scalar i64 compare, f64x2 values",
        &text,
        [&Buffer::i64s(&a), &Buffer::i64s(&b), &c],
        Elem::F64,
        2 * len,
        len as i64,
    );
    let (fa, fb) = pairs(&f64_edges());
    let text = kernel(["f64x2", "f64x2", "i64x2"], "f64x2", "bitcast.f64x2 %s").replace(
        "    %r: f64x2 = bitcast.f64x2 %s",
        "    %z2: i64x2 = iadd %z, %z\n    %s: i64x2 = select.le %x, %y, %z, %z2\n    \
             %r: f64x2 = bitcast.f64x2 %s",
    );
    let ints: Vec<i64> = (0..fa.len() as i64).map(|i| i * 1_000_003 - 99).collect();
    check(
        "select on an f64x2 compare, i64x2 values",
        &text,
        [&Buffer::f64s(&fa), &Buffer::f64s(&fb), &Buffer::i64s(&ints)],
        Elem::F64,
        fa.len(),
        (fa.len() / 2) as i64,
    );
}

#[test]
fn bitcasts_keep_lane_order() {
    let f32s = Buffer::f32s(&f32_edges()).padded(4);
    let f64s = Buffer::f64s(&f64_edges()).padded(2);
    let ints = Buffer::i64s(&i64_edges()).padded(2);
    let n32 = (f32s.bits.len() / 4) as i64;
    // f32x4 -> i64x2 -> f64x2 (stored), f32x4 -> f64x2, i64 -> f64, f64x2 -> i64x2 -> f64x2.
    let text = kernel(["f32x4", "f32x4", "f32x4"], "f64x2", "bitcast.f64x2 %q")
        .replace(
            "    %r: f64x2",
            "    %q: i64x2 = bitcast.i64x2 %x\n    %r: f64x2",
        )
        .replace("%io: i64 = imul %i, 4", "%io: i64 = imul %i, 2");
    check(
        "f32x4 -> i64x2 -> f64x2",
        &text,
        [&f32s, &f32s, &f32s],
        Elem::F64,
        f32s.bits.len() / 2,
        n32,
    );
    let text = kernel(["f32x4", "f32x4", "f32x4"], "f64x2", "bitcast.f64x2 %y")
        .replace("%io: i64 = imul %i, 4", "%io: i64 = imul %i, 2");
    check(
        "f32x4 -> f64x2",
        &text,
        [&f32s, &f32s, &f32s],
        Elem::F64,
        f32s.bits.len() / 2,
        n32,
    );
    let text = kernel(["i64", "i64", "i64"], "f64", "bitcast.f64 %x");
    check(
        "i64 -> f64",
        &text,
        [&ints, &ints, &ints],
        Elem::F64,
        ints.bits.len(),
        ints.bits.len() as i64,
    );
    let text = kernel(["f64x2", "f64x2", "f64x2"], "f64x2", "bitcast.f64x2 %q").replace(
        "    %r: f64x2",
        "    %q: i64x2 = bitcast.i64x2 %x\n    %r: f64x2",
    );
    let n64 = (f64s.bits.len() / 2) as i64;
    check(
        "f64x2 -> i64x2 -> f64x2",
        &text,
        [&f64s, &f64s, &f64s],
        Elem::F64,
        f64s.bits.len(),
        n64,
    );
}

#[test]
fn lanes_splat_extract_and_reduce_in_their_order() {
    let f32s = Buffer::f32s(&f32_edges()).padded(4);
    let f64s = Buffer::f64s(&f64_edges()).padded(2);
    let n32 = f32s.bits.len() as i64 / 4;
    let n64 = f64s.bits.len() as i64 / 2;
    for lane in 0..4 {
        let text = kernel(
            ["f32x4", "f32x4", "f32x4"],
            "f32",
            &format!("extract %x, {lane}"),
        );
        check(
            &format!("extract f32x4 lane {lane}"),
            &text,
            [&f32s, &f32s, &f32s],
            Elem::F32,
            n32 as usize,
            n32,
        );
    }
    for lane in 0..2 {
        let text = kernel(
            ["f64x2", "f64x2", "f64x2"],
            "f64",
            &format!("extract %x, {lane}"),
        );
        check(
            &format!("extract f64x2 lane {lane}"),
            &text,
            [&f64s, &f64s, &f64s],
            Elem::F64,
            n64 as usize,
            n64,
        );
    }
    // reduce_add adds (l0 + l2) + (l1 + l3): inputs where the order shows.
    let mut sums = f32_edges();
    sums.extend([1e8, 1.0, -1e8, 1.0, 1.0, 1e8, 1.0, -1e8]);
    let sums = Buffer::f32s(&sums).padded(4);
    let n = sums.bits.len() as i64 / 4;
    let text = kernel(["f32x4", "f32x4", "f32x4"], "f32", "reduce_add %x");
    check(
        "reduce_add f32x4",
        &text,
        [&sums, &sums, &sums],
        Elem::F32,
        n as usize,
        n,
    );
    let text = kernel(["f64x2", "f64x2", "f64x2"], "f64", "reduce_add %x");
    check(
        "reduce_add f64x2",
        &text,
        [&f64s, &f64s, &f64s],
        Elem::F64,
        n64 as usize,
        n64,
    );
    // splat: a scalar to every lane.
    let text = kernel(["f32", "f32", "f32"], "f32x4", "splat.f32x4 %x");
    let scalars = Buffer::f32s(&f32_edges());
    let n = scalars.bits.len();
    check(
        "splat f32 -> f32x4",
        &text,
        [&scalars, &scalars, &scalars],
        Elem::F32,
        4 * n,
        n as i64,
    );
    let scalars = Buffer::f64s(&f64_edges());
    let text = kernel(["f64", "f64", "f64"], "f64x2", "splat.f64x2 %x");
    check(
        "splat f64 -> f64x2",
        &text,
        [&scalars, &scalars, &scalars],
        Elem::F64,
        2 * n,
        n as i64,
    );
    let ints = Buffer::i64s(&i64_edges());
    let text = int_kernel(["i64", "i64", "i64"], "i64x2", "splat.i64x2 %x");
    let n = ints.bits.len();
    check(
        "splat i64 -> i64x2",
        &text,
        [&ints, &ints, &ints],
        Elem::F64,
        2 * n,
        n as i64,
    );
}

#[test]
fn loads_and_stores_at_offsets() {
    let f32s = Buffer::f32s(&(0..64).map(|i| i as f32 - 31.5).collect::<Vec<_>>());
    // Unaligned offsets, a scalar tail after vectors, a store at a constant offset.
    let text = "module m f32 vector=128 registers=16 packed=0 work=0
func @k(@a: f32 readonly, @b: f32 readonly, @c: f32 readonly, @out: f32, %n: i64) {
  for %i in 0..%n {
    %at: i64 = imul %i, 5
    %v: f32x4 = load.f32x4 @a[%at + 1]
    %s: f32 = load.f32 @b[%at + 3]
    store @out[%at], %v
    store @out[%at + 4], %s
  }
  %t: f32 = load.f32 @c[63]
  store @out[60], %t
}
";
    check(
        "loads and stores",
        text,
        [&f32s, &f32s, &f32s],
        Elem::F32,
        64,
        12,
    );
}

#[test]
fn control_flow_loops_branches_and_calls() {
    // A reverse loop writing its variable, a zero-trip loop, an if on a loaded integer, and
    // a call passing a buffer and a register.
    let text = "module m f32 vector=128 registers=16 packed=0 work=0
func @twice(@src: i64 readonly, @dst: f64, %k: i64) {
  %v: i64 = load.i64 @src[%k]
  %w: i64 = iadd %v, %v
  %f: f64 = bitcast.f64 %w
  store @dst[%k], %f
}
func @k(@a: i64 readonly, @b: i64 readonly, @c: i64 readonly, @out: f64, %n: i64) {
  for %i in 0..%n rev {
    %x: i64 = load.i64 @a[%i]
    %odd: i64 = iconst.i64 1
    %odd = band %x, %odd
    if %odd {
      %f: f64 = bitcast.f64 %i
      store @out[%i], %f
    } else {
      call @twice(@b, @out, %i)
    }
  }
  %zero: i64 = iconst.i64 0
  for %j in 0..%zero {
    %g: f64 = fconst.f64 1.0
    store @out[0], %g
  }
}
";
    let a = Buffer::i64s(&(0..16).map(|i| i * 7 + 3).collect::<Vec<_>>());
    let b = Buffer::i64s(&i64_edges());
    check("control flow", text, [&a, &b, &a], Elem::F64, 14, 14);
}

#[test]
fn null_pointers_are_seen_as_null() {
    let text = "module m f32 vector=128 registers=16 packed=0 work=0
func @k(@a: f32 readonly nullable, @b: f32 readonly nullable, @c: f32 readonly, @out: f32, %n: i64) {
  %none: i64 = is_null @a
  %some: i64 = is_null @b
  %x: f64 = bitcast.f64 %none
  %y: f64 = bitcast.f64 %some
  %u: f32x4 = bitcast.f32x4 %x
}
";
    // The result as two f64 values in four f32 slots: through an f64 output instead.
    let text = text.replace("@out: f32", "@out: f64").replace(
        "  %u: f32x4 = bitcast.f32x4 %x\n",
        "  store @out[0], %x\n  store @out[1], %y\n",
    );
    let module = verify(parse_module(&text).unwrap());
    let b = vec![1f32; 4];
    let mut expected = vec![0f64; 2];
    run_function(
        module.valid(),
        "k",
        &mut [
            Arg::Null,
            Arg::F32(&b),
            Arg::F32(&b),
            Arg::F64Mut(&mut expected),
            Arg::Scalar(0),
        ],
    )
    .unwrap();
    assert_eq!(expected.map_bits(), [1, 0]);
    let isa = host_isa(OptLevel::None).unwrap();
    let mut jit = JITModule::new(JITBuilder::with_isa(isa, default_libcall_names()));
    let kernels = define_kernels(&mut jit, &module, None, Entries::Direct).unwrap();
    jit.finalize_definitions().unwrap();
    let code = jit.get_finalized_function(kernels.entries[0].1);
    let mut got = vec![0f64; 2];
    // SAFETY: `k` has the `Kernel` signature and writes two f64 to `out`; `a` may be null.
    unsafe {
        let k = std::mem::transmute::<*const u8, Kernel>(code);
        k(
            std::ptr::null(),
            b.as_ptr().cast(),
            b.as_ptr().cast(),
            got.as_mut_ptr().cast(),
            0,
        );
    }
    assert_eq!(got.map_bits(), expected.map_bits());
    // SAFETY: the code is not used again.
    unsafe { jit.free_memory() };
}

trait Bits {
    fn map_bits(&self) -> Vec<u64>;
}

impl Bits for Vec<f64> {
    fn map_bits(&self) -> Vec<u64> {
        self.iter().map(|v| v.to_bits()).collect()
    }
}

/// `expand-tanh`'s expansion of `tanh` and `sigmoid` (additions, multiply-adds, a division,
/// selects, bit tricks for f64) over the edge values, the clamp boundaries (sigmoid's at
/// twice tanh's) and a sweep of the range.
#[test]
fn expanded_tanh() {
    let mut f32s = f32_edges();
    f32s.extend((-400..=400).map(|i| i as f32 * 0.025));
    f32s.extend([
        7.998_811_7,
        7.998_812,
        -7.998_811_7,
        0.0004,
        0.000_399_99,
        -0.0004,
        15.997_623,
        -15.997_624,
    ]);
    let mut f64s = f64_edges();
    f64s.extend((-400..=400).map(|i| i as f64 * 0.06));
    f64s.extend([
        0.625,
        0.624_999_999_999_999_9,
        22.0,
        19.1,
        -0.625,
        44.0,
        -1.25,
    ]);
    for op in ["tanh", "sigmoid"] {
        for (ty, elem, bits) in [
            ("f32x4", Elem::F32, Buffer::f32s(&f32s).bits),
            ("f32", Elem::F32, Buffer::f32s(&f32s).bits),
            ("f64x2", Elem::F64, Buffer::f64s(&f64s).bits),
            ("f64", Elem::F64, Buffer::f64s(&f64s).bits),
        ] {
            let lanes: usize = ty.split_once('x').map_or(1, |(_, l)| l.parse().unwrap());
            let input = buffer(elem, bits).padded(lanes);
            let text = kernel([ty, ty, ty], ty, &format!("{op} %x"));
            let module = rnnc_ir::passes::expand_tanh::expand_tanh(parse_module(&text).unwrap());
            let len = input.bits.len();
            check(
                &format!("{op}.{ty}"),
                &module.to_string(),
                [&input, &input, &input],
                elem,
                len,
                (len / lanes) as i64,
            );
        }
    }
}
