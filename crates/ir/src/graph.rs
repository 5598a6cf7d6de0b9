//! The layer graph: one node per projection and per (layer, direction) recurrence, with the
//! schedule decisions that the graph passes make.
//!
//! This is the level where the RNN is still visible and where rnnc decides how to compute
//! it: where biases are added, whether a layer's input projection is hoisted into one GEMM
//! over all time steps, whether the activation is fused into the recurrence, how weights
//! are packed and how register blocks are shaped. Lowering turns the decisions into loops.
//! Invariants, checked by [`verify_graph`](crate::verify_graph):
//! - a layer has one recurrence per direction, in direction order;
//! - a recurrence reads a hoisted projection exactly when one projection of its layer
//!   covers its direction;
//! - with `bias = true` each of `bias_ih`, `bias_hh` of a direction is added exactly once
//!   (alone or folded), in the projection or the recurrence; with `bias = false` never;
//! - block shapes fit the panel layout and the 16 vector registers.

use std::fmt;

use rnnc_spec::{Nonlinearity, ParamKind, param_name};

use crate::types::{Scalar, Target};

/// A bias vector added to pre-activations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BiasRef {
    /// `bias_ih` alone.
    Ih,
    /// `bias_hh` alone.
    Hh,
    /// `bias_ih + bias_hh`, summed once when weights are packed.
    Folded,
}

impl BiasRef {
    /// The torch biases it stands for.
    pub fn kinds(self) -> &'static [ParamKind] {
        match self {
            BiasRef::Ih => &[ParamKind::BiasIh],
            BiasRef::Hh => &[ParamKind::BiasHh],
            BiasRef::Folded => &[ParamKind::BiasIh, ParamKind::BiasHh],
        }
    }

    fn text(self) -> &'static str {
        match self {
            BiasRef::Ih => "ih",
            BiasRef::Hh => "hh",
            BiasRef::Folded => "ih+hh",
        }
    }
}

/// How a weight matrix is laid out in the packed buffer, and so how kernels read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// torch's row-major `(rows, cols)`: kernels take dot products along rows (vectors
    /// over the reduction dimension, then `reduce_add`).
    Torch,
    /// Panels of `width` rows, column-major inside a panel (`[panel][k][row]`), rows
    /// padded with zeros to a multiple of the vector width: kernels broadcast one input
    /// element and multiply-add a whole panel column into a block of accumulators.
    Panels {
        /// Rows per panel, a multiple of the vector lanes.
        width: usize,
    },
}

/// The register block of a panel kernel: accumulators for `rows` output rows times `cols`
/// columns (sequences or time steps), and `rest_rows` rows for leftover single columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    /// Output rows per block in the main loop (a multiple of the vector lanes).
    pub rows: usize,
    /// Columns per block in the main loop.
    pub cols: usize,
    /// Output rows per block for the columns left over (one at a time).
    pub rest_rows: usize,
}

impl Block {
    /// One vector of rows, one column: no register blocking.
    pub fn unblocked(lanes: usize) -> Block {
        Block {
            rows: lanes,
            cols: 1,
            rest_rows: lanes,
        }
    }
}

/// Where a recurrence gets `W_ih x_t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecInput {
    /// From the layer's hoisted projection `P`.
    Projected,
    /// Computed at each step inside the recurrence (per-step fusion).
    Fused,
}

/// Whether the activation runs on the accumulators or in a separate pass over a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Epilogue {
    /// Pre-activations are stored to a buffer; a second loop adds biases, activates, masks
    /// and stores.
    Separate,
    /// Done on the accumulators before they leave registers.
    Fused,
}

/// `P = bias + X W_ih^T` for every time step and sequence, for one or both directions
/// (rows stacked: forward then reverse).
#[derive(Clone, Debug, PartialEq)]
pub struct Projection {
    /// Directions whose `weight_ih` rows it computes.
    pub directions: Vec<usize>,
    /// Biases that initialize each element, in this order.
    pub bias: Vec<BiasRef>,
    /// Layout of the stacked `weight_ih`.
    pub layout: Layout,
    /// Register block (panel layouts only).
    pub block: Block,
}

/// `h_t = act(pre_t)` for one direction of one layer, where `pre_t` is `P_t` (or
/// `W_ih x_t`) plus `W_hh h_(t-1)` plus the listed biases.
#[derive(Clone, Debug, PartialEq)]
pub struct Recurrence {
    /// 0 forward, 1 reverse.
    pub direction: usize,
    /// Where `W_ih x_t` comes from.
    pub input: RecInput,
    /// Biases added to the accumulated sum, in this order.
    pub bias: Vec<BiasRef>,
    /// Fused or separate activation.
    pub epilogue: Epilogue,
    /// Layout of `weight_hh` (and `weight_ih` when the input is fused).
    pub layout: Layout,
    /// Register block (panel layouts only).
    pub block: Block,
}

/// One layer: an optional hoisted projection, then one recurrence per direction.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    /// The hoisted input projection, if any.
    pub projection: Option<Projection>,
    /// One per direction, in direction order.
    pub recurrences: Vec<Recurrence>,
}

/// A model as a sequence of layers with schedule decisions.
#[derive(Clone, Debug, PartialEq)]
pub struct Graph {
    /// The model's name.
    pub name: String,
    /// Element type.
    pub dtype: Scalar,
    /// Vector width of the code to emit.
    pub target: Target,
    /// `H_in`.
    pub input_size: usize,
    /// `H`.
    pub hidden_size: usize,
    /// `D`: 1 or 2.
    pub directions: usize,
    /// tanh or relu.
    pub nonlinearity: Nonlinearity,
    /// Whether the model has biases.
    pub bias: bool,
    /// Input and output rows are `(b, t)` instead of `(t, b)`.
    pub batch_first: bool,
    /// The layers, in order.
    pub layers: Vec<Layer>,
}

impl Graph {
    /// Vector lanes of the dtype on the target.
    pub fn lanes(&self) -> usize {
        self.target.lanes(self.dtype) as usize
    }
    /// Features layer `l` reads per step.
    pub fn layer_input_size(&self, layer: usize) -> usize {
        if layer == 0 {
            self.input_size
        } else {
            self.directions * self.hidden_size
        }
    }
    /// `H` rounded up to whole vectors: the stride of directions in `P` and of states.
    pub fn padded_hidden(&self) -> usize {
        self.hidden_size.div_ceil(self.lanes()) * self.lanes()
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Layout::Torch => f.write_str("torch"),
            Layout::Panels { width } => write!(f, "panels{width}"),
        }
    }
}

impl fmt::Display for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}/{}", self.rows, self.cols, self.rest_rows)
    }
}

fn bias_text(bias: &[BiasRef]) -> String {
    if bias.is_empty() {
        "none".into()
    } else {
        bias.iter().map(|b| b.text()).collect::<Vec<_>>().join(",")
    }
}

impl fmt::Display for Graph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "graph {} {} vector={} input_size={} hidden_size={} directions={} {} bias={} {}",
            self.name,
            self.dtype,
            self.target.vector_bits,
            self.input_size,
            self.hidden_size,
            self.directions,
            self.nonlinearity,
            self.bias,
            if self.batch_first {
                "batch_first"
            } else {
                "time_major"
            }
        )?;
        for (l, layer) in self.layers.iter().enumerate() {
            writeln!(f, "layer {l}")?;
            if let Some(p) = &layer.projection {
                let weights: Vec<String> = p
                    .directions
                    .iter()
                    .map(|&d| param_name(l, d, ParamKind::WeightIh))
                    .collect();
                write!(
                    f,
                    "  project weights={} bias={} layout={}",
                    weights.join(","),
                    bias_text(&p.bias),
                    p.layout
                )?;
                if p.layout != Layout::Torch {
                    write!(f, " block={}", p.block)?;
                }
                writeln!(f)?;
            }
            for r in &layer.recurrences {
                let input = match r.input {
                    RecInput::Projected => "projected".to_string(),
                    RecInput::Fused => {
                        format!("fused({})", param_name(l, r.direction, ParamKind::WeightIh))
                    }
                };
                write!(
                    f,
                    "  recur weights={} input={input} bias={} epilogue={} layout={}",
                    param_name(l, r.direction, ParamKind::WeightHh),
                    bias_text(&r.bias),
                    match r.epilogue {
                        Epilogue::Fused => "fused",
                        Epilogue::Separate => "separate",
                    },
                    r.layout
                )?;
                if r.layout != Layout::Torch {
                    write!(f, " block={}", r.block)?;
                }
                writeln!(f)?;
            }
        }
        Ok(())
    }
}

/// A syntax error in graph text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("graph line {line}: {message}")]
pub struct GraphParseError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Parses the text that `Display` writes.
pub fn parse_graph(text: &str) -> Result<Graph, GraphParseError> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty());
    let fail = |line: usize, message: String| GraphParseError { line, message };
    let (line, header) = lines
        .next()
        .ok_or_else(|| fail(1, "empty text: expected `graph NAME ...`".into()))?;
    let words: Vec<&str> = header.split_whitespace().collect();
    if words.len() != 10 || words[0] != "graph" {
        return Err(fail(
            line,
            format!(
                "expected `graph NAME DTYPE vector=.. input_size=.. hidden_size=.. directions=.. ACT bias=.. LAYOUT`, found `{header}`"
            ),
        ));
    }
    let value = |word: &str, key: &str| -> Result<usize, GraphParseError> {
        word.strip_prefix(key)
            .and_then(|v| v.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| fail(line, format!("expected `{key}=NUMBER`, found `{word}`")))
    };
    let dtype = match words[2] {
        "f32" => Scalar::F32,
        "f64" => Scalar::F64,
        other => return Err(fail(line, format!("unknown dtype `{other}`"))),
    };
    let mut graph = Graph {
        name: words[1].to_string(),
        dtype,
        target: Target {
            vector_bits: value(words[3], "vector")? as u32,
        },
        input_size: value(words[4], "input_size")?,
        hidden_size: value(words[5], "hidden_size")?,
        directions: value(words[6], "directions")?,
        nonlinearity: words[7]
            .parse()
            .map_err(|()| fail(line, format!("unknown nonlinearity `{}`", words[7])))?,
        bias: match words[8] {
            "bias=true" => true,
            "bias=false" => false,
            other => {
                return Err(fail(
                    line,
                    format!("expected `bias=true|false`, found `{other}`"),
                ));
            }
        },
        batch_first: match words[9] {
            "batch_first" => true,
            "time_major" => false,
            other => {
                return Err(fail(
                    line,
                    format!("expected `batch_first` or `time_major`, found `{other}`"),
                ));
            }
        },
        layers: Vec::new(),
    };
    let lanes = graph.lanes();
    for (line, text) in lines {
        let mut words = text.split_whitespace();
        let kind = words.next().unwrap_or_default();
        if kind == "layer" {
            let index: usize = words
                .next()
                .and_then(|w| w.parse().ok())
                .ok_or_else(|| fail(line, "expected `layer N`".into()))?;
            if index != graph.layers.len() {
                return Err(fail(
                    line,
                    format!("expected layer {}, found layer {index}", graph.layers.len()),
                ));
            }
            graph.layers.push(Layer {
                projection: None,
                recurrences: Vec::new(),
            });
            continue;
        }
        let layer_index = graph
            .layers
            .len()
            .checked_sub(1)
            .ok_or_else(|| fail(line, "a node before any `layer`".into()))?;
        let mut fields = std::collections::HashMap::new();
        for word in words {
            let (k, v) = word
                .split_once('=')
                .ok_or_else(|| fail(line, format!("expected `key=value`, found `{word}`")))?;
            fields.insert(k, v);
        }
        let field = |k: &str| {
            fields
                .get(k)
                .copied()
                .ok_or_else(|| fail(line, format!("missing `{k}=`")))
        };
        let layout = parse_layout(field("layout")?)
            .ok_or_else(|| fail(line, format!("bad layout `{}`", fields["layout"])))?;
        let block = match fields.get("block") {
            Some(b) => parse_block(b)
                .ok_or_else(|| fail(line, format!("bad block `{b}`: expected ROWSxCOLS/REST")))?,
            None => Block::unblocked(lanes),
        };
        let bias = parse_bias(field("bias")?)
            .ok_or_else(|| fail(line, format!("bad bias list `{}`", fields["bias"])))?;
        let direction_of = |name: &str, kind: ParamKind| -> Result<usize, GraphParseError> {
            (0..2)
                .find(|&d| param_name(layer_index, d, kind) == name)
                .ok_or_else(|| {
                    fail(
                        line,
                        format!("`{name}` is not a {} of layer {layer_index}", kind.stem()),
                    )
                })
        };
        let layer = graph.layers.last_mut().expect("checked above");
        match kind {
            "project" => {
                let directions = field("weights")?
                    .split(',')
                    .map(|w| direction_of(w, ParamKind::WeightIh))
                    .collect::<Result<Vec<_>, _>>()?;
                layer.projection = Some(Projection {
                    directions,
                    bias,
                    layout,
                    block,
                });
            }
            "recur" => {
                let direction = direction_of(field("weights")?, ParamKind::WeightHh)?;
                let input = match field("input")? {
                    "projected" => RecInput::Projected,
                    other => {
                        let inner = other
                            .strip_prefix("fused(")
                            .and_then(|s| s.strip_suffix(')'))
                            .ok_or_else(|| fail(line, format!("bad input `{other}`")))?;
                        if direction_of(inner, ParamKind::WeightIh)? != direction {
                            return Err(fail(line, format!("`{inner}` is another direction's")));
                        }
                        RecInput::Fused
                    }
                };
                let epilogue = match field("epilogue")? {
                    "fused" => Epilogue::Fused,
                    "separate" => Epilogue::Separate,
                    other => return Err(fail(line, format!("bad epilogue `{other}`"))),
                };
                layer.recurrences.push(Recurrence {
                    direction,
                    input,
                    bias,
                    epilogue,
                    layout,
                    block,
                });
            }
            other => return Err(fail(line, format!("unknown node `{other}`"))),
        }
    }
    Ok(graph)
}

fn parse_layout(text: &str) -> Option<Layout> {
    if text == "torch" {
        return Some(Layout::Torch);
    }
    Some(Layout::Panels {
        width: text.strip_prefix("panels")?.parse().ok()?,
    })
}

fn parse_block(text: &str) -> Option<Block> {
    let (main, rest) = text.split_once('/')?;
    let (rows, cols) = main.split_once('x')?;
    Some(Block {
        rows: rows.parse().ok()?,
        cols: cols.parse().ok()?,
        rest_rows: rest.parse().ok()?,
    })
}

fn parse_bias(text: &str) -> Option<Vec<BiasRef>> {
    if text == "none" {
        return Some(Vec::new());
    }
    text.split(',')
        .map(|t| match t {
            "ih" => Some(BiasRef::Ih),
            "hh" => Some(BiasRef::Hh),
            "ih+hh" => Some(BiasRef::Folded),
            _ => None,
        })
        .collect()
}

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
    let check_schedule = |errors: &mut Vec<String>, at: &str, layout: Layout, block: Block| {
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
                let used = |rows: usize, cols: usize| rows / lanes.max(1) * cols + 1 + cols;
                if used(block.rows, block.cols) > 16 || used(block.rest_rows, 1) > 16 {
                    errors.push(format!(
                        "{at}: block {block} needs more than 16 vector registers"
                    ));
                }
            }
        }
    };
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
            check_schedule(&mut errors, &format!("{at} project"), p.layout, p.block);
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
            check_schedule(&mut errors, &at, r.layout, r.block);
            let covered = projected.contains(&r.direction);
            if covered != (r.input == RecInput::Projected) {
                errors.push(format!(
                    "{at}: input {:?} but the projection {} this direction",
                    r.input,
                    if covered { "covers" } else { "does not cover" }
                ));
            }
            let mut kinds: Vec<ParamKind> = r
                .bias
                .iter()
                .flat_map(|b| b.kinds().iter().copied())
                .collect();
            if covered && let Some(p) = &layer.projection {
                kinds.extend(p.bias.iter().flat_map(|b| b.kinds().iter().copied()));
            }
            let expected: &[ParamKind] = if graph.bias {
                &[ParamKind::BiasIh, ParamKind::BiasHh]
            } else {
                &[]
            };
            let count = |k: ParamKind| kinds.iter().filter(|&&x| x == k).count();
            for kind in [ParamKind::BiasIh, ParamKind::BiasHh] {
                let want = usize::from(expected.contains(&kind));
                if count(kind) != want {
                    errors.push(format!(
                        "{at}: {} added {} times, expected {want}",
                        kind.stem(),
                        count(kind)
                    ));
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
