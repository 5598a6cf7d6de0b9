//! The graph verifier: the invariants of the module documentation, after every graph pass.

use rnnc_spec::{ParamKind, param_name};

use super::*;

/// A graph that breaks an invariant: a bug in a pass (or in hand-written test text).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("graph verifier failed (a bug in rnnc):\n  {}", .0.join("\n  "))]
pub struct GraphVerifyError(pub Vec<String>);

/// Checks the graph invariants listed in the module documentation.
pub fn verify_graph(graph: &Graph) -> Result<(), GraphVerifyError> {
    let mut errors = Vec::new();
    let lanes = graph.lanes();
    if !(1..=2).contains(&graph.directions) {
        errors.push(format!(
            "directions must be 1 or 2, found {}",
            graph.directions
        ));
    }
    if graph.layers.is_empty() {
        errors.push("a graph has at least one layer".into());
    }
    // `sets`: accumulator sets per column (2 for a recurrence whose cell keeps the
    // recurrent part of some gates apart).
    let check_schedule = |errors: &mut Vec<String>,
                          at: &str,
                          layout: Layout,
                          block: Block,
                          sets: usize| {
        match layout {
            Layout::Torch => {
                if block != Block::unblocked(lanes) {
                    errors.push(format!(
                        "{at}: torch layout takes no register block, found {block}"
                    ));
                }
            }
            Layout::Panels { width } => {
                if width == 0 || width % lanes != 0 {
                    errors.push(format!(
                        "{at}: panel width {width} is not a multiple of {lanes} lanes"
                    ));
                }
                for rows in [block.rows, block.rest_rows] {
                    if rows == 0 || rows % lanes != 0 || rows > width {
                        errors.push(format!("{at}: block rows {rows} must be a multiple of {lanes} lanes, at most the panel width {width}"));
                    }
                }
                if block.cols == 0 {
                    errors.push(format!("{at}: a block has at least one column"));
                }
                // Accumulators plus one weight vector and the column broadcasts fit 16 registers.
                let used =
                    |rows: usize, cols: usize| sets * (rows / lanes.max(1)) * cols + 1 + cols;
                if used(block.rows, block.cols) > 16 || used(block.rest_rows, 1) > 16 {
                    errors.push(format!(
                        "{at}: block {block} needs more than 16 vector registers"
                    ));
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
        let at = format!("layer {l}");
        let directions: Vec<usize> = layer.recurrences.iter().map(|r| r.direction).collect();
        if directions != (0..graph.directions).collect::<Vec<_>>() {
            errors.push(format!(
                "{at}: recurrences for directions {directions:?}, expected 0..{}",
                graph.directions
            ));
        }
        let projected: Vec<usize> = layer
            .projection
            .iter()
            .flat_map(|p| p.directions.clone())
            .collect();
        if let Some(p) = &layer.projection {
            check_schedule(&mut errors, &format!("{at} project"), p.layout, p.block, 1);
            if p.directions.is_empty() {
                errors.push(format!("{at}: a projection covers at least one direction"));
            }
            let mut sorted = p.directions.clone();
            sorted.dedup();
            if sorted != p.directions || p.directions.windows(2).any(|w| w[0] >= w[1]) {
                errors.push(format!(
                    "{at}: projection directions {:?} must be increasing",
                    p.directions
                ));
            }
        }
        for r in &layer.recurrences {
            let at = format!(
                "{at} recur {}",
                param_name(l, r.direction, ParamKind::WeightHh)
            );
            let sets = Graph::accumulator_sets(r.cell);
            check_schedule(&mut errors, &at, r.layout, r.block, sets);
            // A fused epilogue finds a vector of units' gates in one block: panels and
            // blocks hold whole groups of G vectors.
            let group = r.cell.gates() * lanes;
            if let (Epilogue::Fused, Layout::Panels { width }) = (r.epilogue, r.layout) {
                for rows in [width, r.block.rows, r.block.rest_rows] {
                    if rows % group != 0 {
                        errors.push(format!(
                            "{at}: a fused epilogue needs panels and blocks of whole gate groups ({group} rows), found {rows}"
                        ));
                    }
                }
            }
            let covered = projected.contains(&r.direction);
            if covered != (r.input == RecInput::Projected) {
                errors.push(format!(
                    "{at}: input {:?} but the projection {} this direction",
                    r.input,
                    if covered { "covers" } else { "does not cover" }
                ));
            }
            if Some(r.cell) != cell {
                errors.push(format!(
                    "{at}: computes {}, but the graph's first recurrence computes {}",
                    r.cell,
                    cell.map_or("nothing".to_string(), |c| c.to_string())
                ));
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
                    errors.push(format!(
                        "{at}: bias term {t:?} adds bias_hh of a gate whose recurrent part {} keeps apart, on the input side",
                        r.cell
                    ));
                }
            }
            for t in &terms {
                if let Gates::Range(first, end) = t.gates
                    && !(first < end && end <= gates && end - first < gates)
                {
                    errors.push(format!(
                        "{at}: bias gates {first}..{end} are not a proper group of the {gates} gates of {}",
                        r.cell
                    ));
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
                        errors.push(format!(
                            "{at}: {} of gate {g} added {count} times, expected {want}",
                            kind.stem(),
                        ));
                    }
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(GraphVerifyError(errors))
    }
}
