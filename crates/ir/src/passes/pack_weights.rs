//! `pack-weights`: store each weight matrix as panels of rows, column-major inside a panel,
//! so that a kernel reads one panel column (contiguous, `width` rows) per multiply-add step
//! and broadcasts one input element against it: no horizontal reductions, unit-stride
//! weight streams.
//!
//! Panel width: 8 vectors (32 rows of f32, 16 of f64), as the performance model suggests
//! for batch 1 (8 independent accumulator chains cover the FMA latency on two pipes), or
//! the matrix's rows rounded up to whole vectors if fewer. The pack function lowering
//! derives from this layout pads rows to whole vectors with zeros.

use crate::graph::{Block, Graph, Layout};

/// Vectors per panel.
pub const PANEL_VECTORS: usize = 8;

/// The panel width for a matrix of `rows` rows, panels of at most `vectors` vectors,
/// rounded down to whole groups of `group` vectors (at least one group): a recurrence's
/// panels hold whole gate groups (`G` vectors), so that the gates of a vector of units
/// never straddle two panels.
pub fn panel_width(rows: usize, lanes: usize, vectors: usize, group: usize) -> usize {
    let vectors = (vectors.max(1) / group).max(1) * group;
    rows.div_ceil(lanes).min(vectors) * lanes
}

/// Packs every weight matrix into panels of at most `vectors` vectors.
pub fn pack_weights(mut graph: Graph, vectors: usize) -> Graph {
    let lanes = graph.lanes();
    let rows = graph.padded_rows();
    for layer in &mut graph.layers {
        if let Some(p) = &mut layer.projection {
            p.layout = Layout::Panels {
                width: panel_width(rows * p.directions.len(), lanes, vectors, 1),
            };
        }
        for r in &mut layer.recurrences {
            let gates = r.cell.gates();
            r.layout = Layout::Panels {
                width: panel_width(rows, lanes, vectors, gates),
            };
            if gates > 1 {
                // One gate group, until `block` shapes it: a block of whole groups even
                // when that pass is off.
                r.block = Block {
                    rows: gates * lanes,
                    cols: 1,
                    rest_rows: gates * lanes,
                };
            }
        }
    }
    graph
}
