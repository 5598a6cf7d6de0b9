//! Printing then parsing gives back the same IR, at every stage of the pipeline, for
//! arbitrary models (RNN, LSTM with and without projections, GRU) and pass configurations.

use proptest::prelude::*;
use rnnc_ir::kernel::parse_module;
use rnnc_ir::{PassId, PipelineConfig, Stage, parse_graph, run_pipeline};
use rnnc_spec::{CellKind, DType, Model, Nonlinearity, RnnSpec};

fn model() -> impl Strategy<Value = Model> {
    (
        1i64..40,
        1i64..40,
        1i64..4,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop_oneof![
            Just(CellKind::Rnn),
            Just(CellKind::Lstm),
            Just(CellKind::Gru)
        ],
        0.0f64..1.0,
    )
        .prop_map(|(i, h, l, relu, bias, bf, bidir, f64, cell, proj)| {
            let mut spec = RnnSpec::builder(i, h).cell(cell).num_layers(l);
            match cell {
                CellKind::Rnn => {
                    spec = spec.nonlinearity(if relu {
                        Nonlinearity::Relu
                    } else {
                        Nonlinearity::Tanh
                    })
                }
                // Projections half the time.
                CellKind::Lstm if relu => spec = spec.proj_size((proj * h as f64) as i64),
                _ => {}
            }
            spec.bias(bias)
                .batch_first(bf)
                .bidirectional(bidir)
                .dtype(if f64 { DType::F64 } else { DType::F32 })
                .build()
                .expect("valid sizes")
        })
}

/// `PROPTEST_CASES` when set (a longer run), else `default` cases.
fn cases(default: u32) -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = default;
    }
    config
}

proptest! {
    #![proptest_config(cases(64))]

    #[test]
    fn print_parse_round_trips(
        model in model(),
        stop in 0usize..PassId::ALL.len(),
        disabled in proptest::sample::subsequence(PassId::OPTIONAL.to_vec(), 0..3),
    ) {
        let config = PipelineConfig { disabled, ..PipelineConfig::default() };
        let stage = run_pipeline(&model, &config, Some(PassId::ALL[stop])).unwrap();
        let text = stage.to_string();
        match &stage {
            Stage::Graph(g) => prop_assert_eq!(&parse_graph(&text).unwrap(), g),
            Stage::Kernel(m) => {
                let parsed = parse_module(&text).unwrap_or_else(|e| panic!("{e}"));
                prop_assert_eq!(&parsed, m.module());
                prop_assert_eq!(parsed.to_string(), text);
            }
            Stage::Legal(m) => {
                let parsed = parse_module(&text).unwrap_or_else(|e| panic!("{e}"));
                prop_assert_eq!(&parsed, m.module());
                prop_assert_eq!(parsed.to_string(), text);
            }
        }
    }
}
