//! `fold-bias`: add `bias_ih + bias_hh` once, when weights are packed, instead of adding
//! both at every step. Changes rounding (one sum of the biases, then one addition), which
//! the reference tolerance covers.

use crate::graph::{BiasRef, Graph};

/// Replaces every bias list holding both `ih` and `hh` with the folded sum.
pub fn fold_bias(mut graph: Graph) -> Graph {
    let fold = |bias: &mut Vec<BiasRef>| {
        if bias.contains(&BiasRef::Ih) && bias.contains(&BiasRef::Hh) {
            bias.retain(|b| !matches!(b, BiasRef::Ih | BiasRef::Hh));
            bias.insert(0, BiasRef::Folded);
        }
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
