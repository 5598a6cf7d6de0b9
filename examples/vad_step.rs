//! A cell module stepped as its model steps it (`h, c = cell(x, (h, c))` in torch): Silero
//! VAD's decoder, `nn.LSTMCell(128, 128)` (`specs/lstm_cell.toml`), with the weights of
//! `decoder.rnn` in a model's `state_dict`, fed frames of 128 features.
//!
//! `cargo run --release --example vad_step -- silero_vad.safetensors`
use rnnc::{CompiledRnn, LoadOptions, SpecFile, State, TensorView, Weights};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or("silero_vad.safetensors".into());
    let model = SpecFile::read("specs/lstm_cell.toml".as_ref())?.validate()?; // nn.LSTMCell(128, 128)
    let options = LoadOptions::with_prefix("decoder.rnn");
    let weights = Weights::load(&model, path.as_ref(), &options)?;
    let cell = CompiledRnn::new(&model)?;
    let packed = cell.pack(&weights)?;
    let features: Vec<f32> = (0..20 * 128)
        .map(|i| (0.01 * i as f64).cos() as f32)
        .collect();
    let mut state: Option<State<f32>> = None; // hx = None: zeros
    for x in features.chunks(128) {
        let x = TensorView::new(&[1, 128], x)?; // (N, H_in)
        state = Some(cell.step(&packed, x, state.as_ref().map(State::view))?); // (h', c')
    }
    let state = state.expect("frames were fed");
    println!("h'[0][:4] = {:?}", &state.h.data()[..4]);
    println!(
        "c'[0][:4] = {:?}",
        &state.c.expect("an LSTMCell's c'").data()[..4]
    );
    Ok(())
}
