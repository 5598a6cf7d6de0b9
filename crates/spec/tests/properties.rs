//! No input makes the front end panic, and files and builders mean the same thing.

use proptest::prelude::*;
use rnnc_spec::{DType, LoadOptions, Nonlinearity, RnnSpec, SpecErrorKind, SpecFile, Weights};

const VALID: &str = "\
name = \"demo\"
input_size = 10
hidden_size = 20
num_layers = 2
nonlinearity = \"relu\"
bias = false
batch_first = true
dropout = 0.25
bidirectional = true
dtype = \"f64\"
";

#[test]
fn toml_and_builder_give_identical_specs_and_models() {
    let file = SpecFile::parse("demo.toml", VALID);
    let built = RnnSpec::builder(10, 20)
        .name("demo")
        .num_layers(2)
        .nonlinearity(Nonlinearity::Relu)
        .bias(false)
        .batch_first(true)
        .dropout(0.25)
        .bidirectional(true)
        .dtype(DType::F64);
    assert_eq!(file.spec().unwrap(), built.spec());
    assert_eq!(file.validate().unwrap(), built.build().unwrap());
    // Defaults agree too: a file with only the sizes is the builder with only the sizes.
    let minimal = SpecFile::parse("rnn.toml", "input_size = 3\nhidden_size = 4\n");
    assert_eq!(minimal.spec().unwrap(), RnnSpec::builder(3, 4).spec());
}

#[test]
fn builder_and_file_report_the_same_validation_errors() {
    let file = SpecFile::parse(
        "bad.toml",
        "input_size = -1\nhidden_size = 0\nnum_layers = 0\ndropout = 2.0\nname = \"a b\"\n",
    );
    let built = RnnSpec::builder(-1, 0)
        .num_layers(0)
        .dropout(2.0)
        .name("a b");
    let from_file = file.validate().unwrap_err();
    let from_builder = built.build().unwrap_err();
    assert_eq!(from_file.kinds(), from_builder.kinds());
    assert_eq!(from_file.errors().len(), 5);
    assert!(from_file.errors().iter().all(|e| e.span.is_some()));
    assert!(from_builder.errors().iter().all(|e| e.span.is_none()));
    assert!(matches!(
        from_builder.kinds()[0],
        SpecErrorKind::NotPositive {
            key: "input_size",
            found: -1
        }
    ));
}

#[test]
fn example_specs_validate() {
    let specs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../specs");
    let mut count = 0;
    for entry in std::fs::read_dir(specs).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let model = SpecFile::read(&path).unwrap().validate();
            assert!(model.is_ok(), "{}: {}", path.display(), model.unwrap_err());
            count += 1;
        }
    }
    assert!(count >= 2);
}

/// A valid spec with one random edit: a character replaced, inserted or deleted, or a
/// value swapped for an arbitrary token.
fn mutated_spec() -> impl Strategy<Value = String> {
    let tokens = prop_oneof![
        Just("-1".to_string()),
        Just("1e400".to_string()),
        Just("99999999999999999999".to_string()),
        Just("nan".to_string()),
        Just("\"\"".to_string()),
        Just("[1, 2]".to_string()),
        Just("{ a = 1 }".to_string()),
        Just("1979-05-27".to_string()),
        "[ -~]{0,8}",
    ];
    (0..VALID.len(), 0..4u8, any::<char>(), tokens).prop_map(|(at, op, c, token)| {
        let mut text = VALID.to_string();
        let at = (0..=at)
            .rev()
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(0);
        match op {
            0 => {
                text.insert(at, c);
            }
            1 => {
                text.remove(at);
            }
            2 => text.replace_range(at..=at, &c.to_string()),
            _ => {
                // Replace the value of the line holding `at`.
                let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
                let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
                if let Some(eq) = text[line_start..line_end].find('=') {
                    text.replace_range(line_start + eq + 1..line_end, &format!(" {token}"));
                }
            }
        }
        text
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
    #![proptest_config(cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        let file = SpecFile::parse("x.toml", &text);
        if let Err(errors) = file.validate() {
            prop_assert!(!errors.errors().is_empty());
            prop_assert!(errors.render().contains("error:"));
        }
    }

    #[test]
    fn mutated_specs_never_panic_and_every_error_is_located(text in mutated_spec()) {
        let file = SpecFile::parse("x.toml", &text);
        if let Err(errors) = file.validate() {
            let rendered = errors.render();
            prop_assert!(rendered.contains("x.toml:"), "{}", rendered);
            for error in errors.errors() {
                if let Some(span) = &error.span {
                    prop_assert!(span.end <= text.len());
                }
            }
        }
    }

    #[test]
    fn arbitrary_bytes_are_not_weights(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let model = RnnSpec::builder(2, 3).build().unwrap();
        prop_assert!(Weights::from_safetensors(&model, &bytes, &LoadOptions::default()).is_err());
    }

    #[test]
    fn mutated_weight_files_never_panic(at in 0usize..10_000, byte in any::<u8>(), cut in any::<bool>()) {
        let model = RnnSpec::builder(2, 3).num_layers(2).build().unwrap();
        let mut bytes = Weights::init(&model, 3).to_safetensors();
        let at = at % bytes.len();
        if cut {
            bytes.truncate(at);
        } else {
            bytes[at] = byte;
        }
        let _ = Weights::from_safetensors(&model, &bytes, &LoadOptions::default());
    }
}

#[test]
fn a_printed_spec_reads_back_as_the_same_spec() {
    let spec = SpecFile::parse("demo.toml", VALID).spec().unwrap().clone();
    let again = SpecFile::parse("demo.toml", &spec.to_string());
    assert_eq!(again.spec().unwrap(), &spec);
}

/// A cell module's spec: the same in a file and from a builder, printed with only the keys
/// its constructor takes, and torch's names, shapes and repr.
#[test]
fn cell_modules_follow_torch() {
    use rnnc_spec::{CellKind, ParamKind};
    let text = "cell = \"rnn_cell\"\ninput_size = 4\nhidden_size = 8\nbias = false\n\
                nonlinearity = \"relu\"\n";
    let file = SpecFile::parse("wavernn.toml", text);
    let built = RnnSpec::builder(4, 8)
        .cell(CellKind::RnnCell)
        .bias(false)
        .nonlinearity(Nonlinearity::Relu)
        .name("wavernn");
    assert_eq!(file.spec().unwrap(), built.spec());
    let model = file.validate().unwrap();
    assert_eq!(model, built.build().unwrap());
    // torch.nn.RNNCell(4, 8, bias=False, nonlinearity="relu") prints its nonlinearity
    // unquoted, after bias.
    assert_eq!(
        model.to_string(),
        "RNNCell(4, 8, bias=False, nonlinearity=relu, dtype=f32)"
    );
    assert!(model.is_cell_module());
    assert_eq!((model.module(), model.num_layers()), ("RNNCell", 1));
    let printed = model.spec().to_string();
    assert_eq!(
        printed,
        "name = \"wavernn\"\ncell = \"rnn_cell\"\ninput_size = 4\nhidden_size = 8\n\
         nonlinearity = \"relu\"\nbias = false\ndtype = \"f32\"\n"
    );
    assert_eq!(
        SpecFile::parse("wavernn.toml", &printed).spec().unwrap(),
        model.spec()
    );
    // torch.nn.LSTMCell(128, 128).state_dict(): no `_l0`.
    let lstm = RnnSpec::builder(128, 128)
        .cell(CellKind::LstmCell)
        .build()
        .unwrap();
    assert_eq!(lstm.to_string(), "LSTMCell(128, 128, dtype=f32)");
    let params: Vec<_> = lstm
        .params()
        .iter()
        .map(|p| (p.name(), p.shape()))
        .collect();
    assert_eq!(
        params,
        [
            ("weight_ih".to_string(), vec![512, 128]),
            ("weight_hh".to_string(), vec![512, 128]),
            ("bias_ih".to_string(), vec![512]),
            ("bias_hh".to_string(), vec![512]),
        ]
    );
    assert_eq!(
        lstm.param(0, 0, ParamKind::BiasHh).map(|p| p.name()),
        Some("bias_hh".to_string())
    );
    assert_eq!(lstm.num_parameters(), 2 * 512 * 128 + 2 * 512);
    let gru = RnnSpec::builder(3, 5)
        .cell(CellKind::GruCell)
        .bias(false)
        .build()
        .unwrap();
    assert_eq!(gru.to_string(), "GRUCell(3, 5, bias=False, dtype=f32)");
    assert_eq!(gru.params().len(), 2);
}

/// A sequence module's argument given to a cell module is refused, naming the key and the
/// module, from a builder (a value other than the default) and from a file (any value,
/// located), once per key, however wrong its value.
#[test]
fn cell_modules_refuse_sequence_arguments() {
    use rnnc_spec::CellKind;
    let built = RnnSpec::builder(10, 20)
        .cell(CellKind::LstmCell)
        .num_layers(0)
        .batch_first(true)
        .dropout(f64::NAN)
        .bidirectional(true)
        .proj_size(-3)
        .build()
        .unwrap_err();
    let keys: Vec<_> = built
        .kinds()
        .iter()
        .map(|k| match k {
            SpecErrorKind::NotACellArgument { key, module, .. } => {
                assert_eq!(*module, "LSTMCell");
                *key
            }
            other => panic!("{other}"),
        })
        .collect();
    assert_eq!(
        keys,
        [
            "num_layers",
            "batch_first",
            "dropout",
            "bidirectional",
            "proj_size"
        ]
    );
    assert_eq!(
        built.errors()[0].to_string(),
        "`num_layers` is not an argument of torch.nn.LSTMCell (a cell module is one layer and \
         one direction, stepped once per call)"
    );
    // The builder's defaults are no arguments given.
    assert!(
        RnnSpec::builder(10, 20)
            .cell(CellKind::GruCell)
            .num_layers(1)
            .batch_first(false)
            .build()
            .is_ok()
    );
    // A file that writes a default value wrote the argument.
    let file = SpecFile::parse(
        "cell.toml",
        "cell = \"gru_cell\"\ninput_size = 1\nhidden_size = 2\nbidirectional = false\n",
    );
    let errors = file.validate().unwrap_err();
    assert_eq!(errors.errors().len(), 1);
    assert!(errors.errors()[0].span.is_some());
    assert!(
        errors
            .render()
            .contains("`bidirectional` is not an argument of torch.nn.GRUCell"),
        "{}",
        errors.render()
    );
}
