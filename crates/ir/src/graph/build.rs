//! Building the layer graph from a validated model: the plain schedule every pass starts
//! from.
//!
//! The initial graph computes exactly torch's formula step by step, with no decision taken:
//! each recurrence computes `W_ih x_t` itself (no hoisting), adds `bias_ih` then `bias_hh`
//! separately, activates in a separate pass over a buffer, and reads weights in torch's
//! layout with one vector of accumulators.

use rnnc_spec::Model;

use rnnc_kernel::{Scalar, Target};

use super::{BiasRef, BiasTerm, Block, Epilogue, Graph, Layer, Layout, RecInput, Recurrence};

/// The unoptimized graph of `model` for `target`.
pub fn build_graph(model: &Model, target: Target) -> Graph {
    let dtype = match model.dtype() {
        rnnc_spec::DType::F32 => Scalar::F32,
        rnnc_spec::DType::F64 => Scalar::F64,
    };
    let lanes = target.lanes(dtype) as usize;
    let bias = if model.bias() {
        vec![BiasTerm::all(BiasRef::Ih), BiasTerm::all(BiasRef::Hh)]
    } else {
        Vec::new()
    };
    let layers = (0..model.num_layers())
        .map(|_| Layer {
            projection: None,
            recurrences: (0..model.num_directions())
                .map(|direction| Recurrence {
                    cell: model.cell(),
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
        bias: model.bias(),
        batch_first: model.batch_first(),
        layers,
    }
}
