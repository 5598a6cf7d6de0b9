//! From PyTorch's weights to a forward call: `nn.RNN(10, 20, 2)` with the weights that
//! `safetensors.torch.save_file(rnn.state_dict(), "rnn.safetensors")` wrote.
//!
//! `cargo run --release --example forward -- rnn.safetensors`
use rnnc::{CompiledRnn, LoadOptions, RnnSpec, TensorView, Weights};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or("rnn.safetensors".into());
    let model = RnnSpec::builder(10, 20).num_layers(2).build()?; // nn.RNN(10, 20, 2)
    let weights = Weights::load(&model, path.as_ref(), &LoadOptions::default())?;
    let rnn = CompiledRnn::new(&model)?; // compile once (milliseconds)
    let packed = rnn.pack(&weights)?; // pack once
    let x: Vec<f32> = (0..5 * 3 * 10).map(|i| i as f32 / 100.0).collect();
    let (output, state) = rnn.forward(&packed, TensorView::new(&[5, 3, 10], &x)?, None, None)?;
    println!("{:.6?}", &output.data()[..4]); // PyTorch's numbers (to 6 decimals)
    println!("h_n: {:?}", state.h.shape()); // torch's h_n: (num_layers * D, N, H)
    Ok(())
}
