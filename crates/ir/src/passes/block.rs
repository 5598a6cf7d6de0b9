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

/// Most columns a block of `rows` rows may have: its accumulators, one weight vector and
/// one broadcast per column fit the 16 vector registers.
pub fn max_cols(rows: usize, lanes: usize) -> usize {
    (15 / (rows / lanes + 1)).max(1)
}

/// Sets the block of every panel-layout node: by the rule above, or `(rows, cols)` for
/// the main loop when given (rows clamped to the panel, then columns to what fits the
/// registers).
pub fn block(mut graph: Graph, fixed: Option<(usize, usize)>) -> Graph {
    let lanes = graph.lanes();
    let block_for = |width: usize, lanes: usize| match fixed {
        Some((rows, cols)) => {
            let rows = rows.clamp(lanes, width);
            Block {
                rows,
                cols: cols.clamp(1, max_cols(rows, lanes)),
                rest_rows: width,
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passes::pack_weights::pack_weights;
    use crate::{build_graph, verify_graph};
    use rnnc_kernel::Target;

    /// A requested block larger than the registers allow keeps its rows and loses
    /// columns (found by the property tests: 3 vectors x 4 columns needs 17 registers).
    #[test]
    fn requested_blocks_are_clamped_to_the_registers() {
        let model = rnnc_spec::RnnSpec::builder(1, 9).build().unwrap();
        let g = pack_weights(build_graph(&model, Target::V128), 8);
        for rows in 1..=8 {
            for cols in 1..=8 {
                let blocked = block(g.clone(), Some((rows * 4, cols)));
                verify_graph(&blocked).unwrap_or_else(|e| panic!("{rows}x{cols}: {e}"));
                let b = blocked.layers[0].recurrences[0].block;
                assert!(
                    b.cols >= 1 && b.rows / 4 * b.cols + 1 + b.cols <= 16,
                    "{b:?}"
                );
            }
        }
    }
}
