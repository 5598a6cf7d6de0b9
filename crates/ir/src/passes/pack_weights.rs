//! `pack-weights`: store each weight matrix as panels of rows, column-major inside a panel,
//! so that a kernel reads one panel column (contiguous, `width` rows) per multiply-add step
//! and broadcasts one input element against it: no horizontal reductions, unit-stride
//! weight streams.
//!
//! Panel width: 8 vectors (32 rows of f32, 16 of f64), as the performance model suggests
//! for batch 1 (8 independent accumulator chains cover the FMA latency on two pipes), or
//! the matrix's rows rounded up to whole vectors if fewer. The pack function lowering
//! derives from this layout pads rows to whole vectors with zeros.

use crate::graph::{Graph, Layout};

/// Vectors per panel.
pub const PANEL_VECTORS: usize = 8;

/// The panel width for a matrix of `rows` rows, panels of at most `vectors` vectors.
pub fn panel_width(rows: usize, lanes: usize, vectors: usize) -> usize {
    rows.div_ceil(lanes).min(vectors.max(1)) * lanes
}

/// Packs every weight matrix into panels of at most `vectors` vectors.
pub fn pack_weights(mut graph: Graph, vectors: usize) -> Graph {
    let lanes = graph.lanes();
    let rows = graph.padded_rows();
    for layer in &mut graph.layers {
        if let Some(p) = &mut layer.projection {
            p.layout = Layout::Panels {
                width: panel_width(rows * p.directions.len(), lanes, vectors),
            };
        }
        for r in &mut layer.recurrences {
            r.layout = Layout::Panels {
                width: panel_width(rows, lanes, vectors),
            };
        }
    }
    graph
}
