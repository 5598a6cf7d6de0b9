//! `block`: shape the register blocks of panel kernels for the target's vector registers.
//!
//! A block keeps `rows / lanes * cols` accumulators live, plus one weight vector and
//! `cols` broadcast inputs. Leftover single columns (batch 1, the last sequences of a
//! batch, the last steps of a projection) use the whole panel width: up to 8 accumulator
//! chains, enough to hide FMA latency. The main loop trades rows for columns so that each
//! weight vector loaded feeds `cols` multiply-adds: `rows` = half the panel (at most 4
//! vectors) and `cols` = 8 accumulators' worth, never more than 6. A recurrence's blocks
//! hold whole gate groups (`G` vectors: LSTM 4, GRU 3), and a cell that keeps recurrent
//! parts apart (GRU) needs two accumulators per row vector and column: fewer columns.

use crate::graph::{Block, Graph, Layout};

/// How a recurrence's cell shapes its blocks: `group` vectors of rows hold one vector of
/// units' gates (blocks hold whole groups, so that a fused epilogue finds every gate of
/// its units), and `sets` accumulators per row vector and column (2 when the cell keeps
/// the recurrent part of some gates apart).
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Vectors of rows per gate group (`G` for a recurrence, 1 for a projection).
    pub group: usize,
    /// Accumulator sets.
    pub sets: usize,
}

impl Shape {
    /// A projection's: any rows, one set.
    pub const PLAIN: Shape = Shape { group: 1, sets: 1 };

    /// `vectors` rounded down to whole groups, at least one group.
    fn whole(self, vectors: usize) -> usize {
        (vectors / self.group).max(1) * self.group
    }
}

/// The block for a panel of `width` rows (whole groups) on a target of `registers` vector
/// registers.
pub fn block_for(width: usize, lanes: usize, shape: Shape, registers: usize) -> Block {
    let vectors = width / lanes;
    let main_vectors = shape.whole(vectors.div_ceil(2).clamp(1, 4)).min(vectors);
    let cols = (8 / main_vectors).clamp(1, 6);
    Block {
        rows: main_vectors * lanes,
        cols: cols.min(max_cols(main_vectors * lanes, lanes, shape.sets, registers)),
        rest_rows: rest_rows(width, lanes, shape, registers),
    }
}

/// Most columns a block of `rows` rows may have: its accumulators (`sets` per row vector
/// and column), one weight vector and one broadcast per column fit the `registers` vector
/// registers.
pub fn max_cols(rows: usize, lanes: usize, sets: usize, registers: usize) -> usize {
    ((registers - 1) / (sets * (rows / lanes) + 1)).max(1)
}

/// Rows of the leftover single columns: the whole panel when its accumulators fit the
/// registers, else the largest whole number of groups that fits and tiles the panel.
fn rest_rows(width: usize, lanes: usize, shape: Shape, registers: usize) -> usize {
    let vectors = width / lanes;
    // The accumulators, one weight vector and one broadcast.
    let fit = (registers - 2) / shape.sets;
    if vectors <= fit {
        return width;
    }
    (1..=vectors / shape.group)
        .rev()
        .map(|groups| groups * shape.group)
        .find(|&v| v <= fit && vectors.is_multiple_of(v))
        .unwrap_or(shape.group)
        * lanes
}

/// Sets the block of every panel-layout node: by the rule above, or `(rows, cols)` for
/// the main loop when given (rows clamped to the panel and to whole groups, then columns
/// to what fits the registers).
pub fn block(mut graph: Graph, fixed: Option<(usize, usize)>) -> Graph {
    let lanes = graph.lanes();
    let registers = graph.target.vector_registers as usize;
    let block_for = |width: usize, shape: Shape| match fixed {
        Some((rows, cols)) => {
            let rows = shape.whole(rows.clamp(lanes, width) / lanes) * lanes;
            Block {
                rows,
                cols: cols.clamp(1, max_cols(rows, lanes, shape.sets, registers)),
                rest_rows: rest_rows(width, lanes, shape, registers),
            }
        }
        None => block_for(width, lanes, shape, registers),
    };
    for layer in &mut graph.layers {
        if let Some(p) = &mut layer.projection
            && let Layout::Panels { width } = p.layout
        {
            p.block = block_for(width, Shape::PLAIN);
        }
        for r in &mut layer.recurrences {
            if let Layout::Panels { width } = r.layout {
                let shape = Shape {
                    group: r.cell.gates(),
                    sets: Graph::accumulator_sets(r.cell),
                };
                r.block = block_for(width, shape);
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
