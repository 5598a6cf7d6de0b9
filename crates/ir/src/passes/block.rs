//! `block`: shape the register blocks of panel kernels for the target's vector registers.
//!
//! A block of `R` row vectors and `C` columns keeps `R * C` accumulators live per
//! accumulator set, plus the `R` weight vectors of one step of `k` (loaded once, used by
//! every column) and one broadcast input ([`registers_used`]). Each step of `k` loads
//! `R + C` vectors for `R * C` multiply-adds, so the main loop takes the shape that loads
//! the fewest per multiply-add among those that fit the registers, rows in whole groups
//! that tile the panel, at most 6 columns; ties go to more rows. On 16 registers that is
//! 3 vectors by 4 columns (16 registers: 12 accumulators, 3 weights, a broadcast); with 32
//! registers, 4 by 6. A recurrence whose epilogue is fused keeps whole gate groups (`G`
//! vectors: LSTM 4, GRU 3) in a block; a cell that keeps recurrent parts apart (GRU)
//! needs two accumulators per row vector and column. The columns a main block of more
//! than four columns leaves go in two-column blocks of the most rows that fit
//! ([`pair_rows`]). A last single column (batch 1, the last sequence of an odd batch, the
//! last step of a projection) uses the whole panel width, its weights folded into the
//! multiply-adds as memory operands: as many accumulator chains as the panel has vectors,
//! to hide FMA latency.

use crate::graph::{Block, Epilogue, Graph, Layout};

/// How a recurrence's cell shapes its blocks: `group` vectors of rows hold one vector of
/// units' gates (blocks hold whole groups, so that a fused epilogue finds every gate of
/// its units), and `sets` accumulators per row vector and column (2 when the cell keeps
/// the recurrent part of some gates apart).
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Vectors of rows a block holds a whole number of: `G` for a recurrence whose
    /// epilogue is fused, else 1.
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

/// Most columns of a main-loop block.
const MAX_COLS: usize = 6;

/// The block for a panel of `width` rows (whole groups) on a target of `registers` vector
/// registers.
pub fn block_for(width: usize, lanes: usize, shape: Shape, registers: usize) -> Block {
    let vectors = width / lanes;
    let (rows, cols) = tiling_rows(vectors, shape, 1, registers)
        .map(|r| {
            let cols = max_cols(r * lanes, lanes, shape.sets, registers).min(MAX_COLS);
            (r, cols)
        })
        // Multiply-adds per vector loaded, r * c / (r + c), compared without division.
        .max_by(|&(r1, c1), &(r2, c2)| {
            (r1 * c1 * (r2 + c2))
                .cmp(&(r2 * c2 * (r1 + c1)))
                .then(r1.cmp(&r2))
        })
        .unwrap_or((shape.group.min(vectors), 1));
    Block {
        rows: rows * lanes,
        cols,
        pair_rows: pair_rows(width, lanes, shape, registers, cols),
        rest_rows: rest_rows(width, lanes, shape, registers),
    }
}

/// Rows of the two-column blocks that take the columns a main block of `cols` columns
/// leaves: the most whole groups that tile the panel and fit the registers. Two columns
/// load `R + 2` vectors per `2 R` multiply-adds against a single column's `R + 1` per `R`.
/// Only after blocks of more than 4 columns (0 otherwise), which leave up to 5: powers of
/// two batches leave 4 columns to 6-column blocks, a quarter of lstm-b16-256's recurrence,
/// which ran 1.06x faster at 256 bits in pairs. After 4-column blocks (at most one pair)
/// the third kind of block is compile time for little: b64-1024 compiled in 12.7 ms
/// against 8.6 with it, an RNN of 256 at batch 18 ran no faster, one of 1024 at batch 7
/// 1.08x (docs/perf-log/2026-12-04-zen5.md).
pub fn pair_rows(width: usize, lanes: usize, shape: Shape, registers: usize, cols: usize) -> usize {
    if cols <= 4 {
        return 0;
    }
    tiling_rows(width / lanes, shape, 2, registers)
        .last()
        .map_or(0, |r| r * lanes)
}

/// Row vectors, ascending, of the blocks of `cols` columns that hold whole groups, tile a
/// panel of `vectors` vectors and fit the `registers`.
fn tiling_rows(
    vectors: usize,
    shape: Shape,
    cols: usize,
    registers: usize,
) -> impl Iterator<Item = usize> {
    (1..=vectors).filter(move |&r| {
        r % shape.group == 0
            && vectors.is_multiple_of(r)
            && registers_used(r, cols, shape.sets) <= registers
    })
}

/// Most columns a block of `rows` rows may have: what it keeps live
/// ([`registers_used`]) fits the `registers` vector registers.
pub fn max_cols(rows: usize, lanes: usize, sets: usize, registers: usize) -> usize {
    let vectors = rows / lanes;
    (2..=registers)
        .take_while(|&cols| registers_used(vectors, cols, sets) <= registers)
        .last()
        .unwrap_or(1)
}

/// Vector registers a block of `vectors` row vectors and `cols` columns keeps live: its
/// accumulators (`sets` per row vector and column) and one broadcast input; with several
/// columns also the row's weight vectors, each loaded once and used by every column (one
/// column's weights are folded into its multiply-adds as memory operands).
pub fn registers_used(vectors: usize, cols: usize, sets: usize) -> usize {
    let weights = if cols > 1 { vectors } else { 0 };
    sets * vectors * cols + weights + 1
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
            let cols = cols.clamp(1, max_cols(rows, lanes, shape.sets, registers));
            Block {
                rows,
                cols,
                pair_rows: pair_rows(width, lanes, shape, registers, cols),
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
                    group: if r.epilogue == Epilogue::Fused {
                        r.cell.gates()
                    } else {
                        1
                    },
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

    /// The rule's shapes: fewest vectors loaded per multiply-add among the blocks that
    /// fit, rows tiling the panel in whole groups; and every one fits its registers.
    #[test]
    fn blocks_load_the_fewest_vectors_per_multiply_add_that_fit() {
        let plain = Shape::PLAIN;
        let gru = Shape { group: 1, sets: 2 };
        let fused_lstm = Shape { group: 4, sets: 1 };
        // (panel rows, lanes, shape, registers) -> (block rows, columns, pair rows)
        let cases = [
            ((48, 8, plain, 16), (24, 4, 0)), // 6 vectors: 3x4, all 16 registers; no pairs
            ((64, 8, plain, 16), (16, 6, 32)), // 8 vectors: 3 does not tile, 2x6; 4x2
            ((48, 8, gru, 16), (24, 2, 0)),   // two sets: 3x2 (ties go to more rows)
            ((64, 8, fused_lstm, 16), (32, 2, 0)), // whole gate groups: 4x2, no pairs
            ((64, 8, fused_lstm, 32), (32, 6, 64)), // 32 registers: 4x6, the panel x2
            ((32, 4, plain, 32), (16, 6, 32)), // 32 registers: 4x6; 8x2
            ((8, 8, plain, 16), (8, 6, 8)),   // one vector: at most 6 columns
        ];
        for ((width, lanes, shape, registers), (rows, cols, pair)) in cases {
            let b = block_for(width, lanes, shape, registers);
            assert_eq!(
                (b.rows, b.cols, b.pair_rows),
                (rows, cols, pair),
                "{width} rows, {shape:?}"
            );
            for (rows, cols) in [(b.rows, b.cols), (b.pair_rows, 2)] {
                let used = registers_used(rows / lanes, cols, shape.sets);
                assert!(used <= registers, "{b:?} needs {used} registers");
            }
        }
    }

    /// A requested block larger than the registers allow keeps its rows and loses
    /// columns (found by the property tests: 3 vectors x 4 columns needs 17 registers).
    #[test]
    fn requested_blocks_are_clamped_to_the_registers() {
        let model = rnnc_spec::RnnSpec::builder(1, 9).build().unwrap();
        let g = pack_weights(build_graph(&model, Target::V128), Some(8));
        for rows in 1..=8 {
            for cols in 1..=8 {
                let blocked = block(g.clone(), Some((rows * 4, cols)));
                verify_graph(&blocked).unwrap_or_else(|e| panic!("{rows}x{cols}: {e}"));
                let b = blocked.layers[0].recurrences[0].block;
                assert!(
                    b.cols >= 1 && registers_used(b.rows / 4, b.cols, 1) <= 16,
                    "{b:?}"
                );
            }
        }
    }
}
