//! `pack-weights`: store each weight matrix as panels of rows, column-major inside a panel,
//! so that a kernel reads one panel column (contiguous, `width` rows) per multiply-add step
//! and broadcasts one input element against it: no horizontal reductions, unit-stride
//! weight streams.
//!
//! Panel width ([`panel_vectors`]): on a target of 16 vector registers 6 vectors, two of
//! the 3-vector register blocks that fit 16 registers best (`block`), 8 with 32 registers;
//! or the matrix's rows rounded up to whole vectors if fewer. A recurrence's panels are
//! whole gate groups (LSTM: 4 vectors, GRU: 3), and by default at least two of them: a
//! single column (batch 1) has as many accumulator chains as its panel has vectors, and
//! an LSTM's 4 left batch-1 calls 9-19% slower at 128 bits than 8. The pack function
//! lowering derives from this layout pads rows to whole vectors with zeros.
//!
//! Measured at 256 bits on AMD Zen 4 (docs/perf-log/2026-12-04-zen4.md), 6-vector panels
//! against the 8 used before (blocks of 3 vectors by 4 columns against 4 by 2): 1.1-1.6x
//! on the batched configurations, 1.1-1.2x at batch 1, whose input projection is batched
//! over the steps.

use rnnc_kernel::Target;

use crate::graph::{Block, Graph, Layout};

/// Vectors per panel on `target`, unless the pipeline sets them.
pub fn panel_vectors(target: Target) -> usize {
    if target.vector_registers >= 32 { 8 } else { 6 }
}

/// The panel width for a matrix of `rows` rows, panels of at most `vectors` vectors,
/// rounded down to whole groups of `group` vectors (at least one group): a recurrence's
/// panels hold whole gate groups (`G` vectors), so that the gates of a vector of units
/// never straddle two panels.
pub fn panel_width(rows: usize, lanes: usize, vectors: usize, group: usize) -> usize {
    let vectors = (vectors.max(1) / group).max(1) * group;
    rows.div_ceil(lanes).min(vectors) * lanes
}

/// Packs every weight matrix into panels of at most `vectors` vectors (`None`: the
/// target's [`panel_vectors`], and two gate groups or more for a gated recurrence).
pub fn pack_weights(mut graph: Graph, vectors: Option<usize>) -> Graph {
    let lanes = graph.lanes();
    let chosen = vectors.unwrap_or_else(|| panel_vectors(graph.target));
    let rows = graph.padded_rows();
    for layer in &mut graph.layers {
        if let Some(p) = &mut layer.projection {
            p.layout = Layout::Panels {
                width: panel_width(rows * p.directions.len(), lanes, chosen, 1),
            };
        }
        for r in &mut layer.recurrences {
            let gates = r.cell.gates();
            let vectors = vectors.unwrap_or(chosen.max(2 * gates));
            r.layout = Layout::Panels {
                width: panel_width(rows, lanes, vectors, gates),
            };
            if gates > 1 {
                // One gate group, until `block` shapes it: a block of whole groups even
                // when that pass is off.
                r.block = Block {
                    rows: gates * lanes,
                    cols: 1,
                    pair_rows: 0,
                    rest_rows: gates * lanes,
                };
            }
        }
    }
    graph
}
