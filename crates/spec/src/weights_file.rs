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
            .map_err(|e| WeightsError::Format(e.to_string()))?;
        let prefix = options.normalized_prefix();
        let candidates = file
            .iter()
            .filter(|(name, _)| !options.ignore.iter().any(|i| i == name))
            .filter_map(|(name, view)| {
                Some(Candidate {
                    name: name.strip_prefix(prefix.as_str())?.to_string(),
                    shape: view.shape().to_vec(),
                    data: CandidateData::Bytes(view.dtype(), view.data()),
                })
            })
            .collect();
        Weights::assemble(model, &prefix, candidates)
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
            path: path.display().to_string(),
            source,
        })
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
        // Without the prefix nothing matches, and the hint names the prefix.
        let err = Weights::from_safetensors(&model, &bytes, &LoadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing tensor `weight_ih_l0`"), "{err}");
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
    fn garbage_is_a_format_error() {
        let model = RnnSpec::builder(2, 3).build().unwrap();
        let err = Weights::from_safetensors(&model, b"not a file", &LoadOptions::default());
        assert!(matches!(err, Err(WeightsError::Format(_))));
    }
}
