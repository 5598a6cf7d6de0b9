//! A cell module's calls are checked as torch checks them: for every call of the grid in
//! `torch_cell_calls.txt` (written by torch's `RNNCell`, `LSTMCell` and `GRUCell`,
//! `tools/cell_call_messages.py`), rnnc accepts the call with torch's result shapes, or
//! refuses it with torch's message and a variant documented as torch's exception class.

use rnnc_spec::{CallError, CallShape, CellKind, RnnSpec, StateKind};

/// The exception class each variant's documentation names: what the Python binding raises.
fn torch_class(error: &CallError) -> &'static str {
    match error {
        CallError::CellInputRank { .. } | CallError::CellHiddenRank { .. } => "ValueError",
        CallError::CellHiddenCount {
            unbatched: true, ..
        } => "IndexError",
        CallError::CellHiddenCount { .. }
        | CallError::CellInputSize { .. }
        | CallError::CellHiddenDims { .. }
        | CallError::CellHiddenBatch { .. }
        | CallError::CellHiddenSize { .. } => "RuntimeError",
        other => panic!("a cell module's call refused as a sequence module's: {other:?}"),
    }
}

fn dims(text: &str) -> Option<Vec<usize>> {
    let inner = text.strip_prefix('[')?.strip_suffix(']')?;
    Some(if inner.is_empty() {
        Vec::new()
    } else {
        inner.split(", ").map(|d| d.parse().unwrap()).collect()
    })
}

#[test]
fn cell_calls_are_accepted_and_refused_as_torch_does() {
    let table = include_str!("torch_cell_calls.txt");
    let mut checked = 0;
    let mut wrong = Vec::new();
    for line in table.lines().filter(|l| !l.starts_with('#')) {
        let fields: Vec<&str> = line.split('\t').collect();
        let [module, input, h0, c0, class, result] = fields[..] else {
            panic!("a line of six fields: {line}");
        };
        let kind = CellKind::ALL
            .into_iter()
            .find(|k| k.module() == module)
            .unwrap();
        let model = RnnSpec::builder(4, 3).cell(kind).build().unwrap();
        let input = dims(input).unwrap();
        let states: Vec<Vec<usize>> = [h0, c0].iter().filter_map(|s| dims(s)).collect();
        let shapes: Vec<&[usize]> = states.iter().map(Vec::as_slice).collect();
        let hx = (h0 != "none").then_some(shapes.as_slice());
        let got = match CallShape::check(&model, &input, hx, None) {
            Ok(call) => {
                let mut shapes = vec![format!("{:?}", &*call.output_shape())];
                assert_eq!(call.output_shape(), call.state_shape(StateKind::H));
                if call.states.len() > 1 {
                    shapes.push(format!("{:?}", &*call.state_shape(StateKind::C)));
                }
                format!("OK\t{}", shapes.join(" "))
            }
            Err(e) => format!("{}\t{e}", torch_class(&e)),
        };
        if got != format!("{class}\t{result}") {
            wrong.push(format!("{line}\n  rnnc: {got}"));
        }
        checked += 1;
    }
    assert_eq!(checked, 770, "the table's calls");
    assert!(
        wrong.is_empty(),
        "{} calls differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// What torch has no message for: lengths, and states a cell of one state cannot take.
#[test]
fn cell_calls_torch_cannot_make_are_refused_clearly() {
    let gru = RnnSpec::builder(4, 3)
        .cell(CellKind::GruCell)
        .build()
        .unwrap();
    let err = CallShape::check(&gru, &[2, 4], None, Some(&[1, 1])).unwrap_err();
    assert_eq!(err, CallError::CellLengths { module: "GRUCell" });
    assert_eq!(
        err.to_string(),
        "lengths do not apply to torch.nn.GRUCell, which computes one step of each sequence: \
         call it without lengths, once per step"
    );
    let two: [&[usize]; 2] = [&[2, 3], &[2, 3]];
    assert_eq!(
        CallShape::check(&gru, &[2, 4], Some(&two), None)
            .unwrap_err()
            .to_string(),
        "expected the 1 initial state(s) (h0) together, got 2 tensor(s)"
    );
    // A batch of 0 is a call, as in torch (which returns empty results).
    let call = CallShape::check(&gru, &[0, 4], None, None).unwrap();
    assert_eq!((call.seq_len, call.batch), (1, 0));
    assert_eq!(call.output_shape(), [0, 3]);
}
