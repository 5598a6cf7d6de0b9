//! Snapshot tests of rendered spec errors: `tests/errors/NAME.toml` must fail validation
//! and render exactly as `tests/errors/NAME.stderr`. `RNNC_BLESS=1` rewrites the snapshots.

use std::path::Path;

use rnnc_spec::SpecFile;

#[test]
fn rendered_spec_errors_match_their_snapshots() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/errors");
    let bless = std::env::var_os("RNNC_BLESS").is_some();
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    inputs.sort();
    assert!(inputs.len() >= 8, "the snapshot inputs are present");
    let mut stale = Vec::new();
    for input in inputs {
        let text = std::fs::read_to_string(&input).unwrap();
        let name = input.file_name().unwrap().to_string_lossy();
        let errors = SpecFile::parse(&name, &text)
            .validate()
            .expect_err("every snapshot input is invalid");
        let rendered = errors.render();
        let snapshot = input.with_extension("stderr");
        if bless {
            std::fs::write(&snapshot, &rendered).unwrap();
        } else if std::fs::read_to_string(&snapshot).ok().as_deref() != Some(rendered.as_str()) {
            stale.push(format!(
                "--- {} now renders:\n{rendered}",
                snapshot.display()
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "snapshots differ (RNNC_BLESS=1 rewrites them):\n{}",
        stale.join("\n")
    );
}
