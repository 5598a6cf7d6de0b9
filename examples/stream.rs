//! Models fed frame by frame, their states carried by a `Stream`: for each `NAME` given,
//! the spec `NAME.toml` and the weights `NAME.safetensors` (as `tools/export_weights.py`
//! writes them), fed 50 frames of 40 features, one frame per call.
//!
//! `cargo run --release --example stream -- build/lstmp build/gru`
use rnnc::{CompiledRnn, LoadOptions, SpecFile, TensorView, Weights};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let x: Vec<f32> = (0..50 * 40)
        .map(|i| (0.01 * i as f64).sin() as f32)
        .collect();
    for name in std::env::args().skip(1) {
        let model = SpecFile::read(format!("{name}.toml").as_ref())?.validate()?;
        let file = format!("{name}.safetensors");
        let weights = Weights::load(&model, file.as_ref(), &LoadOptions::default())?;
        let rnn = CompiledRnn::new(&model)?;
        let packed = rnn.pack(&weights)?;
        let mut stream = rnn.stream::<f32>(&packed, None)?; // zeros: no h0 (and no c0)
        let mut last = None;
        for frame in x.chunks(40) {
            last = Some(stream.feed(TensorView::new(&[1, 40], frame)?)?); // one 40-feature frame
        }
        let state = stream.state().expect("frames were fed"); // h_n (and an LSTM's c_n)
        let last = last.expect("frames were fed");
        println!("{name}: output[49][:4] = {:?}", &last.data()[..4]);
        println!("{name}: h_n[0][:4]     = {:?}", &state.h.data()[..4]);
    }
    Ok(())
}
