//! adamame-trainer: Qwen2 / Qwen3 models written with differentiable candle ops,
//! LoRA, tokenizers and chat templates, KV-cache generation and log-probabilities,
//! and supervised fine-tuning on curated shards ([`sft`]).
//!
//! The library never prints and never exits; every fallible function returns
//! [`error::Error`] with the file, weight or option it is about.

pub mod checkpoint;
pub mod data;
pub mod error;
pub mod generate;
pub mod logprobs;
pub mod model;
pub mod optim;
pub mod plot;
pub mod runtime;
pub mod sft;
pub mod tokenize;

pub use error::{Error, Result};

/// Helpers shared by the unit tests.
#[cfg(test)]
mod test_util {
    use candle_core::Tensor;

    /// The largest absolute element-wise difference of two f32 tensors.
    pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b)
            .and_then(|d| d.abs())
            .and_then(|d| d.flatten_all())
            .and_then(|d| d.max(0))
            .and_then(|d| d.to_scalar::<f32>())
            .expect("same shapes, f32")
    }
}
