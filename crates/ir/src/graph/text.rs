//! The graph's text form: `Display` writes it, [`parse_graph`] reads it back.

use std::fmt;

use rnnc_kernel::{Scalar, Target};
use rnnc_spec::{Cell, ParamKind, param_name};

use super::*;

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
        write!(f, "{}x{}/", self.rows, self.cols)?;
        if self.pair_rows > 0 {
            write!(f, "{}x2/", self.pair_rows)?;
        }
        write!(f, "{}", self.rest_rows)
    }
}

/// `ih+hh` for every gate; `hh[2]`, `ih[0..2]` for gate groups.
impl fmt::Display for BiasTerm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bias = self.bias.text();
        match self.gates {
            Gates::All => f.write_str(bias),
            Gates::Range(first, end) if end == first + 1 => write!(f, "{bias}[{first}]"),
            Gates::Range(first, end) => write!(f, "{bias}[{first}..{end}]"),
        }
    }
}

/// A list of bias terms, `none` if empty.
fn bias_text(bias: &[BiasTerm]) -> String {
    if bias.is_empty() {
        return "none".into();
    }
    bias.iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

impl fmt::Display for Graph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "graph {} {} vector={} registers={} input_size={} hidden_size={} directions={} bias={} {}",
            self.name,
            self.dtype,
            self.target.vector_bits,
            self.target.vector_registers,
            self.input_size,
            self.hidden_size,
            self.directions,
            self.bias,
            if self.batch_first {
                "batch_first"
            } else {
                "time_major"
            }
        )?;
        if self.proj_size > 0 {
            write!(f, " proj_size={}", self.proj_size)?;
        }
        writeln!(f)?;
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
                    "  recur cell={} weights={} input={input} bias={} epilogue={} layout={}",
                    r.cell,
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
    if !(10..=11).contains(&words.len()) || words[0] != "graph" {
        return Err(fail(
            line,
            format!(
                "expected `graph NAME DTYPE vector=.. registers=.. input_size=.. hidden_size=.. directions=.. bias=.. LAYOUT [proj_size=..]`, found `{header}`"
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
        target: Target::new(
            value(words[3], "vector")? as u32,
            value(words[4], "registers")? as u32,
        )
        .map_err(|message| fail(line, message))?,
        input_size: value(words[5], "input_size")?,
        hidden_size: value(words[6], "hidden_size")?,
        directions: value(words[7], "directions")?,
        proj_size: match words.get(10) {
            Some(word) => value(word, "proj_size")?,
            None => 0,
        },
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
                // `weights=` with no names is a projection of no direction: what `Display`
                // writes for one, which the verifier, not the parser, refuses.
                let directions = match field("weights")? {
                    "" => Vec::new(),
                    names => names
                        .split(',')
                        .map(|w| direction_of(w, ParamKind::WeightIh))
                        .collect::<Result<Vec<_>, _>>()?,
                };
                layer.projection = Some(Projection {
                    directions,
                    bias,
                    layout,
                    block,
                });
            }
            "recur" => {
                let cell = Cell::from_mode(field("cell")?)
                    .ok_or_else(|| fail(line, format!("unknown cell `{}`", fields["cell"])))?;
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
                    cell,
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
    let (pair_rows, rest) = match rest.split_once('/') {
        Some((pair, rest)) => (pair.strip_suffix("x2")?.parse().ok()?, rest),
        None => (0, rest),
    };
    Some(Block {
        rows: rows.parse().ok()?,
        cols: cols.parse().ok()?,
        pair_rows,
        rest_rows: rest.parse().ok()?,
    })
}

fn parse_bias(text: &str) -> Option<Vec<BiasTerm>> {
    if text == "none" {
        return Some(Vec::new());
    }
    text.split(',')
        .map(|t| {
            let (name, gates) = match t.split_once('[') {
                None => (t, Gates::All),
                Some((name, range)) => {
                    let range = range.strip_suffix(']')?;
                    let (first, end) = match range.split_once("..") {
                        Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
                        None => {
                            let g: usize = range.parse().ok()?;
                            (g, g + 1)
                        }
                    };
                    (name, Gates::Range(first, end))
                }
            };
            let bias = match name {
                "ih" => BiasRef::Ih,
                "hh" => BiasRef::Hh,
                "ih+hh" => BiasRef::Folded,
                _ => return None,
            };
            Some(BiasTerm { bias, gates })
        })
        .collect()
}
