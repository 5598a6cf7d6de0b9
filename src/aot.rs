//! Ahead of time: an object file and a C header for one model and one target.
//!
//! The object holds `NAME_pack` and `NAME_forward`, or, with weights given, only
//! `NAME_forward` reading the packed weights from the object's read-only data. Either way it
//! needs nothing from libc and allocates nothing: all memory is the caller's.
//!
//! A cell module's header (`torch.nn.LSTMCell`, say) adds `NAME_step`, one call of the
//! cell: an inline function of the header around `NAME_forward` with `seq_len = 1` and no
//! lengths, the kernel's output (which equals the new `h`) placed in the caller's workspace
//! after the kernel's own (`NAME_STEP_WORK_SIZE(batch)`), so that it keeps
//! `NAME_forward`'s contract: the same statuses, overlap checks, and nothing written when a
//! call is refused.

use std::fmt::Write as _;

use rnnc_codegen::{Cpu, Status, cpu_features, emit_object};
use rnnc_ir::{PipelineConfig, compile_legal};
use rnnc_kernel::{Function, Legal, Param, Role, Size, StateInfo};
use rnnc_spec::{DType, Element, Model, Weights};

use crate::interpreter::{Arg, arg, arg_mut, run_function};
use crate::{CompileOptions, Error};

/// What `rnnc SPEC` writes: `NAME.o` and `NAME.h`.
#[derive(Clone, Debug)]
pub struct AotOutput {
    /// The relocatable object file.
    pub object: Vec<u8>,
    /// The C header declaring its API.
    pub header: String,
}

/// Compiles `model` for `triple`; with `weights`, they are packed now and baked into the
/// object. `source` names the spec in the header's first line.
pub fn compile_aot(
    model: &Model,
    options: &CompileOptions,
    triple: &str,
    weights: Option<&Weights>,
    source: &str,
) -> Result<AotOutput, Error> {
    // The target's widest vectors unless the options (or RNNC_VECTOR_BITS) ask for fewer.
    let isa = rnnc_codegen::target_isa(triple, options.cpu, options.opt_level)?;
    let pipeline = PipelineConfig {
        target: rnnc_codegen::target_for(&*isa, options.vector_bits)?,
        ..options.pipeline.clone()
    };
    let ir = compile_legal(model, &pipeline)?;
    let baked = match weights {
        Some(w) => Some(match model.dtype() {
            DType::F32 => le_bytes(&pack_by_interpretation::<f32>(ir.valid(), model, w)?),
            DType::F64 => le_bytes(&pack_by_interpretation::<f64>(ir.valid(), model, w)?),
        }),
        None => None,
    };
    let features = cpu_features(&*isa);
    let object = emit_object(&ir, isa, baked.as_deref())?;
    let cpu = (!features.is_empty()).then_some((options.cpu, &features[..]));
    Ok(AotOutput {
        object,
        header: header(model, &ir, baked.is_some(), (triple, cpu), source),
    })
}

/// The weights in the packed layout of `ir`, computed by interpreting its `pack` (an object
/// may be for another machine, whose code cannot run here).
pub fn pack_by_interpretation<T: Element>(
    ir: &rnnc_kernel::Valid,
    model: &Model,
    weights: &Weights,
) -> Result<Vec<T>, Error> {
    weights.check(model)?;
    let mut packed = rnnc_spec::try_zeroed("the packed weights", ir.packed_len as usize)?;
    let sources = weights
        .in_order::<T>()
        .expect("checked weights are in the model's dtype");
    let mut args: Vec<Arg<'_>> = sources.iter().map(|s| arg(s)).collect();
    args.push(arg_mut(&mut packed));
    run_function(ir, "pack", &mut args).map_err(Error::Interpretation)?;
    Ok(packed)
}

/// Packed weights as the object stores them: little-endian, as on every supported target.
fn le_bytes<T: Element>(values: &[T]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * T::DTYPE.size());
    for v in values {
        v.extend_le(&mut out);
    }
    out
}

/// `NAME_WORK_SIZE(seq_len, batch)`: the workspace's elements, or `SIZE_MAX` for
/// arguments no call may have (which no allocation can satisfy, and the entry point
/// refuses). Overflow-free: every product is bounded by `NAME_MAX_ROWS` first.
fn work_macro(up: &str, work: Size) -> String {
    let mut terms = Vec::new();
    if work.ln != 0 {
        terms.push(format!(
            "(size_t)(seq_len) * (size_t)(batch) * {}u",
            work.ln
        ));
    }
    if work.n != 0 {
        terms.push(format!("(size_t)(batch) * {}u", work.n));
    }
    if work.c != 0 || terms.is_empty() {
        terms.push(format!("(size_t){}u", work.c));
    }
    format!(
        "((seq_len) < 1 || (batch) < 0 || \\\n    ((batch) > 0 && (uint64_t)(seq_len) > {up}_MAX_ROWS / (uint64_t)(batch)) \\\n    ? SIZE_MAX : ({}))",
        terms.join(" + ")
    )
}

/// What an object's code needs of the CPU: on x86-64 the CPU it was compiled for and the
/// extensions that enables (builtin names, [`cpu_features`]); nothing elsewhere.
type CpuNeeds<'a> = Option<(Cpu, &'a [&'static str])>;

/// `NAME_cpu_supported()`: whether this CPU runs the object's code. For x86-64 objects it
/// asks the CPU, with GCC's and Clang's builtins, for exactly the extensions the object's
/// ISA enabled.
fn cpu_check(name: &str, needs: CpuNeeds<'_>) -> String {
    let (what, body) = match needs {
        Some((cpu, features)) => {
            let tests: Vec<String> = features
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let end = if i + 1 < features.len() { " &&" } else { ";" };
                    format!("__builtin_cpu_supports(\"{f}\") != 0{end}")
                })
                .collect();
            let conjunction = fill("    return ", &tests, "        ", 90);
            let names = features.join(", ");
            (
                format!("on x86-64, {}: {names}", cpu_description(cpu)),
                format!(
                    "#if defined(__GNUC__) || defined(__clang__)\n    __builtin_cpu_init();\n{conjunction}\n#else\n    return 1; /* check for {names} by your compiler's means */\n#endif"
                ),
            )
        }
        None => (
            "on AArch64, NEON".to_string(),
            "    return 1; /* AArch64: the code uses NEON, which every AArch64 CPU has */"
                .to_string(),
        ),
    };
    let words: Vec<String> = format!(
        "1 if this CPU has the instructions {name}_forward uses, else 0: {what}. Calling {name}_forward on a CPU without them faults (illegal instruction). */"
    )
    .split(' ')
    .map(String::from)
    .collect();
    let what = fill("/* ", &words, " * ", 90);
    format!("{what}\nstatic inline int {name}_cpu_supported(void) {{\n{body}\n}}")
}

/// How a header names the CPU its object was compiled for.
fn cpu_description(cpu: Cpu) -> &'static str {
    match cpu {
        Cpu::X86_64V3 => "x86-64-v3 (Intel Haswell, AMD Zen and later)",
        Cpu::Native => "the CPU of the machine that compiled it (--cpu native)",
    }
}

/// The C header: sizes as macros, the status codes, the CPU check and both entry points
/// with their arguments' shapes and layouts and the caller's obligations. Valid C99 and
/// C++. The forward function's parameters, their order and their documentation come from
/// the kernel IR's entry point and its states.
fn header(
    model: &Model,
    ir: &Legal,
    baked: bool,
    (triple, needs): (&str, CpuNeeds<'_>),
    source: &str,
) -> String {
    let name = model.name();
    let up = name.to_uppercase();
    let t = c_type(model.dtype());
    let (i, h, d, l) = (
        model.input_size(),
        model.hidden_size(),
        model.num_directions(),
        model.num_layers(),
    );
    let params = model.params();
    let states: Vec<&str> = ir.states.iter().map(|s| s.name.as_str()).collect();
    let initial: Vec<String> = ir.states.iter().map(|s| s.initial()).collect();
    let last: Vec<String> = ir.states.iter().map(|s| s.last()).collect();
    let mut s = String::new();
    let what = if model.is_cell_module() {
        format!(
            "torch.nn.{0}'s call for these sizes, compiled for one target: {name}_step is\n * one call of the cell (one step), {name}_forward seq_len steps in one call.",
            model.module()
        )
    } else {
        format!(
            "torch.nn.{}'s forward pass for these sizes, compiled for one target.",
            model.module()
        )
    };
    let _ = writeln!(
        s,
        "/* {name}.h: generated by rnnc {} from {source} for {triple}\n * {}with {}-bit vectors. Do not edit.\n *\n * {model}\n * {what} The\n * functions call nothing (no libc) and allocate nothing: every buffer is the\n * caller's.\n *\n * The caller must ensure what {name}_forward cannot check:\n *   - every buffer holds at least the elements given below for the call's seq_len\n *     and batch ({up}_WORK_SIZE for work);\n *   - the CPU has the instructions the code uses ({name}_cpu_supported() tells);\n *   - no other thread writes the call's buffers during the call.\n * {name}_forward checks the rest and returns a status other than RNNC_OK, having\n * written nothing, for: seq_len < 1, batch < 0, seq_len * batch > {up}_MAX_ROWS, a NULL\n * pointer where a buffer is needed (batch > 0; {} and lengths may be NULL), a length\n * outside 1..seq_len, and output, {}, work overlapping any other buffer.\n */",
        env!("CARGO_PKG_VERSION"),
        needs.map_or(String::new(), |(cpu, _)| format!("({}) ", cpu.name())),
        ir.target.vector_bits,
        initial.join(", "),
        last.join(", "),
    );
    let _ = writeln!(s, "#ifndef RNNC_{up}_H\n#define RNNC_{up}_H\n");
    s.push_str("#include <stddef.h>\n#include <stdint.h>\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
    let _ = writeln!(
        s,
        "/* What the forward functions of rnnc's headers return (shared by every header). */\n#ifndef RNNC_STATUS_CODES\n#define RNNC_STATUS_CODES"
    );
    for status in Status::ALL {
        let meaning = status.meaning();
        let _ = writeln!(
            s,
            "#define {} {} /* {meaning} */",
            status.macro_name(),
            status as i32
        );
    }
    let _ = writeln!(s, "#endif\n");
    let _ = writeln!(
        s,
        "/* Element type of every tensor and weight. */\ntypedef {t} {name}_scalar;\n"
    );
    let _ = writeln!(s, "/* Sizes (torch's names). */");
    // A cell module has no layers, directions or layout of its own: its header has only
    // the rows of NAME_forward's states (1).
    let sequence = !model.is_cell_module();
    let mut sizes = vec![
        (
            "INPUT_SIZE".to_string(),
            i,
            "H_in: features per input step".to_string(),
        ),
        (
            "HIDDEN_SIZE".into(),
            h,
            "H: features of one direction's hidden units".into(),
        ),
    ];
    if sequence {
        sizes.extend([
            ("NUM_LAYERS".into(), l, "stacked layers".into()),
            ("NUM_DIRECTIONS".into(), d, "D: 2 if bidirectional".into()),
        ]);
    }
    sizes.extend([
        (
            "OUTPUT_SIZE".into(),
            model.output_size(),
            "features of one output step: D times the width of state h".into(),
        ),
        (
            "NUM_LAYER_DIRECTIONS".into(),
            d * l,
            if sequence {
                format!(
                    "D * num_layers: the (layer, direction) rows of {}",
                    states.join(", ")
                )
            } else {
                format!(
                    "the rows of {name}_forward's {}: one layer, one direction",
                    initial
                        .iter()
                        .chain(&last)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
        ),
    ]);
    sizes.push((
        "NUM_STATES".into(),
        ir.states.len(),
        format!("states carried between steps: {}", states.join(", ")),
    ));
    if model.kind() == rnnc_spec::CellKind::Lstm {
        sizes.push((
            "PROJ_SIZE".into(),
            model.proj_size(),
            "P: LSTM projection (weight_hr); h has P features when P > 0, else H".into(),
        ));
    }
    for state in &ir.states {
        sizes.push((
            format!("STATE_{}_SIZE", state.name.to_uppercase()),
            state.width as usize,
            format!("features of state {} per (layer, direction)", state.name),
        ));
    }
    if sequence {
        sizes.push((
            "BATCH_FIRST".to_string(),
            usize::from(model.batch_first()),
            "1: input/output are [batch][seq_len][...]".to_string(),
        ));
    }
    sizes.push((
        "WEIGHTS_BAKED".into(),
        usize::from(baked),
        "1: the weights are inside the object".into(),
    ));
    for (key, value, what) in sizes {
        let _ = writeln!(s, "#define {up}_{key} {value} /* {what} */");
    }
    let _ = writeln!(
        s,
        "\n/* The largest seq_len * batch of a call: every size and index then fits 64 bits. */\n#define {up}_MAX_ROWS {}u",
        ir.max_rows()
    );
    let _ = writeln!(
        s,
        "\n/* Elements of the workspace a call of seq_len steps and batch sequences needs, or\n * SIZE_MAX for arguments {name}_forward refuses (no allocation can satisfy it).\n * Overflow-free; evaluates its arguments several times. */\n#define {up}_WORK_SIZE(seq_len, batch) \\\n    {}",
        work_macro(&up, ir.work)
    );
    if !sequence {
        let _ = writeln!(
            s,
            "\n/* Elements of the workspace of {name}_step for batch rows: {name}_forward's for one\n * step, then room for its output. SIZE_MAX for a batch {name}_step refuses; overflow-free. */\n#define {up}_STEP_WORK_SIZE(batch) \\\n    ((batch) < 0 || (uint64_t)(batch) > {up}_MAX_ROWS ? SIZE_MAX \\\n     : {up}_WORK_SIZE(1, batch) + (size_t)(batch) * {up}_OUTPUT_SIZE)"
        );
    }
    let _ = writeln!(s, "\n{}", cpu_check(name, needs));
    let Some(forward) = ir.function("forward") else {
        // Only modules with `forward` reach object files (codegen refuses others).
        return s;
    };
    let (prototype, docs) = forward_api(model, ir, forward, baked);
    let forward_what = if sequence {
        "The forward pass".to_string()
    } else {
        format!(
            "{name}_step's kernel: seq_len steps of the cell in one call, each from the states\n * the step before left (bit for bit what {name}_step computes step by step), one\n * layer and one direction"
        )
    };
    if baked {
        let _ = writeln!(
            s,
            "\n/* {forward_what}, with the weights baked into the object.\n{docs}\n */\n{prototype}"
        );
    } else {
        let _ = writeln!(
            s,
            "\n/* Parameters in torch's state_dict order: params[k] of {name}_pack holds\n * {up}_PARAM_NAMES[k], row-major, {up}_PARAM_SIZES[k] elements:"
        );
        for p in &params {
            let _ = writeln!(s, " *   {:<24} {:?}", p.name(), p.shape());
        }
        let names: Vec<String> = params.iter().map(|p| format!("\"{}\"", p.name())).collect();
        let lens: Vec<String> = params.iter().map(|p| p.len().to_string()).collect();
        let _ = writeln!(
            s,
            " */\n#define {up}_NUM_PARAMS {}\n#define {up}_PARAM_NAMES {{ {} }}\n#define {up}_PARAM_SIZES {{ {} }}",
            params.len(),
            names.join(", "),
            lens.join(", ")
        );
        let _ = writeln!(
            s,
            "\n/* Elements of the packed weights buffer. */\n#define {up}_PACKED_SIZE {}",
            ir.packed_len
        );
        let _ = writeln!(
            s,
            "\n/* Lays the parameters out for {name}_forward: params as above, packed of\n * {up}_PACKED_SIZE elements. Once per set of weights. */\nvoid {name}_pack(const {t} *const params[{up}_NUM_PARAMS], {t} *packed);"
        );
        let _ = writeln!(
            s,
            "\n/* {forward_what}.\n *   weights the buffer {name}_pack filled\n{docs}\n */\n{prototype}"
        );
    }
    if !sequence {
        let _ = writeln!(s, "\n{}", step_api(model, ir, forward, baked));
    }
    let _ = writeln!(
        s,
        "\n#ifdef __cplusplus\n}}\n#endif\n\n#endif /* RNNC_{up}_H */"
    );
    s
}

/// A cell module's `NAME_step`: its documentation and its inline definition, which calls
/// `NAME_forward` with the arguments of `forward`'s parameters (by their roles) for one
/// step: `seq_len` 1, no lengths, the output after the kernel's workspace.
fn step_api(model: &Model, ir: &Legal, forward: &Function, baked: bool) -> String {
    let name = model.name();
    let up = name.to_uppercase();
    let t = c_type(model.dtype());
    let roles = ir.roles(forward).unwrap_or_default();
    let row = |state: &StateInfo| format!("[batch][{up}_STATE_{}_SIZE]", state.name.to_uppercase());
    let name_of = |wanted: Role| {
        roles
            .iter()
            .zip(&forward.params)
            .find(|(role, _)| **role == wanted)
            .map_or(String::new(), |(_, param)| param_name(forward, param))
    };
    let (work, batch) = (name_of(Role::Work), name_of(Role::Batch));
    let (mut args, mut call, mut docs) = (Vec::new(), Vec::new(), Vec::new());
    for (role, param) in roles.iter().zip(&forward.params) {
        let pname = param_name(forward, param);
        let (arg, value, doc) = match *role {
            Role::Weights if baked => continue,
            Role::Weights => (
                format!("const {t} *{pname}"),
                pname.clone(),
                format!("the buffer {name}_pack filled"),
            ),
            Role::Input => (
                format!("const {t} *{pname}"),
                pname.clone(),
                format!("[batch][{up}_INPUT_SIZE] (an unbatched (H_in) input: batch = 1)"),
            ),
            Role::Initial(k) => {
                let state = &ir.states[k];
                (
                    format!("const {t} *{pname}"),
                    pname.clone(),
                    format!(
                        "{}: the {} before; NULL for zeros{}",
                        row(state),
                        state.name,
                        if ir.states.len() > 1 {
                            "\n *           (all NULL, or none: else RNNC_NULL_ARGUMENT)"
                        } else {
                            ""
                        }
                    ),
                )
            }
            Role::Lengths => {
                call.push("NULL".to_string());
                continue;
            }
            Role::Output => {
                // No pointer arithmetic on NULL: a NULL workspace is NAME_forward's to refuse.
                call.push(format!(
                    "{work} == NULL ? NULL : {work} + {up}_WORK_SIZE(1, {batch})"
                ));
                continue;
            }
            Role::Last(k) => {
                let state = &ir.states[k];
                let out = format!("{}1", state.name);
                (
                    format!("{t} *{out}"),
                    out,
                    format!("{}, written: torch's {}'", row(state), state.name),
                )
            }
            Role::Work => (
                format!("{t} *{pname}"),
                pname.clone(),
                format!(
                    "{up}_STEP_WORK_SIZE(batch) elements of scratch ({name}_forward's workspace,\n *           then its output)"
                ),
            ),
            Role::SeqLen => {
                call.push("1".to_string());
                continue;
            }
            Role::Batch => (
                format!("int64_t {pname}"),
                pname.clone(),
                ">= 0 (0: nothing to do)".to_string(),
            ),
            Role::Step | Role::Part | Role::Parts => continue,
        };
        let shown = value.clone();
        call.push(value);
        args.push(arg);
        docs.push(format!(" *   {shown:<7} {doc}"));
    }
    let states: Vec<String> = ir.states.iter().map(|s| format!("{}1", s.name)).collect();
    let initial: Vec<String> = ir.states.iter().map(StateInfo::initial).collect();
    let result = if states.len() > 1 {
        format!("({})", states.join(", "))
    } else {
        states.join(", ")
    };
    let hx = if initial.len() > 1 {
        format!("({})", initial.join(", "))
    } else {
        initial.join(", ")
    };
    format!(
        "/* One call of torch.nn.{module}: {result} = cell(input, {hx}).\n{docs}\n * Row-major, no padding; {outs} and work must not overlap the inputs or each other\n * (to step in a loop, keep two sets of states and swap them from step to step).\n * Returns what {name}_forward returns for one step: RNNC_OK, or the status of the\n * first check that failed, nothing written. */\n{prototype}\n    if ({batch} < 0) return RNNC_BAD_BATCH;\n    if ((uint64_t){batch} > {up}_MAX_ROWS) return RNNC_TOO_LARGE;\n{call}\n}}",
        module = model.module(),
        docs = docs.join("\n"),
        outs = states.join(", "),
        prototype = wrapped(&format!("static inline int {name}_step("), &args, " {", 4),
        call = wrapped(&format!("    return {name}_forward("), &call, ";", 8),
    )
}

/// The C name of a parameter of an entry point: its buffer's or register's IR name.
fn param_name(func: &Function, param: &Param) -> String {
    match param {
        Param::Buf(b) => func.buf(*b).name.clone(),
        Param::Scalar(r) => func.reg(*r).name.clone(),
    }
}

/// `head`, the arguments separated by commas and wrapped at 90 columns (continuation lines
/// indented by `indent`), then `)` and `tail`.
fn wrapped(head: &str, args: &[String], tail: &str, indent: usize) -> String {
    let pieces: Vec<String> = args
        .iter()
        .enumerate()
        .map(|(k, arg)| {
            if k + 1 == args.len() {
                format!("{arg}){tail}")
            } else {
                format!("{arg},")
            }
        })
        .collect();
    fill(head, &pieces, &" ".repeat(indent), 90)
}

/// `head`, then `pieces` separated by spaces, a line broken before a piece that would pass
/// `width` columns and continued after `continuation`.
fn fill(head: &str, pieces: &[String], continuation: &str, width: usize) -> String {
    let mut text = head.to_string();
    let mut line_len = text.len();
    for (k, piece) in pieces.iter().enumerate() {
        if k > 0 {
            if line_len + 1 + piece.len() > width {
                text.push('\n');
                text.push_str(continuation);
                line_len = continuation.len();
            } else {
                text.push(' ');
                line_len += 1;
            }
        }
        line_len += piece.len();
        text.push_str(piece);
    }
    text
}

/// The C type of the elements.
fn c_type(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "float",
        DType::F64 => "double",
    }
}

/// `NAME_forward`'s prototype and the documentation of its arguments (without `weights`,
/// which the caller documents), from the IR function's parameters and their roles.
fn forward_api(model: &Model, ir: &Legal, forward: &Function, baked: bool) -> (String, String) {
    let cell = model.is_cell_module();
    let name = model.name();
    let up = name.to_uppercase();
    let t = c_type(model.dtype());
    let sequence = |features: &str| {
        if model.batch_first() {
            format!("[batch][seq_len][{up}_{features}]")
        } else {
            format!("[seq_len][batch][{up}_{features}]")
        }
    };
    let state_shape = |state: &StateInfo| {
        format!(
            "[{up}_NUM_LAYER_DIRECTIONS][batch][{up}_STATE_{}_SIZE]",
            state.name.to_uppercase()
        )
    };
    let roles = ir.roles(forward).unwrap_or_default();
    let mut args = Vec::new();
    let mut docs = Vec::new();
    for (role, param) in roles.iter().zip(&forward.params) {
        let pname = param_name(forward, param);
        let (ctype, doc) = match *role {
            Role::Weights if baked => continue,
            Role::Weights => (format!("const {t} *"), None),
            Role::Input => (
                format!("const {t} *"),
                Some(format!(
                    "{} (unbatched input: batch = 1)",
                    sequence("INPUT_SIZE")
                )),
            ),
            Role::Initial(k) => {
                let state = &ir.states[k];
                (
                    format!("const {t} *"),
                    Some(format!(
                        "{}{}:\n *           the initial {}; NULL for zeros{}",
                        state_shape(state),
                        if cell {
                            ""
                        } else {
                            ", row layer * D + direction"
                        },
                        state.name,
                        if ir.states.len() > 1 {
                            " (all initial states NULL, or none:\n *           else RNNC_NULL_ARGUMENT)"
                        } else {
                            ""
                        }
                    )),
                )
            }
            Role::Lengths => (
                "const int64_t *".to_string(),
                Some(format!(
                    "[batch] valid steps per sequence, each 1..seq_len, any order; NULL for all\n *           seq_len. Past its length a sequence outputs zeros and keeps its states{}",
                    if cell {
                        "."
                    } else {
                        "; its\n *           reverse direction starts at its last valid step."
                    }
                )),
            ),
            Role::Output => (
                format!("{t} *"),
                Some(format!(
                    "{}, written{}",
                    sequence("OUTPUT_SIZE"),
                    if cell {
                        ": each step's h"
                    } else {
                        "; features: forward then reverse"
                    }
                )),
            ),
            Role::Last(k) => {
                let state = &ir.states[k];
                (
                    format!("{t} *"),
                    Some(format!(
                        "{}, written: each sequence's {}\n *           after its last valid step",
                        state_shape(state),
                        state.name
                    )),
                )
            }
            Role::Work => (
                format!("{t} *"),
                Some(format!(
                    "{up}_WORK_SIZE(seq_len, batch) elements of scratch"
                )),
            ),
            Role::SeqLen => ("int64_t ".to_string(), Some(">= 1".to_string())),
            Role::Batch => (
                "int64_t ".to_string(),
                Some(">= 0 (0: nothing to do)".to_string()),
            ),
            Role::Step | Role::Part | Role::Parts => ("int64_t ".to_string(), None),
        };
        args.push(format!("{ctype}{pname}"));
        if let Some(doc) = doc {
            docs.push(format!(" *   {pname:<7} {doc}"));
        }
    }
    docs.push(format!(
        " * Row-major, no padding; output, {} and work must not overlap the inputs or each\n * other. Returns RNNC_OK, or the status of the first check that failed (nothing\n * written).",
        ir.states.iter().map(|s| s.last()).collect::<Vec<_>>().join(", ")
    ));
    let prototype = wrapped(&format!("int {name}_forward("), &args, ";", 4);
    (prototype, docs.join("\n"))
}
