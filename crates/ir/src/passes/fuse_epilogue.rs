//! `fuse-epilogue`: add biases, activate, mask and store while the pre-activations are
//! still in registers, instead of storing them and running a second loop over the buffer.

use crate::graph::{Epilogue, Graph};

/// Fuses the epilogue of every recurrence.
pub fn fuse_epilogue(mut graph: Graph) -> Graph {
    for layer in &mut graph.layers {
        for r in &mut layer.recurrences {
            r.epilogue = Epilogue::Fused;
        }
    }
    graph
}
