//! Weights on disk: safetensors files as `safetensors.torch.save_file(model.state_dict())`
//! writes them.
//!
//! A file may hold a larger model's `state_dict`: with a prefix (`encoder.rnn.`), only the
//! tensors under it are read and the rest of the file is ignored. Tensors under the prefix
//! that the spec has no parameter for are errors, so a spec that disagrees with the trained
//! model (a forgotten `bidirectional = true`) cannot load silently.

use std::collections::HashMap;
use std::path::Path;

use crate::model::Model;
use crate::tensor::{Element, TensorData};
use crate::weights::{Candidate, CandidateData, Weights, WeightsError};

/// How to find a model's parameters in a safetensors file.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Prefix of the parameter names, e.g. `encoder.rnn.` (a missing final `.` is added).
    pub prefix: String,
    /// Full names of tensors to skip, e.g. the `input` and `output` of a test case.
    pub ignore: Vec<String>,
}

impl LoadOptions {
    /// Options reading the parameters under `prefix`.
    pub fn with_prefix(prefix: &str) -> LoadOptions {
        LoadOptions {
            prefix: prefix.to_string(),
            ignore: Vec::new(),
        }
    }

    fn normalized_prefix(&self) -> String {
        if self.prefix.is_empty() || self.prefix.ends_with('.') {
            self.prefix.clone()
        } else {
            format!("{}.", self.prefix)
        }
    }
}

impl Weights {
    /// Reads a model's parameters from a safetensors file.
    pub fn load(
        model: &Model,
        path: &Path,
        options: &LoadOptions,
    ) -> Result<Weights, WeightsError> {
        let bytes = std::fs::read(path).map_err(|source| WeightsError::Io {
            action: "read",
            path: path.display().to_string(),
            source,
        })?;
        Weights::from_safetensors(model, &bytes, options)
    }

    /// Reads a model's parameters from the bytes of a safetensors file.
    pub fn from_safetensors(
        model: &Model,
        bytes: &[u8],
        options: &LoadOptions,
    ) -> Result<Weights, WeightsError> {
        let file = safetensors::SafeTensors::deserialize(bytes)
            .map_err(|e| WeightsError::Format(format_problem(bytes, &e.to_string())))?;
        let prefix = options.normalized_prefix();
        let tensors: Vec<_> = file
            .iter()
            .filter(|(name, _)| !options.ignore.iter().any(|i| i == name))
            .collect();
        let candidates = tensors
            .iter()
            .filter_map(|(name, view)| {
                Some(Candidate {
                    name: name.strip_prefix(prefix.as_str())?.to_string(),
                    shape: view.shape().to_vec(),
                    data: CandidateData::Bytes(view.dtype(), view.data()),
                })
            })
            .collect();
        Weights::assemble(model, &prefix, candidates).map_err(|e| match e {
            WeightsError::Mismatch(mut mismatch) => {
                let names: Vec<&str> = tensors.iter().map(|(n, _)| &n[..]).collect();
                mismatch.suggested_prefix = suggest_prefix(model, &names, &prefix);
                WeightsError::Mismatch(mismatch)
            }
            other => other,
        })
    }

    /// The bytes of a safetensors file holding these weights under torch's names, with
    /// the `{"format": "pt"}` metadata that `safetensors.torch` writes.
    pub fn to_safetensors(&self) -> Vec<u8> {
        fn le_bytes<T: Element>(values: &[T]) -> Vec<u8> {
            let mut out = Vec::with_capacity(values.len() * T::DTYPE.size());
            values.iter().for_each(|v| v.extend_le(&mut out));
            out
        }
        let dtype = match self.dtype() {
            crate::DType::F32 => safetensors::Dtype::F32,
            crate::DType::F64 => safetensors::Dtype::F64,
        };
        let encoded: Vec<(String, Vec<usize>, Vec<u8>)> = self
            .iter()
            .map(|(param, data)| {
                let bytes = match data {
                    TensorData::F32(v) => le_bytes(v),
                    TensorData::F64(v) => le_bytes(v),
                };
                (param.name(), param.shape(), bytes)
            })
            .collect();
        let views = encoded.iter().map(|(name, shape, bytes)| {
            let view = safetensors::tensor::TensorView::new(dtype, shape.clone(), bytes)
                .expect("a parameter's bytes match its shape by construction");
            (name.as_str(), view)
        });
        let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
        safetensors::serialize(views, Some(metadata))
            .expect("serializing well-formed tensors cannot fail")
    }

    /// Writes these weights as a safetensors file.
    pub fn save(&self, path: &Path) -> Result<(), WeightsError> {
        std::fs::write(path, self.to_safetensors()).map_err(|source| WeightsError::Io {
            action: "write",
            path: path.display().to_string(),
            source,
        })
    }
}

/// The prefix under which `names` hold the model's first parameter, if it is not `given`;
/// the nearest to `given` when there are several (a model with two RNNs).
fn suggest_prefix(model: &Model, names: &[&str], given: &str) -> Option<String> {
    let first = model.params().first()?.name();
    names
        .iter()
        .filter_map(|n| n.strip_suffix(first.as_str()))
        .filter(|p| *p != given && (p.is_empty() || p.ends_with('.')))
        .min_by_key(|p| strsim::levenshtein(p, given))
        .map(str::to_string)
}

/// What bytes that are not a safetensors file look like, and what to do with them.
fn format_problem(bytes: &[u8], parser: &str) -> String {
    let convert = "rnnc reads safetensors: convert it with `python tools/export_weights.py \
                   FILE --out NAME`, or save the state_dict with \
                   safetensors.torch.save_file(model.state_dict(), path)";
    if bytes.starts_with(b"PK\x03\x04") {
        format!("this is a zip archive, the format torch.save writes (.pt, .pth files); {convert}")
    } else if bytes.first() == Some(&0x80) && bytes.get(1).is_some_and(|p| (2..=5).contains(p)) {
        format!("this is a Python pickle, as older torch.save wrote it; {convert}")
    } else {
        format!("{parser} (expected an 8-byte header length, a JSON header, then the data)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RnnSpec;

    #[test]
    fn round_trip_through_safetensors() {
        for (bidirectional, dtype) in [(false, crate::DType::F32), (true, crate::DType::F64)] {
            let model = RnnSpec::builder(5, 7)
                .num_layers(3)
                .bidirectional(bidirectional)
                .dtype(dtype)
                .build()
                .unwrap();
            let weights = Weights::init(&model, 42);
            let bytes = weights.to_safetensors();
            let back = Weights::from_safetensors(&model, &bytes, &LoadOptions::default()).unwrap();
            assert_eq!(back, weights);
        }
    }

    #[test]
    fn prefixes_select_a_submodule_and_dtype_is_checked() {
        let model = RnnSpec::builder(2, 3).build().unwrap();
        let weights = Weights::init(&model, 1);
        let file = safetensors::SafeTensors::deserialize(&weights.to_safetensors())
            .unwrap()
            .iter()
            .map(|(name, view)| (format!("encoder.rnn.{name}"), view.data().to_vec(), view))
            .map(|(name, bytes, view)| (name, view.shape().to_vec(), bytes))
            .collect::<Vec<_>>();
        let mut tensors: Vec<(String, safetensors::tensor::TensorView<'_>)> = file
            .iter()
            .map(|(name, shape, bytes)| {
                let view = safetensors::tensor::TensorView::new(
                    safetensors::Dtype::F32,
                    shape.clone(),
                    bytes,
                )
                .unwrap();
                (name.clone(), view)
            })
            .collect();
        let other = [0u8; 8];
        tensors.push((
            "decoder.weight".into(),
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![2], &other).unwrap(),
        ));
        let bytes = safetensors::serialize(tensors, None).unwrap();
        let loaded =
            Weights::from_safetensors(&model, &bytes, &LoadOptions::with_prefix("encoder.rnn"))
                .unwrap();
        assert_eq!(loaded, weights);
        // Without the prefix nothing matches, and one hint names the prefix.
        let err = Weights::from_safetensors(&model, &bytes, &LoadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("\n  missing tensor `weight_ih_l0`"), "{err}");
        assert_eq!(
            err.matches("prefix `encoder.rnn.`").count(),
            1,
            "one hint: {err}"
        );
        assert!(err.contains("--prefix encoder.rnn."), "{err}");
        // A near miss gets the same suggestion.
        let err =
            Weights::from_safetensors(&model, &bytes, &LoadOptions::with_prefix("encoder.rn"))
                .unwrap_err()
                .to_string();
        assert!(err.contains("under the prefix `encoder.rnn.`"), "{err}");
        // An f64 model does not take f32 tensors.
        let f64_model = RnnSpec::builder(2, 3)
            .dtype(crate::DType::F64)
            .build()
            .unwrap();
        let err = Weights::from_safetensors(
            &f64_model,
            &weights.to_safetensors(),
            &LoadOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("tensor `weight_ih_l0` has dtype F32, expected f64"),
            "{err}"
        );
    }

    #[test]
    fn garbage_is_a_format_error_and_checkpoints_are_recognized() {
        let model = RnnSpec::builder(2, 3).build().unwrap();
        let err = Weights::from_safetensors(&model, b"not a file", &LoadOptions::default());
        assert!(matches!(err, Err(WeightsError::Format(_))));
        let zip = b"PK\x03\x04\x00\x00\x08\x08\x00\x00archive/data.pkl";
        let err = Weights::from_safetensors(&model, zip, &LoadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("the format torch.save writes"), "{err}");
        assert!(err.contains("tools/export_weights.py"), "{err}");
        let err = Weights::from_safetensors(&model, b"\x80\x02}q\x00", &LoadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("Python pickle"), "{err}");
    }

    #[test]
    fn a_missing_file_says_so_once() {
        let model = RnnSpec::builder(2, 3).build().unwrap();
        let err = Weights::load(
            &model,
            Path::new("no/such.safetensors"),
            &LoadOptions::default(),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "cannot read no/such.safetensors");
        let source = std::error::Error::source(&err).unwrap().to_string();
        assert!(source.contains("No such file"), "{source}");
    }
}
