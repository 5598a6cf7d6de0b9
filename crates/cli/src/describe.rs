//! `rnnc SPEC.toml --emit describe`: what a validated spec describes (a cell module's call
//! as torch's cell modules take it: one step, no layer dim).

use std::fmt::Write as _;

use rnnc::Model;

/// Thousands separators, for counts a reader compares at a glance.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn describe(model: &Model) -> String {
    let mut out = String::new();
    let (i, h, d, l) = (
        model.input_size(),
        model.hidden_size(),
        model.num_directions(),
        model.num_layers(),
    );
    let _ = writeln!(out, "{}: {model}", model.name());
    if model.is_cell_module() {
        // One step per call: no time dim, no layer dim; the call returns the new states.
        let _ = writeln!(
            out,
            "  input  (N, {i}) or unbatched ({i}): one step per call"
        );
        for &kind in model.states() {
            let w = model.state_size(kind);
            let _ = writeln!(
                out,
                "  {0}0 -> {0}1 (N, {w}) or unbatched ({w}): the state {0} before and after \
                 the step (torch's {0}')",
                kind.name()
            );
        }
    } else {
        let out_width = model.output_size();
        let (seq_in, seq_out) = if model.batch_first() {
            (format!("(N, L, {i})"), format!("(N, L, {out_width})"))
        } else {
            (format!("(L, N, {i})"), format!("(L, N, {out_width})"))
        };
        let _ = writeln!(
            out,
            "  input  {seq_in} or unbatched (L, {i})\n  output {seq_out} or unbatched (L, {out_width})"
        );
        for &kind in model.states() {
            let w = model.state_size(kind);
            let _ = writeln!(
                out,
                "  {}, {} ({}, N, {w}) or unbatched ({}, {w})",
                kind.initial(),
                kind.last(),
                d * l,
                d * l
            );
        }
    }
    let cell = model.cell();
    let _ = writeln!(
        out,
        "  gates {} ({} x {h} rows of every weight_ih, weight_hh and bias){}",
        cell.gate_names().join(", "),
        cell.gates(),
        if model.proj_size() > 0 {
            format!(
                "; h projected from {h} to {} by weight_hr",
                model.proj_size()
            )
        } else {
            String::new()
        }
    );
    if model.dropout() != 0.0 {
        let _ = writeln!(
            out,
            "  dropout {} applies in training only; inference ignores it",
            model.dropout()
        );
    }
    let params = model.params();
    let width = params.iter().map(|p| p.name().len()).max().unwrap_or(0);
    let _ = writeln!(out, "\nparameters (torch state_dict names):");
    for p in &params {
        let _ = writeln!(out, "  {:<width$}  {:?}", p.name(), p.shape());
    }
    let count = model.num_parameters() as u64;
    let _ = writeln!(
        out,
        "\n{} parameters ({} bytes as {})",
        grouped(count),
        grouped(count * model.dtype().size() as u64),
        model.dtype()
    );
    let per = if model.is_cell_module() {
        "step per sequence (2 * G * H * (in + H))"
    } else if model.proj_size() > 0 {
        "time step per sequence (2 * G * H * (in + R) + 2 * P * H per layer and direction)"
    } else {
        "time step per sequence (2 * G * H * (in + R) per layer and direction)"
    };
    let _ = writeln!(out, "{} FLOPs per {per}", grouped(model.flops_per_step()));
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn grouping() {
        assert_eq!(super::grouped(0), "0");
        assert_eq!(super::grouped(999), "999");
        assert_eq!(super::grouped(1000), "1,000");
        assert_eq!(super::grouped(1234567), "1,234,567");
    }
}
