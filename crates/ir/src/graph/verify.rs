//! The graph verifier: the invariants of the module documentation, after every graph pass.
//!
//! A verifier error is always a bug in rnnc (a pass produced a bad graph, or a test wrote
//! one by hand), never a user's fault. Each [`GraphProblem`] names where it is in the
//! terms of the graph's text form: the header, a layer, or a layer's `project` or `recur`
//! node.

use std::fmt;

use rnnc_spec::{ParamKind, param_name};

use super::*;

/// Problems the graph verifier found; never empty.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("graph verifier failed (a bug in rnnc):{}", lines(.problems))]
pub struct GraphVerifyError {
    /// Every problem, in the order found.
    pub problems: Vec<GraphProblem>,
}

fn lines(problems: &[GraphProblem]) -> String {
    problems.iter().map(|p| format!("\n  {p}")).collect()
}

/// One problem: where it is and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphProblem {
    /// Where it is.
    pub at: GraphLocation,
    /// What is wrong.
    pub message: String,
}

/// Where in a graph a [`GraphProblem`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphLocation {
    /// The `graph` header: the model as a whole.
    Header,
    /// `layer N` as a whole.
    Layer(usize),
    /// The `project` node of layer N.
    Projection(usize),
    /// The `recur` node of a layer for a direction (named by its `weight_hh`).
    Recurrence {
        /// The layer.
        layer: usize,
        /// 0 forward, 1 reverse.
        direction: usize,
    },
}

impl fmt::Display for GraphLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            GraphLocation::Header => f.write_str("graph"),
            GraphLocation::Layer(l) => write!(f, "layer {l}"),
            GraphLocation::Projection(l) => write!(f, "layer {l} > project"),
            GraphLocation::Recurrence { layer, direction } => write!(
                f,
                "layer {layer} > recur {}",
                param_name(layer, direction, ParamKind::WeightHh)
            ),
        }
    }
}

impl fmt::Display for GraphProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// Checks the graph invariants listed in the module documentation.
pub fn verify_graph(graph: &Graph) -> Result<(), GraphVerifyError> {
    let mut problems = Vec::new();
    let mut report = |at: GraphLocation, message: String| {
        problems.push(GraphProblem { at, message });
    };
    let lanes = graph.lanes();
    let registers = graph.target.vector_registers as usize;
    if !(1..=2).contains(&graph.directions) {
        report(
            GraphLocation::Header,
            format!("directions must be 1 or 2, found {}", graph.directions),
        );
    }
    if graph.layers.is_empty() {
        report(
            GraphLocation::Header,
            "a graph has at least one layer".into(),
        );
    }
    // `sets`: accumulator sets per column (2 for a recurrence whose cell keeps the
    // recurrent part of some gates apart).
    let check_schedule = |report: &mut dyn FnMut(GraphLocation, String),
                          at: GraphLocation,
                          layout: Layout,
                          block: Block,
                          sets: usize| {
        match layout {
            Layout::Torch => {
                if block != Block::unblocked(lanes) {
                    report(
                        at,
                        format!("torch layout takes no register block, found {block}"),
                    );
                }
            }
            Layout::Panels { width } => {
                if width == 0 || width % lanes != 0 {
                    report(
                        at,
                        format!("panel width {width} is not a multiple of {lanes} lanes"),
                    );
                }
                let pair = (block.pair_rows > 0).then_some(block.pair_rows);
                for rows in [block.rows, block.rest_rows].into_iter().chain(pair) {
                    if rows == 0 || rows % lanes != 0 || rows > width {
                        report(
                            at,
                            format!(
                                "block rows {rows} must be a multiple of {lanes} lanes, at most the panel width {width}"
                            ),
                        );
                    }
                }
                if block.cols == 0 {
                    report(at, "a block has at least one column".into());
                }
                if block.pair_rows > 0 && block.cols <= 2 {
                    report(
                        at,
                        format!(
                            "block {block}: two-column blocks follow only a main block of more than two columns"
                        ),
                    );
                }
                // Accumulators plus one weight vector and the column broadcasts fit the
                // target's registers.
                let used = |rows: usize, cols: usize| {
                    crate::passes::block::registers_used(rows / lanes.max(1), cols, sets)
                };
                if used(block.rows, block.cols) > registers
                    || used(block.pair_rows, 2) > registers
                    || used(block.rest_rows, 1) > registers
                {
                    report(
                        at,
                        format!(
                            "block {block} needs more than the target's {registers} vector registers"
                        ),
                    );
                }
            }
        }
    };
    let cell = graph
        .layers
        .iter()
        .flat_map(|l| &l.recurrences)
        .map(|r| r.cell)
        .next();
    for (l, layer) in graph.layers.iter().enumerate() {
        let directions: Vec<usize> = layer.recurrences.iter().map(|r| r.direction).collect();
        if directions != (0..graph.directions).collect::<Vec<_>>() {
            report(
                GraphLocation::Layer(l),
                format!(
                    "recurrences for directions {directions:?}, expected 0..{}",
                    graph.directions
                ),
            );
        }
        let projected: Vec<usize> = layer
            .projection
            .iter()
            .flat_map(|p| p.directions.clone())
            .collect();
        if let Some(p) = &layer.projection {
            let at = GraphLocation::Projection(l);
            check_schedule(&mut report, at, p.layout, p.block, 1);
            if p.directions.is_empty() {
                report(at, "a projection covers at least one direction".into());
            }
            if p.directions.windows(2).any(|w| w[0] >= w[1]) {
                report(
                    at,
                    format!("directions {:?} must be increasing", p.directions),
                );
            }
        }
        for r in &layer.recurrences {
            let at = GraphLocation::Recurrence {
                layer: l,
                direction: r.direction,
            };
            let sets = Graph::accumulator_sets(r.cell);
            check_schedule(&mut report, at, r.layout, r.block, sets);
            // A fused epilogue finds a vector of units' gates in one block: panels and
            // blocks hold whole groups of G vectors.
            let group = r.cell.gates() * lanes;
            if let (Epilogue::Fused, Layout::Panels { width }) = (r.epilogue, r.layout) {
                for rows in [width, r.block.rows, r.block.pair_rows, r.block.rest_rows] {
                    if rows % group != 0 {
                        report(
                            at,
                            format!(
                                "a fused epilogue needs panels and blocks of whole gate groups ({group} rows), found {rows}"
                            ),
                        );
                    }
                }
            }
            let covered = projected.contains(&r.direction);
            if covered != (r.input == RecInput::Projected) {
                report(
                    at,
                    format!(
                        "input {:?} but the projection {} this direction",
                        r.input,
                        if covered { "covers" } else { "does not cover" }
                    ),
                );
            }
            if Some(r.cell) != cell {
                report(
                    at,
                    format!(
                        "computes {}, but the graph's first recurrence computes {}",
                        r.cell,
                        cell.map_or("nothing".to_string(), |c| c.to_string())
                    ),
                );
            }
            let gates = r.cell.gates();
            let mut terms: Vec<BiasTerm> = r.bias.clone();
            if covered && let Some(p) = &layer.projection {
                terms.extend(p.bias.iter().copied());
            }
            let projected_terms = if covered {
                layer.projection.as_ref().map_or(&[][..], |p| &p.bias[..])
            } else {
                &[]
            };
            for t in r
                .bias
                .iter()
                .filter(|t| t.bias == BiasRef::Folded)
                .chain(projected_terms)
            {
                if !t.input_side(r.cell) {
                    report(
                        at,
                        format!(
                            "bias term {t} adds bias_hh of a gate whose recurrent part {} keeps apart, on the input side",
                            r.cell
                        ),
                    );
                }
            }
            for t in &terms {
                if let Gates::Range(first, end) = t.gates
                    && !(first < end && end <= gates && end - first < gates)
                {
                    report(
                        at,
                        format!(
                            "bias gates {first}..{end} are not a proper group of the {gates} gates of {}",
                            r.cell
                        ),
                    );
                }
            }
            for kind in [ParamKind::BiasIh, ParamKind::BiasHh] {
                let want = usize::from(graph.bias);
                for g in 0..gates {
                    let count = terms
                        .iter()
                        .filter(|t| t.gates.contains(g, gates) && t.bias.kinds().contains(&kind))
                        .count();
                    if count != want {
                        report(
                            at,
                            format!(
                                "{} of gate {g} added {count} times, expected {want}",
                                kind.stem(),
                            ),
                        );
                    }
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(GraphVerifyError { problems })
    }
}
