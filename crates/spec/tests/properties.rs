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
