//! The vendored Cranelift's 256-bit vectors (`vendor/README.md`), tested on their own:
//! functions built directly in CLIF, compiled for this host and run, every lane compared
//! bit for bit with the same operation done lane by lane in Rust (any NaN equals any NaN,
//! as in `instructions.rs`). On a host without AVX2 and FMA the tests print that they were
//! skipped and pass.
//!
//! Each compiled function takes pointers to buffers at least as large as everything it
//! reads and writes, which every call here passes.

#![cfg(target_arch = "x86_64")]

use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::immediates::{Ieee32, Ieee64};
use cranelift_codegen::ir::{AbiParam, Endianness, InstBuilder, MemFlagsData, Type, Value, types};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{Linkage, Module, default_libcall_names};

/// A function of four pointers: three inputs and one output.
type Kernel = extern "C" fn(*const u8, *const u8, *const u8, *mut u8);

/// Whether this host runs 256-bit AVX2 code; says so when it does not.
fn host_has_avx2(test: &str) -> bool {
    let ok = std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
    if !ok {
        println!("{test}: skipped, this CPU lacks AVX2 or FMA (256-bit code cannot run here)");
    }
    ok
}

/// Compiles `body(builder, [a, b, c, out])` for this host at `opt_level = none`, as rnnc
/// does. `noop` is an external function the body may call.
fn compile(
    body: impl FnOnce(&mut FunctionBuilder, &[Value], cranelift_codegen::ir::FuncRef),
) -> (JITModule, Kernel) {
    let (module, kernel, _) = compile_listed(body);
    (module, kernel)
}

/// [`compile`], and the function's machine instructions as Cranelift prints them.
fn compile_listed(
    body: impl FnOnce(&mut FunctionBuilder, &[Value], cranelift_codegen::ir::FuncRef),
) -> (JITModule, Kernel, String) {
    let mut flags = settings::builder();
    flags.set("opt_level", "none").unwrap();
    let isa = cranelift_native::builder()
        .unwrap()
        .finish(settings::Flags::new(flags))
        .unwrap();
    let mut jit = JITBuilder::with_isa(isa, default_libcall_names());
    jit.symbol("noop", noop as *const u8);
    let mut module = JITModule::new(jit);
    let mut sig = module.make_signature();
    for _ in 0..4 {
        sig.params.push(AbiParam::new(types::I64));
    }
    let id = module.declare_function("k", Linkage::Local, &sig).unwrap();
    let noop_sig = module.make_signature();
    let noop_id = module
        .declare_function("noop", Linkage::Import, &noop_sig)
        .unwrap();
    let mut ctx = module.make_context();
    ctx.set_disasm(true);
    ctx.func.signature = sig;
    let mut fbc = FunctionBuilderContext::new();
    {
        let mut b = FunctionBuilder::new(&mut ctx.func, &mut fbc);
        let noop_ref = module.declare_func_in_func(noop_id, b.func);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let params = b.block_params(entry).to_vec();
        body(&mut b, &params, noop_ref);
        b.ins().return_(&[]);
        b.seal_all_blocks();
        b.finalize(module.isa().frontend_config());
    }
    module.define_function(id, &mut ctx).unwrap();
    let listing = ctx.compiled_code().unwrap().vcode.clone().unwrap();
    module.finalize_definitions().unwrap();
    let f = module.get_finalized_function(id);
    // SAFETY: `k` was declared with the four-pointer signature of `Kernel`.
    let kernel = unsafe { std::mem::transmute::<*const u8, Kernel>(f) };
    (module, kernel, listing)
}

extern "C" fn noop() {}

fn flags() -> MemFlagsData {
    MemFlagsData::new().with_notrap()
}

fn bitcast(b: &mut FunctionBuilder, to: Type, v: Value) -> Value {
    b.ins().bitcast(
        to,
        MemFlagsData::new().with_endianness(Endianness::Little),
        v,
    )
}

/// Edge values of f64 (f32 uses them rounded).
const EDGES: [f64; 14] = [
    0.0,
    -0.0,
    1.0,
    -1.5,
    1e-310,
    -2.2250738585072014e-308,
    f64::MAX,
    f64::MIN_POSITIVE,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
    0.1,
    3.0,
    -7.25,
];

fn same_f32(got: f32, want: f32) -> bool {
    got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan())
}

fn same_f64(got: f64, want: f64) -> bool {
    got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan())
}

/// Lane-wise binary operations and `fma` at `F32X8`, from unaligned addresses (one lane
/// past a 32-byte boundary), with a load folded into the operation on either side.
#[test]
fn f32x8_arithmetic_equals_lane_by_lane() {
    if !host_has_avx2("f32x8_arithmetic_equals_lane_by_lane") {
        return;
    }
    let (_m, k) = compile(|b, p, _| {
        let t = types::F32X8;
        let x = b.ins().load(t, flags(), p[0], 4);
        let y = b.ins().load(t, flags(), p[1], 4);
        let z = b.ins().load(t, flags(), p[2], 4);
        let ops = [
            b.ins().fadd(x, y),
            b.ins().fsub(x, y),
            b.ins().fmul(x, y),
            b.ins().fdiv(x, y),
            b.ins().fma(x, y, z),
        ];
        for (i, v) in ops.into_iter().enumerate() {
            b.ins().store(flags(), v, p[3], 32 * i as i32);
        }
        // Single-use loads, which fold into the instruction (lhs and rhs).
        let lx = b.ins().load(t, flags(), p[0], 4);
        let sum = b.ins().fadd(lx, y);
        b.ins().store(flags(), sum, p[3], 160);
        let ly = b.ins().load(t, flags(), p[1], 4);
        let product = b.ins().fmul(x, ly);
        b.ins().store(flags(), product, p[3], 192);
    });
    let edges: Vec<f32> = EDGES.iter().map(|&e| e as f32).collect();
    let n = edges.len();
    for shift in 0..n {
        let a: Vec<f32> = (0..9).map(|i| edges[(i + shift) % n]).collect();
        let bv: Vec<f32> = (0..9).map(|i| edges[(i * 3 + shift) % n]).collect();
        let c: Vec<f32> = (0..9).map(|i| edges[(i * 5 + 1 + shift) % n]).collect();
        let mut out = vec![0f32; 56];
        k(
            a.as_ptr().cast(),
            bv.as_ptr().cast(),
            c.as_ptr().cast(),
            out.as_mut_ptr().cast(),
        );
        for l in 0..8 {
            let (x, y, z) = (a[l + 1], bv[l + 1], c[l + 1]);
            let want = [x + y, x - y, x * y, x / y, x.mul_add(y, z), x + y, x * y];
            for (op, w) in want.iter().enumerate() {
                let got = out[8 * op + l];
                assert!(
                    same_f32(got, *w),
                    "op {op}, lane {l}: {x:e}, {y:e}, {z:e} gave {got:e}, expected {w:e}"
                );
            }
        }
    }
}

/// The same at `F64X4`.
#[test]
fn f64x4_arithmetic_equals_lane_by_lane() {
    if !host_has_avx2("f64x4_arithmetic_equals_lane_by_lane") {
        return;
    }
    let (_m, k) = compile(|b, p, _| {
        let t = types::F64X4;
        let x = b.ins().load(t, flags(), p[0], 8);
        let y = b.ins().load(t, flags(), p[1], 8);
        let z = b.ins().load(t, flags(), p[2], 8);
        let ops = [
            b.ins().fadd(x, y),
            b.ins().fsub(x, y),
            b.ins().fmul(x, y),
            b.ins().fdiv(x, y),
            b.ins().fma(x, y, z),
        ];
        for (i, v) in ops.into_iter().enumerate() {
            b.ins().store(flags(), v, p[3], 32 * i as i32);
        }
    });
    let n = EDGES.len();
    for shift in 0..n {
        let a: Vec<f64> = (0..5).map(|i| EDGES[(i + shift) % n]).collect();
        let bv: Vec<f64> = (0..5).map(|i| EDGES[(i * 3 + shift) % n]).collect();
        let c: Vec<f64> = (0..5).map(|i| EDGES[(i * 5 + 1 + shift) % n]).collect();
        let mut out = vec![0f64; 20];
        k(
            a.as_ptr().cast(),
            bv.as_ptr().cast(),
            c.as_ptr().cast(),
            out.as_mut_ptr().cast(),
        );
        for l in 0..4 {
            let (x, y, z) = (a[l + 1], bv[l + 1], c[l + 1]);
            let want = [x + y, x - y, x * y, x / y, x.mul_add(y, z)];
            for (op, w) in want.iter().enumerate() {
                let got = out[4 * op + l];
                assert!(
                    same_f64(got, *w),
                    "op {op}, lane {l}: {x:e}, {y:e}, {z:e} gave {got:e}, expected {w:e}"
                );
            }
        }
    }
}

/// `fcmp` + `bitselect` (the min pattern rnnc's activations use), every `extractlane`,
/// and `splat` from memory and from a register, at `F32X8`.
#[test]
fn f32x8_compare_select_lanes_and_splat() {
    if !host_has_avx2("f32x8_compare_select_lanes_and_splat") {
        return;
    }
    let (_m, k) = compile(|b, p, _| {
        let t = types::F32X8;
        let x = b.ins().load(t, flags(), p[0], 0);
        let y = b.ins().load(t, flags(), p[1], 0);
        for (i, cc) in [FloatCC::LessThan, FloatCC::LessThanOrEqual]
            .into_iter()
            .enumerate()
        {
            let holds = b.ins().fcmp(cc, x, y);
            let mask = bitcast(b, t, holds);
            let picked = b.ins().bitselect(mask, x, y);
            b.ins().store(flags(), picked, p[3], 32 * i as i32);
        }
        for lane in 0..8u8 {
            let v = b.ins().extractlane(x, lane);
            b.ins().store(flags(), v, p[3], 64 + 4 * i32::from(lane));
        }
        let s = b.ins().load(types::F32, flags(), p[2], 0);
        let from_memory = b.ins().splat(t, s);
        b.ins().store(flags(), from_memory, p[3], 96);
        let s2 = b.ins().load(types::F32, flags(), p[2], 4);
        let doubled = b.ins().fadd(s2, s2);
        let from_register = b.ins().splat(t, doubled);
        b.ins().store(flags(), from_register, p[3], 128);
    });
    let edges: Vec<f32> = EDGES.iter().map(|&e| e as f32).collect();
    let n = edges.len();
    for shift in 0..n {
        let a: Vec<f32> = (0..8).map(|i| edges[(i + shift) % n]).collect();
        let bv: Vec<f32> = (0..8).map(|i| edges[(i * 3 + 2 + shift) % n]).collect();
        let c = [edges[shift], edges[(shift + 4) % n]];
        let mut out = vec![0f32; 40];
        k(
            a.as_ptr().cast(),
            bv.as_ptr().cast(),
            c.as_ptr().cast(),
            out.as_mut_ptr().cast(),
        );
        for l in 0..8 {
            let (x, y) = (a[l], bv[l]);
            let lt = if x < y { x } else { y };
            let le = if x <= y { x } else { y };
            let want = [lt, le, x, c[0], c[1] + c[1]];
            for (op, w) in want.iter().enumerate() {
                let got = out[8 * op + l];
                assert!(
                    same_f32(got, *w),
                    "op {op}, lane {l}: {x:e}, {y:e} gave {got:e}, expected {w:e}"
                );
            }
        }
    }
}

/// A splat of a load that feeds several multiply-adds (a matrix product's broadcast input)
/// is one `vbroadcastss` from memory, at both widths; a store between a load and its splat
/// keeps the load before the store, so the lanes hold the value loaded, not the one stored.
#[test]
fn a_splat_of_a_load_broadcasts_from_memory_unless_a_store_intervenes() {
    if !host_has_avx2("a_splat_of_a_load_broadcasts_from_memory_unless_a_store_intervenes") {
        return;
    }
    let (_m, k, listing) = compile_listed(|b, p, _| {
        for (i, t) in [types::F32X8, types::F32X4].into_iter().enumerate() {
            let at = 64 * i as i32;
            let w0 = b.ins().load(t, flags(), p[0], 0);
            let w1 = b.ins().load(t, flags(), p[1], 0);
            let x = b.ins().load(types::F32, flags(), p[2], 4 * i as i32);
            let xs = b.ins().splat(t, x);
            let a0 = b.ins().fma(w0, xs, w1);
            let a1 = b.ins().fma(w1, xs, w0);
            b.ins().store(flags(), a0, p[3], at);
            b.ins().store(flags(), a1, p[3], at + 32);
        }
        // `out[32]` holds 2.0 on entry: loaded, overwritten, then splat.
        let x = b.ins().load(types::F32, flags(), p[3], 128);
        let seven = b.ins().f32const(7.0);
        b.ins().store(flags(), seven, p[3], 128);
        let xs = b.ins().splat(types::F32X8, x);
        b.ins().store(flags(), xs, p[3], 132);
    });
    let from_memory = listing
        .lines()
        .filter(|l| l.contains("vbroadcastss") && l.contains('('))
        .count();
    assert_eq!(
        from_memory, 2,
        "expected the two matrix-product splats as broadcasts from memory:\n{listing}"
    );
    let w0: Vec<f32> = (0..8).map(|i| 1.5 + i as f32).collect();
    let w1: Vec<f32> = (0..8).map(|i| -0.25 * i as f32).collect();
    let x = [3.0f32, -2.0];
    let mut out = vec![0f32; 41];
    out[32] = 2.0;
    k(
        w0.as_ptr().cast(),
        w1.as_ptr().cast(),
        x.as_ptr().cast(),
        out.as_mut_ptr().cast(),
    );
    for (i, lanes) in [8, 4].into_iter().enumerate() {
        for l in 0..lanes {
            let at = 16 * i;
            assert_eq!(
                out[at + l],
                w0[l].mul_add(x[i], w1[l]),
                "width {i}, lane {l}"
            );
            assert_eq!(
                out[at + 8 + l],
                w1[l].mul_add(x[i], w0[l]),
                "width {i}, lane {l}"
            );
        }
    }
    assert_eq!(out[32], 7.0);
    assert_eq!(
        &out[33..41],
        &[2.0; 8],
        "the splat of the value loaded before the store"
    );
}

/// A splat of a float constant at `F32X8` and `F64X4` broadcasts it from the constant
/// pool (no round trip through a general register), and every lane holds the constant's
/// exact bits: the edge values, and NaNs with payloads.
#[test]
fn a_splat_of_a_float_constant_broadcasts_from_the_constant_pool() {
    if !host_has_avx2("a_splat_of_a_float_constant_broadcasts_from_the_constant_pool") {
        return;
    }
    let f32_bits: Vec<u32> = EDGES
        .iter()
        .map(|&v| (v as f32).to_bits())
        .chain([0x7fc0_1234, 0xffa0_0001])
        .collect();
    let f64_bits: Vec<u64> = EDGES
        .iter()
        .map(|&v| v.to_bits())
        .chain([0x7ff8_0000_dead_beef, 0xfff0_0000_0000_0001])
        .collect();
    let (_m, k, listing) = compile_listed(|b, p, _| {
        for (i, &bits) in f32_bits.iter().enumerate() {
            let c = b.ins().f32const(Ieee32::with_bits(bits));
            let v = b.ins().splat(types::F32X8, c);
            b.ins().store(flags(), v, p[3], 32 * i as i32);
        }
        let base = 32 * f32_bits.len() as i32;
        for (i, &bits) in f64_bits.iter().enumerate() {
            let c = b.ins().f64const(Ieee64::with_bits(bits));
            let v = b.ins().splat(types::F64X4, c);
            b.ins().store(flags(), v, p[3], base + 32 * i as i32);
        }
    });
    for (op, count) in [
        ("vbroadcastss", f32_bits.len()),
        ("vbroadcastsd", f64_bits.len()),
    ] {
        let from_pool = listing
            .lines()
            .filter(|l| l.contains(op) && l.contains("(%rip)"))
            .count();
        assert_eq!(
            from_pool, count,
            "expected every {op} to read the constant pool:\n{listing}"
        );
    }
    let mut out = vec![0u8; 32 * (f32_bits.len() + f64_bits.len())];
    let none = std::ptr::null();
    k(none, none, none, out.as_mut_ptr());
    let (f32_out, f64_out) = out.split_at(32 * f32_bits.len());
    for (i, (lanes, &bits)) in f32_out.chunks(32).zip(&f32_bits).enumerate() {
        for (l, lane) in lanes.chunks(4).enumerate() {
            let got = u32::from_le_bytes(lane.try_into().unwrap());
            assert_eq!(
                got, bits,
                "f32 constant {i}, lane {l}: {got:#x} for {bits:#x}"
            );
        }
    }
    for (i, (lanes, &bits)) in f64_out.chunks(32).zip(&f64_bits).enumerate() {
        for (l, lane) in lanes.chunks(8).enumerate() {
            let got = u64::from_le_bytes(lane.try_into().unwrap());
            assert_eq!(
                got, bits,
                "f64 constant {i}, lane {l}: {got:#x} for {bits:#x}"
            );
        }
    }
}

/// The integer operations of the f64 `tanh` expansion at `I64X4`: splat of a constant,
/// `isub`, `ishl` by 52, `bor` and `band`, and `bxor`.
#[test]
fn i64x4_bit_operations_equal_lane_by_lane() {
    if !host_has_avx2("i64x4_bit_operations_equal_lane_by_lane") {
        return;
    }
    let (_m, k) = compile(|b, p, _| {
        let t = types::I64X4;
        let x = b.ins().load(t, flags(), p[0], 0);
        let y = b.ins().load(t, flags(), p[1], 0);
        let bias = b.ins().iconst(types::I64, 0x4338_0000_0000_03ff);
        let bias = b.ins().splat(t, bias);
        let d = b.ins().isub(x, bias);
        let shifted = b.ins().ishl_imm_s(d, 52);
        let ored = b.ins().bor(shifted, y);
        let anded = b.ins().band(ored, x);
        let xored = b.ins().bxor(anded, y);
        let added = b.ins().iadd(xored, x);
        for (i, v) in [d, shifted, ored, anded, xored, added]
            .into_iter()
            .enumerate()
        {
            b.ins().store(flags(), v, p[3], 32 * i as i32);
        }
    });
    let seeds = [
        0i64,
        -1,
        1,
        i64::MIN,
        i64::MAX,
        0x4338_0000_0000_0400,
        12345,
        -987654321,
    ];
    for shift in 0..seeds.len() {
        let a: Vec<i64> = (0..4).map(|i| seeds[(i + shift) % 8]).collect();
        let bv: Vec<i64> = (0..4)
            .map(|i| seeds[(i * 3 + 1 + shift) % 8].rotate_left(13))
            .collect();
        let mut out = vec![0i64; 24];
        k(
            a.as_ptr().cast(),
            bv.as_ptr().cast(),
            a.as_ptr().cast(),
            out.as_mut_ptr().cast(),
        );
        for l in 0..4 {
            let (x, y) = (a[l], bv[l]);
            let d = x.wrapping_sub(0x4338_0000_0000_03ff);
            let shifted = d << 52;
            let ored = shifted | y;
            let anded = ored & x;
            let xored = anded ^ y;
            let want = [d, shifted, ored, anded, xored, xored.wrapping_add(x)];
            for (op, w) in want.iter().enumerate() {
                assert_eq!(out[4 * op + l], *w, "op {op}, lane {l}: {x:#x}, {y:#x}");
            }
        }
    }
}

/// 40 `F32X8` values live at once, across a call (every vector register is caller-saved,
/// and `vzeroupper` runs before the call) and a loop: they must be spilled and reloaded
/// 256 bits wide, so every lane of every value comes back.
#[test]
fn wide_values_survive_spills_calls_and_loops() {
    if !host_has_avx2("wide_values_survive_spills_calls_and_loops") {
        return;
    }
    const LIVE: usize = 40;
    let (_m, k) = compile(|b, p, noop| {
        let t = types::F32X8;
        let vals: Vec<Value> = (0..LIVE)
            .map(|i| b.ins().load(t, flags(), p[0], 32 * i as i32))
            .collect();
        b.ins().call(noop, &[]);
        // A loop of three trips that adds the second input to an accumulator.
        let body = b.create_block();
        let done = b.create_block();
        let y = b.ins().load(t, flags(), p[1], 0);
        let zero = b.ins().iconst(types::I64, 0);
        b.append_block_param(body, types::I64);
        b.append_block_param(body, t);
        b.ins().jump(body, &[zero.into(), y.into()]);
        b.switch_to_block(body);
        let params = b.block_params(body).to_vec();
        let acc = b.ins().fadd(params[1], y);
        let next = b.ins().iadd_imm_s(params[0], 1);
        let more = b.ins().icmp_imm_s(
            cranelift_codegen::ir::condcodes::IntCC::SignedLessThan,
            next,
            3,
        );
        b.ins()
            .brif(more, body, &[next.into(), acc.into()], done, &[]);
        b.switch_to_block(done);
        b.ins().call(noop, &[]);
        for (i, v) in vals.iter().enumerate() {
            let plus = b.ins().fadd(*v, acc);
            b.ins().store(flags(), plus, p[3], 32 * i as i32);
        }
    });
    let a: Vec<f32> = (0..8 * LIVE).map(|i| i as f32 * 0.75 - 100.0).collect();
    let y: Vec<f32> = (0..8).map(|l| 1.0 + l as f32).collect();
    let mut out = vec![0f32; 8 * LIVE];
    k(
        a.as_ptr().cast(),
        y.as_ptr().cast(),
        y.as_ptr().cast(),
        out.as_mut_ptr().cast(),
    );
    for v in 0..LIVE {
        for l in 0..8 {
            let want = a[8 * v + l] + (y[l] + y[l] + y[l] + y[l]);
            assert!(
                same_f32(out[8 * v + l], want),
                "value {v}, lane {l}: {} vs {want}",
                out[8 * v + l]
            );
        }
    }
}

/// Every lane of an `F64X4` and an `F32X8` comes out bit for bit: extracted and stored, and
/// extracted, used as a scalar (`fadd` of it and `-0.0`, which keeps its bits except a
/// NaN's) and stored. The values' low 32 bits are all nonzero and differ, so a lane taken
/// from the wrong half, or the wrong dwords of the right one, shows.
#[test]
fn every_lane_of_f64x4_and_f32x8_is_extracted_bit_for_bit() {
    if !host_has_avx2("every_lane_of_f64x4_and_f32x8_is_extracted_bit_for_bit") {
        return;
    }
    let (_m, k) = compile(|b, p, _| {
        let x = b.ins().load(types::F64X4, flags(), p[0], 0);
        let y = b.ins().load(types::F32X8, flags(), p[1], 0);
        let z64 = b.ins().f64const(-0.0);
        let z32 = b.ins().f32const(-0.0);
        for lane in 0..4u8 {
            let v = b.ins().extractlane(x, lane);
            b.ins().store(flags(), v, p[3], 8 * i32::from(lane));
            let v = b.ins().extractlane(x, lane);
            let s = b.ins().fadd(v, z64);
            b.ins().store(flags(), s, p[3], 32 + 8 * i32::from(lane));
        }
        for lane in 0..8u8 {
            let v = b.ins().extractlane(y, lane);
            b.ins().store(flags(), v, p[3], 64 + 4 * i32::from(lane));
            let v = b.ins().extractlane(y, lane);
            let s = b.ins().fadd(v, z32);
            b.ins().store(flags(), s, p[3], 96 + 4 * i32::from(lane));
        }
    });
    for seed in 0..16u64 {
        // Distinct finite values with every dword nonzero (normal exponents).
        let wide: Vec<f64> = (0..4u64)
            .map(|i| f64::from_bits(0x3ff0_0000_0000_0000 | (seed << 40) | ((i + 1) * 0x0101_0101)))
            .collect();
        let narrow: Vec<f32> = (0..8u32)
            .map(|i| f32::from_bits(0x3f80_0000 | ((seed as u32) << 12) | ((i + 1) * 0x101)))
            .collect();
        let mut out = vec![0u8; 128];
        k(
            wide.as_ptr().cast(),
            narrow.as_ptr().cast(),
            std::ptr::null(),
            out.as_mut_ptr(),
        );
        let f64_at = |i: usize| u64::from_le_bytes(out[8 * i..8 * i + 8].try_into().unwrap());
        let f32_at = |i: usize| u32::from_le_bytes(out[4 * i..4 * i + 4].try_into().unwrap());
        for (l, w) in wide.iter().enumerate() {
            for (how, got) in [("stored", f64_at(l)), ("added", f64_at(4 + l))] {
                assert_eq!(got, w.to_bits(), "f64x4 lane {l} {how}: got {got:#x}");
            }
        }
        for (l, w) in narrow.iter().enumerate() {
            for (how, got) in [("stored", f32_at(16 + l)), ("added", f32_at(24 + l))] {
                assert_eq!(got, w.to_bits(), "f32x8 lane {l} {how}: got {got:#x}");
            }
        }
    }
}
