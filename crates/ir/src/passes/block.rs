//! `block`: shape the register blocks of panel kernels for 16 vector registers.
//!
//! A block keeps `rows / lanes * cols` accumulators live, plus one weight vector and
//! `cols` broadcast inputs. Leftover single columns (batch 1, the last sequences of a
//! batch, the last steps of a projection) use the whole panel width: up to 8 accumulator
//! chains, enough to hide FMA latency. The main loop trades rows for columns so that each
//! weight vector loaded feeds `cols` multiply-adds: `rows` = half the panel (at most 4
//! vectors) and `cols` = 8 accumulators' worth, never more than 6.

use crate::graph::{Block, Graph, Layout};

/// The block for a panel of `width` rows.
pub fn block_for(width: usize, lanes: usize) -> Block {
    let vectors = width / lanes;
    let main_vectors = vectors.div_ceil(2).clamp(1, 4);
    Block {
        rows: main_vectors * lanes,
        cols: (8 / main_vectors).min(6),
        rest_rows: width,
    }
}

/// Sets the block of every panel-layout node: by the rule above, or `(rows, cols)` for
/// the main loop when given (rows clamped to the panel).
pub fn block(mut graph: Graph, fixed: Option<(usize, usize)>) -> Graph {
    let lanes = graph.lanes();
    let block_for = |width: usize, lanes: usize| match fixed {
        Some((rows, cols)) => Block {
            rows: rows.clamp(lanes, width),
            cols: cols.max(1),
            rest_rows: width,
        },
        None => block_for(width, lanes),
    };
    for layer in &mut graph.layers {
        if let Some(p) = &mut layer.projection
            && let Layout::Panels { width } = p.layout
        {
            p.block = block_for(width, lanes);
        }
        for r in &mut layer.recurrences {
            if let Layout::Panels { width } = r.layout {
                r.block = block_for(width, lanes);
            }
        }
    }
    graph
}
