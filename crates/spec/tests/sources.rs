//! One reader of torch's arguments for every source: spec files, tables of other files,
//! and keys without text (a dict, a JSON case). The same keys mean the same model, the
//! same mistakes get the same messages, located by line and column or by key.

use rnnc_spec::{
    Arg, ArgSource, ArgValue, Cell, CellKind, DType, Nonlinearity, SpecErrorKind, SpecFile,
    UnknownCell,
};

fn keys(args: &[(&str, ArgValue)]) -> SpecFile {
    SpecFile::from_args(
        ArgSource::Keys { origin: "a dict" },
        None,
        args.iter().map(|(k, v)| Arg::new(*k, v.clone())),
    )
}

fn int(i: i64) -> ArgValue {
    ArgValue::Integer(i)
}

fn text(s: &str) -> ArgValue {
    ArgValue::String(s.to_string())
}

#[test]
fn unknown_names_have_one_message_from_str_and_every_source() {
    let cell = "transformer".parse::<CellKind>().unwrap_err();
    assert_eq!(
        cell,
        UnknownCell {
            found: "transformer".into()
        }
    );
    let message = "Unknown cell 'transformer'. Select from 'rnn', 'lstm', 'gru', 'rnn_cell', \
                   'lstm_cell' or 'gru_cell'.";
    assert_eq!(cell.to_string(), message);
    assert_eq!(SpecErrorKind::UnknownCell(cell).to_string(), message);
    let from_file = SpecFile::parse(
        "x.toml",
        "cell = \"transformer\"\ninput_size = 1\nhidden_size = 1\n",
    )
    .validate()
    .unwrap_err();
    assert_eq!(from_file.errors()[0].to_string(), message);
    let from_keys = keys(&[
        ("cell", text("transformer")),
        ("input_size", int(1)),
        ("hidden_size", int(1)),
    ])
    .validate()
    .unwrap_err();
    assert_eq!(
        from_keys.to_string(),
        format!("a dict: key `cell`: {message}")
    );
    assert_eq!(
        "sigmoid".parse::<Nonlinearity>().unwrap_err().to_string(),
        "Unknown nonlinearity 'sigmoid'. Select from 'tanh' or 'relu'."
    );
    assert_eq!(
        "float16".parse::<DType>().unwrap_err().to_string(),
        "Unknown dtype 'float16'. Select from 'f32' or 'f64'."
    );
    assert_eq!(
        "lstm".parse::<Cell>().unwrap_err().to_string(),
        "Unknown mode 'lstm'. Select from 'RNN_TANH', 'RNN_RELU', 'LSTM' or 'GRU'."
    );
    for cell in Cell::ALL {
        assert_eq!(cell.to_string().parse::<Cell>(), Ok(cell));
    }
}

#[test]
fn torchs_mode_is_the_model_of_its_cell_and_nonlinearity() {
    for (mode, written) in [
        ("RNN_TANH", "cell = \"rnn\"\nnonlinearity = \"tanh\""),
        ("RNN_RELU", "nonlinearity = \"relu\""),
        ("LSTM", "cell = \"lstm\"\nproj_size = 2"),
        ("GRU", "cell = \"gru\""),
    ] {
        let rest = if mode == "LSTM" {
            "proj_size = 2\n"
        } else {
            ""
        };
        let by_mode = SpecFile::parse(
            "m.toml",
            &format!("mode = \"{mode}\"\ninput_size = 3\nhidden_size = 4\n{rest}"),
        );
        let by_cell = SpecFile::parse(
            "m.toml",
            &format!("{written}\ninput_size = 3\nhidden_size = 4\n"),
        );
        assert_eq!(
            by_mode.validate().unwrap(),
            by_cell.validate().unwrap(),
            "{mode}"
        );
        // Both together, when they agree.
        let both = SpecFile::parse(
            "m.toml",
            &format!("mode = \"{mode}\"\n{written}\ninput_size = 3\nhidden_size = 4\n"),
        );
        assert_eq!(
            both.validate().unwrap(),
            by_cell.validate().unwrap(),
            "{mode}"
        );
        assert_eq!(by_mode.validate().unwrap().cell().mode(), mode);
    }
}

#[test]
fn a_mode_contradicting_cell_or_nonlinearity_is_refused() {
    let kinds = |args: &[(&str, ArgValue)]| {
        let mut all = vec![("input_size", int(3)), ("hidden_size", int(4))];
        all.extend(args.iter().cloned());
        keys(&all)
            .validate()
            .unwrap_err()
            .kinds()
            .into_iter()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert!(matches!(
        kinds(&[("mode", text("LSTM")), ("cell", text("gru"))]).as_slice(),
        [SpecErrorKind::ModeContradicts {
            mode: "LSTM",
            key: "cell",
            found: "gru",
            implied: "lstm",
            ..
        }]
    ));
    assert!(matches!(
        kinds(&[("mode", text("RNN_RELU")), ("nonlinearity", text("tanh"))]).as_slice(),
        [SpecErrorKind::ModeContradicts {
            key: "nonlinearity",
            found: "tanh",
            implied: "relu",
            ..
        }]
    ));
    // A cell module has no mode, even its own recurrence's.
    let cell_module = kinds(&[("mode", text("GRU")), ("cell", text("gru_cell"))]);
    assert!(
        cell_module[0]
            .to_string()
            .ends_with("(torch.nn.GRUCell has no mode)"),
        "{}",
        cell_module[0]
    );
    // An unknown cell is said once, not again as a contradiction.
    assert!(matches!(
        kinds(&[("mode", text("GRU")), ("cell", text("grux"))]).as_slice(),
        [SpecErrorKind::UnknownCell(_)]
    ));
}

#[test]
fn keys_without_text_are_located_by_key_and_named_by_their_cell() {
    let file = keys(&[
        ("cell", text("lstm_cell")),
        ("input_size", ArgValue::Other("list".into())),
        (
            "hidden_size",
            ArgValue::BigInteger("99999999999999999999".into()),
        ),
        ("num_layers", int(1)),
        ("hiden_size", int(4)),
    ]);
    let errors = file.validate().unwrap_err();
    assert!(errors.errors().iter().all(|e| e.span.is_none()));
    assert_eq!(
        errors.to_string(),
        "a dict has 4 problems:\n  \
         key `input_size`: input_size should be of type integer, got: list\n  \
         key `hidden_size`: hidden_size should be of type integer (64-bit), got: integer \
         99999999999999999999\n  \
         unknown key `hiden_size` (help: did you mean `hidden_size`?)\n  \
         `num_layers` is not an argument of torch.nn.LSTMCell (a cell module is one layer and \
         one direction, stepped once per call) (help: remove `num_layers`, or set cell = \
         \"lstm\" for the sequence module)"
    );
    assert!(
        errors
            .render()
            .starts_with("error: a dict: key `input_size`: input_size should be of type")
    );
    let model = keys(&[
        ("cell", text("gru_cell")),
        ("input_size", int(3)),
        ("hidden_size", int(4)),
    ])
    .validate()
    .unwrap();
    assert_eq!(model.name(), "gru_cell");
}

#[test]
fn every_source_reads_the_same_model() {
    let text_spec = "cell = \"lstm\"\ninput_size = 3\nhidden_size = 8\nnum_layers = 2\n\
                     proj_size = 4\nbias = false\nbatch_first = true\ndropout = 0\n\
                     bidirectional = true\ndtype = \"float64\"\nname = \"m\"\n";
    let file = SpecFile::parse("m.toml", text_spec).validate().unwrap();
    let dict = keys(&[
        ("mode", text("LSTM")),
        ("input_size", int(3)),
        ("hidden_size", int(8)),
        ("num_layers", int(2)),
        ("proj_size", int(4)),
        ("bias", ArgValue::Bool(false)),
        ("batch_first", ArgValue::Bool(true)),
        ("dropout", ArgValue::Float(0.0)),
        ("bidirectional", ArgValue::Bool(true)),
        ("dtype", text("f64")),
        ("name", text("m")),
    ])
    .validate()
    .unwrap();
    assert_eq!(file, dict);
}

#[test]
fn a_table_of_another_file_is_located_in_that_file() {
    let text = "[[config]]\nname = \"x\"\ncell = \"lstmm\"\ninput_size = 3\nhidden_size = 4\n";
    let root = toml::de::DeTable::parse(text).unwrap();
    let toml::de::DeValue::Array(configs) = root.get_ref().get("config").unwrap().get_ref() else {
        panic!("an array of tables");
    };
    let toml::de::DeValue::Table(table) = configs[0].get_ref() else {
        panic!("a table");
    };
    let args = table
        .iter()
        .filter(|(k, _)| k.get_ref() != "name")
        .map(|(k, v)| Arg::from_toml(k, v));
    let errors = SpecFile::from_args(
        ArgSource::File {
            path: "b.toml",
            text,
        },
        Some("x"),
        args,
    )
    .validate()
    .unwrap_err();
    let rendered = errors.render();
    assert!(rendered.contains("--> b.toml:3:8"), "{rendered}");
    assert!(rendered.contains("Unknown cell 'lstmm'"), "{rendered}");
}
