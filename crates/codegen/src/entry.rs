//! The checks at the top of an entry point (`NAME_forward`), and the status it returns.
//!
//! C callers get no help from a type system: a negative `seq_len`, a `NULL` workspace or an
//! output that overlaps the input would make a kernel read or write outside its buffers.
//! So the entry point checks, once per call, every argument it can check without knowing
//! the buffers' real sizes, and returns a [`Status`] instead of running:
//! - `seq_len >= 1` and `batch >= 0` (`batch == 0`: nothing to do, `OK` at once);
//! - `seq_len * batch <= MAX_ROWS` ([`rnnc_kernel::Module::max_rows`]), so that no size or
//!   index overflows;
//! - every pointer that may not be null is not (for `batch > 0`);
//! - every length in `lengths` is in `1..=seq_len`;
//! - no buffer the kernel writes overlaps another buffer of the call.
//!
//! What it cannot check is documented in the header: that each buffer really has the
//! elements its size says, and that the machine has the instructions the code uses.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Value, types};
use cranelift_frontend::FunctionBuilder;
use rnnc_kernel::Size;

/// What an entry point returns: `OK`, or why it refused the call (nothing was written).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Status {
    /// The call ran.
    Ok = 0,
    /// `seq_len < 1`.
    BadSeqLen = 1,
    /// `batch < 0`.
    BadBatch = 2,
    /// `seq_len * batch` is larger than `MAX_ROWS`.
    TooLarge = 3,
    /// A pointer that may not be null is null.
    NullArgument = 4,
    /// A length in `lengths` is outside `1..=seq_len`.
    BadLengths = 5,
    /// A buffer the kernel writes overlaps another buffer of the call.
    Overlap = 6,
}

impl Status {
    /// Every status, in code order.
    pub const ALL: [Status; 7] = [
        Status::Ok,
        Status::BadSeqLen,
        Status::BadBatch,
        Status::TooLarge,
        Status::NullArgument,
        Status::BadLengths,
        Status::Overlap,
    ];

    /// The status of a code an entry point returned.
    pub fn from_code(code: i32) -> Option<Status> {
        Status::ALL.into_iter().find(|s| *s as i32 == code)
    }

    /// The C macro naming it: `RNNC_OK`, `RNNC_BAD_SEQ_LEN`, ...
    pub fn macro_name(self) -> &'static str {
        match self {
            Status::Ok => "RNNC_OK",
            Status::BadSeqLen => "RNNC_BAD_SEQ_LEN",
            Status::BadBatch => "RNNC_BAD_BATCH",
            Status::TooLarge => "RNNC_TOO_LARGE",
            Status::NullArgument => "RNNC_NULL_ARGUMENT",
            Status::BadLengths => "RNNC_BAD_LENGTHS",
            Status::Overlap => "RNNC_OVERLAP",
        }
    }

    /// What it means, for the header's comment.
    pub fn meaning(self) -> &'static str {
        match self {
            Status::Ok => "the call ran",
            Status::BadSeqLen => "seq_len < 1",
            Status::BadBatch => "batch < 0",
            Status::TooLarge => "seq_len * batch is beyond the model's NAME_MAX_ROWS",
            Status::NullArgument => {
                "a pointer that may not be NULL is NULL, or some initial states are and others \
                 not (batch > 0)"
            }
            Status::BadLengths => "a length is outside 1..seq_len",
            Status::Overlap => "output, h_n or work overlaps another buffer",
        }
    }
}

/// A pointer argument of an entry point, as the checks see it.
pub(crate) struct Pointer {
    /// Its value.
    pub value: Value,
    /// Elements of the buffer for a call (`LN * ln + N * n + c`).
    pub len: Size,
    /// Bytes per element.
    pub bytes: u32,
    /// Whether the kernel writes it.
    pub writable: bool,
    /// Whether it may be null.
    pub nullable: bool,
    /// Whether it is a buffer of `lengths` (`i64` each, `1..=seq_len`).
    pub lengths: bool,
    /// Whether it is an initial state (`h0`, `c0`): given all together or not at all.
    pub initial: bool,
}

/// Emits the checks; afterwards the builder is in the block where the kernel's body goes.
/// A failed check returns its status; `batch == 0` returns `OK`.
pub(crate) fn emit_checks(
    b: &mut FunctionBuilder<'_>,
    pointers: &[Pointer],
    seq_len: Value,
    batch: Value,
    max_rows: u64,
) {
    let fail = |b: &mut FunctionBuilder<'_>, cond: Value, status: Status| {
        let refuse = b.create_block();
        let next = b.create_block();
        b.ins().brif(cond, refuse, &[], next, &[]);
        b.switch_to_block(refuse);
        let code = b.ins().iconst(types::I32, status as i64);
        b.ins().return_(&[code]);
        b.switch_to_block(next);
    };
    let short_seq = b.ins().icmp_imm_s(IntCC::SignedLessThan, seq_len, 1);
    fail(b, short_seq, Status::BadSeqLen);
    let negative = b.ins().icmp_imm_s(IntCC::SignedLessThan, batch, 0);
    fail(b, negative, Status::BadBatch);
    let empty = b.ins().icmp_imm_s(IntCC::Equal, batch, 0);
    fail(b, empty, Status::Ok);
    // seq_len * batch <= max_rows, without computing the product: seq_len <= max / batch.
    let max = b.ins().iconst(types::I64, max_rows as i64);
    let per_sequence = b.ins().udiv(max, batch);
    let long = b
        .ins()
        .icmp(IntCC::UnsignedGreaterThan, seq_len, per_sequence);
    fail(b, long, Status::TooLarge);
    for p in pointers.iter().filter(|p| !p.nullable && !is_zero(p.len)) {
        let null = b.ins().icmp_imm_s(IntCC::Equal, p.value, 0);
        fail(b, null, Status::NullArgument);
    }
    // torch takes an LSTM's (h0, c0) together or not at all: some NULL and some not is
    // refused, not read as zeros.
    let initial: Vec<&Pointer> = pointers.iter().filter(|p| p.initial).collect();
    if let Some((first, rest)) = initial.split_first() {
        let first_null = b.ins().icmp_imm_s(IntCC::Equal, first.value, 0);
        for p in rest {
            let null = b.ins().icmp_imm_s(IntCC::Equal, p.value, 0);
            let mixed = b.ins().bxor(first_null, null);
            fail(b, mixed, Status::NullArgument);
        }
    }
    for p in pointers.iter().filter(|p| p.lengths) {
        check_lengths(b, p.value, seq_len, batch, &fail);
    }
    // Byte sizes: bounded by 2^62 under the row limit, so plain arithmetic is exact.
    let rows = b.ins().imul(seq_len, batch);
    let sizes: Vec<Value> = pointers
        .iter()
        .map(|p| {
            let ln = b.ins().imul_imm_s(rows, (p.len.ln * p.bytes as u64) as i64);
            let n = b.ins().imul_imm_s(batch, (p.len.n * p.bytes as u64) as i64);
            let sum = b.ins().iadd(ln, n);
            b.ins().iadd_imm_s(sum, (p.len.c * p.bytes as u64) as i64)
        })
        .collect();
    for (i, w) in pointers.iter().enumerate().filter(|(_, p)| p.writable) {
        for (j, other) in pointers.iter().enumerate() {
            if i == j || (other.writable && j < i) {
                continue; // each pair of written buffers once
            }
            let overlap = overlaps(b, (w.value, sizes[i]), (other.value, sizes[j]));
            fail(b, overlap, Status::Overlap);
        }
    }
}

fn is_zero(s: Size) -> bool {
    s.ln == 0 && s.n == 0 && s.c == 0
}

/// 1 if `[a, a + a_len)` and `[b, b + b_len)` share a byte (empty ranges and null pointers
/// share none).
fn overlaps(
    b: &mut FunctionBuilder<'_>,
    (x, x_len): (Value, Value),
    (y, y_len): (Value, Value),
) -> Value {
    let x_end = b.ins().iadd(x, x_len);
    let y_end = b.ins().iadd(y, y_len);
    let x_before_y_end = b.ins().icmp(IntCC::UnsignedLessThan, x, y_end);
    let y_before_x_end = b.ins().icmp(IntCC::UnsignedLessThan, y, x_end);
    let meet = b.ins().band(x_before_y_end, y_before_x_end);
    let x_null = b.ins().icmp_imm_s(IntCC::Equal, x, 0);
    let y_null = b.ins().icmp_imm_s(IntCC::Equal, y, 0);
    let null = b.ins().bor(x_null, y_null);
    let zero = b.ins().iconst(types::I8, 0);
    b.ins().select(null, zero, meet)
}

/// Refuses the call unless every `lengths[i]`, `i < batch`, is in `1..=seq_len` (a null
/// `lengths` means all `seq_len`).
fn check_lengths(
    b: &mut FunctionBuilder<'_>,
    lengths: Value,
    seq_len: Value,
    batch: Value,
    fail: &dyn Fn(&mut FunctionBuilder<'_>, Value, Status),
) {
    let (header, body, done) = (b.create_block(), b.create_block(), b.create_block());
    let given = b.ins().icmp_imm_s(IntCC::NotEqual, lengths, 0);
    let zero = b.ins().iconst(types::I64, 0);
    b.ins().brif(given, header, &[zero.into()], done, &[]);
    let i = b.append_block_param(header, types::I64);
    b.switch_to_block(header);
    let end = b.ins().icmp(IntCC::SignedGreaterThanOrEqual, i, batch);
    b.ins().brif(end, done, &[], body, &[]);
    b.switch_to_block(body);
    let at = b.ins().ishl_imm_s(i, 3);
    let at = b.ins().iadd(lengths, at);
    let flags = MemFlagsData::new().with_notrap().with_readonly();
    let len = b.ins().load(types::I64, flags, at, 0);
    let short = b.ins().icmp_imm_s(IntCC::SignedLessThan, len, 1);
    let long = b.ins().icmp(IntCC::SignedGreaterThan, len, seq_len);
    let bad = b.ins().bor(short, long);
    fail(b, bad, Status::BadLengths);
    let next = b.ins().iadd_imm_s(i, 1);
    b.ins().jump(header, &[next.into()]);
    b.switch_to_block(done);
}
