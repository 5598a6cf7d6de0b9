//! Building the layer graph from a validated model: the plain schedule every pass starts
//! from.
//!
//! The initial graph computes exactly torch's formula step by step, with no decision taken:
//! each recurrence computes `W_ih x_t` itself (no hoisting), adds `bias_ih` then `bias_hh`
//! separately (for a cell with split gates, per group: GRU's `ih[0..2],hh[0..2],ih[2],hh[2]`), activates in a separate pass over a buffer, and reads weights in torch's
//! layout with one vector of accumulators.

use rnnc_spec::Model;

use rnnc_kernel::{Scalar, Target};

use super::{
    BiasRef, BiasTerm, Block, Epilogue, Gates, Graph, Layer, Layout, RecInput, Recurrence,
};

/// The unoptimized graph of `model` for `target`.
pub fn build_graph(model: &Model, target: Target) -> Graph {
    let dtype = match model.dtype() {
        rnnc_spec::DType::F32 => Scalar::F32,
        rnnc_spec::DType::F64 => Scalar::F64,
    };
    let lanes = target.lanes(dtype) as usize;
    let cell = model.cell();
    let bias = if !model.bias() {
        Vec::new()
    } else if cell.split_gates().is_empty() {
        vec![BiasTerm::all(BiasRef::Ih), BiasTerm::all(BiasRef::Hh)]
    } else {
        // Gates before the first split one get both biases as a group (which fold-bias
        // may fold); each split gate keeps its own `ih` and `hh` terms.
        let g = cell.gates();
        let first = cell.split_gates()[0];
        let mut terms = Vec::new();
        if first > 0 {
            for bias in [BiasRef::Ih, BiasRef::Hh] {
                terms.push(BiasTerm {
                    bias,
                    gates: Gates::Range(0, first),
                });
            }
        }
        for gate in first..g {
            for bias in [BiasRef::Ih, BiasRef::Hh] {
                terms.push(BiasTerm {
                    bias,
                    gates: Gates::Range(gate, gate + 1),
                });
            }
        }
        terms
    };
    let layers = (0..model.num_layers())
        .map(|_| Layer {
            projection: None,
            recurrences: (0..model.num_directions())
                .map(|direction| Recurrence {
                    cell,
                    direction,
                    input: RecInput::Fused,
                    bias: bias.clone(),
                    epilogue: Epilogue::Separate,
                    layout: Layout::Torch,
                    block: Block::unblocked(lanes),
                })
                .collect(),
        })
        .collect();
    Graph {
        name: model.name().to_string(),
        dtype,
        target,
        input_size: model.input_size(),
        hidden_size: model.hidden_size(),
        directions: model.num_directions(),
        proj_size: model.proj_size(),
        bias: model.bias(),
        batch_first: model.batch_first(),
        layers,
    }
}
