//! `fold-bias`: add `bias_ih + bias_hh` once, when weights are packed, instead of adding
//! both at every step. Changes rounding (one sum of the biases, then one addition), which
//! the reference tolerance covers.

use crate::graph::{BiasRef, BiasTerm, Gates, Graph};

/// In every bias list, replaces each `ih` term that has an `hh` term for the same gates
/// with their folded sum, placed first; never for a gate whose recurrent part the cell
/// keeps apart (GRU's `b_hn` is multiplied by `r`, `b_in` is not).
pub fn fold_bias(mut graph: Graph) -> Graph {
    let cell = graph.cell();
    let fold = |bias: &mut Vec<BiasTerm>| {
        let pairs: Vec<Gates> = bias
            .iter()
            .filter(|t| {
                t.bias == BiasRef::Ih
                    && BiasTerm {
                        bias: BiasRef::Folded,
                        ..**t
                    }
                    .input_side(cell)
                    && bias.contains(&BiasTerm {
                        bias: BiasRef::Hh,
                        ..**t
                    })
            })
            .map(|t| t.gates)
            .collect();
        bias.retain(|t| t.bias == BiasRef::Folded || !pairs.contains(&t.gates));
        bias.splice(
            0..0,
            pairs.into_iter().map(|gates| BiasTerm {
                bias: BiasRef::Folded,
                gates,
            }),
        );
    };
    for layer in &mut graph.layers {
        if let Some(p) = &mut layer.projection {
            fold(&mut p.bias);
        }
        for r in &mut layer.recurrences {
            fold(&mut r.bias);
        }
    }
    graph
}
