//! Spec errors as a program that propagates them with `?` shows them: `Display` and
//! `Debug` (what `main` returning `Box<dyn Error>` prints) are readable, say where, and
//! leave the `error: ` prefix to the caller.

use rnnc_spec::{RnnSpec, SpecFile};

#[test]
fn file_errors_read_well_through_display_and_debug() {
    let errors = SpecFile::parse("bad.toml", "input_size = 10\nhiden_size = 20\n")
        .validate()
        .unwrap_err();
    let display = errors.to_string();
    assert!(
        display.starts_with("bad.toml has 2 problems\n"),
        "{display}"
    );
    assert!(display.contains("--> bad.toml:2:1"), "{display}");
    assert!(display.contains("did you mean `hidden_size`?"), "{display}");
    // Debug is the same text: no spans, no copy of the source as a string literal.
    let debug = format!("{errors:?}");
    assert_eq!(debug, display);
    assert!(!debug.contains("span"), "{debug}");
    // What `fn main() -> Result<(), Box<dyn Error>>` prints.
    let boxed: Box<dyn std::error::Error> = Box::new(errors);
    assert!(format!("Error: {boxed:?}").starts_with("Error: bad.toml has 2 problems"));
}

#[test]
fn builder_errors_are_one_line_per_problem() {
    let one = RnnSpec::builder(10, 0).build().unwrap_err();
    assert_eq!(
        one.to_string(),
        "invalid spec: hidden_size must be greater than zero, got 0"
    );
    let two = RnnSpec::builder(-1, 0).build().unwrap_err();
    assert_eq!(
        format!("{two:?}"),
        "invalid spec (2 problems):\n  input_size must be greater than zero, got -1\n  \
         hidden_size must be greater than zero, got 0"
    );
}
