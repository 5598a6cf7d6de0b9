//! The plan of memory: which region of the packed buffer holds which node's weights and
//! biases (and an LSTM's `weight_hr`, in panels beside a panel recurrence), and the regions
//! of the workspace.

use std::collections::HashMap;

use rnnc_kernel::Size;
use rnnc_spec::{ParamKind, StateKind, param_name};

use crate::graph::{BiasRef, BiasTerm, Epilogue, Graph, Layout, RecInput};

/// What one region of the packed buffer holds.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Content {
    /// A weight matrix of `kind` for the listed directions, rows stacked.
    Matrix {
        layer: usize,
        kind: ParamKind,
        dirs: Vec<usize>,
        cols: usize,
        layout: Layout,
    },
    /// One bias term for the listed directions, `G * Hp` elements each.
    Bias {
        layer: usize,
        dirs: Vec<usize>,
        term: BiasTerm,
    },
}

impl Content {
    pub(super) fn layer(&self) -> usize {
        match self {
            Content::Matrix { layer, .. } | Content::Bias { layer, .. } => *layer,
        }
    }
}

/// Which node a packed region serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Key {
    /// The stacked `weight_ih` of layer `l`'s hoisted input projection (`P = X W_ih^T`).
    InputProjWeights(usize),
    /// Bias term `i` of layer `l`'s input projection.
    InputProjBias(usize, usize),
    RecInput(usize, usize),
    RecWeights(usize, usize),
    RecBias(usize, usize, usize),
    /// An LSTM's `weight_hr` of (layer, direction).
    RecHr(usize, usize),
}

#[derive(Clone, Debug)]
pub(super) struct Region {
    pub key: Key,
    pub name: String,
    pub offset: u64,
    pub len: u64,
    pub content: Content,
}

/// The packed buffer's regions and the workspace's.
pub(super) struct Plan {
    pub regions: Vec<Region>,
    /// Position of each key's region in `regions`.
    index: HashMap<Key, usize>,
    pub packed_len: u64,
    /// Columns of `P` (directions of the widest input projection times `G * Hp`).
    pub p_width: usize,
    work: Vec<(String, Size)>,
}

/// The workspace of a direction's pre-activations (separate epilogue).
pub(super) fn pre_name(direction: usize) -> &'static str {
    if direction == 0 { "pre" } else { "pre_reverse" }
}

/// The workspace of a direction's recurrent parts of the pre-activations (separate
/// epilogue of a cell that splits gates).
pub(super) fn rpre_name(direction: usize) -> &'static str {
    if direction == 0 {
        "rpre"
    } else {
        "rpre_reverse"
    }
}

/// The layout of an LSTM's `weight_hr` beside a recurrence of `layout`: torch's rows, or
/// panels no wider than the recurrence's and than `h`'s padded width (`proj_size` rounded
/// up to whole vectors).
pub(super) fn hr_layout(g: &Graph, layout: Layout) -> Layout {
    match layout {
        Layout::Torch => Layout::Torch,
        Layout::Panels { width } => Layout::Panels {
            width: width.min(g.padded_state(StateKind::H)),
        },
    }
}

/// The workspace of a direction's `h_full`, its `h` before `W_hr` (LSTM with `proj_size`).
pub(super) fn hfull_name(direction: usize) -> &'static str {
    if direction == 0 {
        "hfull"
    } else {
        "hfull_reverse"
    }
}

/// The workspace of a direction's double-buffered `state`: `state` (for `h`), `c_state`,
/// with `_reverse` for direction 1.
pub(super) fn state_name(state: StateKind, direction: usize) -> String {
    let prefix = if state == StateKind::H {
        String::new()
    } else {
        format!("{}_", state.name())
    };
    let suffix = if direction == 0 { "" } else { "_reverse" };
    format!("{prefix}state{suffix}")
}

fn dirs_suffix(dirs: &[usize]) -> &'static str {
    match dirs {
        [0] => "",
        [1] => "_reverse",
        _ => "_both",
    }
}

/// Element counts in a call of `L` steps and `N` sequences.
fn per_row(elements: usize) -> Size {
    Size {
        ln: elements as u64,
        n: 0,
        c: 0,
    }
}

fn per_sequence(elements: usize) -> Size {
    Size {
        ln: 0,
        n: elements as u64,
        c: 0,
    }
}

impl Plan {
    pub(super) fn new(g: &Graph) -> Plan {
        let rows = g.gates() * g.hidden_size;
        let padded_rows = g.padded_rows();
        let mut regions = Vec::new();
        let mut offset = 0u64;
        let mut add = |key: Key, name: String, len: usize, content: Content| {
            regions.push(Region {
                key,
                name,
                offset,
                len: len as u64,
                content,
            });
            offset += len as u64;
        };
        let matrix_len = |layout: Layout, dirs: usize, cols: usize| match layout {
            Layout::Torch => dirs * rows * cols,
            Layout::Panels { .. } => dirs * padded_rows * cols,
        };
        let proj_size = g.proj_size;
        // Suffixes keep region names apart from the torch parameters `pack` reads.
        let layout_suffix = |layout: Layout| match layout {
            Layout::Torch => ".rows".to_string(),
            Layout::Panels { width } => format!(".p{width}"),
        };
        let bias_name = |l: usize, dirs: &[usize], term: BiasTerm| {
            let d = dirs.first().copied().unwrap_or(0);
            let mut base = match term.bias {
                BiasRef::Ih => param_name(l, d, ParamKind::BiasIh),
                BiasRef::Hh => param_name(l, d, ParamKind::BiasHh),
                BiasRef::Folded => format!(
                    "{}+{}",
                    param_name(l, d, ParamKind::BiasIh),
                    param_name(l, d, ParamKind::BiasHh)
                ),
            };
            if let crate::graph::Gates::Range(first, end) = term.gates {
                base.push_str(&format!(".g{first}_{end}"));
            }
            if dirs.len() > 1 {
                format!("{base}_both.padded")
            } else {
                format!("{base}.padded")
            }
        };
        let mut p_width = 0;
        for (l, layer) in g.layers.iter().enumerate() {
            let input = g.layer_input_size(l);
            if let Some(p) = &layer.projection {
                p_width = p_width.max(p.directions.len() * padded_rows);
                let name = format!(
                    "{}{}{}",
                    param_name(l, 0, ParamKind::WeightIh),
                    dirs_suffix(&p.directions),
                    layout_suffix(p.layout)
                );
                add(
                    Key::InputProjWeights(l),
                    name,
                    matrix_len(p.layout, p.directions.len(), input),
                    Content::Matrix {
                        layer: l,
                        kind: ParamKind::WeightIh,
                        dirs: p.directions.clone(),
                        cols: input,
                        layout: p.layout,
                    },
                );
                for (i, &term) in p.bias.iter().enumerate() {
                    add(
                        Key::InputProjBias(l, i),
                        bias_name(l, &p.directions, term),
                        p.directions.len() * padded_rows,
                        Content::Bias {
                            layer: l,
                            dirs: p.directions.clone(),
                            term,
                        },
                    );
                }
            }
            for r in &layer.recurrences {
                let d = r.direction;
                let mut matrix = |key: Key, kind: ParamKind, cols: usize| {
                    add(
                        key,
                        format!("{}{}", param_name(l, d, kind), layout_suffix(r.layout)),
                        matrix_len(r.layout, 1, cols),
                        Content::Matrix {
                            layer: l,
                            kind,
                            dirs: vec![d],
                            cols,
                            layout: r.layout,
                        },
                    )
                };
                if r.input == RecInput::Fused {
                    matrix(Key::RecInput(l, d), ParamKind::WeightIh, input);
                }
                matrix(
                    Key::RecWeights(l, d),
                    ParamKind::WeightHh,
                    g.recurrent_size(),
                );
                if proj_size > 0 {
                    // Panels (no wider than the recurrence's, of whole vectors) when the
                    // recurrence has them: a GEMV of independent accumulator chains rather
                    // than one dependent chain per row.
                    let layout = hr_layout(g, r.layout);
                    let rows = match layout {
                        Layout::Torch => proj_size,
                        Layout::Panels { .. } => g.padded_state(StateKind::H),
                    };
                    add(
                        Key::RecHr(l, d),
                        format!(
                            "{}{}",
                            param_name(l, d, ParamKind::WeightHr),
                            layout_suffix(layout)
                        ),
                        rows * g.hidden_size,
                        Content::Matrix {
                            layer: l,
                            kind: ParamKind::WeightHr,
                            dirs: vec![d],
                            cols: g.hidden_size,
                            layout,
                        },
                    );
                }
                for (i, &term) in r.bias.iter().enumerate() {
                    add(
                        Key::RecBias(l, d, i),
                        bias_name(l, &[d], term),
                        padded_rows,
                        Content::Bias {
                            layer: l,
                            dirs: vec![d],
                            term,
                        },
                    );
                }
            }
        }
        let mut work = Vec::new();
        if p_width > 0 {
            work.push(("P".to_string(), per_row(p_width)));
        }
        for i in 0..(g.layers.len() - 1).min(2) {
            work.push((format!("Y{i}"), per_row(g.output_size())));
        }
        for &state in g.cell().states() {
            for d in 0..g.directions {
                work.push((
                    state_name(state, d),
                    per_sequence(2 * g.padded_state(state)),
                ));
            }
        }
        if proj_size > 0 {
            // The unprojected `h` of a step, which `W_hr` reads once all of it is known.
            for d in 0..g.directions {
                work.push((hfull_name(d).to_string(), per_sequence(g.padded_hidden())));
            }
        }
        let separate = g
            .layers
            .iter()
            .flat_map(|l| &l.recurrences)
            .any(|r| r.epilogue == Epilogue::Separate);
        if separate {
            // One per direction: the two directions of a layer may run at once.
            for d in 0..g.directions {
                work.push((pre_name(d).to_string(), per_sequence(padded_rows)));
            }
            if !g.cell().split_gates().is_empty() {
                for d in 0..g.directions {
                    work.push((rpre_name(d).to_string(), per_sequence(padded_rows)));
                }
            }
        }
        Plan {
            index: regions
                .iter()
                .enumerate()
                .map(|(i, r)| (r.key, i))
                .collect(),
            regions,
            packed_len: offset,
            p_width,
            work,
        }
    }

    /// The region serving `key`.
    pub(super) fn region(&self, key: Key) -> &Region {
        &self.regions[self.index[&key]]
    }

    /// Elements of the whole workspace.
    pub(super) fn work_size(&self) -> Size {
        self.work
            .iter()
            .fold(Size::default(), |a, (_, s)| a.plus(*s))
    }

    /// Where a workspace region starts and how long it is.
    pub(super) fn work_region(&self, name: &str) -> (Size, Size) {
        let mut offset = Size::default();
        for (n, size) in &self.work {
            if n == name {
                return (offset, *size);
            }
            offset = offset.plus(*size);
        }
        unreachable!("the workspace region {name} is planned")
    }
}

#[cfg(test)]
mod tests {
    /// The packed row of gate `g`'s row for hidden unit `j`, gates interleaved by vectors of
    /// `lanes` (see the module documentation); `j` itself with one gate.
    fn gate_row(g: usize, j: usize, gates: usize, lanes: usize) -> usize {
        (j / lanes * gates + g) * lanes + j % lanes
    }

    #[test]
    fn gate_rows_interleave_by_vectors_and_cover_every_row_once() {
        // One gate: the identity.
        assert!((0..40).all(|j| gate_row(0, j, 1, 8) == j));
        // Four gates of 8 units, 4 lanes: units 0..4 of gates i, f, g, o, then units 4..8.
        let rows: Vec<usize> = (0..4)
            .flat_map(|g| (0..8).map(move |j| gate_row(g, j, 4, 4)))
            .collect();
        assert_eq!(&rows[..8], [0, 1, 2, 3, 16, 17, 18, 19]);
        assert_eq!(&rows[8..12], [4, 5, 6, 7]);
        let mut sorted = rows.clone();
        sorted.sort();
        assert_eq!(sorted, (0..32).collect::<Vec<_>>());
    }
}
