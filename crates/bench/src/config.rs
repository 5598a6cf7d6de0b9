//! Benchmark configurations (`benches/configs.toml` for the RNN, `benches/gated.toml` for
//! LSTM and GRU): a model and the shape of a call, shared by `rnnc bench`, the criterion
//! benches and the comparison against PyTorch.

use std::path::Path;

use rnnc_spec::{CellKind, Model, Nonlinearity, RnnSpec};
use serde::Deserialize;

/// One configuration: torch's constructor arguments plus `seq_len` and `batch`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BenchConfig {
    /// Name in reports.
    pub name: String,
    /// `rnn` (default), `lstm` or `gru` (a cell module's step is its sequence module's
    /// call with `seq_len = 1`).
    #[serde(default)]
    pub cell: Option<String>,
    /// `H_in`.
    pub input_size: i64,
    /// `H`.
    pub hidden_size: i64,
    /// Layers (default 1).
    #[serde(default = "one")]
    pub num_layers: i64,
    /// Two directions (default false).
    #[serde(default)]
    pub bidirectional: bool,
    /// `tanh` (the RNN's default) or `relu`; only for the RNN.
    #[serde(default)]
    pub nonlinearity: Option<String>,
    /// An LSTM's projection size (default 0: none).
    #[serde(default)]
    pub proj_size: i64,
    /// Time steps of the call.
    pub seq_len: usize,
    /// Sequences of the call.
    pub batch: usize,
}

fn one() -> i64 {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    config: Vec<BenchConfig>,
}

impl BenchConfig {
    /// Reads every `[[config]]` of a file.
    pub fn load(path: &Path) -> Result<Vec<BenchConfig>, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let file: File = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        for c in &file.config {
            let fail = |e: String| format!("{}: config `{}`: {e}", path.display(), c.name);
            c.model().map_err(fail)?;
            if c.seq_len == 0 || c.batch == 0 {
                return Err(fail(format!(
                    "seq_len and batch must be at least 1, got {} and {}",
                    c.seq_len, c.batch
                )));
            }
        }
        Ok(file.config)
    }

    /// The model (f32, time-major, with biases, as the peers run it).
    pub fn model(&self) -> Result<Model, String> {
        let cell: CellKind = match &self.cell {
            None => CellKind::Rnn,
            Some(cell) => cell.parse().map_err(|()| {
                rnnc_spec::SpecErrorKind::UnknownCell {
                    found: cell.clone(),
                }
                .to_string()
            })?,
        };
        if cell.is_cell_module() {
            // Its calls are steps, which the timing's sequences of `seq_len` are not.
            return Err(format!(
                "cell = \"{cell}\": benchmark configurations are sequence modules (rnn, lstm, \
                 gru); a step of torch.nn.{} is a call of cell = \"{}\" with seq_len = 1",
                cell.module(),
                cell.sequence_module()
            ));
        }
        let mut spec = RnnSpec::builder(self.input_size, self.hidden_size)
            .cell(cell)
            .proj_size(self.proj_size);
        if let Some(nonlinearity) = &self.nonlinearity {
            spec = spec.nonlinearity(
                nonlinearity
                    .parse::<Nonlinearity>()
                    .map_err(|()| format!("Unknown nonlinearity '{nonlinearity}'"))?,
            );
        }
        spec.num_layers(self.num_layers)
            .bidirectional(self.bidirectional)
            .name(rnnc_spec::default_name(&self.name))
            .build()
            .map_err(|e| {
                let problems: Vec<String> = e.errors().iter().map(|p| p.to_string()).collect();
                problems.join("; ")
            })
    }

    /// FLOPs of one call: the sum over layers and directions of `2 L N G H (in_l + R)`, plus
    /// `2 L N P H` for projections (`Model::flops`).
    pub fn flops(&self) -> Result<u64, String> {
        Ok(self.model()?.flops(self.seq_len, self.batch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_configurations_load_and_count_flops() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benches/configs.toml");
        let configs = BenchConfig::load(&path).unwrap();
        assert_eq!(configs.len(), 11);
        let seed = &configs[0];
        assert_eq!(seed.name, "seed-example");
        // 2 * 5 * 3 * 20 * ((10 + 20) + (20 + 20))
        assert_eq!(seed.flops().unwrap(), 42_000);
        let bidir = configs
            .iter()
            .find(|c| c.name == "bidir-128x2-b8-relu")
            .unwrap();
        assert!(bidir.bidirectional && bidir.nonlinearity.as_deref() == Some("relu"));
    }

    #[test]
    fn the_gated_configurations_load_and_count_flops() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benches/gated.toml");
        let configs = BenchConfig::load(&path).unwrap();
        assert_eq!(configs.len(), 8);
        // gated.toml's formula: per layer 2*L*N*G*H*(in_l + R) + 2*L*N*P*H, R = P.
        let lstmp = configs
            .iter()
            .find(|c| c.name == "lstmp-80x512p128x2")
            .unwrap();
        let (l, g, h, p) = (100u64, 4, 512, 128);
        let layer = |input: u64| 2 * l * g * h * (input + p) + 2 * l * p * h;
        assert_eq!(lstmp.flops().unwrap(), layer(80) + layer(128));
        let gru = configs.iter().find(|c| c.name == "gru-stream-96").unwrap();
        assert_eq!(gru.flops().unwrap(), 2 * 1000 * 3 * 96 * (42 + 96));
    }

    #[test]
    fn a_cell_module_is_no_configuration() {
        let config: BenchConfig = toml::from_str(
            "name = \"vad\"\ncell = \"lstm_cell\"\ninput_size = 128\nhidden_size = 128\n\
             seq_len = 1\nbatch = 1\n",
        )
        .unwrap();
        let err = config.model().unwrap_err();
        assert!(
            err.contains(
                "a step of torch.nn.LSTMCell is a call of cell = \"lstm\" with seq_len = 1"
            ),
            "{err}"
        );
    }
}
