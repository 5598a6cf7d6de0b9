//! `hoist`: compute a layer's input projection `P = X W_ih^T + biases` for all time steps
//! and sequences in one GEMM before the recurrence, instead of a GEMV per step.
//!
//! Size rule: hoist when the layer reads at least two vectors of features per step
//! (`in >= 2 * lanes`: 8 for f32, 4 for f64). The GEMM reuses each weight across all
//! columns and runs at compute speed, while the per-step product streams `W_ih` once per
//! step; below the threshold the per-step product is a few multiply-adds per row, cheaper
//! than writing and re-reading `P`. Both directions of a layer share one projection (their
//! rows stacked), so the input is read once. The recurrence's biases move into the
//! projection's initial value, leaving the step loop with no bias to add (but those a
//! cell keeps with the recurrent product: GRU's `b_hn`).

use crate::graph::{Graph, Projection, RecInput};

/// Whether the size rule hoists a layer reading `input` features per step.
pub fn should_hoist(input: usize, lanes: usize) -> bool {
    input >= 2 * lanes
}

/// Hoists the projection of every layer the size rule selects.
pub fn hoist(mut graph: Graph) -> Graph {
    let lanes = graph.lanes();
    for l in 0..graph.layers.len() {
        let input = graph.layer_input_size(l);
        let layer = &mut graph.layers[l];
        if layer.projection.is_some() || !should_hoist(input, lanes) {
            continue;
        }
        let fused: Vec<usize> = layer
            .recurrences
            .iter()
            .filter(|r| r.input == RecInput::Fused)
            .map(|r| r.direction)
            .collect();
        let Some(first) = layer
            .recurrences
            .iter()
            .find(|r| r.input == RecInput::Fused)
        else {
            continue;
        };
        let cell = first.cell;
        let projection = Projection {
            directions: fused.clone(),
            bias: first
                .bias
                .iter()
                .copied()
                .filter(|t| t.input_side(cell))
                .collect(),
            layout: first.layout,
            block: first.block,
        };
        for r in &mut layer.recurrences {
            if r.input == RecInput::Fused {
                r.input = RecInput::Projected;
                r.bias.retain(|t| !t.input_side(cell));
            }
        }
        layer.projection = Some(projection);
    }
    graph
}
